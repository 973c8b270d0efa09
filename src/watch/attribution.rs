//! Whether a new crash report comes from this run or from something else that crashed meanwhile.
//!
//! A report is from the run when the process that crashed, or its parent, belongs to the
//! command's process tree (recorded while it ran). A report that names no pid is from the run
//! when its capture time falls inside the run's window. Everything else is "concurrent": shown,
//! never dropped, and outside the gate unless `--attribute any`.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};
use serde::Serialize;

use crate::report::Report;

/// Where a new crash report comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum AttributionKind {
    /// From the run: the process that crashed, or its parent, was in the command's process tree;
    /// or, when that cannot be checked (no pid in the report, or no tree recorded, as in `diff`),
    /// the report was captured inside the run's window or names no time. A report that could not
    /// be read is counted here too.
    Run,
    /// From another program that crashed meanwhile: shown, never dropped, and outside the gate
    /// unless `--attribute any`.
    Concurrent,
}

/// Whether a new crash report comes from the run, and why crashdelta thinks so (the JSON
/// `attribution` object of each new report).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Attribution {
    /// From the run, or concurrent.
    pub kind: AttributionKind,
    /// The evidence in words, for the reader: `Python [81920] is in the command's process tree`,
    /// `its capture time 2025-12-23 16:41:07 UTC is outside the run`.
    pub reason: String,
}

impl Attribution {
    /// For a report that could not be read: it appeared during the run, nothing more is known.
    pub fn unknown() -> Attribution {
        Attribution {
            kind: AttributionKind::Run,
            reason: "the report could not be read; it appeared during the run".into(),
        }
    }
}

/// Clocks differ by a little between ReportCrash's capture time and ours.
const SLACK_SECONDS: i64 = 2;

pub fn attribute(
    report: &Report,
    pids: &BTreeSet<u32>,
    window: (DateTime<Utc>, Option<DateTime<Utc>>),
) -> Attribution {
    let in_tree = |pid: Option<u64>| {
        pid.and_then(|p| u32::try_from(p).ok())
            .filter(|p| pids.contains(p))
    };
    let name = report.process.name.as_deref().unwrap_or("the process");
    if let Some(pid) = in_tree(report.process.pid) {
        return Attribution {
            kind: AttributionKind::Run,
            reason: format!("{name} [{pid}] is in the command's process tree"),
        };
    }
    if let Some(parent) = in_tree(report.process.parent_pid) {
        return Attribution {
            kind: AttributionKind::Run,
            reason: format!("the parent of {name} ({parent}) is in the command's process tree"),
        };
    }
    if let Some(pid) = report.process.pid {
        return Attribution {
            kind: AttributionKind::Concurrent,
            reason: format!("{name} [{pid}] is not in the command's process tree"),
        };
    }
    attribute_by_time(report, window)
}

/// For a report whose pid cannot be checked (no pid in it, or no process tree recorded, as in
/// `diff` across CI steps): from the run when its capture time is inside the window.
pub fn attribute_by_time(
    report: &Report,
    window: (DateTime<Utc>, Option<DateTime<Utc>>),
) -> Attribution {
    let (start, end) = window;
    let slack = Duration::seconds(SLACK_SECONDS);
    match report.capture_time {
        Some(t) => {
            let t = t.with_timezone(&Utc);
            let after_start = t >= start - slack;
            let before_end = end.is_none_or(|e| t <= e + slack);
            if after_start && before_end {
                Attribution {
                    kind: AttributionKind::Run,
                    reason: "its capture time is inside the run".into(),
                }
            } else {
                Attribution {
                    kind: AttributionKind::Concurrent,
                    reason: format!("its capture time {t} is outside the run"),
                }
            }
        }
        None => Attribution {
            kind: AttributionKind::Run,
            reason: "the report names no time; it appeared during the run".into(),
        },
    }
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
            cut: None,
            summary: None,
            extra: vec![],
        }
    }

    #[test]
    fn by_pid_parent_and_time() {
        let pids = BTreeSet::from([100, 101]);
        let start = DateTime::parse_from_rfc3339("2025-12-23T16:40:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let end = Some(start + Duration::seconds(60));
        let w = (start, end);
        assert_eq!(
            attribute(&report(Some(101), None, None), &pids, w).kind,
            AttributionKind::Run
        );
        assert_eq!(
            attribute(&report(Some(555), Some(100), None), &pids, w).kind,
            AttributionKind::Run
        );
        let other = attribute(&report(Some(555), Some(1), None), &pids, w);
        assert_eq!(other.kind, AttributionKind::Concurrent);
        assert!(
            other
                .reason
                .contains("[555] is not in the command's process tree")
        );
        assert_eq!(
            attribute(
                &report(None, None, Some("2025-12-23 08:40:30.00 -0800")),
                &pids,
                w
            )
            .kind,
            AttributionKind::Run
        );
        assert_eq!(
            attribute(
                &report(None, None, Some("2025-12-23 09:40:30.00 -0800")),
                &pids,
                w
            )
            .kind,
            AttributionKind::Concurrent
        );
    }
}
