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
//!
//! Speed (bench/README.md, "Financing on"): the loans are held as arrays per lane ([`Loans`]),
//! so that a day on which every lane just repays its term loan is one branch-free lane loop;
//! the series are stored in groups of eight lanes, day-major inside a group (a day of a group is
//! one cache line), and copied lane-major a group at a time for the IRRs. A finished book's
//! series buffers are kept for this thread's next book ([`take_series`]), and a day's slots are
//! zeroed when the day is first written (while its cache lines are fetched anyway), instead of
//! allocating and zeroing 2 × 11 MB per block and strategy.
//!
//! A lease that is a strategy's only conversion is *settled* once its capex is over on every lane
//! of the block; from its first quiet day after that ([`EquityBook::project_day`]) nothing is
//! stepped or stored: its rent is replayed from the AI book's log when the lanes are finished,
//! and those days run then, a group of [`GROUP`] lanes at a time with the loans' state in
//! registers ([`replay_tail`]), the same operations as the day-by-day loops (the same bits).
//! In the BTC view (MODEL.md §11) the only thing stored for those days is each lane's price,
//! in the AI series' slot the day does not use: the replay divides by it as the day would have.

// Lane and chain loops index several arrays in lockstep; explicit indices are what the compiler
// vectorizes (as in `crate::payoff`).
#![allow(clippy::needless_range_loop)]

use crate::num::powi;
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
            bal * self.i / (1.0 - powi(1.0 + self.i, -(self.n as i32)))
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

/// Lanes per group of [`EquityBook`]'s daily series: one cache line of `f64`.
const GROUP: usize = 8;

thread_local! {
    /// Series buffers of this thread's dropped books, for its next ones (their contents are
    /// stale: a book zeroes each day's slots before it first writes them).
    static SPARE: std::cell::RefCell<Vec<Vec<f64>>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// Most buffers a thread keeps (a run needs two per strategy with conversions and worker
/// thread; more would only hold memory after the run).
const SPARE_MAX: usize = 16;

/// A series buffer of `len` values: a spare's (stale) or a new one. Either way the book zeroes
/// each day's slots before it first writes them: a new buffer's pages are not touched before,
/// because a page first read (a `+=` on the lazily mapped zero page) and then written costs a
/// copy-on-write fault that flushes the TLB of every core running the process (an interrupt to
/// the other core, expensive in a VM): 3 % of `optimal`'s default run before.
fn take_series(len: usize) -> Vec<f64> {
    if len == 0 {
        return Vec::new();
    }
    match SPARE.with(|s| s.borrow_mut().pop()) {
        Some(mut v) => {
            v.truncate(len);
            v.resize(len, 0.0);
            v
        }
        None => vec![0.0; len],
    }
}

/// Frees the spare series buffers of every thread of the current rayon pool, without waiting
/// (a run calls it when its blocks are done, so that an idle process, e.g. the server between
/// runs, does not keep up to [`SPARE_MAX`] × 11 MB per thread). Books in use own their buffers:
/// only idle spares go.
pub fn release_spares() {
    rayon::spawn_broadcast(|_| {
        let _ = SPARE.try_with(|s| s.borrow_mut().clear());
    });
    let _ = SPARE.try_with(|s| s.borrow_mut().clear());
}

/// Keeps `v` for this thread's next book (up to [`SPARE_MAX`] buffers).
fn give_series(v: Vec<f64>) {
    if v.capacity() == 0 {
        return;
    }
    // `try_with`: a book dropped while the thread is being torn down just frees its buffer.
    let _ = SPARE.try_with(|s| {
        let mut s = s.borrow_mut();
        if s.len() < SPARE_MAX {
            s.push(v);
        }
    });
}

/// A book's daily series of one kind, its values starting on a 64-byte boundary of the buffer,
/// so that each group's day ([`GROUP`] values) is exactly one cache line (what
/// [`put_line`] streams). Reads and writes go through the slice it dereferences to.
#[derive(Debug, Default)]
struct SeriesBuf {
    buf: Vec<f64>,
    /// First value's index in `buf` (0..8).
    off: usize,
    len: usize,
}

impl SeriesBuf {
    /// A series of `len` values (stale ones from a spare buffer, see [`take_series`]).
    fn new(len: usize) -> SeriesBuf {
        if len == 0 {
            return SeriesBuf::default();
        }
        let buf = take_series(len + GROUP - 1);
        let off = (64 - buf.as_ptr() as usize % 64) % 64 / std::mem::size_of::<f64>();
        SeriesBuf { buf, off, len }
    }
}

impl Clone for SeriesBuf {
    /// A copy of the values, aligned in its own buffer.
    fn clone(&self) -> SeriesBuf {
        let mut c = SeriesBuf::new(self.len);
        c.copy_from_slice(self);
        c
    }
}

impl std::ops::Deref for SeriesBuf {
    type Target = [f64];
    fn deref(&self) -> &[f64] {
        &self.buf[self.off..self.off + self.len]
    }
}

impl std::ops::DerefMut for SeriesBuf {
    fn deref_mut(&mut self) -> &mut [f64] {
        &mut self.buf[self.off..self.off + self.len]
    }
}

impl Drop for SeriesBuf {
    fn drop(&mut self) {
        give_series(std::mem::take(&mut self.buf));
    }
}

/// Writes a group's day (`v`) into its slots `dst`, not written before in the run, with
/// streaming stores when `dst` is one cache line (the usual case): the line goes to memory
/// without first being read from it, as a plain store would (most of a levered GPU-cloud run's
/// memory traffic was those reads: 256 lanes' series are 22 MB, read again only by the IRRs).
/// The values are the same; a later read on this thread sees them.
#[inline(always)]
fn put_line(dst: &mut [f64; GROUP], v: &[f64; GROUP]) {
    #[cfg(target_arch = "x86_64")]
    if (dst.as_ptr() as usize).is_multiple_of(64) {
        use std::arch::x86_64::{_mm_loadu_pd, _mm_stream_pd};
        // SAFETY: SSE2 is part of x86-64; `dst` is 64-byte aligned (checked), so each of the
        // four 16-byte streaming stores is aligned and inside `dst`; the loads read `v`.
        unsafe {
            let (d, s) = (dst.as_mut_ptr(), v.as_ptr());
            for h in 0..GROUP / 2 {
                _mm_stream_pd(d.add(2 * h), _mm_loadu_pd(s.add(2 * h)));
            }
        }
        return;
    }
    *dst = *v;
}

/// Orders this thread's streaming stores ([`put_line`]) before its later stores (for another
/// thread that reads a book after this one; this thread's own reads see them anyway).
#[inline(always)]
fn fence_lines() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: SSE is part of x86-64.
    unsafe {
        std::arch::x86_64::_mm_sfence()
    };
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
                    self.acc *= powi(1.0 + i, (t - last) as i32);
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

    /// A day after the ready day on which nothing is drawn, for a caller that needs the debt
    /// service only: [`Loan::day`]'s payments (the same `q`, the same balances after), without
    /// the DSCR's books.
    #[inline]
    fn repay(&mut self, i: f64) -> f64 {
        let mut q = 0.0;
        if let Some(m) = &mut self.main {
            q += m.pay(i);
        }
        for e in &mut self.extra {
            q += e.pay(i);
        }
        q
    }

    /// Days `from .. w.len()`, all after the ready day and without a draw, for a caller that
    /// needs only their discounted debt service: returns `pv` after `pv += (0 − q_t) · w[t]` for
    /// each day, and leaves the loan as [`Loan::service`] on each of those days would, with the
    /// same bits (the same operations in the same order; the term loan's state in registers, and
    /// no look at a day after the last payment, whose `+0` changes nothing but a `−0` sum).
    pub fn repay_pv(&mut self, i: f64, from: usize, w: &[f64], mut pv: f64) -> f64 {
        let (Some(m), true) = (self.main.as_mut(), self.extra.is_empty()) else {
            for &wt in w.iter().skip(from) {
                let q = self.repay(i);
                pv += (0.0 - q) * wt;
            }
            return pv;
        };
        debug_assert!(from > self.ready);
        let (mut bal, mut left) = (m.bal, m.left);
        // `Loan::repay`'s `0 + q` and the caller's `0 − q`, the same every paying day.
        let nq = 0.0 - (0.0 + m.q);
        let g = 1.0 + i;
        let end = w.len().max(from);
        let paying = end.min(from + left);
        if left > 0 && paying == from + left {
            // The last payment inside: its day sets the balance to 0 whatever it was, so the
            // balances before it are not computed (a serial chain twice the sum's).
            for &wt in &w[from..paying] {
                pv += nq * wt;
            }
            (bal, left) = (0.0, 0);
        } else {
            for &wt in &w[from..paying] {
                left -= 1;
                bal = if left == 0 { 0.0 } else { bal * g - m.q };
                pv += nq * wt;
            }
        }
        if paying < end {
            // The days after the last payment: `pv += (0 − (0 + 0)) · w`, i.e. `pv + 0`.
            pv += 0.0;
        }
        (m.bal, m.left) = (bal, left);
        pv
    }

    /// [`Loan::day`] for a caller that needs the debt service only (not the DSCR): the same `q`
    /// and the same balances after; a day after the ready day without a draw pays the loans
    /// ([`Loan::repay`]) and skips the loan year's books.
    #[inline]
    pub fn service(&mut self, terms: &DebtTerms, t: usize, draw: f64) -> f64 {
        if t > self.ready && draw == 0.0 {
            self.repay(terms.i)
        } else {
            self.day(terms, t, draw, 0.0)
        }
    }

    /// What is owed at the start of day `N` (repaid on day `N`): the construction balance
    /// compounded to `N` if the ready day is not before `N`, else the balances left after the
    /// payments of the days before `N`.
    pub fn owed_at_horizon(&self, terms: &DebtTerms) -> f64 {
        let extra: f64 = self.extra.iter().map(|e| e.bal).sum();
        match (&self.main, self.last) {
            (Some(m), _) => m.bal + extra,
            (None, Some(last)) => {
                self.acc * powi(1.0 + terms.i, (terms.days - last) as i32) + extra
            }
            (None, None) => extra,
        }
    }
}

/// The loans of one conversion on every lane of a block: [`Loan`]'s state as arrays per lane,
/// so that a day of the common case (every lane past its ready day, no draw, no refresh loan)
/// runs as one branch-free lane loop ([`EquityBook::project_day`]); any other day runs
/// [`Loans::day`], [`Loan::day`] on these arrays. Both perform [`Loan::day`]'s operations in
/// its order, so the numbers are the same (a test holds them to it bit for bit).
#[derive(Debug, Clone)]
struct Loans {
    ready: Vec<usize>,
    /// Largest ready day of the lanes (`None`: not known since the last `set_ready`).
    max_ready: Option<usize>,
    acc: Vec<f64>,
    /// Last day of a draw, [`NO_DRAW`] before the first.
    last: Vec<usize>,
    /// Whether the term loan exists (from the ready day on).
    has_main: Vec<bool>,
    /// The term loan: balance, level payment and payments left (an integer in an `f64`, so
    /// the lane loop has one type).
    bal: Vec<f64>,
    pay: Vec<f64>,
    left: Vec<f64>,
    /// Loans of draws after the ready day (GPU refreshes), and how many lanes have any.
    extra: Vec<Vec<Tranche>>,
    extra_lanes: usize,
    /// The loan year in progress: operating cash, debt service, days (integers in `f64`) and its
    /// first day counted from the ready day.
    year_num: Vec<f64>,
    year_den: Vec<f64>,
    year_day: Vec<f64>,
    year_start: Vec<f64>,
    dscr_min: Vec<f64>,
}

/// [`Loans`]'s `last` before the first draw.
const NO_DRAW: usize = usize::MAX;

impl Loans {
    fn new(lanes: usize) -> Loans {
        let z = vec![0.0; lanes];
        Loans {
            ready: vec![usize::MAX; lanes],
            max_ready: None,
            acc: z.clone(),
            last: vec![NO_DRAW; lanes],
            has_main: vec![false; lanes],
            bal: z.clone(),
            pay: z.clone(),
            left: z.clone(),
            extra: vec![Vec::new(); lanes],
            extra_lanes: 0,
            year_num: z.clone(),
            year_den: z.clone(),
            year_day: z.clone(),
            year_start: z,
            dscr_min: vec![f64::INFINITY; lanes],
        }
    }

