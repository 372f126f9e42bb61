//! The checks every request passes before it reaches a handler: the bearer token or the
//! dashboard session, the `Host` and `Origin` headers, the `Content-Type` of state-changing
//! requests, a cap on requests in flight, and a per-request deadline; and the security headers
//! of every answer.
//!
//! Why each one:
//! - **Token** (`--token`): the server can bind a non-loopback address only with one. Every `/api`
//!   route then needs `Authorization: Bearer TOKEN`, or the dashboard's session cookie
//!   ([`crate::auth`]); a state-changing request with the cookie also needs the session's CSRF
//!   token in `X-CSRF-Token` (cookies are shared across the ports of a host).
//! - **Host** (without a token): a page on another site can make a browser talk to
//!   `127.0.0.1:8080` through DNS rebinding (its own name resolving to 127.0.0.1); such requests
//!   carry that site's name in `Host`. Without a token only IP literals and `localhost` are served
//!   (unless `check_host` is off: `serve --insecure`).
//! - **Origin** (every method but GET, HEAD, OPTIONS): browsers add `Origin` to such requests; it
//!   must be exactly this server, `http://` + the `Host` the request was sent to (scheme, host and
//!   port), so a page on another port of the same host (`http://127.0.0.1:3000`) or another name
//!   for it (`http://localhost:8080` when served as 127.0.0.1) is refused.
//! - **Content-Type**: a page can send a cross-origin "simple" request (`text/plain`, form
//!   encodings) without a CORS preflight, and this server answers no preflight. So POST bodies
//!   must be `application/json` (`application/toml` where a scenario file is accepted): types a
//!   browser only sends cross-origin after a preflight, which fails here.
//! - **In flight**: each request holds a permit while its handler runs; past the cap the answer is
//!   an immediate 503 with `Retry-After` instead of an unbounded pile of tasks and buffers.
//! - **Deadline**: a handler (including reading the body from a slow client) that takes longer than
//!   `request_timeout` is dropped and answered 503 with `Retry-After`. Event streams are not cut:
//!   the deadline covers producing the response head, not streaming its body.
//! - **Security headers**: `Content-Security-Policy` (own scripts and styles only, no framing),
//!   `X-Frame-Options: DENY`, `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`,
//!   on every answer, the guard's own refusals included.

use std::sync::Arc;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::auth::{bearer_token, CSRF_HEADER};
use crate::error::ApiError;
use crate::state::AppState;

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

fn is_api(path: &str) -> bool {
    path == "/api" || path.starts_with("/api/")
}

/// `scheme://host[:port]` in lower case without the default port 80, for comparing an `Origin`
/// with `http://` + `Host`.
fn normalized_origin(origin: &str) -> String {
    let o = origin.trim().trim_end_matches('/').to_ascii_lowercase();
    match o.strip_suffix(":80") {
        Some(rest) if rest.starts_with("http://") => rest.to_string(),
        _ => o,
    }
}

/// The media type of the request body (lower case, parameters removed), if any.
fn media_type(headers: &HeaderMap) -> Option<String> {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .map(|t| t.trim().to_ascii_lowercase())
}

/// Routes that take a scenario file, so also accept `application/toml`.
fn takes_toml(path: &str) -> bool {
    path == "/api/runs" || path == "/api/scenario/validate"
}

fn forbidden(field: &str, msg: String) -> Response {
    ApiError::new(StatusCode::FORBIDDEN, msg)
        .field(field)
        .into_response()
}

/// The middleware (see the module documentation for what and why).
pub async fn guard(State(st): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let mut r = check(&st, req, next).await;
    security_headers(r.headers_mut());
    r
}

/// The security headers of every answer.
fn security_headers(h: &mut HeaderMap) {
    // Charts are SVG built in Rust and inserted with their style attributes: inline styles stay
    // allowed, inline scripts do not.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

/// Who may ask: without a token, only requests naming the server by IP address or localhost
/// (DNS rebinding); with one, API requests carrying it or the session cookie (plus its CSRF token
/// when the request changes state). `Some` is the refusal.
fn check_access(
    st: &AppState,
    headers: &HeaderMap,
    path: &str,
    host: Option<&str>,
    changes_state: bool,
) -> Option<Response> {
    match &st.limits.token {
        None if st.limits.check_host => {
            if let Some(h) = host.filter(|h| !host_is_literal(h)) {
                return Some(forbidden(
                    "Host",
                    format!(
                        "Host {:?} is not served: without --token this server answers only to an IP address or localhost (protection against DNS rebinding)",
                        crate::error::clip(h)
                    ),
                ));
            }
        }
        Some(token) if is_api(path) => {
            let by_token = headers
                .contains_key(header::AUTHORIZATION)
                .then(|| bearer_token(headers).is_some_and(|t| token.matches(&t)));
            let ok = match by_token {
                Some(ok) => ok,
                None => match st.sessions.check(headers) {
                    Some(true) => true,
                    Some(false) if !changes_state => true,
                    Some(false) => {
                        return Some(forbidden(
                            "X-CSRF-Token",
                            format!(
                                "a request that changes state with the session cookie needs the session's CSRF token in the {CSRF_HEADER} header (the dashboard sends it; other clients use Authorization: Bearer)"
                            ),
                        ))
                    }
                    None => false,
                },
            };
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
                return Some(r);
            }
        }
        _ => {}
    }
    None
}

