#!/usr/bin/env bash
# Fault injection 6, forged high seqs (issue #10 item 3): sensor-1 replays a capture at
# capture speed (500 ms flush). Its collector is killed and, while the sensor spools, a
# collector on the same database but another port takes forged batches from a holder of
# sensor-1's key (synmap-hostile forge, empty batches through the project's own proto):
# seq 1000 (accepted) and seqs 2^63 and 2^64-1 (refused: INVALID_ARGUMENT naming 2^63-1). Then
# the collector comes back on the sensor's address. The sensor's spooled batches are now
# "behind the collector" (below 1000 and never committed): the collector answers CONFLICT, the
# sensor renumbers them above 1000 and sends them; none is deleted unsent, the counter does
# not wrap. The sensor must exit 0 and the stored totals equal the generator's truth exactly.
#
# usage: forged_seq.sh [--build-dir DIR] [--keep]
#   env: CAPTURE_SECONDS (default 20)
# Exit 0 pass, 1 fail, 77 skipped (binaries not built). Needs no root.
set -euo pipefail
SCENARIO=forged-seq
source "$(dirname "$0")/lib.sh"
faults_args "$@"
HOSTILE=$BUILD/tests/reliability/hostile/synmap-hostile
[ -x "$HOSTILE" ] || { say "SKIP: $HOSTILE is not built"; exit $SKIP_RC; }
CAPTURE_SECONDS=${CAPTURE_SECONDS:-20}
S=sensor-1
faults_init

START=$(( $(date -u +%s) - 3600 ))
gen "$S" 601 "$START" "${CAPTURE_SECONDS}s" $((CAPTURE_SECONDS * 400)) --synack-share 0.4
start_collector 127.0.0.1:0
ADDR=127.0.0.1:$PORT
say "collector listening on $ADDR (pid $COLLECTOR_PID)"

T0=$(date +%s.%N)
declare -A SENSOR_PID
"$SENSOR" --read "$WORK/$S.pcap" --replay-speed --collector "$ADDR" --spool "$WORK/spool-$S" \
  --flush-interval 500ms --ca "$PKI/ca.pem" --cert "$PKI/$S.pem" --key "$PKI/$S.key" \
  --drain-timeout 150s >"$WORK/$S.log" 2>&1 &
SENSOR_PID[$S]=$!
track $!
sleep 5
kill_collector
say "collector killed at t=5s; the sensor spools"
start_collector 127.0.0.1:0
FORGE_ADDR=127.0.0.1:$PORT
forge() {
  local seq=$1 expect=$2 out
  out=$("$HOSTILE" forge --target "$FORGE_ADDR" --ca "$PKI/ca.pem" --cert "$PKI/$S.pem" \
    --key "$PKI/$S.key" --seq "$seq" --expect "$expect") || { echo "$out" >&2; fail "forge seq $seq: not answered $expect"; }
  say "forged seq $seq: $(echo "$out" | tr '\n' ' ' | cut -c1-240)"
  FORGE_OUT=$out
}
forge 1000 OK
grep -q 'ack=committed' <<<"$FORGE_OUT" || fail "forged seq 1000 was not committed (the scenario needs it)"
forge 9223372036854775808 INVALID_ARGUMENT
forge 18446744073709551615 INVALID_ARGUMENT
grep -q '2^63-1' <<<"$FORGE_OUT" || fail "the refusal of 2^64-1 does not name the limit 2^63-1"
sleep 2
kill_collector
start_collector "$ADDR"
say "collector back on $ADDR after the forgeries"

wait_sensors "$S"
check_totals "$ADDR" "" "$WORK/$S.truth.tsv"
RENUMBERED=$(grep -c 'uplink_batch_conflict_renumbered' "$WORK/$S.log" || true)
CONFLICTS=$(grep -c 'ingest_batch_conflict' "$WORK/collector.log" || true)
LAST_SEQ=$(sensors_column "$ADDR" "" "$S" last_seq)
[ "$RENUMBERED" -ge 1 ] || fail "no spooled batch was behind the forged seq (kill came too late?)"
[ "$LAST_SEQ" -gt 1000 ] && [ "$LAST_SEQ" -lt 9223372036854775807 ] || fail "last_seq $LAST_SEQ"

say "---- figures"
say "forged: seq 1000 committed (empty), 2^63 and 2^64-1 refused INVALID_ARGUMENT; collector CONFLICT answers: $CONFLICTS; sensor batches renumbered above 1000: $RENUMBERED; last_seq $LAST_SEQ; replay ${ELAPSED}s"
say "$S: uplink $(uplink_figures "$WORK/$S.log")"
say "records: $FIG_ROWS summary rows; stored $FIG_STORED; truth $FIG_TRUTH"
say "PASS"
