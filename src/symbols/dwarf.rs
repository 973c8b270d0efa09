//! Naming addresses from a dSYM's DWARF lazily: only the compile units that cover them.
//!
//! A report needs a few dozen addresses named; a big framework's dSYM describes hundreds of
//! thousands of functions. Converting all of them into a symcache (symbolic's
//! `SymCacheConverter`) took 6 s and three times the DWARF's size in memory for a 202 MiB dSYM
//! (docs/performance.md), on the first command after every build. Here an address goes through
//! `__debug_aranges` (a few kilobytes: which compile unit covers which addresses) to its unit,
//! and only that unit's entries, its line program and the strings it names are read from the
//! file (module `read`'s sparse buffer: never mapped, each part read once), then walked.
//!
//! The frames are those the symcache path gives, built the way symbolic builds them (symbolic-
//! debuginfo 13.9's `DwarfUnit::parse_functions` and `FunctionBuilder`, then `SymCacheConverter`):
//!
//! - the outermost function is the `DW_TAG_subprogram` one of whose ranges holds the address
//!   (ranges starting at 0, empty or inverted dropped; a subprogram without ranges is a
//!   container whose nested subprograms count, its inlined calls not), named by the symbol
//!   table's symbol at its lowest range's start when there is one (the first in the table's
//!   order, `_` stripped: symbolic's `SymbolMap`), else by its DWARF name; its entry is the start
//!   of the range holding the address;
//! - inlined frames are the `DW_TAG_inlined_subroutine` entries under it (through lexical blocks)
//!   whose ranges hold both the address and the start of the line row holding it (the symcache
//!   assigns a row to the innermost inlined call covering its start), innermost first;
//! - a DWARF name is the linkage name, else `DW_AT_name`, else that of the entry
//!   `DW_AT_abstract_origin` or `DW_AT_specification` point to (in any unit), demangled with the
//!   unit's language (or, through an abstract origin in another unit, that unit's);
//! - the innermost frame's file and line are the line row's; an outer frame's, the call site
//!   (`DW_AT_call_file`, `DW_AT_call_line`) of the inlined call inside it; paths joined with the
//!   unit's compilation folder as symcache joins them; an address before the function's first
//!   row gets the name alone;
//! - an address no compile unit covers is named by the nearest symbol-table symbol at or below
//!   it, unless that symbol starts a DWARF function that ends before the address (the symcache
//!   marks function ends).
//!
//! Assumed, and said: `__debug_aranges` lists every compile unit with code, as dsymutil writes
//! it (a dSYM without one is left to the symcache path: see `Lazy::open`).
//!
//! Hostile input: every read is clipped to its section and the file; a string is read 64 KiB at
//! most; reference chains are followed 16 deep at most; the entry walk keeps one stack entry per
//! open subprogram or inlined call, no recursion; a unit table of more than
//! [`MAX_UNITS`] units is not built. No indexing or unwrap on file data (clippy denies them).

use std::borrow::Cow;
use std::cell::RefCell;
use std::collections::{BTreeSet, HashMap};
use std::ops::Range;
use std::path::Path;
use std::rc::Rc;

use symbolic_common::{Language, Name, NameMangling};
use symbolic_debuginfo::dwarf::Dwarf as _;
use symbolic_debuginfo::dwarf::gimli;
use symbolic_debuginfo::{Archive, Object};

use gimli::{AttributeValue, DebugInfoOffset, RunTimeEndian, SectionId, UnitOffset, constants};

use super::read;

type Slice<'a> = gimli::EndianSlice<'a, RunTimeEndian>;

/// More units than a unit table is built for (cross-unit references): a crafted section of
/// tiny units would otherwise cost one read per unit, millions of them.
const MAX_UNITS: usize = 1 << 20;

/// The longest string read (a name, a path): longer ones are cut where the read stopped.
const MAX_STRING: usize = 64 << 10;

/// How deep `DW_AT_abstract_origin` / `DW_AT_specification` chains are followed.
const MAX_REFERENCE_DEPTH: u8 = 16;

/// How many rounds of "read what the lookups found missing, then look again" a batch gets:
/// each round reads at least one more unit, string or symbol, and a chain of references across
/// units needs one round per unit.
const MAX_ROUNDS: usize = 2 * MAX_REFERENCE_DEPTH as usize + 4;

/// The DWARF sections a lookup reads: the small ones whole when the file is opened, the big
/// ones (`__debug_info`, `__debug_line`, `__debug_str`) in the parts lookups need.
const SECTIONS: [SectionId; 10] = [
    SectionId::DebugAbbrev,
    SectionId::DebugAddr,
    SectionId::DebugAranges,
    SectionId::DebugInfo,
    SectionId::DebugLine,
    SectionId::DebugLineStr,
    SectionId::DebugStr,
    SectionId::DebugStrOffsets,
    SectionId::DebugRanges,
    SectionId::DebugRngLists,
];

/// Read whole when the file is opened: a few kilobytes to megabytes for a dSYM of hundreds.
/// (`__debug_ranges`, DWARF 4's range lists, is read list by list: 3 MiB of the generated 202
/// MiB dSYM, of which a unit uses a few kilobytes.)
const SMALL: [SectionId; 6] = [
    SectionId::DebugAbbrev,
    SectionId::DebugAddr,
    SectionId::DebugAranges,
    SectionId::DebugLineStr,
    SectionId::DebugStrOffsets,
    SectionId::DebugRngLists,
];

/// One frame at an address, innermost first: what `SymbolIndex::lookup` turns into a report
/// frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Frame {
    /// The demangled name.
    pub name: String,
    /// The function's entry, relative to the image (the outermost frame only).
    pub entry: Option<u64>,
    /// Whether this is an inlined call.
    pub inline: bool,
    pub file: Option<String>,
    pub line: Option<u64>,
}

/// A symbol file opened for lazy lookups: its sparse buffer and what was learnt of it.
pub(crate) struct Lazy {
    sparse: read::Sparse,
    meta: Meta,
}

/// What lookups know besides the bytes.
struct Meta {
    endian: RunTimeEndian,
    /// The `__TEXT` segment's address: DWARF addresses are this plus the image offset.
    load_address: u64,
    /// File positions of the DWARF sections there are.
    sections: HashMap<SectionId, Range<usize>>,
    symtab: Option<read::Symtab>,
    /// `__debug_aranges`: (start, end, unit offset), by start.
    aranges: Vec<(u64, u64, usize)>,
    /// Every unit's offset, once a reference across units needed it.
    units: Option<Vec<usize>>,
    /// Units read with their line programs and range lists.
    ensured: BTreeSet<usize>,
    /// `__debug_str` offsets whose strings were read (a unit's own name and folder, its line
    /// program's file names, and the names lookups asked for).
    strings: std::collections::HashSet<usize>,
    /// For each address asked about, the nearest function symbol at or below it: its address and
    /// name (symbolic's `_`-stripped name).
    symbols: HashMap<u64, Option<(u64, String)>>,
}

/// What a lookup found missing.
#[derive(Debug, Default)]
struct Needs {
    units: BTreeSet<usize>,
    unit_table: bool,
    symbols: BTreeSet<u64>,
    /// `__debug_str` offsets of names not read yet.
    strings: BTreeSet<usize>,
}

impl Needs {
    fn is_empty(&self) -> bool {
        self.units.is_empty()
            && !self.unit_table
            && self.symbols.is_empty()
            && self.strings.is_empty()
    }
}

impl Lazy {
    /// Opens the object `uuid` / `arch` of the file at `path` for lazy lookups: reads its load
    /// commands and its small DWARF sections. `Ok(None)` when the lazy path does not apply (no
    /// DWARF, no `__debug_aranges`, sections not where the load commands say, compressed
    /// sections): the symcache path names its frames then.
    pub(crate) fn open(path: &Path, uuid: &str, arch: &str) -> Result<Option<Lazy>, String> {
        let mut sparse = read::Sparse::open(path, read::Want::LoadCommands)
            .map_err(|e| format!("cannot read it: {e}"))?;
        let Some(meta) = meta(sparse.bytes(), uuid, arch)? else {
            return Ok(None);
        };
        for id in SMALL {
            if let Some(range) = meta.sections.get(&id) {
                sparse
                    .fill(range.clone())
                    .map_err(|e| format!("cannot read it: {e}"))?;
            }
        }
        let mut lazy = Lazy { sparse, meta };
        lazy.meta.aranges = aranges(&lazy.view(&Memo::default()));
        if lazy.meta.aranges.is_empty() {
            return Ok(None);
        }
        Ok(Some(lazy))
    }

