//! Quoting user-supplied values in error messages.
//!
//! An error names the offending value so the user can find it, but a value can be a 200 MB CSV
//! field or JSON body: echoing it whole would flood a terminal or an HTTP answer. Every crate quotes
//! values through [`clip`], so the limit is the same everywhere.

/// Longest part of an offending value quoted in an error message, in characters.
pub const CLIP_CHARS: usize = 80;

/// `value` as quoted in an error message: at most [`CLIP_CHARS`] characters, followed by the
/// number of characters left out when it is longer.
pub fn clip(value: &str) -> String {
    match value.char_indices().nth(CLIP_CHARS) {
        None => value.to_string(),
        Some((i, _)) => format!(
            "{}… ({} more characters)",
            &value[..i],
            value[i..].chars().count()
        ),
    }
}

/// `message` with every quoted part (between a pair of `"` or of backticks) longer than
/// [`CLIP_CHARS`] clipped by [`clip`]. For messages built by other libraries (serde's
/// `invalid type: string "…"`, clap's `invalid value '…'` is left alone), and as a last guard
/// where a message leaves the program.
pub fn clip_quoted(message: &str) -> String {
    let mut out = String::with_capacity(message.len().min(4096));
    let mut rest = message;
    while let Some(open) = rest.find(['"', '`']) {
        let q = &rest[open..open + 1];
        let Some(len) = rest[open + 1..].find(q) else {
            break;
        };
        let inner = &rest[open + 1..open + 1 + len];
        out.push_str(&rest[..=open]);
        if is_clipped(inner) {
            out.push_str(inner);
        } else {
            out.push_str(&clip(inner));
        }
        out.push_str(q);
        rest = &rest[open + 2 + len..];
    }
    out.push_str(rest);
    out
}

/// True when `s` is already the output of [`clip`] for a longer value (so it is not cut again).
fn is_clipped(s: &str) -> bool {
    match s.char_indices().nth(CLIP_CHARS) {
        None => true,
        Some((i, _)) => {
            let tail = &s[i..];
            tail.strip_prefix("… (")
                .and_then(|t| t.strip_suffix(" more characters)"))
                .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_values_are_clipped_on_a_character_boundary() {
        assert_eq!(clip("short"), "short");
        assert_eq!(clip(&"x".repeat(80)), "x".repeat(80));
        let long = "é".repeat(1000);
        assert_eq!(
            clip(&long),
            format!("{}… (920 more characters)", "é".repeat(80))
        );
    }

    #[test]
    fn quoted_parts_of_a_message_are_clipped() {
        let m = format!(
            "invalid type: string \"{}\", expected `mine` or `{}`",
            "a".repeat(100),
            "b".repeat(81)
        );
        assert_eq!(
            clip_quoted(&m),
            format!(
                "invalid type: string \"{}… (20 more characters)\", expected `mine` or `{}… (1 more characters)`",
                "a".repeat(80),
                "b".repeat(80)
            )
        );
        // A value clipped before is not clipped again.
        let once = format!("value \"{}\"", clip(&"d".repeat(500)));
        assert_eq!(clip_quoted(&once), once);
        let open = format!("an \"unclosed {}", "c".repeat(200));
        assert_eq!(clip_quoted(&open), open);
    }
}
