#!/usr/bin/env python3
"""End to end against the real mimamori-server on loopback: set up a provider, a customer and an
enrollment code with `mimamori admin`; enroll the agent (pinning the certificate the server
printed); stream unique sshd log lines into a file the agent tails while the agent and the server
are each killed with SIGKILL and restarted, repeatedly; then check in the server's SQLite store
that every line arrived exactly once, with sequence numbers 1..n without gaps, and that
heartbeats came through.  Usage: e2e_no_loss.py OUT_DIR LINES KILLS"""
import json
import os
import random
import signal
import subprocess
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
from server_fixture import Server, enroll, run  # noqa: E402

out, total, kills = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
os.chdir(out)
state = os.path.join(out, "agent-state")
log = os.path.join(out, "auth.log")
cred = os.path.join(out, "etc", "agent.credential")
failures = []

srv = Server(os.path.join(out, "server-data"))
code = srv.enroll_code()
url, fingerprint = srv.start()

# Enrollment: a wrong code is refused with the server's reason; the right one pins the
# certificate the server printed and writes a 0600 credential.
bad = subprocess.run(["mimamori-agent", "enroll", "--server", url, "--code", "ZZZZ-ZZZZ",
                      "--credential", cred], capture_output=True, text=True)
if bad.returncode == 0 or "403" not in bad.stderr:
    failures.append(f"a wrong enrollment code was not refused with 403: {bad.stderr}")
enroll("mimamori-agent", url, code.lower(), cred, fingerprint, failures)
reuse = subprocess.run(["mimamori-agent", "enroll", "--server", url, "--code", code,
                        "--credential", cred + ".2"], capture_output=True, text=True)
if reuse.returncode == 0:
    failures.append("a used enrollment code was accepted again")

open(log, "w").close()
agent_log = open("agent.log", "a")


def start_agent():
    return subprocess.Popen(
        ["mimamori-agent", "--set", f"agent.state_dir={state}", "--set", f"agent.credential={cred}",
         "--set", f"auth.files={log}", "--set", "auth.from_start=true", "--set", "auth.journald=false",
         "--set", "fim.enabled=false", "--set", "persistence.enabled=false",
         "--set", "ransomware.enabled=false", "--set", "process.enabled=false",
         "--set", "yara.enabled=false", "--set", "network.enabled=false",
         "--set", "inventory.enabled=false", "--set", "behaviour.enabled=false", "--set", "agent.poll_interval_ms=100",
         "--set", "uplink.backoff_max_ms=1000", "--set", "uplink.backoff_min_ms=100"],
        stderr=agent_log)


agent = start_agent()
written = 0


def writer():
    global written
    with open(log, "a") as f:
        while written < total:
            burst = min(total - written, random.randint(20, 120))
            for _ in range(burst):
                i = written
                f.write(f"2026-11-26T10:{(i // 60) % 60:02d}:{i % 60:02d}.000000+09:00 web-01 "
                        f"sshd[{1000 + i}]: Failed password for user{i % 97} from "
                        f"198.51.100.{i % 200 + 1} port {40000 + i} ssh2\n")
                written += 1
            f.flush()
            time.sleep(0.08)


w = threading.Thread(target=writer)
w.start()
random.seed(7)
k = 0
while k < kills or w.is_alive():  # at least `kills` kills, and keep killing while lines flow
    time.sleep(random.uniform(0.3, 0.9))
    if k % 2 == 0:
        agent.send_signal(signal.SIGKILL)
        agent.wait()
        agent = start_agent()
    else:
        srv.kill(signal.SIGKILL)
        time.sleep(random.uniform(0.1, 0.5))
        url2, fp2 = srv.start()
        if fp2 != fingerprint:
            failures.append("the server's certificate changed across restarts")
    k += 1
w.join()


def stored():
    return ([(seq, t, raw) for _, seq, t, raw in srv.events()],
            srv.query("SELECT last_heartbeat, acked_through FROM devices"))


# After the last kill the agent has a minute to deliver every line, report a heartbeat and pull
# its configuration (an agent killed within a second of starting, as above, may not yet have
# done the last two; on a slow machine none of the short lives does).
cached = os.path.join(state, "server-config.yaml")
deadline = time.time() + 60
while True:
    rows, hb = stored()
    auth = [r for r in rows if r[1] == "auth"]
    done = (len(auth) >= total and hb and hb[0][0] and os.path.exists(cached)
            and "device_id: dev" in open(cached).read())
    if done or time.time() > deadline:
        break
    time.sleep(0.5)
agent.send_signal(signal.SIGTERM)
agent.wait()
srv.kill(signal.SIGTERM)
rows, hb = stored()

messages = {}
for seq, etype, raw in rows:
    if etype != "auth":
        continue
    msg = json.loads(raw)["auth"]["message"]
    messages.setdefault(msg, []).append(seq)
dups = {m: s for m, s in messages.items() if len(s) > 1}
seqs = sorted(r[0] for r in rows)
missing = total - len(messages)
print(f"lines={total} stored_auth_events={sum(len(s) for s in messages.values())} "
      f"distinct={len(messages)} duplicates={len(dups)} missing={missing} "
      f"all_events={len(rows)} max_seq={seqs[-1] if seqs else 0} kills={k}")
if missing:
    failures.append(f"{missing} lines never reached the server")
if dups:
    failures.append(f"{len(dups)} lines stored more than once, e.g. {next(iter(dups.items()))}")
if seqs != list(range(1, len(seqs) + 1)):
    failures.append("sequence numbers are not 1..n without gaps")
if not hb or not hb[0][0]:
    failures.append("no heartbeat reached the server")
elif json.loads(hb[0][0]).get("version") != "0.1.0":
    failures.append(f"heartbeat lacks the version: {hb[0][0]}")
# `mimamori-agent stats` reads the counters the agent wrote when it stopped: the spool is empty
# and the server acknowledged everything up to the last sequence number.
stats = run("mimamori-agent", "stats", "--set", f"agent.state_dir={state}")
last = seqs[-1] if seqs else 0
if f"spool: depth 0," not in stats or f"acknowledged through {last} of {last}" not in stats:
    failures.append(f"mimamori-agent stats does not show an empty, acknowledged spool: {stats}")
if "  auth " not in stats:
    failures.append(f"mimamori-agent stats does not count the auth collector: {stats}")
if not os.path.exists(cached) or "device_id: dev" not in open(cached).read():
    failures.append("the device configuration was not pulled and cached")
for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
