# SPDX-License-Identifier: Apache-2.0
"""Frames through the helper: gateway, NAT, VM to VM, filtering, bad frames, stats."""

import datetime
import ipaddress
import json
import re
import signal
import socket
import subprocess
import textwrap
import time

import pytest

import frames
from conftest import (REMOTE_ADDR, REMOTE_HOST_ADDR, STATS_RE, assert_clean, read_line,
                      wait_until)



def start_guest(lab, args=(), **kw):
    h, vm = lab.helper(list(args))
    g = lab.guest(vm, mac=h.info["vmnet_mac_address"], **kw)
    g.configure(h.info["lease_address"], h.prefixlen, h.gateway)
    return h, g


@pytest.mark.parametrize("mode", ["shared", "host"])
def test_ping_gateway(lab, mode):
    h, g = start_guest(lab, ["--operation-mode", mode])
    assert g.ping(h.gateway, count=3), "guest cannot ping gateway %s" % h.gateway
    # Full size frames (1514 bytes) pass both ways, unfragmented.
    r = g.run(["ping", "-n", "-c", "2", "-i", "0.2", "-W", "2", "-M", "do", "-s", "1472",
               h.gateway], check=False)
    assert r.returncode == 0, "full size ping failed:\n%s%s" % (r.stdout, r.stderr)
    # The guest learnt the gateway's MAC by ARP: it is the bridge's.
    neigh = g.ns.ip_json("neigh", "show", h.gateway, "dev", "eth0")
    bridge_mac = [l["address"] for l in lab.host.links() if l["ifname"] == h.bridge][0]
    assert neigh and neigh[0].get("lladdr") == bridge_mac, (neigh, bridge_mac)
    # And the host side can reach the VM.
    r = lab.host.run(["ping", "-n", "-c", "1", "-W", "2", h.info["lease_address"]],
                     check=False)
    assert r.returncode == 0, "host cannot ping the VM:\n%s" % r.stdout


@pytest.mark.parametrize("mode", ["shared", "host"])
def test_raw_arp_gateway(lab, mode):
    h, vm = lab.helper(["--operation-mode", mode])
    mac = h.info["vmnet_mac_address"]
    hw = frames.arp_resolve(vm, mac, h.info["lease_address"], h.gateway)
    assert hw is not None, "no ARP reply from gateway"
    bridge_mac = [l["address"] for l in lab.host.links() if l["ifname"] == h.bridge][0]
    assert hw == bridge_mac
    # ICMP echo to the gateway, raw.
    vm.send(frames.icmp_echo(mac, hw, h.info["lease_address"], h.gateway))
    assert vm.recv_until(frames.icmp_reply_for(h.gateway), 3), "no echo reply from gateway"


TCP_SERVER = textwrap.dedent("""
    import socket, sys
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", 8080)); s.listen(1); s.settimeout(20)
    print("ready", flush=True)
    c, peer = s.accept()
    c.sendall(("peer=%s\\n" % peer[0]).encode()); c.close()
    print(peer[0], flush=True)
""")

TCP_CLIENT = textwrap.dedent("""
    import socket, sys
    c = socket.create_connection((sys.argv[1], 8080), timeout=5)
    print(c.recv(100).decode().strip())
""")


