//! Hardening of `hashpivot serve`, end to end with the real binary on 127.0.0.1:
//! - durability: SIGKILL the server in the middle of a run (with more queued), and SIGKILL a
//!   `hashpivot data import` of a large CSV writing to the same database while the server runs.
//!   After each: `PRAGMA integrity_check` is `ok`, the store opens, finished runs are byte-identical,
//!   unfinished ones are `failed` with a reason, and the imported series is entirely old or new;
//! - security: a non-loopback `--addr` without a token is refused before anything is bound (the
//!   tests never listen anywhere but 127.0.0.1), bad tokens are refused without being echoed, and
//!   with `--token` the API needs it while the token never appears in the output.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::common::Serve;

fn wait_status(s: &Serve, id: &str, want: &[&str], limit: Duration) -> Value {
    let t0 = Instant::now();
    loop {
        let (_, v) = s.get(&format!("/api/runs/{id}"));
        if want.iter().any(|w| v["status"] == *w) {
            return v;
        }
        assert!(t0.elapsed() < limit, "run {id} never reached {want:?}: {v}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn integrity_ok(db: &Path) {
    // Opening the store is itself part of the check: it must come up after a kill.
    let store = hashpivot_store::Store::open(db).expect("the store opens after the kill");
    let ok: String = store
        .conn()
        .query_row("PRAGMA integrity_check", [], |r| r.get(0))
        .unwrap();
    assert_eq!(ok, "ok");
}

/// The stored text of each run's result (None while not done), straight from SQLite.
fn raw_results(db: &Path, ids: &[String]) -> Vec<(String, Option<String>, String)> {
    let store = hashpivot_store::Store::open(db).unwrap();
    ids.iter()
        .map(|id| {
            let (res, status): (Option<String>, String) = store
                .conn()
                .query_row("SELECT result, status FROM runs WHERE id = ?1", [id], |r| {
                    Ok((r.get(0)?, r.get(1)?))
                })
                .unwrap();
            (id.clone(), res, status)
        })
        .collect()
}

fn small_run(s: &Serve, sc: &Value, seed: u64) -> String {
    let mut sc = sc.clone();
    sc["run"]["horizon_years"] = json!(3);
    let body =
        json!({"scenario": sc, "strategy": "convert", "share": 0.5, "paths": 200, "seed": seed});
    let (code, v) = s.post("/api/runs", &body.to_string());
    assert_eq!(code, 201, "{v}");
    v["id"].as_str().unwrap().to_string()
}

/// A run long enough to be killed in the middle: the server's largest (200,000 paths over the
/// default horizon takes minutes on two cores).
fn long_run(s: &Serve) -> String {
    let (code, v) = s.post("/api/runs", r#"{"paths": 200000}"#);
    assert_eq!(code, 201, "{v}");
    v["id"].as_str().unwrap().to_string()
}

#[test]
fn sigkill_mid_run_keeps_finished_runs_and_fails_unfinished_ones() {
    let dir = crate::common::tempdir();
    let db = dir.path().join("db.sqlite");
    let s = Serve::start(&db, &[]);
    let sc = s.get("/api/scenario/default").1;
    let done: Vec<String> = (1..=3).map(|seed| small_run(&s, &sc, seed)).collect();
    let mut finished = Vec::new();
    for id in &done {
        let v = wait_status(&s, id, &["done", "failed"], Duration::from_secs(120));
        assert_eq!(v["status"], "done", "{v}");
        finished.push(v);
    }
    let before = raw_results(&db, &done);
    assert!(before.iter().all(|(_, r, st)| r.is_some() && st == "done"));

    let running = long_run(&s);
    let queued: Vec<String> = (10..12).map(|seed| small_run(&s, &sc, seed)).collect();
    let v = wait_status(&s, &running, &["running"], Duration::from_secs(60));
    assert_eq!(v["status"], "running");
    s.sigkill();

    // What the kill left: the run in the middle is still `running` in the file, the others queued.
    let left = raw_results(&db, &[vec![running.clone()], queued.clone()].concat());
    assert_eq!(left[0].2, "running");
    assert!(left[1..]
        .iter()
        .all(|(_, r, st)| st == "queued" && r.is_none()));
    integrity_ok(&db);

    let s = Serve::start(&db, &[]);
    // Finished runs: the same API answer and byte-identical stored results.
    for (id, want) in done.iter().zip(&finished) {
        let (code, v) = s.get(&format!("/api/runs/{id}"));
        assert_eq!(code, 200);
        assert_eq!(&v, want);
    }
    // Unfinished runs are failed, with the reason.
    for id in std::iter::once(&running).chain(&queued) {
        let (_, v) = s.get(&format!("/api/runs/{id}"));
        assert_eq!(v["status"], "failed", "{v}");
        assert!(v["error"].as_str().unwrap().contains("interrupted"), "{v}");
        assert!(v["results"].is_null());
    }
    // The restarted server works.
    let id = small_run(&s, &sc, 99);
    assert_eq!(
        wait_status(&s, &id, &["done", "failed"], Duration::from_secs(120))["status"],
        "done"
    );
    drop(s);
    assert_eq!(raw_results(&db, &done), before);
    integrity_ok(&db);
}

/// Hourly power prices in the long layout: `nodes` nodes × `days` days × 24 hours at `price`.
fn power_csv(path: &Path, nodes: usize, days: i32, price: f64) -> usize {
    let mut out = String::from("date,hour_ending,node,usd_mwh\n");
    let start = hashpivot_data::Date::from_ymd(2020, 1, 1).unwrap();
    let mut n = 0;
    for node in 0..nodes {
        for d in 0..days {
            let date = start.add_days(d);
            for h in 1..=24 {
                out.push_str(&format!("{date},{h},HPK{node:03},{price}\n"));
                n += 1;
            }
        }
    }
    std::fs::write(path, out).unwrap();
    n
}

fn power_rows(db: &Path) -> Vec<(String, i64, f64, f64)> {
    let store = hashpivot_store::Store::open(db).unwrap();
    let mut st = store
        .conn()
        .prepare(
            "SELECT source, COUNT(*), MIN(usd_mwh), MAX(usd_mwh) FROM power
             WHERE node LIKE 'HPK%' GROUP BY source ORDER BY source",
        )
        .unwrap();
    let rows = st
        .query_map([], |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)))
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    rows
}

fn wal_len(db: &Path) -> u64 {
    let mut wal = db.as_os_str().to_owned();
    wal.push("-wal");
    std::fs::metadata(PathBuf::from(wal))
        .map(|m| m.len())
        .unwrap_or(0)
}

#[test]
fn sigkill_during_an_import_leaves_the_series_all_old_or_all_new() {
    let dir = crate::common::tempdir();
    let db = dir.path().join("db.sqlite");
    let import = |file: &Path| {
        let bin = assert_cmd::cargo::cargo_bin("hashpivot");
        Command::new(bin)
            .arg("--db")
            .arg(&db)
            .args(["data", "import", "--kind", "power"])
            .arg(file)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    // The old state: 2 nodes × 10 days at $1/MWh.
    let small = dir.path().join("old.csv");
    let n_old = power_csv(&small, 2, 10, 1.0);
    assert!(import(&small).wait().unwrap().success());
    let old = power_rows(&db);
    assert_eq!(
        old,
        vec![("import:old.csv".to_string(), n_old as i64, 1.0, 1.0)]
    );

    // The server runs a long simulation on the same file meanwhile, and has finished one run.
    let s = Serve::start(&db, &[]);
    let sc = s.get("/api/scenario/default").1;
    let done = small_run(&s, &sc, 5);
    let done_v = wait_status(&s, &done, &["done", "failed"], Duration::from_secs(120));
    assert_eq!(done_v["status"], "done");
    let done_raw = raw_results(&db, std::slice::from_ref(&done));
    let running = long_run(&s);
    wait_status(&s, &running, &["running"], Duration::from_secs(60));

    // The new state: 60 nodes × 2 years at $2/MWh (≈ 1M rows, the old keys among them). Kill the
    // import once its transaction has spilled a few MB into the WAL, i.e. in the middle of writing.
    let big = dir.path().join("new.csv");
    let n_new = power_csv(&big, 60, 730, 2.0);
    let base = wal_len(&db);
    let mut child = import(&big);
    let t0 = Instant::now();
    let killed_mid_write = loop {
        if wal_len(&db) > base + 4 * 1024 * 1024 {
            child.kill().unwrap();
            child.wait().unwrap();
            break true;
        }
        if let Some(st) = child.try_wait().unwrap() {
            assert!(st.success(), "the import failed on its own: {st}");
            break false;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(240),
            "import never wrote"
        );
        std::thread::sleep(Duration::from_millis(2));
    };
    assert!(
        killed_mid_write,
        "the import finished before it could be killed: make the file larger"
    );
    // While the import held the write lock, and after it died, the server kept answering.
    assert_eq!(s.get("/api/scenario/default").0, 200);
    assert_eq!(s.get(&format!("/api/runs/{done}")).1, done_v);
    s.sigkill();

    integrity_ok(&db);
    let after = power_rows(&db);
    assert!(
        after == old || after == vec![("import:new.csv".to_string(), n_new as i64, 2.0, 2.0)],
        "the power series is neither the old nor the new one: {after:?}"
    );
    assert_eq!(after, old, "a killed import cannot have committed");
    // The import can simply be run again, and then it is entirely the new data.
    assert!(import(&big).wait().unwrap().success());
    assert_eq!(
        power_rows(&db),
        vec![("import:new.csv".to_string(), n_new as i64, 2.0, 2.0)]
    );

    let s = Serve::start(&db, &[]);
    assert_eq!(s.get(&format!("/api/runs/{done}")).1, done_v);
    let (_, v) = s.get(&format!("/api/runs/{running}"));
    assert_eq!(v["status"], "failed", "{v}");
    assert!(v["error"].as_str().unwrap().contains("interrupted"));
    drop(s);
    assert_eq!(raw_results(&db, std::slice::from_ref(&done)), done_raw);
    integrity_ok(&db);
}

/// A second server on one database is refused (exit 2, naming the database and the holder's pid)
/// and leaves the first server's runs alone: a server starting up fails every unfinished run of its
/// database, right after a crash but fatal to the live runs of another server. The lock dies with
/// its process, even by SIGKILL, so the next server starts and fails the orphaned run.
#[test]
fn a_second_server_on_one_database_is_refused_and_leaves_its_runs_alone() {
    let dir = crate::common::tempdir();
    let db = dir.path().join("shared.sqlite");
    let a = Serve::start(&db, &[]);
    let running = long_run(&a);
    wait_status(&a, &running, &["running"], Duration::from_secs(60));
    let pid = a.child.id();
    for json in [false, true] {
        let mut cmd = crate::common::hashpivot(dir.path());
        cmd.env_remove("HASHPIVOT_TOKEN").arg("--db").arg(&db);
        if json {
            cmd.arg("--json");
        }
        // Killed after the timeout if it wrongly starts serving (then the status has no code).
        let out = cmd
            .args(["serve", "--addr", "127.0.0.1:0"])
            .timeout(Duration::from_secs(30))
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}",
            crate::common::stderr(&out)
        );
        let msg = if json {
            let v = crate::common::json(&out);
            assert_eq!(v["kind"], "bad_input");
            v["error"].as_str().unwrap().to_string()
        } else {
            crate::common::stderr(&out)
        };
        assert!(
            msg.contains("in use by another hashpivot server")
                && msg.contains(&db.display().to_string())
                && msg.contains(&format!("pid {pid}")),
            "{msg}"
        );
    }
    let (_, v) = a.get(&format!("/api/runs/{running}"));
    assert_eq!(v["status"], "running", "{v}");
    a.sigkill();
    let b = Serve::start(&db, &[]);
    let (_, v) = b.get(&format!("/api/runs/{running}"));
    assert_eq!(v["status"], "failed", "{v}");
    assert!(v["error"].as_str().unwrap().contains("interrupted"));
}

