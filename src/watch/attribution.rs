//! Whether a new crash report comes from this run, from an earlier run (late), or from something
//! else that crashed meanwhile; and the evidence, in words.
//!
//! # The rule (fail closed)
//!
//! The gate must never pass a crash of the run, and the process tree is only sampled (every
//! 100 ms): a crashing process that lived less, started by a parent that lived less too, is never
//! seen. So a report is *placed outside* the run only on evidence, and counts as the run's
//! otherwise:
//!
//! 1. **The run's, proven**: the crashed process, its parent, or the process macOS holds
//!    responsible for it (`responsiblePid`) was in the command's process tree.
//! 2. **Late, of an earlier run**: not this run's, but the process (or its parent) was in the
//!    tree of an earlier run recorded in the state file (`--state`), and the report was captured
//!    after that run started. ReportCrash can take longer than a settle; the next job names it.
//! 3. **Concurrent**, on evidence that it is another program's: its capture time is outside the
//!    run's window; or its launch time (`procLaunch`) is before the run started; or the sampler
//!    saw that process (started when the report says), or its parent (still running when it was
//!    launched), running outside the command's tree *and* another program's: existing before the
//!    run, or descending from a process that did. A process started during the run by launchd,
//!    init or crashdelta (the parents of orphans) is no evidence: it may be the run's orphan.
//! 4. **The run's, unplaced**: none of the above. Inside the window, no evidence either way:
//!    counted as the run's. `--attribute run-strict` leaves these out of the gate (they are
//!    still shown).
//!
//! A report that could not be read is the run's (it appeared during the run; nothing more is
//! known). Without a process tree (`diff`, across CI steps) the capture time decides.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::classify::Scope;
use crate::report::Report;

/// Where a new crash report comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttributionKind {
    /// From the run: proven by its process tree, or inside its window with nothing placing it
    /// elsewhere ([`Basis`] says which). A report that could not be read is counted here too.
    Run,
    /// A late report of an earlier run (recorded in the state file): its process was in that
    /// run's tree. Inside the gate for `--attribute run` (a crash of the tests that an earlier
    /// job's settle missed is still a crash), outside for `run-strict`.
    Late,
    /// From another program that crashed meanwhile: shown, never dropped, and outside the gate
    /// unless `--attribute any`.
    Concurrent,
}

impl AttributionKind {
    /// How a summary says it: `this run`, `late, from an earlier run`, `concurrent, not from this
    /// run`.
    pub fn label(self) -> &'static str {
        match self {
            AttributionKind::Run => "this run",
            AttributionKind::Late => "late, from an earlier run",
            AttributionKind::Concurrent => "concurrent, not from this run",
        }
    }
}

/// The kind of evidence an [`Attribution`] rests on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Basis {
    /// The crashed process, its parent or its responsible process was in the process tree (of
    /// this run, or for [`AttributionKind::Late`] of the earlier run).
    ProcessTree,
    /// The capture time: inside the window (no process tree known, as in `diff`), or outside it.
    CaptureTime,
    /// The process, or its parent, was seen running outside the command's tree, or was launched
    /// before the run started.
    OutsideProcess,
    /// Nothing placed it outside the run: counted as the run's (fail closed).
    Unplaced,
    /// The report names no process, and its capture time (or its lack of one) fits this run and
    /// an earlier run of the campaign whose late reports were still awaited alike: it may be
    /// either's. Counted as this run's (fail closed), and said so.
    Ambiguous,
    /// The report could not be read.
    Unreadable,
}

/// An earlier run a late report may belong to: what the state file keeps of each run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize)]
pub struct EarlierRun {
    /// The command, as given after `--`.
    pub argv: Vec<String>,
    /// When the command was started.
    pub start: DateTime<Utc>,
    /// When crashdelta stopped waiting for its late reports.
    pub settled: DateTime<Utc>,
    /// Every pid seen in its process tree.
    pub pids: Vec<u32>,
}

/// Whether a new crash report comes from the run, and why crashdelta thinks so (the JSON
/// `attribution` object of each new report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attribution {
    /// From the run, late from an earlier run, or concurrent.
    pub kind: AttributionKind,
    /// The kind of evidence.
    pub basis: Basis,
    /// The evidence in words, for the reader: `Python [81920] is in the command's process tree`,
    /// `its capture time 2025-12-23 16:41:07 UTC is outside the run`.
    pub reason: String,
    /// For a late report: the earlier run it belongs to.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub earlier_run: Option<EarlierRun>,
    /// A late report of an earlier run of the same campaign that landed while that run's wait for
    /// late reports was still going on (the runs overlap their waits): the report that run's own
    /// wait would have caught, so it counts as that run's own crash.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub within_its_wait: bool,
}

