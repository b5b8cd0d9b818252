# SPDX-License-Identifier: Apache-2.0
"""
--pcap: every frame between the VM and the helper, both ways, in a pcapng
file the invoking user owns, read back with real readers (tcpdump -r and
scapy). Frames the helper drops, answers or makes itself are marked with a
comment; the direction is in each packet's flags. A file that cannot be
made is one line before anything is set up; a full disk stops the capture,
never the VM's traffic; --pcap-size bounds a file, --pcap-files makes a ring.
"""

import os
import shutil
import stat
import struct

import pytest

import frames
from conftest import (RUN, assert_clean, last_stats, sh, sudo_env, unpriv_user,
                      wait_until)
from frames import ARP, ICMP, IP, Ether, raw
from scapy.layers.l2 import Dot1Q  # noqa: E402
from scapy.utils import rdpcap  # noqa: E402

USER = "vmnet-test-a"

pytestmark = pytest.mark.skipif(shutil.which("tcpdump") is None,
                                reason="tcpdump is not installed (scripts/install-deps.sh)")


def blocks(path):
    """The Enhanced Packet Blocks of a pcapng file, read with our own walker
    (the flags, which neither tcpdump nor scapy show): [(flags, comment, data)]."""
    out = []
    buf = open(path, "rb").read()
    off = 0
    while off + 12 <= len(buf):
        btype, blen = struct.unpack_from("<II", buf, off)
        assert blen >= 12 and blen % 4 == 0 and off + blen <= len(buf), "bad block at %d" % off
        if btype == 6:
            caplen = struct.unpack_from("<I", buf, off + 20)[0]
            data = buf[off + 28:off + 28 + caplen]
            o = off + 28 + ((caplen + 3) & ~3)
            flags, comment = 0, None
            while o < off + blen - 4:
                code, olen = struct.unpack_from("<HH", buf, o)
                if code == 0:
                    break
                val = buf[o + 4:o + 4 + olen]
                if code == 2:
                    flags = struct.unpack("<I", val)[0]
                elif code == 1:
                    comment = val.decode().rstrip("\n")
                o += 4 + ((olen + 3) & ~3)
            out.append((flags, comment, data))
        off += blen
    assert off == len(buf), "trailing bytes after the last whole block"
    return out


def tcpdump(path):
    """tcpdump -r: the lines it prints (one a frame); fails if it cannot read it."""
    r = sh(["tcpdump", "-r", str(path), "-nn", "-e"], check=False)
    assert r.returncode == 0, "tcpdump -r %s: %s" % (path, r.stderr)
    return [l for l in r.stdout.splitlines() if l.strip()]


def capture_helper(lab, path, extra=(), stream=False):
    d = lab.user_dir(USER)
    pcap = d / path
    h, vm = lab.helper(["--pcap", pcap, "--stats-interval", "1"] + list(extra),
                       env=sudo_env(USER), stream=stream)
    return h, vm, pcap


@pytest.mark.parametrize("stream", [False, True], ids=["dgram", "stream"])
def test_every_frame_both_ways_marked(lab, stream):
    h, vm, pcap = capture_helper(lab, "vm.pcapng", stream=stream)
    mac = h.info["vmnet_mac_address"]
    gw = h.gateway
    # DHCP: answered by the helper, its replies made by it.
    lease = frames.dhcp_lease(vm, mac)
    ip = lease["yiaddr"]
    # ARP and ping through the TAP, both ways.
    gw_mac = frames.arp_resolve(vm, mac, ip, gw)
    assert gw_mac
    vm.send(frames.icmp_echo(mac, gw_mac, ip, gw, ident=0x4242))
    assert vm.recv_until(frames.icmp_reply_for(gw, 0x4242), 3)
    # Dropped by the guards: the gateway's address as ARP sender, a VLAN tag.
    vm.send(raw(Ether(src=mac, dst=frames.BROADCAST) /
                ARP(op=2, hwsrc=mac, psrc=gw, pdst=gw)))
    vm.send(raw(Ether(src=mac, dst=gw_mac) / Dot1Q(vlan=0) / IP(src=ip, dst=gw) /
                ICMP(id=0x4343)))
    assert wait_until(lambda: (last_stats(h) or {"vm": {"drops": 0}})["vm"]["drops"] >= 2, 5)
    assert h.stop() == 0
    assert "captured into" in h.stderr(), h.stderr()

    st = os.stat(pcap)
    uid, gid = unpriv_user(USER)
    assert (st.st_uid, st.st_gid) == (uid, gid), "the capture is not the user's"
    assert stat.S_IMODE(st.st_mode) == 0o600

    lines = tcpdump(pcap)
    text = "\n".join(lines)
    assert "BOOTP/DHCP, Request" in text and "BOOTP/DHCP, Reply" in text, text
    assert "ICMP echo request" in text and "ICMP echo reply" in text, text
    assert "802.1Q" in text, text

    pkts = rdpcap(str(pcap))
    assert len(pkts) == len(lines)
    comments = [p.comment.decode() if p.comment else None for p in pkts]
    bl = blocks(pcap)
    assert [c for _, c, _ in bl] == comments
    # Every frame has a direction; from the VM inbound, to the VM outbound.
    for (flags, comment, data), p in zip(bl, pkts):
        assert flags & 3 in (1, 2), (flags, comment)
        assert bytes(p) == data
    inbound = [(c, Ether(d)) for f, c, d in bl if f & 3 == 1]
    outbound = [(c, Ether(d)) for f, c, d in bl if f & 3 == 2]
    assert any(c == "answered by the helper (DHCP)" for c, _ in inbound), comments
    assert any(c == "made by the helper: DHCP reply" for c, _ in outbound), comments
    # The VM's echo request passed unmarked, the host's reply came back.
    assert any(c is None and ICMP in e and e[ICMP].id == 0x4242 and e[ICMP].type == 8
               for c, e in inbound)
    assert any(c is None and ICMP in e and e[ICMP].id == 0x4242 and e[ICMP].type == 0
               for c, e in outbound)
    dropped = [e for c, e in inbound if c and c.startswith("dropped:")]
    assert any(ARP in e and e[ARP].psrc == gw for e in dropped), comments
    assert any(Dot1Q in e for e in dropped), comments
    # Shared mode: the router advertisements the helper makes.
    assert any(c == "made by the helper: router advertisement" for c, _ in outbound), comments
    assert_clean(lab.host)


