#!/usr/bin/env python3
"""Runs one data-driven test case of Mimamori (see tests/README.md for the format)."""

import argparse
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

import yaml

# The exit code by which a case (or its command) says it cannot run here; CTest shows it as skipped.
SKIP = 77


def unmet_requirement(spec):
    """Why this machine cannot run the case (its `requires:` list), or None."""
    for req in spec.get("requires", []) or []:
        if req == "root":
            if os.geteuid() != 0:
                return "needs root"
        elif req.startswith("command:"):
            if shutil.which(req.split(":", 1)[1]) is None:
                return f"needs the command {req.split(':', 1)[1]!r}"
        else:
            return f"unknown requirement {req!r} in case.yaml"
    return None


def lookup(record, dotted):
    """The value at a dotted path in a JSON record (array elements by number), or a sentinel."""
    cur = record
    for part in dotted.split("."):
        if isinstance(cur, dict) and part in cur:
            cur = cur[part]
        elif isinstance(cur, list) and part.isdigit() and int(part) < len(cur):
            cur = cur[int(part)]
        else:
            return lookup
    return cur


def matches(record, flt):
    for key, want in flt.items():
        got = lookup(record, key)
        if got is lookup or got != want:
            return False
    return True


def read_jsonl(path, failures):
    records = []
    if not os.path.exists(path):
        failures.append(f"{os.path.basename(path)}: file was not written")
        return records
    with open(path, "rb") as f:
        for n, line in enumerate(f, 1):
            line = line.strip()
            if not line:
                continue
            try:
                records.append(json.loads(line))
            except ValueError as e:
                failures.append(f"{os.path.basename(path)}:{n}: not JSON ({e})")
    return records


def check(case_dir, out_dir, spec, proc, failures):
    stdout, stderr = proc.stdout, proc.stderr
    want_rc = spec.get("exit_code", 0)
    if proc.returncode != want_rc:
        failures.append(f"exit code {proc.returncode}, expected {want_rc}")
    for i, c in enumerate(spec.get("checks", []), 1):
        where = f"check {i}"
        if "stdout_contains" in c and c["stdout_contains"] not in stdout:
            failures.append(f"{where}: stdout lacks {c['stdout_contains']!r}")
        if "stderr_contains" in c and c["stderr_contains"] not in stderr:
            failures.append(f"{where}: stderr lacks {c['stderr_contains']!r}")
        if "stdout_matches" in c and not re.search(c["stdout_matches"], stdout, re.M):
            failures.append(f"{where}: stdout does not match /{c['stdout_matches']}/")
        if "stdout_file" in c:
            with open(os.path.join(case_dir, c["stdout_file"]), encoding="utf-8") as f:
                expected = f.read()
            if stdout != expected:
                failures.append(f"{where}: stdout differs from {c['stdout_file']}")
        if "file" in c:
            records = read_jsonl(os.path.join(out_dir, c["file"]), failures)
            selected = [r for r in records if matches(r, c.get("filter", {}))]
            if "count" in c and len(selected) != c["count"]:
                failures.append(
                    f"{where}: {len(selected)} records in {c['file']} match {c.get('filter', {})}, "
                    f"expected {c['count']}")
            if "min_count" in c and len(selected) < c["min_count"]:
                failures.append(
                    f"{where}: {len(selected)} records in {c['file']} match {c.get('filter', {})}, "
                    f"expected at least {c['min_count']}")


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bin", required=True, help="folder of the built programs")
    ap.add_argument("--source", required=True, help="project root")
    ap.add_argument("--keep", action="store_true", help="keep the output folder")
    ap.add_argument("--timeout-scale", type=float, default=1.0,
                    help="multiply the case's timeout (sanitizer builds run several times slower)")
    ap.add_argument("case", help="the case folder (holding case.yaml)")
    args = ap.parse_args()

    case_dir = os.path.abspath(args.case)
    with open(os.path.join(case_dir, "case.yaml"), encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    why = unmet_requirement(spec)
    if why:
        print(f"SKIP: {why}")
        return SKIP
    corpus = os.path.abspath(os.path.join(args.source, "..", "shared", "corpus"))
    out_dir = tempfile.mkdtemp(prefix="mimamori-case-")
    subst = {"bin": args.bin, "case": case_dir, "out": out_dir, "corpus": corpus,
             "source": os.path.abspath(args.source)}
    command = spec["command"].format(**subst)
    env = dict(os.environ, PATH=args.bin + os.pathsep + os.environ.get("PATH", ""), LANG="C.UTF-8")
    # How much slower this build runs than the release build (the sanitizers: 3), for cases that
    # bound a delay or a run time of their own.
    env["MIMAMORI_TIMEOUT_SCALE"] = "%g" % args.timeout_scale
    for k, v in (spec.get("env") or {}).items():
        env[k] = str(v).format(**subst)
    try:
        limit = spec.get("timeout", 240) * args.timeout_scale
        proc = subprocess.run(["bash", "-c", command], cwd=out_dir, env=env, capture_output=True,
                              text=True, errors="replace", timeout=limit)
    except subprocess.TimeoutExpired:
        print(f"FAIL {case_dir}: timed out: {command}")
        return 1
    skip_line = next((l for l in proc.stdout.splitlines() if l.startswith("SKIP: ")), None)
    if proc.returncode == SKIP and skip_line:
        print(skip_line)
        return SKIP
    failures = []
    check(case_dir, out_dir, spec, proc, failures)
    if failures:
        print(f"FAIL {os.path.relpath(case_dir)}\n  command: {command}")
        for f in failures:
            print(f"  - {f}")
        print("--- stdout ---\n" + proc.stdout[-4000:] + "\n--- stderr ---\n" + proc.stderr[-4000:])
        print(f"output kept in {out_dir}")
        return 1
    print(f"ok {spec.get('description', os.path.basename(case_dir))}")
    if not args.keep:
        subprocess.run(["rm", "-rf", out_dir])
    return 0


if __name__ == "__main__":
    sys.exit(main())