    /// [`Loan::day`] on lane `l`.
    #[inline(always)]
    fn day(&mut self, l: usize, terms: &DebtTerms, t: usize, draw: f64, opcash: f64) -> f64 {
        let i = terms.i;
        let ready = self.ready[l];
        if t <= ready {
            if draw != 0.0 || t == ready {
                if self.last[l] != NO_DRAW {
                    self.acc[l] *= powi(1.0 + i, (t - self.last[l]) as i32);
                }
                self.acc[l] += draw;
                self.last[l] = t;
            }
            if t == ready {
                self.has_main[l] = true;
                self.bal[l] = self.acc[l];
                self.pay[l] = terms.payment(self.acc[l]);
                self.left[l] = terms.n as f64;
            }
        } else if draw != 0.0 {
            if self.extra[l].is_empty() {
                self.extra_lanes += 1;
            }
            self.extra[l].push(Tranche {
                bal: draw,
                q: terms.payment(draw),
                left: terms.n,
            });
        }
        let mut q = 0.0;
        if self.has_main[l] {
            q += main_pay(&mut self.bal[l], self.pay[l], &mut self.left[l], i);
        }
        for e in &mut self.extra[l] {
            q += e.pay(i);
        }
        if t >= ready {
            let (num, den, yd) = (
                self.year_num[l] + opcash,
                self.year_den[l] + q,
                self.year_day[l] + 1.0,
            );
            self.year_end(l, terms, num, den, yd);
        }
        q
    }

    /// Books the loan year's running sums of lane `l` (`yd` days so far), closing the year on
    /// its 365th day (see [`Loan::day`]).
    #[inline(always)]
    fn year_end(&mut self, l: usize, terms: &DebtTerms, num: f64, den: f64, yd: f64) {
        let (ys, dm) = (&mut self.year_start[l], &mut self.dscr_min[l]);
        (self.year_num[l], self.year_den[l], self.year_day[l]) =
            close_year(num, den, yd, ys, dm, terms.n as f64);
    }

    /// [`Loan::owed_at_horizon`] of lane `l`.
    fn owed_at_horizon(&self, l: usize, terms: &DebtTerms) -> f64 {
        self.owed_with(l, terms, self.bal[l])
    }

    /// [`Loans::owed_at_horizon`] with the term loan's balance `bal` (a replayed lane's).
    fn owed_with(&self, l: usize, terms: &DebtTerms, bal: f64) -> f64 {
        let extra: f64 = self.extra[l].iter().map(|e| e.bal).sum();
        if self.has_main[l] {
            bal + extra
        } else if self.last[l] != NO_DRAW {
            self.acc[l] * powi(1.0 + terms.i, (terms.days - self.last[l]) as i32) + extra
        } else {
            extra
        }
    }
}

/// [`EquityBook::quiet_lane_days`]'s days of one lane: `terms`, the days `from .. n` (`span`),
/// the lane's first slot in the group-interleaved series (`base`) and its equity NPV so far.
struct QuietLane<'a> {
    terms: &'a DebtTerms,
    span: (usize, usize),
    base: usize,
    npv: f64,
}

impl QuietLane<'_> {
    /// The days with any number of conversions (states `st`, operating cash `ops` from `from`
    /// on); returns the lane's equity NPV.
    fn days(self, st: &mut [[f64; 9]], ops: &[&[f64]], (ai_s, eq_s): Series<'_>) -> f64 {
        let (from, n) = self.span;
        let mut npv = self.npv;
        for t in from..n {
            let at = self.base + t * GROUP;
            for (s, op) in st.iter_mut().zip(ops) {
                let (ai, eq) = quiet_day(s, op[t - from], self.terms);
                npv += eq * self.terms.w_eq[t];
                ai_s[at] += ai;
                eq_s[at] += eq;
            }
        }
        npv
    }

    /// [`QuietLane::days`] for exactly `N` conversions, their states in a local array that the
    /// compiler keeps in registers (the same operations in the same order).
    #[inline(never)]
    fn days_n<const N: usize>(
        self,
        st: &mut [[f64; 9]],
        ops: &[&[f64]],
        (ai_s, eq_s): Series<'_>,
    ) -> f64 {
        let (from, n) = self.span;
        let mut reg: [[f64; 9]; N] = std::array::from_fn(|x| st[x]);
        let ops: [&[f64]; N] = std::array::from_fn(|x| &ops[x][..n - from]);
        let mut npv = self.npv;
        for t in from..n {
            let at = self.base + t * GROUP;
            let w = self.terms.w_eq[t];
            // The day's slots in registers across the conversions (the same sums in order).
            let (mut a, mut e) = (ai_s[at], eq_s[at]);
            for x in 0..N {
                let (ai, eq) = quiet_day(&mut reg[x], ops[x][t - from], self.terms);
                npv += eq * w;
                a += ai;
                e += eq;
            }
            (ai_s[at], eq_s[at]) = (a, e);
        }
        st[..N].copy_from_slice(&reg);
        npv
    }
}

/// The AI and equity series a [`QuietLane`] lane adds to.
type Series<'a> = (&'a mut [f64], &'a mut [f64]);

/// One quiet day of one conversion (state `[balance, payment, payments left, has a term loan,
/// the loan year's numerator, denominator, day, start, smallest DSCR]`, operating cash
/// `opcash`): `Loans::day`'s term loan payment and loan year, then `lane_day`'s cash with no
/// capex and no draw. Returns the day's AI and equity cash. The balance is left as it is: no
/// payment depends on it, and [`quiet_balance`] gives it after the days.
#[inline(always)]
fn quiet_day(s: &mut [f64; 9], opcash: f64, terms: &DebtTerms) -> (f64, f64) {
    let [_, pay, left, main, ynum, yden, yday, ystart, dmin] = s;
    // `Loans::day`: the term loan's payment, then the loan year.
    let mut q = 0.0;
    if *main != 0.0 {
        q += main_pay_due(*pay, left);
    }
    let (num, den, yd) = (*ynum + opcash, *yden + q, *yday + 1.0);
    (*ynum, *yden, *yday) = close_year(num, den, yd, ystart, dmin, terms.n as f64);
    // `lane_day` and the series: the draw of a day without capex is `ltc ·` a fundable 0.
    let ai = opcash - 0.0;
    let eq = ai + terms.ltc * 0.0 - q;
    (ai, eq)
}

/// A loan year's books after a day (`num`, `den`: operating cash and debt service so far, `yd`
/// days): on its 365th day the year's DSCR counts towards `dmin` (a year that starts before the
/// last payment, with debt service) and the next year starts at `ystart + 365`; returns the
/// running `(num, den, yd)` to keep.
#[inline(always)]
fn close_year(
    num: f64,
    den: f64,
    yd: f64,
    ystart: &mut f64,
    dmin: &mut f64,
    nf: f64,
) -> (f64, f64, f64) {
    let end = yd == 365.0;
    let counted = end && *ystart < nf && den > 0.0;
    let ratio = num / den;
    *dmin = if counted { dmin.min(ratio) } else { *dmin };
    *ystart += if end { 365.0 } else { 0.0 };
    if end {
        (0.0, 0.0, 0.0)
    } else {
        (num, den, yd)
    }
}

/// The term loan's balance after `days` quiet days ([`quiet_day`]) from the state `st`: what
/// [`main_pay`] would leave each day, with the same operations. Unchanged without a term loan or
/// with no payment left; 0 when the last payment falls inside (its day sets it to 0 whatever
/// it was, so the balances before are not computed); else `days` steps `b (1 + i) − q`.
fn quiet_balance(st: &[f64; 9], i: f64, days: usize) -> f64 {
    let [bal, pay, left, main, ..] = *st;
    if main == 0.0 || left <= 0.0 {
        return bal;
    }
    if left <= days as f64 {
        return 0.0;
    }
    let mut b = bal;
    for _ in 0..days {
        b = b * (1.0 + i) - pay;
    }
    b
}

/// [`main_pay`]'s payment and payments left, without the balance (see [`quiet_balance`]).
#[inline(always)]
fn main_pay_due(q: f64, left: &mut f64) -> f64 {
    let live = *left > 0.0;
    *left = if live { *left - 1.0 } else { *left };
    if live {
        q
    } else {
        0.0
    }
}

/// [`Tranche::pay`] on a term loan held as `bal`, `q` and `left` (payments left, an integer in an
/// `f64`), branch-free: returns the day's payment.
#[inline(always)]
fn main_pay(bal: &mut f64, q: f64, left: &mut f64, i: f64) -> f64 {
    let live = *left > 0.0;
    // The payment and the count (`left` is now the payments left after today).
    let due = main_pay_due(q, left);
    let paid = if *left == 0.0 {
        0.0
    } else {
        *bal * (1.0 + i) - q
    };
    *bal = if live { paid } else { *bal };
    due
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

/// One conversion's day on every lane of a block, as [`EquityBook::project_day`] takes it.
#[derive(Debug, Clone, Copy)]
pub struct ProjectDay<'a> {
    /// All capex of the day per lane (hall; cloud: GPU purchases too).
    pub capex: &'a [f64],
    /// The GPU purchases within `capex` (cloud); `None`: none.
    pub gpu: Option<&'a [f64]>,
    /// Operating cash per lane: rent × NOI (cloud: revenue − costs).
    pub opcash: &'a [f64],
    /// BTC view (MODEL.md §11): each lane's price of the day; `None` in USD.
    pub s: Option<&'a [f64]>,
    /// The conversion is a lease whose capex is over on every lane (`AiBook::settled_lease`)
    /// and the book's only conversion: its cash from a quiet day on can be replayed at the end
    /// ([`EquityBook::finish_with`]) instead of stored (in BTC, with the day's prices `s`
    /// stored for it).
    pub settled: bool,
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

/// A quiet day of one conversion (every lane repaying its term loan, nothing drawn): the loans'
/// and the equity book's per-lane arrays it updates, and the day's inputs
/// ([`EquityBook::project_day`]).
struct Quiet<'a> {
    bal: &'a mut [f64],
    pay: &'a [f64],
    left: &'a mut [f64],
    ynum: &'a mut [f64],
    yden: &'a mut [f64],
    yday: &'a mut [f64],
    ystart: &'a mut [f64],
    dmin: &'a mut [f64],
    eq_npv: &'a mut [f64],
    capex: &'a [f64],
    opcash: &'a [f64],
    /// The GPU purchases within `capex` the lender does not fund (`None`: all of it is fundable).
    unfunded: Option<&'a [f64]>,
    /// BTC view: the day's prices (`None` in USD), the book's tail cash and last prices.
    s: Option<&'a [f64]>,
    btc_tail: &'a mut [f64],
    s_last: &'a mut [f64],
    ltc: f64,
    i: f64,
    nf: f64,
    /// The day's equity weight.
    w: f64,
    /// The day counts in the BTC view's terminal value; it is day `N − 1`.
    tail: bool,
    last_day: bool,
}

impl Quiet<'_> {
    /// The quiet day on every lane: the day's AI and equity cash of each lane into `ai` and `eq`
    /// (as many as the lanes), the loans, loan years and equity NPV updated. Per lane the
    /// operations of [`Loan::day`] (`main_pay`, the loan year) and [`EquityBook::lane_day`] (the
    /// cash, the BTC view, the equity NPV) in their order, so the same bits; written as loops
    /// over whole lane arrays with selects instead of branches, so that they vectorize (a lane
    /// at a time with a bounds check per array, this was most of a levered run's time).
    #[inline(always)]
    fn run(&mut self, ai: &mut [f64], eq: &mut [f64]) {
        let n = ai.len();
        let (ai, eq) = (&mut ai[..n], &mut eq[..n]);
        let (capex, opcash) = (&self.capex[..n], &self.opcash[..n]);
        let (bal, pay, left) = (&mut self.bal[..n], &self.pay[..n], &mut self.left[..n]);
        let (ynum, yden) = (&mut self.ynum[..n], &mut self.yden[..n]);
        let (yday, ystart) = (&mut self.yday[..n], &mut self.ystart[..n]);
        let dmin = &mut self.dmin[..n];
        // The draw: `ltc ·` the fundable capex (without unfunded GPUs).
        match self.unfunded {
            Some(g) => {
                let g = &g[..n];
                for l in 0..n {
                    eq[l] = self.ltc * (capex[l] - g[l]);
                }
            }
            None => {
                for l in 0..n {
                    eq[l] = self.ltc * capex[l];
                }
            }
        }
        let (i, nf) = (self.i, self.nf);
        for l in 0..n {
            // `main_pay`, with both sides of each choice computed.
            let (b, lf, p) = (bal[l], left[l], pay[l]);
            let live = lf > 0.0;
            let next = if live { lf - 1.0 } else { lf };
            let grown = b * (1.0 + i) - p;
            let paid = if next == 0.0 { 0.0 } else { grown };
            bal[l] = if live { paid } else { b };
            left[l] = next;
            let q = 0.0 + if live { p } else { 0.0 };
            let (num, den, yd) = (ynum[l] + opcash[l], yden[l] + q, yday[l] + 1.0);
            let end = yd == 365.0;
            // `&`, not `&&`: no branch (the operands have no side effects).
            let counted = end & (ystart[l] < nf) & (den > 0.0);
            let ratio = num / den;
            dmin[l] = if counted { dmin[l].min(ratio) } else { dmin[l] };
            ynum[l] = if end { 0.0 } else { num };
            yden[l] = if end { 0.0 } else { den };
            yday[l] = if end { 0.0 } else { yd };
            ystart[l] += if end { 365.0 } else { 0.0 };
            let a = opcash[l] - capex[l];
            ai[l] = a;
            eq[l] = a + eq[l] - q;
        }
        if let Some(s) = self.s {
            // MODEL.md §11 (see `EquityBook::lane_day`).
            let s = &s[..n];
            if self.tail {
                let bt = &mut self.btc_tail[..n];
                for l in 0..n {
                    bt[l] += ai[l];
                }
            }
            if self.last_day {
                self.s_last[..n].copy_from_slice(s);
            }
            for l in 0..n {
                ai[l] /= s[l];
                eq[l] /= s[l];
            }
        }
        let en = &mut self.eq_npv[..n];
        for l in 0..n {
            en[l] += eq[l] * self.w;
        }
    }
}

