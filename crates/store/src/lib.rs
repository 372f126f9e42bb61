//! hashpivot-store: the SQLite store (history series, imports, runs).
//!
//! One file (bundled SQLite, WAL mode). [`Store::open`] creates it, migrates it (`PRAGMA
//! user_version`) and imports the shipped history on first use. Every import runs in one
//! transaction: it either lands completely or leaves the previous data untouched (an interrupted
//! process leaves an uncommitted WAL frame that SQLite discards on the next open).
//!
//! Series: `price` (daily close, USD), `heights` (height at LA midnight), `difficulty` (one row per
//! retarget epoch), `fees` (BTC per day), `power` (hourly $/MWh per settlement point; the shipped
//! ERCOT prices are imported on the first use of the power series, [`Store::ensure_shipped_power`]).
//! Each row keeps its `source` (`shipped`, `import:FILE`, `rpc`, `mempool`); shipped rows never
//! overwrite rows from other sources.
//!
//! Other modules (e.g. [`runs`]) keep their own tables with [`Store::migrate_module`] and reach the
//! connection with [`Store::conn`].

pub mod runs;
pub mod sync;

use std::path::{Path, PathBuf};

use hashpivot_data::{shipped, Date, Epoch, FeeDay, HeightPoint, PricePoint};
use rusqlite::{params, Connection, OptionalExtension, Transaction};
use serde::Serialize;

/// Version of the shipped data set; bump when `data/` changes so existing stores re-import it.
pub const SHIPPED_VERSION: &str = "2026-08-22.1";

/// Errors of the store.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed.
    #[error("database {path}: {source}")]
    Sqlite {
        /// The database file.
        path: String,
        /// The SQLite error.
        #[source]
        source: rusqlite::Error,
    },
    /// The directory for the database could not be created.
    #[error("cannot create the directory {path}: {source}")]
    Io {
        /// The directory.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file was written by a newer hashpivot.
    #[error("database {path} has schema version {found}; this hashpivot understands up to {supported} (upgrade hashpivot)")]
    TooNew {
        /// The database file.
        path: String,
        /// Its `user_version`.
        found: i64,
        /// Ours.
        supported: i64,
    },
    /// A fault injected by a test ([`Store::set_fault_after_rows`]).
    #[error("import aborted after {0} rows (injected fault)")]
    InjectedFault(usize),
    /// No default location (no `$XDG_DATA_HOME`, no `$HOME`).
    #[error("no default database location: set HASHPIVOT_DB or pass --db PATH")]
    NoDefaultPath,
}

/// The default database path: `$XDG_DATA_HOME/hashpivot/hashpivot.sqlite`, else
/// `$HOME/.local/share/hashpivot/hashpivot.sqlite` (`$HASHPIVOT_DB` / `--db` are handled by the CLI).
pub fn default_path() -> Result<PathBuf, StoreError> {
    let non_empty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty());
    if let Some(x) = non_empty("XDG_DATA_HOME") {
        return Ok(PathBuf::from(x).join("hashpivot").join("hashpivot.sqlite"));
    }
    if let Some(h) = non_empty("HOME") {
        return Ok(PathBuf::from(h)
            .join(".local")
            .join("share")
            .join("hashpivot")
            .join("hashpivot.sqlite"));
    }
    Err(StoreError::NoDefaultPath)
}

/// The core schema, one entry per `user_version` step. Never edit a released step; append.
const MIGRATIONS: &[&str] = &[
    // 1: series tables, bookkeeping, import log.
    "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
     CREATE TABLE price (date TEXT PRIMARY KEY, close_usd REAL NOT NULL, source TEXT NOT NULL);
     CREATE TABLE heights (date TEXT PRIMARY KEY, height INTEGER NOT NULL, source TEXT NOT NULL);
     CREATE TABLE difficulty (
        epoch INTEGER PRIMARY KEY, start_height INTEGER NOT NULL, bits INTEGER,
        difficulty REAL NOT NULL, start_time_unix INTEGER, approx_start_date TEXT,
        first_block_hash TEXT, implied_hashrate_ehs REAL, source TEXT NOT NULL);
     CREATE TABLE fees (date TEXT PRIMARY KEY, fees_btc REAL NOT NULL, blocks INTEGER, source TEXT NOT NULL);
     CREATE TABLE power (
        node TEXT NOT NULL, date TEXT NOT NULL, hour_ending INTEGER NOT NULL,
        repeated INTEGER NOT NULL, usd_mwh REAL NOT NULL, source TEXT NOT NULL,
        PRIMARY KEY (node, date, hour_ending, repeated)) WITHOUT ROWID;
     CREATE TABLE series_updates (series TEXT PRIMARY KEY, updated_at TEXT NOT NULL, source TEXT NOT NULL);
     CREATE TABLE imports (
        id INTEGER PRIMARY KEY, series TEXT NOT NULL, source TEXT NOT NULL,
        rows INTEGER NOT NULL, at TEXT NOT NULL);
     CREATE TABLE module_versions (module TEXT PRIMARY KEY, version INTEGER NOT NULL);",
    // 2: one row per live sync (`hashpivot data sync`): where from, the source's tip, and whether
    // it finished (a killed sync stays `running`; what it committed before is kept).
    "CREATE TABLE syncs (
        id INTEGER PRIMARY KEY, source TEXT NOT NULL, url TEXT NOT NULL,
        started_at TEXT NOT NULL, finished_at TEXT, tip_height INTEGER, tip_time INTEGER,
        rows INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL);",
    // 3: hashprice forward marks (`data import forwards FILE`).
    "CREATE TABLE forwards (
        quote_date TEXT NOT NULL, delivery_month TEXT NOT NULL, usd_per_ph_day REAL NOT NULL,
        source TEXT NOT NULL, PRIMARY KEY (quote_date, delivery_month)) WITHOUT ROWID;",
];

