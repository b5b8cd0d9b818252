# SPDX-License-Identifier: Apache-2.0
"""Bridged mode: the VM on the network of --shared-interface, leased by that
network's own DHCP server (dnsmasq here), never by the helper.

  physical interface (a veth stands in): a macvtap with the VM's MAC
  existing Linux bridge: a TAP port on it
  two "hosts" (namespaces) with a bridge each, joined by VXLAN over a veth
"""

import json
import os
import signal
import subprocess

import pytest

from conftest import HELPER, assert_clean, leftovers, sh, wait_until

UDHCPC_SCRIPT = """#!/bin/sh
case "$1" in
bound|renew)
    { echo "ip=$ip"; echo "mask=$mask"; echo "serverid=$serverid"; } > "$LEASE_OUT"
    ip addr add "$ip/$mask" dev "$interface"
    ;;
esac
exit 0
"""

ADDRESS_KEYS = ("vmnet_start_address", "vmnet_end_address", "vmnet_subnet_mask",
                "vmnet_nat66_prefix", "lease_address")


def dnsmasq(lab, ns, dev, first, last):
    """dnsmasq serving DHCP only (no DNS) on dev in ns. Returns (process, lease file)."""
    lab.counter += 1
    leases = lab.tmp / ("dnsmasq-%d.leases" % lab.counter)
    p = lab.popen(ns.cmd(["dnsmasq", "--keep-in-foreground", "--no-daemon", "--port=0",
                          "--interface=%s" % dev, "--bind-interfaces", "--no-resolv",
                          "--no-hosts", "--dhcp-range=%s,%s,255.255.255.0,1h" % (first, last),
                          "--dhcp-leasefile=%s" % leases, "--pid-file",
                          "--dhcp-authoritative", "--log-dhcp"]),
                  stdout=subprocess.DEVNULL,
                  stderr=open(lab.tmp / ("dnsmasq-%d.log" % lab.counter), "wb"))
    assert wait_until(lambda: p.poll() is not None or port67(ns), 5), "dnsmasq did not start"
    assert p.poll() is None, (lab.tmp / ("dnsmasq-%d.log" % lab.counter)).read_text()
    return p, leases


def stop(proc):
    proc.terminate()
    proc.wait(5)


def port67(ns):
    return ":67 " in ns.run(["ss", "-ulnH"]).stdout


def udhcpc(lab, g):
    """Runs a DHCP client in the guest; returns its lease as a dict."""
    script = lab.tmp / "udhcpc.sh"
    script.write_text(UDHCPC_SCRIPT)
    script.chmod(0o755)
    lab.counter += 1
    out = lab.tmp / ("udhcpc-%d.lease" % lab.counter)
    r = g.run(["env", "LEASE_OUT=%s" % out, "busybox", "udhcpc", "-i", g.tap, "-f", "-q",
               "-n", "-t", "6", "-T", "1", "-A", "1", "-s", script], check=False, timeout=30)
    assert r.returncode == 0, "udhcpc failed:\n%s%s" % (r.stdout, r.stderr)
    return dict(l.split("=", 1) for l in out.read_text().splitlines() if "=" in l)


def bridged(lab, ns, iface, mtu=None):
    h, vm = lab.helper(["--operation-mode", "bridged", "--shared-interface", iface], ns=ns)
    g = lab.guest(vm, mac=h.info["vmnet_mac_address"], mtu=mtu)
    return h, g


def check_json(info, iface, mtu):
    assert info["operation_mode"] == "bridged"
    assert info["shared_interface"] == iface
    assert info["vmnet_mtu"] == mtu
    assert info["vmnet_max_packet_size"] == mtu + 14
    assert info["vmnet_read_max_packets"] == 64 and info["vmnet_write_max_packets"] == 64
    for k in ADDRESS_KEYS:
        assert k not in info, "bridged JSON has %s: %s" % (k, info)


def link(ns, name):
    """ip -d link of name in ns, None if there is no such link."""
    r = sh(["ip", "-n", ns.name, "-j", "-d", "link", "show", "dev", name], check=False)
    out = json.loads(r.stdout) if r.returncode == 0 and r.stdout.strip() else []
    return out[0] if out else None


def veth_to(lab, ns, name, peer_ns, peer_name, mtu=1500):
    sh(["ip", "-n", ns.name, "link", "add", name, "mtu", str(mtu), "type", "veth", "peer",
        "name", peer_name, "mtu", str(mtu), "netns", peer_ns.name])
    ns.run(["ip", "link", "set", name, "up"])
    peer_ns.run(["ip", "link", "set", peer_name, "up"])


# --------------------------------------------------------------------------
# physical interface: macvtap

