#!/usr/bin/env bash
# Browser end-to-end test of the dashboard: builds the binary, then e2e/dashboard.test.mjs starts
# `hashpivot serve` on a free port with a temporary database and drives Debian's chromium with
# playwright-core. Screenshots land in e2e/screenshots/. Set-up: .ci/setup.d/browser.sh.
set -euo pipefail
cd "$(dirname "$0")/../.."

cargo build -p hashpivot-cli --locked
if [ ! -x /usr/bin/chromium ]; then
    echo "e2e: /usr/bin/chromium is missing; run .ci/setup.d/browser.sh" >&2
    exit 1
fi
if [ ! -d e2e/node_modules/playwright-core ]; then
    (cd e2e && npm ci --no-audit --no-fund)
fi
HASHPIVOT_BIN="${CARGO_TARGET_DIR:-target}/debug/hashpivot" node e2e/dashboard.test.mjs
