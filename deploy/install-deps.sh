#!/usr/bin/env bash
# Installs every Debian package that synmap's build, tests and benchmarks need.
# Idempotent: packages already present are left alone. Must run as root (or via sudo).
set -euo pipefail

PACKAGES=(
  # build
  build-essential cmake ninja-build ccache pkg-config clang lld libclang-rt-14-dev clang-format
  # libraries
  libpcap-dev libgrpc++-dev libprotobuf-dev protobuf-compiler protobuf-compiler-grpc
  libabsl-dev libssl-dev libsqlite3-dev libyaml-cpp-dev libgtest-dev libgmock-dev zlib1g-dev
  # PostgreSQL store (libpq) and the real PostgreSQL 15 its tests start
  libpq-dev postgresql-15
  # the service map: Graphviz layout and rendering (synmap graph, --format dot checks)
  libgraphviz-dev graphviz
  # HTTP server for `synmap web` and the Prometheus metrics endpoints
  libcpp-httplib-dev
  # tools used by tests and benchmarks
  openssl sqlite3 python3-yaml netbase tcpdump tcpreplay iproute2 procps time netcat-openbsd python3
  # export rules loaded into real firewalls (tests/integration/cli_query/export_firewall_test.sh)
  nftables iptables
  # the independent dissector the decoder's tunnel counts are checked against
  # (tests/unit/common/packet/decoder_shared_pcaps_test.cc)
  tshark
  # the web page's browser tests (headless Chromium driven by Selenium) and the metrics
  # endpoints' parser (tests/integration/web, tests/integration/metrics)
  chromium chromium-driver python3-selenium python3-prometheus-client
  # promtool checks and unit-tests deploy/prometheus/alerts.yml (tests/integration/metrics);
  # Debian ships it only inside the server package (~21 MB of .debs, 96 MB installed, ~10 s).
  # Where systemd runs, installing it enables and starts a Prometheus on :9090; CI containers
  # deny service starts (policy-rc.d).
  prometheus
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#PACKAGES[@]} packages present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"
