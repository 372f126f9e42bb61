//! The data of the `optimal` strategy's two phases (MODEL.md section 12), all serializable so that
//! each phase may run on another machine: the regression sums of phase 1 ([`FitSums`]), the fitted
//! policy ([`OptimalPolicy`]) and the per-path values of phase 2 ([`PricedPaths`]).

use hashpivot_lsm::exact::ExactSum;
use hashpivot_lsm::regress::{Basis, Gram, GRAM_TOL};
use serde::{Deserialize, Serialize};

use crate::equity::EquityPaths;
use crate::payoff::finance::LaneEquity;
use crate::strategy::optimal_pilot::{Pilot, FEATURES};
use crate::ModelError;

/// Stop index of a slice that is never converted.
pub const NEVER: u32 = u32::MAX;

/// What a fit is for: the run's in-sample paths, seed, antithetic setting, basis and decision
/// dates. Sums, policies and priced paths of different headers never mix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitHeader {
    /// In-sample paths of the run.
    pub paths: u64,
    /// Fresh paths of the out-of-sample estimate.
    pub fresh_paths: u64,
    /// The run's seed.
    pub seed: u64,
    /// Antithetic pairs.
    pub antithetic: bool,
    /// Degree of the regression polynomial.
    pub degree: usize,
    /// Slices.
    pub tranches: usize,
    /// Decision days.
    pub days: Vec<usize>,
    /// Paths of the pilot.
    pub pilot_paths: u64,
    /// Per decision date, the pilot's feature means (standardization).
    pub mean: Vec<[f64; FEATURES]>,
    /// Per decision date, the pilot's reciprocal feature standard deviations.
    pub inv_std: Vec<[f64; FEATURES]>,
    /// Per decision date, the pilot's feature medians (the boundaries hold the others there).
    pub median: Vec<[f64; FEATURES]>,
    /// Per decision date, the pilot's 0.5 % feature quantiles (the boundaries' search range).
    pub lo: Vec<[f64; FEATURES]>,
    /// Per decision date, the pilot's 99.5 % feature quantiles.
    pub hi: Vec<[f64; FEATURES]>,
    /// With the pilot on every in-sample path: its own coefficients, `[slice · dates + date]`
    /// (see [`OptimalPolicy::fit`]); empty when the pilot is a subset.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pilot_coef: Vec<Vec<f64>>,
    /// The numerical ranks of those regressions, `[slice · dates + date]`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub pilot_rank: Vec<usize>,
}

impl FitHeader {
    /// The header of a run with `pilot`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        paths: u64,
        fresh_paths: u64,
        seed: u64,
        antithetic: bool,
        degree: usize,
        tranches: usize,
        days: Vec<usize>,
        pilot: &Pilot,
    ) -> Self {
        // The pilot's rules as fitted, when they are a fit on all in-sample paths.
        let whole = pilot.paths == paths;
        let rules = || {
            pilot
                .policies
                .iter()
                .flat_map(|p| p.rules().iter())
                .filter(|_| whole)
        };
        FitHeader {
            pilot_coef: rules().map(|r| r.coef.clone()).collect(),
            pilot_rank: rules().map(|r| r.rank).collect(),
            paths,
            fresh_paths,
            seed,
            antithetic,
            degree,
            tranches,
            days,
            pilot_paths: pilot.paths,
            mean: pilot.mean.clone(),
            inv_std: pilot.inv_std.clone(),
            median: pilot.median.clone(),
            lo: pilot.lo.clone(),
            hi: pilot.hi.clone(),
        }
    }

    /// Terms of the regression basis.
    pub fn terms(&self) -> usize {
        Basis::new(FEATURES, self.degree).len()
    }

    /// Standardized features of `x` on decision date `d`.
    #[inline]
    pub fn standardize(&self, d: usize, x: &[f64; FEATURES]) -> [f64; FEATURES] {
        let (m, s) = (&self.mean[d], &self.inv_std[d]);
        [
            (x[0] - m[0]) * s[0],
            (x[1] - m[1]) * s[1],
            (x[2] - m[2]) * s[2],
        ]
    }
}

