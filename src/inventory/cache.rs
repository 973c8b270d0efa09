//! The heads of report files already read, kept between runs, so that an inventory of a big
//! report folder costs one `stat` per unchanged file instead of opening and reading it.
//!
//! An inventory needs every file's head (its incident id is the report's identity), and reading
//! a head takes four system calls (`open`, `fstat`, `read`, `close`). A folder of thousands of
//! reports changes by a few files between two inventories (a `watch` takes one before and one
//! after the run, a campaign one per run), so most of that work is the same each time. This is
//! what git's index does for `git status`: a file whose device, inode, size, modification time
//! and change time are those recorded when its head was read still has that head.
//!
//! Why those five, and why they are enough: any write to a file sets its modification and change
//! times; `touch -d` or `cp -p` can set the modification time back, but setting it sets the
//! change time to now, and nothing but the kernel sets the change time. A file replaced by
//! another (macOS writes a report to a temporary name and renames it) has another inode, or at
//! least another change time. The one gap is git's "racy" case: a file changed twice within one
//! tick of the file system's clock (a jiffy on Linux, a second on HFS+) after its head was read
//! keeps its times. So a head is recorded only for a file whose change time is [`SETTLED`]
//! older than the start of the listing: a file being written now is read again next time.
//!
//! The cache is a convenience, never a source of truth: a cache file that cannot be read, is
//! damaged, is from another version or names another folder is ignored (and replaced), and one
//! that cannot be written is not written; the inventory is the same either way, which a test
//! holds byte for byte. Only heads that were read without error are kept. Folders with fewer
//! than [`MIN_FILES`] files are not cached: reading their heads costs less than the cache file.
//! `CRASHDELTA_HEAD_CACHE=off` (read by the command line, not here) turns it off.

use std::collections::HashMap;
use std::io::{self, Write as _};
use std::ops::Range;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::report::{Peek, Process, ReportKind};

/// The first line of a cache file, before the folder's path; a file that starts otherwise is
/// ignored.
const SCHEMA: &[u8] = b"crashdelta.heads/1\t";

/// Folders with fewer files than this are not cached (their heads read in well under a
/// millisecond; a cache file per small folder would only litter the cache folder).
pub const MIN_FILES: usize = 256;

/// How much older than the listing a file's change time must be for its head to be recorded:
/// more than a tick of any file system's clock (HFS+ counts seconds), so that a change after
/// the read cannot keep the recorded times.
pub const SETTLED: Duration = Duration::from_secs(3);

/// A cache file bigger than this is not read (10 000 reports make ~1.3 MB).
const MAX_CACHE_BYTES: u64 = 256 << 20;

/// Where the heads of big report folders are kept between runs, or nowhere.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeadCache {
    /// The folder of the cache files; `None`: off.
    pub(super) dir: Option<PathBuf>,
    /// [`MIN_FILES`] (the tests cache small folders).
    pub(super) min_files: usize,
    /// [`SETTLED`] (the tests record files just written).
    pub(super) settled: Duration,
}

impl HeadCache {
    /// No cache: every head is read.
    pub fn off() -> HeadCache {
        HeadCache::default()
    }

    /// Cache files in `dir` (made when first written), for folders of 256 files or more
    /// (`MIN_FILES`).
    pub fn at(dir: impl Into<PathBuf>) -> HeadCache {
        HeadCache {
            dir: Some(dir.into()),
            min_files: MIN_FILES,
            settled: SETTLED,
        }
    }

    /// The platform's cache folder (`~/Library/Caches` on macOS, `$XDG_CACHE_HOME` or
    /// `~/.cache` elsewhere) + `crashdelta/heads`; off when there is none.
    pub fn default_location() -> HeadCache {
        dirs::cache_dir().map_or_else(HeadCache::off, |d| {
            HeadCache::at(d.join("crashdelta").join("heads"))
        })
    }

