#!/usr/bin/env python3
"""Compares what mimamori-sensor logs with what tshark decodes from the same captures.

For every pcap (suricata-verify by default, each distinct file once) it collects
  dns:  query names of DNS requests (and requests over TCP)
  http: HTTP requests as (method, host, URI)
  tls:  SNI of each TLS ClientHello
from tshark and from the sensor's EVE output, and reports per protocol how many of tshark's
items the sensor logged too (multiset intersection), plus the items only one side has.

Items tshark decodes that the sensor does not log by design are not compared: each is listed
with its reason and counted per reason, and agreement is reported both on the comparable items
and on all of tshark's items (excluded ones counted as misses):
  * http-over-udp: HTTP over UDP (SSDP's M-SEARCH/NOTIFY); like Suricata, the sensor parses
    HTTP/1.x over TCP only;
  * http2/quic: DNS or HTTP inside HTTP/2 or QUIC (DoH, DoQ): protocols the sensor does not
    parse: HTTP/2 and QUIC are not built;
  * icmp-quoted: a DNS query or HTTP request quoted inside an ICMP error message; tshark
    dissects the quoted bytes, a sensor logs only what travels in a flow;
  * uri-double-space: a request line with repeated spaces ("GET  /  HTTP/1.0"); tshark reads
    an empty URI, libhtp (and the sensor) skip the extra spaces and read "/";
  * ambiguous-content-length: requests after one with conflicting Content-Length headers on
    the same connection; libhtp (and the sensor) frame the body by the first, tshark by the
    last, so the two read different requests from the same bytes.
Not differences, only normalisation:
  * the sensor finds protocols by content on any port; tshark dissects HTTP/TLS/DNS on their
    registered ports, so items on other ports that only we log are "sensor-only", not errors;
  * tshark reports retransmitted requests again; frames it flags as retransmissions are skipped;
  * hosts are compared lowercased without the port (the sensor's `http.hostname`);
  * a connection gets one TLS record (as in Suricata), so a second ClientHello on it
    (HelloRetryRequest, a duplicate) is counted once on tshark's side too;
  * URIs are compared up to the first space: the sensor keeps spaces inside the URI as
    Suricata/libhtp do ("GET /a b HTTP/1.1" -> "/a b"), tshark ends the URI at the space;
  * where tshark cannot align a frame's requests with their Host headers, the host is not
    compared for those requests.
"""

import argparse
import collections
import csv
import io
import concurrent.futures
import hashlib
import json
import os
import re
import subprocess
import sys
import tempfile

SEP = "\x1e"
WILDCARD = "*any*"
FIELDS = ["frame.number", "tcp.analysis.retransmission", "dns.flags.response", "dns.qry.name",
          "http.request.method", "http.host", "http.request.uri",
          "tls.handshake.type", "tls.handshake.extensions_server_name", "udp.srcport",
          "tcp.srcport", "frame.protocols", "tcp.stream", "http.content_length_header",
          "_ws.col.Info"]


