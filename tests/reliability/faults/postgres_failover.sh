#!/usr/bin/env bash
# Fault injection, scale-out (issue #11): two collectors share one PostgreSQL 15 database
# (started here: initdb into the work directory, unix socket only); three sensors replay their
# captures listing both collectors. Collector A is SIGKILLed and restarted ten times at seeded
# moments while the sensors fail over to B and back, and PostgreSQL itself is restarted once
# mid-stream (both collectors refuse batches meanwhile; the sensors spool). Then the stored
# totals, by connections and by packets, must equal the generator's truth exactly on each
# collector, and `synmap summary` from A and from B must be identical.
#
# usage: postgres_failover.sh [--build-dir DIR] [--keep]
#   env: CAPTURE_SECONDS (default 45), FAULT_SEED
# Exit 0 pass, 1 fail, 77 skipped (binaries not built or PostgreSQL 15 not installed).
set -euo pipefail
SCENARIO=postgres-failover
source "$(dirname "$0")/lib.sh"
faults_args "$@"
SEED=${FAULT_SEED:-20261203}
CAPTURE_SECONDS=${CAPTURE_SECONDS:-45}
FLUSH=250ms
KILLS_WANTED=10
faults_init

PG=$ROOT/tests/testing/postgres_server.sh  # Also restarts it below.
start_postgres

START=$(( $(date -u +%s) - 3600 ))
say "generating 3 captures of ${CAPTURE_SECONDS}s (seeds 201..203)"
for i in 1 2 3; do
  gen "sensor-$i" $((200 + i)) "$START" "${CAPTURE_SECONDS}s" $((CAPTURE_SECONDS * 400)) \
    --synack-share 0.4 &
  GEN_PIDS+=($!)
done
wait_gen

# start_named NAME LISTEN: a collector on the shared database; sets PID_<NAME>, PORT_<NAME>.
start_named() {
  local name=$1 listen=$2 port_file=$WORK/collector-$1.port pid i
  rm -f "$port_file"
  "$COLLECTOR" --listen "$listen" --port-file "$port_file" --db "$DB" \
    --ca "$PKI/ca.pem" --cert "$PKI/collector.pem" --key "$PKI/collector.key" \
    >>"$WORK/collector-$name.log" 2>&1 &
  pid=$!
  track $pid
  for i in $(seq 1 300); do
    [ -s "$port_file" ] && break
    kill -0 "$pid" 2>/dev/null || { tail -20 "$WORK/collector-$name.log" >&2; fail "collector $name exited at start"; }
    sleep 0.05
  done
  [ -s "$port_file" ] || fail "collector $name did not listen within 15 s"
  printf -v "PID_$name" '%s' "$pid"
  printf -v "PORT_$name" '%s' "$(cat "$port_file")"
}

start_named A 127.0.0.1:0
start_named B 127.0.0.1:0
ADDR_A=127.0.0.1:$PORT_A
ADDR_B=127.0.0.1:$PORT_B
say "collector A on $ADDR_A (pid $PID_A), collector B on $ADDR_B (pid $PID_B)"

T0=$(date +%s.%N)
declare -A SENSOR_PID
for i in 1 2 3; do
  s=sensor-$i
  # Sensor 2 prefers B; the others prefer A (the one that keeps dying).
  if [ "$i" -eq 2 ]; then first=$ADDR_B second=$ADDR_A; else first=$ADDR_A second=$ADDR_B; fi
  "$SENSOR" --read "$WORK/$s.pcap" --replay-speed --collector "$first" --collector "$second" \
    --spool "$WORK/spool-$s" --flush-interval $FLUSH --ca "$PKI/ca.pem" --cert "$PKI/$s.pem" \
    --key "$PKI/$s.key" --drain-timeout 150s >"$WORK/$s.log" 2>&1 &
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

