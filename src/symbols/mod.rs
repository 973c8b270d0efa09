//! Naming unnamed frames from Mach-O binaries and dSYMs.
//!
//! Reports usually carry symbols, but not always (`AGXMetal13_3  0x1fddc171c 0x1fdbc0000 +
//! 2103068`), and an unnamed driver frame is exactly where the known race hides. `--symbols`
//! points at binaries (thin or universal), dSYM bundles and their DWARF files; they are indexed
//! by UUID and architecture, and a frame is named only when its image's UUID matches. A UUID
//! mismatch names nothing and says so: a wrong symbol is worse than none.
//!
//! Lookups go through symcaches (symbolic-symcache), built once per UUID and architecture and
//! kept on disk, keyed by the source file's path, size and modification time so that a rebuilt
//! file is cached anew.
//!
//! The cache folder is not trusted: a symcache found there is used only when its own debug id and
//! architecture are those of the object it stands for (else it is rebuilt, with a warning), and
//! new ones are written through exclusively created temporaries, never through a predictable name
//! a symlink could redirect. Symbol files are never mapped where others can change them: a mapped
//! file that shrinks under us would kill the process with SIGBUS (small ones are read into
//! memory, large ones copied to a private temporary first).

pub mod atos;
mod rewrite;

pub use rewrite::{RewriteError, ips_with_symbols};

use std::collections::{BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

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
    /// The symcache's key: UUID, arch, and a digest of the file's path, size and mtime.
    #[serde(skip)]
    key: String,
}

