//! Range checks of a scenario ([`Scenario::validate`]), one function per group of tables: every
//! problem is collected, each naming its key path, the value and what is allowed.

use super::{FieldError, Scenario, ScenarioError, StrategyKind};

impl Scenario {
    /// Checks every value before any work: all problems are collected, each naming its key path,
    /// the value and the allowed range.
    pub fn validate(&self) -> Result<(), ScenarioError> {
        let mut v = Check::default();
        check_run_chain(self, &mut v);
        check_market(self, &mut v);
        check_site_mining(self, &mut v);
        check_fleet(self, &mut v);
        check_ai(self, &mut v);
        check_strategy(self, &mut v);
        check_power(self, &mut v);
        check_finance(self, &mut v);
        check_cloud(self, &mut v);
        if v.errors.is_empty() {
            Ok(())
        } else {
            Err(ScenarioError::Invalid(v.errors))
        }
    }
}

/// `[run]` and `[chain]`.
fn check_run_chain(s: &Scenario, v: &mut Check) {
    v.range(
        "run.horizon_years",
        s.run.horizon_years,
        1.0 / 365.0,
        100.0,
        "1/365 <= x <= 100 years",
    );
    if s.run.paths == 0 || s.run.paths > MAX_PATHS {
        v.push(
            "run.paths",
            s.run.paths.to_string(),
            format!("1 <= paths <= {MAX_PATHS}"),
        );
    }
    // TOML integers are i64: a larger seed could not be written back to a scenario file.
    if s.run.seed > i64::MAX as u64 {
        v.push(
            "run.seed",
            s.run.seed.to_string(),
            format!("0 <= seed <= {}", i64::MAX),
        );
    }
    if s.chain.height > 13_440_000 {
        v.push(
            "chain.height",
            s.chain.height.to_string(),
            "0 <= height <= 13440000 (64 halvings)",
        );
    }
    v.range(
        "chain.difficulty",
        s.chain.difficulty,
        1.0,
        1e30,
        "1 <= x <= 1e30 (difficulty > 0)",
    );
    if let Some(h) = s.chain.hashrate_ehs {
        v.range_open_low("chain.hashrate_ehs", h, 0.0, 1e9, "0 < x <= 1e9 EH/s");
        // A hashrate a million times off the difficulty's own is not a market state: blocks
        // would come ~1e9 times a day and the (one-retarget-a-day) epoch rule could never catch
        // up, so the run would end in an overflow instead of an answer.
        let d = s.chain.difficulty;
        let implied = hashpivot_chain::implied_hashrate_ehs(hashpivot_chain::Difficulty(d));
        if h > 0.0 && h.is_finite() && d.is_finite() && d >= 1.0 {
            let ratio = h / implied;
            if !(1e-3..=1e3).contains(&ratio) {
                v.push(
                    "chain.hashrate_ehs",
                    h.to_string(),
                    format!(
                        "1/1000 to 1000 times the hashrate at which chain.difficulty = {d} gives \
                             600-s blocks ({implied:.6e} EH/s)"
                    ),
                );
            }
        }
    }
    if let Some(e) = s.chain.epoch_elapsed_days {
        v.range(
            "chain.epoch_elapsed_days",
            e,
            0.0,
            56.0,
            "0 <= x <= 56 days",
        );
    }
}

