# SPDX-License-Identifier: Apache-2.0
"""The JSON line: keys, types and values, per mode and network."""

import ipaddress
import re
import uuid

import pytest

import frames
from conftest import assert_clean, bridge_name, mask_prefix, network_args

MAC_RE = re.compile(r"^[0-9a-f]{2}(:[0-9a-f]{2}){5}$")

STRING_KEYS = ["vmnet_interface_id", "vmnet_mac_address", "vmnet_start_address",
               "vmnet_end_address", "vmnet_subnet_mask", "lease_address"]
NUMBER_KEYS = ["vmnet_mtu", "vmnet_max_packet_size", "vmnet_read_max_packets",
               "vmnet_write_max_packets"]

NETWORKS = {
    "8": ("10.0.0.1", "10.255.255.254", "255.0.0.0"),
    "12": ("172.16.0.1", "172.31.255.254", "255.240.0.0"),
    "16": ("192.168.0.1", "192.168.255.254", "255.255.0.0"),
    "30-first": ("192.168.50.1", "192.168.50.2", "255.255.255.252"),
    "30-last": ("192.168.105.253", "192.168.105.254", "255.255.255.252"),
    "24-partial-pool": ("172.20.30.1", "172.20.30.20", "255.255.255.0"),
}


def check_common(info, mode, start=None, end=None, mask=None):
    for k in STRING_KEYS:
        assert isinstance(info.get(k), str), "%s missing or not a string: %r" % (k, info)
    for k in NUMBER_KEYS:
        v = info.get(k)
        assert isinstance(v, int) and not isinstance(v, bool), \
            "%s missing or not a number: %r" % (k, info)
    assert info["vmnet_max_packet_size"] == 1514
    assert 1280 <= info["vmnet_mtu"] <= 65535
    assert info["vmnet_max_packet_size"] >= info["vmnet_mtu"] + 14 or \
        info["vmnet_mtu"] == 1500
    uuid.UUID(info["vmnet_interface_id"])
    mac = info["vmnet_mac_address"]
    assert MAC_RE.match(mac), mac
    first = int(mac[:2], 16)
    assert first & 1 == 0, "multicast MAC %s" % mac
    assert first & 2 == 2, "MAC %s is not locally administered" % mac
    s = ipaddress.IPv4Address(info["vmnet_start_address"])
    e = ipaddress.IPv4Address(info["vmnet_end_address"])
    netw = ipaddress.IPv4Network("%s/%s" % (s, info["vmnet_subnet_mask"]), strict=False)
    assert e in netw and s < e
    assert s != netw.network_address and e != netw.broadcast_address
    lease = ipaddress.IPv4Address(info["lease_address"])
    assert s < lease <= e, "lease %s outside [%s+1, %s]" % (lease, s, e)
    if start:
        assert info["vmnet_start_address"] == start
        assert info["vmnet_end_address"] == end
        assert info["vmnet_subnet_mask"] == mask
    if mode == "shared":
        p = info.get("vmnet_nat66_prefix")
        assert isinstance(p, str), "vmnet_nat66_prefix missing: %r" % info
        a = ipaddress.IPv6Address(p)
        assert a in ipaddress.IPv6Network("fc00::/7"), "nat66 prefix %s is not a ULA" % p
        assert int(a) & ((1 << 64) - 1) == 0, "nat66 prefix %s is not a /64" % p


def check_bridge(lab, info, mode):
    br = bridge_name(mode, info["vmnet_start_address"])
    assert br in lab.host.link_names(), "bridge %s missing: %s" % (br, lab.host.link_names())
    want = "%s/%d" % (info["vmnet_start_address"], mask_prefix(info["vmnet_subnet_mask"]))
    assert want in lab.host.addrs(br), "bridge %s has %s, want %s" % (
        br, lab.host.addrs(br), want)
    assert "inet vmnet_%s" % br in lab.host.nft_tables(), lab.host.nft_tables()
    return br


@pytest.mark.parametrize("mode", ["shared", "host"])
def test_json_default_network(lab, mode):
    args = ["--operation-mode", mode]
    h, vm = lab.helper(args)
    info = h.info
    if mode == "shared":
        check_common(info, mode, "192.168.105.1", "192.168.105.254", "255.255.255.0")
    else:
        check_common(info, mode)
    check_bridge(lab, info, mode)
    assert h.stop() == 0
    assert_clean(lab.host)