def physical_lab(lab, mtu=1500):
    """host's phys0 is a veth to 'lan', where dnsmasq serves 10.77.0.0/24."""
    lan = lab.netns("lan")
    veth_to(lab, lab.host, "phys0", lan, "eth0", mtu)
    lan.run(["ip", "addr", "add", "10.77.0.1/24", "dev", "eth0"])
    _, leases = dnsmasq(lab, lan, "eth0", "10.77.0.50", "10.77.0.99")
    return lan, leases


def test_macvtap_leased_by_far_end(lab):
    lan, leases = physical_lab(lab, mtu=1450)
    h, g = bridged(lab, lab.host, "phys0", mtu=1450)
    mac = h.info["vmnet_mac_address"]
    check_json(h.info, "phys0", 1450)
    mvt = link(lab.host, h.info["tap"])
    assert mvt["linkinfo"]["info_kind"] == "macvtap", mvt
    assert mvt["linkinfo"]["info_data"]["mode"] == "bridge", mvt
    assert mvt["address"] == mac, "macvtap MAC %s != VM MAC %s" % (mvt["address"], mac)
    assert mvt.get("link") == "phys0", mvt
    lease = udhcpc(lab, g)
    assert lease["serverid"] == "10.77.0.1", lease
    assert lease["ip"].startswith("10.77.0."), lease
    assert mac in leases.read_text(), "dnsmasq has no lease for %s" % mac
    assert g.ping("10.77.0.1", count=2), "VM cannot reach the LAN"
    r = lan.run(["ping", "-n", "-c", "1", "-W", "2", lease["ip"]], check=False)
    assert r.returncode == 0, "the LAN cannot reach the VM"
    assert h.stop() == 0
    assert link(lab.host, h.info["tap"]) is None, "macvtap left behind"
    assert link(lab.host, "phys0") is not None
    assert_clean(lab.host)


def test_two_vms_on_one_physical_interface(lab):
    """macvtap bridge mode: VMs on the same lower device reach each other."""
    lan = lab.netns("lan")
    veth_to(lab, lab.host, "phys0", lan, "eth0")
    ha, ga = bridged(lab, lab.host, "phys0")
    hb, gb = bridged(lab, lab.host, "phys0")
    assert ha.info["tap"] != hb.info["tap"]
    ga.configure("10.77.0.11", 24)
    gb.configure("10.77.0.12", 24)
    assert ga.ping("10.77.0.12", count=2), "VM A cannot reach VM B"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["term", "kill"])
def test_macvtap_removed(lab, sig):
    lan = lab.netns("lan")
    veth_to(lab, lab.host, "phys0", lan, "eth0")
    h, g = bridged(lab, lab.host, "phys0")
    name = h.info["tap"]
    assert link(lab.host, name) is not None
    h.send_signal(sig)
    h.wait()
    # After SIGKILL the reaper (still running) deletes it.
    assert wait_until(lambda: link(lab.host, name) is None, 5), "macvtap %s left" % name
    assert_clean(lab.host, timeout=5)
    assert not [f for f in os.listdir("/dev") if f.startswith("vmnet-helper-")]


# --------------------------------------------------------------------------
# existing Linux bridge: a TAP port

def test_existing_bridge_with_dnsmasq(lab):
    host = lab.host
    host.run(["ip", "link", "add", "br0", "type", "bridge"])
    host.run(["ip", "addr", "add", "10.78.0.1/24", "dev", "br0"])
    host.run(["ip", "link", "set", "br0", "up"])
    server, leases = dnsmasq(lab, host, "br0", "10.78.0.50", "10.78.0.99")
    h, g = bridged(lab, host, "br0")
    mtu = link(host, "br0")["mtu"]
    check_json(h.info, "br0", mtu)
    tap = link(host, h.info["tap"])
    assert tap.get("master") == "br0", tap
    lease = udhcpc(lab, g)
    assert lease["serverid"] == "10.78.0.1", lease
    assert h.info["vmnet_mac_address"] in leases.read_text()
    assert g.ping("10.78.0.1", count=2), "VM cannot reach the bridge's host"
    r = host.run(["ping", "-n", "-c", "1", "-W", "2", lease["ip"]], check=False)
    assert r.returncode == 0, "host cannot reach the VM on its bridge"
    h.stop(sig=signal.SIGKILL)
    stop(server)
    assert wait_until(lambda: link(host, h.info["tap"]) is None, 5), "TAP left behind"
    assert link(host, "br0") is not None, "the helper removed a bridge it does not own"
    assert_clean(host)


# --------------------------------------------------------------------------
# two hosts joined by VXLAN

