#!/bin/sh
# An exported event log of three JSON records one after another; the middle one is broken.
e=$1/sigma/regression_data/rules-emerging-threats/2026/Exploits/RedSun/pipe_created_win_exploit_redsun_named_pipe/9b4e7c2a-3f6d-4a8b-b5e9-1c7d3f2e6a4b.json
{ cat "$e"; printf '{"Event": }\n'; cat "$e"; } >log.json
exec mimamori hunt log.json --rules "$1/sigma/rules-emerging-threats/2026/Exploits/RedSun" --format jsonl --output timeline.jsonl --lang en
