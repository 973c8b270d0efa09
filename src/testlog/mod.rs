//! What test runners print about a crash, read from the command's output.
//!
//! A crash report names a process and a pid; the person at the keyboard asks *which test* and
//! *what Python was doing*. The test run itself prints the answer, and it used to be thrown away:
//! Python's faulthandler (`Fatal Python error: Segmentation fault`, then the Python stack), pytest's
//! node id before it under `-v`, pytest-xdist's `worker 'gw0' crashed while running ...`,
//! cargo-nextest's `SIGSEGV [ 0.123s] crate::module::test`, `cargo test`'s `process didn't exit
//! successfully: ... (signal: 11, SIGSEGV: invalid memory reference)`, ctest's
//! `***Exception: SegFault`, xcodebuild's `Restarting after unexpected exit, crash, or test timeout
//! in FooTests.testBar()`, `go test`'s `signal SIGSEGV` and `--- FAIL: TestX`.
//!
//! This layer knows no processes, files or crash reports: it is fed [`Line`]s, in the order they
//! arrived, and each [`Recognizer`] (one per runner, each a small parser tested on real output)
//! returns the [`Evidence`] it has completed. Joining evidence with crash reports is the run
//! record's business, not this module's.
//!
//! - [`python`]: faulthandler dumps, pytest (`-v` node ids, the short summary), pytest-xdist,
//!   unittest.
//! - [`native`]: cargo test, cargo-nextest, ctest, XCTest/xcodebuild, go test.
//! - [`junit`]: JUnit XML a runner wrote (`pytest --junitxml`, nextest, `ctest --output-junit`).
//! - [`reader`]: the lines fed to the recognisers that can care about them ([`Interest`]), so
//!   that 100 MB of output nobody's patterns concern costs little.

pub mod junit;
pub mod native;
pub mod python;
pub mod reader;

pub use reader::{Reader, line_text};

use chrono::{DateTime, Utc};
use serde::Serialize;

/// Which of the command's streams a line came on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}

/// One line of the command's output as it was captured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    /// The stream it came on.
    pub stream: Stream,
    /// When it arrived.
    pub at: DateTime<Utc>,
    /// The text, without its line ending, read as UTF-8 (lossily), with terminal escape sequences
    /// (colours, cursor movement) removed ([`plain`]).
    pub text: String,
}

/// The test runner (or the part of it) whose output is the evidence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Runner {
    /// Python's faulthandler, on its own (a plain script, `PYTHONFAULTHANDLER=1`).
    Faulthandler,
    /// pytest (with faulthandler, on by default since pytest 5).
    Pytest,
    /// pytest-xdist: a worker that crashed.
    PytestXdist,
    /// Python's unittest.
    Unittest,
    /// `cargo test` (libtest).
    CargoTest,
    /// cargo-nextest.
    Nextest,
    /// CTest.
    Ctest,
    /// XCTest under `xcodebuild test`.
    Xcodebuild,
    /// `go test`.
    GoTest,
    /// A JUnit XML file the runner wrote (`--test-results`).
    Junit,
}

impl Runner {
    /// Its name as the JSON output spells it (`pytest-xdist`, `cargo-test`).
    pub fn as_str(self) -> &'static str {
        match self {
            Runner::Faulthandler => "faulthandler",
            Runner::Pytest => "pytest",
            Runner::PytestXdist => "pytest-xdist",
            Runner::Unittest => "unittest",
            Runner::CargoTest => "cargo-test",
            Runner::Nextest => "nextest",
            Runner::Ctest => "ctest",
            Runner::Xcodebuild => "xcodebuild",
            Runner::GoTest => "go-test",
            Runner::Junit => "junit",
        }
    }
}

/// A Python frame of a faulthandler dump, most recent call first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PyFrame {
    /// The source file as printed (`tests/test_mps.py`, `/usr/lib/python3.12/unittest/case.py`).
    pub file: String,
    /// The line number, when printed (`???` when faulthandler could not tell).
    pub line: Option<u64>,
    /// The function (`test_out`, `<module>`).
    pub function: String,
}

