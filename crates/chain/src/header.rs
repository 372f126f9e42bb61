//! 80-byte block headers: parsing, SHA-256d hash, proof of work.
//!
//! Layout as Core's `CBlockHeader` serialization (`src/primitives/block.h`): `nVersion` (i32 LE),
//! `hashPrevBlock` (32 bytes, internal order), `hashMerkleRoot` (32), `nTime` (u32 LE),
//! `nBits` (u32 LE), `nNonce` (u32 LE). The hash is SHA-256 applied twice to those 80 bytes; as a
//! number it is little-endian (`UintToArith256`), and displayed byte-reversed.

use sha2::{Digest, Sha256};

use crate::compact::{set_compact, POW_LIMIT};
use crate::u256::U256;
use crate::ChainError;

/// Size of a serialized block header in bytes.
pub const HEADER_SIZE: usize = 80;

/// The mainnet genesis block hash (display order).
pub const GENESIS_HASH_HEX: &str =
    "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f";

/// A 32-byte hash in internal (little-endian) byte order.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Hash256(pub [u8; 32]);

impl Hash256 {
    /// The hash in the usual display order (byte-reversed hex, as block explorers show it).
    pub fn to_display_hex(&self) -> String {
        self.0.iter().rev().map(|b| format!("{b:02x}")).collect()
    }

    /// Parses a display-order (byte-reversed) 64-hex-digit hash.
    pub fn from_display_hex(s: &str) -> Option<Hash256> {
        let bytes = decode_hex(s)?;
        if bytes.len() != 32 {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, b) in bytes.iter().rev().enumerate() {
            out[i] = *b;
        }
        Some(Hash256(out))
    }

    /// The hash as a 256-bit number (Core `UintToArith256`).
    pub fn to_u256(&self) -> U256 {
        U256::from_le_bytes(self.0)
    }
}

impl std::fmt::Debug for Hash256 {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Hash256({})", self.to_display_hex())
    }
}

/// SHA-256d (Core `Hash` / `CHash256`).
pub fn sha256d(data: &[u8]) -> Hash256 {
    let first = Sha256::digest(data);
    let second = Sha256::digest(first);
    let mut out = [0u8; 32];
    out.copy_from_slice(&second);
    Hash256(out)
}

/// A parsed block header, with its raw bytes kept for hashing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    /// `nVersion`.
    pub version: i32,
    /// `hashPrevBlock`.
    pub prev_hash: Hash256,
    /// `hashMerkleRoot`.
    pub merkle_root: Hash256,
    /// `nTime`, seconds since the Unix epoch.
    pub time: u32,
    /// `nBits`, the compact target.
    pub bits: u32,
    /// `nNonce`.
    pub nonce: u32,
    raw: [u8; HEADER_SIZE],
}

impl Header {
    /// Parses exactly 80 bytes.
    pub fn from_bytes(bytes: &[u8]) -> Result<Header, ChainError> {
        let raw: [u8; HEADER_SIZE] = bytes
            .try_into()
            .map_err(|_| ChainError::HeaderLength { len: bytes.len() })?;
        let u32_at = |i: usize| u32::from_le_bytes([raw[i], raw[i + 1], raw[i + 2], raw[i + 3]]);
        let mut prev = [0u8; 32];
        prev.copy_from_slice(&raw[4..36]);
        let mut merkle = [0u8; 32];
        merkle.copy_from_slice(&raw[36..68]);
        Ok(Header {
            version: u32_at(0) as i32,
            prev_hash: Hash256(prev),
            merkle_root: Hash256(merkle),
            time: u32_at(68),
            bits: u32_at(72),
            nonce: u32_at(76),
            raw,
        })
    }

    /// Parses 160 hex digits (surrounding whitespace ignored).
    pub fn from_hex(s: &str) -> Result<Header, ChainError> {
        let s = s.trim();
        if s.len() != 2 * HEADER_SIZE {
            return Err(ChainError::HeaderHexLength { len: s.len() });
        }
        let bytes = decode_hex(s).ok_or(ChainError::HeaderHexDigits)?;
        Header::from_bytes(&bytes)
    }

    /// The 80 serialized bytes.
    pub fn as_bytes(&self) -> &[u8; HEADER_SIZE] {
        &self.raw
    }

