#!/usr/bin/env bash
# Fault injection 2, network path cut: the collector runs in one network namespace, three
# sensors in another, joined by a veth pair addressed from 198.51.100.0/24 only (collector
# 198.51.100.1, certificate SAN IP:198.51.100.1; sensors 198.51.100.2). The route between them
# is checked to go via the veth. During the replay the link is taken down (`ip link set DEV
# down`, alternately on the sensor and the collector side) for several seconds, a few times,
# at moments drawn from a fixed seed, then brought back up. Every sensor must exit 0 and the
# stored totals must equal the generator's truth exactly. Namespaces and veths are named per
# run and removed on every exit path.
#
# usage: path_cut.sh [--build-dir DIR] [--keep]
#   env: FAULT_SEED (cut moments, default 6100), CAPTURE_SECONDS (default 60)
# Exit 0 pass, 1 fail, 77 skipped (not root, no `ip netns`, binaries not built).
set -euo pipefail
SCENARIO=path-cut
source "$(dirname "$0")/lib.sh"
faults_args "$@"
require_root
SEED=${FAULT_SEED:-6100}
CAPTURE_SECONDS=${CAPTURE_SECONDS:-60}
FLUSH=250ms
CUTS=4
COLLECTOR_IP=198.51.100.1
SENSOR_IP=198.51.100.2
faults_init "IP:$COLLECTOR_IP"

# Per-run names (interface names stay under 16 characters).
TAG=$(printf '%04x%04x' $(($$ & 0xffff)) $((RANDOM & 0xffff)))
NS_C=synmap-fc-$TAG
NS_S=synmap-fs-$TAG
DEV_C=smc$TAG
DEV_S=sms$TAG
on_exit "ip netns del $NS_C 2>/dev/null"
on_exit "ip netns del $NS_S 2>/dev/null"
on_exit "ip link del $DEV_C 2>/dev/null"
ip netns add "$NS_C" || { say "SKIP: cannot create network namespaces here"; exit $SKIP_RC; }
ip netns add "$NS_S"
ip link add "$DEV_C" type veth peer name "$DEV_S"
ip link set "$DEV_C" netns "$NS_C"
ip link set "$DEV_S" netns "$NS_S"
ip -n "$NS_C" addr add "$COLLECTOR_IP/24" dev "$DEV_C"
ip -n "$NS_S" addr add "$SENSOR_IP/24" dev "$DEV_S"
for ns in "$NS_C" "$NS_S"; do ip -n "$ns" link set lo up; done
ip -n "$NS_C" link set "$DEV_C" up
ip -n "$NS_S" link set "$DEV_S" up
say "namespaces $NS_C ($DEV_C $COLLECTOR_IP) <-> $NS_S ($DEV_S $SENSOR_IP)"

# route_via NS ADDR DEV: ADDR is routed through DEV inside NS.
route_via() {
  local got
  got=$(ip -n "$1" route get "$2" 2>&1) || true
  say "ip -n $1 route get $2: $(tr -s '\n ' '  ' <<<"$got")"
  [[ " $got " == *" dev $3 "* ]]
}
route_via "$NS_S" "$COLLECTOR_IP" "$DEV_S" || fail "sensor namespace does not route $COLLECTOR_IP via $DEV_S"
route_via "$NS_C" "$SENSOR_IP" "$DEV_C" || fail "collector namespace does not route $SENSOR_IP via $DEV_C"

START=$(( $(date -u +%s) - 3600 ))
say "generating 3 captures of ${CAPTURE_SECONDS}s (seeds 201..203)"
for i in 1 2 3; do
  gen "sensor-$i" $((200 + i)) "$START" "${CAPTURE_SECONDS}s" $((CAPTURE_SECONDS * 400)) \
    --synack-share 0.4 &
  GEN_PIDS+=($!)
done
wait_gen

