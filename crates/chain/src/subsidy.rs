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

/// Mean subsidy in BTC per block over the real-valued height range `[a, a + n)` (MODEL.md
/// section 3, `sub_t`): the range is split exactly at multiples of 210,000 and each piece
/// weighs `length * subsidy_btc(floor(piece start))`. `n <= 0` gives the subsidy at `a`.
pub fn mean_subsidy_btc(a: f64, n: f64) -> f64 {
    let a = a.max(0.0);
    if n.is_nan() || n <= 0.0 {
        return subsidy_btc(a.floor() as u64);
    }
    let z = a + n;
    let mut sum = 0.0;
    let mut start = a;
    // Past the 64th halving every piece weighs zero: stop there. Without this, a range far beyond
    // it (the heights of a far future, or a user's `--height 18446744073709551615`) would walk
    // one 210,000-block piece at a time, effectively forever, and above 2^53 `f64` heights stop
    // advancing at all.
    let last = NO_SUBSIDY_HEIGHT as f64;
    while start < z && start < last {
        let h = start.floor() as u64;
        let end = (next_halving_height(h) as f64).min(z);
        sum += (end - start) * subsidy_btc(h);
        start = end;
    }
    sum / n
}

#[cfg(test)]
mod tests {
    use super::*;

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
    }
}
