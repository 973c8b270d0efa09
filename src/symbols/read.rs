//! Reading symbol files: only the parts a step needs, into the process's own memory.
//!
//! A dSYM of a real framework (PyTorch's `libtorch_cpu`, a team's own) holds hundreds of
//! megabytes to gigabytes of DWARF, and `--symbols` is given on every command. Reading it whole
//! for every command cost what `cat` of the file costs, twice (once to index it, once more to
//! build its symcache), and that much memory; and the commands that find their symcache in the
//! cache folder need none of it.
//!
//! So a symbol file is read *sparsely*: a zero-filled buffer of the file's size is allocated
//! (`vec![0; size]` asks the allocator for zeroed memory, which it takes fresh from the kernel
//! for large sizes: pages no one writes are never given physical memory, on Linux as on macOS),
//! and only the byte ranges a step needs are read into it, at their own offsets. Parsers see an
//! ordinary Mach-O file in which what they do not read is zeros.
//!
//! - Indexing ([`Want::LoadCommands`]) needs the UUID, the architecture, and whether there are
//!   debug sections and a symbol table: all in the Mach-O header and load commands, a few
//!   kilobytes at the start of each architecture's slice, whatever the file's size.
//! - Building a symcache ([`Want::Symcache`]) needs the symbol table and the DWARF sections
//!   symbolic reads; every byte is read except the DWARF sections it never reads: location lists
//!   (`__debug_loc`, `__debug_loclists`: where variables live, a large share of optimised code's
//!   DWARF) and Apple's accelerator tables (`__apple_names`, `__apple_types`, ...: name indexes
//!   for debuggers). Skipping a named list, rather than reading a list of wanted ones, fails
//!   safe: a section a later symbolic starts reading is read. Tests check that the symcache built
//!   this way is byte for byte the one built from the whole file.
//!
//! Why not map the file: a mapped file that shrinks while it is read (a build replacing it in
//! place, a copy in progress) kills the process with SIGBUS, which no error handling can catch.
//! Read bytes are the process's own: a file that changes meanwhile gives an error (it got
//! shorter) or a mix of old and new bytes (which parse as a broken file, or as symbols that the
//! cache key then ties to the file's new status-change time, see `cache_key`), never a crash.
//! The file's status is taken from the open handle before and after the read, and a file that
//! changed during the read is refused.

use std::io::{Read, Seek, SeekFrom};
use std::ops::Range;
use std::path::Path;

/// What a step needs of a symbol file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Want {
    /// The Mach-O headers and load commands of every slice (indexing).
    LoadCommands,
    /// Everything symbolic reads to build a symcache.
    Symcache,
}

/// What identifies one version of a file, from `fstat` on the open handle: a file rebuilt in
/// place changes its size, its modification time, or (even when the builder keeps size and
/// mtime, as `touch -r` can) its status-change time, which no user can set back; a file replaced
/// by another (written elsewhere, renamed over it) changes its inode too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) struct Stamp {
    pub size: u64,
    pub mtime_ns: i128,
    pub ctime_ns: i128,
    pub dev: u64,
    pub ino: u64,
}

impl Stamp {
    pub(crate) fn of(meta: &std::fs::Metadata) -> Stamp {
        #[cfg(unix)]
        {
            use std::os::unix::fs::MetadataExt;
            Stamp {
                size: meta.len(),
                mtime_ns: i128::from(meta.mtime()) * 1_000_000_000 + i128::from(meta.mtime_nsec()),
                ctime_ns: i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()),
                dev: meta.dev(),
                ino: meta.ino(),
            }
        }
        #[cfg(not(unix))]
        {
            let mtime_ns = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX));
            Stamp {
                size: meta.len(),
                mtime_ns,
                ctime_ns: 0,
                dev: 0,
                ino: 0,
            }
        }
    }
}

/// A symbol file's bytes (those `want` asked for; the rest zeros), the file's [`Stamp`], and how
/// many bytes were read.
pub(crate) struct SymbolFile {
    pub bytes: memmap2::MmapMut,
    pub stamp: Stamp,
    /// How many bytes were read: what the tests check a step costs.
    #[cfg_attr(not(test), allow(dead_code))]
    pub read: u64,
}

