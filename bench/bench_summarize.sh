#!/usr/bin/env bash
# Benchmarks `synmap summarize` against the 2007 recipe's pipeline
# (tcpdump | sed | sort | uniq -c) and against a bare libpcap loop (the floor), on generated
# captures: "mixed" (10M frames, ~4% SYN/ACKs) and "synack" (1M frames, all SYN/ACKs) of the
# generator's small site, their high-cardinality variants "hicard" and "hicard-synack", and two
# captures of bench/random_capture.py (an independent generator: random addresses and ports).
# It also checks synmap's counts against each capture's truth and fails loudly on a difference,
# and splits synmap's time and memory into counting (synmap-summarize-phases) and the rest
# (naming, sorting, output). Prints its figures; not a test. See bench/README.md.
#
# usage: bench/bench_summarize.sh [--small] [--scaling] [--runs N] [--recipe-runs N]
#                                 [--build-dir DIR] [--synmap PATH] [--results FILE]
#                                 [--no-check] [--no-random]
#   --small        200k-frame and 50k-frame captures (seconds; for CI)
#   --scaling      instead: the hicard shape at 1M, 10M and 50M frames (synmap and the bare
#                  loop only; the 50M file takes 4.6 GB in the data directory)
#   --runs N       timed runs per row, best wall time kept (default 3)
#   --recipe-runs N  timed runs of the recipe (default 1: minutes per capture)
#   --recipe-timeout S  stop the recipe after S seconds (default 600) and report "> S s":
#                  tcpdump's address table hashes IPv4 by its first bytes, so a capture whose
#                  remote hosts share them (hicard: 100.64.0.0/10) takes it tens of minutes
#   --build-dir    where synmap-gen-capture, synmap-pcap-count, synmap-summarize-phases and
#                  cli/synmap are built (default $SYNMAP_BUILD_DIR or <repo>/build)
#   --synmap PATH  the synmap binary (default BUILD/cli/synmap); skipped if missing
#   --results FILE also write the figures as Markdown to FILE (e.g. bench/RESULTS.md)
#   --no-check     skip the comparison with the truth
#   --no-random    skip the captures of bench/random_capture.py (also skipped without python3)
# Captures are cached in $SYNMAP_BENCH_DIR (default BUILD/bench-data) and regenerated when
# their parameters change or their generator changes.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BUILD=${SYNMAP_BUILD_DIR:-$ROOT/build}
SMALL=0
SCALING=0
RUNS=3
RECIPE_RUNS=1
RECIPE_TIMEOUT=600
SYNMAP=""
RESULTS=""
CHECK=1
RANDOM_CAPTURES=1
while [ $# -gt 0 ]; do
  case "$1" in
    --small) SMALL=1 ;;
    --scaling) SCALING=1 ;;
    --runs) RUNS=$2; shift ;;
    --recipe-runs) RECIPE_RUNS=$2; shift ;;
    --recipe-timeout) RECIPE_TIMEOUT=$2; shift ;;
    --no-random) RANDOM_CAPTURES=0 ;;
    --build-dir) BUILD=$2; shift ;;
    --synmap) SYNMAP=$2; shift ;;
    --results) RESULTS=$2; shift ;;
    --no-check) CHECK=0 ;;
    -h|--help) sed -n '2,32p' "$0"; exit 0 ;;
    *) echo "bench_summarize: unknown argument $1 (see --help)" >&2; exit 2 ;;
  esac
  shift
done
GEN=$BUILD/bench/synmap-gen-capture
COUNT=$BUILD/bench/synmap-pcap-count
PHASES=$BUILD/bench/synmap-summarize-phases
RANDOM_GEN=$ROOT/bench/random_capture.py
SYNMAP=${SYNMAP:-$BUILD/cli/synmap}
DATA=${SYNMAP_BENCH_DIR:-$BUILD/bench-data}
for tool in "$GEN" "$COUNT"; do
  if [ ! -x "$tool" ]; then
    echo "bench_summarize: $tool is not built; run: ninja -C $BUILD synmap-gen-capture synmap-pcap-count" >&2
    exit 2
  fi
done
for tool in tcpdump sed sort uniq /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "bench_summarize: $tool missing (deploy/install-deps.sh)" >&2; exit 2; }
done
HAVE_SYNMAP=1
if [ ! -x "$SYNMAP" ]; then
  HAVE_SYNMAP=0
  echo "bench_summarize: $SYNMAP not built yet: synmap rows and the truth check are skipped" >&2
fi
mkdir -p "$DATA"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