def unusable_paths(lab, user):
    """--pcap paths user may not capture into, each with the reason its one
    line gives: ((path, why) pairs, the user's directory, root's directory
    the link points into)."""
    uid, gid = unpriv_user(user)
    d = lab.user_dir(user)
    root = lab.root_dir("rootdir")
    (d / "dir").mkdir()
    os.chown(d / "dir", uid, gid)
    os.symlink(root / "x.pcapng", d / "link.pcapng")
    os.mkfifo(d / "fifo")
    os.chown(d / "fifo", uid, gid)
    return [(root / "vm.pcapng", "Permission denied"),
            (d / "link.pcapng", "symbolic link"),
            (d / "dir", "Is a directory"),
            ("/dev/null", "not a regular file"),
            (d / "fifo", "No such device"),
            (d / "missing" / "vm.pcapng", "No such file")], d, root


def test_unusable_path_is_one_line_before_setup(lab):
    cases, _, root = unusable_paths(lab, USER)
    for path, why in cases:
        a, b = lab.socketpair()
        r = lab.run_helper(["--fd", b.fileno(), "--pcap", path], env=sudo_env(USER),
                           pass_fds=(b.fileno(),))
        err = [l for l in r.stderr.splitlines() if l.strip()]
        assert r.returncode != 0 and r.stdout == "", (path, r.stderr)
        assert len(err) == 1 and err[0].startswith("ERROR") and why in err[0], (path, err)
        assert lab.host.link_names() == ["lo"], "set up before refusing: %s" % path
    assert not (root / "x.pcapng").exists() and not os.listdir(root)
    assert_clean(lab.host)


def test_pcap_fd_from_a_sudo_user(lab):
    """--pcap-fd is vmnet-broker's, but a sudo user may pass it: the helper
    only checks the descriptors (regular files open for writing; one line,
    nothing set up, otherwise), never opens --pcap's path, and its datapath
    writes them as the user. It gives the user nothing they lacked."""
    uid, gid = unpriv_user(USER)
    d = lab.user_dir(USER)
    root = lab.root_dir("rootdir")
    # What the user could open themselves: a file in their own directory.
    mine = d / "mine.pcapng"
    fd = os.open(mine, os.O_WRONLY | os.O_CREAT, 0o600)
    os.fchown(fd, uid, gid)
    try:
        h, vm = lab.helper(["--pcap", root / "never.pcapng", "--pcap-fd", fd],
                           env=sudo_env(USER), extra_fds=(fd,))
        frames.dhcp_lease(vm, h.info["vmnet_mac_address"])
        assert h.stop() == 0
    finally:
        os.close(fd)
    assert "BOOTP/DHCP, Reply" in "\n".join(tcpdump(mine))
    assert not os.listdir(root), "--pcap's path was opened"
    r_pipe, w_pipe = os.pipe()
    ro = os.open("/etc/passwd", os.O_RDONLY)
    before = open("/etc/passwd", "rb").read()
    try:
        for bad, why in ((w_pipe, "is not a regular file"), (ro, "is not open for writing"),
                         (200, "is not open")):
            a, b = lab.socketpair()
            r = lab.run_helper(["--fd", b.fileno(), "--pcap", root / "never.pcapng",
                                "--pcap-fd", bad], env=sudo_env(USER),
                               pass_fds=(b.fileno(), w_pipe, ro))
            err = [l for l in r.stderr.splitlines() if l.strip()]
            assert r.returncode != 0 and r.stdout == "", r.stderr
            assert err == ["ERROR [main] invalid --pcap-fd %d: descriptor %d (--pcap file 1 of 1) "
                           "%s" % (bad, bad, why)], err
            assert lab.host.link_names() == ["lo"]
    finally:
        for f in (r_pipe, w_pipe, ro):
            os.close(f)
    assert open("/etc/passwd", "rb").read() == before
    assert not os.listdir(root)
    assert_clean(lab.host)


