//! Compact `nBits` <-> 256-bit target, difficulty and work.
//!
//! Follows Bitcoin Core: `arith_uint256::SetCompact` / `GetCompact` (`src/arith_uint256.cpp`),
//! `GetDifficulty` (`src/rpc/blockchain.cpp`) and `GetBlockProof` (`src/chain.cpp`).
//!
//! Core's `SetCompact` never fails: it returns a number plus two flags, and each caller decides
//! what a negative or overflowing encoding means (`CheckProofOfWorkImpl` and `GetBlockProof`
//! treat both as invalid). [`set_compact`] reproduces that exactly; [`Target::from_compact`] is
//! the checked form for proof of work, where a negative, overflowing or zero encoding is an
//! error, never a silent zero. A zero target is still a valid *decoding* (no flag set, as in
//! Core's arith_uint256_tests): `chain target` reports it as such, with difficulty and work
//! undefined.

use crate::u256::U256;
use crate::ChainError;

/// The mainnet proof-of-work limit as Core stores it (`consensus.powLimit`):
/// `00000000ffffffffffffffffffffffffffffffffffffffffffffffffffffffff`, i.e. `2^224 - 1`.
///
/// Quirk kept from Core: this is *not* the target of `0x1d00ffff` (`0xffff * 2^208`); it is
/// larger, and `GetCompact` of it truncates to `0x1d00ffff`. Comparisons against the limit
/// (`CheckProofOfWorkImpl`, the retarget cap) use this full value.
pub const POW_LIMIT: U256 = U256([u64::MAX, u64::MAX, u64::MAX, 0x0000_0000_ffff_ffff]);

/// `GetCompact(powLimit)` on mainnet: the bits of the genesis block and of difficulty 1.
pub const POW_LIMIT_BITS: u32 = 0x1d00ffff;

/// The raw result of Core's `SetCompact`: the number and the two flags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compact {
    /// The decoded magnitude (garbage-in-garbage-out when `overflow` is set, as in Core: bits
    /// shifted past 2^255 are lost).
    pub value: U256,
    /// The sign bit `0x00800000` was set with a non-zero mantissa.
    pub negative: bool,
    /// The exponent puts a non-zero mantissa above 2^256.
    pub overflow: bool,
}

/// Core `arith_uint256::SetCompact`, flags included, bit for bit.
///
/// `nBits` is a base-256 float: exponent `size = bits >> 24`, 23-bit mantissa
/// `word = bits & 0x007fffff`, sign bit `0x00800000`; value `word * 256^(size - 3)`.
pub fn set_compact(bits: u32) -> Compact {
    let size = bits >> 24;
    let mut word = bits & 0x007f_ffff;
    let value = if size <= 3 {
        word >>= 8 * (3 - size);
        U256::from_u64(word as u64)
    } else {
        U256::from_u64(word as u64).shl_bits(8 * (size - 3))
    };
    let negative = word != 0 && (bits & 0x0080_0000) != 0;
    let overflow =
        word != 0 && (size > 34 || (word > 0xff && size > 33) || (word > 0xffff && size > 32));
    Compact {
        value,
        negative,
        overflow,
    }
}

/// Core `arith_uint256::GetCompact(fNegative)`: the shortest normalised encoding. Never sets
/// the sign bit for a positive number (a mantissa with bit 23 set is shifted into the next
/// exponent); sets it only when `negative` and the mantissa is non-zero.
pub fn get_compact(value: U256, negative: bool) -> u32 {
    let mut size = value.bits().div_ceil(8);
    let mut compact: u32 = if size <= 3 {
        (value.low_u64() << (8 * (3 - size))) as u32
    } else {
        value.shr_bits(8 * (size - 3)).low_u64() as u32
    };
    // The 0x00800000 bit denotes the sign: if the mantissa has it, move one byte up.
    if compact & 0x0080_0000 != 0 {
        compact >>= 8;
        size += 1;
    }
    compact |= size << 24;
    if negative && (compact & 0x007f_ffff) != 0 {
        compact |= 0x0080_0000;
    }
    compact
}

