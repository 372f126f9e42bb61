//! The `hashpivot` binary: keep mining, or turn the powered site into an AI/HPC data center?
//!
//! Flags are parsed by clap into raw argument structs (`cmd::*::*Args`); each command validates them
//! into the library objects that do the work, so a bad value is reported naming the flag, the value
//! and what is allowed. Exit codes: 0 ok, 2 bad input, 1 internal failure.

// The crate's own `print!`/`println!`/`eprintln!` shadow std's in every module below
// (textual macro scope wins over the prelude): std's panic when stdout is a full disk or a closed
// pipe (exit 101); these check every write (see `output::write_stdout`).
macro_rules! print {
    ($($arg:tt)*) => { $crate::output::write_stdout(format_args!($($arg)*)) };
}
macro_rules! println {
    () => { $crate::output::write_stdout(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::output::write_stdout(format_args!("{}\n", format_args!($($arg)*))) };
}
macro_rules! eprintln {
    () => { $crate::output::write_stderr(format_args!("\n")) };
    ($($arg:tt)*) => { $crate::output::write_stderr(format_args!("{}\n", format_args!($($arg)*))) };
}

mod cmd;
mod error;
mod output;
mod progress;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Flags every command understands.
#[derive(Debug, Clone, clap::Args)]
pub struct Global {
    /// Print machine-readable JSON on stdout instead of tables.
    #[arg(long, global = true)]
    pub json: bool,
    /// The hashpivot database (SQLite). Default: $HASHPIVOT_DB, else the user's data directory.
    #[arg(long, global = true, env = "HASHPIVOT_DB", value_name = "PATH")]
    pub db: Option<PathBuf>,
}

#[derive(Debug, Parser)]
#[command(
    name = "hashpivot",
    version,
    about = "Keep mining bitcoin, or convert the powered site to AI/HPC? How much, and when.",
    long_about = None,
    propagate_version = true
)]
struct Cli {
    #[command(flatten)]
    global: Global,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Consensus arithmetic: subsidy, compact targets, retargets, header chains.
    Chain(cmd::chain::ChainArgs),
    /// Hashprice (BTC and USD per PH/s per day) at a price and difficulty.
    Hashprice(cmd::econ::HashpriceArgs),
    /// The ASIC catalog (built in, plus your own TOML file).
    Machines(cmd::econ::MachinesArgs),
    /// Economics of one machine model: margin, break-even power price, payback.
    Machine(cmd::econ::MachineArgs),
    /// Run the Monte Carlo scenario engine (the main job).
    Simulate(cmd::simulate::SimulateArgs),
    /// Mine vs powered-shell lease vs GPU cloud for the site, side by side.
    Compare(cmd::compare::CompareArgs),
    /// A grid of scenarios over a few keys, one row of results per point.
    Sweep(cmd::sweep::SweepArgs),
    /// One run split into shards for batch array jobs (Slurm, Kubernetes), merged exactly.
    Shard(cmd::shard::ShardArgs),
    /// Show or check scenario files.
    Scenario(cmd::scenario::ScenarioArgs),
    /// Distribution of payback, IRR and NPV of buying one machine today.
    Payback(cmd::simulate::PaybackArgs),
    /// Validate the least-squares Monte Carlo core against textbook option values.
    Validate(cmd::validate::ValidateArgs),
    /// The embedded store: status, import, export, live sync.
    Data(cmd::data::DataArgs),
    /// Historical series computed from the store (hashprice).
    History(cmd::data::HistoryArgs),
    /// Estimate the model's parameters from the stored history.
    Calibrate(cmd::data::CalibrateArgs),
    /// Announced AI/HPC leases by bitcoin miners, with implied rates.
    Leases(cmd::data::LeasesArgs),
    /// Hour-by-hour curtailment of the fleet against power prices.
    Dispatch(cmd::dispatch::DispatchArgs),
    /// Serve the web dashboard and HTTP API.
    Serve(cmd::serve::ServeArgs),
    /// Write a self-contained HTML report.
    Report(cmd::report::ReportArgs),
}

/// Restores the default SIGPIPE action so that `hashpivot ... | head` ends quietly, as Unix tools do,
/// instead of panicking in `println!` when the reader goes away (Rust ignores SIGPIPE by default).
fn reset_sigpipe() {
    #[cfg(unix)]
    // SAFETY: called once at start-up before any other thread exists; SIG_DFL is always valid.
    unsafe {
        libc::signal(libc::SIGPIPE, libc::SIG_DFL);
    }
}

/// Ignores `SIGXFSZ`, whose default action kills the process without a word when a write passes
/// the file-size limit (`ulimit -f`): ignored, the write fails with `EFBIG` and is reported (exit 1).
fn ignore_sigxfsz() {
    #[cfg(unix)]
    // SAFETY: as in `reset_sigpipe`.
    unsafe {
        libc::signal(libc::SIGXFSZ, libc::SIG_IGN);
    }
}

fn main() -> ExitCode {
    reset_sigpipe();
    ignore_sigxfsz();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // clap prints help/version to stdout with exit 0, and usage errors to stderr with exit 2.
            let _ = e.print();
            // A script that asked for `--json` still gets exactly one JSON document on a usage error.
            let is_usage_error = e.use_stderr();
            if is_usage_error && std::env::args_os().any(|a| a == "--json") {
                let msg = e.render().to_string();
                let first = msg
                    .lines()
                    .next()
                    .unwrap_or("")
                    .trim_start_matches("error: ");
                println!(
                    "{}",
                    serde_json::json!({"error": first, "kind": "bad_input"})
                );
            }
            return ExitCode::from(e.exit_code().clamp(0, 255) as u8);
        }
    };
    let g = &cli.global;
    if matches!(
        cli.command,
        Command::Simulate(_)
            | Command::Compare(_)
            | Command::Sweep(_)
            | Command::Shard(_)
            | Command::Scenario(_)
            | Command::Payback(_)
            | Command::Machine(_)
            | Command::Serve(_)
            | Command::Report(_)
    ) || matches!(&cli.command, Command::Calibrate(a) if a.forwards)
    {
        // After a `data sync`, the default scenario starts from the store's newest state.
        cmd::market::install_synced(g);
    }
    let result = match &cli.command {
        Command::Chain(a) => cmd::chain::run(a, g),
        Command::Hashprice(a) => cmd::econ::run_hashprice(a, g),
        Command::Machines(a) => cmd::econ::run_machines(a, g),
        Command::Machine(a) => cmd::econ::run_machine(a, g),
        Command::Simulate(a) => cmd::simulate::run(a, g),
        Command::Compare(a) => cmd::compare::run(a, g),
        Command::Sweep(a) => cmd::sweep::run(a, g),
        Command::Shard(a) => cmd::shard::run(a, g),
        Command::Scenario(a) => cmd::scenario::run(a, g),
        Command::Payback(a) => cmd::simulate::run_payback(a, g),
        Command::Validate(a) => cmd::validate::run(a, g),
        Command::Data(a) => cmd::data::run(a, g),
        Command::History(a) => cmd::data::run_history(a, g),
        Command::Calibrate(a) => cmd::data::run_calibrate(a, g),
        Command::Leases(a) => cmd::data::run_leases(a, g),
        Command::Dispatch(a) => cmd::dispatch::run(a, g),
        Command::Serve(a) => cmd::serve::run(a, g),
        Command::Report(a) => cmd::report::run(a, g),
    };
    let code = match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => error::report(&e, g.json),
    };
    output::finish_stdout();
    code
}
