#!/usr/bin/env bash
# The Slurm test (MODEL.md section 12): real array jobs through `sbatch` on the cluster that
# .ci/setup.d/slurm.sh starts, merged, compared byte for byte with the run on this machine.
#   1. a 4-task array (`sbatch --wait --array=0-3 deploy/slurm/shard.sbatch`), merged here;
#   2. the driver deploy/slurm/run.sh on a sweep grid: the shard array, then the merge as a job
#      with --dependency=afterok;
#   3. the driver on a two-phase `optimal`: the fit array, the policy job, the price array and the
#      merge, chained with afterok.
# Without `sbatch` it skips with a message, except in CI (CI=true), where it fails.
set -euo pipefail
cd "$(dirname "$0")/../.."
t0=$(date +%s)

if ! command -v sbatch >/dev/null 2>&1; then
    if [ "${CI:-}" = "true" ]; then
        echo "slurm: sbatch is missing in CI; .ci/setup.d/slurm.sh should have installed it" >&2
        exit 1
    fi
    echo "slurm: SKIPPED: sbatch is not installed (run .ci/setup.d/slurm.sh as root to get a single-node cluster)"
    exit 0
fi
if ! timeout 10 sinfo >/dev/null 2>&1; then
    echo "slurm: sbatch is installed but no cluster answers \`sinfo\`; start one with .ci/setup.d/slurm.sh" >&2
    exit 1
fi

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$PWD/target}"
cargo build -p hashpivot-cli --locked
export HASHPIVOT="$CARGO_TARGET_DIR/debug/hashpivot"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HASHPIVOT_DB="$tmp/hashpivot.sqlite"

cat > "$tmp/sc.toml" <<'TOML'
[run]
horizon_years = 2
[strategy]
decide_months = 6
TOML

# 1. A 4-task array, 6 blocks of 256 paths (the last partial), merged here.
"$HASHPIVOT" shard plan "$tmp/sc.toml" --paths 1300 --strategy sweep --shards 4 -o "$tmp/plan.json"
sbatch --wait --array=0-3 --output="$tmp/shard-%A_%a.out" \
    deploy/slurm/shard.sbatch "$tmp/plan.json" "$tmp/parts"
"$HASHPIVOT" shard merge "$tmp/parts" -o "$tmp/merged.json" >/dev/null
"$HASHPIVOT" simulate "$tmp/sc.toml" --paths 1300 --strategy sweep --json > "$tmp/local.json"
cmp "$tmp/merged.json" "$tmp/local.json"
echo "slurm: 4-task array merged byte-identical to the local run"

# 2. The driver on a sweep grid: shard array, then the merge job after it (afterok).
cat > "$tmp/grid.toml" <<'TOML'
base = "sc.toml"
[[axis]]
key = "ai.lease_usd_per_kw_month"
values = [100, 160]
TOML
deploy/slurm/run.sh -n 3 -o "$tmp/grid" --wait -- --grid "$tmp/grid.toml" --paths 600
"$HASHPIVOT" sweep "$tmp/grid.toml" --paths 600 --json > "$tmp/grid-local.json"
cmp "$tmp/grid/result.json" "$tmp/grid-local.json"
echo "slurm: driver (array + afterok merge job) on a sweep grid byte-identical to the local sweep"

# 3. optimal in two phases through the driver: 5 blocks (the last partial) over 3 shards.
cat > "$tmp/opt.toml" <<'TOML'
[run]
horizon_years = 2
[strategy]
decide_months = 4
tranches = 2
TOML
deploy/slurm/run.sh -n 3 -o "$tmp/opt" --wait -- "$tmp/opt.toml" --paths 1100 --strategy optimal
"$HASHPIVOT" simulate "$tmp/opt.toml" --paths 1100 --strategy optimal --json > "$tmp/opt-local.json"
cmp "$tmp/opt/result.json" "$tmp/opt-local.json"
echo "slurm: optimal (fit array, policy job, price array, merge job) byte-identical to the local run"
echo "slurm: ok in $(( $(date +%s) - t0 )) s"
