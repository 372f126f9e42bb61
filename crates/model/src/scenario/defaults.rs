//! The embedded default scenario. Every value cites its row of docs/PARAMETERS.md, the data file it
//! comes from, or says it is a judgement; the notes are printed by `scenario show`
//! ([`super::annotated`]).

use super::*;

/// Market state of the default scenario: `hashpivot_data::market_state()`, the newest state of
/// the data that ships with the product (computed once).
pub mod market {
    use std::sync::OnceLock;

    pub use hashpivot_data::MarketState;

    static STATE: OnceLock<MarketState> = OnceLock::new();
    static ORIGIN: OnceLock<String> = OnceLock::new();

    /// The market state of the default scenario: the one [`install`]ed, else the shipped one
    /// (the same code path as `hashpivot calibrate`).
    pub fn state() -> &'static MarketState {
        STATE.get_or_init(hashpivot_data::market_state)
    }

    /// Makes `state` (e.g. the newest state of a synced store) the default scenario's market
    /// state, with `origin` saying where it comes from (e.g. `synced from https://mempool.space`).
    /// Only before the first [`state`]; returns false (and changes nothing) after it.
    pub fn install(state: MarketState, origin: String) -> bool {
        let ok = STATE.set(state).is_ok();
        if ok {
            let _ = ORIGIN.set(origin);
        }
        ok
    }

    /// Where an [`install`]ed state comes from; `None` for the shipped data.
    pub fn origin() -> Option<&'static str> {
        ORIGIN.get().map(String::as_str)
    }

    /// Where the default scenario's market state comes from, for every command's output (so
    /// `machine`, `payback`, `simulate` and `hashprice` say which "today" they start from).
    pub const SOURCE: &str = "shipped data";

    /// `market state 2026-08-22, shipped data`: the date and source of [`state`].
    pub fn label() -> String {
        format!(
            "market state {}, {}",
            state().date,
            origin().unwrap_or(SOURCE)
        )
    }
}

impl Default for Run {
    fn default() -> Self {
        Run {
            horizon_years: 15.0,
            paths: 10_000,
            seed: 42,
            currency: Currency::Usd,
        }
    }
}

impl Default for Chain {
    fn default() -> Self {
        let m = market::state();
        Chain {
            height: u64::from(m.height),
            difficulty: m.difficulty,
            hashrate_ehs: Some(m.hashrate_ehs),
            epoch_elapsed_days: Some(m.epoch_elapsed_days),
        }
    }
}

impl Default for Price {
    fn default() -> Self {
        Price {
            spot: market::state().spot_usd,
            drift: 0.11,
            vol: 0.47,
        }
    }
}

impl Default for Fees {
    fn default() -> Self {
        Fees {
            btc_per_block: market::state().fees_btc_per_block,
            speed: 2.0,
            vol: 0.8,
        }
    }
}

impl Default for Hashrate {
    fn default() -> Self {
        Hashrate {
            speed_up: 1.0,
            speed_down: 4.0,
            vol: 0.15,
            marginal_efficiency_jth: 18.0,
            efficiency_decline: 0.08,
            efficiency_floor_jth: 5.0,
            marginal_power_usd_mwh: 45.0,
            power_share: 0.5,
        }
    }
}

impl Default for Site {
    fn default() -> Self {
        Site {
            power_mw: 1000.0,
            power_usd_mwh: 38.0,
            power_escalator: 0.02,
            terminal_multiple: 0.0,
        }
    }
}

impl Default for Mining {
    fn default() -> Self {
        let b = |model: &str, units: f64, hashrate_ths: f64, power_w: f64| Batch {
            model: model.to_string(),
            units,
            hashrate_ths,
            power_w,
        };
        Mining {
            overhead: 1.05,
            uptime: 0.97,
            pool_fee: 0.02,
            curtail: true,
            opex_usd_per_mw_month: 4000.0,
            salvage_usd_per_th: 3.0,
            refresh_every_years: 4.0,
            hw_days_of_hashprice: 590.0,
            discount_rate: 0.15,
            fleet: vec![
                b("Antminer S19 XP", 40_000.0, 140.0, 3010.0),
                b("Whatsminer M60S", 60_000.0, 186.0, 3441.0),
                b("Antminer S21", 60_000.0, 200.0, 3500.0),
                b("Antminer S21 Pro", 60_000.0, 234.0, 3510.0),
                b("Antminer S21 XP Hyd", 30_000.0, 473.0, 5676.0),
            ],
        }
    }
}