/// Core `GetDifficulty` (`src/rpc/blockchain.cpp`), computed from the bits with its shift loop
/// rather than as `T1 / T`, so it matches Core's floating-point result exactly:
/// `0xffff / mantissa * 256^(29 - exponent)`.
///
/// Quirk kept from Core: the mantissa is `bits & 0x00ffffff`, sign bit included, and a zero
/// mantissa divides by zero (giving `inf`). Use [`Target::from_compact`] first to reject those.
pub fn difficulty(bits: u32) -> f64 {
    let mut shift = (bits >> 24) & 0xff;
    let mut diff = 0x0000_ffff as f64 / (bits & 0x00ff_ffff) as f64;
    while shift < 29 {
        diff *= 256.0;
        shift += 1;
    }
    while shift > 29 {
        diff /= 256.0;
        shift -= 1;
    }
    diff
}

/// Core `GetBlockProof` for a target: the expected number of hashes to find a block,
/// `2^256 / (T + 1)`, computed as `~T / (T + 1) + 1` because 2^256 does not fit in 256 bits.
/// Total for every `T`: for `T = 2^256 - 1` (where `T + 1` wraps) the work is 1; for `T = 0`
/// the true value 2^256 does not fit and wraps to 0, the value Core's `GetBlockProof` returns
/// for a zero target (it rejects zero before dividing).
pub fn work_for_target(target: U256) -> U256 {
    if target == U256::MAX {
        // T + 1 = 2^256 wraps to zero in Core's arithmetic; the true value is 1.
        return U256::ONE;
    }
    let denom = target.wrapping_add(U256::ONE);
    target
        .complement()
        .checked_div(denom)
        .unwrap_or(U256::ZERO)
        .wrapping_add(U256::ONE)
}

/// A validated proof-of-work target: decoded from compact bits that are neither negative, nor
/// overflowing, nor zero.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    bits: u32,
    value: U256,
}

impl Target {
    /// Decodes `bits`, rejecting the encodings Core's `CheckProofOfWorkImpl` and
    /// `GetBlockProof` reject: negative, overflowing and zero targets.
    pub fn from_compact(bits: u32) -> Result<Target, ChainError> {
        let c = set_compact(bits);
        if c.negative {
            return Err(ChainError::NegativeTarget { bits });
        }
        if c.overflow {
            return Err(ChainError::OverflowTarget { bits });
        }
        if c.value.is_zero() {
            return Err(ChainError::ZeroTarget { bits });
        }
        Ok(Target {
            bits,
            value: c.value,
        })
    }

    /// The bits as given (possibly a non-normalised encoding of the same number).
    pub fn bits(&self) -> u32 {
        self.bits
    }

    /// The normalised encoding (Core `GetCompact` of the value).
    pub fn normalized_bits(&self) -> u32 {
        get_compact(self.value, false)
    }

    /// The 256-bit target.
    pub fn value(&self) -> U256 {
        self.value
    }

    /// Core `GetDifficulty` of these bits.
    pub fn difficulty(&self) -> f64 {
        difficulty(self.bits)
    }

    /// Core `GetBlockProof`: `2^256 / (T + 1)`.
    pub fn work(&self) -> U256 {
        work_for_target(self.value)
    }

