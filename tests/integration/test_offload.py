# SPDX-License-Identifier: Apache-2.0
"""--enable-tso and --enable-checksum-offload: 64 KiB TCP frames and partial
checksums from an offloading VM (vmsim --offload, like libkrun offloading=on),
complete checksums toward it, malformed frames dropped."""

import socket
import struct
import subprocess
import textwrap

import pytest

import frames
from conftest import read_line, wait_until
from test_datapath import bulk_transfer, stats_lines

OFFLOAD = ["--enable-tso", "--enable-checksum-offload"]
ETH_MAX = 1514


def start_guest(lab, args, offload=True):
    h, vm = lab.helper(list(args) + ["--stats-interval", "1"])
    g = lab.guest(vm, mac=h.info["vmnet_mac_address"], offload=offload)
    g.configure(h.info["lease_address"], h.prefixlen, h.gateway)
    return h, g


def final_stats(h):
    """Counters after the helper stopped (it logs them once more on exit)."""
    assert h.stop() == 0
    lines = stats_lines(h)
    assert lines, "no stats line:\n%s" % h.stderr()
    return lines[-1]


def test_json_max_packet_size(lab):
    h, _ = lab.helper(OFFLOAD)
    assert h.info["vmnet_max_packet_size"] == 65550
    assert h.info["vmnet_mtu"] == 1500
    h, _ = lab.helper(["--enable-checksum-offload"])
    assert h.info["vmnet_max_packet_size"] == ETH_MAX


def test_tso_requires_checksum_offload(lab):
    a, b = lab.socketpair()
    r = lab.run_helper(["--fd", b.fileno(), "--enable-tso"], pass_fds=(b.fileno(),))
    assert r.returncode != 0 and r.stdout == ""
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert lines == ["ERROR [main] --enable-tso requires --enable-checksum-offload"] or \
        (len(lines) == 1 and "--enable-tso requires --enable-checksum-offload" in lines[0]), lines


def bulk(lab, h, g, direction, size):
    return bulk_transfer(lab, lab.host, h.gateway, g, direction == "vm-to-host", size,
                         timeout=90)


@pytest.mark.parametrize("direction", ["vm-to-host", "host-to-vm"])
def test_bulk_tcp_large_frames(lab, direction):
    """128 MiB over TCP through a TSO helper: intact, and carried in large frames."""
    size = 128 << 20
    h, g = start_guest(lab, OFFLOAD)
    elapsed = bulk(lab, h, g, direction, size)
    st = final_stats(h)
    side = "vm" if direction == "vm-to-host" else "host"
    data = st[side]
    ratio = data["bytes"] / max(1, data["packets"])
    print("%s: %.1f MiB/s, %d bytes/frame, stats %s" % (direction, size / elapsed / 2**20,
                                                         ratio, st))
    assert data["bytes"] >= size, st
    # Full-size frames would be 1514 bytes at most; TSO frames go up to 64 KiB.
    assert ratio > 4 * ETH_MAX, "frames not passed whole: %s" % st
    # Frames from the VM never fail offload parsing.
    assert st["vm"]["drops"] == 0, st
    # Toward the VM, a frame is only dropped if the VM's socket stays full
    # (scheduling, not correctness): allow a trace, never a systematic loss.
    assert st["host"]["drops"] * 100 <= st["host"]["packets"], st


UDP_ECHO = textwrap.dedent("""
    import socket, sys
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind((sys.argv[1], 9999)); s.settimeout(20)
    print("ready", flush=True)
    n = 0
    while n < int(sys.argv[2]):
        d, peer = s.recvfrom(65535)
        s.sendto(d, peer); n += 1
""")

UDP_CLIENT = textwrap.dedent("""
    import socket, sys
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    for size in map(int, sys.argv[2:]):
        d = bytes((i * 13 + size) & 255 for i in range(size))
        for attempt in range(5):
            s.sendto(d, (sys.argv[1], 9999))
            try:
                r, _ = s.recvfrom(65535)
            except socket.timeout:
                continue
            assert r == d, "size %d: echo differs" % size
            break
        else:
            raise SystemExit("size %d: no echo" % size)
    print("ok", flush=True)
""")


