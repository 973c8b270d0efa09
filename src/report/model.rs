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
    /// Whether this is a process crash. Only [`ReportKind::Crash`] is: a non-fatal fault left
    /// the process running, and the other kinds are not the crash of one process.
    pub fn is_crash(self) -> bool {
        self == ReportKind::Crash
    }

    /// The kind's name as the JSON output spells it (`crash`, `non-fatal`, `jetsam`).
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
    Embedded {
        /// The 1-based line of the input where the report starts.
        line: u64,
    },
}

/// The process the report is about: the one that crashed, for a crash report.
///
/// Every JSON document writes a process as this one object (docs/json.md, `process` in
/// docs/schema/common.schema.json): a report's `process`, a campaign run's `crashes[].process`,
/// an inventory entry's `peek.process`. What a source does not say is `null` (an inventory's peek
/// knows only the name), so that a reader finds the same fields wherever a process is written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "ProcessJson", from = "ProcessJson")]
pub struct Process {
    /// The process name: `procName` in `.ips` bodies (else the header's `name` or `app_name`),
    /// the name in `Process: python3.12 [4242]` (or `Command:`) in text reports.
    pub name: Option<String>,
    /// The process id: `pid` in `.ips`, the bracketed number of `Process:` (or a `PID:` line) in
    /// text.
    pub pid: Option<u64>,
    /// The executable's path (`procPath`, `Path:`), with the privacy placeholders Apple writes
    /// into it (`/Users/USER/*/multithread-test`).
    pub path: Option<String>,
    /// The bundle identifier: `bundleInfo.CFBundleIdentifier` (else the header's `bundleID`) in
    /// `.ips`, which plain executables do not have; `Identifier:` in text, where a plain
    /// executable's name stands in.
    pub identifier: Option<String>,
    /// The program's version: `bundleInfo.CFBundleShortVersionString` (else the header's
    /// `app_version` when not empty) in `.ips`; `Version:` as written in text (`1.0 (1)`, `???`).
    pub version: Option<String>,
    /// The parent process's name (`parentProc`, `Parent Process:`): `zsh`, `launchd`.
    pub parent_name: Option<String>,
    /// The parent process's id (`parentPid`, the bracketed number of `Parent Process:`).
    pub parent_pid: Option<u64>,
    /// The process macOS holds responsible for this one (`responsibleProc`, `Responsible:`):
    /// the app that launched a helper, `Terminal` for a command started in a terminal.
    pub responsible_name: Option<String>,
    /// The responsible process's id (`responsiblePid`, the bracketed number of `Responsible:`).
    pub responsible_pid: Option<u64>,
    /// The numeric user id the process ran as (`userID`, `User ID:`).
    pub user_id: Option<u64>,
    /// The process's CPU type: `cpuType` in `.ips` (`ARM-64`, `X86-64`), the first word of
    /// `Code Type:` in text.
    pub cpu_type: Option<String>,
    /// Running under Rosetta.
    pub translated: Option<bool>,
    /// When the process started (`procLaunch`, `Launch Time:`), with the report's UTC offset.
    pub launch_time: Option<DateTime<FixedOffset>>,
}

impl Process {
    /// A process known only by its name (what the head of a report file gives).
    pub fn named(name: String) -> Process {
        Process {
            name: Some(name),
            ..Process::default()
        }
    }
}

/// [`Process`] as JSON writes it: the parent and the responsible process as `{name, pid}`
/// objects, the launch time as RFC 3339.
#[derive(Serialize, Deserialize)]
struct ProcessJson {
    name: Option<String>,
    pid: Option<u64>,
    path: Option<String>,
    identifier: Option<String>,
    version: Option<String>,
    parent: Option<NamePid>,
    responsible: Option<NamePid>,
    user_id: Option<u64>,
    cpu_type: Option<String>,
    translated: Option<bool>,
    launch_time: Option<String>,
}

/// Another process a report names (the parent, the responsible one): `null` in JSON when the
/// report gives neither its name nor its pid.
#[derive(Serialize, Deserialize)]
struct NamePid {
    name: Option<String>,
    pid: Option<u64>,
}

impl NamePid {
    fn of(name: Option<String>, pid: Option<u64>) -> Option<NamePid> {
        (name.is_some() || pid.is_some()).then_some(NamePid { name, pid })
    }
}

