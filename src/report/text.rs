//! Legacy plain-text crash reports: `.crash` files from before macOS 12, iOS reports, the
//! "Translated Report" text Console shows and users paste, and PLCrashReporter's output.
//!
//! The format was never specified; it is read line by line. Header keys are column-aligned
//! (`Process:               multithread-test [22511]`) but copies often collapse the spaces, so
//! any run of whitespace after the colon is accepted.

use std::collections::HashMap;
use std::sync::LazyLock;

use regex::Regex;

use super::lenient::parse_u64_text;
use super::model::*;
use super::util::{Warnings, find_assertion, parse_os_version, parse_time};

static THREAD_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    // `Thread 0::  Dispatch queue: com.apple.main-thread` (macOS 12+, double colon),
    // `Thread 2 Crashed:`, `Thread 12 Crashed:: GS`, `Thread 11:`.
    re(r"^Thread\s+(\d+)(\s+Crashed)?\s*::?\s*(.*)$")
});
static THREAD_NAME: LazyLock<Regex> = LazyLock::new(|| re(r"^Thread\s+(\d+)\s+name:\s*(.*)$"));
static THREAD_STATE: LazyLock<Regex> =
    LazyLock::new(|| re(r"^Thread\s+(\d+)\s+crashed\s+with\s+(.*?)\s*:\s*$"));
/// `3   multithread-test   0x100ec5b3c main + 160 (multithread-test.cpp:31)`: index, image
/// (may contain spaces), address, then what is known about the address.
static FRAME: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\s*(\d+)\s+(.+?)\s+(0x[0-9a-fA-F]+)\s+(.*?)\s*$"));
static UNSYMBOLICATED: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(0x[0-9a-fA-F]+|\d+)\s+\+\s+(\d+)$"));
static SYMBOLICATED: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(.*?)\s+\+\s+(\d+)(?:\s+\(([^()]*)\))?(\s+\[inlined\])?$"));
static IMAGE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^\s*(0x[0-9a-fA-F]+)\s*-\s*(0x[0-9a-fA-F]+|\?\?\?)?\s+(.*?)\s*<([0-9a-fA-F-]{32,36})>\s*(.*?)\s*$",
    )
});
static NAME_PID: LazyLock<Regex> = LazyLock::new(|| re(r"^(.*?)\s*\[([^\]]*)\]\s*$"));
static REGISTER: LazyLock<Regex> =
    LazyLock::new(|| re(r"([A-Za-z][A-Za-z0-9]*):\s+(0x[0-9a-fA-F]+)"));
static HEADER_KEY: LazyLock<Regex> =
    LazyLock::new(|| re(r"^([A-Z][A-Za-z /]*[A-Za-z]):\s*(.*?)\s*$"));

