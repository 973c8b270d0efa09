//! Reading what a command names: files, folders (recursively) and `-` for standard input.
//!
//! Inputs are produced one at a time so that a folder of thousands of reports is never held in
//! memory at once.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use thiserror::Error;

/// Apple caps the largest crash-like log types at 10 MB (`limit` in `submissionConfig`); the
/// largest real report in the corpus is a 1.9 MB panic. Anything beyond this is not a report,
/// and reading it whole would let one file exhaust memory.
pub const MAX_REPORT_BYTES: u64 = 64 * 1024 * 1024;

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
    /// A file, or standard input, over [`MAX_REPORT_BYTES`]: not a report, and not read whole.
    #[error(
        "{path} is {size} bytes, over the {limit}-byte limit for a report; crash reports are at most a few MB"
    )]
    TooLarge {
        /// The file; `-` for standard input.
        path: PathBuf,
        /// The file's size in bytes; for standard input, or a file that grew while it was read,
        /// how many bytes were read before reading stopped (the limit plus one).
        size: u64,
        /// The limit, [`MAX_REPORT_BYTES`].
        limit: u64,
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
    /// A file, not yet read.
    File(PathBuf),
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
            Source::Read(bytes) => bytes,
        }
    }
}

/// Reads one file, refusing files over [`MAX_REPORT_BYTES`] before allocating for them.
pub fn read_file(path: &Path) -> Result<Vec<u8>, InputError> {
    let err = |source| InputError::Read {
        path: path.to_owned(),
        source,
    };
    let file = File::open(path).map_err(err)?;
    let size = file.metadata().map_err(err)?.len();
    if size > MAX_REPORT_BYTES {
        return Err(InputError::TooLarge {
            path: path.to_owned(),
            size,
            limit: MAX_REPORT_BYTES,
        });
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    // `take` guards against a file that grows while it is read.
    file.take(MAX_REPORT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(err)?;
    if bytes.len() as u64 > MAX_REPORT_BYTES {
        return Err(InputError::TooLarge {
            path: path.to_owned(),
            size: bytes.len() as u64,
            limit: MAX_REPORT_BYTES,
        });
    }
    Ok(bytes)
}

fn read_stdin() -> Result<Vec<u8>, InputError> {
    let mut bytes = Vec::new();
    io::stdin()
        .lock()
        .take(MAX_REPORT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(InputError::Stdin)?;
    if bytes.len() as u64 > MAX_REPORT_BYTES {
        return Err(InputError::TooLarge {
            path: "-".into(),
            size: bytes.len() as u64,
            limit: MAX_REPORT_BYTES,
        });
    }
    Ok(bytes)
}

/// Every input named by `paths`, in order; folders are walked recursively in file-name order,
/// skipping hidden files (`.DS_Store`).
pub fn inputs(paths: &[PathBuf]) -> impl Iterator<Item = Input> + '_ {
    paths
        .iter()
        .flat_map(|path| -> Box<dyn Iterator<Item = Input>> {
            if path.as_os_str() == "-" {
                return Box::new(std::iter::once(Input {
                    name: "-".into(),
                    source: Source::Read(read_stdin()),
                }));
            }
            if path.is_dir() {
                let walk = walkdir::WalkDir::new(path)
                    .follow_links(false)
                    .sort_by_file_name()
                    .into_iter()
                    .filter_entry(|e| {
                        e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.')
                    })
                    .filter_map(|entry| match entry {
                        Ok(e) if e.file_type().is_file() => Some(Input {
                            name: e.path().display().to_string(),
                            source: Source::File(e.path().to_owned()),
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
