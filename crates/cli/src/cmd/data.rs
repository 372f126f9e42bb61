//! `hashpivot data` (status, import, export, sync), `hashpivot history hashprice`,
//! `hashpivot calibrate` and `hashpivot leases`: the store and what is computed from it.
//!
//! Raw flags are validated here into the libraries' types (`hashpivot_data::Date`, the store's
//! series, the sources' clients); the work happens in `hashpivot-store`, `hashpivot-data` and
//! `hashpivot-sources`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hashpivot_data::forwards::parse_forwards;
use hashpivot_data::series::{parse_epochs, parse_fees, parse_heights, parse_prices};
use hashpivot_data::{hashprice_history, CsvWriter, Date, HashpriceDay, MarketState};
use hashpivot_sources::daily::{
    fee_days, height_days, mempool_fees, mempool_heights, mempool_interval, mempool_tip, rpc_fees,
    rpc_heights, rpc_tip, Tip,
};
use hashpivot_sources::mempool::MempoolClient;
use hashpivot_sources::rpc::{RpcAuth, RpcClient};
use hashpivot_sources::sync::{sync_mempool, sync_rpc, Anchor, RpcSyncOptions};
use hashpivot_sources::SourceError;
use hashpivot_store::{ImportReport, Series, Store};
use serde::Serialize;

use crate::error::bad_input;
use crate::output::{print_json, thousands, usd, Align, Table};
use crate::Global;

// ---------------------------------------------------------------------------------------------
// Shared helpers

/// Opens the store: `--db` / `$HASHPIVOT_DB` (clap wires the variable to `g.db`), else the
/// default location. Creates, migrates and loads the shipped history on first use.
pub fn open_store(g: &Global) -> anyhow::Result<Store> {
    Ok(Store::open(&store_path(g)?)?)
}

/// Opens the store for a command that only reads it ([`Store::open_read_only`]): works on a
/// read-only file or directory once the store has been created and migrated.
pub fn open_store_read(g: &Global) -> anyhow::Result<Store> {
    Ok(Store::open_read_only(&store_path(g)?)?)
}

/// The database path from `--db` / `$HASHPIVOT_DB`, else the default location.
fn store_path(g: &Global) -> anyhow::Result<PathBuf> {
    let path =
        match &g.db {
            Some(p) if p.as_os_str().is_empty() => return Err(bad_input(
                "--db: an empty path is not allowed; give a file path (e.g. ./hashpivot.sqlite)",
            )),
            Some(p) => p.clone(),
            None => hashpivot_store::default_path()?,
        };
    if path.is_dir() {
        return Err(bad_input(format!(
            "--db: {} is a directory; give a file path (e.g. {}/hashpivot.sqlite)",
            path.display(),
            path.display()
        )));
    }
    Ok(path)
}

fn parse_date_flag(flag: &str, value: Option<&str>) -> anyhow::Result<Option<Date>> {
    match value {
        None => Ok(None),
        Some(v) => v.parse::<Date>().map(Some).map_err(|_| {
            bad_input(format!(
                "{flag}: {v:?} is not a date; expected YYYY-MM-DD (e.g. 2025-03-03)"
            ))
        }),
    }
}

fn date_range(
    from: Option<&str>,
    to: Option<&str>,
) -> anyhow::Result<(Option<Date>, Option<Date>)> {
    let f = parse_date_flag("--from", from)?;
    let t = parse_date_flag("--to", to)?;
    if let (Some(a), Some(b)) = (f, t) {
        if a > b {
            return Err(bad_input(format!(
                "--from {a} is after --to {b}; --from must be on or before --to"
            )));
        }
    }
    Ok((f, t))
}

fn source_err(e: SourceError) -> anyhow::Error {
    if e.is_bad_input() {
        bad_input(e.to_string())
    } else {
        anyhow::Error::new(e)
    }
}

// ---------------------------------------------------------------------------------------------
// hashpivot data

/// Arguments of `hashpivot data`.
#[derive(Debug, clap::Args)]
pub struct DataArgs {
    /// What to do.
    #[command(subcommand)]
    pub cmd: DataCmd,
}

/// `hashpivot data` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum DataCmd {
    /// What is in the store: series, ranges, row counts, sources, last update.
    Status,
    /// Import your own CSV into the store (all rows or none).
    Import(ImportArgs),
    /// Export a stored series as CSV (the import format).
    Export(ExportArgs),
    /// Refresh the store from a Bitcoin Core node (--rpc) or a mempool.space-style API (--mempool).
    Sync(SyncArgs),
}

/// Kinds of CSV `data import` understands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ImportKind {
    /// `date,close_usd` (USD per BTC, daily UTC close).
    Price,
    /// `date,fees_btc[,blocks]` (fees paid per day, BTC).
    Fees,
    /// Hourly $/MWh: `delivery_date,hour_ending[,repeated_hour_flag],NODE...` or `date,hour_ending,node,usd_mwh`.
    Power,
    /// `start_height,difficulty[,bits_hex,start_time_unix,start_date]` (one row per retarget epoch).
    Difficulty,
    /// `date,height_at_la_midnight`.
    Heights,
    /// `quote_date,delivery_month,usd_per_ph_day`: hashprice forward marks (USD per PH/s per day
    /// delivered through the month `YYYY-MM`), for `calibrate --forwards`.
    Forwards,
}

/// Arguments of `hashpivot data import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// `FILE --kind KIND`, or `KIND FILE` (e.g. `forwards marks.csv`). The CSV's first line
    /// names its columns.
    #[arg(value_name = "FILE", num_args = 1..=2, required = true)]
    pub args: Vec<PathBuf>,
    /// What the file holds.
    #[arg(long, value_enum)]
    pub kind: Option<ImportKind>,
}

impl ImportArgs {
    /// The kind and the file, from `FILE --kind KIND` or `KIND FILE`.
    fn resolve(&self) -> anyhow::Result<(ImportKind, &Path)> {
        use clap::ValueEnum;
        match (self.args.as_slice(), self.kind) {
            ([file], Some(k)) => Ok((k, file.as_path())),
            ([_], None) => Err(bad_input(
                "data import: say what the file holds: --kind price|fees|power|difficulty|heights|forwards, or `data import KIND FILE`",
            )),
            ([kind, file], None) => {
                let name = kind.to_string_lossy();
                let k = ImportKind::from_str(&name, true).map_err(|_| {
                    bad_input(format!(
                        "KIND: {name:?} is not a kind of data; use price, fees, power, difficulty, heights or forwards"
                    ))
                })?;
                Ok((k, file.as_path()))
            }
            _ => Err(bad_input(
                "data import: give either `KIND FILE` or `FILE --kind KIND`, not both",
            )),
        }
    }
}

