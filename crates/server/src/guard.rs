//! The checks every request passes before it reaches a handler: the bearer token, the `Host` and
//! `Origin` headers, a cap on requests in flight, and a per-request deadline.
//!
//! Why each one:
//! - **Token** (`--token`): the server can bind a non-loopback address only with one. Every `/api`
//!   route then needs `Authorization: Bearer TOKEN` (or the `hashpivot_token` cookie, because
//!   `EventSource` and `<img>`-style fetches cannot send headers; the dashboard gets it from
//!   `POST /api/session` as `HttpOnly`, so no script on the page can read the token). The comparison is
//!   constant-time over SHA-256 digests, so neither the content nor the length leaks through timing.
//! - **Host** (without a token): a page on another site can make a browser talk to
//!   `127.0.0.1:8080` through DNS rebinding (its own name resolving to 127.0.0.1); such requests
//!   carry that site's name in `Host`. Without a token only IP literals and `localhost` are served
//!   (unless `check_host` is off: `serve --insecure`).
//! - **Origin** (POST): a cross-site page can send a "simple" POST (e.g. `text/plain`) without a
//!   preflight; browsers add `Origin`, so a POST whose `Origin` names another host is refused.
//! - **In flight**: each request holds a permit while its handler runs; past the cap the answer is
//!   an immediate 503 with `Retry-After` instead of an unbounded pile of tasks and buffers.
//! - **Deadline**: a handler (including reading the body from a slow client) that takes longer than
//!   `request_timeout` is dropped and answered 503 with `Retry-After`. Event streams are not cut:
//!   the deadline covers producing the response head, not streaming its body.

use std::sync::Arc;

use crate::error::ApiError;
use crate::state::AppState;
pub use crate::token::{Token, MIN_TOKEN_LEN};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// Name of the cookie that carries the token for the dashboard (`HttpOnly`, `SameSite=Strict`, set
/// by `POST /api/session`).
pub const TOKEN_COOKIE: &str = "hashpivot_token";

/// An error answer with a `Retry-After` header (seconds).
pub fn retry_later(status: StatusCode, msg: impl Into<String>, secs: u64) -> Response {
    ApiError::new(status, msg).retry_after(secs).into_response()
}

/// The host part of a `Host` header value or an `Origin` authority (port and brackets removed,
/// lower case).
fn host_name(authority: &str) -> String {
    let a = authority.trim();
    let host = if let Some(rest) = a.strip_prefix('[') {
        rest.split(']').next().unwrap_or("")
    } else {
        a.rsplit_once(':').map_or(a, |(h, port)| {
            if port.chars().all(|c| c.is_ascii_digit()) {
                h
            } else {
                a
            }
        })
    };
    host.trim_end_matches('.').to_ascii_lowercase()
}

/// True for hosts a DNS-rebinding page cannot present: IP literals and `localhost`.
fn host_is_literal(host: &str) -> bool {
    host == "localhost" || host.parse::<std::net::IpAddr>().is_ok()
}

/// The token of an `Authorization: Bearer ...` header, if the request has one.
pub fn bearer_token(headers: &HeaderMap) -> Option<Vec<u8>> {
    let b = headers.get(header::AUTHORIZATION)?.as_bytes();
    // The scheme is case-insensitive (RFC 7235 §2.1).
    (b.len() > 7 && b[..7].eq_ignore_ascii_case(b"bearer ")).then(|| b[7..].trim_ascii().to_vec())
}

/// A token as a cookie value: percent-encoded outside `A-Z a-z 0-9 - . _ ~`, so every character
/// [`Token::new`] allows fits RFC 6265's cookie-octet; [`presented_token`] decodes it.
pub fn cookie_value(token: &[u8]) -> String {
    let mut out = String::with_capacity(token.len());
    for &c in token {
        if c.is_ascii_alphanumeric() || b"-._~".contains(&c) {
            out.push(c as char);
        } else {
            out.push_str(&format!("%{c:02X}"));
        }
    }
    out
}

/// The token presented in `Authorization: Bearer ...` or the dashboard's cookie.
fn presented_token(headers: &HeaderMap) -> Option<Vec<u8>> {
    if headers.contains_key(header::AUTHORIZATION) {
        // Another scheme (Basic, ...) presents no usable token.
        return Some(bearer_token(headers).unwrap_or_default());
    }
    for v in headers.get_all(header::COOKIE) {
        for part in v.as_bytes().split(|c| *c == b';') {
            let part = part.trim_ascii();
            if let Some(val) = part
                .strip_prefix(TOKEN_COOKIE.as_bytes())
                .and_then(|r| r.strip_prefix(b"="))
            {
                // Percent-encoded (`cookie_value`; older dashboards used encodeURIComponent).
                return Some(percent_decode(val));
            }
        }
    }
    None
}

