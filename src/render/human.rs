//! Renderings for people: `show` (one report) and the `classify` table. Both are built from
//! [`Lines`] and [`HumanTable`], which escape what the report says (`escape.rs`).

use std::fmt::Write as _;

use super::escape::{HumanTable, Lines, Tone, Visible};
use super::name_pid;
use crate::analyze::{Analysis, Status, non_crash_reason};
use crate::classify::Classification;
use crate::report::{Container, Frame, Report, SourceFormat, image_name_of};

/// How many frames of the crashed thread `show` prints before eliding.
const SHOW_FRAMES: usize = 40;

fn format_name(report: &Report) -> String {
    let format = match report.format {
        SourceFormat::Ips => "JSON .ips",
        SourceFormat::IpsBodyOnly => "JSON .ips body without header",
        SourceFormat::IpsHeaderWithText => ".ips header + text report",
        SourceFormat::Text => "text report",
    };
    match &report.container {
        Container::Plain => format.to_owned(),
        Container::TranslatedComposite => format!("{format}, from a Translated Report composite"),
        Container::Embedded { line } => format!("{format}, embedded at line {line}"),
    }
}

fn frame_line(report: &Report, index: usize, frame: &Frame) -> String {
    let image = image_name_of(report, frame).unwrap_or("???");
    let address = frame
        .address
        .map_or_else(|| "-".repeat(18), |a| format!("{a:#018x}"));
    let what = match (&frame.symbol, frame.symbol_offset, frame.image_offset) {
        (Some(s), Some(off), _) => format!("{s} + {off}"),
        (Some(s), None, _) => s.clone(),
        (None, _, Some(off)) => format!("{image} + {off:#x} (no symbol)"),
        (None, _, None) => "???".to_owned(),
    };
    let mut line = format!("{index:<4}{image:<30} {address} {what}");
    if let (Some(file), Some(l)) = (&frame.source_file, frame.source_line) {
        let _ = write!(line, " ({file}:{l})");
    }
    if frame.inline {
        line.push_str(" [inlined]");
    }
    line
}

