# SPDX-License-Identifier: Apache-2.0
"""
--network NAME, as upstream v0.13: join a named network. "shared" and
"host" exist by default; the administrator defines others in the policy file
(conftest.Policy shows one to the helper without touching the host's /etc).
"""

import ipaddress
import json

import pytest

from conftest import Policy, assert_clean, bridge_name, sudo_env, wait_until
from test_client import BOTH, run_client
from test_policy import refused

USER_A, USER_B = "vmnet-test-a", "vmnet-test-b"

LAB = ("[network lab]\n"
       "mode = host\n"
       "start-address = 10.20.0.1\n"
       "end-address = 10.20.0.254\n"
       "subnet-mask = 255.255.255.0\n"
       "isolation = yes\n")

NET_KEYS = {"net_ipv4_subnet", "net_ipv4_mask", "net_ipv6_prefix", "net_ipv6_prefix_len"}


def one_line_refusal(lab, args, needle, policy=None, env=None):
    before = sorted(lab.host.link_names())
    r = lab.run_helper(["--fd", "0"] + args, policy=policy, env=env)
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert r.returncode != 0 and r.stdout == "", r
    assert len(lines) == 1 and needle in lines[0], r.stderr
    assert sorted(lab.host.link_names()) == before, "a refused start changed the links"


def test_builtin_shared_network(lab):
    h, _ = lab.helper(["--network", "shared"])
    info = h.info
    assert info["operation_mode"] == "shared" and info["network"] == "shared"
    assert info["vmnet_start_address"] == "192.168.105.1"
    assert info["bridge"] == bridge_name("shared", "192.168.105.1")
    assert info["net_ipv4_subnet"] == "192.168.105.0"
    assert info["net_ipv4_mask"] == "255.255.255.0"
    assert info["net_ipv6_prefix"] == info["vmnet_nat66_prefix"]
    assert info["net_ipv6_prefix_len"] == 64
    assert isinstance(info["net_ipv6_prefix_len"], int)
    ipaddress.IPv6Network("%s/64" % info["net_ipv6_prefix"])
    # A helper started the old way is on the same network; it reports no net_* keys.
    h2, _ = lab.helper([])
    assert h2.info["bridge"] == info["bridge"]
    assert not NET_KEYS & set(h2.info) and "network" not in h2.info
    h.stop()
    h2.stop()
    assert_clean(lab.host)


def test_builtin_host_network(lab):
    h, _ = lab.helper(["--network", "host", "--enable-isolation"])
    info = h.info
    assert info["operation_mode"] == "host" and info["tap"].startswith("vmtapi")
    assert (info["net_ipv4_subnet"], info["net_ipv4_mask"]) == ("192.168.106.0", "255.255.255.0")
    assert (info["net_ipv6_prefix"], info["net_ipv6_prefix_len"]) == ("fe80::", 64)
    assert "vmnet_nat66_prefix" not in info


@pytest.mark.parametrize("mode", ["shared", "host"])
def test_no_ipv6_keys_when_ipv6_is_off(lab, mode):
    """IPv6 disabled on the host: the network is IPv4 only, so the JSON has
    no net_ipv6_prefix / net_ipv6_prefix_len (the IPv4 keys stay)."""
    for scope in ("all", "default"):
        lab.host.run(["sysctl", "-qw", "net.ipv6.conf.%s.disable_ipv6=1" % scope])
    h, _ = lab.helper(["--network", mode])
    assert "net_ipv6_prefix" not in h.info and "net_ipv6_prefix_len" not in h.info, h.info
    assert h.info["net_ipv4_subnet"] == ("192.168.105.0" if mode == "shared" else "192.168.106.0")
    assert h.info["network"] == mode


