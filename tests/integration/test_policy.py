# SPDX-License-Identifier: Apache-2.0
"""
The administrator's policy (/etc/vmnet-helper/vmnet-helper.conf) and the
subnets nobody may create. Each policy is shown to the helper through a
private mount namespace (conftest.Policy): the host's /etc is never touched.
Users run the helper as sudo would (SUDO_UID/SUDO_GID of a test user); root
runs it without them and is not limited by the policy.
"""

import subprocess
import threading

import pytest

from conftest import Policy, Resolved, read_line, sudo_env, wait_until

USER_A, USER_B = "vmnet-test-a", "vmnet-test-b"
# Only this file runs helpers as it: its count of running helpers is ours alone.
USER_C = "vmnet-test-c"


def routes(ns):
    """The host's IPv4 routes, every table (what a new network could divert)."""
    return sorted((r.get("dst"), r.get("dev"), r.get("gateway"), r.get("table"))
                  for r in ns.ip_json("-4", "route", "show", "table", "all"))


def refused(lab, args, env=None, policy=None, needle=None):
    """A start that must be refused with one line, changing nothing."""
    before_links, before_routes = sorted(lab.host.link_names()), routes(lab.host)
    h, _ = lab.helper(args, env=env, policy=policy, wait_json=False)
    if not wait_until(lambda: not h.alive(), 10):
        h.kill()
        raise AssertionError("not refused: %s" % h.stdout_rest())
    rc, out = h.wait(), h.stdout_rest()
    errors = [l for l in h.stderr_lines() if l.startswith("ERROR")]
    assert rc != 0 and out == b"", "not refused: %s" % out
    assert len(errors) == 1, "not one error line:\n%s" % h.stderr()
    lines = errors
    if needle:
        assert needle in lines[0], lines[0]
    assert sorted(lab.host.link_names()) == before_links, "the links changed"
    assert routes(lab.host) == before_routes, "the routes changed"
    return lines[0]


def started(lab, args, env=None, policy=None):
    h, _ = lab.helper(args, env=env, policy=policy)
    return h


@pytest.fixture
def resolv(lab):
    class R:
        write = staticmethod(lab.resolv)
    return R


NET = ["--start-address", "10.44.0.1", "--end-address", "10.44.0.254",
       "--subnet-mask", "255.255.255.0"]
# What users may create beyond the range kept for VMs, for the tests of what
# no one may create.
WIDE = "subnets = default, 10.0.0.0/8\n"


@pytest.mark.parametrize("who", ["root", "user"])
def test_subnet_with_the_hosts_nameserver_refused(lab, resolv, who):
    """The host reaches its resolver 10.44.0.53 through its default route: a
    network on 10.44.0.0/24 would send the host's DNS to a VM. Refused for
    everyone, naming the nameserver; the host's routes unchanged."""
    lab.remote()
    resolv.write("10.44.0.53")
    env = sudo_env(USER_A) if who == "user" else None
    pol = Policy(lab, WIDE)
    line = refused(lab, NET, env=env, policy=pol, needle="10.44.0.53")
    assert "nameserver" in line, line
    # Another subnet is fine.
    resolv.write("10.45.0.53")
    started(lab, NET, env=env, policy=pol)


def test_users_keep_to_the_range_kept_for_vms(lab):
    """Without a policy file a user may create networks only in the range
    kept for VMs, 192.168.105.0-192.168.255.255 (the modes' defaults and
    what automatic selection moves through): not in the rest of RFC 1918,
    where a site's servers are. Upstream's own command lines (192.168.105.x)
    work; root is not limited; the administrator widens the range."""
    pol = Policy(lab, "")
    pol.path.unlink()
    user = sudo_env(USER_A)
    for net in (NET, ["--start-address", "172.16.5.1", "--end-address", "172.16.5.9",
                      "--subnet-mask", "255.255.255.0"],
                ["--start-address", "192.168.1.1", "--end-address", "192.168.1.100",
                 "--subnet-mask", "255.255.255.0"],
                ["--start-address", "192.168.105.1", "--end-address", "192.168.105.254",
                 "--subnet-mask", "255.255.254.0"]):
        line = refused(lab, net, env=user, policy=pol, needle="is not allowed: users may "
                       "create networks in 192.168.105.0-192.168.255.255")
        assert "/etc/vmnet-helper/vmnet-helper.conf" in line, line
    h = started(lab, ["--start-address", "192.168.105.1", "--end-address", "192.168.105.254",
                      "--subnet-mask", "255.255.255.0"], env=user, policy=pol)
    assert h.info["vmnet_start_address"] == "192.168.105.1"
    h = started(lab, ["--operation-mode", "host", "--start-address", "192.168.200.1",
                      "--end-address", "192.168.200.50", "--subnet-mask", "255.255.255.0"],
                env=user, policy=pol)
    assert h.info["lease_address"].startswith("192.168.200.")
    # Root: any private subnet.
    assert started(lab, NET, policy=pol).info["vmnet_start_address"] == "10.44.0.1"
    # Widened by the administrator: "default" and a site range.
    wide = Policy(lab, "subnets = default, 10.45.0.0/16\n")
    h = started(lab, ["--start-address", "10.45.0.1", "--end-address", "10.45.0.254",
                      "--subnet-mask", "255.255.255.0"], env=user, policy=wide)
    assert h.info["vmnet_start_address"] == "10.45.0.1"
    h = started(lab, ["--operation-mode", "host", "--start-address", "192.168.201.1",
                      "--end-address", "192.168.201.50", "--subnet-mask", "255.255.255.0"],
                env=user, policy=wide)


