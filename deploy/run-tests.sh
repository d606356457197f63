#!/usr/bin/env bash
# Installs what is needed, builds, and runs every synmap test:
#   1. a warnings-as-errors release build: unit + integration tests (live-capture tests need root),
#      the benchmarks in their small mode (they print figures and check correctness);
#   2. an ASan+UBSan build of the whole test suite;
#   3. a TSan build of the threaded parts (uplink, ingest, store).
# Usage: deploy/run-tests.sh [--quick] [--repeat N] [--only-threaded]
#   --quick          stage 1 only;
#   --repeat N       run every ctest stage's tests up to N times each, stopping a test at its
#                    first failure (ctest --repeat until-fail:N): for hunting flaky tests;
#   --only-threaded  only the TSan stage (with --repeat: `ctest -L threaded` N times under TSan).
# Environment: SYNMAP_BUILD_ROOT (default ./build-tests), JOBS (default 2).
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD_ROOT=${SYNMAP_BUILD_ROOT:-$ROOT/build-tests}
JOBS=${JOBS:-2}
QUICK=0
ONLY_THREADED=0
REPEAT_ARGS=()
while [ $# -gt 0 ]; do
  case "$1" in
    --quick) QUICK=1 ;;
    --only-threaded) ONLY_THREADED=1 ;;
    --repeat)
      [[ "${2:-}" =~ ^[1-9][0-9]*$ ]] || { echo "run-tests: --repeat needs a count >= 1" >&2; exit 64; }
      REPEAT_ARGS=(--repeat "until-fail:$2"); shift ;;
    *) echo "usage: deploy/run-tests.sh [--quick] [--repeat N] [--only-threaded]" >&2; exit 64 ;;
  esac
  shift
done

bash deploy/install-deps.sh || { echo "run-tests: installing dependencies failed" >&2; exit 1; }
export CCACHE_DIR=${CCACHE_DIR:-$HOME/.cache/synmap-ccache}
export CCACHE_MAXSIZE=${CCACHE_MAXSIZE:-5G}
# Paths relative to the checkout, so a clone in another folder reuses the cache.
export CCACHE_BASEDIR=$ROOT CCACHE_NOHASHDIR=true

total_pass=0
total_fail=0
failed_stages=()
START=$(date +%s)

stamp() { echo "== [$(( $(date +%s) - START ))s] $*"; }

# configure_build DIR [cmake args...]
configure_build() {
  local dir=$1; shift
  cmake -S "$ROOT" -B "$dir" -G Ninja -DSYNMAP_WERROR=ON "$@" >"$dir.configure.log" 2>&1 \
    || { cat "$dir.configure.log"; return 1; }
  ninja -C "$dir" -j"$JOBS" >"$dir.build.log" 2>&1 || { tail -60 "$dir.build.log"; return 1; }
}

