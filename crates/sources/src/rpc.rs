//! Bitcoin Core JSON-RPC client (`getblockchaininfo`, `getblockhash`, `getblockheader`,
//! `getblockstats`), with basic auth from `--rpc-user/--rpc-password` or the node's `.cookie` file.
//!
//! Core answers JSON-RPC 1.0 errors with HTTP 500 (404 for an unknown method) and a body holding
//! the error object; JSON-RPC 2.0 errors come with HTTP 200. Both become [`SourceError::Rpc`].

use std::cell::Cell;
use std::path::Path;
use std::time::Duration;

use base64::Engine;
use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::{agent, check_url, snippet, split_credentials, transport_error, SourceError};

/// How to authenticate.
#[derive(Clone, PartialEq, Eq)]
pub enum RpcAuth {
    /// No credentials.
    None,
    /// `rpcuser` / `rpcpassword`.
    UserPass {
        /// User.
        user: String,
        /// Password (never printed).
        password: String,
    },
    /// The `user:password` line of the node's `.cookie` file.
    Cookie(std::path::PathBuf),
}

impl std::fmt::Debug for RpcAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RpcAuth::None => f.write_str("None"),
            RpcAuth::UserPass { user, .. } => {
                write!(f, "UserPass {{ user: {user:?}, password: <hidden> }}")
            }
            RpcAuth::Cookie(p) => write!(f, "Cookie({})", p.display()),
        }
    }
}

/// A JSON-RPC client for one node.
pub struct RpcClient {
    url: String,
    authorization: Option<String>,
    /// Every form of the credentials that could come back in a node's (or proxy's) answer: the
    /// password, `user:password` and the Basic value. Errors quote the node's text, so they are
    /// redacted with these before they reach the user.
    secrets: Vec<String>,
    agent: ureq::Agent,
    timeout: Duration,
    next_id: Cell<u64>,
}

impl std::fmt::Debug for RpcClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RpcClient")
            .field("url", &self.url)
            .field(
                "authorization",
                &self.authorization.as_ref().map(|_| "<hidden>"),
            )
            .finish()
    }
}

/// Reads a cookie file (`__cookie__:hex`), returning (user, password).
pub fn read_cookie(path: &Path) -> Result<(String, String), SourceError> {
    let err = |m: String| SourceError::Cookie {
        path: path.display().to_string(),
        message: m,
    };
    let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read it: {e}")))?;
    let line = text.lines().next().unwrap_or("").trim();
    let (u, p) = line.split_once(':').ok_or_else(|| {
        err("expected one line `user:password` (Bitcoin Core's .cookie)".to_string())
    })?;
    if u.is_empty() || p.is_empty() {
        return Err(err(
            "expected one line `user:password` (Bitcoin Core's .cookie)".to_string(),
        ));
    }
    Ok((u.to_string(), p.to_string()))
}

/// `getblockchaininfo` (the fields used).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct ChainInfo {
    /// `main`, `test`, `signet`, `regtest`.
    pub chain: String,
    /// Height of the best validated block.
    pub blocks: u64,
    /// Hash of the best block.
    #[serde(default)]
    pub bestblockhash: String,
    /// Current difficulty.
    #[serde(default)]
    pub difficulty: f64,
}

/// `getblockstats` (the fields used).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct BlockStats {
    /// Height.
    pub height: u64,
    /// Block time.
    pub time: i64,
    /// Fees, satoshis.
    pub totalfee: u64,
    /// Subsidy, satoshis.
    pub subsidy: u64,
}

/// `getblockheader hash true` (the fields used).
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct HeaderInfo {
    /// Block hash.
    pub hash: String,
    /// Height.
    pub height: u64,
    /// Block time (miner's clock; may run up to 2 h out of order).
    pub time: i64,
    /// Median time of the previous 11 blocks (never decreases).
    pub mediantime: i64,
    /// nBits as hex.
    pub bits: String,
    /// Difficulty.
    pub difficulty: f64,
}

impl RpcClient {
    /// A client for `url` (credentials in the URL are accepted and moved to the header).
    pub fn new(url: &str, auth: RpcAuth, timeout: Duration) -> Result<RpcClient, SourceError> {
        check_url("--rpc", url)?;
        let (clean, in_url) = split_credentials(url);
        let creds = match auth {
            RpcAuth::UserPass { user, password } => Some((user, password)),
            RpcAuth::Cookie(p) => Some(read_cookie(&p)?),
            RpcAuth::None => in_url,
        };
        let mut secrets = Vec::new();
        let authorization = creds.map(|(u, p)| {
            let basic = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
            secrets.push(basic.clone());
            secrets.push(format!("{u}:{p}"));
            secrets.push(p);
            format!("Basic {basic}")
        });
        // Longest first, so `user:password` is hidden whole rather than leaving `user:`.
        secrets.retain(|x| !x.is_empty());
        secrets.sort_by_key(|x| std::cmp::Reverse(x.len()));
        Ok(RpcClient {
            url: clean,
            authorization,
            secrets,
            agent: agent(timeout),
            timeout,
            next_id: Cell::new(1),
        })
    }

