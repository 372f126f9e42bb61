//! `hashpivot chain`: consensus arithmetic from the command line (subsidy, compact targets,
//! retargets, header-chain verification), each a thin layer over `hashpivot_chain`.
//!
//! Flags arrive as raw strings and are validated here, so that every bad value is reported
//! (exit 2) naming the argument, the value and what is allowed, in text and in `--json`.

use std::io::Write;
use std::path::{Path, PathBuf};

use clap::Subcommand;
use hashpivot_chain as chain;
use hashpivot_chain::verify::{FirstError, Mode, Report};
use serde_json::json;

use crate::error::bad_input;
use crate::output::{print_json, thousands, thousands_int, Align, Table};
use crate::Global;

/// Arguments of `hashpivot chain`.
#[derive(Debug, clap::Args)]
pub struct ChainArgs {
    /// What to compute.
    #[command(subcommand)]
    pub command: ChainCommand,
}

/// The `chain` subcommands.
#[derive(Debug, Subcommand)]
pub enum ChainCommand {
    /// Block subsidy in satoshis at a height (Core GetBlockSubsidy).
    Subsidy {
        /// Block height (0 or more; `840000`, `840_000` and `840,000` are accepted).
        #[arg(value_name = "HEIGHT", allow_hyphen_values = true)]
        height: String,
    },
    /// Target, difficulty and work of compact bits (Core SetCompact, GetDifficulty, GetBlockProof).
    Target {
        /// Compact nBits in hex: `1d00ffff` or `0x1d00ffff`.
        #[arg(value_name = "BITS", allow_hyphen_values = true)]
        bits: String,
    },
    /// The bits of the next interval (Core CalculateNextWorkRequired, mainnet).
    Retarget {
        /// Bits of the interval's last block (hex).
        #[arg(long, value_name = "BITS", allow_hyphen_values = true)]
        bits: String,
        /// Unix time of the interval's first block (2015 blocks before the last: Core's off-by-one).
        #[arg(long, value_name = "UNIX", allow_hyphen_values = true)]
        first_time: String,
        /// Unix time of the interval's last block.
        #[arg(long, value_name = "UNIX", allow_hyphen_values = true)]
        last_time: String,
    },
    /// Verify a file of headers: one 160-hex-digit header per line (`#` comments allowed) or raw
    /// 80-byte records. Exit 0 only when every header passes; 2 when one fails or the file is bad.
    VerifyHeaders {
        /// The headers file.
        #[arg(value_name = "FILE")]
        file: PathBuf,
        /// Height of the first header [default: 0; with --checkpoints 2016, the first retarget].
        #[arg(long, value_name = "H", allow_hyphen_values = true)]
        start_height: Option<String>,
        /// The headers are one per retarget (heights 2016*k, not linked): check each one's proof
        /// of work and the permitted difficulty transition between neighbours.
        #[arg(long)]
        checkpoints: bool,
    },
}

/// Runs `hashpivot chain ...`.
pub fn run(args: &ChainArgs, g: &Global) -> anyhow::Result<()> {
    match &args.command {
        ChainCommand::Subsidy { height } => subsidy(height, g),
        ChainCommand::Target { bits } => target(bits, g),
        ChainCommand::Retarget {
            bits,
            first_time,
            last_time,
        } => retarget(bits, first_time, last_time, g),
        ChainCommand::VerifyHeaders {
            file,
            start_height,
            checkpoints,
        } => verify_headers(file, start_height.as_deref(), *checkpoints, g),
    }
}

/// Parses a height: digits with optional `_` or `,` separators.
pub(crate) fn parse_height(name: &str, raw: &str) -> anyhow::Result<u64> {
    let cleaned: String = raw
        .trim()
        .chars()
        .filter(|c| *c != '_' && *c != ',')
        .collect();
    if cleaned.starts_with('-')
        && cleaned[1..].chars().all(|c| c.is_ascii_digit())
        && cleaned.len() > 1
    {
        return Err(bad_input(format!(
            "{name}: {raw} is not allowed; a block height is 0 or more"
        )));
    }
    cleaned.parse::<u64>().map_err(|_| {
        bad_input(format!(
            "{name}: {raw:?} is not a block height; use a whole number 0 or more, like 840000"
        ))
    })
}

