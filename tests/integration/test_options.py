# SPDX-License-Identifier: Apache-2.0
"""Invalid invocations: one line on stderr, non-zero exit, nothing left behind."""

import os
import re
import socket

import pytest

from conftest import VERSION_LINE, leftovers

NET = ["--start-address", "192.168.105.1", "--end-address", "192.168.105.254",
       "--subnet-mask", "255.255.255.0"]


def net(start, end, mask):
    return ["--start-address", start, "--end-address", end, "--subnet-mask", mask]


# Each case gets a valid --fd unless it says otherwise ({fd} is substituted).
BAD = {
    "no-fd-no-socket": [],
    "fd-and-socket": ["--fd", "{fd}", "--socket", "{tmp}/unused.sock"],
    "fd-not-a-number": ["--fd", "abc"],
    "fd-negative": ["--fd", "-1"],
    "fd-empty": ["--fd", ""],
    "fd-missing-value": ["--fd"],
    "unknown-option": ["--fd", "{fd}", "--bogus"],
    "positional-argument": ["--fd", "{fd}", "extra"],
    "interface-id-invalid": ["--fd", "{fd}", "--interface-id", "not-a-uuid"],
    "interface-id-short": ["--fd", "{fd}", "--interface-id", "2835E074-9892-4A79-AFFB"],
    "mode-invalid": ["--fd", "{fd}", "--operation-mode", "nat"],
    "mode-empty": ["--fd", "{fd}", "--operation-mode="],
    "start-only": ["--fd", "{fd}", "--start-address", "192.168.105.1"],
    "start-end-no-mask": ["--fd", "{fd}", "--start-address", "192.168.105.1",
                          "--end-address", "192.168.105.254"],
    "mask-only": ["--fd", "{fd}", "--subnet-mask", "255.255.255.0"],
    "address-malformed": ["--fd", "{fd}"] + net("192.168.105.300", "192.168.105.254",
                                                "255.255.255.0"),
    "address-not-ipv4": ["--fd", "{fd}"] + net("fd00::1", "fd00::ff", "255.255.255.0"),
    "not-private": ["--fd", "{fd}"] + net("8.8.8.1", "8.8.8.254", "255.255.255.0"),
    "not-private-end": ["--fd", "{fd}"] + net("192.168.255.1", "192.169.0.254",
                                              "255.255.0.0"),
    "start-after-end": ["--fd", "{fd}"] + net("192.168.105.100", "192.168.105.50",
                                              "255.255.255.0"),
    "start-equals-end": ["--fd", "{fd}"] + net("192.168.105.1", "192.168.105.1",
                                               "255.255.255.0"),
    "end-outside-subnet": ["--fd", "{fd}"] + net("192.168.105.1", "192.168.106.254",
                                                 "255.255.255.0"),
    "start-network-address": ["--fd", "{fd}"] + net("192.168.105.0", "192.168.105.254",
                                                    "255.255.255.0"),
    "end-broadcast-address": ["--fd", "{fd}"] + net("192.168.105.1", "192.168.105.255",
                                                    "255.255.255.0"),
    "mask-not-contiguous": ["--fd", "{fd}"] + net("192.168.105.1", "192.168.105.254",
                                                  "255.0.255.0"),
    "mask-malformed": ["--fd", "{fd}"] + net("192.168.105.1", "192.168.105.254", "foo"),
    "mask-32": ["--fd", "{fd}"] + net("192.168.105.1", "192.168.105.1",
                                      "255.255.255.255"),
    "enable-tso-without-checksum-offload": ["--fd", "{fd}", "--enable-tso"],
    "stats-interval-invalid": ["--fd", "{fd}", "--stats-interval", "abc"],
    "stats-interval-negative": ["--fd", "{fd}", "--stats-interval", "-1"],
    "socket-type-invalid": ["--socket", "{tmp}/x.sock", "--socket-type", "raw"],
    "socket-type-mismatch": ["--fd", "{fd}", "--socket-type", "stream"],
    "mtu-too-small": ["--fd", "{fd}", "--mtu", "1279"],
    "mtu-too-large": ["--fd", "{fd}", "--mtu", "65521"],
    "mtu-not-a-number": ["--fd", "{fd}", "--mtu", "jumbo"],
    "socket-dir-missing": ["--socket", "/nonexistent-vmit-dir/vmnet.sock"],
    "socket-path-too-long": ["--socket", "{tmp}/" + "x" * 120 + ".sock"],
    "fd-not-open": ["--fd", "97"],
    "fd-not-a-socket": ["--fd", "{devnull}"],
    # A stream socket is served (test_stream.py); a seqpacket one is not.
    "fd-seqpacket-socket": ["--fd", "{seqpacket}"],
    "fd-stream-not-dgram": ["--fd", "{stream}", "--socket-type", "dgram"],
}

