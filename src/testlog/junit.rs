//! JUnit XML a runner wrote: `pytest --junitxml`, cargo-nextest's JUnit, `ctest --output-junit`.
//!
//! A runner's JUnit file outlives its terminal output and names every test exactly, so
//! `--test-results FILE` reads it as a second source of evidence. Each `<failure>` or `<error>`
//! of a `<testcase>` that says the test *crashed* becomes an [`Evidence`] — and so does each
//! crashed retry nextest records (`<rerunFailure>`, `<flakyFailure>`): every try was a process
//! that died, with a crash report of its own. Runners say it in these ways:
//!
//! - pytest-xdist: `worker 'gw0' crashed while running 'tests/test_gpu.py::TestMPS::test_gather'`
//!   (an `<error>`; the quoted node id is the test, the worker is kept). Plain pytest writes no
//!   file at all when its process dies by a signal: only xdist (whose controller survives) does.
//! - cargo-nextest: `process aborted with signal 11 (SIGSEGV)` (a `<failure type="test abort">`).
//! - CTest 4.4: `<failure message="SEGFAULT"/>` (also `Subprocess aborted`, `Bus error`,
//!   `ILLEGAL`, `NUMERICAL`, `OTHER_FAULT`). Older CTest (3.25) writes `message=""` for every
//!   failure, crash or not: nothing can be read from it.
//! - anything else that says `SIGSEGV` and its kin, `Segmentation fault`, `Fatal Python error`,
//!   `crashed with signal`, `killed by signal`.
//!
//! The test is named as the runner names it: nextest's `binary-id test::name` (the same as its
//! terminal lines, so both sources agree), the quoted pytest node id of an xdist crash, the name
//! alone when the classname repeats it (CTest), else `classname::name` — for pytest
//! `tests.test_gpu.TestMPS::test_gather`, which is *not* a node id: which dots of the classname
//! were folders, which the module and which classes cannot be told from the file.
//!
//! The file is untrusted input: at most [`MAX_BYTES`] are read and at most [`MAX_TESTCASES`] test
//! cases; a failure's text is kept up to [`MAX_TEXT`] bytes and [`MAX_LINES`] lines. quick-xml
//! never reads a DTD: entities other than XML's five and character references are left as they
//! were written (`&xxe;`), so no entity can expand or reach outside the file.

use std::sync::LazyLock;

use chrono::{DateTime, NaiveDateTime, Utc};
use quick_xml::escape::resolve_predefined_entity;
use quick_xml::events::{BytesStart, Event};
use quick_xml::{Reader, XmlVersion};
use regex::Regex;

use super::{Evidence, MAX_LINES, Runner};

/// The largest JUnit file read: far above a real suite's (a 100 000-test pytest run writes
/// tens of MB), far below what would hurt.
pub const MAX_BYTES: usize = 256 << 20;

/// The most `<testcase>` elements read.
pub const MAX_TESTCASES: usize = 1_000_000;

/// The most bytes of one failure's text kept (its message and its body).
pub const MAX_TEXT: usize = 64 << 10;

/// Why a JUnit file could not be read.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JunitError {
    /// Over [`MAX_BYTES`].
    #[error("the JUnit file has {size} bytes, more than the {max} read")]
    TooLarge {
        /// Its size.
        size: usize,
        /// The limit.
        max: usize,
    },
    /// Over [`MAX_TESTCASES`] test cases.
    #[error("the JUnit file has more than {max} test cases")]
    TooManyTestcases {
        /// The limit.
        max: usize,
    },
    /// Not well-formed XML.
    #[error("the JUnit file is not well-formed XML (at byte {position}): {message}")]
    Xml {
        /// Where the parser stopped.
        position: u64,
        /// What it said.
        message: String,
    },
    /// Well-formed, but no `<testsuites>`, `<testsuite>` or `<testcase>` in it.
    #[error("the file has no <testsuites>, <testsuite> or <testcase>: not JUnit XML")]
    NotJunit,
}

/// What says a failure was a crash, wherever it is written (message, type or text).
static CRASHED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r"(?i)\bSIG(?:SEGV|BUS|ABRT|ILL|FPE|TRAP|SYS|KILL|EMT|IOT)\b|segmentation fault|\bsegfault\b|crashed while running|fatal python error|\bworker\b.{0,40}\bcrashed\b|(?:aborted|crashed|killed|terminated|exited) (?:with|by) signal",
    )
    .unwrap_or_else(|_| unreachable_pattern())
});
/// The signal's name, when written.
static SIGNAL_NAME: LazyLock<Regex> =
    LazyLock::new(|| Regex::new(r"\bSIG[A-Z]{2,6}\b").unwrap_or_else(|_| unreachable_pattern()));
