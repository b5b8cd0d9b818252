# SPDX-License-Identifier: Apache-2.0
"""
Fixtures for the vmnet-helper integration tests.

Every test works in network namespaces it creates (named "vmit-<id>-<role>")
and removes, even on failure:

  host    the helper runs here (ip netns exec), its bridge and nft table live here
  guest   vmsim runs here: a TAP named eth0 relayed to the helper's socket, so
          real clients (udhcpc, dhcpcd, ping, nc) run against the helper
  remote  a namespace joined to host by a veth, host's default route points
          at it: the "internet" for shared mode NAT

Binaries come from build/ (or $VMNET_BUILD, relative to the repository root).
Run as root: /usr/bin/python3 -m pytest tests/integration
"""

import ipaddress
import json
import os
import pwd
import re
import secrets
import select
import shutil
import signal
import socket
import struct
import subprocess
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_build = Path(os.environ.get("VMNET_BUILD", "build"))
BUILD = _build if _build.is_absolute() else REPO / _build
HELPER = BUILD / "vmnet-helper"
CLIENT = BUILD / "vmnet-client"   # the spec's name of vmnet-run: the same program
RUN = BUILD / "vmnet-run"
BROKER = BUILD / "vmnet-broker"
VMSIM = BUILD / "tools" / "vmsim"
VHOSTSIM = BUILD / "tools" / "vhostsim"   # QEMU's vhost-user frontend and guest driver
STATUS = BUILD / "vmnet-status"

# What every program's --version prints: "NAME RELEASE (commit HASH)", the
# release being debian/changelog's newest (Makefile).
VERSION_LINE = r"^%s (\d+\.\d+\.\d+) \(commit ([0-9a-f]{7,}(?:-dirty)?|unknown)\)\n$"

RUN_ROOT = Path("/run/vmnet-helper")
LIB_ROOT = Path("/var/lib/vmnet-helper")

# Generous but bounded: a hung helper fails a test instead of hanging CI.
START_TIMEOUT = 15
STOP_TIMEOUT = 15
CMD_TIMEOUT = 30

REMOTE_HOST_ADDR = "203.0.113.1"   # host namespace end of the uplink veth
REMOTE_ADDR = "203.0.113.2"        # remote namespace end ("the internet")

NETWORKS = {
    # name: (start, end, mask)
    "shared-default": ("192.168.105.1", "192.168.105.254", "255.255.255.0"),
    "host-default": ("192.168.106.1", "192.168.106.254", "255.255.255.0"),
}


# --------------------------------------------------------------------------
# small helpers

def sh(cmd, check=True, timeout=CMD_TIMEOUT, **kw):
    """Runs cmd (a list) and returns CompletedProcess with text output."""
    return subprocess.run(cmd, check=check, timeout=timeout, capture_output=True,
                          text=True, **kw)


def wait_until(pred, timeout, interval=0.05):
    """Polls pred() until it returns a true value or timeout; returns the last value."""
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(interval)


def bridge_name(mode, gateway):
    prefix = {"shared": "vmnets", "host": "vmneth"}[mode]
    return "%s%08x" % (prefix, int(ipaddress.IPv4Address(gateway)))


def mask_prefix(mask):
    return ipaddress.IPv4Network("0.0.0.0/" + mask).prefixlen


def default_network(mode):
    return NETWORKS["%s-default" % mode]


def network_args(start, end, mask):
    return ["--start-address", start, "--end-address", end, "--subnet-mask", mask]


def read_line(fd, timeout):
    """Reads one line from a pipe fd within timeout. Returns bytes ('' on EOF/timeout)."""
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
    return buf


# --------------------------------------------------------------------------
# unprivileged users: the helper is meant to be run through sudo by them

# System users made for the tests (created on first use, kept: creating them is
# idempotent and concurrent runs share them). None can log in.
TEST_USERS = ("vmnet-test-a", "vmnet-test-b", "vmnet-test-c", "vmnet-test-d")