if [ "$RANDOM_CAPTURES" = 1 ] && ! command -v python3 >/dev/null; then
  echo "bench_summarize: python3 missing: the random captures are skipped" >&2
  RANDOM_CAPTURES=0
fi
# NAME:GENERATOR:ARGS; GENERATOR is gen (synmap-gen-capture) or random (random_capture.py).
if [ "$SCALING" = 1 ]; then
  # The same traffic rate (2,778 frames/s), so keys and time should grow with the frames.
  CAPTURES=("hicard-1m:gen:--preset hicard --packets 1000000 --duration 6m --seed 1"
            "hicard-10m:gen:--preset hicard --seed 1"
            "hicard-50m:gen:--preset hicard --packets 50000000 --duration 5h --seed 1")
  CHECK=0
elif [ "$SMALL" = 1 ]; then
  CAPTURES=("mixed-small:gen:--preset mixed --packets 200000 --seed 1"
            "synack-small:gen:--preset synack --packets 50000 --seed 2"
            "hicard-small:gen:--preset hicard --packets 200000 --seed 1"
            "hicard-synack-small:gen:--preset hicard-synack --packets 50000 --seed 2")
  if [ "$RANDOM_CAPTURES" = 1 ]; then
    CAPTURES+=("random-mixed-small:random:--kind mixed --packets 200000 --seed 7"
               "random-synack-small:random:--kind synack --packets 50000 --seed 8")
  fi
else
  CAPTURES=("mixed:gen:--preset mixed --seed 1" "synack:gen:--preset synack --seed 2"
            "hicard:gen:--preset hicard --seed 1"
            "hicard-synack:gen:--preset hicard-synack --seed 2")
  if [ "$RANDOM_CAPTURES" = 1 ]; then
    CAPTURES+=("random-mixed:random:--kind mixed --seed 7"
               "random-synack:random:--kind synack --seed 8")
  fi
fi

# calc EXPR: floating-point arithmetic (awk, so no bc is needed).
calc() { awk "BEGIN {printf \"%.6f\", $1}"; }

# ensure_capture NAME GENERATOR ARGS: (re)generates DATA/NAME.{pcap,truth.tsv} when missing,
# made with other arguments, or older than its generator (binary or script).
ensure_capture() {
  local name=$1 generator=$2 args=$3 base="$DATA/$1" made_by
  [ "$generator" = random ] && made_by=$RANDOM_GEN || made_by=$GEN
  if [ -f "$base.pcap" ] && [ -f "$base.truth.tsv" ] && [ "$(cat "$base.args" 2>/dev/null)" = "$generator $args" ] \
     && [ "$base.pcap" -nt "$made_by" ]; then
    echo "capture $name: cached ($base.pcap)"
    return
  fi
  echo "capture $name: generating ($generator $args)"
  local t0 t1
  t0=$(date +%s%N)
  if [ "$generator" = random ]; then
    # shellcheck disable=SC2086
    python3 "$RANDOM_GEN" $args --out "$base.pcap" --truth "$base.truth.tsv" 2>"$TMP/gen.log" \
      || { cat "$TMP/gen.log" >&2; exit 1; }
  else
    # shellcheck disable=SC2086
    "$GEN" $args --out "$base.pcap" --truth "$base.truth.tsv" --names "$base.names.yaml" 2>"$TMP/gen.log" \
      || { cat "$TMP/gen.log" >&2; exit 1; }
  fi
  t1=$(date +%s%N)
  echo "$generator $args" >"$base.args"
  printf 'capture %s: generated in %.1f s\n' "$name" "$(calc "($t1 - $t0) / 1e9")"
}

# measure OUT CMD...: runs CMD $RUNS times with stdout to OUT; sets WALL and CPU (best of the runs,
# s; CPU = user + system of the command and its children), WALLS (every run's wall time, for the
# spread) and RSS (max, KB).
measure() {
  local out=$1 i t0 t1 wall cpu rss
  shift
  WALL=""
  CPU=""
  WALLS=""
  RSS=0
  for ((i = 0; i < RUNS; i++)); do
    t0=$(date +%s%N)
    if ! /usr/bin/time -v -o "$TMP/time.txt" "$@" >"$out" 2>"$TMP/err.txt"; then
      echo "bench_summarize: failed: $*" >&2
      cat "$TMP/err.txt" >&2
      return 1
    fi
    t1=$(date +%s%N)
    wall=$(calc "($t1 - $t0) / 1e9")
    WALLS="$WALLS $(printf '%.2f' "$wall")"
    cpu=$(awk -F': ' '/User time|System time/ {s += $2} END {printf "%.6f", s}' "$TMP/time.txt")
    rss=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$TMP/time.txt")
    if [ -z "$WALL" ] || [ "$(calc "$wall < $WALL")" = 1.000000 ]; then WALL=$wall; fi
    if [ -z "$CPU" ] || [ "$(calc "$cpu < $CPU")" = 1.000000 ]; then CPU=$cpu; fi
    if [ "$rss" -gt "$RSS" ]; then RSS=$rss; fi
  done
}

