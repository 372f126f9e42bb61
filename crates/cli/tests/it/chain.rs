//! End-to-end tests of `hashpivot chain ...` against Bitcoin Core's published vectors and real
//! mainnet headers (fixtures in `crates/chain/tests/data/`).

use std::path::PathBuf;

use crate::common::{hashpivot, json, stderr, tempdir};

fn fixture(name: &str) -> PathBuf {
    crate::common::repo_root()
        .canonicalize()
        .expect("repo root")
        .join("crates/chain/tests/data")
        .join(name)
}

fn run(args: &[&str]) -> std::process::Output {
    let dir = tempdir();
    hashpivot(dir.path()).args(args).output().expect("runs")
}

/// Runs with the fixtures' folder as the working directory, so snapshots show a bare file name:
/// the table's column widths then do not depend on where the repository is checked out.
fn run_in_fixtures(args: &[&str]) -> std::process::Output {
    let dir = tempdir();
    hashpivot(dir.path())
        .current_dir(fixture(""))
        .args(args)
        .output()
        .expect("runs")
}

fn run_json(args: &[&str]) -> (std::process::Output, serde_json::Value) {
    let mut a = vec!["--json"];
    a.extend_from_slice(args);
    let o = run(&a);
    let v = json(&o);
    (o, v)
}

#[test]
fn subsidy_matches_core() {
    for (h, sat) in [
        ("0", 5_000_000_000u64),
        ("209999", 5_000_000_000),
        ("210000", 2_500_000_000),
        ("840000", 312_500_000),
        ("1_050_000", 156_250_000),
        ("6929999", 1),
        ("6930000", 0),
        ("13440000", 0),
    ] {
        let (o, v) = run_json(&["chain", "subsidy", h]);
        assert!(o.status.success(), "{h}");
        assert_eq!(v["subsidy_sat"], sat, "{h}");
        assert_eq!(v["height"], h.replace('_', "").parse::<u64>().unwrap());
    }
    let o = run(&["chain", "subsidy", "840000"]);
    assert!(o.status.success());
    snap!("chain_subsidy_840000", o);
}

