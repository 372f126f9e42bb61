//! The GPU-cloud project (MODEL.md §9, `ai.mode = "cloud"`): on the hall's ready day `u` the owner
//! buys GPUs and sells compute, at a fixed contract price for the first
//! `round(cloud.contract_years · 365)` days and at the merchant price after, on a GPU price index
//! `g` with a random stream of its own.
//!
//! Two pieces, both per lane (path) of a block:
//!
//! - [`GpuIndex`]: `g_t` of every lane. `g_0 = 1` and
//!   `ln g_{t+1} = ln g_t + (price_drift − price_vol²/2) Δ + price_vol √Δ Z_G`, one `Z_G` per day
//!   and lane from the keyed stream `(run seed, GPU_STREAM + block)`, never from the market stream
//!   of section 3: turning the cloud on leaves every market path (and so the `mine` result) as it
//!   was, and a block's index is the same on any thread count. With `price_vol = 0` nothing is
//!   drawn.
//! - [`CloudTerms::day`]: the cash of one project on one lane and day given its ready day, the
//!   index on the ready day and today, and the site power price `p_t`: GPUs bought on `u` (and, with
//!   `cloud.refresh`, at the start of every later GPU life at that day's `g`), revenue
//!   `IT · revenue / 365 · utilization · g'`, power `s · P · 24 · p_t` and `opex_share · revenue`.
//!   The hall itself (build days, capex) is the AI project's, as for a lease (sections 5 and 8).
//!
//! The project's cash is the AI stream, discounted at `cloud.discount_rate` with the terminal value
//! of section 5 ([`crate::Scenario::ai_discount_rate`], `Prepared::w_ai`).

// Lane loops index several arrays in lockstep (see payoff/mod.rs).
#![allow(clippy::needless_range_loop)]

use crate::process::{fast_exp, fill_normals, BlockStream, NormalScratch};
use crate::scenario::{Cloud, Scenario};

/// Stream domain of the GPU price index: block `b` of a run draws its `Z_G` from the keyed stream
/// `(seed, GPU_STREAM + b)`. The market's streams are the block indices themselves (below 2^41,
/// out-of-sample blocks included), so the two never meet.
pub const GPU_STREAM: u64 = 0x4750_5500 << 32;

const DT: f64 = 1.0 / 365.0;

/// The GPU price index `g_t` of every lane of a block, stepped one day at a time.
#[derive(Debug, Clone)]
pub struct GpuIndex {
    ln_g: Vec<f64>,
    g: Vec<f64>,
    z: Vec<f32>,
    drift_dt: f64,
    sig: f64,
    antithetic: bool,
    rng: BlockStream,
    scratch: NormalScratch,
}

impl GpuIndex {
    /// The index of `lanes` paths of block `block` at day 0 (`g = 1`). With `antithetic`, odd
    /// lanes get the negated shocks of the even lane before (as the market's).
    pub fn new(c: &Cloud, seed: u64, block: u64, lanes: usize, antithetic: bool) -> GpuIndex {
        GpuIndex {
            ln_g: vec![0.0; lanes],
            g: vec![1.0; lanes],
            z: vec![0.0; lanes],
            drift_dt: (c.price_drift - 0.5 * c.price_vol * c.price_vol) * DT,
            sig: c.price_vol * DT.sqrt(),
            antithetic,
            rng: BlockStream::new(seed, GPU_STREAM.wrapping_add(block)),
            scratch: NormalScratch::default(),
        }
    }

    /// `g_t` of every lane on the current day.
    #[inline(always)]
    pub fn g(&self) -> &[f64] {
        &self.g
    }

    /// Steps every lane to the next day.
    #[inline(always)]
    pub fn step(&mut self) {
        let n = self.ln_g.len();
        let (sig, drift_dt) = (self.sig, self.drift_dt);
        // Disjoint slices, so the compiler knows they do not alias and vectorizes the lanes
        // (through `self`, `fast_exp` stayed scalar: a quarter of a cloud run's time).
        let (ln_g, g) = (&mut self.ln_g[..n], &mut self.g[..n]);
        if sig > 0.0 {
            fill_normals(
                &mut self.rng,
                &mut self.scratch,
                &mut self.z,
                self.antithetic,
            );
            let z = &self.z[..n];
            for i in 0..n {
                ln_g[i] += (z[i] as f64).mul_add(sig, drift_dt);
                g[i] = fast_exp(ln_g[i]);
            }
        } else {
            for i in 0..n {
                ln_g[i] += drift_dt;
                g[i] = fast_exp(ln_g[i]);
            }
        }
    }
}

