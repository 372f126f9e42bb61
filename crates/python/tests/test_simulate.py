"""simulate(): the same numbers as the CLI, per-path NPVs consistent with the table, GIL released,
Ctrl-C stops a run."""

from __future__ import annotations

import _thread
import json
import os
import signal
import subprocess
import sys
import threading

import numpy as np
import pytest

import hashpivot

SCENARIO_TOML = """\
[run]
horizon_years = 6

[price]
vol = 0.5

[ai]
lease_usd_per_kw_month = 115.0
"""


def test_to_json_equals_cli_byte_for_byte(cli, tmp_path):
    # The embedded default, the default strategy (sweep).
    r = hashpivot.simulate(paths=300, seed=11)
    assert r.to_json() == cli(["simulate", "--json", "--paths", "300", "--seed", "11"]).stdout

    # A scenario file with options, given as a path and as the equivalent dict.
    f = tmp_path / "site.toml"
    f.write_text(SCENARIO_TOML)
    args = ["simulate", str(f), "--json", "--paths", "256", "--seed", "5", "--share", "0.4", "--antithetic"]
    want = cli(args).stdout
    assert hashpivot.simulate(f, paths=256, seed=5, share=0.4, antithetic=True).to_json() == want
    d = {"run": {"horizon_years": 6}, "price": {"vol": 0.5}, "ai": {"lease_usd_per_kw_month": 115.0}}
    assert hashpivot.simulate(d, paths=256, seed=5, share=0.4, antithetic=True).to_json() == want
    # load_scenario gives the complete scenario, which runs to the same bytes again.
    full = hashpivot.load_scenario(f)
    assert full["price"]["vol"] == 0.5 and full["run"]["horizon_years"] == 6 and full["mining"]["fleet"]
    assert hashpivot.simulate(full, paths=256, seed=5, share=0.4, antithetic=True).to_json() == want

    # The real-option strategy: policy and boundary in the same bytes.
    r = hashpivot.simulate(f, paths=200, seed=3, strategy="optimal")
    assert r.to_json() == cli(["simulate", str(f), "--json", "--paths", "200", "--seed", "3", "--strategy", "optimal"]).stdout
    o = r.optimal
    assert o is not None and len(o.slices) == 4  # strategy.tranches of the default
    assert o.npv_out_of_sample["mean"] == r.as_dict()["results"][1]["npv_out_of_sample"]["mean"]
    assert list(o.policy.index[:2]) == [0, 1]
    assert o.policy["expected_share_converted"].between(0, 1).all()
    assert hashpivot.simulate(paths=50).optimal is None


def test_npv_per_path_matches_the_table():
    r = hashpivot.simulate(paths=700, seed=2, strategy="sweep")
    t = r.table()
    mine = r.npv("mine")
    assert mine.shape == (700,) and mine.dtype == np.float64
    # The engine sums in path order: a sequential sum gives its mean to the last bit.
    assert np.cumsum(mine)[-1] / 700 == t.loc["mine", "npv_mean"]
    assert mine.mean() == pytest.approx(t.loc["mine", "npv_mean"], rel=1e-13)
    for name in r.strategies[1:]:
        x = r.npv(name)
        row = t.loc[name]
        assert np.cumsum(x)[-1] / 700 == row["npv_mean"]
        # Same paths for every strategy: the share below `mine` path by path is the table's.
        assert np.mean(x < mine) == row["prob_below_mine"]
        assert np.mean(x < 0) == row["prob_negative"]
        assert np.percentile(x, [5, 50, 95]) == pytest.approx(row[["npv_p5", "npv_p50", "npv_p95"]].to_numpy(), rel=1e-12)
        assert np.sort(x)[:35].mean() == pytest.approx(row["cvar5"], rel=1e-12)
    # Names with share=, cached and read-only (handed over without a copy).
    assert r.npv("sweep", share=0.25) is r.npv("sweep 25%")
    with pytest.raises(ValueError):
        r.npv("mine")[0] = 0.0
    with pytest.raises(KeyError, match="sweep 0%"):
        r.npv("sweep")
    with pytest.raises(KeyError, match="not in this result"):
        r.npv("convert")
    # Same numbers whatever the thread count.
    assert hashpivot.simulate(paths=300, threads=1).to_json() == hashpivot.simulate(paths=300, threads=2).to_json()


