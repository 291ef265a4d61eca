#!/usr/bin/env python3
"""Runs suricata-verify tests against mimamori-sensor and evaluates their `filter` checks.

Reusable: import it and call `discover`, `SvTest.run`, `evaluate_filter`; or run it as a
program. A test is run when its requirements fit what we emulate (Suricata VERSION below, no
`command:` override, no required `features`) and it has at least one filter check on the chosen
event types; it passes when every such check holds. Checks on other event types are ignored
(another runner may select them with --event-types).
"""

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

import yaml

VERSION = (8, 0, 0)  # the Suricata version whose EVE shapes the sensor writes
# suricata-verify runs Suricata with TZ=UTC, so its expected timestamps end in +0000.
EVE_ARGS = ["--set", "outputs.eve.timezone=utc"]
_COMPARE = re.compile(r"__(gt|gte|lt|lte)$")


def parse_version(v):
    parts = [int(p) for p in re.findall(r"\d+", str(v))[:3]]
    while len(parts) < 3:
        parts.append(0)
    return tuple(parts)


def version_ok(req):
    """True when a `requires`-like mapping (min-version, lt-version, version) admits VERSION."""
    if not req:
        return True
    if "min-version" in req and VERSION < parse_version(req["min-version"]):
        return False
    if "lt-version" in req and VERSION >= parse_version(req["lt-version"]):
        return False
    if "version" in req:
        want = parse_version(req["version"])
        n = len(re.findall(r"\d+", str(req["version"])))
        if VERSION[:n] != want[:n]:
            return False
    return True


def find_value(name, obj):
    """The value at a suricata-verify path (`dns.queries[0].rrname`, `x.__len`), or None."""
    for part in name.split("."):
        if part == "__len":
            try:
                return len(obj)
            except TypeError:
                return -1
        if part in ("__contains", "__find", "__startswith", "__endswith"):
            break
        m = re.match(r"^(.*)\[(\d+)\]$", part)
        key, index = (m.group(1), int(m.group(2))) if m else (part, None)
        if not isinstance(obj, dict) or key not in obj:
            return None
        obj = obj[key]
        if index is not None:
            try:
                obj = obj[index]
            except (IndexError, KeyError, TypeError):
                return None
    return obj


def event_matches(event, match):
    for key, expected in match.items():
        if key == "has-key":
            if find_value(str(expected), event) is None:
                return False
            continue
        if key == "not-has-key":
            if find_value(str(expected), event) is not None:
                return False
            continue
        m = _COMPARE.search(key)
        if m:
            val = find_value(key[:m.start()], event)
            if not isinstance(val, (int, float)):
                return False
            op = m.group(1)
            ok = {"gt": val > expected, "gte": val >= expected, "lt": val < expected,
                  "lte": val <= expected}[op]
            if not ok:
                return False
            continue
        val = find_value(key, event)
        if key.endswith("__contains"):
            if val is None or not hasattr(val, "__contains__") or expected not in val:
                return False
        elif key.endswith("__find"):
            if not isinstance(val, str) or str(expected) not in val:
                return False
        elif key.endswith("__startswith"):
            if not isinstance(val, str) or not val.startswith(str(expected)):
                return False
        elif key.endswith("__endswith"):
            if not isinstance(val, str) or not val.endswith(str(expected)):
                return False
        elif val != expected and not (val is not None and str(val) == str(expected)
                                      and not isinstance(val, (dict, list))):
            return False
    return True


def evaluate_filter(check, events):
    """(passed, message) for one `filter` check over the EVE records."""
    match = check.get("match", {}) or {}
    got = sum(1 for e in events if event_matches(e, match))
    want = check.get("count")
    if want is None:
        ok = got > 0
    else:
        ok = got == want
    return ok, f"{got} records match {match}, expected {want if want is not None else '>0'}"


def filter_event_type(check):
    return (check.get("match") or {}).get("event_type")


