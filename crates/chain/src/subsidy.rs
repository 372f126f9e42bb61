//! Block subsidy: Bitcoin Core `GetBlockSubsidy` (`src/validation.cpp`).

/// Satoshis per bitcoin (Core `COIN`).
pub const COIN: u64 = 100_000_000;

/// Blocks between halvings on mainnet (`consensus.nSubsidyHalvingInterval`).
pub const HALVING_INTERVAL: u64 = 210_000;

/// The first subsidy, 50 BTC in satoshis.
pub const INITIAL_SUBSIDY_SAT: u64 = 50 * COIN;

/// Mainnet block subsidy in satoshis at `height`.
///
/// `halvings = height / 210000`; Core forces 0 once `halvings >= 64` because shifting a 64-bit
/// value by 64 or more is undefined in C++ (the subsidy is already 0 from halving 33 on, when
/// 50e8 >> 33 rounds down to zero).
pub fn subsidy_sat(height: u64) -> u64 {
    subsidy_sat_with_interval(height, HALVING_INTERVAL)
}

/// `subsidy_sat` with another halving interval (Core's tests use 150, regtest's value, and
/// 1000). `interval` must be non-zero; zero is treated as "already past every halving" (0).
pub fn subsidy_sat_with_interval(height: u64, interval: u64) -> u64 {
    if interval == 0 {
        return 0;
    }
    let halvings = height / interval;
    if halvings >= 64 {
        return 0;
    }
    INITIAL_SUBSIDY_SAT >> halvings
}

/// Mainnet block subsidy in BTC (`subsidy_sat / 1e8`, MODEL.md section 1).
pub fn subsidy_btc(height: u64) -> f64 {
    subsidy_sat(height) as f64 / COIN as f64
}

/// The first height of the next halving strictly after `height`.
///
/// Saturates at `u64::MAX` in the last, incomplete interval below `u64::MAX` (from height
/// 18,446,744,073,709,410,000 on), where the next multiple of 210,000 does not fit in 64 bits;
/// the subsidy is long zero there (from the 33rd halving), so no caller can tell the difference.
pub fn next_halving_height(height: u64) -> u64 {
    (height / HALVING_INTERVAL + 1).saturating_mul(HALVING_INTERVAL)
}

/// The height of the 64th halving, from which Core's `GetBlockSubsidy` is 0 by definition (it is
/// already 0 from the 33rd, when `50e8 >> 33` rounds down to zero).
pub const NO_SUBSIDY_HEIGHT: u64 = 64 * HALVING_INTERVAL;

/// The pieces of the real-valued height range `[a, a + n)` between halvings, in order: `(blocks,
/// subsidy in satoshis)` for each, the subsidy of the piece's first height (MODEL.md section 3,
/// `sub_t`). The one place a range is split at multiples of 210,000; a negative `a` starts at 0,
/// and no piece starts at or past the 64th halving (the subsidy is zero there). Callers weigh the
/// pieces: [`mean_subsidy_btc`] here, the history's hashprice in `hashpivot-data`.
///
/// ```
/// use hashpivot_chain::subsidy_pieces;
/// let p: Vec<(f64, u64)> = subsidy_pieces(1_049_900.0, 144.0).collect();
/// assert_eq!(p, vec![(100.0, 312_500_000), (44.0, 156_250_000)]);
/// ```
pub fn subsidy_pieces(a: f64, n: f64) -> impl Iterator<Item = (f64, u64)> {
    let mut start = a.max(0.0);
    let z = start + n;
    // Past the 64th halving every piece weighs zero: stop there. Without this, a range far beyond
    // it (the heights of a far future, or a user's `--height 18446744073709551615`) would walk
    // one 210,000-block piece at a time, effectively forever, and above 2^53 `f64` heights stop
    // advancing at all.
    let last = NO_SUBSIDY_HEIGHT as f64;
    std::iter::from_fn(move || {
        if !(start < z && start < last) {
            return None;
        }
        let h = start.floor() as u64;
        let end = (next_halving_height(h) as f64).min(z);
        let piece = (end - start, subsidy_sat(h));
        start = end;
        Some(piece)
    })
}

/// Mean subsidy in BTC per block over the real-valued height range `[a, a + n)` (MODEL.md
/// section 3, `sub_t`): the pieces of [`subsidy_pieces`], each weighing `length *
/// subsidy_btc(piece start)`, over `n`. `n <= 0` gives the subsidy at `a`.
pub fn mean_subsidy_btc(a: f64, n: f64) -> f64 {
    let a = a.max(0.0);
    if n.is_nan() || n <= 0.0 {
        return subsidy_btc(a.floor() as u64);
    }
    let mut sum = 0.0;
    for (blocks, sat) in subsidy_pieces(a, n) {
        sum += blocks * (sat as f64 / COIN as f64);
    }
    sum / n
}