def unpriv_user(name):
    """(uid, gid) of the unprivileged test user name, created if missing."""
    assert name in TEST_USERS, name
    try:
        pw = pwd.getpwnam(name)
    except KeyError:
        r = sh(["useradd", "--system", "--user-group", "--no-create-home",
                "--home-dir", "/nonexistent", "--shell", "/usr/sbin/nologin", name],
               check=False)
        # A concurrent run may have created it in between.
        if r.returncode not in (0, 9):
            raise AssertionError("useradd %s failed: %s" % (name, r.stderr))
        pw = pwd.getpwnam(name)
    return pw.pw_uid, pw.pw_gid


def sudo_env(name):
    """The environment sudo gives a command run by user name."""
    uid, gid = unpriv_user(name)
    return {"SUDO_UID": str(uid), "SUDO_GID": str(gid), "SUDO_USER": name,
            "SUDO_COMMAND": str(HELPER)}


def as_user(name, argv):
    """argv run as user name (no supplementary groups, no capabilities)."""
    uid, gid = unpriv_user(name)
    return ["setpriv", "--reuid", str(uid), "--regid", str(gid), "--clear-groups",
            "--inh-caps=-all", "--"] + [str(a) for a in argv]


# --------------------------------------------------------------------------
# processes

def proc_status(pid):
    """/proc/PID/status as {key: [fields]}, or None if the process is gone."""
    out = {}
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                out[k] = v.split()
    except (FileNotFoundError, ProcessLookupError):
        return None
    return out


def proc_children(pid):
    """{comm: pid} of the children of pid (from /proc/*/stat)."""
    out = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            st = Path("/proc/%s/stat" % d).read_text()
        except (FileNotFoundError, ProcessLookupError):
            continue
        # pid (comm) state ppid ...: comm may hold spaces and parentheses
        comm = st[st.index("(") + 1:st.rindex(")")]
        if int(st[st.rindex(")") + 2:].split()[1]) == pid:
            out[comm] = int(d)
    return out


STATS_RE = re.compile(r"^INFO  \[stats\] (\{.*\})$")


def last_stats(h):
    """The helper's last stats line (--stats-interval) as a dict, or None."""
    last = None
    for line in h.stderr_lines():
        m = STATS_RE.match(line)
        if m:
            last = json.loads(m.group(1))
    return last


def vm_drops(h):
    """Frames from the VM the helper dropped, by its last stats line (0 before one)."""
    st = last_stats(h)
    return st["vm"]["drops"] if st else 0


def helper_processes(pid):
    """A running helper's processes by role: datapath (pid itself), reaper
    and, with --socket, files; a role missing is absent from the dict."""
    kids = proc_children(pid)
    out = {"datapath": pid}
    for role in ("reaper", "files"):
        if "vmnet-" + role in kids:
            out[role] = kids["vmnet-" + role]
    return out


def fd_objects(pid):
    """{(st_dev, st_ino)} of everything open in pid (files, pipes, sockets)."""
    out = set()
    d = "/proc/%d/fd" % pid
    for n in os.listdir(d):
        try:
            st = os.stat(os.path.join(d, n))
        except FileNotFoundError:
            continue
        out.add((st.st_dev, st.st_ino))
    return out


# --------------------------------------------------------------------------
# network namespaces

