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

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use thiserror::Error;

use super::attribution::EarlierRun;
use crate::input;

/// The `schema` of a state file.
pub const SCHEMA: &str = "crashdelta.state/1";

/// How many runs a state file keeps, the most recent.
pub const KEEP: usize = 200;

/// A state file is small (a few kilobytes a run); anything much larger is not one, and is not
/// read into memory.
const MAX_BYTES: u64 = 16 * 1024 * 1024;

/// The most pids kept of one run's process tree.
const MAX_PIDS_PER_RUN: usize = 50_000;

/// About how many bytes `runs` take as JSON: each pid at most 11, each run's other fields a few
/// hundred plus its command.
fn estimated_bytes(runs: &[EarlierRun]) -> u64 {
    runs.iter()
        .map(|r| {
            let argv: usize = r.argv.iter().map(|a| a.len() + 4).sum();
            (r.pids.len() * 11 + argv + 200) as u64
        })
        .sum()
}

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
    /// Who wrote the file last; absent from files written before it was recorded, which are read
    /// all the same.
    #[serde(default)]
    tool: Option<crate::Tool>,
    runs: Vec<EarlierRun>,
}

/// The runs recorded in `path`, oldest first; none when the file does not exist yet. Anything
/// but a regular file (a FIFO planted at its name) is refused, not waited on.
pub fn read(path: &Path) -> Result<Vec<EarlierRun>, StateError> {
    let cap = input::Cap {
        limit: MAX_BYTES,
        what: "a crashdelta state file",
    };
    let bytes = match input::read_capped(path, cap) {
        Ok(b) => b,
        Err(input::InputError::Read { source, .. }) if source.kind() == io::ErrorKind::NotFound => {
            return Ok(Vec::new());
        }
        Err(input::InputError::Read { source, .. }) => {
            return Err(StateError::Io {
                path: path.to_owned(),
                source,
            });
        }
        Err(e) => {
            return Err(StateError::Bad {
                path: path.to_owned(),
                message: e.to_string(),
            });
        }
    };
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
    // Never through a link, never blocking on a FIFO planted at the lock's name.
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK)
        .open(&lock_path)
        .map_err(io)?;
    if !lock.metadata().map_err(io)?.is_file() {
        return Err(StateError::Bad {
            path: PathBuf::from(lock_path),
            message: "the lock is not a regular file".into(),
        });
    }
    // SAFETY: flock(2) on a descriptor this function owns; released when `lock` is closed.
    if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
        return Err(io(io::Error::last_os_error()));
    }
    let mut runs = read(path)?;
    let mut run = run;
    // A run with a huge process tree must not make the file too large to read back, which
    // would turn late-report detection off for good: its most recent pids are kept.
    let drop_pids = run.pids.len().saturating_sub(MAX_PIDS_PER_RUN);
    run.pids.drain(..drop_pids);
    runs.push(run);
    let drop_first = runs.len().saturating_sub(KEEP);
    runs.drain(..drop_first);
    // And the oldest runs go first when the whole would be over a quarter of what is read.
    while runs.len() > 1 && estimated_bytes(&runs) > MAX_BYTES / 4 {
        runs.remove(0);
    }
    let state = StateFile {
        schema: SCHEMA.into(),
        tool: Some(crate::Tool::this()),
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

    /// A FIFO planted at the state file's name, or at its lock's, was waited on forever: before
    /// the run, or after it, losing the verdict (review finding). Both are refused at once.
    #[test]
    fn a_fifo_in_place_of_the_state_file_or_its_lock_is_refused_not_waited_on() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = |p: &Path| {
            let c = std::ffi::CString::new(p.as_os_str().as_encoded_bytes()).unwrap();
            // SAFETY: mkfifo(3) with a valid C string.
            assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
        };
        let state = dir.path().join("state.json");
        fifo(&state);
        assert!(read(&state).is_err());
        assert!(record(&state, run(1)).is_err());
        let other = dir.path().join("other.json");
        fifo(&dir.path().join("other.json.lock"));
        assert!(record(&other, run(1)).is_err());
    }

    /// A run with an enormous process tree keeps the file readable: its pids are capped and the
    /// oldest runs make room.
    #[test]
    fn huge_trees_do_not_make_the_file_unreadable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state.json");
        for i in 0..20 {
            let mut big = run(i);
            big.pids = (0..200_000).collect();
            record(&path, big).unwrap();
        }
        let runs = read(&path).unwrap();
        assert!(!runs.is_empty());
        assert!(runs.iter().all(|r| r.pids.len() <= MAX_PIDS_PER_RUN));
        assert!(std::fs::metadata(&path).unwrap().len() <= MAX_BYTES / 2);
    }
}
