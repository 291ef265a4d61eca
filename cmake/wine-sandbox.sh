#!/bin/sh
# wineboot links the profile's Documents, Desktop, Downloads, ... to the Unix home folder; the
# tests' prefix gets real folders instead (the agent's collectors watch and write into them).
# $1: the wine prefix.
for l in "$1"/drive_c/users/*/*; do
  if [ -L "$l" ]; then rm "$l" && mkdir "$l"; fi
done