def test_administrators_network_joined_by_two_users(lab):
    """Two users join "lab": one host-mode network on the administrator's
    subnet, every VM isolated as the definition says."""
    pol = Policy(lab, LAB)
    ha, vma = lab.helper(["--network", "lab"], env=sudo_env(USER_A), policy=pol)
    hb, vmb = lab.helper(["--network", "lab"], env=sudo_env(USER_B), policy=pol)
    for h in (ha, hb):
        info = h.info
        assert info["operation_mode"] == "host" and info["network"] == "lab"
        assert info["vmnet_start_address"] == "10.20.0.1"
        assert info["bridge"] == bridge_name("host", "10.20.0.1")
        assert info["tap"].startswith("vmtapi"), "the network isolates its VMs"
        assert (info["net_ipv4_subnet"], info["net_ipv4_mask"]) == ("10.20.0.0", "255.255.255.0")
        assert info["net_ipv6_prefix"] == "fe80::"
    ga = lab.guest(vma, mac=ha.info["vmnet_mac_address"])
    gb = lab.guest(vmb, mac=hb.info["vmnet_mac_address"])
    ga.configure(ha.info["lease_address"], 24, "10.20.0.1")
    gb.configure(hb.info["lease_address"], 24, "10.20.0.1")
    assert ga.ping("10.20.0.1", count=2) and gb.ping("10.20.0.1", count=2)
    assert not ga.ping(hb.info["lease_address"], count=2, timeout=1), "isolation broken"
    # The plain options reach the same network too (root here).
    h, _ = lab.helper(["--operation-mode", "host", "--start-address", "10.20.0.1",
                       "--end-address", "10.20.0.254", "--subnet-mask", "255.255.255.0"],
                      policy=pol)
    assert h.info["bridge"] == ha.info["bridge"]


@pytest.mark.parametrize("option", [
    ["--operation-mode", "shared"], ["--operation-mode", "host"],
    ["--shared-interface", "eth0"], ["--start-address", "192.168.105.1"],
    ["--end-address", "192.168.105.254"], ["--subnet-mask", "255.255.255.0"],
])
def test_network_refuses_the_options_it_decides(lab, option):
    """Exactly upstream's list, in upstream's words; --mtu is not on it."""
    one_line_refusal(lab, ["--network", "shared"] + option,
                     "Conflicting arguments: --network cannot be used with %s" % option[0])
    one_line_refusal(lab, option + ["--network", "shared"],
                     "Conflicting arguments: --network cannot be used with %s" % option[0])


def test_network_with_mtu(lab):
    """--mtu with --network, as with a running network: it chooses the MTU of
    a network that sets none; a network's own mtu = is its identity, and
    another --mtu is refused with one line."""
    pol = Policy(lab, "[network jumbo]\nmode = host\nmtu = 9000\n"
                      "[network plain]\nmode = host\nstart-address = 10.21.0.1\n"
                      "end-address = 10.21.0.254\nsubnet-mask = 255.255.255.0\n")
    h, _ = lab.helper(["--network", "shared", "--mtu", "4000"], env=sudo_env(USER_A), policy=pol)
    assert h.info["vmnet_mtu"] == 4000 and h.info["network"] == "shared"
    h, _ = lab.helper(["--network", "plain", "--mtu", "2000"], env=sudo_env(USER_A), policy=pol)
    assert h.info["vmnet_mtu"] == 2000 and h.info["vmnet_start_address"] == "10.21.0.1"
    # The network's own MTU (mtu = 9000): without --mtu, and with the same one.
    h, _ = lab.helper(["--network", "jumbo"], env=sudo_env(USER_A), policy=pol)
    assert h.info["vmnet_mtu"] == 9000 and h.info["operation_mode"] == "host", h.info
    h, _ = lab.helper(["--network", "jumbo", "--mtu", "9000"], env=sudo_env(USER_B), policy=pol)
    assert h.info["vmnet_mtu"] == 9000
    one_line_refusal(lab, ["--network", "jumbo", "--mtu", "1500"],
                     '--mtu 1500 cannot be used with network "jumbo": its MTU is 9000',
                     policy=pol, env=sudo_env(USER_A))
    # Joining a running network: --mtu must match it, as without --network.
    a, b = lab.socketpair()
    r = lab.run_helper(["--fd", b.fileno(), "--network", "plain", "--mtu", 3000], policy=pol,
                       pass_fds=(b.fileno(),))
    errors = [l for l in r.stderr.splitlines() if l.startswith("ERROR")]
    assert r.returncode != 0 and r.stdout == "" and len(errors) == 1, r
    assert "in use with MTU 2000" in errors[0], errors


def test_unknown_network(lab):
    one_line_refusal(lab, ["--network", "nope"], 'no network "nope"')
    pol = Policy(lab, LAB)
    one_line_refusal(lab, ["--network", "Lab"], 'no network "Lab"', policy=pol)
    one_line_refusal(lab, ["--network", "a/b"], 'invalid --network "a/b"')


