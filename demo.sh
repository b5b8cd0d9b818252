#!/bin/bash
# SPDX-License-Identifier: Apache-2.0
#
# vmnet-helper demo: boots a tiny Linux VM (QEMU, no KVM needed) whose only
# network is vmnet-helper in shared (NAT) mode, and shows what the VM sees.
# The VM is booted by a scratch user with no sudo at all: the user is in a
# scratch group, and vmnet-broker, started here for that group, runs the
# helper for them (the no-sudo path; the package's systemd units do the same).
#
#   ./demo.sh [--no-deps] [--mode shared|host] [--keep-log]
#
#   --no-deps     do not run scripts/install-deps.sh (apt-get)
#   --mode MODE   helper operation mode (default shared; host shows isolation)
#   --keep-log    keep the raw logs (printed at the end) instead of deleting them
#
# Run it as root, or as a user with sudo: it re-runs itself through sudo.
# Everything happens in two scratch network namespaces, with a scratch user
# and group, all created here and deleted on exit -- the machine's own
# network is never changed:
#
#   VM --vmnet-helper-- [ns vmdemo-host-PID] veth 10.99.0.1 === 10.99.0.2 [ns vmdemo-remote-PID]
#                        bridge + DHCP + NAT                          "the internet": a TCP server
#
# Exit status: 0 when every check passed, 1 when the VM got no lease or a
# check failed, 2 on a setup error.
set -euo pipefail

REPO=$(cd "$(dirname "$0")" && pwd)
cd "$REPO"

deps=1
mode=shared
keep_log=0
while [ $# -gt 0 ]; do
	case "$1" in
	--no-deps) deps=0 ;;
	--mode) mode=${2:?--mode needs a value}; shift ;;
	--mode=*) mode=${1#*=} ;;
	--keep-log) keep_log=1 ;;
	-h|--help) sed -n '3,25p' "$0"; exit 0 ;;
	*) echo "demo.sh: unknown argument: $1 (see --help)" >&2; exit 2 ;;
	esac
	shift
done
case "$mode" in
shared|host) ;;
*) echo "demo.sh: --mode must be shared or host" >&2; exit 2 ;;
esac

# Root for network namespaces and the helper's bridge: a root shell runs on
# (sudo need not be installed), anyone else goes through sudo.
. "$REPO/scripts/as-root.sh"
as_root demo.sh "network namespaces, the helper's bridge" "$REPO/demo.sh" "$@"

BUILD=${VMNET_BUILD:-build}
HOST_NS=vmdemo-host-$$
REMOTE_NS=vmdemo-remote-$$
HOST_ADDR=10.99.0.1
REMOTE_ADDR=10.99.0.2
PORT=8080

if [ -t 1 ]; then
	B=$'\e[1m' G=$'\e[32m' R=$'\e[31m' D=$'\e[2m' N=$'\e[0m'
else
	B='' G='' R='' D='' N=''
fi
step() { printf '\n%s==> %s%s\n' "$B" "$*" "$N"; }
ok() { printf '  %s[ ok ]%s %s\n' "$G" "$N" "$*"; }
bad() { printf '  %s[FAIL]%s %s\n' "$R" "$N" "$*"; }
info() { printf '  %s\n' "$*"; }
die() { printf '%sdemo.sh: %s%s\n' "$R" "$*" "$N" >&2; exit 2; }

# --- 1. dependencies and build --------------------------------------------------
if [ "$deps" = 1 ]; then
	step "Installing dependencies (scripts/install-deps.sh)"
	scripts/install-deps.sh || die "installing dependencies failed"
	info "done"
fi

step "Building vmnet-helper, vmnet-run and vmnet-broker (make)"
make -s || die "make failed"
for b in vmnet-helper vmnet-run vmnet-broker; do
	[ -x "$BUILD/$b" ] || die "$BUILD/$b was not built"
done
info "$BUILD/vmnet-helper $("$BUILD/vmnet-helper" --version 2>&1 | head -n 1)"

step "Building the demo VM from Debian packages (tests/vm/build-image.sh)"
tests/vm/build-image.sh || die "building the VM image failed"

