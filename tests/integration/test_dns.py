# SPDX-License-Identifier: Apache-2.0
"""
DNS at the gateway: the lease names the gateway as DNS server and the helper
forwards queries to the host's resolvers (the host namespace's resolv.conf).

The upstream is dnsmasq in the "remote" namespace (the internet) answering
one test record. `ip netns exec NS` bind-mounts /etc/netns/NS/resolv.conf over
/etc/resolv.conf, so each test writes the host namespace's resolv.conf there
and removes it afterwards. Queries come from a guest namespace (vmsim) with a
small standard-library client (dnsclient.py) or busybox nslookup.
"""

import json
import os
import re
import shutil
import signal
import struct
import subprocess
from pathlib import Path

import pytest

from conftest import REMOTE_ADDR, as_user, assert_clean, read_line, sudo_env, wait_until
from test_dhcp import UDHCPC_SCRIPT, read_env, write_script

DNSCLIENT = Path(__file__).resolve().parent / "dnsclient.py"
PY = "/usr/bin/python3"

NAME = "vmtest.example"
ADDR = "10.99.0.77"
BLACKHOLE = "203.0.113.3"     # in the remote namespace, which drops everything sent to it
STUB = "127.0.0.53"
NOERROR, SERVFAIL, NOTIMP = 0, 2, 4
# A SERVFAIL must come well before a client's own retry (5 s in glibc);
# the helper's deadline is 2 s. This bound only stops a test from hanging.
CLIENT_TIMEOUT = 6


class Dns:
    """Upstream servers and the host namespace's resolv.conf for one test."""

    def __init__(self, lab):
        self.lab = lab
        self.remote = lab.remote()
        self.etc = Path("/etc/netns") / lab.host.name
        self.made_parent = not self.etc.parent.exists()
        self.servers = {}

    def resolv(self, *nameservers):
        self.etc.mkdir(parents=True, exist_ok=True)
        (self.etc / "resolv.conf").write_text(
            "# written by tests/integration/test_dns.py\n" +
            "".join("nameserver %s\n" % n for n in nameservers))

    def dnsmasq(self, ns, listen, extra=()):
        """dnsmasq in ns on listen:53; returns once it answers."""
        self.lab.counter += 1
        n = self.lab.counter
        argv = ["dnsmasq", "-k", "--conf-file=/dev/null", "--no-hosts", "--bind-interfaces",
                "--listen-address=" + listen, "--pid-file=%s" % (self.lab.tmp / ("dnsmasq-%d.pid" % n)),
                "--log-facility=-", "--log-queries"] + list(extra)
        err = open(self.lab.tmp / ("dnsmasq-%d.log" % n), "wb")
        proc = self.lab.popen(ns.cmd(argv), stdout=err, stderr=subprocess.STDOUT,
                              stdin=subprocess.DEVNULL)
        ok = wait_until(lambda: proc.poll() is None and
                        query(ns, listen, NAME, timeout=0.5).get("rcode") is not None, 10, 0.1)
        assert ok, "dnsmasq on %s did not start: %s" % (
            listen, (self.lab.tmp / ("dnsmasq-%d.log" % n)).read_text())
        self.servers[listen] = proc
        return proc

    def upstream(self):
        """The 'internet' resolver: dnsmasq in remote with the test record."""
        return self.dnsmasq(self.remote, REMOTE_ADDR,
                            ["--no-resolv", "--address=/%s/%s" % (NAME, ADDR)])

    def stop(self, listen):
        proc = self.servers.pop(listen)
        proc.terminate()
        proc.wait(5)

    def blackhole(self):
        """BLACKHOLE answers ARP (it is an address of remote) but nothing else."""
        self.remote.run(["ip", "addr", "add", BLACKHOLE + "/24", "dev", "eth0"])
        rules = ("add table inet vmit_drop\n"
                 "add chain inet vmit_drop input { type filter hook input priority 0; }\n"
                 "add rule inet vmit_drop input ip daddr %s drop\n" % BLACKHOLE)
        self.remote.run(["nft", "-f", "-"], input=rules)

    def cleanup(self):
        shutil.rmtree(self.etc, ignore_errors=True)
        if self.made_parent:
            try:
                self.etc.parent.rmdir()   # only if we created it and it is empty
            except OSError:
                pass


