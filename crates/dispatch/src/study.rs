//! What `hashpivot dispatch` computes, from a scenario and an hourly price series: the fleet (after
//! an optional conversion), the hashprice, the dispatch, the flat-contract comparison, the
//! flexibility value a conversion loses and the per-year splits. Renderers (the CLI, the report)
//! read the typed [`Outcome`].

use hashpivot_data::ercot::HourlySeries;
use hashpivot_model::power::{DispatchConfig, DurationCurve};
use hashpivot_model::site::{removal_order, BatchDef, Layout};
use hashpivot_model::Scenario;
use serde::Serialize;

use crate::optimiser::{
    dispatch, DispatchReport, DispatchSite, DispatchTotals, FleetBatch, HourMarket, Market,
};
use crate::DispatchError;

/// Where the hashprice of a run comes from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum HashpriceSource {
    /// The scenario's market state (MODEL.md §2): subsidy at `chain.height` plus
    /// `fees.btc_per_block`, at `chain.difficulty`.
    Scenario,
    /// A hashprice in USD per PH/s per day held for every hour.
    Usd(f64),
    /// Each day's historical hashprice (shipped BTC price, difficulty, subsidy and fees).
    History,
}

/// The options of a run, already validated by the caller (ranges of flags).
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// The `[dispatch]` rules after the caller's overrides.
    pub cfg: DispatchConfig,
    /// Where the hashprice comes from.
    pub hashprice: HashpriceSource,
    /// BTC price, USD (default: the scenario's `price.spot`).
    pub btc_usd: Option<f64>,
    /// Flat contract price for the comparison, $/MWh (default: `site.power_usd_mwh`).
    pub flat_usd_mwh: Option<f64>,
    /// Share of the site (0–1) converted to a firm AI/HPC load before dispatch.
    pub convert: Option<f64>,
}

/// Where the hashprice came from, and its means over the hours.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HashpriceInfo {
    /// `scenario`, `flag` or `history`.
    pub source: &'static str,
    /// Mean USD per PH/s per day over the hours.
    pub usd_per_ph_day: f64,
    /// Mean BTC per PH/s per day over the hours.
    pub btc_per_ph_day: f64,
    /// Mean BTC price over the hours.
    pub btc_usd: f64,
}

/// A conversion applied before dispatch.
#[derive(Debug, Clone, PartialEq)]
pub struct Conversion {
    /// Share of the site converted.
    pub share: f64,
    /// MW converted (`share × site.power_mw`).
    pub converted_mw: f64,
    /// Units removed per batch (fleet order).
    pub removed_units: Vec<f64>,
    /// The fleet before the conversion.
    pub full_fleet: Vec<FleetBatch>,
}

/// A validated run: everything [`Study::run`] needs.
#[derive(Debug, Clone, PartialEq)]
pub struct Study {
    /// The hourly prices.
    pub series: HourlySeries,
    /// The fleet dispatched (after the conversion, if any), in file order.
    pub fleet: Vec<FleetBatch>,
    /// The conversion applied first.
    pub conversion: Option<Conversion>,
    /// Overhead, pool fee and availability.
    pub site: DispatchSite,
    /// Hashvalue and BTC price per hour.
    pub market: Market,
    /// The hashprice's source and means.
    pub hashprice: HashpriceInfo,
    /// The dispatch rules.
    pub cfg: DispatchConfig,
    /// The flat contract price of the comparison, $/MWh.
    pub flat_usd_mwh: f64,
}

/// Removed units of one batch, for the conversion summary.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RemovedUnits {
    /// Model name.
    pub model: String,
    /// Units removed.
    pub units: f64,
}

/// What a conversion costs in flexibility.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConversionOutcome {
    /// Share of the site converted.
    pub share: f64,
    /// MW converted.
    pub converted_mw: f64,
    /// Units removed per batch (fleet order).
    pub removed_units: Vec<RemovedUnits>,
    /// Curtailment savings + credits + 4CP savings of the full fleet minus those of the fleet left.
    pub flexibility_value_lost_usd: f64,
    /// The full fleet's dispatched margin.
    pub margin_before_conversion_usd: f64,
}

/// One calendar year of a per-year split.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct YearRow {
    /// Calendar year.
    pub year: u16,
    /// Hours of the year in the series.
    pub hours: usize,
    /// Mean price, $/MWh.
    pub mean_price_usd_mwh: f64,
    /// Mean hashprice, USD per PH/s per day.
    pub hashprice_usd_per_ph_day: f64,
    /// The dispatched site.
    pub site: DispatchTotals,
    /// The site at the flat contract price.
    pub flat_contract: DispatchTotals,
}

