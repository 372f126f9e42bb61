//! Keyed random streams: one ChaCha8 stream per fixed-size block of paths.
//!
//! Every block of [`BLOCK`] paths draws from its own stream `ChaCha8Rng::seed_from_u64(seed)` +
//! `set_stream(key)`, so which thread simulates a block never changes its numbers, and statistics
//! merged in block order are bit-identical for any thread count. Different *purposes* (the paths a
//! policy is fitted on, the fresh paths it is evaluated on) use disjoint stream keys.

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

/// Paths per block. Fixed (not derived from the thread count) so results never depend on it.
pub const BLOCK: usize = 2048;

/// Stream set for the paths a policy is fitted on (in-sample).
pub const SET_FIT: u64 = 0;
/// Stream set for fresh paths the frozen policy is evaluated on (out-of-sample).
pub const SET_FRESH: u64 = 1;

/// The stream key of `block` in stream set `set`: the set in the top 16 bits, so sets never
/// overlap for fewer than 2^48 blocks.
pub fn stream_key(set: u64, block: u64) -> u64 {
    (set << 48) | (block & ((1u64 << 48) - 1))
}

/// The generator of one block.
pub fn block_rng(seed: u64, set: u64, block: u64) -> ChaCha8Rng {
    let mut r = ChaCha8Rng::seed_from_u64(seed);
    r.set_stream(stream_key(set, block));
    r
}

/// Number of blocks covering `paths` paths.
pub fn blocks(paths: usize) -> usize {
    paths.div_ceil(BLOCK)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::Rng;

    #[test]
    fn streams_are_distinct_and_reproducible() {
        let a: u64 = block_rng(7, SET_FIT, 0).random();
        let b: u64 = block_rng(7, SET_FIT, 1).random();
        let c: u64 = block_rng(7, SET_FRESH, 0).random();
        let a2: u64 = block_rng(7, SET_FIT, 0).random();
        assert_eq!(a, a2);
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(blocks(1), 1);
        assert_eq!(blocks(BLOCK), 1);
        assert_eq!(blocks(BLOCK + 1), 2);
    }
}