    /// How many bytes of the file were read so far.
    #[cfg_attr(not(test), allow(dead_code))]
    pub(crate) fn bytes_read(&self) -> u64 {
        self.sparse.bytes_read()
    }

    /// The frames at each of `probes` (image offsets; a return address already moved back into
    /// its call), or `None` for one nothing names. Reads what they need, then checks that the
    /// file did not change meanwhile.
    pub(crate) fn lookup(&mut self, probes: &[u64]) -> Result<Vec<Option<Vec<Frame>>>, String> {
        let vms: Vec<u64> = probes
            .iter()
            .map(|p| self.meta.load_address.wrapping_add(*p))
            .collect();
        // What is surely needed, before the first look: the units covering the addresses.
        let mut first = Needs::default();
        for vm in &vms {
            first.units.extend(self.meta.units_at(*vm));
        }
        self.satisfy(&first)?;
        let mut batch = vms.clone();
        batch.sort_unstable();
        batch.dedup();
        // Kept across rounds: a unit's walk and line rows do not change once it is read.
        let units = batch.iter().map(|vm| self.meta.units_at(*vm)).collect();
        let memo = Memo {
            batch,
            units,
            ..Memo::default()
        };
        for _ in 0..MAX_ROUNDS {
            let mut needs = Needs::default();
            let frames: Vec<Option<Vec<Frame>>> = {
                let view = self.view(&memo);
                vms.iter()
                    .map(|vm| view.frames_at(*vm, &mut needs))
                    .collect()
            };
            if needs.is_empty() {
                self.sparse
                    .check_unchanged()
                    .map_err(|e| format!("cannot read it: {e}"))?;
                return Ok(frames);
            }
            self.satisfy(&needs)?;
        }
        Err("its debug information refers in circles".into())
    }

    fn view<'v>(&'v self, memo: &'v Memo) -> View<'v> {
        let bytes = self.sparse.bytes();
        let endian = self.meta.endian;
        let section = |id: SectionId| -> Slice<'_> {
            let data = self
                .meta
                .sections
                .get(&id)
                .and_then(|r| bytes.get(r.clone()))
                .unwrap_or(&[]);
            gimli::EndianSlice::new(data, endian)
        };
        let dwarf = gimli::Dwarf::load(|id| -> Result<Slice<'_>, ()> { Ok(section(id)) })
            .unwrap_or_default();
        View {
            dwarf,
            meta: &self.meta,
            units: RefCell::default(),
            memo,
        }
    }

    /// Reads what `needs` says is missing.
    fn satisfy(&mut self, needs: &Needs) -> Result<(), String> {
        let io = |e: std::io::Error| format!("cannot read it: {e}");
        if needs.unit_table && self.meta.units.is_none() {
            let units = self.unit_table().map_err(io)?;
            self.meta.units = Some(units);
        }
        for unit in &needs.units {
            self.ensure_unit(*unit).map_err(io)?;
        }
        if !needs.symbols.is_empty() {
            self.find_symbols(&needs.symbols).map_err(io)?;
        }
        for string in &needs.strings {
            self.fill_string(*string).map_err(io)?;
        }
        Ok(())
    }

    fn section(&self, id: SectionId) -> Range<usize> {
        self.meta.sections.get(&id).cloned().unwrap_or(0..0)
    }

    /// Reads a unit header's initial length at `at` (a file position) and returns where the unit
    /// ends, clipped to `within`.
    fn unit_end(&mut self, at: usize, within: &Range<usize>) -> std::io::Result<Option<usize>> {
        self.sparse
            .fill(at..at.saturating_add(12).min(within.end))?;
        let be = self.meta.endian == RunTimeEndian::Big;
        let bytes = self.sparse.bytes();
        let Some(length) = read::u32_in(bytes, at, be) else {
            return Ok(None);
        };
        let (header, length) = if length == 0xffff_ffff {
            match read::u64_in(bytes, at.saturating_add(4), be) {
                Some(length) => (12usize, length),
                None => return Ok(None),
            }
        } else {
            (4, u64::from(length))
        };
        let end = usize::try_from(length)
            .ok()
            .and_then(|l| at.checked_add(header)?.checked_add(l))
            .map_or(within.end, |end| end.min(within.end));
        Ok(Some(end))
    }

    /// Reads the unit at `offset` in `__debug_info`, its line program and every string they
    /// name, once.
    fn ensure_unit(&mut self, offset: usize) -> std::io::Result<()> {
        if self.meta.ensured.contains(&offset) {
            return Ok(());
        }
        self.meta.ensured.insert(offset);
        let info = self.section(SectionId::DebugInfo);
        let Some(at) = info.start.checked_add(offset).filter(|at| *at < info.end) else {
            return Ok(());
        };
        let Some(end) = self.unit_end(at, &info)? else {
            return Ok(());
        };
        self.sparse.fill(at..end)?;
        // The unit's strings, range lists and its line program's offset.
        let (strings, ranges, line) = unit_references(&self.view(&Memo::default()), offset);
        let address_size = {
            let memo = Memo::default();
            let view = self.view(&memo);
            view.dwarf
                .debug_info
                .header_from_offset(DebugInfoOffset(offset))
                .map_or(8, |h| usize::from(h.address_size()))
        };
        // A unit's lists are together in the section (dsymutil writes them unit by unit): read
        // from the first to the last at once, then each list to its end.
        let section = self.section(SectionId::DebugRanges);
        if let (Some(first), Some(last)) = (ranges.iter().min(), ranges.iter().max()) {
            let start = section.start.saturating_add(*first).min(section.end);
            let end = section.start.saturating_add(*last).min(section.end);
            self.sparse.fill(start..end)?;
        }
        for list in ranges {
            self.fill_range_list(list, address_size)?;
        }
        let line_section = self.section(SectionId::DebugLine);
        let mut strings = strings;
        if let Some(line) = line
            && let Some(at) = line_section
                .start
                .checked_add(line)
                .filter(|at| *at < line_section.end)
            && let Some(end) = self.unit_end(at, &line_section)?
        {
            self.sparse.fill(at..end)?;
            strings.extend(line_strings(&self.view(&Memo::default()), offset, line));
        }
        for string in strings {
            self.fill_string(string)?;
        }
        Ok(())
    }

    /// Reads the DWARF 4 range list at `offset` of `__debug_ranges` (pairs of addresses of
    /// `address_size` bytes up to a pair of zeros), a page at a time.
    fn fill_range_list(&mut self, offset: usize, address_size: usize) -> std::io::Result<()> {
        const CHUNK: usize = 4096;
        let section = self.section(SectionId::DebugRanges);
        let Some(start) = section.start.checked_add(offset) else {
            return Ok(());
        };
        let pair = address_size.saturating_mul(2).max(2);
        let mut at = start;
        while at < section.end {
            let end = (at - at % CHUNK)
                .saturating_add(CHUNK)
                .min(section.end)
                .max(at.saturating_add(pair).min(section.end));
            self.sparse.fill(at..end)?;
            // Whole pairs only; a pair cut by the chunk's end is read with the next chunk.
            let whole = (end - at) / pair * pair;
            let ends = self
                .sparse
                .bytes()
                .get(at..at + whole)
                .is_some_and(|b| b.chunks_exact(pair).any(|p| p.iter().all(|&c| c == 0)));
            if ends || whole == 0 {
                break;
            }
            at += whole;
        }
        Ok(())
    }

    /// Reads the NUL-terminated string at `offset` of `__debug_str`, a page at a time, up to
    /// [`MAX_STRING`].
    fn fill_string(&mut self, offset: usize) -> std::io::Result<()> {
        const CHUNK: usize = 4096;
        if !self.meta.strings.insert(offset) {
            return Ok(());
        }
        let section = self.section(SectionId::DebugStr);
        let Some(start) = section.start.checked_add(offset) else {
            return Ok(());
        };
        let mut at = start;
        while at < section.end && at - start < MAX_STRING {
            let end = (at - at % CHUNK)
                .saturating_add(CHUNK)
                .min(section.end)
                .max(at.saturating_add(1));
            self.sparse.fill(at..end)?;
            if self
                .sparse
                .bytes()
                .get(at..end)
                .is_some_and(|b| b.contains(&0))
            {
                break;
            }
            at = end;
        }
        Ok(())
    }