/// Arguments of `hashpivot data export`.
#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Series: price, heights, difficulty, fees, power.
    #[arg(value_name = "SERIES")]
    pub series: String,
    /// Write to this file instead of stdout.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// First day (YYYY-MM-DD; daily and hourly series).
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Last day (YYYY-MM-DD).
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
    /// Power only: one node (e.g. HB_WEST). Default: all nodes, one column each.
    #[arg(long, value_name = "NODE")]
    pub node: Option<String>,
}

/// Arguments of `hashpivot data sync`.
#[derive(Debug, clap::Args)]
pub struct SyncArgs {
    /// Bitcoin Core JSON-RPC URL, e.g. http://127.0.0.1:8332.
    #[arg(long, value_name = "URL", conflicts_with = "mempool")]
    pub rpc: Option<String>,
    /// RPC user (with --rpc-password).
    #[arg(
        long,
        value_name = "USER",
        requires = "rpc_password",
        conflicts_with = "rpc_cookie"
    )]
    pub rpc_user: Option<String>,
    /// RPC password (never printed). Prefer --rpc-cookie or $HASHPIVOT_RPC_PASSWORD.
    #[arg(
        long,
        value_name = "PASSWORD",
        env = "HASHPIVOT_RPC_PASSWORD",
        hide_env_values = true
    )]
    pub rpc_password: Option<String>,
    /// The node's .cookie file (e.g. ~/.bitcoin/.cookie).
    #[arg(long, value_name = "FILE")]
    pub rpc_cookie: Option<PathBuf>,
    /// mempool.space-compatible base URL, e.g. https://mempool.space.
    #[arg(long, value_name = "URL")]
    pub mempool: Option<String>,
    /// RPC: first epoch to fetch (default: the one after the newest stored epoch whose first
    /// block hash is known). The epoch before it is fetched too and must match the store; the
    /// fetched epochs replace stored ones.
    #[arg(long, value_name = "N")]
    pub from_epoch: Option<u32>,
    /// RPC: re-fetch the fees of the last DAYS complete UTC days with getblockstats (≈144 calls
    /// a day) instead of the days the store lacks.
    #[arg(long, value_name = "DAYS")]
    pub fee_days: Option<u32>,
    /// mempool: interval of difficulty adjustments (1m, 3m, 6m, 1y, 2y, 3y) [default: the
    /// shortest that reaches the newest stored epoch].
    #[arg(long, value_name = "INTERVAL")]
    pub interval: Option<String>,
    /// mempool: do not fetch historical prices.
    #[arg(long)]
    pub no_prices: bool,
    /// Timeout of one request, seconds.
    #[arg(long, value_name = "SECS", default_value_t = 30)]
    pub timeout: u64,
}

/// Runs `hashpivot data`.
pub fn run(args: &DataArgs, g: &Global) -> anyhow::Result<()> {
    match &args.cmd {
        DataCmd::Status => run_status(g),
        DataCmd::Import(a) => run_import(a, g),
        DataCmd::Export(a) => run_export(a, g),
        DataCmd::Sync(a) => run_sync(a, g),
    }
}

#[derive(Serialize)]
struct StatusJson {
    db: String,
    schema_version: i64,
    shipped_version: &'static str,
    shipped_power_imported: bool,
    series: Vec<hashpivot_store::SeriesStatus>,
    /// How far each daily series (and the difficulty table) lags the newest complete day.
    stale: Vec<Staleness>,
    /// Recorded syncs, newest first.
    syncs: Vec<hashpivot_store::sync::SyncRecord>,
    /// The newest market state the store computes (the default scenario's start after a sync).
    market_state: Option<MarketState>,
    /// The stored hashprice forward marks (`data import forwards`), `null` when there are none.
    forwards: Option<ForwardsStatus>,
}

/// What `data status` says about the stored forward curves.
#[derive(Serialize)]
struct ForwardsStatus {
    /// Marks stored.
    rows: usize,
    /// Distinct quote dates.
    quote_dates: usize,
    /// The newest quote date (the curve `calibrate --forwards` uses by default).
    newest_quote: Date,
    /// Its first and last delivery month.
    months: (
        hashpivot_data::forwards::Month,
        hashpivot_data::forwards::Month,
    ),
    /// Its number of delivery months.
    newest_months: usize,
}

fn forwards_status(store: &Store) -> anyhow::Result<Option<ForwardsStatus>> {
    let all = store.forwards()?;
    let curve = hashpivot_data::forwards::curve_on(&all, None);
    let (Some(first), Some(last)) = (curve.first(), curve.last()) else {
        return Ok(None);
    };
    Ok(Some(ForwardsStatus {
        rows: all.len(),
        quote_dates: all
            .iter()
            .map(|q| q.quote_date)
            .collect::<std::collections::BTreeSet<_>>()
            .len(),
        newest_quote: first.quote_date,
        months: (first.delivery, last.delivery),
        newest_months: curve.len(),
    }))
}

/// One series that lags.
#[derive(Serialize)]
struct Staleness {
    series: &'static str,
    /// Its newest day (or, for difficulty, the epoch needed and the newest stored).
    last: String,
    /// Days behind the reference day.
    days_behind: i64,
    /// The day it is compared with: yesterday (UTC), the newest complete day anywhere.
    reference: Date,
}

/// Which daily series lag yesterday (UTC, the newest day that can be complete), and whether the
/// difficulty table reaches the epoch of the newest stored height.
fn staleness(store: &Store) -> anyhow::Result<Vec<Staleness>> {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    let reference = Date::from_unix(secs).add_days(-1);
    let mut out = Vec::new();
    let mut daily = |series: &'static str, last: Option<Date>| {
        if let Some(l) = last.filter(|l| *l < reference) {
            out.push(Staleness {
                series,
                last: l.to_string(),
                days_behind: i64::from(reference.days_since(l)),
                reference,
            });
        }
    };
    daily("price", store.prices(None, None)?.last().map(|p| p.date));
    let heights = store.heights(None, None)?;
    daily("heights", heights.last().map(|h| h.date));
    daily("fees", store.fees(None, None)?.last().map(|f| f.date));
    let epochs = store.epochs()?;
    if let (Some(h), Some(e)) = (heights.last(), epochs.last()) {
        let need = h.height / 2016;
        if need > e.epoch {
            out.push(Staleness {
                series: "difficulty",
                last: format!(
                    "epoch {} (the newest stored height {} is in epoch {need})",
                    e.epoch, h.height
                ),
                // Blocks past the end of the newest stored epoch, at 144 a day.
                days_behind: i64::from(h.height.saturating_sub(e.start_height + 2016) / 144),
                reference: h.date,
            });
        }
    }
    Ok(out)
}

