# mimamori-agent %post ($1: 1 install, 2 upgrade): as the Debian postinst.
install -d -m 0700 /var/lib/mimamori-agent
if [ -d /run/systemd/system ]; then
  systemctl daemon-reload >/dev/null 2>&1 || :
fi
if [ -s /etc/mimamori/agent.credential ]; then
  if [ -d /run/systemd/system ] && systemctl -q is-enabled mimamori-agent.service 2>/dev/null; then
    systemctl restart mimamori-agent.service || :
  fi
else
  echo "mimamori-agent is installed but not started: this machine is not enrolled yet."
  echo "Next: mimamori-agent enroll --server https://SERVER:8443 --code CODE --fingerprint SHA256"
  echo "      systemctl enable --now mimamori-agent"
fi
