#!/usr/bin/env bash
# packaging/sums.sh DIR: writes DIR/SHA256SUMS for the release archives in DIR, in the format
# `sha256sum --check` reads (`HASH  NAME`), which action/install.sh and
# packaging/homebrew/render.sh read too.
set -euo pipefail
cd "$1"
if command -v sha256sum >/dev/null 2>&1; then
  sha256sum -- crashdelta-*.tar.gz >SHA256SUMS
else
  shasum -a 256 -- crashdelta-*.tar.gz >SHA256SUMS
fi
cat SHA256SUMS
