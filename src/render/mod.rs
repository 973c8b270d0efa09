//! Writers, and only writers: human renderings, JSON, Markdown, JUnit and HTML.
//!
//! Every document a command writes implements [`Document`] (`document.rs`): it names the
//! [`Format`]s it can be written in, and the command line offers exactly those. `classify`'s
//! stream is written through a [`Sink`]: it is handed one input at a time and the totals at the
//! end, so that no writer needs every report in memory (JSON streams; the others keep a line or
//! a small block per crash). Records are made elsewhere (`run`, `campaign`); nothing here decides
//! what a crash is or whether the gate passed.
//!
//! What a report says is someone else's text: human renderings are built from
//! [`escape::Lines`] and [`table`] (an [`escape::HumanTable`]), which show control characters
//! and bidi overrides instead of obeying them; Markdown goes through [`markdown::inline`],
//! [`markdown::code`] and [`markdown::fenced`]; JSON, JUnit and HTML escape in their own syntax.

pub mod campaign;
mod compact;
mod document;
pub mod escape;
pub mod history;
mod html;
pub mod human;
pub mod json;
pub mod junit;
pub mod markdown;
mod rules;
pub mod run;

use std::io;

use comfy_table::{ContentArrangement, Table, presets};

use escape::HumanTable;

pub use document::{Document, Format, STREAM_FORMATS, Style, Symbolicated, stream};
pub use rules::Explained;

use crate::analyze::{Analysis, Summary};
use crate::classify::{GateResult, Group};
use crate::report;
use crate::watch::Attribution;

/// One input as the writers see it.
pub struct Item<'a> {
    /// The input's analysis: its name, and the report with its classification or why there is none.
    pub outcome: &'a Analysis,
    /// Why this crash fails the gate, when it does.
    pub gate_failure: Option<&'a str>,
    /// For `watch` and `diff`: whether the crash comes from the run.
    pub attribution: Option<&'a Attribution>,
    /// For `watch`: which test crashed, as the test runner told it.
    pub test: Option<&'a crate::run::TestLink>,
}

/// The test a crash is joined with, and how, in words: `tests/x.py::test_a (pytest-xdist, worker
/// gw1; joined by time)`; `None` when no evidence names one.
pub fn test_label(link: &crate::run::TestLink) -> String {
    let Some(e) = &link.evidence else {
        return match link.candidates.as_slice() {
            [one] => {
                format!("perhaps {one} (another crash report of the run fits its crash as well)")
            }
            many => format!("one of {} ({})", many.join(", "), link.how.label()),
        };
    };
    let mut how = vec![e.runner.as_str().to_owned()];
    if e.test_inferred {
        how.push("test read off the Python stack".to_owned());
    }
    if let Some(w) = &e.worker {
        how.push(format!("worker {w}"));
    }
    how.push(link.how.label().to_owned());
    format!(
        "{} ({})",
        e.test.as_deref().unwrap_or("(not named by the runner)"),
        how.join("; ")
    )
}

/// The top of the Python stack joined with a crash: `ops.py:7 in gather ← test_mps.py:13 in
/// test_gather`; `None` when there is none.
pub fn python_line(link: &crate::run::TestLink) -> Option<String> {
    let e = link.evidence.as_ref()?;
    if e.python_stack.is_empty() {
        return None;
    }
    let frames: Vec<String> = e
        .python_stack
        .iter()
        .take(4)
        .map(|f| {
            let file = f.file.rsplit('/').next().unwrap_or(&f.file);
            match f.line {
                Some(l) => format!("{file}:{l} in {}", f.function),
                None => format!("{file} in {}", f.function),
            }
        })
        .collect();
    Some(frames.join(" ← "))
}

/// What the writers get at the end.
pub struct Totals<'a> {
    /// How many inputs were crashes, not crashes and errors.
    pub summary: Summary,
    /// The crashes grouped by signature, the most frequent first (empty for a run record, whose
    /// writers do not group).
    pub groups: Vec<&'a Group>,
    /// The gate's verdict over all the inputs.
    pub gate: &'a GateResult,
    /// For `watch` and `diff`: `Crash logs: 252 before → 253 after (1 new)`.
    pub headline: Option<&'a str>,
    /// For `watch`: what ran (`Provenance::lines`), as a footer.
    pub provenance: Vec<(&'static str, String)>,
    /// For `watch`: whether each injected library loaded (empty for `classify`, `diff`, and a
    /// run that injects none).
    pub injected: &'a [crate::run::Injected],
}

/// A writer of the `classify` stream, and of a run record's new reports (through
/// [`run::write_to`]): handed one input at a time, then the totals, so that it never needs every
/// report in memory.
///
/// A writer whose entries do not depend on one another (JSON) also says how to render one
/// ([`Sink::prerender`]): `classify` then renders each report on the worker that read it and
/// drops its analysis there, and this writer only places the bytes ([`Sink::entry_rendered`]).
/// The analysis is hundreds of small allocations made on one core; read and freed on the other
/// it cost more than the rendering itself (docs/performance.md).
pub trait Sink {
    /// Writes one input, or keeps the little it needs of it until [`Sink::finish`].
    fn entry(&mut self, item: &Item) -> io::Result<()>;
    /// Writes what comes after the inputs (the totals, the groups, the gate, and whatever the
    /// writer kept back) and flushes the output.
    fn finish(&mut self, totals: &Totals) -> io::Result<()>;

