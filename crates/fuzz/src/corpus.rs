//! Valid seed inputs for the structure-aware mutations: real data, never made-up examples where a
//! real one exists.

use hashpivot_data::shipped;
use hashpivot_model::Scenario;

/// The first 16 mainnet headers, one 160-hex-digit header per line (Bitcoin Core's chain).
pub const MAINNET_HEADERS_0_15: &str =
    include_str!("../../chain/tests/data/mainnet_headers_0_15.txt");

/// The 436 real retarget headers of bitcoinj's checkpoint file (heights 2016·k), one per line.
pub const MAINNET_RETARGET_HEADERS: &str =
    include_str!("../../chain/tests/data/mainnet_retarget_headers.txt");

/// The headers files as text seeds: the genesis chain, and the first 12 retarget headers.
pub fn headers_text() -> Vec<String> {
    vec![
        MAINNET_HEADERS_0_15.to_string(),
        format!(
            "# retarget checkpoints 2016..\n{}",
            first_lines(MAINNET_RETARGET_HEADERS, 12)
        ),
    ]
}

/// The same headers as raw concatenated 80-byte records (the binary form of the file).
pub fn headers_binary() -> Vec<Vec<u8>> {
    headers_text()
        .iter()
        .map(|t| {
            t.lines()
                .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
                .flat_map(|l| hex_decode(l.trim()))
                .collect()
        })
        .collect()
}

/// Scenario TOML seeds: the annotated default (`hashpivot scenario show`), its plain
/// serialization, and small partial files of the kind users write.
pub fn scenario_toml() -> Vec<String> {
    vec![
        Scenario::default_toml_annotated(),
        Scenario::default().to_toml_string(),
        "[run]\nhorizon_years = 2\npaths = 100\nseed = 7\n\n[price]\nspot = 90000\nvol = 0.5\n\n[strategy]\ndecide_months = 12\n"
            .to_string(),
        "[strategy]\nkind = \"schedule\"\nschedule = [[0, 0.25], [365, 0.5]]\n\n[[mining.fleet]]\nmodel = \"S21\"\nunits = 1000\nhashrate_ths = 200\npower_w = 3500\n"
            .to_string(),
        "[strategy]\nkind = \"optimal\"\ntranches = 4\ndecide_months = 12\n[power]\nhourly = \"ercot:HB_WEST:2024\"\n"
            .to_string(),
        "[dispatch]\ncredit_usd_mwh = 10\nmin_run_hours = 4\nmin_off_hours = 2\nfourcp_hours = [16, 17, 18]\nfourcp_weekdays_only = true\nfourcp_usd_kw_year = 50\n\n[power]\nhourly = \"ercot:HB_WEST:2021-2025\"\n"
            .to_string(),
    ]
}

/// Scenario JSON seeds (the HTTP API's form): the default, compact and pretty, and a partial one.
pub fn scenario_json() -> Vec<String> {
    let d = Scenario::default();
    vec![
        serde_json::to_string(&d).unwrap_or_default(),
        serde_json::to_string_pretty(&d).unwrap_or_default(),
        r#"{"run":{"horizon_years":2,"paths":100},"price":{"spot":90000,"vol":0.5},"strategy":{"kind":"convert","share":0.5,"decide_months":12}}"#.to_string(),
    ]
}