    /// The cache of one walked folder holding `files` files, loaded; `None` when off or the
    /// folder is small.
    pub(super) fn open(&self, folder: &Path, files: usize) -> Option<FolderCache> {
        let dir = self.dir.as_ref()?;
        if files < self.min_files {
            return None;
        }
        let file = dir.join(file_name(folder));
        let (text, lines) = load(&file, folder).map_or((None, Lines::new()), |(t, l)| (Some(t), l));
        Some(FolderCache {
            file,
            folder: folder.to_owned(),
            text,
            lines,
            settled: self.settled,
        })
    }
}

/// The cache file of `folder`: named by a hash of its path (the path itself is inside, and
/// checked, so a collision only costs the cache).
fn file_name(folder: &Path) -> String {
    format!("heads-{:016x}.tsv", fnv1a(folder.as_os_str().as_bytes()))
}

/// FNV-1a: stable across builds and Rust versions, unlike `DefaultHasher`, and quick on short
/// names.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325_u64, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// What tells that a file has not changed since its head was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stamp {
    dev: u64,
    ino: u64,
    size: u64,
    mtime_ns: i128,
    ctime_ns: i128,
}

impl Stamp {
    pub(super) fn of(meta: &std::fs::Metadata) -> Stamp {
        let ns = |s: i64, n: i64| i128::from(s) * 1_000_000_000 + i128::from(n);
        Stamp {
            dev: meta.dev(),
            ino: meta.ino(),
            size: meta.size(),
            mtime_ns: ns(meta.mtime(), meta.mtime_nsec()),
            ctime_ns: ns(meta.ctime(), meta.ctime_nsec()),
        }
    }

    /// Whether the file had stopped changing `settled` ([`SETTLED`]) before `listed` (see the
    /// module's essay); a change time after it (a clock set back) is not settled either.
    fn settled_before(&self, listed: SystemTime, settled: Duration) -> bool {
        let listed = listed
            .duration_since(SystemTime::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as i128);
        self.ctime_ns < listed - settled.as_nanos() as i128
    }
}

// The cache file is text, a line per file, fields separated by tabs:
//
//   crashdelta.heads/1 TAB folder
//   path TAB dev TAB ino TAB size TAB mtime_ns TAB ctime_ns TAB kind TAB bug_type TAB incident_id TAB process
//
// `path` is under the folder; text fields are escaped ([`escape`]) so that they hold no tab,
// newline or backslash of their own; an absent field is empty and a present one starts with
// `+`; `kind` is `-` for a file whose head shows no report. A head's process is known by its
// name alone (`Peek::process`); a head with more is not recorded. Not JSON: the same file as
// JSON (serde, the peek as the inventory writes it) was 4 MB for 10 000 reports instead of
// 1.3 MB, and loading it made a warm `snapshot` slower than reading every head
// (docs/performance.md).

/// `bytes` with `\`, the control characters and every byte of a name that is not UTF-8 as
/// `\xHH`; the rest (UTF-8 text) as is. Read back by `unescape_bytes`, which reads
/// [`super::escape_path`]'s escapes.
fn escape(bytes: &[u8], out: &mut Vec<u8>) {
    let utf8 = std::str::from_utf8(bytes).is_ok();
    for &b in bytes {
        if b == b'\\' || b < 0x20 || b == 0x7f || (!utf8 && b >= 0x80) {
            let hex = b"0123456789abcdef";
            out.extend_from_slice(b"\\x");
            out.push(hex.get(usize::from(b >> 4)).copied().unwrap_or(b'0'));
            out.push(hex.get(usize::from(b & 15)).copied().unwrap_or(b'0'));
        } else {
            out.push(b);
        }
    }
}

/// The path under the folder as a cache line starts with it: borrowed when nothing needs
/// escaping (almost every report's name).
fn line_key(rel: &Path) -> std::borrow::Cow<'_, [u8]> {
    let bytes = rel.as_os_str().as_bytes();
    if bytes
        .iter()
        .all(|&b| b != b'\\' && (0x20..0x7f).contains(&b))
    {
        std::borrow::Cow::Borrowed(bytes)
    } else {
        let mut out = Vec::with_capacity(bytes.len() + 8);
        escape(bytes, &mut out);
        std::borrow::Cow::Owned(out)
    }
}

