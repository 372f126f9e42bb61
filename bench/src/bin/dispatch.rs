//! Benchmark of hourly dispatch and of the duration-curve query the engine calls per batch per day.
//!
//! Run: `cargo run --release -p hashpivot-bench --bin dispatch`
//!
//! Measures, each as the median of repeated runs (results are checked inside the timed closure):
//! 1. a full year (ERCOT HB_WEST 2024, 8,784 hours) of hour-by-hour dispatch of a 10-batch fleet,
//!    without and with a 4-hour minimum run/off time (exact dynamic programme);
//! 2. the five shipped years (2021–2025, 38,351 hours);
//! 3. building the duration curve once (parse + sort + prefix sums);
//! 4. the per-batch-per-day step, MODEL.md §4's flat margin vs `UnitDay::margin` on the duration
//!    curve, 10 batches × 5,475 days;
//! 5. the engine's own path simulation (`Prepared::run_block`, default scenario, one block of `BLOCK` paths ×
//!    15 years) with the mining margins of `sim.rs` computed flat vs from the curve
//!    (`UnitDay::margins`, and the scalar `UnitDay::margin`): the cost the option adds per day;
//! 6. the whole engine (`simulate`, default scenario, 4,096 paths) with and without
//!    `[power] hourly = "ercot:HB_WEST:2024"`.

use std::hint::black_box;
use std::time::Instant;

use hashpivot_data::ercot::series as ercot_series;
use hashpivot_dispatch::{dispatch, DispatchConfig, DispatchSite, FleetBatch, HourMarket, Market};
use hashpivot_model::engine::{Prepared, BLOCK};
use hashpivot_model::power::DurationCurve;

fn median_secs<F: FnMut()>(reps: usize, mut f: F) -> f64 {
    f(); // warm up
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(f64::total_cmp);
    t[t.len() / 2]
}

fn fleet10() -> Vec<FleetBatch> {
    // The default scenario's five batches plus five older/other models (nameplate specs).
    [
        ("Antminer S19 XP", 40_000.0, 140.0, 3010.0),
        ("Whatsminer M60S", 60_000.0, 186.0, 3441.0),
        ("Antminer S21", 60_000.0, 200.0, 3500.0),
        ("Antminer S21 Pro", 60_000.0, 234.0, 3510.0),
        ("Antminer S21 XP Hyd", 30_000.0, 473.0, 5676.0),
        ("Antminer S19j Pro", 10_000.0, 104.0, 3068.0),
        ("Antminer S19 Pro", 10_000.0, 110.0, 3250.0),
        ("Whatsminer M30S++", 10_000.0, 112.0, 3472.0),
        ("Whatsminer M50S", 10_000.0, 126.0, 3276.0),
        ("Antminer S9", 5_000.0, 13.5, 1323.0),
    ]
    .iter()
    .map(|&(m, units, th, w)| FleetBatch {
        model: m.to_string(),
        units,
        hashrate_ths: th,
        power_w: w,
    })
    .collect()
}

/// The engine's mining step as `sim.rs` computes it (one margin per machine type per lane per day,
/// discounted), run inside the engine's own path simulation (`Prepared::run_block`: one block of `BLOCK` lanes,
/// default scenario, 15 years). Like the engine's `SimDay`, the consumer is a struct with an
/// `#[inline(always)]` `day`, so it is compiled for the same instruction set (AVX-512/AVX2) as the
/// engine's loops. `Mode::Market` measures the market simulation alone.
#[derive(Clone, Copy, PartialEq)]
enum Mode {
    Market,
    Flat,
    Curve,
    CurveScalar,
}

struct Consumer<'a> {
    mode: Mode,
    prep: &'a Prepared,
    curve: &'a DurationCurve,
    scale: &'a [f64],
    defs: &'a [(f64, f64)],
    gain: f64,
    mwh_w: f64,
    curtail: bool,
    acc: Vec<f64>,
    rev_th: Vec<f64>,
    mg: Vec<f64>,
}