/// Parses compact bits given in hex (`1d00ffff`, `0x1d00ffff`, 1 to 8 digits).
fn parse_bits(name: &str, raw: &str) -> anyhow::Result<u32> {
    let t = raw.trim();
    let digits = t
        .strip_prefix("0x")
        .or_else(|| t.strip_prefix("0X"))
        .unwrap_or(t);
    if digits.is_empty() || digits.len() > 8 || !digits.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(bad_input(format!(
            "{name}: {raw:?} is not compact bits; use up to 8 hex digits like 1d00ffff or 0x1d00ffff"
        )));
    }
    u32::from_str_radix(digits, 16).map_err(|_| bad_input(format!("{name}: {raw:?} is not hex")))
}

/// Decodes bits into a valid target, naming the argument on error (negative, overflow, zero).
fn parse_target(name: &str, raw: &str) -> anyhow::Result<chain::Target> {
    let bits = parse_bits(name, raw)?;
    chain::Target::from_compact(bits).map_err(|e| {
        // Say what Core's SetCompact decodes a negative encoding to (arith_uint256_tests).
        let c = chain::compact::set_compact(bits);
        if c.negative && !c.overflow {
            let mag = c.value.to_hex();
            let mag = mag.trim_start_matches('0');
            bad_input(format!(
                "{name}: {e} (Core's SetCompact decodes it to -0x{mag})"
            ))
        } else {
            bad_input(format!("{name}: {e}"))
        }
    })
}

fn parse_unix(name: &str, raw: &str) -> anyhow::Result<i64> {
    let v: i64 = raw.trim().parse().map_err(|_| {
        bad_input(format!(
            "{name}: {raw:?} is not a Unix time; use whole seconds since 1970, like 1262152739"
        ))
    })?;
    if !(0..=u32::MAX as i64).contains(&v) {
        return Err(bad_input(format!(
            "{name}: {v} is out of range; a header time is 0 to {} (nTime is an unsigned 32-bit number)",
            u32::MAX
        )));
    }
    Ok(v)
}

fn kv_table() -> Table {
    Table::new(["quantity", "value", "unit"])
        .align(1, Align::Left)
        .align(2, Align::Left)
}

fn subsidy(raw: &str, g: &Global) -> anyhow::Result<()> {
    let height = parse_height("HEIGHT", raw)?;
    let sat = chain::subsidy_sat(height);
    let halvings = height / chain::HALVING_INTERVAL;
    let next = (halvings < 64).then(|| chain::next_halving_height(height));
    if g.json {
        return print_json(&json!({
            "height": height,
            "subsidy_sat": sat,
            "subsidy_btc": sat as f64 / chain::COIN as f64,
            "halvings": halvings,
            "next_halving_height": next,
        }));
    }
    let mut t = kv_table();
    t.row(["height".to_string(), thousands_int(height), String::new()]);
    t.row([
        "subsidy".to_string(),
        thousands(sat as f64, 0),
        "sat".to_string(),
    ]);
    t.row([
        "subsidy".to_string(),
        format!("{:.8}", sat as f64 / chain::COIN as f64),
        "BTC".to_string(),
    ]);
    t.row([
        "halvings so far".to_string(),
        halvings.to_string(),
        String::new(),
    ]);
    t.row([
        "next halving".to_string(),
        next.map(thousands_int).unwrap_or_else(|| "none".into()),
        "height".to_string(),
    ]);
    print!("{}", t.render());
    Ok(())
}

