# SPDX-License-Identifier: Apache-2.0
"""The README's two commands on a fresh machine: as root without sudo
installed, and as a user with sudo.

"Without sudo" is a private mount namespace in which /usr/bin/sudo is hidden
(/dev/null bound over it) and PATH is a directory of links to everything a
fresh root shell's PATH holds but sudo; "a user with
sudo" is an unprivileged test user given a sudoers rule for the command, made
and removed here. The demo runs whole (a QEMU guest, a few seconds); for
tests/run-all.sh, which would run this very suite again, the tests stop at the
root check and the full runs are done by hand (see the README).
"""

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

from conftest import REPO, as_user, unpriv_user

DEMO = REPO / "demo.sh"
RUN_ALL = REPO / "tests" / "run-all.sh"
USER = "vmnet-test-a"
DEMO_TIMEOUT = 180


# A Debian root shell's PATH.
FRESH_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


@pytest.fixture(scope="module")
def nosudo_path():
    """A PATH directory with every command of FRESH_PATH but sudo (links),
    where the test user can reach it."""
    d = Path(tempfile.mkdtemp(prefix="vmnet-nosudo-"))
    os.chmod(d, 0o755)
    for p in FRESH_PATH.split(":"):
        if not os.path.isdir(p):
            continue
        for name in os.listdir(p):
            if name.startswith("sudo") or (d / name).exists() or (d / name).is_symlink():
                continue
            (d / name).symlink_to(os.path.join(p, name))
    yield str(d)
    shutil.rmtree(d)


def without_sudo(path, argv):
    """argv in a mount namespace where sudo is not installed."""
    return ["unshare", "--mount", "--propagation", "slave", "env", "PATH=" + path,
            "sh", "-c", 'mount --bind /dev/null /usr/bin/sudo && exec "$@"', "sh"] + \
        [str(a) for a in argv]


def run(argv, timeout=60):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SUDO_")}
    env["PATH"] = FRESH_PATH
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL, cwd=str(REPO), env=env)
    except subprocess.TimeoutExpired as e:
        raise AssertionError("%s did not finish in %d s:\n%s" % (argv, timeout, e.stdout))


@pytest.fixture
def sudoers(tmp_path):
    """A sudoers rule letting USER run the given commands as root without a
    password; removed afterwards."""
    made = []
    if subprocess.run(["sh", "-c", "sudo -V"], capture_output=True).returncode != 0:
        pytest.skip("sudo is not installed here (scripts/install-deps.sh installs it)")

    def allow(*commands):
        unpriv_user(USER)
        path = Path("/etc/sudoers.d/vmnet-test-first-run-%d" % os.getpid())
        text = "%s ALL=(root) NOPASSWD: %s\n" % (USER, ", ".join(str(c) for c in commands))
        tmp = tmp_path / "sudoers"
        tmp.write_text(text)
        check = subprocess.run(["visudo", "-cqf", str(tmp)], capture_output=True, text=True)
        assert check.returncode == 0, check.stderr
        path.write_text(text)
        os.chmod(path, 0o440)
        made.append(path)
        return path

    yield allow
    for p in made:
        p.unlink(missing_ok=True)


def check_demo_passed(r):
    out = r.stdout + r.stderr
    assert r.returncode == 0, "demo failed (exit %d):\n%s" % (r.returncode, out[-6000:])
    assert "Demo passed." in r.stdout, out[-6000:]
    assert "[FAIL]" not in r.stdout, out[-6000:]
    assert "sudo" not in r.stderr or "re-running with sudo" in r.stderr, r.stderr


def test_sudo_hidden(nosudo_path):
    """The namespace really has no sudo: no shell finds it, running it fails."""
    for shell in ("sh", "bash"):
        r = run(without_sudo(nosudo_path, [shell, "-c", "command -v sudo || echo none"]))
        assert r.stdout.strip() == "none", r.stdout + r.stderr
    r = run(without_sudo(nosudo_path, ["/usr/bin/sudo", "true"]))
    assert r.returncode != 0


def test_demo_as_root_without_sudo(nosudo_path):
    r = run(without_sudo(nosudo_path, [DEMO, "--no-deps"]), timeout=DEMO_TIMEOUT)
    check_demo_passed(r)
    assert "sudo" not in r.stderr, r.stderr


def test_demo_as_user_with_sudo(sudoers):
    sudoers(DEMO)
    r = run(as_user(USER, [DEMO, "--no-deps"]), timeout=DEMO_TIMEOUT)
    check_demo_passed(r)
    assert "demo.sh: needs root (network namespaces, the helper's bridge): " \
        "re-running with sudo" in r.stderr, r.stderr


@pytest.mark.parametrize("script,name", [(DEMO, "demo.sh"), (RUN_ALL, "run-all.sh")],
                         ids=["demo", "run-all"])
def test_user_without_sudo_told_in_one_line(nosudo_path, script, name):
    """Not root and no sudo: one line saying so, exit 2, nothing run."""
    r = run(without_sudo(nosudo_path, as_user(USER, [script, "--no-deps"] if name == "demo.sh"
                                              else [script])))
    assert r.returncode == 2, "exit %d\n%s%s" % (r.returncode, r.stdout, r.stderr)
    assert r.stdout == "", r.stdout
    lines = r.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith(name + ": needs root") and \
        "sudo is not installed: run it as root" in lines[0], r.stderr


def test_ci_runs_the_readme_test_command():
    """.ci/run runs exactly the README's test command, with no sudo of its own."""
    readme = (REPO / "README.md").read_text()
    block = re.search(r"## The two commands.*?```console\n(.*?)```", readme, re.S).group(1)
    commands = [l.split("#")[0].strip() for l in block.splitlines() if l.strip()]
    assert commands == ["./demo.sh", "./tests/run-all.sh"], commands
    ci = (REPO / ".ci" / "run").read_text()
    execs = [l.strip() for l in ci.splitlines() if l.strip().startswith("exec ")]
    assert execs == ["exec ./tests/run-all.sh"], ci


def test_demo_verdict_never_races_its_own_pipes():
    """The demo runs under pipefail: `printf ... | grep -q` is false whenever
    grep exits at its match before printf wrote its last line (SIGPIPE), so a
    check the VM passed could be reported as failed. Its verdict greps files."""
    text = DEMO.read_text()
    assert "set -euo pipefail" in text
    racy = [l.strip() for l in text.splitlines()
            if re.search(r"\|\s*grep\s+-q", l) and not l.strip().startswith("#")]
    assert not racy, racy
