# SPDX-License-Identifier: Apache-2.0
"""Stream sockets (--socket PATH --socket-type stream, or a SOCK_STREAM --fd):
each frame behind its length as a 4-byte big-endian integer, as QEMU's
-netdev stream, libkrun's unixstream backend and socket_vmnet use it, with the
datagram path's guarantees: bounded memory, a partial or oversized length is a
clear drop or a disconnect (never a stall), no head-of-line blocking of the
other direction, one client only, the client closing stops the helper, files
removed at exit, offloading (frames up to 65550 bytes)."""

import errno
import os
import re
import signal
import socket
import stat
import struct
import subprocess
import textwrap
import time

import pytest

import frames
from conftest import (RUN, VMSIM, StreamVM, as_user, assert_clean, read_line, sh, sudo_env,
                      unpriv_user, wait_until)
from test_datapath import bulk_transfer, stats_lines
from test_scale import reaches_gateway

OFFLOAD = ["--enable-tso", "--enable-checksum-offload"]


def start_socket(lab, extra=()):
    path = lab.tmp / "vmnet.sock"
    h, vm = lab.helper(["--socket", path, "--socket-type", "stream"] + list(extra))
    assert vm is None
    assert wait_until(path.exists, 5), "socket %s not created" % path
    return h, path


def connect(lab, path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lab.socks.append(s)
    s.connect(str(path))
    return StreamVM(s)


def final_stats(h):
    assert h.wait() == 0, h.stderr()
    lines = stats_lines(h)
    assert lines, "no stats line:\n%s" % h.stderr()
    return lines[-1]


def stopped_by_itself(h, timeout=10):
    try:
        return h.proc.wait(timeout)
    except subprocess.TimeoutExpired:
        raise AssertionError("helper still running %d s after its VM's stream ended:\n%s"
                             % (timeout, h.stderr()))


# --- the ways in --------------------------------------------------------------

def test_fd_stream_detected(lab):
    """--fd of a SOCK_STREAM socket: found by SO_TYPE, served framed."""
    h, vm = lab.helper([], stream=True)
    assert isinstance(vm, StreamVM)
    reaches_gateway(h, vm)
    assert h.alive()


def test_fd_socket_type_must_match(lab):
    """--socket-type with --fd states what the socket must be."""
    for stream, want in ((False, "stream"), (True, "dgram")):
        _, b = lab.socketpair(stream=stream)
        r = lab.run_helper(["--fd", b.fileno(), "--socket-type", want], pass_fds=(b.fileno(),))
        lines = r.stderr.splitlines()
        assert r.returncode != 0 and r.stdout == "" and len(lines) == 1, r.stderr
        assert "not --socket-type %s" % want in lines[0], lines
    _, b = lab.socketpair(stream=True)
    r = lab.run_helper(["--fd", b.fileno(), "--socket-type", "bogus"], pass_fds=(b.fileno(),))
    assert r.returncode != 0 and len(r.stderr.splitlines()) == 1 and \
        "expected dgram, stream or vhost-user" in r.stderr, r.stderr
    assert_clean(lab.host)


def test_socket_stream_served(lab):
    h, path = start_socket(lab)
    st = os.stat(path)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) & 0o077 == 0, "socket mode %o open to others" % st.st_mode
    vm = connect(lab, path)
    reaches_gateway(h, vm)
    assert re.search(r'serving client on ".*vmnet.sock" \(stream\)', h.stderr())


