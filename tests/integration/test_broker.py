# SPDX-License-Identifier: Apache-2.0
"""
vmnet-broker (issue 18): users in its group run vmnet-helper and vmnet-run
with no sudo at all. Every test runs the real programs: the broker as root in
the test's host namespace (in the foreground with --listen, or under
systemd-socket-activate), the users' vmnet-helper and vmnet-run as real users
made for the tests (setpriv with their groups from the user database), with
no sudo rule for them. vmnet-test-a, -b and -d are in the broker's group
(vmnet-test), vmnet-test-c is not; -d runs no helper in any other test, so
its helpers can be counted while other test runs share the machine.
"""

import grp
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import textwrap
import time

import pytest

import frames
from conftest import (BROKER, HELPER, REMOTE_ADDR, RUN, START_TIMEOUT, Policy, leftovers,
                      read_line, sh, unpriv_user, wait_until)

GROUP = "vmnet-test"
USER_A, USER_B, OUTSIDER, USER_D = "vmnet-test-a", "vmnet-test-b", "vmnet-test-c", "vmnet-test-d"
MEMBERS = (USER_A, USER_B, USER_D)

# parse/msg.h: the messages on the connection (host byte order).
MSG_BROKER_STOP, MSG_BROKER_EXIT = 10, 11
EXIT_SIZE = 4 + 4 + 256


def broker_group():
    """The tests' broker group: vmnet-test-a, -b and -d in it, -c not (made once, kept)."""
    for u in MEMBERS + (OUTSIDER,):
        unpriv_user(u)
    try:
        grp.getgrnam(GROUP)
    except KeyError:
        r = sh(["groupadd", "--system", GROUP], check=False)
        assert r.returncode in (0, 9), r.stderr   # 9: made by a concurrent run
    for u in MEMBERS:
        if u not in grp.getgrnam(GROUP).gr_mem:
            sh(["usermod", "-aG", GROUP, u])
    assert OUTSIDER not in grp.getgrnam(GROUP).gr_mem
    return grp.getgrnam(GROUP).gr_gid


def as_member(name, argv):
    """argv run as user name with the groups the user database gives them
    (as after a login), no capabilities."""
    uid, gid = unpriv_user(name)
    return ["setpriv", "--reuid", str(uid), "--regid", str(gid), "--init-groups",
            "--inh-caps=-all", "--"] + [str(a) for a in argv]


class AsUser:
    """For Helper(policy=...): the command inside `ip netns exec NS` run as a user."""

    def __init__(self, name):
        self.name = name

    def wrap(self, argv):
        return argv[:4] + as_member(self.name, argv[4:])


@pytest.fixture
def bins(lab):
    """The programs where an installation puts them: root's, 0755."""
    broker_group()
    d = lab.root_dir("bin")
    for src in (HELPER, RUN, BROKER):
        shutil.copy2(src, d / src.name)
        os.chmod(d / src.name, 0o755)
    return d


class Broker:
    """vmnet-broker in the lab's host namespace: in the foreground (--listen)
    or started by systemd-socket-activate on its first connection."""

    def __init__(self, lab, bins, activate=False, policy=None, path=None):
        lab.counter += 1
        self.lab = lab
        self.path = path or lab.root_dir("broker-%d" % lab.counter) / "broker.sock"
        self.log_path = lab.tmp / ("broker-%d.log" % lab.counter)
        argv = [bins / "vmnet-broker", "--group", GROUP, "--helper", bins / "vmnet-helper"]
        if activate:
            argv = ["systemd-socket-activate", "--seqpacket", "-l", self.path] + argv
        else:
            argv += ["--listen", self.path]
        argv = lab.host.cmd(argv)
        if policy is not None:
            argv = policy.wrap(argv)
        self.proc = lab.popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=open(self.log_path, "wb"))
        # Listening: the broker's first line, or systemd-socket-activate's.
        ready = "Listening on" if activate else "may ask on"
        assert wait_until(lambda: ready in self.log() or self.proc.poll() is not None, 10), \
            "the broker did not start:\n" + self.log()
        assert self.proc.poll() is None, "the broker did not start:\n" + self.log()
        if activate:
            # systemd's SocketGroup= and SocketMode=, by hand.
            os.chown(self.path, 0, grp.getgrnam(GROUP).gr_gid)
            os.chmod(self.path, 0o660)

    @property
    def env(self):
        return {"VMNET_BROKER_SOCKET": str(self.path)}

    def log(self):
        return self.log_path.read_text(errors="replace")

    def stop(self, sig=signal.SIGTERM):
        self.proc.send_signal(sig)
        self.proc.wait(10)


def broker_free(lab, broker, timeout=3):
    """The host namespace as the lab made it, but for the broker itself."""
    def left():
        found = [f for f in leftovers(lab.host) if not f.startswith("processes")]
        others = [p for p in lab.host.pids() if p != broker.proc.pid]
        return found + (["processes %s" % others] if others else [])
    wait_until(lambda: not left(), timeout, 0.1)
    return left()


def user_helper(lab, broker, bins, user, args, **kw):
    """vmnet-helper run by user with VMNET_BROKER_SOCKET: (Helper, VM end or None)."""
    return lab.helper(args, env=broker.env, binary=bins / "vmnet-helper", policy=AsUser(user),
                      **kw)


