//! The RPC password never leaves the process: whatever way `data sync` fails (connection refused
//! on a closed 127.0.0.1 port, credentials rejected by a local fake node, a node that never
//! answers, a node whose error page echoes the request's credentials), neither the password nor
//! the `user:password` Basic header value appears on stdout, stderr or in the `--json` document,
//! whether the password came from `--rpc-password`, `$HASHPIVOT_RPC_PASSWORD` or the URL.

use std::time::Duration;

use crate::common::{hashpivot, stderr, stdout, tempdir};
use hashpivot_sources::testing::{fake_core, Fault, Response, TestServer};

const USER: &str = "alice";
const PASSWORD: &str = "Pw-7c1e9b0d44f2-zq";

/// Standard base64 with padding (RFC 4648), as in the Basic header (the CLI's tests don't link
/// the base64 crate).
fn b64(data: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in data.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

/// Every form the secret could take in output.
fn forms() -> Vec<String> {
    let b64 = b64(format!("{USER}:{PASSWORD}").as_bytes());
    vec![
        PASSWORD.to_string(),
        b64,
        // A URL-encoded or partly printed password still gives most of it away.
        PASSWORD[..10].to_string(),
    ]
}

/// Runs `data sync` with the secret passed `how`, in text and in `--json` mode; asserts the
/// command failed with `code` and that no form of the secret was printed. Returns stderr.
fn sync_fails_without_leaking(url: &str, how: &str, code: i32, extra: &[&str]) -> String {
    let dir = tempdir();
    let mut last = String::new();
    for json in [false, true] {
        let mut c = hashpivot(dir.path());
        c.env_remove("HASHPIVOT_RPC_PASSWORD");
        c.args(["data", "sync", "--fee-days", "0", "--from-epoch", "436"]);
        c.args(extra);
        match how {
            "flag" => {
                c.args(["--rpc", url, "--rpc-user", USER, "--rpc-password", PASSWORD]);
            }
            "env" => {
                c.env("HASHPIVOT_RPC_PASSWORD", PASSWORD);
                c.args(["--rpc", url, "--rpc-user", USER]);
            }
            "url" => {
                let with = url.replacen("http://", &format!("http://{USER}:{PASSWORD}@"), 1);
                c.args(["--rpc", &with]);
            }
            _ => unreachable!(),
        }
        if json {
            c.arg("--json");
        }
        let o = c.output().unwrap();
        assert_eq!(
            o.status.code(),
            Some(code),
            "{how} json={json}: {}",
            stderr(&o)
        );
        let (out, err) = (stdout(&o), stderr(&o));
        for f in forms() {
            assert!(
                !out.contains(&f) && !err.contains(&f),
                "{how} json={json}: the secret ({f}) was printed:\nstdout: {out}\nstderr: {err}"
            );
        }
        if json {
            let v = crate::common::json(&o);
            assert!(v["error"].is_string(), "{v}");
        }
        assert!(!err.trim().is_empty(), "a failure must say why");
        last = err;
    }
    last
}

#[test]
fn the_test_encoder_is_base64() {
    // RFC 4648 §10 test vectors.
    for (i, o) in [
        ("", ""),
        ("f", "Zg=="),
        ("fo", "Zm8="),
        ("foo", "Zm9v"),
        ("foob", "Zm9vYg=="),
        ("fooba", "Zm9vYmE="),
        ("foobar", "Zm9vYmFy"),
    ] {
        assert_eq!(b64(i.as_bytes()), o);
    }
}

#[test]
fn connection_refused_does_not_print_the_password() {
    // A port that was just free: nothing listens there any more.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let url = format!("http://127.0.0.1:{port}");
    for how in ["flag", "env", "url"] {
        let err = sync_fails_without_leaking(&url, how, 1, &[]);
        assert!(err.contains("cannot connect"), "{err}");
        // The URL is named (without credentials), so the user knows which node failed.
        assert!(err.contains(&format!("127.0.0.1:{port}")), "{err}");
    }
}

#[test]
fn rejected_credentials_do_not_print_the_password() {
    let server = TestServer::start(fake_core(
        879_100,
        Fault::RequireAuth(USER.into(), "the-right-one-123".into()),
    ))
    .unwrap();
    for how in ["flag", "env", "url"] {
        let err = sync_fails_without_leaking(&server.url(), how, 2, &[]);
        assert!(err.contains("rejected the credentials"), "{err}");
    }
}

#[test]
fn a_silent_node_does_not_print_the_password() {
    let server = TestServer::start(fake_core(
        879_100,
        Fault::Slow("getblockchaininfo".into(), 3_000),
    ))
    .unwrap();
    let err = sync_fails_without_leaking(&server.url(), "flag", 1, &["--timeout", "1"]);
    assert!(err.contains("timeout"), "{err}");
}

/// Known leak (reported to the lead; the fix belongs in `crates/sources/src/rpc.rs`): see below.
#[test]
fn an_error_page_echoing_the_credentials_is_not_printed() {
    // A misconfigured proxy in front of the node that echoes the request in its error page.
    let server = TestServer::start(|req: &hashpivot_sources::testing::Request| {
        let auth = req.header("authorization").unwrap_or("").to_string();
        Response::status(
            502,
            format!("bad gateway; request headers: authorization: {auth}"),
        )
        .delayed(Duration::ZERO)
    })
    .unwrap();
    sync_fails_without_leaking(&server.url(), "flag", 1, &[]);
}

/// Known leak (reported to the lead; the fix belongs in `crates/sources/src/rpc.rs`): the message
/// of a JSON-RPC error and the start of a non-JSON error body are printed as the node sent them.
#[test]
fn an_rpc_error_message_echoing_the_password_is_not_printed() {
    // The plain password echoed in a JSON-RPC error message.
    let want = format!("Basic {}", b64(format!("{USER}:{PASSWORD}").as_bytes()));
    let server = TestServer::start(move |req: &hashpivot_sources::testing::Request| {
        // The node decoded the credentials and put them in its message.
        let decoded = if req.header("authorization") == Some(want.as_str()) {
            format!("{USER}:{PASSWORD}")
        } else {
            "?".to_string()
        };
        Response::status(
            500,
            serde_json::json!({"result": null, "id": 1, "error": {"code": -1, "message": format!("no wallet for {decoded}")}})
                .to_string(),
        )
    })
    .unwrap();
    sync_fails_without_leaking(&server.url(), "flag", 1, &[]);
}