    /// The node URL (without credentials).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Calls `method` with `params` and decodes the `result`.
    pub fn call<T: DeserializeOwned>(&self, method: &str, params: Value) -> Result<T, SourceError> {
        let id = self.next_id.get();
        self.next_id.set(id + 1);
        let body =
            json!({"jsonrpc": "1.0", "id": id, "method": method, "params": params}).to_string();
        let mut req = self
            .agent
            .post(&self.url)
            .set("Content-Type", "application/json");
        if let Some(a) = &self.authorization {
            req = req.set("Authorization", a);
        }
        let (status, text) = match req.send_string(&body) {
            Ok(r) => {
                let s = r.status();
                (s, r.into_string().map_err(|e| self.io_err(method, e))?)
            }
            Err(ureq::Error::Status(s, r)) => (s, r.into_string().unwrap_or_default()),
            Err(ureq::Error::Transport(t)) => {
                return Err(transport_error(&self.url, method, self.timeout, &t))
            }
        };
        if status == 401 || status == 403 {
            return Err(SourceError::Unauthorized {
                url: self.url.clone(),
                status,
            });
        }
        let v: Value = match serde_json::from_str(&text) {
            Ok(v) => v,
            Err(e) => {
                if status >= 300 {
                    return Err(SourceError::Http {
                        url: self.url.clone(),
                        status,
                        what: method.to_string(),
                        body: snippet(&self.redact(&text)),
                    });
                }
                return Err(self.json_err(method, e.to_string(), &text));
            }
        };
        if let Some(err) = v.get("error").filter(|e| !e.is_null()) {
            return Err(SourceError::Rpc {
                method: method.to_string(),
                code: err.get("code").and_then(Value::as_i64).unwrap_or(0),
                message: self.redact(
                    err.get("message")
                        .and_then(Value::as_str)
                        .unwrap_or("(no message)"),
                ),
            });
        }
        if status >= 300 {
            return Err(SourceError::Http {
                url: self.url.clone(),
                status,
                what: method.to_string(),
                body: snippet(&self.redact(&text)),
            });
        }
        let result = v
            .get("result")
            .cloned()
            .ok_or_else(|| self.json_err(method, "no `result` member".to_string(), &text))?;
        serde_json::from_value(result).map_err(|e| self.json_err(method, e.to_string(), &text))
    }

    /// Replaces every form of the credentials in `text` by `<hidden>`.
    fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for secret in &self.secrets {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "<hidden>");
            }
        }
        out
    }

    fn io_err(&self, method: &str, e: std::io::Error) -> SourceError {
        if matches!(
            e.kind(),
            std::io::ErrorKind::TimedOut | std::io::ErrorKind::WouldBlock
        ) {
            SourceError::Timeout {
                url: self.url.clone(),
                secs: self.timeout.as_secs().max(1),
                what: method.to_string(),
            }
        } else {
            SourceError::Connect {
                url: self.url.clone(),
                what: method.to_string(),
                message: e.to_string(),
            }
        }
    }

    fn json_err(&self, method: &str, message: String, body: &str) -> SourceError {
        SourceError::Json {
            url: self.url.clone(),
            what: method.to_string(),
            message: self.redact(&message),
            body: snippet(&self.redact(body)),
        }
    }

    /// `getblockchaininfo`.
    pub fn getblockchaininfo(&self) -> Result<ChainInfo, SourceError> {
        self.call("getblockchaininfo", json!([]))
    }

    /// `getblockchaininfo`, refusing a node that is not on mainnet.
    pub fn mainnet_info(&self) -> Result<ChainInfo, SourceError> {
        let info = self.getblockchaininfo()?;
        if info.chain != "main" {
            return Err(SourceError::Inconsistent(format!(
                "the node at {} is on chain {:?}; hashpivot models mainnet (chain \"main\")",
                self.url, info.chain
            )));
        }
        Ok(info)
    }

    /// `getblockhash height`.
    pub fn getblockhash(&self, height: u64) -> Result<String, SourceError> {
        self.call("getblockhash", json!([height]))
    }

    /// `getblockheader hash false`: the raw 80-byte header as hex.
    pub fn getblockheader_hex(&self, hash: &str) -> Result<String, SourceError> {
        self.call("getblockheader", json!([hash, false]))
    }

    /// `getblockheader hash true`.
    pub fn getblockheader_verbose(&self, hash: &str) -> Result<HeaderInfo, SourceError> {
        self.call("getblockheader", json!([hash, true]))
    }

    /// `getblockstats height ["height","time","totalfee","subsidy"]`.
    pub fn getblockstats(&self, height: u64) -> Result<BlockStats, SourceError> {
        self.call(
            "getblockstats",
            json!([height, ["height", "time", "totalfee", "subsidy"]]),
        )
    }
}
