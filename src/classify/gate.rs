//! The gate: which crashes fail a CI job, and the verdict over a run or a folder.
//!
//! This is the CI contract in one place. A [`GatePolicy`] says what fails (`--fail-on`), which
//! rules are exempt (`--allow`) and which new crashes the gate sees (`--attribute`: the run's, or
//! any); [`GatePolicy::judge`] decides one input; a [`Tally`] counts the failures and words the
//! [`GateResult`] every writer prints and every JSON document carries. Exit codes are the
//! binary's; the verdict they follow is made here.

use std::str::FromStr;

use serde::Serialize;

use super::{Classification, Family};
use crate::report::Report;

/// What fails the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailOn {
    /// Any crash: a test that crashes is not passing.
    Any,
    /// Crashes in the AGX driver.
    Agx,
    /// Crashes in the AGX driver or in Metal / MPS / IOGPU.
    Metal,
    /// Crashes no rule marks as known.
    Unknown,
    /// Regressions: crashes whose rule says they were fixed (`fixed_in`), on a version at or
    /// after the fix.
    Regression,
    /// Nothing: report only.
    None,
}

impl FromStr for FailOn {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "any" => FailOn::Any,
            "agx" => FailOn::Agx,
            "metal" => FailOn::Metal,
            "unknown" => FailOn::Unknown,
            "regression" => FailOn::Regression,
            "none" => FailOn::None,
            other => {
                return Err(format!(
                    "unknown --fail-on value {other:?}: use any, agx, metal, unknown, regression \
                     or none"
                ));
            }
        })
    }
}

impl FailOn {
    /// The value as `--fail-on` takes it and the JSON output writes it (`any`, `agx`, `metal`,
    /// `unknown`, `regression`, `none`).
    pub fn as_str(self) -> &'static str {
        match self {
            FailOn::Any => "any",
            FailOn::Agx => "agx",
            FailOn::Metal => "metal",
            FailOn::Unknown => "unknown",
            FailOn::Regression => "regression",
            FailOn::None => "none",
        }
    }
}

/// Which new crash reports the gate sees in a watched run or a diff (`--attribute`). Which
/// report is in which scope is decided with its attribution (`watch::Attribution::in_scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Scope {
    /// Crashes of the run: placed in it by its process tree or its window, or not placed outside
    /// it (fail closed); and late reports of an earlier run.
    Run,
    /// Only crashes placed in the run by evidence: its process tree (or, for `diff`, its capture
    /// time); reports nothing placed anywhere, and late ones, are shown but not gated.
    RunStrict,
    /// Every new crash, concurrent ones too.
    Any,
}

/// The `--allow` value that exempts new crash reports that could not be read (cut, unreadable,
/// too large) from the gate. Without it they fail every gate but `--fail-on none`.
pub const UNREADABLE: &str = "unreadable";

/// What fails the gate.
#[derive(Debug, Clone)]
pub struct GatePolicy {
    /// Which crashes fail (`--fail-on`).
    pub fail_on: FailOn,
    /// Rule ids that never fail the gate.
    pub allow: Vec<String>,
    /// Which new crashes the gate sees (`--attribute`).
    pub scope: Scope,
}

/// One input as the gate sees it.
pub enum Judged<'a> {
    /// A crash report, classified.
    Crash(&'a Report, &'a Classification),
    /// A new file in a report folder that could not be read (cut, unreadable, too large), with
    /// why: it may be a crash report of any kind, the AGX race included.
    Unreadable(&'a str),
    /// A report that is not a crash, or an input that is not a report.
    Other,
}

impl GatePolicy {
    /// A policy that fails on nothing (a measurement, a `classify` without `--fail-on`).
    pub fn none() -> GatePolicy {
        GatePolicy {
            fail_on: FailOn::None,
            allow: Vec::new(),
            scope: Scope::Run,
        }
    }

    /// Whether an input fails the gate, and why in words. `in_scope` says whether the gate sees
    /// it at all (a crash from another program is outside a `run` scope).
    pub fn judge(&self, input: Judged, in_scope: bool) -> Option<String> {
        if !in_scope {
            return None;
        }
        match input {
            Judged::Crash(report, c) => self.verdict_for(report, c),
            // Fail closed: a new crash report nobody can read might be the very crash the gate
            // is for, so it fails every gate but `none`, unless `--allow unreadable` says the
            // team accepts that risk. A gate that passed it would pass a cut AGX report.
            Judged::Unreadable(why)
                if self.fail_on != FailOn::None && !self.allow.iter().any(|a| a == UNREADABLE) =>
            {
                Some(format!(
                    "unreadable new crash report: {why}; it may be a crash of any kind \
                     (--allow {UNREADABLE} accepts that risk)"
                ))
            }
            Judged::Unreadable(_) | Judged::Other => None,
        }
    }

