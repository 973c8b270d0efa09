//! Reading symbol files: only the parts a step needs, into the process's own memory.
//!
//! A dSYM of a real framework (PyTorch's `libtorch_cpu`, a team's own) holds hundreds of
//! megabytes to gigabytes of DWARF, and `--symbols` is given on every command. Reading it whole
//! for every command cost what `cat` of the file costs, twice (once to index it, once more to
//! build its symcache), and that much memory; and the commands that find their symcache in the
//! cache folder need none of it.
//!
//! So a symbol file is read *sparsely*: a zero-filled buffer of the file's size is allocated
//! (anonymous memory, without reserving swap: pages no one writes are never given physical
//! memory, on Linux as on macOS, and a file larger than memory and swap still gets one), and only
//! the byte ranges a step needs are read into it, at their own offsets. Parsers see an ordinary
//! Mach-O file in which what they do not read is zeros.
//!
//! - Indexing ([`Want::LoadCommands`]) needs the UUID, the architecture, and whether there are
//!   debug sections and a symbol table: all in the Mach-O header and load commands, a few
//!   kilobytes at the start of each architecture's slice, whatever the file's size. A header
//!   that makes no sense (a slice table of billions, load commands of more than 16 MiB) gets
//!   the first page read and no more: the parser refuses it; a crafted sparse file of gigabytes
//!   cannot make every command read gigabytes.
//! - Building a symcache ([`Want::Symcache`]) needs the symbol table and the DWARF sections
//!   symbolic reads; every byte is read except the DWARF sections it never reads: location lists
//!   (`__debug_loc`, `__debug_loclists`: where variables live, a large share of optimised code's
//!   DWARF) and Apple's accelerator tables (`__apple_names`, `__apple_types`, ...: name indexes
//!   for debuggers). Skipping a named list, rather than reading a list of wanted ones, fails
//!   safe: a section a later symbolic starts reading is read. A skipped section is located the
//!   way symbolic 13.9 locates sections (in a 64-bit file at `fileoff + addr - vmaddr` of its
//!   segment: the 32-bit `offset` field wraps beyond 4 GiB), clipped to its `__DWARF` segment,
//!   and ignored when its `offset` is 0 (dsymutil's "header kept, data removed"); no byte of
//!   another section (wherever symbolic could take it from) or of the symbol and string tables
//!   is ever skipped; load commands that do not add up skip nothing. A test builds a real dSYM
//!   (bench/make_big_dsym.sh, small) and checks that its symcache from the sparse read is byte
//!   for byte the one from the whole file, with fewer bytes read than the file has.
//!
//! Why not map the file: a mapped file that shrinks while it is read (a build replacing it in
//! place, a copy in progress) kills the process with SIGBUS, which no error handling can catch.
//! Read bytes are the process's own: a file that changes meanwhile gives an error (it got
//! shorter) or a mix of old and new bytes (which parse as a broken file, or as symbols that the
//! cache key then ties to the file's new status-change time, see `cache_key`), never a crash.
//! The file's status is taken from the open handle before and after the read, and a file that
//! changed during the read is refused.

use std::collections::BTreeMap;
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
/// structure makes no sense) is read whole to build a symcache, for the parser to say what is
/// wrong with it; indexing never reads more than the first page of such a file (a crafted header
/// must not make every command read gigabytes), and the parser refuses what it got.
pub(crate) fn read(path: &Path, want: Want) -> std::io::Result<SymbolFile> {
    let sparse = Sparse::open(path, want)?;
    sparse.check_unchanged()?;
    Ok(SymbolFile {
        bytes: sparse.reader.bytes,
        stamp: sparse.stamp,
        read: sparse.reader.read,
    })
}

/// A symbol file kept open, its buffer filled in parts as they are needed: the lazy lookups of
/// module `dwarf` read the load commands first, then the compile units and strings that the
/// report's addresses need, each part once.
pub(crate) struct Sparse {
    reader: Reader,
    /// The file's version when it was opened.
    pub stamp: Stamp,
}

