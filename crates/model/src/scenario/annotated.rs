//! The annotated default scenario (what `hashpivot scenario show` prints), generated from one
//! table of `(table, key, source)`: each default value is written once, in the `Default` impls
//! (`defaults.rs`), each source once, in [`KEYS`], and the layout once, in
//! [`Scenario::default_toml_annotated`]. A test checks that the table names exactly the keys of
//! the default scenario, so a new key cannot be left without its source.

use super::market::MarketState;
use super::{market, Scenario};

/// Where a key's default comes from: fixed text, or text about the shipped market state.
enum Source {
    /// A row of docs/PARAMETERS.md, a judgement, or MODEL.md.
    Text(&'static str),
    /// Depends on the market state of the shipped data (its date, epoch, fee window).
    Market(fn(&MarketState) -> String),
}

/// One key of the default scenario and the source of its default.
struct Key {
    /// TOML table (`run`, `chain`, ...).
    table: &'static str,
    /// Key within the table.
    key: &'static str,
    /// Where the default comes from.
    source: Source,
}

const fn k(table: &'static str, key: &'static str, text: &'static str) -> Key {
    Key {
        table,
        key,
        source: Source::Text(text),
    }
}

const fn km(table: &'static str, key: &'static str, f: fn(&MarketState) -> String) -> Key {
    Key {
        table,
        key,
        source: Source::Market(f),
    }
}

fn height_note(ms: &MarketState) -> String {
    format!(
        "data/btc_price/btc_block_height_by_date.csv at the start of {}",
        ms.date
    )
}

fn difficulty_note(ms: &MarketState) -> String {
    format!(
        "epoch {} of data/btc_chain/difficulty_epochs.csv{}",
        ms.difficulty_epoch,
        if ms.difficulty_current {
            ""
        } else {
            " (newest shipped epoch; later epochs are not in the data)"
        }
    )
}

fn hashrate_note(ms: &MarketState) -> String {
    format!(
        "blocks/day over the last {} days ({:.1}) at that difficulty; optional, default \
         difficulty * 2^32 / 600 / 1e18",
        hashpivot_data::market::HASHRATE_WINDOW_DAYS,
        ms.blocks_per_day
    )
}

fn epoch_note(ms: &MarketState) -> String {
    format!(
        "since the height table crossed the epoch start {}; optional, default \
         (height - epoch start) / 144",
        ms.epoch_start_height
    )
}

fn fees_note(ms: &MarketState) -> String {
    format!(
        "mean fee per block {} to {} (data/btc_fees); PARAMETERS 'Fee share of reward'",
        ms.fees_window.0, ms.fees_window.1
    )
}

/// The tables in file order, with the comment lines printed under each header.
const TABLES: &[(&str, &[&str])] = &[
    ("run", &[]),
    (
        "chain",
        &["Market state from the shipped data (hashpivot_data::market_state, data/PROVENANCE.md)."],
    ),
    ("price", &[]),
    ("fees", &[]),
    ("hashrate", &[]),
    ("site", &[]),
    ("mining", &[]),
    ("ai", &[]),
    ("strategy", &[]),
    (
        "finance",
        &["Project debt of each conversion and the equity view (MODEL.md section 10), at published terms.",
          "A file without [finance] is unlevered (version 1): no debt, no equity view."],
    ),
];

/// Tables that are optional: when the default leaves one out, it is printed commented out with
/// the values a bare `[finance]` header would get, so a user sees what switching it on means.
const OPTIONAL_TABLES: &[&str] = &["finance"];

/// Every key of the default scenario (bar the fleet entries) with the source of its default.
const KEYS: &[Key] = &[
    k("run", "horizon_years", "years simulated (daily steps)"),
    k("run", "paths", "Monte Carlo paths; more = smaller standard error"),
    k("run", "seed", "same seed, same numbers, on any thread count"),
    km("chain", "height", height_note),
    km("chain", "difficulty", difficulty_note),
    km("chain", "hashrate_ehs", hashrate_note),
    km("chain", "epoch_elapsed_days", epoch_note),
    k("price", "spot", "newest BTC/USD close in data/btc_price/btc_usd_daily_close.csv (market_state)"),
    k("price", "drift", "judgement: vol^2/2, so the median price stays flat (no view on direction)"),
    k("price", "vol", "realized 3-year volatility of the shipped daily closes (0.44-0.53 over 1-5 years)"),
    km("fees", "btc_per_block", fees_note),
    k("fees", "speed", "judgement: fee spikes revert with a half-life of ~4 months"),
    k("fees", "vol", "judgement: fees are the noisiest input"),
    k("hashrate", "speed_up", "judgement (PARAMETERS 'Judgements'): new machines take months to deploy"),
    k("hashrate", "speed_down", "judgement: machines switch off within weeks, faster down than up"),
    k("hashrate", "vol", "judgement; `hashpivot calibrate` estimates these from history"),
    k("hashrate", "marginal_efficiency_jth", "PARAMETERS 'Fleet efficiency' 15-22 J/TH; CBECI network estimate 19.5 (2025-03)"),
    k("hashrate", "efficiency_decline", "judgement: CBECI estimate fell ~13%/year 2020-2025, slowing"),
    k("hashrate", "efficiency_floor_jth", "judgement: process-node limit"),
    k("hashrate", "marginal_power_usd_mwh", "judgement: marginal miner pays more than large Texas miners (PARAMETERS 'Large miners' power cost')"),
    k("hashrate", "power_share", "judgement: puts the break-even hashrate near today's hashrate"),
    k("site", "power_mw", "1 GW gross"),
    k("site", "power_usd_mwh", "PARAMETERS 'Large miners' power cost' 2.4-4.2 c/kWh; judgement within"),
    k("site", "power_escalator", "judgement"),
    k("site", "terminal_multiple", "MODEL.md default: no value after the horizon"),
    k("mining", "overhead", "PARAMETERS 'Mining PUE' 1.03-1.10"),
    k("mining", "uptime", "judgement (ERCOT demand response, maintenance)"),
    k("mining", "pool_fee", "PARAMETERS 'Pool fee' FPPS 1-2.5%"),
    k("mining", "curtail", "switch a batch off on days it loses money on power"),
    k("mining", "opex_usd_per_mw_month", "judgement: staff, maintenance, insurance (~$5.5/MWh)"),
    k("mining", "salvage_usd_per_th", "judgement: used machines vs PARAMETERS 'ASIC street price' $10-30/TH new"),
    k("mining", "refresh_every_years", "judgement: one replacement per halving cycle (0 = never)"),
    k("mining", "hw_days_of_hashprice", "PARAMETERS 'ASIC street price': S21 XP $25.70/TH at hashprice $43.33/PH/day (2025-11-03)"),
    k("mining", "discount_rate", "PARAMETERS 'Judgements': merchant mining ~15% (12-25%)"),
    k("ai", "it_mw_per_gross_mw", "PARAMETERS 'MW(IT) per gross MW' 0.67-0.83 (AI PUE 1.3)"),
    k("ai", "capex_usd_per_mw_it", "PARAMETERS 'Conversion capex' $8-11 M per MW(IT), new hall"),
    k("ai", "build_months", "PARAMETERS 'Signing to first rent' 10-16 months"),
    k("ai", "lease_usd_per_kw_month", "PARAMETERS 'Lease rate' first year $110-135; data/ai_hpc/announced_leases.csv"),
    k("ai", "lease_escalator", "PARAMETERS 'Escalator' ~3%"),
    k("ai", "lease_term_years", "PARAMETERS 'Term' 10-15 years"),
    k("ai", "renewal_probability", "judgement (deals carry 2-3 five-year extensions)"),
    k("ai", "tenant_default_rate", "judgement: yearly default hazard of a backstopped tenant"),
    k("ai", "noi_margin", "PARAMETERS 'Landlord NOI margin' 70-97% (Fluidstack ~85%)"),
    k("ai", "discount_rate", "PARAMETERS 'Judgements' / 'Backstopped project debt' 7.1-8.0%"),
    k("ai", "lease_drift", "judgement"),
    k("ai", "lease_vol", "judgement"),
    k("ai", "lease_price_corr", "MODEL.md default"),
    k("ai", "mode", "lease (powered shell, MODEL.md section 5) | cloud (own GPUs, section 9)"),
    k("ai", "build_delay_months", "PARAMETERS 'Signing to first rent' 10-16 months new halls: 12 + a mean 2-month delay (P(> 16) = 14%)"),
    k("ai", "capex_overrun", "judgement: large builds overrun; PARAMETERS 'Conversion capex' $8-11 M/MW(IT) spread"),
    k("ai", "capex_overrun_vol", "judgement: log-normal spread of the overrun (~ +-15%)"),
    k("ai", "mine_during_build", "MODEL.md section 8: a new hall beside the running fleet keeps it mining until ready (false = retrofit)"),
    k("ai", "default_events", "MODEL.md section 8: default and non-renewal as drawn events at tenant_default_rate, renewal_probability"),
    k("ai", "backstop_months", "PARAMETERS 'Credit backstop': Google backstops Fluidstack's rent ($3.2 B of a ~10-year deal, ~4-5 years of rent); judgement 48"),
    k("ai", "relet_months", "judgement: a powered, cooled hall finds a new tenant within ~a year (-1 = never re-let)"),
    k("strategy", "kind", "mine | convert | schedule | sweep | optimal"),
    k("strategy", "share", "convert: share of the site converted on day 0"),
    k("strategy", "schedule", "schedule: [day, share] pairs (day 580 ~ the 2028 halving)"),
    k("strategy", "shares", "sweep: the grid of shares"),
    k("strategy", "tranches", "optimal: equal slices of the site"),
    k("strategy", "decide_months", "optimal: decisions on months 0..=decide_months"),
    k("finance", "ltc", "PARAMETERS 'Construction and project loans': Galaxy Helios 80% loan-to-cost (up to 85%)"),
    k("finance", "debt_rate", "PARAMETERS 'Backstopped project debt': TeraWulf 7.75% fixed (7.125-8.0%)"),
    k("finance", "tenor_years", "judgement: amortized well inside the 15-year lease (notes of 5-7 years refinance)"),
    k("finance", "cost_of_equity", "judgement: levered contracted cash, between the lease rate (8%) and mining (15%)"),
    k("finance", "min_dscr", "MODEL.md default: the usual project-finance covenant"),
    k("finance", "fund_gpus", "judgement: lenders fund the hall; GPUs (ai.mode = cloud) with equity"),
];

/// The optional `[cloud]` table (MODEL.md §9, read with `ai.mode = "cloud"`), printed commented
/// out with its defaults ([`super::Cloud::default`]) and their sources, like `[power]`.
const CLOUD_KEYS: &[(&str, &str)] = &[
    ("gpu_capex_usd_per_mw_it", "PARAMETERS 'GPU cloud instead of a lease': IREN-Microsoft GPUs ~$29 M per MW(IT)"),
    ("revenue_usd_per_mw_it_year", "PARAMETERS 'GPU cloud instead of a lease': IREN-Microsoft $9.7 B / 200 MW(IT) / 5 years"),
    ("utilization", "judgement: a contracted cluster bills nearly all of its capacity"),
    ("opex_share", "judgement: staff, network, maintenance, insurance as a share of revenue"),
    ("gpu_life_years", "judgement: GPUs depreciated over ~5 years, the contract's length"),
    ("contract_years", "PARAMETERS 'GPU cloud instead of a lease': IREN-Microsoft 5 years"),
    ("refresh", "judgement: a new set at merchant prices when the first wears out"),
    ("price_drift", "judgement: PARAMETERS 'H100 rental price path' fell ~20-30% a year (RBC)"),
    ("price_vol", "judgement: a 40% rebound within months after the fall (PARAMETERS 'H100 rental price path')"),
    ("discount_rate", "judgement: merchant compute between contracted leases (8%) and mining (15%)"),
];

/// The commented-out `[cloud]` block and the optional `run.currency` line.
fn optional_lines(o: &mut String) {
    o.push_str("\n# [run] currency = \"btc\"   # optional (MODEL.md section 11): every cash flow in BTC at that day's price; default \"usd\"\n");
    o.push_str("# [strategy] pilot_paths = 4096   # optional (MODEL.md section 12): optimal's pilot fit on the first paths, so that shards scale; default every in-sample path (version 1)\n");
    o.push_str("\n# [cloud]   # optional (MODEL.md section 9): used by ai.mode = \"cloud\"; absent = these defaults\n");
    let doc = toml::Value::try_from(super::Cloud::default())
        .unwrap_or(toml::Value::Table(Default::default()));
    let rows: Vec<(String, String)> = CLOUD_KEYS
        .iter()
        .filter_map(|(key, note)| {
            let v = doc.get(key)?;
            Some((format!("# {key} = {}", value(v)), (*note).to_string()))
        })
        .collect();
    table_lines(&rows, o);
}

/// Float as TOML: always with a decimal point or exponent, shortest round-trip form.
fn tf(x: f64) -> String {
    let s = format!("{x:?}");
    if s.contains('.') || s.contains('e') || s.contains("inf") || s.contains("NaN") {
        s
    } else {
        format!("{s}.0")
    }
}

/// A TOML value on one line (floats always with a point, so they read back as floats).
fn value(v: &toml::Value) -> String {
    match v {
        toml::Value::Float(x) => tf(*x),
        toml::Value::Integer(i) => i.to_string(),
        toml::Value::Boolean(b) => b.to_string(),
        toml::Value::String(s) => format!("{s:?}"),
        toml::Value::Array(a) => {
            let items: Vec<String> = a.iter().map(value).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}

/// `key = value` lines of one table with their notes, the `#` aligned one column past the
/// longest assignment of the table.
fn table_lines(rows: &[(String, String)], out: &mut String) {
    let width = rows.iter().map(|(a, _)| a.len()).max().unwrap_or(0);
    for (assign, note) in rows {
        out.push_str(&format!("{assign:<width$}  # {note}\n"));
    }
}

impl Scenario {
    /// The default scenario as annotated TOML: every key with its value and where the value comes
    /// from (a row of `docs/PARAMETERS.md`, a shipped data file, or "judgement"). Parsing it with
    /// [`Scenario::from_toml_str`] gives back exactly [`Scenario::default`].
    ///
    /// ```
    /// use hashpivot_model::Scenario;
    /// let text = Scenario::default_toml_annotated();
    /// assert!(text.contains("[mining]") && text.contains("# PARAMETERS 'Pool fee'"));
    /// assert_eq!(Scenario::from_toml_str(&text).unwrap(), Scenario::default());
    /// ```
    pub fn default_toml_annotated() -> String {
        let s = Scenario::default();
        let ms = market::state();
        // `Scenario` always serializes to a table; an empty one would only drop the values.
        let doc = toml::Value::try_from(&s).unwrap_or(toml::Value::Table(Default::default()));
        let mut o = String::new();
        for l in [
            "hashpivot scenario (docs/MODEL.md section 7): the embedded default.",
            "A 1 GW Texas site with a mixed fleet; market state as of the newest shipped data",
        ] {
            o.push_str(&format!("# {l}\n"));
        }
        o.push_str(&format!(
            "# ({}). Copy this file, edit it, run `hashpivot simulate my.toml`.\n",
            ms.date
        ));
        o.push_str("# Keys you leave out take these defaults (a [[mining.fleet]] entry needs all four fields).\n");
        o.push_str(
            "# Sources: 'PARAMETERS' = a row of docs/PARAMETERS.md; 'data/...' = a shipped file.\n",
        );
        for (table, notes) in TABLES {
            // An optional table the default leaves out: its header and keys commented out, with
            // the values a bare header gets.
            let absent = OPTIONAL_TABLES.contains(table) && doc.get(table).is_none();
            let hash = if absent { "# " } else { "" };
            o.push_str(&format!("\n{hash}[{table}]\n"));
            match super::market::origin() {
                // A state installed from a synced store says so instead of the shipped note.
                Some(origin) if *table == "chain" => o.push_str(&format!(
                    "# Market state {}, {origin} (the store's newest complete day; the file names below are the shipped sources of the same series).\n",
                    ms.date
                )),
                _ => {
                    for n in *notes {
                        o.push_str(&format!("# {n}\n"));
                    }
                }
            }
            let filled = optional_filled();
            let src = if absent { &filled } else { &doc };
            let rows: Vec<(String, String)> = KEYS
                .iter()
                .filter(|k| k.table == *table)
                .filter_map(|k| {
                    let v = src.get(table)?.get(k.key)?;
                    let note = match &k.source {
                        Source::Text(t) => (*t).to_string(),
                        Source::Market(f) => f(ms),
                    };
                    Some((format!("{hash}{} = {}", k.key, value(v)), note))
                })
                .collect();
            table_lines(&rows, &mut o);
            if *table == "mining" {
                o.push_str("\n# The fleet: units x (TH/s, W) per machine from data/asic/asic_nameplate_specs_compiled.csv.\n");
                o.push_str("# Facility power = sum(units x power_w) x overhead must fit in site.power_mw; the rest is idle.\n");
                for b in &s.mining.fleet {
                    o.push_str("[[mining.fleet]]\n");
                    o.push_str(&format!("model = {:?}\n", b.model));
                    o.push_str(&format!("units = {}\n", tf(b.units)));
                    o.push_str(&format!("hashrate_ths = {}\n", tf(b.hashrate_ths)));
                    o.push_str(&format!("power_w = {}\n", tf(b.power_w)));
                }
            }
        }
        o.push_str("\n# [power]\n");
        o.push_str(
            "# hourly = \"ercot:HB_WEST:2024\"   # optional hourly power prices (extension)\n",
        );
        optional_lines(&mut o);
        o
    }
}

/// The default scenario with every optional table of [`OPTIONAL_TABLES`] at its own defaults.
fn optional_filled() -> toml::Value {
    let s = Scenario {
        finance: Some(super::Finance::default()),
        ..Scenario::default()
    };
    toml::Value::try_from(&s).unwrap_or(toml::Value::Table(Default::default()))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The table names exactly the keys of the default scenario (bar the fleet entries and the
    /// optional tables), once each: a new key cannot be shown without its source.
    #[test]
    fn the_table_covers_every_default_key_once() {
        let doc = optional_filled();
        let mut want: Vec<String> = Vec::new();
        for (table, v) in doc.as_table().unwrap() {
            for key in v.as_table().unwrap().keys() {
                if !(table == "mining" && key == "fleet") {
                    want.push(format!("{table}.{key}"));
                }
            }
        }
        want.sort();
        let mut got: Vec<String> = KEYS
            .iter()
            .map(|k| format!("{}.{}", k.table, k.key))
            .collect();
        got.sort();
        assert_eq!(got, want);
        let tables: Vec<&str> = TABLES.iter().map(|t| t.0).collect();
        for k in KEYS {
            assert!(tables.contains(&k.table), "{}", k.table);
        }
    }

    /// The `[cloud]` rows name exactly the keys of `Cloud`, each once, and read back as its
    /// defaults when uncommented.
    #[test]
    fn the_cloud_block_covers_every_cloud_key() {
        let doc = toml::Value::try_from(super::super::Cloud::default()).unwrap();
        let mut want: Vec<&str> = doc.as_table().unwrap().keys().map(String::as_str).collect();
        want.sort();
        let mut got: Vec<&str> = CLOUD_KEYS.iter().map(|k| k.0).collect();
        got.sort();
        assert_eq!(got, want);
        let text = Scenario::default_toml_annotated();
        let block: String = text
            .split("# [cloud]")
            .nth(1)
            .unwrap()
            .lines()
            .skip(1)
            .filter_map(|l| l.strip_prefix("# "))
            .map(|l| format!("{}\n", l.split("  # ").next().unwrap()))
            .collect();
        let sc = Scenario::from_toml_str(&format!("[cloud]\n{block}")).unwrap();
        assert_eq!(sc.cloud, Some(super::super::Cloud::default()));
    }

    /// Every value line carries its source, aligned within its table.
    #[test]
    fn every_value_has_a_source() {
        let text = Scenario::default_toml_annotated();
        let mut table = String::new();
        for line in text.lines() {
            if line.starts_with('[') {
                table = line.to_string();
                continue;
            }
            // A commented-out optional table: its key lines carry sources too.
            if line.starts_with("# [") {
                table = line.trim_start_matches("# ").to_string();
                continue;
            }
            let line = match line.strip_prefix("# ") {
                Some(l)
                    if l.contains(" = ")
                        && OPTIONAL_TABLES.iter().any(|t| table == format!("[{t}]")) =>
                {
                    l
                }
                _ => line,
            };
            if line.starts_with('#') || line.is_empty() || table == "[[mining.fleet]]" {
                continue;
            }
            let (assign, note) = line.split_once("  # ").unwrap_or_else(|| panic!("{line}"));
            assert!(assign.contains(" = ") && !note.trim().is_empty(), "{line}");
        }
        assert!(text.contains("paths = 10000"), "{text}");
    }
}
