//! The daily series a sync brings besides difficulty and prices: the chain height at the start of
//! each day (00:00 America/Los_Angeles, the stored table's convention) and the fees paid per UTC
//! day, from a mempool.space-style API or a Bitcoin Core node. Like [`crate::sync`], nothing here
//! touches the store: each function returns finished rows for the days it was asked for, or an
//! error and nothing.
//!
//! Which days are "complete" is decided by the source's tip time, never the local clock: a day's
//! start height is settled once the tip is [`TIME_SLACK`] past that midnight (block times may run
//! up to two hours out of order), a UTC day's fees once the tip is that far past its end.

use std::collections::{BTreeMap, HashMap};

use hashpivot_data::hashprice::{la_offset_hours, utc_blocks_on};
use hashpivot_data::{Date, FeeDay, HeightPoint};

use crate::mempool::MempoolClient;
use crate::rpc::RpcClient;
use crate::SourceError;

/// Seconds a block's time may lag the true time (Core accepts a header up to 2 h ahead of the
/// network-adjusted time, so later blocks can carry earlier times by about as much).
pub const TIME_SLACK: i64 = 7200;

/// At most this many days are fetched in one sync (about three years); older gaps need
/// `data import`.
pub const MAX_DAYS: i32 = 1100;

/// The source's newest block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tip {
    /// Height.
    pub height: u64,
    /// Block time, Unix seconds.
    pub time: i64,
}

/// 00:00 America/Los_Angeles of `d`, Unix seconds.
pub fn la_midnight(d: Date) -> i64 {
    d.unix_midnight() + (la_offset_hours(d) * 3600.0) as i64
}

/// Days after `after` whose start height is settled at `tip` (at most [`MAX_DAYS`]).
pub fn height_days(after: Date, tip: &Tip) -> Vec<Date> {
    (1..=MAX_DAYS)
        .map(|k| after.add_days(k))
        .take_while(|d| la_midnight(*d) + TIME_SLACK <= tip.time)
        .collect()
}

/// UTC days after `after` that are over at `tip` (at most [`MAX_DAYS`]) and not after `last`.
pub fn fee_days(after: Date, tip: &Tip, last: Date) -> Vec<Date> {
    (1..=MAX_DAYS)
        .map(|k| after.add_days(k))
        .take_while(|d| *d <= last && d.add_days(1).unix_midnight() + TIME_SLACK <= tip.time)
        .collect()
}

