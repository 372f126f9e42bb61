//! The newest market state in the shipped (or stored) data: the starting point of the default
//! scenario and of `hashpivot calibrate --out`.

use serde::Serialize;

use crate::date::Date;
use crate::hashprice::{epoch_at, utc_blocks_on};
use crate::series::{Epoch, FeeDay, HeightPoint, PricePoint};
use crate::shipped;

/// Days of fee data averaged for [`MarketState::fees_btc_per_block`].
pub const FEE_WINDOW_DAYS: usize = 30;
/// Days of block production used for [`MarketState::hashrate_ehs`].
pub const HASHRATE_WINDOW_DAYS: i32 = 28;

/// The market at the start of one day, in the units of the scenario file (MODEL.md §3, §7).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarketState {
    /// The day this state describes (its start: heights are at 00:00 America/Los_Angeles).
    pub date: Date,
    /// Spot price, USD per BTC: the newest close at or before `date` (`price_date`).
    pub spot_usd: f64,
    /// Day of that close.
    pub price_date: Date,
    /// Chain height at the start of `date`.
    pub height: u32,
    /// Difficulty in force at `height`, or the newest known difficulty when the epoch table ends
    /// earlier (then `difficulty_current` is false).
    pub difficulty: f64,
    /// Epoch whose difficulty is used.
    pub difficulty_epoch: u32,
    /// True when `difficulty_epoch` is the epoch that contains `height`.
    pub difficulty_current: bool,
    /// True when that epoch's first header was seen by an independent source (bitcoinj header or
    /// Bitcoin Core getblockstats); false for epochs known from Electrum checkpoints alone.
    pub difficulty_verified: bool,
    /// Start height of the epoch containing `height` (`height - height % 2016`, MODEL.md §3 `E0`).
    pub epoch_start_height: u32,
    /// Days since that epoch began, from the day the height table crossed `epoch_start_height`
    /// (linear within the crossing day).
    pub epoch_elapsed_days: f64,
    /// Mean fees per block over the last [`FEE_WINDOW_DAYS`] days with fee data, BTC.
    pub fees_btc_per_block: f64,
    /// First and last day of that fee window.
    pub fees_window: (Date, Date),
    /// Network hashrate, EH/s: the hashrate that, at `difficulty`, produces the blocks observed over
    /// the last [`HASHRATE_WINDOW_DAYS`] days (`D·2^32/600 · blocks_per_day/144`).
    pub hashrate_ehs: f64,
    /// Blocks per day over that window.
    pub blocks_per_day: f64,
}

/// The newest market state of the shipped data (2026-08-22 for the data shipped today).
pub fn market_state() -> MarketState {
    market_state_from(
        shipped::prices(),
        shipped::heights(),
        shipped::epochs(),
        shipped::fees(),
    )
    .expect("the shipped data yields a market state (checked by this crate's tests)")
}

