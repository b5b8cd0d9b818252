#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""
wakeups: how much of a ping's round trip is processes waking on idle CPUs.

Sets up each path as bench.py does (veth; slirp4netns; the helper with the VM
played as QEMU plays its dgram socket; the helper as QEMU's vhost-user backend
with vhostsim as the guest's driver) and pings the host from the guest at
several intervals: the longer the CPUs idle between pings, the more each
process on the path costs to wake. Then it pins every process of the path
(and ping) to one CPU and pings again: a wake-up on the CPU the waker runs
on needs no inter-processor interrupt and no idle exit. A path with more
processes in it (the helper's: the VM side and the helper) pays more of both.

Run as root (bench/run.sh builds the tools):
bench/wakeups.py [--paths veth,slirp,dgram,vhost] [--intervals 0.01,0.002,0.0005] [--count 200]
"""

import argparse
import json
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

PATHS = {
    "veth": lambda lab: bench.VethPath(lab),
    "slirp": lambda lab: bench.SlirpPath(lab),
    "dgram": lambda lab: bench.HelperPath(lab, "shared", False),
    "vhost": lambda lab: bench.VhostPath(lab, "shared"),
}


def ping_avg_us(lab, path, interval, count, pinned):
    argv = (["taskset", "-c", "0"] if pinned else []) + \
        ["ping", "-n", "-q", "-c", count, "-i", interval, "-W", "1", path.host_addr]
    out = lab.run(path.guests[0], argv, check=False, timeout=count * float(interval) + 30).stdout
    m = re.search(r"= [\d.]+/([\d.]+)/", out)
    return round(float(m.group(1)) * 1000) if m else None


def pin(path):
    """Every process of the path (the network's and the VM side's) on CPU 0."""
    for p in path.relays + path.procs:
        for pid in bench.tree(p.pid):
            subprocess.run(["taskset", "-a", "-p", "-c", "0", str(pid)],
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def measure(name, intervals, count):
    lab = bench.Lab()
    try:
        path = PATHS[name](lab)
        path.setup()
        bench.warm_up(lab, path)
        out = {"free": {}, "pinned": {}}
        for iv in intervals:
            out["free"][iv] = ping_avg_us(lab, path, iv, count, False)
        pin(path)
        for iv in intervals:
            out["pinned"][iv] = ping_avg_us(lab, path, iv, count, True)
        return out
    finally:
        lab.cleanup()


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--paths", default="veth,slirp,dgram,vhost")
    ap.add_argument("--intervals", default="0.01,0.002,0.0005",
                    help="seconds between pings (ping -i)")
    ap.add_argument("--count", type=int, default=200)
    ap.add_argument("--json", help="write the results here")
    args = ap.parse_args()
    intervals = args.intervals.split(",")
    res = {}
    print("ping average round trip, us, by interval between pings "
          "(free: as scheduled; pinned: the path's processes and ping on one CPU)")
    print("%-8s %-7s %s" % ("path", "", "  ".join("%8s" % ("%g ms" % (float(i) * 1000))
                                                  for i in intervals)))
    for name in args.paths.split(","):
        res[name] = measure(name, intervals, args.count)
        for how in ("free", "pinned"):
            print("%-8s %-7s %s" % (name, how, "  ".join(
                "%8s" % (res[name][how][i] if res[name][how][i] is not None else "-")
                for i in intervals)))
    if args.json:
        Path(args.json).write_text(json.dumps(res, indent=1) + "\n")


if __name__ == "__main__":
    main()
