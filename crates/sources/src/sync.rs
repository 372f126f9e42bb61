//! Syncs: fetch from a live source, verify, and return rows for the store (which writes them in one
//! transaction). Nothing here touches the store, so a failure at any step leaves it unchanged.

use hashpivot_data::{Date, Epoch, FeeDay, PricePoint};

use crate::mempool::MempoolClient;
use crate::rpc::RpcClient;
use crate::verify::{verify_retarget, VerifiedRetarget};
use crate::SourceError;

/// What the store already knows about the epoch before the first one to fetch.
#[derive(Debug, Clone, PartialEq)]
pub struct Anchor {
    /// Epoch number.
    pub epoch: u32,
    /// Hash of its first block, if stored.
    pub first_block_hash: Option<String>,
    /// Its nBits, if stored.
    pub bits: Option<u32>,
}

/// Options of [`sync_rpc`].
#[derive(Debug, Clone, PartialEq)]
pub struct RpcSyncOptions {
    /// First epoch to fetch (the one after the newest verified stored epoch, by default).
    pub from_epoch: u32,
    /// The stored epoch `from_epoch − 1`, checked against the node.
    pub anchor: Option<Anchor>,
    /// Complete UTC days of fees to fetch with `getblockstats` (0 = none).
    pub fee_days: u32,
}

/// Rows fetched by a sync, ready for the store.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncData {
    /// Tip height of the source.
    pub tip_height: u64,
    /// Verified epochs (RPC) or reported epochs (mempool).
    pub epochs: Vec<Epoch>,
    /// Daily fees (RPC).
    pub fees: Vec<FeeDay>,
    /// Daily closes (mempool).
    pub prices: Vec<PricePoint>,
    /// Current network hashrate, EH/s (mempool).
    pub hashrate_ehs: Option<f64>,
    /// RPC calls or HTTP requests made.
    pub requests: u64,
}

fn to_epoch(v: &VerifiedRetarget) -> Epoch {
    Epoch {
        epoch: (v.height / 2016) as u32,
        start_height: v.height as u32,
        bits: Some(v.bits),
        difficulty: v.difficulty,
        start_time_unix: Some(i64::from(v.time)),
        approx_start_date: None,
        first_block_hash: Some(v.hash.clone()),
        implied_hashrate_ehs: None,
    }
}

/// Fills `implied_hashrate_ehs` of consecutive epochs from their start times.
fn fill_hashrates(epochs: &mut [Epoch]) {
    for i in 0..epochs.len().saturating_sub(1) {
        let (a, b) = (&epochs[i], &epochs[i + 1]);
        if let (Some(t0), Some(t1)) = (a.start_time_unix, b.start_time_unix) {
            if b.start_height == a.start_height + 2016 && t1 > t0 {
                let h = a.difficulty * 4_294_967_296.0 * 2016.0 / (t1 - t0) as f64 / 1e18;
                epochs[i].implied_hashrate_ehs = Some(h);
            }
        }
    }
}

