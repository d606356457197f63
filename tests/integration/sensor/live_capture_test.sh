#!/usr/bin/env bash
# Live end-to-end: a server and a client namespace joined by a veth pair; the client makes a
# known number of TCP connections to several ports over IPv4 and IPv6; synmap-sensor captures
# the server's end of the veth and streams to a real synmap-collector (mTLS, loopback inside
# the server namespace); `synmap summary --format tsv` must show exactly those connections.
# Usage: live_capture_test.sh SENSOR COLLECTOR CLI MAKE_CERTS   (root; exits 77 = skipped)
SENSOR=$1 COLLECTOR=$2 CLI=$3 MAKE_CERTS=$4
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
require_env

NS_S="synmap-srv-$RUN_ID"
NS_C="synmap-cli-$RUN_ID"
VETH_S="vs$RUN_ID"
VETH_C="vc$RUN_ID"
new_netns "$NS_S"
new_netns "$NS_C"
ip -n "$NS_S" link add "$VETH_S" type veth peer name "$VETH_C" netns "$NS_C"
ip -n "$NS_S" addr add 198.51.100.1/24 dev "$VETH_S"
ip -n "$NS_S" addr add 2001:db8::1/64 dev "$VETH_S" nodad
ip -n "$NS_C" addr add 198.51.100.2/24 dev "$VETH_C"
ip -n "$NS_C" addr add 2001:db8::2/64 dev "$VETH_C" nodad
ip -n "$NS_S" link set "$VETH_S" up
ip -n "$NS_C" link set "$VETH_C" up
# The connections must cross the veth the sensor watches, nothing else.
ip -n "$NS_C" route get 198.51.100.1 | grep -q "dev $VETH_C" || fail "IPv4 route not via $VETH_C"
ip -n "$NS_C" -6 route get 2001:db8::1 | grep -q "dev $VETH_C" || fail "IPv6 route not via $VETH_C"

make_certs
write_service_names
start_collector "$NS_S" "$WORK/names.yaml"
start_sensor "$NS_S" "$VETH_S"

ip netns exec "$NS_S" python3 "$HERE/tcp_peers.py" serve "$WORK/server.ready" 18080 18443 12222 \
  >"$WORK/server.log" 2>&1 &
PIDS+=($!)
wait_for "test server" 30 test -s "$WORK/server.ready"

# The plan, and the rows it must produce (count client server service).
PLAN=(4:18080:3 6:18080:2 4:18443:4 6:18443:1 4:12222:2)
printf '%s\t%s\t%s\t%s\n' \
  3 198.51.100.2 198.51.100.1 svc-a \
  2 2001:db8::2 2001:db8::1 svc-a \
  4 198.51.100.2 198.51.100.1 svc-b \
  1 2001:db8::2 2001:db8::1 svc-b \
  2 198.51.100.2 198.51.100.1 svc-c >"$WORK/expected.tsv"
made=$(ip netns exec "$NS_C" python3 "$HERE/tcp_peers.py" connect 198.51.100.1 2001:db8::1 \
  "${PLAN[@]}")
[ "$made" = 12 ] || fail "client made $made connections, want 12"
log "client made $made connections"

stop_sensor
synacks=$(sensor_total synacks)
[ "$synacks" = 12 ] || fail "sensor counted $synacks SYN/ACKs, want 12"
expect_rows "$NS_S" "$WORK/expected.tsv" 12
log "PASS"
