"""Tables as pandas DataFrames when pandas is installed, else as dicts of numpy arrays."""

from __future__ import annotations

from typing import Any, Dict, List, Mapping, Optional, Sequence

import numpy as np

_pd: Any
try:  # pandas is optional: numpy is the only requirement.
    import pandas as _pd
except ImportError:  # pragma: no cover - exercised by the test that hides pandas
    _pd = None


def have_pandas() -> bool:
    """True when pandas is importable (tables are DataFrames)."""
    return _pd is not None


def column(values: Sequence[Any]) -> np.ndarray:
    """A numpy column: float64 for numbers (None becomes NaN), else an object array."""
    vals = list(values)
    if vals and all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
        return np.array(vals, dtype=np.int64)
    if all(v is None or (isinstance(v, (int, float)) and not isinstance(v, bool)) for v in vals):
        return np.array([np.nan if v is None else v for v in vals], dtype=np.float64)
    if all(isinstance(v, bool) for v in vals):
        return np.array(vals, dtype=bool)
    return np.array(vals, dtype=object)


def frame(columns: Mapping[str, Any], index: Optional[str] = None) -> Any:
    """A DataFrame of ``columns`` (index: the column named ``index``), or without pandas the dict of
    numpy arrays itself (index column included)."""
    cols: Dict[str, np.ndarray] = {
        k: v if isinstance(v, np.ndarray) else column(v) for k, v in columns.items()
    }
    if _pd is None:
        return cols
    df = _pd.DataFrame(cols)
    if index is not None:
        df = df.set_index(index)
    return df


def records(rows: Sequence[Mapping[str, Any]], index: Optional[str] = None) -> Any:
    """A table from a list of dicts with the same keys."""
    keys: List[str] = []
    for r in rows:
        for k in r:
            if k not in keys:
                keys.append(k)
    return frame({k: [r.get(k) for r in rows] for k in keys}, index=index)
