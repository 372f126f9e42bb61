//! Shared helpers for the CLI end-to-end tests: run the real `hashpivot` binary with an isolated
//! database, and snapshot its output with paths and timings normalized (one macro for all tests).

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Output;

/// The `hashpivot` binary built for this test run, with `HASHPIVOT_DB` pointed into `dir` so that
/// tests never touch the user's store and never share one.
pub fn hashpivot(dir: &Path) -> assert_cmd::Command {
    let mut c = assert_cmd::Command::cargo_bin("hashpivot").expect("binary hashpivot is built");
    c.env("HASHPIVOT_DB", dir.join("hashpivot.sqlite"));
    c.env_remove("RUST_LOG");
    c.env("NO_COLOR", "1");
    c
}

/// A fresh temporary directory for one test.
pub fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().expect("temp dir")
}

/// The repository root (for shipped test fixtures under `data/` and `crates/*/tests/fixtures`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// `hashpivot ARGS` run in `dir` (its store, and its working directory for relative paths).
pub fn run_in(dir: &Path, args: &[&str]) -> Output {
    hashpivot(dir)
        .current_dir(dir)
        .args(args)
        .output()
        .expect("hashpivot runs")
}

/// Output's stdout as UTF-8.
pub fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Output's stderr as UTF-8.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Parses stdout as exactly one JSON document.
pub fn json(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("stdout is not one JSON document ({e}):\n{}", stdout(o)))
}

/// Replaces temp paths and the repo path with stable placeholders, and elapsed times with `[TIME]`.
pub fn normalize(text: &str, tmp: Option<&Path>) -> String {
    let mut s = text.to_string();
    if let Some(t) = tmp {
        s = s.replace(&t.display().to_string(), "[TMP]");
    }
    if let Ok(root) = repo_root().canonicalize() {
        s = s.replace(&root.display().to_string(), "[REPO]");
    }
    // "1.23 s", "850 ms": wall-clock figures vary from run to run.
    let mut out = String::with_capacity(s.len());
    for line in s.lines() {
        out.push_str(&mask_times(line));
        out.push('\n');
    }
    out
}

fn mask_times(line: &str) -> String {
    let words: Vec<&str> = line.split(' ').collect();
    let mut out: Vec<String> = Vec::with_capacity(words.len());
    let mut i = 0;
    while i < words.len() {
        let w = words[i];
        let next = words.get(i + 1).copied();
        if w.parse::<f64>().is_ok()
            && matches!(
                next,
                Some("s") | Some("ms") | Some("s,") | Some("ms,") | Some("s)") | Some("ms)")
            )
        {
            out.push("[TIME]".to_string());
            out.push(
                next.unwrap_or("")
                    .trim_start_matches(['s', 'm'])
                    .to_string(),
            );
            i += 2;
            continue;
        }
        out.push(w.to_string());
        i += 1;
    }
    out.join(" ")
}

/// Snapshots a command's normalized stdout with insta: `snap!("name", output)` or
/// `snap!("name", output, tmpdir)`.
#[macro_export]
macro_rules! snap {
    ($name:expr, $out:expr) => {
        insta::assert_snapshot!(
            $name,
            $crate::common::normalize(&$crate::common::stdout(&$out), None)
        )
    };
    ($name:expr, $out:expr, $tmp:expr) => {
        insta::assert_snapshot!(
            $name,
            $crate::common::normalize(&$crate::common::stdout(&$out), Some($tmp))
        )
    };
}

/// One HTTP/1.1 request on a fresh connection (std only, `Connection: close`): the status and the
/// body (de-chunked). `extra` is more header lines, each ending in `\r\n`. The CLI tests talk to
/// `hashpivot serve` with it, so they need no HTTP client dependency.
pub fn http_call(
    base: &str,
    method: &str,
    path: &str,
    body: Option<&str>,
    extra: &str,
) -> (u16, String) {
    use std::io::{Read, Write};
    let host = base.trim_start_matches("http://");
    let mut conn = std::net::TcpStream::connect(host).expect("connect");
    conn.set_read_timeout(Some(std::time::Duration::from_secs(60)))
        .unwrap();
    let body = body.unwrap_or("");
    let req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra}\r\n{body}",
        body.len()
    );
    conn.write_all(req.as_bytes()).unwrap();
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).unwrap();
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").expect("HTTP head");
    let code: u16 = head
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .expect("status");
    let chunked = head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked");
    (
        code,
        if chunked {
            dechunk(rest)
        } else {
            rest.to_string()
        },
    )
}

/// Decodes an HTTP/1.1 chunked body.
pub fn dechunk(mut s: &str) -> String {
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

/// A `hashpivot serve` child on 127.0.0.1 (port 0) with its own database, killed when dropped.
pub struct Serve {
    /// The server process.
    pub child: std::process::Child,
    /// `http://127.0.0.1:PORT`, read from the first line of its `--json` output.
    pub base: String,
}

impl Serve {
    /// Starts `hashpivot --db DB --json serve --addr 127.0.0.1:0 EXTRA...` (without any token from
    /// the environment) and waits for the address line.
    pub fn start(db: &Path, extra: &[&str]) -> Serve {
        use std::io::{BufRead, Read};
        let bin = assert_cmd::cargo::cargo_bin("hashpivot");
        let mut child = std::process::Command::new(bin)
            .arg("--db")
            .arg(db)
            .args(["--json", "serve", "--addr", "127.0.0.1:0"])
            .args(extra)
            .env_remove("HASHPIVOT_TOKEN")
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("start hashpivot serve");
        let mut line = String::new();
        let stdout = child.stdout.take().unwrap();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_else(|e| {
            let mut err = String::new();
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            panic!("first line is not JSON ({e}): {line:?} {err}")
        });
        let base = v["url"].as_str().unwrap().trim_end_matches('/').to_string();
        assert!(base.starts_with("http://127.0.0.1:"), "{base}");
        assert_eq!(v["db"], db.display().to_string());
        Serve { child, base }
    }

    /// One request ([`http_call`]): the status and the body as JSON, or as a JSON string when it
    /// is not JSON. `extra` is more header lines, each ending in `\r\n`.
    pub fn call(
        &self,
        method: &str,
        path: &str,
        body: Option<&str>,
        extra: &str,
    ) -> (u16, serde_json::Value) {
        let (code, payload) = http_call(&self.base, method, path, body, extra);
        let v = serde_json::from_str(&payload).unwrap_or(serde_json::Value::String(payload));
        (code, v)
    }

    /// `GET path`.
    pub fn get(&self, path: &str) -> (u16, serde_json::Value) {
        self.call("GET", path, None, "")
    }

    /// `POST path` with a JSON body.
    pub fn post(&self, path: &str, body: &str) -> (u16, serde_json::Value) {
        self.call("POST", path, Some(body), "")
    }

    /// SIGKILL: no destructor, no graceful shutdown, as a crash or the OOM killer.
    pub fn sigkill(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
