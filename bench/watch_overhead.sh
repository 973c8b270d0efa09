#!/usr/bin/env bash
# What `watch` adds to a command that does not crash, measured side by side with hyperfine
# (apt-get install hyperfine). The folder holds ~380 prior reports (demo/make_history.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --quiet
bin=$PWD/target/release/crashdelta
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
bash demo/make_history.sh "$work/reports" 16
hyperfine --warmup 1 --runs "${RUNS:-10}" --export-markdown "${OUT:-/dev/stdout}" --export-json "${JSON:-/dev/null}" \
  -n 'sleep 0.5 (the command alone)' 'sleep 0.5' \
  -n 'watch --settle 0s -- sleep 0.5' "$bin watch --reports-dir $work/reports --settle 0s -- sleep 0.5" \
  -n 'watch -- sleep 0.5 (default --settle 5s)' "$bin watch --reports-dir $work/reports -- sleep 0.5"
