#!/usr/bin/env bash
# Overlapping sensors: two real sensors (edge, core) replay the same generated capture to one
# real collector over mutual TLS. The merged `synmap summary` must equal the single-capture
# answer (`synmap summarize` of the file, and the generator's truth in total), `--by-sensor`
# must show it once per sensor, and each sensor's clock offset against the other must be 0.
# With the switch off (collector --overlap-dedup=false, or a sensor with --no-fingerprints)
# the merged totals are double.
# Usage: overlap_replay_test.sh SENSOR COLLECTOR CLI MAKE_CERTS GEN_CAPTURE   (needs no root)
SENSOR=$1 COLLECTOR=$2 CLI=$3 MAKE_CERTS=$4 GEN=$5
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
require_tools python3 openssl

# 6,000 SYN/ACKs over 3 hours of capture time: core starts when edge has sent all of it, so
# core's first batches are hours behind the newest the collector has seen.
gen_capture 6000 3h
make_certs
for name in edge core; do bash "$MAKE_CERTS" "$WORK/certs" sensor "$name" >/dev/null; done

# replay SENSOR_NAME RUN [flags...]: the sensor reads the capture, exits once all is acked.
replay() {
  local name=$1 run=$2
  shift 2
  replay_capture "$name" "$run-$name" --drain-timeout 60s "$@" ||
    fail "sensor $name exited $? in run $run"
}

"$CLI" summarize --names "$WORK/names.yaml" --show-remote --format tsv "$WORK/capture.pcap" \
  2>/dev/null | rows >"$WORK/single.tsv"
[ "$(total <"$WORK/single.tsv")" = "$TRUTH" ] ||
  fail "offline summary counts $(total <"$WORK/single.tsv"), the generator's truth $TRUTH"
log "single capture: $TRUTH connections in $(wc -l <"$WORK/single.tsv") rows"

# Deduplication on (the default). Edge with a 10 s flush interval, core with 7 s: the same
# handshakes arrive in batches with other boundaries.
launch_collector on "" "$WORK/names.yaml"
replay edge on
replay core on --flush-interval 7s
query summary --show-remote --format tsv | rows >"$WORK/merged.tsv"
diff -u "$WORK/single.tsv" "$WORK/merged.tsv" >&2 ||
  fail "merged summary differs from the single capture's (diff above: - single, + merged)"
log "merged summary = single capture ($(total <"$WORK/merged.tsv") connections)"
for name in edge core; do
  query summary --show-remote --by-sensor --format tsv | awk -F'\t' -v s="$name" '$5 == s' |
    cut -f1-4 | rows >"$WORK/by-$name.tsv"
  diff -u "$WORK/single.tsv" "$WORK/by-$name.tsv" >&2 ||
    fail "--by-sensor rows of $name differ from the single capture's"
  query summary --show-remote --sensor "$name" --format tsv | rows >"$WORK/only-$name.tsv"
  diff -q "$WORK/single.tsv" "$WORK/only-$name.tsv" >/dev/null ||
    fail "--sensor $name differs from the single capture's"
done
by_sensor=$(query summary --by-sensor --format tsv | rows | total)
[ "$by_sensor" = $((2 * TRUTH)) ] || fail "--by-sensor counts $by_sensor, want $((2 * TRUTH))"
log "--by-sensor: each sensor's full view ($by_sensor = 2 x $TRUTH)"
query sensors --format json >"$WORK/sensors.json"
# The machine cell: PEER:OFFSET_NS:MATCHES:max=NS per peer.
python3 - "$WORK/sensors.json" "$TRUTH" <<'PY' || fail "sensors JSON lacks the measured skew"
import json, sys
rows = json.load(open(sys.argv[1]))["rows"]
overlap = {r["sensor"]: r["overlap"] for r in rows}
for me, peer in (("edge", "core"), ("core", "edge")):
    name, offset, matches, _ = overlap[me].split(":")
    assert name == peer and int(offset) == 0 and int(matches) == int(sys.argv[2]), overlap
PY
log "sensors: edge and core matched $TRUTH handshakes, skew 0"

# Switch off at the collector: merged = the sum of both sensors.
launch_collector off "" "$WORK/names.yaml" --overlap-dedup=false
replay edge off
replay core off
off=$(query summary --format tsv | rows | total)
[ "$off" = $((2 * TRUTH)) ] || fail "with --overlap-dedup=false merged counts $off, want $((2 * TRUTH))"
log "collector --overlap-dedup=false: merged $off = 2 x $TRUTH"

# Switch off at one sensor: its connections are counted, not deduplicated.
launch_collector nofp "" "$WORK/names.yaml"
replay edge nofp
replay core nofp --no-fingerprints
nofp=$(query summary --format tsv | rows | total)
[ "$nofp" = $((2 * TRUTH)) ] || fail "with core --no-fingerprints merged counts $nofp, want $((2 * TRUTH))"
log "sensor --no-fingerprints: merged $nofp = 2 x $TRUTH"
log "PASS"
