# SPDX-License-Identifier: Apache-2.0
"""
The Debian package, on this machine, as an administrator would use it:

  built once per run with `make deb` (Debian's tools, lintian without errors
  or warnings), or taken from $VMNET_DEB_DIR when a run built it already;
  installed with dpkg: programs, man pages, units (`systemd-analyze
  verify`), the conffile, group vmnet, the /opt/vmnet-helper/bin links,
  --version naming the commit it was built from; the installed helper
  starts with the installed policy file, also within the broker unit's
  capability bounding set;
  upgraded (the same package with a higher version number, the
  administrator's edit of the conffile kept), removed, purged: the host is
  then exactly as before.

It changes the machine (dpkg's database, /usr, /etc, a group) and so refuses
to run where a vmnet-helper package or any of its files is already there:
that is someone's installation. Runs hold a lock, so two never overlap.

A later test (the broker's) runs a VM as a plain user through the installed
broker: it takes the `installed` fixture like the tests below.
"""

import fcntl
import grp
import os
import re
import shutil
import signal
import stat
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, VERSION_LINE, assert_clean, sh, sudo_env

PACKAGE = "vmnet-helper"
BINARIES = ("/usr/bin/vmnet-helper", "/usr/bin/vmnet-run", "/usr/bin/vmnet-client",
            "/usr/bin/vmnet-status")
OPT_BIN = Path("/opt/vmnet-helper/bin")
CONF = Path("/etc/vmnet-helper/vmnet-helper.conf")
STATE = Path("/var/lib/vmnet-helper")
RUN_DIR = Path("/run/vmnet-helper")
DOC = Path("/usr/share/doc/vmnet-helper")
UNIT_DIR = Path("/lib/systemd/system")
UNITS = ("vmnet-broker.socket", "vmnet-broker.service")
MAN_PAGES = ("man1/vmnet-run.1.gz", "man1/vmnet-client.1.gz", "man1/vmnet-status.1.gz",
             "man5/vmnet-helper.conf.5.gz", "man8/vmnet-helper.8.gz", "man8/vmnet-broker.8.gz")
# What the package or its maintainer scripts may leave on the host, and must
# not once purged (unless it was there before).
TRACKED = (list(BINARIES) + ["/usr/sbin/vmnet-broker", "/etc/vmnet-helper", "/opt/vmnet-helper",
           str(DOC), "/usr/lib/tmpfiles.d/vmnet-helper.conf",
           "/etc/systemd/system/sockets.target.wants/vmnet-broker.socket",
           "/etc/systemd/system/sockets.target.wants",
           "/var/lib/systemd/deb-systemd-helper-enabled/sockets.target.wants",
           "/var/lib/systemd/deb-systemd-helper-enabled/vmnet-broker.socket.dsh-also",
           "/var/lib/systemd/deb-systemd-helper-enabled/sockets.target.wants/vmnet-broker.socket",
           str(STATE / ".made-by-package"), str(STATE / ".group-made-by-package")]
           + [str(UNIT_DIR / u) for u in UNITS]
           + ["/usr/share/man/" + m for m in MAN_PAGES])
TOOLS = ("dpkg-buildpackage", "dh", "lintian", "systemd-analyze", "man", "groff")
LOCK = "/run/lock/vmnet-helper-test-package.lock"


def release():
    """The release number: debian/changelog's newest entry, as the Makefile reads
    it (a Debian revision, if it ever has one, left out)."""
    first = (REPO / "debian" / "changelog").read_text().split("\n", 1)[0]
    return re.sub(r"-[^-]*$", "", re.match(r"^\S+ \(([^)]+)\)", first).group(1))


def expected_commit():
    """The commit make deb embeds: the checkout's, or COMMIT in a tree without git."""
    top = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--show-toplevel"],
                         capture_output=True, text=True)
    if top.returncode == 0 and Path(top.stdout.strip()) == REPO:
        return sh(["git", "-C", str(REPO), "describe", "--always", "--abbrev=7", "--dirty",
                   "--exclude=*"]).stdout.strip()
    path = REPO / "COMMIT"
    return path.read_text().strip() if path.exists() else "unknown"


def dpkg_status():
    """"ii VERSION", "rc VERSION" (removed, its conffiles kept), or "" when
    dpkg has no trace of it (never installed, or purged)."""
    r = subprocess.run(["dpkg-query", "-W", "-f", "${db:Status-Abbrev} ${Version}", PACKAGE],
                       capture_output=True, text=True)
    status = " ".join(r.stdout.split()) if r.returncode == 0 else ""
    return "" if status[1:2] in ("", "n") else status


