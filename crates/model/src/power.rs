//! Hourly power prices: price-duration curves for the engine, and hour-by-hour dispatch of a fleet.
//!
//! Two consumers, one economics (MODEL.md §4, with the flat site price replaced by hourly prices):
//!
//! * **The engine** (`[power] hourly = "ercot:HB_WEST:2024"`) calls [`batch_day`] per batch per
//!   simulated day. With [`DayPrice::Flat`] it is MODEL.md §4 exactly; with [`DayPrice::Curve`] the
//!   batch runs in the hours of the series whose price is at most its break-even price, so its
//!   uptime is `mining.uptime × F(B)` and it pays the mean price of those hours. [`DurationCurve`]
//!   (sorted prices + prefix sums, built once) answers that in O(log n).
//! * **The `dispatch` command** calls [`dispatch`]: per batch, per hour, run or not (optionally under
//!   minimum run/off times and ERCOT 4CP avoidance), with totals for energy, cost, revenue, BTC,
//!   demand-response credits and savings.
//!
//! Units: prices $/MWh, energy MWh of *facility* power (machine power × `mining.overhead`), hashvalue
//! BTC per PH/s per day (MODEL.md §2), money USD.
//!
//! **Break-even price.** A batch's revenue per MWh it consumes, independent of its unit count:
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
    /// A price file that does not parse.
    #[error(transparent)]
    File(#[from] PriceFileError),
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

// ---------------------------------------------------------------------------------------------
// Price files
// ---------------------------------------------------------------------------------------------

pub use hashpivot_data::series::MAX_ABS_USD_MWH;

/// A malformed hourly price file; names the file, line, column and value.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}: line {line}{}: {message}", column.as_ref().map(|c| format!(", column `{c}`")).unwrap_or_default())]
pub struct PriceFileError {
    /// File name as given.
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// Column name, when the problem is one cell.
    pub column: Option<String>,
    /// What is wrong, with the value.
    pub message: String,
}

/// Parses an hourly price file (`text` is its content, `file` its name for messages).
///
/// Format: CSV with a header line naming at least the columns `timestamp` and `price_usd_mwh`
/// (any order, other columns ignored, no quoting). One row per delivery hour:
///
/// ```text
/// timestamp,price_usd_mwh
/// 2024-07-01T00:00,21.40
/// 2024-07-01T01:00,19.85
/// ```
///
/// * `timestamp` is the **start** of the hour in local time, `YYYY-MM-DDTHH:MM` or
///   `YYYY-MM-DD HH:MM` (`:SS` allowed; minutes and seconds must be 0). It is stored as hour ending
///   `HH+1`, ERCOT's convention, which is what 4CP peak hours refer to.
/// * Timestamps must increase. One timestamp may appear twice in a row: the repeated hour of the
///   fall DST change. Missing hours (the spring DST hour, gaps) are allowed: each row is one hour.
/// * `price_usd_mwh` is a number from -100000 to 100000 ([`MAX_ABS_USD_MWH`]), negative allowed. Blank lines and lines starting with `#`
///   are skipped.
pub fn parse_price_csv(text: &str, file: &str) -> Result<HourlySeries, PriceFileError> {
    let err = |line: usize, column: Option<&str>, message: String| PriceFileError {
        file: file.to_string(),
        line,
        column: column.map(str::to_string),
        message,
    };
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim_end_matches('\r')))
        .filter(|(_, l)| !l.trim().is_empty() && !l.trim_start().starts_with('#'));
    let (hline, header) = lines.next().ok_or_else(|| {
        err(
            1,
            None,
            "empty file; expected a header `timestamp,price_usd_mwh`".into(),
        )
    })?;
    let header = header.trim_start_matches('\u{feff}');
    let names: Vec<String> = header
        .split(',')
        .map(|c| c.trim().to_ascii_lowercase())
        .collect();
    let col = |name: &str| {
        names.iter().position(|n| n == name).ok_or_else(|| {
            err(
                hline,
                None,
                format!(
                    "missing column `{name}` (header has: {}); expected `timestamp,price_usd_mwh`",
                    hashpivot_data::text::clip(header)
                ),
            )
        })
    };
    let (ti, pi) = (col("timestamp")?, col("price_usd_mwh")?);
    let mut hours: Vec<HourStamp> = Vec::new();
    let mut usd = Vec::new();
    for (line, l) in lines {
        let cells: Vec<&str> = l.split(',').collect();
        if cells.len() != names.len() {
            return Err(err(
                line,
                None,
                format!("{} fields, the header has {}", cells.len(), names.len()),
            ));
        }
        let ts = cells[ti].trim();
        let mut stamp = parse_timestamp(ts).ok_or_else(|| {
            err(
                line,
                Some("timestamp"),
                format!(
                    "value {:?} is not an hour start; expected YYYY-MM-DDTHH:00 (e.g. 2024-07-01T14:00)",
                    hashpivot_data::text::clip(ts)
                ),
            )
        })?;
        if let Some(prev) = hours.last() {
            let same = (prev.year, prev.month, prev.day, prev.hour_ending)
                == (stamp.year, stamp.month, stamp.day, stamp.hour_ending);
            if same && !prev.repeated {
                // The fall DST change: the same local hour twice in a row.
                stamp.repeated = true;
            } else if same || stamp <= *prev {
                return Err(err(
                    line,
                    Some("timestamp"),
                    format!(
                        "value {:?} is not after the previous row (rows must be in time order; one repeat allowed for the DST hour)",
                        hashpivot_data::text::clip(ts)
                    ),
                ));
            }
        }
        let ps = cells[pi].trim();
        let p: f64 = ps
            .parse()
            .ok()
            .filter(|p: &f64| p.is_finite() && p.abs() <= MAX_ABS_USD_MWH)
            .ok_or_else(|| {
                err(
                    line,
                    Some("price_usd_mwh"),
                    format!(
                        "value {:?}: allowed a number from -100000 to 100000 ($/MWh)",
                        hashpivot_data::text::clip(ps)
                    ),
                )
            })?;
        hours.push(stamp);
        usd.push(p);
    }
    if hours.is_empty() {
        return Err(err(hline, None, "no data rows after the header".into()));
    }
    Ok(HourlySeries {
        label: file.to_string(),
        hours,
        usd_mwh: usd,
    })
}

