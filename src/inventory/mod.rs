//! Inventories of the report folders: every report file with its identity, and the difference
//! between two inventories.
//!
//! A report's identity is its incident id (Apple: "two reports never share the same identifier"),
//! else its file name, size and modification time (what a move into `Retired/` keeps). Counting
//! files is wrong: macOS moves reports into `Retired/` and deletes old ones by rotation, and other
//! programs crash meanwhile. "New" is the set difference of identities, never `after - before`.
//!
//! Identity must never make a new file disappear. A report at a new path is a move only when its
//! old path no longer holds it; a copy (the old path still holds the same incident) is new, and
//! flagged as a duplicate. A folder named twice, a folder and its own `Retired/`, or nested
//! folders are walked once (by device and inode, and by containment), so that before + new -
//! removed = after, always.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::report::ReportKind;
use crate::report::{PEEK_BYTES, Peek, peek};

mod cache;
pub use cache::HeadCache;
use cache::{FolderCache, Source, Stamp, Update};

/// The `schema` an inventory file carries; [`Inventory::read`] refuses any other but
/// [`SCHEMA_V1`].
pub const SCHEMA: &str = "crashdelta.inventory/2";

/// The first inventories' `schema`, still read: they differ only in `peek.process`, the name
/// alone where [`SCHEMA`] writes the process object (an earlier CI step may have run an older
/// crashdelta).
pub const SCHEMA_V1: &str = "crashdelta.inventory/1";

/// Why an inventory could not be taken or read.
#[derive(Debug, Error)]
pub enum InventoryError {
    #[error(
        "none of the report folders exists: {}. On macOS they are ~/Library/Logs/DiagnosticReports and \
         /Library/Logs/DiagnosticReports; elsewhere name one with --reports-dir",
        .0.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", ")
    )]
    /// None of the folders to scan exists (the folders are listed): a scan of nothing would
    /// find no crash whatever happened.
    NoFolder(Vec<PathBuf>),
    /// A report folder that exists could not be listed (permissions): an empty result would
    /// hide crashes.
    #[error("cannot read the report folder {path}: {source}")]
    Unreadable {
        /// The folder.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// A saved inventory file could not be read.
    #[error("cannot read inventory {path}: {source}")]
    ReadInventory {
        /// The inventory file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// A saved inventory that is not a regular file (`/dev/zero`, a FIFO), or is over
    /// [`crate::input::MAX_INVENTORY_BYTES`]: refused before it is read.
    #[error("cannot read inventory: {0}")]
    Refused(crate::input::InputError),
    /// A file read as an inventory is not one: not JSON of the right shape, or another
    /// [`SCHEMA`].
    #[error("{path} is not a crashdelta inventory: {message}")]
    BadInventory {
        /// The file.
        path: PathBuf,
        /// What is wrong with it: the JSON error, or the schema found.
        message: String,
    },
}

/// The default folders: the user's and the system's DiagnosticReports (their `Retired/`
/// subfolders are inside them and are walked too).
pub fn default_folders() -> Vec<PathBuf> {
    let mut folders = Vec::new();
    if let Some(home) = std::env::var_os("HOME") {
        folders.push(Path::new(&home).join("Library/Logs/DiagnosticReports"));
    }
    folders.push(PathBuf::from("/Library/Logs/DiagnosticReports"));
    folders
}

/// The default folders that can be listed, and for each one that exists and cannot be listed,
/// why not. Named folders (`--reports-dir`) that cannot be read are an error
/// ([`InventoryError::Unreadable`]): an empty listing would hide crashes. The system folder among
/// the defaults is different: ReportCrash writes the reports of the user's own processes (the
/// test run's) into `~/Library/Logs/DiagnosticReports`, and `/Library/Logs/DiagnosticReports`
/// holds those of processes run by the system or by other users, which a user who is not an
/// administrator may not be allowed to list. Failing every `watch` for it would make the tool
/// unusable for that user; a warning says what is not seen.
pub fn readable_default_folders() -> (Vec<PathBuf>, Vec<String>) {
    readable(default_folders())
}

/// `folders` without those that exist and cannot be listed, and a warning for each of those.
fn readable(folders: Vec<PathBuf>) -> (Vec<PathBuf>, Vec<String>) {
    let mut warnings = Vec::new();
    let kept = folders
        .into_iter()
        .filter(|f| match std::fs::read_dir(f) {
            Err(e) if f.exists() => {
                warnings.push(format!(
                    "cannot read the report folder {} ({e}): crash reports written there (by \
                     processes of the system or of other users) are not seen. Your own processes' \
                     reports go to ~/Library/Logs/DiagnosticReports; name the folders with \
                     --reports-dir to silence this",
                    f.display()
                ));
                false
            }
            _ => true,
        })
        .collect();
    (kept, warnings)
}

/// A report folder the inventory looked at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Folder {
    /// The folder's path, as displayed.
    pub path: String,
    /// Whether it existed when the inventory was taken; a missing folder is recorded, not an
    /// error, as long as another exists.
    pub exists: bool,
    /// The folder already walked that holds this one (the same folder under another name, or a
    /// folder it is inside): this one was not walked again, so no report is counted twice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub within: Option<String>,
}

/// One file in a report folder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The file's path, as displayed (under `Retired/` once macOS has moved it there).
    pub path: String,
    /// The file's size in bytes; 0 when the file could not be opened or its metadata read.
    pub size: u64,
    /// Modification time, nanoseconds since the Unix epoch (exact, for identity).
    pub mtime_ns: i128,
    /// What the head of the file says; `None` for a file that is not (yet) a report.
    pub peek: Option<Peek>,
    /// Set when the file could not be read.
    pub error: Option<String>,
    /// The path's exact bytes, escaped ([`escape_path`]), when it is not UTF-8 and `path` is
    /// therefore lossy; absent otherwise. [`Entry::file`] gives the real path back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path_bytes: Option<String>,
}

impl Entry {
    /// The file itself: `path`, or, for a name that is not UTF-8, the exact bytes kept in
    /// `path_bytes`, so that the file can still be read and copied.
    pub fn file(&self) -> PathBuf {
        self.path_bytes
            .as_deref()
            .and_then(unescape_path)
            .unwrap_or_else(|| PathBuf::from(&self.path))
    }

    /// The identity that survives a move into `Retired/`: the incident id, else (a legacy
    /// `.crash`, a report without one) the file name, size and modification time, which a rename
    /// into another folder keeps. A file that could not be read has only its path.
    pub fn identity(&self) -> String {
        match self.peek.as_ref().and_then(|p| p.incident_id.as_deref()) {
            Some(id) => format!("incident:{}", id.to_ascii_uppercase()),
            None if self.error.is_some() => format!("error:{}", self.path),
            None => {
                let name = Path::new(&self.path)
                    .file_name()
                    .map_or_else(|| self.path.clone(), |n| n.to_string_lossy().into_owned());
                format!("file:{name}|{}|{}", self.size, self.mtime_ns)
            }
        }
    }

