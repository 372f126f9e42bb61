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
    /// `Content-Type` (mempool.space answers plain heights and hashes as `text/plain`).
    pub content_type: &'static str,
}

impl Response {
    /// 200 with a JSON body.
    pub fn ok(body: impl Into<String>) -> Response {
        Response {
            status: 200,
            body: body.into(),
            delay: Duration::ZERO,
            content_type: "application/json",
        }
    }

    /// 200 with a `text/plain` body (mempool's tip height, block hashes).
    pub fn text(body: impl Into<String>) -> Response {
        Response {
            content_type: "text/plain",
            ..Response::ok(body)
        }
    }

    /// Any status with a body.
    pub fn status(status: u16, body: impl Into<String>) -> Response {
        Response {
            status,
            body: body.into(),
            delay: Duration::ZERO,
            content_type: "application/json",
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
            "HTTP/1.1 {} {reason}\r\nContent-Type: {}\r\nContent-Length: {}\r\n\r\n{}",
            resp.status,
            resp.content_type,
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

/// Blocks after the shipped height table, per day, in the synthetic continuation of [`World`].
const WORLD_BLOCK_SECS: i64 = 600;

/// The chain, prices and fees the fake services answer from: the shipped data, continued past its
/// end with a synthetic chain (one block every 600 s, a price rising 0.2 % a day, fees that vary
/// by day), up to the tip height. Block times inside the shipped range are interpolated between
/// the shipped heights at 00:00 America/Los_Angeles, so the height the fakes report at each LA
/// midnight is exactly the shipped one; the real retarget headers keep their real times.
#[derive(Debug, Clone)]
pub struct World {
    tip: u64,
    /// (unix time, height) at each shipped LA midnight, increasing in both.
    anchors: Vec<(i64, u64)>,
}

impl World {
    /// The world with its tip at height `tip`.
    pub fn new(tip: u64) -> World {
        let mut anchors: Vec<(i64, u64)> = Vec::new();
        for h in hashpivot_data::shipped::heights() {
            let t = la_midnight(h.date);
            let hh = u64::from(h.height);
            if anchors.last().is_none_or(|&(_, last)| hh > last) {
                anchors.push((t, hh));
            }
        }
        World { tip, anchors }
    }

    /// The tip height.
    pub fn tip(&self) -> u64 {
        self.tip
    }

    /// Time of block `h` (the real header's time for the shipped retarget headers).
    pub fn time(&self, h: u64) -> i64 {
        if let Some(c) = hashpivot_data::shipped::checkpoint_headers()
            .iter()
            .find(|c| u64::from(c.height) == h)
        {
            return c.time_unix;
        }
        self.smooth_time(h)
    }

    /// Interpolated time of block `h`: block `anchor.height` at exactly the anchor's time, the
    /// blocks between two anchors evenly spaced, 600 s apart past either end.
    fn smooth_time(&self, h: u64) -> i64 {
        let (first, last) = (self.anchors[0], self.anchors[self.anchors.len() - 1]);
        if h <= first.1 {
            return first.0 - WORLD_BLOCK_SECS * (first.1 - h) as i64;
        }
        if h >= last.1 {
            return last.0 + WORLD_BLOCK_SECS * (h - last.1) as i64;
        }
        let i = self.anchors.partition_point(|a| a.1 <= h);
        let (a, b) = (self.anchors[i - 1], self.anchors[i]);
        // Block a.1 at a.0; the next ones evenly after it, the last of them before b.0.
        a.0 + ((b.0 - a.0) as i128 * (h - a.1) as i128 / (b.1 - a.1) as i128) as i64
    }

    /// Time of the tip block.
    pub fn tip_time(&self) -> i64 {
        self.time(self.tip)
    }

    /// The highest block at or below the tip whose (interpolated) time is at or before `ts`, as
    /// mempool's `/api/v1/mining/blocks/timestamp/:ts` answers; `None` before the first block.
    pub fn height_at(&self, ts: i64) -> Option<u64> {
        let (mut lo, mut hi) = (0u64, self.tip);
        if self.smooth_time(0) > ts {
            return None;
        }
        while lo < hi {
            let mid = lo + (hi - lo).div_ceil(2);
            if self.smooth_time(mid) <= ts {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        Some(lo)
    }

    /// Block hash: the real one for shipped headers (and the blocks before them), else a
    /// recognisable synthetic one.
    pub fn hash(&self, h: u64) -> String {
        if h == 0 {
            return hashpivot_chain::GENESIS_HASH_HEX.to_string();
        }
        let headers = hashpivot_data::shipped::checkpoint_headers();
        if let Some(c) = headers.iter().find(|c| u64::from(c.height) == h) {
            return c.block_hash.clone();
        }
        if let Some(next) = headers.iter().find(|c| u64::from(c.height) == h + 1) {
            return next.prev_block_hash.clone();
        }
        format!("{h:064x}")
    }

    /// The height of a hash this world hands out.
    pub fn height_of(&self, hash: &str) -> Option<u64> {
        if hash == hashpivot_chain::GENESIS_HASH_HEX {
            return Some(0);
        }
        let headers = hashpivot_data::shipped::checkpoint_headers();
        if let Some(c) = headers.iter().find(|c| c.block_hash == hash) {
            return Some(u64::from(c.height));
        }
        if let Some(c) = headers.iter().find(|c| c.prev_block_hash == hash) {
            return Some(u64::from(c.height) - 1);
        }
        let h = u64::from_str_radix(hash.trim_start_matches('0'), 16).ok()?;
        (hash.len() == 64 && h <= self.tip).then_some(h)
    }

    /// Fees of block `h`, satoshis: the shipped daily fee per block of its UTC day while the
    /// shipped heights last, then a synthetic 0.02–0.05 BTC varying from day to day.
    pub fn fee_sat(&self, h: u64) -> u64 {
        let last = self.anchors[self.anchors.len() - 1].1;
        let day = hashpivot_data::Date::from_unix(self.time(h));
        if h <= last {
            return shipped_fee_sat_per_block(day);
        }
        2_000_000 + 500_000 * (day.days().rem_euclid(7) as u64)
    }

    /// Close of UTC day `d` (USD per BTC), once the day is over at the tip: shipped closes, then
    /// 0.2 % a day up from the last one.
    pub fn close(&self, d: hashpivot_data::Date) -> Option<f64> {
        if d.add_days(1).unix_midnight() > self.tip_time() {
            return None;
        }
        let prices = hashpivot_data::shipped::prices();
        let last = prices.last()?;
        if d <= last.date {
            let i = prices.binary_search_by(|p| p.date.cmp(&d)).ok()?;
            return Some(prices[i].close_usd);
        }
        Some(last.close_usd * (1.0 + 0.002 * f64::from(d.days_since(last.date))))
    }

    /// Difficulty adjustments up to the tip: (time of the first block, height, difficulty,
    /// ratio to the previous). The shipped epochs with a start time, then synthetic ones 1 % up
    /// per epoch.
    pub fn adjustments(&self) -> Vec<(i64, u64, f64, f64)> {
        let mut out: Vec<(i64, u64, f64, f64)> = Vec::new();
        let mut prev = 1.0;
        let mut last_epoch = 0u64;
        for e in hashpivot_data::shipped::epochs() {
            let h = u64::from(e.start_height);
            if e.epoch == 0 || h > self.tip {
                prev = e.difficulty;
                continue;
            }
            // Epochs known only from Electrum checkpoints get the world's time of their block.
            let t = e.start_time_unix.unwrap_or_else(|| self.time(h));
            out.push((t, h, e.difficulty, e.difficulty / prev));
            prev = e.difficulty;
            last_epoch = u64::from(e.epoch);
        }
        let mut k = last_epoch + 1;
        while k * 2016 <= self.tip {
            let d = prev * 1.01;
            out.push((self.time(k * 2016), k * 2016, d, 1.01));
            prev = d;
            k += 1;
        }
        out
    }

    /// Difficulty in force at height `h`.
    pub fn difficulty_at(&self, h: u64) -> f64 {
        self.adjustments()
            .iter()
            .rev()
            .find(|a| a.1 <= h)
            .map_or(1.0, |a| a.2)
    }
}

/// 00:00 America/Los_Angeles of `d`, Unix seconds.
fn la_midnight(d: hashpivot_data::Date) -> i64 {
    d.unix_midnight() + (hashpivot_data::hashprice::la_offset_hours(d) * 3600.0) as i64
}

/// Fees per block (satoshis) on `date` from the shipped fee data (the next stored day's value,
/// the last one carried forward).
fn shipped_fee_sat_per_block(date: hashpivot_data::Date) -> u64 {
    let fees = hashpivot_data::shipped::fees();
    let i = fees.partition_point(|f| f.date < date);
    let f = fees
        .get(i)
        .or(fees.last())
        .map_or(0.0, |f| f.fees_btc / f64::from(f.blocks.unwrap_or(144)));
    (f * 1e8).round() as u64
}

/// An ISO 8601 UTC time as MySQL's DATETIME reaches mempool's JSON (`2026-11-22T08:00:00.000Z`).
fn iso_time(t: i64) -> String {
    let d = hashpivot_data::Date::from_unix(t);
    let s = t.rem_euclid(86_400);
    format!(
        "{d}T{:02}:{:02}:{:02}.000Z",
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

/// Core's `getblockchaininfo` for the fake node at tip `tip`.
fn core_chain_info(world: &World, tip: u64, id: &serde_json::Value) -> Response {
    rpc_ok(
        id,
        serde_json::json!({"chain": "main", "blocks": tip, "headers": tip,
            "bestblockhash": world.hash(tip), "difficulty": world.difficulty_at(tip),
            "time": world.tip_time(), "mediantime": world.time(tip.saturating_sub(5)),
            "verificationprogress": 0.9999, "initialblockdownload": false,
            "chainwork": format!("{:064x}", 0), "size_on_disk": 700_000_000_000u64,
            "pruned": false, "warnings": ""}),
    )
}

/// Core's `getblockstats <height>` (satoshis); -8 past the tip, as Core answers.
fn core_block_stats(
    world: &World,
    tip: u64,
    id: &serde_json::Value,
    params: &serde_json::Value,
) -> Response {
    let h = params.get(0).and_then(|x| x.as_u64()).unwrap_or(u64::MAX);
    if h <= tip {
        let fee = world.fee_sat(h);
        rpc_ok(
            id,
            serde_json::json!({"height": h, "time": world.time(h),
                "blockhash": world.hash(h), "totalfee": fee, "txs": 3000,
                "avgfee": fee / 2999, "subsidy": hashpivot_data::hashprice::subsidy_sat(h),
                "mediantime": world.time(h.saturating_sub(5))}),
        )
    } else {
        rpc_err(id, -8, "Target block height after current tip")
    }
}

/// A fake Bitcoin Core node (mainnet, tip `tip`) answering from [`World`]: real retarget headers
/// from `bitcoinj_checkpoint_headers.csv` (so only tips up to height 880127 have every retarget
/// for `getblockheader hash false`), verbose `getblockheader` (`height`, `time`, `mediantime`,
/// `bits`, `difficulty`, ...) for every block, `getblockhash`, and `getblockstats` (`totalfee`,
/// `subsidy`, `txs`, ... in satoshis). Errors as Core sends them: HTTP 500 with a JSON-RPC error
/// object (-8 for heights out of range, -5 for an unknown block), 404 for an unknown method.
pub fn fake_core(tip: u64, fault: Fault) -> impl Fn(&Request) -> Response + Send + Sync + 'static {
    use base64::Engine;
    use hashpivot_chain::Header;
    let headers = hashpivot_data::shipped::checkpoint_headers();
    let world = World::new(tip);
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
            "getblockchaininfo" => core_chain_info(&world, tip, &id),
            "getblockhash" => {
                let h = params.get(0).and_then(|x| x.as_u64()).unwrap_or(u64::MAX);
                if h > tip {
                    rpc_err(&id, -8, "Block height out of range")
                } else if let Some((hash, _)) = header_at(h) {
                    rpc_ok(&id, hash.into())
                } else {
                    rpc_ok(&id, world.hash(h).into())
                }
            }
            "getblockheader" => {
                let hash = params
                    .get(0)
                    .and_then(|x| x.as_str())
                    .unwrap_or("")
                    .to_string();
                let verbose = params.get(1).and_then(|x| x.as_bool()).unwrap_or(true);
                let real = headers
                    .iter()
                    .filter_map(|c| header_at(u64::from(c.height)))
                    .find(|(h, _)| *h == hash);
                match (verbose, real, world.height_of(&hash)) {
                    (false, Some((_, hex)), _) => rpc_ok(&id, hex.into()),
                    (true, _, Some(h)) => {
                        let d = world.difficulty_at(h);
                        let bits = hashpivot_chain::compact::get_compact(
                            hashpivot_chain::POW_LIMIT
                                .checked_div(hashpivot_chain::U256::from_u64(d.max(1.0) as u64))
                                .unwrap_or(hashpivot_chain::POW_LIMIT),
                            false,
                        );
                        rpc_ok(
                            &id,
                            serde_json::json!({"hash": hash, "confirmations": tip - h + 1,
                                "height": h, "version": 0x2000_0000, "versionHex": "20000000",
                                "merkleroot": format!("{:064x}", h ^ 0xabc),
                                "time": world.time(h), "mediantime": world.time(h.saturating_sub(5)),
                                "nonce": 0, "bits": format!("{bits:08x}"), "difficulty": d,
                                "chainwork": format!("{:064x}", h), "nTx": 3000,
                                "previousblockhash": world.hash(h.saturating_sub(1))}),
                        )
                    }
                    _ => rpc_err(&id, -5, "Block not found"),
                }
            }
            "getblockstats" => core_block_stats(&world, tip, &id, &params),
            _ => rpc_err(&id, -32601, "Method not found"),
        };
        resp.delayed(delay)
    }
}

/// Seconds of a mempool interval (`24h` … `3y`; `all` is everything).
fn interval_secs(interval: &str) -> Option<i64> {
    const DAY: i64 = 86_400;
    Some(match interval {
        "24h" => DAY,
        "3d" => 3 * DAY,
        "1w" => 7 * DAY,
        "1m" => 30 * DAY,
        "3m" => 91 * DAY,
        "6m" => 182 * DAY,
        "1y" => 365 * DAY,
        "2y" => 730 * DAY,
        "3y" => 1095 * DAY,
        "all" => i64::MAX / 4,
        _ => return None,
    })
}

/// mempool's bucket width (seconds) for `/api/v1/mining/blocks/fees/:interval`.
fn fee_bucket_secs(interval: &str) -> i64 {
    match interval {
        "24h" | "3d" => 1,
        "1w" => 300,
        "1m" => 1800,
        "3m" => 7200,
        "6m" => 10_800,
        "1y" | "2y" => 28_800,
        "3y" => 43_200,
        _ => 86_400,
    }
}

/// mempool's `/api/v1/mining/blocks/fees/:interval` from `start` (unix seconds) to the tip:
/// averages per bucket of mempool's width for `interval`, oldest first.
fn mempool_fee_buckets(world: &World, tip: u64, start: i64, interval: &str) -> Response {
    let div = fee_bucket_secs(interval);
    let first = world.height_at(start).map_or(0, |h| h + 1);
    // (sum of heights, sum of times, sum of fees, blocks) per bucket.
    let mut buckets: std::collections::BTreeMap<i64, (u64, i64, u64, u64)> = Default::default();
    for h in first..=tip {
        let t = world.smooth_time(h);
        let b = buckets.entry(t.div_euclid(div)).or_default();
        b.0 += h;
        b.1 += t;
        b.2 += world.fee_sat(h);
        b.3 += 1;
    }
    let rows: Vec<serde_json::Value> = buckets
        .values()
        .map(|&(hs, ts, fs, n)| {
            let t = ts / n as i64;
            let usd = world
                .close(hashpivot_data::Date::from_unix(t))
                .unwrap_or(0.0)
                .round();
            serde_json::json!({"avgHeight": hs / n, "timestamp": t,
                "avgFees": fs / n, "USD": usd})
        })
        .collect();
    Response::ok(serde_json::Value::Array(rows).to_string())
}

/// mempool's `/api/v1/historical-price`: every shipped close, stamped 00:00 UTC of the next day.
fn mempool_historical_price(world: &World) -> Response {
    let first = hashpivot_data::shipped::prices()[0].date;
    let mut prices = Vec::new();
    let mut d = first;
    while let Some(c) = world.close(d) {
        prices.push(serde_json::json!({"time": d.add_days(1).unix_midnight(),
            "USD": c, "EUR": c * 0.92}));
        d = d.add_days(1);
    }
    Response::ok(
        serde_json::json!({"prices": prices, "exchangeRates": {"USDEUR": 0.92}}).to_string(),
    )
}

/// A fake mempool.space API answering from [`World`] like the real one: `/api/blocks/tip/height`
/// (text/plain), `/api/block-height/:h` (text/plain hash), `/api/block/:hash` (JSON, `timestamp`
/// in seconds), `/api/v1/mining/blocks/timestamp/:ts` (`{height, hash, timestamp}` with an ISO
/// time; a timestamp in milliseconds is refused with HTTP 500, as mempool does),
/// `/api/v1/mining/blocks/fees/:interval` (`[{avgHeight, timestamp, avgFees, USD}]`, fees in
/// satoshis, buckets of mempool's widths, oldest first), `/api/v1/mining/difficulty-adjustments/
/// :interval` (`[[time, height, difficulty, ratio]]`, newest first), the hashrate and
/// `/api/v1/historical-price` (closes stamped 00:00 UTC of the next day). "Now" is the tip's time.
pub fn fake_mempool(
    tip: u64,
    fault: Fault,
) -> impl Fn(&Request) -> Response + Send + Sync + 'static {
    let world = World::new(tip);
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
        let now = world.tip_time();
        let path = req.path.as_str();
        let resp = if path == "/api/blocks/tip/height" {
            Response::text(tip.to_string())
        } else if let Some(h) = path.strip_prefix("/api/block-height/") {
            match h.parse::<u64>() {
                Ok(h) if h <= tip => Response::text(world.hash(h)),
                _ => Response::status(404, "Block not found"),
            }
        } else if let Some(hash) = path.strip_prefix("/api/block/") {
            match world.height_of(hash) {
                Some(h) => Response::ok(
                    serde_json::json!({"id": hash, "height": h, "version": 0x2000_0000,
                        "timestamp": world.time(h), "tx_count": 3000, "size": 1_500_000,
                        "weight": 3_993_000, "merkle_root": format!("{:064x}", h ^ 0xabc),
                        "previousblockhash": world.hash(h.saturating_sub(1)),
                        "mediantime": world.time(h.saturating_sub(5)), "nonce": 0,
                        "bits": 0x1702_0000, "difficulty": world.difficulty_at(h)})
                    .to_string(),
                ),
                None => Response::status(404, "Block not found"),
            }
        } else if let Some(ts) = path.strip_prefix("/api/v1/mining/blocks/timestamp/") {
            // mempool: "Invalid timestamp, value must be Unix seconds" beyond now + 1 day.
            match ts.parse::<i64>() {
                Ok(t) if t > 0 && t <= now + 86_400 => match world.height_at(t) {
                    Some(h) => Response::ok(
                        serde_json::json!({"height": h, "hash": world.hash(h),
                            "timestamp": iso_time(world.smooth_time(h))})
                        .to_string(),
                    ),
                    None => Response::status(404, "No block found"),
                },
                _ => Response::status(500, "Invalid timestamp, value must be Unix seconds"),
            }
        } else if let Some(iv) = path.strip_prefix("/api/v1/mining/blocks/fees/") {
            match interval_secs(iv) {
                Some(span) => mempool_fee_buckets(&world, tip, now.saturating_sub(span), iv),
                None => Response::status(404, "Not Found"),
            }
        } else if let Some(iv) = path.strip_prefix("/api/v1/mining/difficulty-adjustments/") {
            match interval_secs(iv) {
                Some(span) => {
                    // Newest first, as mempool.space answers.
                    let rows: Vec<serde_json::Value> = world
                        .adjustments()
                        .iter()
                        .rev()
                        .filter(|a| a.0 >= now.saturating_sub(span))
                        .map(|a| serde_json::json!([a.0, a.1, a.2, a.3]))
                        .collect();
                    Response::ok(serde_json::Value::Array(rows).to_string())
                }
                None => Response::status(404, "Not Found"),
            }
        } else if path.starts_with("/api/v1/mining/hashrate/") {
            let d = world.difficulty_at(tip);
            Response::ok(
                serde_json::json!({"hashrates": [], "difficulty": [],
                    "currentHashrate": d * 4_294_967_296.0 / 600.0, "currentDifficulty": d})
                .to_string(),
            )
        } else if path.starts_with("/api/v1/historical-price") {
            mempool_historical_price(&world)
        } else {
            Response::status(404, "Not Found")
        };
        resp.delayed(delay)
    }
}
