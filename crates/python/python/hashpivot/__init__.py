"""hashpivot: keep mining bitcoin, or convert the powered site into an AI/HPC data center?

The same Monte Carlo engine as the ``hashpivot`` CLI, for notebooks. Scenarios are plain dicts
with the tables of a scenario file (``run``, ``chain``, ``price``, ``fees``, ``hashrate``,
``site``, ``mining``, ``ai``, ``strategy``); keys left out take the defaults. Tables come back as
pandas DataFrames, or as dicts of numpy arrays when pandas is not installed.

Example:
    >>> import hashpivot
    >>> sc = hashpivot.default_scenario()
    >>> sc["ai"]["lease_usd_per_kw_month"] = 110.0
    >>> r = hashpivot.simulate(sc, paths=2000, seed=7, strategy="convert")
    >>> r.table()[["npv_mean", "prob_below_mine"]]            # doctest: +SKIP
    >>> gain = r.npv("convert") - r.npv("mine")              # path by path, same paths
    >>> bool(abs(gain.mean() - r.table()["npv_mean"].diff().iloc[1]) < 1e-6 * abs(gain.mean()))
    True
"""

from __future__ import annotations

import json
import math
import os
import sys
from typing import Any, Callable, Dict, List, Mapping, Optional, Tuple, Union

import numpy as np

from . import _native, _tables, chain, history
from ._errors import ScenarioError

__all__ = [
    "ScenarioError",
    "Result",
    "Optimal",
    "default_scenario",
    "default_scenario_toml",
    "load_scenario",
    "check_scenario",
    "simulate",
    "payback",
    "hashprice",
    "machines",
    "leases",
    "chain",
    "history",
    "MAX_PATHS",
]

__version__ = "0.1.0"

#: Most Monte Carlo paths a run accepts.
MAX_PATHS: int = int(_native.MAX_PATHS)

ScenarioLike = Union[Mapping[str, Any], str, "os.PathLike[str]", None]
Progress = Union[bool, Callable[[float], Any]]


# ---------------------------------------------------------------------------------------------
# Scenarios


def _dict(text: str) -> Dict[str, Any]:
    """A JSON object from the native half, typed for the callers."""
    d = json.loads(text)
    assert isinstance(d, dict)
    return d


def default_scenario() -> Dict[str, Any]:
    """The embedded default scenario (1 GW Texas site, mixed fleet, market state of the newest
    shipped data) as a dict; edit it and pass it to :func:`simulate`.

    Example:
        >>> import hashpivot
        >>> sc = hashpivot.default_scenario()
        >>> sc["site"]["power_mw"]
        1000.0
    """
    return _dict(_native.default_scenario_json())


def default_scenario_toml() -> str:
    """The default scenario as annotated TOML, every value with its source
    (``hashpivot scenario show``)."""
    return _native.default_scenario_toml()


def load_scenario(path: Union[str, "os.PathLike[str]"]) -> Dict[str, Any]:
    """Reads and checks a scenario file (TOML); returns the complete scenario (defaults filled in).

    Raises:
        ScenarioError: the file cannot be read, has a syntax error, an unknown key, a wrong type or
            a value out of range (the CLI's message: file, line, key, value, what is allowed).

    Example:
        >>> import hashpivot, pathlib, tempfile
        >>> p = pathlib.Path(tempfile.mkdtemp()) / "s.toml"
        >>> _ = p.write_text("[ai]\\nlease_usd_per_kw_month = 110\\n")
        >>> hashpivot.load_scenario(p)["ai"]["lease_usd_per_kw_month"]
        110.0
    """
    return _dict(_native.load_scenario_json(os.fspath(path)))


