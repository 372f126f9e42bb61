//! Hourly power prices for the engine: the price-duration curve of an hourly series and the per-day
//! step a machine type takes on it (MODEL.md §4, with the flat site price replaced by hourly prices).
//!
//! With `[power] hourly = "ercot:HB_WEST:2024"` the engine asks, per machine type and simulated day,
//! [`UnitDay::margin`] (or [`UnitDay::margins`] for a lane of paths): the machine runs in the hours of
//! the series whose price is at most its break-even price, so its uptime is `mining.uptime × F(B)`
//! and it pays the mean price of those hours. [`DurationCurve`] (sorted prices + prefix sums, built
//! once) answers that in one bucket read. The hour-by-hour dispatch optimiser of the `dispatch`
//! command is its own crate (`hashpivot-dispatch`); this module keeps its settings table,
//! [`DispatchConfig`], because the scenario holds it (`[dispatch]`).
//!
//! Units: prices $/MWh, energy MWh of *facility* power (machine power × `mining.overhead`), hashvalue
//! BTC per PH/s per day (MODEL.md §2), money USD.
//!
//! **Break-even price.** A machine's revenue per MWh it consumes, independent of its unit count:
//!
//! ```text
//! B = hashrate_ths × hv_btc_per_th_day × (1 − pool_fee) × S  /  (power_w × overhead × 24 / 1e6)
//! ```
//!
//! It runs in an hour iff that hour's price `p ≤ B` (revenue ≥ power cost, the same tie rule as
//! MODEL.md's `usd_i < cost_i` switch-off).

use serde::{Deserialize, Serialize};

pub use hashpivot_data::ercot::{HourStamp, HourlySeries};

/// Errors of the power module: always name the field or file position, the value and what is
/// allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum PowerError {
    /// An ERCOT series name that does not resolve.
    #[error(transparent)]
    Ercot(#[from] hashpivot_data::ercot::ErcotError),
    /// A series with no hours (after filtering).
    #[error("price series {label}: no hours{hint}")]
    Empty {
        /// The series.
        label: String,
        /// Extra advice (e.g. about a date filter), may be empty.
        hint: String,
    },
    /// A value outside its allowed range.
    #[error("{field} = {value}: allowed {allowed}")]
    Invalid {
        /// The key or flag (`dispatch.min_run_hours`, `mining.fleet[1].power_w`).
        field: String,
        /// The value given.
        value: String,
        /// What is allowed.
        allowed: String,
    },
}

fn invalid(
    field: impl Into<String>,
    value: impl ToString,
    allowed: impl Into<String>,
) -> PowerError {
    PowerError::Invalid {
        field: field.into(),
        value: value.to_string(),
        allowed: allowed.into(),
    }
}

pub use hashpivot_data::series::MAX_ABS_USD_MWH;

/// The engine's `[power] hourly` source as a duration curve: an ERCOT name
/// (`ercot:HB_WEST:2024`, `ercot:HB_WEST:2021-2025`) or `flat:USD_MWH`, every hour at one price (with
/// the site's flat price, the engine with the option on must reproduce the flat model: a check a
/// user can run). Errors name `power.hourly`, the value and what is allowed.
pub fn curve_from_source(spec: &str) -> Result<DurationCurve, PowerError> {
    let allowed = "ercot:HUB:YEAR or ercot:HUB:FIRST-LAST (hubs HB_*/LZ_*, years 2021 to 2025), or flat:USD_MWH";
    if let Some(x) = spec.strip_prefix("flat:") {
        return match x.trim().parse::<f64>() {
            Ok(p) if p.is_finite() && p.abs() <= MAX_ABS_USD_MWH => DurationCurve::flat(p, 24),
            _ => Err(invalid(
                "power.hourly",
                format!("{spec:?}"),
                format!("{allowed}; flat prices -100000 to 100000 $/MWh"),
            )),
        };
    }
    if hashpivot_data::ercot::is_ercot_name(spec) {
        return DurationCurve::from_ercot(spec)
            .map_err(|e| invalid("power.hourly", format!("{spec:?}"), e.to_string()));
    }
    Err(invalid("power.hourly", format!("{spec:?}"), allowed))
}

/// Checks a `[power] hourly` source without building its curve (for scenario validation): `Err`
/// holds what is allowed.
pub fn check_source(spec: &str) -> Result<(), String> {
    if let Some(x) = spec.strip_prefix("flat:") {
        return match x.trim().parse::<f64>() {
            Ok(p) if p.is_finite() && p.abs() <= MAX_ABS_USD_MWH => Ok(()),
            _ => Err("flat:USD_MWH with a price from -100000 to 100000 $/MWh".into()),
        };
    }
    hashpivot_data::ercot::ErcotSpec::parse(spec)
        .map(|_| ())
        .map_err(|e| e.to_string())
}

