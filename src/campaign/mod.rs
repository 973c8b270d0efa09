//! Stress campaigns: the same command run many times (`watch --repeat`), or two configurations
//! run alternately (`compare`), and what the counts do and do not prove.
//!
//! A run "crashed" when at least one new crash report was attributed to it (its process tree, or
//! with `--attribute any` any new crash). The command's own exit status is recorded beside it:
//! the race this tool was built for kills a worker while the test suite still passes, so a pass
//! is not "no crash", and a failing test is not a crash either.
//!
//! - [`runner`] runs the plan: one watched run after another, each its own window, stopping at
//!   the first crash when asked to;
//! - this module turns the runs ([`RunSummary`]) into the statistics ([`ConfigStats`],
//!   [`Comparison`]) and the campaign's record ([`CampaignReport`]);
//! - [`statistics`] is the maths (Wilson's interval, Fisher's exact test);
//! - [`breakdown`] is `stats`: crashes grouped over time, OS builds and driver versions.

pub mod breakdown;
mod drift;
pub mod runner;
// The statistics moved below the campaigns, for the history to use too; their old path stays.
pub use crate::statistics;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::classify::{Classification, Regression};
use crate::report::{Process, Report};
use crate::run::Verdict;

/// One new crash of a run, as a campaign counts it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunCrash {
    /// Id of the rule that matched (`unmatched` when none did).
    pub rule: String,
    /// The rule's title: the crash in words.
    pub title: String,
    /// Whether the rule marks the crash as one the team already knows.
    pub known: bool,
    /// 16 hex digits of the signature's SHA-256: what the campaign groups crashes by.
    pub signature_id: String,
    /// The crashed thread's first meaningful frames as `image!symbol` (or `image+0xoffset`),
    /// joined by ` | `: stable across ASLR, function offsets and thread numbering.
    pub signature: String,
    /// The first frame that is not abort or exception machinery, `function + offset`; `None` when
    /// there is no such frame.
    pub location: Option<String>,
    /// The process that crashed: the object a report's `process` is.
    pub process: Process,
    /// The crash report's path, where the run found it.
    pub path: String,
    /// Set when the crash is a regression: its rule says it was fixed (`fixed_in`) in a version
    /// the report is at or after.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub regression: Option<Regression>,
    /// The test the crash was joined with (`watch`'s `test`: docs/tests.md), when one was; not
    /// when the runner printed nothing about it or several tests could be it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<String>,
}

impl RunCrash {
    /// The facts of one crash: the process from `report`, the rule, signature and location from
    /// `c`; `path` is the report's.
    pub fn new(report: &Report, c: &Classification, path: &str) -> Self {
        RunCrash {
            test: None,
            rule: c.rule.clone(),
            title: c.title.clone(),
            known: c.known,
            signature_id: c.signature_id.clone(),
            signature: c.signature.clone(),
            location: c.location.clone(),
            process: report.process.clone(),
            path: path.to_owned(),
            regression: c.regression.clone(),
        }
    }
}

/// One run of a campaign.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunSummary {
    /// 1-based, in the order the runs happened (A and B interleaved in a comparison).
    pub index: usize,
    /// Which configuration ran: 0 (A, or the only one) or 1 (B).
    pub config: usize,
    /// The command's exit code, when it exited by itself; `None` when a signal killed it.
    pub exit: Option<i32>,
    /// The signal that killed the command, when one did.
    pub signal: Option<i32>,
    /// When the command was started.
    pub start: DateTime<Utc>,
    /// How long the command ran (the wait for late reports not included).
    pub duration_ms: u64,
    /// New crash reports the campaign counts for the run: attributed to it, or with
    /// `--attribute any` every new one.
    pub crashes: Vec<RunCrash>,
    /// Crash reports written by something else while the run went on.
    pub concurrent: usize,
    /// New files that may be crash reports and could not be read.
    pub unreadable: usize,
    /// Whether each library the run's environment injects was loaded (the run record's
    /// `injected`); empty when it injects none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub injected: Vec<RunInjected>,
}

/// Whether one injected library was loaded in one run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunInjected {
    /// The variable that names it (`LD_PRELOAD`, `DYLD_INSERT_LIBRARIES`).
    pub variable: String,
    /// The library, as the variable gives it.
    pub path: String,
    /// Loaded in every process of the run looked at, some, none, or unknown.
    pub verdict: Verdict,
}

