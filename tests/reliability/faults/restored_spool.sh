#!/usr/bin/env bash
# Fault injection 7, a spool restored from a backup (issue #10 item 4): sensor-1 replays a
# first capture; while its collector is down it has a backlog, and the spool directory
# (batch files and seq file) is copied. The collector comes back, the run drains and exits 0.
# Then the old copy is put back and the sensor replays a second capture while the collector is
# down again for 3 s, so its first new batches are numbered from the restored (old) counter,
# below seqs the collector already holds, before any HelloAck. When the collector is back the
# restored batches are answered duplicate (same content: deleted, not counted again) and the
# new ones CONFLICT (other content under a used seq: renumbered and sent, never deleted). The
# stored totals must equal truth(first) + truth(second) exactly.
#
# usage: restored_spool.sh [--build-dir DIR] [--keep]
#   env: CAPTURE_SECONDS (default 15)
# Exit 0 pass, 1 fail, 77 skipped (binaries not built). Needs no root.
set -euo pipefail
SCENARIO=restored-spool
source "$(dirname "$0")/lib.sh"
faults_args "$@"
CAPTURE_SECONDS=${CAPTURE_SECONDS:-15}
S=sensor-1
faults_init

START=$(( $(date -u +%s) - 3600 ))
gen first 701 "$START" "${CAPTURE_SECONDS}s" $((CAPTURE_SECONDS * 400)) --synack-share 0.4 &
GEN_PIDS+=($!)
gen second 702 $((START + CAPTURE_SECONDS + 60)) 8s 3200 --synack-share 0.4 &
GEN_PIDS+=($!)
wait_gen
start_collector 127.0.0.1:0
ADDR=127.0.0.1:$PORT
say "collector listening on $ADDR (pid $COLLECTOR_PID)"
sensor_args=(--replay-speed --collector "$ADDR" --spool "$WORK/spool" --flush-interval 500ms
  --ca "$PKI/ca.pem" --cert "$PKI/$S.pem" --key "$PKI/$S.key" --drain-timeout 120s)

T0=$(date +%s.%N)
declare -A SENSOR_PID
"$SENSOR" --read "$WORK/first.pcap" "${sensor_args[@]}" >"$WORK/$S.run1.log" 2>&1 &
SENSOR_PID[run1]=$!
track $!
sleep 4
kill_collector
sleep 3
cp -a "$WORK/spool" "$WORK/spool-backup"
BACKUP_FILES=$(find "$WORK/spool-backup" -maxdepth 1 -name 'batch-*.spool' | wc -l)
BACKUP_SEQ=$(cat "$WORK/spool-backup/seq")
say "backup taken while the collector was down: $BACKUP_FILES batch files, seq file $BACKUP_SEQ"
[ "$BACKUP_FILES" -ge 1 ] || fail "the backup holds no batch (no backlog)"
start_collector "$ADDR"
wait "${SENSOR_PID[run1]}" || { tail -5 "$WORK/$S.run1.log" >&2; fail "run 1 did not get everything acked"; }
untrack "${SENSOR_PID[run1]}"
say "run 1 exited 0; collector last_seq $(sensors_column "$ADDR" "" "$S" last_seq)"

kill_collector
rm -rf "$WORK/spool"
cp -a "$WORK/spool-backup" "$WORK/spool"
say "spool restored from the backup; run 2 starts with the collector down"
"$SENSOR" --read "$WORK/second.pcap" "${sensor_args[@]}" >"$WORK/$S.run2.log" 2>&1 &
SENSOR_PID[run2]=$!
track $!
sleep 3
start_collector "$ADDR"
wait "${SENSOR_PID[run2]}" || { tail -5 "$WORK/$S.run2.log" >&2; fail "run 2 did not get everything acked"; }
untrack "${SENSOR_PID[run2]}"
say "run 2 exited 0 (everything acked)"
check_totals "$ADDR" "" "$WORK/first.truth.tsv" "$WORK/second.truth.tsv"
DUPS=$(last_stat "$WORK/$S.run2.log" duplicates)
RENUMBERED=$(grep -c 'uplink_batch_conflict_renumbered' "$WORK/$S.run2.log" || true)
[ "$RENUMBERED" -ge 1 ] || fail "no run-2 batch was numbered below the collector's history (collector came back too early?)"

say "---- figures"
say "backup: $BACKUP_FILES batch files (seq file $BACKUP_SEQ); run 2: restored batches acked duplicate=${DUPS:-?}, new batches renumbered after CONFLICT=$RENUMBERED"
say "run 2: uplink $(uplink_figures "$WORK/$S.run2.log")"
say "records: $FIG_ROWS summary rows; stored $FIG_STORED; truth $FIG_TRUTH"
say "PASS"
