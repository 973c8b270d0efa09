#!/usr/bin/env python3
"""patch_uuid.py FILE UUID [arm64e]: sets the LC_UUID of a thin 64-bit Mach-O file.

ld64.lld writes a different random UUID on every link; a fixed one makes the fixtures
reproducible and lets test reports name them. With `arm64e`, also sets the CPU subtype
(ld64.lld 14 writes ALL for -arch arm64e), so that tools report arm64e like Apple's binaries.
"""
import struct
import sys
import uuid

LC_UUID = 0x1B
MH_MAGIC_64 = 0xFEEDFACF

path, value = sys.argv[1], uuid.UUID(sys.argv[2])
data = bytearray(open(path, "rb").read())
magic, cputype, cpusubtype, _filetype, ncmds, _size, _flags, _reserved = struct.unpack_from("<IiiIIIII", data, 0)
if magic != MH_MAGIC_64:
    sys.exit(f"{path}: not a thin 64-bit little-endian Mach-O file")
if len(sys.argv) > 3 and sys.argv[3] == "arm64e":
    struct.pack_into("<I", data, 8, 0x80000002)
offset = 32
for _ in range(ncmds):
    cmd, cmdsize = struct.unpack_from("<II", data, offset)
    if cmd == LC_UUID:
        data[offset + 8 : offset + 24] = value.bytes
        open(path, "wb").write(data)
        break
    offset += cmdsize
else:
    sys.exit(f"{path}: no LC_UUID load command")
