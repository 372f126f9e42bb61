//! Issue 14: after `data sync` everything is current. A fake mempool.space API and a fake Bitcoin
//! Core node answer from one synthetic world (the shipped data continued to 2026-11-22); the
//! synced store must hold that world's heights, fees, closes and epochs, `history hashprice` must
//! cover the synced days, and the default scenario (`scenario show`, `simulate`) must start from
//! the synced state. A second sync writes nothing; a sync killed with SIGKILL leaves a consistent
//! store and the next one ends with the same rows as an uninterrupted sync.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::common::{hashpivot, json, stderr, stdout, tempdir};
use hashpivot_data::Date;
use hashpivot_sources::daily::la_midnight;
use hashpivot_sources::testing::{fake_core, fake_mempool, Fault, TestServer, World};

/// Tip of the fake world: block 976,890 at 2026-11-22 22:30 UTC (600 s a block after the shipped
/// heights end at 963,549 on 2026-08-22 07:00 UTC).
const TIP: u64 = 976_890;

fn day(s: &str) -> Date {
    s.parse().unwrap()
}

fn run_ok(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    let o = hashpivot(dir).args(args).output().unwrap();
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    o
}

fn sync_json(dir: &std::path::Path, flag: &str, url: &str, extra: &[&str]) -> serde_json::Value {
    let mut args = vec!["data", "sync", flag, url, "--json"];
    args.extend_from_slice(extra);
    json(&run_ok(dir, &args))
}

fn rows_written(v: &serde_json::Value, series: &str) -> u64 {
    v["written"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["series"] == series)
        .map_or(0, |w| w["rows"].as_u64().unwrap())
}

/// `history hashprice --json` of one day.
fn history_day(dir: &std::path::Path, d: &str) -> serde_json::Value {
    let o = run_ok(
        dir,
        &["--json", "history", "hashprice", "--from", d, "--to", d],
    );
    json(&o)[0].clone()
}

/// Every stored row of the four chain/market series, as `data export` writes them.
fn exports(dir: &std::path::Path) -> Vec<String> {
    ["price", "heights", "difficulty", "fees"]
        .iter()
        .map(|s| stdout(&run_ok(dir, &["data", "export", s])))
        .collect()
}

