# SPDX-License-Identifier: Apache-2.0
"""vmnet-client: socketpair between the helper (fd 3) and COMMAND (fd 4)."""

import os
import signal
import subprocess
import textwrap

import pytest

import frames
from conftest import (CLIENT, CMD_TIMEOUT, VMSIM, assert_clean, read_line,
                      wait_until)
from test_dhcp import UDHCPC_SCRIPT, read_env


def client_env():
    env = dict(os.environ)
    for k in ("SUDO_UID", "SUDO_GID", "SUDO_USER", "SUDO_COMMAND", "VMNET_HELPER"):
        env.pop(k, None)
    return env


def run_client(lab, args, timeout=CMD_TIMEOUT):
    try:
        return subprocess.run(lab.host.cmd([CLIENT] + list(args)), capture_output=True,
                              text=True, timeout=timeout, env=client_env(),
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise AssertionError("vmnet-client %s did not exit within %ss" % (args, timeout))


def test_client_propagates_exit_status(lab):
    # COMMAND starts once the helper's interface exists (its TAP is in this namespace).
    r = run_client(lab, ["--", "sh", "-c", "ip link show | grep -q vmtap && exit 7; exit 9"])
    assert r.returncode == 7, "exit %d (9: no TAP while COMMAND ran)\n%s" % (r.returncode,
                                                                           r.stderr)
    assert_clean(lab.host)
    r = run_client(lab, ["--", "true"])
    assert r.returncode == 0, r.stderr
    r = run_client(lab, ["--operation-mode", "host", "--", "sh", "-c", "exit 3"])
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


def test_client_bad_helper_option_runs_no_command(lab):
    marker = lab.tmp / "ran"
    r = run_client(lab, ["--operation-mode", "bogus", "--", "touch", marker])
    assert r.returncode != 0
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


def test_client_command_uses_fd4(lab):
    mac = frames.random_mac()
    gw = "192.168.105.1"
    frame = frames.arp_request(mac, "192.168.105.200", gw)
    r = run_client(lab, ["--", "/usr/bin/python3", "-c", FD4_CHECK, frame.hex(), gw])
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
