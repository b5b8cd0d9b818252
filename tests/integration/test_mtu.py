# SPDX-License-Identifier: Apache-2.0
"""--mtu: the network's MTU on the bridge, the TAP, the JSON line, DHCP option 26
and the router advertisement's MTU option; 64 MiB both ways at that MTU; NAT to
the outside with the MSS clamped to the uplink and ICMP "fragmentation needed"
translated back to the VM; one MTU per network."""

import re
import socket
import struct
import subprocess
import textwrap

import pytest

from conftest import (REMOTE_ADDR, REMOTE_HOST_ADDR, assert_clean, bridge_name, default_network,
                      network_args, read_line, sh, wait_until)
from test_datapath import bulk_transfer, stats_lines
from test_ipv6 import REMOTE6, addrs6, ping6, prefix_net, slaac_address, v6_remote
from test_offload import UDP_CLIENT, UDP_ECHO

MTUS = [9000, 65520]

# udhcpc hook: the lease, the MTU (option 26) applied first, as a
# distribution's script does; everything it got recorded for the test.
UDHCPC_SCRIPT = """#!/bin/sh
case "$1" in
bound|renew)
    [ -n "$mtu" ] && ip link set dev "$interface" mtu "$mtu"
    ip addr add "$ip/$mask" dev "$interface"
    [ -n "$router" ] && ip route add default via "${router%% *}" dev "$interface"
    echo "ip=$ip mtu=$mtu" > "$LEASE_OUT"
    ;;
esac
exit 0
"""


def link_mtu(ns, dev):
    return ns.ip_json("link", "show", "dev", dev)[0]["mtu"]


def dhcp_guest(lab, mtu, args=()):
    """A helper with --mtu and a guest configured by udhcpc (its TAP starts at 1500)."""
    h, vm = lab.helper(["--mtu", mtu, "--stats-interval", "1"] + list(args))
    g = lab.guest(vm, mac=h.info["vmnet_mac_address"])
    assert link_mtu(g.ns, g.tap) == 1500
    script = lab.tmp / "udhcpc.sh"
    script.write_text(UDHCPC_SCRIPT)
    script.chmod(0o755)
    out = lab.tmp / ("lease-%d" % lab.counter)
    r = g.run(["env", "LEASE_OUT=%s" % out, "busybox", "udhcpc", "-i", g.tap, "-f", "-q",
               "-n", "-t", "5", "-T", "1", "-A", "1", "-s", script], check=False, timeout=30)
    assert r.returncode == 0, "udhcpc failed:\n%s%s\nhelper:\n%s" % (r.stdout, r.stderr,
                                                                      h.stderr())
    lease = dict(kv.split("=", 1) for kv in out.read_text().split())
    return h, g, lease


# --------------------------------------------------------------------------
# the network's devices and what the VM is told

@pytest.mark.parametrize("mode", ["shared", "host"])
@pytest.mark.parametrize("mtu", MTUS)
def test_devices_and_json(lab, mode, mtu):
    h, _ = lab.helper(["--operation-mode", mode, "--mtu", mtu])
    assert h.info["vmnet_mtu"] == mtu
    assert h.info["vmnet_max_packet_size"] == mtu + 14
    assert link_mtu(lab.host, h.bridge) == mtu
    assert link_mtu(lab.host, h.info["tap"]) == mtu
    # With TSO frames may be longer than the MTU (an IPv4 datagram of 64 KiB).
    h2, _ = lab.helper(["--operation-mode", mode, "--mtu", mtu, "--enable-tso",
                        "--enable-checksum-offload"])
    assert h2.info["vmnet_mtu"] == mtu and h2.info["vmnet_max_packet_size"] == 65550


def test_default_mtu(lab):
    h, _ = lab.helper([])
    assert h.info["vmnet_mtu"] == 1500 and h.info["vmnet_max_packet_size"] == 1514
    assert link_mtu(lab.host, h.bridge) == 1500


