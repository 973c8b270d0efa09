#!/usr/bin/env bash
# Packs one release archive: packaging/archive.sh VERSION TARGET BINARY OUTDIR writes
# OUTDIR/crashdelta-VERSION-TARGET.tar.gz holding crashdelta-VERSION-TARGET/ with the binary,
# README.md, the LICENSE files when the repository has them, and completions/ (bash, zsh, fish)
# and man/crashdelta.1 made by the binary itself (`crashdelta generate`), so they always match it.
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
for extra in "$root"/LICENSE* "$root"/COPYING*; do
  [[ ! -e $extra ]] || cp -R "$extra" "$stage/$name/"
done
bin="$stage/$name/crashdelta"
if "$bin" --version >/dev/null 2>&1; then
  mkdir -p "$stage/$name/completions" "$stage/$name/man"
  "$bin" generate completions bash > "$stage/$name/completions/crashdelta.bash"
  "$bin" generate completions zsh > "$stage/$name/completions/_crashdelta"
  "$bin" generate completions fish > "$stage/$name/completions/crashdelta.fish"
  "$bin" generate man > "$stage/$name/man/crashdelta.1"
else
  # A binary for another machine (the release builds each on its own runner, so not there).
  echo "archive.sh: $binary does not run here: no completions or man page in $name" >&2
fi
# Owner and group are not the builder's, and the order is the same on every runner.
tar -C "$stage" -czf "$outdir/$name.tar.gz" "$name"
echo "$outdir/$name.tar.gz"
