//! hashpivot-server: the HTTP API and the web dashboard of `hashpivot serve`.
//!
//! One process, no external services: the pages, scripts and styles are compiled into the binary,
//! charts are SVG generated in Rust ([`hashpivot_charts`]), runs are executed by a bounded worker
//! pool and stored in SQLite ([`hashpivot_store::runs`]) so they survive a restart. Every error
//! answer is JSON `{"error": "...", "field": ...}` ([`error::ApiError`]).
//!
//! The routes are listed in `openapi.json` (served at `/api/openapi.json`); the router is built
//! through [`build_router`], which also returns the list of routes it registered, so a test checks
//! that the document and the router agree both ways.

pub mod api;
pub mod auth;
pub mod conn;
pub mod dashboard_api;
mod decisions;
pub mod dispatch_api;
pub mod error;
pub mod forwards;
pub mod guard;
pub mod market_api;
mod model_adapter;
mod routes;
pub mod runner;
pub mod sensitivity;
pub mod state;
#[doc(hidden)]
pub mod testing;

/// The result views (tables, charts) shared with `hashpivot report`.
pub use hashpivot_report::views;

use std::net::SocketAddr;
use std::sync::Arc;

pub use auth::Token;
pub use error::ApiError;
pub use model_adapter::ModelEngine;
pub use runner::{Engine, EngineError, RunRequest, DEFAULT_MAX_PATHS};
pub use state::{AppState, Limits};

/// The OpenAPI document of the API (OpenAPI 3.1, JSON).
pub const OPENAPI_JSON: &str = include_str!("../openapi.json");

/// Errors starting the server.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The store could not be opened or migrated.
    #[error("cannot open the store {path}: {message}")]
    Store {
        /// The database file.
        path: String,
        /// Why.
        message: String,
    },
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// The OS error.
        source: std::io::Error,
    },
    /// Another `hashpivot serve` holds the database's server lock (see [`lock_database`]).
    #[error("the database {path} is in use by another hashpivot server{holder} (lock file {lock}): stop that server, or give this one its own --db")]
    InUse {
        /// The database file.
        path: String,
        /// The lock file.
        lock: String,
        /// `" (pid N)"` when the lock file names the holder, else empty.
        holder: String,
    },
    /// The server stopped with an I/O error.
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// Takes the server lock of the database `db`: an exclusive advisory lock (`flock` on Unix,
/// `LockFileEx` on Windows) on the file `<db>.lock`, which also records the holder's pid. Held
/// while the returned file is open; the OS drops it when the process ends, even on `SIGKILL`, so a
/// crash never leaves a stale lock. Needed because a server starting up marks every unfinished
/// run of its database failed: right after a crash, but wrong while another server is running
/// those runs. Other processes (`data import`, `simulate`) do not take it: SQLite's own locking
/// keeps them safe.
pub fn lock_database(db: &std::path::Path) -> Result<ServerLock, ServeError> {
    use std::io::{Read, Write};
    let store_err = |message: String| ServeError::Store {
        path: db.display().to_string(),
        message,
    };
    // The store creates the database's directory; the lock file needs it first.
    if let Some(dir) = db.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| store_err(format!("{}: {e}", dir.display())))?;
    }
    // The database file itself is locked too (`flock`, which does not interact with SQLite's
    // `fcntl` locks on Linux): that also catches a hard link to the same file. Created here if
    // new (SQLite takes an empty file as an empty database).
    let db_file = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(db)
        .map_err(|e| store_err(format!("{}: {e}", db.display())))?;
    // The lock file is keyed on the canonical path: a second server reaching the same file
    // through a symlink or `dir/../db` finds the same lock (and its holder's pid).
    let canonical = db
        .canonicalize()
        .map_err(|e| store_err(format!("{}: {e}", db.display())))?;
    let mut name = canonical.as_os_str().to_owned();
    name.push(".lock");
    let lock = std::path::PathBuf::from(name);
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock)
        .map_err(|e| store_err(format!("lock file {}: {e}", lock.display())))?;
    let locked = f.try_lock().and_then(|()| match db_file.try_lock() {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = f.unlock();
            Err(e)
        }
    });
    match locked {
        Ok(()) => {
            // The pid is only for the message another server prints.
            let _ = f
                .set_len(0)
                .and_then(|()| writeln!(f, "{}", std::process::id()));
            Ok(ServerLock {
                _lock_file: f,
                _db_file: db_file,
            })
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut text = String::new();
            let _ = f.read_to_string(&mut text);
            let holder = match text.trim().parse::<u32>() {
                Ok(pid) => format!(" (pid {pid})"),
                Err(_) => String::new(),
            };
            Err(ServeError::InUse {
                path: db.display().to_string(),
                lock: lock.display().to_string(),
                holder,
            })
        }
        Err(std::fs::TryLockError::Error(e)) => {
            Err(store_err(format!("lock file {}: {e}", lock.display())))
        }
    }
}

