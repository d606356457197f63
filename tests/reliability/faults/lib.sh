# Shared helpers for the fault-injection scenarios (sourced, not run). Bash only.
#
# The caller sets BUILD (build directory with synmap, synmap-collector, synmap-sensor and
# synmap-gen-capture built) and SCENARIO (a short name used in messages), then calls
# faults_init, which makes WORK (a fresh directory, removed on exit unless KEEP=1), a throw-away
# CA with collector, sensor-1..3 and reader certificates, and installs the exit trap.
# Every process the scenario starts goes through `track PID`, so the trap ends exactly those.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
SKIP_RC=77

say() { echo "[$SCENARIO $(date -u +%H:%M:%S)] $*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

# Exits with the CTest skip code when not root.
require_root() {
  if [ "$(id -u)" != 0 ]; then
    say "SKIP: needs root to create network namespaces and veth links (CI runs as root); rerun with sudo"
    exit $SKIP_RC
  fi
}

# Parses --build-dir DIR and --keep; resolves the binaries.
faults_args() {
  BUILD=${SYNMAP_BUILD_DIR:-$ROOT/build}
  KEEP=${KEEP:-0}
  while [ $# -gt 0 ]; do
    case "$1" in
      --build-dir) BUILD=${2:?--build-dir needs a directory}; shift 2 ;;
      --keep) KEEP=1; shift ;;
      -h|--help) sed -n '2,/^set /p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
      *) echo "$SCENARIO: unknown argument '$1' (see --help)" >&2; exit 64 ;;
    esac
  done
  SYNMAP=$BUILD/cli/synmap
  COLLECTOR=$BUILD/collector/server/synmap-collector
  SENSOR=$BUILD/sensor/synmap-sensor
  GEN=$BUILD/bench/synmap-gen-capture
  for bin in "$SYNMAP" "$COLLECTOR" "$SENSOR" "$GEN"; do
    [ -x "$bin" ] || { say "SKIP: $bin is not built (ninja -C $BUILD synmap synmap-collector synmap-sensor synmap-gen-capture)"; exit $SKIP_RC; }
  done
  command -v python3 >/dev/null || { say "SKIP: python3 not found"; exit $SKIP_RC; }
}

TRACKED=()
CLEANUP_HOOKS=()
track() { TRACKED+=("$1"); }
# untrack PID: after the process was reaped, so a recycled pid is never signalled.
untrack() {
  local keep=() pid
  for pid in "${TRACKED[@]}"; do
    [ "$pid" = "$1" ] || keep+=("$pid")
  done
  TRACKED=("${keep[@]}")
}
on_exit() { CLEANUP_HOOKS+=("$1"); }

faults_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local pid
  [ ! -s "$WORK/watchdog.pid" ] || kill -KILL "$(cat "$WORK/watchdog.pid")" 2>/dev/null || true
  for pid in "${TRACKED[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
  done
  for pid in "${TRACKED[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  local hook
  for hook in "${CLEANUP_HOOKS[@]}"; do
    eval "$hook" || true
  done
  if [ "$KEEP" = 1 ] || [ $rc -ne 0 ]; then
    say "files kept in $WORK"
  else
    rm -rf "$WORK"
  fi
  exit $rc
}

faults_init() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/synmap-$SCENARIO-XXXXXX")
  trap faults_cleanup EXIT
  trap 'say "interrupted"; exit 130' INT TERM
  # Watchdog: TERM ourselves (so the trap cleans up) before CTest's 300 s timeout kills us
  # without a chance to remove namespaces. Only a sleep that ran to its end sends it.
  ( sleep "${FAULTS_WATCHDOG_SECONDS:-280}" & echo $! >"$WORK/watchdog.pid"; wait $! && kill -TERM $$ ) &
  track $!
  PKI=$WORK/pki
  local san=${1:-}
  bash "$ROOT/deploy/make-certs.sh" "$PKI" ca >/dev/null
  if [ -n "$san" ]; then
    bash "$ROOT/deploy/make-certs.sh" "$PKI" collector collector --san "$san" >/dev/null
  else
    bash "$ROOT/deploy/make-certs.sh" "$PKI" collector collector >/dev/null
  fi
  local s
  for s in sensor-1 sensor-2 sensor-3; do
    bash "$ROOT/deploy/make-certs.sh" "$PKI" sensor "$s" >/dev/null
  done
  bash "$ROOT/deploy/make-certs.sh" "$PKI" reader reader >/dev/null
  # No names file: every address shows as its IP with --show-remote, on both sides.
  : >"$WORK/empty-names.yaml"
  DB=$WORK/synmap.db
  say "work directory $WORK"
}