impl hashpivot_model::engine::DayConsumer for Consumer<'_> {
    #[inline(always)]
    fn day(&mut self, d: &hashpivot_model::engine::LaneDay) {
        if self.mode == Mode::Market {
            return;
        }
        let t = d.t;
        let w = self.prep.w_mining[t];
        let lanes = self.acc.len();
        for ((r, hv), s) in self
            .rev_th
            .iter_mut()
            .zip(&d.hv[..lanes])
            .zip(&d.s[..lanes])
        {
            *r = hv * s * self.gain;
        }
        let cost_w = self.mwh_w * self.prep.power_price[t];
        for &(ths, pw) in self.defs {
            if self.mode == Mode::Flat {
                let cost = cost_w * pw;
                for (a, r) in self.acc.iter_mut().zip(&self.rev_th) {
                    let rev = r * ths;
                    *a += w * if self.curtail && rev < cost {
                        0.0
                    } else {
                        rev - cost
                    };
                }
            } else {
                let ud = self
                    .curve
                    .unit_day(self.mwh_w * pw, self.scale[t], self.curtail);
                ud.margins(&self.rev_th, ths, &mut self.mg);
                for (a, x) in self.acc.iter_mut().zip(&self.mg) {
                    *a += w * x;
                }
            }
        }
    }
}

fn engine_block(curve: &DurationCurve) {
    let sc = hashpivot_model::Scenario::default();
    let prep = Prepared::new(&sc);
    let m = &sc.mining;
    let defs: Vec<(f64, f64)> = m
        .fleet
        .iter()
        .map(|b| (b.hashrate_ths, b.power_w))
        .collect();
    // One engine block: `run_block` steps at most `BLOCK` lanes.
    let lanes = BLOCK;
    let scale: Vec<f64> = (0..prep.n)
        .map(|t| (1.0 + sc.site.power_escalator).powf(t as f64 / 365.0))
        .collect();
    let time = |mode: Mode| {
        median_secs(5, || {
            let mut c = Consumer {
                mode,
                prep: &prep,
                curve,
                scale: &scale,
                defs: &defs,
                gain: m.uptime * (1.0 - m.pool_fee),
                mwh_w: m.uptime * m.overhead * 24.0 / 1e6,
                curtail: m.curtail,
                acc: vec![0.0; lanes],
                rev_th: vec![0.0; lanes],
                mg: vec![0.0; lanes],
            };
            prep.run_block(42, 0, lanes, false, &mut c);
            assert!(c.acc.iter().all(|x| x.is_finite()));
            black_box(c.acc);
        })
    };
    let (t0, t1, t2, t3) = (
        time(Mode::Market),
        time(Mode::Flat),
        time(Mode::Curve),
        time(Mode::CurveScalar),
    );
    println!(
        "engine block ({} paths x {} days, 5 types): market only {:.1} ms, + flat margins {:.1} ms, + curve margins {:.1} ms (lane batch) / {:.1} ms (scalar)",
        lanes,
        prep.n,
        t0 * 1e3,
        t1 * 1e3,
        t2 * 1e3,
        t3 * 1e3,
    );
}

/// The whole engine with and without `[power] hourly = "ercot:HB_WEST:2024"` (default scenario,
/// 4,096 paths, 15 years, one thread). Meaningful once the engine applies the option (until then
/// both runs are the flat model and the ratio is 1).
fn engine_hourly_option() {
    let flat = hashpivot_model::Scenario::default();
    let mut hourly = flat.clone();
    hourly.power = Some(hashpivot_model::scenario::Power {
        hourly: Some("ercot:HB_WEST:2024".into()),
    });
    hourly.validate().expect("valid scenario");
    let cfg = hashpivot_model::RunConfig {
        paths: Some(4096),
        threads: Some(1),
        ..Default::default()
    };
    let run = |sc: &hashpivot_model::Scenario| {
        median_secs(3, || {
            let out = hashpivot_model::simulate(sc, &cfg, &|_| {}).unwrap();
            assert!(out.results[0].npv.mean.is_finite());
            black_box(out);
        })
    };
    let (tf, th) = (run(&flat), run(&hourly));
    println!(
        "engine simulate(), default scenario, 4,096 paths, 1 thread: flat {:.3} s, [power] hourly {:.3} s, ratio {:.2}",
        tf,
        th,
        th / tf
    );
}