/// The state of a group of lanes through the replayed days ([`replay_tail`]): the term loan
/// ([`Loans`]'s `bal`, `pay`, `left`), the loan year in progress and the smallest DSCR, and the
/// equity NPV so far.
#[derive(Clone, Copy)]
struct Tail {
    bal: [f64; GROUP],
    pay: [f64; GROUP],
    left: [f64; GROUP],
    ynum: [f64; GROUP],
    yden: [f64; GROUP],
    yday: [f64; GROUP],
    ystart: [f64; GROUP],
    dmin: [f64; GROUP],
    en: [f64; GROUP],
}

/// What [`replay_tail`] needs of the run: the days (`N`, the first replayed), the equity
/// weights, the daily loan rate, the payments per loan and the loan-to-cost.
struct TailTerms<'a> {
    n: usize,
    from: usize,
    w: &'a [f64],
    /// BTC view: the group's prices of days `from .. N`, day-major (empty in USD).
    s: &'a [f64],
    i: f64,
    nf: f64,
    ltc: f64,
}

/// Days `from .. N` of a group of lanes of a settled lease: each lane's row of `ra` (rows of
/// `N + 1`, lane-major) holds its operating cash of those days and gets its AI cash; `re` gets
/// the equity cash. Per lane and day exactly [`Quiet::run`]'s operations with capex `+0` (so no
/// draw), in its order: the same bits. A day of the group is one pass over [`GROUP`] lanes with
/// the state in registers (day-by-day over a whole block it was loads and stores of a dozen
/// arrays per lane and day).
///
/// `BTC` (MODEL.md §11): `k.s` holds the group's prices of days `from .. N`, day-major (a day's
/// [`GROUP`] prices together); each day's cash is divided by its lane's price after the AI
/// cash of the last 365 days is added to `btc.0` (in USD), and `btc.1` gets the prices of day
/// `N − 1`, as [`Quiet::run`] does.
#[inline(always)]
fn replay_tail<const BTC: bool>(
    st: &mut Tail,
    btc: &mut ([f64; GROUP], [f64; GROUP]),
    ra: &mut [f64],
    re: &mut [f64],
    k: &TailTerms<'_>,
) {
    let (n, from) = (k.n, k.from);
    let len = n - from;
    let stride = n + 1;
    let (ra, re) = (&mut ra[..GROUP * stride], &mut re[..GROUP * stride]);
    let w = &k.w[from..n];
    let prices = if BTC { &k.s[..len * GROUP] } else { &[][..] };
    let (i, nf) = (k.i, k.nf);
    // The day's capex is +0 (a settled lease), so is the draw.
    let capex = 0.0f64;
    let draw = k.ltc * capex;
    let mut s = *st;
    let (mut bt, mut s_last) = *btc;
    for j in 0..len {
        let wt = w[j];
        let mut o = [0.0f64; GROUP];
        for l in 0..GROUP {
            o[l] = ra[l * stride + from + j];
        }
        let mut ai = [0.0f64; GROUP];
        let mut eq = [0.0f64; GROUP];
        let mut ends = false;
        for l in 0..GROUP {
            // `Quiet::run`'s operations: the term loan's day (`main_pay`, both sides of each
            // choice computed, as there: selects the compiler keeps in vector registers; with
            // `main_pay`'s references into the state, the state went through the stack and its
            // reload waited on its stores), then the loan year's sums.
            let (b, lf, p) = (s.bal[l], s.left[l], s.pay[l]);
            let live = lf > 0.0;
            let next = if live { lf - 1.0 } else { lf };
            let grown = b * (1.0 + i) - p;
            let paid = if next == 0.0 { 0.0 } else { grown };
            s.bal[l] = if live { paid } else { b };
            s.left[l] = next;
            let q = 0.0 + if live { p } else { 0.0 };
            let (num, den, yd) = (s.ynum[l] + o[l], s.yden[l] + q, s.yday[l] + 1.0);
            (s.ynum[l], s.yden[l], s.yday[l]) = (num, den, yd);
            ends |= yd == 365.0;
            let a = o[l] - capex;
            ai[l] = a;
            eq[l] = a + draw - q;
            if !BTC {
                s.en[l] += eq[l] * wt;
            }
        }
        if BTC {
            // `Quiet::run`'s BTC steps (its `tail` and `last_day` of the day), as whole-group
            // loops: inside the loop above, the choices made it scalar.
            let p: &[f64; GROUP] = prices[j * GROUP..j * GROUP + GROUP]
                .try_into()
                .expect("a day of the group's prices");
            if from + j + 365 >= n {
                for l in 0..GROUP {
                    bt[l] += ai[l];
                }
            }
            if from + j + 1 == n {
                s_last = *p;
            }
            for l in 0..GROUP {
                ai[l] /= p[l];
                eq[l] /= p[l];
                s.en[l] += eq[l] * wt;
            }
        }
        if ends {
            // A loan year ends on some lane (one day in 365): its DSCR, and the next year
            // (the division only then; `close_year`'s operations on the same values, as
            // selects).
            for l in 0..GROUP {
                let (num, den, yd) = (s.ynum[l], s.yden[l], s.yday[l]);
                let end = yd == 365.0;
                let counted = end & (s.ystart[l] < nf) & (den > 0.0);
                let ratio = num / den;
                s.dmin[l] = if counted {
                    s.dmin[l].min(ratio)
                } else {
                    s.dmin[l]
                };
                s.ystart[l] += if end { 365.0 } else { 0.0 };
                s.ynum[l] = if end { 0.0 } else { num };
                s.yden[l] = if end { 0.0 } else { den };
                s.yday[l] = if end { 0.0 } else { yd };
            }
        }
        for l in 0..GROUP {
            // The series' slots: zeroed, then the day's cash added.
            ra[l * stride + from + j] = 0.0 + ai[l];
            re[l * stride + from + j] = 0.0 + eq[l];
        }
    }
    *st = s;
    *btc = (bt, s_last);
}

/// [`replay_tail`] on AVX-512: its operations per lane and day, in its order (the same bits),
/// written with intrinsics ([`replay_day_avx512`]) so that the group's state stays in registers,
/// eight days at a time through [`transpose8`] (one load and one store per lane and series).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx512dq,avx2,fma")]
unsafe fn replay_tail_avx512<const BTC: bool>(
    st: &mut Tail,
    btc: &mut ([f64; GROUP], [f64; GROUP]),
    ra: &mut [f64],
    re: &mut [f64],
    k: &TailTerms<'_>,
) {
    use std::arch::x86_64::*;
    let (n, from) = (k.n, k.from);
    let len = n - from;
    let stride = n + 1;
    assert!(
        ra.len() >= GROUP * stride && re.len() >= GROUP * stride && k.w.len() >= n,
        "the group's rows and the days' weights"
    );
    assert!(!BTC || k.s.len() >= len * GROUP, "the group's prices");
    let (zero, one) = (_mm512_setzero_pd(), _mm512_set1_pd(1.0));
    let ld = |a: &[f64; GROUP]| _mm512_loadu_pd(a.as_ptr());
    let mut v = TailV {
        bal: ld(&st.bal),
        pay: ld(&st.pay),
        left: ld(&st.left),
        ynum: ld(&st.ynum),
        yden: ld(&st.yden),
        yday: ld(&st.yday),
        en: ld(&st.en),
        bt: ld(&btc.0),
        s_last: ld(&btc.1),
        zero,
        one,
        gi: _mm512_set1_pd(1.0 + k.i),
        draw: _mm512_set1_pd(k.ltc * 0.0),
        d365: _mm512_set1_pd(365.0),
    };
    let (ra, re) = (ra.as_mut_ptr(), re.as_mut_ptr());
    let mut j = 0;
    // Eight days at a time: each lane's eight days one load and one store per series, turned
    // into the days' lane vectors and back by an 8 × 8 transpose.
    while j + 8 <= len {
        let at = from + j;
        // SAFETY: `rows[l · stride + at ..][..8]` with `at + 8 <= n < stride`, inside by the
        // assertion above.
        let od = transpose8(std::array::from_fn(|l| unsafe {
            _mm512_loadu_pd(ra.add(l * stride + at))
        }));
        let mut ad = [zero; 8];
        let mut ed = [zero; 8];
        for d in 0..8 {
            // SAFETY: this function runs only where the CPU has AVX-512 F and DQ.
            (ad[d], ed[d]) = unsafe { replay_day_avx512::<BTC>(&mut v, st, od[d], j + d, k) };
        }
        let (ad, ed) = (transpose8(ad), transpose8(ed));
        for l in 0..GROUP {
            // SAFETY: as for the loads.
            unsafe {
                _mm512_storeu_pd(ra.add(l * stride + at), ad[l]);
                _mm512_storeu_pd(re.add(l * stride + at), ed[l]);
            }
        }
        j += 8;
    }
    while j < len {
        let at = from + j;
        // SAFETY: `rows[l · stride + at]`, `at < n`: inside.
        let o: [f64; GROUP] = std::array::from_fn(|l| unsafe { *ra.add(l * stride + at) });
        // SAFETY: as above; the load reads the local `o`.
        let (a, e) =
            unsafe { replay_day_avx512::<BTC>(&mut v, st, _mm512_loadu_pd(o.as_ptr()), j, k) };
        let (mut oa, mut oe) = ([0.0f64; GROUP], [0.0f64; GROUP]);
        _mm512_storeu_pd(oa.as_mut_ptr(), a);
        _mm512_storeu_pd(oe.as_mut_ptr(), e);
        for l in 0..GROUP {
            // SAFETY: as for the loads.
            unsafe {
                *ra.add(l * stride + at) = oa[l];
                *re.add(l * stride + at) = oe[l];
            }
        }
        j += 1;
    }
    let sv = |a: &mut [f64; GROUP], x: __m512d| _mm512_storeu_pd(a.as_mut_ptr(), x);
    sv(&mut st.bal, v.bal);
    sv(&mut st.left, v.left);
    sv(&mut st.ynum, v.ynum);
    sv(&mut st.yden, v.yden);
    sv(&mut st.yday, v.yday);
    sv(&mut st.en, v.en);
    sv(&mut btc.0, v.bt);
    sv(&mut btc.1, v.s_last);
}

/// [`replay_tail`]'s state of a group's lanes in AVX-512 registers (`Tail`'s vectors that change
/// every day; `ystart` and `dmin` change once a loan year and stay in the `Tail`), with the
/// constants of its day.
#[cfg(target_arch = "x86_64")]
#[derive(Clone, Copy)]
struct TailV {
    bal: std::arch::x86_64::__m512d,
    pay: std::arch::x86_64::__m512d,
    left: std::arch::x86_64::__m512d,
    ynum: std::arch::x86_64::__m512d,
    yden: std::arch::x86_64::__m512d,
    yday: std::arch::x86_64::__m512d,
    en: std::arch::x86_64::__m512d,
    bt: std::arch::x86_64::__m512d,
    s_last: std::arch::x86_64::__m512d,
    zero: std::arch::x86_64::__m512d,
    one: std::arch::x86_64::__m512d,
    /// `1 + i`, the draw (`ltc · 0`: a settled lease has no capex), 365.
    gi: std::arch::x86_64::__m512d,
    draw: std::arch::x86_64::__m512d,
    d365: std::arch::x86_64::__m512d,
}

