#!/usr/bin/env bash
# An ordinary admin day replayed while the agent runs with its defaults (all collectors), inside
# a private mount namespace whose /etc, /usr, /var and /home are throwaway overlays: a small
# package built here is installed with dpkg and upgraded (its files, a cron.d entry, a systemd
# unit enabled by its postinst, a system user, a cron.daily script), the day's cron.daily jobs
# run (dpkg's database backup, logrotate with every log due — renaming and creating
# auth.log, syslog with copytruncate, wtmp, btmp —, the package's own job), a user's password
# is changed, and software is built from source (configure-like checks, make, make check, make
# install into /usr/local as root, a build in /tmp), and a container is started with runc. Then tools/own_alerts.py counts the alerts
# this case caused, by severity; other programs on a shared machine are left out by their
# process (see its header).
set -u
if [[ $(id -u) -ne 0 ]]; then
  echo "SKIP: needs root (a private mount namespace, dpkg, fanotify, the process connector)"
  exit 77
fi
if [[ -z ${MIMAMORI_CASE_NS:-} ]]; then
  MIMAMORI_CASE_NS=1 exec unshare --mount --propagation private bash "$0" "$@"
fi
set -e
case_dir=$(cd "$(dirname "$0")" && pwd)
tools=$case_dir/../tools
for d in etc usr var home; do
  mkdir -p ov/$d/up ov/$d/work
  mount -t overlay overlay -o lowerdir=/$d,upperdir=$PWD/ov/$d/up,workdir=$PWD/ov/$d/work /$d
done
mount -t tmpfs tmpfs /var/tmp
getent passwd alice >/dev/null || useradd -m -s /bin/bash alice
echo "Dec  7 08:59:00 pc sshd[90]: Server listening on 0.0.0.0 port 22." > /var/log/auth.log
echo "Dec  7 08:59:00 pc kernel: booted" > /var/log/syslog
# Every log is due for rotation (as on the first cron.daily after a quiet week), and syslog is
# rotated by copy and truncation as some packages configure theirs.
mkdir -p /var/lib/logrotate
{
  echo "logrotate state -- version 2"
  for l in /var/log/auth.log /var/log/syslog /var/log/wtmp /var/log/btmp /var/log/dpkg.log \
    /var/log/apt/history.log /var/log/apt/term.log /var/log/alternatives.log; do
    echo "\"$l\" 2026-1-1-0:0:0"
  done
} > /var/lib/logrotate/status
cat > /etc/logrotate.d/case-syslog <<'CONF'
/var/log/auth.log
{
	rotate 4
	daily
	missingok
	create 0640 root adm
}
/var/log/syslog
{
	rotate 4
	daily
	missingok
	copytruncate
}
CONF

# The package, version 1.0 and 1.1.
make_deb() {
  local v=$1 root=pkg-$1
  mkdir -p $root/DEBIAN $root/usr/bin $root/etc/cron.d $root/lib/systemd/system \
    $root/usr/share/mimamori-case-tool
  printf '#include <stdio.h>\nint main(void) { puts("tool %s"); return 0; }\n' "$v" > tool.c
  gcc -O2 -o $root/usr/bin/mimamori-case-tool tool.c
  echo "17 3 * * * root /usr/bin/mimamori-case-tool >/dev/null" > $root/etc/cron.d/mimamori-case-tool
  printf '[Unit]\nDescription=case tool\n[Service]\nExecStart=/usr/bin/mimamori-case-tool\n[Install]\nWantedBy=multi-user.target\n' \
    > $root/lib/systemd/system/mimamori-case-tool.service
  printf '#!/bin/sh\n/usr/bin/mimamori-case-tool > /var/tmp/mimamori-case-tool.daily\n' \
    > $root/usr/share/mimamori-case-tool/daily
  cat > $root/DEBIAN/control <<CTRL
Package: mimamori-case-tool
Version: $v
Architecture: $(dpkg --print-architecture)
Maintainer: Mimamori tests <tests@example.org>
Description: a small package for the admin-day case
CTRL
  echo "/etc/cron.d/mimamori-case-tool" > $root/DEBIAN/conffiles
  # What maintainer scripts do: a system user, the unit enabled, a cron.daily job put in place.
  cat > $root/DEBIAN/postinst <<'SH'
#!/bin/sh
set -e
getent passwd mimamori-case >/dev/null || useradd --system --no-create-home --shell /usr/sbin/nologin mimamori-case
mkdir -p /etc/systemd/system/multi-user.target.wants
ln -sf /lib/systemd/system/mimamori-case-tool.service /etc/systemd/system/multi-user.target.wants/mimamori-case-tool.service
install -m 0755 /usr/share/mimamori-case-tool/daily /etc/cron.daily/mimamori-case-tool
SH
  chmod 0755 $root/DEBIAN/postinst
  dpkg-deb --root-owner-group --build $root mimamori-case-tool_$v.deb >/dev/null
}
make_deb 1.0
make_deb 1.1

