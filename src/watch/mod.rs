//! `watch`: take the inventory of the report folders, run a command, catch every crash report it
//! causes (including the ones macOS writes seconds after the command exited), and attribute each
//! new report to the run or to something else that crashed meanwhile.
//!
//! Reports land late: ReportCrash writes them out of process after the crash (WebKit waits at
//! least 5 s, Chromium's bots slept 90 s, idb waits up to 180 s). After the command exits,
//! `watch` keeps looking for at least `settle`, and up to `settle_max` when a crash is expected
//! (the command died by a signal) but its report has not arrived. A report that is still being
//! written does not parse yet; it is read again until it does. File-system events say when to
//! look; the inventory taken at the end says what is true.

mod attribution;
mod capture;
mod collect;
mod events;
mod injected;
mod overlap;
mod process;
mod pty;
pub mod state;
mod supervise;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use notify::{RecursiveMode, Watcher};
use thiserror::Error;

pub use attribution::{
    Attribution, AttributionKind, Basis, EarlierRun, Life, Tree, Window, attribute,
};
pub use collect::{CollectError, Collected, Collection, collect, collect_under, safe_name};
use events::Action;
pub use injected::{Injection, Library, Seen, VARIABLES};
pub use overlap::{Overlap, Settling, Wait};
pub use process::{Exit, SpawnError};
pub use supervise::{Leftover, Notice, Session, makes_crash_report, signal_name};

use crate::analyze::{AnalysisError, Analyzed, Analyzer};
use crate::input::{self, InputError};
use crate::inventory::{self, Delta, Entry, Inventory, InventoryError};
use crate::report::ParseError;

/// Why a `watch` could not be carried out. No run record is made: the binary exits 125, or 126 or
/// 127 for a command that cannot be started (as `env(1)`).
#[derive(Debug, Error)]
pub enum WatchError {
    /// A report folder could not be inventoried, before the command started or after the wait: none
    /// of them exists, or one cannot be read.
    #[error(transparent)]
    Inventory(#[from] InventoryError),
    /// The command could not be started: not found, not executable, or nothing after `--`.
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    /// Waiting for the command (`waitpid`) failed: how it ended is unknown.
    #[error("cannot wait for the command: {0}")]
    Wait(std::io::Error),
    /// The SIGINT, SIGTERM, SIGHUP and SIGQUIT handlers, which forward those signals to the
    /// command's process group, could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(std::io::Error),
    /// Neither file-system events nor polling could be set up to watch the report folders.
    #[error("cannot watch the report folders: {0}")]
    Watcher(notify::Error),
    /// A report folder is not the folder it was when the run started (replaced by a symbolic
    /// link or another folder, or removed): the two inventories would compare different folders,
    /// and a crash could be hidden.
    #[error(
        "the report folder {0} was replaced or removed during the run; the inventories cannot be \
         compared: run again with the folder in place"
    )]
    FolderReplaced(PathBuf),
}

/// What one `watch` runs and where it looks. Campaigns make one per run with
/// [`Timing::options`](crate::run::Timing::options).
#[derive(Debug, Clone)]
pub struct Options {
    /// The report folders to inventory and watch, their subfolders (`Retired/`) included. A folder
    /// that does not exist is skipped; when none exists, [`WatchError::Inventory`].
    pub folders: Vec<PathBuf>,
    /// The command and its arguments, the program first: started directly (no shell), as the leader
    /// of a new process group.
    pub argv: Vec<OsString>,
    /// Variables added to the command's environment (a campaign's configuration).
    pub env: Vec<(OsString, OsString)>,
    /// Minimum wait after the command exits.
    pub settle: Duration,
    /// Ceiling on the wait when a crash is expected but no report arrived.
    pub settle_max: Duration,
    /// Use polling instead of file-system events.
    pub poll: bool,
    /// Earlier runs (from the state file, `--state`), so that a late report of one is named as
    /// such rather than called concurrent.
    pub earlier: Vec<EarlierRun>,
    /// How long the command may take to end after an interrupt before its process group is killed
    /// (SIGKILL); a second interrupt kills it at once.
    pub kill_after: Duration,
    /// Kill what is left of the command's process group when the watch ends.
    pub kill_leftovers: bool,
    /// Read the command's standard output and error as they pass through (through a
    /// pseudo-terminal where they are a terminal), for the test runners' evidence of a crash
    /// (`testlog`).
    pub capture: bool,
    /// The command's standard output goes to crashdelta's standard error (when crashdelta's
    /// standard output, a file or a pipe, carries the run record).
    pub stdout_to_stderr: bool,
    /// JUnit XML files the test runner writes during the run (`--test-results`), read when the
    /// run ends for more evidence of which test crashed.
    pub test_results: Vec<PathBuf>,
    /// More environment variables to record in the run's provenance (`--record-env`).
    pub record_env: Vec<String>,
    /// The inventory to count new reports from, instead of one taken when the run starts: a
    /// campaign's previous run's final inventory, so that a report landing between two runs (a
    /// late report of the one, while the next is being set up) is new in the next, not lost in
    /// the gap between them.
    pub before: Option<Inventory>,
    /// A campaign run whose wait for late reports overlaps the next runs ([`Overlap`]); `None`
    /// for a lone watch or a sequential campaign (`--sequential`): the run waits its settle.
    pub overlap: Option<Overlap>,
    /// Where the inventories keep the heads of big report folders between runs.
    pub head_cache: inventory::HeadCache,
}

/// A new crash report, read and classified.
#[derive(Debug)]
pub struct NewCrash {
    /// The report's file. In [`Outcome::crashes`] it is the final inventory's entry, at the path
    /// the report has then (it may have been renamed or moved into `Retired/` since it was first
    /// seen).
    pub entry: Entry,
    /// The report, read and classified; or why it was not: `ParseError::Incomplete` for a report
    /// still incomplete when the wait ended, [`AnalysisError::Read`] for one that could not be
    /// read (too large, permissions).
    pub parsed: Result<Analyzed, AnalysisError>,
    /// Whether the report comes from the run or from another program; a report that could not be
    /// read counts as the run's ([`Attribution::unknown`]).
    pub attribution: Attribution,
    /// When it was seen, relative to the command's start.
    pub seen_after: Duration,
}