/// How often one injected library was loaded in a configuration's runs: "loaded in 8/8 runs".
/// A comparison whose "with fix" side never loaded its fix says so instead of crediting it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct InjectedCount {
    /// The variable that names it.
    pub variable: String,
    /// The library, as the variable gives it.
    pub path: String,
    /// Runs of the configuration that injected it.
    pub runs: u64,
    /// Runs in which it was loaded in every process looked at.
    pub loaded_runs: u64,
    /// Runs in which it was loaded in some processes and not in others.
    pub partly_loaded_runs: u64,
    /// Runs in which it was loaded in no process.
    pub not_loaded_runs: u64,
    /// Runs in which no process could be looked at.
    pub unknown_runs: u64,
    /// The counts in words: `/x/libfix.so (LD_PRELOAD): loaded in 8/8 runs`.
    pub words: String,
}

impl InjectedCount {
    /// Never seen loaded, and seen missing at least once: the configuration ran without it.
    pub fn never_loaded(&self) -> bool {
        self.loaded_runs == 0 && self.partly_loaded_runs == 0 && self.not_loaded_runs > 0
    }

    /// Seen loaded in some runs and missing in others (or in some of their processes): the
    /// configuration's runs mix runs with and without it.
    pub fn sometimes_missing(&self) -> bool {
        !self.never_loaded() && (self.not_loaded_runs > 0 || self.partly_loaded_runs > 0)
    }
}

/// The injected libraries of `runs`, counted per library in the order they first appear.
fn count_injected(runs: &[&RunSummary]) -> Vec<InjectedCount> {
    let mut counts: Vec<InjectedCount> = Vec::new();
    for run in runs {
        for i in &run.injected {
            let at = counts
                .iter()
                .position(|c| c.variable == i.variable && c.path == i.path)
                .unwrap_or_else(|| {
                    counts.push(InjectedCount {
                        variable: i.variable.clone(),
                        path: i.path.clone(),
                        runs: 0,
                        loaded_runs: 0,
                        partly_loaded_runs: 0,
                        not_loaded_runs: 0,
                        unknown_runs: 0,
                        words: String::new(),
                    });
                    counts.len() - 1
                });
            let Some(c) = counts.get_mut(at) else {
                continue;
            };
            c.runs += 1;
            match i.verdict {
                Verdict::Loaded => c.loaded_runs += 1,
                Verdict::PartlyLoaded => c.partly_loaded_runs += 1,
                Verdict::NotLoaded => c.not_loaded_runs += 1,
                Verdict::Unknown => c.unknown_runs += 1,
            }
        }
    }
    for c in &mut counts {
        c.words = injected_words(c);
    }
    counts
}

/// `/x/libfix.so (LD_PRELOAD): loaded in 6/8 runs (in some processes only in 1, in no
/// process in 1)`.
fn injected_words(c: &InjectedCount) -> String {
    let runs = |n: u64| if n == 1 { "run" } else { "runs" };
    let extras: Vec<String> = [
        (c.partly_loaded_runs, "in some processes only in"),
        (c.not_loaded_runs, "in no process in"),
        (c.unknown_runs, "unknown in"),
    ]
    .into_iter()
    .filter(|(n, _)| *n > 0)
    .map(|(n, what)| format!("{what} {n}"))
    .collect();
    let extras = if extras.is_empty() {
        String::new()
    } else {
        format!(" ({})", extras.join(", "))
    };
    format!(
        "{} ({}): loaded in {}/{} {}{extras}",
        c.path,
        c.variable,
        c.loaded_runs,
        c.runs,
        runs(c.runs)
    )
}

impl RunSummary {
    /// Whether the run crashed: at least one new crash report was counted for it (see `crashes`).
    /// The command's exit has no part in it.
    pub fn crashed(&self) -> bool {
        !self.crashes.is_empty()
    }

    /// The command succeeded: exit code 0, no signal.
    pub fn passed(&self) -> bool {
        self.exit == Some(0) && self.signal.is_none()
    }
}

/// How often a signature was seen in a configuration's runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SignatureCount {
    /// 16 hex digits of the signature's SHA-256.
    pub signature_id: String,
    /// The crashed thread's first meaningful frames as `image!symbol` (or `image+0xoffset`),
    /// joined by ` | `.
    pub signature: String,
    /// Where the first crash with this signature happened: `function + offset`.
    pub location: Option<String>,
    /// Id of the rule the first crash with this signature matched.
    pub rule: String,
    /// That rule's title.
    pub title: String,
    /// Whether that rule marks the crash as known.
    pub known: bool,
    /// How many of those reports are regressions (on a version at or after the rule's
    /// `fixed_in`).
    pub regressions: u64,
    /// Crash reports with this signature.
    pub reports: u64,
    /// Runs with at least one.
    pub runs: u64,
}

