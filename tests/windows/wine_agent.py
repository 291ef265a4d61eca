"""What the Windows agent's wine tests share: Windows paths for wine, and the spool's segments
read back (records: u32 magic 'MMSP', u32 type, u32 length, u64 seq, u32 crc, then the payload;
type 1 an event, type 2 a commit whose payload is u64 next_seq and length-prefixed checkpoint
name/value pairs; a commit makes the events before it count)."""
import os
import struct

MAGIC = 0x50534D4D
HEADER = 24


def winpath(p):
    return "Z:" + os.path.abspath(p).replace("/", "\\")


def spool_records(state):
    """(type, seq, payload) of every whole record in the spool's segments, in order."""
    seg_dir = os.path.join(state, "spool")
    for name in sorted(os.listdir(seg_dir)) if os.path.isdir(seg_dir) else []:
        if not name.startswith("seg-"):
            continue
        data = open(os.path.join(seg_dir, name), "rb").read()
        at = 0
        while at + HEADER <= len(data):
            magic, kind, length, seq, _crc = struct.unpack_from("<IIIQI", data, at)
            if magic != MAGIC or at + HEADER + length > len(data):
                break
            yield kind, seq, data[at + HEADER:at + HEADER + length]
            at += HEADER + length


def spooled(state):
    """The committed event records of the spool, as text."""
    events, committed = [], []
    for kind, _seq, payload in spool_records(state):
        if kind == 1:
            events.append(payload.decode("utf-8"))
        elif kind == 2:
            committed = list(events)
    return committed


def checkpoints(state):
    """The checkpoints of the spool's last commit record, as {name: value}."""
    last = {}
    for kind, _seq, payload in spool_records(state):
        if kind != 2:
            continue
        p, cps = payload[8:], {}
        while p:
            n = struct.unpack_from("<I", p)[0]
            k, p = p[4:4 + n].decode(), p[4 + n:]
            n = struct.unpack_from("<I", p)[0]
            cps[k], p = p[4:4 + n].decode(), p[4 + n:]
        last = cps
    return last