/// What `watch` reports to its caller while it runs.
pub enum LiveEvent<'a> {
    /// A new crash report landed and was read. A report still being written is announced once it
    /// parses; one found only by the final inventory is not announced. A file announced when it
    /// could not be classified (empty, not a report yet) is announced again, once, when it can.
    Crash(&'a NewCrash),
    /// The command exited, or was killed by a signal; the wait for late reports begins.
    Exited(Exit),
    /// The command stopped, was continued, or was killed after an interrupt.
    Supervision(Notice),
    /// The wait for late reports has begun.
    Waiting {
        /// The command died by a signal that makes a crash report on macOS
        /// ([`makes_crash_report`]), so one is expected: the wait goes on until one
        /// from the run arrives, or until `up_to` has passed.
        expecting_crash: bool,
        /// The longest the wait is planned to last: `settle_max` when a crash is expected, else
        /// `settle` (a report still being written can stretch it up to `settle_max`).
        up_to: Duration,
        /// A campaign run whose wait is left to the runs after it ([`Overlap`]): the next run
        /// starts now, and this run's late reports are still given to it when they land.
        later: bool,
        /// The command died by a signal that makes a crash report, and that report is waited
        /// for while the next runs go on (`later`).
        expected_later: bool,
    },
}

/// What a watched run found: the change in the report folders, the new crash reports, how the
/// command ended, and the run's window.
#[derive(Debug)]
pub struct Outcome {
    /// The inventory taken before the command started.
    pub before: Inventory,
    /// From that inventory to the one taken after the wait: the new, retired, removed and
    /// unreadable files, and how many crash reports there were before and after.
    pub delta: Delta,
    /// New crash reports, in the order they were first seen.
    pub crashes: Vec<NewCrash>,
    /// How the command ended: its exit code, or the signal that killed it.
    pub exit: Exit,
    /// The signal that interrupted crashdelta (and was forwarded), or that reached the command from
    /// the terminal it held (Ctrl-C), if any.
    pub interrupted: Option<i32>,
    /// The command did not end after the interrupt, and its process group was killed (SIGKILL).
    pub killed: bool,
    /// What of the command still ran when the watch ended (and whether it was killed).
    pub leftovers: Vec<Leftover>,
    /// Every pid seen in the command's process tree while it ran, the command's own included. The
    /// tree is polled every 100 ms: a process that lived less long may be missing.
    pub pids: BTreeSet<u32>,
    /// When the command was started (after the before-inventory was taken).
    pub start: DateTime<Utc>,
    /// When crashdelta saw the command exit.
    pub exited: DateTime<Utc>,
    /// When the watch ended: after the wait for late reports and the final inventory.
    pub end: DateTime<Utc>,
    /// How long crashdelta waited after the command exited.
    pub settle_used: Duration,
    /// When crashdelta saw the command exit, for the waits of a campaign that overlap the next
    /// runs ([`Settling`]).
    pub exited_at: Instant,
    /// The command died by a signal that makes a crash report (it, or an orphan of it that
    /// crashdelta reaped), so a report was expected.
    pub expected_crash: bool,
    /// The inventory taken after the wait: the next run of a campaign counts from it.
    pub after: Inventory,
    /// How many times a report file was read and parsed during the watch: a measure of the
    /// work file events caused (a report written in many small pieces is read a few times, not
    /// once per write).
    pub reads: usize,
    /// What the test runner printed about crashes (which test, the Python stack), read from the
    /// command's captured output and from its JUnit files; empty when there is none.
    pub evidence: Vec<crate::testlog::Evidence>,
    /// When each process of the tree was seen running and gone: a crashed worker's pid joined
    /// with the test output printed as it died.
    pub lives: std::collections::BTreeMap<u32, Life>,
    /// How the report folders were watched during the run.
    pub watched_by: WatchedBy,
    /// The libraries the command's environment injects (`LD_PRELOAD`, `DYLD_INSERT_LIBRARIES`),
    /// and whether the sampler saw each mapped into the processes of the tree.
    pub injection: Injection,
    /// Problems that did not change the verdict (a `--test-results` file that could not be read).
    pub warnings: Vec<String>,
}

/// How the report folders were watched: file-system events (FSEvents on macOS, inotify on Linux)
/// see a report the moment it lands; polling (`--poll`, or when events are not available) up to
/// an interval later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum WatchedBy {
    /// File-system events.
    Events,
    /// Listing the folders every 150 ms.
    Polling,
}

/// How long a file must go unchanged before a text report (which reads as complete when cut
/// between two frames) is read, and between two
/// re-reads of a report still being written: the events of a file written in many small writes
/// are not each a parse of the whole file.
const QUIET: Duration = Duration::from_millis(250);

struct Tracker<'a> {
    analyzer: &'a Analyzer,
    /// The runs of the state file, for late reports.
    earlier: &'a [EarlierRun],
    /// The campaign's runs whose wait for late reports overlaps this run ([`attribute`]): a
    /// report is given to one only while its wait would still be going on.
    settling: Vec<Settling>,
    before: HashSet<String>,
    /// Identities already turned into a [`NewCrash`].
    seen: HashMap<String, usize>,
    /// The path of each [`NewCrash`], so that a report that changes after it was read is read
    /// again in place, not announced again.
    by_path: HashMap<PathBuf, usize>,
    /// Crash report files that did not parse yet (still being written), or wait for quiet.
    pending: HashSet<PathBuf>,
    /// When each file last changed, as the events tell.
    changed: HashMap<PathBuf, Instant>,
    crashes: Vec<NewCrash>,
    started: Instant,
    /// How many times a report file was read and parsed (a measure of the work the events cause).
    reads: usize,
}

