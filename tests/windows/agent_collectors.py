#!/usr/bin/env python3
"""mimamori-agent.exe's collectors beside the Sigma alerts, through the program: while it runs
(`--run-for`), a Run value is added with `reg add`, documents in a watched folder are rewritten
with random bytes, and a file whose SHA-256 is on the hash list lands in a Downloads folder; the
spool then holds one alert of each (run key 9100108, ransomware burst 9100201, known-bad hash
9100402), with the Linux agent's alert shape.

Usage: agent_collectors.py OUT_DIR AGENT_EXE WINE_RUN"""
import hashlib
import json
import os
import shutil
import struct
import subprocess
import sys
import time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wine_agent import winpath, spooled  # noqa: E402

out, agent_exe, wine_run = (os.path.abspath(a) for a in sys.argv[1:4])
shutil.rmtree(out, ignore_errors=True)
os.makedirs(out)
os.chdir(out)
failures = []


def wine(*args, timeout=30):
    return subprocess.run([wine_run, *args], capture_output=True, text=True, timeout=timeout,
                          encoding="utf-8", errors="replace")


for d in ("state", "docs", "Downloads", "tasks", "replay"):
    os.makedirs(d)
for i in range(6):
    with open(f"docs/report{i}.txt", "w") as f:
        f.write("meeting notes\n" * 600)
bad = b"MZ a program on the threat list " + os.urandom(64)
with open("threat-hashes.txt", "w") as f:
    f.write("# test\n" + hashlib.sha256(bad).hexdigest() + "\n")
value = f"MimamoriAgentCase{os.getpid()}"
with open("agent.yaml", "w", encoding="utf-8") as f:
    f.write(f"agent:\n  state_dir: '{winpath('state')}'\n  poll_interval_ms: 100\n"
            f"eventlog:\n  replay: ['{winpath('replay')}']\n"
            f"persistence:\n  tasks_dir: '{winpath('tasks')}'\n"
            f"ransomware:\n  paths: ['{winpath('docs')}']\n"
            f"downloads:\n  paths: ['{winpath('Downloads')}']\n  settle_ms: 200\n"
            f"yara:\n  hash_list: '{winpath('threat-hashes.txt')}'\n")

run_key = "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run"
agent = subprocess.Popen([wine_run, agent_exe, "-c", winpath("agent.yaml"), "--run-for", "12"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         encoding="utf-8", errors="replace")
try:
    # Started when its canaries are in the watched folder (the baseline is taken before them).
    deadline = time.time() + 20
    while not os.path.exists("docs/zzzz-mimamori-canary.txt") and time.time() < deadline:
        time.sleep(0.1)
    time.sleep(0.5)
    r = wine("reg", "add", run_key, "/v", value, "/t", "REG_SZ", "/d", "C:\\Temp\\evil.exe", "/f")
    if r.returncode != 0:
        failures.append(f"reg add failed: {r.stdout} {r.stderr}")
    for i in range(1, 5):
        with open(f"docs/report{i}.txt", "wb") as f:
            f.write(os.urandom(8192))
    with open("Downloads/invoice.exe", "wb") as f:
        f.write(bad)
    _, err = agent.communicate(timeout=40)
finally:
    if agent.poll() is None:
        agent.kill()
    wine("reg", "delete", run_key, "/v", value, "/f")
open("agent.log", "w").write(err)

alerts = [json.loads(x) for x in spooled("state")]
by_sid = {}
for a in alerts:
    if a.get("event_type") == "alert":
        by_sid.setdefault(a["alert"]["signature_id"], []).append(a)
run = [a for a in by_sid.get(9100108, []) if a.get("persistence", {}).get("name") == value]
if len(run) != 1 or run[0]["persistence"].get("path") != "C:\\Temp\\evil.exe":
    failures.append(f"run-key alerts for {value}: {run}")
burst = by_sid.get(9100201, [])
if len(burst) != 1 or burst[0]["alert"].get("category") != "Ransomware":
    failures.append(f"ransomware burst alerts: {burst}")
known = by_sid.get(9100402, [])
if len(known) != 1 or not known[0].get("yara", {}).get("path", "").endswith("invoice.exe"):
    failures.append(f"known-bad hash alerts: {known}")
if 9100202 in by_sid:
    failures.append(f"a canary alert nobody caused: {by_sid[9100202]}")
for a in alerts:
    if not a.get("host"):
        failures.append(f"an event without its host: {a}")
        break

if failures:
    print("FAIL:\n  " + "\n  ".join(failures))
    print(err[-3000:])
    sys.exit(1)
print(f"ok: {len(alerts)} events spooled, alerts {sorted(by_sid)}")
