//! Project debt and the equity view of the AI stream (MODEL.md §10), streamed day by day.
//!
//! Each conversion `k` of a strategy on a lane (path) has a [`Loan`]: the lender funds
//! `finance.ltc` of each day's capex (`d_t`), interest is capitalized until the ready day `s_k`
//! (a draw on `s_k` earns none), then `n = round(tenor_years · 365)` daily payments
//! `q = bal · i / (1 − (1+i)^−n)` (`bal / n` when `i = 0`) are due on days `s_k .. s_k + n − 1`,
//! whatever the rent (recourse); a draw after `s_k` (a GPU refresh) is a loan of its own from its
//! own day. What is still owed at the start of day `N` is repaid on day `N`.
//!
//! [`EquityBook`] holds, for one strategy and a block of lanes, what the results need: the AI
//! stream's equity NPV (equity cash `AI cash + d − q` at `finance.cost_of_equity`, plus the day-`N`
//! terminal value minus what is owed), the smallest DSCR over whole loan years, and the daily AI
//! cash and equity cash of each lane for the per-path IRRs ([`crate::irr`]). The book is fed one
//! call per conversion, lane and day ([`EquityBook::conversion_day`]) from the conversion's first
//! day to the last simulated day, and closed per lane by [`EquityBook::finish`].
//!
//! Memory: the IRRs need each lane's whole series, two `f64` per lane and day for the block
//! ([`EquityBook::bytes`], counted by `crate::budget`); nothing is kept per path across blocks but
//! the four numbers of [`LaneEquity`].

use crate::scenario::Finance;

/// The run-wide terms of the loans and the equity discounting.
#[derive(Debug, Clone, PartialEq)]
pub struct DebtTerms {
    /// Loan-to-cost.
    pub ltc: f64,
    /// Daily rate `(1 + debt_rate)^(1/365) − 1`.
    pub i: f64,
    /// Payments per loan, `round(tenor_years · 365)` (at least 1).
    pub n: usize,
    /// Days simulated `N`.
    pub days: usize,
    /// Equity weight of day `t < N`: `(1 + cost_of_equity)^(−(t+1)/365)`.
    pub w_eq: Vec<f64>,
    /// Equity weight of day `N`: `(1 + cost_of_equity)^(−(N+1)/365)`.
    pub w_eq_n: f64,
    /// `site.terminal_multiple`.
    pub terminal_multiple: f64,
    /// `finance.min_dscr`.
    pub min_dscr: f64,
    /// `finance.fund_gpus`: GPU purchases (cloud) are funded at `ltc` too.
    pub fund_gpus: bool,
}

impl DebtTerms {
    /// The terms of `[finance]` over `days` days.
    pub fn new(f: &Finance, days: usize, terminal_multiple: f64) -> DebtTerms {
        let w = |t: usize| (1.0 + f.cost_of_equity).powf(-((t + 1) as f64) / 365.0);
        DebtTerms {
            ltc: f.ltc,
            i: (1.0 + f.debt_rate).powf(1.0 / 365.0) - 1.0,
            n: ((f.tenor_years * 365.0).round() as usize).max(1),
            days,
            w_eq: (0..days).map(w).collect(),
            w_eq_n: w(days),
            terminal_multiple,
            min_dscr: f.min_dscr,
            fund_gpus: f.fund_gpus,
        }
    }

    /// The level payment of a loan of `bal` over `n` days.
    pub fn payment(&self, bal: f64) -> f64 {
        if self.i == 0.0 {
            bal / self.n as f64
        } else {
            bal * self.i / (1.0 - (1.0 + self.i).powi(-(self.n as i32)))
        }
    }
}

/// One amortizing loan: its balance, level payment and payments left.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
struct Tranche {
    bal: f64,
    q: f64,
    left: usize,
}

impl Tranche {
    /// Pays today's installment: `bal ← bal (1+i) − q`. Returns `q` (0 when paid off).
    #[inline]
    fn pay(&mut self, i: f64) -> f64 {
        if self.left == 0 {
            return 0.0;
        }
        self.left -= 1;
        self.bal = if self.left == 0 {
            0.0
        } else {
            self.bal * (1.0 + i) - self.q
        };
        self.q
    }
}

/// One conversion's debt on one lane (MODEL.md §10), updated once a day by [`Loan::day`].
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Loan {
    /// Construction balance (draws with capitalized interest) as of day `last`.
    acc: f64,
    /// Last day the construction balance was compounded to (`None`: no draw yet).
    last: Option<usize>,
    /// The term loan from the ready day, once converted.
    main: Option<Tranche>,
    /// Loans of draws after the ready day (GPU refreshes).
    extra: Vec<Tranche>,
    /// The ready day of this lane's conversion.
    ready: usize,
    /// DSCR of the loan year in progress: operating cash and debt service.
    year_num: f64,
    year_den: f64,
    /// Days of the loan year in progress so far, and its first day counted from the ready day.
    year_day: usize,
    year_start: usize,
    /// Smallest DSCR of a whole loan year so far (`+∞`: none).
    pub dscr_min: f64,
}

