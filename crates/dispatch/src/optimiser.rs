//! The hour-by-hour dispatch optimiser: per batch, per hour, run or not against hourly power
//! prices, optionally under minimum run/off times and ERCOT 4CP avoidance, with totals for energy,
//! cost, revenue, BTC, demand-response credits and savings (MODEL.md §4, with the flat site price
//! replaced by hourly prices).

use hashpivot_data::ercot::HourlySeries;
use hashpivot_model::power::DispatchConfig;
use serde::Serialize;

use crate::{invalid, DispatchError};

/// Break-even power price of a machine, $/MWh of facility energy: revenue per MWh it consumes
/// (see the module doc). Independent of the unit count and of `mining.uptime`.
pub fn breakeven_usd_mwh(
    hashrate_ths: f64,
    power_w: f64,
    overhead: f64,
    hv_btc_per_th_day: f64,
    pool_fee: f64,
    spot_usd: f64,
) -> f64 {
    hashrate_ths * hv_btc_per_th_day * (1.0 - pool_fee) * spot_usd
        / (power_w * overhead * 24.0 / 1e6)
}

/// One batch of the fleet to dispatch.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FleetBatch {
    /// Model name.
    pub model: String,
    /// Number of machines (fractional allowed, ≥ 0).
    pub units: f64,
    /// TH/s per machine.
    pub hashrate_ths: f64,
    /// Watts per machine at the wall.
    pub power_w: f64,
}

impl FleetBatch {
    /// The scenario's `[[mining.fleet]]` batches, in order (the CLI's and the dashboard's study).
    pub fn of_scenario(sc: &hashpivot_model::Scenario) -> Vec<FleetBatch> {
        sc.mining
            .fleet
            .iter()
            .map(|b| FleetBatch {
                model: b.model.clone(),
                units: b.units,
                hashrate_ths: b.hashrate_ths,
                power_w: b.power_w,
            })
            .collect()
    }
}

/// Site inputs of a dispatch run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DispatchSite {
    /// `mining.overhead` (PUE ≥ 1).
    pub overhead: f64,
    /// `mining.pool_fee`, in [0, 1).
    pub pool_fee: f64,
    /// `mining.uptime`: technical availability in [0, 1], applied to every hour (energy, revenue,
    /// credits) and independent of prices.
    pub availability: f64,
}

/// Bitcoin market of one hour.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct HourMarket {
    /// Hashvalue, BTC per PH/s per day (MODEL.md §2).
    pub hv_btc_per_ph_day: f64,
    /// BTC price, USD (hashprice = `hv × btc_usd`).
    pub btc_usd: f64,
}

/// The bitcoin market over the hours of a dispatch run.
#[derive(Debug, Clone, PartialEq)]
pub enum Market {
    /// One hashvalue and price for every hour.
    Constant(HourMarket),
    /// One per hour of the series (e.g. the historical daily hashprice repeated over its hours).
    Hourly(Vec<HourMarket>),
}

impl Market {
    /// Mean hashprice over the hours, USD per PH/s per day.
    pub fn mean_hashprice(&self) -> f64 {
        match self {
            Market::Constant(m) => m.hv_btc_per_ph_day * m.btc_usd,
            Market::Hourly(v) => {
                v.iter()
                    .map(|m| m.hv_btc_per_ph_day * m.btc_usd)
                    .sum::<f64>()
                    / v.len() as f64
            }
        }
    }

    fn at(&self, h: usize) -> HourMarket {
        match self {
            Market::Constant(m) => *m,
            Market::Hourly(v) => v[h],
        }
    }
}

/// Dispatch totals of one batch or of the site. See [`dispatch`] for the exact formulas.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize)]
pub struct DispatchTotals {
    /// Energy consumed over the energy of running every hour, times availability:
    /// `availability × hours run / hours` for a batch, energy-weighted for the site.
    pub uptime: f64,
    /// Facility energy bought, MWh.
    pub energy_mwh: f64,
    /// `power_cost_usd / energy_mwh`, $/MWh (0 if nothing ran).
    pub avg_price_usd_mwh: f64,
    /// Mining revenue, USD (Σ BTC mined each hour × that hour's BTC price).
    pub revenue_usd: f64,
    /// Power bought, USD (Σ hourly energy × price; negative prices pay the site).
    pub power_cost_usd: f64,
    /// BTC mined.
    pub btc_mined: f64,
    /// BTC not mined in curtailed hours.
    pub btc_forgone: f64,
    /// Facility energy not consumed in curtailed hours, MWh.
    pub curtailed_mwh: f64,
    /// Σ over curtailed hours of (power cost avoided − revenue forgone), USD; equals
    /// `(revenue − power cost)` minus the same for running every hour. Negative when 4CP or a
    /// minimum-run rule forces a batch off in profitable hours.
    pub curtailment_savings_usd: f64,
    /// Demand-response credits, USD: `credit_usd_mwh × curtailed_mwh`.
    pub credits_usd: f64,
    /// Transmission charge avoided by 4CP avoidance, USD: `fourcp_usd_kw_year × facility kW ×
    /// availability × summers` (0 without 4CP avoidance).
    pub fourcp_savings_usd: f64,
    /// `revenue − power cost + credits + 4CP savings`, USD (before opex).
    pub margin_usd: f64,
    /// Revenue of running every hour, USD (the no-curtailment reference).
    pub flat_out_revenue_usd: f64,
    /// Power cost of running every hour, USD.
    pub flat_out_power_cost_usd: f64,
    /// `revenue − power cost` of running every hour, USD.
    pub flat_out_margin_usd: f64,
}

