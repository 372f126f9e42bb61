//! ERCOT hourly Day-Ahead Market settlement point prices of the 7 hubs and 8 load zones, 2021–2025
//! (`data/ercot/ercot_dam_spp_hubs_lz_YYYY.csv`, provenance in `data/PROVENANCE.md` §5), embedded in
//! the binary and parsed on demand.
//!
//! Series are named `ercot:HUB:YEAR` (`ercot:HB_WEST:2024`) or `ercot:HUB:FIRST-LAST` for several
//! consecutive years (`ercot:HB_WEST:2021-2025`). Only the requested years are parsed, and only the
//! requested column of each row is converted to a number, so a year takes well under a millisecond.
//!
//! Time stamps are ERCOT's: a delivery date and an hour ending 1–24 in Central Prevailing Time. The
//! spring DST day has 23 rows (HE03 is absent) and the fall DST day 25 (the second HE02 carries
//! `repeated_hour_flag = Y`); both are kept exactly as published, so a year has 8,760 (8,784) hours.

use std::fmt;

use crate::Date;

/// The 15 settlement points of the shipped files, in column order.
pub const SETTLEMENT_POINTS: [&str; 15] = [
    "HB_BUSAVG",
    "HB_HOUSTON",
    "HB_HUBAVG",
    "HB_NORTH",
    "HB_PAN",
    "HB_SOUTH",
    "HB_WEST",
    "LZ_AEN",
    "LZ_CPS",
    "LZ_HOUSTON",
    "LZ_LCRA",
    "LZ_NORTH",
    "LZ_RAYBN",
    "LZ_SOUTH",
    "LZ_WEST",
];

/// First shipped year.
pub const FIRST_YEAR: u16 = 2021;
/// Last shipped year (2025 covers 2025-01-01 to 2025-05-17 only).
pub const LAST_YEAR: u16 = 2025;

const HEADER_PREFIX: &str = "delivery_date,hour_ending,repeated_hour_flag";

fn raw(year: u16) -> Option<&'static str> {
    Some(match year {
        2021 => include_str!("../../../data/ercot/ercot_dam_spp_hubs_lz_2021.csv"),
        2022 => include_str!("../../../data/ercot/ercot_dam_spp_hubs_lz_2022.csv"),
        2023 => include_str!("../../../data/ercot/ercot_dam_spp_hubs_lz_2023.csv"),
        2024 => include_str!("../../../data/ercot/ercot_dam_spp_hubs_lz_2024.csv"),
        2025 => include_str!("../../../data/ercot/ercot_dam_spp_hubs_lz_2025.csv"),
        _ => return None,
    })
}

/// One delivery hour as ERCOT publishes it: a local calendar date and an hour ending (1–24, the
/// hour that ends at `hour_ending:00`, Central Prevailing Time). Local time is kept as published,
/// not converted: the one time-zone fact the hourly code needs is that the fall DST day has a
/// second HE02, marked `repeated` (the spring day simply lacks HE03). Ordered by date, hour,
/// then the repeat.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct HourStamp {
    /// The delivery date.
    pub date: Date,
    /// Hour ending 1–24 (HE01 is 00:00–01:00).
    pub hour_ending: u8,
    /// The repeated hour of the fall DST change.
    pub repeated: bool,
}

impl HourStamp {
    /// A stamp, or `None` if the date does not exist or the hour ending is outside 1–24.
    pub fn new(year: u16, month: u8, day: u8, hour_ending: u8, repeated: bool) -> Option<Self> {
        let date = Date::from_ymd(i32::from(year), u32::from(month), u32::from(day))?;
        HourStamp::on(date, hour_ending, repeated)
    }

    /// The stamp of `date`, or `None` if the hour ending is outside 1–24.
    pub fn on(date: Date, hour_ending: u8, repeated: bool) -> Option<Self> {
        (1..=24).contains(&hour_ending).then_some(HourStamp {
            date,
            hour_ending,
            repeated,
        })
    }

    /// Calendar year of the date.
    pub fn year(&self) -> u16 {
        u16::try_from(self.date.ymd().0).unwrap_or(0)
    }

    /// Month 1–12 of the date.
    pub fn month(&self) -> u8 {
        self.date.ymd().1 as u8
    }

