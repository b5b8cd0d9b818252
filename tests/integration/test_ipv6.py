# SPDX-License-Identifier: Apache-2.0
"""IPv6 in shared mode: SLAAC from the helper's router advertisements, the
gateway's addresses, NAT66 to a remote namespace, rogue RA/DHCPv6 from a VM
dropped, IPv6 forwarding settings restored exactly; host mode link-local only."""

import ipaddress
import re
import subprocess
import textwrap
import time

import pytest

import frames
from conftest import REMOTE_ADDR, assert_clean, read_line, vm_drops, wait_until
from test_datapath import sniff, sniff_count
from test_dns import dns, no_errors, query, resolves  # noqa: F401 (dns: a fixture)
from frames import Ether, raw

from scapy.layers.inet6 import (ICMPv6EchoRequest, ICMPv6ND_RA, ICMPv6ND_RS,  # noqa: E402
                                ICMPv6NDOptPrefixInfo, ICMPv6NDOptRDNSS,
                                ICMPv6NDOptSrcLLAddr, ICMPv6NDOptUnknown, IPv6)
from scapy.layers.inet import UDP  # noqa: E402

REMOTE6_HOST = "fd00:99::1"     # host namespace end of the uplink veth
REMOTE6 = "fd00:99::2"          # the remote namespace ("the internet")

# The IPv6 sysctls the helper may touch, as a dict, for "restored exactly".
V6_KEYS = ("forwarding", "accept_ra")


def v6_sysctls(ns):
    out = {}
    r = ns.run(["sh", "-c", "cd /proc/sys/net/ipv6/conf && grep -H . */forwarding */accept_ra"])
    for line in r.stdout.splitlines():
        path, val = line.split(":", 1)
        dev = path.split("/")[0]
        if dev.startswith("vmnet") or dev.startswith("vmtap"):
            continue
        out[path] = val
    return out


def eui64_link_local(mac):
    b = [int(x, 16) for x in mac.split(":")]
    b[0] ^= 2
    iid = b[:3] + [0xff, 0xfe] + b[3:]
    return str(ipaddress.IPv6Address(bytes([0xfe, 0x80] + [0] * 6 + iid)))


def addrs6(ns, dev, scope=None):
    """[(address, prefixlen, flags)] of dev."""
    out = []
    for link in ns.ip_json("-6", "addr", "show", "dev", dev):
        for a in link.get("addr_info", []):
            if a.get("family") != "inet6" or (scope and a.get("scope") != scope):
                continue
            out.append((a["local"], a["prefixlen"], a))
    return out


def link_mac(ns, dev):
    return ns.ip_json("link", "show", "dev", dev)[0]["address"]


def prefix_net(h):
    return ipaddress.IPv6Network(h.info["vmnet_nat66_prefix"] + "/64")


def gateway6(h):
    return str(prefix_net(h)[1])


def slaac_address(g, net, timeout=15):
    """The guest's global address in net once it is usable (not tentative)."""
    def find():
        for addr, plen, a in addrs6(g.ns, g.tap, scope="global"):
            if ipaddress.IPv6Address(addr) in net and plen == 64 and not a.get("tentative"):
                return addr
        return None
    return wait_until(find, timeout, 0.1)


def default_route6(g, timeout=15):
    def find():
        for r in g.ns.ip_json("-6", "route", "show", "default"):
            if r.get("gateway"):
                return r
        return None
    return wait_until(find, timeout, 0.1)


def ping6(ns, addr, count=1, timeout=2, dev=None):
    argv = ["ping", "-6", "-n", "-c", count, "-i", "0.2", "-W", timeout]
    if dev:
        argv += ["-I", dev]
    return ns.run(argv + [addr], check=False,
                  timeout=count * (timeout + 1) + 10).returncode == 0


def slaac_guest(lab, args=()):
    """A shared-mode helper and a guest namespace whose kernel does SLAAC."""
    h, vm = lab.helper(["--operation-mode", "shared"] + list(args))
    g = lab.guest(vm, mac=h.info["vmnet_mac_address"])
    # A host, not a router: forwarding off, router advertisements accepted.
    assert g.ns.sysctl("net.ipv6.conf.all.forwarding") == "0"
    g.ns.set_sysctl("net.ipv6.conf.%s.accept_ra" % g.tap, "1")
    g.ns.set_sysctl("net.ipv6.conf.%s.autoconf" % g.tap, "1")
    return h, g


