#!/usr/bin/env python3
"""Whole-process CPU and wall time of `hashpivot validate american-put` against QuantLib's
MCAmericanEngine (bench/python/quantlib_put.py) on the same contract, paths, dates, antithetic
setting (off) and polynomial order, alternated in one run so that both see the same machine load.

    python3 bench/python/put_vs_quantlib.py --hashpivot target/release/hashpivot \
        --hashpivot /tmp/hashpivot-old --quantlib-python /tmp/qlvenv/bin/python --rounds 3

Each round runs every hashpivot binary once (`--plain`: no antithetic pairs, no control
variates, as QuantLib is run) and QuantLib once; user and system CPU seconds come from the
kernel's accounting of the child (os.wait4), wall seconds from a monotonic clock. Prints one line
a run and a summary with the ratios QuantLib / hashpivot of the medians.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))


def timed(cmd):
    """(user s, sys s, wall s) of one run of `cmd`, its output discarded; fails loudly."""
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    err = proc.stderr.read().decode(errors="replace")
    proc.stderr.close()
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.exit(f"{cmd[0]} exited {code}: {err}")
    return ru.ru_utime, ru.ru_stime, wall


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--hashpivot", action="append", required=True, help="binary (repeatable)")
    ap.add_argument("--quantlib-python", default="python3", help="python with QuantLib")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--paths", type=int, default=100_000)
    ap.add_argument("--steps", type=int, default=50, help="exercise dates in the year")
    ap.add_argument("--order", type=int, default=3)
    a = ap.parse_args()
    contract = ["--spot", "36", "--strike", "40", "--rate", "0.06", "--vol", "0.2", "--years", "1"]
    runs = {
        b: [b, "validate", "american-put", *contract, "--exercises-per-year", str(a.steps),
            "--paths", str(a.paths), "--degree", str(a.order), "--plain"]
        for b in a.hashpivot
    }
    runs["quantlib"] = [a.quantlib_python, os.path.join(HERE, "quantlib_put.py"),
                        "--paths", str(a.paths), "--steps", str(a.steps), "--order", str(a.order)]
    got = {k: [] for k in runs}
    for r in range(a.rounds):
        for name, cmd in runs.items():
            u, s, w = timed(cmd)
            got[name].append((u, s, w))
            print(f"round {r + 1}  {name:40}  user {u:6.3f} s  sys {s:5.3f} s  wall {w:6.3f} s")
    med = {k: tuple(statistics.median(x[i] for x in v) for i in range(3)) for k, v in got.items()}
    ql = med["quantlib"]
    for b in a.hashpivot:
        u, s, w = med[b]
        print(f"median {b}: user {u:.3f} s, sys {s:.3f} s, wall {w:.3f} s; QuantLib / it: "
              f"user {ql[0] / u:.1f}x, user+sys {(ql[0] + ql[1]) / (u + s):.1f}x, "
              f"wall {ql[2] / w:.1f}x")
    print(f"median quantlib: user {ql[0]:.3f} s, sys {ql[1]:.3f} s, wall {ql[2]:.3f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