/// Every symbol file found under the `--symbols` paths (and the system's AGX bundles).
#[derive(Debug, Default)]
pub struct SymbolIndex {
    objects: Vec<IndexedObject>,
    /// Files that looked like Mach-O but could not be read: reported, never fatal.
    pub problems: Vec<String>,
    cache_dir: Option<PathBuf>,
    /// Symcaches in memory, by cache key (shared, not copied, by each lookup).
    loaded: Mutex<HashMap<String, Option<Arc<[u8]>>>>,
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

fn is_macho(head: &[u8]) -> bool {
    matches!(
        head.get(..4),
        Some(
            [0xcf, 0xfa, 0xed, 0xfe]
                | [0xce, 0xfa, 0xed, 0xfe]
                | [0xca, 0xfe, 0xba, 0xbe]
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
        let Ok(meta) = std::fs::metadata(path) else {
            return;
        };
        let mut head = [0u8; 4];
        let Ok(mut f) = std::fs::File::open(path) else {
            return;
        };
        if std::io::Read::read_exact(&mut f, &mut head).is_err() || !is_macho(&head) {
            return;
        }
        let view = match read_symbol_file(path, self.cache_dir.as_deref()) {
            Ok(v) => v,
            Err(e) => return self.problems.push(format!("{}: {e}", path.display())),
        };
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
        let mtime_ns = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        let version = bundle_version(path);
        for object in archive.objects() {
            match object {
                Ok(o) => {
                    let uuid = o.debug_id().uuid().hyphenated().to_string();
                    let arch = o.arch().to_string();
                    self.objects.push(IndexedObject {
                        key: cache_key(&uuid, &arch, path, meta.len(), mtime_ns),
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
    /// the first time, a note when the cached file was not for this object and was rebuilt.
    fn symcache(&self, o: &IndexedObject) -> (Option<Arc<[u8]>>, Option<String>) {
        let key = &o.key;
        if let Ok(loaded) = self.loaded.lock()
            && let Some(found) = loaded.get(key)
        {
            return (found.clone(), None);
        }
        let on_disk = self
            .cache_dir
            .as_ref()
            .map(|d| d.join(format!("{key}.symcache")));
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
        let bytes = cached
            .or_else(|| {
                let built = build_symcache(o, self.cache_dir.as_deref())?;
                if let Some(path) = &on_disk {
                    store(path, &built);
                }
                Some(built)
            })
            .map(Arc::from);
        if let Ok(mut loaded) = self.loaded.lock() {
            loaded.insert(key.clone(), bytes.clone());
        }
        (bytes, note)
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
            let image = frame.image_index.and_then(|i| images.get(i));
            let (Some(image), Some(offset)) = (image, frame.image_offset) else {
                out.push(frame);
                continue;
            };
            let Some(object) = image.uuid.as_deref().and_then(|u| self.best(u)) else {
                if let Some(i) = frame.image_index {
                    mismatched.insert(i);
                }
                out.push(frame);
                continue;
            };
            // The symbol table's last symbol matches every higher address: bound lookups by
            // the image's size.
            if image.size.is_some_and(|size| offset >= size) {
                out.push(frame);
                continue;
            }
            let return_address = position > 0 || !first_is_pc;
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

    /// The frames at an image offset: inlined functions first (innermost first), then the
    /// function that contains them.
    fn lookup(
        &self,
        object: &IndexedObject,
        offset: u64,
        return_address: bool,
        notes: &mut Vec<String>,
    ) -> Option<Vec<Resolved>> {
        let (bytes, note) = self.symcache(object);
        notes.extend(note);
        let bytes = bytes?;
        let cache = SymCache::parse(&bytes).ok()?;
        // Frames above the crashing one hold return addresses, which point just after the call:
        // look up the call instruction itself for the right function, line and inline context.
        let probe = if return_address {
            offset.saturating_sub(1)
        } else {
            offset
        };
        let locations: Vec<_> = cache.lookup(probe).collect();
        let last = locations.len().checked_sub(1)?;
        Some(
            locations
                .iter()
                .enumerate()
                .map(|(i, loc)| {
                    let function = loc.function();
                    let outermost = i == last;
                    // Inlined symcache frames carry no entry address (entry_pc is u32::MAX):
                    // only the outermost function has an offset.
                    let entry = u64::from(function.entry_pc());
                    Resolved {
                        name: demangle(function.name_for_demangling()),
                        offset: (outermost && function.entry_pc() != u32::MAX)
                            .then(|| offset.saturating_sub(entry)),
                        inline: !outermost,
                        file: loc.file().map(|f| f.full_path()).filter(|p| !p.is_empty()),
                        line: (loc.line() > 0).then(|| u64::from(loc.line())),
                    }
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

struct Resolved {
    name: String,
    offset: Option<u64>,
    inline: bool,
    file: Option<String>,
    line: Option<u64>,
}

/// A file rebuilt in place gets a new key, so its cache is rebuilt.
fn cache_key(uuid: &str, arch: &str, path: &Path, size: u64, mtime_ns: u128) -> String {
    let digest = Sha256::digest(format!("{}|{size}|{mtime_ns}", path.display()).as_bytes());
    let stamp: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    format!("{uuid}-{arch}-{stamp}")
}

fn demangle(name: Name<'_>) -> String {
    name.try_demangle(DemangleOptions::complete()).into_owned()
}

/// More than any symcache: they are a fraction of their symbol file's size.
const MAX_CACHED_SYMCACHE: u64 = 1 << 30;

/// A symcache from the cache folder: `None` when there is none; an error saying what is wrong
/// when what is there is not a regular file of a sane size. Opened without following a symlink
/// and without waiting on a FIFO, then checked on the open handle: a symlink to `/dev/zero` would
/// be read forever, a FIFO would block the command, and checking the path first would leave a
/// window to swap the file.
fn read_cached(path: &Path) -> Result<Option<Vec<u8>>, String> {
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
    if meta.len() > MAX_CACHED_SYMCACHE {
        return Err(format!("is {} bytes, more than any symcache", meta.len()));
    }
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(
        &mut std::io::Read::take(file, MAX_CACHED_SYMCACHE),
        &mut bytes,
    )
    .map_err(|e| format!("cannot be read ({e})"))?;
    Ok(Some(bytes))
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

/// Writes a symcache into the cache folder. The temporary is created exclusively under a random
/// name in the same folder (never a predictable name that a planted symlink could redirect to
/// another file), then renamed over `path`, so a concurrent reader sees the old file or the new
/// one, never half. A cache that cannot be written is only slower next time: failures are
/// ignored.
fn store(path: &Path, bytes: &[u8]) {
    let Some(dir) = path.parent() else { return };
    let Ok(mut tmp) = tempfile::Builder::new()
        .prefix(".symcache-")
        .suffix(".tmp")
        .tempfile_in(dir)
    else {
        return;
    };
    if std::io::Write::write_all(&mut tmp, bytes).is_ok() {
        // On failure the temporary is removed when `tmp` is dropped.
        let _ = tmp.persist(path);
    }
}

/// Symbol files up to this size are read into memory; larger ones are copied to a private
/// temporary that is mapped. Measured (docs/symbols.md): reading costs about 0.6 ms per MiB, the
/// kernel's copy about 0.4 ms per MiB plus some 50 µs to make the temporary; so small files are
/// cheaper read, large ones copied, and the copy keeps large files out of the process's memory.
const READ_WHOLE_UP_TO: u64 = 4 << 20;

/// A symbol file's bytes, safe from the file changing under us. A mapped file that shrinks while
/// it is read (a build replacing it, a copy in progress) kills the process with SIGBUS, which no
/// error handling can catch; so the original is never mapped. Files up to [`READ_WHOLE_UP_TO`]
/// are read into memory; a larger one (a big dSYM) is copied, by the kernel where it can, into an
/// unlinked temporary in `scratch` (the cache folder when there is one: it is on disk, where the
/// system's temporary folder may be memory) or the system's temporary folder, and the copy, which
/// has no name another program could open, is mapped: its pages stay reclaimable page cache instead of
/// gigabytes of the process's own memory.
fn read_symbol_file(path: &Path, scratch: Option<&Path>) -> std::io::Result<ByteView<'static>> {
    let file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    // Read up to the size it had when opened: a file that keeps growing is not read forever.
    let mut file = std::io::Read::take(file, size);
    if size <= READ_WHOLE_UP_TO {
        return ByteView::read(file);
    }
    let mut copy = match scratch {
        Some(dir) => tempfile::tempfile_in(dir).or_else(|_| tempfile::tempfile())?,
        None => tempfile::tempfile()?,
    };
    std::io::copy(&mut file, &mut copy)?;
    ByteView::map_file(copy)
}

fn build_symcache(o: &IndexedObject, scratch: Option<&Path>) -> Option<Vec<u8>> {
    let view = read_symbol_file(&o.path, scratch).ok()?;
    let archive = Archive::parse(&view).ok()?;
    let object: Object = archive.objects().filter_map(Result::ok).find(|obj| {
        obj.debug_id().uuid().hyphenated().to_string() == o.uuid && obj.arch().to_string() == o.arch
    })?;
    let mut converter = SymCacheConverter::new();
    converter.process_object(&object).ok()?;
    let mut out = Vec::new();
    converter
        .serialize(&mut std::io::Cursor::new(&mut out))
        .ok()?;
    Some(out)
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

    /// C6: a symbol file that shrinks while crashdelta reads it (a build replacing it in place)
    /// must not kill the process. A mapped file would: touching a page past the new end raises
    /// SIGBUS, and this test process would die instead of failing an assertion.
    #[test]
    fn a_symbol_file_that_shrinks_after_opening_is_still_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("AGXMetalG16X");
        let content: Vec<u8> = (0..256 * 1024u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &content).unwrap();
        let view = read_symbol_file(&path, None).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(0)
            .unwrap();
        assert_eq!(view.as_slice(), content.as_slice());
    }

    /// The same for a file over [`READ_WHOLE_UP_TO`], which is copied and the copy mapped.
    #[test]
    fn a_large_symbol_file_that_shrinks_after_opening_is_still_read_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("AGXMetalG16X.dSYM");
        let size = usize::try_from(READ_WHOLE_UP_TO).unwrap() + 4096;
        let content: Vec<u8> = (0..size).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &content).unwrap();
        let view = read_symbol_file(&path, Some(dir.path())).unwrap();
        std::fs::File::options()
            .write(true)
            .open(&path)
            .unwrap()
            .set_len(0)
            .unwrap();
        assert!(view.as_slice() == content.as_slice());
        // The copy is unlinked: nothing is left in the scratch folder but the original.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }
}