def v6_remote(lab):
    """The remote namespace with IPv6 on the uplink too; host default route to it."""
    remote = lab.remote()
    lab.host.run(["ip", "-6", "addr", "add", REMOTE6_HOST + "/64", "dev", "uplink0", "nodad"])
    remote.run(["ip", "-6", "addr", "add", REMOTE6 + "/64", "dev", "eth0", "nodad"])
    lab.host.run(["ip", "-6", "route", "add", "default", "via", REMOTE6])
    assert wait_until(lambda: ping6(lab.host, REMOTE6), 10), "remote unreachable over IPv6"
    return remote


def test_slaac_default_route_and_gateway(lab):
    h, g = slaac_guest(lab)
    net = prefix_net(h)
    # The bridge: gateway address and the EUI-64 link-local of its fixed MAC,
    # nothing else (no kernel-made link-local), none tentative.
    bridge_mac = link_mac(lab.host, h.bridge)
    ll = eui64_link_local(bridge_mac)
    have = {(a, p) for a, p, _ in addrs6(lab.host, h.bridge)}
    assert have == {(gateway6(h), 64), (ll, 64)}, have
    assert lab.host.sysctl("net.ipv6.conf.%s.accept_ra" % h.bridge) == "0"

    addr = slaac_address(g, net)
    assert addr, "no SLAAC address in %s on the guest: %s" % (net, addrs6(g.ns, g.tap))
    route = default_route6(g)
    assert route, "no IPv6 default route in the guest"
    assert route["gateway"] == ll and route["dev"] == g.tap, route
    assert ping6(g.ns, gateway6(h), count=2), "no ping6 to the gateway"
    assert ping6(g.ns, ll, dev=g.tap), "no ping6 to the gateway's link-local"


def test_router_advertisement_contents(lab):
    """rdisc6 in the guest solicits and decodes the answer."""
    h, g = slaac_guest(lab)
    ll = eui64_link_local(link_mac(lab.host, h.bridge))
    # rdisc6 needs the guest's own link-local past duplicate address detection.
    assert wait_until(lambda: [a for a, _, i in addrs6(g.ns, g.tap, scope="link")
                               if not i.get("tentative")], 10, 0.1)
    r = g.run(["rdisc6", "-1", "-r", "3", "-w", "1500", g.tap], check=False, timeout=20)
    assert r.returncode == 0, "no RA answered: %s %s\n%s" % (r.stdout, r.stderr, h.stderr())
    out = r.stdout
    assert re.search(r"Prefix\s*:\s*%s/64" % re.escape(str(prefix_net(h).network_address)),
                     out), out
    assert re.search(r"On-link\s*:\s*Yes", out) and re.search(r"Autonomous.*:\s*Yes", out), out
    assert re.search(r"Router lifetime\s*:\s*1800", out), out
    assert re.search(r"Source link-layer address:\s*%s" % link_mac(lab.host, h.bridge),
                     out, re.I), out
    assert re.search(r"from %s" % re.escape(ll), out), out
    assert re.search(r"MTU\s*:\s*1500", out), out
    assert re.search(r"Recursive DNS server\s*:\s*%s" % re.escape(gateway6(h)), out), out


def wait_frame(vm, pred, timeout=5):
    return vm.recv_until(lambda f: pred(Ether(f)), timeout)


def is_ra(p):
    return IPv6 in p and ICMPv6ND_RA in p


def test_raw_rs_answered_and_unsolicited_ra(lab):
    h, vm = lab.helper(["--operation-mode", "shared"])
    mac = h.info["vmnet_mac_address"]
    # One unsolicited RA when forwarding starts, without asking.
    f = wait_frame(vm, is_ra, 5)
    assert f, "no unsolicited RA at start"
    vm.drain()
    time.sleep(1.1)   # past the minimum gap between solicited RAs
    rs = (Ether(src=mac, dst="33:33:00:00:00:02") /
          IPv6(src="fe80::1234", dst="ff02::2", hlim=255) / ICMPv6ND_RS() /
          ICMPv6NDOptSrcLLAddr(lladdr=mac))
    vm.send(raw(rs))
    f = wait_frame(vm, is_ra, 3)
    assert f, "RS not answered"
    p = Ether(f)
    bridge_mac = link_mac(lab.host, h.bridge)
    assert p.src == bridge_mac and p.dst == "33:33:00:00:00:01"
    assert p[IPv6].src == eui64_link_local(bridge_mac) and p[IPv6].dst == "ff02::1"
    assert p[IPv6].hlim == 255
    ra = p[ICMPv6ND_RA]
    assert ra.routerlifetime == 1800 and ra.M == 0 and ra.O == 0
    pi = p[ICMPv6NDOptPrefixInfo]
    assert pi.prefix == str(prefix_net(h).network_address) and pi.prefixlen == 64
    assert pi.L == 1 and pi.A == 1 and pi.validlifetime >= pi.preferredlifetime > 0
    assert p[ICMPv6NDOptSrcLLAddr].lladdr == bridge_mac
    # Scapy recomputes the checksum when it is deleted: it must match ours.
    want = ra.cksum
    del p[ICMPv6ND_RA].cksum
    assert Ether(raw(p))[ICMPv6ND_RA].cksum == want, "bad ICMPv6 checksum"
    assert p[ICMPv6NDOptRDNSS].dns == [gateway6(h)]