def test_socket_stream_as_the_user(lab):
    """Through sudo: the stream socket and its lock are the invoking user's,
    0600, in their directory; the user's own client is served; the files go
    with the VM."""
    uid, gid = unpriv_user("vmnet-test-a")
    path = lab.user_dir("vmnet-test-a") / "vmnet.sock"
    h, _ = lab.helper(["--socket", path, "--socket-type", "stream"],
                      env=sudo_env("vmnet-test-a"))
    assert wait_until(path.exists, 5)
    for p in (path, path.with_name("vmnet.sock.lock")):
        st = os.stat(p)
        assert (st.st_uid, st.st_gid) == (uid, gid) and stat.S_IMODE(st.st_mode) == 0o600, \
            "%s: %d:%d mode %o" % (p, st.st_uid, st.st_gid, st.st_mode)
    # The user's client, as the user: the framing round trip through the
    # helper's DHCP server.
    client = (
        "import socket, struct, sys\n"
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM); s.connect(sys.argv[1])\n"
        "f = bytes.fromhex(sys.argv[2]); s.sendall(struct.pack('!I', len(f)) + f)\n"
        "s.settimeout(5); b = b''\n"
        "while True:\n"
        "    b += s.recv(65536)\n"
        "    while len(b) >= 4 and len(b) >= 4 + struct.unpack('!I', b[:4])[0]:\n"
        "        n = struct.unpack('!I', b[:4])[0]; fr, b = b[4:4 + n], b[4 + n:]\n"
        "        if fr[12:14] == b'\\x08\\x00' and fr[23] == 17 and fr[36:38] == b'\\x00\\x44':\n"
        "            sys.exit(0)\n")
    discover = frames.dhcp_message(h.info["vmnet_mac_address"], 0x77, 1)
    r = sh(as_user("vmnet-test-a", ["/usr/bin/python3", "-c", client, path,
                                    bytes(discover).hex()]), check=False)
    assert r.returncode == 0, "the user's client got no DHCP answer: %s\n%s" % (r.stderr,
                                                                               h.stderr())
    assert stopped_by_itself(h) == 0
    assert not path.exists() and not os.path.exists(str(path) + ".lock")
    assert_clean(lab.host)


def test_socket_stream_real_guest(lab):
    """A real guest stack (vmsim --stream, QEMU's framing) on --socket: DHCP
    lease, gateway ping."""
    h, path = start_socket(lab)
    g = lab.guest_socket(str(path), stream=True, mac=h.info["vmnet_mac_address"])
    g.configure(h.info["lease_address"], h.prefixlen, h.gateway)
    assert g.ping(h.gateway, count=3), h.stderr()


def test_vmnet_run_socket_type_stream(lab):
    """vmnet-run --socket-type stream: COMMAND gets a stream socket as fd 4,
    the helper frames by itself."""
    guest = lab.netns("guest")
    inner = ("%s --fd 4 --tap eth0 --quiet >/dev/null & pid=$!; "
             "i=0; while ! ip link show eth0 >/dev/null 2>&1; do i=$((i+1)); "
             "[ $i -gt 100 ] && exit 90; sleep 0.05; done; "
             "ip addr add 192.168.105.200/24 dev eth0; "
             "ping -n -c 2 -W 2 192.168.105.1 >/dev/null || exit 92; "
             "kill $pid; wait $pid; exit 0") % VMSIM
    # .200 is a static address outside the DHCP pool (.2-.100): inside it, a
    # VM may only use its own lease.
    r = sh(lab.host.cmd([RUN, "--socket-type", "stream", "--start-address", "192.168.105.1",
                         "--end-address", "192.168.105.100", "--subnet-mask", "255.255.255.0",
                         "--", "ip", "netns", "exec", guest.name, "sh", "-c", inner]),
           check=False, timeout=40)
    assert r.returncode == 0, "exit %d (90: no TAP, 92: no ping)\n%s" % (r.returncode,
                                                                      r.stderr)
    assert_clean(lab.host)


# --- one client, its end stops the helper, files go ------------------------------

def test_second_client_refused(lab):
    h, path = start_socket(lab)
    vm1 = connect(lab, path)
    reaches_gateway(h, vm1)
    s2 = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lab.socks.append(s2)
    with pytest.raises(OSError) as e:
        s2.connect(str(path))
    assert e.value.errno == errno.ECONNREFUSED, e.value
    assert h.alive()
    vm1.drain()
    reaches_gateway(h, vm1)


def test_client_eof_stops_helper_and_files_go(lab):
    h, path = start_socket(lab)
    vm = connect(lab, path)
    reaches_gateway(h, vm)
    vm.close()
    assert stopped_by_itself(h) == 0
    assert not path.exists(), "socket left behind"
    assert not (lab.tmp / "vmnet.sock.lock").exists(), "lock file left behind"
    assert_clean(lab.host)


def test_fd_eof_stops_helper(lab):
    h, vm = lab.helper([], stream=True)
    reaches_gateway(h, vm)
    vm.sock.shutdown(socket.SHUT_WR)
    assert stopped_by_itself(h) == 0
    assert_clean(lab.host)


def test_stop_before_client_and_after_sigkill(lab):
    h, path = start_socket(lab)
    assert h.stop(signal.SIGTERM) == 0
    assert not path.exists() and not (lab.tmp / "vmnet.sock.lock").exists()
    h, path = start_socket(lab)
    vm = connect(lab, path)
    reaches_gateway(h, vm)
    h.send_signal(signal.SIGKILL)
    h.wait()
    assert wait_until(lambda: not path.exists(), 5), "socket left behind after SIGKILL"
    assert wait_until(lambda: not (lab.tmp / "vmnet.sock.lock").exists(), 5)
    assert_clean(lab.host, timeout=5)


