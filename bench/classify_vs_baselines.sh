#!/usr/bin/env bash
# `classify --format json` over 2000 real-shaped crash reports, side by side with a Python script
# doing what users do today (bench/baseline_classify.py) and with `cat` of the same files; and
# `snapshot` of 10 000 reports beside `find -printf`. Needs hyperfine and python3.
#
#   bench/classify_vs_baselines.sh                          # build, then measure
#   RUNS=15 bench/classify_vs_baselines.sh
#   BIN=/tmp/crashdelta-after bench/classify_vs_baselines.sh  # skip the build (another binary)
#   BEFORE=/tmp/crashdelta-before bench/...                  # and another build, alongside
#   WORK=/tmp/cdbench bench/...                              # keep (and reuse) the report folders
#   ALTERNATE=40 bench/...                                   # rounds of the alternating check
#
# Ratios to `cat` and to `find` of the same hyperfine run are what to read: the machine is
# shared, and absolute times move with its load (the script prints the load average).
set -euo pipefail
cd "$(dirname "$0")/.."
if [[ -z "${BIN:-}" ]]; then
  cargo build --release --quiet
  BIN=$PWD/target/release/crashdelta
fi
bin=$BIN
if [[ -n "${WORK:-}" ]]; then
  work=$WORK; mkdir -p "$work"
else
  work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
fi

# 2000 crash reports made from the real and derived .ips crash reports (new incident ids).
sources=(testdata/derived/*.ips testdata/real/ips/ips2crashlog__source.ips testdata/real/ips/sanfer__report.ips
         testdata/real/ips/macsym__ios-crash-in-ips-format.ips testdata/real/ips/llvm-lldb__multithread-test.ips)
mk() { # DIR COUNT
  [[ -f "$1/.complete" ]] && return 0
  rm -rf "$1"; mkdir -p "$1"
  local n=0
  while [ "$n" -lt "$2" ]; do
    for src in "${sources[@]}"; do
      [ "$n" -ge "$2" ] && break
      n=$((n + 1))
      sed -E "s/\"incident_id\":\"[^\"]*\"/\"incident_id\":\"BE$(printf %06X $n)\"/" "$src" > "$1/$(basename "$src" .ips)-$n.ips"
    done
  done
  # A dot-file: not a report name, so neither classify nor snapshot reads it.
  touch "$1/.complete"
}
mk "$work/r2000" 2000
echo "2000 reports: $(du -sh "$work/r2000" | cut -f1); load average: $(cut -d' ' -f1-3 /proc/loadavg)"
before=()
if [[ -n "${BEFORE:-}" ]]; then
  before=(-n 'crashdelta classify --format json (before)' "$BEFORE classify --format json $work/r2000 > /dev/null")
fi
hyperfine --warmup 1 --runs "${RUNS:-10}" --export-markdown "$work/classify.md" --export-json "$work/classify.json" \
  -n 'python3 baseline (json.loads, top frame)' "python3 bench/baseline_classify.py $work/r2000 > /dev/null" \
  "${before[@]}" \
  -n 'crashdelta classify --format json' "$bin classify --format json $work/r2000 > /dev/null" \
  -n 'cat' "cat $work/r2000/* > /dev/null"

mk "$work/r10000" 10000
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
# `snapshot` three ways: reading every head (the head cache off, as before it existed), with the
# heads of an earlier run in the cache (every run after the first: what a `watch` or a CI step
# meets), and the first run, which reads every head and writes the cache. The cache folder is
# the bench's own; the warm-up run fills it.
heads=$work/heads
rm -rf "$heads" "$heads-first"
before=()
if [[ -n "${BEFORE:-}" ]]; then
  before=(-n 'crashdelta snapshot (before)' "CRASHDELTA_HEAD_CACHE=off $BEFORE snapshot --reports-dir $work/r10000 --output /dev/null")
fi
hyperfine --warmup 1 --runs "${RUNS:-10}" --export-markdown "$work/snapshot.md" --export-json "$work/snapshot.json" \
  -n 'find -printf (size, mtime)' "find $work/r10000 -type f -printf '%s %T@\n' > /dev/null" \
  "${before[@]}" \
  -n 'crashdelta snapshot, head cache off' "CRASHDELTA_HEAD_CACHE=off $bin snapshot --reports-dir $work/r10000 --output /dev/null" \
  -n 'crashdelta snapshot, heads cached' "CRASHDELTA_HEAD_CACHE=$heads $bin snapshot --reports-dir $work/r10000 --output /dev/null"
hyperfine --warmup 1 --runs "${RUNS:-10}" --export-markdown "$work/snapshot-first.md" --export-json "$work/snapshot-first.json" \
  -n 'find -printf (size, mtime)' "find $work/r10000 -type f -printf '%s %T@\n' > /dev/null" \
  -n 'crashdelta snapshot, first run (writes the head cache)' --prepare "rm -rf $heads-first" \
  "CRASHDELTA_HEAD_CACHE=$heads-first $bin snapshot --reports-dir $work/r10000 --output /dev/null"

# The tables last: hyperfine's own export to /dev/stdout would truncate a redirected output file.
cat "$work/classify.md" "$work/snapshot.md" "$work/snapshot-first.md"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"

# Medians too: on a shared two-core machine one slow run moves a mean (and its ratio) by 10 %;
# the goals are read against the median of the same run's baseline (`cat`, `find`).
for f in classify snapshot snapshot-first; do
  python3 - "$work/$f.json" <<'PY'
import json, statistics, sys
results = json.load(open(sys.argv[1]))["results"]
base = next(r for r in results if r["command"] in ("cat", "find -printf (size, mtime)"))
b = statistics.median(base["times"])
for r in results:
    m = statistics.median(r["times"])
    print(f"median {m * 1000:7.1f} ms  {m / b:5.2f}x {base['command']!r:12}  {r['command']}")
PY
done

# The same commands alternating, round after round (bench/alternate.py): hyperfine runs each
# command's runs in one stretch, so a minute of other load on this shared machine lands on one
# command; alternating spreads it over all of them alike. `cat` is given the file names, as the
# shell's glob gives them above.
alternate=("cat=cat $(echo "$work"/r2000/*)")
if [[ -n "${BEFORE:-}" ]]; then
  alternate+=("before=$BEFORE classify --format json $work/r2000")
fi
alternate+=("classify=$bin classify --format json $work/r2000")
python3 bench/alternate.py "${ALTERNATE:-20}" "${alternate[@]}"

# Peak memory over the 2000- and 10 000-report folders.
for b in ${BEFORE:+"$BEFORE"} "$bin"; do
  for d in r2000 r10000; do
    echo "$b classify $d: $(/usr/bin/time -v "$b" classify --format json "$work/$d" 2>&1 >/dev/null | grep 'Maximum resident')"
  done
done