@pytest.fixture
def dns(lab):
    d = Dns(lab)
    try:
        yield d
    finally:
        d.cleanup()


def query(ns, server, name, tcp=False, timeout=CLIENT_TIMEOUT, qtype=1, port=53, user=None):
    argv = [PY, DNSCLIENT, "query", server, name, "--timeout", timeout, "--type", qtype,
            "--port", port]
    if tcp:
        argv.append("--tcp")
    if user:
        argv = as_user(user, argv)
    r = ns.run(argv, check=False, timeout=timeout + 10)
    assert r.returncode == 0, "dnsclient failed: %s%s" % (r.stdout, r.stderr)
    return json.loads(r.stdout)


def send_raw(ns, server, payloads, tcp=False):
    argv = [PY, DNSCLIENT, "raw", server] + [p.hex() for p in payloads]
    if tcp:
        argv.append("--tcp")
    ns.run(argv, check=False, timeout=20)


def start_guest(lab, args=()):
    """A helper and a guest configured with the helper's lease (statically: fast)."""
    h, vm = lab.helper(list(args))
    g = lab.guest(vm, mac=h.info["vmnet_mac_address"])
    g.configure(h.info["lease_address"], h.prefixlen, h.gateway)
    return h, g


def udhcpc(lab, g):
    script = write_script(lab, "udhcpc.sh", UDHCPC_SCRIPT)
    out = lab.tmp / "udhcpc.lease"
    r = g.run(["env", "LEASE_OUT=%s" % out, "busybox", "udhcpc", "-i", "eth0", "-f", "-q",
               "-n", "-t", "5", "-T", "1", "-A", "1", "-s", script], check=False, timeout=30)
    assert r.returncode == 0, "udhcpc failed:\n%s%s" % (r.stdout, r.stderr)
    return read_env(out)


def resolves(r):
    return r.get("rcode") == NOERROR and r.get("answers") == [ADDR] and r.get("id_ok")


def no_errors(h):
    bad = [l for l in h.stderr_lines() if l.startswith("ERROR") or "Sanitizer" in l
           or "runtime error" in l]
    assert not bad, "helper logged errors:\n%s" % h.stderr()


# --------------------------------------------------------------------------


@pytest.mark.parametrize("mode", ["shared", "host"])
def test_lease_dns_and_udp_query(lab, dns, mode):
    dns.upstream()
    dns.resolv(REMOTE_ADDR)
    h, vm = lab.helper(["--operation-mode", mode])
    g = lab.guest(vm, mac=h.info["vmnet_mac_address"])
    lease = udhcpc(lab, g)
    assert lease["dns"].split() == [h.gateway], lease
    r = query(g.ns, h.gateway, NAME)
    assert resolves(r), r
    assert r["ra"] and r["question_ok"], r
    # A real client too.
    out = g.run(["busybox", "nslookup", NAME, h.gateway], check=False, timeout=20)
    assert ADDR in out.stdout, "nslookup:\n%s%s" % (out.stdout, out.stderr)
    assert h.wait_stderr(r"INFO  \[dns\] answering DNS on %s:53 for %s \(at udp \d+, tcp \d+\), "
                         r"forwarding to %s" % (h.gateway, h.info["tap"], REMOTE_ADDR))
    no_errors(h)


def test_tcp_query(lab, dns):
    dns.upstream()
    dns.resolv(REMOTE_ADDR)
    h, g = start_guest(lab)
    r = query(g.ns, h.gateway, NAME, tcp=True)
    assert resolves(r), r
    # Several queries, one after another, over fresh connections and UDP alike.
    for tcp in (True, False, True):
        assert resolves(query(g.ns, h.gateway, NAME, tcp=tcp))
    no_errors(h)


def test_servfail_when_upstream_gone(lab, dns):
    dns.upstream()
    dns.resolv(REMOTE_ADDR)
    h, g = start_guest(lab)
    assert resolves(query(g.ns, h.gateway, NAME))
    dns.stop(REMOTE_ADDR)
    # Nothing listens any more: ICMP port unreachable / RST, SERVFAIL at once.
    for tcp in (False, True):
        r = query(g.ns, h.gateway, NAME, tcp=tcp)
        assert r.get("rcode") == SERVFAIL and r["id_ok"] and r["question_ok"], r
        print("upstream gone: SERVFAIL over %s in %.2f s" % ("TCP" if tcp else "UDP",
                                                            r["elapsed"]))
    assert h.alive()
    no_errors(h)