# --- 2. scratch namespaces ------------------------------------------------------
LOGDIR=$(mktemp -d /tmp/vmnet-demo.XXXXXX)
SERVER_PID=""
BROKER_PID=""
NS_INODES=""
DEMO_USER=vmdemo-u$$
DEMO_GROUP=vmdemo-g$$
MADE_USER=0
MADE_GROUP=0

cleanup() {
	set +e
	trap - EXIT INT TERM
	[ -n "$SERVER_PID" ] && kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null
	[ -n "$BROKER_PID" ] && kill "$BROKER_PID" 2>/dev/null && wait "$BROKER_PID" 2>/dev/null
	for ns in "$HOST_NS" "$REMOTE_NS"; do
		[ -e "/run/netns/$ns" ] || continue
		# Anything still running in our namespaces was started by this demo.
		for pid in $(ip netns pids "$ns" 2>/dev/null); do
			kill -KILL "$pid" 2>/dev/null
		done
		ip netns del "$ns" 2>/dev/null
	done
	# The helper keeps per-namespace state keyed by the namespace inode.
	for ino in $NS_INODES; do
		rm -rf "/run/vmnet-helper/$ino" "/var/lib/vmnet-helper/$ino"
	done
	# The scratch user and group (after their processes, gone with the namespaces).
	[ "$MADE_USER" = 1 ] && userdel "$DEMO_USER" 2>/dev/null
	[ "$MADE_GROUP" = 1 ] && getent group "$DEMO_GROUP" >/dev/null && groupdel "$DEMO_GROUP" 2>/dev/null
	if [ "$keep_log" = 1 ]; then
		printf '\n%sLogs kept in %s%s\n' "$D" "$LOGDIR" "$N"
	else
		rm -rf "$LOGDIR"
	fi
	printf '%sCleaned up: namespaces %s and %s, user %s and group %s deleted.%s\n' "$D" \
		"$HOST_NS" "$REMOTE_NS" "$DEMO_USER" "$DEMO_GROUP" "$N"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "Creating scratch network namespaces"
for ns in "$HOST_NS" "$REMOTE_NS"; do
	ip netns add "$ns" || die "ip netns add $ns failed"
	NS_INODES="$NS_INODES $(stat -c %i "/run/netns/$ns")"
	ip -n "$ns" link set lo up
done
# The veth pair is created directly inside the namespaces.
ip -n "$HOST_NS" link add veth0 type veth peer name veth0 netns "$REMOTE_NS"
ip -n "$HOST_NS" addr add "$HOST_ADDR/24" dev veth0
ip -n "$REMOTE_NS" addr add "$REMOTE_ADDR/24" dev veth0
ip -n "$HOST_NS" link set veth0 up
ip -n "$REMOTE_NS" link set veth0 up
ip -n "$HOST_NS" route add default via "$REMOTE_ADDR"
info "$HOST_NS    the host running the VM  (uplink veth0 $HOST_ADDR, default route via $REMOTE_ADDR)"
info "$REMOTE_NS  stands for the internet  (veth0 $REMOTE_ADDR, TCP server on port $PORT)"

# A TCP server "on the internet" that tells each client its address.
ip netns exec "$REMOTE_NS" /usr/bin/python3 -u -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(8)
print("ready")
while True:
    c, peer = s.accept()
    print("connection from %s" % peer[0])
    c.sendall(("hello from the remote server, you are %s\n" % peer[0]).encode())
    c.close()
' "$REMOTE_ADDR" "$PORT" >"$LOGDIR/server.log" 2>&1 &
SERVER_PID=$!
for _ in $(seq 50); do
	grep -q ready "$LOGDIR/server.log" 2>/dev/null && break
	sleep 0.1
done
grep -q ready "$LOGDIR/server.log" || die "the TCP server did not start: $(cat "$LOGDIR/server.log")"

# --- 3. a scratch user without sudo, and vmnet-broker for their group -----------
step "A scratch user with no sudo, in a scratch group, and vmnet-broker for that group"
groupadd --system "$DEMO_GROUP" || die "groupadd $DEMO_GROUP failed"
MADE_GROUP=1
useradd --system --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin \
	--user-group --groups "$DEMO_GROUP" "$DEMO_USER" || die "useradd $DEMO_USER failed"
MADE_USER=1
DEMO_UID=$(id -u "$DEMO_USER")
# Where an installation puts things: root's programs and the VM, readable by
# everyone (the repository may not be).
CACHE=${VMNET_VM_CACHE:-$REPO/tests/vm/cache}
chmod 0711 "$LOGDIR"
mkdir -m 0755 "$LOGDIR/bin" "$LOGDIR/broker"
install -m 0755 "$BUILD/vmnet-helper" "$BUILD/vmnet-run" "$BUILD/vmnet-broker" \
	tests/vm/run-vm.sh "$LOGDIR/bin/" || die "copying the programs failed"
install -m 0644 "$CACHE/vmlinuz" "$CACHE/initramfs.gz" "$LOGDIR/bin/" || die "copying the VM failed"
BROKER_SOCK=$LOGDIR/broker/broker.sock
ip netns exec "$HOST_NS" "$LOGDIR/bin/vmnet-broker" --listen "$BROKER_SOCK" --group "$DEMO_GROUP" \
	--helper "$LOGDIR/bin/vmnet-helper" </dev/null 2>"$LOGDIR/broker.log" &
BROKER_PID=$!
for _ in $(seq 50); do
	grep -q "may ask on" "$LOGDIR/broker.log" 2>/dev/null && break
	sleep 0.1
done
grep -q "may ask on" "$LOGDIR/broker.log" || die "vmnet-broker did not start: $(cat "$LOGDIR/broker.log")"
info "user $DEMO_USER (uid $DEMO_UID), in group $DEMO_GROUP, no sudo rule"
info "$(ls -l "$BROKER_SOCK" | awk '{print $1, $3, $4}') $BROKER_SOCK  (vmnet-broker, root, in $HOST_NS)"

# --- 4. boot the VM under vmnet-run, as that user -----------------------------------
step "Booting the VM as $DEMO_USER: vmnet-run --operation-mode $mode -- tests/vm/run-vm.sh"
info "${D}ip netns exec $HOST_NS setpriv --reuid $DEMO_USER --regid $DEMO_USER --init-groups \\"
info "    env VMNET_BROKER_SOCKET=$BROKER_SOCK vmnet-run --operation-mode $mode -- \\"
info "    run-vm.sh vmtest.ping=router vmtest.tcp=$REMOTE_ADDR:$PORT${N}"

# Reads the combined output (helper JSON + QEMU serial console) as it comes.
show() {
	local line json v
	while IFS= read -r line; do
		printf '%s\n' "$line" >>"$LOGDIR/vm.log"
		line=${line//$'\r'/}
		case "$line" in
		*'{'*'"vmnet_'*)
			json="{${line#*\{}"
			printf '%s\n' "$json" >"$LOGDIR/helper.json"
			printf '\n  %sThe helper started and described the interface (JSON on stdout):%s\n' "$B" "$N"
			if command -v jq >/dev/null 2>&1 && printf '%s' "$json" | jq . >/dev/null 2>&1; then
				printf '%s' "$json" | jq . | sed 's/^/    /'
			else
				info "  $json"
			fi
			printf '\n  %sHost side (namespace %s):%s\n' "$B" "$HOST_NS" "$N"
			ip -n "$HOST_NS" -br addr show 2>/dev/null | sed 's/^/    /'
			printf '\n  %sThe VM (serial console):%s\n' "$B" "$N"
			;;
		*VMTEST*)
			v=${line#*VMTEST }
			printf '%s\n' "$v" >>"$LOGDIR/vmtest"
			case "$v" in
			init\ *) set -- $v; info "kernel $3 running /init after ${2}s" ;;
			lease\ fail*) bad "DHCP: no lease" ;;
			lease\ *) set -- $v; [ "$6" = none ] && set -- "$1" "$2" "$3" "$4" "$5" ""; ok "DHCP lease $2, router $4${6:+, dns $6}" ;;
			ping\ *\ ok*) set -- $v; ok "ping $2 (gateway): $4 replies" ;;
			ping\ *) set -- $v; bad "ping $2" ;;
			tcp\ *\ ok*) set -- $v; ok "TCP to $2 through NAT: \"${v#* ok }\"" ;;
			tcp\ *) set -- $v; bad "TCP to $2" ;;
			uptime\ *) set -- $v; info "checks finished ${2}s after boot" ;;
			done) info "powering off" ;;
			*) info "$v" ;;
			esac
			;;
		esac
	done
}