def test_nameserver_behind_systemd_resolved_refused(lab, resolv):
    """/etc/resolv.conf names systemd-resolved's stub 127.0.0.53; the host's
    real nameserver 10.44.0.53 is in /run/systemd/resolve/resolv.conf: a
    network containing it is refused all the same, naming the file, and
    automatic selection passes over it."""
    lab.remote()
    resolv.write("127.0.0.53")
    upstream = Resolved(lab, "10.44.0.53")
    line = refused(lab, NET, policy=upstream, needle="nameserver 10.44.0.53")
    assert "/run/systemd/resolve/resolv.conf" in line, line
    upstream = Resolved(lab, "192.168.105.53")
    h = started(lab, [], policy=upstream)
    assert h.info["vmnet_start_address"] != "192.168.105.1", h.info
    # Elsewhere: fine.
    started(lab, NET, policy=Resolved(lab, "10.45.0.53"))


def test_subnet_with_the_default_gateway_refused(lab, resolv):
    """The default route's gateway inside the network (on-link, so no route
    of the host overlaps it): refused, naming the gateway."""
    lab.remote()
    resolv.write("203.0.113.2")
    lab.host.run(["ip", "route", "replace", "default", "via", "10.44.0.1", "dev", "uplink0",
                  "onlink"])
    line = refused(lab, NET, env=sudo_env(USER_A), policy=Policy(lab, WIDE),
                   needle="default gateway 10.44.0.1")
    assert "uplink0" in line, line
    refused(lab, NET, needle="default gateway 10.44.0.1")


def host_bridge(lab, name="br0"):
    lab.host.run(["ip", "link", "add", name, "type", "bridge"])
    lab.host.run(["ip", "link", "set", name, "up"])


def test_bridged_on_an_unlisted_bridge_refused(lab):
    """A user may not put a VM on a software bridge of the host (a container
    runtime's, libvirt's) unless the administrator lists it; root may."""
    host_bridge(lab, "docker0")
    refused(lab, ["--operation-mode", "bridged", "--shared-interface", "docker0"],
            env=sudo_env(USER_A), needle='--shared-interface "docker0" is not allowed')
    # A veth is not a physical Ethernet interface either.
    lab.host.run(["ip", "link", "add", "ve0", "type", "veth", "peer", "name", "ve1"])
    refused(lab, ["--operation-mode", "bridged", "--shared-interface", "ve0"],
            env=sudo_env(USER_A), needle="not allowed")
    # Root is not limited by the policy.
    h = started(lab, ["--operation-mode", "bridged", "--shared-interface", "docker0"])
    assert h.stop() == 0
    # Listed: the user may.
    pol = Policy(lab, "bridged-interfaces = physical, docker0\n")
    h = started(lab, ["--operation-mode", "bridged", "--shared-interface", "docker0"],
                env=sudo_env(USER_A), policy=pol)
    assert h.info["shared_interface"] == "docker0"
    assert h.stop() == 0
    refused(lab, ["--operation-mode", "bridged", "--shared-interface", "ve0"],
            env=sudo_env(USER_A), policy=pol, needle="not allowed")


