//! Reading what a command names: files, folders (recursively) and `-` for standard input.
//!
//! Inputs are produced one at a time so that a folder of thousands of reports is never held in
//! memory at once.
//!
//! Only regular files are read. A named pipe (FIFO) blocks its reader until a writer comes, and a
//! device (`/dev/zero`, a terminal) or a socket may never end: one such path given by mistake, or
//! planted in a folder, would hang a CI job or fill its memory. [`read_capped`] checks the kind
//! before opening, opens without blocking (`O_NONBLOCK`: opening a FIFO otherwise waits for a
//! writer), and checks the opened file again (`fstat`), so that a file swapped for a FIFO between
//! the two is refused too. A file found in a folder has had its look already (the listing says
//! what each entry is), so it is only opened, without following a link, and checked on the open
//! file ([`Source::Listed`]). Standard input (`-`) is the one stream crashdelta reads, and it is
//! capped like a file. The same capped reader serves every file crashdelta reads whole: reports,
//! rules files ([`MAX_RULES_BYTES`]) and inventories ([`MAX_INVENTORY_BYTES`]).

use std::fs::{File, Metadata, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Apple caps the largest crash-like log types at 10 MB (`limit` in `submissionConfig`); the
/// largest real report in the corpus is a 1.9 MB panic. Anything beyond this is not a report,
/// and reading it whole would let one file exhaust memory.
pub const MAX_REPORT_BYTES: u64 = 64 * 1024 * 1024;

/// A rules file is a few kilobytes (the built-in rules are 8 KB); a megabyte is hundreds of
/// rules. The cap stops `--rules /dev/zero`, or a huge file named by mistake, from being read
/// until memory runs out.
pub const MAX_RULES_BYTES: u64 = 1024 * 1024;

/// A saved inventory (`snapshot`) takes about 320 bytes per file in the report folders, 400 with
/// the long paths of `~/Library/Logs/DiagnosticReports/Retired` (measured: 2,000 reports made a
/// 633 KB inventory), so 100,000 reports make about 40 MB. 256 MiB leaves room for over half a
/// million files, far more than macOS keeps (it rotates reports), and still refuses a runaway
/// file before it is read.
pub const MAX_INVENTORY_BYTES: u64 = 256 * 1024 * 1024;

/// What a capped read is for: its limit, and how messages name what was expected.
#[derive(Debug, Clone, Copy)]
pub struct Cap {
    /// The most bytes accepted.
    pub limit: u64,
    /// What the file should be, for messages: "a report", "a rules file".
    pub what: &'static str,
}

/// The cap for a report file or standard input.
pub const REPORT: Cap = Cap {
    limit: MAX_REPORT_BYTES,
    what: "a report (crash reports are at most a few MB)",
};
/// The cap for a rules file (`--rules`, `rules check`).
pub const RULES: Cap = Cap {
    limit: MAX_RULES_BYTES,
    what: "a rules file",
};
/// The cap for a saved inventory (`diff BEFORE [AFTER]`).
pub const INVENTORY: Cap = Cap {
    limit: MAX_INVENTORY_BYTES,
    what: "an inventory",
};

/// Why an input's bytes could not be had. Each input fails on its own: the others are still
/// read.
#[derive(Debug, Error)]
pub enum InputError {
    /// A file could not be opened or read.
    #[error("cannot read {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// A file over [`MAX_REPORT_BYTES`] by its metadata: not a report, and not read at all.
    #[error(
        "{path} is {size} bytes, over the {limit}-byte limit for a report; crash reports are at most a few MB"
    )]
    TooLarge {
        /// The file; `-` for standard input.
        path: PathBuf,
        /// The file's size in bytes, from its metadata.
        size: u64,
        /// The limit, [`MAX_REPORT_BYTES`].
        limit: u64,
    },
    /// A stream over its cap: standard input, or a file that grew past it while it was read.
    /// Its size is not known (reading stopped at the cap), so none is given; also a rules file
    /// or an inventory over its own cap.
    #[error("{}", over_limit(name, *size, *limit, what))]
    OverLimit {
        /// The file, or "standard input".
        name: String,
        /// The size, when known (from the file's metadata).
        size: Option<u64>,
        /// The cap.
        limit: u64,
        /// What the input should have been, from its [`Cap`].
        what: &'static str,
    },
    /// The path is not a regular file: a folder, a named pipe (FIFO), a device, a socket.
    /// Reading a FIFO blocks until a writer comes, and a device may never end.
    #[error(
        "{path} is {kind}, not a regular file: crashdelta reads only regular files, since a pipe or \
         a device can block or never end (classify and show read standard input as -)"
    )]
    NotRegular {
        /// The path as given.
        path: PathBuf,
        /// What it is: "a named pipe (FIFO)", "a character device", ...
        kind: &'static str,
    },
    /// Standard input (`-`) could not be read.
    #[error("cannot read standard input: {0}")]
    Stdin(io::Error),
    /// A folder named on the command line, or a folder inside it, could not be listed.
    #[error("cannot list {path}: {source}")]
    Walk {
        /// The entry that could not be listed.
        path: PathBuf,
        /// The error met while walking the folder.
        source: walkdir::Error,
    },
}