def test_servfail_when_upstream_silent(lab, dns):
    """An upstream that drops everything: SERVFAIL at the helper's deadline."""
    dns.blackhole()
    dns.resolv(BLACKHOLE)
    h, g = start_guest(lab)
    for tcp in (False, True):
        r = query(g.ns, h.gateway, NAME, tcp=tcp)
        assert r.get("rcode") == SERVFAIL, r
        print("silent upstream: SERVFAIL over %s in %.2f s" % ("TCP" if tcp else "UDP",
                                                              r["elapsed"]))
    no_errors(h)


def test_next_nameserver(lab, dns):
    """Refusing and silent servers first: the third one answers, UDP and TCP."""
    dns.upstream()
    dns.blackhole()
    dns.resolv("127.0.0.54", BLACKHOLE, REMOTE_ADDR)
    h, g = start_guest(lab)
    for tcp in (False, True):
        r = query(g.ns, h.gateway, NAME, tcp=tcp)
        assert resolves(r), r
    no_errors(h)


def test_local_stub_resolver(lab, dns):
    """resolv.conf names a 127.0.0.53-style stub in the host namespace."""
    dns.upstream()
    dns.dnsmasq(lab.host, STUB, ["--no-resolv", "--server=" + REMOTE_ADDR])
    dns.resolv(STUB)
    h, g = start_guest(lab)
    for tcp in (False, True):
        assert resolves(query(g.ns, h.gateway, NAME, tcp=tcp))
    assert h.wait_stderr(r"forwarding to 127\.0\.0\.53")
    no_errors(h)


def malformed_udp():
    hdr = struct.pack("!HHHHHH", 0x1111, 0x0100, 1, 0, 0, 0)
    q = b"\x07vmtest\x07example\x00" + struct.pack("!HH", 1, 1)
    return [
        b"",
        b"\x12\x34\x01",
        hdr,                                                   # no question
        struct.pack("!HHHHHH", 1, 0x8100, 1, 0, 0, 0) + q,     # QR set: a "reply"
        struct.pack("!HHHHHH", 2, 0x0100, 0, 0, 0, 0) + q,     # QDCOUNT 0
        struct.pack("!HHHHHH", 3, 0x0100, 2, 0, 0, 0) + q,     # QDCOUNT 2
        hdr + b"\xc0\x0c" + struct.pack("!HH", 1, 1),          # compression pointer
        hdr + b"\x3f" + b"a" * 63 + b"\x3f" + b"a" * 63 + b"\x3f" + b"a" * 63 +
        b"\x3f" + b"a" * 63 + b"\x00\x00\x01\x00\x01",         # name over 255 bytes
        hdr + b"\x07vmtest\x07exam",                           # truncated name
        hdr + b"\x07vmtest\x07example\x00\x00",                # truncated type/class
        hdr + q + os.urandom(2000),                            # too large
        os.urandom(300),
        os.urandom(12),
    ]


def test_malformed_queries_dropped(lab, dns):
    dns.upstream()
    dns.resolv(REMOTE_ADDR)
    h, g = start_guest(lab, ["--stats-interval", "1"])
    send_raw(g.ns, h.gateway, malformed_udp())
    for p in malformed_udp()[:4]:
        send_raw(g.ns, h.gateway, [p], tcp=True)                     # no length prefix
    send_raw(g.ns, h.gateway, [b"\xff\xff" + b"x" * 100], tcp=True)  # longer than we take
    send_raw(g.ns, h.gateway, [b"\x00\x00"], tcp=True)               # empty message
    send_raw(g.ns, h.gateway, [b"\x00"], tcp=True)                   # half a prefix
    for p in malformed_udp()[2:10]:
        send_raw(g.ns, h.gateway, [struct.pack("!H", len(p)) + p], tcp=True)
    # An opcode we do not forward (UPDATE) is refused, not dropped.
    _, upd = build_query(NAME)
    upd = upd[:2] + bytes([0x28, 0]) + upd[4:]
    assert h.alive()
    for tcp in (False, True):
        assert resolves(query(g.ns, h.gateway, NAME, tcp=tcp)), "helper stopped answering"
    r = raw_query(g, h.gateway, upd)
    assert r is not None and r[3] & 0x0f == NOTIMP and r[:2] == upd[:2], r
    assert h.wait_stderr(r'"dns":\{"queries":\d+,"answers":\d+,"servfails":\d+,"drops":[1-9]')
    no_errors(h)


