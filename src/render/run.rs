//! The record of a `watch` run (or a `diff`, made by `crate::run`): the delta, each new crash
//! with its attribution, the command, the window and the gate; as JSON, and as the human summary.

use std::io::{self, Write};

use serde::Serialize;

use super::escape::{Lines, Tone};
use super::json::ReportOut;
use super::{GateResult, Item, Sink, Summary, Totals};
use crate::Tool;
use crate::run::{CommandInfo, Injected, RunReport, Verdict, Window};
use crate::watch::{Attribution, AttributionKind};

/// The `schema` of the run record (`watch --format json`, `diff --format json`), and of each run
/// inside a campaign's record.
pub const WATCH_SCHEMA: &str = "crashdelta.watch/1";

#[derive(Serialize)]
struct NewOut<'a> {
    #[serde(flatten)]
    report: ReportOut<'a>,
    attribution: &'a Attribution,
    #[serde(skip_serializing_if = "Option::is_none")]
    duplicate_of: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    test: Option<&'a crate::run::TestLink>,
}

#[derive(Serialize)]
struct Doc<'a> {
    schema: &'static str,
    tool: Tool,
    delta: &'a str,
    before: usize,
    after: usize,
    new: Vec<NewOut<'a>>,
    retired: usize,
    removed: usize,
    concurrent: usize,
    other_new: usize,
    command: Option<&'a CommandInfo>,
    window: &'a Window,
    gate: &'a GateResult,
    interrupted: Option<i32>,
    interrupted_name: Option<String>,
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    warnings: &'a [String],
    #[serde(skip_serializing_if = "Option::is_none")]
    provenance: Option<&'a crate::run::provenance::Provenance>,
    #[serde(skip_serializing_if = "<[Injected]>::is_empty")]
    injected: &'a [Injected],
}

/// Writes the run record as the `crashdelta.watch/1` JSON document, pretty-printed, with a trailing
/// newline.
pub fn write_json(out: &mut dyn Write, run: &RunReport) -> io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &doc(run)).map_err(io::Error::other)?;
    writeln!(out)?;
    out.flush()
}

/// The run record as a JSON value: a campaign holds one per run.
pub fn to_value(run: &RunReport) -> serde_json::Value {
    serde_json::to_value(doc(run)).unwrap_or(serde_json::Value::Null)
}

fn doc(run: &RunReport) -> Doc<'_> {
    let new = run
        .new
        .iter()
        .map(|n| {
            let mut report = ReportOut::new(&n.analysis);
            report.set_gate_failure(n.gate_failure.as_deref());
            NewOut {
                report,
                attribution: &n.attribution,
                duplicate_of: n.duplicate_of.as_deref(),
                test: n.test.as_ref(),
            }
        })
        .collect();
    Doc {
        schema: WATCH_SCHEMA,
        tool: Tool::this(),
        delta: &run.headline,
        before: run.before,
        after: run.after,
        new,
        retired: run.retired,
        removed: run.removed,
        concurrent: run.concurrent(),
        other_new: run.other_new,
        command: run.command.as_ref(),
        window: &run.window,
        gate: &run.gate,
        interrupted: run.interrupted,
        interrupted_name: run.interrupted.map(crate::watch::signal_name),
        warnings: &run.warnings,
        provenance: run.provenance.as_ref(),
        injected: &run.injected,
    }
}

