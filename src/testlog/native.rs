//! Native runners' evidence: cargo test, cargo-nextest, ctest, XCTest/xcodebuild, go test.
//!
//! Each runner says in its own words that a test process died by a signal, and each says a
//! different amount about *which* test it was:
//!
//! - `cargo test` (libtest) runs every test of a binary in one process. When that process dies,
//!   cargo prints `process didn't exit successfully: `…/deps/foo-0123abcd …` (signal: 11, SIGSEGV:
//!   invalid memory reference)`: the binary and the signal, never the test. libtest itself prints
//!   `test module::name ... ` *before* a test runs only when tests run one at a time
//!   (`--test-threads=1`); in parallel it prints each line when the test ends. So the test is
//!   named only when libtest itself announced exactly one test as started and not ended, and
//!   nothing else as running — otherwise it is left out, never guessed. A test reported as
//!   `has been running for over 60 seconds` is not such an announcement: in a parallel run the
//!   crash may come from any test whose line has not been printed yet, so it names no test.
//! - cargo-nextest runs each test in its own process and prints `SIGSEGV [   0.207s] (3/6) crashy
//!   tests::gpu_segfault` (binary id, then test name), then the test's captured output, and the
//!   same line again in the final summary.
//! - CTest prints one result line per test (`2/7 Test #2: gpu_test ....***Exception: SegFault
//!   0.00 sec`) and, at the end, `The following tests FAILED:` with `2 - gpu_test (SEGFAULT)`.
//!   Under `-V` it also prints the test's command (`2: Test command: /path/segv_test`).
//! - xcodebuild prints `Test Case '-[Module.FooTests testBar]' started.` and, when the test
//!   process dies, `Restarting after unexpected exit, crash, or test timeout in
//!   FooTests.testBar(); summary will include totals from previous launches.`, or at the end
//!   `… encountered an error (… Crash: HostApp (3584) …)` with the crashed process and pid.
//! - `go test` prints a Go panic or fatal error with the signal (`[signal SIGSEGV: segmentation
//!   violation code=0x1 addr=0x0 pc=…]`) and the goroutines: the first one listed is the one that
//!   crashed, and a frame `pkg.TestX(…)` in it names the test. Under `go test -json` the same
//!   lines come inside events (`{"Action":"output",…,"Output":"panic: …\n"}`) and are read
//!   from there.
//!
//! Every recogniser here emits one [`Evidence`] per crash: a crash the runner reports twice
//! (nextest's and ctest's summaries, xcodebuild's closing `encountered an error` after its
//! `Restarting` line) is reported once. Each keeps bounded state: a few pending lines, sets
//! capped at [`MAX_REMEMBERED`], lines read up to [`MAX_LINE_BYTES`], and at most [`MAX_LINES`]
//! lines per evidence.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::LazyLock;

use chrono::{DateTime, Utc};
use regex::Regex;

use super::{Evidence, Interest, Line, MAX_LINES, Recognizer, Runner, trim_blank_start};

/// The most names a recogniser remembers at once (tests reported, tests running, ctest
/// commands): a run of a million tests must not grow them without end, and past this many the
/// oldest knowledge is dropped (at worst a summary repeats a crash already reported).
pub const MAX_REMEMBERED: usize = 4096;

/// The native runners' recognisers.
pub fn recognizers() -> Vec<Box<dyn Recognizer>> {
    vec![
        Box::new(CargoTest::default()),
        Box::new(Nextest::default()),
        Box::new(Ctest::default()),
        Box::new(Xcodebuild::default()),
        Box::new(GoTest::default()),
    ]
}

/// Compiles one of this file's fixed patterns; they are tested, so a failure cannot happen at
/// run time, and if it did the pattern would match nothing rather than panic.
fn pattern(source: &str) -> Regex {
    Regex::new(source).unwrap_or_else(|_| {
        // A pattern that can never match: an empty class.
        Regex::new(r"[^\s\S]").unwrap_or_else(|_| unreachable!("the never-matching pattern"))
    })
}

/// The most bytes of a line read and kept: a runner's line that matters is short (the longest,
/// cargo's `process didn't exit successfully: `…``, carries a command line); a program under
/// test can print a line of megabytes, and [`MAX_LINES`] of those must not be kept whole.
pub const MAX_LINE_BYTES: usize = 16 << 10;

/// The line up to its first [`MAX_LINE_BYTES`], cut on a character boundary.
fn head(text: &str) -> &str {
    if text.len() <= MAX_LINE_BYTES {
        return text;
    }
    let mut end = MAX_LINE_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    text.get(..end).unwrap_or_default()
}

/// Appends a line while the evidence holds fewer than [`MAX_LINES`].
fn keep(lines: &mut Vec<String>, text: &str) {
    if lines.len() < MAX_LINES {
        lines.push(text.to_owned());
    }
}

/// Inserts into a set that forgets everything once it holds [`MAX_REMEMBERED`] names: simple,
/// bounded, and the only cost of forgetting is a possible repeat.
fn remember(set: &mut BTreeSet<String>, name: String) {
    if set.len() >= MAX_REMEMBERED {
        set.clear();
    }
    set.insert(name);
}

// ---------------------------------------------------------------------------------------------
// cargo test
// ---------------------------------------------------------------------------------------------

/// libtest's `test name ... ` (the rest is the result, or nothing yet, or the test's own output
/// or cargo's error when the test never finished).
static LIBTEST_START: LazyLock<Regex> = LazyLock::new(|| pattern(r"^test (\S+) \.\.\. ?(.*)$"));
/// libtest's warning about a test that runs long: in parallel runs, the only line naming a test
/// before it ends.
static LIBTEST_SLOW: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^test (\S+) has been running for over \d+ seconds"));
/// A result: what follows `... ` when a test ended, or stands alone on a line after the test's
/// own output under `--nocapture`.
static LIBTEST_RESULT: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^(ok|FAILED|ignored(, .*)?|bench:.*)$"));
/// cargo's report of a test binary that did not exit normally.
static CARGO_DIED: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"process didn't exit successfully: `(.*)` \((signal: (\d+)(?:, (SIG[A-Z0-9]+))?[^)]*)\)",
    )
});

/// `cargo test` (libtest): the test binary that died by a signal and, when only one test was
/// running, the test.
#[derive(Default)]
struct CargoTest {
    /// Tests started (`test x ... ` without a result) or reported slow, not yet ended, with the
    /// line, its time, and whether libtest announced it as started (`test x ... `): only such a
    /// test can be named (a slow report comes from a parallel run, where any test not yet
    /// printed may be the one that crashed).
    running: Vec<Running>,
    /// cargo's `error: test failed, …` and `Caused by:` lines before its `process didn't exit`.
    error: Vec<(String, DateTime<Utc>)>,
}

