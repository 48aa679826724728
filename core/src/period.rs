//! Report periods: `day`, `yesterday`, `7d`, `last_week` (Monday to Sunday), `30d`, `month`, `last_month`,
//! `12mo` relative to today, or `custom` with explicit dates — and the
//! previous period of the same length, for comparisons.

use crate::time::Date;

/// An inclusive range of dates.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DateRange {
    pub start: Date,
    pub end: Date,
}

impl DateRange {
    pub fn days(&self) -> i64 {
        self.end.to_days() - self.start.to_days() + 1
    }

    /// The range of the same kind just before this one: the previous month
    /// for a calendar month, else the same number of days before.
    pub fn previous(&self, period: &str) -> DateRange {
        let day_before = Date::from_days(self.start.to_days() - 1);
        match period {
            "month" | "last_month" => {
                let start = Date { day: 1, ..day_before };
                let full_month_end = day_before;
                // "month" so far (e.g. Nov 1–28) compares with Oct 1–28.
                let len = self.days();
                let end = Date::from_days((start.to_days() + len - 1).min(full_month_end.to_days()));
                DateRange { start, end: if period == "last_month" { full_month_end } else { end } }
            }
            "12mo" => DateRange {
                start: add_months(self.start, -12),
                end: Date::from_days(add_months(self.start, 0).to_days() - 1),
            },
            _ => DateRange { start: Date::from_days(self.start.to_days() - self.days()), end: day_before },
        }
    }
}

fn add_months(d: Date, months: i32) -> Date {
    let total = d.year * 12 + d.month as i32 - 1 + months;
    Date { year: total.div_euclid(12), month: total.rem_euclid(12) as u32 + 1, day: 1 }
}

/// The periods [`resolve`] accepts.
pub const PERIODS: &[&str] = &["day", "yesterday", "7d", "last_week", "30d", "month", "last_month", "12mo", "custom"];

/// The dates of `period` as of `today`. `date` is the day for `day` (default
/// today) or `start,end` for `custom`.
pub fn resolve(period: &str, date: Option<&str>, today: Date) -> Result<DateRange, String> {
    let back = |days: i64| DateRange { start: Date::from_days(today.to_days() - days), end: today };
    let parse = |s: &str| {
        Date::parse(s.trim()).ok_or_else(|| format!("invalid date {s}: use YYYY-MM-DD", s = crate::quote::quoted(s)))
    };
    Ok(match period {
        "day" => {
            let d = date.map(parse).transpose()?.unwrap_or(today);
            DateRange { start: d, end: d }
        }
        "yesterday" => {
            let d = Date::from_days(today.to_days() - 1);
            DateRange { start: d, end: d }
        }
        "7d" => back(6),
        // The last whole week, Monday to Sunday (weekly digests).
        "last_week" => {
            let monday = today.to_days() - i64::from(today.weekday());
            DateRange { start: Date::from_days(monday - 7), end: Date::from_days(monday - 1) }
        }
        "30d" => back(29),
        "month" => DateRange { start: Date { day: 1, ..today }, end: today },
        "last_month" => {
            let first = Date { day: 1, ..today };
            let end = Date::from_days(first.to_days() - 1);
            DateRange { start: Date { day: 1, ..end }, end }
        }
        "12mo" => DateRange { start: add_months(today, -11), end: today },
        "custom" => {
            let text = date.ok_or("period=custom needs date=YYYY-MM-DD,YYYY-MM-DD")?;
            let (a, b) = text.split_once(',').ok_or("period=custom needs date=YYYY-MM-DD,YYYY-MM-DD")?;
            let range = DateRange { start: parse(a)?, end: parse(b)? };
            if range.end < range.start {
                return Err(format!("the end date {} is before the start date {}", range.end, range.start));
            }
            range
        }
        other => {
            return Err(format!(
                "unknown period {other}; use one of {}",
                PERIODS.join(", "),
                other = crate::quote::quoted(other)
            ));
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn r(a: &str, b: &str) -> DateRange {
        DateRange { start: d(a), end: d(b) }
    }

    #[test]
    fn periods_end_today() {
        let today = d("2026-11-28");
        assert_eq!(resolve("day", None, today).unwrap(), r("2026-11-28", "2026-11-28"));
        assert_eq!(resolve("day", Some("2026-11-02"), today).unwrap(), r("2026-11-02", "2026-11-02"));
        assert_eq!(resolve("yesterday", None, today).unwrap(), r("2026-11-27", "2026-11-27"));
        assert_eq!(resolve("7d", None, today).unwrap(), r("2026-11-22", "2026-11-28"));
        assert_eq!(resolve("30d", None, today).unwrap(), r("2026-10-30", "2026-11-28"));
        assert_eq!(resolve("month", None, today).unwrap(), r("2026-11-01", "2026-11-28"));
        assert_eq!(resolve("last_month", None, today).unwrap(), r("2026-10-01", "2026-10-31"));
        assert_eq!(resolve("12mo", None, today).unwrap(), r("2025-12-01", "2026-11-28"));
        assert_eq!(resolve("custom", Some("2026-01-01,2026-01-31"), today).unwrap(), r("2026-01-01", "2026-01-31"));
    }

    #[test]
    fn previous_periods() {
        assert_eq!(r("2026-11-22", "2026-11-28").previous("7d"), r("2026-11-15", "2026-11-21"));
        assert_eq!(r("2026-11-01", "2026-11-28").previous("month"), r("2026-10-01", "2026-10-28"));
        assert_eq!(r("2026-03-01", "2026-03-31").previous("month"), r("2026-02-01", "2026-02-28"));
        assert_eq!(r("2026-10-01", "2026-10-31").previous("last_month"), r("2026-09-01", "2026-09-30"));
        assert_eq!(r("2025-12-01", "2026-11-28").previous("12mo"), r("2024-12-01", "2025-11-30"));
    }

    #[test]
    fn bad_periods_say_what_is_allowed() {
        let today = d("2026-11-28");
        assert!(resolve("fortnight", None, today).unwrap_err().contains("7d, last_week, 30d"));
        assert!(resolve("custom", None, today).unwrap_err().contains("date=YYYY-MM-DD,YYYY-MM-DD"));
        assert!(resolve("custom", Some("2026-02-01,2026-01-01"), today).unwrap_err().contains("before"));
        assert!(resolve("day", Some("yesterday"), today).unwrap_err().contains("YYYY-MM-DD"));
    }

    #[test]
    fn last_week_is_the_whole_week_before() {
        let d = |s: &str| Date::parse(s).unwrap();
        // 2026-12-05 is a Saturday: the last whole week is Mon 11-23 to Sun 11-29.
        let r = resolve("last_week", None, d("2026-12-05")).unwrap();
        assert_eq!((r.start, r.end), (d("2026-11-23"), d("2026-11-29")));
        let r = resolve("last_week", None, d("2026-11-30")).unwrap();
        assert_eq!((r.start, r.end), (d("2026-11-23"), d("2026-11-29")));
        let p = r.previous("last_week");
        assert_eq!((p.start, p.end), (d("2026-11-16"), d("2026-11-22")));
    }
}