impl From<Process> for ProcessJson {
    fn from(p: Process) -> Self {
        ProcessJson {
            name: p.name,
            pid: p.pid,
            path: p.path,
            identifier: p.identifier,
            version: p.version,
            parent: NamePid::of(p.parent_name, p.parent_pid),
            responsible: NamePid::of(p.responsible_name, p.responsible_pid),
            user_id: p.user_id,
            cpu_type: p.cpu_type,
            translated: p.translated,
            launch_time: p.launch_time.map(|t| t.to_rfc3339()),
        }
    }
}

impl From<ProcessJson> for Process {
    fn from(p: ProcessJson) -> Self {
        let (parent_name, parent_pid) = p.parent.map_or((None, None), |n| (n.name, n.pid));
        let (responsible_name, responsible_pid) =
            p.responsible.map_or((None, None), |n| (n.name, n.pid));
        Process {
            name: p.name,
            pid: p.pid,
            path: p.path,
            identifier: p.identifier,
            version: p.version,
            parent_name,
            parent_pid,
            responsible_name,
            responsible_pid,
            user_id: p.user_id,
            cpu_type: p.cpu_type,
            translated: p.translated,
            // Written by to_rfc3339 above; a record edited by hand may hold anything, which is
            // read as unknown rather than refusing the whole record.
            launch_time: p
                .launch_time
                .and_then(|t| DateTime::parse_from_rfc3339(&t).ok()),
        }
    }
}

/// The operating system that wrote the report: `osVersion` in `.ips` bodies, completed from the
/// header's `os_version` string (`macOS 15.6.1 (24G90)`); `OS Version:` in text reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct OsVersion {
    /// `macOS 15.6.1`, `iPhone OS 16.0`, `Mac OS X 10.11.3`.
    pub train: Option<String>,
    /// `24G90`.
    pub build: Option<String>,
    /// `User` or `Beta` (`osVersion.releaseType`, a `Release Type:` line in text); most text
    /// reports do not say. An empty `releaseType` is read as absent.
    pub release_type: Option<String>,
}

/// The exception the process died of: `exception` in `.ips` bodies; the `Exception Type:`,
/// `Exception Codes:` and `Exception Subtype:` lines in text reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Exception {
    /// Mach exception type: `EXC_BAD_ACCESS`, `EXC_CRASH`, ...; a bare signal name in
    /// PLCrashReporter-style reports.
    pub r#type: Option<String>,
    /// The BSD signal the exception was delivered as (`SIGSEGV`, `SIGABRT`): `exception.signal`,
    /// or the parenthesised name in `Exception Type: EXC_BAD_ACCESS (SIGSEGV)`.
    pub signal: Option<String>,
    /// `KERN_INVALID_ADDRESS at 0x0000000000000098`.
    pub subtype: Option<String>,
    /// The exception codes as the report prints them (`0x0000000000000001,
    /// 0x0000000000000098`): `exception.codes`, or the numeric `Exception Codes:` line in text.
    pub codes: Option<String>,
    /// The same codes as numbers (`rawCodes` in `.ips`; parsed from the numeric `Exception
    /// Codes:` line in text). For `EXC_BAD_ACCESS` the second is the faulting address.
    pub raw_codes: Vec<u64>,
    /// A note on the exception: `exception.message` in `.ips`; in text, `Exception Message:` or
    /// `Exception Reason:`, or a parenthesised note that is not a signal name
    /// (`EXC_BAD_ACCESS (Code Signature Invalid)`).
    pub message: Option<String>,
    /// The faulting data address: the `far`/`cr2` register when present, else the address in the
    /// subtype or codes. Only set for memory-access exceptions.
    pub address: Option<u64>,
    /// Set when the kernel flagged a possible pointer-authentication failure.
    pub pac_failure: bool,
}

