#!/bin/sh
# SPDX-License-Identifier: Apache-2.0
#
# /init of the vmnet-helper test guest (busybox sh, runs as PID 1).
#
# Brings up eth0 with DHCP and runs the checks named on the kernel command
# line, printing one machine-readable line per result on the console:
#
#   VMTEST init <uptime> <kernel release>
#   VMTEST lease <ip>/<prefix> router <gw> dns <dns> server <id> mac <mac> mtu <eth0's MTU>
#                | fail                                  (the MTU from DHCP option 26, if any)
#   VMTEST ping <addr> ok <received>/<sent> | fail         vmtest.ping=ADDR|router[,...]
#   VMTEST tcp <addr>:<port> ok <first line> | fail        vmtest.tcp=ADDR:PORT[,...]
#   VMTEST dns <name>[@server] ok <address> | fail         vmtest.dns=NAME[@SERVER][,...]
#   VMTEST addr6 <addr>/<prefix> | VMTEST addr6 fail       (before the first IPv6 check)
#   VMTEST ping6 <addr> ok <received>/<sent> | fail        vmtest.ping6=ADDR|router[,...]
#   VMTEST upload <addr>:<port> ok <bytes> <sha256> <reply> | fail
#                                                        vmtest.upload=ADDR:PORT:BYTES[,...]
#   VMTEST download <addr>:<port> ok <bytes> <sha256> | fail
#                                                        vmtest.download=ADDR:PORT[,...]
#   VMTEST static <ip>/<prefix> router <gw>              vmtest.static=IP/PREFIX@GW (no DHCP:
#                                                        the address set by hand, as `ip addr add`)
#   VMTEST inet6 <addr hex> <prefix> <scope> <flags hex>  vmtest.show6=SECONDS: eth0's IPv6
#                                                        addresses (/proc/net/if_inet6) once
#                                                        none is still probing (DAD) and a global
#                                                        one exists, or after SECONDS
#   VMTEST uptime <seconds>
#   VMTEST done
#
# "router" means the DHCP router (or else the DHCP server) for IPv4,
# and the RA default router for IPv6.
# Other options: vmtest.hold=SECONDS keeps the guest up after the checks,
# vmtest.shell=1 drops to a shell on the console instead of powering off.
# Every key may be repeated; values may be comma separated lists.

export PATH=/bin:/sbin

mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
# The initramfs may lack /dev/console: (re)open the console on devtmpfs.
[ -c /dev/console ] && exec </dev/console >/dev/console 2>&1
mkdir -p /tmp /run /etc
mount -t tmpfs tmpfs /tmp

say() { echo "VMTEST $*"; }
echo; say "init $(cut -d' ' -f1 /proc/uptime) $(uname -r)"

finish() {
	say "uptime $(cut -d' ' -f1 /proc/uptime)"
	say "done"
	if [ -n "$HOLD" ]; then
		sleep "$HOLD"
	fi
	if [ -n "$SHELL_AFTER" ]; then
		setsid cttyhack sh
	fi
	sync
	poweroff -f
	# poweroff -f does not return; if it does, panic (qemu -no-reboot exits).
	exit 1
}

# --- kernel command line -------------------------------------------------
PINGS=""
TCPS=""
DNSS=""
PING6S=""
UPLOADS=""
DOWNLOADS=""
HOLD=""
SHELL_AFTER=""
STATIC=""
SHOW6=""
for word in $(cat /proc/cmdline); do
	case "$word" in
	vmtest.*=*) ;;
	*) continue ;;
	esac
	key=${word%%=*}
	val=$(echo "${word#*=}" | tr ',' ' ')
	case "$key" in
	vmtest.ping) PINGS="$PINGS $val" ;;
	vmtest.tcp) TCPS="$TCPS $val" ;;
	vmtest.dns) DNSS="$DNSS $val" ;;
	vmtest.ping6) PING6S="$PING6S $val" ;;
	vmtest.upload) UPLOADS="$UPLOADS $val" ;;
	vmtest.download) DOWNLOADS="$DOWNLOADS $val" ;;
	vmtest.hold) HOLD=$val ;;
	vmtest.static) STATIC=$val ;;
	vmtest.show6) SHOW6=$val ;;
	vmtest.shell) SHELL_AFTER=$val ;;
	*) say "unknown option $key" ;;
	esac
done

# --- drivers and links ---------------------------------------------------
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev \
	virtio_pci failover net_failover virtio_net; do
	if [ -e "/sys/module/$m" ]; then
		continue        # built in
	fi
	insmod "/lib/modules/$m.ko" || say "module $m fail"
done

ip link set lo up
n=0
while [ ! -e /sys/class/net/eth0 ] && [ $n -lt 100 ]; do
	usleep 50000
	n=$((n + 1))
done
if [ ! -e /sys/class/net/eth0 ]; then
	say "lease fail no-eth0"
	finish
fi
# Accept router advertisements (SLAAC) even though forwarding is off.
sysctl -qw net.ipv6.conf.eth0.accept_ra=1 2>/dev/null
ip link set eth0 up

