//! Stored simulation runs: the request, status, progress, the result JSON and timestamps, so that
//! runs started from the dashboard survive a restart of `hashpivot serve`.
//!
//! The functions work on a plain [`rusqlite::Connection`]; [`migrate`] creates the `runs` table if it
//! is missing (idempotent), so the table can live in the main store file beside the series or in a
//! file of its own. JSON documents are stored as text exactly as produced (the API returns them
//! unchanged).

use rusqlite::{params, Connection, OptionalExtension};
use serde::{Deserialize, Serialize};

/// Errors of the run table.
#[derive(Debug, thiserror::Error)]
pub enum RunStoreError {
    /// SQLite failed (file not writable, disk full, corrupt file...).
    #[error("run store: {0}")]
    Sql(#[from] rusqlite::Error),
    /// A stored JSON document does not parse (the file was edited by hand or is corrupt).
    #[error("run store: run {id}: stored {column} is not valid JSON: {message}")]
    Json {
        /// The run.
        id: String,
        /// The column.
        column: &'static str,
        /// The parser's message.
        message: String,
    },
}

/// Where a run is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunStatus {
    /// Accepted, waiting for a worker.
    Queued,
    /// Being simulated.
    Running,
    /// Finished; the result is stored.
    Done,
    /// Stopped with an error (including a restart of the server while it was running).
    Failed,
    /// Stopped on request (`DELETE /api/runs/{id}`) before it finished.
    Cancelled,
}

impl RunStatus {
    /// The lower-case name used in the API and the table.
    pub fn as_str(self) -> &'static str {
        match self {
            RunStatus::Queued => "queued",
            RunStatus::Running => "running",
            RunStatus::Done => "done",
            RunStatus::Failed => "failed",
            RunStatus::Cancelled => "cancelled",
        }
    }

    /// Parses the lower-case name.
    pub fn parse(s: &str) -> Option<RunStatus> {
        match s {
            "queued" => Some(RunStatus::Queued),
            "running" => Some(RunStatus::Running),
            "done" => Some(RunStatus::Done),
            "failed" => Some(RunStatus::Failed),
            "cancelled" => Some(RunStatus::Cancelled),
            _ => None,
        }
    }

    /// True for `done`, `failed` and `cancelled`.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            RunStatus::Done | RunStatus::Failed | RunStatus::Cancelled
        )
    }
}

/// One stored run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunRecord {
    /// Identifier (opaque text).
    pub id: String,
    /// Status.
    pub status: RunStatus,
    /// Progress in [0, 1].
    pub progress: f64,
    /// The run request as given (strategy, share, paths, ...), JSON.
    pub request: serde_json::Value,
    /// The complete scenario that was run, JSON (same keys as the TOML file).
    pub scenario: serde_json::Value,
    /// The result document (as `simulate --json`), once done.
    pub result: Option<serde_json::Value>,
    /// The error message, when failed.
    pub error: Option<String>,
    /// Creation time, Unix milliseconds.
    pub created_ms: i64,
    /// Start of the simulation, Unix milliseconds.
    pub started_ms: Option<i64>,
    /// End time (done or failed), Unix milliseconds.
    pub finished_ms: Option<i64>,
}

