#!/usr/bin/env bash
# Packs one release archive: packaging/archive.sh VERSION TARGET BINARY OUTDIR writes
# OUTDIR/crashdelta-VERSION-TARGET.tar.gz holding crashdelta-VERSION-TARGET/ with the binary,
# README.md, the LICENSE files, and completions/ and man/ when the repository has them.
# Used by .github/workflows/release.yml; action/install.sh and the Homebrew formula read the
# archives it makes (tests/action.rs packs its fake release with it).
set -euo pipefail
[[ $# -eq 4 ]] || { echo "usage: archive.sh VERSION TARGET BINARY OUTDIR" >&2; exit 2; }
version=$1 target=$2 binary=$3 outdir=$4
root=$(cd "$(dirname "$0")/.." && pwd)
name=crashdelta-$version-$target
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/$name" "$outdir"
cp "$binary" "$stage/$name/crashdelta"
chmod 755 "$stage/$name/crashdelta"
cp "$root/README.md" "$stage/$name/"
for extra in "$root"/LICENSE* "$root"/COPYING* "$root/completions" "$root/man"; do
  [[ ! -e $extra ]] || cp -R "$extra" "$stage/$name/"
done
# Owner and group are not the builder's, and the order is the same on every runner.
tar -C "$stage" -czf "$outdir/$name.tar.gz" "$name"
echo "$outdir/$name.tar.gz"