/// faulthandler's first line: `Fatal Python error: Segmentation fault`.
static FATAL_PYTHON: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"Fatal Python error: ([^\n]+)").unwrap_or_else(|_| unreachable_pattern())
});
/// The other ways of saying it, as written.
static SIGNAL_WORDS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)segmentation fault|\bsegfault\b|with signal \w+|by signal \w+")
        .unwrap_or_else(|_| unreachable_pattern())
});
/// pytest-xdist's crash: the worker and the node id.
static XDIST: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"worker '([^']+)' crashed while running '([^']+)'")
        .unwrap_or_else(|_| unreachable_pattern())
});

/// A pattern that matches nothing, should one of the fixed patterns above not compile (they
/// are tested; this keeps the library free of panics all the same).
fn unreachable_pattern() -> Regex {
    Regex::new(r"[^\s\S]").unwrap_or_else(|_| unreachable!("an empty class compiles"))
}

/// The elements that record one failed attempt of a test: JUnit's `failure` and `error`, and
/// the retries' (Maven Surefire's names, written by nextest): `rerunFailure` for a try of a test
/// that failed in the end, `flakyFailure` for a try of one that passed later. Each crashed try
/// was a process that died, so each is evidence.
fn is_failure(name: &str) -> bool {
    matches!(
        name,
        "failure" | "error" | "rerunFailure" | "rerunError" | "flakyFailure" | "flakyError"
    )
}

/// A failed attempt being read.
#[derive(Default)]
struct Failure {
    message: String,
    kind: String,
    text: String,
    /// The attempt's own `timestamp` (nextest's retries).
    at: Option<DateTime<Utc>>,
}

/// A `<testcase>` being read.
#[derive(Default)]
struct Case {
    name: String,
    classname: String,
    at: Option<DateTime<Utc>>,
    failures: Vec<Failure>,
}

/// The JUnit file's crashes, in file order: one [`Evidence`] (runner [`Runner::Junit`]) for each
/// crashed attempt of a test case.
///
/// The evidence's time is the attempt's `timestamp` (nextest's retries), else the test case's
/// (nextest), else its suite's (pytest,
/// CTest; a time without a zone is read as UTC), else the Unix epoch: the caller knows when the
/// file was written (its modification time) better than the file does.
pub fn read(bytes: &[u8]) -> Result<Vec<Evidence>, JunitError> {
    if bytes.len() > MAX_BYTES {
        return Err(JunitError::TooLarge {
            size: bytes.len(),
            max: MAX_BYTES,
        });
    }
    let mut reader = Reader::from_reader(bytes);
    let mut out = Vec::new();
    let mut nextest = false;
    let mut junit = false;
    let mut cases = 0usize;
    let mut suite_at: Vec<Option<DateTime<Utc>>> = Vec::new();
    let mut case: Option<Case> = None;
    let mut failure: Option<Failure> = None;
    // Elements inside the failure being read (nextest puts `<system-out>` in a rerun's): their
    // text is not the failure's.
    let mut nested = 0usize;
    loop {
        let event = reader.read_event().map_err(|e| JunitError::Xml {
            position: reader.error_position(),
            message: e.to_string(),
        })?;
        match event {
            Event::Start(_) if failure.is_some() => nested += 1,
            Event::End(_) if failure.is_some() && nested > 0 => nested -= 1,
            Event::Empty(_) if failure.is_some() => {}
            Event::Text(_) | Event::CData(_) | Event::GeneralRef(_) if nested > 0 => {}
            Event::Start(e) => {
                // An element with content: opened here, closed by its End.
                match e.local_name().as_ref() {
                    "testsuites" => {
                        junit = true;
                        nextest |= attribute(&e, "name").as_deref() == Some("nextest-run");
                    }
                    "testsuite" => {
                        junit = true;
                        suite_at.push(attribute(&e, "timestamp").as_deref().and_then(time));
                    }
                    "testcase" => {
                        junit = true;
                        cases += 1;
                        if cases > MAX_TESTCASES {
                            return Err(JunitError::TooManyTestcases { max: MAX_TESTCASES });
                        }
                        case = Some(open_case(&e, &suite_at));
                    }
                    name if is_failure(name) && case.is_some() => {
                        failure = Some(open_failure(&e));
                    }
                    _ => {}
                }
            }
            Event::Empty(e) => match e.local_name().as_ref() {
                "testsuites" | "testsuite" => junit = true,
                "testcase" => {
                    junit = true;
                    cases += 1;
                    if cases > MAX_TESTCASES {
                        return Err(JunitError::TooManyTestcases { max: MAX_TESTCASES });
                    }
                }
                name if is_failure(name) => {
                    if let Some(c) = case.as_mut() {
                        c.failures.push(open_failure(&e));
                    }
                }
                _ => {}
            },
            Event::Text(t) => append(&mut failure, &t.xml10_content()),
            Event::CData(t) => append(&mut failure, &t.xml10_content()),
            Event::GeneralRef(r) => {
                let name = r.xml10_content();
                let resolved = match r.resolve_char_ref() {
                    Ok(Some(c)) => c.to_string(),
                    _ => match resolve_predefined_entity(&name) {
                        Some(s) => s.to_owned(),
                        // Never expanded: as written.
                        None => format!("&{name};"),
                    },
                };
                append(&mut failure, &resolved);
            }
            Event::End(e) => match e.local_name().as_ref() {
                name if is_failure(name) => {
                    if let (Some(f), Some(c)) = (failure.take(), case.as_mut()) {
                        c.failures.push(f);
                    }
                }
                "testcase" => {
                    if let Some(c) = case.take() {
                        out.extend(evidence_of(c, nextest));
                    }
                }
                "testsuite" => {
                    suite_at.pop();
                }
                _ => {}
            },
            Event::Eof => break,
            _ => {}
        }
    }
    if junit {
        Ok(out)
    } else {
        Err(JunitError::NotJunit)
    }
}

