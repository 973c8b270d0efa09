//! Which test crashed: each new crash report of a run joined with the evidence the test runner
//! printed (`testlog`), by the best key there is, and saying which (issue 14).
//!
//! The keys, best first:
//! 1. **pid**: the evidence names the crashed process (or its parent), and so does the report.
//! 2. **process and time**: the evidence names the program that crashed (`cargo test`'s test
//!    binary, `go test`'s `pkg.test`, ctest's test command) and it is the report's process, and
//!    the evidence arrived within two minutes of the report's capture.
//! 3. **time**: Python's evidence names no process; a report of a Python process captured within
//!    two minutes of a Python dump is joined to it, when it is the only one that close.
//! 4. **the only crash and the only evidence** of the run.
//!
//! Several candidates and nothing to choose between them: they are listed, none picked
//! (`ambiguous`). No evidence: no `test`. One piece of evidence is joined to one report at most.

use chrono::{Duration, Utc};
use serde::Serialize;

use crate::report::Report;
use crate::testlog::{Evidence, Runner};

/// How a crash report was joined with the test runner's evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum JoinedBy {
    /// The evidence and the report name the same pid.
    Pid,
    /// The evidence names the report's program, and came within two minutes of its capture.
    ProcessAndTime,
    /// A Python dump that came within two minutes of a Python process's report.
    Time,
    /// The run's only crash report and only evidence.
    OnlyOne,
    /// Several pieces of evidence could be this crash's; `candidates` lists them.
    Ambiguous,
}

impl JoinedBy {
    /// How a summary says it: `joined by pid`.
    pub fn label(self) -> &'static str {
        match self {
            JoinedBy::Pid => "joined by pid",
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

/// A test of whether a piece of evidence is a report's, by one key.
type Key = dyn Fn(&Evidence, &Report) -> bool;

/// Joins each report (`None`: not a readable crash report) with `evidence`; one result per
/// report, in order.
pub fn join(reports: &[Option<&Report>], evidence: &[Evidence]) -> Vec<Option<TestLink>> {
    let mut used = vec![false; evidence.len()];
    let mut out: Vec<Option<TestLink>> = vec![None; reports.len()];
    let readable = reports.iter().filter(|r| r.is_some()).count();
    let passes: [(JoinedBy, &Key); 3] = [
        (JoinedBy::Pid, &|e, r| {
            e.pid.is_some() && (e.pid == r.process.pid || e.pid == r.process.parent_pid)
        }),
        (JoinedBy::ProcessAndTime, &|e, r| {
            let Some(program) = e.program.as_deref() else {
                return false;
            };
            let program = base(program.split_whitespace().next().unwrap_or(program));
            let named = r.process.name.as_deref() == Some(program)
                || r.process.path.as_deref().map(base) == Some(program);
            named && near(e, r)
        }),
        (JoinedBy::Time, &|e, r| {
            python_runner(e.runner) && e.pid.is_none() && is_python(r) && near(e, r)
        }),
    ];
    for (how, matches) in passes {
        for (i, report) in reports.iter().enumerate() {
            let (Some(report), Some(None)) = (report, out.get(i)) else {
                continue;
            };
            let found: Vec<usize> = evidence
                .iter()
                .enumerate()
                .filter(|(j, e)| !used.get(*j).copied().unwrap_or(true) && matches(e, report))
                .map(|(j, _)| j)
                .collect();
            let link = match found.as_slice() {
                [] => continue,
                [j] => {
                    if let Some(u) = used.get_mut(*j) {
                        *u = true;
                    }
                    TestLink {
                        how,
                        evidence: evidence.get(*j).cloned(),
                        candidates: Vec::new(),
                    }
                }
                many => TestLink {
                    how: JoinedBy::Ambiguous,
                    evidence: None,
                    candidates: many
                        .iter()
                        .filter_map(|j| evidence.get(*j))
                        .map(|e| e.test.clone().unwrap_or_else(|| "(unnamed)".into()))
                        .collect(),
                },
            };
            if let Some(slot) = out.get_mut(i) {
                *slot = Some(link);
            }
        }
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
        let joined = join(&[Some(&a), Some(&b)], &ev);
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
        let joined = join(&[Some(&a), Some(&b)], &by_pid);
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
        let joined = join(&[Some(&a)], &ev);
        let link = joined[0].as_ref().unwrap_or_else(|| panic!("a link"));
        assert_eq!(link.how, JoinedBy::Ambiguous);
        assert_eq!(link.candidates, vec!["t.py::test_a", "t.py::test_b"]);
        assert!(link.evidence.is_none());
    }

    #[test]
    fn the_only_crash_and_the_only_evidence() {
        let a = race(100, "worker");
        let ev = vec![evidence(Runner::GoTest, "TestX", None, Some("pkg.test"))];
        let joined = join(&[Some(&a)], &ev);
        assert_eq!(joined[0].as_ref().map(|l| l.how), Some(JoinedBy::OnlyOne));
        assert!(join(&[Some(&a)], &[]).iter().all(Option::is_none));
    }
}
