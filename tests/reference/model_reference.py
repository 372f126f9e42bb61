#!/usr/bin/env python3
"""Independent reference implementation of the hashpivot model (docs/MODEL.md, version 1).

Written from docs/MODEL.md alone (sections 1-5 and the strategies mine / convert / schedule / sweep
of section 6), without reading the Rust engine, so that `crates/cli/tests/reference_model.rs` can
check the engine against it. Pure Python 3.11 standard library; plain day-by-day loops, no
vectorisation, no cleverness: it is meant to be read beside MODEL.md.

Only deterministic scenarios are accepted: every volatility (price.vol, fees.vol, hashrate.vol,
ai.lease_vol) must be 0, so one path is the whole distribution and the engine's mean NPV over any
number of paths must equal ours to 1e-9 relative.

Usage:
    python3 tests/reference/model_reference.py SCENARIO.toml
    python3 tests/reference/model_reference.py --self-test

prints one JSON document:
    {"scenario": ..., "days": N,
     "results": [{"strategy": "mine", "mining_npv": .., "ai_npv": .., "npv": ..},
                 {"strategy": "convert", "share": s, ...},
                 {"strategy": "schedule", "schedule": [[day, share], ...], ...},
                 {"strategy": "sweep", "share": s, ...}, ...]}
Every strategy that the scenario's [strategy] table defines is evaluated, whatever `kind` says.
Exit code 2 (with a message on stderr) for a scenario this reference cannot or will not evaluate.

Readings of MODEL.md where the text leaves room (each is a place where two careful implementations
could differ; the engine is checked against these readings):

 A1  Keys: the reference has no copy of the product's defaults, so it requires every key it uses
     (mining.fleet included: `fleet = []` is a site without machines), except the four MODEL.md
     itself gives a default for: chain.hashrate_ehs, chain.epoch_elapsed_days, ai.lease_price_corr
     (irrelevant at zero vol) and site.terminal_multiple (0). Section 7 says left-out keys take
     "the product's documented defaults"; for the two chain keys section 3 documents the default
     as a formula (D0 * 2^32 / 600 / 1e12 TH/s; (h0 - E0) / 144 days), and that is what is used
     here, not the embedded default scenario's market values (which belong to another height and
     difficulty).
 A2  State variables are carried in the form the step equations of section 3 are written in:
     ln S, x (= ln F), ln H, ln L; S = exp(ln S) etc. An implementation that carries S and multiplies
     by exp(drift * Δ) differs by rounding only (~1e-13 relative after 15 years).
 A3  h0 = chain.height (an integer), e0 = (h0 - E0) / 144 in floating point.
 A4  sub_t with b_t > 0 only (H > 0 always, since ln H is the state).  Pieces are split at every
     multiple of 210000 strictly inside (a, z); the piece starting at a halving height k*210000
     uses subsidy_btc(k*210000), i.e. the new subsidy.
 A5  Retarget test `h_t + b_t >= E_t + 2016` with >= exactly as written; at most one per day even if
     b_t > 2016 (the surplus is simply carried in h).
 A6  κ uses strict `H*_t > H_t` (equality gives speed_down, as written).
 A7  Capacity layout. "The site is P MW": mining_mw(t) = P - (MW converted before or on day t);
     idle MW = mining_mw - fleet facility MW. A conversion of s*P MW takes idle MW first, then the
     batches in decreasing power_w / hashrate_ths (ties: file order, a stable sort), removing
     (MW taken) * 1e6 / (power_w * o) units from a batch. "Removed machines are sold ... for
     salvage_usd_per_th * TH removed": the salvage is cash of the MINING stream on the day of
     removal (section 4), discounted at mining.discount_rate.
 A8  Fleet refresh on day k * round(365 * refresh_every_years), k >= 1, for days < N only. It sells
     the whole remaining fleet at salvage (mining stream), then buys ONE new batch of frontier
     machines with power_w / hashrate_ths = η_t that fills mining_mw(t) (P minus everything converted
     on earlier days; idle MW is filled too), paying hw_days_of_hashprice * hv_t * S_t per TH/s
     (mining stream). It happens before that day's conversions, so a conversion on a refresh day
     removes frontier machines (the only batch) and sells them at salvage the same day.
 A9  Mining on day t uses the fleet after that day's refresh and conversions (the MW that leave on
     day τ stop mining that day). Curtailment is per batch and per day with strict `usd_i < cost_i`.
     Opex uses the facility MW of all machines still deployed (after the day's removals).
 A10 Only days t = 0 .. N-1 produce cash. Capex of a build that runs past the horizon is cut at day
     N-1 (the spread C/B per day stays the same; the rest is never spent); likewise rent.
 A11 Lease terms: L_c for c = 0 is L_τ (the state at the start of day τ), for c >= 1 it is L_{u_c},
     the state at the start of day u_c (< N because rent is only computed for days < N).
     exp(-default * (t - τ - B)/365) counts from the first rent day, as written.
 A12 Several conversions (schedule) are independent leases, each with its own τ, L_τ, build and
     terms; their rents and capex add up. Schedule entries on the same day are applied in file
     order. A schedule share is a share of the whole site P (not of what is left).
 A13 Terminal value of a stream: terminal_multiple * (sum of that stream's undiscounted net cash over
     days max(0, N-365) .. N-1, everything included: capex, salvage, refresh purchases), times
     (1 + r)^(-(N + 1)/365), "that stream's factor of day N" read literally with the day-t factor
     (1 + r)^(-(t + 1)/365).
 A14 `sweep` converts each share of strategy.shares on day 0 (like `convert`).
 A15 NPV = mining part + AI part, each including its terminal value.
 A16 η_t, p_t and the escalators count t in days from the start of the simulation (t/365 years),
     not from a calendar date; the machines of a refresh keep the efficiency η of their purchase day.
 A17 GPU cloud (version 2, section 9; ai.mode = "cloud", every [cloud] key required, price_vol 0):
     g_t = exp(price_drift * t / 365) (the step equation at vol 0). The hall is built as a lease's
     (capex C = IT * ai.capex_usd_per_mw_it over B days, A10); on u = τ + B and at every multiple of
     the GPU life L = round(gpu_life_years * 365) after it (only the first without refresh) a set of
     GPUs costs IT * gpu_capex * g_t. For days u <= t with (t - u) < L or refresh: revenue
     IT * revenue / 365 * utilization * g', g' = g_u while t - u < round(contract_years * 365), else
     g_t; costs s*P * 24 * p_t + opex_share * revenue. Without refresh nothing after the first life.
     The AI stream (hall and GPUs) is discounted at cloud.discount_rate.
 A18 BTC view (section 11; run.currency = "btc"): each stream's cash of day t is divided by S_t
     before its day-t factor; the terminal value (A13, from the USD cash of the last year) by
     S_{N-1}.
"""