impl Attribution {
    /// For a report that could not be read: it appeared during the run, nothing more is known.
    pub fn unknown() -> Attribution {
        Attribution::new(
            AttributionKind::Run,
            Basis::Unreadable,
            "the report could not be read; it appeared during the run".into(),
        )
    }

    fn new(kind: AttributionKind, basis: Basis, reason: String) -> Attribution {
        Attribution {
            kind,
            basis,
            reason,
            earlier_run: None,
            within_its_wait: false,
        }
    }

    /// How a live line says where it comes from: the kind's [`label`](AttributionKind::label),
    /// and `ambiguous` when the run windows could not tell ([`Basis::Ambiguous`]).
    pub fn label(&self) -> &'static str {
        match (self.kind, self.basis) {
            (AttributionKind::Run, Basis::Ambiguous) => {
                "ambiguous: this run or an earlier one, counted as this run's"
            }
            (kind, _) => kind.label(),
        }
    }

    /// Whether the gate sees this report under `scope`: `any` sees all; `run` the run's and late
    /// ones; `run-strict` only the run's placed by evidence (its process tree, or its capture time
    /// where there is no tree) and unreadable ones (which `--allow unreadable` exempts).
    pub fn in_scope(&self, scope: Scope) -> bool {
        match scope {
            Scope::Any => true,
            Scope::Run => self.kind != AttributionKind::Concurrent,
            Scope::RunStrict => {
                self.kind == AttributionKind::Run
                    && !matches!(self.basis, Basis::Unplaced | Basis::Ambiguous)
            }
        }
    }
}

/// Clocks differ by a little between ReportCrash's capture time and ours.
const SLACK_SECONDS: i64 = 2;

/// `t - d`, or `t` where that is out of range: times come from reports, inventories and the
/// state file, and chrono's operators panic on overflow (a crafted year -262143 did).
fn minus(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t.checked_sub_signed(d).unwrap_or(t)
}

/// `t + d`, or `t` where that is out of range.
fn plus(t: DateTime<Utc>, d: Duration) -> DateTime<Utc> {
    t.checked_add_signed(d).unwrap_or(t)
}

/// A process the sampler saw running outside the command's tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outside {
    /// Its parent's pid.
    pub parent: Option<u32>,
    /// When it started, seconds since the Unix epoch (0 when unknown).
    pub start_secs: u64,
    /// When the sampler last saw it running, seconds since the Unix epoch.
    pub last_seen: i64,
}

/// What the sampler learned while the command ran.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    /// Every pid seen in the command's process tree, the command's own included.
    pub pids: BTreeSet<u32>,
    /// Every other process seen running meanwhile, by pid.
    pub outside: BTreeMap<u32, Outside>,
    /// Orphans of the command that crashdelta adopted and reaped (Linux, as subreaper), with
    /// the signal that killed them.
    pub died: Vec<(u32, i32)>,
    /// crashdelta's own pid: as subreaper it is the parent of orphans, like launchd and init.
    pub me: u32,
    /// When each process of the tree was last seen running and first seen gone, for the join of
    /// a crash report with the test output printed as its process died (`run::join`).
    pub lives: BTreeMap<u32, Life>,
}

/// A process of the command's tree as the sampler saw it live and end, in milliseconds since
/// the Unix epoch. The sampler looks every 100 ms, so a process ended somewhere in
/// `(last_alive, gone]`. A zombie (ended, not yet waited for by its parent: an xdist worker
/// whose controller has not reaped it) counts as gone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Life {
    /// The last look that found it running.
    pub last_alive_ms: i64,
    /// The first look that found it gone, if one did.
    pub gone_ms: Option<i64>,
    /// When it started, as the kernel says (to 10 ms on Linux, to the microsecond on macOS),
    /// rounded down; `None` when that could not be read. Nothing it printed can have been read
    /// before: an xdist worker that replaced a crashed one is not the process whose dump came
    /// before it was started, however close their deaths were.
    pub born_ms: Option<i64>,
}

impl Tree {
    /// Whether the sampler's evidence places `pid` outside the run: it was seen outside the
    /// tree, and it existed before the run started, or its parent is such a process
    /// (recursively). A process started during the run whose parent is launchd, init or
    /// crashdelta is an orphan, perhaps of the run: no evidence. (On macOS launchd starts every
    /// app and daemon, so a daemon launched during the run that crashes counts as the run's: fail
    /// closed; `--attribute run-strict` is the way out.)
    fn foreign(&self, pid: u32, run_start: i64, depth: u8) -> bool {
        let Some(seen) = self.outside.get(&pid) else {
            return false;
        };
        let started = i64::try_from(seen.start_secs).unwrap_or(i64::MAX);
        if seen.start_secs > 0 && started < run_start.saturating_sub(SLACK_SECONDS) {
            return true;
        }
        match seen.parent {
            Some(parent)
                if parent > 1
                    && parent != self.me
                    && depth < 64
                    && !self.pids.contains(&parent) =>
            {
                self.foreign(parent, run_start, depth + 1)
            }
            _ => false,
        }
    }
}

