#!/usr/bin/env bash
# Build (or reuse) the Debian-kernel test VM used for kprobe/fentry/LSM tests.
# Idempotent and silent on a cache hit; see test/vm/README.md.
set -euo pipefail
exec bash "$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/test/vm/build.sh" "$@"
