#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for probegen, as root: the toolchain (clang, llvm,
# libbpf-dev, bpftool), tracefs and bpffs mounts, npm dependencies with the native addon,
# the TypeScript build, and the Debian-kernel VM for kprobe/fentry tests
# (skip it with PROBEGEN_SKIP_VM=1). Safe to run again: it only does what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

step() { printf '\n==> %s\n' "$*"; }

if [ "$(id -u)" -ne 0 ]; then
  echo "setup.sh installs packages and mounts tracefs/bpffs: run it as root (sudo $0)" >&2
  exit 1
fi

# bpftrace: the bench compares attach and per-event costs with its one-liners.
packages=(clang llvm libbpf-dev bpftool iproute2 pkg-config make g++ linux-libc-dev bpftrace libbpf-tools)
# <sys/sdt.h> for the USDT tests' programs; Debian's python3 carries the USDT probes of probes/pycalls.yaml.
packages+=(systemtap-sdt-dev python3)
# xz-utils: the symbolizer decompresses .gnu_debugdata (MiniDebugInfo) with xz.
packages+=(xz-utils)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  step "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# prometheus: the metrics test runs the real server (its own config, port and temp storage).
# Debian's package would start a service holding port 9090: a policy-rc.d that refuses every
# start keeps it stopped (and a CI machine without init never starts one anyway).
if ! dpkg-query -W -f='${Status}' prometheus 2>/dev/null | grep -q "install ok installed"; then
  step "installing prometheus (its service not started)"
  export DEBIAN_FRONTEND=noninteractive
  created_policy=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d && created_policy=1
  fi
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends prometheus >/dev/null || status=$?
  [ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  [ "${status:-0}" = 0 ] || exit "$status"
fi

step "mounting tracefs and bpffs"
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing || echo "warning: could not mount tracefs" >&2
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf || echo "warning: could not mount bpffs" >&2
# cgroup_skb programs (and their tests) attach to a cgroup v2 directory: mount the hierarchy
# where a cgroup v1 host lacks it (systemd's hybrid layout puts it at /sys/fs/cgroup/unified).
if ! grep -q ' - cgroup2 ' /proc/self/mountinfo; then
  step "mounting cgroup2"
  { mkdir -p /sys/fs/cgroup/unified && mount -t cgroup2 none /sys/fs/cgroup/unified; } ||
    { mkdir -p /run/probegen-cgroup2 && mount -t cgroup2 none /run/probegen-cgroup2; } ||
    echo "warning: could not mount cgroup2 (cgroup_skb tests will skip)" >&2
fi

step "installing npm dependencies and building the native addon"
npm ci --no-audit --no-fund --loglevel=error

step "building probegen"
npm run --silent build

if [ "${PROBEGEN_SKIP_VM:-}" != "1" ]; then
  step "preparing the Debian-kernel VM for kprobe and fentry tests"
  bash test/vm/build.sh
fi
echo
echo "probegen is set up."
