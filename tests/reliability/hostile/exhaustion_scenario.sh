#!/usr/bin/env bash
# Descriptor exhaustion (issue #10 item 5): a collector limited to 256 descriptors (ulimit -n
# 256, soft = hard, so raising the soft limit cannot help) is sent 600 TCP connections that
# never finish a TLS handshake (half send nothing, half 5 bytes of a ClientHello record),
# while a real sensor replays a 40 s capture at capture speed. gRPC 1.51 stops accepting for
# good after one EMFILE; the collector's accept self-probe (every 2 s here, 3 in a row) must
# notice and exit non-zero, and the script then restarts it on the same port, as systemd's
# Restart=always does. Either way the collector must accept again afterwards.
# Passes when: the collector either kept accepting or exited non-zero with
# accept_probe_gave_up in its log; after the attack a restarted (or surviving) collector
# serves; the sensor drains and exits 0; its stored totals equal its truth exactly (both
# counts); a summary query succeeds.
# usage: exhaustion_scenario.sh [--build-dir DIR] [--keep]
set -euo pipefail
SCENARIO=hostile-exhaustion
source "$(dirname "$0")/hostile_lib.sh"
hostile_args "$@"
hostile_init

NOFILE=256
CONNECTIONS=600
cert sensor router-good

START=$(date -u -d '-10 minutes' +%Y-%m-%dT%H:%M:%SZ)
"$GEN" --out "$WORK/good.pcap" --truth "$WORK/good.truth.tsv" --names "$WORK/names.yaml" \
  --site-seed 5 --seed 11 --packets 20000 --start "$START" --duration 40s >"$WORK/gen.log" 2>&1 \
  || fail "synmap-gen-capture failed: $(tail -3 "$WORK/gen.log")"

PROBE=(--accept-probe-interval 2s --accept-probe-failures 3)
COLLECTOR_NOFILE=$NOFILE start_collector "$WORK/names.yaml" "${PROBE[@]}"
say "collector pid $COLLECTOR_PID on $ADDR with ulimit -n $NOFILE: $(grep -o 'file_limit soft=[0-9]*' "$WORK/collector.log" | tail -1)"

"$SENSOR" --read "$WORK/good.pcap" --replay-speed --collector "$ADDR" --spool "$WORK/spool" \
  --flush-interval 2s --drain-timeout 180s --ca "$PKI/ca.pem" --cert "$PKI/router-good.pem" \
  --key "$PKI/router-good.key" --user root >"$WORK/sensor.log" 2>&1 &
SENSOR_PID=$!
track $SENSOR_PID
sleep 5  # A few batches acked before the attack.

"$HOSTILE" stall --target "$ADDR" --connections "$CONNECTIONS" --hold 15s \
  >"$WORK/attack.out" 2>"$WORK/attack.err" &
ATTACK_PID=$!
track $ATTACK_PID
wait "$ATTACK_PID" || say "stall attack ended with $? ($(cat "$WORK/attack.err"))"
untrack "$ATTACK_PID"
say "attack: $(tr '\n' ' ' <"$WORK/attack.out")"
grep -q 'Too many open files\|accept4' "$WORK/collector.log" &&
  say "collector hit its descriptor limit: $(grep -m1 -o '[^]]*Too many open files.*' "$WORK/collector.log" | head -c 160)"

# Wait for the probe's verdict: the collector either serves again or exits non-zero.
restarts=0
exit_status=none
for _ in $(seq 1 60); do
  if ! kill -0 "$COLLECTOR_PID" 2>/dev/null; then
    rc=0
    wait "$COLLECTOR_PID" || rc=$?
    untrack "$COLLECTOR_PID"
    exit_status=$rc
    [ "$rc" -ne 0 ] || fail "collector exited 0 after the attack"
    grep -q 'accept_probe_gave_up' "$WORK/collector.log" ||
      fail "collector exited $rc without accept_probe_gave_up"
    say "collector exited $rc: $(grep -o 'accept_probe_gave_up.*' "$WORK/collector.log" | head -c 200)"
    COLLECTOR_LISTEN=$ADDR COLLECTOR_NOFILE=$NOFILE start_collector "$WORK/names.yaml" "${PROBE[@]}"
    restarts=$((restarts + 1))
    say "restarted collector pid $COLLECTOR_PID on $ADDR"
    break
  fi
  if query sensors --format json >/dev/null 2>"$WORK/query.err"; then
    grep -q 'accept_probe_failed' "$WORK/collector.log" && { sleep 1; continue; }  # Deciding.
    say "collector kept accepting through the attack"
    break
  fi
  sleep 1
done

wait "$SENSOR_PID" || fail "sensor exited $? (see $WORK/sensor.log)"
untrack "$SENSOR_PID"
kill -0 "$COLLECTOR_PID" || fail "collector died after the restart"
for count in connections packets; do
  query summary --sensor router-good --format tsv --count "$count" --top 100000 \
    >"$WORK/good-$count.tsv" 2>"$WORK/query.err" || fail "synmap summary: $(cat "$WORK/query.err")"
  python3 "$ROOT/deploy/check_summary.py" --names "$WORK/names.yaml" --count "$count" \
    --summary "$WORK/good-$count.tsv" "$WORK/good.truth.tsv" 2>"$WORK/check-$count.txt" ||
    { cat "$WORK/check-$count.txt" >&2; fail "stored $count differ from the truth"; }
  say "good sensor: $(cat "$WORK/check-$count.txt")"
done
stop_collector
say "figures: ulimit -n $NOFILE, $CONNECTIONS stalled connections; collector exit=$exit_status restarts=$restarts; probe failures logged: $(grep -c accept_probe_failed "$WORK/collector.log" || true)"
say "PASS"
