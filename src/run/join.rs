//! Which test crashed: each new crash report of a run joined with the evidence the test runner
//! printed (`testlog`), by the best key there is, and saying which (issue 14).
//!
//! The keys, best first:
//! 1. **pid**: the evidence names the crashed process (or its parent), and so does the report.
//! 2. **pid and death** (`pid-died`): the report's pid is a process of the run's tree that the
//!    sampler saw end as the evidence was printed (between its last look that found the process
//!    running, less half a second, and two seconds after the first that found it gone). This is
//!    how an xdist worker, which no output names by pid, is told from another worker that
//!    crashed a second later. Evidence read before the process was started (the kernel's start
//!    time) is not its: a worker that replaced a crashed one is told from it even when the two
//!    died within one of the sampler's looks.
//! 3. **process and time**: the evidence names the program that crashed (`cargo test`'s test
//!    binary, `go test`'s `pkg.test`, ctest's test command) and it is the report's process, and
//!    the evidence arrived within two minutes of the report's capture.
//! 4. **time**: Python's evidence names no process; a report of a Python process captured within
//!    two minutes of a Python dump is joined to it, when it is the only one that close.
//! 5. **the only crash and the only evidence** of the run.
//!
//! Several candidates and nothing to choose between them, or one that fits another report as
//! well: they are listed, none picked (`ambiguous`), whatever the order of the reports. No
//! evidence: no `test`. One piece of evidence is joined to one report at most.

use std::collections::BTreeMap;

use chrono::{Duration, Utc};
use serde::Serialize;

use crate::report::Report;
use crate::testlog::{Evidence, Runner};
use crate::watch::Life;

/// How a crash report was joined with the test runner's evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum JoinedBy {
    /// The evidence and the report name the same pid.
    Pid,
    /// The report's process, one of the run's, was seen to die as the evidence was printed.
    PidDied,
    /// The evidence names the report's program, and came within two minutes of its capture.
    ProcessAndTime,
    /// A Python dump that came within two minutes of a Python process's report.
    Time,
    /// The run's only crash report and only evidence.
    OnlyOne,
    /// Several pieces of evidence could be this crash's, or one that fits another crash report
    /// as well; `candidates` lists them.
    Ambiguous,
}

impl JoinedBy {
    /// How a summary says it: `joined by pid`.
    pub fn label(self) -> &'static str {
        match self {
            JoinedBy::Pid => "joined by pid",
            JoinedBy::PidDied => "joined by pid: the process died as this was printed",
            JoinedBy::ProcessAndTime => "joined by process and time",
            JoinedBy::Time => "joined by time",
            JoinedBy::OnlyOne => "the run's only crash and only crash evidence",
            JoinedBy::Ambiguous => "several tests could be this crash",
        }
    }
}

/// A crash report's test, as the test runner told it.
#[derive(Debug, Clone, Serialize)]
pub struct TestLink {
    /// How the join was made, or `ambiguous`.
    pub how: JoinedBy,
    /// The evidence joined, when one was.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evidence: Option<Evidence>,
    /// For `ambiguous`: the tests that could be this crash's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub candidates: Vec<String>,
}

impl TestLink {
    /// The test joined, when one was and the runner named it; `None` for `ambiguous`.
    pub fn test_id(&self) -> Option<&str> {
        self.evidence.as_ref()?.test.as_deref()
    }
}

/// How close in time evidence and a report must be.
const NEAR_SECONDS: i64 = 120;

fn near(e: &Evidence, report: &Report) -> bool {
    report.capture_time.is_none_or(|t| {
        let t = t.with_timezone(&Utc);
        let gap = (e.at - t).abs();
        gap <= Duration::seconds(NEAR_SECONDS)
    })
}

