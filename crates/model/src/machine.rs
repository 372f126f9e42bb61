//! Economics of one mining machine: hashprice, daily revenue and power cost, break-evens,
//! simple payback at today's hashprice, and the payback along a projected path.
//!
//! Hashprice follows MODEL.md section 2: `hashvalue = 86400 * 1e15 * R / (D * 2^32)` BTC per
//! PH/s per day with `R = subsidy_btc(height) + fees` BTC per block; `hashprice = hashvalue * S`.
//!
//! The projected payback is deterministic and deliberately simple (the Monte Carlo answer comes
//! with the scenario engine): price and fees stay at today's values, difficulty grows at a fixed
//! annual rate, the height advances 144 blocks a day so the subsidy halves on schedule, and the
//! machine is switched off (curtailed) on every day its margin would be negative.

use hashpivot_chain::{mean_subsidy_btc, subsidy_btc};
pub use hashpivot_chain::{BtcPerBlock, Difficulty};

/// Default annual difficulty growth for the projected payback: 22 % a year.
///
/// Derivation (checked by the test `default_growth_is_derived_from_shipped_history`): in
/// `data/btc_chain/difficulty_epochs.csv`, epoch 420 (first block 2024-06-06, difficulty
/// 83.72 T) to epoch 473 (2026-06-13, the last shipped, 124.93 T) is a ratio of 1.4923 over
/// 737 days, i.e. `1.4923^(365/737) - 1 = 21.9 %` a year: the trailing two years, which are
/// the years since the April-2024 halving. (The trailing four years give 42 %, the last year
/// about -1 %; two years balances the build-out and the post-halving squeeze.)
pub const DEFAULT_DIFFICULTY_GROWTH: f64 = 0.22;

/// Default horizon of the projected payback, years.
pub const DEFAULT_HORIZON_YEARS: f64 = 10.0;

/// Blocks per day at the target spacing.
pub const BLOCKS_PER_DAY: f64 = 144.0;

/// Errors: a value outside its domain, named with what is allowed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum MachineError {
    /// An input is out of range.
    #[error("{field} = {value} is not allowed; {allowed}")]
    Invalid {
        /// The input's name.
        field: &'static str,
        /// The value given.
        value: f64,
        /// What is allowed.
        allowed: &'static str,
    },
}

fn check(
    field: &'static str,
    value: f64,
    ok: bool,
    allowed: &'static str,
) -> Result<(), MachineError> {
    if value.is_finite() && ok {
        Ok(())
    } else {
        Err(MachineError::Invalid {
            field,
            value,
            allowed,
        })
    }
}

/// Reward per block in BTC at `height`: subsidy plus `fees_btc` (MODEL.md section 2, `R`).
pub fn reward_btc(height: u64, fees_btc: f64) -> f64 {
    subsidy_btc(height) + fees_btc
}

/// Expected BTC per PH/s per day: `86400 * 1e15 * R / (D * 2^32)` (MODEL.md section 2), the
/// formula of [`hashpivot_chain::hashvalue_btc_per_ph_day`] with the inputs checked (a positive
/// difficulty, a non-negative reward). The arguments are typed so they cannot be swapped.
pub fn hashvalue_btc_per_ph_day(
    reward: BtcPerBlock,
    difficulty: Difficulty,
) -> Result<f64, MachineError> {
    check(
        "difficulty",
        difficulty.0,
        difficulty.0 > 0.0,
        "use a positive difficulty",
    )?;
    check(
        "reward",
        reward.0,
        reward.0 >= 0.0,
        "use a non-negative BTC amount",
    )?;
    Ok(hashpivot_chain::hashvalue_btc_per_ph_day(
        reward, difficulty,
    ))
}

/// Hashprice in USD per PH/s per day: hashvalue times the BTC price.
pub fn hashprice_usd_per_ph_day(
    reward: BtcPerBlock,
    difficulty: Difficulty,
    price_usd: f64,
) -> Result<f64, MachineError> {
    check(
        "price",
        price_usd,
        price_usd > 0.0,
        "use a positive USD price",
    )?;
    Ok(hashvalue_btc_per_ph_day(reward, difficulty)? * price_usd)
}