import json
import math
import sys
import tomllib

SUBSIDY_HALVING_INTERVAL = 210000
RETARGET_INTERVAL = 2016
TWO_32 = 2.0**32
DT = 1.0 / 365.0


class BadScenario(Exception):
    """A scenario this reference will not evaluate (the message names the key)."""


# ---------------------------------------------------------------------------------------------
# Section 1: consensus arithmetic (only the subsidy is needed by the simulation)
# ---------------------------------------------------------------------------------------------


def subsidy_sat(height):
    """Block subsidy in satoshis at integer height (Bitcoin Core GetBlockSubsidy)."""
    halvings = height // SUBSIDY_HALVING_INTERVAL
    if halvings >= 64:
        return 0
    return 5_000_000_000 >> halvings


def subsidy_btc(height):
    return subsidy_sat(height) / 1e8


def mean_subsidy(a, b):
    """sub_t: mean subsidy over the real-valued heights [a, a + b) (section 3, reading A4)."""
    z = a + b
    total = 0.0
    start = a
    # First multiple of 210000 strictly above `start`.
    k = math.floor(start / SUBSIDY_HALVING_INTERVAL) + 1
    while k * SUBSIDY_HALVING_INTERVAL < z:
        cut = float(k * SUBSIDY_HALVING_INTERVAL)
        total += (cut - start) * subsidy_btc(math.floor(start))
        start = cut
        k += 1
    total += (z - start) * subsidy_btc(math.floor(start))
    return total / b


