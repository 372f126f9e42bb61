"""Exceptions of :mod:`hashpivot`."""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional


class ScenarioError(ValueError):
    """A scenario was rejected: syntax, an unknown key, a wrong type or a value out of range.

    The message is the CLI's (``hashpivot scenario check``): each problem names the key path, the
    value and what is allowed, e.g. ``run.paths = 0: allowed 1 <= paths <= 20000000``.

    Attributes:
        problems: one dict per problem with ``key`` (e.g. ``"mining.fleet[2].units"``), ``value``,
            ``allowed`` and ``message`` (``None`` where unknown).
        key: the key of the first problem (``None`` when the error is not about one key).

    Example:
        >>> import hashpivot
        >>> try:
        ...     hashpivot.check_scenario({"run": {"paths": 0}})
        ... except hashpivot.ScenarioError as e:
        ...     print(e.key)
        run.paths
    """

    problems: List[Dict[str, Any]]
    key: Optional[str]

    def __init__(self, message: str, problems: Any = None) -> None:
        super().__init__(message)
        if isinstance(problems, str):
            problems = json.loads(problems)
        self.problems = list(problems or [])
        self.key = self.problems[0].get("key") if self.problems else None
