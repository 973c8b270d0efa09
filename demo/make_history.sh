#!/usr/bin/env bash
# make_history.sh DIR [ROUNDS]: fills DIR (a DiagnosticReports folder) with prior reports
# generated from the .ips reports in testdata/: ROUNDS copies of each (default 16, ~380 files),
# each a distinct report (new incident id in header and body, new name), dated over two weeks,
# every ninth one already moved to Retired/.
set -euo pipefail
cd "$(dirname "$0")/.."
reports=$1
rounds=${2:-16}
mkdir -p "$reports/Retired"
sources=(testdata/derived/*.ips testdata/real/ips/*.ips)
n=0
for _ in $(seq 1 "$rounds"); do
  for src in "${sources[@]}"; do
    n=$((n + 1))
    day=$(( (n % 14) + 1 ))
    stamp=$(printf '2025-12-%02d-%02d%02d%02d' "$day" $(( n % 24 )) $(( n % 60 )) $(( (n * 7) % 60 )))
    name=$(basename "$src" .ips)
    incident=$(printf 'DE%06X-0000-4000-8000-%012X' "$n" "$n")
    dest="$reports"
    [ $((n % 9)) -eq 0 ] && dest="$reports/Retired"
    sed -E "s/\"incident_id\":\"[^\"]*\"/\"incident_id\":\"$incident\"/; s/\"incident\" ?: ?\"[^\"]*\"/\"incident\" : \"$incident\"/" \
      "$src" > "$dest/$name-$stamp.ips"
    touch -t "202512$(printf %02d "$day")1200" "$dest/$name-$stamp.ips"   # GNU and BSD touch
  done
done
