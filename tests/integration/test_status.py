# SPDX-License-Identifier: Apache-2.0
"""
vmnet-status: the administrator's view of the running helpers of a network
namespace, checked against helpers of two real users (and one of root's):
root sees every helper, a user only their own, and that is the helper's
doing (it answers root and its own user only), not the listing's. Each helper's status socket goes with
it, SIGKILL included.
"""

import json
import os
import pwd
import signal

import frames
from conftest import STATUS, Policy, as_user, assert_clean, sudo_env, wait_until
from test_bridged import veth_to

USER_A, USER_B, USER_C = "vmnet-test-a", "vmnet-test-b", "vmnet-test-c"


def status(lab, user=None, json_out=True):
    argv = [STATUS] + (["--json"] if json_out else [])
    if user:
        argv = as_user(user, argv)
    r = lab.host.run(argv, check=False)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout) if json_out else r.stdout


def by_pid(entries):
    return {e["pid"]: e for e in entries}


def check_entry(e, h, user, mode, uid=None):
    info = h.info
    assert e["state"] == "running", e
    assert e["user"] == user and e["uid"] == pwd.getpwnam(user).pw_uid, e
    assert e["interface_id"] == info["vmnet_interface_id"]
    assert e["mac_address"] == info["vmnet_mac_address"]
    assert e["tap"] == info["tap"]
    assert e["operation_mode"] == mode
    assert e["mtu"] == info["vmnet_mtu"]
    if mode != "bridged":
        assert e["lease_address"] == info["lease_address"]
        assert e["gateway"] == info["vmnet_start_address"]
        assert e["bridge"] == info["bridge"]
        net = e["subnet"].split("/")[0]
        assert info["vmnet_start_address"].rsplit(".", 1)[0] == net.rsplit(".", 1)[0]
    else:
        assert e["shared_interface"] == info["shared_interface"]
    assert e["uptime_s"] >= 0 and e["started"].endswith("+00:00")
    for side in ("host", "vm"):
        assert set(e[side]) == {"packets", "bytes", "drops", "fast", "slow"}


def test_root_sees_all_users_their_own(lab, tmp_path):
    ha, va = lab.helper(["--stats-interval", "1"], env=sudo_env(USER_A))
    hb, vb = lab.helper(["--network", "host", "--enable-isolation"], env=sudo_env(USER_B))
    hr, vr = lab.helper(["--operation-mode", "host"])    # root's, for itself
    # Traffic for A's counters.
    mac = ha.info["vmnet_mac_address"]
    assert frames.arp_resolve(va, mac, ha.info["lease_address"], ha.gateway)

    every = by_pid(status(lab))
    assert set(every) == {ha.pid, hb.pid, hr.pid}, every
    check_entry(every[ha.pid], ha, USER_A, "shared")
    assert every[ha.pid]["started_by"] == "user" and every[ha.pid]["network"] is None
    assert every[ha.pid]["vm"]["packets"] >= 1 and every[ha.pid]["vm"]["fast"] >= 1
    assert every[ha.pid]["host"]["packets"] >= 1 and every[ha.pid]["host"]["fast"] >= 1
    check_entry(every[hb.pid], hb, USER_B, "host")
    assert every[hb.pid]["network"] == "host" and every[hb.pid]["isolated"] is True
    check_entry(every[hr.pid], hr, "root", "host")
    assert every[hr.pid]["started_by"] == "root"
    assert every[hr.pid]["datapath_uid"] == pwd.getpwnam("nobody").pw_uid

    # A user sees their own helpers, and no one else's.
    assert list(by_pid(status(lab, USER_A))) == [ha.pid]
    assert list(by_pid(status(lab, USER_B))) == [hb.pid]
    assert status(lab, USER_C) == []

    # The table: a header and a row per helper.
    table = status(lab, json_out=False).splitlines()
    assert table[0].split()[:3] == ["PID", "USER", "MODE"], table
    assert len(table) == 4
    for h, user in ((ha, USER_A), (hb, USER_B), (hr, "root")):
        row = [l for l in table if l.split()[0] == str(h.pid)]
        assert row and user in row[0] and h.info["tap"] in row[0] \
            and h.info["vmnet_interface_id"] in row[0], table
    own = status(lab, USER_A, json_out=False).splitlines()
    assert len(own) == 2 and str(ha.pid) in own[1]

    for h in (ha, hb, hr):
        assert h.stop() == 0
    assert status(lab) == []
    assert_clean(lab.host)