/// The two tables of `data status` for humans: each series (rows, span, sources, last update,
/// unit), then each series' coverage by source.
fn print_series_tables(series: &[hashpivot_store::SeriesStatus], power: bool) {
    let mut t = Table::new([
        "series",
        "rows",
        "first",
        "last",
        "sources (rows)",
        "updated (UTC)",
        "unit",
    ])
    .align(2, Align::Left)
    .align(3, Align::Left)
    .align(4, Align::Left)
    .align(5, Align::Left)
    .align(6, Align::Left);
    for s in series {
        let sources = if s.sources.is_empty() {
            if s.series == "power" && !power {
                "shipped ERCOT loads on first use".to_string()
            } else {
                "-".to_string()
            }
        } else {
            s.sources
                .iter()
                .map(|(k, n)| format!("{k} {}", thousands(*n as f64, 0)))
                .collect::<Vec<_>>()
                .join(", ")
        };
        t.row([
            s.series.to_string(),
            thousands(s.rows as f64, 0),
            s.first.clone().unwrap_or_else(|| "-".into()),
            s.last.clone().unwrap_or_else(|| "-".into()),
            sources,
            s.updated_at.clone().unwrap_or_else(|| "-".into()),
            s.unit.to_string(),
        ]);
    }
    print!("{}", t.render());
    println!();
    println!("Coverage by source:");
    let mut t = Table::new(["series", "source", "first", "last", "rows"])
        .align(1, Align::Left)
        .align(2, Align::Left)
        .align(3, Align::Left);
    for s in series {
        for c in &s.coverage {
            t.row([
                s.series.to_string(),
                c.source.clone(),
                c.first.clone(),
                c.last.clone(),
                thousands(c.rows as f64, 0),
            ]);
        }
    }
    print!("{}", t.render());
}

fn run_status(g: &Global) -> anyhow::Result<()> {
    let store = open_store_read(g)?;
    let series = store.status()?;
    let power = store.has_shipped_power()?;
    let stale = staleness(&store)?;
    let syncs = store.syncs()?;
    let state = super::market::store_market_state(&store)?;
    let forwards = forwards_status(&store)?;
    if g.json {
        return print_json(&StatusJson {
            db: store.path().to_string(),
            schema_version: Store::schema_version(),
            shipped_version: hashpivot_store::SHIPPED_VERSION,
            shipped_power_imported: power,
            series,
            stale,
            syncs,
            market_state: state,
            forwards,
        });
    }
    println!(
        "Store: {} (schema {}, shipped data {})",
        store.path(),
        Store::schema_version(),
        hashpivot_store::SHIPPED_VERSION
    );
    println!();
    print_series_tables(&series, power);
    println!();
    if stale.is_empty() {
        println!("Stale: nothing (every daily series reaches yesterday).");
    } else {
        for x in &stale {
            println!(
                "Stale: {} ends {} ({} days before {}); run `hashpivot data sync`.",
                x.series, x.last, x.days_behind, x.reference
            );
        }
    }
    match syncs.first() {
        Some(s) => println!(
            "Last sync: {} from {} ({}), tip {}, {} rows, {}.",
            s.started_at,
            s.url,
            s.source,
            s.tip_height.map_or("-".to_string(), |h| h.to_string()),
            s.rows,
            if s.status == "running" {
                "interrupted (the series it committed are kept)"
            } else {
                s.status.as_str()
            }
        ),
        None => println!("Last sync: never (the store holds the shipped data and imports)."),
    }
    if let Some(m) = state {
        println!(
            "Market state: {} (height {}, BTC/USD {}, difficulty epoch {}{}).",
            m.date,
            m.height,
            thousands(m.spot_usd, 2),
            m.difficulty_epoch,
            if m.difficulty_current {
                ""
            } else {
                ", stale: a later epoch is in force"
            }
        );
    }
    match forwards {
        Some(f) => println!(
            "Forward curves: {} marks on {} quote dates; newest {} ({} months, {} to {}), used by `calibrate --forwards`.",
            f.rows, f.quote_dates, f.newest_quote, f.newest_months, f.months.0, f.months.1
        ),
        None => println!("Forward curves: none (data import forwards FILE)."),
    }
    Ok(())
}

fn read_file(path: &Path, what: &str) -> anyhow::Result<String> {
    let bytes = std::fs::read(path)
        .map_err(|e| bad_input(format!("{what}: cannot read {}: {e}", path.display())))?;
    String::from_utf8(bytes).map_err(|e| {
        bad_input(format!(
            "{what}: {} is not UTF-8 text (invalid byte at offset {})",
            path.display(),
            e.utf8_error().valid_up_to()
        ))
    })
}

fn run_import(a: &ImportArgs, g: &Global) -> anyhow::Result<()> {
    let (kind, file) = a.resolve()?;
    let text = read_file(file, "FILE")?;
    let label = file.display().to_string();
    let name = file
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| label.clone());
    let source = format!("import:{name}");
    // Parse and validate the whole file before touching the store: a bad row anywhere means
    // nothing is imported.
    let csv_err = |e: hashpivot_data::CsvError| bad_input(e.to_string());
    let mut store = open_store(g)?;
    if let Some(n) = fault_after_rows()? {
        store.set_fault_after_rows(Some(n));
    }
    let report: ImportReport = match kind {
        ImportKind::Forwards => {
            let rows = parse_forwards(&text, &label).map_err(csv_err)?;
            ImportReport {
                series: "forwards",
                rows: store.import_forwards(&rows, &source)?,
                source: source.clone(),
            }
        }
        ImportKind::Price => {
            let rows = parse_prices(&text, &label).map_err(csv_err)?;
            store.import_prices(&rows, &source)?
        }
        ImportKind::Fees => {
            let rows = parse_fees(&text, &label, false).map_err(csv_err)?;
            store.import_fees(&rows, &source)?
        }
        ImportKind::Difficulty => {
            let rows = parse_epochs(&text, &label).map_err(csv_err)?;
            store.import_epochs(&rows, &source)?
        }
        ImportKind::Heights => {
            let rows = parse_heights(&text, &label).map_err(csv_err)?;
            store.import_heights(&rows, &source)?
        }
        ImportKind::Power => {
            let rows = hashpivot_store::parse_power_csv(&text, &label).map_err(csv_err)?;
            let pb = crate::progress::bar(1, "importing");
            let r = store.import_power(&rows, &source)?;
            pb.finish_and_clear();
            r
        }
    };
    if g.json {
        return print_json(&report);
    }
    println!(
        "Imported {} rows into {} from {} (source {:?}), in one transaction.",
        thousands(report.rows as f64, 0),
        report.series,
        label,
        report.source
    );
    Ok(())
}

