#!/usr/bin/env bash
# Every loss reaches the map (issue #10 item 6): a sensor whose spool sits on a 1 MiB tmpfs
# replays a 30 s capture at capture speed (2 s windows) to a real collector, with a corrupt
# spool file placed before it starts. A few batches in, the tmpfs is filled to the last byte
# for 6 s (spool writes fail: "No space left on device"), then freed.
# Passes when: the sensor exits non-zero (it lost batches); `synmap sensors --format json` shows
# quarantined=1 and lost_write_failed equal to the batch_lost lines of the sensor's log; the
# summary's JSON coverage counts those batches plus the quarantined file as spool losses.
# Needs root (mount); skipped otherwise.
# usage: losses_scenario.sh [--build-dir DIR] [--keep]
set -euo pipefail
SCENARIO=hostile-losses
source "$(dirname "$0")/hostile_lib.sh"
hostile_args "$@"
[ "$(id -u)" -eq 0 ] || { say "SKIP: needs root to mount a tmpfs"; exit $SKIP_RC; }
hostile_init

cert sensor router-lossy
START=$(date -u -d '-10 minutes' +%Y-%m-%dT%H:%M:%SZ)
"$GEN" --out "$WORK/lossy.pcap" --truth "$WORK/lossy.truth.tsv" --names "$WORK/names.yaml" \
  --site-seed 5 --seed 13 --packets 20000 --start "$START" --duration 30s >"$WORK/gen.log" 2>&1 \
  || fail "synmap-gen-capture failed: $(tail -3 "$WORK/gen.log")"
start_collector "$WORK/names.yaml"

SPOOL=$WORK/spool
mkdir -p "$SPOOL"
mount -t tmpfs -o size=1m tmpfs "$SPOOL" || { say "SKIP: cannot mount a tmpfs here"; exit $SKIP_RC; }
unmount_spool() { umount "$SPOOL" 2>/dev/null || true; }
trap 'rc=$?; unmount_spool; (exit $rc); hostile_cleanup' EXIT
printf 'not a spool file' >"$SPOOL/batch-00000000000000000001.spool"

"$SENSOR" --read "$WORK/lossy.pcap" --replay-speed --collector "$ADDR" --spool "$SPOOL" \
  --flush-interval 2s --drain-timeout 60s --ca "$PKI/ca.pem" --cert "$PKI/router-lossy.pem" \
  --key "$PKI/router-lossy.key" --user root >"$WORK/sensor.log" 2>&1 &
SENSOR_PID=$!
track $SENSOR_PID
sleep 7
dd if=/dev/zero of="$SPOOL/ballast" bs=4k 2>/dev/null || true  # Until ENOSPC.
say "spool full: $(df -k --output=avail "$SPOOL" | tail -1 | tr -d ' ') KiB free"
sleep 6
rm -f "$SPOOL/ballast"
rc=0
wait "$SENSOR_PID" || rc=$?
untrack "$SENSOR_PID"
[ $rc -ne 0 ] || fail "sensor exited 0 though it lost batches"
lost=$(grep -c 'batch_lost' "$WORK/sensor.log" || true)
[ "$lost" -ge 1 ] || fail "no batch_lost in the sensor's log: the disk never filled"
grep -m1 'batch_lost' "$WORK/sensor.log" | grep -q 'No space left on device' ||
  fail "batch_lost without 'No space left on device': $(grep -m1 batch_lost "$WORK/sensor.log")"
say "sensor exited $rc after $lost batch_lost lines"

query sensors --format json >"$WORK/sensors.json" 2>"$WORK/query.err" ||
  fail "synmap sensors: $(cat "$WORK/query.err")"
query summary --format json --top 100000 >"$WORK/summary.json" 2>"$WORK/query.err" ||
  fail "synmap summary: $(cat "$WORK/query.err")"
python3 - "$WORK/sensors.json" "$WORK/summary.json" "$lost" <<'PY' || fail "losses not shown"
import json, sys
sensors = json.load(open(sys.argv[1]))
rows = sensors["rows"] if isinstance(sensors, dict) else sensors
row = next(r for r in rows if r["sensor"] == "router-lossy")
lost = int(sys.argv[3])
assert int(row["lost_write_failed"]) == lost, f"sensors lost_write_failed={row['lost_write_failed']} want {lost}"
assert int(row["quarantined"]) == 1, f"sensors quarantined={row['quarantined']} want 1"
cov = json.load(open(sys.argv[2]))["coverage"]
want = lost + 1
assert int(cov["spool_batches_dropped"]) == want, f"coverage spool_batches_dropped={cov['spool_batches_dropped']} want {want}"
per = next(s for s in cov["sensors"] if s.get("name", s.get("sensor")) == "router-lossy")
assert int(per["spool_batches_dropped"]) == want, f"sensor coverage {per}"
print(f"check: sensors lost_write_failed={lost} quarantined=1; coverage spool_batches_dropped={want}", file=sys.stderr)
PY
query summary >/dev/null 2>"$WORK/footer.txt" || true
say "text footer: $(grep -i 'lost' "$WORK/footer.txt" | head -2 | tr '\n' ' ')"
stop_collector
say "PASS"
