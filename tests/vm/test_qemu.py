# SPDX-License-Identifier: Apache-2.0
"""
End-to-end test: a real guest kernel under QEMU (TCG), networked by
vmnet-run (or vmnet-client, its name in the spec) + vmnet-helper, entirely
inside network namespaces made here.

Topology (both namespaces are created and deleted by each test):

    [guest] --fd 4-- vmnet-helper     ns "host"                 ns "remote"
                     bridge 192.168.105.1 ... veth0 10.99.0.1 === veth0 10.99.0.2
                                              default via 10.99.0.2   TCP server

The remote namespace stands for the internet. The guest (tests/vm/guest-init.sh)
prints VMTEST lines on its serial console, which is QEMU's stdout.

Run as root:  /usr/bin/python3 -m pytest tests/vm
Binaries come from build/ (override with VMNET_BUILD=dir).
"""

import ipaddress
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
VM_DIR = REPO / "tests" / "vm"
BUILD = Path(os.environ.get("VMNET_BUILD", REPO / "build"))
if not BUILD.is_absolute():
    BUILD = REPO / BUILD
QEMU = os.environ.get("QEMU", "qemu-system-x86_64")

HOST_ADDR = "10.99.0.1"
REMOTE_ADDR = "10.99.0.2"
REMOTE_PORT = 8080
BANNER = "hello from remote"

# The host namespace's resolver (dnsmasq in the remote namespace) knows this
# name; the guest asks the gateway, which forwards to it.
DNS_NAME = "vmtest.example"
DNS_ADDR = "10.99.0.77"

VM_TIMEOUT = 50        # run-vm.sh kills QEMU after this many seconds
RUN_TIMEOUT = 80       # and we kill vmnet-run after this many

# A tiny TCP server: greets every client with one line naming the address
# the connection came from (so the test can see the NAT), then closes.
SERVER = r"""
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(16)
print("ready", flush=True)
while True:
    c, peer = s.accept()
    print("connection from %s" % peer[0], flush=True)
    try:
        c.sendall(("%s, you are %s\n" % (sys.argv[3], peer[0])).encode())
    except OSError:
        pass
    c.close()
"""


def run(*args, check=True, **kw):
    return subprocess.run(args, check=check, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True, **kw)


# --- parsing the combined output of vmnet-run + QEMU ----------------------

def find_helper_json(text):
    """The helper's one-line JSON description (a dict), or None."""
    dec = json.JSONDecoder()
    for m in re.finditer(r"\{", text):
        if '"vmnet_' not in text[m.start():m.start() + 200]:
            continue
        try:
            obj, _ = dec.raw_decode(text, m.start())
        except ValueError:
            continue
        if isinstance(obj, dict) and "vmnet_mac_address" in obj:
            return obj
    return None


class VmResult:
    """The VMTEST lines of one guest run, parsed."""

    def __init__(self, text):
        self.lines = [m.group(1).strip()
                      for m in re.finditer(r"VMTEST ([^\r\n]*)", text)]
        self.lease = None        # dict(ip, prefix, router, dns, server, mac, mtu)
        self.ping = {}           # addr -> bool
        self.ping6 = {}          # addr -> bool
        self.tcp = {}            # "addr:port" -> first line received or None
        self.dns = {}            # name -> address or None
        self.upload = {}         # "addr:port" -> (bytes, sha256, server's reply) or None
        self.download = {}       # "addr:port" -> (bytes, sha256) or None
        self.addr6 = None
        self.router6 = None
        self.static = None       # "ip/prefix" set by hand (vmtest.static)
        self.inet6 = []          # (address, prefix, scope, flags) (vmtest.show6)
        self.uptime = None
        self.init_uptime = None
        self.done = False
        for line in self.lines:
            f = line.split()
            if not f:
                continue
            kind = f[0]
            if kind == "init" and len(f) >= 2:
                self.init_uptime = float(f[1])
            elif kind == "lease" and len(f) >= 2 and f[1] != "fail":
                ip, _, prefix = f[1].partition("/")
                kv = dict(zip(f[2::2], f[3::2]))
                self.lease = dict(ip=ip, prefix=int(prefix or 32),
                                  router=kv.get("router"), dns=kv.get("dns"),
                                  server=kv.get("server"), mac=kv.get("mac"),
                                  mtu=int(kv["mtu"]) if kv.get("mtu", "").isdigit() else None)
            elif kind in ("ping", "ping6") and len(f) >= 3:
                getattr(self, kind)[f[1]] = f[2] == "ok"
            elif kind == "tcp" and len(f) >= 3:
                self.tcp[f[1]] = (line.split(None, 3)[3] if len(f) > 3 else "") \
                    if f[2] == "ok" else None
            elif kind == "dns" and len(f) >= 3:
                self.dns[f[1]] = f[3] if f[2] == "ok" and len(f) > 3 else None
            elif kind == "upload" and len(f) >= 3:
                self.upload[f[1]] = (int(f[3]), f[4], " ".join(f[5:])) \
                    if f[2] == "ok" and len(f) >= 5 else None
            elif kind == "download" and len(f) >= 3:
                self.download[f[1]] = (int(f[3]), f[4]) if f[2] == "ok" and len(f) >= 5 \
                    else None
            elif kind == "addr6" and len(f) >= 2 and f[1] != "fail":
                self.addr6 = f[1]
            elif kind == "router6" and len(f) >= 2:
                self.router6 = f[1]
            elif kind == "static" and len(f) >= 4:
                self.static = f[1]
                self.lease = dict(ip=f[1].partition("/")[0], router=f[3])
            elif kind == "inet6" and len(f) >= 5:
                self.inet6.append((str(ipaddress.IPv6Address(bytes.fromhex(f[1]))),
                                   int(f[2], 16), int(f[3], 16), int(f[4], 16)))
            elif kind == "uptime" and len(f) >= 2:
                self.uptime = float(f[1])
            elif kind == "done":
                self.done = True


# --- fixtures ----------------------------------------------------------------

@pytest.fixture(scope="session")
def qemu():
    path = shutil.which(QEMU)
    if path is None:
        pytest.skip("%s not installed (apt-get install qemu-system-x86)" % QEMU)
    return path