def fill(vm, h, mac, count, size=1400):
    """count ping requests of size bytes from the VM's lease to the gateway;
    returns the replies that came back."""
    ip, gw = h.info["lease_address"], h.gateway
    gw_mac = frames.arp_resolve(vm, mac, ip, gw)
    assert gw_mac
    got = 0
    for i in range(count):
        vm.send(frames.icmp_echo(mac, gw_mac, ip, gw, ident=0x5000, seq=i & 0xffff,
                                 payload=b"x" * (size - 42)))
        if i % 16 == 15:
            while vm.recv(0.05) is not None:
                got += 1
    while vm.recv(0.3) is not None:
        got += 1
    return got


def test_full_disk_stops_the_capture_not_the_traffic(lab):
    uid, gid = unpriv_user(USER)
    d = lab.user_dir(USER)
    small = d / "small"
    small.mkdir()
    sh(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700,uid=%d,gid=%d" % (uid, gid),
        "vmnet-test", str(small)])
    try:
        pcap = small / "vm.pcapng"
        h, vm = lab.helper(["--pcap", pcap, "--stats-interval", "1"], env=sudo_env(USER))
        mac = h.info["vmnet_mac_address"]
        got = fill(vm, h, mac, 200)
        assert got >= 150, "the VM's traffic suffered: %d replies of 200" % got
        assert h.wait_stderr(r"capture stopped: cannot write .*No space left", 5), h.stderr()
        # Still served after the capture stopped.
        assert fill(vm, h, mac, 20) >= 15
        assert h.alive()
        assert h.stop() == 0
        warns = [l for l in h.stderr_lines() if l.startswith("WARN")]
        assert len(warns) == 1, warns
        # What was written reads to the end: whole blocks only.
        n = len(tcpdump(pcap))
        assert n > 10 and len(blocks(pcap)) == n
        assert os.path.getsize(pcap) <= 64 * 1024
    finally:
        sh(["umount", str(small)], check=False)
    assert_clean(lab.host)


def test_size_bound_stops_a_single_file(lab):
    h, vm, pcap = capture_helper(lab, "vm.pcapng", ["--pcap-size", "1"])
    mac = h.info["vmnet_mac_address"]
    assert fill(vm, h, mac, 900) >= 650
    assert h.wait_stderr(r"reached --pcap-size", 5), h.stderr()
    assert fill(vm, h, mac, 20) >= 15, "traffic stopped with the capture"
    assert h.stop() == 0
    assert os.path.getsize(pcap) <= 1000000
    n = len(tcpdump(pcap))
    assert n > 500 and n == len(blocks(pcap))
    assert_clean(lab.host)


def test_ring_of_files(lab):
    h, vm, pcap = capture_helper(lab, "ring.pcapng", ["--pcap-size", "1", "--pcap-files", "3"])
    mac = h.info["vmnet_mac_address"]
    assert fill(vm, h, mac, 2400) >= 1000
    assert h.stop() == 0
    assert "went round" in h.stderr(), h.stderr()
    names = sorted(p.name for p in pcap.parent.iterdir())
    assert names == ["ring.pcapng0", "ring.pcapng1", "ring.pcapng2"], names
    uid, _ = unpriv_user(USER)
    counts = []
    for n in names:
        p = pcap.parent / n
        assert os.stat(p).st_uid == uid
        assert 0 < os.path.getsize(p) <= 1000000
        counts.append(len(tcpdump(p)))
        assert counts[-1] == len(blocks(p)) > 0
    # Two full files (about 690 frames each) and the one being written.
    assert sorted(counts)[1] > 500, counts
    assert_clean(lab.host)


def test_through_vmnet_run(lab, tmp_path):
    """vmnet-run passes --pcap to the helper; run by root, the file is root's."""
    pcap = tmp_path / "run.pcapng"
    r = lab.host.run([RUN, "--pcap", pcap, "--", "sh", "-c", "sleep 1"], check=False,
                     timeout=30)
    assert r.returncode == 0, r.stderr
    assert os.stat(pcap).st_uid == 0
    tcpdump(pcap)   # a valid capture (router advertisements at least)
    assert_clean(lab.host)


def test_invalid_options(lab):
    a, b = lab.socketpair()
    for args, why in [(["--pcap-size", "1"], "--pcap-size requires --pcap"),
                      (["--pcap", "/tmp/x", "--pcap-files", "3"], "requires --pcap-size"),
                      (["--pcap", "/tmp/x", "--pcap-size", "0"], "invalid --pcap-size"),
                      (["--pcap", ""], "empty path")]:
        r = lab.run_helper(["--fd", b.fileno()] + args, pass_fds=(b.fileno(),))
        assert r.returncode != 0 and why in r.stderr, (args, r.stderr)
