#!/usr/bin/env bash
# Driver: the Jobs in order (Kubernetes has no dependencies between Jobs), waiting for each.
#   deploy/k8s/run.sh            # plan, shards, merge, in the namespace of the current context
#   deploy/k8s/run.sh optimal    # optimal's two phases: plan, fit, policy, price, merge
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
steps="plan shards merge"
if [ "${1:-}" = "optimal" ]; then
    steps="optimal-plan optimal-fit optimal-policy optimal-price merge"
fi
kubectl apply -f "$here/pvc.yaml" -f "$here/scenario-configmap.yaml"
for step in $steps; do
    kubectl delete job "hashpivot-$step" --ignore-not-found
    kubectl apply -f "$here/$step-job.yaml"
    kubectl wait --for=condition=complete --timeout=24h "job/hashpivot-$step"
done
echo "result: /work/result.json on the hashpivot-work volume"
