//! A campaign's runs without a settle each: run k+1 starts as soon as run k's command exits, and
//! run k's late reports are waited for while the next runs go on.
//!
//! # Why this is safe
//!
//! The settle exists because ReportCrash writes a report seconds after the crash. Waiting it out
//! after every run of a 100-run campaign of a 2-second test costs 500 s of the 700 s the campaign
//! takes, and the only reason to wait there is to know *whose* report lands. The process tree
//! answers that without waiting: a report whose process (or parent) was in run k's tree is run
//! k's, whenever it lands ([`attribute`](super::attribute) names it "late, of an earlier run",
//! and the campaign gives it to run k). So the runs go back to back, each earlier run stays
//! *settling* (its report may still come) until its own settle would have ended, and the
//! campaign's last run waits once for every run still settling.
//!
//! # What is still waited for
//!
//! - The last run waits its full settle, and until every settling run's settle would have ended,
//!   and, for a run whose command died by a signal that makes a crash report, until that report
//!   came or `--settle-max` after that run's exit: exactly the wait each run would have had.
//! - `--until-crash` needs a run's verdict before it starts the next one: a run whose command
//!   died by such a signal waits for its report as a sequential run does; and a run during which
//!   a crash of the campaign is seen (its own, or a settling run's report landing) becomes the
//!   last, and waits for everything above.
//!
//! A report that names no process id cannot be placed by a tree; its capture time is compared
//! with the run windows, and one that fits a settling run and this run alike is *ambiguous*: it
//! is shown as such ([`Basis::Ambiguous`](super::Basis::Ambiguous)) and counted where it landed
//! (fail closed), never silently given to the other run.

use std::time::{Duration, Instant};

use super::NewCrash;
use super::attribution::{AttributionKind, EarlierRun};
use crate::classify::Scope;

/// How a campaign run's wait overlaps the next runs (the module documentation of `watch/overlap.rs`).
#[derive(Debug, Clone)]
pub struct Overlap {
    /// Earlier runs of the campaign whose wait for late reports is still going on.
    pub settling: Vec<Settling>,
    /// This is the campaign's last run: it waits its full settle and for every settling run.
    pub last: bool,
    /// `--until-crash`: this run waits for its own expected crash report, and becomes the last
    /// when a crash of the campaign is seen during it.
    pub until_crash: bool,
    /// Which crashes count (`--attribute`), for `until_crash`.
    pub scope: Scope,
}

/// An earlier run of the campaign whose late reports may still land.
#[derive(Debug, Clone)]
pub struct Settling {
    /// The run, as a late report is attributed to it.
    pub run: EarlierRun,
    /// When its settle would have ended (its command's exit + `--settle`).
    pub until: Instant,
    /// Its command died by a signal that makes a crash report and no report of it had come when
    /// it ended: the wait for it goes on until one comes, or until this (exit + `--settle-max`).
    pub expecting_until: Option<Instant>,
}

impl Settling {
    /// Whether the wait for this run is over at `now`: its settle has passed, and its expected
    /// report came (`seen`) or its ceiling passed.
    pub fn over(&self, now: Instant, seen: bool) -> bool {
        now >= self.until && (seen || self.expecting_until.is_none_or(|t| now >= t))
    }

    /// When the wait for it ends at the latest.
    pub fn deadline(&self) -> Instant {
        self.expecting_until
            .map_or(self.until, |t| t.max(self.until))
    }

    /// Whether `crash` is a report of this run (attributed to it as a late report).
    pub fn owns(&self, crash: &NewCrash) -> bool {
        crash.attribution.kind == AttributionKind::Late
            && crash
                .attribution
                .earlier_run
                .as_ref()
                .is_some_and(|r| r.start == self.run.start)
    }
}

/// What a run's wait is, given whether it has become the campaign's last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Wait {
    /// The least wait after the command exits.
    pub settle: Duration,
    /// Wait for the command's own crash report when its death makes one.
    pub own_expected: bool,
    /// Also wait for every settling run.
    pub settling: bool,
}