/// The results of a run.
#[derive(Debug, Clone, PartialEq)]
pub struct Outcome {
    /// The dispatch of the fleet against the hourly prices.
    pub report: DispatchReport,
    /// The same fleet at the flat contract price.
    pub flat: DispatchReport,
    /// The series' price-duration curve.
    pub curve: DurationCurve,
    /// The conversion's cost in flexibility, if one was applied.
    pub conversion: Option<ConversionOutcome>,
    /// Per-year splits (empty unless asked for).
    pub years: Vec<YearRow>,
}

impl Study {
    /// Validates a run of the scenario's fleet against `series`.
    pub fn new(sc: &Scenario, series: HourlySeries, opts: Options) -> Result<Study, DispatchError> {
        if series.is_empty() {
            return Err(DispatchError::Empty {
                label: series.label.clone(),
                hint: String::new(),
            });
        }
        opts.cfg.validate()?;
        let btc_usd = opts.btc_usd.unwrap_or(sc.price.spot);
        let (market, hashprice) = market(opts.hashprice, sc, btc_usd, &series)?;
        let fleet: Vec<FleetBatch> = FleetBatch::of_scenario(sc);
        if fleet.is_empty() {
            return Err(crate::invalid(
                "mining.fleet",
                "[]",
                "at least one batch to dispatch; add [[mining.fleet]] entries",
            ));
        }
        let (fleet, conversion) = match opts.convert {
            None => (fleet, None),
            Some(share) => {
                let (rest, removed) = convert(sc, &fleet, share);
                if rest.iter().all(|b| b.units <= 0.0) {
                    return Err(DispatchError::NoFleetLeft { share });
                }
                let conv = Conversion {
                    share,
                    converted_mw: share * sc.site.power_mw,
                    removed_units: removed,
                    full_fleet: fleet,
                };
                (rest, Some(conv))
            }
        };
        Ok(Study {
            series,
            fleet,
            conversion,
            site: DispatchSite {
                overhead: sc.mining.overhead,
                pool_fee: sc.mining.pool_fee,
                availability: sc.mining.uptime,
            },
            market,
            hashprice,
            cfg: opts.cfg,
            flat_usd_mwh: opts.flat_usd_mwh.unwrap_or(sc.site.power_usd_mwh),
        })
    }

    /// Dispatches the fleet, the flat-contract comparison, the conversion's full fleet and (with
    /// `by_year`) each calendar year.
    pub fn run(&self, by_year: bool) -> Result<Outcome, DispatchError> {
        let report = dispatch(
            &self.series,
            &self.fleet,
            &self.site,
            &self.market,
            &self.cfg,
        )?;
        let flat = self.flat_contract(&self.series, &self.market)?;
        let curve = DurationCurve::from_series(&self.series)?;
        let conversion = match &self.conversion {
            None => None,
            Some(c) => Some(self.conversion_outcome(c, &report)?),
        };
        let years = if by_year { self.by_year()? } else { Vec::new() };
        Ok(Outcome {
            report,
            flat,
            curve,
            conversion,
            years,
        })
    }

    fn conversion_outcome(
        &self,
        c: &Conversion,
        report: &DispatchReport,
    ) -> Result<ConversionOutcome, DispatchError> {
        let full = dispatch(
            &self.series,
            &c.full_fleet,
            &self.site,
            &self.market,
            &self.cfg,
        )?;
        Ok(ConversionOutcome {
            share: c.share,
            converted_mw: c.converted_mw,
            removed_units: c
                .full_fleet
                .iter()
                .zip(&c.removed_units)
                .map(|(b, u)| RemovedUnits {
                    model: b.model.clone(),
                    units: *u,
                })
                .collect(),
            flexibility_value_lost_usd: full.site.flexibility_usd() - report.site.flexibility_usd(),
            margin_before_conversion_usd: full.site.margin_usd,
        })
    }

    /// The same fleet at a flat contract price: MODEL.md §4 (a batch runs every hour if its
    /// revenue covers the price, else never), computed by the dispatcher on a constant series over
    /// the same hours, without credits, minimum times or 4CP.
    fn flat_contract(
        &self,
        series: &HourlySeries,
        market: &Market,
    ) -> Result<DispatchReport, DispatchError> {
        let flat = HourlySeries {
            label: format!("flat ${}/MWh", self.flat_usd_mwh),
            hours: series.hours.clone(),
            usd_mwh: vec![self.flat_usd_mwh; series.len()],
        };
        dispatch(
            &flat,
            &self.fleet,
            &self.site,
            market,
            &DispatchConfig::default(),
        )
    }

