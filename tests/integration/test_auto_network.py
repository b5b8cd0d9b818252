# SPDX-License-Identifier: Apache-2.0
"""Automatic network selection: without the three address options the
helper takes the default network, or, when that cannot be used (a network of
the other mode is there, or it conflicts with the host), the next free /24,
as vmnet does; helpers without the options share one network whenever they
can. With explicit options a conflict stays an error."""

import json
import signal
import threading

from conftest import assert_clean, network_args, sh
from test_scale import reaches_gateway

SHARED_DEFAULT = ("192.168.105.1", "192.168.105.254", "255.255.255.0")
HOST_DEFAULT = ("192.168.106.1", "192.168.106.254", "255.255.255.0")
AUTO_ALIAS = "vmnet-helper: automatic network"


def net_of(info):
    return (info["vmnet_start_address"], info["vmnet_end_address"], info["vmnet_subnet_mask"])


def gw24(third):
    return ("192.168.%d.1" % third, "192.168.%d.254" % third, "255.255.255.0")


def blocker(lab, addr=None, routes=()):
    """A veth in the host namespace holding addr (CIDR) and routes."""
    name = "blk%d" % len([l for l in lab.host.link_names() if l.startswith("blk")])
    lab.host.run(["ip", "link", "add", name, "type", "veth", "peer", "name", name + "p"])
    lab.host.run(["ip", "link", "set", name, "up"])
    lab.host.run(["ip", "link", "set", name + "p", "up"])
    if addr:
        lab.host.run(["ip", "addr", "add", addr, "dev", name])
    for r in routes:
        lab.host.run(["ip", "route", "add", r, "dev", name])
    return name


def alias(lab, bridge):
    out = sh(["ip", "-n", lab.host.name, "-j", "link", "show", "dev", bridge]).stdout
    return json.loads(out)[0].get("ifalias")


def chose_line(h):
    return [l for l in h.stderr_lines() if "cannot be used" in l]


def test_default_taken_by_other_mode(lab):
    """The shared default is a host-mode network: a shared helper without
    options takes the next /24, says so, reports it, and works."""
    host, _ = lab.helper(["--operation-mode", "host"] + network_args(*SHARED_DEFAULT))
    h, vm = lab.helper([])
    assert net_of(h.info) == gw24(106), h.info
    assert h.info["lease_address"].startswith("192.168.106."), h.info
    lines = chose_line(h)
    assert len(lines) == 1 and lines[0].startswith("INFO") and "192.168.105.0/24" in lines[0] \
        and "host mode" in lines[0] and "using 192.168.106.0/24" in lines[0], h.stderr()
    assert alias(lab, h.bridge) == AUTO_ALIAS
    reaches_gateway(h, vm)
    # The host-mode network is untouched and still works.
    assert host.alive() and net_of(host.info) == SHARED_DEFAULT
    # Host mode without options: its default (.106) is the automatic shared
    # network now, so it moves on as well.
    h2, vm2 = lab.helper(["--operation-mode", "host"])
    assert net_of(h2.info) == gw24(107), h2.info
    reaches_gateway(h2, vm2)
    for x in (h2, h, host):
        assert x.stop() == 0
    assert_clean(lab.host)


def test_default_conflicts_with_host(lab):
    """An address, or a route, of the host in the default network: the
    next free /24, skipping every one the host uses."""
    blocker(lab, "192.168.105.7/24", ["192.168.106.0/24", "192.168.107.128/25"])
    h, vm = lab.helper([])
    assert net_of(h.info) == gw24(108), h.info
    line = chose_line(h)[0]
    assert "192.168.105.7/24" in line and "using 192.168.108.0/24" in line, line
    reaches_gateway(h, vm)
    # Explicit options keep today's behaviour: the conflict is an error.
    _, b = lab.socketpair()
    r = lab.run_helper(["--fd", str(b.fileno())] + network_args(*SHARED_DEFAULT),
                       pass_fds=(b.fileno(),))
    errors = [l for l in r.stderr.splitlines() if l.startswith("ERROR")]
    assert r.returncode != 0 and r.stdout == "", r.stderr
    assert len(errors) == 1 and "overlaps" in errors[0], r.stderr
    assert h.stop() == 0
    assert_clean(lab.host)


