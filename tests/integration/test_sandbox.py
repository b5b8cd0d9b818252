# SPDX-License-Identifier: Apache-2.0
"""
The long-lived processes run sandboxed (src/common/sandbox.h): the datapath and the
reaper under seccomp filters with NO_NEW_PRIVS, the datapath in an empty
filesystem of its own. (tests/unit/test_sandbox.c shows what the filters
refuse; every other test runs with them on.)
"""

import os

import pytest

import frames
from conftest import assert_clean, wait_until


def status(pid):
    fields = {}
    with open("/proc/%s/status" % pid) as f:
        for line in f:
            k, _, v = line.partition(":")
            fields[k] = v.strip()
    return fields


def threads(pid):
    return [int(t) for t in os.listdir("/proc/%d/task" % pid)]


def reaper_of(pid):
    """The datapath's child named vmnet-reaper (with --socket there is also vmnet-files)."""
    with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
        children = [int(c) for c in f.read().split()]
    reapers = [c for c in children if open("/proc/%d/comm" % c).read().strip() == "vmnet-reaper"]
    assert len(reapers) == 1, "datapath children: %s" % children
    return reapers[0]


def serves(h, vm):
    return frames.arp_resolve(vm, h.info["vmnet_mac_address"], h.info["lease_address"],
                              h.gateway) is not None


def task_status(pid, tid):
    return status("%d/task/%d" % (pid, tid))


@pytest.mark.parametrize("mode", ["shared", "host", "bridged"])
def test_filters_on(lab, mode):
    args = ["--operation-mode", mode]
    if mode == "bridged":
        lab.host.run(["ip", "link", "add", "phys0", "type", "veth", "peer", "name", "phys1"])
        lab.host.run(["ip", "link", "set", "phys0", "up"])
        args += ["--shared-interface", "phys0"]
    h, vm = lab.helper(args)
    if mode != "bridged":
        assert serves(h, vm)
    # The datapath and each of its threads (forwarding, DNS) are filtered.
    assert wait_until(lambda: len(threads(h.pid)) >= 4, 5), threads(h.pid)
    for tid in threads(h.pid):
        st = task_status(h.pid, tid)
        assert (st["Seccomp"], st["NoNewPrivs"]) == ("2", "1"), "datapath thread %d: %s %s" % (
            tid, st["Seccomp"], st["NoNewPrivs"])
    reaper = reaper_of(h.pid)
    st = status(reaper)
    assert (st["Seccomp"], st["NoNewPrivs"]) == ("2", "1"), "reaper: %s %s" % (
        st["Seccomp"], st["NoNewPrivs"])
    # Teardown under the reaper's filter leaves the host clean.
    assert h.stop() == 0, h.stderr()
    assert not [l for l in h.stderr_lines() if l.startswith("ERROR")], h.stderr()
    assert_clean(lab.host)


def our_mounts():
    """Mounts of the helper's tmpfs in the host's mount table (should be none)."""
    with open("/proc/self/mountinfo") as f:
        return [l for l in f.read().splitlines() if " - tmpfs vmnet-helper " in l]


@pytest.mark.parametrize("transport", ["fd", "socket"])
def test_datapath_sees_no_files(lab, transport):
    if transport == "fd":
        h, vm = lab.helper([])
        assert serves(h, vm)
    else:
        os.chmod(lab.tmp, 0o755)
        path = lab.tmp / "vmnet.sock"
        h, _ = lab.helper(["--socket", path])
        lab.guest_socket(path)
        assert h.wait_stderr(r"serving client"), h.stderr()
    # Its root is an empty directory; the host's files are out of its reach.
    root = "/proc/%d/root/" % h.pid
    assert os.listdir(root) == [], os.listdir(root)
    with open("/proc/%d/mountinfo" % h.pid) as f:
        own = f.read().splitlines()
    assert len(own) == 1 and " / / ro," in own[0] and "tmpfs" in own[0], own
    # The reaper keeps the host's view (teardown needs /run and /proc/sys).
    assert os.listdir("/proc/%d/root/" % reaper_of(h.pid))
    # And nothing of it shows in the host's mount table.
    assert not our_mounts()
    assert h.stop() == 0, h.stderr()
    assert_clean(lab.host)
