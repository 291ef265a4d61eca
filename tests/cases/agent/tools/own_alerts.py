#!/usr/bin/env python3
"""Counts the alerts a test session caused, by severity, from the agent's EVE file.

Usage: own_alerts.py EVE_JSON ROOT_PID
The session is ROOT_PID and every program started below it, followed through the exec events
(`process` records: pid, ppid). An alert is the session's when the process it names is one of
these, or when it names no process (file integrity, persistence and YARA alerts: the session's
own overlays are what those watch). Alerts about other programs — on a shared machine, other
people's servers opening ports or their tests raising process alerts — are counted apart.
Prints `own alerts: severity 1: N, severity 2: N, severity 3: N`, then each own alert, then
`other programs' alerts left out: N`."""
import json
import sys

eve, root = sys.argv[1], int(sys.argv[2])
records = []
for line in open(eve, errors="replace"):
    try:
        records.append(json.loads(line))
    except ValueError:
        continue
session = {root}
for r in records:
    if r.get("event_type") == "process":
        p = r.get("process", {})
        if p.get("ppid") in session:
            session.add(p.get("pid"))
own, other = [], 0
for r in records:
    if r.get("event_type") != "alert":
        continue
    pid = r.get("process", {}).get("pid")
    if pid is None or pid in session:
        own.append(r)
    else:
        other += 1
by = {1: 0, 2: 0, 3: 0}
for r in own:
    s = r["alert"]["severity"]
    by[s] = by.get(s, 0) + 1
print(f"own alerts: severity 1: {by[1]}, severity 2: {by[2]}, severity 3: {by[3]}")
for r in own:
    a = r["alert"]
    p = r.get("process", {})
    what = (r.get("file", {}).get("path") or r.get("persistence", {}).get("path")
            or r.get("yara", {}).get("path") or p.get("cmdline", ""))
    print(f"  severity {a['severity']} {a['signature_id']} {a['signature']}: {what}")
print(f"other programs' alerts left out: {other}")
