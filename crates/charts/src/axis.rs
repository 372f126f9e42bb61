//! Scales, tick placement and number formatting.

/// A mapping from data values to pixels along one axis.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Scale {
    /// Linear between `min` and `max`.
    Linear {
        /// Data value at the start of the axis.
        min: f64,
        /// Data value at the end of the axis.
        max: f64,
    },
    /// Base-10 logarithmic between `min > 0` and `max`.
    Log {
        /// Data value at the start of the axis (positive).
        min: f64,
        /// Data value at the end of the axis.
        max: f64,
    },
}

impl Scale {
    /// A linear scale covering `values` (padded by 5%, widened if flat), optionally including zero.
    pub fn linear_for(values: impl IntoIterator<Item = f64>, include_zero: bool) -> Scale {
        let (mut lo, mut hi) = bounds(values);
        if !lo.is_finite() {
            return Scale::Linear { min: 0.0, max: 1.0 };
        }
        if include_zero {
            lo = lo.min(0.0);
            hi = hi.max(0.0);
        }
        if hi - lo <= f64::EPSILON * hi.abs().max(1.0) {
            let pad = if lo == 0.0 { 1.0 } else { lo.abs() * 0.1 };
            lo -= pad;
            hi += pad;
        }
        let ticks = nice_ticks(lo, hi, 6);
        // Snap the ends to the outer ticks so the grid frames the data.
        let step = if ticks.len() >= 2 {
            ticks[1] - ticks[0]
        } else {
            0.0
        };
        if step > 0.0 {
            lo = (lo / step).floor() * step;
            hi = (hi / step).ceil() * step;
        }
        Scale::Linear { min: lo, max: hi }
    }

    /// A log scale covering the positive `values`, snapped to powers of ten (falls back to linear
    /// when there is no positive value).
    pub fn log_for(values: impl IntoIterator<Item = f64>) -> Scale {
        let v: Vec<f64> = values
            .into_iter()
            .filter(|x| x.is_finite() && *x > 0.0)
            .collect();
        if v.is_empty() {
            return Scale::linear_for(v, true);
        }
        let (lo, hi) = bounds(v);
        let lo = 10f64.powf(lo.log10().floor());
        let mut hi = 10f64.powf(hi.log10().ceil());
        if hi <= lo {
            hi = lo * 10.0;
        }
        Scale::Log { min: lo, max: hi }
    }

    /// Position of `v` in [0, 1] along the axis (not clamped).
    pub fn frac(&self, v: f64) -> f64 {
        match *self {
            Scale::Linear { min, max } => (v - min) / (max - min),
            Scale::Log { min, max } => {
                if v <= 0.0 {
                    f64::NAN
                } else {
                    (v.log10() - min.log10()) / (max.log10() - min.log10())
                }
            }
        }
    }

    /// Tick values for the axis.
    pub fn ticks(&self) -> Vec<f64> {
        match *self {
            Scale::Linear { min, max } => nice_ticks(min, max, 6)
                .into_iter()
                .filter(|t| *t >= min - 1e-9 * (max - min) && *t <= max + 1e-9 * (max - min))
                .collect(),
            Scale::Log { min, max } => {
                let a = min.log10().round() as i32;
                let b = max.log10().round() as i32;
                let every = ((b - a) as f64 / 9.0).ceil().max(1.0) as i32;
                (a..=b)
                    .filter(|e| (e - a) % every == 0)
                    .map(|e| 10f64.powi(e))
                    .collect()
            }
        }
    }
}

fn bounds(values: impl IntoIterator<Item = f64>) -> (f64, f64) {
    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for v in values {
        if v.is_finite() {
            lo = lo.min(v);
            hi = hi.max(v);
        }
    }
    (lo, hi)
}