impl<'a> Tracker<'a> {
    /// A tracker of the reports new since `before`, each attributed with `earlier` and the
    /// campaign's `settling` runs; `started` is when the run (or the wait) began.
    fn new(
        analyzer: &'a Analyzer,
        earlier: &'a [EarlierRun],
        settling: Vec<Settling>,
        before: &Inventory,
        started: Instant,
    ) -> Tracker<'a> {
        Tracker {
            analyzer,
            earlier,
            settling,
            before: before.entries.iter().map(Entry::identity).collect(),
            seen: HashMap::new(),
            by_path: HashMap::new(),
            pending: HashSet::new(),
            changed: HashMap::new(),
            crashes: Vec::new(),
            started,
            reads: 0,
        }
    }

    /// Where a report read now comes from (`attribute`); one that could not be read is the
    /// run's.
    fn attribute(
        &self,
        parsed: &Result<Analyzed, AnalysisError>,
        tree: &Tree,
        window: Window,
    ) -> Attribution {
        match parsed {
            Ok(a) => attribute(
                &a.report,
                Some(tree),
                window,
                self.earlier,
                &self.settling_now(),
            ),
            Err(_) => Attribution::unknown(),
        }
    }

    /// The settling runs whose wait is still going on now: a report that lands after a run's
    /// wait would have ended is a late report like any other (`late` in `attribute`).
    fn settling_now(&self) -> Vec<EarlierRun> {
        let now = Instant::now();
        self.settling
            .iter()
            .filter(|s| !s.over(now, false))
            .map(|s| s.run.clone())
            .collect()
    }

    /// The waiting files to look at again now: at most every 200 ms, and only those quiet since
    /// their last change.
    fn due(&self, last_retry: &mut Instant) -> Option<Vec<PathBuf>> {
        if last_retry.elapsed() < Duration::from_millis(200) || self.pending.is_empty() {
            return None;
        }
        *last_retry = Instant::now();
        Some(
            self.pending
                .iter()
                .filter(|p| self.quiet(p))
                .cloned()
                .collect(),
        )
    }

    /// Whether `path` has gone [`QUIET`] long without an event.
    fn quiet(&self, path: &Path) -> bool {
        self.changed.get(path).is_none_or(|t| t.elapsed() >= QUIET)
    }

    /// Reads and analyses a report file; `None` while it should wait (being written, not yet
    /// readable) or is gone.
    fn analyze_path(&mut self, path: &Path) -> Option<Result<Analyzed, AnalysisError>> {
        self.reads += 1;
        match input::read_file(path) {
            // Too large to be a report, and it will not shrink: settled now, as unreadable, not
            // waited on until `--settle-max`.
            Err(e @ InputError::TooLarge { .. }) => Some(Err(AnalysisError::Read(e.to_string()))),
            // Gone (renamed, rotated): the event for its new name, or the final inventory, has it.
            Err(InputError::Read { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                self.pending.remove(path);
                None
            }
            // Perhaps not yet readable (ReportCrash sets the mode after writing): tried again
            // while the file changes; once it has been quiet, it is what it is: unreadable (a
            // file left unreadable must not hold the wait until `--settle-max`).
            Err(e) if self.quiet(path) => Some(Err(AnalysisError::Read(e.to_string()))),
            Err(_) => {
                self.pending.insert(path.to_owned());
                None
            }
            Ok(bytes) => match self.analyzer.analyze(&bytes) {
                // Cut: perhaps still being written; the end of the wait records it as it is
                // then. A file named as a report that shows none (empty, its header cut) waits
                // only until it has been quiet: then it is what it is, and the gate judges it.
                Err(ParseError::Incomplete(_)) => {
                    self.pending.insert(path.to_owned());
                    None
                }
                // A JSON body cut after the crashed thread reads as far as it goes (what a paste
                // cut short needs), but a file that is still being written looks just the same:
                // it waits like an incomplete one, and the end of the wait records it as it is.
                Ok(a) if a.report.body_cut().is_some() => {
                    self.pending.insert(path.to_owned());
                    None
                }
                Err(ParseError::NotAReport { .. })
                    if !self.quiet(path) && inventory::entry_for(path).peek.is_none() =>
                {
                    self.pending.insert(path.to_owned());
                    None
                }
                other => Some(other.map_err(AnalysisError::Parse)),
            },
        }
    }

    /// Looks at one path; records a new crash when it is one. Returns the crash's index in
    /// `crashes` when it is to be announced: a new crash, or one announced before it could be
    /// classified that now is; `None` when the path is not a new crash (yet), or one already
    /// announced.
    fn check(&mut self, path: &Path, tree: &Tree, window: Window) -> Option<usize> {
        // Hidden files are temporaries (a report written under a dot-name and renamed into
        // place); the inventory skips them too.
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden || !path.is_file() {
            self.pending.remove(path);
            return None;
        }
        let entry = inventory::entry_for(path);
        let identity = entry.identity();
        if !entry.is_crash() || self.before.contains(&identity) {
            // Not (or no longer) a crash report to wait for: one that became unreadable is the
            // final inventory's to report (as unreadable), and must not hold the wait.
            self.pending.remove(path);
            return None;
        }
        // A text report (no `.ips` header line) reads as complete when cut between two frames:
        // it is read once its file has gone quiet, and a change after that is read again in
        // place. A `.ips` says when it is cut (its JSON does not close), so it is read at once.
        let is_text = entry.peek.as_ref().is_some_and(|p| p.bug_type.is_none());
        let known = self.by_path.get(path).copied();
        if known.is_some_and(|i| self.crashes.get(i).is_some_and(|c| c.entry == entry))
            || (known.is_none() && self.seen.contains_key(&identity))
        {
            self.pending.remove(path);
            return None;
        }
        if (known.is_some() || is_text) && !self.quiet(path) {
            self.pending.insert(path.to_owned());
            return None;
        }
        let parsed = self.analyze_path(path)?;
        self.pending.remove(path);
        let attribution = self.attribute(&parsed, tree, window);
        if let Some(i) = known
            && let Some(crash) = self.crashes.get_mut(i)
        {
            // The file changed after it was announced (a text report written slowly): the
            // record follows the file. The announcement is repeated only when it said nothing:
            // a file announced as no report (created empty, and still empty once quiet, as
            // when `cp` or a shell's `>` opens it and the writer is slow to start) is announced
            // again once it reads as a classified crash, so the live line names what crashed.
            let said_nothing = !classified(&crash.parsed);
            let says_now = classified(&parsed);
            crash.entry = entry;
            crash.parsed = parsed;
            crash.attribution = attribution;
            self.seen.insert(identity, i);
            return (said_nothing && says_now).then_some(i);
        }
        self.crashes.push(NewCrash {
            entry,
            parsed,
            attribution,
            seen_after: self.started.elapsed(),
        });
        let index = self.crashes.len() - 1;
        self.seen.insert(identity, index);
        self.by_path.insert(path.to_owned(), index);
        Some(index)
    }

    /// Reads a new crash report the live look did not turn into a crash, at the end of the wait:
    /// one still incomplete, still unreadable, missed by the events, or a copy of another.
    fn read_now(&self, entry: &Entry, tree: &Tree, window: Window) -> NewCrash {
        let parsed = match input::read_file(&entry.file()) {
            Ok(bytes) => self.analyzer.analyze(&bytes).map_err(AnalysisError::Parse),
            Err(e) => Err(AnalysisError::Read(e.to_string())),
        };
        let attribution = self.attribute(&parsed, tree, window);
        NewCrash {
            entry: entry.clone(),
            parsed,
            attribution,
            seen_after: self.started.elapsed(),
        }
    }
}