/// An attribute's value, entities resolved as XML's five and character references only.
fn attribute(e: &BytesStart<'_>, key: &str) -> Option<String> {
    e.attributes()
        .filter_map(Result::ok)
        .find(|a| a.key.local_name().as_ref() == key)
        .map(|a| match a.normalized_value(XmlVersion::Implicit1_0) {
            Ok(v) => v.into_owned(),
            // An unknown entity: kept as written, never expanded.
            Err(_) => a.value.clone().into_owned(),
        })
}

/// A JUnit timestamp: RFC 3339 (nextest, pytest), or without a zone (CTest), read as UTC.
fn time(text: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|t| t.and_utc())
        })
}

fn open_case(e: &BytesStart<'_>, suite_at: &[Option<DateTime<Utc>>]) -> Case {
    Case {
        name: attribute(e, "name").unwrap_or_default(),
        classname: attribute(e, "classname").unwrap_or_default(),
        at: attribute(e, "timestamp")
            .as_deref()
            .and_then(time)
            .or_else(|| suite_at.iter().rev().flatten().next().copied()),
        failures: Vec::new(),
    }
}

fn open_failure(e: &BytesStart<'_>) -> Failure {
    let mut message = attribute(e, "message").unwrap_or_default();
    truncate(&mut message, MAX_TEXT);
    let mut kind = attribute(e, "type").unwrap_or_default();
    truncate(&mut kind, MAX_TEXT);
    Failure {
        message,
        kind,
        text: String::new(),
        at: attribute(e, "timestamp").as_deref().and_then(time),
    }
}

/// Adds text to the failure being read, up to [`MAX_TEXT`] bytes.
fn append(failure: &mut Option<Failure>, text: &str) {
    let Some(f) = failure.as_mut() else {
        return;
    };
    let room = MAX_TEXT.saturating_sub(f.text.len());
    if room == 0 {
        return;
    }
    let mut end = text.len().min(room);
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    f.text.push_str(text.get(..end).unwrap_or_default());
}

/// Cuts a string to at most `max` bytes, on a character boundary.
fn truncate(s: &mut String, max: usize) {
    if s.len() > max {
        let mut end = max;
        while !s.is_char_boundary(end) {
            end -= 1;
        }
        s.truncate(end);
    }
}

