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
mod collect;
mod events;
mod process;
mod supervise;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};
use notify::{RecursiveMode, Watcher};
use thiserror::Error;

pub use attribution::{Attribution, AttributionKind, attribute_by_time};
pub use collect::{CollectError, Collected, collect, safe_name};
use events::Action;
pub use process::{Exit, SpawnError};
pub use supervise::{Leftover, Notice, Session, makes_crash_report, signal_name};

use crate::analyze::{Analyzed, Analyzer};
use crate::input;
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
    /// How long the command may take to end after an interrupt before its process group is killed
    /// (SIGKILL); a second interrupt kills it at once.
    pub kill_after: Duration,
    /// Kill what is left of the command's process group when the watch ends.
    pub kill_leftovers: bool,
}

/// A new crash report, read and classified.
#[derive(Debug)]
pub struct NewCrash {
    /// The report's file. In [`Outcome::crashes`] it is the final inventory's entry, at the path
    /// the report has then (it may have been renamed or moved into `Retired/` since it was first
    /// seen).
    pub entry: Entry,
    /// The report, read and classified; or why it was not: `ParseError::Incomplete` for a report
    /// still incomplete when the wait ended (a file that could not be read at all is recorded so
    /// too).
    pub parsed: Result<Analyzed, ParseError>,
    /// Whether the report comes from the run or from another program; a report that could not be
    /// read counts as the run's ([`Attribution::unknown`]).
    pub attribution: Attribution,
    /// When it was seen, relative to the command's start.
    pub seen_after: Duration,
}

/// What `watch` reports to its caller while it runs.
pub enum LiveEvent<'a> {
    /// A new crash report landed and was read. A report still being written is announced once it
    /// parses; one found only by the final inventory is not announced.
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
}

struct Tracker<'a> {
    analyzer: &'a Analyzer,
    before: HashSet<String>,
    /// Identities already turned into a [`NewCrash`].
    seen: HashMap<String, usize>,
    /// Crash report files that did not parse yet (still being written).
    pending: HashSet<PathBuf>,
    crashes: Vec<NewCrash>,
    started: Instant,
}