// ---------------------------------------------------------------------------------------------
// Duration curve
// ---------------------------------------------------------------------------------------------

/// A price-duration curve: the hourly prices of a series sorted ascending, with prefix sums, so
/// that "share of hours at or below price `b` and their mean price" costs one table look-up and a
/// short search (the engine asks it once per batch per simulated day).
#[derive(Debug, Clone, PartialEq)]
pub struct DurationCurve {
    /// Prices ascending.
    sorted: Vec<f64>,
    /// `mean_below[k]` = mean of the `k` cheapest prices (0 for k = 0), computed from prefix sums
    /// of `sorted[j] − sorted[0]`: offsetting by the minimum keeps a flat curve's mean exactly its
    /// price (so the engine with a flat curve equals the flat model bit for bit) and shrinks
    /// rounding on curves far from zero. Stored as means so a query does no division.
    mean_below: Vec<f64>,
    /// `1 / hours`.
    inv_n: f64,
    /// Bucket index over `[lo, hi)`, bucket `j(p) = floor((p − lo) · inv_width)`. The width is
    /// at most half the smallest gap between distinct prices (capped at [`MAX_BUCKETS`]), so a
    /// bucket almost always holds copies of one price, and a query is one bucket read and one
    /// comparison. Empty when the curve is flat.
    buckets: Vec<Bucket>,
    /// The engine's copy of the index for [`UnitDay::margins`]: `val` of every bucket, ...
    vals: Vec<f64>,
    /// ... and per bucket `[share, mean]` of its `start` cheapest hours then of its `end`
    /// cheapest (`share` exactly as [`DurationCurve::below`] computes it), so a lane reads three
    /// numbers (two of them next to each other) instead of a whole bucket and converts no count.
    sides: Vec<f64>,
    lo: f64,
    inv_width: f64,
}

/// One bucket of the index: positions `[start, end)` of `sorted`, all with price `val`; `val` is
/// +∞ for an empty bucket and NaN when the bucket holds several distinct prices (then the query
/// searches `[start, end)`).
#[derive(Debug, Clone, Copy, PartialEq)]
#[repr(C, align(32))]
struct Bucket {
    val: f64,
    /// Mean price of the `start` cheapest hours (`mean_below[start]`).
    mean_lo: f64,
    /// Mean price of the `end` cheapest hours.
    mean_hi: f64,
    start: u32,
    end: u32,
}

/// Most buckets in the index (32 bytes each, plus 40 in the engine's copy of `vals` and `sides`:
/// ≤ 2.3 MB, about a core's L2 cache).
const MAX_BUCKETS: usize = 1 << 15;

/// The hours of a curve at or below a price.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CurveShare {
    /// Number of hours with price ≤ the threshold.
    pub hours: usize,
    /// `hours / total hours`, in [0, 1].
    pub share: f64,
    /// Mean price of those hours, $/MWh; 0 when `hours == 0`.
    pub mean_usd_mwh: f64,
}

/// One point of a chart-ready duration curve: `exceedance` of the hours have a price ≥ `usd_mwh`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CurvePoint {
    /// Share of hours, 0 (the most expensive hour) to 1 (the cheapest).
    pub exceedance: f64,
    /// Price, $/MWh.
    pub usd_mwh: f64,
}

impl DurationCurve {
    /// Builds the curve of `prices` ($/MWh, any order). Fails on an empty slice or a non-finite price.
    pub fn new(prices: &[f64]) -> Result<Self, PowerError> {
        if prices.is_empty() {
            return Err(PowerError::Empty {
                label: "duration curve".into(),
                hint: String::new(),
            });
        }
        if let Some((i, p)) = prices.iter().enumerate().find(|(_, p)| !p.is_finite()) {
            return Err(invalid(format!("price[{i}]"), p, "a finite $/MWh"));
        }
        let mut sorted = prices.to_vec();
        sorted.sort_by(f64::total_cmp);
        let base = sorted[0];
        let mut mean_below = Vec::with_capacity(sorted.len() + 1);
        let mut acc = 0.0;
        mean_below.push(0.0);
        for (j, &p) in sorted.iter().enumerate() {
            acc += p - base;
            mean_below.push(base + acc / (j + 1) as f64);
        }
        let n = sorted.len();
        let (buckets, lo, inv_width) = build_index(&sorted, &mean_below);
        let inv_n = 1.0 / n as f64;
        let share = |k: u32| {
            if k as usize == n {
                1.0
            } else {
                f64::from(k) * inv_n
            }
        };
        let vals = buckets.iter().map(|b| b.val).collect();
        let sides = buckets
            .iter()
            .flat_map(|b| [share(b.start), b.mean_lo, share(b.end), b.mean_hi])
            .collect();
        Ok(DurationCurve {
            inv_n,
            sorted,
            mean_below,
            buckets,
            vals,
            sides,
            lo,
            inv_width,
        })
    }