impl DispatchTotals {
    /// What flexibility earns: curtailment savings + credits + 4CP savings, USD.
    pub fn flexibility_usd(&self) -> f64 {
        self.curtailment_savings_usd + self.credits_usd + self.fourcp_savings_usd
    }

    /// The same site never curtailed (running every hour at `availability`): uptime, mean price
    /// paid, revenue and power cost of the `flat_out_*` figures; the rest zero.
    pub fn never_curtailed(&self, availability: f64) -> DispatchTotals {
        let full_mwh = self.energy_mwh + self.curtailed_mwh;
        DispatchTotals {
            uptime: availability,
            avg_price_usd_mwh: if full_mwh > 0.0 {
                self.flat_out_power_cost_usd / full_mwh
            } else {
                0.0
            },
            revenue_usd: self.flat_out_revenue_usd,
            power_cost_usd: self.flat_out_power_cost_usd,
            margin_usd: self.flat_out_margin_usd,
            ..DispatchTotals::default()
        }
    }
}

/// One batch's dispatch result.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BatchDispatch {
    /// Model name.
    pub model: String,
    /// Machines.
    pub units: f64,
    /// Break-even power price, $/MWh: revenue per MWh when running. With an hourly hashprice, the
    /// mean over the hours (Σ revenue / Σ energy of running every hour).
    pub breakeven_usd_mwh: f64,
    /// Hours run.
    pub hours_run: usize,
    /// Hours switched off by 4CP avoidance.
    pub fourcp_hours_off: usize,
    /// Totals.
    #[serde(flatten)]
    pub totals: DispatchTotals,
}

/// Result of [`dispatch`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DispatchReport {
    /// Hours in the series.
    pub hours: usize,
    /// Summers of 4CP exposure in the series (each June–September month with a peak-risk hour
    /// counts 1/4).
    pub fourcp_summers: f64,
    /// The whole site (sum over batches).
    pub site: DispatchTotals,
    /// Per batch, in fleet order.
    pub batches: Vec<BatchDispatch>,
}

/// Hour-by-hour dispatch of `fleet` against `series`.
///
/// Per batch `i` and hour `h` (availability `a`, overhead `o`, pool fee `f`, hashvalue `hv_h` BTC
/// per PH/s per day, BTC price `S_h`):
///
/// ```text
/// e_i     = a · units · power_w · o / 1e6                   MWh bought per hour run
/// btc_ih  = a · units · hashrate_ths/1000 · hv_h/24 · (1−f) BTC per hour run
/// rev_ih  = btc_ih · S_h                                    USD per hour run
/// run     = e_i · p_h ≤ rev_ih  (i.e. p_h ≤ B_ih = rev_ih / e_i), except:
///           4CP peak-risk hours are off; with min_run_hours or min_off_hours > 1 the schedule is
///           the one maximising Σ_run (rev_ih − e_i · p_h) under those constraints (an exact
///           dynamic programme over the states "on/off for k hours")
/// ```
///
/// Totals sum over hours; `btc_forgone`, `curtailed_mwh`, savings and credits over the hours off.
/// A schedule chosen by price alone (no 4CP) never has a lower margin than running every hour:
/// running every hour is feasible and the schedule maximises margin.
pub fn dispatch(
    series: &HourlySeries,
    fleet: &[FleetBatch],
    site: &DispatchSite,
    market: &Market,
    cfg: &DispatchConfig,
) -> Result<DispatchReport, DispatchError> {
    validate_inputs(series, fleet, site, market)?;
    cfg.validate()?;
    let n = series.len();
    let forced: Vec<bool> = if cfg.fourcp_hours.is_empty() {
        vec![false; n]
    } else {
        series.hours.iter().map(|h| cfg.is_fourcp_hour(h)).collect()
    };
    let summers = fourcp_summers(series, cfg);
    // BTC and USD per PH/s-hour after the pool fee, per hour (shared by all batches).
    let per_ph: Vec<(f64, f64)> = (0..n)
        .map(|h| {
            let m = market.at(h);
            let btc = m.hv_btc_per_ph_day / 24.0 * (1.0 - site.pool_fee);
            (btc, btc * m.btc_usd)
        })
        .collect();
    let hours = Hours {
        forced: &forced,
        per_ph: &per_ph,
        summers,
    };
    let mut work = (vec![0.0; n], vec![false; n]);
    let mut batches = Vec::with_capacity(fleet.len());
    let mut site_t = DispatchTotals::default();
    let mut site_full_mwh = 0.0;
    for b in fleet {
        let (batch, full_mwh) = dispatch_batch(b, series, site, market, cfg, &hours, &mut work);
        site_full_mwh += full_mwh;
        add(&mut site_t, &batch.totals);
        batches.push(batch);
    }
    // Site uptime is energy-weighted: energy bought over the energy of running every hour (that
    // reference already includes availability, so multiply it back in once).
    site_t.uptime = if site_full_mwh > 0.0 {
        site.availability * site_t.energy_mwh / site_full_mwh
    } else {
        0.0
    };
    site_t.avg_price_usd_mwh = if site_t.energy_mwh > 0.0 {
        site_t.power_cost_usd / site_t.energy_mwh
    } else {
        0.0
    };
    Ok(DispatchReport {
        hours: n,
        fourcp_summers: summers,
        site: site_t,
        batches,
    })
}