class Netns:
    def __init__(self, name):
        self.name = name
        sh(["ip", "netns", "add", name])
        self.inode = os.stat("/run/netns/" + name).st_ino
        # Namespace inodes are reused: state under a fresh namespace's inode
        # is stale (from a deleted namespace) and would leak into this test.
        shutil.rmtree(self.run_dir, ignore_errors=True)
        shutil.rmtree(self.lib_dir, ignore_errors=True)
        self.run(["ip", "link", "set", "lo", "up"])

    def cmd(self, argv):
        return ["ip", "netns", "exec", self.name] + [str(a) for a in argv]

    def run(self, argv, check=True, timeout=CMD_TIMEOUT, **kw):
        return sh(self.cmd(argv), check=check, timeout=timeout, **kw)

    def popen(self, argv, **kw):
        return subprocess.Popen(self.cmd(argv), **kw)

    def ip_json(self, *args):
        out = sh(["ip", "-n", self.name, "-j"] + list(args)).stdout
        return json.loads(out) if out.strip() else []

    def links(self):
        return self.ip_json("link", "show")

    def link_names(self):
        return [l["ifname"] for l in self.links()]

    def addrs(self, dev):
        out = []
        for link in self.ip_json("addr", "show", "dev", dev):
            for a in link.get("addr_info", []):
                if a.get("family") == "inet":
                    out.append("%s/%d" % (a["local"], a["prefixlen"]))
        return out

    def nft_tables(self):
        """['family name', ...] of every nftables table in the namespace."""
        out = self.run(["nft", "list", "tables"]).stdout
        return [l.split(None, 1)[1].strip() for l in out.splitlines()
                if l.startswith("table ")]

    def sysctl(self, key):
        path = "/proc/sys/" + key.replace(".", "/")
        return self.run(["cat", path]).stdout.strip()

    def set_sysctl(self, key, value):
        path = "/proc/sys/" + key.replace(".", "/")
        self.run(["sh", "-c", "echo %s > %s" % (value, path)])

    def pids(self):
        out = sh(["ip", "netns", "pids", self.name], check=False).stdout
        return [int(p) for p in out.split()]

    @property
    def run_dir(self):
        return RUN_ROOT / str(self.inode)

    @property
    def lib_dir(self):
        return LIB_ROOT / str(self.inode)

    def delete(self):
        for sig in (signal.SIGTERM, signal.SIGKILL):
            pids = self.pids()
            if not pids:
                break
            for p in pids:
                try:
                    os.kill(p, sig)
                except ProcessLookupError:
                    pass
            wait_until(lambda: not self.pids(), 3)
        sh(["ip", "netns", "del", self.name], check=False)
        # Helper state of this (now gone) namespace: ours to remove.
        shutil.rmtree(self.run_dir, ignore_errors=True)
        shutil.rmtree(self.lib_dir, ignore_errors=True)


# --------------------------------------------------------------------------
# the helper

class Helper:
    """A vmnet-helper process in a namespace; stdout piped, stderr to a file."""

    def __init__(self, lab, ns, args, pass_fds=(), env=None, wait_json=True,
                 binary=None, policy=None, **popen):
        self.lab = lab
        self.ns = ns
        self.args = [str(a) for a in args]
        lab.counter += 1
        self.stderr_path = lab.tmp / ("helper-%d.stderr" % lab.counter)
        self._stderr = open(self.stderr_path, "wb")
        full_env = dict(os.environ)
        for k in ("SUDO_UID", "SUDO_GID", "SUDO_USER", "SUDO_COMMAND"):
            full_env.pop(k, None)
        if env:
            full_env.update(env)
        argv = ns.cmd([binary or HELPER] + self.args)
        if policy is not None:
            argv = policy.wrap(argv)
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE,
                                     stderr=self._stderr, stdin=subprocess.DEVNULL,
                                     pass_fds=tuple(pass_fds), env=full_env, **popen)
        self.pid = self.proc.pid
        self.info = None
        lab.helpers.append(self)
        if wait_json:
            self.read_json()

    def read_json(self, timeout=START_TIMEOUT):
        line = read_line(self.proc.stdout.fileno(), timeout)
        if not line:
            rc = self.proc.poll()
            raise AssertionError("helper printed no JSON line within %ss (exit %s); stderr:\n%s"
                                 % (timeout, rc, self.stderr()))
        try:
            self.info = json.loads(line)
        except ValueError:
            raise AssertionError("helper printed invalid JSON %r; stderr:\n%s"
                                 % (line, self.stderr()))
        return self.info

    def stdout_rest(self):
        return self.proc.stdout.read()

    def stderr(self):
        self._stderr.flush()
        return self.stderr_path.read_text(errors="replace")

    def stderr_lines(self):
        return [l for l in self.stderr().splitlines() if l.strip()]

    def alive(self):
        return self.proc.poll() is None

    def send_signal(self, sig):
        if self.alive():
            self.proc.send_signal(sig)

    def wait(self, timeout=STOP_TIMEOUT):
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("helper %d did not exit within %ss; stderr:\n%s"
                                 % (self.pid, timeout, self.stderr()))

    def stop(self, sig=signal.SIGTERM, timeout=STOP_TIMEOUT):
        self.send_signal(sig)
        return self.wait(timeout)

    def kill(self):
        if self.alive():
            self.proc.kill()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass

    def wait_stderr(self, pattern, timeout=10):
        rx = re.compile(pattern, re.M)
        return wait_until(lambda: rx.search(self.stderr()), timeout)

    def close(self):
        if self.proc.stdout:
            self.proc.stdout.close()
        self._stderr.close()

    @property
    def gateway(self):
        return self.info["vmnet_start_address"]

    @property
    def bridge(self):
        mode = "host" if "--operation-mode=host" in self.args or \
            ("--operation-mode" in self.args and
             self.args[self.args.index("--operation-mode") + 1] == "host") else "shared"
        return bridge_name(mode, self.gateway)

    @property
    def prefixlen(self):
        return mask_prefix(self.info["vmnet_subnet_mask"])


