//! The site's daily payoff (MODEL.md sections 4 and 5): the one place that says what a machine
//! earns and pays on a day, what a fleet refresh costs, and what a conversion's AI project is
//! worth. Every consumer of the paths prices its cash with these pieces:
//!
//! - the fixed strategies (`mine`, `convert`, `schedule`, `sweep`: [`crate::strategy::fixed`]),
//! - the slices of `optimal` ([`slices`]),
//! - one machine bought today ([`crate::payback`]).
//!
//! The pieces, per simulated day `t` and lane (path) `i`:
//!
//! 1. [`MiningDay`]: the day's power and pool terms (uptime, pool fee, overhead, the flat price
//!    `p_t` or the hourly duration curve scaled by the day's escalation, curtailment), built once
//!    per day by [`MiningDay::new`] from [`Prepared::day_power`].
//! 2. The margin of one unit of a machine type: [`MiningDay::type_margins`] for many lanes and
//!    types at once (the strategies and slices: `hv · S · gain` per TH/s, then per type), and
//!    [`MiningDay::machine`] for one machine of its own size (payback). Both apply the same rule,
//!    [`flat_margin`] with a flat price (MODEL.md section 4: a curtailed batch is off for the day
//!    when its revenue is below its power cost) or [`crate::power::UnitDay`] on the hourly curve.
//! 3. The fleet's cash: `−opex + Σ units · margin` per strategy or slice, plus the cash of the
//!    day's events: [`refresh_cash`] (machines sold at salvage, frontier machines bought at
//!    `hw_days_of_hashprice · hv · S` per TH/s).
//! 4. The AI side of a conversion: linear in the lease rates on its signing days
//!    ([`site::AiLinear`], valued per path by [`site::AiLinear::npv`]); with a version-2 option,
//!    day by day per lane ([`ai::AiBook`]).
//!
//! **Where version 2's cash streams plug in** (MODEL.md sections 8–11). Each is a cash flow of a
//! conversion (or of the whole path) on a day, and so joins step 4 (or step 3) once for every
//! consumer. When any version-2 option is on ([`ai::path_dependent`]), step 4 is no longer linear:
//! every consumer builds an [`ai::AiBook`] per block (its projects: one per conversion of a fixed
//! strategy, keyed by the conversion's index; one per decision day and slice of `optimal`, keyed
//! by the slice) and calls [`ai::AiBook::day`] each day; the book leaves each project's capex and
//! operating cash of the day per lane, and its ready day `s_k = τ + B_k`:
//!
//! - conversion risks (section 8) live in the book: drawn per project from their own keyed
//!   stream ([`ai::risk_rng`]), never from the market's;
//! - `ai.mine_during_build` moves step 3's removal to the lane's ready day: a per-lane
//!   correction of the strategy's mining cash ([`crate::strategy::fixed`]'s `BuildCorr`) or, for
//!   a slice, its mining value up to the ready day ([`slices`]);
//! - GPU cloud (section 9) is another project kind of the book (see [`ai`]'s module docs);
//! - debt service (section 10) reads the book's `capex`, `opcash` and `ready` of each project
//!   after each `day` and runs its loan beside it, discounted at the cost of equity;
//! - the currency view (section 11) divides every day's cash by `S_t` before the weights: one
//!   factor per lane where step 3's cash meets `w_mining` and where the book's cash meets `w_ai`
//!   (`V2Day::day` in `fixed.rs`, `SliceBook::day` in `slices.rs`).
//!
//! Because the consumers share the book, a stream added there is priced the same way by every
//! strategy and by `optimal`'s slices. Without a version-2 option nothing of this runs and the
//! numbers are version 1's, bit for bit.
//!
//! **Why the consumers still do their last sums themselves.** The version-1 numbers are pinned
//! bit for bit (the golden tests), and the consumers combine the shared margins with different
//! (each documented) floating-point sequences: the strategies fold `units · margin` into their
//! cash with one fused multiply-add per type inside their chunked lane loop, the slices with a
//! product and a sum, and `payback` computes its one machine's revenue as
//! `uptime · ((1 − fee) · TH) · hv · S` before [`MachineDay::margin`]. Folding them into one
//! function would change the last bits of `optimal` and `payback`; the margin rule, the power
//! terms and the events, where the model lives, are shared.

// Lane loops index several arrays in lockstep; explicit indices over re-sliced arrays are what
// the compiler vectorizes, so the iterator style clippy suggests is not used there.
#![allow(clippy::needless_range_loop)]

pub mod ai;
pub mod cloud;
pub mod finance;
pub mod segsum;
pub mod site;
pub mod slices;

use crate::payoff::site::BatchDef;
use crate::power::{DurationCurve, UnitDay};
use crate::process::Prepared;

