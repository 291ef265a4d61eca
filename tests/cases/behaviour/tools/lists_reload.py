#!/usr/bin/env python3
"""The behaviour lists are reloaded while the sensor runs, without a restart and without losing
packets: a sensor reads a capture from standard input; before the lists change, a PC talks to an
address and downloads a file, and nothing is raised; then the indicator list gains the address
and the hash list the file's hash (by SIGHUP, or by the periodic check of the files' times);
the same traffic again raises one intel and one known-bad-file alert, and every packet
written is counted by the sensor. A list made unreadable keeps the lists in use.

  lists_reload.py --bin BUILD/bin [--trigger sighup|interval]"""

import argparse
import datetime
import hashlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from traffic import Capture, Session  # noqa: E402

INTEL_IP, BAD_FILE = 9200801, 9200701


def phase(rng, t, pc, server, body):
    cap = Capture()
    sess = Session(cap, t, pc, rng.randint(30000, 60000), server, 80).handshake()
    sess.send(b"GET /tool.exe HTTP/1.1\r\nHost: dl.example.com\r\n\r\n", 0.01)
    sess.send(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body, 0.05,
              to_server=False)
    sess.close(0.1)
    return cap


def frames(cap, path):
    """The capture as pcap bytes: (global header, records, number of records)."""
    n = cap.write(path)
    data = open(path, "rb").read()
    return data[:24], data[24:], n


def wait_for(pred, timeout):
    end = time.time() + timeout
    while time.time() < end:
        if pred():
            return True
        time.sleep(0.1)
    return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("--trigger", choices=["sighup", "interval"], default="sighup")
    args = ap.parse_args()
    rng = random.Random()
    d = tempfile.mkdtemp(prefix="lists-reload-")
    pc = "192.168.%d.%d" % (rng.randint(0, 254), rng.randint(2, 250))
    server = "%d.%d.%d.%d" % (rng.randint(11, 99), rng.randint(0, 255), rng.randint(0, 255),
                              rng.randint(1, 254))
    body = bytes(rng.getrandbits(8) for _ in range(rng.randint(2000, 20000)))
    intel, hashes = os.path.join(d, "indicators.txt"), os.path.join(d, "hashes.txt")
    with open(intel, "w") as f:
        f.write("# nothing listed yet\n203.0.113.250\n")
    with open(hashes, "w") as f:
        f.write("# nothing listed yet\n")
    t0 = 1.7e9 + rng.randint(0, 10 ** 6)
    head, first, n1 = frames(phase(rng, t0, pc, server, body), os.path.join(d, "a.pcap"))
    _, second, n2 = frames(phase(rng, t0 + 60, pc, server, body), os.path.join(d, "b.pcap"))
    interval = "1" if args.trigger == "interval" else "0"
    cmd = [os.path.join(args.bin, "mimamori-sensor"), "-r", "-", "-l", d, "-k", "none",
           "--set", "outputs.eve.flow=false", "--set", "behaviour.intel.lists=[%s]" % intel,
           "--set", "behaviour.files.hash-lists=[%s]" % hashes,
           "--set", "behaviour.intel.reload-interval=" + interval]
    log = open(os.path.join(d, "sensor.log"), "w+")
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=log)
    problems = []

    def logged(text):
        log.flush()
        return text in open(log.name).read()

    def reloads():
        log.flush()
        return open(log.name).read().count("lists reloaded")

    def reload_and_wait():
        before = reloads()
        if args.trigger == "sighup":
            proc.send_signal(signal.SIGHUP)
        return wait_for(lambda: reloads() > before, 10)

    proc.stdin.write(head + first)
    proc.stdin.flush()
    # The lists are read at start: wait for that (seconds on a slow or sanitized build).
    if not wait_for(lambda: logged("%s: 0 file hashes" % hashes), 60):
        problems.append("the sensor did not report loading the hash list within 60 s")
    time.sleep(0.5)
    # An unreadable list: the lists in use stay.
    os.rename(hashes, hashes + ".away")
    os.mkdir(hashes)
    if args.trigger == "sighup":
        proc.send_signal(signal.SIGHUP)
    if not wait_for(lambda: logged("lists not reloaded, the ones loaded before stay in use"), 10):
        problems.append("an unreadable hash list was not reported")
    if reloads():
        problems.append("the lists were replaced although a file could not be read")
    os.rmdir(hashes)
    os.rename(hashes + ".away", hashes)
    with open(intel, "a") as f:
        f.write("%s\n" % server)
    with open(hashes, "w") as f:
        f.write("%s tool.exe\n" % hashlib.sha256(body).hexdigest())
    if not reload_and_wait():
        problems.append("no 'lists reloaded' in the log within 10 s")
    proc.stdin.write(second)
    proc.stdin.close()
    out = proc.stdout.read()
    proc.wait(timeout=60)
    if proc.returncode != 0:
        problems.append("mimamori-sensor exited %d" % proc.returncode)
    alerts = []
    with open(os.path.join(d, "eve.json")) as f:
        for line in f:
            r = json.loads(line)
            if r["event_type"] == "alert":
                alerts.append((r["alert"]["signature_id"], r["timestamp"]))
    intel_hits = [a for a in alerts if a[0] == INTEL_IP]
    file_hits = [a for a in alerts if a[0] == BAD_FILE]
    if len(intel_hits) != 1:
        problems.append("intel alerts: %d, expected 1 (after the reload only)" % len(intel_hits))
    if len(file_hits) != 1:
        problems.append("known-bad file alerts: %d, expected 1" % len(file_hits))
    for sid, ts in intel_hits + file_hits:
        at = datetime.datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
        if at < t0 + 30:
            problems.append("alert %d at %s: in the part before the lists changed" % (sid, ts))
    summary = out.decode(errors="replace")
    if "stdin: %d packets," % (n1 + n2) not in summary and " %d packets," % (n1 + n2) not in summary:
        problems.append("the sensor did not count the %d packets written: %s" % (
            n1 + n2, summary.strip()[:300]))
    print("alerts: %s" % alerts)
    if problems:
        for p in problems:
            print("FAIL: " + p)
        print("kept in " + d)
        return 1
    print("lists reloaded while running (%s): 1 intel and 1 file alert, after the change only"
          % args.trigger)
    shutil.rmtree(d, True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
