//! The input-validation table (`docs/VALIDATION.md`), one test per row: every scenario key given a
//! bad value in a file of its own, run through `hashpivot simulate FILE`. Each test checks the
//! exit code (2), the exact message on stderr (naming the key, the value and the allowed range),
//! the same message in the `--json` error document (`kind = "bad_input"`), and that the table in
//! the docs still shows that message, so the page cannot drift from the code.

use crate::common::{hashpivot, json, repo_root, stderr, tempdir};

/// Runs `simulate` on `toml` and checks the rejection; `line` is the message naming the key.
pub(crate) fn rejects(key: &str, toml: &str, line: &str) {
    let dir = tempdir();
    let file = dir.path().join("bad.toml");
    std::fs::write(&file, toml).unwrap();
    // Text mode: the message on stderr.
    let o = hashpivot(dir.path())
        .args(["simulate", "--paths", "1"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{key}: {}", stderr(&o));
    let err = stderr(&o);
    assert!(
        err.contains(line),
        "{key}: expected {line:?} in stderr:\n{err}"
    );
    assert!(
        o.stdout.is_empty(),
        "{key}: no output on stdout in text mode"
    );
    // JSON mode: exactly one document on stdout, the same message, kind bad_input.
    let o = hashpivot(dir.path())
        .args(["--json", "simulate", "--paths", "1"])
        .arg(&file)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{key}");
    let v = json(&o);
    assert_eq!(v["kind"], "bad_input", "{key}: {v}");
    let msg = v["error"].as_str().unwrap_or_default();
    assert!(msg.contains(line), "{key}: {msg}");
    // The message names the file, so a user with several files knows which one.
    assert!(msg.contains("bad.toml"), "{key}: {msg}");
    // And the docs show it.
    let doc = std::fs::read_to_string(repo_root().join("docs/VALIDATION.md")).unwrap();
    let in_doc = line.replace('|', "\\|");
    assert!(
        doc.contains(&in_doc),
        "{key}: docs/VALIDATION.md does not show {line:?}; regenerate the table row"
    );
}

/// Range errors name the key path, the value and the allowed range (`key = value: allowed ...`);
/// parse errors name the line, column and table.
macro_rules! row {
    ($name:ident, $key:expr, $toml:expr, $line:expr) => {
        #[test]
        fn $name() {
            let line: &str = $line;
            let key: &str = $key;
            if line.contains(": allowed ") {
                if !key.starts_with('(') {
                    let path = key.split([' ', '[']).next().unwrap();
                    assert!(line.starts_with(&path), "{line} names {path}");
                }
            } else {
                assert!(line.contains("line ") && line.contains("column "), "{line}");
            }
            rejects(key, $toml, line);
        }
    };
}

row!(
    run_horizon_years,
    "run.horizon_years",
    "[run]\nhorizon_years = 0\n",
    "run.horizon_years = 0: allowed 1/365 <= x <= 100 years"
);
row!(
    run_paths,
    "run.paths",
    "[run]\npaths = 0\n",
    "run.paths = 0: allowed 1 <= paths <= 20000000"
);
row!(
    run_seed,
    "run.seed",
    "[run]\nseed = -1\n",
    "run.seed = -1: allowed a whole number >= 0 (got a negative number)"
);
row!(
    chain_height,
    "chain.height",
    "[chain]\nheight = 13440001\n",
    "chain.height = 13440001: allowed 0 <= height <= 13440000 (64 halvings)"
);
row!(
    chain_difficulty,
    "chain.difficulty",
    "[chain]\ndifficulty = 0\n",
    "chain.difficulty = 0: allowed 1 <= x <= 1e30 (difficulty > 0)"
);
row!(
    chain_hashrate_ehs,
    "chain.hashrate_ehs",
    "[chain]\nhashrate_ehs = 0\n",
    "chain.hashrate_ehs = 0: allowed 0 < x <= 1e9 EH/s"
);
row!(
    chain_epoch_elapsed_days,
    "chain.epoch_elapsed_days",
    "[chain]\nepoch_elapsed_days = 57\n",
    "chain.epoch_elapsed_days = 57: allowed 0 <= x <= 56 days"
);
row!(
    price_spot,
    "price.spot",
    "[price]\nspot = 0\n",
    "price.spot = 0: allowed 0 < x <= 1e12 USD"
);
row!(
    price_drift,
    "price.drift",
    "[price]\ndrift = 3\n",
    "price.drift = 3: allowed -2 <= x <= 2 per year"
);
row!(
    price_vol,
    "price.vol",
    "[price]\nvol = 100\n",
    "price.vol = 100: allowed 0 <= x <= 5 per sqrt(year)"
);
row!(
    fees_btc_per_block,
    "fees.btc_per_block",
    "[fees]\nbtc_per_block = 0\n",
    "fees.btc_per_block = 0: allowed 0 < x <= 1000 BTC"
);
row!(
    fees_speed,
    "fees.speed",
    "[fees]\nspeed = -1\n",
    "fees.speed = -1: allowed 0 <= x <= 365 per year"
);
row!(
    fees_vol,
    "fees.vol",
    "[fees]\nvol = 11\n",
    "fees.vol = 11: allowed 0 <= x <= 10 per sqrt(year)"
);
row!(
    hashrate_speed_up,
    "hashrate.speed_up",
    "[hashrate]\nspeed_up = -1\n",
    "hashrate.speed_up = -1: allowed 0 <= x <= 365 per year"
);
row!(
    hashrate_speed_down,
    "hashrate.speed_down",
    "[hashrate]\nspeed_down = 366\n",
    "hashrate.speed_down = 366: allowed 0 <= x <= 365 per year"
);
row!(
    hashrate_vol,
    "hashrate.vol",
    "[hashrate]\nvol = 6\n",
    "hashrate.vol = 6: allowed 0 <= x <= 5 per sqrt(year)"
);
row!(
    hashrate_marginal_efficiency_jth,
    "hashrate.marginal_efficiency_jth",
    "[hashrate]\nmarginal_efficiency_jth = 0\n",
    "hashrate.marginal_efficiency_jth = 0: allowed 0 < x <= 10000 J/TH"
);
row!(
    hashrate_efficiency_decline,
    "hashrate.efficiency_decline",
    "[hashrate]\nefficiency_decline = 1\n",
    "hashrate.efficiency_decline = 1: allowed 0 <= x < 1 per year"
);
row!(
    hashrate_efficiency_floor_jth,
    "hashrate.efficiency_floor_jth",
    "[hashrate]\nefficiency_floor_jth = 0\n",
    "hashrate.efficiency_floor_jth = 0: allowed 0 < x <= 10000 J/TH"
);
row!(
    hashrate_marginal_power_usd_mwh,
    "hashrate.marginal_power_usd_mwh",
    "[hashrate]\nmarginal_power_usd_mwh = 0\n",
    "hashrate.marginal_power_usd_mwh = 0: allowed 0 < x <= 10000 $/MWh"
);
row!(
    hashrate_power_share,
    "hashrate.power_share",
    "[hashrate]\npower_share = 0\n",
    "hashrate.power_share = 0: allowed 0 < x <= 1"
);
row!(
    site_power_mw,
    "site.power_mw",
    "[site]\npower_mw = -5\n",
    "site.power_mw = -5: allowed 0 < x <= 100000 MW"
);
row!(
    site_power_usd_mwh,
    "site.power_usd_mwh",
    "[site]\npower_usd_mwh = -1\n",
    "site.power_usd_mwh = -1: allowed 0 <= x <= 10000 $/MWh"
);
row!(
    site_power_escalator,
    "site.power_escalator",
    "[site]\npower_escalator = 2\n",
    "site.power_escalator = 2: allowed -0.5 <= x <= 1 per year"
);
row!(
    site_terminal_multiple,
    "site.terminal_multiple",
    "[site]\nterminal_multiple = -1\n",
    "site.terminal_multiple = -1: allowed 0 <= x <= 100"
);
row!(
    mining_overhead,
    "mining.overhead",
    "[mining]\noverhead = 0.9\n",
    "mining.overhead = 0.9: allowed 1 <= x <= 3 (a PUE)"
);
row!(
    mining_uptime,
    "mining.uptime",
    "[mining]\nuptime = 1.5\n",
    "mining.uptime = 1.5: allowed 0 <= x <= 1"
);
row!(
    mining_pool_fee,
    "mining.pool_fee",
    "[mining]\npool_fee = 1\n",
    "mining.pool_fee = 1: allowed 0 <= x < 1"
);
row!(
    mining_curtail,
    "mining.curtail",
    "[mining]\ncurtail = \"yes\"\n",
    "mining.curtail = \"yes\": allowed true or false (got text)"
);
row!(
    mining_opex_usd_per_mw_month,
    "mining.opex_usd_per_mw_month",
    "[mining]\nopex_usd_per_mw_month = -1\n",
    "mining.opex_usd_per_mw_month = -1: allowed 0 <= x <= 1e7 $/MW-month"
);
row!(
    mining_salvage_usd_per_th,
    "mining.salvage_usd_per_th",
    "[mining]\nsalvage_usd_per_th = -1\n",
    "mining.salvage_usd_per_th = -1: allowed 0 <= x <= 10000 $/TH"
);
row!(
    mining_refresh_every_years,
    "mining.refresh_every_years",
    "[mining]\nrefresh_every_years = 0.001\n",
    "mining.refresh_every_years = 0.001: allowed 0 (never) or 1/365 <= x <= 100 years"
);
row!(
    mining_hw_days_of_hashprice,
    "mining.hw_days_of_hashprice",
    "[mining]\nhw_days_of_hashprice = -1\n",
    "mining.hw_days_of_hashprice = -1: allowed 0 <= x <= 100000 days"
);
row!(
    mining_discount_rate,
    "mining.discount_rate",
    "[mining]\ndiscount_rate = 11\n",
    "mining.discount_rate = 11: allowed -0.5 <= x <= 10 per year"
);
row!(mining_fleet, "mining.fleet", "[site]\npower_mw = 500\n", "mining.fleet = 963.627 MW of facility power (units × power_w × overhead): allowed at most site.power_mw = 500 MW");
row!(
    mining_fleet_i_model,
    "mining.fleet[i].model",
    "[[mining.fleet]]\nmodel = \"\"\nunits = 10\nhashrate_ths = 200\npower_w = 3500\n",
    "mining.fleet[0].model = \"\": allowed a non-empty name"
);
row!(
    mining_fleet_i_units,
    "mining.fleet[i].units",
    "[[mining.fleet]]\nmodel = \"S21\"\nunits = -1\nhashrate_ths = 200\npower_w = 3500\n",
    "mining.fleet[0].units = -1: allowed 0 <= x <= 1e9 machines"
);
row!(
    mining_fleet_i_hashrate_ths,
    "mining.fleet[i].hashrate_ths",
    "[[mining.fleet]]\nmodel = \"S21\"\nunits = 10\nhashrate_ths = 0\npower_w = 3500\n",
    "mining.fleet[0].hashrate_ths = 0: allowed 0 < x <= 1e6 TH/s"
);
row!(
    mining_fleet_i_power_w,
    "mining.fleet[i].power_w",
    "[[mining.fleet]]\nmodel = \"S21\"\nunits = 10\nhashrate_ths = 200\npower_w = 0\n",
    "mining.fleet[0].power_w = 0: allowed 0 < x <= 1e6 W"
);
row!(
    mining_fleet_i_missing_field,
    "mining.fleet[i] (missing field)",
    "[[mining.fleet]]\nmodel = \"S21\"\nunits = 10\nhashrate_ths = 200\n",
    "scenario: line 1, column 1 (in [mining.fleet[0]]): missing field `power_w`"
);
row!(
    ai_mode,
    "ai.mode",
    "[ai]\nmode = \"gpu\"\n",
    "scenario: line 2, column 8 (in [ai]): unknown variant `gpu`, expected `lease` or `cloud`"
);
row!(
    ai_build_delay_months,
    "ai.build_delay_months",
    "[ai]\nbuild_delay_months = -1\n",
    "ai.build_delay_months = -1: allowed 0 <= x <= 120 months"
);
row!(
    ai_capex_overrun,
    "ai.capex_overrun",
    "[ai]\ncapex_overrun = -0.6\n",
    "ai.capex_overrun = -0.6: allowed -0.5 <= x <= 5 (fraction of the budget)"
);
row!(
    ai_capex_overrun_vol,
    "ai.capex_overrun_vol",
    "[ai]\ncapex_overrun_vol = 3\n",
    "ai.capex_overrun_vol = 3: allowed 0 <= x <= 2 per draw (log-normal sigma)"
);
row!(
    ai_mine_during_build,
    "ai.mine_during_build",
    "[ai]\nmine_during_build = 1\n",
    "ai.mine_during_build = 1: allowed true or false (got a number)"
);
row!(
    ai_default_events,
    "ai.default_events",
    "[ai]\ndefault_events = \"yes\"\n",
    "ai.default_events = \"yes\": allowed true or false (got text)"
);
row!(
    ai_backstop_months,
    "ai.backstop_months",
    "[ai]\nbackstop_months = -3\n",
    "ai.backstop_months = -3: allowed 0 <= x <= 1200 months"
);
row!(
    ai_relet_months,
    "ai.relet_months",
    "[ai]\nrelet_months = -0.5\n",
    "ai.relet_months = -0.5: allowed -1 (never re-let) or 0 <= x <= 1200 months"
);
row!(
    ai_it_mw_per_gross_mw,
    "ai.it_mw_per_gross_mw",
    "[ai]\nit_mw_per_gross_mw = 0\n",
    "ai.it_mw_per_gross_mw = 0: allowed 0 < x <= 1"
);
row!(
    ai_capex_usd_per_mw_it,
    "ai.capex_usd_per_mw_it",
    "[ai]\ncapex_usd_per_mw_it = -1\n",
    "ai.capex_usd_per_mw_it = -1: allowed 0 <= x <= 1e9 $/MW"
);
row!(
    ai_build_months,
    "ai.build_months",
    "[ai]\nbuild_months = 241\n",
    "ai.build_months = 241: allowed 0 <= x <= 240 months"
);
row!(
    ai_lease_usd_per_kw_month,
    "ai.lease_usd_per_kw_month",
    "[ai]\nlease_usd_per_kw_month = 0\n",
    "ai.lease_usd_per_kw_month = 0: allowed 0 < x <= 100000 $/kW-month"
);
row!(
    ai_lease_escalator,
    "ai.lease_escalator",
    "[ai]\nlease_escalator = 2\n",
    "ai.lease_escalator = 2: allowed -0.5 <= x <= 1 per year"
);
row!(
    ai_lease_term_years,
    "ai.lease_term_years",
    "[ai]\nlease_term_years = 0\n",
    "ai.lease_term_years = 0: allowed 1/365 <= x <= 100 years"
);
row!(
    ai_renewal_probability,
    "ai.renewal_probability",
    "[ai]\nrenewal_probability = 1.5\n",
    "ai.renewal_probability = 1.5: allowed 0 <= x <= 1"
);
row!(
    ai_tenant_default_rate,
    "ai.tenant_default_rate",
    "[ai]\ntenant_default_rate = -1\n",
    "ai.tenant_default_rate = -1: allowed 0 <= x <= 10 per year"
);
row!(
    ai_noi_margin,
    "ai.noi_margin",
    "[ai]\nnoi_margin = 2\n",
    "ai.noi_margin = 2: allowed 0 <= x <= 1"
);
row!(
    ai_discount_rate,
    "ai.discount_rate",
    "[ai]\ndiscount_rate = -1\n",
    "ai.discount_rate = -1: allowed -0.5 <= x <= 10 per year"
);
row!(
    ai_lease_drift,
    "ai.lease_drift",
    "[ai]\nlease_drift = 3\n",
    "ai.lease_drift = 3: allowed -2 <= x <= 2 per year"
);
row!(
    ai_lease_vol,
    "ai.lease_vol",
    "[ai]\nlease_vol = -1\n",
    "ai.lease_vol = -1: allowed 0 <= x <= 5 per sqrt(year)"
);
row!(
    ai_lease_price_corr,
    "ai.lease_price_corr",
    "[ai]\nlease_price_corr = 2\n",
    "ai.lease_price_corr = 2: allowed -1 <= x <= 1"
);
row!(strategy_kind, "strategy.kind", "[strategy]\nkind = \"hodl\"\n", "scenario: line 2, column 8 (in [strategy]): unknown variant `hodl`, expected one of `mine`, `convert`, `schedule`, `sweep`, `optimal`");
row!(
    strategy_share,
    "strategy.share",
    "[strategy]\nshare = 1.5\n",
    "strategy.share = 1.5: allowed 0 <= x <= 1"
);
row!(
    strategy_schedule_i_day,
    "strategy.schedule[i] day",
    "[strategy]\nschedule = [[6000, 0.5]]\n",
    "strategy.schedule[0] day = 6000: allowed 0 <= day <= 5474 (the last simulated day)"
);
row!(
    strategy_schedule_i_share,
    "strategy.schedule[i] share",
    "[strategy]\nschedule = [[0, 2.0]]\n",
    "strategy.schedule[0] share = 2: allowed 0 <= x <= 1"
);
row!(
    strategy_schedule,
    "strategy.schedule",
    "[strategy]\nschedule = [[0, 0.7], [10, 0.6]]\n",
    "strategy.schedule = shares summing to 1.2999999999999998: allowed shares summing to at most 1"
);
row!(
    strategy_shares,
    "strategy.shares",
    "[strategy]\nkind = \"sweep\"\nshares = []\n",
    "strategy.shares = []: allowed at least one share when kind = \"sweep\""
);
row!(
    strategy_shares_i,
    "strategy.shares[i]",
    "[strategy]\nshares = [0.5, -0.5]\n",
    "strategy.shares[1] = -0.5: allowed 0 <= x <= 1"
);
row!(
    strategy_tranches,
    "strategy.tranches",
    "[strategy]\ntranches = 0\n",
    "strategy.tranches = 0: allowed 1 <= tranches <= 1000"
);
row!(strategy_decide_months, "strategy.decide_months", "[strategy]\ndecide_months = 1000\n", "strategy.decide_months = 1000: allowed 0 <= months <= 180 (decision days must fall inside the horizon)");
row!(
    strategy_pilot_paths,
    "strategy.pilot_paths",
    "[strategy]\npilot_paths = 1000\n",
    "strategy.pilot_paths = 1000: allowed a multiple of 256 from 256 to 20000000 (absent = every in-sample path)"
);
row!(power_hourly, "power.hourly", "[power]\nhourly = \"pjm:X:2024\"\n", "power.hourly = \"pjm:X:2024\": allowed an hourly price source \"ercot:HUB:YEAR\", \"ercot:HUB:FIRST-LAST\" or \"flat:USD_MWH\" (\"pjm:X:2024\" is not an ERCOT series name; use ercot:HUB:YEAR or ercot:HUB:FIRST-LAST (e.g. ercot:HB_WEST:2024, ercot:HB_WEST:2021-2025))");
row!(
    dispatch_credit_usd_mwh,
    "dispatch.credit_usd_mwh",
    "[dispatch]\ncredit_usd_mwh = -1\n",
    "dispatch.credit_usd_mwh = -1: allowed 0 <= x <= 10000 $/MWh"
);
row!(
    dispatch_min_run_hours,
    "dispatch.min_run_hours",
    "[dispatch]\nmin_run_hours = 0\n",
    "dispatch.min_run_hours = 0: allowed 1 <= hours <= 168 (1 = no constraint)"
);
row!(
    dispatch_min_off_hours,
    "dispatch.min_off_hours",
    "[dispatch]\nmin_off_hours = 169\n",
    "dispatch.min_off_hours = 169: allowed 1 <= hours <= 168 (1 = no constraint)"
);
row!(
    dispatch_fourcp_hours,
    "dispatch.fourcp_hours",
    "[dispatch]\nfourcp_hours = [16, 25]\n",
    "dispatch.fourcp_hours = 25: allowed hour endings 1 to 24 (HE17 = 16:00-17:00)"
);
row!(
    dispatch_fourcp_weekdays_only,
    "dispatch.fourcp_weekdays_only",
    "[dispatch]\nfourcp_weekdays_only = 1\n",
    "dispatch.fourcp_weekdays_only = 1: allowed true or false (got a number)"
);
row!(
    dispatch_fourcp_usd_kw_year,
    "dispatch.fourcp_usd_kw_year",
    "[dispatch]\nfourcp_usd_kw_year = -1\n",
    "dispatch.fourcp_usd_kw_year = -1: allowed 0 <= x <= 10000 $/kW-year"
);
row!(
    finance_ltc,
    "finance.ltc",
    "[finance]\nltc = 0.96\n",
    "finance.ltc = 0.96: allowed 0 <= x <= 0.95"
);
row!(
    finance_debt_rate,
    "finance.debt_rate",
    "[finance]\ndebt_rate = -0.01\n",
    "finance.debt_rate = -0.01: allowed 0 <= x <= 0.5 per year"
);
row!(
    finance_tenor_years,
    "finance.tenor_years",
    "[finance]\ntenor_years = 0\n",
    "finance.tenor_years = 0: allowed 1/365 <= x <= 40 years"
);
row!(
    finance_cost_of_equity,
    "finance.cost_of_equity",
    "[finance]\ncost_of_equity = -1\n",
    "finance.cost_of_equity = -1: allowed -0.5 <= x <= 10 per year"
);
row!(
    finance_min_dscr,
    "finance.min_dscr",
    "[finance]\nmin_dscr = 0\n",
    "finance.min_dscr = 0: allowed 0 < x <= 100"
);
row!(
    finance_fund_gpus,
    "finance.fund_gpus",
    "[finance]\nfund_gpus = \"yes\"\n",
    "finance.fund_gpus = \"yes\": allowed true or false (got text)"
);
row!(unknown_key, "(unknown key)", "[site]\npowr_usd_mwh = 3\n", "scenario: line 2, column 1 (in [site]): unknown field `powr_usd_mwh`, expected one of `power_mw`, `power_usd_mwh`, `power_escalator`, `terminal_multiple`");
row!(
    wrong_type,
    "(wrong type)",
    "[price]\nspot = \"lots\"\n",
    "price.spot = \"lots\": allowed a number (got text)"
);
row!(
    non_finite,
    "(non-finite)",
    "[price]\nspot = nan\n",
    "price.spot = NaN: allowed 0 < x <= 1e12 USD"
);

/// Every key of the default scenario has a row (a new key without a row fails here).
#[test]
fn every_scenario_key_has_a_row() {
    let doc = std::fs::read_to_string(repo_root().join("docs/VALIDATION.md")).unwrap();
    let dir = tempdir();
    let o = hashpivot(dir.path())
        .args(["--json", "scenario", "show"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    // `scenario show --json` prints the default scenario itself: its tables and keys.
    let scenario = json(&o);
    let mut missing = Vec::new();
    for (table, keys) in scenario.as_object().unwrap() {
        for (k, _) in keys.as_object().unwrap() {
            let key = if table == "mining" && k == "fleet" {
                "mining.fleet".to_string()
            } else {
                format!("{table}.{k}")
            };
            if !doc.contains(&format!("| `{key}` |")) {
                missing.push(key);
            }
        }
    }
    for k in [
        "mining.fleet[i].model",
        "mining.fleet[i].units",
        "mining.fleet[i].hashrate_ths",
        "mining.fleet[i].power_w",
        "power.hourly",
        "dispatch.credit_usd_mwh",
        "dispatch.min_run_hours",
        "dispatch.min_off_hours",
        "dispatch.fourcp_hours",
        "dispatch.fourcp_weekdays_only",
        "dispatch.fourcp_usd_kw_year",
        "finance.ltc",
        "finance.debt_rate",
        "finance.tenor_years",
        "finance.cost_of_equity",
        "finance.min_dscr",
        "finance.fund_gpus",
    ] {
        if !doc.contains(&format!("| `{k}` |")) {
            missing.push(k.to_string());
        }
    }
    assert!(
        missing.is_empty(),
        "keys without a validation row: {missing:?}"
    );
}