@pytest.mark.parametrize("mtu", MTUS)
def test_mtu_by_dhcp_and_ra(lab, mtu):
    """udhcpc sets the guest's MTU from option 26; dhcpcd gets it too; the RA
    carries it (rdisc6 shows it, and the guest kernel takes it as its IPv6 MTU)."""
    h, g, lease = dhcp_guest(lab, mtu)
    assert lease["mtu"] == str(mtu), lease
    assert link_mtu(g.ns, g.tap) == mtu
    # Full-size frames pass both ways, unfragmented.
    r = g.run(["ping", "-n", "-c", "2", "-i", "0.2", "-W", "2", "-M", "do",
               "-s", mtu - 28, h.gateway], check=False)
    assert r.returncode == 0, "full size ping failed:\n%s%s" % (r.stdout, r.stderr)
    # The router advertisement: with the link above the network's MTU, the
    # kernel takes its IPv6 MTU from the RA's MTU option alone.
    g.ns.set_sysctl("net.ipv6.conf.%s.accept_ra" % g.tap, "1")
    g.run(["ip", "link", "set", "dev", g.tap, "mtu", 65521])
    mtu6 = "net.ipv6.conf.%s.mtu" % g.tap
    assert wait_until(lambda: any(not a.get("tentative") for _, _, a in
                                  addrs6(g.ns, g.tap, scope="link")), 10), \
        "no link-local address to solicit from"
    r = g.run(["rdisc6", "-1", "-w", "2000", g.tap], check=False, timeout=20)
    assert re.search(r"MTU\s*:\s*%d bytes" % mtu, r.stdout), r.stdout + r.stderr
    assert wait_until(lambda: g.ns.sysctl(mtu6) == str(mtu), 10), g.ns.sysctl(mtu6)


def test_dhcpcd_gets_mtu(lab):
    """dhcpcd asking for interface_mtu gets option 26: it puts the MTU on the
    routes it adds (dhcpcd 9 leaves the link's MTU alone) and hands it to its
    hooks as new_interface_mtu."""
    h, vm = lab.helper(["--mtu", 9000])
    g = lab.guest(vm, mac=h.info["vmnet_mac_address"])
    out = lab.tmp / "dhcpcd.env"
    hook = lab.tmp / "dhcpcd.sh"
    hook.write_text("#!/bin/sh\n[ \"$reason\" = BOUND ] && env > %s\nexit 0\n" % out)
    hook.chmod(0o755)
    cmd = ("mount -t tmpfs tmpfs /run && mkdir -p /run/dhcpcd && "
           "mount -t tmpfs tmpfs /var/lib/dhcpcd && "
           "exec timeout 25 dhcpcd -4 -1 -t 15 --noipv4ll -f /dev/null "
           "-o interface_mtu -c %s %s" % (hook, g.tap))
    r = g.run(["sh", "-c", cmd], check=False, timeout=40)
    assert r.returncode == 0, "dhcpcd failed:\n%s%s" % (r.stdout, r.stderr)
    assert "new_interface_mtu=9000" in out.read_text().splitlines()
    route = g.run(["ip", "-4", "route", "show", "default"]).stdout
    assert re.search(r"\bmtu 9000\b", route), route


# --------------------------------------------------------------------------
# traffic at the MTU

@pytest.mark.parametrize("mtu", MTUS)
@pytest.mark.parametrize("direction", ["vm-to-host", "host-to-vm"])
def test_bulk_tcp(lab, mtu, direction):
    """64 MiB both ways intact, in frames of the network's size."""
    h, g, _ = dhcp_guest(lab, mtu)
    bulk_transfer(lab, lab.host, h.gateway, g, direction == "vm-to-host", 64 << 20,
                  timeout=120)
    assert h.stop() == 0
    st = stats_lines(h)[-1]
    side = "vm" if direction == "vm-to-host" else "host"
    # Frames of 1514 bytes at most would be the default MTU's.
    assert st[side]["bytes"] / st[side]["packets"] > 4 * 1514, st
    assert st["vm"]["drops"] == 0, st


@pytest.mark.parametrize("mtu", MTUS)
def test_offload_at_mtu(lab, mtu):
    """Offloading keeps working with another MTU: TSO frames segmented at it."""
    h, vm = lab.helper(["--mtu", mtu, "--enable-tso", "--enable-checksum-offload",
                        "--stats-interval", "1"])
    g = lab.guest(vm, mac=h.info["vmnet_mac_address"], mtu=mtu, offload=True)
    g.configure(h.info["lease_address"], h.prefixlen, h.gateway)
    for vm_sends in (True, False):
        bulk_transfer(lab, lab.host, h.gateway, g, vm_sends, 32 << 20, timeout=120)
    assert h.stop() == 0
    st = stats_lines(h)[-1]
    assert st["vm"]["drops"] == 0, st


SYN_SNIFF = textwrap.dedent("""
    import socket, struct, sys, select, time
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(0x0800))
    s.bind((sys.argv[1], 0))
    port = int(sys.argv[2])
    print("ready", flush=True)
    end = time.monotonic() + 20
    while time.monotonic() < end:
        if not select.select([s], [], [], 1)[0]:
            continue
        f = s.recv(65536)
        ip = f[14:]
        if ip[9] != 6:
            continue
        tcp = ip[(ip[0] & 15) * 4:]
        dport, flags = struct.unpack("!H", tcp[2:4])[0], tcp[13]
        if dport != port or not flags & 2:
            continue
        opts, i = tcp[20:(tcp[12] >> 4) * 4], 0
        while i < len(opts) and opts[i] != 0:
            if opts[i] == 1:
                i += 1
                continue
            if opts[i] == 2:
                print(struct.unpack("!H", opts[i + 2:i + 4])[0], flush=True)
                raise SystemExit(0)
            i += max(2, opts[i + 1])
        print("none", flush=True)
        raise SystemExit(0)
""")


