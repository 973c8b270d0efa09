//! Naming unnamed frames from Mach-O binaries and dSYMs.
//!
//! Reports usually carry symbols, but not always (`AGXMetal13_3  0x1fddc171c 0x1fdbc0000 +
//! 2103068`), and an unnamed driver frame is exactly where the known race hides. `--symbols`
//! points at binaries (thin or universal), dSYM bundles and their DWARF files; they are indexed
//! by UUID and architecture, and a frame is named only when its image's UUID matches. A UUID
//! mismatch names nothing and says so: a wrong symbol is worse than none.
//!
//! A file with debug information (a dSYM's DWARF) is looked up lazily (module `dwarf`): each
//! frame's address goes through `__debug_aranges` to its compile unit, and only that unit, its
//! line program and the strings it names are read and walked, the frames built the way the
//! symcache path builds them. Converting the whole DWARF into a symcache instead cost seconds and
//! three times the DWARF's size in memory for a 202 MiB dSYM, on the first command after every
//! build, to name a few dozen frames; the lazy lookup costs tens of milliseconds on every command
//! (docs/performance.md), so nothing is cached for it. A report's frames are looked up in one
//! batch per file, and what was read is kept in the index for the next report.
//!
//! A binary without debug information (a symbol table only) goes through a symcache
//! (symbolic-symcache), built once per UUID and architecture and kept on disk, keyed by what
//! identifies one version of the source file (its path, size, modification and status-change
//! times, device and inode: see `cache_key`) so that a rebuilt file is cached anew, and found
//! without reading the symbol file at all; so does a dSYM the lazy path does not take (no
//! `__debug_aranges`, compressed sections). Building one is the slow step; the caller hears of it
//! through [`SymbolIndex::observe`], to show progress.
//!
//! The cache folder is not trusted: a symcache found there is used only when its own debug id and
//! architecture are those of the object it stands for (else it is rebuilt, with a warning), and
//! new ones are written through exclusively created temporaries, never through a predictable name
//! a symlink could redirect. Symbol files are never mapped where others can change them: a mapped
//! file that shrinks under us would kill the process with SIGBUS. They are read, and only in the
//! parts a step needs (module `read`): indexing reads the load commands, a few kilobytes
//! whatever the file's size.

pub mod atos;
mod dwarf;
mod read;
mod rewrite;
#[cfg(test)]
mod testing;

pub use rewrite::{RewriteError, ips_with_symbols};

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use serde::Serialize;
use sha2::{Digest, Sha256};
use symbolic_common::{ByteView, Name};
use symbolic_debuginfo::{Archive, FileFormat, Object};
use symbolic_demangle::{Demangle, DemangleOptions};
use symbolic_symcache::{SymCache, SymCacheConverter};
use thiserror::Error;

use crate::report::{Frame, Image, Report, SymbolSource, Warning};

/// Why symbols could not be set up. A file that looks like Mach-O but cannot be read is not an
/// error: it is listed in [`SymbolIndex::problems`].
#[derive(Debug, Error)]
pub enum SymbolsError {
    /// A `--symbols` path does not exist.
    #[error("cannot read symbols path {path}: {source}")]
    Read {
        /// The path as given.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
    /// The symcache folder could not be created.
    #[error("cannot create the symbol cache folder {path}: {source}")]
    Cache {
        /// The folder.
        path: PathBuf,
        /// The operating system's error.
        source: std::io::Error,
    },
}

/// One object (one architecture of one file) in the index.
#[derive(Debug, Clone, Serialize)]
pub struct IndexedObject {
    /// Lower-case hyphenated UUID, as reports write it.
    pub uuid: String,
    /// The slice's architecture as symbolic names it (`arm64e`, `arm64`, `x86_64`).
    pub arch: String,
    /// The file that holds it: a binary, or the DWARF file inside a dSYM bundle.
    pub path: PathBuf,
    /// Whether it carries debug information, as a dSYM's DWARF file does: inlined functions and
    /// source lines as well as names. Preferred over a bare symbol table for the same UUID.
    pub has_debug_info: bool,
    /// Whether it has a symbol table: function names only.
    pub has_symbols: bool,
    /// The image name it is for (`AGXMetalG16X` for `AGXMetalG16X.arm64` or
    /// `AGXMetalG16X.dSYM/.../AGXMetalG16X`), to say which UUIDs were found when none matches.
    pub image: String,
    /// The driver version, from the bundle's Info.plist, when the file is in a bundle.
    pub bundle_version: Option<String>,
    /// The symcache's key: UUID, arch, and a digest of what identifies this version of the
    /// file (`cache_key`).
    #[serde(skip)]
    key: String,
    /// The file's version when it was indexed.
    #[serde(skip)]
    stamp: read::Stamp,
}

impl IndexedObject {
    /// What a report that needed this file says when the file names nothing: which file, and
    /// why.
    fn no_symbols(&self, why: impl std::fmt::Display) -> String {
        format!(
            "no symbols from {} ({} {}): {why}",
            self.path.display(),
            self.uuid,
            self.arch
        )
    }
}

/// What [`SymbolIndex`] tells its observer ([`SymbolIndex::observe`]) as it goes.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub enum SymbolEvent<'a> {
    /// A symcache is being built from a symbol file (none was in the cache folder): the slow
    /// step, seconds for a big dSYM.
    Building {
        /// The symbol file.
        path: &'a Path,
        /// Its size in bytes.
        bytes: u64,
        /// The object's UUID.
        uuid: &'a str,
        /// The object's architecture.
        arch: &'a str,
    },
    /// The symcache announced by [`SymbolEvent::Building`] is built (or could not be).
    Built {
        /// The symbol file.
        path: &'a Path,
        /// Whether there is a symcache now.
        ok: bool,
    },
}

