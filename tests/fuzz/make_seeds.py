#!/usr/bin/python3
"""Builds seed corpora for the fuzz targets from capture files (classic pcap only are split into
frames for the decoder; every capture is a seed for the file reader) and YAML files.

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
    for i, p in enumerate(a.names):
        shutil.copy(p, os.path.join(dirs["names"], "%03d" % i))
    for i, p in enumerate(a.configs):
        shutil.copy(p, os.path.join(dirs["config"], "%03d" % i))


if __name__ == "__main__":
    main()