    /// Whether the head says this is a process crash report ([`ReportKind::Crash`]). Only the
    /// head is read: a 309 whose body says `isNonFatal` counts here, though parsing it gives
    /// [`ReportKind::NonFatal`].
    ///
    /// A file named as a crash report is (`.ips`, `.crash`) whose head shows no report (empty,
    /// cut inside its header line, a damaged or overlong header) counts too: it may be the very
    /// crash the gate is for, and only reading it whole can tell (fail closed).
    pub fn is_crash(&self) -> bool {
        match &self.peek {
            Some(p) => p.kind == ReportKind::Crash,
            None => self.error.is_none() && self.named_as_crash_report(),
        }
    }

    /// Whether the head shows a report of any kind (a crash, a jetsam event, a resource report),
    /// or the file is named as a crash report ([`Entry::is_crash`]).
    pub fn is_report(&self) -> bool {
        self.peek.is_some() || self.is_crash()
    }

    /// Whether the file's name is a crash report's: `.ips` or `.crash`.
    pub fn named_as_crash_report(&self) -> bool {
        Path::new(&self.path)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("ips") || e.eq_ignore_ascii_case("crash"))
    }

    /// Whether the file is inside a `Retired` folder, where macOS moves reports it has
    /// processed.
    pub fn in_retired(&self) -> bool {
        Path::new(&self.path)
            .components()
            .any(|c| c.as_os_str() == "Retired")
    }
}

/// Every file in the report folders at one moment; saved as JSON to compare with a later one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Inventory {
    /// [`SCHEMA`], so that a saved inventory is recognised as one.
    pub schema: String,
    /// The crashdelta that took it; absent from inventories written before it was recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<crate::Tool>,
    /// When the scan started.
    pub taken_at: DateTime<Utc>,
    /// The folders scanned, in the order given, with whether each existed.
    pub folders: Vec<Folder>,
    /// Every file under the folders except hidden ones (`Retired/` included), reports or not,
    /// in walk order (file-name order within each folder); a subfolder that could not be listed
    /// is an entry carrying its error.
    pub entries: Vec<Entry>,
}

impl Inventory {
    /// How many entries are crash reports, as far as their heads tell ([`Entry::is_crash`]).
    pub fn crash_count(&self) -> usize {
        self.entries.iter().filter(|e| e.is_crash()).count()
    }

    /// Reads an inventory saved as JSON, refusing a file with another [`SCHEMA`]. Only a
    /// regular file up to [`crate::input::MAX_INVENTORY_BYTES`] is read: the file comes from an
    /// earlier CI step, and `/dev/zero` or a runaway file must not fill memory.
    pub fn read(path: &Path) -> Result<Inventory, InventoryError> {
        let bytes =
            crate::input::read_capped(path, crate::input::INVENTORY).map_err(|e| match e {
                crate::input::InputError::Read { path, source } => {
                    InventoryError::ReadInventory { path, source }
                }
                other => InventoryError::Refused(other),
            })?;
        let inv: Inventory =
            serde_json::from_slice(&bytes).map_err(|e| InventoryError::BadInventory {
                path: path.into(),
                message: e.to_string(),
            })?;
        if inv.schema != SCHEMA && inv.schema != SCHEMA_V1 {
            return Err(InventoryError::BadInventory {
                path: path.into(),
                message: format!("schema {:?}, expected {SCHEMA:?}", inv.schema),
            });
        }
        Ok(inv)
    }
}

/// An inventory file is input from an earlier CI step, and may be crafted: an entry could name
/// any file (`~/.ssh/id_rsa`), which `diff` would read and `--collect` copy into an artifact.
/// [`Inventory::confine`] and [`check_report_file`] accept only files inside the report folders.
impl Inventory {
    /// Drops the entries whose path is not inside one of `folders` (with no `..`, and, for a file
    /// that exists, once links are resolved); says why for each, for the run's warnings. A file
    /// that no longer exists is kept when its path is inside lexically: it is a new report that
    /// cannot be read, which the gate judges.
    pub fn confine(&mut self, folders: &[PathBuf]) -> Vec<String> {
        let roots = roots(folders);
        let mut dropped = Vec::new();
        self.entries
            .retain(|e| match inside(&e.file(), folders, &roots) {
                Ok(()) => true,
                Err(why) => {
                    dropped.push(format!(
                        "the inventory lists {}, which is ignored: {why}",
                        e.path
                    ));
                    false
                }
            });
        dropped
    }
}

fn roots(folders: &[PathBuf]) -> Vec<PathBuf> {
    folders
        .iter()
        .filter_map(|f| f.canonicalize().ok())
        .collect()
}

fn inside(path: &Path, folders: &[PathBuf], roots: &[PathBuf]) -> Result<(), String> {
    if path
        .components()
        .any(|c| matches!(c, std::path::Component::ParentDir))
    {
        return Err("its path goes up a folder (`..`)".into());
    }
    match path.canonicalize() {
        Ok(real) if roots.iter().any(|r| real.starts_with(r)) => Ok(()),
        Ok(real) => Err(format!(
            "it resolves to {}, outside the report folders ({})",
            real.display(),
            folders
                .iter()
                .map(|f| f.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        )),
        Err(e)
            if e.kind() == io::ErrorKind::NotFound
                && folders.iter().any(|f| path.starts_with(f)) =>
        {
            Ok(())
        }
        Err(e) => Err(format!(
            "it cannot be resolved inside the report folders: {e}"
        )),
    }
}

/// Whether `path` may be copied out of the report folders (`--collect` after `diff`): inside one
/// of `folders` once links are resolved, a regular file itself (not a link), and a report by its
/// head. `Err` says why not.
pub fn check_report_file(path: &Path, folders: &[PathBuf]) -> Result<(), String> {
    inside(path, folders, &roots(folders))?;
    let meta = std::fs::symlink_metadata(path).map_err(|e| e.to_string())?;
    if !meta.file_type().is_file() {
        return Err("it is not a regular file".into());
    }
    if !entry_for(path).is_report() {
        return Err("its head is not a crash report's".into());
    }
    Ok(())
}

fn mtime_ns(meta: &std::fs::Metadata) -> i128 {
    meta.modified()
        .ok()
        .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos() as i128)
}

/// A path's bytes with `\` as `\\` and every byte that is not printable ASCII as `\xHH`, when
/// the path is not UTF-8; `None` when it is (its text says it exactly). [`unescape_path`] undoes
/// it.
pub fn escape_path(path: &Path) -> Option<String> {
    use std::fmt::Write as _;
    use std::os::unix::ffi::OsStrExt;
    if path.to_str().is_some() {
        return None;
    }
    let mut out = String::new();
    for &b in path.as_os_str().as_bytes() {
        match b {
            b'\\' => out.push_str("\\\\"),
            0x20..=0x7e => out.push(char::from(b)),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    Some(out)
}

/// The path [`escape_path`] escaped; `None` when `text` is not such an escape.
pub fn unescape_path(text: &str) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStringExt;
    unescape_bytes(text.as_bytes()).map(|out| PathBuf::from(std::ffi::OsString::from_vec(out)))
}

/// The bytes of text escaped as [`escape_path`] escapes (`\\`, `\xHH`); `None` for a broken
/// escape. The head cache's fields are read back with it too.
fn unescape_bytes(text: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut bytes = text.iter().copied();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        match bytes.next()? {
            b'\\' => out.push(b'\\'),
            b'x' => {
                let hex = [bytes.next()?, bytes.next()?];
                let hex = std::str::from_utf8(&hex).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
            }
            _ => return None,
        }
    }
    Some(out)
}