/// The mining terms of one day, shared by every payoff: what a TH/s earns per dollar of
/// `hv · S`, what a watt of machine costs, and the hourly curve when `[power] hourly` is set.
#[derive(Debug, Clone, Copy)]
pub struct MiningDay<'a> {
    /// Fraction of the day the machines hash (`mining.uptime`).
    pub uptime: f64,
    /// `uptime · (1 − pool_fee)`: a TH/s running all day earns `hv · S · gain` dollars.
    pub gain: f64,
    /// Facility MWh per watt of machine per day, `uptime · overhead · 24 / 1e6`.
    pub mwh_w: f64,
    /// The flat site price of the day `p_t`, $/MWh.
    pub usd_mwh: f64,
    /// Flat power cost per watt of machine per day, `mwh_w · p_t`, $.
    pub cost_w: f64,
    /// `mining.curtail`: a machine whose revenue is below its power cost is off.
    pub curtail: bool,
    /// `[power] hourly`: the duration curve and the day's escalation factor; `None` prices power
    /// at the flat `p_t`.
    pub hourly: Option<(&'a DurationCurve, f64)>,
}

impl<'a> MiningDay<'a> {
    /// The terms of day `t` (power from [`Prepared::day_power`], the hook for hourly power).
    #[inline(always)]
    pub fn new(prep: &'a Prepared, t: usize) -> MiningDay<'a> {
        let m = &prep.scenario.mining;
        let pw = prep.day_power(t);
        let mwh_w = pw.uptime * m.overhead * 24.0 / 1e6;
        MiningDay {
            uptime: pw.uptime,
            gain: pw.uptime * (1.0 - m.pool_fee),
            mwh_w,
            usd_mwh: pw.usd_mwh,
            cost_w: mwh_w * pw.usd_mwh,
            curtail: m.curtail,
            hourly: prep
                .power_curve
                .as_deref()
                .map(|c| (c, prep.power_scale[t])),
        }
    }

    /// Revenue per TH/s of running all day, per lane: `out[i] = hv[i] · s[i] · gain`.
    #[inline(always)]
    pub fn revenue_per_th(&self, hv: &[f64], s: &[f64], out: &mut [f64]) {
        for i in 0..out.len() {
            out[i] = hv[i] * s[i] * self.gain;
        }
    }

    /// The margin of one unit of each machine type of `defs`, per lane, given the revenue per
    /// TH/s `rev_th` ([`MiningDay::revenue_per_th`]): `out[j · stride + i]` for type `j` and
    /// lane `i < rev_th.len()`. Flat price: [`flat_margin`] of `rev_th · ths` against
    /// `cost_w · power_w`; hourly: [`UnitDay::margins`] on the curve.
    #[inline(always)]
    pub fn type_margins(&self, defs: &[BatchDef], rev_th: &[f64], stride: usize, out: &mut [f64]) {
        let lanes = rev_th.len();
        for (j, def) in defs.iter().enumerate() {
            let mg = &mut out[j * stride..j * stride + lanes];
            match self.hourly {
                Some((curve, scale)) => curve
                    .unit_day(self.mwh_w * def.power_w, scale, self.curtail)
                    .margins(rev_th, def.ths, mg),
                None => flat_margins(rev_th, def.ths, self.cost_w * def.power_w, self.curtail, mg),
            }
        }
    }

    /// One machine of its own size on this day (payback): `mwh` is its facility energy running
    /// all day before uptime, `power_w · overhead · 24 / 1e6`.
    #[inline]
    pub fn machine(&self, mwh: f64) -> MachineDay<'a> {
        MachineDay {
            cost: self.uptime * mwh * self.usd_mwh,
            curtail: self.curtail,
            hourly: self
                .hourly
                .map(|(c, scale)| c.unit_day(self.uptime * mwh, scale, self.curtail)),
        }
    }
}

/// One machine's day ([`MiningDay::machine`]): its power cost at the flat price, or its step on
/// the hourly curve.
#[derive(Debug, Clone, Copy)]
pub struct MachineDay<'a> {
    cost: f64,
    curtail: bool,
    hourly: Option<UnitDay<'a>>,
}

impl MachineDay<'_> {
    /// The machine's margin given its revenue of running all day, `rev`.
    #[inline(always)]
    pub fn margin(&self, rev: f64) -> f64 {
        match &self.hourly {
            Some(u) => u.margin(rev),
            None => flat_margin(rev, self.cost, self.curtail),
        }
    }
}

/// MODEL.md section 4's margin of a batch at a flat price: `rev − cost`, or 0 when curtailing and
/// `rev < cost` (the batch is off that day, so it earns and pays nothing).
#[inline(always)]
pub fn flat_margin(rev: f64, cost: f64, curtail: bool) -> f64 {
    if curtail && rev < cost {
        0.0
    } else {
        rev - cost
    }
}