fn re(pattern: &str) -> Regex {
    // The patterns are constants checked by the unit tests; an invalid one is a programming error
    // caught before release, never a reaction to input.
    Regex::new(pattern).unwrap_or_else(|e| panic!("invalid built-in pattern {pattern}: {e}"))
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Section {
    Header,
    AppSpecific,
    Thread,
    LastException,
    State,
    Images,
    Other,
}

/// Keys whose lines start a section that holds nothing for the model.
const SKIPPED_SECTIONS: &[&str] = &[
    "External Modification Summary",
    "VM Region Summary",
    "VM Region Info",
    "VM Regions Near",
    "System Profile",
    "Filtered syslog",
    "kernel messages",
    "Error Formulating Crash Report",
    "Application Specific Signatures",
    "Sharing & Improvements",
    "Writable regions",
    "REGION TYPE",
];

/// Reads a text report. `first_line` is the 0-based line of `text` in the whole input, for
/// warnings. The caller has established that a report starts here.
pub fn parse(text: &str, first_line: usize, container: Container) -> Report {
    let mut p = Parser::default();
    let mut line_no = first_line;
    for raw_line in text.lines() {
        line_no += 1;
        let line = raw_line.trim_end();
        if line.trim_start().starts_with("```") {
            // The end of a Markdown code fence around a pasted report.
            break;
        }
        if line.trim() == "Full Report" && p.last_was_rule {
            break;
        }
        p.last_was_rule = !line.is_empty() && line.chars().all(|c| c == '-');
        p.line(line, line_no);
    }
    p.finish(container)
}

#[derive(Default)]
struct Parser {
    section: Option<Section>,
    last_was_rule: bool,
    w: Warnings,
    process: Process,
    os: OsVersion,
    incident_id: Option<String>,
    hardware_model: Option<String>,
    capture_time: Option<chrono::DateTime<chrono::FixedOffset>>,
    exception: Exception,
    has_exception: bool,
    termination: Option<Termination>,
    messages: Vec<AppMessage>,
    crashed_number: Option<u64>,
    threads: Vec<Thread>,
    names: HashMap<u64, String>,
    states: HashMap<u64, ThreadState>,
    state_for: Option<u64>,
    leb: Vec<Frame>,
    images: Vec<Image>,
    saw_images: bool,
    header_keys: usize,
}

/// A frame before its image is resolved.
fn frame_from_line(caps: &regex::Captures) -> Option<(u64, Frame)> {
    let index = caps.get(1)?.as_str().parse().ok()?;
    let image = caps.get(2)?.as_str().trim().to_owned();
    let address = parse_u64_text(caps.get(3)?.as_str());
    let rest = caps.get(4).map_or("", |m| m.as_str());
    let mut frame = Frame {
        image_index: None,
        image: (image != "???").then_some(image),
        symbol: None,
        symbol_offset: None,
        image_offset: None,
        address,
        inline: false,
        source_file: None,
        source_line: None,
        symbolicated_by: SymbolSource::None,
        symbol_file: None,
    };
    if let Some(c) = UNSYMBOLICATED.captures(rest) {
        // `0x1fdbc0000 + 2103068`: image base + offset, no symbol.
        frame.image_offset = c.get(2).and_then(|m| m.as_str().parse().ok());
    } else if let Some(c) = SYMBOLICATED.captures(rest) {
        let symbol = c.get(1).map_or("", |m| m.as_str()).trim();
        if !symbol.is_empty() && symbol != "???" {
            frame.symbol = Some(symbol.to_owned());
            frame.symbolicated_by = SymbolSource::Report;
        }
        frame.symbol_offset = c.get(2).and_then(|m| m.as_str().parse().ok());
        if let Some(src) = c.get(3) {
            let src = src.as_str();
            // `file.swift:231` or `file.c:31:5`.
            let mut parts = src.splitn(3, ':');
            frame.source_file = parts.next().map(str::to_owned);
            frame.source_line = parts.next().and_then(|l| l.trim().parse().ok());
        }
        frame.inline = c.get(4).is_some();
    } else if !rest.is_empty() && rest != "???" {
        frame.symbol = Some(rest.to_owned());
        frame.symbolicated_by = SymbolSource::Report;
    }
    Some((index, frame))
}

impl Parser {
    fn line(&mut self, line: &str, line_no: usize) {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            // A blank line ends the short blocks; thread and image lists also end there.
            if matches!(
                self.section,
                Some(
                    Section::AppSpecific
                        | Section::State
                        | Section::Thread
                        | Section::LastException
                )
            ) {
                self.section = Some(Section::Header);
            }
            return;
        }
        if let Some(c) = THREAD_STATE.captures(trimmed) {
            let n = c.get(1).and_then(|m| m.as_str().parse().ok());
            self.state_for = n;
            if let Some(n) = n {
                self.states.insert(
                    n,
                    ThreadState {
                        flavor: c.get(2).map(|m| m.as_str().to_owned()),
                        registers: Vec::new(),
                    },
                );
            }
            self.section = Some(Section::State);
            return;
        }
        if let Some(c) = THREAD_NAME.captures(trimmed) {
            if let (Some(n), Some(name)) =
                (c.get(1).and_then(|m| m.as_str().parse().ok()), c.get(2))
            {
                self.names.insert(n, name.as_str().trim().to_owned());
            }
            return;
        }
        if let Some(c) = THREAD_HEADER.captures(trimmed) {
            let number: u64 = c
                .get(1)
                .and_then(|m| m.as_str().parse().ok())
                .unwrap_or_default();
            let crashed = c.get(2).is_some();
            let rest = c.get(3).map_or("", |m| m.as_str().trim());
            let mut thread = Thread {
                index: usize::try_from(number).unwrap_or(usize::MAX),
                triggered: crashed,
                ..Thread::default()
            };
            describe_thread(&mut thread, rest);
            if crashed && self.crashed_number.is_none() {
                self.crashed_number = Some(number);
            }
            self.threads.push(thread);
            self.section = Some(Section::Thread);
            return;
        }
        if trimmed.starts_with("Last Exception Backtrace")
            || trimmed.starts_with("Application Specific Backtrace")
        {
            self.section = Some(Section::LastException);
            return;
        }
        if trimmed.starts_with("Binary Images") {
            self.saw_images = true;
            self.section = Some(Section::Images);
            return;
        }
        if SKIPPED_SECTIONS.iter().any(|s| trimmed.starts_with(s)) {
            self.section = Some(Section::Other);
            return;
        }
        match self.section.unwrap_or(Section::Header) {
            Section::Thread | Section::LastException => {
                if let Some((_, frame)) = FRAME.captures(line).as_ref().and_then(frame_from_line) {
                    if self.section == Some(Section::Thread) {
                        if let Some(t) = self.threads.last_mut() {
                            t.frames.push(frame);
                        }
                    } else {
                        self.leb.push(frame);
                    }
                    return;
                }
                // Not a frame: perhaps the header resumes (pastes reorder sections).
                self.header_line(trimmed, line_no);
            }
            Section::State => {
                let registers = &mut self
                    .states
                    .entry(self.state_for.unwrap_or(u64::MAX))
                    .or_default()
                    .registers;
                for c in REGISTER.captures_iter(trimmed) {
                    let (Some(name), Some(value)) =
                        (c.get(1), c.get(2).and_then(|m| parse_u64_text(m.as_str())))
                    else {
                        continue;
                    };
                    let description = (name.as_str() == "esr")
                        .then(|| {
                            trimmed
                                .get(c.get(0).map_or(0, |m| m.end())..)
                                .unwrap_or("")
                                .trim()
                        })
                        .filter(|d| !d.is_empty())
                        .map(str::to_owned);
                    registers.push(Register {
                        name: name.as_str().to_owned(),
                        value,
                        symbol: None,
                        description,
                    });
                }
            }
            Section::Images => {
                if let Some(c) = IMAGE.captures(line) {
                    self.images.push(image_from_line(&c));
                } else if !trimmed.is_empty() {
                    self.section = Some(Section::Other);
                    self.header_line(trimmed, line_no);
                }
            }
            Section::AppSpecific => {
                if !self.header_line(trimmed, line_no) {
                    self.messages.push(AppMessage {
                        image: String::new(),
                        text: trimmed.to_owned(),
                    });
                }
            }
            Section::Header | Section::Other => {
                self.header_line(trimmed, line_no);
            }
        }
    }

    /// Reads `Key: value`. Returns whether the line was a known header key.
    fn header_line(&mut self, line: &str, line_no: usize) -> bool {
        let Some(c) = HEADER_KEY.captures(line) else {
            return false;
        };
        let key = c.get(1).map_or("", |m| m.as_str());
        let value = c.get(2).map_or("", |m| m.as_str()).trim();
        let at = || format!("line {line_no}");
        match key {
            "Process" | "Command" => {
                let (name, pid) = name_and_pid(value);
                if pid.is_none() && value.contains('[') {
                    self.w
                        .push(at(), format!("process id in {value:?} is not a number"));
                }
                self.process.name = name;
                self.process.pid = pid;
            }
            "PID" => self.process.pid = value.parse().ok(),
            "Path" => self.process.path = Some(value.to_owned()),
            "Identifier" => self.process.identifier = Some(value.to_owned()),
            "Version" => self.process.version = Some(value.to_owned()),
            "Code Type" => {
                let cpu = value.split_whitespace().next().unwrap_or(value);
                self.process.cpu_type = Some(cpu.to_owned());
                self.process.translated = Some(value.contains("Translated"));
            }
            "Parent Process" | "Parent" => {
                let (name, pid) = name_and_pid(value);
                self.process.parent_name = name;
                self.process.parent_pid = pid;
            }
            "Responsible" | "Responsible Process" => {
                let (name, pid) = name_and_pid(value);
                self.process.responsible_name = name;
                self.process.responsible_pid = pid;
            }
            "User ID" => self.process.user_id = value.parse().ok(),
            "Date/Time" => {
                self.capture_time = parse_time(value);
                if self.capture_time.is_none() {
                    self.w.push(at(), format!("unrecognised time {value:?}"));
                }
            }
            "Launch Time" => self.process.launch_time = parse_time(value),
            "OS Version" => self.os = parse_os_version(value),
            "Release Type" => self.os.release_type = Some(value.to_owned()),
            "Hardware Model" => {
                self.hardware_model = value.split_whitespace().next().map(str::to_owned);
            }
            "Incident Identifier" => self.incident_id = Some(value.to_owned()),
            "Crashed Thread" | "Triggered by Thread" => {
                let digits: String = value.chars().take_while(char::is_ascii_digit).collect();
                match digits.parse() {
                    Ok(n) => self.crashed_number = Some(n),
                    Err(_) => self
                        .w
                        .push(at(), format!("crashed thread {value:?} is not a number")),
                }
            }
            "Exception Type" => {
                self.has_exception = true;
                // `EXC_BAD_ACCESS (SIGSEGV)`; PLCrashReporter writes just `SIGSEGV`.
                match value.split_once('(') {
                    Some((ty, rest)) => {
                        self.exception.r#type = Some(ty.trim().to_owned());
                        let inner = rest.trim_end_matches(')').trim();
                        if inner.starts_with("SIG") {
                            self.exception.signal = Some(inner.to_owned());
                        } else if !inner.is_empty() {
                            // `EXC_BAD_ACCESS (Code Signature Invalid)`.
                            self.exception
                                .message
                                .get_or_insert_with(|| inner.to_owned());
                        }
                    }
                    None => {
                        self.exception.r#type = Some(value.to_owned());
                        if value.starts_with("SIG") {
                            self.exception.signal = Some(value.to_owned());
                        }
                    }
                }
            }
            "Exception Codes" => {
                self.has_exception = true;
                // macOS writes the subtype on the first `Exception Codes:` line and the numbers
                // on the second.
                if value.starts_with("0x") && value.contains(',') {
                    self.exception.raw_codes =
                        value.split(',').filter_map(parse_u64_text).collect();
                    self.exception.codes = Some(value.to_owned());
                } else if self.exception.subtype.is_none() {
                    self.exception.subtype = Some(value.to_owned());
                }
            }
            "Exception Subtype" => self.exception.subtype = Some(value.to_owned()),
            "Exception Message" | "Exception Reason" => {
                self.exception.message = Some(value.to_owned())
            }
            "Termination Reason" => {
                let t = self.termination.get_or_insert_with(Termination::default);
                parse_termination_reason(t, value);
            }
            "Terminating Process" => {
                let (name, pid) = name_and_pid(value);
                let t = self.termination.get_or_insert_with(Termination::default);
                t.by_proc = name;
                t.by_pid = pid;
            }
            "Application Specific Information" => {
                if !value.is_empty() {
                    self.messages.push(AppMessage {
                        image: String::new(),
                        text: value.to_owned(),
                    });
                }
                self.section = Some(Section::AppSpecific);
            }
            "Model" if self.hardware_model.is_none() => {
                // `Model: MacBookPro12,1, BootROM ...` in the System Profile.
                self.hardware_model = value.split(", ").next().map(str::to_owned);
            }
            _ => return false,
        }
        self.header_keys += 1;
        true
    }

    fn finish(mut self, container: Container) -> Report {
        // Images by name, to give text frames an image index and an image offset.
        let mut by_name: HashMap<&str, usize> = HashMap::new();
        for (i, image) in self.images.iter().enumerate() {
            if let Some(name) = image.name.as_deref() {
                by_name.entry(name).or_insert(i);
            }
        }
        let resolve = |frame: &mut Frame| {
            let Some(index) = frame.image.as_deref().and_then(|n| by_name.get(n).copied()) else {
                return;
            };
            frame.image_index = Some(index);
            let base = self.images.get(index).and_then(|i| i.base);
            match (frame.image_offset, frame.address, base) {
                (None, Some(addr), Some(base)) => frame.image_offset = addr.checked_sub(base),
                (Some(off), None, Some(base)) => frame.address = base.checked_add(off),
                _ => {}
            }
        };
        for thread in &mut self.threads {
            thread.frames.iter_mut().for_each(resolve);
            if let Some(name) = self.names.get(&(thread.index as u64)) {
                describe_thread(thread, name);
            }
            if let Some(state) = self.states.remove(&(thread.index as u64)) {
                thread.state = Some(state);
            }
        }
        self.leb.iter_mut().for_each(resolve);

        let crashed_thread = match self.crashed_number {
            Some(n) => {
                let found = self.threads.iter().position(|t| t.index as u64 == n);
                if found.is_none() && !self.threads.is_empty() {
                    self.w
                        .push("Crashed Thread", format!("thread {n} is not in the report"));
                }
                found
            }
            None => self.threads.iter().position(|t| t.triggered),
        };
        if let Some(t) = crashed_thread.and_then(|i| self.threads.get_mut(i)) {
            t.triggered = true;
        }

        let mut exception = self.has_exception.then_some(self.exception);
        if let Some(e) = exception.as_mut() {
            super::ips::fill_address(e, crashed_thread.and_then(|i| self.threads.get(i)));
        }
        if !self.threads.is_empty() && !self.saw_images {
            self.w.push(
                "report",
                "no Binary Images section: the report looks truncated; image paths and UUIDs are unknown",
            );
        }
        if self.threads.is_empty() && exception.is_none() {
            self.w.push(
                "report",
                "the report has a header but no exception and no threads: it looks truncated",
            );
        }
        let app_specific = AppSpecific {
            assertion: find_assertion(self.messages.iter().map(|m| m.text.as_str())),
            messages: self.messages,
            exception_reason: None,
        };
        Report {
            format: SourceFormat::Text,
            container,
            kind: ReportKind::Crash,
            bug_type: None,
            bug_type_name: None,
            incident_id: self.incident_id,
            process: self.process,
            os: self.os,
            hardware_model: self.hardware_model,
            capture_time: self.capture_time,
            exception,
            termination: self.termination,
            app_specific,
            crashed_thread,
            threads: self.threads,
            last_exception_backtrace: self.leb,
            images: self.images,
            warnings: self.w.into_vec(),
            summary: None,
            extra: Vec::new(),
        }
    }
}

