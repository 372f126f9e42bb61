//! Load test of `hashpivot serve` (never part of the test run): starts the real binary on
//! 127.0.0.1:0 with a temporary database, then `--clients` threads send `--history` history/list
//! requests and `--runs` small simulation runs (3-year horizon, 200 paths) as fast as answers come
//! back, bounded by `--deadline` seconds. Reports throughput, p50/p99 latency per kind, the status
//! counts, the server's resident memory (VmRSS sampled from /proc, and VmHWM), and checks the
//! answers: every response must be 2xx or the queue's 503 with Retry-After, every accepted run
//! must finish `done`, and the server must still answer at the end (exit 1 otherwise).
//!
//! Mixed load (issue 17): `--slow N` adds N slowloris clients from 127.0.0.2 (each sends a request
//! head one header line a second, reconnecting whenever the server drops it) and `--oversized N`
//! adds N clients from 127.0.0.3 sending, in turn, the many-GB `optimal` request (1000 tranches × 180
//! decision months × 200k paths, which must be refused with 422) and a head announcing an 8 GB
//! body (refused with 413). They run for as long as the normal clients do. `--p99-ms` and
//! `--max-rss-mb` turn the targets into a pass/fail (exit 1 when missed).
//!
//! Std only (plus serde_json; tokio's socket only to bind the other loopback addresses), so the
//! bench crate needs no HTTP dependency:
//!
//! ```text
//! cargo build --release -p hashpivot-cli
//! cargo run --release -p hashpivot-bench --bin server_load -- [--bin target/release/hashpivot]
//!     [--clients 16] [--history 200] [--runs 20] [--max-queue 16] [--deadline 60]
//!     [--slow 0] [--oversized 0] [--read-timeout 10] [--p99-ms 0] [--max-rss-mb 0]
//! ```

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

struct Opts {
    bin: PathBuf,
    clients: usize,
    history: usize,
    runs: usize,
    max_queue: usize,
    deadline: Duration,
    slow: usize,
    oversized: usize,
    read_timeout: u64,
    p99_ms: u64,
    max_rss_mb: u64,
}

fn parse_opts() -> Result<Opts, String> {
    let mut o = Opts {
        bin: PathBuf::from("target/release/hashpivot"),
        clients: 16,
        history: 200,
        runs: 20,
        max_queue: 16,
        deadline: Duration::from_secs(60),
        slow: 0,
        oversized: 0,
        read_timeout: 10,
        p99_ms: 0,
        max_rss_mb: 0,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let flag = args[i].as_str();
        let val = args
            .get(i + 1)
            .ok_or_else(|| format!("{flag}: needs a value"))?;
        let num = |lo: u64, hi: u64| -> Result<u64, String> {
            val.parse::<u64>()
                .ok()
                .filter(|n| (lo..=hi).contains(n))
                .ok_or_else(|| format!("{flag} {val:?}: allowed {lo} to {hi}"))
        };
        match flag {
            "--bin" => o.bin = PathBuf::from(val),
            "--clients" => o.clients = num(1, 256)? as usize,
            "--history" => o.history = num(0, 100_000)? as usize,
            "--runs" => o.runs = num(0, 10_000)? as usize,
            "--max-queue" => o.max_queue = num(1, 10_000)? as usize,
            "--deadline" => o.deadline = Duration::from_secs(num(1, 600)?),
            "--slow" => o.slow = num(0, 4096)? as usize,
            "--oversized" => o.oversized = num(0, 256)? as usize,
            "--read-timeout" => o.read_timeout = num(1, 3600)?,
            "--p99-ms" => o.p99_ms = num(0, 600_000)?,
            "--max-rss-mb" => o.max_rss_mb = num(0, 1 << 20)?,
            _ => {
                return Err(format!(
                    "unknown flag {flag:?}: allowed --bin, --clients, --history, --runs, --max-queue, --deadline, --slow, --oversized, --read-timeout, --p99-ms, --max-rss-mb"
                ))
            }
        }
        i += 2;
    }
    if !o.bin.exists() {
        return Err(format!(
            "--bin {}: no such file (build it: cargo build --release -p hashpivot-cli)",
            o.bin.display()
        ));
    }
    Ok(o)
}