/// Reads what `want` needs of the file at `path`. A file that is not Mach-O (or whose
/// structure makes no sense) is read whole, for the parser to say what is wrong with it.
pub(crate) fn read(path: &Path, want: Want) -> std::io::Result<SymbolFile> {
    let file = std::fs::File::open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(std::io::Error::other("not a regular file"));
    }
    let stamp = Stamp::of(&meta);
    let size = usize::try_from(stamp.size)
        .map_err(|_| std::io::Error::other("too large for this machine's address space"))?;
    if size == 0 {
        return Err(std::io::Error::other("it is empty"));
    }
    let mut reader = Reader {
        file,
        // Anonymous memory straight from the kernel: zero pages that cost address space, not
        // memory, until a range is read into them. (A `vec![0; size]` is the same only when the
        // allocator takes it fresh from the kernel; one that reuses memory it freed, as mimalloc
        // does after indexing freed the same size, zeroes it all first.)
        bytes: memmap2::MmapMut::map_anon(size)?,
        done: Vec::new(),
        read: 0,
    };
    // The first page: the magic, a fat file's table of slices, or a thin file's header and
    // (usually all) its load commands.
    reader.fill(0..size.min(PAGE))?;
    let slices = slices(&reader.bytes, size).unwrap_or_else(|| std::iter::once(0..size).collect());
    let mut wanted = Vec::new();
    for slice in slices {
        reader.fill(slice.start..slice.end.min(slice.start.saturating_add(PAGE)))?;
        // The header and load commands, then what they say the step needs.
        let commands = match load_commands_end(&reader.bytes, &slice) {
            Some(end) => slice.start..end,
            None => slice.clone(),
        };
        reader.fill(commands.clone())?;
        if want == Want::Symcache {
            let skipped = skipped_sections(&reader.bytes, &slice);
            wanted.extend(subtract(commands.end..slice.end, skipped));
        }
    }
    for range in wanted {
        reader.fill(range)?;
    }
    let after = Stamp::of(&reader.file.metadata()?);
    if after != stamp {
        return Err(std::io::Error::other(
            "it changed while it was read (a build writing it?); try again once it is written",
        ));
    }
    Ok(SymbolFile {
        bytes: reader.bytes,
        stamp,
        read: reader.read,
    })
}

/// Enough for a header and the load commands of most files; more is read when they are longer.
const PAGE: usize = 16 << 10;

struct Reader {
    file: std::fs::File,
    bytes: memmap2::MmapMut,
    /// The ranges read so far: never read twice.
    done: Vec<Range<usize>>,
    read: u64,
}

impl Reader {
    /// Reads `range` of the file into the same range of the buffer, but what is already there.
    fn fill(&mut self, range: Range<usize>) -> std::io::Result<()> {
        for part in subtract(range, self.done.clone()) {
            let Some(buffer) = self.bytes.get_mut(part.clone()) else {
                return Err(std::io::Error::other("a range beyond the file's end"));
            };
            self.file.seek(SeekFrom::Start(part.start as u64))?;
            // A file that got shorter since it was opened ends the read with an error here.
            self.file.read_exact(buffer)?;
            self.read += buffer.len() as u64;
            self.done.push(part);
        }
        Ok(())
    }
}

/// `range` without the (sorted or not) `holes`, as sorted non-empty ranges.
fn subtract(range: Range<usize>, mut holes: Vec<Range<usize>>) -> Vec<Range<usize>> {
    holes.sort_by_key(|h| h.start);
    let mut out = Vec::new();
    let mut at = range.start;
    for hole in holes {
        let start = hole.start.clamp(at, range.end);
        if start > at {
            out.push(at..start);
        }
        at = at.max(hole.end.min(range.end));
    }
    if at < range.end {
        out.push(at..range.end);
    }
    out
}

fn u32_at(bytes: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    let b: [u8; 4] = bytes.get(at..at.checked_add(4)?)?.try_into().ok()?;
    Some(if big_endian {
        u32::from_be_bytes(b)
    } else {
        u32::from_le_bytes(b)
    })
}

