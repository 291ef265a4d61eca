"""A real mimamori-server on loopback for end-to-end cases of devices (agent, sensor): a fresh
SQLite data folder with a provider, a customer and an enrollment code made by `mimamori admin`,
the server started on a port chosen by the OS, restartable (SIGKILL) with the same certificate,
and read access to what it stored."""
import base64
import datetime
import hashlib
import ipaddress
import os
import re
import socket
import stat
import sqlite3
import subprocess
import sys


def run(*args):
    """Runs a command; exits the test with its stderr when it fails. Returns its stdout."""
    r = subprocess.run(args, capture_output=True, text=True)
    if r.returncode != 0:
        sys.exit(f"{' '.join(args)} failed ({r.returncode}): {r.stderr}")
    return r.stdout.strip()


def free_port():
    """A TCP port on loopback that was free a moment ago (the OS chose it)."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


class Server:
    """mimamori-server with its data in `data`; log appended to `log_path`; `wrap` is put
    before the server's command (e.g. `ip netns exec NAME` to run it in a network namespace)."""

    def __init__(self, data, log_path="server.log", wrap=()):
        self.data = data
        self.wrap = list(wrap)
        self.port = free_port()
        self.log = open(log_path, "a")
        self.proc = self.url = self.fingerprint = None
        os.makedirs(data)
        run("mimamori", "admin", "init", "--data-dir", data, "--provider", "Test SOC",
            "--email", "admin@example.jp", "--password", "correct horse battery staple")
        self.customer = run("mimamori", "admin", "customer", "add", "--data-dir", data,
                            "--name", "テスト商事")

    def enroll_code(self):
        """A fresh single-use enrollment code for the customer."""
        return run("mimamori", "admin", "enroll-code", "--data-dir", self.data,
                   "--customer", self.customer)

    def start(self):
        """Starts the server; returns (url, fingerprint) as it printed them."""
        p = subprocess.Popen(self.wrap + ["mimamori-server", "--set", f"server.data_dir={self.data}",
                              "--set", f"server.port={self.port}", "--set", "notify.enabled=false",
                              "--set", "server.background_interval_ms=500"],
                             stdout=subprocess.PIPE, stderr=self.log, text=True)
        url = fp = None
        for line in p.stdout:
            if "listening on" in line:
                url = line.split()[3]
            if "fingerprint" in line:
                fp = line.split()[-1]
                break
        if not url or not fp:
            sys.exit("mimamori-server did not start: see server.log")
        self.proc, self.url, self.fingerprint = p, url, fp
        return url, fp

    def kill(self, sig):
        self.proc.send_signal(sig)
        self.proc.wait()

    def query(self, sql):
        """Rows of `sql` from the server's SQLite store, read-only."""
        db = sqlite3.connect(f"file:{self.data}/mimamori.db?mode=ro", uri=True, timeout=10)
        rows = db.execute(sql).fetchall()
        db.close()
        return rows

    def events(self):
        """Every stored event of the server's SQLite store: (device, seq, type, raw)."""
        db = sqlite3.connect(f"file:{self.data}/mimamori.db?mode=ro", uri=True, timeout=10)
        rows = stored_events(db)
        db.close()
        return rows


def _varint(b, at):
    v, shift = 0, 0
    while True:
        c = b[at]
        at += 1
        v |= (c & 0x7F) << shift
        shift += 7
        if not c & 0x80:
            return v, at


def _member(rec, key):
    """The first `"key":"…"` string value of a record (bytes), without escapes, or None."""
    at = rec.find(key)
    if at < 0:
        return None
    begin = at + len(key)
    end = rec.find(b'"', begin)
    if end < 0 or b"\\" in rec[begin:end]:
        return None
    return rec[begin:end]


def _port(rec, key):
    at = rec.find(key)
    if at < 0:
        return None
    m = re.match(rb"[0-9]+", rec[at + len(key):])
    return int(m.group()) if m and int(m.group()) <= 65535 else None


