#!/usr/bin/env bash
# Each bad setting: the exit code and the error line (without the log prefix).
pcap=$1
try() {
  err=$(mimamori-sensor -r "$pcap" -l . --set "$1" 2>&1 >/dev/null)
  echo "rc=$? $(echo "$err" | grep -o '\(behaviour\|vars\)\..*' | head -1)"
}
try behaviour.scan.ports=0
try behaviour.exposed.ports=22,70000
try behaviour.files.hash-lists=no-such-list.txt
try "vars.address-groups.HOME_NET=[10.0.0.0/33]"
try behaviour.beacon.jitter=1.5
try behaviour.upload.severity=4