/// How often one test crashed: "`test_gather` crashed in 5 of 12 runs, always the
/// prepareForEnqueue race".
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestCount {
    /// The test, as the runner names it (`tests/test_mps.py::TestMPS::test_gather`).
    pub test: String,
    /// Runs in which it crashed.
    pub crashed_runs: u64,
    /// Runs it could have crashed in: the configuration's (a campaign), or the recorded runs
    /// read (`stats`).
    pub runs: u64,
    /// Crash reports joined with it.
    pub reports: u64,
    /// Which crashes it was, by rule, most reports first.
    pub rules: Vec<RuleCount>,
    /// All of it in words.
    pub words: String,
}

/// Crash reports of one rule.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleCount {
    /// The rule's id (`unmatched` when none matched).
    pub rule: String,
    /// Its title: the crash in words.
    pub title: String,
    /// How many.
    pub reports: u64,
}

/// Crash reports by rule in a few words: `3× agx-prepare-for-enqueue-race, 1× unmatched`.
pub fn rule_counts(rules: &[RuleCount]) -> String {
    rules
        .iter()
        .map(|r| format!("{}× {}", r.reports, r.rule))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Crashes counted by the test they were joined with, run by run, as they are read: a count per
/// test and rule, never the crashes themselves.
#[derive(Debug, Default)]
pub struct TestTally {
    tests: BTreeMap<String, Tallied>,
}

#[derive(Debug, Default)]
struct Tallied {
    crashed_runs: u64,
    last_run: Option<u64>,
    reports: u64,
    rules: BTreeMap<(String, String), u64>,
}

impl TestTally {
    /// Counts one crash of run `run` (any number that is the same for the crashes of one run
    /// and different between runs, given in order) joined with `test`.
    pub fn add(&mut self, run: u64, test: &str, rule: &str, title: &str) {
        let t = self.tests.entry(test.to_owned()).or_default();
        if t.last_run != Some(run) {
            t.last_run = Some(run);
            t.crashed_runs += 1;
        }
        t.reports += 1;
        *t.rules
            .entry((rule.to_owned(), title.to_owned()))
            .or_default() += 1;
    }

    /// The counts, out of `runs` runs, the test that crashed in most runs first.
    pub fn counts(&self, runs: u64) -> Vec<TestCount> {
        let mut out: Vec<TestCount> = self
            .tests
            .iter()
            .map(|(test, t)| {
                let mut rules: Vec<RuleCount> = t
                    .rules
                    .iter()
                    .map(|((rule, title), n)| RuleCount {
                        rule: rule.clone(),
                        title: title.clone(),
                        reports: *n,
                    })
                    .collect();
                rules.sort_by(|a, b| b.reports.cmp(&a.reports).then(a.rule.cmp(&b.rule)));
                let what = match rules.as_slice() {
                    [one] if t.reports > 1 => format!(", always {} ({})", one.title, one.rule),
                    [one] => format!(": {} ({})", one.title, one.rule),
                    many => format!(": {}", rule_counts(many)),
                };
                let words = format!(
                    "{test} crashed in {} of {runs} run{}{what}",
                    t.crashed_runs,
                    if runs == 1 { "" } else { "s" }
                );
                TestCount {
                    test: test.clone(),
                    crashed_runs: t.crashed_runs,
                    runs,
                    reports: t.reports,
                    rules,
                    words,
                }
            })
            .collect();
        out.sort_by(|a, b| {
            b.crashed_runs
                .cmp(&a.crashed_runs)
                .then(b.reports.cmp(&a.reports))
                .then(a.test.cmp(&b.test))
        });
        out
    }
}

/// The numbers of one configuration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ConfigStats {
    /// The configuration's name: A's or B's in a comparison, the command line for `watch --repeat`.
    pub name: String,
    /// Runs of this configuration that happened (fewer than planned when the campaign stopped
    /// early).
    pub runs: u64,
    /// Runs with at least one crash report counted for them.
    pub crashed_runs: u64,
    /// `crashed_runs / runs`.
    pub rate: Option<f64>,
    /// Wilson's 95% interval for the rate, `[low, high]`.
    pub interval: Option<[f64; 2]>,
    /// When no run crashed: the highest rate still consistent with that (95%).
    pub upper_bound_if_none: Option<f64>,
    /// New crash reports counted for the runs (attributed to them, or every new one with
    /// `--attribute any`); a run may write several.
    pub new_crash_logs: u64,
    /// Runs whose command succeeded (exit 0).
    pub passed_runs: u64,
    /// The crashes by signature, most crash reports first.
    pub by_signature: Vec<SignatureCount>,
    /// The crashes by the test they were joined with, the test that crashed in most runs first.
    pub by_test: Vec<TestCount>,
    /// New crash reports joined with no test (the runner printed nothing about them, or several
    /// tests could be them).
    pub crash_logs_without_test: u64,
    /// The rate in words: "3/8 runs crashed (38%, 95% interval 14%–69%)".
    pub words: String,
    /// Whether each library the configuration's environment injects was loaded, run by run:
    /// "loaded in 8/8 runs"; empty when it injects none.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub injected: Vec<InjectedCount>,
}