SUPPORTED_APP_PROTOS = {"http", "dns", "tls", "ssh", "failed"}


def unsupported_reason(check):
    """Why a check needs something the sensor does not have (None when it does not)."""
    match = check.get("match") or {}
    app = match.get("app_proto")
    if app is not None and app not in SUPPORTED_APP_PROTOS:
        return "other app-layer protocol"
    for key, val in match.items():
        if "http2" in key or key.startswith("http.version") or "app_proto_" in key:
            return "other app-layer protocol"
        if key in ("flow.alerted", "flow.action") and val not in (False, None):
            return "needs rules"
        if key.startswith("flow.exception_policy") or key.startswith("flow.bypass"):
            return "exception policies"
        if key == "dns.type" and val in ("query", "answer"):
            return "dns log format v2 (test config)"
        if key == "dns.version" and val == 2:
            return "dns log format v2 (test config)"
    return None


def check_applies(check):
    if not version_ok(check):
        return False
    if not version_ok(check.get("requires") or {}):
        return False
    if check.get("feature") or (check.get("requires") or {}).get("features"):
        return False
    return True


class SvTest:
    def __init__(self, directory, spec):
        self.dir = directory
        self.name = os.path.relpath(directory, os.path.dirname(os.path.dirname(directory)))
        self.spec = spec or {}

    @property
    def pcap(self):
        p = self.spec.get("pcap")
        if p is False:
            return None
        if isinstance(p, str):
            path = os.path.normpath(os.path.join(self.dir, p))
            return path if os.path.exists(path) else None
        found = [f for f in sorted(os.listdir(self.dir)) if f.endswith((".pcap", ".pcapng"))]
        return os.path.join(self.dir, found[0]) if len(found) == 1 else None

    def skip_reason(self):
        req = self.spec.get("requires") or {}
        if "command" in self.spec:
            return "command override"
        if not version_ok(req):
            return "version"
        if req.get("features") or req.get("script") or req.get("lambda"):
            return "requires features"
        if req.get("pcap") is False or self.spec.get("pcap") is False:
            return "no pcap"
        if self.pcap is None:
            return "pcap missing"
        for a in self.args():
            if "lua" in a:
                return "lua"
        return None

    def rules_file(self):
        """The test's rules: `rules:` in test.yaml, else test.rules, else the one *.rules file."""
        r = self.spec.get("rules")
        if isinstance(r, str):
            p = os.path.normpath(os.path.join(self.dir, r))
            return p if os.path.exists(p) else None
        p = os.path.join(self.dir, "test.rules")
        if os.path.exists(p):
            return p
        found = [f for f in os.listdir(self.dir) if f.endswith(".rules")]
        return os.path.join(self.dir, found[0]) if len(found) == 1 else None

    def args(self):
        a = self.spec.get("args") or []
        if isinstance(a, str):
            a = [a]
        out = []
        for item in a:
            out.extend(str(item).split())
        return out

    def checks(self, event_types):
        out = []
        for c in self.spec.get("checks") or []:
            if not isinstance(c, dict) or "filter" not in c:
                continue
            f = c["filter"] or {}
            if f.get("filename", "eve.json") != "eve.json":
                continue
            if event_types and filter_event_type(f) not in event_types:
                continue
            if not check_applies(f):
                continue
            out.append(f)
        return out

    def sensor_args(self):
        """The test's arguments that mean something to mimamori-sensor."""
        args, unknown = [], []
        a = self.args()
        i = 0
        while i < len(a):
            x = a[i]
            if x == "-k" and i + 1 < len(a):
                args += ["-k", a[i + 1]]
                i += 2
                continue
            if x.startswith("--set"):
                val = x.split("=", 1)[1] if "=" in x and x.startswith("--set=") else (
                    a[i + 1] if i + 1 < len(a) else "")
                args += ["--set", val]
                i += 1 if x.startswith("--set=") else 2
                continue
            if x == "--simulate-ips":
                args.append("--simulate-ips")
            elif x.startswith("--runmode"):
                pass
            else:
                unknown.append(x)
            i += 1
        rules = self.rules_file()
        if rules:
            args += ["-S", rules]
        # suricata-verify runs Suricata with TZ=UTC: timestamps in the checks are in UTC.
        args += ["--set", "outputs.eve.timezone=utc"]
        args += self.eve_config_args()
        return args, unknown

    def eve_config_args(self):
        """The test's own suricata.yaml settings for EVE records, as sensor config keys."""
        path = os.path.join(self.dir, "suricata.yaml")
        if not os.path.exists(path):
            return []
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read()
            conf = yaml.safe_load(re.sub(r"^%YAML.*$", "", text, flags=re.M)) or {}
        except (yaml.YAMLError, OSError, UnicodeDecodeError):
            return []
        out = []
        # The order in which actions are applied changes which alerts a packet gets.
        order = conf.get("action-order")
        if isinstance(order, list) and order:
            out += ["--set", "action-order=" + ",".join(str(a) for a in order)]
        if isinstance(conf.get("packet-alert-max"), int):
            out += ["--set", f"packet-alert-max={conf['packet-alert-max']}"]
        for o in conf.get("outputs") or []:
            eve = o.get("eve-log") if isinstance(o, dict) else None
            if not isinstance(eve, dict):
                continue
            if eve.get("community-id"):
                out += ["--set", "outputs.eve.community-id=true",
                        "--set", f"outputs.eve.community-id-seed={int(eve.get('community-id-seed', 0))}"]
            if eve.get("ethernet"):
                out += ["--set", "outputs.eve.ethernet=true"]
            for t in eve.get("types") or []:
                name, opts = (t, {}) if isinstance(t, str) else next(iter(t.items()))
                opts = opts or {}
                if name == "alert":
                    for k in ("payload", "payload-printable", "packet", "tagged-packets"):
                        if k in opts:
                            on = opts[k] is True or str(opts[k]).lower() in ("yes", "true", "on")
                            out += ["--set", f"outputs.eve.alert.{k}={'true' if on else 'false'}"]
                if name == "alert" and opts.get("verdict"):
                    out += ["--set", "outputs.eve.alert-verdict=true"]
                xff = opts.get("xff") if name == "alert" else None
                if isinstance(xff, dict) and xff.get("enabled") in (True, "yes"):
                    out += ["--set", "outputs.eve.xff.enabled=true"]
                    for k in ("mode", "deployment", "header"):
                        if xff.get(k):
                            out += ["--set", f"outputs.eve.xff.{k}={xff[k]}"]
                if name == "http":
                    # Without `extended: yes` Suricata writes the basic http record.
                    ext = opts.get("extended", False)
                    out += ["--set", f"outputs.eve.http-extended={'true' if ext else 'false'}"]
                elif name == "dns":
                    for k in ("requests", "responses"):
                        if k in opts:
                            out += ["--set", f"outputs.eve.dns-{k}={'true' if opts[k] else 'false'}"]
        return out

    def run(self, binary, out_dir, extra=(), timeout=300):
        args, _ = self.sensor_args()
        cmd = [binary, "-r", self.pcap, "-l", out_dir] + args + EVE_ARGS + list(extra)
        proc = subprocess.run(cmd, capture_output=True, text=True, errors="replace",
                              timeout=timeout)
        events = []
        path = os.path.join(out_dir, "eve.json")
        if os.path.exists(path):
            with open(path, "rb") as f:
                for line in f:
                    line = line.strip()
                    if line:
                        try:
                            events.append(json.loads(line))
                        except ValueError:
                            events.append({"__bad_line__": line[:200].decode("utf-8", "replace")})
        return proc, events


