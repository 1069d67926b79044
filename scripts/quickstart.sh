#!/usr/bin/env bash
# The main job on the bundled probes: set up, build every spec in probes/, then run the
# opensnoop example for a few seconds, printing the files this machine opens.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
printf '\n==> building probes/*.yaml\n'
npx probegen build probes/*.yaml
npm run --silent build
printf '\n==> running opensnoop for %s seconds (a background loop opens a few files to show)\n' "${DURATION:-3}"
# Something to see on an idle machine: read a few files while the probe is attached.
( sleep 1; for f in /etc/os-release /etc/hostname /proc/self/status; do cat "$f" >/dev/null; sleep 0.2; done ) &
node dist/examples/opensnoop.js --duration "${DURATION:-3}"
wait
