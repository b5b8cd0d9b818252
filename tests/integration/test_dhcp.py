# SPDX-License-Identifier: Apache-2.0
"""DHCP answered by the helper, with real clients (busybox udhcpc, dhcpcd) and raw frames."""

import ipaddress
import signal
import time
import uuid

import pytest

import frames
from conftest import assert_clean, wait_until

UDHCPC_SCRIPT = """#!/bin/sh
# udhcpc hook: record the lease, configure the interface.
case "$1" in
bound|renew)
    {
        echo "ip=$ip"
        echo "subnet=$subnet"
        echo "mask=$mask"
        echo "router=$router"
        echo "serverid=$serverid"
        echo "lease=$lease"
        echo "dns=$dns"
        echo "mtu=$mtu"
    } > "$LEASE_OUT"
    ip addr add "$ip/$mask" dev "$interface"
    [ -n "$router" ] && ip route add default via "${router%% *}" dev "$interface"
    ;;
esac
exit 0
"""

DHCPCD_SCRIPT = """#!/bin/sh
# dhcpcd hook (-c): record the environment of the BOUND event.
# (dhcpcd gives hooks a clean environment: the path is written in.)
case "$reason" in
BOUND|REBOOT|RENEW) env > "@LEASE_OUT@" ;;
esac
exit 0
"""


def read_env(path):
    out = {}
    for line in path.read_text().splitlines():
        if "=" in line:
            k, v = line.split("=", 1)
            out[k] = v
    return out


def in_pool(h, addr):
    start = ipaddress.IPv4Address(h.info["vmnet_start_address"])
    end = ipaddress.IPv4Address(h.info["vmnet_end_address"])
    return start < ipaddress.IPv4Address(addr) <= end


def write_script(lab, name, text):
    p = lab.tmp / name
    p.write_text(text)
    p.chmod(0o755)
    return p


@pytest.mark.parametrize("mode", ["shared", "host"])
def test_udhcpc(lab, mode):
    h, vm = lab.helper(["--operation-mode", mode])
    g = lab.guest(vm, mac=h.info["vmnet_mac_address"])
    script = write_script(lab, "udhcpc.sh", UDHCPC_SCRIPT)
    out = lab.tmp / "udhcpc.lease"
    r = g.run(["env", "LEASE_OUT=%s" % out, "busybox", "udhcpc", "-i", "eth0", "-f", "-q",
               "-n", "-t", "5", "-T", "1", "-A", "1", "-s", script],
              check=False, timeout=30)
    assert r.returncode == 0, "udhcpc failed:\n%s%s\nhelper:\n%s" % (r.stdout, r.stderr,
                                                                      h.stderr())
    lease = read_env(out)
    assert in_pool(h, lease["ip"]), lease
    assert lease["ip"] == h.info["lease_address"]
    assert lease["router"].split()[0] == h.gateway
    assert lease["serverid"] == h.gateway
    assert lease["subnet"] == h.info["vmnet_subnet_mask"]
    assert lease["lease"].isdigit() and int(lease["lease"]) > 0, lease
    # The configured guest reaches its gateway.
    assert g.ping(h.gateway), "no ping to gateway after DHCP"


def test_dhcpcd(lab):
    h, vm = lab.helper([])
    g = lab.guest(vm, mac=h.info["vmnet_mac_address"])
    out = lab.tmp / "dhcpcd.lease"
    script = write_script(lab, "dhcpcd.sh", DHCPCD_SCRIPT.replace("@LEASE_OUT@", str(out)))
    # Private /run and /var/lib/dhcpcd (ip netns exec gives a private mount
    # namespace), so this dhcpcd never meets another one's files.
    cmd = ("mount -t tmpfs tmpfs /run && mkdir -p /run/dhcpcd && "
           "mount -t tmpfs tmpfs /var/lib/dhcpcd && "
           "exec timeout 25 dhcpcd -4 -1 -t 15 --noipv4ll "
           "-f /dev/null -c %s eth0" % script)
    r = g.run(["sh", "-c", cmd], check=False, timeout=40)
    assert r.returncode == 0, "dhcpcd failed:\n%s%s\nhelper:\n%s" % (r.stdout, r.stderr,
                                                                      h.stderr())
    lease = read_env(out)
    assert lease.get("new_ip_address") == h.info["lease_address"], lease
    assert in_pool(h, lease["new_ip_address"])
    assert lease.get("new_routers", "").split()[0] == h.gateway
    assert lease.get("new_dhcp_server_identifier") == h.gateway
    assert lease.get("new_subnet_mask") == h.info["vmnet_subnet_mask"]
    assert int(lease.get("new_dhcp_lease_time", "0")) > 0, lease
    assert "%s/%d" % (h.info["lease_address"], h.prefixlen) in g.ns.addrs("eth0")
    assert g.ping(h.gateway), "no ping to gateway after DHCP"