/// `[price]`, `[fees]` and `[hashrate]`: the processes.
fn check_market(s: &Scenario, v: &mut Check) {
    v.range_open_low("price.spot", s.price.spot, 0.0, 1e12, "0 < x <= 1e12 USD");
    v.range(
        "price.drift",
        s.price.drift,
        -2.0,
        2.0,
        "-2 <= x <= 2 per year",
    );
    v.range(
        "price.vol",
        s.price.vol,
        0.0,
        5.0,
        "0 <= x <= 5 per sqrt(year)",
    );
    v.range_open_low(
        "fees.btc_per_block",
        s.fees.btc_per_block,
        0.0,
        1000.0,
        "0 < x <= 1000 BTC",
    );
    v.range(
        "fees.speed",
        s.fees.speed,
        0.0,
        365.0,
        "0 <= x <= 365 per year",
    );
    v.range(
        "fees.vol",
        s.fees.vol,
        0.0,
        10.0,
        "0 <= x <= 10 per sqrt(year)",
    );
    v.range(
        "hashrate.speed_up",
        s.hashrate.speed_up,
        0.0,
        365.0,
        "0 <= x <= 365 per year",
    );
    v.range(
        "hashrate.speed_down",
        s.hashrate.speed_down,
        0.0,
        365.0,
        "0 <= x <= 365 per year",
    );
    v.range(
        "hashrate.vol",
        s.hashrate.vol,
        0.0,
        5.0,
        "0 <= x <= 5 per sqrt(year)",
    );
    v.range_open_low(
        "hashrate.marginal_efficiency_jth",
        s.hashrate.marginal_efficiency_jth,
        0.0,
        10_000.0,
        "0 < x <= 10000 J/TH",
    );
    v.range_open_high(
        "hashrate.efficiency_decline",
        s.hashrate.efficiency_decline,
        0.0,
        1.0,
        "0 <= x < 1 per year",
    );
    v.range_open_low(
        "hashrate.efficiency_floor_jth",
        s.hashrate.efficiency_floor_jth,
        0.0,
        10_000.0,
        "0 < x <= 10000 J/TH",
    );
    v.range_open_low(
        "hashrate.marginal_power_usd_mwh",
        s.hashrate.marginal_power_usd_mwh,
        0.0,
        10_000.0,
        "0 < x <= 10000 $/MWh",
    );
    v.range_open_low(
        "hashrate.power_share",
        s.hashrate.power_share,
        0.0,
        1.0,
        "0 < x <= 1",
    );
}

/// `[site]` and the scalars of `[mining]`.
fn check_site_mining(s: &Scenario, v: &mut Check) {
    v.range_open_low(
        "site.power_mw",
        s.site.power_mw,
        0.0,
        100_000.0,
        "0 < x <= 100000 MW",
    );
    v.range(
        "site.power_usd_mwh",
        s.site.power_usd_mwh,
        0.0,
        10_000.0,
        "0 <= x <= 10000 $/MWh",
    );
    v.range(
        "site.power_escalator",
        s.site.power_escalator,
        -0.5,
        1.0,
        "-0.5 <= x <= 1 per year",
    );
    v.range(
        "site.terminal_multiple",
        s.site.terminal_multiple,
        0.0,
        100.0,
        "0 <= x <= 100",
    );
    let m = &s.mining;
    v.range(
        "mining.overhead",
        m.overhead,
        1.0,
        3.0,
        "1 <= x <= 3 (a PUE)",
    );
    v.range("mining.uptime", m.uptime, 0.0, 1.0, "0 <= x <= 1");
    v.range_open_high("mining.pool_fee", m.pool_fee, 0.0, 1.0, "0 <= x < 1");
    v.range(
        "mining.opex_usd_per_mw_month",
        m.opex_usd_per_mw_month,
        0.0,
        1e7,
        "0 <= x <= 1e7 $/MW-month",
    );
    v.range(
        "mining.salvage_usd_per_th",
        m.salvage_usd_per_th,
        0.0,
        1e4,
        "0 <= x <= 10000 $/TH",
    );
    v.range(
        "mining.refresh_every_years",
        m.refresh_every_years,
        0.0,
        100.0,
        "0 (never) or 1/365 <= x <= 100 years",
    );
    if m.refresh_every_years > 0.0 && (365.0 * m.refresh_every_years).round() < 1.0 {
        v.push(
            "mining.refresh_every_years",
            fmt_f(m.refresh_every_years),
            "0 (never) or 1/365 <= x <= 100 years",
        );
    }
    v.range(
        "mining.hw_days_of_hashprice",
        m.hw_days_of_hashprice,
        0.0,
        1e5,
        "0 <= x <= 100000 days",
    );
    v.range(
        "mining.discount_rate",
        m.discount_rate,
        -0.5,
        10.0,
        "-0.5 <= x <= 10 per year",
    );
}

