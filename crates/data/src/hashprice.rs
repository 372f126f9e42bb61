//! Daily historical hashprice (MODEL.md §2) from price, heights, difficulty epochs and fees.
//!
//! For each day `d` of the price series:
//! - blocks `b` = height(d+1) − height(d) (heights at LA midnight; 144 if the next day is missing);
//! - the difficulty in force is that of the epoch containing the height at ≈ 12:00 UTC of `d`
//!   (LA midnight is 07:00–08:00 UTC, so noon is ≈ 4.5/24 of the way from height(d) to height(d+1)).
//!   Heights locate retargets exactly, which the start-time column cannot do for epochs 437–451 and
//!   464–473 (dates only, ±1 day);
//! - subsidy = mean consensus subsidy over heights `[height(d), height(d)+b)` (exact at halvings);
//! - fees per block = that day's fees / that day's blocks (getblockstats counts where present);
//!   where the fee data is sampled (every 4 days, or a longer gap) the fee per block is linearly
//!   interpolated between the nearest known days, and after the last fee day the mean of the last
//!   30 known days is carried forward (`fees_source` says which);
//! - `hashvalue = 86400·1e15·R / (D·2^32)` BTC per PH/s per day, `hashprice = hashvalue · price`.

use serde::Serialize;

use crate::date::Date;
use crate::series::{Epoch, FeeDay, HeightPoint, PricePoint};

// Subsidy, its split at halvings and hashvalue have one owner, `hashpivot-chain` (consensus
// rules); re-exported here for the callers that read them with the history.
pub use hashpivot_chain::{hashvalue_btc_per_ph_day, subsidy_sat, BtcPerBlock, Difficulty};

/// Mean subsidy (BTC) per block over the heights `[a, a + n)` of a historical day or epoch: the
/// pieces of [`hashpivot_chain::subsidy_pieces`], each weighing `blocks · sat / 1e8`. (The
/// engine's [`hashpivot_chain::mean_subsidy_btc`] weighs `blocks · (sat / 1e8)`; the published
/// history and calibration are pinned to this order of operations, which differs in the last
/// bit.) `n <= 0` gives the subsidy at `a`.
pub fn mean_subsidy_btc(a: f64, n: f64) -> f64 {
    if n <= 0.0 {
        return subsidy_sat(a.max(0.0).floor() as u64) as f64 / 1e8;
    }
    let mut sum = 0.0;
    for (blocks, sat) in hashpivot_chain::subsidy_pieces(a, n) {
        sum += blocks * sat as f64 / 1e8;
    }
    sum / n
}

/// How a day's fee figure was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeeSource {
    /// A fee total for that very day.
    Daily,
    /// Interpolated between the nearest days with data.
    Interpolated,
    /// After the last fee day: the mean of the last 30 known days.
    CarriedForward,
    /// Before the first fee day: zero.
    None,
}

/// One day of historical hashprice.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HashpriceDay {
    /// Calendar day.
    pub date: Date,
    /// USD per PH/s per day.
    pub usd_per_ph_day: f64,
    /// BTC per PH/s per day.
    pub btc_per_ph_day: f64,
    /// Difficulty in force that day.
    pub difficulty: f64,
    /// Epoch the difficulty comes from.
    pub epoch: u32,
    /// True when the day's height is past the last known epoch (the difficulty is the newest known,
    /// not the one actually in force).
    pub difficulty_stale: bool,
    /// BTC/USD close of the day.
    pub price_usd: f64,
    /// Fees per block, BTC.
    pub fees_btc_per_block: f64,
    /// How the fee figure was obtained.
    pub fees_source: FeeSource,
    /// Mean subsidy per block that day, BTC.
    pub subsidy_btc: f64,
    /// Height at 00:00 UTC of the day (interpolated from the LA-midnight height table).
    pub height: u32,
    /// Blocks mined during the UTC day (interpolated; fractional).
    pub blocks: f64,
}

/// Why the history cannot be computed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum HistoryError {
    /// A required series is empty.
    #[error("no {0} data in the store")]
    Missing(&'static str),
    /// `from` is after `to`.
    #[error("--from {from} is after --to {to}")]
    EmptyRange {
        /// Start.
        from: Date,
        /// End.
        to: Date,
    },
}