fn target(raw: &str, g: &Global) -> anyhow::Result<()> {
    let bits = parse_bits("BITS", raw)?;
    // Core's `SetCompact` decodes a zero mantissa (or one shifted out entirely) to a zero target
    // with neither flag set: a valid decoding, not an error (arith_uint256_tests). Report it as
    // Core does; difficulty and work are undefined for it and no header can meet it.
    let c = chain::compact::set_compact(bits);
    if !c.negative && !c.overflow && c.value.is_zero() {
        return zero_target(bits, g);
    }
    let t = parse_target("BITS", raw)?;
    let work = t.work();
    let norm = t.normalized_bits();
    let valid_block_bits = !t.above_pow_limit();
    if g.json {
        return print_json(&json!({
            "bits": format!("{:08x}", t.bits()),
            "normalized_bits": format!("{norm:08x}"),
            "target": t.value().to_hex(),
            "difficulty": t.difficulty(),
            "work": work.to_hex(),
            "work_decimal": work.to_decimal(),
            "within_pow_limit": valid_block_bits,
        }));
    }
    let mut tb = kv_table();
    tb.row([
        "bits".to_string(),
        format!("0x{:08x}", t.bits()),
        String::new(),
    ]);
    if norm != t.bits() {
        tb.row([
            "normalized bits".to_string(),
            format!("0x{norm:08x}"),
            "(same target)".into(),
        ]);
    }
    tb.row(["target".to_string(), t.value().to_hex(), String::new()]);
    tb.row([
        "difficulty".to_string(),
        format_difficulty(t.difficulty()),
        String::new(),
    ]);
    tb.row([
        "work per block".to_string(),
        group_digits(&work.to_decimal()),
        "hashes".into(),
    ]);
    tb.row([
        "work per block".to_string(),
        format!("0x{}", work.to_hex().trim_start_matches('0')),
        "hashes (hex)".into(),
    ]);
    tb.row([
        "mainnet block bits".to_string(),
        if valid_block_bits { "yes" } else { "no" }.to_string(),
        if valid_block_bits {
            "(within the pow limit 0x1d00ffff)"
        } else {
            "(easier than the pow limit 0x1d00ffff)"
        }
        .into(),
    ]);
    print!("{}", tb.render());
    Ok(())
}

/// `chain target` of bits that decode to a zero target (e.g. `0x01003456`, `0x03000000`).
fn zero_target(bits: u32, g: &Global) -> anyhow::Result<()> {
    const WHY: &str = "the target is zero: difficulty (0xffff / 0) and work (2^256 / (0 + 1) wraps in 256 bits) are undefined, and no header can meet it (Core's CheckProofOfWork rejects a zero target)";
    if g.json {
        return print_json(&json!({
            "bits": format!("{bits:08x}"),
            "normalized_bits": format!("{:08x}", chain::compact::get_compact(chain::U256::ZERO, false)),
            "target": chain::U256::ZERO.to_hex(),
            "negative": false,
            "overflow": false,
            "zero": true,
            "difficulty": null,
            "work": null,
            "work_decimal": null,
            "within_pow_limit": true,
            "valid_proof_of_work": false,
            "note": WHY,
        }));
    }
    let mut tb = kv_table();
    tb.row(["bits".to_string(), format!("0x{bits:08x}"), String::new()]);
    tb.row([
        "normalized bits".to_string(),
        "0x00000000".to_string(),
        "(same target)".into(),
    ]);
    tb.row([
        "target".to_string(),
        chain::U256::ZERO.to_hex(),
        "(zero; not negative, no overflow)".into(),
    ]);
    tb.row([
        "difficulty".to_string(),
        "undefined".to_string(),
        "(0xffff / 0)".into(),
    ]);
    tb.row([
        "work per block".to_string(),
        "undefined".to_string(),
        "(2^256 does not fit)".into(),
    ]);
    tb.row([
        "mainnet block bits".to_string(),
        "no".to_string(),
        "(no hash can meet a zero target)".into(),
    ]);
    print!("{}", tb.render());
    println!("note: {WHY}.");
    Ok(())
}