impl Loan {
    /// A loan whose conversion is ready (rent starts) on day `ready`.
    pub fn new(ready: usize) -> Loan {
        Loan {
            ready,
            dscr_min: f64::INFINITY,
            ..Default::default()
        }
    }

    /// Day `t` of the conversion: the lender draws `draw` (`ltc` × the day's fundable capex),
    /// `opcash` is the day's operating cash (rent × NOI; cloud: revenue − costs). Returns the debt
    /// service `q_t` paid that day. Call it every day from the first draw to day `N − 1`, in order.
    #[inline]
    pub fn day(&mut self, terms: &DebtTerms, t: usize, draw: f64, opcash: f64) -> f64 {
        let i = terms.i;
        if t <= self.ready {
            if draw != 0.0 || t == self.ready {
                // Interest capitalized since the last draw (a draw on its own day earns none).
                if let Some(last) = self.last {
                    self.acc *= (1.0 + i).powi((t - last) as i32);
                }
                self.acc += draw;
                self.last = Some(t);
            }
            if t == self.ready {
                self.main = Some(Tranche {
                    bal: self.acc,
                    q: terms.payment(self.acc),
                    left: terms.n,
                });
            }
        } else if draw != 0.0 {
            self.extra.push(Tranche {
                bal: draw,
                q: terms.payment(draw),
                left: terms.n,
            });
        }
        let mut q = 0.0;
        if let Some(m) = &mut self.main {
            q += m.pay(i);
        }
        for e in &mut self.extra {
            q += e.pay(i);
        }
        // DSCR over whole loan years y (days ready + 365y .. ready + 365y + 364) that start
        // within the tenor; the caller stops at N − 1, so a year is counted only when whole.
        // Counters instead of a division a day.
        if t >= self.ready {
            self.year_num += opcash;
            self.year_den += q;
            self.year_day += 1;
            if self.year_day == 365 {
                if self.year_start < terms.n && self.year_den > 0.0 {
                    self.dscr_min = self.dscr_min.min(self.year_num / self.year_den);
                }
                self.year_num = 0.0;
                self.year_den = 0.0;
                self.year_day = 0;
                self.year_start += 365;
            }
        }
        q
    }

    /// What is owed at the start of day `N` (repaid on day `N`): the construction balance
    /// compounded to `N` if the ready day is not before `N`, else the balances left after the
    /// payments of the days before `N`.
    pub fn owed_at_horizon(&self, terms: &DebtTerms) -> f64 {
        let extra: f64 = self.extra.iter().map(|e| e.bal).sum();
        match (&self.main, self.last) {
            (Some(m), _) => m.bal + extra,
            (None, Some(last)) => {
                self.acc * (1.0 + terms.i).powi((terms.days - last) as i32) + extra
            }
            (None, None) => extra,
        }
    }
}

/// One conversion's cash of one day on one lane.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DayCash {
    /// All capex of the day (hall; cloud: GPU purchases too).
    pub capex: f64,
    /// The part of `capex` the lender funds a share `ltc` of.
    pub fundable: f64,
    /// Operating cash: rent × NOI (cloud: revenue − costs).
    pub opcash: f64,
}

/// The equity figures of one lane (path) of one strategy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LaneEquity {
    /// Equity NPV of the AI stream (at the cost of equity, with its day-`N` terms).
    pub ai_equity_npv: f64,
    /// Smallest DSCR over the conversions' whole loan years, `None` without one.
    pub dscr_min: Option<f64>,
    /// IRR of the AI cash with its terminal value, per year.
    pub project_irr: Option<f64>,
    /// IRR of the equity cash with its day-`N` terms, per year.
    pub equity_irr: Option<f64>,
}

/// One strategy's debt and equity accounts for a block of lanes.
#[derive(Debug, Clone)]
pub struct EquityBook {
    lanes: usize,
    days: usize,
    /// `loans[k * lanes + lane]` for conversion `k`.
    loans: Vec<Loan>,
    /// Running equity NPV of the AI stream (days `< N`), per lane.
    eq_npv: Vec<f64>,
    /// Daily AI cash, `lane * (days + 1) + t` (entry `days` gets the terminal value).
    ai_cash: Vec<f64>,
    /// Daily equity cash, same layout.
    eq_cash: Vec<f64>,
    /// BTC view (MODEL.md §11; empty in USD): per lane, the AI cash of the last 365 days in USD
    /// (the terminal value is a multiple of it) and the price on day `N − 1` (the terminal value
    /// and the day-`N` repayment are divided by it). The daily series above are then in BTC.
    btc_tail: Vec<f64>,
    s_last: Vec<f64>,
}