# --------------------------------------------------------------------------
# VM side: a raw socket end (python) or vmsim in a guest namespace

class RawVM:
    """The VM end of the socketpair, used directly from python."""

    def __init__(self, sock, helper=None):
        self.sock = sock
        self.helper = helper

    def send(self, frame):
        return self.sock.send(bytes(frame))

    def recv(self, timeout=2.0):
        """Next datagram as bytes, or None after timeout."""
        r, _, _ = select.select([self.sock], [], [], timeout)
        if not r:
            return None
        return self.sock.recv(65536)

    def recv_until(self, pred, timeout=3.0):
        """First frame (bytes) for which pred(bytes) is true, or None."""
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            f = self.recv(left)
            if f is None:
                return None
            if pred(f):
                return f

    def drain(self):
        while self.recv(0) is not None:
            pass

    def close(self):
        self.sock.close()


class StreamVM(RawVM):
    """The VM end of a stream socket: frames behind their 4-byte big-endian
    length, as QEMU's -netdev stream sends them."""

    def __init__(self, sock, helper=None):
        super().__init__(sock, helper)
        self.buf = b""

    def send(self, frame):
        frame = bytes(frame)
        self.sock.sendall(struct.pack("!I", len(frame)) + frame)
        return len(frame)

    def send_raw(self, data):
        self.sock.sendall(bytes(data))

    def _frame(self):
        if len(self.buf) >= 4:
            n = struct.unpack("!I", self.buf[:4])[0]
            if len(self.buf) >= 4 + n:
                frame, self.buf = self.buf[4:4 + n], self.buf[4 + n:]
                return frame
        return None

    def recv(self, timeout=2.0):
        """Next frame as bytes, or None after timeout (or at the end of the stream)."""
        deadline = time.monotonic() + timeout
        while True:
            f = self._frame()
            if f is not None:
                return f
            left = deadline - time.monotonic()
            r, _, _ = select.select([self.sock], [], [], max(0, left))
            if not r:
                return None
            chunk = self.sock.recv(1 << 20)
            if not chunk:
                return None
            self.buf += chunk


