# SPDX-License-Identifier: Apache-2.0
"""
The privilege boundary under attack (docs/security.md). The invoking user
is untrusted: each test plays a real unprivileged user (vmnet-test-a) who
runs the helper through the SUDO_UID/SUDO_GID path sudo uses, and attacks
from a process of their own. Root-owned decoys elsewhere must not change.
"""

import ctypes
import fcntl
import os
import pwd
import resource
import shutil
import signal
import socket
import stat
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

import frames
from conftest import (CLIENT, HELPER, START_TIMEOUT, STOP_TIMEOUT, as_user, assert_clean, fd_objects,
                      helper_processes, leftovers, proc_status, read_line, sudo_env,
                      unpriv_user, wait_until)

USER = "vmnet-test-a"
CAP_NET_ADMIN = 1 << 12
# CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER: root's files process.
FILE_CAPS = (1 << 1) | (1 << 2) | (1 << 3)


def processes(h):
    """The helper's processes by role (all there once the JSON line is)."""
    return helper_processes(h.pid)


def serves(h, vm):
    return frames.arp_resolve(vm, h.info["vmnet_mac_address"], h.info["lease_address"],
                              h.gateway) is not None


# --------------------------------------------------------------------------
# root-owned decoys

def make_decoys(d, names):
    """Root-owned regular files (mode 0644) named like the helper's files."""
    for n in names:
        p = d / n
        p.write_text("decoy %s\n" % n)
        os.chmod(p, 0o644)


def snapshot(d):
    """Everything that must not change in a root-owned directory: its own
    owner and mode, and each entry's owner, mode, inode and content."""
    st = os.lstat(d)
    out = {".": (st.st_uid, st.st_gid, st.st_mode)}
    for p in sorted(d.iterdir()):
        s = os.lstat(p)
        body = p.read_bytes() if stat.S_ISREG(s.st_mode) else None
        out[p.name] = (s.st_uid, s.st_gid, s.st_mode, s.st_ino, body)
    return out


def diff(before, after):
    changed = []
    for k in sorted(set(before) | set(after)):
        if before.get(k) != after.get(k):
            changed.append("%s: %s -> %s" % (k, before.get(k), after.get(k)))
    return changed


def start_as_user(lab, args, env=None):
    """A helper started with the user's sudo environment. Returns
    (helper, True) once it printed its JSON line, or (helper, False) once it
    exited without one."""
    h, _ = lab.helper(args, env=sudo_env(USER) if env is None else env, wait_json=False)
    line = read_line(h.proc.stdout.fileno(), START_TIMEOUT)
    if line:
        return h, True
    h.wait()
    return h, False


def assert_refused(h, what):
    rc = h.wait()
    lines = h.stderr_lines()
    assert rc != 0, "%s: exit 0" % what
    assert len(lines) == 1, "%s: want one line on stderr, got:\n%s" % (what, "\n".join(lines))
    return lines[0]


# --------------------------------------------------------------------------
# 1. symlink flipping while the helper creates its files

# Swaps two names (a directory and a symlink) atomically, as fast as it can.
FLIPPER = r"""
import ctypes, os, signal, sys
libc = ctypes.CDLL(None, use_errno=True)
a, b = sys.argv[1].encode(), sys.argv[2].encode()
flips = 0
def done(*_):
    print(flips, flush=True)
    os._exit(0)
signal.signal(signal.SIGTERM, done)
print("ready", flush=True)
while True:
    # renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE)
    if libc.renameat2(-100, a, -100, b, 2) != 0:
        sys.exit("renameat2: %s" % os.strerror(ctypes.get_errno()))
    flips += 1
"""

STARTS = 200