@pytest.mark.parametrize("mtu", MTUS)
def test_nat_mss_clamped_and_large_udp(lab, mtu):
    """Through NAT at MTU 9000/65520 over a 1500 uplink: the SYN the remote
    sees asks for 1460-byte segments (a capture in the remote namespace), TCP
    moves data both ways, and UDP datagrams up to 64 KiB go out and back."""
    remote = lab.remote()
    h, g, _ = dhcp_guest(lab, mtu)
    sniffer = remote.popen(["/usr/bin/python3", "-c", SYN_SNIFF, "eth0", 8081],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lab.procs.append(sniffer)
    assert read_line(sniffer.stdout.fileno(), 10).strip() == b"ready"
    bulk_transfer(lab, remote, REMOTE_ADDR, g, True, 4 << 20)
    assert read_line(sniffer.stdout.fileno(), 10).strip() == b"1460", \
        "the SYN's MSS was not clamped to the uplink's MTU (1500)"
    bulk_transfer(lab, remote, REMOTE_ADDR, g, False, 4 << 20)

    sizes = [1473, 8000, 30000, 65507]
    srv = remote.popen(["/usr/bin/python3", "-c", UDP_ECHO, REMOTE_ADDR, 100],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lab.procs.append(srv)
    assert read_line(srv.stdout.fileno(), 10).strip() == b"ready"
    r = g.run(["/usr/bin/python3", "-c", UDP_CLIENT, REMOTE_ADDR] + sizes, check=False,
              timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stdout + r.stderr


FAR6 = "fd00:98::2"


def far_network(lab, remote, ipv6=False):
    """A "far" namespace behind the remote one: the remote is a router whose
    link to it has MTU 1280 on the remote's side (the far end has 1500, so it
    asks for segments of 1500 bytes and only the router knows better)."""
    far = lab.netns("far")
    sh(["ip", "-n", remote.name, "link", "add", "farlink", "mtu", "1280", "type", "veth",
        "peer", "name", "eth0", "netns", far.name])
    remote.run(["ip", "addr", "add", "198.51.100.1/24", "dev", "farlink"])
    remote.run(["ip", "link", "set", "farlink", "up"])
    remote.set_sysctl("net.ipv4.ip_forward", "1")
    far.run(["ip", "addr", "add", "198.51.100.2/24", "dev", "eth0"])
    far.run(["ip", "link", "set", "eth0", "up"])
    far.run(["ip", "route", "add", "default", "via", "198.51.100.1"])
    lab.host.run(["ip", "route", "add", "198.51.100.0/24", "via", REMOTE_ADDR])
    assert wait_until(lambda: far.run(["ping", "-n", "-c", "1", "-W", "1", REMOTE_HOST_ADDR],
                                      check=False).returncode == 0, 10)
    if ipv6:
        remote.run(["ip", "-6", "addr", "add", "fd00:98::1/64", "dev", "farlink", "nodad"])
        remote.set_sysctl("net.ipv6.conf.all.forwarding", "1")
        far.run(["ip", "-6", "addr", "add", FAR6 + "/64", "dev", "eth0", "nodad"])
        far.run(["ip", "-6", "route", "add", "default", "via", "fd00:98::1"])
        lab.host.run(["ip", "-6", "route", "add", "fd00:98::/64", "via", REMOTE6])
        assert wait_until(lambda: ping6(far, "fd00:99::1"), 10), "far unreachable over IPv6"
    return far


def test_fragmentation_needed_reaches_vm(lab):
    """The remote router's ICMP "fragmentation needed" for a masqueraded TCP
    flow is translated back to the VM, which lowers its path MTU: without it
    the transfer would stall (a black hole)."""
    remote = lab.remote()
    far = far_network(lab, remote)
    h, g, _ = dhcp_guest(lab, 9000)
    bulk_transfer(lab, far, "198.51.100.2", g, True, 2 << 20)
    route = g.run(["ip", "-4", "route", "get", "198.51.100.2"]).stdout
    assert re.search(r"\bmtu 1280\b", route), "no path MTU learnt: %s" % route


def test_packet_too_big_reaches_vm(lab):
    """The same over IPv6 through NAT66: ICMPv6 "packet too big" from the
    remote router, translated back to the VM's own address."""
    remote = v6_remote(lab)
    far = far_network(lab, remote, ipv6=True)
    h, g, _ = dhcp_guest(lab, 9000)
    g.ns.set_sysctl("net.ipv6.conf.%s.accept_ra" % g.tap, "1")
    g.run(["rdisc6", "-1", "-w", "2000", g.tap], check=False, timeout=20)
    assert slaac_address(g, prefix_net(h)), "no SLAAC address"
    bulk_transfer(lab, far, FAR6, g, True, 2 << 20)
    route = g.run(["ip", "-6", "route", "get", FAR6]).stdout
    assert re.search(r"\bmtu 1280\b", route), "no path MTU learnt: %s" % route


# --------------------------------------------------------------------------
# one MTU per network

def test_conflicting_mtu_refused_omitted_adopts(lab):
    """With the network's addresses given, another MTU is refused like another
    mode; without --mtu a helper joins with the network's MTU."""
    net = network_args(*default_network("shared"))
    h1, _ = lab.helper(["--mtu", 9000] + net)
    taps = [n for n in lab.host.link_names() if n.startswith("vmtap")]
    for other in (1500, 65520):
        a, b = lab.socketpair()
        r = lab.run_helper(["--fd", b.fileno(), "--mtu", other] + net, pass_fds=(b.fileno(),))
        errors = [l for l in r.stderr.splitlines() if l.startswith("ERROR")]
        assert r.returncode != 0 and r.stdout == "", r
        assert len(errors) == 1, r.stderr
        assert "192.168.105.0/24" in errors[0] and "MTU 9000" in errors[0] and \
            "--mtu %d" % other in errors[0], errors
    assert [n for n in lab.host.link_names() if n.startswith("vmtap")] == taps
    assert link_mtu(lab.host, h1.bridge) == 9000
    # Omitted: the network's own MTU (with or without the addresses). The
    # same MTU given explicitly: fine.
    h2, _ = lab.helper([])
    h3, _ = lab.helper(["--mtu", 9000] + net)
    assert h2.bridge == h1.bridge and h3.bridge == h1.bridge
    assert h2.info["vmnet_mtu"] == 9000 and h2.info["vmnet_max_packet_size"] == 9014
    assert h3.info["vmnet_mtu"] == 9000
    assert link_mtu(lab.host, h2.info["tap"]) == 9000
    # Another network (host mode) has its own MTU.
    h4, _ = lab.helper(["--operation-mode", "host"])
    assert h4.info["vmnet_mtu"] == 1500
    for h in (h1, h2, h3, h4):
        assert h.stop() == 0
    assert_clean(lab.host)
    # Once the network is gone, a new one starts at the default again.
    h5, _ = lab.helper([])
    assert h5.info["vmnet_mtu"] == 1500 and link_mtu(lab.host, h5.bridge) == 1500


def test_automatic_network_for_another_mtu(lab):
    """Without address options, a helper asking for an MTU the default network
    does not have is given the next free network, as for another mode, and
    the next helper asking for that MTU joins it there."""
    h1, _ = lab.helper([])
    h2, _ = lab.helper(["--mtu", 65520])
    assert h2.info["vmnet_start_address"] != h1.info["vmnet_start_address"]
    assert h2.info["vmnet_mtu"] == 65520 and link_mtu(lab.host, h2.bridge) == 65520
    assert re.search(r"in use with MTU 1500", h2.stderr()), h2.stderr()
    h3, _ = lab.helper(["--mtu", 65520])
    h4, _ = lab.helper(["--mtu", 1500])
    assert h3.bridge == h2.bridge and h3.info["vmnet_mtu"] == 65520
    assert h4.bridge == h1.bridge and h4.info["vmnet_mtu"] == 1500
    for h in (h4, h3, h2, h1):
        assert h.stop() == 0
    assert_clean(lab.host)


def test_leftover_bridge_takes_new_mtu(lab):
    """A bridge of ours without ports (left by a killed helper) is not a network
    in use: the next helper sets its own MTU on it, the default when omitted."""
    bridge = bridge_name("shared", "192.168.105.1")
    lab.host.run(["ip", "link", "add", bridge, "mtu", "9000", "type", "bridge"])
    h, _ = lab.helper(["--mtu", 65520])
    assert h.bridge == bridge
    assert h.info["vmnet_mtu"] == 65520 and link_mtu(lab.host, bridge) == 65520
    assert h.stop() == 0
    assert_clean(lab.host)
    lab.host.run(["ip", "link", "add", bridge, "mtu", "9000", "type", "bridge"])
    h, _ = lab.helper([])
    assert h.info["vmnet_mtu"] == 1500 and link_mtu(lab.host, bridge) == 1500