#[test]
fn non_loopback_without_a_token_is_refused_before_binding() {
    let dir = crate::common::tempdir();
    // Validation happens before the store is opened or any socket is bound, so these never
    // listen on 0.0.0.0 (the DB path would be created by a store open: it must not exist after).
    let db = dir.path().join("never.sqlite");
    for addr in ["0.0.0.0:0", "[::]:0", "192.0.2.1:0"] {
        let out = crate::common::hashpivot(dir.path())
            .env_remove("HASHPIVOT_TOKEN")
            .arg("--db")
            .arg(&db)
            .args(["serve", "--addr", addr])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{addr}");
        let err = crate::common::stderr(&out);
        assert!(
            err.contains("--token") && err.contains("--insecure") && err.contains("non-loopback"),
            "{err}"
        );
        let out = crate::common::hashpivot(dir.path())
            .env_remove("HASHPIVOT_TOKEN")
            .arg("--db")
            .arg(&db)
            .args(["--json", "serve", "--addr", addr])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert_eq!(crate::common::json(&out)["kind"], "bad_input");
    }
    assert!(!db.exists(), "the store was opened before the refusal");
    // A bad token is refused without being echoed, from the flag and from the environment.
    let short = "tooShort123";
    let out = crate::common::hashpivot(dir.path())
        .args(["serve", "--addr", "127.0.0.1:0", "--token", short])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = crate::common::stderr(&out);
    assert!(err.contains("at least 16") && !err.contains(short), "{err}");
    let spaced = "has spaces in this long token";
    let out = crate::common::hashpivot(dir.path())
        .env("HASHPIVOT_TOKEN", spaced)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let err = crate::common::stderr(&out);
    assert!(
        err.contains("white space") && !err.contains(spaced),
        "{err}"
    );
    // `--help` never shows the token from the environment.
    let out = crate::common::hashpivot(dir.path())
        .env("HASHPIVOT_TOKEN", "env-token-must-stay-hidden-42")
        .args(["serve", "--help"])
        .output()
        .unwrap();
    assert!(out.status.success());
    let help = crate::common::stdout(&out);
    assert!(help.contains("HASHPIVOT_TOKEN") && !help.contains("env-token-must-stay-hidden-42"));
    for (flag, v) in [("--max-queue", "0"), ("--request-timeout", "0")] {
        let out = crate::common::hashpivot(dir.path())
            .args(["serve", "--addr", "127.0.0.1:0", flag, v])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2));
        assert!(crate::common::stderr(&out).contains(&format!("{flag} {v}")));
    }
}

