//! Server state: the decisions computed so far, one per run. A decision costs a few dozen engine
//! runs (the break-even search of [`hashpivot_report::decision::document`]), so it is computed
//! once per run on a blocking thread and kept in memory; the result is deterministic (same
//! scenario, same seed, same figures), so a restart only recomputes.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock};

use hashpivot_model::Scenario;
use serde_json::Value;

/// Decisions kept in memory (the oldest finished half is dropped past this).
const CACHE_MAX: usize = 128;

/// A decision being computed (empty) or computed (the document, or the model's error).
pub(crate) type Cell = Arc<OnceLock<Result<Value, String>>>;

fn cache() -> &'static Mutex<HashMap<String, Cell>> {
    static C: OnceLock<Mutex<HashMap<String, Cell>>> = OnceLock::new();
    C.get_or_init(|| Mutex::new(HashMap::new()))
}

/// The cell of run `id`'s decision; the first call starts computing it from `scenario` on a
/// blocking thread (inside a tokio runtime).
pub(crate) fn start(id: &str, scenario: Scenario) -> Cell {
    let (cell, fresh) = {
        let mut m = cache().lock().unwrap_or_else(|p| p.into_inner());
        if m.len() >= CACHE_MAX {
            // Finished entries only: one being computed is kept for its waiters.
            let drop: Vec<String> = m
                .iter()
                .filter(|(_, c)| c.get().is_some())
                .map(|(k, _)| k.clone())
                .take(CACHE_MAX / 2)
                .collect();
            for k in drop {
                m.remove(&k);
            }
        }
        let fresh = !m.contains_key(id);
        (Arc::clone(m.entry(id.to_string()).or_default()), fresh)
    };
    if fresh {
        let c = Arc::clone(&cell);
        tokio::task::spawn_blocking(move || {
            c.get_or_init(|| hashpivot_report::decision::document(&scenario));
        });
    }
    cell
}

/// Run `id`'s decision once it is computed without error.
pub(crate) fn computed(id: &str) -> Option<Value> {
    cache()
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .get(id)
        .and_then(|c| c.get().cloned())
        .and_then(Result::ok)
}

/// Drops run `id`'s decision (the run was removed, or computing it failed).
pub(crate) fn forget(id: &str) {
    cache().lock().unwrap_or_else(|p| p.into_inner()).remove(id);
}