def test_symlink_flipping_during_starts(lab):
    """While the user swaps a directory of the socket path with a symlink to
    a root-owned directory, 200 helper starts change nothing of root's:
    neither the files there (owner, mode, content) nor what exists there."""
    uid, gid = unpriv_user(USER)
    decoy = lab.root_dir("decoy")
    make_decoys(decoy, ["vmnet.sock", "vmnet.sock.lock"])
    before = snapshot(decoy)
    home = lab.user_dir(USER)
    sub, link = home / "sub", home / "link"
    sub.mkdir()
    os.chown(sub, uid, gid)
    os.symlink(decoy, link)
    os.lchown(link, uid, gid)
    # One helper holds the network, so the others only join it.
    keeper, _ = lab.helper(["--operation-mode", "host"])
    flipper = lab.popen(as_user(USER, [sys.executable, "-c", FLIPPER, sub, link]),
                        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert read_line(flipper.stdout.fileno(), 10) == b"ready\n"
    served = refused = 0
    t0 = time.monotonic()
    for i in range(STARTS):
        h, started = start_as_user(lab, ["--operation-mode", "host",
                                         "--socket", sub / "vmnet.sock"])
        if started:
            served += 1
            assert h.stop() == 0, "start %d: %s" % (i, h.stderr())
        else:
            refused += 1
            assert_refused(h, "start %d" % i)
        changed = diff(before, snapshot(decoy))
        assert not changed, "start %d changed root's files: %s\n%s" % (i, changed,
                                                                        h.stderr())
        h.close()
    elapsed = time.monotonic() - t0
    flipper.send_signal(signal.SIGTERM)
    flips = int(flipper.communicate(timeout=10)[0] or 0)
    print("%d starts in %.1f s: %d served, %d refused; %d flips"
          % (STARTS, elapsed, served, refused, flips))
    assert flips > STARTS, "the attacker hardly ran (%d flips)" % flips
    assert keeper.stop() == 0
    assert_clean(lab.host)


# --------------------------------------------------------------------------
# 2. --socket naming what the user may not touch

def test_socket_at_root_files_refused(lab):
    """--socket at a root-owned file, or in a root-owned directory: refused
    with one line; the file is still there, unchanged, no PATH.lock anywhere
    and nothing on the host changed."""
    root = lab.root_dir("root")
    make_decoys(root, ["victim"])
    home = lab.user_dir(USER)
    # A root-owned file in the user's own directory: the user could remove
    # it, but it is not a socket, so it is not the helper's to replace.
    (home / "rootfile").write_text("root's\n")
    os.chmod(home / "rootfile", 0o644)
    before = snapshot(root), snapshot(home)
    for path in (root / "victim", root / "new.sock", home / "rootfile"):
        h, started = start_as_user(lab, ["--socket", path])
        if started:
            h.stop()
        assert not started, "--socket %s was accepted" % path
        line = assert_refused(h, "--socket %s" % path)
        assert line.startswith("ERROR [files] "), line
        assert str(path) in line, line
        assert not leftovers(lab.host), leftovers(lab.host)
        assert not lab.host.run_dir.exists(), "state directory created"
        changed = diff(before[0], snapshot(root)) + diff(before[1], snapshot(home))
        assert not changed, "--socket %s changed: %s" % (path, changed)


# --------------------------------------------------------------------------
# 3. the user renames a directory, plants a symlink, kills their datapath

def test_renamed_directory_and_killed_datapath(lab):
    """The files are removed with the user's identity: after the user moves
    the socket's directory away, puts a symlink to a root-owned directory in
    its place and SIGKILLs their own datapath, root's files survive and the
    network is still torn down."""
    uid, gid = unpriv_user(USER)
    root = lab.root_dir("root")
    make_decoys(root, ["vmnet.sock", "vmnet.sock.lock"])
    before = snapshot(root)
    home = lab.user_dir(USER)
    vmdir = home / "vm"
    vmdir.mkdir()
    os.chown(vmdir, uid, gid)
    path = vmdir / "vmnet.sock"
    h, started = start_as_user(lab, ["--socket", path])
    assert started, h.stderr()
    assert path.exists()
    attack = "mv %s %s && ln -s %s %s && kill -KILL %d" % (
        vmdir, home / "vm2", root, vmdir, h.pid)
    r = subprocess.run(as_user(USER, ["sh", "-c", attack]), capture_output=True, text=True,
                       timeout=10)
    assert r.returncode == 0, r.stderr
    h.wait()
    assert_clean(lab.host, timeout=5)
    changed = diff(before, snapshot(root))
    assert not changed, "root's files changed: %s" % changed


# --------------------------------------------------------------------------
# 4. who each process is

def caps(st, key):
    return int(st[key][0], 16)


def check_datapath(st, uid, gid):
    assert st["Uid"] == [str(uid)] * 4, "datapath Uid %s" % st["Uid"]
    assert st["Gid"] == [str(gid)] * 4, "datapath Gid %s" % st["Gid"]
    assert st.get("Groups", []) == [], "datapath Groups %s" % st["Groups"]
    for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
        assert caps(st, k) == 0, "datapath %s %s" % (k, st[k])
    assert st["NoNewPrivs"] == ["1"]


def check_root_with(st, who, allowed):
    assert st["Uid"] == ["0"] * 4, "%s Uid %s" % (who, st["Uid"])
    assert st.get("Groups", []) == [], "%s Groups %s" % (who, st["Groups"])
    for k in ("CapPrm", "CapEff", "CapBnd"):
        assert caps(st, k) == allowed, "%s %s %s, want %x" % (who, k, st[k], allowed)
    for k in ("CapInh", "CapAmb"):
        assert caps(st, k) == 0, "%s %s %s" % (who, k, st[k])
    assert st["NoNewPrivs"] == ["1"]


def test_without_sudo_datapath_is_nobody(lab):
    """Started by root with no SUDO_*: the datapath is nobody with nothing,
    the reaper is root with CAP_NET_ADMIN alone, and both still do their
    jobs (serving, then teardown)."""
    nobody = pwd.getpwnam("nobody")
    h, vm = lab.helper([])
    procs = processes(h)
    check_datapath(proc_status(h.pid), nobody.pw_uid, nobody.pw_gid)
    assert "reaper" in procs, procs
    check_root_with(proc_status(procs["reaper"]), "reaper", CAP_NET_ADMIN)
    assert serves(h, vm), "not serving as nobody:\n%s" % h.stderr()
    assert "running as uid: %d gid: %d" % (nobody.pw_uid, nobody.pw_gid) in h.stderr()
    assert h.stop() == 0, h.stderr()
    assert_clean(lab.host)


@pytest.mark.parametrize("sudo", [False, True], ids=["root", "sudo"])
def test_socket_files_process_identity(lab, sudo):
    """--socket: the files process is the user (sudo) with no capabilities,
    or root with the file capabilities only (root's own path, no sudo)."""
    uid, gid = unpriv_user(USER)
    d = lab.user_dir(USER) if sudo else lab.tmp
    h, started = start_as_user(lab, ["--socket", d / "vmnet.sock"],
                               env=sudo_env(USER) if sudo else {})
    assert started, h.stderr()
    procs = processes(h)
    assert set(procs) == {"datapath", "reaper", "files"}, procs
    files = proc_status(procs["files"])
    if sudo:
        check_datapath(files, uid, gid)
        check_datapath(proc_status(h.pid), uid, gid)
    else:
        check_root_with(files, "files process", FILE_CAPS)
    check_root_with(proc_status(procs["reaper"]), "reaper", CAP_NET_ADMIN)
    assert h.stop() == 0
    assert not (d / "vmnet.sock").exists() and not (d / "vmnet.sock.lock").exists()
    assert_clean(lab.host)


# --------------------------------------------------------------------------
# 5. SUDO_UID/SUDO_GID half set or malformed

def sudo_cases():
    uid, gid = (str(i) for i in unpriv_user(USER))
    return [
        ("uid only", {"SUDO_UID": uid}),
        ("gid only", {"SUDO_GID": gid}),
        ("uid only, with SUDO_USER", {"SUDO_UID": uid, "SUDO_USER": USER}),
        ("leading space", {"SUDO_UID": " " + uid, "SUDO_GID": gid}),
        ("plus sign", {"SUDO_UID": "+" + uid, "SUDO_GID": gid}),
        ("leading zero", {"SUDO_UID": "0" + uid, "SUDO_GID": gid}),
        ("minus one", {"SUDO_UID": "-1", "SUDO_GID": gid}),
        ("trailing junk", {"SUDO_UID": uid, "SUDO_GID": gid + "x"}),
        ("hex", {"SUDO_UID": uid, "SUDO_GID": "0x10"}),
        ("empty", {"SUDO_UID": "", "SUDO_GID": gid}),
        ("too large", {"SUDO_UID": "4294967295", "SUDO_GID": gid}),
        ("overflow", {"SUDO_UID": "99999999999", "SUDO_GID": gid}),
    ]


def test_bad_sudo_environment_refused(lab):
    """Each bad SUDO_UID/SUDO_GID: refused with one line before anything
    changes (no JSON line, no device, no state)."""
    accepted = []
    for name, env in sudo_cases():
        h, started = start_as_user(lab, [], env=env)
        if started:
            h.stop()
            accepted.append(name)
            continue
        line = assert_refused(h, name)
        assert "SUDO_" in line, "%s: %s" % (name, line)
        assert not leftovers(lab.host), "%s: %s" % (name, leftovers(lab.host))
        assert accepted or not lab.host.run_dir.exists(), \
            "%s: state directory created" % name
        h.close()
    assert not accepted, "accepted: %s" % ", ".join(accepted)


# --------------------------------------------------------------------------
# 6. inherited descriptors

def inherited():
    """Descriptors a careless parent leaves open: a pipe, a root-only file
    and a socket. Returns (fds, their (dev, ino))."""
    r, w = os.pipe()
    f = os.open("/etc/shadow", os.O_RDONLY)
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    fds = [r, w, f, s.detach()]
    return fds, {(os.fstat(fd).st_dev, os.fstat(fd).st_ino) for fd in fds}


def close_all(fds):
    for fd in fds:
        os.close(fd)


def assert_none_inherited(ns, objects):
    """No process in the helper's namespace holds any of objects."""
    pids = ns.pids()
    for pid in pids:
        kept = fd_objects(pid) & objects
        comm = Path("/proc/%d/comm" % pid).read_text().strip()
        assert not kept, "%s (pid %d) kept inherited descriptors %s" % (comm, pid, kept)
    return pids


@pytest.mark.parametrize("endpoint", ["fd", "socket"])
def test_helper_closes_inherited_descriptors(lab, endpoint):
    fds, objects = inherited()
    try:
        args = ["--socket", lab.tmp / "vmnet.sock"] if endpoint == "socket" else []
        h, vm = lab.helper(args, extra_fds=fds)
        processes(h)
        pids = assert_none_inherited(lab.host, objects)
        procs = helper_processes(h.pid)
        assert len(pids) == len(procs) and {"datapath", "reaper"} <= set(procs), procs
        if endpoint == "socket":
            assert "files" in procs, procs
        if vm is not None:
            assert serves(h, vm), "the --fd socket itself must survive"
        assert h.stop() == 0
    finally:
        close_all(fds)
    assert_clean(lab.host)


def test_client_closes_inherited_descriptors(lab):
    """vmnet-client, the helper it starts and COMMAND keep nothing the
    client inherited."""
    fds, objects = inherited()
    ready = lab.tmp / "ready"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUDO_")}
    try:
        p = lab.popen(lab.host.cmd([CLIENT, "--", "sh", "-c",
                                    "touch %s; exec sleep 60" % ready]),
                      pass_fds=fds, env=env, stdout=subprocess.DEVNULL,
                      stderr=subprocess.PIPE, stdin=subprocess.DEVNULL)
        assert wait_until(ready.exists, 15), "COMMAND did not start"
        pids = assert_none_inherited(lab.host, objects)
        assert len(pids) >= 4, "want client, datapath, reaper and COMMAND: %s" % pids
        p.send_signal(signal.SIGTERM)
        p.wait(15)
    finally:
        close_all(fds)
    assert wait_until(lambda: not lab.host.pids(), 5)
    assert_clean(lab.host)


# --------------------------------------------------------------------------
# 7. what the user hands root along with the command: umask, signals, limits

def test_user_umask_does_not_reach_root_files(lab):
    """sudo passes the user's umask (or'ed with 022) to the helper. With
    umask 0777 root's state files used to be created mode 0000, which the
    reaper (uid 0 without CAP_DAC_OVERRIDE) cannot open: the network and
    ip_forward=1 stayed after the helper. They get their own modes, and
    teardown works."""
    assert not lab.host.run_dir.exists()
    forward = lab.host.sysctl("net.ipv4.ip_forward")
    h, vm = lab.helper([], env=sudo_env(USER), preexec_fn=lambda: os.umask(0o777))
    assert serves(h, vm), h.stderr()
    modes = {p.name: stat.S_IMODE(p.stat().st_mode) for p in lab.host.run_dir.iterdir()}
    assert modes.get("lock") == 0o600, modes
    assert all(m & 0o600 == 0o600 for m in modes.values()), modes
    assert h.stop() == 0, h.stderr()
    assert "ERROR" not in h.stderr(), h.stderr()
    assert_clean(lab.host, ip_forward=forward)


def reaper_pid(h):
    procs = processes(h)
    assert "reaper" in procs, procs
    return procs["reaper"]


@pytest.mark.parametrize("sig", [signal.SIGQUIT, signal.SIGUSR1], ids=["SIGQUIT", "SIGUSR1"])
def test_signal_to_process_group_spares_reaper(lab, sig):
    """A signal to the helper's process group, as the terminal sends on
    Ctrl-\\ and as sudo (with use_pty, Debian's default) relays any signal
    the user sends it: it may end the user's datapath, never the root
    reaper, so the network is still torn down."""
    forward = lab.host.sysctl("net.ipv4.ip_forward")
    h, vm = lab.helper([], env=sudo_env(USER), process_group=0)
    reaper = reaper_pid(h)
    os.killpg(h.pid, sig)
    h.wait()
    assert proc_status(reaper) is None or wait_until(lambda: proc_status(reaper) is None, 5)
    assert_clean(lab.host, ip_forward=forward, timeout=5)


def first_line():
    """The helper's first line on stderr, once it knows the invocation is good."""
    version = subprocess.run([HELPER, "--version"], capture_output=True, text=True).stdout
    return ("INFO  [main] running %s on %s %s\n" % (version.strip(), os.uname().sysname,
                                                  os.uname().release)).encode()


def test_file_size_limit_during_setup(lab):
    """RLIMIT_FSIZE passes through sudo: with stderr a file, the user picks
    the log line whose write raises SIGXFSZ. Setup (root, between creating
    the bridge and starting the reaper) must not die there and leave the
    network behind."""
    forward = lab.host.sysctl("net.ipv4.ip_forward")
    # The second line is "created bridge ...": the write that says so fails.
    limit = len(first_line()) + 10
    h, vm = lab.helper([], env=sudo_env(USER), wait_json=False,
                       preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE,
                                                             (limit, limit)))
    line = read_line(h.proc.stdout.fileno(), START_TIMEOUT)
    if line:
        h.stop()
    h.wait()
    assert_clean(lab.host, ip_forward=forward, timeout=5)