    /// Every unit's offset in `__debug_info`, by hopping from header to header.
    fn unit_table(&mut self) -> std::io::Result<Vec<usize>> {
        let info = self.section(SectionId::DebugInfo);
        let mut units = Vec::new();
        let mut at = info.start;
        while at < info.end && units.len() < MAX_UNITS {
            let Some(end) = self.unit_end(at, &info)? else {
                break;
            };
            units.push(at - info.start);
            if end <= at {
                break;
            }
            at = end;
        }
        Ok(units)
    }

    /// Finds, for each address of `wanted`, the nearest function symbol at or below it, in one
    /// pass over the symbol table, and reads their names.
    fn find_symbols(&mut self, wanted: &BTreeSet<u64>) -> std::io::Result<()> {
        for vm in wanted {
            self.meta.symbols.insert(*vm, None);
        }
        let Some(symtab) = self.meta.symtab.clone() else {
            return Ok(());
        };
        let entry = if symtab.wide { 16 } else { 12 };
        let be = symtab.big_endian;
        // The wanted addresses in order; for each, the best symbol among those between the
        // wanted address before it (excluded) and itself: (address, string index). The best
        // symbol of an address is then that of the nearest bucket at or below it that has one:
        // one binary search per symbol, not a pass over the wanted addresses.
        let wanted: Vec<u64> = wanted.iter().copied().collect();
        let mut buckets: Vec<Option<(u64, u32)>> = vec![None; wanted.len()];
        let load_address = self.meta.load_address;
        // Looked through once, 64 KiB at a time, not kept: a big dSYM's table is megabytes, and
        // a buffer of a megabyte or more comes from fresh memory (a huge page to clear, where
        // transparent huge pages are on) on every command.
        let chunk = entry * 4096;
        let (first, last) = match (wanted.first(), wanted.last()) {
            (Some(first), Some(last)) => (*first, *last),
            _ => return Ok(()),
        };
        // symbolic's filter: not a debugger entry (N_STAB), defined in a section (N_SECT) that
        // is `__TEXT,__text` or `__TEXT,__stubs`, above the image's start.
        const N_STAB: u8 = 0xe0;
        const N_TYPE: u8 = 0x0e;
        const N_SECT: u8 = 0x0e;
        let mut code = [false; 256];
        for section in &symtab.code_sections {
            if let Some(slot) = code.get_mut(*section) {
                *slot = true;
            }
        }
        let word = |bytes: [u8; 4]| {
            if be {
                u32::from_be_bytes(bytes)
            } else {
                u32::from_le_bytes(bytes)
            }
        };
        self.sparse.scan(symtab.nlist.clone(), chunk, |nlist| {
            for symbol in nlist.chunks_exact(entry) {
                // n_strx (4 bytes), n_type, n_sect, n_desc (2), n_value (4 or 8).
                let Some((head, value)) = symbol.split_first_chunk::<8>() else {
                    continue;
                };
                let [s0, s1, s2, s3, n_type, n_sect, _, _] = *head;
                if n_type & N_STAB != 0
                    || n_type & N_TYPE != N_SECT
                    || !code.get(usize::from(n_sect)).is_some_and(|c| *c)
                {
                    continue;
                }
                let value = match (
                    symtab.wide,
                    value.first_chunk::<8>(),
                    value.first_chunk::<4>(),
                ) {
                    (true, Some(v), _) if be => u64::from_be_bytes(*v),
                    (true, Some(v), _) => u64::from_le_bytes(*v),
                    (false, _, Some(v)) => u64::from(word(*v)),
                    _ => continue,
                };
                // Below the image, or above every wanted address: no bucket.
                if value < load_address || value > last {
                    continue;
                }
                let at = if value <= first {
                    0
                } else {
                    wanted.partition_point(|vm| *vm < value)
                };
                if let Some(slot) = buckets.get_mut(at) {
                    // Higher is better; at the same address, the first in the table's order.
                    if slot.is_none_or(|(best, _)| value > best) {
                        *slot = Some((value, word([s0, s1, s2, s3])));
                    }
                }
            }
        })?;
        let mut best = Vec::new();
        let mut below = None;
        for (vm, bucket) in wanted.iter().zip(buckets) {
            below = bucket.or(below);
            if let Some(found) = below {
                best.push((*vm, found));
            }
        }
        for (vm, (address, strx)) in best {
            let start = symtab.strings.start.saturating_add(strx as usize);
            if start >= symtab.strings.end {
                continue;
            }
            let mut end = start;
            // A name up to MAX_STRING, read a page at a time.
            while end < symtab.strings.end && end - start < MAX_STRING {
                let next = end.saturating_add(4096).min(symtab.strings.end);
                self.sparse.fill(end..next)?;
                if let Some(nul) = self
                    .sparse
                    .bytes()
                    .get(end..next)
                    .and_then(|b| b.iter().position(|&c| c == 0))
                {
                    end = end.saturating_add(nul);
                    break;
                }
                end = next;
            }
            let name = self
                .sparse
                .bytes()
                .get(start..end)
                .map(|b| String::from_utf8_lossy(b).into_owned())
                .unwrap_or_default();
            // Leading underscores of mangled names are stripped, as symbolic strips them, but
            // for Swift's hidden names.
            let name = match name.strip_prefix('_') {
                Some(tail) if !name.starts_with("__hidden#") => tail.to_owned(),
                _ => name,
            };
            self.meta.symbols.insert(vm, Some((address, name)));
        }
        Ok(())
    }
}

/// The most address ranges of `__debug_aranges` looked at for one address, backwards from the
/// last that starts at or before it.
const MAX_RANGES_LOOKED_AT: usize = 256;

/// The most units taken to cover one address (a real dSYM has one, or a few under LTO).
const MAX_UNITS_AT: usize = 8;

impl Meta {
    /// The units `__debug_aranges` says cover `vm`, in the order listed (by start). Found from
    /// the last range that starts at or before `vm`, backwards: in a real dSYM the ranges do not
    /// overlap and the first one looked at is the one (a few, under LTO). Hostile aranges, many
    /// ranges over one address, cost at most [`MAX_RANGES_LOOKED_AT`] ranges and
    /// [`MAX_UNITS_AT`] units per address (review finding: every range was scanned and every
    /// unit named was parsed, for every address: 41 s for a 1.5 MB file).
    fn units_at(&self, vm: u64) -> Vec<usize> {
        let before = self.aranges.partition_point(|(start, _, _)| *start <= vm);
        let mut found: Vec<(u64, usize)> = Vec::new();
        let candidates = self
            .aranges
            .get(..before)
            .unwrap_or_default()
            .iter()
            .rev()
            .take(MAX_RANGES_LOOKED_AT);
        for (start, end, unit) in candidates {
            if vm < *end && !found.iter().any(|(_, u)| u == unit) {
                found.push((*start, *unit));
                if found.len() == MAX_UNITS_AT {
                    break;
                }
            }
        }
        found.sort_by_key(|(start, _)| *start);
        found.into_iter().map(|(_, unit)| unit).collect()
    }
}

/// The object's sections, load address and symbol table, from its load commands; `None` when
/// the lazy path does not apply.
fn meta(bytes: &[u8], uuid: &str, arch: &str) -> Result<Option<Meta>, String> {
    let archive = Archive::parse(bytes).map_err(|e| format!("corrupt Mach-O file: {e}"))?;
    let object = archive
        .objects()
        .filter_map(Result::ok)
        .find(|obj| {
            obj.debug_id().uuid().hyphenated().to_string() == uuid && obj.arch().to_string() == arch
        })
        .ok_or("the file no longer holds this object (rebuilt since it was indexed?)")?;
    let Object::MachO(macho) = &object else {
        return Ok(None);
    };
    // Where symbolic takes each section from (its `Dwarf::section`), as positions in `bytes`:
    // the section's data is a slice of them.
    let base = bytes.as_ptr() as usize;
    let position = |data: &[u8]| -> Option<Range<usize>> {
        let start = (data.as_ptr() as usize).checked_sub(base)?;
        let end = start.checked_add(data.len())?;
        (end <= bytes.len()).then_some(start..end)
    };
    let mut sections = HashMap::new();
    for id in SECTIONS {
        let Some(name) = id.name().strip_prefix('.') else {
            continue;
        };
        let Some(section) = macho.section(name) else {
            continue;
        };
        let data = match &section.data {
            Cow::Borrowed(data) => *data,
            // Decompressed: not in the file as it is; the symcache path reads it.
            Cow::Owned(_) => return Ok(None),
        };
        if data.is_empty() {
            continue;
        }
        let Some(range) = position(data) else {
            return Ok(None);
        };
        sections.insert(id, range);
    }
    if !sections.contains_key(&SectionId::DebugInfo)
        || !sections.contains_key(&SectionId::DebugAranges)
    {
        return Ok(None);
    }
    let symtab = position(macho.data()).and_then(|slice| read::symtab(bytes, &slice));
    Ok(Some(Meta {
        endian: macho.endianity(),
        load_address: macho.load_address(),
        sections,
        symtab,
        aranges: Vec::new(),
        units: None,
        ensured: BTreeSet::new(),
        strings: std::collections::HashSet::new(),
        symbols: HashMap::new(),
    }))
}