# print_failed_output LOG: the last lines each failed test printed (ctest --output-on-failure
# puts them after the test's "***Failed" line), so a CI log says why, not only which.
print_failed_output() {
  awk '
    function flush() { if (name != "") { print "---- " name ": last lines of its output"; s = (n > 40) ? n - 40 : 0; for (i = s + 1; i <= n; i++) print "  | " buf[i]; } name = ""; n = 0 }
    /^ *[0-9]+\/[0-9]+ Test +#[0-9]+: / {
      flush()
      if ($0 ~ /\*\*\*|Not Run|Timeout|Exception/) { name = $0; sub(/^ *[0-9]+\/[0-9]+ Test +#[0-9]+: /, "", name); sub(/ *\.+.*/, "", name) }
      next
    }
    /tests passed, [0-9]+ tests failed/ { flush(); next }
    /^ +Start +[0-9]+: / { next }
    name != "" { buf[++n] = $0 }
    END { flush() }
  ' "$1"
}

# run_ctest NAME DIR [ctest args...]: runs ctest, adds its counts to the totals.
run_ctest() {
  local name=$1 dir=$2; shift 2
  local log="$dir.ctest.log"
  ctest --test-dir "$dir" --output-on-failure -j"$JOBS" "${REPEAT_ARGS[@]}" "$@" 2>&1 | tee "$log" | \
    grep -E '(Failed|Not Run|\*\*\*|tests passed|Skipped|SKIPPED)' | grep -v '^ *[0-9]*/[0-9]* Test .*Passed' || true
  local line pass fail
  line=$(grep -E 'tests passed, [0-9]+ tests failed out of [0-9]+' "$log" | tail -1)
  if [ -z "$line" ]; then
    echo "run-tests: stage $name: ctest printed no summary" >&2
    failed_stages+=("$name"); total_fail=$((total_fail + 1)); return
  fi
  fail=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\1/')
  all=$(echo "$line" | sed -E 's/.* ([0-9]+) tests failed out of ([0-9]+).*/\2/')
  [ "$fail" -eq 0 ] || print_failed_output "$log"
  pass=$((all - fail))
  total_pass=$((total_pass + pass)); total_fail=$((total_fail + fail))
  [ "$fail" -eq 0 ] || failed_stages+=("$name")
  stamp "stage $name: $pass passed, $fail failed"
}

# run_check NAME CMD...: one pass/fail check whose output goes to a log (shown on failure).
run_check() {
  local name=$1; shift
  local log="$BUILD_ROOT/check-$name.log"
  if "$@" >"$log" 2>&1; then
    total_pass=$((total_pass + 1)); stamp "check $name: passed"
    grep -E '^(check|quickstart|bench|run-fuzz|package):|^[a-z_]+_fuzz ' "$log" | tail -15 || true
  else
    total_fail=$((total_fail + 1)); failed_stages+=("$name"); stamp "check $name: FAILED"
    tail -60 "$log"
  fi
}

mkdir -p "$BUILD_ROOT"

stage_release() {
  # Formatting (.clang-format): every tracked C++ file, no changes needed.
  run_check format bash -c 'git ls-files "*.cc" "*.h" | xargs clang-format --dry-run --Werror'

  stamp "stage release: build"
  if configure_build "$BUILD_ROOT/release" -DCMAKE_BUILD_TYPE=RelWithDebInfo; then
    run_ctest release "$BUILD_ROOT/release"
  else
    failed_stages+=("release-build"); total_fail=$((total_fail + 1))
  fi

  if [ -x "$BUILD_ROOT/release/cli/synmap" ]; then
    run_check quickstart env SYNMAP_BUILD_DIR="$BUILD_ROOT/release" \
      bash deploy/quickstart.sh --check --dir "$BUILD_ROOT/quickstart"
    run_check bench-small bash bench/bench_summarize.sh --small --build-dir "$BUILD_ROOT/release"
    run_check package bash deploy/check-packages.sh "$BUILD_ROOT/release"
    if [ "$(id -u)" -eq 0 ]; then
      run_check sensor-bench-small bash bench/sensor_replay_bench.sh --small --build-dir "$BUILD_ROOT/release"
    else
      echo "run-tests: not root: sensor replay benchmark skipped (needs network namespaces)"
    fi
  fi
}

stage_fuzz_asan() {
  stamp "stage fuzz: build and run each target for ${FUZZ_SECONDS:-40}s"
  run_check fuzz bash tests/fuzz/run-fuzz.sh "$BUILD_ROOT/fuzz" "${FUZZ_SECONDS:-40}"

  # The reliability scenarios (label reliability) assert timing (faults injected while sensors
  # run) and memory bounds that ASan's slowdown and shadow memory invalidate; they run in the
  # release stage, and what they exercise is covered here by the unit and integration tests.
  stamp "stage asan+ubsan: build"
  if configure_build "$BUILD_ROOT/asan" -DCMAKE_BUILD_TYPE=Debug -DSYNMAP_SANITIZE=address,undefined; then
    ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
      LSAN_OPTIONS=suppressions=$ROOT/tests/lsan.supp \
      run_ctest asan "$BUILD_ROOT/asan" -LE 'nosan|reliability'
  else
    failed_stages+=("asan-build"); total_fail=$((total_fail + 1))
  fi
}

stage_tsan() {
  stamp "stage tsan: build (threaded parts)"
  if configure_build "$BUILD_ROOT/tsan" -DCMAKE_BUILD_TYPE=Debug -DSYNMAP_SANITIZE=thread; then
    TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1:suppressions=$ROOT/tests/tsan.supp run_ctest tsan "$BUILD_ROOT/tsan" -L threaded
  else
    failed_stages+=("tsan-build"); total_fail=$((total_fail + 1))
  fi
}

if [ $ONLY_THREADED -eq 0 ]; then
  stage_release
  [ $QUICK -eq 1 ] || stage_fuzz_asan
fi
[ $QUICK -eq 1 ] || stage_tsan

stamp "done"
if [ ${#failed_stages[@]} -gt 0 ]; then
  echo "run-tests: failing stages: ${failed_stages[*]}"
fi
echo "tests: $total_pass passed, $total_fail failed"
[ "$total_fail" -eq 0 ]
