//! The typed report: one model for every source format (JSON `.ips`, legacy text, composites).
//!
//! Every field is optional because every field is missing from some real report: Apple documents
//! the body keys as ones a report "can contain", truncated pastes lose whole sections, and the
//! legacy formats never had some of them. Numbers that are addresses are `u64`: arm64 pointers
//! with PAC bits and kernel addresses exceed `i64::MAX`.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// Which kind of report this is. Only [`ReportKind::Crash`] is a process crash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReportKind {
    /// A process crash (bug_type 309, 409, 509; legacy 109 and 9; legacy text crash reports).
    Crash,
    /// A non-fatal fault with a crash-shaped body (bug_type 308 `ExcUserFault`, or a 309 with
    /// `isNonFatal`/`isSimulated`): the process kept running.
    NonFatal,
    /// A kernel panic (210, 110, 10, 151 ForceReset, 410).
    Panic,
    /// A memory-pressure kill record (298, 198, 98): no backtrace of one crash.
    Jetsam,
    /// A stackshot of the whole system (288 and other microstackshot types).
    Stackshot,
    /// A resource-use report (CPU, disk writes, wakeups, threads: 145, 202, 206, 385, 327, ...).
    Resource,
    /// A hang or spin report.
    Hang,
    /// Any other bug type, named by [`Report::bug_type_name`].
    Other,
}

impl ReportKind {
    pub fn is_crash(self) -> bool {
        self == ReportKind::Crash
    }

    pub fn as_str(self) -> &'static str {
        match self {
            ReportKind::Crash => "crash",
            ReportKind::NonFatal => "non-fatal",
            ReportKind::Panic => "panic",
            ReportKind::Jetsam => "jetsam",
            ReportKind::Stackshot => "stackshot",
            ReportKind::Resource => "resource",
            ReportKind::Hang => "hang",
            ReportKind::Other => "other",
        }
    }
}

/// The format the report was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SourceFormat {
    /// JSON header line + JSON body (macOS 12+).
    Ips,
    /// A JSON body without its header line (the header was synthesised from the body).
    IpsBodyOnly,
    /// A JSON header line followed by a plain-text report (bug_type 109, 145, 202, ...).
    IpsHeaderWithText,
    /// A legacy plain-text report (`.crash`, Console's "Translated Report").
    Text,
}