/// How many known header keys a text has before its first thread: used to tell a report from a
/// fragment.
pub fn header_key_count(text: &str) -> usize {
    let mut p = Parser::default();
    for (i, line) in text.lines().enumerate().take(200) {
        let t = line.trim();
        if THREAD_HEADER.is_match(t) || t.starts_with("Binary Images") {
            break;
        }
        p.header_line(t, i + 1);
    }
    p.header_keys
}

/// `Dispatch queue: com.apple.main-thread` is a queue; anything else after the colon is a name.
fn describe_thread(thread: &mut Thread, rest: &str) {
    let rest = rest.trim();
    if rest.is_empty() {
        return;
    }
    match rest.split_once("Dispatch queue:") {
        Some((name, queue)) => {
            let name = name.trim().trim_end_matches(['-', ' ']);
            if !name.is_empty() {
                thread.name = Some(name.to_owned());
            }
            thread.queue = Some(queue.trim().to_owned());
        }
        None => thread.name = Some(rest.to_owned()),
    }
}

fn name_and_pid(value: &str) -> (Option<String>, Option<u64>) {
    match NAME_PID.captures(value) {
        Some(c) => {
            let name = c
                .get(1)
                .map(|m| m.as_str().trim().to_owned())
                .filter(|n| !n.is_empty());
            (name, c.get(2).and_then(|m| m.as_str().trim().parse().ok()))
        }
        None => ((!value.is_empty()).then(|| value.to_owned()), None),
    }
}