#[test]
fn subsidy_bad_height_exits_2_naming_it() {
    for bad in ["-1", "abc", "1.5", ""] {
        let o = run(&["chain", "subsidy", bad]);
        assert_eq!(o.status.code(), Some(2), "{bad:?}");
        assert!(stderr(&o).contains("HEIGHT"), "{bad:?}: {}", stderr(&o));
    }
    // --json: the error is the one JSON document.
    let (o, v) = run_json(&["chain", "subsidy", "-5"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(v["kind"], "bad_input");
    assert!(v["error"]
        .as_str()
        .unwrap()
        .contains("HEIGHT: -5 is not allowed"));
}

#[test]
fn target_of_genesis_bits() {
    for bits in ["1d00ffff", "0x1d00ffff", "0X1D00FFFF"] {
        let (o, v) = run_json(&["chain", "target", bits]);
        assert!(o.status.success());
        assert_eq!(v["bits"], "1d00ffff");
        assert_eq!(
            v["target"],
            "00000000ffff0000000000000000000000000000000000000000000000000000"
        );
        assert_eq!(v["difficulty"], 1.0);
        // Core GetBlockProof of 0x1d00ffff: 0x0100010001 (the per-block chain work of 2009).
        assert_eq!(
            v["work"],
            "0000000000000000000000000000000000000000000000000000000100010001"
        );
        assert_eq!(v["work_decimal"], "4295032833");
    }
    let o = run(&["chain", "target", "1d00ffff"]);
    snap!("chain_target_1d00ffff", o);
}

#[test]
fn target_difficulty_matches_core_getdifficulty_vectors() {
    // Bitcoin Core src/test/blockchain_tests.cpp, with Core's tolerance of 1e-5. Core's
    // GetDifficulty ignores the sign bit; three of its five vectors (mantissa 0xf88f6f) are
    // negative encodings, which `chain target` refuses as targets (the library's `difficulty`
    // reproduces all five; see hashpivot-chain's compact tests).
    for (bits, want) in [
        ("1f111111", 0.000001),
        ("12345678", 5913134931067755359633408.0),
    ] {
        let (o, v) = run_json(&["chain", "target", bits]);
        assert!(o.status.success(), "{bits}");
        let d = v["difficulty"].as_f64().unwrap();
        assert!(
            (d - want).abs() < 1e-5 || (d - want).abs() / want < 1e-15,
            "{bits}: {d}"
        );
    }
    for bits in ["1ef88f6f", "1df88f6f", "1cf88f6f"] {
        let o = run(&["chain", "target", bits]);
        assert_eq!(o.status.code(), Some(2), "{bits}");
        assert!(stderr(&o).contains("negative"), "{bits}");
    }
    // The epoch of block 840,000 (data/PROVENANCE.md anchor): 86,388,558,925,171.02.
    let (_, v) = run_json(&["chain", "target", "17034219"]);
    assert!((v["difficulty"].as_f64().unwrap() - 86_388_558_925_171.02).abs() < 0.01);
    // A non-normalised encoding (0x80 << 8 = 0x8000) reports its normal form.
    let (_, v) = run_json(&["chain", "target", "04000080"]);
    assert_eq!(v["normalized_bits"], "03008000");
}

#[test]
fn target_bad_bits_exit_2_with_reason() {
    let cases = [
        ("xyz", "BITS"),
        ("1d00ffff00", "BITS"),
        ("04923456", "negative"),
        ("0x1d80ffff", "negative"),
        ("ff123456", "overflows"),
    ];
    for (bits, want) in cases {
        let o = run(&["chain", "target", bits]);
        assert_eq!(o.status.code(), Some(2), "{bits}");
        let e = stderr(&o);
        assert!(e.contains("BITS") && e.contains(want), "{bits}: {e}");
    }
}

/// Bitcoin Core `src/test/arith_uint256_tests.cpp` (`bignum_SetCompact`), every vector through
/// the CLI: zero encodings decode to a zero target without a flag (exit 0, difficulty and work
/// undefined), negative and overflowing ones exit 2 naming the flag, the rest decode exactly.
#[test]
fn target_matches_core_set_compact_vectors() {
    let zero = "0".repeat(64);
    for bits in [
        "00000000", "00123456", "01003456", "02000056", "03000000", "04000000", "00923456",
        "01803456", "02800056", "03800000", "04800000",
    ] {
        let (o, v) = run_json(&["chain", "target", bits]);
        assert_eq!(o.status.code(), Some(0), "{bits}: {}", stderr(&o));
        assert_eq!(v["bits"], bits);
        assert_eq!(v["target"], zero.as_str(), "{bits}");
        assert_eq!(v["zero"], true, "{bits}");
        assert_eq!(v["negative"], false, "{bits}");
        assert_eq!(v["overflow"], false, "{bits}");
        assert!(v["difficulty"].is_null() && v["work"].is_null(), "{bits}");
        assert_eq!(v["valid_proof_of_work"], false, "{bits}");
        let o = run(&["chain", "target", bits]);
        assert_eq!(o.status.code(), Some(0), "{bits}");
        let out = String::from_utf8_lossy(&o.stdout).to_string();
        assert!(
            out.contains("undefined") && out.contains("no hash can meet"),
            "{out}"
        );
    }
    for (bits, hex, compact) in [
        ("01123456", "12", "01120000"),
        ("02123456", "1234", "02123400"),
        ("03123456", "123456", "03123456"),
        ("04123456", "12345600", "04123456"),
        ("05009234", "92340000", "05009234"),
        (
            "20123456",
            "1234560000000000000000000000000000000000000000000000000000000000",
            "20123456",
        ),
    ] {
        let (o, v) = run_json(&["chain", "target", bits]);
        assert!(o.status.success(), "{bits}");
        assert_eq!(v["target"], format!("{hex:0>64}"), "{bits}");
        assert_eq!(v["normalized_bits"], compact, "{bits}");
        assert!(v["difficulty"].as_f64().unwrap() > 0.0, "{bits}");
    }
    for (bits, magnitude) in [("01fedcba", "-0x7e"), ("04923456", "-0x12345600")] {
        let o = run(&["chain", "target", bits]);
        assert_eq!(o.status.code(), Some(2), "{bits}");
        let e = stderr(&o);
        assert!(
            e.contains("negative") && e.contains(magnitude),
            "{bits}: {e}"
        );
    }
    let o = run(&["chain", "target", "ff123456"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("overflows"));
}

/// Bitcoin Core src/test/pow_tests.cpp, through the CLI.
#[test]
fn retarget_matches_core_pow_tests() {
    for (bits, first, last, want) in [
        ("1d00ffff", "1261130161", "1262152739", "1d00d86a"),
        ("1d00ffff", "1231006505", "1233061996", "1d00ffff"),
        ("1c05a3f4", "1279008237", "1279297671", "1c0168fd"),
        ("1c387f6f", "1263163443", "1269211443", "1d00e1fd"),
    ] {
        let (o, v) = run_json(&[
            "chain",
            "retarget",
            "--bits",
            bits,
            "--first-time",
            first,
            "--last-time",
            last,
        ]);
        assert!(o.status.success());
        assert_eq!(v["bits"], want, "{bits} {first} {last}");
    }
    let o = run(&[
        "chain",
        "retarget",
        "--bits",
        "1d00ffff",
        "--first-time",
        "1261130161",
        "--last-time",
        "1262152739",
    ]);
    snap!("chain_retarget_get_next_work", o);
}

#[test]
fn retarget_bad_input() {
    let base = [
        "chain",
        "retarget",
        "--bits",
        "1d00ffff",
        "--first-time",
        "1",
        "--last-time",
    ];
    let mut a = base.to_vec();
    a.push("soon");
    let o = run(&a);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--last-time"));
    let o = run(&[
        "chain",
        "retarget",
        "--bits",
        "207fffff",
        "--first-time",
        "1",
        "--last-time",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--bits") && stderr(&o).contains("proof-of-work limit"));
    let o = run(&[
        "chain",
        "retarget",
        "--bits",
        "1d00ffff",
        "--first-time",
        "-3",
        "--last-time",
        "2",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--first-time"));
}

fn lines_of(name: &str) -> Vec<String> {
    std::fs::read_to_string(fixture(name))
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn verify_real_genesis_chain() {
    let f = fixture("mainnet_headers_0_15.txt");
    let (o, v) = run_json(&["chain", "verify-headers", f.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(v["headers"], 16);
    assert_eq!(v["valid"], true);
    assert_eq!(v["first_error"], serde_json::Value::Null);
    assert_eq!(
        v["last_hash"],
        "00000000b3322c8c3ef7d2cf6da009a776e6a99ee65ec5a32f3f345712238473"
    );
    let o = run_in_fixtures(&["chain", "verify-headers", "mainnet_headers_0_15.txt"]);
    snap!("chain_verify_genesis_chain", o);

    // The same headers as raw 80-byte records.
    let dir = tempdir();
    let raw: Vec<u8> = lines_of("mainnet_headers_0_15.txt")
        .iter()
        .flat_map(|l| {
            (0..80)
                .map(|i| u8::from_str_radix(&l[2 * i..2 * i + 2], 16).unwrap())
                .collect::<Vec<_>>()
        })
        .collect();
    let p = dir.path().join("headers.bin");
    std::fs::write(&p, raw).unwrap();
    let (o, v) = run_json(&["chain", "verify-headers", p.to_str().unwrap()]);
    assert!(o.status.success());
    assert_eq!(v["headers"], 16);
}

fn write_lines(dir: &std::path::Path, name: &str, lines: &[String]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, lines.join("\n")).unwrap();
    p
}

#[test]
fn verify_rejects_a_flipped_bit() {
    let dir = tempdir();
    let mut ls = lines_of("mainnet_headers_0_15.txt");
    // Flip one bit of block 7's merkle root (hex digit 100 is inside bytes 36..68).
    let mut chars: Vec<char> = ls[7].chars().collect();
    let d = chars[100].to_digit(16).unwrap() ^ 0x1;
    chars[100] = std::char::from_digit(d, 16).unwrap();
    ls[7] = chars.into_iter().collect();
    let p = write_lines(dir.path(), "flipped.txt", &ls);
    let (o, v) = run_json(&["chain", "verify-headers", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(v["valid"], false);
    assert_eq!(v["first_error"]["index"], 7);
    assert_eq!(v["first_error"]["height"], 7);
    assert_eq!(v["first_error"]["code"], "high-hash");
    let reason = v["first_error"]["reason"].as_str().unwrap();
    assert!(
        reason.starts_with("proof of work fails: hash ") && reason.contains("is above the target"),
        "{reason}"
    );
    assert!(stderr(&o).contains("header #7 (height 7)"));
    let o = hashpivot(dir.path())
        .current_dir(p.parent().unwrap())
        .args([
            "chain",
            "verify-headers",
            p.file_name().unwrap().to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    snap!("chain_verify_flipped_bit", o, dir.path());
}

#[test]
fn verify_rejects_a_broken_link() {
    let dir = tempdir();
    let mut ls = lines_of("mainnet_headers_0_15.txt");
    ls.remove(5);
    let p = write_lines(dir.path(), "gap.txt", &ls);
    let (o, v) = run_json(&["chain", "verify-headers", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(v["first_error"]["index"], 5);
    assert_eq!(v["first_error"]["code"], "prev-blk-not-found");
    assert_eq!(
        v["first_error"]["reason"],
        "prev-hash 000000009b7262315dbf071787ad3656097b892abffd1f95a1a022f896f533fc does not match \
         the hash of the previous header 000000004ebadb55ee9096c9a2f8880e09da59c0d68b1c228da88e48844a1485"
    );
    assert_eq!(v["verified"], 5);
}

#[test]
fn verify_real_retarget_checkpoints() {
    let f = fixture("mainnet_retarget_headers.txt");
    let (o, v) = run_json(&[
        "chain",
        "verify-headers",
        "--checkpoints",
        f.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert_eq!(v["headers"], 436);
    assert_eq!(v["valid"], true);
    assert_eq!(v["retargets_bounded"], 435);
    assert_eq!(v["last_height"], 878976);
    let o = run_in_fixtures(&[
        "chain",
        "verify-headers",
        "--checkpoints",
        "mainnet_retarget_headers.txt",
    ]);
    snap!("chain_verify_checkpoints", o);
    // The same file as a consecutive chain: the second header does not link.
    let (o, v) = run_json(&[
        "chain",
        "verify-headers",
        "--start-height",
        "2016",
        f.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(v["first_error"]["index"], 1);
    assert_eq!(v["first_error"]["code"], "prev-blk-not-found");
}

#[test]
fn verify_rejects_wrong_retarget_bits() {
    // Real headers with valid proof of work, but checkpoints 101..199 removed: the bits jump
    // from epoch 101's to epoch 201's, far beyond the factor 4 a retarget permits.
    let dir = tempdir();
    let ls = lines_of("mainnet_retarget_headers.txt");
    let mut cut: Vec<String> = ls[..=100].to_vec();
    cut.extend_from_slice(&ls[200..]);
    let p = write_lines(dir.path(), "cut.txt", &cut);
    let (o, v) = run_json(&[
        "chain",
        "verify-headers",
        "--checkpoints",
        p.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(v["valid"], false);
    assert_eq!(v["first_error"]["index"], 101);
    assert_eq!(v["first_error"]["height"], 2016 * 102);
    assert_eq!(v["first_error"]["code"], "bad-diffbits");
    let reason = v["first_error"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("is not a permitted difficulty transition at height 205632"),
        "{reason}"
    );
}

#[test]
fn verify_bad_files_exit_2() {
    let dir = tempdir();
    let missing = dir.path().join("nope.txt");
    let o = run(&["chain", "verify-headers", missing.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("FILE: cannot read"));

    let mut ls = lines_of("mainnet_headers_0_15.txt");
    ls[3].truncate(150);
    let p = write_lines(dir.path(), "short.txt", &ls);
    let o = run(&["chain", "verify-headers", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("line 4: a block header is 160 hex digits, got 150"),
        "{}",
        stderr(&o)
    );

    let p = write_lines(dir.path(), "empty.txt", &["# nothing".to_string()]);
    let o = run(&["chain", "verify-headers", p.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("no headers found"));

    let f = fixture("mainnet_retarget_headers.txt");
    let o = run(&[
        "chain",
        "verify-headers",
        "--checkpoints",
        "--start-height",
        "2017",
        f.to_str().unwrap(),
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--start-height: 2017 is not a retarget height"));
}