/// About `n` "nice" tick values (steps of 1, 2, 2.5 or 5 times a power of ten) covering `[lo, hi]`.
pub fn nice_ticks(lo: f64, hi: f64, n: usize) -> Vec<f64> {
    if !(lo.is_finite() && hi.is_finite()) || hi <= lo || n == 0 {
        return vec![lo];
    }
    let raw = (hi - lo) / n as f64;
    let mag = 10f64.powf(raw.log10().floor());
    let step = [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|s| *s >= raw)
        .unwrap_or(10.0 * mag);
    let start = (lo / step).floor() * step;
    let mut out = Vec::new();
    let mut k = 0;
    loop {
        let t = start + k as f64 * step;
        if t > hi + step * 0.5 {
            break;
        }
        // Clean float noise such as 0.30000000000000004 and -0.
        let dec = (-step.log10()).ceil().clamp(0.0, 15.0) as usize + 1;
        let t: f64 = format!("{t:.dec$}").parse().unwrap_or(t);
        out.push(if t == 0.0 { 0.0 } else { t });
        k += 1;
        if k > 1000 {
            break;
        }
    }
    out
}

/// Formats a number compactly for axes and tooltips: 3 significant digits with k/M/B/T suffixes
/// (`1234567` → `1.23M`, `0.0123` → `0.0123`, `-45000` → `-45k`).
pub fn fmt_num(x: f64) -> String {
    if !x.is_finite() {
        return "–".to_string();
    }
    let a = x.abs();
    let sign = if x < 0.0 { "-" } else { "" };
    let (v, suffix) = if a >= 1e18 {
        return format!("{sign}{a:.2e}");
    } else if a >= 1e12 {
        (a / 1e12, "T")
    } else if a >= 1e9 {
        (a / 1e9, "B")
    } else if a >= 1e6 {
        (a / 1e6, "M")
    } else if a >= 1e4 {
        (a / 1e3, "k")
    } else {
        (a, "")
    };
    if v == 0.0 {
        return "0".to_string();
    }
    let digits = if v >= 100.0 {
        0
    } else if v >= 10.0 {
        1
    } else if v >= 1.0 {
        2
    } else {
        // Small numbers: three significant digits.
        (2 - v.log10().floor() as i32).clamp(0, 12) as usize
    };
    let mut s = format!("{v:.digits$}");
    if s.contains('.') {
        s = s.trim_end_matches('0').trim_end_matches('.').to_string();
    }
    format!("{sign}{s}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_nice() {
        assert_eq!(
            nice_ticks(0.0, 10.0, 5),
            vec![0.0, 2.0, 4.0, 6.0, 8.0, 10.0]
        );
        assert_eq!(
            nice_ticks(-3.0, 7.0, 5),
            vec![-4.0, -2.0, 0.0, 2.0, 4.0, 6.0, 8.0]
        );
        let t = nice_ticks(0.1, 0.7, 6);
        assert_eq!(t, vec![0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7]);
    }

    #[test]
    fn numbers_format_compactly() {
        assert_eq!(fmt_num(1_234_567.0), "1.23M");
        assert_eq!(fmt_num(-45_000.0), "-45k");
        assert_eq!(fmt_num(0.0123), "0.0123");
        assert_eq!(fmt_num(2.5), "2.5");
        assert_eq!(fmt_num(148.26e12), "148T");
        assert_eq!(fmt_num(1e15), "1000T");
        assert_eq!(fmt_num(2.5e19), "2.50e19");
        assert_eq!(fmt_num(0.0), "0");
        assert_eq!(fmt_num(999.0), "999");
        assert_eq!(fmt_num(f64::NAN), "–");
    }

    #[test]
    fn scales_map_ends() {
        let s = Scale::linear_for([3.0, 97.0], true);
        assert_eq!(
            s,
            Scale::Linear {
                min: 0.0,
                max: 100.0
            }
        );
        assert!((s.frac(50.0) - 0.5).abs() < 1e-12);
        let l = Scale::log_for([0.05, 120_000.0]);
        assert_eq!(
            l,
            Scale::Log {
                min: 0.01,
                max: 1e6
            }
        );
        assert!((l.frac(1.0) - 0.25).abs() < 1e-12);
        assert_eq!(l.ticks().len(), 9);
    }
}
