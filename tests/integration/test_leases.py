# SPDX-License-Identifier: Apache-2.0
"""
Lease files: who counts as the running holder of a lease, and the line
format tools read (docs/integration.md, DHCP and leases).
"""

import os
import shutil
import time
import uuid

from conftest import Policy, as_user, sudo_env, unpriv_user, wait_until
from test_tenants import ID, fdb_entry, lease_lines, mode_args, refused

import frames
from frames import ARP, Ether, raw

USER_A, USER_B = "vmnet-test-a", "vmnet-test-b"
# A /28: 13 addresses in the pool (.2-.14).
NET28 = ["--start-address", "192.168.105.1", "--end-address", "192.168.105.14",
         "--subnet-mask", "255.255.255.240"]


def fake_helper(lab, user):
    """A process of user named like the helper (a copy of sleep called
    vmnet-helper): what another user can run on a pid the helper once had."""
    path = lab.user_dir(user) / "vmnet-helper"
    shutil.copy("/bin/sleep", path)
    uid, gid = unpriv_user(user)
    os.chown(path, uid, gid)
    p = lab.popen(as_user(user, [path, "300"]))
    assert wait_until(lambda: open("/proc/%d/comm" % p.pid).read().strip() == "vmnet-helper",
                      5)
    return p


def test_reused_pid_of_another_user_holds_no_lease(lab):
    """A's helper stopped; its lease names the pid it had. User B runs a
    process called vmnet-helper on that pid (pid reuse, simulated by writing
    B's pid into A's line): A still gets its interface id and address back.
    B's process, not A's helper, cannot lock A out. A process of A's own
    named so does count (A locks only itself out)."""
    ha, _ = lab.helper(["--interface-id", ID], env=sudo_env(USER_A))
    ia, bridge = ha.info["lease_address"], ha.bridge
    keep, _ = lab.helper(["--operation-mode", "shared"])   # the network stays up
    assert ha.stop() == 0
    path = lab.host.lib_dir / ("%s.leases" % bridge)
    fake = fake_helper(lab, USER_B)
    text = path.read_text()
    old_pid = [l for l in lease_lines(lab, bridge) if l["interface_id"] == ID][0]["pid"]
    path.write_text(text.replace("pid=%s " % old_pid, "pid=%d " % fake.pid))
    h, _ = lab.helper(["--interface-id", ID], env=sudo_env(USER_A))
    assert h.info["lease_address"] == ia
    assert h.stop() == 0
    # A's own process on the lease's pid: taken for A's running helper.
    own = fake_helper(lab, USER_A)
    text = path.read_text()
    old_pid = [l for l in lease_lines(lab, bridge) if l["interface_id"] == ID][0]["pid"]
    path.write_text(text.replace("pid=%s " % old_pid, "pid=%d " % own.pid))
    errors = refused(lab, ["--interface-id", ID], sudo_env(USER_A))
    assert len(errors) == 1 and ("pid %d" % own.pid) in errors[0], errors
    keep.stop()
    fake.kill()
    own.kill()


def test_lease_line_format(lab):
    """Fields by position: ip_address, hw_address, interface_id, pid, time as
    they always were, uid after them. A file written with uid before pid (by
    the previous version) is still read: its user gets the address back."""
    h, _ = lab.helper(["--interface-id", ID], env=sudo_env(USER_A))
    info, bridge = h.info, h.bridge
    keep, _ = lab.helper(["--operation-mode", "shared"])   # the network stays up
    path = lab.host.lib_dir / ("%s.leases" % bridge)
    line = [l for l in path.read_text().splitlines() if ID in l][0]
    fields = line.split()
    assert [f.split("=")[0] for f in fields] == ["ip_address", "hw_address", "interface_id",
                                                 "pid", "time", "uid"], line
    assert fields[0] == "ip_address=" + info["lease_address"]
    assert fields[1] == "hw_address=" + info["vmnet_mac_address"]
    assert fields[3] == "pid=%d" % h.pid
    assert fields[5] == "uid=" + sudo_env(USER_A)["SUDO_UID"]
    assert h.stop() == 0
    # The older order, with an address the allocator would not pick itself.
    uid = sudo_env(USER_A)["SUDO_UID"]
    path.write_text("".join(l + "\n" for l in path.read_text().splitlines() if ID not in l) +
                    "ip_address=192.168.105.250 hw_address=%s interface_id=%s uid=%s pid=1 "
                    "time=%d\n" % (info["vmnet_mac_address"], ID, uid, int(time.time())))
    h, _ = lab.helper(["--interface-id", ID], env=sudo_env(USER_A))
    assert h.info["lease_address"] == "192.168.105.250", h.info
    keep.stop()


