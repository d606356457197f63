#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (+ASan/UBSan) and runs each for a bounded time from
# seed corpora (generated captures, ../shared/pcaps when present, example YAML files). Every
# file in tests/fuzz/regressions/TARGET/ (crashes found earlier) is replayed first.
# usage: tests/fuzz/run-fuzz.sh BUILD_DIR [SECONDS_PER_TARGET]   (prints a results table)
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BUILD=${1:?usage: run-fuzz.sh BUILD_DIR [SECONDS]}
SECONDS_PER=${2:-${FUZZ_SECONDS:-40}}
TARGETS=(decoder_fuzz pcapfile_fuzz batch_fuzz names_fuzz config_fuzz)

CC=clang CXX=clang++ cmake -S "$ROOT" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DSYNMAP_FUZZ=ON -DSYNMAP_SANITIZE=address,undefined >"$BUILD.configure.log" 2>&1 \
  || { cat "$BUILD.configure.log"; exit 1; }
ninja -C "$BUILD" -j"${JOBS:-2}" "${TARGETS[@]}" synmap-gen-capture >"$BUILD.build.log" 2>&1 \
  || { tail -50 "$BUILD.build.log"; exit 1; }

WORK=$BUILD/fuzz-work
rm -rf "$WORK"; mkdir -p "$WORK/gen"
"$BUILD/bench/synmap-gen-capture" --out "$WORK/gen/a.pcap" --names "$WORK/gen/names.yaml" \
  --packets 300 --seed 11 --vlan-share 0.3 --ipv6-share 0.3 >/dev/null 2>&1
"$BUILD/bench/synmap-gen-capture" --out "$WORK/gen/b.pcap" --packets 200 --seed 12 --nanosecond \
  >/dev/null 2>&1
CAPTURES=("$WORK"/gen/*.pcap)
PCAPS=$ROOT/../shared/pcaps
if [ -d "$PCAPS" ]; then
  while IFS= read -r f; do CAPTURES+=("$f"); done < <(find "$PCAPS" -name '*.pcap*' -size -1M | sort)
else
  echo "run-fuzz: $PCAPS not present: seeding from generated captures only"
fi
/usr/bin/python3 tests/fuzz/make_seeds.py "$WORK/seeds" --captures "${CAPTURES[@]}" \
  --names "$WORK/gen/names.yaml" $(ls deploy/config/*.yaml 2>/dev/null | grep -v names) \
  --configs $(ls deploy/config/*.yaml 2>/dev/null)

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
fail=0
printf '%-15s %10s %8s %8s %s\n' target execs seconds corpus result | tee "$WORK/results.txt"
for t in "${TARGETS[@]}"; do
  name=${t%_fuzz}
  reg=$ROOT/tests/fuzz/regressions/$name
  if [ -d "$reg" ] && [ -n "$(ls -A "$reg")" ]; then
    "$BUILD/tests/fuzz/$t" "$reg"/* >"$WORK/$t.regress.log" 2>&1 \
      || { echo "run-fuzz: $t: a regression input fails again:"; tail -30 "$WORK/$t.regress.log"; fail=1; }
  fi
  corpus=$WORK/corpus/$name; mkdir -p "$corpus"
  seeds=$WORK/seeds/$name; mkdir -p "$seeds"
  "$BUILD/tests/fuzz/$t" "$corpus" "$seeds" -max_total_time="$SECONDS_PER" -max_len=65536 \
    -rss_limit_mb=2048 -timeout=10 -artifact_prefix="$WORK/$t-" >"$WORK/$t.log" 2>&1
  rc=$?
  execs=$(grep -Eo 'Done [0-9]+ runs' "$WORK/$t.log" | grep -Eo '[0-9]+' | tail -1)
  files=$(ls "$corpus" | wc -l)
  if [ $rc -ne 0 ]; then
    result="CRASH (see $WORK/$t.log; add the artifact to tests/fuzz/regressions/$name/)"
    fail=1; tail -40 "$WORK/$t.log"
  else
    result=ok
  fi
  printf '%-15s %10s %8s %8s %s\n' "$t" "${execs:-?}" "$SECONDS_PER" "$files" "$result" | tee -a "$WORK/results.txt"
done
exit $fail