def round_half_away(x):
    """round() of MODEL.md: half away from zero (Python's round() is half-to-even)."""
    return math.floor(x + 0.5) if x >= 0 else -math.floor(-x + 0.5)


# ---------------------------------------------------------------------------------------------
# Scenario
# ---------------------------------------------------------------------------------------------


def need(table, name, key):
    if key not in table:
        raise BadScenario(f"{name}.{key} is missing (the reference needs every key, reading A1)")
    v = table[key]
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        if key == "curtail" and isinstance(v, bool):
            return v
        raise BadScenario(f"{name}.{key} = {v!r}: a number is required")
    return float(v)


def load(path):
    with open(path, "rb") as f:
        doc = tomllib.load(f)

    def sec(name):
        t = doc.get(name)
        if not isinstance(t, dict):
            raise BadScenario(f"[{name}] is missing")
        return t

    run, chain, price, fees = sec("run"), sec("chain"), sec("price"), sec("fees")
    hr, site, mining, ai, strat = sec("hashrate"), sec("site"), sec("mining"), sec("ai"), sec("strategy")

    sc = {}
    sc["horizon_years"] = need(run, "run", "horizon_years")
    sc["height"] = int(need(chain, "chain", "height"))
    sc["difficulty"] = need(chain, "chain", "difficulty")
    sc["hashrate_ehs"] = float(chain["hashrate_ehs"]) if "hashrate_ehs" in chain else None
    sc["epoch_elapsed_days"] = (
        float(chain["epoch_elapsed_days"]) if "epoch_elapsed_days" in chain else None
    )
    for k in ("spot", "drift", "vol"):
        sc["price_" + k] = need(price, "price", k)
    for k in ("btc_per_block", "speed", "vol"):
        sc["fees_" + k] = need(fees, "fees", k)
    for k in (
        "speed_up",
        "speed_down",
        "vol",
        "marginal_efficiency_jth",
        "efficiency_decline",
        "efficiency_floor_jth",
        "marginal_power_usd_mwh",
        "power_share",
    ):
        sc["hr_" + k] = need(hr, "hashrate", k)
    for k in ("power_mw", "power_usd_mwh", "power_escalator"):
        sc["site_" + k] = need(site, "site", k)
    sc["site_terminal_multiple"] = float(site.get("terminal_multiple", 0.0))
    for k in (
        "overhead",
        "uptime",
        "pool_fee",
        "opex_usd_per_mw_month",
        "salvage_usd_per_th",
        "refresh_every_years",
        "hw_days_of_hashprice",
        "discount_rate",
    ):
        sc["m_" + k] = need(mining, "mining", k)
    if not isinstance(mining.get("curtail"), bool):
        raise BadScenario("mining.curtail must be true or false")
    sc["m_curtail"] = mining["curtail"]
    if not isinstance(mining.get("fleet"), list):
        # Left out, the product's default fleet would apply (reading A1): write `fleet = []`
        # for a site without machines.
        raise BadScenario("mining.fleet is missing (write `fleet = []` for no machines)")
    fleet = []
    for i, b in enumerate(mining["fleet"]):
        name = f"mining.fleet[{i}]"
        fleet.append(
            {
                "model": str(b.get("model", name)),
                "units": need(b, name, "units"),
                "hashrate_ths": need(b, name, "hashrate_ths"),
                "power_w": need(b, name, "power_w"),
            }
        )
    sc["fleet"] = fleet
    for k in (
        "it_mw_per_gross_mw",
        "capex_usd_per_mw_it",
        "build_months",
        "lease_usd_per_kw_month",
        "lease_escalator",
        "lease_term_years",
        "renewal_probability",
        "tenant_default_rate",
        "noi_margin",
        "discount_rate",
        "lease_drift",
        "lease_vol",
    ):
        sc["ai_" + k] = need(ai, "ai", k)

    sc["ai_mode"] = ai.get("mode", "lease")
    sc["currency"] = run.get("currency", "usd")
    if sc["ai_mode"] == "cloud":
        cloud = sec("cloud")
        for k in (
            "gpu_capex_usd_per_mw_it",
            "revenue_usd_per_mw_it_year",
            "utilization",
            "opex_share",
            "gpu_life_years",
            "contract_years",
            "price_drift",
            "price_vol",
            "discount_rate",
        ):
            sc["cloud_" + k] = need(cloud, "cloud", k)
        if not isinstance(cloud.get("refresh"), bool):
            raise BadScenario("cloud.refresh must be true or false")
        sc["cloud_refresh"] = cloud["refresh"]
        if sc["cloud_price_vol"] != 0.0:
            raise BadScenario("cloud.price_vol: the reference is deterministic, it must be 0")

    sc["strategy_share"] = float(strat["share"]) if "share" in strat else None
    sc["strategy_schedule"] = (
        [(int(d), float(s)) for d, s in strat["schedule"]] if "schedule" in strat else None
    )
    sc["strategy_shares"] = [float(s) for s in strat["shares"]] if "shares" in strat else None

    vol_keys = {"price_vol": "price.vol", "fees_vol": "fees.vol", "hr_vol": "hashrate.vol",
                "ai_lease_vol": "ai.lease_vol"}
    for key, toml_key in vol_keys.items():
        if sc[key] != 0.0:
            raise BadScenario(
                f"{toml_key} = {sc[key]}: the reference is deterministic, every volatility must be 0"
            )
    fleet_mw = sum(b["units"] * b["power_w"] * sc["m_overhead"] / 1e6 for b in fleet)
    if fleet_mw > sc["site_power_mw"]:
        raise BadScenario(
            f"mining.fleet: facility power {fleet_mw} MW exceeds site.power_mw = {sc['site_power_mw']}"
        )
    return sc