def tshark_items(pcap, timeout=120):
    cmd = ["tshark", "-n", "-r", pcap, "-o", "tcp.desegment_tcp_streams:TRUE",
           "-Y", "dns or http.request or tls.handshake.type == 1", "-T", "fields",
           "-E", "separator=\t", "-E", "quote=d", "-E", "aggregator=" + SEP, "-E", "occurrence=a"]
    for f in FIELDS:
        cmd += ["-e", f]
    items = {"dns": collections.Counter(), "http": collections.Counter(), "tls": collections.Counter()}
    excluded = []  # (protocol, item, reason)
    try:
        p = subprocess.run(cmd, capture_output=True, text=True, errors="replace", timeout=timeout)
    except subprocess.TimeoutExpired:
        return None, None, -1, "tshark timed out"
    # Quoted fields: a URI may hold a tab or a line break, which csv reads correctly.
    streams_with_sni = set()
    ambiguous_streams = set()
    for cols in csv.reader(io.StringIO(p.stdout), delimiter="\t", quotechar='"'):
        cols += [""] * (len(FIELDS) - len(cols))
        row = dict(zip(FIELDS, cols))
        if row["tcp.analysis.retransmission"]:
            continue
        protos = row["frame.protocols"].split(":")
        reason = None
        if "http2" in protos or "quic" in protos or "doh" in protos:
            reason = "http2/quic"
        else:
            # A transport header after an ICMP header: bytes quoted in an ICMP error.
            for i, proto in enumerate(protos):
                if proto in ("icmp", "icmpv6") and any(x in ("udp", "tcp") for x in protos[i + 1:]):
                    reason = "icmp-quoted"
                    break
        if row["dns.qry.name"] and row["dns.flags.response"].split(SEP)[0] in ("0", "False"):
            for name in row["dns.qry.name"].split(SEP):
                item = name.lower().rstrip(".")
                if reason:
                    excluded.append(("dns", item, reason))
                else:
                    items["dns"][item] += 1
        if row["http.request.method"]:
            methods = row["http.request.method"].split(SEP)
            hosts = row["http.host"].split(SEP) if row["http.host"] else []
            uris = row["http.request.uri"].split(SEP) if row["http.request.uri"] else []
            # tshark lists each field's occurrences separately; when some requests of a frame
            # lack a Host header the lists cannot be aligned, so the host is not compared.
            aligned = len(hosts) == len(methods)
            http_reason = reason
            if not http_reason and "udp" in protos:
                http_reason = "http-over-udp"
            if not http_reason and row["tcp.stream"] in ambiguous_streams:
                http_reason = "ambiguous-content-length"
            lengths = [x.strip() for x in row["http.content_length_header"].split(SEP) if x]
            ambiguous = len(set(lengths)) > 1 and len(lengths) > len(methods)
            for i, m in enumerate(methods):
                host = norm_host(hosts[i]) if aligned else WILDCARD
                uri = uris[i] if i < len(uris) else ""
                item = (m, host, uri.split(" ")[0])
                r = http_reason
                if not r and ambiguous and i > 0:
                    r = "ambiguous-content-length"
                if not r and uri == "" and f"{m}  " in row["_ws.col.Info"]:
                    r = "uri-double-space"
                if r:
                    excluded.append(("http", item, r))
                else:
                    items["http"][item] += 1
            if ambiguous:
                ambiguous_streams.add(row["tcp.stream"])
        if row["tls.handshake.extensions_server_name"] or "1" in row["tls.handshake.type"].split(SEP):
            types = row["tls.handshake.type"].split(SEP)
            snis = [s for s in row["tls.handshake.extensions_server_name"].split(SEP) if s]
            hellos = types.count("1")
            for i in range(hellos):
                sni = snis[i].lower() if i < len(snis) else ""
                # One TLS record per connection (as Suricata): a second ClientHello on the same
                # connection (HelloRetryRequest, duplicates) is not counted again.
                if (row["tcp.stream"], sni) in streams_with_sni:
                    continue
                streams_with_sni.add((row["tcp.stream"], sni))
                if reason and sni:
                    excluded.append(("tls", sni, reason))
                else:
                    items["tls"][sni] += 1
    # ClientHellos without SNI are not compared (nothing to compare).
    items["tls"].pop("", None)
    return items, excluded, p.returncode, p.stderr


def resolve_wildcards(theirs, ours):
    """Gives tshark's host-less HTTP items the host of a matching (method, URI) of ours."""
    theirs = collections.Counter(theirs)
    left = collections.Counter(ours) - collections.Counter(
        {k: v for k, v in theirs.items() if k[1] != WILDCARD})
    for (m, h, u), n in list(theirs.items()):
        if h != WILDCARD:
            continue
        del theirs[(m, h, u)]
        for (om, oh, ou), on in list(left.items()):
            if n and om == m and ou == u and on > 0:
                take = min(n, on)
                theirs[(om, oh, ou)] += take
                left[(om, oh, ou)] -= take
                n -= take
        if n:
            theirs[(m, h, u)] += n
    return theirs, ours


def norm_host(h):
    h = h.strip().lower()
    if h.startswith("["):
        return h[: h.find("]") + 1] if "]" in h else h
    return h.split(":")[0]