#[test]
fn mempool_sync_makes_history_and_the_default_scenario_current() {
    let world = World::new(TIP);
    let server = TestServer::start(fake_mempool(TIP, Fault::None)).unwrap();
    let dir = tempdir();
    let v = sync_json(dir.path(), "--mempool", &server.url(), &[]);
    assert_eq!(v["tip_height"], TIP);
    // 2026-08-23 ..= 2026-11-22: 92 start heights; closes to 2026-11-21 (the 22nd is not over;
    // the shipped closes end 2026-08-20, the upstream's one-day shift, data/PROVENANCE.md);
    // fees from 2026-02-01 (the shipped fees end in January) to 2026-11-21; epochs 474..=484.
    assert_eq!(rows_written(&v, "heights"), 92);
    let last_shipped_close = hashpivot_data::shipped::prices().last().unwrap().date;
    assert_eq!(
        rows_written(&v, "price"),
        day("2026-11-21").days_since(last_shipped_close) as u64
    );
    assert_eq!(rows_written(&v, "difficulty"), 11);
    assert_eq!(rows_written(&v, "fees"), 294);

    // The stored heights are the world's (mempool's answer at each LA midnight).
    let heights = stdout(&run_ok(
        dir.path(),
        &["data", "export", "heights", "--from", "2026-11-20"],
    ));
    for d in ["2026-11-20", "2026-11-21", "2026-11-22"] {
        let h = world.height_at(la_midnight(day(d))).unwrap();
        assert!(heights.contains(&format!("{d},{h}")), "{d}: {heights}");
    }

    // history hashprice for a synced day: the world's close, difficulty and fees per block.
    let d = day("2026-11-20");
    let h = &history_day(dir.path(), "2026-11-20");
    assert_eq!(h["date"], "2026-11-20");
    assert_eq!(h["price_usd"].as_f64().unwrap(), world.close(d).unwrap());
    let height = world.height_at(la_midnight(d)).unwrap();
    assert_eq!(
        h["difficulty"].as_f64().unwrap(),
        world.difficulty_at(height + 72)
    );
    assert_eq!(h["difficulty_stale"], false);
    let fee = world.fee_sat(height + 20) as f64 / 1e8;
    let got = h["fees_btc_per_block"].as_f64().unwrap();
    assert!(
        (got / fee - 1.0).abs() < 0.02,
        "fees per block {got} vs {fee}"
    );

    // The default scenario starts from the synced state and says so.
    let st = json(&run_ok(dir.path(), &["data", "status", "--json"]));
    let ms = &st["market_state"];
    assert_eq!(ms["date"], "2026-11-22");
    assert_eq!(
        ms["height"],
        world.height_at(la_midnight(day("2026-11-22"))).unwrap()
    );
    assert_eq!(
        ms["spot_usd"].as_f64().unwrap(),
        world.close(day("2026-11-21")).unwrap()
    );
    assert_eq!(ms["difficulty_current"], true);
    // Difficulty and fees of the synced state, from the world itself: the difficulty in force
    // at the day's start height, and total fees over blocks of the UTC days of the fee window.
    let ms_height = ms["height"].as_u64().unwrap();
    assert_eq!(
        ms["difficulty"].as_f64().unwrap(),
        world.difficulty_at(ms_height)
    );
    let (wa, wz): (Date, Date) = (
        ms["fees_window"][0].as_str().unwrap().parse().unwrap(),
        ms["fees_window"][1].as_str().unwrap().parse().unwrap(),
    );
    assert_eq!(wz, day("2026-11-21"));
    let (mut sat, mut blocks) = (0u64, 0u64);
    let mut d = wa;
    while d <= wz {
        let a = world.height_at(d.unix_midnight() - 1).unwrap();
        let z = world.height_at(d.add_days(1).unix_midnight() - 1).unwrap();
        sat += (a + 1..=z).map(|h| world.fee_sat(h)).sum::<u64>();
        blocks += z - a;
        d = d.add_days(1);
    }
    let want = sat as f64 / 1e8 / blocks as f64;
    let got = ms["fees_btc_per_block"].as_f64().unwrap();
    assert!(
        (got / want - 1.0).abs() < 0.01,
        "fees per block {got} vs {want}"
    );
    assert_eq!(st["syncs"][0]["status"], "complete");
    let sc = json(&run_ok(dir.path(), &["scenario", "show", "--json"]));
    assert_eq!(sc["chain"]["height"], ms["height"]);
    assert_eq!(sc["chain"]["difficulty"], ms["difficulty"]);
    assert_eq!(sc["price"]["spot"], ms["spot_usd"]);
    assert_eq!(sc["fees"]["btc_per_block"], ms["fees_btc_per_block"]);
    let toml = stdout(&run_ok(dir.path(), &["scenario", "show"]));
    assert!(
        toml.contains(&format!(
            "# Market state 2026-11-22, synced from {}",
            server.url()
        )),
        "{toml}"
    );
    let human = stdout(&run_ok(
        dir.path(),
        &["simulate", "--paths", "200", "--strategy", "mine"],
    ));
    assert!(
        human.contains("market state 2026-11-22, synced from"),
        "{human}"
    );

    // simulate --json with no scenario equals simulate of the shown (synced) scenario, and
    // differs from a store that was never synced.
    let file = dir.path().join("synced.toml");
    std::fs::write(&file, &toml).unwrap();
    let args = ["--json", "simulate", "--paths", "200", "--strategy", "mine"];
    let default = stdout(&run_ok(dir.path(), &args));
    let mut with_file = args.to_vec();
    with_file.push(file.to_str().unwrap());
    assert_eq!(default, stdout(&run_ok(dir.path(), &with_file)));
    let fresh = tempdir();
    assert_ne!(default, stdout(&run_ok(fresh.path(), &args)));

    // A second sync writes nothing new.
    let before = exports(dir.path());
    let v = sync_json(dir.path(), "--mempool", &server.url(), &[]);
    assert!(v["written"].as_array().unwrap().is_empty(), "{v}");
    assert_eq!(exports(dir.path()), before);
    let o = run_ok(dir.path(), &["data", "status"]);
    let text = stdout(&o);
    assert!(
        text.contains("Coverage by source:") && text.contains("mempool"),
        "{text}"
    );
    assert!(text.contains("2026-11-22"), "{text}");
}