struct Answer {
    status: u16,
    retry_after: bool,
    body: String,
}

fn request(host: &str, method: &str, path: &str, body: &str) -> std::io::Result<Answer> {
    let mut c = TcpStream::connect(host)?;
    send(&mut c, host, method, path, body, body.len() as u64)
}

/// Sends one request on `c` (announcing `length` bytes of body, sending `body`) and reads the
/// answer to the end.
fn send(
    c: &mut TcpStream,
    host: &str,
    method: &str,
    path: &str,
    body: &str,
    length: u64,
) -> std::io::Result<Answer> {
    c.set_read_timeout(Some(Duration::from_secs(120)))?;
    write!(
        c,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {length}\r\n\r\n{body}",
    )?;
    let mut raw = Vec::new();
    c.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, rest) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let lower = head.to_ascii_lowercase();
    let body = if lower.contains("transfer-encoding: chunked") {
        let mut out = String::new();
        let mut s = rest;
        while let Some((size, r)) = s.split_once("\r\n") {
            let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
            if n == 0 || r.len() < n {
                break;
            }
            out.push_str(&r[..n]);
            s = r.get(n + 2..).unwrap_or("");
        }
        out
    } else {
        rest.to_string()
    };
    Ok(Answer {
        status,
        retry_after: lower.contains("\r\nretry-after:"),
        body,
    })
}

/// A connection to `host` from the loopback address `local` (127.0.0.2, ...): the server caps
/// connections per client address, and the attackers must not share the normal clients' one.
fn connect_from(local: &str, host: &str) -> std::io::Result<TcpStream> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let addr: std::net::SocketAddr = host
        .parse()
        .map_err(|_| std::io::Error::other("bad address"))?;
    let local: std::net::SocketAddr = local
        .parse()
        .map_err(|_| std::io::Error::other("bad local address"))?;
    let s = rt.block_on(async {
        let sock = tokio::net::TcpSocket::new_v4()?;
        sock.bind(local)?;
        sock.connect(addr).await
    })?;
    let s = s.into_std()?;
    s.set_nonblocking(false)?;
    Ok(s)
}

/// What the attackers saw.
#[derive(Default)]
struct Attack {
    /// Slow connections opened.
    slow_connections: u64,
    /// Longest time the server let a slow connection live, ms.
    slow_longest_ms: f64,
    /// Oversized requests: status counts and latencies, ms.
    oversized_status: std::collections::BTreeMap<u16, u64>,
    oversized_ms: Vec<f64>,
    /// Answers that were not the expected refusal.
    wrong: Vec<String>,
}

/// One slowloris client: a request head one line a second, until `stop`; reconnects whenever the
/// server closes the connection.
fn slow_client(host: String, stop: Arc<AtomicBool>, attack: Arc<Mutex<Attack>>) {
    while !stop.load(Ordering::Relaxed) {
        let Ok(mut c) = connect_from("127.0.0.2:0", &host) else {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        };
        let t0 = Instant::now();
        attack.lock().unwrap().slow_connections += 1;
        let _ = c.set_read_timeout(Some(Duration::from_millis(1000)));
        let mut ok = c.write_all(b"GET /api/runs HTTP/1.1\r\n").is_ok();
        let mut buf = [0u8; 512];
        while ok && !stop.load(Ordering::Relaxed) {
            match c.read(&mut buf) {
                Ok(_) => ok = false, // closed, or an error answer: the server dropped us
                Err(e)
                    if e.kind() == std::io::ErrorKind::WouldBlock
                        || e.kind() == std::io::ErrorKind::TimedOut =>
                {
                    ok = c.write_all(b"X-Slow: 1\r\n").is_ok();
                }
                Err(_) => ok = false,
            }
        }
        if !ok {
            let ms = t0.elapsed().as_secs_f64() * 1e3;
            {
                let mut a = attack.lock().unwrap();
                a.slow_longest_ms = a.slow_longest_ms.max(ms);
            }
            // Reopen a second later, as slowloris tools do to keep their connections up
            // (600 clients: up to 600 new connections a second). Without a pause they would
            // flood the listen backlog, a SYN-flood that the kernel and firewall must handle,
            // not the server process.
            std::thread::sleep(Duration::from_secs(1));
        }
    }
}