def test_bridged_not_allowed(lab):
    host_bridge(lab)
    pol = Policy(lab, "bridged = no\nbridged-interfaces = br0\n")
    refused(lab, ["--operation-mode", "bridged", "--shared-interface", "br0"],
            env=sudo_env(USER_A), policy=pol, needle="bridged mode is not allowed")
    h = started(lab, ["--operation-mode", "bridged", "--shared-interface", "br0"], policy=pol)
    assert h.stop() == 0


def test_allowed_subnets(lab):
    pol = Policy(lab, "# only the lab's range\nsubnets = 192.168.200.0/22\n")
    line = refused(lab, ["--start-address", "192.168.105.1", "--end-address", "192.168.105.100",
                         "--subnet-mask", "255.255.255.0"], env=sudo_env(USER_A), policy=pol,
                   needle="subnet 192.168.105.0/24 is not allowed")
    assert "192.168.200.0/22" in line, line
    h = started(lab, ["--start-address", "192.168.201.1", "--end-address", "192.168.201.100",
                      "--subnet-mask", "255.255.255.0"], env=sudo_env(USER_A), policy=pol)
    assert h.info["lease_address"].startswith("192.168.201.")
    # Root: any private subnet.
    started(lab, [], policy=pol)


# Without address options, and with the built-in networks, the subnet is
# chosen automatically: every candidate is checked against the policy, so the
# user lands in an allowed subnet or is refused, never outside.
@pytest.mark.parametrize("how", [[], ["--network", "shared"], ["--network", "host"],
                                 ["--network", "auto"]], ids=["options", "shared", "host",
                                                              "admin-network"])
def test_automatic_subnet_obeys_the_policy(lab, how):
    admin = "[network auto]\nmode = host\nisolation = yes\n"
    pol = Policy(lab, "subnets = 192.168.200.0/22\n" + admin)
    h = started(lab, how, env=sudo_env(USER_A), policy=pol)
    assert h.info["vmnet_start_address"].startswith("192.168.20"), h.info
    assert h.wait_stderr(r"default network 192\.168\.10[56]\.0/24 cannot be used \(subnet "
                         r"192\.168\.10[56]\.0/24 is not allowed")
    # No allowed subnet among the candidates (192.168.105.0-192.168.255.0): refused.
    pol = Policy(lab, "subnets = 10.20.0.0/16\n" + admin)
    line = refused(lab, how, env=sudo_env(USER_A), policy=pol, needle="is not allowed")
    assert "10.20.0.0/16" in line, line
    # Root is not limited by the policy.
    assert started(lab, how, policy=pol).info["vmnet_start_address"] != ""


def test_subnet_checked_after_automatic_choice(lab):
    """The default is allowed but busy (another mode's network): the subnet
    the helper would move to is checked too, and refused."""
    pol = Policy(lab, "subnets = 192.168.105.0/24\n")
    started(lab, ["--operation-mode", "host", "--start-address", "192.168.105.1",
                  "--end-address", "192.168.105.100", "--subnet-mask", "255.255.255.0"])
    line = refused(lab, [], env=sudo_env(USER_A), policy=pol,
                   needle="default 192.168.105.0/24 cannot be used")
    assert "subnet 192.168.106.0/24 is not allowed" in line, line
    # Root moves on.
    h = started(lab, [], policy=pol)
    assert h.info["vmnet_start_address"] == "192.168.106.1", h.info


def test_helpers_per_user(lab):
    pol = Policy(lab, "max-helpers-per-user = 2\n")
    first = started(lab, [], env=sudo_env(USER_C), policy=pol)
    started(lab, [], env=sudo_env(USER_C), policy=pol)
    refused(lab, [], env=sudo_env(USER_C), policy=pol,
            needle="already runs 2 helpers, the most the administrator allows")
    # Another user and root are not counted against this one.
    started(lab, [], env=sudo_env(USER_B), policy=pol)
    started(lab, [], policy=pol)
    # One stops: room for one more.
    assert first.stop() == 0
    started(lab, [], env=sudo_env(USER_C), policy=pol)


