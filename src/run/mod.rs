//! A run record: what a watched command (or a `diff` between two inventories) added to the
//! report folders, each new crash classified and attributed, and the gate's verdict.
//!
//! [`watch`](watch()) runs one command under `watch::run` and makes its record; [`diff`] makes the
//! record of two inventories taken in separate CI steps; both go through [`build`], which applies
//! the gate policy to every new report (an unreadable new file included: it may be a crash) and
//! lists the files `--collect` copies. Writers (`render::run`) print records; they never make them.

mod injected;
mod join;
mod policy;
pub mod provenance;

use std::path::PathBuf;

use chrono::{DateTime, Utc};
use serde::Serialize;

pub use injected::{Injected, InjectedProcess, SeenBy, Verdict, injected, likely_causes};
pub use join::{JoinedBy, TestLink, join};
pub use policy::Timing;

use crate::analyze::{Analysis, AnalysisError, Analyzer};
use crate::classify::{GatePolicy, GateResult, Judged, Tally};
use crate::input;
use crate::inventory::{self, Delta, Inventory};
use crate::watch::{self, Attribution, AttributionKind, EarlierRun, LiveEvent, SpawnError};

/// One new report of a run, with what the gate made of it.
pub struct NewReport {
    /// The report as read and classified, or why it could not be (a new file that could not be read
    /// is a new report too).
    pub analysis: Analysis,
    /// Whether it comes from the run or from another program; the gate sees the latter only with
    /// `--attribute any`.
    pub attribution: Attribution,
    /// Why it fails the gate, when it does.
    pub gate_failure: Option<String>,
    /// When the file is a copy of another report (the same incident, another path that still
    /// holds it): that path. A copy is new, never hidden; this says whose copy it is.
    pub duplicate_of: Option<String>,
    /// Which test crashed, as the test runner told it, and how that was joined (`watch` with
    /// its output captured); `None` when no evidence belongs to this report.
    pub test: Option<TestLink>,
}

/// The command a run watched.
#[derive(Debug, Clone, Serialize)]
pub struct CommandInfo {
    /// The command and its arguments as given after `--` (converted to UTF-8, lossily).
    pub argv: Vec<String>,
    /// The exit code, when the command exited.
    pub exit: Option<i32>,
    /// The signal that killed it, when one did.
    pub signal: Option<i32>,
    /// That signal's name (`SIGSEGV`), when one did: the numbers differ between macOS and Linux.
    pub signal_name: Option<String>,
    /// Every pid seen in its process tree.
    pub pids: Vec<u32>,
    /// It did not end after crashdelta was interrupted, and crashdelta killed its process group
    /// (SIGKILL, `--kill-after` or a second interrupt).
    pub killed: bool,
    /// What of it still ran when the watch ended: its process group's processes, and those of its
    /// tree that left the group; each says whether it was killed (`--kill-leftovers`).
    pub leftovers: Vec<watch::Leftover>,
}

/// When the run started, ended, and when crashdelta stopped waiting for late reports.
#[derive(Debug, Clone, Serialize)]
pub struct Window {
    /// When the command was started (for `diff`: when the before-inventory was taken).
    pub start: DateTime<Utc>,
    /// When the command exited (for `diff`: when the after-inventory was taken).
    pub end: DateTime<Utc>,
    /// When crashdelta stopped waiting for late reports.
    pub settled: DateTime<Utc>,
    /// How long crashdelta waited for late reports after the command exited, in milliseconds (0 for
    /// `diff`).
    pub settle_used_ms: u64,
    /// How the report folders were watched (`events` or `polling`); none for `diff`, which only
    /// compares inventories.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watched_by: Option<watch::WatchedBy>,
}

