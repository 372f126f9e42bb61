//! Mutation operators (the structure-aware half of the fuzzing) and the proptest strategies.
//!
//! A mutation works on bytes but knows about the shape of the inputs: numbers are found and
//! replaced by *interesting* values (zero, negatives, NaN, infinities, the edges of f64 and of the
//! integer types, values just outside each documented range), lines are duplicated, dropped and
//! swapped (CSV rows, TOML keys, headers), and tokens that matter to the grammars (`[[`, `"`, `,`,
//! `=`, a BOM, CR) are inserted. Positions and indices are taken modulo the input's size, so every
//! generated operator applies to every input and shrinking stays meaningful.

use proptest::prelude::*;

/// Values substituted for numbers: each one is a boundary some parser or range check must handle.
pub const INTERESTING: &[&str] = &[
    "0",
    "-0",
    "-1",
    "1",
    "0.5",
    "1e-300",
    "5e-324",
    "1e308",
    "-1e308",
    "1.7976931348623157e308",
    "1e309",
    "nan",
    "NaN",
    "inf",
    "-inf",
    "+inf",
    "2147483647",
    "4294967295",
    "4294967296",
    "9223372036854775807",
    "9223372036854775808",
    "18446744073709551615",
    "18446744073709551616",
    "-9223372036854775808",
    "100",
    "365",
    "10000",
    "1e30",
    "1e31",
    "13440000",
    "13440001",
    "20000000",
    "20000001",
    "0x1d00ffff",
    "1_000",
    "1,5",
    "",
    "\"1\"",
    "true",
    "[]",
    "{}",
];

/// Tokens inserted by [`Mutation::InsertToken`]: pieces of TOML, JSON, CSV and hex syntax.
pub const TOKENS: &[&str] = &[
    "\n",
    "\r\n",
    "\r",
    ",",
    ",,",
    "\"",
    "\"\"",
    "=",
    "[",
    "]",
    "[[",
    "]]",
    "[run]\n",
    "[[mining.fleet]]\n",
    "[strategy]\nkind = \"sweep\"\nshares = []\n",
    "{",
    "}",
    ":",
    "#",
    "\u{feff}",
    "\u{0}",
    "\\",
    "\\u0000",
    "é",
    "\u{10FFFF}",
    "0x",
    "ff",
    "-",
    "e",
    " ",
    "\t",
    "T",
    "2024-02-29",
    "2023-02-29",
    "9999-12-31",
    "0000-01-01",
];

/// One mutation. Indices and positions are reduced modulo the input's size when applied.
#[derive(Debug, Clone)]
pub enum Mutation {
    /// Replace the `n`-th number in the input by `INTERESTING[v]`.
    ReplaceNumber {
        /// Which number (mod the count).
        n: usize,
        /// Which interesting value (mod the list).
        v: usize,
    },
    /// Set one byte.
    SetByte {
        /// Position (mod the length).
        pos: usize,
        /// The new byte.
        byte: u8,
    },
    /// Flip one bit.
    FlipBit {
        /// Position (mod the length).
        pos: usize,
        /// Bit 0..7.
        bit: u8,
    },
    /// Insert `TOKENS[t]` at a position.
    InsertToken {
        /// Position (mod length + 1).
        pos: usize,
        /// Which token (mod the list).
        t: usize,
    },
    /// Insert arbitrary bytes.
    InsertBytes {
        /// Position (mod length + 1).
        pos: usize,
        /// The bytes.
        bytes: Vec<u8>,
    },
    /// Delete a range.
    Delete {
        /// Start (mod the length).
        pos: usize,
        /// Length (capped at the end).
        len: usize,
    },
    /// Duplicate one line.
    DuplicateLine {
        /// Which line (mod the count).
        n: usize,
    },
    /// Remove one line.
    DeleteLine {
        /// Which line (mod the count).
        n: usize,
    },
    /// Swap two lines.
    SwapLines {
        /// First line (mod the count).
        a: usize,
        /// Second line (mod the count).
        b: usize,
    },
    /// Cut the input at a position.
    Truncate {
        /// Where (mod length + 1).
        pos: usize,
    },
    /// Repeat one line many times (long inputs, big row counts).
    RepeatLine {
        /// Which line.
        n: usize,
        /// How many copies (1..=200).
        times: usize,
    },
}