def _plain(v: Any, path: str) -> Any:
    """A scenario dict as JSON-able data: numpy scalars unwrapped, non-finite floats tagged (JSON
    has no NaN; the engine then reports the key as out of range, as for a file)."""
    if isinstance(v, Mapping):
        out = {}
        for k, x in v.items():
            if not isinstance(k, str):
                raise ScenarioError(
                    f"scenario: {path + '.' if path else ''}{k!r}: keys must be text",
                    [{"key": path or None, "value": repr(k), "allowed": "text keys", "message": "keys must be text"}],
                )
            out[k] = _plain(x, f"{path}.{k}" if path else k)
        return out
    if isinstance(v, (list, tuple)):
        return [_plain(x, f"{path}[{i}]") for i, x in enumerate(v)]
    if isinstance(v, np.ndarray):
        return [_plain(x, f"{path}[{i}]") for i, x in enumerate(v.tolist())]
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and not math.isfinite(v):
        return {"$float": "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")}
    if v is None or isinstance(v, (bool, int, float, str)):
        return v
    raise ScenarioError(
        f"scenario: {path} = {v!r}: allowed numbers, booleans, text, lists and dicts",
        [{"key": path, "value": repr(v), "allowed": "numbers, booleans, text, lists and dicts",
          "message": f"unsupported type {type(v).__name__}"}],
    )


def _scenario_json(scenario: Mapping[str, Any]) -> str:
    if not isinstance(scenario, Mapping):
        raise TypeError(
            f"scenario: expected a dict, a path or None, got {type(scenario).__name__}"
        )
    return json.dumps(_plain(scenario, ""), allow_nan=False)


def check_scenario(scenario: Mapping[str, Any]) -> Dict[str, Any]:
    """Checks a scenario dict like ``hashpivot scenario check``: unknown keys, types, ranges, fleet
    vs site. Returns the complete scenario (keys left out filled with the defaults).

    Raises:
        ScenarioError: with the CLI's messages; ``e.key`` is the first offending key path and
            ``e.problems`` lists every problem (key, value, allowed).

    Example:
        >>> import hashpivot
        >>> try:
        ...     hashpivot.check_scenario({"ai": {"lease_usd_per_kw_month": -5}})
        ... except hashpivot.ScenarioError as e:
        ...     print(e.key)
        ai.lease_usd_per_kw_month
    """
    return _dict(_native.check_scenario_json(_scenario_json(scenario)))


def _scenario_args(scenario: ScenarioLike) -> Tuple[Optional[str], Optional[str]]:
    """(JSON of a dict, path of a file): how the native functions take a scenario."""
    if scenario is None:
        return None, None
    if isinstance(scenario, (str, os.PathLike)):
        return None, os.fspath(scenario)
    return _scenario_json(scenario), None


# ---------------------------------------------------------------------------------------------
# Options


def _int_opt(name: str, v: Any, lo: int, hi: int, allowed: str) -> Optional[int]:
    if v is None:
        return None
    if isinstance(v, np.integer):
        v = int(v)
    if isinstance(v, bool) or not isinstance(v, int):
        raise TypeError(f"{name}: expected an int, got {type(v).__name__}")
    if not lo <= v <= hi:
        raise ValueError(f"{name}: {v} is not allowed; use {allowed}")
    return v


def _float_opt(name: str, v: Any) -> Optional[float]:
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (int, float, np.integer, np.floating)):
        raise TypeError(f"{name}: expected a number, got {type(v).__name__}")
    return float(v)


def _float_req(name: str, v: Any) -> float:
    x = _float_opt(name, v)
    if x is None:
        raise TypeError(f"{name}: expected a number, got None")
    return x


class _Bar:
    """A text progress bar on stderr (``progress=True``)."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.last = -1

    def __call__(self, f: float) -> None:
        pct = int(100 * f)
        if pct == self.last:
            return
        self.last = pct
        n = pct * 30 // 100
        sys.stderr.write(f"\r{self.label} [{'#' * n}{'.' * (30 - n)}] {pct:3d}%")
        if pct >= 100:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _progress(progress: Progress, label: str) -> Optional[Callable[[float], Any]]:
    if progress is True:
        return _Bar(label)
    if progress is False or progress is None:
        return None
    if callable(progress):
        return progress
    raise TypeError("progress: expected True, False or a callable taking the fraction done")


# ---------------------------------------------------------------------------------------------
# simulate


def _label(strategy: str, share: Optional[float]) -> str:
    """The CLI's row name: ``mine``, ``convert 40%``, ``sweep 25%``, ``optimal``."""
    return strategy if share is None else f"{strategy} {100 * share:.0f}%"


