# SPDX-License-Identifier: Apache-2.0
"""--socket PATH: the helper binds, the first client to send is served."""

import os
import signal
import socket
import stat

import frames
from conftest import RawVM, assert_clean, wait_until


def client(lab, path, name, handshake=True):
    """A python client: bound to its own path, connected to the helper's."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    lab.socks.append(s)
    s.bind(str(lab.tmp / name))
    s.connect(str(path))
    if handshake:
        s.send(b"VFKT")
    return RawVM(s)


def start(lab, extra=()):
    path = lab.tmp / "vmnet.sock"
    h, vm = lab.helper(["--socket", path] + list(extra))
    assert vm is None
    assert wait_until(path.exists, 5), "socket %s not created" % path
    return h, path


def test_socket_vfkit_handshake_guest(lab):
    h, path = start(lab)
    st = os.stat(path)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) & 0o077 == 0, "socket mode %o open to others" % st.st_mode
    g = lab.guest_socket(str(path), handshake=True, mac=h.info["vmnet_mac_address"])
    g.configure(h.info["lease_address"], h.prefixlen, h.gateway)
    assert g.ping(h.gateway, count=3), "guest on --socket cannot ping the gateway:\n%s" % (
        h.stderr())


def test_socket_handshake_dropped_and_served(lab):
    h, path = start(lab, ["--stats-interval", "1"])
    vm = client(lab, path, "c1.sock", handshake=True)
    mac = h.info["vmnet_mac_address"]
    assert frames.arp_resolve(vm, mac, h.info["lease_address"], h.gateway), \
        "no ARP reply through --socket"
    assert frames.dhcp_lease(vm, mac)["yiaddr"] == h.info["lease_address"]


def test_socket_first_frame_without_handshake_served(lab):
    h, path = start(lab)
    vm = client(lab, path, "c1.sock", handshake=False)
    mac = h.info["vmnet_mac_address"]
    vm.send(frames.arp_request(mac, h.info["lease_address"], h.gateway))
    assert vm.recv_until(frames.arp_reply_for(h.gateway), 3), \
        "the first datagram of a client without handshake was not forwarded"


def test_socket_second_client_ignored(lab):
    h, path = start(lab)
    mac = h.info["vmnet_mac_address"]
    vm1 = client(lab, path, "c1.sock")
    assert frames.arp_resolve(vm1, mac, h.info["lease_address"], h.gateway)
    # The helper's socket is connected to the first client now: the kernel
    # may refuse a second one outright (EPERM), which is fine too.
    try:
        vm2 = client(lab, path, "c2.sock")
    except PermissionError:
        vm2 = None
    if vm2 is not None:
        mac2 = frames.random_mac()
        for _ in range(3):
            try:
                vm2.send(frames.arp_request(mac2, h.info["lease_address"], h.gateway))
            except PermissionError:
                pass
        assert vm2.recv(2) is None, "a second client got an answer"
    # The second client's frames did not go out as if from the first VM either.
    vm1.drain()
    assert frames.arp_resolve(vm1, mac, h.info["lease_address"], h.gateway), \
        "first client lost service"
    assert h.alive()


def test_socket_files_removed_at_exit(lab):
    h, path = start(lab)
    lock = lab.tmp / "vmnet.sock.lock"
    vm = client(lab, path, "c1.sock")
    assert frames.arp_resolve(vm, h.info["vmnet_mac_address"], h.info["lease_address"],
                              h.gateway)
    assert h.stop(signal.SIGTERM) == 0
    assert not path.exists(), "socket left behind"
    assert not lock.exists(), "lock file left behind"
    assert_clean(lab.host)


def test_socket_stop_before_client(lab):
    h, path = start(lab)
    assert h.stop(signal.SIGINT) == 0
    assert not path.exists(), "socket left behind"
    assert not (lab.tmp / "vmnet.sock.lock").exists(), "lock file left behind"
    assert_clean(lab.host)


def test_socket_files_removed_after_sigkill(lab):
    h, path = start(lab)
    vm = client(lab, path, "c1.sock")
    assert frames.arp_resolve(vm, h.info["vmnet_mac_address"], h.info["lease_address"],
                              h.gateway)
    h.send_signal(signal.SIGKILL)
    h.wait()
    assert wait_until(lambda: not path.exists(), 5), "socket left behind after SIGKILL"
    assert wait_until(lambda: not (lab.tmp / "vmnet.sock.lock").exists(), 5), \
        "lock left behind after SIGKILL"
    assert_clean(lab.host, timeout=5)


def test_second_helper_same_path_refused(lab):
    h1, path = start(lab)
    r = lab.run_helper(["--socket", path], timeout=15)
    assert r.returncode != 0, "a second helper took the same socket path"
    assert r.stdout == "", "the refused helper printed %r" % r.stdout
    assert path.exists(), "the refused helper removed the first one's socket"
    assert h1.alive()
    vm = client(lab, path, "c1.sock")
    assert frames.arp_resolve(vm, h1.info["vmnet_mac_address"], h1.info["lease_address"],
                              h1.gateway), "first helper no longer serves"
    assert len([l for l in lab.host.link_names() if l.startswith("vmtap")]) == 1


def test_socket_client_leaving_stops_helper(lab):
    h, path = start(lab)
    vm = client(lab, path, "c1.sock")
    assert frames.arp_resolve(vm, h.info["vmnet_mac_address"], h.info["lease_address"],
                              h.gateway)
    vm.close()
    os.unlink(lab.tmp / "c1.sock")
    try:
        h.proc.wait(10)
    except Exception:
        raise AssertionError("helper still running 10 s after its client left:\n%s"
                             % h.stderr())
    assert not path.exists(), "socket left behind"
    assert_clean(lab.host)