def test_bad_scenarios_and_options_name_the_key(cli, tmp_path):
    cases = [
        ({"run": {"paths": 0}}, "run.paths", "run.paths = 0: allowed 1 <= paths <= 20000000"),
        ({"site": {"power_mv": 3}}, "site.power_mv", "unknown field `power_mv`"),
        ({"run": {"paths": "many"}}, "run.paths", 'run.paths = "many": allowed a whole number'),
        ({"price": {"vol": float("nan")}}, "price.vol", "price.vol = NaN: allowed"),
        ({"ai": {"lease_usd_per_kw_month": None}}, "ai.lease_usd_per_kw_month", "a value is required"),
        ({"mining": {"fleet": [{"model": "x", "units": 1, "power_w": 3000}]}}, "mining.fleet[0].hashrate_ths", "missing field"),
    ]
    for d, key, text in cases:
        with pytest.raises(hashpivot.ScenarioError, match=None) as e:
            hashpivot.check_scenario(d)
        assert isinstance(e.value, ValueError)
        assert e.value.key == key, (d, str(e.value))
        assert text in str(e.value), (d, str(e.value))
        with pytest.raises(hashpivot.ScenarioError):
            hashpivot.simulate(d, paths=10)
    # Every problem at once, each with key, value and allowed.
    with pytest.raises(hashpivot.ScenarioError) as e:
        hashpivot.check_scenario({"run": {"paths": 0}, "price": {"vol": -1}})
    assert [p["key"] for p in e.value.problems] == ["run.paths", "price.vol"]
    assert all(p["value"] and p["allowed"] for p in e.value.problems)
    # A file: exactly the CLI's message (`hashpivot scenario check`, exit 2).
    for text in ("[run]\npaths = 0\n", "[site]\npower_mv = 3\n", "[run\n"):
        f = tmp_path / "bad.toml"
        f.write_text(text)
        p = cli(["scenario", "check", str(f)], check=False)
        assert p.returncode == 2
        with pytest.raises(hashpivot.ScenarioError) as e:
            hashpivot.load_scenario(f)
        assert p.stderr == f"error: {e.value}\n"
    # Options: the flag's name, the value, what is allowed.
    with pytest.raises(ValueError, match="paths: 0 is not allowed; use 1 to 20000000"):
        hashpivot.simulate(paths=0)
    with pytest.raises(ValueError, match="share: 1.5 is outside the allowed range 0 to 1"):
        hashpivot.simulate(share=1.5)
    with pytest.raises(ValueError, match='strategy: "hold" is not a strategy'):
        hashpivot.simulate(strategy="hold")
    with pytest.raises(TypeError, match="paths: expected an int"):
        hashpivot.simulate(paths=10.0)


def test_gil_is_released_while_the_engine_runs():
    # With a huge switch interval no thread is preempted: the worker can only run while the
    # caller releases the GIL of its own accord. It wakes on the first progress report and
    # records how far the run was when it got the GIL; with the GIL held through the run it
    # would see only the final 1.0.
    seen = []
    last = [0.0]
    started = threading.Event()

    def worker():
        started.wait()
        seen.append(last[0])

    def progress(f):
        last[0] = f
        started.set()

    t = threading.Thread(target=worker)
    t.start()
    old = sys.getswitchinterval()
    sys.setswitchinterval(100.0)
    try:
        hashpivot.simulate(paths=4096, seed=1, strategy="convert", progress=progress)
    finally:
        sys.setswitchinterval(old)
        started.set()
        t.join()
    assert last[0] == 1.0
    assert seen and seen[0] < 1.0, seen


@pytest.fixture
def sigint_raises():
    # Ctrl-C raises KeyboardInterrupt only where SIGINT has Python's default handler; a process
    # started in the background by a shell without job control (`cmd &` in a script, nohup)
    # inherits SIGINT as ignored, and Python then installs no handler. The tests below are about
    # the engine's reaction to the interrupt, not about how pytest was launched.
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    yield
    signal.signal(signal.SIGINT, previous)


def test_ctrl_c_stops_a_run(sigint_raises):
    fractions = []

    def progress(f):
        fractions.append(f)
        if len(fractions) == 1:
            _thread.interrupt_main()  # what Ctrl-C does: SIGINT to the main thread

    # 196 blocks of 256 paths: the call returns after the first report, and the blocks not yet
    # started stop at their first report (the engine reports before and after each block).
    with pytest.raises(KeyboardInterrupt):
        hashpivot.simulate(paths=50_000, seed=1, strategy="mine", progress=progress)
    assert max(fractions) < 0.5, fractions[-5:]
    # An exception from the progress callback stops the run the same way.
    with pytest.raises(ZeroDivisionError):
        hashpivot.simulate(paths=50_000, strategy="mine", progress=lambda f: 1 / 0)
    # The next run is unaffected.
    assert hashpivot.simulate(paths=100).paths == 100


def test_a_real_sigint_stops_a_run(sigint_raises):
    # A real SIGINT sent to the process by another thread once the run is under way (as from a
    # terminal): Python's handler only sets a flag; the waiting call sees it between blocks and
    # the run is abandoned.
    fractions = []
    sent = []

    def progress(f):
        fractions.append(f)
        if not sent:
            # Recorded first: the KeyboardInterrupt may be raised right inside this callback.
            sent.append(threading.Thread(target=os.kill, args=(os.getpid(), signal.SIGINT)))
            sent[0].start()

    with pytest.raises(KeyboardInterrupt):
        hashpivot.simulate(paths=50_000, seed=2, strategy="mine", progress=progress)
    sent[0].join()
    assert max(fractions) < 0.5, fractions[-5:]
    assert hashpivot.simulate(paths=64, seed=2).paths == 64


def test_without_pandas_tables_are_dicts_of_numpy_arrays():
    code = r"""
import sys, json
sys.modules["pandas"] = None  # `import pandas` now raises ImportError
import numpy as np, hashpivot
r = hashpivot.simulate(paths=200, seed=4, strategy="convert", share=0.5)
t = r.table()
assert isinstance(t, dict) and all(isinstance(v, np.ndarray) for v in t.values()), t
assert list(t["strategy"]) == ["mine", "convert 50%"]
assert np.cumsum(r.npv("convert"))[-1] / 200 == t["npv_mean"][1]
b = r.bands()
assert isinstance(b, dict) and b["year"].dtype == np.int64
assert isinstance(hashpivot.machines(), dict) and isinstance(hashpivot.leases(), dict)
h = hashpivot.history.hashprice("2024-12-23", "2024-12-24")
assert list(h["date"]) == ["2024-12-23", "2024-12-24"]
print(json.dumps({k: v.tolist() for k, v in t.items()}))
"""
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert p.returncode == 0, p.stderr
    plain = json.loads(p.stdout)
    df = hashpivot.simulate(paths=200, seed=4, strategy="convert", share=0.5).table()
    assert plain["npv_mean"] == df["npv_mean"].tolist()
