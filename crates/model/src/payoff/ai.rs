//! The AI projects of conversions priced day by day per lane (MODEL.md sections 5 and 8): the
//! path-dependent form of step 4 of [`crate::payoff`].
//!
//! Version 1's AI project is linear in the lease rate on its signing days and is valued per path
//! by [`super::site::AiLinear`] (which stays, untouched, for every scenario without a version-2
//! option: the golden numbers are pinned bit for bit). As soon as one option makes the AI side
//! path-dependent ([`path_dependent`]: a build delay, a capex overrun, tenant events, mining during
//! the build, and later the GPU cloud, financing and the BTC view), every consumer prices its
//! conversions with an [`AiBook`] instead:
//!
//! - [`AiTerms::new`] (once per run) holds the scenario's AI constants and the per-day tables.
//! - [`AiBook::new`] (once per block) takes the block's projects ([`AiProject`]: decision day `τ`,
//!   IT MW, and the `key` of its draws) and draws, per project and lane, the build delay and the
//!   capex overrun from the project's own stream ([`risk_rng`]: keyed by run seed, path and key,
//!   with a domain constant of its own, so turning a risk on never changes a market path and the
//!   numbers do not depend on threads).
//! - [`AiBook::day`] (every day, after the market step of the day) updates each lane's state
//!   machine and leaves, per project and lane, the day's capex ([`AiBook::capex`]) and operating
//!   cash ([`AiBook::opcash`]: rent × NOI for a lease); [`AiBook::ready`] is each lane's ready day
//!   `s_k = τ + B_k` (the day rent starts, the day the converted machines leave with
//!   `ai.mine_during_build`). Events are rare, so a lane only branches on the day of its next
//!   event (term end, default, end of the backstop, re-letting); the daily work is a table
//!   look-up and two products.
//!
//! **Consuming the per-day cash** (finance, the BTC view): call [`AiBook::day`] and then read
//! `capex(p)`, `opcash(p)` and `ready(p)` of each project `p` for the lanes of the block; the AI
//! cash of the day is `opcash − capex`. [`AiBook::add_cash`] folds it, discounted, into a per-lane
//! sum; a loan (MODEL.md §10) reads the same slices (draws `ltc · capex`, rent from `ready`), and
//! the BTC view divides each day's cash by the lane's `S_t` before the weight.
//!
//! **Adding a project kind** (the GPU cloud of §9): add a variant to [`ProjectKind`], its per-run
//! constants to [`AiTerms`], its per-lane state beside [`Lease`] and a branch in [`AiBook::day`]
//! that writes the same two outputs (capex of the day: hall and GPU purchases; operating cash:
//! revenue − costs). Its own random numbers (the GPU index) come from [`risk_rng`] with its own
//! domain constant; the market inputs it needs are in [`AiDay`] (ln L, S and the power price).

// Lane loops index several arrays in lockstep; explicit indices over re-sliced arrays are what
// the compiler vectorizes, so the iterator style clippy suggests is not used there.
#![allow(clippy::needless_range_loop)]

use rand::{Rng, RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Exp1, StandardNormal};

use crate::payoff::cloud::{CloudLanes, CloudTerms, GpuIndex};
use crate::result::Currency;
use crate::scenario::{AiMode, Cloud, Scenario};

/// Domain constant of the conversion-risk stream (ASCII "RISK-S08"): the key of [`risk_rng`]
/// holds it, so the stream never coincides with the market stream of `crate::process` (keyed by
/// `seed_from_u64(seed)` and the block) or with another kind's stream.
pub const RISK_DOMAIN: u64 = 0x5249_534b_2d53_3038;

/// Days a "never" event is scheduled at.
const NEVER: usize = usize::MAX;

/// Whether the scenario's AI side must be priced day by day per lane with an [`AiBook`] instead
/// of linearly ([`super::site::AiLinear`], version 1). Every version-2 option that makes a
/// conversion's cash depend on more than the lease rate on its signing days belongs here.
pub fn path_dependent(sc: &Scenario) -> bool {
    let a = &sc.ai;
    a.build_delay_months > 0.0
        || a.capex_overrun != 0.0
        || a.capex_overrun_vol > 0.0
        || a.mine_during_build
        || a.default_events
        || a.mode != AiMode::Lease
        || sc.finance.is_some()
        || sc.run.currency == Currency::Btc
}

/// The random stream of the project keyed `key` on path `path` of a run with `seed`: ChaCha8 with
/// key `(seed, RISK_DOMAIN, key, 0)` and stream `path`. `path` is the global path index
/// (`block · BLOCK + lane`), so a path's draws are the same whatever block size or thread count.
pub fn risk_rng(seed: u64, path: u64, key: u64) -> ChaCha8Rng {
    stream(seed, path, key, RISK_DOMAIN)
}

/// A ChaCha8 stream keyed by `(seed, domain, key)` with stream number `path`.
pub fn stream(seed: u64, path: u64, key: u64, domain: u64) -> ChaCha8Rng {
    let mut k = [0u8; 32];
    k[..8].copy_from_slice(&seed.to_le_bytes());
    k[8..16].copy_from_slice(&domain.to_le_bytes());
    k[16..24].copy_from_slice(&key.to_le_bytes());
    let mut r = ChaCha8Rng::from_seed(k);
    r.set_stream(path);
    r
}

/// `round(months · 365 / 12)` days.
fn month_days(months: f64) -> usize {
    (months * 365.0 / 12.0).round().max(0.0) as usize
}

/// The kind of an AI project.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProjectKind {
    /// A powered shell leased to a tenant (MODEL.md §5, with the risks of §8).
    Lease,
    /// The owner's GPU cloud in the hall (MODEL.md §9, [`crate::payoff::cloud`]).
    Cloud,
}

/// Per-run constants of the AI projects (MODEL.md §5 and §8).
#[derive(Debug, Clone)]
pub struct AiTerms {
    /// Days simulated.
    n: usize,
    /// The project kind of `ai.mode`.
    kind: ProjectKind,
    /// `round(ai.build_months · 365/12)`.
    build_days: usize,
    /// `ai.build_delay_months · 365/12`: the delay is `round(E · this)`, `E ~ Exp(1)`.
    delay_days: f64,
    /// `ai.capex_usd_per_mw_it · (1 + ai.capex_overrun)`.
    capex_per_mw_it: f64,
    /// `ai.capex_overrun_vol`.
    sigma: f64,
    /// Lease term `M`, days.
    term_days: usize,
    /// Daily NOI per IT MW per $/kW-month of lease rate: `1000 · 12/365 · noi_margin`.
    rent_per_mw_it: f64,
    /// `(1 + ai.lease_escalator)^(d/365)` for `d = 0 .. n`.
    esc: Vec<f64>,
    /// `exp(-ai.tenant_default_rate · d/365)` for `d = 0 .. n` (expected-value form).
    decay: Vec<f64>,
    /// `ai.renewal_probability`.
    renew: f64,
    /// `ai.default_events`.
    events: bool,
    /// `ai.tenant_default_rate`.
    lambda: f64,
    /// `round(ai.backstop_months · 365/12)`.
    backstop_days: usize,
    /// `round(ai.relet_months · 365/12)`, `None` = never re-let.
    relet_days: Option<usize>,
    /// `ai.mine_during_build`.
    pub mine_during_build: bool,
    /// `ai.mode = "cloud"`: the `[cloud]` terms in force (MODEL.md §9).
    cloud: Option<Cloud>,
    /// `ai.it_mw_per_gross_mw`: a cloud's power bill is for the gross MW of its IT load.
    it_per_gross: f64,
}

impl AiTerms {
    /// The lease escalator `(1 + ai.lease_escalator)^(d/365)` for `d = 0 ..= n`: a lease's rent
    /// on day `t` of a term started on `s` is `rate · esc[t − s]`.
    pub fn escalator(&self) -> &[f64] {
        &self.esc
    }

