//! `hashpivot data` (status, import, export, sync), `hashpivot history hashprice`,
//! `hashpivot calibrate` and `hashpivot leases`: the store and what is computed from it.
//!
//! Raw flags are validated here into the libraries' types (`hashpivot_data::Date`, the store's
//! series, the sources' clients); the work happens in `hashpivot-store`, `hashpivot-data` and
//! `hashpivot-sources`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use hashpivot_data::calibrate::{
    epoch_observations, fee_estimates, hashrate_estimates, price_estimates, Estimate, MarginalMiner,
};
use hashpivot_data::series::{parse_epochs, parse_fees, parse_heights, parse_prices};
use hashpivot_data::{hashprice_history, market_state_from, Date, HashpriceDay, MarketState};
use hashpivot_model::scenario::Scenario;
use hashpivot_sources::mempool::MempoolClient;
use hashpivot_sources::rpc::{RpcAuth, RpcClient};
use hashpivot_sources::sync::{sync_mempool, sync_rpc, Anchor, RpcSyncOptions, SyncData};
use hashpivot_sources::SourceError;
use hashpivot_store::{Batch, ImportReport, Series, Store};
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
}

/// Arguments of `hashpivot data import`.
#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The CSV file (first line: column names).
    #[arg(value_name = "FILE")]
    pub file: PathBuf,
    /// What the file holds.
    #[arg(long, value_enum)]
    pub kind: ImportKind,
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
    /// RPC: complete UTC days of fees to fetch with getblockstats (≈144 calls a day).
    #[arg(long, value_name = "DAYS", default_value_t = 3)]
    pub fee_days: u32,
    /// mempool: interval of difficulty adjustments (1m, 3m, 6m, 1y, 2y, 3y).
    #[arg(long, value_name = "INTERVAL", default_value = "1y")]
    pub interval: String,
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
}