/// The observer given to [`SymbolIndex::observe`].
type Observer = Box<dyn Fn(&SymbolEvent<'_>) + Send + Sync>;

/// A symcache, once looked for: the bytes (or none: it could not be built), and the note to
/// give the first lookup that needed it.
type Slot = Arc<OnceLock<(Option<ByteView<'static>>, Option<String>)>>;

/// A symbol file with debug information, opened for lazy lookups (module `dwarf`), and the
/// frames found so far by address.
#[derive(Default)]
struct LazySlot {
    /// Not opened (`None`: not yet, or closed to keep the open files few); opened; or not for
    /// the lazy path (`Ok(None)`: the symcache path names its frames). A file that could not
    /// be opened is tried again by the next lookup, which gets the note too.
    state: Option<Result<Option<dwarf::Lazy>, String>>,
    /// The frames at each address looked up (image offsets), `None` when nothing names it.
    found: HashMap<u64, Option<Vec<dwarf::Frame>>>,
}

/// Every symbol file found under the `--symbols` paths (and the system's AGX bundles).
#[derive(Default)]
pub struct SymbolIndex {
    objects: Vec<IndexedObject>,
    /// Files that looked like Mach-O but could not be read: reported, never fatal.
    pub problems: Vec<String>,
    cache_dir: Option<PathBuf>,
    /// Symcaches in memory, by cache key (shared, not copied, by each lookup). One slot per key,
    /// filled once: reports classified in parallel that need the same big dSYM wait for one
    /// build instead of each building it (twice the time and memory).
    loaded: Mutex<HashMap<String, Slot>>,
    /// Symbol files with debug information, opened for lazy lookups, by cache key. One lock per
    /// file: reports classified in parallel share what each read.
    lazy: Mutex<HashMap<String, Arc<Mutex<LazySlot>>>>,
    /// The lazy slots whose file is open, oldest first: at most [`MAX_OPEN`] (review finding:
    /// every file stayed open for the process, and a `classify` over many dSYMs ran out of file
    /// descriptors for the reports themselves).
    open: Mutex<std::collections::VecDeque<Arc<Mutex<LazySlot>>>>,
    observer: Option<Observer>,
}

/// How many symbol files the lazy path keeps open at once; an older one is closed (its frames
/// found so far kept) and opened again when needed.
const MAX_OPEN: usize = 16;

impl std::fmt::Debug for SymbolIndex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SymbolIndex")
            .field("objects", &self.objects)
            .field("problems", &self.problems)
            .field("cache_dir", &self.cache_dir)
            .field("observed", &self.observer.is_some())
            .finish_non_exhaustive()
    }
}

/// The image name a symbol file stands for, as a report's Binary Images name it:
/// `X.dSYM/Contents/Resources/DWARF/X` names X (`libtorch_cpu.dylib` stays whole: reports name
/// dylibs with their extension); a slice saved with its architecture (`AGXMetalG16X.arm64`)
/// names the image without it.
fn image_name_of(path: &Path) -> String {
    let file = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    const ARCHES: [&str; 5] = [".arm64e", ".arm64", ".x86_64h", ".x86_64", ".i386"];
    ARCHES
        .iter()
        .find_map(|a| file.strip_suffix(a))
        .unwrap_or(&file)
        .to_owned()
}

/// Whether a file starts with a Mach-O magic: thin (32- or 64-bit, either byte order) or
/// universal (`FAT_MAGIC`, or `FAT_MAGIC_64` for slices beyond 4 GiB).
fn is_macho(head: &[u8]) -> bool {
    matches!(
        head.get(..4),
        Some(
            [0xcf, 0xfa, 0xed, 0xfe]
                | [0xce, 0xfa, 0xed, 0xfe]
                | [0xca, 0xfe, 0xba, 0xbe]
                | [0xca, 0xfe, 0xba, 0xbf]
                | [0xfe, 0xed, 0xfa, 0xcf]
        )
    )
}

/// The version in the Info.plist of the bundle a file sits in (`X.bundle/Contents/MacOS/X` or
/// `X.dSYM/Contents/Resources/DWARF/X`).
fn bundle_version(path: &Path) -> Option<String> {
    let contents = path
        .ancestors()
        .find(|a| a.file_name().is_some_and(|n| n == "Contents"))?;
    let value = plist::Value::from_file(contents.join("Info.plist")).ok()?;
    let dict = value.as_dictionary()?;
    dict.get("CFBundleShortVersionString")
        .or_else(|| dict.get("CFBundleVersion"))?
        .as_string()
        .map(str::to_owned)
}

