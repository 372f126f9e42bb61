//! The GPU cloud (`[cloud]`, `ai.mode = "cloud"`, MODEL.md §9) and the BTC view (`run.currency`,
//! `--currency`, §11) on the command line: every bad value exits 2 naming the key, the value and
//! the range (the rows of docs/VALIDATION.md), and the BTC view says so in the JSON and the table.

use crate::common::{hashpivot, json, repo_root, stderr, stdout, tempdir};
use crate::hardening_validation::rejects;

/// `(key, file, message)`: one bad value per key of `[cloud]`, as docs/VALIDATION.md shows it.
const ROWS: &[(&str, &str, &str)] = &[
    (
        "cloud.gpu_capex_usd_per_mw_it",
        "[cloud]\ngpu_capex_usd_per_mw_it = -1\n",
        "cloud.gpu_capex_usd_per_mw_it = -1: allowed 0 <= x <= 1e9 $/MW(IT)",
    ),
    (
        "cloud.revenue_usd_per_mw_it_year",
        "[cloud]\nrevenue_usd_per_mw_it_year = 2e9\n",
        "cloud.revenue_usd_per_mw_it_year = 2000000000: allowed 0 <= x <= 1e9 $/MW(IT)-year",
    ),
    (
        "cloud.utilization",
        "[cloud]\nutilization = 1.5\n",
        "cloud.utilization = 1.5: allowed 0 <= x <= 1",
    ),
    (
        "cloud.opex_share",
        "[cloud]\nopex_share = -0.1\n",
        "cloud.opex_share = -0.1: allowed 0 <= x <= 1",
    ),
    (
        "cloud.gpu_life_years",
        "[cloud]\ngpu_life_years = 0\n",
        "cloud.gpu_life_years = 0: allowed 1/365 <= x <= 100 years",
    ),
    (
        "cloud.contract_years",
        "[cloud]\ncontract_years = 6\n",
        "cloud.contract_years = 6: allowed 0 <= x <= cloud.gpu_life_years (5 years): the contract covers the first set of GPUs",
    ),
    (
        "cloud.refresh",
        "[cloud]\nrefresh = 1\n",
        "cloud.refresh = 1: allowed true or false (got a number)",
    ),
    (
        "cloud.price_drift",
        "[cloud]\nprice_drift = -3\n",
        "cloud.price_drift = -3: allowed -2 <= x <= 2 per year",
    ),
    (
        "cloud.price_vol",
        "[cloud]\nprice_vol = -0.3\n",
        "cloud.price_vol = -0.3: allowed 0 <= x <= 5 per sqrt(year)",
    ),
    (
        "cloud.discount_rate",
        "[cloud]\ndiscount_rate = -1\n",
        "cloud.discount_rate = -1: allowed -0.5 <= x <= 10 per year",
    ),
];

/// Every `[cloud]` key: exit 2 with the message naming key, value and range, on stderr, in the
/// JSON error and in docs/VALIDATION.md.
#[test]
fn bad_cloud_values_exit_2_naming_key_value_and_range() {
    for (key, toml, line) in ROWS {
        rejects(key, toml, line);
    }
}

