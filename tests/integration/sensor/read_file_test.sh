#!/usr/bin/env bash
# synmap-sensor --read: a generated capture with known SYN/ACKs is replayed to a real
# collector; the sensor must exit 0 once everything is acknowledged and the collector must
# hold exactly those SYN/ACKs. Then, with no collector listening, the sensor must give up
# after --drain-timeout with a non-zero exit and keep its spool.
# Usage: read_file_test.sh SENSOR COLLECTOR CLI MAKE_CERTS   (needs no root)
SENSOR=$1 COLLECTOR=$2 CLI=$3 MAKE_CERTS=$4
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
require_tools python3 openssl sqlite3

# 300 frames 20 ms apart: 6 s of capture time, so 1 s windows make several batches.
python3 "$HERE/gen_synack_pcap.py" --out "$WORK/replay.pcap" --repeat 3 --step-us 20000 \
  --group synack:4:40:18080 --group synack:6:20:18443:8100.7 --group syn:4:30:18080 \
  --group udp:6:10:53 >/dev/null
WANT_SYNACKS=180  # (40 + 20) x 3

make_certs
printf 'local_networks: ["198.51.100.0/24", "2001:db8::/32"]\n' >"$WORK/names.yaml"
start_collector "" "$WORK/names.yaml"

sensor_read() {
  "$SENSOR" --read "$WORK/replay.pcap" --spool "$WORK/$1" --flush-interval 1s \
    --ca "$WORK/certs/ca.pem" --cert "$WORK/certs/sensor-it.pem" \
    --key "$WORK/certs/sensor-it.key" --log-file "$WORK/sensor-$1.log" "${@:2}"
}

rc=0
sensor_read spool-ok --collector "127.0.0.1:$COLLECTOR_PORT" --drain-timeout 60s || rc=$?
[ $rc -eq 0 ] || fail "sensor --read exited $rc with a collector up"
stored=$(collector_synacks)
[ "$stored" = "$WANT_SYNACKS" ] || fail "collector committed $stored SYN/ACKs, want $WANT_SYNACKS"
batches=$(sqlite3 "file:$WORK/collector.db?mode=ro" 'SELECT COUNT(*) FROM batches;')
[ "$batches" -ge 6 ] || fail "want at least 6 batches (1 s windows over 6 s), got $batches"
[ -z "$(ls -A "$WORK/spool-ok" | grep -v '^seq$' | grep -v '^quarantine$' || true)" ] ||
  fail "spool not empty after every batch was acked: $(ls "$WORK/spool-ok")"
log "replay acked: $stored SYN/ACKs in $batches batches"

# Started twice on one spool (a unit and a manual run): the second refuses before it touches
# the spool, naming the first's pid; the first loses nothing and delivers every SYN/ACK.
before=$(collector_synacks)
"$SENSOR" --read "$WORK/replay.pcap" --spool "$WORK/spool-twice" --flush-interval 1s \
  --collector "127.0.0.1:$COLLECTOR_PORT" --ca "$WORK/certs/ca.pem" \
  --cert "$WORK/certs/sensor-it.pem" --key "$WORK/certs/sensor-it.key" \
  --log-file "$WORK/sensor-spool-twice.log" --drain-timeout 60s --replay-speed &
first=$!
for _ in $(seq 200); do
  grep -q privileges_dropped "$WORK/sensor-spool-twice.log" 2>/dev/null && break
  sleep 0.05
done
sleep 0.5  # The uplink opens the spool right after dropping privileges.
rc=0
"$SENSOR" --read "$WORK/replay.pcap" --spool "$WORK/spool-twice" --flush-interval 1s \
  --collector "127.0.0.1:$COLLECTOR_PORT" --ca "$WORK/certs/ca.pem" \
  --cert "$WORK/certs/sensor-it.pem" --key "$WORK/certs/sensor-it.key" \
  --log-file "$WORK/sensor-second.log" --drain-timeout 5s || rc=$?
[ $rc -ne 0 ] || fail "a second sensor on the same spool exited 0"
grep -q "spool $WORK/spool-twice is in use by another synmap-sensor (pid $first); stop that one first or give this one another --spool" \
  "$WORK/sensor-second.log" || fail "the second sensor did not say the spool is in use: $(tail -3 "$WORK/sensor-second.log")"
rc=0
wait "$first" || rc=$?
[ $rc -eq 0 ] || fail "the first sensor exited $rc beside a second one (see $WORK/sensor-spool-twice.log)"
grep -q batch_lost "$WORK/sensor-spool-twice.log" && fail "the first sensor lost batches: $(grep -m1 batch_lost "$WORK/sensor-spool-twice.log")"
stored=$(collector_synacks)
[ $((stored - before)) = "$WANT_SYNACKS" ] ||
  fail "collector committed $((stored - before)) SYN/ACKs of the first sensor, want $WANT_SYNACKS"
log "started twice on one spool: the second refused (exit $rc), the first delivered all"

# Nothing listens on port 1 of 127.0.0.1.
rc=0
sensor_read spool-kept --collector 127.0.0.1:1 --drain-timeout 2s || rc=$?
[ $rc -ne 0 ] || fail "sensor --read exited 0 although no collector acknowledged anything"
ls "$WORK/spool-kept" | grep -q . || fail "spool not kept after the drain timeout"
grep -q drain_incomplete "$WORK/sensor-spool-kept.log" || fail "no drain_incomplete log line"
log "unreachable collector: exit $rc, spool kept ($(ls "$WORK/spool-kept" | wc -l) entries)"
log "PASS"
