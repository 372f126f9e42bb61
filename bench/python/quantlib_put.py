#!/usr/bin/env python3
"""QuantLib baseline for bench/src/bin/american_put.rs.

Prices the same American put as hashpivot's LSM benchmark with QuantLib's MCAmericanEngine
(Longstaff-Schwartz), at the same paths, exercise steps and basis order, and prints one JSON
document: {"price", "stderr", "seconds", "quantlib_version", ...}.

Install the baseline once:   pip install QuantLib      (the official wheel from PyPI)
Run it alone:                python3 bench/python/quantlib_put.py --paths 100000 --steps 50

QuantLib's engine fits the exercise policy on `nCalibrationSamples` paths and prices on
`requiredSamples` fresh paths (an out-of-sample estimate); both are set to --paths, the same work
hashpivot does (fit on N paths, evaluate the frozen policy on N fresh paths).
"""

import argparse
import json
import sys
import time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--spot", type=float, default=36.0)
    ap.add_argument("--strike", type=float, default=40.0)
    ap.add_argument("--rate", type=float, default=0.06)
    ap.add_argument("--vol", type=float, default=0.2)
    ap.add_argument("--years", type=float, default=1.0)
    ap.add_argument("--steps", type=int, default=50, help="exercise dates (time steps) in total")
    ap.add_argument("--paths", type=int, default=100_000)
    ap.add_argument("--order", type=int, default=2, help="polynomial order of the monomial basis")
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--control-variate", action="store_true", help="European put as control variate")
    a = ap.parse_args()

    try:
        import QuantLib as ql
    except ImportError:
        print(json.dumps({"error": "QuantLib is not installed: pip install QuantLib"}))
        return 3

    today = ql.Date(24, ql.November, 2026)
    ql.Settings.instance().evaluationDate = today
    dc = ql.Actual365Fixed()
    # An exact year count: maturity = today + round(years * 365) days under Actual/365.
    maturity = today + int(round(a.years * 365))
    spot = ql.QuoteHandle(ql.SimpleQuote(a.spot))
    rate = ql.YieldTermStructureHandle(ql.FlatForward(today, a.rate, dc))
    div = ql.YieldTermStructureHandle(ql.FlatForward(today, 0.0, dc))
    vol = ql.BlackVolTermStructureHandle(ql.BlackConstantVol(today, ql.NullCalendar(), a.vol, dc))
    process = ql.BlackScholesMertonProcess(spot, div, rate, vol)
    option = ql.VanillaOption(
        ql.PlainVanillaPayoff(ql.Option.Put, a.strike),
        ql.AmericanExercise(today, maturity),
    )

    t0 = time.perf_counter()
    c0 = time.process_time()
    engine = ql.MCAmericanEngine(
        process,
        "pseudorandom",
        timeSteps=a.steps,
        antitheticVariate=False,
        controlVariate=a.control_variate,
        requiredSamples=a.paths,
        seed=a.seed,
        polynomOrder=a.order,
        polynomType=ql.LsmBasisSystem.Monomial,
        nCalibrationSamples=a.paths,
    )
    option.setPricingEngine(engine)
    price = option.NPV()
    stderr = option.errorEstimate()
    seconds = time.perf_counter() - t0
    cpu_seconds = time.process_time() - c0
    print(
        json.dumps(
            {
                "engine": "QuantLib MCAmericanEngine (pseudorandom, Monomial basis)",
                "quantlib_version": ql.__version__,
                "price": price,
                "stderr": stderr,
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "paths": a.paths,
                "calibration_paths": a.paths,
                "steps": a.steps,
                "order": a.order,
                "control_variate": a.control_variate,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
