#!/usr/bin/env bash
# Idle footprint of mimamori-agent: RSS and CPU over a measured idle period, with every
# collector on (auth, file integrity of /etc and the system binaries, persistence, ransomware
# on a folder of 500 documents, processes with the SigmaHQ linux rules, YARA with the built-in
# rules plus one from a rules folder, threat list, behaviour — sudoers, SUID files, logs and the
# agent's own files by fanotify, listeners and modules polled every 2 s —, inventory), after the
# first file-integrity pass has finished. Baseline in the same run: `tail -F` following the same
# log (the least a log follower can cost).
# Usage: bench/agent_idle.sh [SECONDS=600]    Writes bench/out/agent_idle.txt.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-600}
MIMAMORI_JOBS=${MIMAMORI_JOBS:-2} scripts/build release mimamori-agent >/dev/null
bin=$PWD/build/release/bin
work=$(mktemp -d /tmp/mimamori-bench-idle-XXXXXX)
trap 'kill $agent $sigma $tailer 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/yara" "$work/downloads"
python3 tests/cases/agent/tools/make_documents.py "$work/docs" 500 >/dev/null
cp tests/cases/agent/yara-eicar/eicar.yar "$work/yara/"
echo "203.0.113.0/24" > "$work/threats.txt"
touch "$work/auth.log"
common=(--set auth.files="$work/auth.log" --set ransomware.paths="$work/docs"
  --set ransomware.response=alert --set yara.rules_dir="$work/yara" --set yara.paths="$work/downloads"
  --set network.threat_list="$work/threats.txt")
# Two agents side by side: the default collectors, and the same plus 122 SigmaHQ linux rules.
"$bin/mimamori-agent" --eve "$work/eve.json" --set agent.state_dir="$work/state" "${common[@]}" \
  2>"$work/agent.log" &
agent=$!
"$bin/mimamori-agent" --eve "$work/eve-sigma.json" --set agent.state_dir="$work/state-sigma" \
  "${common[@]}" --set process.sigma_rules=../shared/corpus/sigma/rules/linux/process_creation \
  2>"$work/agent-sigma.log" &
sigma=$!
tail -F "$work/auth.log" >/dev/null 2>&1 &
tailer=$!
echo "waiting for the first file-integrity pass to finish..." >&2
start_wait=$(date +%s)
until grep -q "verification pass over" "$work/agent.log" &&
  grep -q "verification pass over" "$work/agent-sigma.log"; do
  sleep 2
  if ! kill -0 $agent 2>/dev/null; then cat "$work/agent.log" >&2; exit 1; fi
done
first_pass=$(( $(date +%s) - start_wait ))
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' /proc/$1/stat; }
rss() { awk '/VmRSS/ {print $2}' /proc/$1/status; }
anon() { awk '/RssAnon/ {print $2}' /proc/$1/status; }
a0=$(cpu $agent); s0=$(cpu $sigma); t0=$(cpu $tailer); w0=$(date +%s.%N)
amax=0; smax=0; tmax=0; aanon=0; sanon=0
end=$(( $(date +%s) + secs ))
while (( $(date +%s) < end )); do
  r=$(rss $agent); (( r > amax )) && amax=$r
  r=$(rss $sigma); (( r > smax )) && smax=$r
  r=$(anon $agent); (( r > aanon )) && aanon=$r
  r=$(anon $sigma); (( r > sanon )) && sanon=$r
  r=$(rss $tailer); (( r > tmax )) && tmax=$r
  sleep 5
done
a1=$(cpu $agent); s1=$(cpu $sigma); t1=$(cpu $tailer); w1=$(date +%s.%N)
execs=$(grep -c '"event_type":"process"' "$work/eve.json" || true)
mkdir -p bench/out
python3 - "$a0" "$a1" "$s0" "$s1" "$t0" "$t1" "$w0" "$w1" "$ticks" "$amax" "$smax" "$tmax" "$aanon" "$sanon" "$first_pass" "$secs" "$execs" <<'PY' | tee bench/out/agent_idle.txt
import sys
a0, a1, s0, s1, t0, t1, w0, w1, ticks, amax, smax, tmax, aanon, sanon, first, secs, execs = map(float, sys.argv[1:])
wall = w1 - w0
pct = lambda x0, x1: (x1 - x0) / ticks / wall * 100
print(f"machine: {open('/proc/cpuinfo').read().split('model name')[1].split(':')[1].splitlines()[0].strip()}, {open('/proc/cpuinfo').read().count('processor')} cores")
print(f"idle period measured: {wall:.0f} s, after a first file-integrity pass of {first:.0f} s; "
      f"{execs:.0f} programs started on the machine meanwhile (each one an exec event)")
print(f"{'':34}{'max RSS MB':>11}{'of it anon MB':>14}{'CPU % of one core':>19}")
print(f"{'mimamori-agent (defaults)':34}{amax/1024:>11.1f}{aanon/1024:>14.1f}{pct(a0, a1):>19.3f}")
print(f"{'mimamori-agent + 122 Sigma rules':34}{smax/1024:>11.1f}{sanon/1024:>14.1f}{pct(s0, s1):>19.3f}")
print(f"{'tail -F (baseline)':34}{tmax/1024:>11.1f}{'':>14}{pct(t0, t1):>19.3f}")
PY
