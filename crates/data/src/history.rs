//! The shipped history as the dashboard's history page shows it: one named series (BTC price,
//! difficulty, hashprice, fees) between two dates, with the halvings inside the range.

use std::sync::OnceLock;

use hashpivot_chain::HALVING_INTERVAL;
use serde::Serialize;

use crate::{shipped, Date};

/// The series [`series`] knows, in display order.
pub const SERIES: [&str; 4] = ["price", "difficulty", "hashprice", "fees"];

/// One historical series.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct History {
    /// `price`, `difficulty`, `hashprice` or `fees`.
    pub series: &'static str,
    /// Unit of the values.
    pub unit: &'static str,
    /// What the values are and where they come from.
    pub description: &'static str,
    /// `[date, value]` pairs in date order.
    pub points: Vec<(Date, f64)>,
    /// The halvings inside the range: block height and the day it was mined.
    pub halvings: Vec<Halving>,
}

/// A halving and the day its block was mined.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Halving {
    /// Block height (a multiple of 210,000).
    pub height: u32,
    /// The day it was mined (UTC, interpolated in the daily height table: ±1 day).
    pub date: Date,
}

/// Why a series could not be given.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SeriesError {
    /// The name is not one of [`SERIES`].
    #[error("series = {name:?}: allowed \"price\", \"difficulty\", \"hashprice\", \"fees\"")]
    Unknown {
        /// The name asked for.
        name: String,
    },
    /// The range runs backwards.
    #[error("from = {from} is after to = {to}")]
    Reversed {
        /// First day asked.
        from: Date,
        /// Last day asked.
        to: Date,
    },
}

/// Halvings found in the shipped height table.
pub fn halvings() -> Vec<Halving> {
    let heights = shipped::heights();
    (1..=32u64)
        .filter_map(|k| u32::try_from(k * HALVING_INTERVAL).ok())
        .filter_map(|h| {
            // `height` is the chain height at Los Angeles midnight (08:00 UTC in winter). The
            // halving block was mined during the last LA day that started below it; interpolating
            // the height within that day gives its time to a few hours, hence the UTC day.
            let i = heights.partition_point(|p| p.height < h);
            if i == 0 || i >= heights.len() {
                return None;
            }
            let (a, b) = (&heights[i - 1], &heights[i]);
            let span = f64::from(b.height.saturating_sub(a.height)).max(1.0);
            let frac = f64::from(h - a.height) / span * f64::from(b.date.days_since(a.date));
            let utc_days = 8.0 / 24.0 + frac;
            Some(Halving {
                height: h,
                date: a.date.add_days(utc_days.floor() as i32),
            })
        })
        .collect()
}

fn hashprice_points() -> &'static [(Date, f64)] {
    static H: OnceLock<Vec<(Date, f64)>> = OnceLock::new();
    H.get_or_init(|| {
        crate::hashprice_history(
            shipped::prices(),
            shipped::heights(),
            shipped::epochs(),
            shipped::fees(),
            None,
            None,
        )
        .map(|v| v.into_iter().map(|d| (d.date, d.usd_per_ph_day)).collect())
        .unwrap_or_default()
    })
}

/// The series `name` between `from` (default 2010-01-01) and `to` (default: the end of the data).
pub fn series(name: &str, from: Option<Date>, to: Option<Date>) -> Result<History, SeriesError> {
    let from = from.or_else(|| Date::from_ymd(2010, 1, 1));
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(SeriesError::Reversed { from: f, to: t });
        }
    }
    let keep = |d: Date| from.is_none_or(|f| d >= f) && to.is_none_or(|t| d <= t);
    let (series, unit, description, points): (&'static str, &'static str, &'static str, Vec<(Date, f64)>) =
        match name {
            "price" => (
                "price",
                "USD per BTC",
                "Daily close (data/btc_price/btc_usd_daily_close.csv; see data/PROVENANCE.md)",
                shipped::prices().iter().map(|p| (p.date, p.close_usd)).collect(),
            ),
            "difficulty" => (
                "difficulty",
                "difficulty",
                "Difficulty of each 2016-block epoch from its first day (data/btc_chain/difficulty_epochs.csv)",
                shipped::epochs()
                    .iter()
                    .filter_map(|e| e.start_date().map(|d| (d, e.difficulty)))
                    .collect(),
            ),
            "hashprice" => (
                "hashprice",
                "USD per PH/s per day",
                "Daily hashprice: (subsidy + fees) per block × 86400e15 / (difficulty × 2^32) × price (MODEL.md §2)",
                hashprice_points().to_vec(),
            ),
            "fees" => (
                "fees",
                "BTC per day",
                "Transaction fees paid to miners per day (data/btc_fees/fees_btc_per_day_merged.csv; daily to 2021-05, then sampled windows)",
                shipped::fees().iter().map(|f| (f.date, f.fees_btc)).collect(),
            ),
            other => {
                return Err(SeriesError::Unknown {
                    name: other.to_string(),
                })
            }
        };
    Ok(History {
        series,
        unit,
        description,
        points: points.into_iter().filter(|(d, _)| keep(*d)).collect(),
        halvings: halvings().into_iter().filter(|h| keep(h.date)).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halvings_fall_on_their_known_days() {
        let h = halvings();
        let days: Vec<String> = h
            .iter()
            .map(|x| format!("{} {}", x.height, x.date))
            .collect();
        // Block 210000: 2012-11-28; 420000: 2016-07-09; 630000: 2020-05-11; 840000: 2024-04-20
        // (UTC). The table counts days in Los Angeles time, so a block mined after midnight UTC
        // can fall on the previous LA day.
        for (height, utc, la_prev) in [
            (210_000, "2012-11-28", "2012-11-27"),
            (420_000, "2016-07-09", "2016-07-09"),
            (630_000, "2020-05-11", "2020-05-11"),
            (840_000, "2024-04-20", "2024-04-19"),
        ] {
            let x = h
                .iter()
                .find(|x| x.height == height)
                .unwrap_or_else(|| panic!("{days:?}"));
            let d = x.date.to_string();
            assert!(d == utc || d == la_prev, "{height}: {d}");
        }
    }

    #[test]
    fn series_start_in_2010_and_have_values() {
        for s in SERIES {
            let h = series(s, None, None).unwrap();
            assert!(h.points.len() > 100, "{s}: {} points", h.points.len());
            assert!(h.points[0].0 >= Date::from_ymd(2010, 1, 1).unwrap());
        }
        let p = series(
            "price",
            "2024-04-20".parse().ok(),
            "2024-04-20".parse().ok(),
        )
        .unwrap();
        // data/PROVENANCE.md verification anchor: close on 2024-04-20 = $64,976.53.
        assert_eq!(p.points.len(), 1);
        assert_eq!(p.points[0].0, "2024-04-20".parse().unwrap());
        assert!((p.points[0].1 - 64_976.53).abs() < 0.01, "{:?}", p.points);
        assert!(series("nope", None, None).is_err());
    }
}