def build_query(name, qid=0x4242):
    labels = b"".join(bytes([len(l)]) + l.encode() for l in name.split("."))
    return qid, struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + labels + b"\0\0\1\0\1"


def raw_query(g, server, payload):
    """One UDP datagram from the guest and the raw reply (bytes) or None."""
    code = ("import socket,sys\n"
            "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.settimeout(5)\n"
            "s.sendto(bytes.fromhex(sys.argv[2]),(sys.argv[1],53))\n"
            "try: print(s.recv(65535).hex())\n"
            "except OSError: print('')\n")
    r = g.run([PY, "-c", code, server, payload.hex()], check=False, timeout=15)
    return bytes.fromhex(r.stdout.strip()) if r.stdout.strip() else None


def dns_ports(h, family="ip"):
    """The ports of h's own DNS sockets, from its log line."""
    gw = h.gateway if family == "ip" else r"\[[0-9a-f:]+\]"
    m = h.wait_stderr(r"answering DNS on %s:53 for \S+ \(at udp (\d+), tcp (\d+)\)" % gw)
    assert m, h.stderr()
    return int(m.group(1)), int(m.group(2))


def dns_stats(h):
    """The dns counters of h's last stats line."""
    last = None
    for line in h.stderr_lines():
        m = re.match(r"^INFO  \[stats\] (\{.*\})$", line)
        if m:
            last = json.loads(m.group(1)).get("dns")
    return last


def two_users(lab, args=()):
    """Two helpers on one network, of two users, each with a guest."""
    out = []
    for user in ("vmnet-test-a", "vmnet-test-b"):
        h, vm = lab.helper(list(args), env=sudo_env(user))
        g = lab.guest(vm, mac=h.info["vmnet_mac_address"])
        g.configure(h.info["lease_address"], h.prefixlen, h.gateway)
        out.append((h, g))
    assert out[0][0].bridge == out[1][0].bridge
    return out


def test_each_vm_answered_by_its_own_helper(lab, dns):
    """Every helper of a network answers its own VM, whatever user it runs
    as; each VM still is after the other helper left."""
    dns.upstream()
    dns.resolv(REMOTE_ADDR)
    (h1, g1), (h2, g2) = two_users(lab, ["--stats-interval", "1"])
    for _ in range(3):
        for g in (g1, g2):
            for tcp in (False, True):
                assert resolves(query(g.ns, h1.gateway, NAME, tcp=tcp))
    # Each helper saw its own VM's six queries, no more.
    assert wait_until(lambda: (dns_stats(h1) or {}).get("queries") == 6 and
                      (dns_stats(h2) or {}).get("queries") == 6, 5), \
        (dns_stats(h1), dns_stats(h2))
    assert h1.stop() == 0
    for _ in range(3):
        for tcp in (False, True):
            assert resolves(query(g2.ns, h2.gateway, NAME, tcp=tcp))
    no_errors(h2)


def test_sigstop_of_one_helper_leaves_other_vms_dns_alone(lab, dns):
    """A user stops their own helper with SIGSTOP: the other user's VM keeps
    getting every answer, over UDP and TCP (it used to lose half of them)."""
    dns.upstream()
    dns.resolv(REMOTE_ADDR)
    (h1, g1), (h2, g2) = two_users(lab)
    h2.send_signal(signal.SIGSTOP)
    try:
        failed = []
        for i in range(12):
            r = query(g1.ns, h1.gateway, NAME, tcp=i % 3 == 2, timeout=2)
            if not resolves(r):
                failed.append(r)
        assert not failed, "%d of 12 queries unanswered: %s" % (len(failed), failed[:3])
    finally:
        h2.send_signal(signal.SIGCONT)
    no_errors(h1)