    /// Whether the projects are leases whose lanes draw their events (`ai.default_events`):
    /// their books can be valued by events ([`AiBook::sign`], [`AiBook::build`],
    /// [`AiBook::lease_events`]).
    pub fn lease_with_events(&self) -> bool {
        self.kind == ProjectKind::Lease && self.events
    }

    /// The constants of a (valid) scenario over `n` days.
    pub fn new(sc: &Scenario, n: usize) -> AiTerms {
        let a = &sc.ai;
        let esc = (0..=n)
            .map(|d| (1.0 + a.lease_escalator).powf(d as f64 / 365.0))
            .collect();
        let decay = (0..=n)
            .map(|d| (-a.tenant_default_rate * d as f64 / 365.0).exp())
            .collect();
        AiTerms {
            n,
            kind: match a.mode {
                AiMode::Lease => ProjectKind::Lease,
                AiMode::Cloud => ProjectKind::Cloud,
            },
            build_days: month_days(a.build_months),
            delay_days: a.build_delay_months * 365.0 / 12.0,
            capex_per_mw_it: a.capex_usd_per_mw_it * (1.0 + a.capex_overrun),
            sigma: a.capex_overrun_vol,
            term_days: ((a.lease_term_years * 365.0).round() as usize).max(1),
            rent_per_mw_it: 1000.0 * 12.0 / 365.0 * a.noi_margin,
            esc,
            decay,
            renew: a.renewal_probability,
            events: a.default_events,
            lambda: a.tenant_default_rate,
            backstop_days: month_days(a.backstop_months),
            relet_days: (a.relet_months >= 0.0).then(|| month_days(a.relet_months)),
            mine_during_build: a.mine_during_build,
            cloud: (a.mode == AiMode::Cloud).then(|| sc.cloud_terms()),
            it_per_gross: a.it_mw_per_gross_mw,
        }
    }

    /// Days simulated.
    pub fn days(&self) -> usize {
        self.n
    }
}

/// One conversion's AI project: decided on day `tau`, `it_mw` MW of IT load, its draws from the
/// stream keyed `key` (a fixed strategy: the conversion's index in the strategy, so the shares of
/// a sweep see the same draws; `optimal`: the slice index, whatever the decision day).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AiProject {
    /// Decision day `τ`.
    pub tau: usize,
    /// IT load, MW.
    pub it_mw: f64,
    /// Key of the project's random stream.
    pub key: u64,
}

/// The market inputs of one day that AI projects need, one entry per lane.
#[derive(Debug, Clone, Copy)]
pub struct AiDay<'a> {
    /// Day index.
    pub t: usize,
    /// Log lease market rate `ln L_t`.
    pub ln_l: &'a [f64],
    /// BTC/USD `S_t` (the BTC view, the GPU cloud's revenue in BTC terms).
    pub s: &'a [f64],
    /// Site power price `p_t`, $/MWh (the GPU cloud's power bill).
    pub usd_mwh: f64,
}

/// The cold per-lane state of a lease: what only an event reads.
#[derive(Debug, Clone)]
pub struct Lease {
    /// Word position in the project's stream of the next draw.
    word: u128,
    /// End of the current term (next renewal decision), or [`NEVER`].
    term_end: usize,
    /// Day the rent stops for a default (default day + backstop), or [`NEVER`].
    stop: usize,
    /// Day an empty hall is re-let, or [`NEVER`].
    relet: usize,
    /// Daily NOI at `L = 1` (IT MW · `rent_per_mw_it`).
    unit: f64,
    /// Rent of term 0, signed at `L_τ` on the decision day.
    signed: f64,
    /// Whether the first term has started.
    started: bool,
}

/// Bytes of one key's stream on one lane in an [`AiBook`] (the memory budget's figure): the
/// generator and the words drawn so far (a few dozen for tenant events).
pub const STREAM_BYTES: usize = std::mem::size_of::<Words>() + 64 * 4;

/// One lane's stream of one key ([`risk_rng`]) from a word position on: its words are drawn once
/// and read by every project of the key, whose draws are the same numbers (see [`AiBook::new`]).
#[derive(Debug, Clone)]
struct Words {
    /// Word position of `buf[0]`.
    start: u128,
    buf: Vec<u32>,
    /// The stream, at word position `start + buf.len()`.
    src: ChaCha8Rng,
}

impl Words {
    /// The word at position `pos` (`>= start`) of the stream.
    #[inline]
    fn at(&mut self, pos: u128) -> u32 {
        debug_assert!(pos >= self.start, "a word before the cached stream");
        let k = (pos - self.start) as usize;
        while self.buf.len() <= k {
            self.buf.push(self.src.next_u32());
        }
        self.buf[k]
    }
}

/// [`Words`] read from word position `pos` on: the numbers of the key's `ChaCha8Rng` set to that
/// word position, which hands out its words in order (a `u64` is the next two words, the first
/// one low; bytes are whole words, little-endian, the last one cut).
struct Cursor<'a> {
    words: &'a mut Words,
    pos: u128,
}

impl RngCore for Cursor<'_> {
    fn next_u32(&mut self) -> u32 {
        let x = self.words.at(self.pos);
        self.pos += 1;
        x
    }

    fn next_u64(&mut self) -> u64 {
        let lo = u64::from(self.next_u32());
        let hi = u64::from(self.next_u32());
        (hi << 32) | lo
    }

    fn fill_bytes(&mut self, dst: &mut [u8]) {
        for chunk in dst.chunks_mut(4) {
            let w = self.next_u32().to_le_bytes();
            chunk.copy_from_slice(&w[..chunk.len()]);
        }
    }
}

/// The AI projects of one block: per project and lane, a small state machine and the day's cash.
#[derive(Debug, Clone)]
pub struct AiBook<'a> {
    terms: &'a AiTerms,
    projects: Vec<AiProject>,
    lanes: usize,
    /// Hot per-lane state, `[p · lanes + i]`: the lane's ready day `τ + B_k`.
    ready: Vec<usize>,
    /// Capex per build day (spent on days `τ .. capex_end`).
    capex_day: Vec<f64>,
    /// First day without capex.
    capex_end: Vec<usize>,
    /// Daily rent × NOI of the current term before escalation (0 = no rent).
    rate: Vec<f64>,
    /// First day of the current term (escalator base).
    term_start: Vec<u32>,
    /// Expected-value form: `renewal_probability^c` of the current term.
    evf: Vec<f64>,
    /// Next day something happens to the lane (ready, term end, stop, re-let).
    next: Vec<usize>,
    /// Per project, the earliest `next` of its lanes: the days before it have no event, and
    /// the lanes are not looked at.
    next_min: Vec<usize>,
    /// Per project, the last `capex_end` of its lanes, and (a lease) whether its `capex` is
    /// all zeros since a day on or after it: the build is over on every lane, so the day's
    /// capex is neither written again nor read (`o − 0 = o` exactly: the same bits).
    capex_last: Vec<usize>,
    capex_zero: Vec<bool>,
    /// With [`AiBook::restrict_lanes`]: per project, the only lanes that are stepped.
    members: Option<Vec<Vec<u32>>>,
    /// With [`AiBook::keep_log`]: per lane slot, the lease's state after each day with events
    /// (day, rate, term start, expected-value factor), so that its rent can be replayed
    /// ([`AiBook::lease_opcash`]); empty otherwise.
    log: Vec<Vec<(usize, f64, u32, f64)>>,
    /// Cold state of each lane's lease.
    cold: Vec<Lease>,
    /// Each key's stream per lane, `[x · lanes + i]` for the key of `key_slot[p] = x`.
    streams: Vec<Words>,
    key_slot: Vec<usize>,
    /// The day's capex and operating cash, `[p · lanes + i]`.
    capex: Vec<f64>,
    opcash: Vec<f64>,
    /// GPU cloud: the block's GPU price index ([`GpuIndex`], its own keyed stream), the day it
    /// stands at, and each project's state; `None` and empty for a lease.
    gpu: Option<GpuIndex>,
    gpu_t: usize,
    cloud: Vec<CloudLanes>,
    /// GPU cloud: the GPUs bought on the last day, `[p · lanes + i]` (included in `capex`).
    gpu_buy: Vec<f64>,
}