/// Test hook: `HASHPIVOT_FAULT_AFTER_ROWS=N` makes an import fail after writing N rows inside its
/// transaction, to show that a failed import leaves the store as it was.
fn fault_after_rows() -> anyhow::Result<Option<usize>> {
    match std::env::var("HASHPIVOT_FAULT_AFTER_ROWS") {
        Ok(v) => v.parse().map(Some).map_err(|_| {
            bad_input(format!(
                "HASHPIVOT_FAULT_AFTER_ROWS: {v:?} is not a row count"
            ))
        }),
        Err(_) => Ok(None),
    }
}

fn fmt_opt<T: ToString>(v: &Option<T>) -> String {
    v.as_ref().map(ToString::to_string).unwrap_or_default()
}

/// The difficulty epochs starting in `from..=to` as CSV (one row per epoch) and as JSON.
fn export_epochs(
    store: &Store,
    from: Option<Date>,
    to: Option<Date>,
) -> anyhow::Result<(String, serde_json::Value)> {
    let rows: Vec<_> = store
        .epochs()?
        .into_iter()
        .filter(|e| {
            let d = e.start_date();
            from.is_none_or(|f| d.is_some_and(|d| d >= f))
                && to.is_none_or(|t| d.is_some_and(|d| d <= t))
        })
        .collect();
    let mut w = CsvWriter::with_header(&[
        "epoch",
        "start_height",
        "bits_hex",
        "difficulty",
        "start_time_unix",
        "start_date",
        "first_block_hash",
        "implied_hashrate_ehs",
    ]);
    for e in &rows {
        w.record([
            e.epoch.to_string(),
            e.start_height.to_string(),
            e.bits.map(|b| format!("{b:08x}")).unwrap_or_default(),
            e.difficulty.to_string(),
            fmt_opt(&e.start_time_unix),
            fmt_opt(&e.approx_start_date),
            fmt_opt(&e.first_block_hash),
            fmt_opt(&e.implied_hashrate_ehs),
        ]);
    }
    Ok((w.finish(), serde_json::to_value(&rows)?))
}

/// The hourly power prices in `from..=to` (of `node`, or of every node) as CSV, wide as
/// imported (one column per node), and as JSON (one row per node and hour).
fn export_power(
    store: &mut Store,
    node: Option<&str>,
    from: Option<Date>,
    to: Option<Date>,
) -> anyhow::Result<(String, serde_json::Value)> {
    store.ensure_shipped_power()?;
    let mut rows = store.power(node)?;
    rows.retain(|r| from.is_none_or(|f| r.date >= f) && to.is_none_or(|t| r.date <= t));
    if rows.is_empty() {
        if let Some(n) = node {
            let nodes = store.power_nodes()?;
            return Err(bad_input(format!(
                "--node: no power prices stored for {n:?}; stored nodes: {}",
                nodes.join(", ")
            )));
        }
    }
    // Wide, as imported: one column per node.
    let mut nodes: Vec<String> = rows.iter().map(|r| r.node.clone()).collect();
    nodes.sort();
    nodes.dedup();
    let mut hours: std::collections::BTreeMap<(Date, u8, bool), Vec<Option<f64>>> =
        Default::default();
    for r in &rows {
        let i = nodes.binary_search(&r.node).unwrap_or(0);
        hours
            .entry((r.date, r.hour_ending, r.repeated))
            .or_insert_with(|| vec![None; nodes.len()])[i] = Some(r.usd_mwh);
    }
    let mut header = vec!["delivery_date", "hour_ending", "repeated_hour_flag"];
    header.extend(nodes.iter().map(String::as_str));
    let mut w = CsvWriter::with_header(&header);
    for ((d, h, rep), vals) in &hours {
        let flag = if *rep { "Y" } else { "N" };
        let head = [d.to_string(), h.to_string(), flag.to_string()];
        w.record(head.into_iter().chain(vals.iter().map(fmt_opt)));
    }
    Ok((w.finish(), serde_json::to_value(&rows)?))
}

fn run_export(a: &ExportArgs, g: &Global) -> anyhow::Result<()> {
    let series = Series::parse(&a.series).ok_or_else(|| {
        bad_input(format!(
            "SERIES: {:?} is not a stored series; use one of price, heights, difficulty, fees, power",
            a.series
        ))
    })?;
    let (from, to) = date_range(a.from.as_deref(), a.to.as_deref())?;
    if a.node.is_some() && series != Series::Power {
        return Err(bad_input(format!(
            "--node: only applies to the power series, not {}",
            series.name()
        )));
    }
    let mut store = open_store_read(g)?;
    let out: String;
    let json: serde_json::Value;
    match series {
        Series::Price => {
            let rows = store.prices(from, to)?;
            let mut w = CsvWriter::with_header(&["date", "close_usd"]);
            for r in &rows {
                w.record([r.date.to_string(), r.close_usd.to_string()]);
            }
            out = w.finish();
            json = serde_json::to_value(&rows)?;
        }
        Series::Heights => {
            let rows = store.heights(from, to)?;
            let mut w = CsvWriter::with_header(&["date", "height_at_la_midnight"]);
            for r in &rows {
                w.record([r.date.to_string(), r.height.to_string()]);
            }
            out = w.finish();
            json = serde_json::to_value(&rows)?;
        }
        Series::Fees => {
            let rows = store.fees(from, to)?;
            let mut w = CsvWriter::with_header(&["date", "fees_btc", "blocks", "source"]);
            for r in &rows {
                w.record([
                    r.date.to_string(),
                    r.fees_btc.to_string(),
                    fmt_opt(&r.blocks),
                    r.source.to_string(),
                ]);
            }
            out = w.finish();
            json = serde_json::to_value(&rows)?;
        }
        Series::Difficulty => (out, json) = export_epochs(&store, from, to)?,
        Series::Power => (out, json) = export_power(&mut store, a.node.as_deref(), from, to)?,
    }
    match &a.out {
        Some(p) => {
            crate::output::write_file_atomic(
                "--out",
                p,
                out.as_bytes(),
                Some(Path::new(store.path())),
            )?;
            if g.json {
                print_json(
                    &serde_json::json!({"series": series.name(), "file": p.display().to_string(),
                    "rows": out.lines().count().saturating_sub(1)}),
                )?;
            } else {
                eprintln!(
                    "Wrote {} rows of {} to {}",
                    out.lines().count().saturating_sub(1),
                    series.name(),
                    p.display()
                );
            }
        }
        None if g.json => print_json(&json)?,
        None => print!("{out}"),
    }
    Ok(())
}

#[derive(Serialize)]
struct SyncJson<'a> {
    source: &'a str,
    url: String,
    tip_height: u64,
    tip_time: i64,
    requests: u64,
    hashrate_ehs: Option<f64>,
    written: Vec<ImportReport>,
    notes: Vec<String>,
    market_state: Option<MarketState>,
}

