#!/usr/bin/env bash
# Set-up for the browser end-to-end tests (scripts/test.d/e2e.sh): Debian's chromium, and the npm
# dependencies of e2e/ (playwright-core only; it never downloads a browser of its own).
set -euo pipefail
cd "$(dirname "$0")/../.."

if [ ! -x /usr/bin/chromium ]; then
    echo "installing chromium (Debian package)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y chromium
fi
if ! command -v npm >/dev/null 2>&1; then
    echo "installing node and npm (Debian packages)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y nodejs npm
fi
/usr/bin/chromium --version
node --version
(cd e2e && npm ci --no-audit --no-fund)