def test_udp_through_offload(lab):
    """UDP both ways, including datagrams fragmented by IP (no offload for fragments)."""
    h, g = start_guest(lab, OFFLOAD)
    sizes = [1, 100, 1472, 1473, 4000, 30000, 65507]
    srv = lab.host.popen(["/usr/bin/python3", "-c", UDP_ECHO, h.gateway, 100],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    lab.procs.append(srv)
    assert read_line(srv.stdout.fileno(), 10).strip() == b"ready"
    r = g.run(["/usr/bin/python3", "-c", UDP_CLIENT, h.gateway] + sizes, check=False,
              timeout=60)
    assert r.returncode == 0 and r.stdout.strip() == "ok", r.stderr
    st = final_stats(h)
    assert st["vm"]["drops"] == 0, st


def test_csum_only_guest_pings_gateway(lab):
    """Checksum offload alone with a plain VM: frames stay within 1514 bytes."""
    h, g = start_guest(lab, ["--enable-checksum-offload"], offload=False)
    assert g.ping(h.gateway, count=2)
    r = g.run(["ping", "-n", "-c", "2", "-i", "0.2", "-W", "2", "-M", "do", "-s", "1472",
               h.gateway], check=False)
    assert r.returncode == 0, r.stdout


# --------------------------------------------------------------------------
# raw frames on the socket: two helpers on one bridge, frames from VM A to VM B

def csum16(data, init=0):
    if len(data) % 2:
        data += b"\0"
    s = init + sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def ip_pack(addr):
    fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
    return socket.inet_pton(fam, addr)


def build(src_mac, dst_mac, src_ip, dst_ip, proto, payload, partial=True, tot_len=None,
          frag=0, ip_csum=None):
    """An Ethernet/IP/TCP-or-UDP frame; the L4 checksum partial (pseudo-header
    sum, as an offloading VM sends it) or complete."""
    v6 = ":" in src_ip
    if proto == 6:
        l4 = struct.pack("!HHIIBBHHH", 40000, 8080, 1, 0, 5 << 4, 0x18, 65535, 0, 0) + payload
        cofs = 16
    else:
        l4 = struct.pack("!HHHH", 40000, 8080, 8 + len(payload), 0) + payload
        cofs = 6
    pseudo = ip_pack(src_ip) + ip_pack(dst_ip) + struct.pack("!HH", proto, len(l4))
    p = csum16(pseudo)
    c = p if partial else (~csum16(l4, p) & 0xffff)
    l4 = l4[:cofs] + struct.pack("!H", c) + l4[cofs + 2:]
    if v6:
        ip = struct.pack("!IHBB", 6 << 28, len(l4), proto, 64) + ip_pack(src_ip) + ip_pack(dst_ip)
        etype = 0x86dd
    else:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, tot_len or 20 + len(l4), 1, frag, 64, proto,
                         0, ip_pack(src_ip), ip_pack(dst_ip))
        c = ~csum16(ip) & 0xffff if ip_csum is None else ip_csum
        ip = ip[:10] + struct.pack("!H", c) + ip[12:]
        etype = 0x0800
    return frames.mac_bytes(dst_mac) + frames.mac_bytes(src_mac) + struct.pack("!H", etype) + \
        ip + l4


def l4_checksum_valid(frame):
    etype = struct.unpack("!H", frame[12:14])[0]
    if etype == 0x86dd:
        src, dst, proto, off = frame[22:38], frame[38:54], frame[20], 54
    else:
        src, dst, proto, off = frame[26:30], frame[30:34], frame[23], 14 + (frame[14] & 15) * 4
    l4 = frame[off:]
    return csum16(l4, csum16(src + dst + struct.pack("!HH", proto, len(l4)))) == 0xffff


def pair(lab, args):
    ha, va = lab.helper(args + ["--stats-interval", "1"])
    hb, vb = lab.helper(args)
    a = (h_mac(ha), ha.info["lease_address"])
    b = (h_mac(hb), hb.info["lease_address"])
    # B's helper must have served its VM once: its forwarding threads run.
    assert frames.arp_resolve(vb, b[0], b[1], hb.gateway)
    vb.drain()
    return ha, va, hb, vb, a, b


def h_mac(h):
    return h.info["vmnet_mac_address"]


def relay(va, vb, frame, marker):
    va.send(frame)
    return vb.recv_until(lambda f: marker in f, 3)


def check_relayed(sent, got, partial):
    assert got is not None, "frame of %d bytes not relayed" % len(sent)
    assert len(got) == len(sent), (len(got), len(sent))
    assert l4_checksum_valid(got), "checksum not completed"
    if not partial:
        assert got == sent


