//! Human and JSON output: aligned tables with units for people, one JSON document for scripts.
//!
//! Every byte the binary writes goes through here: standard output through [`write_stdout`] (the
//! crate's `print!`/`println!` macros, see `main.rs`), files through [`write_file_atomic`]. A write
//! that fails never panics and never passes silently: a closed pipe ends the process quietly, any
//! other error (a full disk, a file-size limit) exits 1 naming the OS error.

use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::bad_input;

/// Prints `value` as one JSON document on stdout.
pub fn print_json<T: Serialize + ?Sized>(value: &T) -> anyhow::Result<()> {
    println!("{}", serde_json::to_string_pretty(value)?);
    Ok(())
}

/// Writes formatted text to standard output, checking the write. On failure the process ends at
/// once: quietly with exit 0 when the reader has gone away (`hashpivot ... | head`), else with
/// exit 1 and the OS error on stderr (`> /dev/full`, `ulimit -f`). Ending here rather than
/// returning an error keeps the dozens of `println!` call sites simple; nothing is left half-done
/// by it because the store commits before a command prints its result.
pub fn write_stdout(args: fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    if let Err(e) = out.write_fmt(args) {
        stdout_failed(&e);
    }
}

/// Flushes standard output at the end of `main` (text printed with `print!` and no final newline
/// is still buffered); failure is handled like [`write_stdout`].
pub fn finish_stdout() {
    if let Err(e) = std::io::stdout().lock().flush() {
        stdout_failed(&e);
    }
}

/// Writes formatted text to standard error. Errors are ignored: there is nowhere left to report
/// them, and the exit code still tells the caller what happened.
pub fn write_stderr(args: fmt::Arguments<'_>) {
    let _ = std::io::stderr().lock().write_fmt(args);
}

fn stdout_failed(e: &std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    write_stderr(format_args!(
        "error: cannot write to standard output: {e}\n"
    ));
    std::process::exit(1);
}

/// The magic string at the start of every SQLite database file.
const SQLITE_MAGIC: &[u8] = b"SQLite format 3\0";

/// Writes `bytes` to `path` without ever leaving a partial file there: the bytes go to a temporary
/// file in the same directory, which is flushed, fsynced and renamed over `path` only when every
/// write succeeded; on failure the temporary file is removed and an existing `path` is untouched.
/// Refuses (bad input, exit 2) a target that is the database `db` itself (compared by canonical
/// path, so a symlink or `./x/../db` is caught) or any existing SQLite file. Other failures are
/// internal errors (exit 1) naming `flag`, the path and the OS error.
pub fn write_file_atomic(
    flag: &str,
    path: &Path,
    bytes: &[u8],
    db: Option<&Path>,
) -> anyhow::Result<()> {
    if path.as_os_str().is_empty() {
        return Err(bad_input(format!(
            "{flag}: an empty path is not allowed; give a file path"
        )));
    }
    if path.is_dir() {
        return Err(bad_input(format!(
            "{flag}: {} is a directory; give a file path",
            path.display()
        )));
    }
    if let (Some(db), Ok(target)) = (db, path.canonicalize()) {
        if db.canonicalize().is_ok_and(|d| d == target) {
            return Err(bad_input(format!(
                "{flag}: {} is the hashpivot database itself; refusing to overwrite it",
                path.display()
            )));
        }
    }
    if is_sqlite_file(path) {
        return Err(bad_input(format!(
            "{flag}: {} is an SQLite database; refusing to overwrite it (choose another file)",
            path.display()
        )));
    }
    let fail = |what: &str, e: std::io::Error| {
        anyhow::anyhow!("{flag}: cannot {what} {}: {e}", path.display())
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| "out".into());
    let mut tmp = None;
    for i in 0..100u32 {
        let candidate = dir.join(format!(".{name}.{}.{i}.tmp", std::process::id()));
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&candidate)
        {
            Ok(f) => {
                tmp = Some((candidate, f));
                break;
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(fail("write", e)),
        }
    }
    let (tmp_path, mut f) = tmp.ok_or_else(|| {
        anyhow::anyhow!(
            "{flag}: cannot create a temporary file in {}",
            dir.display()
        )
    })?;
    let written = f
        .write_all(bytes)
        .and_then(|()| f.flush())
        .and_then(|()| f.sync_all());
    drop(f);
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp_path, path)) {
        let _ = std::fs::remove_file(&tmp_path);
        return Err(fail("write", e));
    }
    // The rename itself is durable only once the directory is synced (best effort: not every
    // platform lets a directory be opened).
    if let Ok(d) = std::fs::File::open(&dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// True when `path` is an existing file that starts with the SQLite header.
fn is_sqlite_file(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 16];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| head == SQLITE_MAGIC)
}

/// Column alignment of a [`Table`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text columns.
    Left,
    /// Numbers.
    Right,
}

/// A plain aligned text table: a header row, a rule, then the rows.
#[derive(Debug, Clone)]
pub struct Table {
    headers: Vec<String>,
    align: Vec<Align>,
    rows: Vec<Vec<String>>,
}

impl Table {
    /// A table with these headers; the first column is left-aligned, the rest right-aligned
    /// (change it with [`Table::align`]).
    pub fn new<S: Into<String>>(headers: impl IntoIterator<Item = S>) -> Self {
        let headers: Vec<String> = headers.into_iter().map(Into::into).collect();
        let align = (0..headers.len())
            .map(|i| if i == 0 { Align::Left } else { Align::Right })
            .collect();
        Self {
            headers,
            align,
            rows: Vec::new(),
        }
    }