def test_helper_limit_holds_under_concurrency(lab):
    """max-helpers-per-user = 1 and 20 starts of one user at the same
    moment: they are counted and reserved under the user's lock, so exactly
    one runs, and the 19 others are refused with the one line."""
    pol = Policy(lab, "max-helpers-per-user = 1\n")
    helpers = [lab.helper([], env=sudo_env(USER_C), policy=pol, wait_json=False)[0]
               for _ in range(20)]
    got = {}

    def read(h):
        try:
            got[h.pid] = h.read_json(timeout=90)
        except AssertionError:
            pass   # refused: no JSON line

    threads = [threading.Thread(target=read, args=(h,)) for h in helpers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    running = [h for h in helpers if h.pid in got]
    assert len(running) == 1, "%d of 20 started" % len(running)
    for h in helpers:
        if h is running[0]:
            continue
        assert h.wait(30) != 0
        errors = [l for l in h.stderr_lines() if l.startswith("ERROR")]
        assert len(errors) == 1 and "already runs 1 helpers, the most the administrator " \
            "allows" in errors[0], h.stderr()
    assert running[0].alive()
    assert running[0].stop() == 0


def test_named_networks_only(lab):
    pol = Policy(lab, "named-networks-only = yes\n"
                      "[network lab]\nmode = host\nstart-address = 10.46.0.1\n"
                      "end-address = 10.46.0.200\nsubnet-mask = 255.255.255.0\n")
    refused(lab, [], env=sudo_env(USER_A), policy=pol, needle="only named networks")
    refused(lab, ["--operation-mode", "host"], env=sudo_env(USER_A), policy=pol,
            needle="only named networks")
    h = started(lab, ["--network", "lab"], env=sudo_env(USER_A), policy=pol)
    assert h.info["vmnet_start_address"] == "10.46.0.1"
    h = started(lab, ["--network", "shared"], env=sudo_env(USER_A), policy=pol)
    assert h.info["vmnet_start_address"] == "192.168.105.1"
    started(lab, ["--operation-mode", "host"], policy=pol)   # root


def test_builtin_networks_restricted_or_redefined(lab):
    """With subnets outside the built-ins' candidates, users keep to the
    administrator's networks; a [network shared] section redefines the
    built-in shared network, whose addresses are then the administrator's."""
    pol = Policy(lab, "named-networks-only = yes\nsubnets = 10.48.0.0/16\n"
                      "[network shared]\nmode = shared\nstart-address = 10.47.0.1\n"
                      "end-address = 10.47.0.200\nsubnet-mask = 255.255.255.0\n")
    refused(lab, ["--network", "host"], env=sudo_env(USER_A), policy=pol,
            needle="subnet 192.168.106.0/24 is not allowed")
    h = started(lab, ["--network", "shared"], env=sudo_env(USER_A), policy=pol)
    assert h.info["vmnet_start_address"] == "10.47.0.1", h.info
    assert h.info["net_ipv4_subnet"] == "10.47.0.0", h.info


@pytest.mark.parametrize("case", ["malformed", "unknown-key", "world-writable",
                                  "user-owned", "group-writable", "directory-writable"])
def test_bad_policy_file_refused(lab, case):
    """A malformed or untrusted file: one clear line, for users and root,
    and nothing changes."""
    uid = int(sudo_env(USER_A)["SUDO_UID"])
    gid = int(sudo_env(USER_A)["SUDO_GID"])
    text, mode, owner, dir_mode, needle = "bridged = yes\n", 0o644, (0, 0), 0o755, None
    if case == "malformed":
        text, needle = "bridged = yes\n[network lab\n", "line 2: expected \"[network NAME]\""
    elif case == "unknown-key":
        text, needle = "max-helpers = 3\n", "line 1: unknown setting \"max-helpers\""
    elif case == "world-writable":
        mode, needle = 0o666, "must be a regular file owned by root"
    elif case == "user-owned":
        owner, needle = (uid, 0), "must be a regular file owned by root"
    elif case == "group-writable":
        owner, mode, needle = (0, gid), 0o664, "must be a regular file owned by root"
    else:
        dir_mode, needle = 0o777, "must be a directory owned by root"
    pol = Policy(lab, text, mode=mode, owner=owner, dir_mode=dir_mode)
    for env in (sudo_env(USER_A), None):
        line = refused(lab, [], env=env, policy=pol, needle=needle)
        assert "/etc/vmnet-helper" in line, line
    assert not lab.host.lib_dir.exists() or not list(lab.host.lib_dir.iterdir())


def test_missing_policy_file_means_defaults(lab):
    """No file (the host has none; a Policy directory without it either)."""
    pol = Policy(lab, "")
    pol.path.unlink()
    h = started(lab, [], env=sudo_env(USER_A), policy=pol)
    assert h.info["vmnet_start_address"] == "192.168.105.1"
    assert wait_until(lambda: h.alive(), 1)


def test_automatic_network_avoids_the_nameserver(lab, resolv):
    """Without address options the helper moves on from a network that
    contains the host's nameserver or default gateway, saying why."""
    lab.remote()
    resolv.write("192.168.105.53")
    lab.host.run(["ip", "route", "replace", "default", "via", "192.168.106.1", "dev", "uplink0",
                  "onlink"])
    h = started(lab, [])
    assert h.info["vmnet_start_address"] not in ("192.168.105.1", "192.168.106.1"), h.info
    assert h.wait_stderr(r"default network 192\.168\.105\.0/24 cannot be used \(it contains "
                         r"the host's nameserver 192\.168\.105\.53\)")
    h2 = started(lab, ["--operation-mode", "host"])
    assert h2.info["vmnet_start_address"] != "192.168.106.1", h2.info
    assert h2.wait_stderr(r"default network 192\.168\.106\.0/24 cannot be used \(it contains "
                          r"the host's default gateway 192\.168\.106\.1\)")


# --------------------------------------------------------------------------
# the host talking into a subnet (issue 16, point 1): the site's "LDAP
# server" 10.55.0.10 sits behind the host's default route, in the remote
# namespace; a network over 10.55.0.0/24 would route the host's next packets
# for it to the bridge, where a VM could answer in its place.

LDAP = "10.55.0.10"
NET55 = ["--start-address", "10.55.0.1", "--end-address", "10.55.0.5",
         "--subnet-mask", "255.255.255.0"]

SERVER = r"""
import select, socket, sys
addr = sys.argv[1]
t = socket.socket()
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind((addr, 389))
t.listen(8)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind((addr, 389))
print("READY", flush=True)
conns = []
while True:
    for s in select.select([t, u] + conns, [], [])[0]:
        if s is t:
            conns.append(t.accept()[0])
        elif s is u:
            d, a = u.recvfrom(2048)
            u.sendto(d, a)
        else:
            d = s.recv(2048)
            if not d:
                conns.remove(s)
                s.close()
            else:
                s.sendall(d)
"""

# The host's side: a TCP connection held open, a connected UDP socket held
# open, or one UDP exchange from an unconnected socket that then closes.
CLIENT = r"""
import socket, sys, time
kind, addr = sys.argv[1], sys.argv[2]
if kind == "tcp":
    s = socket.create_connection((addr, 389), timeout=5)
    s.sendall(b"bind")
    s.recv(16)
elif kind == "udp-socket":
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.connect((addr, 389))
    s.send(b"search")
    s.recv(16)
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(5)
    s.sendto(b"search", (addr, 389))
    s.recvfrom(16)
    s.close()
print("READY", flush=True)
if kind != "udp-exchange":
    time.sleep(300)
"""


def ready(lab, argv):
    p = lab.popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                  stdin=subprocess.DEVNULL)
    assert read_line(p.stdout.fileno(), 10).startswith(b"READY"), argv
    if "udp-exchange" in argv:
        assert p.wait(10) == 0
    return p