fn percent_decode(s: &[u8]) -> Vec<u8> {
    let hex = |b: u8| (b as char).to_digit(16).map(|d| d as u8);
    let mut out = Vec::with_capacity(s.len());
    let mut i = 0;
    while i < s.len() {
        if s[i] == b'%' && i + 2 < s.len() {
            if let (Some(h), Some(l)) = (hex(s[i + 1]), hex(s[i + 2])) {
                out.push(h * 16 + l);
                i += 3;
                continue;
            }
        }
        out.push(s[i]);
        i += 1;
    }
    out
}

fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// The middleware (see the module documentation for what and why).
pub async fn guard(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(host_name);
    match &st.limits.token {
        None if st.limits.check_host => {
            if let Some(h) = host.as_deref().filter(|h| !host_is_literal(h)) {
                return ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!(
                        "Host {h:?} is not served: without --token this server answers only to an IP address or localhost (protection against DNS rebinding)"
                    ),
                )
                .field("Host")
                .into_response();
            }
        }
        Some(token) if is_api(req.uri().path()) => {
            let ok = presented_token(headers).is_some_and(|t| token.matches(&t));
            if !ok {
                let mut r = ApiError::new(
                    StatusCode::UNAUTHORIZED,
                    "this server requires a token: send `Authorization: Bearer TOKEN` (the token given to `hashpivot serve --token`)",
                )
                .field("Authorization")
                .into_response();
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"hashpivot\""),
                );
                return r;
            }
        }
        _ => {}
    }
    if !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS) {
        if let Some(origin) = headers.get(header::ORIGIN).and_then(|o| o.to_str().ok()) {
            let origin_host = origin
                .split_once("://")
                .map(|(_, rest)| host_name(rest.split('/').next().unwrap_or("")));
            if origin == "null" || origin_host.is_none() || origin_host != host {
                return ApiError::new(
                    StatusCode::FORBIDDEN,
                    format!(
                        "Origin {origin:?} does not match the server's host: cross-site requests are refused"
                    ),
                )
                .field("Origin")
                .into_response();
            }
        }
    }
    let Ok(_permit) = Arc::clone(&st.in_flight).try_acquire_owned() else {
        return retry_later(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "too many requests in flight (at most {}); try again in a second",
                st.limits.max_in_flight
            ),
            1,
        );
    };
    let limit = st.limits.request_timeout;
    match tokio::time::timeout(limit, next.run(req)).await {
        Ok(r) => r,
        Err(_) => retry_later(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "the request took longer than the server's limit of {} ms and was abandoned",
                limit.as_millis()
            ),
            5,
        ),
    }
}

#[cfg(test)]
mod tests {
    /// Every character a token may hold survives the cookie round trip, and the cookie value
    /// contains only RFC 6265 cookie-octets that need no quoting.
    #[test]
    fn cookie_values_round_trip_every_allowed_character() {
        let all: String = (0x21u8..0x7f)
            .map(char::from)
            .filter(|c| *c != ';')
            .collect();
        for t in [all.as_str(), "s3cret-token-0123", "a%41b=c+d/e\\f\"g,h"] {
            let v = cookie_value(t.as_bytes());
            assert!(
                v.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-._~%".contains(&b)),
                "{v}"
            );
            let mut h = HeaderMap::new();
            h.insert(
                header::COOKIE,
                HeaderValue::from_str(&format!("{TOKEN_COOKIE}={v}")).unwrap(),
            );
            assert_eq!(presented_token(&h).unwrap(), t.as_bytes());
        }
    }

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
    fn hosts_and_tokens_are_parsed() {
        assert_eq!(host_name("127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(host_name("[::1]:80"), "::1");
        assert_eq!(host_name("LocalHost"), "localhost");
        assert_eq!(host_name("evil.example.:8080"), "evil.example");
        assert!(host_is_literal("::1") && host_is_literal("10.1.2.3"));
        assert!(!host_is_literal("evil.example"));
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("bearer  abc "),
        );
        assert_eq!(presented_token(&h).unwrap(), b"abc");
        let mut h = HeaderMap::new();
        h.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; hashpivot_token=x%2Cy%25z; b=2"),
        );
        assert_eq!(presented_token(&h).unwrap(), b"x,y%z");
        assert_eq!(percent_decode(b"%2"), b"%2");
        let mut h = HeaderMap::new();
        h.insert(
            header::AUTHORIZATION,
            HeaderValue::from_static("Basic eHh4"),
        );
        assert_eq!(presented_token(&h).unwrap(), b"");
    }
}