def test_shared_nat_to_remote(lab):
    remote = lab.remote()
    h, g = start_guest(lab, ["--operation-mode", "shared"])
    # remote has no route back to the VM subnet: replies only come through NAT.
    routes = remote.run(["ip", "route", "get", h.info["lease_address"]], check=False)
    assert routes.returncode != 0 or "via" not in routes.stdout
    assert g.ping(h.gateway), "no ping to gateway"
    assert g.ping(REMOTE_ADDR, count=3), "no ping through NAT to the remote namespace"
    # TCP through NAT: the remote sees the host's uplink address.
    srv = remote.popen(["/usr/bin/python3", "-c", TCP_SERVER], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
    lab.procs.append(srv)
    assert read_line(srv.stdout.fileno(), 10).strip() == b"ready"
    r = g.run(["/usr/bin/python3", "-c", TCP_CLIENT, REMOTE_ADDR], check=False, timeout=20)
    assert r.returncode == 0, "TCP through NAT failed: %s" % r.stderr
    assert r.stdout.strip() == "peer=%s" % REMOTE_HOST_ADDR, r.stdout
    srv.wait(10)


@pytest.mark.parametrize("forwarding", ["0", "1"])
def test_host_mode_no_route_to_remote(lab, forwarding):
    remote = lab.remote()
    lab.host.set_sysctl("net.ipv4.ip_forward", forwarding)
    h, g = start_guest(lab, ["--operation-mode", "host"])
    # Give the remote a route back, so only the helper's isolation can stop it.
    subnet = str(ipaddress.IPv4Network("%s/%d" % (h.gateway, h.prefixlen), strict=False))
    remote.run(["ip", "route", "add", subnet, "via", REMOTE_HOST_ADDR])
    assert g.ping(h.gateway), "no ping to gateway"
    assert not g.ping(REMOTE_ADDR, count=2, timeout=1), \
        "host mode VM reached the remote namespace"
    r = remote.run(["ping", "-n", "-c", "2", "-i", "0.2", "-W", "1",
                    h.info["lease_address"]], check=False)
    assert r.returncode != 0, "remote namespace reached a host mode VM"
    assert h.stop() == 0
    assert_clean(lab.host, ip_forward=forwarding)


@pytest.mark.parametrize("mode", ["shared", "host"])
def test_two_vms_reach_each_other(lab, mode):
    h1, g1 = start_guest(lab, ["--operation-mode", mode])
    h2, g2 = start_guest(lab, ["--operation-mode", mode])
    assert h1.bridge == h2.bridge
    assert h1.info["lease_address"] != h2.info["lease_address"]
    assert g1.ping(h2.info["lease_address"], count=3), "VM1 cannot reach VM2"
    assert g2.ping(h1.info["lease_address"], count=3), "VM2 cannot reach VM1"
    # The first one out leaves the network to the second.
    assert h1.stop() == 0
    assert h1.bridge in lab.host.link_names(), "bridge removed while still in use"
    assert g2.ping(h2.gateway), "VM2 lost the gateway when VM1 left"
    assert h2.stop() == 0
    assert_clean(lab.host)


def test_shared_and_host_networks_side_by_side(lab):
    hs, gs = start_guest(lab, ["--operation-mode", "shared"])
    hh, gh = start_guest(lab, ["--operation-mode", "host"])
    assert hs.bridge != hh.bridge
    assert gs.ping(hs.gateway) and gh.ping(hh.gateway)


SNIFF = textwrap.dedent("""
    import socket, sys, time, select
    dev, seconds, marker = sys.argv[1], float(sys.argv[2]), bytes.fromhex(sys.argv[3])
    s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(3))
    s.bind((dev, 0))
    print("ready", flush=True)
    end = time.monotonic() + seconds
    n = 0
    while True:
        left = end - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([s], [], [], left)
        if r and marker in s.recv(65536):
            n += 1
    print(n, flush=True)
""")


def sniff(lab, ns, dev, seconds, marker):
    p = ns.popen(["/usr/bin/python3", "-c", SNIFF, dev, seconds, marker.hex()],
                 stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lab.procs.append(p)
    assert read_line(p.stdout.fileno(), 10).strip() == b"ready"
    return p


def sniff_count(p, timeout):
    line = read_line(p.stdout.fileno(), timeout)
    assert line.strip().isdigit(), "sniffer failed: %r %s" % (line, p.stderr.read())
    return int(line)


def test_dhcp_server_frames_from_vm_dropped(lab):
    h1, vm1 = lab.helper(["--stats-interval", "1"])
    h2, vm2 = lab.helper([])
    mac1 = h1.info["vmnet_mac_address"]
    ip1 = h1.info["lease_address"]
    bad_marker = b"vmit-rogue-dhcp!"
    good_marker = b"vmit-control-udp"
    s_bad = sniff(lab, lab.host, h1.bridge, 3, bad_marker)
    s_good = sniff(lab, lab.host, h1.bridge, 3, good_marker)
    vm2.drain()
    rogue = frames.raw(
        frames.Ether(src=mac1, dst=frames.BROADCAST) /
        frames.IP(src=ip1, dst="255.255.255.255") /
        frames.UDP(sport=67, dport=68) /
        frames.BOOTP(op=2, xid=0x1234, yiaddr="192.168.105.77", siaddr=ip1,
                     chaddr=b"\x02" * 6 + b"\0" * 10, sname=bad_marker) /
        frames.DHCP(options=[("message-type", "offer"), ("server_id", ip1),
                             ("router", ip1), ("lease_time", 60), "end"]))
    control = frames.udp_frame(mac1, frames.BROADCAST, ip1, "255.255.255.255",
                               40000, 40001, good_marker)
    for _ in range(5):
        vm1.send(rogue)
        vm1.send(control)
        time.sleep(0.05)
    assert sniff_count(s_good, 10) >= 5, "control frames not seen on the bridge"
    assert sniff_count(s_bad, 10) == 0, "DHCP server frames from a VM reached the bridge"
    seen_good = seen_bad = 0
    while True:
        f = vm2.recv(0.5)
        if f is None:
            break
        seen_good += good_marker in f
        seen_bad += bad_marker in f
    assert seen_good >= 5, "control frames did not reach the other VM"
    assert seen_bad == 0, "DHCP server frames reached the other VM"
    # The sender still gets served.
    assert frames.arp_resolve(vm1, mac1, ip1, h1.gateway), "helper stopped serving"


def stats_lines(h):
    out = []
    for line in h.stderr_lines():
        if "[stats]" in line:
            m = STATS_RE.match(line)
            assert m, "malformed stats line: %r" % line
            out.append(json.loads(m.group(1)))
    return out


def parse_time(s):
    assert re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:?\d\d)$", s), \
        "time %r is not ISO 8601" % s
    return datetime.datetime.fromisoformat(s.replace("Z", "+00:00"))


def check_stats(st):
    assert set(st) >= {"time", "host", "vm"}, st
    for side in ("host", "vm"):
        for k in ("packets", "bytes", "drops"):
            v = st[side].get(k)
            assert isinstance(v, int) and not isinstance(v, bool) and v >= 0, (side, k, st)
    return parse_time(st["time"])


def test_stats_lines(lab):
    h, vm = lab.helper(["--stats-interval", "1"])
    mac = h.info["vmnet_mac_address"]
    for _ in range(10):
        vm.send(frames.arp_request(mac, h.info["lease_address"], h.gateway))
    assert wait_until(lambda: len(stats_lines(h)) >= 3, 8), \
        "fewer than 3 stats lines in 8 s:\n%s" % h.stderr()
    lines = stats_lines(h)
    times = [check_stats(st) for st in lines]
    for a, b in zip(times, times[1:]):
        assert 0.3 <= (b - a).total_seconds() <= 3, "stats interval %s -> %s" % (a, b)
    for a, b in zip(lines, lines[1:]):
        for side in ("host", "vm"):
            for k in ("packets", "bytes", "drops"):
                assert b[side][k] >= a[side][k], "counter went backwards"
    last = lines[-1]
    assert last["vm"]["packets"] >= 10, last
    assert last["vm"]["bytes"] >= 10 * 42, last
    assert last["host"]["packets"] >= 1, "ARP replies not counted: %s" % last
    # Without --stats-interval: no stats lines.
    h2, _ = lab.helper([])
    time.sleep(2.2)
    assert not any("[stats]" in l for l in h2.stderr_lines())


BAD_SIZES = [1, 4, 13, 1515, 2000, 9000, 65000]


def test_runt_and_oversize_frames_dropped(lab):
    h, vm = lab.helper(["--stats-interval", "1"])
    mac = h.info["vmnet_mac_address"]
    ip = h.info["lease_address"]
    assert frames.arp_resolve(vm, mac, ip, h.gateway), "no ARP reply before bad frames"
    assert wait_until(lambda: stats_lines(h), 5), "no stats line"
    before = stats_lines(h)[-1]["vm"]["drops"]
    big = frames.icmp_echo(mac, "ff:ff:ff:ff:ff:ff", ip, h.gateway)
    for size in BAD_SIZES:
        if size > 14:
            frame = big + b"\0" * (size - len(big))
        else:
            frame = bytes(range(size))
        assert len(frame) == size
        vm.send(frame)
    # Still serving, and every bad frame counted as a drop.
    assert frames.arp_resolve(vm, mac, ip, h.gateway), "helper stopped serving after bad frames"
    assert h.alive()

    def dropped():
        lines = stats_lines(h)
        return lines and lines[-1]["vm"]["drops"] - before >= len(BAD_SIZES)
    assert wait_until(dropped, 5), "drops not counted: before %d, now %s" % (
        before, stats_lines(h)[-1])
    # A maximum size frame (1514) is fine.
    vm.send(big + b"\0" * (1514 - len(big)))
    assert frames.arp_resolve(vm, mac, ip, h.gateway)
    assert h.stop() == 0
    assert_clean(lab.host)


BULK_SERVER = textwrap.dedent("""
    import hashlib, os, socket, sys
    mode, size, bind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
    s = socket.socket(socket.AF_INET6 if ":" in bind else socket.AF_INET)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((bind, 8081)); s.listen(1); s.settimeout(30)
    print("ready", flush=True)
    c, _ = s.accept(); c.settimeout(30)
    h = hashlib.sha256()
    if mode == "recv":
        n = 0
        while True:
            b = c.recv(1 << 16)
            if not b:
                break
            h.update(b); n += len(b)
        print(n, h.hexdigest(), flush=True)
    else:
        rnd = hashlib.sha256(b"seed").digest() * 2048   # 64 KiB pattern
        n = 0
        while n < size:
            chunk = rnd[: min(len(rnd), size - n)]
            c.sendall(chunk); h.update(chunk); n += len(chunk)
        c.close()
        print(n, h.hexdigest(), flush=True)
""")

BULK_CLIENT = textwrap.dedent("""
    import hashlib, socket, sys
    addr, mode, size = sys.argv[1], sys.argv[2], int(sys.argv[3])
    c = socket.create_connection((addr, 8081), timeout=30)
    h = hashlib.sha256()
    n = 0
    if mode == "send":
        rnd = hashlib.sha256(b"other").digest() * 2048
        while n < size:
            chunk = rnd[: min(len(rnd), size - n)]
            c.sendall(chunk); h.update(chunk); n += len(chunk)
        c.shutdown(socket.SHUT_WR)
        c.recv(1)
    else:
        while True:
            b = c.recv(1 << 16)
            if not b:
                break
            h.update(b); n += len(b)
    print(n, h.hexdigest(), flush=True)
""")


def bulk_transfer(lab, server_ns, server_addr, g, vm_sends, size, timeout=60):
    """size bytes over TCP between guest g and a server in server_ns, sha256
    compared at both ends. Returns the seconds it took (for reports only)."""
    srv_mode, cli_mode = ("recv", "send") if vm_sends else ("send", "recv")
    bind = "::" if ":" in server_addr else "0.0.0.0"
    srv = server_ns.popen(["/usr/bin/python3", "-c", BULK_SERVER, srv_mode, str(size), bind],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lab.procs.append(srv)
    assert read_line(srv.stdout.fileno(), 10).strip() == b"ready"
    t0 = time.monotonic()
    r = g.run(["/usr/bin/python3", "-c", BULK_CLIENT, server_addr, cli_mode, str(size)],
              check=False, timeout=timeout)
    elapsed = time.monotonic() - t0
    assert r.returncode == 0, "client failed: %s" % r.stderr
    server_line = read_line(srv.stdout.fileno(), 30).decode().split()
    client_line = r.stdout.split()
    assert server_line and client_line, (server_line, client_line, srv.stderr.read())
    assert int(client_line[0]) == size and int(server_line[0]) == size, \
        (client_line, server_line)
    assert client_line[1] == server_line[1], "data corrupted in transit"
    return elapsed


@pytest.mark.parametrize("direction", ["vm-to-host", "host-to-vm"])
def test_bulk_tcp_integrity(lab, direction):
    """64 MiB over TCP between the VM and the host: every byte arrives intact."""
    h, g = start_guest(lab, [])
    bulk_transfer(lab, lab.host, h.gateway, g, direction == "vm-to-host", 64 << 20)


def test_pool_exhausted_fails_cleanly(lab):
    """A /30 has one address to lease: a second VM is refused, the first keeps working."""
    net = ["--start-address", "192.168.105.253", "--end-address", "192.168.105.254",
           "--subnet-mask", "255.255.255.252"]
    h1, g1 = start_guest(lab, net)
    a, b = lab.socketpair()
    r = lab.run_helper(["--fd", b.fileno()] + net, pass_fds=(b.fileno(),), timeout=20)
    assert r.returncode != 0, "a second VM got a lease from an exhausted pool: %s" % r.stdout
    assert r.stdout == ""
    assert len([l for l in lab.host.link_names() if l.startswith("vmtap")]) == 1, \
        "the refused helper left its TAP"
    assert g1.ping(h1.gateway), "first VM lost its gateway"
    assert h1.stop() == 0
    assert_clean(lab.host)


ORDER_SERVER = textwrap.dedent("""
    import socket, struct, sys
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_SOCKET, 33, 32 << 20)   # SO_RCVBUFFORCE: hold the whole burst
    s.bind((sys.argv[1], 9999)); s.settimeout(10)
    print("ready", flush=True)
    seqs = []
    try:
        while True:
            seqs.append(struct.unpack("!I", s.recv(64)[:4])[0])
            s.settimeout(2)
    except socket.timeout:
        pass
    print(len(seqs), int(seqs == sorted(seqs)), flush=True)
""")


@pytest.mark.parametrize("args", [[], ["--enable-tso", "--enable-checksum-offload"]],
                         ids=["plain", "offload"])
def test_burst_arrives_whole_and_in_order(lab, args):
    """A burst of small frames from the VM: none lost, none reordered. The
    helper is paused while the burst fills its socket, so it then drains full
    batches through the VM-to-TAP pipeline (light traffic it writes directly)."""
    count = 20000
    h, vm = lab.helper(args + ["--stats-interval", "1"])
    mac, ip = h.info["vmnet_mac_address"], h.info["lease_address"]
    gw_mac = lab.host.ip_json("link", "show", h.bridge)[0]["address"]
    srv = lab.host.popen(["/usr/bin/python3", "-c", ORDER_SERVER, h.gateway],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lab.procs.append(srv)
    assert read_line(srv.stdout.fileno(), 10).strip() == b"ready"
    # UDP checksum 0 (none, allowed in IPv4), so the sequence number can be patched in.
    head = frames.raw(frames.Ether(src=mac, dst=gw_mac) / frames.IP(src=ip, dst=h.gateway) /
                      frames.UDP(sport=40000, dport=9999, chksum=0) / (b"\0" * 18))[:-18]
    vm.sock.setsockopt(socket.SOL_SOCKET, 32, 64 << 20)   # SO_SNDBUFFORCE
    h.send_signal(signal.SIGSTOP)
    try:
        for i in range(count):
            vm.sock.send(head + i.to_bytes(4, "big") + b"vmnet-burst-x!")
    finally:
        h.send_signal(signal.SIGCONT)
    line = read_line(srv.stdout.fileno(), 30).split()
    assert line, "receiver failed: %s" % srv.stderr.read()
    got, ordered = int(line[0]), line[1] == b"1"
    assert got == count, "lost %d of %d frames" % (count - got, count)
    assert ordered, "frames reordered"
    assert wait_until(lambda: stats_lines(h) and
                      stats_lines(h)[-1]["vm"]["packets"] >= count, 5), stats_lines(h)[-1:]
    assert h.stop() == 0
    assert_clean(lab.host)


HOST_BURST = textwrap.dedent("""
    import socket, sys, time
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    print("ready", flush=True)
    sys.stdin.readline()
    for i in range(int(sys.argv[2])):
        s.sendto(i.to_bytes(4, "big") + b"vmnet-order", (sys.argv[1], 9999))
        if i % 256 == 255:
            time.sleep(0.0005)
    print("sent", flush=True)
""")


def test_frames_to_vm_in_order_while_vm_sends(lab):
    """Frames from the host reach the VM in order while the VM sends a steady
    trickle of its own: each of its frames is written inline, and the thread
    that writes it also passes on what the TAP has for the VM (replies the host
    made meanwhile), alongside the thread that does only that."""
    count = 20000
    h, vm = lab.helper([])
    mac, ip = h.info["vmnet_mac_address"], h.info["lease_address"]
    gw_mac = lab.host.ip_json("link", "show", h.bridge)[0]["address"]
    lab.host.run(["ip", "neigh", "replace", ip, "lladdr", mac, "dev", h.bridge])
    vm.sock.setsockopt(socket.SOL_SOCKET, 33, 64 << 20)   # SO_RCVBUFFORCE: hold them all
    trickle = frames.udp_frame(mac, gw_mac, ip, h.gateway, 40000, 9, b"trickle")
    src = lab.host.popen(["/usr/bin/python3", "-c", HOST_BURST, ip, count],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lab.procs.append(src)
    assert read_line(src.stdout.fileno(), 10).strip() == b"ready"
    src.stdin.write(b"go\n")
    src.stdin.flush()
    seqs, deadline, quiet = [], time.monotonic() + 30, 0
    while time.monotonic() < deadline and quiet < 1000:
        vm.send(trickle)
        f = vm.recv(0 if quiet == 0 else 0.0002)
        if f is not None and f.endswith(b"vmnet-order"):
            seqs.append(int.from_bytes(f[-15:-11], "big"))
        quiet = quiet + 1 if f is None and src.poll() is not None else 0
    print("%d of %d frames arrived" % (len(seqs), count))
    assert len(seqs) > count // 2, "only %d of %d frames arrived" % (len(seqs), count)
    assert seqs == sorted(seqs), "frames to the VM reordered"