    /// Day of the week, 0 = Monday … 6 = Sunday.
    pub fn weekday(&self) -> u8 {
        self.date.weekday()
    }

    /// The date as `YYYY-MM-DD`.
    pub fn date_string(&self) -> String {
        self.date.to_string()
    }
}

impl fmt::Display for HourStamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} HE{:02}{}",
            self.date,
            self.hour_ending,
            if self.repeated { "*" } else { "" }
        )
    }
}

/// An hourly price series: one price per delivery hour, in time order.
#[derive(Debug, Clone, PartialEq)]
pub struct HourlySeries {
    /// What the series is (`ercot:HB_WEST:2024`, or a file name).
    pub label: String,
    /// The delivery hours, ascending (the repeated fall hour follows its first occurrence).
    pub hours: Vec<HourStamp>,
    /// Price of each hour, $/MWh (may be negative).
    pub usd_mwh: Vec<f64>,
}

impl HourlySeries {
    /// Number of hours.
    pub fn len(&self) -> usize {
        self.usd_mwh.len()
    }

    /// True when the series has no hours.
    pub fn is_empty(&self) -> bool {
        self.usd_mwh.is_empty()
    }

    /// Mean price over all hours, $/MWh (0 for an empty series).
    pub fn mean(&self) -> f64 {
        if self.usd_mwh.is_empty() {
            return 0.0;
        }
        self.usd_mwh.iter().sum::<f64>() / self.usd_mwh.len() as f64
    }

    /// The hours whose date lies in `[from, to]` (inclusive; `None` = unbounded), relabelled.
    pub fn between(&self, from: Option<Date>, to: Option<Date>) -> HourlySeries {
        let mut hours = Vec::new();
        let mut usd = Vec::new();
        for (h, p) in self.hours.iter().zip(&self.usd_mwh) {
            let d = h.date;
            if from.is_some_and(|f| d < f) || to.is_some_and(|t| d > t) {
                continue;
            }
            hours.push(*h);
            usd.push(*p);
        }
        HourlySeries {
            label: self.label.clone(),
            hours,
            usd_mwh: usd,
        }
    }
}

/// Parses a user's hourly price file (`text` is its content, `file` its name for messages) with the
/// crate's one CSV reader ([`crate::csv::Csv`]).
///
/// Format: a header line naming at least the columns `timestamp` and `price_usd_mwh` (any order,
/// other columns ignored). One row per delivery hour:
///
/// ```text
/// timestamp,price_usd_mwh
/// 2024-07-01T00:00,21.40
/// 2024-07-01T01:00,19.85
/// ```
///
/// * `timestamp` is the **start** of the hour in local time, `YYYY-MM-DDTHH:MM` or
///   `YYYY-MM-DD HH:MM` (`:SS` allowed; minutes and seconds must be 0). It is stored as hour ending
///   `HH+1`, ERCOT's convention, which is what 4CP peak hours refer to.
/// * Timestamps must increase. One timestamp may appear twice in a row: the repeated hour of the
///   fall DST change. Missing hours (the spring DST hour, gaps) are allowed: each row is one hour.
/// * `price_usd_mwh` is a number from -100000 to 100000 ([`crate::series::MAX_ABS_USD_MWH`]),
///   negative allowed. Blank lines and lines starting with `#`
///   are skipped.
pub fn parse_price_csv(text: &str, file: &str) -> Result<HourlySeries, crate::CsvError> {
    let csv = crate::csv::Csv::parse_commented(text, file)?;
    csv.require(&["timestamp", "price_usd_mwh"])?;
    let mut hours: Vec<HourStamp> = Vec::with_capacity(csv.len());
    let mut usd = Vec::with_capacity(csv.len());
    for row in csv.rows() {
        let ts = row.str("timestamp")?;
        let mut stamp = parse_hour_start(ts).ok_or_else(|| {
            row.bad(
                "timestamp",
                ts,
                "is not an hour start; expected YYYY-MM-DDTHH:00 (e.g. 2024-07-01T14:00)",
            )
        })?;
        if let Some(prev) = hours.last() {
            let same = (prev.date, prev.hour_ending) == (stamp.date, stamp.hour_ending);
            if same && !prev.repeated {
                // The fall DST change: the same local hour twice in a row.
                stamp.repeated = true;
            } else if same || stamp <= *prev {
                return Err(row.bad(
                    "timestamp",
                    ts,
                    "is not after the previous row (rows must be in time order; one repeat allowed for the DST hour)",
                ));
            }
        }
        let p = row.f64("price_usd_mwh")?;
        if p.abs() > crate::series::MAX_ABS_USD_MWH {
            return Err(row.bad(
                "price_usd_mwh",
                row.str("price_usd_mwh")?,
                "must be from -100000 to 100000 $/MWh",
            ));
        }
        hours.push(stamp);
        usd.push(p);
    }
    if hours.is_empty() {
        return Err(crate::CsvError::Empty {
            file: file.to_string(),
            message: "no data rows after the header".into(),
        });
    }
    Ok(HourlySeries {
        label: file.to_string(),
        hours,
        usd_mwh: usd,
    })
}