/// Difficulty, as a real number (Core's `GetDifficulty`: the ratio of the proof-of-work limit to
/// the block's target). A newtype so it cannot be swapped with a [`BtcPerBlock`].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Difficulty(pub f64);

/// Reward per block (subsidy plus fees), BTC. A newtype so it cannot be swapped with a
/// [`Difficulty`].
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct BtcPerBlock(pub f64);

/// Expected hashes per unit of difficulty, `2^32`.
pub const HASHES_PER_DIFFICULTY: f64 = 4_294_967_296.0;

/// Hashvalue: expected BTC per PH/s per day, `86400 · 1e15 · R / (D · 2^32)` (MODEL.md section 2):
/// a PH/s finds `86400 · 1e15 / (D · 2^32)` blocks a day at difficulty `D`, each paying `R`.
///
/// The one owner of this formula; `data::hashprice`, `model::machine` and the CLI call it. (The
/// engine's lane loop computes the same quantity as `R · K / D` with `K` hoisted out of the daily
/// loop, see `model::engine`.) No checks: a zero difficulty gives `inf`, callers validate.
///
/// ```
/// use hashpivot_chain::{hashvalue_btc_per_ph_day, BtcPerBlock, Difficulty};
/// // Difficulty 1 and 50 BTC per block: 86400e15 · 50 / 2^32 BTC per PH/s per day.
/// let hv = hashvalue_btc_per_ph_day(BtcPerBlock(50.0), Difficulty(1.0));
/// assert_eq!(hv, 86_400.0 * 1e15 * 50.0 / 4_294_967_296.0);
/// ```
#[inline]
pub fn hashvalue_btc_per_ph_day(reward: BtcPerBlock, difficulty: Difficulty) -> f64 {
    86_400.0 * 1e15 * reward.0 / (difficulty.0 * HASHES_PER_DIFFICULTY)
}