class Guest:
    """vmsim relaying TAP 'eth0' in a guest namespace to a helper socket."""

    def __init__(self, lab, ns, proc, tap="eth0"):
        self.lab = lab
        self.ns = ns
        self.proc = proc
        self.tap = tap

    def run(self, argv, **kw):
        return self.ns.run(argv, **kw)

    def configure(self, address, prefixlen, gateway=None):
        self.ns.run(["ip", "addr", "add", "%s/%d" % (address, prefixlen), "dev", self.tap])
        if gateway:
            self.ns.run(["ip", "route", "add", "default", "via", gateway])

    def ping(self, addr, count=1, timeout=2, check=False):
        """True when at least one reply came back."""
        r = self.ns.run(["ping", "-n", "-c", count, "-i", "0.2", "-W", timeout, addr],
                        check=False, timeout=count * (timeout + 1) + 10)
        return r.returncode == 0

    def stop(self, timeout=5):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode


class Policy:
    """
    An administrator's /etc/vmnet-helper/vmnet-helper.conf for the helpers a
    test starts with it, without touching the host's /etc: wrap() runs a
    command in a private mount namespace where an overlay over /etc adds the
    file (the rest of /etc shows through). The helper reads the fixed path
    it was built with, as it would on a real host.
    """

    def __init__(self, lab, text, mode=0o644, owner=(0, 0), dir_mode=0o755):
        lab.counter += 1
        base = lab.tmp / ("etc-%d" % lab.counter)
        self.upper, self.work = base / "upper", base / "work"
        self.dir = self.upper / "vmnet-helper"
        self.dir.mkdir(parents=True)
        self.work.mkdir()
        self.path = self.dir / "vmnet-helper.conf"
        self.path.write_text(text)
        os.chown(self.path, *owner)
        os.chmod(self.path, mode)
        os.chmod(self.dir, dir_mode)

    def wrap(self, argv):
        # A work directory of its own for each mount: overlayfs empties and
        # remakes work/work as it mounts, and twenty helpers started at once
        # over one work directory raced there ("wrong fs type").
        script = ('w=$(mktemp -d -p "$2") && mount -t overlay overlay'
                  ' -o lowerdir=/etc,upperdir="$1",workdir="$w" /etc && shift 2 && exec "$@"')
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
                str(self.upper), str(self.work)] + [str(a) for a in argv]


class Resolved:
    """
    systemd-resolved's upstream list, /run/systemd/resolve/resolv.conf,
    naming these nameservers for the helpers a test starts with it (pass it
    as policy=): wrap() runs the command in a private mount namespace with a
    tmpfs over /run/systemd holding the file. The host's /run is untouched.
    """

    def __init__(self, lab, *nameservers):
        if not os.path.isdir("/run/systemd"):
            pytest.skip("no /run/systemd to mount over")
        lab.counter += 1
        self.path = lab.tmp / ("resolved-%d.conf" % lab.counter)
        self.path.write_text("".join("nameserver %s\n" % n for n in nameservers))

    def wrap(self, argv):
        script = ('mount -t tmpfs -o mode=0755 tmpfs /run/systemd && mkdir /run/systemd/resolve'
                  ' && cp "$1" /run/systemd/resolve/resolv.conf && shift && exec "$@"')
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh",
                str(self.path)] + [str(a) for a in argv]


