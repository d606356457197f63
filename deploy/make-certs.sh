#!/usr/bin/env bash
# Makes the deployment's certificates with the OpenSSL CLI (EC P-256 keys, SHA-256).
#
#   make-certs.sh DIR ca        [--days N] [--force]         -> DIR/ca.pem, DIR/ca.key
#   make-certs.sh DIR issuing-ca [--days N] [--force]        -> DIR/issuing-ca.pem, .key
#   make-certs.sh DIR collector NAME [--san DNS:x,IP:y,...]  -> DIR/NAME.pem, DIR/NAME.key
#   make-certs.sh DIR sensor    NAME [--site SITE]           -> DIR/NAME.pem, DIR/NAME.key
#   make-certs.sh DIR reader    NAME                         -> DIR/NAME.pem, DIR/NAME.key
#   common options for leaf certs: --days N (default 825), --expired (valid 2 days ago to
#   1 day ago, for tests), --not-yet-valid (valid from 1 day ahead, for tests),
#   --valid-seconds FROM,TO (valid from FROM to TO seconds from now, e.g. -20,10, for renewal
#   tests), --force (overwrite existing files)
#
# A leaf cert has CN=NAME and OU=role; synmap reads the peer's name from CN and its role
# from OU. The collector gets serverAuth and SANs (default DNS:localhost,IP:127.0.0.1,IP:::1,
# plus DNS:NAME); sensors and readers get clientAuth. Keys are written mode 0600.
# --site puts L=SITE in a sensor cert: the collector files its data under that site.
# The issuing CA (signed by ca.pem, default 825 days) is for the collector's --issuing-ca: it
# signs enrolled sensors' and readers' certificates, while ca.key can stay offline.
set -euo pipefail

usage() {
  sed -n '2,19p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
die() { echo "make-certs: $*" >&2; exit 1; }

[ $# -ge 2 ] || usage
dir=$1 role=$2
shift 2
name=""
case "$role" in
  ca|issuing-ca) ;;
  collector|sensor|reader)
    [ $# -ge 1 ] || die "$role needs a NAME"
    name=$1; shift ;;
  -h|--help) usage ;;
  *) die "unknown kind '$role' (want ca, issuing-ca, collector, sensor or reader)" ;;
esac

days=""
san=""
site=""
expired=0
not_yet_valid=0
valid_seconds=""
force=0
while [ $# -gt 0 ]; do
  case "$1" in
    --days) [ $# -ge 2 ] || die "--days needs a value"; days=$2; shift 2 ;;
    --san) [ $# -ge 2 ] || die "--san needs a value"; san=$2; shift 2 ;;
    --site) [ $# -ge 2 ] || die "--site needs a value"; site=$2; shift 2 ;;
    --expired) expired=1; shift ;;
    --not-yet-valid) not_yet_valid=1; shift ;;
    --valid-seconds) [ $# -ge 2 ] || die "--valid-seconds needs FROM,TO"; valid_seconds=$2; shift 2 ;;
    --force) force=1; shift ;;
    -h|--help) usage ;;
    *) die "unknown option '$1'" ;;
  esac
done

if [ -n "$days" ] && ! [[ "$days" =~ ^[1-9][0-9]{0,4}$ ]]; then
  die "--days must be a positive whole number of days, got '$days'"
fi
if [ -n "$name" ] && ! [[ "$name" =~ ^[A-Za-z0-9._-]{1,64}$ ]]; then
  die "NAME must be 1-64 characters of [A-Za-z0-9._-], got '$name'"
fi
[ -z "$san" ] || [ "$role" = collector ] || die "--san applies only to collector certificates"
[ -z "$site" ] || [ "$role" = sensor ] || die "--site applies only to sensor certificates"
if [ -n "$site" ] && ! [[ "$site" =~ ^[A-Za-z0-9._-]{1,64}$ ]]; then
  die "SITE must be 1-64 characters of [A-Za-z0-9._-], got '$site'"
fi
case "$role" in ca|issuing-ca) ca_kind=1 ;; *) ca_kind=0 ;; esac
[ "$expired" = 0 ] || [ "$ca_kind" = 0 ] || die "--expired applies only to leaf certificates"
[ "$not_yet_valid" = 0 ] || [ "$ca_kind" = 0 ] ||
  die "--not-yet-valid applies only to leaf certificates"
[ "$expired" = 0 ] || [ "$not_yet_valid" = 0 ] || die "--expired and --not-yet-valid exclude each other"
if [ -n "$valid_seconds" ]; then
  [ "$ca_kind" = 0 ] || die "--valid-seconds applies only to leaf certificates"
  [ "$expired" = 0 ] && [ "$not_yet_valid" = 0 ] && [ -z "$days" ] ||
    die "--valid-seconds excludes --days, --expired and --not-yet-valid"
  [[ "$valid_seconds" =~ ^(-?[0-9]{1,9}),(-?[0-9]{1,9})$ ]] && \
    [ "${BASH_REMATCH[1]}" -lt "${BASH_REMATCH[2]}" ] ||
    die "--valid-seconds wants FROM,TO in seconds from now with FROM < TO (e.g. -20,10), got '$valid_seconds'"
fi
command -v openssl >/dev/null || die "openssl not found (apt-get install openssl)"

mkdir -p "$dir"
umask 077
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

new_key() {  # new_key PATH
  openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null
  chmod 600 "$1"
}

