#!/usr/bin/env bash
# Load (issue #6 item 5): 100 concurrent sensor streams, each with its own certificate
# (load-s0 .. load-s99), send 1,000-record batches (4 unacked per stream) to one collector on
# 127.0.0.1 for LOAD_SECONDS (default 40), then wait for their acks.
# Passes when nothing acked is lost and nothing is counted twice: per sensor, the stored
# connections equal 2 x the records acked to it and the stored batches equal its acks; the
# totals agree; and the collector's VmHWM stays under 300 MiB. Prints records/s committed
# (acked records / wall time), ack latency and memory.
# usage: load_scenario.sh [--build-dir DIR] [--keep]   (env LOAD_SECONDS, LOAD_STREAMS)
set -euo pipefail
SCENARIO=hostile-load
source "$(dirname "$0")/hostile_lib.sh"
hostile_args "$@"
hostile_init

STREAMS=${LOAD_STREAMS:-100}
SECONDS_=${LOAD_SECONDS:-40}
MAX_HWM_KIB=$((300 * 1024))

say "making $STREAMS sensor certificates"
seq 0 $((STREAMS - 1)) | xargs -P 2 -I{} bash "$ROOT/deploy/make-certs.sh" "$PKI" sensor "load-s{}" \
  >/dev/null || fail "make-certs failed"
# The synthetic records' addresses (10.0.0.0/8) are all remote under this names file, so the
# summary folds them into a few rows per sensor (one per port) and stays small.
printf 'local_networks: [192.168.77.0/24]\n' >"$WORK/names.yaml"

start_collector "$WORK/names.yaml"
HWM_START=$(vm_kib VmHWM)
say "collector pid $COLLECTOR_PID on $ADDR; $STREAMS streams for ${SECONDS_}s"
# VmRSS every 5 s while loaded, to tell a plateau from growth.
( while sleep 5; do awk '$1 == "VmRSS:" { printf "%d ", $2 / 1024 }' "/proc/$COLLECTOR_PID/status" \
    2>/dev/null || exit 0; done ) >"$WORK/rss-mib.txt" &
track $!
"$HOSTILE" load --target "$ADDR" --ca "$PKI/ca.pem" --cert-dir "$PKI" --prefix load-s \
  --streams "$STREAMS" --records-per-batch 1000 --window 4 --duration "${SECONDS_}s" \
  --out "$WORK/acked.tsv" >"$WORK/load.out" 2>"$WORK/load.err" ||
  fail "load run failed: $(cat "$WORK/load.out" "$WORK/load.err" | tail -20)"
cat "$WORK/load.out" >&2
kill -0 "$COLLECTOR_PID" || fail "collector died"
HWM_END=$(vm_kib VmHWM)
CPU=$(awk '{ printf "%.1f", ($14 + $15) / 100 }' "/proc/$COLLECTOR_PID/stat")

query summary --by-sensor --format tsv --count connections --top 100000 \
  >"$WORK/by-sensor.tsv" 2>"$WORK/query.err" || fail "synmap summary: $(cat "$WORK/query.err")"
query sensors --format tsv >"$WORK/sensors.tsv" 2>"$WORK/query.err" ||
  fail "synmap sensors: $(cat "$WORK/query.err")"

# Per sensor: stored connections == 2 x acked records; stored batches == acked batches.
python3 - "$WORK/acked.tsv" "$WORK/by-sensor.tsv" "$WORK/sensors.tsv" "$STREAMS" <<'PY' || fail "stored data differs from what was acked"
import collections, csv, sys
acked_path, summary_path, sensors_path, streams = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
def rows(path):
    with open(path) as f:
        return list(csv.DictReader(f, delimiter="\t"))
acked = {r["sensor"]: r for r in rows(acked_path)}
stored = collections.Counter()
for r in rows(summary_path):
    stored[r["sensor"]] += int(r["count"])
batches = {r["sensor"]: int(r["batches"]) for r in rows(sensors_path)}
bad = 0
if len(acked) != streams:
    print("check: %d streams reported, want %d" % (len(acked), streams), file=sys.stderr); bad += 1
for name, r in sorted(acked.items()):
    want_c, want_b = 2 * int(r["records_acked"]), int(r["batches_acked"])
    if stored[name] != want_c or batches.get(name) != want_b:
        bad += 1
        print("check: %s stored %d connections in %s batches, acked %d in %d" %
              (name, stored[name], batches.get(name), want_c, want_b), file=sys.stderr)
extra = set(stored) - set(acked)
if extra:
    print("check: data stored for sensors that never sent: %s" % sorted(extra), file=sys.stderr); bad += 1
total_acked = sum(int(r["records_acked"]) for r in acked.values())
print("check: %d sensors; %d records acked = %d connections stored (%d batches)" %
      (len(acked), total_acked, sum(stored.values()), sum(batches.values())), file=sys.stderr)
sys.exit(1 if bad or total_acked == 0 else 0)
PY
[ "$HWM_END" -lt "$MAX_HWM_KIB" ] || fail "collector VmHWM ${HWM_END} KiB >= ${MAX_HWM_KIB} KiB"
stop_collector
say "figures: $(grep '^load seconds' "$WORK/load.out"); $(grep -o 'records_acked=[0-9]* .*ack_ms_max=[0-9.]*' "$WORK/load.out")"
say "figures: collector VmHWM start=${HWM_START} KiB end=${HWM_END} KiB (bound ${MAX_HWM_KIB}); collector CPU ${CPU} s"
say "figures: collector VmRSS MiB every 5 s: $(cat "$WORK/rss-mib.txt")"
say "PASS"