/// `Namespace SIGNAL, Code 11 Segmentation fault: 11` or `Namespace SIGNAL, Code 11, ...`.
fn parse_termination_reason(t: &mut Termination, value: &str) {
    let rest = value.strip_prefix("Namespace ").unwrap_or(value);
    let (namespace, rest) = rest.split_once(',').unwrap_or((rest, ""));
    t.namespace = Some(namespace.trim().to_owned());
    let rest = rest.trim();
    if let Some(code) = rest.strip_prefix("Code ") {
        let token: String = code
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .collect();
        t.code = parse_u64_text(&token);
        let indicator = code
            .get(token.len()..)
            .unwrap_or("")
            .trim_start_matches(',')
            .trim();
        if !indicator.is_empty() {
            t.indicator = Some(indicator.to_owned());
        }
    }
}

fn image_from_line(c: &regex::Captures) -> Image {
    let start = c.get(1).and_then(|m| parse_u64_text(m.as_str()));
    let end = c.get(2).and_then(|m| parse_u64_text(m.as_str()));
    let middle = c.get(3).map_or("", |m| m.as_str()).trim();
    let mut image = Image {
        base: start,
        // The end address is inclusive (`...fff`), so the size is one more than the difference.
        size: start
            .zip(end)
            .and_then(|(s, e)| e.checked_sub(s))
            .and_then(|d| d.checked_add(1)),
        uuid: c.get(4).map(|m| normalise_uuid(m.as_str())),
        path: c
            .get(5)
            .map(|m| m.as_str().to_owned())
            .filter(|p| !p.is_empty() && p != "???"),
        ..Image::default()
    };
    // `libsystem_kernel.dylib (*)`, `+com.example.TouchCanvas (1.0 - 1)`, `TouchCanvas arm64`.
    let (mut name, version) = match middle.rfind(" (") {
        Some(open) if middle.ends_with(')') => (
            middle.get(..open).unwrap_or(middle).trim(),
            middle.get(open + 2..middle.len() - 1),
        ),
        _ => (middle, None),
    };
    if let Some(v) = version
        .map(str::trim)
        .filter(|v| *v != "*" && !v.is_empty())
    {
        image.bundle_version = Some(v.to_owned());
    }
    if let Some((n, arch)) = name.rsplit_once(char::is_whitespace)
        && is_arch(arch)
    {
        image.arch = Some(arch.to_owned());
        name = n.trim();
    }
    let name = name.strip_prefix('+').unwrap_or(name);
    if !name.is_empty() && name != "???" {
        image.name = Some(name.to_owned());
    }
    image
}

