#!/usr/bin/env python3
"""End to end: one generated capture holding every kind of attack (random hosts and timing) is
read by an enrolled mimamori-sensor that sends its events to a real mimamori-server; after the
server's triage there is one incident per attack of medium or higher severity — of the
catalogue category that explains it, on the customer's own host — and none other.

  server_incidents.py OUT_DIR [SEED]"""

import ipaddress
import os
import random
import subprocess
import sys

here = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, here)
sys.path.insert(0, os.path.join(here, "..", "..", ".."))
import scenarios as sc  # noqa: E402
from traffic import (tls_client_hello, tls_client_hello_fingerprints,  # noqa: E402
                     tls_server_hello)
from server_fixture import Server, enroll  # noqa: E402

# sid -> (severity the sensor gives, catalogue category the server files it under)
CATEGORY = {
    9200101: (3, "scan"), 9200102: (2, "internal_scan"), 9200112: (2, "internal_scan"),
    9200121: (3, "scan"), 9200132: (2, "internal_scan"), 9200201: (2, "password_guessing"),
    9200202: (2, "password_guessing"), 9200210: (1, "login_after_guessing"),
    9200301: (2, "exposed_service"), 9200401: (2, "beaconing"), 9200501: (2, "dns_tunnel"),
    9200502: (2, "dns_tunnel"), 9200601: (1, "lateral_movement"), 9200602: (2, "lateral_movement"),
    9200603: (1, "lateral_movement"), 9200701: (1, "known_bad_file"),
    9200702: (1, "known_bad_file"),
    9200801: (1, "threat_intel"), 9200802: (1, "threat_intel"), 9200803: (1, "threat_intel"),
    9200804: (1, "threat_intel"), 9200901: (2, "cleartext_password"),
    9200902: (3, "cleartext_password_lan"),
}


def internal(a):
    return a is not None and ipaddress.ip_address(a).is_private


def server_indicators(rng, srv, cred, out, t):
    """The provider adds a JA3 fingerprint and an address as threat indicators on the server;
    the sensor pulls them with its device configuration (written beside its spool) and raises
    the intel alerts on traffic it reads afterwards. Returns the problems."""
    suites = tuple(rng.sample([0xc02b, 0xc02c, 0xc02f, 0xc030, 0xcca9, 0xcca8, 0x009c], 4))
    ja3, _ = tls_client_hello_fingerprints(suites)
    bad_ip = "198.51.100.%d" % rng.randint(2, 250)
    for value in ("ja3:" + ja3.upper(), bad_ip):
        subprocess.run(["mimamori", "admin", "threat", "add", value, "--data-dir", srv.data,
                        "--source", "case"], check=True, capture_output=True)
    spool = os.path.join(out, "spool2")
    listed = os.path.join(out, "server-indicators.txt")
    empty = sc.Scenario(rng, t)
    empty.cap.udp(t, "192.168.1.2", 5353, "224.0.0.251", 5353, b"\0" * 12)
    quiet = os.path.join(out, "quiet.pcap")
    empty.cap.write(quiet)
    # The first start pulls the configuration while it reads a capture of nothing.
    for _ in range(3):
        subprocess.run(["mimamori-sensor", "-r", quiet, "-l", out, "-k", "none", "--credential",
                        cred, "--spool-dir", spool], capture_output=True, text=True)
        if os.path.exists(listed) and ja3 in open(listed).read():
            break
    else:
        return ["server indicators: %s never held the server's JA3 indicator" % listed]
    s = sc.Scenario(rng, t + 60)
    pc = s.net.internal()
    sc.Session(s.cap, s.t, pc, s.eport(), bad_ip, 8443).handshake().close(0.1)
    srv_ip = s.net.external()
    sess = sc.Session(s.cap, s.t + 5, pc, s.eport(), srv_ip, 443).handshake()
    sess.send(tls_client_hello("cdn.example.com", rng, suites), 0.01)
    sess.reply(tls_server_hello(rng), 0.03).close(0.1)
    s.want("intel_ip", pc, bad_ip)
    s.want("intel_tls", pc, srv_ip)
    pcap = os.path.join(out, "listed.pcap")
    s.cap.write(pcap)
    logdir = os.path.join(out, "eve-listed")
    os.makedirs(logdir, exist_ok=True)
    r = subprocess.run(["mimamori-sensor", "-r", pcap, "-l", logdir, "-k", "none", "--credential",
                        cred, "--spool-dir", spool], capture_output=True, text=True)
    if r.returncode != 0:
        return ["server indicators: mimamori-sensor failed (%d): %s" % (r.returncode,
                                                                        r.stderr[-1000:])]
    problems, n = sc.check(os.path.join(logdir, "eve.json"), s)
    print("server indicators: %d intel alerts from the server's JA3 and address" % n)
    return ["server indicators: " + p for p in problems]


