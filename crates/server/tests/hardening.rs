//! Hardening of the HTTP layer on a real socket (127.0.0.1 only): no request path reaches the
//! filesystem, the bearer token, Host/Origin checks, the run queue's 503 + Retry-After, the cap on
//! requests in flight and on event streams, the per-request deadline, and a bounded load of
//! concurrent clients (correctness only: no timing assertions).
//!
//! Requests are written by hand on a `TcpStream` so that paths reach the server byte for byte
//! (an HTTP library would normalize `/../` away before sending).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hashpivot_server::testing::{FixtureEngine, InProcessServer};
use hashpivot_server::{AppState, Limits, Token};
use serde_json::Value;

struct Server {
    addr: SocketAddr,
    srv: InProcessServer,
}

impl Server {
    fn start(db: &Path, delay_ms: u64, limits: Limits) -> Server {
        let engine = Arc::new(FixtureEngine {
            step_delay: Duration::from_millis(delay_ms),
        });
        let state = Arc::new(AppState::open(db, engine, limits).expect("state"));
        let srv = InProcessServer::start(state);
        Server {
            addr: srv.addr,
            srv,
        }
    }

    fn stop(self) {
        self.srv.stop();
    }
}

/// A parsed answer.
#[derive(Debug)]
struct Answer {
    status: u16,
    headers: Vec<(String, String)>,
    body: String,
}

impl Answer {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}), status {}: {}", self.status, self.body))
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest.get(n + 2..).unwrap_or("");
    }
    out
}

fn parse(raw: &[u8]) -> Answer {
    let text = String::from_utf8_lossy(raw).into_owned();
    let (head, rest) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP head in {text:?}"));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"));
    let body = if chunked {
        dechunk(rest)
    } else {
        rest.to_string()
    };
    Answer {
        status,
        headers,
        body,
    }
}

/// Sends `head` (request line and headers, without the final blank line) and `body` as is.
fn raw(addr: SocketAddr, head: &str, body: &[u8]) -> Answer {
    let mut c = TcpStream::connect(addr).expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    let mut req = format!("{head}\r\nConnection: close\r\n");
    if !body.is_empty() || head.starts_with("POST") {
        req.push_str(&format!("Content-Length: {}\r\n", body.len()));
    }
    req.push_str("\r\n");
    c.write_all(req.as_bytes()).unwrap();
    c.write_all(body).unwrap();
    let mut out = Vec::new();
    c.read_to_end(&mut out).unwrap();
    parse(&out)
}

fn get(addr: SocketAddr, path: &str, extra: &str) -> Answer {
    raw(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: {addr}{extra}"),
        b"",
    )
}

fn post(addr: SocketAddr, path: &str, extra: &str, body: &str) -> Answer {
    raw(
        addr,
        &format!("POST {path} HTTP/1.1\r\nHost: {addr}\r\nContent-Type: application/json{extra}"),
        body.as_bytes(),
    )
}

