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
}

/// Runs the command.
pub fn run(args: &ServeArgs, g: &Global) -> anyhow::Result<()> {
    let addr: SocketAddr = args.addr.parse().map_err(|_| {
        bad_input(format!(
            "--addr {:?}: expected HOST:PORT with a numeric IP, e.g. 127.0.0.1:8080",
            args.addr
        ))
    })?;
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
    let db = match &g.db {
        Some(p) => p.clone(),
        None => hashpivot_store::default_path()?,
    };
    let limits = hashpivot_server::Limits {
        max_paths: args.max_paths,
        workers: args.workers,
        ..hashpivot_server::Limits::default()
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
                    serde_json::json!({"url": url, "addr": bound.to_string(), "db": db_label})
                );
            } else {
                println!("hashpivot dashboard on {url}  (database {db_label}; Ctrl-C stops)");
            }
            let _ = std::io::stdout().flush();
        },
    )?;
    Ok(())
}