impl Sparse {
    /// Opens the file at `path` and reads what `want` needs of it (see [`read`]).
    pub(crate) fn open(path: &Path, want: Want) -> std::io::Result<Sparse> {
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
            // memory, until a range is read into them. (A `vec![0; size]` is the same only when
            // the allocator takes it fresh from the kernel; one that reuses memory it freed, as
            // mimalloc does after indexing freed the same size, zeroes it all first.) Without
            // reserving swap: Linux refuses a reserving mapping larger than memory and swap,
            // which a big sparse read never uses.
            bytes: memmap2::MmapOptions::new()
                .len(size)
                .no_reserve_swap()
                .map_anon()?,
            done: Intervals::default(),
            read: 0,
        };
        // Small pages: with transparent huge pages on (Linux's "always"), the first byte read into
        // a 2 MiB stretch made the kernel clear all of it, and the lazy lookups' scattered reads
        // (a unit here, a string there) cleared tens of megabytes, 40% of a lookup's time.
        #[cfg(target_os = "linux")]
        let _ = reader.bytes.advise(memmap2::Advice::NoHugePage);
        // The first page: the magic, a fat file's table of slices, or a thin file's header and
        // (usually all) its load commands.
        reader.fill(0..size.min(PAGE))?;
        let slices = match slices(&reader.bytes, size) {
            Some(slices) => slices,
            None if want == Want::Symcache => std::iter::once(0..size).collect(),
            // Nonsense: the first page is all indexing gets.
            None => Vec::new(),
        };
        let mut wanted = Vec::new();
        for slice in slices {
            let first_page = slice.start..slice.end.min(slice.start.saturating_add(PAGE));
            reader.fill(first_page.clone())?;
            // The header and load commands, then what they say the step needs.
            let commands = match load_commands_end(&reader.bytes, &slice) {
                Some(end) => slice.start..end,
                None if want == Want::Symcache => slice.clone(),
                None => first_page,
            };
            reader.fill(commands.clone())?;
            if want == Want::Symcache {
                let mut skipped = Intervals::default();
                for range in skipped_sections(&reader.bytes, &slice) {
                    skipped.insert(range);
                }
                wanted.extend(skipped.gaps(commands.end..slice.end));
            }
        }
        for range in wanted {
            reader.fill(range)?;
        }
        Ok(Sparse { reader, stamp })
    }

    /// The file's bytes: those read so far, zeros elsewhere.
    pub(crate) fn bytes(&self) -> &[u8] {
        &self.reader.bytes
    }

    /// Reads `range` of the file (clipped to its size), but what was read before.
    pub(crate) fn fill(&mut self, range: Range<usize>) -> std::io::Result<()> {
        let end = range.end.min(self.reader.bytes.len());
        self.reader.fill(range.start.min(end)..end)
    }

    /// Reads `range` of the file (clipped to its size) through a buffer of `chunk` bytes, not
    /// into the file's buffer, handing each part to `scan`: for data looked through once (a
    /// symbol table of megabytes), whose pages would otherwise stay in memory. Not counted in
    /// [`Sparse::bytes_read`], which is what the buffer holds.
    pub(crate) fn scan(
        &mut self,
        range: Range<usize>,
        chunk: usize,
        mut scan: impl FnMut(&[u8]),
    ) -> std::io::Result<()> {
        let end = range.end.min(self.reader.bytes.len());
        let mut at = range.start.min(end);
        let mut buffer = vec![0u8; chunk.max(1).min(end - at)];
        while at < end {
            let len = buffer.len().min(end - at);
            let Some(part) = buffer.get_mut(..len) else {
                break;
            };
            self.reader.file.seek(SeekFrom::Start(at as u64))?;
            self.reader.file.read_exact(part)?;
            scan(part);
            at += len;
        }
        Ok(())
    }

    /// How many bytes were read into the buffer so far.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn bytes_read(&self) -> u64 {
        self.reader.read
    }

    /// An error when the file is no longer the version opened: what was read may mix two
    /// versions.
    pub(crate) fn check_unchanged(&self) -> std::io::Result<()> {
        if Stamp::of(&self.reader.file.metadata()?) != self.stamp {
            return Err(std::io::Error::other(
                "it changed while it was read (a build writing it?); try again once it is written",
            ));
        }
        Ok(())
    }
}

/// Enough for a header and the load commands of most files; more is read when they are longer.
const PAGE: usize = 16 << 10;

/// More load commands than any real file has (a big binary's are tens of kilobytes): a header
/// saying more is not believed.
const MAX_LOAD_COMMANDS: usize = 16 << 20;

struct Reader {
    file: std::fs::File,
    bytes: memmap2::MmapMut,
    /// The ranges read so far: never read twice.
    done: Intervals,
    read: u64,
}