ASK = r"""
import socket, sys
s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
s.settimeout(5)
s.connect(sys.argv[1])
print("answered %d bytes" % len(s.recv(4096)))
"""


def test_enforced_by_the_helper(lab):
    """Anyone may connect to a status socket (root's, 0666: helpers started
    by vmnet-broker cannot give it to their user); the helper answers only
    root and its own user, by the kernel's credentials of the connection."""
    hb, _ = lab.helper([], env=sudo_env(USER_B))
    path = lab.host.run_dir / "status" / ("%d.sock" % hb.pid)
    st = os.lstat(path)
    assert (st.st_uid, st.st_mode & 0o777) == (0, 0o666)

    def ask(user):
        r = lab.host.run(as_user(user, ["/usr/bin/python3", "-c", ASK, path]), check=False)
        assert r.returncode == 0, r.stderr
        return r.stdout.strip()

    assert ask(USER_A) == "answered 0 bytes"
    assert ask(USER_C) == "answered 0 bytes"
    assert "refused a status request" in hb.stderr()
    assert ask(USER_B).startswith("answered ") and ask(USER_B) != "answered 0 bytes"
    assert status(lab, USER_A) == [] and status(lab, USER_A, json_out=False).count("\n") == 1
    # Nor can a user remove or replace a socket (root's directory).
    r = lab.host.run(as_user(USER_B, ["rm", "-f", path]), check=False)
    assert r.returncode != 0 and path.exists()
    assert hb.stop() == 0
    assert_clean(lab.host)


def test_socket_goes_with_the_helper(lab):
    """SIGKILL included: the reaper removes it."""
    h1, _ = lab.helper([], env=sudo_env(USER_A))
    h2, _ = lab.helper(["--operation-mode", "host"], env=sudo_env(USER_A))
    d = lab.host.run_dir / "status"
    assert sorted(os.listdir(d)) == sorted("%d.sock" % h.pid for h in (h1, h2))
    h1.send_signal(signal.SIGKILL)
    h1.wait()
    assert wait_until(lambda: not (d / ("%d.sock" % h1.pid)).exists(), 5)
    assert [e["pid"] for e in status(lab)] == [h2.pid]
    assert h2.stop() == 0
    assert_clean(lab.host)


def test_bridged_and_stream_socket_helpers(lab, tmp_path):
    lan = lab.netns("lan")
    veth_to(lab, lab.host, "phys0", lan, "eth0")
    # A veth stands in for a physical interface: the administrator allows it.
    policy = Policy(lab, "bridged-interfaces = phys0\n")
    hb, _ = lab.helper(["--operation-mode", "bridged", "--shared-interface", "phys0"],
                       env=sudo_env(USER_A), policy=policy)
    d = lab.user_dir(USER_A)
    hs, _ = lab.helper(["--socket", d / "vm.sock", "--socket-type", "stream", "--pcap",
                        d / "vm.pcapng"], env=sudo_env(USER_A), vm=False)
    g = lab.guest_socket(str(d / "vm.sock"), stream=True)
    assert g
    entries = by_pid(status(lab, USER_A))
    check_entry(entries[hb.pid], hb, USER_A, "bridged")
    assert entries[hb.pid]["shared_interface"] == "phys0"
    e = entries[hs.pid]
    check_entry(e, hs, USER_A, "shared")
    assert e["socket"] == str(d / "vm.sock") and e["capture"] is True
    for h in (hb, hs):
        h.stop()
    assert_clean(lab.host)
