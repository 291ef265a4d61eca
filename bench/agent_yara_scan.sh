#!/usr/bin/env bash
# Peak memory of mimamori-agent scanning one large download with the built-in YARA rules: the
# agent (YARA collector only) watches a folder; a file of SIZE_MB (default 64, the default
# yara.max_file_mb) is written into it, ending in a miner's strings so that the alert marks the
# end of the scan. Prints VmHWM (peak RSS) before and after, and the time to the alert.
# Usage: bench/agent_yara_scan.sh [SIZE_MB=64]
set -euo pipefail
cd "$(dirname "$0")/.."
mb=${1:-64}
MIMAMORI_JOBS=${MIMAMORI_JOBS:-2} scripts/build release mimamori-agent >/dev/null
bin=$PWD/build/release/bin
work=$(mktemp -d /tmp/mimamori-bench-yara-XXXXXX)
trap 'kill $agent 2>/dev/null; rm -rf "$work"' EXIT
mkdir -p "$work/downloads"
"$bin/mimamori-agent" --eve "$work/eve.json" --set agent.state_dir="$work/state" \
  --set auth.enabled=false --set fim.enabled=false --set persistence.enabled=false \
  --set ransomware.enabled=false --set process.enabled=false --set network.enabled=false \
  --set inventory.enabled=false --set behaviour.enabled=false --set yara.paths="$work/downloads" --set yara.max_file_mb="$mb" \
  --set agent.poll_interval_ms=200 2>"$work/agent.log" &
agent=$!
until grep -q "agent running" "$work/agent.log"; do sleep 0.1; done
sleep 1
hwm() { awk '/VmHWM/ {print $2}' /proc/$agent/status; }
before=$(hwm)
python3 - "$work/big.part" "$mb" <<'PY'
import os, sys
tail = b"\0".join([b"stratum+tcp://pool.example.net:3333", b"--donate-level=1", b"randomx",
                   b"cryptonight"]) + b"\0"
head = open("/usr/bin/true", "rb").read()
size = int(sys.argv[2]) * 1024 * 1024
with open(sys.argv[1], "wb") as f:
    f.write(head)
    left = size - len(head) - len(tail)
    while left > 0:
        n = min(left, 1 << 20)
        f.write(os.urandom(n))
        left -= n
    f.write(tail)
PY
t0=$(date +%s.%N)
mv "$work/big.part" "$work/downloads/big.bin"
until grep -q Linux_Miner_XMRig "$work/eve.json" 2>/dev/null; do sleep 0.05; done
t1=$(date +%s.%N)
after=$(hwm)
printf 'scan of a %d MB download: peak RSS %.1f MB before, %.1f MB after (+%.1f MB); alert after %.2f s\n' \
  "$mb" "$(echo "$before/1024" | bc -l)" "$(echo "$after/1024" | bc -l)" \
  "$(echo "($after-$before)/1024" | bc -l)" "$(echo "$t1-$t0" | bc -l)"