fn base(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

fn is_python(report: &Report) -> bool {
    let name = report.process.name.as_deref().unwrap_or_default();
    name.to_ascii_lowercase().starts_with("python")
}

fn python_runner(r: Runner) -> bool {
    matches!(
        r,
        Runner::Faulthandler | Runner::Pytest | Runner::PytestXdist | Runner::Unittest
    )
}

/// Whether a piece of evidence is a report's by one key, and how far off it is: `Some(0)` for
/// the keys that hold or not, the milliseconds between the evidence and the process's death for
/// `pid-died`; `None` when the key does not hold.
type Key<'a> = dyn Fn(&Evidence, &Report) -> Option<i64> + 'a;

/// How long before the sampler last saw a process running its crash evidence may have been
/// printed (the look and the print race), and how long after it was seen gone: the dump is
/// written before the process dies, xdist's `node down` a moment after, and both pass through a
/// pipe.
const BEFORE_LAST_ALIVE_MS: i64 = 500;
const AFTER_GONE_MS: i64 = 2_000;

/// The `pid` key's cost of evidence that names the report's parent: a report of the named
/// process itself is clearly preferred.
const PARENT_MS: i64 = 1_000;

/// Whether `program` (as a runner printed it: a path, perhaps with spaces, perhaps followed by
/// arguments) is the report's process.
fn names_process(program: &str, r: &Report) -> bool {
    let name = r.process.name.as_deref();
    let path = r.process.path.as_deref();
    // The whole string first (a path with spaces), then its first word (a command line).
    [Some(program), program.split_whitespace().next()]
        .into_iter()
        .flatten()
        .any(|p| {
            let b = base(p);
            name == Some(b) || path.map(base) == Some(b) || path == Some(p)
        })
        || path.is_some_and(|p| {
            program
                .strip_prefix(p)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
        })
}

/// How much closer to one death than to any other a piece of evidence must be to be joined
/// with it when several fit: one of the sampler's looks (100 ms apart). The dump is written by
/// the dying process, between the last look that found it running and the first that found it
/// gone, and read by crashdelta within milliseconds: for its own process it is off by about
/// nothing, for another by about the time between the two deaths (measured in the `-n 4`
/// end-to-end test, where the second crash comes as soon as the replacement worker is up: 0 ms
/// against 119 to 250 ms). Two workers that died within a look or two of each other are told
/// apart by nothing, and listed.
const CLEARLY_CLOSER_MS: i64 = 100;

/// How far (ms) `e` was printed from the death of the report's process, when the sampler saw
/// that process, one of the run's, end within moments of the evidence's first line.
fn died_as_printed(e: &Evidence, r: &Report, lives: &BTreeMap<u32, Life>) -> Option<i64> {
    let pid = r.process.pid.and_then(|p| u32::try_from(p).ok())?;
    let Life {
        last_alive_ms,
        gone_ms: Some(gone_ms),
        born_ms,
    } = lives.get(&pid).copied()?
    else {
        return None;
    };
    if e.pid.is_some_and(|p| p != u64::from(pid)) {
        return None;
    }
    let at = e.at.timestamp_millis();
    // Read before the process existed: another's (the worker this one replaced). The dump is
    // written by the living process and read after, so this holds without slack.
    if born_ms.is_some_and(|born| at < born) {
        return None;
    }
    let fits = at >= last_alive_ms.saturating_sub(BEFORE_LAST_ALIVE_MS)
        && at <= gone_ms.saturating_add(AFTER_GONE_MS);
    // It died somewhere in (last_alive, gone]: no distance inside that.
    let off = if at < last_alive_ms {
        last_alive_ms.saturating_sub(at)
    } else {
        at.saturating_sub(gone_ms).max(0)
    };
    fits.then_some(off)
}

fn holds(yes: bool) -> Option<i64> {
    yes.then_some(0)
}

/// Joins each report (`None`: not a readable crash report) with `evidence`, using when each
/// process of the run's tree was started and seen to end (`lives`); one result per report, in
/// order.
///
/// Each key is applied in rounds: a report with exactly one unused candidate takes it, which
/// may leave another report with one; of several, the one clearly closer is taken, when this
/// report is also clearly the closest to it, or (pid-died) each report as close is no closer and
/// has a closer candidate that no other report fits and this report's process had not started
/// to print. A report that a key leaves with several candidates keeps only those for the weaker
/// keys; still several at the end, it is `ambiguous` and lists them.
pub fn join(
    reports: &[Option<&Report>],
    evidence: &[Evidence],
    lives: &BTreeMap<u32, Life>,
) -> Vec<Option<TestLink>> {
    let mut used = vec![false; evidence.len()];
    let mut out: Vec<Option<TestLink>> = vec![None; reports.len()];
    // A report's candidates under the strongest key that found several, and that key.
    let mut narrowed: Vec<Option<(JoinedBy, Vec<usize>)>> = vec![None; reports.len()];
    let readable = reports.iter().filter(|r| r.is_some()).count();
    let died = |e: &Evidence, r: &Report| died_as_printed(e, r, lives);
    let passes: [(JoinedBy, &Key<'_>); 4] = [
        // The report of the named process itself before its child's (which names it as parent).
        (JoinedBy::Pid, &|e, r| {
            let pid = e.pid?;
            if r.process.pid == Some(pid) {
                Some(0)
            } else {
                (r.process.parent_pid == Some(pid)).then_some(PARENT_MS)
            }
        }),
        (JoinedBy::PidDied, &died),
        (JoinedBy::ProcessAndTime, &|e, r| {
            let program = e.program.as_deref()?;
            holds(names_process(program, r) && near(e, r))
        }),
        (JoinedBy::Time, &|e, r| {
            holds(python_runner(e.runner) && e.pid.is_none() && is_python(r) && near(e, r))
        }),
    ];
    let take = |j: usize, how: JoinedBy, used: &mut Vec<bool>| {
        if let Some(u) = used.get_mut(j) {
            *u = true;
        }
        TestLink {
            how,
            evidence: evidence.get(j).cloned(),
            candidates: Vec::new(),
        }
    };
    for (how, key) in passes {
        loop {
            // The cost of each (open report, unused allowed evidence) pair under this key.
            let mut costs: Vec<(usize, usize, i64)> = Vec::new();
            for (i, report) in reports.iter().enumerate() {
                let (Some(report), Some(None)) = (report, out.get(i)) else {
                    continue;
                };
                let allowed = narrowed.get(i).and_then(Option::as_ref);
                for (j, e) in evidence.iter().enumerate() {
                    if used.get(j).copied().unwrap_or(true)
                        || allowed.is_some_and(|(_, c)| !c.contains(&j))
                    {
                        continue;
                    }
                    if let Some(cost) = key(e, report) {
                        costs.push((i, j, cost));
                    }
                }
            }
            let mut progress = false;
            for i in 0..reports.len() {
                let mine: Vec<(usize, i64)> = costs
                    .iter()
                    .filter(|(r, _, _)| *r == i)
                    .map(|&(_, j, c)| (j, c))
                    .collect();
                let Some(&(best, cost)) = mine.iter().min_by_key(|(_, c)| *c) else {
                    continue;
                };
                // Clearly this report's: every other candidate of this report is clearly
                // farther, and every other report open under this key is clearly farther from
                // this evidence (a report that is first in the list must not take what fits
                // another as well) or is no rival for it. A rival is none when it is no closer
                // to this evidence than this report is, and has a closer piece of its own that
                // this report's process cannot have printed: it was read before that process
                // started (the worker a replacement replaced; review finding: exclusivity alone
                // is no proof, as one crash can give two pieces of evidence, and a crash none).
                let margin = cost.saturating_add(CLEARLY_CLOSER_MS);
                let not_born_for = |j: usize| {
                    let at = evidence.get(j).map(|e| e.at.timestamp_millis());
                    reports
                        .get(i)
                        .copied()
                        .flatten()
                        .and_then(|r| r.process.pid)
                        .and_then(|p| u32::try_from(p).ok())
                        .and_then(|p| lives.get(&p))
                        .and_then(|l| l.born_ms)
                        .zip(at)
                        .is_some_and(|(born, at)| at < born)
                };
                let no_rival = |r: usize, c: i64| {
                    how == JoinedBy::PidDied
                        && c >= cost
                        && costs.iter().any(|&(r2, j2, c2)| {
                            r2 == r
                                && j2 != best
                                && c2 < c
                                && not_born_for(j2)
                                && costs.iter().all(|&(r3, j3, _)| j3 != j2 || r3 == r)
                        })
                };
                let clear = mine.iter().all(|&(j, c)| j == best || c >= margin)
                    && costs
                        .iter()
                        .all(|&(r, j, c)| j != best || r == i || c >= margin || no_rival(r, c));
                if clear && !used.get(best).copied().unwrap_or(true) {
                    let link = take(best, how, &mut used);
                    if let Some(slot) = out.get_mut(i) {
                        *slot = Some(link);
                    }
                    progress = true;
                } else if let Some(slot @ None) = narrowed.get_mut(i) {
                    *slot = Some((how, mine.iter().map(|(j, _)| *j).collect()));
                }
            }
            if !progress {
                break;
            }
        }
    }
    // What each report still open could be, of the evidence not taken.
    let left: Vec<Vec<usize>> = (0..reports.len())
        .map(|i| match (out.get(i), narrowed.get(i)) {
            (Some(None), Some(Some((_, candidates)))) => candidates
                .iter()
                .copied()
                .filter(|j| !used.get(*j).copied().unwrap_or(true))
                .collect(),
            _ => Vec::new(),
        })
        .collect();
    for (i, slot) in out.iter_mut().enumerate() {
        let (Some((how, _)), Some(mine)) = (narrowed.get(i).and_then(Option::as_ref), left.get(i))
        else {
            continue;
        };
        if slot.is_some() {
            continue;
        }
        let contested = |j: &usize| {
            left.iter()
                .enumerate()
                .any(|(other, theirs)| other != i && theirs.contains(j))
        };
        *slot = match mine.as_slice() {
            [] => None,
            // The others' evidence was taken by their own reports: what is left is this one's,
            // unless another report is left with it too.
            [j] if !contested(j) => Some(take(*j, *how, &mut used)),
            many => Some(TestLink {
                how: JoinedBy::Ambiguous,
                evidence: None,
                candidates: many
                    .iter()
                    .filter_map(|j| evidence.get(*j))
                    .map(|e| e.test.clone().unwrap_or_else(|| "(unnamed)".into()))
                    .collect(),
            }),
        };
    }
    if readable == 1
        && evidence.len() == 1
        && used.iter().all(|u| !u)
        && let Some(slot) = reports
            .iter()
            .position(Option::is_some)
            .and_then(|i| out.get_mut(i))
            .filter(|s| s.is_none())
    {
        *slot = Some(TestLink {
            how: JoinedBy::OnlyOne,
            evidence: evidence.first().cloned(),
            candidates: Vec::new(),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::parse;
    use crate::testlog::PyFrame;

    fn race(pid: u64, name: &str) -> Report {
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/derived/agx-prepareForEnqueue-0x98.ips"
        ))
        .unwrap_or_default();
        let mut r = parse(&bytes).unwrap_or_else(|e| panic!("{e}"));
        r.process.pid = Some(pid);
        r.process.name = Some(name.into());
        r
    }

    fn evidence(runner: Runner, test: &str, pid: Option<u64>, program: Option<&str>) -> Evidence {
        Evidence {
            runner,
            test: Some(test.into()),
            test_inferred: false,
            worker: None,
            pid,
            program: program.map(str::to_owned),
            signal: Some("SIGSEGV".into()),
            thread: None,
            python_stack: vec![PyFrame {
                file: "tests/test_mps.py".into(),
                line: Some(13),
                function: "test_gather".into(),
            }],
            // The race report was captured 2025-12-23 16:41:06 -0800.
            at: chrono::DateTime::parse_from_rfc3339("2025-12-24T00:41:07Z")
                .unwrap_or_else(|e| panic!("{e}"))
                .with_timezone(&Utc),
            lines: Vec::new(),
        }
    }

    #[test]
    fn the_best_key_wins_and_says_so() {
        let a = race(100, "Python");
        let b = race(200, "crashy-3a07");
        let ev = vec![
            evidence(
                Runner::CargoTest,
                "tests::gpu",
                None,
                Some("/t/deps/crashy-3a07"),
            ),
            evidence(Runner::Pytest, "tests/test_mps.py::test_gather", None, None),
        ];
        let joined = join(&[Some(&a), Some(&b)], &ev, &BTreeMap::new());
        let a_link = joined[0].as_ref().unwrap_or_else(|| panic!("a joined"));
        assert_eq!(a_link.how, JoinedBy::Time);
        assert_eq!(
            a_link.evidence.as_ref().and_then(|e| e.test.as_deref()),
            Some("tests/test_mps.py::test_gather")
        );
        let b_link = joined[1].as_ref().unwrap_or_else(|| panic!("b joined"));
        assert_eq!(b_link.how, JoinedBy::ProcessAndTime);

        let by_pid = vec![evidence(
            Runner::Xcodebuild,
            "FooTests.testBar",
            Some(100),
            None,
        )];
        let joined = join(&[Some(&a), Some(&b)], &by_pid, &BTreeMap::new());
        assert_eq!(joined[0].as_ref().map(|l| l.how), Some(JoinedBy::Pid));
        assert!(
            joined[1].is_none(),
            "one piece of evidence joins one report"
        );
    }

    #[test]
    fn competing_candidates_are_listed_not_picked() {
        let a = race(100, "Python");
        let ev = vec![
            evidence(Runner::PytestXdist, "t.py::test_a", None, None),
            evidence(Runner::PytestXdist, "t.py::test_b", None, None),
        ];
        let joined = join(&[Some(&a)], &ev, &BTreeMap::new());
        let link = joined[0].as_ref().unwrap_or_else(|| panic!("a link"));
        assert_eq!(link.how, JoinedBy::Ambiguous);
        assert_eq!(link.candidates, vec!["t.py::test_a", "t.py::test_b"]);
        assert!(link.evidence.is_none());
    }

    fn at(e: &Evidence, ms: i64) -> Evidence {
        let mut e = e.clone();
        e.at = chrono::DateTime::from_timestamp_millis(ms).unwrap_or_else(|| panic!("{ms}"));
        e
    }

    /// Two Python reports (pids 100 and 200), and xdist's evidence of `test_take` and
    /// `test_gather` read at these times (ms since the epoch).
    fn two_workers(take_ms: i64, gather_ms: i64) -> (Report, Report, Evidence, Evidence) {
        let xdist = |test: &str, ms: i64| at(&evidence(Runner::PytestXdist, test, None, None), ms);
        (
            race(100, "Python"),
            race(200, "Python"),
            xdist("t.py::test_take", take_ms),
            xdist("t.py::test_gather", gather_ms),
        )
    }

    /// The test joined with report `i`.
    fn test(joined: &[Option<TestLink>], i: usize) -> Option<String> {
        joined[i]
            .as_ref()
            .and_then(|l| l.evidence.as_ref())
            .and_then(|e| e.test.clone())
    }

    fn died(last_alive_ms: i64, gone_ms: i64) -> Life {
        Life {
            last_alive_ms,
            gone_ms: Some(gone_ms),
            born_ms: None,
        }
    }

    /// xdist replaces a crashed worker, and the replacement runs the next crashing test at once:
    /// the two deaths come within one or two of the sampler's looks, and each dump fits both
    /// (seen in the `-n 4` end-to-end test on a loaded machine, one run in seven). The
    /// replacement was started after the first dump was read, so that dump is not its; the
    /// first worker then has a dump no other report fits, closer than the second one, and is
    /// no rival for it.
    #[test]
    fn a_replacement_worker_is_not_the_one_it_replaced() {
        let t = 1_766_536_867_000;
        let (a, b, take, gather) = two_workers(t + 50, t + 170);
        let first = died(t, t + 100);
        let replacement = died(t + 120, t + 220);
        // Start times unknown: 70 ms each way, nothing to choose.
        let lives = BTreeMap::from([(100, first), (200, replacement)]);
        let joined = join(
            &[Some(&a), Some(&b)],
            &[take.clone(), gather.clone()],
            &lives,
        );
        assert!(
            joined
                .iter()
                .all(|l| l.as_ref().map(|l| l.how) == Some(JoinedBy::Ambiguous)),
            "{joined:?}"
        );
        // The replacement started 10 ms after the first dump was read.
        let lives = BTreeMap::from([
            (100, first),
            (
                200,
                Life {
                    born_ms: Some(t + 60),
                    ..replacement
                },
            ),
        ]);
        for (reports, evidence) in [
            ([Some(&a), Some(&b)], [take.clone(), gather.clone()]),
            ([Some(&a), Some(&b)], [gather.clone(), take.clone()]),
        ] {
            let joined = join(&reports, &evidence, &lives);
            assert_eq!(test(&joined, 0).as_deref(), Some("t.py::test_take"));
            assert_eq!(test(&joined, 1).as_deref(), Some("t.py::test_gather"));
            assert!(
                joined
                    .iter()
                    .all(|l| l.as_ref().map(|l| l.how) == Some(JoinedBy::PidDied))
            );
        }
        let joined = join(
            &[Some(&b), Some(&a)],
            &[take.clone(), gather.clone()],
            &lives,
        );
        assert_eq!(test(&joined, 0).as_deref(), Some("t.py::test_gather"));
        assert_eq!(test(&joined, 1).as_deref(), Some("t.py::test_take"));
        // Started before the first dump (two original workers): no help, still listed.
        let lives = BTreeMap::from([
            (100, first),
            (
                200,
                Life {
                    born_ms: Some(t - 3_000),
                    ..replacement
                },
            ),
        ]);
        let joined = join(&[Some(&a), Some(&b)], &[take, gather], &lives);
        assert!(
            joined
                .iter()
                .all(|l| l.as_ref().map(|l| l.how) == Some(JoinedBy::Ambiguous)),
            "{joined:?}"
        );
    }

    /// Review finding: one crash can give two pieces of evidence (an xdist dump not paired with
    /// its `node down`), and a crash none. B's dump and B's `node down` both fit B closely, and
    /// the dump fits A too, two seconds off; B having a closer piece of its own does not make
    /// the dump A's.
    #[test]
    fn a_second_piece_of_anothers_evidence_is_not_this_reports() {
        let t = 1_766_536_867_000;
        let (a, b, dump, down) = two_workers(t + 1_850, t + 1_950);
        let lives = BTreeMap::from([
            (100, died(t - 200, t - 100)),
            (
                200,
                Life {
                    born_ms: Some(t - 5_000),
                    ..died(t + 1_900, t + 2_000)
                },
            ),
        ]);
        let joined = join(&[Some(&a), Some(&b)], &[dump, down], &lives);
        assert_ne!(
            joined[0].as_ref().map(|l| l.how),
            Some(JoinedBy::PidDied),
            "{joined:?}"
        );
    }

    /// Two xdist workers crash a second apart: no output names their pids, both reports are
    /// Python's and near both dumps in time, but each worker was seen to die as its own test's
    /// crash was printed.
    #[test]
    fn workers_are_told_apart_by_when_they_died() {
        let t = 1_766_536_867_000;
        let (a, b, take, gather) = two_workers(t + 1_200, t + 30);
        let lives = BTreeMap::from([(100, died(t, t + 100)), (200, died(t + 1_100, t + 1_200))]);
        let joined = join(
            &[Some(&a), Some(&b)],
            &[take.clone(), gather.clone()],
            &lives,
        );
        assert_eq!(joined[0].as_ref().map(|l| l.how), Some(JoinedBy::PidDied));
        assert_eq!(test(&joined, 0).as_deref(), Some("t.py::test_gather"));
        assert_eq!(test(&joined, 1).as_deref(), Some("t.py::test_take"));

        // 400 ms apart: each dump fits both deaths, but each is clearly closer to its own.
        let take_soon = at(&take, t + 420);
        let lives = BTreeMap::from([(100, died(t, t + 100)), (200, died(t + 350, t + 450))]);
        let joined = join(&[Some(&a), Some(&b)], &[take_soon, gather.clone()], &lives);
        assert_eq!(joined[1].as_ref().map(|l| l.how), Some(JoinedBy::PidDied));
        assert_eq!(test(&joined, 0).as_deref(), Some("t.py::test_gather"));
        assert_eq!(test(&joined, 1).as_deref(), Some("t.py::test_take"));

        // Crashed within the same look: both dumps fit both deaths, and nothing else tells
        // them apart. Listed, not picked.
        let lives = BTreeMap::from([(100, died(t, t + 100)), (200, died(t, t + 100))]);
        let joined = join(
            &[Some(&a), Some(&b)],
            &[take.clone(), gather.clone()],
            &lives,
        );
        for link in &joined {
            let link = link.as_ref().unwrap_or_else(|| panic!("a link"));
            assert_eq!(link.how, JoinedBy::Ambiguous);
            assert_eq!(
                link.candidates,
                vec!["t.py::test_take", "t.py::test_gather"]
            );
        }

        // One worker's death places it; the other report is left with the other dump, which a
        // weaker key (time) alone could not have told.
        let lives = BTreeMap::from([(200, died(t + 1_100, t + 1_200))]);
        let joined = join(&[Some(&b), Some(&a)], &[take, gather], &lives);
        assert_eq!(joined[0].as_ref().map(|l| l.how), Some(JoinedBy::PidDied));
        assert_eq!(test(&joined, 0).as_deref(), Some("t.py::test_take"));
        let other = joined[1].as_ref().unwrap_or_else(|| panic!("a link"));
        assert_eq!(other.how, JoinedBy::Time);
        assert_eq!(test(&joined, 1).as_deref(), Some("t.py::test_gather"));
    }

    /// Review findings: the first report in the list took evidence that fitted another one as
    /// well (by time, by death, by parent pid), and a path with spaces never matched.
    #[test]
    fn order_never_decides_and_the_closer_or_exact_match_wins() {
        let t = 1_766_536_867_000;
        let a = race(100, "Python");
        let b = race(200, "Python");
        let dump = at(&evidence(Runner::Pytest, "t.py::test_a", None, None), t);
        // Two Python reports, one dump, nothing else: listed as uncertain for both, whichever
        // comes first.
        for pair in [[&a, &b], [&b, &a]] {
            let joined = join(
                &[Some(pair[0]), Some(pair[1])],
                std::slice::from_ref(&dump),
                &BTreeMap::new(),
            );
            for link in &joined {
                let link = link.as_ref().unwrap_or_else(|| panic!("{joined:?}"));
                assert_eq!(link.how, JoinedBy::Ambiguous);
                assert_eq!(link.candidates, vec!["t.py::test_a"]);
            }
        }
        // A died at t+100, B at t+1100; the evidence came at t+1050: B's, even with A first.
        let late = at(&dump, t + 1_050);
        let lives = BTreeMap::from([(100, died(t, t + 100)), (200, died(t + 1_000, t + 1_100))]);
        let joined = join(&[Some(&a), Some(&b)], &[late], &lives);
        assert!(joined[0].is_none(), "{joined:?}");
        assert_eq!(joined[1].as_ref().map(|l| l.how), Some(JoinedBy::PidDied));
        // Evidence naming pid 100: the report of 100 itself, not its child's listed first.
        let mut child = race(300, "Python");
        child.process.parent_pid = Some(100);
        let named = evidence(Runner::Xcodebuild, "FooTests.testBar", Some(100), None);
        let joined = join(&[Some(&child), Some(&a)], &[named], &BTreeMap::new());
        assert!(joined[0].is_none(), "{joined:?}");
        assert_eq!(joined[1].as_ref().map(|l| l.how), Some(JoinedBy::Pid));
        // cargo test's binary in a folder with a space.
        let mut binary = race(400, "crashy-3a07");
        binary.process.path = Some("/Users/me/My Project/target/debug/deps/crashy-3a07".into());
        let cargo = evidence(
            Runner::CargoTest,
            "tests::gpu",
            None,
            Some("/Users/me/My Project/target/debug/deps/crashy-3a07"),
        );
        let joined = join(&[Some(&binary), Some(&a)], &[cargo], &BTreeMap::new());
        assert_eq!(
            joined[0].as_ref().map(|l| l.how),
            Some(JoinedBy::ProcessAndTime)
        );
    }

    #[test]
    fn the_only_crash_and_the_only_evidence() {
        let a = race(100, "worker");
        let ev = vec![evidence(Runner::GoTest, "TestX", None, Some("pkg.test"))];
        let joined = join(&[Some(&a)], &ev, &BTreeMap::new());
        assert_eq!(joined[0].as_ref().map(|l| l.how), Some(JoinedBy::OnlyOne));
        assert!(
            join(&[Some(&a)], &[], &BTreeMap::new())
                .iter()
                .all(Option::is_none)
        );
    }
}
