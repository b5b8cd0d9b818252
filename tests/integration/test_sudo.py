# SPDX-License-Identifier: Apache-2.0
"""
vmnet-client run by an unprivileged user through real sudo, with the
repository's sudoers example installed for that user: the way users run it.
The guest is the QEMU test guest (tests/vm), booted by the user.
"""

import os
import re
import shutil
import signal
import subprocess

import pytest

from conftest import (CLIENT, HELPER, REPO, START_TIMEOUT, as_user, assert_clean,
                      helper_processes, proc_children, read_line, unpriv_user, wait_until)

USER = "vmnet-test-a"
EXAMPLE = REPO / "sudoers.d" / "vmnet-helper"
EXAMPLE_HELPER = "/opt/vmnet-helper/bin/vmnet-helper"
VM_DIR = REPO / "tests" / "vm"
QEMU = os.environ.get("QEMU", "qemu-system-x86_64")


@pytest.fixture(scope="module")
def guest_image():
    """The test guest (tests/vm/build-image.sh, cached)."""
    if shutil.which(QEMU) is None:
        pytest.fail("%s not installed (scripts/install-deps.sh)" % QEMU)
    p = subprocess.run([str(VM_DIR / "build-image.sh"), "--quiet"], capture_output=True,
                       text=True)
    assert p.returncode == 0, "build-image.sh failed:\n%s%s" % (p.stdout, p.stderr)
    cache = os.environ.get("VMNET_VM_CACHE", str(VM_DIR / "cache"))
    return cache


def install_copy(lab, cache):
    """The binaries and the guest where an installation would put them:
    root-owned and readable by everyone (the repository may not be)."""
    d = lab.root_dir("install")
    for src in (HELPER, CLIENT, VM_DIR / "run-vm.sh"):
        shutil.copy2(src, d / src.name)
        os.chmod(d / src.name, 0o755)
    for name in ("vmlinuz", "initramfs.gz"):
        shutil.copy2(os.path.join(cache, name), d / name)
        os.chmod(d / name, 0o644)
    return d


class SudoersFile:
    """The example, for USER and this helper, validated by visudo and
    installed in /etc/sudoers.d for the test only."""

    def __init__(self, lab, helper, extra=""):
        text = EXAMPLE.read_text()
        assert "%vmnet ALL" in text and EXAMPLE_HELPER in text, "the example changed"
        text = text.replace("%vmnet ALL", "%s ALL" % USER).replace(EXAMPLE_HELPER, str(helper))
        text += extra
        if "ASAN_OPTIONS" in os.environ:
            # The sanitized build's settings must reach it through sudo.
            text += 'Defaults!%s env_keep += "ASAN_OPTIONS UBSAN_OPTIONS"\n' % helper
        draft = lab.tmp / "sudoers"
        draft.write_text(text)
        os.chmod(draft, 0o440)
        r = subprocess.run(["visudo", "-cf", str(draft)], capture_output=True, text=True)
        assert r.returncode == 0, "visudo rejects the example:\n%s%s" % (r.stdout, r.stderr)
        # sudo skips names with a dot in /etc/sudoers.d.
        self.path = "/etc/sudoers.d/vmnet-it-%s" % lab.id
        shutil.copy2(draft, self.path)
        r = subprocess.run(["visudo", "-c"], capture_output=True, text=True)
        if r.returncode != 0:
            self.remove()
            pytest.fail("sudoers invalid with the example installed:\n%s" % r.stdout)

    def remove(self):
        try:
            os.unlink(self.path)
        except FileNotFoundError:
            pass


@pytest.fixture
def sudoers(lab, guest_image):
    d = install_copy(lab, guest_image)
    f = SudoersFile(lab, d / "vmnet-helper")
    try:
        yield d
    finally:
        f.remove()


def user_env(install):
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("SUDO_") and k != "VMNET_HELPER"}
    env["VMNET_VM_CACHE"] = str(install)
    env["HOME"] = "/nonexistent"
    return env


