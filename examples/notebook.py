# %% [markdown]
# # Keep mining, or convert the site to AI/HPC?
#
# The seed's question in ten cells, with `import hashpivot` (the same engine as the CLI). Each
# `# %%` starts a cell: open this file in Jupyter (jupytext), VS Code or Spyder and run it cell by
# cell, or run it whole with `python examples/notebook.py` (figures are then saved next to
# `HASHPIVOT_EXAMPLE_OUT`, default the current folder, instead of shown).
#
# Needs: `pip install ./crates/python pandas matplotlib`.

# %% 1. The package and the default scenario (1 GW Texas site, mixed fleet, newest shipped data).
import os

import numpy as np

import hashpivot

PATHS = int(os.environ.get("HASHPIVOT_EXAMPLE_PATHS", "10000"))  # the CLI's default
SEED = 42

sc = hashpivot.default_scenario()
print(
    f"site {sc['site']['power_mw']:,.0f} MW at ${sc['site']['power_usd_mwh']}/MWh, "
    f"AI lease ${sc['ai']['lease_usd_per_kw_month']}/kW-month, "
    f"{sc['run']['horizon_years']} years, {len(sc['mining']['fleet'])} machine models"
)

# %% 2. Mine vs convert the whole site on day 0: both strategies on the same paths.
r = hashpivot.simulate(sc, paths=PATHS, seed=SEED, strategy="convert", share=1.0)
table = r.table()
print((table[["npv_mean", "npv_p5", "npv_p95", "prob_below_mine"]] / [1e6, 1e6, 1e6, 1]).round(3))

# %% 3. Path by path: how often, and by how much, does converting beat mining?
gain = r.npv("convert 100%") - r.npv("mine")
print(
    f"convert beats mine on {np.mean(gain > 0):.1%} of paths; "
    f"gain p5/p50/p95 = {np.percentile(gain, [5, 50, 95]) / 1e6} $M"
)

# %% 4. The real option: convert slice by slice when it pays (least-squares Monte Carlo).
opt = hashpivot.simulate(sc, paths=PATHS, seed=SEED, strategy="optimal")
o = opt.optimal  # the policy, boundary and value of flexibility
assert o is not None
print(o)
# Levered (the default has [finance]), the policy maximizes equity NPV: judge it in that value.
flex = o.objective["flexibility"] if o.objective else o.flexibility
what = "equity NPV" if o.objective else "NPV"
print(
    f"flexibility over the best static share ({flex['best_static_share']:.0%}): "
    f"${flex['value_out_of_sample']['mean'] / 1e6:,.1f} M of {what} (out of sample)"
)

# %% 5. When: the expected converted share of the site by month.
print(o.policy["expected_share_converted"].iloc[[0, 6, 12, 24, 36, -1]])

# %% 6. The three NPV distributions on common bins (matplotlib).
import matplotlib

try:
    get_ipython  # type: ignore[name-defined]  # noqa: B018 (defined in Jupyter/IPython only)
except NameError:
    matplotlib.use("Agg")  # run as a script: save the figures instead of showing them
import matplotlib.pyplot as plt

out = os.environ.get("HASHPIVOT_EXAMPLE_OUT", ".")
samples = {
    "mine": r.npv("mine"),
    "convert 100%": r.npv("convert 100%"),
    "optimal": opt.npv("optimal"),
}
bins = np.linspace(
    min(np.percentile(x, 0.5) for x in samples.values()) / 1e6,
    max(np.percentile(x, 99.5) for x in samples.values()) / 1e6,
    60,
)
fig, ax = plt.subplots(figsize=(8, 4))
for name, x in samples.items():
    ax.hist(x / 1e6, bins=bins, alpha=0.5, label=f"{name} (mean {x.mean() / 1e6:,.0f})")
ax.set_xlabel("NPV, $M")
ax.set_ylabel("paths")
ax.legend()
fig.savefig(os.path.join(out, "npv_distributions.png"), dpi=100)

# %% 7. The conversion policy over time.
fig, ax = plt.subplots(figsize=(8, 3))
ax.plot(o.policy.index, o.policy["expected_share_converted"])
ax.set_xlabel("month")
ax.set_ylabel("expected share converted")
fig.savefig(os.path.join(out, "policy.png"), dpi=100)

# %% 8. Vary the lease rate: at which rent does converting stop paying?
rates = [40, 60, 80, 100, 120, 140]
rows = []
for rate in rates:
    s = hashpivot.default_scenario()
    s["ai"]["lease_usd_per_kw_month"] = float(rate)
    t = hashpivot.simulate(s, paths=PATHS, seed=SEED, strategy="convert", share=1.0).table()
    rows.append(
        (rate, t.loc["convert 100%", "npv_mean"] - t.loc["mine", "npv_mean"], t.loc["convert 100%", "prob_below_mine"])
    )
for rate, g, p in rows:
    print(f"${rate:>4}/kW-month: convert - mine = {g / 1e6:>9,.1f} $M, P(convert < mine) = {p:.1%}")

# %% 9. The break-even lease rate (linear interpolation between the two rates around it).
g = np.array([x[1] for x in rows])
k = np.nonzero(np.diff(np.sign(g)))[0]
if len(k):
    i = k[0]
    be = rates[i] + (rates[i + 1] - rates[i]) * g[i] / (g[i] - g[i + 1])
    print(f"break-even lease ≈ ${be:,.0f}/kW-month")
else:
    print("no break-even between", rates[0], "and", rates[-1])

# %% 10. Save the run for the record: exactly `hashpivot simulate --json`.
with open(os.path.join(out, "convert_run.json"), "w") as f:
    f.write(r.to_json())
print("wrote", os.path.join(out, "convert_run.json"))
