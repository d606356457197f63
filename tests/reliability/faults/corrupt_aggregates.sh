#!/usr/bin/env bash
# Fault injection 8, a flipped byte in a stored aggregate chunk (issue #10 item 8): a sensor
# replays a generated capture to a collector, which is stopped (its final checkpoint writes
# every bucket as checksummed chunks). One byte in the middle of a stored chunk is flipped with
# the sqlite3 command, and the collector restarted: it must log store_aggregates_corrupt,
# rebuild the aggregates from the batch log, and answer totals equal to the generator's truth
# exactly. Then the same damage with the batch log emptied: the collector must refuse to start
# (non-zero exit) with an error naming the database, never serve wrong totals.
#
# usage: corrupt_aggregates.sh [--build-dir DIR] [--keep]
#   env: CAPTURE_SECONDS (default 12)
# Exit 0 pass, 1 fail, 77 skipped (binaries or the sqlite3 command missing). Needs no root.
set -euo pipefail
SCENARIO=corrupt-aggregates
source "$(dirname "$0")/lib.sh"
faults_args "$@"
command -v sqlite3 >/dev/null || { say "SKIP: sqlite3 not found"; exit $SKIP_RC; }
CAPTURE_SECONDS=${CAPTURE_SECONDS:-12}
faults_init

START=$(( $(date -u +%s) - 3600 ))
gen sensor-1 801 "$START" "${CAPTURE_SECONDS}s" $((CAPTURE_SECONDS * 400)) --synack-share 0.4
start_collector 127.0.0.1:0
ADDR=127.0.0.1:$PORT
T0=$(date +%s.%N)
"$SENSOR" --read "$WORK/sensor-1.pcap" --replay-speed --collector "$ADDR" \
  --spool "$WORK/spool-sensor-1" --flush-interval 500ms --ca "$PKI/ca.pem" \
  --cert "$PKI/sensor-1.pem" --key "$PKI/sensor-1.key" --drain-timeout 150s \
  >"$WORK/sensor-1.log" 2>&1 &
declare -A SENSOR_PID=([sensor-1]=$!)
track "${SENSOR_PID[sensor-1]}"
wait_sensors sensor-1
check_totals "$ADDR" "" "$WORK/sensor-1.truth.tsv"
BEFORE=$FIG_STORED

# stop_collector: SIGTERM (a clean stop: final checkpoint), and reap it.
stop_collector() {
  kill -TERM "$COLLECTOR_PID" 2>/dev/null || true
  wait "$COLLECTOR_PID" 2>/dev/null || true
  untrack "$COLLECTOR_PID"
}

# flip_byte: flips byte 61 of the earliest stored chunk; prints "bucket chunk".
flip_byte() {
  sqlite3 "$DB" "SELECT bucket_ns, chunk FROM aggregate_chunks WHERE format >= 2
                 ORDER BY bucket_ns LIMIT 1" | tr '|' ' '
  sqlite3 "$DB" "UPDATE aggregate_chunks SET body = substr(body, 1, 60) ||
                   CASE WHEN substr(body, 61, 1) = x'5A' THEN x'A5' ELSE x'5A' END ||
                   substr(body, 62)
                 WHERE (bucket_ns, chunk) = (SELECT bucket_ns, chunk FROM aggregate_chunks
                                             WHERE format >= 2 ORDER BY bucket_ns LIMIT 1)"
}

stop_collector
CHUNKS=$(sqlite3 "$DB" "SELECT COUNT(*) FROM aggregate_chunks WHERE format >= 2")
FLIPPED=$(flip_byte)
say "flipped byte 61 of chunk '$FLIPPED' (of $CHUNKS chunks)"
start_collector "$ADDR"
grep -q 'store_aggregates_corrupt.*action=rebuild_from_log' "$WORK/collector.log" ||
  fail "the collector did not report the corrupt chunk and rebuild"
check_totals "$ADDR" "" "$WORK/sensor-1.truth.tsv"
AFTER=$FIG_STORED

stop_collector
flip_byte >/dev/null
sqlite3 "$DB" "DELETE FROM batch_log"
set +e
"$COLLECTOR" --listen "$ADDR" --db "$DB" --ca "$PKI/ca.pem" --cert "$PKI/collector.pem" \
  --key "$PKI/collector.key" >"$WORK/refused.log" 2>&1 &
REFUSED_PID=$!
track $REFUSED_PID
for _ in $(seq 1 100); do
  kill -0 "$REFUSED_PID" 2>/dev/null || break
  sleep 0.1
done
if kill -0 "$REFUSED_PID" 2>/dev/null; then
  fail "the collector started on corrupt aggregates it cannot rebuild"
fi
wait "$REFUSED_PID"
RC=$?
set -e
untrack "$REFUSED_PID"
[ "$RC" -ne 0 ] || fail "the collector exited 0 on corrupt aggregates it cannot rebuild"
grep -q "batch log lacks" "$WORK/refused.log" || { cat "$WORK/refused.log" >&2; fail "no clear refusal"; }

say "---- figures"
say "stored before the damage: $BEFORE; after the flipped byte and rebuild: $AFTER; truth $FIG_TRUTH"
say "rebuild: $(grep -o 'store_aggregates_corrupt.*' "$WORK/collector.log" | head -1 | cut -c1-200)"
say "without the log: exit $RC, $(grep -o 'batch log lacks[^;]*' "$WORK/refused.log" | head -1)"
say "PASS"