/// The evidence of a test case: one for each of its attempts that says it crashed.
fn evidence_of(case: Case, nextest: bool) -> Vec<Evidence> {
    let mut out = Vec::new();
    for failure in case.failures {
        let crashed = super::native::CTEST_CRASHES.contains(&failure.message.trim())
            || CRASHED.is_match(&failure.message)
            || CRASHED.is_match(&failure.kind)
            || CRASHED.is_match(&failure.text);
        if !crashed {
            continue;
        }
        let all = format!("{}\n{}\n{}", failure.message, failure.kind, failure.text);
        let xdist = XDIST.captures(&all);
        let test = if let Some(node) = xdist.as_ref().and_then(|c| c.get(2)) {
            node.as_str().to_owned()
        } else if nextest {
            format!("{} {}", case.classname, case.name)
        } else if case.classname.is_empty() || case.classname == case.name {
            case.name.clone()
        } else {
            format!("{}::{}", case.classname, case.name)
        };
        let signal = if let Some(m) = SIGNAL_NAME.find(&all) {
            Some(m.as_str().to_owned())
        } else if let Some(c) = FATAL_PYTHON.captures(&all).and_then(|c| c.get(1)) {
            Some(c.as_str().trim().to_owned())
        } else if super::native::CTEST_CRASHES.contains(&failure.message.trim()) {
            Some(failure.message.trim().to_owned())
        } else {
            SIGNAL_WORDS.find(&all).map(|m| m.as_str().to_owned())
        };
        let mut lines = Vec::new();
        if !failure.message.is_empty() {
            lines.push(failure.message.clone());
        }
        for line in failure.text.lines() {
            if lines.len() >= MAX_LINES {
                break;
            }
            // The body often repeats the message (nextest, xdist), and nextest's retries end it
            // with an indented blank line: neither adds anything.
            if line.trim().is_empty()
                || (lines.len() == 1 && lines.first().is_some_and(|m| m == line))
            {
                continue;
            }
            lines.push(line.to_owned());
        }
        let at = failure
            .at
            .or(case.at)
            .unwrap_or(DateTime::<Utc>::UNIX_EPOCH);
        out.push(Evidence {
            test: Some(test),
            worker: xdist
                .as_ref()
                .and_then(|c| c.get(1))
                .map(|m| m.as_str().to_owned()),
            signal,
            lines,
            ..Evidence::new(Runner::Junit, at)
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_pattern_compiles() {
        let never = unreachable_pattern().as_str().to_owned();
        for p in [
            &*CRASHED,
            &*SIGNAL_NAME,
            &*FATAL_PYTHON,
            &*SIGNAL_WORDS,
            &*XDIST,
        ] {
            assert_ne!(p.as_str(), never);
        }
    }

    #[test]
    fn external_entities_are_never_expanded() {
        let xml = br#"<?xml version="1.0"?>
<!DOCTYPE testsuites [<!ENTITY xxe SYSTEM "file:///etc/passwd"><!ENTITY big "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA">]>
<testsuites><testsuite name="s"><testcase classname="c" name="t&xxe;"><failure message="SIGSEGV &big;">&xxe;&big;&#65;&amp;</failure></testcase></testsuite></testsuites>"#;
        let out = read(xml).unwrap();
        assert_eq!(out.len(), 1);
        assert_eq!(out[0].test.as_deref(), Some("c::t&xxe;"));
        assert_eq!(out[0].lines, ["SIGSEGV &big;", "&xxe;&big;A&"]);
    }

    #[test]
    fn limits_and_errors() {
        assert_eq!(read(b"<html><body/></html>"), Err(JunitError::NotJunit));
        assert!(matches!(
            read(b"<testsuite><testcase></testsuite>"),
            Err(JunitError::Xml { .. })
        ));
        assert_eq!(
            read(&vec![b' '; MAX_BYTES + 1]),
            Err(JunitError::TooLarge {
                size: MAX_BYTES + 1,
                max: MAX_BYTES
            })
        );
        let many = format!(
            "<testsuite>{}</testsuite>",
            "<testcase name=\"x\"/>".repeat(MAX_TESTCASES + 1)
        );
        assert_eq!(
            read(many.as_bytes()),
            Err(JunitError::TooManyTestcases { max: MAX_TESTCASES })
        );
    }

    #[test]
    fn a_failure_is_not_a_crash() {
        let xml = br#"<testsuite timestamp="2026-11-30T00:42:40"><testcase classname="a" name="a"><failure message="Failed"/></testcase><testcase name="b"><failure message="assert 1 == 2">signal handling test failed</failure></testcase></testsuite>"#;
        assert!(read(xml).unwrap().is_empty());
    }

    #[test]
    fn fatal_python_error_and_zoneless_time() {
        let xml = br#"<testsuite timestamp="2026-11-30T00:42:40"><testcase classname="tests.test_x" name="test_y"><failure message="crash">Fatal Python error: Segmentation fault

Current thread 0x00007f (most recent call first):</failure></testcase></testsuite>"#;
        let out = read(xml).unwrap();
        assert_eq!(out[0].test.as_deref(), Some("tests.test_x::test_y"));
        assert_eq!(out[0].signal.as_deref(), Some("Segmentation fault"));
        assert_eq!(out[0].at.to_rfc3339(), "2026-11-30T00:42:40+00:00");
    }

    #[test]
    fn long_text_is_cut_on_a_character_boundary() {
        let body = "é".repeat(MAX_TEXT);
        let xml = format!(
            "<testsuite><testcase name=\"t\"><failure message=\"SIGBUS\">{body}</failure></testcase></testsuite>"
        );
        let out = read(xml.as_bytes()).unwrap();
        let kept: usize = out[0].lines.iter().map(String::len).sum();
        assert!(kept <= MAX_TEXT + "SIGBUS".len());
    }
}