/// Per-block fee points `(day, btc_per_block)` from daily totals, using each day's own block count
/// when the source has one and the height table's otherwise.
fn fee_points(fees: &[FeeDay], heights: &[HeightPoint]) -> Vec<(i32, f64)> {
    fees.iter()
        .filter_map(|f| {
            let blocks = match f.blocks {
                Some(b) => f64::from(b),
                None => utc_blocks_on(heights, f.date).unwrap_or(144.0),
            };
            (blocks > 0.0).then(|| (f.date.days(), f.fees_btc / blocks))
        })
        .collect()
}

fn height_index(heights: &[HeightPoint], d: Date) -> Option<usize> {
    heights.binary_search_by(|h| h.date.cmp(&d)).ok()
}

/// Hours from 00:00 UTC to 00:00 America/Los_Angeles on `d`: 7 under daylight saving time
/// (2007 rule: second Sunday of March to first Sunday of November; before 2007, first Sunday of
/// April to last Sunday of October), else 8.
pub fn la_offset_hours(d: Date) -> f64 {
    let (y, _, _) = d.ymd();
    // Weekday of a date, 0 = Sunday (1970-01-01 was a Thursday).
    let sunday_on_or_after = |m: u32, day: u32| -> Date {
        let x = Date::from_ymd(y, m, day).unwrap_or(d);
        let wd = (x.days() + 4).rem_euclid(7);
        x.add_days((7 - wd) % 7)
    };
    let (start, end) = if y >= 2007 {
        (sunday_on_or_after(3, 8), sunday_on_or_after(11, 1))
    } else {
        (sunday_on_or_after(4, 1), sunday_on_or_after(10, 25))
    };
    if d >= start && d < end {
        7.0
    } else {
        8.0
    }
}

/// Heights at 00:00 UTC of day `heights[i].date` and of the next day, interpolated linearly from
/// the LA-midnight table (UTC midnight comes 7–8 hours before LA midnight). Falls back to
/// 144 blocks a day where a neighbour is missing.
pub fn utc_day_heights(heights: &[HeightPoint], i: usize) -> (f64, f64) {
    let d = heights[i].date;
    let h = f64::from(heights[i].height);
    let prev = heights
        .get(i.wrapping_sub(1))
        .filter(|p| p.date == d.add_days(-1))
        .map_or(144.0, |p| h - f64::from(p.height));
    let next = heights.get(i + 1).filter(|n| n.date == d.add_days(1));
    let cur = next.map_or(144.0, |n| f64::from(n.height) - h);
    let a = h - prev * la_offset_hours(d) / 24.0;
    let z = h + cur - cur * la_offset_hours(d.add_days(1)) / 24.0;
    (a, z.max(a))
}

/// Blocks mined during the UTC day `d`, interpolated from the height table ([`utc_day_heights`]).
pub fn utc_blocks_on(heights: &[HeightPoint], d: Date) -> Option<f64> {
    let i = height_index(heights, d)?;
    let (a, z) = utc_day_heights(heights, i);
    Some(z - a)
}

/// Blocks mined on day `d` by the height table (height(d+1) − height(d)).
pub fn blocks_on(heights: &[HeightPoint], d: Date) -> Option<u32> {
    let i = height_index(heights, d)?;
    let next = heights.get(i + 1).filter(|n| n.date == d.add_days(1))?;
    Some(next.height - heights[i].height)
}

/// The epoch containing `height`, or the last known one (and `true`) if the height is past the table.
pub fn epoch_at(epochs: &[Epoch], height: u32) -> Option<(&Epoch, bool)> {
    let i = epochs.partition_point(|e| e.start_height <= height);
    if i == 0 {
        return None;
    }
    let e = &epochs[i - 1];
    Some((e, height > e.end_height()))
}

