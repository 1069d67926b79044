#!/usr/bin/env bash
# Build (or reuse) the probegen test VM: a Debian distro kernel plus a tiny
# busybox initramfs that mounts the host's root filesystem over 9p and runs one
# command (see test/vm/README.md).
#
# Usage: bash test/vm/build.sh [--force] [--quiet]
#   --force   re-resolve the kernel package and rebuild everything
#   --quiet   print nothing on success (progress goes to stderr otherwise)
#
# Cache: ${PROBEGEN_VM_CACHE:-/var/cache/probegen-vm}
#   <kernel-release>/vmlinuz, initrd.img, kernel.release, stamp
#   current -> <kernel-release>
# A complete cache whose stamp matches this script is a no-op (no network).
# Env: PROBEGEN_VM_KERNEL_PKG=linux-image-6.1.0-NN-amd64 pins the kernel package.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${PROBEGEN_VM_CACHE:-/var/cache/probegen-vm}"
FORCE=0 QUIET=0
for a in "$@"; do
  case "$a" in
    --force) FORCE=1 ;;
    --quiet|-q) QUIET=1 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) echo "build.sh: unknown argument: $a" >&2; exit 2 ;;
  esac
done

say() { [ "$QUIET" = 1 ] || echo "[vm-build] $*" >&2; }
die() { echo "[vm-build] ERROR: $*" >&2; exit 1; }

# The stamp covers this script (it embeds the guest init), so changing the
# recipe invalidates the initramfs but not the downloaded kernel.
STAMP="$(sha256sum "$HERE/build.sh" | cut -c1-16)"

# ---------------------------------------------------------------- fast path
if [ "$FORCE" = 0 ] && [ -e "$CACHE/current/stamp" ] \
   && [ "$(cat "$CACHE/current/stamp")" = "$STAMP" ] \
   && [ -s "$CACHE/current/vmlinuz" ] && [ -s "$CACHE/current/initrd.img" ] \
   && command -v qemu-system-x86_64 >/dev/null; then
  exit 0
fi

# One build at a time (setup scripts and CI may race); re-check after waiting.
mkdir -p "$CACHE"
exec 9>"$CACHE/.lock"
flock 9
if [ "$FORCE" = 0 ] && [ -e "$CACHE/current/stamp" ] \
   && [ "$(cat "$CACHE/current/stamp")" = "$STAMP" ] \
   && [ -s "$CACHE/current/initrd.img" ] && command -v qemu-system-x86_64 >/dev/null; then
  exit 0
fi

# ------------------------------------------------------------- host packages
need_pkgs=()
command -v qemu-system-x86_64 >/dev/null || need_pkgs+=(qemu-system-x86)
dpkg-query -W -f='${Status}' busybox-static 2>/dev/null | grep -q 'ok installed' \
  || need_pkgs+=(busybox-static)
command -v cpio >/dev/null || need_pkgs+=(cpio)
command -v xz >/dev/null || need_pkgs+=(xz-utils)
command -v zstd >/dev/null || need_pkgs+=(zstd)
command -v dpkg-deb >/dev/null || die "dpkg-deb missing: this script needs a Debian host"

apt_updated=0
apt_update() {
  [ "$apt_updated" = 1 ] && return 0
  say "apt-get update"
  apt-get update -q -o DPkg::Lock::Timeout=600 >/tmp/probegen-vm-apt.log 2>&1 \
    || { cat /tmp/probegen-vm-apt.log >&2; die "apt-get update failed"; }
  apt_updated=1
}
if [ "${#need_pkgs[@]}" -gt 0 ]; then
  [ "$(id -u)" = 0 ] || die "missing packages ${need_pkgs[*]} and not root"
  say "installing ${need_pkgs[*]}"
  if ! apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends "${need_pkgs[@]}" \
        >/tmp/probegen-vm-apt.log 2>&1; then
    apt_update
    apt-get install -y -q -o DPkg::Lock::Timeout=600 --no-install-recommends "${need_pkgs[@]}" \
        >/tmp/probegen-vm-apt.log 2>&1 \
      || { tail -30 /tmp/probegen-vm-apt.log >&2; die "apt-get install failed"; }
  fi
fi
BUSYBOX=/bin/busybox
ldd "$BUSYBOX" >/dev/null 2>&1 && die "$BUSYBOX is not static (install busybox-static)"

# ------------------------------------------------------------ kernel package
resolve_pkg() {
  apt-cache depends linux-image-amd64 2>/dev/null \
    | sed -n 's/^ *Depends: \(linux-image-[0-9][^ ]*-amd64\)$/\1/p' | head -1
}
PKG="${PROBEGEN_VM_KERNEL_PKG:-}"
if [ -z "$PKG" ] && [ "$FORCE" = 0 ] && [ -e "$CACHE/current/package" ]; then
  PKG="$(cat "$CACHE/current/package")"     # rebuild initramfs only