/// [`replay_tail`]'s day `from + j` on the group's lanes (operating cash `o`) with AVX-512
/// instructions: per lane [`replay_tail`]'s operations in its order (compares, masked selects
/// and plain IEEE arithmetic), so the same bits; a loan year's end goes through `st` and the
/// portable code (one day in 365). Returns the day's series values (AI, equity).
///
/// # Safety
///
/// Only where the CPU has AVX-512 F and DQ; always inlined into [`replay_tail_avx512`], which
/// is compiled for them (a call of its own, with the state through memory, was slower than the
/// portable loop).
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn replay_day_avx512<const BTC: bool>(
    v: &mut TailV,
    st: &mut Tail,
    o: std::arch::x86_64::__m512d,
    j: usize,
    k: &TailTerms<'_>,
) -> (std::arch::x86_64::__m512d, std::arch::x86_64::__m512d) {
    use std::arch::x86_64::*;
    let (n, from) = (k.n, k.from);
    let z = v.zero;
    let wt = _mm512_set1_pd(k.w[from + j]);
    // `main_pay` (as `Quiet::run` writes it): live = left > 0, the count, the balance.
    let live = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(v.left, z);
    let next = _mm512_mask_sub_pd(v.left, live, v.left, v.one);
    let grown = _mm512_sub_pd(_mm512_mul_pd(v.bal, v.gi), v.pay);
    let last = _mm512_cmp_pd_mask::<_CMP_EQ_OQ>(next, z);
    let paid = _mm512_mask_blend_pd(last, grown, z);
    v.bal = _mm512_mask_blend_pd(live, v.bal, paid);
    v.left = next;
    let q = _mm512_add_pd(z, _mm512_mask_blend_pd(live, z, v.pay));
    // The loan year's sums.
    v.ynum = _mm512_add_pd(v.ynum, o);
    v.yden = _mm512_add_pd(v.yden, q);
    v.yday = _mm512_add_pd(v.yday, v.one);
    let ends = _mm512_cmp_pd_mask::<_CMP_EQ_OQ>(v.yday, v.d365) != 0;
    // The cash: capex +0, the draw, the payment.
    let a = _mm512_sub_pd(o, z);
    let mut ai = a;
    let mut eq = _mm512_sub_pd(_mm512_add_pd(a, v.draw), q);
    if BTC {
        // SAFETY: `k.s` holds `len · GROUP` prices (asserted by the caller); day `j < len`.
        let p = unsafe { _mm512_loadu_pd(k.s.as_ptr().add(j * GROUP)) };
        if from + j + 365 >= n {
            v.bt = _mm512_add_pd(v.bt, ai);
        }
        if from + j + 1 == n {
            v.s_last = p;
        }
        ai = _mm512_div_pd(ai, p);
        eq = _mm512_div_pd(eq, p);
    }
    v.en = _mm512_add_pd(v.en, _mm512_mul_pd(eq, wt));
    if ends {
        // A loan year ends on some lane: `close_year` per lane, as `replay_tail`.
        let (mut num, mut den, mut yd) = ([0.0; GROUP], [0.0; GROUP], [0.0; GROUP]);
        // SAFETY: each store writes one local array of GROUP values.
        unsafe {
            _mm512_storeu_pd(num.as_mut_ptr(), v.ynum);
            _mm512_storeu_pd(den.as_mut_ptr(), v.yden);
            _mm512_storeu_pd(yd.as_mut_ptr(), v.yday);
        }
        for l in 0..GROUP {
            (num[l], den[l], yd[l]) = close_year(
                num[l],
                den[l],
                yd[l],
                &mut st.ystart[l],
                &mut st.dmin[l],
                k.nf,
            );
        }
        // SAFETY: each load reads one local array of GROUP values.
        unsafe {
            v.ynum = _mm512_loadu_pd(num.as_ptr());
            v.yden = _mm512_loadu_pd(den.as_ptr());
            v.yday = _mm512_loadu_pd(yd.as_ptr());
        }
    }
    (_mm512_add_pd(z, ai), _mm512_add_pd(z, eq))
}

/// One strategy's debt and equity accounts for a block of lanes.
#[derive(Debug, Clone)]
pub struct EquityBook {
    lanes: usize,
    days: usize,
    /// The loans of each conversion.
    loans: Vec<Loans>,
    /// Running equity NPV of the AI stream (days `< N`), per lane.
    eq_npv: Vec<f64>,
    /// Daily AI cash of days `0 .. N` in groups of [`GROUP`] lanes, day-major inside a group
    /// ([`EquityBook::at`]): the day's cash of a group of lanes is one cache line, written at
    /// once (lane-major rows would take a cache line per lane and day).
    ai_cash: SeriesBuf,
    /// Daily equity cash, same layout.
    eq_cash: SeriesBuf,
    /// Days `0 .. clean` of both series are zeroed or written ([`EquityBook::clean_to`]).
    clean: usize,
    /// The two series of one group of lanes, lane-major (`(lane % GROUP) · (N + 1) + t`, entry
    /// `N` gets the day-`N` terms), as the IRRs read them; `rows_group` is the group they hold.
    rows_ai: Vec<f64>,
    rows_eq: Vec<f64>,
    rows_group: usize,
    /// First day whose cash is not stored but replayed in [`EquityBook::finish_with`]
    /// (`usize::MAX`: every day stored): the first quiet day of a settled lease.
    replay_from: usize,
    /// Per lane after its replayed days ([`EquityBook::replay_group`]): the term loan's balance,
    /// the smallest DSCR and the equity NPV of days `< N` (empty until a group is replayed).
    tail: Vec<(f64, f64, f64)>,
    /// BTC view, per lane after its replayed days: `btc_tail` and `s_last` (empty until a group
    /// is replayed, and in USD).
    tail_btc: Vec<(f64, f64)>,
    /// A quiet day's AI and equity cash per lane ([`Quiet::run`]), before they go to the series.
    day_ai: Vec<f64>,
    day_eq: Vec<f64>,
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
        let (series, rows) = if conversions == 0 {
            (0, 0)
        } else {
            (lanes.next_multiple_of(GROUP) * days, GROUP * (days + 1))
        };
        let ai_cash = SeriesBuf::new(series);
        let eq_cash = SeriesBuf::new(series);
        EquityBook {
            lanes,
            days,
            loans: if lanes == 0 {
                Vec::new()
            } else {
                vec![Loans::new(lanes); conversions]
            },
            eq_npv: vec![0.0; lanes],
            ai_cash,
            eq_cash,
            clean: 0,
            rows_ai: vec![0.0; rows],
            rows_eq: vec![0.0; rows],
            rows_group: usize::MAX,
            replay_from: usize::MAX,
            tail: Vec::new(),
            tail_btc: Vec::new(),
            day_ai: vec![0.0; lanes],
            day_eq: vec![0.0; lanes],
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
        (lanes.next_multiple_of(GROUP) as u64 + GROUP as u64) * (days as u64 + 1) * 16
    }

    /// Zeroes both series' slots of days `clean ..= t` (every group), before day `t` is first
    /// written; days come in order, so each slot is zeroed once, just before its first write.
    #[inline(always)]
    fn clean_to(&mut self, t: usize) {
        if t < self.clean {
            return;
        }
        let days = self.days;
        if t == self.clean {
            // The usual case, one new day: a cache line of each series per group, as two
            // fixed-size stores (a `fill` here was a call of the C library's `memset` per line).
            for g in 0..self.lanes.div_ceil(GROUP) {
                let a = (g * days + t) * GROUP;
                self.ai_cash[a..a + GROUP].copy_from_slice(&[0.0; GROUP]);
                self.eq_cash[a..a + GROUP].copy_from_slice(&[0.0; GROUP]);
            }
        } else {
            for g in 0..self.lanes.div_ceil(GROUP) {
                let r = (g * days + self.clean) * GROUP..(g * days + t + 1) * GROUP;
                self.ai_cash[r.clone()].fill(0.0);
                self.eq_cash[r].fill(0.0);
            }
        }
        self.clean = t + 1;
    }

    /// BTC view: the prices of replayed day `t` (`t >= replay_from`) for the replay, in the AI
    /// series' slots of the day (a replayed day stores no cash; its slots are never zeroed:
    /// [`EquityBook::clean_to`] runs only on days before `replay_from`).
    #[inline(always)]
    fn put_prices(&mut self, t: usize, s: &[f64]) {
        debug_assert!(t >= self.replay_from && self.clean <= self.replay_from);
        let (lanes, days) = (self.lanes, self.days);
        for g in 0..lanes.div_ceil(GROUP) {
            let l0 = g * GROUP;
            let m = GROUP.min(lanes - l0);
            let at0 = (g * days + t) * GROUP;
            if m == GROUP {
                // A fixed-size copy (with a run-time length it was a call of `memmove`).
                let src: &[f64; GROUP] = s[l0..l0 + GROUP].try_into().expect("a group");
                self.ai_cash[at0..at0 + GROUP].copy_from_slice(src);
            } else {
                self.ai_cash[at0..at0 + m].copy_from_slice(&s[l0..l0 + m]);
            }
        }
    }

    /// Index of `lane`'s cash of day `t < N` in `ai_cash` and `eq_cash`.
    #[inline(always)]
    fn at(&self, lane: usize, t: usize) -> usize {
        (lane / GROUP * self.days + t) * GROUP + lane % GROUP
    }

    /// Sets the ready day `s_k` of conversion `k` on `lane` (before its first day).
    pub fn set_ready(&mut self, k: usize, lane: usize, ready: usize) {
        let loans = &mut self.loans[k];
        // A fresh loan on the lane (as `Loan::new(ready)`).
        loans.acc[lane] = 0.0;
        loans.last[lane] = NO_DRAW;
        loans.has_main[lane] = false;
        loans.bal[lane] = 0.0;
        loans.pay[lane] = 0.0;
        loans.left[lane] = 0.0;
        if !loans.extra[lane].is_empty() {
            loans.extra[lane].clear();
            loans.extra_lanes -= 1;
        }
        loans.year_num[lane] = 0.0;
        loans.year_den[lane] = 0.0;
        loans.year_day[lane] = 0.0;
        loans.year_start[lane] = 0.0;
        loans.dscr_min[lane] = f64::INFINITY;
        loans.ready[lane] = ready;
        loans.max_ready = None;
    }

    /// Day `t` of conversion `k` on `lane` (see [`DayCash`]). The conversion's AI cash of the
    /// day is `opcash − capex`; the lender draws `ltc · fundable`.
    #[inline(always)]
    pub fn conversion_day(
        &mut self,
        terms: &DebtTerms,
        k: usize,
        lane: usize,
        t: usize,
        c: DayCash,
        s: Option<f64>,
    ) {
        let (ai, eq) = self.lane_day(terms, k, lane, t, c, s);
        self.clean_to(t);
        let at = self.at(lane, t);
        self.ai_cash[at] += ai;
        self.eq_cash[at] += eq;
    }

    /// [`EquityBook::conversion_day`] in USD with conversion `k`'s loan on `lane` held as `loan`
    /// ([`EquityBook::take_loan`]; [`Loan::day`] performs [`Loans::day`]'s operations, so the
    /// same bits): for a caller that runs many days of one lane, the loan's state stays out of
    /// the arrays (whose loads and stores lengthened each day's serial chains).
    #[inline(always)]
    pub fn conversion_day_held(
        &mut self,
        loan: &mut Loan,
        terms: &DebtTerms,
        (lane, t): (usize, usize),
        c: DayCash,
    ) {
        let draw = terms.ltc * c.fundable;
        let q = loan.day(terms, t, draw, c.opcash);
        let (ai, eq) = self.lane_cash(terms, (lane, t), c, None, (draw, q));
        self.clean_to(t);
        let at = self.at(lane, t);
        self.ai_cash[at] += ai;
        self.eq_cash[at] += eq;
    }

    /// Conversion `k`'s loan on `lane` as a [`Loan`] (the same state), for
    /// [`EquityBook::conversion_day_held`]; give it back with [`EquityBook::put_loan`] before any
    /// other day of that conversion and lane.
    pub fn take_loan(&mut self, k: usize, lane: usize) -> Loan {
        let l = &mut self.loans[k];
        let extra = std::mem::take(&mut l.extra[lane]);
        if !extra.is_empty() {
            l.extra_lanes -= 1;
        }
        Loan {
            acc: l.acc[lane],
            last: (l.last[lane] != NO_DRAW).then_some(l.last[lane]),
            main: l.has_main[lane].then(|| Tranche {
                bal: l.bal[lane],
                q: l.pay[lane],
                left: l.left[lane] as usize,
            }),
            extra,
            ready: l.ready[lane],
            year_num: l.year_num[lane],
            year_den: l.year_den[lane],
            year_day: l.year_day[lane] as usize,
            year_start: l.year_start[lane] as usize,
            dscr_min: l.dscr_min[lane],
        }
    }

    /// Gives back a loan taken by [`EquityBook::take_loan`].
    pub fn put_loan(&mut self, k: usize, lane: usize, loan: Loan) {
        let l = &mut self.loans[k];
        debug_assert_eq!(loan.ready, l.ready[lane]);
        l.acc[lane] = loan.acc;
        l.last[lane] = loan.last.unwrap_or(NO_DRAW);
        if let Some(m) = loan.main {
            l.has_main[lane] = true;
            (l.bal[lane], l.pay[lane], l.left[lane]) = (m.bal, m.q, m.left as f64);
        }
        if !loan.extra.is_empty() {
            l.extra_lanes += 1;
        }
        l.extra[lane] = loan.extra;
        l.year_num[lane] = loan.year_num;
        l.year_den[lane] = loan.year_den;
        l.year_day[lane] = loan.year_day as f64;
        l.year_start[lane] = loan.year_start as f64;
        l.dscr_min[lane] = loan.dscr_min;
    }