/// The run table's migrations for [`crate::Store::migrate_module`] (module `runs`): step `k` takes
/// the table from version `k` to `k + 1`. Never edit a released step; append.
pub const MIGRATIONS: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS runs (
        id          TEXT PRIMARY KEY,
        status      TEXT NOT NULL CHECK (status IN ('queued','running','done','failed')),
        progress    REAL NOT NULL DEFAULT 0,
        request     TEXT NOT NULL,
        scenario    TEXT NOT NULL,
        result      TEXT,
        error       TEXT,
        created_ms  INTEGER NOT NULL,
        started_ms  INTEGER,
        finished_ms INTEGER
    );
    CREATE INDEX IF NOT EXISTS runs_created ON runs (created_ms);",
    // 2: the `cancelled` status (DELETE /api/runs/{id}). SQLite cannot change a CHECK constraint
    // in place, so the table is rebuilt (safe to repeat: see `migrate`).
    "CREATE TABLE runs_v2 (
        id          TEXT PRIMARY KEY,
        status      TEXT NOT NULL CHECK (status IN ('queued','running','done','failed','cancelled')),
        progress    REAL NOT NULL DEFAULT 0,
        request     TEXT NOT NULL,
        scenario    TEXT NOT NULL,
        result      TEXT,
        error       TEXT,
        created_ms  INTEGER NOT NULL,
        started_ms  INTEGER,
        finished_ms INTEGER
    );
    INSERT INTO runs_v2 SELECT id, status, progress, request, scenario, result, error, created_ms,
        started_ms, finished_ms FROM runs;
    DROP TABLE runs;
    ALTER TABLE runs_v2 RENAME TO runs;
    CREATE INDEX IF NOT EXISTS runs_created ON runs (created_ms);",
    // 3: run names (the dashboard's), apart from the run rows so a name never touches a result.
    "CREATE TABLE IF NOT EXISTS run_names (id TEXT PRIMARY KEY, name TEXT NOT NULL);",
];

/// Creates the `runs` table in the store (versioned with the store's module migrations).
pub fn migrate_store(store: &mut crate::Store) -> Result<(), crate::StoreError> {
    store.migrate_module("runs", MIGRATIONS)
}

/// Creates the `runs` table on a bare connection if it doesn't exist (idempotent; for a
/// connection that is not a [`crate::Store`], e.g. in tests).
pub fn migrate(conn: &Connection) -> Result<(), RunStoreError> {
    for step in MIGRATIONS {
        conn.execute_batch(step)?;
    }
    Ok(())
}

/// Inserts a new queued run.
pub fn insert(
    conn: &Connection,
    id: &str,
    request: &serde_json::Value,
    scenario: &serde_json::Value,
    created_ms: i64,
) -> Result<(), RunStoreError> {
    conn.execute(
        "INSERT INTO runs (id, status, progress, request, scenario, created_ms)
         VALUES (?1, 'queued', 0, ?2, ?3, ?4)",
        params![id, request.to_string(), scenario.to_string(), created_ms],
    )?;
    Ok(())
}

/// Marks a run as running from `now_ms`.
pub fn set_running(conn: &Connection, id: &str, now_ms: i64) -> Result<(), RunStoreError> {
    conn.execute(
        "UPDATE runs SET status = 'running', started_ms = ?2 WHERE id = ?1",
        params![id, now_ms],
    )?;
    Ok(())
}

/// Records progress (clamped to [0, 1]) of a run that is not finished yet.
pub fn set_progress(conn: &Connection, id: &str, progress: f64) -> Result<(), RunStoreError> {
    let p = if progress.is_finite() {
        progress.clamp(0.0, 1.0)
    } else {
        0.0
    };
    conn.execute(
        "UPDATE runs SET progress = ?2 WHERE id = ?1 AND status IN ('queued','running')",
        params![id, p],
    )?;
    Ok(())
}

/// Stores the result and marks the run done.
pub fn finish(
    conn: &Connection,
    id: &str,
    result: &serde_json::Value,
    now_ms: i64,
) -> Result<(), RunStoreError> {
    conn.execute(
        "UPDATE runs SET status = 'done', progress = 1, result = ?2, error = NULL, finished_ms = ?3
         WHERE id = ?1",
        params![id, result.to_string(), now_ms],
    )?;
    Ok(())
}

/// Marks the run failed with `error`.
pub fn fail(conn: &Connection, id: &str, error: &str, now_ms: i64) -> Result<(), RunStoreError> {
    conn.execute(
        "UPDATE runs SET status = 'failed', error = ?2, finished_ms = ?3 WHERE id = ?1",
        params![id, error, now_ms],
    )?;
    Ok(())
}