/// What a sync has done so far (kept when a later step fails: earlier series are committed).
#[derive(Default)]
struct SyncProgress {
    tip: Option<Tip>,
    requests: u64,
    hashrate_ehs: Option<f64>,
    written: Vec<ImportReport>,
    notes: Vec<String>,
}

impl SyncProgress {
    fn rows(&self) -> u64 {
        self.written.iter().map(|w| w.rows).sum()
    }
}

/// Writes one series in its own transaction (nothing if there are no rows) and notes it.
fn commit<T>(
    p: &mut SyncProgress,
    rows: &[T],
    write: impl FnOnce(&[T]) -> Result<ImportReport, hashpivot_store::StoreError>,
) -> anyhow::Result<()> {
    if !rows.is_empty() {
        p.written.push(write(rows)?);
    }
    Ok(())
}

fn last_date<T>(rows: &[T], date: impl Fn(&T) -> Date) -> anyhow::Result<Date> {
    rows.last().map(date).ok_or_else(|| {
        anyhow::anyhow!(
            "the store has no rows of a daily series; run `hashpivot data import` first"
        )
    })
}

fn run_sync(a: &SyncArgs, g: &Global) -> anyhow::Result<()> {
    if a.timeout == 0 || a.timeout > 3600 {
        return Err(bad_input(format!(
            "--timeout: {} is not allowed; use 1 to 3600 seconds",
            a.timeout
        )));
    }
    let timeout = Duration::from_secs(a.timeout);
    if a.rpc.is_none() && a.mempool.is_none() {
        return Err(bad_input(
            "data sync: give a source: --rpc URL (Bitcoin Core) or --mempool URL (mempool.space-compatible)",
        ));
    }
    if a.rpc.is_none()
        && (a.rpc_user.is_some()
            || a.rpc_cookie.is_some()
            || a.from_epoch.is_some()
            || a.fee_days.is_some())
    {
        return Err(bad_input(
            "--rpc-user/--rpc-cookie/--from-epoch/--fee-days: only with --rpc URL",
        ));
    }
    if a.rpc_user.is_some() && a.rpc_password.is_none() {
        return Err(bad_input(
            "--rpc-user: needs --rpc-password (or $HASHPIVOT_RPC_PASSWORD)",
        ));
    }
    if let Some(iv) = &a.interval {
        const INTERVALS: [&str; 9] = ["24h", "3d", "1w", "1m", "3m", "6m", "1y", "2y", "3y"];
        if !INTERVALS.contains(&iv.as_str()) {
            return Err(bad_input(format!(
                "--interval: {iv:?} is not allowed; use one of 24h, 3d, 1w, 1m, 3m, 6m, 1y, 2y, 3y"
            )));
        }
    }
    let mut store = open_store(g)?;
    let mut p = SyncProgress::default();
    let (source, url, result) = if let Some(url) = &a.rpc {
        let auth = match (&a.rpc_user, &a.rpc_password, &a.rpc_cookie) {
            (Some(u), Some(p), _) => RpcAuth::UserPass {
                user: u.clone(),
                password: p.clone(),
            },
            (_, _, Some(c)) => RpcAuth::Cookie(c.clone()),
            _ => RpcAuth::None,
        };
        let client = RpcClient::new(url, auth, timeout).map_err(source_err)?;
        let url = client.url().to_string();
        let id = store.sync_started("rpc", &url)?;
        let r = sync_from_rpc(&client, a, &mut store, id, &mut p);
        ("rpc", url, (id, r))
    } else {
        let url = a.mempool.as_deref().unwrap_or_default();
        let client = MempoolClient::new(url, timeout).map_err(source_err)?;
        let url = client.base().to_string();
        let id = store.sync_started("mempool", &url)?;
        let r = sync_from_mempool(&client, a, &mut store, id, &mut p);
        ("mempool", url, (id, r))
    };
    let (id, result) = result;
    if let Err(e) = result {
        // Keep what was committed; the record says the sync failed after those rows.
        let _ = store.sync_finished(id, "failed", p.rows());
        return Err(e);
    }
    store.sync_finished(id, "complete", p.rows())?;
    let tip = p.tip.unwrap_or(Tip { height: 0, time: 0 });
    let state = super::market::store_market_state(&store)?;
    if g.json {
        return print_json(&SyncJson {
            source,
            url,
            tip_height: tip.height,
            tip_time: tip.time,
            requests: p.requests,
            hashrate_ehs: p.hashrate_ehs,
            written: p.written,
            notes: p.notes,
            market_state: state,
        });
    }
    println!(
        "Synced from {url} ({source}): tip height {} ({} UTC), {} requests.",
        tip.height,
        Date::from_unix(tip.time),
        p.requests
    );
    if let Some(h) = p.hashrate_ehs {
        println!("Network hashrate now: {h:.1} EH/s");
    }
    if p.written.is_empty() {
        println!("Nothing new to store: every series is as current as the source.");
    } else {
        let mut t = Table::new(["series", "rows written"]);
        for w in &p.written {
            t.row([w.series.to_string(), thousands(w.rows as f64, 0)]);
        }
        print!("{}", t.render());
    }
    for n in &p.notes {
        println!("note: {n}");
    }
    if let Some(s) = state {
        println!(
            "Market state {} (height {}, difficulty {:.2} T{}, BTC/USD {}, fees {:.4} BTC/block): the default scenario starts here.",
            s.date,
            s.height,
            s.difficulty / 1e12,
            if s.difficulty_current { "" } else { ", newest known epoch" },
            thousands(s.spot_usd, 2),
            s.fees_btc_per_block
        );
    }
    Ok(())
}

/// The start heights of the days after the newest stored one that are settled at `tip`, fetched
/// by `fetch(days, stored day before, requests, progress)` and committed in one transaction.
fn sync_heights(
    store: &mut Store,
    p: &mut SyncProgress,
    tip: &Tip,
    source: &str,
    fetch: impl FnOnce(
        &[Date],
        Option<&hashpivot_data::HeightPoint>,
        &mut u64,
        &mut dyn FnMut(u64),
    ) -> Result<Vec<hashpivot_data::HeightPoint>, SourceError>,
) -> anyhow::Result<()> {
    let heights = store.heights(None, None)?;
    let days = height_days(last_date(&heights, |h| h.date)?, tip);
    let pb = crate::progress::bar(days.len() as u64, "heights");
    let rows = fetch(&days, heights.last(), &mut p.requests, &mut |n| {
        pb.set_position(n)
    })
    .map_err(source_err)?;
    pb.finish_and_clear();
    commit(p, &rows, |r| store.import_heights(r, source))
}