rc=0
start=$(date +%s.%N)
ip netns exec "$HOST_NS" setpriv --reuid "$DEMO_USER" --regid "$DEMO_USER" --init-groups \
	--inh-caps=-all env VMNET_BROKER_SOCKET="$BROKER_SOCK" VMNET_VM_CACHE="$LOGDIR/bin" \
	HOME=/nonexistent "$LOGDIR/bin/vmnet-run" --operation-mode "$mode" -- \
	"$LOGDIR/bin/run-vm.sh" --timeout 60 vmtest.ping=router "vmtest.tcp=$REMOTE_ADDR:$PORT" \
	</dev/null 2>"$LOGDIR/helper.log" | show || rc=$?
elapsed=$(awk -v s="$start" -v e="$(date +%s.%N)" 'BEGIN {printf "%.1f", e - s}')

# --- 5. verdict -------------------------------------------------------------------
step "Result"
kill "$SERVER_PID" 2>/dev/null && wait "$SERVER_PID" 2>/dev/null || true
SERVER_PID=""
seen=$(sed -n 's/^connection from //p' "$LOGDIR/server.log" | sort -u | tr '\n' ' ' | sed 's/ $//')
touch "$LOGDIR/vmtest"
# What the VM reported, read from the file: `printf | grep -q` under pipefail
# fails whenever grep exits at its match before printf wrote the last line.
vm_said() { grep -q "$1" "$LOGDIR/vmtest"; }
failed=0
if [ ! -s "$LOGDIR/helper.json" ]; then
	bad "the helper printed no JSON"
	failed=1