/// The run's window: when it started, and when it ended (`None` while the command runs).
pub type Window = (DateTime<Utc>, Option<DateTime<Utc>>);

/// Attributes a new crash report by the rule of the module documentation. `tree` is what the
/// sampler saw (`None` for `diff`, which knows no process tree: the capture time decides);
/// `earlier` the runs of the state file, most recent last; `settling` the earlier runs of a
/// campaign whose wait for late reports overlaps this run (`overlap.rs`), for a report that
/// names no process.
pub fn attribute(
    report: &Report,
    tree: Option<&Tree>,
    window: Window,
    earlier: &[EarlierRun],
    settling: &[EarlierRun],
) -> Attribution {
    let p = &report.process;
    let name = p.name.as_deref().unwrap_or("the process");
    let pid = p.pid.and_then(|v| u32::try_from(v).ok());
    let parent = p.parent_pid.and_then(|v| u32::try_from(v).ok());
    let responsible = p.responsible_pid.and_then(|v| u32::try_from(v).ok());
    let label = pid.map_or_else(|| name.to_owned(), |pid| format!("{name} [{pid}]"));
    let slack = Duration::seconds(SLACK_SECONDS);
    let (start, end) = window;

    if let Some(tree) = tree {
        let in_tree = |v: Option<u32>| v.filter(|v| tree.pids.contains(v));
        let proven = if in_tree(pid).is_some() {
            Some(format!("{label} is in the command's process tree"))
        } else if let Some(parent) = in_tree(parent) {
            Some(format!(
                "the parent of {label} ({parent}) is in the command's process tree"
            ))
        } else {
            in_tree(responsible).filter(|r| Some(*r) != pid).map(|r| {
                format!(
                    "the process responsible for {label} ({r}) is in the command's process tree"
                )
            })
        };
        if let Some(reason) = proven {
            return Attribution::new(AttributionKind::Run, Basis::ProcessTree, reason);
        }
    }
    let launched = p.launch_time.map(|t| t.with_timezone(&Utc));
    if let Some(theirs) = settling_runs(&label, [pid, parent, responsible], launched, settling) {
        return theirs;
    }
    if let Some(late) = late(report, &label, pid, parent, earlier) {
        return late;
    }
    let captured = report.capture_time.map(|t| t.with_timezone(&Utc));
    // No tree placed it: while earlier runs of a campaign settle, the run windows decide
    // between them and this run (a report that names no pid, or a process too short-lived for
    // any sampler): never "another program's" for a capture time inside a settling run.
    // Fail closed: such a report is counted as a crash of the campaign either way.
    if let Some(placed) = by_windows(captured, window, settling, pid.is_some()) {
        return placed;
    }
    if let Some(t) = captured {
        let inside = t >= minus(start, slack) && end.is_none_or(|e| t <= plus(e, slack));
        if !inside {
            return Attribution::new(
                AttributionKind::Concurrent,
                Basis::CaptureTime,
                format!("its capture time {t} is outside the run"),
            );
        }
    }
    let Some(tree) = tree else {
        // `diff`: no process tree; the window is all there is.
        return match captured {
            Some(_) => Attribution::new(
                AttributionKind::Run,
                Basis::CaptureTime,
                "its capture time is inside the run".into(),
            ),
            None => Attribution::new(
                AttributionKind::Run,
                Basis::Unplaced,
                "the report names no time; it appeared during the run".into(),
            ),
        };
    };
    if let Some(t) = launched.filter(|t| *t < minus(start, slack)) {
        return Attribution::new(
            AttributionKind::Concurrent,
            Basis::OutsideProcess,
            format!("{label} was launched at {t}, before the run started"),
        );
    }
    // The sampler saw this very process (same pid, started when the report says) outside the
    // tree, and it is another program's (Tree::foreign). A pid seen outside but started at
    // another time is a reused pid: no evidence.
    let run_start = start.timestamp();
    let same_process = |seen: &Outside| match launched {
        Some(t) if seen.start_secs > 0 => {
            (t.timestamp() - i64::try_from(seen.start_secs).unwrap_or(i64::MAX)).abs()
                <= SLACK_SECONDS
        }
        _ => true,
    };
    if let Some(pid) = pid
        .filter(|v| tree.outside.get(v).is_some_and(same_process) && tree.foreign(*v, run_start, 0))
    {
        return Attribution::new(
            AttributionKind::Concurrent,
            Basis::OutsideProcess,
            format!(
                "{name} [{pid}] is another program's: seen running outside the command's process tree"
            ),
        );
    }
    // The parent: seen outside, another program's, and still running when this process was
    // launched (else its pid may have been reused by a process of the run).
    let alive_at_launch = |seen: &Outside| {
        launched.is_none_or(|t| t.timestamp() <= seen.last_seen.saturating_add(SLACK_SECONDS))
    };
    // launchd, init and crashdelta adopt orphans: as a parent they say nothing.
    if let Some(parent) = parent.filter(|v| {
        *v > 1
            && *v != tree.me
            && tree.outside.get(v).is_some_and(alive_at_launch)
            && tree.foreign(*v, run_start, 0)
    }) {
        return Attribution::new(
            AttributionKind::Concurrent,
            Basis::OutsideProcess,
            format!(
                "the parent of {label} ({parent}) is another program's: seen running outside the command's process tree"
            ),
        );
    }
    let reason = match (pid, captured) {
        (Some(_), _) => format!(
            "{label} crashed during the run and nothing places it outside the run (the process \
             sampler, every 100 ms, never saw it or its parent): counted as the run's"
        ),
        (None, Some(_)) => {
            "the report names no pid and its capture time is inside the run: counted as the run's"
                .into()
        }
        (None, None) => "the report names no pid and no time; it appeared during the run".into(),
    };
    Attribution::new(AttributionKind::Run, Basis::Unplaced, reason)
}

