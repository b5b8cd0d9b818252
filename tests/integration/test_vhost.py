# SPDX-License-Identifier: Apache-2.0
"""--socket-type vhost-user, with bench/vhostsim playing QEMU's vhost-user
frontend and the guest's virtio-net driver (a TAP in a guest namespace, the
rings in a shared memfd, kicks and calls through eventfds): traffic both ways
with and without offloads, the guards on frames in guest memory, one client,
the helper stopping with its VM, and a hostile guest or frontend (descriptors
outside its memory, a looping chain, a memory table larger than its file, a
frame rewritten while the helper reads it). The real-QEMU tests are in
tests/vm/test_qemu.py."""

import errno
import ipaddress
import os
import socket

import pytest

from conftest import RUN, VHOSTSIM, assert_clean, last_stats, sh, vm_drops, wait_until
from test_datapath import bulk_transfer


def start(lab, extra=()):
    path = lab.tmp / "vhost.sock"
    h, vm = lab.helper(["--socket", path, "--socket-type", "vhost-user", "--stats-interval", "1"]
                       + list(extra))
    assert vm is None and h.info["socket_type"] == "vhost-user", h.info
    assert wait_until(path.exists, 5), "socket %s not created" % path
    return h, path


def guest(lab, h, path, **kw):
    g = lab.guest_vhost(path, mac=h.info["vmnet_mac_address"], **kw)
    g.configure(h.info["lease_address"], h.prefixlen, h.gateway)
    return g


def other_vm(lab):
    """A second helper on the same network, and its VM's lease: an address
    of the pool this VM may not send from (a free one it may take, set by
    hand, as a static address in the pool)."""
    h2, _vm = lab.helper()
    return h2, h2.info["lease_address"]


def stopped_clean(lab, h, path):
    assert h.stop() == 0, h.stderr()
    assert not path.exists() and not path.with_name(path.name + ".lock").exists()
    assert_clean(lab.host)


@pytest.mark.parametrize("plain", [False, True], ids=["offloads", "plain"])
def test_traffic_both_ways(lab, plain):
    """Ping and 16 MiB of TCP each way, every byte checked; with offloads
    the frames are TCP super-frames both ways (the TAP takes the guest's
    virtio-net header), without them never longer than the MTU's."""
    h, path = start(lab)
    g = guest(lab, h, path, plain=plain)
    assert g.ping(h.gateway, count=3), h.stderr()
    for vm_sends in (True, False):
        bulk_transfer(lab, lab.host, h.gateway, g, vm_sends, 16 << 20)
    state = "off" if plain else "on"
    assert "offloads: checksum %s/%s, TSO %s/%s" % ((state,) * 4) in h.stderr(), h.stderr()
    # Both transfers counted (a stats line a second).
    assert wait_until(lambda: all((last_stats(h) or {}).get(side, {}).get("bytes", 0) > 16 << 20
                                  for side in ("vm", "host")), 5), h.stderr()
    st = last_stats(h)
    assert st["vm"]["drops"] == 0 and st["host"]["drops"] == 0, st
    for side in ("vm", "host"):
        average = st[side]["bytes"] / st[side]["packets"]
        assert (average > 1514) != plain, (side, st)
    stopped_clean(lab, h, path)