/// One input: its display name and where its bytes come from.
pub struct Input {
    /// How output names the input: the path as given on the command line or found in a folder,
    /// `-` for standard input.
    pub name: String,
    /// Where its bytes come from.
    pub source: Source,
}

/// A file is read when [`Input::read`] is called, so that the reading happens in whichever
/// thread analyses it; standard input and listing errors are already settled.
pub enum Source {
    /// A file named on the command line, not yet read.
    File(PathBuf),
    /// A file found in a folder, not yet read: its entry in the listing said it is a regular
    /// file, not a link, so it is opened without the look before the open that a named path
    /// gets (one system call fewer per report of a folder), and without following a link
    /// (`O_NOFOLLOW`): a file swapped for a link or a FIFO since the listing is refused.
    Listed(PathBuf),
    /// Bytes already at hand (standard input, [`Input::from_bytes`]), or the error that settled
    /// the input (a folder that could not be listed).
    Read(Result<Vec<u8>, InputError>),
}

impl Input {
    /// An input whose bytes, or whose error, are already at hand.
    pub fn from_bytes(name: impl Into<String>, bytes: Result<Vec<u8>, InputError>) -> Input {
        Input {
            name: name.into(),
            source: Source::Read(bytes),
        }
    }

    /// The input's bytes: a file is read now, with the [`MAX_REPORT_BYTES`] limit of
    /// [`read_file`]; settled inputs return what they hold.
    pub fn read(self) -> Result<Vec<u8>, InputError> {
        match self.source {
            Source::File(path) => read_file(&path),
            Source::Listed(path) => read_listed(&path),
            Source::Read(bytes) => bytes,
        }
    }

    /// [`Input::read`], with the bytes lent to `f` rather than given: a file is read into a
    /// buffer this thread keeps for the next file. A fresh buffer for every report was zeroed
    /// before the read and its pages faulted in anew (the zeroing alone was 3 % of `classify`'s
    /// instructions over 2000 reports); a kept buffer is zeroed only where it grows. One that
    /// grew past [`KEPT_READ_BUFFER`] for an unusually large report is freed after it.
    pub fn with_bytes<R>(self, f: impl FnOnce(Result<&[u8], InputError>) -> R) -> R {
        thread_local! {
            static BUFFER: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
        }
        let (path, open): (PathBuf, Opener) = match self.source {
            Source::File(path) => (path, open_regular),
            Source::Listed(path) => (path, open_listed),
            Source::Read(Ok(bytes)) => return f(Ok(&bytes)),
            Source::Read(Err(e)) => return f(Err(e)),
        };
        let read = |buf: &mut Vec<u8>| read_report_into(&path, open(&path)?, buf);
        BUFFER.with(|cell| {
            // Taken, not borrowed, so that `f` may read another input itself.
            let mut buf = cell.take();
            let result = read(&mut buf);
            let out = f(result.map(|n| buf.get(..n).unwrap_or_default()));
            if buf.len() <= KEPT_READ_BUFFER {
                cell.replace(buf);
            }
            out
        })
    }

    /// The file it will be read from; `None` for bytes already at hand.
    pub fn path(&self) -> Option<&Path> {
        match &self.source {
            Source::File(path) | Source::Listed(path) => Some(path),
            Source::Read(_) => None,
        }
    }
}

fn over_limit(name: &str, size: Option<u64>, limit: u64, what: &str) -> String {
    match size {
        Some(size) => format!("{name} is {size} bytes, over the {limit}-byte limit for {what}"),
        None => format!("{name} is over the {limit}-byte limit for {what}"),
    }
}

