//! A run record: what a watched command (or a `diff` between two inventories) added to the
//! report folders, each new crash classified and attributed, and the gate's verdict.
//!
//! [`watch`] runs one command under `watch::run` and makes its record; [`diff`] makes the record
//! of two inventories taken in separate CI steps; both go through [`build`], which applies the
//! gate policy to every new report (an unreadable new file included: it may be a crash) and lists
//! the files `--collect` copies. Writers (`render::run`) print records; they never make them.

mod policy;

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use policy::Timing;

use crate::analyze::{Analysis, AnalysisError, Analyzer};
use crate::classify::{GatePolicy, GateResult, Judged, Tally};
use crate::input;
use crate::inventory::{self, Delta, Inventory};
use crate::watch::{self, Attribution, AttributionKind, LiveEvent, SpawnError};

/// One new report of a run, with what the gate made of it.
pub struct NewReport {
    pub analysis: Analysis,
    pub attribution: Attribution,
    /// Why it fails the gate, when it does.
    pub gate_failure: Option<String>,
}

/// The command a run watched.
#[derive(Debug, Clone, Serialize)]
pub struct CommandInfo {
    pub argv: Vec<String>,
    /// The exit code, when the command exited.
    pub exit: Option<i32>,
    /// The signal that killed it, when one did.
    pub signal: Option<i32>,
    /// Every pid seen in its process tree.
    pub pids: Vec<u32>,
}

/// When the run started, ended, and when crashdelta stopped waiting for late reports.
#[derive(Debug, Clone, Serialize)]
pub struct Window {
    pub start: DateTime<Utc>,
    /// When the command exited (for `diff`: when the after-inventory was taken).
    pub end: DateTime<Utc>,
    /// When crashdelta stopped waiting for late reports.
    pub settled: DateTime<Utc>,
    pub settle_used_ms: u64,
}

/// The record of one run (or one diff).
pub struct RunReport {
    /// `Crash logs: 252 before → 253 after (1 new)`.
    pub headline: String,
    pub before: usize,
    pub after: usize,
    pub new: Vec<NewReport>,
    /// Crash reports moved into `Retired/` and removed by rotation.
    pub retired: usize,
    pub removed: usize,
    /// New reports that are not crashes (jetsam, resource reports...).
    pub other_new: usize,
    pub command: Option<CommandInfo>,
    pub window: Window,
    pub gate: GateResult,
    /// The signal that interrupted crashdelta, when one did.
    pub interrupted: Option<i32>,
}

impl RunReport {
    /// How many new crashes come from other programs than the run's.
    pub fn concurrent(&self) -> usize {
        self.new
            .iter()
            .filter(|n| n.attribution.kind == AttributionKind::Concurrent)
            .count()
    }
}

/// A new report as a watch or a diff found it, before the gate.
pub struct Found {
    pub analysis: Analysis,
    pub attribution: Attribution,
    /// The report's incident id, for `--collect`'s manifest.
    pub incident: Option<String>,
    pub path: PathBuf,
}

/// What the run record says about the command, besides its crashes.
pub struct RunContext {
    pub command: Option<CommandInfo>,
    pub window: Window,
    pub interrupted: Option<i32>,
}

/// The files `--collect` copies: path and incident id.
pub type ToCollect = Vec<(PathBuf, Option<String>)>;

/// Applies the gate to every new report and builds the run record; also returns the files
/// `--collect` copies. New files that cannot be read are reports too: shown, and judged.
pub fn build(
    found: Vec<Found>,
    delta: &Delta,
    ctx: RunContext,
    policy: &GatePolicy,
) -> (RunReport, ToCollect) {
    let mut tally = Tally::new(policy);
    let unreadable = delta.unreadable.iter().map(|e| Found {
        analysis: Analysis {
            path: e.path.clone(),
            result: Err(AnalysisError::Read(format!(
                "cannot read {}: {}",
                e.path,
                e.error.as_deref().unwrap_or("unknown error")
            ))),
        },
        attribution: Attribution::unknown(),
        incident: None,
        path: PathBuf::from(&e.path),
    });
    let mut new = Vec::new();
    let mut to_collect = Vec::new();
    for f in found.into_iter().chain(unreadable) {
        let in_scope = policy
            .scope
            .includes(f.attribution.kind == AttributionKind::Run);
        let judged = match (&f.analysis.result, f.analysis.crash()) {
            (_, Some((_, c))) => Judged::Crash(c),
            (Err(_), _) => Judged::Unreadable,
            (Ok(_), None) => Judged::Other,
        };
        let gate_failure = policy.judge(judged, in_scope);
        tally.add(&f.analysis.path, gate_failure.as_deref());
        // A file that could not be read cannot be copied either.
        if !matches!(f.analysis.result, Err(AnalysisError::Read(_))) {
            to_collect.push((f.path, f.incident));
        }
        new.push(NewReport {
            analysis: f.analysis,
            attribution: f.attribution,
            gate_failure,
        });
    }
    let concurrent = new
        .iter()
        .filter(|n| n.attribution.kind == AttributionKind::Concurrent)
        .count();
    let run = RunReport {
        headline: watch::delta_line(delta, new.len(), concurrent),
        before: delta.before,
        after: delta.after,
        retired: delta.retired.iter().filter(|e| e.is_crash()).count(),
        removed: delta.removed.iter().filter(|e| e.is_crash()).count(),
        other_new: delta.new.iter().filter(|e| !e.is_crash()).count(),
        new,
        command: ctx.command,
        window: ctx.window,
        gate: tally.result(),
        interrupted: ctx.interrupted,
    };
    (run, to_collect)
}

