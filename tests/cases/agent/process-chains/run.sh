#!/usr/bin/env bash
# Real process chains on this machine, each while the agent watches exec events: a download
# piped into sh from a script (two sibling processes joined by a pipe, not one `sh -c` string),
# a downloaded program run moments later, a program run from /dev/shm and from a memfd, and a
# shell whose stdin/stdout is a TCP connection. Then ordinary pipes and a download that is never
# run, which must raise nothing. Prints each act's alert delay (tools/within.py).
set -u
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: the netlink process connector needs root"
  exit 77
fi
py=/usr/bin/python3
tools=$(dirname "$0")/../tools
mkdir -p www work
cp /usr/bin/sleep www/payload
printf 'sleep 1\necho fetched and run\n' > www/x.sh
$py -u -m http.server 0 --bind 127.0.0.1 --directory www > http.log 2>&1 &
web=$!
for _ in $(seq 50); do grep -q "port" http.log && break; sleep 0.1; done
port=$(grep -o 'port [0-9]*' http.log | head -1 | cut -d' ' -f2)
mimamori-agent --eve eve.json --run-for $(( 14 * ${MIMAMORI_TIMEOUT_SCALE:-1} )) --set agent.state_dir=$PWD/state \
  --set auth.enabled=false --set fim.enabled=false --set persistence.enabled=false \
  --set ransomware.enabled=false --set yara.enabled=false --set network.enabled=false \
  --set inventory.enabled=false --set behaviour.enabled=false --set agent.poll_interval_ms=200 2>agent.log &
agent=$!
for _ in $(seq 100); do grep -q "agent running" agent.log && break; sleep 0.1; done
act() { echo "$1 $2 $(date +%s.%N)" >> acts.txt; }

# As typed at a prompt: the script is the shell's input, the pipeline is not one command line.
echo "curl -s http://127.0.0.1:$port/x.sh | sh" > typed.sh
act pipe_to_shell 9100304
bash typed.sh > pipe.out

printf 'cd work\ncurl -s -o payload http://127.0.0.1:%s/payload\nchmod +x payload\n./payload 1\n' \
  "$port" > dl.sh
act downloaded_exec 9100308
bash dl.sh

cp /usr/bin/sleep /dev/shm/mimamori-chain-case
act dev_shm 9100306
/dev/shm/mimamori-chain-case 1
rm -f /dev/shm/mimamori-chain-case

cat > memfd.py <<'PY'
import os
fd = os.memfd_create("payload", 0)
os.write(fd, open("/usr/bin/sleep", "rb").read())
os.execv(f"/proc/self/fd/{fd}", ["payload", "1"])
PY
act memfd 9100307
$py memfd.py

cat > listener.py <<'PY'
import socket, time
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
time.sleep(1.5)
c.sendall(b"exit\n")
time.sleep(0.2)
PY
cat > connect.py <<'PY'
import os, socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
for fd in (0, 1, 2):
    os.dup2(s.fileno(), fd)
os.execv("/bin/sh", ["sh", "-s"])
PY
$py listener.py > listener.port &
listener=$!
for _ in $(seq 50); do [[ -s listener.port ]] && break; sleep 0.1; done
act socket_shell 9100305
$py connect.py "$(cat listener.port)"
wait $listener

# Ordinary work: a pipe into sh from echo, a download saved and read but never run.
printf 'echo "sleep 1" | sh\ncurl -s -o saved.sh http://127.0.0.1:%s/x.sh\nsort saved.sh | head -1\n' \
  "$port" > benign.sh
bash benign.sh > benign.out

kill $web
wait $agent
cat agent.log >&2
$py "$tools/within.py" eve.json acts.txt
$py - <<'PY'
import hashlib, json
want = hashlib.sha256(open("/usr/bin/sleep", "rb").read()).hexdigest()
for line in open("eve.json"):
    r = json.loads(line)
    if r.get("event_type") == "alert" and r["alert"]["signature_id"] in (9100307, 9100308):
        f = r.get("chain", {}).get("file", {})
        if r["process"]["cmdline"] in ("payload 1", "./payload 1"):
            ok = f.get("sha256") == want
            print(f"{r['chain']['kind']} file hash {'matches' if ok else 'differs'}: {f.get('path')}")
PY
