# SPDX-License-Identifier: Apache-2.0
"""Many VMs and many networks: 32 helpers on one network, several networks
side by side, conflicting networks refused."""

import ipaddress
import random
import signal

import frames
from conftest import assert_clean, wait_until


def reaches_gateway(h, vm):
    """The VM leases its address by DHCP, resolves the gateway and pings it."""
    mac = h.info["vmnet_mac_address"]
    lease = frames.dhcp_lease(vm, mac)
    addr = lease["yiaddr"]
    assert addr == h.info["lease_address"]
    gw = h.info["vmnet_start_address"]
    gw_mac = frames.arp_resolve(vm, mac, addr, gw)
    assert gw_mac is not None, "no ARP reply from the gateway for %s" % addr
    ident = random.randrange(1, 0xffff)
    for seq in range(1, 4):
        vm.send(frames.icmp_echo(mac, gw_mac, addr, gw, ident=ident, seq=seq))
        if vm.recv_until(frames.icmp_reply_for(gw, ident), 2.0) is not None:
            return
    raise AssertionError("%s got no echo reply from the gateway" % addr)


def test_32_helpers_concurrently(lab):
    """32 helpers started at once share one bridge, get distinct addresses,
    all reach the gateway; stopped in random order, the network goes only
    with the last one."""
    helpers = [lab.helper([], wait_json=False) for _ in range(32)]
    for h, _ in helpers:
        h.read_json(timeout=60)
    addrs = [h.info["lease_address"] for h, _ in helpers]
    assert len(set(addrs)) == 32, "duplicate leases: %s" % sorted(addrs)
    bridges = {h.bridge for h, _ in helpers}
    assert len(bridges) == 1
    bridge = bridges.pop()
    for h, vm in helpers:
        reaches_gateway(h, vm)

    random.shuffle(helpers)
    for i, (h, _) in enumerate(helpers):
        h.send_signal(signal.SIGTERM)
        assert h.wait() == 0
        if i < len(helpers) - 1:
            assert bridge in lab.host.link_names(), \
                "bridge removed while %d helpers still run" % (len(helpers) - i - 1)
    assert_clean(lab.host)


NETWORKS = [
    ("shared", None),
    ("host", None),
    ("shared", ("10.50.0.1", "10.50.255.254", "255.255.0.0")),
    ("host", ("172.20.0.1", "172.20.0.100", "255.255.255.0")),
    ("shared", ("192.168.200.1", "192.168.200.2", "255.255.255.252")),
]


def test_networks_side_by_side(lab):
    """Networks of different modes and subnets live together, each VM on its own."""
    running = []
    for mode, net in NETWORKS:
        args = ["--operation-mode", mode]
        if net:
            args += ["--start-address", net[0], "--end-address", net[1],
                     "--subnet-mask", net[2]]
        running.append(lab.helper(args))
    assert len({h.bridge for h, _ in running}) == len(NETWORKS)
    for h, vm in running:
        reaches_gateway(h, vm)
    for h, _ in running:
        h.send_signal(signal.SIGTERM)
        assert h.wait() == 0
    assert_clean(lab.host)


def test_conflicting_networks_refused(lab):
    """A subnet used by a network of another mode or mask, or overlapping a
    host route, fails with one clear line and leaves the running network alone."""
    h, vm = lab.helper([])
    bridge = h.bridge
    _, b = lab.socketpair()
    fd = str(b.fileno())

    def run(args):
        return lab.run_helper(["--fd", fd] + args, pass_fds=(b.fileno(),))

    cases = [
        # the same subnet in host mode
        ["--operation-mode", "host", "--start-address", "192.168.105.1",
         "--end-address", "192.168.105.254", "--subnet-mask", "255.255.255.0"],
        # the same gateway with another mask
        ["--start-address", "192.168.105.1", "--end-address", "192.168.105.100",
         "--subnet-mask", "255.255.0.0"],
        # a smaller network inside the running one
        ["--operation-mode", "host", "--start-address", "192.168.105.129",
         "--end-address", "192.168.105.130", "--subnet-mask", "255.255.255.252"],
    ]
    for args in cases:
        r = run(args)
        errors = [l for l in r.stderr.splitlines() if l.startswith("ERROR")]
        assert r.returncode != 0, "conflicting network accepted: %s" % args
        assert len(errors) == 1 and "192.168.105.0" in errors[0], r.stderr
        assert r.stdout == ""
    # The running network is untouched and still serves its VM.
    assert bridge in lab.host.link_names()
    reaches_gateway(h, vm)

    # A subnet that overlaps a route the host already has.
    lab.host.run(["ip", "link", "add", "up9", "type", "veth", "peer", "name", "up9p"])
    lab.host.run(["ip", "link", "set", "up9", "up"])
    lab.host.run(["ip", "addr", "add", "10.77.0.1/16", "dev", "up9"])
    r = run(["--start-address", "10.77.5.1", "--end-address", "10.77.5.254",
             "--subnet-mask", "255.255.255.0"])
    errors = [l for l in r.stderr.splitlines() if l.startswith("ERROR")]
    assert r.returncode != 0
    assert len(errors) == 1 and "overlaps" in errors[0], r.stderr
    assert not any(n.startswith("vmnets0a4d") for n in lab.host.link_names())
    lab.host.run(["ip", "link", "del", "up9"])

    h.send_signal(signal.SIGTERM)
    assert h.wait() == 0
    assert_clean(lab.host)


def test_leases_survive_network_restart(lab):
    """The lease file names each VM (MAC, interface id) and its address, and a
    VM keeps its address after the whole network was removed and recreated."""
    ids = ["2835E074-9892-4A79-AFFB-7E41D26056%02d" % i for i in range(3)]
    first = {}
    for _ in range(2):
        running = [lab.helper(["--interface-id", i]) for i in ids]
        for (h, _), i in zip(running, ids):
            first.setdefault(i, h.info["lease_address"])
            assert h.info["lease_address"] == first[i]
        bridge = running[0][0].bridge
        text = (lab.host.lib_dir / ("%s.leases" % bridge)).read_text()
        for h, _ in running:
            line = next(l for l in text.splitlines() if h.info["vmnet_interface_id"] in l)
            fields = dict(kv.split("=", 1) for kv in line.split())
            assert fields["ip_address"] == h.info["lease_address"]
            assert fields["hw_address"] == h.info["vmnet_mac_address"]
            ipaddress.IPv4Address(fields["ip_address"])
        for h, _ in running:
            h.send_signal(signal.SIGTERM)
            assert h.wait() == 0
        assert wait_until(lambda: bridge not in lab.host.link_names(), 5)
