#!/usr/bin/env bash
# Runs a 2x3 sweep through a real Slurm: starts a one-node cluster on this machine (munged,
# slurmctld, slurmd, each with its own key, socket, ports, state and log paths in a temporary
# folder), runs the sweep with --backend slurm and locally, and checks that both sweep.csv files
# are equal byte for byte but for the wall_seconds column. Whatever happens, the daemons are
# stopped by their pid files. Needs root (the daemons run as root) and Debian's slurmctld, slurmd,
# slurm-client and munge; exits 77 (skipped) without them.
# Usage: slurm_sweep_test.sh VBSIM SWEEP_FILE
set -euo pipefail
vbsim="$(realpath "$1")"
sweep="$(realpath "$2")"

if [[ $(id -u) -ne 0 ]]; then
  echo "skipped: the one-node Slurm cluster needs root" >&2
  exit 77
fi
for tool in munged slurmctld slurmd sbatch sinfo; do
  if ! command -v "${tool}" >/dev/null; then
    echo "skipped: ${tool} is not installed (scripts/install-deps.sh installs it)" >&2
    exit 77
  fi
done

work="$(mktemp -d /tmp/vbsim-slurm-test.XXXXXX)"
chmod 755 "${work}"
stop_daemons() {
  local status=$?
  for pid_file in "${work}/slurmd.pid" "${work}/slurmctld.pid" "${work}/munged.pid"; do
    if [[ -s "${pid_file}" ]]; then
      kill "$(cat "${pid_file}")" 2>/dev/null || true
    fi
  done
  # Give them a moment to go, then make sure.
  for _ in $(seq 50); do
    local alive=0
    for pid_file in "${work}/slurmd.pid" "${work}/slurmctld.pid" "${work}/munged.pid"; do
      if [[ -s "${pid_file}" ]] && kill -0 "$(cat "${pid_file}")" 2>/dev/null; then
        alive=1
      fi
    done
    ((alive)) || break
    sleep 0.1
  done
  for pid_file in "${work}/slurmd.pid" "${work}/slurmctld.pid" "${work}/munged.pid"; do
    if [[ -s "${pid_file}" ]]; then
      kill -9 "$(cat "${pid_file}")" 2>/dev/null || true
    fi
  done
  if ((status != 0)); then
    for log in slurmctld.log slurmd.log munged.log; do
      echo "---- ${log}" >&2
      tail -n 30 "${work}/${log}" >&2 2>/dev/null || true
    done
  fi
  rm -rf "${work}"
  exit "${status}"
}
trap stop_daemons EXIT

free_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 20000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/${port}") 2>/dev/null; then
      echo "${port}"
      return
    fi
  done
}

mkdir -p "${work}/munge" "${work}/state" "${work}/spool"
chmod 700 "${work}/munge"
dd if=/dev/urandom of="${work}/munge/munge.key" bs=1024 count=1 status=none
chmod 400 "${work}/munge/munge.key"
munged --force --key-file="${work}/munge/munge.key" --socket="${work}/munge/munge.socket.2" \
  --pid-file="${work}/munged.pid" --log-file="${work}/munged.log" \
  --seed-file="${work}/munge/munged.seed"

node="$(hostname -s)"
cpus="$(nproc)"
ctld_port="$(free_port)"
slurmd_port="$(free_port)"
while [[ "${slurmd_port}" == "${ctld_port}" ]]; do slurmd_port="$(free_port)"; done
export SLURM_CONF="${work}/slurm.conf"
cat >"${SLURM_CONF}" <<CONF
ClusterName=vbsimtest
SlurmctldHost=${node}(127.0.0.1)
SlurmctldPort=${ctld_port}
SlurmdPort=${slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=${work}/munge/munge.socket.2
StateSaveLocation=${work}/state
SlurmdSpoolDir=${work}/spool
SlurmctldPidFile=${work}/slurmctld.pid
SlurmdPidFile=${work}/slurmd.pid
SlurmctldLogFile=${work}/slurmctld.log
SlurmdLogFile=${work}/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SwitchType=switch/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
NodeName=${node} NodeAddr=127.0.0.1 CPUs=${cpus} State=UNKNOWN
PartitionName=vbsim Nodes=${node} Default=YES MaxTime=INFINITE State=UP
CONF
slurmctld -f "${SLURM_CONF}"
slurmd -f "${SLURM_CONF}"

for _ in $(seq 300); do
  state="$(sinfo -h -o %t 2>/dev/null || true)"
  [[ "${state}" == "idle" ]] && break
  sleep 0.1
done
if [[ "${state}" != "idle" ]]; then
  echo "FAIL: the one-node cluster did not come up (node state '${state}')" >&2
  exit 1
fi

# Three array tasks of two variants each.
"${vbsim}" sweep run "${sweep}" --out "${work}/slurm-run" --backend slurm --per-task 2 --quiet
"${vbsim}" sweep run "${sweep}" --out "${work}/local-run" --jobs 2 --quiet

tasks="$(ls "${work}/slurm-run/slurm" | grep -c '^task-.*\.out$')"
if [[ "${tasks}" != 3 ]]; then
  echo "FAIL: expected 3 array tasks, found ${tasks} task outputs" >&2
  exit 1
fi
rows="$(($(wc -l <"${work}/slurm-run/sweep.csv") - 1))"
if [[ "${rows}" != 6 ]]; then
  echo "FAIL: expected 6 variants in the Slurm sweep.csv, found ${rows}" >&2
  exit 1
fi
without_wall() { awk -F, 'NR==1{for(i=1;i<=NF;i++) if($i=="wall_seconds") w=i} {out=""; for(i=1;i<=NF;i++) if(i!=w) out=out (out==""?"":",") $i; print out}' "$1"; }
if ! diff <(without_wall "${work}/slurm-run/sweep.csv") <(without_wall "${work}/local-run/sweep.csv"); then
  echo "FAIL: the Slurm and the local sweep.csv differ" >&2
  exit 1
fi
if grep -q ',failed,\|,not_run,' "${work}/slurm-run/sweep.csv"; then
  echo "FAIL: a variant failed under Slurm" >&2
  exit 1
fi
echo "PASS: 6 variants in 3 Slurm array tasks; sweep.csv equals the local run's"
