#!/usr/bin/env python3
"""End-to-end checks of mimamori-sensor's inputs and outputs that the data-driven cases cannot
express: live capture on the loopback interface (stopped by SIGINT), EVE to a Unix socket the
test listens on, size-based rotation, `-r -` and a directory of captures read in order.

Every check compares with a plain run of the same capture to a file, so it fails if records
are lost, split or reordered. Live capture needs root (or CAP_NET_RAW): without it the live
check prints SKIP and passes.

Usage: sensor_io_test.py --bin BUILD/bin [--corpus DIR] [--only NAME]
"""

import argparse
import collections
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

# A capture with many DNS records (a DNS tunnel: 150+ transactions), and two small ones.
DNS_PCAP = "suricata-verify/tests/dns/bug-1158/input.pcap"
IRC_PCAP = "suricata-verify/tests/irc/input.pcap"
PPPOE_PCAP = "suricata-verify/tests/bug-4810/pppoe-session-http.pcap"


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def read_records(path):
    """Parses a JSON-lines file; a line that is not one whole JSON object is a failure."""
    out = []
    with open(path, "rb") as f:
        data = f.read()
    check(data == b"" or data.endswith(b"\n"), f"{path} does not end with a newline")
    for n, line in enumerate(data.splitlines(), 1):
        try:
            rec = json.loads(line)
        except ValueError:
            raise Failure(f"{path}:{n} is not a whole JSON record: {line[:120]!r}")
        check(isinstance(rec, dict), f"{path}:{n} is not an object")
        out.append(rec)
    return out


def without_stats(records):
    """The records a run writes from the capture, comparable across runs: the stats record
    (it carries the wall clock) is left out, and flow ids (seeded per run) become the order
    in which each id first appears."""
    ids = {}
    out = []
    for r in records:
        if r.get("event_type") == "stats":
            continue
        r = dict(r)
        if "flow_id" in r:
            r["flow_id"] = ids.setdefault(r["flow_id"], len(ids))
        out.append(json.dumps(r, sort_keys=True))
    return out


def run_sensor(binary, args, cwd, timeout=120, stdin=None):
    p = subprocess.run([binary] + args, cwd=cwd, capture_output=True, text=True,
                       errors="replace", timeout=timeout, stdin=stdin)
    if p.returncode != 0:
        raise Failure(f"exit {p.returncode}: {' '.join(args)}\n{p.stderr[-600:]}")
    return p


def reference(binary, pcap, tmp):
    out = os.path.join(tmp, "ref")
    os.makedirs(out, exist_ok=True)
    run_sensor(binary, ["-r", pcap, "-l", out], tmp)
    return read_records(os.path.join(out, "eve.json"))


