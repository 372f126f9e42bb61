//! The shipped CSVs (see `data/PROVENANCE.md`), embedded in the binary, and their parsed forms.
//!
//! Parsing happens once per process (cached). The embedded files are fixed at compile time and a
//! test of this crate parses every one of them fully, so the accessors return plain slices.

use std::sync::OnceLock;

use crate::date::Date;
use crate::series::{
    parse_checkpoint_headers, parse_epochs, parse_fees, parse_heights, parse_prices,
    CheckpointHeader, Epoch, FeeDay, HeightPoint, PricePoint,
};

/// `data/btc_price/btc_usd_daily_close.csv`.
pub const PRICE_CSV: &str = include_str!("../../../data/btc_price/btc_usd_daily_close.csv");
/// `data/btc_price/btc_block_height_by_date.csv`.
pub const HEIGHTS_CSV: &str = include_str!("../../../data/btc_price/btc_block_height_by_date.csv");
/// `data/btc_chain/difficulty_epochs.csv`.
pub const EPOCHS_CSV: &str = include_str!("../../../data/btc_chain/difficulty_epochs.csv");
/// `data/btc_chain/bitcoinj_checkpoint_headers.csv`.
pub const CHECKPOINT_HEADERS_CSV: &str =
    include_str!("../../../data/btc_chain/bitcoinj_checkpoint_headers.csv");
/// `data/btc_fees/fees_btc_per_day_merged.csv`.
pub const FEES_MERGED_CSV: &str =
    include_str!("../../../data/btc_fees/fees_btc_per_day_merged.csv");
/// `data/btc_fees/getblockstats_daily_from_windows.csv`.
pub const FEES_BLOCKSTATS_CSV: &str =
    include_str!("../../../data/btc_fees/getblockstats_daily_from_windows.csv");
/// `data/ai_hpc/announced_leases.csv`.
pub const LEASES_CSV: &str = include_str!("../../../data/ai_hpc/announced_leases.csv");
/// `data/asic/asic_nameplate_specs_compiled.csv`.
pub const ASIC_SPECS_CSV: &str =
    include_str!("../../../data/asic/asic_nameplate_specs_compiled.csv");
/// `data/btc_network/bitcoinvisuals_daily_hashrate_subsidy_interval.csv`.
pub const HASHRATE_DAILY_CSV: &str =
    include_str!("../../../data/btc_network/bitcoinvisuals_daily_hashrate_subsidy_interval.csv");

/// From this date on, the upstream price file holds the *previous* UTC day's close under each date.
///
/// Why: the upstream (a Zorinaq chart clone) switched source here — values drop from 6 to 2
/// decimals — and the new source stamps each value with the day it was taken, 00:00 UTC. Checked
/// against the blockchain.com market price in `btc_fees/blockchain_com_daily_fees_2024_2025.csv`
/// (which is the same one-day-late quantity throughout) and against exchange closes: 2025-03-02
/// closed at ≈$94,250 and 2025-03-03 at ≈$86,070, which the file lists under 2025-03-03 and
/// 2025-03-04. Before this date the file's values are same-day closes (2024-12-23: $94,736).
pub const PRICE_SHIFT_FROM: (i32, u32, u32) = (2025, 2, 7);

/// The upstream price file as written (no correction).
pub fn prices_raw() -> &'static [PricePoint] {
    static P: OnceLock<Vec<PricePoint>> = OnceLock::new();
    P.get_or_init(|| parse_prices(PRICE_CSV, "btc_usd_daily_close.csv").unwrap_or_default())
}

/// Daily UTC closes, corrected for the upstream's one-day shift (see [`PRICE_SHIFT_FROM`]):
/// rows dated on or after the shift move back one day, and the single row that then has no close
/// (2025-02-06, an intraday value) is replaced. The series has no gaps and ends one day before the
/// raw file.
pub fn prices() -> &'static [PricePoint] {
    static P: OnceLock<Vec<PricePoint>> = OnceLock::new();
    P.get_or_init(|| correct_price_shift(prices_raw()))
}

/// Applies the [`PRICE_SHIFT_FROM`] correction to a raw series (public for the store's import).
pub fn correct_price_shift(raw: &[PricePoint]) -> Vec<PricePoint> {
    let (y, m, d) = PRICE_SHIFT_FROM;
    let shift = Date::from_ymd(y, m, d).unwrap_or(Date::from_days(i32::MAX));
    let mut out: Vec<PricePoint> = raw
        .iter()
        .filter(|p| p.date < shift.add_days(-1))
        .copied()
        .collect();
    out.extend(raw.iter().filter(|p| p.date >= shift).map(|p| PricePoint {
        date: p.date.add_days(-1),
        close_usd: p.close_usd,
    }));
    out
}

/// The chain height estimated for `day`: the last shipped height plus 144 blocks (the target
/// rate, one per ten minutes) for each day after it (fewer before it), never below 0.
///
/// The subsidy, and so the hashprice, depends on the height only across a halving, so a few days'
/// drift of the real chain from 144 a day does not matter outside the days around one.
pub fn estimated_height(day: Date) -> u64 {
    let Some(last) = heights().last() else {
        return 0;
    };
    let h = i64::from(last.height) + 144 * i64::from(day.days_since(last.date));
    h.max(0) as u64
}

