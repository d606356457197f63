#!/usr/bin/env bash
# Certificate rotation under load: the collector signs one-minute certificates; three enrolled
# sensors stream paced captures for about 100 s, renewing their certificates (Renew over their
# own mutual-TLS identity) every ~40 s without a restart. Halfway, after every first
# certificate has expired, the collector restarts: the sensors reconnect with the renewed
# files (a sensor still holding its first certificate would be refused as expired). Totals are
# exact and there is no reconnect storm: each sensor connects at most 3 times.
# Usage: rotation_test.sh SENSOR COLLECTOR CLI MAKE_CERTS GEN_CAPTURE   (needs no root)
SENSOR=$1 COLLECTOR=$2 CLI=$3 MAKE_CERTS=$4 GEN=$5
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"
bash "$MAKE_CERTS" "$WORK/pki" reader reader >/dev/null

start_fleet_collector --certificate-lifetime 1m
SENSORS=(edge-a edge-b edge-c)
seed=40
for name in "${SENSORS[@]}"; do
  seed=$((seed + 1))
  enroll "$SENSOR" "$name" "$(token "$name" sensor)" || fail "enrolling $name failed"
  openssl x509 -in "$WORK/hosts/$name/$name.pem" -noout -enddate >"$WORK/$name.first-end"
  "$GEN" --out "$WORK/$name.pcap" --truth "$WORK/$name.truth" --names "$WORK/names.yaml" \
    --preset synack --packets 3000 --duration 100s --seed "$seed" >"$WORK/gen.log" 2>&1 ||
    fail "synmap-gen-capture failed"
done
start=$(date +%s)
SENSOR_PIDS=()
for name in "${SENSORS[@]}"; do
  "$SENSOR" --read "$WORK/$name.pcap" --replay-speed --collector "127.0.0.1:$PORT" \
    --spool "$WORK/spool-$name" --flush-interval 2s --ca "$WORK/hosts/$name/ca.pem" \
    --cert "$WORK/hosts/$name/$name.pem" --key "$WORK/hosts/$name/$name.key" \
    --drain-timeout 60s --log-file "$WORK/sensor-$name.log" &
  SENSOR_PIDS+=($!)
  PIDS+=($!)
done
log "three sensors streaming 100 s captures with one-minute certificates"

# After every first certificate expired (60 s plus the clock-skew backdating): restart.
sleep $((70 - ($(date +%s) - start)))
for name in "${SENSORS[@]}"; do
  grep -q certificate_renewed "$WORK/sensor-$name.log" || fail "$name has not renewed by 70 s"
done
kill -TERM "$COLLECTOR_PID"
wait "$COLLECTOR_PID" || true
start_fleet_collector --certificate-lifetime 1m
log "collector restarted at $(( $(date +%s) - start )) s"

for i in "${!SENSORS[@]}"; do
  wait "${SENSOR_PIDS[$i]}" || fail "sensor ${SENSORS[$i]} exited $?"
done
log "sensors done after $(( $(date +%s) - start )) s"

query() {
  "$CLI" "$@" --collector "127.0.0.1:$PORT" --ca "$WORK/pki/ca.pem" \
    --cert "$WORK/pki/reader.pem" --key "$WORK/pki/reader.key" 2>>"$WORK/query.log"
}
for name in "${SENSORS[@]}"; do
  log_file=$WORK/sensor-$name.log
  grep -q "sensor_exit acked=all" "$log_file" || fail "$name did not get every batch acked"
  want=$(awk -F'\t' 'NR > 1 { c += $5 } END { print c }' "$WORK/$name.truth")
  got=$(query summary --sensor "$name" --show-remote --format tsv |
    awk -F'\t' '/^[0-9]+\t/ { c += $1 } END { print c + 0 }')
  [ "$got" = "$want" ] && [ "$want" -gt 0 ] || fail "$name: summary counts $got, its capture $want"
  renewals=$(grep -c certificate_renewed "$log_file" || true)
  connects=$(grep -c uplink_connected "$log_file" || true)
  refused=$(grep -c "certificate_renewal_failed" "$log_file" || true)
  [ "$renewals" -ge 2 ] || fail "$name renewed $renewals times in 100 s, want >= 2"
  [ "$connects" -ge 2 ] && [ "$connects" -le 3 ] ||
    fail "$name connected $connects times (one restart: want 2, at most 3)"
  openssl x509 -in "$WORK/hosts/$name/$name.pem" -noout -enddate | cmp -s - "$WORK/$name.first-end" &&
    fail "$name's certificate file was never replaced"
  log "$name: $got connections exact, $renewals renewals, $connects connections, $refused failed renewals"
done
grep -q "tls_handshake_refused.*client_certificate_expired" "$WORK/collector.log" &&
  fail "a sensor presented an expired certificate"
log "PASS"