impl Reader {
    /// Reads `range` of the file into the same range of the buffer, but what is already there.
    fn fill(&mut self, range: Range<usize>) -> std::io::Result<()> {
        for part in self.done.gaps(range) {
            let Some(buffer) = self.bytes.get_mut(part.clone()) else {
                return Err(std::io::Error::other("a range beyond the file's end"));
            };
            self.file.seek(SeekFrom::Start(part.start as u64))?;
            // A file that got shorter since it was opened ends the read with an error here.
            self.file.read_exact(buffer)?;
            self.read += buffer.len() as u64;
            self.done.insert(part);
        }
        Ok(())
    }
}

/// A set of positions kept as sorted, disjoint, merged ranges (start to end): adding a range and
/// finding what of a range is not in the set cost a logarithm of the set's size, not a sort of
/// it, so a hostile file with thousands of sections costs thousands of steps, not millions.
#[derive(Debug, Default)]
struct Intervals(BTreeMap<usize, usize>);

impl Intervals {
    /// Adds `range`, merged with the ranges it overlaps or touches.
    fn insert(&mut self, range: Range<usize>) {
        if range.is_empty() {
            return;
        }
        let (mut start, mut end) = (range.start, range.end);
        if let Some((&s, &e)) = self.0.range(..=start).next_back()
            && e >= start
        {
            start = s;
            end = end.max(e);
        }
        let absorbed: Vec<usize> = self.0.range(start..=end).map(|(&s, _)| s).collect();
        for s in absorbed {
            if let Some(e) = self.0.remove(&s) {
                end = end.max(e);
            }
        }
        self.0.insert(start, end);
    }