def test_file_size_limit_during_teardown(lab):
    """The same limit, just above what setup and the datapath write: the
    reaper's first line at teardown must not end it halfway."""
    forward = lab.host.sysctl("net.ipv4.ip_forward")
    h, vm = lab.helper([], env=sudo_env(USER))
    assert h.wait_stderr("waiting for termination"), h.stderr()
    size = h.stderr_path.stat().st_size
    # What `ulimit -f` before sudo would have set (inherited by every process
    # of the helper, it acts only once the file reaches it), here on the
    # reaper: the datapath's lines at exit take the file past it.
    resource.prlimit(reaper_pid(h), resource.RLIMIT_FSIZE, (size, size))
    h.stop()
    assert_clean(lab.host, ip_forward=forward, timeout=5)


# --------------------------------------------------------------------------
# 8. a copy of the TAP's descriptor outliving the datapath

TUN_USER = r"""
import fcntl, os, sys
TUNSETPERSIST, TUNSETOWNER = 0x400454cb, 0x400454cc
fd = int(sys.argv[1])
fcntl.ioctl(fd, TUNSETPERSIST, 1)
fcntl.ioctl(fd, TUNSETOWNER, os.getuid())
print("persistent", flush=True)
"""


def pidfd_getfd(pid, fd):
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        r = libc.syscall(438, pidfd, fd, 0)   # pidfd_getfd
        if r < 0:
            raise OSError(ctypes.get_errno(), "pidfd_getfd")
        return r
    finally:
        os.close(pidfd)