/// The crash evidence of a JUnit file the runner wrote during the run that started at `start`.
/// A file last written before the run is an earlier run's (plain pytest writes none when a
/// crash kills it, and a campaign reads the same path every run): not read, and the reason is
/// the error. A test case that carries no time of its own gets the file's modification time
/// (when the runner wrote it), which is close enough to join by time.
fn test_results(
    file: &Path,
    start: DateTime<Utc>,
) -> Result<Vec<crate::testlog::Evidence>, String> {
    let written: Option<DateTime<Utc>> = std::fs::metadata(file)
        .and_then(|m| m.modified())
        .ok()
        .map(DateTime::<Utc>::from);
    if let Some(t) = written
        && t < start - chrono::Duration::seconds(2)
    {
        return Err(format!(
            "not written during this run (last written {}): an earlier run's, not read",
            t.format("%Y-%m-%d %H:%M:%S UTC")
        ));
    }
    let cap = input::Cap {
        limit: 256 * 1024 * 1024,
        what: "a JUnit XML file",
    };
    let bytes = input::read_capped(file, cap).map_err(|e| e.to_string())?;
    let mut found = crate::testlog::junit::read(&bytes).map_err(|e| e.to_string())?;
    for e in &mut found {
        if e.at.timestamp() == 0
            && let Some(t) = written
        {
            e.at = t;
        }
    }
    Ok(found)
}

/// Adds a JUnit file's evidence to what the output gave. Both tell of the same crashes: a test
/// the output already named as crashed (as often as it did: each of nextest's tries) is not
/// added again, so that one crash stays one piece of evidence; what only the file knows (a
/// runner whose output was not read, or says less) is added.
fn add_test_results(
    evidence: &mut Vec<crate::testlog::Evidence>,
    found: Vec<crate::testlog::Evidence>,
) {
    let mut told: HashMap<String, usize> = HashMap::new();
    for e in evidence.iter() {
        if let Some(t) = &e.test {
            *told.entry(t.clone()).or_default() += 1;
        }
    }
    for e in found {
        if let Some(n) = e.test.as_ref().and_then(|t| told.get_mut(t))
            && *n > 0
        {
            *n -= 1;
            continue;
        }
        evidence.push(e);
    }
}

/// Matches the crashes seen live with the final inventory's new crash reports: by path, then by
/// identity (a report renamed or moved since it was seen). A crash whose report is gone from the
/// folders (deleted, or moved out by a test harness) is kept, with a warning: it was read, and a
/// crash of the run must not pass because its file went away. A final report no live crash
/// matches (missed by the events, still incomplete, a copy) is read now by `read_now`.
fn reconcile<'e>(
    live: Vec<NewCrash>,
    finals: impl Iterator<Item = &'e Entry>,
    mut read_now: impl FnMut(&Entry) -> NewCrash,
) -> Vec<NewCrash> {
    let mut finals: Vec<Option<&Entry>> = finals.map(Some).collect();
    let mut kept = Vec::with_capacity(finals.len());
    for mut crash in live {
        let identity = crash.entry.identity();
        let at = finals
            .iter()
            .position(|f| f.is_some_and(|e| e.path == crash.entry.path))
            .or_else(|| {
                finals
                    .iter()
                    .position(|f| f.is_some_and(|e| e.identity() == identity))
            });
        if let Some(entry) = at.and_then(|i| finals.get_mut(i)).and_then(Option::take) {
            if (entry.size, entry.mtime_ns) == (crash.entry.size, crash.entry.mtime_ns) {
                crash.entry = entry.clone();
            } else {
                // Changed since it was read (written on after a pause): what counts is the file
                // as it is now.
                let seen_after = crash.seen_after;
                crash = read_now(entry);
                crash.seen_after = seen_after;
            }
            kept.push(crash);
        } else if !Path::new(&crash.entry.path).exists() {
            if let Ok(a) = &mut crash.parsed {
                a.report.warnings.push(crate::report::Warning {
                    at: "file".into(),
                    message: "the report file was removed or moved out of the report folders \
                              before the watch ended; it was read when it landed"
                        .into(),
                });
            }
            kept.push(crash);
        }
    }
    kept.extend(finals.into_iter().flatten().map(&mut read_now));
    kept
}

/// Whether a read report has a classification: what a live line needs to name the crash.
fn classified(parsed: &Result<Analyzed, AnalysisError>) -> bool {
    parsed.as_ref().is_ok_and(|a| a.classification.is_some())
}

/// Looks at what one file event (or a retry) names, and announces each new crash report it
/// turns into: the same for a watched run and for a campaign's last wait without a command.
/// An event marks its files as changed; a file waiting for quiet (or for the rest of it) is left
/// to the rate-limited retry. A retry of the waiting files is not a change of them.
fn handle(
    action: Action,
    tracker: &mut Tracker,
    existing: &[PathBuf],
    tree: &Tree,
    window: Window,
    on_event: &mut dyn FnMut(LiveEvent),
) {
    let events = !matches!(action, Action::Retry(_));
    let paths: Vec<PathBuf> = match action {
        Action::Retry(paths) | Action::Check(paths) => paths,
        Action::Walk(dir) => files_under(&dir),
        Action::Rescan => existing.iter().flat_map(|f| files_under(f)).collect(),
        Action::Ignore => Vec::new(),
    };
    for p in paths {
        if events {
            tracker.changed.insert(p.clone(), Instant::now());
            if tracker.pending.contains(&p) {
                continue;
            }
        }
        if let Some(i) = tracker.check(&p, tree, window)
            && let Some(c) = tracker.crashes.get(i)
        {
            on_event(LiveEvent::Crash(c));
        }
    }
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    walkdir::WalkDir::new(dir)
        .follow_links(false)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.into_path())
        .collect()
}

