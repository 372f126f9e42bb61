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