/// `[[mining.fleet]]`: each entry, and that the fleet fits in the site.
fn check_fleet(s: &Scenario, v: &mut Check) {
    let m = &s.mining;
    if m.fleet.len() > MAX_FLEET_ENTRIES {
        v.push(
            "mining.fleet",
            format!("{} entries", m.fleet.len()),
            format!("at most {MAX_FLEET_ENTRIES} entries (merge identical machines)"),
        );
    }
    let mut fleet_mw = 0.0;
    for (i, b) in m.fleet.iter().enumerate() {
        if b.model.trim().is_empty() {
            v.push(
                format!("mining.fleet[{i}].model"),
                "\"\"",
                "a non-empty name",
            );
        }
        v.range(
            &format!("mining.fleet[{i}].units"),
            b.units,
            0.0,
            1e9,
            "0 <= x <= 1e9 machines",
        );
        v.range_open_low(
            &format!("mining.fleet[{i}].hashrate_ths"),
            b.hashrate_ths,
            0.0,
            1e6,
            "0 < x <= 1e6 TH/s",
        );
        v.range_open_low(
            &format!("mining.fleet[{i}].power_w"),
            b.power_w,
            0.0,
            1e6,
            "0 < x <= 1e6 W",
        );
        if b.units.is_finite() && b.power_w.is_finite() {
            fleet_mw += b.units * b.power_w * m.overhead / 1e6;
        }
    }
    if s.site.power_mw.is_finite() && fleet_mw > s.site.power_mw * (1.0 + 1e-12) {
        v.push(
            "mining.fleet",
            format!(
                "{} MW of facility power (units × power_w × overhead)",
                fmt_f(fleet_mw)
            ),
            format!("at most site.power_mw = {} MW", fmt_f(s.site.power_mw)),
        );
    }
}

/// `[ai]`.
fn check_ai(s: &Scenario, v: &mut Check) {
    let a = &s.ai;
    v.range_open_low(
        "ai.it_mw_per_gross_mw",
        a.it_mw_per_gross_mw,
        0.0,
        1.0,
        "0 < x <= 1",
    );
    v.range(
        "ai.capex_usd_per_mw_it",
        a.capex_usd_per_mw_it,
        0.0,
        1e9,
        "0 <= x <= 1e9 $/MW",
    );
    v.range(
        "ai.build_months",
        a.build_months,
        0.0,
        240.0,
        "0 <= x <= 240 months",
    );
    v.range_open_low(
        "ai.lease_usd_per_kw_month",
        a.lease_usd_per_kw_month,
        0.0,
        1e5,
        "0 < x <= 100000 $/kW-month",
    );
    v.range(
        "ai.lease_escalator",
        a.lease_escalator,
        -0.5,
        1.0,
        "-0.5 <= x <= 1 per year",
    );
    v.range(
        "ai.lease_term_years",
        a.lease_term_years,
        1.0 / 365.0,
        100.0,
        "1/365 <= x <= 100 years",
    );
    v.range(
        "ai.renewal_probability",
        a.renewal_probability,
        0.0,
        1.0,
        "0 <= x <= 1",
    );
    v.range(
        "ai.tenant_default_rate",
        a.tenant_default_rate,
        0.0,
        10.0,
        "0 <= x <= 10 per year",
    );
    v.range("ai.noi_margin", a.noi_margin, 0.0, 1.0, "0 <= x <= 1");
    v.range(
        "ai.discount_rate",
        a.discount_rate,
        -0.5,
        10.0,
        "-0.5 <= x <= 10 per year",
    );
    v.range(
        "ai.lease_drift",
        a.lease_drift,
        -2.0,
        2.0,
        "-2 <= x <= 2 per year",
    );
    v.range(
        "ai.lease_vol",
        a.lease_vol,
        0.0,
        5.0,
        "0 <= x <= 5 per sqrt(year)",
    );
    v.range(
        "ai.lease_price_corr",
        a.lease_price_corr,
        -1.0,
        1.0,
        "-1 <= x <= 1",
    );
    check_ai_risks(s, v);
}

/// `[ai]`'s version-2 keys (MODEL.md section 8).
fn check_ai_risks(s: &Scenario, v: &mut Check) {
    let a = &s.ai;
    v.range(
        "ai.build_delay_months",
        a.build_delay_months,
        0.0,
        120.0,
        "0 <= x <= 120 months",
    );
    // An overrun below -50% is a different budget, not a risk of this one.
    v.range(
        "ai.capex_overrun",
        a.capex_overrun,
        -0.5,
        5.0,
        "-0.5 <= x <= 5 (fraction of the budget)",
    );
    v.range(
        "ai.capex_overrun_vol",
        a.capex_overrun_vol,
        0.0,
        2.0,
        "0 <= x <= 2 per draw (log-normal sigma)",
    );
    v.range(
        "ai.backstop_months",
        a.backstop_months,
        0.0,
        1200.0,
        "0 <= x <= 1200 months",
    );
    // -1 is the one negative value allowed: "never re-let".
    if a.relet_months != -1.0 {
        v.range(
            "ai.relet_months",
            a.relet_months,
            0.0,
            1200.0,
            "-1 (never re-let) or 0 <= x <= 1200 months",
        );
    }
}