fn mismatch(what: &str, value: String, allowed: &str) -> ModelError {
    ModelError::BadOption {
        option: what.into(),
        value,
        allowed: allowed.into(),
    }
}

/// Phase 1 of `optimal` on a contiguous range of in-sample blocks: per slice and decision date,
/// the normal equations of the regression (`AᵀA`, `Aᵀy`, `yᵀy`), summed exactly
/// ([`ExactSum`]) so that any split of the blocks merges into the same bits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FitSums {
    /// The run these sums belong to.
    pub header: FitHeader,
    /// First engine block summed.
    pub first_block: u64,
    /// One past the last engine block summed.
    pub end_block: u64,
    /// Paths summed.
    pub rows: u64,
    /// `[(slice · dates + date) · entries + e]`, entries = the packed triangle of `AᵀA`, then
    /// `Aᵀy`, then `yᵀy`.
    sums: Vec<ExactSum>,
}

impl FitSums {
    /// Entries per slice and date for a basis of `p` terms.
    pub fn entries(p: usize) -> usize {
        p * (p + 1) / 2 + p + 1
    }

    /// Empty sums of blocks `first_block..first_block` (nothing yet).
    pub fn empty(header: FitHeader, first_block: u64) -> Self {
        let n = header.tranches * header.days.len() * Self::entries(header.terms());
        FitSums {
            header,
            first_block,
            end_block: first_block,
            rows: 0,
            sums: vec![ExactSum::new(); n],
        }
    }

    /// Adds one block's normal equations, `grams[slice · dates + date]`.
    pub(crate) fn add_block(&mut self, grams: &[Gram], rows: u64) {
        let e = Self::entries(self.header.terms());
        for (q, g) in grams.iter().enumerate() {
            let (tri, b, yy) = g.sums();
            let s = &mut self.sums[q * e..(q + 1) * e];
            for (acc, &v) in s.iter_mut().zip(tri.iter().chain(b).chain([yy].iter())) {
                acc.add(v);
            }
        }
        self.rows += rows;
    }

    /// Adds sums of the same run (the range of blocks right after this one's, or a range
    /// computed in parallel: the sums are exact, so the result is the same bits either way).
    pub(crate) fn absorb(&mut self, o: &FitSums) {
        for (a, b) in self.sums.iter_mut().zip(&o.sums) {
            a.merge(b);
        }
        self.rows += o.rows;
        self.first_block = self.first_block.min(o.first_block);
        self.end_block = self.end_block.max(o.end_block);
    }

    /// Merges the sums of the next range of blocks of the same run (MODEL.md section 12: phase 1
    /// merged in block order before the fit). Errors if `next` belongs to another run or does
    /// not start where these sums end.
    pub fn merge(&mut self, next: &FitSums) -> Result<(), ModelError> {
        if next.header != self.header {
            return Err(mismatch(
                "fit sums",
                "sums of another run (paths, seed, antithetic, degree, tranches, dates or pilot differ)".into(),
                "sums of the same scenario and run options",
            ));
        }
        if next.first_block != self.end_block {
            return Err(mismatch(
                "fit sums",
                format!(
                    "blocks {}..{} after blocks {}..{}",
                    next.first_block, next.end_block, self.first_block, self.end_block
                ),
                "contiguous block ranges merged in block order",
            ));
        }
        self.absorb(next);
        Ok(())
    }

    /// The exact sums, `[(slice · dates + date) · entries + e]` (for writing them to a file).
    pub fn exact_sums(&self) -> &[ExactSum] {
        &self.sums
    }

