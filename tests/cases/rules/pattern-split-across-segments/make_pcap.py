#!/usr/bin/env python3
"""Writes split.pcap: TCP sessions (client port 40001, 40002, ...) whose client data is sent in
the segments given below, each one ACKed by the server, so that a pattern may lie across two
or more segments, as an evasion tool would send it."""
import struct

SESSIONS = [
    [b"hello EVILPATTERN bye"],                  # 40001: in one segment
    [b"hello EVILPA", b"TTERN bye"],             # 40002: across two
    [b"hello EV", b"ILPAT", b"TERN bye"],        # 40003: across three
    [bytes([c]) for c in b"EVILPATTERN"],        # 40004: one byte a segment
    [b"EVILPATTERN", b"EVILPATTERN"],            # 40005: twice, each whole: two alerts
    [b"EVILPATTERN x", b"yz"],                   # 40006: once, then more data: one alert
    [b"EVILPATT", b"ERZ EVILPATTERX"],           # 40007: never whole: no alert
]


def checksum(b):
    if len(b) % 2:
        b += b"\0"
    s = sum(struct.unpack(f"!{len(b) // 2}H", b))
    s = (s >> 16) + (s & 0xFFFF)
    s += s >> 16
    return ~s & 0xFFFF


def packet(src, dst, sport, dport, seq, ack, flags, data=b""):
    tcp = struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 5 << 4, flags, 65535, 0, 0) + data
    pseudo = src + dst + struct.pack("!BBH", 0, 6, len(tcp))
    tcp = tcp[:16] + struct.pack("!H", checksum(pseudo + tcp)) + tcp[18:]
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0, 64, 6, 0, src, dst)
    ip = ip[:10] + struct.pack("!H", checksum(ip)) + ip[12:]
    return b"\x02\0\0\0\0\x02" + b"\x02\0\0\0\0\x01" + b"\x08\x00" + ip + tcp


def session(sport, segments):
    c, s, dport = bytes([10, 0, 0, 1]), bytes([10, 0, 0, 2]), 9999
    out = [packet(c, s, sport, dport, 1000, 0, 0x02), packet(s, c, dport, sport, 5000, 1001, 0x12),
           packet(c, s, sport, dport, 1001, 5001, 0x10)]
    seq = 1001
    for data in segments:
        out.append(packet(c, s, sport, dport, seq, 5001, 0x18, data))
        seq += len(data)
        out.append(packet(s, c, dport, sport, 5001, seq, 0x10))
    out += [packet(c, s, sport, dport, seq, 5001, 0x11), packet(s, c, dport, sport, 5001, seq + 1, 0x11),
            packet(c, s, sport, dport, seq + 1, 5002, 0x10)]
    return out


with open("split.pcap", "wb") as f:
    f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    n = 0
    for i, segments in enumerate(SESSIONS):
        for p in session(40001 + i, segments):
            n += 1
            f.write(struct.pack("<IIII", 1700000000 + n, 0, len(p), len(p)) + p)
