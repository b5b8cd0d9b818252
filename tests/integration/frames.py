# SPDX-License-Identifier: Apache-2.0
"""Raw Ethernet frames for tests that play the VM directly on the socket (scapy)."""

import logging
import random
import time

logging.getLogger("scapy.runtime").setLevel(logging.ERROR)

from scapy.all import ARP, BOOTP, DHCP, ICMP, IP, UDP, Ether, conf, raw  # noqa: E402

conf.verb = 0

BROADCAST = "ff:ff:ff:ff:ff:ff"

DHCP_TYPES = {1: "discover", 2: "offer", 3: "request", 4: "decline", 5: "ack", 6: "nak",
              7: "release", 8: "inform"}


def random_mac():
    """A locally administered unicast MAC."""
    b = [random.randrange(256) for _ in range(6)]
    b[0] = (b[0] & 0xfc) | 0x02
    return ":".join("%02x" % x for x in b)


def mac_bytes(mac):
    return bytes(int(x, 16) for x in mac.split(":"))


def arp_request(src_mac, src_ip, dst_ip):
    return raw(Ether(src=src_mac, dst=BROADCAST) /
               ARP(op=1, hwsrc=src_mac, psrc=src_ip, pdst=dst_ip))


def parse(frame):
    try:
        return Ether(frame)
    except Exception:  # noqa: BLE001 - any undecodable frame is just "not ours"
        return None


def arp_reply_for(ip):
    """Predicate: an ARP reply from ip."""
    def pred(frame):
        p = parse(frame)
        return p is not None and ARP in p and p[ARP].op == 2 and p[ARP].psrc == ip
    return pred


def arp_resolve(vm, src_mac, src_ip, dst_ip, timeout=3.0, tries=3):
    """Sends ARP requests until a reply; returns the reply's hwsrc or None."""
    for _ in range(tries):
        vm.send(arp_request(src_mac, src_ip, dst_ip))
        f = vm.recv_until(arp_reply_for(dst_ip), timeout / tries)
        if f is not None:
            return Ether(f)[ARP].hwsrc
    return None


def icmp_echo(src_mac, dst_mac, src_ip, dst_ip, ident=0x1234, seq=1, payload=b"vmnet-test"):
    return raw(Ether(src=src_mac, dst=dst_mac) / IP(src=src_ip, dst=dst_ip) /
               ICMP(type=8, id=ident, seq=seq) / payload)


def icmp_reply_for(ip, ident=0x1234):
    def pred(frame):
        p = parse(frame)
        return (p is not None and IP in p and ICMP in p and p[IP].src == ip
                and p[ICMP].type == 0 and p[ICMP].id == ident)
    return pred


def udp_frame(src_mac, dst_mac, src_ip, dst_ip, sport, dport, payload=b""):
    return raw(Ether(src=src_mac, dst=dst_mac) / IP(src=src_ip, dst=dst_ip) /
               UDP(sport=sport, dport=dport) / payload)


def dhcp_options(p):
    opts = {}
    for o in p[DHCP].options:
        if isinstance(o, tuple) and len(o) >= 2:
            opts[o[0]] = o[1] if len(o) == 2 else o[1:]
    return opts


def dhcp_message(mac, xid, msg_type, extra=(), ciaddr="0.0.0.0", src_ip="0.0.0.0",
                 dst_ip="255.255.255.255", dst_mac=BROADCAST):
    opts = [("message-type", msg_type)] + list(extra) + \
        [("param_req_list", [1, 3, 6, 15, 26, 28, 51, 54]), "end"]
    return raw(Ether(src=mac, dst=dst_mac) / IP(src=src_ip, dst=dst_ip) /
               UDP(sport=68, dport=67) /
               BOOTP(op=1, chaddr=mac_bytes(mac) + b"\0" * 10, xid=xid, flags=0x8000,
                     ciaddr=ciaddr) /
               DHCP(options=opts))


def dhcp_reply(xid, types):
    """Predicate: a BOOTREPLY for xid whose message type is in types."""
    def pred(frame):
        p = parse(frame)
        if p is None or BOOTP not in p or DHCP not in p or p[BOOTP].op != 2 \
                or p[BOOTP].xid != xid:
            return False
        t = dhcp_options(p).get("message-type")
        return DHCP_TYPES.get(t, t) in types
    return pred


def dhcp_lease(vm, mac, timeout=5.0):
    """DISCOVER/OFFER/REQUEST/ACK over the raw socket. Returns a dict with
    offer and ack (scapy packets) and their options, or raises AssertionError."""
    xid = random.randrange(1, 2**32)
    offer = None
    deadline = time.monotonic() + timeout
    while offer is None and time.monotonic() < deadline:
        vm.send(dhcp_message(mac, xid, "discover"))
        offer = vm.recv_until(dhcp_reply(xid, ("offer",)), 1.0)
    assert offer is not None, "no DHCPOFFER within %ss" % timeout
    offer = Ether(offer)
    oopts = dhcp_options(offer)
    yiaddr = offer[BOOTP].yiaddr
    ack = None
    while ack is None and time.monotonic() < deadline:
        vm.send(dhcp_message(mac, xid, "request",
                             [("requested_addr", yiaddr),
                              ("server_id", oopts.get("server_id"))]))
        ack = vm.recv_until(dhcp_reply(xid, ("ack", "nak")), 1.0)
    assert ack is not None, "no DHCPACK within %ss" % timeout
    ack = Ether(ack)
    return {"offer": offer, "offer_options": oopts, "ack": ack,
            "ack_options": dhcp_options(ack), "yiaddr": ack[BOOTP].yiaddr}