/// `[strategy]`: shares, the schedule inside the horizon, the decision months.
fn check_strategy(s: &Scenario, v: &mut Check) {
    let st = &s.strategy;
    v.range("strategy.share", st.share, 0.0, 1.0, "0 <= x <= 1");
    let n = s.days();
    let mut total = 0.0;
    for (i, &(day, share)) in st.schedule.iter().enumerate() {
        if n > 0 && day as usize >= n {
            v.push(
                format!("strategy.schedule[{i}] day"),
                day.to_string(),
                format!("0 <= day <= {} (the last simulated day)", n - 1),
            );
        }
        v.range(
            &format!("strategy.schedule[{i}] share"),
            share,
            0.0,
            1.0,
            "0 <= x <= 1",
        );
        if share.is_finite() {
            total += share;
        }
    }
    if total > 1.0 + 1e-12 {
        v.push(
            "strategy.schedule",
            format!("shares summing to {}", fmt_f(total)),
            "shares summing to at most 1",
        );
    }
    if st.kind == StrategyKind::Sweep && st.shares.is_empty() {
        v.push(
            "strategy.shares",
            "[]",
            "at least one share when kind = \"sweep\"",
        );
    }
    if st.shares.len() > 1000 {
        v.push(
            "strategy.shares",
            format!("{} shares", st.shares.len()),
            "at most 1000 shares",
        );
    }
    for (i, &x) in st.shares.iter().enumerate() {
        v.range(&format!("strategy.shares[{i}]"), x, 0.0, 1.0, "0 <= x <= 1");
    }
    if st.tranches == 0 || st.tranches > 1000 {
        v.push(
            "strategy.tranches",
            st.tranches.to_string(),
            "1 <= tranches <= 1000",
        );
    }
    let max_months = (n as f64 * 12.0 / 365.0).floor() as u32;
    if st.decide_months > max_months {
        v.push(
            "strategy.decide_months",
            st.decide_months.to_string(),
            format!("0 <= months <= {max_months} (decision days must fall inside the horizon)"),
        );
    }
    if let Some(p) = st.pilot_paths {
        // Whole engine blocks: every machine of a sharded run simulates the same pilot blocks.
        let block = crate::process::BLOCK as u64;
        if p < block || p > MAX_PATHS || !p.is_multiple_of(block) {
            v.push(
                "strategy.pilot_paths",
                p.to_string(),
                format!(
                    "a multiple of {block} from {block} to {} (absent = every in-sample path)",
                    MAX_PATHS
                ),
            );
        }
    }
}

/// The optional `[cloud]` table (MODEL.md §9), checked whenever it is given (also with
/// `ai.mode = "lease"`, so a file's mistakes never wait for the day the mode changes).
fn check_cloud(s: &Scenario, v: &mut Check) {
    let Some(c) = &s.cloud else { return };
    v.range(
        "cloud.gpu_capex_usd_per_mw_it",
        c.gpu_capex_usd_per_mw_it,
        0.0,
        1e9,
        "0 <= x <= 1e9 $/MW(IT)",
    );
    v.range(
        "cloud.revenue_usd_per_mw_it_year",
        c.revenue_usd_per_mw_it_year,
        0.0,
        1e9,
        "0 <= x <= 1e9 $/MW(IT)-year",
    );
    v.range("cloud.utilization", c.utilization, 0.0, 1.0, "0 <= x <= 1");
    v.range("cloud.opex_share", c.opex_share, 0.0, 1.0, "0 <= x <= 1");
    v.range(
        "cloud.gpu_life_years",
        c.gpu_life_years,
        1.0 / 365.0,
        100.0,
        "1/365 <= x <= 100 years",
    );
    let life_ok = c.gpu_life_years.is_finite() && c.gpu_life_years >= 1.0 / 365.0;
    if life_ok && c.gpu_life_years <= 100.0 {
        // The contract prices the first set of GPUs only (MODEL.md §9).
        v.range(
            "cloud.contract_years",
            c.contract_years,
            0.0,
            c.gpu_life_years,
            &format!(
                "0 <= x <= cloud.gpu_life_years ({} years): the contract covers the first set of GPUs",
                fmt_f(c.gpu_life_years)
            ),
        );
    } else {
        v.range(
            "cloud.contract_years",
            c.contract_years,
            0.0,
            100.0,
            "0 <= x <= 100 years",
        );
    }
    v.range(
        "cloud.price_drift",
        c.price_drift,
        -2.0,
        2.0,
        "-2 <= x <= 2 per year",
    );
    v.range(
        "cloud.price_vol",
        c.price_vol,
        0.0,
        5.0,
        "0 <= x <= 5 per sqrt(year)",
    );
    v.range(
        "cloud.discount_rate",
        c.discount_rate,
        -0.5,
        10.0,
        "-0.5 <= x <= 10 per year",
    );
}