fn main() {
    let site = DispatchSite {
        overhead: 1.05,
        pool_fee: 0.02,
        availability: 0.97,
    };
    let market = Market::Constant(HourMarket {
        hv_btc_per_ph_day: 45.0 / 80_000.0,
        btc_usd: 80_000.0,
    });
    let fleet = fleet10();
    let year = ercot_series("ercot:HB_WEST:2024").expect("shipped series");
    let all = ercot_series("ercot:HB_WEST:2021-2025").expect("shipped series");

    println!("hashpivot dispatch benchmark (median of repeated runs)");
    let greedy = DispatchConfig::default();
    let t = median_secs(51, || {
        let r = dispatch(black_box(&year), &fleet, &site, &market, &greedy).unwrap();
        assert_eq!(r.batches.len(), 10);
        assert!(r.site.margin_usd >= r.site.flat_out_margin_usd);
        black_box(r);
    });
    println!(
        "1 year x 10 batches, price rule          : {:>9.3} ms  ({} hours)",
        t * 1e3,
        year.len()
    );
    let minrun = DispatchConfig {
        min_run_hours: 4,
        min_off_hours: 4,
        ..DispatchConfig::default()
    };
    let t = median_secs(21, || {
        let r = dispatch(black_box(&year), &fleet, &site, &market, &minrun).unwrap();
        assert!(r.site.margin_usd >= r.site.flat_out_margin_usd);
        black_box(r);
    });
    println!(
        "1 year x 10 batches, min run/off 4 h (DP): {:>9.3} ms",
        t * 1e3
    );
    let t = median_secs(11, || {
        let r = dispatch(black_box(&all), &fleet, &site, &market, &greedy).unwrap();
        assert_eq!(r.hours, all.len());
        black_box(r);
    });
    println!(
        "2021-2025 x 10 batches, price rule       : {:>9.3} ms  ({} hours)",
        t * 1e3,
        all.len()
    );
    let t = median_secs(51, || {
        let c = DurationCurve::from_ercot(black_box("ercot:HB_WEST:2024")).unwrap();
        assert_eq!(c.hours(), 8784);
        black_box(c);
    });
    println!(
        "duration curve build (parse+sort+prefix) : {:>9.3} ms",
        t * 1e3
    );

    // The engine's inner step, flat vs curve, 10 batches × 5,475 days.
    let curve = DurationCurve::from_series(&year).unwrap();
    // Per unit: revenue and facility energy of running all day (uptime 0.97, overhead 1.05, fee 2%).
    let inputs: Vec<(f64, f64, f64)> = fleet
        .iter()
        .map(|b| {
            let rev = 0.97 * b.hashrate_ths * (45.0 / 80_000.0 / 1000.0) * 0.98 * 80_000.0;
            let mwh = 0.97 * b.power_w * 1.05 * 24.0 / 1e6;
            (b.units, rev, mwh)
        })
        .collect();
    let days = 5475;
    let run = |hourly: bool| {
        let mut acc = 0.0;
        for d in 0..days {
            // Day-varying inputs so nothing is hoisted: hashvalue drifts ±40 % over the horizon.
            let hv_scale = 1.0 + 0.4 * ((d as f64) * 0.01).sin();
            let esc = 1.02f64.powf(d as f64 / 365.0);
            for &(units, rev, mwh) in &inputs {
                let rev = rev * hv_scale;
                let m = if hourly {
                    curve.unit_day(mwh, esc, true).margin(rev)
                } else {
                    let cost = mwh * 38.0 * esc;
                    if rev < cost {
                        0.0
                    } else {
                        rev - cost
                    }
                };
                acc += units * m;
            }
        }
        acc
    };
    let tf = median_secs(51, || {
        let v = run(false);
        assert!(v.is_finite());
        black_box(v);
    });
    let tc = median_secs(51, || {
        let v = run(true);
        assert!(v.is_finite());
        black_box(v);
    });
    let bs: Vec<f64> = (0..days * inputs.len())
        .map(|i| {
            60.0 + 50.0 * ((i / inputs.len()) as f64 * 0.01).sin() + (i % inputs.len()) as f64 * 5.0
        })
        .collect();
    let tq = median_secs(51, || {
        let mut acc = 0.0;
        for &b in &bs {
            acc += curve.below(black_box(b)).mean_usd_mwh;
        }
        assert!(acc.is_finite());
        black_box(acc);
    });
    println!(
        "curve query alone, {} queries: {:.3} ms ({:.1} ns each)",
        bs.len(),
        tq * 1e3,
        tq * 1e9 / bs.len() as f64
    );
    println!(
        "unit margin 10 batches x {days} days: flat {:.3} ms, curve {:.3} ms (ratio {:.2})",
        tf * 1e3,
        tc * 1e3,
        tc / tf
    );
    engine_block(&curve);
    engine_hourly_option();
}