@pytest.fixture(scope="session")
def guest_image(qemu):
    """Builds (or reuses) the guest; a failing build fails the tests."""
    if os.geteuid() != 0:
        pytest.fail("the VM tests need root (network namespaces): "
                    "sudo /usr/bin/python3 -m pytest tests/vm")
    p = run(str(VM_DIR / "build-image.sh"), "--quiet", check=False)
    if p.returncode != 0:
        pytest.fail("tests/vm/build-image.sh failed (rc %d):\n%s%s"
                    % (p.returncode, p.stdout, p.stderr))
    cache = Path(os.environ.get("VMNET_VM_CACHE", VM_DIR / "cache"))
    for name in ("vmlinuz", "initramfs.gz"):
        assert (cache / name).is_file(), "build-image.sh did not produce %s" % name
    return cache


@pytest.fixture(scope="session")
def client_binary():
    client = BUILD / "vmnet-run"
    for b in (client, BUILD / "vmnet-client", BUILD / "vmnet-helper"):
        if not os.access(b, os.X_OK):
            pytest.fail("%s not built (run make, or set VMNET_BUILD)" % b)
    return client


@pytest.fixture(scope="session")
def legacy_client(client_binary):
    """vmnet-run under the spec's name."""
    return BUILD / "vmnet-client"