    /// Days `from .. n` of `lane`'s conversions `convs` (`(k, opcash of days from .. n)`, in the
    /// order their days are taken) in USD, each day every conversion in turn: the operations of
    /// [`EquityBook::conversion_day`] with no capex and no draw, the conversions' term loans
    /// repaying (every ready day before `from`, no loan of a later draw), so the same bits, with
    /// the lane's loans and equity NPV in registers instead of arrays. For a caller that takes a
    /// lane's days one lane at a time (`optimal`'s policy equity on a lease).
    pub fn quiet_lane_days(
        &mut self,
        terms: &DebtTerms,
        lane: usize,
        (from, n): (usize, usize),
        convs: &[(usize, &[f64])],
    ) {
        if from >= n {
            return;
        }
        // Every day of every lane is zeroed once before it is first written (`clean_to`); here
        // all of them at once (no lane has written a day past `clean` yet). Not a book with
        // replayed days (whose BTC prices are kept in the slots of those days).
        debug_assert_eq!(self.replay_from, usize::MAX);
        self.clean_to(n - 1);
        let mut st: Vec<[f64; 9]> = convs
            .iter()
            .map(|&(k, _)| {
                let l = &self.loans[k];
                debug_assert!(l.ready[lane] < from && l.extra[lane].is_empty());
                [
                    l.bal[lane],
                    l.pay[lane],
                    l.left[lane],
                    if l.has_main[lane] { 1.0 } else { 0.0 },
                    l.year_num[lane],
                    l.year_den[lane],
                    l.year_day[lane],
                    l.year_start[lane],
                    l.dscr_min[lane],
                ]
            })
            .collect();
        let base = lane / GROUP * self.days * GROUP + lane % GROUP;
        let series = (&mut self.ai_cash[..], &mut self.eq_cash[..]);
        let ops: Vec<&[f64]> = convs.iter().map(|c| c.1).collect();
        // The balances after the days, from the states before (the days leave them alone).
        let bals: Vec<f64> = st
            .iter()
            .map(|s| quiet_balance(s, terms.i, n - from))
            .collect();
        let quiet = QuietLane {
            terms,
            span: (from, n),
            base,
            npv: self.eq_npv[lane],
        };
        // The usual one to four conversions of a lane with their states in registers: held in
        // a vector, each state went through memory every day, and the store-to-load latency
        // lengthened each day's serial chains (the loan balance, the loan year, the NPV).
        self.eq_npv[lane] = match st.len() {
            1 => quiet.days_n::<1>(&mut st, &ops, series),
            2 => quiet.days_n::<2>(&mut st, &ops, series),
            3 => quiet.days_n::<3>(&mut st, &ops, series),
            4 => quiet.days_n::<4>(&mut st, &ops, series),
            _ => quiet.days(&mut st, &ops, series),
        };
        for ((&(k, _), v), bal) in convs.iter().zip(&st).zip(bals) {
            let l = &mut self.loans[k];
            (l.bal[lane], l.left[lane]) = (bal, v[2]);
            (l.year_num[lane], l.year_den[lane], l.year_day[lane]) = (v[4], v[5], v[6]);
            (l.year_start[lane], l.dscr_min[lane]) = (v[7], v[8]);
        }
    }

    /// The loan's day and the equity NPV of `lane`; returns the day's AI and equity cash (in BTC
    /// in the BTC view) for the daily series.
    #[inline(always)]
    fn lane_day(
        &mut self,
        terms: &DebtTerms,
        k: usize,
        lane: usize,
        t: usize,
        c: DayCash,
        s: Option<f64>,
    ) -> (f64, f64) {
        let draw = terms.ltc * c.fundable;
        let q = self.loans[k].day(lane, terms, t, draw, c.opcash);
        self.lane_cash(terms, (lane, t), c, s, (draw, q))
    }

    /// [`EquityBook::lane_day`] after the loan's day (its draw and debt service `q`).
    #[inline(always)]
    fn lane_cash(
        &mut self,
        terms: &DebtTerms,
        (lane, t): (usize, usize),
        c: DayCash,
        s: Option<f64>,
        (draw, q): (f64, f64),
    ) -> (f64, f64) {
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
        self.eq_npv[lane] += eq * terms.w_eq[t];
        (ai, eq)
    }

    /// Day `t` of conversion `k` on every lane of the block, from the AI book's slices of the day
    /// (see [`ProjectDay`]). The lender funds `ltc` of the hall capex, and of the GPUs with
    /// `fund_gpus`. Days come in order (each conversion's days in order, every conversion of a
    /// day before the next day). Always inlined, so that it is compiled for the engine's
    /// instruction set with the AI book's day (`Prepared::run_block`).
    #[inline(always)]
    pub fn project_day(&mut self, terms: &DebtTerms, k: usize, t: usize, day: ProjectDay<'_>) {
        if t >= self.replay_from {
            // A settled lease's later days are run at the end, a group of lanes at a time
            // ([`EquityBook::finish_with`]); in BTC with the day's prices.
            if let Some(s) = day.s {
                self.put_prices(t, s);
            }
            return;
        }
        let lanes = self.lanes;
        let ltc = terms.ltc;
        let fundable = |l: usize| match day.gpu {
            Some(g) if !terms.fund_gpus => day.capex[l] - g[l],
            _ => day.capex[l],
        };
        let loans = &mut self.loans[k];
        let max_ready = *loans
            .max_ready
            .get_or_insert_with(|| loans.ready.iter().copied().max().unwrap_or(0));
        let quiet = t > max_ready
            && loans.extra_lanes == 0
            && (0..lanes).fold(true, |z, l| z & (ltc * fundable(l) == 0.0));
        if !quiet {
            // (`conversion_day` cleans the day's slots; a settled lease stays quiet, so no day
            // after `replay_from` comes here.)
            debug_assert!(t < self.replay_from, "a stored day after the replayed ones");
            for lane in 0..lanes {
                let c = DayCash {
                    capex: day.capex[lane],
                    fundable: fundable(lane),
                    opcash: day.opcash[lane],
                };
                self.conversion_day(terms, k, lane, t, c, day.s.map(|s| s[lane]));
            }
            return;
        }
        // Every lane is repaying its term loan with nothing drawn: `Loan::day`'s operations for
        // that case (`main_pay`, the loan year) and `lane_day`'s, branch-free, a group of lanes
        // (one cache line of each series) at a time, as fixed-size arrays (so that the group is
        // a few vector instructions: with run-time lane counts it was a scalar loop with a bounds
        // check per array and lane, most of a levered run's time).
        if day.settled && self.loans.len() == 1 {
            // From here on the cash is the lease's rent less the level payment: nothing more is
            // stored or stepped; these days are run at the end from the replayed rent, a group of
            // lanes at a time with the state in registers ([`replay_tail`]; the series were most
            // of the memory traffic, the per-day lane loops most of the rest).
            self.replay_from = t;
            if let Some(s) = day.s {
                self.put_prices(t, s);
            }
            return;
        }
        // A book with one conversion writes each day once: its slots need no zeroing, and the
        // day is streamed to memory ([`put_line`]; with several, each adds into the day).
        let fresh = self.loans.len() == 1 && t >= self.clean;
        if !fresh {
            self.clean_to(t);
        } else if t > self.clean {
            self.clean_to(t - 1);
        }
        let loans = &mut self.loans[k];
        let days = self.days;
        let mut qz = Quiet {
            bal: &mut loans.bal,
            pay: &loans.pay,
            left: &mut loans.left,
            ynum: &mut loans.year_num,
            yden: &mut loans.year_den,
            yday: &mut loans.year_day,
            ystart: &mut loans.year_start,
            dmin: &mut loans.dscr_min,
            eq_npv: &mut self.eq_npv,
            capex: day.capex,
            opcash: day.opcash,
            unfunded: day.gpu.filter(|_| !terms.fund_gpus),
            s: day.s,
            btc_tail: &mut self.btc_tail,
            s_last: &mut self.s_last,
            ltc,
            i: terms.i,
            nf: terms.n as f64,
            w: terms.w_eq[t],
            tail: t + 365 >= days,
            last_day: t + 1 == days,
        };
        let (ai, eq) = (&mut self.day_ai[..lanes], &mut self.day_eq[..lanes]);
        qz.run(ai, eq);
        self.store_day(t, fresh);
    }

    /// The quiet day `t`'s cash (`day_ai`, `day_eq`) into the series, a group of lanes (one cache
    /// line of each) at a time: written (streamed) when `fresh` (the day's first and only write
    /// of a one-conversion book), else added.
    #[inline(always)]
    fn store_day(&mut self, t: usize, fresh: bool) {
        let (lanes, days) = (self.lanes, self.days);
        let (ai, eq) = (&self.day_ai[..lanes], &self.day_eq[..lanes]);
        for g in 0..lanes.div_ceil(GROUP) {
            let l0 = g * GROUP;
            let m = GROUP.min(lanes - l0);
            let at0 = (g * days + t) * GROUP;
            if fresh {
                // `0 + cash`, as the zeroed slot plus the cash (the same bits, a zero's sign
                // included); past the block's last lane, the zeros.
                let (mut la, mut le) = ([0.0; GROUP], [0.0; GROUP]);
                for j in 0..m {
                    la[j] = 0.0 + ai[l0 + j];
                    le[j] = 0.0 + eq[l0 + j];
                }
                let line = at0..at0 + GROUP;
                put_line(
                    (&mut self.ai_cash[line.clone()])
                        .try_into()
                        .expect("a group"),
                    &la,
                );
                put_line((&mut self.eq_cash[line]).try_into().expect("a group"), &le);
            } else {
                let sa = &mut self.ai_cash[at0..at0 + m];
                let se = &mut self.eq_cash[at0..at0 + m];
                for j in 0..m {
                    sa[j] += ai[l0 + j];
                    se[j] += eq[l0 + j];
                }
            }
        }
        if fresh {
            self.clean = t + 1;
        }
    }

    /// Copies the series of `lane`'s group into `rows_ai` and `rows_eq` (lane-major, as the IRRs
    /// read them) unless they hold it already, the replayed days of a settled lease included
    /// ([`EquityBook::replay_group`]); returns the lane's row offset there.
    fn rows_of(
        &mut self,
        terms: &DebtTerms,
        lane: usize,
        rent: &mut impl FnMut(usize, usize, &mut [f64]),
        twins: &[(&EquityBook, Option<f64>, Option<f64>)],
    ) -> usize {
        let (g, n) = (lane / GROUP, self.days);
        // The stored days (the rest are replayed).
        let stored = n.min(self.replay_from);
        // Days after the last one written hold no cash.
        if stored > 0 {
            self.clean_to(stored - 1);
        }
        if self.rows_group != g {
            fence_lines();
            let base = g * n * GROUP;
            let (src_ai, src_eq) = (
                &self.ai_cash[base..base + stored * GROUP],
                &self.eq_cash[base..base + stored * GROUP],
            );
            transpose_group(src_ai, &mut self.rows_ai, n + 1);
            transpose_group(src_eq, &mut self.rows_eq, n + 1);
            if self.replay_from < n {
                self.replay_group(terms, g, rent, twins);
            }
            self.rows_group = g;
        }
        lane % GROUP * (n + 1)
    }

