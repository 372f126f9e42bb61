"""Historical series (``hashpivot history``)."""

from __future__ import annotations

import datetime as _dt
import json
import os
from typing import Any, Optional, Union

from . import _native, _tables

__all__ = ["hashprice"]

DateLike = Union[str, _dt.date, None]


def _date(name: str, d: DateLike) -> Optional[str]:
    if d is None:
        return None
    if isinstance(d, _dt.datetime):
        d = d.date()
    if isinstance(d, _dt.date):
        return d.isoformat()
    if isinstance(d, str):
        return d
    # pandas.Timestamp and numpy.datetime64 print as ISO dates.
    text = str(d)[:10]
    if len(text) == 10:
        return text
    raise TypeError(f"{name}: expected a date or YYYY-MM-DD text, got {type(d).__name__}")


def hashprice(
    from_: DateLike = None,
    to: DateLike = None,
    db: Union[str, "os.PathLike[str]", None] = None,
) -> Any:
    """The daily historical hashprice, one row per day (``hashpivot history hashprice``).

    Computed from the shipped history (price, height by date, difficulty epochs, fees), or with
    ``db`` from a hashpivot SQLite store (e.g. one kept current with ``hashpivot data sync``).
    Columns: ``usd_per_ph_day``, ``btc_per_ph_day``, ``difficulty``, ``epoch``,
    ``difficulty_stale``, ``price_usd``, ``fees_btc_per_block``, ``fees_source``,
    ``subsidy_btc``, ``height``, ``blocks``; index ``date`` (a DataFrame, or without pandas a
    dict of numpy arrays with a ``date`` column).

    Example:
        >>> from hashpivot import history
        >>> df = history.hashprice("2024-12-23", "2024-12-23")
        >>> round(float(df["usd_per_ph_day"].iloc[0]), 2)
        56.25
    """
    f = _date("from_", from_)
    t = _date("to", to)
    path = os.fspath(db) if db is not None else None
    rows = json.loads(_native.history_hashprice_json(f, t, path))
    table = _tables.records(rows, index="date")
    if _tables.have_pandas():
        import pandas as pd

        table.index = pd.to_datetime(table.index)
    return table
