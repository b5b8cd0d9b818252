#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Builds the tiny test guest from Debian packages into tests/vm/cache/:
#   vmlinuz        kernel of linux-image-cloud-amd64
#   initramfs.gz   busybox-static, the virtio-net modules, /init (guest-init.sh)
#
# Usage: tests/vm/build-image.sh [--refresh] [--quiet]
#   --refresh   download the packages again (pick up a new kernel version)
#   --quiet     print nothing when the image is up to date
#
# Idempotent: the image is rebuilt only when this script, the guest files or
# the downloaded packages changed. Packages are downloaded once and kept in
# cache/debs/ so later runs need no network.
set -eu

VM_DIR=$(cd "$(dirname "$0")" && pwd)
CACHE=${VMNET_VM_CACHE:-$VM_DIR/cache}
DEBS=$CACHE/debs
KERNEL_META=linux-image-cloud-amd64
BUSYBOX_PKG=busybox-static
MODULES="virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev
  virtio_pci failover net_failover virtio_net"

refresh=0
quiet=0
for arg in "$@"; do
	case "$arg" in
	--refresh) refresh=1 ;;
	--quiet) quiet=1 ;;
	-h|--help) sed -n '3,15p' "$0"; exit 0 ;;
	*) echo "build-image.sh: unknown argument: $arg" >&2; exit 2 ;;
	esac
done

log() { echo "build-image: $*" >&2; }
die() { echo "build-image: error: $*" >&2; exit 1; }

for tool in apt-get dpkg-deb cpio gzip sha256sum; do
	command -v "$tool" >/dev/null 2>&1 || die "$tool not found (run scripts/install-deps.sh)"
done

mkdir -p "$DEBS"

# apt-get download PKG into $DEBS; runs apt-get update once if the package
# lists are missing. As root, skip apt's sandbox user (it cannot write here).
apt_download() {
	(
		cd "$DEBS"
		opts="-q"
		[ "$(id -u)" = 0 ] && opts="$opts -o APT::Sandbox::User=root"
		# shellcheck disable=SC2086
		if ! apt-get download $opts "$@" >/dev/null 2>"$DEBS/apt.log"; then
			log "apt-get download $* failed, running apt-get update"
			# shellcheck disable=SC2086
			apt-get update -qq >/dev/null 2>&1 || true
			# shellcheck disable=SC2086
			apt-get download $opts "$@" >/dev/null 2>"$DEBS/apt.log" ||
				{ cat "$DEBS/apt.log" >&2; exit 1; }
		fi
	) || die "cannot download $*"
}

# newest_deb PKG: path of the cached .deb of PKG (highest version), or nothing.
newest_deb() {
	best=""
	for f in "$DEBS/$1"_*.deb; do
		[ -e "$f" ] || continue
		if [ -z "$best" ]; then
			best=$f
		else
			v1=$(dpkg-deb -f "$best" Version)
			v2=$(dpkg-deb -f "$f" Version)
			dpkg --compare-versions "$v2" gt "$v1" && best=$f
		fi
	done
	echo "$best"
}

if [ "$refresh" = 1 ]; then
	rm -f "$DEBS"/*.deb
fi

# --- packages ---------------------------------------------------------------
meta=$(newest_deb "$KERNEL_META")
if [ -z "$meta" ]; then
	log "downloading $KERNEL_META"
	apt_download "$KERNEL_META"
	meta=$(newest_deb "$KERNEL_META")
	[ -n "$meta" ] || die "$KERNEL_META not downloaded"
fi
# The meta package depends on exactly one versioned image package.
image_pkg=$(dpkg-deb -f "$meta" Depends | tr ',' '\n' |
	sed -n 's/^ *\(linux-image-[0-9][^ ]*\).*/\1/p' | head -n 1)
[ -n "$image_pkg" ] || die "cannot find the image package $KERNEL_META depends on"
image_deb=$(newest_deb "$image_pkg")
if [ -z "$image_deb" ]; then
	log "downloading $image_pkg"
	apt_download "$image_pkg"
	image_deb=$(newest_deb "$image_pkg")
	[ -n "$image_deb" ] || die "$image_pkg not downloaded"
