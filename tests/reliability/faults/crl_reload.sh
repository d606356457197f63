#!/usr/bin/env bash
# The collector's --crl (issue #12): a CRL from the deployment's own PKI (made here with
# `openssl ca -gencrl`) is checked in every TLS handshake and reloaded on SIGHUP.
#  1. Started with a CRL that lists nothing: the reader's query works.
#  2. The reader's certificate is revoked in a new CRL (DER this time), the file replaced and
#     SIGHUP sent: the collector logs crl_reloaded, the reader's next query fails its
#     handshake (logged tls_handshake_refused reason=revoked name=reader, counted), while a
#     second reader's query still works.
#  3. A broken file and SIGHUP: crl_reload_failed ... keeping=previous; the reader is still
#     refused and the second reader still served.
#  4. A collector started with a broken CRL, or one signed by another CA, exits non-zero at
#     start naming the file.
#
# usage: crl_reload.sh [--build-dir DIR] [--keep]
# Exit 0 pass, 1 fail, 77 skipped (binaries not built). Needs no root.
set -euo pipefail
SCENARIO=crl-reload
source "$(dirname "$0")/lib.sh"
faults_args "$@"
faults_init
bash "$ROOT/deploy/make-certs.sh" "$PKI" reader reader-2 >/dev/null

# A minimal `openssl ca` setup over the test CA, for revoking and making CRLs.
CADB=$WORK/cadb
mkdir -p "$CADB"
: >"$CADB/index.txt"
echo 1000 >"$CADB/crlnumber"
cat >"$CADB/ca.cnf" <<CNF
[ ca ]
default_ca = test_ca
[ test_ca ]
database = $CADB/index.txt
crlnumber = $CADB/crlnumber
default_md = sha256
default_crl_days = 7
CNF
gencrl() {
  openssl ca -batch -config "$CADB/ca.cnf" -cert "$PKI/ca.pem" -keyfile "$PKI/ca.key" -gencrl \
    -out "$1" 2>>"$WORK/openssl.log" || { cat "$WORK/openssl.log" >&2; fail "openssl ca -gencrl failed"; }
}
CRL=$WORK/deployment.crl
gencrl "$CRL"

# reader_query CERT: `synmap sensors` as that reader; its exit status.
reader_query() {
  "$SYNMAP" sensors --collector "$ADDR" --ca "$PKI/ca.pem" --cert "$PKI/$1.pem" \
    --key "$PKI/$1.key" >"$WORK/query-$1.out" 2>&1
}

: >"$WORK/collector.log"
rm -f "$WORK/collector.port"
"$COLLECTOR" --listen 127.0.0.1:0 --port-file "$WORK/collector.port" --db "$DB" \
  --ca "$PKI/ca.pem" --cert "$PKI/collector.pem" --key "$PKI/collector.key" --crl "$CRL" \
  >>"$WORK/collector.log" 2>&1 &
COLLECTOR_PID=$!
track $COLLECTOR_PID
for i in $(seq 1 300); do
  [ -s "$WORK/collector.port" ] && break
  kill -0 "$COLLECTOR_PID" 2>/dev/null || { cat "$WORK/collector.log" >&2; fail "collector exited at start"; }
  sleep 0.05
done
ADDR=127.0.0.1:$(cat "$WORK/collector.port")
grep -q 'crl_loaded .*revoked=0' "$WORK/collector.log" || fail "no crl_loaded line with revoked=0"
reader_query reader || { cat "$WORK/query-reader.out" >&2; fail "reader refused under an empty CRL"; }
say "1. empty CRL: reader served"

# wait_log PATTERN: waits up to 5 s for PATTERN in the collector's log.
wait_log() {
  for i in $(seq 1 100); do
    grep -qE -- "$1" "$WORK/collector.log" && return 0
    sleep 0.05
  done
  fail "no '$1' in the collector's log within 5 s"
}

openssl ca -batch -config "$CADB/ca.cnf" -cert "$PKI/ca.pem" -keyfile "$PKI/ca.key" \
  -revoke "$PKI/reader.pem" 2>>"$WORK/openssl.log" || { cat "$WORK/openssl.log" >&2; fail "openssl ca -revoke failed"; }
gencrl "$WORK/new.crl.pem"
openssl crl -in "$WORK/new.crl.pem" -outform DER -out "$WORK/new.crl.der"
mv "$WORK/new.crl.der" "$CRL"
kill -HUP "$COLLECTOR_PID"
wait_log 'crl_reloaded .*revoked=1'
if reader_query reader; then
  fail "the revoked reader was served after the CRL reload"
fi
wait_log 'tls_handshake_refused .*reason=revoked name=reader '
reader_query reader-2 || { cat "$WORK/query-reader-2.out" >&2; fail "reader-2 refused"; }
say "2. CRL listing reader loaded on SIGHUP: reader refused ($(head -c 160 "$WORK/query-reader.out" | tr '\n' ' ')), reader-2 served"

echo "not a crl" >"$CRL"
kill -HUP "$COLLECTOR_PID"
wait_log 'crl_reload_failed .*keeping=previous'
if reader_query reader; then
  fail "the revoked reader was served after a failed CRL reload"
fi
reader_query reader-2 || fail "reader-2 refused after a failed CRL reload"
kill -0 "$COLLECTOR_PID" || fail "the collector died on a broken CRL reload"
say "3. broken CRL on SIGHUP: $(grep -o 'crl_reload_failed.*' "$WORK/collector.log" | head -1 | cut -c1-200)"

# start_refused CRLFILE WHAT: a collector started with CRLFILE must exit non-zero naming it.
start_refused() {
  local log=$WORK/refused-$2.log rc=0
  timeout 20 "$COLLECTOR" --listen 127.0.0.1:0 --db "$WORK/other-$2.db" --ca "$PKI/ca.pem" \
    --cert "$PKI/collector.pem" --key "$PKI/collector.key" --crl "$1" >"$log" 2>&1 || rc=$?
  [ "$rc" -ne 0 ] && [ "$rc" -ne 124 ] || { cat "$log" >&2; fail "collector with $2 CRL: exit $rc"; }
  grep -q "crl $1" "$log" || { cat "$log" >&2; fail "the error does not name the CRL file"; }
  say "4. $2 CRL at start: exit $rc: $(grep -o 'crl .*' "$log" | tail -1 | cut -c1-200)"
}
start_refused "$CRL" broken
OTHER=$WORK/other-pki
bash "$ROOT/deploy/make-certs.sh" "$OTHER" ca >/dev/null
sed -e "s#$PKI/#$OTHER/#g" -e "s#$CADB/#$OTHER/#g" "$CADB/ca.cnf" >"$OTHER/ca.cnf"
: >"$OTHER/index.txt"
echo 1000 >"$OTHER/crlnumber"
openssl ca -batch -config "$OTHER/ca.cnf" -cert "$OTHER/ca.pem" -keyfile "$OTHER/ca.key" -gencrl \
  -out "$WORK/foreign.crl" 2>>"$WORK/openssl.log" || fail "openssl ca -gencrl (other CA) failed"
start_refused "$WORK/foreign.crl" foreign

say "---- figures"
say "revoked handshakes counted: $(grep -c 'tls_handshake_refused .*reason=revoked' "$WORK/collector.log")"
say "PASS"