/// Runs the command and watches. `on_event` is called as crashes land and when the command exits.
pub fn run(
    opts: &Options,
    analyzer: &Analyzer,
    on_event: &mut dyn FnMut(LiveEvent),
) -> Result<Outcome, WatchError> {
    let before = match &opts.before {
        Some(before) => before.clone(),
        None => inventory::scan_with(&opts.folders, &opts.head_cache)?,
    };
    let folder_ids: Vec<Option<(u64, u64)>> = opts
        .folders
        .iter()
        .map(|f| inventory::folder_id(f))
        .collect();
    let existing: Vec<PathBuf> = opts
        .folders
        .iter()
        .filter(|f| f.is_dir())
        .cloned()
        .collect();

    let (tx, rx) = mpsc::channel::<notify::Result<notify::Event>>();
    let (watcher, watched_by, mut warnings) = watch_folders(&existing, opts.poll, &tx)?;

    // The libraries the command is to load (the environment it gets: crashdelta's with the
    // configuration's variables over it; relative paths from crashdelta's working directory,
    // which is the command's too), resolved before it starts, so the sampler looks from its
    // first round.
    let cwd = std::env::current_dir().unwrap_or_default();
    let libraries = injected::requested(|v| std::env::var_os(v), &opts.env, &cwd);
    // The command, in the terminal's foreground when crashdelta is; SIGINT, SIGTERM, SIGHUP and
    // SIGQUIT go to its process group (supervise.rs).
    // Orphans of the command come to crashdelta (Linux), so they stay in the tree however short
    // their lives; on macOS the fail-closed rule of `attribution` covers them.
    let subreaper = process::become_subreaper();
    let earlier_children = process::PidRecorder::children_before_the_run();
    let start = Utc::now();
    let started = Instant::now();
    let mut supervisor = supervise::Supervisor::start(
        &opts.argv,
        &opts.env,
        opts.kill_after,
        opts.capture,
        opts.stdout_to_stderr,
    )
    .map_err(|e| match e {
        supervise::StartError::Spawn(e) => WatchError::Spawn(e),
        supervise::StartError::Signals(e) => WatchError::Signals(e),
    })?;
    let leader = supervisor.pid();
    let (out, err) = supervisor.take_output();
    let start_warnings = supervisor.take_warnings();
    let capture = capture::Capture::start(out, err);
    let recorder = process::PidRecorder::start(
        leader,
        Duration::from_millis(100),
        subreaper,
        earlier_children,
        Injection::new(libraries),
    );

    let settling = opts
        .overlap
        .iter()
        .flat_map(|o| o.settling.iter().cloned())
        .collect();
    let mut tracker = Tracker::new(analyzer, &opts.earlier, settling, &before, started);
    // When a file event last came; `None` before the first (a run that saw none is quiet).
    let mut last_event: Option<Instant> = None;

    // One look at the folders, the same while the command runs and during the wait (the
    // sampler runs through both, and the window stays open): the file events of the next 20 ms,
    // then the files waiting to be read again. 20 ms is also how late the command's exit may be
    // seen (`waitpid` is polled between looks): a campaign's runs follow each other that much
    // later at most.
    let look = |tracker: &mut Tracker,
                last_event: &mut Option<Instant>,
                last_retry: &mut Instant,
                on_event: &mut dyn FnMut(LiveEvent)| {
        drain(&rx, Duration::from_millis(20), &mut |action| {
            // A read of a file (crashdelta's own reads among them) is no change: only a change
            // keeps the wait from being quiet.
            if action != Action::Ignore {
                *last_event = Some(Instant::now());
            }
            handle(
                action,
                tracker,
                &existing,
                &recorder.snapshot(),
                (start, None),
                on_event,
            );
        });
        if let Some(due) = tracker.due(last_retry) {
            let pids = recorder.snapshot();
            handle(
                Action::Retry(due),
                tracker,
                &existing,
                &pids,
                (start, None),
                on_event,
            );
        }
    };

    // While the command runs.
    let mut last_retry = Instant::now();
    let exit = loop {
        match supervisor.poll().map_err(WatchError::Wait)? {
            supervise::Polled::Exited(exit) => break exit,
            supervise::Polled::Running(Some(notice)) => on_event(LiveEvent::Supervision(notice)),
            supervise::Polled::Running(None) => {}
        }
        look(&mut tracker, &mut last_event, &mut last_retry, on_event);
    };
    let exited_at = Instant::now();
    let exited = Utc::now();
    // The sampler keeps going through the wait: what the command left running (and their
    // children) can still crash, and is still the run's; reports captured during the wait are
    // inside the run's window for the same reason.
    let at_exit = recorder.snapshot();
    // The command's last bytes first, then what crashdelta says.
    capture.wait_closed(Duration::from_millis(500));
    on_event(LiveEvent::Exited(exit));

    // Late reports. A crash is expected when the command died by a signal that makes a crash
    // report; then the wait goes up to `settle_max` unless a report from this run has arrived.
    // An interrupt (here or during the wait) ends the wait: the record is written with what came.
    let expecting = exit.signal.is_some_and(makes_crash_report)
        || at_exit
            .died
            .iter()
            .any(|&(_, signal)| makes_crash_report(signal));
    // A campaign run that overlaps the next ones waits for nothing of its own (unless
    // `--until-crash` needs its verdict); the last waits its settle and for every run still
    // settling (`overlap.rs`).
    let overlap = opts.overlap.as_ref();
    let mut last = overlap.is_none_or(|o| o.last);
    let announce = |last: bool, on_event: &mut dyn FnMut(LiveEvent)| {
        let wait = Overlap::wait(overlap, last, opts.settle);
        let expect = expecting && wait.own_expected;
        let mut up_to = if expect { opts.settle_max } else { wait.settle };
        if wait.settling
            && let Some(until) = overlap.and_then(Overlap::deadline)
        {
            up_to = up_to.max(until.saturating_duration_since(exited_at));
        }
        on_event(LiveEvent::Waiting {
            expecting_crash: expect,
            up_to,
            later: overlap.is_some() && !wait.settling,
            expected_later: expecting && !expect,
        });
    };
    announce(last, on_event);
    let quiet = Duration::from_millis(300);
    loop {
        // Under `--until-crash`, a crash of the campaign seen now makes this run the last: no run
        // starts after it, so it waits for everything still to come.
        if !last && overlap.is_some_and(|o| o.until_crash && o.crash_seen(&tracker.crashes)) {
            last = true;
            announce(last, on_event);
        }
        let wait = Overlap::wait(overlap, last, opts.settle);
        let expect = expecting && wait.own_expected;
        let now = Instant::now();
        let waited = now.saturating_duration_since(exited_at);
        let found_run_crash = tracker
            .crashes
            .iter()
            .any(|c| c.attribution.kind == AttributionKind::Run);
        let others_settled =
            !wait.settling || overlap.is_none_or(|o| o.settled(now, &tracker.crashes));
        let settled = waited >= wait.settle
            && tracker.pending.is_empty()
            && last_event.is_none_or(|t| t.elapsed() >= quiet)
            && (!expect || found_run_crash)
            && others_settled;
        // A report still being written holds any run, the overlapped ones too, up to
        // `settle_max`: a cut report read at the end would count as unreadable.
        let mut ceiling = exited_at + opts.settle_max.max(opts.settle);
        if wait.settling
            && let Some(until) = overlap.and_then(Overlap::deadline)
        {
            ceiling = ceiling.max(until);
        }
        let interrupted = supervisor.interrupted().is_some();
        if settled && overlap.is_some() && !interrupted {
            // An overlapped run ends as soon as its command has: first the inventory now, for
            // what the events have not brought yet (a report that landed between two runs, or
            // while the command's output closed). One still being written holds the wait, and a
            // crash of the campaign found here makes this run the last under `--until-crash`:
            // the next run counts from this run's final inventory, and would never see either.
            let known = (tracker.crashes.len(), tracker.pending.len());
            if let Ok(inv) = inventory::scan_with(&opts.folders, &opts.head_cache) {
                let fresh: Vec<PathBuf> = inventory::diff(&before, &inv)
                    .new_crashes()
                    .map(Entry::file)
                    .filter(|p| !tracker.by_path.contains_key(p) && !tracker.pending.contains(p))
                    .collect();
                if !fresh.is_empty() {
                    let pids = recorder.snapshot();
                    handle(
                        Action::Retry(fresh),
                        &mut tracker,
                        &existing,
                        &pids,
                        (start, None),
                        on_event,
                    );
                    if (tracker.crashes.len(), tracker.pending.len()) != known {
                        continue;
                    }
                }
            }
        }
        if settled || now >= ceiling || interrupted {
            break;
        }
        look(&mut tracker, &mut last_event, &mut last_retry, on_event);
    }
    let settle_used = exited_at.elapsed();
    let settled_at = Utc::now();
    let (pids, injection) = recorder.finish();
    let tree_pids = pids.pids.clone();
    let lives = pids.lives.clone();
    drop(watcher);
    let interrupted = supervisor.interrupted();
    let killed = supervisor.killed();
    let leftovers = supervisor.finish(&pids.pids, opts.kill_leftovers);

    // The truth: the inventory now. Only what it holds counts, at the path it has now (a report
    // seen live may have been renamed or moved since); each of its new crash reports is one
    // crash, copies included, and reports the events missed are read here.
    for (folder, id) in opts.folders.iter().zip(&folder_ids) {
        if id.is_some() && inventory::folder_id(folder) != *id {
            return Err(WatchError::FolderReplaced(folder.clone()));
        }
    }
    let after = inventory::scan_with(&opts.folders, &opts.head_cache)?;
    let delta = inventory::diff(&before, &after);
    let mut evidence = capture.evidence();
    warnings.extend(start_warnings);
    for file in &opts.test_results {
        match test_results(file, start) {
            Ok(found) => add_test_results(&mut evidence, found),
            Err(why) => warnings.push(format!("--test-results {}: {why}", file.display())),
        }
    }
    let crashes = reconcile(
        std::mem::take(&mut tracker.crashes),
        delta.new_crashes(),
        |entry| tracker.read_now(entry, &pids, (start, Some(settled_at))),
    );
    Ok(Outcome {
        before,
        delta,
        crashes,
        exit,
        interrupted,
        killed,
        leftovers,
        pids: tree_pids,
        start,
        exited,
        end: Utc::now(),
        settle_used,
        exited_at,
        expected_crash: expecting,
        after,
        reads: tracker.reads,
        evidence,
        lives,
        watched_by,
        injection,
        warnings,
    })
}

