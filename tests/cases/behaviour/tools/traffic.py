"""Writes synthetic captures for the behaviour detectors' cases: Ethernet/IPv4 frames with TCP
sessions (handshake, data both ways with consistent sequence numbers, FIN or RST), UDP
datagrams and ICMP echoes, sorted by time into a pcap file. Checksums are left zero (the cases
run the sensor with -k none); payloads are real protocol bytes where a detector reads them."""

import gzip
import hashlib
import ipaddress
import struct

ETH_SRC = b"\x02\x00\x00\x00\x00\x01"
ETH_DST = b"\x02\x00\x00\x00\x00\x02"

FIN, SYN, RST, PSH, ACK = 0x01, 0x02, 0x04, 0x08, 0x10


def _ip(a):
    return ipaddress.IPv4Address(a).packed


class Capture:
    def __init__(self):
        self.frames = []  # (time, seq, bytes)
        self._n = 0

    def _add(self, t, frame):
        self._n += 1
        self.frames.append((t, self._n, frame))

    def ipv4(self, t, src, dst, proto, l4, ttl=64):
        total = 20 + len(l4)
        hdr = struct.pack("!BBHHHBBH4s4s", 0x45, 0, total, self._n & 0xFFFF, 0x4000, ttl, proto, 0,
                          _ip(src), _ip(dst))
        self._add(t, ETH_DST + ETH_SRC + b"\x08\x00" + hdr + l4)

    def tcp(self, t, src, sport, dst, dport, seq, ack, flags, payload=b""):
        hdr = struct.pack("!HHIIBBHHH", sport, dport, seq & 0xFFFFFFFF, ack & 0xFFFFFFFF, 5 << 4,
                          flags, 64240, 0, 0)
        self.ipv4(t, src, dst, 6, hdr + payload)

    def udp(self, t, src, sport, dst, dport, payload):
        hdr = struct.pack("!HHHH", sport, dport, 8 + len(payload), 0)
        self.ipv4(t, src, dst, 17, hdr + payload)

    def icmp_echo(self, t, src, dst, ident, seq, reply=False):
        hdr = struct.pack("!BBHHH", 0 if reply else 8, 0, 0, ident, seq)
        self.ipv4(t, src, dst, 1, hdr + b"\x00" * 32)

    def write(self, path):
        self.frames.sort(key=lambda f: (f[0], f[1]))
        with open(path, "wb") as out:
            out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
            for t, _, frame in self.frames:
                sec = int(t)
                usec = int(round((t - sec) * 1e6))
                if usec >= 1000000:
                    sec, usec = sec + 1, usec - 1000000
                out.write(struct.pack("<IIII", sec, usec, len(frame), len(frame)))
                out.write(frame)
        return len(self.frames)


class Session:
    """One TCP connection; each method advances its clock by the given gap (seconds)."""

    MSS = 1400

    def __init__(self, cap, t, client, cport, server, sport, rtt=0.02):
        self.cap, self.t, self.rtt = cap, t, rtt
        self.c, self.cp, self.s, self.sp = client, cport, server, sport
        self.cseq, self.sseq = 1000, 5000

    def handshake(self, accept=True):
        cap = self.cap
        cap.tcp(self.t, self.c, self.cp, self.s, self.sp, self.cseq, 0, SYN)
        self.t += self.rtt / 2
        if not accept:
            cap.tcp(self.t, self.s, self.sp, self.c, self.cp, 0, self.cseq + 1, RST | ACK)
            return self
        cap.tcp(self.t, self.s, self.sp, self.c, self.cp, self.sseq, self.cseq + 1, SYN | ACK)
        self.cseq += 1
        self.sseq += 1
        self.t += self.rtt / 2
        cap.tcp(self.t, self.c, self.cp, self.s, self.sp, self.cseq, self.sseq, ACK)
        return self

    def send(self, data, gap=0.0, to_server=True):
        self.t += gap
        for i in range(0, max(len(data), 1), self.MSS):
            chunk = data[i:i + self.MSS]
            if not chunk:
                break
            if to_server:
                self.cap.tcp(self.t, self.c, self.cp, self.s, self.sp, self.cseq, self.sseq,
                             PSH | ACK, chunk)
                self.cseq += len(chunk)
            else:
                self.cap.tcp(self.t, self.s, self.sp, self.c, self.cp, self.sseq, self.cseq,
                             PSH | ACK, chunk)
                self.sseq += len(chunk)
            self.t += 0.0005
        # the other side acknowledges
        self.t += self.rtt / 2
        if to_server:
            self.cap.tcp(self.t, self.s, self.sp, self.c, self.cp, self.sseq, self.cseq, ACK)
        else:
            self.cap.tcp(self.t, self.c, self.cp, self.s, self.sp, self.cseq, self.sseq, ACK)
        return self

    def reply(self, data, gap=0.0):
        return self.send(data, gap, to_server=False)

    def close(self, gap=0.0, client_first=True):
        self.t += gap
        a = (self.c, self.cp, self.s, self.sp, "c")
        b = (self.s, self.sp, self.c, self.cp, "s")
        first, second = (a, b) if client_first else (b, a)
        seqs = {"c": self.cseq, "s": self.sseq}
        self.cap.tcp(self.t, first[0], first[1], first[2], first[3], seqs[first[4]],
                     seqs[second[4]], FIN | ACK)
        self.t += self.rtt / 2
        self.cap.tcp(self.t, second[0], second[1], second[2], second[3], seqs[second[4]],
                     seqs[first[4]] + 1, FIN | ACK)
        self.t += self.rtt / 2
        self.cap.tcp(self.t, first[0], first[1], first[2], first[3], seqs[first[4]] + 1,
                     seqs[second[4]] + 1, ACK)
        return self