/// `YYYY-MM-DDTHH:00[:00]` (or with a space) as the stamp of the hour it starts.
fn parse_hour_start(s: &str) -> Option<HourStamp> {
    let b = s.as_bytes();
    if b.len() < 16 || !(b[10] == b'T' || b[10] == b' ') || b[13] != b':' {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u8> {
        let p = s.get(r)?;
        if p.bytes().all(|c| c.is_ascii_digit()) {
            p.parse().ok()
        } else {
            None
        }
    };
    let (hh, mm) = (num(11..13)?, num(14..16)?);
    match b.len() {
        16 => {}
        19 if b[16] == b':' && num(17..19)? == 0 => {}
        _ => return None,
    }
    if mm != 0 || hh > 23 {
        return None;
    }
    let date: Date = s.get(0..10)?.parse().ok()?;
    HourStamp::on(date, hh + 1, false)
}

/// Why an ERCOT series could not be produced.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ErcotError {
    /// The name is not of the form `ercot:HUB:YEAR` or `ercot:HUB:FIRST-LAST`.
    #[error("{spec:?} is not an ERCOT series name; use ercot:HUB:YEAR or ercot:HUB:FIRST-LAST (e.g. ercot:HB_WEST:2024, ercot:HB_WEST:2021-2025)")]
    BadSpec {
        /// The name as given.
        spec: String,
    },
    /// The hub or load zone is not a column of the shipped files.
    #[error("unknown ERCOT hub {hub:?}; allowed: {}", SETTLEMENT_POINTS.join(", "))]
    UnknownHub {
        /// The hub as given.
        hub: String,
    },
    /// A year outside the shipped range, or a range that runs backwards.
    #[error("ERCOT year {year:?} is not shipped; allowed: {FIRST_YEAR} to {LAST_YEAR} (2025 ends 2025-05-17), or a range FIRST-LAST inside it")]
    UnknownYear {
        /// The year (or range) as given.
        year: String,
    },
    /// The embedded file is malformed (a packaging bug, reported with its line).
    #[error("embedded ERCOT file {year}, line {line}: {message}")]
    Malformed {
        /// Year of the file.
        year: u16,
        /// 1-based line.
        line: usize,
        /// What is wrong.
        message: String,
    },
}

/// A parsed series name: one settlement point over consecutive years.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErcotSpec {
    /// Column index into [`SETTLEMENT_POINTS`].
    pub point: usize,
    /// First year.
    pub first_year: u16,
    /// Last year (inclusive).
    pub last_year: u16,
}