    /// `(k, mean of the k cheapest)` with `k` = number of prices `≤ b`, through the bucket index.
    ///
    /// Exact whatever the rounding of the bucket formula: `j(p)` is non-decreasing in `p`, so every
    /// price in a bucket below `j(b)` is `< b` and every price in a bucket above is `> b`; only
    /// `b`'s own bucket needs a comparison, done without a branch (the engine asks this for 1,024
    /// paths at once, whose answers do not follow a pattern a branch predictor could learn).
    #[inline]
    fn count_le(&self, b: f64) -> (usize, f64) {
        let x = (b - self.lo) * self.inv_width;
        if x >= 0.0 {
            if let Some(bk) = self.buckets.get(x as usize) {
                if !bk.val.is_nan() {
                    let le = bk.val <= b;
                    let k = if le { bk.end } else { bk.start };
                    let mean = if le { bk.mean_hi } else { bk.mean_lo };
                    return (k as usize, mean);
                }
                let (a, z) = (bk.start as usize, bk.end as usize);
                let k = a + self.sorted[a..z].partition_point(|&p| p <= b);
                return (k, self.mean_below[k]);
            }
        } else if b < self.lo || b.is_nan() {
            return (0, 0.0);
        }
        // Above the indexed body (the scarcity tail), or a flat curve.
        let k = self.sorted.partition_point(|&p| p <= b);
        (k, self.mean_below[k])
    }

    /// The curve of an hourly series.
    pub fn from_series(s: &HourlySeries) -> Result<Self, PowerError> {
        if s.is_empty() {
            return Err(PowerError::Empty {
                label: s.label.clone(),
                hint: String::new(),
            });
        }
        Self::new(&s.usd_mwh)
    }

    /// The curve of an ERCOT series name (`ercot:HB_WEST:2024`): what the engine builds once per run.
    pub fn from_ercot(spec: &str) -> Result<Self, PowerError> {
        Self::from_series(&hashpivot_data::ercot::series(spec)?)
    }

    /// A curve of `hours ≥ 1` hours all at `price` (equivalent to a flat contract).
    pub fn flat(price: f64, hours: usize) -> Result<Self, PowerError> {
        Self::new(&vec![price; hours.max(1)])
    }

    /// Number of hours.
    pub fn hours(&self) -> usize {
        self.sorted.len()
    }

    /// Lowest price.
    pub fn min(&self) -> f64 {
        self.sorted[0]
    }

    /// Highest price.
    pub fn max(&self) -> f64 {
        self.sorted[self.sorted.len() - 1]
    }

    /// Mean price over all hours.
    pub fn mean(&self) -> f64 {
        self.below(f64::INFINITY).mean_usd_mwh
    }

    /// The hours priced at or below `b` $/MWh and their mean price. O(1) on the indexed body of the
    /// curve (a bucket look-up), O(log n) in the tails. A NaN `b` selects no hour.
    #[inline]
    pub fn below(&self, b: f64) -> CurveShare {
        let (k, mean) = self.count_le(b);
        CurveShare {
            hours: k,
            share: if k == self.sorted.len() {
                1.0
            } else {
                k as f64 * self.inv_n
            },
            mean_usd_mwh: mean,
        }
    }

    /// The price exceeded in `x` of the hours (`x` in [0, 1]; 0 = the maximum, 1 = the minimum),
    /// nearest rank.
    pub fn exceeded(&self, x: f64) -> f64 {
        let n = self.sorted.len();
        let x = if x.is_nan() { 0.0 } else { x.clamp(0.0, 1.0) };
        let rank = ((1.0 - x) * (n - 1) as f64).round() as usize;
        self.sorted[rank.min(n - 1)]
    }