impl Tracker<'_> {
    /// Looks at one path; records a new crash when it is one. Returns the new crash's index in
    /// `crashes`, or `None` when the path is not a new crash (yet).
    fn check(
        &mut self,
        path: &Path,
        pids: &BTreeSet<u32>,
        window: (DateTime<Utc>, Option<DateTime<Utc>>),
    ) -> Option<usize> {
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
        if !entry.is_crash() || self.before.contains(&identity) || self.seen.contains_key(&identity)
        {
            return None;
        }
        let bytes = match input::read_file(path) {
            Ok(b) => b,
            Err(_) => {
                self.pending.insert(path.to_owned());
                return None;
            }
        };
        let parsed = match self.analyzer.analyze(&bytes) {
            Err(ParseError::Incomplete(_)) => {
                self.pending.insert(path.to_owned());
                return None;
            }
            other => other,
        };
        self.pending.remove(path);
        let attribution = match &parsed {
            Ok(a) => attribution::attribute(&a.report, pids, window),
            Err(_) => Attribution::unknown(),
        };
        self.crashes.push(NewCrash {
            entry,
            parsed,
            attribution,
            seen_after: self.started.elapsed(),
        });
        let index = self.crashes.len() - 1;
        self.seen.insert(identity, index);
        Some(index)
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
    let before = inventory::scan(&opts.folders)?;
    let existing: Vec<PathBuf> = opts
        .folders
        .iter()
        .filter(|f| f.is_dir())
        .cloned()
        .collect();

    let (tx, rx) = mpsc::channel::<notify::Result<notify::Event>>();
    let mut watcher: Box<dyn Watcher> = if opts.poll {
        Box::new(poll_watcher(tx.clone())?)
    } else {
        match notify::recommended_watcher(tx.clone()) {
            Ok(w) => Box::new(w),
            Err(_) => Box::new(poll_watcher(tx.clone())?),
        }
    };
    for folder in &existing {
        if watcher.watch(folder, RecursiveMode::Recursive).is_err() {
            // inotify can run out of watches on huge trees: fall back to polling.
            watcher = Box::new(poll_watcher(tx.clone())?);
            for f in &existing {
                let _ = watcher.watch(f, RecursiveMode::Recursive);
            }
            break;
        }
    }

    // The command, in the terminal's foreground when crashdelta is; SIGINT, SIGTERM, SIGHUP and
    // SIGQUIT go to its process group (supervise.rs).
    let start = Utc::now();
    let started = Instant::now();
    let mut supervisor = supervise::Supervisor::start(&opts.argv, &opts.env, opts.kill_after)
        .map_err(|e| match e {
            supervise::StartError::Spawn(e) => WatchError::Spawn(e),
            supervise::StartError::Signals(e) => WatchError::Signals(e),
        })?;
    let leader = supervisor.pid();
    let recorder = process::PidRecorder::start(leader, Duration::from_millis(100));

    let mut tracker = Tracker {
        analyzer,
        before: before.entries.iter().map(Entry::identity).collect(),
        seen: HashMap::new(),
        pending: HashSet::new(),
        crashes: Vec::new(),
        started,
    };
    let mut last_event = Instant::now();
    let handle = |action: Action,
                  tracker: &mut Tracker,
                  pids: &BTreeSet<u32>,
                  window,
                  on_event: &mut dyn FnMut(LiveEvent)| {
        let paths: Vec<PathBuf> = match action {
            Action::Check(paths) => paths,
            Action::Walk(dir) => files_under(&dir),
            Action::Rescan => existing.iter().flat_map(|f| files_under(f)).collect(),
            Action::Ignore => Vec::new(),
        };
        for p in paths {
            if let Some(i) = tracker.check(&p, pids, window)
                && let Some(c) = tracker.crashes.get(i)
            {
                on_event(LiveEvent::Crash(c));
            }
        }
    };

    // While the command runs.
    let exit = loop {
        match supervisor.poll().map_err(WatchError::Wait)? {
            supervise::Polled::Exited(exit) => break exit,
            supervise::Polled::Running(Some(notice)) => on_event(LiveEvent::Supervision(notice)),
            supervise::Polled::Running(None) => {}
        }
        drain(&rx, Duration::from_millis(50), &mut |action| {
            last_event = Instant::now();
            let pids = recorder.snapshot();
            handle(action, &mut tracker, &pids, (start, None), on_event);
        });
    };
    let exited_at = Instant::now();
    let exited = Utc::now();
    let pids = recorder.finish();
    on_event(LiveEvent::Exited(exit));

    // Late reports. A crash is expected when the command died by a signal that makes a crash
    // report; then the wait goes up to `settle_max` unless a report from this run has arrived.
    // An interrupt (here or during the wait) ends the wait: the record is written with what came.
    let expecting = exit.signal.is_some_and(makes_crash_report);
    on_event(LiveEvent::Waiting {
        expecting_crash: expecting,
        up_to: if expecting {
            opts.settle_max
        } else {
            opts.settle
        },
    });
    let quiet = Duration::from_millis(300);
    let mut last_retry = Instant::now();
    loop {
        let waited = exited_at.elapsed();
        let found_run_crash = tracker
            .crashes
            .iter()
            .any(|c| c.attribution.kind == AttributionKind::Run);
        let settled = waited >= opts.settle
            && tracker.pending.is_empty()
            && last_event.elapsed() >= quiet
            && (!expecting || found_run_crash);
        if settled
            || waited >= opts.settle_max.max(opts.settle)
            || supervisor.interrupted().is_some()
        {
            break;
        }
        drain(&rx, Duration::from_millis(50), &mut |action| {
            last_event = Instant::now();
            handle(action, &mut tracker, &pids, (start, Some(exited)), on_event);
        });
        if last_retry.elapsed() >= Duration::from_millis(200) && !tracker.pending.is_empty() {
            last_retry = Instant::now();
            let pending: Vec<PathBuf> = tracker.pending.iter().cloned().collect();
            handle(
                Action::Check(pending),
                &mut tracker,
                &pids,
                (start, Some(exited)),
                on_event,
            );
        }
    }
    let settle_used = exited_at.elapsed();
    drop(watcher);
    let interrupted = supervisor.interrupted();
    let killed = supervisor.killed();
    let leftovers = supervisor.finish(&pids, opts.kill_leftovers);

    // The truth: the inventory now. Reports the events missed are read here.
    let after = inventory::scan(&opts.folders)?;
    let delta = inventory::diff(&before, &after);
    for entry in delta.new_crashes() {
        if !tracker.seen.contains_key(&entry.identity()) {
            let path = PathBuf::from(&entry.path);
            if tracker.check(&path, &pids, (start, Some(exited))).is_none()
                && !tracker.seen.contains_key(&entry.identity())
            {
                // Still incomplete at the end of the wait: record it as such.
                let parsed = match input::read_file(&path) {
                    Ok(bytes) => analyzer.analyze(&bytes),
                    Err(e) => Err(ParseError::Incomplete(e.to_string())),
                };
                tracker.crashes.push(NewCrash {
                    entry: entry.clone(),
                    parsed,
                    attribution: Attribution::unknown(),
                    seen_after: started.elapsed(),
                });
            }
        }
    }
    // Only what the final inventory holds counts, at the path it has now (a report seen live may
    // have been renamed or moved since).
    let finals: HashMap<String, &Entry> = delta.new_crashes().map(|e| (e.identity(), e)).collect();
    tracker
        .crashes
        .retain_mut(|c| match finals.get(&c.entry.identity()) {
            Some(e) => {
                c.entry = (*e).clone();
                true
            }
            None => false,
        });
    Ok(Outcome {
        before,
        delta,
        crashes: tracker.crashes,
        exit,
        interrupted,
        killed,
        leftovers,
        pids,
        start,
        exited,
        end: Utc::now(),
        settle_used,
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
