//! `--history FILE`: each run appended to the history database (`crashdelta::history`) after its
//! record is written. A history that cannot be opened or written is a warning, said once: the
//! run's record and its exit code are what they are without it.

use std::path::Path;

use crashdelta::history::{Appended, History, RunEntry};

use super::output::{note, say};

/// This machine's most recent runs in the history at `path`, for late reports; a history that
/// cannot be read is a warning (late reports are then not named from it).
pub fn earlier_runs(path: Option<&Path>) -> Vec<crashdelta::watch::EarlierRun> {
    let Some(path) = path else {
        return Vec::new();
    };
    let machine = crashdelta::history::machine();
    History::open(path)
        .and_then(|mut h| h.earlier_runs(machine.as_deref()))
        .unwrap_or_else(|e| {
            say!("crashdelta: warning: {e}; late reports of its runs are not recognised");
            Vec::new()
        })
}

/// The history a command appends to, opened once (a campaign appends each run to the same
/// connection); `None` when `--history` is not given or the file could not be opened.
pub struct Recorder {
    store: Option<History>,
    /// Runs not added after the first failure was said (a campaign's later runs are still
    /// tried: a lock held past the timeout once must not lose every later run).
    failed_again: u64,
    said: bool,
}

impl Recorder {
    /// Opens `path`; a failure is said now, and the command goes on without a history.
    pub fn open(path: Option<&Path>) -> Recorder {
        let store = path.and_then(|p| match History::open(p) {
            Ok(h) => Some(h),
            Err(e) => {
                say!("crashdelta: warning: {e}; this run is not added to the history");
                None
            }
        });
        Recorder {
            store,
            failed_again: 0,
            said: false,
        }
    }

    /// Appends `run`; the first failure is said, later ones counted and said at the end.
    pub fn append(&mut self, run: &RunEntry) -> Option<Appended> {
        let store = self.store.as_mut()?;
        match store.append(run) {
            Ok(done) => {
                if done.seen_before > 0 {
                    note!(
                        "crashdelta: history {}: {} crash(es) already recorded by an earlier run",
                        store.path().display(),
                        done.seen_before
                    );
                }
                Some(done)
            }
            Err(_) if self.said => {
                self.failed_again += 1;
                None
            }
            Err(e) => {
                say!("crashdelta: warning: {e}; the run's verdict and record are unchanged");
                self.said = true;
                None
            }
        }
    }
}

impl Drop for Recorder {
    fn drop(&mut self) {
        if self.failed_again > 0 {
            say!(
                "crashdelta: warning: {} more run(s) could not be added to the history",
                self.failed_again
            );
        }
    }
}
