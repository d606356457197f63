#!/usr/bin/env python3
"""Writes a pcap (Ethernet, microsecond) of generated TCP/UDP frames with known contents.

Each --group is  KIND:FAMILY:COUNT:PORT[:TAGS]  where
  KIND    synack | syn | ack | udp
  FAMILY  4 | 6
  COUNT   number of frames (each a distinct client port and sequence number)
  PORT    server port (source port of the SYN/ACK)
  TAGS    optional VLAN stack, outermost first, e.g. 8100.100 or 88a8.10+8100.20
Server = 198.51.100.1 / 2001:db8::1 (source); client = 198.51.100.2 / 2001:db8::2 (dest),
unless --server4/--client4/--server6/--client6 say otherwise.
--repeat N writes the whole sequence N times with fresh client ports (benchmarks);
--step-us sets the capture-time gap between frames (default 1 us).
"""
import argparse
import ipaddress
import struct
import sys


def mac(text):
    return bytes(int(x, 16) for x in text.split(":"))


def checksum(data):
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack("!%dH" % (len(data) // 2), data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def l4(kind, sport, dport, seq, src, dst, family):
    if kind == "udp":
        hdr = struct.pack("!HHHH", sport, dport, 8 + 4, 0) + b"abcd"
        proto = 17
    else:
        flags = {"synack": 0x12, "syn": 0x02, "ack": 0x10}[kind]
        hdr = struct.pack("!HHIIBBHHH", sport, dport, seq, 1 if kind != "syn" else 0,
                          0x50, flags, 65535, 0, 0)
        proto = 6
    if family == 4:
        pseudo = src + dst + struct.pack("!BBH", 0, proto, len(hdr))
    else:
        pseudo = src + dst + struct.pack("!IxxxB", len(hdr), proto)
    csum = checksum(pseudo + hdr)
    off = 6 if proto == 17 else 16
    hdr = hdr[:off] + struct.pack("!H", csum) + hdr[off + 2:]
    return proto, hdr


def ip_packet(family, proto, src, dst, payload):
    if family == 4:
        h = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), 1, 0x4000, 64, proto, 0,
                        src, dst)
        h = h[:10] + struct.pack("!H", checksum(h)) + h[12:]
        return 0x0800, h + payload
    h = struct.pack("!IHBB16s16s", 0x60000000, len(payload), proto, 64, src, dst)
    return 0x86DD, h + payload


def frame(dst_mac, src_mac, tags, ethertype, packet):
    out = dst_mac + src_mac
    for tpid, vid in tags:
        out += struct.pack("!HH", tpid, vid)
    out += struct.pack("!H", ethertype) + packet
    if len(out) < 60:
        out += b"\0" * (60 - len(out))
    return out


def parse_tags(text):
    if not text:
        return []
    return [(int(t.split(".")[0], 16), int(t.split(".")[1])) for t in text.split("+")]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--dst-mac", default="02:00:00:00:00:02")
    ap.add_argument("--src-mac", default="02:00:00:00:00:01")
    ap.add_argument("--server4", default="198.51.100.1")
    ap.add_argument("--client4", default="198.51.100.2")
    ap.add_argument("--server6", default="2001:db8::1")
    ap.add_argument("--client6", default="2001:db8::2")
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--step-us", type=int, default=1, help="capture-time gap between frames")
    ap.add_argument("--group", action="append", default=[])
    a = ap.parse_args()
    addrs = {4: (ipaddress.ip_address(a.server4).packed, ipaddress.ip_address(a.client4).packed),
             6: (ipaddress.ip_address(a.server6).packed, ipaddress.ip_address(a.client6).packed)}
    dst_mac, src_mac = mac(a.dst_mac), mac(a.src_mac)
    frames = 0
    client_port = 10000
    with open(a.out, "wb") as f:
        f.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        ts_us = 1_700_000_000 * 1_000_000
        for rep in range(a.repeat):
            for group in a.group:
                parts = group.split(":")
                kind, family, count, port = parts[0], int(parts[1]), int(parts[2]), int(parts[3])
                tags = parse_tags(parts[4] if len(parts) > 4 else "")
                server, client = addrs[family]
                for _ in range(count):
                    client_port += 1
                    if client_port > 65000:
                        client_port = 10001
                    seq = (client_port * 2654435761 + rep * 97) & 0xFFFFFFFF
                    if kind == "synack":
                        src, dst, sport, dport = server, client, port, client_port
                    else:
                        src, dst, sport, dport = client, server, client_port, port
                    proto, seg = l4(kind, sport, dport, seq, src, dst, family)
                    ethertype, pkt = ip_packet(family, proto, src, dst, seg)
                    data = frame(dst_mac, src_mac, tags, ethertype, pkt)
                    ts_us += a.step_us
                    sec, usec = divmod(ts_us, 1_000_000)
                    f.write(struct.pack("<IIII", sec, usec, len(data), len(data)) + data)
                    frames += 1
    print(frames)


if __name__ == "__main__":
    sys.exit(main())