class Namespaces:
    """A "host" namespace routed to a "remote" one over a veth pair."""

    def __init__(self):
        tag = secrets.token_hex(3)
        self.host = "vmt-h-" + tag
        self.remote = "vmt-r-" + tag
        self.server = None
        self.server_log = []
        self.inodes = []
        self.dnsmasq = None
        # `ip netns exec` bind-mounts this over /etc/resolv.conf.
        self.etc = Path("/etc/netns") / self.host
        self.made_parent = not self.etc.parent.exists()

    def setup(self):
        h, r = self.host, self.remote
        for ns in (h, r):
            run("ip", "netns", "add", ns)
            self.inodes.append(os.stat("/run/netns/" + ns).st_ino)
            run("ip", "-n", ns, "link", "set", "lo", "up")
        # Created directly inside the namespaces: the machine's own network
        # namespace is never touched.
        run("ip", "-n", h, "link", "add", "veth0", "type", "veth",
            "peer", "name", "veth0", "netns", r)
        run("ip", "-n", h, "addr", "add", HOST_ADDR + "/24", "dev", "veth0")
        run("ip", "-n", r, "addr", "add", REMOTE_ADDR + "/24", "dev", "veth0")
        run("ip", "-n", h, "link", "set", "veth0", "up")
        run("ip", "-n", r, "link", "set", "veth0", "up")
        run("ip", "-n", h, "route", "add", "default", "via", REMOTE_ADDR)

    def start_dns(self):
        """The host namespace's nameserver: dnsmasq in the remote namespace."""
        self.etc.mkdir(parents=True, exist_ok=True)
        (self.etc / "resolv.conf").write_text("nameserver %s\n" % REMOTE_ADDR)
        self.dnsmasq = subprocess.Popen(
            ["ip", "netns", "exec", self.remote, "dnsmasq", "-k", "--conf-file=/dev/null",
             "--no-resolv", "--no-hosts", "--bind-interfaces", "--listen-address=" + REMOTE_ADDR,
             "--pid-file=", "--address=/%s/%s" % (DNS_NAME, DNS_ADDR)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while not run("ip", "netns", "exec", self.remote, "ss", "-Hlun", "sport = :53").stdout:
            assert self.dnsmasq.poll() is None and time.monotonic() < deadline, \
                "dnsmasq did not start in %s" % self.remote
            time.sleep(0.05)

    def start_server(self, port=REMOTE_PORT, banner=BANNER):
        self.server = subprocess.Popen(
            ["ip", "netns", "exec", self.remote, sys.executable, "-c", SERVER,
             REMOTE_ADDR, str(port), banner],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        line = self.server.stdout.readline()
        assert line.strip() == "ready", "TCP server did not start: %r" % line

    def server_connections(self):
        """Peer addresses the server saw so far (kills the server)."""
        if self.server is None:
            return []
        self.server.kill()
        out, _ = self.server.communicate(timeout=5)
        self.server = None
        self.server_log = re.findall(r"connection from (\S+)", out)
        return self.server_log

    def links(self, ns):
        return run("ip", "-n", ns, "-o", "link", "show").stdout

    def teardown(self):
        if self.server is not None:
            self.server.kill()
            self.server.communicate(timeout=5)
        if self.dnsmasq is not None:
            self.dnsmasq.kill()
            self.dnsmasq.wait(5)
        shutil.rmtree(self.etc, ignore_errors=True)
        if self.made_parent:
            try:
                self.etc.parent.rmdir()   # only if we created it and it is empty
            except OSError:
                pass
        for ns in (self.host, self.remote):
            if not os.path.exists("/run/netns/" + ns):
                continue
            # Whatever is still running inside our namespaces was started
            # by this test: end it by pid.
            pids = run("ip", "netns", "pids", ns, check=False).stdout.split()
            for pid in pids:
                try:
                    os.kill(int(pid), signal.SIGKILL)
                except (ProcessLookupError, ValueError):
                    pass
            run("ip", "netns", "del", ns, check=False)
        # Helper state kept per network namespace (see src/setup/network.h).
        for ino in self.inodes:
            for base in ("/run/vmnet-helper", "/var/lib/vmnet-helper"):
                d = Path(base) / str(ino)
                if d.is_dir():
                    shutil.rmtree(d, ignore_errors=True)


@pytest.fixture
def netns():
    ns = Namespaces()
    try:
        ns.setup()
        ns.start_server()
        ns.start_dns()
        yield ns
    finally:
        ns.teardown()


def run_vm(client, ns, mode, kernel_args, helper_args=(), env=None):
    """Boots the guest under vmnet-run in ns.host; returns
    (returncode, stdout, stderr, helper JSON, VmResult, seconds)."""
    cmd = ["ip", "netns", "exec", ns.host, str(client),
           "--operation-mode", mode, *helper_args, "--",
           str(VM_DIR / "run-vm.sh"), "--timeout", str(VM_TIMEOUT), *kernel_args]
    start = time.monotonic()
    p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, errors="replace",
                         start_new_session=True, env=env)
    try:
        out, err = p.communicate(timeout=RUN_TIMEOUT)
    except subprocess.TimeoutExpired:
        for sig in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.killpg(p.pid, sig)
            except ProcessLookupError:
                pass
            time.sleep(1)
        out, err = p.communicate()
        pytest.fail("vmnet-run did not finish in %d s\nstdout:\n%s\nstderr:\n%s"
                    % (RUN_TIMEOUT, out, err))
    elapsed = time.monotonic() - start
    info = find_helper_json(out) or find_helper_json(err)
    return p.returncode, out, err, info, VmResult(out), elapsed


class BackgroundVm:
    """A guest left running (vmtest.hold) while the test does other things."""

    def __init__(self, client, ns, mode, kernel_args, helper_args=()):
        cmd = ["ip", "netns", "exec", ns.host, str(client),
               "--operation-mode", mode, *helper_args, "--",
               str(VM_DIR / "run-vm.sh"), "--timeout", str(VM_TIMEOUT), *kernel_args]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, errors="replace", start_new_session=True)
        self.out = []
        self.err = []
        self.done = threading.Event()
        self.threads = [threading.Thread(target=self._read, args=(self.proc.stdout, self.out, True)),
                        threading.Thread(target=self._read, args=(self.proc.stderr, self.err, False))]
        for t in self.threads:
            t.daemon = True
            t.start()

    def _read(self, stream, sink, watch):
        for line in stream:
            sink.append(line)
            if watch and "VMTEST done" in line:
                self.done.set()
        if watch:
            self.done.set()

    def wait_done(self, timeout):
        """Waits until the guest finished its checks; returns (info, VmResult)."""
        self.done.wait(timeout)
        out = "".join(self.out)
        return find_helper_json(out) or find_helper_json("".join(self.err)), VmResult(out)

    def stop(self):
        """SIGTERM (the contract's way to stop), then SIGKILL the group."""
        for sig, wait in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
            if self.proc.poll() is not None:
                break
            try:
                os.killpg(self.proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                self.proc.wait(wait)
            except subprocess.TimeoutExpired:
                pass
        for t in self.threads:
            t.join(5)
        return self.proc.returncode

    def describe(self):
        return describe(self.proc.returncode, "".join(self.out), "".join(self.err))


def describe(rc, out, err):
    return "rc=%s\n--- stdout ---\n%s\n--- stderr ---\n%s" % (rc, out[-6000:], err[-6000:])


def check_cleaned_up(ns, info):
    """After vmnet-run returned, the helper's TAP and bridge are gone."""
    names = [info.get(k) for k in ("bridge", "tap") if info and info.get(k)]
    if not names:
        return
    deadline = time.monotonic() + 3
    while True:
        links = ns.links(ns.host)
        left = [n for n in names if re.search(r"^\d+: %s[:@]" % re.escape(n), links, re.M)]
        if not left or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert not left, "links left behind in %s after the run: %s" % (ns.host, left)


def check_lease(info, vm, ctx, require_router=True):
    assert info is not None, "no helper JSON in the output\n" + ctx
    for key in ("vmnet_start_address", "vmnet_end_address", "vmnet_subnet_mask",
                "vmnet_mac_address", "lease_address"):
        assert key in info, "helper JSON lacks %s: %s" % (key, info)
    assert vm.done, "the guest did not finish its checks\n" + ctx
    assert vm.lease is not None, "the guest got no DHCP lease\n" + ctx
    start = ipaddress.IPv4Address(info["vmnet_start_address"])
    end = ipaddress.IPv4Address(info["vmnet_end_address"])
    net = ipaddress.IPv4Network("%s/%s" % (start, info["vmnet_subnet_mask"]),
                                strict=False)
    ip = ipaddress.IPv4Address(vm.lease["ip"])
    assert str(ip) == info["lease_address"], \
        "leased %s but the JSON promised %s" % (ip, info["lease_address"])
    assert start < ip <= end, "lease %s outside the pool %s-%s" % (ip, start, end)
    assert ip in net and vm.lease["prefix"] == net.prefixlen, \
        "lease %s/%d does not match %s" % (ip, vm.lease["prefix"], net)
    if require_router or vm.lease["router"] not in (None, "none"):
        assert vm.lease["router"] == str(start), \
            "DHCP router %s, expected the gateway %s" % (vm.lease["router"], start)
    assert vm.lease["server"] == str(start), \
        "DHCP server %s, expected the gateway %s" % (vm.lease["server"], start)
    return start


def check_dns(vm, gateway, ctx):
    """The lease names the gateway as DNS server, and it resolves DNS_NAME."""
    assert vm.lease["dns"] == str(gateway), \
        "DHCP DNS server %s, expected the gateway %s\n%s" % (vm.lease["dns"], gateway, ctx)
    assert vm.dns.get(DNS_NAME) == DNS_ADDR, \
        "the guest did not resolve %s through the gateway\n%s" % (DNS_NAME, ctx)


def check_ipv6(info, vm, ctx):
    """SLAAC in the JSON's prefix from the helper's RAs; ping6 the RA's router."""
    prefix = ipaddress.IPv6Network(info["vmnet_nat66_prefix"] + "/64")
    assert vm.addr6 is not None, "the guest got no IPv6 address by SLAAC\n" + ctx
    addr, _, plen = vm.addr6.partition("/")
    assert ipaddress.IPv6Address(addr) in prefix and plen == "64", \
        "SLAAC address %s outside %s\n%s" % (vm.addr6, prefix, ctx)
    assert vm.router6 and ipaddress.IPv6Address(vm.router6).is_link_local, \
        "no link-local IPv6 default router (%s)\n%s" % (vm.router6, ctx)
    assert vm.ping6.get(vm.router6) is True, "ping6 to the gateway failed\n" + ctx


# --- tests -------------------------------------------------------------------

def test_shared_mode(qemu, guest_image, client_binary, netns):
    target = "%s:%d" % (REMOTE_ADDR, REMOTE_PORT)
    rc, out, err, info, vm, elapsed = run_vm(
        client_binary, netns, "shared",
        ["vmtest.ping=router", "vmtest.tcp=" + target, "vmtest.dns=" + DNS_NAME,
         "vmtest.ping6=router"])
    ctx = describe(rc, out, err)
    print("shared mode: %.1f s, guest uptime %s s, json %s" % (elapsed, vm.uptime, info))
    gateway = check_lease(info, vm, ctx)
    assert vm.ping.get(str(gateway)) is True, "ping to the gateway failed\n" + ctx
    check_ipv6(info, vm, ctx)
    line = vm.tcp.get(target)
    assert line is not None, "TCP through NAT to %s failed\n%s" % (target, ctx)
    check_dns(vm, gateway, ctx)
    assert line.startswith(BANNER), "unexpected TCP greeting %r" % line
    # The remote saw the host's address, not the guest's: NAT happened.
    peers = netns.server_connections()
    assert peers and all(p == HOST_ADDR for p in peers), \
        "remote saw connections from %s, expected %s (NAT)" % (peers, HOST_ADDR)
    assert rc == 0, "vmnet-run exited with %s\n%s" % (rc, ctx)
    check_cleaned_up(netns, info)


def test_host_mode(qemu, guest_image, legacy_client, netns):
    target = "%s:%d" % (REMOTE_ADDR, REMOTE_PORT)
    rc, out, err, info, vm, elapsed = run_vm(
        legacy_client, netns, "host",
        ["vmtest.ping=router", "vmtest.ping=" + REMOTE_ADDR, "vmtest.tcp=" + target,
         "vmtest.dns=" + DNS_NAME])
    ctx = describe(rc, out, err)
    print("host mode: %.1f s, guest uptime %s s, json %s" % (elapsed, vm.uptime, info))
    # Host mode may or may not announce a router; the gateway answers anyway.
    gateway = check_lease(info, vm, ctx, require_router=False)
    assert vm.ping.get(str(gateway)) is True, "ping to the gateway failed\n" + ctx
    # No way out, but names still resolve: the helper forwards on the host.
    check_dns(vm, gateway, ctx)
    assert vm.ping.get(REMOTE_ADDR) is False, \
        "host mode guest reached the remote by ping\n" + ctx
    assert target in vm.tcp, "no TCP result\n" + ctx
    assert vm.tcp[target] is None, \
        "host mode guest reached the remote over TCP: %r\n%s" % (vm.tcp[target], ctx)
    assert netns.server_connections() == [], "the remote saw a connection"
    assert rc == 0, "vmnet-run exited with %s\n%s" % (rc, ctx)
    check_cleaned_up(netns, info)


@pytest.mark.parametrize("mode,helper_args,reachable", [
    ("shared", [], True),
    ("host", [], True),
    ("host", ["--enable-isolation"], False),
], ids=["shared", "host", "host-isolated"])
def test_two_vms(qemu, guest_image, client_binary, netns, mode, helper_args, reachable):
    """A second VM on the same network pings the first (unless isolated)."""
    first = BackgroundVm(client_binary, netns, mode, ["vmtest.hold=45"], helper_args)
    try:
        info_a, vm_a = first.wait_done(40)
        check_lease(info_a, vm_a, first.describe(), require_router=(mode == "shared"))
        peer = vm_a.lease["ip"]
        rc, out, err, info_b, vm_b, elapsed = run_vm(
            client_binary, netns, mode, ["vmtest.ping=router", "vmtest.ping=" + peer],
            helper_args)
        ctx = describe(rc, out, err)
        print("%s: second VM %.1f s, leases %s and %s"
              % (mode, elapsed, peer, vm_b.lease and vm_b.lease["ip"]))
        gateway = check_lease(info_b, vm_b, ctx, require_router=(mode == "shared"))
        assert vm_b.lease["ip"] != peer, "both VMs leased %s" % peer
        assert vm_b.ping.get(str(gateway)) is True, "ping to the gateway failed\n" + ctx
        if reachable:
            assert vm_b.ping.get(peer) is True, "VM could not ping VM %s\n%s" % (peer, ctx)
        else:
            assert vm_b.ping.get(peer) is False, \
                "isolated VM reached VM %s\n%s" % (peer, ctx)
        assert rc == 0, "vmnet-run exited with %s\n%s" % (rc, ctx)
    finally:
        first.stop()


# A file server in the host namespace: on UPLOAD_PORT it reads until the
# client's EOF and answers "<bytes> <sha256>"; on DOWNLOAD_PORT it sends
# DOWNLOAD_BYTES of a fixed pattern and closes. Prints "ready", then one line
# per transfer.
FILE_SERVER = r"""
import hashlib, socket, sys, threading
addr, up, down, size = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
pattern = hashlib.sha256(b"vmtest").digest() * 2048
def listen(port):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((addr, port)); s.listen(4); return s
def upload(s):
    while True:
        c, _ = s.accept(); h = hashlib.sha256(); n = 0
        while True:
            b = c.recv(1 << 16)
            if not b:
                break
            h.update(b); n += len(b)
        c.sendall(("%d %s\n" % (n, h.hexdigest())).encode()); c.close()
        print("upload", n, h.hexdigest(), flush=True)
def download(s):
    while True:
        c, _ = s.accept(); h = hashlib.sha256(); n = 0
        while n < size:
            chunk = pattern[:min(len(pattern), size - n)]
            c.sendall(chunk); h.update(chunk); n += len(chunk)
        c.close()
        print("download", n, h.hexdigest(), flush=True)
u, d = listen(up), listen(down)
threading.Thread(target=download, args=(d,), daemon=True).start()
print("ready", flush=True)
upload(u)
"""
UPLOAD_PORT = 8082
DOWNLOAD_PORT = 8083
FILE_BYTES = 4 << 20
STATS_RE = re.compile(r"^INFO  \[stats\] (\{.*\})$", re.M)


def test_mtu_from_dhcp(qemu, guest_image, client_binary, netns):
    """--mtu 65520: the guest sets its MTU from DHCP option 26 (no host_mtu on
    the device: the guest's virtio-net takes any MTU up to 65535 with QEMU's
    default mergeable receive buffers) and moves files both ways through the
    helper in frames of up to 64 KiB (QEMU's dgram backend carries them)."""
    mtu = 65520
    server = subprocess.Popen(
        ["ip", "netns", "exec", netns.host, sys.executable, "-c", FILE_SERVER, HOST_ADDR,
         str(UPLOAD_PORT), str(DOWNLOAD_PORT), str(FILE_BYTES)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert server.stdout.readline().strip() == "ready"
        up = "%s:%d" % (HOST_ADDR, UPLOAD_PORT)
        down = "%s:%d" % (HOST_ADDR, DOWNLOAD_PORT)
        rc, out, err, info, vm, elapsed = run_vm(
            client_binary, netns, "shared",
            ["vmtest.ping=router", "vmtest.upload=%s:%d" % (up, FILE_BYTES),
             "vmtest.download=" + down],
            ["--mtu", str(mtu), "--stats-interval", "1"])
    finally:
        server.kill()
        log, _ = server.communicate(timeout=5)
    ctx = describe(rc, out, err) + "\n--- server ---\n" + log
    print("mtu %d: %.1f s, guest uptime %s s, json %s" % (mtu, elapsed, vm.uptime, info))
    gateway = check_lease(info, vm, ctx)
    assert info["vmnet_mtu"] == mtu, info
    assert vm.lease["mtu"] == mtu, "the guest did not take the MTU from DHCP\n" + ctx
    assert vm.ping.get(str(gateway)) is True, "ping to the gateway failed\n" + ctx
    server_lines = [l.split() for l in log.splitlines()]
    got = vm.upload.get(up)
    assert got is not None, "upload failed\n" + ctx
    assert got[0] == FILE_BYTES and got[2] == "%d %s" % (FILE_BYTES, got[1]), \
        "upload corrupted: guest %s, server said %r\n%s" % (got[:2], got[2], ctx)
    got = vm.download.get(down)
    sent = [l for l in server_lines if l[0] == "download"]
    assert got is not None and sent, "download failed\n" + ctx
    assert got == (int(sent[0][1]), sent[0][2]), "download corrupted: %s vs %s" % (got, sent)
    # The frames were as large as the MTU allows, both ways.
    stats = [json.loads(m) for m in STATS_RE.findall(err)]
    assert stats, "no stats from the helper\n" + ctx
    last = stats[-1]
    for side in ("vm", "host"):
        assert last[side]["bytes"] / max(1, last[side]["packets"]) > 4 * 1514, last
    assert last["vm"]["drops"] == 0, last
    assert rc == 0, "vmnet-client exited with %s\n%s" % (rc, ctx)
    check_cleaned_up(netns, info)


# --- every way in: --fd dgram (above), --socket dgram, --socket stream, --fd stream ---

def read_json_line(stream, timeout):
    """The helper's JSON line from its stdout (a text pipe), or None."""
    box = []
    t = threading.Thread(target=lambda: box.append(stream.readline()), daemon=True)
    t.start()
    t.join(timeout)
    return json.loads(box[0]) if box and box[0].strip() else None


def run_vm_on_socket(ns, path, socket_type, kernel_args, helper_args=(), vm_args=()):
    """A helper with --socket PATH --socket-type socket_type in ns.host, and
    QEMU connecting to PATH itself (run-vm.sh --socket, or --vhost-user).
    Returns (qemu rc, qemu stdout, helper stderr, helper JSON, VmResult,
    helper rc)."""
    helper = subprocess.Popen(
        ["ip", "netns", "exec", ns.host, str(BUILD / "vmnet-helper"), "--socket", str(path),
         "--socket-type", socket_type, "--operation-mode", "shared", *helper_args],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        errors="replace")
    try:
        info = read_json_line(helper.stdout, 30)
        assert info is not None, "no JSON line from the helper: %s" % helper.stderr.read()
        cmd = ["ip", "netns", "exec", ns.host, str(VM_DIR / "run-vm.sh"),
               "--vhost-user" if socket_type == "vhost-user" else "--socket", str(path),
               "--timeout", str(VM_TIMEOUT), *vm_args]
        if socket_type == "stream":
            cmd.append("--stream")
        p = subprocess.run(cmd + list(kernel_args), stdin=subprocess.DEVNULL,
                           capture_output=True, text=True, errors="replace",
                           timeout=RUN_TIMEOUT)
        # The VM is gone: the helper notices by itself (end of the stream, or
        # the datagram peer's socket released) and stops.
        try:
            helper_rc = helper.wait(15)
        except subprocess.TimeoutExpired:
            helper.terminate()
            helper_rc = None
        err = helper.stderr.read()
    finally:
        if helper.poll() is None:
            helper.kill()
            helper.wait(5)
    return p.returncode, p.stdout, err, info, VmResult(p.stdout), helper_rc


def check_reaches_out(netns, info, vm, ctx):
    """Lease, gateway ping and TCP through NAT to the remote namespace."""
    target = "%s:%d" % (REMOTE_ADDR, REMOTE_PORT)
    gateway = check_lease(info, vm, ctx)
    assert vm.ping.get(str(gateway)) is True, "ping to the gateway failed\n" + ctx
    line = vm.tcp.get(target)
    assert line is not None and line.startswith(BANNER), \
        "TCP through NAT to %s failed\n%s" % (target, ctx)
    peers = netns.server_connections()
    assert peers and all(p == HOST_ADDR for p in peers), \
        "remote saw connections from %s, expected %s (NAT)" % (peers, HOST_ADDR)


@pytest.mark.parametrize("socket_type", ["dgram", "stream"])
def test_socket_qemu_connects(qemu, guest_image, client_binary, netns, tmp_path, socket_type):
    """--socket PATH with QEMU connecting itself: the README's
    -netdev dgram,local.type=unix,...,remote.type=unix,... example, and
    --socket-type stream with -netdev stream,server=off,addr.type=unix."""
    path = tmp_path / "vmnet.sock"
    args = ["vmtest.ping=router", "vmtest.tcp=%s:%d" % (REMOTE_ADDR, REMOTE_PORT)]
    rc, out, err, info, vm, helper_rc = run_vm_on_socket(netns, path, socket_type, args)
    ctx = describe(rc, out, err)
    print("--socket %s: json %s" % (socket_type, info))
    check_reaches_out(netns, info, vm, ctx)
    assert rc == 0, "QEMU exited with %s\n%s" % (rc, ctx)
    assert helper_rc == 0, "the helper did not stop by itself after the VM (rc %s)\n%s" % (
        helper_rc, ctx)
    assert not path.exists() and not (tmp_path / "vmnet.sock.lock").exists(), \
        "socket files left behind: %s" % list(tmp_path.iterdir())
    check_cleaned_up(netns, info)


def test_fd_stream_under_vmnet_run(qemu, guest_image, client_binary, netns):
    """vmnet-run --socket-type stream: QEMU's -netdev stream on fd 4
    (addr.type=fd), the helper finding the stream by itself."""
    rc, out, err, info, vm, elapsed = run_vm(
        client_binary, netns, "shared",
        ["--stream", "vmtest.ping=router", "vmtest.tcp=%s:%d" % (REMOTE_ADDR, REMOTE_PORT)],
        ["--socket-type", "stream"])
    ctx = describe(rc, out, err)
    print("--fd stream: %.1f s, json %s" % (elapsed, info))
    check_reaches_out(netns, info, vm, ctx)
    assert rc == 0, "vmnet-run exited with %s\n%s" % (rc, ctx)
    check_cleaned_up(netns, info)


# --- vhost-user: the helper is QEMU's vhost-user backend ----------------------

# Every offload, mergeable buffers, event index and indirect descriptors off
# (virtio-net-pci's properties): the plainest rings a guest can have.
VHOST_PLAIN = ("csum=off,guest_csum=off,host_tso4=off,host_tso6=off,host_ecn=off,"
               "guest_tso4=off,guest_tso6=off,guest_ecn=off,mrg_rxbuf=off,event_idx=off,"
               "indirect_desc=off")


def file_server(ns):
    server = subprocess.Popen(
        ["ip", "netns", "exec", ns.host, sys.executable, "-c", FILE_SERVER, HOST_ADDR,
         str(UPLOAD_PORT), str(DOWNLOAD_PORT), str(FILE_BYTES)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    assert server.stdout.readline().strip() == "ready"
    return server


def check_files(vm, log, ctx):
    """4 MiB both ways, every byte as sent (SHA-256 on both ends)."""
    up = "%s:%d" % (HOST_ADDR, UPLOAD_PORT)
    down = "%s:%d" % (HOST_ADDR, DOWNLOAD_PORT)
    got = vm.upload.get(up)
    assert got is not None, "upload failed\n" + ctx
    assert got[0] == FILE_BYTES and got[2] == "%d %s" % (FILE_BYTES, got[1]), \
        "upload corrupted: guest %s, server said %r\n%s" % (got[:2], got[2], ctx)
    sent = [l.split() for l in log.splitlines() if l.startswith("download")]
    got = vm.download.get(down)
    assert got is not None and sent, "download failed\n" + ctx
    assert got == (int(sent[0][1]), sent[0][2]), "download corrupted: %s vs %s" % (got, sent)


@pytest.mark.parametrize("offloads", [True, False], ids=["offloads", "plain"])
def test_vhost_user(qemu, guest_image, client_binary, netns, tmp_path, offloads):
    """--socket-type vhost-user with QEMU's -netdev vhost-user: lease,
    gateway, TCP through NAT, DNS, IPv6, and 4 MiB each way with every byte
    checked; with the guest's offloads (checksum, TSO, mergeable buffers,
    event index, indirect descriptors) and with none of them."""
    path = tmp_path / "vhost.sock"
    server = file_server(netns)
    try:
        rc, out, err, info, vm, helper_rc = run_vm_on_socket(
            netns, path, "vhost-user",
            ["vmtest.ping=router", "vmtest.tcp=%s:%d" % (REMOTE_ADDR, REMOTE_PORT),
             "vmtest.dns=" + DNS_NAME, "vmtest.ping6=router",
             "vmtest.upload=%s:%d:%d" % (HOST_ADDR, UPLOAD_PORT, FILE_BYTES),
             "vmtest.download=%s:%d" % (HOST_ADDR, DOWNLOAD_PORT)],
            ["--stats-interval", "1"], [] if offloads else ["--nic-opts", VHOST_PLAIN])
    finally:
        server.kill()
        log, _ = server.communicate(timeout=5)
    ctx = describe(rc, out, err) + "\n--- server ---\n" + log
    print("vhost-user (%s): json %s" % ("offloads" if offloads else "plain", info))
    assert info["socket_type"] == "vhost-user", info
    check_reaches_out(netns, info, vm, ctx)
    check_dns(vm, check_lease(info, vm, ctx), ctx)
    check_ipv6(info, vm, ctx)
    check_files(vm, log, ctx)
    state = "on" if offloads else "off"
    assert "offloads: checksum %s/%s, TSO %s/%s" % ((state,) * 4) in err, ctx
    assert ("mergeable buffers" in err) == offloads, ctx
    stats = [json.loads(m) for m in STATS_RE.findall(err)]
    assert stats, "no stats from the helper\n" + ctx
    last = stats[-1]
    assert last["vm"]["drops"] == 0 and last["host"]["drops"] == 0, last
    # Without offloads no frame is longer than the MTU's, either way. With
    # them the helper's super-frames into the guest show on the host side;
    # the guest's own TCP sizes its bursts from its pacing rate, which under
    # TCG is often one segment (3 runs in 4 of one commit sent 4 MiB in
    # MTU-sized frames): the guest's super-frames through the helper are
    # checked where a namespace's kernel sends them at speed
    # (tests/integration/test_vhost.py::test_traffic_both_ways).
    for side in ("vm", "host"):
        average = last[side]["bytes"] / max(1, last[side]["packets"])
        if side == "host" or not offloads:
            assert (average > 1514) == offloads, (side, last)
    assert rc == 0, "QEMU exited with %s\n%s" % (rc, ctx)
    assert helper_rc == 0, "the helper did not stop after the VM (rc %s)\n%s" % (helper_rc, ctx)
    assert list(tmp_path.iterdir()) == [], "files left behind: %s" % list(tmp_path.iterdir())
    check_cleaned_up(netns, info)


def test_vhost_user_reconnect(qemu, guest_image, client_binary, netns, tmp_path):
    """A QEMU that goes away (killed with its guest running) stops its
    helper, which leaves nothing behind; a QEMU that comes back to the same
    path finds a new helper there, and the same interface id gets the same
    lease."""
    path = tmp_path / "vhost.sock"
    uuid = "5F1C2A9E-7B3D-4C1E-9A2F-0D8E6B4C3A21"
    helper = subprocess.Popen(
        ["ip", "netns", "exec", netns.host, str(BUILD / "vmnet-helper"), "--socket", str(path),
         "--socket-type", "vhost-user", "--interface-id", uuid],
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        errors="replace")
    vm = None
    try:
        info = read_json_line(helper.stdout, 30)
        assert info is not None, "no JSON line from the helper"
        vm = subprocess.Popen(
            ["ip", "netns", "exec", netns.host, str(VM_DIR / "run-vm.sh"), "--vhost-user",
             str(path), "--timeout", str(VM_TIMEOUT), "vmtest.ping=router", "vmtest.hold=60"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, errors="replace", start_new_session=True)
        out = []
        for line in vm.stdout:
            out.append(line)
            if "VMTEST done" in line:
                break
        first = VmResult("".join(out))
        check_lease(info, first, "".join(out))
        assert first.ping.get(info["vmnet_start_address"]) is True, "".join(out)
        os.killpg(vm.pid, signal.SIGKILL)      # QEMU and its guest, mid-run
        vm.wait(10)
        helper_rc = helper.wait(15)
        err = helper.stderr.read()
    finally:
        if vm is not None and vm.poll() is None:
            os.killpg(vm.pid, signal.SIGKILL)
        if helper.poll() is None:
            helper.kill()
            helper.wait(5)
    assert helper_rc == 0, "helper rc %s\n%s" % (helper_rc, err)
    assert "the VM closed its vhost-user connection" in err, err
    assert list(tmp_path.iterdir()) == [], "files left behind: %s" % list(tmp_path.iterdir())
    check_cleaned_up(netns, info)
    # Back: a new helper on the same path, a new QEMU.
    rc, out2, err2, info2, vm2, helper_rc2 = run_vm_on_socket(
        netns, path, "vhost-user", ["vmtest.ping=router"], ["--interface-id", uuid])
    ctx = describe(rc, out2, err2)
    check_lease(info2, vm2, ctx)
    assert info2["lease_address"] == info["lease_address"], (info, info2)
    assert vm2.ping.get(info2["vmnet_start_address"]) is True, ctx
    assert rc == 0 and helper_rc2 == 0, ctx


def test_vhost_user_under_vmnet_run(qemu, guest_image, client_binary, netns, tmp_path):
    """vmnet-run --socket-type vhost-user: the socket in a directory of its
    own under $XDG_RUNTIME_DIR, its path given to QEMU in place of {socket},
    the directory gone afterwards."""
    env = dict(os.environ, XDG_RUNTIME_DIR=str(tmp_path))
    rc, out, err, info, vm, elapsed = run_vm(
        client_binary, netns, "shared",
        ["--vhost-user", "{socket}", "vmtest.ping=router",
         "vmtest.tcp=%s:%d" % (REMOTE_ADDR, REMOTE_PORT)],
        ["--socket-type", "vhost-user"], env=env)
    ctx = describe(rc, out, err)
    print("vmnet-run vhost-user: %.1f s, json %s" % (elapsed, info))
    check_reaches_out(netns, info, vm, ctx)
    assert info["socket_type"] == "vhost-user", info
    assert rc == 0, "vmnet-run exited with %s\n%s" % (rc, ctx)
    assert list(tmp_path.iterdir()) == [], "left behind: %s" % list(tmp_path.iterdir())


# --- a hostile VM beside the guest ------------------------------------------

class RawVm:
    """A second helper on the network whose VM is this test: raw frames on
    its socket, as a hostile VM sends them (scapy)."""

    def __init__(self, ns, mode, tmp):
        import socket
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.stderr_path = tmp / "raw-helper.stderr"
        self.proc = subprocess.Popen(
            ["ip", "netns", "exec", ns.host, str(BUILD / "vmnet-helper"), "--fd",
             str(theirs.fileno()), "--operation-mode", mode, "--stats-interval", "1"],
            pass_fds=(theirs.fileno(),), stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=open(self.stderr_path, "wb"))
        theirs.close()
        line = self.proc.stdout.readline()
        assert line, "the raw VM's helper did not start: %s" % self.stderr_path.read_text()
        self.info = json.loads(line)
        self.mac = self.info["vmnet_mac_address"]
        self.sock = ours
        self.stop_event = threading.Event()
        self.thread = None

    def run(self, handler):
        """Calls handler(frame bytes) for every frame the network sends it,
        in a thread, until stop()."""
        import select

        def loop():
            while not self.stop_event.is_set():
                r, _, _ = select.select([self.sock], [], [], 0.1)
                if r:
                    handler(self.sock.recv(65536))
        self.thread = threading.Thread(target=loop, daemon=True)
        self.thread.start()

    def send(self, frame):
        self.sock.send(bytes(frame))

    def stop(self):
        self.stop_event.set()
        if self.thread:
            self.thread.join(5)
        self.proc.terminate()
        try:
            self.proc.wait(15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)
        self.sock.close()
        return self.stderr_path.read_text()


def answer_every_probe(vm, answered):
    """What the attacker of issue 16 did: to every duplicate address
    detection probe it sees (a neighbour solicitation from ::), a probe of
    its own for the same address and an advertisement claiming it."""
    from scapy.all import Ether, raw
    from scapy.layers.inet6 import (ICMPv6ND_NA, ICMPv6ND_NS, ICMPv6NDOptDstLLAddr, IPv6,
                                    in6_getnsma, in6_getnsmac)
    import socket
    b = [int(x, 16) for x in vm.mac.split(":")]
    own_ll = str(ipaddress.IPv6Address(bytes([0xfe, 0x80] + [0] * 6 + [b[0] ^ 2] + b[1:3] +
                                             [0xff, 0xfe] + b[3:])))

    def handler(frame):
        try:
            p = Ether(frame)
        except Exception:  # noqa: BLE001 - not a frame scapy reads
            return
        if IPv6 not in p or ICMPv6ND_NS not in p or p[IPv6].src != "::":
            return
        tgt = p[ICMPv6ND_NS].tgt
        answered.append(tgt)
        group = socket.inet_ntop(socket.AF_INET6, in6_getnsma(socket.inet_pton(socket.AF_INET6,
                                                                               tgt)))
        vm.send(raw(Ether(src=vm.mac, dst=in6_getnsmac(socket.inet_pton(socket.AF_INET6, group))) /
                    IPv6(src="::", dst=group, hlim=255) / ICMPv6ND_NS(tgt=tgt)))
        vm.send(raw(Ether(src=vm.mac, dst="33:33:00:00:00:01") /
                    IPv6(src=own_ll, dst="ff02::1", hlim=255) /
                    ICMPv6ND_NA(tgt=tgt, R=0, S=0, O=1) / ICMPv6NDOptDstLLAddr(lladdr=vm.mac)))
    return handler


IFA_F_DADFAILED = 0x08
IFA_F_TENTATIVE = 0x40


def test_dad_cannot_be_turned_against_another_vm(qemu, guest_image, client_binary, netns,
                                                 tmp_path):
    """Issue 16: a VM that answers every duplicate address detection probe
    it sees, with its own probe for the address and an advertisement of it,
    made a real guest's link-local and SLAAC addresses fail (dadfailed). A
    probe now claims its address first come first served, so the attacker
    may neither probe for nor advertise it: the guest keeps both."""
    attacker = RawVm(netns, "shared", tmp_path)
    answered = []
    attacker.run(answer_every_probe(attacker, answered))
    try:
        rc, out, err, info, vm, elapsed = run_vm(
            client_binary, netns, "shared", ["vmtest.show6=15"])
    finally:
        attacker_log = attacker.stop()
    ctx = describe(rc, out, err) + "\n--- attacker's helper ---\n" + attacker_log[-3000:]
    print("guest IPv6: %s; the attacker answered probes for %s" % (vm.inet6, answered))
    assert info is not None and vm.done, "the guest did not finish\n" + ctx
    assert answered, "the attacker saw no probe: the test proves nothing\n" + ctx
    failed = [a for a in vm.inet6 if a[3] & (IFA_F_DADFAILED | IFA_F_TENTATIVE)]
    assert not failed, "the guest's addresses failed duplicate address detection: %s\n%s" % (
        failed, ctx)
    prefix = ipaddress.IPv6Network(info["vmnet_nat66_prefix"] + "/64")
    link = [a for a in vm.inet6 if a[2] == 0x20]
    slaac = [a for a in vm.inet6 if a[2] == 0 and ipaddress.IPv6Address(a[0]) in prefix]
    assert link and slaac, "the guest lacks its link-local or SLAAC address\n" + ctx
    assert "IPv6 frames from or advertising" in attacker_log, attacker_log
    assert rc == 0, "vmnet-run exited with %s\n%s" % (rc, ctx)


STATIC_ID = "5B1E64A0-2F3D-4C8B-9A71-0E6C2D4F8A13"


def first_slot(interface_id, start, end):
    """The address lease.c tries first for an interface id (FNV-1a of it,
    uppercased): what a fresh network leases it."""
    h = 2166136261
    for c in interface_id.upper().encode():
        h = ((h ^ c) * 16777619) & 0xffffffff
    size = int(end) - int(start)
    return ipaddress.IPv4Address(int(start) + 1 + h % size)


def test_static_address_in_the_pool(qemu, guest_image, client_binary, netns):
    """Issue 16: a guest whose address is set by hand inside the DHCP pool
    (busybox `ip addr add`) had every frame dropped unless DHCP had leased
    it that address. As on macOS it now works: the first VM to use a free
    pool address gets it, recorded in the lease file as that VM's lease;
    it reaches the gateway and, through NAT, the outside."""
    start, end = ipaddress.IPv4Address("192.168.105.1"), ipaddress.IPv4Address("192.168.105.254")
    static = ipaddress.IPv4Address("192.168.105.250")
    if first_slot(STATIC_ID, start, end) == static:
        static -= 1
    target = "%s:%d" % (REMOTE_ADDR, REMOTE_PORT)
    rc, out, err, info, vm, elapsed = run_vm(
        client_binary, netns, "shared",
        ["vmtest.static=%s/24@%s" % (static, start), "vmtest.ping=router", "vmtest.tcp=" + target],
        ["--interface-id", STATIC_ID])
    ctx = describe(rc, out, err)
    assert info is not None and vm.done, "the guest did not finish\n" + ctx
    assert vm.static == "%s/24" % static and info["lease_address"] != str(static), ctx
    assert vm.ping.get(str(start)) is True, "the guest cannot ping the gateway\n" + ctx
    line = vm.tcp.get(target)
    assert line is not None and line.startswith(BANNER), "no TCP through NAT\n" + ctx
    assert netns.server_connections() == [HOST_ADDR], "the remote did not see NAT"
    leases = (Path("/var/lib/vmnet-helper") / str(netns.inodes[0]) /
              ("%s.leases" % info["bridge"])).read_text()
    mine = [l for l in leases.splitlines() if "ip_address=%s " % static in l]
    assert len(mine) == 1 and "interface_id=%s " % STATIC_ID in mine[0] and \
        "hw_address=%s " % info["vmnet_mac_address"] in mine[0], leases
    assert "recorded as its lease" in err, ctx
    assert rc == 0, "vmnet-run exited with %s\n%s" % (rc, ctx)
    check_cleaned_up(netns, info)


def test_output_parser():
    """The VMTEST/JSON parsing itself, without a VM."""
    text = ('junk\x1bc\x1b[2JVMTEST init 1.2 6.1\r\n'
            '{"vmnet_start_address": "192.168.105.1", "vmnet_mac_address": "0a:00:00:00:00:01",'
            ' "lease_address": "192.168.105.2"}\n'
            'VMTEST lease 192.168.105.2/24 router 192.168.105.1 dns 192.168.105.1 server 192.168.105.1'
            ' mac 52:54:00:00:00:01 mtu 9000\r\n'
            'VMTEST upload 10.99.0.1:8082 ok 65536 abc 65536 abc\r\n'
            'VMTEST download 10.99.0.1:8083 ok 100 def\r\n'
            'VMTEST download 10.99.0.1:8084 fail\r\n'
            'VMTEST ping 192.168.105.1 ok 3/3\r\n'
            'VMTEST ping 10.99.0.2 fail 0/3\r\n'
            'VMTEST tcp 10.99.0.2:8080 ok hello from remote, you are 10.99.0.1\r\n'
            'VMTEST tcp 10.99.0.2:8081 fail\r\n'
            'VMTEST dns example.test ok 10.0.0.1\r\n'
            'VMTEST uptime 4.5\r\nVMTEST done\r\n')
    vm = VmResult(text)
    assert vm.init_uptime == 1.2
    assert vm.lease == dict(ip="192.168.105.2", prefix=24, router="192.168.105.1",
                            dns="192.168.105.1", server="192.168.105.1",
                            mac="52:54:00:00:00:01", mtu=9000)
    assert vm.upload == {"10.99.0.1:8082": (65536, "abc", "65536 abc")}
    assert vm.download == {"10.99.0.1:8083": (100, "def"), "10.99.0.1:8084": None}
    assert vm.ping == {"192.168.105.1": True, "10.99.0.2": False}
    assert vm.tcp == {"10.99.0.2:8080": "hello from remote, you are 10.99.0.1",
                      "10.99.0.2:8081": None}
    assert vm.dns == {"example.test": "10.0.0.1"}
    assert vm.uptime == 4.5 and vm.done
    assert find_helper_json(text)["lease_address"] == "192.168.105.2"
