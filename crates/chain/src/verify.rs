//! Verification of a sequence of headers: a consecutive chain, or one header per retarget.
//!
//! A consecutive chain is checked the way Core accepts headers (`ChainstateManager::
//! AcceptBlockHeader` in `src/validation.cpp`): the previous block must be the one before
//! ("prev-blk-not-found"), then `CheckBlockHeader` (proof of work, "high-hash"), then
//! `ContextualCheckBlockHeader`: the bits `GetNextWorkRequired` demands ("bad-diffbits"), a
//! timestamp above the median of the previous 11 blocks ("time-too-old"), and the BIP34/66/65
//! minimum versions ("bad-version"). Limits, documented rather than hidden:
//! - the first header of the input has no predecessor in the input, so its link and bits are
//!   taken as given (unless it is at height 0: then it must be the mainnet genesis block);
//! - a retarget whose interval starts before the input (the timestamp of block `h - 2016` is not
//!   in the input) is checked with Core's `PermittedDifficultyTransition` (factor-4 bounds)
//!   instead of the exact bits; the report counts both kinds;
//! - the median-time rule uses the previous 11 headers *in the input* (fewer at its start);
//! - the "time too new" rule (more than 2 hours ahead of the local clock) needs a clock and is
//!   not checked: this crate does no I/O.
//!
//! Checkpoint mode takes headers one per retarget (heights `2016·k`, not linked): each one's
//! proof of work, the version rule, and the permitted difficulty transition between neighbours
//! (the bits of a retarget block are the bits of every block of its interval, so neighbours
//! carry consecutive `old_nbits` / `new_nbits`). The exact retarget cannot be recomputed: it needs
//! the time of the last block of each interval, which is not a checkpoint.

use crate::compact::{set_compact, work_for_target};
use crate::header::{Hash256, Header, GENESIS_HASH_HEX};
use crate::retarget::{next_work_required, permitted_difficulty_transition, RETARGET_INTERVAL};
use crate::u256::U256;
use crate::ChainError;

/// Blocks whose times form the median-time-past (Core `CBlockIndex::nMedianTimeSpan`).
pub const MEDIAN_TIME_SPAN: usize = 11;

/// Mainnet heights from which blocks need version 2, 3 and 4 (`consensus.BIP34Height`,
/// `BIP66Height`, `BIP65Height`).
pub const MIN_VERSION_HEIGHTS: [(u64, i32); 3] = [(227_931, 2), (363_725, 3), (388_381, 4)];

/// How the headers relate to each other.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Consecutive headers, each linking to the one before.
    Chain,
    /// One header per retarget (heights `start, start + 2016, ...`), not linked.
    Checkpoints,
}

/// Why a header failed. The `code` of each is Core's reject reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Failure {
    /// The header's previous-block hash is not the hash of the header before it.
    #[error("prev-hash {found} does not match the hash of the previous header {expected}")]
    BrokenLink {
        /// Hash of the previous header (display order).
        expected: String,
        /// `hashPrevBlock` of this header (display order).
        found: String,
    },
    /// Proof of work fails (bad bits encoding or hash above target).
    #[error("proof of work fails: {0}")]
    ProofOfWork(ChainError),
    /// The header at height 0 is not the mainnet genesis block.
    #[error(
        "the header at height 0 has hash {found}, not the mainnet genesis block {GENESIS_HASH_HEX}"
    )]
    NotGenesis {
        /// Its hash (display order).
        found: String,
    },
    /// The bits are not those the retarget rules require.
    #[error("bits 0x{found:08x}, but the retarget rules require 0x{expected:08x}{}", if *.retarget { " (retarget from this interval's timestamps)" } else { " (unchanged between retargets)" })]
    BadBits {
        /// Required bits.
        expected: u32,
        /// Bits in the header.
        found: u32,
        /// True at a retarget height.
        retarget: bool,
    },
    /// The bits change by more than a retarget allows (or at a non-retarget height).
    #[error("bits change from 0x{old:08x} to 0x{new:08x} is not a permitted difficulty transition at height {height} (a retarget moves the target by at most a factor of 4)")]
    TransitionNotPermitted {
        /// Height of this header.
        height: u64,
        /// Bits before.
        old: u32,
        /// Bits of this header.
        new: u32,
    },
    /// The timestamp is not above the median of the previous 11 blocks.
    #[error("time {time} is not above {median}, the median time of the previous {count} headers")]
    TimeTooOld {
        /// The header's time.
        time: u32,
        /// Median time past.
        median: u32,
        /// How many previous headers formed the median (11 except at the start).
        count: usize,
    },
    /// The header's height does not fit in 64 bits (`start_height` plus its index overflows).
    /// Not a Core reject reason: Core's heights are 32-bit and never get there; this keeps the
    /// verifier total for any `start_height` a caller passes.
    #[error("the height of this header, {start} + {offset}, does not fit in 64 bits")]
    HeightOverflow {
        /// The start height given.
        start: u64,
        /// The header's distance from it in blocks.
        offset: u128,
    },
    /// The version is below what BIP34/66/65 require at this height.
    #[error(
        "version 0x{version:08x} is obsolete at height {height} (version {min} or higher required)"
    )]
    BadVersion {
        /// The header's version.
        version: i32,
        /// Its height.
        height: u64,
        /// The minimum.
        min: i32,
    },
}