def run_as(lab, user, argv, env, timeout=30, **kw):
    """argv as user in the host namespace, to its end: CompletedProcess."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("SUDO_")}
    full.update(env)
    return subprocess.run(lab.host.cmd(as_member(user, argv)), capture_output=True, text=True,
                          timeout=timeout, env=full, stdin=subprocess.DEVNULL, **kw)


def start_guest(lab, broker, bins, user, args):
    h, vm = user_helper(lab, broker, bins, user, args)
    g = lab.guest(vm, mac=h.info["vmnet_mac_address"])
    g.configure(h.info["lease_address"], h.prefixlen, h.gateway)
    return h, g


# --------------------------------------------------------------------------
# serving members

@pytest.mark.parametrize("activate", [False, True], ids=["foreground", "socket-activate"])
def test_member_gets_a_network(lab, bins, activate):
    """A member's vmnet-helper, with no sudo: the JSON line on its stdout, the
    log on its stderr, the datapath as that user, a VM that pings the gateway;
    SIGTERM stops it with status 0 and everything goes."""
    broker = Broker(lab, bins, activate=activate)
    uid, gid = unpriv_user(USER_A)
    h, g = start_guest(lab, broker, bins, USER_A, ["--operation-mode", "host"])
    assert g.ping(h.gateway, count=2), h.stderr()
    assert "running as uid: %d gid: %d" % (uid, gid) in h.stderr()
    # This process is the user's side; the helper the broker started is root's
    # child of the broker, its datapath the user's.
    assert open("/proc/%d/comm" % h.pid).read().strip() == "vmnet-user"
    helpers = [p for p in lab.host.pids() if open_comm(p) == "vmnet-helper"]
    assert len(helpers) == 1
    assert os.stat("/proc/%d" % helpers[0]).st_uid == uid
    assert h.stop() == 0, h.stderr()
    assert "stopped by the user's vmnet-helper" in h.stderr()
    assert not broker_free(lab, broker), broker_free(lab, broker)
    assert re.search(r"uid %d \(%s\) pid \d+: started vmnet-helper pid \d+: --broker-fd 4 "
                     r"--fd 3 --operation-mode host" % (uid, USER_A), broker.log()), broker.log()


def test_identity_comes_from_the_kernel(lab, bins):
    """SUDO_UID/SUDO_GID/SUDO_USER in the user's own environment change
    nothing: the request carries none, the broker sets them from
    SO_PEERCRED. The datapath and the lease are the user's."""
    broker = Broker(lab, bins)
    uid, gid = unpriv_user(USER_A)
    victim, _ = unpriv_user(USER_B)
    env = dict(broker.env, SUDO_UID="0", SUDO_GID="0", SUDO_USER="root")
    h, _ = lab.helper(["--operation-mode", "host"], env=env, binary=bins / "vmnet-helper",
                      policy=AsUser(USER_A))
    env = dict(broker.env, SUDO_UID=str(victim), SUDO_GID=str(victim))
    h2, _ = lab.helper(["--operation-mode", "host"], env=env, binary=bins / "vmnet-helper",
                       policy=AsUser(USER_A))
    for helper in (h, h2):
        assert "running as uid: %d gid: %d" % (uid, gid) in helper.stderr(), helper.stderr()
    leases = (lab.host.lib_dir / ("%s.leases" % h.bridge)).read_text()
    assert len(re.findall(r"uid=%d$" % uid, leases, re.M)) == 2, leases
    assert h.stop() == 0 and h2.stop() == 0


def test_helper_refusal_is_its_exit_status(lab, bins):
    """What the helper refuses, it says on the user's stderr with its own
    line, and the user's vmnet-helper exits with its status; no JSON."""
    broker = Broker(lab, bins)
    h, _ = user_helper(lab, broker, bins, USER_A,
                       ["--operation-mode", "bridged", "--shared-interface", "nosuch0"],
                       wait_json=False)
    assert h.wait() == 1
    assert h.stderr_lines() == ['ERROR [bridged] --shared-interface "nosuch0": no such '
                                'interface'], h.stderr()
    assert h.stdout_rest() == b""
    assert not broker_free(lab, broker), broker_free(lab, broker)


def test_two_users_two_vms_each(lab, bins):
    """Two users, two VMs each, on one network: open VMs reach each other,
    isolated ones reach only the gateway; the leases are each user's."""
    broker = Broker(lab, bins)
    vms = {}
    for user in (USER_A, USER_B):
        vms[user, "open"] = start_guest(lab, broker, bins, user, ["--operation-mode", "host"])
        vms[user, "isolated"] = start_guest(lab, broker, bins, user,
                                            ["--operation-mode", "host", "--enable-isolation"])
    bridges = {h.bridge for h, _ in vms.values()}
    assert len(bridges) == 1, bridges
    (ha, ga), (hb, gb) = vms[USER_A, "open"], vms[USER_B, "open"]
    (hia, gia), (hib, gib) = vms[USER_A, "isolated"], vms[USER_B, "isolated"]
    assert ga.ping(hb.info["lease_address"], count=2), "A's open VM cannot reach B's"
    assert gb.ping(ha.info["lease_address"], count=2), "B's open VM cannot reach A's"
    for h, g in ((hia, gia), (hib, gib)):
        assert g.ping(h.gateway, count=2), "an isolated VM cannot reach the gateway"
    assert not gia.ping(hib.info["lease_address"], count=1, timeout=1), "isolated VMs met"
    assert not gia.ping(hb.info["lease_address"], count=1, timeout=1), "isolated met open"
    assert not gb.ping(hia.info["lease_address"], count=1, timeout=1), "open met isolated"
    # Each lease is its user's (SUDO_UID from SO_PEERCRED, nothing else).
    leases = (lab.host.lib_dir / ("%s.leases" % ha.bridge)).read_text()
    for user, kind in vms:
        uid, _ = unpriv_user(user)
        ip = vms[user, kind][0].info["lease_address"]
        assert re.search(r"ip_address=%s .*uid=%d$" % (re.escape(ip), uid), leases, re.M), leases
    for h, _ in vms.values():
        assert h.stop() == 0
    assert not broker_free(lab, broker), broker_free(lab, broker)


def socket_as_user(lab, user):
    d = lab.user_dir(user)
    return d, d / "vmnet.sock"


@pytest.mark.parametrize("stream", [False, True], ids=["dgram", "stream"])
def test_socket_made_by_the_users_side(lab, bins, stream):
    """--socket PATH through the broker: PATH and PATH.lock are made by the
    user's own process (the user's, 0600), the root helper serves the first
    client on it (datagram: the user's side connects it on request), and
    the files go when the helper stops."""
    broker = Broker(lab, bins)
    uid, _ = unpriv_user(USER_A)
    d, path = socket_as_user(lab, USER_A)
    args = ["--socket", path, "--operation-mode", "host"] + \
        (["--socket-type", "stream"] if stream else [])
    h, _ = user_helper(lab, broker, bins, USER_A, args)
    for p in (path, d / "vmnet.sock.lock"):
        st = os.stat(p)
        assert st.st_uid == uid and st.st_mode & 0o777 == 0o600, (p, oct(st.st_mode))
    assert h.wait_stderr(r'waiting for client on "%s"' % re.escape(str(path)))
    # vmsim (root) binds its datagram socket where the user may connect to it
    # (umask 0: the user's side connects the helper's socket to it).
    bind = "/tmp/vmit-%s-client.sock" % lab.id
    old = os.umask(0)
    try:
        g = lab.guest_socket(str(path), stream=stream, mac=h.info["vmnet_mac_address"],
                             bind=None if stream else bind, handshake=not stream)
    finally:
        os.umask(old)
    g.configure(h.info["lease_address"], h.prefixlen, h.gateway)
    assert g.ping(h.gateway, count=2), h.stderr()
    assert h.stop() == 0, h.stderr()
    assert not path.exists() and not (d / "vmnet.sock.lock").exists(), list(d.iterdir())
    assert not broker_free(lab, broker), broker_free(lab, broker)