@pytest.mark.parametrize("mode", ["csum", "tso"])
def test_raw_partial_checksums_completed(lab, mode):
    args = OFFLOAD if mode == "tso" else ["--enable-checksum-offload"]
    ha, va, hb, vb, a, b = pair(lab, args)
    cases = [
        ("ipv4 udp partial", a[1], b[1], 17, 500, True),
        ("ipv4 tcp partial", a[1], b[1], 6, 1460, True),
        ("ipv4 tcp complete", a[1], b[1], 6, 999, False),
        ("ipv6 udp partial", "fd00::a", "fd00::b", 17, 1000, True),
        ("ipv6 tcp partial", "fd00::a", "fd00::b", 6, 1440, True),
    ]
    if mode == "tso":
        cases += [
            ("ipv4 tcp gso", a[1], b[1], 6, 60000, True),
            ("ipv6 tcp gso", "fd00::a", "fd00::b", 6, 30000, True),
        ]
    for i, (name, src, dst, proto, n, partial) in enumerate(cases):
        marker = b"vmit-offload-%02d!" % i
        payload = (marker * (n // len(marker) + 1))[:n]
        f = build(a[0], b[0], src, dst, proto, payload, partial)
        got = relay(va, vb, f, marker)
        check_relayed(f, got, partial)
    if mode == "tso":
        # The largest frame a VM may send (65549 bytes): the kernel segments
        # GSO frames of 64 KiB or more itself, so B gets MSS-sized segments.
        marker = b"vmit-offload-max"
        payload = (marker * 4096)[:65535 - 40]
        f = build(a[0], b[0], a[1], b[1], 6, payload)
        assert len(f) == 65549
        va.send(f)
        got = 0
        while got < len(payload):
            seg = vb.recv_until(lambda x: marker in x, 3)
            assert seg is not None, "only %d of %d bytes relayed" % (got, len(payload))
            assert l4_checksum_valid(seg) and len(seg) <= 65550
            got += len(seg) - 54
        assert got == len(payload)
    st = final_stats(ha)
    assert st["vm"]["drops"] == 0, st


@pytest.mark.parametrize("mode", ["csum", "tso"])
def test_ipv4_header_checksum_offloaded(lab, mode):
    """The IPv4 header checksum is offloaded too: a VM may leave it zero or
    wrong, and the frame goes on with it computed."""
    args = OFFLOAD if mode == "tso" else ["--enable-checksum-offload"]
    ha, va, hb, vb, a, b = pair(lab, args)
    sizes = [200, 30000] if mode == "tso" else [200, 1400]
    for i, (n, ip_csum) in enumerate((n, c) for n in sizes for c in (0, 0x1234)):
        marker = b"vmit-ipcsum-%02d!!" % i
        payload = (marker * (n // len(marker) + 1))[:n]
        f = build(a[0], b[0], a[1], b[1], 6 if n > 1400 else 17, payload, ip_csum=ip_csum)
        va.send(f)
        got = vb.recv_until(lambda x: marker in x, 3)
        assert got is not None, "frame with IPv4 header checksum %#x not relayed" % ip_csum
        assert csum16(got[14:34]) == 0xffff, "IPv4 header checksum not computed"
        assert l4_checksum_valid(got)
    st = final_stats(ha)
    assert st["vm"]["drops"] == 0, st


def test_malformed_frames_dropped(lab):
    ha, va, hb, vb, a, b = pair(lab, OFFLOAD)
    assert wait_until(lambda: stats_lines(ha), 5), "no stats line"
    before = stats_lines(ha)[-1]["vm"]["drops"]
    marker = b"vmit-malformed!!"
    big = (marker * 2000)[:30000]
    good = build(a[0], b[0], a[1], b[1], 6, big)
    bad = [
        build(a[0], b[0], a[1], b[1], 17, big),                        # large UDP
        build(a[0], b[0], a[1], b[1], 6, big, frag=0x2000),            # large fragment
        build(a[0], b[0], a[1], b[1], 6, big, tot_len=40000),          # length mismatch
        good[:14] + b"\x44" + good[15:],                               # IHL below 20 bytes
        good[:14] + b"\x55" + good[15:],                               # IP version 5
        good[:46] + b"\x40" + good[47:],                               # TCP header of 16 bytes
        good[:12] + b"\x08\x06" + good[14:],                           # large ARP
        build(a[0], b[0], a[1], b[1], 6, b"x" * 100)[:14 + 19],        # truncated IPv4 header
        build(a[0], b[0], "fd00::a", "fd00::b", 6, big)[:-1],          # IPv6 length mismatch
        good + b"\0" * (65551 - len(good)),                            # longer than 65550
    ]
    for f in bad:
        va.send(f)
    # Still serving, and the same large frame done right goes through.
    assert frames.arp_resolve(va, a[0], a[1], ha.gateway), "helper stopped serving"
    check_relayed(good, relay(va, vb, good, marker), True)

    def dropped():
        lines = stats_lines(ha)
        return lines and lines[-1]["vm"]["drops"] - before >= len(bad)
    assert wait_until(dropped, 5), "drops not counted: before %d, now %s" % (
        before, stats_lines(ha)[-1])
    assert not any(marker in f for f in iter(lambda: vb.recv(0.2), None)), \
        "a malformed frame reached the other VM"
    st = final_stats(ha)
    assert st["vm"]["drops"] - before == len(bad), st