def test_unix_socket(binary, corpus, tmp):
    pcap = os.path.join(corpus, DNS_PCAP)
    ref = reference(binary, pcap, tmp)
    path = os.path.join(tmp, "eve.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    srv.settimeout(60)
    got = bytearray()

    def reader():
        conn, _ = srv.accept()
        with conn:
            while True:
                chunk = conn.recv(65536)
                if not chunk:
                    break
                got.extend(chunk)

    t = threading.Thread(target=reader)
    t.start()
    run_sensor(binary, ["-r", pcap, "--set", "outputs.eve.filetype=unix_stream",
                        "--set", f"outputs.eve.filename={path}"], tmp)
    t.join(60)
    srv.close()
    sock_file = os.path.join(tmp, "from-socket.json")
    with open(sock_file, "wb") as f:
        f.write(got)
    recs = read_records(sock_file)
    check(without_stats(recs) == without_stats(ref),
          f"socket records differ from the file run ({len(recs)} vs {len(ref)} records)")
    check(recs[-1].get("event_type") == "stats", "the last record on the socket is not stats")
    n = sum(1 for r in recs if r.get("event_type") == "dns")
    check(n > 100, f"only {n} dns records")
    return f"{len(recs)} records over the socket, identical to the file run"


def test_rotation(binary, corpus, tmp):
    pcap = os.path.join(corpus, DNS_PCAP)
    ref = reference(binary, pcap, tmp)
    out = os.path.join(tmp, "rot")
    os.makedirs(out)
    limit = 4096
    run_sensor(binary, ["-r", pcap, "-l", out, "--set", f"outputs.eve.rotate-size={limit}",
                        "--set", "outputs.eve.rotate-keep=1000"], tmp)
    files = glob.glob(os.path.join(out, "eve.json*"))
    check(len(files) >= 4, f"expected several files with a {limit}-byte limit, got {files}")
    # eve.json.N is older than eve.json.N-1; eve.json is the newest.
    def age(p):
        suffix = p.rsplit("eve.json", 1)[1]
        return int(suffix[1:]) if suffix else 0
    ordered = sorted(files, key=age, reverse=True)
    recs = []
    for p in ordered:
        part = read_records(p)
        check(part, f"{p} is empty")
        size = os.path.getsize(p)
        # A file is closed before a write would take it past the limit, unless one write
        # alone is larger (then it holds just that write).
        check(size <= limit or len(part) == 1, f"{p}: {size} bytes over the {limit} limit")
        recs += part
    check(without_stats(recs) == without_stats(ref),
          f"rotated files hold {len(recs)} records, the plain run {len(ref)}, or order differs")
    return f"{len(files)} files, {len(recs)} records, none split, lost or reordered"


def test_stdin(binary, corpus, tmp):
    pcap = os.path.join(corpus, DNS_PCAP)
    ref = reference(binary, pcap, tmp)
    out = os.path.join(tmp, "stdin")
    os.makedirs(out)
    with open(pcap, "rb") as f:
        run_sensor(binary, ["-r", "-", "-l", out], tmp, stdin=f)
    recs = read_records(os.path.join(out, "eve.json"))
    check(without_stats(recs) == without_stats(ref), "records read from stdin differ")
    return f"{len(recs)} records, identical to reading the file"


def test_directory_order(binary, corpus, tmp):
    caps = os.path.join(tmp, "caps")
    os.makedirs(caps)
    # Names sort opposite to the order the files were made in: reading is by name.
    os.symlink(os.path.join(corpus, IRC_PCAP), os.path.join(caps, "a.pcap"))
    os.symlink(os.path.join(corpus, PPPOE_PCAP), os.path.join(caps, "b.pcap"))
    out = os.path.join(tmp, "dir")
    os.makedirs(out)
    run_sensor(binary, ["-r", caps, "-l", out], tmp)
    recs = read_records(os.path.join(out, "eve.json"))
    first = reference(binary, os.path.join(corpus, IRC_PCAP), os.path.join(tmp, "r1"))
    os.makedirs(os.path.join(tmp, "r2"))
    second = reference(binary, os.path.join(corpus, PPPOE_PCAP), os.path.join(tmp, "r2"))
    n_first = next(r for r in first if r.get("event_type") == "stats")["stats"]["decoder"]["pkts"]
    # The http record of b.pcap: its packet number continues after a.pcap's packets.
    http_alone = [r for r in second if r.get("event_type") == "http"]
    http_dir = [r for r in recs if r.get("event_type") == "http"]
    check(len(http_alone) == 1 and len(http_dir) == 1, "expected one http record")
    check(http_dir[0]["pcap_cnt"] == http_alone[0]["pcap_cnt"] + n_first,
          f"pcap_cnt {http_dir[0]['pcap_cnt']} is not {http_alone[0]['pcap_cnt']} + {n_first}")
    # Every flow of a.pcap ends before b.pcap's start (timestamps of the two files do not
    # overlap), so a.pcap's flow records come first when files are read in name order.
    flows = [r for r in recs if r.get("event_type") == "flow"]
    check(len(flows) == 2, f"expected 2 flow records, got {len(flows)}")
    check(flows[0]["src_ip"] == [r for r in first if r.get("event_type") == "flow"][0]["src_ip"],
          "the flows are not in file order")
    return f"pcap_cnt continues across files ({n_first} + {http_alone[0]['pcap_cnt']})"


def can_capture_lo():
    if os.geteuid() != 0:
        return "not root"
    try:
        s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
        s.close()
    except (PermissionError, OSError) as e:
        return f"no capture permission ({e})"
    return None


def dns_query(name, qid):
    q = qid.to_bytes(2, "big") + b"\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00"
    for label in name.split("."):
        q += bytes([len(label)]) + label.encode()
    return q + b"\x00\x00\x01\x00\x01"


def test_live(binary, corpus, tmp):
    why = can_capture_lo()
    if why:
        return f"SKIP: {why}"
    # A UDP port nobody listens on, chosen by the OS; queries to it still cross `lo`.
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    out = os.path.join(tmp, "live")
    os.makedirs(out)
    p = subprocess.Popen([binary, "-i", "lo", "--bpf", f"udp and dst port {port}", "-l", out],
                         cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)  # the capture handle opens before the first packet is sent
        if p.poll() is not None:
            raise Failure(f"sensor exited early: {p.stderr.read()}")
        names = [f"live{i}.mimamori.test" for i in range(5)]
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        for i, name in enumerate(names):
            s.sendto(dns_query(name, 0x1000 + i), ("127.0.0.1", port))
            time.sleep(0.05)
        s.close()
        time.sleep(1.0)
        p.send_signal(signal.SIGINT)
        stdout, stderr = p.communicate(timeout=30)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    check(p.returncode == 0, f"exit {p.returncode} after SIGINT: {stderr[-400:]}")
    check("stopped by signal" in stderr, "no clean-stop message after SIGINT")
    recs = read_records(os.path.join(out, "eve.json"))
    if os.environ.get("SENSOR_IO_DEBUG"):
        print(stdout, stderr, json.dumps(recs, indent=1)[:3000])
    got = collections.Counter(
        q["rrname"] for r in recs if r.get("event_type") == "dns"
        for q in r["dns"].get("queries", []))
    for name in names:
        check(got[name] == 1, f"dns request for {name} logged {got[name]} times")
    # Flushed on exit: the flow (still open at SIGINT) and the final stats record are there.
    flows = [r for r in recs if r.get("event_type") == "flow" and r.get("dest_port") == port]
    check(len(flows) == 1 and flows[0]["flow"]["pkts_toserver"] == 5,
          f"expected one flow of 5 packets to port {port}: {flows}")
    check(recs[-1].get("event_type") == "stats", "the stats record was not written last")
    check(recs[-1]["stats"]["decoder"]["pkts"] == 5, "the BPF filter let other packets in")
    return f"5 DNS queries captured on lo, flow and stats flushed at SIGINT"


TESTS = {
    "unix-socket": test_unix_socket,
    "rotation": test_rotation,
    "stdin": test_stdin,
    "directory-order": test_directory_order,
    "live-lo": test_live,
}


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--corpus", default=None)
    ap.add_argument("--only", default=None)
    args = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    corpus = args.corpus or os.path.join(here, "..", "..", "shared", "corpus")
    binary = os.path.join(os.path.abspath(args.bin), "mimamori-sensor")
    failed = 0
    for name, fn in TESTS.items():
        if args.only and name != args.only:
            continue
        tmp = tempfile.mkdtemp(prefix=f"mimamori-io-{name}-")
        try:
            print(f"ok   {name}: {fn(binary, corpus, tmp)}")
        except (Failure, subprocess.TimeoutExpired, StopIteration, KeyError) as e:
            failed += 1
            print(f"FAIL {name}: {type(e).__name__}: {e}")
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