def test_json_shared_is_default_mode(lab):
    h, vm = lab.helper([])
    check_common(h.info, "shared", "192.168.105.1", "192.168.105.254", "255.255.255.0")
    check_bridge(lab, h.info, "shared")


@pytest.mark.parametrize("mode", ["shared", "host"])
@pytest.mark.parametrize("netname", sorted(NETWORKS))
def test_json_custom_network(lab, mode, netname):
    start, end, mask = NETWORKS[netname]
    # A network may not contain the host's nameservers: this machine's own
    # might be anywhere in 10/8, so the lab's host has a nameserver of its own.
    lab.resolv("127.0.0.1")
    h, vm = lab.helper(["--operation-mode", mode] + network_args(start, end, mask))
    info = h.info
    check_common(info, mode, start, end, mask)
    if netname == "30-last" or netname == "30-first":
        assert info["lease_address"] == end, "the only pool address is %s" % end
    check_bridge(lab, info, mode)
    # The VM sees the gateway and gets the announced address with the right mask.
    mac = frames.random_mac()
    lease = frames.dhcp_lease(vm, mac)
    assert lease["yiaddr"] == info["lease_address"]
    assert lease["ack_options"].get("subnet_mask") == mask
    assert lease["ack_options"].get("router") == start
    hw = frames.arp_resolve(vm, mac, info["lease_address"], start)
    assert hw is not None, "no ARP reply from gateway %s" % start
    assert h.stop() == 0
    assert_clean(lab.host)


def test_stable_mac_for_interface_id(lab):
    iid = str(uuid.uuid4())
    h1, _ = lab.helper(["--interface-id", iid])
    assert h1.info["vmnet_interface_id"].upper() == iid.upper()
    mac1 = h1.info["vmnet_mac_address"]
    assert h1.stop() == 0
    h2, _ = lab.helper(["--interface-id", iid.upper()])
    assert h2.info["vmnet_interface_id"].upper() == iid.upper()
    assert h2.info["vmnet_mac_address"] == mac1, "MAC changed for the same interface id"
    assert h2.stop() == 0
    h3, _ = lab.helper(["--interface-id", str(uuid.uuid4())])
    assert h3.info["vmnet_mac_address"] != mac1, "two interface ids got the same MAC"
    # Same id in host mode: the MAC is a property of the interface id.
    assert h3.stop() == 0


def test_random_interface_id_when_omitted(lab):
    h1, _ = lab.helper([])
    h2, _ = lab.helper([])
    id1, id2 = h1.info["vmnet_interface_id"], h2.info["vmnet_interface_id"]
    u1 = uuid.UUID(id1)
    uuid.UUID(id2)
    assert u1.version == 4, "interface id %s is not a random (v4) UUID" % id1
    assert id1 != id2
    assert h1.info["vmnet_mac_address"] != h2.info["vmnet_mac_address"]
    assert h1.info["lease_address"] != h2.info["lease_address"]


# The datapath's batches (src/datapath/forward.c): about 1 MiB of buffers each, 64
# frames at most and 16 at least; so 64 each way for 1514-byte frames, 16 for
# frames of up to 64 KiB (TSO, or a 64 KiB MTU).
@pytest.mark.parametrize("args,read,write", [
    ([], 64, 64),
    (["--enable-checksum-offload"], 64, 64),
    (["--enable-tso", "--enable-checksum-offload"], 16, 16),
    (["--operation-mode", "host"], 64, 64),
    (["--mtu", "9000"], 64, 64),
    (["--mtu", "65520"], 16, 16),
], ids=["plain", "checksum-offload", "tso", "host", "mtu9000", "mtu65520"])
def test_json_max_packets(lab, args, read, write):
    """vmnet_read_max_packets (frames per read from the network, toward the
    VM) and vmnet_write_max_packets (frames from the VM per write to the
    network), as numbers, beside the other keys."""
    h, _ = lab.helper(args)
    for k in ("vmnet_read_max_packets", "vmnet_write_max_packets"):
        v = h.info.get(k)
        assert isinstance(v, int) and not isinstance(v, bool), "%s: %r" % (k, h.info)
    assert h.info["vmnet_read_max_packets"] == read
    assert h.info["vmnet_write_max_packets"] == write
    assert {"vmnet_mtu", "vmnet_max_packet_size", "lease_address", "tap"} <= set(h.info)