class Lab:
    """Owns every namespace and process of one test and removes them."""

    def __init__(self, tmp):
        self.tmp = Path(tmp)
        self.id = secrets.token_hex(3)
        self.counter = 0
        self.namespaces = []
        self.helpers = []
        self.procs = []
        self.socks = []
        self._host = None
        self._user_root = None
        self._netns_etc = None

    # namespaces
    def netns(self, role):
        ns = Netns("vmit-%s-%s" % (self.id, role))
        self.namespaces.append(ns)
        return ns

    @property
    def host(self):
        if self._host is None:
            self._host = self.netns("host")
        return self._host

    def remote(self):
        """A 'remote' namespace behind a veth; host's default route points at it."""
        r = self.netns("remote")
        sh(["ip", "-n", self.host.name, "link", "add", "uplink0", "type", "veth",
            "peer", "name", "eth0", "netns", r.name])
        self.host.run(["ip", "addr", "add", REMOTE_HOST_ADDR + "/24", "dev", "uplink0"])
        self.host.run(["ip", "link", "set", "uplink0", "up"])
        self.host.run(["ip", "route", "add", "default", "via", REMOTE_ADDR])
        r.run(["ip", "addr", "add", REMOTE_ADDR + "/24", "dev", "eth0"])
        r.run(["ip", "link", "set", "eth0", "up"])
        # Wait for the veth to be usable (no DAD for IPv4, but carrier takes a moment).
        assert wait_until(lambda: self.host.run(
            ["ping", "-n", "-c", "1", "-W", "1", REMOTE_ADDR], check=False).returncode == 0, 10), \
            "remote namespace unreachable from host namespace"
        return r

    # the host namespace's resolv.conf: `ip netns exec` bind-mounts
    # /etc/netns/<ns>/resolv.conf over /etc/resolv.conf for what runs there
    def resolv(self, *nameservers):
        """Gives the host namespace these nameservers (removed with the lab)."""
        etc = Path("/etc/netns") / self.host.name
        if self._netns_etc is None:
            self._netns_etc = (etc, not etc.parent.exists())
        etc.mkdir(parents=True, exist_ok=True)
        (etc / "resolv.conf").write_text("".join("nameserver %s\n" % n for n in nameservers))

    # directories an unprivileged user owns (tmp_path is root's, mode 0700)
    def _dir_base(self):
        if self._user_root is None:
            self._user_root = Path("/tmp/vmnet-it-%s" % self.id)
            self._user_root.mkdir(mode=0o711)
            os.chmod(self._user_root, 0o711)
        return self._user_root

    def user_dir(self, name):
        """A fresh directory owned by test user name, under a base others may
        traverse but not write. Removed with the lab."""
        uid, gid = unpriv_user(name)
        d = self._dir_base() / name
        d.mkdir(mode=0o700)
        os.chown(d, uid, gid)
        return d

    def root_dir(self, name):
        """A fresh root-owned directory (mode 0755) beside the user
        directories: what no test user may write. Removed with the lab."""
        d = self._dir_base() / name
        d.mkdir(mode=0o755)
        os.chmod(d, 0o755)
        return d

    # sockets
    def socketpair(self, stream=False):
        a, b = socket.socketpair(socket.AF_UNIX,
                                 socket.SOCK_STREAM if stream else socket.SOCK_DGRAM)
        self.socks += [a, b]
        return a, b

    # the helper
    def helper(self, args=(), ns=None, env=None, vm=True, wait_json=True, binary=None,
               extra_fds=(), stream=False, policy=None, **popen):
        """Starts a helper with --fd on a new socketpair (unless args has
        --socket or vm=False), a stream one if stream; extra_fds are
        inherited too; policy: a Policy (its vmnet-helper.conf is the
        helper's); popen goes to subprocess.Popen (preexec_fn,
        process_group: what a user hands sudo). Returns (helper, RawVM /
        StreamVM or None)."""
        ns = ns or self.host
        args = [str(a) for a in args]
        raw = None
        pass_fds = tuple(extra_fds)
        if vm and "--socket" not in args and not any(a.startswith("--socket=") for a in args):
            ours, theirs = self.socketpair(stream)
            args = ["--fd", str(theirs.fileno())] + args
            pass_fds += (theirs.fileno(),)
            raw = StreamVM(ours) if stream else RawVM(ours)
        h = Helper(self, ns, args, pass_fds=pass_fds, env=env, wait_json=wait_json,
                   binary=binary, policy=policy, **popen)
        if raw is not None:
            raw.helper = h
            # The helper holds its own copy now.
            theirs.close()
        return h, raw

    def run_helper(self, args, ns=None, timeout=CMD_TIMEOUT, env=None, pass_fds=(),
                   policy=None):
        """Runs a helper expected to exit on its own. CompletedProcess."""
        ns = ns or self.host
        full_env = dict(os.environ)
        for k in ("SUDO_UID", "SUDO_GID", "SUDO_USER", "SUDO_COMMAND"):
            full_env.pop(k, None)
        if env:
            full_env.update(env)
        try:
            argv = ns.cmd([HELPER] + list(args))
            if policy is not None:
                argv = policy.wrap(argv)
            return subprocess.run(argv, capture_output=True,
                                  text=True, timeout=timeout, env=full_env,
                                  stdin=subprocess.DEVNULL, pass_fds=tuple(pass_fds))
        except subprocess.TimeoutExpired:
            raise AssertionError("helper %s did not exit within %ss" % (args, timeout))

    # guests
    def guest(self, raw, mac=None, role=None, tap="eth0", mtu=None, offload=False):
        """Moves the VM end of a helper (a RawVM) into vmsim in a new guest namespace.
        offload: vmsim --offload (an offloading VM: 64 KiB TCP frames, partial checksums)."""
        self.counter += 1
        ns = self.netns(role or "g%d" % self.counter)
        fd = raw.sock.fileno()
        argv = [VMSIM, "--tap", tap, "--fd", fd]
        if mac:
            argv += ["--mac", mac]
        if mtu:
            argv += ["--mtu", mtu]
        if offload:
            argv.append("--offload")
        proc = ns.popen(argv, pass_fds=(fd,), stdout=subprocess.PIPE,
                        stderr=open(self.tmp / ("vmsim-%d.stderr" % self.counter), "wb"),
                        stdin=subprocess.DEVNULL)
        self.procs.append(proc)
        raw.close()   # vmsim holds the VM end now
        line = read_line(proc.stdout.fileno(), 10)
        assert line.startswith(b"READY"), "vmsim did not start: %r %s" % (
            line, (self.tmp / ("vmsim-%d.stderr" % self.counter)).read_text())
        return Guest(self, ns, proc, tap)

    def guest_socket(self, path, handshake=True, mac=None, role=None, tap="eth0",
                     bind=None, stream=False, offload=False):
        """vmsim in a new guest namespace connecting to a helper --socket PATH
        (a stream connection, QEMU -netdev stream style, if stream)."""
        self.counter += 1
        ns = self.netns(role or "g%d" % self.counter)
        argv = [VMSIM, "--tap", tap, "--socket", path]
        if stream:
            argv.append("--stream")
        elif handshake:
            argv.append("--handshake")
        if offload:
            argv.append("--offload")
        if mac:
            argv += ["--mac", mac]
        if bind:
            argv += ["--bind", bind]
        errpath = self.tmp / ("vmsim-%d.stderr" % self.counter)
        proc = ns.popen(argv, stdout=subprocess.PIPE, stderr=open(errpath, "wb"),
                        stdin=subprocess.DEVNULL)
        self.procs.append(proc)
        line = read_line(proc.stdout.fileno(), 10)
        assert line.startswith(b"READY"), "vmsim did not start: %r %s" % (
            line, errpath.read_text())
        return Guest(self, ns, proc, tap)

    def guest_vhost(self, path, mac=None, role=None, tap="eth0", plain=False, evil=None):
        """vhostsim in a new guest namespace as the vhost-user frontend of a
        helper --socket PATH --socket-type vhost-user (plain: no offload,
        mergeable buffers or event index; evil: a hostile mode, see
        bench/vhostsim.c). The lines it printed before READY are in
        guest.before."""
        self.counter += 1
        ns = self.netns(role or "g%d" % self.counter)
        argv = [VHOSTSIM, "--tap", tap, "--socket", path]
        if plain:
            argv.append("--plain")
        if mac:
            argv += ["--mac", mac]
        if evil:
            argv += ["--evil", evil]
        errpath = self.tmp / ("vhostsim-%d.stderr" % self.counter)
        proc = ns.popen(argv, stdout=subprocess.PIPE, stderr=open(errpath, "wb"),
                        stdin=subprocess.DEVNULL)
        self.procs.append(proc)
        before = []
        line = read_line(proc.stdout.fileno(), 10)
        while line and not line.startswith(b"READY"):
            before.append(line.decode().strip())
            line = read_line(proc.stdout.fileno(), 10)
        assert line.startswith(b"READY"), "vhostsim did not start: %r %s" % (
            line, errpath.read_text())
        g = Guest(self, ns, proc, tap)
        g.before = before
        return g

    def popen(self, argv, **kw):
        p = subprocess.Popen([str(a) for a in argv], **kw)
        self.procs.append(p)
        return p

    def cleanup(self):
        for h in self.helpers:
            if h.alive():
                h.send_signal(signal.SIGTERM)
        for h in self.helpers:
            if h.alive():
                try:
                    h.proc.wait(STOP_TIMEOUT)
                except subprocess.TimeoutExpired:
                    h.kill()
        for p in self.procs:
            if p.poll() is None:
                p.terminate()
        for p in self.procs:
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                p.kill()
                try:
                    p.wait(5)
                except subprocess.TimeoutExpired:
                    pass
        for h in self.helpers:
            h.close()
        for s in self.socks:
            s.close()
        for ns in reversed(self.namespaces):
            ns.delete()
        if self._user_root is not None:
            shutil.rmtree(self._user_root, ignore_errors=True)
        if self._netns_etc is not None:
            etc, made_parent = self._netns_etc
            shutil.rmtree(etc, ignore_errors=True)
            if made_parent:
                try:
                    etc.parent.rmdir()   # only if we made it and it is empty
                except OSError:
                    pass