def discover(root):
    tests = []
    for d, _, files in os.walk(root):
        if "test.yaml" in files:
            with open(os.path.join(d, "test.yaml"), encoding="utf-8") as f:
                try:
                    spec = yaml.safe_load(f)
                except yaml.YAMLError:
                    spec = None
            if isinstance(spec, dict):
                tests.append(SvTest(d, spec))
    tests.sort(key=lambda t: t.dir)
    return tests


def run_one(test, binary, checks, keep, extra=()):
    """Runs one test and evaluates `checks`: (test, list of failure messages)."""
    out = tempfile.mkdtemp(prefix="mimamori-sv-")
    try:
        proc, events = test.run(binary, out, extra)
    except subprocess.TimeoutExpired:
        return test, ["timed out"]
    failures = []
    if proc.returncode != 0:
        failures.append(f"exit {proc.returncode}: {proc.stderr[-300:]}")
    for c in checks:
        ok, msg = evaluate_filter(c, events)
        if not ok:
            failures.append(msg)
    if not keep:
        shutil.rmtree(out, ignore_errors=True)
    return test, failures


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bin", required=True, help="folder holding mimamori-sensor")
    ap.add_argument("--corpus", default=None, help="the corpus folder (default ../shared/corpus)")
    ap.add_argument("--event-types", default="dns,http,tls,flow",
                    help="comma-separated event types whose checks are evaluated")
    ap.add_argument("--only", default=None, help="regex on test names")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--min-pass-rate", type=float, default=None,
                    help="exit 1 when the pass rate (percent) is below this")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every failing check")
    ap.add_argument("--keep", action="store_true")
    ap.add_argument("--all-checks", action="store_true",
                    help="also run tests whose checks need protocols/features we lack")
    args = ap.parse_args()

    here = os.path.dirname(os.path.abspath(__file__))
    corpus = args.corpus or os.path.join(here, "..", "..", "shared", "corpus")
    root = os.path.join(corpus, "suricata-verify", "tests")
    binary = os.path.join(args.bin, "mimamori-sensor")
    types = set(t for t in args.event_types.split(",") if t)
    tests = discover(root)
    if args.only:
        tests = [t for t in tests if re.search(args.only, t.dir)]
    skipped, runnable = {}, []
    for t in tests:
        why = t.skip_reason()
        if why is None and not t.checks(types):
            why = "no checks on " + ",".join(sorted(types))
        if why is None and not args.all_checks:
            reasons = [unsupported_reason(c) for c in t.checks(types)]
            reasons = [r for r in reasons if r]
            if reasons:
                why = reasons[0]
        if why:
            skipped[why] = skipped.get(why, 0) + 1
        else:
            runnable.append(t)
    passed, failed = [], []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as ex:
        for test, failures in ex.map(lambda t: run_one(t, binary, t.checks(types), args.keep),
                                     runnable):
            (failed if failures else passed).append((test, failures))
    per_type = {}
    for t in runnable:
        for c in t.checks(types):
            per_type.setdefault(filter_event_type(c), set()).add(t.dir)
    for test, failures in failed:
        print(f"FAIL {os.path.relpath(test.dir, root)}")
        if args.verbose:
            for f in failures[:6]:
                print(f"    {f}")
    failed_dirs = {t.dir for t, _ in failed}
    print("\nper event type (tests with such checks: passed/run):")
    for et in sorted(per_type):
        dirs = per_type[et]
        ok = len([d for d in dirs if d not in failed_dirs])
        print(f"  {et:8} {ok}/{len(dirs)}")
    print("skipped: " + ", ".join(f"{k}: {v}" for k, v in sorted(skipped.items())))
    total = len(runnable)
    rate = 100.0 * len(passed) / total if total else 0.0
    print(f"suricata-verify ({','.join(sorted(types))}): {len(passed)} passed, {len(failed)} failed "
          f"of {total} runnable ({rate:.1f}%)")
    if args.min_pass_rate is not None and rate < args.min_pass_rate:
        print(f"pass rate {rate:.1f}% is below {args.min_pass_rate}%")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
