#!/usr/bin/env bash
# VLAN end-to-end: this kernel has no VLAN devices, so VLAN-tagged frames (a generated pcap
# with known SYN/ACKs: untagged, 802.1Q, QinQ, triple-tagged, plus non-SYN/ACK noise) are
# replayed with tcpreplay into one end of a veth pair while synmap-sensor captures the other
# end (the kernel strips the outer tag into metadata there: the filter and libpcap must cope).
# Usage: vlan_replay_test.sh SENSOR COLLECTOR CLI MAKE_CERTS   (root; exits 77 = skipped)
SENSOR=$1 COLLECTOR=$2 CLI=$3 MAKE_CERTS=$4
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
require_env

NS="synmap-vlan-$RUN_ID"
VA="va$RUN_ID"
VB="vb$RUN_ID"
new_netns "$NS"
ip -n "$NS" link add "$VA" type veth peer name "$VB"
ip -n "$NS" link set "$VA" up
ip -n "$NS" link set "$VB" up
MAC_B=$(ip netns exec "$NS" cat "/sys/class/net/$VB/address")

python3 "$HERE/gen_synack_pcap.py" --out "$WORK/vlan.pcap" --dst-mac "$MAC_B" \
  --group synack:4:5:18080 \
  --group synack:4:7:18080:8100.100 \
  --group synack:6:3:18443:88a8.10+8100.20 \
  --group synack:4:2:12222:88a8.10+8100.20+8100.30 \
  --group syn:4:10:18080:8100.100 \
  --group ack:6:10:18443:88a8.10+8100.20 \
  --group udp:4:10:53:8100.5 >/dev/null
printf '%s\t%s\t%s\t%s\n' \
  12 198.51.100.2 198.51.100.1 svc-a \
  3 2001:db8::2 2001:db8::1 svc-b \
  2 198.51.100.2 198.51.100.1 svc-c >"$WORK/expected.tsv"

make_certs
write_service_names
start_collector "$NS" "$WORK/names.yaml"
# Capture keeps working after the sensor drops root (the ring was opened before).
DROP_USER=()
if id nobody >/dev/null 2>&1; then
  chmod 711 "$WORK"
  mkdir "$WORK/spool"
  chown nobody "$WORK/spool"
  DROP_USER=(--user nobody)
fi
start_sensor "$NS" "$VB" "${DROP_USER[@]}"
if [ ${#DROP_USER[@]} -gt 0 ]; then
  grep -q "privileges_dropped user=nobody" "$WORK/sensor.log" || fail "sensor did not drop root"
  [ "$(stat -c %u "/proc/$SENSOR_PID")" = "$(id -u nobody)" ] || fail "sensor still runs as root"
fi

ip netns exec "$NS" tcpreplay -q -i "$VA" "$WORK/vlan.pcap" >"$WORK/tcpreplay.log" 2>&1 ||
  fail "tcpreplay failed"
grep -q "Successful packets: *47" "$WORK/tcpreplay.log" || fail "tcpreplay did not send 47 frames"

# Frames handed to a veth are delivered before tcpreplay returns; the final flush on SIGTERM
# takes whatever is still in the capture buffer.
stop_sensor
synacks=$(sensor_total synacks)
[ "$synacks" = 17 ] || fail "sensor counted $synacks SYN/ACKs, want 17"
expect_rows "$NS" "$WORK/expected.tsv" 17
log "PASS"