/// Where each line of a cache file is, by the hash of its path ([`fnv1a`] of its key).
type Lines = HashMap<u64, Range<usize>>;

/// Reads a cache file: its text and, by the hash of each line's path, where the line is. `None`
/// when there is no such file, or it is too big, or not a cache of `folder`.
fn load(file: &Path, folder: &Path) -> Option<(Arc<memmap2::Mmap>, Lines)> {
    let opened = std::fs::File::open(file).ok()?;
    let meta = opened.metadata().ok()?;
    if !meta.is_file() || meta.len() > MAX_CACHE_BYTES || meta.len() == 0 {
        return None;
    }
    // SAFETY: the map is read only; cache files are replaced by a rename, never written in
    // place, so the mapped file does not change under it. (Another program truncating it could
    // fault the read: it is a file in the user's own cache folder, as the symbol caches are.)
    let text = unsafe { memmap2::Mmap::map(&opened) }.ok()?;
    let mut header = SCHEMA.to_vec();
    escape(folder.as_os_str().as_bytes(), &mut header);
    header.push(b'\n');
    if !text.starts_with(&header) {
        return None;
    }
    let mut lines = HashMap::new();
    let mut at = header.len();
    while let Some(rest) = text.get(at..).filter(|r| !r.is_empty()) {
        let len = memchr::memchr(b'\n', rest).unwrap_or(rest.len());
        let line = rest.get(..len).unwrap_or_default();
        if let Some(tab) = memchr::memchr(b'\t', line)
            && let Some(key) = line.get(..tab)
        {
            lines.insert(fnv1a(key), at..at + len);
        }
        at += len + 1;
    }
    Some((Arc::new(text), lines))
}

/// The kinds a cache line may name (one not listed here is read again, never misread).
const KINDS: [ReportKind; 8] = [
    ReportKind::Crash,
    ReportKind::NonFatal,
    ReportKind::Panic,
    ReportKind::Jetsam,
    ReportKind::Stackshot,
    ReportKind::Resource,
    ReportKind::Hang,
    ReportKind::Other,
];

/// One cache line: its path's key, its stamp and its head (`None` for a file whose head
/// shows no report); `None` when the line is broken.
fn parse_line(line: &[u8]) -> Option<(&[u8], Stamp, Option<Peek>)> {
    let mut fields = line.split(|&b| b == b'\t');
    let key = fields.next()?;
    let mut number = || {
        std::str::from_utf8(fields.next()?)
            .ok()?
            .parse::<i128>()
            .ok()
    };
    let (dev, ino, size, mtime_ns, ctime_ns) =
        (number()?, number()?, number()?, number()?, number()?);
    let stamp = Stamp {
        dev: u64::try_from(dev).ok()?,
        ino: u64::try_from(ino).ok()?,
        size: u64::try_from(size).ok()?,
        mtime_ns,
        ctime_ns,
    };
    let kind = fields.next()?;
    let mut text = || -> Option<Option<String>> {
        match fields.next()? {
            [] => Some(None),
            [b'+', rest @ ..] => Some(Some(String::from_utf8(super::unescape_bytes(rest)?).ok()?)),
            _ => None,
        }
    };
    let (bug_type, incident_id, process) = (text()?, text()?, text()?);
    if fields.next().is_some() {
        return None;
    }
    if kind == b"-" {
        let nothing = bug_type.is_none() && incident_id.is_none() && process.is_none();
        return nothing.then_some((key, stamp, None));
    }
    let kind = KINDS.into_iter().find(|k| k.as_str().as_bytes() == kind)?;
    let peek = Peek {
        kind,
        bug_type,
        incident_id,
        process: process.map(|name| Box::new(Process::named(name))),
    };
    Some((key, stamp, Some(peek)))
}

