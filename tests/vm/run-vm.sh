#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# Boots the test guest (tests/vm/build-image.sh) under QEMU TCG, its NIC on
# the datagram socket passed as file descriptor 4 -- run it as the COMMAND of
# vmnet-run (or vmnet-client, the same program):
#
#   vmnet-run --operation-mode shared -- tests/vm/run-vm.sh \
#       vmtest.ping=192.168.105.1 vmtest.tcp=10.99.0.2:8080
#
# or on a helper's --socket PATH, each way QEMU has:
#   --socket PATH            -netdev dgram,local.type=unix,local.path=DIR/qemu-PID.sock,
#                                   remote.type=unix,remote.path=PATH
#   --socket PATH --stream   -netdev stream,server=off,addr.type=unix,addr.path=PATH
#   --stream (an fd)         -netdev stream,server=off,addr.type=fd,addr.str=4
#   --vhost-user PATH        -chardev socket,path=PATH -netdev vhost-user (the guest's
#                            memory shared: -object memory-backend-memfd,share=on)
#
# Usage: run-vm.sh [options] [KERNEL-ARG...]
#   --mac MAC        guest MAC address (default: $VMNET_VM_MAC or a random
#                    locally administered one)
#   --timeout SECS   kill QEMU after SECS seconds (default 60, exit 124)
#   --fd N           socket file descriptor (default 4)
#   --socket PATH    connect to a helper's --socket PATH instead
#   --stream         the socket is a stream (QEMU's -netdev stream: each
#                    frame behind its 4-byte big-endian length)
#   --vhost-user PATH  the helper is the NIC's vhost-user backend on PATH
#   --nic-opts OPTS  more virtio-net-pci properties (csum=off,guest_tso4=off,...)
#   --tap IFNAME     use an existing TAP device instead of the socket (for
#                    testing the image without the helper)
#   --build          run build-image.sh first (quietly, if up to date)
#   --               end of options
# KERNEL-ARGs (vmtest.*=... checks, see guest-init.sh) are appended to the
# kernel command line. The guest prints VMTEST lines on stdout and powers off.
# Exit status: QEMU's (0 after a clean guest poweroff), 124 on timeout.
set -eu

VM_DIR=$(cd "$(dirname "$0")" && pwd)
CACHE=${VMNET_VM_CACHE:-$VM_DIR/cache}
QEMU=${QEMU:-qemu-system-x86_64}

mac=${VMNET_VM_MAC:-}
timeout=60
fd=4
socket=""
stream=0
tap=""
vhost=""
nic_opts=""
build=0
while [ $# -gt 0 ]; do
	case "$1" in
	--mac) mac=$2; shift 2 ;;
	--mac=*) mac=${1#*=}; shift ;;
	--timeout) timeout=$2; shift 2 ;;
	--timeout=*) timeout=${1#*=}; shift ;;
	--fd) fd=$2; shift 2 ;;
	--fd=*) fd=${1#*=}; shift ;;
	--socket) socket=$2; shift 2 ;;
	--socket=*) socket=${1#*=}; shift ;;
	--stream) stream=1; shift ;;
	--vhost-user) vhost=$2; shift 2 ;;
	--vhost-user=*) vhost=${1#*=}; shift ;;
	--nic-opts) nic_opts=",$2"; shift 2 ;;
	--nic-opts=*) nic_opts=",${1#*=}"; shift ;;
	--tap) tap=$2; shift 2 ;;
	--tap=*) tap=${1#*=}; shift ;;
	--build) build=1; shift ;;
	-h|--help) sed -n '3,35p' "$0"; exit 0 ;;
	--) shift; break ;;
	-*) echo "run-vm.sh: unknown option: $1" >&2; exit 2 ;;
	*) break ;;
	esac
done

die() { echo "run-vm.sh: error: $*" >&2; exit 2; }

command -v "$QEMU" >/dev/null 2>&1 || die "$QEMU not found (apt-get install qemu-system-x86)"
if [ "$build" = 1 ]; then
	"$VM_DIR/build-image.sh" --quiet
fi
[ -f "$CACHE/vmlinuz" ] && [ -f "$CACHE/initramfs.gz" ] ||
	die "no guest image in $CACHE (run tests/vm/build-image.sh)"

if [ -z "$mac" ]; then
	# 52:54:00 is QEMU's prefix (locally administered); random tail.
	mac=$(od -An -N3 -tx1 /dev/urandom | awk '{printf "52:54:00:%s:%s:%s", $1, $2, $3}')
fi
case "$mac" in
??:??:??:??:??:??) ;;
*) die "bad MAC address: $mac" ;;
esac

local_sock=""
memory=""
if [ -n "$vhost" ]; then
	# vhost-user: the backend maps the guest's memory, which must be shared.
	# vectors=0: Debian's QEMU 7.2 under TCG (no irqfd) crashes in
	# vhost_net_start when the guest has turned MSI-X on for a vhost-user
	# NIC (msix_set_vector_notifiers); legacy interrupts avoid that path.
	netdev="vhost-user,id=n0,chardev=c0"
	nic_opts=",vectors=0$nic_opts"
	memory="-object memory-backend-memfd,id=mem,size=256M,share=on -numa node,memdev=mem
		-chardev socket,id=c0,path=$vhost"
elif [ -n "$tap" ]; then
	netdev="tap,id=n0,ifname=$tap,script=no,downscript=no"
elif [ -n "$socket" ] && [ "$stream" = 1 ]; then
	netdev="stream,id=n0,server=off,addr.type=unix,addr.path=$socket"
elif [ -n "$socket" ]; then
	# QEMU binds its own end; the helper connects back to it.
	local_sock=$(dirname "$socket")/qemu-$$.sock
	rm -f "$local_sock"
	netdev="dgram,id=n0,local.type=unix,local.path=$local_sock,remote.type=unix,remote.path=$socket"
else
	case "$fd" in
	''|*[!0-9]*) die "bad --fd: $fd" ;;
	esac
	# Is the descriptor open? (vmnet-run passes it as fd 4.)
	[ -e "/proc/self/fd/$fd" ] || [ -e "/dev/fd/$fd" ] ||
		die "file descriptor $fd is not open (run me under vmnet-run)"
	if [ "$stream" = 1 ]; then
		netdev="stream,id=n0,server=off,addr.type=fd,addr.str=$fd"
	else
		netdev="dgram,id=n0,local.type=fd,local.str=$fd"
	fi
fi

# panic=-1 + -no-reboot: a guest panic ends QEMU at once instead of hanging.
# romfile= skips the iPXE option ROM (saves boot time; we boot -kernel).
set -- timeout --foreground -k 5 "$timeout" "$QEMU" \
	-accel tcg -cpu max -m 256 \
	-nographic -nodefaults -serial stdio -no-reboot \
	-kernel "$CACHE/vmlinuz" -initrd "$CACHE/initramfs.gz" \
	-append "console=ttyS0 quiet panic=-1 $*" \
	$memory -netdev "$netdev" \
	-device "virtio-net-pci,netdev=n0,mac=$mac,romfile=$nic_opts"
[ -n "$local_sock" ] || exec "$@"
rc=0
"$@" || rc=$?
rm -f "$local_sock"
exit "$rc"
