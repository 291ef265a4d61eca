#!/usr/bin/env python3
"""Generates captures of attacks (and of an ordinary office) with randomised hosts, timing,
rates and jitter, runs mimamori-sensor on each, and checks the behaviour alerts: each attack
raises its alerts with the right hosts, exactly as often as expected, and nothing else of the
behaviour detectors fires.

  scenarios.py --bin BUILD/bin --scenario scan --variants 4 [--keep DIR] [--seed N]

Prints one line per variant and "N of N variants as expected"; exits 1 otherwise."""

import argparse
import atexit
import hashlib
import ipaddress
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cleartext import scenario_cleartext  # noqa: E402
from office import scenario_office  # noqa: E402
from traffic import (Capture, Session, dns_answer, dns_answer_records,  # noqa: E402
                     dns_query, http_download, smb2, smb2_create, smb2_tree_connect, txt_rdata,
                     tls_app_data, tls_client_hello,
                     tls_client_hello_fingerprints, tls_server_hello)

GID_LO, GID_HI = 9200100, 9201099
EICAR = (b"X5O!P%@AP[4\\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*")
SID = {
    "scan_vertical_in": 9200101, "scan_vertical_int": 9200102, "scan_horizontal_int": 9200112,
    "scan_udp_in": 9200121, "scan_icmp_int": 9200132, "guess_shape": 9200201,
    "guess_fail": 9200202, "guess_success": 9200210, "exposed": 9200301, "beacon": 9200401,
    "dns_tunnel": 9200501, "dga": 9200502, "lateral": 9200601, "admin_share": 9200602,
    "svcctl": 9200603, "bad_file": 9200701, "bad_file_ftp": 9200702, "intel_ip": 9200801, "intel_lookup": 9200802,
    "intel_name": 9200803, "intel_tls": 9200804, "cleartext_out": 9200901,
    "cleartext_in": 9200902, "upload": 9201001,
}


class Net:
    """Random, distinct addresses: internal (HOME_NET, RFC 1918) and external."""

    def __init__(self, rng):
        self.rng = rng
        self.used = set()
        self.lan = rng.choice(["192.168.%d" % rng.randint(0, 254), "10.%d.%d" % (
            rng.randint(0, 254), rng.randint(0, 254)), "172.%d.%d" % (rng.randint(16, 31),
                                                                       rng.randint(0, 254))])

    def internal(self):
        while True:
            a = "%s.%d" % (self.lan, self.rng.randint(2, 250))
            if a not in self.used:
                self.used.add(a)
                return a

    def external(self):
        while True:
            a = ipaddress.IPv4Address(self.rng.randint(0x01000000, 0xDEFFFFFF))
            if a.is_global and not a.is_multicast and str(a) not in self.used:
                self.used.add(str(a))
                return str(a)

    def gateway(self):
        return "%s.1" % self.lan


class Scenario:
    def __init__(self, rng, t0):
        self.rng = rng
        self.t = t0
        self.cap = Capture()
        self.net = Net(rng)
        self.expect = []  # {sid, hosts: [a, b|None], count}
        self.files = []  # {sha256, count}
        self.sensor_args = []
        self.port = rng.randint(20000, 40000)

    def eport(self):
        self.port += 1
        if self.port > 65000:
            self.port = 20000
        return self.port

    def want(self, sid, a, b=None, count=1):
        self.expect.append({"sid": SID[sid], "hosts": [a, b], "count": count})


# --- scans ---------------------------------------------------------------------------------

def scenario_scan(s):
    rng, net = s.rng, s.net
    # Vertical, from the internet: one attacker, many ports of one host, a few of them open.
    a, v = net.external(), net.internal()
    ports = rng.sample(range(1, 10000), rng.randint(25, 300))
    open_ports = set(rng.sample(ports, min(3, len(ports))))
    gap = rng.uniform(0.0005, 45.0 / len(ports))
    sport = s.eport()
    for p in ports:
        sess = Session(s.cap, s.t, a, sport, v, p)
        sess.handshake(accept=False) if p not in open_ports else _syn_ack_rst(sess)
        s.t += gap * rng.uniform(0.5, 1.5)
    s.want("scan_vertical_in", a, v)
    s.t += 400
    # Vertical, internal: an infected PC probing a server.
    a, v = net.internal(), net.internal()
    for p in rng.sample(range(1, 2000), rng.randint(25, 120)):
        Session(s.cap, s.t, a, s.eport(), v, p).handshake(accept=False)
        s.t += rng.uniform(0.001, 0.3)
    s.want("scan_vertical_int", a, v)
    s.t += 400
    # Horizontal, internal: one PC, one port (SMB), many hosts; also lateral movement.
    a = net.internal()
    for _ in range(rng.randint(25, 60)):
        Session(s.cap, s.t, a, s.eport(), net.internal(), 445).handshake(
            accept=rng.random() < 0.2)
        s.t += rng.uniform(0.01, 0.8)
    s.want("scan_horizontal_int", a)
    s.want("lateral", a)
    s.t += 400
    # Horizontal, outbound: a PC scanning the internet for Telnet (a bot).
    a = net.internal()
    for _ in range(rng.randint(25, 80)):
        Session(s.cap, s.t, a, s.eport(), net.external(), 23).handshake(accept=False)
        s.t += rng.uniform(0.01, 0.5)
    s.want("scan_horizontal_int", a)
    s.t += 400
    # UDP sweep from the internet (SNMP).
    b = net.external()
    for _ in range(rng.randint(25, 50)):
        s.cap.udp(s.t, b, s.eport(), net.internal(), 161, b"\x30\x26\x02\x01\x01\x04\x06public")
        s.t += rng.uniform(0.01, 1.0)
    s.want("scan_udp_in", b)
    s.t += 400
    # ICMP sweep inside.
    c = net.internal()
    ident = rng.randint(1, 65000)
    for i in range(rng.randint(25, 100)):
        d = net.internal() if i < 200 else None
        s.cap.icmp_echo(s.t, c, d, ident, i)
        if rng.random() < 0.5:
            s.cap.icmp_echo(s.t + 0.001, d, c, ident, i, reply=True)
        s.t += rng.uniform(0.005, 0.5)
    s.want("scan_icmp_int", c)