fn parse_timestamp(s: &str) -> Option<HourStamp> {
    let b = s.as_bytes();
    if b.len() < 16
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b' ')
        || b[13] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<u16> {
        let p = s.get(r)?;
        if p.bytes().all(|c| c.is_ascii_digit()) {
            p.parse().ok()
        } else {
            None
        }
    };
    let (y, m, d, hh, mm) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
    );
    match b.len() {
        16 => {}
        19 if b[16] == b':' && num(17..19)? == 0 => {}
        _ => return None,
    }
    if mm != 0 || hh > 23 {
        return None;
    }
    HourStamp::new(
        y,
        u8::try_from(m).ok()?,
        u8::try_from(d).ok()?,
        hh as u8 + 1,
        false,
    )
}

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

/// Resolves a price source: an ERCOT name (`ercot:HB_WEST:2024`, `ercot:HB_WEST:2021-2025`).
/// Files are read by the caller (this crate does no I/O) and parsed with [`parse_price_csv`].
pub fn ercot_series(spec: &str) -> Result<HourlySeries, PowerError> {
    Ok(hashpivot_data::ercot::series(spec)?)
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
        Self::from_series(&ercot_series(spec)?)
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

/// The power price a batch faces on day `t`.
#[derive(Debug, Clone, Copy)]
pub enum DayPrice<'a> {
    /// MODEL.md §4: one price for every hour, `p_t = site.power_usd_mwh × (1 + escalator)^(t/365)`.
    Flat(f64),
    /// `[power] hourly`: the hours of `curve`, every price multiplied by `scale`
    /// (`(1 + site.power_escalator)^(t/365)`, so the escalator moves the whole curve).
    Curve {
        /// The series' duration curve (built once per run).
        curve: &'a DurationCurve,
        /// Escalation factor of day `t`, > 0.
        scale: f64,
    },
}