def snapshot():
    """What the package may change on the host, as comparable values."""
    paths = {p: os.path.lexists(p) for p in TRACKED}
    try:
        group = grp.getgrnam("vmnet")
        group = (group.gr_gid, tuple(group.gr_mem))
    except KeyError:
        group = None
    return {"paths": paths, "group": group, "state": STATE.exists(), "dpkg": dpkg_status()}


def dpkg(*args, check=True):
    r = subprocess.run(["dpkg"] + list(args), capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, DEBIAN_FRONTEND="noninteractive"))
    if check:
        assert r.returncode == 0, "dpkg %s failed:\n%s%s" % (" ".join(args), r.stdout, r.stderr)
    return r


@pytest.fixture(scope="module")
def lock():
    """One run of this file at a time on the machine (other sessions, CI)."""
    os.makedirs(os.path.dirname(LOCK), exist_ok=True)
    with open(LOCK, "w") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


@pytest.fixture(scope="module")
def package(lock):
    """(the .deb, the .changes): $VMNET_DEB_DIR's, or built once here with make deb."""
    missing = [t for t in TOOLS if shutil.which(t) is None]
    if missing:
        pytest.skip("package tools missing (%s): scripts/install-deps.sh installs them"
                    % ", ".join(missing))
    given = os.environ.get("VMNET_DEB_DIR")
    if given:
        out = Path(given)
    else:
        # test_lintian runs lintian: not twice.
        r = subprocess.run(["make", "-s", "-C", str(REPO), "deb", "LINTIAN=:"],
                           capture_output=True, text=True, timeout=900,
                           env=dict(os.environ, DEB_BUILD_OPTIONS="nocheck parallel=2"))
        assert r.returncode == 0, "make deb failed:\n%s\n%s" % (r.stdout[-3000:],
                                                               r.stderr[-3000:])
        out = REPO / "build-deb"
    debs = sorted(out.glob("%s_*.deb" % PACKAGE))
    changes = sorted(out.glob("%s_*.changes" % PACKAGE))
    assert len(debs) == 1 and len(changes) == 1, "expected one package in %s: %s" % (out, debs)
    return debs[0], changes[0]


@pytest.fixture(scope="module")
def installed(package):
    """The package installed on this machine; purged afterwards, whatever happened.
    Yields the snapshot of the host from before."""
    theirs = [p for p, there in snapshot()["paths"].items() if there]
    if dpkg_status() or theirs:
        pytest.skip("vmnet-helper is installed on this machine already (%s): this test "
                    "installs and purges the package and will not touch someone's "
                    "installation" % (dpkg_status() or ", ".join(theirs)))
    before = snapshot()
    dpkg("-i", str(package[0]))
    try:
        yield before
    finally:
        if dpkg_status():
            dpkg("--purge", PACKAGE, check=False)


def test_lintian(package):
    """lintian finds no error and no warning (overrides carry their reasons)."""
    r = subprocess.run(["lintian", str(package[1])], capture_output=True, text=True, timeout=600)
    tags = [line for line in r.stdout.splitlines() if line[:2] in ("E:", "W:")]
    assert not tags, "lintian:\n" + r.stdout