/// From a Bitcoin Core node: verified retargets, then the start height of each missing day, then
/// the fees of each missing UTC day; each series in its own transaction.
fn sync_from_rpc(
    client: &RpcClient,
    a: &SyncArgs,
    store: &mut Store,
    id: i64,
    p: &mut SyncProgress,
) -> anyhow::Result<()> {
    let tip = rpc_tip(client, &mut p.requests).map_err(source_err)?;
    store.sync_tip(id, tip.height, tip.time)?;
    p.tip = Some(tip);
    let epochs = store.epochs()?;
    let default_from = epochs
        .iter()
        .rev()
        .find(|e| e.first_block_hash.is_some())
        .map_or(1, |e| e.epoch + 1);
    let from_epoch = a.from_epoch.unwrap_or(default_from);
    if from_epoch == 0 {
        return Err(bad_input(
            "--from-epoch: 0 is not allowed; epochs start at 1 (epoch 0 is genesis)",
        ));
    }
    let anchor = epochs
        .iter()
        .find(|e| e.epoch + 1 == from_epoch)
        .map(|e| Anchor {
            epoch: e.epoch,
            first_block_hash: e.first_block_hash.clone(),
            bits: e.bits,
        });
    let opts = RpcSyncOptions {
        from_epoch,
        anchor,
        fee_days: a.fee_days.unwrap_or(0),
    };
    let pb = crate::progress::bar(1, "retargets");
    let data = sync_rpc(client, &opts, &mut |done, total| {
        pb.set_length(total);
        pb.set_position(done);
    })
    .map_err(source_err)?;
    pb.finish_and_clear();
    p.requests += data.requests;
    commit(p, &data.epochs, |r| store.import_epochs(r, "rpc"))?;

    sync_heights(store, p, &tip, "rpc", |days, prev, requests, progress| {
        rpc_heights(client, days, prev, &tip, requests, progress)
    })?;

    if a.fee_days.is_some() {
        // The explicit window was fetched with the retargets (the last N complete days).
        commit(p, &data.fees, |r| store.import_fees(r, "rpc"))?;
    } else {
        let fees = store.fees(None, None)?;
        let days = fee_days(
            last_date(&fees, |f| f.date)?,
            &tip,
            Date::from_unix(tip.time),
        );
        let pb = crate::progress::bar(days.len() as u64 * 144, "fees");
        let rows = rpc_fees(client, &days, &tip, &mut p.requests, &mut |n| {
            pb.set_position(n)
        })
        .map_err(source_err)?;
        pb.finish_and_clear();
        commit(p, &rows, |r| store.import_fees(r, "rpc"))?;
    }
    p.notes.push(
        "a Bitcoin Core node has no prices: the daily close stays as stored (sync --mempool URL, or data import --kind price)".to_string(),
    );
    Ok(())
}

/// From a mempool.space-style API: difficulty adjustments (checked against the store), the daily
/// closes, the start height of each missing day and the fees of each missing UTC day; each series
/// in its own transaction, only what the store lacks.
fn sync_from_mempool(
    client: &MempoolClient,
    a: &SyncArgs,
    store: &mut Store,
    id: i64,
    p: &mut SyncProgress,
) -> anyhow::Result<()> {
    let tip = mempool_tip(client, &mut p.requests).map_err(source_err)?;
    store.sync_tip(id, tip.height, tip.time)?;
    p.tip = Some(tip);
    let stored = store.epochs()?;
    let newest_epoch = stored.last().map_or(0, |e| e.epoch);
    let interval = match &a.interval {
        Some(iv) => iv.clone(),
        None => {
            // Reach back to the newest stored epoch, so it is checked against the source.
            let since = stored
                .last()
                .and_then(|e| e.start_unix_days())
                .map_or(10_000, |d| (tip.time as f64 / 86_400.0 - d).ceil() as i64);
            mempool_interval(since + 1).to_string()
        }
    };
    let data = sync_mempool(client, &interval, &stored, !a.no_prices).map_err(source_err)?;
    p.requests += data.requests;
    p.hashrate_ehs = data.hashrate_ehs;
    let new_epochs: Vec<_> = data
        .epochs
        .into_iter()
        .filter(|e| e.epoch > newest_epoch)
        .collect();
    commit(p, &new_epochs, |r| store.import_epochs(r, "mempool"))?;
    let prices = store.prices(None, None)?;
    let newest_price = last_date(&prices, |x| x.date)?;
    let new_prices: Vec<_> = data
        .prices
        .into_iter()
        .filter(|x| x.date > newest_price)
        .collect();
    commit(p, &new_prices, |r| store.import_prices(r, "mempool"))?;

    sync_heights(
        store,
        p,
        &tip,
        "mempool",
        |days, prev, requests, progress| {
            mempool_heights(client, days, prev, &tip, requests, progress)
        },
    )?;

    // Fees need the day's and the next day's start heights for the block count.
    let heights = store.heights(None, None)?;
    let fees = store.fees(None, None)?;
    let last_height_day = last_date(&heights, |h| h.date)?.add_days(-1);
    let days = fee_days(last_date(&fees, |f| f.date)?, &tip, last_height_day);
    let rows = mempool_fees(client, &days, &heights, &tip, &mut p.requests).map_err(source_err)?;
    if rows.len() < days.len() {
        p.notes.push(format!(
            "fees: {} of {} missing days are older than the source's fee history reaches; import them (data import --kind fees)",
            days.len() - rows.len(),
            days.len()
        ));
    }
    commit(p, &rows, |r| store.import_fees(r, "mempool"))?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// hashpivot history hashprice

/// Arguments of `hashpivot history`.
#[derive(Debug, clap::Args)]
pub struct HistoryArgs {
    /// Which series.
    #[command(subcommand)]
    pub what: HistoryCmd,
}

/// `hashpivot history` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum HistoryCmd {
    /// Daily hashprice (USD and BTC per PH/s per day) from the stored price, difficulty and fees.
    Hashprice(HashpriceHistoryArgs),
}

/// Arguments of `hashpivot history hashprice`.
#[derive(Debug, clap::Args)]
pub struct HashpriceHistoryArgs {
    /// First day (YYYY-MM-DD). Default: the first stored day.
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Last day (YYYY-MM-DD). Default: the last stored day.
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
}