mapfile -t SCHEDULE < <(awk -v seed="$SEED" -v n=$KILLS_WANTED 'BEGIN { srand(seed);
  for (i = 0; i < n; i++) printf "%.2f %.2f\n", 1.5 + 2.5 * rand(), 0.2 + 1.2 * rand() }')
KILLS=0
PG_RESTARTED=""
MOMENTS=()
for entry in "${SCHEDULE[@]}"; do
  read -r up down <<<"$entry"
  sleep "$up"
  sensors_running || break
  now=$(awk -v a="$(date +%s.%N)" -v b="$T0" 'BEGIN { printf "%.2f", a - b }')
  kill -KILL "$PID_A" 2>/dev/null || true
  wait "$PID_A" 2>/dev/null || true
  untrack "$PID_A"
  KILLS=$((KILLS + 1))
  MOMENTS+=("${now}s(down ${down}s)")
  say "kill $KILLS: SIGKILL collector A at t=${now}s, restart after ${down}s"
  if [ "$KILLS" -eq 5 ]; then
    # Midway: PostgreSQL goes down too (fast shutdown ends every session) for 2 s.
    say "restarting PostgreSQL at t=${now}s (down 2 s)"
    bash "$PG" stop "$WORK/pg"
    sleep 2
    bash "$PG" start "$WORK/pg" >/dev/null 2>>"$WORK/pg-start.log" || fail "PostgreSQL did not restart"
    PG_RESTARTED="at t=${now}s"
  fi
  sleep "$down"
  start_named A "$ADDR_A"
done
say "kill moments (seed $SEED): ${MOMENTS[*]}"
[ "$KILLS" -ge "$KILLS_WANTED" ] || fail "only $KILLS kills happened while the sensors ran (want $KILLS_WANTED): the sensors finished too early"
[ -n "$PG_RESTARTED" ] || fail "PostgreSQL was not restarted mid-stream"

wait_sensors sensor-1 sensor-2 sensor-3
sleep 3  # Each collector follows the other's commits within a second.

TRUTH=("$WORK"/sensor-{1,2,3}.truth.tsv)
check_totals "$ADDR_A" "" "${TRUTH[@]}"
say "collector A: rows=$FIG_ROWS stored $FIG_STORED truth $FIG_TRUTH"
cp "$WORK/summary-connections.tsv" "$WORK/summary-A.tsv"
check_totals "$ADDR_B" "" "${TRUTH[@]}"
say "collector B: rows=$FIG_ROWS stored $FIG_STORED truth $FIG_TRUTH"
cp "$WORK/summary-connections.tsv" "$WORK/summary-B.tsv"
for c in A B; do
  addr_var=ADDR_$c
  query "${!addr_var}" "" summary >"$WORK/summary-text-$c.txt" 2>/dev/null ||
    fail "synmap summary from collector $c failed"
done
cmp -s "$WORK/summary-A.tsv" "$WORK/summary-B.tsv" ||
  { diff "$WORK/summary-A.tsv" "$WORK/summary-B.tsv" | head >&2; fail "summary tsv differs between A and B"; }
cmp -s "$WORK/summary-text-A.txt" "$WORK/summary-text-B.txt" ||
  { diff "$WORK/summary-text-A.txt" "$WORK/summary-text-B.txt" | head >&2; fail "summary differs between A and B"; }
say "synmap summary identical from A and B ($(wc -l <"$WORK/summary-text-A.txt") lines)"

say "---- figures"
say "faults injected: $KILLS SIGKILLs+restarts of collector A (seed $SEED), PostgreSQL restarted $PG_RESTARTED, over ${ELAPSED}s of replay"
batch_figures "$ADDR_B" "" sensor-1 sensor-2 sensor-3
say "database outages logged: A $(grep -c store_database_unreachable "$WORK/collector-A.log" || true), B $(grep -c store_database_unreachable "$WORK/collector-B.log" || true); refused streams (sensor_already_connected or store): $(cat "$WORK"/collector-*.log | grep -c ingest_refused || true)"
say "PASS"