/// A test libtest said is running: its name, the line, its time, and whether the line was
/// `test x ... ` (announced as started) rather than a slow report.
type Running = (String, String, DateTime<Utc>, bool);

impl CargoTest {
    fn ended(&mut self, name: &str) {
        self.running.retain(|(n, _, _, _)| n != name);
    }

    fn started(&mut self, name: &str, line: &Line) {
        self.ended(name);
        self.remember(name, line, true);
    }

    /// `test x has been running for over 60 seconds`: running, but not announced; a test
    /// already announced stays so.
    fn slow(&mut self, name: &str, line: &Line) {
        if !self.running.iter().any(|(n, _, _, _)| n == name) {
            self.remember(name, line, false);
        }
    }

    fn remember(&mut self, name: &str, line: &Line, announced: bool) {
        if self.running.len() < MAX_REMEMBERED {
            self.running.push((
                name.to_owned(),
                head(&line.text).to_owned(),
                line.at,
                announced,
            ));
        }
    }
}

impl Recognizer for CargoTest {
    fn feed(&mut self, line: &Line) -> Vec<Evidence> {
        let text = head(&line.text);
        let start = text.trim_start();
        if text.starts_with("running ")
            || start.starts_with("Running ")
            || start.starts_with("Doc-tests ")
        {
            // A new test binary: nothing of the last one is running any more.
            self.running.clear();
            self.error.clear();
        } else if let Some(c) = text
            .starts_with("test ")
            .then(|| LIBTEST_START.captures(text))
            .flatten()
        {
            let name = c.get(1).map_or("", |m| m.as_str());
            let rest = c.get(2).map_or("", |m| m.as_str()).trim_end();
            if LIBTEST_RESULT.is_match(rest) {
                self.ended(name);
            } else {
                // No result yet: empty under --test-threads=1, or the test's own output, or
                // cargo's error printed on the same line when the binary died.
                self.started(name, line);
            }
        } else if let Some(c) = text
            .starts_with("test ")
            .then(|| LIBTEST_SLOW.captures(text))
            .flatten()
        {
            let name = c.get(1).map_or("", |m| m.as_str()).to_owned();
            self.slow(&name, line);
        } else if LIBTEST_RESULT.is_match(text.trim_end()) {
            // --nocapture: the result of the last started test, alone after its output.
            if let Some((name, _, _, _)) = self.running.last().cloned() {
                self.ended(&name);
            }
        }
        if text.contains("error: test failed, to rerun pass") {
            self.error = vec![(text.to_owned(), line.at)];
        } else if text.trim() == "Caused by:" && (1..4).contains(&self.error.len()) {
            self.error.push((text.to_owned(), line.at));
        }
        let Some(c) = text
            .contains("process didn't exit successfully")
            .then(|| CARGO_DIED.captures(text))
            .flatten()
        else {
            return Vec::new();
        };
        let command = c.get(1).map_or("", |m| m.as_str());
        let mut found = Evidence::new(Runner::CargoTest, line.at);
        found.program = Some(program_of(command));
        found.signal = c.get(4).or_else(|| c.get(2)).map(|m| m.as_str().to_owned());
        // The test is certain only when exactly one had started without ending, by libtest's
        // own `test x ... ` (one test at a time), and nothing else was running.
        if let [(name, _, _, true)] = self.running.as_slice() {
            found.test = Some(name.clone());
        }
        let mut lines: Vec<(String, DateTime<Utc>)> = self
            .running
            .iter()
            .map(|(_, l, at, _)| (l.clone(), *at))
            .collect();
        lines.append(&mut self.error);
        // The same line can be both a started test and cargo's error (they share a line when
        // the binary died mid-test): keep it once.
        lines.dedup_by(|a, b| a.0 == b.0);
        if lines.last().map(|(l, _)| l.as_str()) != Some(text) {
            lines.push((text.to_owned(), line.at));
        }
        if let Some(first) = lines.iter().map(|(_, at)| *at).min() {
            found.at = first;
        }
        for (l, _) in &lines {
            keep(&mut found.lines, l);
        }
        self.running.clear();
        vec![found]
    }

    /// A result alone on a line ends a running test: while one runs, every line.
    fn interest(&self) -> Option<Interest> {
        Some(Interest {
            literals: &[
                // A new binary (`running 3 tests`, `Running unittests ...`): `running` and
                // `error` start again.
                "running ",
                "doc-tests ",
                "error: test failed, to rerun pass",
                "caused by:",
                "process didn't exit successfully",
            ],
            start: Some(|text| text.starts_with("test ")),
        })
    }

    fn busy(&self) -> bool {
        !self.running.is_empty()
    }
}

/// The program of the command line cargo printed: the path up to the first space after its
/// last `/` (a folder may have spaces; libtest's arguments follow the binary).
fn program_of(command: &str) -> String {
    let start = command.rfind('/').unwrap_or(0);
    let end = command
        .get(start..)
        .and_then(|tail| tail.find(char::is_whitespace))
        .map_or(command.len(), |i| start + i);
    command.get(..end).unwrap_or(command).to_owned()
}

// ---------------------------------------------------------------------------------------------
// cargo-nextest
// ---------------------------------------------------------------------------------------------

/// A nextest status line: an optional retry, the status, the time (blank for `START` under
/// `--no-capture`), an optional `(3/6)` counter (`(───)` for a try that will be retried), then
/// the binary id and the test name (or, from very old versions, one name).
static NEXTEST_STATUS: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"^\s*(TRY \d+ )?([A-Z]+)(?: \d+/\d+)?\s+\[[\s\d.]*s?\s*\]\s+(?:\([^)]*\)\s+)?(\S+)(?:\s+(\S.*?))?\s*$",
    )
});

/// cargo-nextest: each test in its own process, so a signal names the test.
#[derive(Default)]
struct Nextest {
    /// The crash whose captured output is being read.
    open: Option<Evidence>,
    /// Crashes already reported (retry and test id), so the summary does not repeat them.
    seen: BTreeSet<String>,
    /// After `Summary [`: status lines are a list, no output follows them.
    in_summary: bool,
}

