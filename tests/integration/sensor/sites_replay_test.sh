#!/usr/bin/env bash
# Sites with overlapping address space: real sensors of two sites (alpha, beta) replay the same
# generated capture to one real collector over mutual TLS, with a names file that names the
# same addresses differently per site. Each site's rows in the merged `synmap summary` must
# equal the offline `synmap summarize --site` of the capture (that site's names), its total the
# generator's truth, and `--site` must show one site only. Two sensors of one site dedup (alpha
# counts each handshake once); the same handshakes at two sites do not. A sensor whose
# certificate binds it to alpha but which claims beta is refused and stores nothing.
# Usage: sites_replay_test.sh SENSOR COLLECTOR CLI MAKE_CERTS GEN_CAPTURE   (needs no root)
SENSOR=$1 COLLECTOR=$2 CLI=$3 MAKE_CERTS=$4 GEN=$5
HERE=$(cd "$(dirname "$0")" && pwd)
source "$HERE/lib.sh"
require_tools python3 openssl

# 3,000 SYN/ACKs over 1 minute of capture time.
gen_capture 3000 1m
# The generator's git server, named per site; beta also has its own, smaller local network.
GIT4=$(awk '$1 == "git:" { gsub(/[\[\]",]/, " "); print $2 }' "$WORK/names.yaml")
GIT6=$(awk '$1 == "git:" { gsub(/[\[\]",]/, " "); print $3 }' "$WORK/names.yaml")
[ -n "$GIT4" ] && [ -n "$GIT6" ] || fail "no git host in the generated names file"
cat >>"$WORK/names.yaml" <<YAML
sites:
  alpha:
    hosts:
      alpha-git: ["$GIT4", "$GIT6"]
  beta:
    local_networks: ["198.51.100.0/25", "2001:db8:10::/48"]
    hosts:
      beta-git: ["$GIT4", "$GIT6"]
YAML

make_certs
bash "$MAKE_CERTS" "$WORK/certs" sensor east --site alpha >/dev/null  # Bound by its certificate.
bash "$MAKE_CERTS" "$WORK/certs" sensor east2 >/dev/null              # --site alpha.
bash "$MAKE_CERTS" "$WORK/certs" sensor west >/dev/null               # --site beta.
bash "$MAKE_CERTS" "$WORK/certs" sensor mallory --site alpha >/dev/null
start_collector "" "$WORK/names.yaml"

# replay SENSOR_NAME [flags...]: the sensor reads the capture and exits once all is acked.
replay() { replay_capture "$1" "$@"; }

for site in alpha beta; do
  "$CLI" summarize --names "$WORK/names.yaml" --site "$site" --show-remote --format tsv \
    "$WORK/capture.pcap" 2>/dev/null | rows >"$WORK/offline-$site.tsv"
  [ "$(total <"$WORK/offline-$site.tsv")" = "$TRUTH" ] ||
    fail "offline summary of $site counts $(total <"$WORK/offline-$site.tsv"), truth $TRUTH"
  grep -q $'\t'"$site-git"$'\t' "$WORK/offline-$site.tsv" ||
    fail "offline summary of $site does not name the git server $site-git"
done
diff -q "$WORK/offline-alpha.tsv" "$WORK/offline-beta.tsv" >/dev/null &&
  fail "the two sites' names make no difference to the offline rows"
log "offline: $TRUTH connections per site, each with its own names"

replay east --drain-timeout 60s || fail "sensor east exited $?"
replay east2 --site alpha --flush-interval 7s --drain-timeout 60s || fail "sensor east2 exited $?"
replay west --site beta --drain-timeout 60s || fail "sensor west exited $?"

query summary --show-remote --format tsv >"$WORK/merged.tsv" || fail "summary failed"
for site in alpha beta; do
  rows "$site"$'\t' <"$WORK/merged.tsv" >"$WORK/merged-$site.tsv"
  diff -u "$WORK/offline-$site.tsv" "$WORK/merged-$site.tsv" >&2 ||
    fail "merged rows of $site differ from its offline summary (diff above)"
  query summary --show-remote --site "$site" --format tsv | rows >"$WORK/only-$site.tsv"
  diff -u "$WORK/offline-$site.tsv" "$WORK/only-$site.tsv" >&2 ||
    fail "--site $site differs from its offline summary (diff above)"
done
[ "$(rows <"$WORK/merged.tsv" | total)" = $((2 * TRUTH)) ] ||
  fail "merged summary counts $(rows <"$WORK/merged.tsv" | total), want 2 x $TRUTH"
log "merged summary: each site's rows = its offline summary ($TRUTH each; alpha's 2 sensors dedup)"

if query summary --site nosuch --format tsv >/dev/null; then fail "--site nosuch succeeded"; fi
grep -q "unknown site 'nosuch'; known: alpha, beta" "$WORK/query.log" ||
  fail "an unknown site is not refused with the known ones: $(tail -1 "$WORK/query.log")"
query sensors --format json >"$WORK/sensors.json" || fail "sensors failed"
python3 - "$WORK/sensors.json" <<'PY' || fail "synmap sensors does not show each sensor's site"
import json, sys
sites = {r["sensor"]: r["site"] for r in json.load(open(sys.argv[1]))["rows"]}
assert sites == {"east": "alpha", "east2": "alpha", "west": "beta"}, sites
PY
query hosts --site beta --format tsv >"$WORK/hosts-beta.tsv" || fail "hosts --site beta failed"
grep -q $'\t'"beta-git"$'\t' "$WORK/hosts-beta.tsv" || fail "hosts --site beta lacks beta-git"
grep -q "alpha" "$WORK/hosts-beta.tsv" && fail "hosts --site beta shows alpha's hosts"
log "unknown site refused; sensors and hosts show sites"

# A sensor whose certificate says alpha may not write into beta.
if replay mallory --site beta --drain-timeout 5s; then fail "mallory (alpha) claiming beta was accepted"; fi
grep -q "reason=site_mismatch" "$WORK/collector.log" || fail "the collector logged no site_mismatch"
grep -q "certificate binds it to site 'alpha'" "$WORK/sensor-mallory.log" ||
  fail "the refused sensor was not told why: $(tail -3 "$WORK/sensor-mallory.log")"
query sensors --format json | grep -q mallory && fail "the refused sensor was recorded"
[ "$(query summary --format tsv | rows | total)" = $((2 * TRUTH)) ] ||
  fail "the refused sensor changed the counts"
log "certificate site alpha claiming beta: refused, nothing stored"
log "PASS"
