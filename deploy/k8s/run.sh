#!/usr/bin/env bash
# Driver: the three Jobs in order (Kubernetes has no dependencies between Jobs), waiting for each.
#   deploy/k8s/run.sh            # in the namespace of the current kubectl context
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
kubectl apply -f "$here/pvc.yaml" -f "$here/scenario-configmap.yaml"
for step in plan shards merge; do
    kubectl delete job "hashpivot-$step" --ignore-not-found
    kubectl apply -f "$here/$step-job.yaml"
    kubectl wait --for=condition=complete --timeout=24h "job/hashpivot-$step"
done
echo "result: /work/result.json on the hashpivot-work volume"
