# SPDX-License-Identifier: Apache-2.0
"""The VM simulator itself (tests/tools/vmsim.c)."""

import subprocess

from conftest import VMSIM, wait_until


def test_vmsim_usage_errors(lab):
    ns = lab.netns("g")
    for args in ([], ["--tap", "eth0"], ["--tap", "eth0", "--fd", "x"],
                 ["--tap", "eth0", "--fd", "3", "--socket", "/x"],
                 ["--tap", "eth0", "--fd", "3", "--handshake"],
                 ["--tap", "eth0", "--fd", "3", "--mac", "zz:00:00:00:00:00"],
                 ["--tap", "eth0", "--fd", "3", "--offload", "--mtu", "40"]):
        r = ns.run([VMSIM] + args, check=False, timeout=10)
        assert r.returncode == 2, (args, r.returncode, r.stderr)
    assert "eth0" not in ns.link_names()


def test_vmsim_relays_and_exits_when_helper_gone(lab):
    h, vm = lab.helper([])
    g = lab.guest(vm, mac="02:11:22:33:44:55")
    link = [l for l in g.ns.links() if l["ifname"] == "eth0"][0]
    assert link["address"] == "02:11:22:33:44:55"
    assert "UP" in link["flags"]
    g.configure(h.info["lease_address"], h.prefixlen, h.gateway)
    assert g.ping(h.gateway)
    assert h.stop() == 0
    # The next frame the guest sends finds no peer: vmsim exits 0.
    g.ping(h.gateway, count=1, timeout=1)
    assert wait_until(lambda: g.proc.poll() is not None, 5), "vmsim still running"
    assert g.proc.returncode == 0


def test_vmsim_exits_on_sigterm(lab):
    h, vm = lab.helper([])
    g = lab.guest(vm)
    g.proc.terminate()
    try:
        assert g.proc.wait(5) == 0
    except subprocess.TimeoutExpired:
        raise AssertionError("vmsim ignored SIGTERM")
