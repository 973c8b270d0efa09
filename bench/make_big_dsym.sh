#!/usr/bin/env bash
# bench/make_big_dsym.sh OUT: builds a big arm64 dylib and its dSYM in OUT, for bench/symbols.sh
# and tests/big_symbols.rs: OUT/libbigdsym.dylib, OUT/libbigdsym.dylib.dSYM (its DWARF file is
# OUT/libbigdsym.dylib.dSYM/Contents/Resources/DWARF/libbigdsym.dylib), a crash report with frames
# in it, OUT/report.ips, and the names those frames must get, OUT/expected.tsv (offset, name).
#
# SCALE (default 1300) is the number of generated translation units: about 0.17 MB of dSYM
# DWARF each (SCALE=1300: over 200 MB). tests/big_symbols.rs and the library's tests build SCALE=3 (under a
# megabyte, a few seconds).
# DWARF (default 4) is the DWARF version: 5 is what Xcode 16 writes when building for macOS 15 or
# later (.debug_str_offsets, .debug_addr, .debug_rnglists, .debug_loclists, .debug_line_str,
# file index 0), and is built the same way here: for macOS 15, which makes clang write DWARF 5.
# dsymutil reads DWARF 5 objects from LLVM 17 on (Debian 12: apt-get install clang-19 lld-19
# llvm-19); with an older one the script exits 3, as for a missing tool.
# JOBS (default 2) compiles in parallel. OPTIMIZED_EVERY (default 4): one unit in so many is
# built at -O2 (optimised code, location lists, inlining by the optimiser), the others at -O0
# (a third of the compile time for as much DWARF; their always_inline helpers are still inlined).
#
# Needs python3, clang, ld64.lld, dsymutil, llvm-nm, llvm-cxxfilt (Debian 12: apt-get install
# clang-19 lld-19 llvm-19; LLVM 14 does for DWARF 4). The UUID is fixed, so a rebuild is the same object as far as reports can tell; the
# sources are a function of SCALE, so unchanged units are not compiled again.
set -euo pipefail
if [[ $# -ne 1 ]]; then
  echo "usage: $0 OUT" >&2
  exit 2
fi
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$1"
out=$(cd "$1" && pwd)
scale=${SCALE:-1300}
jobs=${JOBS:-2}
every=${OPTIMIZED_EVERY:-4}
uuid=${UUID:-B16D5E50-0001-4000-8000-00000000A640}
dwarf=${DWARF:-4}
case $dwarf in
  4) macos=13.0 ;;
  5) macos=15.0 ;;
  *) echo "$0: DWARF=$dwarf: 4 or 5" >&2; exit 2 ;;
esac
for d in /usr/lib/llvm-1[4-9]/bin /usr/lib/llvm-2[0-9]/bin; do [ -d "$d" ] && PATH="$d:$PATH"; done
export PATH ZERO_AR_DATE=1
for tool in python3 clang++ ld64.lld dsymutil llvm-nm llvm-cxxfilt; do
  command -v "$tool" >/dev/null || { echo "$0: $tool not found (apt-get install clang-19 lld-19 llvm-19)" >&2; exit 3; }
done
if [[ $dwarf == 5 ]]; then
  # "LLVM version 19.1.7": dsymutil 16 and older skip DWARF 5 objects (".debug_loclists is not
  # currently supported: file will be skipped") and write a dSYM without their functions.
  # Xcode's dsymutil ("Apple LLVM version 16.0.0") numbers its versions its own way, and has
  # linked DWARF 5 since before LLVM 17.
  version=$({ dsymutil --version 2>/dev/null || true; } | head -n 3)
  major=$(printf '%s\n' "$version" | sed -n 's/.*LLVM version \([0-9][0-9]*\).*/\1/p' | head -n 1)
  if [[ $version != *"Apple LLVM"* ]] && (( ${major:-0} < 17 )); then
    echo "$0: DWARF=5 needs dsymutil from LLVM 17 or later, not ${major:-an unknown version} (apt-get install clang-19 lld-19 llvm-19)" >&2
    exit 3
  fi
fi

start=$SECONDS
python3 "$here/make_big_dsym.py" sources "$out" "$scale"
# Units beyond SCALE from an earlier, bigger build would be linked too.
find "$out/src" -name 'unit*.cpp' | sort | tail -n +$((scale + 1)) | xargs -r rm -f
# Objects of each DWARF version apart: a unit compiled for the other is not up to date.
obj=$out/obj-dwarf$dwarf
rm -rf "$out/obj"  # the objects' folder before there were two DWARF versions
mkdir -p "$obj"
find "$obj" -name 'unit*.o' | sort | tail -n +$((scale + 1)) | xargs -r rm -f

# One compile per unit, JOBS at a time; a unit whose object is newer than its source is skipped.
compile() {
  local src=$1 obj=$2 every=$3 dwarf=$4 macos=$5 name n opt
  name=$(basename "$src" .cpp)
  n=$((10#${name#unit}))
  [[ "$obj/$name.o" -nt "$src" ]] && return 0
  opt=-O0
  (( n % every == 0 )) && opt=-O2
  clang++ --target="arm64-apple-macos$macos" -std=c++17 -g -gdwarf-"$dwarf" "$opt" -fno-exceptions \
    -fno-rtti -fdebug-compilation-dir=. -Wno-stdlibcxx-not-found -c "$src" -o "$obj/$name.o.tmp"
  mv "$obj/$name.o.tmp" "$obj/$name.o"
}
export -f compile
find "$out/src" -name 'unit*.cpp' | sort \
  | xargs -P "$jobs" -I{} bash -c 'compile "$@"' _ {} "$obj" "$every" "$dwarf" "$macos"
echo "compiled $scale units (DWARF $dwarf) in $((SECONDS - start)) s" >&2

find "$obj" -name 'unit*.o' | sort > "$obj/filelist"
# memset and friends come from libSystem at run time, which Linux has no stub of.
ld64.lld -arch arm64 -platform_version macos "$macos" "$macos" -dylib -no_adhoc_codesign -undefined dynamic_lookup \
  -install_name @rpath/libbigdsym.dylib -oso_prefix "$out/" -filelist "$obj/filelist" \
  -o "$out/libbigdsym.dylib"
python3 "$here/../testdata/symbols/patch_uuid.py" "$out/libbigdsym.dylib" "$uuid"
rm -rf "$out/libbigdsym.dylib.dSYM"
dsymutil --num-threads "$jobs" --oso-prepend-path "$out" "$out/libbigdsym.dylib" \
  -o "$out/libbigdsym.dylib.dSYM"
python3 "$here/make_big_dsym.py" report "$out" "$(echo "$uuid" | tr 'A-F' 'a-f')"
dwarf_file=$out/libbigdsym.dylib.dSYM/Contents/Resources/DWARF/libbigdsym.dylib
# wc -c, not stat -c (GNU only) or stat -f (BSD only): the same on Linux and macOS.
echo "$dwarf_file: $(($(wc -c < "$dwarf_file") / 1048576)) MiB of DWARF $dwarf, built in $((SECONDS - start)) s" >&2
