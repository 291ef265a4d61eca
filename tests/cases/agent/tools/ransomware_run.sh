#!/usr/bin/env bash
# Runs the agent guarding a folder of 500 documents, starts the encrypting program, and reports
# whether it was stopped, how many documents it changed and how long detection took.
# Usage: ransomware_run.sh OUT_DIR RESPONSE CANARIES [MAX_CHANGED] [MAX_MS]
set -u
out=$1 response=$2 canaries=$3 max_changed=${4:-20} max_ms=${5:-2000}
tools=$(dirname "$0")
cd "$out"
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: fanotify (to name and stop the process) needs root"
  exit 77
fi
python3 "$tools/make_documents.py" "$out/docs" 500 || exit 1
mimamori-agent --eve eve.json --set agent.state_dir="$out/state" --set auth.enabled=false \
  --set fim.enabled=false --set persistence.enabled=false --set ransomware.paths="$out/docs" \
  --set ransomware.response="${response/benign/stop}" --set ransomware.canaries="$canaries" \
  --set agent.poll_interval_ms=200 2>agent.log &
agent=$!
for _ in $(seq 100); do grep -q "ransomware: guarding" agent.log && break; sleep 0.1; done
if [[ $response == benign ]]; then
  # A benign program rewriting every document with new valid content (office files and PNGs
  # are compressed, hence high-entropy): must raise nothing.
  date +%s.%N > start.txt
  python3 "$tools/make_documents.py" "$out/docs" 500 7 > encrypt.out &
else
  python3 "$tools/encrypt_files.py" "$out/docs" start.txt > encrypt.out &
fi
victim=$!
state=R
[[ $response == benign ]] && wait $victim
for _ in $(seq 50); do
  sleep 0.1
  state=$(awk '{print $3}' /proc/$victim/stat 2>/dev/null || echo gone)
  [[ $state == T || $state == gone || $state == Z ]] && break
done
sleep 0.5
state=$(awk '{print $3}' /proc/$victim/stat 2>/dev/null || echo gone)
kill -CONT $victim 2>/dev/null; kill -KILL $victim 2>/dev/null; wait $victim 2>/dev/null
kill -TERM $agent; wait $agent
cat agent.log >&2
python3 - "$state" "$max_changed" "$max_ms" <<'PY'
import hashlib, json, os, sys
from datetime import datetime
state, max_changed, max_ms = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
manifest = json.load(open("manifest.json"))
changed = 0
for path, digest in manifest.items():
    if not os.path.exists(path):
        changed += 1
        continue
    if hashlib.sha256(open(path, "rb").read()).hexdigest() != digest:
        changed += 1
start = float(open("start.txt").read())
alerts = [json.loads(l) for l in open("eve.json") if '"Ransomware"' in l]
detect_ms = None
if alerts:
    t = datetime.strptime(alerts[0]["timestamp"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
    detect_ms = (t - start) * 1000
print(f"victim_state={state} changed={changed} alerts={len(alerts)} detect_ms={detect_ms}")
ok = True
if max_changed < 0:  # the benign run: nothing may be flagged, the program must finish
    ok = not alerts and state in ("gone", "Z")
    print("benign rewrite: " + ("no alert" if ok else "FAIL: flagged or stopped"))
    sys.exit(0 if ok else 1)
if changed > max_changed:
    print(f"FAIL: {changed} documents changed, at most {max_changed} allowed"); ok = False
if detect_ms is None or detect_ms > max_ms:
    print(f"FAIL: detection took {detect_ms} ms, at most {max_ms} allowed"); ok = False
sys.exit(0 if ok else 1)
PY