/// The folders' watcher, how it watches, and why it polls when it was not asked to.
type Watching = (Box<dyn Watcher>, WatchedBy, Vec<String>);

/// Watches `existing` for file events, or polls them (`poll`, or when events are not available
/// or run out); the warnings say why it polls when it was not asked to.
fn watch_folders(
    existing: &[PathBuf],
    poll: bool,
    tx: &mpsc::Sender<notify::Result<notify::Event>>,
) -> Result<Watching, WatchError> {
    let mut warnings = Vec::new();
    let (mut watcher, mut watched_by): (Box<dyn Watcher>, WatchedBy) = if poll {
        (Box::new(poll_watcher(tx.clone())?), WatchedBy::Polling)
    } else {
        match notify::recommended_watcher(tx.clone()) {
            Ok(w) => (Box::new(w), WatchedBy::Events),
            Err(e) => {
                warnings.push(format!(
                    "file events are not available ({e}): the report folders are polled every {} ms",
                    POLL_INTERVAL.as_millis()
                ));
                (Box::new(poll_watcher(tx.clone())?), WatchedBy::Polling)
            }
        }
    };
    for folder in existing {
        if let Err(e) = watcher.watch(folder, RecursiveMode::Recursive) {
            // inotify can run out of watches on huge trees: fall back to polling.
            if watched_by == WatchedBy::Events {
                warnings.push(format!(
                    "cannot watch {} for file events ({e}): the report folders are polled every {} ms",
                    folder.display(),
                    POLL_INTERVAL.as_millis()
                ));
            }
            watcher = Box::new(poll_watcher(tx.clone())?);
            watched_by = WatchedBy::Polling;
            for f in existing {
                let _ = watcher.watch(f, RecursiveMode::Recursive);
            }
            break;
        }
    }
    Ok((watcher, watched_by, warnings))
}

/// What [`settle`] found: the new crash reports since `before`, and the inventory at the end.
#[derive(Debug)]
pub struct Settled {
    /// The new crash reports, read and attributed (with no process tree of their own: a
    /// settling run's tree, or its window, places them).
    pub crashes: Vec<NewCrash>,
    /// From the inventory it started from to the one at the end.
    pub delta: Delta,
    /// When the wait began.
    pub start: DateTime<Utc>,
    /// Problems that did not stop it.
    pub warnings: Vec<String>,
}

