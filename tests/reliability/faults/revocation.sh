#!/usr/bin/env bash
# Revocation while sensors stream (issue #12): three sensors replay their captures to the
# collector; while they stream, `synmap-collector revoke sensor-2` is run against the database
# the collector has open. The collector must close sensor-2's stream within 5 s
# (PERMISSION_DENIED "revoked: ..."), count it (refusal reason revoked) and log it; sensor-2 must
# log that it is revoked and back off slowly, keeping every unacknowledged batch in its spool.
# Restarted with its old certificate, sensor-2 is refused at its next stream. Sensors 1 and 3
# are unaffected (exit 0, everything acked). Then sensor-2 gets a certificate issued after the
# revocation (re-enrolment after the stolen router is replaced): restarted with its old spool and
# an empty capture it is accepted and drains the spool, and the stored totals of all three
# sensors, by connections and by packets, must equal the generators' truth exactly: nothing
# sensor-2 captured before the revocation is lost.
#
# With REVOCATION_DB=postgres (PostgreSQL 15, started here) two collectors share the database:
# sensor-2 streams to collector B, the revocation is made with the database URI, B closes the
# stream, and sensor-2's next stream, to collector A, is refused by A too.
#
# usage: revocation.sh [--build-dir DIR] [--keep]
#   env: CAPTURE_SECONDS (default 14), REVOCATION_DB (sqlite or postgres, default sqlite)
# Exit 0 pass, 1 fail, 77 skipped (binaries not built; PostgreSQL 15 missing). Needs no root.
set -euo pipefail
SCENARIO=revocation-${REVOCATION_DB:-sqlite}
source "$(dirname "$0")/lib.sh"
faults_args "$@"
CAPTURE_SECONDS=${CAPTURE_SECONDS:-14}
BACKEND=${REVOCATION_DB:-sqlite}
faults_init

[ "$BACKEND" != postgres ] || start_postgres

START=$(( $(date -u +%s) - 3600 ))
for i in 1 2 3; do
  gen "sensor-$i" $((600 + i)) "$START" "${CAPTURE_SECONDS}s" $((CAPTURE_SECONDS * 400)) \
    --synack-share 0.4 &
  GEN_PIDS+=($!)
done
wait_gen
# An empty capture (pcap header only, Ethernet): a restarted sensor only drains its spool.
printf '\xd4\xc3\xb2\xa1\x02\x00\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\xff\xff\x00\x00\x01\x00\x00\x00' \
  >"$WORK/empty.pcap"

# start_named NAME: a collector on the database; sets ADDR_<NAME> and LOG_<NAME>.
start_named() {
  local name=$1
  : >"$WORK/collector.log"
  start_collector 127.0.0.1:0
  mv "$WORK/collector.log" "$WORK/collector-$name.log"
  # Later lines of this collector still go to the moved file (same inode).
  printf -v "ADDR_$name" '%s' "127.0.0.1:$PORT"
  printf -v "PID_$name" '%s' "$COLLECTOR_PID"
}
start_named A
if [ "$BACKEND" = postgres ]; then
  start_named B
else
  ADDR_B=$ADDR_A
fi
LOG_A=$WORK/collector-A.log
LOG_B=$WORK/collector-B.log
[ "$BACKEND" = postgres ] || LOG_B=$LOG_A
say "collectors: A $ADDR_A, B $ADDR_B ($BACKEND)"

# run_sensor NAME CAPTURE ADDR LOG: a sensor process; its pid goes to SENSOR_PID[NAME].
declare -A SENSOR_PID
run_sensor() {
  local s=$1 capture=$2 addr=$3 log=$4
  "$SENSOR" --read "$capture" --replay-speed --collector "$addr" --spool "$WORK/spool-$s" \
    --flush-interval 500ms --ca "$PKI/ca.pem" --cert "$PKI/$s.pem" --key "$PKI/$s.key" \
    --drain-timeout 120s >"$log" 2>&1 &
  SENSOR_PID[$s]=$!
  track $!
}

# wait_for FILE PATTERN SECONDS: waits until PATTERN (grep -E) is in FILE; fails after SECONDS.
wait_for() {
  local file=$1 pattern=$2 seconds=$3 i
  for i in $(seq 1 $((seconds * 20))); do
    grep -qE -- "$pattern" "$file" 2>/dev/null && return 0
    sleep 0.05
  done
  fail "no '$pattern' in $file within ${seconds}s"
}

T0=$(date +%s.%N)
run_sensor sensor-1 "$WORK/sensor-1.pcap" "$ADDR_A" "$WORK/sensor-1.log"
run_sensor sensor-2 "$WORK/sensor-2.pcap" "$ADDR_B" "$WORK/sensor-2.log"
run_sensor sensor-3 "$WORK/sensor-3.pcap" "$ADDR_A" "$WORK/sensor-3.log"
wait_for "$WORK/sensor-2.log" 'uplink_connected' 20
sleep 3  # Let sensor-2 commit some batches first.