/// Checks that the heights increase with the days and stay at or below the tip.
fn check_heights(
    rows: &[HeightPoint],
    prev: Option<&HeightPoint>,
    tip: &Tip,
) -> Result<(), SourceError> {
    let mut last = prev.map(|p| (p.date, p.height));
    for r in rows {
        if u64::from(r.height) > tip.height {
            return Err(SourceError::Inconsistent(format!(
                "the height at the start of {} is {}, above the tip {}",
                r.date, r.height, tip.height
            )));
        }
        if let Some((d, h)) = last {
            if r.height < h {
                return Err(SourceError::Inconsistent(format!(
                    "the height at the start of {} ({}) is below that of {d} ({h}): the source's chain went backwards",
                    r.date, r.height
                )));
            }
        }
        last = Some((r.date, r.height));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// mempool.space-style API

/// The tip (height and time) of a mempool-style API. Two or three requests.
pub fn mempool_tip(client: &MempoolClient, requests: &mut u64) -> Result<Tip, SourceError> {
    let (height, time) = client.tip()?;
    *requests += 3;
    Ok(Tip { height, time })
}

/// The height at 00:00 America/Los_Angeles of each day, one
/// `/api/v1/mining/blocks/timestamp/:ts` request a day. `prev` is the stored day before the first.
pub fn mempool_heights(
    client: &MempoolClient,
    days: &[Date],
    prev: Option<&HeightPoint>,
    tip: &Tip,
    requests: &mut u64,
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<HeightPoint>, SourceError> {
    let mut out = Vec::with_capacity(days.len());
    for (i, d) in days.iter().enumerate() {
        let b = client.block_at_time(la_midnight(*d))?;
        *requests += 1;
        let height = u32::try_from(b.height).map_err(|_| {
            SourceError::Inconsistent(format!("height {} does not fit the store", b.height))
        })?;
        out.push(HeightPoint { date: *d, height });
        progress(i as u64 + 1);
    }
    check_heights(&out, prev, tip)?;
    Ok(out)
}

/// The shortest interval of `/api/v1/mining/blocks/fees/:interval` (and of the difficulty
/// adjustments) that reaches back `days` days from the tip.
pub fn mempool_interval(days: i64) -> &'static str {
    match days {
        ..=29 => "1m",
        30..=89 => "3m",
        90..=179 => "6m",
        180..=364 => "1y",
        365..=729 => "2y",
        730..=1094 => "3y",
        _ => "all",
    }
}

/// Fees of each UTC day from `/api/v1/mining/blocks/fees/:interval`: the mean fee per block of
/// the day's buckets (mempool's buckets are 30 min to 12 h wide, so they tile UTC days and count
/// equal time each) times the day's block count from the height table (`heights`, which must
/// include the days' own and next day's start heights). A day that the interval cuts, or
/// without buckets, is left out.
pub fn mempool_fees(
    client: &MempoolClient,
    days: &[Date],
    heights: &[HeightPoint],
    tip: &Tip,
    requests: &mut u64,
) -> Result<Vec<FeeDay>, SourceError> {
    let Some(first) = days.first() else {
        return Ok(Vec::new());
    };
    let back = (tip.time - first.unix_midnight()).div_euclid(86_400) + 1;
    let interval = mempool_interval(back);
    let buckets = client.block_fees(interval)?;
    *requests += 1;
    let Some(oldest) = buckets.first() else {
        return Ok(Vec::new());
    };
    // The window starts inside the first bucket's day: that day is incomplete.
    let first_whole = Date::from_unix(oldest.timestamp).add_days(1);
    let mut per_day: BTreeMap<Date, (f64, u32)> = BTreeMap::new();
    for b in &buckets {
        if !(b.avg_fees.is_finite() && b.avg_fees >= 0.0) {
            return Err(SourceError::Verify {
                height: b.avg_height as u64,
                message: format!("mempool block fees: avgFees {} is not ≥ 0", b.avg_fees),
            });
        }
        let e = per_day
            .entry(Date::from_unix(b.timestamp))
            .or_insert((0.0, 0));
        e.0 += b.avg_fees;
        e.1 += 1;
    }
    let mut out = Vec::new();
    for d in days {
        let (Some(&(sum, n)), Some(blocks)) = (per_day.get(d), utc_blocks_on(heights, *d)) else {
            continue;
        };
        if *d < first_whole || n == 0 {
            continue;
        }
        let blocks = blocks.round().max(0.0) as u32;
        let per_block_btc = sum / f64::from(n) / 1e8;
        out.push(FeeDay {
            date: *d,
            fees_btc: per_block_btc * f64::from(blocks),
            blocks: Some(blocks),
            source: "mempool".to_string(),
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Bitcoin Core

/// Block times read from a node, cached by height (`getblockhash` + `getblockheader hash true`).
struct Times<'a> {
    client: &'a RpcClient,
    cache: HashMap<u64, i64>,
    requests: &'a mut u64,
}

impl Times<'_> {
    fn get(&mut self, h: u64) -> Result<i64, SourceError> {
        if let Some(t) = self.cache.get(&h) {
            return Ok(*t);
        }
        let hash = self.client.getblockhash(h)?;
        let hd = self.client.getblockheader_verbose(&hash)?;
        *self.requests += 2;
        if hd.height != h {
            return Err(SourceError::Inconsistent(format!(
                "getblockheader {hash} answered for height {} instead of {h}",
                hd.height
            )));
        }
        self.cache.insert(h, hd.time);
        Ok(hd.time)
    }

    /// The highest block in `[lo, hi]` whose time is at or before `ts`, by binary search on the
    /// header times (`time(lo) <= ts` is assumed). Block times are nearly monotone; where they are
    /// not, this finds a block at or before `ts` whose successor is after it.
    fn height_at(&mut self, ts: i64, mut lo: u64, mut hi: u64) -> Result<u64, SourceError> {
        if self.get(hi)? <= ts {
            return Ok(hi);
        }
        while hi - lo > 1 {
            let mid = lo + (hi - lo) / 2;
            if self.get(mid)? <= ts {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        Ok(lo)
    }
}

/// The tip of a Bitcoin Core node (mainnet only): `getblockchaininfo` and the best block's header.
pub fn rpc_tip(client: &RpcClient, requests: &mut u64) -> Result<Tip, SourceError> {
    let info = client.mainnet_info()?;
    let hd = client.getblockheader_verbose(&info.bestblockhash)?;
    *requests += 2;
    if hd.height != info.blocks {
        return Err(SourceError::Inconsistent(format!(
            "the node's best block {} is at height {} but getblockchaininfo says {}",
            info.bestblockhash, hd.height, info.blocks
        )));
    }
    Ok(Tip {
        height: info.blocks,
        time: hd.time,
    })
}

/// The height at 00:00 America/Los_Angeles of each day from a node, by binary search on block
/// header times bracketed by the day before (about 20 calls a day). `prev` is the stored day
/// before the first, if any.
pub fn rpc_heights(
    client: &RpcClient,
    days: &[Date],
    prev: Option<&HeightPoint>,
    tip: &Tip,
    requests: &mut u64,
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<HeightPoint>, SourceError> {
    let mut times = Times {
        client,
        cache: HashMap::new(),
        requests,
    };
    let mut lo = prev
        .filter(|p| days.first().is_some_and(|d| p.date < *d))
        .map_or(0, |p| u64::from(p.height).min(tip.height));
    let mut out = Vec::with_capacity(days.len());
    for (i, d) in days.iter().enumerate() {
        let ts = la_midnight(*d);
        // A day is ~144 blocks: try a bracket of 1,000 first, the whole rest of the chain if the
        // crossing is beyond it.
        let near = (lo + 1000).min(tip.height);
        let h = if times.get(near)? > ts {
            times.height_at(ts, lo, near)?
        } else {
            times.height_at(ts, near, tip.height)?
        };
        let height = u32::try_from(h)
            .map_err(|_| SourceError::Inconsistent(format!("height {h} does not fit the store")))?;
        out.push(HeightPoint { date: *d, height });
        lo = h;
        progress(i as u64 + 1);
    }
    check_heights(&out, prev, tip)?;
    Ok(out)
}

/// Fees of each UTC day from `getblockstats` (`totalfee`, satoshis) of every block of the days,
/// summed by the UTC day of the block time (about 144 calls a day). The blocks are walked from
/// [`TIME_SLACK`] before the first day to that far past the last one, so blocks with out-of-order
/// times land in their own day.
pub fn rpc_fees(
    client: &RpcClient,
    days: &[Date],
    tip: &Tip,
    requests: &mut u64,
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<FeeDay>, SourceError> {
    let (Some(first), Some(last)) = (days.first(), days.last()) else {
        return Ok(Vec::new());
    };
    let start_ts = first.unix_midnight() - TIME_SLACK;
    let stop_ts = last.add_days(1).unix_midnight() + TIME_SLACK;
    let start = {
        let mut times = Times {
            client,
            cache: HashMap::new(),
            requests,
        };
        if times.get(0)? > start_ts {
            0
        } else {
            times.height_at(start_ts, 0, tip.height)? + 1
        }
    };
    let mut sums: BTreeMap<Date, (u64, u32)> = BTreeMap::new();
    let mut h = start;
    let mut n = 0u64;
    while h <= tip.height {
        let s = client.getblockstats(h)?;
        *requests += 1;
        n += 1;
        progress(n);
        if s.height != h {
            return Err(SourceError::Inconsistent(format!(
                "getblockstats {h} answered for height {}",
                s.height
            )));
        }
        let d = Date::from_unix(s.time);
        if days.binary_search(&d).is_ok() {
            let e = sums.entry(d).or_insert((0, 0));
            e.0 += s.totalfee;
            e.1 += 1;
        }
        if s.time > stop_ts {
            break;
        }
        h += 1;
    }
    Ok(sums
        .into_iter()
        .map(|(date, (sat, blocks))| FeeDay {
            date,
            fees_btc: sat as f64 / 1e8,
            blocks: Some(blocks),
            source: "rpc".to_string(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn complete_days_follow_the_tip_time_not_the_clock() {
        let d = Date::from_ymd(2026, 11, 20).unwrap();
        // Tip at 2026-11-22 10:00 UTC: LA midnight of the 22nd was 08:00 UTC, two hours ago.
        let tip = Tip {
            height: 1,
            time: Date::from_ymd(2026, 11, 22).unwrap().unix_midnight() + 10 * 3600,
        };
        assert_eq!(height_days(d, &tip), vec![d.add_days(1), d.add_days(2)]);
        // UTC days: the 21st ended 10 h before the tip; the 22nd is not over.
        assert_eq!(fee_days(d, &tip, d.add_days(5)), vec![d.add_days(1)]);
        assert_eq!(fee_days(d, &tip, d), Vec::<Date>::new());
        assert_eq!(mempool_interval(10), "1m");
        assert_eq!(mempool_interval(100), "6m");
        assert_eq!(mempool_interval(5000), "all");
    }
}