impl SymbolIndex {
    /// Indexes `paths` (files or folders, searched recursively) and, when it exists,
    /// `extensions` (`/System/Library/Extensions` on a Mac: the installed AGX driver bundles).
    pub fn build(
        paths: &[PathBuf],
        extensions: Option<&Path>,
        cache_dir: Option<PathBuf>,
    ) -> Result<SymbolIndex, SymbolsError> {
        let mut index = SymbolIndex {
            cache_dir,
            ..SymbolIndex::default()
        };
        for path in paths {
            if !path.exists() {
                return Err(SymbolsError::Read {
                    path: path.clone(),
                    source: std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        "no such file or folder",
                    ),
                });
            }
            index.add_tree(path);
        }
        if let Some(ext) = extensions
            && let Ok(dir) = std::fs::read_dir(ext)
        {
            for entry in dir.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                if name.starts_with("AGX") && name.ends_with(".bundle") {
                    index.add_tree(&entry.path().join("Contents/MacOS"));
                }
            }
        }
        Ok(index)
    }

    fn add_tree(&mut self, root: &Path) {
        for entry in walkdir::WalkDir::new(root)
            .follow_links(true)
            .into_iter()
            .filter_map(Result::ok)
        {
            if entry.file_type().is_file() {
                self.add_file(entry.path());
            }
        }
    }

    fn add_file(&mut self, path: &Path) {
        let mut head = [0u8; 4];
        let Ok(mut f) = std::fs::File::open(path) else {
            return;
        };
        if std::io::Read::read_exact(&mut f, &mut head).is_err() || !is_macho(&head) {
            return;
        }
        // The load commands say all indexing needs: a few kilobytes, whatever the file's size.
        let file = match read::read(path, read::Want::LoadCommands) {
            Ok(file) => file,
            Err(e) => return self.problems.push(format!("{}: {e}", path.display())),
        };
        let view = file.bytes;
        if Archive::peek(&view) != FileFormat::MachO {
            return self
                .problems
                .push(format!("{}: not a readable Mach-O file", path.display()));
        }
        let archive = match Archive::parse(&view) {
            Ok(a) => a,
            Err(e) => {
                return self
                    .problems
                    .push(format!("{}: corrupt Mach-O file: {e}", path.display()));
            }
        };
        let version = bundle_version(path);
        for object in archive.objects() {
            match object {
                Ok(o) => {
                    let uuid = o.debug_id().uuid().hyphenated().to_string();
                    let arch = o.arch().to_string();
                    self.objects.push(IndexedObject {
                        key: cache_key(&uuid, &arch, path, &file.stamp),
                        stamp: file.stamp,
                        uuid,
                        arch,
                        path: path.to_owned(),
                        has_debug_info: o.has_debug_info(),
                        has_symbols: o.has_symbols(),
                        image: image_name_of(path),
                        bundle_version: version.clone(),
                    });
                }
                Err(e) => self
                    .problems
                    .push(format!("{}: corrupt Mach-O slice: {e}", path.display())),
            }
        }
    }

    /// Tells `observer` what happens as it happens ([`SymbolEvent`]): the binary shows progress
    /// while a symcache is built. The library itself never prints.
    pub fn observe(&mut self, observer: impl Fn(&SymbolEvent<'_>) + Send + Sync + 'static) {
        self.observer = Some(Box::new(observer));
    }

    fn tell(&self, event: &SymbolEvent<'_>) {
        if let Some(observer) = &self.observer {
            observer(event);
        }
    }

    /// Every object indexed, in the order found.
    pub fn objects(&self) -> &[IndexedObject] {
        &self.objects
    }

    /// Whether no object was indexed: nothing can be named.
    pub fn is_empty(&self) -> bool {
        self.objects.is_empty()
    }

    /// The best object for a UUID: debug info (a dSYM) over a symbol table.
    fn best(&self, uuid: &str) -> Option<&IndexedObject> {
        let uuid = uuid.to_ascii_lowercase();
        self.objects
            .iter()
            .filter(|o| o.uuid == uuid)
            .max_by_key(|o| (o.has_debug_info, o.has_symbols))
    }

    /// The symcache bytes for an object: from memory, from the disk cache, or built now; and,
    /// the first time, a note when the cached file was not for this object and was rebuilt, or
    /// when it could not be built.
    fn symcache(&self, o: &IndexedObject) -> (Option<ByteView<'static>>, Option<String>) {
        let slot = match self.loaded.lock() {
            Ok(mut loaded) => Arc::clone(loaded.entry(o.key.clone()).or_default()),
            // A thread that panicked while holding the lock: work without the memory.
            Err(_) => Slot::default(),
        };
        let mut first = false;
        let (bytes, note) = slot.get_or_init(|| {
            first = true;
            self.find_or_build(o)
        });
        (bytes.clone(), if first { note.clone() } else { None })
    }

    fn find_or_build(&self, o: &IndexedObject) -> (Option<ByteView<'static>>, Option<String>) {
        let on_disk = self
            .cache_dir
            .as_ref()
            .map(|d| d.join(format!("{}.symcache", o.key)));
        let mut note = None;
        let cached = on_disk.as_ref().and_then(|path| {
            let found = read_cached(path).and_then(|bytes| match bytes {
                Some(bytes) => cached_fits(&bytes, o).map(|()| Some(bytes)),
                None => Ok(None),
            });
            found.unwrap_or_else(|why| {
                note = Some(format!(
                    "the cached symcache {} {why}; it was rebuilt from {} (a cache folder \
                     others can write to can plant such files: keep it private)",
                    path.display(),
                    o.path.display()
                ));
                None
            })
        });
        if let Some(bytes) = cached {
            return (Some(bytes), note);
        }
        if let Some(dir) = on_disk.as_deref().and_then(Path::parent) {
            remove_stale_temporaries(dir);
        }
        self.tell(&SymbolEvent::Building {
            path: &o.path,
            bytes: o.stamp.size,
            uuid: &o.uuid,
            arch: &o.arch,
        });
        let built = build_symcache(o, on_disk.as_deref());
        self.tell(&SymbolEvent::Built {
            path: &o.path,
            ok: built.is_ok(),
        });
        match built {
            Ok(bytes) => (Some(bytes), note),
            Err(why) => (None, Some(o.no_symbols(why))),
        }
    }

    /// Names the unnamed frames of every thread, and of the Last Exception Backtrace, whose image
    /// UUID is indexed. Returns how many frames were named; mismatches and problems become
    /// report warnings. The Last Exception Backtrace matters: when the crashed thread rethrew an
    /// uncaught exception, classification reads the crash from there.
    pub fn symbolicate(&self, report: &mut Report) -> usize {
        let mut named = 0;
        let mut mismatched: BTreeSet<usize> = BTreeSet::new();
        let images = report.images.clone();
        let mut warnings: Vec<Warning> = Vec::new();
        let mut notes = Vec::new();
        self.look_up_all(report, &images, &mut notes);
        for thread in &mut report.threads {
            let frames = std::mem::take(&mut thread.frames);
            // The top frame of a thread holds the address it stopped at; every other frame, a
            // return address.
            thread.frames = self.name_frames(
                frames,
                &images,
                true,
                &mut named,
                &mut mismatched,
                &mut notes,
            );
        }
        // A backtrace captured when the exception was thrown holds return addresses only.
        let leb = std::mem::take(&mut report.last_exception_backtrace);
        report.last_exception_backtrace =
            self.name_frames(leb, &images, false, &mut named, &mut mismatched, &mut notes);
        warnings.extend(notes.into_iter().map(|message| Warning {
            at: "symbols".into(),
            message,
        }));
        for i in mismatched {
            let Some(image) = images.get(i) else { continue };
            let name = image.name.as_deref().unwrap_or("?");
            let others: BTreeSet<String> = self
                .objects
                .iter()
                .filter(|o| o.image == name)
                .map(|o| format!("{} ({})", o.uuid, o.arch))
                .collect();
            if !others.is_empty() {
                warnings.push(Warning {
                    at: "symbols".into(),
                    message: format!(
                        "{name} {}: symbols found only for {}; its frames stay unnamed (a wrong symbol is worse than none)",
                        image.uuid.as_deref().unwrap_or("(no uuid)"),
                        others.into_iter().collect::<Vec<_>>().join(", ")
                    ),
                });
            }
        }
        report.warnings.extend(warnings);
        named
    }

    /// Names what it can of `frames`; counts the named ones in `named` and the images whose UUID
    /// matched no indexed object in `mismatched`; symcache problems go to `notes`. `first_is_pc`: the first frame holds the
    /// address execution stopped at rather than a return address.
    fn name_frames(
        &self,
        frames: Vec<Frame>,
        images: &[Image],
        first_is_pc: bool,
        named: &mut usize,
        mismatched: &mut BTreeSet<usize>,
        notes: &mut Vec<String>,
    ) -> Vec<Frame> {
        let mut out = Vec::with_capacity(frames.len());
        for (position, frame) in frames.into_iter().enumerate() {
            if frame.symbol.is_some() {
                out.push(frame);
                continue;
            }
            let (object, offset, return_address) =
                match self.target(&frame, position, images, first_is_pc) {
                    Target::Object(object, offset, return_address) => {
                        (object, offset, return_address)
                    }
                    Target::Mismatch(i) => {
                        mismatched.insert(i);
                        out.push(frame);
                        continue;
                    }
                    Target::None => {
                        out.push(frame);
                        continue;
                    }
                };
            match self.lookup(object, offset, return_address, notes) {
                Some(resolved) => {
                    *named += 1;
                    let file = object.path.display().to_string();
                    for r in resolved {
                        out.push(Frame {
                            symbol: Some(r.name),
                            symbol_offset: r.offset,
                            inline: r.inline || frame.inline,
                            source_file: r.file.or_else(|| frame.source_file.clone()),
                            source_line: r.line.or(frame.source_line),
                            symbolicated_by: SymbolSource::Symbols,
                            symbol_file: Some(file.clone()),
                            ..frame.clone()
                        });
                    }
                }
                None => out.push(frame),
            }
        }
        out
    }

    /// What a frame at `position` is looked up in: its object, image offset, and whether it
    /// holds a return address; or the image whose UUID matched no indexed object; or nothing.
    fn target(
        &self,
        frame: &Frame,
        position: usize,
        images: &[Image],
        first_is_pc: bool,
    ) -> Target<'_> {
        if frame.symbol.is_some() {
            return Target::None;
        }
        let image = frame.image_index.and_then(|i| images.get(i));
        let (Some(image), Some(offset)) = (image, frame.image_offset) else {
            return Target::None;
        };
        let Some(object) = image.uuid.as_deref().and_then(|u| self.best(u)) else {
            return frame.image_index.map_or(Target::None, Target::Mismatch);
        };
        // The symbol table's last symbol matches every higher address: bound lookups by the
        // image's size.
        if image.size.is_some_and(|size| offset >= size) {
            return Target::None;
        }
        // The top frame of a thread holds the address it stopped at; every other frame, and
        // every frame of a Last Exception Backtrace, a return address.
        Target::Object(object, offset, position > 0 || !first_is_pc)
    }

    /// Looks up every frame of the report at once, per symbol file with debug information: one
    /// pass over its symbol table and each compile unit read once for all of them.
    fn look_up_all(&self, report: &Report, images: &[Image], notes: &mut Vec<String>) {
        let mut wanted: HashMap<&str, (&IndexedObject, Vec<u64>)> = HashMap::new();
        let threads = report.threads.iter().map(|t| (&t.frames, true));
        let leb = std::iter::once((&report.last_exception_backtrace, false));
        for (frames, first_is_pc) in threads.chain(leb) {
            for (position, frame) in frames.iter().enumerate() {
                if let Target::Object(object, offset, return_address) =
                    self.target(frame, position, images, first_is_pc)
                    && object.has_debug_info
                {
                    wanted
                        .entry(object.key.as_str())
                        .or_insert_with(|| (object, Vec::new()))
                        .1
                        .push(probe_of(offset, return_address));
                }
            }
        }
        for (object, probes) in wanted.into_values() {
            let _ = self.lazy_frames(object, &probes, notes);
        }
    }

    /// The frames at each of `probes` in `object`'s debug information, looked up lazily (module
    /// `dwarf`) and kept; `None` when the lazy path does not apply to it (the symcache path
    /// names its frames then). A file that cannot be read names nothing, with a note once.
    fn lazy_frames(
        &self,
        object: &IndexedObject,
        probes: &[u64],
        notes: &mut Vec<String>,
    ) -> Option<Vec<Option<Vec<dwarf::Frame>>>> {
        let shared = match self.lazy.lock() {
            Ok(mut lazy) => Arc::clone(lazy.entry(object.key.clone()).or_default()),
            // A thread that panicked while holding the lock: work without the memory.
            Err(_) => Arc::default(),
        };
        let Ok(mut slot) = shared.lock() else {
            return None;
        };
        let slot = &mut *slot;
        if slot.state.is_none() {
            match dwarf::Lazy::open(&object.path, &object.uuid, &object.arch) {
                Ok(lazy) => {
                    let opened = lazy.is_some();
                    slot.state = Some(Ok(lazy));
                    if opened {
                        self.close_the_oldest(&shared);
                    }
                }
                Err(why) => {
                    // Not kept: a file busy or short of descriptors now may open later, and
                    // each report that needed it says why it has no names.
                    notes.push(object.no_symbols(why));
                    return Some(vec![None; probes.len()]);
                }
            }
        }
        let lazy = match &mut slot.state {
            Some(Ok(Some(lazy))) => lazy,
            Some(Ok(None)) => return None,
            _ => return Some(vec![None; probes.len()]),
        };
        let missing: Vec<u64> = probes
            .iter()
            .copied()
            .filter(|p| !slot.found.contains_key(p))
            .collect::<BTreeSet<u64>>()
            .into_iter()
            .collect();
        if !missing.is_empty() {
            match lazy.lookup(&missing) {
                Ok(frames) => slot.found.extend(missing.into_iter().zip(frames)),
                Err(why) => {
                    notes.push(object.no_symbols(why));
                    slot.found.extend(missing.into_iter().map(|p| (p, None)));
                }
            }
        }
        Some(
            probes
                .iter()
                .map(|p| slot.found.get(p).cloned().flatten())
                .collect(),
        )
    }

    /// Records `opened` as open, and closes the oldest open files past [`MAX_OPEN`] (their
    /// frames found so far are kept). A slot busy in another thread is left open this time: it
    /// is never waited for while `opened` is held (two threads would wait for each other).
    fn close_the_oldest(&self, opened: &Arc<Mutex<LazySlot>>) {
        let Ok(mut open) = self.open.lock() else {
            return;
        };
        open.push_back(Arc::clone(opened));
        let mut excess = open.len().saturating_sub(MAX_OPEN);
        let mut kept = Vec::new();
        while excess > 0 {
            let Some(oldest) = open.pop_front() else {
                break;
            };
            let closed = !Arc::ptr_eq(&oldest, opened)
                && match oldest.try_lock() {
                    Ok(mut slot) => {
                        slot.state = None;
                        true
                    }
                    Err(_) => false,
                };
            if closed {
                excess -= 1;
            } else {
                kept.push(oldest);
            }
        }
        for slot in kept.into_iter().rev() {
            open.push_front(slot);
        }
    }

    /// The frames at an image offset: inlined functions first (innermost first), then the
    /// function that contains them.
    fn lookup(
        &self,
        object: &IndexedObject,
        offset: u64,
        return_address: bool,
        notes: &mut Vec<String>,
    ) -> Option<Vec<Resolved>> {
        let probe = probe_of(offset, return_address);
        let frames = if object.has_debug_info {
            self.lazy_frames(object, &[probe], notes)
        } else {
            None
        };
        let frames = match frames {
            Some(mut found) => found.pop().flatten()?,
            None => {
                let (bytes, note) = self.symcache(object);
                notes.extend(note);
                let bytes = bytes?;
                let cache = SymCache::parse(&bytes).ok()?;
                symcache_frames(&cache, probe)?
            }
        };
        Some(
            frames
                .into_iter()
                .map(|f| Resolved {
                    name: f.name,
                    offset: f.entry.map(|entry| offset.saturating_sub(entry)),
                    inline: f.inline,
                    file: f.file,
                    line: f.line,
                })
                .collect(),
        )
    }

    /// Names one address, for the benchmark and the `symbolicate` command's own use.
    pub fn name_at(&self, uuid: &str, offset: u64) -> Option<String> {
        let object = self.best(uuid)?;
        self.lookup(object, offset, false, &mut Vec::new())?
            .pop()
            .map(|r| r.name)
    }
}

