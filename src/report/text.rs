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
use super::util::{
    Warnings, find_assertion, find_exception_reason, is_placeholder_symbol, parse_os_version,
    parse_time,
};

static THREAD_HEADER: LazyLock<Regex> = LazyLock::new(|| {
    // `Thread 0::  Dispatch queue: com.apple.main-thread` (macOS 12+, double colon),
    // `Thread 2 Crashed:`, `Thread 12 Crashed:: GS`, `Thread 11:`, `Thread 0 (id: 1234):`.
    re(r"^Thread\s+(\d+)(?:\s+\(id:[^)]*\))?(\s+Crashed)?\s*::?\s*(.*)$")
});
static THREAD_NAME: LazyLock<Regex> = LazyLock::new(|| re(r"^Thread\s+(\d+)\s+name:\s*(.*)$"));
/// `Thread 0 crashed with ARM Thread State (64-bit):`, or a bare `Thread State:` (lldb's tests):
/// the crashed thread's registers.
static THREAD_STATE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:Thread\s+(\d+)\s+crashed\s+with\s+(.*?)|(?:\S.*\s)?Thread State(?:\s\(.*\))?)\s*:?\s*$",
    )
});
/// A frame line as a thread section holds it: a frame number, then the rest. What the rest holds
/// (image, address, symbol) is read by [`frame_and_end`], which never gives up on a line: a
/// frame that is only partly readable is kept with what is known, so frames are never lost or
/// renumbered.
static FRAME_START: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*(\d+)\s+(\S.*?)\s*$"));
/// Evidence of backtrace text (for telling fragments apart): a number, an image, an address.
static FRAME_LIKE: LazyLock<Regex> = LazyLock::new(|| re(r"^\s*\d+\s+\S.*?\s0x[0-9a-fA-F]+(\s|$)"));
/// `0x1fdbc0000 + 2103068`: base + offset (the offset in decimal, or in hex in some tools').
static UNSYMBOLICATED: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(0x[0-9a-fA-F]+|\d+)\s+\+\s+(0x[0-9a-fA-F]+|\d+)$"));
static SYMBOLICATED: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^(.*?)\s+\+\s+(0x[0-9a-fA-F]+|\d+)(?:\s+\(([^()]*)\))?(\s+\[inlined\])?$")
});
/// The second half of a frame whose symbol ended in a newline: ` + 0 [inlined]`,
/// ` + 12 (File.swift:3)`.
static CONTINUATION: LazyLock<Regex> =
    LazyLock::new(|| re(r"^\+\s*(\d+)(?:\s+\(([^()]*)\))?(\s+\[inlined\])?$"));
/// The offset of a frame wrapped after its `+`: `10`, `92 (file.c:3)`.
static WRAPPED_OFFSET: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(\d+)(?:\s+\(([^()]*)\))?(\s+\[inlined\])?$"));
/// `0x34f09000 + 759951 (-[NSObject doesNotRecognizeSelector:] + 175)`: KSCrash writes the
/// image base and offset, then the symbol (which may hold parentheses) and its offset.
static BASE_THEN_SYMBOL: LazyLock<Regex> = LazyLock::new(|| {
    re(r"^0x[0-9a-fA-F]+\s+\+\s+(\d+|0x[0-9a-fA-F]+)\s+\((.+)\s+\+\s+(\d+|0x[0-9a-fA-F]+)\)$")
});
/// `(Foo.m:23)` or `(file.c:31:5)` at the end of a symbol printed without an offset.
static SOURCE_SUFFIX: LazyLock<Regex> =
    LazyLock::new(|| re(r"^(.*?)\s+\(([^()\s]+:\d+(?::\d+)?)\)$"));
