#!/usr/bin/env bash
# deploy/prometheus/alerts.yml: `promtool check rules` (syntax, PromQL, templates) and
# `promtool test rules alerts_test.yml` (each alert fires on its series). promtool comes with
# Debian's prometheus package (deploy/install-deps.sh). Without it, a structural check with
# python3-yaml: every rule has an alert name, an expression, a severity and both annotations.
# Usage: alert_rules_test.sh REPO_ROOT
set -euo pipefail
ROOT=$1
RULES=$ROOT/deploy/prometheus/alerts.yml
HERE=$(cd "$(dirname "$0")" && pwd)
if command -v promtool >/dev/null; then
  WORK=$(mktemp -d "${TMPDIR:-/tmp}/synmap-alerts-XXXXXX")
  trap 'rm -rf "$WORK"' EXIT
  cp "$RULES" "$HERE/alerts_test.yml" "$WORK/"
  promtool check rules "$WORK/alerts.yml"
  (cd "$WORK" && promtool test rules alerts_test.yml)
  exit 0
fi
echo "promtool not installed (Debian package prometheus): structural check only"
/usr/bin/python3 - "$RULES" <<'PY'
import sys
import yaml
doc = yaml.safe_load(open(sys.argv[1]))
names = set()
for group in doc["groups"]:
    assert group["name"] and group["rules"], group
    for rule in group["rules"]:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
        assert rule["alert"] not in names, rule["alert"]
        names.add(rule["alert"])
        assert isinstance(rule["expr"], str) and rule["expr"].strip(), rule
        assert rule["labels"]["severity"] in ("warning", "critical"), rule
        assert {"summary", "description"} <= set(rule["annotations"]), rule
want = {"SynmapSensorDown", "SynmapSensorSilent", "SynmapSensorDroppingPackets",
        "SynmapSensorBacklogGrowing", "SynmapCertificateExpiringSoon", "SynmapCollectorRefusing"}
assert want <= names, want - names
print(f"{len(names)} rules well formed")
PY