/// `__debug_aranges` as (start, end, unit offset), by start; empty ranges left out.
fn aranges(view: &View<'_>) -> Vec<(u64, u64, usize)> {
    let mut out = Vec::new();
    let mut headers = view.dwarf.debug_aranges.headers();
    while let Ok(Some(header)) = headers.next() {
        let unit = header.debug_info_offset().0;
        let mut entries = header.entries();
        while let Ok(Some(entry)) = entries.next() {
            let range = entry.range();
            if range.begin < range.end {
                out.push((range.begin, range.end, unit));
            }
        }
    }
    out.sort_by_key(|(start, _, _)| *start);
    out
}

/// The `__debug_str` offsets the unit's root entry names, the `__debug_ranges` lists its
/// subprograms and inlined calls point to, and its line program's offset.
fn unit_references(view: &View<'_>, offset: usize) -> (Vec<usize>, Vec<usize>, Option<usize>) {
    let mut strings = Vec::new();
    let mut ranges = Vec::new();
    let mut line = None;
    let dwarf = &view.dwarf;
    let Ok(header) = dwarf.debug_info.header_from_offset(DebugInfoOffset(offset)) else {
        return (strings, ranges, line);
    };
    let Ok(abbrevs) = dwarf.abbreviations(&header) else {
        return (strings, ranges, line);
    };
    let Ok(mut entries) = header.entries_raw(&abbrevs, None) else {
        return (strings, ranges, line);
    };
    let mut str_offsets_base = gimli::DebugStrOffsetsBase::default_for_encoding_and_file(
        header.encoding(),
        gimli::DwarfFileType::Main,
    );
    let mut indexes = Vec::new();
    let mut root = true;
    while !entries.is_empty() {
        let Ok(Some(abbrev)) = entries.read_abbreviation() else {
            // A null entry ends a list of children; an error ends the walk.
            if entries.is_empty() {
                break;
            }
            continue;
        };
        // The root's attributes (its name, folder, line program, string offsets), and the
        // range lists of subprograms and inlined calls, which the walk reads; names are read
        // when a lookup asks for them.
        let tag = abbrev.tag();
        if !root
            && tag != constants::DW_TAG_subprogram
            && tag != constants::DW_TAG_inlined_subroutine
        {
            if entries.skip_attributes(abbrev.attributes()).is_err() {
                break;
            }
            continue;
        }
        for spec in abbrev.attributes() {
            let Ok(attr) = entries.read_attribute(*spec) else {
                return (strings, ranges, line);
            };
            match attr.value() {
                AttributeValue::DebugStrRef(o) if root => strings.push(o.0),
                AttributeValue::DebugStrOffsetsIndex(i) if root => indexes.push(i),
                AttributeValue::DebugStrOffsetsBase(base) => str_offsets_base = base,
                AttributeValue::DebugLineRef(o) if line.is_none() => line = Some(o.0),
                AttributeValue::RangeListsRef(o) => ranges.push(o.0),
                _ => {}
            }
        }
        root = false;
    }
    for index in indexes {
        if let Ok(o) =
            dwarf
                .debug_str_offsets
                .get_str_offset(header.format(), str_offsets_base, index)
        {
            strings.push(o.0);
        }
    }
    (strings, ranges, line)
}

/// The `__debug_str` offsets a line program's header names (DWARF 5 file tables).
fn line_strings(view: &View<'_>, unit: usize, line: usize) -> Vec<usize> {
    let dwarf = &view.dwarf;
    let Ok(header) = dwarf.debug_info.header_from_offset(DebugInfoOffset(unit)) else {
        return Vec::new();
    };
    let Ok(program) = dwarf.debug_line.program(
        gimli::DebugLineOffset(line),
        header.address_size(),
        None,
        None,
    ) else {
        return Vec::new();
    };
    let header = program.header();
    let mut out = Vec::new();
    let mut add = |value: &AttributeValue<Slice<'_>>| {
        if let AttributeValue::DebugStrRef(o) = value {
            out.push(o.0);
        }
    };
    for dir in header.include_directories() {
        add(dir);
    }
    for file in header.file_names() {
        add(&file.path_name());
    }
    out
}

/// The bytes read so far, as gimli sees them, and what lookups know: the lookups themselves,
/// which report what they found missing instead of reading zeros.
struct View<'a> {
    dwarf: gimli::Dwarf<Slice<'a>>,
    meta: &'a Meta,
    /// Units parsed, and their line programs' sequences, by unit offset: the addresses of a
    /// batch often share units.
    units: RefCell<HashMap<usize, Option<Rc<Unit<'a>>>>>,
    memo: &'a Memo,
}

/// What a batch of lookups learns that does not depend on what is read next: its addresses,
/// sorted, and by unit offset, each unit's walk for them and its line rows.
#[derive(Default)]
struct Memo {
    batch: Vec<u64>,
    /// The units `__debug_aranges` gives each address of the batch.
    units: Vec<Vec<usize>>,
    walks: RefCell<HashMap<usize, Rc<Walk>>>,
    lines: RefCell<HashMap<usize, Rc<Sequences>>>,
}

/// A line program's sequences: (start, end, rows), by start.
type Sequences = Vec<(u64, u64, Vec<Row>)>;

type Unit<'a> = gimli::Unit<Slice<'a>>;
type Die<'a> = gimli::DebuggingInformationEntry<Slice<'a>>;

/// A subprogram or inlined call met in the walk.
#[derive(Debug, Clone)]
struct Found {
    die: UnitOffset,
    ranges: Vec<gimli::Range>,
    depth: u32,
    call_file: Option<u64>,
    call_line: Option<u64>,
}

/// What the walk of a unit is in: subprograms only (the top, or under a subprogram or inlined
/// call without ranges), or the inside of a function, `inline_depth` calls deep.
#[derive(Debug, Clone, Copy)]
enum Mode {
    Functions,
    Inside {
        /// The function's index in [`Walk::functions`], when it is the first to hold one of
        /// the batch's addresses.
        function: Option<usize>,
        inline_depth: u32,
    },
}

/// What a walk of a unit found for a batch of addresses.
#[derive(Debug)]
struct Walk {
    /// The functions holding an address (each the first to).
    functions: Vec<Found>,
    /// The inlined calls holding an address, with their function's index.
    inlinees: Vec<(usize, Found)>,
    /// For each address of the batch, its function's index.
    of: Vec<Option<usize>>,
}

/// A line row: address, file index, line.
#[derive(Debug, Clone, Copy)]
struct Row {
    address: u64,
    file: u64,
    line: u64,
}

impl<'a> View<'a> {
    /// The frames at `vm` (a DWARF address); `None` when nothing names it, or something it needs
    /// is missing (then in `needs`).
    fn frames_at(&self, vm: u64, needs: &mut Needs) -> Option<Vec<Frame>> {
        for unit in self.meta.units_at(vm) {
            if !self.meta.ensured.contains(&unit) {
                needs.units.insert(unit);
                return None;
            }
            if let Some(frames) = self.in_unit(unit, vm, needs) {
                return frames;
            }
        }
        self.by_symbol(vm, needs)
    }