static IMAGE: LazyLock<Regex> = LazyLock::new(|| {
    re(
        // `start - end name (version) <uuid> path`; the UUID may be missing or short (lldb's
        // parser tests have `<01234>` and lines with only a path).
        r"^\s*(0x[0-9a-fA-F]+)\s*-\s*(0x[0-9a-fA-F]+|\?\?\?)?\s+(.*?)\s*(?:<([0-9a-fA-F-]+)>\s*(.*?)|\s((?:/|~/|\?\?\?).*?))?\s*$",
    )
});
static TERMINATION: LazyLock<Regex> = LazyLock::new(|| {
    re(
        r"^(?:Namespace\s+)?([A-Z][A-Z0-9_]*)\s*,?\s*(?:Code\s+)?(?:\[?(0x[0-9a-fA-F]+|\d+)\]?)?\s*,?\s*(.*)$",
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
        if is_fence(raw_line) {
            // The end of a Markdown code fence around a pasted report.
            break;
        }
        let line = strip_debris(raw_line.trim_end());
        if line.trim() == "Full Report" && p.last_was_rule {
            break;
        }
        p.last_was_rule = !line.is_empty() && line.chars().all(|c| c == '-');
        p.line(line, line_no);
    }
    p.finish(container)
}

/// A Markdown code fence line: ```` ``` ```` or ```` ```text ````, nothing after the language.
fn is_fence(line: &str) -> bool {
    let t = line.trim();
    t.strip_prefix("```").is_some_and(|rest| {
        let rest = rest.trim_start_matches('`');
        !rest.contains(char::is_whitespace) && !rest.contains(':')
    })
}

/// Takes off what a paste leaves around a report line: a block quote's `>`, an inline code span's
/// backticks, a fence glued to the first line (```` ```Process: ````), a stray `{`.
pub fn strip_debris(line: &str) -> &str {
    let start = line.trim_start();
    let mut t = start;
    let mut backtick = false;
    loop {
        let before = t;
        t = t.strip_prefix('>').map_or(t, str::trim_start);
        if let Some(rest) = t.strip_prefix('`') {
            t = rest.trim_start_matches('`');
            backtick = true;
        }
        if let Some(rest) = t.strip_prefix('{')
            && rest.starts_with(|c: char| c.is_ascii_alphabetic())
        {
            t = rest;
        }
        if t == before {
            break;
        }
    }
    if backtick {
        t = t.trim_end().trim_end_matches('`');
    }
    if t.len() == start.len() {
        // Nothing taken off: keep the indentation that frame and register lines are read with.
        line
    } else {
        t
    }
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
    /// The last line that held something, and what: where a cut report ends.
    last: (usize, Last),
    /// The line of the last frame read, and where that line stopped.
    last_frame: Option<(usize, Ends)>,
    /// The lines of the frames without an address: a paste whose addresses were trimmed by
    /// hand, or a tool's, lacks them all, and one warning says so (the first frame's, where it
    /// stands in the list).
    no_address: Vec<usize>,
    no_address_warning: Option<usize>,
}

/// What a line of the report was, for saying where a cut report ends.
#[derive(Debug, Clone, Default)]
enum Last {
    #[default]
    Nothing,
    Key(String),
    ThreadHeader(u64),
    Frame {
        thread: Option<u64>,
        number: Option<u64>,
    },
    ExceptionBacktrace,
    Registers,
    Images,
    AppSpecific,
    Section(&'static str),
}

impl Last {
    fn describe(&self) -> String {
        match self {
            Last::Nothing => "nothing readable".into(),
            Last::Key(key) => format!("the `{key}:` line"),
            Last::ThreadHeader(n) => format!("the `Thread {n}` line, before its first frame"),
            Last::Frame {
                thread: Some(t),
                number: Some(n),
            } => format!("frame {n} of thread {t}"),
            Last::Frame {
                thread: Some(t), ..
            } => format!("a frame of thread {t}"),
            Last::Frame { .. } | Last::ExceptionBacktrace => "the exception backtrace".into(),
            Last::Registers => "the thread state (registers)".into(),
            Last::Images => "the Binary Images list".into(),
            Last::AppSpecific => "the Application Specific Information".into(),
            Last::Section(name) => format!("the `{name}` section"),
        }
    }
}

/// Splits the part of a frame line after its number into image, address token and the rest.
///
/// Apple writes `image<TAB>address what`, padding the image column with spaces; pastes often turn
/// the tab into spaces, and image names may contain spaces (`Google Chrome Framework`) and even
/// words that look like addresses (`He 0x1`, from lldb's parser tests). So: the text before a
/// tab is the image when an address follows the tab; else the address is the first `0x` token
/// with at least 8 hex digits (Apple prints addresses zero-padded or at their full width), else
/// the first `0x` token at all (`0x0` for a jump to NULL).
/// How much of `token` is the address: all of it, or, for `0x18c9c4108_pthread_cond_wait` (the
/// space before a C symbol lost, seen in a translated report's system frames), the hex digits
/// before the `_`: a C symbol starts with `_`, never with a hex digit, so where the digits stop
/// is where the symbol starts.
fn address_length(token: &str) -> usize {
    token
        .strip_prefix("0x")
        .and_then(|digits| digits.find(|c: char| !c.is_ascii_hexdigit()))
        .filter(|&n| n > 0 && token.get(2 + n..).is_some_and(|s| s.starts_with('_')))
        .map_or(token.len(), |n| 2 + n)
}

fn split_frame(body: &str) -> (&str, Option<&str>, &str) {
    if let Some((left, right)) = body.split_once('\t') {
        let right = right.trim_start();
        let token = right.split_whitespace().next().unwrap_or_default();
        // After the tab comes the address column, even when what stands there is not a number
        // (lldb's test templates put `@foo@` there).
        let address_column = token.starts_with("0x")
            || token.starts_with('@')
            || (token.len() >= 8 && token.bytes().all(|b| b.is_ascii_hexdigit()));
        if address_column && !left.trim().is_empty() {
            let glued = address_length(token);
            let rest = right.get(glued..).unwrap_or_default().trim();
            return (left.trim(), token.get(..glued), rest);
        }
    }
    let mut tokens = Vec::new();
    let mut from = 0;
    for token in body.split_whitespace() {
        let start = body
            .get(from..)
            .and_then(|s| s.find(token))
            .map_or(from, |p| p + from);
        tokens.push((start, token));
        from = start + token.len();
    }
    // Old reports print a NULL address without its `0x`: `3   ???   000000000000000000 0 + 0`.
    let bare_hex = |t: &str| t.len() >= 8 && t.bytes().all(|b| b.is_ascii_hexdigit());
    let pick = tokens
        .iter()
        .skip(1)
        .find(|(_, t)| hex_digits(t).is_some_and(|n| n >= 8))
        .or_else(|| tokens.iter().skip(1).find(|(_, t)| hex_digits(t).is_some()))
        .or_else(|| tokens.iter().skip(1).find(|(_, t)| bare_hex(t)))
        // An address that is not a number (`0x1f3G`, `0x`): still where the address was.
        .or_else(|| tokens.iter().skip(1).find(|(_, t)| t.starts_with("0x")));
    match pick {
        Some(&(at, token)) => {
            let glued = address_length(token);
            (
                body.get(..at).unwrap_or_default().trim(),
                token.get(..glued),
                body.get(at + glued..).unwrap_or_default().trim(),
            )
        }
        None => {
            // No address at all: the image is the first word. A lone number after it is what is
            // left of an address cut off at the end of a paste (`5   libsystem_pthread.dylib  0`).
            let (image, rest) = body.split_once(char::is_whitespace).unwrap_or((body, ""));
            let rest = rest.trim();
            let cut_address = !rest.is_empty()
                && !rest.contains(char::is_whitespace)
                && rest.bytes().all(|b| b.is_ascii_hexdigit() || b == b'x');
            if cut_address {
                (image, Some(rest), "")
            } else {
                (image, None, rest)
            }
        }
    }
}

/// Reads what follows the address: `symbol + offset (file:line) [inlined]`, `base + offset`,
/// `???`, a symbol without an offset, or nothing.
fn read_what(frame: &mut Frame, rest: &str) {
    // Sentry's export writes `[inlined] name (file:line)` for inlined frames.
    let rest = match rest.strip_prefix("[inlined] ") {
        Some(r) => {
            frame.inline = true;
            r.trim_start()
        }
        None => rest,
    };
    // Placeholders for a symbol nobody has: `???`, Sentry's `<unknown>`, iOS's `<redacted>`.
    if rest.is_empty() || is_placeholder_symbol(rest) {
        return;
    }
    if let Some(c) = UNSYMBOLICATED.captures(rest) {
        // `0x1fdbc0000 + 2103068`: image base + offset, no symbol.
        frame.image_offset = c.get(2).and_then(|m| parse_u64_text(m.as_str()));
        return;
    }
    if let Some(c) = BASE_THEN_SYMBOL.captures(rest) {
        // KSCrash's Apple-format reports: `0x34f09000 + 759951 (__exceptionPreprocess + 163)`,
        // the image base and offset, then the symbol and its offset in parentheses.
        frame.image_offset = c.get(1).and_then(|m| parse_u64_text(m.as_str()));
        let symbol = symbol_part(frame, c.get(2).map_or("", |m| m.as_str()));
        // The offset into a placeholder is an offset into no known function.
        if set_symbol(frame, symbol) {
            frame.symbol_offset = c.get(3).and_then(|m| parse_u64_text(m.as_str()));
        }
        return;
    }
    if let Some(symbol) = rest.strip_suffix(" +") {
        // The line was wrapped after the `+`: the offset is on the next line, or the text was
        // cut there. `0x100124000 +` is the image's load address of an unnamed frame, not a
        // symbol.
        if hex_digits(symbol.trim()).is_none() {
            let _ = set_symbol(frame, symbol);
        }
        return;
    }
    if let Some(c) = SYMBOLICATED.captures(rest) {
        let offset = c.get(2).and_then(|m| parse_u64_text(m.as_str()));
        let mut symbol = c.get(1).map_or("", |m| m.as_str()).trim();
        // Newer reports write an unnamed frame as `Image + offset`: an offset into the image.
        if frame.image.as_deref() == Some(symbol) {
            frame.image_offset = offset;
            return;
        }
        // `name (in Image) (File.swift:76) + 1445248`: atos's spelling inside the symbol.
        symbol = symbol_part(frame, symbol);
        if set_symbol(frame, symbol) {
            frame.symbol_offset = offset;
        }
        if let Some(src) = c.get(3) {
            set_source(frame, src.as_str());
        }
        frame.inline = frame.inline || c.get(4).is_some();
        return;
    }
    // A symbol without an offset, as symbolicatecrash and atos print them:
    // `-[AppDelegate application:didFinishLaunchingWithOptions:] (AppDelegate.m:20)`.
    let mut symbol = rest;
    if let Some(s) = symbol.strip_suffix("[inlined]") {
        frame.inline = true;
        symbol = s.trim_end();
    }
    let symbol = symbol_part(frame, symbol);
    let _ = set_symbol(frame, symbol);
}

/// How many hex digits follow the `0x` of `0x100124000`; `None` when the token is not such a
/// number (never a symbol's name, then).
fn hex_digits(token: &str) -> Option<usize> {
    token
        .strip_prefix("0x")
        .filter(|h| !h.is_empty() && h.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::len)
}

/// The symbol of `name (File.swift:76)` and atos's `name (in Image)`; the source line goes to
/// the frame.
fn symbol_part<'a>(frame: &mut Frame, symbol: &'a str) -> &'a str {
    let mut symbol = symbol;
    if let Some(c) = SOURCE_SUFFIX.captures(symbol)
        && let (Some(name), Some(src)) = (c.get(1), c.get(2))
    {
        set_source(frame, src.as_str());
        symbol = name.as_str();
    }
    match symbol.rsplit_once(" (in ") {
        Some((name, _image)) => name,
        None => symbol,
    }
}

