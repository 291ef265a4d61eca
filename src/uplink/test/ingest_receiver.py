#!/usr/bin/env python3
"""A minimal HTTPS receiver of the device API (docs/device-api.md) for the uplink's unit tests:
enroll, ingest (gzip/zstd-free: gzip and identity only, 415 otherwise) and heartbeat, with
scripted failures (--fail-first N answers 503, --throttle-first N answers 429 Retry-After 1).
Prints "PORT <n> FINGERPRINT <hex>" once listening; stored lines go to --store as JSON lines
{"seq": s, "line": ...}. The end-to-end tests use the real mimamori-server instead.

For the Windows agent's acknowledgement case: --zstd also takes zstd bodies (the zstd program
decodes them), --hang-after-store N stores the first N ingests and never answers them (the
device is killed waiting), --port keeps a port, a restart in the same --dir keeps the
certificate and what --store holds; each ingest's Content-Encoding goes to STORE.encodings."""

import argparse
import gzip
import hashlib
import http.server
import json
import os
import ssl
import subprocess
import sys
import threading
import time

ap = argparse.ArgumentParser()
ap.add_argument("--dir", required=True)
ap.add_argument("--store", required=True)
ap.add_argument("--fail-first", type=int, default=0)
ap.add_argument("--throttle-first", type=int, default=0)
ap.add_argument("--zstd", action="store_true")
ap.add_argument("--hang-after-store", type=int, default=0)
ap.add_argument("--port", type=int, default=0)
args = ap.parse_args()

cert, key = f"{args.dir}/cert.pem", f"{args.dir}/key.pem"
if not (os.path.exists(cert) and os.path.exists(key)):
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days",
                    "2", "-subj", "/CN=localhost"], check=True, capture_output=True)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
der = ssl.PEM_cert_to_DER_cert(open(cert).read())
fingerprint = hashlib.sha256(der).hexdigest()

stored = {}
if os.path.exists(args.store):
    for row in open(args.store):
        r = json.loads(row)
        stored[r["seq"]] = r["line"]
lock = threading.Lock()
counters = {"ingest": 0}
TOKEN = "dev_test.secret"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *a):
        pass

    def reply(self, code, obj, headers=()):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for k, v in headers:
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        n = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(n)
        if self.path == "/api/v1/enroll":
            req = json.loads(body)
            if req.get("code", "").replace("-", "").upper() != "K7QM4XPD":
                return self.reply(403, {"error": "unknown or used enrollment code"})
            return self.reply(201, {"device_id": "dev_test", "device_token": TOKEN,
                                    "heartbeat_interval_s": 60})
        if self.headers.get("Authorization") != "Bearer " + TOKEN:
            return self.reply(401, {"error": "bad token"})
        if self.path == "/api/v1/heartbeat":
            json.loads(body)
            with open(args.store + ".heartbeats", "a") as f:
                f.write(body.decode() + "\n")
            return self.reply(200, {"server_time": "2026-11-26T19:40:35.000000+0900",
                                    "config_version": 3})
        if self.path != "/api/v1/ingest":
            return self.reply(404, {"error": "no such path"})
        with lock:
            counters["ingest"] += 1
            k = counters["ingest"]
        if k <= args.fail_first:
            return self.reply(503, {"error": "scripted failure"})
        if k <= args.fail_first + args.throttle_first:
            return self.reply(429, {"error": "busy"}, [("Retry-After", "1")])
        enc = self.headers.get("Content-Encoding")
        with open(args.store + ".encodings", "a") as f:
            f.write((enc or "identity") + "\n")
        if enc == "gzip":
            body = gzip.decompress(body)
        elif enc == "zstd" and args.zstd:
            body = subprocess.run(["zstd", "-d", "-c", "-q"], input=body, check=True,
                                  capture_output=True).stdout
        elif enc:
            return self.reply(415, {"error": f"encoding {enc} not supported here"})
        first = int(self.headers["X-Mimamori-Seq-First"])
        last = int(self.headers["X-Mimamori-Seq-Last"])
        lines = body.decode().split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        if len(lines) != last - first + 1:
            return self.reply(400, {"error": f"{len(lines)} lines for {first}..{last}"})
        new = dups = 0
        with lock:
            with open(args.store, "a") as f:
                for i, line in enumerate(lines):
                    if first + i in stored:
                        dups += 1
                        continue
                    stored[first + i] = line
                    new += 1
                    f.write(json.dumps({"seq": first + i, "line": line}) + "\n")
        if k <= args.fail_first + args.throttle_first + args.hang_after_store:
            time.sleep(3600)  # stored, never acknowledged
        if new == 0:
            return self.reply(409, {"acked_through": last, "duplicates": dups})
        return self.reply(200, {"acked_through": last, "accepted": new, "duplicates": dups,
                                "rejected": []})


http.server.ThreadingHTTPServer.allow_reuse_address = True
server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
server.daemon_threads = True
server.socket = ctx.wrap_socket(server.socket, server_side=True)
print(f"PORT {server.server_address[1]} FINGERPRINT {fingerprint}", flush=True)
server.serve_forever()
