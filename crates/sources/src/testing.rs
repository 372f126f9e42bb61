//! A canned HTTP/1.1 server on 127.0.0.1 for tests of the clients (here and in the CLI's tests):
//! each request is handed to a closure that returns the response (status, body, optional delay).
//! It never listens on anything but the loopback interface.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// A request as received.
#[derive(Debug, Clone)]
pub struct Request {
    /// `GET`, `POST`...
    pub method: String,
    /// Path with query.
    pub path: String,
    /// Headers, names lower-cased.
    pub headers: Vec<(String, String)>,
    /// Body text.
    pub body: String,
}

impl Request {
    /// A header value by (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as JSON (`Null` if it is not JSON).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

/// A response to send.
#[derive(Debug, Clone)]
pub struct Response {
    /// HTTP status.
    pub status: u16,
    /// Body.
    pub body: String,
    /// Wait this long before answering (to provoke client timeouts).
    pub delay: Duration,
}

impl Response {
    /// 200 with a JSON body.
    pub fn ok(body: impl Into<String>) -> Response {
        Response {
            status: 200,
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    /// Any status with a body.
    pub fn status(status: u16, body: impl Into<String>) -> Response {
        Response {
            status,
            body: body.into(),
            delay: Duration::ZERO,
        }
    }

    /// This response after a delay.
    pub fn delayed(mut self, d: Duration) -> Response {
        self.delay = d;
        self
    }
}

type Handler = dyn Fn(&Request) -> Response + Send + Sync;

/// A running server; stops when dropped.
pub struct TestServer {
    addr: std::net::SocketAddr,
    stop: Arc<AtomicBool>,
    hits: Arc<AtomicU64>,
    thread: Option<JoinHandle<()>>,
}

impl TestServer {
    /// Starts a server on 127.0.0.1 (an OS-chosen port) answering with `handler`.
    pub fn start(
        handler: impl Fn(&Request) -> Response + Send + Sync + 'static,
    ) -> std::io::Result<TestServer> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        let stop = Arc::new(AtomicBool::new(false));
        let hits = Arc::new(AtomicU64::new(0));
        let handler: Arc<Handler> = Arc::new(handler);
        let (s, h) = (stop.clone(), hits.clone());
        let thread = std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = conn else { continue };
                let handler = handler.clone();
                let h = h.clone();
                std::thread::spawn(move || {
                    let _ = serve(stream, &*handler, &h);
                });
            }
        });
        Ok(TestServer {
            addr,
            stop,
            hits,
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Requests answered so far.
    pub fn hits(&self) -> u64 {
        self.hits.load(Ordering::SeqCst)
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wake the accept loop.
        let _ = TcpStream::connect(self.addr);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn serve(stream: TcpStream, handler: &Handler, hits: &AtomicU64) -> std::io::Result<()> {
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    stream.set_nodelay(true)?;
    let mut reader = BufReader::new(stream.try_clone()?);
    // Keep-alive: answer requests on this connection until the client closes it.
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let path = parts.next().unwrap_or("").to_string();
        let mut headers = Vec::new();
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 {
                return Ok(());
            }
            let h = h.trim_end();
            if h.is_empty() {
                break;
            }
            if let Some((k, v)) = h.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let len: usize = headers
            .iter()
            .find(|(k, _)| k == "content-length")
            .and_then(|(_, v)| v.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0u8; len];
        reader.read_exact(&mut body)?;
        let req = Request {
            method,
            path,
            headers,
            body: String::from_utf8_lossy(&body).into_owned(),
        };
        let resp = handler(&req);
        if !resp.delay.is_zero() {
            std::thread::sleep(resp.delay);
        }
        hits.fetch_add(1, Ordering::SeqCst);
        let reason = match resp.status {
            200 => "OK",
            401 => "Unauthorized",
            404 => "Not Found",
            500 => "Internal Server Error",
            _ => "Status",
        };
        // One write per response (and no Nagle): several small writes would meet the client's
        // delayed ACK and cost ~40 ms per request.
        let msg = format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{}",
            resp.status,
            resp.body.len(),
            resp.body
        );
        let mut w = &stream;
        w.write_all(msg.as_bytes())?;
        w.flush()?;
    }
}

/// A failure for the fake services to inject.
#[derive(Debug, Clone, PartialEq)]
pub enum Fault {
    /// Answer everything correctly.
    None,
    /// Plain-text HTTP 500 for every request.
    Http500,
    /// A truncated JSON body for `method` (RPC) or path fragment (REST).
    MalformedJson(String),
    /// A JSON-RPC error object (HTTP 500, as Core does) for `method`.
    RpcError(String),
    /// Answer `method` (or a REST path fragment) only after this many milliseconds.
    Slow(String, u64),
    /// The retarget header at this height has one nonce bit flipped (its hash then fails PoW).
    BadPow(u64),
    /// HTTP 401 unless the Basic credentials are `user:password`.
    RequireAuth(String, String),
}

fn rpc_ok(id: &serde_json::Value, result: serde_json::Value) -> Response {
    Response::ok(serde_json::json!({"result": result, "error": null, "id": id}).to_string())
}

fn rpc_err(id: &serde_json::Value, code: i64, message: &str) -> Response {
    // Core (JSON-RPC 1.0) sends errors with HTTP 500 (404 for "Method not found").
    let status = if code == -32601 { 404 } else { 500 };
    Response::status(
        status,
        serde_json::json!({"result": null, "error": {"code": code, "message": message}, "id": id})
            .to_string(),
    )
}

/// Fees per block (satoshis) on `date` from the shipped fee data (interpolated like the history).
fn shipped_fee_sat_per_block(date: hashpivot_data::Date) -> u64 {
    let fees = hashpivot_data::shipped::fees();
    let i = fees.partition_point(|f| f.date < date);
    let f = fees
        .get(i)
        .or(fees.last())
        .map_or(0.0, |f| f.fees_btc / f64::from(f.blocks.unwrap_or(144)));
    (f * 1e8).round() as u64
}

/// A fake Bitcoin Core node (mainnet, tip `tip`) answering from the shipped data: retarget headers
/// from `bitcoinj_checkpoint_headers.csv` (so only tips up to height 880127 have every retarget),
/// `getblockhash` of the block before a retarget from the next header's `hashPrevBlock`, and
/// `getblockstats` with block times 600 s apart from the last retarget and the shipped daily fees.
pub fn fake_core(tip: u64, fault: Fault) -> impl Fn(&Request) -> Response + Send + Sync + 'static {
    use base64::Engine;
    use hashpivot_chain::Header;
    let headers = hashpivot_data::shipped::checkpoint_headers();
    move |req: &Request| {
        if let Fault::RequireAuth(u, p) = &fault {
            let want = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            );
            if req.header("authorization") != Some(want.as_str()) {
                return Response::status(401, "");
            }
        }
        if fault == Fault::Http500 {
            return Response::status(500, "Internal Server Error");
        }
        let v = req.json();
        let id = v.get("id").cloned().unwrap_or(serde_json::Value::Null);
        let method = v
            .get("method")
            .and_then(|m| m.as_str())
            .unwrap_or("")
            .to_string();
        let params = v.get("params").cloned().unwrap_or(serde_json::Value::Null);
        let mut delay = Duration::ZERO;
        match &fault {
            Fault::MalformedJson(m) if *m == method => {
                return Response::ok(format!(
                    "{{\"result\": {{\"chain\": \"main\", \"blocks\": {tip}, \"id\": "
                ));
            }
            Fault::RpcError(m) if *m == method => {
                return rpc_err(&id, -28, "Loading block index…");
            }
            Fault::Slow(m, ms) if *m == method => delay = Duration::from_millis(*ms),
            _ => {}
        }
        // The header at a retarget height, with the injected PoW fault applied.
        let header_at = |h: u64| -> Option<(String, String)> {
            let c = headers.iter().find(|c| u64::from(c.height) == h)?;
            if fault == Fault::BadPow(h) {
                let mut hex: Vec<u8> = c.header_hex.bytes().collect();
                hex[152] = if hex[152] == b'0' { b'1' } else { b'0' };
                let hex = String::from_utf8(hex).ok()?;
                let hash = Header::from_hex(&hex).ok()?.hash().to_display_hex();
                return Some((hash, hex));
            }
            Some((c.block_hash.clone(), c.header_hex.clone()))
        };
        let resp = match method.as_str() {
            "getblockchaininfo" => rpc_ok(
                &id,
                serde_json::json!({"chain": "main", "blocks": tip, "headers": tip,
                    "bestblockhash": format!("{:064x}", tip), "difficulty": 110_451_907_374_649.6}),
            ),
            "getblockhash" => {
                let h = params.get(0).and_then(|x| x.as_u64()).unwrap_or(u64::MAX);
                if h > tip {
                    rpc_err(&id, -8, "Block height out of range")
                } else if let Some((hash, _)) = header_at(h) {
                    rpc_ok(&id, hash.into())
                } else if let Some(next) = headers.iter().find(|c| u64::from(c.height) == h + 1) {
                    rpc_ok(&id, next.prev_block_hash.clone().into())
                } else {
                    rpc_ok(&id, format!("{h:064x}").into())
                }
            }
            "getblockheader" => {
                let hash = params
                    .get(0)
                    .and_then(|x| x.as_str())
                    .unwrap_or("")
                    .to_string();
                let found = headers
                    .iter()
                    .filter_map(|c| header_at(u64::from(c.height)))
                    .find(|(h, _)| *h == hash);
                match found {
                    Some((_, hex)) => rpc_ok(&id, hex.into()),
                    None => rpc_err(&id, -5, "Block not found"),
                }
            }
            "getblockstats" => {
                let h = params.get(0).and_then(|x| x.as_u64()).unwrap_or(u64::MAX);
                // Times run 600 s apart through the newest retarget at or below the tip.
                let base = headers.iter().rev().find(|c| u64::from(c.height) <= tip);
                match (h <= tip, base) {
                    (true, Some(b)) => {
                        let time = b.time_unix + 600 * (h as i64 - i64::from(b.height));
                        let fee = shipped_fee_sat_per_block(hashpivot_data::Date::from_unix(time));
                        rpc_ok(
                            &id,
                            serde_json::json!({"height": h, "time": time, "totalfee": fee,
                                "subsidy": hashpivot_data::hashprice::subsidy_sat(h)}),
                        )
                    }
                    _ => rpc_err(&id, -8, "Target block height after current tip"),
                }
            }
            _ => rpc_err(&id, -32601, "Method not found"),
        };
        resp.delayed(delay)
    }
}