    /// The 160-hex-digit serialization.
    pub fn to_hex(&self) -> String {
        self.raw.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The block hash (SHA-256d of the 80 bytes).
    pub fn hash(&self) -> Hash256 {
        sha256d(&self.raw)
    }

    /// Core `CheckProofOfWorkImpl(hash, nBits, params)` on this header.
    pub fn check_proof_of_work(&self) -> Result<(), ChainError> {
        check_proof_of_work(self.hash(), self.bits)
    }
}

/// Core `CheckProofOfWorkImpl` (`src/pow.cpp`): the target must be positive, not overflowing,
/// non-zero and not above the pow limit ("nBits below minimum work"), and the hash as a
/// little-endian number must not exceed it ("hash doesn't match nBits").
pub fn check_proof_of_work(hash: Hash256, bits: u32) -> Result<(), ChainError> {
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
    if c.value > POW_LIMIT {
        return Err(ChainError::AbovePowLimit { bits });
    }
    if hash.to_u256() > c.value {
        return Err(ChainError::HighHash {
            hash: hash.to_display_hex(),
            target: c.value.to_hex(),
        });
    }
    Ok(())
}

/// Decodes an even-length hex string; `None` on any non-hex digit or odd length.
pub(crate) fn decode_hex(s: &str) -> Option<Vec<u8>> {
    let b = s.as_bytes();
    if !b.len().is_multiple_of(2) {
        return None;
    }
    let nib = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    b.chunks(2)
        .map(|p| Some(nib(p[0])? << 4 | nib(p[1])?))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compact::get_compact;

    const GENESIS: &str = "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c";

    #[test]
    fn genesis_header_fields_and_hash() {
        let h = Header::from_hex(GENESIS).unwrap();
        assert_eq!(h.version, 1);
        assert_eq!(h.prev_hash, Hash256::default());
        assert_eq!(
            h.merkle_root.to_display_hex(),
            "4a5e1e4baab89f3a32518a88c31bc87f618f76673e2cc77ab2127b7afdeda33b"
        );
        assert_eq!(h.time, 1231006505);
        assert_eq!(h.bits, 0x1d00ffff);
        assert_eq!(h.nonce, 2083236893);
        assert_eq!(h.hash().to_display_hex(), GENESIS_HASH_HEX);
        assert_eq!(h.to_hex(), GENESIS);
        assert!(h.check_proof_of_work().is_ok());
    }

    #[test]
    fn flipped_bit_fails_proof_of_work() {
        let mut raw = *Header::from_hex(GENESIS).unwrap().as_bytes();
        raw[79] ^= 0x01; // the nonce
        let h = Header::from_bytes(&raw).unwrap();
        assert!(matches!(
            h.check_proof_of_work(),
            Err(ChainError::HighHash { .. })
        ));
    }

    /// Bitcoin Core `src/test/pow_tests.cpp` `CheckProofOfWork_test_*`.
    #[test]
    fn core_check_proof_of_work_cases() {
        let one = Hash256::from_display_hex(&format!("{:0>64}", "1")).unwrap();
        assert_eq!(one.to_u256(), U256::ONE);
        // negative target
        assert!(check_proof_of_work(one, get_compact(POW_LIMIT, true)).is_err());
        // overflow target
        assert!(check_proof_of_work(one, !0x0080_0000u32).is_err());
        // too easy target
        assert!(matches!(
            check_proof_of_work(one, get_compact(POW_LIMIT.shl_bits(1), false)),
            Err(ChainError::AbovePowLimit { .. })
        ));
        // bigger hash than target
        let big = Hash256(POW_LIMIT.shl_bits(1).to_le_bytes());
        assert!(matches!(
            check_proof_of_work(big, get_compact(POW_LIMIT, false)),
            Err(ChainError::HighHash { .. })
        ));
        // zero target
        assert!(matches!(
            check_proof_of_work(Hash256::default(), get_compact(U256::ZERO, false)),
            Err(ChainError::ZeroTarget { .. })
        ));
        // and the positive case: hash 1 under the pow limit
        assert!(check_proof_of_work(one, 0x1d00ffff).is_ok());
    }

    #[test]
    fn parse_errors() {
        assert_eq!(
            Header::from_hex("00"),
            Err(ChainError::HeaderHexLength { len: 2 })
        );
        assert_eq!(
            Header::from_hex(&"zz".repeat(80)),
            Err(ChainError::HeaderHexDigits)
        );
        assert_eq!(
            Header::from_bytes(&[0u8; 79]),
            Err(ChainError::HeaderLength { len: 79 })
        );
    }
}