# ---------------------------------------------------------------------------------------------
# Section 3: the market path (the site is a price taker, so one path serves every strategy)
# ---------------------------------------------------------------------------------------------


def market_path(sc):
    n = round_half_away(sc["horizon_years"] * 365.0)
    if n <= 0:
        raise BadScenario(f"run.horizon_years = {sc['horizon_years']}: gives {n} days")

    ln_s = math.log(sc["price_spot"])
    x = math.log(sc["fees_btc_per_block"])
    d = sc["difficulty"]
    if sc["hashrate_ehs"] is not None:
        h_net = sc["hashrate_ehs"] * 1e6
    else:
        h_net = d * TWO_32 / 600.0 / 1e12
    ln_h = math.log(h_net)
    height = float(sc["height"])
    epoch_start = sc["height"] - sc["height"] % RETARGET_INTERVAL
    if sc["epoch_elapsed_days"] is not None:
        e = sc["epoch_elapsed_days"]
    else:
        e = (sc["height"] - epoch_start) / 144.0
    ln_l = math.log(sc["ai_lease_usd_per_kw_month"])

    days = []
    for t in range(n):
        s = math.exp(ln_s)
        f = math.exp(x)
        h_cur = math.exp(ln_h)
        hd = d * TWO_32 / 600.0 / 1e12
        b = 144.0 * h_cur / hd
        sub = mean_subsidy(height, b)
        r = sub + f
        hv = 86400.0 * 1e12 * r / (d * TWO_32)
        eta = max(
            sc["hr_efficiency_floor_jth"],
            sc["hr_marginal_efficiency_jth"] * (1.0 - sc["hr_efficiency_decline"]) ** (t / 365.0),
        )
        h_star = (
            sc["hr_power_share"]
            * 144.0
            * r
            * s
            / (eta * 24.0 * sc["hr_marginal_power_usd_mwh"] / 1e6)
        )
        p = sc["site_power_usd_mwh"] * (1.0 + sc["site_power_escalator"]) ** (t / 365.0)
        days.append(
            {
                "S": s,
                "D": d,
                "R": r,
                "hv": hv,
                "eta": eta,
                "p": p,
                "L": math.exp(ln_l),
                "H": h_cur,
                "Hstar": h_star,
                "h": height,
                "b": b,
            }
        )

        # 1. epoch
        if height + b >= epoch_start + RETARGET_INTERVAL:
            phi = (epoch_start + RETARGET_INTERVAL - height) / b
            big_t = e + phi
            d = d * 14.0 / min(max(big_t, 3.5), 56.0)
            epoch_start += RETARGET_INTERVAL
            e = 1.0 - phi
        else:
            e = e + 1.0
        height = height + b
        # 2. hashrate (vol 0)
        kappa = sc["hr_speed_up"] if h_star > h_cur else sc["hr_speed_down"]
        ln_h = ln_h + kappa * (math.log(h_star) - ln_h) * DT
        # 3. price (vol 0)
        ln_s = ln_s + (sc["price_drift"] - sc["price_vol"] ** 2 / 2.0) * DT
        # 4. fees (vol 0)
        x = x + sc["fees_speed"] * (math.log(sc["fees_btc_per_block"]) - x) * DT
        # 5. lease market (vol 0)
        ln_l = ln_l + (sc["ai_lease_drift"] - sc["ai_lease_vol"] ** 2 / 2.0) * DT
    return days


