//! The market panel of the dashboard's home page and its leases page: today's hashprice,
//! difficulty, the next retarget and halving, how fresh the data is, and the announced AI/HPC
//! leases with a rate placed among them.

use hashpivot_chain::{HALVING_INTERVAL, RETARGET_INTERVAL};
use hashpivot_charts::{BarChart, BarSeries, Units};
use hashpivot_data::date::Date;
use hashpivot_data::leases::Lease;
use hashpivot_data::market::MarketState;
use hashpivot_model::decision::{place_lease, LeasePlacement};
use serde::Serialize;

/// A coming block height and when it is expected.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Eta {
    /// The height.
    pub height: u32,
    /// Blocks from the market state's height.
    pub blocks: u32,
    /// Days at the market state's blocks per day.
    pub days: f64,
    /// The expected day (whole days from the state's date; rounding keeps "about" dates honest).
    pub date: Date,
}

/// The market panel (`GET /api/market`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MarketPanel {
    /// Day of the market state.
    pub date: Date,
    /// Day of the BTC close used.
    pub price_date: Date,
    /// BTC price, USD.
    pub spot_usd: f64,
    /// Chain height at the start of `date`.
    pub height: u32,
    /// Difficulty the state's model starts from.
    pub difficulty: f64,
    /// The epoch of that difficulty.
    pub difficulty_epoch: u32,
    /// True when `difficulty` is the one in force on `date` (else the newest known).
    pub difficulty_current: bool,
    /// Implied network hashrate, EH/s.
    pub hashrate_ehs: f64,
    /// Blocks per day lately.
    pub blocks_per_day: f64,
    /// Fees per block lately, BTC.
    pub fees_btc_per_block: f64,
    /// Hashprice, USD per PH/s per day.
    pub hashprice_usd_per_ph_day: f64,
    /// The next difficulty retarget.
    pub next_retarget: Eta,
    /// The next subsidy halving.
    pub next_halving: Eta,
    /// Days from the state's date to `today`.
    pub data_age_days: i32,
}

/// The panel of `m` seen on `today` (for the data's age), with the hashprice the model computes
/// for that state.
pub fn panel(m: &MarketState, today: Date, hashprice: f64) -> MarketPanel {
    let per_day = if m.blocks_per_day > 0.0 {
        m.blocks_per_day
    } else {
        144.0
    };
    let (retarget, halving) = (RETARGET_INTERVAL as u32, HALVING_INTERVAL as u32);
    let eta = |height: u32| {
        let blocks = height.saturating_sub(m.height);
        let days = f64::from(blocks) / per_day;
        Eta {
            height,
            blocks,
            days,
            date: m.date.add_days(days.round() as i32),
        }
    };
    MarketPanel {
        date: m.date,
        price_date: m.price_date,
        spot_usd: m.spot_usd,
        height: m.height,
        difficulty: m.difficulty,
        difficulty_epoch: m.difficulty_epoch,
        difficulty_current: m.difficulty_current,
        hashrate_ehs: m.hashrate_ehs,
        blocks_per_day: m.blocks_per_day,
        fees_btc_per_block: m.fees_btc_per_block,
        hashprice_usd_per_ph_day: hashprice,
        next_retarget: eta(m.epoch_start_height + retarget),
        next_halving: eta((m.height / halving + 1) * halving),
        data_age_days: today.days_since(m.date),
    }
}

/// The announced deals with a rate placed among them (`GET /api/leases`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LeasesPanel<'a> {
    /// The rate among the deals (the decision card's placement).
    #[serde(flatten)]
    pub placement: LeasePlacement,
    /// The deals, highest rate first.
    pub deals: Vec<&'a Lease>,
}

fn by_rate(deals: &[Lease]) -> Vec<&Lease> {
    let mut sorted: Vec<&Lease> = deals.iter().collect();
    sorted.sort_by(|a, b| b.usd_per_kw_month.total_cmp(&a.usd_per_kw_month));
    sorted
}

/// The deals sorted by rate with `rate` placed among them.
pub fn leases(deals: &[Lease], rate: f64) -> LeasesPanel<'_> {
    LeasesPanel {
        placement: place_lease(rate, deals),
        deals: by_rate(deals),
    }
}

/// The deals' rates as bars, highest first, with `rate` drawn across them.
pub fn leases_chart(deals: &[Lease], rate: f64) -> String {
    let sorted = by_rate(deals);
    BarChart {
        title: "Announced AI/HPC leases: average rate over the term".into(),
        x_label: "deal (miner)".into(),
        y_label: "$/kW-month".into(),
        units: Units {
            prefix: "$".into(),
            ..Units::default()
        },
        groups: sorted.iter().map(|l| l.company.clone()).collect(),
        series: vec![BarSeries {
            name: "announced deal".into(),
            values: sorted.iter().map(|l| l.usd_per_kw_month).collect(),
        }],
        reference: Some((rate, format!("your rate ${rate:.0}/kW-month"))),
    }
    .to_svg()
}

#[cfg(test)]
mod tests {
    use super::*;
    use hashpivot_data::leases::leases as shipped;
    use hashpivot_data::market::market_state;

    #[test]
    fn the_next_retarget_and_halving_follow_the_height() {
        let mut m = market_state();
        m.height = 1_049_000;
        m.epoch_start_height = 1_048_320;
        m.blocks_per_day = 144.0;
        let v = panel(&m, m.date.add_days(3), 50.0);
        assert_eq!(v.next_retarget.height, 1_050_336);
        assert_eq!(v.next_retarget.blocks, 1_336);
        assert_eq!(v.next_halving.height, 1_050_000);
        assert_eq!(v.next_halving.blocks, 1_000);
        assert_eq!(
            v.next_halving.date,
            m.date.add_days(7),
            "1000 blocks at 144 a day is 6.9 days"
        );
        assert_eq!(v.data_age_days, 3);
        assert_eq!(v.hashprice_usd_per_ph_day, 50.0);
        let j = serde_json::to_value(&v).unwrap();
        assert_eq!(j["next_halving"]["date"], m.date.add_days(7).to_string());
    }

    #[test]
    fn a_rate_is_placed_among_the_deals() {
        let deals = shipped();
        assert!(deals.len() >= 5);
        let mut rates: Vec<f64> = deals.iter().map(|d| d.usd_per_kw_month).collect();
        rates.sort_by(f64::total_cmp);
        let top = rates[rates.len() - 1];
        let v = leases(&deals, top + 1.0);
        assert_eq!(v.placement.deals_below, deals.len());
        assert_eq!(v.placement.deals_above, 0);
        let v = leases(&deals, 0.0);
        assert_eq!(v.placement.deals_above, deals.len());
        // Sorted highest first.
        assert_eq!(v.deals[0].usd_per_kw_month, top);
        let svg = leases_chart(&deals, 120.0);
        assert_eq!(svg.matches("class=\"hp-bar\"").count(), deals.len());
        assert!(svg.contains("your rate $120/kW-month"));
    }
}