    /// An address no DWARF function holds: the nearest symbol at or below it, unless a DWARF
    /// function starting there ends before it.
    fn by_symbol(&self, vm: u64, needs: &mut Needs) -> Option<Vec<Frame>> {
        let Some(found) = self.meta.symbols.get(&vm) else {
            needs.symbols.insert(vm);
            return None;
        };
        let (address, name) = found.as_ref()?;
        for unit in self.meta.units_at(*address) {
            if !self.meta.ensured.contains(&unit) {
                needs.units.insert(unit);
                return None;
            }
            let Some(unit_data) = self.unit(unit) else {
                continue;
            };
            let walk = self.walk(&unit_data, &[*address], &[true]);
            if let Some(function) = walk.functions.first()
                && let Some(range) = function
                    .ranges
                    .iter()
                    .find(|r| r.begin <= *address && *address < r.end)
                && range.end <= vm
            {
                return None;
            }
        }
        Some(vec![Frame {
            name: demangle(name, Language::Unknown),
            entry: Some(address.wrapping_sub(self.meta.load_address)),
            inline: false,
            file: None,
            line: None,
        }])
    }

    fn unit(&self, offset: usize) -> Option<Rc<Unit<'a>>> {
        if let Some(unit) = self.units.borrow().get(&offset) {
            return unit.clone();
        }
        let unit = self
            .dwarf
            .debug_info
            .header_from_offset(DebugInfoOffset(offset))
            .ok()
            .and_then(|header| self.dwarf.unit(header).ok())
            .map(Rc::new);
        self.units.borrow_mut().insert(offset, unit.clone());
        unit
    }

    /// The frames at `vm` from the unit at `offset`: `None` when no function of it holds `vm`;
    /// `Some(None)` when one does but something is missing (in `needs`).
    fn in_unit(&self, offset: usize, vm: u64, needs: &mut Needs) -> Option<Option<Vec<Frame>>> {
        let unit = self.unit(offset)?;
        // Clang's linker may drop a unit's code and leave its low_pc 0 (symbolic skips those).
        let root = unit.entry(UnitOffset(unit.header.header_size())).ok();
        if unit.low_pc == 0
            && root
                .as_ref()
                .is_none_or(|r| r.attr(constants::DW_AT_ranges).is_none())
        {
            return None;
        }
        let unit_language = match root
            .as_ref()
            .and_then(|r| r.attr_value(constants::DW_AT_language))
        {
            Some(AttributeValue::Language(lang)) => language_from_dwarf(lang),
            _ => Language::Unknown,
        };
        let walk = self.walk_of(offset, &unit);
        let (function, inlinees) = self.found_at(&walk, vm)?;
        let range = *function
            .ranges
            .iter()
            .find(|r| r.begin <= vm && vm < r.end)?;
        let entry = unit.entry(function.die).ok()?;
        let language = self.language(&unit, &entry, unit_language, needs);
        // The symbol table's name first, as symbolic prefers it.
        let lowest = function.ranges.iter().map(|r| r.begin).min()?;
        let symbol = match self.meta.symbols.get(&lowest) {
            None => {
                needs.symbols.insert(lowest);
                None
            }
            Some(Some((address, name))) if *address == lowest => Some(name.clone()),
            Some(_) => None,
        };
        let outer_name = match symbol {
            Some(name) => Some(name),
            None => self.function_name(&unit, &entry, 0, needs),
        };
        let row = self.row_at(offset, &unit, range, vm);
        let comp_dir = unit
            .comp_dir
            .as_ref()
            .and_then(|d| std::str::from_utf8(d.slice()).ok())
            .map(str::to_owned);
        // The inlined calls holding both the address and its row's start, outermost first.
        let mut chain: Vec<&Found> = Vec::new();
        let row_start = row.map_or(vm, |r| r.address);
        for depth in 0.. {
            let Some(next) = inlinees.iter().find(|i| {
                i.depth == depth
                    && i.ranges.iter().any(|r| r.begin <= vm && vm < r.end)
                    && i.ranges
                        .iter()
                        .any(|r| r.begin <= row_start && row_start < r.end)
            }) else {
                break;
            };
            chain.push(next);
        }
        let mut frames = Vec::new();
        // Innermost first: its file and line are the row's; each outer one's, the call site of
        // the call inside it.
        let mut location = row.map(|r| (r.file, r.line));
        for call in chain.iter().rev() {
            let die = unit.entry(call.die).ok()?;
            let lang = self.language(&unit, &die, language, needs);
            let name = self
                .function_name(&unit, &die, 0, needs)
                .unwrap_or_default();
            let (file, line) = self.place(&unit, comp_dir.as_deref(), location);
            frames.push(Frame {
                name: demangle(&name, lang),
                entry: None,
                inline: true,
                file,
                line,
            });
            location = Some((
                call.call_file.unwrap_or(u64::MAX),
                call.call_line.unwrap_or(0),
            ));
        }
        let (file, line) = self.place(&unit, comp_dir.as_deref(), location);
        frames.push(Frame {
            name: demangle(&outer_name.unwrap_or_default(), language),
            entry: Some(range.begin.wrapping_sub(self.meta.load_address)),
            inline: false,
            file,
            line,
        });
        Some(if needs.is_empty() { Some(frames) } else { None })
    }

    /// File and line of a location (file index, line), as symcache gives them: the path joined
    /// with the compilation folder and cleaned, none when empty; line 0 is none. No location
    /// (an address before the function's first row): neither.
    fn place(
        &self,
        unit: &Unit<'a>,
        comp_dir: Option<&str>,
        location: Option<(u64, u64)>,
    ) -> (Option<String>, Option<u64>) {
        let Some((file, line)) = location else {
            return (None, None);
        };
        let (dir, name) = self.file_entry(unit, file);
        let prefix = symbolic_common::join_path(comp_dir.unwrap_or_default(), &dir);
        let path = symbolic_common::join_path(&prefix, &name);
        let path = symbolic_common::clean_path(&path).into_owned();
        (
            Some(path).filter(|p| !p.is_empty()),
            (line > 0).then_some(line),
        )
    }

    /// A line-program file's folder and name (empty when there is no such file).
    fn file_entry(&self, unit: &Unit<'a>, index: u64) -> (String, String) {
        let Some(program) = &unit.line_program else {
            return Default::default();
        };
        let header = program.header();
        let Some(file) = header.file(index) else {
            return Default::default();
        };
        let string = |value: Option<AttributeValue<Slice<'a>>>| {
            value
                .and_then(|v| self.dwarf.attr_string(unit, v).ok())
                .map(|s| String::from_utf8_lossy(s.slice()).into_owned())
                .unwrap_or_default()
        };
        (
            string(file.directory(header)),
            string(Some(file.path_name())),
        )
    }

    /// The line row holding `vm` among those of the function range `range` (symbolic's
    /// `get_rows` and `add_leaf_line`): rows from the range's start, in the first sequence
    /// overlapping it.
    fn row_at(&self, offset: usize, unit: &Unit<'a>, range: gimli::Range, vm: u64) -> Option<Row> {
        let cached = self.memo.lines.borrow().get(&offset).cloned();
        let sequences = match cached {
            Some(sequences) => sequences,
            None => {
                let sequences =
                    Rc::new(unit.line_program.clone().map(sequences).unwrap_or_default());
                self.memo
                    .lines
                    .borrow_mut()
                    .insert(offset, Rc::clone(&sequences));
                sequences
            }
        };
        let sequence = sequences
            .iter()
            .find(|(start, end, _)| range.begin < *end && *start < range.end)?;
        sequence
            .2
            .iter()
            .rfind(|r| r.address >= range.begin && r.address < range.end && r.address <= vm)
            .copied()
    }

    /// The walk of the unit at `offset` for the batch's addresses, once per unit.
    fn walk_of(&self, offset: usize, unit: &Unit<'a>) -> Rc<Walk> {
        if let Some(walk) = self.memo.walks.borrow().get(&offset) {
            return Rc::clone(walk);
        }
        let belongs: Vec<bool> = self
            .memo
            .units
            .iter()
            .map(|units| units.contains(&offset))
            .collect();
        let walk = Rc::new(self.walk(unit, &self.memo.batch, &belongs));
        self.memo
            .walks
            .borrow_mut()
            .insert(offset, Rc::clone(&walk));
        walk
    }

    /// For each address of `vms` (sorted), the subprogram of `unit` holding it, and the inlined
    /// calls under those subprograms holding any of them, as symbolic's walk finds them; one
    /// pass, no recursion.
    ///
    /// It stops once every address `__debug_aranges` puts in this unit (`belongs`) has its
    /// function and that function's entries are passed: a later function holding one of them
    /// would not count (the first does), and the rest of the unit is no one's.
    fn walk(&self, unit: &Unit<'a>, vms: &[u64], belongs: &[bool]) -> Walk {
        let mut walk = Walk {
            functions: Vec::new(),
            inlinees: Vec::new(),
            of: vec![None; vms.len()],
        };
        let Ok(mut entries) = unit.entries_raw(None) else {
            return walk;
        };
        let mut pending = belongs.iter().filter(|b| **b).count();
        // The depth of the function that took the last pending address: its entries end the
        // walk.
        let mut done_at: Option<isize> = None;
        // The indexes in `vms` of the addresses `ranges` hold.
        let held = |ranges: &[gimli::Range]| -> Vec<usize> {
            let mut out = Vec::new();
            for r in ranges {
                let from = vms.partition_point(|vm| *vm < r.begin);
                let to = vms.partition_point(|vm| *vm < r.end);
                out.extend(from..to);
            }
            out
        };
        // (depth, mode) of the open subprograms and inlined calls.
        let mut stack: Vec<(isize, Mode)> = vec![(-1, Mode::Functions)];
        while !entries.is_empty() {
            let die = entries.next_offset();
            let depth = entries.next_depth();
            if done_at.is_some_and(|d| depth <= d) {
                break;
            }
            while stack.last().is_some_and(|(d, _)| depth <= *d) {
                stack.pop();
            }
            let mode = stack.last().map_or(Mode::Functions, |(_, m)| *m);
            let Ok(abbrev) = entries.read_abbreviation() else {
                break;
            };
            let Some(abbrev) = abbrev else { continue };
            let tag = abbrev.tag();
            let inlined =
                tag == constants::DW_TAG_inlined_subroutine && matches!(mode, Mode::Inside { .. });
            if tag != constants::DW_TAG_subprogram && !inlined {
                if entries.skip_attributes(abbrev.attributes()).is_err() {
                    break;
                }
                continue;
            }
            let Ok((mut ranges, call_file, call_line)) = self.ranges(unit, &mut entries, abbrev)
            else {
                break;
            };
            ranges.retain(|r| r.begin < r.end);
            if ranges.is_empty() {
                stack.push((depth, Mode::Functions));
                continue;
            }
            let holds = held(&ranges);
            match mode {
                Mode::Inside {
                    function,
                    inline_depth,
                } if inlined => {
                    if let Some(function) = function
                        && !holds.is_empty()
                    {
                        walk.inlinees.push((
                            function,
                            Found {
                                die,
                                ranges,
                                depth: inline_depth,
                                call_file,
                                call_line,
                            },
                        ));
                    }
                    stack.push((
                        depth,
                        Mode::Inside {
                            function,
                            inline_depth: inline_depth.saturating_add(1),
                        },
                    ));
                }
                _ => {
                    // The first function holding an address; a later one (a duplicate) does
                    // not count for it.
                    let mut first = false;
                    for i in holds {
                        if let Some(slot) = walk.of.get_mut(i)
                            && slot.is_none()
                        {
                            *slot = Some(walk.functions.len());
                            first = true;
                            if belongs.get(i).is_some_and(|b| *b) {
                                pending = pending.saturating_sub(1);
                                if pending == 0 {
                                    done_at = Some(depth);
                                }
                            }
                        }
                    }
                    let function = first.then_some(walk.functions.len());
                    if first {
                        walk.functions.push(Found {
                            die,
                            ranges,
                            depth: 0,
                            call_file: None,
                            call_line: None,
                        });
                    }
                    stack.push((
                        depth,
                        Mode::Inside {
                            function,
                            inline_depth: 0,
                        },
                    ));
                }
            }
        }
        walk
    }

    /// The function and inlined calls the walk found for `vm` (one of the batch's addresses).
    fn found_at(&self, walk: &Walk, vm: u64) -> Option<(Found, Vec<Found>)> {
        let index = self.memo.batch.binary_search(&vm).ok()?;
        let function = (*walk.of.get(index)?)?;
        let found = walk.functions.get(function)?.clone();
        let holds = |f: &Found| f.ranges.iter().any(|r| r.begin <= vm && vm < r.end);
        let inlinees = walk
            .inlinees
            .iter()
            .filter(|(f, i)| *f == function && holds(i))
            .map(|(_, i)| i.clone())
            .collect();
        Some((found, inlinees))
    }

    /// An entry's ranges and call site (symbolic's `parse_ranges`): `DW_AT_ranges` (entries
    /// starting at 0 dropped), else `DW_AT_low_pc` / `DW_AT_high_pc` (none when low_pc is 0 or
    /// a tombstone, or equals high_pc).
    fn ranges(
        &self,
        unit: &Unit<'a>,
        entries: &mut gimli::EntriesRaw<'_, Slice<'a>>,
        abbrev: &gimli::Abbreviation,
    ) -> gimli::Result<(Vec<gimli::Range>, Option<u64>, Option<u64>)> {
        let mut out = Vec::new();
        let (mut low, mut high, mut size) = (None, None, None);
        let (mut call_file, mut call_line) = (None, None);
        for spec in abbrev.attributes() {
            let attr = entries.read_attribute(*spec)?;
            match attr.name() {
                constants::DW_AT_low_pc => match attr.value() {
                    AttributeValue::Addr(a) => low = Some(a),
                    AttributeValue::DebugAddrIndex(i) => low = Some(self.dwarf.address(unit, i)?),
                    _ => return Err(gimli::Error::UnsupportedAttributeForm(attr.form())),
                },
                constants::DW_AT_high_pc => match attr.value() {
                    AttributeValue::Addr(a) => high = Some(a),
                    AttributeValue::DebugAddrIndex(i) => {
                        high = Some(self.dwarf.address(unit, i)?);
                    }
                    AttributeValue::Udata(s) => size = Some(s),
                    _ => return Err(gimli::Error::UnsupportedAttributeForm(attr.form())),
                },
                constants::DW_AT_call_line => match attr.value() {
                    AttributeValue::Udata(l) => call_line = Some(l),
                    _ => return Err(gimli::Error::UnsupportedAttributeForm(attr.form())),
                },
                constants::DW_AT_call_file => match attr.value() {
                    AttributeValue::FileIndex(f) => call_file = Some(f),
                    _ => return Err(gimli::Error::UnsupportedAttributeForm(attr.form())),
                },
                constants::DW_AT_ranges
                | constants::DW_AT_rnglists_base
                | constants::DW_AT_start_scope => {
                    if let Some(mut ranges) = self.dwarf.attr_ranges(unit, attr.value())? {
                        loop {
                            match ranges.next() {
                                Ok(Some(range)) => {
                                    if range.begin > 0 {
                                        out.push(range);
                                    }
                                }
                                Ok(None) | Err(gimli::Error::InvalidCfiSetLoc(_)) => break,
                                Err(e) => return Err(e),
                            }
                        }
                    }
                }
                _ => {}
            }
        }
        if out.is_empty()
            && let Some(low) = low.filter(|l| *l != 0)
        {
            let high = high.or_else(|| size.map(|s| low.wrapping_add(s)));
            if let Some(high) = high
                && low != high
                && low != u64::MAX
                && low != u64::MAX - 1
            {
                // An inverted range fails symbolic's whole conversion; here it is no range.
                if low > high {
                    return Ok((out, call_file, call_line));
                }
                out.push(gimli::Range {
                    begin: low,
                    end: high,
                });
            }
        }
        Ok((out, call_file, call_line))
    }

    /// The entry at a reference, in this unit or another (`None` when its unit is not read yet:
    /// then in `needs`).
    fn follow<T>(
        &self,
        unit: &Unit<'a>,
        value: AttributeValue<Slice<'a>>,
        needs: &mut Needs,
        then: impl FnOnce(&Unit<'a>, &Die<'a>, bool) -> Option<T>,
    ) -> Option<T> {
        match value {
            AttributeValue::UnitRef(offset) => {
                let die = unit.entry(offset).ok()?;
                then(unit, &die, false)
            }
            AttributeValue::DebugInfoRef(offset) => {
                let Some(units) = &self.meta.units else {
                    needs.unit_table = true;
                    return None;
                };
                let index = units.partition_point(|u| *u <= offset.0).checked_sub(1)?;
                let start = *units.get(index)?;
                if !self.meta.ensured.contains(&start) {
                    needs.units.insert(start);
                    return None;
                }
                let other = self.unit(start)?;
                let at = gimli::UnitSectionOffset(offset.0).to_unit_offset(&other)?;
                let die = other.entry(at).ok()?;
                then(&other, &die, start != unit.header.offset().0)
            }
            _ => None,
        }
    }

    /// symbolic's `resolve_function_name`: the linkage name, else `DW_AT_name`, else the name
    /// of what `DW_AT_abstract_origin` / `DW_AT_specification` points to.
    fn function_name(
        &self,
        unit: &Unit<'a>,
        entry: &Die<'a>,
        depth: u8,
        needs: &mut Needs,
    ) -> Option<String> {
        if depth > MAX_REFERENCE_DEPTH {
            return None;
        }
        let mut fallback = None;
        let mut reference = None;
        for attr in entry.attrs() {
            match attr.name() {
                constants::DW_AT_linkage_name | constants::DW_AT_MIPS_linkage_name => {
                    return self.string(unit, attr.value(), needs);
                }
                constants::DW_AT_name => fallback = Some(attr.value()),
                constants::DW_AT_abstract_origin | constants::DW_AT_specification => {
                    reference = Some(attr.value());
                }
                _ => {}
            }
        }
        if let Some(value) = fallback {
            return self.string(unit, value, needs);
        }
        let here = entry.offset();
        let mut inner = Needs::default();
        let found = self.follow(unit, reference?, needs, |other, target, across| {
            // An entry pointing at itself names nothing.
            if !across && target.offset() == here {
                return None;
            }
            self.function_name(other, target, depth.saturating_add(1), &mut inner)
        });
        merge(needs, inner);
        found
    }

    /// symbolic's `resolve_function_language`: through `DW_AT_abstract_origin` chains, the
    /// language of the unit the chain ends in when that is another unit; else `fallback`.
    fn language(
        &self,
        unit: &Unit<'a>,
        entry: &Die<'a>,
        fallback: Language,
        needs: &mut Needs,
    ) -> Language {
        self.origin_language(unit, entry, MAX_REFERENCE_DEPTH, needs)
            .unwrap_or(fallback)
    }

    fn origin_language(
        &self,
        unit: &Unit<'a>,
        entry: &Die<'a>,
        depth: u8,
        needs: &mut Needs,
    ) -> Option<Language> {
        if depth == 0 {
            return None;
        }
        let origin = entry.attr_value(constants::DW_AT_abstract_origin)?;
        let mut inner = Needs::default();
        let found = self.follow(unit, origin, needs, |other, target, across| {
            if let Some(lang) = self.origin_language(other, target, depth - 1, &mut inner) {
                return Some(lang);
            }
            if !across {
                return None;
            }
            let root = other.entry(UnitOffset(other.header.header_size())).ok()?;
            match root.attr_value(constants::DW_AT_language) {
                Some(AttributeValue::Language(lang)) => Some(language_from_dwarf(lang)),
                _ => None,
            }
        });
        merge(needs, inner);
        found
    }

    /// A string attribute's value; `None` when it is not a string, or (then in `needs`) not
    /// read yet.
    fn string(
        &self,
        unit: &Unit<'a>,
        value: AttributeValue<Slice<'a>>,
        needs: &mut Needs,
    ) -> Option<String> {
        let offset = match value {
            AttributeValue::DebugStrRef(o) => Some(o.0),
            AttributeValue::DebugStrOffsetsIndex(i) => {
                Some(self.dwarf.string_offset(unit, i).ok()?.0)
            }
            _ => None,
        };
        if let Some(offset) = offset
            && !self.meta.strings.contains(&offset)
        {
            needs.strings.insert(offset);
            return None;
        }
        self.dwarf
            .attr_string(unit, value)
            .ok()
            .map(|s| String::from_utf8_lossy(s.slice()).into_owned())
    }
}