/// The per-hour inputs shared by every batch of a run.
struct Hours<'a> {
    /// 4CP peak-risk hours (forced off).
    forced: &'a [bool],
    /// BTC and USD per PH/s-hour after the pool fee.
    per_ph: &'a [(f64, f64)],
    /// Summers of 4CP exposure.
    summers: f64,
}

/// One batch's schedule and totals; also returns its facility energy of running every hour
/// (for the site's energy-weighted uptime). `work` is scratch (gains, schedule) reused per batch.
fn dispatch_batch(
    b: &FleetBatch,
    series: &HourlySeries,
    site: &DispatchSite,
    market: &Market,
    cfg: &DispatchConfig,
    hours: &Hours<'_>,
    work: &mut (Vec<f64>, Vec<bool>),
) -> (BatchDispatch, f64) {
    let (gain, run) = (&mut work.0, &mut work.1);
    let (forced, per_ph, summers) = (hours.forced, hours.per_ph, hours.summers);
    let n = series.len();
    let e = site.availability * b.units * b.power_w * site.overhead / 1e6;
    let ph = site.availability * b.units * b.hashrate_ths / 1000.0;
    for h in 0..n {
        gain[h] = ph * per_ph[h].1 - e * series.usd_mwh[h];
    }
    schedule(gain, forced, cfg.min_run_hours, cfg.min_off_hours, run);
    let mut t = DispatchTotals::default();
    let (mut hours_run, mut fourcp_off) = (0usize, 0usize);
    let (mut rev_all, mut cost_all) = (0.0, 0.0);
    for h in 0..n {
        let p = series.usd_mwh[h];
        let (btc, rev) = (ph * per_ph[h].0, ph * per_ph[h].1);
        rev_all += rev;
        cost_all += e * p;
        if run[h] {
            hours_run += 1;
            t.power_cost_usd += e * p;
            t.btc_mined += btc;
            t.revenue_usd += rev;
        } else {
            t.btc_forgone += btc;
            t.curtailment_savings_usd += e * p - rev;
            if forced[h] {
                fourcp_off += 1;
            }
        }
    }
    let off = (n - hours_run) as f64;
    t.energy_mwh = e * hours_run as f64;
    t.curtailed_mwh = e * off;
    t.credits_usd = cfg.credit_usd_mwh * t.curtailed_mwh;
    let kw = e * 1e3;
    t.fourcp_savings_usd = if cfg.fourcp_hours.is_empty() {
        0.0
    } else {
        cfg.fourcp_usd_kw_year * kw * summers
    };
    t.flat_out_revenue_usd = rev_all;
    t.flat_out_power_cost_usd = cost_all;
    t.flat_out_margin_usd = rev_all - cost_all;
    t.margin_usd = t.revenue_usd - t.power_cost_usd + t.credits_usd + t.fourcp_savings_usd;
    t.uptime = site.availability * hours_run as f64 / n as f64;
    t.avg_price_usd_mwh = if t.energy_mwh > 0.0 {
        t.power_cost_usd / t.energy_mwh
    } else {
        0.0
    };
    let be = match market {
        Market::Constant(m) => breakeven_usd_mwh(
            b.hashrate_ths,
            b.power_w,
            site.overhead,
            m.hv_btc_per_ph_day / 1000.0,
            site.pool_fee,
            m.btc_usd,
        ),
        Market::Hourly(_) => {
            let full = b.units * b.power_w * site.overhead / 1e6 * n as f64;
            let rev = b.units * b.hashrate_ths / 1000.0 * per_ph.iter().map(|x| x.1).sum::<f64>();
            rev / full
        }
    };
    let batch = BatchDispatch {
        model: b.model.clone(),
        units: b.units,
        breakeven_usd_mwh: be,
        hours_run,
        fourcp_hours_off: fourcp_off,
        totals: t,
    };
    (batch, e * n as f64)
}