fn run_status(g: &Global) -> anyhow::Result<()> {
    let store = open_store_read(g)?;
    let series = store.status()?;
    let power = store.has_shipped_power()?;
    if g.json {
        return print_json(&StatusJson {
            db: store.path().to_string(),
            schema_version: Store::schema_version(),
            shipped_version: hashpivot_store::SHIPPED_VERSION,
            shipped_power_imported: power,
            series,
        });
    }
    println!(
        "Store: {} (schema {}, shipped data {})",
        store.path(),
        Store::schema_version(),
        hashpivot_store::SHIPPED_VERSION
    );
    println!();
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
    for s in &series {
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
    let text = read_file(&a.file, "FILE")?;
    let label = a.file.display().to_string();
    let name = a
        .file
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
    let report: ImportReport = match a.kind {
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
    let mut out = String::new();
    let json: serde_json::Value;
    match series {
        Series::Price => {
            let rows = store.prices(from, to)?;
            out.push_str("date,close_usd\n");
            for r in &rows {
                out.push_str(&format!("{},{}\n", r.date, r.close_usd));
            }
            json = serde_json::to_value(&rows)?;
        }
        Series::Heights => {
            let rows = store.heights(from, to)?;
            out.push_str("date,height_at_la_midnight\n");
            for r in &rows {
                out.push_str(&format!("{},{}\n", r.date, r.height));
            }
            json = serde_json::to_value(&rows)?;
        }
        Series::Fees => {
            let rows = store.fees(from, to)?;
            out.push_str("date,fees_btc,blocks,source\n");
            for r in &rows {
                out.push_str(&format!(
                    "{},{},{},{}\n",
                    r.date,
                    r.fees_btc,
                    fmt_opt(&r.blocks),
                    r.source
                ));
            }
            json = serde_json::to_value(&rows)?;
        }
        Series::Difficulty => {
            let rows: Vec<_> = store
                .epochs()?
                .into_iter()
                .filter(|e| {
                    let d = e.start_date();
                    from.is_none_or(|f| d.is_some_and(|d| d >= f))
                        && to.is_none_or(|t| d.is_some_and(|d| d <= t))
                })
                .collect();
            out.push_str("epoch,start_height,bits_hex,difficulty,start_time_unix,start_date,first_block_hash,implied_hashrate_ehs\n");
            for e in &rows {
                out.push_str(&format!(
                    "{},{},{},{},{},{},{},{}\n",
                    e.epoch,
                    e.start_height,
                    e.bits.map(|b| format!("{b:08x}")).unwrap_or_default(),
                    e.difficulty,
                    fmt_opt(&e.start_time_unix),
                    fmt_opt(&e.approx_start_date),
                    fmt_opt(&e.first_block_hash),
                    fmt_opt(&e.implied_hashrate_ehs)
                ));
            }
            json = serde_json::to_value(&rows)?;
        }
        Series::Power => {
            store.ensure_shipped_power()?;
            let mut rows = store.power(a.node.as_deref())?;
            rows.retain(|r| from.is_none_or(|f| r.date >= f) && to.is_none_or(|t| r.date <= t));
            if rows.is_empty() {
                if let Some(n) = &a.node {
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
            out.push_str(&format!(
                "delivery_date,hour_ending,repeated_hour_flag,{}\n",
                nodes.join(",")
            ));
            for ((d, h, rep), vals) in &hours {
                let cells: Vec<String> = vals.iter().map(fmt_opt).collect();
                out.push_str(&format!(
                    "{d},{h},{},{}\n",
                    if *rep { "Y" } else { "N" },
                    cells.join(",")
                ));
            }
            json = serde_json::to_value(&rows)?;
        }
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
    requests: u64,
    hashrate_ehs: Option<f64>,
    written: Vec<ImportReport>,
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
    if a.rpc.is_none() && (a.rpc_user.is_some() || a.rpc_cookie.is_some() || a.from_epoch.is_some())
    {
        return Err(bad_input(
            "--rpc-user/--rpc-cookie/--from-epoch: only with --rpc URL",
        ));
    }
    if a.rpc_user.is_some() && a.rpc_password.is_none() {
        return Err(bad_input(
            "--rpc-user: needs --rpc-password (or $HASHPIVOT_RPC_PASSWORD)",
        ));
    }
    let mut store = open_store(g)?;
    let (source, url, data) = if let Some(url) = &a.rpc {
        let auth = match (&a.rpc_user, &a.rpc_password, &a.rpc_cookie) {
            (Some(u), Some(p), _) => RpcAuth::UserPass {
                user: u.clone(),
                password: p.clone(),
            },
            (_, _, Some(c)) => RpcAuth::Cookie(c.clone()),
            _ => RpcAuth::None,
        };
        let client = RpcClient::new(url, auth, timeout).map_err(source_err)?;
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
            fee_days: a.fee_days,
        };
        let pb = crate::progress::bar(1, "syncing");
        let data = sync_rpc(&client, &opts, &mut |done, total| {
            pb.set_length(total);
            pb.set_position(done);
        })
        .map_err(source_err)?;
        pb.finish_and_clear();
        ("rpc", client.url().to_string(), data)
    } else {
        let url = a.mempool.as_deref().unwrap_or_default();
        const INTERVALS: [&str; 8] = ["24h", "3d", "1w", "1m", "3m", "6m", "1y", "2y"];
        if !INTERVALS.contains(&a.interval.as_str()) && a.interval != "3y" {
            return Err(bad_input(format!(
                "--interval: {:?} is not allowed; use one of 24h, 3d, 1w, 1m, 3m, 6m, 1y, 2y, 3y",
                a.interval
            )));
        }
        let client = MempoolClient::new(url, timeout).map_err(source_err)?;
        let stored = store.epochs()?;
        let data = sync_mempool(&client, &a.interval, &stored, !a.no_prices).map_err(source_err)?;
        ("mempool", client.base().to_string(), data)
    };
    let SyncData {
        tip_height,
        epochs,
        fees,
        prices,
        hashrate_ehs,
        requests,
    } = data;
    let batch = Batch {
        prices,
        heights: Vec::new(),
        epochs,
        fees,
    };
    // Everything the sync fetched lands in one transaction, or nothing does.
    let written = if batch.is_empty() {
        Vec::new()
    } else {
        store.import_batch(&batch, source)?
    };
    if g.json {
        return print_json(&SyncJson {
            source,
            url,
            tip_height,
            requests,
            hashrate_ehs,
            written,
        });
    }
    println!("Synced from {url} ({source}): tip height {tip_height}, {requests} requests.");
    if let Some(h) = hashrate_ehs {
        println!("Network hashrate now: {h:.1} EH/s");
    }
    if written.is_empty() {
        println!("Nothing new to store.");
    } else {
        let mut t = Table::new(["series", "rows written"]);
        for w in &written {
            t.row([w.series.to_string(), thousands(w.rows as f64, 0)]);
        }
        print!("{}", t.render());
    }
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
}

#[derive(Serialize)]
struct CalibrationJson {
    from: Date,
    to: Date,
    estimates: Vec<Estimate>,
    market_state: MarketState,
    written_keys: Vec<String>,
    kept_default: Vec<String>,
    out: Option<String>,
}

/// Runs `hashpivot calibrate`.
pub fn run_calibrate(args: &CalibrateArgs, g: &Global) -> anyhow::Result<()> {
    let (from_flag, to_flag) = date_range(args.from.as_deref(), args.to.as_deref())?;
    let store = open_store_read(g)?;
    let all_prices = store.prices(None, to_flag)?;
    let newest = all_prices
        .last()
        .map(|p| p.date)
        .ok_or_else(|| anyhow::anyhow!("the store has no prices"))?;
    let to = to_flag.unwrap_or(newest);
    let from = from_flag.unwrap_or(to.add_days(-4 * 365 - 1));
    if from >= to {
        return Err(bad_input(format!(
            "--from {from} must be before the sample's last day {to}"
        )));
    }
    let prices: Vec<_> = all_prices
        .iter()
        .filter(|p| p.date >= from)
        .copied()
        .collect();
    let heights = store.heights(None, None)?;
    let epochs = store.epochs()?;
    let fees_all = store.fees(None, Some(to))?;
    let fees: Vec<_> = fees_all
        .iter()
        .filter(|f| f.date >= from)
        .cloned()
        .collect();
    let too_few = |e: hashpivot_data::calibrate::CalibrationError| bad_input(e.to_string());

    let defaults = Scenario::default();
    let miner = MarginalMiner {
        efficiency_jth: defaults.hashrate.marginal_efficiency_jth,
        efficiency_decline: defaults.hashrate.efficiency_decline,
        efficiency_floor_jth: defaults.hashrate.efficiency_floor_jth,
        power_usd_mwh: defaults.hashrate.marginal_power_usd_mwh,
    };
    let mut estimates = Vec::new();
    estimates.extend(price_estimates(&prices).map_err(too_few)?);
    estimates.extend(fee_estimates(&fees, &heights).map_err(too_few)?);
    let obs = epoch_observations(
        &prices,
        &heights,
        &epochs,
        &fees_all,
        &miner,
        to,
        Some(from),
        Some(to),
    );
    estimates.extend(hashrate_estimates(&obs).map_err(too_few)?);

    // Market state: the newest stored day up to --to (same code path as the default scenario).
    let heights_to: Vec<_> = heights
        .iter()
        .filter(|h| h.date <= to.add_days(1))
        .copied()
        .collect();
    let state = market_state_from(&all_prices, &heights_to, &epochs, &fees_all)
        .ok_or_else(|| anyhow::anyhow!("the store's series do not overlap: no market state"))?;

    // Build the scenario: defaults, then each estimate the scenario accepts.
    let mut sc = defaults.clone();
    apply_state(&mut sc, &state);
    let mut written = Vec::new();
    let mut kept = Vec::new();
    for e in &estimates {
        let mut trial = sc.clone();
        if !set_key(&mut trial, e.key, e.value) {
            continue; // e.g. the long-run fee level: reported, not a scenario key
        }
        if e.value.is_finite() && trial.validate().is_ok() {
            sc = trial;
            written.push(e.key.to_string());
        } else {
            kept.push(e.key.to_string());
        }
    }
    sc.validate()
        .map_err(|e| anyhow::anyhow!("calibrated scenario is invalid: {e}"))?;
    if let Some(p) = &args.out {
        let text = format!(
            "# Calibrated by `hashpivot calibrate` from the store, sample {from} to {to}.\n# Market state: {} (spot = close of {}, difficulty of epoch {}{}).\n{}",
            state.date,
            state.price_date,
            state.difficulty_epoch,
            if state.difficulty_current { "" } else { ", the newest stored; not the epoch in force" },
            sc.to_toml_string()
        );
        crate::output::write_file_atomic(
            "--out",
            p,
            text.as_bytes(),
            Some(Path::new(store.path())),
        )?;
    }
    if g.json {
        return print_json(&CalibrationJson {
            from,
            to,
            estimates,
            market_state: state,
            written_keys: written,
            kept_default: kept,
            out: args.out.as_ref().map(|p| p.display().to_string()),
        });
    }
    println!("Calibration sample: {from} to {to}");
    println!();
    let mut t = Table::new(["key", "estimate", "std. error", "n", "sample", "unit"])
        .align(4, Align::Left)
        .align(5, Align::Left);
    for e in &estimates {
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
    print!("{}", m.render());
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

fn apply_state(sc: &mut Scenario, s: &MarketState) {
    sc.price.spot = s.spot_usd;
    sc.chain.height = u64::from(s.height);
    sc.chain.difficulty = s.difficulty;
    sc.chain.hashrate_ehs = Some(s.hashrate_ehs);
    sc.chain.epoch_elapsed_days = Some(s.epoch_elapsed_days.clamp(0.0, 56.0));
    sc.fees.btc_per_block = s.fees_btc_per_block;
}

fn set_key(sc: &mut Scenario, key: &str, v: f64) -> bool {
    match key {
        "price.drift" => sc.price.drift = v,
        "price.vol" => sc.price.vol = v,
        "fees.speed" => sc.fees.speed = v,
        "fees.vol" => sc.fees.vol = v,
        "hashrate.speed_up" => sc.hashrate.speed_up = v,
        "hashrate.speed_down" => sc.hashrate.speed_down = v,
        "hashrate.vol" => sc.hashrate.vol = v,
        "hashrate.power_share" => sc.hashrate.power_share = v,
        _ => return false,
    }
    true
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