/// Waits, with no command, for the late reports of a campaign's runs still settling
/// (`opts.overlap`), counting from `opts.before` (the last run's final inventory): what a
/// campaign that stops before its planned last run (`--until-crash`, a run that could not be
/// made) owes the runs it started. Returns when every settling run's wait is over, at their
/// deadline at the latest, or when `stop` says so (an interrupt).
pub fn settle(
    opts: &Options,
    analyzer: &Analyzer,
    stop: &dyn Fn() -> bool,
    on_event: &mut dyn FnMut(LiveEvent),
) -> Result<Settled, WatchError> {
    let before = match &opts.before {
        Some(before) => before.clone(),
        None => inventory::scan_with(&opts.folders, &opts.head_cache)?,
    };
    let settling: Vec<Settling> = opts
        .overlap
        .iter()
        .flat_map(|o| o.settling.iter().cloned())
        .collect();
    let overlap = Overlap {
        settling: settling.clone(),
        last: true,
        until_crash: false,
        scope: crate::classify::Scope::Run,
    };
    let existing: Vec<PathBuf> = opts
        .folders
        .iter()
        .filter(|f| f.is_dir())
        .cloned()
        .collect();
    let (tx, rx) = mpsc::channel::<notify::Result<notify::Event>>();
    let (watcher, _, warnings) = watch_folders(&existing, opts.poll, &tx)?;
    let start = Utc::now();
    let mut tracker = Tracker::new(analyzer, &opts.earlier, settling, &before, Instant::now());
    // No command, so no tree: the settling runs' trees and windows place what lands.
    let tree = Tree {
        me: std::process::id(),
        ..Tree::default()
    };
    // What landed before the wait began (between the last run and now) is read first.
    let landed: Vec<PathBuf> = inventory::scan_with(&opts.folders, &opts.head_cache)
        .map(|now| {
            inventory::diff(&before, &now)
                .new_crashes()
                .map(Entry::file)
                .collect()
        })
        .unwrap_or_default();
    let window = (start, None);
    handle(
        Action::Retry(landed),
        &mut tracker,
        &existing,
        &tree,
        window,
        on_event,
    );
    let deadline = overlap.deadline().unwrap_or_else(Instant::now);
    let mut last_event: Option<Instant> = None;
    let mut last_retry = Instant::now();
    loop {
        let now = Instant::now();
        let done = tracker.pending.is_empty()
            && last_event.is_none_or(|t| t.elapsed() >= Duration::from_millis(300))
            && overlap.settled(now, &tracker.crashes);
        if done || now >= deadline || stop() {
            break;
        }
        drain(&rx, Duration::from_millis(20), &mut |action| {
            if action != Action::Ignore {
                last_event = Some(Instant::now());
            }
            handle(action, &mut tracker, &existing, &tree, window, on_event);
        });
        if let Some(due) = tracker.due(&mut last_retry) {
            handle(
                Action::Retry(due),
                &mut tracker,
                &existing,
                &tree,
                window,
                on_event,
            );
        }
    }
    drop(watcher);
    let after = inventory::scan_with(&opts.folders, &opts.head_cache)?;
    let delta = inventory::diff(&before, &after);
    let settled_at = Utc::now();
    let crashes = reconcile(
        std::mem::take(&mut tracker.crashes),
        delta.new_crashes(),
        |entry| tracker.read_now(entry, &tree, (start, Some(settled_at))),
    );
    Ok(Settled {
        crashes,
        delta,
        start,
        warnings,
    })
}

/// How often the polling fallback looks. A report is printed on average half an interval after
/// it lands (bench/watch_latency.py --poll: p50 117 ms at 250 ms); each look lists and stats
/// the folders, a few milliseconds for a thousand reports.
const POLL_INTERVAL: Duration = Duration::from_millis(150);

fn poll_watcher(
    tx: mpsc::Sender<notify::Result<notify::Event>>,
) -> Result<notify::PollWatcher, WatchError> {
    notify::PollWatcher::new(
        tx,
        notify::Config::default().with_poll_interval(POLL_INTERVAL),
    )
    .map_err(WatchError::Watcher)
}

/// Handles the events that arrive within `wait`; an error from the watcher asks for a rescan.
fn drain(
    rx: &mpsc::Receiver<notify::Result<notify::Event>>,
    wait: Duration,
    f: &mut dyn FnMut(Action),
) {
    let deadline = Instant::now() + wait;
    while let Ok(event) = rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
        match event {
            Ok(e) => f(events::action(&e)),
            Err(_) => f(Action::Rescan),
        }
        if Instant::now() >= deadline {
            break;
        }
    }
}