/// The frames a symcache gives at `probe` (an image offset): inlined functions first (innermost
/// first), then the function that contains them; `None` when it names nothing there.
fn symcache_frames(cache: &SymCache<'_>, probe: u64) -> Option<Vec<dwarf::Frame>> {
    let locations: Vec<_> = cache.lookup(probe).collect();
    let last = locations.len().checked_sub(1)?;
    Some(
        locations
            .iter()
            .enumerate()
            .map(|(i, loc)| {
                let function = loc.function();
                let outermost = i == last;
                // Inlined symcache frames carry no entry address (entry_pc is u32::MAX): only
                // the outermost function has one.
                dwarf::Frame {
                    name: demangle(function.name_for_demangling()),
                    entry: (outermost && function.entry_pc() != u32::MAX)
                        .then(|| u64::from(function.entry_pc())),
                    inline: !outermost,
                    file: loc.file().map(|f| f.full_path()).filter(|p| !p.is_empty()),
                    line: (loc.line() > 0).then(|| u64::from(loc.line())),
                }
            })
            .collect(),
    )
}

/// What a frame at an image offset is looked up in ([`SymbolIndex::target`]).
enum Target<'a> {
    /// This object, at this image offset; whether it is a return address.
    Object(&'a IndexedObject, u64, bool),
    /// The image at this index, whose UUID matched no indexed object.
    Mismatch(usize),
    /// Nothing: the frame is named, or has no image or offset, or is beyond its image.
    None,
}

