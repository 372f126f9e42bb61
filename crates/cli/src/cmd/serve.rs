//! `hashpivot serve`: the web dashboard and HTTP API (crate `hashpivot-server`).

use std::io::Write as _;
use std::net::SocketAddr;

use crate::error::bad_input;
use crate::Global;

/// Serve the dashboard and the HTTP API on one address (the database is `--db`).
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on; port 0 picks a free port (printed on start).
    #[arg(long, default_value = "127.0.0.1:8080", value_name = "HOST:PORT")]
    pub addr: String,
    /// Most Monte Carlo paths a run may ask for.
    #[arg(long, default_value_t = hashpivot_server::DEFAULT_MAX_PATHS, value_name = "N")]
    pub max_paths: u64,
    /// Runs simulated at the same time (each uses every core); others wait in the queue.
    #[arg(long, default_value_t = 1, value_name = "N")]
    pub workers: usize,
    /// Runs waiting or running at most; more are refused with 503 and Retry-After.
    #[arg(long, default_value_t = 16, value_name = "N")]
    pub max_queue: usize,
    /// Seconds a request may take before it is abandoned with 503 (event streams excepted).
    #[arg(long, default_value_t = 30, value_name = "SECONDS")]
    pub request_timeout: u64,
    /// Require `Authorization: Bearer TOKEN` on every /api route (never printed). Needed to listen
    /// on an address other than loopback. Prefer $HASHPIVOT_TOKEN: command lines are visible to
    /// other users of the machine.
    #[arg(
        long,
        env = "HASHPIVOT_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN"
    )]
    pub token: Option<String>,
    /// Allow a non-loopback --addr without --token (anyone on the network can use the server).
    #[arg(long)]
    pub insecure: bool,
    /// Largest estimated peak memory of one run, MB; larger runs are refused with 422 before
    /// they start. Default: half the physical memory, at most 4096.
    #[arg(long, value_name = "MB")]
    pub max_run_mb: Option<u64>,
    /// Seconds a request may take to arrive (head and body, from its first byte); slower clients
    /// are disconnected.
    #[arg(long, default_value_t = 10, value_name = "SECONDS")]
    pub read_timeout: u64,
    /// Open connections from one client address at most.
    #[arg(long, default_value_t = 32, value_name = "N")]
    pub max_per_client: usize,
}

/// The run-size and queue options (`--max-paths`, `--workers`, `--max-queue`,
/// `--request-timeout`), checked in that order so that the first bad one is named.
fn check_run_limits(args: &ServeArgs) -> anyhow::Result<()> {
    if args.max_paths == 0 || args.max_paths > 20_000_000 {
        return Err(bad_input(format!(
            "--max-paths {}: allowed 1 to 20000000",
            args.max_paths
        )));
    }
    if args.workers == 0 || args.workers > 64 {
        return Err(bad_input(format!(
            "--workers {}: allowed 1 to 64",
            args.workers
        )));
    }
    if args.max_queue == 0 || args.max_queue > 10_000 {
        return Err(bad_input(format!(
            "--max-queue {}: allowed 1 to 10000",
            args.max_queue
        )));
    }
    if args.request_timeout == 0 || args.request_timeout > 3600 {
        return Err(bad_input(format!(
            "--request-timeout {}: allowed 1 to 3600 seconds",
            args.request_timeout
        )));
    }
    Ok(())
}

/// The per-connection options (`--max-run-mb`, `--read-timeout`, `--max-per-client`), checked in
/// that order after the database path is known, as before.
fn check_connection_limits(args: &ServeArgs) -> anyhow::Result<()> {
    if args.max_run_mb.is_some_and(|m| m == 0 || m > 1 << 20) {
        return Err(bad_input(format!(
            "--max-run-mb: {} is not allowed; use 1 to 1048576",
            args.max_run_mb.unwrap_or(0)
        )));
    }
    if args.read_timeout == 0 || args.read_timeout > 3600 {
        return Err(bad_input(format!(
            "--read-timeout: {} is not allowed; use 1 to 3600 seconds",
            args.read_timeout
        )));
    }
    if args.max_per_client == 0 || args.max_per_client > 100_000 {
        return Err(bad_input(format!(
            "--max-per-client: {} is not allowed; use 1 to 100000",
            args.max_per_client
        )));
    }
    Ok(())
}