REVOKE_AT=$(date +%s.%N)
"$COLLECTOR" revoke sensor-2 --reason "router stolen" --db "$DB" >"$WORK/revoke.out" 2>&1 ||
  { cat "$WORK/revoke.out" >&2; fail "synmap-collector revoke failed"; }
say "$(cat "$WORK/revoke.out")"
wait_for "$LOG_B" 'ingest_stream_closed sensor=sensor-2 .*status=PERMISSION_DENIED: revoked' 5
CLOSED_AFTER=$(awk -v a="$(date +%s.%N)" -v b="$REVOKE_AT" 'BEGIN { printf "%.2f", a - b }')
say "collector closed sensor-2's stream ${CLOSED_AFTER}s after the revoke command returned or sooner"
wait_for "$WORK/sensor-2.log" 'uplink_identity_refused .*revoked: the certificate' 5
say "sensor-2: $(grep -o 'uplink_identity_refused .*' "$WORK/sensor-2.log" | head -1 | cut -c1-260)"
"$COLLECTOR" revocations --db "$DB" --format tsv >"$WORK/revocations.tsv"
grep -q $'^sensor-2\t.*\trouter stolen$' "$WORK/revocations.tsv" ||
  { cat "$WORK/revocations.tsv" >&2; fail "revocations does not list sensor-2 with its reason"; }

# sensor-2 stays revoked and backs off: no reconnect within the next seconds.
sleep 3
CONNECTS=$(grep -c 'uplink_connected' "$WORK/sensor-2.log" || true)
[ "$CONNECTS" -eq 1 ] || fail "sensor-2 reconnected $CONNECTS times after its revocation (backoff expected)"
# Revoked, it keeps capturing into its spool; once its capture is over (it waits for acks that
# cannot come), it is stopped: its spool must hold everything the collector did not ack.
wait_for "$WORK/sensor-2.log" 'draining timeout=' $((CAPTURE_SECONDS + 20))
kill -KILL "${SENSOR_PID[sensor-2]}"; wait "${SENSOR_PID[sensor-2]}" 2>/dev/null || true
untrack "${SENSOR_PID[sensor-2]}"
SPOOLED=$(find "$WORK/spool-sensor-2" -maxdepth 1 -name 'batch-*.spool' | wc -l)
STORED_BEFORE=$(sensors_column "$ADDR_A" "" sensor-2 batches)
say "sensor-2 stopped after its capture: $SPOOLED batch(es) in its spool, $STORED_BEFORE stored"
[ "$SPOOLED" -ge 3 ] || fail "sensor-2's spool holds $SPOOLED batches: its capture was nearly over when revoked (raise CAPTURE_SECONDS)"

# Its next stream (old certificate), to collector A, is refused too.
run_sensor sensor-2 "$WORK/empty.pcap" "$ADDR_A" "$WORK/sensor-2-old-cert.log"
wait_for "$WORK/sensor-2-old-cert.log" 'uplink_identity_refused .*revoked: the certificate' 10
wait_for "$LOG_A" 'peer_refused rpc=Ingest.Stream .*name=sensor-2 .*reason=revoked' 5
kill -KILL "${SENSOR_PID[sensor-2]}"; wait "${SENSOR_PID[sensor-2]}" 2>/dev/null || true
untrack "${SENSOR_PID[sensor-2]}"
say "sensor-2 with its old certificate refused by collector A"

wait_sensors sensor-1 sensor-3

# A certificate issued after the revocation (notBefore has whole seconds) is accepted.
sleep 1.1
bash "$ROOT/deploy/make-certs.sh" "$PKI" sensor sensor-2 --force >/dev/null
run_sensor sensor-2 "$WORK/empty.pcap" "$ADDR_A" "$WORK/sensor-2-new-cert.log"
wait_sensors sensor-2
REFUSALS=$(grep -c 'reason=revoked' "$LOG_A" || true)
[ "$LOG_B" = "$LOG_A" ] || REFUSALS=$((REFUSALS + $(grep -c 'reason=revoked' "$LOG_B" || true)))
[ "$BACKEND" != postgres ] || sleep 2  # B follows A's commits every second.
check_totals "$ADDR_A" "" "$WORK"/sensor-{1,2,3}.truth.tsv
if [ "$BACKEND" = postgres ]; then
  check_totals "$ADDR_B" "" "$WORK"/sensor-{1,2,3}.truth.tsv
fi

say "---- figures"
say "stream closed <= ${CLOSED_AFTER}s after revoke; revoked refusals logged: $REFUSALS; sensor-2 spool at revocation: $SPOOLED batch(es), stored before: $STORED_BEFORE; replay ${ELAPSED}s"
say "records: $FIG_ROWS summary rows; stored $FIG_STORED; truth $FIG_TRUTH"
say "PASS"