/// The optional `[power]` and `[dispatch]` tables.
fn check_power(s: &Scenario, v: &mut Check) {
    if let Some(p) = &s.power {
        if let Some(h) = &p.hourly {
            if let Err(why) = crate::power::check_source(h) {
                v.push(
                    "power.hourly",
                    format!("{h:?}"),
                    format!(
                        "an hourly price source \"ercot:HUB:YEAR\", \"ercot:HUB:FIRST-LAST\" \
                             or \"flat:USD_MWH\" ({why})"
                    ),
                );
            }
        }
    }
    if let Some(d) = &s.dispatch {
        match d.validate() {
            Err(crate::power::PowerError::Invalid {
                field,
                value,
                allowed,
            }) => v.push(&field, value, allowed),
            Err(e) => v.push("dispatch", "(table)", e.to_string()),
            Ok(()) => {}
        }
    }
}

/// The optional `[finance]` table (MODEL.md §10).
fn check_finance(s: &Scenario, v: &mut Check) {
    let Some(f) = &s.finance else {
        return;
    };
    v.range("finance.ltc", f.ltc, 0.0, 0.95, "0 <= x <= 0.95");
    v.range(
        "finance.debt_rate",
        f.debt_rate,
        0.0,
        0.5,
        "0 <= x <= 0.5 per year",
    );
    // At least one daily payment (round(tenor_years * 365) >= 1), as ai.lease_term_years.
    v.range(
        "finance.tenor_years",
        f.tenor_years,
        1.0 / 365.0,
        40.0,
        "1/365 <= x <= 40 years",
    );
    v.range(
        "finance.cost_of_equity",
        f.cost_of_equity,
        -0.5,
        10.0,
        "-0.5 <= x <= 10 per year",
    );
    v.range_open_low("finance.min_dscr", f.min_dscr, 0.0, 100.0, "0 < x <= 100");
}

/// Most `[[mining.fleet]]` entries (the engine keeps one margin per machine type on the stack).
pub const MAX_FLEET_ENTRIES: usize = 64;

/// Most paths a run accepts (memory stays O(paths); 1e8 paths would need ~10 GB of NPVs).
pub const MAX_PATHS: u64 = 20_000_000;

#[derive(Default)]
struct Check {
    errors: Vec<FieldError>,
}

impl Check {
    fn push(
        &mut self,
        key: impl Into<String>,
        value: impl Into<String>,
        allowed: impl Into<String>,
    ) {
        self.errors.push(FieldError {
            key: key.into(),
            value: value.into(),
            allowed: allowed.into(),
        });
    }
    fn range(&mut self, key: &str, x: f64, lo: f64, hi: f64, allowed: &str) {
        if !(x.is_finite() && x >= lo && x <= hi) {
            self.push(key, fmt_f(x), allowed);
        }
    }
    fn range_open_low(&mut self, key: &str, x: f64, lo: f64, hi: f64, allowed: &str) {
        if !(x.is_finite() && x > lo && x <= hi) {
            self.push(key, fmt_f(x), allowed);
        }
    }
    fn range_open_high(&mut self, key: &str, x: f64, lo: f64, hi: f64, allowed: &str) {
        if !(x.is_finite() && x >= lo && x < hi) {
            self.push(key, fmt_f(x), allowed);
        }
    }
}

/// Shortest round-tripping decimal form of a float (`1`, `0.25`, `1e-9`, `NaN`).
fn fmt_f(x: f64) -> String {
    format!("{x}")
}
