#!/usr/bin/env bash
# synmap quick start: installs what is missing, builds, makes a throw-away CA and certificates,
# starts a collector on an SQLite file and two sensors standing for two routers (replaying
# generated captures of a small office network), waits until every batch is acknowledged,
# prints `synmap summary` and `synmap sensors`, and stops everything it started.
#
# usage: deploy/quickstart.sh [--live IFACE [--duration 60s]] [--dir DIR] [--keep] [--check]
#   --live IFACE   the first sensor captures IFACE live (as root) instead of replaying
#   --dir DIR      where to put certificates, captures, database and logs (default build/quickstart)
#   --keep         leave the collector running at the end (prints how to stop it)
#   --check        compare the printed summary with the generator's truth (used by the tests)
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
LIVE=""; DURATION=60; DIR="$ROOT/build/quickstart"; KEEP=0; CHECK=0
BUILD=${SYNMAP_BUILD_DIR:-$ROOT/build}
while [ $# -gt 0 ]; do
  case "$1" in
    --live) LIVE=${2:?--live needs an interface}; shift 2 ;;
    --duration) DURATION=${2%s}; shift 2 ;;
    --dir) DIR=${2:?--dir needs a directory}; shift 2 ;;
    --keep) KEEP=1; shift ;;
    --check) CHECK=1; shift ;;
    -h|--help) sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "quickstart: unknown argument '$1' (see --help)" >&2; exit 64 ;;
  esac
done
say() { echo "quickstart: $*" >&2; }

bash deploy/install-deps.sh >&2
say "building (first time: several minutes on 2 cores)"
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/synmap-ccache}
export CCACHE_BASEDIR=$ROOT CCACHE_NOHASHDIR=true
cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$BUILD.configure.log" 2>&1 \
  || { cat "$BUILD.configure.log" >&2; exit 1; }
ninja -C "$BUILD" -j"${JOBS:-2}" synmap synmap-collector synmap-sensor synmap-gen-capture \
  >"$BUILD.build.log" 2>&1 || { tail -40 "$BUILD.build.log" >&2; exit 1; }
SYNMAP=$BUILD/cli/synmap
COLLECTOR=$BUILD/collector/server/synmap-collector
SENSOR=$BUILD/sensor/synmap-sensor
GEN=$BUILD/bench/synmap-gen-capture

rm -rf "$DIR"; mkdir -p "$DIR"
PKI=$DIR/pki
PIDS=()
cleanup() {
  local rc=$?
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  if [ $KEEP -eq 0 ] && [ -n "${COLLECTOR_PID:-}" ]; then
    kill -TERM "$COLLECTOR_PID" 2>/dev/null || true
    wait "$COLLECTOR_PID" 2>/dev/null || true
  fi
  exit $rc
}
trap cleanup EXIT INT TERM

say "making a throw-away CA and certificates in $PKI"
bash deploy/make-certs.sh "$PKI" ca >/dev/null
bash deploy/make-certs.sh "$PKI" collector collector >/dev/null
bash deploy/make-certs.sh "$PKI" sensor router-a >/dev/null
bash deploy/make-certs.sh "$PKI" sensor router-b >/dev/null
bash deploy/make-certs.sh "$PKI" reader admin >/dev/null

say "generating the office network's captures (router-a, router-b) and names file"
START=$(date -u -d '-2 hours' +%Y-%m-%dT%H:00:00Z)
"$GEN" --out "$DIR/router-a.pcap" --truth "$DIR/router-a.truth.tsv" --names "$DIR/names.yaml" \
  --site-seed 7 --seed 1 --packets 40000 --synack-share 0.2 --start "$START" --duration 1h >/dev/null
"$GEN" --out "$DIR/router-b.pcap" --truth "$DIR/router-b.truth.tsv" \
  --site-seed 7 --seed 2 --packets 30000 --synack-share 0.2 --start "$START" --duration 1h >/dev/null

