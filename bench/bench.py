#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""
vmnet-helper benchmark: run as root through `sudo make bench` (bench/run.sh).

Everything runs inside network namespaces this script creates (named
"vb-<id>-<role>") and removes, and no traffic leaves them. In one run it
measures, side by side, the same workloads over:

  helper  build/vmnet-helper with the VM played as QEMU plays it
          (bench/qemusim: a TAP in a guest namespace relayed to the helper's
          socket one frame per send/recv, as QEMU's -netdev dgram does) at the
          default MTU and at --mtu 65520 (the guest's MTU taken from the JSON
          line); and with offloading, the VM played by build/tools/vmsim
          --offload as libkrun plays it (64 KiB frames, partial checksums)
          and as QEMU's vhost-user backend (--socket-type vhost-user), the VM
          played by build/tools/vhostsim (bench/vhostsim.c: QEMU's vhost-user
          frontend and the guest's virtio-net driver, a TAP in the guest
          namespace, the rings in a shared memfd, kicks and calls through
          eventfds), with the offloads QEMU's guest negotiates
  veth    the guest namespace joined to a bridge by a veth pair: the kernel's
          own limit, the baseline every path is divided by
  passt   passt on its QEMU stream socket, the VM played by bench/qemusim as
          QEMU's -netdev stream (MTU 65520, what passt offers a QEMU guest)
  slirp   slirp4netns attached to the guest namespace

Workloads: iperf3 TCP guest->host, host->guest (-R), guest->guest; iperf3 UDP
with 64-byte frames (18-byte payload); ping round trip; request/response
(bench/rrbench, UDP and TCP, one 1-byte transaction at a time, as netperf's
UDP_RR/TCP_RR). Separately: frames/s of
64-byte frames written by bench/framegen straight to a TAP (baseline) versus
into the helper's socket, counted the same way (an nft counter
in the host namespace's prerouting hook); the
helper's start time (launch to JSON line), resident memory, and CPU time per
Gbit/s. Results: a table on stdout, bench/results/<timestamp>.json and .png.
Targets are reported, never enforced.
"""

import argparse
import datetime
import json
import os
import platform
import re
import secrets
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
_build = Path(os.environ.get("VMNET_BUILD", "build"))
BUILD = _build if _build.is_absolute() else REPO / _build
HELPER = BUILD / "vmnet-helper"
VMSIM = BUILD / "tools" / "vmsim"
VHOSTSIM = BUILD / "tools" / "vhostsim"
FRAMEGEN = BUILD / "bench" / "framegen"
QEMUSIM = BUILD / "bench" / "qemusim"
RRBENCH = BUILD / "bench" / "rrbench"
CAPBENCH = BUILD / "bench" / "capbench"
RESULTS = REPO / "bench" / "results"

CLK_TCK = os.sysconf("SC_CLK_TCK")
IPERF_PORT = 5201
RR_PORT = 5202
FWD_PORT = 5301           # host loopback port forwarded to guest 2 (passt, slirp)
UDP_PAYLOAD = 18          # 14 Ethernet + 20 IPv4 + 8 UDP + 18 = 60 bytes (64 with FCS)
# --pcap rows: every frame captured into a tmpfs (the helper's own cost, not a
# disk's), a ring of two files of 500 MB so a run never holds more than 1 GB.
PCAP_ARGS = ["--pcap-size", "500", "--pcap-files", "2"]
OFFLOAD_FLAGS = ["--enable-tso", "--enable-checksum-offload"]


# --------------------------------------------------------------------------
# processes and namespaces

def sh(argv, check=True, timeout=60):
    return subprocess.run([str(a) for a in argv], check=check, timeout=timeout,
                          capture_output=True, text=True)


def wait_until(pred, timeout, interval=0.05):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def read_line(fd, timeout):
    buf = b""
    deadline = time.monotonic() + timeout
    while not buf.endswith(b"\n"):
        left = deadline - time.monotonic()
        if left <= 0:
            break
        r, _, _ = select.select([fd], [], [], left)
        if not r:
            break
        chunk = os.read(fd, 1)
        if not chunk:
            break
        buf += chunk
    return buf.decode(errors="replace")


class Unavailable(Exception):
    """A row that cannot run on this build (e.g. offload not implemented yet)."""


class Lab:
    """Owns every namespace, process and file of the run and removes them."""

    def __init__(self):
        self.id = secrets.token_hex(3)
        self.namespaces = []
        self.procs = []
        self.tmp = Path("/tmp/vb-%s" % self.id)
        self.tmp.mkdir()
        # --pcap files (PCAP_ARGS), in memory.
        self.shm = Path("/dev/shm/vb-%s" % self.id)
        self.shm.mkdir()
        # passt binds its socket here after dropping to "nobody".
        os.chmod(self.tmp, 0o1777)
        self.n = 0

    def netns(self, role):
        name = "vb-%s-%s" % (self.id, role)
        sh(["ip", "netns", "add", name])
        self.namespaces.append(name)
        sh(["ip", "-n", name, "link", "set", "lo", "up"])
        return name

    def del_netns(self, name):
        pids = sh(["ip", "netns", "pids", name], check=False).stdout.split()
        for sig in (signal.SIGTERM, signal.SIGKILL):
            for p in pids:
                try:
                    os.kill(int(p), sig)
                except ProcessLookupError:
                    pass
            if wait_until(lambda: not sh(["ip", "netns", "pids", name], check=False)
                          .stdout.split(), 5):
                break
            pids = sh(["ip", "netns", "pids", name], check=False).stdout.split()
        sh(["ip", "netns", "del", name], check=False)
        # The helper keeps per-namespace state under the namespace inode.
        if name in self.namespaces:
            self.namespaces.remove(name)

    def popen(self, ns, argv, **kw):
        full = (["ip", "netns", "exec", ns] if ns else []) + [str(a) for a in argv]
        kw.setdefault("stdin", subprocess.DEVNULL)
        kw.setdefault("stdout", subprocess.DEVNULL)
        if "stderr" not in kw:
            self.n += 1
            kw["stderr"] = open(self.tmp / ("p%d.stderr" % self.n), "wb")
        p = subprocess.Popen(full, **kw)
        p.stderr_path = getattr(kw["stderr"], "name", None)
        self.procs.append(p)
        return p

    def run(self, ns, argv, check=True, timeout=60):
        return sh(["ip", "netns", "exec", ns] + [str(a) for a in argv], check, timeout)

    def stop(self, p, timeout=15):
        if p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(5)

    def cleanup(self):
        for p in self.procs:
            self.stop(p)
        for ns in list(self.namespaces):
            self.del_netns(ns)
        shutil.rmtree(self.tmp, ignore_errors=True)
        shutil.rmtree(self.shm, ignore_errors=True)


def stderr_tail(p, n=3):
    try:
        lines = Path(p.stderr_path).read_text(errors="replace").strip().splitlines()
        return " / ".join(lines[-n:])
    except (OSError, TypeError):
        return ""


# --------------------------------------------------------------------------
# /proc accounting

def tree(pid):
    """pid and all its descendants."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for t in os.listdir("/proc/%d/task" % p):
                kids = Path("/proc/%d/task/%s/children" % (p, t)).read_text().split()
                todo += [int(k) for k in kids]
        except OSError:
            pass
    return out


def stat_ticks(path):
    """utime+stime in clock ticks from a /proc stat file; 0 once it is gone."""
    try:
        stat = Path(path).read_text()
    except OSError:
        return 0
    fields = stat[stat.rindex(")") + 2:].split()
    return int(fields[11]) + int(fields[12])


def cpu_seconds(pids):
    """utime+stime of every process in pids (all threads), in seconds."""
    return sum(stat_ticks("/proc/%d/stat" % p) for p in pids) / CLK_TCK


def thread_cpu_seconds(pids):
    """{(pid, tid): utime+stime in seconds} for every thread of pids."""
    out = {}
    for p in pids:
        try:
            tids = os.listdir("/proc/%d/task" % p)
        except OSError:
            continue
        for t in tids:
            out[(p, int(t))] = stat_ticks("/proc/%d/task/%s/stat" % (p, t)) / CLK_TCK
    return out


def status_kib(pid, keys=("VmRSS", "RssAnon", "RssFile", "RssShmem")):
    out = {}
    for line in Path("/proc/%d/status" % pid).read_text().splitlines():
        k = line.split(":")[0]
        if k in keys:
            out[k] = int(line.split()[1])
    # PSS shares pages mapped by several processes (libraries, the reaper's
    # copy-on-write heap) among them: what each process really costs.
    try:
        for line in Path("/proc/%d/smaps_rollup" % pid).read_text().splitlines():
            k = line.split(":")[0]
            if k in ("Pss", "Pss_Anon", "Pss_File", "Private_Dirty"):
                out[k] = int(line.split()[1])
    except OSError:
        pass
    return out


# --------------------------------------------------------------------------
# paths: each sets up guest namespace(s) and says where the "host" end is

class Path_:
    """A network path under test. Subclasses fill in the fields in setup()."""
    name = ""
    kind = ""
    baseline = False
    has_relay = False       # a VM-side relay process (vmsim, qemusim) is in the path

    def __init__(self, lab):
        self.lab = lab
        self.guests = []        # guest namespaces: [client, server-for-guest-to-guest]
        self.host_ns = None     # where the host-side iperf3 server runs
        self.host_addr = None   # address the guest uses to reach it
        self.g2g_addr = None    # (address, port) guest 1 uses to reach guest 2's port 5201
        self.procs = []         # the network processes whose CPU is measured
        self.relays = []        # the VM-side relays (vmsim, qemusim), measured apart

    def setup(self):
        raise NotImplementedError

    def cpu_pids(self):
        return [q for p in self.procs for q in tree(p.pid)]

    def relay_pids(self):
        return [q for p in self.relays for q in tree(p.pid)]

    def teardown(self):
        for p in self.relays + self.procs:
            self.lab.stop(p)
        for ns in self.guests + ([self.host_ns] if self.host_ns else []):
            self.lab.del_netns(ns)


class HelperPath(Path_):
    """offload: the VM is vmsim --offload (libkrun-like); otherwise qemusim
    plays QEMU's dgram backend, or its stream backend (stream: the helper
    gets a stream socket as --fd). mtu: --mtu for the helper (None: default).
    pcap: every frame captured (--pcap, PCAP_ARGS)."""
    kind = "helper"
    has_relay = True

    def __init__(self, lab, mode, offload, mtu=None, stream=False, pcap=False):
        super().__init__(lab)
        self.mode = mode
        self.offload = offload
        self.mtu = mtu
        self.stream = stream
        self.pcap = pcap
        if offload:
            self.name = "helper %s offload" % mode
        else:
            self.name = "helper %s %s%s" % (mode, "stream" if stream else "dgram",
                                            " mtu %d" % mtu if mtu else "")
        if pcap:
            self.name += " pcap"
        self.infos = []

    def start_helper(self, ns, extra=()):
        """A helper with --fd on a new socketpair. Returns (proc, json, vm_end).
        The VM's end keeps the system's default buffers, as vmnet-client
        hands it to QEMU."""
        ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM if self.stream
                                         else socket.SOCK_DGRAM)
        argv = [HELPER, "--fd", theirs.fileno(), "--operation-mode", self.mode]
        argv += (OFFLOAD_FLAGS if self.offload else []) + list(extra)
        if self.mtu:
            argv += ["--mtu", self.mtu]
        if self.pcap:
            self.lab.n += 1
            argv += ["--pcap", self.lab.shm / ("helper-%d.pcapng" % self.lab.n)] + PCAP_ARGS
        p = self.lab.popen(ns, argv, stdout=subprocess.PIPE, pass_fds=(theirs.fileno(),))
        theirs.close()
        line = read_line(p.stdout.fileno(), 15)
        if not line.strip():
            p.wait(15)
            ours.close()
            msg = "helper printed no JSON line (exit %s): %s" % (p.returncode, stderr_tail(p))
            if self.offload or self.stream:
                raise Unavailable(msg)
            raise RuntimeError(msg)
        return p, json.loads(line), ours

    def start_vm(self, ns, vm_end, info):
        """The VM side: vmsim --offload, or qemusim at the helper's MTU."""
        mac = info["vmnet_mac_address"]
        if self.offload:
            argv = [VMSIM, "--tap", "eth0", "--fd", vm_end.fileno(), "--mac", mac, "--quiet",
                    "--offload"]
        else:
            argv = [QEMUSIM, "--tap", "eth0", "--stream-fd" if self.stream else "--dgram-fd",
                    vm_end.fileno(), "--mac", mac, "--mtu", info["vmnet_mtu"]]
        p = self.lab.popen(ns, argv, stdout=subprocess.PIPE, pass_fds=(vm_end.fileno(),))
        vm_end.close()
        line = read_line(p.stdout.fileno(), 10)
        if not line.startswith("READY"):
            p.wait(10)
            msg = "VM side did not start (exit %s): %s" % (p.returncode, stderr_tail(p))
            if self.offload or self.stream:
                raise Unavailable(msg)
            raise RuntimeError(msg)
        return p

    def setup(self):
        self.host_ns = self.lab.netns("h")
        for i in range(2):
            helper, info, vm_end = self.start_helper(self.host_ns)
            self.procs.append(helper)
            self.infos.append(info)
            g = self.lab.netns("g%d" % i)
            self.guests.append(g)
            self.relays.append(self.start_vm(g, vm_end, info))
            prefix = sum(bin(int(x)).count("1") for x in info["vmnet_subnet_mask"].split("."))
            self.lab.run(g, ["ip", "addr", "add", "%s/%d" % (info["lease_address"], prefix),
                             "dev", "eth0"])
            self.lab.run(g, ["ip", "route", "add", "default", "via",
                             info["vmnet_start_address"]])
        self.host_addr = self.infos[0]["vmnet_start_address"]
        self.g2g_addr = (self.infos[1]["lease_address"], IPERF_PORT)