/// Chain height at 00:00 America/Los_Angeles of each day.
pub fn heights() -> &'static [HeightPoint] {
    static P: OnceLock<Vec<HeightPoint>> = OnceLock::new();
    P.get_or_init(|| parse_heights(HEIGHTS_CSV, "btc_block_height_by_date.csv").unwrap_or_default())
}

/// Difficulty epochs 0..=473. Epochs after the last bitcoinj header (437 on) come from Electrum
/// checkpoints alone and are not independently verified (PROVENANCE.md §2).
pub fn epochs() -> &'static [Epoch] {
    static P: OnceLock<Vec<Epoch>> = OnceLock::new();
    P.get_or_init(|| parse_epochs(EPOCHS_CSV, "difficulty_epochs.csv").unwrap_or_default())
}

/// The 436 decoded retarget headers (heights 2016 … 878976).
pub fn checkpoint_headers() -> &'static [CheckpointHeader] {
    static P: OnceLock<Vec<CheckpointHeader>> = OnceLock::new();
    P.get_or_init(|| {
        parse_checkpoint_headers(CHECKPOINT_HEADERS_CSV, "bitcoinj_checkpoint_headers.csv")
            .unwrap_or_default()
    })
}

/// Daily fees: the merged series, with the block count of each day where getblockstats sums exist.
/// Not continuous (PROVENANCE.md §3): daily to 2021-05-07, then windows and 4-day samples.
pub fn fees() -> &'static [FeeDay] {
    static P: OnceLock<Vec<FeeDay>> = OnceLock::new();
    P.get_or_init(|| {
        let mut merged =
            parse_fees(FEES_MERGED_CSV, "fees_btc_per_day_merged.csv", true).unwrap_or_default();
        let stats = parse_fees(
            FEES_BLOCKSTATS_CSV,
            "getblockstats_daily_from_windows.csv",
            true,
        )
        .unwrap_or_default();
        let mut j = 0;
        for f in merged.iter_mut() {
            while j < stats.len() && stats[j].date < f.date {
                j += 1;
            }
            // Only attach the count when the merged value *is* the getblockstats sum.
            if j < stats.len() && stats[j].date == f.date && f.source.starts_with("getblockstats") {
                f.blocks = stats[j].blocks;
            }
        }
        merged
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn every_shipped_file_parses_fully() {
        parse_prices(PRICE_CSV, "p").unwrap();
        parse_heights(HEIGHTS_CSV, "h").unwrap();
        parse_epochs(EPOCHS_CSV, "e").unwrap();
        parse_checkpoint_headers(CHECKPOINT_HEADERS_CSV, "c").unwrap();
        parse_fees(FEES_MERGED_CSV, "f", false).unwrap();
        parse_fees(FEES_BLOCKSTATS_CSV, "g", false).unwrap();
        assert_eq!(prices_raw().len(), 6166);
        assert_eq!(heights().len(), 6167);
        assert_eq!(epochs().len(), 474);
        assert_eq!(checkpoint_headers().len(), 436);
        assert_eq!(fees().len(), 5456);
    }

    #[test]
    fn provenance_anchors() {
        // PROVENANCE.md verification anchors.
        let p = prices().iter().find(|p| p.date == d("2024-04-20")).unwrap();
        assert!((p.close_usd - 64_976.53).abs() < 0.01);
        let e = &epochs()[416];
        assert_eq!((e.start_height, e.end_height()), (838_656, 840_671));
        assert!((e.difficulty - 86_388_558_925_171.02).abs() < 0.01);
        assert_eq!(epochs()[0].bits, Some(0x1d00ffff));
        assert_eq!(epochs()[0].difficulty, 1.0);
        let f = fees().iter().find(|f| f.date == d("2024-04-20")).unwrap();
        assert!((f.fees_btc - 1257.7).abs() < 0.1, "{}", f.fees_btc);
        let h = heights()
            .iter()
            .find(|h| h.date == d("2024-04-20"))
            .unwrap();
        assert_eq!(h.height, 840_042);
        // getblockstats days carry their block count.
        let g = fees().iter().find(|f| f.date == d("2026-01-31")).unwrap();
        assert_eq!(g.blocks, Some(138));
    }

    #[test]
    fn price_shift_is_corrected() {
        let p = prices();
        let at = |s: &str| p.iter().find(|x| x.date == d(s)).unwrap().close_usd;
        // Same-day closes before the shift are untouched.
        assert_eq!(at("2024-12-23"), 94_736.290636);
        assert_eq!(at("2025-02-05"), 96_613.881091);
        // After it, each value moves back a day: 2025-03-02 closed ≈ 94.25k, 2025-03-03 ≈ 86.07k.
        assert_eq!(at("2025-02-06"), 96_564.27);
        assert_eq!(at("2025-03-02"), 94_275.76);
        assert_eq!(at("2025-03-03"), 86_158.95);
        // No gaps, no duplicates.
        for w in p.windows(2) {
            assert_eq!(w[1].date.days_since(w[0].date), 1, "{}", w[0].date);
        }
        assert_eq!(p.last().unwrap().date, d("2026-08-21"));
    }
}