/// HTTP API run-request bodies (`POST /api/runs`): with and without a scenario, every option.
pub fn run_requests() -> Vec<String> {
    let d = serde_json::to_string(&Scenario::default()).unwrap_or_default();
    vec![
        r#"{"strategy":"convert","share":0.5,"paths":2000}"#.to_string(),
        r#"{"strategy":"sweep","paths":500,"seed":7,"sensitivity":true}"#.to_string(),
        r#"{"strategy":"optimal","paths":100}"#.to_string(),
        format!(r#"{{"scenario":{d},"strategy":"mine","paths":1000}}"#),
        r#"{"scenario":{"price":{"spot":90000}},"share":1}"#.to_string(),
    ]
}

/// The first `n` lines of `text` (header included), newline-terminated.
pub fn first_lines(text: &str, n: usize) -> String {
    let mut s: String = text.lines().take(n).collect::<Vec<_>>().join("\n");
    s.push('\n');
    s
}

/// Shipped CSV seeds per importable series (`data import --kind ...`), a few real rows each.
pub fn prices_csv() -> String {
    first_lines(shipped::PRICE_CSV, 12)
}

/// Heights by date (real rows).
pub fn heights_csv() -> String {
    first_lines(shipped::HEIGHTS_CSV, 12)
}

/// Difficulty epochs (real rows).
pub fn epochs_csv() -> String {
    first_lines(shipped::EPOCHS_CSV, 8)
}

/// Daily fees (real rows).
pub fn fees_csv() -> String {
    first_lines(shipped::FEES_MERGED_CSV, 12)
}

/// bitcoinj checkpoint headers (real rows).
pub fn checkpoint_headers_csv() -> String {
    first_lines(shipped::CHECKPOINT_HEADERS_CSV, 5)
}

/// Announced AI leases (real rows).
pub fn leases_csv() -> String {
    first_lines(shipped::LEASES_CSV, 6)
}

/// Hourly power prices for `data import --kind power`, both layouts (wide as ERCOT publishes,
/// long), with the repeated DST hour.
pub fn power_csv() -> Vec<String> {
    vec![
        "delivery_date,hour_ending,repeated_hour_flag,HB_WEST,HB_NORTH\n2024-11-03,1,N,21.5,22.0\n2024-11-03,2,N,-3.25,18\n2024-11-03,2,Y,17.75,19.5\n2024-11-03,3,N,25,26.5\n"
            .to_string(),
        "date,hour_ending,node,usd_mwh\n2024-07-01,14,HB_WEST,48.2\n2024-07-01,15,HB_WEST,5000\n2024-07-01,14,LZ_LCRA,-12.5\n"
            .to_string(),
    ]
}

/// Hourly prices for `dispatch --prices FILE.csv`.
pub fn price_file_csv() -> String {
    "timestamp,price_usd_mwh\n2024-11-03T00:00,21.5\n2024-11-03T01:00,-3.25\n2024-11-03T01:00,17.75\n2024-11-03T02:00,25\n# comment\n2024-11-03 03:00:00,5000\n"
        .to_string()
}

/// A user ASIC catalog file (`machines --catalog`).
pub fn catalog_toml() -> String {
    "[[machine]]\nmodel = \"Antminer S21\"\nhashrate_ths = 205\npower_w = 3450\n\n[[machine]]\nmodel = \"Custom Rig 9000\"\nhashrate_ths = 500.5\npower_w = 6000\nmanufacturer = \"Acme\"\ncooling = \"hydro\"\nsource = \"spec sheet\"\n"
        .to_string()
}

fn hex_decode(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    (0..b.len() / 2)
        .filter_map(|i| {
            let hi = (b[2 * i] as char).to_digit(16)?;
            let lo = (b[2 * i + 1] as char).to_digit(16)?;
            Some((hi * 16 + lo) as u8)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_are_valid_inputs() {
        for t in headers_text() {
            assert!(!hashpivot_chain::parse_headers_file(t.as_bytes())
                .unwrap()
                .is_empty());
        }
        for b in headers_binary() {
            assert_eq!(b.len() % 80, 0);
            assert!(!hashpivot_chain::parse_headers_file(&b).unwrap().is_empty());
        }
        for t in scenario_toml() {
            Scenario::parse_and_validate(&t).unwrap();
        }
        for j in scenario_json() {
            serde_json::from_str::<Scenario>(&j)
                .unwrap()
                .validate()
                .unwrap();
        }
        use hashpivot_data::series::*;
        parse_prices(&prices_csv(), "p").unwrap();
        parse_heights(&heights_csv(), "h").unwrap();
        parse_epochs(&epochs_csv(), "e").unwrap();
        parse_fees(&fees_csv(), "f", false).unwrap();
        parse_checkpoint_headers(&checkpoint_headers_csv(), "c").unwrap();
        hashpivot_data::leases::parse_leases(&leases_csv(), "l").unwrap();
        for p in power_csv() {
            hashpivot_store::parse_power_csv(&p, "pw").unwrap();
        }
        hashpivot_data::ercot::parse_price_csv(&price_file_csv(), "pf").unwrap();
        hashpivot_model::catalog::Catalog::builtin()
            .unwrap()
            .with_user_toml(&catalog_toml(), "c.toml")
            .unwrap();
    }
}