fn u64_at(bytes: &[u8], at: usize, big_endian: bool) -> Option<u64> {
    let b: [u8; 8] = bytes.get(at..at.checked_add(8)?)?.try_into().ok()?;
    Some(if big_endian {
        u64::from_be_bytes(b)
    } else {
        u64::from_le_bytes(b)
    })
}

const FAT_MAGIC: u32 = 0xcafe_babe;
const FAT_MAGIC_64: u32 = 0xcafe_babf;
const MH_MAGIC: u32 = 0xfeed_face;
const MH_MAGIC_64: u32 = 0xfeed_facf;
const LC_SEGMENT: u32 = 0x1;
const LC_SEGMENT_64: u32 = 0x19;

/// The architectures' slices of a universal (fat) file, or the whole file for a thin one. `None`
/// when the header makes no sense (the file is then read whole, and the parser says why).
fn slices(bytes: &[u8], size: usize) -> Option<Vec<Range<usize>>> {
    let magic = u32_at(bytes, 0, true)?;
    if magic != FAT_MAGIC && magic != FAT_MAGIC_64 {
        return Some(std::iter::once(0..size).collect());
    }
    let count = usize::try_from(u32_at(bytes, 4, true)?).ok()?;
    let (entry, wide) = if magic == FAT_MAGIC_64 {
        (32, true)
    } else {
        (20, false)
    };
    // A real universal file has a handful of slices, its table in the first page (read already).
    // A count beyond that is not one (a Java class file shares the magic; a hostile header could
    // say four billion): the file is read whole, for the parser to say what it is.
    if count > 64 || count.checked_mul(entry)?.checked_add(8)? > PAGE.min(size) {
        return None;
    }
    let mut out = Vec::new();
    for i in 0..count {
        let at = 8usize.checked_add(i.checked_mul(entry)?)?;
        let (offset, len) = if wide {
            (u64_at(bytes, at + 8, true)?, u64_at(bytes, at + 16, true)?)
        } else {
            (
                u64::from(u32_at(bytes, at + 8, true)?),
                u64::from(u32_at(bytes, at + 12, true)?),
            )
        };
        let start = usize::try_from(offset).ok()?;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        if end > size {
            return None;
        }
        out.push(start..end);
    }
    Some(out)
}

/// The magic of a thin slice: whether it is 64-bit and big-endian; `None` when not Mach-O.
fn thin_kind(bytes: &[u8], at: usize) -> Option<(bool, bool)> {
    match u32_at(bytes, at, false)? {
        MH_MAGIC_64 => Some((true, false)),
        MH_MAGIC => Some((false, false)),
        m if m.swap_bytes() == MH_MAGIC_64 => Some((true, true)),
        m if m.swap_bytes() == MH_MAGIC => Some((false, true)),
        _ => None,
    }
}

/// Where a slice's load commands end (the header's `sizeofcmds` after the header), within the
/// slice; `None` when it is not a Mach-O slice. Reads only the header, already read by [`read`].
fn load_commands_end(bytes: &[u8], slice: &Range<usize>) -> Option<usize> {
    let (wide, big_endian) = thin_kind(bytes, slice.start)?;
    let header = if wide { 32 } else { 28 };
    let sizeofcmds = usize::try_from(u32_at(bytes, slice.start + 20, big_endian)?).ok()?;
    let end = slice.start.checked_add(header)?.checked_add(sizeofcmds)?;
    (end <= slice.end).then_some(end)
}