# ratio A B: A / B with one decimal, or "n/a" when B is below the timer's 10 ms resolution.
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {if (b < 0.01) print "n/a"; else printf "%.1f", a / b}'; }

# secs WALL CPU: a table cell "1.23 s (cpu 1.10 s)".
secs() { printf '%.2f s (cpu %.2f)' "$1" "$2"; }

# The 2007 recipe: SYN/ACKs by BPF, then "client server port" per line, counted.
# tcpdump -tn prints "IP 203.0.113.9.443 > 198.51.100.10.40000: Flags [S.], ..." (IP6 for IPv6).
# Run in the C locale, its fastest (a UTF-8 locale makes sed and sort about twice as slow).
pipeline() {
  export LC_ALL=C
  tcpdump -r "$1" -tnp 'tcp[13] & 0x12 = 0x12' 2>/dev/null \
    | sed -e 's/^IP6* \([^ ]*\)\.\([0-9]*\) > \([^ ]*\)\.[0-9]*: .*$/\3 \1 \2/' \
    | sort | uniq -c
}
export -f pipeline

# check_counts NAME COUNT: synmap summarize --count COUNT against the truth. Every port is named
# "pPORT" by a names file, so rows map 1:1 to truth keys whatever the system's service table says.
check_counts() {
  local base="$DATA/$1" count=$2 column
  [ "$count" = packets ] && column=4 || column=5
  awk -F'\t' 'NR > 1 {print $3}' "$base.truth.tsv" | sort -un \
    | awk 'BEGIN {print "local_networks: []\nhosts: {}\nservices:"} {print "  " $1 ": p" $1}' \
      >"$TMP/check-names.yaml"
  awk -F'\t' -v c=$column 'NR > 1 {print $c "\t" $1 "\t" $2 "\tp" $3}' "$base.truth.tsv" \
    | LC_ALL=C sort >"$TMP/expected.tsv"
  "$SYNMAP" summarize --names "$TMP/check-names.yaml" --format tsv --show-remote --count "$count" \
    "$base.pcap" 2>"$TMP/check-err.txt" | grep -v '^count' | LC_ALL=C sort >"$TMP/actual.tsv" || true
  if ! cmp -s "$TMP/expected.tsv" "$TMP/actual.tsv"; then
    echo "CHECK FAILED: $1 --count $count differs from the truth ($base.truth.tsv):" >&2
    diff "$TMP/expected.tsv" "$TMP/actual.tsv" | head -20 >&2
    head -5 "$TMP/check-err.txt" >&2
    return 1
  fi
  echo "check $1 --count $count: OK ($(wc -l <"$TMP/expected.tsv") rows equal the truth)"
}

