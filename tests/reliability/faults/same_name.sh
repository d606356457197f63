#!/usr/bin/env bash
# Fault injection 5, two sensors with the same certificate name (issue #10 item 2: a cloned
# VM, a re-issued certificate): two sensor processes, each with its own spool and capture,
# both present sensor-1's certificate to one collector at the same moment. The collector
# keeps one live stream per name: the second is refused (ALREADY_EXISTS, counted as
# sensor_already_connected, logged with both peers), and that sensor logs uplink_name_in_use
# and retries slowly (max backoff, 30 s). Once the first has drained and exited, the second
# gets through; its batches, numbered by a fresh counter, are renumbered above the first's
# history. Both must exit 0 and the stored totals must equal the sum of both truths exactly.
#
# usage: same_name.sh [--build-dir DIR] [--keep]
#   env: CAPTURE_SECONDS (default 12)
# Exit 0 pass, 1 fail, 77 skipped (binaries not built). Needs no root.
set -euo pipefail
SCENARIO=same-name
source "$(dirname "$0")/lib.sh"
faults_args "$@"
CAPTURE_SECONDS=${CAPTURE_SECONDS:-12}
faults_init

START=$(( $(date -u +%s) - 3600 ))
gen clone-a 501 "$START" "${CAPTURE_SECONDS}s" $((CAPTURE_SECONDS * 400)) --synack-share 0.4 &
GEN_PIDS+=($!)
gen clone-b 502 "$START" "${CAPTURE_SECONDS}s" $((CAPTURE_SECONDS * 400)) --synack-share 0.4 &
GEN_PIDS+=($!)
wait_gen

start_collector 127.0.0.1:0
ADDR=127.0.0.1:$PORT
say "collector listening on $ADDR (pid $COLLECTOR_PID)"

T0=$(date +%s.%N)
declare -A SENSOR_PID
for c in clone-a clone-b; do
  "$SENSOR" --read "$WORK/$c.pcap" --replay-speed --collector "$ADDR" --spool "$WORK/spool-$c" \
    --flush-interval 500ms --ca "$PKI/ca.pem" --cert "$PKI/sensor-1.pem" \
    --key "$PKI/sensor-1.key" --drain-timeout 150s >"$WORK/$c.log" 2>&1 &
  SENSOR_PID[$c]=$!
  track $!
done

wait_sensors clone-a clone-b
REFUSED=$(grep -c 'reason=sensor_already_connected' "$WORK/collector.log" || true)
[ "$REFUSED" -ge 1 ] || fail "the collector never refused the second stream"
IN_USE=$(cat "$WORK"/clone-{a,b}.log | grep -c 'uplink_name_in_use' || true)
[ "$IN_USE" -ge 1 ] || fail "no sensor logged uplink_name_in_use"
check_totals "$ADDR" "" "$WORK"/clone-{a,b}.truth.tsv

say "---- figures"
say "second streams refused: $REFUSED (collector log), sensor-side name_in_use errors: $IN_USE; both exited 0 after ${ELAPSED}s"
say "example refusal: $(grep -o 'ingest_refused .*reason=sensor_already_connected.*' "$WORK/collector.log" | head -1 | cut -c1-300)"
for c in clone-a clone-b; do
  say "$c: uplink $(uplink_figures "$WORK/$c.log") fresh_spool_renumbered=$(grep -c uplink_spool_reset_renumbered "$WORK/$c.log" || true)"
done
say "records: $FIG_ROWS summary rows; stored $FIG_STORED; truth $FIG_TRUTH"
say "PASS"