/// Runs the command.
pub fn run(args: &ServeArgs, g: &Global) -> anyhow::Result<()> {
    let addr: SocketAddr = args.addr.parse().map_err(|_| {
        bad_input(format!(
            "--addr {:?}: expected HOST:PORT with a numeric IP, e.g. 127.0.0.1:8080",
            args.addr
        ))
    })?;
    check_run_limits(args)?;
    // An empty $HASHPIVOT_TOKEN counts as unset (a shell `export HASHPIVOT_TOKEN=` is common).
    let token = match args.token.as_deref().filter(|t| !t.is_empty()) {
        Some(t) => Some(
            hashpivot_server::Token::new(t)
                .map_err(|why| bad_input(format!("--token / $HASHPIVOT_TOKEN: {why}")))?,
        ),
        None => None,
    };
    // Checked before anything is bound: a mistaken --addr 0.0.0.0 must not open the store to the
    // network even for a moment.
    if !addr.ip().is_loopback() && token.is_none() && !args.insecure {
        return Err(bad_input(format!(
            "--addr {addr}: listening on a non-loopback address needs --token TOKEN (or $HASHPIVOT_TOKEN) so that only holders of the token can use the API; pass --insecure to serve it to the network without one"
        )));
    }
    if !addr.ip().is_loopback() && token.is_none() {
        eprintln!(
            "warning: --insecure: serving {addr} without a token; anyone who can reach it can read and start runs"
        );
    }
    let db = match &g.db {
        Some(p) => p.clone(),
        None => hashpivot_store::default_path()?,
    };
    check_connection_limits(args)?;
    let limits = hashpivot_server::Limits {
        max_run_bytes: args
            .max_run_mb
            .map_or_else(hashpivot_server::state::default_max_run_bytes, |m| m << 20),
        read_timeout: std::time::Duration::from_secs(args.read_timeout),
        max_per_client: args.max_per_client,
        max_paths: args.max_paths,
        workers: args.workers,
        max_queue: args.max_queue,
        request_timeout: std::time::Duration::from_secs(args.request_timeout),
        // An idle connection must outlive the slowest allowed request.
        idle_timeout: std::time::Duration::from_secs(args.request_timeout.max(55) + 5),
        token,
        // --insecure serves the network by name too (the user accepted that anyone may connect).
        check_host: !args.insecure,
        ..hashpivot_server::Limits::default()
    };
    let auth = if limits.token.is_some() {
        "token"
    } else {
        "none"
    };
    let json = g.json;
    let db_label = db.display().to_string();
    hashpivot_server::run_blocking(
        hashpivot_server::ServeConfig { addr, db, limits },
        move |bound| {
            let url = format!("http://{bound}/");
            // The first line of stdout is the address: scripts start the server on port 0 and
            // read it from there.
            if json {
                println!(
                    "{}",
                    serde_json::json!({"url": url, "addr": bound.to_string(), "db": db_label, "auth": auth})
                );
            } else {
                let note = if auth == "token" {
                    "; API needs the token"
                } else {
                    ""
                };
                println!("hashpivot dashboard on {url}  (database {db_label}{note}; Ctrl-C stops)");
            }
            let _ = std::io::stdout().flush();
        },
    )
    .map_err(|e| match e {
        // The user's invocation conflicts with a running server: bad input (exit 2), not a failure.
        e @ hashpivot_server::ServeError::InUse { .. } => bad_input(e.to_string()),
        e => e.into(),
    })?;
    Ok(())
}
