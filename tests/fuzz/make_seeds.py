#!/usr/bin/python3
"""Builds seed corpora for the fuzz targets from capture files (classic pcap only are split into
frames for the decoder; every capture is a seed for the file reader) and YAML files, plus a
built SYN/ACK inside each tunnel the decoder enters (tunnel_frames), with and without
decapsulation.

usage: make_seeds.py OUT_DIR --captures FILE... --names FILE... --configs FILE...
"""
import argparse
import os
import shutil
import struct

LINK_INDEX = {0: 0, 1: 1, 12: 2, 14: 3, 101: 4, 108: 5, 113: 6, 228: 7, 229: 8, 276: 9,
              239: 10, 129: 11, 192: 12, 242: 13}


def frames(path, limit=50):
    with open(path, "rb") as f:
        head = f.read(24)
        if len(head) < 24:
            return
        magic = head[:4]
        if magic in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
            endian = "<"
        elif magic in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
            endian = ">"
        else:
            return
        linktype = struct.unpack(endian + "I", head[20:24])[0] & 0x0FFFFFFF
        if linktype not in LINK_INDEX:
            return
        for _ in range(limit):
            rec = f.read(16)
            if len(rec) < 16:
                return
            caplen = struct.unpack(endian + "I", rec[8:12])[0]
            if caplen > 262144:
                return
            data = f.read(caplen)
            if len(data) < caplen:
                return
            yield bytes([LINK_INDEX[linktype]]) + data


# --- Tunnels: one SYN/ACK inside each encapsulation (headers written from the specifications) ---

def _tcp_synack():
    return struct.pack(">HHIIBBHHH", 443, 40000, 0xDEADBEEF, 1, 0x50, 0x12, 65535, 0, 0)


def _ipv4(proto, payload, src=b"\xc6\x33\x64\x01", dst=b"\xc6\x33\x64\x02"):
    return struct.pack(">BBHHHBBH", 0x45, 0, 20 + len(payload), 1, 0x4000, 64, proto, 0) + src + dst + payload


def _ipv6(next_header, payload):
    src = bytes.fromhex("20010db8000000000000000000000001")
    dst = bytes.fromhex("20010db8001000000000000000000002")
    return struct.pack(">IHBB", 0x60000000, len(payload), next_header, 64) + src + dst + payload


def _eth(ethertype, payload):
    return bytes.fromhex("020000000001020000000002") + struct.pack(">H", ethertype) + payload


def _udp(sport, dport, payload):
    return struct.pack(">HHHH", sport, dport, 8 + len(payload), 0) + payload


def _gre(flags, proto, payload, fields=b""):
    return struct.pack(">HH", flags, proto) + fields + payload


