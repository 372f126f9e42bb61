//! A mempool.space-compatible REST client (`/api/blocks/tip/height`,
//! `/api/v1/mining/difficulty-adjustments/:interval`, `/api/v1/mining/hashrate/:interval`,
//! `/api/v1/historical-price`).

use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::Deserialize;

use crate::{agent, check_url, snippet, split_credentials, transport_error, SourceError};

/// A client for one base URL (e.g. `https://mempool.space`).
#[derive(Debug)]
pub struct MempoolClient {
    base: String,
    agent: ureq::Agent,
    timeout: Duration,
}

/// One difficulty adjustment: `[time, height, difficulty, change ratio]` in the API.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Adjustment {
    /// Time of the first block of the epoch.
    pub time: i64,
    /// Its height (a multiple of 2016).
    pub height: u64,
    /// Difficulty from that block on.
    pub difficulty: f64,
}

/// `/api/v1/mining/hashrate/:interval` (the fields used).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HashrateInfo {
    /// Current hashrate estimate, H/s.
    pub current_hashrate: f64,
    /// Current difficulty.
    pub current_difficulty: f64,
}

/// One price point of `/api/v1/historical-price`.
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct PricePoint {
    /// Unix time of the price.
    pub time: i64,
    /// USD per BTC.
    #[serde(rename = "USD")]
    pub usd: f64,
}

/// `/api/v1/mining/blocks/timestamp/:ts`: the newest block at or before a time.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BlockAtTime {
    /// Its height.
    pub height: u64,
    /// Its hash.
    pub hash: String,
    /// Its time: mempool sends an ISO 8601 string (a MySQL DATETIME); Unix seconds are accepted.
    pub timestamp: serde_json::Value,
}

/// One bucket of `/api/v1/mining/blocks/fees/:interval`: blocks grouped by time
/// (`UNIX_TIMESTAMP DIV width`, width 30 min for `1m` … 12 h for `3y`).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct FeeBucket {
    /// Mean height of the bucket's blocks.
    #[serde(rename = "avgHeight")]
    pub avg_height: f64,
    /// Mean time of its blocks, Unix seconds.
    pub timestamp: i64,
    /// Mean fees per block, satoshis.
    #[serde(rename = "avgFees")]
    pub avg_fees: f64,
    /// BTC/USD at that time (0 when mempool has no price).
    #[serde(rename = "USD", default)]
    pub usd: f64,
}

/// `/api/block/:hash` (the fields used).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BlockInfo {
    /// Height.
    pub height: u64,
    /// Block time, Unix seconds.
    pub timestamp: i64,
}

/// Parses `2026-11-22T08:00:00.000Z` (or Unix seconds) to Unix seconds.
pub fn parse_time(v: &serde_json::Value) -> Option<i64> {
    if let Some(n) = v.as_i64() {
        return Some(n);
    }
    let s = v.as_str()?;
    let (date, rest) = s.split_once('T')?;
    let d: hashpivot_data::Date = date.parse().ok()?;
    let hms = rest.trim_end_matches('Z');
    let hms = hms.split('.').next()?;
    let mut it = hms.split(':').map(|x| x.parse::<i64>().ok());
    let (h, m, sec) = (it.next()??, it.next()??, it.next()??);
    if !(0..24).contains(&h) || !(0..60).contains(&m) || !(0..61).contains(&sec) {
        return None;
    }
    Some(d.unix_midnight() + h * 3600 + m * 60 + sec)
}

#[derive(Deserialize)]
struct Prices {
    prices: Vec<PricePoint>,
}

impl MempoolClient {
    /// A client for `base` (no trailing `/api`).
    pub fn new(base: &str, timeout: Duration) -> Result<MempoolClient, SourceError> {
        check_url("--mempool", base)?;
        let base = split_credentials(base).0.trim_end_matches('/').to_string();
        Ok(MempoolClient {
            base,
            agent: agent(timeout),
            timeout,
        })
    }

