//! The site's capacity layout (MODEL.md section 4): fleet batches in removal order, idle MW,
//! conversions that remove capacity (idle first, then the least efficient batch, fractional units),
//! and fleet refreshes. Everything here is deterministic: for the `mine`, `convert`, `schedule` and
//! `sweep` strategies the units on every day are the same on every path, so a strategy's fleet
//! timeline is computed once per run and the paths only price it.

// Lane loops index several arrays in lockstep; explicit indices over re-sliced arrays are what
// the compiler vectorizes, so the iterator style clippy suggests is not used there.
#![allow(clippy::needless_range_loop)]

use crate::scenario::Scenario;

/// One machine type of the current fleet era: per-unit hashrate and power.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchDef {
    /// TH/s per unit.
    pub ths: f64,
    /// W per unit (at the wall, before overhead).
    pub power_w: f64,
}

/// The machine types in force from `start_day` on. Era 0 is the scenario's fleet sorted in removal
/// order (highest J/TH first; ties keep file order); each refresh starts an era with one frontier
/// type of 1 TH/s per unit at `η_t` W.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetEra {
    /// First day of the era.
    pub start_day: usize,
    /// Machine types in removal order.
    pub defs: Vec<BatchDef>,
}

/// Fleet eras of a scenario over `n` days (refresh days `k * round(365 * years)`, `k >= 1`, `< n`).
pub fn fleet_eras(sc: &Scenario, eta: &[f64]) -> Vec<FleetEra> {
    let f = &sc.mining.fleet;
    let order = removal_order(f);
    let defs = order
        .iter()
        .map(|&i| BatchDef {
            ths: f[i].hashrate_ths,
            power_w: f[i].power_w,
        })
        .collect();
    let mut eras = vec![FleetEra { start_day: 0, defs }];
    for day in refresh_days(sc, eta.len()) {
        eras.push(FleetEra {
            start_day: day,
            defs: vec![BatchDef {
                ths: 1.0,
                power_w: eta[day],
            }],
        });
    }
    eras
}

/// The most machine types of any era (at least 1): the size of the per-type margin buffers.
pub fn max_types(eras: &[FleetEra]) -> usize {
    eras.iter().map(|e| e.defs.len()).max().unwrap_or(1).max(1)
}

/// Units of the scenario's fleet in removal order (matching era 0's `defs`).
pub fn initial_units(sc: &Scenario) -> Vec<f64> {
    let f = &sc.mining.fleet;
    removal_order(f).iter().map(|&i| f[i].units).collect()
}

/// Indices of `fleet` in removal order (MODEL.md §4): the least efficient first (highest W per
/// TH/s), file order among equals (a stable sort).
pub fn removal_order(fleet: &[crate::scenario::Batch]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..fleet.len()).collect();
    order.sort_by(|&a, &b| {
        let ea = fleet[a].power_w / fleet[a].hashrate_ths;
        let eb = fleet[b].power_w / fleet[b].hashrate_ths;
        eb.partial_cmp(&ea).unwrap_or(std::cmp::Ordering::Equal)
    });
    order
}

/// Refresh days `k * round(365 * refresh_every_years)` for `k >= 1` below `n` (none if 0).
pub fn refresh_days(sc: &Scenario, n: usize) -> Vec<usize> {
    let every = (365.0 * sc.mining.refresh_every_years).round() as usize;
    if sc.mining.refresh_every_years <= 0.0 || every == 0 {
        return Vec::new();
    }
    (1..).map(|k| k * every).take_while(|&d| d < n).collect()
}

/// The capacity layout of a site or of a slice of one.
#[derive(Debug, Clone, PartialEq)]
pub struct Layout {
    /// Capacity, MW (the site's `P`, or `P / k` for a slice).
    pub capacity_mw: f64,
    /// MW converted so far (left mining).
    pub converted_mw: f64,
    /// Units per machine type of the current era, in removal order.
    pub units: Vec<f64>,
    /// Facility overhead factor.
    pub overhead: f64,
}