/// The network hashrate, EH/s, at which blocks come every 600 s at difficulty `D`:
/// `D · 2^32 / 600 / 1e18` (the hashrate a difficulty implies; MODEL.md section 3's `H_0` when the
/// scenario gives none). The one owner of this conversion.
///
/// ```
/// use hashpivot_chain::{implied_hashrate_ehs, Difficulty};
/// // Difficulty 1e14: 1e14 · 2^32 / 600 hashes a second = 715.8 EH/s.
/// let h = implied_hashrate_ehs(Difficulty(1e14));
/// assert_eq!(h, 1e14 * 4_294_967_296.0 / 600.0 / 1e18);
/// ```
#[inline]
pub fn implied_hashrate_ehs(difficulty: Difficulty) -> f64 {
    difficulty.0 * HASHES_PER_DIFFICULTY / 600.0 / 1e18
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashvalue_is_reward_over_difficulty() {
        // At difficulty 1 one hash in 2^32 finds a block: a PH/s finds 1e15 · 86400 / 2^32 a day.
        let hv = hashvalue_btc_per_ph_day(BtcPerBlock(1.0), Difficulty(1.0));
        assert!((hv - 86_400.0e15 / 2f64.powi(32)).abs() < 1e-3);
        // Twice the difficulty halves it; twice the reward doubles it.
        let a = hashvalue_btc_per_ph_day(BtcPerBlock(3.125), Difficulty(1e14));
        assert_eq!(
            hashvalue_btc_per_ph_day(BtcPerBlock(3.125), Difficulty(2e14)),
            a / 2.0
        );
        assert_eq!(
            hashvalue_btc_per_ph_day(BtcPerBlock(6.25), Difficulty(1e14)),
            a * 2.0
        );
    }

    /// Bitcoin Core `src/test/validation_tests.cpp` `TestBlockSubsidyHalvings`.
    fn core_halvings(interval: u64) {
        let max_halvings = 64;
        let initial = 50 * COIN;
        let mut previous = initial * 2;
        for halvings in 0..max_halvings {
            let height = halvings * interval;
            let s = subsidy_sat_with_interval(height, interval);
            assert!(s <= initial);
            assert_eq!(s, previous / 2, "halving {halvings}");
            previous = s;
        }
        assert_eq!(
            subsidy_sat_with_interval(max_halvings * interval, interval),
            0
        );
    }

    /// `block_subsidy_test`: mainnet, regtest (150) and another interval (1000).
    #[test]
    fn core_block_subsidy_test() {
        core_halvings(HALVING_INTERVAL);
        core_halvings(150);
        core_halvings(1000);
    }

    /// `subsidy_limit_test`: total issuance 2,099,999,997,690,000 sat.
    #[test]
    fn core_subsidy_limit_test() {
        let mut sum: u64 = 0;
        let mut height = 0;
        while height < 14_000_000 {
            let s = subsidy_sat(height);
            assert!(s <= 50 * COIN);
            sum += s * 1000;
            assert!(sum <= 21_000_000 * COIN, "MoneyRange");
            height += 1000;
        }
        assert_eq!(sum, 2_099_999_997_690_000);
    }

    #[test]
    fn known_heights() {
        assert_eq!(subsidy_sat(0), 5_000_000_000);
        assert_eq!(subsidy_sat(209_999), 5_000_000_000);
        assert_eq!(subsidy_sat(210_000), 2_500_000_000);
        assert_eq!(subsidy_sat(839_999), 625_000_000);
        assert_eq!(subsidy_sat(840_000), 312_500_000);
        assert_eq!(subsidy_sat(1_050_000), 156_250_000);
        assert_eq!(subsidy_sat(6_929_999), 1); // halving 32: 5e9 >> 32 = 1 sat
        assert_eq!(subsidy_sat(6_930_000), 0); // halving 33
        assert_eq!(subsidy_sat(64 * 210_000), 0);
        assert_eq!(subsidy_sat(u64::MAX), 0);
        assert_eq!(subsidy_btc(840_000), 3.125);
        assert_eq!(next_halving_height(840_000), 1_050_000);
        assert_eq!(next_halving_height(839_999), 840_000);
    }

    /// Regression (hardening fuzz): `next_halving_height(u64::MAX)` overflowed (a panic in debug
    /// builds, reached by `hashpivot machine --height 18446744073709551615`), and
    /// `mean_subsidy_btc` at heights far beyond the last halving looped for hours.
    #[test]
    fn extreme_heights_are_total_and_fast() {
        assert_eq!(next_halving_height(u64::MAX), u64::MAX);
        assert_eq!(next_halving_height(u64::MAX - 1), u64::MAX);
        let last_full = u64::MAX / HALVING_INTERVAL * HALVING_INTERVAL;
        assert_eq!(next_halving_height(last_full - 1), last_full);
        assert_eq!(mean_subsidy_btc(u64::MAX as f64, 144.0), 0.0);
        assert_eq!(mean_subsidy_btc(1e17, 144.0), 0.0);
        // All 21 million BTC spread over 1e300 blocks.
        assert!((mean_subsidy_btc(0.0, 1e300) - 2.09999999769e-293).abs() < 1e-303);
        assert_eq!(mean_subsidy_btc(f64::INFINITY, 144.0), 0.0);
        assert_eq!(mean_subsidy_btc(f64::NAN, 144.0), 50.0);
        // The whole issuance, 0 to infinity: 21 million BTC less Core's rounding, over n blocks.
        let n = 1e12;
        let total = mean_subsidy_btc(0.0, n) * n;
        assert!((total - 20_999_999.976_9).abs() < 1e-3, "{total}");
        let (a, b) = (NO_SUBSIDY_HEIGHT as f64 - 100.0, 200.0);
        assert_eq!(mean_subsidy_btc(a, b), 0.0);
    }

    #[test]
    fn mean_subsidy_splits_at_halvings() {
        assert_eq!(mean_subsidy_btc(900_000.0, 144.0), 3.125);
        // Half the day before 1,050,000, half after.
        assert_eq!(mean_subsidy_btc(1_049_928.0, 144.0), (3.125 + 1.5625) / 2.0);
        assert_eq!(mean_subsidy_btc(1_049_999.5, 1.0), (3.125 + 1.5625) / 2.0);
        assert_eq!(mean_subsidy_btc(5.0, 0.0), 50.0);
        // 144 blocks from 1,049,900: 100 at 3.125 and 44 at 1.5625.
        let m = mean_subsidy_btc(1_049_900.0, 144.0);
        assert!(
            (m - (100.0 * 3.125 + 44.0 * 1.5625) / 144.0).abs() < 1e-12,
            "{m}"
        );
        // Spanning two halvings (an absurd hashrate): three pieces.
        let m = mean_subsidy_btc(1_049_000.0, 212_000.0);
        let want = (1000.0 * 3.125 + 210_000.0 * 1.5625 + 1000.0 * 0.78125) / 212_000.0;
        assert!((m - want).abs() < 1e-12, "{m} {want}");
    }
}