    /// Whether this crash report fails the gate, and why in words: [`GatePolicy::verdict`] of its
    /// classification, or, for a report whose body could not be read ([`Report::damaged`]: what
    /// crashed is unknown) or a `.ips` body cut short ([`Report::body_cut`]), the rule for unreadable
    /// reports. A cut body is read as far as it goes and classified, but what the cut took (the
    /// driver's image, the callers' images) may be what this gate fails on: one the
    /// classification does not fail still fails closed, as it did before it could be read.
    pub fn verdict_for(&self, report: &Report, c: &Classification) -> Option<String> {
        self.verdict(c).or_else(|| {
            let cut = report
                .body_cut()
                .map(|cut| format!("its JSON body is cut short ({cut}), and read as {}", c.rule));
            let why = report.damaged.clone().or(cut)?;
            self.judge(Judged::Unreadable(&why), true)
        })
    }

    /// Whether this crash fails the gate, and why in words.
    pub fn verdict(&self, c: &Classification) -> Option<String> {
        if self.allow.contains(&c.rule) {
            return None;
        }
        let fails = match self.fail_on {
            FailOn::Any => true,
            FailOn::Agx => c.family == Family::Agx,
            FailOn::Metal => matches!(c.family, Family::Agx | Family::Metal),
            FailOn::Unknown => !c.known,
            FailOn::Regression => c.regression.is_some(),
            FailOn::None => false,
        };
        fails.then(|| {
            let what = match self.fail_on {
                FailOn::Any => "a crash",
                FailOn::Agx => "an AGX driver crash",
                FailOn::Metal => "an AGX or Metal crash",
                FailOn::Unknown => "a crash no rule marks as known",
                FailOn::Regression => "a regression",
                FailOn::None => "",
            };
            // A regression says so under every gate: the fix it undoes is news either way.
            match &c.regression {
                Some(r) => format!("{what} ({}: {}; {})", c.rule, c.title, r.describe()),
                None => format!("{what} ({}: {})", c.rule, c.title),
            }
        })
    }
}

/// The gate's verdict over all inputs: what every writer prints and every JSON document carries.
#[derive(Debug, Clone, Serialize)]
pub struct GateResult {
    /// The policy's `--fail-on`, so that the verdict says what it was judged by.
    pub fail_on: FailOn,
    /// The policy's exempt rule ids (`--allow`).
    pub allow: Vec<String>,
    /// Whether no input failed the gate: the exit code follows it.
    pub passed: bool,
    /// How many crashes failed the gate.
    pub failures: u64,
    /// The verdict in one line: `passed: ...`, `failed: ...` naming the first failure and its
    /// rule, or `no gate (--fail-on none)`.
    pub reason: String,
}

/// Counts the inputs that failed the gate, and remembers the first.
pub struct Tally<'a> {
    policy: &'a GatePolicy,
    failures: u64,
    first: Option<String>,
}

impl<'a> Tally<'a> {
    /// An empty tally under `policy`.
    pub fn new(policy: &'a GatePolicy) -> Self {
        Tally {
            policy,
            failures: 0,
            first: None,
        }
    }

    /// Counts one input's verdict (`None`: it passes).
    pub fn add(&mut self, path: &str, verdict: Option<&str>) {
        if let Some(why) = verdict {
            self.failures += 1;
            self.first.get_or_insert_with(|| format!("{path}: {why}"));
        }
    }