/// The `show` rendering of one input.
pub fn show(outcome: &Analysis, colour: bool) -> String {
    let mut out = Lines::coloured(colour);
    let field = |out: &mut Lines, key: &str, value: Option<String>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            out.line(format_args!("{:<15}{v}", format!("{key}:")));
        }
    };
    field(&mut out, "Report", Some(outcome.path.clone()));
    let (report, class) = match &outcome.result {
        Ok(a) => (&a.report, &a.classification),
        Err(_) => {
            field(
                &mut out,
                "Status",
                Some(outcome.status().as_str().to_owned()),
            );
            field(&mut out, "Reason", outcome.reason());
            return out.into_string();
        }
    };
    field(&mut out, "Format", Some(format_name(report)));
    let kind = match (&report.bug_type, &report.bug_type_name) {
        (Some(bt), Some(n)) => format!("{} (bug_type {bt}, {n})", report.kind.as_str()),
        (Some(bt), None) => format!("{} (bug_type {bt})", report.kind.as_str()),
        _ => report.kind.as_str().to_owned(),
    };
    field(&mut out, "Kind", Some(kind));
    field(&mut out, "Incident", report.incident_id.clone());
    let p = &report.process;
    field(&mut out, "Process", name_pid(p.name.as_deref(), p.pid));
    field(&mut out, "Path", p.path.clone());
    field(&mut out, "Identifier", p.identifier.clone());
    field(
        &mut out,
        "Parent",
        name_pid(p.parent_name.as_deref(), p.parent_pid),
    );
    field(
        &mut out,
        "Responsible",
        name_pid(p.responsible_name.as_deref(), p.responsible_pid),
    );
    let os = match (&report.os.train, &report.os.build) {
        (Some(t), Some(b)) => Some(format!("{t} ({b})")),
        (Some(t), None) => Some(t.clone()),
        (None, Some(b)) => Some(b.clone()),
        (None, None) => None,
    };
    field(&mut out, "OS", os);
    field(&mut out, "Hardware", report.hardware_model.clone());
    field(
        &mut out,
        "Time",
        report
            .capture_time
            .map(|t| t.format("%Y-%m-%d %H:%M:%S%.f %z").to_string()),
    );

    if !report.kind.is_crash() {
        field(
            &mut out,
            "Status",
            Some(Status::NotACrash.as_str().to_owned()),
        );
        field(&mut out, "Reason", Some(non_crash_reason(report)));
        warnings(&mut out, report);
        return out.into_string();
    }

    out.blank();
    if let Some(e) = &report.exception {
        let mut text = e.r#type.clone().unwrap_or_else(|| "(no type)".into());
        if let Some(sig) = e
            .signal
            .as_deref()
            .filter(|s| Some(*s) != e.r#type.as_deref())
        {
            let _ = write!(text, " ({sig})");
        }
        if let Some(sub) = &e.subtype {
            let _ = write!(text, " {sub}");
        }
        field(&mut out, "Exception", Some(text));
        let unknown = class
            .as_ref()
            .and_then(|c| c.on_top.address_unknown.as_deref());
        field(
            &mut out,
            "Fault address",
            match unknown {
                Some(why) => Some(format!("unknown: {why}")),
                None => e.address.map(|a| format!("{a:#x}")),
            },
        );
        field(&mut out, "Message", e.message.clone());
    } else {
        field(&mut out, "Exception", Some("(none in the report)".into()));
    }
    if let Some(t) = &report.termination {
        let mut text = t.namespace.clone().unwrap_or_default();
        if let Some(code) = t.code {
            let _ = write!(text, ", code {code}");
        }
        if let Some(ind) = &t.indicator {
            let _ = write!(text, " ({ind})");
        }
        field(&mut out, "Termination", Some(text));
    }
    field(&mut out, "Assertion", report.app_specific.assertion.clone());
    field(
        &mut out,
        "Uncaught",
        report.app_specific.exception_name.clone(),
    );
    field(
        &mut out,
        "Reason",
        report.app_specific.exception_reason.clone(),
    );
    for m in report.app_specific.messages.iter().take(8) {
        let who = if m.image.is_empty() {
            String::new()
        } else {
            format!("{}: ", m.image)
        };
        field(&mut out, "App message", Some(format!("{who}{}", m.text)));
    }

    if let Some(c) = class {
        classification(&mut out, report, c);
    }

    out.blank();
    let handler = class.as_ref().and_then(|c| c.on_top.handler.as_ref());
    match report.crashed() {
        Some(t) => {
            let mut head = format!("Crashed thread {}", t.index);
            if let Some(n) = &t.name {
                let _ = write!(head, " \"{n}\"");
            }
            if let Some(q) = &t.queue {
                let _ = write!(head, ", queue {q}");
            }
            out.line(format_args!("{head}:"));
            // Around `_sigtramp`, at least the frames on both sides of it are shown.
            let shown = handler.map_or(SHOW_FRAMES, |h| SHOW_FRAMES.max(h.sigtramp_frame + 8));
            frames(&mut out, report, &t.frames, shown, |i| {
                handler.is_some_and(|h| h.sigtramp_frame == i).then(|| {
                    format!(
                        "---- above: {}; below: the code it interrupted ----",
                        handler.map_or("the signal handler", |h| h.name)
                    )
                })
            });
            if t.frames.is_empty() {
                out.line("  (no frames)");
            }
        }
        None => match &report.cut {
            Some(cut) if !report.threads.is_empty() => {
                let read = match report.threads.len() {
                    1 => "1 thread was read".to_owned(),
                    n => format!("{n} threads were read"),
                };
                out.line(format_args!(
                    "Crashed thread: not in the report, which was cut: {cut} ({read})"
                ));
            }
            _ => {
                out.line(format_args!(
                    "Crashed thread: not identified by the report ({} threads)",
                    report.threads.len()
                ));
            }
        },
    }
    if class.as_ref().is_some_and(|c| {
        c.on_top.frames_from == Some(crate::classify::FrameSource::LastExceptionBacktrace)
    }) {
        out.blank();
        out.line("Last Exception Backtrace (where the exception was thrown):");
        frames(
            &mut out,
            report,
            &report.last_exception_backtrace,
            SHOW_FRAMES,
            |_| None,
        );
    }
    warnings(&mut out, report);
    out.into_string()
}