def test_vhost_user_through_the_broker(lab, bins):
    """--socket-type vhost-user through the broker: passed to the helper
    as any option; the user's side binds PATH (the user's, 0600) and hands
    the listener over, the root helper serves the frontend that connects
    (vhostsim) with the guest's memory; the files go when it stops."""
    broker = Broker(lab, bins)
    uid, _ = unpriv_user(USER_A)
    d, path = socket_as_user(lab, USER_A)
    h, vm = user_helper(lab, broker, bins, USER_A, ["--socket", path, "--socket-type",
                                                    "vhost-user", "--operation-mode", "host"])
    assert vm is None and h.info["socket_type"] == "vhost-user", h.info
    st = os.stat(path)
    assert st.st_uid == uid and st.st_mode & 0o777 == 0o600, oct(st.st_mode)
    g = lab.guest_vhost(path, mac=h.info["vmnet_mac_address"])
    g.configure(h.info["lease_address"], h.prefixlen, h.gateway)
    assert g.ping(h.gateway, count=2), h.stderr()
    assert "guest features" in h.stderr(), h.stderr()
    assert h.stop() == 0, h.stderr()
    assert not path.exists() and not (d / "vmnet.sock.lock").exists(), list(d.iterdir())
    assert not broker_free(lab, broker), broker_free(lab, broker)


def test_socket_files_go_when_the_user_is_killed(lab, bins):
    """SIGKILL of the user's vmnet-helper: the helper stops within a second and
    the user's files process removes PATH and PATH.lock."""
    broker = Broker(lab, bins)
    d, path = socket_as_user(lab, USER_A)
    h, _ = user_helper(lab, broker, bins, USER_A, ["--socket", path, "--operation-mode", "host"])
    h.stop(signal.SIGKILL)
    t0 = time.monotonic()
    assert not broker_free(lab, broker, timeout=5), broker_free(lab, broker)
    took = time.monotonic() - t0
    assert wait_until(lambda: not path.exists() and not (d / "vmnet.sock.lock").exists(), 5)
    assert took < 1.0, "cleaned up after %.2f s" % took


# --------------------------------------------------------------------------
# --pcap: the user's side opens the files, the root helper only writes them

class HiddenFrom:
    """For Broker(policy=...): the broker (and every helper it starts) in a
    mount namespace of its own where each directory given is an empty tmpfs,
    as the unit's ProtectHome=yes and PrivateTmp=yes hide the users' homes and
    /tmp from the service. A helper that opened the user's path itself would
    write into that tmpfs, never where the user asked."""

    def __init__(self, *dirs):
        self.dirs = [str(d) for d in dirs]

    def wrap(self, argv):
        mounts = " && ".join('mount -t tmpfs -o mode=0755 vmnet-hidden "$%d"' % (i + 1)
                             for i in range(len(self.dirs)))
        script = "%s && shift %d && exec \"$@\"" % (mounts, len(self.dirs))
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh"] + \
            self.dirs + [str(a) for a in argv]


def pcap_helper(lab, bins, user, path, extra=()):
    """A broker that cannot see the user's directory, and the user's
    vmnet-helper capturing into path there: (broker, Helper, RawVM)."""
    broker = Broker(lab, bins, policy=HiddenFrom(path.parent))
    h, vm = user_helper(lab, broker, bins, user, ["--operation-mode", "host", "--pcap", path,
                                                  "--stats-interval", "1"] + list(extra))
    return broker, h, vm


def test_capture_into_a_directory_only_the_user_enters(lab, bins):
    """--pcap through the broker: the user's vmnet-helper opens FILE in its
    0700 directory (which the broker's namespace does not even show) and
    passes the descriptor; the root helper takes it (--pcap-fd 5) and its
    datapath writes every frame there. tcpdump -r reads DHCP and ping both
    ways; the file is the user's, 0600."""
    from test_pcap import tcpdump
    d = lab.user_dir(USER_A)
    assert os.stat(d).st_mode & 0o777 == 0o700
    pcap = d / "vm.pcapng"
    broker, h, vm = pcap_helper(lab, bins, USER_A, pcap)
    assert re.search(r"started vmnet-helper pid \d+: --broker-fd 4 --fd 3 --pcap-fd 5 "
                     r"--operation-mode host --pcap %s" % re.escape(str(pcap)), broker.log()), \
        broker.log()
    mac = h.info["vmnet_mac_address"]
    lease = frames.dhcp_lease(vm, mac)
    gw_mac = frames.arp_resolve(vm, mac, lease["yiaddr"], h.gateway)
    vm.send(frames.icmp_echo(mac, gw_mac, lease["yiaddr"], h.gateway, ident=0x4242))
    assert vm.recv_until(frames.icmp_reply_for(h.gateway, 0x4242), 3)
    assert h.stop() == 0, h.stderr()
    assert re.search(r'INFO  \[capture\] \d+ frames \(\d+ bytes\) captured into "%s"'
                     % re.escape(str(pcap)), h.stderr()), h.stderr()
    uid, gid = unpriv_user(USER_A)
    st = os.stat(pcap)
    assert (st.st_uid, st.st_gid, st.st_mode & 0o777) == (uid, gid, 0o600)
    text = "\n".join(tcpdump(pcap))
    for what in ("BOOTP/DHCP, Request", "BOOTP/DHCP, Reply", "ICMP echo request",
                 "ICMP echo reply"):
        assert what in text, text
    assert sorted(os.listdir(d)) == ["vm.pcapng"]
    assert not broker_free(lab, broker), broker_free(lab, broker)