# Bridged mode and isolation: the real refusals (test_bridged.py has the rest).
REFUSED = {
    "bridged-loopback": (["--fd", "{fd}", "--operation-mode", "bridged", "--shared-interface", "lo"],
                         '--shared-interface "lo" is not an Ethernet interface or bridge'),
    "bridged-missing": (["--fd", "{fd}", "--operation-mode", "bridged",
                         "--shared-interface", "nosuch0"],
                        '--shared-interface "nosuch0": no such interface'),
    "bridged-without-interface": (["--fd", "{fd}", "--operation-mode", "bridged"],
                                  "--operation-mode=bridged requires --shared-interface"),
    "bridged-mtu": (["--fd", "{fd}", "--operation-mode", "bridged", "--shared-interface", "lo",
                     "--mtu", "9000"], "--mtu cannot be used with --operation-mode=bridged"),
    "bridged-isolation": (["--fd", "{fd}", "--operation-mode", "bridged", "--shared-interface",
                           "lo", "--enable-isolation"],
                          "--enable-isolation cannot be used with --operation-mode=bridged"),
}



def run_bad(lab, template):
    a, b = lab.socketpair()
    s1, s2 = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
    q1, q2 = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    lab.socks += [s1, s2, q1, q2]
    devnull = os.open("/dev/null", os.O_RDONLY)
    try:
        subst = {"tmp": str(lab.tmp), "fd": str(b.fileno()), "devnull": str(devnull),
                 "stream": str(s1.fileno()), "seqpacket": str(q1.fileno())}
        args = [x.format(**subst) for x in template]
        r = lab.run_helper(args, pass_fds=(b.fileno(), devnull, s1.fileno(), q1.fileno()))
    finally:
        os.close(devnull)
        s1.close()
        s2.close()
    return args, r


def check_refused(lab, args, r):
    lines = [l for l in r.stderr.splitlines() if l.strip()]
    assert r.returncode != 0, "helper accepted %s:\n%s" % (args, r.stderr)
    assert len(lines) == 1, "expected one line on stderr for %s, got:\n%s" % (args, r.stderr)
    assert r.stdout == "", "stdout not empty for %s: %r" % (args, r.stdout)
    left = leftovers(lab.host, allow_leases=False)
    assert not left, "invocation %s left behind: %s" % (args, left)
    files = [f.name for f in lab.tmp.iterdir()]
    assert not files, "invocation %s left files: %s" % (args, files)
    return lines[0]


@pytest.mark.parametrize("case", sorted(BAD))
def test_invalid_invocation(lab, case):
    args, r = run_bad(lab, BAD[case])
    check_refused(lab, args, r)


@pytest.mark.parametrize("case", sorted(REFUSED))
def test_refused_with_reason(lab, case):
    template, reason = REFUSED[case]
    args, r = run_bad(lab, template)
    line = check_refused(lab, args, r)
    assert reason in line, line


def test_list_shared_interfaces(lab):
    """Only the loopback in a fresh namespace: nothing to list, exit 0, no
    changes; it wins over mistakes elsewhere on the line."""
    for args in (["--list-shared-interfaces"],
                 ["--list-shared-interfaces", "--operation-mode", "nonsense"]):
        r = lab.run_helper(args)
        assert r.returncode == 0, r.stderr
        assert r.stdout == "", r.stdout
    assert not leftovers(lab.host, allow_leases=False)


def test_help_and_version(lab):
    r = lab.run_helper(["--help"])
    assert r.returncode == 0, r.stderr
    assert "--fd" in r.stdout and "--socket" in r.stdout
    assert "--network NAME" in r.stdout and "--mtu MTU" in r.stdout
    r = lab.run_helper(["--version"])
    assert r.returncode == 0, r.stderr
    assert re.match(VERSION_LINE % "vmnet-helper", r.stdout), r.stdout
    assert not leftovers(lab.host, allow_leases=False)