    /// Sums read back from a file: blocks `first_block..end_block` of the run of `header`, `rows`
    /// paths, the exact sums as [`FitSums::exact_sums`] gave them. Errors if their number does
    /// not fit the header's slices, dates and basis.
    pub fn from_exact(
        header: FitHeader,
        first_block: u64,
        end_block: u64,
        rows: u64,
        sums: Vec<ExactSum>,
    ) -> Result<FitSums, ModelError> {
        let n = header.tranches * header.days.len() * Self::entries(header.terms());
        if sums.len() != n || first_block > end_block {
            return Err(mismatch(
                "fit sums",
                format!("{} sums of blocks {first_block}..{end_block}", sums.len()),
                &format!(
                    "{n} sums ({} slices × {} dates × {} entries) of a block range",
                    header.tranches,
                    header.days.len(),
                    Self::entries(header.terms())
                ),
            ));
        }
        Ok(FitSums {
            header,
            first_block,
            end_block,
            rows,
            sums,
        })
    }

    /// The normal equations of `slice` on date `d`, rounded from the exact sums.
    pub fn gram(&self, slice: usize, d: usize) -> Gram {
        let p = self.header.terms();
        let e = Self::entries(p);
        let q = slice * self.header.days.len() + d;
        let v: Vec<f64> = self.sums[q * e..(q + 1) * e]
            .iter()
            .map(ExactSum::value)
            .collect();
        let t = p * (p + 1) / 2;
        Gram::from_sums(
            p,
            v[..t].to_vec(),
            v[t..t + p].to_vec(),
            v[t + p],
            self.rows as usize,
        )
    }
}

/// The fitted `optimal` policy: per slice and decision date, the coefficients of the expected
/// gain of converting now over continuing, on the degree-`degree` basis of the standardized state.
/// The slice converts on the first decision date where that gain is positive.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct OptimalPolicy {
    /// The run the policy was fitted for.
    pub header: FitHeader,
    /// `[slice · dates + date][term]`.
    pub coef: Vec<Vec<f64>>,
    /// `[slice · dates + date]`: numerical rank of the regression.
    pub rank: Vec<usize>,
}

impl OptimalPolicy {
    /// Fits the policy from the merged sums of every in-sample block.
    ///
    /// With the pilot on every in-sample path (the default: `strategy.pilot_paths` absent, or at
    /// least the run's paths), each regression of the sums is the pilot's own: the same paths, the same target
    /// (the realized gain of converting now over continuing under the pilot's later rules) and
    /// the same standardization; only the order of the additions differs. The pilot's
    /// coefficients are then the policy as they are, so that such runs keep the single-machine
    /// Longstaff–Schwartz policy of version 1 bit for bit (its golden numbers); the sums are still
    /// required complete, so a sharded fit checks its parts the same way either way.
    pub fn fit(sums: &FitSums) -> Result<OptimalPolicy, ModelError> {
        let h = &sums.header;
        let blocks = h.paths.div_ceil(crate::process::BLOCK as u64);
        if sums.first_block != 0 || sums.end_block != blocks || sums.rows != h.paths {
            return Err(mismatch(
                "fit sums",
                format!(
                    "blocks {}..{} ({} paths)",
                    sums.first_block, sums.end_block, sums.rows
                ),
                &format!(
                    "all in-sample blocks 0..{blocks} ({} paths) merged",
                    h.paths
                ),
            ));
        }
        let nd = h.days.len();
        let (mut coef, mut rank) = (h.pilot_coef.clone(), h.pilot_rank.clone());
        if coef.is_empty() {
            for j in 0..h.tranches {
                for d in 0..nd {
                    let (c, r) = sums.gram(j, d).solve(GRAM_TOL);
                    coef.push(c);
                    rank.push(r);
                }
            }
        }
        if let Some(q) = coef.iter().position(|c| c.iter().any(|v| !v.is_finite())) {
            return Err(ModelError::Internal(format!(
                "optimal: the regression of slice {} on decision month {} is not finite",
                q / nd + 1,
                q % nd
            )));
        }
        Ok(OptimalPolicy {
            header: h.clone(),
            coef,
            rank,
        })
    }

