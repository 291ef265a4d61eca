#!/usr/bin/env bash
# Idle footprint of mimamori-agent.exe under wine: the three Sigma regression logs of the e2e
# case replayed (their three rules loaded), then idle; RSS and CPU of the agent's process from
# /proc over the measured period (wine's own work inside the process included; the wineserver
# is reported apart). Two runs: not enrolled, and enrolled with a receiver of the device API
# (src/uplink/test/ingest_receiver.py: the uplink thread, heartbeats).
# Usage: bench/agent_idle_wine.sh [SECONDS=20]   (after cmake --build --preset windows)
# Writes bench/out/agent_idle_wine.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
exe=${MIMAMORI_AGENT_EXE:-$PWD/build/windows/bin/mimamori-agent.exe}
run=$PWD/build/windows/wine-run.sh
corpus=$PWD/../shared/corpus
[[ -x $run && -f $exe ]] || { echo "build the windows preset first" >&2; exit 1; }
work=$(mktemp -d /tmp/mimamori-bench-idle-wine-XXXXXX)
rx=""
trap '[[ -n $rx ]] && kill $rx 2>/dev/null; rm -rf "$work"' EXIT
win() { echo "Z:${1//\//\\}"; }
mkdir -p "$work/replay" "$work/rules"
reg=$corpus/sigma/regression_data/rules/windows
for c in process_creation/proc_creation_win_bitsadmin_download \
  builtin/security/win_security_explicit_credential_local_logon \
  builtin/security/win_security_susp_scheduled_task_delete_or_disable; do
  cp "$reg/$c"/*.evtx "$work/replay/"
  cp "$corpus/sigma/rules/windows/$c.yml" "$work/rules/"
done
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' /proc/$1/stat; }
rss() { awk '/VmRSS/ {print $2}' /proc/$1/status; }
# Wake-ups: voluntary context switches of all the process's threads.
wakes() { cat /proc/$1/task/*/status | awk '/^voluntary_ctxt_switches/ {n += $2} END {print n}'; }
# The wine server of this build tree's prefix (others may run beside it).
prefix=$(sed -n 's/^export WINEPREFIX="\(.*\)"$/\1/p' "$run")
server_pid() {
  local p
  for p in $(pgrep -f wineserver); do
    if tr '\0' '\n' </proc/$p/environ 2>/dev/null | grep -qx "WINEPREFIX=$prefix"; then
      echo "$p"; return; fi
  done
}

# measure NAME STATE_DIR: starts the agent, lets it settle 5 s, measures `secs` seconds.
measure() {
  local name=$1 state=$2
  cat >"$work/$name.yaml" <<YAML
agent:
  state_dir: '$(win "$state")'
  poll_interval_ms: 1000
eventlog:
  sigma_rules: ['$(win "$work/rules")']
YAML
  "$run" "$exe" -c "$(win "$work/$name.yaml")" --replay "$(win "$work/replay")" \
    2>"$work/$name.log" &
  local pid=$!
  sleep 5
  local ws; ws=$(server_pid)
  local c0 w0 s0 v0 max=0 r
  c0=$(cpu $pid); s0=$([[ -n $ws ]] && cpu "$ws" || echo 0); v0=$(wakes $pid); w0=$(date +%s.%N)
  local end=$(( $(date +%s) + secs ))
  while (( $(date +%s) < end )); do
    r=$(rss $pid); (( r > max )) && max=$r
    sleep 1
  done
  local c1 s1 w1 v1
  c1=$(cpu $pid); s1=$([[ -n $ws ]] && cpu "$ws" || echo 0); v1=$(wakes $pid); w1=$(date +%s.%N)
  kill $pid; wait $pid 2>/dev/null || true
  python3 -c "import sys
c0,c1,s0,s1,w0,w1,t,m,v0,v1=map(float,sys.argv[1:11])
wall=w1-w0
print(f'{sys.argv[11]:24}{m/1024:>8.1f}{c1:>8.0f}{c1-c0:>8.0f}{(c1-c0)/t/wall*100:>8.2f}{(v1-v0)/wall:>9.1f}{(s1-s0)/t/wall*100:>14.2f}')" \
    "$c0" "$c1" "$s0" "$s1" "$w0" "$w1" "$ticks" "$max" "$v0" "$v1" "$name"
}

mkdir -p bench/out
{
  echo "mimamori-agent.exe idle under wine, ${secs} s measured after 5 s (3 rules, replay done)"
  echo "(all ticks: CPU since start, start-up included; ticks, CPU %, wake-ups/s: the idle period)"
  printf '%-24s%8s%8s%8s%8s%9s%14s\n' "" "RSS MB" "all" "ticks" "CPU %" "wakes/s" "wineserver %"
  measure not-enrolled "$work/state-a"
  # Enrolled: a credential for a receiver of the device API on loopback.
  mkdir -p "$work/state-b" "$work/rx"
  coproc RX { python3 src/uplink/test/ingest_receiver.py --dir "$work/rx" --store "$work/rx/store" --zstd; }
  rx=$RX_PID
  read -r _ port _ fp <&"${RX[0]}"
  printf "server_url: 'https://127.0.0.1:%s'\ndevice_id: dev_test\ndevice_token: dev_test.secret\nfingerprint: '%s'\nkind: agent\n" \
    "$port" "$fp" >"$work/state-b/agent.credential"
  measure enrolled "$work/state-b"
} | tee bench/out/agent_idle_wine.txt
