#!/usr/bin/env python3
"""Straightforward vectorized numpy implementation of MODEL.md sections 3-5 for `mine` and
`convert` (share on day 0): the speed baseline for bench/src/main.rs, and an independent check of
the engine's means.

    pip install numpy                      # numpy is the only dependency (Python >= 3.11 for tomllib)
    hashpivot scenario show > /tmp/default.toml
    python3 bench/python/engine_numpy.py --scenario /tmp/default.toml --paths 20000

Vectorized over paths, one numpy pass per day: the way one would write it in numpy.
Prints path-days per second (one path stepped one day with both strategies priced on it).
"""
import argparse
import json
import math
import time
import tomllib

import numpy as np


def subsidy_btc(h):
    halvings = h // 210000
    return 0.0 if halvings >= 64 else (5_000_000_000 >> halvings) / 1e8


def mean_subsidy(a, b):
    """Mean subsidy over heights [a, a+b), vectorized over paths, split at the next multiple of
    210000 (a day never spans two halvings at realistic hashrates)."""
    era = np.floor(a / 210000.0)
    nxt = (era + 1.0) * 210000.0
    sub_cur = np.floor(5e9 / 2.0**era) / 1e8
    sub_next = np.floor(5e9 / 2.0 ** (era + 1.0)) / 1e8
    first = np.minimum(nxt - a, b)
    return (first * sub_cur + (b - first) * sub_next) / b