# The sources to build: a configure step that compiles and runs test programs, make, tests.
mkdir -p /home/alice/src/hello
cat > /home/alice/src/hello/configure <<'SH'
#!/bin/sh
for f in stdio.h string.h; do
  printf '#include <%s>\nint main(void){return 0;}\n' $f > conftest.c
  cc -o conftest conftest.c && ./conftest && echo "checking for $f... yes"
done
rm -f conftest conftest.c
echo "PREFIX=/usr/local" > config.mk
SH
cat > /home/alice/src/hello/Makefile <<'MK'
include config.mk
hello: hello.o greet.o
	cc -o $@ hello.o greet.o
%.o: %.c
	cc -O2 -c $<
check: hello
	./hello | grep -q hello
install: hello
	install -m 0755 hello $(PREFIX)/bin/hello
MK
printf 'void greet(void);\nint main(void){greet();return 0;}\n' > /home/alice/src/hello/hello.c
printf '#include <stdio.h>\nvoid greet(void){puts("hello");}\n' > /home/alice/src/hello/greet.c
chmod +x /home/alice/src/hello/configure
chown -R alice: /home/alice/src

# A container image as a runtime unpacks one: busybox in a root file system, a runc bundle.
mkdir -p ctr/rootfs/bin
cp "$(command -v busybox)" ctr/rootfs/bin/busybox
for a in sh echo sleep; do ln -s busybox ctr/rootfs/bin/$a; done
(cd ctr && runc spec)
python3 - ctr/config.json <<'JSON'
import json, sys
c = json.load(open(sys.argv[1]))
c["process"]["terminal"] = False
c["process"]["args"] = ["sh", "-c", "echo hello from the container; sleep 1"]
c["root"]["readonly"] = True
json.dump(c, open(sys.argv[1], "w"), indent=1)
JSON

mimamori-agent --eve eve.json --run-for 45 --set agent.state_dir=$PWD/state \
  --set yara.paths=/home --set agent.poll_interval_ms=200 2>agent.log &
agent=$!
for _ in $(seq 300); do grep -q "agent running" agent.log && break; sleep 0.1; done
sleep 2
echo "day starts: $$" > day.txt

dpkg -i mimamori-case-tool_1.0.deb >dpkg.out
sleep 1
dpkg -i mimamori-case-tool_1.1.deb >>dpkg.out
sleep 1
# cron.daily as cron runs it; apt-compat (sleeps up to 30 minutes, then fetches package lists)
# and man-db (rebuilds the manual index for minutes) are left out.
run-parts --report --regex '^(dpkg|logrotate|mimamori-case-tool)$' /etc/cron.daily
sleep 1
echo 'alice:An0ther-day-passw0rd' | chpasswd
runuser -u alice -- bash -c 'cd ~/src/hello && ./configure && make && make check' >build.out
make -C /home/alice/src/hello install >>build.out
mkdir -p /tmp/mimamori-case-build-$$
cp /home/alice/src/hello/*.c /home/alice/src/hello/Makefile /home/alice/src/hello/config.mk \
  /tmp/mimamori-case-build-$$/
make -C /tmp/mimamori-case-build-$$ check >>build.out
rm -rf /tmp/mimamori-case-build-$$
/usr/local/bin/hello >>build.out
runc run --bundle ctr mimamori-case-$$ >ctr.out
sleep 3
wait $agent
cat agent.log >&2
ls /var/log >&2
test -x /etc/cron.daily/mimamori-case-tool && echo "package installed: $(dpkg-query -W -f='${Version}' mimamori-case-tool)"
test -f /var/log/auth.log.1 && echo "auth.log rotated"
test -f /var/backups/dpkg.status.0 && echo "dpkg database backed up"
grep -q "hello from the container" ctr.out && echo "container ran"
python3 "$tools/own_alerts.py" eve.json $$