/// The record of one run (or one diff).
pub struct RunReport {
    /// `Crash logs: 252 before → 253 after (1 new)`.
    pub headline: String,
    /// Crash reports in the report folders before the run (crash reports, not files).
    pub before: usize,
    /// Crash reports in the report folders after the wait.
    pub after: usize,
    /// The new crash reports, each with its attribution and what the gate made of it: in the order
    /// they were first seen, then the new files that could not be read.
    pub new: Vec<NewReport>,
    /// Crash reports that moved (into `Retired/`): the same report under a new path.
    pub retired: usize,
    /// Crash reports that were there before and are gone (deleted by rotation).
    pub removed: usize,
    /// New reports that are not crashes (jetsam, resource reports...).
    pub other_new: usize,
    /// The command that ran; `None` for `diff`, which runs none.
    pub command: Option<CommandInfo>,
    /// When the run started and ended, and how long it waited for late reports.
    pub window: Window,
    /// The gate's verdict over the new reports (`--fail-on`, `--allow`, `--attribute`).
    pub gate: GateResult,
    /// The signal that interrupted crashdelta, when one did.
    pub interrupted: Option<i32>,
    /// Problems that did not change the verdict: reports `--collect` could not copy, a collect
    /// folder refused. Empty when [`build`] makes the record; the caller adds them.
    pub warnings: Vec<String>,
    /// What exactly ran: the command's files, the repository's state, the configuration's
    /// variables, the machine (`provenance.rs`); `None` for `diff`, which ran nothing.
    pub provenance: Option<provenance::Provenance>,
    /// Whether each library the command's environment injects was loaded in the run's
    /// processes; empty when it injects none, and for `diff` (no command). [`watch`](watch())
    /// fills it.
    pub injected: Vec<Injected>,
}

impl RunReport {
    /// How many new crashes come from other programs than the run's.
    pub fn concurrent(&self) -> usize {
        concurrent(&self.new)
    }

    /// What the state file keeps of this run, so that a later run names its late reports: the
    /// command, the window and the process tree. `None` for a `diff`, which ran no command.
    pub fn as_earlier(&self) -> Option<EarlierRun> {
        let command = self.command.as_ref()?;
        Some(EarlierRun {
            argv: command.argv.clone(),
            start: self.window.start,
            settled: self.window.settled,
            pids: command.pids.clone(),
        })
    }
}

fn concurrent(new: &[NewReport]) -> usize {
    new.iter()
        .filter(|n| n.attribution.kind == AttributionKind::Concurrent)
        .count()
}

/// A new report as a watch or a diff found it, before the gate.
pub struct Found {
    /// The report as read and classified, or why it could not be.
    pub analysis: Analysis,
    /// Whether it comes from the run: by process tree for `watch`, by capture time for `diff`.
    pub attribution: Attribution,
    /// The report's incident id, for `--collect`'s manifest.
    pub incident: Option<String>,
    /// The report's file, which `--collect` copies.
    pub path: PathBuf,
}

impl From<watch::NewCrash> for Found {
    /// A crash report a watch (or a campaign's last wait) found, as the gate sees it.
    fn from(c: watch::NewCrash) -> Found {
        Found {
            incident: c.entry.peek.as_ref().and_then(|p| p.incident_id.clone()),
            path: c.entry.file(),
            analysis: Analysis {
                path: c.entry.path.clone(),
                result: c.parsed,
                sha256: None,
            },
            attribution: c.attribution,
        }
    }
}

/// What the run record says about the command, besides its crashes.
pub struct RunContext {
    /// The command that ran; `None` for `diff`.
    pub command: Option<CommandInfo>,
    /// When the run started and ended, and how long it waited for late reports.
    pub window: Window,
    /// The signal that interrupted crashdelta, when one did.
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
            sha256: None,
        },
        attribution: Attribution::unknown(),
        incident: None,
        path: e.file(),
    });
    let mut new = Vec::new();
    let mut to_collect = Vec::new();
    for f in found.into_iter().chain(unreadable) {
        let in_scope = f.attribution.in_scope(policy.scope);
        let why = f.analysis.reason();
        let judged = match (&f.analysis.result, f.analysis.crash()) {
            (_, Some((report, c))) => Judged::Crash(report, c),
            (Err(_), _) => Judged::Unreadable(why.as_deref().unwrap_or("unknown error")),
            (Ok(_), None) => Judged::Other,
        };
        let gate_failure = policy.judge(judged, in_scope);
        tally.add(&f.analysis.path, gate_failure.as_deref());
        // A file that could not be read cannot be copied either.
        if !matches!(f.analysis.result, Err(AnalysisError::Read(_))) {
            to_collect.push((f.path, f.incident));
        }
        let duplicate_of = delta
            .duplicates
            .iter()
            .find(|d| d.path == f.analysis.path)
            .map(|d| d.of.clone());
        new.push(NewReport {
            analysis: f.analysis,
            attribution: f.attribution,
            gate_failure,
            duplicate_of,
            test: None,
        });
    }
    let run = RunReport {
        headline: watch::delta_line(delta, new.len(), concurrent(&new)),
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
        warnings: Vec::new(),
        provenance: None,
        injected: Vec::new(),
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
    /// When crashdelta saw the command exit; a campaign's next runs wait for this run's late
    /// reports from then ([`watch::Settling`]).
    pub exited_at: std::time::Instant,
    /// The command died by a signal that makes a crash report: one is expected.
    pub expected_crash: bool,
    /// The report folders' inventory after the wait: the next run of a campaign counts from it.
    pub after: Inventory,
    /// What the test runner printed about crashes that no report of this run was joined with,
    /// and when each process of its tree lived: a late report of this run that lands during a
    /// campaign's next run is joined with them there ([`join_late`]).
    pub unjoined: Unjoined,
}

