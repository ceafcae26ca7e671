#!/usr/bin/env python3
"""Traffic ends for the GSO test, run inside a test namespace with `ip netns exec`. Prints one JSON line.
  tcp-recv PORT                       accept one connection, count bytes and sha256 them until EOF
  tcp-send ADDR PORT NBYTES           send NBYTES of a fixed pseudo-random pattern, report sha256 and seconds
  udp-recv PORT COUNT                 count datagrams (and bytes) until COUNT arrived or 5 s of silence
  udp-send ADDR PORT N SIZE SEGMENT   send N datagrams of SIZE bytes with UDP_SEGMENT=SEGMENT (kernel USO/GSO)
ADDR may be IPv4 or IPv6 (link-local with %ifname)."""
import hashlib
import json
import random
import socket
import sys
import time

UDP_SEGMENT = 103


def family(addr):
    return socket.AF_INET6 if ":" in addr else socket.AF_INET


def pattern():
    return random.Random(1).randbytes(1 << 20)


mode = sys.argv[1]
if mode == "tcp-recv":
    port = int(sys.argv[2])
    srv = socket.socket(socket.AF_INET6)
    srv.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("::", port))
    srv.listen(1)
    print(json.dumps({"ready": True}), flush=True)
    conn, _ = srv.accept()
    h = hashlib.sha256()
    n = 0
    while True:
        d = conn.recv(1 << 20)
        if not d:
            break
        h.update(d)
        n += len(d)
    print(json.dumps({"bytes": n, "sha256": h.hexdigest()}), flush=True)
elif mode == "tcp-send":
    addr, port, total = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    info = socket.getaddrinfo(addr, port, family(addr), socket.SOCK_STREAM)[0]
    s = socket.socket(info[0], socket.SOCK_STREAM)
    s.settimeout(60)
    s.connect(info[4])
    block = pattern()
    h = hashlib.sha256()
    t0 = time.monotonic()
    left = total
    while left > 0:
        chunk = block[: min(left, len(block))]
        s.sendall(chunk)
        h.update(chunk)
        left -= len(chunk)
    s.shutdown(socket.SHUT_WR)
    s.recv(1)  # wait for the receiver to close: all data acknowledged and read
    print(json.dumps({"bytes": total, "sha256": h.hexdigest(), "seconds": time.monotonic() - t0}), flush=True)
elif mode == "udp-recv":
    port, want = int(sys.argv[2]), int(sys.argv[3])
    s = socket.socket(socket.AF_INET6, socket.SOCK_DGRAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
    s.bind(("::", port))
    s.settimeout(5)
    print(json.dumps({"ready": True}), flush=True)
    count = size = 0
    sizes = set()
    try:
        while count < want:
            d = s.recv(65536)
            count += 1
            size += len(d)
            sizes.add(len(d))
    except socket.timeout:
        pass
    print(json.dumps({"datagrams": count, "bytes": size, "sizes": sorted(sizes)}), flush=True)
elif mode == "udp-send":
    addr, port, n, size, seg = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
    info = socket.getaddrinfo(addr, port, family(addr), socket.SOCK_DGRAM)[0]
    s = socket.socket(info[0], socket.SOCK_DGRAM)
    s.setsockopt(socket.SOL_UDP, UDP_SEGMENT, seg)
    payload = pattern()[:size]
    for _ in range(n):
        s.sendto(payload, info[4])
        time.sleep(0.01)
    print(json.dumps({"sent": n}), flush=True)
else:
    sys.exit("unknown mode " + mode)
