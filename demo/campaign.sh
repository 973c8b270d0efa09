#!/usr/bin/env bash
# An A/B stress campaign on Linux: demo/flaky_stress_test.sh (the driver race fires on about half
# the runs, never with STRESS_FIX=1) run 12 times in each configuration, alternately, with
# `crashdelta compare`. Writes the HTML page to docs/campaign-example.html and, when Chromium is
# installed (Debian: apt-get install chromium), its screenshot to docs/campaign.png.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
cargo build --release --quiet
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/DiagnosticReports" "$work/state"
export REPORTS=$work/DiagnosticReports STATE=$work/state RACE=$root/testdata/derived/agx-prepareForEnqueue-0x98.ips
export SEED=${SEED:-2026} CRASH_P=${CRASH_P:-0.5}
target/release/crashdelta compare --runs "${RUNS:-12}" --b-env STRESS_FIX=1 \
  --a-name "without fix" --b-name "with fix" --reports-dir "$REPORTS" --settle 0.5s \
  --format html --output docs/campaign-example.html -- sh demo/flaky_stress_test.sh >/dev/null
echo "wrote docs/campaign-example.html"
if command -v chromium >/dev/null; then
  chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-default-apps --disable-sync --no-first-run \
    --hide-scrollbars --force-device-scale-factor=1 --window-size=1000,1250 \
    --screenshot="$root/docs/campaign.png" "file://$root/docs/campaign-example.html" 2>/dev/null
  echo "wrote docs/campaign.png"
fi