impl<'a> AiBook<'a> {
    /// The projects of block `block` (`lanes` paths, lane `i` is path `block · BLOCK + i`) with
    /// their build-delay and capex draws.
    pub fn new(
        terms: &'a AiTerms,
        projects: Vec<AiProject>,
        seed: u64,
        block: u64,
        lanes: usize,
    ) -> AiBook<'a> {
        let np = projects.len();
        let size = np * lanes;
        let mut book = AiBook {
            terms,
            lanes,
            ready: vec![NEVER; size],
            capex_day: vec![0.0; size],
            capex_end: vec![0; size],
            rate: vec![0.0; size],
            term_start: vec![0; size],
            evf: vec![1.0; size],
            next: vec![NEVER; size],
            next_min: vec![NEVER; np],
            capex_last: vec![0; np],
            capex_zero: vec![false; np],
            members: None,
            log: Vec::new(),
            cold: Vec::with_capacity(size),
            streams: Vec::new(),
            key_slot: vec![0; np],
            capex: vec![0.0; size],
            opcash: vec![0.0; size],
            gpu: terms
                .cloud
                .as_ref()
                .map(|c| GpuIndex::new(c, seed, block, lanes, false)),
            gpu_t: 0,
            cloud: match &terms.cloud {
                Some(c) => projects
                    .iter()
                    .map(|pr| {
                        let gross = pr.it_mw / terms.it_per_gross;
                        CloudLanes::new(CloudTerms::new(c, pr.it_mw, gross), lanes)
                    })
                    .collect(),
                None => Vec::new(),
            },
            gpu_buy: if terms.cloud.is_some() {
                vec![0.0; size]
            } else {
                Vec::new()
            },
            projects,
        };
        let first_path = block * crate::process::BLOCK as u64;
        // Each lane's first draws of each key: projects that share a key (`optimal`'s slice `j`
        // on every decision day) share its stream, so the draws are made once per key and lane
        // (the same numbers: the stream depends on the seed, the path and the key only).
        let mut keys: Vec<u64> = Vec::new();
        let mut drawn: Vec<(f64, f64)> = Vec::new();
        for (p, pr) in book.projects.iter().enumerate() {
            let at = match keys.iter().position(|&k| k == pr.key) {
                Some(x) => x,
                None => {
                    for i in 0..lanes {
                        let mut rng = risk_rng(seed, first_path + i as u64, pr.key);
                        // Both draws always, so turning one risk on leaves the other's draws
                        // alone (common random numbers across scenarios).
                        let e: f64 = rng.sample(Exp1);
                        let z: f64 = rng.sample(StandardNormal);
                        drawn.push((e, z));
                        book.streams.push(Words {
                            start: rng.get_word_pos(),
                            buf: Vec::new(),
                            src: rng,
                        });
                    }
                    keys.push(pr.key);
                    keys.len() - 1
                }
            };
            book.key_slot[p] = at;
            for i in 0..lanes {
                let (e, z) = drawn[at * lanes + i];
                let word = book.streams[at * lanes + i].start;
                let delay = (e * terms.delay_days).round() as usize;
                let b = terms.build_days + delay;
                let s = terms.sigma;
                let capex = pr.it_mw * terms.capex_per_mw_it * (s * z - 0.5 * s * s).exp();
                let o = p * lanes + i;
                book.ready[o] = pr.tau.saturating_add(b);
                book.capex_day[o] = capex / b.max(1) as f64;
                book.capex_end[o] = pr.tau + b.max(1);
                book.capex_last[p] = book.capex_last[p].max(book.capex_end[o]);
                book.term_start[o] = pr.tau as u32;
                book.next[o] = book.ready[o];
                book.next_min[p] = book.next_min[p].min(book.ready[o]);
                book.cold.push(Lease {
                    word,
                    term_end: NEVER,
                    stop: NEVER,
                    relet: NEVER,
                    unit: pr.it_mw * terms.rent_per_mw_it,
                    signed: 0.0,
                    started: false,
                });
            }
        }
        book
    }

    /// Steps project `p` on the lanes `members[p]` (ascending) only, from now on: their values
    /// are those of the whole book (each lane's draws and state are its own), and the other lanes'
    /// capex and cash are meaningless. For a caller that needs each project on a few lanes (a
    /// policy's conversions: `crate::payoff::slices`), most of the work of a day is skipped.
    pub fn restrict_lanes(&mut self, members: Vec<Vec<u32>>) {
        assert_eq!(
            members.len(),
            self.projects.len(),
            "one lane list per project"
        );
        self.members = Some(members);
    }

    /// Adds lane `i` to project `p`'s lanes of [`AiBook::restrict_lanes`], before the project's
    /// first day (a lane that joins later would have missed its days).
    pub fn add_member(&mut self, p: usize, i: usize) {
        if let Some(m) = self.members.as_mut() {
            m[p].push(i as u32);
        }
    }

    /// The block's projects.
    pub fn projects(&self) -> &[AiProject] {
        &self.projects
    }

    /// Capex of project `p` on the last [`AiBook::day`], per lane.
    pub fn capex(&self, p: usize) -> &[f64] {
        &self.capex[p * self.lanes..(p + 1) * self.lanes]
    }

    /// Operating cash (rent × NOI) of project `p` on the last [`AiBook::day`], per lane.
    pub fn opcash(&self, p: usize) -> &[f64] {
        &self.opcash[p * self.lanes..(p + 1) * self.lanes]
    }

    /// Ready day `τ + B_k` of project `p` per lane: rent starts, and with
    /// `ai.mine_during_build` the converted machines leave (may be `>= n`: never inside the
    /// horizon).
    pub fn ready(&self, p: usize) -> &[usize] {
        &self.ready[p * self.lanes..(p + 1) * self.lanes]
    }

    /// GPU cloud: the GPUs project `p` bought on the last [`AiBook::day`], per lane (a part of
    /// [`AiBook::capex`]; the lender funds them with `finance.fund_gpus`). Empty for a lease.
    pub fn gpu_buy(&self, p: usize) -> &[f64] {
        self.gpu_buy
            .get(p * self.lanes..(p + 1) * self.lanes)
            .unwrap_or(&[])
    }

    /// Adds `w · (opcash − capex) / s` of project `p` to `out` per lane: the day's AI cash in BTC
    /// at the lane's price `s` (MODEL.md §11), weighted.
    #[inline(always)]
    pub fn add_cash_per(&self, p: usize, w: f64, s: &[f64], out: &mut [f64]) {
        let (c, o) = (self.capex(p), self.opcash(p));
        if let Some(m) = self.members.as_ref() {
            // A restricted book: its lanes only (the others' cash is meaningless).
            for &i in &m[p] {
                let i = i as usize;
                out[i] += (o[i] - c[i]) / s[i] * w;
            }
            return;
        }
        if self.capex_zero[p] {
            for i in 0..out.len() {
                out[i] += o[i] / s[i] * w;
            }
            return;
        }
        for i in 0..out.len() {
            out[i] += (o[i] - c[i]) / s[i] * w;
        }
    }

    /// Keeps a log of every lease event from now on (call it before the first day), for
    /// [`AiBook::lease_opcash`].
    pub fn keep_log(&mut self) {
        self.log = vec![Vec::new(); self.ready.len()];
    }

    /// Whether project `p` is a lease whose capex is over on every lane: from the last day
    /// stepped on, its capex stays zero and its cash is the rent [`AiBook::lease_opcash`]
    /// replays.
    pub fn settled_lease(&self, p: usize) -> bool {
        self.terms.kind == ProjectKind::Lease && self.capex_zero[p] && self.members.is_none()
    }

    /// The operating cash (rent × NOI) of lease project `p` on lane `i` on days
    /// `from .. from + out.len()` (each after that day's events), replayed from the log of
    /// [`AiBook::keep_log`] with [`AiBook::day`]'s operations, so the same bits as the
    /// [`AiBook::opcash`] of those days. Needs the log from the project's first day; `from` past
    /// the lane's ready day. Writes every value of `out`.
    pub fn lease_opcash(&self, p: usize, i: usize, from: usize, out: &mut [f64]) {
        let terms = self.terms;
        let o = p * self.lanes + i;
        let log = &self.log[o];
        let last32 = (terms.esc.len() - 1) as u32;
        let esc = &terms.esc[..last32 as usize + 1];
        let (decay, last_d) = (&terms.decay[..], terms.decay.len() - 1);
        let ready = self.ready[o];
        let (mut rate, mut start, mut evf) = (0.0, self.projects[p].tau as u32, 1.0);
        let mut k = 0;
        let mut t = from;
        while t < from + out.len() {
            while k < log.len() && log[k].0 <= t {
                (_, rate, start, evf) = log[k];
                k += 1;
            }
            // Days until the next event (or the end) have this state.
            let end = log
                .get(k)
                .map_or(from + out.len(), |e| e.0.min(from + out.len()));
            let seg = &mut out[t - from..end - from];
            if terms.events && t as u32 >= start {
                // `rent` reads the escalator at `min(t − start, last)`: contiguously until the
                // clamp, then its last entry. The same multiplications as `rent` per day, as
                // two loops without a gather or a per-day clamp.
                let first = (t as u32 - start) as usize;
                let lin = (last32 as usize + 1).saturating_sub(first).min(seg.len());
                let (a, b) = seg.split_at_mut(lin);
                for (x, &e) in a.iter_mut().zip(&esc[first.min(esc.len())..]) {
                    *x = rate * e;
                }
                let tail = rate * esc[last32 as usize];
                b.fill(tail);
            } else if terms.events {
                for (j, x) in seg.iter_mut().enumerate() {
                    let t32 = (t + j) as u32;
                    *x = rent(rate, esc, last32, t32, start);
                }
            } else {
                for (j, x) in seg.iter_mut().enumerate() {
                    let t32 = (t + j) as u32;
                    let since = (t + j).saturating_sub(ready).min(last_d);
                    *x = rent(rate, esc, last32, t32, start) * (evf * decay[since]);
                }
            }
            t = end;
        }
    }

    /// Whether project `p` has started (its decision day has come) by day `t`.
    pub fn started(&self, p: usize, t: usize) -> bool {
        t >= self.projects[p].tau
    }

    /// The first day from which lease project `p` may be valued by its events alone
    /// ([`AiBook::lease_events`]): the day after its build is over on every lane (its capex is
    /// zero from then on, [`AiBook::project_day`] having written the zeros), when its lanes draw
    /// their events (`ai.default_events`: the cash of a day is then `rate · esc[t − start]`,
    /// which changes form only on an event day). `None` for a cloud or the expected-value form:
    /// those are stepped day by day. (Every lane's rent has started by then: a lane is ready no
    /// later than its capex ends.)
    pub fn coast_from(&self, p: usize) -> Option<usize> {
        let coasts = self.terms.lease_with_events();
        coasts.then(|| (self.capex_last[p] + 1).max(self.projects[p].tau + 1))
    }

    /// Day `τ` of lease project `p` without [`AiBook::project_day`]: term 0 signed at the lease
    /// rate of the decision day on each lane (the restricted book's lanes only), as
    /// `project_day` does; then [`AiBook::lease_events`] of the day.
    pub fn sign(&mut self, p: usize, ln_l: &[f64]) {
        let o = p * self.lanes;
        match self.members.as_ref() {
            Some(m) => {
                for &i in &m[p] {
                    let c = &mut self.cold[o + i as usize];
                    c.signed = c.unit * ln_l[i as usize].exp();
                }
            }
            None => {
                for (i, c) in self.cold[o..o + self.lanes].iter_mut().enumerate() {
                    c.signed = c.unit * ln_l[i].exp();
                }
            }
        }
    }

    /// Project `p`'s build per lane: the capex of each build day, spent on days
    /// `τ .. capex_end`, and `capex_end`.
    pub fn build(&self, p: usize) -> (&[f64], &[usize]) {
        let r = p * self.lanes..(p + 1) * self.lanes;
        (&self.capex_day[r.clone()], &self.capex_end[r])
    }

    /// The lanes a restricted book steps project `p` on ([`AiBook::restrict_lanes`]), `None`
    /// when it steps every lane.
    pub fn members(&self, p: usize) -> Option<&[u32]> {
        self.members.as_ref().map(|m| &m[p][..])
    }

    /// Day `t` of lease project `p` from its [`AiBook::coast_from`] day on: only the lanes with
    /// an event today are stepped (MODEL.md's order, as [`AiBook::project_day`] does), each
    /// after `before(i, rate, start)` is told the state its rent had until today (the lane's
    /// daily rent × NOI before escalation and its term's first day). The day's
    /// [`AiBook::opcash`] is not written: a caller sums the rent of the days between events in
    /// closed form ([`crate::payoff::segsum`]).
    #[inline(always)]
    pub fn lease_events(
        &mut self,
        p: usize,
        t: usize,
        ln_l: &[f64],
        mut before: impl FnMut(usize, f64, u32),
    ) {
        if t < self.next_min[p] {
            return;
        }
        let (lanes, o) = (self.lanes, p * self.lanes);
        // A restricted book: its lanes only (the others are never stepped, and have no rent).
        if let Some(list) = self.members.as_mut().map(|m| std::mem::take(&mut m[p])) {
            let mut first = NEVER;
            for &i in &list {
                let (i, q) = (i as usize, o + i as usize);
                if self.next[q] == t {
                    before(i, self.rate[q], self.term_start[q]);
                    self.lease_event(p, q, t, ln_l[i]);
                }
                first = first.min(self.next[q]);
            }
            self.next_min[p] = first;
            if let Some(m) = self.members.as_mut() {
                m[p] = list;
            }
            return;
        }
        // Today's lanes as a bit mask first (compares without a branch, 64 lanes a word; an event
        // changes its own lane only, so the mask is the one a lane-by-lane look would see), then
        // their events in lane order. The project's next day is the least of the other lanes'
        // (in the same pass as the mask) and of today's lanes' after their events.
        let mut today = [0u64; crate::process::BLOCK.div_ceil(64)];
        let mut first = NEVER;
        for (word, next) in today.iter_mut().zip(self.next[o..o + lanes].chunks(64)) {
            *word = next
                .iter()
                .enumerate()
                .fold(0u64, |m, (b, &x)| m | (((x == t) as u64) << b));
            first = next
                .iter()
                .fold(first, |a, &x| a.min(if x == t { NEVER } else { x }));
        }
        for (c, &word) in today.iter().enumerate() {
            let mut m = word;
            while m != 0 {
                let i = c * 64 + m.trailing_zeros() as usize;
                m &= m - 1;
                before(i, self.rate[o + i], self.term_start[o + i]);
                self.lease_event(p, o + i, t, ln_l[i]);
                first = first.min(self.next[o + i]);
            }
        }
        self.next_min[p] = first;
    }

    /// Lease project `p`'s rent × NOI on lane `i` on day `t` after [`AiBook::lease_events`] of
    /// that day: its [`AiBook::opcash`] as [`AiBook::project_day`] writes it on a day after its
    /// [`AiBook::coast_from`] (the same operations, so the same bits).
    #[inline(always)]
    pub fn lease_rent(&self, p: usize, i: usize, t: usize) -> f64 {
        let q = p * self.lanes + i;
        let last32 = (self.terms.esc.len() - 1) as u32;
        let esc = &self.terms.esc[..last32 as usize + 1];
        rent(self.rate[q], esc, last32, t as u32, self.term_start[q])
    }

    /// The next day one of project `p`'s lanes has an event (a restricted book's lanes once
    /// [`AiBook::lease_events`] has looked at them; before, possibly earlier).
    pub fn next_event(&self, p: usize) -> usize {
        self.next_min[p]
    }

    /// Lease project `p`'s state per lane: the daily rent × NOI of the current term before
    /// escalation (0 = no rent) and the term's first day (the escalator's base).
    pub fn lease_state(&self, p: usize) -> (&[f64], &[u32]) {
        let r = p * self.lanes..(p + 1) * self.lanes;
        (&self.rate[r.clone()], &self.term_start[r])
    }

    /// Adds `w · (opcash − capex)` of project `p` (the last day's AI cash, weighted) to `out`
    /// per lane.
    #[inline(always)]
    pub fn add_cash(&self, p: usize, w: f64, out: &mut [f64]) {
        let (c, o) = (self.capex(p), self.opcash(p));
        if let Some(m) = self.members.as_ref() {
            // A restricted book: its lanes only (the others' cash is meaningless).
            for &i in &m[p] {
                let i = i as usize;
                out[i] += (o[i] - c[i]) * w;
            }
            return;
        }
        if self.capex_zero[p] {
            for i in 0..out.len() {
                out[i] += o[i] * w;
            }
            return;
        }
        for i in 0..out.len() {
            out[i] += (o[i] - c[i]) * w;
        }
    }

    /// [`AiBook::add_cash`] into two sums in one pass over the project's cash: `w1 ·` the cash
    /// into `out1` and `w2 ·` it into `out2`, per lane the operations of two `add_cash` calls
    /// (the same bits), the cash read once.
    #[inline(always)]
    pub fn add_cash2(
        &self,
        p: usize,
        (w1, out1): (f64, &mut [f64]),
        (w2, out2): (f64, &mut [f64]),
    ) {
        let (c, o) = (self.capex(p), self.opcash(p));
        if let Some(m) = self.members.as_ref() {
            for &i in &m[p] {
                let i = i as usize;
                let x = o[i] - c[i];
                out1[i] += x * w1;
                out2[i] += x * w2;
            }
            return;
        }
        let n = out1.len().min(out2.len()).min(o.len()).min(c.len());
        let (out1, out2, o, c) = (&mut out1[..n], &mut out2[..n], &o[..n], &c[..n]);
        if self.capex_zero[p] {
            for i in 0..n {
                out1[i] += o[i] * w1;
                out2[i] += o[i] * w2;
            }
            return;
        }
        for i in 0..n {
            let x = o[i] - c[i];
            out1[i] += x * w1;
            out2[i] += x * w2;
        }
    }

    /// Steps every started project to day `d.t` and writes the day's capex and operating cash.
    /// Days must come in order, each once. Always inlined, so that it is compiled for the
    /// engine's instruction set (`Prepared::run_block`): called out of line it is baseline
    /// x86-64, where the GPU index's normals and `mul_add`s become the C library's software fma.
    #[inline(always)]
    pub fn day(&mut self, d: &AiDay<'_>) {
        self.begin_day(d.t);
        for p in 0..self.projects.len() {
            self.project_day(p, d);
        }
    }

    /// The part of [`AiBook::day`] shared by the projects: the GPU index to day `t`. Then
    /// [`AiBook::project_day`] for each project (in any order: projects do not interact), so a
    /// caller can use a project's cash while its lanes are still in cache.
    #[inline(always)]
    pub fn begin_day(&mut self, t: usize) {
        if let Some(g) = self.gpu.as_mut() {
            // g_t: one step per day since the last call (the index moves on every day, whether
            // or not a project has started).
            while self.gpu_t < t {
                g.step();
                self.gpu_t += 1;
            }
        }
    }

    /// Steps project `p` to day `d.t` (nothing before it starts) and writes its capex and
    /// operating cash, after [`AiBook::begin_day`] of that day.
    #[inline(always)]
    pub fn project_day(&mut self, p: usize, d: &AiDay<'_>) {
        let t = d.t;
        let lanes = self.lanes;
        let terms = self.terms;
        let pr = self.projects[p];
        if t < pr.tau {
            return;
        }
        if self.members.is_some() {
            self.project_day_members(p, d);
            return;
        }
        let r = p * lanes..(p + 1) * lanes;
        if t == pr.tau {
            // Term 0 is signed at the lease rate of the decision day.
            for (i, c) in self.cold[r.clone()].iter_mut().enumerate() {
                c.signed = c.unit * d.ln_l[i].exp();
            }
        }
        if !self.capex_zero[p] {
            let capex = &mut self.capex[r.clone()];
            let cap_day = &self.capex_day[r.clone()];
            let cap_end = &self.capex_end[r.clone()];
            for i in 0..lanes {
                capex[i] = if t < cap_end[i] { cap_day[i] } else { 0.0 };
            }
            // A cloud adds its GPU purchases to the day's capex (`cloud_day`).
            self.capex_zero[p] = terms.kind == ProjectKind::Lease && t >= self.capex_last[p];
        }
        match terms.kind {
            ProjectKind::Lease => self.lease_day(p, t, d.ln_l),
            ProjectKind::Cloud => self.cloud_day(p, t, d.usd_mwh),
        }
    }

    /// [`AiBook::project_day`] on the member lanes of project `p` (a started project), lane by
    /// lane: each lane's steps in the same order as the whole book's (signing, capex, events,
    /// cash), so with the same bits.
    #[inline(always)]
    fn project_day_members(&mut self, p: usize, d: &AiDay<'_>) {
        let t = d.t;
        let terms = self.terms;
        let tau = self.projects[p].tau;
        let o = p * self.lanes;
        let members = self.members.as_mut().map(|m| std::mem::take(&mut m[p]));
        let last32 = (terms.esc.len() - 1) as u32;
        for &i in members.iter().flatten() {
            let (i, q) = (i as usize, o + i as usize);
            if t == tau {
                self.cold[q].signed = self.cold[q].unit * d.ln_l[i].exp();
            }
            self.capex[q] = if t < self.capex_end[q] {
                self.capex_day[q]
            } else {
                0.0
            };
            match terms.kind {
                ProjectKind::Lease => {
                    if self.next[q] == t {
                        self.lease_event(p, q, t, d.ln_l[i]);
                    }
                    let r = rent(
                        self.rate[q],
                        &terms.esc,
                        last32,
                        t as u32,
                        self.term_start[q],
                    );
                    self.opcash[q] = if terms.events {
                        r
                    } else {
                        let since = t.saturating_sub(self.ready[q]).min(terms.decay.len() - 1);
                        r * (self.evf[q] * terms.decay[since])
                    };
                }
                ProjectKind::Cloud => {
                    let Some(gpu) = self.gpu.as_ref() else {
                        continue;
                    };
                    let g = gpu.g()[i];
                    let cd = self.cloud[p].day(i, t, self.ready[q], g, d.usd_mwh);
                    self.opcash[q] = cd.operating();
                    self.gpu_buy[q] = cd.gpu;
                    self.capex[q] += cd.gpu;
                }
            }
        }
        if let (Some(m), Some(list)) = (self.members.as_mut(), members) {
            m[p] = list;
        }
    }

    /// The GPU cloud's day for project `p` (MODEL.md §9): nothing before the lane's ready day,
    /// then GPU purchases (added to the day's capex), revenue and costs.
    #[inline(always)]
    fn cloud_day(&mut self, p: usize, t: usize, usd_mwh: f64) {
        let lanes = self.lanes;
        let o = p * lanes;
        let Some(gpu) = self.gpu.as_ref() else {
            return;
        };
        let g = &gpu.g()[..lanes];
        let ready = &self.ready[o..o + lanes];
        self.cloud[p].days(
            t,
            (ready, g, usd_mwh),
            (
                &mut self.opcash[o..o + lanes],
                &mut self.gpu_buy[o..o + lanes],
                &mut self.capex[o..o + lanes],
            ),
        );
    }

    /// The lease's day for project `p`: events of the lanes due today, then the rent.
    #[inline(always)]
    fn lease_day(&mut self, p: usize, t: usize, ln_l: &[f64]) {
        let lanes = self.lanes;
        let o = p * lanes;
        // (A whole book: `project_day` steps a restricted one lane by lane.)
        self.lease_events(p, t, ln_l, |_, _, _| {});
        let terms = self.terms;
        let rate = &self.rate[o..o + lanes];
        let start = &self.term_start[o..o + lanes];
        let out = &mut self.opcash[o..o + lanes];
        // Indices clamped to the tables (a no-op: `t − start ≤ t < n`), so the loops have no
        // bounds check and vectorize.
        // u32 days: the clamp and the table look-up are AVX2 vector instructions (a u64 `min` is
        // not, and made this loop, a third of an `optimal` run, scalar).
        let last32 = (terms.esc.len() - 1) as u32;
        // A table of exactly `last32 + 1` entries, so that the clamped index needs no bounds check.
        let esc = &terms.esc[..last32 as usize + 1];
        let t32 = t as u32;
        if terms.events {
            #[cfg(target_arch = "x86_64")]
            if gather512() {
                // SAFETY: `gather512()` is true only when the CPU has AVX-512 F and AVX2.
                unsafe { rent_avx512(out, rate, start, esc, t32) };
                return;
            }
            for i in 0..lanes {
                out[i] = rent(rate[i], esc, last32, t32, start[i]);
            }
        } else {
            // Expected-value form: renewal^c and the default decay since the first rent day.
            let ready = &self.ready[o..o + lanes];
            let evf = &self.evf[o..o + lanes];
            let decay = &terms.decay[..];
            let last_d = decay.len() - 1;
            for i in 0..lanes {
                let since = t.saturating_sub(ready[i]).min(last_d);
                out[i] = rent(rate[i], esc, last32, t32, start[i]) * (evf[i] * decay[since]);
            }
        }
    }

    /// Everything due on day `t` for lane slot `o` (scalar: events are rare). Several events can
    /// fall on one day (a re-let after 0 months, a default on the first day); each is handled in
    /// MODEL.md's order: rent starts, the rent stops (default), the term ends, the hall is re-let.
    #[cold]
    fn lease_event(&mut self, p: usize, o: usize, t: usize, ln_l: f64) {
        let terms = self.terms;
        let mut c = self.cold[o].clone();
        // The project's stream from the lease's next draw on: its key's words on this lane.
        let slot = self.key_slot[p] * self.lanes + (o - p * self.lanes);
        let mut rng = Cursor {
            words: &mut self.streams[slot],
            pos: c.word,
        };
        let m = terms.term_days;
        // Bounded: a loop of zero-day events (a default on the first day re-let after 0 months,
        // again and again) ends with the hall empty rather than spinning.
        for _ in 0..64 {
            let active = self.rate[o] > 0.0;
            if !c.started && t == self.ready[o] {
                // First rent day: term 0 at the rate signed on the decision day.
                c.started = true;
                self.rate[o] = c.signed;
                self.term_start[o] = t as u32;
                c.term_end = t.saturating_add(m);
                if terms.events {
                    c.stop = default_stop(terms, t, &mut rng);
                }
            } else if active && t == c.stop {
                // Default (after its backstop): the hall empties.
                self.rate[o] = 0.0;
                c.term_end = NEVER;
                c.stop = NEVER;
                c.relet = terms.relet_days.map_or(NEVER, |r| t.saturating_add(r));
            } else if active && t == c.term_end {
                let renewed = if terms.events {
                    let u: f64 = rng.random();
                    u < terms.renew
                } else {
                    // Expected-value form: always renewed, weighted by renewal^c.
                    self.evf[o] *= terms.renew;
                    true
                };
                if renewed {
                    self.rate[o] = c.unit * ln_l.exp();
                    self.term_start[o] = t as u32;
                    c.term_end = t.saturating_add(m);
                } else {
                    self.rate[o] = 0.0;
                    c.term_end = NEVER;
                    c.stop = NEVER;
                    c.relet = terms.relet_days.map_or(NEVER, |r| t.saturating_add(r));
                }
            } else if !active && t == c.relet {
                // A new tenant at the market rate of the day, with its own default draw.
                self.rate[o] = c.unit * ln_l.exp();
                self.term_start[o] = t as u32;
                c.term_end = t.saturating_add(m);
                c.relet = NEVER;
                c.stop = default_stop(terms, t, &mut rng);
            } else {
                break;
            }
            self.next[o] = if self.rate[o] > 0.0 {
                c.term_end.min(c.stop)
            } else {
                c.relet
            };
            if self.next[o] != t {
                break;
            }
        }
        if self.next[o] == t {
            // Only reachable through 64 zero-day events in a row: leave the hall empty.
            self.rate[o] = 0.0;
            self.next[o] = NEVER;
        }
        c.word = rng.pos;
        self.cold[o] = c;
        if let Some(log) = self.log.get_mut(o) {
            log.push((t, self.rate[o], self.term_start[o], self.evf[o]));
        }
    }
}