@pytest.mark.parametrize("mode", ["shared", "host"])
def test_rogue_ra_and_dhcp6_from_vm_dropped(lab, mode):
    h, vm = lab.helper(["--operation-mode", mode, "--stats-interval", "1"])
    mac = h.info["vmnet_mac_address"]
    bad, good = b"vmit-rogue-ra-v6", b"vmit-control-v6!"
    s_bad = sniff(lab, lab.host, h.bridge, 3, bad)
    s_good = sniff(lab, lab.host, h.bridge, 3, good)
    src = eui64_link_local(mac)
    ra = (Ether(src=mac, dst="33:33:00:00:00:01") /
          IPv6(src=src, dst="ff02::1", hlim=255) / ICMPv6ND_RA(routerlifetime=9000) /
          ICMPv6NDOptPrefixInfo(prefix="2001:db8:bad::", prefixlen=64) /
          ICMPv6NDOptUnknown(type=200, len=3, data=bad + b"\0" * 6))
    dhcp6 = (Ether(src=mac, dst="33:33:00:01:00:02") /
             IPv6(src=src, dst="ff02::1:2") / UDP(sport=547, dport=546) /
             (b"\x02\x00\x00\x01" + bad))
    control = (Ether(src=mac, dst="33:33:00:00:00:01") /
               IPv6(src=src, dst="ff02::1") / UDP(sport=40000, dport=40001) / good)
    for _ in range(5):
        vm.send(raw(ra))
        vm.send(raw(dhcp6))
        vm.send(raw(control))
        time.sleep(0.05)
    assert sniff_count(s_good, 10) >= 5, "control frames not seen on the bridge"
    assert sniff_count(s_bad, 10) == 0, "a VM's RA or DHCPv6 reply reached the bridge"
    assert wait_until(lambda: (vm_drops(h) or 0) >= 10, 5), \
        "drops not counted: %s" % vm_drops(h)