/// The human summary: the delta line, a table of the new crashes, then each crash's details in
/// the shape of the hand-written analyses. Built from [`Lines`] and a [`super::table`], which
/// escape what the reports (and their file names) say.
pub fn human(run: &RunReport, style: &super::Style) -> String {
    let mut s = Lines::coloured(style.colour);
    s.toned(Tone::Heading, &run.headline);
    if !run.new.is_empty() {
        let mut table = super::table(
            style.width,
            &["process", "from", "exception", "rule", "known", "location"],
        );
        for n in &run.new {
            let from = match n.attribution.kind {
                AttributionKind::Run if n.attribution.basis == crate::watch::Basis::Ambiguous => {
                    "this run (ambiguous)"
                }
                AttributionKind::Run => "this run",
                AttributionKind::Late => "earlier run (late)",
                AttributionKind::Concurrent => "concurrent",
            };
            match n.analysis.crash() {
                Some((report, c)) => {
                    table.add_row([
                        super::process_label(report),
                        from.to_owned(),
                        super::exception_short(report),
                        c.rule.clone(),
                        super::known_cell(c).to_owned(),
                        c.location.clone().unwrap_or_default(),
                    ]);
                }
                _ => {
                    table.add_row([
                        n.analysis.path.clone(),
                        from.to_owned(),
                        String::new(),
                        String::new(),
                        String::new(),
                        n.analysis.reason().unwrap_or_default(),
                    ]);
                }
            }
        }
        s.table(&table);
        for n in &run.new {
            let Some((report, c)) = n.analysis.crash() else {
                continue;
            };
            s.blank();
            let known = super::known_suffix(c);
            let tone = if c.known && c.regression.is_none() {
                Tone::Known
            } else {
                Tone::New
            };
            s.toned(
                tone,
                format_args!(
                    "{}: {} ({}{known})",
                    super::process_label(report),
                    c.title,
                    c.rule
                ),
            );
            for (label, value) in super::crash_lines(report, c) {
                s.line(format_args!("  {:<11}{value}", format!("{label}:")));
            }
            s.line(format_args!("  From:      {}", n.attribution.reason));
            s.line(format_args!("  Report:    {}", n.analysis.path));
            if let Some(of) = &n.duplicate_of {
                s.line(format_args!("  Copy of:   {of}"));
            }
            if let Some(link) = &n.test {
                test_lines(&mut s, link);
            }
        }
    }
    if run.other_new > 0 {
        s.line(format_args!(
            "{} new report(s) of other kinds (not crashes).",
            run.other_new
        ));
    }
    injected_lines(&mut s, &run.injected);
    for w in &run.warnings {
        s.toned(Tone::Warning, format_args!("Warning: {w}"));
    }
    if let Some(signal) = run.interrupted {
        s.toned(
            Tone::Warning,
            format_args!(
            "Interrupted by {}: the run did not finish; only the crash reports found until then \
             are counted.",
                crate::watch::signal_name(signal)
            ),
        );
    }
    if let Some(c) = &run.command {
        command_lines(&mut s, c, run.interrupted);
    }
    if let Some(p) = &run.provenance {
        s.line("What ran:");
        for (label, value) in p.lines() {
            s.line(format_args!("  {:<13}{value}", format!("{label}:")));
        }
    }
    s.toned(
        gate_tone(&run.gate),
        format_args!(
            "Gate (--fail-on {}): {}",
            run.gate.fail_on.as_str(),
            run.gate.reason
        ),
    );
    s.into_string()
}

/// Whether each injected library loaded: a plain line when it did everywhere, a warning
/// otherwise (a "with fix" run without the fix must not pass unnoticed).
fn injected_lines(s: &mut Lines, injected: &[Injected]) {
    for i in injected {
        match i.verdict {
            Verdict::Loaded => s.line(format_args!("Injected: {}.", i.words)),
            _ => s.toned(Tone::Warning, format_args!("Warning: {}.", i.words)),
        }
    }
}

/// The gate's verdict in colour: red when it failed, green when it passed, plain when there was
/// no gate (`--fail-on none`).
pub(super) fn gate_tone(gate: &GateResult) -> Tone {
    match (gate.passed, gate.fail_on) {
        (false, _) => Tone::Failed,
        (true, crate::classify::FailOn::None) => Tone::Heading,
        (true, _) => Tone::Passed,
    }
}

/// `Test:` and `Python:` under a crash: which test, as the runner told it, and how the join was
/// made.
fn test_lines(s: &mut Lines, link: &crate::run::TestLink) {
    s.line(format_args!("  Test:      {}", super::test_label(link)));
    if let Some(python) = super::python_line(link) {
        s.line(format_args!("  Python:    {python}"));
    }
}

/// What the summary says about how the command ended when it is worth a line: killed after an
/// interrupt, or processes left running.
fn command_lines(s: &mut Lines, c: &CommandInfo, interrupted: Option<i32>) {
    if c.killed {
        let by = interrupted.map_or_else(|| "an interrupt".to_owned(), crate::watch::signal_name);
        s.line(format_args!(
            "The command did not end after {by}: its process group was killed (SIGKILL)."
        ));
    }
    if c.leftovers.is_empty() {
        return;
    }
    let list: Vec<String> = c
        .leftovers
        .iter()
        .map(|l| {
            let how = match (l.in_group, l.killed) {
                (_, true) => ", killed",
                (false, false) => ", left its process group",
                (true, false) => "",
            };
            format!("{} {}{how}", l.pid, l.name)
        })
        .collect();
    let advice = if c.leftovers.iter().any(|l| l.in_group && !l.killed) {
        " (--kill-leftovers kills those of its process group)"
    } else {
        ""
    };
    s.line(format_args!(
        "Left running by the command: {}{advice}",
        list.join("; ")
    ));
}

/// Writes the run's new reports, then its totals, through a stream writer (Markdown, JUnit).
pub fn write_to(run: &RunReport, sink: &mut dyn Sink) -> io::Result<()> {
    let mut summary = Summary::default();
    for n in &run.new {
        summary.add(n.analysis.status());
        sink.entry(&Item {
            outcome: &n.analysis,
            gate_failure: n.gate_failure.as_deref(),
            attribution: Some(&n.attribution),
            test: n.test.as_ref(),
        })?;
    }
    sink.finish(&Totals {
        summary,
        groups: Vec::new(),
        gate: &run.gate,
        headline: Some(&run.headline),
        provenance: run
            .provenance
            .as_ref()
            .map(|p| p.lines())
            .unwrap_or_default(),
        injected: &run.injected,
    })
}
