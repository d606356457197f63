#!/usr/bin/env bash
# Fault injection 1, collector crashes: three sensors (sensor-1..3) replay generated captures
# at capture speed with a 250 ms flush interval (~300 batches each) to one collector, which is
# killed with SIGKILL and restarted on the same database and port at moments drawn from a
# fixed seed (printed), at least 10 times while the sensors run. Every sensor must exit 0
# (everything acked); then the stored totals, by connections and by packets, must equal the
# generator's truth exactly: nothing lost, nothing counted twice.
#
# usage: collector_crash.sh [--build-dir DIR] [--keep]
#   env: FAULT_SEED (kill moments, default 20261127), CAPTURE_SECONDS (default 75)
# Exit 0 pass, 1 fail, 77 skipped (binaries not built). Needs no root.
set -euo pipefail
SCENARIO=collector-crash
source "$(dirname "$0")/lib.sh"
faults_args "$@"
SEED=${FAULT_SEED:-20261127}
CAPTURE_SECONDS=${CAPTURE_SECONDS:-75}
FLUSH=250ms
MIN_KILLS=10
faults_init

START=$(( $(date -u +%s) - 3600 ))
say "generating 3 captures of ${CAPTURE_SECONDS}s (seeds 101..103)"
for i in 1 2 3; do
  gen "sensor-$i" $((100 + i)) "$START" "${CAPTURE_SECONDS}s" $((CAPTURE_SECONDS * 400)) \
    --synack-share 0.4 &
  GEN_PIDS+=($!)
done
wait_gen

start_collector 127.0.0.1:0
ADDR=127.0.0.1:$PORT
say "collector listening on $ADDR (pid $COLLECTOR_PID)"

# Kill schedule from the fixed seed: up for 1.5-5 s, then SIGKILL, down for 0.2-1.7 s, restart.
mapfile -t SCHEDULE < <(awk -v seed="$SEED" -v n=14 'BEGIN { srand(seed);
  for (i = 0; i < n; i++) printf "%.2f %.2f\n", 1.5 + 3.5 * rand(), 0.2 + 1.5 * rand() }')

T0=$(date +%s.%N)
declare -A SENSOR_PID
for i in 1 2 3; do
  s=sensor-$i
  "$SENSOR" --read "$WORK/$s.pcap" --replay-speed --collector "$ADDR" --spool "$WORK/spool-$s" \
    --flush-interval $FLUSH --ca "$PKI/ca.pem" --cert "$PKI/$s.pem" --key "$PKI/$s.key" \
    --drain-timeout 150s >"$WORK/$s.log" 2>&1 &
  SENSOR_PID[$s]=$!
  track $!
done

sensors_running() {
  local pid
  for pid in "${SENSOR_PID[@]}"; do
    kill -0 "$pid" 2>/dev/null && return 0
  done
  return 1
}

KILLS=0
MAX_BACKLOG=0
MOMENTS=()
for entry in "${SCHEDULE[@]}"; do
  read -r up down <<<"$entry"
  sleep "$up"
  sensors_running || break
  now=$(awk -v a="$(date +%s.%N)" -v b="$T0" 'BEGIN { printf "%.2f", a - b }')
  kill_collector
  KILLS=$((KILLS + 1))
  MOMENTS+=("${now}s(down ${down}s)")
  say "kill $KILLS: SIGKILL collector at t=${now}s, restart after ${down}s"
  sleep "$down"
  backlog=$(spool_backlog)
  MAX_BACKLOG=$(( backlog > MAX_BACKLOG ? backlog : MAX_BACKLOG ))
  start_collector "$ADDR"
done
say "kill moments (seed $SEED): ${MOMENTS[*]}"
[ "$KILLS" -ge "$MIN_KILLS" ] || fail "only $KILLS kills happened while the sensors ran (want >= $MIN_KILLS): the sensors finished too early"

wait_sensors sensor-1 sensor-2 sensor-3

check_totals "$ADDR" "" "$WORK"/sensor-{1,2,3}.truth.tsv

say "---- figures"
say "faults injected: $KILLS collector SIGKILLs+restarts (seed $SEED) over ${ELAPSED}s of replay; largest spool backlog at a restart: $MAX_BACKLOG batches"
batch_figures "$ADDR" "" sensor-1 sensor-2 sensor-3
say "collector streams closed cleanly acked $(sum_stream_acks) batches (streams cut by SIGKILL not counted)"
say "PASS"