/// How the process was ended: `termination` in `.ips` bodies; the `Termination Reason:` and
/// `Terminating Process:` lines in text reports.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Termination {
    /// Which subsystem ended the process: `SIGNAL`, `DYLD`, `CODESIGNING`, `SPRINGBOARD`, ...
    pub namespace: Option<String>,
    /// The namespace's code: the signal number for `SIGNAL` (11 for `SIGSEGV`), `0x8badf00d`
    /// for a watchdog kill in `SPRINGBOARD`.
    pub code: Option<u64>,
    /// The code in words: `Segmentation fault: 11`, `Abort trap: 6`, `Library missing`. In text,
    /// what follows the namespace and code on the `Termination Reason:` line (the whole line
    /// when it has neither), or the older reports' `Termination Signal:` line.
    pub indicator: Option<String>,
    /// The process that ended it (`byProc`, the name of `Terminating Process:`): `exc handler`
    /// for a hardware fault.
    pub by_proc: Option<String>,
    /// That process's id (`byPid`, the bracketed number of `Terminating Process:`).
    pub by_pid: Option<u64>,
    /// `termination.reasons` (`.ips` only): dyld's explanation of a launch failure,
    /// `Library not loaded: ...`, `Referenced from: ...`, `Reason: tried: ...`.
    pub reasons: Vec<String>,
    /// `termination.details` (`.ips` only): notes such as `(terminated at launch; ignore
    /// backtrace)`.
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

/// One Application Specific Information message and the image that wrote it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AppMessage {
    /// The image that wrote it, the key of `asi` in `.ips` (`libsystem_c.dylib`); empty for
    /// text reports, which do not say.
    pub image: String,
    /// The message (`abort() called`): one string of the `asi` array, or one line of the text
    /// section.
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

/// One frame of a backtrace (a thread's, or the Last Exception Backtrace). Frame 0 of a thread
/// is where it stopped; the frames under it hold return addresses, which point just after the
/// call.
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
    /// The function's name (`symbol` in `.ips`, the text before `+ N` in text), demangled as
    /// the report or the symbolicator wrote it:
    /// `-[AGXG16XFamilyComputeContext setComputePipelineState:]`,
    /// `AGX::ComputeContext<...>::prepareForEnqueue(bool)`. Apple may cut a name at 100
    /// characters. `None` when nobody named the frame.
    pub symbol: Option<String>,
    /// Byte offset of the address into the function (`symbolLocation`, the "+ N" in text).
    pub symbol_offset: Option<u64>,
    /// Offset of the address from the image's load address.
    pub image_offset: Option<u64>,
    /// Absolute address (image base + image offset).
    pub address: Option<u64>,
    /// A synthetic frame for an inlined function; it shares the address of the next frame.
    pub inline: bool,
    /// The source file of the address, when debug information named it (`sourceFile`, the
    /// `(file.cpp:31)` of a text frame).
    pub source_file: Option<String>,
    /// The line in [`Frame::source_file`] (`sourceLine`).
    pub source_line: Option<u64>,
    /// Who named the frame: the report itself, or crashdelta and with what.
    pub symbolicated_by: SymbolSource,
    /// For frames crashdelta named: the symbol file (or `atos` command) it used.
    pub symbol_file: Option<String>,
}

impl Frame {
    /// A frame of which nothing is known yet: no image, symbol or address, named by nobody.
    pub fn unknown() -> Frame {
        Frame {
            number: None,
            image_index: None,
            image: None,
            symbol: None,
            symbol_offset: None,
            image_offset: None,
            address: None,
            inline: false,
            source_file: None,
            source_line: None,
            symbolicated_by: SymbolSource::None,
            symbol_file: None,
        }
    }

    /// The frame's number as the report printed it, or `position` (its place in its list) when
    /// the report numbers none.
    pub fn number_or(&self, position: usize) -> usize {
        self.number
            .map_or(position, |n| usize::try_from(n).unwrap_or(usize::MAX))
    }
}

/// One register of the crashed thread's state.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Register {
    /// The register's name as the report writes it: `x0` to `x28`, `fp`, `lr`, `sp`, `pc`,
    /// `cpsr`, `far`, `esr` on arm64 (the `.ips` array `x` is numbered here); `rip`, `rsp`,
    /// `cr2`, ... on x86.
    pub name: String,
    /// The value. A `u64`: PAC-signed pointers in `lr` and the `x` registers exceed `i64::MAX`.
    pub value: u64,
    /// The symbol the register value points into, as the report says. Never evidence of where
    /// the crash happened: registers hold pointers to whatever classes were nearby.
    pub symbol: Option<String>,
    /// The report's explanation of the value: `description` in `.ips`, the text after `esr:` in
    /// text (`(Data Abort) byte write Translation fault`).
    pub description: Option<String>,
}

