//! The record of a `watch` run (or a `diff`, made by `crate::run`): the delta, each new crash
//! with its attribution, the command, the window and the gate; as JSON, and as the human summary.

use std::fmt::Write as _;
use std::io::{self, Write};

use serde::Serialize;

use super::json::ReportOut;
use super::{GateResult, Item, Sink, Summary, Totals};
use crate::run::{CommandInfo, RunReport, Window};
use crate::watch::{Attribution, AttributionKind};

/// The `schema` of the run record (`watch --format json`, `diff --format json`), and of each run
/// inside a campaign's record.
pub const WATCH_SCHEMA: &str = "crashdelta.watch/1";

#[derive(Serialize)]
struct NewOut<'a> {
    #[serde(flatten)]
    report: ReportOut<'a>,
    attribution: &'a Attribution,
}

#[derive(Serialize)]
struct Doc<'a> {
    schema: &'static str,
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
            }
        })
        .collect();
    Doc {
        schema: WATCH_SCHEMA,
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
    }
}

/// The human summary: the delta line, a table of the new crashes, then each crash's details in
/// the shape of the hand-written analyses.
pub fn human(run: &RunReport, width: Option<u16>) -> String {
    let mut s = String::new();
    let _ = writeln!(s, "{}", run.headline);
    if !run.new.is_empty() {
        let mut table = super::table(
            width,
            &["process", "from", "exception", "rule", "known", "location"],
        );
        for n in &run.new {
            let from = match n.attribution.kind {
                AttributionKind::Run => "this run",
                AttributionKind::Concurrent => "concurrent",
            };
            match n.analysis.crash() {
                Some((report, c)) => {
                    table.add_row([
                        super::process_label(report),
                        from.to_owned(),
                        super::exception_short(report),
                        c.rule.clone(),
                        if c.known { "yes".into() } else { "no".into() },
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
        let _ = writeln!(s, "{table}");
        for n in &run.new {
            let Some((report, c)) = n.analysis.crash() else {
                continue;
            };
            let _ = writeln!(s);
            let known = if c.known { ", known" } else { "" };
            let _ = writeln!(
                s,
                "{}: {} ({}{known})",
                super::process_label(report),
                c.title,
                c.rule
            );
            for (label, value) in super::crash_lines(report, c) {
                let _ = writeln!(s, "  {:<11}{value}", format!("{label}:"));
            }
            let _ = writeln!(s, "  From:      {}", n.attribution.reason);
            let _ = writeln!(s, "  Report:    {}", n.analysis.path);
        }
    }
    if run.other_new > 0 {
        let _ = writeln!(
            s,
            "{} new report(s) of other kinds (not crashes).",
            run.other_new
        );
    }
    if let Some(c) = &run.command {
        command_lines(&mut s, c, run.interrupted);
    }
    let _ = writeln!(
        s,
        "Gate (--fail-on {}): {}",
        run.gate.fail_on.as_str(),
        run.gate.reason
    );
    s
}

/// What the summary says about how the command ended when it is worth a line: killed after an
/// interrupt, or processes left running.
fn command_lines(s: &mut String, c: &CommandInfo, interrupted: Option<i32>) {
    if c.killed {
        let by = interrupted.map_or_else(|| "an interrupt".to_owned(), crate::watch::signal_name);
        let _ = writeln!(
            s,
            "The command did not end after {by}: its process group was killed (SIGKILL)."
        );
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
    let _ = writeln!(
        s,
        "Left running by the command: {}{advice}",
        list.join("; ")
    );
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
        })?;
    }
    sink.finish(&Totals {
        summary,
        groups: Vec::new(),
        gate: &run.gate,
        headline: Some(&run.headline),
    })
}