# ---------------------------------------------------------------------------------------------
# Sections 4 and 5: the site's cash flows under one list of conversions
# ---------------------------------------------------------------------------------------------


def site_npv(sc, days, conversions):
    """Mining and AI NPV of the site when `conversions` = [(day, share), ...] are made."""
    n = len(days)
    o = sc["m_overhead"]
    big_p = sc["site_power_mw"]
    # Batches: stable sort, least efficient (highest W per TH/s) first = removal order (A7).
    batches = [dict(b) for b in sc["fleet"]]
    batches.sort(key=lambda b: -(b["power_w"] / b["hashrate_ths"]))
    converted_mw = 0.0

    refresh_every = 0
    if sc["m_refresh_every_years"] > 0:
        refresh_every = round_half_away(365.0 * sc["m_refresh_every_years"])

    b_days = round_half_away(sc["ai_build_months"] * 365.0 / 12.0)
    m_days = round_half_away(sc["ai_lease_term_years"] * 365.0)
    leases = []  # {"tau", "it", "capex"}

    by_day = {}
    for day, share in conversions:
        by_day.setdefault(day, []).append(share)

    mining_cash = [0.0] * n
    ai_cash = [0.0] * n

    def fleet_mw():
        return sum(b["units"] * b["power_w"] * o / 1e6 for b in batches)

    for t in range(n):
        st = days[t]
        cash_m = 0.0
        cash_ai = 0.0

        # Fleet refresh due today (A8).
        if refresh_every > 0 and t > 0 and t % refresh_every == 0:
            th_old = sum(b["units"] * b["hashrate_ths"] for b in batches)
            cash_m += sc["m_salvage_usd_per_th"] * th_old
            mining_mw = big_p - converted_mw
            th_new = mining_mw * 1e6 / (o * st["eta"])
            cash_m -= sc["m_hw_days_of_hashprice"] * st["hv"] * st["S"] * th_new
            batches = [
                {"model": "frontier", "units": th_new, "hashrate_ths": 1.0, "power_w": st["eta"]}
            ]

        # Conversions of the day (A7, A12).
        for share in by_day.get(t, []):
            take = share * big_p
            mining_mw = big_p - converted_mw
            idle = max(0.0, mining_mw - fleet_mw())
            from_idle = min(take, idle)
            rest = take - from_idle
            for b in batches:
                if rest <= 0.0:
                    break
                b_mw = b["units"] * b["power_w"] * o / 1e6
                if b_mw <= 0.0:
                    continue
                r = min(rest, b_mw)
                units_removed = r * 1e6 / (b["power_w"] * o)
                if r == b_mw:
                    units_removed = b["units"]
                b["units"] -= units_removed
                cash_m += sc["m_salvage_usd_per_th"] * units_removed * b["hashrate_ths"]
                rest -= r
            converted_mw += take
            it = take * sc["ai_it_mw_per_gross_mw"]
            leases.append(
                {
                    "tau": t,
                    "it": it,
                    "gross": take,
                    "capex": it * sc["ai_capex_usd_per_mw_it"],
                    "L0": st["L"],
                }
            )

        # Mining cash of the day (section 4).
        for b in batches:
            btc = sc["m_uptime"] * b["units"] * b["hashrate_ths"] * st["hv"] * (1.0 - sc["m_pool_fee"])
            usd = btc * st["S"]
            cost = sc["m_uptime"] * b["units"] * b["power_w"] * o * 24.0 / 1e6 * st["p"]
            if sc["m_curtail"] and usd < cost:
                usd = cost = 0.0
            cash_m += usd - cost
        cash_m -= sc["m_opex_usd_per_mw_month"] * fleet_mw() * 12.0 / 365.0

        # AI cash of the day (section 5).
        for ls in leases:
            tau, it = ls["tau"], ls["it"]
            if b_days == 0:
                if t == tau:
                    cash_ai -= ls["capex"]
            elif tau <= t < tau + b_days:
                cash_ai -= ls["capex"] / b_days
            start = tau + b_days
            if sc["ai_mode"] == "cloud":
                cash_ai += cloud_cash(sc, t, start, it, ls["gross"], st["p"])
            elif t >= start:
                c = (t - start) // m_days
                u_c = start + c * m_days
                l_c = ls["L0"] if c == 0 else days[u_c]["L"]
                rent = (
                    it
                    * 1000.0
                    * l_c
                    * 12.0
                    / 365.0
                    * (1.0 + sc["ai_lease_escalator"]) ** ((t - u_c) / 365.0)
                    * sc["ai_renewal_probability"] ** c
                    * math.exp(-sc["ai_tenant_default_rate"] * (t - start) / 365.0)
                )
                cash_ai += rent * sc["ai_noi_margin"]

        mining_cash[t] = cash_m
        ai_cash[t] = cash_ai

    btc = sc["currency"] == "btc"

    def npv(cash, rate):
        total = 0.0
        for t, c in enumerate(cash):
            total += (c / days[t]["S"] if btc else c) * (1.0 + rate) ** (-(t + 1) / 365.0)
        last_year = sum(cash[max(0, n - 365) :])
        if btc:
            last_year /= days[n - 1]["S"]
        total += sc["site_terminal_multiple"] * last_year * (1.0 + rate) ** (-(n + 1) / 365.0)
        return total

    m = npv(mining_cash, sc["m_discount_rate"])
    ai_rate = sc["cloud_discount_rate"] if sc["ai_mode"] == "cloud" else sc["ai_discount_rate"]
    a = npv(ai_cash, ai_rate)
    return m, a