impl Nextest {
    fn close(&mut self) -> Vec<Evidence> {
        let mut found = self.open.take();
        if let Some(f) = found.as_mut() {
            // The blank lines nextest puts after a test's output are not evidence.
            while f.lines.last().is_some_and(|l| l.trim().is_empty()) {
                f.lines.pop();
            }
        }
        found.into_iter().collect()
    }
}

/// The signal of a nextest status, `SIGSEGV` for both `SIGSEGV` and the `SEGV` that retried
/// tests' lines print (nextest shortens the name to fit `TRY 1 ` in the column); `ABORT` is
/// Windows' abnormal exit. `None` for the statuses that are no crash (PASS, FAIL, SKIP, LEAK,
/// TIMEOUT, SLOW, FLAKY, START, …).
fn nextest_signal(status: &str) -> Option<String> {
    const SHORT: &[&str] = &[
        "SEGV", "ABRT", "BUS", "ILL", "FPE", "TRAP", "SYS", "KILL", "IOT", "EMT", "TERM", "QUIT",
    ];
    if status.starts_with("SIG") && status.len() > 3 {
        Some(status.to_owned())
    } else if SHORT.contains(&status) {
        Some(format!("SIG{status}"))
    } else if status == "ABORT" {
        Some(status.to_owned())
    } else {
        None
    }
}

impl Recognizer for Nextest {
    fn feed(&mut self, line: &Line) -> Vec<Evidence> {
        let text = head(&line.text);
        let trimmed = text.trim();
        if trimmed.starts_with("Starting ") && trimmed.contains(" tests across ") {
            // A new run (a second `cargo nextest run` in the same command): a crash there is new.
            self.seen.clear();
            self.in_summary = false;
        }
        // Every status line has its time in brackets: most lines are out at once.
        let Some(c) = text
            .contains('[')
            .then(|| NEXTEST_STATUS.captures(text))
            .flatten()
        else {
            // Nextest's rules and summary end a test's output; anything else belongs to it.
            if trimmed.starts_with("Summary [") {
                self.in_summary = true;
                return self.close();
            }
            if trimmed.starts_with('─') {
                return self.close();
            }
            if let Some(open) = self.open.as_mut() {
                keep(&mut open.lines, text);
            }
            return Vec::new();
        };
        let out = self.close();
        let status = c.get(2).map_or("", |m| m.as_str());
        let Some(signal) = nextest_signal(status) else {
            return out;
        };
        let first = c.get(3).map_or("", |m| m.as_str());
        let test = match c.get(4) {
            Some(name) => format!("{first} {}", name.as_str()),
            None => first.to_owned(),
        };
        let key = format!("{}{test}", c.get(1).map_or("", |m| m.as_str()));
        if self.seen.contains(&key) {
            return out;
        }
        remember(&mut self.seen, key);
        let mut found = Evidence::new(Runner::Nextest, line.at);
        found.test = Some(test);
        found.signal = Some(signal);
        keep(&mut found.lines, text);
        if self.in_summary {
            // A crash only the summary shows (its own line was lost): nothing follows it.
            let mut out = out;
            out.push(found);
            return out;
        }
        // Its captured output follows, up to the next status line or rule.
        self.open = Some(found);
        out
    }

    fn finish(&mut self) -> Vec<Evidence> {
        self.close()
    }

    /// With no crash open, a status line matters only when its status is a signal (a `PASS`
    /// closes nothing), and `Summary [` and a new run change what follows: all of them at the
    /// line's start, so no literal (each is one more for the search to tell apart).
    fn interest(&self) -> Option<Interest> {
        Some(Interest {
            literals: &[],
            start: Some(nextest_start),
        })
    }

    fn busy(&self) -> bool {
        self.open.is_some()
    }
}

/// Whether `text` may be a line nextest's recogniser acts on while no crash is open: a status
/// line whose status is a signal (`NEXTEST_STATUS`'s status is the first run of capitals after
/// the blanks, unless the line starts with a retry, `TRY 2 SIGSEGV`), a new run's `Starting N
/// tests across M binaries` or the `Summary [` line, each after the blanks `feed` trims.
fn nextest_start(text: &str) -> bool {
    let text = trim_blank_start(text);
    if !text.starts_with(|c: char| c.is_ascii_uppercase()) {
        return false;
    }
    let status = text
        .find(|c: char| !c.is_ascii_uppercase())
        .and_then(|end| text.get(..end))
        .unwrap_or(text);
    text.starts_with("TRY ")
        || text.starts_with("Starting ")
        || text.starts_with("Summary [")
        || nextest_signal(status).is_some()
}

// ---------------------------------------------------------------------------------------------
// ctest
// ---------------------------------------------------------------------------------------------

/// A CTest result line: `2/7 Test #2: gpu_test .........***Exception: SegFault  0.00 sec`.
static CTEST_RESULT: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^\s*\d+/\d+ Test\s+#(\d+): (\S+) \.*\s*(.*?)\s+[\d.]+ sec\s*$"));
/// `-V`'s `2: Test command: /path/to/segv_test arg`.
static CTEST_COMMAND: LazyLock<Regex> = LazyLock::new(|| pattern(r"^(\d+): Test command: (\S+)"));
/// A line of the summary's list: a tab, then `  2 - gpu_test (SEGFAULT)`.
static CTEST_FAILED: LazyLock<Regex> = LazyLock::new(|| pattern(r"^\s*(\d+) - (\S+) \((.*)\)\s*$"));

/// CTest's words for a test that died by a signal (`cmCTestTestHandler`), in its summary's list
/// and as a JUnit failure's whole `message` (`junit.rs`): everything else there (`Failed`,
/// `Timeout`, `Not Run`, …) is no crash. In the summary's list `Exception` counts too
/// ([`CTEST_EXCEPTION`]); the JUnit reader does not take it.
pub(super) const CTEST_CRASHES: &[&str] = &[
    "SEGFAULT",
    "ILLEGAL",
    "NUMERICAL",
    "INTERRUPT",
    "OTHER_FAULT",
    "Bus error",
    "Subprocess aborted",
    "Child aborted",
];

/// CTest's summary word `Exception`, a crash in its list (see [`CTEST_CRASHES`]).
const CTEST_EXCEPTION: &str = "Exception";

/// CTest: the test by name and number, its command under `-V`.
#[derive(Default)]
struct Ctest {
    /// Test numbers already reported, so the summary does not repeat them.
    seen: BTreeSet<String>,
    /// `-V`'s test commands by test number.
    commands: BTreeMap<String, String>,
    /// Inside `The following tests FAILED:`.
    in_summary: bool,
}