/// The address looked up for a frame: frames above the crashing one hold return addresses,
/// which point just after the call, so the call instruction itself is looked up, for the right
/// function, line and inline context.
fn probe_of(offset: u64, return_address: bool) -> u64 {
    if return_address {
        offset.saturating_sub(1)
    } else {
        offset
    }
}

struct Resolved {
    name: String,
    offset: Option<u64>,
    inline: bool,
    file: Option<String>,
    line: Option<u64>,
}

/// The name a symcache is kept under: `<uuid>-<arch>-<digest>`, the digest covering what
/// identifies one version of the symbol file, as `fstat` gives it when the file is indexed: its
/// path, size, modification time, status-change time, device and inode (in nanoseconds where the
/// file system keeps them).
///
/// Why these, and not a hash of the contents: hashing a 2 GB dSYM costs seconds on every command,
/// and a command whose symcache is cached must not read the symbol file at all. Why not the UUID
/// alone: a rebuilt binary normally gets a new UUID, but not always (a deterministic build with
/// changed debug information only, a build system that stamps a fixed UUID, a file patched in
/// place), and then a stale symcache would name frames from the old build. Any rewrite changes
/// at least one field: writing new contents changes the modification time, and a builder that
/// sets it back (`touch -r`, `cp -p`, rsync) changes the status-change time, which no one can set
/// back but the kernel's clock; a file replaced by another (written elsewhere, renamed over it)
/// has another inode. What is left: a rewrite within the same tick of a file system whose times
/// are coarse (HFS+: a second), keeping size and modification time, with the same UUID.
fn cache_key(uuid: &str, arch: &str, path: &Path, stamp: &read::Stamp) -> String {
    let read::Stamp {
        size,
        mtime_ns,
        ctime_ns,
        dev,
        ino,
    } = stamp;
    let digest = Sha256::digest(
        format!(
            "{}|{size}|{mtime_ns}|{ctime_ns}|{dev}|{ino}",
            path.display()
        )
        .as_bytes(),
    );
    let stamp: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{uuid}-{arch}-{stamp}")
}

fn demangle(name: Name<'_>) -> String {
    name.try_demangle(DemangleOptions::complete()).into_owned()
}

/// More than any symcache read into memory (one that others could write: see `read_cached`).
const MAX_READ_SYMCACHE: u64 = 1 << 30;

/// More than any symcache mapped. Symcaches grow with functions and line records: 0.87 times
/// the DWARF's size for the generated 202 MiB dSYM (docs/performance.md), so a dSYM of a few
/// gigabytes has a symcache over a gigabyte, which a bound made for reading into memory refused
/// (and rebuilt, on every command). A mapped one costs only the pages its lookups touch.
const MAX_MAPPED_SYMCACHE: u64 = 64 << 30;

/// A symcache from the cache folder: `None` when there is none; an error saying what is wrong
/// when what is there is not a regular file of a sane size. Opened without following a symlink
/// and without waiting on a FIFO, then checked on the open handle: a symlink to `/dev/zero` would
/// be read forever, a FIFO would block the command, and checking the path first would leave a
/// window to swap the file.
///
/// A symcache is a fraction of its DWARF's size, but a big dSYM's is still hundreds of megabytes,
/// of which a report's lookups touch a few pages: reading it whole cost a command 0.2 s (a 185 MB
/// symcache, docs/performance.md). So a symcache is mapped, and only the pages lookups touch are
/// read, when nothing but this user's processes can shrink it ([`may_map`]): a mapped file that
/// shrinks raises SIGBUS, which kills the process, and crashdelta itself never writes a symcache
/// in place (a new one is renamed over the old, which leaves the mapped file as it was). Any other
/// file, or one that cannot be mapped, is read into memory instead.
fn read_cached(path: &Path) -> Result<Option<ByteView<'static>>, String> {
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    }
    let file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        #[cfg(unix)]
        Err(e) if e.raw_os_error() == Some(libc::ELOOP) => {
            return Err("is a symbolic link, which is never followed".into());
        }
        Err(e) => return Err(format!("cannot be opened ({e})")),
    };
    let meta = file
        .metadata()
        .map_err(|e| format!("cannot be read ({e})"))?;
    if !meta.is_file() {
        return Err("is not a regular file".into());
    }
    let mapped = meta.len() > 0 && may_map(&file, &meta);
    let limit = if mapped {
        MAX_MAPPED_SYMCACHE
    } else {
        MAX_READ_SYMCACHE
    };
    if meta.len() > limit {
        return Err(format!("is {} bytes, more than any symcache", meta.len()));
    }
    if mapped {
        return map_or_read(&file, meta.len(), ByteView::map_file_ref).map(Some);
    }
    read_to_size(&file, meta.len())
        .map(|bytes| Some(ByteView::from_vec(bytes)))
        .map_err(|e| format!("cannot be read ({e})"))
}