/// A run's test evidence no report of its own took, kept for its late reports.
#[derive(Debug, Clone, Default)]
pub struct Unjoined {
    /// The evidence.
    pub evidence: Vec<crate::testlog::Evidence>,
    /// When each process of the run's tree was seen alive and gone.
    pub lives: std::collections::BTreeMap<u32, watch::Life>,
}

/// The test a late report of a run crashed in, joined with that run's unjoined evidence as its
/// own reports were: `None` when the runner said nothing that fits.
pub fn join_late(report: &crate::report::Report, unjoined: &Unjoined) -> Option<TestLink> {
    join(&[Some(report)], &unjoined.evidence, &unjoined.lives)
        .into_iter()
        .next()
        .flatten()
}

/// Runs the command under `watch::run` and makes its record. `on_live` hears what happens as it
/// happens (crash reports landing, the command exiting, the wait).
pub fn watch(
    opts: &watch::Options,
    analyzer: &Analyzer,
    policy: &GatePolicy,
    on_live: &mut dyn FnMut(LiveEvent),
) -> Result<Watched, watch::WatchError> {
    // Gathered before the command starts, so that it records the tree the command was given
    // (a command that edits a test as it runs must not have its edit recorded as the start),
    // within the budgets of `provenance.rs`: about 60 ms on a small repository, never more than
    // a few hundred milliseconds, and a timeout says so.
    let provenance = provenance::gather(&provenance::Request {
        argv: opts.argv.clone(),
        cwd: std::env::current_dir().unwrap_or_default(),
        env: opts.env.clone(),
        record_env: opts.record_env.clone(),
    });
    let outcome = match watch::run(opts, analyzer, on_live) {
        Ok(o) => o,
        Err(watch::WatchError::Spawn(e)) => return Ok(Watched::CannotRun(e)),
        Err(e) => return Err(e),
    };
    let found = outcome.crashes.into_iter().map(Found::from).collect();
    let command = CommandInfo {
        argv: opts
            .argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        exit: outcome.exit.code,
        signal: outcome.exit.signal,
        signal_name: outcome.exit.signal.map(watch::signal_name),
        pids: outcome.pids.iter().copied().collect(),
        killed: outcome.killed,
        leftovers: outcome.leftovers,
    };
    let window = Window {
        start: outcome.start,
        end: outcome.exited,
        settled: outcome.end,
        settle_used_ms: u64::try_from(outcome.settle_used.as_millis()).unwrap_or(u64::MAX),
        watched_by: Some(outcome.watched_by),
    };
    let ctx = RunContext {
        command: Some(command),
        window,
        interrupted: outcome.interrupted,
    };
    let (mut run, to_collect) = build(found, &outcome.delta, ctx, policy);
    // Only the run's own crashes get this run's tests: a late report of an earlier run, or
    // another program's crash, printed nothing in this output. A copy of a report is the same
    // crash: its original is joined, and the copy must not look like a second crash competing
    // for the same evidence.
    let reports: Vec<Option<&crate::report::Report>> = run
        .new
        .iter()
        .map(|n| {
            (n.attribution.kind == watch::AttributionKind::Run && n.duplicate_of.is_none())
                .then(|| n.analysis.crash().map(|(r, _)| r))
                .flatten()
        })
        .collect();
    let links = join(&reports, &outcome.evidence, &outcome.lives);
    let unjoined = Unjoined {
        evidence: outcome
            .evidence
            .iter()
            .filter(|e| {
                !links
                    .iter()
                    .flatten()
                    .any(|l| l.evidence.as_ref() == Some(*e))
            })
            .cloned()
            .collect(),
        lives: outcome.lives.clone(),
    };
    // The same reports are the crashed processes whose images say whether a library loaded.
    let crashed: Vec<&crate::report::Report> = reports.iter().flatten().copied().collect();
    let injected = injected(&outcome.injection, &outcome.pids, &crashed);
    for (n, link) in run.new.iter_mut().zip(links) {
        n.test = link;
    }
    run.injected = injected;
    run.warnings.extend(outcome.warnings);
    run.provenance = Some(provenance);
    Ok(Watched::Ran(Box::new(WatchedRun {
        run,
        to_collect,
        exit: outcome.exit,
        interrupted: outcome.interrupted,
        exited_at: outcome.exited_at,
        expected_crash: outcome.expected_crash,
        after: outcome.after,
        unjoined,
    })))
}