/// One client of oversized requests, until `stop`: the 8 GB `optimal` run (422), then a head
/// announcing an 8 GB body (413), in turn.
fn oversized_client(host: String, stop: Arc<AtomicBool>, attack: Arc<Mutex<Attack>>) {
    let big = json!({
        "strategy": "optimal",
        "paths": 200_000,
        "scenario": {"strategy": {"tranches": 1000, "decide_months": 179}},
    })
    .to_string();
    let mut n = 0u64;
    while !stop.load(Ordering::Relaxed) {
        n += 1;
        let Ok(mut c) = connect_from("127.0.0.3:0", &host) else {
            std::thread::sleep(Duration::from_millis(100));
            continue;
        };
        let t0 = Instant::now();
        let (r, want) = if n % 2 == 1 {
            (
                send(&mut c, &host, "POST", "/api/runs", &big, big.len() as u64),
                422,
            )
        } else {
            (
                send(&mut c, &host, "POST", "/api/runs", "", 8_000_000_000),
                413,
            )
        };
        let ms = t0.elapsed().as_secs_f64() * 1e3;
        let mut a = attack.lock().unwrap();
        match r {
            Ok(ans) => {
                *a.oversized_status.entry(ans.status).or_default() += 1;
                a.oversized_ms.push(ms);
                if ans.status != want {
                    let b: String = ans.body.chars().take(200).collect();
                    a.wrong.push(format!(
                        "oversized request: status {} (want {want}): {b}",
                        ans.status
                    ));
                }
            }
            // A server that refuses a body may reset the connection instead of reading it.
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {
                *a.oversized_status.entry(0).or_default() += 1;
            }
            Err(e) => a.wrong.push(format!("oversized request: {e}")),
        }
    }
}

fn rss_kb(pid: u32, key: &str) -> Option<u64> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = s.lines().find(|l| l.starts_with(key))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let k = ((p / 100.0) * (sorted.len() - 1) as f64).round() as usize;
    sorted[k.min(sorted.len() - 1)]
}