def main():
    out = os.path.abspath(sys.argv[1])
    seed = int(sys.argv[2]) if len(sys.argv) > 2 else random.SystemRandom().randint(1, 10 ** 6)
    rng = random.Random(seed)
    print("seed %d" % seed)
    # A day's bucket of the server's incident window holds the whole capture.
    t0 = (1_700_000_000 // 86400 + rng.randint(0, 300)) * 86400 + 3600
    s = sc.Scenario(rng, t0)
    for name in ["scan", "guess", "exposed", "beacon", "dns", "lateral", "files", "intel",
                 "cleartext"]:
        fn = sc.SCENARIOS[name]
        fn(s, out) if name in ("files", "intel") else fn(s)
        s.t += 900
    pcap = os.path.join(out, "capture.pcap")
    packets = s.cap.write(pcap)
    srv = Server(os.path.join(out, "server-data"))
    url, fingerprint = srv.start()
    failures = []
    cred = os.path.join(out, "sensor.credential")
    device = enroll("mimamori-sensor", url, srv.enroll_code(), cred, fingerprint, failures)
    logdir = os.path.join(out, "eve")
    os.makedirs(logdir, exist_ok=True)
    r = subprocess.run(["mimamori-sensor", "-r", pcap, "-l", logdir, "-k", "none", "--credential",
                        cred, "--spool-dir", os.path.join(out, "spool")] + s.sensor_args,
                       capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit("mimamori-sensor failed (%d): %s" % (r.returncode, r.stderr[-2000:]))
    problems, n = sc.check(os.path.join(logdir, "eve.json"), s)
    failures += ["sensor: " + p for p in problems]
    # Wait for the server to have stored every alert.
    import time
    deadline = time.time() + 60
    while time.time() < deadline:
        stored = sum(1 for d, _, t, _ in srv.events() if d == device and t == "alert")
        if stored >= n:
            break
        time.sleep(0.5)
    time.sleep(1)
    expected = set()
    for e in s.expect:
        severity, category = CATEGORY[e["sid"]]
        if severity > 2:
            continue  # low: an alert row, no incident
        # The server files an alert under the customer's own address in it (the source first).
        for al in e.get("alerts", []):
            src, dst = al["src_ip"], al["dest_ip"]
            expected.add((category, src if internal(src) else dst))
    rows = srv.query("SELECT category, host, alert_count FROM incidents WHERE category != "
                     "'monitoring_stopped'")
    got = {(c, h) for c, h, _ in rows}
    if len(rows) != len(got):
        failures.append("several incidents of one category and host: %s" % rows)
    for k in sorted(expected - got):
        failures.append("no incident %s on %s" % k)
    for k in sorted(got - expected):
        failures.append("unexpected incident %s on %s" % k)
    failures += server_indicators(rng, srv, cred, out, t0 + 86400 * 2)
    srv.kill(15)
    print("capture: %d packets, %d behaviour alerts; incidents: %d (expected %d)" % (
        packets, n, len(rows), len(expected)))
    for c, h, cnt in sorted(rows):
        print("  %-22s %-16s %d alert(s)" % (c, h, cnt))
    if failures:
        for f in failures:
            print("FAIL: " + f)
        return 1
    print("one incident per attack, as expected")
    return 0


if __name__ == "__main__":
    sys.exit(main())