/// What a file that is not a regular file is, for messages; `None` for a regular file.
pub fn special_kind(meta: &Metadata) -> Option<&'static str> {
    let t = meta.file_type();
    Some(if t.is_file() {
        return None;
    } else if t.is_dir() {
        "a folder"
    } else if t.is_fifo() {
        "a named pipe (FIFO)"
    } else if t.is_char_device() {
        "a character device"
    } else if t.is_block_device() {
        "a block device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "a special file"
    })
}

/// Opens `path` for reading only if it is a regular file (links followed: the user named it).
/// Checked before opening, opened with `O_NONBLOCK` so that a FIFO cannot block the open, and
/// checked again on the open file, which closes the race with a file swapped in between.
pub fn open_regular(path: &Path) -> Result<(File, Metadata), InputError> {
    open_regular_with(path, 0)
}

/// [`open_regular`], refusing a symbolic link at `path` itself too (`O_NOFOLLOW`): for a file in
/// a folder the code under test controls, which could swap the file for a link between the look
/// and the open (`--collect` would copy whatever the link points to).
pub fn open_regular_no_link(path: &Path) -> Result<(File, Metadata), InputError> {
    open_regular_with(path, libc::O_NOFOLLOW)
}

fn open_regular_with(path: &Path, flags: libc::c_int) -> Result<(File, Metadata), InputError> {
    if let Some(kind) =
        special_kind(&std::fs::metadata(path).map_err(|source| InputError::Read {
            path: path.to_owned(),
            source,
        })?)
    {
        return Err(InputError::NotRegular {
            path: path.to_owned(),
            kind,
        });
    }
    open_checked(path, flags)
}

/// Opens `path` without blocking and refuses it unless the open file is a regular one.
fn open_checked(path: &Path, flags: libc::c_int) -> Result<(File, Metadata), InputError> {
    let err = |source| InputError::Read {
        path: path.to_owned(),
        source,
    };
    let refuse = |kind| InputError::NotRegular {
        path: path.to_owned(),
        kind,
    };
    // O_NONBLOCK has no effect on reads from a regular file, which is all this file can be.
    let file = OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | flags)
        .open(path)
        .map_err(|e| {
            if flags & libc::O_NOFOLLOW != 0 && e.raw_os_error() == Some(libc::ELOOP) {
                refuse("a symbolic link")
            } else {
                err(e)
            }
        })?;
    let meta = file.metadata().map_err(err)?;
    if let Some(kind) = special_kind(&meta) {
        return Err(refuse(kind));
    }
    Ok((file, meta))
}

/// Reads one regular file whole, refusing anything else ([`open_regular`]) and files over
/// `cap` before allocating for them.
pub fn read_capped(path: &Path, cap: Cap) -> Result<Vec<u8>, InputError> {
    let (file, meta) = open_regular(path)?;
    if meta.len() > cap.limit {
        return Err(InputError::OverLimit {
            name: path.display().to_string(),
            size: Some(meta.len()),
            limit: cap.limit,
            what: cap.what,
        });
    }
    read_opened(path, file, meta.len(), cap)
}

/// Reads one report file, refusing what is not a regular file and files over
/// [`MAX_REPORT_BYTES`] before allocating for them.
pub fn read_file(path: &Path) -> Result<Vec<u8>, InputError> {
    read_report(path, open_regular(path)?)
}

/// Reads a report file found in a folder ([`Source::Listed`]): as [`read_file`], but opened at
/// once, without following a link.
fn read_listed(path: &Path) -> Result<Vec<u8>, InputError> {
    read_report(path, open_listed(path)?)
}

/// How a report file is opened: [`open_regular`] for a file named, [`open_listed`] for one found
/// in a folder.
type Opener = fn(&Path) -> Result<(File, Metadata), InputError>;

/// Opens a report file found in a folder at once, without following a link
/// ([`Source::Listed`]).
fn open_listed(path: &Path) -> Result<(File, Metadata), InputError> {
    open_checked(path, libc::O_NOFOLLOW)
}

/// Reads an opened report file, refusing it over [`MAX_REPORT_BYTES`] before allocating for it.
fn read_report(path: &Path, opened: (File, Metadata)) -> Result<Vec<u8>, InputError> {
    let mut bytes = Vec::new();
    let n = read_report_into(path, opened, &mut bytes)?;
    bytes.truncate(n);
    Ok(bytes)
}

