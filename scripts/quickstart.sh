#!/usr/bin/env bash
# The main job on the bundled probes: set up, build every spec in probes/, then run the
# opensnoop example for a few seconds, printing the files this machine opens.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
printf '\n==> building probes/*.yaml\n'
npx probegen build probes/*.yaml
npm run --silent build
printf '\n==> running opensnoop for %s seconds\n' "${DURATION:-3}"
node dist/examples/opensnoop.js --duration "${DURATION:-3}"
