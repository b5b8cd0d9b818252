# SPDX-License-Identifier: Apache-2.0
"""Offloading in bridged mode: a TAP port on an existing bridge and a macvtap
on a "physical" interface, both with --enable-tso --enable-checksum-offload,
carrying 64 KiB frames from an offloading VM intact."""

import pytest

from conftest import assert_clean
from test_bridged import link, veth_to
from test_datapath import bulk_transfer

OFFLOAD = ["--enable-tso", "--enable-checksum-offload"]
SIZE = 64 << 20


def transfer(lab, server_ns, server_addr, g, direction):
    elapsed = bulk_transfer(lab, server_ns, server_addr, g, direction == "vm-to-lan", SIZE,
                            timeout=90)
    print("%s: %.0f MiB/s" % (direction, SIZE / elapsed / 2**20))


def bridged_guest(lab, iface, addr):
    h, vm = lab.helper(["--operation-mode", "bridged", "--shared-interface", iface] + OFFLOAD)
    assert h.info["vmnet_max_packet_size"] == 65550
    tap = link(lab.host, h.info["tap"])
    g = lab.guest(vm, mac=h.info["vmnet_mac_address"], offload=True)
    g.configure(addr, 24)
    return h, g, tap


@pytest.mark.parametrize("direction", ["vm-to-lan", "lan-to-vm"])
def test_existing_bridge_offload(lab, direction):
    host = lab.host
    host.run(["ip", "link", "add", "br0", "type", "bridge"])
    host.run(["ip", "addr", "add", "10.79.0.1/24", "dev", "br0"])
    host.run(["ip", "link", "set", "br0", "up"])
    h, g, tap = bridged_guest(lab, "br0", "10.79.0.2")
    assert tap.get("master") == "br0", tap
    assert g.ping("10.79.0.1", count=2)
    transfer(lab, host, "10.79.0.1", g, direction)
    assert h.stop() == 0
    assert link(host, "br0") is not None
    assert_clean(host)


@pytest.mark.parametrize("direction", ["vm-to-lan", "lan-to-vm"])
def test_macvtap_offload(lab, direction):
    lan = lab.netns("lan")
    veth_to(lab, lab.host, "phys0", lan, "eth0")
    lan.run(["ip", "addr", "add", "10.77.0.1/24", "dev", "eth0"])
    h, g, mvt = bridged_guest(lab, "phys0", "10.77.0.2")
    assert mvt["linkinfo"]["info_kind"] == "macvtap", mvt
    assert g.ping("10.77.0.1", count=2)
    transfer(lab, lan, "10.77.0.1", g, direction)
    assert h.stop() == 0
    assert link(lab.host, h.info["tap"]) is None, "macvtap left behind"
    assert_clean(lab.host)