impl Default for Ai {
    fn default() -> Self {
        Ai {
            it_mw_per_gross_mw: 0.77,
            capex_usd_per_mw_it: 9.5e6,
            build_months: 12.0,
            lease_usd_per_kw_month: 130.0,
            lease_escalator: 0.03,
            lease_term_years: 15.0,
            renewal_probability: 0.8,
            tenant_default_rate: 0.02,
            noi_margin: 0.85,
            discount_rate: 0.08,
            lease_drift: 0.0,
            lease_vol: 0.15,
            lease_price_corr: 0.0,
            mode: AiMode::Lease,
            build_delay_months: 2.0,
            capex_overrun: 0.1,
            capex_overrun_vol: 0.15,
            mine_during_build: true,
            default_events: true,
            backstop_months: 48.0,
            relet_months: 12.0,
        }
    }
}

/// What a scenario FILE gets for a MODEL.md §8 key it leaves out: the risk off, so a version-1
/// file gives version-1 numbers bit for bit. The embedded default ([`Ai::default`]) sets them on
/// with sourced values; `scenario show` prints every key, so a file written from it keeps them.
pub(super) mod absent {
    /// No delay, no overrun, no spread, no backstop.
    pub fn zero() -> f64 {
        0.0
    }
    /// Mining stops on the decision day; tenant risk as the expected-value factors of §5.
    pub fn off() -> bool {
        false
    }
    /// An emptied hall is never re-let (`ai.relet_months = -1`).
    pub fn never() -> f64 {
        -1.0
    }
}

impl Ai {
    /// The `[ai]` of a scenario file that has no `[ai]` table: the default lease terms with
    /// MODEL.md §8 off (see [`absent`]).
    pub fn when_absent() -> Ai {
        let mut a = Ai::default();
        a.set_risks_off();
        a
    }

    /// Turns MODEL.md section 8 off: no build delay, no capex overrun, the converted machines
    /// leave on the decision day, and tenant default and non-renewal as the expected-value
    /// factors of section 5 (version 1's AI side, priced linearly and bit for bit as before).
    pub fn set_risks_off(&mut self) {
        self.build_delay_months = 0.0;
        self.capex_overrun = 0.0;
        self.capex_overrun_vol = 0.0;
        self.mine_during_build = false;
        self.default_events = false;
        self.backstop_months = 0.0;
        self.relet_months = -1.0;
    }
}

impl Default for Finance {
    fn default() -> Self {
        Finance {
            ltc: 0.8,
            debt_rate: 0.0775,
            tenor_years: 10.0,
            cost_of_equity: 0.12,
            min_dscr: 1.25,
            fund_gpus: false,
        }
    }
}

impl Default for Cloud {
    /// IREN–Microsoft (PARAMETERS.md 'GPU cloud instead of a lease'): 200 MW(IT), 5 years,
    /// $9.7 B, i.e. $9.7 M per MW(IT)-year, GPUs ≈ $29 M per MW(IT); the rest is judgement,
    /// marked as such in `scenario show`.
    fn default() -> Self {
        Cloud {
            gpu_capex_usd_per_mw_it: 29e6,
            revenue_usd_per_mw_it_year: 9.7e6,
            utilization: 0.95,
            opex_share: 0.1,
            gpu_life_years: 5.0,
            contract_years: 5.0,
            refresh: true,
            price_drift: -0.2,
            price_vol: 0.3,
            discount_rate: 0.1,
        }
    }
}

impl Default for Strategy {
    fn default() -> Self {
        Strategy {
            kind: StrategyKind::Sweep,
            share: 1.0,
            schedule: vec![(0, 0.5), (580, 0.5)],
            shares: vec![0.0, 0.25, 0.5, 0.75, 1.0],
            tranches: 4,
            decide_months: 36,
            pilot_paths: None,
        }
    }
}

impl Default for Scenario {
    /// The embedded default scenario: a 1 GW Texas site with a mixed fleet, market state as of the
    /// newest shipped data, the conversion's risks (MODEL.md §8) and its project debt (§10) on.
    /// `hashpivot scenario show` prints it with the source of every value.
    fn default() -> Self {
        Scenario {
            run: Run::default(),
            chain: Chain::default(),
            price: Price::default(),
            fees: Fees::default(),
            hashrate: Hashrate::default(),
            site: Site::default(),
            mining: Mining::default(),
            ai: Ai::default(),
            strategy: Strategy::default(),
            power: None,
            dispatch: None,
            // Financing on at published terms (MODEL.md §10, PARAMETERS 'Backstopped project
            // debt'); a scenario file without [finance] stays unlevered (version 1).
            finance: Some(Finance::default()),
            cloud: None,
        }
    }
}
