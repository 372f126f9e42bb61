//! Verification of retarget headers fetched from a node, with `hashpivot_chain`.

use hashpivot_chain::{difficulty, permitted_difficulty_transition, Header};

use crate::SourceError;

/// A retarget header that passed [`verify_retarget`].
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedRetarget {
    /// Height (a multiple of 2016).
    pub height: u64,
    /// Block hash, display hex.
    pub hash: String,
    /// Header time.
    pub time: u32,
    /// nBits.
    pub bits: u32,
    /// Difficulty of `bits`.
    pub difficulty: f64,
}

/// Verifies the first header of an epoch as returned by a node:
/// 1. it parses as 80 bytes and its SHA-256d is the hash the node gave for `height`
///    (`getblockhash`);
/// 2. it meets its own proof of work (Core `CheckProofOfWork`);
/// 3. its `hashPrevBlock` is the node's hash at `height − 1` (linkage), when given;
/// 4. against the previous retarget (when it is the epoch just before): the nBits change is one
///    Core's `PermittedDifficultyTransition` allows and the time moved forward.
pub fn verify_retarget(
    height: u64,
    claimed_hash: &str,
    header_hex: &str,
    prev_block_hash: Option<&str>,
    previous: Option<&VerifiedRetarget>,
) -> Result<VerifiedRetarget, SourceError> {
    let fail = |message: String| SourceError::Verify { height, message };
    if !height.is_multiple_of(2016) {
        return Err(fail(
            "not a retarget height (must be a multiple of 2016)".into(),
        ));
    }
    let header = Header::from_hex(header_hex)
        .map_err(|e| fail(format!("the header does not parse: {e}")))?;
    let hash = header.hash().to_display_hex();
    if !hash.eq_ignore_ascii_case(claimed_hash) {
        return Err(fail(format!(
            "the header hashes to {hash}, but the node says block {height} is {claimed_hash}"
        )));
    }
    header
        .check_proof_of_work()
        .map_err(|e| fail(format!("block {hash} fails proof of work: {e}")))?;
    if let Some(p) = prev_block_hash {
        let got = header.prev_hash.to_display_hex();
        if !got.eq_ignore_ascii_case(p) {
            return Err(fail(format!(
                "the header's previous block is {got}, but the node's block {} is {p} (broken linkage)",
                height - 1
            )));
        }
    }
    if let Some(prev) = previous.filter(|p| p.height + 2016 == height) {
        if !permitted_difficulty_transition(height, prev.bits, header.bits) {
            return Err(fail(format!(
                "nBits {:08x} is not a permitted retarget from {:08x} (more than a factor 4)",
                header.bits, prev.bits
            )));
        }
        if header.time <= prev.time {
            return Err(fail(format!(
                "time {} is not after the previous retarget's {}",
                header.time, prev.time
            )));
        }
    }
    Ok(VerifiedRetarget {
        height,
        hash,
        time: header.time,
        bits: header.bits,
        difficulty: difficulty(header.bits),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use hashpivot_data::shipped::checkpoint_headers;

    #[test]
    fn real_retarget_headers_verify_in_sequence() {
        let hs = checkpoint_headers();
        let mut prev: Option<VerifiedRetarget> = None;
        for h in hs.iter() {
            let v = verify_retarget(
                u64::from(h.height),
                &h.block_hash,
                &h.header_hex,
                Some(&h.prev_block_hash),
                prev.as_ref(),
            )
            .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(v.bits, h.bits);
            prev = Some(v);
        }
        // Epoch 416 (halving epoch): difficulty 86,388,558,925,171.02 (PROVENANCE anchor).
        let e416 = hs.iter().find(|h| h.height == 416 * 2016).unwrap();
        let v = verify_retarget(838_656, &e416.block_hash, &e416.header_hex, None, None).unwrap();
        assert!((v.difficulty - 86_388_558_925_171.02).abs() < 0.01);
    }

    #[test]
    fn tampering_is_caught() {
        let h = &checkpoint_headers()[430];
        let height = u64::from(h.height);
        // Flip one nonce bit: the hash changes, so both the claimed hash and PoW checks fail.
        let mut bytes: Vec<char> = h.header_hex.chars().collect();
        bytes[152] = if bytes[152] == '0' { '1' } else { '0' };
        let bad: String = bytes.into_iter().collect();
        let e = verify_retarget(height, &h.block_hash, &bad, None, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("hashes to"), "{e}");
        let hash = Header::from_hex(&bad).unwrap().hash().to_display_hex();
        let e = verify_retarget(height, &hash, &bad, None, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("fails proof of work"), "{e}");
        let e = verify_retarget(
            height,
            &h.block_hash,
            &h.header_hex,
            Some(&"00".repeat(32)),
            None,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("broken linkage"), "{e}");
        let e = verify_retarget(height + 1, &h.block_hash, &h.header_hex, None, None)
            .unwrap_err()
            .to_string();
        assert!(e.contains("multiple of 2016"), "{e}");
    }
}