/// Groups a string of decimal digits in threes: "4295032833" -> "4,295,032,833".
fn group_digits(d: &str) -> String {
    let mut out = String::with_capacity(d.len() + d.len() / 3);
    for (i, c) in d.chars().enumerate() {
        if i > 0 && (d.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Difficulty with thousands separators and a T/P/E hint for large values.
fn format_difficulty(d: f64) -> String {
    if d >= 1e12 {
        format!("{} ({:.2} T)", thousands(d, 2), d / 1e12)
    } else if d >= 1.0 {
        thousands(d, 8)
    } else {
        format!("{d:.10}")
    }
}

fn retarget(bits: &str, first: &str, last: &str, g: &Global) -> anyhow::Result<()> {
    let old = parse_target("--bits", bits)?;
    if old.above_pow_limit() {
        return Err(bad_input(format!(
            "--bits: 0x{:08x} is easier than the mainnet proof-of-work limit 0x1d00ffff; no mainnet block carries it",
            old.bits()
        )));
    }
    let first = parse_unix("--first-time", first)?;
    let last = parse_unix("--last-time", last)?;
    let new_bits = chain::calculate_next_work_required(old.bits(), first, last)
        .map_err(|e| bad_input(format!("--bits: {e}")))?;
    let new = chain::Target::from_compact(new_bits)?;
    let actual = last - first;
    let clamped = chain::retarget::clamp_timespan(actual);
    let change = new.difficulty() / old.difficulty();
    if g.json {
        return print_json(&json!({
            "bits": format!("{new_bits:08x}"),
            "previous_bits": format!("{:08x}", old.bits()),
            "target": new.value().to_hex(),
            "difficulty": new.difficulty(),
            "previous_difficulty": old.difficulty(),
            "difficulty_change": change,
            "actual_timespan": actual,
            "clamped_timespan": clamped,
            "target_timespan": chain::TARGET_TIMESPAN,
        }));
    }
    let mut t = kv_table();
    t.row([
        "previous bits".to_string(),
        format!("0x{:08x}", old.bits()),
        String::new(),
    ]);
    t.row([
        "actual timespan".to_string(),
        thousands(actual as f64, 0),
        "s (last - first: 2015 blocks, Core's off-by-one)".into(),
    ]);
    t.row([
        "clamped timespan".to_string(),
        thousands(clamped as f64, 0),
        format!(
            "s (limits {} .. {})",
            thousands(chain::TARGET_TIMESPAN as f64 / 4.0, 0),
            thousands(chain::TARGET_TIMESPAN as f64 * 4.0, 0)
        ),
    ]);
    t.row([
        "target timespan".to_string(),
        thousands(chain::TARGET_TIMESPAN as f64, 0),
        "s".into(),
    ]);
    t.row([
        "next bits".to_string(),
        format!("0x{new_bits:08x}"),
        String::new(),
    ]);
    t.row([
        "next target".to_string(),
        new.value().to_hex(),
        String::new(),
    ]);
    t.row([
        "next difficulty".to_string(),
        format_difficulty(new.difficulty()),
        String::new(),
    ]);
    t.row([
        "difficulty change".to_string(),
        format!("{:+.4}", (change - 1.0) * 100.0),
        "%".into(),
    ]);
    print!("{}", t.render());
    Ok(())
}

fn error_json(e: &FirstError) -> serde_json::Value {
    json!({
        "index": e.index,
        "height": e.height,
        "hash": e.hash,
        "code": e.failure.code(),
        "reason": e.failure.to_string(),
    })
}

/// `chain verify-headers` for humans: what was checked (file, mode, heights) and the verdict as
/// a key-value table, then the first failing header if there is one.
fn print_verify_table(file: &Path, report: &Report, start: u64, last_height: u64) {
    let mut t = kv_table();
    t.row([
        "file".to_string(),
        file.display().to_string(),
        String::new(),
    ]);
    t.row([
        "mode".to_string(),
        match report.mode {
            Mode::Chain => "consecutive chain".to_string(),
            Mode::Checkpoints => "retarget checkpoints (every 2016 blocks)".to_string(),
        },
        String::new(),
    ]);
    t.row([
        "headers".to_string(),
        thousands(report.headers as f64, 0),
        String::new(),
    ]);
    t.row([
        "heights".to_string(),
        format!("{} .. {}", thousands_int(start), thousands_int(last_height)),
        String::new(),
    ]);
    t.row([
        "verified".to_string(),
        thousands(report.verified as f64, 0),
        "headers passed".into(),
    ]);
    t.row([
        "retargets exact".to_string(),
        report.retargets_exact.to_string(),
        "(bits recomputed from timestamps)".into(),
    ]);
    t.row([
        "retargets bounded".to_string(),
        report.retargets_bounded.to_string(),
        "(permitted-transition check only)".into(),
    ]);
    if report.mode == Mode::Chain {
        t.row([
            "chain work".to_string(),
            group_digits(&report.work.to_decimal()),
            "hashes (verified headers)".into(),
        ]);
    }
    if let Some(h) = &report.last_hash {
        t.row(["last good hash".to_string(), h.clone(), String::new()]);
    }
    t.row([
        "result".to_string(),
        if report.valid() { "VALID" } else { "INVALID" }.to_string(),
        String::new(),
    ]);
    print!("{}", t.render());
    if let Some(e) = &report.first_error {
        println!(
            "first error: header #{} (height {}): {} [{}]",
            e.index,
            e.height,
            e.failure,
            e.failure.code()
        );
    }
}

fn verify_headers(
    file: &PathBuf,
    start: Option<&str>,
    checkpoints: bool,
    g: &Global,
) -> anyhow::Result<()> {
    let start = match start {
        Some(s) => parse_height("--start-height", s)?,
        None if checkpoints => chain::RETARGET_INTERVAL,
        None => 0,
    };
    if checkpoints && start % chain::RETARGET_INTERVAL != 0 {
        return Err(bad_input(format!(
            "--start-height: {start} is not a retarget height; with --checkpoints the first header is at a multiple of 2016 (e.g. 2016)"
        )));
    }
    let bytes = std::fs::read(file)
        .map_err(|e| bad_input(format!("FILE: cannot read {}: {e}", file.display())))?;
    let headers = chain::parse_headers_file(&bytes)
        .map_err(|e| bad_input(format!("FILE {}: {e}", file.display())))?;
    if headers.is_empty() {
        return Err(bad_input(format!(
            "FILE {}: no headers found; give one 160-hex-digit header per line, or raw 80-byte headers",
            file.display()
        )));
    }
    // The height of the last header must fit in 64 bits (a `--start-height` near u64::MAX used
    // to overflow here: a panic in debug builds, a wrapped height in release).
    let step = if checkpoints {
        chain::RETARGET_INTERVAL
    } else {
        1
    };
    let last_height = (headers.len() as u64 - 1)
        .checked_mul(step)
        .and_then(|d| start.checked_add(d))
        .ok_or_else(|| {
            bad_input(format!(
                "--start-height: {start} with {} headers puts the last header above the largest height {}",
                headers.len(),
                u64::MAX
            ))
        })?;
    let report: Report = if checkpoints {
        chain::verify_checkpoints(&headers, start)
            .map_err(|e| bad_input(format!("--start-height: {e}")))?
    } else {
        let pb = crate::progress::bar(headers.len() as u64, "headers");
        let r = chain::verify_chain_with_progress(&headers, start, &mut |done| {
            pb.set_position(done as u64)
        });
        pb.finish_and_clear();
        r
    };
    if g.json {
        print_json(&json!({
            "headers": report.headers,
            "valid": report.valid(),
            "first_error": report.first_error.as_ref().map(error_json),
            "mode": match report.mode { Mode::Chain => "chain", Mode::Checkpoints => "checkpoints" },
            "start_height": start,
            "last_height": last_height,
            "verified": report.verified,
            "retargets_exact": report.retargets_exact,
            "retargets_bounded": report.retargets_bounded,
            "work": report.work.to_hex(),
            "last_hash": report.last_hash,
        }))?;
    } else {
        print_verify_table(file, &report, start, last_height);
    }
    if let Some(e) = &report.first_error {
        // The report above is the command's one document; the failure only sets the exit code.
        let _ = std::io::stdout().flush();
        eprintln!(
            "error: FILE {}: header #{} (height {}) fails: {}",
            file.display(),
            e.index,
            e.height,
            e.failure
        );
        std::process::exit(2);
    }
    Ok(())
}
