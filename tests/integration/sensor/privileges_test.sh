#!/usr/bin/env bash
# synmap-sensor gives up its privileges once the captures are open (issue #10 item 10): started
# as root, a --read replay sensor runs with no capability in any set (effective, permitted,
# inheritable, ambient, bounding) in every thread, as `nobody` (the default user when `synmap`
# does not exist) when that user can write the spool, as root without capabilities (with a
# warning) when it cannot, and as root without capabilities with --user root. Each run must
# still deliver everything (exit 0, acked=all).
# Usage: privileges_test.sh SENSOR COLLECTOR CLI MAKE_CERTS   (needs root; skipped otherwise)
SENSOR=$1 COLLECTOR=$2 CLI=$3 MAKE_CERTS=$4
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
[ "$(id -u)" -eq 0 ] || skip "privilege tests need root"
id nobody >/dev/null 2>&1 || skip "no user nobody"
id synmap >/dev/null 2>&1 && skip "a synmap user exists: the default user would be synmap"
require_tools python3 openssl

# 300 frames 20 ms apart at capture speed: the sensor lives about 6 s.
python3 "$HERE/gen_synack_pcap.py" --out "$WORK/replay.pcap" --repeat 3 --step-us 20000 \
  --group synack:4:40:18080 --group synack:6:20:18443:8100.7 >/dev/null
make_certs
printf 'local_networks: ["198.51.100.0/24", "2001:db8::/32"]\n' >"$WORK/names.yaml"
start_collector "" "$WORK/names.yaml"
chmod 711 "$WORK"  # Lets nobody reach a spool below it.

# run_sensor NAME SPOOL ARGS...: replays at capture speed; checks every thread's capability
# sets while it runs and its clean exit; sets SENSOR_UID.
run_sensor() {
  local name=$1 spool=$2
  shift 2
  "$SENSOR" --read "$WORK/replay.pcap" --replay-speed --spool "$spool" --flush-interval 1s \
    --collector "127.0.0.1:$COLLECTOR_PORT" --ca "$WORK/certs/ca.pem" \
    --cert "$WORK/certs/sensor-it.pem" --key "$WORK/certs/sensor-it.key" \
    --log-file "$WORK/sensor-$name.log" "$@" &
  local pid=$!
  wait_for "sensor $name to drop privileges" 30 grep -q privileges_dropped "$WORK/sensor-$name.log"
  sleep 0.5  # Its threads are running by now.
  SENSOR_UID=$(awk '$1 == "Uid:" { print $2 }' "/proc/$pid/status")
  local task field value
  for task in /proc/"$pid"/task/*; do
    for field in CapEff CapPrm CapInh CapAmb CapBnd; do
      value=$(awk -v f="$field:" '$1 == f { print $2 }' "$task/status")
      [ "$value" = 0000000000000000 ] ||
        fail "$name: thread ${task##*/} has $field=$value (want none)"
    done
  done
  local rc=0
  wait "$pid" || rc=$?
  [ $rc -eq 0 ] || fail "$name: sensor exited $rc"
  grep -q 'sensor_exit acked=all' "$WORK/sensor-$name.log" || fail "$name: not everything acked"
  log "$name: uid $SENSOR_UID, no capability in any thread, acked=all"
}

mkdir "$WORK/spool-nobody"
chown nobody "$WORK/spool-nobody"
run_sensor default "$WORK/spool-nobody"
[ "$SENSOR_UID" = "$(id -u nobody)" ] || fail "root without --user runs as uid $SENSOR_UID, want nobody"
grep -q 'privileges_dropped user=nobody' "$WORK/sensor-default.log" || fail "no privileges_dropped user=nobody"

mkdir -m 700 "$WORK/private"  # nobody cannot reach a spool in here.
run_sensor unreachable "$WORK/private/spool"
[ "$SENSOR_UID" = 0 ] || fail "unreachable spool: uid $SENSOR_UID, want 0"
grep -q 'running_as_root_without_capabilities' "$WORK/sensor-unreachable.log" ||
  fail "no warning about staying root"

run_sensor explicit-root "$WORK/spool-root" --user root
[ "$SENSOR_UID" = 0 ] || fail "--user root: uid $SENSOR_UID, want 0"
log "PASS"
