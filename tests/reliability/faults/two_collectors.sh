#!/usr/bin/env bash
# Fault injection 4, two collectors on one database (issue #10 item 1): a collector runs; a
# second one started on the same database file (another port, as a manual start beside the
# service would) must fail at start, exit non-zero, and name the file and the first one's pid.
# It is tried again while two sensors replay their captures to the first. The stored totals,
# by connections and by packets, must equal the generator's truth exactly.
#
# usage: two_collectors.sh [--build-dir DIR] [--keep]
#   env: CAPTURE_SECONDS (default 15)
# Exit 0 pass, 1 fail, 77 skipped (binaries not built). Needs no root.
set -euo pipefail
SCENARIO=two-collectors
source "$(dirname "$0")/lib.sh"
faults_args "$@"
CAPTURE_SECONDS=${CAPTURE_SECONDS:-15}
faults_init

START=$(( $(date -u +%s) - 3600 ))
for i in 1 2; do
  gen "sensor-$i" $((400 + i)) "$START" "${CAPTURE_SECONDS}s" $((CAPTURE_SECONDS * 400)) \
    --synack-share 0.4 &
  GEN_PIDS+=($!)
done
wait_gen

start_collector 127.0.0.1:0
ADDR=127.0.0.1:$PORT
FIRST_PID=$COLLECTOR_PID
say "collector 1 listening on $ADDR (pid $FIRST_PID), database $DB"

# second_collector N: starts another collector on the same database; it must exit non-zero
# within 15 s with an error naming the database and the holder's pid.
second_collector() {
  local n=$1 log=$WORK/second-$1.log pid rc=0 i
  "$COLLECTOR" --listen 127.0.0.1:0 --port-file "$WORK/second-$n.port" --db "$DB" \
    --ca "$PKI/ca.pem" --cert "$PKI/collector.pem" --key "$PKI/collector.key" >"$log" 2>&1 &
  pid=$!
  track $pid
  for i in $(seq 1 150); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    fail "second collector $n (pid $pid) is still running on the same database after 15 s"
  fi
  wait "$pid" || rc=$?
  untrack "$pid"
  [ "$rc" -ne 0 ] || fail "second collector $n exited 0"
  [ ! -s "$WORK/second-$n.port" ] || fail "second collector $n listened before failing"
  grep -q "$DB" "$log" || { cat "$log" >&2; fail "second collector $n's error does not name $DB"; }
  grep -q "pid $FIRST_PID" "$log" || { cat "$log" >&2; fail "second collector $n's error does not name pid $FIRST_PID"; }
  say "second collector $n refused at start: exit $rc: $(grep -o 'database .*' "$log" | head -1)"
}

second_collector 1

T0=$(date +%s.%N)
declare -A SENSOR_PID
for i in 1 2; do
  s=sensor-$i
  "$SENSOR" --read "$WORK/$s.pcap" --replay-speed --collector "$ADDR" --spool "$WORK/spool-$s" \
    --flush-interval 500ms --ca "$PKI/ca.pem" --cert "$PKI/$s.pem" --key "$PKI/$s.key" \
    --drain-timeout 120s >"$WORK/$s.log" 2>&1 &
  SENSOR_PID[$s]=$!
  track $!
done
sleep 4
second_collector 2  # While the sensors stream to the first one.
kill -0 "$FIRST_PID" || fail "collector 1 died"

wait_sensors sensor-1 sensor-2
check_totals "$ADDR" "" "$WORK"/sensor-{1,2}.truth.tsv

say "---- figures"
say "second collectors refused at start: 2 of 2 (exit non-zero, file and holder pid named); replay ${ELAPSED}s"
batch_figures "$ADDR" "" sensor-1 sensor-2
say "PASS"
