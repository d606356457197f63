#!/usr/bin/env bash
# Benchmarks live capture (issue #4): replays a generated capture with `tcpreplay --topspeed`
# into one end of a veth pair (inside a network namespace made for the run) while
# synmap-sensor captures the other end and streams to a real synmap-collector on loopback.
# Prints: frames and pps offered, SYN/ACKs counted vs sent, kernel and interface drops, and
# the sensor's CPU time (whole run: start, replay, flush, drain) and peak RSS. Fails if the sensor counted more SYN/ACKs than were sent,
# or fewer while reporting no drops (that would be a silent loss). Needs root.
#
# usage: bench/sensor_replay_bench.sh [--small] [--frames N] [--build-dir DIR]
#                                     [--buffer-size BYTES] [--loops N]
#   --small        20,000 frames (seconds; for CI); default 1,000,000
#   --frames N     frames per replay (rounded to 100; 30% SYN/ACKs: 25% IPv4, 5% IPv6 in
#                  an 802.1Q tag; the rest ACKs and UDP)
#   --loops N      replays of the capture (tcpreplay --loop); default 1
#   --buffer-size  the sensor's kernel ring size (default: the sensor's, 8 MiB)
#   --build-dir    where sensor/, collector/server/ binaries are (default $SYNMAP_BUILD_DIR
#                  or <repo>/build)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${SYNMAP_BUILD_DIR:-$ROOT/build}
FRAMES=1000000
LOOPS=1
BUFFER=""
while [ $# -gt 0 ]; do
  case "$1" in
    --small) FRAMES=20000 ;;
    --frames) FRAMES=$2; shift ;;
    --loops) LOOPS=$2; shift ;;
    --buffer-size) BUFFER=$2; shift ;;
    --build-dir) BUILD=$2; shift ;;
    -h|--help) sed -n '2,20p' "$0"; exit 0 ;;
    *) echo "sensor_replay_bench: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done

SENSOR=$BUILD/sensor/synmap-sensor
COLLECTOR=$BUILD/collector/server/synmap-collector
CLI=$BUILD/cli/synmap
MAKE_CERTS=$ROOT/deploy/make-certs.sh
source "$ROOT/tests/integration/sensor/lib.sh"
require_env

REPS=$(( FRAMES / 100 ))
[ "$REPS" -ge 1 ] || fail "--frames must be at least 100"
NS="synmap-bench-$RUN_ID"
VA="ba$RUN_ID"
VB="bb$RUN_ID"
new_netns "$NS"
ip -n "$NS" link add "$VA" type veth peer name "$VB"
ip -n "$NS" link set "$VA" up
ip -n "$NS" link set "$VB" up
MAC_B=$(ip netns exec "$NS" cat "/sys/class/net/$VB/address")

log "generating $((REPS * 100)) frames"
python3 "$ROOT/tests/integration/sensor/gen_synack_pcap.py" --out "$WORK/bench.pcap" \
  --dst-mac "$MAC_B" --repeat "$REPS" \
  --group synack:4:25:443 --group synack:6:5:8443:8100.7 --group ack:4:50:443 \
  --group udp:4:20:53 >/dev/null
SENT_SYNACKS=$(( REPS * 30 * LOOPS ))

make_certs
printf 'local_networks: ["198.51.100.0/24", "2001:db8::/32"]\n' >"$WORK/names.yaml"
start_collector "$NS" "$WORK/names.yaml"
SENSOR_DRAIN_TIMEOUT=120s start_sensor "$NS" "$VB" ${BUFFER:+--buffer-size "$BUFFER"}

ip netns exec "$NS" tcpreplay --topspeed --loop "$LOOPS" -i "$VA" "$WORK/bench.pcap" \
  >"$WORK/tcpreplay.log" 2>&1 || fail "tcpreplay failed"
stop_sensor

exit_field() { grep sensor_exit "$WORK/sensor.log" | tail -1 | tr ' ' '\n' | sed -n "s/^$1=//p"; }
SENT=$(sed -n 's/.*Successful packets: *\([0-9]*\).*/\1/p' "$WORK/tcpreplay.log")
PPS=$(sed -n 's/^Rated: .* \([0-9.]*\) pps.*/\1/p' "$WORK/tcpreplay.log")
SECONDS_TAKEN=$(sed -n 's/^Actual: .* in \([0-9.]*\) seconds.*/\1/p' "$WORK/tcpreplay.log")
COUNTED=$(sensor_total synacks)
RECEIVED=$(sensor_total packets)
KDROPS=$(sensor_total kernel_drops)
IFDROPS=$(sensor_total interface_drops)
CPU_USER=$(exit_field cpu_user_s)
CPU_SYS=$(exit_field cpu_sys_s)
RSS_KB=$(exit_field max_rss_kb)

echo
echo "sensor replay benchmark ($(nproc) cores; veth; tcpreplay --topspeed)"
printf '  %-34s %s\n' "frames offered" "$SENT in ${SECONDS_TAKEN}s" \
  "rate offered" "${PPS} pps" \
  "SYN/ACKs sent" "$SENT_SYNACKS" \
  "SYN/ACKs counted" "$COUNTED" \
  "frames past the kernel filter" "$RECEIVED" \
  "kernel drops / interface drops" "$KDROPS / $IFDROPS" \
  "sensor CPU, whole run (user/sys)" "${CPU_USER}s / ${CPU_SYS}s" \
  "sensor peak RSS" "$((RSS_KB / 1024)) MiB"
echo

[ "$COUNTED" -le "$SENT_SYNACKS" ] || fail "counted $COUNTED SYN/ACKs but only $SENT_SYNACKS were sent"
if [ "$COUNTED" -lt "$SENT_SYNACKS" ] && [ "$KDROPS" -eq 0 ] && [ "$IFDROPS" -eq 0 ]; then
  fail "counted $COUNTED of $SENT_SYNACKS SYN/ACKs with no drop reported: a silent loss"
fi
stored=$(collector_synacks)
[ "$stored" = "$COUNTED" ] || fail "collector stored $stored SYN/ACKs, the sensor counted $COUNTED"
log "bench: ok"
