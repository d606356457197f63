# Shared helpers for the sensor's live end-to-end tests (sourced, not run).
# Needs: SENSOR, COLLECTOR, CLI (binaries), MAKE_CERTS (deploy/make-certs.sh); GEN (the
# capture generator) for gen_capture.
# Creates network namespaces and veths with names unique to this run and removes them,
# and every process it started, on any exit (trap). Addresses: 198.51.100.0/24, 2001:db8::/32.

set -euo pipefail

RUN_ID="$$$(printf '%04d' $((RANDOM % 10000)))"
WORK=$(mktemp -d "${TMPDIR:-/tmp}/synmap-sensor-it-XXXXXX")
NAMESPACES=()
PIDS=()

log() { echo "[$(date -u +%H:%M:%S)] $*"; }
fail() { echo "FAIL: $*" >&2; exit 1; }

cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do
    kill -TERM "$pid" 2>/dev/null || true
  done
  for pid in "${PIDS[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  for ns in "${NAMESPACES[@]}"; do
    ip netns del "$ns" 2>/dev/null || true
  done
  if [ $rc -ne 0 ] && [ $rc -ne 77 ]; then
    for f in "$WORK"/*.log; do
      [ -f "$f" ] || continue
      echo "---- $f (last 40 lines)" >&2
      tail -40 "$f" >&2
    done
  fi
  rm -rf "$WORK"
  exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Exits 77 (CTest SKIP_RETURN_CODE) with a reason.
skip() { echo "SKIP: $*"; exit 77; }

# require_tools TOOL...: skips when one is missing; fails when a binary under test is.
require_tools() {
  for tool in "$@"; do
    command -v "$tool" >/dev/null || skip "$tool not installed (deploy/install-deps.sh)"
  done
  for bin in "$SENSOR" "$COLLECTOR" "$CLI"; do
    [ -x "$bin" ] || fail "binary $bin not built"
  done
}

require_env() {
  [ "$(id -u)" -eq 0 ] || skip "live capture tests need root (network namespaces, raw sockets)"
  require_tools ip python3 tcpreplay openssl sqlite3
  local probe="synmap-probe-$RUN_ID"
  ip netns add "$probe" 2>/dev/null || skip "cannot create network namespaces here"
  ip netns del "$probe"
}

# new_netns NAME: creates it (lo up) and registers it for cleanup.
new_netns() {
  ip netns add "$1"
  NAMESPACES+=("$1")
  ip -n "$1" link set lo up
}

# wait_for DESCRIPTION SECONDS COMMAND...: polls COMMAND every 0.1 s (a file or a log line
# appearing: no notification exists for those) until it succeeds, or fails the test.
wait_for() {
  local what=$1 seconds=$2
  shift 2
  local deadline=$(( $(date +%s) + seconds ))
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$deadline" ] || fail "timed out after ${seconds}s waiting for $what"
    sleep 0.1
  done
}

make_certs() {
  bash "$MAKE_CERTS" "$WORK/certs" ca >/dev/null
  bash "$MAKE_CERTS" "$WORK/certs" collector collector >/dev/null
  bash "$MAKE_CERTS" "$WORK/certs" sensor "sensor-it" >/dev/null
  bash "$MAKE_CERTS" "$WORK/certs" reader "reader-it" >/dev/null
}

# write_service_names: WORK/names.yaml with the test networks local and the ports the live tests
# use named (18080 svc-a, 18443 svc-b, 12222 svc-c).
write_service_names() {
  cat >"$WORK/names.yaml" <<NAMES
local_networks: ["198.51.100.0/24", "2001:db8::/32"]
services:
  18080: svc-a
  18443: svc-b
  12222: svc-c
NAMES
}

# launch_collector NAME NS NAMES_FILE [flags...]: a real collector on 127.0.0.1 inside NS
# ("" = this namespace) with its own WORK/NAME.db, .port and .log; sets COLLECTOR_PORT.
launch_collector() {
  local name=$1 ns=$2 names=$3
  shift 3
  local in_ns=(ip netns exec "$ns")
  [ -n "$ns" ] || in_ns=()
  "${in_ns[@]}" "$COLLECTOR" --listen 127.0.0.1:0 --port-file "$WORK/$name.port" \
    --db "$WORK/$name.db" --names "$names" --ca "$WORK/certs/ca.pem" \
    --cert "$WORK/certs/collector.pem" --key "$WORK/certs/collector.key" "$@" \
    >"$WORK/$name.log" 2>&1 &
  PIDS+=($!)
  wait_for "$name port file" 30 test -s "$WORK/$name.port"
  COLLECTOR_PORT=$(cat "$WORK/$name.port")
  log "$name listening on 127.0.0.1:$COLLECTOR_PORT${ns:+ in $ns}"
}

# start_collector NS NAMES_FILE: launch_collector as "collector" (WORK/collector.db, .log).
start_collector() { launch_collector collector "$1" "$2"; }

# start_sensor NS IFACE [extra flags...]: sets SENSOR_PID; returns once capture is running.
start_sensor() {
  local ns=$1 iface=$2
  shift 2
  ip netns exec "$ns" "$SENSOR" -i "$iface" --collector "127.0.0.1:$COLLECTOR_PORT" \
    --spool "$WORK/spool" --flush-interval 1s --drain-timeout "${SENSOR_DRAIN_TIMEOUT:-30s}" \
    --ca "$WORK/certs/ca.pem" --cert "$WORK/certs/sensor-it.pem" \
    --key "$WORK/certs/sensor-it.key" --log-file "$WORK/sensor.log" "$@" &
  SENSOR_PID=$!
  PIDS+=("$SENSOR_PID")
  wait_for "sensor capture start" 30 grep -q pipeline_started "$WORK/sensor.log"
}

# stop_sensor: SIGTERM, then the sensor flushes and waits for acks; its exit code must be 0.
stop_sensor() {
  kill -TERM "$SENSOR_PID"
  local rc=0
  wait "$SENSOR_PID" || rc=$?
  [ $rc -eq 0 ] || fail "sensor exited $rc after SIGTERM"
  grep -q "sensor_exit acked=all" "$WORK/sensor.log" || fail "sensor did not get every batch acked"
}

# sensor_total KEY: a total from the sensor's final pipeline_stopped line.
sensor_total() {
  grep pipeline_stopped "$WORK/sensor.log" | tail -1 | tr ' ' '\n' | sed -n "s/^$1=//p"
}

# summary_tsv NS: `synmap summary --format tsv` rows (count, client, server, service), sorted.
summary_tsv() {
  ip netns exec "$1" "$CLI" summary --collector "127.0.0.1:$COLLECTOR_PORT" \
    --ca "$WORK/certs/ca.pem" --cert "$WORK/certs/reader-it.pem" \
    --key "$WORK/certs/reader-it.key" --format tsv 2>"$WORK/summary.log" \
    | grep -E '^[0-9]+'$'\t' | sort
}

# collector_synacks: SYN/ACKs in the batches the collector committed (its own SQLite tables).
collector_synacks() {
  sqlite3 "file:$WORK/collector.db?mode=ro" 'SELECT COALESCE(SUM(synacks), 0) FROM batches;'
}

# expect_rows NS EXPECTED_FILE SYNACKS: the collector's summary equals the expected rows
# exactly, and it committed SYNACKS SYN/ACKs. Until the CLI has `summary`, only the latter is
# checked (loudly): the collector's own tables are the query path that exists then.
expect_rows() {
  local stored
  stored=$(collector_synacks) || fail "cannot read the collector database"
  [ "$stored" = "$3" ] || fail "collector committed $stored SYN/ACKs, want $3"
  local probe
  probe=$("$CLI" summary --help 2>&1 || true)
  if [[ "$probe" == *"unknown command"* ]]; then
    log "NOTE: '$CLI summary' does not exist yet: checked only the collector's stored SYN/ACK" \
        "count ($stored); the row check runs once it exists"
    return
  fi
  local got="$WORK/summary.tsv"
  summary_tsv "$1" >"$got" || fail "synmap summary failed: $(cat "$WORK/summary.log")"
  sort "$2" >"$WORK/expected.sorted"
  if ! diff -u "$WORK/expected.sorted" "$got"; then
    fail "collector summary differs from the connections made (diff above: - expected, + got)"
  fi
  log "summary matches: $(wc -l <"$got") rows"
}

# gen_capture PACKETS DURATION: WORK/capture.pcap, truth.tsv and names.yaml from the capture
# generator ($GEN, seed 14: SYN/ACKs over IPv4 and IPv6, VLAN tags, retransmissions); sets
# TRUTH, the connections in it.
gen_capture() {
  [ -x "$GEN" ] || fail "binary $GEN not built"
  "$GEN" --out "$WORK/capture.pcap" --truth "$WORK/truth.tsv" --names "$WORK/names.yaml" \
    --preset synack --packets "$1" --duration "$2" --seed 14 >"$WORK/gen.log" 2>&1 ||
    fail "synmap-gen-capture failed: $(tail -3 "$WORK/gen.log")"
  TRUTH=$(awk -F'\t' 'NR > 1 { c += $5 } END { print c }' "$WORK/truth.tsv")
}

# replay_capture CERT_NAME TAG [flags...]: sensor CERT_NAME reads WORK/capture.pcap into the
# collector (spool WORK/spool-TAG, log WORK/sensor-TAG.log) and exits once all is acked;
# returns the sensor's exit code.
replay_capture() {
  local name=$1 tag=$2
  shift 2
  "$SENSOR" --read "$WORK/capture.pcap" --collector "127.0.0.1:$COLLECTOR_PORT" \
    --spool "$WORK/spool-$tag" --ca "$WORK/certs/ca.pem" --cert "$WORK/certs/$name.pem" \
    --key "$WORK/certs/$name.key" --log-file "$WORK/sensor-$tag.log" "$@"
}

# query ARGS...: the CLI as reader-it against the collector; stderr goes to WORK/query.log.
query() {
  "$CLI" "$@" --collector "127.0.0.1:$COLLECTOR_PORT" --ca "$WORK/certs/ca.pem" \
    --cert "$WORK/certs/reader-it.pem" --key "$WORK/certs/reader-it.key" 2>>"$WORK/query.log"
}

# rows [PREFIX]: the data rows of TSV on stdin (no header), sorted; only those whose second
# column starts with PREFIX when given.
rows() { grep -E '^[0-9]+'$'\t'"${1:-}" | sort || true; }

# total: the sum of the count column of TSV rows on stdin.
total() { awk -F'\t' '{ c += $1 } END { print c + 0 }'; }
