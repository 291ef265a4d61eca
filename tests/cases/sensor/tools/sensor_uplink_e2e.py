#!/usr/bin/env python3
"""The sensor's uplink end to end against the real mimamori-server on loopback.

1. Enroll a sensor with a real enrollment code (credential mode 0600, the server's fingerprint
   pinned); replay corpus captures with a rule file that fires, writing eve.json and sending
   through the spool; the server must store exactly the events of the sent types that eve.json
   holds (same records, count by type, sequence numbers 1..n, no duplicates), and a heartbeat.
2. Enroll a second sensor; replay the same captures paced (--pps) and SIGKILL the sensor (and
   once the server) mid-replay several times, restarting each time; a last replay runs to the
   end. A killed sensor loses what it had not yet committed to its spool (it cannot know where
   it was in the capture), but what it committed must arrive exactly once: the stored records,
   in sequence order, must be prefixes of the full replay (one per killed run) followed by the
   full replay itself, with sequence numbers 1..n without gaps.

Usage: sensor_uplink_e2e.py OUT_DIR CASE_DIR CORPUS_DIR KILLS"""
import collections
import glob
import json
import os
import random
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", ".."))
from server_fixture import Server, enroll  # noqa: E402

out, case, corpus, kills = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
os.chdir(out)
failures = []
SENT = ["alert", "anomaly", "flow", "dns", "http", "tls", "ssh", "stats"]

# The captures: a folder of links to corpus files (read in name order), so one replay covers
# DNS, HTTP and TLS traffic.
inputs = os.path.join(out, "captures")
os.makedirs(inputs)
for i, rel in enumerate(open(os.path.join(case, "captures.txt")).read().split()):
    os.symlink(os.path.join(corpus, rel), os.path.join(inputs, f"{i:02d}.pcap"))
rules = os.path.join(case, "test.rules")

srv = Server(os.path.join(out, "server-data"))
url, fingerprint = srv.start()


def enroll_sensor(name):
    cred = os.path.join(out, "etc", name + ".credential")
    device = enroll("mimamori-sensor", url, srv.enroll_code(), cred, fingerprint, failures)
    if "kind: \"sensor\"" not in open(cred).read():
        failures.append("the credential does not say it belongs to a sensor")
    return cred, device


def sensor_args(cred, spool, logdir, *extra):
    return ["mimamori-sensor", "-r", inputs, "-S", rules, "-l", logdir, "--credential", cred,
            "--spool-dir", spool, "--set", "uplink.backoff_min_ms=100",
            "--set", "uplink.backoff_max_ms=1000", *extra]


def stored(device):
    return [(seq, t, raw) for d, seq, t, raw in srv.events() if d == device]


def normal(line):
    """A record without what differs between two replays of the same captures."""
    ev = json.loads(line)
    ev.pop("flow_id", None)
    return json.dumps(ev, sort_keys=True, ensure_ascii=False)


def check_seqs(rows, what):
    seqs = [r[0] for r in rows]
    if seqs != list(range(1, len(seqs) + 1)):
        failures.append(f"{what}: sequence numbers are not 1..{len(seqs)} without gaps")


# 1. One replay to the end: the server holds what eve.json holds, of the sent types.
cred1, dev1 = enroll_sensor("sensor-1")
os.makedirs("run1")
r = subprocess.run(sensor_args(cred1, "spool-1", "run1"), capture_output=True, text=True,
                   timeout=120)
if r.returncode != 0:
    sys.exit(f"mimamori-sensor failed ({r.returncode}): {r.stderr}")
eve = [line for line in open("run1/eve.json", encoding="utf-8") if line.strip()]
expected = collections.Counter()
eve_records = collections.Counter()
for line in eve:
    t = json.loads(line)["event_type"]
    if t in SENT:
        expected[t] += 1
        eve_records[line.rstrip("\n")] += 1