    /// The replayed days `replay_from .. N` of the settled lease (the book's only conversion) on
    /// the lanes of group `g`: `rent(lane, from, out)` writes a lane's operating cash of those
    /// days into its row of `rows_ai`, then [`replay_tail`] runs [`Quiet::run`]'s operations on
    /// them (no capex, no draw: the level payment while the loan lasts, the loan years, the
    /// equity NPV), so every number is the one a day-by-day run gives, bit for bit. The loans'
    /// state at `replay_from` is left as it is (a group can be loaded again, e.g. when lanes
    /// are finished out of order); the lanes' final balance, DSCR and equity NPV go to `tail`.
    ///
    /// `twins`: books (with their IRRs, unused here) whose rows hold this group already replayed; when this group's inputs are
    /// exact power-of-two multiples of one's ([`EquityBook::scaled_twin`]), its results are
    /// that book's times the factor, without the replay.
    fn replay_group(
        &mut self,
        terms: &DebtTerms,
        g: usize,
        rent: &mut impl FnMut(usize, usize, &mut [f64]),
        twins: &[(&EquityBook, Option<f64>, Option<f64>)],
    ) {
        let (n, from) = (self.days, self.replay_from);
        let l0 = g * GROUP;
        let m = GROUP.min(self.lanes - l0);
        for j in 0..m {
            let row = j * (n + 1);
            rent(l0 + j, from, &mut self.rows_ai[row + from..row + n]);
        }
        // (In BTC the rows of a twin's replayed days hold its cash in BTC, not its rent: no
        // twins.)
        let btc = !self.btc_tail.is_empty();
        for &(o, _, _) in twins.iter().filter(|_| !btc) {
            if let Some(f) = self.scaled_twin(o, g) {
                self.take_scaled(o, g, &f);
                return;
            }
        }
        let loans = &self.loans[0];
        // Lanes past the block's last (a partial group) run on a neutral state, unread.
        let mut st = Tail {
            bal: [0.0; GROUP],
            pay: [0.0; GROUP],
            left: [0.0; GROUP],
            ynum: [0.0; GROUP],
            yden: [0.0; GROUP],
            yday: [0.0; GROUP],
            ystart: [0.0; GROUP],
            dmin: [f64::INFINITY; GROUP],
            en: [0.0; GROUP],
        };
        for j in 0..m {
            let l = l0 + j;
            st.bal[j] = loans.bal[l];
            st.pay[j] = loans.pay[l];
            st.left[j] = loans.left[l];
            st.ynum[j] = loans.year_num[l];
            st.yden[j] = loans.year_den[l];
            st.yday[j] = loans.year_day[l];
            st.ystart[j] = loans.year_start[l];
            st.dmin[j] = loans.dscr_min[l];
            st.en[j] = self.eq_npv[l];
        }
        // BTC: the tail sums and last prices so far (lanes past the block's last: neutral).
        let mut bs = ([0.0; GROUP], [f64::NAN; GROUP]);
        if btc {
            for j in 0..m {
                bs.0[j] = self.btc_tail[l0 + j];
                bs.1[j] = self.s_last[l0 + j];
            }
        }
        let prices = if btc {
            let at0 = (g * n + from) * GROUP;
            &self.ai_cash[at0..at0 + (n - from) * GROUP]
        } else {
            &[][..]
        };
        let rows = (&mut self.rows_ai[..], &mut self.rows_eq[..]);
        let k = TailTerms {
            n,
            from,
            w: &terms.w_eq,
            s: prices,
            i: terms.i,
            nf: terms.n as f64,
            ltc: terms.ltc,
        };
        let avx512 =
            cfg!(target_arch = "x86_64") && crate::process::isa() == crate::process::Isa::Avx512;
        match (btc, avx512) {
            #[cfg(target_arch = "x86_64")]
            // SAFETY: `isa()` reports AVX-512 only when the CPU has AVX-512 F and DQ.
            (false, true) => unsafe {
                replay_tail_avx512::<false>(&mut st, &mut bs, rows.0, rows.1, &k)
            },
            #[cfg(target_arch = "x86_64")]
            // SAFETY: as above.
            (true, true) => unsafe {
                replay_tail_avx512::<true>(&mut st, &mut bs, rows.0, rows.1, &k)
            },
            (false, _) => replay_tail::<false>(&mut st, &mut bs, rows.0, rows.1, &k),
            (true, _) => replay_tail::<true>(&mut st, &mut bs, rows.0, rows.1, &k),
        }
        if self.tail.len() != self.lanes {
            self.tail = vec![(0.0, f64::INFINITY, 0.0); self.lanes];
        }
        for j in 0..m {
            self.tail[l0 + j] = (st.bal[j], st.dmin[j], st.en[j]);
        }
        if btc {
            if self.tail_btc.len() != self.lanes {
                self.tail_btc = vec![(0.0, f64::NAN); self.lanes];
            }
            for j in 0..m {
                self.tail_btc[l0 + j] = (bs.0[j], bs.1[j]);
            }
        }
    }

    /// Closes `lane` after day `N − 1`: the day-`N` terms (the AI terminal value from unlevered AI
    /// cash; equity: the same minus what is still owed), the DSCR and the two IRRs.
    ///
    /// For a book without replayed days (no [`ProjectDay::settled`]); else see
    /// [`EquityBook::finish_with`].
    pub fn finish(&mut self, terms: &DebtTerms, lane: usize) -> LaneEquity {
        self.finish_with(terms, lane, |_, _, out| out.fill(f64::NAN))
    }

    /// [`EquityBook::finish`] of a book whose settled lease's days from a quiet day on were not
    /// stepped: `rent(lane, from, out)` writes the lease's operating cash of `lane` on days
    /// `from .. N` (`AiBook::lease_opcash`), and those days are run from it with
    /// [`Quiet::run`]'s operations for a settled lease (no capex, no draw, the level payment
    /// while the loan lasts), a group of lanes at a time, so the results are the day-by-day
    /// ones bit for bit. Lanes may be finished in any order.
    pub fn finish_with(
        &mut self,
        terms: &DebtTerms,
        lane: usize,
        rent: impl FnMut(usize, usize, &mut [f64]),
    ) -> LaneEquity {
        self.finish_sharing(terms, lane, rent, &[])
    }

    /// [`EquityBook::finish_with`], taking an IRR from `solved` instead of solving it again when
    /// this lane's series is an exact power-of-two multiple of one already solved
    /// ([`dyadic_multiple`]). `solved`: books already finished on this lane (their rows still
    /// hold its series) with the IRRs they gave (project, equity).
    ///
    /// The IRR is the same number for `c` and `f · c`, and [`crate::irr`] performs only
    /// operations of degree one in the series (Horner sums, the bounds of its sign test) or zero
    /// (signs, ratios), so for `f = 2^k` every intermediate value is the other's times `f`,
    /// exactly, and the root has the same bits (no entry or intermediate value can overflow or
    /// become subnormal inside the magnitudes `dyadic_multiple` allows). A sweep's shares 0.25,
    /// 0.5 and 1 convert the same hall in proportion, so their series are such multiples: one
    /// solve serves the three.
    pub fn finish_sharing(
        &mut self,
        terms: &DebtTerms,
        lane: usize,
        mut rent: impl FnMut(usize, usize, &mut [f64]),
        solved: &[(&EquityBook, Option<f64>, Option<f64>)],
    ) -> LaneEquity {
        let n = self.days;
        let row = self.rows_of(terms, lane, &mut rent, solved);
        let last_year: f64 = self.rows_ai[row + n.saturating_sub(365)..row + n]
            .iter()
            .sum();
        // BTC view: the terminal value and the repayment in BTC at the price of day N − 1.
        let (tv, per_usd) = if self.btc_tail.is_empty() {
            (terms.terminal_multiple * last_year, 1.0)
        } else {
            // After replayed days, their end state (`replay_group`).
            let (bt, s_last) = if self.replay_from < n {
                self.tail_btc[lane]
            } else {
                (self.btc_tail[lane], self.s_last[lane])
            };
            match s_last {
                // No cash on day N − 1: nothing converted inside the horizon on this lane.
                s if s.is_nan() => (0.0, 0.0),
                s => (terms.terminal_multiple * bt / s, 1.0 / s),
            }
        };
        let mut owed = 0.0;
        let mut dscr = f64::INFINITY;
        let mut eq_npv = self.eq_npv[lane];
        if self.replay_from < n {
            // The replayed days' end state (`replay_group`); the book's only loan.
            let (bal, dmin, en) = self.tail[lane];
            owed += self.loans[0].owed_with(lane, terms, bal);
            dscr = dscr.min(dmin);
            eq_npv = en;
        } else {
            for loans in &self.loans {
                owed += loans.owed_at_horizon(lane, terms);
                dscr = dscr.min(loans.dscr_min[lane]);
            }
        }
        let owed = owed * per_usd;
        self.rows_ai[row + n] = tv;
        self.rows_eq[row + n] = tv - owed;
        let ai_equity_npv = eq_npv + (tv - owed) * terms.w_eq_n;
        let (ai, eq) = (
            &self.rows_ai[row..row + n + 1],
            &self.rows_eq[row..row + n + 1],
        );
        let mut known = (None, None);
        for &(other, p, e) in solved {
            let Some((oa, oe)) = other.lane_rows(lane) else {
                continue;
            };
            if known.0.is_none() && dyadic_multiple(oa, ai) {
                known.0 = Some(p);
            }
            if known.1.is_none() && dyadic_multiple(oe, eq) {
                known.1 = Some(e);
            }
            if known.0.is_some() && known.1.is_some() {
                break;
            }
        }
        let (project_irr, equity_irr) = match known {
            (Some(p), Some(e)) => (p, e),
            (Some(p), None) => (p, crate::irr::irr(eq)),
            (None, Some(e)) => (crate::irr::irr(ai), e),
            (None, None) => crate::irr::irr_pair(ai, eq),
        };
        LaneEquity {
            ai_equity_npv,
            dscr_min: dscr.is_finite().then_some(dscr),
            project_irr,
            equity_irr,
        }
    }
}

/// Copies a group's days, day-major (`src[t · GROUP + l]`), into lane-major rows of `stride`
/// (`rows[l · stride + t]`): eight days of the group at a time as an 8 × 8 block transposed in
/// registers, each lane's eight days then one contiguous store (a day at a time it was eight
/// scattered stores a day, ~6 % of an all-on run).
fn transpose_group(src: &[f64], rows: &mut [f64], stride: usize) {
    let days = src.len() / GROUP;
    let full = days / 8;
    #[cfg(target_arch = "x86_64")]
    if crate::process::isa() == crate::process::Isa::Avx512 {
        // SAFETY: `isa()` reports AVX-512 only when the CPU has AVX-512 F.
        unsafe { transpose_blocks_avx512(src, rows, stride, full) };
    } else {
        transpose_blocks(src, rows, stride, full);
    }
    #[cfg(not(target_arch = "x86_64"))]
    transpose_blocks(src, rows, stride, full);
    // The days past the last full block of eight.
    for t in full * 8..days {
        for l in 0..GROUP {
            rows[l * stride + t] = src[t * GROUP + l];
        }
    }
}

/// The 8 × 8 transpose of `r` in registers (`out[j]` holds element `j` of every `r[i]`, in
/// order of `i`): three rounds of shuffles.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx512f")]
fn transpose8(r: [std::arch::x86_64::__m512d; 8]) -> [std::arch::x86_64::__m512d; 8] {
    use std::arch::x86_64::*;
    // Pairs of days, lanes (0, 2, 4, 6) and (1, 3, 5, 7) of each 128-bit block.
    let t = [
        _mm512_unpacklo_pd(r[0], r[1]),
        _mm512_unpackhi_pd(r[0], r[1]),
        _mm512_unpacklo_pd(r[2], r[3]),
        _mm512_unpackhi_pd(r[2], r[3]),
        _mm512_unpacklo_pd(r[4], r[5]),
        _mm512_unpackhi_pd(r[4], r[5]),
        _mm512_unpacklo_pd(r[6], r[7]),
        _mm512_unpackhi_pd(r[6], r[7]),
    ];
    // Four days a vector: 128-bit blocks (0, 2) and (1, 3) of two pairs.
    let u = [
        _mm512_shuffle_f64x2::<0x88>(t[0], t[2]),
        _mm512_shuffle_f64x2::<0xDD>(t[0], t[2]),
        _mm512_shuffle_f64x2::<0x88>(t[1], t[3]),
        _mm512_shuffle_f64x2::<0xDD>(t[1], t[3]),
        _mm512_shuffle_f64x2::<0x88>(t[4], t[6]),
        _mm512_shuffle_f64x2::<0xDD>(t[4], t[6]),
        _mm512_shuffle_f64x2::<0x88>(t[5], t[7]),
        _mm512_shuffle_f64x2::<0xDD>(t[5], t[7]),
    ];
    // Lane l's eight days: (u, lane) pairs (0, 0), (2, 1), (1, 2), (3, 3), then + 4.
    [
        _mm512_shuffle_f64x2::<0x88>(u[0], u[4]),
        _mm512_shuffle_f64x2::<0x88>(u[2], u[6]),
        _mm512_shuffle_f64x2::<0x88>(u[1], u[5]),
        _mm512_shuffle_f64x2::<0x88>(u[3], u[7]),
        _mm512_shuffle_f64x2::<0xDD>(u[0], u[4]),
        _mm512_shuffle_f64x2::<0xDD>(u[2], u[6]),
        _mm512_shuffle_f64x2::<0xDD>(u[1], u[5]),
        _mm512_shuffle_f64x2::<0xDD>(u[3], u[7]),
    ]
}

/// [`transpose_group`]'s first `full` blocks on AVX-512: each block of eight days (one vector of the group's lanes a
/// day) transposed in three rounds of shuffles into one vector of days per lane. (Left to
/// itself, the compiler made the block of eight gathers.) A copy: the same values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn transpose_blocks_avx512(src: &[f64], rows: &mut [f64], stride: usize, full: usize) {
    use std::arch::x86_64::*;
    assert!(
        src.len() >= full * 64 && rows.len() >= (GROUP - 1) * stride + full * 8,
        "blocks of the group"
    );
    for b in 0..full {
        // SAFETY: AVX-512 F is enabled for this function; the loads read `src[b·64 .. b·64 + 64]`
        // and the stores `rows[l·stride + b·8 ..][..8]` for `b < full`, both inside the slices
        // by the assertion above.
        unsafe {
            let p = src.as_ptr().add(b * 64);
            let r: [__m512d; 8] = std::array::from_fn(|d| _mm512_loadu_pd(p.add(d * 8)));
            let lanes = transpose8(r);
            for (l, v) in lanes.iter().enumerate() {
                _mm512_storeu_pd(rows.as_mut_ptr().add(l * stride + b * 8), *v);
            }
        }
    }
}

