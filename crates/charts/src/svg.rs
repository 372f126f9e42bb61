//! Small helpers to write SVG text safely.

use std::fmt::Write as _;

/// Escapes text for use in XML content and attribute values.
pub(crate) fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            '\n' => out.push_str("&#10;"),
            _ => out.push(c),
        }
    }
    out
}

/// Formats a coordinate with 1 decimal (enough at our sizes, keeps files small).
pub(crate) fn c(x: f64) -> String {
    if x.is_finite() {
        let r = (x * 10.0).round() / 10.0;
        if r == r.trunc() {
            format!("{}", r as i64)
        } else {
            format!("{r:.1}")
        }
    } else {
        "0".to_string()
    }
}

/// An SVG document being written.
pub(crate) struct Doc {
    pub(crate) out: String,
}

impl Doc {
    /// Opens an `<svg>` with a viewBox of `width`×`height`, scaling to the container's width.
    pub(crate) fn new(width: f64, height: f64, kind: &str, title: &str) -> Self {
        let mut out = String::new();
        let _ = write!(
            out,
            r#"<svg xmlns="http://www.w3.org/2000/svg" class="hp-chart" data-chart="{kind}" viewBox="0 0 {w} {h}" width="100%" preserveAspectRatio="xMidYMid meet" role="img" aria-label="{t}" font-family="system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif" font-size="13">"#,
            w = c(width),
            h = c(height),
            t = esc(title),
        );
        let _ = write!(out, "<title>{}</title>", esc(title));
        let _ = write!(
            out,
            r##"<rect x="0" y="0" width="{}" height="{}" fill="#ffffff"/>"##,
            c(width),
            c(height)
        );
        if !title.is_empty() {
            let _ = write!(
                out,
                r##"<text x="12" y="20" font-size="15" font-weight="600" fill="#1a1a1a">{}</text>"##,
                esc(title)
            );
        }
        Doc { out }
    }

    pub(crate) fn push(&mut self, s: &str) {
        self.out.push_str(s);
    }

    pub(crate) fn text(&mut self, x: f64, y: f64, anchor: &str, extra: &str, s: &str) {
        let _ = write!(
            self.out,
            r#"<text x="{}" y="{}" text-anchor="{anchor}" {extra}>{}</text>"#,
            c(x),
            c(y),
            esc(s)
        );
    }

    pub(crate) fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, style: &str) {
        let _ = write!(
            self.out,
            r#"<line x1="{}" y1="{}" x2="{}" y2="{}" {style}/>"#,
            c(x1),
            c(y1),
            c(x2),
            c(y2)
        );
    }

    pub(crate) fn finish(mut self) -> String {
        self.out.push_str("</svg>");
        self.out
    }
}

/// A polyline path (`M x y L x y ...`) through the points, skipping non-finite ones (a gap).
pub(crate) fn path_d(points: impl IntoIterator<Item = (f64, f64)>) -> String {
    let mut d = String::new();
    let mut pen_down = false;
    for (x, y) in points {
        if !(x.is_finite() && y.is_finite()) {
            pen_down = false;
            continue;
        }
        let _ = write!(d, "{}{} {}", if pen_down { "L" } else { "M" }, c(x), c(y));
        pen_down = true;
    }
    d
}
