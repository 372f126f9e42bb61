//! The default scenario's market state after a live sync: when the store has a finished sync and
//! can compute a state newer than the shipped data's, `simulate`, `scenario show`, `payback`,
//! `machine`, `report` and the dashboard start from it, and say so ("market state 2026-11-22,
//! synced from URL"). Without a synced store nothing changes (the shipped state, bit for bit).

use hashpivot_data::{market_state, market_state_from, MarketState};
use hashpivot_model::scenario::market;
use hashpivot_store::Store;

use crate::Global;

/// The newest market state the store's series can compute.
pub fn store_market_state(store: &Store) -> anyhow::Result<Option<MarketState>> {
    let prices = store.prices(None, None)?;
    let heights = store.heights(None, None)?;
    let epochs = store.epochs()?;
    let fees = store.fees(None, None)?;
    Ok(market_state_from(&prices, &heights, &epochs, &fees))
}

/// The synced state and the URL it came from, if the store at `--db` exists, has a finished
/// sync, and yields a state newer than the shipped one. Never creates a store.
fn synced_state(g: &Global) -> anyhow::Result<Option<(MarketState, String)>> {
    let path = match &g.db {
        Some(p) => p.clone(),
        None => match hashpivot_store::default_path() {
            Ok(p) => p,
            Err(_) => return Ok(None),
        },
    };
    if !path.is_file() {
        return Ok(None);
    }
    let store = Store::open(&path)?;
    let Some(sync) = store.last_complete_sync()? else {
        return Ok(None);
    };
    Ok(store_market_state(&store)?
        .filter(|s| s.date > market_state().date)
        .map(|s| (s, sync.url)))
}

/// Installs the synced state as the default scenario's market state (before anything reads it).
/// A store that cannot be read is reported on stderr and the shipped state is used.
pub fn install_synced(g: &Global) {
    match synced_state(g) {
        Ok(Some((state, url))) => {
            market::install(state, format!("synced from {url}"));
        }
        Ok(None) => {}
        Err(e) => eprintln!(
            "warning: the store's market state is not used ({e:#}); the default scenario starts from the shipped data"
        ),
    }
}

/// The label of the default scenario in `simulate` and `payback` output.
pub fn default_label() -> String {
    format!("embedded default scenario, {}", market::label())
}
