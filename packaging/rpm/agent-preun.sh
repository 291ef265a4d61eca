# mimamori-agent %preun ($1: 0 erase, 1 upgrade): stop it on erase; the spool stays on disk.
if [ "$1" -eq 0 ] && [ -d /run/systemd/system ]; then
  systemctl disable --now mimamori-agent.service >/dev/null 2>&1 || :
fi