impl Overlap {
    /// The wait of a run with `settle` (`--settle`): the full one for the last run (or a lone
    /// watch, `overlap` absent); none of its own for the others, which the next run covers,
    /// except the wait for its own expected report under `--until-crash`.
    pub fn wait(overlap: Option<&Overlap>, last: bool, settle: Duration) -> Wait {
        match overlap {
            None => Wait {
                settle,
                own_expected: true,
                settling: false,
            },
            Some(_) if last => Wait {
                settle,
                own_expected: true,
                settling: true,
            },
            Some(o) => Wait {
                settle: Duration::ZERO,
                own_expected: o.until_crash,
                settling: false,
            },
        }
    }

    /// Whether `crashes` (seen so far in this run) hold a crash of the campaign: this run's in
    /// the campaign's scope, or a settling run's. Under `--until-crash` it makes this run the
    /// last.
    pub fn crash_seen(&self, crashes: &[NewCrash]) -> bool {
        crashes.iter().any(|c| {
            let crash = c.parsed.as_ref().is_ok_and(|a| a.classification.is_some());
            crash
                && (self.settling.iter().any(|s| s.owns(c))
                    || (c.attribution.kind != AttributionKind::Late
                        && c.attribution.in_scope(self.scope)))
        })
    }

    /// Whether every settling run's wait is over at `now`.
    pub fn settled(&self, now: Instant, crashes: &[NewCrash]) -> bool {
        self.settling
            .iter()
            .all(|s| s.over(now, crashes.iter().any(|c| s.owns(c))))
    }

    /// The latest any settling run's wait may last.
    pub fn deadline(&self) -> Option<Instant> {
        self.settling.iter().map(Settling::deadline).max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settling(until_ms: u64, expecting_ms: Option<u64>, now: Instant) -> Settling {
        Settling {
            run: EarlierRun {
                argv: vec!["t".into()],
                start: chrono::Utc::now(),
                settled: chrono::Utc::now(),
                pids: vec![42],
            },
            until: now + Duration::from_millis(until_ms),
            expecting_until: expecting_ms.map(|ms| now + Duration::from_millis(ms)),
        }
    }

    #[test]
    fn a_settling_run_is_over_after_its_settle_and_its_expected_report() {
        let now = Instant::now();
        let s = settling(100, None, now);
        assert!(!s.over(now, false));
        assert!(s.over(now + Duration::from_millis(100), false));
        let expecting = settling(100, Some(1000), now);
        let later = now + Duration::from_millis(200);
        assert!(!expecting.over(later, false), "its report has not come");
        assert!(expecting.over(later, true), "its report came");
        assert!(
            expecting.over(now + Duration::from_millis(1000), false),
            "the ceiling"
        );
        assert_eq!(expecting.deadline(), now + Duration::from_millis(1000));
    }

    #[test]
    fn only_the_last_run_waits_its_settle_and_for_the_settling_runs() {
        let settle = Duration::from_secs(5);
        let o = Overlap {
            settling: Vec::new(),
            last: false,
            until_crash: false,
            scope: Scope::Run,
        };
        let lone = Overlap::wait(None, true, settle);
        assert_eq!(
            (lone.settle, lone.own_expected, lone.settling),
            (settle, true, false)
        );
        let middle = Overlap::wait(Some(&o), false, settle);
        assert_eq!(
            (middle.settle, middle.own_expected, middle.settling),
            (Duration::ZERO, false, false)
        );
        let last = Overlap::wait(Some(&o), true, settle);
        assert_eq!(
            (last.settle, last.own_expected, last.settling),
            (settle, true, true)
        );
        let until_crash = Overlap {
            until_crash: true,
            ..o
        };
        let middle = Overlap::wait(Some(&until_crash), false, settle);
        assert!(
            middle.own_expected,
            "--until-crash needs each run's verdict"
        );
        assert_eq!(middle.settle, Duration::ZERO);
    }
}