    /// What of `range` is not in the set, as sorted non-empty ranges.
    fn gaps(&self, range: Range<usize>) -> Vec<Range<usize>> {
        let mut out = Vec::new();
        if range.is_empty() {
            return out;
        }
        let mut at = range.start;
        if let Some((_, &e)) = self.0.range(..=range.start).next_back() {
            at = at.max(e);
        }
        for (&s, &e) in self.0.range(range.start..range.end) {
            if s > at {
                out.push(at..s);
            }
            at = at.max(e);
            if at >= range.end {
                break;
            }
        }
        if at < range.end {
            out.push(at..range.end);
        }
        out
    }
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
const LC_SYMTAB: u32 = 0x2;
const LC_SEGMENT_64: u32 = 0x19;

/// The architectures' slices of a universal (fat) file, or the whole file for a thin one. `None`
/// when the header makes no sense.
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
    // say four billion).
    if count > 64 || count.checked_mul(entry)?.checked_add(8)? > PAGE.min(size) {
        return None;
    }
    let mut out = Vec::new();
    for i in 0..count {
        let at = 8usize.checked_add(i.checked_mul(entry)?)?;
        let (offset, len) = if wide {
            (
                u64_at(bytes, at.checked_add(8)?, true)?,
                u64_at(bytes, at.checked_add(16)?, true)?,
            )
        } else {
            (
                u64::from(u32_at(bytes, at.checked_add(8)?, true)?),
                u64::from(u32_at(bytes, at.checked_add(12)?, true)?),
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
/// slice; `None` when it is not a Mach-O slice, or says it has more load commands than
/// [`MAX_LOAD_COMMANDS`]. Reads only the header, already read by [`read`].
fn load_commands_end(bytes: &[u8], slice: &Range<usize>) -> Option<usize> {
    let (wide, big_endian) = thin_kind(bytes, slice.start)?;
    let header = if wide { 32 } else { 28 };
    let sizeofcmds =
        usize::try_from(u32_at(bytes, slice.start.checked_add(20)?, big_endian)?).ok()?;
    if sizeofcmds > MAX_LOAD_COMMANDS {
        return None;
    }
    let end = slice.start.checked_add(header)?.checked_add(sizeofcmds)?;
    (end <= slice.end).then_some(end)
}

/// The `__DWARF` sections building a symcache never reads (location lists, accelerator tables).
/// Any other section, in any segment, is read: skipping a named list rather than reading a list
/// of wanted ones fails safe, when a later symbolic starts reading a section.
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

/// The file ranges of a slice that building a symcache can skip: the [`SKIPPED`] sections of its
/// `__DWARF` segments, where symbolic would find them, less any byte of a section symbolic reads
/// or of the symbol table. Empty when the load commands make no sense (then everything is read).
fn skipped_sections(bytes: &[u8], slice: &Range<usize>) -> Vec<Range<usize>> {
    let Some(layout) = layout(bytes, slice) else {
        return Vec::new();
    };
    let mut kept = Intervals::default();
    for range in layout.kept {
        kept.insert(range);
    }
    layout
        .skipped
        .into_iter()
        .flat_map(|range| kept.gaps(range))
        .collect()
}

/// What the load commands of a slice say about its file ranges, for [`skipped_sections`].
#[derive(Debug, Default)]
struct Layout {
    /// The [`SKIPPED`] sections of `__DWARF` segments, clipped to their segment.
    skipped: Vec<Range<usize>>,
    /// Every other section (every place symbolic could take it from), and the symbol and string
    /// tables.
    kept: Vec<Range<usize>>,
}

/// `start..start + len` within `slice` (the file's positions), `start` being relative to the
/// slice; `None` on overflow.
fn in_slice(slice: &Range<usize>, start: u64, len: u64) -> Option<Range<usize>> {
    let start = slice.start.checked_add(usize::try_from(start).ok()?)?;
    let end = start.checked_add(usize::try_from(len).ok()?)?;
    Some(start.min(slice.end)..end.min(slice.end))
}

/// Load commands, each as its `cmd` and its bytes.
type Commands<'a> = Vec<(u32, &'a [u8])>;

/// The load commands of a slice, each as its `cmd` and its bytes, with whether the slice is
/// 64-bit and big-endian; `None` at anything that does not add up (a size under 8, a command
/// past the end of the commands).
fn load_commands<'a>(bytes: &'a [u8], slice: &Range<usize>) -> Option<(bool, bool, Commands<'a>)> {
    let (wide, be) = thin_kind(bytes, slice.start)?;
    let ncmds = u32_at(bytes, slice.start.checked_add(16)?, be)?;
    let end = load_commands_end(bytes, slice)?;
    let mut at = slice.start.checked_add(if wide { 32 } else { 28 })?;
    let mut commands = Vec::new();
    for _ in 0..ncmds {
        let cmd = u32_at(bytes, at, be)?;
        let cmdsize = usize::try_from(u32_at(bytes, at.checked_add(4)?, be)?).ok()?;
        let next = at.checked_add(cmdsize)?;
        if cmdsize < 8 || next > end {
            return None;
        }
        commands.push((cmd, bytes.get(at..next)?));
        at = next;
    }
    Some((wide, be, commands))
}

/// The symbol table's entries and its strings, from an `LC_SYMTAB` command's bytes, as ranges
/// of the file.
fn symtab_ranges(
    command: &[u8],
    wide: bool,
    be: bool,
    slice: &Range<usize>,
) -> Option<(Range<usize>, Range<usize>)> {
    let field = |at: usize| u32_at(command, at, be).map(u64::from);
    let (symoff, nsyms, stroff, strsize) = (field(8)?, field(12)?, field(16)?, field(20)?);
    let entry = if wide { 16 } else { 12 };
    Some((
        in_slice(slice, symoff, nsyms.checked_mul(entry)?)?,
        in_slice(slice, stroff, strsize)?,
    ))
}

/// Walks the load commands of a slice. `None` at anything that does not add up: in doubt,
/// nothing is skipped.
fn layout(bytes: &[u8], slice: &Range<usize>) -> Option<Layout> {
    let (wide, be, commands) = load_commands(bytes, slice)?;
    let mut out = Layout::default();
    for (cmd, command) in commands {
        match cmd {
            LC_SEGMENT_64 | LC_SEGMENT => {
                // A 32-bit segment in a 64-bit file, or the reverse: symbolic would place its
                // sections as the file's kind says, this walk as the command's. In doubt, no.
                if (cmd == LC_SEGMENT_64) != wide {
                    return None;
                }
                segment(command, wide, be, slice, &mut out)?
            }
            LC_SYMTAB => {
                let (nlist, strings) = symtab_ranges(command, wide, be, slice)?;
                out.kept.push(nlist);
                out.kept.push(strings);
            }
            _ => {}
        }
    }
    Some(out)
}

/// The sections of one segment command (`command`, its bytes) into `out`.
fn segment(
    command: &[u8],
    wide: bool,
    be: bool,
    slice: &Range<usize>,
    out: &mut Layout,
) -> Option<()> {
    // The segment's and its sections' layouts (mach-o/loader.h).
    let (header, section_size) = if wide { (72, 80) } else { (56, 68) };
    let word = |at: usize| -> Option<u64> {
        if wide {
            u64_at(command, at, be)
        } else {
            u32_at(command, at, be).map(u64::from)
        }
    };
    let word_size = if wide { 8 } else { 4 };
    let dwarf = name_is(command.get(8..24)?, b"__DWARF");
    let vmaddr = word(24)?;
    let fileoff = word(24 + 2 * word_size)?;
    let filesize = word(24 + 3 * word_size)?;
    let nsects = usize::try_from(u32_at(command, header - 8, be)?).ok()?;
    if header + nsects.checked_mul(section_size)? > command.len() {
        return None;
    }
    let segment_range = in_slice(slice, fileoff, filesize)?;
    for i in 0..nsects {
        let s = header + i * section_size;
        let section = command.get(s..s + section_size)?;
        let name = section.get(..16)?;
        let addr = if wide {
            u64_at(section, 32, be)?
        } else {
            u64::from(u32_at(section, 32, be)?)
        };
        let size = if wide {
            u64_at(section, 40, be)?
        } else {
            u64::from(u32_at(section, 36, be)?)
        };
        let offset = u64::from(u32_at(section, if wide { 48 } else { 40 }, be)?);
        // Where symbolic 13.9 takes a section from (`raw_section`): none when `offset` is 0
        // (dsymutil keeps the header of a section whose data it removed); in a 64-bit file, at
        // `fileoff + addr - vmaddr` (the 32-bit `offset` wraps beyond 4 GiB), or at `offset`
        // when that falls outside the file; in a 32-bit one, at `offset`.
        let by_offset = (offset != 0)
            .then(|| in_slice(slice, offset, size))
            .flatten();
        let by_address = if wide {
            addr.checked_sub(vmaddr)
                .and_then(|relative| relative.checked_add(fileoff))
                .and_then(|start| in_slice(slice, start, size))
        } else {
            by_offset.clone()
        };
        if dwarf && SKIPPED.iter().any(|skip| name_is(name, skip)) {
            if offset == 0 {
                continue;
            }
            // A section only where symbolic would look for it, and only within its segment: a
            // header saying otherwise skips nothing beyond.
            if let Some(range) = by_address {
                let start = range.start.max(segment_range.start);
                let end = range.end.min(segment_range.end);
                if start < end {
                    out.skipped.push(start..end);
                }
            }
        } else {
            out.kept.extend(by_offset);
            out.kept.extend(by_address);
        }
    }
    Some(())
}

/// Where a slice's symbol table is, for the lazy lookups (module `dwarf`): the `nlist` entries
/// and the string table (file positions), and the section numbers (`n_sect`, from 1) of the
/// `__TEXT` sections whose symbols symbolic takes for functions (`__text`, `__stubs`).
#[derive(Debug, Clone, Default)]
pub(crate) struct Symtab {
    pub nlist: Range<usize>,
    pub strings: Range<usize>,
    /// 64-bit entries (16 bytes) or 32-bit ones (12).
    pub wide: bool,
    pub big_endian: bool,
    pub code_sections: Vec<usize>,
}

/// The [`Symtab`] of the slice at `slice`; `None` when it has none or its load commands do not
/// add up. Reads only the load commands.
pub(crate) fn symtab(bytes: &[u8], slice: &Range<usize>) -> Option<Symtab> {
    let (wide, be, commands) = load_commands(bytes, slice)?;
    let mut out = None;
    let mut code_sections = Vec::new();
    // Numbered across every segment in load-command order, as symbolic counts them.
    let mut number = 0usize;
    for (cmd, command) in commands {
        match cmd {
            LC_SEGMENT_64 | LC_SEGMENT => {
                let (header, section_size) = if cmd == LC_SEGMENT_64 {
                    (72, 80)
                } else {
                    (56, 68)
                };
                let nsects = usize::try_from(u32_at(command, header - 8, be)?).ok()?;
                let text = name_is(command.get(8..24)?, b"__TEXT");
                for i in 0..nsects {
                    number = number.checked_add(1)?;
                    let s = header + i.checked_mul(section_size)?;
                    let Some(name) = command.get(s..s + 16) else {
                        // symbolic stops at a broken section header.
                        break;
                    };
                    if text && (name_is(name, b"__text") || name_is(name, b"__stubs")) {
                        code_sections.push(number);
                    }
                }
            }
            LC_SYMTAB => {
                let (nlist, strings) = symtab_ranges(command, wide, be, slice)?;
                out = Some(Symtab {
                    nlist,
                    strings,
                    wide,
                    big_endian: be,
                    code_sections: Vec::new(),
                });
            }
            _ => {}
        }
    }
    out.map(|symtab| Symtab {
        code_sections,
        ..symtab
    })
}

/// A little- or big-endian `u32` at `at` of `bytes`, `None` beyond its end.
pub(crate) fn u32_in(bytes: &[u8], at: usize, big_endian: bool) -> Option<u32> {
    u32_at(bytes, at, big_endian)
}

/// A little- or big-endian `u64` at `at` of `bytes`, `None` beyond its end.
pub(crate) fn u64_in(bytes: &[u8], at: usize, big_endian: bool) -> Option<u64> {
    u64_at(bytes, at, big_endian)
}

/// Whether a fixed 16-byte, NUL-padded Mach-O name is `name`.
fn name_is(field: &[u8], name: &[u8]) -> bool {
    let len = field.iter().position(|&b| b == 0).unwrap_or(field.len());
    field.get(..len) == Some(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::symbols::testing::fixture;

    fn gaps(set: &[Range<usize>], range: Range<usize>) -> Vec<Range<usize>> {
        let mut intervals = Intervals::default();
        for r in set {
            intervals.insert(r.clone());
        }
        intervals.gaps(range)
    }

    #[test]
    fn gaps_are_what_is_outside_the_set() {
        assert_eq!(gaps(&[], 0..10), vec![0..10]);
        assert_eq!(gaps(&[2..4, 6..8], 0..10), vec![0..2, 4..6, 8..10]);
        assert_eq!(gaps(&[6..8, 2..4], 0..10), vec![0..2, 4..6, 8..10]);
        assert_eq!(gaps(&[0..3, 7..20], 2..8), vec![3..7]);
        assert_eq!(gaps(&[0..4, 4..10], 0..10), Vec::<Range<usize>>::new());
        assert_eq!(gaps(&[1..5, 3..6], 0..10), vec![0..1, 6..10]);
        assert_eq!(gaps(&[1..5, 5..6, 0..1], 0..10), vec![6..10]);
        assert_eq!(gaps(&[4..5, 0..2, 1..8], 0..10), vec![8..10]);
        assert_eq!(gaps(&[0..2, 3..4], 5..5), Vec::<Range<usize>>::new());
        let mut merged = Intervals::default();
        for r in [4..5, 0..2, 1..8, 10..12, 12..13] {
            merged.insert(r);
        }
        assert_eq!(
            merged.0.into_iter().collect::<Vec<_>>(),
            vec![(0, 8), (10, 13)]
        );
    }

    /// Reading many separate ranges (a hostile file with thousands of sections) costs each a
    /// step, not a sort of all those read before: 64 Ki ranges took minutes that way.
    #[test]
    fn many_ranges_are_read_in_linear_time() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let content: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
        std::fs::write(&path, &content).unwrap();
        let mut reader = Reader {
            file: std::fs::File::open(&path).unwrap(),
            bytes: memmap2::MmapOptions::new()
                .len(content.len())
                .no_reserve_swap()
                .map_anon()
                .unwrap(),
            done: Intervals::default(),
            read: 0,
        };
        let started = std::time::Instant::now();
        for at in (0..content.len()).step_by(16) {
            reader.fill(at..at + 8).unwrap();
        }
        for at in (0..content.len()).step_by(16) {
            reader.fill(at..at + 16).unwrap();
        }
        assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
        assert_eq!(reader.read, content.len() as u64);
        assert!(reader.bytes[..] == content[..]);
    }

    /// A section of a crafted 64-bit Mach-O: name, address, size, `offset` field.
    fn section(name: &str, addr: u64, size: u64, offset: u32) -> Vec<u8> {
        let mut s = [0u8; 80];
        s[..name.len()].copy_from_slice(name.as_bytes());
        s[16..23].copy_from_slice(b"__DWARF");
        s[32..40].copy_from_slice(&addr.to_le_bytes());
        s[40..48].copy_from_slice(&size.to_le_bytes());
        s[48..52].copy_from_slice(&offset.to_le_bytes());
        s.to_vec()
    }

    /// A 64-bit dSYM of `total` bytes (a pattern after the load commands): one `__DWARF`
    /// segment (vmaddr 0, at `fileoff`, `filesize` long) with `sections`, and a symbol table.
    fn crafted(
        fileoff: u64,
        filesize: u64,
        sections: &[Vec<u8>],
        symtab: [u32; 4],
        total: usize,
    ) -> Vec<u8> {
        let mut segment = Vec::new();
        segment.extend(0x19u32.to_le_bytes());
        segment.extend((72 + 80 * sections.len() as u32).to_le_bytes());
        segment.extend(*b"__DWARF\0\0\0\0\0\0\0\0\0");
        for v in [0, filesize, fileoff, filesize] {
            segment.extend(v.to_le_bytes());
        }
        segment.extend([0u8; 8]);
        segment.extend((sections.len() as u32).to_le_bytes());
        segment.extend([0u8; 4]);
        for s in sections {
            segment.extend(s);
        }
        let mut commands = segment;
        for v in [2, 24, symtab[0], symtab[1], symtab[2], symtab[3]] {
            commands.extend(v.to_le_bytes());
        }
        let mut out = Vec::new();
        for v in [
            MH_MAGIC_64,
            0x0100_000c,
            0,
            0xa,
            2,
            commands.len() as u32,
            0,
            0,
        ] {
            out.extend(v.to_le_bytes());
        }
        out.extend(commands);
        let header = out.len();
        out.extend((header..total).map(|i| (i % 251) as u8 | 1));
        out
    }

    /// C1, C2: sections are where symbolic 13.9 takes them from (in a 64-bit file,
    /// `fileoff + addr - vmaddr`, not the 32-bit `offset` field, which wraps beyond 4 GiB),
    /// clipped to their segment; bytes of a section symbolic reads, or of the symbol table, are
    /// never skipped; a section whose `offset` is 0 (dsymutil removed its data) is not skipped
    /// (it is not in the file: skipping `0..size` wiped the header and the symbol table).
    #[test]
    fn skipped_sections_are_where_symbolic_looks_and_spare_what_it_reads() {
        // File offsets past the first page (always read): B + ...
        const B: u32 = 0x10000;
        let sections = [
            section("__debug_info", 0, 0x1000, B + 0x1000),
            // A wrapped `offset` field: the data is at fileoff + addr = B + 0x2000.
            section("__debug_loc", 0x1000, 0x1000, B + 0x1000),
            section("__debug_str", 0x2000, 0x1000, B + 0x3000),
            // Within __debug_str: nothing of it is skipped.
            section("__debug_pubnames", 0x2800, 0x400, B + 0x3800),
            // Header kept, data removed: what is at its address is not it.
            section("__apple_types", 0x3000, 0x800, 0),
            // Beyond the segment's end (B + 0x6000), and over the symbol table.
            section("__apple_names", 0x3800, 0x8000, B + 0x4800),
        ];
        let b = B as usize;
        let symtab = [B + 0x4800, 8, B + 0x4880, 0x80];
        let file = crafted(u64::from(B) + 0x1000, 0x5000, &sections, symtab, b + 0x8000);
        let skipped = skipped_sections(&file, &(0..file.len()));
        assert_eq!(
            skipped,
            vec![b + 0x2000..b + 0x3000, b + 0x4900..b + 0x6000]
        );

        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("crafted");
        std::fs::write(&path, &file).unwrap();
        let sparse = read(&path, Want::Symcache).unwrap();
        assert_eq!(sparse.read, (b + 0x8000 - 0x1000 - 0x1700) as u64);
        assert!(sparse.bytes[..b + 0x2000] == file[..b + 0x2000]);
        assert!(sparse.bytes[b + 0x2000..b + 0x3000].iter().all(|&x| x == 0));
        assert!(sparse.bytes[b + 0x3000..b + 0x4900] == file[b + 0x3000..b + 0x4900]);
        assert!(sparse.bytes[b + 0x6000..] == file[b + 0x6000..]);
    }

    /// C4: indexing a file whose header makes no sense (a fat table of four billion slices, load
    /// commands of four gigabytes) reads its first page, not the file: a crafted sparse file of
    /// gigabytes cost every command seconds and its size in memory.
    #[test]
    fn indexing_never_reads_a_nonsense_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hostile");
        let size = 256u64 << 20;
        let mut fat = vec![0xca, 0xfe, 0xba, 0xbe];
        fat.extend(u32::MAX.to_be_bytes());
        let mut thin = vec![0xcf, 0xfa, 0xed, 0xfe];
        thin.extend([0u8; 12]);
        thin.extend(1000u32.to_le_bytes());
        // sizeofcmds: 256 MiB - 32, within the file but beyond any real one.
        thin.extend((size as u32 - 32).to_le_bytes());
        thin.extend([0u8; 8]);
        for head in [fat, thin] {
            let file = std::fs::File::create(&path).unwrap();
            std::io::Write::write_all(&mut &file, &head).unwrap();
            file.set_len(size).unwrap();
            drop(file);
            let got = read(&path, Want::LoadCommands).unwrap();
            assert!(got.read <= PAGE as u64, "read {}", got.read);
            // The parser says what it makes of the first page (it must not panic).
            if let Ok(archive) = symbolic_debuginfo::Archive::parse(&got.bytes) {
                let _ = archive.objects().count();
            }
        }
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

    /// The fixtures' symcaches from a sparse read are their whole files'. The fixtures fit in
    /// the first page, which is always read, so this cannot catch a wrong skip: the generated
    /// dSYM's test below can (`the_generated_dsyms_symcache_from_the_sparse_read_is_the_whole_files`).
    #[test]
    fn a_symcache_from_the_sparse_read_is_the_one_from_the_whole_file() {
        for name in [
            "AGXMetalG16X.arm64.dSYM/Contents/Resources/DWARF/AGXMetalG16X.arm64",
            "AGXMetalG16X.dSYM/Contents/Resources/DWARF/AGXMetalG16X",
            "AGXMetalG16X",
        ] {
            let path = fixture(name);
            let whole = std::fs::read(&path).unwrap();
            let sparse = read(&path, Want::Symcache).unwrap();
            assert!(sparse.read <= whole.len() as u64);
            assert_eq!(symcaches(&sparse.bytes), symcaches(&whole), "{name}");
        }
        // The dSYM has location lists and accelerator tables: those are the sections skipped
        // (the fixture fits in the first page, read whole; bench/symbols.sh measures a big one).
        let dsym = fixture("AGXMetalG16X.arm64.dSYM/Contents/Resources/DWARF/AGXMetalG16X.arm64");
        let whole = std::fs::read(&dsym).unwrap();
        let skipped = skipped_sections(&whole, &(0..whole.len()));
        assert!(skipped.len() >= 5, "{skipped:?}");
    }

    /// C5: the buffer of a file larger than memory and swap (a sparse terabyte here) is mapped
    /// without reserving swap: Linux's default overcommit refused a reserving mapping that big,
    /// and indexing failed.
    #[test]
    fn a_file_larger_than_memory_is_indexed() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("huge");
        let file = std::fs::File::create(&path).unwrap();
        if file.set_len(1 << 40).is_err() {
            // A file system without sparse terabyte files: nothing to check here. (The library
            // prints nothing, its tests included: tests/layers.rs.)
            return;
        }
        drop(file);
        let got = read(&path, Want::LoadCommands).unwrap();
        assert_eq!(got.bytes.len(), 1 << 40);
        assert_eq!(got.read, PAGE as u64);
    }

    /// The symcache of `bytes`'s objects, serialized.
    fn symcaches(bytes: &[u8]) -> Vec<Vec<u8>> {
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
    }

    /// C3: on a real dSYM too big to be read in its first page (bench/make_big_dsym.sh, small:
    /// optimised units with location lists, inlining, dsymutil's accelerator tables), the sparse
    /// read skips bytes, and its symcache is byte for byte the whole file's. Needs the generator's
    /// toolchain (clang, ld64.lld, dsymutil, llvm; python3); skips without it, unless
    /// `CRASHDELTA_REQUIRE_TOOLCHAIN` is set (to anything but `0`).
    #[test]
    fn the_generated_dsyms_symcache_from_the_sparse_read_is_the_whole_files() {
        let Some(dir) = crate::symbols::testing::generated() else {
            return;
        };
        let path = dir.path().join(crate::symbols::testing::GENERATED);
        let whole = std::fs::read(&path).unwrap();
        assert!(whole.len() > 4 * PAGE, "{} bytes", whole.len());
        let sparse = read(&path, Want::Symcache).unwrap();
        assert!(
            sparse.read < whole.len() as u64,
            "read {} of {}",
            sparse.read,
            whole.len()
        );
        assert!(sparse.bytes[..] != whole[..]);
        assert!(symcaches(&sparse.bytes) == symcaches(&whole));
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
    /// it: read whole to build a symcache, for the parser to refuse, never a read out of bounds.
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
        let file = read(&path, Want::Symcache).unwrap();
        assert!(file.bytes[..] == fat[..]);
        // A slice count of four billion: not a table to walk.
        fat[4..8].copy_from_slice(&u32::MAX.to_be_bytes());
        std::fs::write(&path, &fat).unwrap();
        let file = read(&path, Want::Symcache).unwrap();
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