    /// The base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    fn get_text(&self, path: &str) -> Result<String, SourceError> {
        let url = format!("{}{}", self.base, path);
        match self.agent.get(&url).call() {
            Ok(r) => r.into_string().map_err(|e| SourceError::Connect {
                url: self.base.clone(),
                what: path.to_string(),
                message: e.to_string(),
            }),
            Err(ureq::Error::Status(status, r)) => Err(SourceError::Http {
                url: self.base.clone(),
                status,
                what: path.to_string(),
                body: snippet(&r.into_string().unwrap_or_default()),
            }),
            Err(ureq::Error::Transport(t)) => {
                Err(transport_error(&self.base, path, self.timeout, &t))
            }
        }
    }

    fn get_json<T: DeserializeOwned>(&self, path: &str) -> Result<T, SourceError> {
        let text = self.get_text(path)?;
        serde_json::from_str(&text).map_err(|e| SourceError::Json {
            url: self.base.clone(),
            what: path.to_string(),
            message: e.to_string(),
            body: snippet(&text),
        })
    }

    /// `/api/blocks/tip/height`.
    pub fn tip_height(&self) -> Result<u64, SourceError> {
        let path = "/api/blocks/tip/height";
        let text = self.get_text(path)?;
        text.trim().parse().map_err(|_| SourceError::Json {
            url: self.base.clone(),
            what: path.to_string(),
            message: "expected a block height (an integer)".to_string(),
            body: snippet(&text),
        })
    }

    /// The tip's height and time: `/api/blocks/tip/height`, `/api/block-height/:h` (its hash)
    /// and `/api/block/:hash`.
    pub fn tip(&self) -> Result<(u64, i64), SourceError> {
        let h = self.tip_height()?;
        let path = format!("/api/block-height/{h}");
        let hash = self.get_text(&path)?.trim().to_string();
        if hash.len() != 64 || !hash.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(SourceError::Json {
                url: self.base.clone(),
                what: path,
                message: "expected a block hash (64 hex digits)".to_string(),
                body: snippet(&hash),
            });
        }
        let b: BlockInfo = self.get_json(&format!("/api/block/{hash}"))?;
        if b.height != h {
            return Err(SourceError::Inconsistent(format!(
                "{}: /api/block/{hash} is at height {} but the tip is {h}",
                self.base, b.height
            )));
        }
        Ok((h, b.timestamp))
    }

    /// `/api/v1/mining/blocks/timestamp/:ts`: the newest block whose time is at or before `ts`
    /// (Unix seconds). Checks that the answer's time is not after `ts`.
    pub fn block_at_time(&self, ts: i64) -> Result<BlockAtTime, SourceError> {
        let path = format!("/api/v1/mining/blocks/timestamp/{ts}");
        let b: BlockAtTime = self.get_json(&path)?;
        match parse_time(&b.timestamp) {
            Some(t) if t <= ts => Ok(b),
            Some(t) => Err(SourceError::Inconsistent(format!(
                "{}{path}: block {} has time {t}, after the {ts} asked for",
                self.base, b.height
            ))),
            None => Err(SourceError::Json {
                url: self.base.clone(),
                what: path,
                message: "`timestamp` is neither an ISO 8601 time nor Unix seconds".to_string(),
                body: snippet(&b.timestamp.to_string()),
            }),
        }
    }

    /// `/api/v1/mining/blocks/fees/:interval`, oldest first.
    pub fn block_fees(&self, interval: &str) -> Result<Vec<FeeBucket>, SourceError> {
        let mut v: Vec<FeeBucket> =
            self.get_json(&format!("/api/v1/mining/blocks/fees/{interval}"))?;
        v.sort_by_key(|b| b.timestamp);
        Ok(v)
    }

    /// `/api/v1/mining/difficulty-adjustments/:interval`, oldest first.
    pub fn difficulty_adjustments(&self, interval: &str) -> Result<Vec<Adjustment>, SourceError> {
        let path = format!("/api/v1/mining/difficulty-adjustments/{interval}");
        let rows: Vec<(f64, f64, f64, f64)> = self.get_json(&path)?;
        let mut out: Vec<Adjustment> = rows
            .into_iter()
            .map(|(t, h, d, _)| Adjustment {
                time: t as i64,
                height: h as u64,
                difficulty: d,
            })
            .collect();
        out.sort_by_key(|a| a.height);
        Ok(out)
    }

    /// `/api/v1/mining/hashrate/:interval`.
    pub fn hashrate(&self, interval: &str) -> Result<HashrateInfo, SourceError> {
        self.get_json(&format!("/api/v1/mining/hashrate/{interval}"))
    }

    /// `/api/v1/historical-price?currency=USD`, oldest first.
    pub fn historical_prices(&self) -> Result<Vec<PricePoint>, SourceError> {
        let p: Prices = self.get_json("/api/v1/historical-price?currency=USD")?;
        let mut v = p.prices;
        v.sort_by_key(|x| x.time);
        Ok(v)
    }
}