/// A report of an earlier run of the campaign whose wait for late reports is still going on
/// (`overlap.rs`): its process, its parent or its responsible process was in that run's tree.
/// The tree is proof enough, as it is for this run's own reports: the report landed while that
/// run's settle would have been going on, where a sequential campaign would have proven it by
/// the tree alone (no capture time needed: a report whose clock is off is still the run's).
fn settling_runs(
    label: &str,
    [pid, parent, responsible]: [Option<u32>; 3],
    launched: Option<DateTime<Utc>>,
    settling: &[EarlierRun],
) -> Option<Attribution> {
    settling.iter().rev().find_map(|run| {
        // A process launched after that run had ended reuses a pid of its tree: not its.
        if launched.is_some_and(|t| t > plus(run.settled, Duration::seconds(SLACK_SECONDS))) {
            return None;
        }
        let member = |v: Option<u32>| v.filter(|v| *v > 1 && run.pids.contains(v));
        let how = if member(pid).is_some() {
            format!("{label} was in its process tree")
        } else if let Some(parent) = member(parent) {
            format!("the parent of {label} ({parent}) was in its process tree")
        } else {
            let r = member(responsible).filter(|r| Some(*r) != pid)?;
            format!("the process responsible for {label} ({r}) was in its process tree")
        };
        Some(Attribution {
            kind: AttributionKind::Late,
            basis: Basis::ProcessTree,
            reason: format!(
                "a late report of an earlier run of the campaign ({}, started {}), whose late \
                 reports were still awaited: {how}",
                run.argv.join(" "),
                run.start.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            earlier_run: Some(run.clone()),
            within_its_wait: true,
        })
    })
}

/// A report no tree placed (it names no pid, or its process and parent were too short-lived for
/// any sampler), landing while earlier runs of a campaign are settling: the run windows are all
/// there is. Captured inside settling runs' windows and not this run's, it is the latest such
/// run's late report (the others named when there are several); fitting this run and a settling
/// run, or naming no time, it is ambiguous: counted here (fail closed) and said so. `None` when
/// no settling run fits: the usual rule decides.
fn by_windows(
    captured: Option<DateTime<Utc>>,
    (start, end): Window,
    settling: &[EarlierRun],
    has_pid: bool,
) -> Option<Attribution> {
    let slack = Duration::seconds(SLACK_SECONDS);
    let fits = |from: DateTime<Utc>, to: Option<DateTime<Utc>>| {
        captured.is_none_or(|t| t >= minus(from, slack) && to.is_none_or(|e| t <= plus(e, slack)))
    };
    let theirs: Vec<&EarlierRun> = settling
        .iter()
        .filter(|r| fits(r.start, Some(r.settled)))
        .collect();
    let started = |r: &EarlierRun| r.start.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    let unplaced = if has_pid {
        "neither its process nor its parent was in a process tree the sampler saw"
    } else {
        "the report names no pid"
    };
    let latest = theirs.iter().max_by_key(|r| r.start)?;
    match captured {
        Some(t) if !fits(start, end) => {
            let others = if theirs.len() > 1 {
                format!(
                    " (it fits {} settling runs; given to the latest)",
                    theirs.len()
                )
            } else {
                String::new()
            };
            Some(Attribution {
                kind: AttributionKind::Late,
                basis: Basis::CaptureTime,
                reason: format!(
                    "a late report of an earlier run of the campaign ({}, started {}): \
                     {unplaced}, and its capture time {t} is inside that run{others}",
                    latest.argv.join(" "),
                    started(latest)
                ),
                earlier_run: Some((*latest).clone()),
                within_its_wait: true,
            })
        }
        _ => {
            let when = captured.map_or_else(
                || "it names no time either".to_owned(),
                |t| format!("its capture time {t} fits both"),
            );
            let which = theirs
                .iter()
                .map(|r| format!("the run started {}", started(r)))
                .collect::<Vec<_>>()
                .join(", ");
            Some(Attribution::new(
                AttributionKind::Run,
                Basis::Ambiguous,
                format!(
                    "ambiguous: {unplaced}, and it landed while the late reports of an earlier \
                     run ({which}) were still awaited; {when}: it may be that run's or this \
                     one's, and is counted as this run's"
                ),
            ))
        }
    }
}

/// A late report of an earlier run: its process or its parent was in that run's tree, it was
/// captured after that run started, and (when the report says) launched while that run went on.
fn late(
    report: &Report,
    label: &str,
    pid: Option<u32>,
    parent: Option<u32>,
    earlier: &[EarlierRun],
) -> Option<Attribution> {
    let slack = Duration::seconds(SLACK_SECONDS);
    let captured = report.capture_time?.with_timezone(&Utc);
    let launched = report.process.launch_time.map(|t| t.with_timezone(&Utc));
    earlier.iter().rev().find_map(|run| {
        let member = |v: Option<u32>| v.filter(|v| v > &1 && run.pids.contains(v));
        let how = if member(pid).is_some() {
            format!("{label} was in its process tree")
        } else {
            let parent = member(parent)?;
            format!("the parent of {label} ({parent}) was in its process tree")
        };
        let during =
            launched.is_none_or(|t| t >= minus(run.start, slack) && t <= plus(run.settled, slack));
        (captured >= minus(run.start, slack) && during).then(|| Attribution {
            kind: AttributionKind::Late,
            basis: Basis::ProcessTree,
            reason: format!(
                "a late report of an earlier run ({}, started {}): {how}",
                run.argv.join(" "),
                run.start.format("%Y-%m-%d %H:%M:%S UTC")
            ),
            earlier_run: Some(run.clone()),
            within_its_wait: false,
        })
    })
}
#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{Container, Process, ReportKind, SourceFormat};

    fn report(pid: Option<u64>, parent: Option<u64>, time: Option<&str>) -> Report {
        Report {
            format: SourceFormat::Ips,
            container: Container::Plain,
            kind: ReportKind::Crash,
            bug_type: None,
            bug_type_name: None,
            incident_id: None,
            process: Process {
                name: Some("Python".into()),
                pid,
                parent_pid: parent,
                ..Process::default()
            },
            os: Default::default(),
            hardware_model: None,
            capture_time: time.and_then(crate::report::parse_time),
            exception: None,
            termination: None,
            app_specific: Default::default(),
            crashed_thread: None,
            threads: vec![],
            last_exception_backtrace: vec![],
            images: vec![],
            warnings: vec![],
            damaged: None,
            cut: None,
            summary: None,
            extra: vec![],
        }
    }

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    /// The run: 16:40:00 to 16:41:00 UTC; its tree 100 and 101; outside it, 200 (started at
    /// 16:39:30) and its child 201, and pid 1.
    fn setting() -> (Tree, Window) {
        let mut tree = Tree {
            pids: BTreeSet::from([100, 101]),
            ..Tree::default()
        };
        let secs = |s: &str| u64::try_from(at(s).timestamp()).unwrap();
        for (pid, parent, start) in [
            (1, None, "2025-12-23T08:00:00Z"),
            (200, Some(1), "2025-12-23T16:39:30Z"),
            (201, Some(200), "2025-12-23T16:40:10Z"),
        ] {
            tree.outside.insert(
                pid,
                Outside {
                    parent,
                    start_secs: secs(start),
                    last_seen: at("2025-12-23T16:41:00Z").timestamp(),
                },
            );
        }
        let start = at("2025-12-23T16:40:00Z");
        (tree, (start, Some(start + Duration::seconds(60))))
    }

    fn judge(r: &Report) -> Attribution {
        let (tree, w) = setting();
        attribute(r, Some(&tree), w, &[], &[])
    }

    const INSIDE: Option<&str> = Some("2025-12-23 08:40:30.00 -0800");

    #[test]
    fn the_tree_proves() {
        for r in [
            report(Some(101), None, INSIDE),
            report(Some(555), Some(100), INSIDE),
            // Even captured outside the window: the tree outranks the clock.
            report(Some(101), None, Some("2025-12-23 09:40:30.00 -0800")),
        ] {
            let a = judge(&r);
            assert_eq!(
                (a.kind, a.basis),
                (AttributionKind::Run, Basis::ProcessTree),
                "{a:?}"
            );
        }
        let mut r = report(Some(555), Some(1), INSIDE);
        r.process.responsible_pid = Some(100);
        assert!(judge(&r).reason.contains("responsible"));
    }

    /// Evidence places a report outside the run: capture time, launch time, the process or its
    /// parent seen outside the tree.
    #[test]
    fn evidence_places_outside() {
        let outside = [
            (
                report(Some(555), None, Some("2025-12-23 09:40:30.00 -0800")),
                "capture time",
            ),
            (
                report(None, None, Some("2025-12-23 09:40:30.00 -0800")),
                "capture time",
            ),
            (report(Some(200), Some(1), INSIDE), "another program's"),
            (
                report(Some(777), Some(201), INSIDE),
                "parent of Python [777] (201) is another program's",
            ),
        ];
        for (r, why) in outside {
            let a = judge(&r);
            assert_eq!(a.kind, AttributionKind::Concurrent, "{why}: {a:?}");
            assert!(a.reason.contains(why), "{why}: {a:?}");
            assert!(!a.in_scope(Scope::Run) && a.in_scope(Scope::Any));
        }
        let mut r = report(Some(555), None, INSIDE);
        r.process.launch_time = crate::report::parse_time("2025-12-23 08:30:00.00 -0800");
        let a = judge(&r);
        assert_eq!(a.kind, AttributionKind::Concurrent);
        assert!(a.reason.contains("before the run started"), "{a:?}");
    }

    /// The gap the issue found: a process that lived less than the sampler's 100 ms, started by a
    /// parent that did too, was "concurrent" and passed `--fail-on any`. Unseen, inside the
    /// window, nothing placing it elsewhere: the run's (fail closed), outside `run-strict` only.
    /// Orphans' parent (launchd, pid 1) and a reused pid (seen outside, but started at another
    /// time than the report says) are no evidence.
    #[test]
    fn unplaced_is_the_runs() {
        let mut reused = report(Some(200), Some(1), INSIDE);
        reused.process.launch_time = crate::report::parse_time("2025-12-23 08:40:40.00 -0800");
        for r in [
            report(Some(555), Some(556), INSIDE),
            report(Some(555), Some(1), INSIDE),
            report(Some(555), None, None),
            report(None, None, INSIDE),
            reused,
        ] {
            let a = judge(&r);
            assert_eq!(
                (a.kind, a.basis),
                (AttributionKind::Run, Basis::Unplaced),
                "{a:?}"
            );
            assert!(a.in_scope(Scope::Run));
            assert!(!a.in_scope(Scope::RunStrict));
        }
    }

    /// An orphan of the run (its parent exited, it was re-parented to launchd or crashdelta)
    /// that the sampler first saw outside the tree is not another program's: started during the
    /// run by launchd, init or crashdelta, nothing places it outside (review finding: `sh -c
    /// './crasher &'` on macOS passed the gate).
    #[test]
    fn an_orphan_seen_outside_is_not_evidence() {
        let (mut tree, w) = setting();
        tree.me = 4242;
        for (pid, parent) in [(300, 1), (301, 4242), (302, 300)] {
            tree.outside.insert(
                pid,
                Outside {
                    parent: Some(parent),
                    start_secs: u64::try_from(at("2025-12-23T16:40:10Z").timestamp()).unwrap(),
                    last_seen: at("2025-12-23T16:40:50Z").timestamp(),
                },
            );
        }
        for (pid, parent) in [(300, 1), (301, 4242), (302, 300), (555, 302)] {
            let mut r = report(Some(pid), Some(parent), INSIDE);
            r.process.launch_time = crate::report::parse_time("2025-12-23 08:40:10.00 -0800");
            let a = attribute(&r, Some(&tree), w, &[], &[]);
            assert_eq!(
                (a.kind, a.basis),
                (AttributionKind::Run, Basis::Unplaced),
                "{pid}: {a:?}"
            );
        }
    }

    /// A parent seen outside, but last seen before this process was launched, may have been a
    /// pid the run reused: no evidence.
    #[test]
    fn a_parent_gone_before_the_launch_is_not_evidence() {
        let (mut tree, w) = setting();
        if let Some(seen) = tree.outside.get_mut(&200) {
            seen.last_seen = at("2025-12-23T16:40:05Z").timestamp();
        }
        let mut r = report(Some(555), Some(200), INSIDE);
        r.process.launch_time = crate::report::parse_time("2025-12-23 08:40:30.00 -0800");
        let a = attribute(&r, Some(&tree), w, &[], &[]);
        assert_eq!(
            (a.kind, a.basis),
            (AttributionKind::Run, Basis::Unplaced),
            "{a:?}"
        );
        // Still running at the launch: its child is another program's.
        r.process.launch_time = crate::report::parse_time("2025-12-23 08:40:04.00 -0800");
        assert_eq!(
            attribute(&r, Some(&tree), w, &[], &[]).kind,
            AttributionKind::Concurrent
        );
    }

    /// Times at the ends of chrono's range (a crafted state file or inventory) do not panic.
    #[test]
    fn extreme_times_do_not_panic() {
        let (tree, _) = setting();
        let far = DateTime::<Utc>::MIN_UTC;
        let earlier = EarlierRun {
            argv: vec!["x".into()],
            start: far,
            settled: DateTime::<Utc>::MAX_UTC,
            pids: vec![555],
        };
        for window in [(far, None), (far, Some(DateTime::<Utc>::MAX_UTC))] {
            let r = report(Some(555), None, INSIDE);
            let _ = attribute(&r, Some(&tree), window, std::slice::from_ref(&earlier), &[]);
            let _ = attribute(&r, None, window, std::slice::from_ref(&earlier), &[]);
        }
    }

    /// Without a tree (`diff`), the capture time decides.
    #[test]
    fn without_a_tree_the_window_decides() {
        let (_, w) = setting();
        let inside = attribute(&report(Some(555), None, INSIDE), None, w, &[], &[]);
        assert_eq!(
            (inside.kind, inside.basis),
            (AttributionKind::Run, Basis::CaptureTime)
        );
        assert!(inside.in_scope(Scope::RunStrict));
        let outside = attribute(
            &report(Some(101), None, Some("2025-12-23 09:40:30.00 -0800")),
            None,
            w,
            &[],
            &[],
        );
        assert_eq!(outside.kind, AttributionKind::Concurrent);
    }

    /// A report that lands after an earlier run settled is named as that run's late report, in
    /// this run or a later `diff`; never "concurrent".
    #[test]
    fn late_reports_of_an_earlier_run() {
        let (tree, w) = setting();
        let earlier = EarlierRun {
            argv: vec!["pytest".into(), "-x".into()],
            start: at("2025-12-23T16:30:00Z"),
            settled: at("2025-12-23T16:31:00Z"),
            pids: vec![300, 301],
        };
        let late_one = report(Some(301), Some(300), Some("2025-12-23 08:30:50.00 -0800"));
        for tree in [Some(&tree), None] {
            let a = attribute(&late_one, tree, w, std::slice::from_ref(&earlier), &[]);
            assert_eq!(a.kind, AttributionKind::Late, "{a:?}");
            assert!(a.reason.contains("pytest -x"), "{a:?}");
            assert_eq!(a.earlier_run.as_ref(), Some(&earlier));
            assert!(a.in_scope(Scope::Run) && !a.in_scope(Scope::RunStrict));
        }
        // Captured before that run started: not its report.
        let older = report(Some(301), None, Some("2025-12-23 08:20:00.00 -0800"));
        let a = attribute(&older, Some(&tree), w, std::slice::from_ref(&earlier), &[]);
        assert_eq!(a.kind, AttributionKind::Concurrent, "{a:?}");
    }

    /// A campaign's runs go back to back (`overlap.rs`), so a report that names no pid can only
    /// be placed by the run windows: inside one settling run's window and not this run's, it is
    /// that run's late report; fitting both, or naming no time, it is ambiguous, counted here
    /// (fail closed) and said so; never silently given to either.
    #[test]
    fn a_report_without_a_pid_is_placed_by_the_run_windows_or_called_ambiguous() {
        let (tree, w) = setting();
        // The run before this one: 16:39:00 to 16:39:58; this run starts 16:40:00.
        let before = EarlierRun {
            argv: vec!["stress".into()],
            start: at("2025-12-23T16:39:00Z"),
            settled: at("2025-12-23T16:39:58Z"),
            pids: vec![700],
        };
        let settling = std::slice::from_ref(&before);
        let judge = |time: Option<&str>| {
            let r = report(None, None, time);
            attribute(&r, Some(&tree), w, settling, settling)
        };
        // Inside the earlier run only.
        let a = judge(Some("2025-12-23 08:39:30.00 -0800"));
        assert_eq!(
            (a.kind, a.basis),
            (AttributionKind::Late, Basis::CaptureTime),
            "{a:?}"
        );
        assert_eq!(a.earlier_run.as_ref(), Some(&before));
        // Within the clocks' slack of both: ambiguous, counted here, outside run-strict.
        for time in [Some("2025-12-23 08:39:59.00 -0800"), None] {
            let a = judge(time);
            assert_eq!(
                (a.kind, a.basis),
                (AttributionKind::Run, Basis::Ambiguous),
                "{a:?}"
            );
            assert!(a.reason.starts_with("ambiguous"), "{a:?}");
            assert!(a.in_scope(Scope::Run) && !a.in_scope(Scope::RunStrict));
        }
        // Inside this run only: the usual rule.
        let a = judge(INSIDE);
        assert_eq!(
            (a.kind, a.basis),
            (AttributionKind::Run, Basis::Unplaced),
            "{a:?}"
        );
        // With no run settling, a report without a time is this run's, as before.
        let r = report(None, None, None);
        let a = attribute(&r, Some(&tree), w, settling, &[]);
        assert_eq!(
            (a.kind, a.basis),
            (AttributionKind::Run, Basis::Unplaced),
            "{a:?}"
        );
        // A process in no tree (too short-lived for either sampler) is placed by the windows
        // too: never "another program's" for a capture time inside a settling run (review
        // finding: it was concurrent, and passed the gate that --sequential failed).
        let r = report(Some(555), None, Some("2025-12-23 08:39:30.00 -0800"));
        let a = attribute(&r, Some(&tree), w, settling, settling);
        assert_eq!(
            (a.kind, a.basis),
            (AttributionKind::Late, Basis::CaptureTime),
            "{a:?}"
        );
        assert!(a.within_its_wait);
        let r = report(Some(555), None, Some("2025-12-23 08:39:59.00 -0800"));
        assert_eq!(
            attribute(&r, Some(&tree), w, settling, settling).basis,
            Basis::Ambiguous
        );
        // Once the run is no longer settling, the usual rule: another program's.
        let r = report(Some(555), None, Some("2025-12-23 08:39:30.00 -0800"));
        assert_eq!(
            attribute(&r, Some(&tree), w, &[], &[]).kind,
            AttributionKind::Concurrent
        );
    }

    /// A report of a campaign's settling run is that run's by its tree alone, as it would have
    /// been in that run's own wait: a capture time before the run (a clock that is off, a
    /// report made from a template) does not make it another program's.
    #[test]
    fn a_settling_runs_report_is_proven_by_its_tree_alone() {
        let (tree, w) = setting();
        let settling = EarlierRun {
            argv: vec!["stress".into()],
            start: at("2025-12-23T16:39:00Z"),
            settled: at("2025-12-23T16:39:58Z"),
            pids: vec![700, 701],
        };
        // Captured long before either run.
        for (pid, parent) in [(Some(701), None), (Some(9999), Some(700))] {
            let r = report(pid, parent, Some("2025-12-23 06:00:00.00 -0800"));
            let a = attribute(&r, Some(&tree), w, &[], std::slice::from_ref(&settling));
            assert_eq!(
                (a.kind, a.basis),
                (AttributionKind::Late, Basis::ProcessTree),
                "{a:?}"
            );
            assert_eq!(a.earlier_run.as_ref(), Some(&settling));
            assert!(a.within_its_wait, "counted as that run's own crash");
            // Without the run settling (a state file's run), the capture time still rules.
            let a = attribute(&r, Some(&tree), w, std::slice::from_ref(&settling), &[]);
            assert_eq!(a.kind, AttributionKind::Concurrent, "{a:?}");
        }
    }

    /// A process launched after a settling run had ended is not its, whatever its pid: the pid
    /// was reused (review finding: nothing checked the times).
    #[test]
    fn a_reused_pid_is_not_a_settling_runs() {
        let (tree, w) = setting();
        let settling = EarlierRun {
            argv: vec!["stress".into()],
            start: at("2025-12-23T16:39:00Z"),
            settled: at("2025-12-23T16:39:58Z"),
            pids: vec![701],
        };
        let mut r = report(Some(701), None, INSIDE);
        r.process.launch_time = crate::report::parse_time("2025-12-23 08:40:20.00 -0800");
        let a = attribute(&r, Some(&tree), w, &[], std::slice::from_ref(&settling));
        assert_ne!(a.kind, AttributionKind::Late, "{a:?}");
        assert!(!a.within_its_wait);
    }
}