/// A thread's registers when it stopped: `threadState` in `.ips` (at the top level of version 1
/// bodies), the `Thread N crashed with ARM Thread State (64-bit):` section in text.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct ThreadState {
    /// The state's flavour: `ARM_THREAD_STATE64`, `x86_THREAD_STATE` in `.ips`; the section's
    /// own words in text (`ARM Thread State (64-bit)`).
    pub flavor: Option<String>,
    /// The registers in the report's order.
    pub registers: Vec<Register>,
}

/// One thread of the report and its backtrace.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Thread {
    /// Position in the report's thread list (what "Thread N" means in text).
    pub index: usize,
    /// Kernel thread id (JSON `id`); not an index.
    pub id: Option<u64>,
    /// The thread's name (`name`; `Thread N name:`, or what follows `Thread N::` that is not a
    /// queue, in text): `Thread-12 (mlx_worker)`.
    pub name: Option<String>,
    /// The dispatch queue the thread was running (`queue`; `Dispatch queue:` in text):
    /// `com.apple.main-thread`, `metal gpu stream 12`.
    pub queue: Option<String>,
    /// Whether the report marks this thread as the one that crashed: `triggered: true` in
    /// `.ips`, `Thread N Crashed:` in text (where the thread named by `Crashed Thread:` is also
    /// marked). [`Report::crashed_thread`] is the authority.
    pub triggered: bool,
    /// The backtrace, innermost frame first. Empty in some real reports (dyld launch failures),
    /// in pastes cut short, and when [`frames_skipped`](Self::frames_skipped).
    pub frames: Vec<Frame>,
    /// The thread's frames were left unread: the report was read with [`Frames::Skim`](super::Frames::Skim) and
    /// the thread did not crash and had no frame the skim asked for.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub frames_skipped: bool,
    /// The registers, for the crashed thread only. Text reports print only the crashed thread's;
    /// some `.ips` bodies carry every thread's (testdata has such reports from macOS 15.2 and
    /// iOS 18.5), and the others are not read: nothing uses them, and they cost as much to read
    /// as the rest of the report.
    pub state: Option<ThreadState>,
}

/// One binary image loaded in the process: an entry of `usedImages` in `.ips`, a line of
/// `Binary Images:` in text.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Image {
    /// The image's name: `name` in `.ips` (else the last component of its path), the column
    /// after the address range in text (`AGXMetalG16X`, `libsystem_c.dylib`; older macOS text
    /// reports name bundles by identifier, `com.apple.AGXMetalG16X`).
    pub name: Option<String>,
    /// Where the image was loaded from (`path`, the last column in text), with Apple's privacy
    /// placeholders; `None` when the report prints `???`.
    pub path: Option<String>,
    /// Lower-case hyphenated UUID.
    pub uuid: Option<String>,
    /// The load address (`base`, the start of the range in text): a frame's address is `base` +
    /// [`Frame::image_offset`].
    pub base: Option<u64>,
    /// The size in bytes (`size`; in text, end − start + 1 when the printed end is the last
    /// byte, end − start when it is the page-aligned first byte after the image, as the
    /// translated reports of macOS 12 and later print it).
    pub size: Option<u64>,
    /// The architecture slice (`arm64e`, `arm64`, `x86_64`): `arch` in `.ips`, a column after
    /// the name in some text reports.
    pub arch: Option<String>,
    /// `CFBundleIdentifier` of a bundle (`com.apple.AGXMetalG16X`); `.ips` only, and only on
    /// bundles.
    pub bundle_id: Option<String>,
    /// CFBundleShortVersionString (`327.5` for an AGX driver).
    pub bundle_version: Option<String>,
    /// CFBundleVersion.
    pub bundle_build: Option<String>,
    /// `P` process, `S`/`C` shared cache, `K` kernel, `A` absolute...
    pub source: Option<String>,
}

impl Image {
    /// The last component of the image's path (`libsystem_kernel.dylib` for
    /// `/usr/lib/system/libsystem_kernel.dylib`); `None` without a path, or when it ends in `/`.
    pub fn file_name(&self) -> Option<&str> {
        self.path
            .as_deref()?
            .rsplit('/')
            .next()
            .filter(|n| !n.is_empty())
    }
}

