//! Issue 17, input half: items 7 (every number printed is finite, or exit 2 naming the inputs),
//! 9 (errors quote at most ~80 characters of a value; a cause is printed once), 12 (imports are
//! checked for consistency and physical ranges, naming row and field), and the scenario's
//! wrong-type message (every wrong value at once, by full key path; shared with the HTTP API).

use crate::common::{hashpivot, stderr, stdout, tempdir};

/// The hours of a price file, all at `price` $/MWh.
fn price_file(price: &str) -> String {
    let mut s = String::from("timestamp,price_usd_mwh\n");
    for h in 0..48 {
        s.push_str(&format!(
            "2024-07-{:02}T{:02}:00,{price}\n",
            1 + h / 24,
            h % 24
        ));
    }
    s
}

/// Item 7: `dispatch` with prices of 1e308 printed `$inf` and JSON nulls with exit 0.
#[test]
fn dispatch_with_a_1e308_price_is_refused_naming_the_cell() {
    let dir = tempdir();
    let f = dir.path().join("p.csv");
    std::fs::write(&f, price_file("1e308")).unwrap();
    for json in [false, true] {
        let mut c = hashpivot(dir.path());
        c.args(["dispatch", "--prices", f.to_str().unwrap()]);
        if json {
            c.arg("--json");
        }
        let o = c.output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
        let e = stderr(&o);
        assert!(
            e.contains("line 2, column `price_usd_mwh`: value \"1e308\" must be from -100000 to 100000 $/MWh"),
            "{e}"
        );
        assert!(!stdout(&o).contains("inf") && !stdout(&o).contains("null"));
    }
    // The largest accepted price gives finite figures.
    std::fs::write(&f, price_file("100000")).unwrap();
    let o = hashpivot(dir.path())
        .args(["dispatch", "--prices", f.to_str().unwrap(), "--json"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(!text.contains("null"), "{text}");
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    // No machine covers $100000/MWh: the whole fleet is off, nothing is mined.
    assert_eq!(v["site"]["btc_mined"], 0.0);
    assert_eq!(v["prices"]["max_usd_mwh"], 100000.0);
}

/// Item 7: inputs each in range whose product is not a 64-bit float (a BTC price of 1e-300 with a
/// hashprice of $1e6) are refused naming the inputs, not printed as `null`.
#[test]
fn dispatch_results_beyond_f64_are_refused_naming_the_inputs() {
    let dir = tempdir();
    let f = dir.path().join("p.csv");
    std::fs::write(&f, price_file("30")).unwrap();
    let o = hashpivot(dir.path())
        .args([
            "dispatch",
            "--prices",
            f.to_str().unwrap(),
            "--hashprice",
            "1000000",
            "--btc-usd",
            "1e-300",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stdout(&o));
    let e = stderr(&o);
    assert!(
        e.contains("--hashprice 1000000, --btc-usd 0.000")
            && e.contains("infinite or undefined (beyond the range of a 64-bit float)"),
        "{e}"
    );
    let v: serde_json::Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(v["kind"], "bad_input");
}

fn import(dir: &std::path::Path, kind: &str, content: &str) -> std::process::Output {
    let f = dir.join(format!("{kind}.csv"));
    std::fs::write(&f, content).unwrap();
    hashpivot(dir)
        .args(["data", "import", f.to_str().unwrap(), "--kind", kind])
        .output()
        .unwrap()
}

/// Item 12: inconsistent or impossible rows are refused, naming the line and the column, and
/// nothing of the file is imported.
#[test]
fn inconsistent_imports_are_refused_naming_row_and_field() {
    let dir = tempdir();
    for (kind, content, want) in [
        (
            "difficulty",
            "start_height,bits_hex,difficulty\n0,1d00ffff,1\n2016,1d00ffff,5\n",
            "line 3, column `difficulty`: value \"5\" does not match bits_hex 1d00ffff, which encodes difficulty 1",
        ),
        (
            "power",
            "delivery_date,hour_ending,HB_WEST\n2030-01-01,1,25\n2030-01-01,2,1e9\n",
            "line 3, column `HB_WEST`: value \"1e9\" must be from -100000 to 100000 $/MWh",
        ),
        (
            "price",
            "date,close_usd\n2030-01-01,1e15\n",
            "line 2, column `close_usd`: value \"1e15\" must be at most 1e12 USD per BTC",
        ),
        (
            "heights",
            "date,height_at_la_midnight\n2010-01-01,5000000\n",
            "line 2, column `height_at_la_midnight`: value \"5000000\" is not reachable by 2010-01-01",
        ),
        (
            "fees",
            "date,fees_btc\n2030-01-01,31000000000\n",
            "line 2, column `fees_btc`: value \"31000000000\" must be at most 10000 BTC a day",
        ),
    ] {
        let o = import(dir.path(), kind, content);
        assert_eq!(o.status.code(), Some(2), "{kind}: {}", stderr(&o));
        assert!(stderr(&o).contains(want), "{kind}: {}", stderr(&o));
    }
    // Consistent rows of the same shapes are accepted.
    let o = import(
        dir.path(),
        "difficulty",
        "start_height,bits_hex,difficulty\n0,1d00ffff,1\n2016,1b0404cb,16307.420938523983\n",
    );
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// Item 9: a 2 MB CSV field comes back as at most ~80 characters of it.
#[test]
fn a_huge_field_is_quoted_clipped() {
    let dir = tempdir();
    let big = "9".repeat(2_000_000);
    let o = import(
        dir.path(),
        "price",
        &format!("date,close_usd\n2030-01-01,1\n2030-01-02,x{big}\n"),
    );
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.len() < 400, "{} bytes of stderr", e.len());
    assert!(
        e.contains(&format!(
            "line 3, column `close_usd`: value \"x{}… (1999921 more characters)\"",
            "9".repeat(79)
        )),
        "{e}"
    );
    // And a scenario value of 1 MB.
    let sc = dir.path().join("s.toml");
    std::fs::write(
        &sc,
        format!("[strategy]\nkind = \"{}\"\n", "z".repeat(1_000_000)),
    )
    .unwrap();
    let o = hashpivot(dir.path())
        .args(["simulate", sc.to_str().unwrap(), "--paths", "10"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.len() < 600, "{} bytes of stderr: {}", e.len(), &e[..600]);
    assert!(e.contains("more characters"), "{e}");
}

/// Issue 14's last item and issue 17 item 9: every value of the wrong type, by full key path, with
/// the value and the expected type, all at once (the API gives the same list under `scenario.`).
#[test]
fn wrong_types_in_a_scenario_are_all_named_by_full_path() {
    let dir = tempdir();
    let sc = dir.path().join("s.toml");
    std::fs::write(
        &sc,
        "[price]\nspot = \"high\"\n\n[run]\npaths = 1.5\n\n\
         [[mining.fleet]]\nmodel = \"a\"\nunits = 10.0\nhashrate_ths = 100.0\npower_w = 3000.0\n\n\
         [[mining.fleet]]\nmodel = \"b\"\nunits = 10.0\nhashrate_ths = 100.0\npower_w = 3000.0\n\n\
         [[mining.fleet]]\nmodel = \"c\"\nunits = \"many\"\nhashrate_ths = 100.0\npower_w = 3000.0\n",
    )
    .unwrap();
    let o = hashpivot(dir.path())
        .args(["simulate", sc.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    for line in [
        "invalid scenario (3 problems)",
        "mining.fleet[2].units = \"many\": allowed a number (got text)",
        "price.spot = \"high\": allowed a number (got text)",
        "run.paths = 1.5: allowed a whole number >= 0 (got a fractional number)",
    ] {
        assert!(e.contains(line), "missing {line:?} in {e}");
    }
}

/// Item 13: heights above 2^53 keep every digit in tables; an empty machine name suggests nothing.
#[test]
fn big_heights_print_exactly_and_an_empty_model_is_not_guessed() {
    let dir = tempdir();
    let o = hashpivot(dir.path())
        .args(["chain", "subsidy", "9007199254740993"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stdout(&o).contains("9,007,199,254,740,993"),
        "{}",
        stdout(&o)
    );
    let o = hashpivot(dir.path())
        .args(["machine", "", "--power-usd-mwh", "40", "--hashprice", "50"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    let e = stderr(&o);
    assert!(
        e.contains("unknown machine model \"\"; run `hashpivot machines` for the list")
            && !e.contains("did you mean"),
        "{e}"
    );
}