    /// `n ≥ 2` evenly spaced points of the curve, most expensive hour first (a chart's x axis is
    /// the share of hours, y the price; a batch's break-even price is a horizontal line that cuts
    /// the curve at `1 − uptime`).
    pub fn points(&self, n: usize) -> Vec<CurvePoint> {
        let n = n.max(2);
        (0..n)
            .map(|i| {
                let x = i as f64 / (n - 1) as f64;
                CurvePoint {
                    exceedance: x,
                    usd_mwh: self.exceeded(x),
                }
            })
            .collect()
    }
}

/// Builds the bucket index of an ascending, non-empty price list: `(buckets, lo, inv_width)`.
///
/// The index covers at most `[min, p99.5)`: scarcity spikes (Uri's $9,000) would otherwise stretch
/// it, and queries above the body are rare and fall back to a binary search.
fn build_index(sorted: &[f64], mean_below: &[f64]) -> (Vec<Bucket>, f64, f64) {
    let n = sorted.len();
    let lo = sorted[0];
    let hi = sorted[((n - 1) as f64 * 0.995) as usize];
    // Prices are finite (checked by `new`), so `hi <= lo` means a flat curve.
    if hi <= lo || n > u32::MAX as usize {
        return (Vec::new(), lo, 0.0);
    }
    let mut gap = f64::INFINITY;
    for w in sorted.windows(2) {
        if w[1] > w[0] && w[1] <= hi {
            gap = gap.min(w[1] - w[0]);
        }
    }
    // Resolution first: buckets one price gap wide (so they hold one price each), as far up as
    // MAX_BUCKETS reach, but never coarser than needed to cover the cheapest 95% of hours. On
    // ERCOT's cent grid that covers $327 above the minimum, past every realistic break-even.
    let p95 = sorted[((n - 1) as f64 * 0.95) as usize];
    let width = gap.max((p95 - lo) / MAX_BUCKETS as f64);
    let inv_width = 1.0 / width;
    let k = (((hi - lo) * inv_width) as usize).clamp(1, MAX_BUCKETS);
    let mut buckets = Vec::with_capacity(k);
    let mut pos = 0usize;
    for j in 0..k {
        let start = pos;
        while pos < n && ((sorted[pos] - lo) * inv_width) as usize <= j {
            pos += 1;
        }
        let val = if start == pos {
            f64::INFINITY
        } else if sorted[start] == sorted[pos - 1] {
            sorted[start]
        } else {
            f64::NAN
        };
        buckets.push(Bucket {
            val,
            mean_lo: mean_below[start],
            mean_hi: mean_below[pos],
            start: start as u32,
            end: pos as u32,
        });
    }
    (buckets, lo, inv_width)
}

// ---------------------------------------------------------------------------------------------
// Engine side: one batch on one day
// ---------------------------------------------------------------------------------------------

/// A machine type's day on a duration curve, prepared once per type and day so that each path
/// costs one multiplication and one bucket read ([`UnitDay::margin`]).
#[derive(Debug, Clone, Copy)]
pub struct UnitDay<'a> {
    curve: &'a DurationCurve,
    mwh: f64,
    scale: f64,
    /// `1 / (mwh · scale)`: break-even on the unscaled curve = `rev · inv`.
    inv: f64,
    curtail: bool,
}

impl DurationCurve {
    /// Prepares [`UnitDay::margin`] for one machine type on one day: `mwh` is one unit's facility
    /// energy running all day (`mining.uptime × power_w × o × 24 / 1e6`), `scale` the day's
    /// escalation factor.
    pub fn unit_day(&self, mwh: f64, scale: f64, curtail: bool) -> UnitDay<'_> {
        UnitDay {
            curve: self,
            mwh,
            scale,
            inv: 1.0 / (mwh * scale),
            curtail,
        }
    }
}