def test_capture_ring_through_the_broker(lab, bins):
    """--pcap-size and --pcap-files through the broker: three files, each
    bounded and readable, the ring gone round, as through sudo."""
    from test_pcap import blocks, fill, tcpdump
    d = lab.user_dir(USER_A)
    pcap = d / "ring.pcapng"
    broker, h, vm = pcap_helper(lab, bins, USER_A, pcap,
                                ["--pcap-size", "1", "--pcap-files", "3"])
    assert "--pcap-fd 5" in broker.log()
    assert fill(vm, h, h.info["vmnet_mac_address"], 2400) >= 1000
    assert h.stop() == 0
    assert "went round" in h.stderr(), h.stderr()
    names = sorted(os.listdir(d))
    assert names == ["ring.pcapng0", "ring.pcapng1", "ring.pcapng2"], names
    for n in names:
        assert 0 < os.path.getsize(d / n) <= 1000000
        assert len(tcpdump(d / n)) == len(blocks(d / n)) > 0
    assert not broker_free(lab, broker), broker_free(lab, broker)


def test_capture_full_disk_through_the_broker(lab, bins):
    """A full disk under the user's capture: one WARN, the VM's traffic goes
    on, the file reads to its end."""
    from test_pcap import blocks, fill, tcpdump
    uid, gid = unpriv_user(USER_A)
    small = lab.user_dir(USER_A) / "small"
    small.mkdir()
    sh(["mount", "-t", "tmpfs", "-o", "size=64k,mode=0700,uid=%d,gid=%d" % (uid, gid),
        "vmnet-test", str(small)])
    try:
        pcap = small / "vm.pcapng"
        broker, h, vm = pcap_helper(lab, bins, USER_A, pcap)
        mac = h.info["vmnet_mac_address"]
        assert fill(vm, h, mac, 200) >= 150
        assert h.wait_stderr(r"capture stopped: cannot write .*No space left", 5), h.stderr()
        assert fill(vm, h, mac, 20) >= 15 and h.alive()
        assert h.stop() == 0
        warns = [l for l in h.stderr_lines() if l.startswith("WARN")]
        assert len(warns) == 1, warns
        n = len(tcpdump(pcap))
        assert n > 10 and len(blocks(pcap)) == n
    finally:
        sh(["umount", str(small)], check=False)
    assert not broker_free(lab, broker), broker_free(lab, broker)


def test_capture_path_refused_before_anything_starts(lab, bins):
    """A --pcap path the user cannot use is refused by the user's own side
    with one line, before the request: the broker starts nothing, nothing is
    made (not in root's directory through a symbolic link either)."""
    from test_pcap import unusable_paths
    broker = Broker(lab, bins)
    cases, d, root = unusable_paths(lab, USER_A)
    _, vm_end = lab.socketpair()
    for path, why in cases:
        r = run_as(lab, USER_A, [bins / "vmnet-helper", "--fd", vm_end.fileno(), "--operation-mode",
                                 "host", "--pcap", path], broker.env, pass_fds=(vm_end.fileno(),))
        line = refused(r, why)
        assert line.startswith('ERROR [files] cannot use --pcap "%s": ' % path), line
    assert "started vmnet-helper" not in broker.log(), broker.log()
    assert not os.listdir(root)
    assert sorted(os.listdir(d)) == ["dir", "fifo", "link.pcapng"]
    assert not broker_free(lab, broker), broker_free(lab, broker)


def test_capture_refused_by_the_policy_leaves_nothing(lab, bins):
    """The helper refuses the user (the network's allow-list) after the
    user's side opened the capture files: one line, the file it made is gone,
    a file that was there is left as it was (the capture empties it only as
    it starts)."""
    policy = Policy(lab, "[network host]\nusers = %s\n" % USER_A)
    broker = Broker(lab, bins, policy=policy)
    uid, gid = unpriv_user(USER_B)
    d = lab.user_dir(USER_B)
    old = d / "old.pcapng"
    old.write_bytes(b"an older capture")
    os.chown(old, uid, gid)
    _, vm_end = lab.socketpair()
    for path in (d / "new.pcapng", old):
        r = run_as(lab, USER_B, [bins / "vmnet-helper", "--fd", vm_end.fileno(), "--operation-mode",
                                 "host", "--pcap", path], broker.env, pass_fds=(vm_end.fileno(),))
        refused(r, 'ERROR [main] user %s may not use network "host"' % USER_B)
    assert sorted(os.listdir(d)) == ["old.pcapng"]
    assert old.read_bytes() == b"an older capture"
    assert not broker_free(lab, broker), broker_free(lab, broker)


# --------------------------------------------------------------------------
# refused: one line, nothing made

def refused(r, needle):
    assert r.returncode != 0, r
    assert r.stdout == "", r.stdout
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and needle in lines[0], r.stderr
    return lines[0]


def test_outsider_refused(lab, bins):
    """Not in the group: the socket's mode refuses the connection (one line
    saying what to do); made connectable, the broker's own check refuses
    (SO_PEERGROUPS, from the kernel). Nothing is made, no --socket files."""
    broker = Broker(lab, bins)
    d, path = socket_as_user(lab, OUTSIDER)
    helper = bins / "vmnet-helper"
    r = run_as(lab, OUTSIDER, [helper, "--socket", path], broker.env)
    line = refused(r, "cannot reach vmnet-broker at %s: permission denied" % broker.path)
    assert "ask the administrator to add you to group %s, or run vmnet-helper with sudo" % GROUP \
        in line
    os.chmod(broker.path, 0o666)
    r = run_as(lab, OUTSIDER, [helper, "--socket", path], broker.env)
    refused(r, "ERROR [broker] user %s (uid %d) is not in group %s" % (
        OUTSIDER, unpriv_user(OUTSIDER)[0], GROUP))
    assert list(d.iterdir()) == []
    assert "refused: user %s" % OUTSIDER in broker.log()
    assert not broker_free(lab, broker), broker_free(lab, broker)


def test_no_broker(lab, bins):
    """No broker at the path, or nothing listening: one line, nothing made."""
    missing = lab.root_dir("nobroker") / "broker.sock"
    d, path = socket_as_user(lab, USER_A)
    env = {"VMNET_BROKER_SOCKET": str(missing)}
    r = run_as(lab, USER_A, [bins / "vmnet-helper", "--socket", path], env)
    refused(r, "no such socket: vmnet-broker is not installed or not running")
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.bind(str(missing))
    os.chmod(missing, 0o666)
    s.close()
    r = run_as(lab, USER_A, [bins / "vmnet-helper", "--socket", path], env)
    refused(r, "connection refused: vmnet-broker is not running")
    assert list(d.iterdir()) == []