/// Writes `entry`'s line (a line of [`parse_line`]); `false`, and nothing written, when its
/// head holds more than a line says (a process known by more than its name).
fn write_line(out: &mut Vec<u8>, key: &[u8], stamp: &Stamp, peek: Option<&Peek>) -> bool {
    let name = match peek.and_then(|p| p.process.as_deref()) {
        None => None,
        Some(process) => match &process.name {
            Some(name) if *process == Process::named(name.clone()) => Some(name.as_str()),
            _ => return false,
        },
    };
    out.extend_from_slice(key);
    for n in [
        i128::from(stamp.dev),
        i128::from(stamp.ino),
        i128::from(stamp.size),
        stamp.mtime_ns,
        stamp.ctime_ns,
    ] {
        let _ = write!(out, "\t{n}");
    }
    out.push(b'\t');
    out.extend_from_slice(peek.map_or("-", |p| p.kind.as_str()).as_bytes());
    for text in [
        peek.and_then(|p| p.bug_type.as_deref()),
        peek.and_then(|p| p.incident_id.as_deref()),
        name,
    ] {
        out.push(b'\t');
        if let Some(text) = text {
            out.push(b'+');
            escape(text.as_bytes(), out);
        }
    }
    out.push(b'\n');
    true
}

/// One walked folder's cache during a listing: the cache file's text, and where each line is.
#[derive(Debug, Clone)]
pub(super) struct FolderCache {
    file: PathBuf,
    folder: PathBuf,
    text: Option<Arc<memmap2::Mmap>>,
    lines: Lines,
    settled: Duration,
}

/// Where a file's head came from.
#[derive(Debug, Clone)]
pub(super) enum Source {
    /// The cache, whose line (at this place in the cache file) holds: the file is as recorded.
    Cache(Range<usize>),
    /// The file, read now, with its stamp when it could be opened.
    Read(Option<Stamp>),
}

impl FolderCache {
    fn text(&self) -> &[u8] {
        self.text.as_deref().map_or(&[], |m| &m[..])
    }

    /// `path`'s entry from the cache when its recorded head still holds (one `stat`), and
    /// where its line is; `None` when the file is to be read.
    pub(super) fn find(&self, path: &Path) -> Option<(super::Entry, Range<usize>)> {
        let rel = path.strip_prefix(&self.folder).ok()?;
        let key = line_key(rel);
        let at = self.lines.get(&fnv1a(&key))?;
        let (found, stamp, peek) = parse_line(self.text().get(at.clone())?)?;
        if found != &*key {
            return None;
        }
        // Followed like the `open` of a read: the walk lists regular files, not links.
        let meta = std::fs::metadata(path).ok()?;
        (Stamp::of(&meta) == stamp).then(|| {
            let entry = super::Entry {
                path: super::display(path),
                size: meta.len(),
                mtime_ns: super::mtime_ns(&meta),
                peek,
                error: None,
                path_bytes: super::escape_path(path),
            };
            (entry, at.clone())
        })
    }
}

/// The heads of one folder's files as this listing found them, written back when they differ
/// from what the cache held: the lines kept, by place, and the lines of heads read now.
#[derive(Debug)]
pub(super) struct Update<'a> {
    cache: &'a FolderCache,
    rows: Vec<Row>,
    changed: bool,
}

#[derive(Debug)]
enum Row {
    Kept(Range<usize>),
    Read(Box<[u8]>),
}

