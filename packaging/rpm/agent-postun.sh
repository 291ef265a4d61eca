# mimamori-agent %postun: RPM has no purge; the state (/var/lib/mimamori-agent) and the
# credential stay until removed by hand (README: "Uninstall").
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || :
fi