/// What the report was wrapped in, when it was not the whole input.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "type")]
pub enum Container {
    /// The input is the report.
    Plain,
    /// Console's "Translated Report (Full Report Below)" + "Full Report" composite; the JSON part
    /// was read.
    TranslatedComposite,
    /// The report sits inside other text (a Markdown code fence, an issue, a log); `line` is the
    /// 1-based line where it starts.
    Embedded { line: u64 },
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Process {
    pub name: Option<String>,
    pub pid: Option<u64>,
    pub path: Option<String>,
    pub identifier: Option<String>,
    pub version: Option<String>,
    pub parent_name: Option<String>,
    pub parent_pid: Option<u64>,
    pub responsible_name: Option<String>,
    pub responsible_pid: Option<u64>,
    pub user_id: Option<u64>,
    pub cpu_type: Option<String>,
    /// Running under Rosetta.
    pub translated: Option<bool>,
    pub launch_time: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OsVersion {
    /// `macOS 15.6.1`, `iPhone OS 16.0`, `Mac OS X 10.11.3`.
    pub train: Option<String>,
    /// `24G90`.
    pub build: Option<String>,
    pub release_type: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Exception {
    /// Mach exception type: `EXC_BAD_ACCESS`, `EXC_CRASH`, ...; a bare signal name in
    /// PLCrashReporter-style reports.
    pub r#type: Option<String>,
    pub signal: Option<String>,
    /// `KERN_INVALID_ADDRESS at 0x0000000000000098`.
    pub subtype: Option<String>,
    pub codes: Option<String>,
    pub raw_codes: Vec<u64>,
    pub message: Option<String>,
    /// The faulting data address: the `far`/`cr2` register when present, else the address in the
    /// subtype or codes. Only set for memory-access exceptions.
    pub address: Option<u64>,
    /// Set when the kernel flagged a possible pointer-authentication failure.
    pub pac_failure: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Termination {
    pub namespace: Option<String>,
    pub code: Option<u64>,
    pub indicator: Option<String>,
    pub by_proc: Option<String>,
    pub by_pid: Option<u64>,
    pub reasons: Vec<String>,
    pub details: Vec<String>,
}

/// Messages a library left for the crash report (`asi`, "Application Specific Information").
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct AppSpecific {
    /// Messages by the image that wrote them (`libsystem_c.dylib: abort() called`); text
    /// reports, which do not say who wrote a line, use an empty image name.
    pub messages: Vec<AppMessage>,
    /// The reason of an uncaught exception: `exceptionReason` in `.ips` bodies, or the
    /// `reason: '...'` of `*** Terminating app due to uncaught exception` (Objective-C) and the
    /// message of `terminating due to uncaught exception of type ...: ...` (C++) in the messages.
    pub exception_reason: Option<String>,
    /// The uncaught exception's class: `NSRangeException`, `std::runtime_error`, `c10::Error`.
    pub exception_name: Option<String>,
    /// The text of a failed assertion found in the messages (`A command encoder is already
    /// encoding to this command buffer`).
    pub assertion: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AppMessage {
    pub image: String,
    pub text: String,
}

/// How a frame's symbol name was obtained.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SymbolSource {
    /// The report carried it.
    Report,
    /// crashdelta named it from a symbol file whose UUID matches (`--symbols`).
    Symbols,
    /// crashdelta named it with `atos`, on the OS build that wrote the report.
    Atos,
    /// Nobody named the frame.
    None,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Frame {
    /// The frame's number as a text report printed it. Text pastes skip frames (`...`) and
    /// renumbering would make frame 40 read as frame 6; `.ips` frames have no number of their
    /// own (their position is it).
    pub number: Option<u64>,
    /// Index into [`Report::images`], when the frame's image is known.
    pub image_index: Option<usize>,
    /// Image name as the report spells it (`AGXMetalG16X`, `libsystem_c.dylib`).
    pub image: Option<String>,
    pub symbol: Option<String>,
    /// Byte offset of the address into the function (`symbolLocation`, the "+ N" in text).
    pub symbol_offset: Option<u64>,
    /// Offset of the address from the image's load address.
    pub image_offset: Option<u64>,
    /// Absolute address (image base + image offset).
    pub address: Option<u64>,
    /// A synthetic frame for an inlined function; it shares the address of the next frame.
    pub inline: bool,
    pub source_file: Option<String>,
    pub source_line: Option<u64>,
    pub symbolicated_by: SymbolSource,
    /// For frames crashdelta named: the symbol file (or `atos` command) it used.
    pub symbol_file: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Register {
    pub name: String,
    pub value: u64,
    /// The symbol the register value points into, as the report says. Never evidence of where
    /// the crash happened: registers hold pointers to whatever classes were nearby.
    pub symbol: Option<String>,
    pub description: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ThreadState {
    pub flavor: Option<String>,
    pub registers: Vec<Register>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Thread {
    /// Position in the report's thread list (what "Thread N" means in text).
    pub index: usize,
    /// Kernel thread id (JSON `id`); not an index.
    pub id: Option<u64>,
    pub name: Option<String>,
    pub queue: Option<String>,
    pub triggered: bool,
    pub frames: Vec<Frame>,
    /// The registers, for the crashed thread only. Text reports print only the crashed thread's;
    /// some `.ips` bodies carry every thread's (testdata has such reports from macOS 15.2 and
    /// iOS 18.5), and the others are not read: nothing uses them, and they cost as much to read
    /// as the rest of the report.
    pub state: Option<ThreadState>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Image {
    pub name: Option<String>,
    pub path: Option<String>,
    /// Lower-case hyphenated UUID.
    pub uuid: Option<String>,
    pub base: Option<u64>,
    pub size: Option<u64>,
    pub arch: Option<String>,
    pub bundle_id: Option<String>,
    /// CFBundleShortVersionString (`327.5` for an AGX driver).
    pub bundle_version: Option<String>,
    /// CFBundleVersion.
    pub bundle_build: Option<String>,
    /// `P` process, `S`/`C` shared cache, `K` kernel, `A` absolute...
    pub source: Option<String>,
}

/// Something odd the parser met and got past; the report is still usable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// Where: a JSON path (`threads[3].frames[0].imageIndex`) or `line N`.
    pub at: String,
    pub message: String,
}

/// Where a text report that was cut short ends (a paste that stopped, a copy of part of a file).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Cut {
    /// The last line of the input that held part of the report (1-based).
    pub line: u64,
    /// What that line was: `the \`Termination Reason:\` line`, `frame 12 of thread 3`.
    pub after: String,
}

impl std::fmt::Display for Cut {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(
            f,
            "the text ends at line {}, after {}",
            self.line, self.after
        )
    }
}

/// One report, whatever format it came from.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Report {
    pub format: SourceFormat,
    pub container: Container,
    pub kind: ReportKind,
    /// `bug_type` as written (a string: some types are not numbers).
    pub bug_type: Option<String>,
    /// Apple's name for the bug type (`Crash`, `OSFault`, `SymptomsIO`).
    pub bug_type_name: Option<String>,
    pub incident_id: Option<String>,
    pub process: Process,
    pub os: OsVersion,
    pub hardware_model: Option<String>,
    pub capture_time: Option<DateTime<FixedOffset>>,
    pub exception: Option<Exception>,
    pub termination: Option<Termination>,
    pub app_specific: AppSpecific,
    /// Index into [`Report::threads`] of the thread that crashed.
    pub crashed_thread: Option<usize>,
    pub threads: Vec<Thread>,
    /// The backtrace of an uncaught exception (`lastExceptionBacktrace`), when present.
    pub last_exception_backtrace: Vec<Frame>,
    pub images: Vec<Image>,
    pub warnings: Vec<Warning>,
    /// Set when a text report stops before its end: what is missing is unknown, not absent.
    pub cut: Option<Cut>,
    /// For non-crash kinds: a short description of what the report is about (the panic string,
    /// `Event: disk writes`), when the report has one.
    pub summary: Option<String>,
    /// Top-level body keys this model does not know, with their raw JSON text, in input order.
    /// Apple keeps adding keys (`exceptionReason`, `codeSigning*`, `bootSessionUUID`); they are
    /// kept so that nothing of the report is lost when it is written back out.
    #[serde(skip)]
    pub extra: Vec<(String, Box<str>)>,
}

impl Report {
    pub fn crashed(&self) -> Option<&Thread> {
        self.threads.get(self.crashed_thread?)
    }

    pub fn image(&self, frame: &Frame) -> Option<&Image> {
        self.images.get(frame.image_index?)
    }
}

/// What a frame's image is, as far as classification cares.
pub fn image_name_of<'a>(report: &'a Report, frame: &'a Frame) -> Option<&'a str> {
    frame
        .image
        .as_deref()
        .or_else(|| report.image(frame).and_then(|i| i.name.as_deref()))
}
