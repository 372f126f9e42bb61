//! Credentials: the bearer token of `serve --token`, and the dashboard's sessions.
//!
//! The dashboard never keeps the token: it sends it once to `POST /api/session`, which answers
//! with a random session id in an `HttpOnly; SameSite=Strict` cookie (so `EventSource` and chart
//! requests, which cannot set headers, are authenticated) and a per-session CSRF token in the JSON
//! body. A cookie alone is not enough to change anything: cookies are shared by every port of a
//! host, so a page on `127.0.0.1:3000` could make the browser send it. State-changing requests
//! that authenticate with the cookie must also carry the CSRF token in [`CSRF_HEADER`], which only
//! the dashboard's own origin can read (it keeps it in `sessionStorage`, which is per origin).
//! Neither the cookie nor the CSRF token is derived from the bearer token.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::http::{header, HeaderMap};
use sha2::{Digest, Sha256};

/// Name of the dashboard's session cookie (a random id, not the token).
pub const SESSION_COOKIE: &str = "hashpivot_session";

/// The header that carries the session's CSRF token on state-changing requests.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Sessions live this long after they are created.
pub const SESSION_TTL: Duration = Duration::from_secs(12 * 3600);

/// Sessions kept at most (the oldest is dropped first).
pub const MAX_SESSIONS: usize = 1024;

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

/// Constant-time equality of two byte strings (through their SHA-256 digests, so the length does
/// not leak either).
pub fn equal_ct(a: &[u8], b: &[u8]) -> bool {
    let da: [u8; 32] = Sha256::digest(a).into();
    let db: [u8; 32] = Sha256::digest(b).into();
    let diff = da
        .iter()
        .zip(db.iter())
        .fold(0u8, |acc, (x, y)| acc | (x ^ y));
    std::hint::black_box(diff) == 0
}

/// 32 random bytes from the operating system's generator, as 64 hex digits.
fn random_hex() -> String {
    let bytes: [u8; 32] = rand::random();
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// One dashboard session.
#[derive(Debug, Clone)]
struct Session {
    csrf: String,
    created: Instant,
}

/// The dashboard's sessions, keyed by the SHA-256 of their id (the ids themselves are not kept).
#[derive(Debug, Default)]
pub struct Sessions {
    map: Mutex<HashMap<[u8; 32], Session>>,
}

impl Sessions {
    /// Starts a session: returns `(id, csrf)`, both random.
    pub fn create(&self) -> (String, String) {
        let id = random_hex();
        let csrf = random_hex();
        let mut map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, s| s.created.elapsed() < SESSION_TTL);
        while map.len() >= MAX_SESSIONS {
            let oldest = map.iter().min_by_key(|(_, s)| s.created).map(|(k, _)| *k);
            match oldest {
                Some(k) => map.remove(&k),
                None => break,
            };
        }
        map.insert(
            Sha256::digest(id.as_bytes()).into(),
            Session {
                csrf: csrf.clone(),
                created: Instant::now(),
            },
        );
        (id, csrf)
    }

    /// The CSRF token of a live session `id`.
    fn csrf(&self, id: &[u8]) -> Option<String> {
        let key: [u8; 32] = Sha256::digest(id).into();
        let map = self.map.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&key)
            .filter(|s| s.created.elapsed() < SESSION_TTL)
            .map(|s| s.csrf.clone())
    }

    /// Checks the session cookie of a request: `None` without a valid session; `Some(true)` when
    /// the request also carries the session's CSRF token in [`CSRF_HEADER`].
    pub fn check(&self, headers: &HeaderMap) -> Option<bool> {
        let id = session_cookie(headers)?;
        let csrf = self.csrf(&id)?;
        let presented = headers
            .get(CSRF_HEADER)
            .map(|v| v.as_bytes())
            .unwrap_or_default();
        Some(equal_ct(presented, csrf.as_bytes()))
    }
}

/// The token of an `Authorization: Bearer ...` header, if the request has one.
pub fn bearer_token(headers: &HeaderMap) -> Option<Vec<u8>> {
    let b = headers.get(header::AUTHORIZATION)?.as_bytes();
    // The scheme is case-insensitive (RFC 7235 §2.1).
    (b.len() > 7 && b[..7].eq_ignore_ascii_case(b"bearer ")).then(|| b[7..].trim_ascii().to_vec())
}

/// The value of the session cookie, if the request has one.
fn session_cookie(headers: &HeaderMap) -> Option<Vec<u8>> {
    for v in headers.get_all(header::COOKIE) {
        for part in v.as_bytes().split(|c| *c == b';') {
            let part = part.trim_ascii();
            if let Some(val) = part
                .strip_prefix(SESSION_COOKIE.as_bytes())
                .and_then(|r| r.strip_prefix(b"="))
            {
                return Some(val.to_vec());
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    #[test]
    fn tokens_are_validated_and_compared_without_showing_them() {
        let t = Token::new("correct-horse-battery-staple").unwrap();
        assert!(t.matches(b"correct-horse-battery-staple"));
        assert!(!t.matches(b"correct-horse-battery-stapl"));
        assert!(!t.matches(b""));
        assert_eq!(format!("{t:?}"), "Token(<hidden>)");
        assert!(Token::new("short").unwrap_err().contains("at least 16"));
        let e = Token::new("has a space in the middle").unwrap_err();
        assert!(e.contains("white space") && !e.contains("middle"), "{e}");
        assert!(Token::new("abcdefghijklmnop;q").is_err());
        assert!(Token::new(&"x".repeat(513)).is_err());
    }

    #[test]
    fn sessions_need_the_cookie_and_the_csrf_header() {
        let s = Sessions::default();
        let (id, csrf) = s.create();
        assert_eq!((id.len(), csrf.len()), (64, 64));
        assert_ne!(id, csrf);
        let mut h = HeaderMap::new();
        assert_eq!(s.check(&h), None);
        h.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("a=1; {SESSION_COOKIE}={id}")).unwrap(),
        );
        assert_eq!(s.check(&h), Some(false));
        h.insert(CSRF_HEADER, HeaderValue::from_str(&csrf).unwrap());
        assert_eq!(s.check(&h), Some(true));
        h.insert(CSRF_HEADER, HeaderValue::from_static("wrong"));
        assert_eq!(s.check(&h), Some(false));
        let mut other = HeaderMap::new();
        other.insert(
            header::COOKIE,
            HeaderValue::from_str(&format!("{SESSION_COOKIE}={csrf}")).unwrap(),
        );
        assert_eq!(s.check(&other), None, "the CSRF token is not a session id");
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  abc "),
        );
        assert_eq!(bearer_token(&h).unwrap(), b"abc");
    }
}
