#!/usr/bin/env bash
# `synmap export` loaded into real firewalls: a capture with known SYN/ACKs (servers
# 198.51.100.1 and 2001:db8::1, port 18080) goes through a sensor to a collector; each export
# format (nftables fragment into "inet filter", iptables, ip6tables) is loaded into a server
# namespace whose input policy drops; from a client namespace over a veth pair a connection
# to the exported port must pass and one to an unexported port (18081) must be dropped.
# Usage: export_firewall_test.sh SENSOR COLLECTOR CLI MAKE_CERTS
# Needs root (namespaces, firewalls); exits 77 (skipped) otherwise.
SENSOR=$1 COLLECTOR=$2 CLI=$3 MAKE_CERTS=$4
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/../sensor/lib.sh"

[ "$(id -u)" -eq 0 ] || skip "export firewall test needs root (network namespaces, nftables)"
require_tools ip python3 openssl nft iptables-restore ip6tables-restore
probe="synmap-probe-$RUN_ID"
ip netns add "$probe" 2>/dev/null || skip "cannot create network namespaces here"
ip netns exec "$probe" nft list ruleset >/dev/null 2>&1 || { ip netns del "$probe"; skip "nftables unusable here"; }
ip netns del "$probe"

# --- data: 5 IPv4 and 5 IPv6 handshakes to port 18080, through a real sensor and collector ---
python3 "$HERE/../sensor/gen_synack_pcap.py" --out "$WORK/capture.pcap" \
  --group synack:4:5:18080 --group synack:6:5:18080 >/dev/null
make_certs
printf 'local_networks: ["198.51.100.0/24", "2001:db8::/32"]\n' >"$WORK/names.yaml"
start_collector "" "$WORK/names.yaml"
"$SENSOR" --read "$WORK/capture.pcap" --spool "$WORK/spool" --flush-interval 1s \
  --collector "127.0.0.1:$COLLECTOR_PORT" --drain-timeout 60s --ca "$WORK/certs/ca.pem" \
  --cert "$WORK/certs/sensor-it.pem" --key "$WORK/certs/sensor-it.key" \
  --log-file "$WORK/sensor.log" || fail "sensor --read failed"

export_rules() {  # FORMAT [flags...] > file
  "$CLI" export --collector "127.0.0.1:$COLLECTOR_PORT" --ca "$WORK/certs/ca.pem" \
    --cert "$WORK/certs/reader-it.pem" --key "$WORK/certs/reader-it.key" --format "$@" \
    2>>"$WORK/export.log"
}
export_rules nftables >"$WORK/rules.nft" || fail "export nftables: $(cat "$WORK/export.log")"
export_rules iptables >"$WORK/rules.ipt" || fail "export iptables: $(cat "$WORK/export.log")"
export_rules ip6tables >"$WORK/rules.ip6t" || fail "export ip6tables: $(cat "$WORK/export.log")"
grep -q "198.51.100.1 . 18080" "$WORK/rules.nft" || fail "no IPv4 element in: $(cat "$WORK/rules.nft")"
grep -q "2001:db8::1 . 18080" "$WORK/rules.nft" || fail "no IPv6 element in: $(cat "$WORK/rules.nft")"

# --- network: client namespace -- veth -- server namespace, documentation addresses ---------
SRV="synmap-fw-srv-$RUN_ID" CLT="synmap-fw-clt-$RUN_ID"
new_netns "$SRV"
new_netns "$CLT"
ip link add "fws$RUN_ID" netns "$SRV" type veth peer name "fwc$RUN_ID" netns "$CLT"
ip -n "$SRV" addr add 198.51.100.1/24 dev "fws$RUN_ID"
ip -n "$SRV" addr add 2001:db8::1/64 dev "fws$RUN_ID" nodad
ip -n "$CLT" addr add 198.51.100.2/24 dev "fwc$RUN_ID"
ip -n "$CLT" addr add 2001:db8::2/64 dev "fwc$RUN_ID" nodad
ip -n "$SRV" link set "fws$RUN_ID" up
ip -n "$CLT" link set "fwc$RUN_ID" up
for dst in 198.51.100.1 2001:db8::1; do
  ip -n "$CLT" route get "$dst" | grep -q "dev fwc$RUN_ID" ||
    fail "route to $dst is not the veth: $(ip -n "$CLT" route get "$dst")"
done

# Listeners on the exported port and on one the export does not name, both families.
ip netns exec "$SRV" python3 -c '
import socket, threading
def serve(port):
    s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("::", port)); s.listen(16)
    while True:
        s.accept()[0].close()
for p in (18080, 18081):
    threading.Thread(target=serve, args=(p,), daemon=True).start()
threading.Event().wait()
' &
PIDS+=($!)

# connects ADDR PORT: 0 when a TCP connection is established within 2 s.
connects() {
  ip netns exec "$CLT" python3 -c '
import socket, sys
try:
    socket.create_connection((sys.argv[1], int(sys.argv[2])), timeout=2).close()
except OSError:
    sys.exit(1)
' "$1" "$2"
}
wait_for "listeners" 10 connects 198.51.100.1 18081

# expect VARIANT ADDR: the exported port passes, the other is dropped.
expect() {
  connects "$2" 18080 || fail "$1: connection to exported $2 port 18080 was blocked"
  if connects "$2" 18081; then fail "$1: connection to unexported $2 port 18081 passed"; fi
  log "$1: $2 port 18080 passes, 18081 dropped"
}

reset_firewall() { ip netns exec "$SRV" nft flush ruleset; }

# nftables: the user's own table and input chain (policy drop), the fragment loaded into it
# (twice: reloading replaces), and a jump to its chain.
in_srv=(ip netns exec "$SRV")
"${in_srv[@]}" nft add table inet filter
"${in_srv[@]}" nft 'add chain inet filter input { type filter hook input priority 0; policy drop; }'
"${in_srv[@]}" nft add rule inet filter input iif lo accept
"${in_srv[@]}" nft add rule inet filter input meta l4proto ipv6-icmp accept
"${in_srv[@]}" nft -f "$WORK/rules.nft" || fail "nft -f refused the export: $(cat "$WORK/rules.nft")"
"${in_srv[@]}" nft -f "$WORK/rules.nft" || fail "nft -f refused the export loaded a second time"
"${in_srv[@]}" nft add rule inet filter input jump synmap_allow
expect nftables 198.51.100.1
expect nftables 2001:db8::1
reset_firewall

# iptables: policy drop, the export restored without flushing, a jump to its chain.
"${in_srv[@]}" iptables -P INPUT DROP
"${in_srv[@]}" iptables -A INPUT -i lo -j ACCEPT
"${in_srv[@]}" iptables-restore --noflush <"$WORK/rules.ipt" ||
  fail "iptables-restore refused the export: $(cat "$WORK/rules.ipt")"
"${in_srv[@]}" iptables -A INPUT -j SYNMAP_ALLOW
expect iptables 198.51.100.1
reset_firewall

"${in_srv[@]}" ip6tables -P INPUT DROP
"${in_srv[@]}" ip6tables -A INPUT -i lo -j ACCEPT
"${in_srv[@]}" ip6tables -A INPUT -p ipv6-icmp -j ACCEPT
"${in_srv[@]}" ip6tables-restore --noflush <"$WORK/rules.ip6t" ||
  fail "ip6tables-restore refused the export: $(cat "$WORK/rules.ip6t")"
"${in_srv[@]}" ip6tables -A INPUT -j SYNMAP_ALLOW
expect ip6tables 2001:db8::1
log "PASS"