    fn by_year(&self) -> Result<Vec<YearRow>, DispatchError> {
        let s = &self.series;
        let mut out = Vec::new();
        let mut start = 0;
        while start < s.len() {
            let y = s.hours[start].year();
            let end = start
                + s.hours[start..]
                    .iter()
                    .take_while(|h| h.year() == y)
                    .count();
            let sub = HourlySeries {
                label: format!("{} {y}", s.label),
                hours: s.hours[start..end].to_vec(),
                usd_mwh: s.usd_mwh[start..end].to_vec(),
            };
            let market = match &self.market {
                Market::Constant(m) => Market::Constant(*m),
                Market::Hourly(v) => Market::Hourly(v[start..end].to_vec()),
            };
            let r = dispatch(&sub, &self.fleet, &self.site, &market, &self.cfg)?;
            let flat = self.flat_contract(&sub, &market)?;
            out.push(YearRow {
                year: y,
                hours: sub.len(),
                mean_price_usd_mwh: sub.mean(),
                hashprice_usd_per_ph_day: market.mean_hashprice(),
                site: r.site,
                flat_contract: flat.site,
            });
            start = end;
        }
        Ok(out)
    }
}

/// Removes `share × site MW` from mining in MODEL.md §4 order (idle MW first, then the least
/// efficient batch, fractional units) with the engine's own [`Layout::remove_mw`]; returns the
/// fleet left and the units removed per batch, both in file order.
fn convert(sc: &Scenario, fleet: &[FleetBatch], share: f64) -> (Vec<FleetBatch>, Vec<f64>) {
    let order = removal_order(&sc.mining.fleet);
    let defs: Vec<BatchDef> = order
        .iter()
        .map(|&i| BatchDef {
            ths: fleet[i].hashrate_ths,
            power_w: fleet[i].power_w,
        })
        .collect();
    let mut layout = Layout {
        capacity_mw: sc.site.power_mw,
        converted_mw: 0.0,
        units: order.iter().map(|&i| fleet[i].units).collect(),
        overhead: sc.mining.overhead,
    };
    let removed_sorted = layout.remove_mw(&defs, share * sc.site.power_mw);
    let mut rest = fleet.to_vec();
    let mut removed = vec![0.0; fleet.len()];
    for (k, &i) in order.iter().enumerate() {
        rest[i].units = layout.units[k];
        removed[i] = removed_sorted[k];
        // Rounding residue of a batch removed whole must not leave a ghost machine behind.
        if rest[i].units <= 1e-9 * fleet[i].units {
            rest[i].units = 0.0;
            removed[i] = fleet[i].units;
        }
    }
    (rest, removed)
}

/// The scenario's hashvalue at its market state (MODEL.md §2): `86400·1e15·R / (D·2^32)` with
/// `R = subsidy(height) + fees.btc_per_block`. Public so the server's dispatch page uses the same.
pub fn scenario_hashvalue(sc: &Scenario) -> f64 {
    let r = hashpivot_data::hashprice::subsidy_sat(sc.chain.height) as f64 / 1e8
        + sc.fees.btc_per_block;
    hashpivot_data::hashprice::hashvalue_btc_per_ph_day(
        hashpivot_data::hashprice::BtcPerBlock(r),
        hashpivot_data::hashprice::Difficulty(sc.chain.difficulty),
    )
}

fn market(
    source: HashpriceSource,
    sc: &Scenario,
    btc_usd: f64,
    series: &HourlySeries,
) -> Result<(Market, HashpriceInfo), DispatchError> {
    let constant = |source: &'static str, hv: f64| {
        let m = HourMarket {
            hv_btc_per_ph_day: hv,
            btc_usd,
        };
        let info = HashpriceInfo {
            source,
            usd_per_ph_day: hv * btc_usd,
            btc_per_ph_day: hv,
            btc_usd,
        };
        (Market::Constant(m), info)
    };
    match source {
        HashpriceSource::Scenario => Ok(constant("scenario", scenario_hashvalue(sc))),
        HashpriceSource::Usd(x) => {
            let (m, mut info) = constant("flag", x / btc_usd);
            // The flag's own figure, not `hv × btc_usd` rounded back.
            info.usd_per_ph_day = x;
            Ok((m, info))
        }
        HashpriceSource::History => history_market(series),
    }
}