/// One batch's inputs on one day (MODEL.md §4 symbols in brackets).
#[derive(Debug, Clone, Copy)]
pub struct BatchDayInput {
    /// Remaining units `n_i`.
    pub units: f64,
    /// TH/s per unit.
    pub hashrate_ths: f64,
    /// Watts per unit at the wall.
    pub power_w: f64,
    /// `mining.overhead` (o).
    pub overhead: f64,
    /// `mining.uptime`: availability, independent of prices.
    pub uptime: f64,
    /// `mining.pool_fee`.
    pub pool_fee: f64,
    /// `hv_t`, BTC per TH/s per day.
    pub hv_btc_per_th_day: f64,
    /// `S_t`, USD per BTC.
    pub spot_usd: f64,
    /// `mining.curtail`.
    pub curtail: bool,
}

/// One batch's mining on one day.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BatchDay {
    /// Share of the day's hours the batch runs, before `mining.uptime` (1 or 0 with a flat price).
    pub run_share: f64,
    /// Mean power price paid over the hours it runs, $/MWh (0 when it does not run).
    pub avg_price_usd_mwh: f64,
    /// `btc_i`.
    pub btc: f64,
    /// `usd_i = btc_i × S_t`.
    pub usd: f64,
    /// `cost_i`, USD.
    pub cost_usd: f64,
}

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

/// A batch's BTC, revenue and power cost on one day.
///
/// * `DayPrice::Flat(p)`: MODEL.md §4 verbatim —
///   `btc = uptime·n·TH·hv·(1−fee)`, `cost = uptime·n·W·o·24/1e6·p`, both 0 if `curtail` and
///   `usd < cost`.
/// * `DayPrice::Curve`: with `curtail`, the batch runs in the share `F` of hours whose scaled price
///   is ≤ its break-even `B`, paying their mean price `m`: `btc = uptime·F·n·TH·hv·(1−fee)`,
///   `cost = uptime·F·n·W·o·24/1e6·m`. Without `curtail` it runs every hour at the curve's mean.
///
/// A flat curve at `p` gives exactly the flat result (tested), so switching the option on with a
/// flat series changes nothing.
pub fn batch_day(i: &BatchDayInput, price: DayPrice<'_>) -> BatchDay {
    let btc_full = i.uptime * i.units * i.hashrate_ths * i.hv_btc_per_th_day * (1.0 - i.pool_fee);
    let mwh_full = i.uptime * i.units * i.power_w * i.overhead * 24.0 / 1e6;
    let (run_share, avg) = match price {
        DayPrice::Flat(p) => {
            let usd = btc_full * i.spot_usd;
            let cost = mwh_full * p;
            if i.curtail && usd < cost {
                (0.0, 0.0)
            } else {
                (1.0, p)
            }
        }
        DayPrice::Curve { curve, scale } => {
            let s = if !i.curtail {
                curve.below(f64::INFINITY)
            } else if mwh_full > 0.0 {
                // Break-even on the unscaled curve, B / scale, in one division:
                // revenue of running all day over the energy × escalation.
                curve.below(btc_full * i.spot_usd / (mwh_full * scale))
            } else {
                let b = breakeven_usd_mwh(
                    i.hashrate_ths,
                    i.power_w,
                    i.overhead,
                    i.hv_btc_per_th_day,
                    i.pool_fee,
                    i.spot_usd,
                );
                curve.below(b / scale)
            };
            (s.share, s.mean_usd_mwh * scale)
        }
    };
    if run_share == 0.0 {
        return BatchDay {
            run_share: 0.0,
            avg_price_usd_mwh: 0.0,
            btc: 0.0,
            usd: 0.0,
            cost_usd: 0.0,
        };
    }
    let btc = if run_share == 1.0 {
        btc_full
    } else {
        btc_full * run_share
    };
    let mwh = if run_share == 1.0 {
        mwh_full
    } else {
        mwh_full * run_share
    };
    BatchDay {
        run_share,
        avg_price_usd_mwh: avg,
        btc,
        usd: btc * i.spot_usd,
        cost_usd: mwh * avg,
    }
}

