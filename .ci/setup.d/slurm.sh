#!/usr/bin/env bash
# Set-up for the Slurm test (scripts/test.d/slurm.sh): Debian's Slurm 22.05 and munge, and a
# single-node cluster on this machine, as root: munged as the munge user, slurmctld and slurmd as
# root, no cgroups (ProctrackType=proctrack/linuxproc, TaskPlugin=task/none,
# JobAcctGatherType=jobacct_gather/none), state and spool under a temporary directory. Idempotent:
# a cluster that already answers `sinfo` is left alone.
set -euo pipefail

if ! command -v sbatch >/dev/null 2>&1 || ! command -v slurmd >/dev/null 2>&1 \
    || ! command -v slurmctld >/dev/null 2>&1 || ! command -v munged >/dev/null 2>&1; then
    echo "installing slurmctld slurmd slurm-client munge (Debian packages)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends slurmctld slurmd slurm-client munge
fi
if timeout 5 sinfo >/dev/null 2>&1; then
    echo "slurm: a cluster already answers:"
    sinfo
    exit 0
fi

host=$(hostname -s)
cpus=$(nproc)
state=${HASHPIVOT_SLURM_DIR:-/tmp/hashpivot-slurm}
mkdir -p "$state/state" "$state/spool" "$state/log"

# munge: a key, its run directory, the daemon as the munge user.
if [ ! -s /etc/munge/munge.key ]; then
    if command -v mungekey >/dev/null 2>&1; then
        mungekey --create --force
    else
        dd if=/dev/urandom bs=1 count=1024 of=/etc/munge/munge.key status=none
    fi
fi
chown munge:munge /etc/munge/munge.key
chmod 400 /etc/munge/munge.key
mkdir -p /run/munge /var/log/munge /var/lib/munge
chown munge:munge /run/munge /var/log/munge /var/lib/munge
chmod 755 /run/munge
if ! pgrep -u munge munged >/dev/null 2>&1; then
    runuser -u munge -- /usr/sbin/munged
fi
munge -n | unmunge >/dev/null

mkdir -p /etc/slurm
cat > /etc/slurm/slurm.conf <<CONF
# Single-node test cluster written by hashpivot's .ci/setup.d/slurm.sh.
ClusterName=hashpivot
SlurmctldHost=$host
SlurmUser=root
AuthType=auth/munge
StateSaveLocation=$state/state
SlurmdSpoolDir=$state/spool
SlurmctldPidFile=$state/slurmctld.pid
SlurmdPidFile=$state/slurmd.pid
SlurmctldLogFile=$state/log/slurmctld.log
SlurmdLogFile=$state/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=debug Nodes=$host Default=YES MaxTime=INFINITE State=UP
CONF

slurmctld
slurmd
for _ in $(seq 1 30); do
    if sinfo -h -o %T 2>/dev/null | grep -qE '^(idle|mixed|allocated)'; then
        break
    fi
    sleep 1
done
sinfo
sinfo -h -o %T | grep -qE '^(idle|mixed|allocated)' || {
    echo "slurm: the node did not come up; logs in $state/log" >&2
    tail -n 20 "$state/log/slurmctld.log" "$state/log/slurmd.log" >&2 || true
    exit 1
}