/// Each hour gets the historical hashprice of its delivery date (shipped BTC close, difficulty,
/// subsidy and fees; `hashpivot history` shows the same series).
fn history_market(series: &HourlySeries) -> Result<(Market, HashpriceInfo), DispatchError> {
    use hashpivot_data::{hashprice_history, shipped};
    let first = series.hours.first().map(|h| h.date);
    let last = series.hours.last().map(|h| h.date);
    let days = hashprice_history(
        shipped::prices(),
        shipped::heights(),
        shipped::epochs(),
        shipped::fees(),
        first,
        last,
    )
    .map_err(|e| DispatchError::History(e.to_string()))?;
    let mut v = Vec::with_capacity(series.len());
    for h in &series.hours {
        let day = days
            .binary_search_by(|x| x.date.cmp(&h.date))
            .ok()
            .map(|i| &days[i]);
        let Some(day) = day else {
            return Err(DispatchError::NoHistory {
                date: h.date_string(),
                first: days.first().map(|d| d.date.to_string()).unwrap_or_default(),
                last: days.last().map(|d| d.date.to_string()).unwrap_or_default(),
            });
        };
        v.push(HourMarket {
            hv_btc_per_ph_day: day.btc_per_ph_day,
            btc_usd: day.price_usd,
        });
    }
    let n = v.len().max(1) as f64;
    let info = HashpriceInfo {
        source: "history",
        usd_per_ph_day: v
            .iter()
            .map(|m| m.hv_btc_per_ph_day * m.btc_usd)
            .sum::<f64>()
            / n,
        btc_per_ph_day: v.iter().map(|m| m.hv_btc_per_ph_day).sum::<f64>() / n,
        btc_usd: v.iter().map(|m| m.btc_usd).sum::<f64>() / n,
    };
    Ok((Market::Hourly(v), info))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> Options {
        Options {
            cfg: DispatchConfig::default(),
            hashprice: HashpriceSource::Scenario,
            btc_usd: None,
            flat_usd_mwh: None,
            convert: None,
        }
    }

    #[test]
    fn conversion_removes_idle_then_least_efficient_in_file_order() {
        let sc = Scenario::default();
        let series = hashpivot_data::ercot::series("ercot:HB_WEST:2024").unwrap();
        let st = Study::new(
            &sc,
            series,
            Options {
                convert: Some(0.25),
                ..opts()
            },
        )
        .unwrap();
        let c = st.conversion.as_ref().unwrap();
        // Units are conserved batch by batch, and the MW removed is the share of the site less
        // the idle MW.
        let mut mw = 0.0;
        for ((full, left), removed) in c.full_fleet.iter().zip(&st.fleet).zip(&c.removed_units) {
            assert!((full.units - left.units - removed).abs() <= 1e-9 * full.units);
            mw += removed * full.power_w * sc.mining.overhead / 1e6;
        }
        let fleet_mw: f64 = c
            .full_fleet
            .iter()
            .map(|b| b.units * b.power_w * sc.mining.overhead / 1e6)
            .sum();
        let idle = (sc.site.power_mw - fleet_mw).max(0.0);
        assert!((mw - (0.25 * sc.site.power_mw - idle)).abs() < 1e-6, "{mw}");
        // The least efficient batch goes first.
        let order = removal_order(&sc.mining.fleet);
        assert!(c.removed_units[order[0]] > 0.0);
        let out = st.run(false).unwrap();
        let conv = out.conversion.unwrap();
        assert!(conv.flexibility_value_lost_usd.is_finite());
        assert_eq!(conv.removed_units.len(), sc.mining.fleet.len());
    }

    #[test]
    fn converting_everything_is_refused() {
        let sc = Scenario::default();
        let series = hashpivot_data::ercot::series("ercot:HB_WEST:2024").unwrap();
        let e = Study::new(
            &sc,
            series,
            Options {
                convert: Some(1.0),
                ..opts()
            },
        )
        .unwrap_err();
        assert_eq!(e, DispatchError::NoFleetLeft { share: 1.0 });
    }

    #[test]
    fn years_partition_the_run() {
        let sc = Scenario::default();
        let series = hashpivot_data::ercot::series("ercot:HB_WEST:2022-2023").unwrap();
        let st = Study::new(&sc, series, opts()).unwrap();
        let out = st.run(true).unwrap();
        assert_eq!(
            out.years.iter().map(|y| y.year).collect::<Vec<_>>(),
            [2022, 2023]
        );
        let hours: usize = out.years.iter().map(|y| y.hours).sum();
        assert_eq!(hours, out.report.hours);
        // Without minimum run times each hour is decided alone: the years add up to the whole.
        let margin: f64 = out.years.iter().map(|y| y.site.margin_usd).sum();
        assert!((margin - out.report.site.margin_usd).abs() <= 1e-9 * margin.abs());
    }
}