/// The newest market state computable from these series (all sorted), or `None` if one of them is
/// empty or they do not overlap. The store's calibration calls this with stored series.
pub fn market_state_from(
    prices: &[PricePoint],
    heights: &[HeightPoint],
    epochs: &[Epoch],
    fees: &[FeeDay],
) -> Option<MarketState> {
    let last_close = prices.last()?;
    // The start of the day after the newest close is the freshest moment with a known price.
    let hi = heights.partition_point(|h| h.date <= last_close.date.add_days(1));
    let hp = heights.get(hi.checked_sub(1)?)?;
    let pi = prices.partition_point(|p| p.date <= hp.date);
    let price = prices.get(pi.checked_sub(1)?)?;
    let height = hp.height;
    let (epoch, stale) = epoch_at(epochs, height)?;
    let e0 = height - height % 2016;

    // Elapsed days: when did the height table cross e0?
    let j = heights.partition_point(|h| h.height < e0);
    let epoch_elapsed_days = if j == 0 || j >= heights.len() {
        f64::from(height - e0) / 144.0
    } else {
        let (a, b) = (&heights[j - 1], &heights[j]);
        let frac = f64::from(e0 - a.height) / f64::from((b.height - a.height).max(1));
        let crossed = f64::from(a.date.days()) + frac * f64::from(b.date.days_since(a.date));
        f64::from(hp.date.days()) - crossed
    };

    // Fees: the last FEE_WINDOW_DAYS days with data; total fees over total blocks.
    let recent: Vec<&FeeDay> = fees
        .iter()
        .filter(|f| f.date <= hp.date)
        .rev()
        .take(FEE_WINDOW_DAYS)
        .collect();
    let (mut fsum, mut bsum) = (0.0, 0.0);
    for f in &recent {
        let b = f
            .blocks
            .map(f64::from)
            .or_else(|| utc_blocks_on(heights, f.date))
            .unwrap_or(144.0);
        fsum += f.fees_btc;
        bsum += b;
    }
    let fees_btc_per_block = if bsum > 0.0 { fsum / bsum } else { 0.0 };
    let fees_window = match (recent.last(), recent.first()) {
        (Some(a), Some(b)) => (a.date, b.date),
        _ => (hp.date, hp.date),
    };

    // Blocks per day over the last HASHRATE_WINDOW_DAYS days of the height table.
    let back = hp.date.add_days(-HASHRATE_WINDOW_DAYS);
    let blocks_per_day = match heights.binary_search_by(|h| h.date.cmp(&back)) {
        Ok(k) => f64::from(height - heights[k].height) / f64::from(HASHRATE_WINDOW_DAYS),
        Err(_) => 144.0,
    };
    let hashrate_ehs =
        hashpivot_chain::implied_hashrate_ehs(hashpivot_chain::Difficulty(epoch.difficulty))
            * blocks_per_day
            / 144.0;

    Some(MarketState {
        date: hp.date,
        spot_usd: price.close_usd,
        price_date: price.date,
        height,
        difficulty: epoch.difficulty,
        difficulty_epoch: epoch.epoch,
        difficulty_current: !stale,
        difficulty_verified: epoch.start_time_unix.is_some(),
        epoch_start_height: e0,
        epoch_elapsed_days,
        fees_btc_per_block,
        fees_window,
        hashrate_ehs,
        blocks_per_day,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_market_state() {
        let m = market_state();
        assert_eq!(m.date.to_string(), "2026-08-22");
        assert_eq!(m.price_date.to_string(), "2026-08-21");
        // The raw file's last row (dated 2026-08-22) is the 2026-08-21 close.
        assert_eq!(m.spot_usd, 78_329.693303);
        assert_eq!(m.height, 963_549);
        // Newest known epoch 473 (124.93 T); height 963549 is in epoch 477, so it is stale.
        assert_eq!(m.difficulty_epoch, 473);
        assert!((m.difficulty - 124_932_866_006_548.16).abs() < 1.0);
        assert!(!m.difficulty_current);
        assert!(!m.difficulty_verified);
        assert_eq!(m.epoch_start_height, 961_632);
        // 961632 was crossed during 2026-08-08 (961542 → 961693): ≈ 0.6 of the day.
        let expect = 14.0 - (961_632.0 - 961_542.0) / 151.0;
        assert!(
            (m.epoch_elapsed_days - expect).abs() < 1e-9,
            "{}",
            m.epoch_elapsed_days
        );
        // Consistent with the height: 1917 blocks at ≈ 144/day.
        assert!((m.epoch_elapsed_days - 1917.0 / 144.0).abs() < 1.0);
        // Fees: the getblockstats days 2026-01-02 .. 2026-01-31 (PROVENANCE: ≈ 0.022 BTC/block).
        assert_eq!(m.fees_window.1.to_string(), "2026-01-31");
        assert_eq!(m.fees_window.0.to_string(), "2026-01-02");
        assert!(
            m.fees_btc_per_block > 0.01 && m.fees_btc_per_block < 0.04,
            "{}",
            m.fees_btc_per_block
        );
        // Hashrate: D·2^32/600 at 124.93 T is ≈ 894 EH/s, scaled by the observed block rate.
        let base = m.difficulty * 2f64.powi(32) / 600.0 / 1e18;
        assert!((base - 894.3).abs() < 1.0, "{base}");
        assert!((m.hashrate_ehs / base - m.blocks_per_day / 144.0).abs() < 1e-12);
        assert!(m.blocks_per_day > 130.0 && m.blocks_per_day < 160.0);
    }

    #[test]
    fn state_inside_the_table_is_current() {
        let cut = "2025-01-20".parse::<Date>().unwrap();
        let prices: Vec<_> = shipped::prices()
            .iter()
            .filter(|p| p.date <= cut)
            .copied()
            .collect();
        let heights: Vec<_> = shipped::heights()
            .iter()
            .filter(|p| p.date <= cut)
            .copied()
            .collect();
        let m = market_state_from(&prices, &heights, shipped::epochs(), shipped::fees()).unwrap();
        assert_eq!(m.date.to_string(), "2025-01-20");
        assert!(m.difficulty_current);
        assert_eq!(m.difficulty_epoch, m.epoch_start_height / 2016);
        assert!(m.epoch_elapsed_days >= 0.0 && m.epoch_elapsed_days < 16.0);
        assert!(market_state_from(&[], &heights, shipped::epochs(), &[]).is_none());
    }
}
