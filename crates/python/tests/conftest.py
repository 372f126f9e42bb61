"""Shared fixtures: the CLI binary the byte-for-byte tests compare with."""

from __future__ import annotations

import os
import pathlib
import subprocess
from typing import List

import pytest

REPO = pathlib.Path(__file__).resolve().parents[3]


def _cli_path() -> pathlib.Path:
    env = os.environ.get("HASHPIVOT_BIN")
    if env:
        return pathlib.Path(env)
    target = pathlib.Path(os.environ.get("CARGO_TARGET_DIR", REPO / "target"))
    return target / "debug" / "hashpivot"


@pytest.fixture(scope="session")
def cli():
    """Runs the real `hashpivot` binary (`cargo build -p hashpivot-cli`; HASHPIVOT_BIN overrides)
    and returns the completed process."""
    path = _cli_path()
    if not path.is_file():
        pytest.fail(
            f"the hashpivot CLI is not built at {path}: run `cargo build -p hashpivot-cli` "
            "or set HASHPIVOT_BIN (scripts/test.d/python.sh does both)"
        )

    def run(args: List[str], check: bool = True) -> subprocess.CompletedProcess:
        env = dict(os.environ, NO_COLOR="1")
        p = subprocess.run([str(path), *args], capture_output=True, text=True, env=env)
        if check and p.returncode != 0:
            raise AssertionError(f"hashpivot {' '.join(args)} exited {p.returncode}: {p.stderr}")
        return p

    return run