def _syn_ack_rst(sess):
    from traffic import RST, SYN, ACK
    sess.cap.tcp(sess.t, sess.c, sess.cp, sess.s, sess.sp, 1000, 0, SYN)
    sess.cap.tcp(sess.t + 0.001, sess.s, sess.sp, sess.c, sess.cp, 5000, 1001, SYN | ACK)
    sess.cap.tcp(sess.t + 0.002, sess.c, sess.cp, sess.s, sess.sp, 1001, 0, RST)


# --- password guessing ---------------------------------------------------------------------

def _ssh_like(s, client, server, port, size, duration, banner=True):
    rng = s.rng
    sess = Session(s.cap, s.t, client, s.eport(), server, port).handshake()
    if banner and port == 22:
        sess.reply(b"SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.6\r\n", 0.01)
        sess.send(b"SSH-2.0-libssh_0.9.6\r\n", 0.01)
    steps = 4
    for _ in range(steps):
        sess.send(bytes(rng.getrandbits(8) for _ in range(max(1, size // steps))),
                  duration / (2 * steps))
        sess.reply(bytes(rng.getrandbits(8) for _ in range(max(1, size // steps))),
                   duration / (2 * steps))
    sess.close(0.01)
    return sess.t


def scenario_guess(s):
    rng, net = s.rng, s.net
    # SSH from the internet: short sessions of about one size; sometimes a login at the end.
    a, srv = net.external(), net.internal()
    base = rng.randint(1200, 3000)
    for _ in range(rng.randint(12, 40)):
        _ssh_like(s, a, srv, 22, int(base * rng.uniform(0.95, 1.05)), rng.uniform(0.5, 4))
        s.t += rng.uniform(0.2, 8)
    s.want("guess_shape", a, srv)
    s.want("exposed", a, srv)
    if rng.random() < 0.6:
        s.t += rng.uniform(1, 20)
        sess = Session(s.cap, s.t, a, s.eport(), srv, 22).handshake()
        for _ in range(rng.randint(20, 40)):
            sess.send(bytes(rng.getrandbits(8) for _ in range(rng.randint(40, 400))),
                      rng.uniform(3, 12))
            sess.reply(bytes(rng.getrandbits(8) for _ in range(rng.randint(40, 1400))), 0.05)
        sess.close(0.1)
        s.want("guess_success", a, srv)
    s.t += 800
    # RDP inside: an infected PC against a server.
    a, srv = net.internal(), net.internal()
    base = rng.randint(3000, 6000)
    for _ in range(rng.randint(12, 30)):
        _ssh_like(s, a, srv, 3389, int(base * rng.uniform(0.93, 1.07)), rng.uniform(0.5, 3))
        s.t += rng.uniform(0.5, 10)
    s.want("guess_shape", a, srv)
    s.t += 800
    # FTP: failed logins the protocol shows (530), a few per session; sometimes a success.
    a, srv = net.internal(), net.internal()
    success = rng.random() < 0.5
    sessions = rng.randint(2, 4)
    for i in range(sessions):
        sess = Session(s.cap, s.t, a, s.eport(), srv, 21).handshake()
        sess.reply(b"220 (vsFTPd 3.0.3)\r\n", 0.01)
        for _ in range(3):
            user = rng.choice(["admin", "root", "ftp", "user", "test"])
            sess.send(b"USER %s\r\n" % user.encode(), rng.uniform(0.05, 1))
            sess.reply(b"331 Please specify the password.\r\n", 0.01)
            sess.send(b"PASS %d\r\n" % rng.randint(0, 10 ** 8), rng.uniform(0.05, 1))
            sess.reply(b"530 Login incorrect.\r\n", rng.uniform(0.5, 3))
        if success and i == sessions - 1:
            sess.send(b"USER backup\r\nPASS backup123\r\n", 0.5)
            sess.reply(b"230 Login successful.\r\n", 0.3)
        sess.close(0.1)
        s.t = sess.t + rng.uniform(0.5, 5)
    s.want("guess_fail", a, srv)
    s.want("cleartext_in", a, srv)  # the FTP passwords cross the LAN in the clear: once
    if success:
        s.want("guess_success", a, srv)
    s.t += 800
    # HTTP Basic: a router's admin page answering 401 again and again.
    a, srv = net.internal(), net.gateway()
    sess = Session(s.cap, s.t, a, s.eport(), srv, 80).handshake()
    for _ in range(rng.randint(6, 15)):
        sess.send(b"GET /admin/ HTTP/1.1\r\nHost: %s\r\nAuthorization: Basic %s\r\n\r\n" %
                  (srv.encode(), b"YWRtaW46%06d" % rng.randint(0, 999999)), rng.uniform(0.1, 2))
        sess.reply(b"HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm=\"router\"\r\n"
                   b"Content-Length: 0\r\n\r\n", 0.01)
    sess.close(0.1)
    s.t = sess.t
    s.want("guess_fail", a, srv)
    s.want("cleartext_in", a, srv)  # HTTP Basic on plain HTTP: once
    s.t += 800
    # SMB2: STATUS_LOGON_FAILURE answers in two sessions.
    a, srv = net.internal(), net.internal()
    for _ in range(2):
        sess = Session(s.cap, s.t, a, s.eport(), srv, 445).handshake()
        sess.send(smb2(0), 0.01).reply(smb2(0), 0.01)
        for _ in range(rng.randint(3, 6)):
            sess.send(smb2(1, body=b"\x19\x00" + b"\x00" * 30), rng.uniform(0.05, 0.5))
            sess.reply(smb2(1, status=0xC000006D), 0.01)
        sess.close(0.1)
        s.t = sess.t + rng.uniform(0.5, 3)
    s.want("guess_fail", a, srv)


# --- exposed services ----------------------------------------------------------------------

def scenario_exposed(s):
    rng, net = s.rng, s.net
    rdp, smbh, closed = net.internal(), net.internal(), net.internal()
    first = None
    for i in range(rng.randint(2, 8)):
        c = net.external()
        first = first or c
        sess = Session(s.cap, s.t, c, s.eport(), rdp, 3389).handshake()
        for _ in range(rng.randint(2, 6)):
            sess.send(bytes(rng.getrandbits(8) for _ in range(rng.randint(100, 3000))),
                      rng.uniform(1, 30))
            sess.reply(bytes(rng.getrandbits(8) for _ in range(rng.randint(100, 9000))), 0.05)
        sess.close(0.1)
        s.t = sess.t + rng.uniform(5, 600)
    s.want("exposed", first, rdp)
    c = net.external()
    for _ in range(rng.randint(1, 4)):
        sess = Session(s.cap, s.t, c, s.eport(), smbh, 445).handshake()
        sess.send(smb2(0), 0.01).reply(smb2(0), 0.01).close(0.1)
        s.t = sess.t + rng.uniform(1, 100)
    s.want("exposed", c, smbh)
    # Refused from the internet; accepted from inside: no alert.
    Session(s.cap, s.t, net.external(), s.eport(), closed, 5900).handshake(accept=False)
    sess = Session(s.cap, s.t + 1, net.internal(), s.eport(), rdp, 3389).handshake()
    sess.send(b"x" * 200, 1).reply(b"y" * 500, 0.1).close(0.1)


# --- beaconing -----------------------------------------------------------------------------

def scenario_beacon(s):
    rng, net = s.rng, s.net
    start = s.t
    # The implant: a regular period with jitter, a few missed check-ins.
    pc, c2 = net.internal(), net.external()
    period = rng.uniform(30, 600)
    jitter = rng.uniform(0, 0.12)
    port = rng.choice([443, 8443, 8080, 80])
    n = rng.randint(10, 30)
    missed = set(rng.sample(range(2, n), rng.randint(0, 2)))
    t = s.t
    for i in range(n):
        t += period * (1 + rng.uniform(-jitter, jitter))
        if i in missed:
            continue
        sess = Session(s.cap, t, pc, s.eport(), c2, port).handshake()
        sess.send(bytes(rng.getrandbits(8) for _ in range(rng.randint(200, 400))), 0.05)
        sess.reply(bytes(rng.getrandbits(8) for _ in range(rng.randint(100, 300))), 0.1)
        sess.close(0.05)
    s.want("beacon", pc, c2)
    # A second implant whose server's address ends in .255 (or .0): outside the home network
    # that is an ordinary host, not a broadcast, and must be reported like any other.
    pc5 = net.internal()
    while True:
        c2b = net.external()
        c2b = c2b[:c2b.rindex(".")] + rng.choice([".255", ".0"])
        if ipaddress.IPv4Address(c2b).is_global and c2b not in net.used:
            net.used.add(c2b)
            break
    period = rng.uniform(30, 600)
    t = s.t
    for i in range(rng.randint(10, 16)):
        t += period * (1 + rng.uniform(-0.05, 0.05))
        sess = Session(s.cap, t, pc5, s.eport(), c2b, 443).handshake()
        sess.send(bytes(rng.getrandbits(8) for _ in range(250)), 0.05).close(0.05)
    s.want("beacon", pc5, c2b)
    # Windows telemetry at a fixed period, named by SNI: allowed.
    pc2, ms = net.internal(), net.external()
    t = start
    for i in range(rng.randint(10, 20)):
        t += 300 * (1 + rng.uniform(-0.05, 0.05))
        sess = Session(s.cap, t, pc2, s.eport(), ms, 443).handshake()
        sess.send(tls_client_hello("settings-win.data.microsoft.com", rng), 0.01)
        sess.reply(tls_server_hello(rng), 0.03)
        sess.send(tls_app_data(rng.randint(300, 900), rng), 0.05)
        sess.close(0.05)
    # Irregular visits to a web service: not periodic. Gaps of eight sizes, each 1.7 times the
    # last, twice each in a random order: no period fits more than a few of them (random
    # exponential gaps would now and then happen to look periodic, and the detector would be
    # right to say so).
    pc3, web = net.internal(), net.external()
    t = start
    gaps = [g * rng.uniform(0.97, 1.03) for g in (20, 34, 58, 98, 167, 284, 483, 821)] * 2
    rng.shuffle(gaps)
    for gap in gaps:
        t += gap
        sess = Session(s.cap, t, pc3, s.eport(), web, 443).handshake()
        sess.send(bytes(rng.getrandbits(8) for _ in range(300)), 0.05).close(0.05)
    # NTP every 64 s: an ignored port.
    pc4, ntp = net.internal(), net.external()
    t = start
    for i in range(30):
        t += 64
        s.cap.udp(t, pc4, 123, ntp, 123, b"\x23" + b"\x00" * 47)
        s.cap.udp(t + 0.02, ntp, 123, pc4, 123, b"\x24" + b"\x00" * 47)


# --- DNS -----------------------------------------------------------------------------------

B32 = "abcdefghijklmnopqrstuvwxyz234567"


def scenario_dns(s):
    rng, net = s.rng, s.net
    resolver = net.gateway()
    pc = net.internal()
    domain = rng.choice(["cloudsync-%s.com", "update-%s.net", "cdn-%s.org"]) % rng.choice(
        ["alpha", "mercury", "tokyo", "delta"])
    qtype = rng.choice([1, 16, 10])
    t = s.t
    for i in range(rng.randint(40, 200)):
        n = rng.randint(30, 60)
        data = "".join(rng.choice(B32) for _ in range(n))
        labels = [data[j:j + 30] for j in range(0, n, 30)]
        name = ".".join(labels + ["%d" % i, domain])
        s.cap.udp(t, pc, s.eport(), resolver, 53, dns_query(rng.randint(0, 65535), name, qtype))
        t += rng.uniform(0.05, 1.2)
    s.want("dns_tunnel", pc, resolver)
    # DGA: many random .com/.net/.info names.
    pc2 = net.internal()
    t = s.t
    for i in range(rng.randint(25, 50)):
        label = "".join(rng.choice("bcdfghjklmnpqrstvwxz" if rng.random() < 0.85 else "aeiou")
                        for _ in range(rng.randint(14, 22)))
        name = label + rng.choice([".com", ".net", ".info", ".biz"])
        s.cap.udp(t, pc2, s.eport(), resolver, 53, dns_query(rng.randint(0, 65535), name))
        t += rng.uniform(0.1, 4)
    s.want("dga", pc2, resolver)
    # A downstream tunnel: short queries (a counter, a short session id), the data coming back
    # in TXT or NULL answers, often larger than 512 bytes; now and then an A lookup between.
    pc4 = net.internal()
    domain2 = rng.choice(["sync-%s.com", "api-%s.net", "static-%s.info"]) % rng.choice(
        ["kappa", "orion", "sendai", "nagoya"])
    sid = "".join(rng.choice(B32) for _ in range(rng.randint(2, 6)))
    qtype = rng.choice([16, 10])
    t = s.t
    for i in range(rng.randint(30, 150)):
        name = "%x.%s.%s" % (i, sid, domain2)
        ident, port = rng.randint(0, 65535), s.eport()
        if rng.random() < 0.15:
            s.cap.udp(t, pc4, port, resolver, 53, dns_query(ident, name))
            s.cap.udp(t + 0.02, resolver, 53, pc4, port, dns_answer(ident, name, net.external()))
        else:
            data = "".join(rng.choice(B32) for _ in range(rng.randint(60, 1200))).encode()
            rd = txt_rdata(data) if qtype == 16 else data
            s.cap.udp(t, pc4, port, resolver, 53, dns_query(ident, name, qtype))
            s.cap.udp(t + 0.02, resolver, 53, pc4, port, dns_answer_records(ident, name, qtype,
                                                                              [rd]))
        t += rng.uniform(0.05, 2)
    s.want("dns_tunnel", pc4, resolver)
    # Not tunnels: a mail server's SPF/DKIM/DMARC TXT lookups (a few per sender's domain), a
    # validating resolver's large DNSKEY answers for a few zones, and many distinct CDN names
    # under one domain answered with A records.
    mx = net.internal()
    t = s.t
    for i in range(rng.randint(20, 60)):
        dom = "sender%d-%s.co.jp" % (i, rng.choice(["shoji", "kogyo", "shoten", "denki"]))
        for name in rng.sample([dom, "_dmarc." + dom, "s1._domainkey." + dom], rng.randint(1, 3)):
            ident, port = rng.randint(0, 65535), s.eport()
            txt = b"v=spf1 include:_spf.%s ~all" % dom.encode() + b" " * rng.randint(0, 300)
            s.cap.udp(t, mx, port, resolver, 53, dns_query(ident, name, 16))
            s.cap.udp(t + 0.02, resolver, 53, mx, port, dns_answer_records(ident, name, 16,
                                                                            [txt_rdata(txt)]))
            t += rng.uniform(0.1, 3)
    for zone in rng.sample(["example.jp", "example.com", "example.org", "example.net"], 3):
        for _ in range(rng.randint(1, 3)):
            ident, port = rng.randint(0, 65535), s.eport()
            s.cap.udp(t, resolver, port, net.external(), 53, dns_query(ident, zone, 48))
            s.cap.udp(t + 0.02, net.external(), 53, resolver, port, dns_answer_records(
                ident, zone, 48, [rng.randbytes(rng.randint(260, 600)) for _ in range(2)]))
            t += rng.uniform(0.5, 5)
    pc5 = net.internal()
    for i in range(rng.randint(25, 80)):
        name = "e%d.a.akamaiedge.net" % rng.randint(1, 99999)
        ident, port = rng.randint(0, 65535), s.eport()
        s.cap.udp(t, pc5, port, resolver, 53, dns_query(ident, name))
        s.cap.udp(t + 0.02, resolver, 53, pc5, port, dns_answer(ident, name, net.external()))
        t += rng.uniform(0.1, 3)
    # Ordinary lookups: CDN names with hashes in them, but short and few per domain.
    pc3 = net.internal()
    t = s.t
    for i in range(200):
        name = rng.choice(["www.google.com", "outlook.office365.com", "teams.microsoft.com",
                           "e%d.dscb.akamaiedge.net" % rng.randint(1, 9999),
                           "r%d---sn-%s.googlevideo.com" % (rng.randint(1, 9), "".join(
                               rng.choice(B32) for _ in range(8))),
                           "www.yahoo.co.jp", "api.line.me", "login.microsoftonline.com"])
        ident = rng.randint(0, 65535)
        s.cap.udp(t, pc3, s.eport(), resolver, 53, dns_query(ident, name))
        s.cap.udp(t + 0.01, resolver, 53, pc3, s.port, dns_answer(ident, name, "93.184.216.34"))
        t += rng.uniform(0.5, 5)


# --- lateral movement ----------------------------------------------------------------------

def scenario_lateral(s):
    rng, net = s.rng, s.net
    pc = net.internal()
    hosts = [net.internal() for _ in range(rng.randint(6, 15))]
    admin = svc = 0
    for h in hosts:
        port = rng.choice([445, 445, 445, 135, 5985, 3389])
        sess = Session(s.cap, s.t, pc, s.eport(), h, port).handshake()
        if port == 445:
            sess.send(smb2(0), 0.01).reply(smb2(0), 0.01)
            sess.send(smb2(1), 0.01).reply(smb2(1), 0.01)
            share = rng.choice(["ADMIN$", "C$", "IPC$"])
            sess.send(smb2_tree_connect("\\\\%s\\%s" % (h, share)), 0.02).reply(smb2(3), 0.01)
            if share != "IPC$":
                admin += 1
                s.want("admin_share", pc, h)
            if rng.random() < 0.5:
                sess.send(smb2_tree_connect("\\\\%s\\IPC$" % h), 0.02).reply(smb2(3), 0.01)
                sess.send(smb2_create("svcctl"), 0.02).reply(smb2(5), 0.01)
                svc += 1
                s.want("svcctl", pc, h)
        else:
            sess.send(bytes(rng.getrandbits(8) for _ in range(rng.randint(100, 2000))), 0.05)
            sess.reply(bytes(rng.getrandbits(8) for _ in range(rng.randint(100, 2000))), 0.05)
        sess.close(0.05)
        s.t = sess.t + rng.uniform(0.5, 20)
    s.want("lateral", pc)


# --- files ---------------------------------------------------------------------------------

def scenario_files(s, out_dir):
    rng, net = s.rng, s.net
    pc, srv = net.internal(), net.external()
    name = "/%s/%s" % (rng.choice(["dl", "files", "tmp"]), rng.choice(["eicar.com", "eicar.txt",
                                                                       "invoice.exe"]))
    http_download(s, pc, srv, name, EICAR, rng.choice(["plain", "gzip", "chunked"]),
                   "files.example.net")
    s.want("bad_file", pc, srv)
    s.files.append({"sha256": hashlib.sha256(EICAR).hexdigest(), "count": 1})
    # A file on the provider's list (CSV as abuse.ch ships), and one that is not.
    bad = bytes(rng.getrandbits(8) for _ in range(rng.randint(2000, 60000)))
    good = bytes(rng.getrandbits(8) for _ in range(rng.randint(2000, 60000)))
    pc2, srv2 = net.internal(), net.external()
    http_download(s, pc2, srv2, "/update.bin", bad, rng.choice(["plain", "chunked"]),
                   "cdn.example.org")
    http_download(s, pc2, srv2, "/readme.pdf", good, "plain", "cdn.example.org")
    s.want("bad_file", pc2, srv2)
    s.files.append({"sha256": hashlib.sha256(bad).hexdigest(), "count": 1})
    s.files.append({"sha256": hashlib.sha256(good).hexdigest(), "count": 1})
    csv = os.path.join(out_dir, "feed.csv")
    with open(csv, "w") as f:
        f.write("# first_seen,sha256_hash,md5_hash,file_name\n")
        f.write('"2026-01-01 00:00:00","%s","%s","update.bin"\n' % (
            hashlib.sha256(bad).hexdigest(), hashlib.md5(bad).hexdigest()))
        f.write("not,a,hash,line\n")
    s.sensor_args += ["--set", "behaviour.files.hash-lists=" + csv]
    # FTP: a download (RETR) of the EICAR file or of the listed one, and an upload (STOR) of
    # an unlisted file, each in passive (PASV/EPSV) or active (PORT/EPRT) mode, the data
    # connection opened before or after the command; a directory listing between them.
    pc3, ftp = net.internal(), net.external()
    got, got_name = rng.choice([(EICAR, "eicar.com"), (bad, "update.bin")])
    got_name = rng.choice(["", "pub/", "/incoming/"]) + got_name
    put = bytes(rng.getrandbits(8) for _ in range(rng.randint(500, 40000)))
    put_name = rng.choice(["report.xlsx", "scan 2026-01.pdf", "backup.zip"])
    sess = Session(s.cap, s.t, pc3, s.eport(), ftp, 21).handshake()
    sess.reply(b"220 (vsFTPd 3.0.5)\r\n", 0.02)
    sess.send(b"USER anonymous\r\n", 0.1).reply(b"331 Please specify the password.\r\n", 0.02)
    sess.send(b"PASS guest@example.jp\r\n", 0.1).reply(b"230 Login successful.\r\n", 0.02)
    sess.send(b"TYPE I\r\n", 0.05).reply(b"200 Switching to Binary mode.\r\n", 0.02)
    s.want("cleartext_out", pc3, ftp)
    for command, name, data in [("LIST", "", b"-rw-r--r-- 1 ftp ftp 68 Jan 1 eicar.com\r\n" * 3),
                                ("RETR", got_name, got), ("STOR", put_name, put)]:
        mode = rng.choice(["PASV", "EPSV", "PORT", "EPRT"])
        port = rng.randint(20000, 60000)
        if mode == "PASV":
            a = ftp.replace(".", ",") if rng.random() < 0.5 else "10,0,0,5"  # behind a NAT
            sess.send(b"PASV\r\n", 0.05)
            sess.reply(b"227 Entering Passive Mode (%s,%d,%d).\r\n" % (
                a.encode(), port // 256, port % 256), 0.02)
        elif mode == "EPSV":
            sess.send(b"EPSV\r\n", 0.05)
            sess.reply(b"229 Entering Extended Passive Mode (|||%d|)\r\n" % port, 0.02)
        elif mode == "PORT":
            sess.send(b"PORT %s,%d,%d\r\n" % (pc3.replace(".", ",").encode(), port // 256,
                                                 port % 256), 0.05)
            sess.reply(b"200 PORT command successful.\r\n", 0.02)
        else:
            sess.send(b"EPRT |1|%s|%d|\r\n" % (pc3.encode(), port), 0.05)
            sess.reply(b"200 EPRT command successful.\r\n", 0.02)
        line = (command + (" " + name if name else "")).encode() + b"\r\n"
        early = rng.random() < 0.5  # the data connection opened before the command
        if not early:
            sess.send(line, 0.05).reply(b"150 Opening BINARY mode data connection.\r\n", 0.02)
        if mode in ("PASV", "EPSV"):
            data_sess = Session(s.cap, sess.t + 0.01, pc3, s.eport(), ftp, port).handshake()
        else:
            data_sess = Session(s.cap, sess.t + 0.01, ftp, 20, pc3, port).handshake()
        if early:
            sess.t = data_sess.t
            sess.send(line, 0.01).reply(b"150 Opening BINARY mode data connection.\r\n", 0.02)
            data_sess.t = sess.t
        # The file goes to the client (RETR, LIST) or to the server (STOR).
        to_ftp_client = command != "STOR"
        from_client_side = (mode in ("PASV", "EPSV")) != to_ftp_client
        data_sess.send(data, 0.01, to_server=from_client_side)
        data_sess.close(0.01, client_first=from_client_side)
        sess.t = data_sess.t
        sess.reply(b"226 Transfer complete.\r\n", 0.01)
    sess.send(b"QUIT\r\n", 0.1).reply(b"221 Goodbye.\r\n", 0.01).close(0.05)
    s.t = sess.t + rng.uniform(1, 30)
    s.want("bad_file_ftp", pc3, ftp)
    if got is EICAR:
        s.files[0]["count"] += 1
    else:
        s.files[1]["count"] += 1
    s.files.append({"sha256": hashlib.sha256(put).hexdigest(), "count": 1,
                    "filename": put_name})
    s.files.append({"sha256": hashlib.sha256(got).hexdigest(), "count": 1,
                    "filename": got_name})


# --- threat intelligence -------------------------------------------------------------------

def scenario_intel(s, out_dir):
    rng, net = s.rng, s.net
    bad_ip, bad_net_host, clean = net.external(), net.external(), net.external()
    net24 = ".".join(bad_net_host.split(".")[:3]) + ".0/24"
    domain = rng.choice(["evil-%d.example", "c2-%d.example.net", "drop%d.example.org"]) % (
        rng.randint(1, 999))
    url_host = "update-%d.example.com" % rng.randint(1, 999)
    lst = os.path.join(out_dir, "indicators.txt")
    with open(lst, "w") as f:
        f.write("# indicators as feeds ship them\n%s\n%s\n%s\nhttp://%s:8080/payload.bin\n"
                "not an indicator at all!\n" % (bad_ip, net24, domain, url_host))
    # Two malware families' TLS clients, one listed by JA3, the other by JA4 (uppercase and
    # bare in the feed: matched all the same).
    suites_a = tuple(rng.sample([0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc030, 0x009e], 3))
    suites_b = tuple(rng.sample([0xc013, 0xc014, 0x002f, 0x0035, 0x000a], 4))
    ja3_a, _ = tls_client_hello_fingerprints(suites_a)
    _, ja4_b = tls_client_hello_fingerprints(suites_b)
    csv = os.path.join(out_dir, "intel-feed.csv")
    with open(csv, "w") as f:
        f.write("id,dateadded,ioc,threat\n1,2026-01-01,%s,botnet_cc\n" % bad_ip)
        f.write("2,2026-01-02,ja3:%s,loader\n3,2026-01-03,%s,stealer\n" % (ja3_a, ja4_b.upper()))
    s.sensor_args += ["--set", "behaviour.intel.lists=[%s,%s]" % (lst, csv)]
    pc4 = net.internal()
    for suites in (suites_a, suites_b):
        dst = net.external()
        sess = Session(s.cap, s.t, pc4, s.eport(), dst, 443).handshake()
        sess.send(tls_client_hello("cdn%d.example.com" % rng.randint(1, 99), rng, suites), 0.01)
        sess.reply(tls_server_hello(rng), 0.03).close(0.1)
        s.want("intel_tls", pc4, dst)
        s.t += rng.uniform(2, 20)
    # A PC connecting to the listed address; another to an address of the listed block.
    pc = net.internal()
    Session(s.cap, s.t, pc, s.eport(), bad_ip, 443).handshake().send(b"x" * 300, 0.1).close(0.1)
    s.want("intel_ip", pc, bad_ip)
    s.t += rng.uniform(5, 100)
    pc2 = net.internal()
    s.cap.udp(s.t, pc2, s.eport(), bad_net_host, rng.choice([53, 123, 8443]), b"hello")
    s.want("intel_ip", pc2, bad_net_host)
    s.t += rng.uniform(5, 100)
    # A lookup of a subdomain of the listed domain, then TLS to it; HTTP to the URL's host.
    resolver, pc3 = net.gateway(), net.internal()
    name = "%s.%s" % (rng.choice(["api", "x1", "cdn"]), domain)
    s.cap.udp(s.t, pc3, s.eport(), resolver, 53, dns_query(rng.randint(0, 65535), name))
    s.want("intel_lookup", pc3, resolver)
    srv = net.external()
    sess = Session(s.cap, s.t + 0.05, pc3, s.eport(), srv, 443).handshake()
    sess.send(tls_client_hello(name, rng), 0.01).reply(tls_server_hello(rng), 0.03).close(0.1)
    s.want("intel_name", pc3, srv)
    s.t += rng.uniform(5, 100)
    srv2 = net.external()
    sess = Session(s.cap, s.t, pc3, s.eport(), srv2, 8080).handshake()
    sess.send(b"GET /payload.bin HTTP/1.1\r\nHost: %s:8080\r\n\r\n" % url_host.encode(), 0.01)
    sess.reply(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", 0.05).close(0.1)
    s.want("intel_name", pc3, srv2)
    # Unlisted: nothing.
    Session(s.cap, s.t + 10, pc, s.eport(), clean, 443).handshake().close(0.1)
    s.cap.udp(s.t + 11, pc, s.eport(), resolver, 53, dns_query(1, "www.example.com"))


# --- large uploads --------------------------------------------------------------------------

def _upload(s, client, server, size, kind, name=None, port=None):
    """One upload of about `size` bytes: TLS (with SNI when named), an HTTP PUT, or raw TCP."""
    rng = s.rng
    port = port or {"tls": 443, "http": 80, "raw": rng.choice([22, 8443, 9000])}[kind]
    sess = Session(s.cap, s.t, client, s.eport(), server, port).handshake()
    if kind == "tls":
        sess.send(tls_client_hello(name or "", rng) if name else rng.randbytes(300), 0.01)
        sess.reply(tls_server_hello(rng), 0.03)
    elif kind == "http":
        sess.send(b"PUT /upload/%d HTTP/1.1\r\nHost: %s\r\nContent-Length: %d\r\n\r\n" % (
            rng.randint(1, 10 ** 6), (name or server).encode(), size), 0.01)
    left = size
    while left > 0:
        k = min(left, rng.randint(200000, 600000))
        sess.send(rng.randbytes(k), rng.uniform(0.01, 0.5))
        left -= k
    sess.reply(b"HTTP/1.1 201 Created\r\nContent-Length: 0\r\n\r\n" if kind == "http"
               else rng.randbytes(100), 0.05)
    sess.close(0.05)
    s.t = sess.t + rng.uniform(1, 30)


def scenario_upload(s):
    """After a learning period, an internal host sends more than the threshold to an address it
    never talked to before (in one or several connections, TLS, HTTP or raw): one low alert.
    Quiet: large uploads to destinations known from the learning period (by address, or by name
    at a new address), to cloud storage on the allow-list by SNI, below the threshold, spread
    over more than the window, and into the network from the internet."""
    rng, net = s.rng, s.net
    mib = 1 << 20
    threshold = rng.randint(1 * mib, 3 * mib)
    window = rng.randint(600, 1800)
    learning = rng.randint(900, 3600)
    s.sensor_args += ["--set", "behaviour.upload.bytes=%d" % threshold,
                      "--set", "behaviour.upload.window=%d" % window,
                      "--set", "behaviour.upload.learning=%d" % learning]
    start = s.t
    # Learning: ordinary visits.
    pc1, k1 = net.internal(), net.external()
    nas, k2 = net.internal(), net.external()
    backup_name = "backup%d.example-cloud.jp" % rng.randint(1, 99)
    _upload(s, pc1, k1, rng.randint(1000, 50000), rng.choice(["tls", "raw"]))
    _upload(s, nas, k2, rng.randint(1000, 50000), "tls", backup_name)
    s.t = start + learning + rng.uniform(10, 600)
    # The exfiltration: a new destination, over the threshold within the window.
    pc = net.internal()
    x = net.external()
    kind = rng.choice(["tls", "http", "raw"])
    name = rng.choice([None, "share-%d.example.net" % rng.randint(1, 999)])
    total = int(threshold * rng.uniform(1.2, 3))
    parts = rng.randint(1, 4)
    t0 = s.t
    for i in range(parts):
        _upload(s, pc, x, total // parts, kind, name)
        s.t = min(s.t, t0 + (i + 1) * window / (parts + 1))
    s.want("upload", pc, x)
    big = lambda: int(threshold * rng.uniform(1.3, 3))  # noqa: E731
    # Known destinations: the same address, and the learned name at a new address.
    _upload(s, pc1, k1, big(), rng.choice(["tls", "raw"]))
    _upload(s, nas, net.external(), big(), "tls", backup_name)
    # Cloud storage named by SNI (the built-in allow-list).
    cloud = rng.choice(["backup-%d.s3.ap-northeast-1.amazonaws.com", "f00%d.backblazeb2.com",
                        "office%d.blob.core.windows.net", "tenant%d-my.sharepoint.com",
                        "www.dropbox%d.dropboxapi.com"]) % rng.randint(1, 9)
    _upload(s, net.internal(), net.external(), big(), "tls", cloud)
    # Below the threshold; twice 0.6 of it, further apart than the window.
    _upload(s, net.internal(), net.external(), int(threshold * rng.uniform(0.2, 0.6)),
            rng.choice(["tls", "http", "raw"]))
    pc2, y = net.internal(), net.external()
    _upload(s, pc2, y, int(threshold * 0.6), "raw")
    s.t += window + rng.uniform(60, 600)
    _upload(s, pc2, y, int(threshold * 0.6), "raw")
    # Into the network: a customer's upload to the office's web server.
    _upload(s, net.external(), net.internal(), big(), "http", "www.example.co.jp")


SCENARIOS = {
    "scan": scenario_scan, "guess": scenario_guess, "exposed": scenario_exposed,
    "beacon": scenario_beacon, "dns": scenario_dns, "lateral": scenario_lateral,
    "files": scenario_files, "intel": scenario_intel, "office": scenario_office,
    "cleartext": scenario_cleartext, "upload": scenario_upload,
}


def check(eve_path, s):
    problems = []
    alerts = []
    fileinfo = []
    with open(eve_path) as f:
        for line in f:
            r = json.loads(line)
            if r["event_type"] == "alert" and GID_LO <= r["alert"].get("gid", 0) <= GID_HI:
                alerts.append(r)
            elif r["event_type"] == "fileinfo":
                fileinfo.append(r)
    used = set()
    for e in s.expect:
        a, b = e["hosts"]
        got = []
        for i, r in enumerate(alerts):
            if r["alert"]["signature_id"] != e["sid"] or i in used:
                continue
            ends = {r["src_ip"], r["dest_ip"]}
            if a in ends and (b is None or b in ends):
                got.append(i)
        if len(got) != e["count"]:
            problems.append("sid %d between %s and %s: %d alerts, expected %d" % (
                e["sid"], a, b or "any", len(got), e["count"]))
        used.update(got[:e["count"]])
        e["alerts"] = [alerts[i] for i in got]
    for i, r in enumerate(alerts):
        if i not in used:
            problems.append("unexpected: %s %s -> %s (%s)" % (
                r["alert"]["signature"], r["src_ip"], r["dest_ip"],
                json.dumps(r["alert"].get("behaviour"))))
    for fe in s.files:
        n = sum(1 for r in fileinfo if r["fileinfo"].get("sha256") == fe["sha256"] and
                r["fileinfo"].get("filename") == fe.get("filename", r["fileinfo"].get("filename")))
        if n != fe["count"]:
            problems.append("fileinfo with sha256 %s: %d records, expected %d" % (
                fe["sha256"], n, fe["count"]))
    return problems, len(alerts)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", required=True)
    ap.add_argument("--scenario", required=True, choices=sorted(SCENARIOS))
    ap.add_argument("--variants", type=int, default=4)
    ap.add_argument("--seed", type=int, default=None, help="first variant's seed (default: random)")
    ap.add_argument("--hours", type=float, default=3, help="office: hours of traffic")
    ap.add_argument("--keep", help="keep captures and EVE output in this folder")
    ap.add_argument("sensor_args", nargs="*", help="more mimamori-sensor arguments (after --)")
    args = ap.parse_args()
    first = args.seed if args.seed is not None else random.SystemRandom().randint(1, 10 ** 6)
    root = args.keep or tempfile.mkdtemp(prefix="behaviour-")
    if not args.keep:
        atexit.register(shutil.rmtree, root, True)
    ok = 0
    for v in range(args.variants):
        seed = first + v
        rng = random.Random(seed)
        d = os.path.join(root, "%s-%d" % (args.scenario, seed))
        os.makedirs(d, exist_ok=True)
        s = Scenario(rng, 1.7e9 + rng.randint(0, 10 ** 7))
        fn = SCENARIOS[args.scenario]
        if args.scenario in ("files", "intel"):
            fn(s, d)
        elif args.scenario == "office":
            fn(s, args.hours)
        else:
            fn(s)
        pcap = os.path.join(d, "capture.pcap")
        packets = s.cap.write(pcap)
        cmd = [os.path.join(args.bin, "mimamori-sensor"), "-r", pcap, "-l", d, "-k", "none",
               "--set", "outputs.eve.flow=false"] + s.sensor_args + args.sensor_args
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            print("variant seed %d: mimamori-sensor failed (%d): %s" % (
                seed, proc.returncode, proc.stderr[-2000:]))
            continue
        problems, n = check(os.path.join(d, "eve.json"), s)
        if getattr(s, "cleartext", None):
            kind, user, pw = s.cleartext
            text = open(os.path.join(d, "eve.json")).read()
            alerts = [json.loads(line) for line in text.splitlines()
                      if '"event_type":"alert"' in line.replace(" ", "")]
            if not any(a["alert"].get("behaviour", {}).get("user") == user for a in alerts):
                problems.append("no cleartext alert names the user %s (%s)" % (user, kind))
            if any(pw in json.dumps(a) for a in alerts):
                problems.append("an alert holds the password")
            tuser, tpw = s.telnet
            if not any(a["alert"].get("behaviour", {}).get("user") == tuser and
                       a["alert"]["behaviour"].get("protocol") == "Telnet" for a in alerts):
                problems.append("no Telnet alert names the user %s" % tuser)
            if any(tpw in json.dumps(a) for a in alerts):
                problems.append("an alert holds the Telnet password")
        if problems:
            print("variant seed %d (%d packets): %d problem(s)" % (seed, packets, len(problems)))
            for p in problems:
                print("  " + p)
        else:
            ok += 1
            print("variant seed %d (%d packets): %d behaviour alerts, as expected" % (
                seed, packets, n))
        if args.scenario == "files" and "is not an MD5 or SHA-256 hash" not in proc.stderr:
            print("  the bad line of feed.csv was not reported")
            ok -= 1
        if args.scenario == "intel" and "indicators.txt:6: 'not an indicator at all!' is not" \
                not in proc.stderr:
            print("  the bad line of indicators.txt was not reported")
            ok -= 1
    print("%d of %d variants as expected (seeds %d-%d; --seed %d repeats them)" % (
        ok, args.variants, first, first + args.variants - 1, first))
    return 0 if ok == args.variants else 1


if __name__ == "__main__":
    sys.exit(main())