/// One configuration of a campaign.
#[derive(Debug, Clone, Serialize)]
pub struct ConfigInfo {
    /// What tables and charts call it.
    pub name: String,
    /// `NAME=VALUE` added to the command's environment.
    pub env: Vec<String>,
}

/// The statistics of a campaign: one configuration, or two compared.
#[derive(Debug, Clone)]
pub enum CampaignSummary {
    /// `watch --repeat`: one configuration (boxed, as a comparison is: the statistics are large).
    Repeat(Box<ConfigStats>),
    /// `compare`: A against B.
    Compare(Box<Comparison>),
}

/// The record of a campaign (`crashdelta.campaign/1`).
#[derive(Debug, Clone)]
pub struct CampaignReport {
    /// The command, as given after `--`.
    pub command: Vec<String>,
    /// The configurations, A first.
    pub configs: Vec<ConfigInfo>,
    /// Every run, in the order they happened.
    pub runs: Vec<RunSummary>,
    /// The watch record of each run (`crashdelta.watch/1`), in run order. Kept as JSON, written
    /// as each run ends, so that a long campaign holds a compact record of each run instead of
    /// every report it read.
    pub records: Vec<serde_json::Value>,
    /// The statistics.
    pub summary: CampaignSummary,
    /// Why the campaign ended before its last run, if it did.
    pub stopped: Option<String>,
}

impl CampaignReport {
    /// The configurations' names, A first.
    pub fn names(&self) -> Vec<String> {
        self.configs.iter().map(|c| c.name.clone()).collect()
    }

    /// The statistics of each configuration, A first.
    pub fn stats(&self) -> Vec<&ConfigStats> {
        match &self.summary {
            CampaignSummary::Repeat(s) => vec![&**s],
            CampaignSummary::Compare(c) => vec![&c.a, &c.b],
        }
    }
}

/// The statistics of the runs of configuration `config`.
pub fn config_stats(name: &str, config: usize, runs: &[RunSummary]) -> ConfigStats {
    let mine: Vec<&RunSummary> = runs.iter().filter(|r| r.config == config).collect();
    let n = mine.len() as u64;
    let k = mine.iter().filter(|r| r.crashed()).count() as u64;
    let mut by: BTreeMap<&str, SignatureCount> = BTreeMap::new();
    let mut tests = TestTally::default();
    let mut without_test = 0u64;
    for run in &mine {
        for c in &run.crashes {
            match &c.test {
                Some(test) => tests.add(run.index as u64, test, &c.rule, &c.title),
                None => without_test += 1,
            }
        }
        let mut seen_in_run: Vec<&str> = Vec::new();
        for c in &run.crashes {
            let entry = by
                .entry(c.signature_id.as_str())
                .or_insert_with(|| SignatureCount {
                    signature_id: c.signature_id.clone(),
                    signature: c.signature.clone(),
                    location: c.location.clone(),
                    rule: c.rule.clone(),
                    title: c.title.clone(),
                    known: c.known,
                    regressions: 0,
                    reports: 0,
                    runs: 0,
                });
            entry.reports += 1;
            entry.regressions += u64::from(c.regression.is_some());
            if !seen_in_run.contains(&c.signature_id.as_str()) {
                seen_in_run.push(&c.signature_id);
                entry.runs += 1;
            }
        }
    }
    let mut by_signature: Vec<SignatureCount> = by.into_values().collect();
    by_signature.sort_by(|a, b| {
        b.reports
            .cmp(&a.reports)
            .then(a.signature_id.cmp(&b.signature_id))
    });
    let interval = statistics::wilson(k, n).map(|(lo, hi)| [lo, hi]);
    let upper = if k == 0 {
        statistics::upper_bound_if_none(n)
    } else {
        None
    };
    ConfigStats {
        name: name.to_owned(),
        runs: n,
        crashed_runs: k,
        rate: (n > 0).then(|| k as f64 / n as f64),
        interval,
        upper_bound_if_none: upper,
        new_crash_logs: mine.iter().map(|r| r.crashes.len() as u64).sum(),
        passed_runs: mine.iter().filter(|r| r.passed()).count() as u64,
        by_signature,
        by_test: tests.counts(n),
        crash_logs_without_test: without_test,
        words: rate_words(k, n),
        injected: count_injected(&mine),
    }
}

