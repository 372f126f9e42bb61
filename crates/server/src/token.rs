//! The server's bearer token (`serve --token`): validated once, kept only as a SHA-256 digest,
//! compared in constant time. Its own module because both the state (which holds it) and the
//! request guard (which checks it) need it, and neither should import the other for it.

use sha2::{Digest, Sha256};

/// Shortest token accepted: 16 characters of a random token are ≥ 64 bits even from hex digits.
pub const MIN_TOKEN_LEN: usize = 16;

/// A bearer token. Its `Debug` never shows the value, and equality is constant-time.
#[derive(Clone)]
pub struct Token {
    digest: [u8; 32],
}

impl Token {
    /// Validates a token: at least [`MIN_TOKEN_LEN`] visible ASCII characters (it travels in an
    /// HTTP header and a cookie), at most 512. The error names the problem, never the value.
    pub fn new(token: &str) -> Result<Token, String> {
        let n = token.chars().count();
        if n < MIN_TOKEN_LEN {
            return Err(format!(
                "the token has {n} characters: at least {MIN_TOKEN_LEN} are required (e.g. `openssl rand -hex 24`)"
            ));
        }
        if n > 512 {
            return Err(format!(
                "the token has {n} characters: at most 512 are allowed"
            ));
        }
        if let Some(bad) = token.chars().find(|c| !c.is_ascii_graphic() || *c == ';') {
            let what = if bad.is_whitespace() {
                "white space".to_string()
            } else if bad == ';' {
                "';'".to_string()
            } else {
                format!("the character U+{:04X}", bad as u32)
            };
            return Err(format!(
                "the token contains {what}: allowed are visible ASCII characters other than ';'"
            ));
        }
        Ok(Token {
            digest: Sha256::digest(token.as_bytes()).into(),
        })
    }

    /// Constant-time check of a presented token.
    pub fn matches(&self, presented: &[u8]) -> bool {
        let d: [u8; 32] = Sha256::digest(presented).into();
        self.matches_digest(&d)
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(<hidden>)")
    }
}

impl PartialEq for Token {
    fn eq(&self, other: &Self) -> bool {
        self.matches_digest(&other.digest)
    }
}

impl Token {
    fn matches_digest(&self, d: &[u8; 32]) -> bool {
        let diff = d
            .iter()
            .zip(self.digest.iter())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b));
        // `black_box` keeps the optimizer from turning the fold into an early exit.
        std::hint::black_box(diff) == 0
    }
}