fn merge(into: &mut Needs, from: Needs) {
    into.units.extend(from.units);
    into.unit_table |= from.unit_table;
    into.symbols.extend(from.symbols);
    into.strings.extend(from.strings);
}

/// A line program's sequences as symbolic prepares them (`DwarfLineProgram::prepare`): rows at
/// address 0 dropped, a row at the address of the one before replacing it, rows going backwards
/// dropped; (start, end, rows), by start.
fn sequences(program: gimli::IncompleteLineProgram<Slice<'_>>) -> Sequences {
    let mut sequences = Vec::new();
    let mut rows: Vec<Row> = Vec::new();
    let mut previous: u64 = 0;
    let mut machine = program.rows();
    while let Ok(Some((_, row))) = machine.next_row() {
        let address = row.address();
        if address == 0 {
            continue;
        }
        if row.end_sequence() {
            if let Some(first) = rows.first() {
                let start = first.address;
                let end = if address < previous {
                    previous.saturating_add(1)
                } else {
                    address
                };
                sequences.push((start, end, std::mem::take(&mut rows)));
            }
            previous = 0;
        } else if address < previous {
            // "Within a sequence, addresses may only increase": an invalid row.
        } else {
            let file = row.file_index();
            let line = row.line().map_or(0, |l| l.get());
            match rows.last_mut() {
                Some(last) if last.address == address => {
                    last.file = file;
                    last.line = line;
                }
                _ => rows.push(Row {
                    address,
                    file,
                    line,
                }),
            }
            previous = address;
        }
    }
    if let Some(first) = rows.first() {
        let start = first.address;
        sequences.push((start, previous.saturating_add(1), rows));
    }
    sequences.sort_by_key(|(start, _, _)| *start);
    sequences
}

