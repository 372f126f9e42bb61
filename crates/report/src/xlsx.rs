//! A run's tables as one Excel workbook (the dashboard's `GET /api/runs/{id}/export/workbook.xlsx`):
//! one sheet per CSV table (results, year-by-year cash flow, bands, inputs, and the decision and
//! sensitivity when computed), numbers stored as numbers, the header row bold and frozen. The
//! sheets are made from the same CSV text as the CSV downloads, so the two never disagree.

use rust_xlsxwriter::{Format, Workbook};
use serde_json::Value;

pub use rust_xlsxwriter::XlsxError;

use crate::csv::{cashflow_csv, csv_tables, decision_csv};

/// Every table of a run's CSV downloads in workbook order: results, the decision (when given,
/// i.e. once computed), the year-by-year cash flow, then bands, inputs and the sensitivity (when
/// the run computed it).
pub fn run_tables(
    scenario: &Value,
    result: &Value,
    decision: Option<&Value>,
) -> Vec<(String, String)> {
    let mut tables: Vec<(String, String)> = csv_tables(scenario, result)
        .into_iter()
        .map(|(n, t)| (n.to_string(), t))
        .collect();
    tables.insert(1, ("cashflow.csv".into(), cashflow_csv(result)));
    if let Some(d) = decision {
        tables.insert(1, ("decision.csv".into(), decision_csv(d)));
    }
    tables
}

/// The workbook of a run: [`workbook`] of [`run_tables`].
///
/// Errors: the writer's (a failure to zip).
pub fn run_workbook(
    scenario: &Value,
    result: &Value,
    decision: Option<&Value>,
) -> Result<Vec<u8>, XlsxError> {
    workbook(&run_tables(scenario, result, decision))
}

/// Splits CSV text (RFC 4180 quoting, as written by this crate) into rows of fields; a blank line
/// is kept as an empty row (it separates two tables in one CSV).
pub fn csv_rows(text: &str) -> Vec<Vec<String>> {
    let mut rows = Vec::new();
    let mut row = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(ch) = chars.next() {
        any = true;
        if quoted {
            match ch {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                _ => field.push(ch),
            }
            continue;
        }
        match ch {
            '"' => quoted = true,
            ',' => row.push(std::mem::take(&mut field)),
            '\r' => {}
            '\n' => {
                row.push(std::mem::take(&mut field));
                if row.len() == 1 && row[0].is_empty() {
                    row.clear();
                }
                rows.push(std::mem::take(&mut row));
                any = false;
            }
            _ => field.push(ch),
        }
    }
    if any {
        row.push(field);
        rows.push(row);
    }
    rows
}

/// The workbook of `tables` (`(file name, CSV text)`; the sheet is named after the file).
///
/// Errors: the writer's (an invalid sheet name, a failure to zip).
pub fn workbook(tables: &[(String, String)]) -> Result<Vec<u8>, XlsxError> {
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    for (name, text) in tables {
        let sheet = wb.add_worksheet();
        let title: String = name
            .trim_end_matches(".csv")
            .chars()
            .filter(|c| !"[]:*?/\\".contains(*c))
            .take(31)
            .collect();
        sheet.set_name(&title)?;
        let rows = csv_rows(text);
        let mut widths: Vec<usize> = Vec::new();
        // A header is the first row and any row after a blank one.
        let mut header = true;
        for (r, row) in rows.iter().enumerate() {
            let r = u32::try_from(r).unwrap_or(u32::MAX);
            if row.is_empty() {
                header = true;
                continue;
            }
            for (c, v) in row.iter().enumerate() {
                let c = u16::try_from(c).unwrap_or(u16::MAX);
                if widths.len() <= c as usize {
                    widths.resize(c as usize + 1, 8);
                }
                widths[c as usize] = widths[c as usize].max(v.chars().count().min(40) + 2);
                match v.parse::<f64>() {
                    Ok(x) if !header && x.is_finite() => {
                        sheet.write_number(r, c, x)?;
                    }
                    _ if header => {
                        sheet.write_string_with_format(r, c, v, &bold)?;
                    }
                    _ if v.is_empty() => {}
                    _ => {
                        sheet.write_string(r, c, v)?;
                    }
                }
            }
            header = false;
        }
        for (c, w) in widths.iter().enumerate() {
            sheet.set_column_width(u16::try_from(c).unwrap_or(u16::MAX), *w as f64)?;
        }
        sheet.set_freeze_panes(1, 0)?;
    }
    wb.save_to_buffer()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_rows_undo_the_quoting() {
        let rows = csv_rows("a,b\n\"x, \"\"y\"\"\",2\n\nc\n");
        assert_eq!(
            rows,
            vec![
                vec!["a".to_string(), "b".into()],
                vec!["x, \"y\"".into(), "2".into()],
                vec![],
                vec!["c".into()],
            ]
        );
        assert_eq!(csv_rows("a"), vec![vec!["a".to_string()]]);
    }

    #[test]
    fn the_workbook_is_a_zip_with_one_sheet_per_table() {
        let bytes = workbook(&[
            ("results.csv".into(), "strategy,npv\nmine,1.5\n".into()),
            ("cashflow.csv".into(), "year,cash\n1,2\n".into()),
        ])
        .unwrap();
        assert_eq!(&bytes[..2], b"PK");
        // The sheet names are in the (stored) workbook part list.
        let text = String::from_utf8_lossy(&bytes);
        assert!(text.contains("xl/worksheets/sheet2.xml"));
        assert!(!text.contains("xl/worksheets/sheet3.xml"));
    }
}
