//! hashpivot-sources: live data clients — Bitcoin Core JSON-RPC ([`rpc`]) and a
//! mempool.space-compatible REST API ([`mempool`]) — and the syncs that turn their answers into
//! verified rows for the store ([`sync`]).
//!
//! Blocking HTTP (ureq 2) with connect/read/write timeouts. Every failure is a [`SourceError`]
//! naming the URL (without credentials), the method and what went wrong; the RPC password and
//! cookie are never printed, logged or put in an error. Retarget headers from a node are verified
//! with `hashpivot_chain` before anything is returned ([`verify::verify_retarget`]).
//! [`testing`] holds a small canned HTTP server on 127.0.0.1 for tests.

pub mod daily;
pub mod mempool;
pub mod rpc;
pub mod sync;
pub mod testing;
pub mod verify;

use std::time::Duration;

/// Default timeout for one HTTP exchange.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Errors of the live sources. Messages never contain credentials.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum SourceError {
    /// The URL is not usable.
    #[error("{flag}: {url:?} is not a usable URL ({why}); expected e.g. http://127.0.0.1:8332")]
    BadUrl {
        /// The flag it came from.
        flag: &'static str,
        /// The URL (credentials removed).
        url: String,
        /// What is wrong.
        why: String,
    },
    /// No answer within the timeout.
    #[error("{url}: no answer within {secs} s (timeout) while calling {what}")]
    Timeout {
        /// URL (credentials removed).
        url: String,
        /// Seconds waited.
        secs: u64,
        /// The method or path.
        what: String,
    },
    /// Connection refused, DNS failure, TLS failure...
    #[error("{url}: cannot connect while calling {what}: {message}")]
    Connect {
        /// URL (credentials removed).
        url: String,
        /// The method or path.
        what: String,
        /// Transport error.
        message: String,
    },
    /// HTTP 401/403.
    #[error("{url}: the server rejected the credentials (HTTP {status}); check --rpc-user/--rpc-password or --rpc-cookie")]
    Unauthorized {
        /// URL.
        url: String,
        /// Status code.
        status: u16,
    },
    /// Any other non-success HTTP status without a JSON-RPC error body.
    #[error("{url}: HTTP {status} for {what}: {body}")]
    Http {
        /// URL.
        url: String,
        /// Status code.
        status: u16,
        /// The method or path.
        what: String,
        /// Start of the response body.
        body: String,
    },
    /// The body is not the JSON expected.
    #[error("{url}: malformed response to {what}: {message} (body starts {body:?})")]
    Json {
        /// URL.
        url: String,
        /// The method or path.
        what: String,
        /// Parser message.
        message: String,
        /// Start of the body.
        body: String,
    },
    /// A JSON-RPC error object.
    #[error("RPC {method} failed: error {code}: {message}")]
    Rpc {
        /// The method.
        method: String,
        /// JSON-RPC error code.
        code: i64,
        /// Its message.
        message: String,
    },
    /// The cookie file cannot be read or has the wrong shape.
    #[error("--rpc-cookie {path}: {message}")]
    Cookie {
        /// The path.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A header or value failed verification.
    #[error("verification failed at height {height}: {message}")]
    Verify {
        /// Block height.
        height: u64,
        /// What failed.
        message: String,
    },
    /// The source disagrees with itself or with the store, or is not mainnet.
    #[error("{0}")]
    Inconsistent(String),
}

impl SourceError {
    /// True when the user can fix it by changing a flag (bad URL, unreadable cookie, credentials).
    pub fn is_bad_input(&self) -> bool {
        matches!(
            self,
            SourceError::BadUrl { .. }
                | SourceError::Cookie { .. }
                | SourceError::Unauthorized { .. }
        )
    }
}

/// Splits `user:password@` out of a URL. Returns (URL without credentials, credentials).
pub fn split_credentials(url: &str) -> (String, Option<(String, String)>) {
    let Some(scheme_end) = url.find("://") else {
        // No scheme: still never echo what looks like `user:password@`.
        return match url.rfind('@') {
            Some(at) => (url[at + 1..].to_string(), None),
            None => (url.to_string(), None),
        };
    };
    let rest = &url[scheme_end + 3..];
    let auth_end = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..auth_end];
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            let (u, p) = userinfo.split_once(':').unwrap_or((userinfo, ""));
            let clean = format!(
                "{}{}{}",
                &url[..scheme_end + 3],
                &authority[at + 1..],
                &rest[auth_end..]
            );
            (clean, Some((u.to_string(), p.to_string())))
        }
        None => (url.to_string(), None),
    }
}

/// Checks that `url` is http(s) with a host. `flag` names the flag in the error.
pub fn check_url(flag: &'static str, url: &str) -> Result<(), SourceError> {
    let bad = |why: &str| SourceError::BadUrl {
        flag,
        url: split_credentials(url).0,
        why: why.to_string(),
    };
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| bad("the scheme must be http:// or https://"))?;
    let host = rest.split(['/', '?']).next().unwrap_or("");
    if host.is_empty() || host.starts_with(':') {
        return Err(bad("no host"));
    }
    Ok(())
}

pub(crate) fn agent(timeout: Duration) -> ureq::Agent {
    // `.timeout` (a per-request deadline) as well as the per-read ones: ureq 2.12 clears the read
    // timeout of a connection returned to its pool, so a reused keep-alive connection would
    // otherwise wait forever for a slow node.
    ureq::AgentBuilder::new()
        .timeout(timeout)
        .timeout_connect(timeout)
        .timeout_read(timeout)
        .timeout_write(timeout)
        .redirects(0)
        .build()
}

pub(crate) fn snippet(body: &str) -> String {
    let t: String = body.chars().take(120).collect();
    if body.chars().count() > 120 {
        format!("{t}…")
    } else {
        t
    }
}

/// Maps a ureq transport error to ours.
pub(crate) fn transport_error(
    url: &str,
    what: &str,
    timeout: Duration,
    t: &ureq::Transport,
) -> SourceError {
    let msg = t.to_string();
    let timed_out = {
        let mut src: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(t);
        let mut hit = msg.contains("timed out") || msg.contains("Timeout");
        while let Some(s) = src {
            if let Some(io) = s.downcast_ref::<std::io::Error>() {
                if matches!(
                    io.kind(),
                    std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
                ) {
                    hit = true;
                }
            }
            src = s.source();
        }
        hit
    };
    if timed_out {
        SourceError::Timeout {
            url: url.to_string(),
            secs: timeout.as_secs().max(1),
            what: what.to_string(),
        }
    } else {
        SourceError::Connect {
            url: url.to_string(),
            what: what.to_string(),
            message: msg,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_are_split_out() {
        let (u, c) = split_credentials("http://alice:s3cret@127.0.0.1:8332/wallet/x");
        assert_eq!(u, "http://127.0.0.1:8332/wallet/x");
        assert_eq!(c, Some(("alice".into(), "s3cret".into())));
        assert_eq!(split_credentials("http://h:1").1, None);
        assert!(check_url("--rpc", "ftp://x").is_err());
        assert!(check_url("--rpc", "http://").is_err());
        let e = check_url("--rpc", "alice:pw@host").unwrap_err().to_string();
        assert!(!e.contains("pw"), "{e}");
        assert!(check_url("--mempool", "https://mempool.space").is_ok());
    }
}