impl Ctest {
    fn report(&mut self, number: &str, name: &str, signal: &str, line: &Line) -> Vec<Evidence> {
        if self.seen.contains(number) {
            return Vec::new();
        }
        remember(&mut self.seen, number.to_owned());
        let mut found = Evidence::new(Runner::Ctest, line.at);
        found.test = Some(name.to_owned());
        found.signal = Some(signal.to_owned());
        found.program = self.commands.get(number).cloned();
        keep(&mut found.lines, head(&line.text));
        vec![found]
    }
}

impl Recognizer for Ctest {
    fn feed(&mut self, line: &Line) -> Vec<Evidence> {
        let text = head(&line.text);
        if text.starts_with("Test project ") {
            // A new ctest run: its test numbers start again.
            self.seen.clear();
            self.commands.clear();
            self.in_summary = false;
        } else if text.starts_with("The following tests FAILED:") {
            self.in_summary = true;
        } else if let Some(c) = text
            .contains(": Test command: ")
            .then(|| CTEST_COMMAND.captures(text))
            .flatten()
        {
            if self.commands.len() >= MAX_REMEMBERED {
                self.commands.clear();
            }
            let number = c.get(1).map_or("", |m| m.as_str()).to_owned();
            let program = c.get(2).map_or("", |m| m.as_str()).to_owned();
            self.commands.insert(number, program);
        } else if let Some(c) = text
            .contains(" Test ")
            .then(|| CTEST_RESULT.captures(text))
            .flatten()
        {
            let status = c.get(3).map_or("", |m| m.as_str());
            if !status.contains("Exception") {
                return Vec::new();
            }
            // `***Exception: SegFault`, `Subprocess aborted***Exception:`, `Bus error***Exception:`.
            let signal = status
                .split("***")
                .map(|part| part.trim().trim_start_matches("Exception:").trim())
                .find(|part| !part.is_empty())
                .unwrap_or("Exception");
            let number = c.get(1).map_or("", |m| m.as_str());
            let name = c.get(2).map_or("", |m| m.as_str());
            return self.report(number, name, signal, line);
        } else if self.in_summary {
            if let Some(c) = CTEST_FAILED.captures(text) {
                let why = c.get(3).map_or("", |m| m.as_str());
                if CTEST_CRASHES.contains(&why) || why == CTEST_EXCEPTION {
                    let number = c.get(1).map_or("", |m| m.as_str());
                    let name = c.get(2).map_or("", |m| m.as_str());
                    return self.report(number, name, why, line);
                }
            } else if !text.trim().is_empty() {
                self.in_summary = false;
            }
        }
        Vec::new()
    }

    /// In the summary's list every line counts; elsewhere its markers and result lines, all of
    /// them at the line's start, so no literal (each is one more for the search to tell apart).
    fn interest(&self) -> Option<Interest> {
        Some(Interest {
            literals: &[],
            start: Some(ctest_start),
        })
    }

    fn busy(&self) -> bool {
        self.in_summary
    }
}

/// Whether `text` may be a line CTest's recogniser acts on outside the summary's list: `Test
/// project /path` (a new run), `The following tests FAILED:`, a `CTEST_COMMAND` line
/// (`2: Test command: ...`) or a `CTEST_RESULT` line (blanks, digits, then `/`: `2/7 Test #2:
/// ...`); blanks are let through before any of them. `char::is_numeric` takes in every digit
/// `\d` does.
fn ctest_start(text: &str) -> bool {
    let text = trim_blank_start(text);
    if text.starts_with(|c: char| c.is_ascii() && !c.is_ascii_digit()) {
        return text.starts_with("Test project ")
            || text.starts_with("The following tests FAILED:");
    }
    let digits = text.trim_start_matches(char::is_numeric);
    digits.len() < text.len() && (digits.starts_with('/') || digits.starts_with(": Test command: "))
}

// ---------------------------------------------------------------------------------------------
// xcodebuild (XCTest)
// ---------------------------------------------------------------------------------------------

/// `Test Case '-[Module.FooTests testBar]' started.` (the module is there for Swift tests).
static XCTEST_STARTED: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"Test Case '-\[(?:[\w.]+\.)?(\w+) (\w+)\]' started\."));
/// The same test ending: passed, failed or skipped.
static XCTEST_ENDED: LazyLock<Regex> = LazyLock::new(|| {
    pattern(r"Test Case '-\[(?:[\w.]+\.)?(\w+) (\w+)\]' (?:passed|failed|skipped)")
});
/// xcodebuild relaunching the test process: since Xcode 13 `unexpected exit, crash, or test
/// timeout in FooTests.testBar()`, before it `unexpected exit or crash in FooTests/testBar()`;
/// the test is left out when xcodebuild did not know it.
static XCTEST_RESTART: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"Restarting after unexpected exit(?:,| or) crash(?:, or test timeout)?(?: in ([^\s;]+))?",
    )
});
/// `… encountered an error (…)`: the test process failed; a crash when the reason says so.
static XCTEST_ERROR: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^\s*(.*?) encountered an error \((.*)$"));
/// The crashed process in an error: `Crash: HomeCooked (3584) Board.columns.getter`.
static XCTEST_CRASH: LazyLock<Regex> = LazyLock::new(|| pattern(r"Crash: (.+?) \((\d+)\)"));
/// The process of an error that starts with it: `xctest (60244) encountered an error`.
static XCTEST_PROCESS: LazyLock<Regex> = LazyLock::new(|| pattern(r"^(\S+) \((\d+)\)$"));
/// `crashed with signal trap`, `Test crashed with signal kill`.
static XCTEST_SIGNAL: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"(?i)with signal ([A-Za-z0-9]+)"));
/// A process's own log line while a test runs: `xctest[40289:2789453]` (NSLog) or
/// `xctest(40178,0x116f153c0) malloc:`.
static XCTEST_PID: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"(?:^|\s)([\w.+-]+)(?:\[(\d+):[0-9a-fx]+\]|\((\d+),0x[0-9a-f]+\))"));

/// XCTest under `xcodebuild test`.
#[derive(Default)]
struct Xcodebuild {
    /// The test started and not ended: `Class.method`, the line, its time.
    running: Option<(String, String, DateTime<Utc>)>,
    /// A process that logged while the test ran (not xcodebuild): its name and pid.
    process: Option<(String, u64)>,
    /// Tests reported, so the closing `encountered an error` does not repeat them.
    seen: BTreeSet<String>,
}