/// How much of a head [`entry_for`] asks for first; the rest of [`PEEK_BYTES`] only when the
/// first line does not decide.
const FIRST_HEAD_READ: usize = 1024;

/// What `path.display()` writes, without going through the formatter: for a UTF-8 path (all
/// but a few) a copy; `display().to_string()` was 5 % of `snapshot`'s user CPU.
fn display(path: &Path) -> String {
    path.to_str()
        .map_or_else(|| path.to_string_lossy().into_owned(), str::to_owned)
}

/// Reads one file's entry: its metadata and the head of its contents.
pub fn entry_for(path: &Path) -> Entry {
    read_entry(path).0
}

/// [`entry_for`], and the stamp of the file read, for the [`HeadCache`] (`None` when it could
/// not be opened).
fn read_entry(path: &Path) -> (Entry, Option<Stamp>) {
    let mut stamp = None;
    let mut entry = Entry {
        path: display(path),
        size: 0,
        mtime_ns: 0,
        peek: None,
        error: None,
        path_bytes: escape_path(path),
    };
    let read = (|| -> io::Result<()> {
        let file = File::open(path)?;
        let meta = file.metadata()?;
        entry.size = meta.len();
        entry.mtime_ns = mtime_ns(&meta);
        stamp = Some(Stamp::of(&meta));
        // On the stack: an inventory reads thousands of heads, and each is dropped at once.
        let mut head = [0u8; PEEK_BYTES];
        let mut filled = 0;
        // Asked for in two steps: a JSON header line (a few hundred bytes) decides most heads,
        // and then the rest is not copied out of the page cache, nor is the end of a small file
        // read again (over 10 000 reports: ~6 % less system time, docs/performance.md).
        let mut limit = FIRST_HEAD_READ;
        let mut file = file;
        while let Some(rest) = head.get_mut(filled..limit).filter(|r| !r.is_empty()) {
            match file.read(rest) {
                Ok(0) => break,
                Ok(n) => filled += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
            let got = head.get(..filled).unwrap_or_default();
            if let Some(decided) = crate::report::peek_first_line(got) {
                // What `peek` of the whole head gives: it decides by this same line.
                entry.peek = decided;
                return Ok(());
            }
            if filled == limit {
                limit = PEEK_BYTES;
            }
        }
        entry.peek = peek(head.get(..filled).unwrap_or_default());
        Ok(())
    })();
    if let Err(e) = read {
        entry.error = Some(e.to_string());
    }
    (entry, stamp)
}

/// A listed file, or an entry already settled by a listing error.
#[derive(Clone)]
enum Pending {
    /// A file, and the index of its folder's cache in [`Listing`]'s when it has one.
    File(PathBuf, Option<u32>),
    /// The path the listing error names (the folder's when it names none), and the entry. Boxed:
    /// an entry is ~20 times the size of a path, and inline it made every listed file as big
    /// (10 000 reports: a 6 MB listing grown by doubling, a fifth of `snapshot`'s time in
    /// copying it and in the kernel zeroing fresh pages for it; docs/performance.md).
    Done(PathBuf, Box<Entry>),
}

/// Reads the heads of the listed files on all cores, handing each entry to `emit` in the
/// listing's order: many small reads go to a worker at a time, so the queue costs less than the
/// reads. A file whose folder has a cache is looked up there first, and each cache is written
/// back with what was read (when every entry was emitted).
fn read_heads<E>(
    files: Vec<Pending>,
    caches: &[FolderCache],
    listed: SystemTime,
    mut emit: impl FnMut(Entry) -> Result<(), E>,
) -> Result<(), E> {
    let mut updates: Vec<Update<'_>> = caches.iter().map(Update::new).collect();
    crate::parallel::ordered(
        files.into_iter(),
        64,
        |pending| resolve(pending, caches),
        |resolved| {
            let Resolved { entry, cached } = resolved;
            if let Some((path, index, source)) = cached
                && let Some(update) = updates.get_mut(index as usize)
            {
                update.record(&path, &entry, source, listed);
            }
            emit(entry)
        },
    )?;
    updates.into_iter().for_each(Update::save);
    Ok(())
}

/// A listed file's entry, and for a file of a cached folder, its path, the cache's index and
/// where the head came from.
struct Resolved {
    entry: Entry,
    cached: Option<(PathBuf, u32, Source)>,
}

/// Reads one listed file's entry (a listing error's is already settled), from its folder's cache
/// when the file is as recorded there.
fn resolve(pending: Pending, caches: &[FolderCache]) -> Resolved {
    match pending {
        Pending::File(path, None) => Resolved {
            entry: entry_for(&path),
            cached: None,
        },
        Pending::File(path, Some(index)) => {
            let found = caches.get(index as usize).and_then(|c| c.find(&path));
            let (entry, source) = match found {
                Some((entry, line)) => (entry, Source::Cache(line)),
                None => {
                    let (entry, stamp) = read_entry(&path);
                    (entry, Source::Read(stamp))
                }
            };
            Resolved {
                entry,
                cached: Some((path, index, source)),
            }
        }
        Pending::Done(_, entry) => Resolved {
            entry: *entry,
            cached: None,
        },
    }
}

/// The files of the report folders, listed but not yet read: what [`list`] found. [`Listing::read`]
/// makes the [`Inventory`]; [`Listing::write_json`] writes it without holding its entries.
#[derive(Clone)]
pub struct Listing {
    taken_at: DateTime<Utc>,
    folders: Vec<Folder>,
    files: Vec<Pending>,
    /// The caches of the walked folders that have one ([`HeadCache`]), which `files` index.
    caches: Vec<FolderCache>,
}

/// How many entries [`Listing::write_json`] wrote, and how many of them were crash reports.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Written {
    /// Entries written: every file listed.
    pub entries: usize,
    /// Those whose heads say crash report ([`Entry::is_crash`]).
    pub crashes: usize,
}

impl Listing {
    /// The folders the listing looked at, in the order given.
    pub fn folders(&self) -> &[Folder] {
        &self.folders
    }

    /// Reads every head: the inventory.
    pub fn read(self) -> Inventory {
        let Listing {
            taken_at,
            folders,
            files,
            caches,
        } = self;
        let mut entries = Vec::with_capacity(files.len());
        let done: Result<(), std::convert::Infallible> =
            read_heads(files, &caches, taken_at.into(), |e| {
                entries.push(e);
                Ok(())
            });
        match done {
            Ok(()) => {}
            Err(never) => match never {},
        }
        Inventory {
            schema: SCHEMA.into(),
            tool: Some(crate::Tool::this()),
            taken_at,
            folders,
            entries,
        }
    }