/// What one migration step found.
enum Step {
    /// A step was applied; look for the next.
    Applied,
    /// Nothing left to do.
    Done,
    /// The database is newer than this build (its version).
    TooNew(i64),
}

/// How long a process waits for another's lock on the database (a running import, a migration,
/// the switch of a new file to WAL) before it reports the database as locked.
const BUSY_WAIT: std::time::Duration = std::time::Duration::from_secs(10);

/// Puts the database in WAL mode (an in-memory one keeps its own mode). WAL is a property of the
/// file, so once any process has switched it this only reads the mode. The switch itself needs
/// the file to itself, and an opener that meets another's switch (several first uses of a new
/// file at once) gets "database is locked" at once, whatever `busy_timeout` says: SQLite does
/// not wait in its busy handler there (the store test
/// `concurrent_first_opens_of_a_new_file_all_succeed` failed 3 runs out of 3 without this
/// retry). So it reads the mode and retries the switch, with a growing pause, for up to
/// [`BUSY_WAIT`].
fn to_wal(conn: &Connection) -> rusqlite::Result<()> {
    let deadline = std::time::Instant::now() + BUSY_WAIT;
    let mut pause = std::time::Duration::from_millis(1);
    loop {
        let attempt = conn
            .pragma_query_value(None, "journal_mode", |r| r.get::<_, String>(0))
            .and_then(|mode| {
                if mode.eq_ignore_ascii_case("wal") {
                    return Ok(());
                }
                conn.pragma_update_and_check(None, "journal_mode", "WAL", |_| Ok(()))
            });
        match attempt {
            Err(rusqlite::Error::SqliteFailure(f, _))
                if matches!(
                    f.code,
                    rusqlite::ErrorCode::DatabaseBusy | rusqlite::ErrorCode::DatabaseLocked
                ) && std::time::Instant::now() < deadline =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(std::time::Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

/// Runs `step` in successive `BEGIN IMMEDIATE` transactions until it reports [`Step::Done`] (at
/// most `max + 1` times, so a broken step list cannot loop forever).
fn locked_steps(
    conn: &mut Connection,
    path: &str,
    max: usize,
    mut step: impl FnMut(&Transaction<'_>) -> rusqlite::Result<Step>,
) -> Result<(), StoreError> {
    let e = |e| StoreError::Sqlite {
        path: path.to_string(),
        source: e,
    };
    for _ in 0..=max {
        let tx = conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(e)?;
        match step(&tx).map_err(e)? {
            Step::Applied => tx.commit().map_err(e)?,
            Step::Done => return Ok(()),
            Step::TooNew(found) => {
                return Err(StoreError::TooNew {
                    path: path.to_string(),
                    found,
                    supported: max as i64,
                })
            }
        }
    }
    Ok(())
}

/// `path` for an SQLite `file:` URI (`?` and `#` and `%` escaped).
fn uri_path(path: &Path) -> String {
    let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut out = String::new();
    for ch in abs.to_string_lossy().chars() {
        match ch {
            '?' => out.push_str("%3f"),
            '#' => out.push_str("%23"),
            '%' => out.push_str("%25"),
            c => out.push(c),
        }
    }
    out
}

/// The stored series and their tables.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Series {
    /// Daily BTC/USD close.
    Price,
    /// Height at LA midnight of each day.
    Heights,
    /// Difficulty per retarget epoch.
    Difficulty,
    /// Fees per day, BTC.
    Fees,
    /// Hourly power prices, $/MWh, per settlement point.
    Power,
}

impl Series {
    /// All series, in display order.
    pub const ALL: [Series; 5] = [
        Series::Price,
        Series::Heights,
        Series::Difficulty,
        Series::Fees,
        Series::Power,
    ];

    /// The name used on the command line and in the table.
    pub fn name(self) -> &'static str {
        match self {
            Series::Price => "price",
            Series::Heights => "heights",
            Series::Difficulty => "difficulty",
            Series::Fees => "fees",
            Series::Power => "power",
        }
    }

    /// Parses a name (see [`Series::name`]).
    pub fn parse(s: &str) -> Option<Series> {
        Series::ALL.into_iter().find(|k| k.name() == s)
    }

    fn table(self) -> &'static str {
        self.name()
    }

    /// The column that orders the series and whose range `status` reports.
    fn key(self) -> &'static str {
        match self {
            Series::Difficulty => "epoch",
            _ => "date",
        }
    }

    /// Unit or meaning of the value column, for humans.
    pub fn unit(self) -> &'static str {
        match self {
            Series::Price => "USD/BTC, daily close",
            Series::Heights => "block height at 00:00 LA",
            Series::Difficulty => "difficulty per 2016-block epoch",
            Series::Fees => "BTC/day paid in fees",
            Series::Power => "$/MWh hourly, per node",
        }
    }
}

/// One line of `hashpivot data status`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeriesStatus {
    /// Series name.
    pub series: &'static str,
    /// What the values are.
    pub unit: &'static str,
    /// Row count.
    pub rows: u64,
    /// First key (date, or epoch number for difficulty), if any rows.
    pub first: Option<String>,
    /// Last key.
    pub last: Option<String>,
    /// Distinct sources with their row counts, e.g. `shipped:6165, import:my.csv:12`.
    pub sources: Vec<(String, u64)>,
    /// When the series was last written (UTC, RFC 3339).
    pub updated_at: Option<String>,
    /// Which days (or epochs) each source covers.
    pub coverage: Vec<SourceCoverage>,
}