/// Applies one mutation to `data` in place.
pub fn apply(data: &mut Vec<u8>, m: &Mutation) {
    match m {
        Mutation::ReplaceNumber { n, v } => {
            let spans = number_spans(data);
            if spans.is_empty() {
                return;
            }
            let (s, e) = spans[n % spans.len()];
            let val = INTERESTING[v % INTERESTING.len()].as_bytes();
            data.splice(s..e, val.iter().copied());
        }
        Mutation::SetByte { pos, byte } => {
            if !data.is_empty() {
                let p = pos % data.len();
                data[p] = *byte;
            }
        }
        Mutation::FlipBit { pos, bit } => {
            if !data.is_empty() {
                let p = pos % data.len();
                data[p] ^= 1 << (bit % 8);
            }
        }
        Mutation::InsertToken { pos, t } => {
            let p = pos % (data.len() + 1);
            let tok = TOKENS[t % TOKENS.len()].as_bytes();
            data.splice(p..p, tok.iter().copied());
        }
        Mutation::InsertBytes { pos, bytes } => {
            let p = pos % (data.len() + 1);
            data.splice(p..p, bytes.iter().copied());
        }
        Mutation::Delete { pos, len } => {
            if !data.is_empty() {
                let p = pos % data.len();
                let e = (p + len).min(data.len());
                data.drain(p..e);
            }
        }
        Mutation::DuplicateLine { n } => edit_lines(data, |ls| {
            let i = n % ls.len();
            let l = ls[i].clone();
            ls.insert(i, l);
        }),
        Mutation::DeleteLine { n } => edit_lines(data, |ls| {
            let i = n % ls.len();
            ls.remove(i);
        }),
        Mutation::SwapLines { a, b } => edit_lines(data, |ls| {
            let (i, j) = (a % ls.len(), b % ls.len());
            ls.swap(i, j);
        }),
        Mutation::Truncate { pos } => {
            let p = pos % (data.len() + 1);
            data.truncate(p);
        }
        Mutation::RepeatLine { n, times } => edit_lines(data, |ls| {
            let i = n % ls.len();
            let l = ls[i].clone();
            for _ in 0..(*times).clamp(1, 200) {
                ls.insert(i, l.clone());
            }
        }),
    }
}

/// Applies every mutation in order.
pub fn apply_all(seed: &[u8], ms: &[Mutation]) -> Vec<u8> {
    let mut d = seed.to_vec();
    for m in ms {
        apply(&mut d, m);
    }
    d
}

/// Byte spans of the numbers in `data`: maximal runs of `[0-9.eE+-]` that contain a digit and
/// start at a token boundary (so `S21` inside a model name is left alone, `3500` is found).
pub fn number_spans(data: &[u8]) -> Vec<(usize, usize)> {
    let is_num = |c: u8| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-');
    let mut out = Vec::new();
    let mut i = 0;
    while i < data.len() {
        let boundary = i == 0 || !(data[i - 1].is_ascii_alphanumeric() || data[i - 1] == b'_');
        if boundary && is_num(data[i]) {
            let s = i;
            while i < data.len() && is_num(data[i]) {
                i += 1;
            }
            if data[s..i].iter().any(u8::is_ascii_digit) {
                out.push((s, i));
            }
        } else {
            i += 1;
        }
    }
    out
}

fn edit_lines(data: &mut Vec<u8>, f: impl FnOnce(&mut Vec<Vec<u8>>)) {
    let mut lines: Vec<Vec<u8>> = data.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect();
    if lines.is_empty() {
        return;
    }
    f(&mut lines);
    *data = lines.join(&b'\n');
}

