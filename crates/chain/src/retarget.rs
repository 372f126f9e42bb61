//! The mainnet difficulty retarget: Bitcoin Core `GetNextWorkRequired`,
//! `CalculateNextWorkRequired` and `PermittedDifficultyTransition` (`src/pow.cpp`).
//!
//! Mainnet only: no testnet minimum-difficulty rule, no BIP94, no `fPowNoRetargeting`.
//!
//! Quirks kept from Core, not fixed:
//! - **Off by one** ("time warp" bug): the actual timespan is measured from the *first* block of
//!   the interval to the last, `time(last) - time(last - 2015)`, i.e. across 2015 block
//!   intervals, but compared with the 2016-interval target timespan of 1,209,600 s.
//! - **Truncation**: `new = old * actual / 1209600` is done in 256-bit integers, multiplication
//!   first, truncating the division, then truncated again by `GetCompact`.
//! - **Pow-limit cap at the full powLimit** (`2^224 - 1`, not the target of `0x1d00ffff`); the
//!   capped value encodes to `0x1d00ffff` anyway because `GetCompact` truncates.
//! - **No overflow check**: Core multiplies in wrapping 256-bit arithmetic. For mainnet bits
//!   (target <= powLimit < 2^224) times at most 4 * 1209600 < 2^23 there is no overflow (Core's
//!   `sanity_check_chainparams` asserts exactly this); [`calculate_next_work_required`] refuses
//!   bits above the pow limit instead of wrapping.
//! - **No pow-limit shift**: Litecoin (and some other forks) shift the target right by one bit
//!   before multiplying when it is close to the pow limit (`fShift`, "intermediate uint256 can
//!   overflow by 1 bit") and back afterwards, which drops the lowest bit. Bitcoin Core has never
//!   done this; neither does this crate, so results can differ from such forks in the last bit.

use crate::compact::{get_compact, set_compact, Target, POW_LIMIT};
use crate::u256::U256;
use crate::ChainError;

/// Blocks per difficulty interval (`DifficultyAdjustmentInterval()` = 1209600 / 600).
pub const RETARGET_INTERVAL: u64 = 2016;
/// Target timespan of one interval in seconds (`consensus.nPowTargetTimespan`, two weeks).
pub const TARGET_TIMESPAN: i64 = 14 * 24 * 60 * 60;
/// Target seconds per block (`consensus.nPowTargetSpacing`).
pub const TARGET_SPACING: i64 = 600;

/// The actual timespan after Core's clamp to `[TARGET_TIMESPAN / 4, TARGET_TIMESPAN * 4]`.
pub fn clamp_timespan(actual: i64) -> i64 {
    actual.clamp(TARGET_TIMESPAN / 4, TARGET_TIMESPAN * 4)
}

/// Core `CalculateNextWorkRequired(pindexLast, nFirstBlockTime, params)`: the bits of the first
/// block of the next interval, given the bits of the last block of this interval and the
/// timestamps of this interval's first and last blocks (`first` is 2015 blocks before `last`:
/// Core's off-by-one, see the module docs).
///
/// Errors when `last_bits` is not a valid mainnet target (negative, overflowing, zero, or above
/// the pow limit): no mainnet block can carry such bits, and Core's arithmetic on them is
/// meaningless (it would wrap).
pub fn calculate_next_work_required(
    last_bits: u32,
    first_time: i64,
    last_time: i64,
) -> Result<u32, ChainError> {
    let old = Target::from_compact(last_bits)?;
    if old.above_pow_limit() {
        return Err(ChainError::AbovePowLimit { bits: last_bits });
    }
    // Saturating: the clamp makes the result exact for any pair of i64 times (a wrapped or
    // panicking subtraction would not be; Core's times are 32-bit, so it never meets this).
    let actual = clamp_timespan(last_time.saturating_sub(first_time));
    // bnNew.SetCompact(pindexLast->nBits); bnNew *= nActualTimespan; bnNew /= nPowTargetTimespan;
    let (product, overflow) = old.value().overflowing_mul_u64(actual as u64);
    debug_assert!(!overflow, "powLimit * 4 * timespan fits in 256 bits");
    let mut new = product
        .div_rem_u64(TARGET_TIMESPAN as u64)
        .map(|(q, _)| q)
        .unwrap_or(U256::ZERO);
    if new > POW_LIMIT {
        new = POW_LIMIT;
    }
    Ok(get_compact(new, false))
}

