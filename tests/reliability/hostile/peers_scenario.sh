#!/usr/bin/env bash
# Hostile peers (issue #6 item 4): while a real synmap-sensor replays a generated capture at
# capture speed (2 s flush windows), synmap-hostile attacks the collector on 127.0.0.1 with
# raw random bytes, 200 stalled TLS handshakes, an idle Ingest stream (one live stream per sensor
# name: a second one for the same certificate is refused), a > 16 MiB message,
# one malformed batch per ingest limit (+ a seq going backwards), and wrong certificates
# (other CA, expired, none, reader calling Ingest, sensor calling Query). A probe stream
# measures ack latency before and during the attack.
# Passes when: every attack got the answer it must; the probe's batches were all acked during
# the attack (p99 under 2 s); the good sensor's stored totals equal its truth exactly; the
# hostile sensor stored only its valid batch; the collector's VmHWM stayed < 300 MiB; its log
# and refusal counters name every kind of refusal.
# usage: peers_scenario.sh [--build-dir DIR] [--keep]
set -euo pipefail
SCENARIO=hostile-peers
source "$(dirname "$0")/hostile_lib.sh"
hostile_args "$@"
hostile_init

MAX_HWM_KIB=$((300 * 1024))
MAX_P99_MS=2000
ATTACK=25s

cert sensor router-good
cert sensor probe
cert sensor hostile
cert sensor oversized  # Its own name: one live stream per sensor name.
cert sensor idle
cert sensor expired --expired
bash "$ROOT/deploy/make-certs.sh" "$WORK/other" ca >/dev/null
bash "$ROOT/deploy/make-certs.sh" "$WORK/other" sensor foreign >/dev/null

# 40 s of capture time, replayed at capture speed: ~20 batches spread over the attack.
START=$(date -u -d '-10 minutes' +%Y-%m-%dT%H:%M:%SZ)
"$GEN" --out "$WORK/good.pcap" --truth "$WORK/good.truth.tsv" --names "$WORK/names.yaml" \
  --site-seed 5 --seed 9 --packets 40000 --start "$START" --duration 40s >"$WORK/gen.log" 2>&1 \
  || fail "synmap-gen-capture failed: $(tail -3 "$WORK/gen.log")"

start_collector "$WORK/names.yaml"
HWM_START=$(vm_kib VmHWM)
say "collector pid $COLLECTOR_PID on $ADDR, VmHWM at start ${HWM_START} KiB"

"$SENSOR" --read "$WORK/good.pcap" --replay-speed --collector "$ADDR" --spool "$WORK/spool-good" \
  --flush-interval 2s --drain-timeout 120s --ca "$PKI/ca.pem" --cert "$PKI/router-good.pem" \
  --key "$PKI/router-good.key" >"$WORK/sensor-good.log" 2>&1 &
SENSOR_PID=$!
track $SENSOR_PID

h() {  # h MODE ARGS...: synmap-hostile against the collector, verifying it with the real CA.
  local mode=$1; shift
  "$HOSTILE" "$mode" --target "$ADDR" --ca "$PKI/ca.pem" "$@"
}
as() { echo --cert "$1.pem" --key "$1.key"; }

BASE=$(h probe $(as "$PKI/probe") --records 20 --interval 100ms --duration 5s) \
  || fail "baseline probe: $BASE"
say "baseline $BASE"

# The attack: every hostile client at once, each writing its output to a file.
pids=()
run() {  # run NAME MODE ARGS...
  local name=$1; shift
  h "$@" >"$WORK/attack-$name.out" 2>"$WORK/attack-$name.err" &
  pids+=("$name:$!")
  track $!
}
run stall stall --connections 200 --hold "$ATTACK"
run idle idle-streams $(as "$PKI/idle") --streams 1 --channels 1 --hold "$ATTACK"
run random random-bytes --connections 300 --bytes 65536 --seed 7
run oversized oversized $(as "$PKI/oversized")
run malformed malformed $(as "$PKI/hostile")
run foreign call $(as "$WORK/other/foreign") --rpc ingest --expect UNAVAILABLE
run expired call $(as "$PKI/expired") --rpc ingest --expect UNAVAILABLE
run nocert call --rpc ingest --expect UNAVAILABLE
run reader_ingest call $(as "$PKI/reader") --rpc ingest --expect PERMISSION_DENIED
run sensor_query call $(as "$PKI/hostile") --rpc query --expect PERMISSION_DENIED
# The probe measures once the stalled handshakes and idle streams are all in place.
for _ in $(seq 1 600); do
  grep -q holding= "$WORK/attack-stall.out" && grep -q holding= "$WORK/attack-idle.out" && break
  sleep 0.1