/// Prints frames with the report's own numbers, eliding after `limit`; `mark(i)` may put a line
/// after frame `i`.
fn frames(
    out: &mut Lines,
    report: &Report,
    frames: &[Frame],
    limit: usize,
    mark: impl Fn(usize) -> Option<String>,
) {
    for (i, f) in frames.iter().enumerate().take(limit) {
        out.line(format_args!("  {}", frame_line(report, f.number_or(i), f)));
        if let Some(line) = mark(i) {
            out.line(format_args!("  {line}"));
        }
    }
    if frames.len() > limit {
        out.line(format_args!("  ... {} more frames", frames.len() - limit));
    }
}

fn classification(out: &mut Lines, report: &Report, c: &Classification) {
    out.blank();
    let line = |out: &mut Lines, key: &str, value: &str| {
        out.line(format_args!("{:<15}{value}", format!("{key}:")));
    };
    line(out, "Family", c.family.as_str());
    out.toned(
        if c.known && c.regression.is_none() {
            Tone::Known
        } else {
            Tone::New
        },
        format_args!(
            "{:<15}{} ({}){}",
            "Rule:",
            c.rule,
            c.title,
            super::known_suffix(c)
        ),
    );
    line(out, "Why", &c.reason);
    match super::fix_line(report, c) {
        Some(("Regressed", text)) => {
            out.toned(Tone::Failed, format_args!("{:<15}{text}", "Regressed:"));
        }
        Some((label, text)) => line(out, label, &text),
        None => {}
    }
    line(
        out,
        "Location",
        c.location.as_deref().unwrap_or("(unknown)"),
    );
    line(out, "Trigger", super::trigger_text(report, c));
    if let Some(h) = super::handler_line(c) {
        line(out, "Handler", &h);
    }
    // A plain abort or assertion needs no saying; a panic or an exception does, because its
    // machinery hides where it went wrong.
    let machinery = c.on_top.machinery.as_ref().and_then(|m| {
        let what = match m.kind {
            "rust-panic" => "a Rust panic",
            "cxx-exception" => "an uncaught C++ exception",
            "objc-exception" => "an uncaught Objective-C exception",
            "swift-runtime-failure" => "a Swift runtime failure",
            _ => return None,
        };
        Some((m, what))
    });
    if let Some((m, what)) = machinery {
        let mut text = format!(
            "{what}: {} frame(s) of its machinery above the location",
            m.frames
        );
        if let Some(message) = &m.message {
            let _ = write!(text, " ({message})");
        }
        line(out, "On top", &text);
    }
    if let Some(r) = super::read_from_line(c) {
        line(out, "Read from", &r);
    }
    for r in &c.racing {
        line(out, "Racing", &super::racing_line(r, false));
    }
    for link in &c.links {
        line(out, "See", link);
    }
    line(
        out,
        "Signature",
        &format!("{} [{}]", c.signature, c.signature_id),
    );
    if let Some(d) = &c.driver {
        let mut text = d.label();
        if let Some(u) = &d.uuid {
            let _ = write!(text, " ({u})");
        }
        line(out, "GPU driver", &text);
    }
}

fn warnings(out: &mut Lines, report: &Report) {
    if report.warnings.is_empty() {
        return;
    }
    out.blank();
    out.line(format_args!("Warnings ({}):", report.warnings.len()));
    for w in &report.warnings {
        out.line(format_args!("  {}: {}", w.at, w.message));
    }
}

/// The `classify` table: one row per input, then the crashes grouped by signature. Rows are
/// short strings, not reports.
pub struct TableSink<W: std::io::Write> {
    out: W,
    width: Option<u16>,
    table: HumanTable,
}

