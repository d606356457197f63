#!/usr/bin/env python3
"""Writes a high-cardinality capture independently of synmap-gen-capture, and its truth.

A second opinion for bench_summarize.sh: nothing here shares code or address plans with the C++
generator, so synmap is not tuned to one generator's shapes. Addresses are drawn uniformly from
large pools (IPv4 clients from all of 1.0.0.0-223.255.255.255, IPv6 under 2001:db8::/32), server
ports are a mix of well-known and random ports, and the non-SYN/ACK frames are random TCP and UDP
segments of random hosts. Per SYN/ACK: 802.1Q tag in 10%, IPv6 in 20%, TCP options in half, and a
handshake re-sent 1-7 s later (a retransmission: same 4-tuple and ISN) in 3%. 0.1% of SYN/ACKs are
cut short inside the TCP header (malformed, counted by nobody).

usage: random_capture.py --kind mixed|synack [--packets N] [--seed S] --out F.pcap [--truth F.tsv]
  mixed:  10,000,000 frames (default), 4% SYN/ACKs, over one hour
  synack: 1,000,000 frames (default), all SYN/ACKs, over one hour
The truth TSV has the generator's columns (client_ip server_ip server_port packets connections
first_seen_ns last_seen_ns), one line per key, unsorted. Standard library only.
"""

import argparse
import heapq
import ipaddress
import random
import struct
import sys

WELL_KNOWN = [443, 80, 22, 25, 53, 993, 8443, 3389, 8080, 3306, 5432, 445, 143, 587]


def ipv4_header(src, dst, payload_len, proto):
    return struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + payload_len, 0, 0x4000, 64, proto, 0, src,
                       dst)


def ipv6_header(src, dst, payload_len, proto):
    return struct.pack("!IHBB16s16s", 0x60000000, payload_len, proto, 64, src, dst)


def tcp_header(sport, dport, seq, ack, flags, with_options):
    if with_options:  # MSS, SACK permitted, NOP, NOP: 8 bytes.
        options = b"\x02\x04\x05\xb4\x04\x02\x01\x01"
        return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 0x70, flags, 65160, 0,
                           0) + options
    return struct.pack("!HHIIBBHHH", sport, dport, seq, ack, 0x50, flags, 65160, 0, 0)


def ethernet(v6, vlan):
    ethertype = 0x86DD if v6 else 0x0800
    head = b"\x02\x00\x00\x00\x00\x01\x02\x00\x00\x00\x00\x02"
    if vlan:
        return head + struct.pack("!HHH", 0x8100, vlan, ethertype)
    return head + struct.pack("!H", ethertype)


def frame(v6, vlan, src, dst, l4, proto):
    ip = ipv6_header(src, dst, len(l4), proto) if v6 else ipv4_header(src, dst, len(l4), proto)
    return ethernet(v6, vlan) + ip + l4


