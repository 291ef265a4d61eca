#!/usr/bin/env bash
# A server on 127.0.0.3 (on the threat list) and one on 127.0.0.4 (not); a client connects to
# both and holds the connections while the agent looks.
set -u
printf '# test threat list\n127.0.0.3\n203.0.113.0/24\nnot-an-address\n' > threats.txt
mimamori-agent --eve eve.json --run-for 3 --set agent.state_dir=$PWD/state \
  --set auth.enabled=false --set fim.enabled=false --set persistence.enabled=false \
  --set ransomware.enabled=false --set process.enabled=false --set yara.enabled=false \
  --set inventory.enabled=false --set behaviour.enabled=false --set network.threat_list=$PWD/threats.txt \
  --set network.interval_s=1 --set agent.poll_interval_ms=200 2>agent.log &
agent=$!
python3 - <<'PY' &
import socket, time
servers = []
for host in ("127.0.0.3", "127.0.0.4"):
    s = socket.socket(); s.bind((host, 0)); s.listen(); servers.append(s)
clients = [socket.create_connection(s.getsockname()) for s in servers]
time.sleep(2.5)
PY
wait $agent
cat agent.log >&2