#[test]
fn with_a_token_the_api_needs_it_and_it_is_never_printed() {
    let dir = crate::common::tempdir();
    let db = dir.path().join("db.sqlite");
    let token = "tok-3f9a1c77e0b24d5c9e11";
    let mut s = Serve::start(&db, &["--token", token]);
    let (code, v) = s.get("/api/runs");
    assert_eq!(code, 401, "{v}");
    assert!(!v.to_string().contains(token));
    let auth = format!("Authorization: Bearer {token}\r\n");
    let (code, v) = s.call("GET", "/api/runs", None, &auth);
    assert_eq!(code, 200, "{v}");
    let (code, _) = s.call(
        "GET",
        "/api/runs",
        None,
        "Authorization: Bearer tok-3f9a1c77e0b24d5c9e12\r\n",
    );
    assert_eq!(code, 401);
    // The page itself is public; it asks for the token when the API answers 401.
    let (code, _) = s.call("GET", "/", None, "");
    assert_eq!(code, 200);
    s.child.kill().unwrap();
    let mut out = String::new();
    s.child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(!out.contains(token), "stderr shows the token: {out}");
    // The same from the environment.
    let bin = assert_cmd::cargo::cargo_bin("hashpivot");
    let mut child = Command::new(bin)
        .arg("--db")
        .arg(&db)
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env("HASHPIVOT_TOKEN", token)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    assert!(
        line.contains("needs the token") && !line.contains(token),
        "{line}"
    );
    let url = line
        .split_whitespace()
        .find(|w| w.starts_with("http://"))
        .unwrap()
        .trim_end_matches('/')
        .to_string();
    assert_eq!(
        crate::common::http_call(&url, "GET", "/api/machines", None, "").0,
        401
    );
    assert_eq!(
        crate::common::http_call(&url, "GET", "/api/machines", None, &auth).0,
        200
    );
    child.kill().unwrap();
    child.wait().unwrap();
}