say "starting the collector (database $DIR/synmap.db)"
COLLECTOR_ARGS=(--db "$DIR/synmap.db" --names "$DIR/names.yaml" --ca "$PKI/ca.pem"
                --cert "$PKI/collector.pem" --key "$PKI/collector.key")
"$COLLECTOR" --listen 127.0.0.1:0 --port-file "$DIR/collector.port" "${COLLECTOR_ARGS[@]}" \
  >"$DIR/collector.log" 2>&1 &
COLLECTOR_PID=$!
for _ in $(seq 1 100); do
  [ -s "$DIR/collector.port" ] && break
  kill -0 "$COLLECTOR_PID" 2>/dev/null || { cat "$DIR/collector.log" >&2; say "collector failed to start"; exit 1; }
  sleep 0.1
done
[ -s "$DIR/collector.port" ] || { say "collector did not start listening"; exit 1; }
PORT=$(cat "$DIR/collector.port")
ADDR=127.0.0.1:$PORT
printf '%q ' "$COLLECTOR" --listen "$ADDR" "${COLLECTOR_ARGS[@]}" >"$DIR/start-collector.sh"
echo >>"$DIR/start-collector.sh"

sensor() {  # sensor NAME SOURCE-ARGS...; run in the background: exec makes $! the sensor itself
  local name=$1; shift
  exec "$SENSOR" "$@" --collector "$ADDR" --spool "$DIR/spool-$name" --flush-interval 10s \
    --ca "$PKI/ca.pem" --cert "$PKI/$name.pem" --key "$PKI/$name.key" --drain-timeout 60s \
    >"$DIR/sensor-$name.log" 2>&1
}
say "starting sensors router-a and router-b"
if [ -n "$LIVE" ]; then
  sensor router-a -i "$LIVE" & PIDS+=($!); LIVE_PID=$!
  say "router-a captures $LIVE live for ${DURATION}s"
fi
if [ -z "$LIVE" ]; then sensor router-a --read "$DIR/router-a.pcap" & A=$!; fi
sensor router-b --read "$DIR/router-b.pcap" & B=$!
rc=0
if [ -z "$LIVE" ]; then wait "$A" || { rc=1; say "sensor router-a failed: see $DIR/sensor-router-a.log"; }; fi
wait "$B" || { rc=1; say "sensor router-b failed: see $DIR/sensor-router-b.log"; }
if [ -n "$LIVE" ]; then
  sleep "$DURATION"; kill -TERM "$LIVE_PID"; wait "$LIVE_PID" || rc=1; PIDS=()
fi
[ $rc -eq 0 ] || exit 1
say "every batch acknowledged"

cat >"$DIR/synmap-cli.yaml" <<YAML
collector: $ADDR
ca: $PKI/ca.pem
cert: $PKI/admin.pem
key: $PKI/admin.key
YAML
export SYNMAP_CONFIG=$DIR/synmap-cli.yaml
echo "== synmap summary --top 40"
"$SYNMAP" summary --top 40
echo
echo "== synmap sensors"
"$SYNMAP" sensors

if [ $CHECK -eq 1 ]; then
  "$SYNMAP" summary --format tsv --top 100000 >"$DIR/summary.tsv" 2>/dev/null
  /usr/bin/python3 deploy/check_summary.py --names "$DIR/names.yaml" --summary "$DIR/summary.tsv" \
    "$DIR/router-a.truth.tsv" "$DIR/router-b.truth.tsv"
fi

cat >&2 <<TXT

quickstart: files are in $DIR (certificates in pki/, captures, synmap.db, logs)
quickstart: query again with:  SYNMAP_CONFIG=$DIR/synmap-cli.yaml $SYNMAP summary
TXT
if [ $KEEP -eq 1 ]; then
  say "collector left running (pid $COLLECTOR_PID, $ADDR); stop it with: kill $COLLECTOR_PID"
else
  say "stopping the collector; to query again later, first start it with: bash $DIR/start-collector.sh"
fi
