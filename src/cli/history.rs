//! `--history FILE|URL`: each run appended to the history database (`crashdelta::history`) after
//! its record is written. A history that cannot be opened or written is a warning, said once: the
//! run's record and its exit code are what they are without it. A URL's password is never said
//! (the library names the database without it; the warning is redacted again, whatever a
//! server's message quoted).

use std::path::Path;
use std::time::Duration;

use crashdelta::history::{Appended, History, HistoryError, Location, RunEntry};

use super::output::{note, say};

/// How long a store's answer is waited for, each time (`CRASHDELTA_HISTORY_WAIT`, seconds;
/// default 60): a server, or a proxy, that accepts a statement and never answers must not hold
/// the run, whose verdict does not depend on the history (review finding: `watch` hung for good).
fn answer_wait() -> Duration {
    std::env::var("CRASHDELTA_HISTORY_WAIT")
        .ok()
        .and_then(|s| s.trim().parse::<f64>().ok())
        .and_then(|s| Duration::try_from_secs_f64(s).ok())
        .unwrap_or(Duration::from_secs(60))
}

/// `work` done on its own thread, waited for at most [`answer_wait`]; `None` when no answer came
/// in time (the thread, and whatever it holds, is given up: the process ends without it).
fn bounded<T: Send + 'static>(
    work: impl FnOnce() -> Result<T, HistoryError> + Send + 'static,
) -> Option<Result<T, HistoryError>> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(work());
    });
    rx.recv_timeout(answer_wait()).ok()
}

/// What is said when the store did not answer in time.
fn no_answer(path: &Path) -> String {
    format!(
        "the history {} did not answer within {} s (CRASHDELTA_HISTORY_WAIT)",
        Location::from(path),
        answer_wait().as_secs_f64()
    )
}

/// This machine's most recent runs in the history at `path`, for late reports; a history that
/// cannot be read is a warning (late reports are then not named from it).
pub fn earlier_runs(path: Option<&Path>) -> Vec<crashdelta::watch::EarlierRun> {
    let Some(path) = path else {
        return Vec::new();
    };
    let machine = crashdelta::history::machine();
    let at = path.to_owned();
    let answer =
        bounded(move || History::open(&at).and_then(|mut h| h.earlier_runs(machine.as_deref())));
    match answer {
        Some(Ok(runs)) => runs,
        Some(Err(e)) => {
            say!(
                "crashdelta: warning: {}; late reports of its runs are not recognised",
                redacted(path, &e)
            );
            Vec::new()
        }
        None => {
            say!(
                "crashdelta: warning: {}; late reports of its runs are not recognised",
                no_answer(path)
            );
            Vec::new()
        }
    }
}

/// `e` said without the password of the history's URL.
fn redacted(path: &Path, e: &HistoryError) -> String {
    Location::from(path).redact(&e.to_string())
}

/// The history a command appends to, opened once (a campaign appends each run to the same
/// connection); `None` when `--history` is not given, the file could not be opened, or the
/// store stopped answering.
pub struct Recorder {
    store: Option<History>,
    /// What `--history` named, for the warnings.
    path: Option<std::path::PathBuf>,
    /// Runs not added after the first failure was said (a campaign's later runs are still
    /// tried: a lock held past the timeout once must not lose every later run).
    failed_again: u64,
    said: bool,
}

impl Recorder {
    /// Opens `path`; a failure is said now, and the command goes on without a history.
    pub fn open(path: Option<&Path>) -> Recorder {
        let store = path.and_then(|p| {
            let at = p.to_owned();
            match bounded(move || History::open(&at)) {
                Some(Ok(h)) => Some(h),
                Some(Err(e)) => {
                    say!(
                        "crashdelta: warning: {}; this run is not added to the history",
                        redacted(p, &e)
                    );
                    None
                }
                None => {
                    say!(
                        "crashdelta: warning: {}; this run is not added to the history",
                        no_answer(p)
                    );
                    None
                }
            }
        });
        Recorder {
            store,
            path: path.map(Path::to_owned),
            failed_again: 0,
            said: false,
        }
    }

    /// Appends `run`; the first failure is said, later ones counted and said at the end.
    pub fn append(&mut self, run: &RunEntry) -> Option<Appended> {
        let mut store = self.store.take()?;
        let entry = run.clone();
        let Some((store, result)) = bounded(move || {
            let result = store.append(&entry);
            Ok((store, result))
        })
        .and_then(Result::ok) else {
            // Given up: the later runs are not tried against a store that holds the first.
            let path = self.path.clone().unwrap_or_default();
            say!(
                "crashdelta: warning: {}; this run and the later ones are not added to it, and \
                 their verdicts and records are unchanged",
                no_answer(&path)
            );
            return None;
        };
        let store = self.store.insert(store);
        match result {
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
                say!(
                    "crashdelta: warning: {}; the run's verdict and record are unchanged",
                    store.path().redact(&e.to_string())
                );
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