start_collector "$COLLECTOR_IP:0" "$NS_C"
ADDR=$COLLECTOR_IP:$PORT
say "collector listening on $ADDR in $NS_C (pid $COLLECTOR_PID)"

# Cut schedule from the fixed seed: up for 4-9 s, then down for 3-6 s.
mapfile -t SCHEDULE < <(awk -v seed="$SEED" -v n="$CUTS" 'BEGIN { srand(seed);
  for (i = 0; i < n; i++) printf "%.2f %.2f\n", 4 + 5 * rand(), 3 + 3 * rand() }')

T0=$(date +%s.%N)
declare -A SENSOR_PID
for i in 1 2 3; do
  s=sensor-$i
  ip netns exec "$NS_S" "$SENSOR" --read "$WORK/$s.pcap" --replay-speed --collector "$ADDR" \
    --spool "$WORK/spool-$s" --flush-interval $FLUSH --ca "$PKI/ca.pem" --cert "$PKI/$s.pem" \
    --key "$PKI/$s.key" --drain-timeout 150s >"$WORK/$s.log" 2>&1 &
  SENSOR_PID[$s]=$!
  track $!
done

CUT_DONE=0
DOWN_TOTAL=0
MAX_BACKLOG=0
MOMENTS=()
for entry in "${SCHEDULE[@]}"; do
  read -r up down <<<"$entry"
  sleep "$up"
  if [ $((CUT_DONE % 2)) -eq 0 ]; then side_ns=$NS_S side_dev=$DEV_S; else side_ns=$NS_C side_dev=$DEV_C; fi
  now=$(awk -v a="$(date +%s.%N)" -v b="$T0" 'BEGIN { printf "%.2f", a - b }')
  ip -n "$side_ns" link set "$side_dev" down
  CUT_DONE=$((CUT_DONE + 1))
  MOMENTS+=("${now}s(${down}s,$side_dev)")
  say "cut $CUT_DONE: $side_dev down at t=${now}s for ${down}s"
  route_via "$NS_S" "$COLLECTOR_IP" "$DEV_S" && say "(peer side down: no carrier, route kept)"
  sleep "$down"
  backlog=$(spool_backlog)
  MAX_BACKLOG=$(( backlog > MAX_BACKLOG ? backlog : MAX_BACKLOG ))
  ip -n "$side_ns" link set "$side_dev" up
  say "cut $CUT_DONE: $side_dev up again; unacked batches in the spools at that moment: $backlog"
  DOWN_TOTAL=$(awk -v a="$DOWN_TOTAL" -v b="$down" 'BEGIN { printf "%.2f", a + b }')
done
route_via "$NS_S" "$COLLECTOR_IP" "$DEV_S" || fail "route via $DEV_S did not come back after the cuts"
say "cut moments (seed $SEED): ${MOMENTS[*]}"
sensors_alive=0
for pid in "${SENSOR_PID[@]}"; do kill -0 "$pid" 2>/dev/null && sensors_alive=$((sensors_alive + 1)); done
say "sensors still replaying after the last cut: $sensors_alive of 3"
[ "$sensors_alive" -gt 0 ] || fail "the sensors finished before the cuts ended: faults did not hit a run"
# The cuts must have stalled the uplink (batches piled up unacked), or they tested nothing.
[ "$MAX_BACKLOG" -gt 0 ] || fail "no batch waited in a spool during any cut: the cuts did not hit the path"

wait_sensors sensor-1 sensor-2 sensor-3

check_totals "$ADDR" "$NS_S" "$WORK"/sensor-{1,2,3}.truth.tsv

say "---- figures"
say "faults injected: $CUT_DONE link cuts, ${DOWN_TOTAL}s down in total (seed $SEED), run ${ELAPSED}s; largest spool backlog at a cut's end: $MAX_BACKLOG batches"
batch_figures "$ADDR" "$NS_S" sensor-1 sensor-2 sensor-3
say "PASS"