/// [`read_report`] into the front of `buf`; how many bytes the file had.
fn read_report_into(
    path: &Path,
    (file, meta): (File, Metadata),
    buf: &mut Vec<u8>,
) -> Result<usize, InputError> {
    if meta.len() > MAX_REPORT_BYTES {
        return Err(InputError::TooLarge {
            path: path.to_owned(),
            size: meta.len(),
            limit: MAX_REPORT_BYTES,
        });
    }
    read_opened_into(path, file, meta.len(), REPORT, buf)
}

/// The largest read buffer a thread keeps between reports ([`Input::with_bytes`]): the largest
/// real report in the corpus is 1.9 MB.
pub const KEPT_READ_BUFFER: usize = 4 << 20;

/// Reads an opened file of `size` bytes (its metadata's), stopping past the cap.
///
/// One read of the whole file and one that finds its end: `read_to_end` through `take` knows no
/// size, so it reads 8 KiB, then 16 KiB, ..., then probes for the end (3.3 reads per report over
/// the bench's 2000), and `File::read_to_end` asks the size again (`fstat` and `lseek`). A file
/// that grows while it is read is read on, up to the cap.
fn read_opened(path: &Path, file: File, size: u64, cap: Cap) -> Result<Vec<u8>, InputError> {
    let mut bytes = Vec::new();
    let n = read_opened_into(path, file, size, cap, &mut bytes)?;
    bytes.truncate(n);
    Ok(bytes)
}

/// [`read_opened`] into the front of `buf`, which is grown (never shrunk) to hold the file and
/// one byte more; how many bytes the file had. What `buf` held before is overwritten, and what
/// lies past the count is left as it was.
fn read_opened_into(
    path: &Path,
    mut file: File,
    size: u64,
    cap: Cap,
    buf: &mut Vec<u8>,
) -> Result<usize, InputError> {
    let err = |source| InputError::Read {
        path: path.to_owned(),
        source,
    };
    // Past the cap by one byte is enough to know it is over.
    let stop = cap.limit.saturating_add(1);
    let first = usize::try_from(size.min(cap.limit).saturating_add(1)).unwrap_or(0);
    if buf.len() < first.max(1) {
        buf.resize(first.max(1), 0);
    }
    // The room this file may use: all of `buf` (at least its size and one byte now), but never
    // past the cap.
    let mut room = buf.len().min(usize::try_from(stop).unwrap_or(usize::MAX));
    let mut filled = 0;
    loop {
        if filled == room {
            if filled as u64 >= stop {
                break;
            }
            let grown = (filled as u64).saturating_mul(2).max(8192).min(stop);
            room = usize::try_from(grown).unwrap_or(usize::MAX);
            if buf.len() < room {
                buf.resize(room, 0);
            }
        }
        let Some(spare) = buf.get_mut(filled..room) else {
            break;
        };
        match file.read(spare) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(err(e)),
        }
    }
    if filled as u64 > cap.limit {
        // How big it grew is unknown: reading stopped at the cap.
        return Err(InputError::OverLimit {
            name: path.display().to_string(),
            size: None,
            limit: cap.limit,
            what: cap.what,
        });
    }
    Ok(filled)
}

/// Reads standard input up to `cap`; beyond it the size is unknown, and the message says only
/// that it is over the limit.
fn read_stdin() -> Result<Vec<u8>, InputError> {
    read_stream(io::stdin().lock(), REPORT)
}

fn read_stream(stream: impl Read, cap: Cap) -> Result<Vec<u8>, InputError> {
    let mut bytes = Vec::new();
    stream
        .take(cap.limit.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(InputError::Stdin)?;
    if bytes.len() as u64 > cap.limit {
        return Err(InputError::OverLimit {
            name: "standard input".into(),
            size: None,
            limit: cap.limit,
            what: cap.what,
        });
    }
    Ok(bytes)
}

/// Every input named by `paths`, in order; folders are walked recursively in file-name order,
/// skipping hidden files (`.DS_Store`).
pub fn inputs(paths: &[PathBuf]) -> impl Iterator<Item = Input> + '_ {
    inputs_skipping(paths, Vec::new())
}