done
grep -q holding= "$WORK/attack-idle.out" || fail "idle streams not in place after 60 s"
HWM_MID=$(vm_kib VmHWM)
DURING=$(h probe $(as "$PKI/probe") --records 20 --interval 100ms --duration 15s) \
  || fail "probe during the attack: $DURING"
say "during attack $DURING"

attack_failed=0
for entry in "${pids[@]}"; do
  name=${entry%%:*} pid=${entry#*:}
  if wait "$pid"; then
    say "attack $name: $(tr '\n' ' ' <"$WORK/attack-$name.out")"
  else
    say "attack $name FAILED: $(cat "$WORK/attack-$name.out" "$WORK/attack-$name.err")"
    attack_failed=1
  fi
  untrack "$pid"
done
[ $attack_failed = 0 ] || fail "the collector did not answer every hostile peer as it must"

wait "$SENSOR_PID" || fail "good sensor exited $? (see $WORK/sensor-good.log)"
untrack "$SENSOR_PID"
# The same three refused handshakes once more, one at a time on a quiet collector after the
# flood: each is refused and logged with its peer again.
for quiet in "foreign:$(as "$WORK/other/foreign")" "expired:$(as "$PKI/expired")" "nocert:"; do
  name=${quiet%%:*}
  # shellcheck disable=SC2086 # the certificate flags are words on purpose
  h call ${quiet#*:} --rpc ingest --expect UNAVAILABLE >"$WORK/quiet-$name.out" 2>&1 ||
    fail "quiet $name: $(cat "$WORK/quiet-$name.out")"
done
kill -0 "$COLLECTOR_PID" || fail "collector died"
HWM_END=$(vm_kib VmHWM)
RSS_END=$(vm_kib VmRSS)

# Stored totals: the good sensor equals its truth exactly (both counts); the hostile sensor
# holds only its valid batch; the probe exactly what was acked to it.
for count in connections packets; do
  query summary --sensor router-good --format tsv --count "$count" --top 100000 \
    >"$WORK/good-$count.tsv" 2>"$WORK/query.err" || fail "synmap summary: $(cat "$WORK/query.err")"
  python3 "$ROOT/deploy/check_summary.py" --names "$WORK/names.yaml" --count "$count" \
    --summary "$WORK/good-$count.tsv" "$WORK/good.truth.tsv" 2>"$WORK/check-$count.txt" \
    || { cat "$WORK/check-$count.txt" >&2; fail "good sensor's stored $count differ from its truth"; }
  say "good sensor: $(cat "$WORK/check-$count.txt")"
done
packets_of() {
  query summary --sensor "$1" --format tsv --show-remote --count packets --top 100000 \
    >"$WORK/$1.tsv" 2>"$WORK/query.err" || fail "synmap summary: $(cat "$WORK/query.err")"
  sum_count "$WORK/$1.tsv"
}
valid=$(kv "$(grep 'valid_records_acked' "$WORK/attack-malformed.out")" valid_records_acked)
[ "$(packets_of hostile)" = $((valid * 3)) ] ||
  fail "hostile sensor stored $(packets_of hostile) packets, want $((valid * 3)) (its valid batch only)"
probe_records=$(( $(kv "$BASE" records_acked) + $(kv "$DURING" records_acked) ))
[ "$(packets_of probe)" = $((probe_records * 3)) ] ||
  fail "probe stored $(packets_of probe) packets, want $((probe_records * 3))"
[ "$(packets_of idle)" = 0 ] || fail "idle streams stored data"

# Latency and memory bounds.
p99=$(kv "$DURING" ack_ms_p99)
awk -v p="$p99" -v m="$MAX_P99_MS" 'BEGIN { exit !(p < m) }' || fail "ack p99 ${p99} ms during the attack >= ${MAX_P99_MS} ms"
[ "$(kv "$DURING" batches_acked)" -ge 50 ] || fail "probe got only $(kv "$DURING" batches_acked) acks in 15 s"
[ "$HWM_END" -lt "$MAX_HWM_KIB" ] || fail "collector VmHWM ${HWM_END} KiB >= ${MAX_HWM_KIB} KiB"

# What the collector logged and counted: each kind of refusal.
stop_collector
LOG=$WORK/collector.log
for reason in ip_length ip_family port counts timestamps window future seq records_per_batch \
              seq_conflict; do
  grep -q "ingest_refused .*reason=$reason " "$LOG" || fail "no ingest_refused reason=$reason in the log"
  grep -q "refusals reason=$reason count=" "$LOG" || fail "no refusal counter for $reason"
done
grep -q 'peer_refused rpc=Ingest.Stream .*name=reader .*reason=role_not_allowed' "$LOG" ||
  fail "reader calling Ingest not logged"
grep -q 'peer_refused rpc=Query.* name=hostile .*reason=role_not_allowed' "$LOG" ||
  fail "sensor calling Query not logged"
pd=$(sed -n 's/.*refusals reason=permission_denied count=\([0-9]*\).*/\1/p' "$LOG")
[ "${pd:-0}" -ge 2 ] || fail "permission_denied counter ${pd:-0}, want >= 2"
# TLS handshake failures never reach a handler: the collector logs each as one
# tls_handshake_refused line with the peer's address and its reason, and counts it by reason;
# no raw gRPC line reaches its log.
refused() { grep -c "tls_handshake_refused peer=ipv4:127.0.0.1:[0-9]* reason=$1 " "$LOG" || true; }
[ "$(refused client_certificate_unknown_ca)" -ge 2 ] ||
  fail "no refused handshake logged with its peer for the foreign certificate"
# Each refused handshake names its own connection, also in the flood of 500 at once: no line
# without a peer, and each garbage connection refused is a different peer (a connection named
# for another would repeat one).
if grep -q 'tls_handshake_refused peer=unknown' "$LOG"; then
  fail "refused handshakes without their peer: $(grep -c 'tls_handshake_refused peer=unknown' "$LOG") lines, e.g. $(grep -m1 'tls_handshake_refused peer=unknown' "$LOG")"
fi
garbage_lines=$(grep -c 'tls_handshake_refused peer=[^ ]* reason=not_tls ' "$LOG" || true)
garbage_peers=$(grep -o 'tls_handshake_refused peer=[^ ]* reason=not_tls ' "$LOG" | sort -u | wc -l)
[ "$garbage_lines" -ge 250 ] && [ "$garbage_peers" = "$garbage_lines" ] ||
  fail "$garbage_lines garbage connections refused as not_tls were logged with $garbage_peers different peers"
[ "$(refused client_certificate_expired)" -ge 2 ] ||
  fail "no refused handshake logged with its peer for the expired certificate"
[ "$(refused no_client_certificate)" -ge 2 ] ||
  fail "no refused handshake logged with its peer for the client without a certificate"
for reason in client_certificate_unknown_ca client_certificate_expired no_client_certificate; do
  grep -q "tls_refusals reason=$reason count=" "$LOG" || fail "no tls_refusals counter for $reason"
done
if grep -Eq '^[EIWD][0-9]{4} ' "$LOG"; then
  fail "raw gRPC lines in the collector's log: $(grep -E '^[EIWD][0-9]{4} ' "$LOG" | head -2)"
fi
garbage=$(refused not_tls)
say "figures: ack_ms baseline p50=$(kv "$BASE" ack_ms_p50) p99=$(kv "$BASE" ack_ms_p99) max=$(kv "$BASE" ack_ms_max); during attack p50=$(kv "$DURING" ack_ms_p50) p99=$p99 max=$(kv "$DURING" ack_ms_max) acked=$(kv "$DURING" batches_acked)/$(kv "$DURING" batches_sent)"
say "figures: collector VmHWM start=${HWM_START} KiB attack-in-place=${HWM_MID} KiB end=${HWM_END} KiB (VmRSS end ${RSS_END} KiB); bound ${MAX_HWM_KIB} KiB"
say "figures: refusals $(grep -o 'refusals reason=[a-z_]* count=[0-9]*' "$LOG" | sed 's/refusals reason=//' | tr '\n' ' ')"
say "figures: $garbage handshakes refused as not_tls for 300 garbage connections; tls_refusals $(grep -o 'tls_refusals reason=[a-z_]* count=[0-9]*' "$LOG" | sed 's/tls_refusals reason=//' | tr '\n' ' ')"
# The oversized message: the client saw RESOURCE_EXHAUSTED (checked above) and nothing was
# stored; the collector must also log and count the refusal like every other one.
grep -q 'refusals reason=message_too_large count=' "$LOG" ||
  grep -q 'ingest_stream_closed sensor=oversized .*status=RESOURCE_EXHAUSTED' "$LOG" ||
  fail "the collector neither logged nor counted the > 16 MiB message (its stream closed with: $(grep -o 'ingest_stream_closed sensor=oversized .*status=OK' "$LOG" | head -1))"
say "PASS"
