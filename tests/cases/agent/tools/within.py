#!/usr/bin/env python3
"""Prints how long after each act its alert came, from the agent's EVE file.

Usage: within.py EVE_JSON ACTS_FILE
ACTS_FILE has one act a line: `NAME SIGNATURE_ID EPOCH_SECONDS` (when the act began). For each,
prints `NAME: alert SID after X.XX s` for the first alert with that signature id at or after
the act, or `NAME: no alert SID`; the case checks the lines it expects (at most 5 s in the
release build, times MIMAMORI_TIMEOUT_SCALE in a slower one such as the sanitizers')."""
import json
import os
import sys
from datetime import datetime

eve, acts = sys.argv[1], sys.argv[2]
bound = 5 * float(os.environ.get("MIMAMORI_TIMEOUT_SCALE", "1"))
alerts = []
for line in open(eve, errors="replace"):
    try:
        r = json.loads(line)
    except ValueError:
        continue
    if r.get("event_type") != "alert":
        continue
    t = datetime.strptime(r["timestamp"], "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()
    alerts.append((t, r["alert"]["signature_id"]))
for line in open(acts):
    name, sid, start = line.split()
    sid, start = int(sid), float(start)
    after = [t - start for t, s in alerts if s == sid and t >= start - 0.5]
    if after:
        delay = min(after)
        verdict = f"within {bound:g} s" if delay <= bound else "too late"
        print(f"{name}: alert {sid} after {max(delay, 0):.2f} s ({verdict})")
    else:
        print(f"{name}: no alert {sid}")