    /// True when the target is easier than the mainnet pow limit (Core's
    /// `bnTarget > UintToArith256(params.powLimit)` in `CheckProofOfWorkImpl`).
    pub fn above_pow_limit(&self) -> bool {
        self.value > POW_LIMIT
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Bitcoin Core `src/test/arith_uint256_tests.cpp`, `bignum_SetCompact`: (nBits, GetHex,
    /// GetCompact(negative), negative, overflow). The GetCompact column is `GetCompact()` except
    /// where Core calls `GetCompact(true)` (the negative cases).
    const CORE_SET_COMPACT: &[(u32, &str, u32, bool, bool)] = &[
        (0, "0", 0, false, false),
        (0x00123456, "0", 0, false, false),
        (0x01003456, "0", 0, false, false),
        (0x02000056, "0", 0, false, false),
        (0x03000000, "0", 0, false, false),
        (0x04000000, "0", 0, false, false),
        (0x00923456, "0", 0, false, false),
        (0x01803456, "0", 0, false, false),
        (0x02800056, "0", 0, false, false),
        (0x03800000, "0", 0, false, false),
        (0x04800000, "0", 0, false, false),
        (0x01123456, "12", 0x01120000, false, false),
        (0x01fedcba, "7e", 0x01fe0000, true, false),
        (0x02123456, "1234", 0x02123400, false, false),
        (0x03123456, "123456", 0x03123456, false, false),
        (0x04123456, "12345600", 0x04123456, false, false),
        (0x04923456, "12345600", 0x04923456, true, false),
        (0x05009234, "92340000", 0x05009234, false, false),
        (
            0x20123456,
            "1234560000000000000000000000000000000000000000000000000000000000",
            0x20123456,
            false,
            false,
        ),
    ];

    #[test]
    fn core_set_compact_vectors() {
        for &(bits, hex, compact, neg, over) in CORE_SET_COMPACT {
            let c = set_compact(bits);
            assert_eq!(
                c.value,
                U256::from_hex(hex).unwrap(),
                "value of {bits:#010x}"
            );
            assert_eq!(c.negative, neg, "negative flag of {bits:#010x}");
            assert_eq!(c.overflow, over, "overflow flag of {bits:#010x}");
            assert_eq!(
                get_compact(c.value, neg),
                compact,
                "GetCompact of {bits:#010x}"
            );
        }
        // "Make sure that we don't generate compacts with the 0x00800000 bit set"
        assert_eq!(get_compact(U256::from_u64(0x80), false), 0x02008000);
        // 0xff123456: overflow, not negative.
        let c = set_compact(0xff123456);
        assert!(c.overflow && !c.negative);
    }

    #[test]
    fn checked_decoding_rejects_what_core_rejects() {
        assert_eq!(
            Target::from_compact(0x04923456),
            Err(ChainError::NegativeTarget { bits: 0x04923456 })
        );
        assert_eq!(
            Target::from_compact(0xff123456),
            Err(ChainError::OverflowTarget { bits: 0xff123456 })
        );
        assert_eq!(
            Target::from_compact(0x01003456),
            Err(ChainError::ZeroTarget { bits: 0x01003456 })
        );
        // pow_tests CheckProofOfWork_test_overflow_target: nBits = ~0x00800000.
        assert!(matches!(
            Target::from_compact(!0x0080_0000u32),
            Err(ChainError::OverflowTarget { .. })
        ));
        // pow_tests CheckProofOfWork_test_negative_target: GetCompact(powLimit, negative=true).
        let neg = get_compact(POW_LIMIT, true);
        assert_eq!(neg, 0x1d80ffff);
        assert!(matches!(
            Target::from_compact(neg),
            Err(ChainError::NegativeTarget { .. })
        ));
    }

    #[test]
    fn genesis_target_difficulty_and_work() {
        let t = Target::from_compact(0x1d00ffff).unwrap();
        assert_eq!(
            t.value().to_hex(),
            "00000000ffff0000000000000000000000000000000000000000000000000000"
        );
        assert_eq!(t.difficulty(), 1.0);
        // Chain work per early block in Core's chainstate: 0x0100010001.
        assert_eq!(t.work(), U256::from_u64(0x1_0001_0001));
        assert_eq!(get_compact(POW_LIMIT, false), POW_LIMIT_BITS);
        assert!(!t.above_pow_limit());
        // pow_tests CheckProofOfWork_test_too_easy_target: GetCompact(powLimit * 2) is too easy.
        let easy = Target::from_compact(get_compact(POW_LIMIT.shl_bits(1), false)).unwrap();
        assert!(easy.above_pow_limit());
    }

    /// Bitcoin Core `src/test/blockchain_tests.cpp` (`get_difficulty_for_*`), compared as Core
    /// does (`DoubleEquals(..., 0.00001)`), and exactly against the values Core's loop produces.
    #[test]
    fn core_get_difficulty_vectors() {
        let cases = [
            (0x1f111111u32, 0.000001),
            (0x1ef88f6f, 0.000016),
            (0x1df88f6f, 0.004023),
            (0x1cf88f6f, 1.029916),
            (0x12345678, 5913134931067755359633408.0),
        ];
        for (bits, want) in cases {
            let d = difficulty(bits);
            assert!(
                (d - want).abs() < 0.00001 || (d - want).abs() / want < 1e-15,
                "{bits:#x}: {d} vs {want}"
            );
        }
        // The very-high case is an exact double in Core's output.
        assert_eq!(difficulty(0x12345678), 5913134931067755359633408.0);
        // Real mainnet epoch 416 (contains block 840,000): 86,388,558,925,171.02.
        assert!((difficulty(0x17034219) - 86_388_558_925_171.02).abs() < 0.01);
    }

    #[test]
    fn work_matches_exact_quotient() {
        // 2^256 / (T+1) with T = 2^255 - 1 is exactly 2.
        assert_eq!(
            work_for_target(U256::ONE.shl_bits(255).wrapping_sub(U256::ONE)),
            U256::from_u64(2)
        );
        assert_eq!(work_for_target(U256::MAX), U256::ONE);
        assert_eq!(work_for_target(U256::ZERO), U256::ZERO);
    }

    proptest! {
        /// GetCompact(SetCompact(x)) is a fixed point after one normalisation, and decoding the
        /// normalised form gives the same number (Core's round-trip property).
        #[test]
        fn compact_round_trip(exp in 0u32..=34, mantissa in any::<u32>()) {
            let bits = exp << 24 | (mantissa & 0x00ff_ffff);
            let c = set_compact(bits);
            prop_assume!(!c.overflow);
            let norm = get_compact(c.value, c.negative);
            let c2 = set_compact(norm);
            prop_assert_eq!(c2.value, c.value);
            prop_assert_eq!(c2.negative, c.negative);
            prop_assert!(!c2.overflow);
            prop_assert_eq!(get_compact(c2.value, c2.negative), norm);
        }

        /// Encoding any number keeps its top 23 bits (and only drops lower bits).
        #[test]
        fn encoding_truncates_downwards(l in any::<[u64; 4]>(), shift in 0u32..256) {
            let x = U256(l).shr_bits(shift);
            let back = set_compact(get_compact(x, false));
            prop_assert!(!back.negative && !back.overflow);
            prop_assert!(back.value <= x);
            // The dropped part is below one unit of the mantissa's last place (after the
            // sign-bit normalisation, which may move the exponent up one byte).
            let size = get_compact(x, false) >> 24;
            if size > 3 {
                prop_assert!(x.wrapping_sub(back.value) < U256::ONE.shl_bits(8 * (size - 3)));
            } else {
                prop_assert_eq!(back.value, x);
            }
        }

        /// A larger target is easier: less work and lower difficulty.
        #[test]
        fn work_and_difficulty_are_monotone(a in 0x0400_0001u32..0x1d00_ffff, b in 0x0400_0001u32..0x1d00_ffff) {
            let (ta, tb) = (Target::from_compact(a), Target::from_compact(b));
            prop_assume!(ta.is_ok() && tb.is_ok());
            let (ta, tb) = (ta.unwrap(), tb.unwrap());
            if ta.value() < tb.value() {
                prop_assert!(ta.work() >= tb.work());
                prop_assert!(ta.difficulty() >= tb.difficulty());
            }
        }
    }
}
