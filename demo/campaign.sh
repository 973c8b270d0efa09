#!/usr/bin/env bash
# An A/B stress campaign on Linux: demo/flaky_stress_test.sh (the driver race fires on about half
# the runs, never with STRESS_FIX=1) run 12 times in each configuration, alternately, with
# `crashdelta compare`. Writes the HTML page campaign-example.html and, when Chromium is installed
# (Debian: apt-get install chromium), its screenshot campaign.png, into a new temporary folder;
# with --update-docs, over docs/campaign-example.html and docs/campaign.png (the committed ones).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
echo "campaign: building crashdelta (release; the first build takes a few minutes)" >&2
cargo build --release
if [[ "${1:-}" == "--update-docs" ]]; then
  out=$root/docs
else
  out=$(mktemp -d "${TMPDIR:-/tmp}/crashdelta-campaign.XXXXXX")
fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/DiagnosticReports" "$work/state"
export REPORTS=$work/DiagnosticReports STATE=$work/state RACE=$root/testdata/derived/agx-prepareForEnqueue-0x98.ips
export SEED=${SEED:-2026} CRASH_P=${CRASH_P:-0.5}
target/release/crashdelta compare --runs "${RUNS:-12}" --b-env STRESS_FIX=1 \
  --a-name "without fix" --b-name "with fix" --reports-dir "$REPORTS" --settle 0.5s \
  --format html --output "$out/campaign-example.html" -- sh demo/flaky_stress_test.sh >/dev/null
echo "wrote $out/campaign-example.html"
if command -v chromium >/dev/null; then
  chromium --headless --no-sandbox --disable-gpu --disable-background-networking \
    --disable-component-update --disable-default-apps --disable-sync --no-first-run \
    --hide-scrollbars --force-device-scale-factor=1 --window-size=1000,1250 \
    --screenshot="$out/campaign.png" "file://$out/campaign-example.html" 2>/dev/null
  echo "wrote $out/campaign.png"
fi
