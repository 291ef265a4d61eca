#!/usr/bin/python3
"""Loopback sinks for the notification tests: `sinks.py smtp DIR` (aiosmtpd),
`sinks.py http DIR` (webhook receiver) or `sinks.py hang DIR` (a receiver that reads each
request and never answers). Prints the chosen port on the first line, then stores every message
or request as a numbered file in DIR until killed; the SMTP sink also stores every RCPT TO
address it is given, accepted or not, in DIR/rcpt/."""
import http.server
import json
import os
import sys
import threading
import time

# One port picker for every loopback test service.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                "tests"))
from server_fixture import free_port  # noqa: E402


def announce(port):
    # One write, then nothing more on stdout: the test closes its end after the first line.
    os.write(1, f"{port}\n".encode())
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)


def store(out, name, data):
    """Writes one received message so that a reader never sees it half-written: a hidden
    temporary file first, then renamed into place."""
    tmp = os.path.join(out, "." + name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(data)
    os.replace(tmp, os.path.join(out, name))


def serve_smtp(out):
    from aiosmtpd.controller import Controller

    rcpt_dir = os.path.join(out, "rcpt")
    os.makedirs(rcpt_dir, exist_ok=True)

    class Handler:
        n = 0
        r = 0

        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            # Every recipient a client names is a mail it could send: kept even when the
            # message never reaches DATA.
            Handler.r += 1
            store(rcpt_dir, f"rcpt-{Handler.r}.txt", address.encode("utf-8", "replace"))
            envelope.rcpt_tos.append(address)
            return "250 OK"

        async def handle_DATA(self, server, session, envelope):
            Handler.n += 1
            content = envelope.content if isinstance(envelope.content, bytes) \
                else envelope.content.encode()
            store(out, f"mail-{Handler.n}.eml",
                  ("X-Envelope-To: " + ",".join(envelope.rcpt_tos) + "\r\n").encode() + content)
            return "250 OK"

    port = free_port()
    c = Controller(Handler(), hostname="127.0.0.1", port=port)
    c.start()
    announce(port)
    while True:
        time.sleep(3600)


def serve_http(out, hang=False):
    lock = threading.Lock()
    count = [0]

    class H(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            with lock:
                count[0] += 1
                n = count[0]
            store(out, f"req-{n}.json",
                  json.dumps({"path": self.path, "headers": dict(self.headers),
                              "body": body.decode("utf-8", "replace")}).encode())
            while hang:  # the connection stays open, unanswered, until the sink is killed
                time.sleep(3600)
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args):
            pass

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
    announce(srv.server_address[1])
    srv.serve_forever()


if __name__ == "__main__":
    kind, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    serve_smtp(out) if kind == "smtp" else serve_http(out, hang=kind == "hang")