class Optimal:
    """The ``optimal`` strategy's extras (least-squares Monte Carlo staged conversion).

    Attributes:
        policy: by month, each slice's probability of having been converted and the expected
            converted share of the site (index ``month``; also the ``day`` of each month).
        boundary: by month, the hashprice ($/PH/s/day) below which (or above which, see the
            ``regime_slice_k`` columns) converting slice k pays, lease rate and price at their
            medians.
        boundary_lease: the same for the lease rate ($/kW-month).
        slices: one row per slice: MW, P(converted), mean conversion month, option values.
        npv_out_of_sample, in_sample_gap, npv_perfect_foresight: ``{"mean", "stderr", "paths"}``.
        flexibility: optimal minus the best static ``convert`` share on the same paths.
        objective: with ``[finance]`` only (else ``None``): the policy maximizes the owner's
            value (mining NPV + AI equity NPV), and this gives its ``value_out_of_sample``,
            ``value_perfect_foresight``, ``in_sample_gap`` and ``flexibility`` in that value.
        data: the whole ``optimal`` entry of ``simulate --json``.
    """

    def __init__(self, entry: Dict[str, Any]) -> None:
        self.data = entry
        self.npv_out_of_sample: Dict[str, Any] = entry.get("npv_out_of_sample", {})
        self.in_sample_gap: Dict[str, Any] = entry.get("in_sample_gap", {})
        self.npv_perfect_foresight: Dict[str, Any] = entry.get("npv_perfect_foresight", {})
        self.flexibility: Dict[str, Any] = entry.get("flexibility", {})
        self.objective: Optional[Dict[str, Any]] = entry.get("objective")
        p = entry.get("policy", {})
        cols: Dict[str, Any] = {"month": p.get("months", []), "day": p.get("days", [])}
        for k in sorted((k for k in p if k.startswith("slice_")), key=lambda k: int(k[6:])):
            cols[f"p_converted_{k}"] = p[k]
        cols["expected_share_converted"] = p.get("expected_share_converted", [])
        self.policy = _tables.frame(cols, index="month")
        self.boundary = self._boundary(entry.get("boundary", {}))
        self.boundary_lease = self._boundary(entry.get("boundary_lease", {}))
        rows = []
        for s in entry.get("slices", []):
            row = {k: v for k, v in s.items() if not isinstance(v, (dict, list))}
            for k, v in s.items():
                if isinstance(v, dict):
                    row[f"{k}_mean"] = v.get("mean")
                    row[f"{k}_stderr"] = v.get("stderr")
            rows.append(row)
        self.slices = _tables.records(rows, index="slice")

    @staticmethod
    def _boundary(b: Dict[str, Any]) -> Any:
        cols: Dict[str, Any] = {"month": b.get("months", [])}
        names = sorted((k for k in b if k.startswith("slice_")), key=lambda k: int(k[6:]))
        for k in names:
            cols[k] = b[k]
        for k in names:
            cols[f"regime_{k}"] = b.get("regime", {}).get(k, [])
        return _tables.frame(cols, index="month")

    def __repr__(self) -> str:
        oos = self.npv_out_of_sample
        return (
            f"<hashpivot.Optimal out-of-sample NPV ${oos.get('mean', float('nan')) / 1e6:,.1f} M"
            f" ± {oos.get('stderr', float('nan')) / 1e6:,.1f}, {len(self.slices)} slices>"
        )