def site_server(lab, addr):
    """A server on addr (TCP and UDP port 389) in the remote namespace,
    which the host reaches through its default route (uplink0)."""
    remote = lab.remote()
    remote.run(["ip", "addr", "add", addr + "/32", "dev", "lo"])
    ready(lab, remote.cmd(["/usr/bin/python3", "-c", SERVER, addr]))
    return remote


def host_talks(lab, kind, addr):
    """The host namespace talking to addr, the way kind says."""
    if kind == "neighbour":
        # On-link for a moment (a /32 route on the uplink), then the route
        # goes; the ARP entry stays.
        lab.host.run(["ip", "route", "add", addr + "/32", "dev", "uplink0"])
        assert lab.host.run(["ping", "-n", "-c", "1", "-W", "2", addr],
                            check=False).returncode == 0
        lab.host.run(["ip", "route", "del", addr + "/32", "dev", "uplink0"])
        assert any(n.get("dst") == addr for n in lab.host.ip_json("neigh", "show"))
        return
    if kind == "udp-exchange":
        # Only connection tracking remembers it: something on the host must
        # use it (a stateful firewall rule here, as on most hosts).
        lab.host.run(["nft", "add table inet vmit_ct; add chain inet vmit_ct out { type "
                      "filter hook output priority 0; }; add rule inet vmit_ct out ct state "
                      "established accept"])
    ready(lab, lab.host.cmd(["/usr/bin/python3", "-c", CLIENT, kind, addr]))


