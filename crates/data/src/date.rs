//! Calendar dates (proleptic Gregorian, no time zone) as a day count, parsed strictly as `YYYY-MM-DD`.

use std::fmt;
use std::str::FromStr;

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
        if !(1..=12).contains(&m) || d == 0 || d > days_in_month(y, m) {
            return None;
        }
        Some(Date(days_from_civil(y, m, d)))
    }

    /// (year, month, day).
    pub fn ymd(self) -> (i32, u32, u32) {
        civil_from_days(self.0)
    }

    /// The UTC calendar date of a Unix timestamp (seconds).
    pub fn from_unix(secs: i64) -> Self {
        Date(secs.div_euclid(86_400) as i32)
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

/// Howard Hinnant's `days_from_civil`: days since 1970-01-01 of a proleptic Gregorian date.
fn days_from_civil(y: i32, m: u32, d: u32) -> i32 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = m as i32;
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d as i32 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Inverse of [`days_from_civil`].
fn civil_from_days(z: i32) -> (i32, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn days_in_month(y: i32, m: u32) -> u32 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        _ if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        _ => 28,
    }
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