impl EquityBook {
    /// A book for `conversions` conversions on `lanes` lanes over `days` days (a strategy without
    /// conversions holds nothing: its equity is its NPV).
    pub fn new(conversions: usize, lanes: usize, days: usize) -> EquityBook {
        EquityBook::with_currency(conversions, lanes, days, false)
    }

    /// [`EquityBook::new`], in BTC when `btc` (MODEL.md §11): each day's cash is divided by the
    /// lane's price of that day ([`EquityBook::project_day`]'s `s`).
    pub fn with_currency(conversions: usize, lanes: usize, days: usize, btc: bool) -> EquityBook {
        let series = if conversions == 0 {
            0
        } else {
            lanes * (days + 1)
        };
        EquityBook {
            lanes,
            days,
            loans: vec![Loan::new(usize::MAX); conversions * lanes],
            eq_npv: vec![0.0; lanes],
            ai_cash: vec![0.0; series],
            eq_cash: vec![0.0; series],
            btc_tail: vec![0.0; if btc { lanes } else { 0 }],
            s_last: vec![f64::NAN; if btc { lanes } else { 0 }],
        }
    }

    /// True when the strategy has conversions (and so a levered AI stream).
    pub fn has_conversions(&self) -> bool {
        !self.loans.is_empty()
    }

    /// Bytes a book of `lanes` lanes over `days` days holds (the two daily series dominate).
    pub fn bytes(lanes: usize, days: usize) -> u64 {
        (lanes as u64) * (days as u64 + 1) * 16
    }

    /// Sets the ready day `s_k` of conversion `k` on `lane` (before its first day).
    pub fn set_ready(&mut self, k: usize, lane: usize, ready: usize) {
        self.loans[k * self.lanes + lane] = Loan::new(ready);
    }

    /// Day `t` of conversion `k` on `lane` (see [`DayCash`]). The conversion's AI cash of the
    /// day is `opcash − capex`; the lender draws `ltc · fundable`.
    #[inline]
    pub fn conversion_day(
        &mut self,
        terms: &DebtTerms,
        k: usize,
        lane: usize,
        t: usize,
        c: DayCash,
        s: Option<f64>,
    ) {
        let draw = terms.ltc * c.fundable;
        let q = self.loans[k * self.lanes + lane].day(terms, t, draw, c.opcash);
        let mut ai = c.opcash - c.capex;
        let mut eq = ai + draw - q;
        if let Some(s) = s {
            // MODEL.md §11: the loan runs in dollars; each day's cash is divided by that day's
            // price before it is discounted or enters an IRR.
            if t + 365 >= self.days {
                self.btc_tail[lane] += ai;
            }
            if t + 1 == self.days {
                self.s_last[lane] = s;
            }
            ai /= s;
            eq /= s;
        }
        let at = lane * (self.days + 1) + t;
        self.ai_cash[at] += ai;
        self.eq_cash[at] += eq;
        self.eq_npv[lane] += eq * terms.w_eq[t];
    }

    /// Day `t` of conversion `k` on every lane of the block, from the AI book's slices of the day:
    /// `capex` (hall and GPU purchases), `gpu` (the GPU purchases within it, cloud; `None`: none),
    /// `opcash`. The lender funds `ltc` of the hall capex, and of the GPUs with `fund_gpus`.
    // The day's slices are separate borrows of the AI book, read in the per-day loop; bundling
    // them into a struct would only add a copy there.
    #[allow(clippy::too_many_arguments)]
    #[inline]
    pub fn project_day(
        &mut self,
        terms: &DebtTerms,
        k: usize,
        t: usize,
        capex: &[f64],
        gpu: Option<&[f64]>,
        opcash: &[f64],
        s: Option<&[f64]>,
    ) {
        for lane in 0..self.lanes {
            let fundable = match gpu {
                Some(g) if !terms.fund_gpus => capex[lane] - g[lane],
                _ => capex[lane],
            };
            let c = DayCash {
                capex: capex[lane],
                fundable,
                opcash: opcash[lane],
            };
            self.conversion_day(terms, k, lane, t, c, s.map(|s| s[lane]));
        }
    }