# --- framing: split, partial, oversized ------------------------------------------

def test_frames_split_anywhere(lab):
    """A frame written a byte at a time, and frames sharing one write, are
    all served: the stream is just bytes."""
    h, vm = lab.helper([], stream=True)
    mac, ip, gw = h.info["vmnet_mac_address"], h.info["lease_address"], h.gateway
    frame = bytes(frames.arp_request(mac, ip, gw))
    data = struct.pack("!I", len(frame)) + frame
    for b in data:
        vm.send_raw(bytes([b]))
        time.sleep(0.001)
    assert vm.recv_until(frames.arp_reply_for(gw), 3), "byte-by-byte frame not served"
    vm.send_raw(data * 3)
    replies = [vm.recv_until(frames.arp_reply_for(gw), 3) for _ in range(3)]
    assert all(replies), "frames sharing one write were not all served"


def test_partial_length_at_eof_dropped(lab):
    """The VM closes in the middle of a length: the bytes are dropped and
    counted, the helper stops cleanly."""
    h, vm = lab.helper(["--stats-interval", "60"], stream=True)
    reaches_gateway(h, vm)
    vm.send_raw(b"\x00\x00")
    vm.sock.shutdown(socket.SHUT_WR)
    assert stopped_by_itself(h) == 0
    st = stats_lines(h)[-1]
    assert st["vm"]["drops"] == 1, st
    assert "in the middle of a frame (2 bytes dropped)" in h.stderr(), h.stderr()
    assert_clean(lab.host)


def test_partial_frame_waits_without_stalling(lab):
    """Half a frame, then nothing: the helper keeps serving the other
    direction, and the frame completes when the rest comes."""
    h, vm = lab.helper([], stream=True)
    mac, ip, gw = h.info["vmnet_mac_address"], h.info["lease_address"], h.gateway
    frame = bytes(frames.arp_request(mac, ip, gw))
    data = struct.pack("!I", len(frame)) + frame
    vm.send_raw(data[:10])
    # TAP -> VM still flows meanwhile: the host pings the VM's address
    # (a static neighbour entry, the VM cannot answer ARP mid-frame).
    lab.host.run(["ip", "neigh", "replace", ip, "lladdr", mac, "dev", h.bridge])
    lab.host.run(["ping", "-c", "3", "-i", "0.2", "-W", "1", ip], check=False)
    assert vm.recv_until(lambda f: frames.parse(f).haslayer("ICMP"), 3), \
        "nothing reached the VM while its own frame was incomplete"
    vm.send_raw(data[10:])
    assert vm.recv_until(frames.arp_reply_for(gw), 3), "the completed frame was not served"
    assert h.alive()


def test_oversized_frame_dropped_and_counted(lab):
    """A length over vmnet_max_packet_size (but one a VM could send, up to
    65550): that frame is skipped, dropped and counted; the next is served."""
    h, vm = lab.helper(["--stats-interval", "60"], stream=True)
    mac, ip, gw = h.info["vmnet_mac_address"], h.info["lease_address"], h.gateway
    big = bytes(frames.arp_request(mac, ip, gw)) + b"\0" * 9000
    vm.send(big)
    vm.send(frames.arp_request(mac, ip, gw))
    assert vm.recv_until(frames.arp_reply_for(gw), 3), "the frame after an oversized one was lost"
    vm.close()
    assert stopped_by_itself(h) == 0
    assert stats_lines(h)[-1]["vm"]["drops"] == 1, stats_lines(h)[-1]


@pytest.mark.parametrize("length", [65551, 0x7fffffff, 0xffffffff])
def test_impossible_length_disconnects(lab, length):
    """A length no frame can have: the stream cannot be followed, so the
    helper says so in one line, closes it and stops, leaving nothing behind."""
    h, path = start_socket(lab)
    vm = connect(lab, path)
    reaches_gateway(h, vm)
    vm.send_raw(struct.pack("!I", length) + b"x" * 100)
    assert stopped_by_itself(h) == 0
    warn = [l for l in h.stderr_lines() if "frame length of %d bytes" % length in l]
    assert len(warn) == 1 and "closing its stream" in warn[0], h.stderr()
    assert not path.exists()
    assert_clean(lab.host)


# --- no head-of-line blocking, bounded memory ---------------------------------------

