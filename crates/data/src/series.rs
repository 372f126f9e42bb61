//! Typed rows of the shipped series and their parsers. The same parsers read a user's own CSV for
//! `hashpivot data import`, so their errors name the line, column and value.

use serde::Serialize;

use crate::csv::{Csv, CsvError, Row};
use crate::date::Date;

/// One daily BTC/USD price.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct PricePoint {
    /// Calendar day (UTC).
    pub date: Date,
    /// USD per BTC at the close of `date` (UTC).
    pub close_usd: f64,
}

/// The height of the chain at the start of a day.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct HeightPoint {
    /// Calendar day.
    pub date: Date,
    /// Highest block whose timestamp is at or before 00:00 America/Los_Angeles of `date`.
    pub height: u32,
}

/// One 2016-block difficulty epoch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Epoch {
    /// `start_height / 2016`.
    pub epoch: u32,
    /// First height of the epoch (a multiple of 2016).
    pub start_height: u32,
    /// Compact target (nBits) of every block in the epoch, when known.
    pub bits: Option<u32>,
    /// Difficulty `T1 / T`.
    pub difficulty: f64,
    /// Header timestamp of the first block, when known.
    pub start_time_unix: Option<i64>,
    /// LA calendar date of the first block (±1 day), when known.
    pub approx_start_date: Option<Date>,
    /// Hash of the first block, when known.
    pub first_block_hash: Option<String>,
    /// Mean hashrate over the epoch (EH/s) from its duration, when known.
    pub implied_hashrate_ehs: Option<f64>,
}

impl Epoch {
    /// Last height of the epoch.
    pub fn end_height(&self) -> u32 {
        self.start_height + 2015
    }

    /// Calendar date the epoch started: the UTC date of the first block's timestamp, else the
    /// approximate LA date.
    pub fn start_date(&self) -> Option<Date> {
        self.start_time_unix
            .map(Date::from_unix)
            .or(self.approx_start_date)
    }

    /// Start as fractional Unix days: exact from the timestamp, else noon UTC of the approximate
    /// date (the midpoint of its ±1 day uncertainty).
    pub fn start_unix_days(&self) -> Option<f64> {
        match (self.start_time_unix, self.approx_start_date) {
            (Some(t), _) => Some(t as f64 / 86_400.0),
            (None, Some(d)) => Some(f64::from(d.days()) + 0.5),
            _ => None,
        }
    }
}

/// Total fees paid to miners on one day.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FeeDay {
    /// Calendar day (UTC).
    pub date: Date,
    /// Fees of all blocks of that day, BTC.
    pub fees_btc: f64,
    /// Blocks of that day when the source counts them (getblockstats sums).
    pub blocks: Option<u32>,
    /// Where the value comes from.
    pub source: String,
}

/// A retarget block header from the bitcoinj checkpoints (decoded).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CheckpointHeader {
    /// Height (a multiple of 2016).
    pub height: u32,
    /// Block hash, display (big-endian) hex.
    pub block_hash: String,
    /// Header timestamp.
    pub time_unix: i64,
    /// nBits.
    pub bits: u32,
    /// Previous block hash, display hex.
    pub prev_block_hash: String,
    /// The raw 80-byte header, hex.
    pub header_hex: String,
}

fn check_increasing(row: &Row<'_>, prev: Option<Date>, date: Date) -> Result<(), CsvError> {
    if let Some(p) = prev {
        if date <= p {
            return Err(row.bad(
                "date",
                &date.to_string(),
                format!("must be after the previous row's date {p} (rows sorted by date, no duplicates)"),
            ));
        }
    }
    Ok(())
}

fn non_empty<T>(csv: &Csv, v: Vec<T>) -> Result<Vec<T>, CsvError> {
    if v.is_empty() {
        return Err(CsvError::Empty {
            file: csv.file().to_string(),
            message: "no data rows after the header".to_string(),
        });
    }
    Ok(v)
}

// Physical ranges of imported rows. A user's file is checked as strictly as the shipped data: a
// value outside them is a unit mistake (sats for BTC, cents for dollars) or a broken export, and
// would silently skew every calibration and history built on it.

/// The genesis block's date: no series has rows before it.
const GENESIS: Date = Date::from_days(14_247);
/// Highest BTC/USD accepted (the scenario's `price.spot` limit).
pub const MAX_PRICE_USD: f64 = 1e12;
/// Largest hourly power price accepted, in absolute value, $/MWh: ten times ERCOT's highest offer
/// cap ever ($9000). A price file with $1e308/MWh is a broken file, and would overflow every sum.
pub const MAX_ABS_USD_MWH: f64 = 1e5;
/// Highest fees of one day accepted, BTC: about seven times the record (1496 BTC, 2024-04-20).
pub const MAX_FEES_BTC_PER_DAY: f64 = 1e4;
/// Highest average block rate accepted since genesis, blocks per day: twice the target rate (the
/// chain has averaged at most ~155).
const MAX_BLOCKS_PER_DAY: u64 = 288;
/// Largest relative gap between a row's `difficulty` and the one its `bits_hex` encodes (the
/// shipped table prints difficulty with six decimals: gaps up to 4e-7).
const BITS_TOLERANCE: f64 = 1e-5;