    /// Writes the inventory as `serde_json::to_writer_pretty` writes [`Listing::read`]'s, byte
    /// for byte, each entry as soon as its head is read: the writing overlaps the reading, and the
    /// entries are never all in memory (10 000 reports: `snapshot` 45–48 → 43–46 ms, peak RSS
    /// 22.8 → 20.5 MB; docs/performance.md).
    pub fn write_json(self, out: impl io::Write) -> Result<Written, serde_json::Error> {
        use serde::ser::{SerializeStruct, Serializer};
        let written = std::cell::Cell::new(Written::default());
        let mut json = serde_json::Serializer::pretty(out);
        // The fields of `Inventory`, in its order (a unit test holds the two to the same bytes).
        let mut doc = (&mut json).serialize_struct("Inventory", 5)?;
        doc.serialize_field("schema", SCHEMA)?;
        doc.serialize_field("tool", &crate::Tool::this())?;
        doc.serialize_field("taken_at", &self.taken_at)?;
        doc.serialize_field("folders", &self.folders)?;
        let entries = StreamedEntries {
            files: std::cell::Cell::new(Some(self.files)),
            caches: &self.caches,
            listed: self.taken_at.into(),
            written: &written,
        };
        doc.serialize_field("entries", &entries)?;
        doc.end()?;
        Ok(written.get())
    }
}

/// The `entries` of [`Listing::write_json`]: a sequence serialised as its heads are read.
struct StreamedEntries<'a> {
    /// Taken by the one call of `serialize`.
    files: std::cell::Cell<Option<Vec<Pending>>>,
    caches: &'a [FolderCache],
    listed: SystemTime,
    written: &'a std::cell::Cell<Written>,
}

impl Serialize for StreamedEntries<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeSeq;
        let mut seq = serializer.serialize_seq(None)?;
        if let Some(files) = self.files.take() {
            read_heads(files, self.caches, self.listed, |entry| {
                let mut w = self.written.get();
                w.entries += 1;
                w.crashes += usize::from(entry.is_crash());
                self.written.set(w);
                seq.serialize_element(&entry)
            })?;
        }
        seq.end()
    }
}

impl Pending {
    /// The path as listed: the file's, or the one the listing error names.
    fn listed_path(&self) -> &[u8] {
        use std::os::unix::ffi::OsStrExt;
        match self {
            Pending::File(path, _) | Pending::Done(path, _) => path.as_os_str().as_bytes(),
        }
    }
}

/// Puts one folder's listing in the order a walk sorted by file name gives: depth first, each
/// folder's names in byte order, a folder's contents where its name sorts. That is the order of
/// the paths compared component by component; every path starts with the same folder and is
/// joined with single `/`, so replacing `/` by a byte below every other (NUL, which no name
/// holds) makes it the paths' byte order. Each key is made once, not at every comparison.
fn sort_as_walked(listed: &mut [Pending]) {
    listed.sort_by_cached_key(|p| {
        p.listed_path()
            .iter()
            .map(|&b| if b == b'/' { 0 } else { b })
            .collect::<Vec<u8>>()
    });
}

/// Takes the inventory of `folders`, reading every head. A folder that does not exist is
/// recorded as such; it is an error when none exists, or when one that exists cannot be read
/// (never an empty pass).
pub fn scan(folders: &[PathBuf]) -> Result<Inventory, InventoryError> {
    scan_with(folders, &HeadCache::off())
}

/// [`scan`], with the heads of unchanged files taken from `cache` (the same inventory, faster;
/// [`HeadCache`]).
pub fn scan_with(folders: &[PathBuf], cache: &HeadCache) -> Result<Inventory, InventoryError> {
    Ok(list_with(folders, cache)?.read())
}

/// Lists the files of `folders`, the first half of [`scan`]: the heads are read afterwards, by
/// [`Listing::read`] or [`Listing::write_json`]. The same errors as [`scan`].
pub fn list(folders: &[PathBuf]) -> Result<Listing, InventoryError> {
    list_with(folders, &HeadCache::off())
}

/// [`list`], with the heads of unchanged files to be taken from `cache` ([`HeadCache`]).
pub fn list_with(folders: &[PathBuf], cache: &HeadCache) -> Result<Listing, InventoryError> {
    let taken_at = Utc::now();
    let mut caches = Vec::new();
    // The walk lists; the heads are read afterwards, on all cores (thousands of small reads).
    let mut out: Vec<Pending> = Vec::new();
    let mut listed = Vec::new();
    let walked = distinct_folders(folders);
    for (folder, within) in folders.iter().zip(walked) {
        let exists = folder.is_dir();
        listed.push(Folder {
            path: folder.display().to_string(),
            exists,
            within: within.map(|w| w.display().to_string()),
        });
        if !exists || listed.last().is_some_and(|f| f.within.is_some()) {
            continue;
        }
        std::fs::read_dir(folder).map_err(|source| InventoryError::Unreadable {
            path: folder.clone(),
            source,
        })?;
        // Listed unsorted, then sorted below: walkdir's `sort_by_file_name` finds each name
        // again with `Path::file_name` at every comparison, 14 % of `snapshot`'s user CPU over
        // 10 000 reports, all of it before the first head is read.
        let from = out.len();
        for item in walkdir::WalkDir::new(folder).follow_links(false) {
            match item {
                Ok(e) if e.file_type().is_file() => {
                    if e.file_name().to_string_lossy().starts_with('.') {
                        continue;
                    }
                    out.push(Pending::File(e.into_path(), None));
                }
                Ok(_) => {}
                Err(err) => {
                    // A file that vanished between listing and reading is rotation at work;
                    // anything else (a subfolder that cannot be listed) is recorded, not hidden.
                    if err
                        .io_error()
                        .is_some_and(|io| io.kind() == io::ErrorKind::NotFound)
                    {
                        continue;
                    }
                    if err.depth() == 0 {
                        let source = err
                            .into_io_error()
                            .unwrap_or_else(|| io::Error::other("walk failed"));
                        return Err(InventoryError::Unreadable {
                            path: folder.clone(),
                            source,
                        });
                    }
                    let at = err.path().unwrap_or(folder).to_owned();
                    out.push(Pending::Done(
                        at,
                        Box::new(Entry {
                            path: err.path().map_or_else(
                                || folder.display().to_string(),
                                |p| p.display().to_string(),
                            ),
                            size: 0,
                            mtime_ns: 0,
                            peek: None,
                            error: Some(err.to_string()),
                            path_bytes: err.path().and_then(escape_path),
                        }),
                    ));
                }
            }
        }
        if let Some(walked) = out.get_mut(from..) {
            sort_as_walked(walked);
            if let Some(opened) = cache.open(folder, walked.len())
                && let Ok(index) = u32::try_from(caches.len())
            {
                caches.push(opened);
                for pending in walked {
                    if let Pending::File(_, at) = pending {
                        *at = Some(index);
                    }
                }
            }
        }
    }
    if !listed.iter().any(|f| f.exists) {
        return Err(InventoryError::NoFolder(folders.to_vec()));
    }
    Ok(Listing {
        taken_at,
        folders: listed,
        files: out,
        caches,
    })
}

/// The device and inode of the folder a path names now (through links), if it is one: what
/// tells one folder from another under any name, and a folder from what replaced it.
pub fn folder_id(path: &Path) -> Option<(u64, u64)> {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(path)
        .ok()
        .filter(std::fs::Metadata::is_dir)
        .map(|m| (m.dev(), m.ino()))
}

