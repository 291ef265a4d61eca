"""mimamori admin self-check against a running server: its --json equals what
GET /api/v1/admin/self-check answers, the evidence pack is a zip (listed by bsdtar, read by
Python's zipfile) whose self-check.json equals the API's, with a PDF and a README naming both,
and a pack that cannot be written fails with exit 2 and leaves no file behind."""
import http.client
import json
import os
import ssl
import subprocess
import sys
import zipfile

sys.path.insert(0, sys.argv[1])  # tests/
from server_fixture import Server  # noqa: E402

out = os.getcwd()
srv = Server(os.path.join(out, "data"), os.path.join(out, "server.log"))
url, _ = srv.start()
try:
    host, port = url.split("//")[1].split("/")[0].rsplit(":", 1)
    ctx = ssl._create_unverified_context()  # the test server's own certificate, on loopback
    conn = http.client.HTTPSConnection(host, int(port), context=ctx, timeout=30)
    conn.request("POST", "/api/v1/login",
                 json.dumps({"email": "admin@example.jp",
                             "password": "correct horse battery staple"}),
                 {"Content-Type": "application/json"})
    r = conn.getresponse()
    body = r.read()
    assert r.status == 200, (r.status, body)
    cookie = r.getheader("Set-Cookie").split(";")[0]
    conn.request("GET", "/api/v1/admin/self-check", headers={"Cookie": cookie})
    r = conn.getresponse()
    api = json.loads(r.read())
    assert r.status == 200, api
finally:
    srv.kill(15)

store = ["--data-dir", srv.data, "--set", "notify.enabled=false"]


def comparable(doc):
    """The self-check without what changes from one run to the next: the time it was made and
    the audit log's count (each run is audited)."""
    d = json.loads(json.dumps(doc))
    d.pop("generated_at")
    for item in d["items"]:
        item["evidence"] = [e for e in item["evidence"] if not e["en"].startswith("audit log:")]
    return d


cli = subprocess.run(["mimamori", "admin", "self-check", "--json", "--evidence",
                      os.path.join(out, "pack.zip")] + store, capture_output=True, text=True)
print(f"cli exit={cli.returncode}")
assert cli.returncode == 1, cli.stderr  # continuity is never evidenced by the store
assert comparable(json.loads(cli.stdout)) == comparable(api), (cli.stdout, api)
print("cli json equals api json")

listing = subprocess.run(["bsdtar", "-tf", "pack.zip"], capture_output=True, text=True,
                         check=True).stdout.split()
print("bsdtar: " + " ".join(listing))
with zipfile.ZipFile("pack.zip") as z:
    assert z.testzip() is None
    packed = json.loads(z.read("self-check.json"))
    pdf = z.read("self-check.pdf")
    readme = z.read("README.txt").decode()
assert comparable(packed) == comparable(api), packed
print("pack json equals api json")
print(f"pack items={len(packed['items'])} met={packed['summary']['met']}")
assert pdf.startswith(b"%PDF-"), pdf[:10]
with open("summary.pdf", "wb") as f:
    f.write(pdf)
text = subprocess.run(["pdftotext", "summary.pdf", "-"], capture_output=True, text=True,
                      check=True).stdout
for want in ("登録要件の自己点検", "相談窓口", "緊急時の対応支援"):
    assert want in text, (want, text[:500])
print("pdf has the ten requirements")
for name in ("self-check.json", "self-check.pdf", "README.txt"):
    assert name in readme, readme
print("readme lists the files")

bad = subprocess.run(["mimamori", "admin", "self-check", "--evidence",
                      os.path.join(out, "missing", "pack.zip")] + store,
                     capture_output=True, text=True)
print(f"bad folder exit={bad.returncode}")
sys.stderr.write(bad.stderr)
print("left behind: " + " ".join(sorted(n for n in os.listdir(out) if n.startswith("."))))