def tap_fd_of(pid):
    d = "/proc/%d/fd" % pid
    for n in os.listdir(d):
        if os.readlink(os.path.join(d, n)) == "/dev/net/tun":
            return int(n)
    raise AssertionError("no TAP descriptor in %d" % pid)


def test_leaked_tap_descriptor(lab):
    """No seccomp filter can look into the control messages of the
    datapath's sendmmsg(): a datapath a VM took over could pass its TAP
    descriptor to the user's process (SCM_RIGHTS). Its holder needs no
    capability to make the TAP persistent and their own (TUNSETPERSIST,
    TUNSETOWNER), which would keep a port on the bridge, past every check
    of the datapath, after the helper. The reaper removes the TAP itself."""
    h, vm = lab.helper(["--operation-mode", "host"], env=sudo_env(USER))
    tap = h.info["tap"]
    fd = pidfd_getfd(h.pid, tap_fd_of(h.pid))
    try:
        r = subprocess.run(as_user(USER, [sys.executable, "-c", TUN_USER, fd]), pass_fds=(fd,),
                           capture_output=True, text=True, timeout=10)
    finally:
        os.close(fd)
    assert r.stdout == "persistent\n", r.stderr
    assert h.stop() == 0, h.stderr()
    assert tap not in lab.host.link_names() or \
        wait_until(lambda: tap not in lab.host.link_names(), 5), "%s outlived the helper" % tap
    assert_clean(lab.host)


