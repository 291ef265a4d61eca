#!/usr/bin/env python3
"""suricata-verify alert checks for the rule engine, on top of tests/suricata_verify.py.

Runs every runnable suricata-verify test whose checks look at `event_type: alert` (or at alert
fields) or at `event_type: packet` (packets tagged by a rule's `tag` option), the way the corpus README describes: the test's pcap, its rules (`rules:` in
test.yaml, else test.rules, else the one *.rules file of the folder), the suite's own
classification.config, and the arguments that change meaning (-k none, --simulate-ips,
stream.midstream, stream.inline, ...). Prints passed / failed / skipped, the names of the
failures, and the pass rate of the http-evader family separately.
"""

import argparse
import concurrent.futures
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import suricata_verify as sv  # noqa: E402


def is_alert_check(f):
    m = f.get("match") or {}
    if m.get("event_type") in ("alert", "packet"):
        return True
    return any(k.startswith("alert.") or k == "alert" for k in m) and "event_type" not in m


def alert_checks(test):
    out = []
    for c in test.spec.get("checks") or []:
        if not isinstance(c, dict) or "filter" not in c:
            continue
        f = c["filter"] or {}
        if f.get("filename", "eve.json") != "eve.json" or not is_alert_check(f):
            continue
        if not sv.check_applies(f):
            continue
        out.append(f)
    return out


_LACKING = re.compile(r"(unsupported [a-z]+ '[^']*'|unknown keyword '[^']*'|"
                      r"app-layer protocol '[^']*'|unknown protocol '[^']*')")


def rules_lacking(test, binary):
    """The first rule feature the sensor lacks (as --rules-check reports it), or None."""
    rules = test.rules_file()
    if not rules:
        return None
    proc = sv.subprocess.run([binary, "--rules-check", "-S", rules], capture_output=True,
                             text=True, errors="replace", timeout=120)
    m = _LACKING.search(proc.stdout)
    return m.group(1) if m else None


def skip_reason(test, binary):
    why = test.skip_reason()
    if why:
        return why
    if not alert_checks(test):
        return "no alert checks"
    if test.spec.get("exit-code") not in (None, 0):
        return "expects a failing exit code"
    _, unknown = test.sensor_args()
    for u in unknown:
        if u.startswith("--"):
            return "argument " + u.split("=")[0]
    conf = os.path.join(test.dir, "suricata.yaml")
    conf_text = open(conf, encoding="utf-8", errors="replace").read() if os.path.exists(conf) else ""
    if re.search(r"^\s*firewall\s*:", conf_text, re.M):
        return "firewall mode"
    if "exception-policy" in conf_text or any("-policy" in a for a in test.args()):
        return "exception policies"
    lacking = rules_lacking(test, binary)
    if lacking:
        kind = lacking.split(" '")[0]
        return "rules need a feature we lack (" + kind + ")"
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--bin", required=True, help="folder holding mimamori-sensor")
    ap.add_argument("--corpus", default=None, help="the corpus folder (default ../shared/corpus)")
    ap.add_argument("--only", default=None, help="regex on test names")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--min-pass-rate", type=float, default=None,
                    help="exit 1 when the pass rate over runnable tests (percent) is below")
    ap.add_argument("--min-evader-rate", type=float, default=None,
                    help="exit 1 when the http-evader family's pass rate (percent) is below")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every failing check")
    ap.add_argument("--keep", action="store_true", help="keep each test's output folder")
    args = ap.parse_args()

    here = os.path.dirname(os.path.abspath(__file__))
    corpus = args.corpus or os.path.join(here, "..", "..", "shared", "corpus")
    root = os.path.join(corpus, "suricata-verify", "tests")
    classification = os.path.join(corpus, "suricata-verify", "etc", "classification.config")
    binary = os.path.join(args.bin, "mimamori-sensor")
    tests = sv.discover(root)
    if args.only:
        tests = [t for t in tests if re.search(args.only, t.dir)]
    skipped, runnable = {}, []
    for t in tests:
        why = skip_reason(t, binary)
        if why:
            skipped[why] = skipped.get(why, 0) + 1
        else:
            runnable.append(t)
    passed, failed = [], []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as ex:
        extra = ["--set", "classification-file=" + classification]
        for test, failures in ex.map(
                lambda t: sv.run_one(t, binary, alert_checks(t), args.keep, extra), runnable):
            (failed if failures else passed).append((test, failures))
    for test, failures in sorted(failed, key=lambda x: x[0].dir):
        print(f"FAIL {os.path.relpath(test.dir, root)}")
        if args.verbose:
            for f in failures[:6]:
                print(f"    {f}")
    print("skipped: " + ", ".join(f"{k}: {v}" for k, v in sorted(skipped.items())))
    evader = [t for t in runnable if "http-evader" in os.path.relpath(t.dir, root)]
    evader_failed = {t.dir for t, _ in failed} & {t.dir for t in evader}
    evader_rate = None
    if evader:
        ok = len(evader) - len(evader_failed)
        evader_rate = 100.0 * ok / len(evader)
        print(f"http-evader family: {ok} passed of {len(evader)} ({evader_rate:.1f}%)")
    total = len(runnable)
    rate = 100.0 * len(passed) / total if total else 0.0
    print(f"suricata-verify alerts: {len(passed)} passed, {len(failed)} failed, "
          f"{sum(skipped.values())} skipped; {rate:.1f}% of {total} runnable")
    if args.min_pass_rate is not None and rate < args.min_pass_rate:
        print(f"pass rate {rate:.1f}% is below the floor {args.min_pass_rate}%")
        return 1
    if args.min_evader_rate is not None and (evader_rate or 0.0) < args.min_evader_rate:
        print(f"http-evader pass rate {evader_rate}% is below the floor {args.min_evader_rate}%")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