/// The locks taken by [`lock_database`]; released when dropped (or when the process ends).
#[derive(Debug)]
pub struct ServerLock {
    _lock_file: std::fs::File,
    _db_file: std::fs::File,
}

/// The router with every route, and the `(method, path)` list of what it registered.
pub fn build_router(state: Arc<AppState>) -> (axum::Router, Vec<(&'static str, &'static str)>) {
    api::router(state)
}

/// Serves on an already bound listener until `shutdown` resolves.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let limits = conn::ConnLimits::of(&state.limits);
    let (router, _) = build_router(state);
    let listener = conn::CappedListener::new(listener, limits);
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown)
        .await?;
    Ok(())
}

/// Settings of `hashpivot serve`.
#[derive(Debug, Clone)]
pub struct ServeConfig {
    /// Address to listen on (port 0 picks a free port).
    pub addr: SocketAddr,
    /// The database file.
    pub db: std::path::PathBuf,
    /// Limits.
    pub limits: Limits,
}

/// Connections the kernel queues before `accept` (capped by `net.core.somaxconn`). tokio's
/// default, 1024, overflows when clients that are refused at once (the per-address cap) reconnect
/// in bursts: every SYN dropped then costs a normal client a 1 s retransmission.
const LISTEN_BACKLOG: u32 = 4096;

/// Binds `addr` with [`LISTEN_BACKLOG`] (and `SO_REUSEADDR`, as `TcpListener::bind` sets).
fn listen(addr: SocketAddr) -> std::io::Result<tokio::net::TcpListener> {
    let sock = if addr.is_ipv4() {
        tokio::net::TcpSocket::new_v4()?
    } else {
        tokio::net::TcpSocket::new_v6()?
    };
    sock.set_reuseaddr(true)?;
    sock.bind(addr)?;
    sock.listen(LISTEN_BACKLOG)
}

/// Takes the database's server lock ([`lock_database`]), opens the store, binds, calls `on_ready`
/// with the bound address, and serves until Ctrl-C or SIGTERM. Builds its own tokio runtime (the CLI stays synchronous).
pub fn run_blocking(cfg: ServeConfig, on_ready: impl FnOnce(SocketAddr)) -> Result<(), ServeError> {
    // Before the store is opened: opening it fails the unfinished runs (see `lock_database`).
    let _lock = lock_database(&cfg.db)?;
    let state =
        AppState::open(&cfg.db, Arc::new(ModelEngine), cfg.limits.clone()).map_err(|message| {
            ServeError::Store {
                path: cfg.db.display().to_string(),
                message,
            }
        })?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    rt.block_on(async move {
        let listener = listen(cfg.addr).map_err(|source| ServeError::Bind {
            addr: cfg.addr,
            source,
        })?;
        on_ready(listener.local_addr()?);
        serve_on(listener, Arc::new(state), shutdown_signal()).await
    })
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}