def tunnel_frames():
    """(name, Ethernet frame) for every tunnel layout the decoder enters."""
    v4 = _ipv4(6, _tcp_synack())
    v6 = _ipv6(6, _tcp_synack())
    e4, e6 = _eth(0x0800, v4), _eth(0x86DD, v6)
    vxlan = bytes([0x08, 0, 0, 0, 0, 0, 0x0A, 0])
    geneve = bytes([0x02, 0x40, 0x65, 0x58, 0, 0, 0x0A, 0, 0, 0, 0x80, 1, 0, 0, 0, 0x0C])
    gtp = bytes([0x34, 0xFF]) + struct.pack(">H", 8 + len(v4)) + bytes([0, 0, 0, 1, 0, 1, 0, 0x85, 1, 0, 5, 0])
    teredo = bytes([0, 1, 0, 0]) + bytes(9) + bytes([0, 0, 0xF2, 0x3F, 0x3F, 0xFF, 0xFD, 0xFE])
    ayiya = bytes([0x42, 0x52, 0x11, 41, 0x5F, 0, 0, 0]) + bytes(16) + bytes(20)
    erspan2 = bytes([0x10, 0x0A, 0, 1, 0, 0, 0, 2])
    erspan3 = bytes([0x20, 0x0A, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1]) + bytes(8)
    routing = struct.pack(">HBB", 0x0800, 0, 4) + bytes(4) + bytes(4)
    nested = v4
    for _ in range(5):
        nested = _ipv4(4, nested)
    return [
        ("gre_ipv4", _eth(0x0800, _ipv4(47, _gre(0, 0x0800, v4)))),
        ("gre_key_seq_csum_ipv6", _eth(0x0800, _ipv4(47, _gre(0xB000, 0x86DD, v6, bytes(12))))),
        ("gre_routing", _eth(0x0800, _ipv4(47, _gre(0x4000, 0x0800, v4, bytes(4) + routing)))),
        ("gre_ethernet", _eth(0x86DD, _ipv6(47, _gre(0x2000, 0x6558, e4, bytes(4))))),
        ("erspan1", _eth(0x0800, _ipv4(47, _gre(0, 0x88BE, e6)))),
        ("erspan2", _eth(0x0800, _ipv4(47, _gre(0x1000, 0x88BE, erspan2 + e4, bytes(4))))),
        ("erspan3", _eth(0x0800, _ipv4(47, _gre(0x1000, 0x22EB, erspan3 + e4, bytes(4))))),
        ("pptp", _eth(0x0800, _ipv4(47, _gre(0x3081, 0x880B, b"\xff\x03\x00\x21" + v4, bytes(12))))),
        ("ipip", _eth(0x0800, _ipv4(4, v4))),
        ("6in4", _eth(0x0800, _ipv4(41, v6))),
        ("4in6", _eth(0x86DD, _ipv6(4, v4))),
        ("6in6", _eth(0x86DD, _ipv6(41, v6))),
        ("vxlan", _eth(0x0800, _ipv4(17, _udp(50000, 4789, vxlan + e4)))),
        ("vxlan_8472", _eth(0x86DD, _ipv6(17, _udp(8472, 50000, vxlan + e6)))),
        ("geneve", _eth(0x0800, _ipv4(17, _udp(50000, 6081, geneve + e4)))),
        ("gtpu", _eth(0x0800, _ipv4(17, _udp(2152, 2152, gtp + v4)))),
        ("teredo", _eth(0x0800, _ipv4(17, _udp(3544, 50000, teredo + v6)))),
        ("ayiya", _eth(0x0800, _ipv4(17, _udp(5072, 50000, ayiya + v6)))),
        ("nested_vxlan_gre_ipip", _eth(0x0800, _ipv4(4, _ipv4(47, _gre(0, 0x0800, _ipv4(17, _udp(1, 4789, vxlan + e4))))))),
        ("nested_too_deep", _eth(0x0800, nested)),
    ]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--captures", nargs="*", default=[])
    ap.add_argument("--names", nargs="*", default=[])
    ap.add_argument("--configs", nargs="*", default=[])
    a = ap.parse_args()
    dirs = {n: os.path.join(a.out, n) for n in ("decoder", "pcapfile", "names", "config", "batch")}
    for d in dirs.values():
        os.makedirs(d, exist_ok=True)
    n = 0
    for cap in a.captures:
        if os.path.getsize(cap) <= 1 << 20:
            shutil.copy(cap, os.path.join(dirs["pcapfile"], "%04d" % n))
        for i, fr in enumerate(frames(cap)):
            with open(os.path.join(dirs["decoder"], "%04d-%03d" % (n, i)), "wb") as f:
                f.write(fr)
        n += 1
    # First byte: the link type's index (1 = Ethernet); the high bit turns decapsulation off.
    for name, frame in tunnel_frames():
        for prefix, mode in ((0x01, "decap"), (0x81, "outer")):
            with open(os.path.join(dirs["decoder"], "tunnel-%s-%s" % (name, mode)), "wb") as f:
                f.write(bytes([prefix]) + frame)
    for i, p in enumerate(a.names):
        shutil.copy(p, os.path.join(dirs["names"], "%03d" % i))
    for i, p in enumerate(a.configs):
        shutil.copy(p, os.path.join(dirs["config"], "%03d" % i))


if __name__ == "__main__":
    main()
