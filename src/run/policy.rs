//! How long a run waits for late reports, and how it watches: the library's side of `--settle`,
//! `--settle-max` and `--poll` (the gate's side is `classify::GatePolicy`).

use std::ffi::OsString;
use std::path::PathBuf;
use std::time::Duration;

use crate::watch;

/// When a run may stop waiting for late crash reports.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    /// Wait at least this long after the command exits.
    pub settle: Duration,
    /// Wait up to this long when a crash is expected (the command died by a signal) but its
    /// report has not arrived.
    pub settle_max: Duration,
    /// Poll the folders instead of using file-system events.
    pub poll: bool,
    /// How long the command may take to end after an interrupt before its process group is
    /// killed (`--kill-after`).
    pub kill_after: Duration,
    /// Kill what is left of the command's process group when a run ends (`--kill-leftovers`).
    pub kill_leftovers: bool,
    /// Read the command's output as it passes through, for the test runner's evidence
    /// (`--no-capture` turns it off).
    pub capture: bool,
    /// The command's standard output goes to crashdelta's standard error, when crashdelta's
    /// standard output carries the record (a format other than human, no `--output`).
    pub stdout_to_stderr: bool,
}

impl Timing {
    /// The watch of `argv` (with `env` added) over `folders`.
    pub fn options(
        &self,
        folders: Vec<PathBuf>,
        argv: Vec<OsString>,
        env: Vec<(OsString, OsString)>,
    ) -> watch::Options {
        watch::Options {
            folders,
            argv,
            env,
            settle: self.settle,
            // A ceiling below the floor means the floor.
            settle_max: self.settle_max.max(self.settle),
            poll: self.poll,
            earlier: Vec::new(),
            kill_after: self.kill_after,
            kill_leftovers: self.kill_leftovers,
            capture: self.capture,
            stdout_to_stderr: self.stdout_to_stderr,
            test_results: Vec::new(),
            record_env: Vec::new(),
            before: None,
            overlap: None,
            // Set by the caller that knows where caches go (the command line).
            head_cache: crate::inventory::HeadCache::off(),
        }
    }
}