/// `FooTests.testBar()`, `FooTests/testBar()`, `Module.FooTests/testBar()` → `FooTests.testBar`:
/// the class and method, as `-[Module.FooTests testBar]` is normalised too.
fn xctest_id(printed: &str) -> String {
    let bare = printed.trim_end_matches("()");
    let (class, method) = match bare.rsplit_once('/') {
        Some((class, method)) => (class, method),
        None => bare.rsplit_once('.').unwrap_or(("", bare)),
    };
    let class = class.rsplit('.').next().unwrap_or(class);
    if class.is_empty() {
        method.to_owned()
    } else {
        format!("{class}.{method}")
    }
}

impl Recognizer for Xcodebuild {
    fn feed(&mut self, line: &Line) -> Vec<Evidence> {
        let text = head(&line.text);
        let test_case = text.contains("Test Case '-[");
        if let Some(c) = test_case.then(|| XCTEST_STARTED.captures(text)).flatten() {
            let id = format!(
                "{}.{}",
                c.get(1).map_or("", |m| m.as_str()),
                c.get(2).map_or("", |m| m.as_str())
            );
            self.running = Some((id, text.to_owned(), line.at));
            self.process = None;
            return Vec::new();
        }
        if let Some(c) = test_case.then(|| XCTEST_ENDED.captures(text)).flatten() {
            let id = format!(
                "{}.{}",
                c.get(1).map_or("", |m| m.as_str()),
                c.get(2).map_or("", |m| m.as_str())
            );
            if self.running.as_ref().is_some_and(|(r, _, _)| *r == id) {
                self.running = None;
                self.process = None;
            }
            return Vec::new();
        }
        if let Some(c) = text
            .contains("Restarting after unexpected exit")
            .then(|| XCTEST_RESTART.captures(text))
            .flatten()
        {
            let running = self.running.take();
            let mut found = Evidence::new(Runner::Xcodebuild, line.at);
            found.test = match c.get(1) {
                Some(named) => Some(xctest_id(named.as_str())),
                None => running.as_ref().map(|(id, _, _)| id.clone()),
            };
            // The started line belongs to the evidence only when it is the test xcodebuild
            // names: it has named another (the first test of the launch) in real logs.
            if let Some((id, started, at)) = &running
                && found.test.as_ref() == Some(id)
            {
                keep(&mut found.lines, started);
                found.at = *at;
            }
            keep(&mut found.lines, text);
            if let Some((program, pid)) = self.process.take() {
                found.program = Some(program);
                found.pid = Some(pid);
            }
            if let Some(test) = &found.test {
                remember(&mut self.seen, test.clone());
            }
            return vec![found];
        }
        if let Some(c) = text
            .contains(" encountered an error (")
            .then(|| XCTEST_ERROR.captures(text))
            .flatten()
        {
            let reason = c.get(2).map_or("", |m| m.as_str());
            let crashed = reason.contains("Crash:")
                || reason.contains("crashed")
                || XCTEST_SIGNAL.is_match(reason);
            if !crashed {
                // A bundle that failed to load, a lost connection: no crash to join.
                return Vec::new();
            }
            let who = c.get(1).map_or("", |m| m.as_str()).trim();
            let running = self.running.take();
            let test = match &running {
                Some((id, _, _)) => Some(id.clone()),
                // `testBar() encountered an error`: the method alone, often after its
                // Restarting line was already reported.
                None if who.ends_with("()") => {
                    let method = who.trim_end_matches("()");
                    if self
                        .seen
                        .iter()
                        .any(|t| t.rsplit('.').next() == Some(method))
                    {
                        return Vec::new();
                    }
                    Some(method.to_owned())
                }
                None => None,
            };
            let mut found = Evidence::new(Runner::Xcodebuild, line.at);
            found.test = test;
            if let Some(p) = XCTEST_CRASH
                .captures(reason)
                .or_else(|| XCTEST_PROCESS.captures(who))
            {
                found.program = p.get(1).map(|m| m.as_str().to_owned());
                found.pid = p.get(2).and_then(|m| m.as_str().parse().ok());
            } else if let Some((program, pid)) = self.process.take() {
                found.program = Some(program);
                found.pid = Some(pid);
            }
            found.signal = XCTEST_SIGNAL
                .captures(reason)
                .and_then(|s| s.get(1))
                .map(|m| format!("signal {}", m.as_str()));
            if let Some((_, started, at)) = &running {
                keep(&mut found.lines, started);
                found.at = *at;
            }
            keep(&mut found.lines, text);
            if let Some(test) = &found.test {
                remember(&mut self.seen, test.clone());
            }
            return vec![found];
        }
        if self.running.is_some()
            && let Some(c) = XCTEST_PID.captures(text)
        {
            let name = c.get(1).map_or("", |m| m.as_str());
            let pid = c
                .get(2)
                .or_else(|| c.get(3))
                .and_then(|m| m.as_str().parse().ok());
            if let (false, Some(pid)) = (name == "xcodebuild", pid) {
                self.process = Some((name.to_owned(), pid));
            }
        }
        Vec::new()
    }

    /// While a test runs, any line may be a process's log naming its pid (`XCTEST_PID`).
    fn interest(&self) -> Option<Interest> {
        Some(Interest {
            literals: &[
                // `Test Case '-[`, without `test ` (see `Interest::literals`).
                "case '-[",
                "restarting after unexpected exit",
                " encountered an error (",
            ],
            start: None,
        })
    }

    fn busy(&self) -> bool {
        self.running.is_some()
    }
}

// ---------------------------------------------------------------------------------------------
// go test
// ---------------------------------------------------------------------------------------------

