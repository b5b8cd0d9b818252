#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""
hops: where the time of a request/response round trip goes, hop by hop.

Sets up a path as bench.py does (veth, the helper with the VM played as QEMU
plays it on its dgram socket, the helper as QEMU's vhost-user backend with
vhostsim as the guest's driver, slirp4netns), runs bench/rrbench's UDP request/response between the
guest and the host (one 1-byte transaction at a time, --interval apart), and
records it with perf: the syscalls of the processes on the path (filtered in
the kernel, nothing else is traced) and the scheduler's switches to them. Each
transaction is cut at fixed points (a process returning from the send or
entering the write that passes the frame on), and the median time between them
is printed per hop, with the round trip measured by rrbench itself without
perf. perf adds a few microseconds per traced syscall; compare hops within one
run, not with untraced figures.

Run as root (bench/run.sh builds the tools): bench/hops.py [--interval US]
[--seconds S] [--paths veth,helper,slirp]
"""

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench  # noqa: E402

NR = {"read": 0, "write": 1, "writev": 20, "sendto": 44, "recvfrom": 45,
      "recvmmsg": 299, "sendmmsg": 307}

# Per path: the cut points, in the order a transaction passes them, as
# (component, event, syscall, the hop that ends there, whose time it is):
# event "enter" or "exit" of that syscall, or "switch" (the scheduler gives the
# component's thread the CPU: the end of a wake-up). The first point starts
# the clock. A hand-over (the sender's syscall, the receiver's wake-up) is
# charged to the receiver, except hand-overs into the kernel's own path (the
# server, the client), which the veth path has too. Syscalls are cut where
# they are entered: a sender is often preempted by the thread it wakes.
HOPS = {
    "veth": [
        ("client", "enter", "sendto", None, None),
        ("server", "switch", None, "guest kernel, veth, bridge, host kernel; server wakes",
         "kernel"),
        ("server", "enter", "sendto", "server: receives", "server"),
        ("client", "switch", None, "host kernel, bridge, veth, guest kernel; client wakes",
         "kernel"),
        ("client", "exit", "recvfrom", "client: receives", "client"),
    ],
    "helper": [
        ("client", "enter", "sendto", None, None),
        ("relay", "switch", None, "guest kernel to its TAP; VM side wakes", "VM side"),
        ("relay", "enter", "sendto", "VM side: reads the guest's frame", "VM side"),
        ("helper", "switch", None, "VM side sends; helper wakes", "helper"),
        ("helper", "enter", "writev", "helper: receives, checks", "helper"),
        ("server", "switch", None, "host kernel: TAP write, bridge, UDP; server wakes",
         "kernel"),
        ("server", "enter", "sendto", "server: receives", "server"),
        ("helper", "switch", None, "host kernel: UDP, bridge, TAP; helper wakes", "helper"),
        ("helper", "enter", "sendmmsg", "helper: reads the TAP", "helper"),
        ("relay", "switch", None, "helper sends; VM side wakes", "VM side"),
        ("relay", "enter", "write", "VM side: receives the frame", "VM side"),
        ("client", "switch", None, "guest kernel: TAP write, UDP; client wakes", "kernel"),
        ("client", "exit", "recvfrom", "client: receives", "client"),
    ],
    # vhost-user: the VM side is vhostsim, the guest's driver (a real guest's
    # runs in its kernel: no process wakes there). Kicks and calls are
    # eventfd writes; the helper may be busy polling (no wake-up: its
    # "switch" point is then its next event).
    "vhost": [
        ("client", "enter", "sendto", None, None),
        ("relay", "switch", None, "guest kernel to its TAP; guest driver wakes", "VM side"),
        ("relay", "enter", "write", "guest driver: reads the frame, makes it available",
         "VM side"),
        ("helper", "switch", None, "guest driver kicks; helper wakes", "helper"),
        ("helper", "enter", "writev", "helper: takes the frame from the ring, checks", "helper"),
        ("server", "switch", None, "host kernel: TAP write, bridge, UDP; server wakes",
         "kernel"),
        ("server", "enter", "sendto", "server: receives", "server"),
        ("helper", "switch", None, "host kernel: UDP, bridge, TAP; helper wakes", "helper"),
        ("helper", "enter", "write", "helper: reads the TAP into the guest's buffer", "helper"),
        ("relay", "switch", None, "helper calls; guest driver wakes", "VM side"),
        ("relay", "enter", "writev", "guest driver: passes the frame up", "VM side"),
        ("client", "switch", None, "guest kernel: TAP write, UDP; client wakes", "kernel"),
        ("client", "exit", "recvfrom", "client: receives", "client"),
    ],
    "slirp": [
        ("client", "enter", "sendto", None, None),
        ("slirp", "switch", None, "guest kernel to its TAP; slirp4netns wakes", "slirp4netns"),
        ("slirp", "enter", "sendto", "slirp4netns: reads the TAP", "slirp4netns"),
        ("server", "switch", None, "slirp4netns sends, host kernel (loopback); server wakes",
         "kernel"),
        ("server", "enter", "sendto", "server: receives", "server"),
        ("slirp", "switch", None, "host kernel (loopback); slirp4netns wakes", "slirp4netns"),
        ("slirp", "enter", "write", "slirp4netns: receives, builds the frame", "slirp4netns"),
        ("client", "switch", None, "guest kernel: TAP write, UDP; client wakes", "kernel"),
        ("client", "exit", "recvfrom", "client: receives", "client"),
    ],
}

# Whose shares the summary adds up.
SHARES = ("helper", "VM side", "slirp4netns")


def tids(pid):
    try:
        return [int(t) for t in os.listdir("/proc/%d/task" % pid)]
    except OSError:
        return []


def make_path(lab, name):
    if name == "veth":
        return bench.VethPath(lab)
    if name == "helper":
        return bench.HelperPath(lab, "shared", False)   # QEMU's dgram backend
    if name == "vhost":
        return bench.VhostPath(lab, "shared")          # QEMU's vhost-user frontend
    return bench.SlirpPath(lab)


def components(path, server, client):
    comp = {client.pid: "client", server.pid: "server"}
    for p in path.relays:
        for t in tids(p.pid):
            comp[t] = "relay"
    for p in path.procs:
        # The helper's datapath threads (its reaper child is not on the path).
        for t in tids(p.pid):
            comp[t] = "helper" if path.kind == "helper" else "slirp"
    return comp


def record(lab, path, interval, seconds, data):
    """rrbench under perf; returns ({tid: component}, rrbench's JSON)."""
    srv = lab.popen(path.host_ns, [bench.RRBENCH, "--server", "--udp", "--port", bench.RR_PORT],
                    stdout=subprocess.PIPE)
    if bench.read_line(srv.stdout.fileno(), 10).strip() != "ready":
        raise RuntimeError("rrbench server did not start")
    # Started stopped, so its pid is in the filter before it sends anything.
    cli = lab.popen(path.guests[0], ["sh", "-c", 'kill -STOP $$; exec "$0" "$@"', bench.RRBENCH,
                                     "--client", path.host_addr, "--udp", "--port",
                                     bench.RR_PORT, "--seconds", seconds, "--interval",
                                     interval], stdout=subprocess.PIPE, text=True)
    bench.wait_until(lambda: Path("/proc/%d/stat" % cli.pid).read_text().split(") ")[1][0]
                     == "T", 5)
    comp = components(path, srv, cli)
    pids = " || ".join("common_pid == %d" % t for t in comp)
    nexts = " || ".join("next_pid == %d" % t for t in comp)
    perf = subprocess.Popen(["perf", "record", "-q", "-o", data, "-a",
                             "-e", "raw_syscalls:sys_enter", "--filter", pids,
                             "-e", "raw_syscalls:sys_exit", "--filter", pids,
                             "-e", "sched:sched_switch", "--filter", nexts,
                             "--", "sleep", str(seconds + 2)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1)
    os.kill(cli.pid, signal.SIGCONT)
    out, _ = cli.communicate(timeout=seconds + 30)
    perf.wait(seconds + 30)
    lab.stop(srv)
    return comp, json.loads(out)


def events(data, comp):
    """[(time_us, component, 'enter'|'exit'|'switch', nr, ret)] from perf script."""
    out = subprocess.run(["perf", "script", "-i", data, "-F", "tid,time,event,trace"],
                         capture_output=True, text=True).stdout
    evs = []
    for line in out.splitlines():
        f = line.split()
        if len(f) < 4:
            continue
        try:
            tid, t = int(f[0]), float(f[1].rstrip(":")) * 1e6
        except ValueError:
            continue
        if f[2].startswith("sched:sched_switch"):
            nxt = [x for x in f if x.startswith("next_pid=")]
            if nxt and int(nxt[0][9:]) in comp:
                evs.append((t, comp[int(nxt[0][9:])], "switch", None, None))
            continue
        if tid not in comp or "sys_" not in f[2]:
            continue
        nr = int(f[4].rstrip(","))
        if f[2].startswith("raw_syscalls:sys_enter"):
            evs.append((t, comp[tid], "enter", nr, None))
        else:
            evs.append((t, comp[tid], "exit", nr, int(f[6])))
    return evs


def matches(want, c, kind, nr, ret):
    """Whether an event is the cut point want. A "switch" point is the first
    event of that component after the previous point: its switch-in, or, when
    perf lost that record, the return from the wait it slept in."""
    if want[1] == "switch":
        return c == want[0]
    return (c, kind, nr) == want and (ret is None or ret > 0)


def cut(evs, hops):
    """Per transaction, the time of each cut point; a list of lists."""
    out, cur = [], None
    points = [(c, k, NR[s] if s else None) for c, k, s, _, _ in hops]
    for t, c, kind, nr, ret in evs:
        if (c, kind, nr) == points[0]:
            cur = [t]
            continue
        if cur is None:
            continue
        want = points[len(cur)]
        if matches(want, c, kind, nr, ret):
            cur.append(t)
            if len(cur) == len(points):
                out.append(cur)
                cur = None
    return out


def summarize(hops, cuts, rr):
    """Medians per hop and per owner over the traced transactions."""
    out = {"transactions": len(cuts), "rrbench_traced": rr, "hops": [], "shares_us": {}}
    if not cuts:
        return out
    for i, (_, _, _, label, owner) in enumerate(hops[1:], 1):
        out["hops"].append({"hop": label, "owner": owner,
                            "us": statistics.median([c[i] - c[i - 1] for c in cuts])})
    out["total_us"] = statistics.median([c[-1] - c[0] for c in cuts])
    for who in SHARES:
        part = [sum(c[i] - c[i - 1] for i, h in enumerate(hops) if h[4] == who) for c in cuts]
        if any(part):
            out["shares_us"][who] = statistics.median(part)
    return out


def format_summary(name, sm):
    lines = ["%s: %d transactions traced (rrbench during the trace: p50 %.0f us)"
             % (name, sm["transactions"], sm["rrbench_traced"]["p50_us"])]
    for h in sm["hops"]:
        lines.append("  %7.1f us  %s" % (h["us"], h["hop"]))
    if "total_us" in sm:
        lines.append("  %7.1f us  round trip (median)" % sm["total_us"])
    for who, us in sm["shares_us"].items():
        lines.append("  %7.1f us  %s: its wake-ups and work (median of the sums)" % (us, who))
    return lines


def measure(lab, names, interval, seconds, log=lambda m: None):
    """Traces each path in names; {name: summary}."""
    results = {}
    for name in names:
        path = make_path(lab, name)
        log("hops: %s" % name)
        try:
            path.setup()
            bench.warm_up(lab, path)
            with tempfile.TemporaryDirectory() as d:
                data = os.path.join(d, "perf.data")
                comp, rr = record(lab, path, interval, seconds, data)
                cuts = cut(events(data, comp), HOPS[name])
            results[name] = summarize(HOPS[name], cuts, rr)
        finally:
            path.teardown()
    return results


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--interval", type=int, default=10000,
                    help="microseconds between transactions (default 10000: idle between)")
    ap.add_argument("--seconds", type=int, default=4)
    ap.add_argument("--paths", default="veth,helper,vhost,slirp")
    ap.add_argument("--json", help="write the medians here")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("hops: needs root")
    lab = bench.Lab()
    try:
        results = measure(lab, args.paths.split(","), args.interval, args.seconds)
    finally:
        lab.cleanup()
    for name, sm in results.items():
        print("\n".join(format_summary(name, sm)))
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