fi
busybox_deb=$(newest_deb "$BUSYBOX_PKG")
if [ -z "$busybox_deb" ]; then
	log "downloading $BUSYBOX_PKG"
	apt_download "$BUSYBOX_PKG"
	busybox_deb=$(newest_deb "$BUSYBOX_PKG")
	[ -n "$busybox_deb" ] || die "$BUSYBOX_PKG not downloaded"
fi

# --- up to date? --------------------------------------------------------------
stamp=$(
	{
		cat "$0" "$VM_DIR/guest-init.sh" "$VM_DIR/udhcpc.script"
		basename "$image_deb"
		basename "$busybox_deb"
	} | sha256sum | cut -d' ' -f1
)
if [ -f "$CACHE/vmlinuz" ] && [ -f "$CACHE/initramfs.gz" ] &&
	[ "$(cat "$CACHE/stamp" 2>/dev/null)" = "$stamp" ]; then
	[ "$quiet" = 1 ] || log "up to date: $CACHE/vmlinuz $CACHE/initramfs.gz"
	exit 0
fi

log "building from $(basename "$image_deb") and $(basename "$busybox_deb")"
work=$(mktemp -d "$CACHE/build.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM

dpkg-deb -x "$image_deb" "$work/kernel"
dpkg-deb -x "$busybox_deb" "$work/busybox"

vmlinuz=$(ls "$work"/kernel/boot/vmlinuz-* 2>/dev/null | head -n 1)
[ -n "$vmlinuz" ] || die "no vmlinuz in $(basename "$image_deb")"
kver=${vmlinuz##*/vmlinuz-}
moddir=$work/kernel/lib/modules/$kver

# --- initramfs tree ------------------------------------------------------------
root=$work/root
mkdir -p "$root/bin" "$root/etc" "$root/lib/modules" "$root/dev" "$root/proc" \
	"$root/sys" "$root/tmp" "$root/run" "$root/root"
ln -s bin "$root/sbin"

bb=$work/busybox/bin/busybox
[ -x "$bb" ] || die "no bin/busybox in $(basename "$busybox_deb")"
cp "$bb" "$root/bin/busybox"
# One symlink per applet; the static busybox runs on the build host too.
for applet in $("$bb" --list); do
	[ "$applet" = busybox ] || ln -sf busybox "$root/bin/$applet"
done

# Modules: copied uncompressed (busybox insmod cannot read .ko.xz/.ko.zst).
for m in $MODULES; do
	src=$(find "$moddir" -name "$m.ko" -o -name "$m.ko.xz" -o -name "$m.ko.zst" -o -name "$m.ko.gz" |
		head -n 1)
	if [ -z "$src" ]; then
		# Built into this kernel: nothing to load.
		grep -q "/$m.ko\$" "$moddir/modules.builtin" 2>/dev/null ||
			die "module $m not found in $kver"
		continue
	fi
	dst=$root/lib/modules/$m.ko
	case "$src" in
	*.ko) cp "$src" "$dst" ;;
	*.ko.xz) xz -dc "$src" >"$dst" ;;
	*.ko.zst) zstd -qdc "$src" >"$dst" ;;
	*.ko.gz) gzip -dc "$src" >"$dst" ;;
	esac
done

install -m 0755 "$VM_DIR/guest-init.sh" "$root/init"
install -m 0755 "$VM_DIR/udhcpc.script" "$root/etc/udhcpc.script"
echo "root:x:0:0:root:/root:/bin/sh" >"$root/etc/passwd"
echo "root:x:0:" >"$root/etc/group"
: >"$root/etc/resolv.conf"
echo "$kver" >"$root/etc/vmtest-kernel"
# Early console for the kernel (init reopens it on devtmpfs anyway).
mknod -m 600 "$root/dev/console" c 5 1 2>/dev/null || true

# --- outputs ----------------------------------------------------------------------
(cd "$root" && find . | LC_ALL=C sort | cpio -o -H newc --owner=0:0 --quiet) |
	gzip -9n >"$work/initramfs.gz"
cp "$vmlinuz" "$work/vmlinuz"
mv -f "$work/vmlinuz" "$CACHE/vmlinuz"
mv -f "$work/initramfs.gz" "$CACHE/initramfs.gz"
echo "$kver" >"$CACHE/kernel-version"
echo "$stamp" >"$CACHE/stamp"
log "built $CACHE/vmlinuz ($kver) and $CACHE/initramfs.gz ($(du -k "$CACHE/initramfs.gz" | cut -f1) KiB)"
