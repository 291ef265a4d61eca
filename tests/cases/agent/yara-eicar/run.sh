#!/usr/bin/env bash
# The EICAR test file is assembled at run time (never stored in the project) and dropped into a
# watched download folder, beside a harmless file.
set -u
mkdir -p rules downloads
cp "$(dirname "$0")/eicar.yar" rules/
mimamori-agent --eve eve.json --run-for 3 --set agent.state_dir=$PWD/state \
  --set auth.enabled=false --set fim.enabled=false --set persistence.enabled=false \
  --set ransomware.enabled=false --set process.enabled=false --set network.enabled=false \
  --set inventory.enabled=false --set behaviour.enabled=false --set yara.rules_dir=$PWD/rules --set yara.builtin_rules=false \
  --set yara.paths=$PWD/downloads \
  --set agent.poll_interval_ms=200 2>agent.log &
agent=$!
for _ in $(seq 50); do grep -q "agent running" agent.log && break; sleep 0.1; done
head='X5O!P%@AP[4\PZX54(P^)7CC)7}$'
printf '%s%s' "$head" 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' > downloads/invoice.pdf.exe
echo "just a note" > downloads/note.txt
wait $agent
cat agent.log >&2