/// One machine's mining margin on one day, USD per unit: the engine's inner step, in the shape the
/// engine computes it (one margin per machine type per day, shared by all strategies).
///
/// * `rev_usd`: revenue of one unit running all day, `mining.uptime × TH × hv_t × (1 − fee) × S_t`;
/// * `mwh`: its facility energy running all day, `mining.uptime × power_w × o × 24 / 1e6`;
/// * `Flat(p_t)`: MODEL.md §4, `rev − mwh·p_t`, or 0 if `curtail` and `rev < mwh·p_t`;
/// * `Curve { curve, scale }`: with `curtail`, the unit runs in the share `F` of hours priced at
///   most its break-even `rev / mwh` (after scaling by the escalator) and pays their mean `m`:
///   `F · (rev − mwh · m · scale)`; without `curtail`, every hour at the curve's mean.
///
/// Same result as [`batch_day`]'s `usd − cost` per unit (tested); a flat curve at `p` gives the
/// flat margin at `p · scale` exactly.
#[inline]
pub fn unit_margin(rev_usd: f64, mwh: f64, price: DayPrice<'_>, curtail: bool) -> f64 {
    match price {
        DayPrice::Flat(p) => {
            let cost = mwh * p;
            if curtail && rev_usd < cost {
                0.0
            } else {
                rev_usd - cost
            }
        }
        DayPrice::Curve { curve, scale } => curve.unit_day(mwh, scale, curtail).margin(rev_usd),
    }
}

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
    /// Prepares [`unit_margin`] for one machine type on one day: `mwh` is one unit's facility
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

    /// One unit's margin, USD, given its revenue `rev` of running all day (see [`unit_margin`]).
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
// Dispatch
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
        (6..=9).contains(&h.month)
            && self.fourcp_hours.contains(&h.hour_ending)
            && !(self.fourcp_weekdays_only && h.weekday() >= 5)
    }
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
) -> Result<DispatchReport, PowerError> {
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
    let mut run = vec![false; n];
    let mut gain = vec![0.0; n];
    let mut batches = Vec::with_capacity(fleet.len());
    let mut site_t = DispatchTotals::default();
    let mut site_full_mwh = 0.0;
    for b in fleet {
        let e = site.availability * b.units * b.power_w * site.overhead / 1e6;
        let ph = site.availability * b.units * b.hashrate_ths / 1000.0;
        for h in 0..n {
            gain[h] = ph * per_ph[h].1 - e * series.usd_mwh[h];
        }
        schedule(
            &gain,
            &forced,
            cfg.min_run_hours,
            cfg.min_off_hours,
            &mut run,
        );
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
        site_full_mwh += e * n as f64;
        add(&mut site_t, &t);
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
                let rev =
                    b.units * b.hashrate_ths / 1000.0 * per_ph.iter().map(|x| x.1).sum::<f64>();
                rev / full
            }
        };
        batches.push(BatchDispatch {
            model: b.model.clone(),
            units: b.units,
            breakeven_usd_mwh: be,
            hours_run,
            fourcp_hours_off: fourcp_off,
            totals: t,
        });
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
) -> Result<(), PowerError> {
    if series.is_empty() {
        return Err(PowerError::Empty {
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
        .map(|h| (h.year, h.month))
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
    use proptest::prelude::*;

    fn stamp(y: u16, m: u8, d: u8, he: u8) -> HourStamp {
        HourStamp::new(y, m, d, he, false).unwrap()
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

        #[test]
        fn engine_flat_curve_equals_flat_price(
            units in 0.0f64..1e5,
            th in 1.0f64..500.0,
            w in 100.0f64..6000.0,
            o in 1.0f64..1.3,
            uptime in 0.0f64..1.0,
            fee in 0.0f64..0.05,
            hv in 1e-8f64..1e-5,
            spot in 1e3f64..2e5,
            base in 0.0f64..200.0,
            scale in 0.5f64..3.0,
            curtail: bool,
        ) {
            let i = BatchDayInput { units, hashrate_ths: th, power_w: w, overhead: o, uptime, pool_fee: fee, hv_btc_per_th_day: hv, spot_usd: spot, curtail };
            let flat = batch_day(&i, DayPrice::Flat(base * scale));
            let curve = DurationCurve::flat(base, 24).unwrap();
            let hourly = batch_day(&i, DayPrice::Curve { curve: &curve, scale });
            prop_assert_eq!(flat, hourly);
        }

        #[test]
        fn engine_curve_curtailment_never_lowers_margin(
            prices in prop::collection::vec(-50.0f64..9000.0, 1..300),
            hv in 1e-8f64..1e-5,
            scale in 0.5f64..2.0,
        ) {
            let curve = DurationCurve::new(&prices).unwrap();
            let mk = |curtail| BatchDayInput { units: 1000.0, hashrate_ths: 200.0, power_w: 3500.0, overhead: 1.05, uptime: 0.97, pool_fee: 0.02, hv_btc_per_th_day: hv, spot_usd: 80_000.0, curtail };
            let on = batch_day(&mk(true), DayPrice::Curve { curve: &curve, scale });
            let all = batch_day(&mk(false), DayPrice::Curve { curve: &curve, scale });
            prop_assert!(on.usd - on.cost_usd >= all.usd - all.cost_usd - 1e-9 * (1.0 + all.cost_usd.abs()));
            prop_assert!(all.run_share == 1.0);
        }
    }

    #[test]
    fn unit_margin_matches_batch_day_and_flat_curve() {
        let s = ercot_series("ercot:HB_WEST:2022").unwrap();
        let curve = DurationCurve::from_series(&s).unwrap();
        let flat = DurationCurve::flat(38.0, 8760).unwrap();
        for hv in [2e-7, 4e-7, 6e-7, 1e-6, 3e-6] {
            for curtail in [true, false] {
                let i = BatchDayInput {
                    units: 1.0,
                    hashrate_ths: 200.0,
                    power_w: 3500.0,
                    overhead: 1.05,
                    uptime: 0.97,
                    pool_fee: 0.02,
                    hv_btc_per_th_day: hv,
                    spot_usd: 80_000.0,
                    curtail,
                };
                let rev = i.uptime * i.hashrate_ths * hv * (1.0 - i.pool_fee) * i.spot_usd;
                let mwh = i.uptime * i.power_w * i.overhead * 24.0 / 1e6;
                for scale in [1.0, 1.3] {
                    let c = DayPrice::Curve {
                        curve: &curve,
                        scale,
                    };
                    let d = batch_day(&i, c);
                    let m = unit_margin(rev, mwh, c, curtail);
                    assert!(close(m, d.usd - d.cost_usd, 1e-12), "{m} {d:?}");
                    let f = unit_margin(rev, mwh, DayPrice::Flat(38.0 * scale), curtail);
                    let fc = unit_margin(
                        rev,
                        mwh,
                        DayPrice::Curve {
                            curve: &flat,
                            scale,
                        },
                        curtail,
                    );
                    assert_eq!(f, fc);
                    if curtail {
                        // Curtailing on the hourly curve is never worse than running every hour.
                        let all = unit_margin(rev, mwh, c, false);
                        assert!(m >= all - 1e-12 * all.abs());
                    }
                }
            }
        }
    }

    #[test]
    fn curve_day_matches_hour_by_hour_dispatch() {
        // The engine's daily answer from the curve equals summing the hour-by-hour dispatch over
        // the same hours (same hashvalue): uptime, mean price, BTC and cost.
        let s = ercot_series("ercot:HB_WEST:2023").unwrap();
        let curve = DurationCurve::from_series(&s).unwrap();
        let (fleet, mut site, _) = unit_site(0.0);
        site.overhead = 1.05;
        let market = Market::Constant(HourMarket {
            hv_btc_per_ph_day: 5e-4,
            btc_usd: 80_000.0,
        });
        let r = dispatch(&s, &fleet, &site, &market, &DispatchConfig::default()).unwrap();
        let i = BatchDayInput {
            units: 1.0,
            hashrate_ths: 100.0,
            power_w: 2000.0,
            overhead: 1.05,
            uptime: 1.0,
            pool_fee: 0.0,
            hv_btc_per_th_day: 5e-7,
            spot_usd: 80_000.0,
            curtail: true,
        };
        let day = batch_day(
            &i,
            DayPrice::Curve {
                curve: &curve,
                scale: 1.0,
            },
        );
        let days = s.len() as f64 / 24.0;
        let t = &r.site;
        assert!(close(day.run_share, t.uptime, 1e-12));
        assert!(close(day.avg_price_usd_mwh, t.avg_price_usd_mwh, 1e-9));
        assert!(close(day.btc * days, t.btc_mined, 1e-9));
        assert!(close(day.cost_usd * days, t.power_cost_usd, 1e-9));
        assert!(t.uptime > 0.5 && t.uptime < 1.0, "{}", t.uptime);
    }

    #[test]
    fn winter_storm_uri_is_curtailed_without_overflow() {
        // February 2021 HB_WEST: every hour of 13–19 Feb cleared above $100 (up to $9,000.01).
        let s = ercot_series("ercot:HB_WEST:2021").unwrap();
        let storm = s.between(Some((2021, 2, 13)), Some((2021, 2, 19)));
        assert_eq!(storm.len(), 7 * 24);
        let feb = s.between(Some((2021, 2, 1)), Some((2021, 2, 28)));
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

    #[test]
    fn price_file_parses_and_explains_errors() {
        let ok = "timestamp,price_usd_mwh\n2024-11-03T00:00,10\n2024-11-03T01:00,11.5\n2024-11-03T01:00,-3\n2024-11-03 02:00:00,12\n";
        let s = parse_price_csv(ok, "p.csv").unwrap();
        assert_eq!(s.usd_mwh, vec![10.0, 11.5, -3.0, 12.0]);
        assert_eq!(s.hours[0], stamp(2024, 11, 3, 1));
        assert!(s.hours[2].repeated && s.hours[2].hour_ending == 2);
        assert_eq!(s.hours[3].hour_ending, 3);
        // Column order free, extra columns ignored, BOM and CRLF tolerated.
        let s = parse_price_csv(
            "\u{feff}node,price_usd_mwh,timestamp\r\nX,5,2024-01-01T23:00\r\n",
            "q.csv",
        )
        .unwrap();
        assert_eq!(s.hours[0].hour_ending, 24);
        let e = |t: &str| parse_price_csv(t, "p.csv").unwrap_err().to_string();
        assert!(e("").contains("empty file"));
        assert!(e("time,price\n").contains("missing column `timestamp`"));
        let m = e("timestamp,price_usd_mwh\n2024-01-01T00:00,abc\n");
        assert!(
            m.contains("line 2") && m.contains("price_usd_mwh") && m.contains("\"abc\""),
            "{m}"
        );
        let m = e("timestamp,price_usd_mwh\n2024-01-01T00:30,1\n");
        assert!(
            m.contains("line 2") && m.contains("`timestamp`") && m.contains("2024-01-01T00:30"),
            "{m}"
        );
        let m = e("timestamp,price_usd_mwh\n2024-01-01T05:00,1\n2024-01-01T04:00,1\n");
        assert!(m.contains("line 3") && m.contains("not after"), "{m}");
        let m = e(
            "timestamp,price_usd_mwh\n2024-01-01T05:00,1\n2024-01-01T05:00,1\n2024-01-01T05:00,1\n",
        );
        assert!(m.contains("line 4"), "{m}");
        assert!(e("timestamp,price_usd_mwh\n2024-02-30T05:00,1\n").contains("2024-02-30"));
        assert!(e("timestamp,price_usd_mwh\n2024-01-01T05:00,1,2\n").contains("3 fields"));
        for bad in ["inf", "1e308", "100001", "-1e6"] {
            let m = e(&format!(
                "timestamp,price_usd_mwh\n2024-01-01T05:00,{bad}\n"
            ));
            assert_eq!(
                m,
                format!("p.csv: line 2, column `price_usd_mwh`: value \"{bad}\": allowed a number from -100000 to 100000 ($/MWh)")
            );
        }
        assert!(e("timestamp,price_usd_mwh\n").contains("no data rows"));
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
}