/// Hashprice and its parts at one BTC price, difficulty, height and fee level (what
/// `hashpivot hashprice` shows).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HashpriceQuote {
    /// Block subsidy at the height, BTC.
    pub subsidy_btc: f64,
    /// Subsidy plus fees per block, BTC (`R`).
    pub reward_btc: f64,
    /// Hashvalue, BTC per PH/s per day.
    pub btc_per_ph_day: f64,
    /// Hashvalue in satoshis per TH/s per day.
    pub sat_per_th_day: f64,
    /// Hashprice, USD per PH/s per day.
    pub usd_per_ph_day: f64,
    /// The network hashrate the difficulty implies, EH/s.
    pub implied_hashrate_ehs: f64,
}

/// The [`HashpriceQuote`] at `price_usd`, `difficulty`, `height` and `fees_btc` per block. Errors
/// name the input that is out of range (difficulty or the reward).
pub fn hashprice_quote(
    price_usd: f64,
    difficulty: Difficulty,
    height: u64,
    fees_btc: f64,
) -> Result<HashpriceQuote, MachineError> {
    let subsidy_btc = subsidy_btc(height);
    let reward_btc = subsidy_btc + fees_btc;
    let btc_per_ph_day = hashvalue_btc_per_ph_day(BtcPerBlock(reward_btc), difficulty)?;
    Ok(HashpriceQuote {
        subsidy_btc,
        reward_btc,
        btc_per_ph_day,
        sat_per_th_day: btc_per_ph_day * 1e8 / 1000.0,
        usd_per_ph_day: btc_per_ph_day * price_usd,
        implied_hashrate_ehs: hashpivot_chain::implied_hashrate_ehs(difficulty),
    })
}

/// A machine's nameplate figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MachineSpec {
    /// TH/s.
    pub hashrate_ths: f64,
    /// Watts at the wall.
    pub power_w: f64,
}

impl MachineSpec {
    /// Validates the figures (both positive and finite).
    pub fn new(hashrate_ths: f64, power_w: f64) -> Result<MachineSpec, MachineError> {
        check(
            "hashrate_ths",
            hashrate_ths,
            hashrate_ths > 0.0,
            "use a positive number of TH/s",
        )?;
        check(
            "power_w",
            power_w,
            power_w > 0.0,
            "use a positive number of watts",
        )?;
        Ok(MachineSpec {
            hashrate_ths,
            power_w,
        })
    }

    /// J/TH.
    pub fn efficiency_jth(&self) -> f64 {
        self.power_w / self.hashrate_ths
    }

    /// MWh used per day running flat out: `W * 24 / 1e6`.
    pub fn mwh_per_day(&self) -> f64 {
        self.power_w * 24.0 / 1e6
    }

    /// Revenue in USD per day at a hashprice (USD per PH/s per day): `TH * hashprice / 1000`.
    pub fn revenue_usd_day(&self, hashprice: f64) -> f64 {
        self.hashrate_ths * hashprice / 1000.0
    }

    /// Power cost in USD per day: `W * 24 / 1e6 * $/MWh`.
    pub fn power_cost_usd_day(&self, power_usd_mwh: f64) -> f64 {
        self.mwh_per_day() * power_usd_mwh
    }
}

/// Today's economics of one machine.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct DailyEconomics {
    /// USD per PH/s per day used.
    pub hashprice_usd_per_ph_day: f64,
    /// Power price used, USD/MWh.
    pub power_usd_mwh: f64,
    /// USD per day.
    pub revenue_usd_day: f64,
    /// USD per day.
    pub power_cost_usd_day: f64,
    /// Revenue minus power cost, USD per day (negative: the machine loses money running).
    pub margin_usd_day: f64,
    /// Power price at which the margin is zero, USD/MWh.
    pub breakeven_power_usd_mwh: f64,
    /// Hashprice at which the margin is zero, USD per PH/s per day.
    pub breakeven_hashprice_usd_per_ph_day: f64,
}