    /// Sets the alignment of column `col`.
    pub fn align(mut self, col: usize, a: Align) -> Self {
        if col < self.align.len() {
            self.align[col] = a;
        }
        self
    }

    /// Appends a row (missing cells print empty).
    pub fn row<S: Into<String>>(&mut self, cells: impl IntoIterator<Item = S>) {
        self.rows.push(cells.into_iter().map(Into::into).collect());
    }

    /// Renders the table with two spaces between columns.
    pub fn render(&self) -> String {
        let n = self.headers.len();
        let mut width: Vec<usize> = self.headers.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate().take(n) {
                width[i] = width[i].max(c.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut s = String::new();
            for (i, w) in width.iter().enumerate() {
                let c = cells.get(i).map(String::as_str).unwrap_or("");
                let pad = w.saturating_sub(c.chars().count());
                if i > 0 {
                    s.push_str("  ");
                }
                match self.align[i] {
                    Align::Left => {
                        s.push_str(c);
                        if i + 1 < n {
                            s.push_str(&" ".repeat(pad));
                        }
                    }
                    Align::Right => {
                        s.push_str(&" ".repeat(pad));
                        s.push_str(c);
                    }
                }
            }
            s.trim_end().to_string()
        };
        let mut out = line(&self.headers);
        out.push('\n');
        let total: usize = width.iter().sum::<usize>() + 2 * n.saturating_sub(1);
        out.push_str(&"-".repeat(total));
        out.push('\n');
        for r in &self.rows {
            out.push_str(&line(r));
            out.push('\n');
        }
        out
    }
}

/// Formats a whole number with thousands separators, exactly: heights and counts above 2^53 must
/// not go through `f64` (9007199254740993 would print as 9,007,199,254,740,992).
pub fn thousands_int(x: impl Into<i128>) -> String {
    let x: i128 = x.into();
    let digits = x.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if x < 0 {
        out.push('-');
    }
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(ch);
    }
    out
}

/// Formats a number with thousands separators and `decimals` decimals: `1234567.8` → `1,234,567.80`.
pub fn thousands(x: f64, decimals: usize) -> String {
    if !x.is_finite() {
        return format!("{x}");
    }
    let s = format!("{:.*}", decimals, x.abs());
    let (int, frac) = match s.split_once('.') {
        Some((i, f)) => (i.to_string(), Some(f.to_string())),
        None => (s.clone(), None),
    };
    let mut grouped = String::new();
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    let sign = if x < 0.0 && s.chars().any(|c| c.is_ascii_digit() && c != '0') {
        "-"
    } else {
        ""
    };
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

/// Formats US dollars compactly for tables: `$1.23 B`, `$45.6 M`, `$7,890`.
pub fn usd(x: f64) -> String {
    let a = x.abs();
    let sign = if x < 0.0 { "-" } else { "" };
    if a >= 1e9 {
        format!("{sign}${:.2} B", a / 1e9)
    } else if a >= 1e6 {
        format!("{sign}${:.1} M", a / 1e6)
    } else {
        format!("{sign}${}", thousands(a, 0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_above_2_pow_53_keep_every_digit() {
        assert_eq!(
            thousands_int(9_007_199_254_740_993u64),
            "9,007,199,254,740,993"
        );
        assert_eq!(thousands_int(u64::MAX), "18,446,744,073,709,551,615");
        assert_eq!(thousands_int(-1234i64), "-1,234");
        assert_eq!(thousands_int(0u32), "0");
        assert_eq!(thousands_int(999u32), "999");
    }

    #[test]
    fn atomic_write_replaces_only_on_success_and_refuses_databases() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("out.csv");
        std::fs::write(&p, "old").unwrap();
        write_file_atomic("--out", &p, b"new", None).unwrap();
        assert_eq!(std::fs::read_to_string(&p).unwrap(), "new");
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        let db = dir.path().join("x.db");
        std::fs::write(&db, b"SQLite format 3\0rest").unwrap();
        let e = write_file_atomic("--out", &db, b"csv", None).unwrap_err();
        assert!(crate::error::is_bad_input(&e), "{e}");
        assert!(std::fs::read(&db).unwrap().starts_with(SQLITE_MAGIC));
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&p, &link).unwrap();
        let e = write_file_atomic("--out", &link, b"csv", Some(&p)).unwrap_err();
        assert!(e.to_string().contains("database itself"), "{e}");
        // A target in a missing directory fails without creating anything.
        let e = write_file_atomic("--out", &dir.path().join("no/such"), b"x", None).unwrap_err();
        assert!(e.to_string().contains("cannot write"), "{e}");
    }

    #[test]
    fn thousands_groups_and_signs() {
        assert_eq!(thousands(1234567.891, 2), "1,234,567.89");
        assert_eq!(thousands(-1234.0, 0), "-1,234");
        assert_eq!(thousands(999.0, 0), "999");
        assert_eq!(thousands(-0.0001, 2), "0.00");
    }

    #[test]
    fn usd_scales() {
        assert_eq!(usd(1.5e9), "$1.50 B");
        assert_eq!(usd(-45.6e6), "-$45.6 M");
        assert_eq!(usd(7890.4), "$7,890");
    }

    #[test]
    fn table_aligns_columns() {
        let mut t = Table::new(["model", "TH/s"]);
        t.row(["S21", "200"]);
        t.row(["S21 XP Hyd", "473"]);
        assert_eq!(
            t.render(),
            "model       TH/s\n----------------\nS21          200\nS21 XP Hyd   473\n"
        );
    }
}