    /// The regression basis.
    pub fn basis(&self) -> Basis {
        Basis::new(FEATURES, self.header.degree)
    }

    /// The fitted expected gain of converting `slice` on date `d` at standardized state `z`.
    #[inline]
    pub fn gain(&self, basis: &Basis, slice: usize, d: usize, z: &[f64; FEATURES]) -> f64 {
        basis.dot(z, &self.coef[slice * self.header.days.len() + d])
    }

    /// The fitted expected gain at the raw state `x` (`ln hashprice`, `ln lease`, `ln price`).
    pub fn gain_at(&self, basis: &Basis, slice: usize, d: usize, x: &[f64; FEATURES]) -> f64 {
        self.gain(basis, slice, d, &self.header.standardize(d, x))
    }
}

/// Which paths phase 2 prices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Sample {
    /// The run's paths (the fit's own: the in-sample estimate).
    InSample,
    /// Fresh paths (the out-of-sample estimate, a lower bound).
    Fresh,
}

/// Phase 2 on a contiguous range of blocks: the per-path values the summary needs, in path order.
/// Per-slice columns are `[path · tranches + slice]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PricedPaths {
    /// In-sample or fresh.
    pub sample: Sample,
    /// Slices.
    pub tranches: usize,
    /// First engine block priced.
    pub first_block: u64,
    /// One past the last engine block priced.
    pub end_block: u64,
    /// NPV under the policy, USD.
    pub npv: Vec<f64>,
    /// `mine` NPV (the slices' mining values summed), USD.
    pub mine_npv: Vec<f64>,
    /// The mining part of `npv` (mining cash of the slices while they mine), USD.
    pub mining: Vec<f64>,
    /// The AI part of `npv` (AI value and salvage of the converted slices), USD.
    pub ai: Vec<f64>,
    /// Decision month index of each slice's conversion, or [`NEVER`].
    pub stop: Vec<u32>,
    /// Each slice's gain of its conversion over never converting (0 if never), USD.
    pub gain: Vec<f64>,
    /// Each slice's gain of converting on day 0 (the static shares), USD.
    pub gain0: Vec<f64>,
    /// Each slice's best gain over the decision days, or 0 (perfect foresight), USD; in sample
    /// only (0 on fresh paths, whose blocks compute only the policy's days: `Slices::block_deciding`).
    pub foresight: Vec<f64>,
    /// `[finance]`, in-sample: the equity figures of each path under the policy (MODEL.md §10);
    /// `None` when unlevered (and for fresh paths).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub equity: Option<PricedEquity>,
    /// `[finance]`, in-sample and fresh: the same values in the objective the levered policy
    /// maximizes (mining NPV + AI equity NPV); `None` when unlevered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub levered: Option<PricedObjective>,
}

/// With `[finance]`, a policy's values in its own objective, the owner's value (mining NPV + AI
/// equity NPV, MODEL.md §10): `optimal`'s lower bound, perfect foresight and value of flexibility
/// in the terms the policy was chosen in. Per-slice columns are `[path · tranches + slice]`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PricedObjective {
    /// Mining NPV + AI equity NPV under the policy, per path.
    pub npv: Vec<f64>,
    /// Each slice's exercise value on its conversion day (0 if never).
    pub gain: Vec<f64>,
    /// Each slice's exercise value on day 0 (the static shares).
    pub gain0: Vec<f64>,
    /// Each slice's best exercise value over the decision days, or 0 (perfect foresight); in
    /// sample only (0 on fresh paths).
    pub foresight: Vec<f64>,
}

impl PricedObjective {
    fn append(&mut self, o: PricedObjective) {
        self.npv.extend(o.npv);
        self.gain.extend(o.gain);
        self.gain0.extend(o.gain0);
        self.foresight.extend(o.foresight);
    }
}