def test_allow_list_refuses(lab, bins):
    """[network host] users = vmnet-test-a: vmnet-test-b may not use host
    mode (one line, the helper's own, nothing made), vmnet-test-a may."""
    policy = Policy(lab, "[network host]\nusers = %s\n" % USER_A)
    broker = Broker(lab, bins, policy=policy)
    d, path = socket_as_user(lab, USER_B)
    r = run_as(lab, USER_B, [bins / "vmnet-helper", "--socket", path, "--operation-mode", "host"],
               broker.env)
    refused(r, 'ERROR [main] user %s may not use network "host"' % USER_B)
    assert list(d.iterdir()) == []
    assert not broker_free(lab, broker), broker_free(lab, broker)
    h, _ = user_helper(lab, broker, bins, USER_A, ["--operation-mode", "host"])
    assert h.stop() == 0


def test_over_the_limit_refused(lab, bins):
    """max-helpers-per-user = 1: the second helper of a user is refused with
    one line and nothing made (the limit is the policy's, the same code as
    through sudo: test_policy.py counts users against each other)."""
    policy = Policy(lab, "max-helpers-per-user = 1\n")
    broker = Broker(lab, bins, policy=policy)
    h, _ = user_helper(lab, broker, bins, USER_D, ["--operation-mode", "host"])
    d, path = socket_as_user(lab, USER_D)
    before = leftovers(lab.host)
    r = run_as(lab, USER_D, [bins / "vmnet-helper", "--socket", path, "--operation-mode", "host"],
               broker.env)
    refused(r, "uid %d already runs 1 helpers, the most the administrator allows" %
            unpriv_user(USER_D)[0])
    assert list(d.iterdir()) == []
    assert [f for f in leftovers(lab.host) if not f.startswith("processes")] == \
        [f for f in before if not f.startswith("processes")]
    assert h.stop() == 0
    assert not broker_free(lab, broker), broker_free(lab, broker)


# --------------------------------------------------------------------------
# requests the broker refuses: crafted by a member

CRAFT = textwrap.dedent("""
    import json, os, socket, struct, sys, tempfile
    path, kind = sys.argv[1], sys.argv[2]
    def header(args):
        body = b"".join(a.encode() + b"\\0" for a in args)
        return struct.pack("<IHHI", 0x424e4d56, 1, len(args), len(body)) + body
    s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    s.connect(path)
    vm, _ = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
    r, w = os.pipe()
    seq, _ = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    fds = [vm.fileno(), 1, 2]
    msg = header(["--fd", "3", "--operation-mode", "host"])
    if kind == "garbage":
        msg, fds = b"GET / HTTP/1.0\\r\\n\\r\\n", []
    elif kind == "empty":
        msg, fds = b"", []
    elif kind == "no-fds":
        fds = []
    elif kind == "four-fds":
        fds = fds + [r]
    elif kind == "eight-fds":
        fds = fds + [r, w, r, w, r]
    elif kind == "too-many-fds":
        fds = fds + [r] * 102
    elif kind == "pcap-pipe":
        msg, fds = header(["--fd", "3", "--pcap", "/x"]), fds + [w]
    elif kind == "pcap-readonly":
        msg = header(["--fd", "3", "--pcap", "/x"])
        fds = fds + [os.open("/etc/passwd", os.O_RDONLY)]
    elif kind == "pcap-count":
        msg = header(["--fd", "3", "--pcap", "/x", "--pcap-size", "1", "--pcap-files", "2"])
        tf = tempfile.TemporaryFile()
        fds = fds + [tf.fileno()]
    elif kind == "pcap-fd":
        msg = header(["--fd", "3", "--pcap", "/x", "--pcap-fd", "5"])
        tf = tempfile.TemporaryFile()
        fds = fds + [tf.fileno()]
    elif kind == "pipe":
        fds = [r, 1, 2]
    elif kind == "seqpacket":
        fds = [seq.fileno(), 1, 2]
    elif kind == "too-big":
        msg = header(["--fd", "3"] + ["-v"] * 60) + b"x" * 5000
    elif kind == "broker-fd":
        msg = header(["--fd", "3", "--broker-fd", "5"])
    elif kind == "option":
        msg = header(["--fd", "3", "--operation-mode", "nat"])
    elif kind == "version":
        msg = header(["--version"])
    elif kind == "control":
        msg = header(["--fd", "3", "--interface-id", "x\\ny"])
    anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS, struct.pack("%di" % len(fds), *fds))] if fds else []
    s.sendmsg([msg], anc)
    s.settimeout(10)
    answers = []
    while True:
        m = s.recv(65536)
        if not m:
            break
        answers.append(m)
    out = []
    for m in answers:
        t, _, status = struct.unpack("<HHi", m[:8])
        out.append([t, len(m), status, m[8:].split(b"\\0")[0].decode()])
    print(json.dumps(out))
""")


@pytest.mark.parametrize("kind,line", [
    ("garbage", "malformed request: not a vmnet-helper request"),
    ("empty", "malformed request: 0 bytes, shorter than its header"),
    ("no-fds", "malformed request: 0 descriptors, not 3"),
    ("four-fds", "malformed request: 1 --pcap file descriptor, not 0"),
    ("eight-fds", "malformed request: 5 --pcap file descriptors, not 0"),
    ("too-many-fds", "malformed request: larger than 4096 bytes or with more than 103 "
                     "descriptors"),
    ("pcap-pipe", "the descriptor of --pcap's file 1 of 1 is not a regular file"),
    ("pcap-readonly", "the descriptor of --pcap's file 1 of 1 is not open for writing"),
    ("pcap-count", "malformed request: 1 --pcap file descriptor, not 2"),
    ("pcap-fd", "--pcap-fd is the broker's to give"),
    ("pipe", "the VM's descriptor is not a unix socket"),
    ("seqpacket", "the VM's socket is neither a datagram nor a stream socket"),
    ("too-big", "malformed request: larger than 4096 bytes"),
    ("broker-fd", "--broker-fd is the broker's to give"),
    ("option", 'invalid --operation-mode "nat"'),
    ("version", "--version is answered by vmnet-helper itself"),
    ("control", "malformed request: option 4 holds a control character"),
])
def test_malformed_request_gets_one_line(lab, bins, kind, line):
    """Each malformed request: one MSG_BROKER_EXIT with status 1 and the
    reason, the connection closed, nothing started; the broker serves on."""
    broker = Broker(lab, bins)
    r = run_as(lab, USER_A, [sys.executable, "-c", CRAFT, broker.path, kind], {})
    assert r.returncode == 0, r.stderr
    answers = json.loads(r.stdout)
    assert len(answers) == 1, answers
    t, size, status, text = answers[0]
    assert (t, size, status) == (MSG_BROKER_EXIT, EXIT_SIZE, 1), answers
    assert line in text, text
    assert "started vmnet-helper" not in broker.log()
    assert not broker_free(lab, broker), broker_free(lab, broker)
    h, _ = user_helper(lab, broker, bins, USER_A, ["--operation-mode", "host"])
    assert h.stop() == 0


