#!/usr/bin/env bash
# Installs the crashdelta release binary for this runner: the GitHub Action's install steps
# (action.yml), usable alone. Inputs come from the environment, never from the script's text.
#
#   install.sh resolve   which version and target, and where the binary goes: written as
#                        `version=`, `target=`, `dir=` lines to $GITHUB_OUTPUT (for the cache key)
#   install.sh install   downloads the release archive and the release's SHA256SUMS, checks the
#                        archive's SHA-256 against it, unpacks the binary into the directory, and
#                        adds the directory to $GITHUB_PATH; a binary already there (the cache
#                        restored it) is kept
#
# Environment:
#   CRASHDELTA_VERSION   `latest`, `0.2.0` or `v0.2.0`; empty: the action's own ref when it is a
#                        release tag (ACTION_REF, e.g. `v0.2.0`), else `latest`
#   ACTION_REF           the ref the action was used at (github.action_ref)
#   CRASHDELTA_RELEASES  the releases' base URL (default: the project's GitHub releases); a
#                        mirror, or a file:// folder laid out the same way (download/vX.Y.Z/...,
#                        latest/download/SHA256SUMS), as the tests do
#   CRASHDELTA_TARGET    override the target (default: from uname)
#   CRASHDELTA_INSTALL_DIR  where versions are kept (default: ~/.crashdelta/bin)
#   CRASHDELTA_VERSION_RESOLVED, CRASHDELTA_DIR  for `install`: what `resolve` said
set -euo pipefail

releases=${CRASHDELTA_RELEASES:-https://github.com/crashdelta/crashdelta/releases}
releases=${releases%/}

die() {
  echo "crashdelta install: $*" >&2
  exit 1
}

output() {
  if [[ -n ${GITHUB_OUTPUT:-} ]]; then
    printf '%s=%s\n' "$1" "$2" >>"$GITHUB_OUTPUT"
  fi
  printf '%s=%s\n' "$1" "$2"
}

# https for downloads (and no redirect to anything else); file:// only when the base says so.
fetch() {
  curl --fail --silent --show-error --location --retry 3 \
    --proto '=https,file' --proto-redir '=https' --output "$2" "$1" ||
    die "cannot download $1"
}

valid_version() {
  [[ $1 =~ ^[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]]
}

sha256() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  elif command -v shasum >/dev/null 2>&1; then
    shasum -a 256 "$1" | cut -d' ' -f1
  else
    die "neither sha256sum nor shasum is installed: cannot check the download"
  fi
}

# The hash SHA256SUMS ($1) gives for the file named $2 (`HASH  NAME` or `HASH *NAME` lines).
listed_hash() {
  awk -v name="$2" '($2 == name || $2 == "*" name) && length($1) == 64 && $1 ~ /^[0-9a-fA-F]+$/ { print tolower($1); exit }' "$1"
}

target() {
  if [[ -n ${CRASHDELTA_TARGET:-} ]]; then
    echo "$CRASHDELTA_TARGET"
    return
  fi
  case "$(uname -s)/$(uname -m)" in
    # One universal binary serves Apple silicon and Intel Macs.
    Darwin/*) echo universal-apple-darwin ;;
    Linux/x86_64) echo x86_64-unknown-linux-musl ;;
    Linux/aarch64 | Linux/arm64) echo aarch64-unknown-linux-musl ;;
    *) die "no release binary for $(uname -s) $(uname -m): build from source (cargo install --locked --git https://github.com/crashdelta/crashdelta)" ;;
  esac
}

resolve() {
  local version=${CRASHDELTA_VERSION:-}
  if [[ -z $version ]]; then
    # The action used at a release tag installs that release; at a branch or a commit, latest.
    if [[ ${ACTION_REF:-} =~ ^v[0-9]+\.[0-9]+\.[0-9]+([-+][0-9A-Za-z.-]+)?$ ]]; then
      version=$ACTION_REF
    else
      version=latest
    fi
  fi
  if [[ $version == latest ]]; then
    # The latest release's sums name its archives, and so its version.
    local tmp
    tmp=$(mktemp -d)
    fetch "$releases/latest/download/SHA256SUMS" "$tmp/SHA256SUMS"
    # Every release has the universal macOS archive.
    version=$(sed -n 's/^[0-9a-fA-F]\{64\}  *\*\{0,1\}crashdelta-\(.*\)-universal-apple-darwin\.tar\.gz$/\1/p' "$tmp/SHA256SUMS" | head -n 1)
    rm -rf "$tmp"
    [[ -n $version ]] || die "the latest release's SHA256SUMS names no crashdelta archive"
  fi
  version=${version#v}
  valid_version "$version" || die "not a release version: $version (use latest, 0.2.0 or v0.2.0)"
  local target dir
  target=$(target)
  dir=${CRASHDELTA_INSTALL_DIR:-$HOME/.crashdelta/bin}/$version/$target
  output version "$version"
  output target "$target"
  output dir "$dir"
}

install() {
  local version=${CRASHDELTA_VERSION_RESOLVED:?run resolve first} dir=${CRASHDELTA_DIR:?run resolve first}
  local target
  target=$(target)
  valid_version "$version" || die "not a release version: $version"
  if [[ -x $dir/crashdelta ]] && "$dir/crashdelta" --version >/dev/null 2>&1; then
    echo "crashdelta $version for $target: already in $dir"
  else
    local name=crashdelta-$version-$target tmp
    tmp=$(mktemp -d)
    fetch "$releases/download/v$version/SHA256SUMS" "$tmp/SHA256SUMS"
    fetch "$releases/download/v$version/$name.tar.gz" "$tmp/$name.tar.gz"
    local want got
    want=$(listed_hash "$tmp/SHA256SUMS" "$name.tar.gz")
    [[ -n $want ]] || die "SHA256SUMS of v$version lists no $name.tar.gz"
    got=$(sha256 "$tmp/$name.tar.gz")
    [[ $got == "$want" ]] || die "$name.tar.gz: SHA-256 $got, but SHA256SUMS says $want: not installed"
    tar -xzf "$tmp/$name.tar.gz" -C "$tmp" "$name/crashdelta" ||
      die "$name.tar.gz holds no $name/crashdelta"
    mkdir -p "$dir"
    mv "$tmp/$name/crashdelta" "$dir/crashdelta"
    chmod 755 "$dir/crashdelta"
    rm -rf "$tmp"
    echo "crashdelta $version for $target: installed in $dir (SHA-256 $got checked)"
  fi
  if [[ -n ${GITHUB_PATH:-} ]]; then
    echo "$dir" >>"$GITHUB_PATH"
  fi
  "$dir/crashdelta" --version
}

case "${1:-}" in
  resolve) resolve ;;
  install) install ;;
  *) die "usage: install.sh resolve|install" ;;
esac