class VhostPath(HelperPath):
    """The helper as QEMU's vhost-user backend, the VM played by vhostsim
    (plain: no offload, mergeable buffers or event index)."""

    def __init__(self, lab, mode, plain=False):
        super().__init__(lab, mode, False)
        self.plain = plain
        self.name = "helper %s vhost-user%s" % (mode, " plain" if plain else "")

    def start_helper(self, ns, extra=()):
        self.lab.n += 1
        path = self.lab.tmp / ("vhost-%d.sock" % self.lab.n)
        argv = [HELPER, "--socket", path, "--socket-type", "vhost-user", "--operation-mode",
                self.mode] + list(extra)
        p = self.lab.popen(ns, argv, stdout=subprocess.PIPE)
        line = read_line(p.stdout.fileno(), 15)
        if not line.strip():
            p.wait(15)
            raise Unavailable("helper printed no JSON line (exit %s): %s"
                              % (p.returncode, stderr_tail(p)))
        return p, json.loads(line), path

    def start_vm(self, ns, path, info, extra=()):
        argv = [VHOSTSIM, "--tap", "eth0", "--socket", path, "--mac", info["vmnet_mac_address"],
                "--mtu", info["vmnet_mtu"]] + (["--plain"] if self.plain else []) + list(extra)
        p = self.lab.popen(ns, argv, stdout=subprocess.PIPE)
        if not read_line(p.stdout.fileno(), 10).startswith("READY"):
            p.wait(10)
            raise Unavailable("vhostsim did not start (exit %s): %s"
                              % (p.returncode, stderr_tail(p)))
        return p