def cloud_cash(sc, t, u, it, gross, p_t):
    """Section 9 (A17): the GPU cloud's cash on day t of a hall ready on day u."""
    if t < u:
        return 0.0
    life = max(1, round_half_away(sc["cloud_gpu_life_years"] * 365.0))
    contract = round_half_away(sc["cloud_contract_years"] * 365.0)
    age = t - u
    if age >= life and not sc["cloud_refresh"]:
        return 0.0

    def g(day):
        return math.exp(sc["cloud_price_drift"] * day / 365.0)

    cash = 0.0
    if age % life == 0:
        cash -= it * sc["cloud_gpu_capex_usd_per_mw_it"] * g(t)
    price = g(u) if age < contract else g(t)
    revenue = it * sc["cloud_revenue_usd_per_mw_it_year"] / 365.0 * sc["cloud_utilization"] * price
    cash += revenue - gross * 24.0 * p_t - sc["cloud_opex_share"] * revenue
    return cash


def evaluate(path):
    sc = load(path)
    days = market_path(sc)
    n = len(days)
    results = []

    def add(entry, conversions):
        for day, share in conversions:
            if not (0 <= day < n):
                raise BadScenario(f"strategy.schedule day {day}: allowed 0 <= day < {n}")
            if not (0.0 <= share <= 1.0):
                raise BadScenario(f"strategy share {share}: allowed 0 <= share <= 1")
        m, a = site_npv(sc, days, conversions)
        entry.update({"mining_npv": m, "ai_npv": a, "npv": m + a})
        results.append(entry)

    add({"strategy": "mine"}, [])
    if sc["strategy_share"] is not None:
        add({"strategy": "convert", "share": sc["strategy_share"]}, [(0, sc["strategy_share"])])
    if sc["strategy_schedule"] is not None:
        sched = sc["strategy_schedule"]
        if sum(s for _, s in sched) > 1.0 + 1e-12:
            raise BadScenario("strategy.schedule: shares sum above 1")
        add({"strategy": "schedule", "schedule": [[d, s] for d, s in sched]}, sched)
    if sc["strategy_shares"] is not None:
        for s in sc["strategy_shares"]:
            add({"strategy": "sweep", "share": s}, [(0, s)])
    return {"scenario": path, "days": n, "results": results}