/// Interpolated fees per block at day `t` from sorted points; the source tag says how.
fn fee_at(points: &[(i32, f64)], t: i32, tail_mean: f64) -> (f64, FeeSource) {
    let i = points.partition_point(|p| p.0 < t);
    if i < points.len() && points[i].0 == t {
        return (points[i].1, FeeSource::Daily);
    }
    if i == 0 {
        return (0.0, FeeSource::None);
    }
    if i == points.len() {
        return (tail_mean, FeeSource::CarriedForward);
    }
    let (t0, f0) = points[i - 1];
    let (t1, f1) = points[i];
    let w = f64::from(t - t0) / f64::from(t1 - t0);
    (f0 + w * (f1 - f0), FeeSource::Interpolated)
}

/// The daily hashprice series for days in `[from, to]` (inclusive; `None` = unbounded) of the price
/// series that also have a height. All inputs sorted by date / height.
pub fn hashprice_history(
    prices: &[PricePoint],
    heights: &[HeightPoint],
    epochs: &[Epoch],
    fees: &[FeeDay],
    from: Option<Date>,
    to: Option<Date>,
) -> Result<Vec<HashpriceDay>, HistoryError> {
    if let (Some(f), Some(t)) = (from, to) {
        if f > t {
            return Err(HistoryError::EmptyRange { from: f, to: t });
        }
    }
    if prices.is_empty() {
        return Err(HistoryError::Missing("price"));
    }
    if heights.is_empty() {
        return Err(HistoryError::Missing("block height"));
    }
    if epochs.is_empty() {
        return Err(HistoryError::Missing("difficulty"));
    }
    let points = fee_points(fees, heights);
    let tail: Vec<f64> = points.iter().rev().take(30).map(|p| p.1).collect();
    let tail_mean = if tail.is_empty() {
        0.0
    } else {
        tail.iter().sum::<f64>() / tail.len() as f64
    };
    let mut out = Vec::new();
    for p in prices {
        if from.is_some_and(|f| p.date < f) || to.is_some_and(|t| p.date > t) {
            continue;
        }
        let Some(i) = height_index(heights, p.date) else {
            continue;
        };
        let (a, z) = utc_day_heights(heights, i);
        let blocks = z - a;
        let noon = (a + blocks / 2.0) as u32;
        let Some((epoch, stale)) = epoch_at(epochs, noon) else {
            continue;
        };
        let subsidy = mean_subsidy_btc(a, blocks);
        let (fee, fees_source) = fee_at(&points, p.date.days(), tail_mean);
        let hv = hashvalue_btc_per_ph_day(BtcPerBlock(subsidy + fee), Difficulty(epoch.difficulty));
        out.push(HashpriceDay {
            date: p.date,
            usd_per_ph_day: hv * p.close_usd,
            btc_per_ph_day: hv,
            difficulty: epoch.difficulty,
            epoch: epoch.epoch,
            difficulty_stale: stale,
            price_usd: p.close_usd,
            fees_btc_per_block: fee,
            fees_source,
            subsidy_btc: subsidy,
            height: a.round() as u32,
            blocks,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shipped;

    fn day(s: &str) -> Date {
        s.parse().unwrap()
    }

    fn shipped_history(from: &str, to: &str) -> Vec<HashpriceDay> {
        hashprice_history(
            shipped::prices(),
            shipped::heights(),
            shipped::epochs(),
            shipped::fees(),
            Some(day(from)),
            Some(day(to)),
        )
        .unwrap()
    }

    #[test]
    fn subsidy_follows_core() {
        assert_eq!(subsidy_sat(0), 5_000_000_000);
        assert_eq!(subsidy_sat(209_999), 5_000_000_000);
        assert_eq!(subsidy_sat(210_000), 2_500_000_000);
        assert_eq!(subsidy_sat(840_000), 312_500_000);
        assert_eq!(subsidy_sat(64 * 210_000), 0);
        // Halving day 2024-04-20: 42 blocks at 6.25 then 100 at 3.125 over [839958, 840100).
        let m = mean_subsidy_btc(839_958.0, 142.0);
        assert!((m - (42.0 * 6.25 + 100.0 * 3.125) / 142.0).abs() < 1e-12);
    }

    /// Published Hashrate Index hashprice (USD per PH/s per day): 2024-12-23 $55.21, 2025-03-03
    /// $49.40 (issue 5). Our series must agree within 3%.
    #[test]
    fn backtest_against_hashrate_index() {
        for (date, published) in [("2024-12-23", 55.21), ("2025-03-03", 49.40)] {
            let h = shipped_history(date, date);
            assert_eq!(h.len(), 1);
            let ours = h[0].usd_per_ph_day;
            let err = ours / published - 1.0;
            assert!(
                err.abs() < 0.03,
                "{date}: ours {ours:.2} vs published {published} ({:+.1}%)",
                err * 100.0
            );
        }
    }

    #[test]
    fn uses_the_epoch_in_force_and_flags_gaps() {
        let h = shipped_history("2024-12-23", "2024-12-23");
        assert_eq!(h[0].epoch, 434);
        assert_eq!(h[0].fees_source, FeeSource::Daily);
        assert!(!h[0].difficulty_stale);
        // 2025-03-03 has only 4-day fee samples around it.
        let m = shipped_history("2025-03-03", "2025-03-03");
        assert_eq!(m[0].fees_source, FeeSource::Interpolated);
        assert!(m[0].fees_btc_per_block > 0.02 && m[0].fees_btc_per_block < 0.06);
        // Past the epoch table (height > 955583): newest difficulty, flagged.
        let late = shipped_history("2026-08-20", "2026-08-20");
        assert!(late[0].difficulty_stale);
        assert_eq!(late[0].fees_source, FeeSource::CarriedForward);
        // A hand check of one day: 2024-12-23, D = 108.52 T, fees 10.835 BTC over the UTC day's blocks.
        let d = &h[0];
        assert!(d.blocks > 125.0 && d.blocks < 160.0, "{}", d.blocks);
        let r = 3.125 + 10.83545209 / d.blocks;
        let hv = 86_400.0 * 1e15 * r / (108_522_647_629_298.16 * 2f64.powi(32));
        assert!((d.btc_per_ph_day / hv - 1.0).abs() < 1e-12);
        assert!((d.usd_per_ph_day - hv * 94_736.290636).abs() < 1e-9);
    }

    #[test]
    fn utc_days_split_the_halving_like_bitcoinvisuals() {
        // bitcoinvisuals (UTC days): 2024-04-19 minted 931.25 BTC (149 × 6.25), 2024-04-20
        // 406.25 BTC (130 × 3.125); block 840000 came at 00:09 UTC on the 20th.
        let h = shipped_history("2024-04-19", "2024-04-21");
        let minted: Vec<f64> = h.iter().map(|d| d.subsidy_btc * d.blocks).collect();
        assert!((minted[0] / 931.25 - 1.0).abs() < 0.05, "{minted:?}");
        assert!((minted[1] / 406.25 - 1.0).abs() < 0.05, "{minted:?}");
        assert!(h[0].subsidy_btc > 6.2 && h[1].subsidy_btc < 3.2 && h[2].subsidy_btc == 3.125);
        // DST: LA midnight is 07:00 UTC in summer, 08:00 in winter.
        assert_eq!(la_offset_hours(day("2024-03-09")), 8.0);
        assert_eq!(la_offset_hours(day("2024-03-10")), 7.0);
        assert_eq!(la_offset_hours(day("2024-11-02")), 7.0);
        assert_eq!(la_offset_hours(day("2024-11-03")), 8.0);
        assert_eq!(la_offset_hours(day("2005-04-03")), 7.0);
        assert_eq!(la_offset_hours(day("2005-10-30")), 8.0);
    }

    #[test]
    fn range_errors() {
        let e = hashprice_history(&[], &[], &[], &[], None, None).unwrap_err();
        assert_eq!(e, HistoryError::Missing("price"));
        let e = hashprice_history(
            shipped::prices(),
            shipped::heights(),
            shipped::epochs(),
            shipped::fees(),
            Some(day("2025-01-02")),
            Some(day("2025-01-01")),
        )
        .unwrap_err();
        assert!(matches!(e, HistoryError::EmptyRange { .. }));
    }
}
