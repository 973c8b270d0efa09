#!/usr/bin/env bash
# packaging/homebrew/render.sh VERSION SHA256SUMS: prints the tap's formula for that release,
# the template crashdelta.rb here with the version and the universal macOS archive's SHA-256
# from the release's sums. Fails when the sums do not list that archive.
set -euo pipefail
[[ $# -eq 2 ]] || { echo "usage: render.sh VERSION SHA256SUMS" >&2; exit 2; }
version=$1 sums=$2
[[ $version =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]] || {
  echo "render.sh: not a version: $version" >&2
  exit 2
}
archive=crashdelta-$version-universal-apple-darwin.tar.gz
sha=$(awk -v name="$archive" '($2 == name || $2 == "*" name) && length($1) == 64 { print tolower($1); exit }' "$sums")
[[ $sha =~ ^[0-9a-f]{64}$ ]] || {
  echo "render.sh: $sums lists no $archive" >&2
  exit 1
}
template=$(dirname "$0")/crashdelta.rb
# The template's own header comment says it is a template: the rendered formula starts at the class.
sed -n '/^class /,$p' "$template" | sed -e "s/@VERSION@/$version/g" -e "s/@SHA256@/$sha/g"