/// `run.currency` takes usd or btc; anything else names the line, the table and the choices.
#[test]
fn bad_currency_exits_2() {
    rejects(
        "run.currency",
        "[run]\ncurrency = \"eur\"\n",
        "scenario: line 2, column 12 (in [run]): unknown variant `eur`, expected `usd` or `btc`",
    );
    let dir = tempdir();
    let o = hashpivot(dir.path())
        .args(["simulate", "--paths", "1", "--currency", "eur"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("--currency: \"eur\" is not a currency; use usd or btc"),
        "{}",
        stderr(&o)
    );
}

/// Every key of `[cloud]` and `run.currency` has its row in docs/VALIDATION.md (the optional
/// table is not in `scenario show --json`, so `every_scenario_key_has_a_row` cannot see it).
#[test]
fn cloud_keys_have_validation_rows() {
    let doc = std::fs::read_to_string(repo_root().join("docs/VALIDATION.md")).unwrap();
    for (key, _, _) in ROWS {
        assert!(doc.contains(&format!("| `{key}` |")), "{key}");
    }
    assert!(doc.contains("| `run.currency` |"));
    assert_eq!(ROWS.len(), 10, "one row per key of MODEL.md §9's [cloud]");
}

/// `--currency btc` overrides the file: the JSON says `"currency": "btc"` (absent in USD) and the
/// table's money columns are in BTC.
#[test]
fn btc_view_is_labelled() {
    let dir = tempdir();
    let run = |extra: &[&str], json_mode: bool| {
        let mut c = hashpivot(dir.path());
        if json_mode {
            c.arg("--json");
        }
        c.args(["simulate", "--paths", "64", "--strategy", "mine"])
            .args(extra)
            .output()
            .unwrap()
    };
    let o = run(&["--currency", "btc"], true);
    assert!(o.status.success(), "{}", stderr(&o));
    let v = json(&o);
    assert_eq!(v["currency"], "btc");
    let usd = json(&run(&[], true));
    assert!(usd.get("currency").is_none(), "{usd}");
    // The mean in BTC is of the order of the USD mean over the price: a few BTC per $100k.
    let (b, u) = (
        v["results"][0]["npv"]["mean"].as_f64().unwrap(),
        usd["results"][0]["npv"]["mean"].as_f64().unwrap(),
    );
    assert!(b != u && b.signum() == u.signum(), "{b} {u}");
    let o = run(&["--currency", "btc"], false);
    let text = stdout(&o);
    assert!(
        text.contains("NPV mean BTC") && !text.contains("$M"),
        "{text}"
    );
    // The default's equity view is in BTC too (issue 12: the default is levered).
    assert!(text.contains("equity NPV BTC"), "{text}");
}

/// Runs `hashpivot --json simulate FILE args...` and returns the document.
fn simulate_json(
    dir: &std::path::Path,
    file: &std::path::Path,
    args: &[&str],
) -> serde_json::Value {
    let o = hashpivot(dir)
        .args(["--json", "simulate"])
        .arg(file)
        .args(args)
        .output()
        .unwrap();
    assert!(o.status.success(), "{args:?}: {}", stderr(&o));
    json(&o)
}

/// A result without its histogram (whose bins are shared by the strategies of one run, so they
/// differ between runs with different strategies even when the paths are the same).
fn without_histogram(r: &serde_json::Value) -> serde_json::Value {
    let mut r = r.clone();
    r.as_object_mut().unwrap().remove("npv_histogram");
    // Histogram bins are shared by the strategies of one run, so they differ between runs; the
    // equity view (with `[finance]`) has its own.
    if let Some(e) = r.get_mut("equity").and_then(|e| e.as_object_mut()) {
        e.remove("equity_npv_histogram");
        for k in ["dscr_min", "project_irr", "equity_irr"] {
            if let Some(x) = e.get_mut(k).and_then(|x| x.as_object_mut()) {
                x.remove("histogram");
            }
        }
    }
    r
}

/// The GPU index has a stream of its own: with the cloud on, every market path is the same, so
/// `mine` and the market bands are identical to the lease run's, and the cloud's own result is
/// the same on 1 and 2 threads (also in the BTC view).
#[test]
fn cloud_leaves_market_paths_alone_and_threads_do_not_matter() {
    let dir = tempdir();
    let lease = dir.path().join("lease.toml");
    let cloud = dir.path().join("cloud.toml");
    std::fs::write(&lease, "[ai]\nmode = \"lease\"\n").unwrap();
    std::fs::write(&cloud, "[ai]\nmode = \"cloud\"\n").unwrap();
    let args = ["--paths", "600", "--strategy", "convert", "--share", "1"];
    let l = simulate_json(dir.path(), &lease, &args);
    let c = simulate_json(dir.path(), &cloud, &args);
    assert_eq!(
        without_histogram(&l["results"][0]),
        without_histogram(&c["results"][0]),
        "mine moved with the cloud on"
    );
    assert_eq!(l["bands"]["price_usd"], c["bands"]["price_usd"]);
    assert_eq!(
        l["bands"]["hashprice_usd_per_ph_day"],
        c["bands"]["hashprice_usd_per_ph_day"]
    );
    assert_ne!(
        l["results"][1]["ai_npv_mean"],
        c["results"][1]["ai_npv_mean"]
    );
    // The GPU index is random: the cloud's NPV has a spread although the lease rate is not needed.
    let n = &c["results"][1]["npv"];
    assert!(
        n["p95"].as_f64().unwrap() > n["p5"].as_f64().unwrap(),
        "{n}"
    );
    for extra in [&[][..], &["--currency", "btc"][..]] {
        let one: Vec<&str> = args
            .iter()
            .copied()
            .chain(["--threads", "1"])
            .chain(extra.iter().copied())
            .collect();
        let two: Vec<&str> = args
            .iter()
            .copied()
            .chain(["--threads", "2"])
            .chain(extra.iter().copied())
            .collect();
        assert_eq!(
            simulate_json(dir.path(), &cloud, &one),
            simulate_json(dir.path(), &cloud, &two),
            "{extra:?}"
        );
    }
}

/// `compare`: the lease row is `simulate` with `convert 1.0` and `ai.mode = "lease"`, the cloud row
/// the same with `ai.mode = "cloud"`, number for number; `mine` is the baseline of both runs; the
/// chart is written.
#[test]
fn compare_rows_are_the_simulate_results() {
    let dir = tempdir();
    let base = dir.path().join("base.toml");
    let cloud = dir.path().join("cloud.toml");
    // `compare` levers every row (a scenario without `[finance]` gets the published terms), so
    // the `simulate` runs it is checked against name the same `[finance]`.
    std::fs::write(&base, "[run]\nhorizon_years = 6\n[finance]\n").unwrap();
    std::fs::write(
        &cloud,
        "[run]\nhorizon_years = 6\n[ai]\nmode = \"cloud\"\n[finance]\n",
    )
    .unwrap();
    let chart = dir.path().join("compare.svg");
    let o = hashpivot(dir.path())
        .args([
            "--json", "compare", "--paths", "300", "--seed", "9", "--chart",
        ])
        .arg(&chart)
        .arg(&base)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let cmp = json(&o);
    let sim = [
        "--paths",
        "300",
        "--seed",
        "9",
        "--strategy",
        "convert",
        "--share",
        "1",
    ];
    let lease = simulate_json(dir.path(), &base, &sim);
    let cl = simulate_json(dir.path(), &cloud, &sim);
    let rows = cmp["rows"].as_array().unwrap();
    let options: Vec<&str> = rows.iter().map(|r| r["option"].as_str().unwrap()).collect();
    assert_eq!(options, ["mine", "lease", "cloud"]);
    assert_eq!(rows[0]["result"], lease["results"][0]);
    assert_eq!(rows[1]["result"], lease["results"][1]);
    assert_eq!(rows[2]["result"], cl["results"][1]);
    for r in &rows[1..] {
        assert!(r["result"]["equity"]["equity_npv"]["mean"].is_f64(), "{r}");
    }
    assert_eq!(
        without_histogram(&cl["results"][0]),
        without_histogram(&lease["results"][0])
    );
    let svg = std::fs::read_to_string(&chart).unwrap();
    assert!(
        svg.starts_with("<svg") && svg.contains("cloud (own the GPUs)"),
        "{svg:.200}"
    );
    // The table: one row per option.
    let o = hashpivot(dir.path())
        .args(["compare", "--paths", "300", "--seed", "9"])
        .arg(&base)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    for want in [
        "option",
        "NPV mean $M",
        "P(< mine)",
        "equity IRR p50",
        "DSCR p5",
    ] {
        assert!(text.contains(want), "{want}: {text}");
    }
    assert_eq!(
        text.lines()
            .filter(|l| l.starts_with("mine ")
                || l.starts_with("lease ")
                || l.starts_with("cloud "))
            .count(),
        3,
        "{text}"
    );
}

/// The BTC view of `optimal` (MODEL.md §11, issue 12): `--currency btc` runs, the JSON says so,
/// the `mine` baseline is the BTC `mine` of the same paths, and the tables say BTC, not $M.
#[test]
fn btc_view_of_optimal() {
    let dir = tempdir();
    let file = dir.path().join("short.toml");
    std::fs::write(
        &file,
        "[run]\nhorizon_years = 4\n[strategy]\ntranches = 2\ndecide_months = 12\n",
    )
    .unwrap();
    let args = ["--paths", "64", "--currency", "btc"];
    let opt = simulate_json(
        dir.path(),
        &file,
        &[&args[..], &["--strategy", "optimal"]].concat(),
    );
    let mine = simulate_json(
        dir.path(),
        &file,
        &[&args[..], &["--strategy", "mine"]].concat(),
    );
    assert_eq!(opt["currency"], "btc");
    assert_eq!(opt["results"][1]["strategy"], "optimal");
    assert_eq!(
        without_histogram(&opt["results"][0]),
        without_histogram(&mine["results"][0])
    );
    let o = hashpivot(dir.path())
        .arg("simulate")
        .arg(&file)
        .args(args)
        .args(["--strategy", "optimal"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let text = stdout(&o);
    assert!(
        text.contains("option value BTC") && !text.contains("$M") && !text.contains(" M ±"),
        "{text}"
    );
}

/// `optimal` prices a slice converted to a GPU cloud with the same cash as `convert`: with one
/// slice and one decision day (month 0), converting is the only exercise, and its in-sample value
/// on the paths where it converts is the cloud's (power bill included).
#[test]
fn optimal_slices_price_the_cloud() {
    let dir = tempdir();
    let file = dir.path().join("cloud.toml");
    std::fs::write(
        &file,
        "[run]\nhorizon_years = 4\n[ai]\nmode = \"cloud\"\n[strategy]\ntranches = 1\ndecide_months = 0\n\
         [cloud]\nprice_vol = 0\nrevenue_usd_per_mw_it_year = 3e7\n",
    )
    .unwrap();
    let conv = simulate_json(
        dir.path(),
        &file,
        &["--paths", "256", "--strategy", "convert", "--share", "1"],
    );
    let opt = simulate_json(
        dir.path(),
        &file,
        &["--paths", "256", "--strategy", "optimal"],
    );
    let (c, o) = (&conv["results"][1], &opt["results"][1]);
    // At this revenue the cloud beats mining on every path, so optimal converts everywhere on day 0.
    assert_eq!(c["prob_below_mine"], 0.0, "{c}");
    // Same paths, same cash: the site's NPV is the same (optimal books the salvage of the slice's
    // machines with the AI part, convert with the mining part, so the split differs).
    let (cn, on) = (
        c["npv"]["mean"].as_f64().unwrap(),
        o["npv"]["mean"].as_f64().unwrap(),
    );
    assert!(
        (cn - on).abs() <= 1e-9 * cn.abs(),
        "convert {cn} optimal {on}"
    );
}