/// Any one mutation.
pub fn mutation() -> impl Strategy<Value = Mutation> {
    let idx = 0usize..100_000;
    prop_oneof![
        4 => (idx.clone(), 0..INTERESTING.len()).prop_map(|(n, v)| Mutation::ReplaceNumber { n, v }),
        1 => (idx.clone(), any::<u8>()).prop_map(|(pos, byte)| Mutation::SetByte { pos, byte }),
        1 => (idx.clone(), 0u8..8).prop_map(|(pos, bit)| Mutation::FlipBit { pos, bit }),
        2 => (idx.clone(), 0..TOKENS.len()).prop_map(|(pos, t)| Mutation::InsertToken { pos, t }),
        1 => (idx.clone(), proptest::collection::vec(any::<u8>(), 1..16))
            .prop_map(|(pos, bytes)| Mutation::InsertBytes { pos, bytes }),
        1 => (idx.clone(), 1usize..64).prop_map(|(pos, len)| Mutation::Delete { pos, len }),
        1 => idx.clone().prop_map(|n| Mutation::DuplicateLine { n }),
        1 => idx.clone().prop_map(|n| Mutation::DeleteLine { n }),
        1 => (idx.clone(), idx.clone()).prop_map(|(a, b)| Mutation::SwapLines { a, b }),
        1 => idx.clone().prop_map(|pos| Mutation::Truncate { pos }),
        1 => (idx, 1usize..200).prop_map(|(n, times)| Mutation::RepeatLine { n, times }),
    ]
}

/// Inputs for a target: a third arbitrary bytes (up to 512), two thirds a seed from `seeds` with
/// one to four mutations applied.
pub fn input(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let n = seeds.len().max(1);
    let mutated = (0..n, proptest::collection::vec(mutation(), 1..=4))
        .prop_map(move |(i, ms)| apply_all(seeds.get(i).map(Vec::as_slice).unwrap_or(&[]), &ms));
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..512),
        2 => mutated,
    ]
}

/// [`input`] over text seeds.
pub fn text_input(seeds: Vec<String>) -> impl Strategy<Value = Vec<u8>> {
    input(seeds.into_iter().map(String::into_bytes).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_found_at_token_boundaries() {
        let t = b"model = \"S21\"\nunits = 1000\npower_w = 3.5e3\nx=-2";
        let spans: Vec<&[u8]> = number_spans(t).iter().map(|&(s, e)| &t[s..e]).collect();
        assert_eq!(spans, vec![&b"1000"[..], b"3.5e3", b"-2"]);
    }

    #[test]
    fn mutations_apply_to_empty_and_small_inputs() {
        let ops = [
            Mutation::ReplaceNumber { n: 3, v: 11 },
            Mutation::SetByte { pos: 9, byte: 0 },
            Mutation::FlipBit { pos: 9, bit: 9 },
            Mutation::Delete { pos: 5, len: 100 },
            Mutation::DuplicateLine { n: 7 },
            Mutation::DeleteLine { n: 7 },
            Mutation::SwapLines { a: 1, b: 2 },
            Mutation::Truncate { pos: 3 },
            Mutation::RepeatLine { n: 0, times: 3 },
            Mutation::InsertToken { pos: 0, t: 1 },
        ];
        for seed in [&b""[..], b"a", b"x = 1\ny = 2\n"] {
            for op in &ops {
                let _ = apply_all(seed, std::slice::from_ref(op));
            }
        }
        assert_eq!(
            apply_all(b"a = 5\n", &[Mutation::ReplaceNumber { n: 0, v: 11 }]),
            b"a = nan\n"
        );
        assert_eq!(
            apply_all(b"l1\nl2\n", &[Mutation::SwapLines { a: 0, b: 1 }]),
            b"l2\nl1\n"
        );
    }
}
