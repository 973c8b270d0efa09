#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 600), seeded from testdata/.
# MAX_LEN (default 262144) caps input size: smaller inputs run many times faster.
# Needs cargo-fuzz (`cargo install cargo-fuzz`); RUSTC_BOOTSTRAP lets it use the stable toolchain.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-600}
max_len=${MAX_LEN:-262144}
export RUSTC_BOOTSTRAP=1
targets=${TARGETS:-parse_any parse_ips parse_text rules_file inventory_json}
for target in parse_any parse_ips parse_text; do
  mkdir -p "corpus/$target"
  find ../testdata/real ../testdata/derived ../testdata/field -type f ! -name '*.py' ! -name '*.tsv' ! -name '*.md' \
    -exec cp -n {} "corpus/$target/" \;
done
# Packed reports (report/archive.rs): the race zipped, with Finder's AppleDouble twin, and gzipped.
if command -v python3 >/dev/null; then
  python3 - <<'PY' || true
import gzip, zipfile
race = open("../testdata/derived/agx-prepareForEnqueue-0x98.ips", "rb").read()
with zipfile.ZipFile("corpus/parse_any/race.ips.zip", "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("race.ips", race)
    z.writestr("__MACOSX/._race.ips", b"\0\x05\x16\x07")
open("corpus/parse_any/race.ips.gz", "wb").write(gzip.compress(race))
PY
fi
mkdir -p corpus/rules_file corpus/inventory_json
cp -n ../src/classify/builtin-rules.toml corpus/rules_file/ 2>/dev/null || true
if [ ! -s corpus/inventory_json/seed.json ] && command -v cargo >/dev/null; then
  (cd .. && cargo run --quiet -- snapshot --reports-dir testdata/derived --output fuzz/corpus/inventory_json/seed.json) || true
fi
# A build error fails the script; each run's whole output is kept in logs/TARGET.log, a summary
# (with any panic message and the artifact path) is printed, and a finding is a non-zero exit.
mkdir -p logs
status=0
for target in $targets; do
  echo "== $target: ${seconds}s, max_len $max_len"
  cargo fuzz build -O "$target"
  set +e
  cargo fuzz run -O "$target" "corpus/$target" -- -max_total_time="$seconds" -max_len="$max_len" -rss_limit_mb=2048 \
    -print_final_stats=1 > "logs/$target.log" 2>&1
  code=$?
  set -e
  grep -E '^(#[0-9]+[[:space:]]+(INITED|DONE)|stat::|SUMMARY|ERROR|==[0-9]+==|.*panicked at|.*Test unit written to)' \
    "logs/$target.log" | tail -n 20 || true
  if [ "$code" -ne 0 ]; then
    echo "== $target: libFuzzer exited $code; the whole output is in fuzz/logs/$target.log"
    status=1
  fi
done
exit "$status"
