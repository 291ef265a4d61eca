"""A real mimamori-server on loopback for end-to-end cases of devices (agent, sensor): a fresh
SQLite data folder with a provider, a customer and an enrollment code made by `mimamori admin`,
the server started on a port chosen by the OS, restartable (SIGKILL) with the same certificate,
and read access to what it stored."""
import os
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
        """Every stored event of the server's store, (device, seq, type, raw) by device and
        sequence number, read back by the store itself (`mimamori admin events dump`): as the
        devices sent them, whatever form the server keeps them in."""
        r = subprocess.run(["mimamori", "admin", "events", "dump", "--data-dir", self.data,
                            "--keys"], capture_output=True, text=True)
        if r.returncode != 0:
            sys.exit(f"mimamori admin events dump failed ({r.returncode}): {r.stderr}")
        return parse_dump(r.stdout)


def parse_dump(text):
    """(device, seq, type, raw) of the lines of `mimamori admin events dump --keys`."""
    out = []
    for line in text.splitlines():
        if line:
            device, seq, etype, raw = line.split("\t", 3)
            out.append((device, int(seq), etype, raw))
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
