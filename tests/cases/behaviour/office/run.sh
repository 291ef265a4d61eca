#!/usr/bin/env bash
# The generated office, then the corpus's captures of ordinary protocols (DNS, TLS, QUIC, DHCP,
# NTP, SIP, MQTT, LDAP, Kerberos, SMTP, IKEv2, SNMP, HTTP/2, ...) merged into one capture.
set -euo pipefail
bin=$1 corpus=$2
here=$(dirname "$0")
python3 "$here/../tools/scenarios.py" --bin "$bin" --scenario office --variants 1 --hours 3
find "$corpus/suricata-verify/tests" -maxdepth 2 -type d |
  grep -E "/tests/(dns|tls|ja4|quic|dhcp|ntp|sip|mqtt|ldap|krb5|smtp|ikev2|snmp|http2|rfb|pgsql|mdns|websocket)[^/]*$" |
  while read -r d; do find "$d" -maxdepth 1 -name '*.pcap*'; done | sort -u >all
: >eth
while read -r f; do
  if capinfos -T -m -E "$f" 2>/dev/null | tail -1 | grep -q ',ether$'; then echo "$f" >>eth; fi
done <all
mapfile -t files <eth
mergecap -F pcap -w corpus.pcap "${files[@]}"
mkdir -p corpus-out
"$bin/mimamori-sensor" -r corpus.pcap -l corpus-out -k none >/dev/null
n=$(python3 -c "
import json
n = 0
for line in open('corpus-out/eve.json'):
    r = json.loads(line)
    if r['event_type'] == 'alert' and (9200100 <= r['alert']['gid'] <= 9200899 or r['alert']['gid'] == 9201000):
        n += 1
        print(r['alert']['signature'], r['src_ip'], r['dest_ip'], file=__import__('sys').stderr)
print(n)")
echo "corpus: ${#files[@]} captures of ordinary protocols, $n behaviour alerts"
