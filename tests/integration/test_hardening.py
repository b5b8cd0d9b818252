# SPDX-License-Identifier: Apache-2.0
"""
The installed binaries are built hardened (Makefile: HARDEN, FORTIFY): what
Debian's hardening-check looks at, read with readelf and objdump (binutils):

  PIE                 ELF type DYN with an interpreter, DF_1_PIE
  RELRO, BIND_NOW     a GNU_RELRO segment and immediate binding: full RELRO
  stack protector     __stack_chk_fail imported
  fortify             glibc's checked __*_chk functions imported
  stack clash         no stack allocation larger than a page without probing
  control flow (x86)  functions start with endbr64 (-fcf-protection)
"""

import platform
import re
import subprocess

import pytest

from conftest import REPO

PREFIX = "/opt/vmnet-helper"
PROGRAMS = ("vmnet-helper", "vmnet-client", "vmnet-status", "vmnet-broker")
PAGE = 4096


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    dest = tmp_path_factory.mktemp("destdir")
    subprocess.run(["make", "-s", "-C", str(REPO), "install", "DESTDIR=%s" % dest,
                    "PREFIX=%s" % PREFIX], check=True, timeout=600)
    # The broker is root's daemon: sbin, as in the package.
    return {p: dest / PREFIX.lstrip("/") / ("sbin" if p == "vmnet-broker" else "bin") / p
            for p in PROGRAMS}


def tool(*argv):
    return subprocess.run(argv, check=True, capture_output=True, text=True).stdout


def dynamic_symbols(path):
    """Names of the symbols the binary imports (undefined dynamic symbols)."""
    names = set()
    for line in tool("readelf", "--dyn-syms", "-W", str(path)).splitlines():
        f = line.split()
        if len(f) >= 8 and f[6] == "UND":
            names.add(f[7].split("@")[0])
    return names


def stack_allocations(path):
    """(function, bytes, probed) for each constant `sub $N,%rsp` in the code."""
    out, func, lines = [], "?", tool("objdump", "-d", "--no-show-raw-insn", str(path)).splitlines()
    for i, line in enumerate(lines):
        m = re.match(r"^[0-9a-f]+ <(.+)>:$", line)
        if m:
            func = m.group(1)
            continue
        m = re.search(r"\bsub\s+\$0x([0-9a-f]+),%rsp$", line)
        if m:
            n = int(m.group(1), 16)
            if n >= 1 << 63:
                continue   # a negative constant: the frame shrinks
            nxt = lines[i + 1] if i + 1 < len(lines) else ""
            out.append((func, n, re.search(r"\bor[q]?\s+\$0x0,(0x[0-9a-f]+)?\(%rsp\)", nxt)))
    return out


@pytest.mark.parametrize("program", PROGRAMS)
def test_pie(installed, program):
    path = installed[program]
    assert "DYN (Position-Independent Executable" in tool("readelf", "-h", str(path))
    assert "PIE" in tool("readelf", "-d", str(path))
    assert "INTERP" in tool("readelf", "-l", "-W", str(path))


@pytest.mark.parametrize("program", PROGRAMS)
def test_full_relro(installed, program):
    path = installed[program]
    assert "GNU_RELRO" in tool("readelf", "-l", "-W", str(path))
    dyn = tool("readelf", "-d", str(path))
    assert re.search(r"\(FLAGS\)\s+.*BIND_NOW", dyn) or re.search(r"\(FLAGS_1\).*\bNOW\b", dyn), dyn


@pytest.mark.parametrize("program", PROGRAMS)
def test_stack_protector_and_fortify(installed, program):
    syms = dynamic_symbols(installed[program])
    assert "__stack_chk_fail" in syms
    checked = sorted(s for s in syms if re.fullmatch(r"__\w+_chk", s) and s != "__stack_chk_fail")
    # As hardening-check: calls the compiler could not prove safe go through
    # glibc's checked variants (calls it could prove stay plain).
    assert checked, "no fortified (__*_chk) function imported: built without _FORTIFY_SOURCE"


@pytest.mark.skipif(platform.machine() != "x86_64", reason="x86-64 code checks")
@pytest.mark.parametrize("program", PROGRAMS)
def test_stack_clash_protection(installed, program):
    allocs = stack_allocations(installed[program])
    big = [(f, n) for f, n, probed in allocs if n > PAGE or (n == PAGE and not probed)]
    assert not big, "stack allocations past the guard page without probes: %s" % big
    # The helper and the client have frames larger than a page: the probes
    # must be there (vmnet-status has no frame that large).
    if program != "vmnet-status":
        assert any(n == PAGE and probed for _, n, probed in allocs)


@pytest.mark.skipif(platform.machine() != "x86_64", reason="x86-64 code checks")
@pytest.mark.parametrize("program", PROGRAMS)
def test_control_flow_protection(installed, program):
    code = tool("objdump", "-d", "--no-show-raw-insn", "--disassemble=main",
                str(installed[program]))
    first = re.search(r"<main>:\n\s*[0-9a-f]+:\s*(\S+)", code)
    assert first and first.group(1) == "endbr64", code[:400]
