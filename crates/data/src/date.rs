//! Calendar dates (proleptic Gregorian, no time zone) as a day count, parsed strictly as
//! `YYYY-MM-DD`, and the one RFC 3339 time format of the workspace.
//!
//! The calendar itself is `jiff`'s ([`jiff::civil::Date`]): this type only keeps the day count so
//! that arithmetic and ordering are integer operations, and converts through `jiff` for years,
//! months and days.

use std::fmt;
use std::str::FromStr;

use jiff::civil;
use jiff::{Span, Timestamp};

/// A calendar date, stored as days since 1970-01-01 so that arithmetic and ordering are integer ops.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date(i32);

/// Why a string is not a `YYYY-MM-DD` date.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a date; expected YYYY-MM-DD (e.g. 2025-03-03)")]
pub struct DateError {
    /// The rejected text.
    pub value: String,
}

/// Day 0 of the count.
const EPOCH: civil::Date = civil::date(1970, 1, 1);

impl Date {
    /// The date `days` days after 1970-01-01 (negative before).
    pub const fn from_days(days: i32) -> Self {
        Date(days)
    }

    /// Days since 1970-01-01.
    pub const fn days(self) -> i32 {
        self.0
    }

    /// The date of year/month/day, or `None` if there is no such day.
    pub fn from_ymd(y: i32, m: u32, d: u32) -> Option<Self> {
        let civil = civil::Date::new(
            i16::try_from(y).ok()?,
            i8::try_from(m).ok()?,
            i8::try_from(d).ok()?,
        )
        .ok()?;
        Some(Date::from_civil(civil))
    }

    /// The date of a `jiff` civil date.
    pub fn from_civil(d: civil::Date) -> Self {
        // Both ends lie within jiff's range (years -9999 to 9999), so the difference in days
        // always exists.
        Date(d.since(EPOCH).map_or(0, |s| s.get_days()))
    }

    /// The `jiff` civil date; days outside jiff's range (years -9999 to 9999) saturate to its
    /// first or last day.
    pub fn civil(self) -> civil::Date {
        Span::new()
            .try_days(i64::from(self.0))
            .and_then(|s| EPOCH.checked_add(s))
            .unwrap_or(if self.0 < 0 {
                civil::Date::MIN
            } else {
                civil::Date::MAX
            })
    }

    /// (year, month, day).
    pub fn ymd(self) -> (i32, u32, u32) {
        let c = self.civil();
        (
            i32::from(c.year()),
            c.month().unsigned_abs().into(),
            c.day().unsigned_abs().into(),
        )
    }

    /// Day of the week, 0 = Monday … 6 = Sunday.
    pub fn weekday(self) -> u8 {
        self.civil()
            .weekday()
            .to_monday_zero_offset()
            .unsigned_abs()
    }

    /// The UTC calendar date of a Unix timestamp (seconds).
    pub fn from_unix(secs: i64) -> Self {
        Date(secs.div_euclid(86_400) as i32)
    }

    /// Today's UTC calendar date (the system clock).
    pub fn today() -> Self {
        Date::from_unix(Timestamp::now().as_second())
    }

    /// Unix seconds at 00:00 UTC of this date.
    pub fn unix_midnight(self) -> i64 {
        i64::from(self.0) * 86_400
    }

    /// The date `n` days later (earlier for negative `n`).
    pub fn add_days(self, n: i32) -> Self {
        Date(self.0 + n)
    }

    /// Days from `other` to `self` (`self - other`).
    pub fn days_since(self, other: Date) -> i32 {
        self.0 - other.0
    }
}

/// A Unix time (seconds) as RFC 3339 in UTC to the second, `2025-03-03T14:05:09Z`: the one format
/// of every time stamp hashpivot writes (store rows, run records, reports).
pub fn rfc3339(unix_secs: i64) -> String {
    let d = Date::from_unix(unix_secs);
    let s = unix_secs.rem_euclid(86_400);
    format!("{d}T{:02}:{:02}:{:02}Z", s / 3600, s % 3600 / 60, s % 60)
}

/// The current time as [`rfc3339`].
pub fn now_rfc3339() -> String {
    rfc3339(Timestamp::now().as_second())
}

impl FromStr for Date {
    type Err = DateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || DateError {
            value: s.to_string(),
        };
        let b = s.as_bytes();
        // Exactly YYYY-MM-DD: a lenient parser would accept "2025-3-3" and silently misread locales.
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(err());
        }
        let digits = |r: std::ops::Range<usize>| -> Option<u32> {
            let part = &s[r];
            if part.bytes().all(|c| c.is_ascii_digit()) {
                part.parse().ok()
            } else {
                None
            }
        };
        let y = digits(0..4).ok_or_else(err)?;
        let m = digits(5..7).ok_or_else(err)?;
        let d = digits(8..10).ok_or_else(err)?;
        Date::from_ymd(y as i32, m, d).ok_or_else(err)
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (y, m, d) = self.ymd();
        write!(f, "{y:04}-{m:02}-{d:02}")
    }
}

impl serde::Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_known_day_numbers() {
        assert_eq!(Date::from_ymd(1970, 1, 1).unwrap().days(), 0);
        // 2009-01-03 (genesis) is day 14247; 2024-04-20 is day 19833 (date -d ... +%s / 86400).
        assert_eq!("2009-01-03".parse::<Date>().unwrap().days(), 14_247);
        assert_eq!("2024-04-20".parse::<Date>().unwrap().days(), 19_833);
        for n in -1000..30_000 {
            let d = Date::from_days(n);
            assert_eq!(d.to_string().parse::<Date>().unwrap(), d);
        }
        assert_eq!(Date::from_unix(1_231_006_505).to_string(), "2009-01-03");
        // Leap days and century rules come from jiff's calendar.
        assert_eq!(Date::from_ymd(2000, 2, 29).unwrap().days(), 11_016);
        assert!(Date::from_ymd(1900, 2, 29).is_none());
        assert!(Date::from_ymd(2024, 4, 31).is_none());
        assert!(Date::from_ymd(70_000, 1, 1).is_none());
        // 2024-01-01 was a Monday, 1970-01-01 a Thursday, 2025-05-17 a Saturday.
        assert_eq!(Date::from_ymd(2024, 1, 1).unwrap().weekday(), 0);
        assert_eq!(Date::from_days(0).weekday(), 3);
        assert_eq!(Date::from_ymd(2025, 5, 17).unwrap().weekday(), 5);
    }

    #[test]
    fn rfc3339_is_utc_to_the_second() {
        // `date -u -d @1231006505 +%FT%TZ`
        assert_eq!(rfc3339(1_231_006_505), "2009-01-03T18:15:05Z");
        assert_eq!(rfc3339(-1), "1969-12-31T23:59:59Z");
        let now = now_rfc3339();
        assert_eq!(now.len(), 20, "{now}");
        assert!(now.parse::<jiff::Timestamp>().is_ok(), "{now}");
    }

    #[test]
    fn rejects_malformed() {
        for bad in [
            "2025-3-3",
            "2025-02-29",
            "2024-13-01",
            "20250303",
            "2025-03-3x",
            "",
            "2025/03/03",
        ] {
            assert!(bad.parse::<Date>().is_err(), "{bad}");
        }
        assert!("2024-02-29".parse::<Date>().is_ok());
    }
}
