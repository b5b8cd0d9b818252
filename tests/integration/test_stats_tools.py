# SPDX-License-Identifier: Apache-2.0
"""
Upstream's log contract for --stats-interval, on the log of a real run (a
guest behind the helper, TCP both ways with iperf3):

- every line with "[stats] " followed by one JSON object is a sample
  (upstream's tools find them with the regex \\[stats\\] (\\{.*\\}));
- "time" is ISO 8601 that Python's datetime.fromisoformat reads (upstream
  writes its local time with the offset, e.g. 2026-07-25T01:27:25.664+03:00;
  we write UTC the same way, +00:00);
- "host" (frames to the VM) and "vm" (frames from the VM) each carry the
  integer counters packets, bytes, drops, fast, slow, cumulative since the
  start, so that the difference of two samples is what happened between.

test_log_contract checks our log against that with our own code.
test_upstream_tools runs upstream's own stats and plot-stats (Python, from a
checkout given as VMNET_UPSTREAM_TOOLS=/path: they are not part of this
repository) on the same log, and is skipped without one.
"""

import datetime
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from conftest import Lab, sh, wait_until

# Upstream's own pattern (testing/stats.py) and its counters.
UPSTREAM_RE = re.compile(r"\[stats\] (\{.*\})")
COUNTERS = ("packets", "bytes", "drops", "fast", "slow")
# An offset, never "Z": fromisoformat reads "Z" only from Python 3.11 on.
TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")
IPERF_SECONDS = 3


def iperf(lab, server_ns, client, addr, reverse):
    srv = lab.popen(server_ns.cmd(["iperf3", "-s", "-1", "-B", addr]),
                    stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert wait_until(lambda: "5201" in server_ns.run(["ss", "-Hltn"]).stdout, 10)
    r = client.run(["iperf3", "-c", addr, "-t", IPERF_SECONDS] + (["-R"] if reverse else []),
                   check=False, timeout=IPERF_SECONDS + 30)
    assert r.returncode == 0, r.stdout + r.stderr
    srv.wait(10)


@pytest.fixture(scope="module")
def real_log(tmp_path_factory):
    """The helper's whole log (stderr) after traffic both ways."""
    if not shutil.which("iperf3"):
        pytest.skip("iperf3 is not installed (scripts/install-deps.sh)")
    lab = Lab(tmp_path_factory.mktemp("stats"))
    try:
        h, vm = lab.helper(["--stats-interval", "1"])
        g = lab.guest(vm, mac=h.info["vmnet_mac_address"])
        g.configure(h.info["lease_address"], h.prefixlen, h.gateway)
        assert g.ping(h.gateway, count=2)
        iperf(lab, lab.host, g, h.gateway, reverse=False)   # VM -> host
        iperf(lab, lab.host, g, h.gateway, reverse=True)    # host -> VM
        time.sleep(1.5)
        assert h.stop() == 0
        log = lab.tmp / "vmnet-helper.log"
        log.write_text(h.stderr())
        yield log
    finally:
        lab.cleanup()


def samples(log):
    return [json.loads(m.group(1)) for m in map(UPSTREAM_RE.search, log.read_text().splitlines())
            if m]


def test_log_contract(real_log):
    s = samples(real_log)
    assert len(s) >= 2 * IPERF_SECONDS, "too few samples: %d" % len(s)
    times = []
    for x in s:
        assert TIME_RE.match(x["time"]), x["time"]
        times.append(datetime.datetime.fromisoformat(x["time"]))
        for side in ("host", "vm"):
            for k in COUNTERS:
                v = x[side][k]
                assert isinstance(v, int) and not isinstance(v, bool) and v >= 0, (side, k, x)
    assert times == sorted(times)
    # Cumulative: what upstream's tools subtract.
    for a, b in zip(s, s[1:]):
        for side in ("host", "vm"):
            for k in COUNTERS:
                assert b[side][k] >= a[side][k], (side, k, a, b)
    last = s[-1]
    for side in ("host", "vm"):
        c = last[side]
        # Traffic both ways went through batched calls on the VM's socket;
        # a batch carries at most 64 frames (vmnet_read/write_max_packets).
        assert c["packets"] > 1000 and c["bytes"] > c["packets"] * 60, (side, c)
        assert 0 < c["fast"] and c["packets"] <= 64 * (c["fast"] + c["slow"]), (side, c)
    # The helper's own replies to the VM (DHCP, router advertisements) are
    # single-frame calls: the guest got router advertisements.
    assert last["host"]["slow"] >= 1, last
    # An interval with traffic has a rate, as upstream's stats computes it.
    rates = []
    for a, b in zip(s, s[1:]):
        dt = (datetime.datetime.fromisoformat(b["time"]) -
              datetime.datetime.fromisoformat(a["time"])).total_seconds()
        assert 0 < dt < 3, dt   # the last sample comes at exit, off the beat
        rates.append((b["host"]["bytes"] - a["host"]["bytes"]) * 8 / dt)
    assert max(rates) > 1e8, "no interval above 100 Mbit/s host->VM: %s" % rates


UPSTREAM = os.environ.get("VMNET_UPSTREAM_TOOLS")


@pytest.mark.skipif(not UPSTREAM, reason="VMNET_UPSTREAM_TOOLS (a checkout of upstream "
                    "vmnet-helper with its stats and plot-stats) is not set")
def test_upstream_tools(real_log, tmp_path):
    tools = Path(UPSTREAM)
    for t in ("stats", "plot-stats", "testing/stats.py"):
        assert (tools / t).is_file(), "no %s in %s" % (t, tools)
    n = len(samples(real_log))

    r = sh(["/usr/bin/python3", tools / "stats", real_log], check=False)
    print("\n$ stats vmnet-helper.log\n" + r.stdout + r.stderr)
    assert r.returncode == 0, r.stderr
    entries = re.findall(r"^- time: ", r.stdout, re.M)
    assert len(entries) == n - 1
    for k in ("transfer:", "bitrate:", "packets:", "drops:", "fast:", "slow:"):
        assert r.stdout.count(k) == 2 * (n - 1), k

    r = sh(["/usr/bin/python3", tools / "stats", "-o", "json", real_log], check=False)
    print("$ stats -o json vmnet-helper.log\n" + r.stdout + r.stderr)
    assert r.returncode == 0, r.stderr
    deltas = [json.loads(l) for l in r.stdout.splitlines()]
    assert len(deltas) == n - 1
    assert sum(d["host"]["bytes"] for d in deltas) > 0
    assert sum(d["vm"]["fast"] for d in deltas) > 0

    prefix = tmp_path / "ours"
    r = subprocess.run(["/usr/bin/python3", tools / "plot-stats", "--threshold", "0.1",
                        "--title", "vmnet-helper for Linux", "-o", str(prefix),
                        str(real_log), str(real_log)],
                       capture_output=True, text=True, timeout=120)
    print("$ plot-stats --threshold 0.1 vmnet-helper.log vmnet-helper.log\n" + r.stdout +
          r.stderr)
    assert r.returncode == 0, r.stderr
    for suffix in ("-throughput.png", "-efficiency.png"):
        png = Path(str(prefix) + suffix)
        assert png.stat().st_size > 10000 and png.read_bytes()[:4] == b"\x89PNG", png
    keep = os.environ.get("VMNET_UPSTREAM_OUT")
    if keep:
        for f in [real_log] + sorted(tmp_path.glob("ours-*.png")):
            shutil.copy(f, keep)