class VethPath(Path_):
    kind = "veth"
    name = "veth (kernel limit)"
    baseline = True

    def setup(self):
        self.host_ns = h = self.lab.netns("h")
        self.lab.run(h, ["ip", "link", "add", "br0", "type", "bridge"])
        self.lab.run(h, ["ip", "addr", "add", "10.99.0.1/24", "dev", "br0"])
        self.lab.run(h, ["ip", "link", "set", "br0", "up"])
        for i in range(2):
            g = self.lab.netns("g%d" % i)
            self.guests.append(g)
            port = "vbv%d" % i
            sh(["ip", "-n", h, "link", "add", port, "type", "veth", "peer", "name", "eth0",
                "netns", g])
            self.lab.run(h, ["ip", "link", "set", port, "master", "br0", "up"])
            self.lab.run(g, ["ip", "addr", "add", "10.99.0.%d/24" % (10 + i), "dev", "eth0"])
            self.lab.run(g, ["ip", "link", "set", "eth0", "up"])
        self.host_addr = "10.99.0.1"
        self.g2g_addr = ("10.99.0.11", IPERF_PORT)


def allow_ping_sockets(lab, ns):
    # passt drops to "nobody" and pings through ICMP sockets; allow them here.
    lab.run(ns, ["sh", "-c", "echo '0 2147483647' > /proc/sys/net/ipv4/ping_group_range"])


class PasstPath(Path_):
    kind = "peer"
    has_relay = True

    def __init__(self, lab, mtu):
        super().__init__(lab)
        self.mtu = mtu
        # 65520 is what passt offers a QEMU guest by DHCP: what users get.
        self.name = "passt" if mtu == 65520 else "passt mtu %d" % mtu

    def setup(self):
        self.host_ns = h = self.lab.netns("h")
        allow_ping_sockets(self.lab, h)
        # passt copies the address and default route of a host interface.
        self.lab.run(h, ["ip", "link", "add", "up0", "type", "veth", "peer", "name", "up1"])
        self.lab.run(h, ["ip", "addr", "add", "10.77.0.1/24", "dev", "up0"])
        self.lab.run(h, ["ip", "link", "set", "up0", "up"])
        self.lab.run(h, ["ip", "link", "set", "up1", "up"])
        self.lab.run(h, ["ip", "route", "add", "default", "via", "10.77.0.2"])
        for i in range(2):
            path = self.lab.tmp / ("passt-%d.sock" % i)
            argv = ["passt", "-f", "-q", "-4", "--socket", path]
            if i == 1:
                argv += ["-t", "%d:%d" % (FWD_PORT, IPERF_PORT)]
            self.procs.append(self.lab.popen(h, argv))
            if not wait_until(lambda: path.exists(), 10):
                raise RuntimeError("passt did not create %s: %s"
                                   % (path, stderr_tail(self.procs[-1])))
            g = self.lab.netns("g%d" % i)
            self.guests.append(g)
            r = self.lab.popen(g, [QEMUSIM, "--tap", "eth0", "--stream", path,
                                   "--mtu", self.mtu], stdout=subprocess.PIPE)
            if not read_line(r.stdout.fileno(), 10).startswith("READY"):
                raise RuntimeError("qemusim did not start: %s" % stderr_tail(r))
            self.relays.append(r)
            self.lab.run(g, ["ip", "addr", "add", "10.77.0.1/24", "dev", "eth0"])
            self.lab.run(g, ["ip", "route", "add", "default", "via", "10.77.0.2"])
        # passt maps its gateway address to the host's loopback.
        self.host_addr = "10.77.0.2"
        self.g2g_addr = ("10.77.0.2", FWD_PORT)


class SlirpPath(Path_):
    kind = "peer"
    name = "slirp4netns"

    def api(self, path, request):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(str(path))
        s.sendall(json.dumps(request).encode())
        s.shutdown(socket.SHUT_WR)
        reply = s.recv(4096).decode()
        s.close()
        if "error" in reply:
            raise RuntimeError("slirp4netns api: %s" % reply)

    def setup(self):
        self.host_ns = h = self.lab.netns("h")
        allow_ping_sockets(self.lab, h)
        for i in range(2):
            g = self.lab.netns("g%d" % i)
            self.guests.append(g)
            api = self.lab.tmp / ("slirp-%d.sock" % i)
            # By path: given a PID, slirp4netns joins whatever namespace that
            # process is in when it looks, and a process started with `ip netns
            # exec` is still in ours for a moment. In the root namespace
            # "eth0" is the machine's NIC, so TUNSETIFF failed with EINVAL.
            p = self.lab.popen(h, ["slirp4netns", "--configure", "--mtu=65520",
                                   "--api-socket", api, "--netns-type=path",
                                   "/run/netns/" + g, "eth0"])
            self.procs.append(p)
            ok = wait_until(lambda: "10.0.2.100" in sh(["ip", "-n", g, "addr", "show"],
                                                       check=False).stdout, 10)
            if not ok or not wait_until(lambda: api.exists(), 5):
                raise RuntimeError("slirp4netns did not configure %s: %s" % (g, stderr_tail(p)))
            if i == 1:
                self.api(api, {"execute": "add_hostfwd", "arguments": {
                    "proto": "tcp", "host_addr": "127.0.0.1", "host_port": FWD_PORT,
                    "guest_port": IPERF_PORT}})
        # slirp's 10.0.2.2 is the host's loopback.
        self.host_addr = "10.0.2.2"
        self.g2g_addr = ("10.0.2.2", FWD_PORT)


# --------------------------------------------------------------------------
# workloads

def listening(lab, ns, port):
    out = lab.run(ns, ["ss", "-Hltn", "sport", "= :%d" % port], check=False).stdout
    return bool(out.strip())


def iperf(lab, path, server_ns, client_ns, addr, port, args, seconds, listen_port=IPERF_PORT):
    """One iperf3 test; returns (client JSON, CPU seconds of path.procs, of relays, wall)."""
    srv = lab.popen(server_ns, ["iperf3", "-s", "-1", "-p", listen_port])
    if not wait_until(lambda: listening(lab, server_ns, listen_port), 10):
        raise RuntimeError("iperf3 server did not start: %s" % stderr_tail(srv))
    pids, rpids = path.cpu_pids(), path.relay_pids()
    c0, r0, t0 = cpu_seconds(pids), cpu_seconds(rpids), time.monotonic()
    res = lab.run(client_ns, ["iperf3", "-c", addr, "-p", port, "-t", seconds, "-J"] + args,
                  check=False, timeout=seconds + 60)
    c1, r1, t1 = cpu_seconds(pids), cpu_seconds(rpids), time.monotonic()
    lab.stop(srv, 5)
    try:
        out = json.loads(res.stdout)
    except ValueError:
        raise RuntimeError("iperf3 output: %s %s" % (res.stdout[-300:], res.stderr[-300:]))
    if "error" in out:
        raise RuntimeError("iperf3: %s" % out["error"])
    return out, c1 - c0, r1 - r0, t1 - t0


def tcp(lab, path, direction, seconds):
    if direction == "g2g":
        addr, port = path.g2g_addr
        out, cpu, rcpu, wall = iperf(lab, path, path.guests[1], path.guests[0], addr, port, [],
                                     seconds)
    else:
        args = ["-R"] if direction == "h2g" else []
        out, cpu, rcpu, wall = iperf(lab, path, path.host_ns, path.guests[0], path.host_addr,
                                     IPERF_PORT, args, seconds)
    gbps = out["end"]["sum_received"]["bits_per_second"] / 1e9
    return {"gbps": gbps, "cpu_s": cpu, "relay_cpu_s": rcpu, "wall_s": wall,
            "cpu_s_per_gbit": cpu / (gbps * wall) if gbps > 0 and path.procs else None,
            "relay_cpu_s_per_gbit": rcpu / (gbps * wall) if gbps > 0 and path.has_relay
            else None}


def udp_small(lab, path, seconds):
    out, cpu, rcpu, wall = iperf(lab, path, path.host_ns, path.guests[0], path.host_addr,
                                 IPERF_PORT, ["-u", "-l", UDP_PAYLOAD, "-b", "0"], seconds)
    s = out["end"]["sum"]
    received = s["packets"] - s["lost_packets"]
    pps = received / s["seconds"]
    return {"pps": pps, "sent_pps": s["packets"] / s["seconds"], "cpu_s": cpu,
            "relay_cpu_s": rcpu, "wall_s": wall}


