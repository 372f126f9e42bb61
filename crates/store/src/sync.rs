//! Bookkeeping of live syncs (`hashpivot data sync`): one row per sync in `syncs`, opened before
//! the first request and closed when every series is written. The series themselves are written
//! with the ordinary imports, one transaction per series, so a sync killed half-way keeps every
//! series it committed and leaves this row `running` (shown as interrupted).

use hashpivot_data::forwards::{ForwardQuote, Month};
use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use crate::{now_rfc3339, parse_date, Store, StoreError};

/// One recorded sync.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SyncRecord {
    /// Row id.
    pub id: i64,
    /// `mempool` or `rpc`.
    pub source: String,
    /// Base URL (without credentials).
    pub url: String,
    /// Start (UTC, RFC 3339).
    pub started_at: String,
    /// End, when it finished.
    pub finished_at: Option<String>,
    /// The source's tip height.
    pub tip_height: Option<u64>,
    /// The tip block's time, Unix seconds.
    pub tip_time: Option<i64>,
    /// Rows written.
    pub rows: u64,
    /// `running` (or killed), `complete`, `failed`.
    pub status: String,
}

impl Store {
    /// Records the start of a sync; returns its id.
    pub fn sync_started(&mut self, source: &str, url: &str) -> Result<i64, StoreError> {
        self.conn
            .execute(
                "INSERT INTO syncs (source, url, started_at, status) VALUES (?1, ?2, ?3, 'running')",
                params![source, url, now_rfc3339()],
            )
            .map_err(|e| self.err(e))?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Records the source's tip for sync `id`.
    pub fn sync_tip(&mut self, id: i64, height: u64, time: i64) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE syncs SET tip_height = ?2, tip_time = ?3 WHERE id = ?1",
                params![id, height as i64, time],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Closes sync `id` with `status` (`complete` or `failed`) and the rows it wrote.
    pub fn sync_finished(&mut self, id: i64, status: &str, rows: u64) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE syncs SET finished_at = ?2, status = ?3, rows = ?4 WHERE id = ?1",
                params![id, now_rfc3339(), status, rows as i64],
            )
            .map_err(|e| self.err(e))?;
        Ok(())
    }

    /// Every recorded sync, newest first.
    pub fn syncs(&self) -> Result<Vec<SyncRecord>, StoreError> {
        let e = |x| self.err(x);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, source, url, started_at, finished_at, tip_height, tip_time, rows, status
                 FROM syncs ORDER BY id DESC",
            )
            .map_err(e)?;
        let rows = stmt
            .query_map([], |r| {
                Ok(SyncRecord {
                    id: r.get(0)?,
                    source: r.get(1)?,
                    url: r.get(2)?,
                    started_at: r.get(3)?,
                    finished_at: r.get(4)?,
                    tip_height: r.get::<_, Option<i64>>(5)?.map(|v| v as u64),
                    tip_time: r.get(6)?,
                    rows: r.get::<_, i64>(7)? as u64,
                    status: r.get(8)?,
                })
            })
            .map_err(e)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(e)?;
        Ok(rows)
    }

    /// The newest sync that finished.
    pub fn last_complete_sync(&self) -> Result<Option<SyncRecord>, StoreError> {
        let id: Option<i64> = self
            .conn
            .query_row(
                "SELECT id FROM syncs WHERE status = 'complete' ORDER BY id DESC LIMIT 1",
                [],
                |r| r.get(0),
            )
            .optional()
            .map_err(|e| self.err(e))?;
        Ok(id.and_then(|id| self.syncs().ok()?.into_iter().find(|s| s.id == id)))
    }
}

impl Store {
    /// Inserts or replaces forward marks, all in one transaction; returns the rows written.
    pub fn import_forwards(
        &mut self,
        rows: &[ForwardQuote],
        source: &str,
    ) -> Result<u64, StoreError> {
        let path = self.path.clone();
        let e = |e| StoreError::Sqlite {
            path: path.clone(),
            source: e,
        };
        let tx = self.conn.transaction().map_err(e)?;
        for q in rows {
            tx.execute(
                "INSERT OR REPLACE INTO forwards (quote_date, delivery_month, usd_per_ph_day, source)
                 VALUES (?1, ?2, ?3, ?4)",
                params![
                    q.quote_date.to_string(),
                    q.delivery.to_string(),
                    q.usd_per_ph_day,
                    source
                ],
            )
            .map_err(e)?;
        }
        tx.execute(
            "INSERT INTO imports (series, source, rows, at) VALUES ('forwards', ?1, ?2, ?3)",
            params![source, rows.len() as i64, now_rfc3339()],
        )
        .map_err(e)?;
        tx.commit().map_err(e)?;
        Ok(rows.len() as u64)
    }

    /// Every stored forward mark, by quote date and month.
    pub fn forwards(&self) -> Result<Vec<ForwardQuote>, StoreError> {
        let e = |x| self.err(x);
        let mut stmt = self
            .conn
            .prepare(
                "SELECT quote_date, delivery_month, usd_per_ph_day FROM forwards
                 ORDER BY quote_date, delivery_month",
            )
            .map_err(e)?;
        let rows = stmt
            .query_map([], |r| {
                let month: String = r.get(1)?;
                Ok(ForwardQuote {
                    quote_date: parse_date(r.get(0)?, 0)?,
                    delivery: Month::parse(&month).ok_or_else(|| {
                        rusqlite::Error::FromSqlConversionFailure(
                            1,
                            rusqlite::types::Type::Text,
                            format!("not a month: {month}").into(),
                        )
                    })?,
                    usd_per_ph_day: r.get(2)?,
                })
            })
            .map_err(e)?
            .collect::<Result<Vec<_>, _>>()
            .map_err(e)?;
        Ok(rows)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sync_is_recorded_from_start_to_end() {
        let mut s = Store::open_in_memory().unwrap();
        assert!(s.syncs().unwrap().is_empty());
        let id = s.sync_started("mempool", "http://127.0.0.1:1").unwrap();
        s.sync_tip(id, 976_900, 1_795_000_000).unwrap();
        assert_eq!(s.last_complete_sync().unwrap(), None);
        assert_eq!(s.syncs().unwrap()[0].status, "running");
        s.sync_finished(id, "complete", 12).unwrap();
        let r = s.last_complete_sync().unwrap().unwrap();
        assert_eq!(
            (r.source.as_str(), r.tip_height, r.rows, r.status.as_str()),
            ("mempool", Some(976_900), 12, "complete")
        );
    }
}