/// A request that changes state must come from this server's own pages (its Origin, if sent, is
/// this server) and carry a type a cross-site form cannot send without a preflight. `Some` is the
/// refusal.
fn check_cross_site(
    headers: &HeaderMap,
    path: &str,
    authority: Option<&str>,
    method: &Method,
) -> Option<Response> {
    if let Some(origin) = headers.get(header::ORIGIN) {
        let origin = String::from_utf8_lossy(origin.as_bytes());
        let expected = authority.map(|a| normalized_origin(&format!("http://{a}")));
        if expected.is_none_or(|e| normalized_origin(&origin) != e) {
            return Some(forbidden(
                "Origin",
                format!(
                    "Origin {:?} is not this server ({}): cross-origin requests are refused",
                    crate::error::clip(&origin),
                    authority.map_or("no Host header".to_string(), |a| format!(
                        "http://{}",
                        crate::error::clip(a)
                    ))
                ),
            ));
        }
    }
    // DELETE carries no body, and browsers always preflight it.
    if *method != Method::DELETE {
        let ct = media_type(headers);
        let ok = match ct.as_deref() {
            Some("application/json") => true,
            Some("application/toml" | "text/toml" | "text/x-toml") => takes_toml(path),
            _ => false,
        };
        if !ok {
            let allowed = if takes_toml(path) {
                "application/json or application/toml"
            } else {
                "application/json"
            };
            return Some(
                ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                format!(
                    "Content-Type {}: allowed {allowed} (other types can be sent cross-site without a preflight, so they are refused)",
                    ct.map_or("missing".to_string(), |c| format!("{:?}", crate::error::clip(&c)))
                ),
            )
            .field("Content-Type")
            .into_response(),
            );
        }
    }
    None
}

/// Every request passes here first: access and cross-site checks, the body limit, the in-flight
/// limit and the request deadline, in that order.
async fn check(st: &Arc<AppState>, req: Request, next: Next) -> Response {
    let headers = req.headers();
    let path = req.uri().path();
    let authority = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(|h| h.trim().to_string());
    let host = authority.as_deref().map(host_name);
    let changes_state = !matches!(*req.method(), Method::GET | Method::HEAD | Method::OPTIONS);
    if let Some(refused) = check_access(st, headers, path, host.as_deref(), changes_state) {
        return refused;
    }
    if changes_state {
        if let Some(refused) = check_cross_site(headers, path, authority.as_deref(), req.method()) {
            return refused;
        }
    }
    // A body announced larger than the limit is refused before a byte of it is read: waiting for
    // it would hold a connection (and an in-flight permit) until the read deadline.
    let announced = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if let Some(n) = announced.filter(|n| *n > st.limits.max_body as u64) {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "request body too large: Content-Length {n}, at most {} bytes",
                st.limits.max_body
            ),
        )
        .field("body")
        .into_response();
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
    use super::*;

    #[test]
    fn hosts_and_origins_are_normalized() {
        assert_eq!(host_name("127.0.0.1:8080"), "127.0.0.1");
        assert_eq!(host_name("[::1]:80"), "::1");
        assert_eq!(host_name("LocalHost"), "localhost");
        assert_eq!(host_name("evil.example.:8080"), "evil.example");
        assert!(host_is_literal("::1") && host_is_literal("10.1.2.3"));
        assert!(!host_is_literal("evil.example"));
        assert_eq!(normalized_origin("http://LocalHost:80"), "http://localhost");
        assert_eq!(
            normalized_origin("http://127.0.0.1:8080/"),
            "http://127.0.0.1:8080"
        );
        assert_ne!(
            normalized_origin("https://127.0.0.1:8080"),
            normalized_origin("http://127.0.0.1:8080")
        );
    }
}