# --------------------------------------------------------------------------
# leftovers

def leftovers(ns, ip_forward=None, allow_leases=True):
    """Describes what the helper left behind in ns; empty list when clean."""
    found = []
    if ns.pids():
        found.append("processes %s" % ns.pids())
    for name in ns.link_names():
        if name.startswith("vmtap") or name.startswith("vmnet"):
            found.append("link %s" % name)
    for t in ns.nft_tables():
        if "vmnet" in t:
            found.append("nft table %s" % t)
    if ip_forward is not None and ns.sysctl("net.ipv4.ip_forward") != ip_forward:
        found.append("net.ipv4.ip_forward=%s (was %s)" % (ns.sysctl("net.ipv4.ip_forward"),
                                                          ip_forward))
    if ns.run_dir.exists():
        # The lock and the status directory stay; the helpers' status
        # sockets in it go with them (vmnet-status).
        extra = [p.name for p in ns.run_dir.iterdir() if p.name not in ("lock", "status")]
        status = ns.run_dir / "status"
        if status.is_dir():
            extra += ["status/" + p.name for p in status.iterdir()]
        if extra:
            found.append("files in %s: %s" % (ns.run_dir, extra))
    if not allow_leases and ns.lib_dir.exists():
        extra = [p.name for p in ns.lib_dir.iterdir()]
        if extra:
            found.append("files in %s: %s" % (ns.lib_dir, extra))
    return found


def assert_clean(ns, ip_forward=None, timeout=3):
    """The helper cleans up before it exits; allow a short grace for the kernel."""
    left = wait_until(lambda: not leftovers(ns, ip_forward), timeout, 0.1)
    assert left, "left behind: %s" % leftovers(ns, ip_forward)


# --------------------------------------------------------------------------
# fixtures

def pytest_configure(config):
    config.addinivalue_line("markers", "slow: longer tests")


@pytest.fixture(scope="session", autouse=True)
def _environment():
    if os.geteuid() != 0:
        pytest.skip("integration tests need root", allow_module_level=True)
    missing = [str(p) for p in (HELPER, CLIENT, RUN, BROKER, VMSIM) if not os.access(p, os.X_OK)]
    if missing:
        pytest.fail("missing binaries (run make): %s" % ", ".join(missing), pytrace=False)
    yield


@pytest.fixture
def lab(tmp_path):
    lab = Lab(tmp_path)
    try:
        yield lab
    finally:
        lab.cleanup()