/// The first `len` bytes of `file`, mapped with `map`, or read into memory when the mapping
/// fails (out of address space, a file system that cannot map) and they are not more than
/// [`MAX_READ_SYMCACHE`]: a symcache that cannot be mapped is slower, not lost (it was rebuilt on
/// every command, and a fresh build thrown away).
fn map_or_read(
    file: &std::fs::File,
    len: u64,
    map: impl FnOnce(&std::fs::File) -> std::io::Result<ByteView<'static>>,
) -> Result<ByteView<'static>, String> {
    let why = match map(file) {
        Ok(view) => return Ok(view),
        Err(e) => e,
    };
    if len > MAX_READ_SYMCACHE {
        return Err(format!(
            "cannot be mapped ({why}), and is {len} bytes, more than a symcache read into memory"
        ));
    }
    read_to_size(file, len)
        .map(ByteView::from_vec)
        .map_err(|e| format!("cannot be mapped ({why}) nor read ({e})"))
}

/// Reads `file` from its start to the size it had when opened (`len`), into a buffer of that
/// size: a file that keeps growing is not read forever, nor copied as its buffer grows.
fn read_to_size(mut file: &std::fs::File, len: u64) -> std::io::Result<Vec<u8>> {
    std::io::Seek::seek(&mut file, std::io::SeekFrom::Start(0))?;
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    std::io::Read::read_to_end(&mut std::io::Read::take(file, len), &mut bytes)?;
    Ok(bytes)
}

/// Whether a symcache file may be mapped: only when nothing but this user's own processes (and
/// root) can shrink it. It must be owned by this user, neither group nor others may write it,
/// and those bits must mean what they say: on a local file system (a network file system's file
/// can be truncated by another machine, whatever its mode here; a FUSE one by its daemon), that
/// honours ownership (macOS can mount a volume with "ignore ownership"), and with no ACL that
/// could grant others write access without a mode bit showing it (macOS's inheritable ACLs). In
/// doubt, no: the file is read instead, which is only slower. Elsewhere than Linux and macOS:
/// never.
fn may_map(file: &std::fs::File, meta: &std::fs::Metadata) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        // SAFETY: geteuid has no preconditions and cannot fail.
        let me = unsafe { libc::geteuid() };
        meta.uid() == me && meta.mode() & 0o022 == 0 && local_with_owners(file) && no_acl(file)
    }
    #[cfg(not(unix))]
    {
        let _ = (file, meta);
        false
    }
}

/// Linux's `statfs` magic numbers of file systems whose files others can change from elsewhere:
/// NFS, SMB (old and new), CIFS, FUSE (a daemon serves the file, and may be remote).
#[cfg(any(target_os = "linux", test))]
const REMOTE_FILE_SYSTEMS: [u64; 5] = [0x6969, 0x517b, 0xfe53_4d42, 0xff53_4d42, 0x6573_5546];

/// Whether a Linux file system's magic number is one of [`REMOTE_FILE_SYSTEMS`].
#[cfg(any(target_os = "linux", test))]
fn is_remote_magic(magic: u64) -> bool {
    REMOTE_FILE_SYSTEMS.contains(&(magic & 0xffff_ffff))
}

/// The file system `file` is on, as `fstatfs(2)` describes it; `None` when the call fails.
#[cfg(any(target_os = "linux", target_os = "macos"))]
fn file_system_of(file: &std::fs::File) -> Option<libc::statfs> {
    use std::os::fd::AsRawFd;
    let mut st = std::mem::MaybeUninit::<libc::statfs>::zeroed();
    // SAFETY: the descriptor is open for the call's duration, and `st` is a statfs to fill.
    if unsafe { libc::fstatfs(file.as_raw_fd(), st.as_mut_ptr()) } != 0 {
        return None;
    }
    // SAFETY: fstatfs succeeded, so it filled `st` (zeroed before, in any case).
    Some(unsafe { st.assume_init() })
}

/// Whether the file system of `file` is local and honours file ownership (see [`may_map`]).
#[cfg(target_os = "linux")]
fn local_with_owners(file: &std::fs::File) -> bool {
    let Some(st) = file_system_of(file) else {
        return false;
    };
    // f_type is signed on some targets: its 32 bits are the magic.
    #[allow(clippy::cast_sign_loss, clippy::unnecessary_cast)]
    let magic = st.f_type as u64;
    !is_remote_magic(magic)
}

/// Whether the file system of `file` is local and honours file ownership (see [`may_map`]).
#[cfg(target_os = "macos")]
fn local_with_owners(file: &std::fs::File) -> bool {
    let Some(st) = file_system_of(file) else {
        return false;
    };
    let flags = i64::from(st.f_flags);
    flags & i64::from(libc::MNT_LOCAL) != 0 && flags & i64::from(libc::MNT_IGNORE_OWNERSHIP) == 0
}

/// Elsewhere: not known to be local.
#[cfg(all(unix, not(any(target_os = "linux", target_os = "macos"))))]
fn local_with_owners(_file: &std::fs::File) -> bool {
    false
}

#[cfg(target_os = "macos")]
unsafe extern "C" {
    /// `<sys/acl.h>`: the file's ACL of `ty`, or NULL (errno ENOENT when it has none).
    fn acl_get_fd_np(fd: libc::c_int, ty: libc::c_int) -> *mut libc::c_void;
    /// `<sys/acl.h>`: frees what `acl_get_fd_np` returned.
    fn acl_free(obj: *mut libc::c_void) -> libc::c_int;
}

/// Whether `file` has no extended ACL (macOS; `ACL_TYPE_EXTENDED`), which could let others write
/// it with no mode bit showing it. Any error but "none": as if it had one.
#[cfg(target_os = "macos")]
fn no_acl(file: &std::fs::File) -> bool {
    use std::os::fd::AsRawFd;
    const ACL_TYPE_EXTENDED: libc::c_int = 0x0000_0100;
    // SAFETY: the descriptor is open for the call's duration; a non-NULL result is ours to free.
    let acl = unsafe { acl_get_fd_np(file.as_raw_fd(), ACL_TYPE_EXTENDED) };
    if acl.is_null() {
        return std::io::Error::last_os_error().raw_os_error() == Some(libc::ENOENT);
    }
    // SAFETY: `acl` came from acl_get_fd_np and is freed once.
    unsafe { acl_free(acl) };
    false
}

/// Linux has no ACL of its own beyond POSIX ACLs, whose grants show in the group mode bits
/// (the mask), which [`may_map`] checks.
#[cfg(all(unix, not(target_os = "macos")))]
fn no_acl(_file: &std::fs::File) -> bool {
    true
}