def test_nobody_else_reaches_a_vms_dns_sockets(lab, dns):
    """A helper's own DNS ports answer its VM only: not another VM, not a
    user on the host, not root on the host; and port 53 itself answers no
    one but the VMs."""
    dns.upstream()
    dns.resolv(REMOTE_ADDR)
    (h1, g1), (h2, g2) = two_users(lab)
    for tcp in (False, True):
        for user in ("vmnet-test-b", None):
            r = query(lab.host, h1.gateway, NAME, tcp=tcp, timeout=1, user=user)
            assert not resolves(r), "port 53 answered %s on the host: %s" % (user or "root", r)
    udp1, tcp1 = dns_ports(h1)
    for tcp, port in ((False, udp1), (True, tcp1)):
        r = query(g2.ns, h1.gateway, NAME, tcp=tcp, port=port, timeout=1)
        assert not resolves(r), "VM 2 reached VM 1's DNS socket: %s" % r
        for user in ("vmnet-test-b", None):
            r = query(lab.host, h1.gateway, NAME, tcp=tcp, port=port, timeout=1, user=user)
            assert not resolves(r), "%s on the host reached VM 1's DNS socket: %s" % (
                user or "root", r)
    # The VMs themselves are still answered.
    for g in (g1, g2):
        assert resolves(query(g.ns, h1.gateway, NAME))


HOARD = """
import socket, sys, time
gw, n = sys.argv[1], int(sys.argv[2])
conns = []
for _ in range(n):
    try:
        conns.append(socket.create_connection((gw, 53), timeout=2))
    except OSError:
        pass
print("ok %d" % len(conns), flush=True)
time.sleep(60)
"""


def test_tcp_slot_hoarding_costs_only_the_hoarder(lab, dns):
    """VM 2 opens 40 idle TCP connections to the DNS server: VM 1's TCP
    queries are still answered at once, and so are VM 2's own new ones."""
    dns.upstream()
    dns.resolv(REMOTE_ADDR)
    (h1, g1), (h2, g2) = two_users(lab)
    p = lab.popen(g2.ns.cmd([PY, "-c", HOARD, h2.gateway, "40"]), stdout=subprocess.PIPE,
                  stdin=subprocess.DEVNULL)
    line = read_line(p.stdout.fileno(), 30).decode()
    assert line.startswith("ok "), line
    for _ in range(3):
        r = query(g1.ns, h1.gateway, NAME, tcp=True, timeout=2.5)
        assert resolves(r), "VM 1's TCP query failed while VM 2 hoards: %s" % r
    r = query(g2.ns, h2.gateway, NAME, tcp=True, timeout=2.5)
    assert resolves(r), "the hoarder's own new connection was not served: %s" % r
    no_errors(h1)
    no_errors(h2)


def test_port_53_taken(lab, dns):
    """Another program holds port 53 on every address of the host: the VM's
    queries still reach its own helper, which never needed port 53."""
    dns.upstream()
    dns.resolv(REMOTE_ADDR)
    holder = lab.popen(lab.host.cmd([PY, "-c",
                                     "import socket,time\n"
                                     "s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM)\n"
                                     "s.bind(('0.0.0.0',53)); print('ok',flush=True)\n"
                                     "time.sleep(120)\n"]),
                       stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert holder.stdout.readline().strip() == b"ok"
    h, vm = lab.helper([])
    g = lab.guest(vm, mac=h.info["vmnet_mac_address"])
    lease = udhcpc(lab, g)
    assert lease["dns"] == h.gateway, lease
    assert resolves(query(g.ns, h.gateway, NAME)), "the holder does not answer: the helper must"
    assert h.stop() == 0
    holder.kill()
    holder.wait()
    assert_clean(lab.host)


HOLD = """
import socket, struct, sys, time
gw = sys.argv[1]
q = bytes.fromhex(sys.argv[2])
idle = socket.create_connection((gw, 53), timeout=5)
busy = socket.create_connection((gw, 53), timeout=5)
busy.sendall(struct.pack("!H", len(q)) + q)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(q, (gw, 53))
print("ok", flush=True)
time.sleep(60)
"""


def test_stop_with_queries_in_flight(lab, dns):
    """Open TCP connections and unanswered queries do not hold up teardown."""
    dns.blackhole()
    dns.resolv(BLACKHOLE)
    h, g = start_guest(lab)
    _, q = build_query(NAME)
    p = lab.popen(g.ns.cmd([PY, "-c", HOLD, h.gateway, q.hex()]), stdout=subprocess.PIPE,
                  stdin=subprocess.DEVNULL)
    assert p.stdout.readline().strip() == b"ok"
    assert h.stop() == 0
    assert_clean(lab.host)
    no_errors(h)