fn add(s: &mut DispatchTotals, t: &DispatchTotals) {
    s.energy_mwh += t.energy_mwh;
    s.revenue_usd += t.revenue_usd;
    s.power_cost_usd += t.power_cost_usd;
    s.btc_mined += t.btc_mined;
    s.btc_forgone += t.btc_forgone;
    s.curtailed_mwh += t.curtailed_mwh;
    s.curtailment_savings_usd += t.curtailment_savings_usd;
    s.credits_usd += t.credits_usd;
    s.fourcp_savings_usd += t.fourcp_savings_usd;
    s.margin_usd += t.margin_usd;
    s.flat_out_revenue_usd += t.flat_out_revenue_usd;
    s.flat_out_power_cost_usd += t.flat_out_power_cost_usd;
    s.flat_out_margin_usd += t.flat_out_margin_usd;
}

fn validate_inputs(
    series: &HourlySeries,
    fleet: &[FleetBatch],
    site: &DispatchSite,
    market: &Market,
) -> Result<(), DispatchError> {
    if series.is_empty() {
        return Err(DispatchError::Empty {
            label: series.label.clone(),
            hint: String::new(),
        });
    }
    if series.hours.len() != series.usd_mwh.len() {
        return Err(invalid(
            "prices",
            format!(
                "{} stamps, {} prices",
                series.hours.len(),
                series.usd_mwh.len()
            ),
            "one price per hour",
        ));
    }
    if let Some((i, p)) = series
        .usd_mwh
        .iter()
        .enumerate()
        .find(|(_, p)| !p.is_finite())
    {
        return Err(invalid(
            format!("{} hour {}", series.label, series.hours[i]),
            p,
            "a finite $/MWh",
        ));
    }
    if fleet.is_empty() {
        return Err(invalid("mining.fleet", "[]", "at least one batch"));
    }
    for (i, b) in fleet.iter().enumerate() {
        let ok = |x: f64, lo: f64, open: bool| x.is_finite() && if open { x > lo } else { x >= lo };
        if !ok(b.units, 0.0, false) {
            return Err(invalid(
                format!("mining.fleet[{i}].units"),
                b.units,
                "x >= 0 machines",
            ));
        }
        if !ok(b.hashrate_ths, 0.0, true) {
            return Err(invalid(
                format!("mining.fleet[{i}].hashrate_ths"),
                b.hashrate_ths,
                "x > 0 TH/s",
            ));
        }
        if !ok(b.power_w, 0.0, true) {
            return Err(invalid(
                format!("mining.fleet[{i}].power_w"),
                b.power_w,
                "x > 0 W",
            ));
        }
    }
    if !(site.overhead.is_finite() && site.overhead >= 1.0) {
        return Err(invalid("mining.overhead", site.overhead, "x >= 1 (a PUE)"));
    }
    if !(site.pool_fee.is_finite() && (0.0..1.0).contains(&site.pool_fee)) {
        return Err(invalid("mining.pool_fee", site.pool_fee, "0 <= x < 1"));
    }
    if !(site.availability.is_finite() && (0.0..=1.0).contains(&site.availability)) {
        return Err(invalid("mining.uptime", site.availability, "0 <= x <= 1"));
    }
    let hours: &[HourMarket] = match market {
        Market::Constant(m) => std::slice::from_ref(m),
        Market::Hourly(v) => {
            if v.len() != series.len() {
                return Err(invalid(
                    "hashprice",
                    format!("{} hourly values", v.len()),
                    format!("one per hour of the price series ({})", series.len()),
                ));
            }
            v
        }
    };
    for m in hours {
        if !(m.hv_btc_per_ph_day.is_finite() && m.hv_btc_per_ph_day >= 0.0) {
            return Err(invalid(
                "hashvalue",
                m.hv_btc_per_ph_day,
                "x >= 0 BTC/PH/day",
            ));
        }
        if !(m.btc_usd.is_finite() && m.btc_usd > 0.0) {
            return Err(invalid("btc price", m.btc_usd, "x > 0 USD"));
        }
    }
    Ok(())
}

/// Summers of 4CP exposure: distinct (year, month) in June–September with a peak-risk hour, / 4.
fn fourcp_summers(series: &HourlySeries, cfg: &DispatchConfig) -> f64 {
    if cfg.fourcp_hours.is_empty() {
        return 0.0;
    }
    let mut months: Vec<(u16, u8)> = series
        .hours
        .iter()
        .filter(|h| cfg.is_fourcp_hour(h))
        .map(|h| (h.year(), h.month()))
        .collect();
    months.sort_unstable();
    months.dedup();
    months.len() as f64 / 4.0
}