/// A fake mempool.space API answering from the shipped data: tip `tip`, the shipped epochs with
/// start times up to the tip as difficulty adjustments, the hashrate implied by the last one, and
/// the shipped closes as 00:00 UTC prices of the next day.
pub fn fake_mempool(
    tip: u64,
    fault: Fault,
) -> impl Fn(&Request) -> Response + Send + Sync + 'static {
    move |req: &Request| {
        if fault == Fault::Http500 {
            return Response::status(500, "Internal Server Error");
        }
        let mut delay = Duration::ZERO;
        match &fault {
            Fault::MalformedJson(p) if req.path.contains(p.as_str()) => {
                return Response::ok("[[1736712111, 878976,")
            }
            Fault::Slow(p, ms) if req.path.contains(p.as_str()) => {
                delay = Duration::from_millis(*ms)
            }
            _ => {}
        }
        let epochs = hashpivot_data::shipped::epochs();
        let known: Vec<&hashpivot_data::Epoch> = epochs
            .iter()
            .filter(|e| {
                e.start_time_unix.is_some() && u64::from(e.start_height) <= tip && e.epoch > 0
            })
            .collect();
        let resp = if req.path == "/api/blocks/tip/height" {
            Response::ok(tip.to_string())
        } else if req
            .path
            .starts_with("/api/v1/mining/difficulty-adjustments/")
        {
            // Newest first, as mempool.space answers; the last 26 epochs (≈ 1 year).
            let rows: Vec<serde_json::Value> = known
                .iter()
                .rev()
                .take(26)
                .map(|e| serde_json::json!([e.start_time_unix, e.start_height, e.difficulty, 1.0]))
                .collect();
            Response::ok(serde_json::Value::Array(rows).to_string())
        } else if req.path.starts_with("/api/v1/mining/hashrate/") {
            let last = known.last();
            let d = last.map_or(1.0, |e| e.difficulty);
            Response::ok(
                serde_json::json!({"hashrates": [], "difficulty": [],
                    "currentHashrate": d * 4_294_967_296.0 / 600.0, "currentDifficulty": d})
                .to_string(),
            )
        } else if req.path.starts_with("/api/v1/historical-price") {
            let prices: Vec<serde_json::Value> = hashpivot_data::shipped::prices()
                .iter()
                .rev()
                .take(60)
                .map(|p| serde_json::json!({"time": p.date.add_days(1).unix_midnight(), "USD": p.close_usd, "EUR": p.close_usd * 0.92}))
                .collect();
            Response::ok(
                serde_json::json!({"prices": prices, "exchangeRates": {"USDEUR": 0.92}})
                    .to_string(),
            )
        } else {
            Response::status(404, "Not Found")
        };
        resp.delayed(delay)
    }
}