/// Something odd the parser met and got past; the report is still usable.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Warning {
    /// Where: a JSON path (`threads[3].frames[0].imageIndex`) or `line N`.
    pub at: String,
    /// What was odd and what the parser made of it, as a sentence for the user.
    pub message: String,
}

/// Where a report that was cut short ends (a paste that stopped, a copy of part of a file).
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
    /// The format the report was read from.
    pub format: SourceFormat,
    /// What the report was found in.
    pub container: Container,
    /// What kind of report this is: from `bug_type` and `isNonFatal`/`isSimulated`; legacy text
    /// reports are crashes.
    pub kind: ReportKind,
    /// `bug_type` as written (a string: some types are not numbers).
    pub bug_type: Option<String>,
    /// Apple's name for the bug type (`Crash`, `OSFault`, `SymptomsIO`).
    pub bug_type_name: Option<String>,
    /// The report's own id, an upper-case UUID in real reports: `incident` in the body, else the
    /// header's `incident_id`; `Incident Identifier:` in text, which macOS text reports do not
    /// have. Apple: "two reports never share the same identifier".
    pub incident_id: Option<String>,
    /// The process the report is about.
    pub process: Process,
    /// The operating system that wrote the report.
    pub os: OsVersion,
    /// The machine's model identifier (`MacBookPro18,2`): `modelCode` in `.ips` (`product` in
    /// panic and jetsam bodies), `Hardware Model:` or the System Profile's `Model:` in text.
    pub hardware_model: Option<String>,
    /// When the crash happened, in the reporting machine's local time and UTC offset:
    /// `captureTime` in `.ips` (else the header's `timestamp`, which is when the log was
    /// written), `Date/Time:` in text.
    pub capture_time: Option<DateTime<FixedOffset>>,
    /// The exception the process died of; `None` when the report names none (most non-crash
    /// kinds, pastes cut before the exception lines).
    pub exception: Option<Exception>,
    /// How the process was ended; `None` when the report does not say.
    pub termination: Option<Termination>,
    /// Application Specific Information; empty when the report has none.
    pub app_specific: AppSpecific,
    /// Index into [`Report::threads`] of the thread that crashed.
    pub crashed_thread: Option<usize>,
    /// The threads in the report's order (`threads`, the `Thread N:` sections).
    pub threads: Vec<Thread>,
    /// The backtrace of an uncaught exception (`lastExceptionBacktrace`), when present.
    pub last_exception_backtrace: Vec<Frame>,
    /// The binary images (`usedImages`, `Binary Images:`) in the report's order; frames point
    /// here by [`Frame::image_index`]. Some reports list only the images their backtraces use:
    /// an image missing here may still have been loaded.
    pub images: Vec<Image>,
    /// What the parser (and later symbolication) met and got past; empty for a clean report.
    pub warnings: Vec<Warning>,
    /// Set when a report stops before its end: what is missing is unknown, not absent. A text
    /// report is cut before its threads, or within them; a `.ips` body is read only when it is
    /// cut after the crashed thread's frames (else the report is incomplete).
    pub cut: Option<Cut>,
    /// Set when the report's body could not be read at all (not valid JSON, though not cut
    /// short), so only its header was: what crashed, and where, is unknown. The gate treats such
    /// a crash as unreadable (it may be the AGX race), not as an "other" crash.
    pub damaged: Option<String>,
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
    /// Where a `.ips` body that was cut short, and read as far as it goes, ends: the cut that
    /// may have taken the images of the frames read (`usedImages` comes after the threads) and
    /// that a file still being written shows too. `None` for a whole report and for text.
    pub fn body_cut(&self) -> Option<&Cut> {
        self.cut
            .as_ref()
            .filter(|_| matches!(self.format, SourceFormat::Ips | SourceFormat::IpsBodyOnly))
    }

    /// The thread that crashed; `None` when the report names none or lacks it (a cut paste).
    pub fn crashed(&self) -> Option<&Thread> {
        self.threads.get(self.crashed_thread?)
    }

    /// The image `frame` is in, when its [`Frame::image_index`] is known.
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
