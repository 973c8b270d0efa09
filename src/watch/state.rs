//! The state file (`--state FILE`): what later runs need to know of earlier ones.
//!
//! ReportCrash can take longer than any settle. A report that lands after `watch` stopped
//! waiting shows up in the next job's inventory, where, without this file, it is just another
//! program's crash ("concurrent") and never gated. The state file keeps, for the last
//! [`KEEP`] runs, the command, the window and every pid of the process tree, so that a later
//! `watch` or `diff` names such a report as a late report of that run (in words and in JSON) and
//! the gate sees it.
//!
//! Several `watch` processes may share one file: each update holds an exclusive lock on a
//! `FILE.lock` beside it, and replaces the file by renaming a complete temporary over it, so a
//! reader never sees half a file and no run is lost. A file that cannot be read or written is a
//! warning for the caller: it never changes the gate's verdict of the run at hand.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Write};
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::attribution::EarlierRun;

/// The `schema` of a state file.
pub const SCHEMA: &str = "crashdelta.state/1";

/// How many runs a state file keeps, the most recent.
pub const KEEP: usize = 200;

/// A state file is small (a few kilobytes a run); anything much larger is not one, and is not
/// read into memory.
const MAX_BYTES: u64 = 16 * 1024 * 1024;

/// Why the state file could not be read or updated.
#[derive(Debug, Error)]
pub enum StateError {
    /// The file (or its lock) could not be opened, read, locked or written.
    #[error("cannot use the state file {path}: {source}")]
    Io {
        /// The state file.
        path: PathBuf,
        /// The operating system's error.
        source: io::Error,
    },
    /// The file is not a crashdelta state file: another schema, bad JSON, or too large.
    #[error("{path} is not a crashdelta state file ({message}); give --state a file of its own")]
    Bad {
        /// The state file.
        path: PathBuf,
        /// What is wrong with it.
        message: String,
    },
}

#[derive(Serialize, Deserialize)]
struct StateFile {
    schema: String,
    runs: Vec<EarlierRun>,
}

/// The runs recorded in `path`, oldest first; none when the file does not exist yet.
pub fn read(path: &Path) -> Result<Vec<EarlierRun>, StateError> {
    let io = |source| StateError::Io {
        path: path.to_owned(),
        source,
    };
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io(e)),
    };
    let meta = file.metadata().map_err(io)?;
    if !meta.is_file() || meta.len() > MAX_BYTES {
        return Err(StateError::Bad {
            path: path.to_owned(),
            message: format!("not a regular file of at most {MAX_BYTES} bytes"),
        });
    }
    let mut bytes = Vec::new();
    file.take(MAX_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(io)?;
    let state: StateFile = serde_json::from_slice(&bytes).map_err(|e| StateError::Bad {
        path: path.to_owned(),
        message: e.to_string(),
    })?;
    if state.schema != SCHEMA {
        return Err(StateError::Bad {
            path: path.to_owned(),
            message: format!("schema {:?}, expected {SCHEMA:?}", state.schema),
        });
    }
    Ok(state.runs)
}

/// Adds `run` to the state file at `path` (creating it), keeping the last [`KEEP`] runs.
pub fn record(path: &Path, run: EarlierRun) -> Result<(), StateError> {
    let io = |source| StateError::Io {
        path: path.to_owned(),
        source,
    };
    let mut lock_path = path.as_os_str().to_owned();
    lock_path.push(".lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .map_err(io)?;
    // SAFETY: flock(2) on a descriptor this function owns; released when `lock` is closed.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(io(io::Error::last_os_error()));
    }
    let mut runs = read(path)?;
    runs.push(run);
    let drop_first = runs.len().saturating_sub(KEEP);
    runs.drain(..drop_first);
    let state = StateFile {
        schema: SCHEMA.into(),
        runs,
    };
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::NamedTempFile::new_in(folder).map_err(io)?;
    serde_json::to_writer(&mut tmp, &state).map_err(|e| io(io::Error::other(e)))?;
    tmp.write_all(b"\n").map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    drop(lock);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(n: u32) -> EarlierRun {
        EarlierRun {
            argv: vec![format!("run{n}")],
            start: chrono::Utc::now(),
            settled: chrono::Utc::now(),
            pids: vec![n],
        }
    }

    #[test]
    fn records_keep_the_last_runs_and_survive_concurrent_writers() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        assert!(read(&path).unwrap().is_empty(), "no file yet: no runs");
        let writers: Vec<_> = (0..8)
            .map(|w| {
                let path = path.clone();
                std::thread::spawn(move || {
                    for i in 0..10 {
                        record(&path, run(w * 100 + i)).unwrap();
                    }
                })
            })
            .collect();
        for w in writers {
            w.join().unwrap();
        }
        assert_eq!(read(&path).unwrap().len(), 80, "no run lost to a race");
        for i in 0..KEEP {
            record(&path, run(u32::try_from(i).unwrap())).unwrap();
        }
        let runs = read(&path).unwrap();
        assert_eq!(runs.len(), KEEP);
        assert_eq!(
            runs.last().unwrap().pids,
            vec![u32::try_from(KEEP - 1).unwrap()]
        );
    }

    #[test]
    fn a_file_that_is_not_a_state_file_is_refused_not_overwritten() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.json");
        std::fs::write(&path, "{\"schema\":\"crashdelta.watch/1\"}").unwrap();
        assert!(matches!(read(&path), Err(StateError::Bad { .. })));
        assert!(record(&path, run(1)).is_err());
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"schema\":\"crashdelta.watch/1\"}"
        );
    }
}