    /// How this writer renders one input by itself, on any thread, for
    /// [`Sink::entry_rendered`]; `None` (the default) when it needs each [`Item`] in turn.
    fn prerender(&self) -> Option<Prerender> {
        None
    }

    /// Writes one input that its [`Sink::prerender`] rendered.
    fn entry_rendered(&mut self, _rendered: &[u8]) -> io::Result<()> {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "this writer does not take rendered entries",
        ))
    }
}

/// Renders one input into bytes, without what separates it from the others.
pub type Prerender = fn(&Item, &mut Vec<u8>) -> io::Result<()>;

/// `EXC_BAD_ACCESS (SIGSEGV)`, or what there is of it.
pub fn exception_short(report: &report::Report) -> String {
    report
        .exception
        .as_ref()
        .map(|e| match (&e.r#type, &e.signal) {
            (Some(t), Some(s)) if t != s => format!("{t} ({s})"),
            (Some(t), _) => t.clone(),
            (None, Some(s)) => s.clone(),
            (None, None) => String::new(),
        })
        .unwrap_or_default()
}

/// The exception the way the hand-written analyses put it:
/// `EXC_BAD_ACCESS - KERN_INVALID_ADDRESS at 0x98`.
pub fn exception_line(report: &report::Report) -> String {
    let Some(e) = &report.exception else {
        return "(no exception in the report)".into();
    };
    let mut line = exception_short(report);
    if let Some(sub) = &e.subtype {
        // `KERN_INVALID_ADDRESS at 0x0000000000000098` reads better with the short address.
        let sub = match (e.address, sub.split_once(" at ")) {
            (Some(a), Some((kind, _))) if !e.pac_failure => format!("{kind} at {a:#x}"),
            _ => sub.clone(),
        };
        // The hand-written analyses leave the signal out when a subtype says more.
        line = e
            .r#type
            .clone()
            .or_else(|| e.signal.clone())
            .unwrap_or_default();
        line.push_str(" - ");
        line.push_str(&sub);
    } else if let Some(a) = e.address {
        line.push_str(&format!(" at {a:#x}"));
    }
    line
}

/// The trigger, or why there is none: no crashed thread was read (a report cut before it), so
/// nothing is known of its callers; or none of its callers is outside the system libraries.
pub fn trigger_text<'a>(
    report: &report::Report,
    c: &'a crate::classify::Classification,
) -> &'a str {
    match &c.trigger {
        Some(t) => t,
        None if report.crashed().is_none() => "(unknown: the crashed thread is not in the report)",
        // A piece of a body, or a body cut before `usedImages`: which frames are the program's
        // cannot be told.
        None if report.crashed().is_some_and(|t| {
            !t.frames.is_empty()
                && t.frames
                    .iter()
                    .all(|f| report::image_name_of(report, f).is_none())
        }) =>
        {
            "(unknown: the report names none of the crashed thread's images)"
        }
        None => "(no caller outside the system libraries)",
    }
}

/// The lines of the hand-written crash analyses, with the words every writer uses when a value
/// is missing: Exception, Location, Trigger; then, when they apply, what sat on top of the crash
/// (a signal handler, an exception thrown elsewhere) and the threads it raced with.
pub fn crash_lines(
    report: &report::Report,
    c: &crate::classify::Classification,
) -> Vec<(&'static str, String)> {
    let mut exception = exception_line(report);
    if c.on_top.address_unknown.is_some() {
        exception.push_str(", fault address unknown (the signal was re-raised)");
    }
    let mut lines = vec![
        ("Exception", exception),
        (
            "Location",
            c.location.clone().unwrap_or_else(|| "(unknown)".into()),
        ),
        ("Trigger", trigger_text(report, c).to_owned()),
    ];
    if let Some(line) = handler_line(c) {
        lines.push(("Handler", line));
    }
    if let Some(line) = read_from_line(c) {
        lines.push(("Read from", line));
    }
    if let Some((label, line)) = fix_line(report, c) {
        lines.push((label, line));
    }
    for r in c.racing.iter().take(RACING_LINES) {
        lines.push(("Racing", racing_line(r, false)));
    }
    if c.racing.len() > RACING_LINES {
        lines.push((
            "Racing",
            format!("and {} more threads", c.racing.len() - RACING_LINES),
        ));
    }
    lines
}

/// How many racing threads the one-block writers list before counting the rest.
pub const RACING_LINES: usize = 4;

/// `Python's faulthandler (faulthandler_fatal_error) caught the signal above _sigtramp and
/// re-raised it; the crash is read below it`.
pub fn handler_line(c: &crate::classify::Classification) -> Option<String> {
    let h = c.on_top.handler.as_ref()?;
    Some(if h.reraised {
        format!(
            "{} ({}) caught the signal above _sigtramp (frame {}) and re-raised it; the crash is read below it",
            h.name, h.frame, h.sigtramp_frame
        )
    } else {
        format!(
            "{} ({}) was running above _sigtramp (frame {}) when the process died; the crash is read below it",
            h.name, h.frame, h.sigtramp_frame
        )
    })
}