fi
if [ -z "$PKG" ]; then
  PKG="$(resolve_pkg)"
  if [ -z "$PKG" ] || [ "$FORCE" = 1 ]; then apt_update; PKG="$(resolve_pkg)"; fi
  [ -n "$PKG" ] || die "cannot resolve linux-image-amd64 (apt-cache depends)"
fi
KREL="${PKG#linux-image-}"
DIR="$CACHE/$KREL"
mkdir -p "$DIR"
say "kernel package $PKG -> $DIR"

if [ ! -s "$DIR/vmlinuz" ] || [ ! -d "$DIR/modules" ] || [ "$FORCE" = 1 ]; then
  work="$(mktemp -d "$CACHE/.dl.XXXXXX")"
  trap 'rm -rf "$work"' EXIT
  say "downloading $PKG (~70 MB)"
  if ! (cd "$work" && apt-get download -q "$PKG" >"$work/log" 2>&1); then
    apt_update
    (cd "$work" && apt-get download -q "$PKG" >"$work/log" 2>&1) \
      || { cat "$work/log" >&2; die "apt-get download $PKG failed"; }
  fi
  say "unpacking"
  dpkg-deb -x "$work"/*.deb "$work/root"
  kv="$(ls "$work/root/lib/modules" | head -1)"
  [ "$kv" = "$KREL" ] || say "note: module dir is $kv"
  rm -rf "$DIR/modules" "$DIR/vmlinuz"
  # Keep only the modules the initramfs may need (the tree is ~400 MB).
  mkdir -p "$DIR/modules"
  cp "$work/root/lib/modules/$kv/modules.builtin" "$DIR/modules/"
  find "$work/root/lib/modules/$kv/kernel" -regextype posix-extended -regex \
    '.*/(virtio_ring|virtio|virtio_pci_legacy_dev|virtio_pci_modern_dev|virtio_pci|netfs|fscache|9pnet|9pnet_virtio|9p|overlay|virtio-rng)\.ko(\.xz|\.zst|\.gz)?' \
    -exec cp {} "$DIR/modules/" \;
  cp "$work/root/boot/config-$kv" "$DIR/config"
  echo "$kv" > "$DIR/kernel.release"
  echo "$PKG" > "$DIR/package"
  cp "$work/root/boot/vmlinuz-$kv" "$DIR/vmlinuz.tmp" && mv "$DIR/vmlinuz.tmp" "$DIR/vmlinuz"
  rm -rf "$work"; trap - EXIT
fi
KV="$(cat "$DIR/kernel.release")"

# Uncompressed ELF vmlinux: qemu boots it via PVH, skipping SeaBIOS and the
# in-guest decompression (~4 s less per boot under TCG). Optional.
extract_vmlinux() {  # bzImage -> ELF, for xz/zstd/gzip-compressed kernels
  local img="$1" out="$2" magic tool off
  for pair in $'\xfd7zXZ:xz -dcq' $'\x28\xb5\x2f\xfd:zstd -dcq' $'\x1f\x8b\x08:gzip -dcq'; do
    magic="${pair%%:*}" tool="${pair#*:}"
    for off in $(LC_ALL=C grep -aboF "$magic" "$img" 2>/dev/null | cut -d: -f1 | head -3); do
      tail -c +$((off + 1)) "$img" | $tool > "$out" 2>/dev/null
      if [ "$(head -c 4 "$out" 2>/dev/null)" = $'\x7fELF' ]; then return 0; fi
    done
  done
  rm -f "$out"; return 1
}
if [ ! -s "$DIR/vmlinux" ] && grep -q '^CONFIG_PVH=y' "$DIR/config" 2>/dev/null; then
  say "extracting vmlinux (PVH boot)"
  extract_vmlinux "$DIR/vmlinuz" "$DIR/vmlinux.tmp" && mv "$DIR/vmlinux.tmp" "$DIR/vmlinux" \
    || say "note: could not extract vmlinux; booting the bzImage"
fi

# --------------------------------------------------------------- initramfs
say "building initramfs"
ir="$(mktemp -d "$CACHE/.initramfs.XXXXXX")"
trap 'rm -rf "$ir"' EXIT
mkdir -p "$ir"/{bin,sbin,dev,proc,sys,host,newroot,job,lib/modules,upper}
cp "$BUSYBOX" "$ir/bin/busybox"
# Insertion order matters (no depmod/modprobe in the initramfs).
: > "$ir/modules.list"
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci \
         netfs fscache 9pnet 9pnet_virtio 9p overlay virtio-rng; do
  f="$(ls "$DIR/modules/$m".ko* 2>/dev/null | head -1 || true)"
  if [ -n "$f" ]; then
    case "$f" in
      *.ko.xz)  xz -dc "$f"   > "$ir/lib/modules/$m.ko" ;;
      *.ko.zst) zstd -qdc "$f" > "$ir/lib/modules/$m.ko" ;;
      *.ko.gz)  gzip -dc "$f" > "$ir/lib/modules/$m.ko" ;;
      *)        cp "$f" "$ir/lib/modules/$m.ko" ;;
    esac
    echo "$m" >> "$ir/modules.list"
  elif grep -Eq "/${m//-/[-_]}\.ko$" "$DIR/modules/modules.builtin"; then
    :  # built into the kernel
  else
    case "$m" in
      overlay|virtio-rng|netfs|fscache|virtio_pci_legacy_dev|virtio_pci_modern_dev) ;;  # optional / not in every kernel
      *) die "module $m is neither a module nor built-in in $KV" ;;
    esac
  fi