# start_postgres: a PostgreSQL 15 in WORK/pg (unix socket only, stopped on exit); sets DB to its
# URI. Exits with the skip code when PostgreSQL 15 is not installed.
start_postgres() {
  local pg=$ROOT/tests/testing/postgres_server.sh rc=0 uri
  uri=$(bash "$pg" start "$WORK/pg" 2>"$WORK/pg-start.log") || rc=$?
  if [ "$rc" -eq 77 ]; then
    say "SKIP: $(cat "$WORK/pg-start.log")"
    exit "$SKIP_RC"
  fi
  [ "$rc" -eq 0 ] || { cat "$WORK/pg-start.log" >&2; fail "PostgreSQL did not start"; }
  on_exit "bash $pg stop $WORK/pg"
  DB=$uri
  say "PostgreSQL at $DB"
}

# start_collector LISTEN [NETNS]: starts a collector on the shared database, waits until it
# listens, sets COLLECTOR_PID and PORT. LISTEN may use port 0 the first time.
start_collector() {
  local listen=$1 ns=${2:-}
  local exec=()
  [ -z "$ns" ] || exec=(ip netns exec "$ns")
  rm -f "$WORK/collector.port"
  "${exec[@]}" "$COLLECTOR" --listen "$listen" --port-file "$WORK/collector.port" --db "$DB" \
    --ca "$PKI/ca.pem" --cert "$PKI/collector.pem" --key "$PKI/collector.key" \
    >>"$WORK/collector.log" 2>&1 &
  COLLECTOR_PID=$!
  track $COLLECTOR_PID
  local i
  for i in $(seq 1 300); do
    [ -s "$WORK/collector.port" ] && break
    kill -0 "$COLLECTOR_PID" 2>/dev/null || { tail -20 "$WORK/collector.log" >&2; fail "collector exited at start"; }
    sleep 0.05
  done
  [ -s "$WORK/collector.port" ] || fail "collector did not listen within 15 s"
  PORT=$(cat "$WORK/collector.port")
}

# kill_collector: SIGKILL, and reap it.
kill_collector() {
  kill -KILL "$COLLECTOR_PID" 2>/dev/null || true
  wait "$COLLECTOR_PID" 2>/dev/null || true
  untrack "$COLLECTOR_PID"
}

# gen NAME SEED START DURATION PACKETS [extra generator flags]: WORK/NAME.pcap + NAME.truth.tsv.
gen() {
  local name=$1 seed=$2 start=$3 duration=$4 packets=$5
  shift 5
  "$GEN" --out "$WORK/$name.pcap" --truth "$WORK/$name.truth.tsv" --site-seed 11 --seed "$seed" \
    --start "$start" --duration "$duration" --packets "$packets" "$@" >>"$WORK/gen.log" 2>&1 \
    || fail "synmap-gen-capture $name failed"
}

# wait_gen: waits for the generator jobs in GEN_PIDS (a bare `wait` would also wait for the
# watchdog); fails if one failed.
GEN_PIDS=()
wait_gen() {
  local pid
  for pid in "${GEN_PIDS[@]}"; do
    wait "$pid" || fail "a capture generator failed (see $WORK/gen.log)"
  done
  GEN_PIDS=()
}

# truth_total FILE... COLUMN: sum of a truth column over the files.
truth_total() {
  local col=${*: -1}
  local files=("${@:1:$#-1}")
  awk -F'\t' -v want="$col" 'FNR==1 { for (i = 1; i <= NF; i++) { h = $i; sub(/^#/, "", h); if (h == want) c = i } next }
    { s += $c } END { printf "%d\n", s }' "${files[@]}"
}

# query ADDR [NETNS] SUBCOMMAND ARGS...: the CLI as the reader.
query() {
  local addr=$1 ns=$2
  shift 2
  local exec=()
  [ -z "$ns" ] || exec=(ip netns exec "$ns")
  "${exec[@]}" "$SYNMAP" "$@" --collector "$addr" --ca "$PKI/ca.pem" --cert "$PKI/reader.pem" \
    --key "$PKI/reader.key"
}

# sensors_column ADDR NETNS SENSOR COLUMN: one column of `synmap sensors --format tsv`.
sensors_column() {
  local addr=$1 ns=$2 sensor=$3 col=$4
  local out
  out=$(query "$addr" "$ns" sensors --format tsv 2>"$WORK/sensors.err") ||
    fail "synmap sensors failed: $(cat "$WORK/sensors.err")"
  awk -F'\t' -v s="$sensor" -v want="$col" \
    'NR==1 { for (i = 1; i <= NF; i++) if ($i == want) c = i; next } $1 == s { print $c }' <<<"$out"
}