/// `Crash logs: 252 before → 253 after (1 new)`, with retired, removed and concurrent counts
/// when there are any.
pub fn delta_line(delta: &Delta, new_crashes: usize, concurrent: usize) -> String {
    let mut extras = vec![format!("{new_crashes} new")];
    let retired = delta.retired.iter().filter(|e| e.is_crash()).count();
    let removed = delta.removed.iter().filter(|e| e.is_crash()).count();
    if retired > 0 {
        extras.push(format!("{retired} retired"));
    }
    if removed > 0 {
        extras.push(format!("{removed} removed"));
    }
    let copies = delta
        .duplicates
        .iter()
        .filter(|d| delta.new_crashes().any(|e| e.path == d.path))
        .count();
    if copies > 0 {
        extras.push(format!("{copies} a copy of another report"));
    }
    if concurrent > 0 {
        extras.push(format!("{concurrent} concurrent, not from this run"));
    }
    format!(
        "Crash logs: {} before → {} after ({})",
        delta.before,
        delta.after,
        extras.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A JUnit file and the output tell of the same crashes: a test the output named is not
    /// added again (as often as the output named it), so one crash stays one piece of evidence
    /// and the run's only crash is still joined (review finding: `--test-results` made it lose
    /// its test).
    #[test]
    fn a_junit_file_adds_only_what_the_output_did_not_say() {
        let e = |runner, test: &str| crate::testlog::Evidence {
            test: Some(test.into()),
            ..crate::testlog::Evidence::new(runner, Utc::now())
        };
        use crate::testlog::Runner::{Junit, Nextest};
        let mut evidence = vec![e(Nextest, "crashy tests::a"), e(Nextest, "crashy tests::a")];
        add_test_results(
            &mut evidence,
            vec![
                e(Junit, "crashy tests::a"),
                e(Junit, "crashy tests::a"),
                e(Junit, "crashy tests::a"),
                e(Junit, "crashy tests::b"),
            ],
        );
        let got: Vec<(crate::testlog::Runner, Option<&str>)> = evidence
            .iter()
            .map(|e| (e.runner, e.test.as_deref()))
            .collect();
        assert_eq!(
            got,
            [
                (Nextest, Some("crashy tests::a")),
                (Nextest, Some("crashy tests::a")),
                (Junit, Some("crashy tests::a")),
                (Junit, Some("crashy tests::b")),
            ]
        );
    }
    use crate::classify::RuleSet;

    const ROOT: &str = env!("CARGO_MANIFEST_DIR");

    /// Watches `script` (with `$REPORTS` and `$SOURCE` set) over a fresh folder; returns what
    /// `watch` announced live, and its outcome.
    fn watch(script: &str, source: &str) -> (Vec<String>, Outcome, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let reports = dir.path().join("reports");
        std::fs::create_dir(&reports).unwrap_or_else(|e| panic!("{e}"));
        let opts = Options {
            folders: vec![reports.clone()],
            argv: vec!["sh".into(), "-c".into(), script.into()],
            env: vec![
                ("REPORTS".into(), reports.into_os_string()),
                ("SOURCE".into(), format!("{ROOT}/{source}").into()),
            ],
            settle: Duration::from_millis(300),
            settle_max: Duration::from_secs(5),
            poll: false,
            earlier: Vec::new(),
            kill_after: Duration::from_secs(5),
            kill_leftovers: false,
            capture: false,
            stdout_to_stderr: false,
            test_results: Vec::new(),
            record_env: Vec::new(),
            head_cache: inventory::HeadCache::off(),
            before: None,
            overlap: None,
        };
        let analyzer = Analyzer::new(RuleSet::builtin().unwrap_or_else(|e| panic!("{e}")), None);
        let mut announced = Vec::new();
        let outcome = run(&opts, &analyzer, &mut |e| {
            if let LiveEvent::Crash(c) = e {
                announced.push(format!("{} {}", c.entry.path, c.entry.size));
            }
        })
        .unwrap_or_else(|e| panic!("{e}"));
        (announced, outcome, dir)
    }

    /// A campaign's run counts from the previous run's final inventory (`Options::before`): a
    /// report that landed between the two runs (after the one's last look, before the other
    /// started) is new in the next run, not lost in the gap.
    #[test]
    fn a_report_landing_between_two_runs_is_new_in_the_next() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let reports = dir.path().join("reports");
        std::fs::create_dir(&reports).unwrap_or_else(|e| panic!("{e}"));
        let previous =
            inventory::scan(std::slice::from_ref(&reports)).unwrap_or_else(|e| panic!("{e}"));
        // Lands in the gap: before this run's command starts.
        std::fs::copy(
            format!("{ROOT}/testdata/derived/agx-prepareForEnqueue-0x98.ips"),
            reports.join("Python-gap.ips"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let mut opts = Options {
            folders: vec![reports.clone()],
            argv: vec!["true".into()],
            env: Vec::new(),
            settle: Duration::ZERO,
            settle_max: Duration::ZERO,
            poll: true,
            earlier: Vec::new(),
            kill_after: Duration::from_secs(5),
            kill_leftovers: false,
            capture: false,
            stdout_to_stderr: false,
            test_results: Vec::new(),
            record_env: Vec::new(),
            head_cache: inventory::HeadCache::off(),
            before: None,
            overlap: None,
        };
        let analyzer = Analyzer::new(RuleSet::builtin().unwrap_or_else(|e| panic!("{e}")), None);
        let found = run(&opts, &analyzer, &mut |_| {}).unwrap_or_else(|e| panic!("{e}"));
        assert!(
            found.crashes.is_empty(),
            "a run's own inventory does not see it as new"
        );
        opts.before = Some(previous);
        let found = run(&opts, &analyzer, &mut |_| {}).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(found.crashes.len(), 1);
        assert_eq!((found.delta.before, found.delta.after), (0, 1));
    }

    /// A legacy text report written slowly was announced once per write, each time from a
    /// partial file (its identity, name+size+mtime, changed with every write). It is announced
    /// once, from the whole file, and the record holds the whole report.
    #[test]
    fn a_text_report_written_slowly_is_announced_once_from_the_whole_file() {
        let source = "testdata/real/crash/macsym__ios-crash-without-json-header.crash";
        // A macOS text report has no incident id: its identity is its name, size and mtime.
        let text = std::fs::read_to_string(format!("{ROOT}/{source}")).unwrap_or_default();
        let whole = text
            .lines()
            .filter(|l| !l.starts_with("Incident Identifier"))
            .map(|l| l.len() as u64 + 1)
            .sum::<u64>();
        let script = r#"
            out="$REPORTS/app-2022-09-18.crash"
            grep -v '^Incident Identifier' "$SOURCE" > "$REPORTS/../source.crash"
            n=$(wc -l < "$REPORTS/../source.crash"); i=1
            while [ "$i" -le "$n" ]; do
              sed -n "${i},$((i + 29))p" "$REPORTS/../source.crash" >> "$out"
              i=$((i + 30)); sleep 0.08
            done"#;
        let (announced, outcome, _dir) = watch(script, source);
        assert_eq!(announced.len(), 1, "{announced:?}");
        assert!(
            announced[0].ends_with(&format!(" {whole}")),
            "{announced:?} vs {whole}"
        );
        assert_eq!(outcome.crashes.len(), 1);
        assert_eq!(outcome.crashes[0].entry.size, whole);
    }

    /// A report file created empty and filled only after it had gone quiet (a writer slow to
    /// start after the shell's `>` opened the file: seen in CI on a loaded machine) was announced
    /// as a report of nothing, and the live line never named the crash. It is announced again
    /// once it reads as a classified crash; the record is the whole report.
    #[test]
    fn a_report_filled_after_its_empty_file_went_quiet_is_announced_when_classified() {
        let source = "testdata/derived/agx-prepareForEnqueue-0x98.ips";
        let script = r#"
            out="$REPORTS/Python-2025-12-23-164107.ips"
            : > "$out"; sleep 1.5; cat "$SOURCE" > "$out""#;
        let (announced, outcome, _dir) = watch(script, source);
        let whole = std::fs::metadata(format!("{ROOT}/{source}"))
            .map(|m| m.len())
            .unwrap_or_default();
        assert_eq!(announced.len(), 2, "{announced:?}");
        assert!(announced[0].ends_with(" 0"), "{announced:?}");
        assert!(
            announced[1].ends_with(&format!(" {whole}")),
            "{announced:?}"
        );
        assert_eq!(outcome.crashes.len(), 1);
        assert!(
            outcome.crashes[0]
                .parsed
                .as_ref()
                .is_ok_and(|a| a.classification.is_some())
        );
    }

    /// A `.ips` written in 60 small pieces was read and parsed once per file event (each a parse
    /// of the whole file so far): now the reads of a file still being written wait for it to go
    /// quiet, and are rate-limited.
    #[test]
    fn a_report_written_in_many_pieces_is_not_read_once_per_write() {
        let source = "testdata/derived/agx-prepareForEnqueue-0x98.ips";
        let script = r#"
            out="$REPORTS/Python-2025-12-23-164107.ips"
            size=$(wc -c < "$SOURCE"); step=$((size / 60 + 1)); at=0
            while [ "$at" -lt "$size" ]; do
              tail -c +$((at + 1)) "$SOURCE" | head -c "$step" >> "$out"; at=$((at + step)); sleep 0.02
            done"#;
        let (announced, outcome, _dir) = watch(script, source);
        assert_eq!(announced.len(), 1, "{announced:?}");
        assert_eq!(outcome.crashes.len(), 1);
        assert!(outcome.crashes[0].parsed.is_ok());
        assert!(outcome.reads <= 15, "{} reads for 60 writes", outcome.reads);
    }
}