/// A percentage for people: no decimals from 10% up, one below.
pub fn percent(x: f64) -> String {
    let p = x * 100.0;
    if p == 0.0 || p >= 9.95 {
        format!("{p:.0}%")
    } else {
        format!("{p:.1}%")
    }
}

/// "3/8 runs crashed (38%, 95% interval 14%–69%)", or for none, "0/8 runs crashed: the crash
/// rate may still be as high as 31% (95% upper bound)".
pub fn rate_words(k: u64, n: u64) -> String {
    if n == 0 {
        return "no runs".to_owned();
    }
    let runs = if n == 1 { "run" } else { "runs" };
    if k == 0 {
        let upper = statistics::upper_bound_if_none(n).unwrap_or(1.0);
        return format!(
            "0/{n} {runs} crashed: the crash rate may still be as high as {} (95% upper bound)",
            percent(upper)
        );
    }
    let (lo, hi) = statistics::wilson(k, n).unwrap_or((0.0, 1.0));
    format!(
        "{k}/{n} {runs} crashed ({}, 95% interval {}–{})",
        percent(k as f64 / n as f64),
        percent(lo),
        percent(hi)
    )
}

/// A and B side by side, with Fisher's exact test.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    /// Configuration A's statistics.
    pub a: ConfigStats,
    /// Configuration B's statistics.
    pub b: ConfigStats,
    /// Two-sided p-value of Fisher's exact test for "A and B crash at different rates".
    pub p_value: Option<f64>,
    /// Whether the difference is significant at 5%.
    pub significant: bool,
    /// What the numbers say, in words a reader can act on.
    pub verdict: String,
}

/// The significance level the verdict uses.
pub const ALPHA: f64 = 0.05;

/// Compares A's and B's crashed runs with Fisher's exact test (two-sided) and says in words what
/// the result shows and what it does not. The p-value is `None` when neither ran at all.
pub fn compare(a: ConfigStats, b: ConfigStats) -> Comparison {
    let p = statistics::fisher_exact(a.crashed_runs, a.runs, b.crashed_runs, b.runs);
    let significant = p.is_some_and(|p| p < ALPHA);
    let verdict = verdict(&a, &b, p);
    Comparison {
        a,
        b,
        p_value: p,
        significant,
        verdict,
    }
}

fn p_words(p: f64) -> String {
    if p < 0.001 {
        "p < 0.001".to_owned()
    } else {
        format!("p = {p:.3}")
    }
}

fn verdict(a: &ConfigStats, b: &ConfigStats, p: Option<f64>) -> String {
    let Some(p) = p else {
        return "Not enough runs to compare.".to_owned();
    };
    let counts = format!(
        "{} crashed in {}/{} runs, {} in {}/{}",
        a.name, a.crashed_runs, a.runs, b.name, b.crashed_runs, b.runs
    );
    // A side that never loaded its injected library ran without it (SIP stripped it, a wrong
    // path): whatever the counts say, they are not the library's doing, and must not read as
    // "the fix works".
    let never = injected_where(a, b, InjectedCount::never_loaded);
    if let Some((_, first)) = never.first() {
        let sides: Vec<String> = never
            .iter()
            .map(|(s, i)| {
                let unknown = match i.unknown_runs {
                    0 => String::new(),
                    n => format!(" ({n} of them could not be looked at)"),
                };
                format!(
                    "{} never loaded its injected library {} ({}): it was not loaded in any \
                     process of its {} run{}{unknown}",
                    s.name,
                    i.path,
                    i.variable,
                    i.runs,
                    if i.runs == 1 { "" } else { "s" }
                )
            })
            .collect();
        return format!(
            "{}. Those runs ran without it, so these counts ({counts}) say nothing about what \
             the library does: {}.",
            sides.join("; "),
            crate::run::likely_causes(&first.variable)
        );
    }
    // A configuration whose command failed in every run without crashing may never have
    // reached the test (a wrong path, an import error, a fix library that stops it at start):
    // its zero crashes are no evidence of anything.
    let never_ran = |s: &ConfigStats| s.runs > 0 && s.passed_runs == 0 && s.crashed_runs == 0;
    if never_ran(a) && never_ran(b) {
        return format!(
            "Neither configuration crashed ({counts}), but the command failed in every run of \
             both: it may never have reached the test. Look at its output before reading \
             anything into these counts."
        );
    }
    let caution = [a, b]
        .into_iter()
        .filter(|s| never_ran(s))
        .map(|s| {
            format!(
                " Note: {} failed in all {} of its runs without a crash; it may never have \
                 reached the test.",
                s.name, s.runs
            )
        })
        .collect::<String>();
    let mixed = injected_where(a, b, InjectedCount::sometimes_missing)
        .into_iter()
        .map(|(s, i)| {
            format!(
                " Note: {}'s injected library was not loaded everywhere ({}): its runs mix runs \
                 with and without it.",
                s.name, i.words
            )
        })
        .collect::<String>();
    let mut verdict = verdict_of_counts(a, b, p, &counts);
    verdict.push_str(&caution);
    verdict.push_str(&mixed);
    verdict
}