def dns_query(ident, name, qtype=1):
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00"
    return struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 0) + q + struct.pack("!HH", qtype, 1)


def dns_answer(ident, name, addr):
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00"
    return (struct.pack("!HHHHHH", ident, 0x8180, 1, 1, 0, 0) + q + struct.pack("!HH", 1, 1) +
            b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 300, 4) + _ip(addr))


def dns_answer_records(ident, name, qtype, rdatas):
    """A response to `name` (type `qtype`) with one answer of that type per rdata (raw bytes)."""
    q = b"".join(bytes([len(p)]) + p.encode() for p in name.split(".")) + b"\x00"
    out = struct.pack("!HHHHHH", ident, 0x8180, 1, len(rdatas), 0, 0) + q + struct.pack(
        "!HH", qtype, 1)
    for rd in rdatas:
        out += b"\xc0\x0c" + struct.pack("!HHIH", qtype, 1, 60, len(rd)) + rd
    return out


def txt_rdata(text):
    """TXT rdata: the text in character-strings of up to 255 bytes."""
    return b"".join(bytes([len(text[i:i + 255])]) + text[i:i + 255]
                    for i in range(0, len(text), 255))


def tls_client_hello(sni, rng, ciphers=(0x1301, 0x1302)):
    name = sni.encode()
    sni_ext = struct.pack("!HHHBH", 0, len(name) + 5, len(name) + 3, 0, len(name)) + name
    ext = sni_ext + struct.pack("!HHH", 0x000a, 4, 2) + b"\x00\x1d"
    suites = b"".join(struct.pack("!H", c) for c in ciphers)
    body = (b"\x03\x03" + bytes(rng.getrandbits(8) for _ in range(32)) + b"\x00" +
            struct.pack("!H", len(suites)) + suites + b"\x01\x00" + struct.pack("!H", len(ext)) +
            ext)
    hs = b"\x01" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x01" + struct.pack("!H", len(hs)) + hs


def tls_client_hello_fingerprints(ciphers=(0x1301, 0x1302)):
    """JA3 hash and JA4 of tls_client_hello(..., ciphers): TLS 1.2 record version 771, the
    given suites, extensions server_name (0) and supported_groups (10) with x25519 (29), no
    point formats, no ALPN, no signature algorithms (computed here from the published
    definitions, not by the sensor)."""
    ja3 = "771,%s,0-10,29," % "-".join(str(c) for c in ciphers)
    b = hashlib.sha256(",".join(sorted("%04x" % c for c in ciphers)).encode()).hexdigest()[:12]
    c = hashlib.sha256(b"000a").hexdigest()[:12]
    ja4 = "t12d%02d0200_%s_%s" % (len(ciphers), b, c)
    return hashlib.md5(ja3.encode()).hexdigest(), ja4


def tls_server_hello(rng):
    body = (b"\x03\x03" + bytes(rng.getrandbits(8) for _ in range(32)) + b"\x00" + b"\x13\x01" +
            b"\x00" + struct.pack("!H", 6) + struct.pack("!HHH", 0x002b, 2, 0x0304))
    hs = b"\x02" + struct.pack("!I", len(body))[1:] + body
    return b"\x16\x03\x03" + struct.pack("!H", len(hs)) + hs


def tls_app_data(n, rng):
    out = b""
    while n > 0:
        k = min(n, 16000)
        out += b"\x17\x03\x03" + struct.pack("!H", k) + bytes(rng.getrandbits(8) for _ in range(k))
        n -= k
    return out


def smb2(command, status=0, body=b""):
    hdr = (b"\xfeSMB" + struct.pack("<HHIHHIIQIIQ", 64, 1, status, command, 1, 0, 0, 0, 0, 0, 0) +
           b"\x00" * 16)
    msg = hdr + body
    return struct.pack("!I", len(msg)) + msg


def smb2_tree_connect(path):
    p = path.encode("utf-16-le")
    return smb2(3, body=struct.pack("<HHHH", 9, 0, 72, len(p)) + p)


def smb2_create(name):
    p = name.encode("utf-16-le")
    return smb2(5, body=struct.pack("<HBBIQQIIIIIHHII", 57, 0, 0, 2, 0, 0, 0x12019F, 0, 7, 1, 0,
                                    120, len(p), 0, 0) + p)


def http_download(s, client, server, path, body, mode, host):
    """One HTTP download by `client` of `body` (plain, gzip or chunked) at the scenario's time; the
    time then moves on by 1-30 s."""
    sess = Session(s.cap, s.t, client, s.eport(), server, 80).handshake()
    sess.send(b"GET %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: Mozilla/5.0\r\n\r\n" %
              (path.encode(), host.encode()), 0.01)
    if mode == "gzip":
        z = gzip.compress(body)
        head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(z)
        sess.reply(head + z, 0.05)
    elif mode == "chunked":
        mid = len(body) // 2
        chunks = b"".join(b"%x\r\n%s\r\n" % (len(c), c) for c in (body[:mid], body[mid:]) if c)
        sess.reply(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + chunks + b"0\r\n\r\n",
                   0.05)
    else:
        sess.reply(b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\n"
                   b"Content-Length: %d\r\n\r\n%s" % (len(body), body), 0.05)
    sess.close(0.05)
    s.t = sess.t + s.rng.uniform(1, 30)