/// What a continuation line gives the frame above it: its offset, source line and `[inlined]`.
fn continue_with(
    frame: &mut Frame,
    offset: Option<regex::Match>,
    source: Option<regex::Match>,
    inlined: bool,
) {
    frame.symbol_offset = offset.and_then(|m| m.as_str().parse().ok());
    if let Some(src) = source {
        set_source(frame, src.as_str());
    }
    frame.inline = inlined;
}

fn set_symbol(frame: &mut Frame, symbol: &str) -> bool {
    let symbol = symbol.trim();
    // A placeholder is no name, whichever spelling it came in (`<deduplicated_symbol> + 112`).
    if symbol.is_empty() || is_placeholder_symbol(symbol) {
        return false;
    }
    // Markdown turns `__pthread_kill` into bold and back into `**pthread_kill` when an issue is
    // converted; no real symbol starts with `**`.
    let mut symbol = match symbol.strip_prefix("**") {
        Some(rest) => format!("__{rest}"),
        None => symbol.to_owned(),
    };
    if let Some(rest) = symbol.strip_suffix("**") {
        symbol = format!("{rest}__");
    }
    frame.symbol = Some(symbol);
    frame.symbolicated_by = SymbolSource::Report;
    true
}

/// `file.swift:231` or `file.c:31:5`.
fn set_source(frame: &mut Frame, src: &str) {
    let mut parts = src.splitn(3, ':');
    frame.source_file = parts
        .next()
        .map(|f| f.trim().to_owned())
        .filter(|f| !f.is_empty());
    frame.source_line = parts.next().and_then(|l| l.trim().parse().ok());
}

/// Where a frame line stops short of the whole `image address what`: on the last line of a
/// paste cut mid-line, what ends the line may itself be cut (`0x00007f`, `libVkLayer_khr`, `+`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Ends {
    /// After the image name: no address.
    Image,
    /// After the address: nothing named or placed it.
    Address,
    /// After a `+`: the offset is missing.
    Plus,
    /// After the address and a word with no `+ offset` after it: a symbol, or the image's load
    /// address, that may be cut short itself (`amdMtlBronzeTextureStdRe`, `0x`).
    Word,
    /// With what follows the address.
    Whole,
}

/// Whether what follows a frame's address (`rest`, trimmed) may be cut short: it has no `+
/// offset`, does not end in a closing bracket (`name (file.c:7)`, whole without one), and is
/// not a placeholder written without an offset (`???`).
fn word_may_be_cut(rest: &str) -> bool {
    !rest.is_empty()
        && !rest.contains('+')
        && !rest.ends_with([')', ']'])
        && !is_placeholder_symbol(rest)
}

/// `0x`, `0x1fdb`, `0`, `573`: the start of a hexadecimal number as [`hex_digits`] reads one,
/// or of a decimal one.
fn is_number_start(word: &str) -> bool {
    word == "0x"
        || hex_digits(word).is_some()
        || (!word.is_empty() && word.bytes().all(|b| b.is_ascii_digit()))
}

/// What a frame line without an address is said to lack.
const NO_ADDRESS: &str = "no address";

/// [`frame_and_end`] without where the line stops, for the tests.
#[cfg(test)]
fn frame_from_line(line: &str) -> Option<(Frame, Option<String>)> {
    frame_and_end(line).map(|(frame, problem, _)| (frame, problem))
}

/// A frame from a frame line, or `None` when the line is not one (no frame number), and where
/// the line stops. Everything else is kept: a line the reader cannot fully understand becomes a
/// frame with what is known, and `problem` says what was not.
fn frame_and_end(line: &str) -> Option<(Frame, Option<String>, Ends)> {
    let caps = FRAME_START.captures(line)?;
    let number: u64 = caps.get(1)?.as_str().parse().ok()?;
    let body = caps.get(2)?.as_str();
    let (image, address, rest) = split_frame(body);
    let ends = match (address, rest.trim_end()) {
        // `1 dyld start + 2360`: no address, but a whole line.
        (None, "") => Ends::Image,
        // Zero-padded to 16 digits, Apple's widest: nothing of it was cut.
        (Some(token), "") if hex_digits(token) == Some(16) => Ends::Whole,
        (Some(_), "") => Ends::Address,
        (_, r) if r.ends_with('+') => Ends::Plus,
        (Some(_), r) if word_may_be_cut(r) => Ends::Word,
        _ => Ends::Whole,
    };
    let mut problem = None;
    let address = match address {
        Some(token) => {
            let parsed = parse_u64_text(token).or_else(|| u64::from_str_radix(token, 16).ok());
            if parsed.is_none() {
                problem = Some(format!("frame {number}: address {token:?} is not a number"));
            }
            parsed
        }
        None => {
            problem = Some(format!("frame {number}: {NO_ADDRESS}"));
            None
        }
    };
    // `MyApp Pro arm64`: some writers put the architecture after the image name.
    let image = match image.rsplit_once(char::is_whitespace) {
        Some((name, arch)) if is_arch(arch) => name.trim_end(),
        _ => image,
    };
    let mut frame = Frame {
        number: Some(number),
        image: (!image.is_empty() && image != "???").then(|| image.to_owned()),
        address,
        ..Frame::unknown()
    };
    read_what(&mut frame, rest);
    Some((frame, problem, ends))
}