fn check_date(row: &Row<'_>, col: &str, date: Date) -> Result<(), CsvError> {
    if date < GENESIS {
        return Err(row.bad(
            col,
            &date.to_string(),
            format!("is before the genesis block ({GENESIS})"),
        ));
    }
    Ok(())
}

/// Parses `date,close_usd` (extra columns ignored): dates strictly increasing, prices > 0.
pub fn parse_prices(text: &str, file: &str) -> Result<Vec<PricePoint>, CsvError> {
    let csv = Csv::parse(text, file)?;
    csv.require(&["date", "close_usd"])?;
    let mut out: Vec<PricePoint> = Vec::with_capacity(csv.len());
    for row in csv.rows() {
        let date = row.date("date")?;
        check_date(&row, "date", date)?;
        check_increasing(&row, out.last().map(|p| p.date), date)?;
        let close_usd = row.positive("close_usd")?;
        if close_usd > MAX_PRICE_USD {
            return Err(row.bad(
                "close_usd",
                row.str("close_usd")?,
                "must be at most 1e12 USD per BTC",
            ));
        }
        out.push(PricePoint { date, close_usd });
    }
    non_empty(&csv, out)
}

/// Parses `date,height_at_la_midnight`: dates strictly increasing, heights never decreasing.
pub fn parse_heights(text: &str, file: &str) -> Result<Vec<HeightPoint>, CsvError> {
    let csv = Csv::parse(text, file)?;
    csv.require(&["date", "height_at_la_midnight"])?;
    let mut out: Vec<HeightPoint> = Vec::with_capacity(csv.len());
    for row in csv.rows() {
        let date = row.date("date")?;
        check_date(&row, "date", date)?;
        check_increasing(&row, out.last().map(|p| p.date), date)?;
        let h = row.u64("height_at_la_midnight")?;
        let days = u64::try_from(date.days_since(GENESIS)).unwrap_or(0) + 1;
        if h > MAX_BLOCKS_PER_DAY * days {
            return Err(row.bad(
                "height_at_la_midnight",
                &h.to_string(),
                format!(
                    "is not reachable by {date}: at most {} ({MAX_BLOCKS_PER_DAY} blocks a day since the genesis block)",
                    MAX_BLOCKS_PER_DAY * days
                ),
            ));
        }
        let height = u32::try_from(h)
            .map_err(|_| row.bad("height_at_la_midnight", &h.to_string(), "is too large"))?;
        if let Some(p) = out.last() {
            if height < p.height {
                return Err(row.bad(
                    "height_at_la_midnight",
                    &height.to_string(),
                    format!("must not be below the previous row's {}", p.height),
                ));
            }
        }
        out.push(HeightPoint { date, height });
    }
    non_empty(&csv, out)
}

fn parse_bits(row: &Row<'_>, col: &str) -> Result<Option<u32>, CsvError> {
    let s = row.str(col)?;
    if s.is_empty() {
        return Ok(None);
    }
    let h = s.trim_start_matches("0x");
    u32::from_str_radix(h, 16)
        .map(Some)
        .map_err(|_| row.bad(col, s, "is not a compact target in hex (e.g. 1d00ffff)"))
}

/// The row's `difficulty`: at least 1 (the proof-of-work limit), at most 1e30, and the difficulty
/// its `bits_hex` encodes when the row has one.
fn epoch_difficulty(row: &Row<'_>, has_bits: bool) -> Result<f64, CsvError> {
    let d = row.positive("difficulty")?;
    if !(1.0..=1e30).contains(&d) {
        return Err(row.bad(
            "difficulty",
            row.str("difficulty")?,
            "must be from 1 (the proof-of-work limit) to 1e30",
        ));
    }
    if let Some(bits) = if has_bits {
        parse_bits(row, "bits_hex")?
    } else {
        None
    } {
        if let Err(e) = hashpivot_chain::Target::from_compact(bits) {
            return Err(row.bad(
                "bits_hex",
                row.str("bits_hex")?,
                format!("is not a valid target: {e}"),
            ));
        }
        let want = hashpivot_chain::compact::difficulty(bits);
        if (d - want).abs() > BITS_TOLERANCE * want {
            return Err(row.bad(
                "difficulty",
                row.str("difficulty")?,
                format!("does not match bits_hex {bits:08x}, which encodes difficulty {want}"),
            ));
        }
    }
    Ok(d)
}