/// symbolic's mapping of DWARF languages (what demangling goes by).
fn language_from_dwarf(language: gimli::DwLang) -> Language {
    match language {
        constants::DW_LANG_C
        | constants::DW_LANG_C11
        | constants::DW_LANG_C89
        | constants::DW_LANG_C99 => Language::C,
        constants::DW_LANG_C_plus_plus
        | constants::DW_LANG_C_plus_plus_03
        | constants::DW_LANG_C_plus_plus_11
        | constants::DW_LANG_C_plus_plus_14 => Language::Cpp,
        constants::DW_LANG_D => Language::D,
        constants::DW_LANG_Go => Language::Go,
        constants::DW_LANG_ObjC => Language::ObjC,
        constants::DW_LANG_ObjC_plus_plus => Language::ObjCpp,
        constants::DW_LANG_Rust => Language::Rust,
        constants::DW_LANG_Swift => Language::Swift,
        _ => Language::Unknown,
    }
}

/// Demangles as the symcache path does: the name with its language, mangling unknown.
fn demangle(name: &str, language: Language) -> String {
    super::demangle(Name::new(name, NameMangling::Unknown, language))
}

#[cfg(test)]
mod tests {
    use super::*;
    use symbolic_symcache::{SymCache, SymCacheConverter};

    use crate::symbols::testing::{GENERATED, fixture, generated, generated_dwarf};

    /// The arm64 fixture dSYM's DWARF file: its bytes, UUID and architecture.
    fn arm64_fixture() -> (Vec<u8>, String, String) {
        let name = "AGXMetalG16X.arm64.dSYM/Contents/Resources/DWARF/AGXMetalG16X.arm64";
        let whole = std::fs::read(fixture(name)).unwrap();
        let (uuid, arch) = uuid_and_arch(&whole);
        (whole, uuid, arch)
    }

    /// The UUID and architecture of the first object in `bytes`.
    fn uuid_and_arch(bytes: &[u8]) -> (String, String) {
        let archive = Archive::parse(bytes).unwrap();
        let object = archive.objects().next().unwrap().unwrap();
        (
            object.debug_id().uuid().hyphenated().to_string(),
            object.arch().to_string(),
        )
    }

