//! Bitcoin consensus arithmetic exactly as Bitcoin Core does it (mainnet): block subsidy,
//! compact `nBits` <-> 256-bit targets, difficulty and work, the 2016-block retarget and the
//! permitted-transition check, 80-byte headers with SHA-256d and proof of work, and the
//! verification of header chains. No I/O.
//!
//! Each function names the Core function it follows (`src/pow.cpp`, `src/arith_uint256.cpp`,
//! `src/validation.cpp`, `src/chain.cpp`, `src/rpc/blockchain.cpp`) and documents Core's quirks
//! (the 2015-interval timespan, the full-width pow limit, truncating arithmetic) instead of fixing
//! them. The tests use Core's own vectors (`arith_uint256_tests`, `blockchain_tests`,
//! `pow_tests`, `validation_tests`), the first 16 real mainnet headers and the 436 real retarget
//! headers of bitcoinj's checkpoint file.

pub mod compact;
pub mod header;
pub mod retarget;
pub mod subsidy;
pub mod u256;
pub mod verify;

pub use compact::{
    difficulty, get_compact, set_compact, Compact, Target, POW_LIMIT, POW_LIMIT_BITS,
};
pub use header::{check_proof_of_work, sha256d, Hash256, Header, GENESIS_HASH_HEX, HEADER_SIZE};
pub use retarget::{
    calculate_next_work_required, next_work_required, permitted_difficulty_transition,
    RETARGET_INTERVAL, TARGET_SPACING, TARGET_TIMESPAN,
};
pub use subsidy::{
    hashvalue_btc_per_ph_day, implied_hashrate_ehs, mean_subsidy_btc, next_halving_height,
    subsidy_btc, subsidy_pieces, subsidy_sat, BtcPerBlock, Difficulty, COIN, HALVING_INTERVAL,
    HASHES_PER_DIFFICULTY, NO_SUBSIDY_HEIGHT,
};
pub use u256::U256;
pub use verify::{
    parse_headers_file, verify_chain, verify_chain_with_progress, verify_checkpoints, Failure,
    Mode, Report,
};

/// Errors of the consensus functions. Messages name the offending value and what is allowed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ChainError {
    /// Core `SetCompact` set `fNegative`.
    #[error("nBits 0x{bits:08x} is negative (sign bit 0x00800000 set with a non-zero mantissa); a target must be positive")]
    NegativeTarget {
        /// The bits.
        bits: u32,
    },
    /// Core `SetCompact` set `fOverflow`.
    #[error("nBits 0x{bits:08x} overflows 256 bits (exponent 0x{:02x} is too large for its mantissa)", bits >> 24)]
    OverflowTarget {
        /// The bits.
        bits: u32,
    },
    /// The encoded target is zero: no hash can meet it.
    #[error("nBits 0x{bits:08x} encodes a zero target, which no hash can meet")]
    ZeroTarget {
        /// The bits.
        bits: u32,
    },
    /// Easier than the mainnet pow limit (`bnTarget > powLimit` in `CheckProofOfWorkImpl`).
    #[error("nBits 0x{bits:08x} is easier than the mainnet proof-of-work limit 0x1d00ffff")]
    AbovePowLimit {
        /// The bits.
        bits: u32,
    },
    /// The header hash exceeds its target.
    #[error("hash {hash} is above the target {target}")]
    HighHash {
        /// Block hash (display order).
        hash: String,
        /// Target as 64 hex digits.
        target: String,
    },
    /// A binary header is not 80 bytes.
    #[error("a block header is 80 bytes, got {len}")]
    HeaderLength {
        /// Bytes given.
        len: usize,
    },
    /// A hex header is not 160 digits.
    #[error("a block header is 160 hex digits, got {len}")]
    HeaderHexLength {
        /// Characters given.
        len: usize,
    },
    /// A hex header contains a non-hex character.
    #[error("a block header must be hex digits only")]
    HeaderHexDigits,
    /// A retarget needs the timestamp of the interval's first block.
    #[error("the retarget at height {height} needs the time of block {}", height - 2016)]
    MissingIntervalStart {
        /// Height of the retarget block.
        height: u64,
    },
    /// Checkpoint heights must be multiples of 2016.
    #[error("height {height} is not a retarget height (a multiple of 2016)")]
    NotRetargetHeight {
        /// The height given.
        height: u64,
    },
}
