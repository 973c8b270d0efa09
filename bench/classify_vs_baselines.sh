#!/usr/bin/env bash
# `classify --format json` over 2000 real-shaped crash reports, side by side with a Python script
# doing what users do today (bench/baseline_classify.py) and with `cat` of the same files; and
# `snapshot` of 10 000 reports beside `find -printf`. Needs hyperfine and python3.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=$PWD/target/release/crashdelta
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT

# 2000 crash reports made from the real and derived .ips crash reports (new incident ids).
sources=(testdata/derived/*.ips testdata/real/ips/ips2crashlog__source.ips testdata/real/ips/sanfer__report.ips
         testdata/real/ips/macsym__ios-crash-in-ips-format.ips testdata/real/ips/llvm-lldb__multithread-test.ips)
mk() { # DIR COUNT
  mkdir -p "$1"
  local n=0
  while [ "$n" -lt "$2" ]; do
    for src in "${sources[@]}"; do
      [ "$n" -ge "$2" ] && break
      n=$((n + 1))
      sed -E "s/\"incident_id\":\"[^\"]*\"/\"incident_id\":\"BE$(printf %06X $n)\"/" "$src" > "$1/$(basename "$src" .ips)-$n.ips"
    done
  done
}
mk "$work/r2000" 2000
echo "2000 reports: $(du -sh "$work/r2000" | cut -f1)"
hyperfine --warmup 1 --runs "${RUNS:-10}" --export-markdown "$work/classify.md" \
  -n 'python3 baseline (json.loads, top frame)' "python3 bench/baseline_classify.py $work/r2000 > /dev/null" \
  -n 'crashdelta classify --format json' "$bin classify --format json $work/r2000 > /dev/null" \
  -n 'cat' "cat $work/r2000/* > /dev/null"

mk "$work/r10000" 10000
hyperfine --warmup 1 --runs "${RUNS:-10}" --export-markdown "$work/snapshot.md" \
  -n 'find -printf (size, mtime)' "find $work/r10000 -type f -printf '%s %T@\n' > /dev/null" \
  -n 'crashdelta snapshot' "$bin snapshot --reports-dir $work/r10000 --output /dev/null"

# The tables last: hyperfine's own export to /dev/stdout would truncate a redirected output file.
cat "$work/classify.md" "$work/snapshot.md"

# Peak memory over the 2000-report folder.
/usr/bin/time -v "$bin" classify --format json "$work/r2000" 2>&1 >/dev/null | grep 'Maximum resident'
