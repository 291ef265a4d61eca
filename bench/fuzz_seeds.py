#!/usr/bin/env python3
"""Builds libFuzzer seed folders for the net fuzz targets from corpus captures (classic pcap
files): frames for the decoder, small whole captures for the pipeline, and TCP/UDP payloads
by well-known port for the parsers (seeds only; the parsers themselves detect by content).

usage: fuzz_seeds.py SURICATA_VERIFY_DIR OUT_DIR
"""
import os
import shutil
import struct
import sys

PORTS = {80: "http", 8080: "http", 443: "tls", 22: "ssh", 53: "dns"}


def frames(path):
    with open(path, "rb") as f:
        data = f.read()
    if len(data) < 24:
        return None, []
    magic = struct.unpack("<I", data[:4])[0]
    if magic in (0xA1B2C3D4, 0xA1B23C4D):
        e = "<"
    elif magic in (0xD4C3B2A1, 0x4D3CB2A1):
        e = ">"
    else:
        return None, []
    link = struct.unpack(e + "I", data[20:24])[0]
    out, pos = [], 24
    while pos + 16 <= len(data) and len(out) < 2000:
        _, _, incl, _ = struct.unpack(e + "IIII", data[pos:pos + 16])
        pos += 16
        out.append(data[pos:pos + incl])
        pos += incl
    return link, out


def l4(frame):
    """(proto, sport, dport, payload) of an Ethernet/IPv4 frame, or None."""
    if len(frame) < 34 or frame[12:14] != b"\x08\x00":
        return None
    ip = frame[14:]
    hl = (ip[0] & 15) * 4
    proto = ip[9]
    t = ip[hl:]
    if proto == 6 and len(t) >= 20:
        return 6, struct.unpack("!H", t[:2])[0], struct.unpack("!H", t[2:4])[0], t[(t[12] >> 4) * 4:]
    if proto == 17 and len(t) >= 8:
        return 17, struct.unpack("!H", t[:2])[0], struct.unpack("!H", t[2:4])[0], t[8:]
    return None


def chunk(direction, payload):
    h = min(126, max(0, (len(payload) - 1 + 15) // 16))
    n = h * 16 + 1
    return bytes([h | (0x80 if direction else 0)]) + payload[:n].ljust(n, b"\0")


def main():
    src, out = sys.argv[1], sys.argv[2]
    shutil.rmtree(out, ignore_errors=True)
    for t in ("decode", "http", "dns", "tls", "ssh", "pipeline"):
        os.makedirs(os.path.join(out, t))
    counts = dict.fromkeys(("decode", "http", "dns", "tls", "ssh", "pipeline"), 0)
    links = {1: 0, 12: 1, 101: 2, 113: 3, 276: 4, 0: 5, 108: 6, 9: 7, 104: 8, 228: 9, 229: 10}
    for d, _, files in sorted(os.walk(src)):
        for name in sorted(files):
            if not name.endswith(".pcap"):
                continue
            path = os.path.join(d, name)
            link, fr = frames(path)
            if link is None or not fr:
                continue
            tag = f"{counts['pipeline']:05d}"
            if os.path.getsize(path) <= 65536 and counts["pipeline"] < 400:
                shutil.copy(path, os.path.join(out, "pipeline", tag))
                counts["pipeline"] += 1
            if link in links and counts["decode"] < 600:
                blob = bytes([links[link]])
                for f in fr[:16]:
                    blob += struct.pack("!H", len(f)) + f
                open(os.path.join(out, "decode", tag), "wb").write(blob)
                counts["decode"] += 1
            flows = {}
            for f in fr:
                x = l4(f) if link == 1 else None
                if not x or not x[3]:
                    continue
                proto, sp, dp, pl = x
                kind = PORTS.get(dp) or PORTS.get(sp)
                if not kind or (kind == "dns") != (proto == 17 or dp == 53 or sp == 53):
                    continue
                flows.setdefault(kind, []).append(chunk(1 if sp in PORTS else 0, pl))
            for kind, chunks in flows.items():
                if counts[kind] >= 300:
                    continue
                blob = b"\x00" + b"".join(chunks[:6])
                open(os.path.join(out, kind, tag), "wb").write(blob)
                counts[kind] += 1
    print("seeds: " + ", ".join(f"{k} {v}" for k, v in counts.items()))


if __name__ == "__main__":
    main()