impl ErcotSpec {
    /// Parses `ercot:HUB:YEAR` or `ercot:HUB:FIRST-LAST` (hub case-insensitive).
    pub fn parse(spec: &str) -> Result<Self, ErcotError> {
        let bad = || ErcotError::BadSpec {
            spec: spec.to_string(),
        };
        let mut parts = spec.split(':');
        let (Some(src), Some(hub), Some(years), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad());
        };
        if !src.eq_ignore_ascii_case("ercot") {
            return Err(bad());
        }
        let point = SETTLEMENT_POINTS
            .iter()
            .position(|p| p.eq_ignore_ascii_case(hub.trim()))
            .ok_or_else(|| ErcotError::UnknownHub {
                hub: hub.to_string(),
            })?;
        let bad_year = || ErcotError::UnknownYear {
            year: years.to_string(),
        };
        let year = |s: &str| -> Result<u16, ErcotError> {
            let s = s.trim();
            if s.len() != 4 || !s.bytes().all(|b| b.is_ascii_digit()) {
                return Err(bad_year());
            }
            let y: u16 = s.parse().map_err(|_| bad_year())?;
            if (FIRST_YEAR..=LAST_YEAR).contains(&y) {
                Ok(y)
            } else {
                Err(bad_year())
            }
        };
        let (first_year, last_year) = match years.split_once('-') {
            Some((a, b)) => (year(a)?, year(b)?),
            None => {
                let y = year(years)?;
                (y, y)
            }
        };
        if first_year > last_year {
            return Err(bad_year());
        }
        Ok(ErcotSpec {
            point,
            first_year,
            last_year,
        })
    }

    /// The settlement point name.
    pub fn point_name(&self) -> &'static str {
        SETTLEMENT_POINTS[self.point]
    }

    /// Canonical name, `ercot:HB_WEST:2024` or `ercot:HB_WEST:2021-2025`.
    pub fn name(&self) -> String {
        if self.first_year == self.last_year {
            format!("ercot:{}:{}", self.point_name(), self.first_year)
        } else {
            format!(
                "ercot:{}:{}-{}",
                self.point_name(),
                self.first_year,
                self.last_year
            )
        }
    }

    /// Parses the requested years of the embedded files into one series.
    pub fn load(&self) -> Result<HourlySeries, ErcotError> {
        let mut out = HourlySeries {
            label: self.name(),
            hours: Vec::with_capacity(8784 * usize::from(self.last_year - self.first_year + 1)),
            usd_mwh: Vec::with_capacity(8784 * usize::from(self.last_year - self.first_year + 1)),
        };
        for y in self.first_year..=self.last_year {
            parse_year(y, self.point, &mut out)?;
        }
        Ok(out)
    }
}

/// The series named `spec` (`ercot:HB_WEST:2024`, `ercot:HB_WEST:2021-2025`).
pub fn series(spec: &str) -> Result<HourlySeries, ErcotError> {
    ErcotSpec::parse(spec)?.load()
}

/// True when `spec` looks like an ERCOT series name (starts with `ercot:`), so callers can tell a
/// name from a file path before parsing it.
pub fn is_ercot_name(spec: &str) -> bool {
    spec.get(..6)
        .is_some_and(|p| p.eq_ignore_ascii_case("ercot:"))
}

fn parse_year(year: u16, point: usize, out: &mut HourlySeries) -> Result<(), ErcotError> {
    let text = raw(year).ok_or(ErcotError::UnknownYear {
        year: year.to_string(),
    })?;
    let err = |line: usize, message: String| ErcotError::Malformed {
        year,
        line,
        message,
    };
    let mut lines = text.lines().enumerate();
    let header = lines.next().map(|(_, l)| l).unwrap_or("");
    let expected_header = format!("{HEADER_PREFIX},{}", SETTLEMENT_POINTS.join(","));
    if header.trim_end() != expected_header {
        return Err(err(1, format!("unexpected header {header:?}")));
    }
    let column = 3 + point;
    let mut prev: Option<HourStamp> = None;
    for (i, line) in lines {
        let line_no = i + 1;
        let line = line.trim_end();
        if line.is_empty() {
            continue;
        }
        let mut fields = line.split(',');
        let (Some(date), Some(he), Some(flag)) = (fields.next(), fields.next(), fields.next())
        else {
            return Err(err(line_no, "fewer than 3 fields".into()));
        };
        let stamp = parse_stamp(date, he, flag).ok_or_else(|| {
            err(
                line_no,
                format!("bad time stamp {date:?}, hour {he:?}, flag {flag:?}"),
            )
        })?;
        if stamp.year() != year {
            return Err(err(line_no, format!("date {date} is not in {year}")));
        }
        if prev.is_some_and(|p| p >= stamp) {
            return Err(err(
                line_no,
                format!("{stamp} is not after the previous hour"),
            ));
        }
        prev = Some(stamp);
        let cell = fields
            .nth(point)
            .ok_or_else(|| err(line_no, format!("no column {}", column + 1)))?;
        let price: f64 = cell
            .trim()
            .parse()
            .ok()
            .filter(|p: &f64| p.is_finite())
            .ok_or_else(|| {
                err(
                    line_no,
                    format!(
                        "{} price {cell:?} is not a number",
                        SETTLEMENT_POINTS[point]
                    ),
                )
            })?;
        out.hours.push(stamp);
        out.usd_mwh.push(price);
    }
    Ok(())
}