impl Failure {
    /// Core's reject reason for this failure (`BlockValidationState` reason strings).
    pub fn code(&self) -> &'static str {
        match self {
            Failure::BrokenLink { .. } => "prev-blk-not-found",
            Failure::ProofOfWork(_) => "high-hash",
            Failure::NotGenesis { .. } => "bad-genesis",
            Failure::BadBits { .. } => "bad-diffbits",
            Failure::TransitionNotPermitted { .. } => "bad-diffbits",
            Failure::TimeTooOld { .. } => "time-too-old",
            Failure::BadVersion { .. } => "bad-version",
            Failure::HeightOverflow { .. } => "height-overflow",
        }
    }
}

/// The first failing header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstError {
    /// Index of the header in the input (0-based).
    pub index: usize,
    /// Its height.
    pub height: u64,
    /// Its hash (display order).
    pub hash: String,
    /// What failed.
    pub failure: Failure,
}

/// The result of a verification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Chain or checkpoints.
    pub mode: Mode,
    /// Headers in the input.
    pub headers: usize,
    /// Height of the first header.
    pub start_height: u64,
    /// Headers that passed before the first failure (all of them when valid).
    pub verified: usize,
    /// Retargets whose bits were recomputed exactly from the interval's timestamps.
    pub retargets_exact: usize,
    /// Retargets checked only against the permitted-transition bounds.
    pub retargets_bounded: usize,
    /// Sum of Core `GetBlockProof` over the verified headers.
    pub work: U256,
    /// Hash of the last verified header (display order).
    pub last_hash: Option<String>,
    /// The first failure, if any.
    pub first_error: Option<FirstError>,
}

impl Report {
    /// True when every header passed.
    pub fn valid(&self) -> bool {
        self.first_error.is_none()
    }
}

fn work_of(bits: u32) -> U256 {
    let c = set_compact(bits);
    if c.negative || c.overflow || c.value.is_zero() {
        U256::ZERO
    } else {
        work_for_target(c.value)
    }
}

fn check_version(h: &Header, height: u64) -> Result<(), Failure> {
    for &(from, min) in MIN_VERSION_HEIGHTS.iter().rev() {
        if height >= from {
            if h.version < min {
                return Err(Failure::BadVersion {
                    version: h.version,
                    height,
                    min,
                });
            }
            break;
        }
    }
    Ok(())
}

fn check_genesis(hash: &Hash256, height: u64) -> Result<(), Failure> {
    if height == 0 && hash.to_display_hex() != GENESIS_HASH_HEX {
        return Err(Failure::NotGenesis {
            found: hash.to_display_hex(),
        });
    }
    Ok(())
}

/// Core `CBlockIndex::GetMedianTimePast` over the given times (at most the last 11).
pub fn median_time_past(times: &[u32]) -> Option<u32> {
    if times.is_empty() {
        return None;
    }
    let start = times.len().saturating_sub(MEDIAN_TIME_SPAN);
    let mut v: Vec<u32> = times[start..].to_vec();
    v.sort_unstable();
    Some(v[v.len() / 2])
}

/// The failure of a header whose height does not fit in 64 bits (reported at `u64::MAX`).
fn height_overflow(index: usize, start: u64, offset: u128, hash: Hash256) -> FirstError {
    FirstError {
        index,
        height: u64::MAX,
        hash: hash.to_display_hex(),
        failure: Failure::HeightOverflow { start, offset },
    }
}

