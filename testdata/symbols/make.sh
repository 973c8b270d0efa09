#!/usr/bin/env bash
# Builds the Mach-O fixtures in testdata/symbols/out from agx.cpp, on Linux or macOS.
# Needs clang, lld and llvm 14+ (Debian: apt-get install clang lld llvm) and python3.
# The outputs are committed, so tests and CI need none of these. Outputs are byte-identical
# across runs and folders (fixed UUIDs, no timestamps, relative debug-map paths).
set -euo pipefail
cd "$(dirname "$0")"
for d in /usr/lib/llvm-1[4-9]/bin /usr/lib/llvm-2[0-9]/bin; do [ -d "$d" ] && PATH="$d:$PATH"; done
export PATH ZERO_AR_DATE=1
out=$PWD/out
rm -rf "$out" && mkdir -p "$out/obj"
install=/System/Library/Extensions/AGXMetalG16X.bundle/Contents/MacOS/AGXMetalG16X
cflags=(-g -O1 -fno-exceptions -fno-rtti -fdebug-compilation-dir=. -Wno-stdlibcxx-not-found -c agx.cpp)
ld() { ld64.lld -platform_version macos 13.0 13.0 -oso_prefix "$out/" -no_adhoc_codesign "$@"; }

clang++ --target=arm64-apple-macos13 "${cflags[@]}" -o "$out/obj/agx.arm64.o"
clang++ --target=x86_64-apple-macos13 "${cflags[@]}" -o "$out/obj/agx.x86_64.o"

# Thin arm64 and x86_64 driver images, with fixed UUIDs (patched before dsymutil copies them).
ld -arch arm64 -dylib -install_name "$install" -o "$out/AGXMetalG16X.arm64" "$out/obj/agx.arm64.o"
ld -arch x86_64 -dylib -install_name "$install" -o "$out/AGXMetalG16X.x86_64" "$out/obj/agx.x86_64.o"
python3 patch_uuid.py "$out/AGXMetalG16X.arm64" A1B2C3D4-0001-4000-8000-000000000A64
python3 patch_uuid.py "$out/AGXMetalG16X.x86_64" A1B2C3D4-0002-4000-8000-000000008664

# A stripped arm64 build: only the exported C entry point keeps a name; its dSYM has the rest.
ld -arch arm64 -dylib -install_name "$install" -exported_symbol _agx_c_entry -o "$out/AGXMetalG16X.stripped.arm64" "$out/obj/agx.arm64.o"
python3 patch_uuid.py "$out/AGXMetalG16X.stripped.arm64" A1B2C3D4-0003-4000-8000-000000000A64

for f in AGXMetalG16X.arm64 AGXMetalG16X.x86_64 AGXMetalG16X.stripped.arm64; do
  dsymutil --oso-prepend-path "$out" "$out/$f" -o "$out/$f.dSYM"
done
llvm-strip -x -S "$out/AGXMetalG16X.stripped.arm64"

# Universal (fat) binary and dSYM of the two thin ones.
llvm-lipo -create "$out/AGXMetalG16X.arm64" "$out/AGXMetalG16X.x86_64" -output "$out/AGXMetalG16X"
mkdir -p "$out/AGXMetalG16X.dSYM/Contents/Resources/DWARF"
cp "$out/AGXMetalG16X.arm64.dSYM/Contents/Info.plist" "$out/AGXMetalG16X.dSYM/Contents/Info.plist"
llvm-lipo -create "$out/AGXMetalG16X.arm64.dSYM/Contents/Resources/DWARF/AGXMetalG16X.arm64" \
  "$out/AGXMetalG16X.x86_64.dSYM/Contents/Resources/DWARF/AGXMetalG16X.x86_64" \
  -output "$out/AGXMetalG16X.dSYM/Contents/Resources/DWARF/AGXMetalG16X"

rm -rf "$out/obj"
for f in "$out"/AGXMetalG16X "$out"/AGXMetalG16X.*64; do
  printf '%s ' "$(basename "$f")"; llvm-dwarfdump --uuid "$f" | tr '\n' ' '; echo
done