fn wait_final(addr: SocketAddr, id: &str, auth: &str) -> Value {
    let t0 = Instant::now();
    loop {
        let v = get(addr, &format!("/api/runs/{id}"), auth).json();
        if v["status"] == "done" || v["status"] == "failed" || v["status"] == "cancelled" {
            return v;
        }
        assert!(t0.elapsed() < Duration::from_secs(60), "run stuck: {v}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

fn limits() -> Limits {
    Limits {
        max_paths: 50_000,
        max_body: 64 * 1024,
        ..Limits::default()
    }
}

#[test]
fn no_request_path_reaches_the_filesystem() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("db.sqlite"), 0, limits());
    let attempts = [
        "/../../etc/passwd",
        "/assets/../../etc/passwd",
        "/assets/..%2F..%2Fetc%2Fpasswd",
        "/assets/%2e%2e/%2e%2e/etc/passwd",
        "/assets/%252e%252e/etc/passwd",
        "/assets/app.js/../../../etc/passwd",
        "/assets/..\\..\\etc\\passwd",
        "/%2e%2e/%2e%2e/etc/passwd",
        "//etc/passwd",
        "/etc/passwd",
        "/api/runs/..%2F..%2Fetc%2Fpasswd",
        "/api/runs/..%2F..%2Fetc%2Fpasswd/charts",
        "/api/runs/..%2F..%2Fetc%2Fpasswd/events",
        "/api/runs/%2e%2e/charts/npv.svg",
        "/api/runs/abc/charts/..%2F..%2F..%2Fetc%2Fpasswd",
        "/api/runs/%00",
        "/api/history/..%2F..%2Fetc%2Fpasswd",
        "/api/history/..%2Fprice/chart.svg",
        "/runs/..%2F..%2Fetc%2Fpasswd",
        "/runs/%2e%2e",
        "/api/scenario/default?format=../../etc/passwd",
    ];
    for p in attempts {
        let a = get(s.addr, p, "");
        assert!(
            [400, 404].contains(&a.status),
            "{p}: status {} {}",
            a.status,
            a.body
        );
        let v = a.json();
        assert!(v["error"].is_string(), "{p}: {v}");
        assert!(!a.body.contains("root:"), "{p} leaked a file: {}", a.body);
    }
    // A well-formed id that doesn't exist is a 404 naming the id; a malformed one is 400.
    let a = get(s.addr, "/api/runs/0123abc", "");
    assert_eq!((a.status, a.json()["field"].as_str()), (404, Some("id")));
    let long = "a".repeat(65);
    let a = get(s.addr, &format!("/api/runs/{long}"), "");
    assert_eq!((a.status, a.json()["field"].as_str()), (400, Some("id")));
    // The server still serves.
    assert_eq!(get(s.addr, "/api/scenario/default", "").status, 200);
    s.stop();
}

#[test]
fn a_token_guards_every_api_route_but_not_the_pages() {
    let dir = tempfile::tempdir().unwrap();
    let secret = "s3cret-token-for-the-test-0123456789";
    let s = Server::start(
        &dir.path().join("db.sqlite"),
        0,
        Limits {
            token: Some(Token::new(secret).unwrap()),
            ..limits()
        },
    );
    let good = format!("\r\nAuthorization: Bearer {secret}");
    for p in [
        "/api/scenario/default",
        "/api/runs",
        "/api/runs/0123abc",
        "/api/history/price",
        "/api/machines",
        "/api/openapi.json",
        "/api/nope",
    ] {
        for bad in [
            "",
            "\r\nAuthorization: Bearer wrong-token-wrong-token",
            "\r\nAuthorization: Bearer s3cret-token-for-the-test-012345678",
            "\r\nAuthorization: Basic czNjcmV0",
            "\r\nCookie: hashpivot_token=nope",
        ] {
            let a = get(s.addr, p, bad);
            assert_eq!(a.status, 401, "{p} {bad:?}: {}", a.body);
            assert_eq!(a.json()["field"], "Authorization");
            assert!(a.header("www-authenticate").unwrap().starts_with("Bearer"));
            assert!(!a.body.contains(secret));
        }
    }
    let a = post(s.addr, "/api/runs", "", r#"{"paths": 100}"#);
    assert_eq!(a.status, 401, "{}", a.body);
    // With the token (header, or the dashboard's cookie) the API answers.
    assert_eq!(get(s.addr, "/api/scenario/default", &good).status, 200);
    let lower = format!("\r\nAuthorization: bearer {secret}");
    assert_eq!(get(s.addr, "/api/machines", &lower).status, 200);
    // The raw token is no credential as a cookie (issue 17: cookies are shared across ports).
    let cookie = format!("\r\nCookie: theme=dark; hashpivot_token={secret}");
    assert_eq!(get(s.addr, "/api/history/fees", &cookie).status, 401);
    // The dashboard trades the token for a session: a random id in an HttpOnly cookie (no script
    // on the page can read it), which then authenticates requests that cannot send headers, and a
    // CSRF token in the body for the requests that change state.
    let a = post(s.addr, "/api/session", &good, "{}");
    assert_eq!(a.status, 200, "{}", a.body);
    let csrf = a.json()["csrf"].as_str().unwrap().to_string();
    let set = a.header("set-cookie").expect("a cookie").to_string();
    assert!(
        set.starts_with("hashpivot_session=")
            && set.contains("; HttpOnly")
            && set.contains("; SameSite=Strict")
            && set.contains("; Path=/")
            && !set.contains(secret),
        "{set}"
    );
    let pair = set.split(';').next().unwrap();
    let from_cookie = get(s.addr, "/api/machines", &format!("\r\nCookie: {pair}"));
    assert_eq!(from_cookie.status, 200, "{}", from_cookie.body);
    // A state-changing request with the cookie alone (what a page on another port of the same
    // host can make the browser send) is refused; with the session's CSRF header it passes.
    let a = post(
        s.addr,
        "/api/runs",
        &format!("\r\nCookie: {pair}"),
        r#"{"paths": 100}"#,
    );
    assert_eq!(a.status, 403, "{}", a.body);
    assert_eq!(a.json()["field"], "X-CSRF-Token");
    let a = post(
        s.addr,
        "/api/runs",
        &format!("\r\nCookie: {pair}\r\nX-CSRF-Token: {}", &csrf[..63]),
        r#"{"paths": 100}"#,
    );
    assert_eq!(a.status, 403, "{}", a.body);
    let a = post(
        s.addr,
        "/api/runs",
        &format!("\r\nCookie: {pair}\r\nX-CSRF-Token: {csrf}"),
        r#"{"paths": 100}"#,
    );
    assert_eq!(a.status, 201, "{}", a.body);
    let id = a.json()["id"].as_str().unwrap().to_string();
    assert_eq!(wait_final(s.addr, &id, &good)["status"], "done");
    for bad in ["", "\r\nAuthorization: Bearer wrong-token-wrong-token"] {
        let a = post(s.addr, "/api/session", bad, "{}");
        assert_eq!(a.status, 401, "{bad:?}: {}", a.body);
        assert!(a.header("set-cookie").is_none(), "{bad:?}");
    }
    let a = post(s.addr, "/api/runs", &good, r#"{"paths": 100}"#);
    assert_eq!(a.status, 201, "{}", a.body);
    let id = a.json()["id"].as_str().unwrap().to_string();
    assert_eq!(wait_final(s.addr, &id, &good)["status"], "done");
    // The pages and assets are static and public (they hold no data).
    for p in [
        "/",
        "/runs",
        "/history",
        "/assets/app.js",
        "/assets/style.css",
    ] {
        assert_eq!(get(s.addr, p, "").status, 200, "{p}");
    }
    // With a token, any Host name is served (the user may put the server behind a DNS name).
    let a = raw(
        s.addr,
        &format!("GET /api/machines HTTP/1.1\r\nHost: miner.example:8080{good}"),
        b"",
    );
    assert_eq!(a.status, 200);
    s.stop();
}

#[test]
fn foreign_hosts_and_cross_site_posts_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(&dir.path().join("db.sqlite"), 0, limits());
    // Without a token there is nothing to trade for a cookie.
    let a = post(s.addr, "/api/session", "", "{}");
    assert_eq!(a.status, 204, "{}", a.body);
    assert!(a.header("set-cookie").is_none());
    // DNS rebinding: a page of evil.example resolved to 127.0.0.1 sends its own name as Host.
    let a = raw(
        s.addr,
        "GET /api/runs HTTP/1.1\r\nHost: evil.example:8080",
        b"",
    );
    assert_eq!(a.status, 403, "{}", a.body);
    assert_eq!(a.json()["field"], "Host");
    let port = s.addr.port();
    for host in [
        format!("localhost:{port}"),
        format!("127.0.0.1:{port}"),
        "[::1]".to_string(),
    ] {
        let a = raw(
            s.addr,
            &format!("GET /api/runs HTTP/1.1\r\nHost: {host}"),
            b"",
        );
        assert_eq!(a.status, 200, "{host}: {}", a.body);
    }
    // A cross-site simple POST (no preflight) carries Origin: refused before it queues a run.
    let a = post(
        s.addr,
        "/api/runs",
        "\r\nOrigin: http://evil.example",
        r#"{"paths": 100}"#,
    );
    assert_eq!(a.status, 403, "{}", a.body);
    assert_eq!(a.json()["field"], "Origin");
    let a = post(s.addr, "/api/runs", "\r\nOrigin: null", r#"{"paths": 100}"#);
    assert_eq!(a.status, 403, "{}", a.body);
    assert_eq!(get(s.addr, "/api/runs", "").json(), Value::Array(vec![]));
    // The dashboard's own POST (same origin) is accepted.
    let origin = format!("\r\nOrigin: http://{}", s.addr);
    let a = post(s.addr, "/api/runs", &origin, r#"{"paths": 100}"#);
    assert_eq!(a.status, 201, "{}", a.body);
    s.stop();
    // `serve --insecure` (check_host off) serves names too; cross-site POSTs stay refused.
    let s = Server::start(
        &dir.path().join("db2.sqlite"),
        0,
        Limits {
            check_host: false,
            ..limits()
        },
    );
    let a = raw(
        s.addr,
        "GET /api/runs HTTP/1.1\r\nHost: miner.example:8080",
        b"",
    );
    assert_eq!(a.status, 200, "{}", a.body);
    let a = post(
        s.addr,
        "/api/runs",
        "\r\nOrigin: http://evil.example",
        r#"{"paths": 100}"#,
    );
    assert_eq!(a.status, 403, "{}", a.body);
    s.stop();
}

#[test]
fn a_full_queue_answers_503_with_retry_after_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(
        &dir.path().join("db.sqlite"),
        40,
        Limits {
            max_queue: 2,
            ..limits()
        },
    );
    let mut ids = Vec::new();
    for _ in 0..2 {
        let a = post(s.addr, "/api/runs", "", r#"{"paths": 100}"#);
        assert_eq!(a.status, 201, "{}", a.body);
        ids.push(a.json()["id"].as_str().unwrap().to_string());
    }
    let a = post(s.addr, "/api/runs", "", r#"{"paths": 100}"#);
    assert_eq!(a.status, 503, "{}", a.body);
    let secs: u64 = a.header("retry-after").unwrap().parse().unwrap();
    assert!(secs >= 1);
    let v = a.json();
    assert!(
        v["error"].as_str().unwrap().contains("queue is full"),
        "{v}"
    );
    assert_eq!(v["retry_after_s"], secs);
    // The refused run was not stored.
    assert_eq!(
        get(s.addr, "/api/runs", "")
            .json()
            .as_array()
            .unwrap()
            .len(),
        2
    );
    for id in &ids {
        assert_eq!(wait_final(s.addr, id, "")["status"], "done");
    }
    let a = post(s.addr, "/api/runs", "", r#"{"paths": 100}"#);
    assert_eq!(a.status, 201, "{}", a.body);
    s.stop();
}

#[test]
fn slow_requests_time_out_and_the_in_flight_cap_answers_503() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(
        &dir.path().join("db.sqlite"),
        0,
        Limits {
            request_timeout: Duration::from_millis(8000),
            max_in_flight: 1,
            ..limits()
        },
    );
    // A client that announces a body and never sends it holds its request until the deadline.
    // It may itself be refused if it arrives while one of our probes is in flight: then it is
    // sent again. No timing decides the outcome, only the order of events.
    let start_slow = || {
        let mut slow = TcpStream::connect(s.addr).unwrap();
        write!(
            slow,
            "POST /api/runs HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nContent-Length: 100\r\nConnection: close\r\n\r\n{{",
            s.addr
        )
        .unwrap();
        slow
    };
    // True when the server already answered `slow` (it was refused).
    let answered = |slow: &TcpStream| {
        slow.set_nonblocking(true).unwrap();
        let mut b = [0u8; 1];
        let r = slow.peek(&mut b);
        slow.set_nonblocking(false).unwrap();
        !matches!(r, Err(ref e) if e.kind() == std::io::ErrorKind::WouldBlock)
    };
    let mut slow = start_slow();
    let mut attempts = 0;
    let busy = loop {
        std::thread::sleep(Duration::from_millis(50));
        if answered(&slow) {
            attempts += 1;
            assert!(attempts < 50, "the slow request is always refused");
            slow = start_slow();
            continue;
        }
        let a = get(s.addr, "/api/machines", "");
        if a.status == 503 {
            break a;
        }
        assert_eq!(a.status, 200, "{}", a.body);
    };
    slow.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    assert_eq!(busy.header("retry-after"), Some("1"));
    assert!(busy.json()["error"].as_str().unwrap().contains("in flight"));
    let mut out = Vec::new();
    slow.read_to_end(&mut out).unwrap();
    let a = parse(&out);
    assert_eq!(a.status, 503, "{}", a.body);
    assert!(a.header("retry-after").is_some());
    assert!(a.json()["error"].as_str().unwrap().contains("8000 ms"));
    // Afterwards the server serves normally.
    assert_eq!(get(s.addr, "/api/machines", "").status, 200);
    s.stop();
}

#[test]
fn event_streams_are_capped_and_bodies_are_limited() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(
        &dir.path().join("db.sqlite"),
        200,
        Limits {
            max_streams: 1,
            ..limits()
        },
    );
    let a = post(s.addr, "/api/runs", "", r#"{"paths": 100}"#);
    let id = a.json()["id"].as_str().unwrap().to_string();
    let mut first = TcpStream::connect(s.addr).unwrap();
    write!(
        first,
        "GET /api/runs/{id}/events HTTP/1.1\r\nHost: {}\r\n\r\n",
        s.addr
    )
    .unwrap();
    let mut buf = [0u8; 64];
    first.read_exact(&mut buf[..12]).unwrap();
    assert!(buf.starts_with(b"HTTP/1.1 200"));
    let a = get(s.addr, &format!("/api/runs/{id}/events"), "");
    assert_eq!(a.status, 503, "{}", a.body);
    assert!(a.header("retry-after").is_some());
    drop(first);
    // The stream's permit comes back when the run ends (its task then stops).
    assert_eq!(wait_final(s.addr, &id, "")["status"], "done");
    let t0 = Instant::now();
    loop {
        let a = get(s.addr, &format!("/api/runs/{id}/events"), "");
        if a.status == 200 {
            assert!(a.body.contains("event: end"), "{}", a.body);
            break;
        }
        assert!(t0.elapsed() < Duration::from_secs(10), "{}", a.body);
        std::thread::sleep(Duration::from_millis(50));
    }
    // Bodies above the limit are refused with 413 JSON naming the limit.
    let big = format!("{{\"seed\": 1, \"pad\": \"{}\"}}", "x".repeat(70 * 1024));
    let a = post(s.addr, "/api/runs", "", &big);
    assert_eq!(a.status, 413, "{}", a.body);
    assert!(a.json()["error"].as_str().unwrap().contains("65536"));
    s.stop();
}

/// Current resident set of this process, kB (Linux).
fn rss_kb() -> Option<u64> {
    let s = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = s.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// A small, bounded load: 8 client threads send 120 history/list requests and 24 runs into a
/// queue of 4. Every answer must be 2xx or the queue's 503 (with Retry-After); every accepted run
/// finishes `done`; the server answers afterwards. No timing is asserted (see
/// `bench/src/bin/server_load.rs` for throughput and latency).
#[test]
fn bounded_concurrent_load_is_answered_correctly() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(
        &dir.path().join("db.sqlite"),
        5,
        Limits {
            max_queue: 4,
            ..limits()
        },
    );
    let addr = s.addr;
    let rss0 = rss_kb();
    let threads: Vec<_> = (0..8)
        .map(|t| {
            std::thread::spawn(move || {
                let mut accepted = Vec::new();
                let mut refused = 0;
                for i in 0..18 {
                    let a = if i % 6 == 5 {
                        post(
                            addr,
                            "/api/runs",
                            "",
                            &format!("{{\"paths\": 100, \"seed\": {}}}", t * 100 + i),
                        )
                    } else {
                        let p = [
                            "/api/history/price",
                            "/api/history/fees?from=2024-01-01",
                            "/api/runs?limit=5",
                            "/api/history/difficulty/chart.svg",
                            "/api/machines",
                        ][i % 5];
                        get(addr, p, "")
                    };
                    match a.status {
                        200 => {}
                        201 => accepted.push(a.json()["id"].as_str().unwrap().to_string()),
                        503 => {
                            assert!(a.header("retry-after").is_some(), "{}", a.body);
                            assert!(a.json()["error"]
                                .as_str()
                                .unwrap()
                                .contains("queue is full"));
                            refused += 1;
                        }
                        other => panic!("status {other}: {}", a.body),
                    }
                }
                (accepted, refused)
            })
        })
        .collect();
    let mut accepted = Vec::new();
    let mut refused = 0;
    for t in threads {
        let (a, r) = t.join().unwrap();
        accepted.extend(a);
        refused += r;
    }
    assert_eq!(accepted.len() + refused, 24);
    assert!(!accepted.is_empty());
    for id in &accepted {
        assert_eq!(wait_final(addr, id, "")["status"], "done", "{id}");
    }
    let list = get(addr, "/api/runs?limit=1000", "").json();
    assert_eq!(list.as_array().unwrap().len(), accepted.len());
    assert_eq!(get(addr, "/api/scenario/default", "").status, 200);
    if let (Some(a), Some(b)) = (rss0, rss_kb()) {
        eprintln!("RSS before {a} kB, after {b} kB");
    }
    s.stop();
}

#[test]
fn idle_connections_are_closed_and_open_connections_are_capped() {
    let dir = tempfile::tempdir().unwrap();
    let s = Server::start(
        &dir.path().join("db.sqlite"),
        0,
        Limits {
            max_connections: 2,
            idle_timeout: Duration::from_millis(3000),
            ..limits()
        },
    );
    // Two silent clients take both slots.
    let mut a = TcpStream::connect(s.addr).unwrap();
    let b = TcpStream::connect(s.addr).unwrap();
    // A third is accepted by the kernel but not served while they hold the slots.
    let mut c = TcpStream::connect(s.addr).unwrap();
    write!(
        c,
        "GET /api/machines HTTP/1.1\r\nHost: {}\r\nConnection: close\r\n\r\n",
        s.addr
    )
    .unwrap();
    c.set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    let mut buf = [0u8; 16];
    assert!(
        c.read(&mut buf).is_err(),
        "served beyond the connection cap"
    );
    // The idle ones are closed by the server (EOF), which frees the slots and serves the third.
    a.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let t0 = Instant::now();
    assert_eq!(
        a.read(&mut buf).unwrap_or(0),
        0,
        "idle connection not closed"
    );
    assert!(t0.elapsed() < Duration::from_secs(30));
    drop(b);
    c.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut out = Vec::new();
    c.read_to_end(&mut out).unwrap();
    let ans = parse(&out);
    assert_eq!(ans.status, 200);
    assert!(ans.json().as_array().is_some_and(|m| !m.is_empty()));
    s.stop();
}