@pytest.mark.parametrize("kind", ["tcp", "udp-socket", "udp-exchange", "neighbour"])
def test_subnet_the_host_is_talking_into_refused(lab, kind):
    """The host holds a TCP connection to the site's LDAP server 10.55.0.10
    behind its default route (or a connected UDP socket; or had a UDP
    exchange with it a moment ago, which connection tracking remembers; or
    has it in its neighbour table): a network over 10.55.0.0/24 is refused,
    for a user whom the policy lets create networks in 10.0.0.0/8 and for
    root, with one line naming the address, the interface and how, and
    nothing created. Another subnet is fine."""
    site_server(lab, LDAP)
    host_talks(lab, kind, LDAP)
    pol = Policy(lab, WIDE)
    how = {"tcp": "a TCP connection 203.0.113.1:", "udp-socket": "a connected UDP socket "
           "203.0.113.1:", "udp-exchange": "UDP traffic the kernel tracks, 203.0.113.1:",
           "neighbour": "an entry in its neighbour table"}[kind]
    for env in (sudo_env(USER_A), None):
        line = refused(lab, NET55, env=env, policy=pol,
                       needle="network 10.55.0.0/24 contains 10.55.0.10, which the host is "
                              "talking to through uplink0")
        assert how in line, line
        assert not lab.host.lib_dir.exists() or not list(lab.host.lib_dir.iterdir())
    h = started(lab, ["--start-address", "10.56.0.1", "--end-address", "10.56.0.5",
                      "--subnet-mask", "255.255.255.0"], env=sudo_env(USER_A), policy=pol)
    assert h.stop() == 0


def test_automatic_choice_passes_over_a_subnet_the_host_talks_into(lab):
    """The host holds a connection to 192.168.105.7 behind its default route:
    a helper without addresses passes over the default network, saying why."""
    site_server(lab, "192.168.105.7")
    host_talks(lab, "tcp", "192.168.105.7")
    h = started(lab, [])
    assert h.info["vmnet_start_address"] == "192.168.106.1", h.info
    assert h.wait_stderr(r"default network 192\.168\.105\.0/24 cannot be used \(it contains "
                         r"192\.168\.105\.7, which the host is talking to through uplink0 "
                         r"\(a TCP connection 203\.0\.113\.1:\d+ -> 192\.168\.105\.7:389\)\): "
                         r"using 192\.168\.106\.0/24"), h.stderr()


SERVE_ONE = r"""
import socket, sys
t = socket.socket()
t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
t.bind((sys.argv[1], 8080))
t.listen(1)
print("READY", flush=True)
c = t.accept()[0]
c.recv(16)
c.sendall(b"ok")
try:
    c.recv(16)
    print("closed", flush=True)
except OSError as e:
    print("aborted", e.errno, flush=True)
"""

CONNECT = r"""
import socket, sys, time
s = socket.create_connection((sys.argv[1], 8080), timeout=5)
s.sendall(b"hi")
s.recv(16)
print("READY", flush=True)
time.sleep(300)
"""


def test_a_networks_connections_end_with_it(lab):
    """A VM holds a TCP connection to a service on the host's uplink address
    (203.0.113.1, not the gateway) when its network goes (its helper stops,
    so the VM's close never arrives): the host's socket and the connection
    the kernel tracks (NAT runs) are the network's and go with it, so the
    next start of the same network is not taken for the host talking into
    it through uplink0."""
    lab.remote()
    server = lab.popen(lab.host.cmd(["/usr/bin/python3", "-c", SERVE_ONE, "203.0.113.1"]),
                       stdout=subprocess.PIPE, stdin=subprocess.DEVNULL)
    assert read_line(server.stdout.fileno(), 10).startswith(b"READY")
    h, vm = lab.helper([])
    g = lab.guest(vm, mac=h.info["vmnet_mac_address"])
    g.configure(h.info["lease_address"], h.prefixlen, h.gateway)
    ready(lab, g.ns.cmd(["/usr/bin/python3", "-c", CONNECT, "203.0.113.1"]))
    assert h.stop() == 0
    assert wait_until(lambda: not [n for n in lab.host.link_names() if n.startswith("vmnet")], 5)
    # The host's end was closed for it (ECONNABORTED), not left talking.
    assert read_line(server.stdout.fileno(), 10).startswith(b"aborted"), "the host's socket " \
        "to the gone VM is still open"
    h2, _ = lab.helper([])
    assert h2.info["vmnet_start_address"] == "192.168.105.1", h2.stderr()
    assert "cannot be used" not in h2.stderr(), h2.stderr()