/// Computes [`DailyEconomics`]. Negative power prices are allowed (some markets pay for load).
pub fn daily(
    m: &MachineSpec,
    hashprice: f64,
    power_usd_mwh: f64,
) -> Result<DailyEconomics, MachineError> {
    check(
        "hashprice",
        hashprice,
        hashprice >= 0.0,
        "use a non-negative USD per PH/s per day",
    )?;
    check("power price", power_usd_mwh, true, "use a finite USD/MWh")?;
    let revenue = m.revenue_usd_day(hashprice);
    let cost = m.power_cost_usd_day(power_usd_mwh);
    Ok(DailyEconomics {
        hashprice_usd_per_ph_day: hashprice,
        power_usd_mwh,
        revenue_usd_day: revenue,
        power_cost_usd_day: cost,
        margin_usd_day: revenue - cost,
        breakeven_power_usd_mwh: revenue / m.mwh_per_day(),
        breakeven_hashprice_usd_per_ph_day: cost * 1000.0 / m.hashrate_ths,
    })
}

/// Simple payback in days: `capex / margin` at today's margin; `None` (never) when the margin is
/// zero or negative.
pub fn simple_payback_days(capex_usd: f64, margin_usd_day: f64) -> Option<f64> {
    if margin_usd_day > 0.0 {
        Some(capex_usd / margin_usd_day)
    } else {
        None
    }
}

/// Inputs of the projected payback.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projection {
    /// Hashprice today, USD per PH/s per day (includes today's fees).
    pub hashprice0: f64,
    /// Chain height today.
    pub height0: u64,
    /// Fees per block, BTC (held constant; they do not halve).
    pub fees_btc: f64,
    /// Annual difficulty growth, e.g. 0.22 (may be negative, above -100 %).
    pub difficulty_growth: f64,
    /// Power price, USD/MWh (constant).
    pub power_usd_mwh: f64,
    /// Machine cost, USD.
    pub capex_usd: f64,
    /// Days to project.
    pub horizon_days: u32,
}

/// Result of [`projected_payback`].
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize)]
pub struct ProjectedPayback {
    /// Days until the cumulative margin covers the capex; `None`: not within the horizon.
    pub payback_days: Option<u32>,
    /// Horizon projected, days.
    pub horizon_days: u32,
    /// Days switched off (negative margin) before payback or the horizon end.
    pub curtailed_days: u32,
    /// Cumulative margin at payback, or at the horizon end, USD.
    pub cumulative_margin_usd: f64,
    /// Day on which the next halving falls (within the horizon).
    pub halving_day: Option<u32>,
    /// First day the machine is curtailed, if any.
    pub first_curtailed_day: Option<u32>,
}

