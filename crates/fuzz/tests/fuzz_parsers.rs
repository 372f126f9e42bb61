//! The fuzz run: every parser of untrusted input, on arbitrary bytes and on structure-aware
//! mutations of real inputs. Cases per target: `PROPTEST_CASES` (default 256, a few seconds in a
//! debug build). A long run: `PROPTEST_CASES=1000000 cargo test -p hashpivot-fuzz --release`.
//!
//! A failure prints the shrunk input; proptest also stores its seed in
//! `tests/proptest-regressions/` so the next run replays it first. Every crash found gets a named
//! regression test in `tests/regressions.rs` as well.

use hashpivot_fuzz::targets::{self, CsvKind};
use hashpivot_fuzz::{config, corpus, mutate};
use proptest::prelude::*;

const CASES: u32 = 256;

fn check(r: targets::Check, input: &[u8]) -> Result<(), TestCaseError> {
    r.map_err(|why| {
        TestCaseError::fail(format!(
            "{why}\ninput ({} bytes): {:?}",
            input.len(),
            String::from_utf8_lossy(input)
        ))
    })
}

fn header_seeds() -> Vec<Vec<u8>> {
    let mut v: Vec<Vec<u8>> = corpus::headers_text()
        .into_iter()
        .map(String::into_bytes)
        .collect();
    v.extend(corpus::headers_binary());
    v
}

proptest! {
    #![proptest_config(config(CASES))]

    #[test]
    fn headers_file(
        input in mutate::input(header_seeds()),
        start in prop_oneof![Just(0u64), 0u64..1_000_000, any::<u64>(), (u64::MAX - 100)..=u64::MAX],
    ) {
        check(targets::headers_file(&input, start), &input)?;
    }

    #[test]
    fn header_hex(input in mutate::text_input(
        corpus::MAINNET_HEADERS_0_15.lines().take(4).map(str::to_string).collect()
    )) {
        check(targets::header_hex(&String::from_utf8_lossy(&input)), &input)?;
    }

    #[test]
    fn compact_bits_and_retarget(
        bits in prop_oneof![
            any::<u32>(),
            Just(0x1d00ffffu32),
            (0u32..=0x22, 0u32..0x0100_0000).prop_map(|(e, m)| (e << 24) | m),
        ],
        other in any::<u32>(),
        first in prop_oneof![any::<i64>(), 0i64..=u32::MAX as i64],
        last in prop_oneof![any::<i64>(), 0i64..=u32::MAX as i64],
        height in prop_oneof![any::<u64>(), (0u64..100).prop_map(|k| k * 2016), Just(u64::MAX)],
    ) {
        prop_assert!(targets::compact(bits, other, first, last, height).is_ok(),
            "{:?}", targets::compact(bits, other, first, last, height));
    }

    #[test]
    fn u256_and_hash_hex(input in mutate::text_input(vec![
        "00000000ffffffffffffffffffffffffffffffffffffffffffffffffffffffff".into(),
        "000000000019d6689c085ae165831e934ff763ae46a2a6c172b3f1b60a8ce26f".into(),
        "0x1d00ffff".into(),
    ])) {
        check(targets::u256_hex(&String::from_utf8_lossy(&input)), &input)?;
    }

    #[test]
    fn scenario_toml(input in mutate::text_input(corpus::scenario_toml())) {
        check(targets::scenario_toml(&input), &input)?;
    }

    #[test]
    fn scenario_json(input in mutate::text_input(corpus::scenario_json())) {
        check(targets::scenario_json(&input), &input)?;
    }

    #[test]
    fn api_run_body(input in mutate::text_input(corpus::run_requests())) {
        check(targets::api_run_body(&input), &input)?;
    }

    #[test]
    fn csv_prices(input in mutate::text_input(vec![corpus::prices_csv()])) {
        check(targets::csv(CsvKind::Prices, &input), &input)?;
    }

    #[test]
    fn csv_heights(input in mutate::text_input(vec![corpus::heights_csv()])) {
        check(targets::csv(CsvKind::Heights, &input), &input)?;
    }

    #[test]
    fn csv_epochs(input in mutate::text_input(vec![corpus::epochs_csv()])) {
        check(targets::csv(CsvKind::Epochs, &input), &input)?;
    }

    #[test]
    fn csv_fees(input in mutate::text_input(vec![corpus::fees_csv()])) {
        check(targets::csv(CsvKind::Fees, &input), &input)?;
    }

    #[test]
    fn csv_checkpoint_headers(input in mutate::text_input(vec![corpus::checkpoint_headers_csv()])) {
        check(targets::csv(CsvKind::CheckpointHeaders, &input), &input)?;
    }

    #[test]
    fn csv_leases(input in mutate::text_input(vec![corpus::leases_csv()])) {
        check(targets::csv(CsvKind::Leases, &input), &input)?;
    }

    #[test]
    fn csv_power(input in mutate::text_input(corpus::power_csv())) {
        check(targets::csv(CsvKind::Power, &input), &input)?;
    }

    #[test]
    fn csv_dispatch_price_file(input in mutate::text_input(vec![corpus::price_file_csv()])) {
        check(targets::csv(CsvKind::PriceFile, &input), &input)?;
    }

    #[test]
    fn catalog_toml(input in mutate::text_input(vec![corpus::catalog_toml()])) {
        check(targets::catalog_toml(&input), &input)?;
    }

    #[test]
    fn dates(input in mutate::text_input(vec!["2024-02-29".into(), "1970-01-01".into(), "9999-12-31".into()])) {
        check(targets::date(&String::from_utf8_lossy(&input)), &input)?;
    }

    #[test]
    fn hourly_specs(input in mutate::text_input(vec!["ercot:HB_WEST:2024".into(), "ercot:LZ_LCRA:2021-2025".into()])) {
        check(targets::specs(&String::from_utf8_lossy(&input)), &input)?;
    }
}
