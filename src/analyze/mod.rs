//! One report, from bytes to a classified crash, and the record of what became of one input.
//!
//! [`Analyzer::analyze`] parses, names the unnamed frames (`--symbols`, the system's AGX bundles,
//! `atos`), then classifies: classification runs after symbolication, so a frame named here can
//! match a rule. [`Analysis`] is what every command hands to its writers: the input's name and
//! either the report with its classification, or why there is none. [`pipeline`] runs analyses
//! on all cores, in input order.

pub mod pipeline;

use std::path::PathBuf;

use serde::Serialize;

use crate::classify::{self, Classification, RuleSet};
use crate::report::{self, ParseError, Report, ReportKind};
use crate::symbols::{SymbolIndex, atos};

/// What turns a report's bytes into a classified crash: the rules, and the sources of symbols that
/// name unnamed frames first. A command makes one and shares it with every worker.
pub struct Analyzer {
    /// The rules classification tries, in order: the `--rules` files first, then the built-in
    /// rules.
    pub rules: RuleSet,
    /// The symbol files found under `--symbols` and in the system's AGX driver bundles; `None` when
    /// there are neither.
    pub symbols: Option<SymbolIndex>,
    /// `atos` and the running OS build, when both are there (macOS).
    pub atos: Option<(PathBuf, String)>,
    /// The frames read of each report: all of them ([`Analyzer::new`]), or what classification
    /// reads ([`Analyzer::skimming`]).
    pub frames: report::Frames,
}

/// A report and its classification (none for reports that are not crashes).
#[derive(Debug, Clone)]
pub struct Analyzed {
    /// The report as parsed, its frames named by the symbols found.
    pub report: Report,
    /// The rule that matched (`unmatched` when none did), the signature and the facts read; `None`
    /// exactly when the report is not a crash.
    pub classification: Option<Classification>,
}

impl Analyzer {
    /// An analyzer with `rules` and `symbols`; `atos` is used as well when it is on the `PATH` and
    /// `sw_vers` gives the running OS build (that is, on macOS).
    pub fn new(rules: RuleSet, symbols: Option<SymbolIndex>) -> Analyzer {
        let atos = atos::which("atos").zip(atos::system_build());
        Analyzer {
            rules,
            symbols,
            atos,
            frames: report::Frames::All,
        }
    }

    /// This analyzer, reading of each report's threads only what classification reads: the
    /// crashed thread's frames and those of the threads in the GPU stack
    /// ([`classify::SKIM`]). For commands that show the classification and not the
    /// report (`classify`): the analyses are those of [`Analyzer::new`] but for the other
    /// threads' frames, and the warnings about them.
    pub fn skimming(self) -> Analyzer {
        Analyzer {
            frames: report::Frames::Skim(classify::SKIM),
            ..self
        }
    }

    /// Parses `bytes` and returns the report with its classification.
    pub fn analyze(&self, bytes: &[u8]) -> Result<Analyzed, ParseError> {
        let mut report = report::parse_with(bytes, self.frames)?;
        self.symbolicate(&mut report);
        Ok(self.classify(report))
    }

    /// Classifies a report already read (and symbolicated).
    pub fn classify(&self, report: Report) -> Analyzed {
        let classification = classify::classify(&report, &self.rules);
        Analyzed {
            report,
            classification,
        }
    }

    /// Names what can be named; returns how many frames were named.
    pub fn symbolicate(&self, report: &mut Report) -> usize {
        let mut named = 0;
        if let Some(index) = &self.symbols {
            named += index.symbolicate(report);
        }
        if let Some((path, build)) = &self.atos {
            named += atos::symbolicate(report, path, build);
        }
        named
    }
}

/// What became of one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Status {
    /// A crash report, read and classified.
    Crash,
    /// Another kind of report (panic, jetsam, resource report, non-fatal fault) or no report at all
    /// (a spindump, an lldb backtrace, a fragment): an answer, not an error.
    NotACrash,
    /// The input could not be read, or is an incomplete report (cut short, or still being written).
    Error,
}

impl Status {
    /// The name the JSON `status` field and the human table use: `crash`, `not-a-crash`, `error`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Crash => "crash",
            Status::NotACrash => "not-a-crash",
            Status::Error => "error",
        }
    }
}

