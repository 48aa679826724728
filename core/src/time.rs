//! UTC calendar arithmetic on plain integers: timestamps are microseconds
//! since the Unix epoch (DuckDB's TIMESTAMP), dates are days since the epoch.
//!
//! Two small, well-known conversions (Howard Hinnant's `days_from_civil` /
//! `civil_from_days`) are all the lake and the salt rotation need, so no
//! calendar crate is pulled into the shared core.

pub const MICROS_PER_SECOND: i64 = 1_000_000;
pub const MICROS_PER_DAY: i64 = 86_400 * MICROS_PER_SECOND;

/// A proleptic Gregorian date.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    pub year: i32,
    pub month: u32,
    pub day: u32,
}

impl Date {
    /// Days since 1970-01-01.
    pub fn to_days(self) -> i64 {
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }

    /// The date `days` after 1970-01-01.
    pub fn from_days(days: i64) -> Self {
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
        Date { year, month, day }
    }

    /// The UTC date of a timestamp in microseconds.
    pub fn of_micros(ts: i64) -> Self {
        Self::from_days(ts.div_euclid(MICROS_PER_DAY))
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Option<Self> {
        let mut parts = s.splitn(3, '-');
        let year: i32 = parts.next()?.parse().ok()?;
        let month: u32 = parts.next()?.parse().ok()?;
        let day: u32 = parts.next()?.parse().ok()?;
        let date = Date { year, month, day };
        // Round-tripping rejects 2026-02-30 and friends.
        (s.len() == 10 && (1..=12).contains(&month) && Self::from_days(date.to_days()) == date).then_some(date)
    }

    /// Monday = 0 … Sunday = 6.
    pub fn weekday(self) -> u32 {
        (self.to_days() + 3).rem_euclid(7) as u32
    }
}

impl std::fmt::Display for Date {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

/// A timestamp (µs since the epoch, UTC) as DuckDB prints a TIMESTAMP:
/// `2026-11-28 23:14:39.5` (fractional seconds only when there are any).
pub fn format_timestamp(micros: i64) -> String {
    let date = Date::of_micros(micros);
    let in_day = micros.rem_euclid(MICROS_PER_DAY);
    let secs = in_day / MICROS_PER_SECOND;
    let fraction = in_day % MICROS_PER_SECOND;
    let mut out = format!("{date} {:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    if fraction != 0 {
        let digits = format!("{fraction:06}");
        out.push('.');
        out.push_str(digits.trim_end_matches('0'));
    }
    out
}

/// Parses a UTC timestamp, `YYYY-MM-DDTHH:MM:SS[.fraction]` with `Z` (or
/// `+00:00`; a space may stand for the `T`), into µs since the epoch.
pub fn parse_timestamp(s: &str) -> Option<i64> {
    let s = s.strip_suffix('Z').or_else(|| s.strip_suffix("+00:00"))?;
    let (date, time) = s.split_once(['T', ' '])?;
    let date = Date::parse(date)?;
    let (hms, fraction) = time.split_once('.').unwrap_or((time, ""));
    let mut parts = hms.splitn(3, ':');
    let mut field = |max: i64| -> Option<i64> {
        let p = parts.next()?;
        (p.len() == 2).then(|| p.parse::<i64>().ok()).flatten().filter(|v| (0..=max).contains(v))
    };
    let (h, m, sec) = (field(23)?, field(59)?, field(59)?);
    if fraction.len() > 9 || !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let micros: i64 = format!("{fraction:0<6}")[..6].parse().ok()?;
    Some(date.to_days() * MICROS_PER_DAY + (h * 3600 + m * 60 + sec) * MICROS_PER_SECOND + micros)
}

/// Now, in microseconds since the epoch.
pub fn now_micros() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_micros() as i64).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn parses_utc_timestamps() {
        use super::parse_timestamp as p;
        // 2026-12-04 = day 20 791 since 1970-01-01 (DuckDB: SELECT DATE '2026-12-04' - DATE '1970-01-01').
        let day = 20_791 * 86_400_000_000_i64;
        assert_eq!(p("2026-12-04T00:00:00Z"), Some(day));
        assert_eq!(p("2026-12-04T10:20:30.5Z"), Some(day + 37_230_500_000));
        assert_eq!(p("2026-12-04 10:20:30+00:00"), Some(day + 37_230_000_000));
        assert_eq!(p("2026-12-04T10:20:30.123456789Z"), Some(day + 37_230_123_456));
        for bad in ["2026-12-04T10:20:30", "2026-12-04T24:00:00Z", "2026-02-30T00:00:00Z", "2026-12-04T1:2:3Z", "x"] {
            assert_eq!(p(bad), None, "{bad}");
        }
    }

    use super::*;

    #[test]
    fn round_trips_and_known_dates() {
        assert_eq!(Date { year: 1970, month: 1, day: 1 }.to_days(), 0);
        assert_eq!(Date { year: 2026, month: 11, day: 28 }.to_days(), 20_785);
        assert_eq!(Date::from_days(20_785), Date { year: 2026, month: 11, day: 28 });
        assert_eq!(Date::from_days(-1), Date { year: 1969, month: 12, day: 31 });
        for d in -800_000..800_000 {
            if d % 997 == 0 {
                assert_eq!(Date::from_days(d).to_days(), d);
            }
        }
    }

    #[test]
    fn parse_and_display() {
        let d = Date::parse("2024-02-29").unwrap();
        assert_eq!(d.to_string(), "2024-02-29");
        assert_eq!(Date::parse("2023-02-29"), None);
        assert_eq!(Date::parse("2023-13-01"), None);
        assert_eq!(Date::parse("2023-1-01"), None);
        assert_eq!(Date::parse("../../x"), None);
    }

    #[test]
    fn timestamps_print_like_duckdb() {
        let t = Date::parse("2026-11-28").unwrap().to_days() * MICROS_PER_DAY;
        assert_eq!(format_timestamp(t), "2026-11-28 00:00:00");
        assert_eq!(format_timestamp(t + 83_679_993_833), "2026-11-28 23:14:39.993833");
        assert_eq!(format_timestamp(t + 500_000), "2026-11-28 00:00:00.5");
    }

    #[test]
    fn weekday_and_micros() {
        assert_eq!(Date::parse("2026-11-30").unwrap().weekday(), 0); // a Monday
        assert_eq!(Date::of_micros(MICROS_PER_DAY - 1), Date { year: 1970, month: 1, day: 1 });
        assert_eq!(Date::of_micros(-1), Date { year: 1969, month: 12, day: 31 });
    }
}