/// [`inputs`], but a file found in a folder with a device and inode in `skip` is left out: the
/// command's own output file, or its history database, when it is inside a folder being read,
/// is never read back as a report.
pub fn inputs_skipping(
    paths: &[PathBuf],
    skip: Vec<(u64, u64)>,
) -> impl Iterator<Item = Input> + '_ {
    paths
        .iter()
        .flat_map(move |path| -> Box<dyn Iterator<Item = Input>> {
            if path.as_os_str() == "-" {
                return Box::new(std::iter::once(Input {
                    name: "-".into(),
                    source: Source::Read(read_stdin()),
                }));
            }
            if path.is_dir() {
                let skip = skip.clone();
                let walk = walkdir::WalkDir::new(path)
                    .follow_links(false)
                    // Siblings are compared by their whole paths, which are their folder's path
                    // and their names: the same order as `sort_by_file_name`, which finds each
                    // name again with `Path::file_name` at every comparison (~2.5 % of
                    // `classify`'s instructions over 2000 reports, all of it on the main thread
                    // before the first report is handed out).
                    .sort_by(|a, b| a.path().as_os_str().cmp(b.path().as_os_str()))
                    .into_iter()
                    .filter_entry(|e| {
                        e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.')
                    })
                    .filter_map(move |entry| match entry {
                        Ok(e) if e.file_type().is_file() && !is_skipped(&e, &skip) => Some(Input {
                            name: e.path().display().to_string(),
                            source: Source::Listed(e.path().to_owned()),
                        }),
                        Ok(_) => None,
                        Err(source) => {
                            let at = source.path().unwrap_or(Path::new("?")).to_owned();
                            Some(Input {
                                name: at.display().to_string(),
                                source: Source::Read(Err(InputError::Walk { path: at, source })),
                            })
                        }
                    });
                return Box::new(walk);
            }
            Box::new(std::iter::once(Input {
                name: path.display().to_string(),
                source: Source::File(path.clone()),
            }))
        })
}

/// Whether a walked file is one with a device and inode in `skip`.
fn is_skipped(e: &walkdir::DirEntry, skip: &[(u64, u64)]) -> bool {
    use std::os::unix::fs::MetadataExt;
    use walkdir::DirEntryExt;
    // The listing gives the inode: the look at the device is only for a file whose inode is one
    // of those to skip, not a `stat` per report.
    skip.iter().any(|&(_, ino)| ino == e.ino())
        && e.metadata()
            .is_ok_and(|m| skip.contains(&(m.dev(), m.ino())))
}

/// A folder whose names sort around `/` (`-`, `.`, digits, a name that is a prefix of another),
/// with folders between files, nested folders, upper case, a name that is not UTF-8 and hidden
/// files; and the files of a walk of it sorted by file name. Listings that sort their own way
/// (`inputs`, the inventory) are checked against it.
#[cfg(test)]
pub(crate) mod name_order {
    use std::os::unix::ffi::OsStrExt;
    use std::path::{Path, PathBuf};

    pub fn make(dir: &Path) {
        for rel in [
            "a-b",
            "a.b",
            "a0",
            "ab",
            "a/x.ips",
            "a/y/z.ips",
            "a/y-1.ips",
            "a/y.ips",
            "a.b.ips",
            "A.ips",
            "b/.hidden",
            "b/c/d/e.ips",
            "b/c.ips",
            "b/c-d.ips",
            "b/c0/f.ips",
            "Retired/r.ips",
            "Retired/r/s.ips",
            // Two levels of the same shape, so that `a` above is a folder while `a-b` is a file.
            "a-c/a/1.ips",
            "a-c/a-1.ips",
        ] {
            let path = dir.join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(&path, "x").unwrap();
        }
        std::fs::write(dir.join(std::ffi::OsStr::from_bytes(b"a\xffb.ips")), "x").unwrap();
    }