def _community_id(rec):
    """Community ID v1 (seed 0) of a record's own 5-tuple, as store/community_id.cc."""
    proto = {b"TCP": 6, b"UDP": 17, b"SCTP": 132}.get(_member(rec, b'"proto":"'))
    src, dst = _member(rec, b'"src_ip":"'), _member(rec, b'"dest_ip":"')
    sp, dp = _port(rec, b'"src_port":'), _port(rec, b'"dest_port":')
    if proto is None or src is None or dst is None or sp is None or dp is None:
        return None
    a = ipaddress.ip_address(src.decode()).packed
    b = ipaddress.ip_address(dst.decode()).packed
    if len(a) != len(b):
        return None
    if (a, sp) > (b, dp):
        a, b, sp, dp = b, a, dp, sp
    data = b"\0\0" + a + b + bytes([proto, 0]) + sp.to_bytes(2, "big") + dp.to_bytes(2, "big")
    return base64.b64encode(hashlib.sha1(data).digest())


def _eve_time(micros, minutes):
    """An EVE time as core::format_eve_time writes it: 2026-11-26T19:41:05.123456+0900."""
    t = datetime.datetime(1970, 1, 1) + datetime.timedelta(microseconds=micros + minutes * 60_000_000)
    off = abs(minutes)
    return (f"{t.year:04d}-{t.month:02d}-{t.day:02d}T{t.hour:02d}:{t.minute:02d}:{t.second:02d}."
            f"{t.microsecond:06d}{'-' if minutes < 0 else '+'}{off // 60:02d}{off % 60:02d}").encode()


def _string_end(s, open_at):
    k = open_at + 1
    while k < len(s):
        if s[k] == 0x5C:  # backslash
            k += 1
        elif s[k] == 0x22:
            return k
        k += 1
    return -1