def test_pcap_both_ways(lab):
    """--pcap with vhost-user: the frames from the guest's transmit queue
    (inbound) and into its receive queue (outbound), without their
    virtio-net headers, TCP super-frames captured whole both ways; the
    counters' fast calls are passes over each queue."""
    from test_pcap import blocks
    pcap = lab.tmp / "vhost.pcapng"
    h, path = start(lab, ["--pcap", pcap])
    g = guest(lab, h, path)
    assert g.ping(h.gateway, count=3), h.stderr()
    for vm_sends in (True, False):
        bulk_transfer(lab, lab.host, h.gateway, g, vm_sends, 4 << 20)
    assert wait_until(lambda: all((last_stats(h) or {}).get(side, {}).get("fast", 0) > 0
                                  for side in ("vm", "host")), 5), h.stderr()
    stopped_clean(lab, h, path)
    b = blocks(pcap)
    lease, gw = (socket.inet_aton(a) for a in (h.info["lease_address"], h.gateway))

    def icmp(data, src, dst, kind):
        return (len(data) > 34 and data[12:14] == b"\x08\x00" and data[23] == 1 and
                data[26:30] == src and data[30:34] == dst and data[34] == kind)
    assert sum(1 for f, c, d in b if f & 3 == 1 and c is None and icmp(d, lease, gw, 8)) >= 3
    assert sum(1 for f, c, d in b if f & 3 == 2 and c is None and icmp(d, gw, lease, 0)) >= 3
    for direction in (1, 2):
        big = [d for f, c, d in b if f & 3 == direction and c is None and len(d) > 2048 and
               d[12:14] == b"\x08\x00"]
        assert big, "no super-frame captured in direction %d" % direction
        # whole: the IPv4 total length is what the capture holds
        assert all(int.from_bytes(d[16:18], "big") == len(d) - 14 for d in big)
    assert "captured into" in h.stderr(), h.stderr()


def test_vm_gone_stops_helper(lab):
    """The frontend closing its connection (QEMU gone) stops the helper,
    which removes its files and its network."""
    h, path = start(lab)
    g = guest(lab, h, path)
    assert g.ping(h.gateway), h.stderr()
    g.proc.kill()
    assert h.wait() == 0, h.stderr()
    assert "the VM closed its vhost-user connection" in h.stderr()
    assert not path.exists()
    assert_clean(lab.host)


def test_second_frontend_refused(lab):
    """One frontend: once it is served the listener is gone."""
    h, path = start(lab)
    g = guest(lab, h, path)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    with pytest.raises(OSError) as e:
        s.connect(str(path))
    assert e.value.errno in (errno.ECONNREFUSED, errno.ENOENT), e.value
    s.close()
    assert g.ping(h.gateway), h.stderr()
    stopped_clean(lab, h, path)


def test_guards_on_guest_memory(lab):
    """The guards hold for frames in guest memory: another VM's address as
    source (the pool is leased address by address) is dropped and counted,
    the host learns nothing of it; the VM's own address works."""
    h, path = start(lab)
    g = guest(lab, h, path)
    h2, other = other_vm(lab)
    g.run(["ip", "addr", "add", "%s/32" % other, "dev", g.tap])
    assert not g.run(["ping", "-n", "-c", "3", "-i", "0.2", "-W", "1", "-I", other, h.gateway],
                     check=False).returncode == 0, "a spoofed source reached the gateway"
    assert wait_until(lambda: vm_drops(h) > 0, 5), h.stderr()
    neigh = lab.host.run(["ip", "neigh", "show", other]).stdout
    assert "lladdr" not in neigh, "the host learned %s: %s" % (other, neigh)
    assert g.ping(h.gateway), h.stderr()
    assert h2.stop() == 0, h2.stderr()
    stopped_clean(lab, h, path)


@pytest.mark.parametrize("evil", ["bad-desc", "loop"])
def test_hostile_descriptors(lab, evil):
    """Descriptors pointing past the guest's memory (every 8th frame) or a
    chain that loops: those frames are dropped and counted, the helper lives
    on and serves the rest."""
    h, path = start(lab)
    g = guest(lab, h, path, evil=evil)
    r = g.run(["ping", "-n", "-c", "16", "-i", "0.1", "-W", "1", h.gateway], check=False)
    assert " 0 received" not in r.stdout, r.stdout + h.stderr()
    assert wait_until(lambda: vm_drops(h) > 0, 5), h.stderr()
    assert h.alive(), h.stderr()
    # (Every 8th frame is lost: one ping of three gets through whatever the count.)
    assert g.ping(h.gateway, count=3), h.stderr()
    stopped_clean(lab, h, path)


