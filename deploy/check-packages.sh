#!/usr/bin/env bash
# Builds the .deb packages from a configured build dir and checks them: each unpacks
# (dpkg -x) into a temporary root, its binaries run --version, its units pass
# `systemd-analyze verify` (when systemd-analyze is installed), its example configs are there.
# usage: deploy/check-packages.sh BUILD_DIR
set -euo pipefail
BUILD=${1:?usage: check-packages.sh BUILD_DIR}
cd "$BUILD"
rm -f ./*.deb
cpack -G DEB >cpack.log 2>&1 || { cat cpack.log; exit 1; }
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
for pkg in synmap-sensor synmap-collector; do
  deb=$(ls ${pkg}_*.deb 2>/dev/null | head -1)
  [ -n "$deb" ] || { echo "package: $pkg: no .deb built"; exit 1; }
  echo "package: $deb ($(du -h "$deb" | cut -f1))"
  dpkg-deb --info "$deb" | grep -E '^ (Package|Version|Depends):' | sed 's/^/package:   /'
  root=$TMP/$pkg; mkdir -p "$root"; dpkg -x "$deb" "$root"
done
check_version() {
  local bin=$1
  [ -x "$bin" ] || { echo "package: missing $bin"; exit 1; }
  out=$("$bin" --version)
  echo "package: $(basename "$bin") --version: $out"
  [ -n "$out" ]
}
check_version "$TMP/synmap-sensor/usr/bin/synmap-sensor"
check_version "$TMP/synmap-collector/usr/bin/synmap-collector"
check_version "$TMP/synmap-collector/usr/bin/synmap"
for f in synmap-sensor/usr/share/synmap/examples/sensor.yaml \
         synmap-collector/usr/share/synmap/examples/collector.yaml \
         synmap-collector/usr/share/synmap/examples/names.yaml \
         synmap-sensor/usr/lib/systemd/system/synmap-sensor.service \
         synmap-collector/usr/lib/systemd/system/synmap-collector.service; do
  [ -f "$TMP/$f" ] || { echo "package: missing $f"; exit 1; }
done
if command -v systemd-analyze >/dev/null 2>&1; then
  for unit in synmap-sensor synmap-collector; do
    dir=$TMP/$unit
    # verify resolves ExecStart against the running system: point it at the unpacked binary.
    sed "s|/usr/bin/|$dir/usr/bin/|" "$dir/usr/lib/systemd/system/$unit.service" >"$TMP/$unit.service"
    if out=$(systemd-analyze verify "$TMP/$unit.service" 2>&1); then
      echo "package: systemd-analyze verify $unit.service: ok"
    else
      # Unknown users on this machine are not a unit error; anything else is.
      if echo "$out" | grep -vE 'User=|Group=|synmap.*not found|^$' | grep -q .; then
        echo "$out"; exit 1
      fi
      echo "package: systemd-analyze verify $unit.service: ok (user synmap not on this machine)"
    fi
  done
else
  echo "package: systemd-analyze not installed: units not verified"
fi
echo "package: ok"
