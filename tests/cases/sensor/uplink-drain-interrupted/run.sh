#!/bin/bash
# The server is unreachable, so at the end of a replay the sensor waits for it (the drain, here
# up to 600 s). One Ctrl-C must cut that wait short; the unsent events stay in the spool.
set -u
fp=$(printf 'ab%.0s' $(seq 32))
printf 'server_url: https://127.0.0.1:1\ndevice_id: dev-1\ndevice_token: t\nfingerprint: %s\nkind: sensor\n' "$fp" >cred
chmod 600 cred
mimamori-sensor -r "$1/suricata-verify/tests/smb2-async-read/input.pcap" -l . --credential cred \
  --spool-dir spool --set uplink.drain_timeout_s=600 >stdout.txt 2>stderr.txt &
pid=$!
for _ in $(seq 600); do
  grep -q "waiting up to 600 s" stderr.txt && break
  sleep 0.1
done
kill -INT "$pid"
waited=0
while kill -0 "$pid" 2>/dev/null && ((waited < 300)); do
  sleep 0.1
  waited=$((waited + 1))
done
if kill -0 "$pid" 2>/dev/null; then
  echo "still draining 30 s after the interrupt"
  kill -KILL "$pid"
fi
wait "$pid"
echo "exit $?"
cat stdout.txt
cat stderr.txt >&2