def self_test():
    """Checks of the building blocks against values fixed outside this file."""
    checks = [
        # Bitcoin Core GetBlockSubsidy (validation.cpp) and its test: the schedule and the 21M sum.
        (subsidy_sat(0), 5_000_000_000),
        (subsidy_sat(209_999), 5_000_000_000),
        (subsidy_sat(210_000), 2_500_000_000),
        (subsidy_sat(840_000), 312_500_000),
        (subsidy_sat(1_049_999), 312_500_000),
        (subsidy_sat(1_050_000), 156_250_000),
        (subsidy_sat(32 * 210_000), 1),
        (subsidy_sat(33 * 210_000), 0),
        (subsidy_sat(64 * 210_000), 0),
        (sum(210_000 * subsidy_sat(i * 210_000) for i in range(70)), 2_099_999_997_690_000),
        # MODEL.md: round half away from zero.
        (round_half_away(182.5), 183),
        (round_half_away(91.25), 91),
        (round_half_away(0.5), 1),
        (round_half_away(-0.5), -1),
        (round_half_away(5474.999), 5475),
        # sub_t split by hand: 100 blocks at 3.125 then 100 at 1.5625; half a block each side.
        (mean_subsidy(1_049_900.0, 200.0), 2.34375),
        (mean_subsidy(1_049_999.5, 1.0), 2.34375),
        (mean_subsidy(0.0, 420_000.0), 37.5),
        (mean_subsidy(1_050_000.0, 10.0), 1.5625),
    ]
    bad = [(i, got, want) for i, (got, want) in enumerate(checks) if got != want]
    for i, got, want in bad:
        print(f"self-test check {i}: got {got!r}, want {want!r}", file=sys.stderr)
    print(f"{len(checks) - len(bad)}/{len(checks)} self-test checks pass")
    return 1 if bad else 0


def main(argv):
    if len(argv) == 2 and argv[1] == "--self-test":
        return self_test()
    if len(argv) != 2:
        print("usage: model_reference.py SCENARIO.toml", file=sys.stderr)
        return 2
    try:
        out = evaluate(argv[1])
    except (BadScenario, OSError, tomllib.TOMLDecodeError) as e:
        print(f"model_reference.py: {argv[1]}: {e}", file=sys.stderr)
        return 2
    json.dump(out, sys.stdout, indent=1)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