# --- DHCP, or an address set by hand ---------------------------------------
rm -f /tmp/lease
if [ -n "$STATIC" ]; then
	LEASE_ROUTER=${STATIC#*@}
	ip addr add "${STATIC%@*}" dev eth0
	ip route add default via "$LEASE_ROUTER"
	say "static ${STATIC%@*} router $LEASE_ROUTER"
elif udhcpc -i eth0 -n -q -t 5 -T 2 -s /etc/udhcpc.script >/tmp/udhcpc.log 2>&1;
	[ -s /tmp/lease ]; then
	. /tmp/lease
	say "lease $LEASE_IP/$LEASE_PREFIX router ${LEASE_ROUTER:-none}" \
		"dns ${LEASE_DNS:-none} server ${LEASE_SERVER:-none} mac $(cat /sys/class/net/eth0/address)" \
		"mtu $(cat /sys/class/net/eth0/mtu)"
else
	say "lease fail"
	sed 's/^/  /' /tmp/udhcpc.log
fi

# --- checks ----------------------------------------------------------------
do_ping() {     # ping|ping6 addr [extra args]
	cmd=$1 addr=$2
	shift 2
	out=$($cmd -c 3 -i 0.3 -W 1 -w 6 "$@" "$addr" 2>&1)
	stats=$(echo "$out" | sed -n 's/^\([0-9]*\) packets transmitted, \([0-9]*\) packets\{0,1\} received.*/\2\/\1/p')
	recv=${stats%%/*}
	if [ -n "$recv" ] && [ "$recv" -gt 0 ]; then
		say "$cmd $addr ok $stats"
	else
		say "$cmd $addr fail ${stats:-error}"
	fi
}

# Waits once (up to ~8 s) for a global SLAAC address that finished DAD.
ADDR6_DONE=""
wait_addr6() {
	[ -n "$ADDR6_DONE" ] && return
	ADDR6_DONE=1
	addr6=""
	n=0
	while [ $n -lt 40 ]; do
		addr6=$(ip -6 addr show dev eth0 scope global 2>/dev/null |
			awk '/inet6/ && !/tentative/ {print $2; exit}')
		[ -n "$addr6" ] && break
		usleep 200000
		n=$((n + 1))
	done
	say "addr6 ${addr6:-fail}"
}

for addr in $PINGS; do
	if [ "$addr" = router ]; then
		# Without a router option, the DHCP server (the gateway).
		addr=${LEASE_ROUTER:-${LEASE_SERVER:-}}
		if [ -z "$addr" ]; then
			say "ping router fail no-router"
			continue
		fi
	fi
	do_ping ping "$addr"
done

for target in $TCPS; do
	host=${target%:*}
	port=${target##*:}
	case "$host" in
	\[*\]) host=${host#[}; host=${host%]}; wait_addr6 ;;   # [v6addr]:port
	esac
	line=$(timeout 8 nc -w 4 "$host" "$port" </dev/null 2>/dev/null | head -n 1 | tr -d '\r')
	if [ -n "$line" ]; then
		say "tcp $target ok $line"
	else
		say "tcp $target fail"
	fi
done

for query in $DNSS; do
	name=${query%%@*}
	server=""
	case "$query" in *@*) server=${query#*@} ;; esac
	# Addresses printed after the "Name:" line are the answers.
	# shellcheck disable=SC2086
	addr=$(timeout 10 nslookup "$name" $server 2>/dev/null |
		awk '/^Name:/ {a = 1; next} a && /^Address/ {sub(/^Address( [0-9]+)?:[ \t]*/, ""); print; exit}')
	if [ -n "$addr" ]; then
		say "dns $query ok $addr"
	else
		say "dns $query fail"
	fi
done

# Files through the helper: random bytes sent to a server that answers with
# one line once it has them all (its hash), and whatever a server sends.
for target in $UPLOADS; do
	bytes=${target##*:}
	hostport=${target%:*}
	dd if=/dev/urandom of=/tmp/upload bs=65536 count=$((bytes / 65536)) 2>/dev/null
	sum=$(sha256sum /tmp/upload | cut -d' ' -f1)
	reply=$(timeout 30 nc "${hostport%:*}" "${hostport##*:}" </tmp/upload 2>/dev/null | head -n 1)
	if [ -n "$reply" ]; then
		say "upload $hostport ok $(wc -c </tmp/upload) $sum $reply"
	else
		say "upload $hostport fail"
	fi
	rm -f /tmp/upload
done

for target in $DOWNLOADS; do
	if timeout 30 nc "${target%:*}" "${target##*:}" </dev/null >/tmp/download 2>/dev/null &&
		[ -s /tmp/download ]; then
		say "download $target ok $(wc -c </tmp/download) $(sha256sum /tmp/download | cut -d' ' -f1)"
	else
		say "download $target fail"
	fi
	rm -f /tmp/download
done

# eth0's IPv6 addresses (/proc/net/if_inet6: address, ifindex, prefix,
# scope, flags; 0x40 tentative, 0x08 dadfailed) once duplicate address
# detection is over for each and a global one exists, or after SHOW6 s.
show6_settled() {
	global=""
	while read -r addr idx plen scope flags dev; do
		[ "$dev" = eth0 ] || continue
		[ "$scope" = 00 ] && global=1
		f=$((0x$flags))
		if [ $((f & 0x40)) -ne 0 ] && [ $((f & 0x08)) -eq 0 ]; then
			return 1
		fi
	done </proc/net/if_inet6
	[ -n "$global" ]
}

show6() {
	n=0
	while [ $n -lt $((SHOW6 * 5)) ] && ! show6_settled; do
		usleep 200000
		n=$((n + 1))
	done
	while read -r addr idx plen scope flags dev; do
		[ "$dev" = eth0 ] && say "inet6 $addr $plen $scope $flags"
	done </proc/net/if_inet6
}

if [ -n "$SHOW6" ]; then
	show6
fi

if [ -n "$PING6S" ]; then
	wait_addr6
	for addr in $PING6S; do
		if [ "$addr" = router ]; then
			gw=$(ip -6 route show default dev eth0 2>/dev/null |
				awk '{for (i = 1; i < NF; i++) if ($i == "via") {print $(i + 1); exit}}')
			if [ -z "$gw" ]; then
				say "ping6 router fail no-default-route"
				continue
			fi
			say "router6 $gw"
			do_ping ping6 "$gw" -I eth0
		else
			do_ping ping6 "$addr"
		fi
	done
fi

finish
