"""Consensus arithmetic exactly as Bitcoin Core (``hashpivot chain``)."""

from __future__ import annotations

import json
from typing import Any, Dict, Union

from . import _native

__all__ = ["subsidy", "target"]


def subsidy(height: int) -> int:
    """Block subsidy in satoshis at ``height`` (Core's ``GetBlockSubsidy``).

    Example:
        >>> from hashpivot import chain
        >>> chain.subsidy(840_000)
        312500000
    """
    if isinstance(height, bool) or not isinstance(height, int):
        raise TypeError(f"height: expected an int, got {type(height).__name__}")
    if height < 0:
        raise ValueError(f"height: {height} is not allowed; a block height is 0 or more")
    if height > 2**64 - 1:
        raise ValueError(f"height: {height} is not allowed; at most {2**64 - 1}")
    return int(_native.chain_subsidy(height))


def target(bits: Union[int, str]) -> Dict[str, Any]:
    """Target, difficulty and work of compact ``bits`` (Core's SetCompact, GetDifficulty,
    GetBlockProof), like ``hashpivot chain target --json``.

    ``bits`` is an int or hex text (``"1d00ffff"``, ``"0x1d00ffff"``). Negative, overflowing or
    zero encodings raise ``ValueError``. ``target`` and ``work`` are Python ints (also given as
    ``target_hex``/``work_hex``).

    Example:
        >>> from hashpivot import chain
        >>> t = chain.target("1d00ffff")
        >>> t["difficulty"], t["work"]
        (1.0, 4295032833)
    """
    raw = bits
    if isinstance(bits, str):
        t = bits.strip()
        digits = t[2:] if t[:2] in ("0x", "0X") else t
        if not digits or len(digits) > 8 or any(c not in "0123456789abcdefABCDEF" for c in digits):
            raise ValueError(
                f"bits: {raw!r} is not compact bits; use up to 8 hex digits like 1d00ffff or 0x1d00ffff"
            )
        bits = int(digits, 16)
    elif isinstance(bits, bool) or not isinstance(bits, int):
        raise TypeError(f"bits: expected an int or hex text, got {type(bits).__name__}")
    if not 0 <= bits <= 0xFFFFFFFF:
        raise ValueError(f"bits: {raw!r} is not allowed; compact bits are 0 to 0xffffffff")
    d: Dict[str, Any] = json.loads(_native.chain_target_json(bits))
    d["target_hex"] = d["target"]
    d["work_hex"] = d["work"]
    d["target"] = int(d["target"], 16)
    d["work"] = int(d["work"], 16)
    del d["work_decimal"]
    return d
