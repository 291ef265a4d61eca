#!/usr/bin/env python3
"""mimamori-agent.exe as a Windows service under wine's Service Control Manager: `install`
(automatic start), `sc start`, the service replays three Sigma regression logs
(`eventlog.replay`) and spools their alerts (the segment read here in the spool's own format),
`sc stop` stops it, `uninstall` removes it; then a console run (`--run-for`) resumes from the
service's bookmarks, held before the three records (nothing was acknowledged: not enrolled), reads
them again and spools nothing more.

Usage: agent_service.py OUT_DIR AGENT_EXE WINE_RUN CORPUS (exit 77: no corpus)"""
import os
import shutil
import struct
import subprocess
import sys
import time
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from wine_agent import winpath, spooled  # noqa: E402

out, agent_exe, wine_run, corpus = (os.path.abspath(a) for a in sys.argv[1:5])
shutil.rmtree(out, ignore_errors=True)
os.makedirs(out)
os.chdir(out)
failures = []


def wine(*args, timeout=30):
    return subprocess.run([wine_run, *args], capture_output=True, text=True, timeout=timeout,
                          encoding="utf-8", errors="replace")


regression = os.path.join(corpus, "sigma", "regression_data", "rules", "windows")
cases = ["process_creation/proc_creation_win_bitsadmin_download",
         "builtin/security/win_security_explicit_credential_local_logon",
         "builtin/security/win_security_susp_scheduled_task_delete_or_disable"]
os.makedirs("replay")
os.makedirs("rules")
for c in cases:
    d = os.path.join(regression, c)
    if not os.path.isdir(d):
        print(f"SKIP: no corpus at {corpus}")
        sys.exit(77)
    for f in os.listdir(d):
        if f.endswith(".evtx"):
            shutil.copy(os.path.join(d, f), "replay")
    shutil.copy(os.path.join(corpus, "sigma", "rules", "windows", c + ".yml"), "rules")
with open("agent.yaml", "w", encoding="utf-8") as f:
    f.write(f"agent:\n  state_dir: '{winpath('state')}'\n  poll_interval_ms: 100\n"
            f"eventlog:\n  sigma_rules: ['{winpath('rules')}']\n"
            f"  replay: ['{winpath('replay')}']\n")

wine(agent_exe, "uninstall")  # a service left by an interrupted run of this test
try:
    r = wine(agent_exe, "install", "-c", winpath("agent.yaml"))
    if r.returncode != 0 or "installed the service MimamoriAgent" not in r.stdout:
        failures.append(f"install failed: {r.stdout} {r.stderr}")
    again = wine(agent_exe, "install", "-c", winpath("agent.yaml"))
    if again.returncode == 0 or "already installed" not in again.stderr:
        failures.append(f"a second install was not refused: {again.stderr}")
    wine("sc", "start", "MimamoriAgent")
    deadline = time.time() + 20
    while len(spooled("state")) < 3 and time.time() < deadline:
        time.sleep(0.3)
    running = wine("sc", "query", "MimamoriAgent").stdout
    if "RUNNING" not in running:
        failures.append(f"the service is not running: {running}")
    records = spooled("state")
    if len(records) != 3 or not all('"event_type":"alert"' in x for x in records):
        failures.append(f"the service spooled {len(records)} records, expected 3 alerts")
    wine("sc", "stop", "MimamoriAgent")
    deadline = time.time() + 20
    while time.time() < deadline:
        q = wine("sc", "query", "MimamoriAgent").stdout
        if "STOPPED" in q:
            break
        time.sleep(0.3)
    if "STOPPED" not in q:
        failures.append(f"the service did not stop: {q}")
finally:
    u = wine(agent_exe, "uninstall")
if u.returncode != 0 or "removed the service" not in u.stdout:
    failures.append(f"uninstall failed: {u.stdout} {u.stderr}")
if wine("sc", "query", "MimamoriAgent").returncode == 0:
    failures.append("the service is still known after uninstall")

# Console mode: the same configuration, resumed from the service's bookmarks. Not enrolled, so
# nothing was acknowledged: the bookmarks were held, the three records are read again, and their
# alerts (still in the spool) are not spooled twice.
c = wine(agent_exe, "-c", winpath("agent.yaml"), "--run-for", "1")
if c.returncode != 0 or "3 records read, 3 alerts (3 already spooled or sent)" not in c.stderr:
    failures.append(f"the console run failed or spooled again: {c.stderr[-600:]}")
if len(spooled("state")) != 3:
    failures.append(f"the console run spooled more: {len(spooled('state'))} records")
print(f"service_spooled={len(records)} after_console={len(spooled('state'))}")
for f in failures:
    print("FAIL:", f)
sys.exit(1 if failures else 0)