# --------------------------------------------------------------------------
# 9. installed set-user-ID root instead of run through sudo

def test_set_user_id_install_refused(lab):
    """Set-user-ID root, the helper would take SUDO_UID/SUDO_GID (and every
    other variable) from the user: here vmnet-test-a names vmnet-test-b and
    has a socket made in vmnet-test-b's directory. Refused with one line,
    nothing made."""
    victim_uid, victim_gid = unpriv_user("vmnet-test-b")
    helper = lab.root_dir("suid") / "vmnet-helper"
    shutil.copy2(HELPER, helper)
    os.chmod(helper, 0o4755)
    target = lab.user_dir("vmnet-test-b") / "vmnet.sock"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUDO_")}
    env.update(SUDO_UID=str(victim_uid), SUDO_GID=str(victim_gid))
    p = subprocess.Popen(lab.host.cmd(as_user(USER, [helper, "--socket", target])), env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True)
    try:
        out, err = p.communicate(timeout=START_TIMEOUT)
    except subprocess.TimeoutExpired:
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=10)
    assert not os.path.exists(target), "made %s as vmnet-test-b" % target
    assert p.returncode != 0 and out == "", out
    assert len(err.splitlines()) == 1, err
    assert not leftovers(lab.host), leftovers(lab.host)


# --------------------------------------------------------------------------
# 10. stderr that blocks: the network lock is everyone's