    pub fn walked(dir: &Path) -> Vec<PathBuf> {
        walkdir::WalkDir::new(dir)
            .sort_by_file_name()
            .into_iter()
            .map(|e| e.unwrap())
            .filter(|e| e.file_type().is_file())
            .filter(|e| !e.file_name().to_string_lossy().starts_with('.'))
            .map(walkdir::DirEntry::into_path)
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A folder's reports come in the order of a walk sorted by file name
    /// ([`name_order`]), the folder named with a trailing separator too, as a shell completes
    /// it.
    #[test]
    fn a_folder_is_walked_in_file_name_order() {
        let dir = tempfile::tempdir().unwrap();
        name_order::make(dir.path());
        // The folder named with a trailing separator, as a shell completes it.
        let named = PathBuf::from(format!("{}/", dir.path().display()));
        let expected: Vec<String> = name_order::walked(&named)
            .iter()
            .map(|p| p.display().to_string())
            .collect();
        let got: Vec<String> = inputs(std::slice::from_ref(&named))
            .map(|i| i.name)
            .collect();
        assert_eq!(got, expected);
        assert!(got.len() > 15, "{got:?}");
    }

    /// `--collect` opens the report it copies without following a link at its name: a swap for
    /// a link to a secret between the look and the copy copies nothing.
    #[test]
    fn a_link_at_the_name_is_refused_when_links_are_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let secret = dir.path().join("secret");
        std::fs::write(&secret, "key").unwrap();
        let link = dir.path().join("Python-1.ips");
        std::os::unix::fs::symlink(&secret, &link).unwrap();
        assert!(open_regular(&link).is_ok());
        assert!(open_regular_no_link(&link).is_err());
    }

