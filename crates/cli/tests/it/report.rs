//! `hashpivot report`: one self-contained HTML file with the inputs, the results (the same numbers as
//! `simulate --json`), the charts inline and the method, no external request; `--csv DIR` tables.

fn small_scenario(dir: &std::path::Path) -> std::path::PathBuf {
    let p = dir.join("small.toml");
    std::fs::write(
        &p,
        "[run]\nhorizon_years = 3\npaths = 400\nseed = 5\n\n[strategy]\nkind = \"convert\"\nshare = 0.5\n",
    )
    .unwrap();
    p
}

#[test]
fn report_is_one_self_contained_file_with_the_engines_numbers() {
    let dir = crate::common::tempdir();
    let sc = small_scenario(dir.path());
    let html_path = dir.path().join("out/report.html");
    let csv = dir.path().join("tables");
    let out = crate::common::hashpivot(dir.path())
        .arg("report")
        .arg(&sc)
        .arg("-o")
        .arg(&html_path)
        .arg("--csv")
        .arg(&csv)
        .arg("--json")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", crate::common::stderr(&out));
    let j = crate::common::json(&out);
    assert_eq!(j["output"], html_path.display().to_string());
    let html = std::fs::read_to_string(&html_path).unwrap();

    // Charts inline, every one of the run's panels, and the tornado.
    for name in [
        "npv",
        "price",
        "hashprice",
        "difficulty",
        "hashrate",
        "site_cash",
        "tornado",
    ] {
        assert!(
            html.contains(&format!("id=\"chart-{name}\"")),
            "chart {name} missing"
        );
    }
    assert!(html.matches("<svg").count() >= 7);
    for section in [
        "id=\"results\"",
        "id=\"inputs\"",
        "id=\"method\"",
        "Longstaff",
    ] {
        assert!(html.contains(section), "{section} missing");
    }
    // No network: no src/href to anything, and no http(s) URL but the SVG namespace identifier.
    let without_ns = html.replace("http://www.w3.org/2000/svg", "");
    assert!(!without_ns.contains("http://") && !without_ns.contains("https://"));
    assert!(
        !html.contains(" src=") && !html.contains("<link"),
        "external resource"
    );
    assert!(
        html.contains("<script>") && html.contains("data-tip"),
        "hover script inline"
    );

    // The numbers are the engine's: compare with `simulate --json` on the same scenario.
    let sim = crate::common::hashpivot(dir.path())
        .arg("simulate")
        .arg(&sc)
        .arg("--json")
        .output()
        .unwrap();
    assert!(sim.status.success(), "{}", crate::common::stderr(&sim));
    let sim = crate::common::json(&sim);
    let results = std::fs::read_to_string(csv.join("results.csv")).unwrap();
    let lines: Vec<&str> = results.lines().collect();
    assert_eq!(lines.len(), 1 + sim["results"].as_array().unwrap().len());
    for (line, r) in lines[1..].iter().zip(sim["results"].as_array().unwrap()) {
        let cells: Vec<&str> = line.split(',').collect();
        assert!(
            cells[0].starts_with(r["strategy"].as_str().unwrap()),
            "{line}"
        );
        assert_eq!(
            cells[1].parse::<f64>().unwrap(),
            r["npv"]["mean"].as_f64().unwrap(),
            "{line}"
        );
        assert_eq!(
            cells[3].parse::<f64>().unwrap(),
            r["npv"]["p5"].as_f64().unwrap(),
            "{line}"
        );
        assert_eq!(
            cells[10].parse::<f64>().unwrap(),
            r["cvar5"].as_f64().unwrap(),
            "{line}"
        );
    }
    let bands = std::fs::read_to_string(csv.join("bands.csv")).unwrap();
    let p50_year1 = sim["bands"]["price_usd"]["p50"][0].as_f64().unwrap();
    let row = bands
        .lines()
        .find(|l| l.starts_with("price,price,1,"))
        .expect("price year 1");
    assert_eq!(
        row.split(',').nth(4).unwrap().parse::<f64>().unwrap(),
        p50_year1
    );
    assert!(csv.join("inputs.csv").exists() && csv.join("sensitivity.csv").exists());
    let sens = std::fs::read_to_string(csv.join("sensitivity.csv")).unwrap();
    assert!(
        sens.lines()
            .any(|l| l.starts_with("ai.lease_usd_per_kw_month,")),
        "{sens}"
    );
}

#[test]
fn bad_input_exits_2_naming_the_problem() {
    let dir = crate::common::tempdir();
    let bad = dir.path().join("bad.toml");
    std::fs::write(&bad, "[price]\nvol = -1\n").unwrap();
    let out = crate::common::hashpivot(dir.path())
        .arg("report")
        .arg(&bad)
        .arg("-o")
        .arg(dir.path().join("r.html"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        crate::common::stderr(&out).contains("price.vol"),
        "{}",
        crate::common::stderr(&out)
    );
    let out = crate::common::hashpivot(dir.path())
        .args(["report", "--paths", "0", "-o"])
        .arg(dir.path().join("r.html"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        crate::common::stderr(&out).contains("paths"),
        "{}",
        crate::common::stderr(&out)
    );
    assert!(!dir.path().join("r.html").exists());
    let out = crate::common::hashpivot(dir.path())
        .arg("report")
        .arg(dir.path().join("missing.toml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(crate::common::stderr(&out).contains("missing.toml"));
}