/// Parses a difficulty-epoch table. Required columns: `start_height`, `difficulty`. Optional:
/// `epoch`, `bits_hex`, `start_time_unix`, `approx_start_date_la` (or `start_date`),
/// `first_block_hash`, `implied_hashrate_ehs`. Start heights must be multiples of 2016, increasing.
pub fn parse_epochs(text: &str, file: &str) -> Result<Vec<Epoch>, CsvError> {
    let csv = Csv::parse(text, file)?;
    csv.require(&["start_height", "difficulty"])?;
    let has = |c: &str| csv.headers().iter().any(|h| h == c);
    let date_col = if has("approx_start_date_la") {
        Some("approx_start_date_la")
    } else if has("start_date") {
        Some("start_date")
    } else {
        None
    };
    let mut out: Vec<Epoch> = Vec::with_capacity(csv.len());
    for row in csv.rows() {
        let sh = row.u64("start_height")?;
        if sh % 2016 != 0 || sh > u64::from(u32::MAX) {
            return Err(row.bad(
                "start_height",
                &sh.to_string(),
                "must be a multiple of 2016 (a retarget boundary)",
            ));
        }
        let start_height = sh as u32;
        let epoch = start_height / 2016;
        if has("epoch") {
            let e = row.u64("epoch")?;
            if e != u64::from(epoch) {
                return Err(row.bad(
                    "epoch",
                    &e.to_string(),
                    format!("must equal start_height/2016 = {epoch}"),
                ));
            }
        }
        if let Some(p) = out.last() {
            if start_height <= p.start_height {
                return Err(row.bad(
                    "start_height",
                    &sh.to_string(),
                    format!("must be above the previous row's {}", p.start_height),
                ));
            }
        }
        let opt_str = |c: &str| -> Result<Option<String>, CsvError> {
            if has(c) {
                let s = row.str(c)?;
                Ok((!s.is_empty()).then(|| s.to_string()))
            } else {
                Ok(None)
            }
        };
        out.push(Epoch {
            epoch,
            start_height,
            bits: if has("bits_hex") {
                parse_bits(&row, "bits_hex")?
            } else {
                None
            },
            difficulty: epoch_difficulty(&row, has("bits_hex"))?,
            start_time_unix: if has("start_time_unix") {
                row.opt_i64("start_time_unix")?
            } else {
                None
            },
            approx_start_date: match date_col {
                Some(c) => row.opt_date(c)?,
                None => None,
            },
            first_block_hash: opt_str("first_block_hash")?,
            implied_hashrate_ehs: if has("implied_hashrate_ehs") {
                row.opt_f64("implied_hashrate_ehs")?.filter(|x| *x > 0.0)
            } else {
                None
            },
        });
    }
    non_empty(&csv, out)
}

/// Parses daily fees: `date,fees_btc` plus optional `blocks` and `source`. Dates increasing, fees
/// at least 0. `skip_empty` drops rows whose `fees_btc` is empty (one upstream export has such a row);
/// otherwise an empty cell is an error.
pub fn parse_fees(text: &str, file: &str, skip_empty: bool) -> Result<Vec<FeeDay>, CsvError> {
    let csv = Csv::parse(text, file)?;
    csv.require(&["date", "fees_btc"])?;
    let has_blocks = csv.headers().iter().any(|h| h == "blocks");
    let has_source = csv.headers().iter().any(|h| h == "source");
    let mut out: Vec<FeeDay> = Vec::with_capacity(csv.len());
    for row in csv.rows() {
        let date = row.date("date")?;
        check_date(&row, "date", date)?;
        check_increasing(&row, out.last().map(|p| p.date), date)?;
        if skip_empty && row.str("fees_btc")?.is_empty() {
            continue;
        }
        let fees_btc = row.non_negative("fees_btc")?;
        if fees_btc > MAX_FEES_BTC_PER_DAY {
            return Err(row.bad(
                "fees_btc",
                row.str("fees_btc")?,
                "must be at most 10000 BTC a day (the record is 1496; are these satoshis?)",
            ));
        }
        let blocks = if has_blocks {
            match row.opt_u64("blocks")? {
                Some(0) => return Err(row.bad("blocks", "0", "must be > 0 (or empty)")),
                Some(b) if b > 1000 => {
                    return Err(row.bad(
                        "blocks",
                        &b.to_string(),
                        "is not a plausible blocks-per-day count (1..=1000)",
                    ))
                }
                b => b.map(|b| b as u32),
            }
        } else {
            None
        };
        out.push(FeeDay {
            date,
            fees_btc,
            blocks,
            source: if has_source {
                row.str("source")?.to_string()
            } else {
                String::new()
            },
        });
    }
    non_empty(&csv, out)
}

