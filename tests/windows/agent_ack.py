#!/usr/bin/env python3
"""mimamori-agent.exe under wine, killed between the spool and the server's acknowledgement:
nothing is lost and nothing reaches the server twice.

1. A receiver of the device API (src/uplink/test/ingest_receiver.py, taking zstd) stores the
   agent's first batch and never answers it. The agent has replayed three Sigma regression logs
   and sent their alerts (zstd); while it waits, the bookmarks committed in its spool are still
   before the records (the server has not acknowledged them). The agent is killed (SIGKILL).
2. The receiver comes back without zstd (415): the agent (`--once`) resumes from the held
   bookmarks, reads the three records again, spools none of their alerts twice (they are in the
   spool), resends the spool's batch in gzip, and the receiver de-duplicates it by sequence.
   The bookmarks are then past the records.
3. A third run reads nothing and sends nothing.
The receiver's store then holds each expected alert exactly once.

Usage: agent_ack.py OUT_DIR AGENT_EXE WINE_RUN RECEIVER CORPUS (exit 77: no corpus)"""
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wine_agent import winpath, checkpoints  # noqa: E402

out, agent_exe, wine_run, receiver, corpus = (os.path.abspath(a) for a in sys.argv[1:6])
shutil.rmtree(out, ignore_errors=True)
os.makedirs(out)
os.chdir(out)
failures = []


def bookmark_ids(state):
    """{log: RecordId} of the committed event-log bookmarks (lines of hex name, hex bookmark)."""
    out = {}
    for line in checkpoints(state).get("eventlog", "").splitlines():
        name, mark = (bytes.fromhex(x).decode() for x in line.split(" "))
        out[name] = int(mark.split("RecordId='")[1].split("'")[0])
    return out


def start_receiver(*extra, port=0):
    p = subprocess.Popen([sys.executable, receiver, "--dir", out, "--store", "store.jsonl",
                          "--port", str(port), *extra], stdout=subprocess.PIPE, text=True)
    words = p.stdout.readline().split()
    return p, int(words[1]), words[3]


regression = os.path.join(corpus, "sigma", "regression_data", "rules", "windows")
cases = ["process_creation/proc_creation_win_bitsadmin_download",
         "builtin/security/win_security_explicit_credential_local_logon",
         "builtin/security/win_security_susp_scheduled_task_delete_or_disable"]
os.makedirs("replay")
os.makedirs("rules")
expected = {}
for c in cases:
    d = os.path.join(regression, c)
    if not os.path.isdir(d):
        print(f"SKIP: no corpus at {corpus}")
        sys.exit(77)
    for f in os.listdir(d):
        if f.endswith(".evtx"):
            shutil.copy(os.path.join(d, f), "replay")
    shutil.copy(os.path.join(corpus, "sigma", "rules", "windows", c + ".yml"), "rules")
    info = open(os.path.join(d, "info.yml"), encoding="utf-8").read()
    title = info.split("title:", 1)[1].splitlines()[0].strip()
    expected[title] = expected.get(title, 0) + int(info.split("match_count:", 1)[1].splitlines()[0])

rx, port, fingerprint = start_receiver("--zstd", "--hang-after-store", "1")
os.makedirs("state")
with open(os.path.join("state", "agent.credential"), "w") as f:
    f.write(f"server_url: 'https://127.0.0.1:{port}'\ndevice_id: dev_test\n"
            f"device_token: dev_test.secret\nfingerprint: '{fingerprint}'\nkind: agent\n")
with open("agent.yaml", "w", encoding="utf-8") as f:
    f.write(f"agent:\n  state_dir: '{winpath('state')}'\n  poll_interval_ms: 100\n"
            f"  once_timeout_s: 20\neventlog:\n  sigma_rules: ['{winpath('rules')}']\n"
            f"uplink:\n  backoff_min_ms: 100\n  backoff_max_ms: 500\n")
run = ["-c", winpath("agent.yaml"), "--replay", winpath("replay")]


def stored():
    if not os.path.exists("store.jsonl"):
        return []
    return [json.loads(x) for x in open("store.jsonl")]


def encodings():
    return open("store.jsonl.encodings").read().split() if os.path.exists(
        "store.jsonl.encodings") else []


try:
    # 1. Sent, stored by the server, not acknowledged: killed while waiting.
    agent = subprocess.Popen([wine_run, agent_exe, *run, "--run-for", "60"],
                             stdout=subprocess.DEVNULL, stderr=open("agent-1.log", "w"))
    deadline = time.time() + 30
    while len(stored()) < sum(expected.values()) and time.time() < deadline:
        time.sleep(0.2)
    time.sleep(0.5)  # the spool's last commit after the poll
    held = bookmark_ids("state")
    agent.send_signal(signal.SIGKILL)
    agent.wait()
    if len(stored()) != sum(expected.values()):
        failures.append(f"the server got {len(stored())} alerts before the kill, expected "
                        f"{sum(expected.values())}")
    if encodings()[:1] != ["zstd"]:
        failures.append(f"the first batch was not zstd: {encodings()}")
    # Each log's bookmark is before its only record (0) or absent: not acknowledged, held.
    if len(held) != 3 or any(v != 0 for v in held.values()):
        failures.append(f"bookmarks advanced before the acknowledgement: {held}")
    rx.kill()
    rx.wait()

    # 2. The server is back (without zstd): resumed from the held bookmarks, nothing twice.
    rx, _, _ = start_receiver(port=port)
    again = subprocess.run([wine_run, agent_exe, "--once", *run], capture_output=True, text=True,
                           timeout=60, encoding="utf-8", errors="replace")
    open("agent-2.log", "w").write(again.stderr)
    if again.returncode != 0:
        failures.append(f"the run after the kill failed ({again.returncode}): {again.stderr[-600:]}")
    if "3 records read, 3 alerts (3 already spooled or sent)" not in again.stderr:
        failures.append(f"the records were not read again and de-duplicated: {again.stderr[-600:]}")
    if any(x.startswith("{") for x in again.stdout.splitlines()):
        failures.append(f"alerts were spooled again: {again.stdout[:400]}")
    if "switching to gzip" not in again.stderr or encodings()[-1] != "gzip":
        failures.append(f"no fallback to gzip on 415: {encodings()} {again.stderr[-400:]}")
    after = bookmark_ids("state")
    if len(after) != 3 or any(v != 1 for v in after.values()):
        failures.append(f"bookmarks not past the acknowledged records: {after}")

    # 3. Nothing left.
    third = subprocess.run([wine_run, agent_exe, "--once", *run], capture_output=True, text=True,
                           timeout=60, encoding="utf-8", errors="replace")
    if third.returncode != 0 or "0 records read" not in third.stderr:
        failures.append(f"a third run read or failed: {third.stderr[-400:]}")
finally:
    rx.kill()

rows = stored()
seqs = [r["seq"] for r in rows]
got = {}
keys = set()
for r in rows:
    a = json.loads(r["line"])
    got[a["alert"]["signature"]] = got.get(a["alert"]["signature"], 0) + 1
    keys.add((a["winlog"]["source"], a["winlog"]["record_id"], a["alert"]["signature_id"]))
if len(set(seqs)) != len(seqs) or len(keys) != len(rows):
    failures.append(f"the server holds duplicates: seqs {seqs}, {len(keys)} distinct alerts")
if got != expected:
    failures.append(f"the server holds {got}, expected {expected}")
print(f"stored={len(rows)} expected={sum(expected.values())} encodings={encodings()} "
      f"held={held} after={after}")
for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