class Result:
    """The output of :func:`simulate`: every strategy priced on the same paths.

    Methods: :meth:`table` (one row per strategy), :meth:`npv` (per-path NPVs),
    :meth:`histogram`, :meth:`bands` (per-year percentiles), :meth:`to_json` (exactly
    ``hashpivot simulate --json``); :attr:`optimal` (``strategy="optimal"`` only).
    """

    def __init__(self, native: "_native.NativeRun") -> None:
        self._native = native
        self._doc: Optional[Dict[str, Any]] = None
        self._npv: Dict[int, np.ndarray] = {}
        self._strategies: List[Tuple[str, Optional[float]]] = list(native.strategies())
        #: Paths simulated.
        self.paths: int = int(native.paths)
        #: Seed of the random streams.
        self.seed: int = int(native.seed)
        #: Wall seconds the engine itself ran (the rest of the call is the Python wrapper's cost).
        self.engine_seconds: float = float(native.engine_seconds)

    @property
    def strategies(self) -> List[str]:
        """Row names, as the CLI prints them (``mine``, ``sweep 25%``, ``optimal``, ...)."""
        return [_label(s, x) for s, x in self._strategies]

    def to_json(self) -> str:
        """Exactly what ``hashpivot simulate --json`` prints for the same scenario, seed, paths and
        options: pretty JSON with a final newline, byte for byte."""
        return self._native.to_json()

    def as_dict(self) -> Dict[str, Any]:
        """The ``simulate --json`` document as Python objects (parsed once)."""
        if self._doc is None:
            self._doc = _dict(self._native.to_json())
        return self._doc

    def _index(self, strategy: Union[str, int], share: Optional[float]) -> int:
        names = self.strategies
        if isinstance(strategy, (int, np.integer)) and not isinstance(strategy, bool):
            if not 0 <= int(strategy) < len(names):
                raise IndexError(f"strategy: {strategy} is not a result index; 0 to {len(names) - 1}")
            return int(strategy)
        if not isinstance(strategy, str):
            raise TypeError(f"strategy: expected a name or an index, got {type(strategy).__name__}")
        key = strategy.strip().lower()
        hits = [
            i
            for i, (s, x) in enumerate(self._strategies)
            if names[i] == key or (s == key and (share is None or (x is not None and abs(x - share) < 1e-12)))
        ]
        if len(hits) == 1:
            return hits[0]
        if not hits:
            raise KeyError(f"strategy: {strategy!r} is not in this result; use one of {names}")
        raise KeyError(
            f"strategy: {strategy!r} matches {len(hits)} results; name one of {[names[i] for i in hits]}"
            " or pass share="
        )

    def npv(self, strategy: Union[str, int] = "mine", share: Optional[float] = None) -> np.ndarray:
        """Per-path NPVs (USD, present value at day 0) of one strategy, in path order: a read-only
        float64 array of ``paths`` entries, handed over from the engine without a copy.

        ``strategy`` is a row name (``"mine"``, ``"convert"``, ``"sweep 25%"``, ``"optimal"``), a
        strategy with ``share=`` (``npv("sweep", share=0.25)``) or a row index. All strategies
        share the same paths, so ``r.npv("convert") - r.npv("mine")`` is the gain path by path.

        Example:
            >>> import hashpivot
            >>> r = hashpivot.simulate(paths=500, strategy="convert", share=0.5)
            >>> x = r.npv("mine")
            >>> x.shape, bool(abs(x.mean() / r.table()["npv_mean"].iloc[0] - 1) < 1e-12)
            ((500,), True)
        """
        k = self._index(strategy, share)
        a = self._npv.get(k)
        if a is None:
            a = self._native.take_npv(k)
            # The array is cached and shared by every call: read-only so that one caller's
            # in-place edit cannot change another's numbers (use .copy() to edit).
            a.flags.writeable = False
            self._npv[k] = a
        return a

    def table(self) -> Any:
        """One row per strategy with the CLI's columns (money in USD, not $M): ``npv_mean``,
        ``npv_stderr``, ``npv_p5``, ``npv_p50``, ``npv_p95``, ``mining_npv_mean``,
        ``ai_npv_mean``, ``prob_negative``, ``prob_below_mine``, ``cvar5``; plus ``share``.
        Index: ``strategy`` (row names as the CLI prints them). A DataFrame, or without pandas a
        dict of numpy arrays.

        Example:
            >>> import hashpivot
            >>> hashpivot.simulate(paths=500).table().index.tolist()
            ['mine', 'sweep 0%', 'sweep 25%', 'sweep 50%', 'sweep 75%', 'sweep 100%']
        """
        rows = []
        for r in self.as_dict()["results"]:
            n = r["npv"]
            rows.append(
                {
                    "strategy": _label(r["strategy"], r.get("share")),
                    "share": r.get("share"),
                    "npv_mean": n["mean"],
                    "npv_stderr": n["stderr"],
                    "npv_p5": n["p5"],
                    "npv_p50": n["p50"],
                    "npv_p95": n["p95"],
                    "mining_npv_mean": r["mining_npv_mean"],
                    "ai_npv_mean": r["ai_npv_mean"],
                    "prob_negative": r["prob_negative"],
                    "prob_below_mine": r["prob_below_mine"],
                    "cvar5": r["cvar5"],
                }
            )
        return _tables.records(rows, index="strategy")

    def histogram(self, strategy: Union[str, int] = "mine", share: Optional[float] = None) -> Any:
        """The engine's NPV histogram of one strategy (40 bins shared by all strategies of the run):
        columns ``lo``, ``hi`` (bin edges, USD) and ``count``."""
        h = self.as_dict()["results"][self._index(strategy, share)].get("npv_histogram")
        if h is None:
            raise KeyError(f"strategy: {strategy!r} has no histogram in this run")
        e = h["edges"]
        return _tables.frame({"lo": e[:-1], "hi": e[1:], "count": h["counts"]})

    def bands(self) -> Any:
        """Per-year 5th/50th/95th percentiles (index ``year``): ``price_usd_*``,
        ``hashprice_usd_per_ph_day_*``, ``difficulty_*``, ``hashrate_ehs_*`` and each strategy's
        yearly site cash ``site_cash_usd_*[name]`` (USD)."""
        b = self.as_dict()["bands"]
        cols: Dict[str, Any] = {"year": b["years"]}
        for k in ("price_usd", "hashprice_usd_per_ph_day", "difficulty", "hashrate_ehs"):
            for q in ("p5", "p50", "p95"):
                cols[f"{k}_{q}"] = b[k][q]
        for c in b.get("site_cash_usd", []):
            name = _label(c["strategy"], c.get("share"))
            for q in ("p5", "p50", "p95"):
                cols[f"site_cash_usd_{q}[{name}]"] = c[q]
        return _tables.frame(cols, index="year")

    @property
    def optimal(self) -> Optional[Optimal]:
        """The ``optimal`` strategy's policy, boundary and bounds (``None`` unless the run used
        ``strategy="optimal"``)."""
        for r in self.as_dict()["results"]:
            if r["strategy"] == "optimal":
                return Optimal(r)
        return None

    def __repr__(self) -> str:
        return f"<hashpivot.Result {self.paths:,} paths, seed {self.seed}: {', '.join(self.strategies)}>"