    /// The size given is the file's when it was looked at: a file that grew or shrank since is
    /// read as it is now, whole, and one that grew past the cap is refused. Read into a buffer
    /// that held something before (a kept read buffer), it is the same bytes and count, whatever
    /// the buffer held and however long it was, and the buffer is never shrunk.
    #[test]
    fn a_file_is_read_whole_whatever_size_it_had_when_looked_at() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("r.ips");
        let cap = Cap {
            limit: 100_000,
            what: "a report",
        };
        let open = || File::open(&path).unwrap();
        for len in [0usize, 1, 8191, 8192, 8193, 30_000, 100_000] {
            let data: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
            std::fs::write(&path, &data).unwrap();
            for said in [0, 1, len as u64 / 2, len as u64, len as u64 + 7, 1 << 40] {
                let read = read_opened(&path, open(), said, cap).unwrap();
                assert!(read == data, "{len} bytes, looked at as {said}");
                for held in [1usize, len / 2, len, len + 1, 200_000] {
                    let mut buf = vec![0xee; held];
                    let n = read_opened_into(&path, open(), said, cap, &mut buf).unwrap();
                    assert!(
                        buf.get(..n) == Some(&data[..]),
                        "{len} bytes into {held}, looked at as {said}"
                    );
                    assert!(buf.len() >= held, "a buffer is never shrunk");
                }
            }
        }
        std::fs::write(&path, vec![b'x'; 100_001]).unwrap();
        for said in [0, 100_000, 100_001] {
            let e = read_opened(&path, open(), said, cap).unwrap_err();
            assert!(matches!(e, InputError::OverLimit { size: None, .. }), "{e}");
            let e = read_opened_into(&path, open(), said, cap, &mut vec![0; 300_000]).unwrap_err();
            assert!(matches!(e, InputError::OverLimit { size: None, .. }), "{e}");
        }
    }

    /// Lent bytes are what `read` gives, for every kind of input, one after another on one
    /// thread (a large file before a small one leaves nothing of itself in the small one's
    /// bytes), and an input read while another's bytes are lent is read whole too.
    #[test]
    fn lent_bytes_are_the_read_bytes() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, len: usize| {
            let path = dir.path().join(name);
            std::fs::write(
                &path,
                (0..len).map(|i| (i % 13) as u8 + b'a').collect::<Vec<_>>(),
            )
            .unwrap();
            path
        };
        let big = write("big.ips", 300_000);
        let small = write("small.ips", 10);
        let empty = write("empty.ips", 0);
        let huge = write("huge.ips", KEPT_READ_BUFFER + 10);
        let link = dir.path().join("link.ips");
        std::os::unix::fs::symlink(&small, &link).unwrap();
        let missing = dir.path().join("missing.ips");
        let inputs = || {
            let mut all = Vec::new();
            for path in [&big, &small, &huge, &empty, &big, &link, &missing, &small] {
                for listed in [false, true] {
                    all.push(Input {
                        name: path.display().to_string(),
                        source: if listed {
                            Source::Listed(path.clone())
                        } else {
                            Source::File(path.clone())
                        },
                    });
                }
            }
            all.push(Input::from_bytes("-", Ok(b"given".to_vec())));
            all.push(Input::from_bytes(
                "-",
                Err(InputError::Stdin(io::Error::other("gone"))),
            ));
            all
        };
        let shown = |r: Result<&[u8], InputError>| r.map(<[u8]>::to_vec).map_err(|e| e.to_string());
        let mut errors = 0;
        for (a, b) in inputs().into_iter().zip(inputs()) {
            let name = a.name.clone();
            let read = a.read().map_err(|e| e.to_string());
            errors += usize::from(read.is_err());
            assert_eq!(b.with_bytes(shown), read, "{name}");
        }
        // The missing file twice, the link listed, standard input's error.
        assert_eq!(errors, 4);
        let outer = Input::from_bytes("big", Ok(Vec::new()));
        let inner = outer.with_bytes(|_| {
            Input {
                name: "small".into(),
                source: Source::Listed(small.clone()),
            }
            .with_bytes(shown)
        });
        assert_eq!(inner, Ok(b"abcdefghij".to_vec()));
    }

    #[test]
    fn stdin_over_the_limit_gives_no_made_up_size() {
        let cap = Cap {
            limit: 4,
            what: "a report",
        };
        let e = read_stream(&b"12345"[..], cap).unwrap_err().to_string();
        assert_eq!(e, "standard input is over the 4-byte limit for a report");
        assert_eq!(read_stream(&b"1234"[..], cap).unwrap(), b"1234");
    }

    #[test]
    fn special_files_are_refused_by_kind() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("p");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status();
        assert!(made.unwrap().success());
        let socket = dir.path().join("s");
        let _listener = std::os::unix::net::UnixListener::bind(&socket).unwrap();
        for (path, kind) in [
            (fifo.as_path(), "a named pipe (FIFO)"),
            (socket.as_path(), "a socket"),
            (Path::new("/dev/zero"), "a character device"),
            (dir.path(), "a folder"),
        ] {
            let e = read_file(path).unwrap_err();
            assert!(
                matches!(e, InputError::NotRegular { kind: k, .. } if k == kind),
                "{path:?}: {e}"
            );
            assert!(read_capped(path, RULES).is_err());
        }
    }

    /// A file found in a folder is opened without a look first (its listing was the look), so a
    /// file swapped after the listing is refused on the open file: by kind, without blocking on
    /// a FIFO, and without following a link to whatever it points at.
    #[test]
    fn a_listed_file_swapped_after_the_listing_is_refused_by_kind() {
        let dir = tempfile::tempdir().unwrap();
        for name in ["a.ips", "b.ips", "c.ips", "d.ips", "e.ips"] {
            std::fs::write(dir.path().join(name), b"{}").unwrap();
        }
        let listed: Vec<Input> = inputs(&[dir.path().to_owned()]).collect();
        assert_eq!(listed.len(), 5);
        assert!(listed.iter().all(|i| matches!(i.source, Source::Listed(_))));
        let at = |name: &str| dir.path().join(name);
        let secret = dir.path().join("secret");
        std::fs::write(&secret, b"key").unwrap();
        std::fs::remove_file(at("a.ips")).unwrap();
        let made = std::process::Command::new("mkfifo")
            .arg(at("a.ips"))
            .status();
        assert!(made.unwrap().success());
        std::fs::remove_file(at("b.ips")).unwrap();
        std::os::unix::fs::symlink(&secret, at("b.ips")).unwrap();
        std::fs::remove_file(at("c.ips")).unwrap();
        std::fs::create_dir(at("c.ips")).unwrap();
        std::fs::remove_file(at("d.ips")).unwrap();
        let mut read = listed.into_iter().map(Input::read);
        for kind in ["a named pipe (FIFO)", "a symbolic link", "a folder"] {
            let e = read.next().unwrap().unwrap_err();
            assert!(
                matches!(e, InputError::NotRegular { kind: k, .. } if k == kind),
                "{kind}: {e}"
            );
        }
        assert!(matches!(
            read.next().unwrap().unwrap_err(),
            InputError::Read { .. }
        ));
        assert_eq!(read.next().unwrap().unwrap(), b"{}");
    }

    #[test]
    fn a_capped_file_over_its_cap_says_its_size_and_what_it_should_be() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("rules.toml");
        std::fs::write(&path, b"0123456789").unwrap();
        let cap = Cap {
            limit: 4,
            what: "a rules file",
        };
        let e = read_capped(&path, cap).unwrap_err().to_string();
        assert!(
            e.ends_with("rules.toml is 10 bytes, over the 4-byte limit for a rules file"),
            "{e}"
        );
    }
}