/// [`flat_margin`] of one unit of a type for many lanes: `out[i] = flat_margin(rev_th[i] · ths,
/// cost)`. Two loops without a branch on `curtail` inside, so each vectorizes.
#[inline(always)]
pub fn flat_margins(rev_th: &[f64], ths: f64, cost: f64, curtail: bool, out: &mut [f64]) {
    if curtail {
        for i in 0..out.len() {
            let rev = rev_th[i] * ths;
            out[i] = if rev < cost { 0.0 } else { rev - cost };
        }
    } else {
        for i in 0..out.len() {
            out[i] = rev_th[i] * ths - cost;
        }
    }
}

/// The cash of a day with a fleet event, per lane: `cash_const` (machines sold at salvage, path
/// independent) less the frontier machines bought, `buy_th` TH/s at `hw_days · hv · S` dollars
/// per TH/s (MODEL.md section 4: machine prices track hashprice).
#[inline(always)]
pub fn refresh_cash(
    cash_const: f64,
    hw_days: f64,
    buy_th: f64,
    hv: &[f64],
    s: &[f64],
    out: &mut [f64],
) {
    for i in 0..out.len() {
        out[i] = cash_const - hw_days * hv[i] * s[i] * buy_th;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scenario::Scenario;

    /// The day's terms follow MODEL.md section 4 by hand.
    #[test]
    fn day_terms_by_hand() {
        let mut sc = Scenario::default();
        sc.mining.uptime = 0.9;
        sc.mining.pool_fee = 0.02;
        sc.mining.overhead = 1.1;
        sc.site.power_usd_mwh = 50.0;
        sc.site.power_escalator = 0.0;
        let prep = Prepared::new(&sc);
        let d = MiningDay::new(&prep, 10);
        assert_eq!(d.gain, 0.9 * (1.0 - 0.02));
        assert_eq!(d.mwh_w, 0.9 * 1.1 * 24.0 / 1e6);
        assert_eq!(d.cost_w, 0.9 * 1.1 * 24.0 / 1e6 * 50.0);
        assert!(d.hourly.is_none());
        // A 200 TH/s, 3500 W machine at hv·S = 0.05 $/TH/day: 10 · 0.882 = 8.82 $ revenue against
        // 3500 · 1.1 · 24e-6 · 0.9 · 50 = 4.158 $ of power.
        let (hv, s) = ([0.05 / 100_000.0], [100_000.0]);
        let mut rev_th = [0.0];
        d.revenue_per_th(&hv, &s, &mut rev_th);
        let defs = [BatchDef {
            ths: 200.0,
            power_w: 3500.0,
        }];
        let mut mg = [0.0];
        d.type_margins(&defs, &rev_th, 1, &mut mg);
        let want = 200.0 * 0.05 * 0.882 - 3500.0 * 1.1 * 24e-6 * 0.9 * 50.0;
        assert!((mg[0] - want).abs() < 1e-12, "{} {want}", mg[0]);
        // The same machine priced alone (payback's form) agrees to rounding.
        let one = d
            .machine(3500.0 * 1.1 * 24.0 / 1e6)
            .margin(0.9 * 0.98 * 200.0 * 0.05);
        assert!((one - want).abs() < 1e-12, "{one} {want}");
    }

    #[test]
    fn curtailment_switches_a_losing_batch_off() {
        assert_eq!(flat_margin(3.0, 5.0, true), 0.0);
        assert_eq!(flat_margin(3.0, 5.0, false), -2.0);
        assert_eq!(flat_margin(5.0, 3.0, true), 2.0);
        let mut out = [0.0; 3];
        flat_margins(&[1.0, 2.0, 3.0], 2.0, 5.0, true, &mut out);
        assert_eq!(out, [0.0, 0.0, 1.0]);
        flat_margins(&[1.0, 2.0, 3.0], 2.0, 5.0, false, &mut out);
        assert_eq!(out, [-3.0, -1.0, 1.0]);
    }

    #[test]
    fn refresh_buys_at_hashprice() {
        let mut out = [0.0; 2];
        refresh_cash(
            1000.0,
            300.0,
            10.0,
            &[1e-6, 2e-6],
            &[50_000.0, 50_000.0],
            &mut out,
        );
        // 300 days of 0.05 $/TH/day = 15 $/TH, 10 TH: 150 $; twice that on the second lane.
        assert!(
            (out[0] - 850.0).abs() < 1e-9 && (out[1] - 700.0).abs() < 1e-9,
            "{out:?}"
        );
    }
}
