#!/usr/bin/env bash
# The Python package (crates/python): builds and installs it into a FRESH virtual environment, as a
# user would (`pip install ./crates/python`), and runs its pytest suite, which compares the package
# with the CLI binary byte for byte. Needs python3 >= 3.9 with venv and pip, and PyPI (maturin,
# numpy, pandas, pytest, matplotlib for the example). No Python headers: the abi3 build needs only
# the interpreter.
#
# The wheel's Rust code is built by cargo into the workspace's target dir (CARGO_TARGET_DIR if set),
# so a second run rebuilds only what changed; the venv itself is new every time and removed after.
set -euo pipefail
cd "$(dirname "$0")/../.."
t0=$(date +%s)

if ! command -v python3 >/dev/null; then
    echo "python: python3 is missing (Debian: apt-get install python3 python3-venv)" >&2
    exit 1
fi
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"

# The CLI the tests compare with (already built by `cargo test --workspace`: then a no-op).
cargo build -p hashpivot-cli --locked

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
python3 -m venv "$tmp/venv"
# As `source venv/bin/activate` does: maturin's build hook runs `maturin` from PATH.
export PATH="$tmp/venv/bin:$PATH"
py="$tmp/venv/bin/python"
"$py" -m pip install --quiet "maturin>=1.5,<2" numpy pandas pytest matplotlib
t1=$(date +%s)

# --no-build-isolation: build with the maturin just installed instead of a second throw-away
# environment; MATURIN_PEP517_ARGS: the same lock file as every other build of the workspace.
MATURIN_PEP517_ARGS="--locked" "$py" -m pip install --quiet --no-build-isolation ./crates/python
t2=$(date +%s)

# From crates/python so that `import hashpivot` finds the installed package, not the source tree.
(cd crates/python && HASHPIVOT_BIN="$CARGO_TARGET_DIR/debug/hashpivot" MPLBACKEND=Agg \
    "$py" -m pytest -q -p no:cacheprovider tests)
t3=$(date +%s)
echo "python: venv + PyPI $((t1 - t0)) s, build + install $((t2 - t1)) s, pytest $((t3 - t2)) s," \
    "total $((t3 - t0)) s"
