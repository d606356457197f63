# Shared helpers of the fleet tests (sourced): a collector with an issuing CA and an enrolment
# port, tokens, enrolment. Needs SENSOR, COLLECTOR, CLI, MAKE_CERTS, GEN; builds on the sensor
# tests' lib.sh (WORK, PIDS, cleanup, wait_for, fail, log).
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
source "$HERE/../sensor/lib.sh"
require_tools python3 openssl sqlite3
[ -x "$GEN" ] || fail "binary $GEN not built"

bash "$MAKE_CERTS" "$WORK/pki" ca >/dev/null
bash "$MAKE_CERTS" "$WORK/pki" issuing-ca >/dev/null
bash "$MAKE_CERTS" "$WORK/pki" collector collector >/dev/null
FINGERPRINT=SHA256:$(openssl x509 -in "$WORK/pki/ca.pem" -noout -fingerprint -sha256 | sed 's/.*=//')

# start_fleet_collector [flags...]: sets PORT and ENROL_PORT.
start_fleet_collector() {
  rm -f "$WORK/collector.port"
  "$COLLECTOR" --listen 127.0.0.1:"${PORT:-0}" --enrol-listen 127.0.0.1:"${ENROL_PORT:-0}" \
    --port-file "$WORK/collector.port" --db "$WORK/collector.db" --ca "$WORK/pki/ca.pem" \
    --cert "$WORK/pki/collector.pem" --key "$WORK/pki/collector.key" \
    --issuing-ca "$WORK/pki/issuing-ca.pem" --issuing-ca-key "$WORK/pki/issuing-ca.key" \
    "$@" >>"$WORK/collector.log" 2>&1 &
  COLLECTOR_PID=$!
  PIDS+=("$COLLECTOR_PID")
  wait_for "collector port file" 30 test -s "$WORK/collector.port"
  PORT=$(cat "$WORK/collector.port")
  ENROL_PORT=$(grep -o 'enrol_port=[0-9]*' "$WORK/collector.log" | tail -1 | cut -d= -f2)
  [ -n "$ENROL_PORT" ] && [ "$ENROL_PORT" != 0 ] || fail "collector logged no enrolment port"
}

# token NAME ROLE [flags...]: prints a new token (the collector's own subcommand, with its db).
token() {
  local name=$1 role=$2
  shift 2
  "$COLLECTOR" token create --name "$name" --role "$role" --db "$WORK/collector.db" "$@" \
    2>>"$WORK/token.log"
}

# enroll PROGRAM NAME TOKEN [flags...]: enrols into $WORK/hosts/NAME; returns its exit code.
enroll() {
  local program=$1 name=$2 tok=$3
  shift 3
  mkdir -p "$WORK/hosts/$name"
  "$program" enroll --collector "127.0.0.1:$ENROL_PORT" --token "$tok" \
    --ca-fingerprint "$FINGERPRINT" --dir "$WORK/hosts/$name" "$@" >>"$WORK/enroll.log" 2>&1
}

# refusals REASON: how often the collector logged an enrolment refused for REASON.
refusals() { grep -c "enrol_refused .*reason=$1" "$WORK/collector.log" || true; }