def full_pipe(room):
    """A pipe of one page with room bytes left. (read end, write end)"""
    r, w = os.pipe()
    fcntl.fcntl(w, 1031, 4096)   # F_SETPIPE_SZ
    os.write(w, b"x" * (4096 - room))
    return r, w


def fill(w):
    """Fills the pipe whose write end is w, through a description of our
    own (O_NONBLOCK on w would be the helper's too)."""
    fd = os.open("/proc/self/fd/%d" % w, os.O_WRONLY | os.O_NONBLOCK)
    try:
        for size in (512, 1):   # a write of up to PIPE_BUF bytes is all or nothing
            try:
                while True:
                    os.write(fd, b"x" * size)
            except BlockingIOError:
                pass
    finally:
        os.close(fd)


def drain(r):
    """Reads r until its end, in the background."""
    def run():
        while os.read(r, 65536):
            pass
        os.close(r)
    t = threading.Thread(target=run, daemon=True)
    t.start()
    return t


def bridges(ns):
    return [n for n in ns.link_names() if n.startswith("vmnet")]


@pytest.mark.parametrize("when", ["setup", "teardown"])
def test_blocked_stderr_holds_no_lock(lab, when):
    """stderr is the user's: a pipe they never read, filled so that the
    next write blocks, at setup (past its first line) or at teardown. Root
    must never block on it while it holds the network lock, which every
    other helper's setup and teardown in the namespace needs: another
    user's helper starts and stops meanwhile."""
    r, w = full_pipe(len(first_line()) if when == "setup" else 4096)
    ours, theirs = lab.socketpair()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUDO_")}
    env.update(sudo_env(USER))
    p = lab.popen(lab.host.cmd([HELPER, "--fd", theirs.fileno()]), pass_fds=(theirs.fileno(),),
                  env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=w)
    theirs.close()
    if when == "setup":
        # Past its first line, setup creates the bridge and says so.
        assert wait_until(lambda: bridges(lab.host), 10), "no bridge"
    else:
        assert read_line(p.stdout.fileno(), START_TIMEOUT), "no JSON line"
        fill(w)
        os.kill(p.pid, signal.SIGKILL)   # its own datapath: the reaper tears down
        assert wait_until(lambda: not bridges(lab.host), 10), "no teardown"
    os.close(w)
    other, vm = lab.helper(["--operation-mode", "host"], env=sudo_env("vmnet-test-b"))
    assert serves(other, vm), other.stderr()
    assert other.stop() == 0, other.stderr()
    drain(r)
    if when == "setup":
        assert read_line(p.stdout.fileno(), START_TIMEOUT), "no JSON line once stderr is read"
        p.send_signal(signal.SIGTERM)
    p.wait(STOP_TIMEOUT)
    assert_clean(lab.host, timeout=5)