fn main() {
    let o = match parse_opts() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let dir = std::env::temp_dir().join(format!("hashpivot-load-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let db = dir.join("load.sqlite");
    let mut child = Command::new(&o.bin)
        .arg("--db")
        .arg(&db)
        .args(["--json", "serve", "--addr", "127.0.0.1:0", "--max-queue"])
        .arg(o.max_queue.to_string())
        .arg("--read-timeout")
        .arg(o.read_timeout.to_string())
        .env_remove("HASHPIVOT_TOKEN")
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("start hashpivot serve");
    let pid = child.id();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .expect("server's first line");
    let ready: Value = serde_json::from_str(&line).expect("server's first line is JSON");
    let host = ready["addr"].as_str().expect("addr").to_string();
    let rss_start = rss_kb(pid, "VmRSS:").unwrap_or(0);

    let mut scenario: Value = serde_json::from_str(
        &request(&host, "GET", "/api/scenario/default", "")
            .unwrap()
            .body,
    )
    .expect("default scenario");
    scenario["run"]["horizon_years"] = json!(3);
    let scenario = Arc::new(scenario);

    // Work items: 0..history are GETs, the rest POST runs, interleaved so runs arrive throughout.
    let total = o.history + o.runs;
    let next = Arc::new(AtomicUsize::new(0));
    let lat_get = Arc::new(Mutex::new(Vec::<f64>::new()));
    let lat_post = Arc::new(Mutex::new(Vec::<f64>::new()));
    let statuses = Arc::new(Mutex::new(std::collections::BTreeMap::<u16, u64>::new()));
    let accepted = Arc::new(Mutex::new(Vec::<String>::new()));
    let errors = Arc::new(Mutex::new(Vec::<String>::new()));
    let peak_rss = Arc::new(AtomicU64::new(rss_start));
    let stop = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak, stop) = (Arc::clone(&peak_rss), Arc::clone(&stop));
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                if let Some(r) = rss_kb(pid, "VmRSS:") {
                    peak.fetch_max(r, Ordering::Relaxed);
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        })
    };
    let gets = [
        "/api/history/price",
        "/api/history/difficulty?from=2020-01-01",
        "/api/history/hashprice/chart.svg",
        "/api/history/fees?from=2024-01-01&to=2024-12-31",
        "/api/runs?limit=50",
        "/api/machines",
    ];
    let attack = Arc::new(Mutex::new(Attack::default()));
    let attack_stop = Arc::new(AtomicBool::new(false));
    let mut attackers = Vec::new();
    for _ in 0..o.slow {
        let (h, st, a) = (host.clone(), Arc::clone(&attack_stop), Arc::clone(&attack));
        attackers.push(std::thread::spawn(move || slow_client(h, st, a)));
    }
    for _ in 0..o.oversized {
        let (h, st, a) = (host.clone(), Arc::clone(&attack_stop), Arc::clone(&attack));
        attackers.push(std::thread::spawn(move || oversized_client(h, st, a)));
    }
    if !attackers.is_empty() {
        // Let the slow clients take their connections before the normal load starts.
        std::thread::sleep(Duration::from_secs(2));
    }
    let t0 = Instant::now();
    let every = total.checked_div(o.runs).unwrap_or(usize::MAX);
    let threads: Vec<_> = (0..o.clients)
        .map(|_| {
            let (next, host, scenario) = (Arc::clone(&next), host.clone(), Arc::clone(&scenario));
            let (lat_get, lat_post) = (Arc::clone(&lat_get), Arc::clone(&lat_post));
            let (statuses, accepted, errors) = (
                Arc::clone(&statuses),
                Arc::clone(&accepted),
                Arc::clone(&errors),
            );
            let deadline = o.deadline;
            let runs = o.runs;
            std::thread::spawn(move || loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= total || t0.elapsed() > deadline {
                    return;
                }
                let is_run = every != usize::MAX && i % every == every - 1 && i / every < runs;
                let started = Instant::now();
                let r = if is_run {
                    let body = json!({"scenario": *scenario, "paths": 200, "seed": i, "strategy": "convert", "share": 0.5});
                    request(&host, "POST", "/api/runs", &body.to_string())
                } else {
                    request(&host, "GET", gets[i % gets.len()], "")
                };
                let ms = started.elapsed().as_secs_f64() * 1e3;
                match r {
                    Err(e) => errors.lock().unwrap().push(format!("request {i}: {e}")),
                    Ok(a) => {
                        *statuses.lock().unwrap().entry(a.status).or_default() += 1;
                        if is_run {
                            lat_post.lock().unwrap().push(ms);
                        } else {
                            lat_get.lock().unwrap().push(ms);
                        }
                        match a.status {
                            200 => {}
                            201 => {
                                let v: Value = serde_json::from_str(&a.body).unwrap_or(Value::Null);
                                match v["id"].as_str() {
                                    Some(id) => accepted.lock().unwrap().push(id.to_string()),
                                    None => errors.lock().unwrap().push(format!("201 without id: {}", a.body)),
                                }
                            }
                            503 if a.retry_after && a.body.contains("\"error\"") => {}
                            s => errors.lock().unwrap().push(format!("status {s}: {}", a.body.chars().take(200).collect::<String>())),
                        }
                    }
                }
            })
        })
        .collect();
    for t in threads {
        let _ = t.join();
    }
    let wall = t0.elapsed();
    attack_stop.store(true, Ordering::Relaxed);
    for t in attackers {
        let _ = t.join();
    }
    let answered: u64 = statuses.lock().unwrap().values().sum();

    // Every accepted run must finish `done` (bounded by the deadline again).
    let ids = accepted.lock().unwrap().clone();
    let t1 = Instant::now();
    let mut done = 0;
    for id in &ids {
        loop {
            let v: Value = request(&host, "GET", &format!("/api/runs/{id}"), "")
                .ok()
                .and_then(|a| serde_json::from_str(&a.body).ok())
                .unwrap_or(Value::Null);
            if v["status"] == "done" {
                done += 1;
                break;
            }
            if v["status"] == "failed" || t1.elapsed() > o.deadline {
                errors
                    .lock()
                    .unwrap()
                    .push(format!("run {id} did not finish done: {}", v["status"]));
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let runs_wall = t1.elapsed();
    let alive = request(&host, "GET", "/api/scenario/default", "").is_ok_and(|a| a.status == 200);
    stop.store(true, Ordering::Relaxed);
    let _ = sampler.join();
    let rss_end = rss_kb(pid, "VmRSS:").unwrap_or(0);
    let hwm = rss_kb(pid, "VmHWM:").unwrap_or(0);
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);

    let mut g = lat_get.lock().unwrap().clone();
    let mut p = lat_post.lock().unwrap().clone();
    g.sort_by(f64::total_cmp);
    p.sort_by(f64::total_cmp);
    let st = statuses.lock().unwrap().clone();
    let cpus = std::thread::available_parallelism().map_or(0, |n| n.get());
    println!(
        "hashpivot serve load: {} clients, {} requests ({} history/list + {} runs) on {cpus} cores",
        o.clients, total, o.history, o.runs
    );
    println!(
        "  answered {answered} in {:.2} s = {:.0} requests/s",
        wall.as_secs_f64(),
        answered as f64 / wall.as_secs_f64()
    );
    println!(
        "  GET  latency p50 {:8.2} ms   p99 {:8.2} ms   (n = {})",
        percentile(&g, 50.0),
        percentile(&g, 99.0),
        g.len()
    );
    println!(
        "  POST latency p50 {:8.2} ms   p99 {:8.2} ms   (n = {})",
        percentile(&p, 50.0),
        percentile(&p, 99.0),
        p.len()
    );
    println!(
        "  statuses {st:?}; runs accepted {} (queue {}), done {done} ({:.1} s after the last request)",
        ids.len(),
        o.max_queue,
        runs_wall.as_secs_f64()
    );
    println!(
        "  server RSS: start {} MiB, peak sampled {} MiB, end {} MiB, VmHWM {} MiB",
        rss_start / 1024,
        peak_rss.load(Ordering::Relaxed) / 1024,
        rss_end / 1024,
        hwm / 1024
    );
    let mut errs = errors.lock().unwrap().clone();
    if o.slow + o.oversized > 0 {
        let a = attack.lock().unwrap();
        let mut om = a.oversized_ms.clone();
        om.sort_by(f64::total_cmp);
        println!(
            "  slow clients: {} from 127.0.0.2, {} connections, longest held {:.1} s (--read-timeout {} s)",
            o.slow,
            a.slow_connections,
            a.slow_longest_ms / 1e3,
            o.read_timeout
        );
        println!(
            "  oversized: {} clients from 127.0.0.3, statuses {:?} (0 = connection reset), p50 {:.2} ms, p99 {:.2} ms",
            o.oversized,
            a.oversized_status,
            percentile(&om, 50.0),
            percentile(&om, 99.0)
        );
        errs.extend(a.wrong.iter().take(5).cloned());
        // A slow connection is cut at the read deadline (checked each second: 2 s of slack).
        if a.slow_longest_ms > (o.read_timeout as f64 + 2.0) * 1e3 {
            errs.push(format!(
                "a slow connection lived {:.1} s, past --read-timeout {} s",
                a.slow_longest_ms / 1e3,
                o.read_timeout
            ));
        }
    }
    if o.p99_ms > 0 && percentile(&g, 99.0) > o.p99_ms as f64 {
        errs.push(format!(
            "GET p99 {:.1} ms is above the target {} ms",
            percentile(&g, 99.0),
            o.p99_ms
        ));
    }
    if o.max_rss_mb > 0 && hwm / 1024 > o.max_rss_mb {
        errs.push(format!(
            "server VmHWM {} MiB is above the bound {} MiB",
            hwm / 1024,
            o.max_rss_mb
        ));
    }
    let ok = errs.is_empty() && alive && answered == total as u64;
    if !alive {
        println!("  FAIL: the server does not answer after the load");
    }
    if answered != total as u64 {
        println!(
            "  FAIL: {answered} of {total} requests answered before the deadline or with errors"
        );
    }
    for e in errs.iter().take(20) {
        println!("  FAIL: {e}");
    }
    std::process::exit(if ok { 0 } else { 1 });
}