/// One watched run, or why the command could not be started.
pub enum Watched {
    /// The command ran.
    Ran(Box<WatchedRun>),
    /// The command could not be started (not found, not executable).
    CannotRun(SpawnError),
}

/// A command that ran: its record, and what the caller decides exit codes and copies from.
pub struct WatchedRun {
    /// The run's record.
    pub run: RunReport,
    /// The new reports `--collect` copies.
    pub to_collect: ToCollect,
    /// The command's own exit.
    pub exit: watch::Exit,
    /// The signal that interrupted crashdelta (and was forwarded), if one did.
    pub interrupted: Option<i32>,
}

/// Runs the command under `watch::run` and makes its record. `on_live` hears what happens as it
/// happens (crash reports landing, the command exiting, the wait).
pub fn watch(
    opts: &watch::Options,
    analyzer: &Analyzer,
    policy: &GatePolicy,
    on_live: &mut dyn FnMut(LiveEvent),
) -> Result<Watched, watch::WatchError> {
    let outcome = match watch::run(opts, analyzer, on_live) {
        Ok(o) => o,
        Err(watch::WatchError::Spawn(e)) => return Ok(Watched::CannotRun(e)),
        Err(e) => return Err(e),
    };
    let found = outcome
        .crashes
        .into_iter()
        .map(|c| Found {
            incident: c.entry.peek.as_ref().and_then(|p| p.incident_id.clone()),
            path: PathBuf::from(&c.entry.path),
            analysis: Analysis {
                path: c.entry.path.clone(),
                result: c.parsed.map_err(AnalysisError::Parse),
            },
            attribution: c.attribution,
        })
        .collect();
    let command = CommandInfo {
        argv: opts
            .argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        exit: outcome.exit.code,
        signal: outcome.exit.signal,
        pids: outcome.pids.iter().copied().collect(),
    };
    let window = Window {
        start: outcome.start,
        end: outcome.exited,
        settled: outcome.end,
        settle_used_ms: u64::try_from(outcome.settle_used.as_millis()).unwrap_or(u64::MAX),
    };
    let ctx = RunContext {
        command: Some(command),
        window,
        interrupted: outcome.interrupted,
    };
    let (run, to_collect) = build(found, &outcome.delta, ctx, policy);
    Ok(Watched::Ran(Box::new(WatchedRun {
        run,
        to_collect,
        exit: outcome.exit,
        interrupted: outcome.interrupted,
    })))
}

/// The record of the crash reports added between two inventories (CI steps that split "before"
/// and "after"). No process tree is known across steps: the capture time attributes.
pub fn diff(
    before: &Inventory,
    after: &Inventory,
    analyzer: &Analyzer,
    policy: &GatePolicy,
) -> (RunReport, ToCollect) {
    let delta = inventory::diff(before, after);
    let window = (before.taken_at, Some(after.taken_at));
    let found: Vec<Found> = delta
        .new_crashes()
        .map(|entry| {
            let path = PathBuf::from(&entry.path);
            let result = input::read_file(&path)
                .map_err(|e| AnalysisError::Read(e.to_string()))
                .and_then(|bytes| analyzer.analyze(&bytes).map_err(AnalysisError::Parse));
            let attribution = match &result {
                Ok(a) => watch::attribute_by_time(&a.report, window),
                Err(_) => Attribution::unknown(),
            };
            Found {
                incident: entry.peek.as_ref().and_then(|p| p.incident_id.clone()),
                path,
                analysis: Analysis {
                    path: entry.path.clone(),
                    result,
                },
                attribution,
            }
        })
        .collect();
    let ctx = RunContext {
        command: None,
        window: Window {
            start: before.taken_at,
            end: after.taken_at,
            settled: after.taken_at,
            settle_used_ms: 0,
        },
        interrupted: None,
    };
    build(found, &delta, ctx, policy)
}