/// The record of a campaign's last wait without a command ([`watch::settle`]): the new reports,
/// judged by `policy`, in a record with no command, from which the campaign gives each late
/// report to its run.
pub fn settled(settled: watch::Settled, policy: &GatePolicy) -> RunReport {
    let now = chrono::Utc::now();
    let found = settled.crashes.into_iter().map(Found::from).collect();
    let ctx = RunContext {
        command: None,
        window: Window {
            start: settled.start,
            end: now,
            settled: now,
            settle_used_ms: u64::try_from((now - settled.start).num_milliseconds()).unwrap_or(0),
            watched_by: None,
        },
        interrupted: None,
    };
    let (mut run, _) = build(found, &settled.delta, ctx, policy);
    run.warnings.extend(settled.warnings);
    run
}

/// The record of the crash reports added between two inventories (CI steps that split "before"
/// and "after"). No process tree is known across steps: the capture time attributes, and
/// `earlier` (the state file's runs) names late reports of earlier watched runs.
pub fn diff(
    before: &Inventory,
    after: &Inventory,
    analyzer: &Analyzer,
    policy: &GatePolicy,
    earlier: &[EarlierRun],
) -> (RunReport, ToCollect) {
    let delta = inventory::diff(before, after);
    let window = (before.taken_at, Some(after.taken_at));
    let found: Vec<Found> = delta
        .new_crashes()
        .map(|entry| {
            let path = entry.file();
            let result = input::read_file(&path)
                .map_err(|e| AnalysisError::Read(e.to_string()))
                .and_then(|bytes| analyzer.analyze(&bytes).map_err(AnalysisError::Parse));
            let attribution = match &result {
                Ok(a) => watch::attribute(&a.report, None, window, earlier, &[]),
                Err(_) => Attribution::unknown(),
            };
            Found {
                incident: entry.peek.as_ref().and_then(|p| p.incident_id.clone()),
                path,
                analysis: Analysis {
                    path: entry.path.clone(),
                    result,
                    sha256: None,
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
            watched_by: None,
        },
        interrupted: None,
    };
    build(found, &delta, ctx, policy)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::{FailOn, RuleSet, Scope, UNREADABLE};
    use crate::inventory::{Entry, scan};

    const ROOT: &str = env!("CARGO_MANIFEST_DIR");

    fn analyzer() -> Analyzer {
        Analyzer::new(RuleSet::builtin().unwrap_or_else(|e| panic!("{e}")), None)
    }

    fn policy(fail_on: FailOn, scope: Scope) -> GatePolicy {
        GatePolicy {
            fail_on,
            allow: Vec::new(),
            scope,
        }
    }

    fn copy(from: &str, dir: &std::path::Path, name: &str) {
        std::fs::copy(format!("{ROOT}/testdata/{from}"), dir.join(name))
            .unwrap_or_else(|e| panic!("{from}: {e}"));
    }

    /// A folder with one old crash report; then the AGX race report lands, and a new file that
    /// cannot be read (as the inventory records one: an entry with an error).
    fn before_and_after() -> (tempfile::TempDir, Inventory, Inventory) {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        copy("derived/metal-committed-twice.ips", dir.path(), "old.ips");
        let before = scan(&[dir.path().to_path_buf()]).unwrap_or_else(|e| panic!("{e}"));
        copy(
            "derived/agx-prepareForEnqueue-0x98.ips",
            dir.path(),
            "Python-1.ips",
        );
        let mut after = scan(&[dir.path().to_path_buf()]).unwrap_or_else(|e| panic!("{e}"));
        after.entries.push(Entry {
            path: dir.path().join("Python-2.ips").display().to_string(),
            size: 10,
            mtime_ns: 1,
            peek: None,
            error: Some("Permission denied (os error 13)".into()),
            path_bytes: None,
        });
        (dir, before, after)
    }

    #[test]
    fn a_diff_judges_every_new_report_an_unreadable_one_too() {
        let (_dir, before, after) = before_and_after();
        let (run, to_collect) = diff(
            &before,
            &after,
            &analyzer(),
            &policy(FailOn::Any, Scope::Any),
            &[],
        );
        assert_eq!(run.new.len(), 2, "the race report and the unreadable file");
        let failures: Vec<Option<&str>> =
            run.new.iter().map(|n| n.gate_failure.as_deref()).collect();
        assert!(
            failures[0].is_some_and(|f| f.contains("agx-prepare-for-enqueue-race")),
            "{failures:?}"
        );
        assert!(
            failures[1].is_some_and(
                |f| f.starts_with("unreadable new crash report: cannot read ")
                    && f.contains("Permission denied")
            ),
            "{failures:?}"
        );
        assert!(!run.gate.passed);
        // The unreadable file cannot be copied; the race report is.
        assert_eq!(to_collect.len(), 1);
        assert!(to_collect[0].0.ends_with("Python-1.ips"));
        assert!(
            to_collect[0].1.is_some(),
            "the incident id goes into the manifest"
        );
        assert_eq!((run.before, run.other_new), (1, 0));
        assert!(run.command.is_none(), "a diff watched no command");
    }

    /// A diff knows no process tree: the capture time attributes. The race report was captured
    /// in 2025, long before the window of these two inventories: another program's crash, which
    /// the run scope does not gate and the any scope does.
    #[test]
    fn a_diff_attributes_by_capture_time_and_the_scope_decides() {
        let (_dir, before, after) = before_and_after();
        let mut agx_run = policy(FailOn::Agx, Scope::Run);
        // The unreadable file fails every gate (it is the next test's subject): exempt here.
        agx_run.allow.push(UNREADABLE.into());
        let (run, _) = diff(&before, &after, &analyzer(), &agx_run, &[]);
        let race = &run.new[0];
        assert_eq!(race.attribution.kind, AttributionKind::Concurrent);
        assert_eq!(race.gate_failure, None);
        assert_eq!(run.concurrent(), 1);
        assert!(run.gate.passed, "{}", run.gate.reason);
        let (run, _) = diff(
            &before,
            &after,
            &analyzer(),
            &policy(FailOn::Agx, Scope::Any),
            &[],
        );
        assert!(!run.gate.passed);
        // A file nobody can read might be the race itself: `agx` fails on it too.
        assert!(run.new[1].gate_failure.is_some());
    }

    #[test]
    fn an_allowed_rule_and_fail_on_none_pass() {
        let (_dir, before, after) = before_and_after();
        let mut allow = policy(FailOn::Metal, Scope::Any);
        allow.allow.push("agx-prepare-for-enqueue-race".into());
        allow.allow.push(UNREADABLE.into());
        let (run, _) = diff(&before, &after, &analyzer(), &allow, &[]);
        assert!(run.gate.passed, "{}", run.gate.reason);
        let (run, _) = diff(&before, &after, &analyzer(), &GatePolicy::none(), &[]);
        assert!(run.gate.passed);
        assert!(run.new.iter().all(|n| n.gate_failure.is_none()));
    }

    #[test]
    fn build_counts_retired_removed_and_other_kinds_apart() {
        let delta = Delta {
            before: 3,
            after: 3,
            new: Vec::new(),
            retired: Vec::new(),
            removed: Vec::new(),
            unreadable: Vec::new(),
            duplicates: Vec::new(),
        };
        let now = Utc::now();
        let ctx = RunContext {
            command: None,
            window: Window {
                start: now,
                end: now,
                settled: now,
                settle_used_ms: 0,
                watched_by: None,
            },
            interrupted: Some(2),
        };
        let (run, to_collect) = build(Vec::new(), &delta, ctx, &GatePolicy::none());
        assert!(run.new.is_empty() && to_collect.is_empty());
        assert_eq!(run.interrupted, Some(2));
        assert!(run.gate.passed);
        assert!(run.headline.contains("3 before"), "{}", run.headline);
    }
}