/// The part of a series one source wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceCoverage {
    /// Source tag (`shipped`, `mempool`, `rpc`, `import:FILE`).
    pub source: String,
    /// Rows.
    pub rows: u64,
    /// First key (date, or epoch number).
    pub first: String,
    /// Last key.
    pub last: String,
}

/// One hourly power price row.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PowerRow {
    /// Settlement point / node name.
    pub node: String,
    /// Delivery date (local).
    pub date: Date,
    /// Hour ending 1–24 (local).
    pub hour_ending: u8,
    /// The repeated hour of the fall DST change.
    pub repeated: bool,
    /// Price, $/MWh.
    pub usd_mwh: f64,
}

/// What an import wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ImportReport {
    /// Series written.
    pub series: &'static str,
    /// Rows inserted or replaced.
    pub rows: u64,
    /// Source tag stored with the rows.
    pub source: String,
}

/// The hashpivot database.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: String,
    fault_after: Option<usize>,
}

pub use hashpivot_data::now_rfc3339;

impl Store {
    /// Opens (creating directories and the file if needed) and migrates the database at `path`,
    /// then imports the shipped history if this store has not got it yet.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(|e| StoreError::Io {
                path: dir.display().to_string(),
                source: e,
            })?;
        }
        let label = path.display().to_string();
        let conn = Connection::open(path).map_err(|e| StoreError::Sqlite {
            path: label.clone(),
            source: e,
        })?;
        Store::init(conn, label)
    }

    /// Opens the database at `path` for reading only, for the commands that never write (`data
    /// status`, `data export`, `history`, `calibrate`): they then work on a database in a read-only
    /// directory or on a read-only file. When the database does not exist yet, or still needs a
    /// migration or the shipped history, this is [`Store::open`] (which writes). A WAL database in
    /// a directory where SQLite cannot create its `-shm` file is opened as immutable: nobody can
    /// be writing to it then.
    pub fn open_read_only(path: &Path) -> Result<Store, StoreError> {
        use rusqlite::OpenFlags;
        if !path.is_file() {
            return Store::open(path);
        }
        let label = path.display().to_string();
        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let ready = |conn: Connection| -> Result<Option<Store>, StoreError> {
            let s = Store {
                conn,
                path: label.clone(),
                fault_after: None,
            };
            s.conn.busy_timeout(BUSY_WAIT).map_err(|e| s.err(e))?;
            let v: i64 = s
                .conn
                .pragma_query_value(None, "user_version", |r| r.get(0))
                .map_err(|e| s.err(e))?;
            if v > Store::schema_version() {
                return Err(StoreError::TooNew {
                    path: label.clone(),
                    found: v,
                    supported: Store::schema_version(),
                });
            }
            let current = v == Store::schema_version()
                && s.meta("shipped_version")?.as_deref() == Some(SHIPPED_VERSION);
            Ok(current.then_some(s))
        };
        let opened = Connection::open_with_flags(path, flags)
            .map_err(|e| StoreError::Sqlite {
                path: label.clone(),
                source: e,
            })
            .and_then(ready);
        let store = match opened {
            Ok(found) => found,
            // SQLITE_READONLY_DIRECTORY / CANTOPEN: no -shm can be created next to the file.
            Err(StoreError::Sqlite { .. }) => {
                let uri = format!("file:{}?immutable=1", uri_path(path));
                Connection::open_with_flags(uri, flags | OpenFlags::SQLITE_OPEN_URI)
                    .map_err(|e| StoreError::Sqlite {
                        path: label.clone(),
                        source: e,
                    })
                    .and_then(ready)?
            }
            Err(e) => return Err(e),
        };
        match store {
            Some(s) => Ok(s),
            None => Store::open(path),
        }
    }

    /// An in-memory store (tests, previews), migrated and with the shipped history.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory().map_err(|e| StoreError::Sqlite {
            path: ":memory:".into(),
            source: e,
        })?;
        Store::init(conn, ":memory:".into())
    }

    fn init(conn: Connection, path: String) -> Result<Store, StoreError> {
        let mut s = Store {
            conn,
            path,
            fault_after: None,
        };
        // busy_timeout first: a second hashpivot process waits for a running import or migration
        // instead of failing (the switch of a brand-new file to WAL is not covered by it: see
        // `to_wal`, which retries that itself).
        // WAL: readers never block the writer, and a killed writer leaves the last commit intact.
        s.conn.busy_timeout(BUSY_WAIT).map_err(|e| s.err(e))?;
        to_wal(&s.conn).map_err(|e| s.err(e))?;
        s.conn
            .pragma_update(None, "foreign_keys", true)
            .map_err(|e| s.err(e))?;
        s.migrate()?;
        s.ensure_shipped()?;
        Ok(s)
    }

    fn err(&self, e: rusqlite::Error) -> StoreError {
        StoreError::Sqlite {
            path: self.path.clone(),
            source: e,
        }
    }

    /// The database file (or `:memory:`).
    pub fn path(&self) -> &str {
        &self.path
    }

    /// The SQLite connection, for modules that keep their own tables (see [`Store::migrate_module`]).
    pub fn conn(&self) -> &Connection {
        &self.conn
    }

    /// Mutable connection (for transactions).
    pub fn conn_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// Schema version this build writes.
    pub fn schema_version() -> i64 {
        MIGRATIONS.len() as i64
    }

    /// Brings the core schema to [`Store::schema_version`]. Each step runs in a `BEGIN
    /// IMMEDIATE` transaction that first re-reads `user_version`: of several processes opening a
    /// new database at once, one takes the write lock and migrates, the others wait
    /// (`busy_timeout`) and then find the step done, instead of failing on "table already exists".
    fn migrate(&mut self) -> Result<(), StoreError> {
        let path = self.path.clone();
        let target = Store::schema_version();
        locked_steps(&mut self.conn, &path, MIGRATIONS.len(), |tx| {
            let v: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
            if v > target {
                return Ok(Step::TooNew(v));
            }
            let Some(step) = MIGRATIONS.get(v.max(0) as usize) else {
                return Ok(Step::Done);
            };
            tx.execute_batch(step)?;
            tx.pragma_update(None, "user_version", v + 1)?;
            Ok(Step::Applied)
        })
    }

    /// Applies a module's own migrations: `steps[k]` is the SQL that takes the module from version
    /// `k` to `k + 1`. Versions are kept per module in `module_versions`, each step in its own
    /// `BEGIN IMMEDIATE` transaction that re-reads the version (safe against concurrent openers,
    /// as [`Store::migrate`]), so calling this on every open is cheap and safe. Example (the runs
    /// module): `store.migrate_module("runs", &["CREATE TABLE runs (...)"])`.
    pub fn migrate_module(&mut self, module: &str, steps: &[&str]) -> Result<(), StoreError> {
        let path = self.path.clone();
        locked_steps(&mut self.conn, &path, steps.len(), |tx| {
            let v: i64 = tx
                .query_row(
                    "SELECT version FROM module_versions WHERE module = ?1",
                    [module],
                    |r| r.get(0),
                )
                .optional()?
                .unwrap_or(0);
            let Some(step) = steps.get(v.max(0) as usize) else {
                return Ok(Step::Done);
            };
            tx.execute_batch(step)?;
            tx.execute(
                "INSERT INTO module_versions (module, version) VALUES (?1, ?2)
                 ON CONFLICT(module) DO UPDATE SET version = excluded.version",
                params![module, v + 1],
            )?;
            Ok(Step::Applied)
        })
    }

    /// Test hook: make the next imports fail after writing `n` rows inside their transaction (the
    /// transaction is rolled back, as when the process is killed).
    #[doc(hidden)]
    pub fn set_fault_after_rows(&mut self, n: Option<usize>) {
        self.fault_after = n;
    }

    fn meta(&self, key: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row("SELECT value FROM meta WHERE key = ?1", [key], |r| r.get(0))
            .optional()
            .map_err(|e| self.err(e))
    }

    /// Imports the shipped BTC history (price, heights, difficulty, fees) unless this store already
    /// has this version of it. One transaction.
    pub fn ensure_shipped(&mut self) -> Result<(), StoreError> {
        if self.meta("shipped_version")?.as_deref() == Some(SHIPPED_VERSION) {
            return Ok(());
        }
        let fault = self.fault_after;
        let path = self.path.clone();
        let e = |e| StoreError::Sqlite {
            path: path.clone(),
            source: e,
        };
        // Re-checked under the write lock: a concurrent first use may have imported it meanwhile.
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(e)?;
        let have: Option<String> = tx
            .query_row(
                "SELECT value FROM meta WHERE key = 'shipped_version'",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(e)?;
        if have.as_deref() == Some(SHIPPED_VERSION) {
            return Ok(());
        }
        let mut w = Writer {
            tx: &tx,
            written: 0,
            fault,
        };
        w.prices(shipped::prices(), "shipped")
            .map_err(|x| x.with_path(&path))?;
        w.heights(shipped::heights(), "shipped")
            .map_err(|x| x.with_path(&path))?;
        w.epochs(shipped::epochs(), "shipped")
            .map_err(|x| x.with_path(&path))?;
        w.fees(shipped::fees(), "shipped")
            .map_err(|x| x.with_path(&path))?;
        let now = now_rfc3339();
        for s in [
            Series::Price,
            Series::Heights,
            Series::Difficulty,
            Series::Fees,
        ] {
            touch(&tx, s, "shipped", &now).map_err(e)?;
        }
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('shipped_version', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [SHIPPED_VERSION],
        )
        .map_err(e)?;
        tx.commit().map_err(e)
    }

    /// Imports the shipped ERCOT day-ahead prices (15 settlement points, 2021 – 2025-05-17) unless
    /// already present. Done on first use of the power series because it is ≈ 575k rows.
    pub fn ensure_shipped_power(&mut self) -> Result<(), StoreError> {
        if self.meta("shipped_power")?.as_deref() == Some(SHIPPED_VERSION) {
            return Ok(());
        }
        use hashpivot_data::ercot;
        let mut rows = Vec::with_capacity(40_000 * ercot::SETTLEMENT_POINTS.len());
        for node in ercot::SETTLEMENT_POINTS {
            let spec = format!("ercot:{node}:{}-{}", ercot::FIRST_YEAR, ercot::LAST_YEAR);
            // The embedded files are checked by the data crate's tests; a failure here is a
            // packaging bug, reported rather than panicking.
            let s = ercot::series(&spec).map_err(|x| StoreError::Sqlite {
                path: self.path.clone(),
                source: rusqlite::Error::ToSqlConversionFailure(Box::new(x)),
            })?;
            for (h, p) in s.hours.iter().zip(&s.usd_mwh) {
                rows.push(PowerRow {
                    node: node.to_string(),
                    date: h.date,
                    hour_ending: h.hour_ending,
                    repeated: h.repeated,
                    usd_mwh: *p,
                });
            }
        }
        let path = self.path.clone();
        let e = |e| StoreError::Sqlite {
            path: path.clone(),
            source: e,
        };
        let tx = self.conn.transaction().map_err(e)?;
        let mut w = Writer {
            tx: &tx,
            written: 0,
            fault: self.fault_after,
        };
        w.power(&rows, "shipped").map_err(|x| x.with_path(&path))?;
        touch(&tx, Series::Power, "shipped", &now_rfc3339()).map_err(e)?;
        tx.execute(
            "INSERT INTO meta (key, value) VALUES ('shipped_power', ?1)
             ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            [SHIPPED_VERSION],
        )
        .map_err(e)?;
        tx.commit().map_err(e)
    }

    /// True when the shipped power prices are in the store.
    pub fn has_shipped_power(&self) -> Result<bool, StoreError> {
        Ok(self.meta("shipped_power")?.is_some())
    }

    fn import<F>(&mut self, series: Series, source: &str, f: F) -> Result<ImportReport, StoreError>
    where
        F: FnOnce(&mut Writer<'_>) -> Result<(), WriteError>,
    {
        let path = self.path.clone();
        let e = |e| StoreError::Sqlite {
            path: path.clone(),
            source: e,
        };
        let tx = self.conn.transaction().map_err(e)?;
        let mut w = Writer {
            tx: &tx,
            written: 0,
            fault: self.fault_after,
        };
        f(&mut w).map_err(|x| x.with_path(&path))?;
        let rows = w.written as u64;
        let now = now_rfc3339();
        touch(&tx, series, source, &now).map_err(e)?;
        tx.execute(
            "INSERT INTO imports (series, source, rows, at) VALUES (?1, ?2, ?3, ?4)",
            params![series.name(), source, rows as i64, now],
        )
        .map_err(e)?;
        tx.commit().map_err(e)?;
        Ok(ImportReport {
            series: series.name(),
            rows,
            source: source.to_string(),
        })
    }

    /// Inserts or replaces daily prices, all in one transaction.
    pub fn import_prices(
        &mut self,
        rows: &[PricePoint],
        source: &str,
    ) -> Result<ImportReport, StoreError> {
        self.import(Series::Price, source, |w| w.prices(rows, source))
    }

    /// Inserts or replaces heights by date, in one transaction.
    pub fn import_heights(
        &mut self,
        rows: &[HeightPoint],
        source: &str,
    ) -> Result<ImportReport, StoreError> {
        self.import(Series::Heights, source, |w| w.heights(rows, source))
    }

    /// Inserts or replaces difficulty epochs, in one transaction.
    pub fn import_epochs(
        &mut self,
        rows: &[Epoch],
        source: &str,
    ) -> Result<ImportReport, StoreError> {
        self.import(Series::Difficulty, source, |w| w.epochs(rows, source))
    }

    /// Inserts or replaces daily fees, in one transaction.
    pub fn import_fees(
        &mut self,
        rows: &[FeeDay],
        source: &str,
    ) -> Result<ImportReport, StoreError> {
        self.import(Series::Fees, source, |w| w.fees(rows, source))
    }

    /// Inserts or replaces hourly power prices, in one transaction.
    pub fn import_power(
        &mut self,
        rows: &[PowerRow],
        source: &str,
    ) -> Result<ImportReport, StoreError> {
        self.import(Series::Power, source, |w| w.power(rows, source))
    }

    /// Several series written atomically (a live sync: epochs, heights, fees and prices together).
    pub fn import_batch(
        &mut self,
        batch: &Batch,
        source: &str,
    ) -> Result<Vec<ImportReport>, StoreError> {
        let path = self.path.clone();
        let e = |e| StoreError::Sqlite {
            path: path.clone(),
            source: e,
        };
        let tx = self.conn.transaction().map_err(e)?;
        let mut reports = Vec::new();
        let now = now_rfc3339();
        {
            let mut w = Writer {
                tx: &tx,
                written: 0,
                fault: self.fault_after,
            };
            let mut step = |series: Series,
                            n: usize,
                            w: &mut Writer<'_>,
                            before: usize|
             -> Result<(), StoreError> {
                if n > 0 {
                    touch(w.tx, series, source, &now).map_err(e)?;
                    w.tx.execute(
                        "INSERT INTO imports (series, source, rows, at) VALUES (?1, ?2, ?3, ?4)",
                        params![series.name(), source, (w.written - before) as i64, now],
                    )
                    .map_err(e)?;
                    reports.push(ImportReport {
                        series: series.name(),
                        rows: (w.written - before) as u64,
                        source: source.to_string(),
                    });
                }
                Ok(())
            };
            let b = w.written;
            w.prices(&batch.prices, source)
                .map_err(|x| x.with_path(&path))?;
            step(Series::Price, batch.prices.len(), &mut w, b)?;
            let b = w.written;
            w.heights(&batch.heights, source)
                .map_err(|x| x.with_path(&path))?;
            step(Series::Heights, batch.heights.len(), &mut w, b)?;
            let b = w.written;
            w.epochs(&batch.epochs, source)
                .map_err(|x| x.with_path(&path))?;
            step(Series::Difficulty, batch.epochs.len(), &mut w, b)?;
            let b = w.written;
            w.fees(&batch.fees, source)
                .map_err(|x| x.with_path(&path))?;
            step(Series::Fees, batch.fees.len(), &mut w, b)?;
        }
        tx.commit().map_err(e)?;
        Ok(reports)
    }

    /// What is in the store.
    pub fn status(&self) -> Result<Vec<SeriesStatus>, StoreError> {
        let e = |x| self.err(x);
        let mut out = Vec::new();
        for s in Series::ALL {
            let (rows, first, last): (i64, Option<String>, Option<String>) = self
                .conn
                .query_row(
                    &format!(
                        "SELECT COUNT(*), CAST(MIN({k}) AS TEXT), CAST(MAX({k}) AS TEXT) FROM {t}",
                        k = s.key(),
                        t = s.table()
                    ),
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
                )
                .map_err(e)?;
            let mut stmt = self
                .conn
                .prepare(&format!(
                    "SELECT source, COUNT(*) FROM {} GROUP BY source ORDER BY COUNT(*) DESC, source",
                    s.table()
                ))
                .map_err(e)?;
            let sources = stmt
                .query_map([], |r| {
                    Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)? as u64))
                })
                .map_err(e)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(e)?;
            let mut stmt = self
                .conn
                .prepare(&format!(
                    "SELECT source, COUNT(*), CAST(MIN({k}) AS TEXT), CAST(MAX({k}) AS TEXT) FROM {t}
                     GROUP BY source ORDER BY MIN({k}), source",
                    k = s.key(),
                    t = s.table()
                ))
                .map_err(e)?;
            let coverage = stmt
                .query_map([], |r| {
                    Ok(SourceCoverage {
                        source: r.get(0)?,
                        rows: r.get::<_, i64>(1)? as u64,
                        first: r.get(2)?,
                        last: r.get(3)?,
                    })
                })
                .map_err(e)?
                .collect::<Result<Vec<_>, _>>()
                .map_err(e)?;
            let updated_at = self
                .conn
                .query_row(
                    "SELECT updated_at FROM series_updates WHERE series = ?1",
                    [s.name()],
                    |r| r.get(0),
                )
                .optional()
                .map_err(e)?;
            out.push(SeriesStatus {
                series: s.name(),
                unit: s.unit(),
                rows: rows as u64,
                first,
                last,
                sources,
                updated_at,
                coverage,
            });
        }
        Ok(out)
    }

    fn date_range_sql(from: Option<Date>, to: Option<Date>) -> (String, Vec<String>) {
        let mut cond = Vec::new();
        let mut args = Vec::new();
        if let Some(f) = from {
            cond.push("date >= ?");
            args.push(f.to_string());
        }
        if let Some(t) = to {
            cond.push("date <= ?");
            args.push(t.to_string());
        }
        let w = if cond.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", cond.join(" AND "))
        };
        (w, args)
    }

    /// Stored prices in `[from, to]`, by date.
    pub fn prices(
        &self,
        from: Option<Date>,
        to: Option<Date>,
    ) -> Result<Vec<PricePoint>, StoreError> {
        let (w, args) = Store::date_range_sql(from, to);
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT date, close_usd FROM price{w} ORDER BY date"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args.iter()), |r| {
                Ok(PricePoint {
                    date: parse_date(r.get::<_, String>(0)?, 0)?,
                    close_usd: r.get(1)?,
                })
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// Stored heights in `[from, to]`, by date.
    pub fn heights(
        &self,
        from: Option<Date>,
        to: Option<Date>,
    ) -> Result<Vec<HeightPoint>, StoreError> {
        let (w, args) = Store::date_range_sql(from, to);
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT date, height FROM heights{w} ORDER BY date"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args.iter()), |r| {
                Ok(HeightPoint {
                    date: parse_date(r.get::<_, String>(0)?, 0)?,
                    height: r.get(1)?,
                })
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// All stored epochs, by epoch.
    pub fn epochs(&self) -> Result<Vec<Epoch>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT epoch, start_height, bits, difficulty, start_time_unix, approx_start_date,
                        first_block_hash, implied_hashrate_ehs FROM difficulty ORDER BY epoch",
            )
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| {
                Ok(Epoch {
                    epoch: r.get(0)?,
                    start_height: r.get(1)?,
                    bits: r.get::<_, Option<i64>>(2)?.map(|b| b as u32),
                    difficulty: r.get(3)?,
                    start_time_unix: r.get(4)?,
                    approx_start_date: match r.get::<_, Option<String>>(5)? {
                        Some(s) => Some(parse_date(s, 5)?),
                        None => None,
                    },
                    first_block_hash: r.get(6)?,
                    implied_hashrate_ehs: r.get(7)?,
                })
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// Stored daily fees in `[from, to]`, by date.
    pub fn fees(&self, from: Option<Date>, to: Option<Date>) -> Result<Vec<FeeDay>, StoreError> {
        let (w, args) = Store::date_range_sql(from, to);
        let mut stmt = self
            .conn
            .prepare(&format!(
                "SELECT date, fees_btc, blocks, source FROM fees{w} ORDER BY date"
            ))
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map(rusqlite::params_from_iter(args.iter()), |r| {
                Ok(FeeDay {
                    date: parse_date(r.get::<_, String>(0)?, 0)?,
                    fees_btc: r.get(1)?,
                    blocks: r.get(2)?,
                    source: r.get(3)?,
                })
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// Stored hourly power prices of one node (all nodes when `None`), by node and time.
    pub fn power(&self, node: Option<&str>) -> Result<Vec<PowerRow>, StoreError> {
        let sql = "SELECT node, date, hour_ending, repeated, usd_mwh FROM power
                   WHERE (?1 IS NULL OR node = ?1) ORDER BY node, date, hour_ending, repeated";
        let mut stmt = self.conn.prepare(sql).map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([node], |r| {
                Ok(PowerRow {
                    node: r.get(0)?,
                    date: parse_date(r.get::<_, String>(1)?, 1)?,
                    hour_ending: r.get(2)?,
                    repeated: r.get::<_, i64>(3)? != 0,
                    usd_mwh: r.get(4)?,
                })
            })
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// Distinct power nodes in the store.
    pub fn power_nodes(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT node FROM power ORDER BY node")
            .map_err(|e| self.err(e))?;
        let rows = stmt
            .query_map([], |r| r.get(0))
            .map_err(|e| self.err(e))?
            .collect::<Result<Vec<String>, _>>()
            .map_err(|e| self.err(e))?;
        Ok(rows)
    }

    /// The newest stored epoch whose first block's hash or time is known (the anchor for a sync).
    pub fn last_epoch(&self) -> Result<Option<Epoch>, StoreError> {
        Ok(self.epochs()?.pop())
    }
}

fn parse_date(s: String, col: usize) -> rusqlite::Result<Date> {
    s.parse::<Date>().map_err(|e| {
        rusqlite::Error::FromSqlConversionFailure(col, rusqlite::types::Type::Text, Box::new(e))
    })
}

fn touch(tx: &Transaction<'_>, s: Series, source: &str, now: &str) -> rusqlite::Result<()> {
    tx.execute(
        "INSERT INTO series_updates (series, updated_at, source) VALUES (?1, ?2, ?3)
         ON CONFLICT(series) DO UPDATE SET updated_at = excluded.updated_at, source = excluded.source",
        params![s.name(), now, source],
    )?;
    Ok(())
}

/// Rows to write atomically across series (see [`Store::import_batch`]).
#[derive(Debug, Clone, Default)]
pub struct Batch {
    /// Daily prices.
    pub prices: Vec<PricePoint>,
    /// Heights by date.
    pub heights: Vec<HeightPoint>,
    /// Epochs.
    pub epochs: Vec<Epoch>,
    /// Daily fees.
    pub fees: Vec<FeeDay>,
}

impl Batch {
    /// True when there is nothing to write.
    pub fn is_empty(&self) -> bool {
        self.prices.is_empty()
            && self.heights.is_empty()
            && self.epochs.is_empty()
            && self.fees.is_empty()
    }
}

enum WriteError {
    Sqlite(rusqlite::Error),
    Fault(usize),
}

impl From<rusqlite::Error> for WriteError {
    fn from(e: rusqlite::Error) -> Self {
        WriteError::Sqlite(e)
    }
}

impl WriteError {
    fn with_path(self, path: &str) -> StoreError {
        match self {
            WriteError::Sqlite(e) => StoreError::Sqlite {
                path: path.to_string(),
                source: e,
            },
            WriteError::Fault(n) => StoreError::InjectedFault(n),
        }
    }
}

/// Writes rows inside one transaction. Shipped rows never replace rows of another source; any
/// other source replaces what is there.
struct Writer<'a> {
    tx: &'a Transaction<'a>,
    written: usize,
    fault: Option<usize>,
}

/// `ON CONFLICT` clause: shipped rows only refresh shipped rows.
fn upsert(source: &str, key: &str, cols: &[&str]) -> String {
    let set: Vec<String> = cols.iter().map(|c| format!("{c} = excluded.{c}")).collect();
    let guard = if source == "shipped" {
        " WHERE source = 'shipped'"
    } else {
        ""
    };
    format!(
        " ON CONFLICT({key}) DO UPDATE SET {}{guard}",
        set.join(", ")
    )
}

impl Writer<'_> {
    fn tick(&mut self) -> Result<(), WriteError> {
        self.written += 1;
        if let Some(n) = self.fault {
            if self.written >= n {
                return Err(WriteError::Fault(self.written));
            }
        }
        Ok(())
    }

    fn prices(&mut self, rows: &[PricePoint], source: &str) -> Result<(), WriteError> {
        let sql = format!(
            "INSERT INTO price (date, close_usd, source) VALUES (?1, ?2, ?3){}",
            upsert(source, "date", &["close_usd", "source"])
        );
        let mut st = self.tx.prepare_cached(&sql)?;
        for r in rows {
            st.execute(params![r.date.to_string(), r.close_usd, source])?;
            self.tick()?;
        }
        Ok(())
    }

    fn heights(&mut self, rows: &[HeightPoint], source: &str) -> Result<(), WriteError> {
        let sql = format!(
            "INSERT INTO heights (date, height, source) VALUES (?1, ?2, ?3){}",
            upsert(source, "date", &["height", "source"])
        );
        let mut st = self.tx.prepare_cached(&sql)?;
        for r in rows {
            st.execute(params![r.date.to_string(), r.height, source])?;
            self.tick()?;
        }
        Ok(())
    }

    fn epochs(&mut self, rows: &[Epoch], source: &str) -> Result<(), WriteError> {
        let sql = format!(
            "INSERT INTO difficulty (epoch, start_height, bits, difficulty, start_time_unix,
                approx_start_date, first_block_hash, implied_hashrate_ehs, source)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9){}",
            upsert(
                source,
                "epoch",
                &[
                    "start_height",
                    "bits",
                    "difficulty",
                    "start_time_unix",
                    "approx_start_date",
                    "first_block_hash",
                    "implied_hashrate_ehs",
                    "source"
                ]
            )
        );
        let mut st = self.tx.prepare_cached(&sql)?;
        for r in rows {
            st.execute(params![
                r.epoch,
                r.start_height,
                r.bits.map(i64::from),
                r.difficulty,
                r.start_time_unix,
                r.approx_start_date.map(|d| d.to_string()),
                r.first_block_hash,
                r.implied_hashrate_ehs,
                source
            ])?;
            self.tick()?;
        }
        Ok(())
    }

    fn fees(&mut self, rows: &[FeeDay], source: &str) -> Result<(), WriteError> {
        let sql = format!(
            "INSERT INTO fees (date, fees_btc, blocks, source) VALUES (?1, ?2, ?3, ?4){}",
            upsert(source, "date", &["fees_btc", "blocks", "source"])
        );
        let mut st = self.tx.prepare_cached(&sql)?;
        for r in rows {
            // Keep the upstream's own tag for shipped fees (`din0s`, `getblockstats`...) visible in
            // exports, but the `source` column must say `shipped` for the overwrite rule.
            st.execute(params![r.date.to_string(), r.fees_btc, r.blocks, source])?;
            self.tick()?;
        }
        Ok(())
    }

    fn power(&mut self, rows: &[PowerRow], source: &str) -> Result<(), WriteError> {
        let sql = format!(
            "INSERT INTO power (node, date, hour_ending, repeated, usd_mwh, source)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6){}",
            upsert(
                source,
                "node, date, hour_ending, repeated",
                &["usd_mwh", "source"]
            )
        );
        let mut st = self.tx.prepare_cached(&sql)?;
        for r in rows {
            st.execute(params![
                r.node,
                r.date.to_string(),
                r.hour_ending,
                r.repeated as i64,
                r.usd_mwh,
                source
            ])?;
            self.tick()?;
        }
        Ok(())
    }
}

/// Parses hourly power prices for `hashpivot data import --kind power`. Two layouts:
/// - wide (ERCOT's, as shipped): `delivery_date` (or `date`), `hour_ending` (1–24), optional
///   `repeated_hour_flag` (`Y`/`N`), then one column of $/MWh per node;
/// - long: `date`, `hour_ending`, `node`, `usd_mwh` (optional `repeated_hour_flag`).
///
/// Each (node, date, hour, repeated) must appear once; errors name the line, column and value.
pub fn parse_power_csv(text: &str, file: &str) -> Result<Vec<PowerRow>, hashpivot_data::CsvError> {
    use hashpivot_data::csv::Csv;
    let csv = Csv::parse(text, file)?;
    let has = |c: &str| csv.headers().iter().any(|h| h == c);
    let date_col = if has("delivery_date") {
        "delivery_date"
    } else {
        "date"
    };
    csv.require(&[date_col, "hour_ending"])?;
    let long = has("node") && has("usd_mwh");
    let fixed = [
        date_col,
        "hour_ending",
        "repeated_hour_flag",
        "node",
        "usd_mwh",
    ];
    let nodes: Vec<String> = if long {
        Vec::new()
    } else {
        csv.headers()
            .iter()
            .filter(|h| !fixed.contains(&h.as_str()))
            .cloned()
            .collect()
    };
    if !long && nodes.is_empty() {
        return Err(hashpivot_data::CsvError::MissingColumn {
            file: file.to_string(),
            column: "a price column per node (e.g. HB_WEST), or `node` and `usd_mwh`".to_string(),
            found: hashpivot_data::text::clip(&csv.headers().join(",")),
        });
    }
    let mut out = Vec::with_capacity(csv.len() * nodes.len().max(1));
    let mut seen = std::collections::HashSet::new();
    for row in csv.rows() {
        let date = row.date(date_col)?;
        let he_s = row.str("hour_ending")?;
        let hour_ending: u8 = he_s
            .parse()
            .ok()
            .filter(|h| (1..=24).contains(h))
            .ok_or_else(|| row.bad("hour_ending", he_s, "must be an hour ending 1 to 24"))?;
        let repeated = if has("repeated_hour_flag") {
            match row.str("repeated_hour_flag")? {
                "Y" | "y" => true,
                "N" | "n" | "" => false,
                other => return Err(row.bad("repeated_hour_flag", other, "must be Y or N")),
            }
        } else {
            false
        };
        let price = |col: &str| -> Result<f64, hashpivot_data::CsvError> {
            let x = row.f64(col)?;
            if x.abs() > hashpivot_data::series::MAX_ABS_USD_MWH {
                return Err(row.bad(col, row.str(col)?, "must be from -100000 to 100000 $/MWh"));
            }
            Ok(x)
        };
        let mut push = |node: String, usd_mwh: f64| -> Result<(), hashpivot_data::CsvError> {
            if !seen.insert((node.clone(), date, hour_ending, repeated)) {
                return Err(row.bad_row(format!(
                    "duplicate hour {date} HE{hour_ending:02}{} for node {}",
                    if repeated { " (repeated)" } else { "" },
                    hashpivot_data::text::clip(&node)
                )));
            }
            out.push(PowerRow {
                node,
                date,
                hour_ending,
                repeated,
                usd_mwh,
            });
            Ok(())
        };
        if long {
            let node = row.str("node")?;
            if node.is_empty() {
                return Err(row.bad("node", node, "must not be empty"));
            }
            push(node.to_string(), price("usd_mwh")?)?;
        } else {
            for n in &nodes {
                push(n.clone(), price(n)?)?;
            }
        }
    }
    if out.is_empty() {
        return Err(hashpivot_data::CsvError::Empty {
            file: file.to_string(),
            message: "no data rows after the header".to_string(),
        });
    }
    Ok(out)
}