/// One cloud project's constants: `IT` MW of GPUs in a hall that took `s · P` gross MW.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CloudTerms {
    /// GPUs of one set at `g = 1`, `IT · cloud.gpu_capex_usd_per_mw_it`, $.
    pub gpu_capex: f64,
    /// Revenue per day at `g' = 1`, `IT · revenue_usd_per_mw_it_year / 365 · utilization`, $.
    pub revenue_day: f64,
    /// `cloud.opex_share`.
    pub opex_share: f64,
    /// Energy per day of the converted gross MW, `s · P · 24`, MWh.
    pub mwh_day: f64,
    /// Days a set of GPUs lasts, `round(gpu_life_years · 365)` (at least 1).
    pub life: usize,
    /// Days of the fixed-price contract, `round(contract_years · 365)`.
    pub contract: usize,
    /// `cloud.refresh`.
    pub refresh: bool,
}

/// One day's cash of a cloud project on one lane.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct CloudDay {
    /// GPUs bought that day, $ (≥ 0).
    pub gpu: f64,
    /// Compute revenue, $.
    pub revenue: f64,
    /// Power and other operating costs, $.
    pub costs: f64,
}

impl CloudDay {
    /// Operating cash, revenue − costs (what a lender's DSCR counts).
    #[inline(always)]
    pub fn operating(&self) -> f64 {
        self.revenue - self.costs
    }

    /// Net cash of the day: operating cash less the GPUs bought.
    #[inline(always)]
    pub fn cash(&self) -> f64 {
        self.revenue - self.costs - self.gpu
    }
}

impl CloudTerms {
    /// The terms of a hall of `it_mw` IT MW on `gross_mw` gross MW under `[cloud]` `c`.
    pub fn new(c: &Cloud, it_mw: f64, gross_mw: f64) -> CloudTerms {
        CloudTerms {
            gpu_capex: it_mw * c.gpu_capex_usd_per_mw_it,
            revenue_day: it_mw * c.revenue_usd_per_mw_it_year / 365.0 * c.utilization,
            opex_share: c.opex_share,
            mwh_day: gross_mw * 24.0,
            life: ((c.gpu_life_years * 365.0).round() as usize).max(1),
            contract: (c.contract_years * 365.0).round() as usize,
            refresh: c.refresh,
        }
    }

    /// The terms of a conversion of `share` of the scenario's site.
    pub fn of_share(sc: &Scenario, share: f64) -> CloudTerms {
        let gross = share * sc.site.power_mw;
        CloudTerms::new(&sc.cloud_terms(), gross * sc.ai.it_mw_per_gross_mw, gross)
    }

    /// The cash of day `t = u + age` (`age ≥ 0` days after the ready day `u`), with the index
    /// `g_u` on the ready day, `g_t` today and the site power price `p_t` ($/MWh). A set of GPUs
    /// is bought when `age` is a multiple of the GPU life (on `u`, and later ones with
    /// `refresh`); without `refresh` the hall is empty from the end of the first life on.
    #[inline(always)]
    pub fn day(&self, age: usize, g_u: f64, g_t: f64, p_t: f64) -> CloudDay {
        self.day_buying(age, age.is_multiple_of(self.life), g_u, g_t, p_t)
    }

    /// [`CloudTerms::day`] with `buy` saying whether `age` starts a GPU life (a multiple of
    /// `life`), for callers that track the purchase days without a division a day.
    #[inline(always)]
    pub fn day_buying(&self, age: usize, buy: bool, g_u: f64, g_t: f64, p_t: f64) -> CloudDay {
        if age >= self.life && !self.refresh {
            return CloudDay::default();
        }
        let gpu = if buy { self.gpu_capex * g_t } else { 0.0 };
        // The contract (at most one GPU life long, `Scenario::validate`) fixes the price at g_u.
        let g_price = if age < self.contract { g_u } else { g_t };
        let revenue = self.revenue_day * g_price;
        CloudDay {
            gpu,
            revenue,
            costs: self.mwh_day * p_t + self.opex_share * revenue,
        }
    }
}

/// One cloud project on the lanes of a block: the index on each lane's ready day, recorded when
/// the day comes.
#[derive(Debug, Clone, PartialEq)]
pub struct CloudLanes {
    /// The project's constants.
    pub terms: CloudTerms,
    /// `g_u` per lane (valid from the lane's ready day on).
    pub g_ready: Vec<f64>,
    /// The lane's next GPU purchase day (its ready day, then one GPU life later each time).
    next_buy: Vec<usize>,
}