#[test]
fn core_sync_brings_heights_and_fees_equal_to_the_mempool_ones() {
    // A store current to mid-November (from the mempool), then a week from a Bitcoin Core node.
    let early = 975_800;
    let m_early = TestServer::start(fake_mempool(early, Fault::None)).unwrap();
    let core = TestServer::start(fake_core(TIP, Fault::None)).unwrap();
    let dir = tempdir();
    sync_json(dir.path(), "--mempool", &m_early.url(), &[]);
    // The fake node holds real (proof-of-work) retarget headers only up to 2025; the epochs of
    // this world are in the store from the mempool, so the retarget walk starts past the tip.
    let v = sync_json(dir.path(), "--rpc", &core.url(), &["--from-epoch", "485"]);
    assert_eq!(v["tip_height"], TIP);
    assert!(rows_written(&v, "heights") >= 7, "{v}");
    assert!(rows_written(&v, "fees") >= 7, "{v}");
    assert!(v["notes"].to_string().contains("no prices"), "{v}");

    // Reference: the same world synced from the mempool alone.
    let m = TestServer::start(fake_mempool(TIP, Fault::None)).unwrap();
    let refdir = tempdir();
    sync_json(refdir.path(), "--mempool", &m.url(), &[]);
    // Start heights: the node's binary search over header times finds mempool's answer exactly.
    let core_h = stdout(&run_ok(
        dir.path(),
        &["data", "export", "heights", "--from", "2026-11-10"],
    ));
    let mem_h = stdout(&run_ok(
        refdir.path(),
        &["data", "export", "heights", "--from", "2026-11-10"],
    ));
    assert_eq!(core_h, mem_h);
    // history hashprice for a day whose fees came from the node (the newest day with a close):
    // the world's fee per block.
    let world = World::new(TIP);
    let h = &history_day(dir.path(), "2026-11-14");
    assert_eq!(h["date"], "2026-11-14");
    let first = world
        .height_at(day("2026-11-14").unix_midnight() - 1)
        .unwrap()
        + 1;
    let fee = world.fee_sat(first + 10) as f64 / 1e8;
    let got = h["fees_btc_per_block"].as_f64().unwrap();
    assert!((got / fee - 1.0).abs() < 0.02, "{got} vs {fee}");
    let fees = stdout(&run_ok(
        dir.path(),
        &[
            "data",
            "export",
            "fees",
            "--from",
            "2026-11-18",
            "--to",
            "2026-11-18",
        ],
    ));
    let d = day("2026-11-18");
    let (a, z) = (
        world.height_at(d.unix_midnight() - 1).unwrap(),
        world.height_at(d.add_days(1).unix_midnight() - 1).unwrap(),
    );
    let sat: u64 = (a + 1..=z).map(|h| world.fee_sat(h)).sum();
    let want = format!("2026-11-18,{},{}", sat as f64 / 1e8, z - a);
    assert!(fees.contains(&want), "{fees} vs {want}");

    // The market state needs a close: the node has none, so it is the day after the newest one.
    let st = json(&run_ok(dir.path(), &["data", "status", "--json"]));
    let ms = &st["market_state"];
    let last_close: Date = st["series"][0]["last"].as_str().unwrap().parse().unwrap();
    assert_eq!(ms["date"], last_close.add_days(1).to_string());
    let sc = json(&run_ok(dir.path(), &["scenario", "show", "--json"]));
    assert_eq!(sc["chain"]["height"], ms["height"]);
    assert_eq!(sc["price"]["spot"], ms["spot_usd"]);
    let toml = stdout(&run_ok(dir.path(), &["scenario", "show"]));
    assert!(
        toml.contains(&format!("synced from {}", core.url())),
        "{toml}"
    );
    let file = dir.path().join("synced.toml");
    std::fs::write(&file, &toml).unwrap();
    let args = ["--json", "simulate", "--paths", "100", "--strategy", "mine"];
    let mut with_file = args.to_vec();
    with_file.push(file.to_str().unwrap());
    assert_eq!(
        stdout(&run_ok(dir.path(), &args)),
        stdout(&run_ok(dir.path(), &with_file))
    );

    // Again: nothing new.
    let v = sync_json(dir.path(), "--rpc", &core.url(), &["--from-epoch", "485"]);
    assert!(v["written"].as_array().unwrap().is_empty(), "{v}");
}

