//! A small strict CSV reader (RFC 4180 quoting, one record per line) whose errors name the file,
//! line, column and value, so a user importing their own file can fix the exact cell; and the one
//! CSV writer ([`CsvWriter`], RFC 4180 quoting).

use crate::date::Date;

/// An error in a CSV file: always names where.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum CsvError {
    /// A cell that does not parse as its column's type or range.
    #[error("{file}: line {line}, column `{column}`: value {value:?} {expected}")]
    BadValue {
        /// File name (or a label for embedded data).
        file: String,
        /// 1-based line number in the file.
        line: usize,
        /// Column name from the header.
        column: String,
        /// The cell as written, clipped to [`crate::text::CLIP_CHARS`] characters.
        value: String,
        /// What is allowed, e.g. "is not a number" or "must be > 0".
        expected: String,
    },
    /// A required column is absent from the header line.
    #[error("{file}: line 1: missing column `{column}` (header has: {found})")]
    MissingColumn {
        /// File name.
        file: String,
        /// The required column.
        column: String,
        /// The header as found.
        found: String,
    },
    /// A row that is structurally wrong (field count, quoting, ordering).
    #[error("{file}: line {line}: {message}")]
    BadRow {
        /// File name.
        file: String,
        /// 1-based line number.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// No header or no data rows.
    #[error("{file}: {message}")]
    Empty {
        /// File name.
        file: String,
        /// What is missing.
        message: String,
    },
}

/// A parsed CSV: header names and rows of cells with their line numbers.
#[derive(Debug, Clone)]
pub struct Csv {
    file: String,
    headers: Vec<String>,
    rows: Vec<(usize, Vec<String>)>,
}

/// One data row, with access to cells by column name.
#[derive(Debug, Clone, Copy)]
pub struct Row<'a> {
    csv: &'a Csv,
    line: usize,
    cells: &'a [String],
}

fn split_line(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = line.chars().peekable();
    let mut in_quotes = false;
    let mut was_quoted = false;
    while let Some(c) = chars.next() {
        if in_quotes {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    cur.push('"');
                    chars.next();
                } else {
                    in_quotes = false;
                }
            } else {
                cur.push(c);
            }
        } else if c == '"' && cur.is_empty() && !was_quoted {
            in_quotes = true;
            was_quoted = true;
        } else if c == ',' {
            out.push(std::mem::take(&mut cur));
            was_quoted = false;
        } else if was_quoted {
            return Err(format!(
                "text after a closing quote in field {}",
                out.len() + 1
            ));
        } else {
            cur.push(c);
        }
    }
    if in_quotes {
        return Err(format!("unterminated quote in field {}", out.len() + 1));
    }
    out.push(cur);
    Ok(out)
}

impl Csv {
    /// Parses `text`; `file` labels errors. Blank lines are skipped; a leading UTF-8 BOM is ignored;
    /// every row must have as many fields as the header (trailing empty fields may be missing).
    pub fn parse(text: &str, file: &str) -> Result<Csv, CsvError> {
        Self::parse_inner(text, file, false)
    }

    /// Like [`Csv::parse`], but lines starting with `#` (after blanks) are comments and skipped
    /// too, as in hand-written hourly price files.
    pub fn parse_commented(text: &str, file: &str) -> Result<Csv, CsvError> {
        Self::parse_inner(text, file, true)
    }

    fn parse_inner(text: &str, file: &str, comments: bool) -> Result<Csv, CsvError> {
        let skip = |l: &str| l.trim().is_empty() || (comments && l.trim_start().starts_with('#'));
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut lines = text.lines().enumerate();
        let (_, header) =
            lines
                .by_ref()
                .find(|(_, l)| !skip(l))
                .ok_or_else(|| CsvError::Empty {
                    file: file.to_string(),
                    message: "the file is empty (expected a header line)".to_string(),
                })?;
        let headers: Vec<String> = split_line(header.trim_end_matches('\r'))
            .map_err(|m| CsvError::BadRow {
                file: file.to_string(),
                line: 1,
                message: m,
            })?
            .into_iter()
            .map(|h| h.trim().to_string())
            .collect();
        let mut rows = Vec::new();
        for (i, l) in lines {
            let l = l.trim_end_matches('\r');
            if skip(l) {
                continue;
            }
            let line = i + 1;
            let mut cells = split_line(l).map_err(|m| CsvError::BadRow {
                file: file.to_string(),
                line,
                message: m,
            })?;
            if cells.len() > headers.len() {
                return Err(CsvError::BadRow {
                    file: file.to_string(),
                    line,
                    message: format!(
                        "{} fields, but the header has {} columns",
                        cells.len(),
                        headers.len()
                    ),
                });
            }
            cells.resize(headers.len(), String::new());
            rows.push((line, cells));
        }
        Ok(Csv {
            file: file.to_string(),
            headers,
            rows,
        })
    }

