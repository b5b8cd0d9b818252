# SPDX-License-Identifier: Apache-2.0
"""--enable-isolation: isolated VMs reach no other VM, but the gateway, the host
and (shared mode) the outside. vmnet: "isolation ensures that network
communication between multiple vmnet interface instances is not possible", so
an isolated VM is also cut off from non-isolated VMs on the same network."""

import json

import pytest

from conftest import REMOTE_ADDR, assert_clean
from test_datapath import sniff, sniff_count


def start_guest(lab, args):
    h, vm = lab.helper(list(args))
    g = lab.guest(vm, mac=h.info["vmnet_mac_address"])
    g.configure(h.info["lease_address"], h.prefixlen, h.gateway)
    return h, g


def port_isolated(lab, tap):
    links = json.loads(lab.host.run(["bridge", "-j", "-d", "link", "show", "dev", tap]).stdout)
    return bool(links) and links[0].get("isolated") is True


@pytest.mark.parametrize("mode", ["host", "shared"])
def test_isolated_vms_cannot_reach_each_other(lab, mode):
    args = ["--operation-mode", mode, "--enable-isolation"]
    ha, ga = start_guest(lab, args)
    hb, gb = start_guest(lab, args)
    assert ha.bridge == hb.bridge
    for h in (ha, hb):
        assert h.info["tap"].startswith("vmtapi"), h.info
        assert port_isolated(lab, h.info["tap"]), "port %s not isolated" % h.info["tap"]
    assert "bridge vmnet_%s" % ha.bridge in lab.host.nft_tables()
    # Both reach the gateway and the host reaches both.
    assert ga.ping(ha.gateway, count=2), "isolated VM A cannot ping the gateway"
    assert gb.ping(hb.gateway, count=2), "isolated VM B cannot ping the gateway"
    for h in (ha, hb):
        r = lab.host.run(["ping", "-n", "-c", "1", "-W", "2", h.info["lease_address"]],
                         check=False)
        assert r.returncode == 0, "host cannot ping isolated VM %s" % h.info["lease_address"]
    # But not each other, either way.
    assert not ga.ping(hb.info["lease_address"], count=2, timeout=1), "A reached B"
    assert not gb.ping(ha.info["lease_address"], count=2, timeout=1), "B reached A"
    ha.stop()
    hb.stop()
    assert_clean(lab.host)


@pytest.mark.parametrize("mode", ["host", "shared"])
def test_without_isolation_vms_reach_each_other(lab, mode):
    ha, ga = start_guest(lab, ["--operation-mode", mode])
    hb, gb = start_guest(lab, ["--operation-mode", mode])
    assert not port_isolated(lab, ha.info["tap"])
    # No isolation rules: the bridge table, if any, holds the VMs' DNS chains alone.
    assert lab.host.run(["nft", "list", "chain", "bridge", "vmnet_" + ha.bridge, "forward"],
                        check=False).returncode != 0
    assert ga.ping(hb.info["lease_address"], count=2), "A cannot reach B"
    assert gb.ping(ha.info["lease_address"], count=2), "B cannot reach A"


@pytest.mark.parametrize("mode", ["host", "shared"])
def test_isolated_and_open_vm_on_one_network(lab, mode):
    """The isolated VM is cut off from the non-isolated one too; the
    non-isolated VMs still reach each other."""
    hi, gi = start_guest(lab, ["--operation-mode", mode, "--enable-isolation"])
    ho, go = start_guest(lab, ["--operation-mode", mode])
    ho2, go2 = start_guest(lab, ["--operation-mode", mode])
    assert hi.bridge == ho.bridge == ho2.bridge
    assert go.ping(ho2.info["lease_address"], count=2), "open VMs cannot reach each other"
    assert gi.ping(hi.gateway, count=2), "isolated VM cannot ping the gateway"
    assert not gi.ping(ho.info["lease_address"], count=2, timeout=1), \
        "isolated VM reached a non-isolated one"
    assert not go.ping(hi.info["lease_address"], count=2, timeout=1), \
        "non-isolated VM reached the isolated one"


def test_isolated_shared_vm_reaches_outside(lab):
    remote = lab.remote()
    h, g = start_guest(lab, ["--operation-mode", "shared", "--enable-isolation"])
    assert g.ping(REMOTE_ADDR, count=2), "isolated VM cannot reach the outside through NAT"
    h.stop()
    assert_clean(lab.host)
    assert remote is not None


def test_isolation_rules_go_with_sigkill(lab):
    """The reaper removes the network and its isolation table after SIGKILL."""
    h, g = start_guest(lab, ["--operation-mode", "host", "--enable-isolation"])
    assert "bridge vmnet_%s" % h.bridge in lab.host.nft_tables()
    h.stop(sig=9)
    assert_clean(lab.host, timeout=5)


def route_through_gateway(g, peer, gateway):
    """g sends what it has for peer to the gateway's MAC: a host that
    forwards routes it back out of the bridge, past its ports' checks."""
    g.run(["ip", "route", "add", peer + "/32", "via", gateway])


def ping_marked(g, addr, marker):
    """One ping whose payload carries marker (8 bytes); True when answered."""
    r = g.run(["ping", "-n", "-c", "2", "-i", "0.2", "-W", "1", "-p", marker.hex(), addr],
              check=False)
    return r.returncode == 0


@pytest.mark.parametrize("mode", ["shared", "host"])
def test_no_vm_reaches_an_isolated_one_through_the_gateway(lab, mode):
    """Isolation holds at layer 3: a VM that sends IP for another VM's
    address to the gateway's MAC has it routed back out of the same bridge
    by a host that forwards (shared mode always; host mode on a host that
    forwarded already, as a Docker host does). Neither an isolated VM nor
    one that is not reaches an isolated one that way, nor does an isolated
    one reach any VM; VMs without isolation still reach each other so, and
    the isolated ones keep the gateway and, in shared mode, the outside."""
    if mode == "host":
        lab.host.set_sysctl("net.ipv4.ip_forward", "1")
    else:
        lab.remote()
    iso = ["--operation-mode", mode, "--enable-isolation"]
    hi, gi = start_guest(lab, iso)
    hj, gj = start_guest(lab, iso)
    ho, go = start_guest(lab, ["--operation-mode", mode])
    hp, gp = start_guest(lab, ["--operation-mode", mode])
    guests = {gi: hi, gj: hj, go: ho, gp: hp}
    addr = {g: h.info["lease_address"] for g, h in guests.items()}
    for g in guests:
        for peer in guests:
            if peer is not g:
                route_through_gateway(g, addr[peer], hi.gateway)
    # Routed between VMs without isolation: as before.
    assert ping_marked(go, addr[gp], b"vmit-ope"), "open VMs no longer reach each other routed"
    # Nothing reaches an isolated VM, or comes from one, that way.
    for src, dst in ((gi, gj), (go, gi), (gi, go)):
        marker = b"vmit-l3%d" % list(guests).index(src)
        s = sniff(lab, dst.ns, dst.tap, 4, marker)
        assert not ping_marked(src, addr[dst], marker), \
            "%s reached %s through the gateway" % (addr[src], addr[dst])
        assert sniff_count(s, 10) == 0, "%s's packets reached %s" % (addr[src], addr[dst])
    # The gateway, and (shared) the outside, still work for the isolated VM.
    assert gi.ping(hi.gateway, count=2), "isolated VM lost the gateway"
    if mode == "shared":
        assert gi.ping(REMOTE_ADDR, count=2), "isolated VM lost the way out through NAT"
    for h in guests.values():
        h.stop()
    assert_clean(lab.host)
