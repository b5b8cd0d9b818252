#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""
startscale: whether a start gets slower with the VMs already running.

Starts --helpers helpers one after the other on one shared network (each with
--fd on a socketpair, in one namespace, as bench.py's startup does), times each
from launch to its JSON line, then stops them all at once and times that.
Every start adds to the network's nftables rules, and every libnftables call
reads the whole ruleset first, so what grows with each running helper shows
here.

Run as root (bench/run.sh builds the helper; VMNET_BUILD picks another build):
bench/startscale.py [--helpers 30]
"""

import argparse
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--helpers", type=int, default=30)
    args = ap.parse_args()
    lab = bench.Lab()
    path = bench.HelperPath(lab, "shared", False)
    ns = path.host_ns = lab.netns("sc")
    running, times = [], []
    try:
        for _ in range(args.helpers):
            t0 = time.monotonic()
            p, _, vm = path.start_helper(ns)
            times.append((time.monotonic() - t0) * 1000)
            running.append((p, vm))
        t0 = time.monotonic()
        for p, _ in running:
            p.terminate()
        for p, vm in running:
            p.wait(60)
            vm.close()
        stop = time.monotonic() - t0
        print("start to JSON line, ms (including ip netns exec): first %.1f, 2nd-5th median %.1f, "
              "last 5 median %.1f (the %dth: %.1f)" % (
                  times[0], statistics.median(times[1:5]), statistics.median(times[-5:]),
                  len(times), times[-1]))
        print("stopping all %d at once: %.2f s" % (len(running), stop))
    finally:
        path.teardown()
        lab.cleanup()


if __name__ == "__main__":
    main()
