#!/usr/bin/env bash
# `mimamori-agent rules update`: a provider's YARA archive (one good file, one that does not
# compile) is installed and used at once; a damaged archive and a wrong checksum change nothing;
# SigmaHQ's linux rules (from the corpus) install into the state folder, where the process
# collector finds them with no further setting.
set -u
mkdir -p set/yara downloads state
cat > set/yara/provider.yar <<'Y'
rule Provider_Test_Marker : provider
{
    strings:
        $m = "provider-marker-7d1f"
    condition:
        $m
}
Y
echo 'rule Broken { condition: nosuchthing }' > set/yara/broken.yar
tar czf yara.tgz -C set yara
echo "--- yara"
mimamori-agent rules update --url "file://$PWD/yara.tgz" --set yara.rules_dir="$PWD/rules" 2>&1
echo "exit=$?"
echo "--- damaged"
echo "not an archive" > bad.tgz
mimamori-agent rules update --url "file://$PWD/bad.tgz" --set yara.rules_dir="$PWD/rules" 2>&1
echo "exit=$?"
echo "--- checksum"
mimamori-agent rules update --url "file://$PWD/yara.tgz" --set yara.rules_dir="$PWD/rules" \
  --sha256 0000000000000000000000000000000000000000000000000000000000000000 2>&1
echo "exit=$?"
ls rules
echo "--- sigma"
tar czf sigma.tgz -C "$SIGMA_ROOT" linux
mimamori-agent rules update --url "file://$PWD/sigma.tgz" --kind sigma \
  --set agent.state_dir="$PWD/state" 2>&1
echo "exit=$?"
echo "--- agent"
mimamori-agent --eve eve.json --run-for 3 --set agent.state_dir="$PWD/state" \
  --set auth.enabled=false --set fim.enabled=false --set persistence.enabled=false \
  --set ransomware.enabled=false --set network.enabled=false --set inventory.enabled=false --set behaviour.enabled=false \
  --set yara.rules_dir="$PWD/rules" --set yara.paths="$PWD/downloads" \
  --set agent.poll_interval_ms=200 2>agent.log &
agent=$!
for _ in $(seq 300); do grep -q "agent running" agent.log && break; sleep 0.1; done
echo "invoice provider-marker-7d1f" > downloads/invoice.txt
wait $agent
grep -o "[0-9]* Sigma linux process_creation rules loaded" agent.log