    /// For every object with debug information in the file at `path`: the frames the lazy path
    /// gives at each address (every `step` bytes up to past the last symbol, and each symbol's
    /// start and the byte before it) against those of a symcache built from the whole file, the
    /// way the symcache path builds it. Returns how many addresses were compared and named.
    fn compare(path: &Path, step: u64) -> (usize, usize) {
        let whole = std::fs::read(path).unwrap();
        let archive = Archive::parse(&whole).unwrap();
        let (mut compared, mut named) = (0, 0);
        for object in archive.objects() {
            let object = object.unwrap();
            if !object.has_debug_info() {
                continue;
            }
            let uuid = object.debug_id().uuid().hyphenated().to_string();
            let arch = object.arch().to_string();
            let mut converter = SymCacheConverter::new();
            converter.process_object(&object).unwrap();
            let mut bytes = Vec::new();
            converter.serialize(&mut bytes).unwrap();
            let cache = SymCache::parse(&bytes).unwrap();
            let load = object.load_address();
            let mut probes: BTreeSet<u64> = BTreeSet::new();
            let mut last = 0;
            for symbol in object.symbols() {
                let at = symbol.address.saturating_sub(load);
                last = last.max(at);
                probes.extend([at, at.saturating_sub(1), at + 1, at + 4]);
            }
            probes.extend((0..last + 256).step_by(usize::try_from(step).unwrap()));
            let probes: Vec<u64> = probes.into_iter().collect();
            let mut lazy = Lazy::open(path, &uuid, &arch).unwrap().unwrap();
            let frames = lazy.lookup(&probes).unwrap();
            let mut wrong = Vec::new();
            for (probe, lazy_frames) in probes.iter().zip(frames) {
                let expected = super::super::symcache_frames(&cache, *probe);
                if lazy_frames != expected {
                    wrong.push((*probe, lazy_frames, expected));
                }
                compared += 1;
            }
            named += probes
                .iter()
                .filter(|p| super::super::symcache_frames(&cache, **p).is_some())
                .count();
            assert!(
                wrong.is_empty(),
                "{arch}: {} of {} addresses differ, the first: {:#?}",
                wrong.len(),
                probes.len(),
                wrong.iter().take(3).collect::<Vec<_>>()
            );
        }
        (compared, named)
    }

    /// The fixtures' dSYMs (arm64, x86_64, a universal one), every address: the lazy path names
    /// each as the symcache does, inlined frames, files and lines included.
    #[test]
    fn the_fixtures_frames_are_the_symcaches_at_every_address() {
        for name in [
            "AGXMetalG16X.arm64.dSYM/Contents/Resources/DWARF/AGXMetalG16X.arm64",
            "AGXMetalG16X.x86_64.dSYM/Contents/Resources/DWARF/AGXMetalG16X.x86_64",
            "AGXMetalG16X.dSYM/Contents/Resources/DWARF/AGXMetalG16X",
        ] {
            let (compared, named) = compare(&fixture(name), 1);
            assert!(
                named > 0 && compared > named,
                "{name}: {named} of {compared}"
            );
        }
    }

    /// The generated dSYM (templates, lambdas, inlined helpers in many units): the lazy path
    /// names every sampled address as the symcache does, reading a fraction of the file.
    #[test]
    fn the_generated_dsyms_frames_are_the_symcaches() {
        let Some(dir) = generated() else { return };
        let path = dir.path().join(GENERATED);
        let (compared, named) = compare(&path, 5);
        assert!(named > 1000, "{named} of {compared}");
        let whole = std::fs::metadata(&path).unwrap().len();
        let uuid_arch = uuid_and_arch(&std::fs::read(&path).unwrap());
        // One address: its unit, line program and strings, and the small sections.
        let mut lazy = Lazy::open(&path, &uuid_arch.0, &uuid_arch.1)
            .unwrap()
            .unwrap();
        let frames = lazy.lookup(&[0x600]).unwrap();
        assert!(frames.first().unwrap().is_some(), "{frames:?}");
        assert!(
            lazy.bytes_read() < whole / 3,
            "read {} of {whole}",
            lazy.bytes_read()
        );
    }

    /// The generated dSYM in DWARF 5, as Xcode 16 writes it for macOS 15: addresses through
    /// `.debug_addr` (`DW_FORM_addrx`), names through `.debug_str_offsets` (`DW_FORM_strx`),
    /// ranges in `.debug_rnglists`, line tables naming files from index 0 with their paths in
    /// `.debug_line_str`. The lazy path names every sampled address as the symcache does.
    #[test]
    fn the_generated_dwarf5_dsyms_frames_are_the_symcaches() {
        let Some(dir) = generated_dwarf(5) else {
            return;
        };
        let path = dir.path().join(GENERATED);
        let bytes = std::fs::read(&path).unwrap();
        // It is DWARF 5: the first unit's header says so (after its 4-byte length).
        let archive = Archive::parse(&bytes).unwrap();
        let object = archive.objects().next().unwrap().unwrap();
        let symbolic_debuginfo::Object::MachO(macho) = &object else {
            panic!("not a Mach-O");
        };
        let info = macho.section("debug_info").unwrap().data;
        assert_eq!(info.get(4..6), Some(&[5u8, 0][..]), "not DWARF 5");
        let (compared, named) = compare(&path, 5);
        assert!(named > 1000, "{named} of {compared}");
    }

    /// Hostile units: a unit claiming 4 GiB (and one claiming a 64-bit length of 2^63) in a
    /// small file is read to its section's end, never further, and names nothing wrongly.
    #[test]
    fn a_unit_claiming_a_huge_size_reads_at_most_its_section() {
        let (whole, uuid, arch) = arm64_fixture();
        let archive = Archive::parse(&whole).unwrap();
        let object = archive.objects().next().unwrap().unwrap();
        let Object::MachO(macho) = &object else {
            panic!("not Mach-O")
        };
        let info = macho.section("debug_info").unwrap();
        let at = info.data.as_ptr() as usize - whole.as_ptr() as usize;
        for length in [
            &[0xf0u8, 0xff, 0xff, 0xff][..],
            &[0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0, 0, 0, 0, 0x80],
        ] {
            let mut hostile = whole.clone();
            hostile[at..at + length.len()].copy_from_slice(length);
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("hostile");
            std::fs::write(&path, &hostile).unwrap();
            let mut lazy = Lazy::open(&path, &uuid, &arch).unwrap().unwrap();
            let probes: Vec<u64> = (0..0x4000).step_by(4).collect();
            lazy.lookup(&probes).unwrap();
            assert!(lazy.bytes_read() <= hostile.len() as u64);
        }
    }

    /// Corrupt DWARF: bytes of the fixture's `__debug_info`, `__debug_line`, `__debug_abbrev`,
    /// `__debug_aranges` and `__debug_ranges` overwritten at seeded places, one file per place.
    /// Every lookup ends (with frames, none, or an error), without a panic, reading no more than
    /// the file.
    #[test]
    fn corrupt_dwarf_never_panics() {
        let (whole, uuid, arch) = arm64_fixture();
        let archive = Archive::parse(&whole).unwrap();
        let object = archive.objects().next().unwrap().unwrap();
        let Object::MachO(macho) = &object else {
            panic!("not Mach-O")
        };
        let mut ranges = Vec::new();
        for section in [
            "debug_info",
            "debug_line",
            "debug_abbrev",
            "debug_aranges",
            "debug_ranges",
        ] {
            if let Some(s) = macho.section(section) {
                let at = s.data.as_ptr() as usize - whole.as_ptr() as usize;
                ranges.push(at..at + s.data.len());
            }
        }
        assert!(ranges.len() >= 4, "{ranges:?}");
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("corrupt");
        let probes: Vec<u64> = (0..0x1000).step_by(8).collect();
        // A small linear congruential generator: the same places every run.
        let mut seed: u64 = 17;
        let mut next = || {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            seed >> 33
        };
        for round in 0..200 {
            let mut corrupt = whole.clone();
            let range = &ranges[round % ranges.len()];
            for _ in 0..4 {
                let at = range.start + (next() as usize) % range.len();
                corrupt[at] = [0x00, 0xff, 0x80, 0x7f][(next() % 4) as usize];
            }
            std::fs::write(&path, &corrupt).unwrap();
            if let Ok(Some(mut lazy)) = Lazy::open(&path, &uuid, &arch) {
                let _ = lazy.lookup(&probes);
                assert!(lazy.bytes_read() <= corrupt.len() as u64);
            }
        }
    }

    /// A symbol file rewritten between two lookups is refused, not read as a mix of versions.
    #[test]
    fn a_file_that_changes_between_lookups_is_refused() {
        let (whole, uuid, arch) = arm64_fixture();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("dsym");
        std::fs::write(&path, &whole).unwrap();
        let mut lazy = Lazy::open(&path, &uuid, &arch).unwrap().unwrap();
        assert!(lazy.lookup(&[0x100]).is_ok());
        let mut longer = whole.clone();
        longer.extend_from_slice(b"appended");
        std::fs::write(&path, &longer).unwrap();
        let why = lazy.lookup(&[0x200]).unwrap_err();
        assert!(why.contains("changed while it was read"), "{why}");
    }
}