#[test]
fn a_sync_killed_mid_way_keeps_a_consistent_store_and_the_next_one_completes() {
    let reference = tempdir();
    let server = TestServer::start(fake_mempool(TIP, Fault::None)).unwrap();
    sync_json(reference.path(), "--mempool", &server.url(), &[]);

    // A source that hangs on the fee request, the last series of a mempool sync.
    let asked = Arc::new(AtomicBool::new(false));
    let flag = asked.clone();
    let slow = fake_mempool(TIP, Fault::Slow("/blocks/fees/".into(), 60_000));
    let hanging = TestServer::start(move |req: &hashpivot_sources::testing::Request| {
        if req.path.contains("/blocks/fees/") {
            flag.store(true, Ordering::SeqCst);
        }
        slow(req)
    })
    .unwrap();
    let dir = tempdir();
    let db = dir.path().join("hashpivot.sqlite");
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("hashpivot"))
        .env("HASHPIVOT_DB", &db)
        .args([
            "data",
            "sync",
            "--mempool",
            &hanging.url(),
            "--timeout",
            "120",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait (no deadline) until the sync is blocked in its last request, then SIGKILL it.
    while !asked.load(Ordering::SeqCst) {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the sync ended before it was killed: {status}");
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();

    {
        let store = hashpivot_store::Store::open(&db).unwrap();
        let check: String = store
            .conn()
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .unwrap();
        assert_eq!(check, "ok");
        // What was committed before the kill is kept; the record shows the sync unfinished.
        assert_eq!(store.syncs().unwrap()[0].status, "running");
        assert_eq!(
            store.heights(None, None).unwrap().last().unwrap().date,
            day("2026-11-22")
        );
        assert_eq!(
            store.fees(None, None).unwrap().last().unwrap().date,
            day("2026-01-31")
        );
    }
    let st = stdout(&run_ok(dir.path(), &["data", "status"]));
    assert!(st.contains("interrupted"), "{st}");

    let v = sync_json(dir.path(), "--mempool", &server.url(), &[]);
    assert_eq!(rows_written(&v, "heights"), 0);
    assert_eq!(rows_written(&v, "fees"), 294);
    assert_eq!(exports(dir.path()), exports(reference.path()));
}

/// A failure in one of the daily requests (start heights, fees, the text/plain tip) exits 1 with
/// an error naming the source, the request and the problem; the series committed before it are
/// kept, the failing one is untouched, the sync is recorded as failed, and a good sync then ends
/// with exactly the rows of an uninterrupted one.
#[test]
fn failures_of_the_daily_requests_are_clear_and_keep_the_committed_series() {
    let reference = tempdir();
    let good = TestServer::start(fake_mempool(TIP, Fault::None)).unwrap();
    sync_json(reference.path(), "--mempool", &good.url(), &[]);
    let shipped_heights = hashpivot_data::shipped::heights().last().unwrap().date;

    // (fault, words of the error, newest stored start height, newest stored fee day)
    let cases = [
        (
            Fault::MalformedJson("/blocks/fees/".into()),
            vec!["malformed response to", "blocks/fees/"],
            day("2026-11-22"),
            day("2026-01-31"),
        ),
        (
            Fault::MalformedJson("/blocks/timestamp/".into()),
            vec!["malformed response to", "blocks/timestamp/"],
            shipped_heights,
            day("2026-01-31"),
        ),
        (
            Fault::MalformedJson("/blocks/tip/height".into()),
            vec!["malformed response to", "tip/height"],
            shipped_heights,
            day("2026-01-31"),
        ),
    ];
    for (fault, words, heights_to, fees_to) in cases {
        let dir = tempdir();
        let bad = TestServer::start(fake_mempool(TIP, fault.clone())).unwrap();
        let o = hashpivot(dir.path())
            .args(["data", "sync", "--mempool", &bad.url()])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{fault:?}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(err.contains(&bad.url()), "{fault:?}: {err}");
        for w in &words {
            assert!(err.contains(w), "{fault:?}: {w:?} missing in {err}");
        }
        assert!(!err.contains("panicked"), "{err}");
        let st = json(&run_ok(dir.path(), &["data", "status", "--json"]));
        assert_eq!(st["syncs"][0]["status"], "failed", "{fault:?}: {st}");
        let last = |series: &str| -> String {
            let csv = stdout(&run_ok(dir.path(), &["data", "export", series]));
            csv.lines()
                .last()
                .unwrap()
                .split(',')
                .next()
                .unwrap()
                .to_string()
        };
        assert_eq!(last("heights"), heights_to.to_string(), "{fault:?}");
        assert_eq!(last("fees"), fees_to.to_string(), "{fault:?}");
        // The next (good) sync completes what is missing.
        sync_json(dir.path(), "--mempool", &good.url(), &[]);
        assert_eq!(exports(dir.path()), exports(reference.path()), "{fault:?}");
    }

    // A Bitcoin Core node whose getblockstats answers an RPC error object: the start heights
    // (binary search on header times) are committed, the fees are not.
    let dir = tempdir();
    let early = TestServer::start(fake_mempool(975_800, Fault::None)).unwrap();
    sync_json(dir.path(), "--mempool", &early.url(), &[]);
    let fees_before = stdout(&run_ok(dir.path(), &["data", "export", "fees"]));
    let core_fails = |fault: Fault, want: &str| {
        let core = TestServer::start(fake_core(TIP, fault)).unwrap();
        let o = hashpivot(dir.path())
            .args(["data", "sync", "--rpc", &core.url(), "--from-epoch", "485"])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        assert!(stderr(&o).contains(want), "{}", stderr(&o));
    };
    core_fails(
        Fault::RpcError("getblockstats".into()),
        "RPC getblockstats failed: error -28: Loading block index",
    );
    assert_eq!(
        stdout(&run_ok(dir.path(), &["data", "export", "fees"])),
        fees_before
    );
    let heights = stdout(&run_ok(
        dir.path(),
        &["data", "export", "heights", "--from", "2026-11-22"],
    ));
    let world = World::new(TIP);
    let h = world.height_at(la_midnight(day("2026-11-22"))).unwrap();
    assert!(heights.contains(&format!("2026-11-22,{h}")), "{heights}");
    // Malformed JSON from the node names the method.
    core_fails(
        Fault::MalformedJson("getblockstats".into()),
        "malformed response to getblockstats",
    );
    let good_core = TestServer::start(fake_core(TIP, Fault::None)).unwrap();
    let v = sync_json(
        dir.path(),
        "--rpc",
        &good_core.url(),
        &["--from-epoch", "485"],
    );
    assert!(rows_written(&v, "fees") >= 7, "{v}");
    assert_eq!(rows_written(&v, "heights"), 0, "{v}");
}