/// Core `GetNextWorkRequired` for mainnet: the bits required of the block at `height`
/// (`pindexLast` is at `height - 1`). Between retargets it is the previous block's bits; at a
/// retarget height (`height % 2016 == 0`) it needs the timestamp of block `height - 2016`
/// (the first of the closing interval) and of block `height - 1`.
pub fn next_work_required(
    height: u64,
    prev_bits: u32,
    interval_first_time: Option<i64>,
    prev_time: i64,
) -> Result<u32, ChainError> {
    if height == 0 || !height.is_multiple_of(RETARGET_INTERVAL) {
        return Ok(prev_bits);
    }
    let first = interval_first_time.ok_or(ChainError::MissingIntervalStart { height })?;
    calculate_next_work_required(prev_bits, first, prev_time)
}

/// The largest and smallest targets a retarget from `old_bits` may produce, each rounded
/// through `GetCompact` as Core does (`PermittedDifficultyTransition`).
fn transition_bounds(old_bits: u32) -> (U256, U256) {
    let old = set_compact(old_bits).value;
    let bound = |timespan: i64| {
        let (p, _) = old.overflowing_mul_u64(timespan as u64);
        let mut t = p
            .div_rem_u64(TARGET_TIMESPAN as u64)
            .map(|(q, _)| q)
            .unwrap_or(U256::ZERO);
        if t > POW_LIMIT {
            t = POW_LIMIT;
        }
        // "Round and then compare this new calculated value to what is observed."
        set_compact(get_compact(t, false)).value
    };
    (bound(TARGET_TIMESPAN * 4), bound(TARGET_TIMESPAN / 4))
}

