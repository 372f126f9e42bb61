//! Every crash or property violation the fuzz targets found, replayed as a named test with the
//! minimal input. Fixed ones pass; ones whose fix belongs to another module are `#[ignore]`d with
//! the reason until the fix lands (run them with `cargo test -p hashpivot-fuzz -- --ignored`).

use hashpivot_fuzz::targets::{self, CsvKind};
use hashpivot_model::Scenario;

/// `catalog_toml`: a subnormal hashrate passed the "positive" check and gave J/TH = inf.
/// Fixed in `crates/model/src/catalog.rs` (hashrate 1e-6..=1e6 TH/s, power (0, 1e6] W).
#[test]
fn catalog_subnormal_hashrate_is_rejected() {
    let input = "[[machine]]\nmodel = \"Custom Rig 9000\"\nhashrate_ths = 5e-324\npower_w = 6000\n";
    targets::catalog_toml(input.as_bytes()).unwrap();
    assert!(hashpivot_model::catalog::Catalog::builtin()
        .unwrap()
        .with_user_toml(input, "f")
        .is_err());
}

/// `headers_file`: a start height near u64::MAX overflowed `start + index` in the verifiers.
/// Fixed in `crates/chain/src/verify.rs` (a `height-overflow` failure).
#[test]
fn headers_at_the_top_of_u64_do_not_overflow() {
    let text = hashpivot_fuzz::corpus::MAINNET_HEADERS_0_15;
    for start in [u64::MAX, u64::MAX - 1, u64::MAX - 15, u64::MAX - 2016] {
        targets::headers_file(text.as_bytes(), start).unwrap();
    }
}

/// `compact_bits_and_retarget`: `last_time - first_time` overflowed for extreme i64 times, and
/// `next_halving_height(u64::MAX)` overflowed; `mean_subsidy_btc` at heights past the last
/// halving looped (effectively) forever. Fixed in `crates/chain/src/{retarget,subsidy}.rs`.
#[test]
fn compact_retarget_and_subsidy_extremes() {
    targets::compact(0x1d00ffff, 0x1d00ffff, i64::MIN, i64::MAX, u64::MAX).unwrap();
    targets::compact(0x1b0404cb, 0, i64::MAX, i64::MIN, 0).unwrap();
    targets::compact(0x01010000, 0x01040000, 0, 1 << 40, 2016).unwrap();
}

/// The CSV targets on inputs the mutations produced early on (regression seeds of each kind).
#[test]
fn csv_edge_inputs() {
    for (kind, text) in [
        (CsvKind::Prices, "date,close_usd\n2024-02-29,1e308\n2024-03-01,5e-324\n"),
        (CsvKind::Prices, "date,close_usd\n2024-01-01,inf\n"),
        (CsvKind::Heights, "date,height_at_la_midnight\n2024-01-01,4294967296\n"),
        (CsvKind::Epochs, "start_height,difficulty\n18446744073709551615,1\n"),
        (CsvKind::Fees, "date,fees_btc,blocks\n2024-01-01,nan,144\n"),
        (CsvKind::Power, "date,hour_ending,HB_WEST\n2024-01-01,25,1\n"),
        (CsvKind::Power, "date,hour_ending,,\n2024-01-01,1,1,2\n"),
        (CsvKind::PriceFile, "timestamp,price_usd_mwh\n2024-01-01T23:00,1\n2024-01-01T23:00,1\n2024-01-01T23:00,1\n"),
        (CsvKind::Leases, "company,deal,tenant,mw_it,term_years,tcv_usd,avg_usd_per_kw_month\na,b,c,1e-300,1e300,1e300,1\n"),
    ] {
        targets::csv(kind, text.as_bytes()).unwrap_or_else(|e| panic!("{kind:?} {text:?}: {e}"));
    }
}

/// `scenario_json`: a JSON scenario with `run.seed` above i64::MAX validates, but TOML cannot hold
/// the seed, and `Scenario::to_toml_string` swallows the error and returns "" — so the server's
/// scenario check returns `"toml": ""` and `calibrate --out` would write a file without the
/// scenario. Fixed: `validate` refuses `run.seed` above 9223372036854775807.
#[test]
fn json_seed_above_i64_max_round_trips_through_toml() {
    let mut j = serde_json::to_value(Scenario::default()).unwrap();
    j["run"]["seed"] = serde_json::json!(u64::MAX);
    let input = serde_json::to_vec(&j).unwrap();
    targets::scenario_json(&input).unwrap();
}