if [ "$role" = ca ]; then
  if [ "$force" = 0 ] && { [ -e "$dir/ca.key" ] || [ -e "$dir/ca.pem" ]; }; then
    die "$dir/ca.pem or ca.key exists; refusing to replace the CA (--force to overwrite)"
  fi
  new_key "$tmp/ca.key"
  openssl req -x509 -new -sha256 -key "$tmp/ca.key" -days "${days:-3650}" \
    -subj "/O=synmap/CN=synmap-ca" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:1" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -out "$tmp/ca.pem"
  mv "$tmp/ca.key" "$dir/ca.key"
  mv "$tmp/ca.pem" "$dir/ca.pem"
  chmod 644 "$dir/ca.pem"
  echo "make-certs: wrote $dir/ca.pem and $dir/ca.key (keep ca.key offline)"
  echo "make-certs: CA fingerprint $(openssl x509 -in "$dir/ca.pem" -noout -fingerprint -sha256 | sed 's/.*=/SHA256:/')"
  exit 0
fi

[ -r "$dir/ca.pem" ] && [ -r "$dir/ca.key" ] || die "no CA in $dir (run: $0 $dir ca)"
if [ "$force" = 0 ] && { [ -e "$dir/$name.key" ] || [ -e "$dir/$name.pem" ]; }; then
  die "$dir/$name.pem or $name.key exists (--force to overwrite)"
fi
case "$name" in ca|issuing-ca) die "NAME '$name' would overwrite the CA files" ;; esac

if [ "$role" = issuing-ca ]; then
  if [ "$force" = 0 ] && { [ -e "$dir/issuing-ca.key" ] || [ -e "$dir/issuing-ca.pem" ]; }; then
    die "$dir/issuing-ca.pem or issuing-ca.key exists (--force to overwrite)"
  fi
  if openssl x509 -in "$dir/ca.pem" -noout -text | grep -q 'pathlen:0'; then
    die "$dir/ca.pem allows no CA below it (pathlen:0, made by an older make-certs.sh): make a new CA (--force) and the collector certificate from it"
  fi
  new_key "$tmp/issuing.key"
  openssl req -new -sha256 -key "$tmp/issuing.key" -subj "/O=synmap/CN=synmap-issuing-ca" \
    -out "$tmp/issuing.csr"
  cat >"$tmp/issuing.cnf" <<CNF
[ issuing_ext ]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
CNF
  openssl x509 -req -sha256 -in "$tmp/issuing.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca.key" \
    -CAcreateserial -CAserial "$tmp/ca.srl" -days "${days:-825}" \
    -extfile "$tmp/issuing.cnf" -extensions issuing_ext -out "$tmp/issuing.pem" 2>"$tmp/ca.log" ||
    { cat "$tmp/ca.log" >&2; die "signing the issuing CA failed"; }
  mv "$tmp/issuing.key" "$dir/issuing-ca.key"
  mv "$tmp/issuing.pem" "$dir/issuing-ca.pem"
  chmod 644 "$dir/issuing-ca.pem"
  echo "make-certs: wrote $dir/issuing-ca.pem and $dir/issuing-ca.key (for the collector's --issuing-ca and --issuing-ca-key)"
  exit 0
fi

case "$role" in
  collector)
    eku=serverAuth
    san=${san:-DNS:localhost,IP:127.0.0.1,IP:::1}
    san="DNS:$name,$san" ;;
  sensor|reader)
    eku=clientAuth ;;
esac

cat >"$tmp/ca.cnf" <<CNF
[ ca ]
default_ca = synmap_ca
[ synmap_ca ]
database = $tmp/index.txt
new_certs_dir = $tmp
rand_serial = yes
default_md = sha256
policy = policy_leaf
unique_subject = no
copy_extensions = none
email_in_dn = no
[ policy_leaf ]
localityName = optional
organizationName = supplied
organizationalUnitName = supplied
commonName = supplied
[ leaf_ext ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature,keyEncipherment
extendedKeyUsage = $eku
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid,issuer
CNF
[ -z "$san" ] || echo "subjectAltName = $san" >>"$tmp/ca.cnf"
: >"$tmp/index.txt"

new_key "$tmp/leaf.key"
openssl req -new -sha256 -key "$tmp/leaf.key" -subj "${site:+/L=$site}/O=synmap/OU=$role/CN=$name" \
  -out "$tmp/leaf.csr"

if [ "$expired" = 1 ]; then
  validity=(-startdate "$(date -u -d '2 days ago' +%Y%m%d%H%M%SZ)"
            -enddate "$(date -u -d '1 day ago' +%Y%m%d%H%M%SZ)")
elif [ "$not_yet_valid" = 1 ]; then
  validity=(-startdate "$(date -u -d '1 day' +%Y%m%d%H%M%SZ)"
            -enddate "$(date -u -d '30 days' +%Y%m%d%H%M%SZ)")
elif [ -n "$valid_seconds" ]; then
  now=$(date -u +%s)
  validity=(-startdate "$(date -u -d "@$((now + ${valid_seconds%,*}))" +%Y%m%d%H%M%SZ)"
            -enddate "$(date -u -d "@$((now + ${valid_seconds#*,}))" +%Y%m%d%H%M%SZ)")
else
  validity=(-days "${days:-825}")
fi
openssl ca -batch -notext -config "$tmp/ca.cnf" -extensions leaf_ext \
  -cert "$dir/ca.pem" -keyfile "$dir/ca.key" "${validity[@]}" \
  -in "$tmp/leaf.csr" -out "$tmp/leaf.pem" 2>"$tmp/ca.log" || { cat "$tmp/ca.log" >&2; die "signing failed"; }

mv "$tmp/leaf.key" "$dir/$name.key"
mv "$tmp/leaf.pem" "$dir/$name.pem"
chmod 644 "$dir/$name.pem"
echo "make-certs: wrote $dir/$name.pem and $dir/$name.key (CN=$name, OU=$role${site:+, L=$site})"
