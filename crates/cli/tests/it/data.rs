//! `hashpivot data status|import|export`: the store end to end, including failed and killed imports.

use crate::common::{hashpivot, json, stderr, stdout, tempdir};

fn status(dir: &std::path::Path) -> serde_json::Value {
    let o = hashpivot(dir)
        .args(["data", "status", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    json(&o)
}

fn series<'a>(st: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    st["series"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["series"] == name)
        .unwrap()
}

#[test]
fn status_shows_the_shipped_history_on_first_use() {
    let dir = tempdir();
    let st = status(dir.path());
    assert!(st["db"].as_str().unwrap().ends_with("hashpivot.sqlite"));
    let p = series(&st, "price");
    assert_eq!(p["rows"], 6165);
    assert_eq!(p["first"], "2009-10-05");
    assert_eq!(p["last"], "2026-08-21");
    assert_eq!(series(&st, "difficulty")["rows"], 474);
    assert_eq!(series(&st, "fees")["rows"], 5456);
    assert_eq!(series(&st, "heights")["last"], "2026-08-22");
    assert_eq!(series(&st, "power")["rows"], 0);
    // Human form: aligned table with units.
    let o = hashpivot(dir.path())
        .args(["data", "status"])
        .output()
        .unwrap();
    let out = stdout(&o);
    assert!(
        out.contains("price") && out.contains("6,165") && out.contains("USD/BTC, daily close"),
        "{out}"
    );
    assert!(out.contains("shipped ERCOT loads on first use"), "{out}");
}

#[test]
fn db_flag_and_env_choose_the_file() {
    let dir = tempdir();
    let path = dir.path().join("elsewhere/x.sqlite");
    let o = hashpivot(dir.path())
        .env_remove("HASHPIVOT_DB")
        .args(["--db", path.to_str().unwrap(), "data", "status", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(path.exists());
    // XDG_DATA_HOME is the default location when neither is given.
    let o = hashpivot(dir.path())
        .env_remove("HASHPIVOT_DB")
        .env("XDG_DATA_HOME", dir.path().join("xdg"))
        .args(["data", "status", "--json"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(dir.path().join("xdg/hashpivot/hashpivot.sqlite").exists());
    let o = hashpivot(dir.path())
        .args(["--db", dir.path().to_str().unwrap(), "data", "status"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("is a directory"), "{}", stderr(&o));
}

#[test]
fn import_then_export_round_trips() {
    let dir = tempdir();
    let f = dir.path().join("my_prices.csv");
    std::fs::write(
        &f,
        "date,close_usd\n2030-01-01,150000\n2030-01-02,151000.5\n",
    )
    .unwrap();
    let o = hashpivot(dir.path())
        .args([
            "data",
            "import",
            f.to_str().unwrap(),
            "--kind",
            "price",
            "--json",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let r = json(&o);
    assert_eq!(r["rows"], 2);
    assert_eq!(r["source"], "import:my_prices.csv");
    let st = status(dir.path());
    let p = series(&st, "price");
    assert_eq!(p["rows"], 6167);
    assert_eq!(p["last"], "2030-01-02");
    let o = hashpivot(dir.path())
        .args(["data", "export", "price", "--from", "2030-01-01"])
        .output()
        .unwrap();
    assert_eq!(
        stdout(&o),
        "date,close_usd\n2030-01-01,150000\n2030-01-02,151000.5\n"
    );
    // The export of the shipped fees re-imports cleanly.
    let out = dir.path().join("fees.csv");
    let o = hashpivot(dir.path())
        .args([
            "data",
            "export",
            "fees",
            "--from",
            "2026-01-01",
            "--out",
            out.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        text.starts_with("date,fees_btc,blocks,source\n2026-01-01,"),
        "{text}"
    );
    let o = hashpivot(dir.path())
        .args(["data", "import", out.to_str().unwrap(), "--kind", "fees"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("Imported 31 rows into fees"),
        "{}",
        stdout(&o)
    );
    // Difficulty export → import.
    let out = dir.path().join("d.csv");
    hashpivot(dir.path())
        .args([
            "data",
            "export",
            "difficulty",
            "--out",
            out.to_str().unwrap(),
        ])
        .assert()
        .success();
    hashpivot(dir.path())
        .args([
            "data",
            "import",
            out.to_str().unwrap(),
            "--kind",
            "difficulty",
        ])
        .assert()
        .success();
    assert_eq!(series(&status(dir.path()), "difficulty")["rows"], 474);
}

#[test]
fn bad_rows_name_line_column_value_and_nothing_is_imported() {
    let dir = tempdir();
    let before = status(dir.path());
    let mut text = String::from("date,close_usd\n");
    for i in 0..5000 {
        let d = format!("2030-{:02}-{:02}", 1 + (i / 28) % 12, 1 + i % 28);
        let y = 2030 + i / 336;
        text.push_str(&format!("{}{},{}\n", y, &d[4..], 1000 + i));
    }
    text.push_str("2045-01-01,12x34\n");
    let f = dir.path().join("big.csv");
    std::fs::write(&f, &text).unwrap();
    let o = hashpivot(dir.path())
        .args(["data", "import", f.to_str().unwrap(), "--kind", "price"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("line 5002") && e.contains("column `close_usd`") && e.contains("\"12x34\""),
        "{e}"
    );
    assert_eq!(status(dir.path())["series"], before["series"]);

    for (content, kind, want) in [
        (
            "date,close_usd\n2030-02-30,1\n",
            "price",
            "line 2, column `date`: value \"2030-02-30\" is not a date",
        ),
        (
            "date,close_usd\n2030-01-02,1\n2030-01-01,1\n",
            "price",
            "must be after the previous row's date",
        ),
        ("date,close_usd\n2030-01-01,-5\n", "price", "must be > 0"),
        (
            "day,close\n2030-01-01,5\n",
            "price",
            "missing column `date`",
        ),
        (
            "date,fees_btc\n2030-01-01,\n",
            "fees",
            "line 2, column `fees_btc`",
        ),
        (
            "start_height,difficulty\n2017,5\n",
            "difficulty",
            "multiple of 2016",
        ),
        (
            "delivery_date,hour_ending,HB_WEST\n2030-01-01,25,5\n",
            "power",
            "hour ending 1 to 24",
        ),
        (
            "delivery_date,hour_ending,HB_WEST\n2030-01-01,1,abc\n",
            "power",
            "column `HB_WEST`: value \"abc\"",
        ),
        ("", "price", "empty"),
    ] {
        let f = dir.path().join("bad.csv");
        std::fs::write(&f, content).unwrap();
        let o = hashpivot(dir.path())
            .args(["data", "import", f.to_str().unwrap(), "--kind", kind])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{content}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{content}: {}", stderr(&o));
    }
    let o = hashpivot(dir.path())
        .args(["data", "import", "/nonexistent.csv", "--kind", "price"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("cannot read /nonexistent.csv"));
    let o = hashpivot(dir.path())
        .args(["data", "import", "x.csv", "--kind", "gold"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("price") && stderr(&o).contains("difficulty"),
        "{}",
        stderr(&o)
    );
    assert_eq!(status(dir.path())["series"], before["series"]);
}

#[test]
fn a_failure_midway_through_the_write_leaves_the_store_intact() {
    let dir = tempdir();
    let f = dir.path().join("p.csv");
    std::fs::write(
        &f,
        "date,close_usd\n2024-04-20,1\n2024-04-21,2\n2024-04-22,3\n",
    )
    .unwrap();
    let before = hashpivot(dir.path())
        .args([
            "data",
            "export",
            "price",
            "--from",
            "2024-04-19",
            "--to",
            "2024-04-23",
        ])
        .output()
        .unwrap();
    // Fail after 2 of the 3 rows are written inside the transaction.
    let o = hashpivot(dir.path())
        .env("HASHPIVOT_FAULT_AFTER_ROWS", "2")
        .args(["data", "import", f.to_str().unwrap(), "--kind", "price"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("import aborted after 2 rows"),
        "{}",
        stderr(&o)
    );
    let after = hashpivot(dir.path())
        .args([
            "data",
            "export",
            "price",
            "--from",
            "2024-04-19",
            "--to",
            "2024-04-23",
        ])
        .output()
        .unwrap();
    assert_eq!(stdout(&before), stdout(&after));
    assert!(stdout(&after).contains("2024-04-20,64976.532286"));
}

#[test]
fn killing_an_import_midway_leaves_the_store_intact() {
    let dir = tempdir();
    let before = status(dir.path()); // creates the store and closes it (WAL checkpointed away)
    let wal = dir.path().join("hashpivot.sqlite-wal");
    // A big hourly file: 30,000 hours × 15 nodes = 450,000 rows in one transaction.
    let nodes: Vec<String> = (0..15).map(|i| format!("N{i}")).collect();
    let mut text = format!("delivery_date,hour_ending,{}\n", nodes.join(","));
    for h in 0..30_000 {
        let d = hashpivot_data::Date::from_days(21_915 + h / 24); // from 2030-01-01
        let cells: Vec<String> = (0..15).map(|i| format!("{}.{}", 20 + i, h % 100)).collect();
        text.push_str(&format!("{d},{},{}\n", h % 24 + 1, cells.join(",")));
    }
    let f = dir.path().join("power.csv");
    std::fs::write(&f, text).unwrap();
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("hashpivot"))
        .env("HASHPIVOT_DB", dir.path().join("hashpivot.sqlite"))
        .args(["data", "import", f.to_str().unwrap(), "--kind", "power"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until the transaction has spilled pages into the WAL, then kill -9.
    let t0 = std::time::Instant::now();
    let mut killed_midway = false;
    while t0.elapsed() < std::time::Duration::from_secs(120) {
        if std::fs::metadata(&wal)
            .map(|m| m.len() > 2_000_000)
            .unwrap_or(false)
        {
            child.kill().unwrap();
            killed_midway = true;
            break;
        }
        if child.try_wait().unwrap().is_some() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let _ = child.wait();
    assert!(
        killed_midway,
        "the import finished before it could be killed; grow the file"
    );
    let after = status(dir.path());
    assert_eq!(series(&after, "power")["rows"], 0, "{after}");
    for s in ["price", "heights", "difficulty", "fees"] {
        assert_eq!(series(&after, s), series(&before, s), "{s}");
    }
}

#[test]
fn export_errors_and_power() {
    let dir = tempdir();
    let o = hashpivot(dir.path())
        .args(["data", "export", "gold"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("\"gold\" is not a stored series"),
        "{}",
        stderr(&o)
    );
    let o = hashpivot(dir.path())
        .args(["data", "export", "price", "--from", "2025-13-01"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--from: \"2025-13-01\" is not a date; expected YYYY-MM-DD"),
        "{}",
        stderr(&o)
    );
    let o = hashpivot(dir.path())
        .args([
            "data",
            "export",
            "price",
            "--from",
            "2025-02-01",
            "--to",
            "2025-01-01",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    // Power: the shipped ERCOT prices load on first use.
    let o = hashpivot(dir.path())
        .args([
            "data",
            "export",
            "power",
            "--node",
            "HB_NORTH",
            "--from",
            "2021-02-15",
            "--to",
            "2021-02-15",
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let out = stdout(&o);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "delivery_date,hour_ending,repeated_hour_flag,HB_NORTH"
    );
    assert_eq!(lines.len(), 25);
    // Winter Storm Uri: HB_NORTH between $3,000 and $7,500 in the early hours (PROVENANCE.md).
    let p: f64 = lines[1].rsplit(',').next().unwrap().parse().unwrap();
    assert!((3000.0..=7500.0).contains(&p), "{p}");
    let o = hashpivot(dir.path())
        .args(["data", "export", "power", "--node", "HB_EAST"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("HB_WEST"), "{}", stderr(&o));
    let st = status(dir.path());
    assert_eq!(series(&st, "power")["rows"], 15 * (8760 * 3 + 8784 + 3287));
    assert_eq!(st["shipped_power_imported"], true);
}