/// The payback along the projected path, day by day (`t = 0, 1, ...`):
///
/// - height `h_t = height0 + 144 t`; subsidy `sub_t` is the mean over `[h_t, h_t + 144)`, split
///   exactly at halvings (MODEL.md section 3), so the halving at 1,050,000 lands on its day;
/// - difficulty `D_t = D_0 (1 + g)^(t / 365)`;
/// - hashprice `hp_t = hp_0 * (sub_t + fees) / (sub_0 + fees) * D_0 / D_t` (price and fees flat);
/// - margin `TH * hp_t / 1000 - W * 24 / 1e6 * p`, or 0 when negative (the machine is off);
/// - payback on the first day `t` whose cumulative margin reaches the capex: `t + 1` days.
pub fn projected_payback(
    m: &MachineSpec,
    p: &Projection,
) -> Result<ProjectedPayback, MachineError> {
    check(
        "hashprice",
        p.hashprice0,
        p.hashprice0 >= 0.0,
        "use a non-negative USD per PH/s per day",
    )?;
    check(
        "fees",
        p.fees_btc,
        p.fees_btc >= 0.0,
        "use a non-negative BTC amount per block",
    )?;
    check(
        "difficulty growth",
        p.difficulty_growth,
        p.difficulty_growth > -1.0,
        "use an annual rate above -1 (e.g. 0.22 for 22 %)",
    )?;
    check(
        "capex",
        p.capex_usd,
        p.capex_usd >= 0.0,
        "use a non-negative USD amount",
    )?;
    check("power price", p.power_usd_mwh, true, "use a finite USD/MWh")?;
    let h0 = p.height0 as f64;
    let r0 = mean_subsidy_btc(h0, BLOCKS_PER_DAY) + p.fees_btc;
    let cost = m.power_cost_usd_day(p.power_usd_mwh);
    let next_halving = hashpivot_chain::next_halving_height(p.height0);
    // Only a halving that changes the subsidy counts (none once it is zero, and none past the
    // last height `u64` can hold, where `next_halving_height` saturates).
    let halving_day = if next_halving > p.height0 && hashpivot_chain::subsidy_sat(p.height0) > 0 {
        ((next_halving as f64 - h0) / BLOCKS_PER_DAY).floor()
    } else {
        f64::INFINITY
    };
    let mut out = ProjectedPayback {
        payback_days: if p.capex_usd == 0.0 { Some(0) } else { None },
        horizon_days: p.horizon_days,
        curtailed_days: 0,
        cumulative_margin_usd: 0.0,
        halving_day: (halving_day < p.horizon_days as f64).then_some(halving_day as u32),
        first_curtailed_day: None,
    };
    if out.payback_days.is_some() {
        return Ok(out);
    }
    let ln_growth = (1.0 + p.difficulty_growth).ln();
    for t in 0..p.horizon_days {
        let tf = t as f64;
        let r = mean_subsidy_btc(h0 + BLOCKS_PER_DAY * tf, BLOCKS_PER_DAY) + p.fees_btc;
        let d_ratio = (ln_growth * tf / 365.0).exp();
        let hp = if r0 > 0.0 {
            p.hashprice0 * (r / r0) / d_ratio
        } else {
            0.0
        };
        let margin = m.revenue_usd_day(hp) - cost;
        if margin < 0.0 {
            out.curtailed_days += 1;
            out.first_curtailed_day.get_or_insert(t);
        } else {
            out.cumulative_margin_usd += margin;
        }
        if out.cumulative_margin_usd >= p.capex_usd {
            out.payback_days = Some(t + 1);
            break;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s21xp() -> MachineSpec {
        MachineSpec::new(270.0, 3645.0).unwrap()
    }

    #[test]
    fn hashprice_matches_model_formula_and_a_published_figure() {
        // MODEL.md section 2 by hand: D = 1 (genesis), R = 50 BTC:
        // 86400e15 * 50 / 2^32 = 1.00582838058471680e9 BTC/PH/day.
        let hv = hashvalue_btc_per_ph_day(BtcPerBlock(50.0), Difficulty(1.0)).unwrap();
        assert!((hv - 86400e15 * 50.0 / 4294967296.0).abs() < 1e-3);
        // Hashrate Index 2025-11-03: $43.33/PH/day (PARAMETERS.md). Difficulty then ~156 T,
        // price ~$107k, fees ~0.62 % of reward: the formula lands within a few percent.
        let hp = hashprice_usd_per_ph_day(
            BtcPerBlock(3.125 * 1.0062),
            Difficulty(155.97e12),
            107_000.0,
        )
        .unwrap();
        assert!((hp - 43.33).abs() / 43.33 < 0.05, "{hp}");
        // Exact value for those inputs.
        let want = 86400.0 * 1e15 * (3.125 * 1.0062) / (155.97e12 * 4294967296.0) * 107_000.0;
        assert_eq!(hp, want);
        assert!(hashvalue_btc_per_ph_day(BtcPerBlock(3.125), Difficulty(0.0)).is_err());
        assert!(hashprice_usd_per_ph_day(BtcPerBlock(3.125), Difficulty(1e12), -1.0).is_err());
        assert_eq!(reward_btc(840_000, 0.025), 3.15);
    }

    #[test]
    fn daily_economics_by_hand() {
        let m = s21xp();
        // 270 TH at $45/PH/day = $12.15/day; 3645 W * 24 h = 87.48 kWh = 0.08748 MWh at $50.
        let d = daily(&m, 45.0, 50.0).unwrap();
        assert!((d.revenue_usd_day - 12.15).abs() < 1e-12);
        assert!((d.power_cost_usd_day - 4.374).abs() < 1e-12);
        assert!((d.margin_usd_day - 7.776).abs() < 1e-12);
        // Break-even power: 12.15 / 0.08748 = 138.888... $/MWh.
        assert!((d.breakeven_power_usd_mwh - 12.15 / 0.08748).abs() < 1e-9);
        // Break-even hashprice: 4.374 * 1000 / 270 = 16.2 $/PH/day.
        assert!((d.breakeven_hashprice_usd_per_ph_day - 16.2).abs() < 1e-12);
        // At the break-evens the margin is zero.
        let at_be = daily(&m, d.breakeven_hashprice_usd_per_ph_day, 50.0).unwrap();
        assert!(at_be.margin_usd_day.abs() < 1e-12);
        let at_bp = daily(&m, 45.0, d.breakeven_power_usd_mwh).unwrap();
        assert!(at_bp.margin_usd_day.abs() < 1e-12);
        assert!((m.efficiency_jth() - 13.5).abs() < 1e-12);
    }

    #[test]
    fn simple_payback() {
        assert_eq!(simple_payback_days(1000.0, 10.0), Some(100.0));
        assert_eq!(simple_payback_days(1000.0, 0.0), None);
        assert_eq!(simple_payback_days(1000.0, -3.0), None);
    }

    fn proj(g: f64, capex: f64, height0: u64) -> Projection {
        Projection {
            hashprice0: 45.0,
            height0,
            fees_btc: 0.0,
            difficulty_growth: g,
            power_usd_mwh: 50.0,
            capex_usd: capex,
            horizon_days: 3650,
        }
    }

    #[test]
    fn flat_path_equals_simple_payback() {
        // No growth, no halving within reach (far from 1,050,000): projected = ceil(simple).
        let m = s21xp();
        let p = proj(0.0, 270.0 * 25.7, 850_000);
        let margin = daily(&m, 45.0, 50.0).unwrap().margin_usd_day;
        let simple = simple_payback_days(p.capex_usd, margin).unwrap();
        let r = projected_payback(
            &m,
            &Projection {
                horizon_days: 1000,
                ..p
            },
        )
        .unwrap();
        assert_eq!(r.payback_days, Some(simple.ceil() as u32));
        assert_eq!(r.curtailed_days, 0);
    }

    #[test]
    fn growth_and_halving_delay_payback_and_curtail() {
        let m = s21xp();
        // $15/TH: flat payback 4050 / 7.776 = 521 days, well before the halving.
        let capex = 270.0 * 15.0;
        // Far from the halving (850,000 -> 1,050,000 is 1,388.9 days): growth alone delays it.
        let flat = projected_payback(&m, &proj(0.0, capex, 850_000)).unwrap();
        let grow = projected_payback(&m, &proj(0.22, capex, 850_000)).unwrap();
        assert!(grow.payback_days.unwrap() > flat.payback_days.unwrap());
        assert_eq!(grow.halving_day, Some(1388));
        // A year before the halving (from 1,000,000 it is 347.2 days away) the same machine at
        // the same hashprice pays back later, or never within the horizon.
        let near = projected_payback(&m, &proj(0.22, capex, 1_000_000)).unwrap();
        assert_eq!(near.halving_day, Some(347));
        assert!(near
            .payback_days
            .is_none_or(|d| d > grow.payback_days.unwrap()));
        // Without growth and fees, the halving day's revenue halves exactly: a machine whose
        // margin is positive before and negative after is curtailed from day 348 on (day 347
        // straddles the halving and earns the mean of the two subsidies).
        // 100 TH at $45/PH/day = $4.50/day before, $2.25 after; power cost 3.6 $/day.
        let weak = MachineSpec::new(100.0, 3000.0).unwrap();
        let r = projected_payback(&weak, &proj(0.0, 1e9, 1_000_000)).unwrap();
        assert_eq!(r.payback_days, None);
        assert_eq!(r.first_curtailed_day, Some(347));
        assert_eq!(r.curtailed_days, 3650 - 347);
        assert!((r.cumulative_margin_usd - 347.0 * (4.5 - 3.6)).abs() < 1e-6);
        // Zero capex pays back at once.
        assert_eq!(
            projected_payback(&m, &proj(0.22, 0.0, 1_000_000))
                .unwrap()
                .payback_days,
            Some(0)
        );
    }

    #[test]
    fn curtailment_only_stops_losses() {
        // A machine that loses money every day never accumulates negative margin.
        let m = MachineSpec::new(13.5, 1323.0).unwrap(); // S9
        let r = projected_payback(&m, &proj(0.22, 100.0, 900_000)).unwrap();
        assert_eq!(r.payback_days, None);
        assert_eq!(r.cumulative_margin_usd, 0.0);
        assert_eq!(r.curtailed_days, 3650);
        assert_eq!(r.first_curtailed_day, Some(0));
    }

    #[test]
    fn invalid_inputs_are_errors() {
        assert!(MachineSpec::new(0.0, 1.0).is_err());
        assert!(MachineSpec::new(1.0, f64::NAN).is_err());
        let m = s21xp();
        assert!(projected_payback(&m, &proj(-1.0, 1.0, 0)).is_err());
        assert!(daily(&m, -1.0, 1.0).is_err());
        let e = daily(&m, f64::INFINITY, 1.0).unwrap_err().to_string();
        assert!(e.starts_with("hashprice = inf is not allowed"), "{e}");
    }

    /// Days from 1970-01-01 for a proleptic Gregorian date (H. Hinnant's days_from_civil).
    fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
        let y = if m <= 2 { y - 1 } else { y };
        let era = if y >= 0 { y } else { y - 399 } / 400;
        let yoe = y - era * 400;
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + d - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146097 + doe - 719468
    }

    #[test]
    fn default_growth_is_derived_from_shipped_history() {
        let csv = include_str!("../../../data/btc_chain/difficulty_epochs.csv");
        let mut lines = csv.lines();
        let head: Vec<&str> = lines.next().unwrap().split(',').collect();
        let col = |n: &str| head.iter().position(|c| *c == n).unwrap();
        let (ce, cd, cdate) = (col("epoch"), col("difficulty"), col("approx_start_date_la"));
        let rows: Vec<(u32, f64, i64)> = lines
            .map(|l| {
                let f: Vec<&str> = l.split(',').collect();
                let date = f[cdate];
                let day = if date.is_empty() {
                    i64::MIN
                } else {
                    let p: Vec<i64> = date.split('-').map(|x| x.parse().unwrap()).collect();
                    days_from_civil(p[0], p[1], p[2])
                };
                (f[ce].parse().unwrap(), f[cd].parse().unwrap(), day)
            })
            .collect();
        let last = *rows.last().unwrap();
        assert_eq!(last.0, 473);
        let first = rows.iter().find(|r| r.0 == 420).copied().unwrap();
        assert_eq!(first.2, days_from_civil(2024, 6, 6));
        let days = (last.2 - first.2) as f64;
        assert_eq!(days, 737.0);
        let g = (last.1 / first.1).powf(365.0 / days) - 1.0;
        assert!((g - 0.2194).abs() < 0.0005, "{g}");
        assert!((DEFAULT_DIFFICULTY_GROWTH - g).abs() < 0.005);
    }

    /// Regression (hardening): `--height 18446744073709551615` overflowed `next_halving_height`
    /// (a panic in debug builds) and heights far past the last halving made the mean subsidy
    /// loop for hours; a zero subsidy has no next halving to report.
    #[test]
    fn projection_at_extreme_heights_is_total() {
        for height0 in [u64::MAX, 1e17 as u64, 7_000_000] {
            let p = projected_payback(
                &s21xp(),
                &Projection {
                    hashprice0: 50.0,
                    height0,
                    fees_btc: 0.025,
                    difficulty_growth: 0.22,
                    power_usd_mwh: 40.0,
                    capex_usd: 5000.0,
                    horizon_days: 3650,
                },
            )
            .unwrap();
            assert_eq!(p.halving_day, None, "height {height0}");
            assert!(p.cumulative_margin_usd.is_finite());
        }
    }
}