fn is_arch(s: &str) -> bool {
    matches!(
        s,
        "arm64"
            | "arm64e"
            | "arm64_32"
            | "x86_64"
            | "x86_64h"
            | "i386"
            | "armv7"
            | "armv7s"
            | "armv7k"
    )
}

/// 32 hex digits or a hyphenated UUID, to lower-case hyphenated form.
pub fn normalise_uuid(s: &str) -> String {
    let hex: Vec<char> = s
        .chars()
        .filter(char::is_ascii_hexdigit)
        .map(|c| c.to_ascii_lowercase())
        .collect();
    if hex.len() != 32 {
        return s.to_ascii_lowercase();
    }
    let mut out = String::with_capacity(36);
    for (i, c) in hex.into_iter().enumerate() {
        if matches!(i, 8 | 12 | 16 | 20) {
            out.push('-');
        }
        out.push(c);
    }
    out
}

/// Whether a line is a thread header or a frame line: evidence of crash-report text.
pub fn looks_like_thread_line(line: &str) -> bool {
    let t = line.trim();
    THREAD_HEADER.is_match(t) || FRAME.is_match(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(line: &str) -> Frame {
        let caps = FRAME.captures(line).unwrap();
        frame_from_line(&caps).unwrap().1
    }

    #[test]
    fn three_frame_spellings() {
        let f = frame("0   libsystem_kernel.dylib        \t       0x19cc40b84 __ulock_wait + 8");
        assert_eq!(f.image.as_deref(), Some("libsystem_kernel.dylib"));
        assert_eq!(f.symbol.as_deref(), Some("__ulock_wait"));
        assert_eq!((f.address, f.symbol_offset), (Some(0x19cc40b84), Some(8)));

        let f = frame(
            "3   multithread-test              \t       0x100ec5b3c main + 160 (multithread-test.cpp:31)",
        );
        assert_eq!(f.source_file.as_deref(), Some("multithread-test.cpp"));
        assert_eq!(f.source_line, Some(31));

        let f =
            frame("4   TouchCanvas                       0x00000001022cbfa8 0x1022c0000 + 49064");
        assert_eq!((f.symbol.as_deref(), f.image_offset), (None, Some(49064)));

        let f = frame("0   ???                               0x0000000000000040 0 + 64");
        assert_eq!((f.image.as_deref(), f.image_offset), (None, Some(64)));

        let f = frame("12  AGXMetal13_3  0x1fddc171c 0x1fdbc0000 + 2103068");
        assert_eq!(
            (f.image.as_deref(), f.image_offset),
            (Some("AGXMetal13_3"), Some(2_103_068))
        );
    }

    #[test]
    fn image_names_with_spaces_and_symbols_with_plus() {
        let f = frame("5   Google Chrome Framework   0x0000000104b1c2d0 operator+(int, int) + 12");
        assert_eq!(f.image.as_deref(), Some("Google Chrome Framework"));
        assert_eq!(f.symbol.as_deref(), Some("operator+(int, int)"));
        assert_eq!(f.symbol_offset, Some(12));
    }

    #[test]
    fn binary_image_spellings() {
        let img = |l: &str| image_from_line(&IMAGE.captures(l).unwrap());
        let i = img(
            "0x102aec000 - 0x102b03fff TouchCanvas arm64  <fe7745ae12db30fa886c8baa1980437a> /var/containers/TouchCanvas",
        );
        assert_eq!(i.name.as_deref(), Some("TouchCanvas"));
        assert_eq!(i.arch.as_deref(), Some("arm64"));
        assert_eq!(
            i.uuid.as_deref(),
            Some("fe7745ae-12db-30fa-886c-8baa1980437a")
        );
        assert_eq!(i.size, Some(0x18000));

        let i = img(
            "       0x1025e5000 -        0x1025e6ffb +com.example.TouchCanvas (1.0 - 1) <5ED9BD63-2A55-3DDD-B3FF-EFCF61382F6F> /Users/USER/*/TouchCanvas",
        );
        assert_eq!(i.name.as_deref(), Some("com.example.TouchCanvas"));
        assert_eq!(i.bundle_version.as_deref(), Some("1.0 - 1"));

        let i = img(
            "       0x19cc3e000 -        0x19cc76feb libsystem_kernel.dylib (*) <b8898079-5424-3e89-92b0-33022c3be1bb> /usr/lib/system/libsystem_kernel.dylib",
        );
        assert_eq!(i.name.as_deref(), Some("libsystem_kernel.dylib"));
        assert_eq!(i.bundle_version, None);
        assert_eq!(
            i.path.as_deref(),
            Some("/usr/lib/system/libsystem_kernel.dylib")
        );

        let i = img(
            "               0x0 - 0xffffffffffffffff ??? (*) <00000000-0000-0000-0000-000000000000> ???",
        );
        assert_eq!((i.name, i.path, i.size), (None, None, None));
    }

    #[test]
    fn termination_reasons() {
        let mut t = Termination::default();
        parse_termination_reason(&mut t, "Namespace SIGNAL, Code 11 Segmentation fault: 11");
        assert_eq!(t.namespace.as_deref(), Some("SIGNAL"));
        assert_eq!(t.code, Some(11));
        assert_eq!(t.indicator.as_deref(), Some("Segmentation fault: 11"));
        let mut t = Termination::default();
        parse_termination_reason(&mut t, "Namespace SIGNAL, Code 11, Segmentation fault: 11");
        assert_eq!(t.indicator.as_deref(), Some("Segmentation fault: 11"));
    }

    #[test]
    fn thread_headers() {
        let mut t = Thread::default();
        describe_thread(&mut t, "Dispatch queue: com.apple.main-thread");
        assert_eq!(t.queue.as_deref(), Some("com.apple.main-thread"));
        let mut t = Thread::default();
        describe_thread(&mut t, "tokio-runtime-worker");
        assert_eq!(t.name.as_deref(), Some("tokio-runtime-worker"));
        assert!(THREAD_HEADER.is_match("Thread 12 Crashed:: GS"));
        assert!(THREAD_HEADER.is_match("Thread 0 Crashed:"));
        assert!(!THREAD_HEADER.is_match("Thread 2 crashed with ARM Thread State (64-bit):"));
    }
}