/// Core `PermittedDifficultyTransition(params, height, old_nbits, new_nbits)` for mainnet:
/// between retargets the bits must not change; at a retarget height the new target must lie
/// within what a clamped timespan (factor 4 either way, pow-limit cap, compact rounding) can
/// produce from the old bits. It bounds the change; it does not need timestamps.
pub fn permitted_difficulty_transition(height: u64, old_bits: u32, new_bits: u32) -> bool {
    if height.is_multiple_of(RETARGET_INTERVAL) {
        let observed = set_compact(new_bits).value;
        let (largest, smallest) = transition_bounds(old_bits);
        if largest < observed {
            return false;
        }
        if smallest > observed {
            return false;
        }
        true
    } else {
        old_bits == new_bits
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compact::POW_LIMIT_BITS;

    /// Regression (hardening fuzz): `last_time - first_time` overflowed for extreme `i64` times
    /// (a panic in debug builds). The clamp makes the saturated difference exact.
    #[test]
    fn extreme_times_clamp_instead_of_overflowing() {
        let at_max_span = calculate_next_work_required(0x1b0404cb, 0, TARGET_TIMESPAN * 4).unwrap();
        let at_min_span = calculate_next_work_required(0x1b0404cb, 0, TARGET_TIMESPAN / 4).unwrap();
        assert_eq!(
            calculate_next_work_required(0x1b0404cb, i64::MIN, i64::MAX).unwrap(),
            at_max_span
        );
        assert_eq!(
            calculate_next_work_required(0x1b0404cb, i64::MAX, i64::MIN).unwrap(),
            at_min_span
        );
        assert_eq!(
            next_work_required(2016, 0x1b0404cb, Some(i64::MIN), i64::MAX).unwrap(),
            at_max_span
        );
    }

    /// Bitcoin Core `src/test/pow_tests.cpp`: (name, first time, last height, last time,
    /// last bits, expected bits, an invalid neighbour of the expected bits if Core tests one).
    type PowCase = (&'static str, i64, u64, i64, u32, u32, Option<u32>);
    const CORE_POW_TESTS: &[PowCase] = &[
        // get_next_work: no constraint applies (block #30240 .. #32255).
        (
            "get_next_work",
            1261130161,
            32255,
            1262152739,
            0x1d00ffff,
            0x1d00d86a,
            None,
        ),
        // get_next_work_pow_limit: capped at the pow limit (block #0 .. #2015).
        (
            "get_next_work_pow_limit",
            1231006505,
            2015,
            1233061996,
            0x1d00ffff,
            0x1d00ffff,
            None,
        ),
        // get_next_work_lower_limit_actual: timespan clamped to /4 (blocks #66528 .. #68543);
        // "reducing nbits further would not be a PermittedDifficultyTransition".
        (
            "get_next_work_lower_limit_actual",
            1279008237,
            68543,
            1279297671,
            0x1c05a3f4,
            0x1c0168fd,
            Some(0x1c0168fd - 1),
        ),
        // get_next_work_upper_limit_actual: timespan clamped to x4 ("not an actual block time");
        // "increasing nbits further would not be a PermittedDifficultyTransition".
        (
            "get_next_work_upper_limit_actual",
            1263163443,
            46367,
            1269211443,
            0x1c387f6f,
            0x1d00e1fd,
            Some(0x1d00e1fd + 1),
        ),
    ];

    #[test]
    fn core_pow_tests_vectors() {
        for &(name, first, last_h, last_t, bits, want, invalid) in CORE_POW_TESTS {
            assert_eq!(
                calculate_next_work_required(bits, first, last_t),
                Ok(want),
                "{name}"
            );
            assert_eq!(
                next_work_required(last_h + 1, bits, Some(first), last_t),
                Ok(want),
                "{name} via GetNextWorkRequired"
            );
            assert!(
                permitted_difficulty_transition(last_h + 1, bits, want),
                "{name}"
            );
            if let Some(bad) = invalid {
                assert!(
                    !permitted_difficulty_transition(last_h + 1, bits, bad),
                    "{name} invalid"
                );
            }
        }
    }

    #[test]
    fn off_by_one_timespan_is_kept() {
        // 2015 intervals of exactly 600 s: Core measures 1,209,000 s against 1,209,600 s and
        // raises the difficulty slightly, instead of leaving it unchanged.
        let bits = 0x1b0404cb;
        let next = calculate_next_work_required(bits, 0, 2015 * 600).unwrap();
        let t_old = set_compact(bits).value;
        let t_new = set_compact(next).value;
        assert!(t_new < t_old);
        let want = get_compact(
            t_old
                .overflowing_mul_u64(2015 * 600)
                .0
                .div_rem_u64(1209600)
                .unwrap()
                .0,
            false,
        );
        assert_eq!(next, want);
        // With the full 2016 intervals the target would be unchanged.
        assert_eq!(
            calculate_next_work_required(bits, 0, 2016 * 600).unwrap(),
            bits
        );
    }

    #[test]
    fn not_a_retarget_height_keeps_bits() {
        assert_eq!(
            next_work_required(2015, 0x1c05a3f4, None, 0),
            Ok(0x1c05a3f4)
        );
        assert_eq!(
            next_work_required(4032, 0x1d00ffff, None, 0),
            Err(ChainError::MissingIntervalStart { height: 4032 })
        );
        assert!(permitted_difficulty_transition(
            2017, 0x1d00ffff, 0x1d00ffff
        ));
        assert!(!permitted_difficulty_transition(
            2017, 0x1d00ffff, 0x1d00fffe
        ));
    }

    #[test]
    fn invalid_last_bits_are_errors() {
        assert!(matches!(
            calculate_next_work_required(0x1d80ffff, 0, 1),
            Err(ChainError::NegativeTarget { .. })
        ));
        assert!(matches!(
            calculate_next_work_required(0x207fffff, 0, 1),
            Err(ChainError::AbovePowLimit { .. })
        ));
        assert_eq!(POW_LIMIT_BITS, 0x1d00ffff);
    }
}
