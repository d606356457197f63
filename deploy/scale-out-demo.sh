#!/usr/bin/env bash
# synmap scale-out demo: one PostgreSQL 15 (Debian's postgresql-15, initdb into a folder as the
# postgres user, unix socket only, no systemd), two collectors sharing it, three sensors that
# list both collectors; every batch acknowledged, then the map printed from each collector
# (the same rows from both), and everything it started stopped.
#
# usage: deploy/scale-out-demo.sh [--dir DIR] [--check]
#   --dir DIR   certificates, captures, the database folder and logs (default build/scale-out)
#   --check     compare each collector's summary with the generator's truth, and with each other
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DIR="$ROOT/build/scale-out"; CHECK=0
BUILD=${SYNMAP_BUILD_DIR:-$ROOT/build}
while [ $# -gt 0 ]; do
  case "$1" in
    --dir) DIR=${2:?--dir needs a directory}; shift 2 ;;
    --check) CHECK=1; shift ;;
    -h|--help) sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "scale-out-demo: unknown argument '$1' (see --help)" >&2; exit 64 ;;
  esac
done
say() { echo "scale-out-demo: $*" >&2; }

if [ -z "${SYNMAP_SKIP_BUILD:-}" ]; then
  bash deploy/install-deps.sh >&2
  say "building (first time: several minutes on 2 cores)"
  export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/synmap-ccache}
  export CCACHE_BASEDIR=$ROOT CCACHE_NOHASHDIR=true
  cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$BUILD.configure.log" 2>&1 \
    || { cat "$BUILD.configure.log" >&2; exit 1; }
  ninja -C "$BUILD" -j"${JOBS:-2}" synmap synmap-collector synmap-sensor synmap-gen-capture \
    >"$BUILD.build.log" 2>&1 || { tail -40 "$BUILD.build.log" >&2; exit 1; }
fi
SYNMAP=$BUILD/cli/synmap
COLLECTOR=$BUILD/collector/server/synmap-collector
SENSOR=$BUILD/sensor/synmap-sensor
GEN=$BUILD/bench/synmap-gen-capture
PG=$ROOT/tests/testing/postgres_server.sh

rm -rf "$DIR"; mkdir -p "$DIR"; chmod 755 "$DIR"
PKI=$DIR/pki
PIDS=()
cleanup() {
  local rc=$? pid
  for pid in "${PIDS[@]}"; do kill -TERM "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  bash "$PG" stop "$DIR/pg" || true
  exit $rc
}
trap cleanup EXIT INT TERM

say "starting PostgreSQL in $DIR/pg"
URI=$(bash "$PG" start "$DIR/pg")
say "database: $URI"

say "making a throw-away CA and certificates in $PKI"
bash deploy/make-certs.sh "$PKI" ca >/dev/null
bash deploy/make-certs.sh "$PKI" collector collector >/dev/null
for s in router-a router-b router-c; do
  bash deploy/make-certs.sh "$PKI" sensor "$s" >/dev/null
done
bash deploy/make-certs.sh "$PKI" reader admin >/dev/null

say "generating three routers' captures and the names file"
START=$(date -u -d '-2 hours' +%Y-%m-%dT%H:00:00Z)
seed=1
for s in router-a router-b router-c; do
  names=()
  [ "$s" = router-a ] && names=(--names "$DIR/names.yaml")
  "$GEN" --out "$DIR/$s.pcap" --truth "$DIR/$s.truth.tsv" "${names[@]}" --site-seed 7 \
    --seed $seed --packets 30000 --synack-share 0.2 --start "$START" --duration 1h >/dev/null
  seed=$((seed + 1))
done

declare -A ADDR
for c in one two; do
  "$COLLECTOR" --listen 127.0.0.1:0 --port-file "$DIR/collector-$c.port" --db "$URI" \
    --names "$DIR/names.yaml" --ca "$PKI/ca.pem" --cert "$PKI/collector.pem" \
    --key "$PKI/collector.key" >"$DIR/collector-$c.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 100); do
    [ -s "$DIR/collector-$c.port" ] && break
    sleep 0.1
  done
  [ -s "$DIR/collector-$c.port" ] || { cat "$DIR/collector-$c.log" >&2; say "collector $c did not start"; exit 1; }
  ADDR[$c]=127.0.0.1:$(cat "$DIR/collector-$c.port")
  say "collector $c listening on ${ADDR[$c]}"
done

say "starting sensors router-a, router-b, router-c (each lists both collectors)"
SENSORS=()
i=0
for s in router-a router-b router-c; do
  if [ $((i % 2)) -eq 0 ]; then order=("${ADDR[one]}" "${ADDR[two]}"); else order=("${ADDR[two]}" "${ADDR[one]}"); fi
  "$SENSOR" --read "$DIR/$s.pcap" --collector "${order[0]}" --collector "${order[1]}" \
    --spool "$DIR/spool-$s" --flush-interval 10s --ca "$PKI/ca.pem" --cert "$PKI/$s.pem" \
    --key "$PKI/$s.key" --drain-timeout 60s >"$DIR/sensor-$s.log" 2>&1 &
  SENSORS+=($!)
  i=$((i + 1))
done
for pid in "${SENSORS[@]}"; do
  wait "$pid" || { say "a sensor failed: see $DIR/sensor-*.log"; exit 1; }
done
say "every batch acknowledged; waiting 2 s for each collector to follow the other's commits"
sleep 2

for c in one two; do
  cat >"$DIR/synmap-cli-$c.yaml" <<YAML
collector: ${ADDR[$c]}
ca: $PKI/ca.pem
cert: $PKI/admin.pem
key: $PKI/admin.key
YAML
  echo "== collector $c (${ADDR[$c]}): synmap summary --top 20"
  SYNMAP_CONFIG=$DIR/synmap-cli-$c.yaml "$SYNMAP" summary --top 20
  echo
done
echo "== collector two: synmap sensors"
SYNMAP_CONFIG=$DIR/synmap-cli-two.yaml "$SYNMAP" sensors

if [ $CHECK -eq 1 ]; then
  for c in one two; do
    SYNMAP_CONFIG=$DIR/synmap-cli-$c.yaml "$SYNMAP" summary --format tsv --top 100000 \
      >"$DIR/summary-$c.tsv" 2>/dev/null
    /usr/bin/python3 deploy/check_summary.py --names "$DIR/names.yaml" \
      --summary "$DIR/summary-$c.tsv" "$DIR"/router-{a,b,c}.truth.tsv
  done
  cmp "$DIR/summary-one.tsv" "$DIR/summary-two.tsv"
  say "both collectors answer the same rows"
fi
say "files are in $DIR; stopping the collectors and PostgreSQL"