/// Marks a run cancelled (`DELETE /api/runs/{id}`), unless it already reached a final state.
pub fn cancel(conn: &Connection, id: &str, now_ms: i64) -> Result<(), RunStoreError> {
    conn.execute(
        "UPDATE runs SET status = 'cancelled', error = 'cancelled on request', finished_ms = ?2
         WHERE id = ?1 AND status IN ('queued','running')",
        params![id, now_ms],
    )?;
    Ok(())
}

/// Marks every run still `queued` or `running` as failed (their worker is gone: the server was
/// stopped). Returns how many were marked.
pub fn fail_unfinished(
    conn: &Connection,
    reason: &str,
    now_ms: i64,
) -> Result<usize, RunStoreError> {
    Ok(conn.execute(
        "UPDATE runs SET status = 'failed', error = ?1, finished_ms = ?2
         WHERE status IN ('queued','running')",
        params![reason, now_ms],
    )?)
}

const COLUMNS: &str =
    "id, status, progress, request, scenario, result, error, created_ms, started_ms, finished_ms";

type Row = (
    String,
    String,
    f64,
    String,
    String,
    Option<String>,
    Option<String>,
    i64,
    Option<i64>,
    Option<i64>,
);

fn read_row(r: &rusqlite::Row<'_>) -> rusqlite::Result<Row> {
    Ok((
        r.get(0)?,
        r.get(1)?,
        r.get(2)?,
        r.get(3)?,
        r.get(4)?,
        r.get(5)?,
        r.get(6)?,
        r.get(7)?,
        r.get(8)?,
        r.get(9)?,
    ))
}

fn parse_json(
    id: &str,
    column: &'static str,
    text: &str,
) -> Result<serde_json::Value, RunStoreError> {
    serde_json::from_str(text).map_err(|e| RunStoreError::Json {
        id: id.to_string(),
        column,
        message: e.to_string(),
    })
}

fn to_record(row: Row, with_result: bool) -> Result<RunRecord, RunStoreError> {
    let (
        id,
        status,
        progress,
        request,
        scenario,
        result,
        error,
        created_ms,
        started_ms,
        finished_ms,
    ) = row;
    let status = RunStatus::parse(&status).ok_or_else(|| RunStoreError::Json {
        id: id.clone(),
        column: "status",
        message: format!("unknown status {status:?}"),
    })?;
    let request = parse_json(&id, "request", &request)?;
    let scenario = parse_json(&id, "scenario", &scenario)?;
    let result = match result {
        Some(t) if with_result => Some(parse_json(&id, "result", &t)?),
        _ => None,
    };
    Ok(RunRecord {
        id,
        status,
        progress,
        request,
        scenario,
        result,
        error,
        created_ms,
        started_ms,
        finished_ms,
    })
}

/// The run `id`, with its result; `None` if there is no such run.
pub fn get(conn: &Connection, id: &str) -> Result<Option<RunRecord>, RunStoreError> {
    let row = conn
        .query_row(
            &format!("SELECT {COLUMNS} FROM runs WHERE id = ?1"),
            params![id],
            read_row,
        )
        .optional()?;
    row.map(|r| to_record(r, true)).transpose()
}