/// [`transpose_group`]'s first `full` blocks, portable.
fn transpose_blocks(src: &[f64], rows: &mut [f64], stride: usize, full: usize) {
    const _: () = assert!(GROUP == 8);
    for b in 0..full {
        let chunk: &[f64; 64] = src[b * 64..b * 64 + 64]
            .try_into()
            .expect("8 days of 8 lanes");
        let mut blk = [[0.0f64; 8]; GROUP];
        for d in 0..8 {
            for l in 0..GROUP {
                blk[l][d] = chunk[d * GROUP + l];
            }
        }
        for (l, row) in blk.iter().enumerate() {
            rows[l * stride + b * 8..l * stride + b * 8 + 8].copy_from_slice(row);
        }
    }
}

impl EquityBook {
    /// Whether the replay of group `g` (its lease's rent just written into `rows_ai`) is `o`'s,
    /// already done, times a power of two per lane: the factors if so. [`replay_tail`] performs
    /// only operations of degree one in the rent and the loans' amounts (sums, products with
    /// rates and weights, `0 + x`) or zero (the DSCR's ratio, its comparisons), so inputs that
    /// are `f` times `o`'s, bit for bit, give results that are `f` times `o`'s, bit for bit:
    /// the stored days of both series, the rent of the replayed days, and the loans' balance,
    /// payment, year sums and equity NPV scaled by one `f` (inside [`same_times`]' magnitudes),
    /// the counters and the smallest DSCR equal. (`o`'s rows hold its replayed AI cash, which is
    /// its rent with a zero's sign made `+`: the rent here must be `f` times that, and the
    /// year's rent sum may not be `−0`, the one place a zero's sign could show.)
    fn scaled_twin(&self, o: &EquityBook, g: usize) -> Option<[f64; GROUP]> {
        let (n, from) = (self.days, self.replay_from);
        if o.days != n
            || o.lanes != self.lanes
            || o.replay_from != from
            || o.rows_group != g
            || o.tail.len() != o.lanes
            || self.loans.len() != 1
            || o.loans.len() != 1
        {
            return None;
        }
        let l0 = g * GROUP;
        let mut fs = [1.0; GROUP];
        for j in 0..GROUP.min(self.lanes - l0) {
            let (l, row) = (l0 + j, j * (n + 1));
            let f = dyadic_factor(
                &o.rows_ai[row + from..row + n],
                &self.rows_ai[row + from..row + n],
            )?;
            let (a, b) = (&o.loans[0], &self.loans[0]);
            let scaled = [
                a.bal[l],
                a.pay[l],
                a.year_num[l],
                a.year_den[l],
                o.eq_npv[l],
            ];
            let mine = [
                b.bal[l],
                b.pay[l],
                b.year_num[l],
                b.year_den[l],
                self.eq_npv[l],
            ];
            let same = [a.left[l], a.year_day[l], a.year_start[l], a.dscr_min[l]];
            let mine_same = [b.left[l], b.year_day[l], b.year_start[l], b.dscr_min[l]];
            let ok = same_times(&scaled, &mine, f)
                && same
                    .iter()
                    .zip(&mine_same)
                    .all(|(x, y)| x.to_bits() == y.to_bits())
                && b.year_num[l].to_bits() != (-0.0f64).to_bits()
                && same_times(
                    &o.rows_ai[row..row + from],
                    &self.rows_ai[row..row + from],
                    f,
                )
                && same_times(
                    &o.rows_eq[row..row + from],
                    &self.rows_eq[row..row + from],
                    f,
                );
            if !ok {
                return None;
            }
            fs[j] = f;
        }
        Some(fs)
    }

    /// The replay of group `g` as `o`'s times the lanes' factors `fs` ([`EquityBook::scaled_twin`]):
    /// the replayed equity cash and the lanes' end state (the AI cash is the rent as written).
    fn take_scaled(&mut self, o: &EquityBook, g: usize, fs: &[f64; GROUP]) {
        let (n, from) = (self.days, self.replay_from);
        let l0 = g * GROUP;
        let m = GROUP.min(self.lanes - l0);
        for j in 0..m {
            let (f, row) = (fs[j], j * (n + 1));
            let src = &o.rows_eq[row + from..row + n];
            for (x, &y) in self.rows_eq[row + from..row + n].iter_mut().zip(src) {
                *x = y * f;
            }
        }
        if self.tail.len() != self.lanes {
            self.tail = vec![(0.0, f64::INFINITY, 0.0); self.lanes];
        }
        for j in 0..m {
            let (bal, dmin, en) = o.tail[l0 + j];
            self.tail[l0 + j] = (bal * fs[j], dmin, en * fs[j]);
        }
    }

    /// `lane`'s two series with their day-`N` terms (AI, equity) when the rows hold them: after
    /// [`EquityBook::finish_sharing`] on `lane`, until a lane of another group is finished.
    fn lane_rows(&self, lane: usize) -> Option<(&[f64], &[f64])> {
        if !self.has_conversions() || self.rows_group != lane / GROUP {
            return None;
        }
        let n = self.days;
        let row = lane % GROUP * (n + 1);
        Some((
            &self.rows_ai[row..row + n + 1],
            &self.rows_eq[row..row + n + 1],
        ))
    }
}

/// Whether `b` is `f · a` bit for bit for one power of two `f` in `[2^-64, 2^64]`, every
/// nonzero entry of `a` being finite and within `[1e-150, 1e150]` (so that no sum of the IRR of
/// either series can overflow or become subnormal: its terms are at most ~1e35 times an entry,
/// and at least ~1e-35 times one, over the rates it searches). Then both have the same IRR, bit
/// for bit ([`EquityBook::finish_sharing`]). One pass, stopped at the first chunk that differs.
fn dyadic_multiple(a: &[f64], b: &[f64]) -> bool {
    dyadic_factor(a, b).is_some()
}

/// [`dyadic_multiple`]'s factor `f` (`b = f · a`), if there is one.
fn dyadic_factor(a: &[f64], b: &[f64]) -> Option<f64> {
    if a.len() != b.len() {
        return None;
    }
    // The factor from the first nonzero entry (all zero: any factor, say 1).
    let f = match a.iter().position(|&v| v != 0.0) {
        Some(t) => b[t] / a[t],
        None => 1.0,
    };
    // A normal power of two: no mantissa bits, exponent within ±64.
    let bits = f.to_bits();
    let exp = ((bits >> 52) & 0x7ff) as i64 - 1023;
    if !(f > 0.0 && bits & ((1u64 << 52) - 1) == 0 && (-64..=64).contains(&exp)) {
        return None;
    }
    same_times(a, b, f).then_some(f)
}

/// [`same_times`] compiled for AVX2 (64-bit integer compares: the loop vectorizes).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn same_times_avx2(a: &[f64], b: &[f64], f: f64) -> bool {
    same_times_inline(a, b, f)
}

/// Whether `b[t]` is `a[t] · f` bit for bit on every day, with every nonzero `|a[t]|` in
/// `[1e-150, 1e150]` (a NaN or an infinity is outside), and `a` and `b` of one length.
fn same_times(a: &[f64], b: &[f64], f: f64) -> bool {
    if a.len() != b.len() {
        return false;
    }
    #[cfg(target_arch = "x86_64")]
    if crate::process::isa() != crate::process::Isa::Baseline {
        // SAFETY: `isa()` reports AVX2 or better only when the CPU has AVX2.
        return unsafe { same_times_avx2(a, b, f) };
    }
    same_times_inline(a, b, f)
}