def test_files(installed):
    """Programs, man pages, units, the conffile, the examples; group vmnet and
    the /opt links made by postinst."""
    for path in BINARIES:
        assert os.access(path, os.X_OK), path
    assert os.readlink("/usr/bin/vmnet-client") == "vmnet-run"
    st = CONF.stat()
    assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (0, 0, 0o644)
    assert stat.S_IMODE(CONF.parent.stat().st_mode) == 0o755
    conffiles = sh(["dpkg-query", "-W", "-f", "${Conffiles}", PACKAGE]).stdout
    assert str(CONF) in conffiles, conffiles
    assert CONF.read_bytes() == (REPO / "etc" / "vmnet-helper.conf").read_bytes()
    assert not [line for line in CONF.read_text().splitlines()
                if line.strip() and not line.startswith("#")], "a setting is not commented out"
    for page in MAN_PAGES:
        path = Path("/usr/share/man") / page
        assert path.exists(), path
        r = sh(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", str(path)])
        assert not r.stderr.strip(), "%s: %s" % (page, r.stderr)
    for unit in UNITS:
        assert (UNIT_DIR / unit).read_text().count("ExecStart=/usr/sbin/vmnet-broker") == \
            (unit.endswith(".service"))
    assert "d /run/vmnet-helper 0755 root root" in \
        Path("/usr/lib/tmpfiles.d/vmnet-helper.conf").read_text()
    sudoers = DOC / "examples" / "sudoers.vmnet-helper"
    assert "NOPASSWD: /usr/bin/vmnet-helper" in sudoers.read_text()
    if shutil.which("visudo"):
        sh(["visudo", "-cf", str(sudoers)])
    assert (DOC / "copyright").exists() and (DOC / "changelog.gz").exists()
    group = grp.getgrnam("vmnet")
    assert group.gr_gid < 1000, "vmnet is not a system group: %d" % group.gr_gid
    for name in ("vmnet-helper", "vmnet-run", "vmnet-client"):
        assert os.readlink(OPT_BIN / name) == "/usr/bin/" + name
    assert RUN_DIR.is_dir()
    assert STATE.is_dir()
    # The socket unit is enabled (the link deb-systemd-helper makes, also
    # where systemd does not run); the service is not.
    wants = Path("/etc/systemd/system/sockets.target.wants/vmnet-broker.socket")
    assert os.readlink(wants) == str(UNIT_DIR / "vmnet-broker.socket")


def test_units_verify(installed):
    """systemd-analyze verify is clean on the installed units (until the broker
    is part of the package, its missing binary is the only complaint), and the
    service's exposure is what docs/security.md says."""
    units = [str(UNIT_DIR / u) for u in UNITS]
    r = subprocess.run(["systemd-analyze", "verify"] + units, capture_output=True, text=True)
    complaints = [line for line in (r.stdout + r.stderr).splitlines() if line.strip()]
    if not os.path.exists("/usr/sbin/vmnet-broker"):
        complaints = [c for c in complaints
                      if "/usr/sbin/vmnet-broker is not executable" not in c]
    else:
        assert r.returncode == 0
    assert not complaints, "systemd-analyze verify:\n" + "\n".join(complaints)
    r = subprocess.run(["systemd-analyze", "security", "--offline=yes", units[1]],
                       capture_output=True, text=True)
    m = re.search(r"Overall exposure level for vmnet-broker.service: (\d+\.\d+)", r.stdout)
    assert m, r.stdout + r.stderr
    documented = re.search(r"exposure level (\d+\.\d+)",
                           (REPO / "docs" / "security.md").read_text())
    assert documented and documented.group(1) == m.group(1), \
        "systemd-analyze security says %s, docs/security.md %s" % (
            m.group(1), documented and documented.group(1))


def test_version(installed):
    """--version: the release of debian/changelog and the commit the package
    was built from (the package's tree has no .git: it carries COMMIT)."""
    commit = expected_commit()
    for path in list(BINARIES) + [str(OPT_BIN / "vmnet-run"), str(OPT_BIN / "vmnet-helper")]:
        name = os.path.basename(path)
        out = sh([path, "--version"]).stdout
        m = re.match(VERSION_LINE % re.escape(name), out)
        assert m, "%s --version: %r" % (path, out)
        assert m.group(1) == release(), out
        assert m.group(2) == commit, "%s, expected commit %s" % (out, commit)
    for page in MAN_PAGES:
        if "vmnet-client" in page:
            continue    # ".so man1/vmnet-run.1"
        text = sh(["zcat", "/usr/share/man/" + page]).stdout
        assert '"vmnet-helper %s"' % release() in text, "%s is not of release %s" % (
            page, release())
    newest = re.search(r"^## (\S+)", (REPO / "CHANGELOG.md").read_text(), re.M).group(1)
    assert newest == release(), "CHANGELOG.md's newest release is %s" % newest


def test_installed_policy_file_loads(installed, lab):
    """The installed helper, started for a user, reads the installed policy
    file (the defaults) and serves; vmnet-run from /opt/vmnet-helper/bin finds
    the installed helper."""
    h, _ = lab.helper([], env=sudo_env("vmnet-test-a"), binary="/usr/bin/vmnet-helper")
    assert h.info["operation_mode"] == "shared"
    h.stop()
    assert "ERROR" not in h.stderr(), h.stderr()
    r = subprocess.run(lab.host.cmd([OPT_BIN / "vmnet-run", "--unprivileged", "--",
                                     "sh", "-c", "exit 3"]),
                       capture_output=True, text=True, timeout=60)
    assert r.returncode == 3, r.stderr
    assert '"vmnet_mac_address"' in r.stdout
    assert_clean(lab.host)


def unit_capabilities():
    text = (UNIT_DIR / "vmnet-broker.service").read_text()
    caps = re.search(r"^CapabilityBoundingSet=(.*)$", text, re.M).group(1).split()
    assert re.search(r"^NoNewPrivileges=yes$", text, re.M)
    return [c.lower().replace("cap_", "") for c in caps]


class UnitLimits:
    """Runs a command (lab.helper's policy= hook) with what the broker's unit
    gives its processes and setpriv can give: only the unit's capability
    bounding set, and no_new_privs."""

    def __init__(self):
        text = (UNIT_DIR / "vmnet-broker.service").read_text()
        caps = re.search(r"^CapabilityBoundingSet=(.*)$", text, re.M).group(1).split()
        assert re.search(r"^NoNewPrivileges=yes$", text, re.M)
        self.caps = ",".join(["-all"] + ["+" + c.lower()[4:] for c in caps])

    def wrap(self, argv):
        return ["setpriv", "--bounding-set", self.caps, "--no-new-privs", "--"] + \
            [str(a) for a in argv]


@pytest.mark.parametrize("mode", ["shared", "host", "bridged"])
def test_helper_within_the_units_bounding_set(installed, lab, mode):
    """The helpers the broker starts run inside its service: the unit's
    capability bounding set, no_new_privs. The installed helper sets up,
    drops to a user, serves and tears down within them (bridged: a macvtap
    on a veth, whose private device node needs CAP_MKNOD). Fails with any
    of the six capabilities left out (CAP_SETPCAP, CAP_SETUID, CAP_SETGID:
    the drop; CAP_NET_ADMIN: setup; CAP_MKNOD: bridged's device node;
    CAP_SYS_ADMIN: the datapath's empty root, a WARN, though here `ip netns
    exec` needs it first)."""
    args = ["--operation-mode", mode]
    env = sudo_env("vmnet-test-a")
    if mode == "bridged":
        # A veth is bridged for users only when the policy lists it: root
        # starts this one (its datapath runs as nobody).
        lab.remote()
        args += ["--shared-interface", "uplink0"]
        env = None
    h, _ = lab.helper(args, env=env, binary="/usr/bin/vmnet-helper", policy=UnitLimits())
    assert h.info["operation_mode"] == mode
    assert h.stop() == 0, h.stderr()
    assert "ERROR" not in h.stderr() and "WARN" not in h.stderr(), h.stderr()
    assert_clean(lab.host)


def expand_filter(names, cache={}):
    """The system calls of SystemCallFilter= words, groups expanded as systemd does."""
    calls = set()
    for name in names:
        if name not in cache:
            if not name.startswith("@"):
                cache[name] = {name}
            else:
                out = sh(["systemd-analyze", "syscall-filter", name]).stdout
                words = [line.split()[0] for line in out.splitlines()[1:]
                         if line.strip() and not line.strip().startswith("#")]
                cache[name] = expand_filter(words)
        calls |= cache[name]
    return calls


def unit_filter():
    """What the unit's SystemCallFilter= lines allow: the first (an allow list)
    and those like it add, those with ~ take away."""
    allowed, denied = set(), set()
    text = (UNIT_DIR / "vmnet-broker.service").read_text()
    for value in re.findall(r"^SystemCallFilter=(.*)$", text, re.M):
        if value.startswith("~"):
            denied |= expand_filter(value[1:].split())
        else:
            allowed |= expand_filter(value.split())
    assert allowed, "the unit has no allow list"
    return allowed - denied


class Traced:
    """lab.helper's policy= hook: the command under strace -f, into path."""

    def __init__(self, path):
        self.path = path

    def wrap(self, argv):
        return ["strace", "-f", "-qq", "-o", str(self.path)] + [str(a) for a in argv]


@pytest.mark.parametrize("args", [[], ["--operation-mode", "host", "--enable-isolation"],
                                  ["--enable-tso", "--enable-checksum-offload", "--mtu", "9000"],
                                  ["--operation-mode", "bridged"]],
                         ids=["shared", "host-isolated", "offload", "bridged"])
def test_helper_calls_within_the_units_filter(installed, lab, args):
    """Every system call the installed helper, its reaper, its datapath and
    their children make from start to teardown is one the unit's
    SystemCallFilter= allows (a call outside it would fail with EPERM in the
    service). Fails when the filter lacks @mount or seccomp."""
    if shutil.which("strace") is None:
        pytest.skip("strace is not installed (scripts/install-deps.sh installs it)")
    env = sudo_env("vmnet-test-a")
    if "bridged" in args:
        lab.remote()
        args = args + ["--shared-interface", "uplink0"]
        env = None
    trace = lab.tmp / "strace.out"
    h, vm = lab.helper(args, env=env, binary="/usr/bin/vmnet-helper", policy=Traced(trace))
    vm.send(b"\xff" * 6 + bytes.fromhex(h.info["vmnet_mac_address"].replace(":", "")) +
            b"\x08\x06" + bytes(28))
    # The helper is strace's child; strace exits once the reaper is done too.
    with open("/proc/%d/task/%d/children" % (h.pid, h.pid)) as f:
        os.kill(int(f.read().split()[0]), signal.SIGTERM)
    assert h.wait() == 0, h.stderr()
    calls = set(re.findall(r"^\d+ +([a-z_0-9]+)\(", trace.read_text(), re.M))
    assert {"unshare", "pivot_root", "seccomp", "setresuid"} <= calls, sorted(calls)
    outside = calls - unit_filter()
    assert not outside, "calls the unit's filter refuses: %s" % sorted(outside)
    assert_clean(lab.host)


def test_upgrade_remove_purge(installed, package, tmp_path):
    """A newer version over this one keeps the administrator's edit of the
    conffile, the group and the links; remove keeps the conffile and the
    leases' directory; purge leaves the host as it was before the install."""
    before = installed
    edited = CONF.read_text() + "max-helpers-per-user = 7\n"
    CONF.write_text(edited)
    # The same package, numbered higher: an upgrade as dpkg runs it
    # (prerm upgrade, postrm upgrade, postinst configure OLD).
    tree = tmp_path / "newer"
    sh(["dpkg-deb", "-R", str(package[0]), str(tree)])
    control = tree / "DEBIAN" / "control"
    old = re.search(r"^Version: (.*)$", control.read_text(), re.M).group(1)
    new = old + "+test1"
    control.write_text(re.sub(r"^Version: .*$", "Version: " + new, control.read_text(),
                              flags=re.M))
    newer = tmp_path / "newer.deb"
    sh(["dpkg-deb", "--root-owner-group", "-b", str(tree), str(newer)], timeout=120)
    gid = grp.getgrnam("vmnet").gr_gid
    dpkg("-i", str(newer))
    assert dpkg_status() == "ii %s" % new
    assert CONF.read_text() == edited, "the upgrade replaced the administrator's edit"
    assert grp.getgrnam("vmnet").gr_gid == gid
    assert os.readlink(OPT_BIN / "vmnet-run") == "/usr/bin/vmnet-run"

    dpkg("--remove", PACKAGE)
    assert dpkg_status().startswith("rc")
    for path in BINARIES:
        assert not os.path.lexists(path), path
    assert not os.path.lexists("/opt/vmnet-helper"), "the /opt links outlived the package"
    assert CONF.read_text() == edited, "remove took the conffile"
    assert STATE.exists() and grp.getgrnam("vmnet")

    run_before = RUN_DIR.exists()
    dpkg("--purge", PACKAGE)
    after = snapshot()
    # /run/vmnet-helper (tmpfiles.d) goes if no helper left state in it.
    assert run_before or not RUN_DIR.exists() or any(RUN_DIR.iterdir())
    assert after == before, "\n".join(
        "%s: before %s, after %s" % (k, before[k], after[k]) for k in before
        if before[k] != after[k]) or str(after)


def test_purge_keeps_the_group_that_was_there(package, lock):
    """A group vmnet made before the package (the sudo setup of docs/security.md
    makes one) is not the package's: purge leaves it, with its members."""
    theirs = [p for p, there in snapshot()["paths"].items() if there]
    if dpkg_status() or theirs:
        pytest.skip("the package or its files are there (%s)" % (dpkg_status() or theirs))
    try:
        grp.getgrnam("vmnet")
        pytest.skip("group vmnet exists on this machine: someone's")
    except KeyError:
        pass
    sh(["addgroup", "--quiet", "--system", "vmnet"])
    try:
        gid = grp.getgrnam("vmnet").gr_gid
        dpkg("-i", str(package[0]))
        assert not (STATE / ".group-made-by-package").exists()
        dpkg("--purge", PACKAGE)
        assert grp.getgrnam("vmnet").gr_gid == gid, "purge removed a group it did not make"
    finally:
        if dpkg_status():
            dpkg("--purge", PACKAGE, check=False)
        subprocess.run(["delgroup", "--quiet", "--system", "vmnet"], capture_output=True)