/// The `__DWARF` sections of a slice that building a symcache never reads, as file ranges.
fn skipped_sections(bytes: &[u8], slice: &Range<usize>) -> Vec<Range<usize>> {
    const SKIPPED: [&[u8]; 8] = [
        b"__debug_loc",
        b"__debug_loclists",
        b"__apple_names",
        b"__apple_types",
        b"__apple_namespac",
        b"__apple_objc",
        b"__debug_pubnames",
        b"__debug_pubtypes",
    ];
    let mut out = Vec::new();
    let Some((wide, be)) = thin_kind(bytes, slice.start) else {
        return out;
    };
    let Some(ncmds) = u32_at(bytes, slice.start + 16, be) else {
        return out;
    };
    let Some(end) = load_commands_end(bytes, slice) else {
        return out;
    };
    let mut at = slice.start + if wide { 32 } else { 28 };
    for _ in 0..ncmds {
        let (Some(cmd), Some(cmdsize)) = (u32_at(bytes, at, be), u32_at(bytes, at + 4, be)) else {
            break;
        };
        let cmdsize = cmdsize as usize;
        if cmdsize < 8 || at + cmdsize > end {
            break;
        }
        let segment = match cmd {
            LC_SEGMENT_64 => Some((72, 80, true)),
            LC_SEGMENT => Some((56, 68, false)),
            _ => None,
        };
        if let Some((segment_header, section_size, wide_section)) = segment
            && bytes
                .get(at + 8..at + 24)
                .is_some_and(|n| name_is(n, b"__DWARF"))
        {
            let nsects = u32_at(bytes, at + segment_header - 8, be).unwrap_or(0) as usize;
            for i in 0..nsects {
                let s = at + segment_header + i * section_size;
                if s + section_size > at + cmdsize {
                    break;
                }
                let Some(name) = bytes.get(s..s + 16) else {
                    break;
                };
                if !SKIPPED.iter().any(|skip| name_is(name, skip)) {
                    continue;
                }
                let (size, offset) = if wide_section {
                    (u64_at(bytes, s + 40, be), u32_at(bytes, s + 48, be))
                } else {
                    (
                        u32_at(bytes, s + 36, be).map(u64::from),
                        u32_at(bytes, s + 40, be),
                    )
                };
                let (Some(size), Some(offset)) = (size, offset) else {
                    continue;
                };
                let start = slice.start.saturating_add(offset as usize);
                let end = start.saturating_add(usize::try_from(size).unwrap_or(usize::MAX));
                if start >= slice.start && end <= slice.end {
                    out.push(start..end);
                }
            }
        }
        at += cmdsize;
    }
    out
}

