#!/usr/bin/env python3
"""Independent peer for the native port tests: raw AF_PACKET socket on one interface (run it inside the test's
network namespace with `ip netns exec`). Protocol on stdin/stdout, one line each:
  in:  "send <hex>"            transmit a frame
       "burst <n> <hex>"       transmit the frame n times back to back (frames that reach the reader together)
       "pace <n> <rate> <hex>" transmit the frame n times at <rate> frames per second, then say "paced <sent>"
       "paceseq <n> <rate> <hex> <off> <step>"  the same, the 32-bit number at byte <off> growing by <step> each time
  out: "ready"                 socket is bound
       "rx <hex> <tci|->"      a received frame (not our own), with the VLAN tag the kernel stripped, if any
Written in Python on purpose: the peer must not share code with what it checks."""
import binascii
import socket
import struct
import sys
import threading
import time

ETH_P_ALL = 0x0003
SOL_PACKET = 263
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 1 << 4
PACKET_OUTGOING = 4

ifname = sys.argv[1]
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
s.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
s.bind((ifname, 0))
out_lock = threading.Lock()


def say(line):
    with out_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def reader():
    while True:
        data, anc, _flags, addr = s.recvmsg(65536, socket.CMSG_SPACE(20))
        if addr[2] == PACKET_OUTGOING:
            continue
        tci = "-"
        for level, typ, payload in anc:
            if level == SOL_PACKET and typ == PACKET_AUXDATA and len(payload) >= 20:
                status, _len, _snap, _mac, _net, vtci, vtpid = struct.unpack("IIIHHHH", payload[:20])
                if status & TP_STATUS_VLAN_VALID:
                    tci = "%d" % vtci
        say("rx %s %s" % (binascii.hexlify(data).decode(), tci))


threading.Thread(target=reader, daemon=True).start()
say("ready")
for line in sys.stdin:
    parts = line.split()
    if len(parts) == 2 and parts[0] == "send":
        try:
            s.send(binascii.unhexlify(parts[1]))
        except OSError as e:
            say("err %s" % e)
    elif len(parts) == 3 and parts[0] == "burst":
        frame = binascii.unhexlify(parts[2])
        for _ in range(int(parts[1])):
            try:
                s.send(frame)
            except OSError as e:
                say("err %s" % e)
                break
    elif len(parts) == 4 and parts[0] == "pace":
        frame = binascii.unhexlify(parts[3])
        n, rate = int(parts[1]), float(parts[2])
        start, sent = time.monotonic(), 0
        for i in range(n):
            due = start + i / rate
            while time.monotonic() < due:
                pass
            try:
                s.send(frame)
                sent += 1
            except OSError:
                pass
        say("paced %d" % sent)
    elif len(parts) == 6 and parts[0] == "paceseq":
        # like pace, but the 32-bit big-endian number at byte `off` grows by `step` per frame (a TCP sequence number)
        frame = bytearray(binascii.unhexlify(parts[3]))
        n, rate, off, step = int(parts[1]), float(parts[2]), int(parts[4]), int(parts[5])
        first = struct.unpack_from(">I", frame, off)[0]
        start, sent = time.monotonic(), 0
        for i in range(n):
            due = start + i / rate
            while time.monotonic() < due:
                pass
            struct.pack_into(">I", frame, off, (first + i * step) & 0xFFFFFFFF)
            try:
                s.send(bytes(frame))
                sent += 1
            except OSError:
                pass
        say("paced %d" % sent)