# phases PCAP: synmap-summarize-phases on PCAP; sets COUNT_CPU (s, counting and taking the
# records out) and TABLE_PEAK (KB, the process's peak after it), or "" when the tool is missing.
phases() {
  COUNT_CPU=""
  TABLE_PEAK=""
  [ -x "$PHASES" ] || return 0
  "$PHASES" "$1" >"$TMP/phases.txt" 2>&1 || { cat "$TMP/phases.txt" >&2; return 1; }
  # Lines: "count wall 1.057 s cpu 0.422 s rss 12.6 MiB peak 17.8 MiB".
  COUNT_CPU=$(awk '$1 == "count" || $1 == "take" {s += $6} END {printf "%.3f", s}' "$TMP/phases.txt")
  TABLE_PEAK=$(awk '$1 == "take" {printf "%d", $12 * 1024}' "$TMP/phases.txt")
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
# What summarize holds whatever the keys (its libraries, read-ahead chunks, decoded batches):
# its peak RSS on 1M frames of 10 hosts and 10 remote hosts (3,562 keys). The per-key costs
# below are also given above it.
BASE_RSS=0
BASE_KEYS=0
if [ "$HAVE_SYNMAP" = 1 ]; then
  "$GEN" --preset mixed --packets 1000000 --hosts 10 --remote-hosts 10 --seed 1 \
    --out "$TMP/few-keys.pcap" 2>"$TMP/gen.log" || { cat "$TMP/gen.log" >&2; exit 1; }
  runs=$RUNS
  RUNS=3
  measure "$TMP/few-keys.out" "$SYNMAP" summarize --format tsv --show-remote --count packets \
    "$TMP/few-keys.pcap"
  RUNS=$runs
  BASE_RSS=$RSS
  BASE_KEYS=$(($(wc -l <"$TMP/few-keys.out") - 1))
  rm -f "$TMP/few-keys.pcap"
fi
ROWS=()
ROWS_SPREAD=()
SPLIT=()
CHECKS=()
FAILED=0
for entry in "${CAPTURES[@]}"; do
  IFS=: read -r name generator args <<<"$entry"
  ensure_capture "$name" "$generator" "$args"
done
for entry in "${CAPTURES[@]}"; do
  IFS=: read -r name generator args <<<"$entry"
  pcap="$DATA/$name.pcap"
  frames=$(awk -F'packets ' '{split($2, a, " "); print a[1]}' <<<"$("$COUNT" "$pcap")")
  size_mb=$(( $(stat -c %s "$pcap") / 1000000 ))
  truth_synacks=$(awk -F'\t' 'NR > 1 {s += $4} END {print s}' "$DATA/$name.truth.tsv")
  keys=$(( $(wc -l <"$DATA/$name.truth.tsv") - 1 ))

  measure "$TMP/count.out" "$COUNT" "$pcap"
  bare_wall=$WALL
  bare_cpu=$CPU
  bare_walls=$WALLS
  pipe_cell="-"
  ratio_pipe="-"
  pipe_seen="-"
  if [ "$SCALING" = 0 ]; then
    runs=$RUNS
    RUNS=$RECIPE_RUNS
    # shellcheck disable=SC2016  # $1 is expanded by the inner bash.
    if measure "$TMP/pipeline.out" timeout "$RECIPE_TIMEOUT" bash -c 'pipeline "$1"' _ "$pcap"; then
      pipe_cell=$(secs "$WALL" "$CPU")
      pipe_wall=$WALL
      pipe_cpu=$CPU
      pipe_seen="$(awk '{s += $1} END {print s + 0}' "$TMP/pipeline.out") of $truth_synacks"
      pipe_bound=""
    else
      # Stopped: the ratios below are lower bounds.
      pipe_cell="> $RECIPE_TIMEOUT s (stopped)"
      pipe_wall=$RECIPE_TIMEOUT
      pipe_seen="-"
      pipe_bound="> "
    fi
    RUNS=$runs
  fi
  if [ "$HAVE_SYNMAP" = 1 ]; then
    measure "$TMP/synmap.out" "$SYNMAP" summarize --format tsv --show-remote --count packets "$pcap"
    syn_cell=$(secs "$WALL" "$CPU")
    if [ "$SCALING" = 0 ]; then
      if [ -z "$pipe_bound" ]; then
        ratio_pipe="$(ratio "$pipe_wall" "$WALL") (cpu $(ratio "$pipe_cpu" "$CPU"))"
      else
        ratio_pipe="> $(ratio "$pipe_wall" "$WALL")"
      fi
    fi
    ratio_bare="$(ratio "$WALL" "$bare_wall") (cpu $(ratio "$CPU" "$bare_cpu"))"
    rss_cell="$((RSS / 1024)) MB ($(awk -v r="$RSS" -v b="$BASE_RSS" -v k="$keys" 'BEGIN {printf "%.0f B/key", r * 1024 / k; if (r > b) printf "; %.0f above the fixed costs", (r - b) * 1024 / k}'))"
    rows=$(( $(wc -l <"$TMP/synmap.out") - 1 ))
    phases "$pcap"
    if [ -n "$COUNT_CPU" ]; then
      SPLIT+=("| $name | $keys | $rows | $(printf '%.2f' "$CPU") s, $((RSS / 1024)) MB | $(printf '%.2f' "$COUNT_CPU") s, $((TABLE_PEAK / 1024)) MB ($(awk -v r="$TABLE_PEAK" -v k="$keys" 'BEGIN {printf "%.0f", r * 1024 / k}') B/key) | $(awk -v a="$CPU" -v b="$COUNT_CPU" -v n="$rows" 'BEGIN {printf "%.2f s (%.2f us/row)", a - b, (a - b) * 1e6 / n}') | $(awk -v a="$RSS" -v b="$TABLE_PEAK" -v n="$rows" 'BEGIN {printf "%.0f MB (%.0f B/row)", (a - b) / 1024, (a - b) * 1024 / n}') |")
    fi
  else
    syn_cell="skipped (not built)"
    ratio_bare="-"
    rss_cell="-"
  fi
  ROWS+=("| $name | $frames | $size_mb MB | $truth_synacks | $keys | $(secs "$bare_wall" "$bare_cpu") | $syn_cell | $pipe_cell | $ratio_pipe | $ratio_bare | $rss_cell | $pipe_seen |")
  ROWS_SPREAD+=("- $name: synmap wall per run:$WALLS s; bare loop:$bare_walls s")
  if [ "$HAVE_SYNMAP" = 1 ] && [ "$CHECK" = 1 ]; then
    for count in connections packets; do
      if line=$(check_counts "$name" "$count"); then
        echo "$line"
        CHECKS+=("- $line")
      else
        FAILED=1
        CHECKS+=("- check $name --count $count: FAILED")
      fi
    done
  fi
done

HEADER="| capture | frames | file | SYN/ACKs (truth) | keys | bare pcap loop | synmap summarize | recipe pipeline | pipeline/synmap | synmap/bare | synmap peak RSS | SYN/ACKs the pipeline saw |
|---|---|---|---|---|---|---|---|---|---|---|---|"
SPLIT_HEADER="| capture | keys | rows shown | synmap: cpu, peak RSS | counting (read, decode, table, records taken): cpu, peak RSS | the rest (naming, grouping, sorting, output): cpu | the rest: memory |
|---|---|---|---|---|---|---|"
CPU_MODEL=$(awk -F': ' '/model name/ {print $2; exit}' /proc/cpuinfo)
MODE_FLAGS=""
[ "$SMALL" = 1 ] && MODE_FLAGS=" --small"
[ "$SCALING" = 1 ] && MODE_FLAGS="$MODE_FLAGS --scaling"
REPORT="Run: \`bench/bench_summarize.sh$MODE_FLAGS --runs $RUNS --recipe-runs $RECIPE_RUNS\` on $(date -u +%Y-%m-%dT%H:%MZ)
Machine: $(nproc) cores ($CPU_MODEL), $(awk '/MemTotal/ {printf "%.0f GB", $2 / 1048576}' /proc/meminfo) RAM, load average $LOAD_BEFORE before and $(cut -d' ' -f1-3 /proc/loadavg) after (shared machine).
Times: best of $RUNS runs ($RECIPE_RUNS for the recipe), wall (cpu = user + system of the command and its children); peak RSS from /usr/bin/time -v; B/key = peak RSS / keys, and above the fixed costs: (peak RSS - $((BASE_RSS / 1024)) MB, the peak on a capture of 1M frames and $BASE_KEYS keys) / keys.

$HEADER
$(printf '%s\n' "${ROWS[@]}")

Spread of the wall times:
$(printf '%s\n' "${ROWS_SPREAD[@]}")
$( [ ${#SPLIT[@]} -gt 0 ] && printf '\nWhere synmap summarize spends (counting measured by synmap-summarize-phases; the rest = the whole command minus it):\n\n%s\n%s\n' "$SPLIT_HEADER" "$(printf '%s\n' "${SPLIT[@]}")")

$( [ ${#CHECKS[@]} -gt 0 ] && printf '%s\n' "${CHECKS[@]}" || echo "- truth check: skipped (synmap not built, --no-check or --scaling)")"
echo
echo "$REPORT"
# Writes the report between this mode's markers in $RESULTS, keeping everything else (notes,
# the other mode's figures); appends the block when the markers are not there yet.
if [ -n "$RESULTS" ]; then
  MODE=full
  [ "$SMALL" = 1 ] && MODE=small
  [ "$SCALING" = 1 ] && MODE=scaling
  BEGIN="<!-- bench_summarize $MODE: begin (generated, do not edit) -->"
  END="<!-- bench_summarize $MODE: end -->"
  printf '%s\n%s\n%s\n' "$BEGIN" "$REPORT" "$END" >"$TMP/block.md"
  if [ ! -f "$RESULTS" ]; then
    printf '# Benchmark results: synmap summarize vs the 2007 recipe\n\n' >"$RESULTS"
  fi
  if grep -qF "$BEGIN" "$RESULTS"; then
    awk -v begin="$BEGIN" -v end="$END" -v block="$TMP/block.md" '
      $0 == begin {while ((getline line < block) > 0) print line; skip = 1; next}
      $0 == end {skip = 0; next}
      !skip {print}' "$RESULTS" >"$TMP/results.md"
    cat "$TMP/results.md" >"$RESULTS"
  else
    { echo; cat "$TMP/block.md"; } >>"$RESULTS"
  fi
  echo "bench_summarize: figures written to $RESULTS"
fi
if [ "$FAILED" = 1 ]; then
  echo "bench_summarize: CHECK FAILED: synmap summarize disagrees with the truth (see above)" >&2
  exit 1
fi