/// The injected libraries of A and B (with their side) for which `which` holds.
fn injected_where<'s>(
    a: &'s ConfigStats,
    b: &'s ConfigStats,
    which: fn(&InjectedCount) -> bool,
) -> Vec<(&'s ConfigStats, &'s InjectedCount)> {
    [a, b]
        .into_iter()
        .flat_map(|s| s.injected.iter().filter(|i| which(i)).map(move |i| (s, i)))
        .collect()
}

/// The verdict from the counts alone.
fn verdict_of_counts(a: &ConfigStats, b: &ConfigStats, p: f64, counts: &str) -> String {
    if a.crashed_runs == 0 && b.crashed_runs == 0 {
        let bound = |s: &ConfigStats| {
            statistics::upper_bound_if_none(s.runs).map_or_else(String::new, percent)
        };
        return format!(
            "Neither configuration crashed ({counts}). The runs say nothing about a difference: \
             the race may simply not have fired. Rates up to {} ({}) and {} ({}) are still \
             possible; run more, or make the race likelier.",
            bound(a),
            a.name,
            bound(b),
            b.name
        );
    }
    let rate = |s: &ConfigStats| s.rate.unwrap_or(0.0);
    let (higher, lower) = if rate(a) >= rate(b) { (a, b) } else { (b, a) };
    if p < ALPHA {
        let mut s = format!(
            "{} crashes more often than {} ({counts}; Fisher's exact test, {}). A difference this \
             large would arise by chance less than 5% of the time if both crashed equally often.",
            higher.name,
            lower.name,
            p_words(p)
        );
        if lower.crashed_runs == 0 {
            s.push_str(&format!(
                " {} did not crash, but its rate may still be as high as {}.",
                lower.name,
                statistics::upper_bound_if_none(lower.runs).map_or_else(String::new, percent)
            ));
        }
        s
    } else {
        format!(
            "No evidence of a difference ({counts}; Fisher's exact test, {}): a split at least \
             this uneven happens by chance {} of the time when both crash equally often. Do not \
             read this as \"{} fixes it\"; run more to tell.",
            p_words(p),
            percent(p),
            lower.name
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(index: usize, config: usize, crashes: &[&str]) -> RunSummary {
        RunSummary {
            index,
            config,
            exit: Some(0),
            signal: None,
            start: DateTime::<Utc>::from_timestamp(1_700_000_000 + index as i64, 0).unwrap(),
            duration_ms: 1000,
            crashes: crashes
                .iter()
                .map(|sig| RunCrash {
                    rule: "agx-prepare-for-enqueue-race".into(),
                    title: "race".into(),
                    known: true,
                    signature_id: (*sig).into(),
                    signature: format!("AGXMetal!{sig}"),
                    location: None,
                    process: Process::named("Python".into()),
                    path: "x.ips".into(),
                    regression: None,
                    test: None,
                })
                .collect(),
            concurrent: 0,
            unreadable: 0,
            injected: Vec::new(),
        }
    }

    /// "test_gather crashed in 3 of 4 runs, always the race": a test is counted once per run
    /// however many reports it has there; crashes with no test are counted apart.
    #[test]
    fn crashes_by_test() {
        let mut runs: Vec<RunSummary> = (1..=4).map(|i| run(i, 0, &["s"])).collect();
        for (r, test) in runs
            .iter_mut()
            .zip(["t::gather", "t::gather", "t::take", "t::gather"])
        {
            r.crashes[0].test = Some(test.into());
        }
        let mut twice = runs[0].crashes[0].clone();
        twice.rule = "other".into();
        runs[0].crashes.push(twice);
        runs.push(run(5, 0, &["s"]));
        let s = config_stats("x", 0, &runs);
        assert_eq!(s.crash_logs_without_test, 1);
        let gather = &s.by_test[0];
        assert_eq!(
            (
                gather.test.as_str(),
                gather.crashed_runs,
                gather.runs,
                gather.reports
            ),
            ("t::gather", 3, 5, 4)
        );
        assert_eq!(
            gather.words,
            "t::gather crashed in 3 of 5 runs: 3× agx-prepare-for-enqueue-race, 1× other"
        );
        let take = &s.by_test[1];
        assert_eq!(
            take.words,
            "t::take crashed in 1 of 5 runs: race (agx-prepare-for-enqueue-race)"
        );
        let mut tally = TestTally::default();
        tally.add(1, "t::a", "r", "the race");
        tally.add(2, "t::a", "r", "the race");
        assert_eq!(
            tally.counts(2)[0].words,
            "t::a crashed in 2 of 2 runs, always the race (r)"
        );
    }

    /// A comparison whose runs all failed without crashing says so, instead of "the race may
    /// simply not have fired"; one side failing every run gets a note.
    #[test]
    fn runs_that_all_failed_are_not_read_as_a_result() {
        let failed = |i: usize, config: usize| {
            let mut r = run(i, config, &[]);
            r.exit = Some(1);
            r
        };
        let runs: Vec<RunSummary> = (1..=8).map(|i| failed(i, i % 2)).collect();
        let c = compare(config_stats("A", 0, &runs), config_stats("B", 1, &runs));
        assert!(
            c.verdict.contains("failed in every run of both"),
            "{}",
            c.verdict
        );
        assert!(
            !c.verdict.contains("may simply not have fired"),
            "{}",
            c.verdict
        );
        let mut runs: Vec<RunSummary> = (1..=8).map(|i| run(i, 0, &["s"])).collect();
        runs.extend((9..=16).map(|i| failed(i, 1)));
        let c = compare(config_stats("A", 0, &runs), config_stats("B", 1, &runs));
        assert!(
            c.verdict
                .contains("Note: B failed in all 8 of its runs without a crash"),
            "{}",
            c.verdict
        );
    }

    /// The verification report of issue 16: B injected the fix, SIP stripped it, and B's zero
    /// crashes read as "the fix works". A side that never loaded its library is said to have run
    /// without it; one that loaded it in every run is counted as usual; one that mixed gets a
    /// note.
    #[test]
    fn a_side_that_never_loaded_its_library_is_not_credited() {
        let runs_with = |b: &[Verdict]| -> Vec<RunSummary> {
            (0..16)
                .map(|i| {
                    let config = i % 2;
                    let mut r = run(i + 1, config, if config == 0 { &["a"] } else { &[] });
                    if let Some(&verdict) = b.get(i / 2).filter(|_| config == 1) {
                        r.injected = vec![RunInjected {
                            variable: "LD_PRELOAD".into(),
                            path: "/x/libfix.so".into(),
                            verdict,
                        }];
                    }
                    r
                })
                .collect()
        };
        let c = |runs: &[RunSummary]| {
            compare(
                config_stats("without fix", 0, runs),
                config_stats("with fix", 1, runs),
            )
        };
        let never = c(&runs_with(&[Verdict::NotLoaded; 8]));
        assert!(never.a.injected.is_empty());
        assert_eq!(
            never.b.injected[0].words,
            "/x/libfix.so (LD_PRELOAD): loaded in 0/8 runs (in no process in 8)"
        );
        assert!(
            never.verdict.starts_with(
                "with fix never loaded its injected library /x/libfix.so (LD_PRELOAD): it was \
                 not loaded in any process of its 8 runs. Those runs ran without it, so these \
                 counts (without fix crashed in 8/8 runs, with fix in 0/8) say nothing about \
                 what the library does: the likely causes are a wrong path"
            ),
            "{}",
            never.verdict
        );
        assert!(
            !never.verdict.contains("crashes more often"),
            "{}",
            never.verdict
        );
        let always = c(&runs_with(&[Verdict::Loaded; 8]));
        assert_eq!(
            always.b.injected[0].words,
            "/x/libfix.so (LD_PRELOAD): loaded in 8/8 runs"
        );
        assert!(
            always
                .verdict
                .starts_with("without fix crashes more often than with fix"),
            "{}",
            always.verdict
        );
        assert!(!always.verdict.contains("Note"), "{}", always.verdict);
        let mut mixed = [Verdict::Loaded; 8];
        mixed[2] = Verdict::NotLoaded;
        mixed[5] = Verdict::PartlyLoaded;
        mixed[6] = Verdict::Unknown;
        let mixed = c(&runs_with(&mixed));
        assert!(
            mixed.verdict.ends_with(
                "Note: with fix's injected library was not loaded everywhere (/x/libfix.so \
                 (LD_PRELOAD): loaded in 5/8 runs (in some processes only in 1, in no process \
                 in 1, unknown in 1)): its runs mix runs with and without it."
            ),
            "{}",
            mixed.verdict
        );
    }

    #[test]
    fn no_crash_in_eight_runs_still_allows_thirty_one_percent() {
        let runs: Vec<RunSummary> = (1..=8).map(|i| run(i, 0, &[])).collect();
        let s = config_stats("complete_story", 0, &runs);
        assert_eq!((s.runs, s.crashed_runs, s.rate), (8, 0, Some(0.0)));
        assert_eq!(
            s.words,
            "0/8 runs crashed: the crash rate may still be as high as 31% (95% upper bound)"
        );
        let upper = s.upper_bound_if_none.unwrap();
        assert!((upper - 0.3123).abs() < 1e-4, "{upper}");
        let [lo, hi] = s.interval.unwrap();
        assert_eq!(lo, 0.0);
        assert!((hi - 0.3244).abs() < 1e-3, "{hi}");
    }

    #[test]
    fn counts_runs_and_reports_by_signature() {
        let runs = vec![
            run(1, 0, &["a", "a"]),
            run(2, 0, &[]),
            run(3, 0, &["b"]),
            run(4, 0, &["a"]),
        ];
        let s = config_stats("x", 0, &runs);
        assert_eq!((s.crashed_runs, s.new_crash_logs), (3, 4));
        let a = s
            .by_signature
            .iter()
            .find(|c| c.signature_id == "a")
            .unwrap();
        assert_eq!((a.reports, a.runs), (3, 2));
        assert_eq!(s.words, "3/4 runs crashed (75%, 95% interval 30%–95%)");
    }

    #[test]
    fn a_clear_difference_is_called_one() {
        // 7/8 against 0/8: Fisher's two-sided p = 0.0014.
        let runs: Vec<RunSummary> = (0..16)
            .map(|i| {
                run(
                    i + 1,
                    i % 2,
                    if i % 2 == 0 && i < 14 { &["a"] } else { &[] },
                )
            })
            .collect();
        let c = compare(
            config_stats("without fix", 0, &runs),
            config_stats("with fix", 1, &runs),
        );
        assert_eq!((c.a.crashed_runs, c.b.crashed_runs), (7, 0));
        assert!(
            (c.p_value.unwrap() - 0.001_398).abs() < 1e-5,
            "{:?}",
            c.p_value
        );
        assert!(c.significant);
        assert!(
            c.verdict
                .starts_with("without fix crashes more often than with fix"),
            "{}",
            c.verdict
        );
        assert!(
            c.verdict.contains("may still be as high as 31%"),
            "{}",
            c.verdict
        );
    }

    #[test]
    fn one_crash_against_none_is_not_evidence() {
        // The hand-written "1 new crash without the fix, 0 with it".
        let runs = vec![run(1, 0, &["a"]), run(2, 1, &[])];
        let c = compare(config_stats("A", 0, &runs), config_stats("B", 1, &runs));
        assert_eq!(c.p_value, Some(1.0));
        assert!(!c.significant);
        assert!(
            c.verdict.starts_with("No evidence of a difference"),
            "{}",
            c.verdict
        );
        assert!(
            c.verdict.contains("Do not read this as \"B fixes it\""),
            "{}",
            c.verdict
        );
    }

    #[test]
    fn neither_crashing_says_nothing() {
        let runs = vec![run(1, 0, &[]), run(2, 1, &[])];
        let c = compare(config_stats("A", 0, &runs), config_stats("B", 1, &runs));
        assert!(
            c.verdict.starts_with("Neither configuration crashed"),
            "{}",
            c.verdict
        );
        assert!(!c.significant);
    }

    #[test]
    fn percentages_read_well() {
        assert_eq!(percent(0.3123), "31%");
        assert_eq!(percent(0.0531), "5.3%");
        assert_eq!(percent(0.0), "0%");
        assert_eq!(percent(1.0), "100%");
    }
}