impl CloudLanes {
    /// A project on `lanes` lanes.
    pub fn new(terms: CloudTerms, lanes: usize) -> CloudLanes {
        CloudLanes {
            terms,
            g_ready: vec![1.0; lanes],
            next_buy: vec![0; lanes],
        }
    }

    /// Lane `i`'s cash on day `t` given its ready day `ready` (nothing before it), today's index
    /// `g_t` and power price `p_t`. Days must come in order (the index of the ready day is kept).
    #[inline(always)]
    pub fn day(&mut self, i: usize, t: usize, ready: usize, g_t: f64, p_t: f64) -> CloudDay {
        if t < ready {
            return CloudDay::default();
        }
        if t == ready {
            self.g_ready[i] = g_t;
            self.next_buy[i] = ready;
        }
        let buy = t == self.next_buy[i];
        if buy {
            self.next_buy[i] = t + self.terms.life;
        }
        self.terms
            .day_buying(t - ready, buy, self.g_ready[i], g_t, p_t)
    }

    /// [`CloudLanes::day`] on every lane at once (lane `i`'s ready day `ready[i]`, today's index
    /// `g[i]`): each lane's operating cash into `opcash`, its GPU purchase into `gpu_buy` and
    /// added to `capex`. The same operations per lane as `day` and [`CloudTerms::day_buying`],
    /// with selects instead of their branches, so that the lane loop vectorizes (a lane at a
    /// time it was a scalar loop; a test holds the two to the same bits).
    #[inline(always)]
    pub fn days(
        &mut self,
        t: usize,
        (ready, g, p_t): (&[usize], &[f64], f64),
        (opcash, gpu_buy, capex): (&mut [f64], &mut [f64], &mut [f64]),
    ) {
        let n = ready.len();
        let (g, g_ready, next_buy) = (&g[..n], &mut self.g_ready[..n], &mut self.next_buy[..n]);
        let (opcash, gpu_buy, capex) = (&mut opcash[..n], &mut gpu_buy[..n], &mut capex[..n]);
        // The constants as locals: read through `self` inside the loop, each was a load the
        // compiler could not hoist past the stores (as in `Prepared::run_block_inline`).
        let tm = self.terms;
        for i in 0..n {
            // Every load unconditional (a load inside a choice kept the loop scalar).
            let (r, gt, g_was, nb_was) = (ready[i], g[i], g_ready[i], next_buy[i]);
            // `day`: the index and the first purchase recorded on the ready day, ...
            let first = t == r;
            let g_u = if first { gt } else { g_was };
            g_ready[i] = g_u;
            let nb = if first { r } else { nb_was };
            let started = t >= r;
            let buy = started & (t == nb);
            next_buy[i] = if buy { t + tm.life } else { nb };
            // ... then `day_buying` (nothing before the ready day or after the last life).
            let age = t.wrapping_sub(r);
            let live = started & !((age >= tm.life) & !tm.refresh);
            let gpu = if buy { tm.gpu_capex * gt } else { 0.0 };
            let g_price = if age < tm.contract { g_u } else { gt };
            let revenue = tm.revenue_day * g_price;
            let costs = tm.mwh_day * p_t + tm.opex_share * revenue;
            let (gpu, revenue, costs) = if live {
                (gpu, revenue, costs)
            } else {
                (0.0, 0.0, 0.0)
            };
            opcash[i] = revenue - costs;
            gpu_buy[i] = gpu;
            capex[i] += gpu;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms() -> CloudTerms {
        let c = Cloud {
            gpu_capex_usd_per_mw_it: 20e6,
            revenue_usd_per_mw_it_year: 7.3e6,
            utilization: 0.9,
            opex_share: 0.1,
            gpu_life_years: 2.0,
            contract_years: 1.0,
            refresh: true,
            price_drift: -0.2,
            price_vol: 0.0,
            discount_rate: 0.1,
        };
        CloudTerms::new(&c, 10.0, 13.0)
    }

    /// Purchase, contract then merchant price, costs and refresh by hand (MODEL.md §9).
    #[test]
    fn a_day_by_hand() {
        let t = terms();
        assert_eq!((t.life, t.contract), (730, 365));
        let rev_day = 10.0 * 7.3e6 / 365.0 * 0.9; // 180,000 $ at g' = 1
                                                  // Ready day: one set of GPUs at g_u, contract revenue at g_u.
        let d = t.day(0, 0.8, 0.8, 40.0);
        assert_eq!(d.gpu, 200e6 * 0.8);
        assert!((d.revenue - rev_day * 0.8).abs() < 1e-6);
        assert!((d.costs - (13.0 * 24.0 * 40.0 + 0.1 * rev_day * 0.8)).abs() < 1e-6);
        // Inside the contract the price stays g_u whatever g_t does.
        let d = t.day(364, 0.8, 0.5, 40.0);
        assert_eq!(d.gpu, 0.0);
        assert!((d.revenue - rev_day * 0.8).abs() < 1e-6);
        // Merchant from the contract's end.
        let d = t.day(365, 0.8, 0.5, 40.0);
        assert!((d.revenue - rev_day * 0.5).abs() < 1e-6);
        // A new set at the end of the first life, at g_t.
        let d = t.day(730, 0.8, 0.4, 40.0);
        assert_eq!(d.gpu, 200e6 * 0.4);
        assert!((d.cash() - (rev_day * 0.4 * 0.9 - 13.0 * 24.0 * 40.0 - 200e6 * 0.4)).abs() < 1e-6);
        // Without refresh the hall is empty from then on.
        let t2 = CloudTerms {
            refresh: false,
            ..t
        };
        assert_eq!(t2.day(730, 0.8, 0.4, 40.0), CloudDay::default());
        assert_eq!(t2.day(729, 0.8, 0.4, 40.0).gpu, 0.0);
    }

    #[test]
    fn lanes_keep_the_ready_days_index() {
        let mut l = CloudLanes::new(terms(), 2);
        assert_eq!(l.day(0, 3, 5, 0.9, 40.0), CloudDay::default());
        let d = l.day(0, 5, 5, 0.7, 40.0);
        assert_eq!(d.gpu, 200e6 * 0.7);
        let d = l.day(0, 6, 5, 0.1, 40.0);
        assert!((d.revenue - 180_000.0 * 0.7).abs() < 1e-6);
        // Lane 1 has not reached its ready day: its index is untouched.
        assert_eq!(l.g_ready[1], 1.0);
    }

    /// `days` is `day` on every lane, bit for bit: ready days before, on and after today, GPU
    /// lives ending (with and without refresh), the contract's end, an index that moves.
    #[test]
    fn all_lanes_at_once_are_each_lane() {
        for refresh in [true, false] {
            let tm = CloudTerms { refresh, ..terms() };
            let lanes = 13;
            let ready: Vec<usize> = (0..lanes).map(|i| i * 131 % 900).collect();
            let (mut a, mut b) = (CloudLanes::new(tm, lanes), CloudLanes::new(tm, lanes));
            for t in 0..2400 {
                let g: Vec<f64> = (0..lanes)
                    .map(|i| 1.0 + 0.4 * ((t as f64) / 50.0 + i as f64).sin())
                    .collect();
                let p_t = 30.0 + (t % 17) as f64;
                let mut out = [vec![0.0; lanes], vec![0.0; lanes], vec![0.5; lanes]];
                let [o1, o2, o3] = &mut out;
                a.days(t, (&ready, &g, p_t), (o1, o2, o3));
                for i in 0..lanes {
                    let d = b.day(i, t, ready[i], g[i], p_t);
                    let want = [d.operating(), d.gpu, 0.5 + d.gpu];
                    let got = [out[0][i], out[1][i], out[2][i]];
                    assert_eq!(
                        want.map(f64::to_bits),
                        got.map(f64::to_bits),
                        "t {t} lane {i} refresh {refresh}"
                    );
                }
            }
            assert_eq!(a, b);
        }
    }

    /// Zero volatility: `g_t = exp(drift · t / 365)`; the stream is keyed apart from the market's,
    /// and volatile lanes differ from each other.
    #[test]
    fn index_paths() {
        let c = Cloud {
            price_vol: 0.0,
            ..Cloud::default()
        };
        let mut g = GpuIndex::new(&c, 7, 0, 3, false);
        for _ in 0..730 {
            g.step();
        }
        let want = (-0.2f64 * 2.0).exp();
        for &x in g.g() {
            assert!((x / want - 1.0).abs() < 1e-12, "{x} {want}");
        }
        let mut g = GpuIndex::new(&Cloud::default(), 7, 0, 4, true);
        g.step();
        let v = g.g().to_vec();
        assert!(v[0] != v[2]);
        // Antithetic pairs: ln g of lanes 0 and 1 are symmetric around the drift.
        let mid = (-0.2 - 0.5 * 0.09) / 365.0;
        assert!(((v[0].ln() + v[1].ln()) / 2.0 - mid).abs() < 1e-12);
        // Same seed and block, same numbers.
        let mut h = GpuIndex::new(&Cloud::default(), 7, 0, 4, true);
        h.step();
        assert_eq!(h.g(), &v[..]);
    }
}