/// Runs `hashpivot history`.
pub fn run_history(args: &HistoryArgs, g: &Global) -> anyhow::Result<()> {
    let HistoryCmd::Hashprice(a) = &args.what;
    let (from, to) = date_range(a.from.as_deref(), a.to.as_deref())?;
    let store = open_store_read(g)?;
    let days = hashprice_from_store(&store, from, to)?;
    if days.is_empty() {
        return Err(bad_input(format!(
            "--from/--to: no stored day with price and height between {} and {}",
            from.map_or("the start".into(), |d| d.to_string()),
            to.map_or("the end".into(), |d| d.to_string())
        )));
    }
    if g.json {
        return print_json(&days);
    }
    let mut t = Table::new([
        "date",
        "BTC/USD",
        "difficulty (T)",
        "epoch",
        "fees (BTC/block)",
        "fee data",
        "BTC/PH/day",
        "USD/PH/day",
    ])
    .align(5, Align::Left);
    for d in &days {
        t.row([
            d.date.to_string(),
            thousands(d.price_usd, 2),
            format!(
                "{:.2}{}",
                d.difficulty / 1e12,
                if d.difficulty_stale { "*" } else { "" }
            ),
            d.epoch.to_string(),
            format!("{:.4}", d.fees_btc_per_block),
            match d.fees_source {
                hashpivot_data::FeeSource::Daily => "daily",
                hashpivot_data::FeeSource::Interpolated => "interpolated",
                hashpivot_data::FeeSource::CarriedForward => "carried forward",
                hashpivot_data::FeeSource::None => "none",
            }
            .to_string(),
            format!("{:.8}", d.btc_per_ph_day),
            format!("{:.2}", d.usd_per_ph_day),
        ]);
    }
    print!("{}", t.render());
    if days.iter().any(|d| d.difficulty_stale) {
        println!("* past the last stored epoch: the newest known difficulty, not the one in force (run `hashpivot data sync`).");
    }
    Ok(())
}

/// The daily hashprice over `[from, to]` from the store's series.
pub fn hashprice_from_store(
    store: &Store,
    from: Option<Date>,
    to: Option<Date>,
) -> anyhow::Result<Vec<HashpriceDay>> {
    let prices = store.prices(from, to)?;
    if prices.is_empty() {
        return Ok(Vec::new());
    }
    // Heights one day past `to` give that day's block count; fees are read whole because the
    // interpolation needs neighbours outside the range.
    let heights = store.heights(None, None)?;
    let epochs = store.epochs()?;
    let fees = store.fees(None, None)?;
    hashprice_history(&prices, &heights, &epochs, &fees, from, to).map_err(|e| match e {
        hashpivot_data::HistoryError::EmptyRange { .. } => bad_input(e.to_string()),
        other => anyhow::Error::new(other),
    })
}

// ---------------------------------------------------------------------------------------------
// hashpivot calibrate

/// Arguments of `hashpivot calibrate`.
#[derive(Debug, clap::Args)]
pub struct CalibrateArgs {
    /// First day of the sample (YYYY-MM-DD). Default: four years before the newest stored day.
    #[arg(long, value_name = "DATE")]
    pub from: Option<String>,
    /// Last day of the sample (YYYY-MM-DD). Default: the newest stored day.
    #[arg(long, value_name = "DATE")]
    pub to: Option<String>,
    /// Write a scenario (the default scenario with the calibrated keys and the newest stored
    /// market state) to this TOML file.
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,
    /// Instead: fit the price drift that makes the model's expected hashprice match the stored
    /// forward curve (`data import forwards FILE`) in least squares, starting from the default
    /// scenario (the synced market state after a `data sync`).
    #[arg(long, conflicts_with_all = ["from", "to", "out"])]
    pub forwards: bool,
    /// With --forwards: the curve of this quote date (YYYY-MM-DD). Default: the newest.
    #[arg(long, value_name = "DATE", requires = "forwards")]
    pub quote_date: Option<String>,
    /// With --forwards: Monte Carlo paths per model evaluation (common random numbers).
    #[arg(long, value_name = "N", default_value_t = hashpivot_model::analysis::forwards::DEFAULT_PATHS, requires = "forwards")]
    pub paths: u64,
    /// With --forwards: seed of those paths.
    #[arg(long, value_name = "S", default_value_t = hashpivot_model::analysis::forwards::DEFAULT_SEED, requires = "forwards")]
    pub seed: u64,
}

/// `calibrate --forwards`: flags → `model::analysis::forwards::fit_forwards` → the forward beside
/// the model per delivery month, and the fitted drift.
fn run_calibrate_forwards(args: &CalibrateArgs, g: &Global) -> anyhow::Result<()> {
    use hashpivot_model::analysis::forwards::{fit_forwards, ForwardsRequest};
    let req = ForwardsRequest {
        quote_date: parse_date_flag("--quote-date", args.quote_date.as_deref())?,
        paths: args.paths,
        seed: args.seed,
    };
    let store = open_store(g)?;
    let c = fit_forwards(&store.forwards()?, &req).map_err(|e| bad_input(e.to_string()))?;
    if g.json {
        return print_json(&c);
    }
    let (fit, start) = (&c.fit, c.market_state_date);
    println!(
        "Forward curve of {} against the model from the market state of {start} ({} paths, seed {}):",
        fit.quote_date, args.paths, args.seed
    );
    let mut t = Table::new([
        "delivery",
        "forward $/PH/day",
        "model (drift now)",
        "model (fitted)",
    ])
    .align(0, Align::Left);
    for m in &fit.months {
        t.row([
            m.delivery.to_string(),
            format!("{:.2}", m.forward),
            format!("{:.2}", m.model),
            format!("{:.2}", m.model_fitted),
        ]);
    }
    print!("{}", t.render());
    println!(
        "price drift: scenario {:.4} (RMSE {:.2} $/PH/day) -> fitted {:.4} (RMSE {:.2}){}",
        fit.drift_scenario,
        fit.rmse_scenario,
        fit.drift_fitted,
        fit.rmse_fitted,
        if fit.at_bound {
            "; at the end of the search range [-2, 2]: no drift makes the model match this curve"
        } else {
            ""
        }
    );
    println!("Set [price] drift = {:.4} in a scenario to anchor the Monte Carlo to this curve (a market-implied drift: risk premium included).", fit.drift_fitted);
    Ok(())
}

/// The market state of a calibration as the scenario keys it sets.
fn market_state_table(state: &MarketState) -> Table {
    let mut m = Table::new(["key", "value", "note"]).align(2, Align::Left);
    m.row([
        "price.spot".to_string(),
        thousands(state.spot_usd, 2),
        format!("USD, close of {}", state.price_date),
    ]);
    m.row([
        "chain.height".to_string(),
        state.height.to_string(),
        "at 00:00 America/Los_Angeles".to_string(),
    ]);
    m.row([
        "chain.difficulty".to_string(),
        format!("{:.6e}", state.difficulty),
        format!(
            "epoch {}{}",
            state.difficulty_epoch,
            if state.difficulty_current {
                ""
            } else {
                " (newest stored; epoch in force unknown)"
            }
        ),
    ]);
    m.row([
        "chain.epoch_elapsed_days".to_string(),
        format!("{:.2}", state.epoch_elapsed_days),
        format!("since height {}", state.epoch_start_height),
    ]);
    m.row([
        "chain.hashrate_ehs".to_string(),
        format!("{:.1}", state.hashrate_ehs),
        format!("{:.1} blocks/day observed", state.blocks_per_day),
    ]);
    m.row([
        "fees.btc_per_block".to_string(),
        format!("{:.5}", state.fees_btc_per_block),
        format!("mean {} to {}", state.fees_window.0, state.fees_window.1),
    ]);
    m
}