def test_nat66_to_remote(lab):
    remote = v6_remote(lab)
    h, g = slaac_guest(lab)
    addr = slaac_address(g, prefix_net(h))
    assert addr and default_route6(g), "no SLAAC in the guest"
    # remote has no route back to the ULA prefix: replies only come through NAT66.
    assert ping6(g.ns, REMOTE6, count=3), "no ping6 through NAT66:\n%s" % h.stderr()
    srv = remote.popen(["/usr/bin/python3", "-c", TCP6_SERVER], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    lab.procs.append(srv)
    assert read_line(srv.stdout.fileno(), 10).strip() == b"ready"
    r = g.run(["/usr/bin/python3", "-c", TCP6_CLIENT, REMOTE6], check=False, timeout=20)
    assert r.returncode == 0, "TCP over NAT66 failed: %s" % r.stderr
    assert r.stdout.strip() == "peer=%s" % REMOTE6_HOST, r.stdout


TCP6_SERVER = textwrap.dedent("""
    import socket
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", 8080))
    s.listen(1)
    print("ready", flush=True)
    s.settimeout(15)
    c, peer = s.accept()
    c.sendall(("peer=%s\\n" % peer[0]).encode())
    c.close()
""")

TCP6_CLIENT = textwrap.dedent("""
    import socket, sys
    c = socket.create_connection((sys.argv[1], 8080), timeout=5)
    print(c.recv(100).decode().strip())
""")


def learn_ra_default_route(lab, remote):
    """remote advertises itself as a router to the host's uplink (accept_ra=1)."""
    rmac = link_mac(remote, "eth0")
    rll = eui64_link_local(rmac)
    code = ("from scapy.all import *; conf.verb=0; sendp(Ether(src=%r,dst='33:33:00:00:00:01')"
            "/IPv6(src=%r,dst='ff02::1',hlim=255)/ICMPv6ND_RA(routerlifetime=1200)"
            "/ICMPv6NDOptSrcLLAddr(lladdr=%r), iface='eth0', count=2)" % (rmac, rll, rmac))

    def learned():
        for r in lab.host.ip_json("-6", "route", "show", "default"):
            if r.get("gateway") == rll and r.get("protocol") == "ra":
                return True
        remote.run(["/usr/bin/python3", "-c", code])
        return False
    assert wait_until(learned, 15, 0.5), "host did not learn the RA default route"
    return rll


@pytest.mark.parametrize("forwarding", ["0", "1"])
def test_forwarding_sysctls_restored(lab, forwarding):
    remote = lab.remote()
    host = lab.host
    host.set_sysctl("net.ipv6.conf.all.forwarding", forwarding)
    host.set_sysctl("net.ipv6.conf.uplink0.accept_ra", "1")
    # A device forwarding on its own while all.forwarding is 0 (router behaviour only).
    host.run(["ip", "link", "add", "vmit-x0", "type", "veth", "peer", "name", "vmit-x1"])
    host.set_sysctl("net.ipv6.conf.vmit-x0.forwarding", "1")
    rll = learn_ra_default_route(lab, remote) if forwarding == "0" else None
    before = v6_sysctls(host)
    before4 = host.sysctl("net.ipv4.ip_forward")
    h, g = slaac_guest(lab)
    assert host.sysctl("net.ipv6.conf.all.forwarding") == "1"
    guard = host.run(["nft", "list", "table", "inet", "vmnet_guard"], check=False).stdout
    if forwarding == "0":
        assert "meta nfproto ipv6" in guard, guard
        # SLAAC interfaces keep taking router advertisements, and their
        # learned default route survives forwarding being switched on.
        assert host.sysctl("net.ipv6.conf.uplink0.accept_ra") == "2"
        assert any(r.get("gateway") == rll for r in
                   host.ip_json("-6", "route", "show", "default")), "RA default route purged"
    else:
        assert "nfproto ipv6" not in guard, guard
        assert host.sysctl("net.ipv6.conf.uplink0.accept_ra") == "1"
    assert slaac_address(g, prefix_net(h)), "no SLAAC in the guest"
    assert h.stop() == 0
    g.stop()
    assert_clean(host, ip_forward=before4)
    assert v6_sysctls(host) == before
    if rll:
        assert any(r.get("gateway") == rll for r in
                   host.ip_json("-6", "route", "show", "default")), "RA default route lost"


def test_prefix_stable_across_restarts(lab):
    h1, _ = lab.helper(["--operation-mode", "shared"])
    p1 = h1.info["vmnet_nat66_prefix"]
    gw = gateway6(h1)
    assert ipaddress.IPv6Network(p1 + "/64").subnet_of(ipaddress.IPv6Network("fd00::/8"))
    assert h1.stop() == 0
    assert_clean(lab.host)
    h2, _ = lab.helper(["--operation-mode", "shared"])
    assert h2.info["vmnet_nat66_prefix"] == p1
    assert (gw, 64) in {(a, p) for a, p, _ in addrs6(lab.host, h2.bridge)}
    # Another network gets another prefix.
    h3, _ = lab.helper(["--operation-mode", "shared", "--start-address", "192.168.120.1",
                        "--end-address", "192.168.120.254", "--subnet-mask", "255.255.255.0"])
    assert h3.info["vmnet_nat66_prefix"] != p1


def test_host_mode_link_local_only(lab):
    h, vm = lab.helper(["--operation-mode", "host"])
    assert "vmnet_nat66_prefix" not in h.info
    mac = h.info["vmnet_mac_address"]
    rs = (Ether(src=mac, dst="33:33:00:00:00:02") /
          IPv6(src=eui64_link_local(mac), dst="ff02::2", hlim=255) / ICMPv6ND_RS())
    vm.send(raw(rs))
    assert wait_frame(vm, is_ra, 2) is None, "host mode must not advertise a router"
    g = lab.guest(vm, mac=mac)
    # Link-local to the host works: the kernel gives the bridge its own.
    def bridge_ll():
        for a, _, info in addrs6(lab.host, h.bridge, scope="link"):
            if not info.get("tentative"):
                return a
        return None
    ll = wait_until(bridge_ll, 10, 0.1)
    assert ll, "host-mode bridge has no link-local address"
    assert wait_until(lambda: ping6(g.ns, ll, dev=g.tap), 10), "no link-local ping6 to host"
    assert not [a for a, _, _ in addrs6(g.ns, g.tap, scope="global")]


def test_dns_over_ipv6_at_the_gateway(lab, dns):
    """The RDNSS address answers: UDP and TCP queries to the gateway's IPv6 address."""
    dns.upstream()
    dns.resolv(REMOTE_ADDR)
    h, g = slaac_guest(lab)
    assert slaac_address(g, prefix_net(h)), "no SLAAC in the guest"
    gw6 = gateway6(h)
    assert h.wait_stderr(r"INFO  \[dns\] answering DNS on \[%s\]:53" % re.escape(gw6))
    r = query(g.ns, gw6, "vmtest.example")
    assert resolves(r), r
    r = query(g.ns, gw6, "vmtest.example", tcp=True)
    assert resolves(r), r
    no_errors(h)