def test_bridged_network(lab):
    """A bridged network the administrator defines on a software bridge: users
    may join it (it is the administrator's choice), without --enable-isolation."""
    lab.host.run(["ip", "link", "add", "br0", "type", "bridge"])
    lab.host.run(["ip", "link", "set", "br0", "up"])
    pol = Policy(lab, "[network lan]\nmode = bridged\nshared-interface = br0\n")
    h, _ = lab.helper(["--network", "lan"], env=sudo_env(USER_A), policy=pol)
    assert h.info["operation_mode"] == "bridged" and h.info["shared_interface"] == "br0"
    assert h.info["network"] == "lan" and not NET_KEYS & set(h.info)
    one_line_refusal(lab, ["--network", "lan", "--enable-isolation"],
                     '--enable-isolation cannot be used with network "lan"', policy=pol)
    # Without the network, the user may not bridge br0.
    one_line_refusal(lab, ["--operation-mode", "bridged", "--shared-interface", "br0"],
                     "not allowed", policy=pol, env=sudo_env(USER_A))


@BOTH
def test_vmnet_client_passes_network_through(lab, client):
    r = run_client(lab, ["--network", "host", "--", "sh", "-c",
                         "ip link show | grep -q vmneth && exit 5; exit 6"], client=client)
    assert r.returncode == 5, r.stderr
    info = json.loads(r.stdout.splitlines()[0])
    assert info["network"] == "host" and info["net_ipv4_subnet"] == "192.168.106.0"
    assert wait_until(lambda: not [n for n in lab.host.link_names() if n.startswith("vmnet")], 5)


LAB_NET = ["--start-address", "10.20.0.1", "--end-address", "10.20.0.254",
           "--subnet-mask", "255.255.255.0"]
# What a user could start over "lab" (host mode, 10.20.0.0/24) before it
# runs, each of which made --network lab fail for everyone: the other mode,
# another MTU, a wider mask; and lab's own addresses without --network.
SQUATS = [["--operation-mode", "shared"] + LAB_NET,
          ["--operation-mode", "host", "--mtu", "9000"] + LAB_NET,
          ["--operation-mode", "host", "--start-address", "10.20.0.1", "--end-address",
           "10.20.0.254", "--subnet-mask", "255.255.0.0"],
          ["--operation-mode", "host"] + LAB_NET]


@pytest.mark.parametrize("order", ["squat-first", "network-first"])
def test_named_network_cannot_be_squatted(lab, order):
    """The subnet of an administrator's network is that network's: a user's
    start over it any other way is refused with one line naming the network
    (even where the user may otherwise create networks), whether the network
    runs or not; --network lab then starts for every user, isolated as
    defined. Root's explicit addresses are root's choice."""
    pol = Policy(lab, "subnets = default, 10.0.0.0/8\n" + LAB)
    first = None
    if order == "network-first":
        first, _ = lab.helper(["--network", "lab"], env=sudo_env(USER_A), policy=pol)
    for args in SQUATS:
        refused(lab, args, env=sudo_env(USER_B), policy=pol,
                needle='overlaps 10.20.0.0/24, the administrator\'s network "lab": join it with '
                       '--network lab')
    for user in (USER_A, USER_B):
        h, _ = lab.helper(["--network", "lab"], env=sudo_env(user), policy=pol)
        assert h.info["vmnet_start_address"] == "10.20.0.1" and h.info["tap"].startswith("vmtapi")
    assert first is None or first.alive()


def test_automatic_choice_passes_over_named_networks(lab):
    """A named network on a /24 automatic selection would try: a user's or
    root's start without addresses passes over it, and --network NAME works."""
    pol = Policy(lab, "[network lab2]\nmode = shared\nstart-address = 192.168.106.1\n"
                      "end-address = 192.168.106.254\nsubnet-mask = 255.255.255.0\n")
    for env in (sudo_env(USER_A), None):
        h, _ = lab.helper(["--operation-mode", "host"], env=env, policy=pol)
        assert h.info["vmnet_start_address"] == "192.168.107.1", h.info
        assert h.wait_stderr(r"default network 192\.168\.106\.0/24 cannot be used \(subnet "
                             r"192\.168\.106\.0/24 overlaps 192\.168\.106\.0/24, the "
                             r"administrator's network \"lab2\"")
        assert h.stop() == 0
    h, _ = lab.helper(["--network", "lab2"], env=sudo_env(USER_B), policy=pol)
    assert h.info["vmnet_start_address"] == "192.168.106.1"
