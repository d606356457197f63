#!/usr/bin/env python3
"""Test TCP peers for the live capture test.

  tcp_peers.py serve READY_FILE PORT...        listen on 0.0.0.0 and [::] on each port,
                                               accept and close connections until killed
  tcp_peers.py connect V4ADDR V6ADDR PLAN...   PLAN = FAMILY:PORT:COUNT; makes exactly COUNT
                                               completed handshakes per entry, one at a time
"""
import select
import socket
import sys


def serve(ready_file, ports):
    listeners = []
    for port in ports:
        for family, addr in ((socket.AF_INET, "0.0.0.0"), (socket.AF_INET6, "::")):
            s = socket.socket(family, socket.SOCK_STREAM)
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            s.bind((addr, port))
            s.listen(128)
            listeners.append(s)
    with open(ready_file, "w") as f:
        f.write("ready\n")
    while True:
        readable, _, _ = select.select(listeners, [], [])
        for s in readable:
            conn, _ = s.accept()
            conn.close()


def connect(v4, v6, plan):
    made = 0
    for entry in plan:
        family, port, count = entry.split(":")
        addr = v4 if family == "4" else v6
        fam = socket.AF_INET if family == "4" else socket.AF_INET6
        for _ in range(int(count)):
            with socket.socket(fam, socket.SOCK_STREAM) as s:
                s.settimeout(10)
                s.connect((addr, int(port)))  # Returns once the SYN/ACK arrived.
                made += 1
    print(made)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], [int(p) for p in sys.argv[3:]])
    else:
        connect(sys.argv[2], sys.argv[3], sys.argv[4:])