def _columns(plain, at, times):
    """The records of a format-2 block's column form (store/event_columns.cc): skeletons, their
    uses, the column directory, the columns; each skeleton's kind bytes filled from the column
    of the last string before them and that kind."""
    n, at = _varint(plain, at)
    skeletons = []
    for _ in range(n):
        v, at = _varint(plain, at)
        skeletons.append((plain[at:at + v // 2], v & 1))
        at += v // 2
    uses = []
    for _ in times:
        u, at = _varint(plain, at)
        uses.append(u)
    ncol, at = _varint(plain, at)
    directory = []
    for _ in range(ncol):
        ln, at = _varint(plain, at)
        name = plain[at:at + ln]
        kind = plain[at + ln]
        size, at = _varint(plain, at + ln + 1)
        directory.append(((name, kind), size))
    columns = {}
    for key, size in directory:
        columns[key] = [plain[at:at + size], 0]
        at += size
    out = []
    for use, ts in zip(uses, times):
        text, whole = skeletons[use]
        if whole:
            out.append(bytes(text))
            continue
        rec, name, k = bytearray(), b"", 0
        while k < len(text):
            c = text[k]
            if c == 0x22:
                end = _string_end(text, k)
                if end < 0:
                    rec += text[k:]
                    break
                name = bytes(text[k + 1:end])
                rec += text[k:end + 1]
                k = end + 1
                continue
            if 1 <= c <= 6:
                col = columns[(name, c)]
                data, p = col
                if c == 1:
                    v, p = _varint(data, p)
                    rec += str(v).encode()
                elif c == 2:
                    rec += b'"' + ".".join(str(b) for b in data[p:p + 4]).encode() + b'"'
                    p += 4
                elif c == 3:
                    d, p = _varint(data, p)
                    m, p = _varint(data, p)
                    rec += b'"' + _eve_time(ts + ((d >> 1) ^ -(d & 1)), (m >> 1) ^ -(m & 1)) + b'"'
                elif c in (4, 5):
                    ln, p = _varint(data, p)
                    digits = data[p:p + (ln + 1) // 2].hex()[:ln]
                    rec += b'"' + (digits.upper() if c == 5 else digits).encode() + b'"'
                    p += (ln + 1) // 2
                else:
                    end = data.index(b"\0", p)
                    rec += b'"' + data[p:end] + b'"'
                    p = end + 1
                col[1] = p
            else:
                rec.append(c)
            k += 1
        out.append(bytes(rec))
    return out, at


def _restore(rec, ts, left):
    """A record of a format-1 block as the device sent it (store/event_blocks.cc): the
    timestamp's first 26 characters (bit 2) from the event's time, then the Community ID (bit 1)."""
    if left & 2:
        pos = rec.find(b'"timestamp":"') + len(b'"timestamp":"')
        off = rec[pos:pos + 5].decode()
        minutes = (-1 if off[0] == "-" else 1) * (int(off[1:3]) * 60 + int(off[3:5]))
        local = datetime.datetime(1970, 1, 1) + datetime.timedelta(
            microseconds=ts + minutes * 60_000_000)
        rec = rec[:pos] + local.strftime("%Y-%m-%dT%H:%M:%S.%f").encode() + rec[pos:]
    if left & 1:
        pos = rec.find(b'"community_id":"1:') + len(b'"community_id":"1:')
        rec = rec[:pos] + _community_id(rec) + rec[pos:]
    return rec


def stored_events(db):
    """(device, seq, type, raw) of every event in an open SQLite store, in key order: rows of
    the uncompressed events table and the zstd blocks of event_blocks (store/event_blocks.cc:
    count; seq offsets; zigzag time offsets; lengths; the records; format 1 starts with 0, 1
    and has, after the lengths, flags of what was left out of each record; format 2 starts with
    0, 2, has seq and time offsets to the one before, no lengths, and the records by column
    after the flags)."""
    out = list(db.execute("SELECT device_id, seq, event_type, raw FROM events"))
    for device, first, etype, ts_min, data in db.execute(
            "SELECT device_id, first_seq, event_type, ts_min, data FROM event_blocks"):
        plain = subprocess.run(["zstd", "-dcq"], input=bytes(data), capture_output=True,
                               check=True).stdout
        n, at = _varint(plain, 0)
        fmt = 0
        if n == 0:
            fmt, at = _varint(plain, at)
            n, at = _varint(plain, at)
        seqs, times, lens, lefts = [], [], [], [0] * n
        seq, ts = first, ts_min  # format 2: each the difference to the one before
        for _ in range(n):
            v, at = _varint(plain, at)
            seq = (seq if fmt >= 2 else first) + v
            seqs.append(seq)
        for _ in range(n):
            v, at = _varint(plain, at)
            ts = (ts if fmt >= 2 else ts_min) + ((v >> 1) ^ -(v & 1))
            times.append(ts)
        if fmt <= 1:
            for _ in range(n):
                v, at = _varint(plain, at)
                lens.append(v)
        if fmt >= 1:
            for i in range(n):
                lefts[i], at = _varint(plain, at)
        if fmt == 2:
            texts, at = _columns(plain, at, times)
        else:
            texts = []
            for ln in lens:
                texts.append(plain[at:at + ln])
                at += ln
        for seq, ts, text, left in zip(seqs, times, texts, lefts):
            rec = _restore(text, ts, left)
            out.append((device, seq, etype, rec.decode("utf-8")))
    out.sort(key=lambda r: (r[0], r[1]))
    return out


def enroll(program, url, code, credential, fingerprint, failures):
    """`program enroll` with `code`; appends to `failures` unless the server's `fingerprint` was
    pinned and the credential file has mode 0600. Returns the device id."""
    text = run(program, "enroll", "--server", url, "--code", code, "--credential", credential)
    if fingerprint not in text:
        failures.append(f"the pinned fingerprint is not the server's {fingerprint}: {text}")
    mode = stat.S_IMODE(os.stat(credential).st_mode)
    if mode != 0o600:
        failures.append(f"credential mode is {oct(mode)}, not 0600")
    return text.split()[2]  # "enrolled as <device id> with <url>"