impl<W: std::io::Write> TableSink<W> {
    /// `width` as [`Style::width`](super::Style::width).
    pub fn new(out: W, width: Option<u16>) -> Self {
        let table = super::table(
            width,
            &[
                "file",
                "status",
                "process",
                "exception",
                "rule",
                "location / reason",
            ],
        );
        TableSink { out, width, table }
    }
}

impl<W: std::io::Write> super::Sink for TableSink<W> {
    fn entry(&mut self, entry: &super::Item) -> std::io::Result<()> {
        let outcome = entry.outcome;
        let mut status = outcome.status().as_str().to_owned();
        if entry.gate_failure.is_some() {
            status.push_str(" (fails gate)");
        }
        let file = outcome.path.clone();
        match outcome.crash() {
            Some((report, c)) => {
                let known = super::known_suffix(c);
                self.table.add_row([
                    file,
                    status,
                    super::process_label(report),
                    super::exception_short(report),
                    format!("{} ({}{known})", c.rule, c.family.as_str()),
                    c.location.clone().unwrap_or_default(),
                ]);
            }
            _ => {
                let process = outcome
                    .report()
                    .map(super::process_label)
                    .unwrap_or_default();
                let reason = outcome.reason().unwrap_or_default();
                let reason = reason
                    .strip_prefix("not a crash report: ")
                    .unwrap_or(&reason)
                    .to_owned();
                self.table
                    .add_row([file, status, process, String::new(), String::new(), reason]);
            }
        }
        Ok(())
    }

    fn finish(&mut self, totals: &super::Totals) -> std::io::Result<()> {
        writeln!(self.out, "{}", self.table)?;
        if !totals.groups.is_empty() {
            let mut groups = super::table(
                self.width,
                &[
                    "count",
                    "rule",
                    "known",
                    "processes",
                    "OS builds",
                    "drivers",
                    "first / last seen",
                    "location",
                ],
            );
            for g in &totals.groups {
                let seen = match (g.first_seen, g.last_seen) {
                    (Some(f), Some(l)) if f == l => f.format("%Y-%m-%d %H:%M").to_string(),
                    (Some(f), Some(l)) => format!(
                        "{} / {}",
                        f.format("%Y-%m-%d %H:%M"),
                        l.format("%Y-%m-%d %H:%M")
                    ),
                    _ => String::new(),
                };
                let join = |set: &std::collections::BTreeSet<String>| {
                    set.iter().cloned().collect::<Vec<_>>().join(", ")
                };
                groups.add_row([
                    g.count.to_string(),
                    format!("{} ({})", g.rule, g.family.as_str()),
                    super::known_count_cell(g.known, g.regressions),
                    join(&g.processes),
                    join(&g.os_builds),
                    driver_labels(&g.drivers),
                    seen,
                    g.location.clone().unwrap_or_default(),
                ]);
            }
            writeln!(self.out, "\nCrashes by signature:\n{groups}")?;
        }
        let s = totals.summary;
        writeln!(
            self.out,
            "{} input(s): {} crash report(s), {} not a crash, {} error(s)",
            s.inputs, s.crashes, s.not_a_crash, s.errors
        )?;
        if totals.gate.fail_on != crate::classify::FailOn::None {
            // The reason names the inputs that failed: file names, which anyone may choose.
            writeln!(
                self.out,
                "Gate (--fail-on {}): {}",
                totals.gate.fail_on.as_str(),
                Visible(&totals.gate.reason)
            )?;
        }
        self.out.flush()
    }
}

/// The drivers of a group in words, each build once: two with the same name and version but
/// another UUID read the same to a person.
fn driver_labels(drivers: &std::collections::BTreeSet<crate::classify::Driver>) -> String {
    let mut labels: Vec<String> = drivers.iter().map(|d| d.label()).collect();
    // Sorted by name, then version: equal labels are neighbours.
    labels.dedup();
    labels.join(", ")
}
