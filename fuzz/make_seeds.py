#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""Writes the seed corpus for the fuzz harnesses: a few real-looking frames
(DISCOVER, REQUEST, INFORM, RELEASE from a VM) and a lease file."""
import os
import struct

HERE = os.path.dirname(os.path.abspath(__file__))
MAC = bytes.fromhex("0ad636c1eaf3")


def csum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def ip4(s):
    return bytes(int(x) for x in s.split("."))


def dhcp(msg_type, ciaddr="0.0.0.0", extra=b""):
    bootp = struct.pack("!BBBBIHH4s4s4s4s16s64s128s", 1, 1, 6, 0, 0x3903F326, 0, 0,
                        ip4(ciaddr), bytes(4), bytes(4), bytes(4), MAC, b"", b"")
    opts = bytes([53, 1, msg_type]) + bytes([61, 7, 1]) + MAC + extra
    opts += bytes([55, 6, 1, 3, 6, 15, 26, 28, 12, 3]) + b"vm1" + bytes([255])
    msg = bootp + struct.pack("!I", 0x63825363) + opts
    return msg + bytes(max(0, 300 - len(msg)))


def frame(payload, src="0.0.0.0", dst="255.255.255.255"):
    udp = struct.pack("!HHHH", 68, 67, 8 + len(payload), 0) + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0x10, 20 + len(udp), 0, 0, 64, 17, 0,
                     ip4(src), ip4(dst))
    ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
    return b"\xff" * 6 + MAC + b"\x08\x00" + ip + udp


def main():
    server = ip4("192.168.105.1")
    seeds = {
        "discover": frame(dhcp(1)),
        "request": frame(dhcp(3, extra=bytes([50, 4]) + ip4("192.168.105.2") +
                              bytes([54, 4]) + server)),
        "inform": frame(dhcp(8, ciaddr="192.168.105.77"), src="192.168.105.77"),
        "release": frame(dhcp(7, ciaddr="192.168.105.2", extra=bytes([54, 4]) + server),
                         src="192.168.105.2", dst="192.168.105.1"),
    }
    out = os.path.join(HERE, "corpus", "fuzz_dhcp")
    os.makedirs(out, exist_ok=True)
    for name, data in seeds.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)

    out = os.path.join(HERE, "corpus", "fuzz_lease")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "leases"), "w") as f:
        f.write("ip_address=192.168.105.2 hw_address=0a:d6:36:c1:ea:f3 "
                "interface_id=2835E074-9892-4A79-AFFB-7E41D2605678 pid=1234 time=1732440000\n"
                "ip_address=192.168.105.3 hw_address=02:11:22:33:44:55 "
                "interface_id=6F1B1A52-3C1B-4B44-9E0B-8D1D3C7A0F11 pid=0 time=1732440100\n")
    with open(os.path.join(out, "leases-uid"), "w") as f:
        f.write("ip_address=192.168.105.2 hw_address=0a:00:00:00:00:01 "
                "interface_id=2835E074-9892-4A79-AFFB-7E41D2605678 uid=1000 pid=1235 time=99000\n"
                "ip_address=192.168.105.3 hw_address=02:11:22:33:44:55 "
                "interface_id=6F1B1A52-3C1B-4B44-9E0B-8D1D3C7A0F11 uid=0 pid=3 time=1\n")
    # One user's leases filling a small pool, and another user's lease of
    # the same interface id with that user's own MAC (max_held, user_mac).
    with open(os.path.join(out, "leases-held"), "w") as f:
        for i in range(2, 16):
            f.write("ip_address=192.168.105.%d hw_address=0a:00:00:00:00:%02x "
                    "interface_id=00000000-0000-4000-8000-0000000000%02X pid=%d time=%d uid=105\n"
                    % (i, i, i, i, 99000 + i))
        f.write("ip_address=192.168.105.16 hw_address=0a:00:00:00:00:01 "
                "interface_id=2835E074-9892-4A79-AFFB-7E41D2605678 pid=7 time=99999 uid=1000\n")

    out = os.path.join(HERE, "corpus", "fuzz_policy")
    os.makedirs(out, exist_ok=True)
    with open(os.path.join(out, "vm-range-leases-reserved"), "w") as f:
        f.write("subnets = default, 10.0.0.0/8\nmax-leases-per-user = 25%\n"
                "[network lab]\nmode = host\nstart-address = 10.20.0.1\n"
                "end-address = 10.20.0.254\nsubnet-mask = 255.255.255.0\n"
                "[network lab2]\nmode = shared\nstart-address = 192.168.106.1\n"
                "end-address = 192.168.106.254\nsubnet-mask = 255.255.254.0\n"
                "# zzzzzzzz")

    out = os.path.join(HERE, "corpus", "fuzz_ndp")
    os.makedirs(out, exist_ok=True)
    for name, data in ndp_seeds().items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)

    out = os.path.join(HERE, "corpus", "fuzz_offload")
    os.makedirs(out, exist_ok=True)
    for name, data in offload_seeds().items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)

    out = os.path.join(HERE, "corpus", "fuzz_dns")
    os.makedirs(out, exist_ok=True)
    for name, data in dns_seeds().items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(data)

    for harness, seeds in (("fuzz_dnstcp", dnstcp_seeds()), ("fuzz_vmframe", vmframe_seeds()),
                           ("fuzz_frame", frame_seeds()),
                           ("fuzz_vmstream", vmstream_seeds()), ("fuzz_msg", msg_seeds()),
                           ("fuzz_vhost_msg", vhost_msg_seeds()), ("fuzz_vring", vring_seeds()),
                           ("fuzz_guest_frame", guest_frame_seeds()),
                           ("fuzz_brokermsg", brokermsg_seeds())):
        out = os.path.join(HERE, "corpus", harness)
        os.makedirs(out, exist_ok=True)
        for name, data in seeds.items():
            with open(os.path.join(out, name), "wb") as f:
                f.write(data)


def ip6_frame(nh, payload, src="fe80::8d6:36ff:fec1:eaf3", dst="ff02::2", hop=255,
              l4=None, l4_nh=None):
    """Ethernet/IPv6; l4 (with l4_nh) is checksummed when given, after payload (ext headers)."""
    import socket
    s, d = socket.inet_pton(socket.AF_INET6, src), socket.inet_pton(socket.AF_INET6, dst)
    if l4 is not None:
        pseudo = s + d + struct.pack("!IxxxB", len(l4), l4_nh)
        sum_at = 2 if l4_nh == 58 else 6
        l4 = l4[:sum_at] + struct.pack("!H", csum(pseudo + l4)) + l4[sum_at + 2:]
        payload += l4
    ip = struct.pack("!IHBB", 6 << 28, len(payload), nh, hop) + s + d
    return bytes.fromhex("333300000002") + MAC + b"\x86\xdd" + ip + payload


def ndp_seeds():
    slla = bytes([1, 1]) + MAC
    rs = bytes([133, 0, 0, 0, 0, 0, 0, 0]) + slla
    ra = (bytes([134, 0, 0, 0, 64, 0]) + struct.pack("!HII", 1800, 0, 0) + slla +
          bytes([3, 4, 64, 0xc0]) + struct.pack("!II", 86400, 14400) + bytes(4) +
          bytes.fromhex("fd9b5a14ba57e3d3") + bytes(8))
    dhcp6 = struct.pack("!HHHH", 547, 546, 12, 0) + bytes([7, 0, 0, 1])
    # An advertise to the client port from another port than 547.
    dhcp6_odd = struct.pack("!HHHH", 5470, 546, 12, 0) + bytes([2, 0, 0, 1])
    gw_ll = bytes.fromhex("fe80000000000000") + bytes.fromhex("0000000000000001")
    ll = bytes.fromhex("fe8000000000000008d636fffec1eaf3")
    other_mac = bytes.fromhex("525400123457")
    ns = bytes([135, 0, 0, 0, 0, 0, 0, 0]) + gw_ll + slla
    na = bytes([136, 0, 0, 0, 0x20, 0, 0, 0]) + ll + bytes([2, 1]) + MAC
    na_foreign = bytes([136, 0, 0, 0, 0x20, 0, 0, 0]) + ll + bytes([2, 1]) + other_mac
    return {
        "ns-slla": ip6_frame(58, b"", dst="ff02::1:ff00:1", l4=ns, l4_nh=58),
        "na-tlla": ip6_frame(58, b"", dst="ff02::1", l4=na, l4_nh=58),
        "na-tlla-foreign": ip6_frame(58, b"", dst="ff02::1", l4=na_foreign, l4_nh=58),
        "ns-dad": ip6_frame(58, b"", src="::", dst="ff02::1:ffc1:eaf3", l4=ns[:24], l4_nh=58),
        "dhcp6-advertise-odd-port": ip6_frame(17, b"", dst="fe80::1", hop=1, l4=dhcp6_odd,
                                              l4_nh=17),
        "rs": ip6_frame(58, b"", l4=rs, l4_nh=58),
        "rs-unspecified": ip6_frame(58, b"", src="::", l4=rs[:8], l4_nh=58),
        "ra": ip6_frame(58, b"", dst="ff02::1", l4=ra, l4_nh=58),
        "ra-behind-hbh-frag": ip6_frame(0, bytes([44, 0, 5, 2, 0, 0, 1, 0]) +
                                        bytes([58, 0, 0, 1, 0, 0, 0, 7]), dst="ff02::1",
                                        l4=ra, l4_nh=58),
        "dhcp6-advertise": ip6_frame(17, b"", dst="fe80::1", hop=1, l4=dhcp6, l4_nh=17),
        # RFC 7112: a first fragment ending after a destination options
        # header, the DHCPv6 advertise's UDP header left to fragment 2.
        "dhcp6-advertise-frag-split": ip6_frame(44, bytes([60, 0, 0, 1, 0, 0, 0, 9]) +
                                                bytes([17, 0, 1, 4, 0, 0, 0, 0]),
                                                dst="fe80::1", hop=64),
        "dhcp6-advertise-frag-whole": ip6_frame(44, bytes([60, 0, 0, 1, 0, 0, 0, 9]) +
                                                bytes([17, 0, 1, 4, 0, 0, 0, 0]),
                                                dst="fe80::1", hop=64, l4=dhcp6_odd, l4_nh=17),
        # RFC 6980: neighbour discovery is never fragmented.
        "na-fragment": ip6_frame(44, bytes([58, 0, 0, 1, 0, 0, 0, 10]), dst="ff02::1",
                                 l4=na, l4_nh=58),
    }


def l4_frame(v6, proto, payload, partial=True, hbh=False):
    """Ethernet/IP/TCP-or-UDP with a partial (pseudo-header) or complete checksum."""
    src = bytes.fromhex("fd9b5a14ba57e3d30000000000000002") if v6 else ip4("192.168.105.2")
    dst = bytes.fromhex("fd9b5a14ba57e3d30000000000000001") if v6 else ip4("192.168.105.1")
    if proto == 6:
        l4 = struct.pack("!HHIIBBHHH", 40000, 8080, 1, 0, 8 << 4, 0x18, 65535, 0, 0)
        l4 += bytes([1, 1, 8, 10]) + bytes(8) + payload   # NOP NOP timestamp
        at = 16
    else:
        l4 = struct.pack("!HHHH", 40000, 53, 8 + len(payload), 0) + payload
        at = 6
    pseudo = src + dst + struct.pack("!HH", proto, len(l4))
    c = (~csum(pseudo) & 0xFFFF) if partial else csum(pseudo + l4)
    l4 = l4[:at] + struct.pack("!H", c) + l4[at + 2:]
    if v6:
        ext = bytes([proto, 0, 1, 4, 0, 0, 0, 0]) if hbh else b""
        ip = struct.pack("!IHBB", 6 << 28, len(ext) + len(l4), 0 if hbh else proto, 64)
        ip += src + dst + ext
        etype = b"\x86\xdd"
    else:
        ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(l4), 1, 0x4000, 64, proto, 0,
                         src, dst)
        ip = ip[:10] + struct.pack("!H", csum(ip)) + ip[12:]
        etype = b"\x08\x00"
    return bytes.fromhex("020000000001") + MAC + etype + ip + l4


def offload_seeds():
    """First byte 0: a frame from the VM; 1: a virtio-net header and a frame from the TAP."""
    data = bytes(range(256)) * 4
    tcp = l4_frame(False, 6, data[:1000])
    hdr = struct.pack("<BBHHHH", 1, 1, 66, 1448, 34, 16)   # NEEDS_CSUM, TCPV4
    return {
        "tcp4-partial": b"\0" + tcp,
        "tcp4-complete": b"\0" + l4_frame(False, 6, data[:99], partial=False),
        "udp4-partial": b"\0" + l4_frame(False, 17, data[:300]),
        "udp6-hbh": b"\0" + l4_frame(True, 17, data[:200], hbh=True),
        "tcp4-gso": b"\0" + l4_frame(False, 6, data * 3),
        "tcp6-gso": b"\0" + l4_frame(True, 6, data * 2),
        "arp": b"\0" + frame(b"")[:14] + bytes(28),
        "tap-tcp4": b"\1" + hdr + tcp,
        # The largest frames TSO allows (vmnet_max_packet_size 65550).
        "tcp4-gso-64k": b"\0" + l4_frame(False, 6, big_payload(65483)),
        "tcp6-gso-64k": b"\0" + l4_frame(True, 6, big_payload(65464)),
    }


def big_payload(n):
    return (bytes(range(256)) * (n // 256 + 1))[:n]


def arp(op, sha, spa, tpa, src=None):
    """Ethernet/ARP for IPv4 over Ethernet."""
    body = struct.pack("!HHBBH", 1, 0x0800, 6, 4, op) + sha + ip4(spa) + bytes(6) + ip4(tpa)
    return b"\xff" * 6 + (src or sha) + b"\x08\x06" + body


def vmframe_seeds():
    """First byte: configuration (fuzz_vmframe.c): 1 local (shared/host), 2 RAs,
    4 offload, 8 TSO, 16 truncated, MTU index in the top 3 bits. Second byte:
    the guards' state: the VM's second MAC (0 none yet, 2 granted, 3 refused;
    52:54:00:12:34:56), 4 the gateway has an IPv6 address, 8 IPv6 addresses are
    bound (the VM's link-local already), 16 a claim of one is granted. Then a frame."""
    server = ip4("192.168.105.1")
    tcp = l4_frame(False, 6, bytes(range(256)) * 4)
    own = bytes.fromhex("525400123456")
    offer = frame(dhcp(2))
    offer = offer[:6] + MAC + offer[12:]
    return {
        "discover": b"\x03\x04" + frame(dhcp(1)),
        "request": b"\x01\x04" + frame(dhcp(3, extra=bytes([50, 4]) + ip4("192.168.105.2") +
                                         bytes([54, 4]) + server)),
        "bridged-dhcp": b"\x00\x00" + frame(dhcp(1)),
        "rs": b"\x03\x04" + ndp_seeds()["rs"],
        "rogue-ra": b"\x03\x04" + ndp_seeds()["ra"],
        "tcp4-partial": b"\x07\x04" + tcp,
        "tcp4-plain": b"\x03\x04" + tcp,
        "tcp4-gso-64k": b"\x0f\x04" + l4_frame(False, 6, big_payload(65483)),
        "udp6-hbh": b"\x05\x04" + l4_frame(True, 17, bytes(200), hbh=True),
        "truncated": b"\x13\x04" + tcp,
        "bridged-jumbo": b"\x64\x00" + l4_frame(False, 17, big_payload(8000)),
        "arp-own": b"\x01\x04" + arp(1, MAC, "192.168.105.2", "192.168.105.1"),
        "arp-claims-gateway": b"\x01\x04" + arp(2, MAC, "192.168.105.1", "192.168.105.1"),
        "arp-claims-lease": b"\x01\x04" + arp(2, MAC, "192.168.105.7", "192.168.105.7"),
        "second-mac-claim": b"\x01\x04" + arp(1, own, "0.0.0.0", "192.168.105.1"),
        "second-mac-owned": b"\x01\x06" + arp(1, own, "192.168.105.2", "192.168.105.1"),
        "vlan0-offer": b"\x01\x04" + offer[:12] + b"\x81\x00\x00\x00" + offer[12:],
        "offer-odd-port": b"\x01\x04" + offer_from(offer, 6767),
        "ns-slla": b"\x01\x04" + ndp_seeds()["ns-slla"],
        "na-tlla": b"\x01\x04" + ndp_seeds()["na-tlla"],
        "na-tlla-foreign": b"\x01\x04" + ndp_seeds()["na-tlla-foreign"],
        "ns-dad": b"\x01\x04" + ndp_seeds()["ns-dad"],
        "na-bound": b"\x01\x0c" + ndp_seeds()["na-tlla"],
        "ns-dad-bound": b"\x01\x0c" + ndp_seeds()["ns-dad"],
        "udp6-claim-granted": b"\x05\x1c" + l4_frame(True, 17, bytes(64)),
        "udp6-claim-refused": b"\x05\x0c" + l4_frame(True, 17, bytes(64)),
        "dhcp6-advertise-odd-port": b"\x01\x04" + ndp_seeds()["dhcp6-advertise-odd-port"],
        "dhcp6-advertise-frag-split": b"\x01\x04" + ndp_seeds()["dhcp6-advertise-frag-split"],
        "dhcp6-advertise-frag-whole": b"\x01\x04" + ndp_seeds()["dhcp6-advertise-frag-whole"],
        "na-fragment": b"\x01\x0c" + ndp_seeds()["na-fragment"],
        # Duplicate address detection for an address another VM holds
        # (refused), or a free one (granted).
        "ns-dad-taken": b"\x01\x0c" + ndp_seeds()["ns-dad"],
        "ns-dad-granted": b"\x01\x1c" + ndp_seeds()["ns-dad"],
        # Pool addresses set by hand: .100 recorded already; .150 claimed,
        # granted or refused; both in ARP and as an IPv4 source.
        "arp-hand-owned": b"\x01\x24" + arp(1, MAC, "192.168.105.100", "192.168.105.1"),
        "arp-hand-claim": b"\x01\x34" + arp(2, MAC, "192.168.105.150", "192.168.105.1"),
        "arp-hand-refused": b"\x01\x24" + arp(2, MAC, "192.168.105.150", "192.168.105.1"),
        "udp4-hand-claim": b"\x01\x34" + l4_frame(False, 17, bytes(64), partial=False)[:26] +
                           ip4("192.168.105.150") +
                           l4_frame(False, 17, bytes(64), partial=False)[30:],
    }


def frame_seeds():
    """The frames of vmframe_seeds() without their two configuration bytes,
    and IPv6 header chains at the view's limits (fuzz_frame.c)."""
    seeds = {name: data[2:] for name, data in vmframe_seeds().items()}
    dst8 = b"".join(bytes([6 if i == 7 else 60, 0]) + bytes(6) for i in range(8))
    seeds["tcp6-behind-8-dstopts"] = ip6_frame(60, dst8, l4=l4_frame(True, 6, b"")[54:],
                                               l4_nh=6)
    seeds["udp6-ah-routing"] = ip6_frame(51, bytes([43, 2]) + bytes(14) +
                                         bytes([17, 0, 0, 0]) + bytes(4), l4=bytes(8),
                                         l4_nh=17)
    seeds["udp6-first-then-later-fragment"] = ip6_frame(44, bytes([44, 0, 0, 1]) + bytes(4) +
                                                        bytes([17, 0, 0, 9]) + bytes(4) +
                                                        bytes(4))
    return seeds


def offer_from(offer, sport):
    """A DHCP offer (frame()'s 68 -> 67 ports) sent from sport to the client port 68."""
    udp_at = 14 + 20
    return offer[:udp_at] + struct.pack("!HH", sport, 68) + offer[udp_at + 4:]


def dns_name(name):
    return b"".join(bytes([len(l)]) + l.encode() for l in name.split(".")) + b"\0"


def dns_seeds():
    def query(name, qtype=1, flags=0x0100, extra=b"", arcount=0):
        return (struct.pack("!HHHHHH", 0x1234, flags, 1, 0, 0, arcount) +
                dns_name(name) + struct.pack("!HH", qtype, 1) + extra)
    opt = b"\0" + struct.pack("!HHIH", 41, 1232, 0, 0)
    return {
        "a": query("vmtest.example"),
        "aaaa-edns": query("www.example.org", 28, extra=opt, arcount=1),
        "update": query("example.org", 6, flags=0x2800),
        "reply": struct.pack("!HHHHHH", 0x1234, 0x8180, 1, 1, 0, 0) + dns_name("vmtest.example") +
        struct.pack("!HH", 1, 1) +
        b"\xc0\x0c" + struct.pack("!HHIH", 1, 1, 60, 4) + bytes([10, 99, 0, 77]),
        "resolv.conf": b"# generated\nsearch example.org\nnameserver 127.0.0.53\n"
        b"nameserver fe80::1%eth0\noptions edns0 trust-ad\n",
    }


def dnstcp_seeds():
    """Scripts for fuzz_dnstcp.c: servers byte, then events (low 3 bits) with
    an argument (high 5 bits)."""
    def ev(kind, arg=0):
        return bytes([kind | arg << 3])
    query = dns_seeds()["a"]
    framed = struct.pack("!H", len(query)) + query
    answer = dns_seeds()["reply"]
    framed_answer = struct.pack("!H", len(answer)) + answer
    whole, connected, write_all, tick = ev(7), ev(5), ev(2, 31), ev(6, 10)
    piecewise = b"".join(ev(0, len(framed[i:i + 8]) - 1) + framed[i:i + 8]
                         for i in range(0, len(framed), 8))
    answer_pieces = b"".join(ev(1, len(framed_answer[i:i + 16]) - 1) + framed_answer[i:i + 16]
                             for i in range(0, len(framed_answer), 16))
    return {
        "answered": b"\1" + whole + connected + write_all + whole + write_all + whole,
        "piecewise": b"\0" + piecewise + connected + ev(2, 4) + write_all + answer_pieces +
        ev(2, 2) + write_all,
        "refused-then-timeout": b"\2" + whole + ev(5, 1) + connected + tick + tick + tick +
        write_all,
        "eof-mid-answer": b"\1" + whole + connected + write_all + ev(1, 3) + b"\0\x40\x12\x34" +
        ev(3) + connected + write_all + whole + write_all,
        "idle": b"\0" + ev(6, 31) * 2 + whole,
    }


def msg_seeds():
    """Messages between a helper's processes (src/parse/msg.h, host byte order
    on x86-64): a header (type, seq) and the type's fixed layout."""
    def hdr(t, seq=1):
        return struct.pack("<HH", t, seq)
    sun = struct.pack("<H", 1) + b"/tmp/vm/client.sock".ljust(108, b"\0")
    return {
        "claim-mac": hdr(1) + MAC,
        "claim-addr6": hdr(2, 2) + bytes.fromhex("fe8000000000000008d636fffec1eaf3") + MAC,
        "verdict": hdr(3, 2) + b"\1" + b"\0",
        "files-ready": hdr(4, 0) + struct.pack("<i", 0),
        "files-connect": hdr(5, 0),
        "files-connected": hdr(6, 0) + struct.pack("<iI", 0, 21) + sun + b"\0\0",
        "claim-addr4": hdr(7, 3) + struct.pack("<I", 0xc0a869c8),
        "capture-ready": hdr(8, 0) + struct.pack("<iI", 0, 3),
        "status": hdr(9, 0) + status_body(),
        "broker-stop": hdr(10, 0),
        "broker-exit": hdr(11, 0) + struct.pack("<i", 1) + b"not in group vmnet".ljust(256, b"\0"),
    }


def brokermsg_seeds():
    """Requests to vmnet-broker (src/parse/brokermsg.h): a byte for the number
    of descriptors (3, and one per --pcap file), then the header (magic
    "VMNB", version, argc, length) and the options as NUL-terminated strings."""
    def req(*args, nfds=3):
        body = b"".join(a.encode() + b"\0" for a in args)
        return bytes([nfds]) + struct.pack("<IHHI", 0x424e4d56, 1, len(args), len(body)) + body
    return {
        "fd": req("--fd", "3"),
        "socket-stream": req("--socket", "/home/u/vm.sock", "--socket-type", "stream", "-v"),
        "network": req("--fd=5", "--network", "lab", "--mtu", "9000", "--enable-isolation"),
        "addresses": req("--fd", "3", "--start-address", "10.0.0.1", "--end-address", "10.0.0.9",
                         "--subnet-mask", "255.255.255.0", "--interface-id",
                         "2835E074-9892-4A79-AFFB-7E41D2605678"),
        "broker-fd": req("--fd", "3", "--broker-fd", "5"),
        "tricky": req("--interface-id", "--fd", "--fd", "3", "--", "x"),
        "no-fds": req("--fd", "3", nfds=0),
        # --pcap: one descriptor per file after the three (a ring of 3 here).
        "pcap": req("--fd", "3", "--pcap", "/home/u/vm.pcapng", nfds=4),
        "pcap-ring": req("--socket", "/tmp/u/vm.sock", "--pcap=/tmp/u/ring", "--pcap-size", "5",
                         "--pcap-files", "3", nfds=6),
        "pcap-missing": req("--fd", "3", "--pcap", "/x", "--pcap-files", "2", "--pcap-size", "1",
                            nfds=4),
        "pcap-without": req("--fd", "3", nfds=5),
        "pcap-fd": req("--fd", "3", "--pcap", "/x", "--pcap-fd", "7", nfds=4),
    }


def status_body():
    """A helper's answer to vmnet-status (struct msg_status after its header)."""
    def text(s, n):
        return s.encode().ljust(n, b"\0")
    counters = struct.pack("<5Q", 1000, 1514000, 2, 40, 1)
    return (struct.pack("<iII4B5I", 4242, 1000, 1000, 0, 1, 1, 1, 0xc0a86901, 0xffffff00,
                        0xc0a869fe, 0xc0a86902, 1500) + MAC + b"\0\0" +
            struct.pack("<qQ", 1796428930, 61000) +
            text("2835E074-9892-4A79-AFFB-7E41D2605678", 40) + text("lab", 32) +
            text("vmnetsc0a86901", 16) + text("vmtapi0", 16) + text("/tmp/vm/vmnet.sock", 108) +
            b"\0" * 4 + counters + counters)


def vmstream_seeds():
    """What a VM writes to a stream socket: frames behind 4-byte big-endian lengths."""
    def framed(f):
        return struct.pack("!I", len(f)) + f
    arp = frame(b"")[:14] + bytes(28)
    big = l4_frame(False, 6, bytes(range(256)) * 255)
    return {
        "two-frames": framed(arp) + framed(l4_frame(False, 17, bytes(1400), partial=False)),
        "partial-length": framed(arp) + b"\0\0",
        "zero-and-max": framed(b"") + framed(big + bytes(65550 - len(big))),
        "broken": framed(arp) + struct.pack("!I", 65551) + bytes(16),
    }


def vhost_msg(request, payload=b"", flags=1, nfds=0):
    """One vhost-user message (host byte order: little endian here) behind its fd count."""
    return bytes([nfds]) + struct.pack("<III", request, flags, len(payload)) + payload


def vhost_msg_seeds():
    """QEMU 7.2's vhost-user-net start-up, and a few it must refuse."""
    u64 = lambda v: struct.pack("<Q", v)
    state = lambda i, n: struct.pack("<II", i, n)
    mem = struct.pack("<II", 2, 0) + struct.pack("<QQQQ", 0, 0xa0000, 0x7f0000000000, 0) + \
        struct.pack("<QQQQ", 0xc0000, 0xff40000, 0x7f00000c0000, 0xc0000)
    addr = struct.pack("<IIQQQQ", 1, 0, 0x7f0000010000, 0x7f0000012000, 0x7f0000011000, 0)
    start = (vhost_msg(1) + vhost_msg(15) + vhost_msg(16, u64(9)) + vhost_msg(17) +
             vhost_msg(3) + vhost_msg(1) + vhost_msg(13, u64(0), nfds=1) +
             vhost_msg(14, u64(1), nfds=1))
    run = (vhost_msg(2, u64(0x140008000)) + vhost_msg(5, mem, 9, nfds=2) +
           vhost_msg(8, state(1, 256)) + vhost_msg(10, state(1, 0)) + vhost_msg(9, addr) +
           vhost_msg(12, u64(1), nfds=1) + vhost_msg(13, u64(0x101)) +
           vhost_msg(18, state(1, 1), 9) + vhost_msg(11, state(1, 0)))
    return {
        "qemu-start": start,
        "qemu-run": run,
        "refused": vhost_msg(6, u64(0), nfds=1) + vhost_msg(24, bytes(12)) +
        vhost_msg(5, mem[:40], nfds=2) + vhost_msg(1, flags=5),
    }


def vring_seeds():
    """A ring of 8 (descriptors at 0x100, avail at 0x200, used at 0x300) with
    a transmit chain, a receive chain and an indirect one."""
    cfg = bytes([3, 2]) + struct.pack("<HHHHH", 0x100, 0x200, 0x300, 0, 0) + \
        bytes([0, 0xff, 0, 0]) + struct.pack("<H", 0x800)
    gpa = 0x1000
    mem = bytearray(4096)
    def desc(at, i, addr, length, flags, nxt):
        struct.pack_into("<QIHH", mem, at + 16 * i, addr, length, flags, nxt)
    desc(0x100, 0, gpa + 0x800, 12, 1, 1)
    desc(0x100, 1, gpa + 0x900, 60, 0, 0)
    desc(0x100, 2, gpa + 0xa00, 1526, 2, 0)
    desc(0x100, 3, gpa + 0x400, 32, 4, 0)
    desc(0x400, 0, gpa + 0x800, 12, 1, 1)
    desc(0x400, 1, gpa + 0x900, 60, 0, 0)
    struct.pack_into("<HHHHH", mem, 0x200, 0, 3, 0, 2, 3)
    plain = cfg + bytes(mem)
    indirect_cfg = cfg[:1] + bytes([3]) + cfg[2:]
    return {"plain": plain, "indirect-event-idx": indirect_cfg + bytes(mem),
            "two-regions": cfg[:1] + bytes([7]) + cfg[2:10] + struct.pack("<H", 0x600) +
            cfg[12:] + bytes(mem)}


def guest_frame_seeds():
    """A configuration byte (bit 0 shared, 1-2 MTU 1500, 3-7 the head copied),
    a guest's virtio-net header, a frame: what Linux's virtio-net sends."""
    none = struct.pack("<BBHHHH", 0, 0, 0, 0, 0, 0)
    tso4 = struct.pack("<BBHHHH", 1, 1, 66, 1448, 34, 16)
    tso6 = struct.pack("<BBHHHH", 1, 4, 86, 1428, 54, 16)
    udp = struct.pack("<BBHHHH", 1, 0, 42, 0, 34, 6)
    return {
        "plain-arp": b"\x01" + none + arp(1, MAC, "192.168.105.2", "192.168.105.1"),
        "udp4-partial": b"\x01" + udp + l4_frame(False, 17, bytes(300)),
        "tso4-64k": b"\xf9" + tso4 + l4_frame(False, 6, big_payload(65483)),
        "tso6-9k": b"\x01" + tso6 + l4_frame(True, 6, big_payload(9000)),
        "bridged-tso4": b"\x00" + tso4 + l4_frame(False, 6, big_payload(5000)),
    }


if __name__ == "__main__":
    main()