def ping(lab, path, count=100):
    res = lab.run(path.guests[0], ["ping", "-n", "-q", "-c", count, "-i", "0.01", "-W", "1",
                                   path.host_addr], check=False, timeout=count + 30)
    m = re.search(r"= ([\d.]+)/([\d.]+)/([\d.]+)/([\d.]+) ms", res.stdout)
    if not m:
        return None
    return {"min_us": float(m.group(1)) * 1000, "avg_us": float(m.group(2)) * 1000,
            "max_us": float(m.group(3)) * 1000}


def request_response(lab, path, proto, seconds, interval_us=0):
    """bench/rrbench between the guest and a server in the host namespace:
    1-byte transactions one at a time; round trip percentiles in us."""
    srv = lab.popen(path.host_ns, [RRBENCH, "--server", "--" + proto, "--port", RR_PORT],
                    stdout=subprocess.PIPE)
    try:
        if read_line(srv.stdout.fileno(), 10).strip() != "ready":
            raise RuntimeError("rrbench server did not start: %s" % stderr_tail(srv))
        res = lab.run(path.guests[0], [RRBENCH, "--client", path.host_addr, "--" + proto,
                                       "--port", RR_PORT, "--seconds", seconds,
                                       "--interval", interval_us],
                      check=False, timeout=seconds + 30)
    finally:
        lab.stop(srv, 5)
    try:
        return json.loads(res.stdout)
    except ValueError:
        raise RuntimeError("rrbench: %s %s" % (res.stdout[-200:], res.stderr[-200:]))


def latency(lab, path, seconds):
    """Ping, and UDP/TCP request/response back to back."""
    out = {"ping": ping(lab, path)}
    for proto in ("udp", "tcp"):
        out["rr_" + proto] = request_response(lab, path, proto, seconds)
    return out


def warm_up(lab, path):
    """ARP and first packets out of the way; fails when the path does not work."""
    ok = wait_until(lambda: lab.run(path.guests[0], ["ping", "-n", "-c", "1", "-W", "1",
                                                     path.host_addr], check=False)
                    .returncode == 0, 10, 0.2)
    if not ok and path.kind != "peer":
        raise RuntimeError("guest cannot ping %s" % path.host_addr)


WORKLOADS = ("tcp", "udp", "latency")