/// Verifies `headers` as a consecutive chain starting at `start_height`.
pub fn verify_chain(headers: &[Header], start_height: u64) -> Report {
    verify_chain_inner(headers, start_height, true, &mut |_| {})
}

/// [`verify_chain`], calling `progress(done)` every 4096 headers and at the end (for a progress
/// bar on long files; the callback does no I/O of its own here).
pub fn verify_chain_with_progress(
    headers: &[Header],
    start_height: u64,
    progress: &mut dyn FnMut(usize),
) -> Report {
    verify_chain_inner(headers, start_height, true, progress)
}

/// `verify_chain`, with the proof-of-work check switchable so that the unit tests can exercise
/// the bits, time and version rules on synthetic (unmined) headers. Always on outside tests.
fn verify_chain_inner(
    headers: &[Header],
    start_height: u64,
    check_pow: bool,
    progress: &mut dyn FnMut(usize),
) -> Report {
    let mut r = Report {
        mode: Mode::Chain,
        headers: headers.len(),
        start_height,
        verified: 0,
        retargets_exact: 0,
        retargets_bounded: 0,
        work: U256::ZERO,
        last_hash: None,
        first_error: None,
    };
    let mut prev_hash: Option<Hash256> = None;
    for (i, h) in headers.iter().enumerate() {
        if i % 4096 == 0 && i > 0 {
            progress(i);
        }
        let hash = h.hash();
        let Some(height) = start_height.checked_add(i as u64) else {
            r.first_error = Some(height_overflow(i, start_height, i as u128, hash));
            break;
        };
        let result = (|| -> Result<Option<bool>, Failure> {
            let mut retarget_exact = None;
            if let Some(ph) = prev_hash {
                if h.prev_hash != ph {
                    return Err(Failure::BrokenLink {
                        expected: ph.to_display_hex(),
                        found: h.prev_hash.to_display_hex(),
                    });
                }
            }
            if check_pow {
                h.check_proof_of_work().map_err(Failure::ProofOfWork)?;
            }
            check_genesis(&hash, height)?;
            if i > 0 {
                let prev = &headers[i - 1];
                let retarget = height % RETARGET_INTERVAL == 0;
                // Block `height - 2016` opens the interval that `prev` closes.
                let first_time = if retarget && height - start_height >= RETARGET_INTERVAL {
                    Some(headers[(height - RETARGET_INTERVAL - start_height) as usize].time as i64)
                } else {
                    None
                };
                if retarget && first_time.is_none() {
                    if !permitted_difficulty_transition(height, prev.bits, h.bits) {
                        return Err(Failure::TransitionNotPermitted {
                            height,
                            old: prev.bits,
                            new: h.bits,
                        });
                    }
                    retarget_exact = Some(false);
                } else {
                    let expected =
                        next_work_required(height, prev.bits, first_time, prev.time as i64)
                            .map_err(Failure::ProofOfWork)?;
                    if expected != h.bits {
                        return Err(Failure::BadBits {
                            expected,
                            found: h.bits,
                            retarget,
                        });
                    }
                    if retarget {
                        retarget_exact = Some(true);
                    }
                }
                let times: Vec<u32> = headers[i.saturating_sub(MEDIAN_TIME_SPAN)..i]
                    .iter()
                    .map(|x| x.time)
                    .collect();
                if let Some(median) = median_time_past(&times) {
                    if h.time <= median {
                        return Err(Failure::TimeTooOld {
                            time: h.time,
                            median,
                            count: times.len(),
                        });
                    }
                }
            }
            check_version(h, height)?;
            Ok(retarget_exact)
        })();
        match result {
            Ok(kind) => {
                match kind {
                    Some(true) => r.retargets_exact += 1,
                    Some(false) => r.retargets_bounded += 1,
                    None => {}
                }
                r.verified += 1;
                r.work = r.work.wrapping_add(work_of(h.bits));
                r.last_hash = Some(hash.to_display_hex());
                prev_hash = Some(hash);
            }
            Err(failure) => {
                r.first_error = Some(FirstError {
                    index: i,
                    height,
                    hash: hash.to_display_hex(),
                    failure,
                });
                break;
            }
        }
    }
    progress(r.verified);
    r
}