def test_two_hosts_over_vxlan(lab):
    a = lab.netns("hostA")
    b = lab.netns("hostB")
    veth_to(lab, a, "under0", b, "under0")
    for ns, mine, peer in ((a, "192.0.2.1", "192.0.2.2"), (b, "192.0.2.2", "192.0.2.1")):
        ns.run(["ip", "addr", "add", mine + "/24", "dev", "under0"])
        ns.run(["ip", "link", "add", "vxlan0", "type", "vxlan", "id", "42", "remote", peer,
                "local", mine, "dstport", "4789", "dev", "under0"])
        ns.run(["ip", "link", "add", "br0", "type", "bridge"])
        ns.run(["ip", "link", "set", "vxlan0", "master", "br0"])
        ns.run(["ip", "link", "set", "vxlan0", "up"])
        ns.run(["ip", "link", "set", "br0", "up"])
    # The outside network's DHCP server sits on hostA's bridge.
    a.run(["ip", "addr", "add", "10.79.0.1/24", "dev", "br0"])
    server, leases = dnsmasq(lab, a, "br0", "10.79.0.50", "10.79.0.99")
    mtu = link(a, "br0")["mtu"]   # VXLAN overhead: 1450 over a 1500 underlay
    ha, ga = bridged(lab, a, "br0", mtu=mtu)
    hb, gb = bridged(lab, b, "br0", mtu=link(b, "br0")["mtu"])
    check_json(ha.info, "br0", mtu)
    la = udhcpc(lab, ga)
    lb = udhcpc(lab, gb)
    for lease in (la, lb):
        assert lease["serverid"] == "10.79.0.1", lease
    assert la["ip"] != lb["ip"]
    text = leases.read_text()
    assert ha.info["vmnet_mac_address"] in text and hb.info["vmnet_mac_address"] in text
    assert ga.ping(lb["ip"], count=3), "VM on hostA cannot reach VM on hostB"
    assert gb.ping(la["ip"], count=3), "VM on hostB cannot reach VM on hostA"
    ha.stop()
    hb.stop()
    stop(server)
    for ns in (a, b):
        assert_clean(ns)
        assert link(ns, "br0") is not None


# --------------------------------------------------------------------------
# --list-shared-interfaces and refused names

def interfaces_lab(lab):
    """A namespace with one interface of every sort."""
    ns = lab.host
    other = lab.netns("other")
    veth_to(lab, ns, "eth0", other, "eth0")                       # usable: "physical"
    veth_to(lab, ns, "eth1", other, "eth1")
    ns.run(["ip", "link", "add", "br0", "type", "bridge"])        # usable: a bridge
    ns.run(["ip", "link", "set", "eth1", "master", "br0"])        # a port: not usable
    ns.run(["ip", "link", "add", "vmnets0a000001", "type", "bridge"])   # ours
    ns.run(["ip", "tuntap", "add", "dev", "tap0", "mode", "tap"])
    ns.run(["ip", "addr", "add", "192.0.2.1/24", "dev", "eth0"])
    ns.run(["ip", "link", "add", "vx0", "type", "vxlan", "id", "7", "dstport", "4789",
            "local", "192.0.2.1"])
    ns.run(["ip", "link", "add", "mvt0", "link", "eth0", "type", "macvtap"])
    return ns


def test_list_shared_interfaces(lab):
    ns = interfaces_lab(lab)
    # No root needed: run it as nobody.
    r = ns.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                "--inh-caps=-all", "--bounding-set=-all", HELPER,
                "--list-shared-interfaces"], check=False)
    assert r.returncode == 0, r.stderr
    assert sorted(r.stdout.split()) == ["br0", "eth0"], r.stdout
    assert len(r.stdout.splitlines()) == 2


@pytest.mark.parametrize("name,expect", [
    ("nosuch0", "no such interface"),
    ("lo", "is not an Ethernet interface or bridge"),
    ("tap0", "is not an Ethernet interface or bridge"),
    ("vx0", "is not an Ethernet interface or bridge"),
    ("mvt0", "is not an Ethernet interface or bridge"),
    ("eth1", "is a port of"),
    ("vmnets0a000001", "is an interface of vmnet-helper"),
])
def test_unusable_interface_refused(lab, name, expect):
    ns = interfaces_lab(lab)
    before = sorted(ns.link_names())
    a, b = lab.socketpair()
    r = lab.run_helper(["--fd", str(b.fileno()), "--operation-mode", "bridged",
                        "--shared-interface", name], pass_fds=(b.fileno(),))
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert r.returncode != 0
    assert len(lines) == 1, r.stderr
    assert '--shared-interface "%s"' % name in lines[0] and expect in lines[0], lines[0]
    assert r.stdout == ""
    assert sorted(ns.link_names()) == before, "links changed"
    assert not [x for x in leftovers(ns) if "vmnets0a000001" not in x]
