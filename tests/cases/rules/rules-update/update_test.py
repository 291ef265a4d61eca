#!/usr/bin/env python3
"""End-to-end check of `mimamori-sensor rules update` and the control socket's reload-rules.

Usage: update_test.py SENSOR ET_OPEN_DIR OUT_DIR. Builds a tar.gz of three ET Open rule files and
classification.config, serves it from a loopback HTTP server (port chosen by the OS), and checks
what the sensor installs, refuses and reloads. Exits non-zero on the first failed check.
"""

import filecmp
import functools
import http.server
import os
import re
import socket
import struct
import subprocess
import sys
import tarfile
import threading
import time

sensor, et_open, out = sys.argv[1], sys.argv[2], os.path.abspath(sys.argv[3])
RULE_FILES = ["emerging-dns.rules", "emerging-icmp.rules", "emerging-web_client.rules"]


def check(cond, what):
    if not cond:
        print("FAILED: " + what)
        sys.exit(1)


def run(*args):
    return subprocess.run([sensor, *args], capture_output=True, text=True, timeout=240)


def build_archive(path, files):
    with tarfile.open(path, "w:gz") as tar:
        for name in files:
            tar.add(os.path.join(et_open, "rules", name), arcname="rules/" + name)
        tar.add(os.path.join(et_open, "classification.config"), arcname="classification.config")


served = os.path.join(out, "served")
os.makedirs(served)
build_archive(os.path.join(served, "et.tar.gz"), RULE_FILES)
with open(os.path.join(served, "et.tar.gz"), "rb") as f:
    data = f.read()
with open(os.path.join(served, "damaged.tar.gz"), "wb") as f:
    f.write(data[: len(data) // 2])  # cut in the middle: gzip and tar both incomplete



class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


handler = functools.partial(QuietHandler, directory=served)
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
threading.Thread(target=server.serve_forever, daemon=True).start()
base = "http://127.0.0.1:%d/" % server.server_address[1]

rules_dir = os.path.join(out, "rules")

# 1. Over HTTP: installed, every file as in the archive.
p = run("rules", "update", "--url", base + "et.tar.gz", "--output", rules_dir)
check(p.returncode == 0, "update over http: exit %d: %s" % (p.returncode, p.stderr))
check(sorted(f for f in os.listdir(rules_dir) if f.endswith(".rules")) == RULE_FILES,
      "installed files: %s" % os.listdir(rules_dir))
for name in RULE_FILES:
    check(filecmp.cmp(os.path.join(rules_dir, name), os.path.join(et_open, "rules", name), False),
          name + " differs from the archive's copy")
m = re.search(r"(\d+) of (\d+) enabled rules load \((\d+) rule files\)", p.stdout)
check(m is not None and int(m.group(1)) > 0, "no load figure in: " + p.stdout)
# The figure agrees with what --rules-check says of the same files.
rc = run("--rules-check", *sum([["-s", os.path.join(rules_dir, f)] for f in RULE_FILES], []))
m2 = re.search(r"(\d+) of (\d+) rules loaded", rc.stdout)
check(m2 is not None and m2.group(1) == m.group(1),
      "update says %s rules load, --rules-check says %s" % (m.group(1), m2 and m2.group(1)))
print("installed: %s rule files, %s rules load" % (m.group(3), m.group(1)))

# 2. A damaged archive and a missing one are refused; the installed rules stay as they were.
before = {f: open(os.path.join(rules_dir, f), "rb").read() for f in os.listdir(rules_dir)}
p = run("rules", "update", "--url", base + "damaged.tar.gz", "--output", rules_dir)
check(p.returncode == 1 and "verify" in p.stderr and "unchanged" in p.stderr,
      "damaged archive: exit %d: %s" % (p.returncode, p.stderr))
after = {f: open(os.path.join(rules_dir, f), "rb").read() for f in os.listdir(rules_dir)}
check(before == after, "the damaged archive changed the installed rules")
print("damaged archive refused, rules unchanged")
p = run("rules", "update", "--url", base + "missing.tar.gz", "--output", rules_dir)
check(p.returncode == 1 and "fetch" in p.stderr and "404" in p.stderr,
      "missing archive: exit %d: %s" % (p.returncode, p.stderr))
check(before == {f: open(os.path.join(rules_dir, f), "rb").read() for f in os.listdir(rules_dir)},
      "the failed fetch changed the installed rules")
print("missing archive refused, rules unchanged")
p = run("rules", "update", "--url", base + "et.tar.gz", "--output", rules_dir,
        "--sha256", "00" * 32)
check(p.returncode == 1 and "SHA-256" in p.stderr, "wrong checksum accepted: " + p.stderr)

# 3. file:// with one rule file less replaces the folder as a whole (swap, not merge).
build_archive(os.path.join(served, "two.tar.gz"), RULE_FILES[:2])
p = run("rules", "update", "--url", "file://" + os.path.join(served, "two.tar.gz"),
        "--output", rules_dir)
check(p.returncode == 0, "file:// update: " + p.stderr)
check(sorted(f for f in os.listdir(rules_dir) if f.endswith(".rules")) == RULE_FILES[:2],
      "after file:// update: %s" % os.listdir(rules_dir))
check(not [f for f in os.listdir(out) if ".new-" in f], "a temporary folder was left behind")
print("file:// installed")

# 4. A running sensor (reading a capture from a pipe that stays open) reloads over its socket.
sock = os.path.join(out, "control.sock")
rule_file = os.path.join(rules_dir, RULE_FILES[0])
proc = subprocess.Popen([sensor, "-r", "-", "-l", out, "--control", sock, "-S", rule_file],
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
proc.stdin.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
proc.stdin.flush()
for _ in range(200):
    if os.path.exists(sock):
        break
    time.sleep(0.05)
check(os.path.exists(sock), "the sensor did not open its control socket")
p = run("--control", sock, "reload-rules")
check(p.returncode == 0 and p.stdout.startswith("ok: "), "reload: %s %s" % (p.stdout, p.stderr))
print("control reload: " + p.stdout.strip())
with open(rule_file, "w") as f:
    f.write("alert tcp any any -> any any (msg:\"broken\"; content:\"x\"; sid:1; rev:1;\n")
p = run("--control", sock, "reload-rules")
check(p.returncode == 1 and p.stdout.startswith("error: rule reload failed"),
      "broken ruleset reload: %s" % p.stdout)
print("control reload of a broken ruleset refused, old rules in force")
proc.stdin.close()
proc.wait(timeout=60)
check(proc.returncode == 0, "the sensor exited with %d" % proc.returncode)
check(not os.path.exists(sock), "the control socket was not removed at exit")
server.shutdown()
print("all rules-update checks passed")