# --------------------------------------------------------------------------
# bounds: no client holds the broker

HOLD = textwrap.dedent("""
    import socket, sys, time
    path, n, garbage = sys.argv[1], int(sys.argv[2]), sys.argv[3] == "1"
    held = []
    for i in range(n):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(path)
        if garbage and i % 2:
            try:
                s.send(b"\\xff" * 64)
            except OSError:
                pass   # refused and closed already (over the user's bound)
        held.append(s)
    print("ready", flush=True)
    time.sleep(60)
""")


def hold(lab, user, path, n, garbage):
    """A member's process holding n connections (every other one sent garbage)."""
    lab.counter += 1
    err = lab.tmp / ("hold-%d.err" % lab.counter)
    p = lab.popen(lab.host.cmd(as_member(user, [sys.executable, "-c", HOLD, path, n,
                                                int(garbage)])),
                  stdout=subprocess.PIPE, stdin=subprocess.DEVNULL, stderr=open(err, "wb"))
    assert read_line(p.stdout.fileno(), 30) == b"ready\n", err.read_text()
    return p


def median(values):
    return sorted(values)[len(values) // 2]


def time_to_json(lab, broker, bins, user):
    t0 = time.monotonic()
    h, _ = user_helper(lab, broker, bins, user, ["--operation-mode", "host"])
    took = time.monotonic() - t0
    assert h.stop() == 0
    return took


def test_idle_client_dropped_and_bounded(lab, bins):
    """A client that sends nothing is dropped after 5 s with one line; a
    user has 4 requests in progress at most (the 5th is refused at once),
    which costs no other user anything."""
    broker = Broker(lab, bins)
    idle = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    idle.connect(str(broker.path))
    t0 = time.monotonic()
    idle.settimeout(10)
    m = idle.recv(1024)
    waited = time.monotonic() - t0
    assert 4.5 < waited < 7, waited
    assert m[8:].split(b"\0")[0] == b"no request within 5 s", m
    assert idle.recv(1024) == b""
    flood = hold(lab, USER_B, broker.path, 5, False)
    assert wait_until(lambda: "uid %d has 4 requests in progress already" % unpriv_user(USER_B)[0]
                      in broker.log(), 5), broker.log()
    time_to_json(lab, broker, bins, USER_A)
    flood.kill()


def test_flood_does_not_delay_a_real_request(lab, bins):
    """200 connections that send nothing or garbage (from one member and from
    root) delay a member's real request by less than a second."""
    broker = Broker(lab, bins)
    base = median([time_to_json(lab, broker, bins, USER_A) for _ in range(5)])
    floods = [hold(lab, USER_B, broker.path, 100, True)]
    held = []
    for i in range(100):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        s.connect(str(broker.path))
        if i % 2:
            try:
                s.send(b"\0" * 12)
            except OSError:
                pass   # refused and closed already
        held.append(s)
    loaded = median([time_to_json(lab, broker, bins, USER_A) for _ in range(5)])
    print("time to the JSON line (median of 5): %.3f s alone, %.3f s beside 200 idle or "
          "garbage connections" % (base, loaded))
    assert loaded - base < 1.0, (base, loaded)
    for p in floods:
        p.kill()
    for s in held:
        s.close()


# --------------------------------------------------------------------------
# the network lives as long as the user's process

SLEEPER = ["sleep", "60"]


def start_run(lab, user, bins, env, args=()):
    """vmnet-run as user with `sleep 60` as COMMAND; returns it once the JSON
    line is out."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("SUDO_")}
    full.update(env)
    p = lab.popen(lab.host.cmd(as_member(user, [bins / "vmnet-run"] + list(args) + ["--"] +
                                         SLEEPER)),
                  env=full, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                  stderr=open(lab.tmp / "run.err", "wb"))
    line = read_line(p.stdout.fileno(), START_TIMEOUT)
    assert line.startswith(b"{"), (line, (lab.tmp / "run.err").read_text())
    return p, json.loads(line)


def killed_cleans_up(lab, victim, clean):
    """SIGKILL of victim; seconds until the helper's datapath exited, which
    it does only once the reaper's teardown is over (waited for exactly, with
    a pidfd, rather than by polling the namespace); then clean() holds."""
    helpers = [p for p in lab.host.pids() if open_comm(p) == "vmnet-helper"]
    assert len(helpers) == 1, helpers
    fd = os.pidfd_open(helpers[0])
    try:
        victim.kill()
        t0 = time.monotonic()
        ended = select.select([fd], [], [], 10)[0]
        took = time.monotonic() - t0
    finally:
        os.close(fd)
    assert ended, "the helper did not stop"
    assert wait_until(clean, 3, 0.05), "not cleaned up"
    return took


@pytest.mark.parametrize("mode", ["host", "shared"])
def test_sigkill_of_vmnet_run_cleans_up(lab, bins, mode):
    """The user's vmnet-run killed with SIGKILL (its COMMAND still running):
    the helper the broker started stops and tears down within a second."""
    broker = Broker(lab, bins)
    p, info = start_run(lab, USER_A, bins, broker.env, ["--operation-mode", mode])
    assert info["tap"] in lab.host.link_names()
    took = killed_cleans_up(lab, p, lambda: not [f for f in broker_free(lab, broker, 0)
                                                 if "sleep" not in f and "processes" not in f])
    print("%s mode: torn down %.3f s after SIGKILL of vmnet-run" % (mode, took))
    assert took < 1.0, took
    subprocess.run(["pkill", "-u", USER_A, "-x", "sleep"], check=False)


def test_sigkill_of_the_users_helper_cleans_up(lab, bins):
    """The user's vmnet-helper itself killed: the connection ends, so does the helper."""
    broker = Broker(lab, bins)
    h, _ = user_helper(lab, broker, bins, USER_A, ["--operation-mode", "host"])
    took = killed_cleans_up(lab, h.proc, lambda: not broker_free(lab, broker, 0))
    print("torn down %.3f s after SIGKILL of the user's vmnet-helper" % took)
    assert took < 1.0, took
    assert "the user's vmnet-helper is gone" in h.stderr()