/// Runs `hashpivot calibrate`: the store's series → `model::analysis::calibrate` → render.
pub fn run_calibrate(args: &CalibrateArgs, g: &Global) -> anyhow::Result<()> {
    use hashpivot_model::analysis::calibrate::{calibrate, CalibrateError, History};
    if args.forwards {
        return run_calibrate_forwards(args, g);
    }
    let (from_flag, to_flag) = date_range(args.from.as_deref(), args.to.as_deref())?;
    let store = open_store_read(g)?;
    let (prices, heights) = (store.prices(None, None)?, store.heights(None, None)?);
    let (epochs, fees) = (store.epochs()?, store.fees(None, None)?);
    let h = History {
        prices: &prices,
        heights: &heights,
        epochs: &epochs,
        fees: &fees,
    };
    let c = calibrate(&h, from_flag, to_flag).map_err(|e| match e {
        CalibrateError::EmptySample { .. } | CalibrateError::TooFew(_) => bad_input(e.to_string()),
        other => anyhow::Error::new(other),
    })?;
    if let Some(p) = &args.out {
        crate::output::write_file_atomic(
            "--out",
            p,
            c.scenario_file().as_bytes(),
            Some(Path::new(store.path())),
        )?;
    }
    if g.json {
        /// The calibration and the file written, in that key order.
        #[derive(Serialize)]
        struct CalibrationJson<'a> {
            #[serde(flatten)]
            calibration: &'a hashpivot_model::analysis::calibrate::Calibration,
            out: Option<String>,
        }
        return print_json(&CalibrationJson {
            calibration: &c,
            out: args.out.as_ref().map(|p| p.display().to_string()),
        });
    }
    let (from, to, estimates, state, kept, written) = (
        c.from,
        c.to,
        &c.estimates,
        &c.market_state,
        &c.kept_default,
        &c.written_keys,
    );
    println!("Calibration sample: {from} to {to}");
    println!();
    let mut t = Table::new(["key", "estimate", "std. error", "n", "sample", "unit"])
        .align(4, Align::Left)
        .align(5, Align::Left);
    for e in estimates {
        let note = if kept.iter().any(|k| k == e.key) {
            " (outside the allowed range: default kept)"
        } else if e.se.is_nan() || e.se.abs() > 0.5 * e.value.abs() {
            " (imprecise: SE over half the estimate)"
        } else {
            ""
        };
        t.row([
            e.key.to_string(),
            format!("{:.4}", e.value),
            format!("{:.4}", e.se),
            e.n.to_string(),
            format!("{} to {}", e.from, e.to),
            format!("{}{note}", e.unit),
        ]);
    }
    print!("{}", t.render());
    println!();
    println!("Market state {} (newest stored day):", state.date);
    print!("{}", market_state_table(state).render());
    println!();
    println!(
        "Hashrate response: power_share by profile least squares (the break-even level that best explains\n\
         growth vs. decline); speeds from Δln H on the gap to break-even, split by sign ({} epochs).",
        estimates.iter().find(|e| e.key == "hashrate.speed_up").map_or(0, |e| e.n)
    );
    if let Some(p) = &args.out {
        println!(
            "Wrote {} (calibrated: {}).",
            p.display(),
            written.join(", ")
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// hashpivot leases

/// Arguments of `hashpivot leases`.
#[derive(Debug, clap::Args)]
pub struct LeasesArgs {
    /// Place this lease rate ($/kW-month) among the announced deals.
    #[arg(long, value_name = "USD_PER_KW_MONTH", allow_negative_numbers = true)]
    pub rate: Option<f64>,
}

#[derive(Serialize)]
struct LeasesJson {
    leases: Vec<hashpivot_data::Lease>,
    median_usd_per_kw_month: f64,
    rank: Option<RankJson>,
}

#[derive(Serialize)]
struct RankJson {
    rate_usd_per_kw_month: f64,
    deals_above: usize,
    deals_below: usize,
    total: usize,
    phrase: String,
}

/// Runs `hashpivot leases`.
pub fn run_leases(args: &LeasesArgs, g: &Global) -> anyhow::Result<()> {
    if let Some(r) = args.rate {
        if !(r.is_finite() && r > 0.0 && r <= 10_000.0) {
            return Err(bad_input(format!(
                "--rate: {r} is not allowed; use a rate in $/kW-month, 0 < x <= 10000"
            )));
        }
    }
    let leases = hashpivot_data::leases();
    let mut rates: Vec<f64> = leases.iter().map(|l| l.usd_per_kw_month).collect();
    rates.sort_by(f64::total_cmp);
    let median = if rates.is_empty() {
        0.0
    } else if rates.len() % 2 == 1 {
        rates[rates.len() / 2]
    } else {
        (rates[rates.len() / 2 - 1] + rates[rates.len() / 2]) / 2.0
    };
    let rank = args.rate.map(|r| {
        let k = hashpivot_data::leases::lease_rank_among(r, &leases);
        RankJson {
            rate_usd_per_kw_month: r,
            deals_above: k.deals_above,
            deals_below: k.deals_below,
            total: k.total,
            phrase: format!("your ${r:.0}/kW-month is {}", k.phrase()),
        }
    });
    if g.json {
        return print_json(&LeasesJson {
            leases,
            median_usd_per_kw_month: median,
            rank,
        });
    }
    let mut t = Table::new([
        "company",
        "deal",
        "tenant",
        "MW IT",
        "term (y)",
        "TCV",
        "$/kW-month",
        "$/MW-year",
        "announced",
        "grade",
    ])
    .align(1, Align::Left)
    .align(2, Align::Left)
    .align(8, Align::Left)
    .align(9, Align::Left);
    for l in &leases {
        t.row([
            l.company.clone(),
            l.deal.clone(),
            l.tenant.clone(),
            thousands(l.mw_it, 0),
            format!("{}", l.term_years),
            usd(l.tcv_usd),
            format!("{:.1}", l.usd_per_kw_month),
            thousands(l.usd_per_mw_year, 0),
            l.announced.clone(),
            l.grade.clone(),
        ]);
    }
    print!("{}", t.render());
    println!();
    println!(
        "{} deals; median ${median:.1}/kW-month (average over the base term: TCV / term / MW / 12,000).",
        leases.len()
    );
    println!("Grades: P primary filing or release, T trade press restating one, L low. Sources: data/ai_hpc/announced_leases.csv.");
    if let Some(r) = rank {
        println!("{}.", r.phrase);
    }
    Ok(())
}