/// The first line of a Go crash: a panic, a fatal error, a fault, or a signal the runtime did
/// not handle (`SIGSEGV: segmentation violation`, printed when a signal is sent to it).
static GO_CRASH_START: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^(panic: |fatal error: |unexpected fault address|SIG[A-Z0-9]+: )"));
/// The runtime's signal line: `[signal SIGSEGV: segmentation violation code=0x1 addr=0x0 …]`.
static GO_SIGNAL: LazyLock<Regex> = LazyLock::new(|| pattern(r"^\[signal (SIG[A-Z0-9]+)"));
/// An unhandled signal's own line: `SIGSEGV: segmentation violation`.
static GO_BARE_SIGNAL: LazyLock<Regex> = LazyLock::new(|| pattern(r"^(SIG[A-Z0-9]+): "));
/// A goroutine's header: `goroutine 19 [running]:`, or with `GOTRACEBACK=system`/`crash` since
/// Go 1.23 `goroutine 1 gp=0xc000002380 m=0 mp=0x5e7b20 [running]:`.
static GO_GOROUTINE: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^goroutine \d+ (?:[^\[\s]+ )*\["));
/// A frame's function line: `example.com/gocrash.TestNilDevice(0x0?)` (its file is the next,
/// tab-indented line).
static GO_FRAME: LazyLock<Regex> = LazyLock::new(|| pattern(r"^([^\s(][^\s]*?)\(.*\)$"));
/// A test function by Go's rule: `Test`, `Benchmark` or `Fuzz`, then nothing or not a lower-case
/// letter.
static GO_TEST_NAME: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^(?:Test|Benchmark|Fuzz)(?:[^a-z].*)?$"));
/// `=== RUN   TestX`, `=== CONT  TestX`: a test running (under `-v`).
static GO_RUN: LazyLock<Regex> = LazyLock::new(|| pattern(r"^=== (RUN|CONT|PAUSE)\s+(\S+)"));
/// `--- FAIL: TestX (0.00s)`, and PASS/SKIP: a test ended.
static GO_ENDED: LazyLock<Regex> = LazyLock::new(|| pattern(r"^\s*--- (FAIL|PASS|SKIP): (\S+)"));
/// The package's closing line: `FAIL`, a tab, `example.com/gocrash`, a tab, `0.008s` (or `ok`
/// and the package).
static GO_PACKAGE: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^(?:FAIL|ok)\s+(\S+)\s+(?:[\d.]+s|\(cached\))"));

/// How many lines into a Go crash its signal line comes, at the latest (`panic:`, its
/// `[recovered]` repeat, then `[signal …]`; `unexpected fault address`, `fatal error: fault`, then
/// `[signal …]`), with room to spare.
const GO_SIGNAL_WITHIN: usize = 8;

/// A Go crash being read, up to its package's closing line.
struct GoCrash {
    at: DateTime<Utc>,
    lines: Vec<String>,
    signal: Option<String>,
    /// Goroutine headers seen: the first listed is the one that crashed.
    goroutines: usize,
    /// The test in the crashing goroutine's frames.
    crashing_test: Option<String>,
    /// Tests in any goroutine's frames (at most a few distinct ones matter).
    any_tests: BTreeSet<String>,
}

/// `go test`: a panic or fatal error with a signal, the goroutine that crashed, the test.
#[derive(Default)]
struct GoTest {
    /// Tests running by `=== RUN`/`=== CONT`, not ended.
    running: Vec<(String, String)>,
    /// The last `--- FAIL: TestX` line, while only the test's indented log lines followed it:
    /// Go prints it just before re-panicking a test's panic.
    failed: Option<(String, String)>,
    crash: Option<GoCrash>,
}

/// The test a frame's function belongs to: `example.com/pkg.TestX.func1` → `TestX`.
fn go_test_of(function: &str) -> Option<String> {
    let tail = function.rsplit('/').next().unwrap_or(function);
    // Skip the package; a method's receiver `(*T)` is not a test name.
    tail.split('.')
        .skip(1)
        .find(|part| GO_TEST_NAME.is_match(part))
        .map(str::to_owned)
}

/// The test binary `go test` builds for a package: its last path element (without a
/// `/vN` major version), then `.test` — the process name a crash report carries.
fn go_binary(package: &str) -> String {
    let mut parts = package.rsplit('/');
    let last = parts.next().unwrap_or(package);
    let is_version = last.len() > 1
        && last.starts_with('v')
        && last
            .get(1..)
            .is_some_and(|n| n.chars().all(|c| c.is_ascii_digit()));
    let name = match (is_version, parts.next()) {
        (true, Some(before)) => before,
        _ => last,
    };
    format!("{name}.test")
}

impl GoTest {
    /// The crash is over (its package's line, or the end of output): evidence when a signal was
    /// involved — a plain panic or fatal error is a Go failure, not a crash a report joins.
    fn close(&mut self, package: Option<&str>) -> Vec<Evidence> {
        let Some(crash) = self.crash.take() else {
            return Vec::new();
        };
        let Some(signal) = crash.signal else {
            return Vec::new();
        };
        let mut found = Evidence::new(Runner::GoTest, crash.at);
        found.signal = Some(signal);
        found.program = package.map(go_binary);
        let mut lead: Option<String> = None;
        found.test = if let Some(test) = crash.crashing_test {
            Some(test)
        } else if let [(name, started)] = self.running.as_slice() {
            lead = Some(started.clone());
            Some(name.clone())
        } else if crash.any_tests.len() == 1 {
            crash.any_tests.into_iter().next()
        } else if let Some((name, ended)) = self.failed.take() {
            lead = Some(ended);
            Some(name)
        } else {
            None
        };
        if let Some(lead) = lead {
            keep(&mut found.lines, &lead);
        }
        for l in &crash.lines {
            keep(&mut found.lines, l);
        }
        self.running.clear();
        self.failed = None;
        vec![found]
    }
}

/// One event of `go test -json` (test2json): only its output matters here, read as the lines
/// `go test` would have printed.
#[derive(serde::Deserialize)]
struct GoJsonEvent {
    #[serde(rename = "Action")]
    action: String,
    #[serde(rename = "Output")]
    output: Option<String>,
}

impl GoTest {
    /// One line of `go test`'s own output (or of the output a `-json` event carries).
    fn read(&mut self, text: &str, at: DateTime<Utc>) -> Vec<Evidence> {
        if let Some(c) = (text.starts_with("FAIL") || text.starts_with("ok "))
            .then(|| GO_PACKAGE.captures(text))
            .flatten()
        {
            let package = c.get(1).map(|m| m.as_str().to_owned());
            let mut out = self.close(package.as_deref());
            if let (Some(found), Some(_)) = (out.last_mut(), &package) {
                keep(&mut found.lines, text);
            }
            self.running.clear();
            self.failed = None;
            return out;
        }
        if self
            .crash
            .as_ref()
            .is_some_and(|c| c.signal.is_none() && c.lines.len() >= GO_SIGNAL_WITHIN)
        {
            // The runtime prints the signal within the first lines of a crash; a "panic: "
            // without one is a Go panic (or another program's text), not a crash.
            self.crash = None;
        }
        if let Some(crash) = self.crash.as_mut() {
            keep(&mut crash.lines, text);
            // Frames' file lines start with a tab: none of the patterns below is one.
            if text.starts_with('\t') {
                return Vec::new();
            }
            if let Some(c) = GO_SIGNAL
                .captures(text)
                .or_else(|| GO_BARE_SIGNAL.captures(text))
            {
                if crash.signal.is_none() {
                    crash.signal = c.get(1).map(|m| m.as_str().to_owned());
                }
            } else if GO_GOROUTINE.is_match(text) {
                crash.goroutines += 1;
            } else if crash.goroutines > 0
                && let Some(test) = GO_FRAME
                    .captures(text)
                    .and_then(|c| c.get(1))
                    .and_then(|m| go_test_of(m.as_str()))
            {
                if crash.goroutines == 1 && crash.crashing_test.is_none() {
                    crash.crashing_test = Some(test.clone());
                }
                if crash.any_tests.len() < 8 {
                    crash.any_tests.insert(test);
                }
            }
            return Vec::new();
        }
        if GO_CRASH_START.is_match(text) {
            let mut crash = GoCrash {
                at,
                lines: Vec::new(),
                signal: GO_BARE_SIGNAL
                    .captures(text)
                    .and_then(|c| c.get(1))
                    .map(|m| m.as_str().to_owned()),
                goroutines: 0,
                crashing_test: None,
                any_tests: BTreeSet::new(),
            };
            keep(&mut crash.lines, text);
            self.crash = Some(crash);
            return Vec::new();
        }
        if let Some(c) = text
            .starts_with("=== ")
            .then(|| GO_RUN.captures(text))
            .flatten()
        {
            let name = c.get(2).map_or("", |m| m.as_str()).to_owned();
            self.running.retain(|(n, _)| *n != name);
            // A paused parallel test is not running until its CONT.
            if c.get(1).map(|m| m.as_str()) != Some("PAUSE") && self.running.len() < MAX_REMEMBERED
            {
                self.running.push((name, text.to_owned()));
            }
            self.failed = None;
        } else if let Some(c) = text
            .contains("--- ")
            .then(|| GO_ENDED.captures(text))
            .flatten()
        {
            let name = c.get(2).map_or("", |m| m.as_str()).to_owned();
            self.running.retain(|(n, _)| *n != name);
            self.failed =
                (c.get(1).map(|m| m.as_str()) == Some("FAIL")).then(|| (name, text.to_owned()));
        } else if !text.starts_with("    ") {
            // Only the failed test's own indented log lines keep it adjacent to a panic.
            self.failed = None;
        }
        Vec::new()
    }
}

impl Recognizer for GoTest {
    fn feed(&mut self, line: &Line) -> Vec<Evidence> {
        let text = head(&line.text);
        // `go test -json` (and gotestsum, which runs it): each output line in an event.
        if text.starts_with("{\"") && text.contains("\"Action\":\"output\"") {
            return match serde_json::from_str::<GoJsonEvent>(text) {
                Ok(event) if event.action == "output" => event
                    .output
                    .unwrap_or_default()
                    .lines()
                    .flat_map(|l| self.read(head(l), line.at))
                    .collect(),
                _ => Vec::new(),
            };
        }
        self.read(text, line.at)
    }

    fn finish(&mut self) -> Vec<Evidence> {
        self.close(None)
    }

    /// Inside a crash every line is kept, and after `--- FAIL` any unindented line forgets it;
    /// otherwise only the lines `read` tests at their start, and `-json` events.
    fn interest(&self) -> Option<Interest> {
        Some(Interest {
            literals: &["\"action\":\"output\""],
            start: Some(go_start),
        })
    }

    fn busy(&self) -> bool {
        self.crash.is_some() || self.failed.is_some()
    }
}

/// Whether `text` starts as a line `GoTest::read` acts on outside a crash: a package's result
/// (`GO_PACKAGE`), a crash's first line (`GO_CRASH_START`), `GO_RUN`, `GO_ENDED`.
fn go_start(text: &str) -> bool {
    const STARTS: [&str; 7] = [
        "FAIL",
        "ok ",
        "panic: ",
        "fatal error: ",
        "unexpected fault address",
        "SIG",
        "=== ",
    ];
    (text.starts_with(['F', 'o', 'p', 'f', 'u', 'S', '='])
        && STARTS.iter().any(|s| text.starts_with(s)))
        || trim_blank_start(text).starts_with("--- ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn feed_all(r: &mut dyn Recognizer, text: &str) -> Vec<Evidence> {
        let mut out = Vec::new();
        for (i, t) in text.lines().enumerate() {
            let at = Utc
                .timestamp_opt(1_000 + i64::try_from(i).unwrap(), 0)
                .unwrap();
            out.extend(r.feed(&Line {
                stream: super::super::Stream::Stdout,
                at,
                text: t.to_owned(),
            }));
        }
        out.extend(r.finish());
        out
    }

    /// The fixed patterns all compile: none of them fell back to the one that matches nothing.
    #[test]
    fn every_pattern_compiles() {
        let never = pattern("(");
        assert!(!never.is_match("") && !never.is_match("anything ("));
        let all: [&Regex; 24] = [
            &LIBTEST_START,
            &LIBTEST_SLOW,
            &LIBTEST_RESULT,
            &CARGO_DIED,
            &NEXTEST_STATUS,
            &CTEST_RESULT,
            &CTEST_COMMAND,
            &CTEST_FAILED,
            &XCTEST_STARTED,
            &XCTEST_ENDED,
            &XCTEST_RESTART,
            &XCTEST_ERROR,
            &XCTEST_CRASH,
            &XCTEST_PROCESS,
            &XCTEST_SIGNAL,
            &XCTEST_PID,
            &GO_CRASH_START,
            &GO_SIGNAL,
            &GO_BARE_SIGNAL,
            &GO_GOROUTINE,
            &GO_FRAME,
            &GO_TEST_NAME,
            &GO_RUN,
            &GO_ENDED,
        ];
        for p in all.into_iter().chain([&*GO_PACKAGE]) {
            assert_ne!(p.as_str(), never.as_str());
        }
    }

    #[test]
    fn cargo_program_is_the_binary_even_with_spaces_and_arguments() {
        assert_eq!(
            program_of("/tmp/my dir/target/debug/deps/foo-0123 --test-threads=1"),
            "/tmp/my dir/target/debug/deps/foo-0123"
        );
        assert_eq!(program_of("foo"), "foo");
    }

    #[test]
    fn long_lines_are_read_up_to_their_head() {
        let long = format!("SIGSEGV [   0.1s] bin {}", "é".repeat(MAX_LINE_BYTES));
        let out = feed_all(&mut Nextest::default(), &long);
        assert_eq!(out.len(), 1);
        assert!(out[0].lines[0].len() <= MAX_LINE_BYTES);
        assert!(out[0].test.as_ref().unwrap().len() <= MAX_LINE_BYTES);
    }

    #[test]
    fn cargo_exit_status_is_no_crash() {
        let out = feed_all(
            &mut CargoTest::default(),
            "test a ... \nerror: test failed, to rerun pass `--lib`\n\nCaused by:\n  process didn't exit successfully: `/t/deps/x-1` (exit status: 101)\n",
        );
        assert!(out.is_empty());
    }

    #[test]
    fn cargo_two_slow_tests_are_ambiguous() {
        let out = feed_all(
            &mut CargoTest::default(),
            "running 3 tests\ntest a has been running for over 60 seconds\ntest b has been running for over 60 seconds\n  process didn't exit successfully: `/t/deps/x-1` (signal: 6, SIGABRT: process abort signal)\n",
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].test, None);
        assert_eq!(out[0].lines.len(), 3);
        assert_eq!(out[0].signal.as_deref(), Some("SIGABRT"));
    }

    #[test]
    fn cargo_signal_without_a_name_keeps_the_number() {
        let out = feed_all(
            &mut CargoTest::default(),
            "  process didn't exit successfully: `/t/deps/x-1` (signal: 7)\n",
        );
        assert_eq!(out[0].signal.as_deref(), Some("signal: 7"));
    }

    #[test]
    fn nextest_old_single_name_and_retries() {
        let out = feed_all(
            &mut Nextest::default(),
            "     SIGSEGV [   0.123s] crate::module::test_name\nTRY 1 SIGSEGV [ 0.1s] bin t\nTRY 2 SIGSEGV [ 0.1s] bin t\n",
        );
        let tests: Vec<_> = out.iter().map(|e| e.test.clone().unwrap()).collect();
        assert_eq!(tests, ["crate::module::test_name", "bin t", "bin t"]);
    }

    #[test]
    fn xctest_ids_are_normalised() {
        assert_eq!(xctest_id("FooTests.testBar()"), "FooTests.testBar");
        assert_eq!(xctest_id("FooTests/testBar()"), "FooTests.testBar");
        assert_eq!(
            xctest_id("HealthInsightsTests.CardRoutingTests/testEveryCardRoutes()"),
            "CardRoutingTests.testEveryCardRoutes"
        );
        assert_eq!(xctest_id("testBar()"), "testBar");
    }

    #[test]
    fn xctest_old_restart_and_a_malloc_pid() {
        let out = feed_all(
            &mut Xcodebuild::default(),
            "Test Case '-[FooTests testBar]' started.\nxctest(40178,0x116f153c0) malloc: *** error for object 0x129004350: pointer being freed was not allocated\nRestarting after unexpected exit or crash in FooTests/testBar(); summary will include totals from previous launches.\n",
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].test.as_deref(), Some("FooTests.testBar"));
        assert_eq!(out[0].pid, Some(40178));
        assert_eq!(out[0].program.as_deref(), Some("xctest"));
    }

    #[test]
    fn xctest_bundle_load_failure_is_no_crash() {
        let out = feed_all(
            &mut Xcodebuild::default(),
            "xctest (60244) encountered an error (Early unexpected exit, operation never finished bootstrapping - no restart will be attempted. (Underlying error: The test runner failed to load the test bundle.))\n",
        );
        assert!(out.is_empty());
        let out = feed_all(
            &mut Xcodebuild::default(),
            "XCTestCrash (67172) encountered an error (Early unexpected exit, operation never finished bootstrapping - no restart will be attempted. (Underlying Error: Test crashed with signal trap before starting test execution.\n",
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].pid, Some(67172));
        assert_eq!(out[0].signal.as_deref(), Some("signal trap"));
        assert_eq!(out[0].test, None);
    }

    #[test]
    fn go_names() {
        assert_eq!(
            go_test_of("example.com/gocrash.TestNilDevice").as_deref(),
            Some("TestNilDevice")
        );
        assert_eq!(
            go_test_of("example.com/x.TestA.func1").as_deref(),
            Some("TestA")
        );
        assert_eq!(go_test_of("testing.tRunner"), None);
        assert_eq!(go_test_of("example.com/x.Testify"), None);
        assert_eq!(go_binary("example.com/gocrash"), "gocrash.test");
        assert_eq!(go_binary("example.com/mod/v2"), "mod.test");
        assert_eq!(go_binary("v2"), "v2.test");
    }

    #[test]
    fn nextest_summary_only_crash_takes_no_following_lines() {
        let out = feed_all(
            &mut Nextest::default(),
            "     Summary [   0.218s] 3/6 tests run: 1 passed, 2 failed, 0 skipped\n     SIGSEGV [   0.208s] (3/6) crashy tests::gpu_segfault\nwarning: 3/6 tests were not run due to test failure\nerror: test run failed\n",
        );
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].lines.len(), 1);
    }

    #[test]
    fn go_panic_text_without_a_signal_is_dropped_early() {
        let mut text = String::from("panic: not a go crash\n");
        for i in 0..20 {
            text.push_str(&format!("line {i}\n"));
        }
        text.push_str("=== RUN   TestGPU\nSIGSEGV: segmentation violation\nPC=0x1 m=0 sigcode=0\n\ngoroutine 0 [idle]:\nruntime.futex()\nFAIL\texample.com/gpu\t0.1s\n");
        let out = feed_all(&mut GoTest::default(), &text);
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].test.as_deref(), Some("TestGPU"));
    }

    #[test]
    fn go_1_23_goroutine_headers() {
        assert!(GO_GOROUTINE.is_match("goroutine 1 gp=0xc000002380 m=0 mp=0x5e7b20 [running]:"));
        assert!(GO_GOROUTINE.is_match("goroutine 19 [running]:"));
        assert!(!GO_GOROUTINE.is_match("goroutine count: 3 [x]"));
    }

    #[test]
    fn go_plain_panic_is_no_crash() {
        let out = feed_all(
            &mut GoTest::default(),
            "--- FAIL: TestX (0.00s)\npanic: boom [recovered]\n\tpanic: boom\n\ngoroutine 7 [running]:\nexample.com/p.TestX(0x0?)\n\t/p/x_test.go:9 +0x1\nFAIL\texample.com/p\t0.01s\n",
        );
        assert!(out.is_empty());
    }
}
