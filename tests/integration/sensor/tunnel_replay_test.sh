#!/usr/bin/env bash
# Tunnels end-to-end through the kernel filter: the shared corpus's tunnel captures (ERSPAN,
# GRE, VXLAN, Geneve, GTP-U, AYIYA, Teredo, IPv4/IPv6 AH tunnel mode, PPTP) are replayed with
# tcpreplay into one end of a veth pair while synmap-sensor captures the other end with its
# BPF filter. By default it counts the 20 SYN/ACKs tshark finds at any depth; with
# --no-decapsulate the 5 directly after the outermost IP header.
# Usage: tunnel_replay_test.sh SENSOR COLLECTOR CLI MAKE_CERTS   (root; exits 77 = skipped)
SENSOR=$1 COLLECTOR=$2 CLI=$3 MAKE_CERTS=$4
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
require_env

PCAPS=${SYNMAP_PCAPS_DIR:-$HERE/../../../../shared/pcaps}
[ -d "$PCAPS" ] || skip "shared captures not found (../shared/pcaps beside the checkout, or set SYNMAP_PCAPS_DIR)"
CAPTURES=(zeek/erspan.pcap zeek/gre-sample.pcap zeek/vxlan-encapsulated-http.pcap
  zeek/vxlan-overlapping-http-get.pcap libpcap/vxlan.pcap tcpdump/geneve.pcap libpcap/geneve.pcap
  zeek/gtp2_different_udp_port.pcap zeek/ayiya3.pcap zeek/Teredo.pcap libpcap/AH-IPcomp-IPv4.pcap
  libpcap/AH-IPcomp-IPv6.pcap tcpdump/pptp.pcap)

NS="synmap-tun-$RUN_ID"
VA="ta$RUN_ID"
VB="tb$RUN_ID"
new_netns "$NS"
ip -n "$NS" link add "$VA" type veth peer name "$VB"
for v in "$VA" "$VB"; do
  ip -n "$NS" link set "$v" mtu 9000 up
done

make_certs
printf 'local_networks: ["0.0.0.0/0", "::/0"]\n' >"$WORK/names.yaml"
start_collector "$NS" "$WORK/names.yaml"

# replay_all SENSOR_FLAGS...: one sensor run (promiscuous: the frames are addressed to other
# hosts) over every capture; sets SYNACKS to the SYN/ACKs it counted.
replay_all() {
  start_sensor "$NS" "$VB" --promiscuous "$@"
  grep -q "capture_opened interface=$VB .*filtered=1" "$WORK/sensor.log" ||
    fail "the sensor did not install its kernel filter"
  for c in "${CAPTURES[@]}"; do
    ip netns exec "$NS" tcpreplay -q --topspeed -i "$VA" "$PCAPS/$c" >>"$WORK/tcpreplay.log" 2>&1 ||
      fail "tcpreplay failed on $c"
  done
  stop_sensor
  SYNACKS=$(sensor_total synacks)
  mv "$WORK/sensor.log" "$WORK/sensor-$RANDOM.log"
}

replay_all
[ "$SYNACKS" = 20 ] || fail "sensor counted $SYNACKS SYN/ACKs through the kernel filter, want 20"
replay_all --no-decapsulate
[ "$SYNACKS" = 5 ] || fail "sensor with --no-decapsulate counted $SYNACKS SYN/ACKs, want 5"
log "PASS"