def simulate(
    scenario: ScenarioLike = None,
    *,
    paths: Optional[int] = None,
    seed: Optional[int] = None,
    strategy: Optional[str] = None,
    share: Optional[float] = None,
    threads: Optional[int] = None,
    antithetic: bool = False,
    progress: Progress = False,
) -> Result:
    """Runs the Monte Carlo engine (``hashpivot simulate``): every strategy on the same paths.

    Args:
        scenario: a dict (keys left out take the defaults), a TOML file path, or ``None`` for the
            embedded default.
        paths: Monte Carlo paths (default: the scenario's ``run.paths``).
        seed: seed of the random streams (default: ``run.seed``). Same seed, same numbers on any
            thread count.
        strategy: ``"mine"``, ``"convert"``, ``"schedule"``, ``"sweep"`` or ``"optimal"``
            (default: ``strategy.kind``); ``share`` implies ``"convert"``.
        share: share of the site converted on day 0 (0 to 1).
        threads: worker threads (default: all cores).
        antithetic: antithetic variates (pairs of paths with opposite shocks).
        progress: ``True`` for a bar on stderr, or a callable taking the fraction done.

    The GIL is released while the engine runs; Ctrl-C (KeyboardInterrupt) returns from a run
    between blocks of paths; blocks not yet started stop at once, so the engine ends the run
    within the blocks already running.

    Raises:
        ScenarioError: the scenario is invalid (the message names the key).
        ValueError: an option is out of range (the message names it and what is allowed).

    Example:
        >>> import hashpivot
        >>> r = hashpivot.simulate(paths=1000, seed=1, strategy="convert", share=1.0)
        >>> r.strategies
        ['mine', 'convert 100%']
    """
    sj, sp = _scenario_args(scenario)
    p = _int_opt("paths", paths, 1, MAX_PATHS, f"1 to {MAX_PATHS}")
    s = _int_opt("seed", seed, 0, 2**64 - 1, f"0 to {2**64 - 1}")
    t = _int_opt("threads", threads, 1, 1024, "1 to 1024")
    if strategy is not None and not isinstance(strategy, str):
        raise TypeError(f"strategy: expected text, got {type(strategy).__name__}")
    native = _native.simulate(
        sj,
        sp,
        p,
        s,
        strategy,
        _float_opt("share", share),
        t,
        bool(antithetic),
        _progress(progress, "simulate"),
    )
    return Result(native)