/// [`same_times`], branch-free on the bit patterns (positive doubles order as their bits), a
/// chunk of days at a time.
#[inline(always)]
fn same_times_inline(a: &[f64], b: &[f64], f: f64) -> bool {
    const CH: usize = 256;
    const LO: u64 = 1e-150f64.to_bits();
    const HI: u64 = 1e150f64.to_bits();
    for (ca, cb) in a.chunks(CH).zip(b.chunks(CH)) {
        let mut bad = 0u64;
        for (&x, &y) in ca.iter().zip(cb) {
            let m = x.to_bits() & !(1u64 << 63);
            let out = (m != 0) & (m.wrapping_sub(LO) > HI - LO);
            bad |= ((x * f).to_bits() ^ y.to_bits()) | out as u64;
        }
        if bad != 0 {
            return false;
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A series buffer starts on a cache line (so a group's day is one line), its clone too, with
    /// the same values; a line is written with the same values aligned (streamed) or not.
    #[test]
    fn series_lines_are_cache_lines() {
        for len in [8, 64, 8 * 5475] {
            let mut a = SeriesBuf::new(len);
            assert!((a.as_ptr() as usize).is_multiple_of(64), "len {len}");
            for (i, v) in a.iter_mut().enumerate() {
                *v = i as f64 - 0.5;
            }
            let b = a.clone();
            assert!((b.as_ptr() as usize).is_multiple_of(64));
            assert_eq!(&a[..], &b[..]);
            let v = [1.5, -0.0, 3.0, f64::MIN_POSITIVE, -2.0, 1e300, 0.0, -7.25];
            put_line((&mut a[0..GROUP]).try_into().unwrap(), &v);
            fence_lines();
            assert_eq!(a[0..GROUP].bits(), v.bits());
        }
        // Not on a line: a plain copy.
        let mut raw = [0.0f64; 24];
        let o = (0..8)
            .find(|&o| !(raw[o..].as_ptr() as usize).is_multiple_of(64))
            .unwrap();
        let v = [2.0; GROUP];
        put_line((&mut raw[o..o + GROUP]).try_into().unwrap(), &v);
        assert_eq!(raw[o..o + GROUP], v);
    }

    trait Bits {
        fn bits(&self) -> Vec<u64>;
    }

    impl Bits for [f64] {
        fn bits(&self) -> Vec<u64> {
            self.iter().map(|v| v.to_bits()).collect()
        }
    }

    /// The group's day-major series into lane-major rows: every instruction set's version is the
    /// plain copy, for lengths with and without a partial block of eight days.
    #[test]
    fn a_group_transposed_is_its_lanes_rows() {
        for days in [0, 5, 8, 67, 5475] {
            let src: Vec<f64> = (0..days * GROUP).map(|k| k as f64 * 1.5 - 7.0).collect();
            let stride = days + 1;
            let mut want = vec![f64::NAN; GROUP * stride];
            for t in 0..days {
                for l in 0..GROUP {
                    want[l * stride + t] = src[t * GROUP + l];
                }
            }
            let mut got = vec![f64::NAN; GROUP * stride];
            transpose_group(&src, &mut got, stride);
            let mut plain = vec![f64::NAN; GROUP * stride];
            transpose_blocks(&src, &mut plain, stride, days / 8);
            for t in days / 8 * 8..days {
                for l in 0..GROUP {
                    plain[l * stride + t] = src[t * GROUP + l];
                }
            }
            let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
            assert_eq!(bits(&got), bits(&want), "{days} days");
            assert_eq!(bits(&plain), bits(&want), "{days} days");
        }
    }

    /// `dyadic_multiple`: exact power-of-two multiples only, inside the magnitudes it allows.
    #[test]
    fn dyadic_multiples_are_exact_power_of_two_multiples() {
        let a: Vec<f64> = (0..1000)
            .map(|t| {
                if t % 7 == 0 {
                    0.0
                } else {
                    (t as f64 - 300.5) * 1234.567
                }
            })
            .collect();
        let times = |f: f64| a.iter().map(|v| v * f).collect::<Vec<f64>>();
        for f in [1.0, 0.5, 0.25, 4.0, 2f64.powi(-64), 2f64.powi(64)] {
            assert!(dyadic_multiple(&a, &times(f)), "{f}");
        }
        // Not a power of two, negative, or out of the range.
        for f in [0.75, 3.0, -0.5, 2f64.powi(-65), 2f64.powi(65)] {
            assert!(!dyadic_multiple(&a, &times(f)), "{f}");
        }
        // One entry one ulp off, late in the series (past the first chunk).
        let mut b = times(0.5);
        b[900] = f64::from_bits(b[900].to_bits() + 1);
        assert!(!dyadic_multiple(&a, &b));
        // A zero of the other sign is not the same bits.
        let mut b = times(2.0);
        b[7] = -0.0;
        assert!(!dyadic_multiple(&a, &b));
        // Entries outside [1e-150, 1e150], or not finite.
        for v in [1e-200, 1e200, f64::NAN, f64::INFINITY] {
            let mut c = a.clone();
            c[500] = v;
            let d: Vec<f64> = c.iter().map(|x| x * 2.0).collect();
            assert!(!dyadic_multiple(&c, &d), "{v}");
        }
        // All zero: a multiple of anything that is all zero too.
        assert!(dyadic_multiple(&[0.0; 40], &[0.0; 40]));
        assert!(!dyadic_multiple(&[0.0; 40], &times(1.0)[..40]));
        assert!(!dyadic_multiple(&a, &a[1..]));
    }

    fn terms(rate: f64, tenor: f64, days: usize) -> DebtTerms {
        terms_tv(rate, tenor, days, 0.0)
    }

    /// [`terms`] with a terminal multiple.
    fn terms_tv(rate: f64, tenor: f64, days: usize, terminal_multiple: f64) -> DebtTerms {
        let f = Finance {
            ltc: 0.8,
            debt_rate: rate,
            tenor_years: tenor,
            cost_of_equity: 0.12,
            min_dscr: 1.25,
            fund_gpus: false,
        };
        DebtTerms::new(&f, days, terminal_multiple)
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

    /// Draws of lane `l` on day `t` for the two tests below: construction draws before the
    /// ready day, and on some lanes a refresh draw (a loan of its own) later.
    fn draw_of(l: usize, t: usize, ready: usize) -> f64 {
        if t < ready && !(t + l).is_multiple_of(3) {
            1000.0 + (t * 7 % 13) as f64
        } else if l % 4 == 1 && t == ready + 400 + l {
            2500.0
        } else {
            0.0
        }
    }

    /// The lane arrays ([`Loans`]) do what [`Loan::day`] does, bit for bit.
    #[test]
    fn lane_arrays_match_the_loan_bit_for_bit() {
        let (days, lanes) = (2000, 9);
        let tm = terms(0.07, 2.0, days);
        let mut loans = Loans::new(lanes);
        let mut refs = Vec::new();
        for l in 0..lanes {
            let ready = 40 + 53 * l;
            loans.ready[l] = ready;
            refs.push(Loan::new(ready));
        }
        for t in 0..days {
            for (l, r) in refs.iter_mut().enumerate() {
                let draw = draw_of(l, t, r.ready);
                let op = 300.0 + (t % 17) as f64;
                let want = r.day(&tm, t, draw, op);
                let got = loans.day(l, &tm, t, draw, op);
                assert_eq!(got.to_bits(), want.to_bits(), "lane {l} day {t}");
            }
        }
        for (l, r) in refs.iter().enumerate() {
            assert_eq!(loans.dscr_min[l].to_bits(), r.dscr_min.to_bits());
            let (a, b) = (loans.owed_at_horizon(l, &tm), r.owed_at_horizon(&tm));
            assert_eq!(a.to_bits(), b.to_bits(), "lane {l}");
        }
        assert!(loans.extra_lanes > 0);
    }

    /// A book fed a day of lanes at a time ([`EquityBook::project_day`], its branch-free days
    /// included) gives the bits of one fed lane by lane, in USD and in BTC.
    #[test]
    fn project_days_match_lane_days_bit_for_bit() {
        let (days, lanes) = (1500, 11);
        let tm = terms(0.08, 1.5, days);
        for btc in [false, true] {
            let mut a = EquityBook::with_currency(1, lanes, days, btc);
            let mut b = EquityBook::with_currency(1, lanes, days, btc);
            let ready: Vec<usize> = (0..lanes).map(|l| 30 + 11 * l).collect();
            for l in 0..lanes {
                a.set_ready(0, l, ready[l]);
                b.set_ready(0, l, ready[l]);
            }
            for t in 0..days {
                let capex: Vec<f64> = (0..lanes).map(|l| draw_of(l, t, ready[l]) / 0.8).collect();
                let op: Vec<f64> = (0..lanes)
                    .map(|l| {
                        if t >= ready[l] {
                            90.0 + (t * l % 7) as f64
                        } else {
                            0.0
                        }
                    })
                    .collect();
                let s: Vec<f64> = (0..lanes).map(|l| 5e4 + (t + 3 * l) as f64).collect();
                let pd = ProjectDay {
                    capex: &capex,
                    gpu: None,
                    opcash: &op,
                    s: btc.then_some(&s[..]),
                    settled: false,
                };
                a.project_day(&tm, 0, t, pd);
                for l in 0..lanes {
                    let c = DayCash {
                        capex: capex[l],
                        fundable: capex[l],
                        opcash: op[l],
                    };
                    b.conversion_day(&tm, 0, l, t, c, btc.then_some(s[l]));
                }
            }
            let mut with_irr = 0;
            for l in 0..lanes {
                let (x, y) = (a.finish(&tm, l), b.finish(&tm, l));
                assert_eq!(format!("{x:?}"), format!("{y:?}"), "lane {l} btc {btc}");
                assert!(x.dscr_min.is_some(), "{x:?}");
                with_irr += x.equity_irr.is_some() as usize;
            }
            assert!(with_irr > 0);
        }
    }

    #[test]
    fn a_replayed_lease_is_the_stored_lease_bit_for_bit() {
        // A book that replays a settled lease's cash from the AI book's log gives every lane the
        // figures of a book that stores every day: tenant defaults, re-lets and renewals (events)
        // or the expected-value form, a loan that ends inside the horizon or outlasts it, lanes
        // not a multiple of a group, finished in any order. And a hall of half the size (the
        // same draws: every amount halved) finished with the full hall's book as its twin
        // (`finish_sharing`: the replay and the IRRs taken from it, times 1/2) gets the figures
        // of a half hall whose every day is stored. In USD and in BTC (the replayed days'
        // prices kept for the replay; no twin replay, the IRRs still shared).
        use crate::payoff::ai::{AiBook, AiDay, AiProject, AiTerms};
        use crate::scenario::Scenario;
        let (lanes, tau) = (21, 40);
        let cases = [
            (true, 2.0, 2400, false),
            (false, 2.0, 2400, false),
            (true, 9.0, 1900, false),
            (true, 2.0, 2400, true),
            (false, 9.0, 1900, true),
        ];
        for (events, tenor, days, btc) in cases {
            let mut sc = Scenario::default();
            sc.ai.default_events = events;
            sc.ai.tenant_default_rate = 0.4;
            sc.ai.relet_months = 5.0;
            sc.ai.lease_term_years = 1.5;
            sc.ai.renewal_probability = 0.6;
            sc.ai.build_delay_months = 3.0;
            sc.ai.capex_overrun_vol = 0.2;
            let ai_terms = AiTerms::new(&sc, days);
            let pr = AiProject {
                tau,
                it_mw: 70.0,
                key: 0,
            };
            let mut book = AiBook::new(&ai_terms, vec![pr], 11, 3, lanes);
            book.keep_log();
            let half_pr = AiProject { it_mw: 35.0, ..pr };
            let mut half = AiBook::new(&ai_terms, vec![half_pr], 11, 3, lanes);
            half.keep_log();
            // A terminal value (the last year's AI cash, in BTC at the last day's price).
            let tm = terms_tv(0.08, tenor, days, 6.0);
            let book_of = || EquityBook::with_currency(1, lanes, days, btc);
            let (mut a, mut b, mut c, mut d) = (book_of(), book_of(), book_of(), book_of());
            for (l, &r) in book.ready(0).iter().enumerate() {
                for e in [&mut a, &mut b, &mut c, &mut d] {
                    e.set_ready(0, l, r);
                }
            }
            for t in 0..days {
                let ln_l: Vec<f64> = (0..lanes)
                    .map(|l| 130f64.ln() + 0.3 * ((t as f64) / 97.0 + l as f64).sin())
                    .collect();
                // Prices that differ by lane and day (BTC: every day's cash divided by its own).
                let s: Vec<f64> = (0..lanes)
                    .map(|l| 9e4 * (1.0 + 0.3 * ((t as f64) / 41.0 + 0.7 * l as f64).cos()))
                    .collect();
                let day = AiDay {
                    t,
                    ln_l: &ln_l,
                    s: &s,
                    usd_mwh: 40.0,
                };
                book.day(&day);
                half.day(&day);
                if t < tau {
                    continue;
                }
                fn pd<'b>(bk: &'b AiBook, settled: bool, s: Option<&'b [f64]>) -> ProjectDay<'b> {
                    ProjectDay {
                        capex: bk.capex(0),
                        gpu: None,
                        opcash: bk.opcash(0),
                        s,
                        settled,
                    }
                }
                let sp = btc.then_some(&s[..]);
                a.project_day(&tm, 0, t, pd(&book, book.settled_lease(0), sp));
                b.project_day(&tm, 0, t, pd(&book, false, sp));
                c.project_day(&tm, 0, t, pd(&half, half.settled_lease(0), sp));
                d.project_day(&tm, 0, t, pd(&half, false, sp));
            }
            assert!(a.replay_from < days / 2, "replayed from {}", a.replay_from);
            assert_eq!(b.replay_from, usize::MAX);
            assert_eq!(c.replay_from, a.replay_from);
            let mut with_irr = 0;
            // Lanes finished out of order, a group at a time never twice in a row (each lane's
            // group is replayed again), and the first lane once more at the end.
            let order = (0..lanes).map(|k| k * GROUP % lanes).chain([0]);
            for l in order {
                let x = a.finish_with(&tm, l, |l, from, out| book.lease_opcash(0, l, from, out));
                let y = b.finish(&tm, l);
                assert_eq!(
                    format!("{x:?}"),
                    format!("{y:?}"),
                    "lane {l}, events {events}, btc {btc}"
                );
                let twin = [(&a, x.project_irr, x.equity_irr)];
                let z = c.finish_sharing(
                    &tm,
                    l,
                    |l, from, out| half.lease_opcash(0, l, from, out),
                    &twin,
                );
                let w = d.finish(&tm, l);
                assert_eq!(
                    format!("{z:?}"),
                    format!("{w:?}"),
                    "half, lane {l}, btc {btc}"
                );
                // Taken from the twin: exactly half of it.
                assert_eq!(z.ai_equity_npv, 0.5 * x.ai_equity_npv);
                assert_eq!(c.tail[l].0, 0.5 * a.tail[l].0);
                with_irr += z.project_irr.is_some() as usize;
            }
            assert!(with_irr > lanes / 2, "{with_irr} lanes with IRRs");
        }
    }

    #[test]
    fn a_book_on_a_spare_buffer_is_a_fresh_book() {
        // A dropped book leaves its (non-zero) series to the thread's next book, which zeroes
        // each day before writing it: the next book's figures are a fresh book's, bit for bit,
        // also for the days before its conversion starts and after its last write.
        let (days, lanes) = (900, 13);
        let tm = terms(0.08, 1.5, days);
        // Lane l's conversion starts on day `start + l` and is fed until day `end`.
        let run = |start: usize, end: usize, spare: bool| {
            SPARE.with(|s| s.borrow_mut().clear());
            if spare {
                // A dirty book, dropped: its buffers become the spares.
                let mut d = EquityBook::new(1, lanes, days);
                for l in 0..lanes {
                    d.set_ready(0, l, 5);
                }
                for t in 0..days {
                    for l in 0..lanes {
                        let c = DayCash {
                            capex: if t < 5 { 1e6 } else { 0.0 },
                            fundable: 0.0,
                            opcash: 7e5 + t as f64,
                        };
                        d.conversion_day(&tm, 0, l, t, c, None);
                    }
                }
            }
            let mut b = EquityBook::new(1, lanes, days);
            assert_eq!(b.clean, 0);
            for l in 0..lanes {
                b.set_ready(0, l, start + l + 40);
            }
            for t in start..end {
                for l in 0..lanes {
                    let live = t >= start + l;
                    let c = DayCash {
                        capex: if live && t < start + l + 40 { 2e5 } else { 0.0 },
                        fundable: if live && t < start + l + 40 { 2e5 } else { 0.0 },
                        opcash: if t >= start + l + 40 {
                            9e3 + (t % 11) as f64
                        } else {
                            0.0
                        },
                    };
                    b.conversion_day(&tm, 0, l, t, c, None);
                }
            }
            (0..lanes)
                .map(|l| format!("{:?}", b.finish(&tm, l)))
                .collect::<Vec<_>>()
        };
        for (start, end) in [(0, days), (100, days), (100, 700)] {
            let fresh = run(start, end, false);
            assert!(
                fresh.iter().all(|f| !f.contains("project_irr: None")),
                "{fresh:?}"
            );
            assert_eq!(run(start, end, true), fresh, "start {start} end {end}");
        }
    }

    #[test]
    fn released_spares_are_freed() {
        SPARE.with(|s| s.borrow_mut().clear());
        drop(EquityBook::new(1, 3, 100));
        assert_eq!(SPARE.with(|s| s.borrow().len()), 2);
        release_spares();
        assert_eq!(SPARE.with(|s| s.borrow().len()), 0);
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