def held_by(lab, bridge, user):
    uid = sudo_env(user)["SUDO_UID"]
    return [l for l in lease_lines(lab, bridge) if l.get("uid") == uid]


def test_one_user_cannot_drain_a_pool(lab):
    """A /28 (13 addresses). User A starts and stops 16 VMs, each with a new
    interface id: A never holds more than a quarter of the pool (3, the
    default max-leases-per-user), each new start past that taking back A's
    own oldest stopped lease. User B still gets an address, and so does A's
    next start."""
    bridge = None
    for i in range(16):
        h, _ = lab.helper(NET28 + ["--interface-id", str(uuid.uuid4())], env=sudo_env(USER_A))
        bridge = h.bridge
        assert h.stop() == 0
        assert len(held_by(lab, bridge, USER_A)) == min(i + 1, 3), lease_lines(lab, bridge)
    hb, _ = lab.helper(NET28 + ["--interface-id", str(uuid.uuid4())], env=sudo_env(USER_B))
    assert hb.info["lease_address"].startswith("192.168.105.")
    ha, _ = lab.helper(NET28 + ["--interface-id", str(uuid.uuid4())], env=sudo_env(USER_A))
    assert ha.info["lease_address"] in {l["ip_address"] for l in held_by(lab, bridge, USER_A)}
    assert len(held_by(lab, bridge, USER_A)) == 3


def test_lease_limit_refuses_only_when_all_run(lab):
    """max-leases-per-user = 2: a third start of A's while two run is refused
    with one line; B and root are not limited by it; once one of A's stops,
    A's next start takes its lease back."""
    pol = Policy(lab, "max-leases-per-user = 2\n")
    a1, _ = lab.helper(NET28, env=sudo_env(USER_A), policy=pol)
    lab.helper(NET28, env=sudo_env(USER_A), policy=pol)
    before = lease_lines(lab, a1.bridge)
    h, _ = lab.helper(NET28, env=sudo_env(USER_A), policy=pol, wait_json=False)
    assert h.wait() != 0 and h.stdout_rest() == b""
    errors = [l for l in h.stderr_lines() if l.startswith("ERROR")]
    assert len(errors) == 1 and ("uid %s holds 2 leases on %s, every one of a running helper"
                                 % (sudo_env(USER_A)["SUDO_UID"], a1.bridge)) in errors[0] \
        and "max-leases-per-user" in errors[0], h.stderr()
    assert lease_lines(lab, a1.bridge) == before, "a refused start changed the leases"
    lab.helper(NET28, env=sudo_env(USER_B), policy=pol)
    for _ in range(3):
        lab.helper(NET28, policy=pol)
    ia = a1.info["lease_address"]
    assert a1.stop() == 0
    a3, _ = lab.helper(NET28, env=sudo_env(USER_A), policy=pol)
    assert a3.info["lease_address"] == ia


def test_mac_claim_checks_the_holders_user(lab):
    """A lease past its lease time names a pid that another user's process
    called vmnet-helper now has (pid reuse): that lease is not running (the
    holder's user is not that process's), so its MAC may become a VM's
    second MAC. Judged by the name alone, the claim was refused."""
    h, vm = lab.helper(mode_args("shared", False))
    mac = "52:54:00:aa:bb:cd"
    fake = fake_helper(lab, USER_B)
    path = lab.host.lib_dir / ("%s.leases" % h.bridge)
    path.write_text(path.read_text() +
                    "ip_address=192.168.105.250 hw_address=%s interface_id=%s pid=%d "
                    "time=1000 uid=%s\n" % (mac, "6F1B1A52-3C1B-4B44-9E0B-8D1D3C7A0F11",
                                            fake.pid, sudo_env(USER_A)["SUDO_UID"]))
    for _ in range(3):
        vm.send(raw(Ether(src=mac, dst=frames.BROADCAST) /
                    ARP(op=1, hwsrc=mac, psrc="0.0.0.0", pdst=h.gateway)))
    assert h.wait_stderr(r"INFO  \[main\] the VM also sends from %s" % mac), h.stderr()
    assert fdb_entry(lab, h.bridge, mac) == (h.info["tap"], ["sticky"])
    fake.kill()