/// The newest `limit` runs, newest first, without their results (for lists).
pub fn list(conn: &Connection, limit: usize) -> Result<Vec<RunRecord>, RunStoreError> {
    let mut st = conn.prepare(&format!(
        "SELECT {COLUMNS} FROM runs ORDER BY created_ms DESC, id DESC LIMIT ?1"
    ))?;
    let rows = st.query_map(params![limit.min(i64::MAX as usize) as i64], read_row)?;
    let mut out = Vec::new();
    for r in rows {
        out.push(to_record(r?, false)?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn db() -> Connection {
        let c = Connection::open_in_memory().unwrap();
        migrate(&c).unwrap();
        migrate(&c).unwrap(); // idempotent
        c
    }

    #[test]
    fn lifecycle_round_trips() {
        let c = db();
        insert(
            &c,
            "a",
            &json!({"paths": 10}),
            &json!({"run": {"paths": 10}}),
            1000,
        )
        .unwrap();
        let r = get(&c, "a").unwrap().unwrap();
        assert_eq!(r.status, RunStatus::Queued);
        assert_eq!(r.progress, 0.0);
        assert_eq!(r.request, json!({"paths": 10}));
        set_running(&c, "a", 1500).unwrap();
        set_progress(&c, "a", 0.25).unwrap();
        let r = get(&c, "a").unwrap().unwrap();
        assert_eq!(
            (r.status, r.progress, r.started_ms),
            (RunStatus::Running, 0.25, Some(1500))
        );
        finish(&c, "a", &json!({"results": [1, 2]}), 2000).unwrap();
        // Progress after the end is ignored.
        set_progress(&c, "a", 0.5).unwrap();
        let r = get(&c, "a").unwrap().unwrap();
        assert_eq!(r.status, RunStatus::Done);
        assert_eq!(r.progress, 1.0);
        assert_eq!(r.result, Some(json!({"results": [1, 2]})));
        assert_eq!(r.finished_ms, Some(2000));
        assert!(get(&c, "nope").unwrap().is_none());
    }

    #[test]
    fn unfinished_runs_fail_on_restart_and_list_is_newest_first() {
        let c = db();
        insert(&c, "old", &json!({}), &json!({}), 1).unwrap();
        finish(&c, "old", &json!({}), 2).unwrap();
        insert(&c, "mid", &json!({}), &json!({}), 3).unwrap();
        set_running(&c, "mid", 4).unwrap();
        insert(&c, "new", &json!({}), &json!({}), 5).unwrap();
        assert_eq!(fail_unfinished(&c, "server restarted", 9).unwrap(), 2);
        let l = list(&c, 10).unwrap();
        let ids: Vec<&str> = l.iter().map(|r| r.id.as_str()).collect();
        assert_eq!(ids, ["new", "mid", "old"]);
        assert_eq!(l[0].status, RunStatus::Failed);
        assert_eq!(l[0].error.as_deref(), Some("server restarted"));
        assert_eq!(l[2].status, RunStatus::Done);
        assert!(l[2].result.is_none(), "lists leave results out");
        assert_eq!(list(&c, 1).unwrap().len(), 1);
    }

    #[test]
    fn runs_survive_reopening_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.sqlite");
        {
            let c = Connection::open(&path).unwrap();
            migrate(&c).unwrap();
            insert(&c, "x", &json!({"a": 1}), &json!({}), 7).unwrap();
            finish(&c, "x", &json!({"ok": true}), 8).unwrap();
        }
        let c = Connection::open(&path).unwrap();
        migrate(&c).unwrap();
        assert_eq!(
            get(&c, "x").unwrap().unwrap().result,
            Some(json!({"ok": true}))
        );
    }

    #[test]
    fn the_table_lives_in_the_store() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.sqlite");
        {
            let mut st = crate::Store::open(&path).unwrap();
            migrate_store(&mut st).unwrap();
            insert(st.conn(), "r", &json!({}), &json!({}), 1).unwrap();
        }
        let mut st = crate::Store::open(&path).unwrap();
        migrate_store(&mut st).unwrap();
        assert!(get(st.conn(), "r").unwrap().is_some());
    }

    #[test]
    fn corrupt_json_is_an_error_not_a_panic() {
        let c = db();
        c.execute(
            "INSERT INTO runs (id, status, request, scenario, created_ms) VALUES ('z','done','{','{}',1)",
            [],
        )
        .unwrap();
        let e = get(&c, "z").unwrap_err();
        assert!(
            e.to_string().contains("stored request is not valid JSON"),
            "{e}"
        );
    }
}