/// Whether a fixed 16-byte, NUL-padded Mach-O name is `name`.
fn name_is(field: &[u8], name: &[u8]) -> bool {
    let len = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    field.get(..len) == Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fixture(name: &str) -> std::path::PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata/symbols/out")
            .join(name)
    }

    #[test]
    fn subtract_leaves_what_is_outside_the_holes() {
        assert_eq!(subtract(0..10, vec![]), vec![0..10]);
        assert_eq!(subtract(0..10, vec![2..4, 6..8]), vec![0..2, 4..6, 8..10]);
        assert_eq!(subtract(0..10, vec![6..8, 2..4]), vec![0..2, 4..6, 8..10]);
        assert_eq!(subtract(2..8, vec![0..3, 7..20]), vec![3..7]);
        assert_eq!(
            subtract(0..10, std::iter::once(0..10).collect()),
            Vec::<Range<usize>>::new()
        );
        assert_eq!(subtract(0..10, vec![1..5, 3..6]), vec![0..1, 6..10]);
    }

    /// Indexing reads the load commands only: for the fixtures padded to 4 MiB (with zeros
    /// after their end, which changes nothing they say), the first page of each slice, and what
    /// it reads parses to the same objects as the whole file.
    #[test]
    fn the_load_commands_are_all_indexing_reads() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "AGXMetalG16X.arm64.dSYM/Contents/Resources/DWARF/AGXMetalG16X.arm64",
            "AGXMetalG16X.dSYM/Contents/Resources/DWARF/AGXMetalG16X",
            "AGXMetalG16X",
        ] {
            let mut whole = std::fs::read(fixture(name)).unwrap();
            whole.resize(4 << 20, 0);
            let path = dir.path().join("padded");
            std::fs::write(&path, &whole).unwrap();
            let sparse = read(&path, Want::LoadCommands).unwrap();
            assert_eq!(sparse.bytes.len(), whole.len());
            assert!(
                sparse.read <= 3 * PAGE as u64,
                "{name}: read {}",
                sparse.read
            );
            let objects = |bytes: &[u8]| -> Vec<(String, String, bool, bool)> {
                symbolic_debuginfo::Archive::parse(bytes)
                    .unwrap()
                    .objects()
                    .map(|o| {
                        let o = o.unwrap();
                        (
                            o.debug_id().to_string(),
                            o.arch().to_string(),
                            o.has_debug_info(),
                            o.has_symbols(),
                        )
                    })
                    .collect()
            };
            assert_eq!(objects(&sparse.bytes), objects(&whole), "{name}");
        }
    }

    /// What building a symcache skips (location lists, accelerator tables) changes nothing in
    /// the symcache: it is byte for byte the one built from the whole file.
    #[test]
    fn a_symcache_from_the_sparse_read_is_the_one_from_the_whole_file() {
        let symcache = |bytes: &[u8]| -> Vec<Vec<u8>> {
            symbolic_debuginfo::Archive::parse(bytes)
                .unwrap()
                .objects()
                .map(|o| {
                    let mut converter = symbolic_symcache::SymCacheConverter::new();
                    converter.process_object(&o.unwrap()).unwrap();
                    let mut out = Vec::new();
                    converter
                        .serialize(&mut std::io::Cursor::new(&mut out))
                        .unwrap();
                    out
                })
                .collect()
        };
        for name in [
            "AGXMetalG16X.arm64.dSYM/Contents/Resources/DWARF/AGXMetalG16X.arm64",
            "AGXMetalG16X.dSYM/Contents/Resources/DWARF/AGXMetalG16X",
            "AGXMetalG16X",
        ] {
            let path = fixture(name);
            let whole = std::fs::read(&path).unwrap();
            let sparse = read(&path, Want::Symcache).unwrap();
            assert!(sparse.read <= whole.len() as u64);
            assert_eq!(symcache(&sparse.bytes), symcache(&whole), "{name}");
        }
        // The dSYM has location lists and accelerator tables: those are the sections skipped
        // (the fixture fits in the first page, read whole; bench/symbols.sh measures a big one).
        let dsym = fixture("AGXMetalG16X.arm64.dSYM/Contents/Resources/DWARF/AGXMetalG16X.arm64");
        let whole = std::fs::read(&dsym).unwrap();
        let skipped = skipped_sections(&whole, &(0..whole.len()));
        assert!(skipped.len() >= 5, "{skipped:?}");
    }

    /// C6: a symbol file that shrinks while crashdelta uses it (a build replacing it in place)
    /// must not kill the process. A mapped file would: touching a page past the new end raises
    /// SIGBUS, and this test process would die instead of failing an assertion. Read bytes are
    /// the process's own.
    #[test]
    fn a_symbol_file_that_shrinks_after_it_was_read_is_still_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("AGXMetalG16X");
        let content: Vec<u8> = (0..8 << 20).map(|i: u32| (i % 251) as u8).collect();
        std::fs::write(&path, &content).unwrap();
        // Not Mach-O: read whole.
        let file = read(&path, Want::Symcache).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(0)
            .unwrap();
        assert!(file.bytes[..] == content[..]);
        assert_eq!(file.read, content.len() as u64);
    }

    /// A slice table pointing beyond the file's end, a header whose load commands would run past
    /// it: read whole, for the parser to refuse, never a read out of bounds.
    #[test]
    fn nonsense_headers_are_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("bad");
        let mut fat = vec![0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 1];
        fat.extend([
            0, 0, 0, 12, 0, 0, 0, 0, 0, 0, 0x10, 0, 0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0,
        ]);
        fat.resize(64 << 10, 7);
        std::fs::write(&path, &fat).unwrap();
        let file = read(&path, Want::LoadCommands).unwrap();
        assert!(file.bytes[..] == fat[..]);
        // A slice count of four billion: not a table to walk.
        fat[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        std::fs::write(&path, &fat).unwrap();
        let file = read(&path, Want::LoadCommands).unwrap();
        assert!(file.bytes[..] == fat[..]);
        let mut thin = vec![0xcf, 0xfa, 0xed, 0xfe];
        thin.extend([0u8; 12]);
        thin.extend(1000u32.to_le_bytes());
        thin.extend(u32::MAX.to_le_bytes());
        thin.resize(64 << 10, 7);
        std::fs::write(&path, &thin).unwrap();
        let file = read(&path, Want::Symcache).unwrap();
        assert!(file.bytes[..] == thin[..]);
    }
}