fi
if grep -q "uid $DEMO_UID ($DEMO_USER) pid [0-9]*: started vmnet-helper" "$LOGDIR/broker.log"; then
	ok "vmnet-broker started the helper for $DEMO_USER, who has no sudo"
else
	bad "vmnet-broker started no helper for $DEMO_USER"
	failed=1
fi
if grep -q "running as uid: $DEMO_UID " "$LOGDIR/helper.log"; then
	ok "the helper handled the VM's traffic as $DEMO_USER (uid $DEMO_UID), with no capabilities"
else
	bad "the helper's datapath did not run as $DEMO_USER"
	failed=1
fi
if vm_said '^lease [0-9]'; then
	lease=$(sed -n 's/^lease \([^ ]*\).*/\1/p' "$LOGDIR/vmtest")
	promised=$(sed -n 's/.*"lease_address": *"\([^"]*\)".*/\1/p' "$LOGDIR/helper.json" 2>/dev/null || true)
	ok "the VM got its address by DHCP from the helper: $lease${promised:+ (the JSON promised $promised)}"
else
	bad "the VM got no DHCP lease"
	failed=1
fi
if vm_said '^ping .* ok'; then
	ok "the VM reaches its gateway"
else
	bad "the VM could not ping its gateway"
	failed=1
fi
if [ "$mode" = shared ]; then
	if vm_said '^tcp .* ok'; then
		ok "the VM reached the remote server through NAT (the server saw ${seen:-nothing})"
	else
		bad "the VM could not reach the remote server"
		failed=1
	fi
else
	if vm_said '^tcp .* ok'; then
		bad "host mode, yet the VM reached the remote server"
		failed=1
	else
		ok "host mode: the VM cannot reach the remote server, as expected"
	fi
fi
if ! vm_said '^done'; then
	bad "the VM did not finish (vmnet-run exit status $rc)"
	failed=1
fi
info "wall time: ${elapsed}s (QEMU without KVM)"

if [ "$failed" != 0 ]; then
	printf '\n%sThe helper log (stderr), last lines:%s\n' "$B" "$N"
	tail -n 30 "$LOGDIR/helper.log" | sed 's/^/    /'
	printf '%sThe broker log, last lines:%s\n' "$B" "$N"
	tail -n 10 "$LOGDIR/broker.log" | sed 's/^/    /'
	printf '%sThe VM console, last lines:%s\n' "$B" "$N"
	# Without the terminal control sequences of the firmware.
	tail -n 30 "$LOGDIR/vm.log" 2>/dev/null |
		sed 's/\x1b\[[0-9;?]*[A-Za-z]//g; s/\x1b[A-Za-z]//g; s/\r//g; s/^/    /'
	exit 1
fi
printf '\n%sDemo passed.%s\n' "$G$B" "$N"