/// What a runner printed about one crash (or one test that died by a signal).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// Who printed it.
    pub runner: Runner,
    /// The test, as the runner names it: `tests/test_mps.py::TestMPS::test_gather`,
    /// `crate::module::test_name`, `FooTests.testBar`, `TestX`; `None` when the output does not
    /// name one (a faulthandler dump of a plain script).
    pub test: Option<String>,
    /// The runner did not print the test's name: it was read off the Python stack
    /// (`file::function`: no class, no parameters), which is the right file and function but
    /// not always the node id.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub test_inferred: bool,
    /// The pytest-xdist worker (`gw1`), when one crashed.
    pub worker: Option<String>,
    /// The process that crashed, when the output names its pid.
    pub pid: Option<u64>,
    /// The program that crashed, when the output names it (`cargo test`'s test binary, ctest's
    /// test command, the xctest bundle).
    pub program: Option<String>,
    /// The signal or fatal error as printed (`SIGSEGV`, `Segmentation fault`, `signal: 11`,
    /// `SegFault`).
    pub signal: Option<String>,
    /// faulthandler's thread line (`Current thread 0x00000001f6e1c840`), when there is one.
    pub thread: Option<String>,
    /// The Python stack of the crashing thread, most recent call first (faulthandler).
    pub python_stack: Vec<PyFrame>,
    /// When the first line of the evidence arrived.
    pub at: DateTime<Utc>,
    /// The lines the evidence was read from, as printed (at most [`MAX_LINES`]).
    pub lines: Vec<String>,
}

impl Evidence {
    /// Evidence from `runner` whose first line arrived `at`, with nothing else known yet: each
    /// recogniser fills in what its runner printed.
    pub fn new(runner: Runner, at: DateTime<Utc>) -> Evidence {
        Evidence {
            runner,
            test: None,
            test_inferred: false,
            worker: None,
            pid: None,
            program: None,
            signal: None,
            thread: None,
            python_stack: Vec::new(),
            at,
            lines: Vec::new(),
        }
    }
}

/// The most lines an [`Evidence`] keeps: a faulthandler dump of a deep stack, or a Go panic's
/// goroutines, can be thousands of lines; what identifies the test is at the top.
pub const MAX_LINES: usize = 200;

/// The most bytes of each line an [`Evidence`] keeps once it is complete (a line is read up to
/// 16 KiB; what identifies a test is at its start, and a record is read by people).
pub const KEPT_LINE: usize = 512;

/// `e` with each of its lines, and each of its Python frames' file and function, cut to
/// [`KEPT_LINE`] bytes (at a character boundary, with `…`), and at most [`MAX_LINES`] frames.
pub fn trimmed(mut e: Evidence) -> Evidence {
    let cut = |text: &mut String| {
        if text.len() > KEPT_LINE {
            let mut end = KEPT_LINE;
            while !text.is_char_boundary(end) {
                end -= 1;
            }
            text.truncate(end);
            text.push('…');
            // Truncating keeps the capacity: the memory is what this is for.
            text.shrink_to_fit();
        }
    };
    e.lines.iter_mut().for_each(cut);
    e.python_stack.truncate(MAX_LINES);
    for frame in &mut e.python_stack {
        cut(&mut frame.file);
        cut(&mut frame.function);
    }
    e
}

/// A parser of one runner's output, fed line by line in arrival order.
pub trait Recognizer: Send {
    /// Reads one more line; returns the evidence this line completes (usually none).
    fn feed(&mut self, line: &Line) -> Vec<Evidence>;
    /// The output has ended: returns what is still open (a faulthandler dump that was the last
    /// thing printed). Nothing, for a recogniser that completes its evidence as lines come.
    fn finish(&mut self) -> Vec<Evidence> {
        Vec::new()
    }
    /// The lines it can act on while not [`busy`](Recognizer::busy): a promise that any other
    /// line would leave it as it was and complete nothing, so that [`Reader`] need not feed it.
    /// `None` (the default): every line.
    fn interest(&self) -> Option<Interest> {
        None
    }
    /// In the middle of something (a dump, a test's captured output, a summary) where every
    /// line counts. Asked after each line it was fed.
    fn busy(&self) -> bool {
        true
    }
    /// [`feed`](Recognizer::feed) for a line a [`Reader`] passes it, while not busy, only for
    /// its [`Interest`]'s start check: none of its literals is on the line, so it may skip what
    /// needs them. The same result as `feed`, or faster.
    fn feed_start_only(&mut self, line: &Line) -> Vec<Evidence> {
        self.feed(line)
    }
}