/// The rule's fix, when it names one: `Regressed` with `fixed in driver version 342.1, seen on
/// 342.3.1`, or `Fixed in` with why the report is not a regression (`driver version 342.1; not
/// a regression: driver version 329.2 is before 342.1`).
pub fn fix_line(
    report: &report::Report,
    c: &crate::classify::Classification,
) -> Option<(&'static str, String)> {
    match (&c.regression, &c.fixed_in) {
        (Some(r), _) => Some(("Regressed", r.describe())),
        (None, Some(f)) => {
            let versions = crate::classify::versions(report, c.driver.as_ref());
            Some((
                "Fixed in",
                format!("{}; {}", f.describe(), f.outcome(&versions)),
            ))
        }
        (None, None) => None,
    }
}

/// `, known`, `, regression`, `, known, regression` or nothing: what follows a rule's family or
/// title in the writers' one-line summaries.
pub fn known_suffix(c: &crate::classify::Classification) -> &'static str {
    match (c.known, c.regression.is_some()) {
        (true, true) => ", known, regression",
        (true, false) => ", known",
        (false, true) => ", regression",
        (false, false) => "",
    }
}

/// A group's `known` cell: `yes` or `no`, and how many of its crashes are regressions when any
/// are (`yes, 2 regressions`).
pub fn known_count_cell(known: bool, regressions: u64) -> String {
    let known = if known { "yes" } else { "no" };
    match regressions {
        0 => known.to_owned(),
        1 => format!("{known}, 1 regression"),
        n => format!("{known}, {n} regressions"),
    }
}

/// A `known` table cell: `yes` or `no`, with `, regression` for a regression.
pub fn known_cell(c: &crate::classify::Classification) -> &'static str {
    match (c.known, c.regression.is_some()) {
        (true, true) => "yes, regression",
        (true, false) => "yes",
        (false, true) => "no, regression",
        (false, false) => "no",
    }
}

/// When the crash is read from the Last Exception Backtrace.
pub fn read_from_line(c: &crate::classify::Classification) -> Option<String> {
    (c.on_top.frames_from == Some(crate::classify::FrameSource::LastExceptionBacktrace)).then(|| {
        "the Last Exception Backtrace: the crashed thread rethrew an uncaught exception thrown there"
            .to_owned()
    })
}

/// `thread 7 "Thread-3 (worker)", queue metal gpu stream 2: in -[MPSGraph encode...] from
/// at::native::mps::binaryOpTensor`. `code` quotes function names for Markdown.
pub fn racing_line(r: &crate::classify::Racing, code: bool) -> String {
    let q = |s: &str| {
        if code {
            format!("`{}`", s.replace('`', "'"))
        } else {
            s.to_owned()
        }
    };
    let mut who = format!("thread {}", r.thread);
    if let Some(name) = &r.name {
        who.push_str(&format!(" \"{name}\""));
    }
    if let Some(queue) = &r.queue {
        who.push_str(&format!(", queue {queue}"));
    }
    let mut line = format!("{who}: in {}", q(&r.gpu_frame));
    if let Some(program) = &r.program_frame {
        line.push_str(&format!(" from {}", q(program)));
    }
    if let Some(wait) = &r.waiting_in {
        line.push_str(&format!(" (waiting in {wait})"));
    }
    line
}

/// `Python [81920]`.
pub fn process_label(report: &report::Report) -> String {
    name_pid(report.process.name.as_deref(), report.process.pid)
        .unwrap_or_else(|| "(unknown process)".into())
}

/// `zsh [33696]`, `zsh`, `[33696]`.
pub fn name_pid(name: Option<&str>, pid: Option<u64>) -> Option<String> {
    match (name, pid) {
        (Some(n), Some(p)) => Some(format!("{n} [{p}]")),
        (Some(n), None) => Some(n.to_owned()),
        (None, Some(p)) => Some(format!("[{p}]")),
        (None, None) => None,
    }
}

/// The tables every human rendering draws: one style; `width` as [`Style::width`]: cells wrap
/// to fit a terminal that wide, and never wrap without one. Its cells are escaped as they are
/// added ([`HumanTable`]).
pub fn table(width: Option<u16>, header: &[&str]) -> HumanTable {
    let mut table = Table::new();
    table
        .load_style(presets::UTF8_FULL_CONDENSED)
        .set_header(header.to_vec());
    match width {
        Some(w) => {
            table
                .set_content_arrangement(ContentArrangement::Dynamic)
                .set_width(w);
        }
        // A file, a pipe, a CI log: one line per row, so that `grep` finds a rule id or a path
        // whole, and the rendering is the same on every machine.
        None => {
            table.set_content_arrangement(ContentArrangement::Disabled);
        }
    }
    HumanTable::new(table, header, width)
}
