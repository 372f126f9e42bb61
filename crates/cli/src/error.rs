//! Error reporting and exit codes for the binary.
//!
//! Library crates return `thiserror` types; commands wrap them in `anyhow`. Anything the user can fix
//! (a bad flag value, a bad scenario, a malformed file) is marked with [`BadInput`] and exits 2; all
//! else exits 1.

use std::fmt;
use std::process::ExitCode;

/// Marks an error as the user's input being wrong (exit code 2). The message must name the argument
/// or key, the value given and what is allowed.
#[derive(Debug)]
pub struct BadInput(pub String);

impl fmt::Display for BadInput {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for BadInput {}

/// Builds a bad-input error: `bad_input(format!("--paths: 0 is not allowed; use 1 to 10000000"))`.
pub fn bad_input(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(BadInput(msg.into()))
}

/// True when any error in the chain is a [`BadInput`].
pub fn is_bad_input(e: &anyhow::Error) -> bool {
    e.chain().any(|c| c.downcast_ref::<BadInput>().is_some())
}

/// The error and its causes joined by `: `, leaving out a cause whose text the message already
/// holds (a library error that prints its source would otherwise show it twice).
pub fn message(e: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if msg.is_empty() {
            msg = text;
        } else if !msg.contains(&text) {
            msg.push_str(": ");
            msg.push_str(&text);
        }
    }
    msg
}

/// Prints the error (as JSON on stdout when `--json` is set, always as text on stderr) and returns
/// the exit code: 2 for bad input, 1 for anything else.
pub fn report(e: &anyhow::Error, json: bool) -> ExitCode {
    let bad = is_bad_input(e);
    let msg = hashpivot_data::text::clip_quoted(&message(e));
    if json {
        let v = serde_json::json!({
            "error": msg,
            "kind": if bad { "bad_input" } else { "internal" },
        });
        println!("{v}");
    }
    eprintln!("error: {msg}");
    ExitCode::from(if bad { 2 } else { 1 })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Like the store's errors: prints its source and also returns it as the source.
    #[derive(Debug)]
    struct Wraps {
        source: std::io::Error,
    }

    impl fmt::Display for Wraps {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            write!(f, "database x.db: {}", self.source)
        }
    }

    impl std::error::Error for Wraps {
        fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
            Some(&self.source)
        }
    }

    #[test]
    fn a_cause_is_printed_once() {
        let io = std::io::Error::other("disk I/O error");
        let e = anyhow::Error::new(Wraps { source: io }).context("data import price");
        assert_eq!(
            message(&e),
            "data import price: database x.db: disk I/O error"
        );
        let e = anyhow::anyhow!("inner").context("outer");
        assert_eq!(message(&e), "outer: inner");
    }
}