    /// The file label used in errors.
    pub fn file(&self) -> &str {
        &self.file
    }

    /// Column names.
    pub fn headers(&self) -> &[String] {
        &self.headers
    }

    /// Index of a required column.
    pub fn column(&self, name: &str) -> Result<usize, CsvError> {
        self.headers
            .iter()
            .position(|h| h == name)
            // Header case is not meaningful to a user (`Price_USD_MWh`); exact matches win.
            .or_else(|| {
                self.headers
                    .iter()
                    .position(|h| h.eq_ignore_ascii_case(name))
            })
            .ok_or_else(|| CsvError::MissingColumn {
                file: self.file.clone(),
                column: name.to_string(),
                found: crate::text::clip(&self.headers.join(",")),
            })
    }

    /// Checks that every named column exists (so a wrong file fails on line 1, not on row 1000).
    pub fn require(&self, names: &[&str]) -> Result<(), CsvError> {
        names.iter().try_for_each(|n| self.column(n).map(|_| ()))
    }

    /// The data rows, in file order.
    pub fn rows(&self) -> impl Iterator<Item = Row<'_>> {
        self.rows.iter().map(move |(line, cells)| Row {
            csv: self,
            line: *line,
            cells,
        })
    }

    /// Number of data rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when there are no data rows.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }
}

impl<'a> Row<'a> {
    /// 1-based line number of this row in the file.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The raw cell of a column (trimmed); empty string for an empty cell.
    pub fn str(&self, col: &str) -> Result<&'a str, CsvError> {
        let i = self.csv.column(col)?;
        Ok(self.cells[i].trim())
    }

    /// An error about this row's cell in `col`.
    pub fn bad(&self, col: &str, value: &str, expected: impl Into<String>) -> CsvError {
        CsvError::BadValue {
            file: self.csv.file.clone(),
            line: self.line,
            column: col.to_string(),
            // A 200 MB field must not become a 200 MB message.
            value: crate::text::clip(value),
            expected: expected.into(),
        }
    }

    /// An error about the whole row.
    pub fn bad_row(&self, message: impl Into<String>) -> CsvError {
        CsvError::BadRow {
            file: self.csv.file.clone(),
            line: self.line,
            message: message.into(),
        }
    }

    /// A required date cell.
    pub fn date(&self, col: &str) -> Result<Date, CsvError> {
        let s = self.str(col)?;
        s.parse()
            .map_err(|_| self.bad(col, s, "is not a date; expected YYYY-MM-DD"))
    }

    /// An optional date cell (empty → `None`).
    pub fn opt_date(&self, col: &str) -> Result<Option<Date>, CsvError> {
        if self.str(col)?.is_empty() {
            Ok(None)
        } else {
            self.date(col).map(Some)
        }
    }

    /// A required finite number.
    pub fn f64(&self, col: &str) -> Result<f64, CsvError> {
        let s = self.str(col)?;
        match s.parse::<f64>() {
            Ok(x) if x.is_finite() => Ok(x),
            _ => Err(self.bad(col, s, "is not a finite number")),
        }
    }

    /// An optional finite number (empty → `None`).
    pub fn opt_f64(&self, col: &str) -> Result<Option<f64>, CsvError> {
        if self.str(col)?.is_empty() {
            Ok(None)
        } else {
            self.f64(col).map(Some)
        }
    }

    /// A required number `> 0`.
    pub fn positive(&self, col: &str) -> Result<f64, CsvError> {
        let x = self.f64(col)?;
        if x > 0.0 {
            Ok(x)
        } else {
            Err(self.bad(col, self.str(col)?, "must be > 0"))
        }
    }

    /// A required number `>= 0`.
    pub fn non_negative(&self, col: &str) -> Result<f64, CsvError> {
        let x = self.f64(col)?;
        if x >= 0.0 {
            Ok(x)
        } else {
            Err(self.bad(col, self.str(col)?, "must be >= 0"))
        }
    }

    /// A required unsigned integer.
    pub fn u64(&self, col: &str) -> Result<u64, CsvError> {
        let s = self.str(col)?;
        s.parse()
            .map_err(|_| self.bad(col, s, "is not a non-negative integer"))
    }

    /// An optional unsigned integer.
    pub fn opt_u64(&self, col: &str) -> Result<Option<u64>, CsvError> {
        if self.str(col)?.is_empty() {
            Ok(None)
        } else {
            self.u64(col).map(Some)
        }
    }

    /// An optional signed integer.
    pub fn opt_i64(&self, col: &str) -> Result<Option<i64>, CsvError> {
        let s = self.str(col)?;
        if s.is_empty() {
            return Ok(None);
        }
        s.parse()
            .map(Some)
            .map_err(|_| self.bad(col, s, "is not an integer"))
    }
}