/// Verifies `headers` as retarget checkpoints at heights `start_height + 2016·i`.
/// `start_height` must be a multiple of 2016.
pub fn verify_checkpoints(headers: &[Header], start_height: u64) -> Result<Report, ChainError> {
    if !start_height.is_multiple_of(RETARGET_INTERVAL) {
        return Err(ChainError::NotRetargetHeight {
            height: start_height,
        });
    }
    let mut r = Report {
        mode: Mode::Checkpoints,
        headers: headers.len(),
        start_height,
        verified: 0,
        retargets_exact: 0,
        retargets_bounded: 0,
        work: U256::ZERO,
        last_hash: None,
        first_error: None,
    };
    for (i, h) in headers.iter().enumerate() {
        let hash = h.hash();
        let offset = u128::from(RETARGET_INTERVAL) * i as u128;
        let Some(height) = u64::try_from(u128::from(start_height) + offset).ok() else {
            r.first_error = Some(height_overflow(i, start_height, offset, hash));
            break;
        };
        let result = (|| -> Result<(), Failure> {
            h.check_proof_of_work().map_err(Failure::ProofOfWork)?;
            check_genesis(&hash, height)?;
            if i > 0 {
                let old = headers[i - 1].bits;
                if !permitted_difficulty_transition(height, old, h.bits) {
                    return Err(Failure::TransitionNotPermitted {
                        height,
                        old,
                        new: h.bits,
                    });
                }
            }
            check_version(h, height)
        })();
        match result {
            Ok(()) => {
                if i > 0 {
                    r.retargets_bounded += 1;
                }
                r.verified += 1;
                r.work = r.work.wrapping_add(work_of(h.bits));
                r.last_hash = Some(hash.to_display_hex());
            }
            Err(failure) => {
                r.first_error = Some(FirstError {
                    index: i,
                    height,
                    hash: hash.to_display_hex(),
                    failure,
                });
                break;
            }
        }
    }
    Ok(r)
}

/// Parses a headers file: either text with one 160-hex-digit header per line (blank lines and
/// lines starting with `#` ignored), or raw concatenated 80-byte records. Text is recognised by
/// consisting only of hex digits, whitespace and `#` comment lines; anything else is binary.
/// Errors name the line (text) or record (binary) that is malformed.
pub fn parse_headers_file(bytes: &[u8]) -> Result<Vec<Header>, ParseError> {
    let is_text = std::str::from_utf8(bytes)
        .map(|s| {
            s.lines().all(|l| {
                let t = l.trim();
                t.starts_with('#') || t.bytes().all(|c| c.is_ascii_hexdigit())
            })
        })
        .unwrap_or(false);
    if is_text {
        let s = std::str::from_utf8(bytes).unwrap_or_default();
        let mut out = Vec::new();
        for (n, line) in s.lines().enumerate() {
            let t = line.trim();
            if t.is_empty() || t.starts_with('#') {
                continue;
            }
            let h = Header::from_hex(t).map_err(|e| ParseError::Line {
                line: n + 1,
                source: e,
            })?;
            out.push(h);
        }
        Ok(out)
    } else {
        if !bytes.len().is_multiple_of(crate::header::HEADER_SIZE) {
            return Err(ParseError::RawLength { len: bytes.len() });
        }
        bytes
            .chunks(crate::header::HEADER_SIZE)
            .map(|c| Header::from_bytes(c).map_err(|e| ParseError::Line { line: 0, source: e }))
            .collect()
    }
}

