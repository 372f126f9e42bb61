"""examples/notebook.py, the seed's question in ten cells, runs from start to end."""

from __future__ import annotations

import os
import pathlib
import subprocess
import sys

import pytest

import hashpivot

EXAMPLE = pathlib.Path(__file__).resolve().parents[3] / "examples" / "notebook.py"


def test_example_notebook_runs(tmp_path):
    pytest.importorskip("matplotlib")  # optional: the example plots; the package does not need it
    pytest.importorskip("pandas")
    env = dict(os.environ, HASHPIVOT_EXAMPLE_PATHS="300", HASHPIVOT_EXAMPLE_OUT=str(tmp_path), MPLBACKEND="Agg")
    p = subprocess.run([sys.executable, str(EXAMPLE)], capture_output=True, text=True, env=env, cwd=tmp_path)
    assert p.returncode == 0, p.stderr
    out = p.stdout
    # Every cell printed what it computes.
    for text in ("site 1,000 MW", "convert beats mine on", "flexibility over the best static share",
                 "/kW-month: convert - mine =", "wrote"):
        assert text in out, out
    # Cell 10 saved exactly the run of cell 2 (default scenario, seed 42, convert 100%).
    saved = (tmp_path / "convert_run.json").read_text()
    assert saved == hashpivot.simulate(paths=300, seed=42, strategy="convert", share=1.0).to_json()
    # The two figures are real PNGs.
    for f in ("npv_distributions.png", "policy.png"):
        assert (tmp_path / f).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