/// One input: its name, and its report with the classification, or why there is none.
pub struct Analysis {
    /// The input as named (a path, `-` for standard input).
    pub path: String,
    /// The report with its classification, or why the input gave none.
    pub result: Result<Analyzed, AnalysisError>,
    /// The SHA-256 of the bytes read (lower-case hex), when the command asked for it
    /// ([`pipeline::for_each`] with `digest`: a `--history` records each crash's): hashed by the
    /// worker that read them, so that the file is not read again.
    pub sha256: Option<String>,
}

/// An input that produced no report. Its message is the JSON `reason`.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// The bytes were read but hold no whole report: another kind of input
    /// (`ParseError::NotAReport`, status `not-a-crash`) or an incomplete report (status `error`).
    #[error(transparent)]
    Parse(ParseError),
    /// The input could not be read; the message names the path and the cause.
    #[error("{0}")]
    Read(String),
}

impl Analysis {
    /// What became of the input, as the JSON `status` field says it.
    pub fn status(&self) -> Status {
        match &self.result {
            Ok(a) if a.report.kind.is_crash() => Status::Crash,
            Ok(_) => Status::NotACrash,
            Err(AnalysisError::Parse(e)) if e.is_not_a_report() => Status::NotACrash,
            Err(_) => Status::Error,
        }
    }

    /// Why the input is not a crash, or why it failed.
    pub fn reason(&self) -> Option<String> {
        match &self.result {
            Ok(a) if !a.report.kind.is_crash() => Some(non_crash_reason(&a.report)),
            Ok(_) => None,
            Err(e) => Some(e.to_string()),
        }
    }

    /// The report, when one was read.
    pub fn report(&self) -> Option<&Report> {
        self.result.as_ref().ok().map(|a| &a.report)
    }

    /// The report and its classification, for a crash.
    pub fn crash(&self) -> Option<(&Report, &Classification)> {
        let a = self.result.as_ref().ok()?;
        Some((&a.report, a.classification.as_ref()?))
    }
}

/// `not a crash report: bug_type 298 (JetsamEvent) is a jetsam (memory pressure) report, ...`.
pub fn non_crash_reason(report: &Report) -> String {
    let bug_type = match (&report.bug_type, &report.bug_type_name) {
        (Some(bt), Some(name)) => format!("bug_type {bt} ({name})"),
        (Some(bt), None) => format!("bug_type {bt}"),
        _ => "this report".into(),
    };
    let what = match report.kind {
        ReportKind::NonFatal => "a non-fatal fault report: the process kept running",
        ReportKind::Panic => "a kernel panic report, not a process crash",
        ReportKind::Jetsam => "a jetsam (memory pressure) report, not a crash of one process",
        ReportKind::Stackshot => "a stackshot of the system, not a crash",
        ReportKind::Resource => "a resource-use report; the process was not killed for it",
        ReportKind::Hang => "a hang report, not a crash",
        ReportKind::Other | ReportKind::Crash => "a diagnostic report that is not a crash",
    };
    match &report.summary {
        Some(summary) if !summary.is_empty() => {
            format!("not a crash report: {bug_type} is {what} ({summary})")
        }
        _ => format!("not a crash report: {bug_type} is {what}"),
    }
}

/// How many inputs were crashes, not crashes, errors.
#[derive(Serialize, Default, Debug, Clone, Copy)]
pub struct Summary {
    /// Inputs processed, whatever became of them.
    pub inputs: u64,
    /// Inputs that were crash reports.
    pub crashes: u64,
    /// Inputs that were another kind of report, or no report at all (status `not-a-crash`).
    pub not_a_crash: u64,
    /// Inputs that could not be read or were incomplete reports (status `error`): any makes
    /// `classify` exit 1.
    pub errors: u64,
}

impl Summary {
    /// Counts one input whose status is `status`.
    pub fn add(&mut self, status: Status) {
        self.inputs += 1;
        match status {
            Status::Crash => self.crashes += 1,
            Status::NotACrash => self.not_a_crash += 1,
            Status::Error => self.errors += 1,
        }
    }
}
