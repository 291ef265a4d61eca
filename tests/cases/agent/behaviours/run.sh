#!/usr/bin/env bash
# Each behaviour as a real act while the agent watches, inside a private mount namespace whose
# /etc, /home, /var/log and /var/tmp are throwaway copies (overlays and a tmpfs), so nothing of
# the machine changes: a sudoers drop-in granting NOPASSWD, a user added to the sudo group, a
# SUID copy of a program in /var/tmp, the auth log truncated and btmp deleted, a user clearing
# their shell history, the agent's own configuration edited and its program replaced, a new
# listening service, and insmod of a module file. Prints each act's alert delay (within.py).
set -u
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: needs root (a private mount namespace, fanotify, the process connector)"
  exit 77
fi
if [[ -z ${MIMAMORI_CASE_NS:-} ]]; then
  MIMAMORI_CASE_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
set -e
tools=$(dirname "$0")/../tools
for d in etc home var/log; do
  mkdir -p ov/$d/up ov/$d/work
  mount -t overlay overlay -o lowerdir=/$d,upperdir=$PWD/ov/$d/up,workdir=$PWD/ov/$d/work /$d
done
mount -t tmpfs tmpfs /var/tmp
# More folders than the agent watches (4096): a temporary folder full of build trees must cost
# the deepest of them, never the logs, sudoers, the agent's files or the top of /var/tmp.
mkdir -p /var/tmp/build && (cd /var/tmp/build && mkdir $(seq -f 'obj%g' 1 4200))
# The machine as the intruder finds it: a user, a sudo group, the logs with lines in them.
getent group sudo >/dev/null || groupadd sudo
useradd -m -s /bin/bash alice
mkdir -p /etc/sudoers.d
printf 'echo hello\nls -la\n' > /home/alice/.bash_history
chown alice: /home/alice/.bash_history
printf 'Dec  7 09:00:01 pc sshd[100]: Accepted publickey for alice from 192.0.2.7\n' > /var/log/auth.log
printf 'failed login records\n' > /var/log/btmp
# The agent runs from its own copy, with its own configuration file.
mkdir -p bin
cp "$(command -v mimamori-agent)" bin/mimamori-agent
cat > agent.yaml <<YAML
agent:
  state_dir: $PWD/state
  poll_interval_ms: 200
auth: {enabled: false}
fim: {enabled: false}
persistence: {enabled: false}
ransomware: {enabled: false}
yara: {enabled: false}
network: {enabled: false}
inventory: {enabled: false}
behaviour:
  poll_interval_ms: 1000
YAML
bin/mimamori-agent --config agent.yaml --eve eve.json --run-for $(( 24 * ${MIMAMORI_TIMEOUT_SCALE:-1} )) 2>agent.log &
agent=$!
for _ in $(seq 100); do grep -q "agent running" agent.log && break; sleep 0.1; done
sleep 1.5  # the first listener poll is the baseline
act() { echo "$1 $2 $(date +%s.%N)" >> acts.txt; }
pause() { sleep 1; }

act sudoers 9100601
echo 'alice ALL=(ALL) NOPASSWD: ALL' | tee /etc/sudoers.d/alice >/dev/null
pause
act admin_group 9100602
usermod -aG sudo alice
pause
cp /usr/bin/id /var/tmp/.id
act suid 9100603
chmod u+s /var/tmp/.id
pause
act log_truncated 9100604
truncate -s 0 /var/log/auth.log
pause
act log_deleted 9100604
rm /var/log/btmp
pause
act history 9100605
runuser -u alice -- bash -c 'HISTFILE=~/.bash_history; set -o history; history -c; history -w'
pause
act agent_config 9100606
sed -i 's/poll_interval_ms: 1000/poll_interval_ms: 900/' agent.yaml
pause
act agent_program 9100607
cp /usr/bin/true bin/mimamori-agent.new
mv bin/mimamori-agent.new bin/mimamori-agent
pause
act listener 9100608
runuser -u alice -- python3 -m http.server 0 --bind 127.0.0.1 >/dev/null 2>&1 &
web=$!
sleep 3
kill $web
printf 'not a module\n' > rootkit.ko
act insmod 9100309
insmod ./rootkit.ko 2>insmod.err || true
pause
# Ordinary changes beside them, which raise nothing: a file in /etc, a history appended to, an
# executable (not SUID) in /var/tmp, a line logged, a sudoers.d file sudo ignores (has a dot).
echo "nameserver 192.0.2.53" > /etc/resolv.conf.case
runuser -u alice -- bash -c 'echo "make" >> ~/.bash_history'
cp /usr/bin/id /var/tmp/id-copy && chmod 755 /var/tmp/id-copy
echo "Dec  7 09:05:00 pc CRON[200]: session opened" >> /var/log/auth.log
echo "# note" > /etc/sudoers.d/README.case
wait $agent
cat agent.log >&2
python3 "$tools/within.py" eve.json acts.txt
cat insmod.err >&2
# The alerts naming files inside this case's folder, with the folder shown as `.`.
python3 - "$PWD" <<'PY'
import hashlib, json, sys
here = sys.argv[1]
for line in open("eve.json"):
    r = json.loads(line)
    if r.get("event_type") != "alert":
        continue
    sid = r["alert"]["signature_id"]
    if sid == 9100608 and r["process"].get("user") == "alice":
        f = r["file"]
        same = f["path"] == r["process"]["exe"] and \
            f.get("sha256") == hashlib.sha256(open(f["path"], "rb").read()).hexdigest()
        print(f"listener file is the listening program with its hash: {same}")
    path = r.get("file", {}).get("path") or r.get("module", {}).get("file", "")
    if path.startswith(here + "/"):
        print(f"{sid} file: .{path[len(here):]}")
PY