rows = stored(dev1)
got = collections.Counter(r[1] for r in rows)
server_records = collections.Counter(r[2] for r in rows)
check_seqs(rows, "first sensor")
if server_records != eve_records:
    missing = sum((eve_records - server_records).values())
    extra = sum((server_records - eve_records).values())
    failures.append(f"first sensor: {missing} records of eve.json not stored, {extra} stored "
                    "records not in eve.json")
if expected["alert"] == 0:
    failures.append("the rules did not fire: no alert to send")
hb = srv.query(f"SELECT last_heartbeat FROM devices WHERE id = '{dev1}'")
if not hb or not hb[0][0] or json.loads(hb[0][0]).get("version") != "0.1.0":
    failures.append(f"no heartbeat with the version from the first sensor: {hb}")
print("types " + " ".join(f"{t}={got[t]}/{expected[t]}" for t in SENT))
print(f"stored={len(rows)} eve={sum(expected.values())} "
      f"duplicates={sum(n - 1 for n in server_records.values() if n > 1)}")

# The reference sequence for part 2: the same replay's records except stats (their counters
# depend on timing), in the order the sensor wrote them.
reference = [normal(line) for line in eve if json.loads(line)["event_type"] in SENT
             and json.loads(line)["event_type"] != "stats"]
not_stats = "uplink.event_types=[" + ",".join(t for t in SENT if t != "stats") + "]"

# 2. Killed mid-replay, repeatedly.
cred2, dev2 = enroll_sensor("sensor-2")
pps = int(sys.argv[5]) if len(sys.argv) > 5 else 2000
random.seed(11)
log = open("sensor-2.log", "a")
killed_server = False
for k in range(kills):
    os.makedirs(f"kill{k}")
    p = subprocess.Popen(sensor_args(cred2, "spool-2", f"kill{k}", "--pps", str(pps),
                                     "--set", not_stats), stdout=log, stderr=log)
    time.sleep(random.uniform(0.8, 2.5))
    if not killed_server and k == kills // 2:
        srv.kill(signal.SIGKILL)  # the server dies too; the sensor keeps spooling
        time.sleep(0.3)
        srv.start()
        killed_server = True
    if p.poll() is not None:
        failures.append(f"replay {k} ended before it was killed: raise the pacing's length")
    p.send_signal(signal.SIGKILL)
    p.wait()
os.makedirs("final")
r = subprocess.run(sensor_args(cred2, "spool-2", "final", "--set", not_stats), capture_output=True,
                   text=True, timeout=120)
if r.returncode != 0:
    sys.exit(f"mimamori-sensor (last replay) failed ({r.returncode}): {r.stderr}")
rows = stored(dev2)
check_seqs(rows, "killed sensor")
seq_records = [normal(r[2]) for r in rows]
if any(r[1] == "stats" for r in rows):
    failures.append("stats records were sent although uplink.event_types left them out")

# Which positions can start a run: 0, and every end of a prefix of the reference that starts at
# a reachable position. The records must end with the whole reference.
n, m = len(seq_records), len(reference)
reachable = [False] * (n + 1)
reachable[0] = True
prefixes = 0
for i in range(n - m + 1 if n >= m else 0):
    if not reachable[i]:
        continue
    k = 0
    while i + k < n and k < m and seq_records[i + k] == reference[k]:
        k += 1
        reachable[i + k] = True
complete = n >= m and reachable[n - m] and seq_records[n - m:] == reference
if not complete:
    failures.append(f"killed sensor: the {n} stored records are not prefixes of the replay's "
                    f"{m} records followed by the whole replay")
dups = collections.Counter(r[0] for r in rows)
print(f"kills={kills} replay={m} stored={n} from_killed_runs={n - m} "
      f"complete_last_replay={'yes' if complete else 'no'} "
      f"duplicate_seqs={sum(1 for c in dups.values() if c > 1)}")
srv.kill(signal.SIGTERM)
for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