def test_client_as_user_through_sudo(lab, sudoers):
    """An unprivileged user runs vmnet-client; it starts the helper with
    `sudo --non-interactive --close-from=4` under the example rule; the
    datapath runs as that user; the user's QEMU guest gets the lease of the
    JSON line and pings the gateway; everything goes at exit."""
    uid, gid = unpriv_user(USER)
    argv = as_user(USER, [sudoers / "vmnet-client", "--", sudoers / "run-vm.sh",
                          "--timeout", "40", "vmtest.ping=router"])
    r = subprocess.run(lab.host.cmd(argv), capture_output=True, text=True, errors="replace",
                       env=user_env(sudoers), stdin=subprocess.DEVNULL, timeout=70)
    assert r.returncode == 0, "exit %d\nstdout:\n%s\nstderr:\n%s" % (r.returncode, r.stdout,
                                                                     r.stderr)
    info = next(l for l in r.stdout.splitlines() if l.startswith("{"))
    lease = re.search(r"^VMTEST lease (\S+)/", r.stdout, re.M)
    assert lease, "no lease in the guest:\n%s" % r.stdout
    assert '"lease_address":"%s"' % lease.group(1) in info, (lease.group(1), info)
    assert re.search(r"^VMTEST ping \S+ ok", r.stdout, re.M), r.stdout
    assert "running as uid: %d gid: %d" % (uid, gid) in r.stderr, r.stderr
    assert_clean(lab.host)


def test_sudo_refuses_fd_without_closefrom_override(lab, sudoers):
    """Without the example's closefrom_override line sudo refuses
    --close-from, so vmnet-client fails before anything starts: the line
    is needed."""
    path = "/etc/sudoers.d/vmnet-it-%s" % lab.id
    text = open(path).read()
    with open(path, "w") as f:
        f.write("\n".join(l for l in text.splitlines() if "closefrom_override" not in l) + "\n")
    marker = lab.user_dir(USER) / "ran"
    argv = as_user(USER, [sudoers / "vmnet-client", "--", "touch", marker])
    r = subprocess.run(lab.host.cmd(argv), capture_output=True, text=True,
                       env=user_env(sudoers), stdin=subprocess.DEVNULL, timeout=30)
    assert r.returncode != 0
    assert "close-from" in r.stderr or "-C option" in r.stderr, r.stderr
    assert not marker.exists()
    assert_clean(lab.host)


@pytest.fixture
def sudo_helper(lab):
    """A root-owned copy of the helper that USER may run under the example
    rule. use_pty, Debian's default in /etc/sudoers, is set here too, so the
    test does not depend on the machine's sudoers."""
    d = lab.root_dir("bin")
    helper = d / "vmnet-helper"
    shutil.copy2(HELPER, helper)
    os.chmod(helper, 0o755)
    f = SudoersFile(lab, helper, "Defaults!%s use_pty\n" % helper)
    try:
        yield helper
    finally:
        f.remove()


def descendant(pid, comm):
    """The first process named comm below pid (breadth first), or None."""
    todo = [pid]
    while todo:
        for name, child in proc_children(todo.pop(0)).items():
            if name == comm:
                return child
            todo.append(child)
    return None


def test_user_signal_to_sudo_spares_reaper(lab, sudo_helper):
    """From a terminal, sudo runs the helper in a process group of its own
    and relays to that whole group any signal the user sends to sudo. The
    user's SIGUSR1 to sudo ends their own datapath, never the root reaper:
    the network is torn down."""
    uid, gid = unpriv_user(USER)
    sock = lab.user_dir(USER) / "vmnet.sock"
    command = "sudo --non-interactive %s --socket %s" % (sudo_helper, sock)
    env = dict(user_env(lab.tmp), SHELL="/bin/sh")
    # script(1) gives sudo the terminal a user would have.
    term = lab.popen(lab.host.cmd(as_user(USER, ["script", "-qfec", command, "/dev/null"])),
                     env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                     stderr=subprocess.STDOUT)
    line = read_line(term.stdout.fileno(), START_TIMEOUT)
    while line and not line.startswith(b"{"):
        line = read_line(term.stdout.fileno(), START_TIMEOUT)
    assert line, "no JSON line"
    sudo, helper = descendant(term.pid, "sudo"), descendant(term.pid, "vmnet-helper")
    assert sudo and helper, "no sudo or helper process below script"
    reaper = helper_processes(helper).get("reaper")
    assert reaper, "no reaper below %d" % helper
    r = subprocess.run(as_user(USER, ["kill", "-USR1", str(sudo)]), capture_output=True,
                       text=True, timeout=10)
    assert r.returncode == 0, r.stderr
    term.wait(15)
    assert wait_until(lambda: not os.path.exists("/proc/%d" % reaper), 10), "reaper stuck"
    assert_clean(lab.host, timeout=5)