/// The lines a [`Recognizer`] can act on when it is not busy: those holding one of `literals`,
/// or whose start `start` accepts. Both are cheap next to the recognisers' patterns, and they
/// need only be a superset of what matters (a line let through for nothing costs time, never
/// evidence).
#[derive(Clone, Copy)]
pub struct Interest {
    /// Lower-case ASCII without `\n`, matched anywhere on the line, ignoring ASCII case. The
    /// search tells them apart by their first three bytes first, so a literal starts with
    /// something rare in a test run's output: `session starts`, not `test session starts`
    /// (`tes` is on nearly every line, and each one would be checked against the literal).
    pub literals: &'static [&'static str],
    /// A check of how the line starts (a runner's line anchored there), or none.
    pub start: Option<fn(&str) -> bool>,
}

/// Every runner's recogniser, to be fed the same lines.
pub fn recognizers() -> Vec<Box<dyn Recognizer>> {
    let mut all: Vec<Box<dyn Recognizer>> = Vec::new();
    all.extend(python::recognizers());
    all.extend(native::recognizers());
    all
}

/// `text` without its leading blanks (`str::trim_start`), at once when it starts with a
/// printable ASCII character, as nearly every line does: the start checks of the [`Interest`]s
/// run on every line of the output.
pub(crate) fn trim_blank_start(text: &str) -> &str {
    match text.as_bytes().first() {
        Some(b) if b.is_ascii_graphic() => text,
        _ => text.trim_start(),
    }
}