done

cat > "$ir/init" <<'INIT'
#!/bin/busybox sh
# probegen test-VM init: mount host root (9p, read-only) under a tmpfs overlay,
# run /job/cmd.sh chrooted there, record its exit code, power off.
/bin/busybox --install -s /bin
export PATH=/bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
log() { echo "[vm-init] $*" > /dev/console; }
fail() { log "FATAL: $*"; echo "PROBEGEN-VM-FAILED: $*" > /dev/console; poweroff -f; sleep 5; echo o > /proc/sysrq-trigger; }
for m in $(cat /modules.list); do
  insmod /lib/modules/$m.ko 2>/dev/null || log "insmod $m failed"
done
ip link set lo up 2>/dev/null
mount -t 9p -o trans=virtio,version=9p2000.L,msize=512000,cache=none jobshare /job \
  || fail "cannot mount job share"
ROOTCACHE=loose
[ -f /job/rootcache ] && ROOTCACHE="$(cat /job/rootcache)"
mount -t 9p -o ro,trans=virtio,version=9p2000.L,msize=512000,cache=$ROOTCACHE hostroot /host \
  || fail "cannot mount host root over 9p"
R=/newroot
mount -t tmpfs -o mode=755 upper /upper
mkdir -p /upper/u /upper/w
MODE=overlay
if ! mount -t overlay -o lowerdir=/host,upperdir=/upper/u,workdir=/upper/w overlay $R 2>/dev/null; then
  MODE=bind
  mount --bind /host $R || fail "cannot bind host root"
  mount -t tmpfs -o mode=1777 tmp $R/tmp
  mount -t tmpfs -o mode=1777 vartmp $R/var/tmp 2>/dev/null
fi
mount -t proc proc $R/proc
mount -t sysfs sys $R/sys
mount -t devtmpfs dev $R/dev
mkdir -p $R/dev/pts $R/dev/shm 2>/dev/null
mount -t devpts devpts $R/dev/pts 2>/dev/null
mount -t tmpfs -o mode=1777 shm $R/dev/shm 2>/dev/null
mount -t tracefs tracefs $R/sys/kernel/tracing 2>/dev/null
mount -t debugfs debugfs $R/sys/kernel/debug 2>/dev/null
mount -t bpf bpffs $R/sys/fs/bpf 2>/dev/null
mount -t securityfs securityfs $R/sys/kernel/security 2>/dev/null
mount -t cgroup2 cgroup2 $R/sys/fs/cgroup 2>/dev/null
mount -t tmpfs -o mode=755 run $R/run
mkdir -p $R/run/probegen-vm/job $R/run/probegen-vm/scratch
mount --bind /job $R/run/probegen-vm/job
chmod 1777 $R/run/probegen-vm/scratch
echo "$MODE" > /job/fsmode
log "root=$MODE; running job"
echo "PROBEGEN-VM-START" > /dev/console
SH=/bin/sh; [ -x $R/bin/bash ] && SH=/bin/bash
chroot $R $SH /run/probegen-vm/job/cmd.sh \
  < /dev/null > /job/stdout 2> /job/stderr
rc=$?
echo $rc > /job/rc.tmp && mv /job/rc.tmp /job/rc
echo "PROBEGEN-VM-EXIT: $rc" > /dev/console
sync
umount $R/run/probegen-vm/job 2>/dev/null
umount /job 2>/dev/null
poweroff -f
sleep 5
echo o > /proc/sysrq-trigger
INIT
chmod 755 "$ir/init"
(cd "$ir" && find . | cpio -o -H newc --quiet) | gzip -1 > "$DIR/initrd.img.tmp"
mv "$DIR/initrd.img.tmp" "$DIR/initrd.img"
rm -rf "$ir"; trap - EXIT
echo "$STAMP" > "$DIR/stamp"
ln -sfn "$KREL" "$CACHE/current"
# drop kernels superseded by a --force refresh
for d in "$CACHE"/*/; do
  d="${d%/}"; [ "$(basename "$d")" = "$KREL" ] || [ -L "$d" ] || rm -rf "$d"
done
say "ready: $KV ($(du -sh "$CACHE" | cut -f1) in $CACHE)"