def test_memory_table_larger_than_its_file(lab):
    """A region larger than the file behind it (touching its end would kill
    the helper): refused, and the frontend's next, right table is served."""
    h, path = start(lab)
    g = guest(lab, h, path, evil="big-region")
    assert "REFUSED big-region" in g.before, g.before
    assert "SET_MEM_TABLE: a region its descriptor cannot map" in h.stderr(), h.stderr()
    assert g.ping(h.gateway), h.stderr()
    stopped_clean(lab, h, path)


def test_frame_rewritten_while_judged(lab):
    """The guest rewrites the IPv4 source of its frames, in its memory, all
    the time (its own address and another VM's) while the helper reads them:
    the frame judged is the frame written, so not one frame with the other
    VM's source reaches the bridge, while frames with its own do."""
    h, path = start(lab)
    h2, other = other_vm(lab)
    lab.host.run(["nft", "-f", "-"], input=(
        "table bridge vhost_test {\n chain pre {\n type filter hook prerouting priority -300\n"
        " ip saddr %s counter\n ip saddr %s counter\n }\n}\n" % (other, h.info["lease_address"])))
    g = guest(lab, h, path, evil="flip:%s:%s" % (h.info["lease_address"], other))
    g.run(["ping", "-n", "-f", "-c", "3000", "-W", "1", h.gateway], check=False, timeout=60)
    rules = lab.host.run(["nft", "list", "chain", "bridge", "vhost_test", "pre"]).stdout
    counts = {}
    for line in rules.splitlines():
        words = line.split()
        if "saddr" in words and "packets" in words:
            counts[words[words.index("saddr") + 1]] = int(words[words.index("packets") + 1])
    assert counts.get(other) == 0, "frames from %s reached the bridge: %s" % (other, rules)
    assert counts.get(h.info["lease_address"], 0) > 0, rules
    assert wait_until(lambda: vm_drops(h) > 0, 5), h.stderr()
    lab.host.run(["nft", "delete", "table", "bridge", "vhost_test"])
    assert h2.stop() == 0, h2.stderr()
    stopped_clean(lab, h, path)


def test_vmnet_run_vhost_user(lab, tmp_path):
    """vmnet-run --socket-type vhost-user: COMMAND gets the socket's path in
    place of {socket} (inside an argument too) and as $VMNET_SOCKET, in a
    directory of its own, mode 0700, under $XDG_RUNTIME_DIR; vhostsim
    connects there and reaches the gateway; the directory is gone after."""
    guest = lab.netns("guest")
    inner = ('test -S "$1" && test "$2" = "path=$1" && test "$1" = "$VMNET_SOCKET" || exit 91; '
             'd=$(dirname "$1"); test "$(stat -c %%a "$d")" = 700 || exit 93; '
             'ip netns exec %s %s --tap eth0 --socket "$1" >/dev/null & pid=$!; '
             'i=0; while ! ip -n %s link show eth0 >/dev/null 2>&1; do i=$((i+1)); '
             '[ $i -gt 100 ] && exit 90; sleep 0.05; done; '
             'ip -n %s addr add 192.168.105.200/24 dev eth0; '
             'ip netns exec %s ping -n -c 2 -W 2 192.168.105.1 >/dev/null || exit 92; '
             'kill $pid; wait $pid; exit 0') % (guest.name, VHOSTSIM, guest.name, guest.name,
                                                 guest.name)
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path))
    r = sh(lab.host.cmd([RUN, "--socket-type", "vhost-user", "--start-address", "192.168.105.1",
                         "--end-address", "192.168.105.100", "--subnet-mask", "255.255.255.0",
                         "--", "sh", "-c", inner, "sh", "{socket}", "path={socket}"]),
           check=False, timeout=40, env=env)
    assert r.returncode == 0, "exit %d (90: no TAP, 91: no path, 92: no ping, 93: mode)\n%s" % (
        r.returncode, r.stderr)
    assert list(tmp_path.iterdir()) == [], "left behind: %s" % list(tmp_path.iterdir())
    assert_clean(lab.host)
