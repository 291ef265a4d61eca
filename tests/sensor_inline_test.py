#!/usr/bin/env python3
"""mimamori-sensor inline (-q) on a real gateway: three network namespaces — client, gateway,
server — joined by veth pairs; the gateway routes between them and queues every forwarded
packet to the sensor's two workers (-q 0:1) with iptables-legacy's NFQUEUE target,
--queue-balance and --queue-bypass, beside the
rules that drop a flow the sensor marked (docs in README, "Inline protection").

Checks, in order:
  - ordinary requests (downloads and an upload) pass byte for byte;
  - a request with a rule's content (a `reject` rule) never reaches the server and the client
    sees a reset, over IPv4 and IPv6; its alert says `action: blocked`;
  - a deny-list address (ips-policy.deny) is refused with a reset; a UDP flow to it gets an
    ICMP unreachable and its later datagrams are dropped by the kernel (the connmark rule
    counts them, the sensor never sees them);
  - a TCP connection whose request an app-layer `drop` rule matches is dropped as a flow: the
    client's retransmissions are dropped by the kernel's connmark rule, not by the sensor;
  - an allow-listed address passes even with the blocked content (the alert says `allowed`);
  - SIGKILL of the sensor does not cut the line (--queue-bypass);
  - a stalled detection (the test-only nfq.test.stall-* option) is bypassed by the watchdog
    within the configured time, and blocking resumes afterwards;
  - a restarted sensor blocks again, and again after a rule reload (--control); the stats
    record counts verdicts and the fail-open event, and so do the heartbeats a real
    mimamori-server (in the gateway namespace) stored for the sensor (`ips`);
  - a restart by SIGTERM (as systemctl restart) in the middle of a download: the download
    completes byte for byte, and the new sensor blocks;
  - when the sensor reads no packets (a test-only stall) and the queue is full, the kernel
    accepts the rest (the queue's fail-open flag): a request passes long before the stall ends.

Needs root, network namespaces and iptables-legacy; without them it prints SKIP and exits 77.
The namespaces are removed whatever happens.

Usage: sensor_inline_test.py --bin BUILD/bin
"""

import argparse
import ctypes
import hashlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import server_fixture  # noqa: E402

SKIP = 77
BLOCK = b"MIMAMORI-BLOCK-ME"
STALL = b"MIMAMORI-STALL"
PORT = 8080
CLIENT, GW_C, GW_S, SERVER = "10.66.1.2", "10.66.1.1", "10.66.2.1", "10.66.2.2"
DENIED, ALLOWED = "10.66.2.3", "10.66.2.4"
# More addresses of the server: the kernel's --queue-balance hashes the addresses (not the
# ports), so requests to these spread over both queues whatever the kernel's hash seed.
SPREAD = [f"10.66.2.{10 + i}" for i in range(12)]
CLIENT6, GW_C6, GW_S6, SERVER6 = "fd00:66:1::2", "fd00:66:1::1", "fd00:66:2::1", "fd00:66:2::2"
WATCHDOG_MS, STALL_MS = 300, 3000
RECEIVER_STALL_MS = 2000

RULES = (
    'reject tcp any any -> any 8080 (msg:"inline test: blocked content"; flow:to_server; '
    'content:"MIMAMORI-BLOCK-ME"; sid:9100001; rev:1;)\n'
    'alert tcp any any -> any 8080 (msg:"inline test: stall marker"; content:"MIMAMORI-STALL"; '
    "sid:9100002; rev:1;)\n"
    # Only alerts; the policy's drop-categories makes it block (and the flow is marked).
    'alert udp any any -> any 9999 (msg:"inline test: udp marker"; content:"MIMAMORI-UDP-DROP"; '
    "classtype:trojan-activity; sid:9100003; rev:1;)\n"
    # An app-layer drop rule: it drops the flow, whose later packets the kernel drops.
    'drop http any any -> any any (msg:"inline test: flow drop by uri"; flow:to_server; '
    'http.uri; content:"/flowdrop"; sid:9100004; rev:1;)\n'
)
DROP_CATEGORY = "A Network Trojan was detected"


class Failure(Exception):
    pass


def check(cond, what):
    if not cond:
        raise Failure(what)


def body_for(path, size):
    """The deterministic body the server sends for `path`."""
    out = bytearray()
    seed = path.encode()
    while len(out) < size:
        seed = hashlib.sha256(seed).digest()
        out += seed
    return bytes(out[:size])