def run_path(lab, path, seconds, log, workloads=WORKLOADS):
    row = {"name": path.name, "kind": path.kind}
    try:
        path.setup()
    except Unavailable as e:
        path.teardown()
        log("  %s: not available: %s" % (path.name, e))
        return dict(row, available=False, reason=str(e))
    except (RuntimeError, OSError, subprocess.SubprocessError) as e:
        path.teardown()
        log("  %s: setup failed: %s" % (path.name, e))
        return dict(row, available=False, reason="setup failed: %s" % e)
    try:
        warm_up(lab, path)
        row["available"] = True
        for d in ("g2h", "h2g", "g2g") if "tcp" in workloads else ():
            row["tcp_" + d] = tcp(lab, path, d, seconds)
            log("  %-30s tcp %s %6.2f Gbit/s" % (path.name, d, row["tcp_" + d]["gbps"]))
        if "udp" in workloads:
            row["udp64"] = udp_small(lab, path, seconds)
            log("  %-30s udp64   %8.0f pps" % (path.name, row["udp64"]["pps"]))
        if "latency" in workloads:
            row.update(latency(lab, path, max(2, seconds // 2)))
            log("  %-30s ping %s us, udp rr p50 %.0f us, tcp rr p50 %.0f us" % (
                path.name, "%.0f" % row["ping"]["avg_us"] if row["ping"] else "-",
                row["rr_udp"]["p50_us"], row["rr_tcp"]["p50_us"]))
    except (RuntimeError, subprocess.SubprocessError, KeyError) as e:
        log("  %s: failed: %s" % (path.name, e))
        row["error"] = str(e)
    finally:
        path.teardown()
    return row


# --------------------------------------------------------------------------
# frame rate: framegen straight to a TAP versus into the helper's socket

def add_udp9_drop(lab, ns):
    """Frames to UDP port 9 are counted and dropped before IP routing: no ICMP
    replies, the same cost behind the helper and behind the direct TAP."""
    lab.run(ns, ["nft", "add table inet vbench; add chain inet vbench pre "
                 "{ type filter hook prerouting priority -300; }; "
                 "add rule inet vbench pre udp dport 9 counter drop"])


def link_info(ns, dev):
    return json.loads(sh(["ip", "-n", ns, "-j", "link", "show", "dev", dev]).stdout)[0]


def udp9_count(lab, ns):
    out = json.loads(lab.run(ns, ["nft", "-j", "list", "chain", "inet", "vbench", "pre"]).stdout)
    for item in out["nftables"]:
        for expr in item.get("rule", {}).get("expr", []):
            if "counter" in expr:
                return expr["counter"]["packets"]
    raise RuntimeError("no nft counter in %s" % ns)


def count_window(lab, ns, gen, seconds, cpu_pids=()):
    """Frames/s reaching the host's IP layer over the middle of a framegen run."""
    time.sleep(1)
    th0, g0 = thread_cpu_seconds(cpu_pids), cpu_seconds([gen.pid])
    c0, cpu0, t0 = udp9_count(lab, ns), cpu_seconds(cpu_pids), time.monotonic()
    time.sleep(seconds)
    c1, cpu1, t1 = udp9_count(lab, ns), cpu_seconds(cpu_pids), time.monotonic()
    th1, g1 = thread_cpu_seconds(cpu_pids), cpu_seconds([gen.pid])
    out, _ = gen.communicate(timeout=30)
    pps = (c1 - c0) / (t1 - t0)
    # The busiest thread bounds the rate a path reaches with a core per thread
    # (a pipeline's stages run in parallel); on 2 cores shared with the sender
    # the whole path's CPU bounds it instead.
    busiest = max((th1[k] - th0[k] for k in th1 if k in th0), default=0)
    return {"pps": pps, "cpu_s": cpu1 - cpu0, "wall_s": t1 - t0,
            "cpu_ns_per_frame": (cpu1 - cpu0) * 1e9 / (c1 - c0) if c1 > c0 else None,
            "busiest_thread_ns_per_frame": busiest * 1e9 / (c1 - c0) if c1 > c0 else None,
            "sender_cpu_ns_per_frame": (g1 - g0) * 1e9 / (c1 - c0) if c1 > c0 else None,
            "framegen": out.strip()}


def framerate_tap(lab, seconds):
    ns = lab.netns("ft")
    try:
        lab.run(ns, ["ip", "link", "add", "br0", "type", "bridge"])
        lab.run(ns, ["ip", "addr", "add", "10.88.0.1/24", "dev", "br0"])
        lab.run(ns, ["ip", "link", "set", "br0", "up"])
        lab.run(ns, ["ip", "tuntap", "add", "dev", "tb0", "mode", "tap"])
        lab.run(ns, ["ip", "link", "set", "tb0", "master", "br0", "up"])
        add_udp9_drop(lab, ns)
        br_mac = link_info(ns, "br0")["address"]
        gen = lab.popen(ns, [FRAMEGEN, "--tap", "tb0", "--src-mac", "02:00:00:00:00:02",
                             "--dst-mac", br_mac, "--src-ip", "10.88.0.2", "--dst-ip",
                             "10.88.0.1", "--seconds", seconds + 2], stdout=subprocess.PIPE,
                        text=True)
        return count_window(lab, ns, gen, seconds, [gen.pid])
    finally:
        lab.del_netns(ns)


def framerate_vhost(lab, mode, seconds):
    """vhostsim's driver fills the transmit ring with 64-byte frames as fast
    as the helper takes them: the helper's only system call per frame is its
    TAP write, as framegen's is on the direct TAP."""
    path = VhostPath(lab, mode)
    ns = path.host_ns = lab.netns("fv")
    try:
        helper, info, sock = path.start_helper(ns)
        path.procs.append(helper)
        add_udp9_drop(lab, ns)
        br_mac = link_info(ns, info["bridge"])["address"]
        g = lab.netns("fvg")
        path.guests.append(g)
        vm = path.start_vm(g, sock, info, ["--gen", "%s,%s,%s" % (
            br_mac, info["lease_address"], info["vmnet_start_address"])])
        path.relays.append(vm)
        time.sleep(1)
        th0, v0 = thread_cpu_seconds(path.cpu_pids()), cpu_seconds([vm.pid])
        c0, cpu0, t0 = udp9_count(lab, ns), cpu_seconds(path.cpu_pids()), time.monotonic()
        time.sleep(seconds)
        c1, cpu1, t1 = udp9_count(lab, ns), cpu_seconds(path.cpu_pids()), time.monotonic()
        th1, v1 = thread_cpu_seconds(path.cpu_pids()), cpu_seconds([vm.pid])
        n = c1 - c0
        busiest = max((th1[k] - th0[k] for k in th1 if k in th0), default=0)
        return {"pps": n / (t1 - t0), "cpu_s": cpu1 - cpu0, "wall_s": t1 - t0,
                "cpu_ns_per_frame": (cpu1 - cpu0) * 1e9 / n if n else None,
                "busiest_thread_ns_per_frame": busiest * 1e9 / n if n else None,
                "sender_cpu_ns_per_frame": (v1 - v0) * 1e9 / n if n else None}
    finally:
        path.teardown()


def framerate_helper(lab, mode, seconds, pcap=False):
    path = HelperPath(lab, mode, False, pcap=pcap)
    ns = path.host_ns = lab.netns("fh")
    try:
        helper, info, vm_end = path.start_helper(ns)
        path.procs.append(helper)
        bridge = info["bridge"]
        add_udp9_drop(lab, ns)
        br_mac = link_info(ns, bridge)["address"]
        gen = lab.popen(None, [FRAMEGEN, "--fd", vm_end.fileno(), "--src-mac",
                               info["vmnet_mac_address"], "--dst-mac", br_mac,
                               "--src-ip", info["lease_address"], "--dst-ip",
                               info["vmnet_start_address"], "--seconds", seconds + 2],
                        stdout=subprocess.PIPE, text=True, pass_fds=(vm_end.fileno(),))
        vm_end.close()
        return count_window(lab, ns, gen, seconds, path.cpu_pids())
    finally:
        path.teardown()


# --------------------------------------------------------------------------
# start time and memory

def startup(lab, runs):
    """Launch to JSON line: a helper alone (creates the network) and a helper
    joining a network another helper holds. Median of runs each."""
    path = HelperPath(lab, "shared", False)
    ns = path.host_ns = lab.netns("st")
    cold, join, netns_exec = [], [], []
    try:
        # What `ip netns exec` itself costs; the helper's own time is the rest.
        for _ in range(runs):
            t0 = time.monotonic()
            lab.run(ns, ["true"])
            netns_exec.append((time.monotonic() - t0) * 1000)
        for _ in range(runs):
            t0 = time.monotonic()
            p, _, vm = path.start_helper(ns)
            cold.append((time.monotonic() - t0) * 1000)
            lab.stop(p)
            vm.close()
        first, _, vm_first = path.start_helper(ns)
        for _ in range(runs):
            t0 = time.monotonic()
            p, _, vm = path.start_helper(ns)
            join.append((time.monotonic() - t0) * 1000)
            lab.stop(p)
            vm.close()
        # Memory of an idle helper: the datapath process and its root reaper.
        time.sleep(0.5)
        kids = [q for q in tree(first.pid) if q != first.pid]
        dp = status_kib(first.pid)
        rp = status_kib(kids[0]) if kids else {}
        mem = {"datapath_rss_kib": dp.get("VmRSS"), "reaper_rss_kib": rp.get("VmRSS"),
               "datapath_status_kib": dp, "reaper_status_kib": rp}
        # And with --mtu 65520 (another network: the MTU is the network's).
        big = HelperPath(lab, "host", False, 65520)
        p, _, vm = big.start_helper(ns)
        time.sleep(0.5)
        mem["datapath_mtu65520_rss_kib"] = status_kib(p.pid).get("VmRSS")
        lab.stop(p)
        vm.close()
        lab.stop(first)
        vm_first.close()
    finally:
        path.teardown()
    return ({"runs": runs, "cold_ms": cold, "join_ms": join, "netns_exec_ms": netns_exec,
             "cold_median_ms": statistics.median(cold),
             "join_median_ms": statistics.median(join),
             "netns_exec_median_ms": statistics.median(netns_exec)}, mem)


# --------------------------------------------------------------------------
# latency hop by hop (bench/hops.py)

def hop_by_hop(lab, seconds, log):
    """UDP request/response 10 ms apart under perf, cut hop by hop, on veth, the
    helper (QEMU-like VM side) and slirp4netns."""
    if not shutil.which("perf"):
        return {"unavailable": "perf not installed (linux-perf)"}
    import hops
    try:
        return hops.measure(lab, ["veth", "helper", "vhost", "slirp"], 10000,
                            max(3, seconds // 2), log)
    except (RuntimeError, OSError, subprocess.SubprocessError, ValueError) as e:
        log("  hops failed: %s" % e)
        return {"unavailable": "failed: %s" % e}


# --------------------------------------------------------------------------
# report

def machine():
    cpu = ""
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    mem = Path("/proc/meminfo").read_text().splitlines()[0].split()[1]
    return {"cpu_model": cpu, "cores": os.cpu_count(), "kernel": platform.release(),
            "mem_total_kib": int(mem), "loadavg_at_start": os.getloadavg()}


def versions():
    def first(argv):
        r = sh(argv, check=False)
        return (r.stdout or r.stderr).strip().splitlines()[0] if (r.stdout or r.stderr) else ""

    def deb(pkg):
        return sh(["dpkg-query", "-W", "-f", "${Version}", pkg], check=False).stdout.strip()
    return {"vmnet-helper": first([HELPER, "--version"]), "iperf3": deb("iperf3"),
            "passt": deb("passt"), "slirp4netns": deb("slirp4netns"),
            "kernel": platform.release()}


def ratio(a, b):
    return a / b if a is not None and b else None


def add_ratios(result):
    base = next((r for r in result["paths"] if r["kind"] == "veth" and r.get("available")),
                None)
    for r in result["paths"]:
        if not r.get("available") or not base:
            continue
        for key in ("tcp_g2h", "tcp_h2g", "tcp_g2g"):
            if key in r and key in base:
                r[key]["ratio_to_veth"] = ratio(r[key]["gbps"], base[key]["gbps"])
        if "udp64" in r and "udp64" in base:
            r["udp64"]["ratio_to_veth"] = ratio(r["udp64"]["pps"], base["udp64"]["pps"])
        if r.get("ping") and base.get("ping"):
            r["ping"]["overhead_us"] = r["ping"]["avg_us"] - base["ping"]["avg_us"]
            r["ping"]["ratio_to_veth"] = ratio(r["ping"]["avg_us"], base["ping"]["avg_us"])
        for key in ("rr_udp", "rr_tcp"):
            if r.get(key) and base.get(key):
                for q in ("p50", "mean"):
                    r[key][q + "_overhead_us"] = r[key][q + "_us"] - base[key][q + "_us"]
    fr = result["framerate"]
    for k, v in fr.items():
        if k != "tap_direct" and "tap_direct" in fr and isinstance(v, dict) and "pps" in v:
            v["ratio_to_tap"] = ratio(v["pps"], fr["tap_direct"]["pps"])
            # Rate per CPU-second of the one busy process (framegen, the helper):
            # what the rate would be with a whole core each, robust to load.
            v["cpu_normalized_ratio_to_tap"] = ratio(fr["tap_direct"]["cpu_ns_per_frame"],
                                                     v["cpu_ns_per_frame"])
            # With a core per thread: framegen's per-frame CPU (one thread)
            # against the helper's busiest thread.
            v["per_thread_ratio_to_tap"] = ratio(
                fr["tap_direct"]["busiest_thread_ns_per_frame"],
                v["busiest_thread_ns_per_frame"])


def capbench(lab, log):
    """The capture code alone (bench/capbench.c), into the tmpfs: CPU ns per
    frame by frame size."""
    r = sh([CAPBENCH, lab.shm, 2], check=False, timeout=120)
    out = {}
    for line in r.stdout.splitlines():
        m = re.match(r"\s*(\d+)-byte frames, .*?([\d.]+) CPU ns/frame, +([\d.]+) MB/s", line)
        if m:
            out[m.group(1)] = {"cpu_ns_per_frame": float(m.group(2)),
                               "mb_per_cpu_s": float(m.group(3))}
            log("  capture code alone: %s" % line.strip())
    return out


def pcap_cost(result):
    """The default helper path with --pcap against without, workload by workload:
    {workload: (without, with, change in %)}."""
    rows = {r["name"]: r for r in result["paths"] if r.get("available")}
    out = {}
    for base, tag in (("helper shared dgram", ""), ("helper shared dgram mtu 65520", "mtu65520_")):
        off, on = rows.get(base), rows.get(base + " pcap")
        if not (off and on):
            continue
        for k in ("tcp_g2h", "tcp_h2g", "tcp_g2g"):
            if k in off and k in on:
                out[tag + k + "_gbps"] = (off[k]["gbps"], on[k]["gbps"],
                                          100 * (on[k]["gbps"] / off[k]["gbps"] - 1))
                a, b = off[k].get("cpu_s_per_gbit"), on[k].get("cpu_s_per_gbit")
                if a and b:
                    out[tag + k + "_cpu_s_per_gbit"] = (a, b, 100 * (b / a - 1))
        if "udp64" in off and "udp64" in on:
            out[tag + "udp64_pps"] = (off["udp64"]["pps"], on["udp64"]["pps"],
                                      100 * (on["udp64"]["pps"] / off["udp64"]["pps"] - 1))
    fr = result["framerate"]
    a, b = fr.get("helper_shared"), fr.get("helper_shared_pcap")
    if a and b:
        out["framerate_pps"] = (a["pps"], b["pps"], 100 * (b["pps"] / a["pps"] - 1))
        if a.get("cpu_ns_per_frame") and b.get("cpu_ns_per_frame"):
            out["framerate_cpu_ns_per_frame"] = (a["cpu_ns_per_frame"], b["cpu_ns_per_frame"],
                                                 100 * (b["cpu_ns_per_frame"] /
                                                        a["cpu_ns_per_frame"] - 1))
    return out


def versus(a, b):
    """'a vs b (+x%)' for two Gbit/s figures."""
    return "%.2f vs %.2f Gbit/s (%+.0f%%)" % (a, b, 100 * (a / b - 1) if b else 0)


def peer_targets(rows):
    """The helper against passt, row by row (issue 12's targets)."""
    out = []
    passt = rows.get("passt", {})
    checks = []
    for q in ("helper shared dgram mtu 65520", "helper shared stream mtu 65520",
              "helper host dgram mtu 65520"):
        checks += [(q, "tcp_g2h", "QEMU-like VM side, --mtu 65520: guest->host >= passt (%s)"),
                   (q, "tcp_h2g", "QEMU-like VM side, --mtu 65520: host->guest >= passt (%s)"),
                   (q, "tcp_g2g", "QEMU-like VM side, --mtu 65520: guest->guest > passt (%s)")]
    for mode in ("shared", "host"):
        o = "helper %s offload" % mode
        checks += [(o, "tcp_h2g", "offload: host->guest >= passt (%s)"),
                   (o, "tcp_g2g", "offload: guest->guest > passt (%s)")]
    for name, key, what in checks:
        what = what % " ".join(name.split()[1:3])
        r = rows.get(name, {})
        if key not in r or key not in passt:
            out.append({"target": what, "measured": "not measured", "met": None})
            continue
        a, b = r[key]["gbps"], passt[key]["gbps"]
        out.append({"target": what, "measured": versus(a, b),
                    "met": a > b if key == "tcp_g2g" else a >= b})
    return out


def latency_targets(result):
    """The helper's own share of a round trip against what slirp4netns adds."""
    out = []
    h = result.get("hops", {})
    slirp = h.get("slirp", {})
    for name in ("helper", "vhost"):
        helper = h.get(name, {})
        if "helper" not in helper.get("shares_us", {}) or \
                "slirp4netns" not in slirp.get("shares_us", {}):
            continue
        a, b = helper["shares_us"]["helper"], slirp["shares_us"]["slirp4netns"]
        out.append({"target": "latency: the helper's own hops <= slirp4netns's (traced UDP "
                              "request/response, 10 ms apart; %s)"
                    % ("vhost-user" if name == "vhost" else "dgram"),
                    "measured": "%.0f vs %.0f us per round trip (VM side %.0f us)"
                    % (a, b, helper["shares_us"].get("VM side", 0)), "met": a <= b})
    if not out:
        out.append({"target": "latency: the helper's own hops <= slirp4netns's",
                    "measured": h.get("unavailable", "not measured"), "met": None})
    return out


def vhost_targets(result, rows):
    """Issue 19: the vhost-user rows against veth, the frame rate against
    direct TAP writes."""
    out = []
    for mode in ("shared", "host"):
        r = rows.get("helper %s vhost-user" % mode)
        if r is None:
            continue
        for key, goal, what in (("tcp_g2h", 0.8, "guest->host"), ("tcp_h2g", 0.8, "host->guest"),
                                ("tcp_g2g", 0.6, "guest->guest")):
            name = "vhost-user (%s): %s >= %.0f%% of veth" % (mode, what, 100 * goal)
            t = r.get(key)
            if not t or t.get("ratio_to_veth") is None:
                out.append({"target": name, "measured": "not measured", "met": None})
                continue
            out.append({"target": name, "measured": "%.0f%% (%.2f Gbit/s)"
                        % (100 * t["ratio_to_veth"], t["gbps"]),
                        "met": t["ratio_to_veth"] >= goal})
    v = result["framerate"].get("vhost_shared")
    if v and "ratio_to_tap" in v:
        out.append({"target": "vhost-user: 64-byte frame rate >= 90% of direct TAP writes",
                    "measured": "%.0f%% (%.0f vs %.0f frames/s); per CPU-second %.0f%%"
                    % (100 * v["ratio_to_tap"], v["pps"], result["framerate"]["tap_direct"]["pps"],
                       100 * (v["cpu_normalized_ratio_to_tap"] or 0)),
                    "met": v["ratio_to_tap"] >= 0.9})
    return out


def rr_targets(rows):
    """Issue 19: on every transport a 1-byte request/response costs no more
    over veth than slirp4netns's in the same run."""
    out = []
    slirp = rows.get("slirp4netns", {})
    for name, r in rows.items():
        if r.get("kind") != "helper" or not r.get("rr_udp"):
            continue
        for key, what in (("rr_udp", "UDP"), ("rr_tcp", "TCP")):
            target = "round trip: %s request/response over veth <= slirp4netns's (%s)" % (
                what, name)
            a, b = r.get(key, {}).get("p50_overhead_us"), slirp.get(key, {}).get("p50_overhead_us")
            if a is None or b is None:
                out.append({"target": target, "measured": "not measured", "met": None})
                continue
            out.append({"target": target, "measured": "+%.0f vs +%.0f us" % (a, b),
                        "met": a <= b})
    return out


def targets(result):
    """Each target: what, measured, goal, met. Reported, never enforced."""
    out = []
    rows = {r["name"]: r for r in result["paths"]}
    out += vhost_targets(result, rows)
    out += rr_targets(rows)
    peers = [r for r in result["paths"] if r["kind"] == "peer" and "tcp_g2h" in r]
    out += peer_targets(rows)
    for mode in ("host", "shared"):
        r = rows.get("helper %s offload" % mode, {})
        name = "offload, guest->host >= 50%% of veth and above every peer (%s)" % mode
        if "tcp_g2h" not in r:
            out.append({"target": name, "measured": "not available", "met": None})
            continue
        ratio_ = r["tcp_g2h"].get("ratio_to_veth")
        best_peer = max((p["tcp_g2h"]["gbps"] for p in peers), default=0)
        met = ratio_ is not None and ratio_ >= 0.5 and r["tcp_g2h"]["gbps"] > best_peer
        out.append({"target": name, "measured": "%.0f%% of veth, %s"
                    % (100 * (ratio_ or 0), versus(r["tcp_g2h"]["gbps"], best_peer)),
                    "met": met})
    out += latency_targets(result)
    for mode in ("host", "shared"):
        v = result["framerate"].get("helper_" + mode)
        name = "no offload, 64-byte frame rate >= 90%% of direct TAP writes (%s)" % mode
        if not v or "ratio_to_tap" not in v:
            out.append({"target": name, "measured": "not measured", "met": None})
            continue
        out.append({"target": name, "measured": "%.0f%% (%.0f vs %.0f frames/s); per CPU-second "
                    "%.0f%%; busiest thread %.0f%%"
                    % (100 * v["ratio_to_tap"], v["pps"],
                       result["framerate"]["tap_direct"]["pps"],
                       100 * (v["cpu_normalized_ratio_to_tap"] or 0),
                       100 * (v.get("per_thread_ratio_to_tap") or 0)),
                    "met": v["ratio_to_tap"] >= 0.9})
    if "startup" in result:
        st = result["startup"]
        out.append({"target": "start to JSON line < 50 ms", "measured":
                    "%.1f ms alone, %.1f ms joining (median, including %.1f ms of ip netns exec)"
                    % (st["cold_median_ms"], st["join_median_ms"], st["netns_exec_median_ms"]),
                    "met": max(st["cold_median_ms"], st["join_median_ms"]) < 50})
        m = result["memory"]
        worst = max(v for v in (m["datapath_rss_kib"], m["reaper_rss_kib"]) if v is not None)
        if m.get("datapath_mtu65520_rss_kib"):
            worst = max(worst, m["datapath_mtu65520_rss_kib"])
        out.append({"target": "idle helper < 4 MiB resident (each process)", "measured":
                    "datapath %s KiB (%s KiB with --mtu 65520), reaper %s KiB"
                    % (m["datapath_rss_kib"], m.get("datapath_mtu65520_rss_kib"),
                       m["reaper_rss_kib"]),
                    "met": worst < 4096})
    return out


def fmt(v, spec, none="-"):
    return none if v is None else format(v, spec)


def table(result):
    lines = []
    hdr = "%-30s %15s %15s %15s %14s %13s %13s %13s %10s" % (
        "path", "guest->host", "host->guest", "guest->guest", "64B UDP kpps", "ping avg us",
        "UDP RR us", "TCP RR us", "CPU s/Gbit")
    lines += [hdr, "-" * len(hdr)]
    for r in result["paths"]:
        if not r.get("available"):
            lines.append("%-30s not available: %s" % (r["name"], r.get("reason", "")[:80]))
            continue
        if "error" in r and "udp64" not in r:
            lines.append("%-30s failed: %s" % (r["name"], r["error"][:80]))
            continue
        cells = []
        for k in ("tcp_g2h", "tcp_h2g", "tcp_g2g"):
            t = r.get(k)
            cells.append("-" if not t else "%5.2f (%3.0f%%)" % (
                t["gbps"], 100 * (t.get("ratio_to_veth") or 0)))
        u = r.get("udp64")
        cells.append("-" if not u else "%4.0f (%3.0f%%)" % (u["pps"] / 1000,
                                                            100 * (u.get("ratio_to_veth") or 0)))
        p = r.get("ping")
        cells.append("-" if not p else "%4.0f (%+4.0f)" % (p["avg_us"], p.get("overhead_us", 0)))
        for key in ("rr_udp", "rr_tcp"):
            q = r.get(key)
            cells.append("-" if not q else "%4.0f (%+4.0f)" % (q["p50_us"],
                                                              q.get("p50_overhead_us", 0)))
        cpu = r.get("tcp_g2h", {}).get("cpu_s_per_gbit")
        cells.append(fmt(cpu, ".3f"))
        lines.append("%-30s %15s %15s %15s %14s %13s %13s %13s %10s" % tuple([r["name"]] + cells))
    lines.append("Gbit/s (ratio to veth); ping: average round trip; RR: median round trip of "
                 "1-byte request/response; (difference to veth); CPU: the path's own processes, "
                 "guest->host.")
    lines.append("")
    fr = result["framerate"]
    lines.append("64-byte frames, counted by an nft rule at the host's prerouting hook:")
    for k, v in fr.items():
        if not isinstance(v, dict):
            continue
        lines.append("  %-14s %9.0f frames/s %-24s CPU %s ns/frame %-24s busiest thread %s "
                     "ns/frame %s" % (
            k, v["pps"], "" if "ratio_to_tap" not in v else "(%3.0f%% of direct TAP)"
            % (100 * v["ratio_to_tap"]), fmt(v.get("cpu_ns_per_frame"), ".0f"),
            "" if "ratio_to_tap" not in v else "(%3.0f%% per CPU-second)"
            % (100 * (v.get("cpu_normalized_ratio_to_tap") or 0)),
            fmt(v.get("busiest_thread_ns_per_frame"), ".0f"),
            "" if "per_thread_ratio_to_tap" not in v else "(%3.0f%%)"
            % (100 * (v.get("per_thread_ratio_to_tap") or 0))))
    if result.get("pcap_cost"):
        lines.append("")
        lines.append("--pcap (every frame into a tmpfs), shared mode, QEMU-like VM side: "
                     "without -> with")
        for k, (a, b, pct) in result["pcap_cost"].items():
            lines.append("  %-36s %12.3f -> %12.3f (%+.0f%%)" % (k, a, b, pct))
    if result.get("capbench"):
        lines.append("the capture code alone (bench/capbench.c, into a tmpfs): " + ", ".join(
            "%s-byte frames %.0f CPU ns/frame" % (k, v["cpu_ns_per_frame"])
            for k, v in result["capbench"].items()))
    if "startup" in result:
        st, m = result["startup"], result["memory"]
        lines.append("")
        lines.append("start to JSON line (median of %d): %.1f ms alone, %.1f ms joining a network "
                     "(both include %.1f ms of ip netns exec)" % (
                         st["runs"], st["cold_median_ms"], st["join_median_ms"],
                         st["netns_exec_median_ms"]))
        for who in ("datapath", "reaper"):
            d = m[who + "_status_kib"]
            lines.append("idle %-8s VmRSS %s KiB (anon %s, file %s), PSS %s KiB (anon %s, file %s)"
                         % (who, d.get("VmRSS"), d.get("RssAnon"), d.get("RssFile"), d.get("Pss"),
                            d.get("Pss_Anon"), d.get("Pss_File")))
        lines.append("idle datapath with --mtu 65520: VmRSS %s KiB"
                     % m.get("datapath_mtu65520_rss_kib"))
    h = result.get("hops", {})
    if any(isinstance(v, dict) for v in h.values()):
        import hops
        lines.append("")
        lines.append("UDP request/response 10 ms apart, traced with perf, hop by hop (medians; "
                     "tracing adds a few us per syscall):")
        for name, sm in h.items():
            if isinstance(sm, dict):
                lines += ["  " + x for x in hops.format_summary(name, sm)]
    lines.append("")
    lines.append("targets (reported, not enforced):")
    for t in result["targets"]:
        mark = {True: "met", False: "MISSED", None: "n/a"}[t["met"]]
        lines.append("  [%-6s] %s: %s" % (mark, t["target"], t["measured"]))
    return "\n".join(lines)


def plot(result, png):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    rows = [r for r in result["paths"] if r.get("available") and "tcp_g2h" in r]
    names = [r["name"] for r in rows]
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(19, 6),
                                        gridspec_kw={"width_ratios": [3, 2, 2]})
    width = 0.27
    for i, (k, label) in enumerate((("tcp_g2h", "guest→host"), ("tcp_h2g", "host→guest"),
                                    ("tcp_g2g", "guest→guest"))):
        vals = [r.get(k, {}).get("gbps", 0) for r in rows]
        xs = [j + (i - 1) * width for j in range(len(rows))]
        bars = ax1.bar(xs, vals, width, label=label)
        for b, r in zip(bars, rows):
            rt = r.get(k, {}).get("ratio_to_veth")
            if rt is not None:
                ax1.annotate("%.0f%%" % (100 * rt), (b.get_x() + b.get_width() / 2,
                             b.get_height()), ha="center", va="bottom", fontsize=7)
    ax1.set_xticks(range(len(rows)))
    ax1.set_xticklabels(names, rotation=20, ha="right", fontsize=8)
    ax1.set_ylabel("iperf3 TCP Gbit/s (label: % of veth)")
    ax1.set_title("TCP throughput, %d s per test" % result["settings"]["seconds"])
    ax1.legend(fontsize=8)
    labels, vals, colors = [], [], []
    for r in rows:
        if "udp64" in r:
            labels.append(r["name"] + "\n(iperf3 UDP)")
            vals.append(r["udp64"]["pps"] / 1000)
            colors.append("tab:blue")
    for k, v in result["framerate"].items():
        if isinstance(v, dict):
            labels.append(k.replace("_", " ") + "\n(framegen)")
            vals.append(v["pps"] / 1000)
            colors.append("tab:orange")
    ax2.barh(range(len(vals)), vals, color=colors)
    ax2.set_yticks(range(len(vals)))
    ax2.set_yticklabels(labels, fontsize=7)
    ax2.invert_yaxis()
    ax2.set_xlabel("thousand 64-byte frames/s received")
    ax2.set_title("Small-frame packet rate")
    lat = [r for r in result["paths"] if r.get("available") and r.get("rr_udp")]
    for i, (k, label) in enumerate((("rr_udp", "UDP request/response"),
                                    ("rr_tcp", "TCP request/response"))):
        ys = [j + (i - 0.5) * 0.4 for j in range(len(lat))]
        ax3.barh(ys, [r[k]["p50_us"] for r in lat], 0.4, label=label)
    ax3.set_yticks(range(len(lat)))
    ax3.set_yticklabels([r["name"] for r in lat], fontsize=7)
    ax3.invert_yaxis()
    ax3.set_xlabel("median round trip, us (1 byte each way)")
    ax3.set_title("Latency")
    ax3.legend(fontsize=8)
    m = result["machine"]
    fig.suptitle("vmnet-helper benchmark %s — %s, %d cores, kernel %s" % (
        result["timestamp"], m["cpu_model"], m["cores"], m["kernel"]), fontsize=10)
    fig.tight_layout()
    fig.savefig(png, dpi=110)
    return True


# --------------------------------------------------------------------------

def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=int(os.environ.get("BENCH_SECONDS", 10)),
                    help="duration of each iperf3/framegen test (default 10)")
    ap.add_argument("--start-runs", type=int, default=15)
    ap.add_argument("--only", help="comma-separated parts: helper, veth, peer (the paths), "
                    "framerate, startup, hops (default all); stream: just the helper's "
                    "stream rows (QEMU's -netdev stream); vhost: just its vhost-user rows; "
                    "pcap: the default helper path and the frame rate without and with --pcap")
    ap.add_argument("--workloads", default=",".join(WORKLOADS),
                    help="comma-separated workloads on each path: tcp, udp, latency "
                    "(default all)")
    ap.add_argument("--out", default=str(RESULTS), help="directory for the JSON and PNG")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("bench: needs root (sudo make bench)")
    for b in (HELPER, VMSIM, VHOSTSIM, FRAMEGEN, QEMUSIM, RRBENCH, CAPBENCH):
        if not os.access(b, os.X_OK):
            sys.exit("bench: missing %s (run make and bench/run.sh)" % b)

    def log(msg):
        print(msg, file=sys.stderr, flush=True)

    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    result = {"timestamp": stamp, "machine": machine(), "versions": versions(),
              "settings": {"seconds": args.seconds, "udp_payload": UDP_PAYLOAD,
                           "frame_bytes": 60, "start_runs": args.start_runs,
                           "workloads": args.workloads},
              "paths": [], "framerate": {}}
    kinds = set(args.only.split(",")) if args.only else {"helper", "veth", "peer", "framerate",
                                                         "startup", "hops"}
    lab = Lab()
    t_start = time.monotonic()
    try:
        paths = []
        if "veth" in kinds:
            paths.append(VethPath(lab))
        if "helper" in kinds:
            # QEMU's case, -netdev dgram and -netdev stream, at the default MTU
            # and at --mtu 65520, then libkrun's (offloading), in both modes.
            for stream in (False, True):
                paths += [HelperPath(lab, "shared", False, None, stream),
                          HelperPath(lab, "shared", False, 65520, stream)]
            paths.append(HelperPath(lab, "host", False, 65520))
            paths += [HelperPath(lab, m, True) for m in ("host", "shared")]
            # QEMU's vhost-user frontend: the guest's own offloads, and none.
            paths += [VhostPath(lab, m) for m in ("shared", "host")]
            paths.append(VhostPath(lab, "shared", plain=True))
        elif "vhost" in kinds:
            paths += [VhostPath(lab, "shared"), VhostPath(lab, "shared", plain=True)]
        elif "stream" in kinds:
            paths += [HelperPath(lab, "shared", False, mtu, True) for mtu in (None, 65520)]
        # What --pcap costs: the default path and --mtu 65520 (64 KiB frames),
        # without and with it, side by side.
        if "helper" in kinds or "pcap" in kinds:
            if "helper" not in kinds:
                paths += [HelperPath(lab, "shared", False), HelperPath(lab, "shared", False, 65520)]
            paths += [HelperPath(lab, "shared", False, pcap=True),
                      HelperPath(lab, "shared", False, 65520, pcap=True)]
        if "peer" in kinds:
            paths += [PasstPath(lab, 65520), SlirpPath(lab)]
        log("bench %s: %d s per test" % (stamp, args.seconds))
        for p in paths:
            log("path: %s" % p.name)
            result["paths"].append(run_path(lab, p, args.seconds, log,
                                            args.workloads.split(",")))
        if "framerate" in kinds:
            log("frame rate: framegen to a TAP, and into the helper's socket")
            result["framerate"]["tap_direct"] = framerate_tap(lab, args.seconds)
            for mode in ("host", "shared"):
                result["framerate"]["helper_" + mode] = framerate_helper(lab, mode, args.seconds)
            result["framerate"]["vhost_shared"] = framerate_vhost(lab, "shared", args.seconds)
        if "pcap" in kinds or "framerate" in kinds:
            result["capbench"] = capbench(lab, log)
        if "pcap" in kinds and "framerate" not in kinds:
            result["framerate"]["helper_shared"] = framerate_helper(lab, "shared", args.seconds)
        if "framerate" in kinds or "pcap" in kinds:
            log("frame rate with --pcap")
            result["framerate"]["helper_shared_pcap"] = framerate_helper(lab, "shared",
                                                                         args.seconds, True)
        if "startup" in kinds:
            log("start time and memory")
            result["startup"], result["memory"] = startup(lab, args.start_runs)
        if "hops" in kinds:
            result["hops"] = hop_by_hop(lab, args.seconds, log)
    finally:
        lab.cleanup()
    result["duration_s"] = time.monotonic() - t_start
    add_ratios(result)
    result["pcap_cost"] = pcap_cost(result)
    result["targets"] = targets(result)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    jpath = out / ("%s.json" % stamp)
    jpath.write_text(json.dumps(result, indent=2) + "\n")
    print(table(result))
    png = out / ("%s.png" % stamp)
    print("\nresults: %s%s (%.0f s)" % (jpath, (", " + str(png)) if plot(result, png) else
                                         " (no matplotlib: no plot)", result["duration_s"]))


if __name__ == "__main__":
    main()