@pytest.fixture
def sudo_rule(lab, bins):
    """The repository's sudoers example for vmnet-test-a and the copied helper
    (use_pty as Debian's sudoers sets it)."""
    from test_sudo import SudoersFile
    f = SudoersFile(lab, bins / "vmnet-helper", "Defaults!%s use_pty\n" % (bins / "vmnet-helper"))
    try:
        yield bins
    finally:
        f.remove()


@pytest.mark.parametrize("terminal", [False, True], ids=["no-terminal", "terminal"])
def test_sigkill_of_vmnet_run_through_sudo_cleans_up(lab, sudo_rule, terminal):
    """Through sudo (no broker): sudo outlives its parent and clears
    PDEATHSIG, so the helper follows the process that ran sudo itself.
    vmnet-run killed with SIGKILL, with or without a terminal (sudo's
    use_pty monitor): torn down within a second."""
    bins = sudo_rule
    env = {"VMNET_BROKER_SOCKET": "/nonexistent/broker.sock"}
    if not terminal:
        p, info = start_run(lab, USER_A, bins, env, ["--operation-mode", "host"])
        victim = p
    else:
        full = dict({k: v for k, v in os.environ.items() if not k.startswith("SUDO_")}, **env)
        command = "%s --operation-mode host -- sleep 60" % (bins / "vmnet-run")
        p = lab.popen(lab.host.cmd(as_member(USER_A, ["script", "-qfec", command, "/dev/null"])),
                      env=dict(full, SHELL="/bin/sh"), stdin=subprocess.DEVNULL,
                      stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        line = read_line(p.stdout.fileno(), START_TIMEOUT)
        while line and not line.startswith(b"{"):
            line = read_line(p.stdout.fileno(), START_TIMEOUT)
        assert line, "no JSON line"
        # The vmnet-run that ran sudo (script's shell may show as one too).
        sudo = [q for q in lab.host.pids() if open_comm(q) == "sudo"]
        runs = {ppid(q) for q in sudo if open_comm(ppid(q)) == "vmnet-run"}
        assert len(runs) == 1, [(q, open_comm(q), ppid(q)) for q in lab.host.pids()]
        victim = psutil_proc(runs.pop())
    sudo = [q for q in lab.host.pids() if open_comm(q) == "sudo"]
    assert sudo, "no sudo"
    took = killed_cleans_up(lab, victim, lambda: not [
        f for f in leftovers(lab.host) if not f.startswith("processes")] and not [
        q for q in lab.host.pids() if open_comm(q) in ("vmnet-helper", "vmnet-reaper", "sudo")])
    print("through sudo (%s): torn down %.3f s after SIGKILL of vmnet-run" % (
        "terminal" if terminal else "no terminal", took))
    if not terminal:
        # The helper's own lifeline did it (not a signal from sudo).
        assert "which started the helper, is gone" in (lab.tmp / "run.err").read_text()
    assert took < 1.0, took
    subprocess.run(["pkill", "-u", USER_A, "-x", "sleep"], check=False)


def ppid(pid):
    try:
        st = open("/proc/%d/stat" % pid).read()
    except OSError:
        return 0
    return int(st[st.rindex(")") + 2:].split()[1])


def open_comm(pid):
    try:
        return open("/proc/%d/comm" % pid).read().strip()
    except OSError:
        return None


class psutil_proc:
    """kill() for a pid that is not our child."""

    def __init__(self, pid):
        self.pid = pid

    def kill(self):
        os.kill(self.pid, signal.SIGKILL)


def test_root_without_sudo_keeps_running(lab, bins):
    """Root running the helper itself gets no lifeline, as before: a launcher
    that starts it and exits leaves it serving (until SIGTERM or its VM goes)."""
    a, b = lab.socketpair()
    out = lab.tmp / "json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUDO_")}
    launcher = lab.host.run(["sh", "-c", '"$0" --fd "$1" --operation-mode host >"$2" 2>/dev/null '
                             '& echo $!', bins / "vmnet-helper", b.fileno(), out],
                            pass_fds=(b.fileno(),), env=env)
    pid = int(launcher.stdout)
    b.close()
    assert wait_until(lambda: out.exists() and out.read_text().endswith("\n"), START_TIMEOUT)
    time.sleep(1.5)
    assert open_comm(pid) == "vmnet-helper", "the helper stopped with its launcher"
    os.kill(pid, signal.SIGTERM)
    assert wait_until(lambda: not leftovers(lab.host), 10), leftovers(lab.host)


# --------------------------------------------------------------------------
# the broker holds nothing a running VM needs

@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["stopped", "killed"])
def test_broker_restart_leaves_vms_working(lab, bins, sig):
    """The broker stopped (service stop, upgrade) or killed while two users'
    VMs run: they keep working; a new broker on the same path (the stale
    socket replaced) serves new requests; the old VMs still stop cleanly."""
    broker = Broker(lab, bins)
    ha, ga = start_guest(lab, broker, bins, USER_A, ["--operation-mode", "host"])
    hb, gb = start_guest(lab, broker, bins, USER_B, ["--operation-mode", "host"])
    broker.stop(sig)
    assert ha.alive() and hb.alive()
    assert ga.ping(hb.info["lease_address"], count=2), "A lost B with the broker"
    assert gb.ping(hb.gateway, count=2), "B lost the gateway with the broker"
    again = Broker(lab, bins, path=broker.path)
    hc, gc = start_guest(lab, again, bins, USER_A, ["--operation-mode", "host"])
    assert gc.ping(ha.info["lease_address"], count=2)
    for h in (ha, hb, hc):
        assert h.stop() == 0, h.stderr()
    assert not broker_free(lab, again), broker_free(lab, again)


# --------------------------------------------------------------------------
# vmnet-run

