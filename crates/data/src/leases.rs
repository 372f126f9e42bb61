//! AI/HPC leases announced by bitcoin miners (`data/ai_hpc/announced_leases.csv`, one source per
//! row), with implied rates, and where a scenario's lease rate falls among them.

use serde::Serialize;

use crate::csv::{Csv, CsvError};
use crate::shipped::LEASES_CSV;

/// One announced deal.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Lease {
    /// Miner / landlord.
    pub company: String,
    /// Deal name.
    pub deal: String,
    /// Tenant.
    pub tenant: String,
    /// Third party guaranteeing the rent, if any.
    pub backstop: String,
    /// Critical IT load, MW.
    pub mw_it: f64,
    /// Base term, years.
    pub term_years: f64,
    /// Total contract value of the base term, USD.
    pub tcv_usd: f64,
    /// Average rent over the term, $/kW-month (`tcv / term / MW / 12,000`).
    pub usd_per_kw_month: f64,
    /// The same as $/MW-year (`× 12,000`).
    pub usd_per_mw_year: f64,
    /// Announcement date as written (YYYY, YYYY-MM or YYYY-MM-DD).
    pub announced: String,
    /// Source grade: P primary, T trade press, L low.
    pub grade: String,
    /// Source URL.
    pub source_url: String,
}

/// Parses the leases table. The $/kW-month rate is recomputed from TCV, term and MW, and checked
/// against the file's `avg_usd_per_kw_month` (a mismatch over 1% is an error in the file).
pub fn parse_leases(text: &str, file: &str) -> Result<Vec<Lease>, CsvError> {
    let csv = Csv::parse(text, file)?;
    csv.require(&[
        "company",
        "deal",
        "tenant",
        "mw_it",
        "term_years",
        "tcv_usd",
        "avg_usd_per_kw_month",
    ])?;
    let opt = |row: &crate::csv::Row<'_>, c: &str| -> String {
        row.str(c).map(str::to_string).unwrap_or_default()
    };
    let mut out = Vec::new();
    for row in csv.rows() {
        let mw = row.positive("mw_it")?;
        let term = row.positive("term_years")?;
        let tcv = row.positive("tcv_usd")?;
        let rate = tcv / term / mw / 12_000.0;
        let stated = row.positive("avg_usd_per_kw_month")?;
        if (rate / stated - 1.0).abs() > 0.01 {
            return Err(row.bad(
                "avg_usd_per_kw_month",
                row.str("avg_usd_per_kw_month")?,
                format!("disagrees with tcv/term/MW/12000 = {rate:.1}"),
            ));
        }
        out.push(Lease {
            company: opt(&row, "company"),
            deal: opt(&row, "deal"),
            tenant: opt(&row, "tenant"),
            backstop: opt(&row, "backstop"),
            mw_it: mw,
            term_years: term,
            tcv_usd: tcv,
            usd_per_kw_month: rate,
            usd_per_mw_year: rate * 12_000.0,
            announced: opt(&row, "announced"),
            grade: opt(&row, "source_grade"),
            source_url: opt(&row, "source_url"),
        });
    }
    Ok(out)
}

/// The shipped announced leases.
pub fn leases() -> Vec<Lease> {
    parse_leases(LEASES_CSV, "announced_leases.csv").unwrap_or_default()
}

/// Where a rate falls among the announced deals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct LeaseRank {
    /// Deals whose average rate is strictly above the given rate ("below N of M").
    pub deals_above: usize,
    /// Deals strictly below it.
    pub deals_below: usize,
    /// All deals.
    pub total: usize,
}

impl LeaseRank {
    /// Human phrase: "below 9 of 14 announced deals" / "above 12 of 14 ..." / "in the middle ...".
    pub fn phrase(&self) -> String {
        if self.deals_above >= self.deals_below {
            format!(
                "below {} of {} announced deals",
                self.deals_above, self.total
            )
        } else {
            format!(
                "above {} of {} announced deals",
                self.deals_below, self.total
            )
        }
    }
}

/// Ranks `rate_usd_per_kw_month` among the shipped deals (average over term, $/kW-month).
pub fn lease_rank(rate_usd_per_kw_month: f64) -> LeaseRank {
    lease_rank_among(rate_usd_per_kw_month, &leases())
}

/// Ranks a rate among the given deals.
pub fn lease_rank_among(rate: f64, deals: &[Lease]) -> LeaseRank {
    LeaseRank {
        deals_above: deals.iter().filter(|l| l.usd_per_kw_month > rate).count(),
        deals_below: deals.iter().filter(|l| l.usd_per_kw_month < rate).count(),
        total: deals.len(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_leases_parse_and_rates_match_the_file() {
        let l = leases();
        assert_eq!(l.len(), 14);
        let cs = &l[0];
        assert_eq!(cs.company, "Core Scientific");
        // 3.5 B / 12 y / 200 MW / 12000 = 121.53 $/kW-month.
        assert!((cs.usd_per_kw_month - 121.527_777).abs() < 1e-3);
        assert!((cs.usd_per_mw_year - 1_458_333.33).abs() < 1.0);
        // PROVENANCE: median ≈ $150/kW-month.
        let mut r: Vec<f64> = l.iter().map(|x| x.usd_per_kw_month).collect();
        r.sort_by(f64::total_cmp);
        let med = (r[6] + r[7]) / 2.0;
        assert!((130.0..170.0).contains(&med), "{med}");
    }

    #[test]
    fn rank_counts() {
        let l = leases();
        let lo = lease_rank(1.0);
        assert_eq!((lo.deals_above, lo.deals_below, lo.total), (14, 0, 14));
        assert_eq!(lo.phrase(), "below 14 of 14 announced deals");
        let hi = lease_rank(10_000.0);
        assert_eq!(hi.phrase(), "above 14 of 14 announced deals");
        let r = lease_rank(130.0);
        assert_eq!(
            r.deals_above,
            l.iter().filter(|x| x.usd_per_kw_month > 130.0).count()
        );
        assert_eq!(r.deals_above + r.deals_below, 14);
    }

    #[test]
    fn bad_rate_is_reported_with_line() {
        let text = "company,deal,tenant,mw_it,term_years,tcv_usd,avg_usd_per_kw_month\nA,B,C,100,10,1200000000,50\n";
        let e = parse_leases(text, "l.csv").unwrap_err().to_string();
        assert!(
            e.contains("line 2") && e.contains("avg_usd_per_kw_month") && e.contains("100.0"),
            "{e}"
        );
    }
}
