#!/usr/bin/python3
# SPDX-License-Identifier: Apache-2.0
"""
A tiny DNS client for the tests, run inside a guest namespace
(ip netns exec NS /usr/bin/python3 dnsclient.py ...). Standard library only.

  dnsclient.py query SERVER NAME [--tcp] [--timeout S] [--type N] [--port P]
      prints one JSON object: {"rcode": N, "answers": [...], "elapsed": S,
      "tc": bool} or {"timeout": true, "elapsed": S}
  dnsclient.py raw SERVER [--tcp] HEX...
      sends each HEX string as one UDP datagram (or all of them, in order,
      over one TCP connection), waits briefly, prints {"sent": N}
"""

import json
import random
import socket
import struct
import sys
import time

PORT = 53


def encode_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def build_query(name, qtype=1, qid=None, rd=True):
    qid = random.randrange(65536) if qid is None else qid
    header = struct.pack("!HHHHHH", qid, 0x0100 if rd else 0, 1, 0, 0, 0)
    return qid, header + encode_name(name) + struct.pack("!HH", qtype, 1)


def skip_name(msg, off):
    while True:
        n = msg[off]
        if n == 0:
            return off + 1
        if n & 0xC0 == 0xC0:
            return off + 2
        off += 1 + n


def parse_reply(msg):
    qid, flags, qd, an, _, _ = struct.unpack("!HHHHHH", msg[:12])
    off = 12
    for _ in range(qd):
        off = skip_name(msg, off) + 4
    answers = []
    for _ in range(an):
        off = skip_name(msg, off)
        rtype, _, _, rdlen = struct.unpack("!HHIH", msg[off:off + 10])
        off += 10
        rdata = msg[off:off + rdlen]
        off += rdlen
        if rtype == 1 and rdlen == 4:
            answers.append(socket.inet_ntoa(rdata))
    return {"id": qid, "qr": bool(flags & 0x8000), "tc": bool(flags & 0x0200),
            "ra": bool(flags & 0x0080), "rcode": flags & 0xF, "answers": answers,
            "qdcount": qd}


def recv_exact(s, n):
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise EOFError("connection closed after %d of %d bytes" % (len(buf), n))
        buf += chunk
    return buf


def family(server):
    return socket.AF_INET6 if ":" in server else socket.AF_INET


def query(server, name, tcp=False, timeout=8.0, qtype=1, port=PORT):
    qid, q = build_query(name, qtype)
    start = time.monotonic()
    try:
        if tcp:
            with socket.create_connection((server, port), timeout=timeout) as s:
                s.settimeout(timeout)
                s.sendall(struct.pack("!H", len(q)) + q)
                (n,) = struct.unpack("!H", recv_exact(s, 2))
                msg = recv_exact(s, n)
        else:
            with socket.socket(family(server), socket.SOCK_DGRAM) as s:
                s.settimeout(timeout)
                s.sendto(q, (server, port))
                while True:
                    msg, peer = s.recvfrom(65535)
                    if peer[0] == server and msg[:2] == q[:2]:
                        break
    except (socket.timeout, TimeoutError):
        return {"timeout": True, "elapsed": time.monotonic() - start}
    except (OSError, EOFError) as e:
        return {"error": str(e), "elapsed": time.monotonic() - start}
    r = parse_reply(msg)
    r["elapsed"] = time.monotonic() - start
    r["id_ok"] = r["id"] == qid
    r["question_ok"] = msg[12:len(q)] == q[12:]
    return r


def send_raw(server, payloads, tcp=False):
    if tcp:
        with socket.create_connection((server, PORT), timeout=5) as s:
            for p in payloads:
                s.sendall(p)
            time.sleep(0.2)
    else:
        with socket.socket(family(server), socket.SOCK_DGRAM) as s:
            for p in payloads:
                s.sendto(p, (server, PORT))
    return {"sent": len(payloads)}


def main(argv):
    tcp = "--tcp" in argv
    argv = [a for a in argv if a != "--tcp"]
    opts = {}
    rest = []
    i = 0
    while i < len(argv):
        if argv[i] in ("--timeout", "--type", "--port"):
            opts[argv[i]] = argv[i + 1]
            i += 2
        else:
            rest.append(argv[i])
            i += 1
    if rest[0] == "query":
        out = query(rest[1], rest[2], tcp, float(opts.get("--timeout", 8)),
                    int(opts.get("--type", 1)), int(opts.get("--port", PORT)))
    elif rest[0] == "raw":
        out = send_raw(rest[1], [bytes.fromhex(h) for h in rest[2:]], tcp)
    else:
        raise SystemExit("usage: see the docstring")
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