    /// The verdict in words.
    pub fn result(self) -> GateResult {
        let reason = match (&self.first, self.policy.fail_on) {
            (_, FailOn::None) => "no gate (--fail-on none)".to_owned(),
            (Some(first), _) if self.failures == 1 => format!("failed: {first}"),
            (Some(first), _) => format!("failed: {} crashes, the first {first}", self.failures),
            (None, fail_on) => format!(
                "passed: no crash of the kind --fail-on {} fails on",
                fail_on.as_str()
            ),
        };
        GateResult {
            fail_on: self.policy.fail_on,
            allow: self.policy.allow.clone(),
            passed: self.failures == 0,
            failures: self.failures,
            reason,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(family: Family, rule: &str, known: bool) -> Classification {
        Classification {
            family,
            rule: rule.into(),
            title: "t".into(),
            known,
            links: vec![],
            reason: String::new(),
            why: vec![],
            signature: String::new(),
            signature_id: String::new(),
            location: None,
            trigger: None,
            driver: None,
            on_top: Default::default(),
            racing: vec![],
            fixed_in: None,
            regression: None,
        }
    }

    #[test]
    fn policies() {
        let agx = class(Family::Agx, "agx-prepare-for-enqueue-race", true);
        let metal = class(Family::Metal, "metal-other", false);
        let other = class(Family::Other, "other", false);
        let gate = |fail_on| GatePolicy {
            fail_on,
            allow: vec![],
            scope: Scope::Run,
        };
        assert!(gate(FailOn::Any).verdict(&other).is_some());
        assert!(gate(FailOn::Agx).verdict(&agx).is_some());
        assert!(gate(FailOn::Agx).verdict(&metal).is_none());
        assert!(gate(FailOn::Metal).verdict(&metal).is_some());
        assert!(gate(FailOn::Metal).verdict(&other).is_none());
        assert!(gate(FailOn::Unknown).verdict(&agx).is_none());
        assert!(gate(FailOn::Unknown).verdict(&other).is_some());
        assert!(gate(FailOn::None).verdict(&agx).is_none());
        assert!(gate(FailOn::Regression).verdict(&agx).is_none());
        let regressed = Classification {
            regression: Some(crate::classify::Regression {
                field: crate::classify::VersionField::DriverVersion,
                fixed_in: "342.1".into(),
                seen: "342.3.1".into(),
            }),
            ..agx.clone()
        };
        assert_eq!(
            gate(FailOn::Regression).verdict(&regressed).as_deref(),
            Some(
                "a regression (agx-prepare-for-enqueue-race: t; fixed in driver version 342.1, \
                 seen on 342.3.1)"
            )
        );
        assert!(gate(FailOn::Unknown).verdict(&regressed).is_none());
        assert_eq!(
            gate(FailOn::Agx).verdict(&regressed).as_deref(),
            Some(
                "an AGX driver crash (agx-prepare-for-enqueue-race: t; fixed in driver version \
                 342.1, seen on 342.3.1)"
            )
        );
        assert_eq!("regression".parse::<FailOn>(), Ok(FailOn::Regression));
        assert!(
            "regressions"
                .parse::<FailOn>()
                .unwrap_err()
                .contains("unknown, regression or none")
        );
        let allowed = GatePolicy {
            fail_on: FailOn::Any,
            allow: vec!["agx-prepare-for-enqueue-race".into()],
            scope: Scope::Run,
        };
        assert!(allowed.verdict(&agx).is_none());
        assert!(allowed.verdict(&other).is_some());
    }

    #[test]
    fn judging_and_the_tally() {
        let other = class(Family::Other, "other", false);
        let any = GatePolicy {
            fail_on: FailOn::Any,
            allow: vec![],
            scope: Scope::Run,
        };
        assert!(any.verdict(&other).is_some());
        // Out of scope: never a failure.
        assert!(any.judge(Judged::Unreadable("cut"), false).is_none());
        // An unreadable new report may be the AGX race itself: it fails every gate but `none`,
        // unless `--allow unreadable`; out of scope it is another program's.
        let cut = Judged::Unreadable("incomplete report: cut inside the JSON body");
        for fail_on in [
            FailOn::Any,
            FailOn::Agx,
            FailOn::Metal,
            FailOn::Unknown,
            FailOn::Regression,
        ] {
            let policy = GatePolicy {
                fail_on,
                ..any.clone()
            };
            let why = policy.judge(Judged::Unreadable("cut"), true);
            assert!(
                why.as_deref().is_some_and(|w| w.contains(": cut;")),
                "{fail_on:?}: {why:?}"
            );
            let allowed = GatePolicy {
                allow: vec![UNREADABLE.into()],
                ..policy.clone()
            };
            assert!(allowed.judge(Judged::Unreadable("cut"), true).is_none());
            assert!(policy.judge(Judged::Unreadable("cut"), false).is_none());
        }
        assert!(GatePolicy::none().judge(cut, true).is_none());
        assert!(any.judge(Judged::Other, true).is_none());

        let mut tally = Tally::new(&any);
        tally.add("a.ips", None);
        let passed = Tally::new(&any).result();
        assert!(passed.passed);
        assert_eq!(
            passed.reason,
            "passed: no crash of the kind --fail-on any fails on"
        );
        tally.add("b.ips", Some("a crash (other: Other crash)"));
        tally.add("c.ips", Some("a crash (other: Other crash)"));
        let failed = tally.result();
        assert_eq!((failed.passed, failed.failures), (false, 2));
        assert_eq!(
            failed.reason,
            "failed: 2 crashes, the first b.ips: a crash (other: Other crash)"
        );
        assert_eq!(
            Tally::new(&GatePolicy::none()).result().reason,
            "no gate (--fail-on none)"
        );
    }
}