/// Whether a symcache read from the cache folder is one for `o`: it parses, is of the current
/// format, and was built for the same debug id and architecture. The file name alone proves
/// nothing: anyone who can write to the folder can put any symcache under any name, and a
/// symcache for another build names frames wrongly, which is worse than not at all.
fn cached_fits(bytes: &[u8], o: &IndexedObject) -> Result<(), String> {
    let cache = SymCache::parse(bytes).map_err(|e| format!("does not parse ({e})"))?;
    if !cache.is_latest() {
        return Err(format!("is of an old format (version {})", cache.version()));
    }
    let uuid = cache.debug_id().uuid().hyphenated().to_string();
    let arch = cache.arch().to_string();
    if uuid != o.uuid || arch != o.arch {
        return Err(format!(
            "was built for {uuid} ({arch}), not for {} ({})",
            o.uuid, o.arch
        ));
    }
    Ok(())
}

/// Builds the symcache of `o` from its symbol file, read but for the DWARF sections symcaches
/// never use (module `read`). Says why when it cannot.
///
/// With a cache folder, the symcache is written straight into it, then mapped: it is as big as a
/// good part of the DWARF (185 MB for 202 MiB, docs/performance.md), and holding it in memory as
/// well as the DWARF and the converter's tables made the peak memory of a cold start 4.3 times
/// the DWARF's size. The temporary is created exclusively under a random name in the folder
/// (never a predictable name that a planted symlink could redirect to another file), written,
/// and renamed over `<key>.symcache`, so a concurrent reader sees the old file or the new one,
/// never half. It is created once the symbols are converted, just before it is written, so a
/// command interrupted meanwhile leaves none behind; one interrupted while writing does, which a
/// later build removes (`remove_stale_temporaries`). A symcache that cannot be mapped is read. It is renamed into place only when the symbol file is the version indexed (a file
/// rewritten since is cached by its next command, under its new version's key). A cache that
/// cannot be written is only slower next time: the symcache is then built in memory.
fn build_symcache(o: &IndexedObject, on_disk: Option<&Path>) -> Result<ByteView<'static>, String> {
    let mut in_memory = Vec::new();
    let (temporary, unchanged) = {
        let file = read::read(&o.path, read::Want::Symcache)
            .map_err(|e| format!("cannot read it: {e}"))?;
        let archive =
            Archive::parse(&file.bytes).map_err(|e| format!("corrupt Mach-O file: {e}"))?;
        let object: Object = archive
            .objects()
            .filter_map(Result::ok)
            .find(|obj| {
                obj.debug_id().uuid().hyphenated().to_string() == o.uuid
                    && obj.arch().to_string() == o.arch
            })
            .ok_or("the file no longer holds this object (rebuilt since it was indexed?)")?;
        let mut converter = SymCacheConverter::new();
        converter
            .process_object(&object)
            .map_err(|e| format!("cannot read its symbols: {e}"))?;
        // Created only now, after the long step: a command interrupted while it converts (Ctrl-C
        // kills the process, and no destructor removes a temporary) leaves none behind. One
        // interrupted while it writes does: `remove_stale_temporaries` removes it a day later.
        let mut temporary = on_disk.and_then(Path::parent).and_then(|dir| {
            tempfile::Builder::new()
                .prefix(TEMPORARY_PREFIX)
                .suffix(TEMPORARY_SUFFIX)
                .tempfile_in(dir)
                .ok()
        });
        let written = match temporary.as_mut() {
            Some(temporary) => {
                let mut writer = std::io::BufWriter::new(temporary.as_file_mut());
                converter
                    .serialize(&mut writer)
                    .and_then(|()| std::io::Write::flush(&mut writer))
            }
            None => converter.serialize(&mut std::io::Cursor::new(&mut in_memory)),
        };
        written.map_err(|e| format!("cannot write its symcache: {e}"))?;
        (temporary, file.stamp == o.stamp)
        // The DWARF's bytes and the converter's tables are let go here, before the symcache is
        // mapped.
    };
    let (Some(path), Some(temporary)) = (on_disk, temporary) else {
        return Ok(ByteView::from_vec(in_memory));
    };
    // This process's own new file, which no one else can write (0600): see `read_cached`. When
    // it cannot be mapped (out of address space, a file system that cannot map), it is read.
    let len = temporary
        .as_file()
        .metadata()
        .map_err(|e| format!("cannot read its symcache: {e}"))?
        .len();
    let view = map_or_read(temporary.as_file(), len, ByteView::map_file_ref)
        .map_err(|e| format!("its symcache {e}"))?;
    if unchanged {
        // On failure the temporary is removed when dropped; the mapping stays valid.
        let _ = temporary.persist(path);
    }
    Ok(view)
}

/// The names of symcaches being written: `.symcache-<random>.tmp`.
const TEMPORARY_PREFIX: &str = ".symcache-";
const TEMPORARY_SUFFIX: &str = ".tmp";

/// How old a temporary must be to be taken for one a killed command left: no build writes for
/// that long.
const STALE_TEMPORARY: std::time::Duration = std::time::Duration::from_secs(24 * 60 * 60);