/// A malformed headers file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// A text line is not a header.
    #[error("line {line}: {source}")]
    Line {
        /// 1-based line number.
        line: usize,
        /// What is wrong with it.
        source: ChainError,
    },
    /// A binary file whose length is not a multiple of 80.
    #[error("{len} bytes is not a whole number of 80-byte headers (and the file is not hex text)")]
    RawLength {
        /// File length.
        len: usize,
    },
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compact::Target;

    const FIRST_16: &str = include_str!("../tests/data/mainnet_headers_0_15.txt");
    const CHECKPOINTS_CSV: &str = include_str!("../tests/data/bitcoinj_checkpoint_headers.csv");

    fn first16() -> Vec<Header> {
        parse_headers_file(FIRST_16.as_bytes()).unwrap()
    }

    /// (height, block hash, header, chainwork) from bitcoinj's checkpoint file.
    fn checkpoints() -> Vec<(u64, String, Header, U256)> {
        let mut lines = CHECKPOINTS_CSV.lines();
        let head: Vec<&str> = lines.next().unwrap().split(',').collect();
        let col = |name: &str| head.iter().position(|c| *c == name).unwrap();
        let (ch, cb, cx, cw) = (
            col("height"),
            col("block_hash"),
            col("header_hex"),
            col("chainwork_hex"),
        );
        lines
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                (
                    f[ch].parse().unwrap(),
                    f[cb].to_string(),
                    Header::from_hex(f[cx]).unwrap(),
                    U256::from_hex(f[cw]).unwrap(),
                )
            })
            .collect()
    }

    #[test]
    fn real_genesis_chain_verifies() {
        let hs = first16();
        assert_eq!(hs.len(), 16);
        let r = verify_chain(&hs, 0);
        assert!(r.valid(), "{:?}", r.first_error);
        assert_eq!(r.verified, 16);
        // Every early block has work 0x0100010001 (Core chainwork of block 15 = 16 * that).
        assert_eq!(r.work, U256::from_u64(16 * 0x1_0001_0001));
        assert_eq!(
            r.last_hash.as_deref(),
            Some("00000000b3322c8c3ef7d2cf6da009a776e6a99ee65ec5a32f3f345712238473")
        );
        let mut seen = Vec::new();
        let r2 = verify_chain_with_progress(&hs, 0, &mut |n| seen.push(n));
        assert_eq!(r2, r);
        assert_eq!(seen, vec![16]);
    }

    #[test]
    fn flipped_bit_is_caught_with_its_index() {
        let mut hs = first16();
        let mut raw = *hs[7].as_bytes();
        raw[40] ^= 0x04; // a bit of the merkle root
        hs[7] = Header::from_bytes(&raw).unwrap();
        let r = verify_chain(&hs, 0);
        let e = r.first_error.unwrap();
        assert_eq!((e.index, e.height), (7, 7));
        assert!(matches!(
            e.failure,
            Failure::ProofOfWork(ChainError::HighHash { .. })
        ));
        assert_eq!(e.failure.code(), "high-hash");
        assert_eq!(r.verified, 7);
    }

    #[test]
    fn broken_link_is_caught() {
        let mut hs = first16();
        hs.remove(5);
        let e = verify_chain(&hs, 0).first_error.unwrap();
        assert_eq!(e.index, 5);
        assert!(matches!(e.failure, Failure::BrokenLink { .. }));
        assert!(e
            .failure
            .to_string()
            .contains("does not match the hash of the previous header"));
    }

    #[test]
    fn wrong_start_height_is_not_genesis() {
        let hs = first16();
        // Starting the real chain at height 1 is fine for PoW and links; starting block 1 at
        // height 0 is not genesis.
        let e = verify_chain(&hs[1..], 0).first_error.unwrap();
        assert!(matches!(e.failure, Failure::NotGenesis { .. }));
        assert!(verify_chain(&hs[1..], 1).valid());
    }

    #[test]
    fn median_time_rule() {
        assert_eq!(median_time_past(&[5, 1, 3]), Some(3));
        assert_eq!(median_time_past(&[1, 2]), Some(2));
        assert_eq!(median_time_past(&(0..20).collect::<Vec<_>>()), Some(14));
        assert_eq!(median_time_past(&[]), None);
    }

    #[test]
    fn real_retarget_checkpoints_verify() {
        let cps = checkpoints();
        assert_eq!(cps.len(), 436);
        let mut prev_bits = 0x1d00ffffu32; // epoch 0
        let mut chainwork = U256::ZERO;
        for (i, (height, hash, h, cw)) in cps.iter().enumerate() {
            assert_eq!(*height, 2016 * (i as u64 + 1));
            assert_eq!(&h.hash().to_display_hex(), hash, "hash at {height}");
            assert!(h.check_proof_of_work().is_ok(), "PoW at {height}");
            assert!(
                permitted_difficulty_transition(*height, prev_bits, h.bits),
                "transition at {height}"
            );
            // bitcoinj's chain work at 2016k = 2016 blocks of each earlier epoch + this block:
            // checks GetBlockProof against an independent implementation.
            let prev_epoch_work = Target::from_compact(prev_bits).unwrap().work();
            chainwork = chainwork.wrapping_add(prev_epoch_work.overflowing_mul_u64(2016).0);
            let total = chainwork.wrapping_add(Target::from_compact(h.bits).unwrap().work());
            assert_eq!(total, *cw, "chain work at {height}");
            prev_bits = h.bits;
        }
        let headers: Vec<Header> = cps.iter().map(|c| c.2).collect();
        let r = verify_checkpoints(&headers, 2016).unwrap();
        assert!(r.valid(), "{:?}", r.first_error);
        assert_eq!(r.retargets_bounded, 435);
    }

    #[test]
    fn tampered_checkpoints_fail_precisely() {
        let headers: Vec<Header> = checkpoints().iter().map(|c| c.2).collect();
        // Wrong retarget bits with valid proof of work: drop checkpoints 101..199, so that
        // checkpoint 200 (difficulty far more than 4x that of 100) follows checkpoint 100.
        let mut hs = headers[..=100].to_vec();
        hs.extend_from_slice(&headers[200..]);
        let e = verify_checkpoints(&hs, 2016).unwrap().first_error.unwrap();
        assert_eq!((e.index, e.height), (101, 2016 * 102));
        assert!(
            matches!(e.failure, Failure::TransitionNotPermitted { .. }),
            "{:?}",
            e.failure
        );
        assert_eq!(e.failure.code(), "bad-diffbits");
        // A flipped bit in a checkpoint breaks its proof of work.
        let mut hs = headers.clone();
        let mut raw = *hs[300].as_bytes();
        raw[0] ^= 0x80;
        hs[300] = Header::from_bytes(&raw).unwrap();
        let e = verify_checkpoints(&hs, 2016).unwrap().first_error.unwrap();
        assert_eq!(e.index, 300);
        assert!(matches!(
            e.failure,
            Failure::ProofOfWork(ChainError::HighHash { .. })
        ));
        // A checkpoint file not starting at a retarget height is refused.
        assert!(verify_checkpoints(&headers, 2017).is_err());
        // Checking the real checkpoints as a *chain* fails at once on the link.
        let e = verify_chain(&headers, 2016).first_error.unwrap();
        assert_eq!(e.index, 1);
        assert!(matches!(e.failure, Failure::BrokenLink { .. }));
    }

    /// A synthetic chain (proof of work off: mainnet difficulty cannot be mined in a test) of
    /// one full interval plus the retarget block, linked by real hashes.
    fn synthetic(start: u64, n: usize, spacing: u32, bits_at: impl Fn(u64) -> u32) -> Vec<Header> {
        synthetic_version(1, start, n, spacing, bits_at)
    }

    fn synthetic_version(
        version: i32,
        start: u64,
        n: usize,
        spacing: u32,
        bits_at: impl Fn(u64) -> u32,
    ) -> Vec<Header> {
        let mut out: Vec<Header> = Vec::new();
        let mut prev = Hash256::default();
        for i in 0..n {
            let mut raw = [0u8; 80];
            raw[0..4].copy_from_slice(&version.to_le_bytes());
            raw[4..36].copy_from_slice(&prev.0);
            raw[68..72].copy_from_slice(&(1_300_000_000 + spacing * i as u32).to_le_bytes());
            raw[72..76].copy_from_slice(&bits_at(start.wrapping_add(i as u64)).to_le_bytes());
            let h = Header::from_bytes(&raw).unwrap();
            prev = h.hash();
            out.push(h);
        }
        out
    }

    /// Regression (hardening fuzz): a start height near `u64::MAX` made `start + index` overflow
    /// (a panic in debug builds, reached by `chain verify-headers --start-height`). The header
    /// whose height does not fit is now the first error; everything before it is verified.
    #[test]
    fn heights_past_u64_max_are_a_failure_not_a_panic() {
        let start = u64::MAX - 1;
        // Bits constant, between retargets: u64::MAX - 1 and u64::MAX are not multiples of 2016.
        assert!(start % RETARGET_INTERVAL != 0 && u64::MAX % RETARGET_INTERVAL != 0);
        let hs = synthetic_version(4, start, 3, 600, |_| 0x1b0404cb);
        let r = verify_chain_inner(&hs, start, false, &mut |_| {});
        assert_eq!(r.verified, 2);
        let e = r.first_error.unwrap();
        assert_eq!((e.index, e.height), (2, u64::MAX));
        assert_eq!(e.failure, Failure::HeightOverflow { start, offset: 2 });
        assert_eq!(e.failure.code(), "height-overflow");
        // Checkpoint mode: the second checkpoint would be 2016 blocks past the last multiple of
        // 2016 below u64::MAX. The real genesis header fails first on its version (v1 after
        // BIP65), so nothing overflows; the property is that neither start panics.
        let cp_start = u64::MAX - u64::MAX % RETARGET_INTERVAL;
        let real = first16();
        let r = verify_checkpoints(&real[..2], cp_start).unwrap();
        assert_eq!(r.first_error.unwrap().index, 0);
    }

    #[test]
    fn exact_retarget_bits_in_a_chain() {
        let start = 2016 * 100;
        let old = 0x1b0404cbu32;
        // Blocks every 500 s: 2015 intervals * 500 s, so the target shrinks by that ratio.
        let want =
            crate::calculate_next_work_required(old, 1_300_000_000, 1_300_000_000 + 2015 * 500)
                .unwrap();
        assert_ne!(want, old);
        let good = synthetic(
            start,
            2017,
            500,
            |h| if h < start + 2016 { old } else { want },
        );
        let r = verify_chain_inner(&good, start, false, &mut |_| {});
        assert!(r.valid(), "{:?}", r.first_error);
        assert_eq!((r.retargets_exact, r.retargets_bounded), (1, 0));

        // Wrong bits at the retarget: one unit off.
        let bad = synthetic(start, 2017, 500, |h| {
            if h < start + 2016 {
                old
            } else {
                want + 1
            }
        });
        let e = verify_chain_inner(&bad, start, false, &mut |_| {})
            .first_error
            .unwrap();
        assert_eq!(e.index, 2016);
        assert_eq!(
            e.failure,
            Failure::BadBits {
                expected: want,
                found: want + 1,
                retarget: true
            }
        );
        assert!(e.failure.to_string().contains("0x") && e.failure.to_string().contains("retarget"));

        // A bits change between retargets.
        let mid = synthetic(start, 20, 500, |h| if h < start + 10 { old } else { want });
        let e = verify_chain_inner(&mid, start, false, &mut |_| {})
            .first_error
            .unwrap();
        assert_eq!(e.index, 10);
        assert!(matches!(
            e.failure,
            Failure::BadBits {
                retarget: false,
                ..
            }
        ));

        // A retarget whose interval start is not in the input: bounded check only.
        let tail = &good[1000..];
        let r = verify_chain_inner(tail, start + 1000, false, &mut |_| {});
        assert!(r.valid());
        assert_eq!((r.retargets_exact, r.retargets_bounded), (0, 1));
    }

    #[test]
    fn time_too_old_and_version_rules() {
        // 12 blocks with equal timestamps: block 1's time equals the median of [t0].
        let flat = synthetic(2016 * 100, 12, 0, |_| 0x1b0404cb);
        let e = verify_chain_inner(&flat, 2016 * 100, false, &mut |_| {})
            .first_error
            .unwrap();
        assert_eq!(e.index, 1);
        assert!(matches!(e.failure, Failure::TimeTooOld { count: 1, .. }));
        assert_eq!(e.failure.code(), "time-too-old");
        // Version 1 blocks after BIP34 activation.
        let v1 = synthetic(400_000, 2, 600, |_| 0x1b0404cb);
        let e = verify_chain_inner(&v1, 400_000, false, &mut |_| {})
            .first_error
            .unwrap();
        assert_eq!(e.index, 0);
        assert_eq!(
            e.failure,
            Failure::BadVersion {
                version: 1,
                height: 400_000,
                min: 4
            }
        );
    }

    #[test]
    fn parse_formats() {
        let hs = first16();
        let mut raw = Vec::new();
        for h in &hs {
            raw.extend_from_slice(h.as_bytes());
        }
        assert_eq!(parse_headers_file(&raw).unwrap(), hs);
        assert!(matches!(
            parse_headers_file(&raw[..81]),
            Err(ParseError::RawLength { len: 81 })
        ));
        let text = format!(
            "# comment\n\n{}\n{}",
            hs[0].to_hex(),
            &hs[1].to_hex()[..150]
        );
        let e = parse_headers_file(text.as_bytes()).unwrap_err();
        assert!(matches!(e, ParseError::Line { line: 4, .. }), "{e:?}");
    }
}
