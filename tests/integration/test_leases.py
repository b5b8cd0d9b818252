# SPDX-License-Identifier: Apache-2.0
"""
Lease files: who counts as the running holder of a lease, and the line
format tools read (docs/integration.md, DHCP and leases).
"""

import os
import shutil
import time

from conftest import as_user, sudo_env, unpriv_user, wait_until
from test_tenants import ID, lease_lines, refused

USER_A, USER_B = "vmnet-test-a", "vmnet-test-b"


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