impl UnitDay<'_> {
    /// [`UnitDay::margin`] of many paths at once: `out[i] = margin(rev_th[i] * ths)`, bit for bit
    /// (`rev_th`: revenue per TH/s of running all day, `ths`: TH/s per unit).
    ///
    /// Written for the engine's lanes: a first pass does the common case (break-even inside the
    /// indexed body, a one-price bucket) without branches, so that it can be vectorized with
    /// gathers where the caller is compiled for AVX2/AVX-512; lanes outside it are marked and redone
    /// by the scalar path.
    #[inline(always)]
    pub fn margins(&self, rev_th: &[f64], ths: f64, out: &mut [f64]) {
        let c = self.curve;
        let nb = c.buckets.len();
        if !self.curtail || nb == 0 {
            for (o, &r) in out.iter_mut().zip(rev_th) {
                *o = self.margin(r * ths);
            }
            return;
        }
        let last = (nb - 1) as f64;
        let (vals, sides) = (&c.vals[..nb], &c.sides[..4 * nb]);
        // Eight lanes at a time, in phases (index, bucket value, side, margin), so the arithmetic
        // runs as vector code and only the three table reads per lane are scalar loads; written
        // as one lane loop, LLVM kept the whole body scalar.
        const W: usize = 8;
        let n = out.len().min(rev_th.len());
        let full = n - n % W;
        for (oc, rc) in out[..full]
            .chunks_exact_mut(W)
            .zip(rev_th[..full].chunks_exact(W))
        {
            let (mut r, mut b, mut ok, mut j) = ([0.0f64; W], [0.0f64; W], [false; W], [0usize; W]);
            for l in 0..W {
                r[l] = rc[l] * ths;
                b[l] = r[l] * self.inv;
                let x = (b[l] - c.lo) * c.inv_width;
                ok[l] = x >= 0.0 && x <= last;
                // Clamped so the reads are always in bounds; lanes outside are redone below.
                j[l] = x.clamp(0.0, last) as usize;
            }
            let mut val = [0.0f64; W];
            for l in 0..W {
                val[l] = vals[j[l]];
            }
            let (mut share, mut mean) = ([0.0f64; W], [0.0f64; W]);
            for l in 0..W {
                let at = 4 * j[l] + if val[l] <= b[l] { 2 } else { 0 };
                share[l] = sides[at];
                mean[l] = sides[at + 1];
            }
            for l in 0..W {
                // `share` is 0 exactly when no hour is cheap enough (`margin` returns 0.0 then).
                let m = if share[l] == 0.0 {
                    0.0
                } else {
                    share[l] * (r[l] - self.mwh * (mean[l] * self.scale))
                };
                oc[l] = if ok[l] && !val[l].is_nan() {
                    m
                } else {
                    f64::NAN
                };
            }
        }
        for (o, &rt) in out[full..n].iter_mut().zip(&rev_th[full..n]) {
            *o = self.margin(rt * ths);
        }
        for (o, &rt) in out.iter_mut().zip(rev_th) {
            if o.is_nan() {
                *o = self.margin(rt * ths);
            }
        }
    }

    /// One unit's margin on the day, USD, given its revenue `rev` of running all day
    /// (`mining.uptime × TH × hv_t × (1 − fee) × S_t`). With `curtail`, the unit runs in the share
    /// `F` of hours priced at most its break-even `rev / mwh` (after scaling by the escalator) and
    /// pays their mean `m`: `F · (rev − mwh · m · scale)`; without `curtail`, every hour at the
    /// curve's mean. A flat curve at `p` gives MODEL.md §4's flat margin at `p · scale` (tested).
    #[inline]
    pub fn margin(&self, rev: f64) -> f64 {
        let q = if self.curtail {
            // A unit drawing nothing has an infinite break-even: it runs every hour.
            self.curve.below(rev * self.inv)
        } else {
            self.curve.below(f64::INFINITY)
        };
        if q.hours == 0 {
            0.0
        } else {
            q.share * (rev - self.mwh * (q.mean_usd_mwh * self.scale))
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The scenario's `[dispatch]` table (the optimiser is the `hashpivot-dispatch` crate)
// ---------------------------------------------------------------------------------------------

/// The scenario's `[dispatch]` table: rules and payments of hour-by-hour curtailment.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DispatchConfig {
    /// Demand-response credit, $ per MWh **curtailed**: paid on the facility energy a batch does not
    /// consume in the hours it is off (for price or 4CP), relative to running every hour. Riot's
    /// reported "power credits" ($7.6–23/MWh, docs/PARAMETERS.md) are per MWh *consumed*; convert
    /// with `credit_per_curtailed = reported × consumed / curtailed`. Default 0. It does not move
    /// the run/stop decision (the decision is revenue vs price), it is a settlement on the result.
    pub credit_usd_mwh: f64,
    /// Once started, a batch runs at least this many consecutive hours (1 = no constraint).
    pub min_run_hours: u32,
    /// Once stopped, a batch stays off at least this many consecutive hours (1 = no constraint).
    pub min_off_hours: u32,
    /// ERCOT 4CP avoidance: hour endings (1–24, local) of June–September in which every batch is
    /// switched off, whatever the price, to stay off the four coincident-peak intervals that set
    /// the next year's transmission charge. Empty (default) = no 4CP avoidance.
    pub fourcp_hours: Vec<u8>,
    /// Apply 4CP avoidance on weekdays only (ERCOT's summer peaks fall on weekdays). Default true.
    pub fourcp_weekdays_only: bool,
    /// Transmission charge avoided by staying off the 4CP intervals, $ per kW of facility load per
    /// year (credited per summer of data: each of June–September present counts a quarter year).
    pub fourcp_usd_kw_year: f64,
}

impl Default for DispatchConfig {
    fn default() -> Self {
        DispatchConfig {
            credit_usd_mwh: 0.0,
            min_run_hours: 1,
            min_off_hours: 1,
            fourcp_hours: Vec::new(),
            fourcp_weekdays_only: true,
            fourcp_usd_kw_year: 0.0,
        }
    }
}

/// Longest minimum run/off time accepted (a week).
pub const MAX_MIN_HOURS: u32 = 168;

impl DispatchConfig {
    /// Checks every value; errors name the key (`dispatch.min_run_hours`).
    pub fn validate(&self) -> Result<(), PowerError> {
        if !(self.credit_usd_mwh.is_finite() && (0.0..=10_000.0).contains(&self.credit_usd_mwh)) {
            return Err(invalid(
                "dispatch.credit_usd_mwh",
                self.credit_usd_mwh,
                "0 <= x <= 10000 $/MWh",
            ));
        }
        for (k, v) in [
            ("dispatch.min_run_hours", self.min_run_hours),
            ("dispatch.min_off_hours", self.min_off_hours),
        ] {
            if !(1..=MAX_MIN_HOURS).contains(&v) {
                return Err(invalid(
                    k,
                    v,
                    format!("1 <= hours <= {MAX_MIN_HOURS} (1 = no constraint)"),
                ));
            }
        }
        for &h in &self.fourcp_hours {
            if !(1..=24).contains(&h) {
                return Err(invalid(
                    "dispatch.fourcp_hours",
                    h,
                    "hour endings 1 to 24 (HE17 = 16:00-17:00)",
                ));
            }
        }
        if !(self.fourcp_usd_kw_year.is_finite()
            && (0.0..=10_000.0).contains(&self.fourcp_usd_kw_year))
        {
            return Err(invalid(
                "dispatch.fourcp_usd_kw_year",
                self.fourcp_usd_kw_year,
                "0 <= x <= 10000 $/kW-year",
            ));
        }
        Ok(())
    }

    /// True when hour `h` is a 4CP peak-risk hour (June–September, a listed hour ending, and a
    /// weekday if `fourcp_weekdays_only`).
    pub fn is_fourcp_hour(&self, h: &HourStamp) -> bool {
        (6..=9).contains(&h.month())
            && self.fourcp_hours.contains(&h.hour_ending)
            && !(self.fourcp_weekdays_only && h.weekday() >= 5)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
    }

    #[test]
    fn curve_query_by_hand() {
        let c = DurationCurve::new(&[30.0, -5.0, 100.0, 10.0, 50.0, 20.0]).unwrap();
        assert_eq!(c.hours(), 6);
        assert_eq!((c.min(), c.max()), (-5.0, 100.0));
        let q = c.below(40.0);
        assert_eq!(q.hours, 4);
        assert_eq!(q.share, 4.0 / 6.0);
        assert!(close(
            q.mean_usd_mwh,
            (30.0 - 5.0 + 10.0 + 20.0) / 4.0,
            1e-15
        ));
        // The tie rule: a price equal to the break-even runs (MODEL.md: off only if usd < cost).
        assert_eq!(c.below(50.0).hours, 5);
        assert_eq!(c.below(-6.0).hours, 0);
        assert_eq!(c.below(-6.0).mean_usd_mwh, 0.0);
        assert_eq!(c.below(f64::NAN).hours, 0);
        assert!(close(c.mean(), 205.0 / 6.0, 1e-15));
        let pts = c.points(6);
        assert_eq!(pts[0].usd_mwh, 100.0);
        assert_eq!(pts[5].usd_mwh, -5.0);
        assert_eq!(pts[5].exceedance, 1.0);
        let flat = DurationCurve::flat(38.0, 24).unwrap();
        assert_eq!(flat.below(37.99).hours, 0);
        assert_eq!(flat.below(38.0).hours, 24);
        assert_eq!(flat.below(38.0).mean_usd_mwh, 38.0);
        assert_eq!(flat.below(f64::INFINITY).hours, 24);
        assert_eq!(flat.below(f64::NAN).hours, 0);
        assert_eq!(c.below(f64::INFINITY).hours, 6);
        assert_eq!(c.below(f64::NEG_INFINITY).hours, 0);
        assert!(DurationCurve::new(&[]).is_err());
        assert!(DurationCurve::new(&[1.0, f64::NAN]).is_err());
    }

    proptest! {
        #[test]
        fn lane_margins_equal_scalar_margins(
            revs in prop::collection::vec(0.0f64..40.0, 1..200),
            mwh in 0.01f64..0.2,
            scale in 0.5f64..2.0,
            curtail: bool,
        ) {
            let c = DurationCurve::from_ercot("ercot:HB_WEST:2021").unwrap();
            let ud = c.unit_day(mwh, scale, curtail);
            let mut out = vec![0.0; revs.len()];
            ud.margins(&revs, 1.7, &mut out);
            for (o, &r) in out.iter().zip(&revs) {
                prop_assert_eq!(o.to_bits(), ud.margin(r * 1.7).to_bits(), "rev {}", r);
            }
        }
    }

    #[test]
    fn sources_resolve_and_bad_ones_are_explained() {
        let c = curve_from_source("flat:38").unwrap();
        assert_eq!((c.min(), c.max()), (38.0, 38.0));
        assert_eq!(
            curve_from_source("ercot:HB_WEST:2024").unwrap().hours(),
            8784
        );
        let e = curve_from_source("ercot:HB_EAST:2024")
            .unwrap_err()
            .to_string();
        assert!(e.contains("power.hourly") && e.contains("HB_WEST"), "{e}");
        assert!(curve_from_source("flat:x").is_err());
        assert!(curve_from_source("pjm:X:2024")
            .unwrap_err()
            .to_string()
            .contains("flat:USD_MWH"));
        assert!(check_source("ercot:HB_WEST:2021-2025").is_ok());
        assert!(check_source("flat:-5").is_ok());
        assert!(check_source("ercot:HB_WEST:2026")
            .unwrap_err()
            .contains("2021 to 2025"));
    }

    #[test]
    fn ercot_index_buckets_hold_one_price() {
        // The index is what makes the engine's query one bucket read: on real two-decimal prices
        // almost no bucket may mix distinct prices, and the body must cover 99.5% of the hours.
        for spec in [
            "ercot:HB_WEST:2024",
            "ercot:HB_WEST:2021-2025",
            "ercot:LZ_HOUSTON:2022",
        ] {
            let c = DurationCurve::from_ercot(spec).unwrap();
            let mixed = c.buckets.iter().filter(|b| b.val.is_nan()).count();
            assert!(
                mixed * 100 < c.buckets.len(),
                "{spec}: {mixed} of {}",
                c.buckets.len()
            );
            let covered = c.buckets.last().unwrap().end as usize;
            assert!(
                covered as f64 >= 0.98 * c.hours() as f64,
                "{spec}: {covered}"
            );
            // Means stored in the buckets agree with a direct mean.
            for b in [-20.0, 0.0, 17.3, 25.0, 40.004, 88.2, 150.0, 3000.0] {
                let q = c.below(b);
                let direct: Vec<f64> = c.sorted.iter().cloned().filter(|&p| p <= b).collect();
                assert_eq!(q.hours, direct.len());
                if !direct.is_empty() {
                    let m = direct.iter().sum::<f64>() / direct.len() as f64;
                    assert!(close(q.mean_usd_mwh, m, 1e-12), "{spec} {b}");
                }
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]

        #[test]
        fn indexed_query_equals_binary_search(
            raw in prop::collection::vec(-20i32..400, 1..600),
            spikes in prop::collection::vec(1000i32..9000, 0..5),
            qs in prop::collection::vec(-30.0f64..9500.0, 1..50),
        ) {
            // Two-decimal prices with many ties, plus scarcity spikes, as in ERCOT data.
            let mut prices: Vec<f64> = raw.iter().map(|&c| c as f64 / 4.0).collect();
            prices.extend(spikes.iter().map(|&c| c as f64));
            let c = DurationCurve::new(&prices).unwrap();
            let mut sorted = prices.clone();
            sorted.sort_by(f64::total_cmp);
            // Query at every price exactly (ties), just around it, and at random points.
            let mut all: Vec<f64> = qs.clone();
            for &p in &sorted {
                all.extend([p, p - 1e-9, p + 1e-9, f64::from_bits(p.to_bits() + 1)]);
            }
            for b in all {
                let k = sorted.partition_point(|&p| p <= b);
                let q = c.below(b);
                prop_assert_eq!(q.hours, k, "b = {}", b);
                let mean = if k == 0 { 0.0 } else { sorted[..k].iter().sum::<f64>() / k as f64 };
                prop_assert!((q.mean_usd_mwh - mean).abs() <= 1e-9 * (1.0 + mean.abs()), "b = {}", b);
            }
        }
    }

    /// MODEL.md §4's flat margin of one unit at price `p`: `rev − mwh·p`, or 0 if curtailing and
    /// `rev < mwh·p`.
    fn flat_margin(rev: f64, mwh: f64, p: f64, curtail: bool) -> f64 {
        let cost = mwh * p;
        if curtail && rev < cost {
            0.0
        } else {
            rev - cost
        }
    }

    proptest! {
        #[test]
        fn flat_curve_equals_flat_price(
            rev in 0.0f64..50.0,
            mwh in 0.001f64..0.2,
            base in 0.0f64..200.0,
            scale in 0.5f64..3.0,
            curtail: bool,
        ) {
            let curve = DurationCurve::flat(base, 24).unwrap();
            let got = curve.unit_day(mwh, scale, curtail).margin(rev);
            let want = flat_margin(rev, mwh, base * scale, curtail);
            // Away from the break-even tie, bit for bit (at the tie the two round the comparison
            // differently; both sides are then a margin of ±1 ulp of zero).
            let cost = mwh * base * scale;
            if (rev - cost).abs() > 1e-12 * cost {
                prop_assert_eq!(got.to_bits(), want.to_bits(), "{} {}", got, want);
            } else {
                prop_assert!(got.abs() <= 1e-9 && want.abs() <= 1e-9);
            }
        }

        #[test]
        fn curve_curtailment_never_lowers_margin(
            prices in prop::collection::vec(-50.0f64..9000.0, 1..300),
            rev in 0.0f64..50.0,
            scale in 0.5f64..2.0,
        ) {
            let curve = DurationCurve::new(&prices).unwrap();
            let mwh = 0.97 * 3500.0 * 1.05 * 24.0 / 1e6;
            let on = curve.unit_day(mwh, scale, true).margin(rev);
            let all = curve.unit_day(mwh, scale, false).margin(rev);
            prop_assert!(on >= all - 1e-9 * (1.0 + all.abs()), "{} {}", on, all);
            let every = rev - mwh * curve.mean() * scale;
            prop_assert!((all - every).abs() <= 1e-9 * (1.0 + every.abs()), "{} {}", all, every);
        }
    }

    #[test]
    fn curve_day_by_hand() {
        // Break-even 40 $/MWh on [30, -5, 100, 10, 50, 20]: runs in 4 of 6 hours at their mean.
        let c = DurationCurve::new(&[30.0, -5.0, 100.0, 10.0, 50.0, 20.0]).unwrap();
        let (mwh, rev) = (0.1, 4.0);
        let m = c.unit_day(mwh, 1.0, true).margin(rev);
        let want = 4.0 / 6.0 * (rev - mwh * (55.0 / 4.0));
        assert!(close(m, want, 1e-15), "{m} {want}");
        // Escalation 2x halves the unscaled break-even (20): runs at -5, 10, 20.
        let m = c.unit_day(mwh, 2.0, true).margin(rev);
        let want = 3.0 / 6.0 * (rev - mwh * (25.0 / 3.0 * 2.0));
        assert!(close(m, want, 1e-15), "{m} {want}");
        assert_eq!(c.unit_day(mwh, 1.0, true).margin(-1.0), 0.0);
    }

    #[test]
    fn config_is_validated_and_parsed_strictly() {
        let c: DispatchConfig = toml::from_str("credit_usd_mwh = 12.5\nmin_run_hours = 3").unwrap();
        assert_eq!(c.credit_usd_mwh, 12.5);
        assert_eq!(c.min_run_hours, 3);
        assert_eq!(c.min_off_hours, 1);
        assert!(c.fourcp_weekdays_only);
        assert!(toml::from_str::<DispatchConfig>("credit = 1").is_err());
        let bad = DispatchConfig {
            min_run_hours: 0,
            ..DispatchConfig::default()
        };
        let e = bad.validate().unwrap_err().to_string();
        assert!(
            e.contains("dispatch.min_run_hours") && e.contains("1 <= hours <= 168"),
            "{e}"
        );
        let bad = DispatchConfig {
            fourcp_hours: vec![25],
            ..DispatchConfig::default()
        };
        assert!(bad
            .validate()
            .unwrap_err()
            .to_string()
            .contains("dispatch.fourcp_hours = 25"));
        let bad = DispatchConfig {
            credit_usd_mwh: -1.0,
            ..DispatchConfig::default()
        };
        assert!(bad.validate().is_err());
    }
}