# ---------------------------------------------------------------------------------------------
# payback, hashprice, catalog, leases


def payback(
    model: str,
    scenario: ScenarioLike = None,
    *,
    machine_price_usd_per_th: float,
    life_years: Optional[float] = None,
    paths: Optional[int] = None,
    seed: Optional[int] = None,
    progress: Progress = False,
) -> Dict[str, Any]:
    """One machine from the catalog bought today, priced on the scenario's paths
    (``hashpivot payback --json``): payback days, IRR and NPV percentiles, P(pays back before the
    next halving / before its end of life).

    Example:
        >>> import hashpivot
        >>> p = hashpivot.payback("S21 XP", machine_price_usd_per_th=15.0, paths=500)
        >>> sorted(k for k in p if k.startswith("prob_"))      # doctest: +SKIP
    """
    if not isinstance(model, str):
        raise TypeError(f"model: expected text, got {type(model).__name__}")
    price = _float_req("machine_price_usd_per_th", machine_price_usd_per_th)
    sj, sp = _scenario_args(scenario)
    return _dict(
        _native.payback_json(
            model,
            price,
            sj,
            sp,
            _float_opt("life_years", life_years),
            _int_opt("paths", paths, 1, MAX_PATHS, f"1 to {MAX_PATHS}"),
            _int_opt("seed", seed, 0, 2**64 - 1, f"0 to {2**64 - 1}"),
            _progress(progress, "payback"),
        )
    )


_SUFFIX = {"k": 1e3, "K": 1e3, "M": 1e6, "G": 1e9, "T": 1e12, "P": 1e15, "E": 1e18}


def _difficulty(d: Union[float, str]) -> float:
    if isinstance(d, str):
        t = d.strip().replace(",", "").replace("_", "")
        mult = 1.0
        if t and t[-1] in _SUFFIX:
            mult, t = _SUFFIX[t[-1]], t[:-1]
        try:
            return float(t) * mult
        except ValueError:
            raise ValueError(
                f"difficulty: {d!r} is not a number; use e.g. 148260000000000, 1.4826e14 or '148.26T'"
            ) from None
    v = _float_opt("difficulty", d)
    assert v is not None
    return v


def hashprice(
    price: float,
    difficulty: Union[float, str],
    *,
    fees: Optional[float] = None,
    height: Optional[int] = None,
) -> Dict[str, Any]:
    """Hashprice = 86400·1e15·(subsidy + fees)/(D·2^32) BTC per PH/s per day, times the price
    (``hashpivot hashprice --json``, the same document).

    Args:
        price: BTC price, USD.
        difficulty: network difficulty, a number or text with a suffix (``"148.26T"``).
        fees: fees per block, BTC (default: the market state's, its recent average; the answer's
            ``fees_source`` says which market state).
        height: block height for the subsidy (default: the market state's; ``height_source``
            says which).

    Example:
        >>> import hashpivot
        >>> round(hashpivot.hashprice(107_000, "155.97T", fees=0.025, height=920_000)["usd_per_ph_day"], 2)
        43.47
    """
    p = _float_req("price", price)
    f = None if fees is None else _float_req("fees", fees)
    h = _int_opt("height", height, 0, 2**64 - 1, "a block height 0 or more")
    return _dict(_native.hashprice_json(p, _difficulty(difficulty), f, h))


def machines() -> Any:
    """The built-in ASIC catalog (``hashpivot machines``): one row per model (index ``model``)
    with ``manufacturer``, ``hashrate_ths``, ``power_w``, ``efficiency_jth``, ``cooling``,
    ``release_year``, ``confidence`` and ``source``.

    Example:
        >>> import hashpivot
        >>> float(hashpivot.machines().loc["Antminer S21 XP", "hashrate_ths"])  # doctest: +SKIP
        270.0
    """
    return _tables.records(json.loads(_native.machines_json()), index="model")


def leases() -> Any:
    """AI/HPC leases announced by bitcoin miners (``hashpivot leases``), one row per deal, with
    the implied average rent ``usd_per_kw_month`` (TCV / term / MW / 12,000) and each source."""
    return _tables.records(json.loads(_native.leases_json()))