def sensor_items(binary, pcap):
    out = tempfile.mkdtemp(prefix="mimamori-tshark-")
    try:
        p = subprocess.run([binary, "-r", pcap, "-l", out, "-k", "none",
                            "--set", "stream.midstream=true", "--set", "outputs.eve.flow=false"],
                           capture_output=True, text=True, errors="replace", timeout=300)
        items = {"dns": collections.Counter(), "http": collections.Counter(), "tls": collections.Counter()}
        path = os.path.join(out, "eve.json")
        if os.path.exists(path):
            with open(path, "rb") as f:
                for line in f:
                    try:
                        e = json.loads(line)
                    except ValueError:
                        continue
                    t = e.get("event_type")
                    if t == "dns" and e["dns"].get("type") == "request":
                        for q in e["dns"].get("queries", []):
                            items["dns"][q.get("rrname", "").lower().rstrip(".")] += 1
                    elif t == "http":
                        h = e["http"]
                        host = h.get("hostname", "")
                        url = h.get("url", "").split(" ")[0]
                        items["http"][(h.get("http_method", ""), host, url)] += 1
                    elif t == "tls" and "sni" in e["tls"]:
                        items["tls"][e["tls"]["sni"].lower()] += 1
        return items, p.returncode
    finally:
        subprocess.run(["rm", "-rf", out])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--bin", required=True)
    ap.add_argument("--corpus", default=None)
    ap.add_argument("--only", default=None, help="regex a pcap path must match")
    ap.add_argument("--limit", type=int, default=0, help="at most this many pcaps (0: all)")
    ap.add_argument("--sample", type=int, default=0,
                    help="compare this many pcaps spread evenly over the selection (0: all)")
    ap.add_argument("-j", "--jobs", type=int, default=2)
    ap.add_argument("--min-agreement", type=float, default=None,
                    help="exit 1 if any protocol's agreement (percent) is below this")
    ap.add_argument("--tshark-timeout", type=int, default=120, help="seconds per capture")
    ap.add_argument("-v", "--verbose", action="store_true", help="list differing items")
    args = ap.parse_args()
    here = os.path.dirname(os.path.abspath(__file__))
    corpus = args.corpus or os.path.join(here, "..", "..", "shared", "corpus")
    root = os.path.join(corpus, "suricata-verify", "tests")
    binary = os.path.join(args.bin, "mimamori-sensor")
    pcaps, seen = [], set()
    for d, _, files in sorted(os.walk(root)):
        for f in sorted(files):
            if not f.endswith((".pcap", ".pcapng")):
                continue
            path = os.path.join(d, f)
            if args.only and not re.search(args.only, path):
                continue
            with open(path, "rb") as fh:
                digest = hashlib.sha1(fh.read()).hexdigest()
            if digest in seen:
                continue
            seen.add(digest)
            pcaps.append(path)
    if args.sample and len(pcaps) > args.sample:
        step = len(pcaps) / args.sample
        pcaps = [pcaps[int(i * step)] for i in range(args.sample)]
    if args.limit:
        pcaps = pcaps[: args.limit]

    def one(pcap):
        theirs, excluded, trc, _ = tshark_items(pcap, args.tshark_timeout)
        if theirs is None:
            return pcap, None, None, None, 0
        ours, orc = sensor_items(binary, pcap)
        return pcap, theirs, excluded, ours, orc

    totals = {k: [0, 0, 0] for k in ("dns", "http", "tls")}  # tshark, matched, ours
    excluded_n = {k: collections.Counter() for k in totals}  # reason -> items
    excluded_list = []
    diffs = {k: [] for k in totals}
    crashes = []
    tshark_failed = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as ex:
        for pcap, theirs, excluded, ours, orc in ex.map(one, pcaps):
            if theirs is None:
                tshark_failed.append(pcap)
                continue
            if orc != 0:
                crashes.append((pcap, orc))
            rel = os.path.relpath(pcap, root)
            for k, item, reason in excluded:
                excluded_n[k][reason] += 1
                excluded_list.append((k, rel, item, reason))
            for k in totals:
                t, o = theirs[k], ours[k]
                if k == "http":
                    t, o = resolve_wildcards(t, o)
                matched = sum((t & o).values())
                totals[k][0] += sum(t.values())
                totals[k][1] += matched
                totals[k][2] += sum(o.values())
                missing = t - o
                extra = o - t
                if missing or extra:
                    diffs[k].append((rel, dict(missing), dict(extra)))
    print(f"pcaps compared: {len(pcaps)}")
    worst = 100.0
    for k, (t, m, o) in totals.items():
        rate = 100.0 * m / t if t else 100.0
        worst = min(worst, rate)
        ex_total = sum(excluded_n[k].values())
        overall = 100.0 * m / (t + ex_total) if t + ex_total else 100.0
        print(f"  {k:5} comparable {t:6}  matched {m:6}  agreement {rate:6.2f}%   "
              f"| all tshark items {t + ex_total:6}  overall {overall:6.2f}%   "
              f"(sensor-only items: {o - m})")
        for reason, n in sorted(excluded_n[k].items()):
            print(f"        not compared, {reason}: {n}")
    if args.verbose:
        for k in diffs:
            for pcap, missing, extra in diffs[k]:
                if missing:
                    print(f"  {k} {pcap}: only tshark: {list(missing.items())[:5]}")
                if extra:
                    print(f"  {k} {pcap}: only sensor: {list(extra.items())[:5]}")
        for k, pcap, item, reason in excluded_list:
            print(f"  {k} {pcap}: not compared ({reason}): {item}")
    for pcap in tshark_failed:
        print(f"  not compared (tshark timed out): {os.path.relpath(pcap, root)}")
    for pcap, rc in crashes:
        print(f"  sensor exit {rc} on {pcap}")
    if args.min_agreement is not None and (worst < args.min_agreement or crashes):
        print(f"agreement below {args.min_agreement}% (or sensor failures)")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
