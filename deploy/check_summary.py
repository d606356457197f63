#!/usr/bin/python3
"""Checks a `synmap summary --format tsv` against generator truth files.

An independent re-implementation of the naming rules of DESIGN.md ("Naming"): local networks by
longest prefix, host names, service overrides, the system's TCP service table, up:PORT, and `_`
for non-local hosts. Truth files (one per sensor) are summed. Exits 1 on any difference.
"""
import argparse
import collections
import ipaddress
import sys

import yaml


def system_services(path="/etc/services"):
    table = {}
    try:
        with open(path) as f:
            for line in f:
                line = line.split("#", 1)[0].split()
                if len(line) >= 2 and line[1].endswith("/tcp"):
                    port = int(line[1].split("/")[0])
                    table.setdefault(port, line[0])
    except OSError:
        pass
    return table


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--names", default="", help="names file; without it every address is local")
    ap.add_argument("--summary", required=True)
    ap.add_argument("--count", default="connections", choices=["connections", "packets"])
    ap.add_argument("truth", nargs="+")
    args = ap.parse_args()

    names = (yaml.safe_load(open(args.names)) or {}) if args.names else {}
    nets = [ipaddress.ip_network(n, strict=False) for n in names.get("local_networks", [])]
    hosts = {}
    for name, ips in (names.get("hosts") or {}).items():
        for ip in ips:
            hosts[ipaddress.ip_address(ip)] = name
    overrides = {int(k): v for k, v in (names.get("services") or {}).items()}
    system = system_services()

    def host(ip):
        a = ipaddress.ip_address(ip)
        if a in hosts:
            return hosts[a]
        if not nets or any(a in n for n in nets):
            return str(a)
        return "_"

    def service(port):
        return overrides.get(port) or system.get(port) or "up:%d" % port

    expected = collections.Counter()
    for path in args.truth:
        with open(path) as f:
            header = f.readline().rstrip("\n").lstrip("#").split("\t")
            col = {name: i for i, name in enumerate(header)}
            for line in f:
                if not line.strip():
                    continue
                v = line.rstrip("\n").split("\t")
                key = (host(v[col["client_ip"]]), host(v[col["server_ip"]]),
                       service(int(v[col["server_port"]])))
                expected[key] += int(v[col[args.count]])

    got = collections.Counter()
    with open(args.summary) as f:
        header = f.readline().rstrip("\n").split("\t")
        col = {name: i for i, name in enumerate(header)}
        for line in f:
            v = line.rstrip("\n").split("\t")
            got[(v[col["client"]], v[col["server"]], v[col["service"]])] += int(v[col["count"]])

    missing = {k: c for k, c in expected.items() if got.get(k) != c}
    extra = {k: c for k, c in got.items() if k not in expected}
    if missing or extra:
        for k, c in sorted(missing.items())[:20]:
            print("check: expected %d for %s, got %s" % (c, k, got.get(k)), file=sys.stderr)
        for k, c in sorted(extra.items())[:20]:
            print("check: unexpected row %s = %d" % (k, c), file=sys.stderr)
        print("check: summary differs from truth: %d wrong, %d unexpected rows"
              % (len(missing), len(extra)), file=sys.stderr)
        return 1
    print("check: summary equals the generated truth: %d rows, %d %s"
          % (len(expected), sum(expected.values()), args.count), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