def test_same_address_after_restart(lab):
    iid = str(uuid.uuid4()).upper()
    h1, vm1 = lab.helper(["--interface-id", iid])
    mac = h1.info["vmnet_mac_address"]
    addr = frames.dhcp_lease(vm1, mac)["yiaddr"]
    assert addr == h1.info["lease_address"]
    # Another VM joins while the first runs: a different address.
    h2, vm2 = lab.helper([])
    assert h2.info["lease_address"] != addr
    assert h1.stop() == 0
    assert h2.stop() == 0
    assert_clean(lab.host)
    # The network is gone and comes back: the lease survived.
    h3, vm3 = lab.helper(["--interface-id", iid])
    assert h3.info["lease_address"] == addr
    assert frames.dhcp_lease(vm3, mac)["yiaddr"] == addr


def test_ten_helpers_distinct_addresses(lab):
    helpers = [lab.helper([], wait_json=False) for _ in range(10)]
    for h, _ in helpers:
        h.read_json(timeout=30)
    addrs = [h.info["lease_address"] for h, _ in helpers]
    assert len(set(addrs)) == 10, "duplicate leases: %s" % sorted(addrs)
    assert len({h.bridge for h, _ in helpers}) == 1
    for h, vm in helpers:
        assert in_pool(h, h.info["lease_address"])
        got = frames.dhcp_lease(vm, h.info["vmnet_mac_address"])["yiaddr"]
        assert got == h.info["lease_address"]
    for h, _ in helpers:
        h.send_signal(signal.SIGTERM)
    for h, _ in helpers:
        assert h.wait() == 0
    assert_clean(lab.host)


def test_dhcp_nak_for_foreign_address(lab):
    """A REQUEST for an address the helper did not lease gets a NAK or no ACK for it."""
    h, vm = lab.helper([])
    mac = h.info["vmnet_mac_address"]
    lease = ipaddress.IPv4Address(h.info["lease_address"])
    other = str(lease + 1 if lease + 1 <= ipaddress.IPv4Address(h.info["vmnet_end_address"])
                else lease - 1)
    xid = 0x5eed
    vm.send(frames.dhcp_message(mac, xid, "request", [("requested_addr", other)]))
    f = vm.recv_until(frames.dhcp_reply(xid, ("ack", "nak")), 3)
    if f is not None:
        p = frames.Ether(f)
        t = frames.dhcp_options(p).get("message-type")
        assert not (t == 5 and p[frames.BOOTP].yiaddr == other), \
            "helper ACKed an address it did not lease (%s)" % other
    # And the real lease still works.
    assert frames.dhcp_lease(vm, mac)["yiaddr"] == str(lease)
    assert wait_until(lambda: h.alive(), 0.1)


def test_udhcpc_with_another_mac(lab):
    """The VM need not use vmnet_mac_address: any MAC gets the helper's lease."""
    h, vm = lab.helper([])
    mac = frames.random_mac()
    assert mac != h.info["vmnet_mac_address"]
    g = lab.guest(vm, mac=mac)
    script = write_script(lab, "udhcpc.sh", UDHCPC_SCRIPT)
    out = lab.tmp / "udhcpc.lease"
    r = g.run(["env", "LEASE_OUT=%s" % out, "busybox", "udhcpc", "-i", "eth0", "-f", "-q",
               "-n", "-t", "5", "-T", "1", "-A", "1", "-s", script],
              check=False, timeout=30)
    assert r.returncode == 0, "udhcpc failed:\n%s%s" % (r.stdout, r.stderr)
    assert read_env(out)["ip"] == h.info["lease_address"]
    assert g.ping(h.gateway)


def test_dhcp_release_then_renew(lab):
    h, vm = lab.helper([])
    mac = h.info["vmnet_mac_address"]
    lease = frames.dhcp_lease(vm, mac)
    addr = lease["yiaddr"]
    vm.send(frames.dhcp_message(mac, 0x77, "release", [("server_id", h.gateway)],
                                ciaddr=addr, src_ip=addr, dst_ip=h.gateway))
    time.sleep(0.3)
    assert h.alive()
    assert frames.dhcp_lease(vm, mac)["yiaddr"] == addr


def test_lease_file(lab):
    iid = str(uuid.uuid4()).upper()
    h, vm = lab.helper(["--interface-id", iid])
    path = lab.host.lib_dir / ("%s.leases" % h.bridge)
    assert path.exists(), "no lease file %s" % path
    lines = [l for l in path.read_text().splitlines() if iid in l]
    assert len(lines) == 1, path.read_text()
    fields = dict(f.split("=", 1) for f in lines[0].split())
    assert fields.get("ip_address") == h.info["lease_address"], lines[0]
    assert fields.get("hw_address") == h.info["vmnet_mac_address"], lines[0]