impl<'a> Update<'a> {
    pub(super) fn new(cache: &'a FolderCache) -> Update<'a> {
        Update {
            rows: Vec::with_capacity(cache.lines.len()),
            cache,
            changed: false,
        }
    }

    /// Records `entry`, found at `path` from `source`. `listed` is when the listing began.
    pub(super) fn record(
        &mut self,
        path: &Path,
        entry: &super::Entry,
        source: Source,
        listed: SystemTime,
    ) {
        match source {
            Source::Cache(line) => self.rows.push(Row::Kept(line)),
            // Read now: a change to the cache, kept only when it was read whole and the file
            // has settled.
            Source::Read(stamp) => {
                self.changed = true;
                let mut line = Vec::new();
                if let Some(stamp) = stamp
                    && entry.error.is_none()
                    && stamp.settled_before(listed, self.cache.settled)
                    && let Ok(rel) = path.strip_prefix(&self.cache.folder)
                    && write_line(&mut line, &line_key(rel), &stamp, entry.peek.as_ref())
                {
                    self.rows.push(Row::Read(line.into()));
                }
            }
        }
    }

    /// Writes the cache file when anything changed (a file read, a file gone), replacing the old
    /// one at once (a temporary file renamed over it: a reader never sees half a file). Failing
    /// is not an error: the next listing reads the heads again.
    pub(super) fn save(self) {
        if !self.changed && self.rows.len() == self.cache.lines.len() {
            return;
        }
        let _ = self.write();
    }

    fn write(&self) -> io::Result<()> {
        let file = &self.cache.file;
        let dir = file.parent().unwrap_or(Path::new("."));
        std::fs::create_dir_all(dir)?;
        let tmp = dir.join(format!(
            ".{}.{}.tmp",
            file.file_name().unwrap_or_default().to_string_lossy(),
            std::process::id()
        ));
        let written = (|| {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            // The heads name processes and incidents, as the reports do: the user's eyes only.
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut out = io::BufWriter::with_capacity(1 << 16, options.open(&tmp)?);
            let mut header = SCHEMA.to_vec();
            escape(self.cache.folder.as_os_str().as_bytes(), &mut header);
            header.push(b'\n');
            out.write_all(&header)?;
            let text = self.cache.text();
            for row in &self.rows {
                match row {
                    Row::Kept(at) => {
                        out.write_all(text.get(at.clone()).unwrap_or_default())?;
                        out.write_all(b"\n")?;
                    }
                    Row::Read(line) => out.write_all(line)?,
                }
            }
            out.flush()?;
            drop(out);
            std::fs::rename(&tmp, file)
        })();
        if written.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        written
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_file_names_are_stable_and_differ_by_folder() {
        // A name that changed between builds would throw every cache away at each upgrade.
        assert_eq!(
            file_name(Path::new("/Users/me/Library/Logs/DiagnosticReports")),
            file_name(Path::new("/Users/me/Library/Logs/DiagnosticReports"))
        );
        assert_ne!(
            file_name(Path::new("/Library/Logs/DiagnosticReports")),
            file_name(Path::new("/Users/me/Library/Logs/DiagnosticReports"))
        );
        assert_eq!(file_name(Path::new("")), "heads-cbf29ce484222325.tsv");
    }

    /// What a line says is read back as it was: heads with and without each field, text with
    /// tabs, newlines, backslashes and accents, names that are not UTF-8, the extreme numbers.
    #[test]
    fn a_line_reads_back_as_written() {
        let stamp = Stamp {
            dev: u64::MAX,
            ino: 0,
            size: 12_389,
            mtime_ns: -1,
            ctime_ns: i128::from(i64::MAX) * 1_000_000_000,
        };
        let peek = |kind, bug: Option<&str>, id: Option<&str>, name: Option<&str>| {
            Some(Peek {
                kind,
                bug_type: bug.map(str::to_owned),
                incident_id: id.map(str::to_owned),
                process: name.map(|n| Box::new(Process::named(n.to_owned()))),
            })
        };
        let heads = [
            None,
            peek(
                ReportKind::Crash,
                Some("309"),
                Some("BE000001"),
                Some("Python"),
            ),
            peek(ReportKind::Other, None, None, None),
            peek(
                ReportKind::Jetsam,
                Some(""),
                Some("a\tb\nc\\d"),
                Some("Pr\u{e9}view \u{1f600}"),
            ),
            peek(ReportKind::NonFatal, Some("308"), None, Some("")),
        ];
        let keys: [&[u8]; 4] = [b"a.ips", b"Retired/b c.ips", b"tab\there", b"d\xff\\.ips"];
        for key in keys {
            for head in &heads {
                let key = line_key(Path::new(std::ffi::OsStr::from_bytes(key)));
                let mut line = Vec::new();
                assert!(write_line(&mut line, &key, &stamp, head.as_ref()));
                assert_eq!(line.iter().filter(|&&b| b == b'\n').count(), 1);
                let line = line.strip_suffix(b"\n").unwrap();
                let (found, read, back) = parse_line(line).unwrap();
                assert_eq!((found, read, &back), (&*key, stamp, head));
            }
        }
        // Every kind there is reads back (a kind missing from KINDS would be read again at
        // every listing).
        for kind in KINDS {
            let mut line = Vec::new();
            write_line(
                &mut line,
                b"k",
                &stamp,
                peek(kind, None, None, None).as_ref(),
            );
            assert_eq!(
                parse_line(line.strip_suffix(b"\n").unwrap())
                    .unwrap()
                    .2
                    .unwrap()
                    .kind,
                kind
            );
        }
    }

    proptest::proptest! {
        /// Any bytes escape into a field with no tab, newline or backslash of its own that
        /// reads back as those bytes; and no line, however broken, panics its reader.
        #[test]
        fn any_bytes_escape_and_read_back(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..64)) {
            let mut out = Vec::new();
            escape(&bytes, &mut out);
            proptest::prop_assert!(!out.iter().any(|&b| b == b'\t' || b == b'\n'));
            proptest::prop_assert_eq!(super::super::unescape_bytes(&out), Some(bytes.clone()));
            let _ = parse_line(&bytes);
        }
    }

    /// A head that says more of its process than its name has no line: the line would lose it.
    #[test]
    fn a_head_a_line_cannot_hold_is_not_recorded() {
        let head = Peek {
            kind: ReportKind::Crash,
            bug_type: None,
            incident_id: None,
            process: Some(Box::new(Process {
                pid: Some(42),
                ..Process::named("Python".into())
            })),
        };
        let stamp = Stamp {
            dev: 1,
            ino: 2,
            size: 3,
            mtime_ns: 4,
            ctime_ns: 5,
        };
        let mut line = Vec::new();
        assert!(!write_line(&mut line, b"a.ips", &stamp, Some(&head)));
        assert!(line.is_empty());
    }

    /// Broken lines are misses, never heads: a field missing or extra, a number that is not
    /// one, an unknown kind, a broken escape, a head field without its `+`.
    #[test]
    fn a_broken_line_is_no_head() {
        let good = b"a.ips\t1\t2\t3\t4\t5\tcrash\t+309\t+ID\t+Python";
        assert!(parse_line(good).is_some());
        for bad in [
            &b"a.ips\t1\t2\t3\t4\t5\tcrash\t+309\t+ID"[..],
            b"a.ips\t1\t2\t3\t4\t5\tcrash\t+309\t+ID\t+Python\t",
            b"a.ips\t1\t2\tx\t4\t5\tcrash\t+309\t+ID\t+Python",
            b"a.ips\t-1\t2\t3\t4\t5\tcrash\t+309\t+ID\t+Python",
            b"a.ips\t1\t2\t3\t4\t5\tcrashed\t+309\t+ID\t+Python",
            b"a.ips\t1\t2\t3\t4\t5\tcrash\t+309\t+I\\xZZ\t+Python",
            b"a.ips\t1\t2\t3\t4\t5\tcrash\t309\t+ID\t+Python",
            b"a.ips\t1\t2\t3\t4\t5\t-\t+309\t\t",
            b"",
        ] {
            assert!(
                parse_line(bad).is_none(),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn only_settled_files_are_recorded() {
        let now = SystemTime::now();
        let at = |ago: Duration| {
            let t = now - ago;
            let ns = t
                .duration_since(SystemTime::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as i128);
            Stamp {
                dev: 1,
                ino: 2,
                size: 3,
                mtime_ns: ns,
                ctime_ns: ns,
            }
        };
        assert!(at(Duration::from_secs(60)).settled_before(now, SETTLED));
        assert!(!at(Duration::from_secs(1)).settled_before(now, SETTLED));
        assert!(!at(Duration::ZERO).settled_before(now, SETTLED));
        let future = Stamp {
            ctime_ns: i128::MAX,
            ..at(Duration::ZERO)
        };
        assert!(!future.settled_before(now, SETTLED));
        assert!(!future.settled_before(now, Duration::ZERO));
    }
}
