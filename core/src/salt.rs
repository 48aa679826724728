//! Salt rotation: which salt keys the visitor id at a given moment, and which
//! salts must be kept or destroyed.
//!
//! A salt belongs to one rotation period (a UTC day, ISO week or calendar
//! month). The current period's salt hashes new events; the previous
//! period's salt is kept so a visit crossing the boundary stays one visitor;
//! every older salt is destroyed, after which nobody can recompute old
//! visitor ids from an IP and a user agent.

use std::fmt;
use std::str::FromStr;

use crate::time::Date;

/// How often the salt changes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rotation {
    Day,
    Week,
    Month,
}

impl Rotation {
    /// The first day of the period containing `date`.
    pub fn period_start(self, date: Date) -> Date {
        match self {
            Rotation::Day => date,
            Rotation::Week => Date::from_days(date.to_days() - i64::from(date.weekday())),
            Rotation::Month => Date { day: 1, ..date },
        }
    }

    /// The first day of the period before the one starting at `start`.
    pub fn previous_start(self, start: Date) -> Date {
        self.period_start(Date::from_days(start.to_days() - 1))
    }
}

impl FromStr for Rotation {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "day" | "daily" => Ok(Rotation::Day),
            "week" | "weekly" => Ok(Rotation::Week),
            "month" | "monthly" => Ok(Rotation::Month),
            other => Err(format!("unknown salt rotation {other:?}: use day, week or month")),
        }
    }
}

impl fmt::Display for Rotation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Rotation::Day => "day",
            Rotation::Week => "week",
            Rotation::Month => "month",
        })
    }
}

/// Of the stored salt periods, the ones to keep at `today`: the current and
/// the previous period. Everything else must be destroyed.
pub fn keep(rotation: Rotation, today: Date, period: Date) -> bool {
    let current = rotation.period_start(today);
    period == current || period == rotation.previous_start(current)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn periods() {
        assert_eq!(Rotation::Day.period_start(d("2026-11-28")), d("2026-11-28"));
        assert_eq!(Rotation::Week.period_start(d("2026-11-28")), d("2026-11-23"));
        assert_eq!(Rotation::Week.period_start(d("2026-11-23")), d("2026-11-23"));
        assert_eq!(Rotation::Month.period_start(d("2026-11-28")), d("2026-11-01"));
        assert_eq!(Rotation::Month.previous_start(d("2026-01-01")), d("2025-12-01"));
        assert_eq!(Rotation::Week.previous_start(d("2026-11-23")), d("2026-11-16"));
    }

    #[test]
    fn keeps_current_and_previous_only() {
        let today = d("2026-11-28");
        assert!(keep(Rotation::Day, today, d("2026-11-28")));
        assert!(keep(Rotation::Day, today, d("2026-11-27")));
        assert!(!keep(Rotation::Day, today, d("2026-11-26")));
        assert!(keep(Rotation::Month, today, d("2026-10-01")));
        assert!(!keep(Rotation::Month, today, d("2026-09-01")));
    }

    #[test]
    fn parses() {
        assert_eq!("week".parse::<Rotation>(), Ok(Rotation::Week));
        assert!("hourly".parse::<Rotation>().unwrap_err().contains("day, week or month"));
    }
}