def run(sc, paths, seed, share):
    rng = np.random.default_rng(seed)
    n = round(sc["run"]["horizon_years"] * 365)
    dt = 1.0 / 365.0
    sq = math.sqrt(dt)
    two32 = 2.0**32
    ch, pr, fe, hr, si, mi, ai = (sc[k] for k in ("chain", "price", "fees", "hashrate", "site", "mining", "ai"))
    d0 = ch["difficulty"]
    ln_s = np.full(paths, math.log(pr["spot"]))
    x = np.full(paths, math.log(fe["btc_per_block"]))
    xbar = math.log(fe["btc_per_block"])
    ln_h = np.full(paths, math.log(ch.get("hashrate_ehs", d0 * two32 / 600 / 1e18) * 1e6))
    d = np.full(paths, d0)
    h = np.full(paths, float(ch["height"]))
    e_start = np.full(paths, float(ch["height"] - ch["height"] % 2016))
    e_days = np.full(paths, ch.get("epoch_elapsed_days", (ch["height"] % 2016) / 144.0))
    ln_l = np.full(paths, math.log(ai["lease_usd_per_kw_month"]))
    rho = ai["lease_price_corr"]

    o = mi["overhead"]
    P = si["power_mw"]
    fleet = sorted(mi["fleet"], key=lambda b: -b["power_w"] / b["hashrate_ths"])
    ths = np.array([b["hashrate_ths"] for b in fleet])
    pw = np.array([b["power_w"] for b in fleet])
    units_mine = np.array([b["units"] for b in fleet], dtype=float)
    # convert `share` on day 0: idle first, then least efficient
    units_conv = units_mine.copy()
    fleet_mw = (units_conv * pw * o / 1e6).sum()
    left = share * P - min(P - fleet_mw, share * P)
    removed_th = 0.0
    for i in range(len(fleet)):
        per = pw[i] * o / 1e6
        take = min(units_conv[i], left / per) if left > 0 else 0.0
        units_conv[i] -= take
        left -= take * per
        removed_th += take * ths[i]
    conv_mw = share * P
    every = round(365 * mi["refresh_every_years"]) if mi["refresh_every_years"] > 0 else 0
    it = conv_mw * ai["it_mw_per_gross_mw"]
    capex = it * ai["capex_usd_per_mw_it"]
    B = round(ai["build_months"] * 365 / 12)
    M = round(ai["lease_term_years"] * 365)

    rm, ra = mi["discount_rate"], ai["discount_rate"]
    tvm = si["terminal_multiple"]
    npv_m = {"mine": np.zeros(paths), "convert": np.zeros(paths)}
    last_m = {"mine": np.zeros(paths), "convert": np.zeros(paths)}
    npv_a = np.zeros(paths)
    last_a = np.zeros(paths)
    npv_m["convert"] += mi["salvage_usd_per_th"] * removed_th * (1 + rm) ** (-1 / 365)
    last_m["convert"] += mi["salvage_usd_per_th"] * removed_th if n <= 365 else 0.0
    units = {"mine": [ths, pw, units_mine.copy()], "convert": [ths, pw, units_conv.copy()]}
    l_sign = None
    for t in range(n):
        s = np.exp(ln_s)
        f = np.exp(x)
        H = np.exp(ln_h)
        b = 144.0 * H / (d * two32 / 600 / 1e12)
        sub = mean_subsidy(h, b)
        r = sub + f
        hv = 86400 * 1e12 * r / (d * two32)
        eta = max(hr["efficiency_floor_jth"], hr["marginal_efficiency_jth"] * (1 - hr["efficiency_decline"]) ** (t / 365))
        hstar = hr["power_share"] * 144 * r * s / (eta * 24 * hr["marginal_power_usd_mwh"] / 1e6)
        p_t = si["power_usd_mwh"] * (1 + si["power_escalator"]) ** (t / 365)
        wm = (1 + rm) ** (-(t + 1) / 365)
        wa = (1 + ra) ** (-(t + 1) / 365)
        for k in ("mine", "convert"):
            th_, pw_, u = units[k]
            cash = np.zeros(paths)
            if every and t > 0 and t % every == 0:
                sold = (u * th_).sum()
                mining_mw = P - (conv_mw if k == "convert" else 0.0)
                new = mining_mw * 1e6 / (o * eta)
                cash += mi["salvage_usd_per_th"] * sold - mi["hw_days_of_hashprice"] * hv * s * new
                th_, pw_, u = np.array([1.0]), np.array([eta]), np.array([new])
                units[k] = [th_, pw_, u]
            usd = mi["uptime"] * np.outer(hv * s * (1 - mi["pool_fee"]), u * th_)
            cost = mi["uptime"] * (u * pw_ * o * 24 / 1e6 * p_t)[None, :]
            marg = usd - cost
            if mi["curtail"]:
                marg = np.where(usd < cost, 0.0, marg)
            cash += marg.sum(axis=1) - mi["opex_usd_per_mw_month"] * (u * pw_ * o / 1e6).sum() * 12 / 365
            npv_m[k] += cash * wm
            if t >= n - 365:
                last_m[k] += cash
        # AI for convert
        if t == 0:
            l_sign = np.exp(ln_l)
        acash = np.zeros(paths)
        if (B == 0 and t == 0):
            acash -= capex
        elif t < B:
            acash -= capex / B
        if t >= B and it > 0:
            c = (t - B) // M
            u_c = B + c * M
            if c > 0 and t == u_c:
                l_sign = np.exp(ln_l)
            rent = it * 1000 * l_sign * 12 / 365 * (1 + ai["lease_escalator"]) ** ((t - u_c) / 365) \
                * ai["renewal_probability"] ** c * math.exp(-ai["tenant_default_rate"] * (t - B) / 365)
            acash += rent * ai["noi_margin"]
        npv_a += acash * wa
        if t >= n - 365:
            last_a += acash
        # step
        hit = h + b >= e_start + 2016
        phi = (e_start + 2016 - h) / b
        T = np.clip(e_days + phi, 3.5, 56.0)
        d = np.where(hit, d * 14 / T, d)
        e_days = np.where(hit, 1 - phi, e_days + 1)
        e_start = np.where(hit, e_start + 2016, e_start)
        h = h + b
        zs = rng.standard_normal(paths) if pr["vol"] > 0 else 0.0
        zh = rng.standard_normal(paths) if hr["vol"] > 0 else 0.0
        zf = rng.standard_normal(paths) if fe["vol"] > 0 else 0.0
        z2 = rng.standard_normal(paths) if ai["lease_vol"] > 0 else 0.0
        kappa = np.where(hstar > H, hr["speed_up"], hr["speed_down"])
        ln_h = ln_h + kappa * (np.log(hstar) - ln_h) * dt + hr["vol"] * sq * zh
        ln_s = ln_s + (pr["drift"] - pr["vol"] ** 2 / 2) * dt + pr["vol"] * sq * zs
        x = x + fe["speed"] * (xbar - x) * dt + fe["vol"] * sq * zf
        ln_l = ln_l + (ai["lease_drift"] - ai["lease_vol"] ** 2 / 2) * dt + ai["lease_vol"] * sq * (rho * zs + math.sqrt(1 - rho * rho) * z2)
    fm = tvm * (1 + rm) ** (-(n + 1) / 365)
    fa = tvm * (1 + ra) ** (-(n + 1) / 365)
    mine = npv_m["mine"] + fm * last_m["mine"]
    conv = npv_m["convert"] + fm * last_m["convert"] + npv_a + fa * last_a
    return n, mine, conv


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scenario", required=True, help="TOML (e.g. from `hashpivot scenario show`)")
    ap.add_argument("--paths", type=int, default=20000)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--share", type=float, default=1.0)
    a = ap.parse_args()
    with open(a.scenario, "rb") as fh:
        sc = tomllib.load(fh)
    t0 = time.perf_counter()
    n, mine, conv = run(sc, a.paths, a.seed, a.share)
    secs = time.perf_counter() - t0
    print(json.dumps({
        "bench": "engine_numpy_mine_convert",
        "paths": a.paths,
        "days": n,
        "seconds": secs,
        "path_days_per_second": a.paths * n / secs,
        "mine_mean": float(mine.mean()),
        "mine_stderr": float(mine.std(ddof=1) / math.sqrt(a.paths)) if a.paths > 1 else 0.0,
        "convert_mean": float(conv.mean()),
        "convert_stderr": float(conv.std(ddof=1) / math.sqrt(a.paths)) if a.paths > 1 else 0.0,
    }))


if __name__ == "__main__":
    main()