/// Fills `run` with a batch's on/off schedule from its hourly gains `rev − cost` (see
/// [`dispatch`]). A zero gain runs (revenue ≥ cost).
fn schedule(gain: &[f64], forced: &[bool], min_on: u32, min_off: u32, run: &mut [bool]) {
    if min_on <= 1 && min_off <= 1 {
        for ((r, &g), &f) in run.iter_mut().zip(gain).zip(forced) {
            *r = !f && g >= 0.0;
        }
        return;
    }
    schedule_dp(gain, forced, min_on as usize, min_off as usize, run);
}

/// Exact schedule under minimum on/off times: maximise Σ_on gain_h.
///
/// States: `on(k)`, k = 1..=U hours on (k = U meaning "U or more"), `off(k)`, k = 1..=D. From
/// `on(k)` the batch may stop only if k = U, from `off(k)` start only if k = D; a forced (4CP) hour
/// is off whatever the state (a forced stop overrides the minimum run). Before the first hour the
/// batch may be in either settled state (`on(U)` or `off(D)`); the last hours may end a run early.
/// O(hours × (U + D)) time, hours × (U + D) × 2 bytes of back-pointers.
fn schedule_dp(gain: &[f64], forced: &[bool], u: usize, d: usize, run: &mut [bool]) {
    let n = gain.len();
    let s = u + d; // index k-1 for on(k), u + k-1 for off(k)
    const NEG: f64 = f64::NEG_INFINITY;
    let mut val = vec![NEG; s];
    let mut next = vec![NEG; s];
    let mut from = vec![u16::MAX; n * s];
    val[u - 1] = 0.0;
    val[u + d - 1] = 0.0;
    for h in 0..n {
        next.iter_mut().for_each(|v| *v = NEG);
        let g = gain[h];
        let f = forced[h];
        let row = &mut from[h * s..(h + 1) * s];
        let mut relax = |to: usize, v: f64, pred: usize, next: &mut [f64]| {
            if v > next[to] {
                next[to] = v;
                row[to] = pred as u16;
            }
        };
        for (st, &v) in val.iter().enumerate() {
            if v == NEG {
                continue;
            }
            if st < u {
                let k = st + 1;
                if !f {
                    relax((k + 1).min(u) - 1, v + g, st, &mut next);
                }
                if k == u || f {
                    relax(u, v, st, &mut next);
                }
            } else {
                let k = st - u + 1;
                relax(u + (k + 1).min(d) - 1, v, st, &mut next);
                if k == d && !f {
                    relax(0, v + g, st, &mut next);
                }
            }
        }
        std::mem::swap(&mut val, &mut next);
    }
    // Best final state; "on" states come first, so exact ties run.
    let mut best = 0;
    for st in 1..s {
        if val[st] > val[best] {
            best = st;
        }
    }
    let mut st = best;
    for h in (0..n).rev() {
        run[h] = st < u;
        st = from[h * s + st] as usize;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hashpivot_data::ercot::HourStamp;
    use hashpivot_model::power::DurationCurve;
    use proptest::prelude::*;

    fn stamp(y: u16, m: u8, d: u8, he: u8) -> HourStamp {
        HourStamp::new(y, m, d, he, false).unwrap()
    }

    fn day(s: &str) -> hashpivot_data::Date {
        s.parse().unwrap()
    }

    /// A series of consecutive hours starting 2024-01-01 HE01 (a Monday).
    fn series(prices: &[f64]) -> HourlySeries {
        let mut hours = Vec::new();
        let (mut d, mut he) = (1u8, 1u8);
        for _ in prices {
            hours.push(stamp(2024, 1, d, he));
            he += 1;
            if he > 24 {
                he = 1;
                d += 1;
            }
        }
        HourlySeries {
            label: "test".into(),
            hours,
            usd_mwh: prices.to_vec(),
        }
    }

    /// One machine of 100 TH/s and 2000 W, overhead 1, no fee, availability 1, BTC at $100,000 and
    /// hashvalue such that it earns exactly `be` $ per MWh: 100 TH/s = 0.1 PH/s draws 0.048 MWh/day,
    /// so `hv = be × 0.048 / (0.1 × 100000)` BTC per PH/s per day.
    fn unit_site(be: f64) -> (Vec<FleetBatch>, DispatchSite, Market) {
        let fleet = vec![FleetBatch {
            model: "M".into(),
            units: 1.0,
            hashrate_ths: 100.0,
            power_w: 2000.0,
        }];
        let site = DispatchSite {
            overhead: 1.0,
            pool_fee: 0.0,
            availability: 1.0,
        };
        let market = Market::Constant(HourMarket {
            hv_btc_per_ph_day: be * 0.048 / (0.1 * 100_000.0),
            btc_usd: 100_000.0,
        });
        (fleet, site, market)
    }

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
    }

    #[test]
    fn hand_made_series_exact_uptime_and_cost() {
        // Break-even $40/MWh: runs in the hours at 10, 30, -5, 20 (4 of 6), stops at 50 and 100.
        let prices = [10.0, 50.0, 30.0, 100.0, -5.0, 20.0];
        let (fleet, site, market) = unit_site(40.0);
        let r = dispatch(
            &series(&prices),
            &fleet,
            &site,
            &market,
            &DispatchConfig::default(),
        )
        .unwrap();
        let b = &r.batches[0];
        assert!(close(b.breakeven_usd_mwh, 40.0, 1e-12));
        assert_eq!(b.hours_run, 4);
        let t = &b.totals;
        assert_eq!(t.uptime, 4.0 / 6.0);
        // 2 kW → 0.002 MWh per hour.
        assert!(close(t.energy_mwh, 0.008, 1e-12));
        assert!(close(t.power_cost_usd, 0.002 * 55.0, 1e-12));
        assert!(close(t.avg_price_usd_mwh, 55.0 / 4.0, 1e-12));
        // Revenue $40/MWh × 0.002 MWh = $0.08 per hour run.
        assert!(close(t.revenue_usd, 4.0 * 0.08, 1e-12));
        assert!(close(t.btc_mined, 4.0 * 0.08 / 100_000.0, 1e-12));
        assert!(close(t.btc_forgone, 2.0 * 0.08 / 100_000.0, 1e-12));
        // Savings: hours at 50 and 100 avoided 0.002 × 150 = 0.30 of power, forwent 0.16 revenue.
        assert!(close(t.curtailment_savings_usd, 0.30 - 0.16, 1e-12));
        assert!(close(
            t.flat_out_margin_usd,
            6.0 * 0.08 - 0.002 * 205.0,
            1e-12
        ));
        assert!(close(
            t.margin_usd - t.flat_out_margin_usd,
            t.curtailment_savings_usd,
            1e-12
        ));
        assert_eq!(t.credits_usd, 0.0);
        assert_eq!(r.site, *t);
    }

    #[test]
    fn credits_are_paid_on_curtailed_energy() {
        let prices = [10.0, 50.0, 30.0, 100.0];
        let (fleet, mut site, market) = unit_site(40.0);
        site.availability = 0.5;
        let cfg = DispatchConfig {
            credit_usd_mwh: 10.0,
            ..DispatchConfig::default()
        };
        let r = dispatch(&series(&prices), &fleet, &site, &market, &cfg).unwrap();
        let t = &r.site;
        // 2 hours off × 0.002 MWh × availability 0.5 = 0.002 MWh curtailed → $0.02.
        assert!(close(t.curtailed_mwh, 0.002, 1e-12));
        assert!(close(t.credits_usd, 0.02, 1e-12));
        assert_eq!(t.uptime, 0.25);
        assert!(close(
            t.margin_usd - t.flat_out_margin_usd,
            t.curtailment_savings_usd + t.credits_usd,
            1e-12
        ));
    }

    #[test]
    fn min_run_by_hand() {
        // Break-even 40. Greedy: on, off, on, off, on. With min_run = min_off = 2 the best
        // feasible schedule keeps running through the single expensive hours when cheaper than
        // stopping: gains +30, -10, +30, -10, +30 → run all (gain 70) beats any schedule with an
        // interior off-run of length 1 (not allowed) or 2 (drops a +30).
        let prices = [10.0, 50.0, 10.0, 50.0, 10.0];
        let (fleet, site, market) = unit_site(40.0);
        let cfg = DispatchConfig {
            min_run_hours: 2,
            min_off_hours: 2,
            ..DispatchConfig::default()
        };
        let r = dispatch(&series(&prices), &fleet, &site, &market, &cfg).unwrap();
        assert_eq!(r.batches[0].hours_run, 5);
        // A long expensive stretch is worth stopping for.
        let prices = [10.0, 500.0, 500.0, 500.0, 10.0, 10.0];
        let r = dispatch(&series(&prices), &fleet, &site, &market, &cfg).unwrap();
        assert_eq!(r.batches[0].hours_run, 3);
        // min_run 3: an isolated cheap pair between expensive hours is not worth a 3-hour run.
        let cfg3 = DispatchConfig {
            min_run_hours: 3,
            ..DispatchConfig::default()
        };
        let prices = [200.0, 200.0, 10.0, 10.0, 200.0, 200.0, 200.0];
        let r = dispatch(&series(&prices), &fleet, &site, &market, &cfg3).unwrap();
        assert_eq!(r.batches[0].hours_run, 0);
    }

    /// Best objective over every feasible schedule (the rules of `schedule_dp`, stated directly on
    /// runs): interior on-runs last ≥ U hours unless a forced hour ends them; off-runs followed by
    /// an on-run and not starting at hour 0 last ≥ D; forced hours are off; the first run (settled
    /// before the series) and the last run (truncated) are free.
    fn brute(prices: &[f64], forced: &[bool], be: f64, u: usize, d: usize) -> f64 {
        let n = prices.len();
        let mut best = f64::NEG_INFINITY;
        'm: for mask in 0u32..(1 << n) {
            let on = |h: usize| mask >> h & 1 == 1;
            if (0..n).any(|h| forced[h] && on(h)) {
                continue 'm;
            }
            let mut a = 0;
            while a < n {
                let mut b = a;
                while b + 1 < n && on(b + 1) == on(a) {
                    b += 1;
                }
                let len = b - a + 1;
                let interior = a > 0 && b + 1 < n;
                if on(a) && interior && len < u && !forced[b + 1] {
                    continue 'm;
                }
                if !on(a) && interior && len < d {
                    continue 'm;
                }
                a = b + 1;
            }
            let v: f64 = (0..n).filter(|&h| on(h)).map(|h| be - prices[h]).sum();
            best = best.max(v);
        }
        best
    }

    #[test]
    fn curve_day_matches_hour_by_hour_dispatch() {
        // The engine's daily answer from the curve equals summing the hour-by-hour dispatch over
        // the same hours (same hashvalue): uptime, mean price, BTC and cost.
        let s = hashpivot_data::ercot::series("ercot:HB_WEST:2023").unwrap();
        let curve = DurationCurve::from_series(&s).unwrap();
        let (fleet, mut site, _) = unit_site(0.0);
        site.overhead = 1.05;
        let market = Market::Constant(HourMarket {
            hv_btc_per_ph_day: 5e-4,
            btc_usd: 80_000.0,
        });
        let r = dispatch(&s, &fleet, &site, &market, &DispatchConfig::default()).unwrap();
        // One unit: 0.1 PH/s, 2000 W × 1.05 → 0.0504 MWh per day, revenue 0.1 × 5e-4 × 80,000.
        let (mwh, rev) = (2000.0 * 1.05 * 24.0 / 1e6, 0.1 * 5e-4 * 80_000.0);
        let q = curve.below(rev / mwh);
        let margin = curve.unit_day(mwh, 1.0, true).margin(rev);
        let days = s.len() as f64 / 24.0;
        let t = &r.site;
        assert!(close(q.share, t.uptime, 1e-12));
        assert!(close(q.mean_usd_mwh, t.avg_price_usd_mwh, 1e-9));
        assert!(close(q.share * rev * days, t.revenue_usd, 1e-9));
        assert!(close(margin * days, t.revenue_usd - t.power_cost_usd, 1e-9));
        assert!(t.uptime > 0.5 && t.uptime < 1.0, "{}", t.uptime);
    }

    #[test]
    fn winter_storm_uri_is_curtailed_without_overflow() {
        // February 2021 HB_WEST: every hour of 13–19 Feb cleared above $100 (up to $9,000.01).
        let s = hashpivot_data::ercot::series("ercot:HB_WEST:2021").unwrap();
        let storm = s.between(Some(day("2021-02-13")), Some(day("2021-02-19")));
        assert_eq!(storm.len(), 7 * 24);
        let feb = s.between(Some(day("2021-02-01")), Some(day("2021-02-28")));
        // A 1 GW fleet of S21s (200 TH/s, 3500 W) at hashprice $45/PH/day: break-even ≈ $102/MWh.
        let fleet = vec![FleetBatch {
            model: "Antminer S21".into(),
            units: 270_000.0,
            hashrate_ths: 200.0,
            power_w: 3500.0,
        }];
        let site = DispatchSite {
            overhead: 1.05,
            pool_fee: 0.02,
            availability: 0.97,
        };
        let market = Market::Constant(HourMarket {
            hv_btc_per_ph_day: 45.0 / 80_000.0,
            btc_usd: 80_000.0,
        });
        let cfg = DispatchConfig {
            credit_usd_mwh: 10.0,
            min_run_hours: 4,
            ..DispatchConfig::default()
        };
        let r = dispatch(&storm, &fleet, &site, &market, &cfg).unwrap();
        let t = &r.site;
        assert_eq!(t.uptime, 0.0, "{t:?}");
        assert_eq!(t.energy_mwh, 0.0);
        // Flat out would have cost ≈ 0.97 × 992 MW × 168 h × $6,000 ≈ $0.97 B.
        assert!(t.flat_out_margin_usd < -5e8 && t.flat_out_margin_usd.is_finite());
        assert!(t.curtailment_savings_usd > 5e8 && t.curtailment_savings_usd.is_finite());
        let r = dispatch(&feb, &fleet, &site, &market, &DispatchConfig::default()).unwrap();
        let t = &r.site;
        assert!(t.uptime < 0.97 * 0.8, "{}", t.uptime);
        assert!(t.avg_price_usd_mwh < 102.0 && t.avg_price_usd_mwh.is_finite());
        for v in [
            t.revenue_usd,
            t.power_cost_usd,
            t.margin_usd,
            t.flat_out_margin_usd,
        ] {
            assert!(v.is_finite());
        }
    }

    #[test]
    fn fourcp_hours_are_forced_off_and_credited() {
        // 2024-07-01 was a Monday, 2024-07-06 a Saturday.
        let mut s = series(&[0.0; 48]);
        for (i, h) in s.hours.iter_mut().enumerate() {
            *h = stamp(2024, 7, if i < 24 { 1 } else { 6 }, (i % 24) as u8 + 1);
        }
        let (fleet, site, market) = unit_site(40.0);
        let cfg = DispatchConfig {
            fourcp_hours: vec![16, 17, 18],
            fourcp_usd_kw_year: 60.0,
            ..DispatchConfig::default()
        };
        let r = dispatch(&s, &fleet, &site, &market, &cfg).unwrap();
        let b = &r.batches[0];
        assert_eq!(b.fourcp_hours_off, 3); // weekdays only: Saturday runs
        assert_eq!(b.hours_run, 45);
        assert_eq!(r.fourcp_summers, 0.25);
        // 2 kW × $60/kW-year × a quarter of a summer.
        assert!(close(b.totals.fourcp_savings_usd, 2.0 * 60.0 * 0.25, 1e-12));
        // Forced off in profitable hours: energy savings are negative (3 h × $0.08 forgone).
        assert!(close(b.totals.curtailment_savings_usd, -0.24, 1e-12));
        let all = DispatchConfig {
            fourcp_weekdays_only: false,
            ..cfg
        };
        assert_eq!(
            dispatch(&s, &fleet, &site, &market, &all).unwrap().batches[0].fourcp_hours_off,
            6
        );
    }

    #[test]
    fn bad_dispatch_inputs_are_named() {
        let (mut fleet, site, market) = unit_site(40.0);
        fleet[0].power_w = 0.0;
        let e = dispatch(
            &series(&[1.0]),
            &fleet,
            &site,
            &market,
            &DispatchConfig::default(),
        )
        .unwrap_err();
        assert!(e.to_string().contains("mining.fleet[0].power_w = 0"), "{e}");
        let (fleet, mut site, market) = unit_site(40.0);
        site.pool_fee = 1.0;
        assert!(dispatch(
            &series(&[1.0]),
            &fleet,
            &site,
            &market,
            &DispatchConfig::default()
        )
        .is_err());
        let (fleet, site, market) = unit_site(40.0);
        assert!(dispatch(
            &series(&[]),
            &fleet,
            &site,
            &market,
            &DispatchConfig::default()
        )
        .is_err());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]


            #[test]
            fn dp_is_optimal(
                prices in prop::collection::vec(-20.0f64..120.0, 1..11),
                forced_bits in 0u32..2048,
                u in 1usize..4,
                d in 1usize..4,
            ) {
                let be = 40.0;
                let n = prices.len();
                let forced: Vec<bool> = (0..n).map(|h| forced_bits >> h & 1 == 1).collect();
                let mut run = vec![false; n];
                let gain: Vec<f64> = prices.iter().map(|p| be - p).collect();
                schedule_dp(&gain, &forced, u, d, &mut run);
                let got: f64 = (0..n).filter(|&h| run[h]).map(|h| be - prices[h]).sum();
                let want = brute(&prices, &forced, be, u, d);
                prop_assert!((got - want).abs() < 1e-9, "dp {got} brute {want} run {run:?}");
                for h in 0..n {
                    prop_assert!(!(forced[h] && run[h]));
                }
            }


            #[test]
            fn curtailment_never_lowers_margin(
                prices in prop::collection::vec(-50.0f64..500.0, 1..200),
                be in 0.0f64..200.0,
                u in 1u32..6,
                d in 1u32..6,
                credit in 0.0f64..30.0,
            ) {
                let (fleet, site, market) = unit_site(be);
                let cfg = DispatchConfig { credit_usd_mwh: credit, min_run_hours: u, min_off_hours: d, ..DispatchConfig::default() };
                let r = dispatch(&series(&prices), &fleet, &site, &market, &cfg).unwrap();
                let t = &r.site;
                prop_assert!(t.curtailment_savings_usd >= -1e-9, "{t:?}");
                prop_assert!(t.margin_usd >= t.flat_out_margin_usd - 1e-9);
                prop_assert!((t.margin_usd - t.flat_out_margin_usd - t.curtailment_savings_usd - t.credits_usd).abs() < 1e-9);
            }
    }
}
