#!/usr/bin/env bash
# Shards vs one machine (bench/README.md, "Shards"): the same run on one machine and as N shards
# run one after another on this machine, the merge's time and peak memory, and a byte comparison.
#   bash bench/shards.sh [PATHS] [SHARDS] [STRATEGY] [SCENARIO]   (defaults: 1000000 4 sweep, the
#   embedded default scenario)
# STRATEGY optimal runs its two phases: N fit shards, `shard fit`, N price shards, the merge.
# For optimal pass a SCENARIO with `[strategy] pilot_paths = 4096` (what bench/README.md measured):
# without it every shard fits the pilot on all in-sample paths (version 1's fit, bit for bit).
# Needs a release build (cargo build --release -p hashpivot-cli; HASHPIVOT names another binary)
# and GNU time (/usr/bin/time).
set -euo pipefail
cd "$(dirname "$0")/.."
paths=${1:-1000000}
n=${2:-4}
strategy=${3:-sweep}
scenario=(${4:+"$4"})
bin="${HASHPIVOT:-${CARGO_TARGET_DIR:-target}/release/hashpivot}"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
export HASHPIVOT_DB="$tmp/db.sqlite"
measure() { # label, command...: prints wall seconds and peak RSS (MB)
    local label=$1
    shift
    /usr/bin/time -f "%e %M" -o "$tmp/t" "$@" >"$tmp/out" 2>/dev/null
    read -r secs kb <"$tmp/t"
    printf '%-22s %8.1f s %8.0f MB\n' "$label" "$secs" "$((kb / 1024))"
    echo "$secs"  >"$tmp/last"
}
echo "$(nproc) cores; load: $(cut -d' ' -f1-3 /proc/loadavg); $paths paths, strategy $strategy, $n shards"
measure "one machine" "$bin" simulate "${scenario[@]}" --paths "$paths" --strategy "$strategy" --json
cp "$tmp/out" "$tmp/single.json"
single=$(cat "$tmp/last")
measure "plan" "$bin" shard plan "${scenario[@]}" --paths "$paths" --strategy "$strategy" --shards "$n" -o "$tmp/plan.json"
total=0
if [ "$strategy" = optimal ]; then
    for i in $(seq 0 $((n - 1))); do
        measure "fit shard $i" "$bin" shard run "$tmp/plan.json" --phase fit --index "$i" -o "$tmp/fits"
        total=$(echo "$total + $(cat "$tmp/last")" | bc)
    done
    du -sh "$tmp/fits" | sed 's/^/fit parts on disk: /'
    measure "shard fit" "$bin" shard fit "$tmp/fits" -o "$tmp/policy.json"
    total=$(echo "$total + $(cat "$tmp/last")" | bc)
    for i in $(seq 0 $((n - 1))); do
        measure "price shard $i" "$bin" shard run "$tmp/plan.json" --phase price \
            --policy "$tmp/policy.json" --index "$i" -o "$tmp/parts"
        total=$(echo "$total + $(cat "$tmp/last")" | bc)
    done
else
    for i in $(seq 0 $((n - 1))); do
        measure "shard $i" "$bin" shard run "$tmp/plan.json" --index "$i" -o "$tmp/parts"
        total=$(echo "$total + $(cat "$tmp/last")" | bc)
    done
fi
du -sh "$tmp/parts" | sed 's/^/parts on disk: /'
measure "merge" "$bin" shard merge "$tmp/parts" -o "$tmp/merged.json"
echo "sum of shards: $total s; ratio to one machine: $(echo "scale=2; $total / $single" | bc)"
cmp "$tmp/merged.json" "$tmp/single.json" && echo "merged result byte-identical to the single-machine run"
