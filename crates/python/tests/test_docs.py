"""The examples in the docstrings run and print what they say."""

from __future__ import annotations

import doctest

import pytest

import hashpivot
from hashpivot import _errors, chain, history


@pytest.mark.parametrize("module", [hashpivot, chain, history, _errors], ids=lambda m: m.__name__)
def test_docstring_examples(module):
    pytest.importorskip("pandas")  # the examples show DataFrames
    r = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert r.attempted > 0, f"{module.__name__} has no examples"
    assert r.failed == 0
