#!/usr/bin/env bash
# Driver: plans a hashpivot run as N shards, submits them as a Slurm array and the merge as a job
# that starts only when every shard succeeded (--dependency=afterok); `optimal` in its two phases.
#
#   deploy/slurm/run.sh -n SHARDS -o OUTDIR [--wait] [-- SBATCH_FLAGS...] -- [SCENARIO] [plan flags]
#
#   deploy/slurm/run.sh -n 16 -o /shared/run1 -- site.toml --paths 1000000 --strategy sweep
#   deploy/slurm/run.sh -n 40 -o /shared/grid -- --grid grid.toml --paths 20000
#   deploy/slurm/run.sh -n 16 -o /shared/opt -- site.toml --paths 1000000 --strategy optimal
#
# A plan of --strategy optimal runs in two phases, four jobs chained with afterok: the fit array
# (fit.sbatch, fit parts in OUTDIR/fits), the policy (policy.sbatch, OUTDIR/policy.json), the
# price array (price.sbatch) and the merge.
#
# OUTDIR (on storage every node sees) gets plan.json, parts/, logs/ and result.json. With --wait
# the script blocks until the merge has finished and exits with its status. HASHPIVOT names the
# binary (default: `hashpivot` on PATH). Extra sbatch flags (partition, account, time) go in
# SBATCH_FLAGS, e.g. SBATCH_FLAGS="--partition=cpu --time=1:00:00".
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
bin=${HASHPIVOT:-hashpivot}
n=""
out=""
wait=""
while [ $# -gt 0 ]; do
    case $1 in
        -n) n=$2; shift 2 ;;
        -o) out=$2; shift 2 ;;
        --wait) wait="--wait"; shift ;;
        --) shift; break ;;
        *) echo "run.sh: unknown argument $1 (usage: run.sh -n SHARDS -o OUTDIR [--wait] -- [SCENARIO] [plan flags])" >&2; exit 2 ;;
    esac
done
if [ -z "$n" ] || [ -z "$out" ]; then
    echo "run.sh: -n SHARDS and -o OUTDIR are required" >&2
    exit 2
fi
mkdir -p "$out/logs"
out=$(cd "$out" && pwd)
"$bin" shard plan "$@" --shards "$n" -o "$out/plan.json"
if grep -q '"strategy": "optimal"' "$out/plan.json"; then
    # shellcheck disable=SC2086
    fit=$(sbatch --parsable ${SBATCH_FLAGS:-} --array=0-$((n - 1)) \
        --output="$out/logs/fit-%A_%a.out" "$here/fit.sbatch" "$out/plan.json" "$out/fits")
    echo "submitted fit array $fit ($n tasks)"
    # shellcheck disable=SC2086
    policy=$(sbatch --parsable ${SBATCH_FLAGS:-} --dependency=afterok:"$fit" \
        --kill-on-invalid-dep=yes --output="$out/logs/policy-%j.out" \
        "$here/policy.sbatch" "$out/fits" "$out/policy.json")
    echo "policy job $policy: $out/policy.json"
    # shellcheck disable=SC2086
    array=$(sbatch --parsable ${SBATCH_FLAGS:-} --dependency=afterok:"$policy" \
        --kill-on-invalid-dep=yes --array=0-$((n - 1)) --output="$out/logs/price-%A_%a.out" \
        "$here/price.sbatch" "$out/plan.json" "$out/policy.json" "$out/parts")
    echo "submitted price array $array ($n tasks)"
else
    # shellcheck disable=SC2086
    array=$(sbatch --parsable ${SBATCH_FLAGS:-} --array=0-$((n - 1)) \
        --output="$out/logs/shard-%A_%a.out" "$here/shard.sbatch" "$out/plan.json" "$out/parts")
    echo "submitted shard array $array ($n tasks)"
fi
# shellcheck disable=SC2086
merge=$(sbatch --parsable $wait ${SBATCH_FLAGS:-} --dependency=afterok:"$array" --kill-on-invalid-dep=yes \
    --output="$out/logs/merge-%j.out" "$here/merge.sbatch" "$out/parts" "$out/result.json")
echo "merge job $merge: $out/result.json"