/// `text` without terminal escape sequences (CSI `ESC [ ... final`, OSC `ESC ] ... BEL|ST`,
/// two-byte `ESC x`) and carriage-return overwrites (the last segment after a bare `\r` is what a
/// terminal shows): what a person saw, for the recognisers to read.
pub fn plain(text: &str) -> String {
    let shown = text
        .rsplit('\r')
        .find(|s| !s.is_empty())
        .unwrap_or_default();
    let mut out = String::with_capacity(shown.len());
    let mut chars = shown.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        match chars.next() {
            // CSI: parameters and intermediates, then one final byte in @..~.
            Some('[') => {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
            // OSC: up to BEL or ESC \.
            Some(']') => {
                while let Some(c) = chars.next() {
                    if c == '\u{7}' {
                        break;
                    }
                    if c == '\u{1b}' {
                        chars.next_if_eq(&'\\');
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// [`plain`] of `raw` read as UTF-8 (lossily, as [`line_text`] reads it), appended to `out` as
/// bytes: what the recognisers read of a line, without a `String` per line ([`Reader`] makes a
/// whole read plain into one buffer). What it appends is UTF-8 (invalid bytes become U+FFFD).
pub fn push_plain(raw: &[u8], out: &mut Vec<u8>) {
    push_without_escapes(reader::last_redraw(raw), out);
}

/// `shown` (one redraw: no `\r` but trailing ones, which are dropped) without its escape
/// sequences, read lossily as UTF-8, appended to `out`: [`plain`]'s escape removal, on bytes.
///
/// Bytes are safe to work on: ESC, `[`, `]`, BEL, `\` and the final bytes `@..~` are ASCII, never
/// inside a multi-byte character. Two things need characters: the `x` of a two-byte `ESC x` is a
/// whole character (skipped with its continuation bytes), and invalid UTF-8 is replaced first
/// (as `plain` sees it after lossy reading), so that removing an escape between two stray bytes
/// cannot join them into a character.
pub(crate) fn push_without_escapes(shown: &[u8], out: &mut Vec<u8>) {
    let end = shown.iter().rposition(|&b| b != b'\r').map_or(0, |i| i + 1);
    let shown = shown.get(..end).unwrap_or_default();
    if std::str::from_utf8(shown).is_ok() {
        strip_escapes(shown, Escape::None, out);
        return;
    }
    let mut state = Escape::None;
    for chunk in shown.utf8_chunks() {
        state = strip_escapes(chunk.valid().as_bytes(), state, out);
        if !chunk.invalid().is_empty() {
            state = strip_escapes(
                char::REPLACEMENT_CHARACTER
                    .encode_utf8(&mut [0; 4])
                    .as_bytes(),
                state,
                out,
            );
        }
    }
}

/// Where [`strip_escapes`] is in an escape sequence (one can continue past a U+FFFD).
#[derive(Clone, Copy)]
enum Escape {
    /// In text.
    None,
    /// After ESC.
    Esc,
    /// In a CSI sequence, before its final byte.
    Csi,
    /// In an OSC string, before BEL or ESC.
    Osc,
    /// After the ESC that ends an OSC string (a `\\` after it is part of it).
    OscEsc,
}

/// `bytes` (whole UTF-8 characters) without escape sequences, appended to `out`, starting in
/// `state`; returns the state at their end.
fn strip_escapes(mut bytes: &[u8], mut state: Escape, out: &mut Vec<u8>) -> Escape {
    loop {
        if let Escape::None = state {
            match memchr::memchr(0x1b, bytes) {
                None => {
                    out.extend_from_slice(bytes);
                    return Escape::None;
                }
                Some(at) => {
                    out.extend_from_slice(bytes.get(..at).unwrap_or_default());
                    bytes = bytes.get(at + 1..).unwrap_or_default();
                    state = Escape::Esc;
                }
            }
        }
        let Some((&b, rest)) = bytes.split_first() else {
            return state;
        };
        match state {
            Escape::None => {}
            Escape::Esc => {
                bytes = rest;
                state = match b {
                    b'[' => Escape::Csi,
                    b']' => Escape::Osc,
                    _ => {
                        // The rest of the character, when it is not ASCII.
                        let more = bytes.iter().take_while(|&&c| c & 0xc0 == 0x80).count();
                        bytes = bytes.get(more..).unwrap_or_default();
                        Escape::None
                    }
                };
            }
            Escape::Csi => match bytes.iter().position(|c| (b'@'..=b'~').contains(c)) {
                Some(at) => {
                    bytes = bytes.get(at + 1..).unwrap_or_default();
                    state = Escape::None;
                }
                None => return Escape::Csi,
            },
            Escape::Osc => match memchr::memchr2(0x07, 0x1b, bytes) {
                Some(at) => {
                    state = if bytes.get(at) == Some(&0x1b) {
                        Escape::OscEsc
                    } else {
                        Escape::None
                    };
                    bytes = bytes.get(at + 1..).unwrap_or_default();
                }
                None => return Escape::Osc,
            },
            Escape::OscEsc => {
                if b == b'\\' {
                    bytes = rest;
                }
                state = Escape::None;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::plain;

    /// Complete evidence keeps a bounded amount of each line and frame, and frees the rest.
    #[test]
    fn evidence_is_trimmed_and_its_memory_freed() {
        let long = "é".repeat(10_000);
        let e = super::trimmed(super::Evidence {
            python_stack: vec![
                super::PyFrame {
                    file: long.clone(),
                    line: Some(1),
                    function: long.clone(),
                };
                300
            ],
            lines: vec![long.clone(), "short".into()],
            ..super::Evidence::new(super::Runner::Faulthandler, chrono::Utc::now())
        });
        assert_eq!(e.python_stack.len(), super::MAX_LINES);
        for text in e
            .lines
            .iter()
            .chain(e.python_stack.iter().map(|f| &f.function))
        {
            assert!(
                text.len() <= super::KEPT_LINE + '…'.len_utf8(),
                "{}",
                text.len()
            );
            assert!(
                text.capacity() <= super::KEPT_LINE + 8,
                "{}",
                text.capacity()
            );
        }
        assert_eq!(e.lines[1], "short");
        assert!(e.lines[0].ends_with('…'));
    }

    #[test]
    fn escapes_and_overwrites_are_removed() {
        assert_eq!(plain("\u{1b}[31mFAILED\u{1b}[0m test_x"), "FAILED test_x");
        assert_eq!(plain("\u{1b}]0;title\u{7}text"), "text");
        assert_eq!(plain("progress 10%\rprogress 100%"), "progress 100%");
        assert_eq!(plain("line\r"), "line");
        assert_eq!(plain("plain"), "plain");
    }
}
