# Shared helpers of the hostile-peer and load scenarios (sourced, not run). Bash only.
# The caller sets SCENARIO, then calls hostile_args "$@" and hostile_init, which make WORK
# (removed on exit unless KEEP=1 or the scenario failed), a throw-away CA with a collector and
# a reader certificate, and an exit trap that ends exactly the processes passed to `track`.

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)
SKIP_RC=77

say() { echo "[$SCENARIO $(date -u +%H:%M:%S)] $*" >&2; }
fail() { say "FAIL: $*"; exit 1; }

# Parses --build-dir DIR and --keep; resolves the binaries (skips when one is not built).
hostile_args() {
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
  HOSTILE=$BUILD/tests/reliability/hostile/synmap-hostile
  local bin
  for bin in "$SYNMAP" "$COLLECTOR" "$SENSOR" "$GEN" "$HOSTILE"; do
    [ -x "$bin" ] || { say "SKIP: $bin is not built (ninja -C $BUILD synmap synmap-collector synmap-sensor synmap-gen-capture synmap-hostile)"; exit $SKIP_RC; }
  done
  command -v python3 >/dev/null || { say "SKIP: python3 not found"; exit $SKIP_RC; }
}

TRACKED=()
track() { TRACKED+=("$1"); }
untrack() {
  local keep=() pid
  for pid in "${TRACKED[@]}"; do
    [ "$pid" = "$1" ] || keep+=("$pid")
  done
  TRACKED=("${keep[@]}")
}

hostile_cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local pid
  for pid in "${TRACKED[@]}"; do
    kill -KILL "$pid" 2>/dev/null || true
  done
  for pid in "${TRACKED[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
  if [ "$KEEP" = 1 ] || [ $rc -ne 0 ]; then
    say "files kept in $WORK"
  else
    rm -rf "$WORK"
  fi
  exit $rc
}

hostile_init() {
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/synmap-$SCENARIO-XXXXXX")
  trap hostile_cleanup EXIT
  trap 'exit 130' INT TERM
  PKI=$WORK/pki
  cert ca
  cert collector collector
  cert reader reader
  say "work directory $WORK"
}

# cert KIND [NAME] [make-certs options]: a certificate from the scenario's CA.
cert() { bash "$ROOT/deploy/make-certs.sh" "$PKI" "$@" >/dev/null || fail "make-certs $*"; }

# start_collector NAMES_FILE [EXTRA FLAGS...]: starts the collector (listening on
# COLLECTOR_LISTEN, default 127.0.0.1:0, with the descriptor limit COLLECTOR_NOFILE when set),
# waits until it listens; sets COLLECTOR_PID, PORT and ADDR.
start_collector() {
  local names=$1; shift
  rm -f "$WORK/collector.port"
  (
    [ -z "${COLLECTOR_NOFILE:-}" ] || ulimit -n "$COLLECTOR_NOFILE"
    exec "$COLLECTOR" --listen "${COLLECTOR_LISTEN:-127.0.0.1:0}" --port-file "$WORK/collector.port" \
      --db "$WORK/synmap.db" --names "$names" --ca "$PKI/ca.pem" --cert "$PKI/collector.pem" \
      --key "$PKI/collector.key" "$@"
  ) >>"$WORK/collector.log" 2>&1 &
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
  ADDR=127.0.0.1:$PORT
}

# stop_collector: SIGTERM, wait for its clean exit (it logs its refusal counters then).
stop_collector() {
  kill -TERM "$COLLECTOR_PID"
  wait "$COLLECTOR_PID" || fail "collector exited with status $? at SIGTERM"
  untrack "$COLLECTOR_PID"
}

# vm_kib FIELD: VmHWM / VmRSS of the collector in KiB.
vm_kib() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$COLLECTOR_PID/status"; }

# query SUBCOMMAND ARGS...: the CLI as the reader.
query() {
  "$SYNMAP" "$@" --collector "$ADDR" --ca "$PKI/ca.pem" --cert "$PKI/reader.pem" \
    --key "$PKI/reader.key"
}

# sum_count TSV: sum of the first column (count) of a summary TSV.
sum_count() { awk -F'\t' 'NR > 1 { s += $1 } END { printf "%d", s }' "$1"; }

# kv LINE KEY: the value of KEY=value in a synmap-hostile output line.
kv() { tr ' ' '\n' <<<"$1" | sed -n "s/^$2=//p" | tr -d '"'; }
