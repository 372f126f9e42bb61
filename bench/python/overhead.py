"""The cost of calling the engine from Python (issue 15: < 5 % at 10,000 paths).

Times the same run, `mine` + `convert 100%` on the embedded default scenario, three ways, in
alternating rounds so that the machine's load hits all of them alike:

* rust:    `hashpivot-bench`, the library's `simulate` called from Rust (its own "run i: X s"
           lines: the call alone, without process start-up);
* python:  `hashpivot.simulate(...)`, wall time of the Python call (scenario, checks, engine thread,
           GIL hand-over, Result), and the engine time the call reports (`Result.engine_seconds`,
           timed on the engine thread), which gives the wrapper's cost within the same call;
* python+: the same call followed by what a notebook does next: `table()` and both `npv()` arrays.

The first run of each batch is a warm-up and is dropped; each figure is the median of the rest.

    cargo build --release -p hashpivot-bench
    pip install ./crates/python
    python3 bench/python/overhead.py --paths 10000 --rounds 5 --repeat 6
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import statistics
import subprocess
import time

import hashpivot


def rust_batch(binary: str, paths: int, repeat: int) -> list[float]:
    out = subprocess.run(
        [binary, "--paths", str(paths), "--repeat", str(repeat)], capture_output=True, text=True, check=True
    ).stdout
    secs = [float(m) for m in re.findall(r"^run \d+: ([0-9.]+) s", out, re.M)]
    assert len(secs) == repeat, out
    return secs[1:]


def python_batch(paths: int, repeat: int, extra: bool) -> tuple[list[float], list[float]]:
    wall, engine = [], []
    for _ in range(repeat):
        t0 = time.perf_counter()
        r = hashpivot.simulate(paths=paths, strategy="convert", share=1.0)
        if extra:
            t = r.table()
            assert t["npv_mean"].notna().all()
            assert r.npv("mine").shape == r.npv("convert 100%").shape == (paths,)
        wall.append(time.perf_counter() - t0)
        engine.append(r.engine_seconds)
    return wall[1:], engine[1:]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--paths", type=int, default=10_000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--repeat", type=int, default=6, help="runs per batch (the first is a warm-up)")
    target = os.environ.get("CARGO_TARGET_DIR", "target")
    ap.add_argument("--bench", default=os.path.join(target, "release", "hashpivot-bench"))
    a = ap.parse_args()

    med = statistics.median
    rows = []
    for k in range(a.rounds):
        rust = med(rust_batch(a.bench, a.paths, a.repeat))
        wall, engine = python_batch(a.paths, a.repeat, extra=False)
        wall_plus, _ = python_batch(a.paths, a.repeat, extra=True)
        in_call = med([(w - e) / e for w, e in zip(wall, engine)])
        row = {
            "round": k + 1,
            "rust_s": rust,
            "python_s": med(wall),
            "python_engine_s": med(engine),
            "python_plus_s": med(wall_plus),
            "overhead_vs_rust": med(wall) / rust - 1,
            "overhead_in_call": in_call,
            "overhead_plus_vs_rust": med(wall_plus) / rust - 1,
        }
        rows.append(row)
        print(
            f"round {k + 1}: rust {rust:.4f} s | python {row['python_s']:.4f} s "
            f"(engine {row['python_engine_s']:.4f} s, wrapper {100 * in_call:+.2f} %) "
            f"{100 * row['overhead_vs_rust']:+.2f} % vs rust | +table/npv {row['python_plus_s']:.4f} s "
            f"{100 * row['overhead_plus_vs_rust']:+.2f} %",
            flush=True,
        )
    summary = {
        "bench": "python_overhead",
        "paths": a.paths,
        "rounds": a.rounds,
        "runs_per_batch": a.repeat - 1,
        "overhead_vs_rust_median": med(r["overhead_vs_rust"] for r in rows),
        "overhead_in_call_median": med(r["overhead_in_call"] for r in rows),
        "overhead_plus_vs_rust_median": med(r["overhead_plus_vs_rust"] for r in rows),
        "python": platform.python_version(),
        "machine": f"{os.cpu_count()} cpus, {platform.processor() or platform.machine()}",
        "load": os.getloadavg(),
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
