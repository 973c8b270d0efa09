#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 600), seeded from testdata/.
# Needs cargo-fuzz (`cargo install cargo-fuzz`); RUSTC_BOOTSTRAP lets it use the stable toolchain.
set -euo pipefail
cd "$(dirname "$0")"
seconds=${1:-600}
export RUSTC_BOOTSTRAP=1
for target in parse_any parse_ips parse_text; do
  mkdir -p "corpus/$target"
  find ../testdata/real ../testdata/derived -type f ! -name '*.py' ! -name MANIFEST.tsv \
    -exec cp -n {} "corpus/$target/" \;
done
for target in parse_any parse_ips parse_text; do
  cargo fuzz run -O "$target" "corpus/$target" -- -max_total_time="$seconds" -max_len=262144 -rss_limit_mb=2048 \
    2>&1 | tail -n 12
done