# check_totals ADDR NETNS TRUTH...: the stored summary, by connections and by packets, must
# equal the summed truth files exactly (deploy/check_summary.py). Prints the figures.
check_totals() {
  local addr=$1 ns=$2
  shift 2
  local count rc=0
  for count in connections packets; do
    query "$addr" "$ns" summary --format tsv --show-remote --count "$count" --top 100000 \
      >"$WORK/summary-$count.tsv" 2>"$WORK/summary-$count.err" \
      || { cat "$WORK/summary-$count.err" >&2; fail "synmap summary --count $count failed"; }
    if python3 "$ROOT/deploy/check_summary.py" --names "$WORK/empty-names.yaml" --count "$count" \
        --summary "$WORK/summary-$count.tsv" "$@" 2>"$WORK/check-$count.txt"; then
      say "$(cat "$WORK/check-$count.txt")"
    else
      cat "$WORK/check-$count.txt" >&2
      rc=1
    fi
  done
  local rows stored_c stored_p
  rows=$(($(wc -l <"$WORK/summary-connections.tsv") - 1))
  stored_c=$(awk -F'\t' 'NR > 1 { s += $1 } END { printf "%d", s }' "$WORK/summary-connections.tsv")
  stored_p=$(awk -F'\t' 'NR > 1 { s += $1 } END { printf "%d", s }' "$WORK/summary-packets.tsv")
  FIG_ROWS=$rows
  FIG_STORED="connections=$stored_c packets=$stored_p"
  FIG_TRUTH="connections=$(truth_total "$@" connections) packets=$(truth_total "$@" packets)"
  [ $rc -eq 0 ] || fail "stored totals differ from the truth (stored $FIG_STORED, truth $FIG_TRUTH)"
}

# last_stat LOG FIELD: FIELD=value from the last sensor_stats line of a sensor log.
last_stat() {
  grep 'sensor_stats' "$1" | tail -1 | tr ' ' '\n' | sed -n "s/^$2=//p"
}

# sum_acked_by_streams: batches acked according to the collector's ingest_stream_closed lines
# (streams cut by SIGKILL log nothing, so this is a lower bound).
sum_stream_acks() {
  grep -o 'ingest_stream_closed .*batches_acked=[0-9]*' "$WORK/collector.log" 2>/dev/null |
    sed 's/.*batches_acked=//' | awk '{ s += $1 } END { printf "%d", s }'
}

# uplink_figures LOG...: connects, disconnect events, spooled batches at or below the
# collector's last committed seq at a reconnect (resent so the collector can say whether it
# holds that content), and batches renumbered after a CONFLICT answer, from sensor logs.
uplink_figures() {
  local connects disconnects behind renumbered
  connects=$(cat "$@" | grep -c 'uplink_connected' || true)
  disconnects=$(cat "$@" | grep -c 'uplink_disconnected' || true)
  behind=$(cat "$@" | { grep -o 'uplink_connected .*resent_for_content_check=[0-9]*' || true; } |
    sed 's/.*resent_for_content_check=//' | awk '{ s += $1 } END { printf "%d", s }')
  renumbered=$(cat "$@" | grep -c 'uplink_batch_conflict_renumbered' || true)
  echo "connects=$connects stream_failures=$disconnects resent_at_or_below_committed=$behind renumbered_after_conflict=$renumbered"
}

# spool_backlog: batch files waiting (spooled, not acked) in every sensor spool under WORK.
spool_backlog() {
  find "$WORK" -mindepth 2 -maxdepth 2 -path "$WORK/spool*/batch-*.spool" 2>/dev/null | wc -l
}

# wait_sensors NAME...: waits for each sensor in SENSOR_PID, fails unless all exited 0 (all
# acked); sets ELAPSED (seconds since T0).
wait_sensors() {
  local s rc=0
  for s in "$@"; do
    if wait "${SENSOR_PID[$s]}"; then
      say "$s exited 0 (everything acked)"
    else
      rc=1
      say "$s failed; its log ends:"; tail -5 "$WORK/$s.log" >&2
    fi
    untrack "${SENSOR_PID[$s]}"
  done
  ELAPSED=$(awk -v a="$(date +%s.%N)" -v b="$T0" 'BEGIN { printf "%.1f", a - b }')
  [ $rc -eq 0 ] || fail "a sensor did not get everything acked"
}

# batch_figures ADDR NS NAME...: prints each sensor's batches (spooled, sent, acked, duplicate
# acks, left in spool) beside the collector's stored count and last seq; fails if the collector
# did not store exactly the batches a sensor spooled.
batch_figures() {
  local addr=$1 ns=$2 s bad=0; shift 2
  for s in "$@"; do
    local submitted acked spool stored last_seq sent dups
    submitted=$(last_stat "$WORK/$s.log" batches)
    acked=$(last_stat "$WORK/$s.log" acked)
    spool=$(last_stat "$WORK/$s.log" spool_batches)
    sent=$(last_stat "$WORK/$s.log" sent); dups=$(last_stat "$WORK/$s.log" duplicates)
    stored=$(sensors_column "$addr" "$ns" "$s" batches)
    last_seq=$(sensors_column "$addr" "$ns" "$s" last_seq)
    say "$s: uplink $(uplink_figures "$WORK/$s.log")"
    say "$s: batches spooled=$submitted sent=${sent:-?} acked=$acked duplicates_acked=${dups:-?} left_in_spool=$spool; collector: stored=$stored last_seq=$last_seq"
    [ "$stored" = "$submitted" ] || { say "$s: collector stored $stored batches, sensor spooled $submitted"; bad=1; }
  done
  say "records: $FIG_ROWS summary rows; stored $FIG_STORED; truth $FIG_TRUTH"
  [ $bad -eq 0 ] || fail "batch counts differ"
}
