//! Load test of `hashpivot serve` (never part of the test run): starts the real binary on
//! 127.0.0.1:0 with a temporary database, then `--clients` threads send `--history` history/list
//! requests and `--runs` small simulation runs (3-year horizon, 200 paths) as fast as answers come
//! back, bounded by `--deadline` seconds. Reports throughput, p50/p99 latency per kind, the status
//! counts, the server's resident memory (VmRSS sampled from /proc, and VmHWM), and checks the
//! answers: every response must be 2xx or the queue's 503 with Retry-After, every accepted run
//! must finish `done`, and the server must still answer at the end (exit 1 otherwise).
//!
//! Std only (plus serde_json), so the bench crate needs no HTTP dependency:
//!
//! ```text
//! cargo build --release -p hashpivot-cli
//! cargo run --release -p hashpivot-bench --bin server_load -- [--bin target/release/hashpivot]
//!     [--clients 16] [--history 200] [--runs 20] [--max-queue 16] [--deadline 60]
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
}

fn parse_opts() -> Result<Opts, String> {
    let mut o = Opts {
        bin: PathBuf::from("target/release/hashpivot"),
        clients: 16,
        history: 200,
        runs: 20,
        max_queue: 16,
        deadline: Duration::from_secs(60),
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
            _ => {
                return Err(format!(
                    "unknown flag {flag:?}: allowed --bin, --clients, --history, --runs, --max-queue, --deadline"
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
    c.set_read_timeout(Some(Duration::from_secs(120)))?;
    write!(
        c,
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
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
    let errs = errors.lock().unwrap().clone();
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
