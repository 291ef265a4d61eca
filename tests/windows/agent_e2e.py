#!/usr/bin/env python3
"""End to end of mimamori-agent.exe under wine against the real (Linux) mimamori-server on
loopback with TLS: enrollment with a wrong pin is refused before anything is sent (the code is
still usable after), enrollment with the printed pin succeeds; the agent replays three Sigma
regression logs (`--once --replay`), prints and spools the alerts, sends them zstd-compressed,
the server acknowledges them and lists them in GET /api/v1/alerts; a second run resumes after its bookmarks and sends
nothing again.

Usage: agent_e2e.py OUT_DIR AGENT_EXE WINE_RUN LINUX_BIN CORPUS
(LINUX_BIN: the folder with the Linux `mimamori` and `mimamori-server`; without them the case
is skipped with exit code 77.)"""
import http.cookiejar
import json
import os
import shutil
import ssl
import subprocess
import sys
import time
import urllib.request

out, agent_exe, wine_run, linux_bin, corpus = (os.path.abspath(a) for a in sys.argv[1:6])
for prog in ("mimamori", "mimamori-server"):
    if not os.access(os.path.join(linux_bin, prog), os.X_OK):
        print(f"SKIP: no Linux {prog} in {linux_bin} (build the release preset first)")
        sys.exit(77)
os.environ["PATH"] = linux_bin + os.pathsep + os.environ["PATH"]
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from server_fixture import Server  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wine_agent import winpath  # noqa: E402

shutil.rmtree(out, ignore_errors=True)
os.makedirs(out)
os.chdir(out)
failures = []


def agent(*args, timeout=40):
    return subprocess.run([wine_run, agent_exe, *args], capture_output=True, text=True,
                          timeout=timeout, encoding="utf-8", errors="replace")


# Three Sigma regression cases: their logs to replay, their rules, and how often each fires.
regression = os.path.join(corpus, "sigma", "regression_data", "rules", "windows")
cases = ["process_creation/proc_creation_win_bitsadmin_download",
         "builtin/security/win_security_explicit_credential_local_logon",
         "builtin/security/win_security_susp_scheduled_task_delete_or_disable"]
os.makedirs("replay")
os.makedirs("rules")
expected = {}
for c in cases:
    d = os.path.join(regression, c)
    if not os.path.isdir(d):
        print(f"SKIP: no corpus at {corpus}")
        sys.exit(77)
    for f in os.listdir(d):
        if f.endswith(".evtx"):
            shutil.copy(os.path.join(d, f), "replay")
    shutil.copy(os.path.join(corpus, "sigma", "rules", "windows", c + ".yml"), "rules")
    info = open(os.path.join(d, "info.yml"), encoding="utf-8").read()
    title = info.split("title:", 1)[1].splitlines()[0].strip()
    count = int(info.split("match_count:", 1)[1].splitlines()[0])
    expected[title] = expected.get(title, 0) + count

srv = Server(os.path.join(out, "server-data"))
code = srv.enroll_code()
url, fingerprint = srv.start()
cred = os.path.join(out, "state", "agent.credential")
with open("agent.yaml", "w", encoding="utf-8") as f:
    f.write(f"agent:\n  state_dir: '{winpath('state')}'\n  credential: '{winpath(cred)}'\n"
            f"  poll_interval_ms: 100\n  once_timeout_s: 20\n"
            f"eventlog:\n  sigma_rules: ['{winpath('rules')}']\n"
            f"uplink:\n  backoff_min_ms: 100\n  backoff_max_ms: 500\n")
config = winpath("agent.yaml")

try:
    # A wrong pin: refused, and nothing was sent (the single-use code still works after).
    bad = agent("-c", config, "enroll", "--server", url, "--code", code, "--fingerprint",
                "00" * 32)
    if bad.returncode == 0 or "not the pinned one" not in bad.stderr:
        failures.append(f"enrollment with a wrong pin was not refused: {bad.stderr}")
    ok = agent("-c", config, "enroll", "--server", url, "--code", code, "--fingerprint",
               fingerprint)
    if ok.returncode != 0 or fingerprint not in ok.stdout:
        failures.append(f"enrollment with the server's pin failed: {ok.stdout} {ok.stderr}")
    device = ok.stdout.split()[2] if ok.stdout.startswith("enrolled as") else ""

    t = time.time()
    run = agent("--once", "-c", config, "--replay", winpath("replay"))
    first_s = time.time() - t
    open("agent-1.log", "w").write(run.stderr)
    alerts = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
    got = {}
    for a in alerts:
        got[a["alert"]["signature"]] = got.get(a["alert"]["signature"], 0) + 1
    if run.returncode != 0:
        failures.append(f"the agent's run failed ({run.returncode}): {run.stderr[-800:]}")
    # Sent as zstd (the default, as on Linux) and taken so: no fallback to gzip or to nothing.
    if "switching to gzip" in run.stderr or "sending uncompressed" in run.stderr:
        failures.append(f"the server did not take the agent's zstd batches: {run.stderr[-800:]}")
    if got != expected:
        failures.append(f"alerts printed {got}, the regression cases expect {expected}")
    if alerts and (alerts[0].get("winlog", {}).get("fields", {}).get("EventID") is None):
        failures.append(f"an alert lacks the record's fields: {alerts[0]}")

    # The server has them: listed by the API for this device, with the rules' titles.
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPSHandler(context=ctx),
                                         urllib.request.HTTPCookieProcessor(jar))
    login = urllib.request.Request(
        url + "/api/v1/login", method="POST", headers={"Content-Type": "application/json"},
        data=json.dumps({"email": "admin@example.jp",
                         "password": "correct horse battery staple"}).encode())
    opener.open(login, timeout=10).read()
    listed = {}
    deadline = time.time() + 20
    while time.time() < deadline:
        body = json.loads(opener.open(f"{url}/api/v1/alerts?device_id={device}&limit=100",
                                      timeout=10).read())
        listed = {}
        for item in body.get("items", []):
            listed[item["signature"]] = listed.get(item["signature"], 0) + item.get("count", 1)
        if listed == expected:
            break
        time.sleep(0.5)
    if listed != expected:
        failures.append(f"GET /api/v1/alerts lists {listed}, expected {expected}")

    # Restarted: the bookmarks say everything was read; nothing is printed or sent again.
    again = agent("--once", "-c", config, "--replay", winpath("replay"))
    if again.returncode != 0 or any(line.startswith("{") for line in again.stdout.splitlines()):
        failures.append(f"a second run repeated alerts: {again.stdout[:500]} {again.stderr[-500:]}")
    stored = [r for r in srv.events() if r[2] == "alert"]
    if len(stored) != sum(expected.values()):
        failures.append(f"the server stored {len(stored)} alerts, expected {sum(expected.values())}")
    print(f"alerts={sum(got.values())} expected={sum(expected.values())} "
          f"listed={sum(listed.values())} stored={len(stored)} first_run_s={first_s:.1f}")
finally:
    srv.kill(15)

for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