class Hosts:
    """Random address pools: servers (skewed popularity) and clients (nearly uniform)."""

    def __init__(self, rng, servers, clients):
        self.rng = rng
        self.servers = [self.random_v4() for _ in range(servers)]
        self.servers6 = [self.random_v6() for _ in range(servers // 4)]
        self.clients = [self.random_v4() for _ in range(clients)]
        self.clients6 = [self.random_v6() for _ in range(clients // 4)]
        self.server_ports = {}

    def random_v4(self):
        first = self.rng.randrange(1, 224)
        if first in (10, 127):
            first += 1
        return bytes([first]) + self.rng.getrandbits(24).to_bytes(3, "big")

    def random_v6(self):
        return b"\x20\x01\x0d\xb8" + self.rng.getrandbits(96).to_bytes(12, "big")

    def skewed(self, pool):
        # Pareto-like: a few popular servers, a long tail.
        i = int(self.rng.paretovariate(0.6)) - 1
        return pool[i % len(pool)]

    def port_of(self, server):
        ports = self.server_ports.get(server)
        if ports is None:
            ports = [self.rng.choice(WELL_KNOWN)]
            if self.rng.random() < 0.3:
                ports.append(self.rng.randrange(1024, 65536))
            self.server_ports[server] = ports
        return self.rng.choice(ports)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kind", choices=["mixed", "synack"], required=True)
    parser.add_argument("--packets", type=int)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", required=True)
    parser.add_argument("--truth")
    args = parser.parse_args()
    packets = args.packets or (10_000_000 if args.kind == "mixed" else 1_000_000)
    synack_share = 0.04 if args.kind == "mixed" else 1.0
    rng = random.Random(args.seed)
    hosts = Hosts(rng, servers=20_000, clients=300_000)
    start_ns = 1_767_225_600 * 10**9 + 123_456_000
    gap_ns = 3600 * 10**9 // packets

    # Non-SYN/ACK frames: a pool of random segments reused with new times (the reader and the
    # decoder do the same work for each; tcpdump's filter drops them all the same).
    fillers = []
    for _ in range(8192):
        v6 = rng.random() < 0.2
        src = hosts.random_v6() if v6 else hosts.random_v4()
        dst = hosts.random_v6() if v6 else hosts.random_v4()
        vlan = rng.randrange(1, 4095) if rng.random() < 0.1 else 0
        if rng.random() < 0.85:
            flags = rng.choice([0x10, 0x18, 0x11, 0x02, 0x04, 0x14])
            payload = bytes(rng.choice([0] * 30 + [6, 40, 120, 600, 1400]))
            l4 = tcp_header(rng.randrange(1, 65536), rng.randrange(1, 65536), rng.getrandbits(32),
                            rng.getrandbits(32), flags, False) + payload
            fillers.append(frame(v6, vlan, src, dst, l4, 6))
        else:
            payload = bytes(rng.choice([30, 48, 90]))
            l4 = struct.pack("!HHHH", rng.randrange(1, 65536), 53, 8 + len(payload), 0) + payload
            fillers.append(frame(v6, vlan, src, dst, l4, 17))

    truth = {}  # (client, server, port) -> [packets, connections, first_ns, last_ns]
    resend = []  # heap of (due_ns, n, frame, key)
    out = open(args.out, "wb")
    out.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
    chunk = []
    now_ns = start_ns
    counter = 0

    def write(t_ns, data, caplen=None):
        seconds, rest = divmod(t_ns, 10**9)
        length = len(data)
        cap = length if caplen is None else caplen
        chunk.append(struct.pack("<IIII", seconds, rest // 1000, cap, length))
        chunk.append(data[:cap])

    def count(key, t_ns, new):
        entry = truth.get(key)
        if entry is None:
            truth[key] = [1, 1 if new else 0, t_ns, t_ns]
            return
        entry[0] += 1
        entry[1] += 1 if new else 0
        entry[2] = min(entry[2], t_ns)
        entry[3] = max(entry[3], t_ns)

    for i in range(packets):
        now_ns += gap_ns + rng.randrange(-gap_ns // 2, gap_ns // 2 + 1)
        now_ns -= now_ns % 1000  # Microsecond file: times as written.
        if synack_share < 1.0 and rng.random() >= synack_share:
            write(now_ns, fillers[rng.randrange(len(fillers))])
        elif resend and resend[0][0] <= now_ns:
            _, _, data, key = heapq.heappop(resend)
            write(now_ns, data)
            count(key, now_ns, False)
        else:
            v6 = rng.random() < 0.2
            if v6:
                server = hosts.skewed(hosts.servers6)
                client = hosts.clients6[rng.randrange(len(hosts.clients6))]
            else:
                server = hosts.skewed(hosts.servers)
                client = hosts.clients[rng.randrange(len(hosts.clients))]
            port = hosts.port_of(server)
            vlan = rng.randrange(1, 4095) if rng.random() < 0.1 else 0
            tcp = tcp_header(port, rng.randrange(1024, 65536), rng.getrandbits(32),
                             rng.getrandbits(32), 0x12, rng.random() < 0.5)
            data = frame(v6, vlan, server, client, tcp, 6)
            if rng.random() < 0.001:  # Cut inside the TCP header: malformed.
                write(now_ns, data, len(data) - len(tcp) + 10)
                continue
            write(now_ns, data)
            key = (client, server, port)
            count(key, now_ns, True)
            if rng.random() < 0.03:
                counter += 1
                heapq.heappush(resend, (now_ns + rng.randrange(1, 8) * 10**9, counter, data, key))
        if len(chunk) >= 65536:
            out.write(b"".join(chunk))
            chunk.clear()
    out.write(b"".join(chunk))
    out.close()

    if args.truth:
        with open(args.truth, "w") as f:
            f.write("client_ip\tserver_ip\tserver_port\tpackets\tconnections\tfirst_seen_ns\t"
                    "last_seen_ns\n")
            for (client, server, port), (p, c, first, last) in truth.items():
                f.write(f"{ipaddress.ip_address(client)}\t{ipaddress.ip_address(server)}\t{port}\t"
                        f"{p}\t{c}\t{first}\t{last}\n")
    synacks = sum(v[0] for v in truth.values())
    print(f"random_capture: {packets} frames, {synacks} SYN/ACKs counted, "
          f"{sum(v[1] for v in truth.values())} connections, {len(truth)} keys", file=sys.stderr)


if __name__ == "__main__":
    main()