/// For each folder, the earlier-walked folder that already covers it, if any: the same folder
/// (same device and inode: named twice, or through a symbolic link or a bind mount), or a folder
/// it is inside (`DiagnosticReports` and `DiagnosticReports/Retired`). When a folder holds one
/// named before it, the inner one is the one skipped, whatever the order: the outer walk covers
/// both.
fn distinct_folders(folders: &[PathBuf]) -> Vec<Option<PathBuf>> {
    let ids: Vec<Option<((u64, u64), PathBuf)>> = folders
        .iter()
        .map(|f| Some((folder_id(f)?, std::fs::canonicalize(f).ok()?)))
        .collect();
    ids.iter()
        .enumerate()
        .map(|(i, me)| {
            let (id, path) = me.as_ref()?;
            ids.iter().enumerate().find_map(|(j, other)| {
                let (other_id, other_path) = other.as_ref()?;
                let holds = if other_id == id {
                    // The same folder twice: the first name is walked.
                    j < i
                } else {
                    path.starts_with(other_path)
                };
                holds.then(|| folders.get(j).cloned()).flatten()
            })
        })
        .collect()
}

/// What changed between two inventories.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delta {
    /// Crash reports counted before and after (not all files).
    pub before: usize,
    /// Crash reports counted in the later inventory. `after - before` is not the number of new
    /// crashes: see [`Delta::new`].
    pub after: usize,
    /// Report files whose identity was not there before: crash reports and other kinds.
    pub new: Vec<Entry>,
    /// Reports that moved (into `Retired/`): same identity, new path.
    pub retired: Vec<Entry>,
    /// Reports that were there before and are gone (rotation).
    pub removed: Vec<Entry>,
    /// Files that could not be read in the after-inventory (and were not already unreadable).
    pub unreadable: Vec<Entry>,
    /// New files that are copies of another report: the same incident at a new path while the
    /// old path still holds it. Each is also in [`Delta::new`]; this says whose copy it is.
    pub duplicates: Vec<Duplicate>,
}

/// A new file that holds the same report as another file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Duplicate {
    /// The new file.
    pub path: String,
    /// The file that held the report already (before, or first among the new copies).
    pub of: String,
}

impl Delta {
    /// The new files that are crash reports, as far as their heads tell.
    pub fn new_crashes(&self) -> impl Iterator<Item = &Entry> {
        self.new.iter().filter(|e| e.is_crash())
    }
}