impl Layout {
    /// Facility MW of the deployed machines.
    pub fn fleet_mw(&self, defs: &[BatchDef]) -> f64 {
        self.units
            .iter()
            .zip(defs)
            .map(|(n, d)| n * d.power_w * self.overhead / 1e6)
            .sum()
    }

    /// TH/s of the deployed machines.
    pub fn fleet_th(&self, defs: &[BatchDef]) -> f64 {
        self.units.iter().zip(defs).map(|(n, d)| n * d.ths).sum()
    }

    /// `mining_mw(t)`: capacity that has not been converted.
    pub fn mining_mw(&self) -> f64 {
        (self.capacity_mw - self.converted_mw).max(0.0)
    }

    /// Removes `mw` of capacity from mining: idle MW first, then the least efficient type first,
    /// fractional units allowed. Returns the units removed per type (they are sold at salvage).
    pub fn remove_mw(&mut self, defs: &[BatchDef], mw: f64) -> Vec<f64> {
        let mw = mw.min(self.mining_mw()).max(0.0);
        let idle = (self.mining_mw() - self.fleet_mw(defs)).max(0.0);
        let mut left = mw - idle.min(mw);
        let mut removed = vec![0.0; self.units.len()];
        for (i, d) in defs.iter().enumerate() {
            if left <= 0.0 {
                break;
            }
            let per_unit = d.power_w * self.overhead / 1e6;
            let take = self.units[i].min(left / per_unit);
            self.units[i] -= take;
            removed[i] = take;
            left -= take * per_unit;
            // A residue of rounding must not eat into the next type.
            if self.units[i] > 0.0 && left < 1e-12 * mw {
                left = 0.0;
            }
        }
        self.converted_mw += mw;
        removed
    }

    /// Fleet refresh: sells every machine and fills the mining capacity with frontier machines of
    /// efficiency `eta` J/TH (1 TH/s per unit). Returns `(th_sold, th_bought)`.
    pub fn refresh(&mut self, defs: &[BatchDef], eta: f64) -> (f64, f64) {
        let sold = self.fleet_th(defs);
        let bought = self.mining_mw() * 1e6 / (self.overhead * eta);
        self.units = vec![bought];
        (sold, bought)
    }
}

/// One AI/HPC project's cash flows as linear functions of the lease market rate on its signing
/// days: `value = constant + Σ_k L(sign_day_k) * coef_k` (MODEL.md section 5). The same form holds
/// for the discounted value (weights of `crate::process::Prepared::w_ai`) and the undiscounted cash
/// of each year.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AiLinear {
    /// Discounted value not depending on `L` (minus the capex).
    pub npv_const: f64,
    /// `(signing day, discounted rent per unit of L)` per lease term.
    pub npv_terms: Vec<(usize, f64)>,
    /// Undiscounted cash per year not depending on `L`.
    pub year_const: Vec<f64>,
    /// Undiscounted rent per unit of L per year, per term (same order as `npv_terms`).
    pub year_terms: Vec<Vec<f64>>,
}

impl AiLinear {
    /// The discounted value on one path: `npv_const + Σ_k coef_k · exp(ln L_k)`, where
    /// `ln_l(k, sign_day)` is the path's log lease rate on the signing day of term `k`.
    #[inline]
    pub fn npv(&self, mut ln_l: impl FnMut(usize, usize) -> f64) -> f64 {
        let mut v = self.npv_const;
        for (k, &(sign_day, coef)) in self.npv_terms.iter().enumerate() {
            v += coef * ln_l(k, sign_day).exp();
        }
        v
    }

    /// The site's undiscounted cash of year `y` on one path: `mining` (that year's mining cash)
    /// plus this project's, with `ln_l` as in [`AiLinear::npv`].
    #[inline]
    pub fn year_cash(
        &self,
        y: usize,
        mining: f64,
        mut ln_l: impl FnMut(usize, usize) -> f64,
    ) -> f64 {
        let mut c = mining + self.year_const[y];
        for (k, yt) in self.year_terms.iter().enumerate() {
            c += yt[y] * ln_l(k, self.npv_terms[k].0).exp();
        }
        c
    }
}