/// The old `Last Exception Backtrace:` spelling: one parenthesised line of return addresses,
/// `(0x18d2c6e38 0x18c52bf78 ...)`.
fn address_list(line: &str) -> Option<Vec<u64>> {
    let inner = line.trim().strip_prefix('(')?;
    let inner = inner.strip_suffix(')').unwrap_or(inner);
    let addresses: Option<Vec<u64>> = inner
        .split_whitespace()
        .map(|t| t.starts_with("0x").then(|| parse_u64_text(t)).flatten())
        .collect();
    addresses.filter(|a| !a.is_empty())
}

impl Parser {
    fn line(&mut self, line: &str, line_no: usize) {
        let trimmed = line.trim();
        if trimmed.is_empty() {
            // A blank line right after a thread's header (pastes add one) does not end it.
            if self.section == Some(Section::Thread)
                && self.threads.last().is_some_and(|t| t.frames.is_empty())
            {
                return;
            }
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
            self.last = (line_no, Last::Registers);
            let n = c
                .get(1)
                .and_then(|m| m.as_str().parse().ok())
                .or(self.crashed_number);
            self.state_for = n;
            if let Some(n) = n {
                self.states.insert(
                    n,
                    ThreadState {
                        flavor: c
                            .get(2)
                            .map(|m| m.as_str().to_owned())
                            .or_else(|| Some(trimmed.trim_end_matches(':').to_owned())),
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
            self.last = (line_no, Last::ThreadHeader(number));
            self.threads.push(thread);
            self.section = Some(Section::Thread);
            return;
        }
        if trimmed.starts_with("Last Exception Backtrace")
            || trimmed.starts_with("Application Specific Backtrace")
        {
            self.section = Some(Section::LastException);
            self.last = (line_no, Last::ExceptionBacktrace);
            return;
        }
        if trimmed.starts_with("Binary Images") {
            self.saw_images = true;
            self.section = Some(Section::Images);
            self.last = (line_no, Last::Images);
            return;
        }
        if let Some(section) = SKIPPED_SECTIONS.iter().find(|s| trimmed.starts_with(**s)) {
            self.section = Some(Section::Other);
            self.last = (line_no, Last::Section(section));
            return;
        }
        match self.section.unwrap_or(Section::Header) {
            Section::Thread | Section::LastException => {
                if let Some((frame, problem, ends)) = frame_and_end(line) {
                    match problem {
                        // Said once for all the frames without one: the first frame's warning
                        // is reworded in `finish` when more follow.
                        Some(problem) if problem.ends_with(NO_ADDRESS) => {
                            if self.no_address.is_empty() {
                                self.no_address_warning =
                                    self.w.push_at(format!("line {line_no}"), problem);
                            }
                            self.no_address.push(line_no);
                        }
                        Some(problem) => self.w.push(format!("line {line_no}"), problem),
                        None => {}
                    }
                    self.last_frame = Some((line_no, ends));
                    self.last.0 = line_no;
                    self.last.1 = match self.section {
                        Some(Section::Thread) => Last::Frame {
                            thread: self.threads.last().map(|t| t.index as u64),
                            number: frame.number,
                        },
                        _ => Last::ExceptionBacktrace,
                    };
                    self.push_frame(frame, line_no);
                    return;
                }
                if self.continue_frame(trimmed) {
                    self.last.0 = line_no;
                    return;
                }
                if self.section == Some(Section::LastException)
                    && let Some(addresses) = address_list(trimmed)
                {
                    self.last = (line_no, Last::ExceptionBacktrace);
                    self.leb
                        .extend(addresses.into_iter().enumerate().map(|(i, a)| Frame {
                            number: Some(i as u64),
                            address: Some(a),
                            ..Frame::unknown()
                        }));
                    return;
                }
                // Not a frame: perhaps the header resumes (pastes reorder sections).
                self.header_line(trimmed, line_no);
            }
            Section::State => {
                self.last = (line_no, Last::Registers);
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
                    self.last = (line_no, Last::Images);
                    self.images.push(image_from_line(&c));
                } else if !trimmed.is_empty() {
                    self.section = Some(Section::Other);
                    self.header_line(trimmed, line_no);
                }
            }
            Section::AppSpecific => {
                if !self.header_line(trimmed, line_no) {
                    self.last = (line_no, Last::AppSpecific);
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

    fn push_frame(&mut self, frame: Frame, line_no: usize) {
        let frames = match self.section {
            Some(Section::Thread) => match self.threads.last_mut() {
                Some(t) => &mut t.frames,
                None => return,
            },
            _ => &mut self.leb,
        };
        // Keep the report's own numbers, and say where a paste skipped frames.
        let expected = frames.last().and_then(|f| f.number).map_or(0, |n| n + 1);
        if let Some(n) = frame.number
            && n != expected
        {
            let message = match frames.last() {
                None => format!(
                    "the backtrace starts at frame {n}: frames 0 to {} are missing",
                    n - 1
                ),
                Some(_) if n > expected => format!(
                    "frames {expected} to {} are missing: the text skips from frame {} to frame {n}",
                    n - 1,
                    expected - 1
                ),
                Some(_) => format!(
                    "frame {n} follows frame {}: the frames are out of order",
                    expected - 1
                ),
            };
            self.w.push(format!("line {line_no}"), message);
        }
        frames.push(frame);
    }

    /// When the text ends on a frame line that stops short (a paste cut mid-line), what ends that
    /// line may be cut too: an address cut short would name the wrong function, so it is not
    /// used; an image name or an offset cut short is said.
    fn last_line_cut_short(&mut self) {
        let Some((line_no, ends)) = self.last_frame else {
            return;
        };
        if self.last.0 != line_no || ends == Ends::Whole {
            return;
        }
        let frames = match self.last.1 {
            Last::Frame { .. } => self.threads.last_mut().map(|t| &mut t.frames),
            Last::ExceptionBacktrace => Some(&mut self.leb),
            _ => None,
        };
        let Some(frame) = frames.and_then(|f| f.last_mut()) else {
            return;
        };
        let number = frame.number.unwrap_or_default();
        let message = match ends {
            Ends::Address => match frame.address.take() {
                Some(address) => format!(
                    "the text ends inside frame {number}, after its address {address:#x}, which \
                     may be cut short too: it is not used"
                ),
                None => return,
            },
            Ends::Image => match &frame.image {
                Some(image) => format!(
                    "the text ends inside frame {number}, after its image name `{image}`, which \
                     may be cut short too"
                ),
                None => return,
            },
            Ends::Plus => format!(
                "the text ends inside frame {number}, before its offset: the offset is unknown"
            ),
            // A number cut short (`0x`, `0`) is the start of a load address or an offset, never
            // a symbol; a name is kept, as an image name is, and said.
            Ends::Word => match frame.symbol.as_deref() {
                Some(word) if is_number_start(word) => {
                    let message = format!(
                        "the text ends inside frame {number}, after `{word}`, the start of a \
                         number cut short: it is not used"
                    );
                    frame.symbol = None;
                    frame.symbol_offset = None;
                    message
                }
                Some(word) => format!(
                    "the text ends inside frame {number}, after `{word}` with no offset: the \
                     symbol may be cut short"
                ),
                None => return,
            },
            Ends::Whole => return,
        };
        self.w.push(format!("line {line_no}"), message);
    }

    /// Apple prints a symbol that ends in a newline as it is, so ` + 0 [inlined]` (and the rest of
    /// the frame) lands on the next line: it belongs to the frame above.
    fn continue_frame(&mut self, trimmed: &str) -> bool {
        let frames = match self.section {
            Some(Section::Thread) => self.threads.last_mut().map(|t| &mut t.frames),
            _ => Some(&mut self.leb),
        };
        let Some(frame) = frames.and_then(|f| f.last_mut()) else {
            return false;
        };
        if frame.symbol_offset.is_some() || frame.image_offset.is_some() {
            return false;
        }
        // `0x10142f050 0x100124000 +` wrapped before its offset: the offset into the image.
        if frame.symbol.is_none()
            && matches!(self.last_frame, Some((line, Ends::Plus)) if line == self.last.0)
            && let Some(c) = WRAPPED_OFFSET.captures(trimmed)
            && c.get(2).is_none()
            && c.get(3).is_none()
        {
            frame.image_offset = c.get(1).and_then(|m| m.as_str().parse().ok());
            return true;
        }
        // A line wrapped by a paste at a fixed width: the offset alone (after `symbol +`), or the
        // whole `symbol + offset` (after the address).
        if frame.symbol.is_some()
            && let Some(c) = WRAPPED_OFFSET.captures(trimmed)
        {
            continue_with(frame, c.get(1), c.get(2), c.get(3).is_some());
            return true;
        }
        if frame.symbol.is_none()
            && frame.address.is_some()
            && !HEADER_KEY.is_match(trimmed)
            && (SYMBOLICATED.is_match(trimmed) || UNSYMBOLICATED.is_match(trimmed))
        {
            read_what(frame, trimmed);
            return true;
        }
        if let Some(c) = CONTINUATION.captures(trimmed) {
            continue_with(frame, c.get(1), c.get(2), c.get(3).is_some());
            return true;
        }
        // A symbol with a newline in its middle: the line holds the rest of it and the offset.
        if frame.symbol.is_some()
            && !HEADER_KEY.is_match(trimmed)
            && let Some(c) = SYMBOLICATED.captures(trimmed)
        {
            let tail = c.get(1).map_or("", |m| m.as_str()).trim();
            if let Some(symbol) = frame.symbol.as_mut()
                && !tail.is_empty()
            {
                symbol.push(' ');
                symbol.push_str(tail);
            }
            continue_with(frame, c.get(2), c.get(3), c.get(4).is_some());
            return true;
        }
        false
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
            // `Highlighted Thread:`: what old iOS resource reports (wakeups, CPU) named instead.
            "Crashed Thread" | "Triggered by Thread" | "Highlighted Thread" => {
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
                // The numbers: `0x0000000000000001, 0x0000000000000000`, or one alone
                // (`0xbad22222`, a resource limit's code).
                let numbers: Option<Vec<u64>> = value
                    .split(',')
                    .map(|n| parse_u64_text(n.trim()).filter(|_| n.trim().starts_with("0x")))
                    .collect();
                if let Some(numbers) = numbers.filter(|n| !n.is_empty()) {
                    self.exception.raw_codes = numbers;
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
            // macOS 10.11 to 10.15 give the signal in words on a line of its own, beside
            // `Termination Reason: Namespace SIGNAL, Code 0xb`, which then has none.
            "Termination Signal" if !value.is_empty() => {
                let t = self.termination.get_or_insert_with(Termination::default);
                t.indicator.get_or_insert_with(|| value.to_owned());
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
        self.last = (line_no, Last::Key(key.to_owned()));
        true
    }

    fn finish(mut self, container: Container) -> Report {
        self.last_line_cut_short();
        if let ([first, .., last], Some(index)) =
            (self.no_address.as_slice(), self.no_address_warning)
        {
            let message = format!(
                "{} frames (lines {first} to {last}) have {NO_ADDRESS}: trimmed by hand, or \
                 written by a tool that leaves addresses out; they are read by image and symbol",
                self.no_address.len()
            );
            self.w.reword(index, message);
        }
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

        let cut_here = Cut {
            line: self.last.0 as u64,
            after: self.last.1.describe(),
        };
        let mut cut = None;
        let marker = self.threads.iter().position(|t| t.triggered);
        let crashed_thread = match self.crashed_number {
            Some(n) => match self.threads.iter().position(|t| t.index as u64 == n) {
                Some(i) => Some(i),
                None if self.threads.is_empty() => None,
                None => match marker {
                    // The header and the thread list disagree (a paste of two reports, or a
                    // hand-edited header): the `Crashed` marker is on the thread itself.
                    Some(m) => {
                        let marked = self.threads.get(m).map_or(0, |t| t.index);
                        self.w.push(
                            "Crashed Thread",
                            format!(
                                "the header names thread {n}, which is not in the report; thread {marked} is marked `Crashed` and is used"
                            ),
                        );
                        Some(m)
                    }
                    None => {
                        self.w.push(
                            "Crashed Thread",
                            format!(
                                "the header names thread {n} as the crashed thread, but the report has no thread {n}: {cut_here}"
                            ),
                        );
                        cut = Some(cut_here.clone());
                        None
                    }
                },
            },
            None => marker,
        };
        if let Some(t) = crashed_thread.and_then(|i| self.threads.get_mut(i)) {
            t.triggered = true;
        }
        if self.threads.is_empty() {
            cut = Some(cut_here.clone());
        }

        let mut exception = self.has_exception.then_some(self.exception);
        if let Some(e) = exception.as_mut() {
            super::ips::fill_address(e, crashed_thread.and_then(|i| self.threads.get(i)));
        }
        if !self.threads.is_empty() && !self.saw_images {
            self.w.push(
                "report",
                format!("no Binary Images section: the report looks truncated ({cut_here}); image paths and UUIDs are unknown"),
            );
            cut.get_or_insert(cut_here.clone());
        }
        // The text ends on an image line without the UUID and path the lines above it have: the
        // list was cut there (and how many images followed is unknown).
        if matches!(self.last.1, Last::Images)
            && let [.., before, last] = self.images.as_slice()
            && last.uuid.is_none()
            && last.path.is_none()
            && before.uuid.is_some()
        {
            self.w.push(
                format!("line {}", self.last.0),
                format!(
                    "the text ends inside the Binary Images list, at an image without its UUID and \
                     path ({}): the list is cut short",
                    last.name.as_deref().unwrap_or("unnamed")
                ),
            );
            cut.get_or_insert(cut_here);
        }
        if self.threads.is_empty() && exception.is_none() {
            self.w.push(
                "report",
                "the report has a header but no exception and no threads: it looks truncated",
            );
        }
        let (exception_name, exception_reason) =
            find_exception_reason(self.messages.iter().map(|m| m.text.as_str()))
                .unwrap_or_default();
        let app_specific = AppSpecific {
            assertion: find_assertion(self.messages.iter().map(|m| m.text.as_str())),
            messages: self.messages,
            exception_reason,
            exception_name,
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
            cut,
            damaged: None,
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

/// Whether a line is one of the header lines a report has (`Exception Type: ...`,
/// `Crashed Thread: 3`): where a partial paste starts.
pub fn is_header_line(line: &str) -> bool {
    let mut p = Parser::default();
    p.header_line(line.trim(), 0)
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

/// `Namespace SIGNAL, Code 11 Segmentation fault: 11` (macOS), `Namespace SIGNAL, Code 11, ...`,
/// `SIGNAL 5 Trace/BPT trap: 5` (iOS writes no `Namespace`/`Code` words), `Namespace SPRINGBOARD,
/// Code 0x8badf00d`, `FRONTBOARD 2343432205 <RBSTerminateContext...>`.
fn parse_termination_reason(t: &mut Termination, value: &str) {
    let Some(c) = TERMINATION.captures(value.trim()) else {
        if !value.trim().is_empty() {
            t.indicator = Some(value.trim().to_owned());
        }
        return;
    };
    t.namespace = c.get(1).map(|m| m.as_str().to_owned());
    t.code = c.get(2).and_then(|m| parse_u64_text(m.as_str()));
    let indicator = c.get(3).map_or("", |m| m.as_str()).trim();
    if !indicator.is_empty() {
        t.indicator = Some(indicator.to_owned());
    }
}

fn image_from_line(c: &regex::Captures) -> Image {
    let start = c.get(1).and_then(|m| parse_u64_text(m.as_str()));
    let end = c.get(2).and_then(|m| parse_u64_text(m.as_str()));
    let middle = c.get(3).map_or("", |m| m.as_str()).trim();
    let mut image = Image {
        base: start,
        // Older reports print the last byte (`0x1001fffff`): the size is one more than the
        // difference. The translated reports of macOS 12 and later print the first byte after
        // the image (`0x10664c000`, page-aligned: images are whole pages), as their `.ips` has
        // it (`size` 32768 for `0x106644000 - 0x10664c000`).
        size: start.zip(end).and_then(|(s, e)| {
            let d = e.checked_sub(s)?;
            if e % 0x1000 == 0 && d % 0x1000 == 0 && d > 0 {
                Some(d)
            } else {
                d.checked_add(1)
            }
        }),
        uuid: c.get(4).map(|m| normalise_uuid(m.as_str())),
        path: c
            .get(5)
            .or_else(|| c.get(6))
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
            | "armv6"
            | "armv7"
            | "armv7s"
            | "armv7k"
            | "ppc"
            | "ppc64"
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
    THREAD_HEADER.is_match(t) || FRAME_LIKE.is_match(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(line: &str) -> Frame {
        frame_from_line(line).unwrap().0
    }

    fn report(text: &str) -> Report {
        parse(text, 0, Container::Plain)
    }

    #[test]
    fn no_frame_line_is_dropped() {
        // A jump to NULL, an address and nothing else, an address that is not a number.
        let f = frame("0   ???                           \t               0x0 ???");
        assert_eq!((f.image, f.address, f.symbol), (None, Some(0), None));
        let f = frame("1  a.out  0x100003f79");
        assert_eq!(
            (f.image.as_deref(), f.address),
            (Some("a.out"), Some(0x1_0000_3f79))
        );
        let (f, problem) = frame_from_line("2   libfoo.dylib   0x1f3G foo + 3").unwrap();
        assert_eq!(
            (f.image.as_deref(), f.address),
            (Some("libfoo.dylib"), None)
        );
        assert_eq!(
            (f.symbol.as_deref(), f.symbol_offset),
            (Some("foo"), Some(3))
        );
        assert!(problem.unwrap().contains("is not a number"));
        let ends = |line: &str| frame_and_end(line).map(|(_, _, e)| e);
        assert_eq!(ends("7   libbar.dy"), Some(Ends::Image));
        assert_eq!(
            ends("0   libsystem_kernel.dylib  \t0x00007f"),
            Some(Ends::Address)
        );
        assert_eq!(
            ends("2   Godot  0x10142f050 0x100124000 +"),
            Some(Ends::Plus)
        );
        assert_eq!(
            ends("1   libc.dylib  0x18d3682f8 nanosleep + 220"),
            Some(Ends::Whole)
        );
        // A placeholder with an offset is no name, and its offset no function's, as in a `.ips`.
        let f = frame_from_line("0   osaurus   0x105624d18 <deduplicated_symbol> + 112").unwrap();
        assert_eq!(
            (f.0.address, f.0.symbol.as_deref(), f.0.symbol_offset),
            (Some(0x1_0562_4d18), None, None)
        );
        // An address and a C symbol run together are split where the hex digits stop.
        let f =
            frame_from_line("1   libsystem_pthread.dylib   0x18c9c4108_pthread_cond_wait + 1028")
                .unwrap();
        assert_eq!(
            (f.0.address, f.0.symbol.as_deref(), f.0.symbol_offset, f.1),
            (
                Some(0x1_8c9c_4108),
                Some("_pthread_cond_wait"),
                Some(1028),
                None
            )
        );
        let f =
            frame_from_line("1   libsystem_pthread.dylib\t0x18c9c4108_pthread_cond_wait + 1028")
                .unwrap();
        assert_eq!(
            (f.0.address, f.0.symbol.as_deref()),
            (Some(0x1_8c9c_4108), Some("_pthread_cond_wait"))
        );
        // A symbol's own `0x…_` is not an address run together with it.
        let f = frame_from_line("1   MyApp   0x100 0x_weird + 1").unwrap();
        assert_eq!(f.0.address, Some(0x100));
        // A word with no offset after the address may be cut short; a placeholder, a file and
        // line, an offset are whole.
        assert_eq!(
            ends("2   com.apple.AMDMTLBronzeDriver  0x104e15099 amdMtlBronzeTextureStdRe"),
            Some(Ends::Word)
        );
        assert_eq!(
            ends("0   libsystem_kernel.dylib  0x38ebd1fc 0x"),
            Some(Ends::Word)
        );
        for whole in [
            "1   libfoo.dylib  0x18d0fd0e0 ???",
            "1   libfoo.dylib  0x18d0fd0e0 <redacted>",
            "1   MyApp  0x10000a0c0 main (main.c:7)",
            "1   MyApp  0x10000a0c0 -[A b:]",
        ] {
            assert_eq!(ends(whole), Some(Ends::Whole), "{whole}");
        }
        for (word, number) in [
            ("0x", true),
            ("0x1fdb", true),
            ("0", true),
            ("573", true),
            ("0xg", false),
            ("mac", false),
            ("", false),
            ("12a", false),
        ] {
            assert_eq!(is_number_start(word), number, "{word}");
        }
        // An unnamed frame's load address before a `+` whose offset is missing: no symbol.
        let f = frame_from_line("2   Godot  0x10142f050 0x100124000 +")
            .unwrap()
            .0;
        assert_eq!((f.symbol, f.address), (None, Some(0x1_0142_f050)));
        let f = frame_from_line("1   libc.dylib  0x18d3682f8 nanosleep +")
            .unwrap()
            .0;
        assert_eq!(f.symbol.as_deref(), Some("nanosleep"));
        let (f, problem) = frame_from_line("7   libbar.dylib").unwrap();
        assert_eq!(
            (f.number, f.image.as_deref()),
            (Some(7), Some("libbar.dylib"))
        );
        assert!(problem.unwrap().contains("no address"));
    }

    #[test]
    fn unnamed_frames_as_image_plus_offset_and_hex_offsets() {
        // MacSymbolicator's StackFrameTests: `Image + offset` is an offset into the image, and
        // some tools write offsets in hex.
        let f = frame("3   CrashingTest  0x000000010bbb1de3 CrashingTest + 15800");
        assert_eq!((f.symbol, f.image_offset), (None, Some(15800)));
        let f = frame("3  iOSCrashingTest  0x1028261ec 0x102820000 + 0x5d83");
        assert_eq!(f.image_offset, Some(0x5d83));
        // atos's `(in Image) (File.swift:76)` inside the symbol.
        let f = frame(
            "1   ContextApp   0x0000000102f2f000 closure #1 in BackgroundTaskManager.add(id:operation:) (in ContextApp) (BackgroundTaskManagerProtocol.swift:76) + 1445248",
        );
        assert_eq!(
            f.symbol.as_deref(),
            Some("closure #1 in BackgroundTaskManager.add(id:operation:)")
        );
        assert_eq!(f.source_line, Some(76));
        assert_eq!(f.symbol_offset, Some(1_445_248));
    }

    #[test]
    fn sentry_export_spellings() {
        // KhronosGroup/MoltenVK#2319 (testdata/field/gpu-threads/10-*): Sentry's stack export.
        let f = frame("3   Metal                           0x19ddf9194         <unknown>");
        assert_eq!((f.image.as_deref(), f.symbol), (Some("Metal"), None));
        let f = frame(
            "9   libMoltenVK.dylib               0x107cccf7c         [inlined] MVKCommandEncoder::encodeCommandsImpl (MVKCommandBuffer.mm:379)",
        );
        assert!(f.inline);
        assert_eq!(
            f.symbol.as_deref(),
            Some("MVKCommandEncoder::encodeCommandsImpl")
        );
        assert_eq!(
            (f.source_file.as_deref(), f.source_line),
            (Some("MVKCommandBuffer.mm"), Some(379))
        );
    }

    #[test]
    fn a_null_address_printed_without_0x() {
        // ianyh/Amethyst#89 (testdata/field/cut-pastes/12-*): a jump to NULL under a handler.
        let f = frame("3   ???                             000000000000000000 0 + 0");
        assert_eq!(
            (f.image, f.address, f.image_offset, f.symbol),
            (None, Some(0), Some(0), None)
        );
    }

    #[test]
    fn image_names_that_look_like_addresses_or_carry_an_arch() {
        // lldb's parser_text.test: `He 0x1` is an image name, not an address.
        let f = frame("3   He 0x1    \t0x000000019b0db3a8 foo + 72");
        assert_eq!(f.image.as_deref(), Some("He 0x1"));
        assert_eq!(f.address, Some(0x19b0db3a8));
        assert_eq!(
            (f.symbol.as_deref(), f.symbol_offset),
            (Some("foo"), Some(72))
        );
        // Without the tab (a paste), the address is the first token of 8 or more hex digits.
        let f = frame("3   He 0x1      0x000000019b0db3a8 foo + 72");
        assert_eq!(f.image.as_deref(), Some("He 0x1"));
        let f = frame("2   MyApp Pro arm64    \t0x000000019b0db3a8 foo + 72");
        assert_eq!(f.image.as_deref(), Some("MyApp Pro"));
    }

    #[test]
    fn symbols_without_offsets_keep_their_source() {
        let f = frame(
            "3   MyApp   0x0000000100f8c1e0 -[AppDelegate application:didFinishLaunchingWithOptions:] (AppDelegate.m:20)",
        );
        assert_eq!(
            f.symbol.as_deref(),
            Some("-[AppDelegate application:didFinishLaunchingWithOptions:]")
        );
        assert_eq!(
            (f.source_file.as_deref(), f.source_line),
            (Some("AppDelegate.m"), Some(20))
        );
        let f = frame("0   libsystem_kernel.dylib   0x0000000180a5e600 **pthread_kill + 8");
        assert_eq!(f.symbol.as_deref(), Some("__pthread_kill"));
    }

    #[test]
    fn a_symbol_ending_in_a_newline_continues_on_the_next_line() {
        let r = report(
            "Process: a [1]\nException Type: EXC_BREAKPOINT (SIGTRAP)\n\nThread 0 Crashed:\n\
             0   libswiftCore.dylib  0x00000001a1b2c3d4 Swift runtime failure: Unexpectedly found nil\n\
             \x20+ 0 [inlined]\n\
             1   a   0x0000000100003f79 main + 12\n",
        );
        let frames = &r.crashed().unwrap().frames;
        assert_eq!(frames.len(), 2);
        assert_eq!(frames[0].symbol_offset, Some(0));
        assert!(frames[0].inline);
        assert_eq!(frames[1].symbol.as_deref(), Some("main"));
    }

    #[test]
    fn frame_numbers_are_kept_and_gaps_said() {
        let r = report(
            "Process: a [1]\nException Type: EXC_CRASH (SIGABRT)\n\nThread 0 Crashed:\n\
             0   a   0x0000000100003f79 f + 1\n1   a   0x0000000100003f80 g + 2\n\
             40  a   0x0000000100003f90 main + 3\n",
        );
        let numbers: Vec<_> = r
            .crashed()
            .unwrap()
            .frames
            .iter()
            .map(|f| f.number)
            .collect();
        assert_eq!(numbers, [Some(0), Some(1), Some(40)]);
        assert!(
            r.warnings
                .iter()
                .any(|w| w.message.contains("frames 2 to 39 are missing")),
            "{:?}",
            r.warnings
        );
    }

    #[test]
    fn the_old_exception_backtrace_address_list() {
        let r = report(
            "Process: a [1]\nException Type: EXC_CRASH (SIGABRT)\n\nLast Exception Backtrace:\n\
             (0x18d2c6e38 0x18c52bf78 0x18d1a4ef4)\n\nThread 0 Crashed:\n0   a   0x0000000100003f79 f + 1\n",
        );
        let addresses: Vec<_> = r
            .last_exception_backtrace
            .iter()
            .map(|f| f.address)
            .collect();
        assert_eq!(
            addresses,
            [Some(0x18d2c6e38), Some(0x18c52bf78), Some(0x18d1a4ef4)]
        );
    }

    /// Frames whose addresses were trimmed off (a forum post, a document quoting a backtrace)
    /// get one warning for them all, where the first stands; one such frame keeps its own, and
    /// an address that is not a number is still said apart.
    #[test]
    fn frames_without_addresses_are_said_once() {
        let head = "Process: a [1]\nException Type: EXC_BAD_ACCESS (SIGSEGV)\nCrashed Thread: 0\n\n\
                    Thread 0 Crashed:\n";
        let r = report(&format!(
            "{head}0   libA.dylib   f + 1\n1   libA.dylib   0x1f3G g + 2\n2   libB.dylib   h + 3\n\
             3   libB.dylib   i + 4\n"
        ));
        let said: Vec<&str> = r.warnings.iter().map(|w| w.message.as_str()).collect();
        assert_eq!(
            said.iter().filter(|m| m.contains("no address")).count(),
            1,
            "{said:?}"
        );
        let at = said
            .iter()
            .position(|m| m.contains("no address"))
            .unwrap_or_default();
        assert_eq!(r.warnings[at].at, "line 6");
        assert!(
            said[at].starts_with("3 frames (lines 6 to 9) have no address"),
            "{said:?}"
        );
        assert!(
            said.iter()
                .any(|m| m.contains("\"0x1f3G\" is not a number")),
            "{said:?}"
        );
        let one = report(&format!(
            "{head}0   libA.dylib   f + 1\n1   libA.dylib   0x1000 g + 2\n"
        ));
        assert!(
            one.warnings
                .iter()
                .any(|w| w.at == "line 6" && w.message == "frame 0: no address"),
            "{:?}",
            one.warnings
        );
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

        // lldb's parser_text.test: no UUID, a short UUID, spaces in names and paths.
        let i = img(
            "0x7fff63f20000 - 0x7fff63f77ff7  libc++.1.dylib (400.9.4) /usr/lib/libc++.1.dylib",
        );
        assert_eq!(i.name.as_deref(), Some("libc++.1.dylib"));
        assert_eq!(i.bundle_version.as_deref(), Some("400.9.4"));
        assert_eq!(
            (i.uuid, i.path.as_deref()),
            (None, Some("/usr/lib/libc++.1.dylib"))
        );
        let i = img("0x1111111 - 0x22222 +MyApp Pro arm64  <01234> /tmp/MyApp Pro.app/MyApp Pro");
        assert_eq!(
            (i.name.as_deref(), i.arch.as_deref()),
            (Some("MyApp Pro"), Some("arm64"))
        );
        assert_eq!(i.path.as_deref(), Some("/tmp/MyApp Pro.app/MyApp Pro"));
        let i = img(
            "0x104591000 - 0x1055cfff7 +llvm-dwarfdump (0) <B104CFA1-046A-36A6-8EB4-07DDD7CC2DF3> /Users/USER 1/Documents/*/llvm-dwarfdump",
        );
        assert_eq!(
            i.path.as_deref(),
            Some("/Users/USER 1/Documents/*/llvm-dwarfdump")
        );
        assert_eq!(i.bundle_version.as_deref(), Some("0"));
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
        // iOS: no `Namespace`, no `Code`.
        let mut t = Termination::default();
        parse_termination_reason(&mut t, "SIGNAL 5 Trace/BPT trap: 5");
        assert_eq!(
            (t.namespace.as_deref(), t.code, t.indicator.as_deref()),
            (Some("SIGNAL"), Some(5), Some("Trace/BPT trap: 5"))
        );
        let mut t = Termination::default();
        parse_termination_reason(&mut t, "Namespace SPRINGBOARD, Code 0x8badf00d");
        assert_eq!(
            (t.namespace.as_deref(), t.code, t.indicator),
            (Some("SPRINGBOARD"), Some(0x8bad_f00d), None)
        );
        let mut t = Termination::default();
        parse_termination_reason(
            &mut t,
            "FRONTBOARD 2343432205 <RBSTerminateContext| domain:10>",
        );
        assert_eq!(
            (t.namespace.as_deref(), t.code),
            (Some("FRONTBOARD"), Some(2_343_432_205))
        );
        assert_eq!(
            t.indicator.as_deref(),
            Some("<RBSTerminateContext| domain:10>")
        );
    }

    /// macOS 10.11 to 10.15: the signal in words on `Termination Signal:`, the namespace and
    /// code on `Termination Reason:`, in that order or the other.
    #[test]
    fn termination_signal_lines() {
        for lines in [
            "Termination Signal:    Segmentation fault: 11\nTermination Reason:    Namespace SIGNAL, Code 0xb\n",
            "Termination Reason:    Namespace SIGNAL, Code 0xb\nTermination Signal:    Segmentation fault: 11\n",
        ] {
            let text = format!(
                "Process: quad [29202]\nException Type: EXC_BAD_ACCESS (SIGSEGV)\n{lines}\
                 Crashed Thread: 0\n\nThread 0 Crashed:\n0   quad  0x10f0c2d1f main + 15\n"
            );
            let t = parse(&text, 0, Container::Plain)
                .termination
                .unwrap_or_default();
            assert_eq!(
                (t.namespace.as_deref(), t.code, t.indicator.as_deref()),
                (Some("SIGNAL"), Some(11), Some("Segmentation fault: 11")),
                "{lines}"
            );
        }
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
        assert!(THREAD_HEADER.is_match("Thread 0 (id: 1a2b):"));
        assert!(!THREAD_HEADER.is_match("Thread 2 crashed with ARM Thread State (64-bit):"));
    }
}
