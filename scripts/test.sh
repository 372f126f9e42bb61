#!/usr/bin/env bash
# Runs every test of the workspace (unit, property, CLI end-to-end, and the extra suites registered
# in scripts/test.d/*.sh such as the browser tests). This is the README's test command.
set -euo pipefail
cd "$(dirname "$0")/.."
# Structure rules first (a second): function length, import circles (docs/ARCHITECTURE.md).
python3 scripts/check-structure.py
cargo test --workspace --locked
for s in scripts/test.d/*.sh; do
    [ -e "$s" ] || continue
    echo "== extra suite: $s"
    bash "$s"
done