def test_vmnet_run_uses_the_broker(lab, bins):
    """vmnet-run as a member, the broker's socket there: no sudo; the
    COMMAND gets fd 4 and runs while the network exists; its status is
    vmnet-run's."""
    broker = Broker(lab, bins)
    r = run_as(lab, USER_A, [bins / "vmnet-run", "--operation-mode", "host", "--", "sh", "-c",
                             "ip link show | grep -q vmtap && [ -S /proc/self/fd/4 ] && exit 7; "
                             "exit 9"], broker.env)
    assert r.returncode == 7, r.stderr
    assert '"vmnet_mac_address"' in r.stdout
    assert "sudo" not in r.stderr
    assert "started vmnet-helper" in broker.log()
    assert not broker_free(lab, broker), broker_free(lab, broker)


def test_vmnet_run_refused_is_one_line(lab, bins):
    """vmnet-run refused through the broker (the network's allow-list, and a
    user outside the group): exactly one line on stderr, the helper's or the
    broker's own, not a second one of vmnet-run's repeating it; a non-zero
    exit, nothing on stdout, COMMAND never run, nothing made."""
    policy = Policy(lab, "[network host]\nusers = %s\n" % USER_A)
    broker = Broker(lab, bins, policy=policy)
    for user, why in ((USER_B, 'ERROR [main] user %s may not use network "host"' % USER_B),
                      (OUTSIDER, "ERROR [broker] cannot reach vmnet-broker at")):
        d = lab.user_dir(user)
        mark = d / "ran"
        r = run_as(lab, user, [bins / "vmnet-run", "--operation-mode", "host", "--", "touch",
                               mark], broker.env)
        refused(r, why)
        assert "vmnet-helper failed" not in r.stderr, r.stderr
        assert not mark.exists(), "COMMAND ran"
    assert "started vmnet-helper" in broker.log()
    assert not broker_free(lab, broker), broker_free(lab, broker)


# --------------------------------------------------------------------------
# a real guest: QEMU booted by the user, networked through the broker

from test_sudo import QEMU, VM_DIR, guest_image  # noqa: E402,F401 (guest_image: a fixture)

PORT = 8080
GREETER = textwrap.dedent("""
    import socket, sys
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind((sys.argv[1], int(sys.argv[2])))
    s.listen(8)
    print("ready", flush=True)
    while True:
        c, peer = s.accept()
        c.sendall(("hello %s\\n" % peer[0]).encode())
        c.close()
""")


@pytest.fixture
def qemu_lab(lab, bins, guest_image):
    """The guest where an installation would be (the user boots it), the
    remote namespace with a TCP server that greets each client with the
    address it came from."""
    for src in (VM_DIR / "run-vm.sh", os.path.join(guest_image, "vmlinuz"),
                os.path.join(guest_image, "initramfs.gz")):
        name = os.path.basename(str(src))
        shutil.copy2(src, bins / name)
        os.chmod(bins / name, 0o755 if name.endswith(".sh") else 0o644)
    remote = lab.remote()
    server = lab.popen(remote.cmd([sys.executable, "-c", GREETER, REMOTE_ADDR, PORT]),
                       stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert read_line(server.stdout.fileno(), 10) == b"ready\n"
    return bins


def check_guest(out, info, ctx):
    lease = re.search(r"^VMTEST lease (\S+)/", out, re.M)
    assert lease, "no lease in the guest\n" + ctx
    assert lease.group(1) == info["lease_address"], (lease.group(1), info)
    assert re.search(r"^VMTEST ping \S+ ok", out, re.M), "no ping to the gateway\n" + ctx
    tcp = re.search(r"^VMTEST tcp %s:%d ok hello (\S+)" % (re.escape(REMOTE_ADDR), PORT), out, re.M)
    assert tcp, "no TCP to the outside\n" + ctx
    # The remote saw the host's uplink address: NAT.
    assert tcp.group(1) == "203.0.113.1", tcp.group(0)


@pytest.mark.parametrize("kind", ["fd-dgram", "fd-stream", "socket-dgram", "socket-stream",
                                  "fd-dgram-socket-activate"])
def test_qemu_guest_of_a_member(lab, qemu_lab, kind):
    """A member boots a QEMU guest with no sudo: vmnet-run over --fd (a
    datagram or stream socketpair), or vmnet-helper --socket with QEMU
    connecting itself; the broker in the foreground, or socket-activated.
    The guest gets the JSON line's lease, pings the gateway and reaches the
    outside through NAT; everything goes after."""
    if shutil.which(QEMU) is None:
        pytest.fail("%s not installed (scripts/install-deps.sh)" % QEMU)
    bins = qemu_lab
    broker = Broker(lab, bins, activate=kind.endswith("activate"))
    env = dict(broker.env, VMNET_VM_CACHE=str(bins), HOME="/nonexistent")
    checks = ["vmtest.ping=router", "vmtest.tcp=%s:%d" % (REMOTE_ADDR, PORT)]
    stream = "stream" in kind
    if kind.startswith("fd"):
        r = run_as(lab, USER_A, [bins / "vmnet-run"] +
                   (["--socket-type", "stream"] if stream else []) +
                   ["--", bins / "run-vm.sh", "--timeout", "50"] + (["--stream"] if stream else []) +
                   checks, env, timeout=90)
        ctx = "exit %d\n%s\n%s" % (r.returncode, r.stdout, r.stderr)
        info = json.loads(next(l for l in r.stdout.splitlines() if l.startswith("{")))
        out = r.stdout
        assert r.returncode == 0, ctx
    else:
        d, path = socket_as_user(lab, USER_A)
        h, _ = user_helper(lab, broker, bins, USER_A,
                           ["--socket", path] + (["--socket-type", "stream"] if stream else []))
        r = run_as(lab, USER_A, [bins / "run-vm.sh", "--socket", path, "--timeout", "50"] +
                   (["--stream"] if stream else []) + checks, env, timeout=90)
        ctx = "exit %d\n%s\n%s\n--- helper ---\n%s" % (r.returncode, r.stdout, r.stderr,
                                                      h.stderr())
        info, out = h.info, r.stdout
        assert r.returncode == 0, ctx
        # The VM gone, the helper stops by itself, and its files go.
        assert h.wait() == 0, ctx
        assert list(d.iterdir()) == [], list(d.iterdir())
    print("%s: json %s" % (kind, info))
    check_guest(out, info, ctx)
    assert not broker_free(lab, broker), broker_free(lab, broker)