def test_helpers_without_options_share_one_network(lab):
    """While the default is taken, helpers without options all join the one
    network the first chose; after the default is free again they still join
    that network while it runs; once it is gone, the default is used."""
    host, _ = lab.helper(["--operation-mode", "host"] + network_args(*SHARED_DEFAULT))
    a, vma = lab.helper([])
    b, vmb = lab.helper([])
    assert net_of(a.info) == net_of(b.info) == gw24(106)
    assert a.bridge == b.bridge
    assert host.stop() == 0
    c, vmc = lab.helper([])
    assert net_of(c.info) == gw24(106), "a helper without options did not join the " \
        "running automatic network: %s" % c.info
    assert any("joining network 192.168.106.0/24" in l for l in c.stderr_lines()), c.stderr()
    assert len({a.info["lease_address"], b.info["lease_address"], c.info["lease_address"]}) == 3
    for h, vm in ((a, vma), (b, vmb), (c, vmc)):
        reaches_gateway(h, vm)
    for h in (a, b, c):
        assert h.stop() == 0
    d, vmd = lab.helper([])
    assert net_of(d.info) == SHARED_DEFAULT, d.info
    assert not chose_line(d)
    assert alias(lab, d.bridge) == AUTO_ALIAS
    assert d.stop() == 0
    assert_clean(lab.host)


def test_concurrent_starts_share_one_network(lab):
    """Chosen under the network lock: helpers started at the same moment,
    with the default taken, end up on one network."""
    host, _ = lab.helper(["--operation-mode", "host"] + network_args(*SHARED_DEFAULT))
    helpers = [lab.helper([], wait_json=False) for _ in range(8)]
    threads = [threading.Thread(target=h.read_json, kwargs={"timeout": 60}) for h, _ in helpers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    nets = {net_of(h.info) for h, _ in helpers}
    assert nets == {gw24(106)}, nets
    assert len({h.info["lease_address"] for h, _ in helpers}) == 8
    for h, _ in helpers:
        h.send_signal(signal.SIGTERM)
    for h, _ in helpers:
        assert h.wait() == 0
    assert host.stop() == 0
    assert_clean(lab.host)


def test_explicit_network_joined_when_it_is_the_next(lab):
    """A running network of the same mode with the shape an automatic one
    would have is usable: a helper without options joins it."""
    host, _ = lab.helper(["--operation-mode", "host"] + network_args(*SHARED_DEFAULT))
    x, vmx = lab.helper(network_args(*gw24(106)))
    assert alias(lab, x.bridge) is None
    h, vm = lab.helper([])
    assert net_of(h.info) == gw24(106) and h.bridge == x.bridge
    assert alias(lab, x.bridge) == AUTO_ALIAS
    reaches_gateway(h, vm)
    reaches_gateway(x, vmx)


def test_no_free_network(lab):
    """Nothing free up to 192.168.255.0/24: one clear line, nothing changed."""
    blocker(lab, "192.168.1.1/16")
    _, b = lab.socketpair()
    r = lab.run_helper(["--fd", str(b.fileno())], pass_fds=(b.fileno(),))
    assert r.returncode != 0 and r.stdout == "", r.stderr
    errors = [l for l in r.stderr.splitlines() if l.startswith("ERROR")]
    assert len(errors) == 1 and "no free network for shared mode" in errors[0] and \
        "192.168.105.0/24" in errors[0], r.stderr
    assert not [l for l in lab.host.link_names() if l.startswith(("vmnet", "vmtap"))]
    assert not [t for t in lab.host.nft_tables() if "vmnet" in t]