/// AI project of `it_mw` IT MW decided on day `tau` (MODEL.md section 5), over `n` days with AI
/// weights `w_ai`.
pub fn ai_project(sc: &Scenario, tau: usize, it_mw: f64, w_ai: &[f64], years: usize) -> AiLinear {
    let n = w_ai.len();
    let a = &sc.ai;
    let b = (a.build_months * 365.0 / 12.0).round() as usize;
    let m = ((a.lease_term_years * 365.0).round() as usize).max(1);
    let capex = it_mw * a.capex_usd_per_mw_it;
    let mut out = AiLinear {
        year_const: vec![0.0; years],
        ..Default::default()
    };
    if it_mw <= 0.0 {
        return out;
    }
    if b == 0 {
        if tau < n {
            out.npv_const -= capex * w_ai[tau];
            out.year_const[tau / 365] -= capex;
        }
    } else {
        let per_day = capex / b as f64;
        for t in tau..(tau + b).min(n) {
            out.npv_const -= per_day * w_ai[t];
            out.year_const[t / 365] -= per_day;
        }
    }
    let start = tau + b;
    let rent_unit = it_mw * 1000.0 * 12.0 / 365.0 * a.noi_margin;
    let mut c_prev = usize::MAX;
    for (t, &w) in w_ai.iter().enumerate().skip(start) {
        let c = (t - start) / m;
        let u = start + c * m;
        if c != c_prev {
            let sign_day = if c == 0 { tau } else { u };
            out.npv_terms.push((sign_day, 0.0));
            out.year_terms.push(vec![0.0; years]);
            c_prev = c;
        }
        let amount = rent_unit
            * (1.0 + a.lease_escalator).powf((t - u) as f64 / 365.0)
            * crate::num::powi(a.renewal_probability, c as i32)
            * (-a.tenant_default_rate * (t - start) as f64 / 365.0).exp();
        let k = out.npv_terms.len() - 1;
        out.npv_terms[k].1 += amount * w;
        out.year_terms[k][t / 365] += amount;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defs() -> Vec<BatchDef> {
        vec![
            BatchDef {
                ths: 100.0,
                power_w: 3000.0,
            }, // 30 J/TH, removed first
            BatchDef {
                ths: 200.0,
                power_w: 3000.0,
            }, // 15 J/TH
        ]
    }

    #[test]
    fn removal_takes_idle_then_least_efficient() {
        // 10 MW site, overhead 1: 1000 units × 3 kW = 3 MW and 1000 × 3 kW = 3 MW, 4 MW idle.
        let mut l = Layout {
            capacity_mw: 10.0,
            converted_mw: 0.0,
            units: vec![1000.0, 1000.0],
            overhead: 1.0,
        };
        let d = defs();
        let r = l.remove_mw(&d, 3.0); // all idle
        assert_eq!(r, vec![0.0, 0.0]);
        let r = l.remove_mw(&d, 2.5); // 1 MW idle left, then 1.5 MW = 500 units of type 0
        assert!((r[0] - 500.0).abs() < 1e-9 && r[1] == 0.0, "{r:?}");
        let r = l.remove_mw(&d, 3.0); // 1.5 MW of type 0 (500 units) then 1.5 MW of type 1
        assert!(
            (r[0] - 500.0).abs() < 1e-9 && (r[1] - 500.0).abs() < 1e-9,
            "{r:?}"
        );
        assert!((l.mining_mw() - 1.5).abs() < 1e-12);
        assert!((l.fleet_mw(&d) - 1.5).abs() < 1e-9);
    }

    #[test]
    fn refresh_fills_the_remaining_capacity() {
        let mut l = Layout {
            capacity_mw: 10.0,
            converted_mw: 4.0,
            units: vec![0.0, 1000.0],
            overhead: 1.25,
        };
        let (sold, bought) = l.refresh(&defs(), 12.5);
        assert_eq!(sold, 200_000.0);
        assert!((bought - 6.0 * 1e6 / (1.25 * 12.5)).abs() < 1e-6);
        let era = [BatchDef {
            ths: 1.0,
            power_w: 12.5,
        }];
        assert!((l.fleet_mw(&era) - 6.0).abs() < 1e-9);
    }
}