/// Removes the temporaries that commands killed while writing a symcache left in `dir`, once
/// they are [`STALE_TEMPORARY`]: a running build's is younger. Only regular files (never through
/// a symlink) named as crashdelta names them; what cannot be removed is left.
fn remove_stale_temporaries(dir: &Path) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    let now = std::time::SystemTime::now();
    for entry in entries.flatten() {
        let name = entry.file_name();
        let name = name.to_string_lossy();
        if !name.starts_with(TEMPORARY_PREFIX) || !name.ends_with(TEMPORARY_SUFFIX) {
            continue;
        }
        // DirEntry::metadata does not follow a symlink.
        let Ok(meta) = entry.metadata() else { continue };
        let old = meta
            .modified()
            .ok()
            .and_then(|t| now.duration_since(t).ok())
            .is_some_and(|age| age > STALE_TEMPORARY);
        if meta.is_file() && old {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The index a command works with: the symbol files under `paths`, plus the AGX driver bundles
/// in [`SYSTEM_EXTENSIONS`] when this is a Mac; `None` when there is nothing to index. Symbol
/// caches go to `cache_dir`, which must be usable when given; without one, to
/// [`default_cache_dir`] when it can be made, else they stay in memory (the default folder is a
/// convenience, not a requirement).
pub fn index_for(
    paths: &[PathBuf],
    cache_dir: Option<&Path>,
) -> Result<Option<SymbolIndex>, SymbolsError> {
    let extensions = Path::new(SYSTEM_EXTENSIONS);
    let extensions = extensions.is_dir().then_some(extensions);
    if paths.is_empty() && extensions.is_none() {
        return Ok(None);
    }
    let cache = match cache_dir {
        Some(dir) => {
            ensure_cache_dir(dir)?;
            Some(dir.to_owned())
        }
        None => default_cache_dir().filter(|dir| ensure_cache_dir(dir).is_ok()),
    };
    SymbolIndex::build(paths, extensions, cache).map(Some)
}

/// The default symbol-cache folder: the platform's cache folder (`~/Library/Caches` on macOS,
/// `$XDG_CACHE_HOME` or `~/.cache` elsewhere) + `crashdelta/symcache`.
pub fn default_cache_dir() -> Option<PathBuf> {
    dirs::cache_dir().map(|d| d.join("crashdelta").join("symcache"))
}

/// Makes sure a cache folder exists.
pub fn ensure_cache_dir(dir: &Path) -> Result<(), SymbolsError> {
    std::fs::create_dir_all(dir).map_err(|source| SymbolsError::Cache {
        path: dir.to_owned(),
        source,
    })
}

/// The extensions folder of a Mac, where the AGX driver bundles are installed.
pub const SYSTEM_EXTENSIONS: &str = "/System/Library/Extensions";

#[cfg(test)]
mod tests {
    use super::*;

    /// At most MAX_OPEN files stay open: opening one more closes the oldest (their frames found
    /// so far kept), never the one just opened, and never one another thread is using (it
    /// stays open, and the next oldest is closed instead).
    #[test]
    fn the_oldest_open_files_are_closed() {
        let index = SymbolIndex::default();
        let open = |i: usize| {
            let mut slot = LazySlot {
                state: Some(Err(format!("file {i}"))),
                ..LazySlot::default()
            };
            slot.found.insert(i as u64, None);
            Arc::new(Mutex::new(slot))
        };
        let slots: Vec<_> = (0..MAX_OPEN + 4).map(open).collect();
        let busy = slots.get(1).map(|s| s.lock());
        for slot in &slots {
            index.close_the_oldest(slot);
        }
        drop(busy);
        let still: Vec<bool> = slots
            .iter()
            .map(|s| s.lock().map(|s| s.state.is_some()).unwrap_or(false))
            .collect();
        let mut expected = vec![true; MAX_OPEN + 4];
        for closed in [0, 2, 3, 4] {
            if let Some(e) = expected.get_mut(closed) {
                *e = false;
            }
        }
        assert_eq!(still, expected);
        assert!(
            slots
                .iter()
                .all(|s| s.lock().map(|s| s.found.len() == 1).unwrap_or(false)),
            "the frames found were kept"
        );
        let queued = index.open.lock().map(|q| q.len()).unwrap_or(0);
        assert_eq!(queued, MAX_OPEN);
    }

    /// A dylib's dSYM names the image with its extension, as reports do: "symbols found only for
    /// other UUIDs" compares these names, and cutting at the first dot never matched a dylib.
    #[test]
    fn image_names_keep_extensions_and_drop_architectures() {
        for (path, name) in [
            (
                "libtorch_cpu.dylib.dSYM/Contents/Resources/DWARF/libtorch_cpu.dylib",
                "libtorch_cpu.dylib",
            ),
            (
                "AGXMetalG16X.bundle/Contents/MacOS/AGXMetalG16X",
                "AGXMetalG16X",
            ),
            ("slices/AGXMetalG16X.arm64e", "AGXMetalG16X"),
            ("Python.framework/Versions/3.14/Python", "Python"),
        ] {
            assert_eq!(image_name_of(Path::new(path)), name, "{path}");
        }
    }

    /// C12: a universal file with 64-bit slice offsets (FAT_MAGIC_64) is Mach-O too: it was
    /// skipped without a word.
    #[test]
    fn universal_files_of_both_magics_are_macho() {
        assert!(is_macho(&[0xca, 0xfe, 0xba, 0xbe]));
        assert!(is_macho(&[0xca, 0xfe, 0xba, 0xbf]));
        assert!(is_macho(&[0xcf, 0xfa, 0xed, 0xfe]));
        assert!(!is_macho(&[0xca, 0xfe, 0xba, 0xbc]));
        assert!(!is_macho(&[0xca, 0xfe]));
    }

    /// C6: network and FUSE file systems are never trusted with a mapping; this test's own
    /// private file, on a local file system, is mapped.
    #[test]
    fn only_private_files_on_local_file_systems_are_mapped() {
        for magic in [0x6969, 0x517b, 0xfe53_4d42, 0xff53_4d42, 0x6573_5546] {
            assert!(is_remote_magic(magic), "{magic:x}");
        }
        // ext4, tmpfs, btrfs, overlayfs, xfs.
        for magic in [0xef53, 0x0102_1994, 0x9123_683e, 0x794c_7630, 0x5846_5342] {
            assert!(!is_remote_magic(magic), "{magic:x}");
        }
        #[cfg(target_os = "linux")]
        {
            use std::os::unix::fs::PermissionsExt;
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("x.symcache");
            std::fs::write(&path, b"x").unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            let file = std::fs::File::open(&path).unwrap();
            // /tmp may be NFS on some machine; this checks the common case.
            if local_with_owners(&file) {
                assert!(may_map(&file, &file.metadata().unwrap()));
            }
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o664)).unwrap();
            let file = std::fs::File::open(&path).unwrap();
            assert!(!may_map(&file, &file.metadata().unwrap()));
        }
    }

    /// C8: temporaries a killed command left in the cache folder are removed once a day old;
    /// younger ones (a build under way) and other files stay.
    #[test]
    fn stale_temporaries_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        let old = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 24 * 3600);
        let make = |name: &str, when: Option<std::time::SystemTime>| {
            let path = dir.path().join(name);
            let file = std::fs::File::create(&path).unwrap();
            if let Some(when) = when {
                file.set_modified(when).unwrap();
            }
            path
        };
        let stale = make(".symcache-abc.tmp", Some(old));
        let fresh = make(".symcache-def.tmp", None);
        let other = make("x.symcache", Some(old));
        let other_tmp = make("other.tmp", Some(old));
        remove_stale_temporaries(dir.path());
        assert!(!stale.exists());
        assert!(fresh.exists() && other.exists() && other_tmp.exists());
    }

    /// C9: a symcache whose mapping fails is read instead (it was rebuilt on every command);
    /// one too big to read is refused with the reason.
    #[test]
    fn a_symcache_that_cannot_be_mapped_is_read() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("x.symcache");
        std::fs::write(&path, b"symcache bytes").unwrap();
        let file = std::fs::File::open(&path).unwrap();
        let fail = |_: &std::fs::File| -> std::io::Result<ByteView<'static>> {
            Err(std::io::Error::other("no mapping here"))
        };
        let view = map_or_read(&file, 14, fail).unwrap();
        assert_eq!(&view[..], b"symcache bytes");
        let why = map_or_read(&file, MAX_READ_SYMCACHE + 1, fail).unwrap_err();
        assert!(why.contains("no mapping here"), "{why}");
        let view = map_or_read(&file, 14, ByteView::map_file_ref).unwrap();
        assert_eq!(&view[..], b"symcache bytes");
    }
}