/// From a Bitcoin Core node: `getblockchaininfo`; for each retarget from `from_epoch − 1` to the
/// tip's epoch, `getblockhash` (of the retarget and of the block before it) and `getblockheader`,
/// each verified ([`verify_retarget`]) and chained to the one before; then `getblockstats` for the
/// last `fee_days` complete UTC days. `progress(done, total)` is called as calls complete.
pub fn sync_rpc(
    client: &RpcClient,
    opts: &RpcSyncOptions,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<SyncData, SourceError> {
    let info = client.mainnet_info()?;
    let mut out = SyncData {
        tip_height: info.blocks,
        requests: 1,
        ..SyncData::default()
    };
    let tip_epoch = (info.blocks / 2016) as u32;
    let first = opts.from_epoch.max(1);
    let total_epochs = u64::from(tip_epoch.saturating_sub(first) + 1) + 1;
    let total = total_epochs + u64::from(opts.fee_days) * 144;
    let mut done = 0u64;

    let fetch = |height: u64,
                 previous: Option<&VerifiedRetarget>,
                 out: &mut SyncData|
     -> Result<VerifiedRetarget, SourceError> {
        let hash = client.getblockhash(height)?;
        let hex = client.getblockheader_hex(&hash)?;
        let prev = client.getblockhash(height - 1)?;
        out.requests += 3;
        verify_retarget(height, &hash, &hex, Some(&prev), previous)
    };

    if first <= tip_epoch {
        // The anchor: the epoch before the first one fetched, checked against what is stored.
        let anchor_height = u64::from(first - 1) * 2016;
        let mut prev = if anchor_height == 0 {
            None
        } else {
            let v = fetch(anchor_height, None, &mut out)?;
            if let Some(a) = &opts.anchor {
                if let Some(h) = &a.first_block_hash {
                    if !h.eq_ignore_ascii_case(&v.hash) {
                        return Err(SourceError::Inconsistent(format!(
                            "the node's block {anchor_height} is {} but the store has {h}: the node is on a different chain",
                            v.hash
                        )));
                    }
                }
                if let Some(b) = a.bits {
                    if b != v.bits {
                        return Err(SourceError::Inconsistent(format!(
                            "the node's nBits for epoch {} is {:08x} but the store has {b:08x}",
                            a.epoch, v.bits
                        )));
                    }
                }
            }
            Some(v)
        };
        done += 1;
        progress(done, total);
        for k in first..=tip_epoch {
            let v = fetch(u64::from(k) * 2016, prev.as_ref(), &mut out)?;
            out.epochs.push(to_epoch(&v));
            prev = Some(v);
            done += 1;
            progress(done, total);
        }
        fill_hashrates(&mut out.epochs);
    }

    if opts.fee_days > 0 {
        out.fees = fetch_fees(
            client,
            info.blocks,
            opts.fee_days,
            &mut out.requests,
            &mut |n| progress(done + n, total),
        )?;
    }
    Ok(out)
}

/// The fees of the `days` complete UTC days before the tip's day ([`crate::daily::rpc_fees`]).
fn fetch_fees(
    client: &RpcClient,
    tip: u64,
    days: u32,
    requests: &mut u64,
    progress: &mut dyn FnMut(u64),
) -> Result<Vec<FeeDay>, SourceError> {
    let time = client.getblockstats(tip)?.time;
    *requests += 1;
    let tip_day = Date::from_unix(time);
    let wanted: Vec<Date> = (1..=days as i32)
        .rev()
        .map(|k| tip_day.add_days(-k))
        .collect();
    let tip = crate::daily::Tip { height: tip, time };
    crate::daily::rpc_fees(client, &wanted, &tip, requests, progress)
}

/// From a mempool.space-style API: tip height, difficulty adjustments (`interval`, e.g. `1y`),
/// hashrate, and daily closes. Adjustments are checked (retarget heights, positive difficulty,
/// increasing times) and, where the store has an epoch's difficulty, must agree with it to 1e-6.
pub fn sync_mempool(
    client: &MempoolClient,
    interval: &str,
    stored: &[Epoch],
    with_prices: bool,
) -> Result<SyncData, SourceError> {
    let tip = client.tip_height()?;
    let adj = client.difficulty_adjustments(interval)?;
    let hr = client.hashrate(interval)?;
    let mut out = SyncData {
        tip_height: tip,
        hashrate_ehs: Some(hr.current_hashrate / 1e18),
        requests: 3,
        ..SyncData::default()
    };
    let mut last_time = i64::MIN;
    for a in &adj {
        let bad = |m: String| SourceError::Verify {
            height: a.height,
            message: format!("mempool difficulty adjustment: {m}"),
        };
        if a.height % 2016 != 0 {
            return Err(bad("not a retarget height".into()));
        }
        if !(a.difficulty.is_finite() && a.difficulty >= 1.0) {
            return Err(bad(format!("difficulty {} is not ≥ 1", a.difficulty)));
        }
        if a.height > tip {
            return Err(bad(format!("above the tip height {tip}")));
        }
        if a.time <= last_time {
            return Err(bad("times do not increase with height".into()));
        }
        last_time = a.time;
        let epoch = (a.height / 2016) as u32;
        if let Some(s) = stored.iter().find(|e| e.epoch == epoch) {
            if (s.difficulty / a.difficulty - 1.0).abs() > 1e-6 {
                return Err(SourceError::Inconsistent(format!(
                    "mempool's difficulty for epoch {epoch} (height {}) is {} but the store has {}; refusing to mix chains",
                    a.height, a.difficulty, s.difficulty
                )));
            }
        }
        out.epochs.push(Epoch {
            epoch,
            start_height: a.height as u32,
            bits: stored
                .iter()
                .find(|e| e.epoch == epoch)
                .and_then(|e| e.bits),
            difficulty: a.difficulty,
            start_time_unix: Some(a.time),
            approx_start_date: None,
            first_block_hash: stored
                .iter()
                .find(|e| e.epoch == epoch)
                .and_then(|e| e.first_block_hash.clone()),
            implied_hashrate_ehs: None,
        });
    }
    fill_hashrates(&mut out.epochs);
    if with_prices {
        // A price stamped 00:00 UTC of day d+1 is the close of day d; other stamps are skipped.
        let prices = client.historical_prices()?;
        out.requests += 1;
        let mut by_day: std::collections::BTreeMap<Date, f64> = Default::default();
        for p in prices {
            if p.time.rem_euclid(86_400) == 0 && p.usd.is_finite() && p.usd > 0.0 {
                by_day.insert(Date::from_unix(p.time).add_days(-1), p.usd);
            }
        }
        out.prices = by_day
            .into_iter()
            .map(|(date, close_usd)| PricePoint { date, close_usd })
            .collect();
    }
    Ok(out)
}