# --- the server and client sides (run inside their namespaces) -----------------------------


def serve(log_path):
    """A small HTTP/1.0 server: logs each request (line, body hash) and answers GET /N/... with
    N deterministic bytes."""
    import socketserver

    class Handler(socketserver.StreamRequestHandler):
        def handle(self):
            try:
                self.answer()
            except ConnectionError:
                pass  # a reset request: nothing reached the server

        def answer(self):
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = self.request.recv(65536)
                if not chunk:
                    break
                data += chunk
            head, _, rest = data.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length":
                    length = int(v)
            while len(rest) < length:
                chunk = self.request.recv(65536)
                if not chunk:
                    break
                rest += chunk
            with open(log_path, "ab") as f:
                f.write(
                    json.dumps(
                        {
                            "head": head.decode("latin-1"),
                            "body_sha": hashlib.sha256(rest).hexdigest(),
                            "body_len": len(rest),
                        }
                    ).encode()
                    + b"\n"
                )
            if not head:
                return
            path = head.split(b" ")[1].decode()
            parts = path.split("/")
            # /slow/N/...: N bytes, at about 0.6 MB/s while the file HOLD exists, then at once
            slow = parts[1] == "slow"
            size = int(parts[2 if slow else 1]) if parts[2 if slow else 1].isdigit() else 10
            body = body_for(path, size)
            self.request.sendall(b"HTTP/1.0 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body))
            step = 32768 if slow else len(body) or 1
            for at in range(0, len(body), step):
                self.request.sendall(body[at:at + step])
                if slow and os.path.exists(log_path + ".hold"):
                    time.sleep(0.05)

    class Server(socketserver.ThreadingTCPServer):
        allow_reuse_address = True
        daemon_threads = True
        address_family = socket.AF_INET6

        def server_bind(self):  # IPv4 and IPv6 on one socket
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
            super().server_bind()

    def udp_echo():
        u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        u.bind(("0.0.0.0", 9999))
        while True:
            data, peer = u.recvfrom(2048)
            with open(log_path, "ab") as f:
                f.write(json.dumps({"head": "UDP " + data.decode("latin-1")}).encode() + b"\n")
            u.sendto(data, peer)

    import threading

    threading.Thread(target=udp_echo, daemon=True).start()
    with Server(("::", PORT), Handler) as s:
        s.serve_forever()


CLONE_NEWNET = 0x40000000
_libc = ctypes.CDLL(None, use_errno=True)


def socket_in(ns, kind, family=socket.AF_INET):
    """A socket of network namespace `ns`, made by this thread (which enters the namespace for
    the moment and goes back): cheaper than a process per request."""
    own = os.open("/proc/thread-self/ns/net", os.O_RDONLY)
    target = os.open(f"/var/run/netns/{ns}", os.O_RDONLY)
    try:
        if _libc.setns(target, CLONE_NEWNET) != 0:
            raise Failure(f"setns {ns}: {os.strerror(ctypes.get_errno())}")
        try:
            return socket.socket(family, kind)
        finally:
            if _libc.setns(own, CLONE_NEWNET) != 0:
                raise Failure(f"setns back: {os.strerror(ctypes.get_errno())}")
    finally:
        os.close(own)
        os.close(target)


def client(ns, host, path, extra="", upload=0, timeout=5.0):
    """One HTTP request from namespace `ns`: a dict with the result (ok with the body's hash,
    reset, refused, timeout) and the seconds it took."""
    body = body_for("upload" + path, upload) if upload else b""
    req = f"GET {path} HTTP/1.0\r\nHost: {host}\r\n".encode()
    if extra:
        req += extra.encode() + b"\r\n"
    if body:
        req += b"Content-Length: %d\r\n" % len(body)
    req += b"\r\n" + body
    t0 = time.monotonic()
    result = {}
    s = socket_in(ns, socket.SOCK_STREAM, socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        s.settimeout(timeout)
        s.connect((host, PORT))
        s.sendall(req)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        head, _, got = data.partition(b"\r\n\r\n")
        result = {"result": "ok", "status": head.split(b"\r\n")[0].decode("latin-1"),
                  "sha": hashlib.sha256(got).hexdigest(), "len": len(got)}
    except ConnectionResetError:
        result = {"result": "reset"}
    except ConnectionRefusedError:
        result = {"result": "refused"}
    except (socket.timeout, TimeoutError):
        result = {"result": "timeout"}
    except OSError as e:
        result = {"result": "error", "why": str(e)}
    finally:
        s.close()
    result["seconds"] = round(time.monotonic() - t0, 3)
    return result


def udp_client(ns, host, count, marker=""):
    """Sends `count` datagrams from one socket (one flow) of namespace `ns` to host:9999, the
    second with `marker`; returns which were echoed and whether an ICMP unreachable came back
    (ECONNREFUSED on a connected UDP socket)."""
    s = socket_in(ns, socket.SOCK_DGRAM)
    s.connect((host, 9999))
    s.settimeout(0.5)
    refused, echoed = False, []
    for i in range(count):
        data = b"datagram %d %s" % (i, marker.encode() if i == 1 else b"")
        try:
            s.send(data)
            if s.recv(2048) == data:
                echoed.append(i)
        except ConnectionRefusedError:
            refused = True
        except (socket.timeout, TimeoutError):
            pass
    s.close()
    return {"refused": refused, "echoed": echoed}


# --- the orchestration ------------------------------------------------------------------------


class Net:
    def __init__(self):
        tag = str(os.getpid())
        self.cli, self.gw, self.srv = f"mmcli{tag}", f"mmgw{tag}", f"mmsrv{tag}"
        self.procs = []

    def sh(self, *cmd, ns=None, check_rc=True):
        full = (["ip", "netns", "exec", ns] if ns else []) + list(cmd)
        r = subprocess.run(full, capture_output=True, text=True)
        if check_rc and r.returncode != 0:
            raise Failure(f"{' '.join(full)}: {r.stderr.strip() or r.returncode}")
        return r.stdout

    def up(self):
        for ns in (self.cli, self.gw, self.srv):
            self.sh("ip", "netns", "add", ns)
            self.sh("ip", "link", "set", "lo", "up", ns=ns)
        tag = str(os.getpid())[-6:]
        a, b, c, d = f"mmc{tag}", f"mmgc{tag}", f"mmgs{tag}", f"mms{tag}"
        self.gw_out = c  # the gateway's port towards the server
        self.sh("ip", "link", "add", a, "netns", self.cli, "type", "veth", "peer", "name", b,
                "netns", self.gw)
        self.sh("ip", "link", "add", c, "netns", self.gw, "type", "veth", "peer", "name", d,
                "netns", self.srv)
        for ns, dev, addrs in ((self.cli, a, [CLIENT, CLIENT6]), (self.gw, b, [GW_C, GW_C6]),
                               (self.gw, c, [GW_S, GW_S6]),
                               (self.srv, d, [SERVER, DENIED, ALLOWED, SERVER6] + SPREAD)):
            for ad in addrs:
                # IPv6 without duplicate address detection: usable at once.
                extra = ["/64", "nodad"] if ":" in ad else ["/24"]
                self.sh("ip", "addr", "add", ad + extra[0], "dev", dev, *extra[1:], ns=ns)
            self.sh("ip", "link", "set", dev, "up", ns=ns)
        self.sh("ip", "route", "add", "default", "via", GW_C, ns=self.cli)
        self.sh("ip", "route", "add", "default", "via", GW_S, ns=self.srv)
        self.sh("ip", "-6", "route", "add", "default", "via", GW_C6, ns=self.cli)
        self.sh("ip", "-6", "route", "add", "default", "via", GW_S6, ns=self.srv)
        self.sh("sysctl", "-qw", "net.ipv4.ip_forward=1", ns=self.gw)
        self.sh("sysctl", "-qw", "net.ipv6.conf.all.forwarding=1", ns=self.gw)
        for tool in ("iptables-legacy", "ip6tables-legacy"):
            ipt = [tool, "-A", "FORWARD"]
            # The documented rule set (README, "Inline protection"): a flow the sensor marked
            # is dropped in the kernel; the sensor's mark is saved to the connection;
            # everything else goes to queue 0, accepted by the kernel while no sensor listens.
            self.sh(*ipt, "-m", "connmark", "--mark", "0x1/0x1", "-j", "DROP", ns=self.gw)
            self.sh(*ipt, "-m", "mark", "--mark", "0x1/0x1", "-j", "CONNMARK", "--save-mark",
                    "--mask", "0x1", ns=self.gw)
            self.sh(*ipt, "-m", "mark", "--mark", "0x1/0x1", "-j", "DROP", ns=self.gw)
            # Two workers: the kernel spreads connections over queues 0 and 1.
            self.sh(*ipt, "-j", "NFQUEUE", "--queue-balance", "0:1", "--queue-bypass", ns=self.gw)

    def down(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for ns in (self.cli, self.gw, self.srv):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True)

    @staticmethod
    def exec_in(ns):
        return ["ip", "netns", "exec", ns]

    def spawn(self, ns, cmd, **kw):
        p = subprocess.Popen(["ip", "netns", "exec", ns] + cmd, **kw)
        self.procs.append(p)
        return p

    def connmark_drops(self):
        out = self.sh("iptables-legacy", "-L", "FORWARD", "-v", "-x", "-n", ns=self.gw)
        for line in out.splitlines():
            if "connmark match" in line and "DROP" in line:
                return int(line.split()[0])
        raise Failure("the connmark DROP rule is missing from FORWARD")


def skip_reason():
    if os.geteuid() != 0:
        return "needs root (network namespaces, iptables, NFQUEUE)"
    if not shutil.which("iptables-legacy") or not shutil.which("ip6tables-legacy"):
        return "iptables-legacy or ip6tables-legacy is not installed (Debian package iptables)"
    probe = f"mmprobe{os.getpid()}"
    r = subprocess.run(["ip", "netns", "add", probe], capture_output=True, text=True)
    if r.returncode != 0:
        return f"cannot create a network namespace: {r.stderr.strip()}"
    r = subprocess.run(["ip", "netns", "exec", probe, "iptables-legacy", "-A", "FORWARD", "-j",
                        "NFQUEUE", "--queue-num", "0", "--queue-bypass"],
                       capture_output=True, text=True)
    subprocess.run(["ip", "netns", "del", probe], capture_output=True)
    if r.returncode != 0:
        return f"the kernel has no NFQUEUE target for iptables: {r.stderr.strip()}"
    return None


class Run:
    def __init__(self, args, net, tmp):
        self.args, self.net, self.tmp = args, net, tmp
        self.sensor = None
        self.rules = os.path.join(tmp, "inline.rules")
        with open(self.rules, "w") as f:
            f.write(RULES)
        self.classification = os.path.join(tmp, "classification.config")
        with open(self.classification, "w") as f:
            f.write(f"config classification: trojan-activity,{DROP_CATEGORY},1\n")
        self.server_log = os.path.join(tmp, "server.log")
        open(self.server_log, "w").close()
        self.runs = 0

    def request(self, host, path, header="", upload=0, timeout=5.0):
        return client(self.net.cli, host, path, header, upload, timeout)

    def server_heads(self):
        with open(self.server_log) as f:
            return [json.loads(line) for line in f if line.strip()]

    def start_sensor(self, *extra):
        self.runs += 1
        out = os.path.join(self.tmp, f"run{self.runs}")
        os.makedirs(out)
        cmd = [os.path.join(self.args.bin, "mimamori-sensor"), "-q", "0:1", "-S", self.rules,
               "-l", out, "--set", "stats.interval=1",
               "--set", f"ips-policy.deny={DENIED}", "--set", f"ips-policy.allow={ALLOWED}",
               "--set", f"nfq.watchdog={WATCHDOG_MS}",
               "--set", f"classification-file={self.classification}",
               "--set", f"ips-policy.drop-categories={DROP_CATEGORY}"] + list(extra)
        self.err = open(os.path.join(out, "stderr"), "w")
        self.sensor = self.net.spawn(self.net.gw, cmd, stdout=self.err, stderr=self.err)
        self.out = out
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            q = self.net.sh("cat", "/proc/net/netfilter/nfnetlink_queue", ns=self.net.gw)
            if {"0", "1"} <= {line.split()[0] for line in q.splitlines() if line.split()}:
                return out
            if self.sensor.poll() is not None:
                raise Failure(f"the sensor exited with {self.sensor.returncode}: "
                              f"{open(os.path.join(out, 'stderr')).read()[-2000:]}")
            time.sleep(0.1)
        raise Failure("the sensor did not bind queues 0 and 1 within 20 s")

    def stop_sensor(self, sig=signal.SIGTERM):
        self.sensor.send_signal(sig)
        try:
            self.sensor.wait(timeout=30)
        except subprocess.TimeoutExpired:
            stacks = "(gdb is not installed)"
            if shutil.which("gdb"):
                stacks = subprocess.run(["gdb", "-batch", "-p", str(self.sensor.pid), "-ex",
                                         "thread apply all bt"], capture_output=True,
                                        text=True).stdout
            self.sensor.kill()
            raise Failure(f"the sensor did not stop within 30 s of SIGTERM; its threads:\n"
                          f"{stacks[-12000:]}")
        self.err.close()
        return self.sensor.returncode

    def eve(self, out=None):
        path = os.path.join(out or self.out, "eve.json")
        if not os.path.exists(path):
            return []
        with open(path) as f:
            # A killed sensor may leave its last line cut short.
            return [json.loads(line) for line in f if line.endswith("\n")]


def ordinary(run, tag):
    """Downloads of several sizes and an upload pass byte for byte."""
    for size in (10, 100_000, 1_000_000):
        path = f"/{size}/{tag}"
        r = run.request(SERVER, path)
        check(r["result"] == "ok", f"{tag}: GET {path}: {r}")
        want = body_for(path, size)
        check(r["len"] == size and r["sha"] == hashlib.sha256(want).hexdigest(),
              f"{tag}: GET {path}: the body differs from what the server sent ({r})")
    path = f"/10/{tag}-upload"
    r = run.request(SERVER, path, upload=300_000)
    check(r["result"] == "ok", f"{tag}: upload: {r}")
    got = [h for h in run.server_heads() if h["head"].startswith(f"GET {path} ")]
    check(len(got) == 1 and got[0]["body_len"] == 300_000 and
          got[0]["body_sha"] == hashlib.sha256(body_for("upload" + path, 300_000)).hexdigest(),
          f"{tag}: the server did not get the upload byte for byte: {got}")


def blocked(run, tag, host=SERVER):
    """A request with the blocked content: reset, never seen by the server."""
    path = f"/10/{tag}-blocked"
    r = run.request(host, path, header="X-Test: " + BLOCK.decode())
    check(r["result"] == "reset", f"{tag}: the blocked request was not reset: {r}")
    check(not any(path in h["head"] for h in run.server_heads()),
          f"{tag}: the blocked request reached the server")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin")
    ap.add_argument("--serve")
    args = ap.parse_args()
    if args.serve:
        return serve(args.serve)

    # The server's and the sensor's programs (mimamori, mimamori-server) from the same build.
    os.environ["PATH"] = os.path.abspath(args.bin) + os.pathsep + os.environ.get("PATH", "")
    why = skip_reason()
    if why:
        print(f"SKIP: {why}")
        return SKIP
    for prog in ("mimamori-sensor", "mimamori", "mimamori-server"):
        if not shutil.which(prog):
            print(f"FAIL: {prog} is not in {args.bin}: build the targets mimamori-sensor, "
                  "mimamori and mimamori-server")
            return 1
    net = Net()
    tmp = tempfile.mkdtemp(prefix="mimamori-inline-")
    ok = False
    srv = None
    try:
        net.up()
        run = Run(args, net, tmp)
        net.spawn(net.srv, [sys.executable, __file__, "--serve", run.server_log])
        deadline = time.monotonic() + 10
        while run.request(SERVER, "/10/ready", timeout=1)["result"] != "ok":
            check(time.monotonic() < deadline, "the test server did not come up")
            time.sleep(0.2)

        # A real mimamori-server in the gateway namespace (on its loopback, which the queue
        # rules do not touch), with the sensor enrolled and heartbeats every second.
        srv = server_fixture.Server(os.path.join(tmp, "server-data"),
                                    os.path.join(tmp, "mimamori-server.log"),
                                    wrap=net.exec_in(net.gw))
        url, fingerprint = srv.start()
        credential = os.path.join(tmp, "sensor.credential")
        enrolled = net.sh("mimamori-sensor", "enroll", "--server", url, "--code",
                          srv.enroll_code(), "--credential", credential, ns=net.gw)
        check(fingerprint in enrolled, f"enroll did not pin the server's certificate: {enrolled}")
        device = enrolled.split()[2]  # "enrolled as <device id> with <url>"
        with open(credential) as f:
            text = f.read()
        with open(credential, "w") as f:
            f.write(re.sub(r"(?m)^heartbeat_interval_s: .*$", "heartbeat_interval_s: 1", text))

        # 1. Inline: ordinary traffic passes, the rule's content is reset.
        run.start_sensor()
        ordinary(run, "first")
        blocked(run, "first")
        # The same over IPv6: the reset is built and sent as IPv6.
        r = run.request(SERVER6, "/100000/v6")
        check(r["result"] == "ok" and r["len"] == 100_000 and
              r["sha"] == hashlib.sha256(body_for("/100000/v6", 100_000)).hexdigest(),
              f"IPv6: an ordinary request did not pass byte for byte: {r}")
        blocked(run, "v6", host=SERVER6)
        # The deny-list address: refused with a reset at the first packet.
        r = run.request(DENIED, "/10/denied")
        check(r["result"] in ("refused", "reset"), f"deny list: not refused: {r}")
        check(not any("/denied" in h["head"] for h in run.server_heads()),
              "deny list: the request reached the server")
        # A UDP flow to it: an ICMP unreachable.
        u = udp_client(net.cli, DENIED, 2)
        check(u["refused"] and not u["echoed"], f"deny list: no ICMP unreachable for UDP: {u}")
        # A UDP flow whose second datagram has an alert-only rule's content of a category the
        # policy drops: the first is echoed, the flow is marked at the second, and the kernel
        # drops the rest (the connmark rule counts them; the sensor never sees them).
        before = net.connmark_drops()
        u = udp_client(net.cli, SERVER, 4, "MIMAMORI-UDP-DROP")
        check(u["echoed"] == [0], f"drop category: expected only the first datagram echoed: {u}")
        check(net.connmark_drops() >= before + 2,
              f"drop category: later datagrams were not dropped by the kernel "
              f"({net.connmark_drops() - before} counted)")
        check(not any("MIMAMORI-UDP-DROP" in h["head"] or h["head"].startswith("UDP datagram 3")
                      for h in run.server_heads()), "drop category: datagrams reached the server")
        # A TCP request an app-layer drop rule matches: the flow is dropped and marked, so the
        # client's retransmissions (and its FIN) meet the kernel's connmark rule.
        before = net.connmark_drops()
        r = run.request(SERVER, "/10/flowdrop", timeout=1.5)
        check(r["result"] == "timeout", f"flow drop: the request was not dropped: {r}")
        check(not any("/flowdrop" in h["head"] for h in run.server_heads()),
              "flow drop: the request reached the server")
        check(net.connmark_drops() >= before + 2,
              f"flow drop: the retransmissions were not dropped by the kernel "
              f"({net.connmark_drops() - before} counted)")
        # The allow-list address passes the blocked content.
        r = run.request(ALLOWED, "/10/allowed", header="X-Test: " + BLOCK.decode())
        check(r["result"] == "ok", f"allow list: the request did not pass: {r}")

        # Both workers had packets (a queue's last packet id, /proc's eighth column).
        for i, host in enumerate(SPREAD):
            r = run.request(host, f"/10/spread-{i}")
            check(r["result"] == "ok", f"request to {host}: {r}")
        q = net.sh("cat", "/proc/net/netfilter/nfnetlink_queue", ns=net.gw).split("\n")
        ids = {line.split()[0]: int(line.split()[7]) for line in q if line.strip()}
        check(ids.get("0", 0) > 0 and ids.get("1", 0) > 0,
              f"the kernel did not spread the connections over both queues: {ids}")

        # 2. SIGKILL: the kernel's bypass keeps the line up (and nothing is inspected). First
        # a stats interval passes, so its record (and the alerts before it) are on disk.
        time.sleep(1.5)
        run.sensor.kill()
        run.sensor.wait()
        run.err.close()
        time.sleep(0.2)
        ordinary(run, "killed")
        r = run.request(SERVER, "/10/killed-bypass", header="X-Test: " + BLOCK.decode())
        check(r["result"] == "ok", f"after SIGKILL the line is cut: {r}")

        # 3. Restart: blocking resumes. A stalled detection is bypassed by the watchdog.
        control = os.path.join(tmp, "control.sock")
        run.start_sensor("--set", "nfq.test.stall-content=" + STALL.decode(),
                         "--set", f"nfq.test.stall-ms={STALL_MS}", "--control", control,
                         "--credential", credential, "--spool-dir", os.path.join(tmp, "spool"))
        blocked(run, "restarted")
        r = run.request(SERVER, "/10/stalled", header="X-Test: " + STALL.decode())
        check(r["result"] == "ok", f"stalled detection: the request failed: {r}")
        limit = (WATCHDOG_MS + 1700) / 1000  # well under the stall: load on the machine
        check(r["seconds"] < limit,
              f"stalled detection: answered after {r['seconds']} s, watchdog is "
              f"{WATCHDOG_MS} ms (limit {limit} s)")
        time.sleep(STALL_MS / 1000 + 0.5)
        blocked(run, "recovered")
        ordinary(run, "recovered")
        # A rule reload while inline: answered, and the new engine blocks as the old did.
        r = subprocess.run([os.path.join(args.bin, "mimamori-sensor"), "--control", control,
                            "reload-rules"], capture_output=True, text=True, timeout=60)
        check(r.returncode == 0 and r.stdout.startswith("ok"),
              f"reload-rules while inline: {r.stdout} {r.stderr}")
        blocked(run, "reloaded")

        # A restart as systemd does it (SIGTERM, then a new sensor) in the middle of a download:
        # the download completes byte for byte (the kernel's bypass carries it while no sensor
        # is bound, the new sensor takes the connection up where it is), and the new sensor
        # blocks. The new one sends no heartbeats: the server keeps those of the stalled run.
        # The server sends slowly until the new sensor is bound (the hold file), so the
        # download spans the restart however long the start takes.
        path, size = "/slow/8000000/restart", 8_000_000
        hold = run.server_log + ".hold"
        open(hold, "w").close()
        got = {}
        dl = threading.Thread(target=lambda: got.update(client(net.cli, SERVER, path,
                                                               timeout=30)))
        dl.start()
        time.sleep(0.3)
        rc = run.stop_sensor()
        check(rc == 0, f"the sensor exited with {rc} on SIGTERM")
        stalled_run = run.out
        run.start_sensor()
        bound = time.monotonic()
        time.sleep(0.5)
        os.remove(hold)
        dl.join(40)
        ended = time.monotonic()
        check(got.get("result") == "ok" and got["len"] == size and
              got["sha"] == hashlib.sha256(body_for(path, size)).hexdigest(),
              f"restart: the download across it did not complete byte for byte: {got}")
        check(ended - bound > 0.3,
              f"restart: the download ended {ended - bound:.1f} s after the new sensor bound "
              "the queue: too early to show that it carries a connection begun before it")
        blocked(run, "restarted by SIGTERM")
        rc = run.stop_sensor()
        check(rc == 0, f"the sensor exited with {rc} on SIGTERM")
        restarted = run.eve()
        # (Taken up in the middle, the flow's first packet seen may be the server's.)
        check(any(e.get("event_type") == "flow" and PORT in (e.get("dest_port"), e.get("src_port"))
                  and e["flow"]["bytes_toclient"] + e["flow"]["bytes_toserver"] > 100_000
                  for e in restarted),
              "restart: the new sensor has no flow record of the download it carried")

        # 4. The kernel's own fail-open: detection is fine but the sensor reads no packets (the
        # test-only receiver stall on the marker), so the queue fills; from nfq.queue-maxlen
        # packets on, the kernel accepts what comes (NFQA_CFG_F_FAIL_OPEN) instead of dropping.
        run.start_sensor("--set", "nfq.test.stall-content=" + STALL.decode(),
                         "--set", f"nfq.test.stall-ms={RECEIVER_STALL_MS}",
                         "--set", "nfq.test.stall-receiver=true", "--set", "nfq.queue-maxlen=8")
        slow = {}
        st = threading.Thread(target=lambda: slow.update(
            run.request(SERVER, "/10/receiver-stalled", header="X-Test: " + STALL.decode(),
                        timeout=15)))
        stall_began = time.monotonic()
        st.start()
        time.sleep(0.3)
        # A dozen connection attempts to the same address (the same queue): their SYNs fill it.
        burst = []
        for _ in range(12):
            b = socket_in(net.cli, socket.SOCK_STREAM)
            b.setblocking(False)
            b.connect_ex((SERVER, PORT))
            burst.append(b)
        r = run.request(SERVER, "/1000/kernel-fail-open", timeout=5)
        passed_after = time.monotonic() - stall_began
        for b in burst:
            b.close()
        st.join(20)
        check(r["result"] == "ok" and r["len"] == 1000,
              f"kernel fail-open: a request while the queue was full failed: {r}")
        check(passed_after < RECEIVER_STALL_MS / 1000 - 0.3,
              f"kernel fail-open: the request ended {passed_after:.1f} s after the stall began, "
              f"too late to show anything (the stall is {RECEIVER_STALL_MS} ms)")
        # (The marker's own request passes too: its retransmission finds the queue full.)
        check(slow.get("result") == "ok", f"kernel fail-open: the marker's request: {slow}")
        rc = run.stop_sensor()
        check(rc == 0, f"the sensor exited with {rc} on SIGTERM")
        urls = [e["http"].get("url") for e in run.eve() if e.get("event_type") == "http"]
        check("/1000/kernel-fail-open" not in urls,
              f"kernel fail-open: the sensor saw the request the kernel let through: {urls}")
        check("/10/receiver-stalled" in urls or any(
                  e.get("event_type") == "flow" for e in run.eve()),
              "kernel fail-open: the sensor saw nothing at all: was it bound?")

        # 5. What the sensor wrote.
        eve = run.eve(stalled_run)
        first = run.eve(os.path.join(tmp, "run1"))
        alerts = [e for e in first + eve if e.get("event_type") == "alert"]
        rule_blocks = [a for a in alerts if a["alert"]["signature_id"] == 9100001 and
                       a["alert"]["action"] == "blocked"]
        check(len(rule_blocks) >= 4, f"expected 4 blocked alerts of the rule, got {rule_blocks}")
        allowed = [a for a in alerts if a["alert"]["signature_id"] == 9100001 and
                   a["alert"]["action"] == "allowed"]
        check(len(allowed) == 1 and allowed[0]["dest_ip"] == ALLOWED,
              f"expected one allowed alert for the allow-listed address, got {allowed}")
        deny = [a for a in alerts if a["alert"]["gid"] == 9990]
        check(len(deny) >= 2 and all(a["alert"]["action"] == "blocked" for a in deny),
              f"expected blocked deny-list alerts (TCP and UDP), got {deny}")
        udp = [a for a in alerts if a["alert"]["signature_id"] == 9100003]
        check(len(udp) == 1 and udp[0]["alert"]["action"] == "blocked",
              f"expected one blocked alert of the drop category, got {udp}")
        flowdrop = [a for a in alerts if a["alert"]["signature_id"] == 9100004]
        check(len(flowdrop) == 1 and flowdrop[0]["alert"]["action"] == "blocked",
              f"expected one blocked alert of the app-layer drop rule, got {flowdrop}")
        stats = [e for e in eve if e.get("event_type") == "stats"]
        check(stats, "no stats record from the restarted sensor")
        ips = stats[-1]["stats"]["ips"]
        check(ips["fail_open"]["events"] >= 1, f"the stall is not counted: {ips}")
        check(ips["verdicts"]["drop"] >= 2 and ips["verdicts"]["reject"] >= 2,
              f"the drops are not counted: {ips}")
        check(ips["verdicts"]["accept"] > 100 and ips["latency_us"]["count"] > 0,
              f"the accepts are not counted: {ips}")
        s1 = [e for e in first if e.get("event_type") == "stats"]
        check(s1 and s1[-1]["stats"]["ips"]["verdicts"]["flow_marked"] >= 4,
              "the deny-list, drop-category and app-layer drop flows were not marked for the "
              "kernel path")
        # The heartbeats of the restarted sensor carried the same counters to the server (the
        # last one stored is up to a second old: it counts the reset before the stall and the
        # stall, which the wait after it covers).
        hb = srv.query(f"SELECT last_heartbeat FROM devices WHERE id = '{device}'")
        check(hb and hb[0][0], f"the server has no heartbeat from the sensor: {hb}")
        hips = json.loads(hb[0][0]).get("ips")
        check(hips and hips["fail_open"]["events"] >= 1 and hips["verdicts"]["reject"] >= 1 and
              hips["verdicts"]["accept"] > 0 and hips["latency_us"]["count"] > 0 and
              hips["latency_us"]["p99"] >= hips["latency_us"]["p50"] > 0 and
              "queue_dropped" in hips["kernel"],
              f"the last heartbeat lacks the inline counters: {hb[0][0]}")
        ok = True
        print("inline: ordinary traffic byte for byte, rule and deny-list rejects, allow list, "
              "bypass after SIGKILL, watchdog, restart: all as expected")
        print(f"verdicts {ips['verdicts']}, latency_us {ips['latency_us']}")
    except Failure as e:
        print(f"FAIL: {e}")
        print(net.sh("iptables-legacy", "-L", "FORWARD", "-v", "-x", "-n", ns=net.gw,
                     check_rc=False))
        for root, _, files in os.walk(tmp):
            for name in files:
                if name == "stderr":
                    print(f"--- {os.path.join(root, name)}")
                    print(open(os.path.join(root, name)).read()[-3000:])
    finally:
        if srv and srv.proc and srv.proc.poll() is None:
            srv.kill(signal.SIGTERM)
        net.down()
        if ok:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            print(f"output kept in {tmp}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
