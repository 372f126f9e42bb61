"""payback, hashprice, catalog, leases, history and chain against the CLI and published figures."""

from __future__ import annotations

import json

import pytest

import hashpivot
from hashpivot import chain


def test_chain_against_bitcoin_core():
    # Core's validation_tests (GetBlockSubsidy) and the genesis target.
    assert chain.subsidy(0) == 50 * 100_000_000
    assert chain.subsidy(209_999) == 50 * 100_000_000
    assert chain.subsidy(840_000) == 312_500_000
    assert chain.subsidy(64 * 210_000) == 0
    t = chain.target("1d00ffff")
    assert t["difficulty"] == 1.0
    assert t["work"] == 4_295_032_833  # GetBlockProof of the genesis bits
    assert t["target"] == 0xFFFF * 2 ** 208
    assert chain.target(0x1D00FFFF) == t
    with pytest.raises(ValueError, match="bits"):
        chain.target("0x04923456")  # negative (sign bit set): Core refuses it
    with pytest.raises(ValueError, match="not compact bits"):
        chain.target("xyz")
    with pytest.raises(ValueError, match="height: -1"):
        chain.subsidy(-1)


def test_payback_and_hashprice_equal_the_cli(cli):
    p = hashpivot.payback("S21 XP", machine_price_usd_per_th=15.0, paths=200, seed=9)
    want = json.loads(cli(["payback", "S21 XP", "--machine-price-usd-per-th", "15", "--paths", "200", "--seed", "9", "--json"]).stdout)
    assert p == want
    with pytest.raises(ValueError, match="machine_price_usd_per_th: -1"):
        hashpivot.payback("S21 XP", machine_price_usd_per_th=-1)
    with pytest.raises(ValueError, match="model"):
        hashpivot.payback("no such miner", machine_price_usd_per_th=10)
    h = hashpivot.hashprice(107_000, "155.97T", fees=0.025, height=920_000)
    want = json.loads(cli(["hashprice", "--price", "107000", "--difficulty", "155.97T", "--height", "920000", "--fees", "0.025", "--json"]).stdout)
    assert h == want
    # Defaults: the same market state (fees and height) on both sides, and both say which.
    h = hashpivot.hashprice(107_000, "155.97T")
    want = json.loads(cli(["hashprice", "--price", "107000", "--difficulty", "155.97T", "--json"]).stdout)
    assert h == want
    assert h["fees_source"] == h["height_source"] == "market state 2026-08-22, shipped data"
    # The README's backtest: Hashrate Index published $55.21 on 2024-12-23; hashpivot $56.25.
    d = hashpivot.history.hashprice("2024-12-23", "2024-12-23")
    assert round(float(d["usd_per_ph_day"].iloc[0]), 2) == 56.25
    with pytest.raises(ValueError, match="from_"):
        hashpivot.history.hashprice("23/12/2024")


def test_catalog_and_leases_tables(cli):
    m = hashpivot.machines()
    want = json.loads(cli(["machines", "--json"]).stdout)["machines"]
    assert len(m) == len(want)
    assert m.loc["Antminer S21 XP", "hashrate_ths"] == 270.0
    assert (m["efficiency_jth"] == m["power_w"] / m["hashrate_ths"]).all()
    le = hashpivot.leases()
    want = json.loads(cli(["leases", "--json"]).stdout)["leases"]
    assert le.to_dict("records") == want
    assert hashpivot.default_scenario()["ai"]["lease_usd_per_kw_month"] > 0
    assert "power_mw" in hashpivot.default_scenario_toml()