    /// Closes `lane` after day `N − 1`: the day-`N` terms (the AI terminal value from unlevered AI
    /// cash; equity: the same minus what is still owed), the DSCR and the two IRRs.
    pub fn finish(&mut self, terms: &DebtTerms, lane: usize) -> LaneEquity {
        let n = self.days;
        let row = lane * (n + 1);
        let last_year: f64 = self.ai_cash[row + n.saturating_sub(365)..row + n]
            .iter()
            .sum();
        // BTC view: the terminal value and the repayment in BTC at the price of day N − 1.
        let (tv, per_usd) = if self.btc_tail.is_empty() {
            (terms.terminal_multiple * last_year, 1.0)
        } else {
            match self.s_last[lane] {
                // No cash on day N − 1: nothing converted inside the horizon on this lane.
                s if s.is_nan() => (0.0, 0.0),
                s => (terms.terminal_multiple * self.btc_tail[lane] / s, 1.0 / s),
            }
        };
        let conversions = self.loans.len() / self.lanes.max(1);
        let mut owed = 0.0;
        let mut dscr = f64::INFINITY;
        for k in 0..conversions {
            let loan = &self.loans[k * self.lanes + lane];
            owed += loan.owed_at_horizon(terms);
            dscr = dscr.min(loan.dscr_min);
        }
        let owed = owed * per_usd;
        self.ai_cash[row + n] = tv;
        self.eq_cash[row + n] = tv - owed;
        let ai_equity_npv = self.eq_npv[lane] + (tv - owed) * terms.w_eq_n;
        LaneEquity {
            ai_equity_npv,
            dscr_min: dscr.is_finite().then_some(dscr),
            project_irr: crate::irr::irr(&self.ai_cash[row..row + n + 1]),
            equity_irr: crate::irr::irr(&self.eq_cash[row..row + n + 1]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(rate: f64, tenor: f64, days: usize) -> DebtTerms {
        let f = Finance {
            ltc: 0.8,
            debt_rate: rate,
            tenor_years: tenor,
            cost_of_equity: 0.12,
            min_dscr: 1.25,
            fund_gpus: false,
        };
        DebtTerms::new(&f, days, 0.0)
    }

    /// Capitalized interest and the annuity, against the formulas of MODEL.md §10.
    #[test]
    fn construction_then_annuity_by_hand() {
        let tm = terms(0.08, 2.0, 2000);
        let i = 1.08f64.powf(1.0 / 365.0) - 1.0;
        let mut loan = Loan::new(100);
        let mut paid = Vec::new();
        for t in 0..2000 {
            let draw = if (10..=100).contains(&t) { 1000.0 } else { 0.0 };
            paid.push(loan.day(&tm, t, draw, 500.0));
        }
        let bal: f64 = (10..=100).map(|t| 1000.0 * (1.0 + i).powi(100 - t)).sum();
        let q = bal * i / (1.0 - (1.0 + i).powi(-730));
        assert!(paid[..100].iter().all(|&p| p == 0.0));
        assert!((paid[100] - q).abs() < 1e-9 * q, "{} {q}", paid[100]);
        assert_eq!(paid[829], paid[100]);
        assert_eq!(paid[830], 0.0);
        assert_eq!(loan.owed_at_horizon(&tm), 0.0);
        // DSCR of the two whole loan years: 365 · 500 / (365 · q).
        assert!((loan.dscr_min - 500.0 / q).abs() < 1e-9 * (500.0 / q));
    }

    #[test]
    fn owed_at_the_horizon() {
        // Ready after the horizon: every draw compounded to N.
        let tm = terms(0.1, 5.0, 50);
        let i = 1.1f64.powf(1.0 / 365.0) - 1.0;
        let mut loan = Loan::new(80);
        for t in 0..50 {
            assert_eq!(loan.day(&tm, t, if t < 30 { 10.0 } else { 0.0 }, 0.0), 0.0);
        }
        let want: f64 = (0..30).map(|t| 10.0 * (1.0 + i).powi(50 - t)).sum();
        assert!((loan.owed_at_horizon(&tm) - want).abs() < 1e-9 * want);
        // Ready inside: the balance after the payments of days < N.
        let tm = terms(0.1, 5.0, 400);
        let mut loan = Loan::new(0);
        loan.day(&tm, 0, 1e6, 0.0);
        for t in 1..400 {
            loan.day(&tm, t, 0.0, 0.0);
        }
        let q = tm.payment(1e6);
        let mut bal = 1e6;
        for _ in 0..400 {
            bal = bal * (1.0 + i) - q;
        }
        assert!((loan.owed_at_horizon(&tm) - bal).abs() < 1e-6, "{bal}");
    }

    #[test]
    fn zero_rate_pays_in_equal_parts() {
        let tm = terms(0.0, 1.0, 1000);
        let mut loan = Loan::new(0);
        let q = loan.day(&tm, 0, 365.0, 0.0);
        assert_eq!(q, 1.0);
        for t in 1..365 {
            assert_eq!(loan.day(&tm, t, 0.0, 0.0), 1.0);
        }
        assert_eq!(loan.day(&tm, 365, 0.0, 0.0), 0.0);
        // A later draw (a GPU refresh) is a loan of its own.
        assert_eq!(loan.day(&tm, 400, 730.0, 0.0), 2.0);
        assert_eq!(loan.owed_at_horizon(&tm), 728.0);
    }
}
