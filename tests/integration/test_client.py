# SPDX-License-Identifier: Apache-2.0
"""vmnet-run (and vmnet-client, its name in the spec): socketpair between
the helper (fd 3) and COMMAND (fd 4)."""

import json
import os
import re
import signal
import subprocess
import textwrap

import pytest

import frames
from conftest import (CLIENT, CMD_TIMEOUT, HELPER, REPO, RUN, VERSION_LINE, VMSIM, assert_clean,
                      read_line, wait_until)
from test_dhcp import UDHCPC_SCRIPT, read_env


def client_env():
    env = dict(os.environ)
    for k in ("SUDO_UID", "SUDO_GID", "SUDO_USER", "SUDO_COMMAND", "VMNET_HELPER"):
        env.pop(k, None)
    return env


BOTH = pytest.mark.parametrize("client", [RUN, CLIENT], ids=["vmnet-run", "vmnet-client"])


def run_client(lab, args, timeout=CMD_TIMEOUT, client=CLIENT):
    try:
        return subprocess.run(lab.host.cmd([client] + list(args)), capture_output=True,
                              text=True, timeout=timeout, env=client_env(),
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise AssertionError("vmnet-client %s did not exit within %ss" % (args, timeout))


@BOTH
def test_client_propagates_exit_status(lab, client):
    # COMMAND starts once the helper's interface exists (its TAP is in this namespace).
    r = run_client(lab, ["--", "sh", "-c", "ip link show | grep -q vmtap && exit 7; exit 9"],
                   client=client)
    assert r.returncode == 7, "exit %d (9: no TAP while COMMAND ran)\n%s" % (r.returncode,
                                                                           r.stderr)
    assert_clean(lab.host)
    r = run_client(lab, ["--", "true"], client=client)
    assert r.returncode == 0, r.stderr
    r = run_client(lab, ["--operation-mode", "host", "--", "sh", "-c", "exit 3"], client=client)
    assert r.returncode == 3, r.stderr
    assert_clean(lab.host)


def test_client_command_killed_by_signal(lab):
    r = run_client(lab, ["--", "sh", "-c", "kill -KILL $$"])
    assert r.returncode in (128 + 9, -9), "exit %d" % r.returncode
    assert_clean(lab.host)


def test_client_command_not_found(lab):
    r = run_client(lab, ["--", "/nonexistent/vmit-command"])
    assert r.returncode != 0
    assert_clean(lab.host)


@BOTH
def test_client_bad_helper_option_runs_no_command(lab, client):
    marker = lab.tmp / "ran"
    for args in (["--operation-mode", "bogus"], ["--bogus"], ["--fd", "5"],
                 ["--socket", "/tmp/x"], ["--enable-tso"]):
        r = run_client(lab, args + ["--", "touch", marker], client=client)
        assert r.returncode != 0, args
        assert len(r.stderr.splitlines()) == 1, r.stderr
        assert not marker.exists(), "COMMAND ran although the helper failed"
    assert_clean(lab.host)


FD4_CHECK = textwrap.dedent("""
    import os, select, socket, sys
    s = socket.socket(fileno=4)
    if s.family != socket.AF_UNIX or s.type != socket.SOCK_DGRAM:
        sys.exit(2)
    frame = bytes.fromhex(sys.argv[1])
    gw = bytes(int(x) for x in sys.argv[2].split("."))
    for _ in range(3):
        s.send(frame)
        while select.select([s], [], [], 1)[0]:
            f = s.recv(65536)
            # ARP reply (op 2) whose sender protocol address is the gateway
            if f[12:14] == b"\\x08\\x06" and f[20:22] == b"\\x00\\x02" and f[28:32] == gw:
                sys.exit(0)
    sys.exit(3)
""")


@BOTH
def test_client_command_uses_fd4(lab, client):
    mac = frames.random_mac()
    gw = "192.168.105.1"
    # An ARP probe (sender 0.0.0.0): the VM has no lease yet, and the pool's
    # addresses are not its to claim.
    frame = frames.arp_request(mac, "0.0.0.0", gw)
    r = run_client(lab, ["--", "/usr/bin/python3", "-c", FD4_CHECK, frame.hex(), gw],
                   client=client)
    assert r.returncode == 0, "fd 4 check failed with %d (2: not a datagram socket, " \
        "3: no ARP reply)\n%s" % (r.returncode, r.stderr)
    assert_clean(lab.host)


def test_client_with_vmsim_and_udhcpc(lab):
    guest = lab.netns("guest")
    script = lab.tmp / "udhcpc.sh"
    script.write_text(UDHCPC_SCRIPT)
    script.chmod(0o755)
    out = lab.tmp / "lease"
    inner = (
        "%s --fd 4 --tap eth0 --quiet >/dev/null & pid=$!; "
        "i=0; while ! ip link show eth0 >/dev/null 2>&1; do i=$((i+1)); "
        "[ $i -gt 100 ] && exit 90; sleep 0.05; done; "
        "LEASE_OUT=%s busybox udhcpc -i eth0 -f -q -n -t 5 -T 1 -A 1 -s %s >/dev/null 2>&1 "
        "|| exit 91; "
        "ping -n -c 1 -W 2 192.168.105.1 >/dev/null || exit 92; "
        "kill $pid; wait $pid; exit 0" % (VMSIM, out, script))
    r = run_client(lab, ["--", "ip", "netns", "exec", guest.name, "sh", "-c", inner],
                   timeout=40)
    assert r.returncode == 0, "exit %d (90: no TAP, 91: no lease, 92: no ping)\n%s" % (
        r.returncode, r.stderr)
    lease = read_env(out)
    assert lease["router"].split()[0] == "192.168.105.1"
    assert_clean(lab.host)


PAUSE = textwrap.dedent("""
    import signal, sys, time
    signal.signal(signal.SIGTERM, lambda *a: sys.exit(42))
    signal.signal(signal.SIGINT, lambda *a: sys.exit(43))
    open(sys.argv[1], "w").close()
    time.sleep(60)
    sys.exit(1)
""")


@pytest.mark.parametrize("sig,code", [(signal.SIGTERM, 42), (signal.SIGINT, 43)])
def test_client_forwards_signals(lab, sig, code):
    ready = lab.tmp / "ready"
    p = lab.popen(lab.host.cmd([CLIENT, "--", "/usr/bin/python3", "-c", PAUSE, ready]),
                  env=client_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                  stdin=subprocess.DEVNULL)
    assert wait_until(ready.exists, 15), "COMMAND did not start"
    pids = lab.host.pids()
    assert len(pids) >= 3, "expected client, helper and COMMAND, got %s" % pids
    p.send_signal(sig)
    try:
        rc = p.wait(15)
    except subprocess.TimeoutExpired:
        raise AssertionError("vmnet-client did not exit after %s" % sig.name)
    assert rc == code, "exit %d, want COMMAND's %d; stderr:\n%s" % (rc, code,
                                                                   p.stderr.read().decode())
    assert wait_until(lambda: not lab.host.pids(), 5), \
        "processes left behind: %s" % lab.host.pids()
    assert_clean(lab.host)



@BOTH
def test_client_help_and_version(lab, client):
    """-h/--help and --version need no COMMAND and name the program as invoked."""
    name = client.name
    for args in (["-h"], ["--help"], ["-v", "-h"], ["--operation-mode", "host", "--help"]):
        r = run_client(lab, args, client=client)
        assert r.returncode == 0, r.stderr
        assert r.stdout.startswith("Usage: %s [OPTIONS] -- COMMAND" % name), r.stdout
        for opt in ("--interface-id", "--operation-mode", "--start-address", "--end-address",
                    "--subnet-mask", "--network", "--mtu", "--shared-interface",
                    "--enable-isolation", "--enable-tso", "--enable-checksum-offload", "--stats-interval",
                    "--verbose", "--unprivileged", "--version", "--help"):
            assert opt in r.stdout, "%s missing from --help" % opt
    r = run_client(lab, ["--version"], client=client)
    assert r.returncode == 0 and re.match(VERSION_LINE % name, r.stdout), r.stdout
    helper = subprocess.run([HELPER, "--version"], capture_output=True, text=True).stdout
    assert r.stdout.split(" ", 1)[1] == helper.split(" ", 1)[1], "vmnet-helper says " + helper
    r = run_client(lab, [], client=client)
    assert r.returncode != 0 and "missing COMMAND" in r.stderr, r.stderr
    assert_clean(lab.host)


def test_run_passes_interface_options(lab):
    """vmnet-run's interface options (upstream's list) reach the helper."""
    iid = "2835E074-9892-4A79-AFFB-7E41D2605678"
    r = run_client(lab, ["--interface-id", iid, "--operation-mode", "host",
                         "--start-address", "192.168.120.1", "--end-address", "192.168.120.50",
                         "--subnet-mask", "255.255.255.0", "--enable-isolation",
                         "--enable-tso", "--enable-checksum-offload", "--stats-interval", "60",
                         "--verbose", "--", "true"], client=RUN)
    assert r.returncode == 0, r.stderr
    info = json.loads(r.stdout.splitlines()[0])
    assert info["vmnet_interface_id"] == iid
    assert info["operation_mode"] == "host"
    assert info["vmnet_start_address"] == "192.168.120.1"
    assert info["vmnet_end_address"] == "192.168.120.50"
    assert info["tap"].startswith("vmtapi"), info
    assert info["vmnet_max_packet_size"] == 65550
    assert "DEBUG" in r.stderr, "--verbose did not reach the helper"
    assert_clean(lab.host)


def test_install_puts_vmnet_run_beside_vmnet_client(lab, tmp_path):
    """make install: vmnet-run and vmnet-client (the same program) beside the
    helper, each finding the helper next to itself."""
    dest = tmp_path / "pkg"
    r = subprocess.run(["make", "-s", "-C", str(REPO), "install", "DESTDIR=%s" % dest,
                        "PREFIX=/opt/vmnet-helper"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    bindir = dest / "opt" / "vmnet-helper" / "bin"
    assert sorted(p.name for p in bindir.iterdir()) == ["vmnet-client", "vmnet-helper",
                                                       "vmnet-run", "vmnet-status"]
    assert sorted(p.name for p in (dest / "opt" / "vmnet-helper" / "sbin").iterdir()) == \
        ["vmnet-broker"]
    assert os.readlink(bindir / "vmnet-client") == "vmnet-run"
    for name in ("vmnet-run", "vmnet-client"):
        r = run_client(lab, ["--version"], client=bindir / name)
        assert r.stdout.startswith(name + " "), r.stdout
        r = run_client(lab, ["--", "sh", "-c", "exit 5"], client=bindir / name)
        assert r.returncode == 5, r.stderr
        assert '"vmnet_mac_address"' in r.stdout
    assert_clean(lab.host)


def test_client_passes_mtu(lab):
    """--mtu goes to the helper: the JSON line says it, and COMMAND runs while
    the network has that MTU; an invalid one is refused before COMMAND runs."""
    r = run_client(lab, ["--mtu", "9000", "--", "sh", "-c",
                         "ip -o link show | grep -q 'vmtap.* mtu 9000 ' && exit 7; exit 9"])
    assert r.returncode == 7, "exit %d\n%s" % (r.returncode, r.stderr)
    assert '"vmnet_mtu":9000' in r.stdout, r.stdout
    marker = lab.tmp / "ran"
    r = run_client(lab, ["--mtu", "65521", "--", "touch", marker])
    assert r.returncode != 0 and "--mtu" in r.stderr, r.stderr
    assert not marker.exists()
    assert_clean(lab.host)