UDP_SINK = textwrap.dedent("""
    import socket, sys
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, 33, 8 << 20)
    s.bind((sys.argv[1], 9998)); s.settimeout(20)
    print("ready", flush=True)
    n = 0
    try:
        while n < int(sys.argv[2]):
            s.recv(2048); n += 1
    except socket.timeout:
        pass
    print(n, flush=True)
""")

FLOOD = textwrap.dedent("""
    import socket, sys, time
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    end = time.monotonic() + float(sys.argv[2])
    n = 0
    while time.monotonic() < end:
        s.sendto(b"x" * 1400, (sys.argv[1], 9)); n += 1
    print(n, flush=True)
""")


def rss_kib(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmRSS:\s+(\d+)", f.read()).group(1))


def test_vm_that_stops_reading_does_not_stall_the_other_direction(lab):
    """The VM never reads its stream while the host floods it: frames toward
    it are dropped and counted, the helper's memory stays bounded, and every
    frame the VM sends still reaches the host."""
    count = 2000
    h, vm = lab.helper(["--stats-interval", "60"], stream=True)
    mac, ip, gw = h.info["vmnet_mac_address"], h.info["lease_address"], h.gateway
    gw_mac = lab.host.ip_json("link", "show", h.bridge)[0]["address"]
    lab.host.run(["ip", "neigh", "replace", ip, "lladdr", mac, "dev", h.bridge])
    sink = lab.host.popen(["/usr/bin/python3", "-c", UDP_SINK, gw, str(count)],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lab.procs.append(sink)
    assert read_line(sink.stdout.fileno(), 10).strip() == b"ready"
    # The flood fills the VM's socket (which nobody reads) and keeps coming.
    flood = lab.host.popen(["/usr/bin/python3", "-c", FLOOD, ip, "6"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lab.procs.append(flood)
    time.sleep(1)
    rss_before = rss_kib(h.pid)
    vm.sock.settimeout(15)
    try:
        for i in range(count):
            if i == count // 2:
                # A frame the helper answers itself: its reply cannot be
                # delivered either, and must not hold up what follows.
                vm.send(frames.dhcp_message(mac, 0x4242, 1))
            vm.send(frames.udp_frame(mac, gw_mac, ip, gw, 40000, 9998, struct.pack("!I", i)))
    except socket.timeout:
        raise AssertionError("the helper stopped reading what the VM sends (frame %d)" % i)
    out = read_line(sink.stdout.fileno(), 30).strip()
    flooded = int(read_line(flood.stdout.fileno(), 30).strip() or 0)
    assert out == str(count).encode(), "the host got %s of %d frames the VM sent while " \
        "its own receive side was stuck" % (out, count)
    rss_after = rss_kib(h.pid)
    assert h.alive()
    h.send_signal(signal.SIGTERM)
    st = final_stats(h)
    print("flood %d frames, stats %s, rss %d -> %d KiB" % (flooded, st, rss_before, rss_after))
    assert st["host"]["drops"] > 0, "the flood should not fit in the VM's socket: %s" % st
    assert st["vm"]["packets"] >= count
    assert rss_after - rss_before < 16 << 10, "memory grew %d KiB" % (rss_after - rss_before)


# --- offloading ----------------------------------------------------------------------

@pytest.mark.parametrize("direction", ["vm-to-host", "host-to-vm"])
def test_offload_large_frames_over_stream(lab, direction):
    """--enable-tso --enable-checksum-offload over a stream: 64 MiB of TCP in
    frames of up to 64 KiB (vmsim --offload --stream), intact."""
    size = 64 << 20
    h, path = start_socket(lab, OFFLOAD + ["--stats-interval", "60"])
    assert h.info["vmnet_max_packet_size"] == 65550
    g = lab.guest_socket(str(path), stream=True, offload=True,
                         mac=h.info["vmnet_mac_address"])
    g.configure(h.info["lease_address"], h.prefixlen, h.gateway)
    bulk_transfer(lab, lab.host, h.gateway, g, direction == "vm-to-host", size, timeout=90)
    h.send_signal(signal.SIGTERM)
    st = final_stats(h)
    side = "vm" if direction == "vm-to-host" else "host"
    ratio = st[side]["bytes"] / max(1, st[side]["packets"])
    print("%s: stats %s, %d bytes/frame" % (direction, st, ratio))
    assert st[side]["bytes"] >= size
    assert ratio > 4 * 1514, "frames not carried whole: %s" % st
    assert st["vm"]["drops"] == 0, st