/// A lease's rent × NOI on day `t32` of a term started on `start` at daily rate `rate`: the rate
/// escalated since the term's start (the table index clamped to its last entry, a no-op that
/// lets lane loops go without bounds checks). The expected-value form multiplies it by
/// `renewal^c · decay`. The one formula of the book's days and of its replay
/// ([`AiBook::lease_opcash`]).
#[inline(always)]
fn rent(rate: f64, esc: &[f64], last32: u32, t32: u32, start: u32) -> f64 {
    rate * esc[(t32 - start).min(last32) as usize]
}

/// The day a tenant whose first term starts on `start` stops paying: its default day
/// `start + round(365 · E / λ)` (`E ~ Exp(1)`, drawn even when `λ = 0` so the stream's later
/// draws do not depend on `λ`) plus the backstop; never when `λ = 0`.
fn default_stop(terms: &AiTerms, start: usize, rng: &mut impl Rng) -> usize {
    let e: f64 = rng.sample(Exp1);
    if terms.lambda <= 0.0 || !terms.events {
        return NEVER;
    }
    let days = (365.0 * e / terms.lambda).round();
    if days >= (terms.n as f64) {
        return NEVER;
    }
    start
        .saturating_add(days as usize)
        .saturating_add(terms.backstop_days)
}

