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