/// The equity figures of priced paths (MODEL.md §10), in path order: what the fixed strategies
/// report, for the conversions the policy makes.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PricedEquity {
    /// Mining NPV + AI equity NPV.
    pub equity_npv: Vec<f64>,
    /// AI equity NPV.
    pub ai_equity_npv: Vec<f64>,
    /// Smallest DSCR over the conversions' whole loan years (`None`: no whole loan year).
    pub dscr_min: Vec<Option<f64>>,
    /// IRR of the AI cash (`None`: no root).
    pub project_irr: Vec<Option<f64>>,
    /// IRR of the equity cash (`None`: no root).
    pub equity_irr: Vec<Option<f64>>,
}

impl PricedEquity {
    /// The figures of a block: each path's equity NPV and its loans' figures.
    pub fn new(equity_npv: Vec<f64>, lanes: &[LaneEquity]) -> Self {
        PricedEquity {
            equity_npv,
            ai_equity_npv: lanes.iter().map(|e| e.ai_equity_npv).collect(),
            dscr_min: lanes.iter().map(|e| e.dscr_min).collect(),
            project_irr: lanes.iter().map(|e| e.project_irr).collect(),
            equity_irr: lanes.iter().map(|e| e.equity_irr).collect(),
        }
    }

    fn append(&mut self, o: PricedEquity) {
        self.equity_npv.extend(o.equity_npv);
        self.ai_equity_npv.extend(o.ai_equity_npv);
        self.dscr_min.extend(o.dscr_min);
        self.project_irr.extend(o.project_irr);
        self.equity_irr.extend(o.equity_irr);
    }

    /// The per-path figures as the equity statistics take them (`NaN`: none).
    pub fn paths(&self) -> EquityPaths {
        let nan = |v: &[Option<f64>]| v.iter().map(|x| x.unwrap_or(f64::NAN)).collect();
        EquityPaths {
            equity_npv: self.equity_npv.clone(),
            ai_equity_npv: self.ai_equity_npv.clone(),
            dscr_min: nan(&self.dscr_min),
            project_irr: nan(&self.project_irr),
            equity_irr: nan(&self.equity_irr),
        }
    }
}