/// Compares two inventories by identity ([`Entry::identity`]): what is new, what moved, what
/// is gone, and what cannot be read now.
///
/// Per identity, the paths that hold it before and after decide: a path in both is unchanged; a
/// new path is a move (retired) when an old path no longer holds that identity, paired in
/// order; any further new path is a copy, new and flagged as a duplicate; an old path left
/// unpaired was removed. So before + new - removed = after for crash reports.
pub fn diff(before: &Inventory, after: &Inventory) -> Delta {
    let mut before_ids: HashMap<String, Vec<&Entry>> = HashMap::new();
    for e in &before.entries {
        before_ids.entry(e.identity()).or_default().push(e);
    }
    let mut after_ids: HashMap<String, Vec<&Entry>> = HashMap::new();
    for e in after.entries.iter().filter(|e| e.error.is_none()) {
        after_ids.entry(e.identity()).or_default().push(e);
    }
    let mut delta = Delta {
        before: before.crash_count(),
        after: after.crash_count(),
        ..Delta::default()
    };
    // Old paths whose identity moved away, per identity, consumed as moves are paired.
    let mut vacated: HashMap<String, Vec<&Entry>> = HashMap::new();
    for (id, olds) in &before_ids {
        let now = after_ids.get(id).map(Vec::as_slice).unwrap_or_default();
        let gone: Vec<&Entry> = olds
            .iter()
            .filter(|o| !now.iter().any(|n| n.path == o.path))
            .copied()
            .collect();
        vacated.insert(id.clone(), gone);
    }
    for e in &after.entries {
        let id = e.identity();
        if e.error.is_some() {
            // A file that cannot be read may be a crash report: it is reported, never skipped.
            // One that was already unreadable before is not news.
            if !before_ids.contains_key(&id) {
                delta.unreadable.push(e.clone());
            }
            continue;
        }
        if !e.is_report() {
            continue;
        }
        let olds = before_ids.get(&id).map(Vec::as_slice).unwrap_or_default();
        if olds.iter().any(|o| o.path == e.path) {
            continue;
        }
        let moved_from = vacated.get_mut(&id).and_then(|gone| {
            let first = gone.first().copied()?;
            gone.remove(0);
            Some(first)
        });
        if moved_from.is_some() {
            delta.retired.push(e.clone());
            continue;
        }
        // A copy of a report that is still where it was (or of another new copy): new, never
        // hidden, and said to be a copy.
        let original = olds.first().map(|o| o.path.clone()).or_else(|| {
            delta
                .new
                .iter()
                .find(|n| n.identity() == id)
                .map(|n| n.path.clone())
        });
        if let Some(of) = original {
            delta.duplicates.push(Duplicate {
                path: e.path.clone(),
                of,
            });
        }
        delta.new.push(e.clone());
    }
    for gone in vacated.into_values() {
        delta
            .removed
            .extend(gone.into_iter().filter(|e| e.is_report()).cloned());
    }
    // Walk order, for a stable output.
    let order: HashMap<&str, usize> = before
        .entries
        .iter()
        .enumerate()
        .map(|(i, e)| (e.path.as_str(), i))
        .collect();
    delta
        .removed
        .sort_by_key(|e| order.get(e.path.as_str()).copied().unwrap_or(usize::MAX));
    delta
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A default folder that exists and cannot be listed is left out with a warning that names
    /// it and the way out; one that does not exist is kept (the inventory records it as
    /// missing). "Cannot be listed" is a file where the folder should be: root lists a folder of
    /// mode 000, and the tests run as root here (the permission case is tests/macos.rs's, on a
    /// Mac, for /Library/Logs/DiagnosticReports).
    #[test]
    fn an_unreadable_default_folder_is_left_out_with_a_warning() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let closed = dir.path().join("closed");
        let missing = dir.path().join("missing");
        std::fs::write(&closed, "").unwrap_or_else(|e| panic!("{e}"));
        let (kept, warnings) = readable(vec![missing.clone(), closed.clone()]);
        assert_eq!(kept, vec![missing]);
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].contains(&closed.display().to_string()),
            "{warnings:?}"
        );
        assert!(warnings[0].contains("--reports-dir"), "{warnings:?}");
    }

    #[test]
    fn a_name_that_is_not_utf8_survives_the_inventory_file() {
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        let name = std::ffi::OsStr::from_bytes(b"Py\xffthon\\x.ips");
        let path = dir.path().join(name);
        std::fs::write(&path, "x").unwrap();
        let entry = entry_for(&path);
        assert!(entry.path.contains('\u{fffd}'), "{entry:?}");
        assert_eq!(entry.path, path.display().to_string());
        let back: Entry = serde_json::from_str(&serde_json::to_string(&entry).unwrap()).unwrap();
        assert_eq!(back.file(), path);
        assert_eq!(escape_path(Path::new("plain.ips")), None);
        assert_eq!(unescape_path("bad\\q"), None);
    }

    /// The listing sorted after the walk is in the order of a walk sorted by file name: names
    /// that sort around `/` (`-`, `.`, digits), folders between files, nested folders, upper
    /// case, a name that is not UTF-8, hidden files left out.
    #[test]
    fn entries_are_in_the_order_of_a_walk_sorted_by_file_name() {
        let dir = tempfile::tempdir().unwrap();
        crate::input::name_order::make(dir.path());
        let expected = crate::input::name_order::walked(dir.path());
        let inv = scan(&[dir.path().to_path_buf()]).unwrap();
        let got: Vec<PathBuf> = inv.entries.iter().map(Entry::file).collect();
        assert_eq!(got, expected);
        assert!(got.len() > 15, "{got:?}");
    }

    /// A head read in two steps peeks as the whole head does: headers shorter and longer than
    /// the first read, a first line that does not decide, a file shorter than the first read.
    #[test]
    fn the_streamed_inventory_is_the_inventory_byte_for_byte() {
        // `snapshot` writes each entry as its head is read (`Listing::write_json`); what it
        // writes must be what an `Inventory` serialises to, whatever the entries: crashes,
        // other files, a name that is not UTF-8, a missing folder, and no entries at all.
        use std::os::unix::ffi::OsStrExt;
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.ips", &header("A"));
        write(dir.path(), "sub/b.ips", &header("B"));
        write(dir.path(), "notes.txt", "not a report");
        std::fs::write(
            dir.path().join(std::ffi::OsStr::from_bytes(b"c\xff.ips")),
            "x",
        )
        .unwrap();
        let empty = tempfile::tempdir().unwrap();
        for folders in [
            vec![dir.path().to_path_buf(), dir.path().join("missing")],
            vec![empty.path().to_path_buf()],
        ] {
            let listing = list(&folders).unwrap();
            let inventory = listing.clone().read();
            let mut streamed = Vec::new();
            let written = listing.write_json(&mut streamed).unwrap();
            let whole = serde_json::to_vec_pretty(&inventory).unwrap();
            assert_eq!(
                String::from_utf8_lossy(&streamed),
                String::from_utf8_lossy(&whole)
            );
            assert_eq!(written.entries, inventory.entries.len());
            assert_eq!(written.crashes, inventory.crash_count());
        }
        let written = list(&[dir.path().to_path_buf()])
            .unwrap()
            .write_json(io::sink())
            .unwrap();
        // `c\xff.ips` shows no report but is named as one: a crash until read whole.
        assert_eq!((written.entries, written.crashes), (4, 3));
    }

    #[test]
    fn a_head_read_in_two_steps_peeks_as_the_whole_head() {
        let dir = tempfile::tempdir().unwrap();
        let long_name = "P".repeat(FIRST_HEAD_READ + 100);
        let texts = [
            header("AB-1"),
            format!(
                "{{\"bug_type\":\"309\",\"name\":\"{long_name}\",\"incident_id\":\"X\"}}\n{{}}\n"
            ),
            format!("\n\n{}", header("AB-2")),
            format!(
                "{}{}",
                "x".repeat(FIRST_HEAD_READ - 1),
                "\nProcess: P [1]\n"
            ),
            "Process: P [1]\nIncident Identifier: ID\n".to_owned(),
            "{\"bug_type\":\"309\"".to_owned(),
            String::new(),
        ];
        for (i, text) in texts.iter().enumerate() {
            let path = write(dir.path(), &format!("{i}.ips"), text);
            let bytes = text.as_bytes();
            let whole = peek(bytes.get(..PEEK_BYTES).unwrap_or(bytes));
            assert_eq!(entry_for(&path).peek, whole, "{i}");
        }
    }

    #[test]
    fn a_crafted_inventory_is_confined_to_the_report_folders() {
        let reports = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let secret = write(outside.path(), "id_rsa", "secret");
        let mut inv = scan(&[reports.path().to_path_buf()]).unwrap();
        let listed = |p: &Path| Entry {
            path: p.display().to_string(),
            size: 6,
            mtime_ns: 0,
            peek: None,
            error: None,
            path_bytes: None,
        };
        let link = reports.path().join("link.ips");
        std::os::unix::fs::symlink(&secret, &link).unwrap();
        inv.entries = vec![
            listed(&secret),
            listed(&reports.path().join("../x/id_rsa")),
            listed(&link),
            listed(&reports.path().join("gone.ips")),
        ];
        let dropped = inv.confine(&[reports.path().to_path_buf()]);
        assert_eq!(dropped.len(), 3, "{dropped:?}");
        assert_eq!(inv.entries.len(), 1);
        assert!(check_report_file(&secret, &[reports.path().to_path_buf()]).is_err());
        let not_report = write(reports.path(), "notes.txt", "hello");
        let e = check_report_file(&not_report, &[reports.path().to_path_buf()]).unwrap_err();
        assert!(e.contains("not a crash report"), "{e}");
    }

    /// A head cache in `dir` that caches every folder and records files just written.
    fn eager_cache(dir: &Path) -> HeadCache {
        HeadCache {
            min_files: 0,
            settled: std::time::Duration::ZERO,
            ..HeadCache::at(dir)
        }
    }

    /// The one cache file in `dir`, and its lines after the header.
    fn cache_file(dir: &Path) -> (PathBuf, String, Vec<String>) {
        let files: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        assert_eq!(files.len(), 1, "{files:?}");
        let file = files[0].clone();
        let text = String::from_utf8(std::fs::read(&file).unwrap()).unwrap();
        let lines = text.lines().skip(1).map(str::to_owned).collect();
        (file, text, lines)
    }

    /// A folder of reports and other files: crashes, a legacy report, a file that is no report,
    /// an empty `.ips`, nested `Retired/` and a name that is not UTF-8.
    fn mixed_folder(dir: &Path) {
        use std::os::unix::ffi::OsStrExt;
        write(dir, "a.ips", &header("A"));
        write(dir, "Retired/b.ips", &header("B"));
        write(
            dir,
            "c.crash",
            "Process:         Python [4242]\nIncident Identifier: C\n",
        );
        write(dir, "notes.txt", "not a report");
        write(dir, "empty.ips", "");
        std::fs::write(
            dir.join(std::ffi::OsStr::from_bytes(b"d\xff.ips")),
            header("D"),
        )
        .unwrap();
    }

    /// The cache changes how fast an inventory is taken, never what it says: cold (no cache
    /// file), warm (every head from the cache) and without a cache, the same entries.
    #[test]
    fn the_cached_inventory_is_the_inventory() {
        let dir = tempfile::tempdir().unwrap();
        let caches = tempfile::tempdir().unwrap();
        mixed_folder(dir.path());
        let folders = [dir.path().to_path_buf()];
        let cache = eager_cache(caches.path());
        let plain = scan(&folders).unwrap();
        let cold = scan_with(&folders, &cache).unwrap();
        let (file, text, lines) = cache_file(caches.path());
        // Every head read without error is recorded, the empty file's too (no peek).
        assert_eq!(lines.len(), 6, "{text}");
        let written = std::fs::metadata(&file).unwrap().modified().unwrap();
        let warm = scan_with(&folders, &cache).unwrap();
        assert_eq!(plain.entries, cold.entries);
        assert_eq!(plain.entries, warm.entries);
        assert_eq!(plain.folders, warm.folders);
        // Nothing changed: the cache file is not written again.
        assert_eq!(
            std::fs::metadata(&file).unwrap().modified().unwrap(),
            written
        );
        // The streamed inventory reads the cache too.
        let mut streamed = Vec::new();
        list_with(&folders, &cache)
            .unwrap()
            .write_json(&mut streamed)
            .unwrap();
        let back: Inventory = serde_json::from_slice(&streamed).unwrap();
        assert_eq!(back.entries, plain.entries);
    }

    /// What proves the cache is read, and that a change is never hidden by it: a recorded head
    /// altered in the cache file shows in the next inventory while its file is unchanged, and
    /// no longer once the file is rewritten (same size), touched, or replaced.
    #[test]
    fn a_changed_file_is_read_again() {
        let dir = tempfile::tempdir().unwrap();
        let caches = tempfile::tempdir().unwrap();
        let folders = [dir.path().to_path_buf()];
        let cache = eager_cache(caches.path());
        let incident = |inv: &Inventory, name: &str| {
            inv.entries
                .iter()
                .find(|e| e.path.ends_with(name))
                .and_then(|e| e.peek.as_ref())
                .and_then(|p| p.incident_id.clone())
        };
        let tamper = || {
            let (file, text, _) = cache_file(caches.path());
            let mut tampered = String::new();
            for (i, line) in text.lines().enumerate() {
                let mut fields: Vec<&str> = line.split('\t').collect();
                if i > 0 {
                    fields[8] = "+FROM-THE-CACHE";
                }
                tampered += &(fields.join("\t") + "\n");
            }
            std::fs::write(file, tampered).unwrap();
        };
        let pause = || std::thread::sleep(std::time::Duration::from_millis(30));
        write(dir.path(), "a.ips", &header("AAAA"));
        write(dir.path(), "b.ips", &header("BBBB"));
        write(dir.path(), "c.ips", &header("CCCC"));
        scan_with(&folders, &cache).unwrap();
        tamper();
        let warm = scan_with(&folders, &cache).unwrap();
        assert_eq!(incident(&warm, "a.ips").as_deref(), Some("FROM-THE-CACHE"));

        pause();
        // Rewritten in place with a head of the same size.
        write(dir.path(), "a.ips", &header("AAAB"));
        // Touched: its modification time set back to what it was.
        let b = dir.path().join("b.ips");
        let mtime = std::fs::metadata(&b).unwrap().modified().unwrap();
        std::fs::File::options()
            .write(true)
            .open(&b)
            .unwrap()
            .set_modified(mtime)
            .unwrap();
        // Replaced by another file of the same size renamed over it.
        write(dir.path(), ".c.tmp", &header("CCCD"));
        std::fs::rename(dir.path().join(".c.tmp"), dir.path().join("c.ips")).unwrap();
        let now = scan_with(&folders, &cache).unwrap();
        assert_eq!(incident(&now, "a.ips").as_deref(), Some("AAAB"));
        assert_eq!(incident(&now, "b.ips").as_deref(), Some("BBBB"));
        assert_eq!(incident(&now, "c.ips").as_deref(), Some("CCCD"));
        assert_eq!(now.entries, scan(&folders).unwrap().entries);
    }

    /// A file removed leaves the cache; a cache file that is damaged, of another schema or of
    /// another folder is ignored (the inventory read from the files) and replaced.
    #[test]
    fn a_bad_cache_file_is_ignored_and_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let caches = tempfile::tempdir().unwrap();
        let folders = [dir.path().to_path_buf()];
        let cache = eager_cache(caches.path());
        mixed_folder(dir.path());
        scan_with(&folders, &cache).unwrap();
        std::fs::remove_file(dir.path().join("a.ips")).unwrap();
        let plain = scan(&folders).unwrap();
        assert_eq!(scan_with(&folders, &cache).unwrap().entries, plain.entries);
        let (file, text, lines) = cache_file(caches.path());
        assert_eq!(lines.len(), 5, "{text}");
        let other = text.replacen(&dir.path().display().to_string(), "/elsewhere", 1);
        let schema = text.replacen("crashdelta.heads/1", "crashdelta.heads/0", 1);
        let cut = text[..text.len() - 20].to_owned();
        let broken_escape = text.replacen("a.ips", "a\\x.ips", 1);
        for bad in [
            other,
            schema,
            cut,
            broken_escape,
            "\u{0}garbage".into(),
            String::new(),
        ] {
            std::fs::write(&file, &bad).unwrap();
            assert_eq!(scan_with(&folders, &cache).unwrap().entries, plain.entries);
            let (_, again, _) = cache_file(caches.path());
            assert_eq!(again, text, "replaced after {bad:?}");
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(24))]

        /// Whatever happens to the files between two listings (written, rewritten at the same
        /// size with their modification time kept, renamed over each other, moved into
        /// `Retired/`, removed), the inventory with the cache is the inventory without it.
        #[test]
        fn the_cache_never_changes_an_inventory(
            ops in proptest::collection::vec((0u8..6, 0usize..4, 0usize..4, 0u8..10), 1..8)
        ) {
            let dir = tempfile::tempdir().unwrap();
            let caches = tempfile::tempdir().unwrap();
            let folders = [dir.path().to_path_buf()];
            let cache = eager_cache(caches.path());
            let names = ["a.ips", "b.ips", "Retired/a.ips", "c.crash"];
            let path = |i: usize| dir.path().join(names[i % names.len()]);
            for (op, x, y, id) in ops {
                let (from, to) = (path(x), path(y));
                std::fs::create_dir_all(dir.path().join("Retired")).unwrap();
                match op {
                    // Written, or rewritten at the same size (ids of one digit).
                    0 => std::fs::write(&from, header(&format!("ID{id}"))).unwrap(),
                    // Rewritten at the same size keeping its modification time (`cp -p`).
                    1 | 2 => {
                        let mtime = std::fs::metadata(&from).and_then(|m| m.modified());
                        std::fs::write(&from, header(&format!("ID{id}"))).unwrap();
                        if let Ok(mtime) = mtime {
                            let file = std::fs::File::options().write(true).open(&from).unwrap();
                            file.set_modified(mtime).unwrap();
                        }
                    }
                    3 => { let _ = std::fs::rename(&from, &to); }
                    4 => { let _ = std::fs::remove_file(&from); }
                    // Another kind of file at the same size.
                    _ => std::fs::write(&from, format!("not a report {id}")).unwrap(),
                }
                // Past a tick of the file system's clock: what `SETTLED` stands for here.
                std::thread::sleep(std::time::Duration::from_millis(12));
                let cached = scan_with(&folders, &cache).unwrap();
                proptest::prop_assert_eq!(&cached.entries, &scan(&folders).unwrap().entries);
            }
        }
    }

    /// A folder below the threshold gets no cache file, nor does a file still settling get a
    /// record.
    #[test]
    fn small_folders_and_fresh_files_are_not_cached() {
        let dir = tempfile::tempdir().unwrap();
        let caches = tempfile::tempdir().unwrap();
        let folders = [dir.path().to_path_buf()];
        mixed_folder(dir.path());
        scan_with(&folders, &HeadCache::at(caches.path())).unwrap();
        assert_eq!(std::fs::read_dir(caches.path()).unwrap().count(), 0);
        let settling = HeadCache {
            min_files: 0,
            ..HeadCache::at(caches.path())
        };
        let inv = scan_with(&folders, &settling).unwrap();
        assert_eq!(inv.entries, scan(&folders).unwrap().entries);
        let (_, text, lines) = cache_file(caches.path());
        assert_eq!(lines.len(), 0, "{text}");
    }

    fn write(dir: &Path, rel: &str, text: &str) -> PathBuf {
        let p = dir.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, text).unwrap();
        p
    }

    fn header(incident: &str) -> String {
        format!(
            "{{\"bug_type\":\"309\",\"name\":\"Python\",\"incident_id\":\"{incident}\"}}\n{{}}\n"
        )
    }

    #[test]
    fn new_is_the_set_difference_not_after_minus_before() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "a.ips", &header("A"));
        let old = write(d, "b.ips", &header("B"));
        write(
            d,
            "JetsamEvent.ips",
            "{\"bug_type\":\"298\",\"incident_id\":\"J\"}\n{}\n",
        );
        let before = scan(&[d.to_path_buf()]).unwrap();
        assert_eq!(before.crash_count(), 2);

        // Rotation deletes b; a moves into Retired; c is new: 2 before, 2 after, 1 new.
        std::fs::remove_file(old).unwrap();
        std::fs::create_dir(d.join("Retired")).unwrap();
        std::fs::rename(d.join("a.ips"), d.join("Retired/a.ips")).unwrap();
        write(d, "c.ips", &header("C"));
        let after = scan(&[d.to_path_buf()]).unwrap();
        let delta = diff(&before, &after);
        assert_eq!((delta.before, delta.after), (2, 2));
        assert_eq!(delta.new.len(), 1);
        assert!(delta.new[0].path.ends_with("c.ips"));
        assert_eq!(delta.retired.len(), 1);
        assert!(delta.retired[0].in_retired());
        assert_eq!(delta.removed.len(), 1);
    }

    /// The numbers add up: every crash report after is one that was there before and stayed or
    /// moved, or a new one.
    fn adds_up(delta: &Delta) {
        let new = delta.new_crashes().count();
        let removed = delta.removed.iter().filter(|e| e.is_crash()).count();
        assert_eq!(delta.before + new - removed, delta.after, "{delta:#?}");
    }

    /// A copy of a report (same incident, new path, the old path still holding it) was called
    /// "retired" and hidden: `1 before → 2 after (0 new, 1 retired)`. It is new, a duplicate.
    #[test]
    fn a_copy_is_new_and_a_duplicate_never_retired() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "a.ips", &header("A"));
        let before = scan(&[d.to_path_buf()]).unwrap();
        std::fs::copy(d.join("a.ips"), d.join("a-copy.ips")).unwrap();
        let delta = diff(&before, &scan(&[d.to_path_buf()]).unwrap());
        assert_eq!((delta.before, delta.after), (1, 2));
        assert_eq!(delta.new.len(), 1, "{delta:#?}");
        assert!(delta.retired.is_empty());
        assert_eq!(delta.duplicates.len(), 1);
        assert!(delta.duplicates[0].path.ends_with("a-copy.ips"));
        assert!(delta.duplicates[0].of.ends_with("a.ips"));
        adds_up(&delta);

        // Moved and copied at once: one move, one copy.
        let before = scan(&[d.to_path_buf()]).unwrap();
        std::fs::create_dir(d.join("Retired")).unwrap();
        std::fs::rename(d.join("a.ips"), d.join("Retired/a.ips")).unwrap();
        std::fs::copy(d.join("Retired/a.ips"), d.join("Retired/a-again.ips")).unwrap();
        let delta = diff(&before, &scan(&[d.to_path_buf()]).unwrap());
        assert_eq!(delta.retired.len(), 1, "{delta:#?}");
        assert_eq!(delta.new.len(), 1, "{delta:#?}");
        assert_eq!(delta.duplicates.len(), 1);
        adds_up(&delta);
    }

    /// A legacy `.crash` has no incident id: its identity was its path, so a move into
    /// `Retired/` was a new report and a removed one. Name, size and mtime survive the move.
    #[test]
    fn a_legacy_report_moved_into_retired_is_retired() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        write(d, "x.crash", "Process: a [1]\nException Type: EXC_CRASH\n");
        let before = scan(&[d.to_path_buf()]).unwrap();
        std::fs::create_dir(d.join("Retired")).unwrap();
        std::fs::rename(d.join("x.crash"), d.join("Retired/x.crash")).unwrap();
        let delta = diff(&before, &scan(&[d.to_path_buf()]).unwrap());
        assert!(delta.new.is_empty(), "{delta:#?}");
        assert!(delta.removed.is_empty(), "{delta:#?}");
        assert_eq!(delta.retired.len(), 1);
        adds_up(&delta);
    }

    /// The same folder twice, through a link, a folder and its own `Retired/`, in either order:
    /// each report is counted once.
    #[test]
    fn overlapping_folders_are_walked_once() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().join("DiagnosticReports");
        write(&d, "a.ips", &header("A"));
        write(&d, "Retired/b.ips", &header("B"));
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&d, &link).unwrap();
        for folders in [
            vec![d.clone(), d.clone()],
            vec![d.clone(), d.join("Retired")],
            vec![d.join("Retired"), d.clone()],
            vec![link.clone(), d.clone()],
            vec![d.join("Retired"), link.clone(), d.join("."), d.clone()],
        ] {
            let inv = scan(&folders).unwrap();
            assert_eq!(inv.crash_count(), 2, "{folders:?}: {:#?}", inv.entries);
            assert_eq!(
                inv.folders.iter().filter(|f| f.within.is_none()).count(),
                1,
                "{folders:?}"
            );
        }
    }

    #[test]
    fn missing_folders() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("nope");
        let e = scan(std::slice::from_ref(&gone)).unwrap_err();
        assert!(
            e.to_string().contains("none of the report folders exists"),
            "{e}"
        );
        // One existing folder is enough; the missing one is recorded.
        let inv = scan(&[gone, dir.path().to_path_buf()]).unwrap();
        assert_eq!(inv.folders.iter().filter(|f| f.exists).count(), 1);
    }

    #[test]
    fn identity_falls_back_to_path_size_mtime() {
        let dir = tempfile::tempdir().unwrap();
        let p = write(
            dir.path(),
            "x.crash",
            "Process: a [1]\nException Type: EXC_CRASH\n",
        );
        let e = entry_for(&p);
        assert!(e.is_crash());
        assert!(e.identity().starts_with("file:"));
    }

    #[test]
    fn inventories_round_trip_as_json() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), "a.ips", &header("A"));
        let inv = scan(&[dir.path().to_path_buf()]).unwrap();
        let path = dir.path().join("inv.json");
        std::fs::write(&path, serde_json::to_vec(&inv).unwrap()).unwrap();
        assert_eq!(Inventory::read(&path).unwrap(), inv);
        std::fs::write(&path, "{\"schema\":\"other\"}").unwrap();
        assert!(Inventory::read(&path).is_err());
    }
}
