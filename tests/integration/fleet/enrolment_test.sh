#!/usr/bin/env bash
# Enrolment by one-time token: three sensors and a reader enrol (each makes its own key) and the
# sensors replay a generated capture each; every sensor's total in `synmap summary` is exact.
# Reused, expired, wrong-name and wrong-role tokens are refused, logged and counted, and write
# nothing; a wrong CA fingerprint is refused before the token is sent.
# Usage: enrolment_test.sh SENSOR COLLECTOR CLI MAKE_CERTS GEN_CAPTURE   (needs no root)
SENSOR=$1 COLLECTOR=$2 CLI=$3 MAKE_CERTS=$4 GEN=$5
source "$(cd "$(dirname "$0")" && pwd)/lib.sh"

start_fleet_collector
log "collector on $PORT, enrolment on $ENROL_PORT"

# A token is made while the collector runs on the same database.
for name in router-a router-b router-c; do
  enroll "$SENSOR" "$name" "$(token "$name" sensor)" || fail "enrolling $name failed: $(tail -2 "$WORK/enroll.log")"
  [ "$(stat -c %a "$WORK/hosts/$name/$name.key")" = 600 ] || fail "$name.key is not mode 0600"
  openssl x509 -in "$WORK/hosts/$name/$name.pem" -noout -subject | grep -q "OU = sensor, CN = $name" ||
    fail "$name's certificate does not say OU=sensor, CN=$name"
done
enroll "$CLI" analyst "$(token analyst reader)" || fail "reader enrolment failed: $(tail -2 "$WORK/enroll.log")"
log "three sensors and a reader enrolled"

# Each sensor replays its own capture with its enrolled files.
seed=20
for name in router-a router-b router-c; do
  seed=$((seed + 1))
  "$GEN" --out "$WORK/$name.pcap" --truth "$WORK/$name.truth" --names "$WORK/names-$name.yaml" \
    --preset synack --packets 2000 --duration 1m --seed $seed >"$WORK/gen.log" 2>&1 ||
    fail "synmap-gen-capture failed"
  "$SENSOR" --read "$WORK/$name.pcap" --collector "127.0.0.1:$PORT" --spool "$WORK/spool-$name" \
    --ca "$WORK/hosts/$name/ca.pem" --cert "$WORK/hosts/$name/$name.pem" \
    --key "$WORK/hosts/$name/$name.key" --drain-timeout 60s --log-file "$WORK/sensor-$name.log" ||
    fail "sensor $name exited $?"
done
query() {
  "$CLI" "$@" --collector "127.0.0.1:$PORT" --ca "$WORK/hosts/analyst/ca.pem" \
    --cert "$WORK/hosts/analyst/analyst.pem" --key "$WORK/hosts/analyst/analyst.key" \
    2>>"$WORK/query.log"
}
for name in router-a router-b router-c; do
  want=$(awk -F'\t' 'NR > 1 { c += $5 } END { print c }' "$WORK/$name.truth")
  got=$(query summary --sensor "$name" --show-remote --format tsv |
    awk -F'\t' '/^[0-9]+\t/ { c += $1 } END { print c + 0 }')
  [ "$got" = "$want" ] && [ "$want" -gt 0 ] || fail "$name: summary counts $got, its capture $want"
  log "$name: $got connections, exact"
done

# `synmap sensors` shows each sensor's certificate expiry (30 days ahead, the default lifetime).
query sensors --format json >"$WORK/sensors.json"
python3 - "$WORK/sensors.json" <<'PY' || fail "synmap sensors lacks the certificates' expiry"
import datetime, json, sys
rows = json.load(open(sys.argv[1]))["rows"]
assert sorted(r["sensor"] for r in rows) == ["router-a", "router-b", "router-c"], rows
for r in rows:
    end = datetime.datetime.fromisoformat(r["cert_expires"].replace("Z", "+00:00"))
    left = end - datetime.datetime.now(datetime.timezone.utc)
    assert datetime.timedelta(days=29) < left <= datetime.timedelta(days=30), (r["sensor"], left)
PY
log "synmap sensors shows each certificate's expiry"

# Refusals. Each leaves nothing behind and is counted under its reason.
used=$(token router-d sensor)
enroll "$SENSOR" router-d "$used" || fail "first use of a token failed"
enroll "$SENSOR" router-d2 "$used" --name router-d && fail "a reused token was accepted"
expired=$(token router-e sensor --ttl 1s)
sleep 2
enroll "$SENSOR" router-e "$expired" && fail "an expired token was accepted"
enroll "$SENSOR" router-f "$(token router-f sensor)" --name router-x &&
  fail "a token for router-f enrolled router-x"
enroll "$SENSOR" router-g "$(token router-g reader)" && fail "a reader token enrolled a sensor"
for reason in enrol_token_used enrol_token_expired enrol_wrong_name enrol_wrong_role; do
  [ "$(refusals "$reason")" = 1 ] || fail "refusal $reason logged $(refusals "$reason") times, want 1"
done
for name in router-d2 router-e router-f router-g; do
  [ -z "$(ls -A "$WORK/hosts/$name")" ] || fail "a refused enrolment wrote files for $name"
done
grep -q "already used" "$WORK/enroll.log" || fail "the reused token's refusal does not say why"
grep -q "expired at" "$WORK/enroll.log" || fail "the expired token's refusal does not say why"
log "reused, expired, wrong-name and wrong-role tokens refused, logged and counted"

# A wrong pin: refused in the handshake, the token is not spent (it works afterwards).
pinned=$(token router-h sensor)
good=$FINGERPRINT
FINGERPRINT=SHA256:$(printf '00:%.0s' $(seq 31))00
enroll "$SENSOR" router-h "$pinned" && fail "a wrong CA fingerprint was accepted"
FINGERPRINT=$good
enroll "$SENSOR" router-h "$pinned" || fail "the token was spent by a connection that failed the pin"
log "a wrong CA fingerprint is refused before the token is sent"

# Plain text on the enrolment port: refused in the handshake, and logged with its client.
exec 3<>"/dev/tcp/127.0.0.1/$ENROL_PORT" && printf 'GET / HTTP/1.1\r\n\r\n' >&3 &&
  timeout 5 cat <&3 >/dev/null || true
exec 3<&- 3>&-
for _ in $(seq 1 50); do
  grep -Eq "tls_handshake_refused peer=ipv4:127.0.0.1:[0-9]+ reason=not_tls" "$WORK/collector.log" &&
    break
  sleep 0.1
done
grep -Eq "tls_handshake_refused peer=ipv4:127.0.0.1:[0-9]+ reason=not_tls" "$WORK/collector.log" ||
  fail "plain text on the enrolment port is not logged with its peer: $(grep tls_handshake_refused "$WORK/collector.log")"
log "a refused handshake on the enrolment port names its client"

# The refusals are counted: the collector's stop line lists them.
kill -TERM "$COLLECTOR_PID"
wait "$COLLECTOR_PID" || true
grep -q "refusals reason=enrol_wrong_role count=1" "$WORK/collector.log" ||
  fail "the collector's refusal counters lack enrol_wrong_role"
log "PASS"