/// Parses the decoded bitcoinj checkpoint headers.
pub fn parse_checkpoint_headers(text: &str, file: &str) -> Result<Vec<CheckpointHeader>, CsvError> {
    let csv = Csv::parse(text, file)?;
    csv.require(&[
        "height",
        "block_hash",
        "time_unix",
        "bits_hex",
        "prev_block_hash",
        "header_hex",
    ])?;
    let mut out = Vec::with_capacity(csv.len());
    for row in csv.rows() {
        let header_hex = row.str("header_hex")?;
        if header_hex.len() != 160 || !header_hex.bytes().all(|c| c.is_ascii_hexdigit()) {
            return Err(row.bad(
                "header_hex",
                header_hex,
                "must be 160 hex digits (an 80-byte header)",
            ));
        }
        out.push(CheckpointHeader {
            height: row.u64("height")? as u32,
            block_hash: row.str("block_hash")?.to_string(),
            time_unix: row
                .opt_i64("time_unix")?
                .ok_or_else(|| row.bad("time_unix", "", "is required"))?,
            bits: parse_bits(&row, "bits_hex")?
                .ok_or_else(|| row.bad("bits_hex", "", "is required"))?,
            prev_block_hash: row.str("prev_block_hash")?.to_string(),
            header_hex: header_hex.to_string(),
        });
    }
    non_empty(&csv, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err<T: std::fmt::Debug>(r: Result<T, CsvError>) -> String {
        r.expect_err("the row must be refused").to_string()
    }

    #[test]
    fn difficulty_must_match_its_bits() {
        let ok = "start_height,bits_hex,difficulty\n0,1d00ffff,1.000000\n2016,1b0404cb,16307.420938523983\n";
        let rows = parse_epochs(ok, "e.csv").unwrap();
        assert_eq!(rows[1].bits, Some(0x1b0404cb));
        let e = err(parse_epochs(
            "start_height,bits_hex,difficulty\n0,1d00ffff,5\n",
            "e.csv",
        ));
        assert_eq!(
            e,
            "e.csv: line 2, column `difficulty`: value \"5\" does not match bits_hex 1d00ffff, which encodes difficulty 1"
        );
        let e = err(parse_epochs(
            "start_height,bits_hex,difficulty\n0,1d80ffff,1\n",
            "e.csv",
        ));
        assert!(
            e.starts_with(
                "e.csv: line 2, column `bits_hex`: value \"1d80ffff\" is not a valid target"
            ),
            "{e}"
        );
        let e = err(parse_epochs("start_height,difficulty\n0,0.5\n", "e.csv"));
        assert!(
            e.contains("column `difficulty`: value \"0.5\" must be from 1"),
            "{e}"
        );
    }

    #[test]
    fn values_outside_physical_ranges_name_row_and_column() {
        let e = err(parse_prices("date,close_usd\n2024-01-01,1e13\n", "p.csv"));
        assert_eq!(
            e,
            "p.csv: line 2, column `close_usd`: value \"1e13\" must be at most 1e12 USD per BTC"
        );
        let e = err(parse_prices("date,close_usd\n2008-12-31,1\n", "p.csv"));
        assert_eq!(
            e,
            "p.csv: line 2, column `date`: value \"2008-12-31\" is before the genesis block (2009-01-03)"
        );
        // 2009-01-13 is day 10 after genesis: at most 288 * 11 = 3168 blocks.
        parse_heights("date,height_at_la_midnight\n2009-01-13,3168\n", "h.csv").unwrap();
        let e = err(parse_heights(
            "date,height_at_la_midnight\n2009-01-13,3169\n",
            "h.csv",
        ));
        assert!(e.starts_with("h.csv: line 2, column `height_at_la_midnight`: value \"3169\" is not reachable by 2009-01-13: at most 3168"), "{e}");
        let e = err(parse_fees(
            "date,fees_btc\n2024-01-01,25\n2024-01-02,2500000000\n",
            "f.csv",
            false,
        ));
        assert!(e.starts_with("f.csv: line 3, column `fees_btc`: value \"2500000000\" must be at most 10000 BTC a day"), "{e}");
    }

    #[test]
    fn the_shipped_data_is_within_the_ranges() {
        assert!(parse_prices(crate::shipped::PRICE_CSV, "p").is_ok());
        assert!(parse_heights(crate::shipped::HEIGHTS_CSV, "h").is_ok());
        assert!(parse_epochs(crate::shipped::EPOCHS_CSV, "e").is_ok());
        assert!(parse_fees(crate::shipped::FEES_MERGED_CSV, "f", true).is_ok());
    }
}