/// Writes CSV text (RFC 4180): fields separated by commas, a field quoted (its `"`
/// doubled) when it holds a comma, a quote or a line break, each record ended by `\n`. The one
/// writer of the workspace: `data export`, the report's tables.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CsvWriter {
    text: String,
}

impl CsvWriter {
    /// A file that starts with the header line `columns`.
    pub fn with_header(columns: &[&str]) -> Self {
        let mut w = CsvWriter::default();
        w.record(columns);
        w
    }

    /// Appends one record; each field is written with its `Display`.
    pub fn record<I>(&mut self, fields: I)
    where
        I: IntoIterator,
        I::Item: std::fmt::Display,
    {
        use std::fmt::Write as _;
        let mut field = String::new();
        for (i, f) in fields.into_iter().enumerate() {
            if i > 0 {
                self.text.push(',');
            }
            field.clear();
            let _ = write!(field, "{f}");
            if field.contains([',', '"', '\n', '\r']) {
                self.text.push('"');
                self.text.push_str(&field.replace('"', "\"\""));
                self.text.push('"');
            } else {
                self.text.push_str(&field);
            }
        }
        self.text.push('\n');
    }

    /// The CSV text.
    pub fn finish(self) -> String {
        self.text
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_and_errors_name_line_and_column() {
        let c = Csv::parse("a,b\n1,\"x, \"\"y\"\"\"\n\n2,z\n", "t.csv").unwrap();
        let rows: Vec<_> = c.rows().collect();
        assert_eq!(rows[0].str("b").unwrap(), "x, \"y\"");
        assert_eq!(rows[1].line(), 4);
        let e = Csv::parse("date,v\n2025-01-01,1\n2025-01-02,abc\n", "f.csv").unwrap();
        let err = e.rows().nth(1).unwrap().f64("v").unwrap_err();
        assert_eq!(
            err.to_string(),
            "f.csv: line 3, column `v`: value \"abc\" is not a finite number"
        );
        assert!(matches!(
            Csv::parse("a\n\"x\n", "q").unwrap_err(),
            CsvError::BadRow { line: 2, .. }
        ));
        assert!(matches!(
            Csv::parse("a,b\n1,2,3\n", "q").unwrap_err(),
            CsvError::BadRow { line: 2, .. }
        ));
        assert!(Csv::parse("date\n", "q").unwrap().column("v").is_err());
    }

    #[test]
    fn writer_quotes_what_needs_it_and_reads_back() {
        let mut w = CsvWriter::with_header(&["name", "value"]);
        w.record(["plain", "1.5"]);
        w.record(["a, b", "say \"hi\""]);
        w.record(["two\nlines", ""]);
        let text = w.finish();
        assert_eq!(
            text,
            "name,value\nplain,1.5\n\"a, b\",\"say \"\"hi\"\"\"\n\"two\nlines\",\n"
        );
        let back = Csv::parse(&text.replace("\"two\nlines\",\n", ""), "t.csv").unwrap();
        let rows: Vec<_> = back.rows().collect();
        assert_eq!(rows[1].str("name").unwrap(), "a, b");
        assert_eq!(rows[1].str("value").unwrap(), "say \"hi\"");
    }

    #[test]
    fn a_huge_field_is_quoted_clipped() {
        let text = format!("date,v\n2025-01-01,{}\n", "7e".repeat(1_000_000));
        let c = Csv::parse(&text, "big.csv").unwrap();
        let err = c.rows().next().unwrap().f64("v").unwrap_err();
        assert_eq!(
            err.to_string(),
            format!(
                "big.csv: line 2, column `v`: value \"{}… (1999920 more characters)\" is not a finite number",
                "7e".repeat(40)
            )
        );
        let wide = format!("{}\n1\n", "c".repeat(10_000));
        let err = Csv::parse(&wide, "w.csv").unwrap().column("v").unwrap_err();
        assert!(err.to_string().len() < 200, "{err}");
    }
}