/// Whether the lease's rent look-up runs [`rent_avx512`]: the engine runs AVX-512 (its
/// `HASHPIVOT_ISA` included; checked once).
#[cfg(target_arch = "x86_64")]
fn gather512() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| {
        crate::process::isa() == crate::process::Isa::Avx512
            && std::is_x86_feature_detected!("avx2")
    })
}

/// `out[i] = rate[i] · esc[min(t − start[i], len − 1)]`, eight lanes at a time with AVX-512's
/// gather (the compiler keeps this look-up scalar: a fifth of an `optimal` run on the default).
/// The same loads and multiplies as the scalar loop: the same bits.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,avx2")]
unsafe fn rent_avx512(out: &mut [f64], rate: &[f64], start: &[u32], esc: &[f64], t32: u32) {
    use std::arch::x86_64::*;
    let n = out.len().min(rate.len()).min(start.len());
    let last32 = (esc.len() - 1) as u32;
    let (tv, lv) = (
        _mm256_set1_epi32(t32 as i32),
        _mm256_set1_epi32(last32 as i32),
    );
    let mut i = 0;
    while i + 8 <= n {
        // SAFETY: lanes `i .. i + 8` are inside all three slices; each index is clamped to
        // `esc`'s last entry (as unsigned: `t ≥ start` for a started lease, as in the scalar loop).
        unsafe {
            let s = _mm256_loadu_si256(start.as_ptr().add(i) as *const __m256i);
            let idx = _mm256_min_epu32(_mm256_sub_epi32(tv, s), lv);
            let e = _mm512_i32gather_pd::<8>(idx, esc.as_ptr());
            let r = _mm512_loadu_pd(rate.as_ptr().add(i));
            _mm512_storeu_pd(out.as_mut_ptr().add(i), _mm512_mul_pd(r, e));
        }
        i += 8;
    }
    for j in i..n {
        out[j] = rate[j] * esc[(t32 - start[j]).min(last32) as usize];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(target_arch = "x86_64")]
    fn the_gathered_rent_is_the_scalar_rent_bit_for_bit() {
        if !(std::is_x86_feature_detected!("avx512f") && std::is_x86_feature_detected!("avx2")) {
            eprintln!("no AVX-512 here: skipped");
            return;
        }
        let esc: Vec<f64> = (0..5476).map(|d| 1.03f64.powf(d as f64 / 365.0)).collect();
        for (lanes, t) in [(256usize, 4000u32), (13, 5475), (7, 30), (256, 0)] {
            let rate: Vec<f64> = (0..lanes).map(|i| 1e5 + 37.0 * i as f64).collect();
            let start: Vec<u32> = (0..lanes).map(|i| (i as u32 * 97) % (t + 1)).collect();
            let want: Vec<u64> = (0..lanes)
                .map(|i| (rate[i] * esc[(t - start[i]).min(5475) as usize]).to_bits())
                .collect();
            let mut out = vec![0.0; lanes];
            // SAFETY: checked above that the CPU has AVX-512 F and AVX2.
            unsafe { rent_avx512(&mut out, &rate, &start, &esc, t) };
            let got: Vec<u64> = out.iter().map(|x| x.to_bits()).collect();
            assert_eq!(got, want, "{lanes} lanes, day {t}");
        }
    }

    /// A one-lane book of one project on `sc`, stepped over `days` with the lease rate `l(t)`;
    /// returns (capex, opcash) per day and the ready day.
    fn run(
        sc: &Scenario,
        pr: AiProject,
        days: usize,
        l: impl Fn(usize) -> f64,
    ) -> (Vec<f64>, Vec<f64>, usize) {
        let terms = AiTerms::new(sc, days);
        let mut book = AiBook::new(&terms, vec![pr], 7, 0, 1);
        let (mut capex, mut op) = (Vec::new(), Vec::new());
        for t in 0..days {
            let ln_l = [l(t).ln()];
            book.day(&AiDay {
                t,
                ln_l: &ln_l,
                s: &[1.0],
                usd_mwh: 0.0,
            });
            capex.push(book.capex(0)[0]);
            op.push(book.opcash(0)[0]);
        }
        (capex, op, book.ready(0)[0])
    }

    /// The default scenario in `mode` with tenant events on most lanes within a few years (a
    /// default rate of 30 % a year, two-year terms).
    fn eventful(mode: AiMode) -> Scenario {
        let mut sc = Scenario::default();
        sc.ai.mode = mode;
        sc.ai.tenant_default_rate = 0.3;
        sc.ai.lease_term_years = 2.0;
        sc
    }

    /// 50 MW(IT) projects decided on `tau` with stream key `key`, one per pair.
    fn projects_of(pairs: &[(usize, u64)]) -> Vec<AiProject> {
        pairs
            .iter()
            .map(|&(tau, key)| AiProject {
                tau,
                it_mw: 50.0,
                key,
            })
            .collect()
    }

    /// A made-up market day `t` on `lanes` lanes (lease rates 80–120, BTC at 1, a power price
    /// that cycles daily) handed to `f`.
    fn on_test_day(t: usize, lanes: usize, f: impl FnOnce(&AiDay<'_>)) {
        let ln_l: Vec<f64> = (0..lanes)
            .map(|i| (80.0 + (t * 7 + i * 13) as f64 % 40.0).ln())
            .collect();
        let s = vec![1.0; lanes];
        f(&AiDay {
            t,
            ln_l: &ln_l,
            s: &s,
            usd_mwh: 40.0 + (t % 24) as f64,
        });
    }

    /// The default scenario with section 8 off (version 1's AI side).
    fn v1() -> Scenario {
        let mut sc = Scenario::default();
        sc.ai.set_risks_off();
        sc.finance = None;
        sc
    }

    fn rel(a: f64, b: f64) -> f64 {
        (a - b).abs() / b.abs().max(1e-300)
    }

    /// The expected-value form by hand (MODEL.md §5 with a §8 overrun): capex × 1.2 over the
    /// build, rent signed at `L_τ`, renewed at the market rate with `renewal^c`, the default decay.
    #[test]
    fn expected_value_form_by_hand() {
        let mut sc = v1();
        sc.ai.capex_overrun = 0.2;
        sc.ai.build_months = 1.0; // 30 days
        sc.ai.lease_term_years = 1.0;
        let a = sc.ai.clone();
        let pr = AiProject {
            tau: 3,
            it_mw: 10.0,
            key: 0,
        };
        let l = |t: usize| 100.0 + t as f64;
        let (capex, op, ready) = run(&sc, pr, 800, l);
        assert_eq!(ready, 33);
        let c = 10.0 * a.capex_usd_per_mw_it * 1.2 / 30.0;
        assert_eq!(capex[2], 0.0);
        assert!(rel(capex[3], c) < 1e-12 && rel(capex[32], c) < 1e-12);
        assert_eq!(capex[33], 0.0);
        assert_eq!(op[32], 0.0);
        let rent = |t: usize, c: i32, u: usize, lc: f64| {
            10.0 * 1000.0 * lc * 12.0 / 365.0
                * a.noi_margin
                * (1.0 + a.lease_escalator).powf((t - u) as f64 / 365.0)
                * a.renewal_probability.powi(c)
                * (-a.tenant_default_rate * (t - 33) as f64 / 365.0).exp()
        };
        for t in [33, 200, 397] {
            assert!(rel(op[t], rent(t, 0, 33, l(3))) < 1e-12, "day {t}");
        }
        for t in [398, 500, 762] {
            assert!(rel(op[t], rent(t, 1, 398, l(398))) < 1e-12, "day {t}");
        }
        assert!(rel(op[763], rent(763, 2, 763, l(763))) < 1e-12);
    }

    /// Events: a tenant who never renews, a hall re-let after 2 months at the market rate of
    /// that day (the escalator restarts), no defaults (λ = 0).
    #[test]
    fn departure_and_reletting() {
        let mut sc = v1();
        sc.ai.build_months = 0.0;
        sc.ai.lease_term_years = 1.0;
        sc.ai.default_events = true;
        sc.ai.renewal_probability = 0.0;
        sc.ai.tenant_default_rate = 0.0;
        sc.ai.relet_months = 2.0; // 61 days
        let a = sc.ai.clone();
        let pr = AiProject {
            tau: 0,
            it_mw: 1.0,
            key: 3,
        };
        let l = |t: usize| 50.0 + t as f64;
        let (capex, op, ready) = run(&sc, pr, 1000, l);
        assert_eq!(ready, 0);
        assert!(rel(capex[0], a.capex_usd_per_mw_it) < 1e-12 && capex[1] == 0.0);
        let unit = 1000.0 * 12.0 / 365.0 * a.noi_margin;
        let esc = |d: usize| (1.0 + a.lease_escalator).powf(d as f64 / 365.0);
        assert!(rel(op[0], unit * l(0)) < 1e-12);
        assert!(rel(op[364], unit * l(0) * esc(364)) < 1e-12);
        assert_eq!(op[365], 0.0);
        assert_eq!(op[425], 0.0);
        assert!(rel(op[426], unit * l(426)) < 1e-12);
        assert!(rel(op[790], unit * l(426) * esc(364)) < 1e-12);
        assert_eq!(op[791], 0.0);
    }

    /// Events: the default day comes from the project's own stream (after the delay and overrun
    /// draws), the backstop keeps the rent for its months, and nobody re-lets.
    #[test]
    fn default_day_is_the_streams_draw_plus_backstop() {
        let mut sc = v1();
        sc.ai.build_months = 2.0; // 61 days
        sc.ai.default_events = true;
        sc.ai.tenant_default_rate = 0.5;
        sc.ai.backstop_months = 3.0; // 91 days
        sc.ai.relet_months = -1.0;
        let pr = AiProject {
            tau: 5,
            it_mw: 2.0,
            key: 9,
        };
        let days = 4000;
        let (_, op, ready) = run(&sc, pr, days, |_| 120.0);
        assert_eq!(ready, 66);
        let mut rng = risk_rng(7, 0, 9);
        let _: f64 = rng.sample(Exp1);
        let _: f64 = rng.sample(StandardNormal);
        let e: f64 = rng.sample(Exp1);
        let stop = 66 + (365.0 * e / 0.5).round() as usize + 91;
        assert!(stop < days, "this seed's default falls inside the run");
        assert!(op[stop - 1] > 0.0, "rent until the backstop ends");
        assert!(op[stop..].iter().all(|&x| x == 0.0));
    }

    /// The risk stream is keyed: another key, path or seed gives other draws, and it is not
    /// the market's stream.
    #[test]
    fn streams_are_keyed() {
        let x = |s, p, k| risk_rng(s, p, k).random::<u64>();
        let a = x(1, 2, 3);
        assert_eq!(a, x(1, 2, 3));
        assert_ne!(a, x(1, 2, 4));
        assert_ne!(a, x(1, 3, 3));
        assert_ne!(a, x(2, 2, 3));
        let mut market = crate::process::block_rng(1, 0);
        assert_ne!(risk_rng(1, 0, 0).random::<u64>(), market.random::<u64>());
    }

    #[test]
    fn path_dependence_follows_the_options() {
        let mut sc = Scenario::default();
        assert!(path_dependent(&sc), "the default has the risks on");
        sc.ai.set_risks_off();
        assert!(path_dependent(&sc), "and is levered");
        sc.finance = None;
        assert!(!path_dependent(&sc));
        sc.ai.backstop_months = 6.0; // only matters with events
        sc.ai.relet_months = 3.0;
        assert!(!path_dependent(&sc));
        sc.ai.mine_during_build = true;
        assert!(path_dependent(&sc));
    }

    /// A [`Cursor`] over a key's [`Words`] hands out what `risk_rng` set to the same word position
    /// does: words, `u64`s across block edges, bytes, uniforms, exponentials and normals, from
    /// positions on both sides of the stream's 16-word blocks, two cursors sharing one buffer.
    #[test]
    fn a_cursor_is_the_stream_at_its_word_position() {
        let mut rng = risk_rng(5, 77, 2);
        let _: f64 = rng.sample(Exp1);
        let start = rng.get_word_pos();
        let mut words = Words {
            start,
            buf: Vec::new(),
            src: rng,
        };
        for skip in [0u128, 1, 13, 15, 16, 17, 63, 64, 65, 200, 31] {
            let pos = start + skip;
            let mut want = risk_rng(5, 77, 2);
            want.set_word_pos(pos);
            let mut got = Cursor {
                words: &mut words,
                pos,
            };
            for round in 0..6 {
                assert_eq!(got.next_u32(), want.next_u32(), "skip {skip} round {round}");
                assert_eq!(got.next_u64(), want.next_u64(), "skip {skip} round {round}");
                let (mut a, mut b) = ([0u8; 7], [0u8; 7]);
                got.fill_bytes(&mut a);
                want.fill_bytes(&mut b);
                assert_eq!(a, b, "skip {skip} round {round}");
                let (x, y): (f64, f64) = (got.sample(Exp1), want.sample(Exp1));
                assert_eq!(x.to_bits(), y.to_bits());
                let (x, y): (f64, f64) = (got.sample(StandardNormal), want.sample(StandardNormal));
                assert_eq!(x.to_bits(), y.to_bits());
                let (x, y): (f64, f64) = (got.random(), want.random());
                assert_eq!(x.to_bits(), y.to_bits());
                assert_eq!(got.pos, want.get_word_pos(), "skip {skip} round {round}");
            }
        }
    }

    /// Projects that share a key share its stream (`optimal`'s slice on every decision day): a
    /// book of several projects gives each project the days, capex and cash of a book holding
    /// that project alone, bit for bit (a lease with every §8 risk and events on most lanes, and
    /// a GPU cloud).
    #[test]
    fn projects_sharing_a_key_are_each_the_project_alone() {
        for mode in [AiMode::Lease, AiMode::Cloud] {
            let mut sc = eventful(mode);
            sc.ai.relet_months = 6.0;
            let days = 1500;
            let terms = AiTerms::new(&sc, days);
            let lanes = 20;
            let projects = projects_of(&[(0, 3), (200, 1), (400, 3), (401, 3)]);
            let mut shared = AiBook::new(&terms, projects.clone(), 9, 2, lanes);
            let mut alone: Vec<AiBook<'_>> = projects
                .iter()
                .map(|&pr| AiBook::new(&terms, vec![pr], 9, 2, lanes))
                .collect();
            let mut events = 0;
            for t in 0..days {
                on_test_day(t, lanes, |day| {
                    shared.day(day);
                    alone.iter_mut().for_each(|a| a.day(day));
                });
                for (p, a) in alone.iter().enumerate() {
                    for i in 0..lanes {
                        let bits = |b: &AiBook<'_>, q: usize| {
                            let g = b.gpu_buy(q).get(i).map(|x| x.to_bits());
                            (b.capex(q)[i].to_bits(), b.opcash(q)[i].to_bits(), g)
                        };
                        assert_eq!(
                            bits(&shared, p),
                            bits(a, 0),
                            "{mode:?} project {p} lane {i} day {t}"
                        );
                        assert_eq!(shared.ready(p)[i], a.ready(0)[i]);
                        events += (t > 0 && a.opcash(0)[i] == 0.0 && a.ready(0)[i] < t) as usize;
                    }
                }
            }
            if mode == AiMode::Lease {
                assert!(
                    events > 1000,
                    "empty-hall lane-days after the ready day: {events}"
                );
            }
        }
    }

    /// A book restricted to some lanes ([`AiBook::restrict_lanes`]) gives those lanes the whole
    /// book's capex, cash and GPU purchases, bit for bit, every day: a lease with every §8 risk
    /// (events, re-letting, delays, overruns) and a GPU cloud, projects decided on different days.
    #[test]
    fn a_restricted_book_matches_the_whole_book_on_its_lanes() {
        for mode in [AiMode::Lease, AiMode::Cloud] {
            let sc = eventful(mode);
            let days = 1500;
            let terms = AiTerms::new(&sc, days);
            let lanes = 24;
            let projects = projects_of(&[(0, 0), (200, 1), (400, 0)]);
            let members: Vec<Vec<u32>> = vec![
                vec![0, 5, 23],
                vec![],
                (1..lanes as u32).step_by(3).collect(),
            ];
            let mut whole = AiBook::new(&terms, projects.clone(), 9, 2, lanes);
            let mut part = AiBook::new(&terms, projects, 9, 2, lanes);
            part.restrict_lanes(members.clone());
            let mut checked = 0;
            for t in 0..days {
                on_test_day(t, lanes, |day| {
                    whole.day(day);
                    part.day(day);
                });
                for (p, m) in members.iter().enumerate() {
                    for &i in m {
                        let i = i as usize;
                        let bits = |b: &AiBook<'_>| {
                            let g = b.gpu_buy(p).get(i).map(|x| x.to_bits());
                            (b.capex(p)[i].to_bits(), b.opcash(p)[i].to_bits(), g)
                        };
                        assert_eq!(
                            bits(&part),
                            bits(&whole),
                            "{mode:?} project {p} lane {i} day {t}"
                        );
                        checked += (whole.opcash(p)[i] != 0.0) as usize;
                    }
                }
            }
            assert!(checked > 1000, "{mode:?}: cash on {checked} lane-days");
        }
    }
}