/// A column of [`PricedPaths`] (for writing it to a file and reading it back).
#[derive(Debug)]
pub enum PricedColumn<'a> {
    /// 64-bit floats.
    F64(&'a mut Vec<f64>),
    /// Decision month indices.
    U32(&'a mut Vec<u32>),
    /// Figures a path may lack (a DSCR, an IRR), stored as 64-bit floats with `NaN` for none
    /// (the engine's figures are finite when present).
    OptF64(&'a mut Vec<Option<f64>>),
}

impl PricedPaths {
    /// Every per-path column: its name, its values per path (1, or one per slice) and its
    /// values, in a fixed order (a shard's part file lists them in this order).
    pub fn columns(&mut self) -> Vec<(&'static str, usize, PricedColumn<'_>)> {
        let k = self.tranches;
        let mut cols = vec![
            ("npv", 1, PricedColumn::F64(&mut self.npv)),
            ("mine_npv", 1, PricedColumn::F64(&mut self.mine_npv)),
            ("mining", 1, PricedColumn::F64(&mut self.mining)),
            ("ai", 1, PricedColumn::F64(&mut self.ai)),
            ("stop", k, PricedColumn::U32(&mut self.stop)),
            ("gain", k, PricedColumn::F64(&mut self.gain)),
            ("gain0", k, PricedColumn::F64(&mut self.gain0)),
            ("foresight", k, PricedColumn::F64(&mut self.foresight)),
        ];
        // With [finance] the in-sample paths carry the equity figures too (MODEL.md §10), so a
        // sharded optimal run merges into the single machine's equity block.
        if let Some(e) = &mut self.equity {
            cols.extend([
                ("equity_npv", 1, PricedColumn::F64(&mut e.equity_npv)),
                ("ai_equity_npv", 1, PricedColumn::F64(&mut e.ai_equity_npv)),
                ("dscr_min", 1, PricedColumn::OptF64(&mut e.dscr_min)),
                ("project_irr", 1, PricedColumn::OptF64(&mut e.project_irr)),
                ("equity_irr", 1, PricedColumn::OptF64(&mut e.equity_irr)),
            ]);
        }
        if let Some(o) = &mut self.levered {
            cols.extend([
                ("objective_npv", 1, PricedColumn::F64(&mut o.npv)),
                ("objective_gain", k, PricedColumn::F64(&mut o.gain)),
                ("objective_gain0", k, PricedColumn::F64(&mut o.gain0)),
                (
                    "objective_foresight",
                    k,
                    PricedColumn::F64(&mut o.foresight),
                ),
            ]);
        }
        cols
    }

    /// No paths yet, starting at `first_block`.
    pub fn empty(sample: Sample, tranches: usize, first_block: u64) -> Self {
        PricedPaths {
            sample,
            tranches,
            first_block,
            end_block: first_block,
            npv: Vec::new(),
            mine_npv: Vec::new(),
            mining: Vec::new(),
            ai: Vec::new(),
            stop: Vec::new(),
            gain: Vec::new(),
            gain0: Vec::new(),
            foresight: Vec::new(),
            equity: None,
            levered: None,
        }
    }

    /// Paths held.
    pub fn len(&self) -> usize {
        self.npv.len()
    }

    /// True if no path is held.
    pub fn is_empty(&self) -> bool {
        self.npv.is_empty()
    }

    /// Room for `more` paths in every column present.
    pub fn reserve(&mut self, more: usize) {
        for (_, per, col) in self.columns() {
            match col {
                PricedColumn::F64(v) => v.reserve(more * per),
                PricedColumn::U32(v) => v.reserve(more * per),
                PricedColumn::OptF64(v) => v.reserve(more * per),
            }
        }
    }

    /// Appends the next range of blocks (MODEL.md section 12: merged in block order).
    pub fn merge(&mut self, next: PricedPaths) -> Result<(), ModelError> {
        if next.sample != self.sample || next.tranches != self.tranches {
            return Err(mismatch(
                "priced paths",
                format!("{:?} paths of {} slices", next.sample, next.tranches),
                &format!("{:?} paths of {} slices", self.sample, self.tranches),
            ));
        }
        if next.first_block != self.end_block {
            return Err(mismatch(
                "priced paths",
                format!(
                    "blocks {}..{} after blocks {}..{}",
                    next.first_block, next.end_block, self.first_block, self.end_block
                ),
                "contiguous block ranges merged in block order",
            ));
        }
        // An empty range (a shard with no blocks) carries no equity figures either way.
        let both = !self.is_empty() && !next.is_empty();
        if both
            && (self.equity.is_some() != next.equity.is_some()
                || self.levered.is_some() != next.levered.is_some())
        {
            return Err(mismatch(
                "priced paths",
                "levered and unlevered blocks".into(),
                "blocks of the same run, all with or all without [finance]",
            ));
        }
        self.end_block = next.end_block;
        self.npv.extend(next.npv);
        self.mine_npv.extend(next.mine_npv);
        self.mining.extend(next.mining);
        self.ai.extend(next.ai);
        self.stop.extend(next.stop);
        self.gain.extend(next.gain);
        self.gain0.extend(next.gain0);
        self.foresight.extend(next.foresight);
        match (&mut self.equity, next.equity) {
            (Some(e), Some(n)) => e.append(n),
            (e @ None, n) => *e = n,
            (Some(_), None) => {}
        }
        match (&mut self.levered, next.levered) {
            (Some(e), Some(n)) => e.append(n),
            (e @ None, n) => *e = n,
            (Some(_), None) => {}
        }
        Ok(())
    }
}