fn parse_stamp(date: &str, he: &str, flag: &str) -> Option<HourStamp> {
    let date: Date = date.parse().ok()?;
    let he = he.trim();
    if he.is_empty() || !he.bytes().all(|c| c.is_ascii_digit()) {
        return None;
    }
    let repeated = match flag.trim() {
        "N" => false,
        "Y" => true,
        _ => return None,
    };
    HourStamp::on(date, he.parse().ok()?, repeated)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn price_file_parses_and_explains_errors() {
        let stamp = |y, m, d, he| HourStamp::new(y, m, d, he, false).unwrap();
        let ok = "timestamp,price_usd_mwh\n# a comment\n2024-11-03T00:00,10\n2024-11-03T01:00,11.5\n2024-11-03T01:00,-3\n2024-11-03 02:00:00,12\n";
        let s = parse_price_csv(ok, "p.csv").unwrap();
        assert_eq!(s.usd_mwh, vec![10.0, 11.5, -3.0, 12.0]);
        assert_eq!(s.hours[0], stamp(2024, 11, 3, 1));
        assert!(s.hours[2].repeated && s.hours[2].hour_ending == 2);
        assert_eq!(s.hours[3].hour_ending, 3);
        // Column order free, extra columns ignored, header case, BOM and CRLF tolerated.
        let s = parse_price_csv(
            "\u{feff}node,Price_USD_MWh,timestamp\r\nX,5,2024-01-01T23:00\r\n",
            "q.csv",
        )
        .unwrap();
        assert_eq!(s.hours[0].hour_ending, 24);
        let e = |t: &str| parse_price_csv(t, "p.csv").unwrap_err().to_string();
        assert!(e("").contains("empty"));
        assert!(e("time,price\n").contains("missing column `timestamp`"));
        let m = e("timestamp,price_usd_mwh\n2024-01-01T00:00,abc\n");
        assert!(
            m.contains("line 2") && m.contains("price_usd_mwh") && m.contains("\"abc\""),
            "{m}"
        );
        let m = e("timestamp,price_usd_mwh\n2024-01-01T00:30,1\n");
        assert!(
            m.contains("line 2") && m.contains("`timestamp`") && m.contains("2024-01-01T00:30"),
            "{m}"
        );
        let m = e("timestamp,price_usd_mwh\n2024-01-01T05:00,1\n2024-01-01T04:00,1\n");
        assert!(m.contains("line 3") && m.contains("not after"), "{m}");
        let m = e(
            "timestamp,price_usd_mwh\n2024-01-01T05:00,1\n2024-01-01T05:00,1\n2024-01-01T05:00,1\n",
        );
        assert!(m.contains("line 4"), "{m}");
        assert!(e("timestamp,price_usd_mwh\n2024-02-30T05:00,1\n").contains("2024-02-30"));
        assert!(e("timestamp,price_usd_mwh\n2024-01-01T05:00,1,2\n").contains("3 fields"));
        assert!(e("timestamp,price_usd_mwh\n2024-01-01T05:00,inf\n").contains("finite"));
        assert!(e("timestamp,price_usd_mwh\n").contains("no data rows"));
    }

    #[test]
    fn row_counts_match_provenance() {
        // data/PROVENANCE.md §5: 8,760 / 8,760 / 8,760 / 8,784 / 3,287 rows.
        for (y, n) in [
            (2021, 8760),
            (2022, 8760),
            (2023, 8760),
            (2024, 8784),
            (2025, 3287),
        ] {
            let s = series(&format!("ercot:HB_WEST:{y}")).unwrap();
            assert_eq!(s.len(), n, "{y}");
            assert_eq!(s.hours.len(), n);
        }
        let all = series("ercot:HB_WEST:2021-2025").unwrap();
        assert_eq!(all.len(), 8760 * 3 + 8784 + 3287);
        assert_eq!(all.label, "ercot:HB_WEST:2021-2025");
    }

    #[test]
    fn annual_means_and_extremes_match_provenance() {
        // PROVENANCE.md §5 checks: HB_WEST mean 2021 $142.6, 2022 $59.8, 2023 $56.5, 2024 $28.9;
        // 2021 maximum $9,000.01; negative hours down to about -$13.
        for (y, mean) in [(2021, 142.6), (2022, 59.8), (2023, 56.5), (2024, 28.9)] {
            let s = series(&format!("ercot:HB_WEST:{y}")).unwrap();
            assert!((s.mean() - mean).abs() < 0.05, "{y}: {}", s.mean());
        }
        let s = series("ercot:HB_WEST:2021").unwrap();
        let max = s.usd_mwh.iter().cloned().fold(f64::MIN, f64::max);
        let min = s.usd_mwh.iter().cloned().fold(f64::MAX, f64::min);
        assert_eq!(max, 9000.01);
        assert!((-14.0..-13.0).contains(&min), "{min}");
    }

    #[test]
    fn first_row_and_uri() {
        // First data row of the 2021 file: HB_WEST 18.21, LZ_AEN 24.11.
        let w = series("ercot:hb_west:2021").unwrap();
        assert_eq!(w.hours[0], HourStamp::new(2021, 1, 1, 1, false).unwrap());
        assert_eq!(w.usd_mwh[0], 18.21);
        assert_eq!(series("ercot:LZ_AEN:2021").unwrap().usd_mwh[0], 24.11);
        // PROVENANCE anchor: HB_NORTH on 2021-02-15 between $3,000 and $7,500 in the early hours.
        let n = series("ercot:HB_NORTH:2021").unwrap();
        let feb15 = n.between(Some(day("2021-02-15")), Some(day("2021-02-15")));
        assert_eq!(feb15.len(), 24);
        for p in &feb15.usd_mwh[..6] {
            assert!((3000.0..=7500.0).contains(p), "{p}");
        }
    }

    #[test]
    fn dst_days_are_kept_as_published() {
        let s = series("ercot:HB_WEST:2024").unwrap();
        let spring = s.between(Some(day("2024-03-10")), Some(day("2024-03-10")));
        assert_eq!(spring.len(), 23);
        assert!(!spring.hours.iter().any(|h| h.hour_ending == 3));
        let fall = s.between(Some(day("2024-11-03")), Some(day("2024-11-03")));
        assert_eq!(fall.len(), 25);
        assert!(fall.hours[2].repeated && fall.hours[2].hour_ending == 2);
        // Repeated-hour row of the 2024 file: HB_WEST 12.10.
        assert_eq!(fall.usd_mwh[2], 12.10);
    }

    #[test]
    fn weekday_is_right() {
        // 2024-01-01 was a Monday; 2021-02-15 a Monday; 1970-01-01 a Thursday.
        assert_eq!(HourStamp::new(2024, 1, 1, 1, false).unwrap().weekday(), 0);
        assert_eq!(HourStamp::new(2021, 2, 15, 1, false).unwrap().weekday(), 0);
        assert_eq!(HourStamp::new(1970, 1, 1, 1, false).unwrap().weekday(), 3);
        assert_eq!(HourStamp::new(2025, 5, 17, 1, false).unwrap().weekday(), 5);
    }

    #[test]
    fn bad_names_are_explained() {
        let e = series("ercot:HB_EAST:2024").unwrap_err();
        assert!(matches!(e, ErcotError::UnknownHub { .. }));
        let msg = e.to_string();
        assert!(
            msg.contains("HB_EAST") && msg.contains("HB_WEST") && msg.contains("LZ_WEST"),
            "{msg}"
        );
        let e = series("ercot:HB_WEST:2020").unwrap_err().to_string();
        assert!(e.contains("2020") && e.contains("2021 to 2025"), "{e}");
        assert!(series("ercot:HB_WEST:2025-2021").is_err());
        assert!(series("ercot:HB_WEST:24").is_err());
        assert!(matches!(
            series("ercot:HB_WEST").unwrap_err(),
            ErcotError::BadSpec { .. }
        ));
        assert!(matches!(
            series("caiso:HB_WEST:2024").unwrap_err(),
            ErcotError::BadSpec { .. }
        ));
        assert!(is_ercot_name("ERCOT:x") && !is_ercot_name("prices.csv"));
    }
}
