//! JUnit XML: one test case per crash report (failed when it fails the gate) and one per input
//! that could not be read (an error), for CI test-report viewers; one passing case when there
//! is neither. A crash's case is named by its test when the runner said which one crashed, else
//! by the crash itself (process name, rule title, signature): never by pid or path, so that a
//! CI system's test history follows the same crash from run to run.
//!
//! Written here rather than with `quick-junit` (nextest's writer), measured against 0.8.0: its
//! test cases have no `file` attribute, which GitLab's test report shows and which here points
//! at the crash report, and its strings drop ANSI sequences whole (`ESC ] 0 ; pwned BEL` loses
//! `pwned`), where a crash report's hostile text should stay visible as text. It would also
//! build a second quick-xml and uuid. What it does that matters (escaping, dropping what XML 1.0
//! cannot carry) is [`escape`], tested with the hostile report in `tests/escaping.rs`.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::{Item, Sink, Totals};
use crate::analyze::Status;

/// Writes the `classify` stream, or a run record's new reports, as JUnit XML: a test case per crash
/// report (failed when it fails the gate) and an erroring one per input that could not be read;
/// other inputs get none. The cases are kept until [`Sink::finish`], which writes the counts before
/// them.
pub struct JunitSink<W: Write> {
    out: W,
    cases: Vec<String>,
    failures: u64,
    errors: u64,
}

impl<W: Write> JunitSink<W> {
    /// A writer to `out`; nothing is written before [`Sink::finish`].
    pub fn new(out: W) -> Self {
        JunitSink {
            out,
            cases: Vec::new(),
            failures: 0,
            errors: 0,
        }
    }
}

/// Escapes text for XML attributes and content. What XML 1.0 cannot carry (U+FFFE, U+FFFF) is
/// dropped; the other characters that would act on a terminal or a log rather than be read (C0
/// and C1 controls but newline, tab and carriage return, bidi overrides: a CI viewer prints a
/// failure's text into its log) are written as visible escapes, as in every human rendering
/// ([`visible`](super::escape::visible)): `\e]0;pwned\x07`.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            '\u{fffe}' | '\u{ffff}' => {}
            c if super::escape::is_unsafe(c) => {
                out.push_str(&super::escape::visible(c.encode_utf8(&mut [0; 4])));
            }
            c => out.push(c),
        }
    }
    out
}

impl<W: Write> Sink for JunitSink<W> {
    fn entry(&mut self, entry: &Item) -> io::Result<()> {
        let o = entry.outcome;
        let mut case = String::new();
        match o.crash() {
            Some((report, c)) => {
                // Named by the test when the runner told which one crashed: the id is stable
                // across runs, so a CI system's test history follows the crash.
                let test = entry
                    .test
                    .and_then(|l| l.evidence.as_ref())
                    .and_then(|e| e.test.as_deref());
                // Otherwise by what the crash is (rule and signature), never by pid or path,
                // which change from run to run: the same crash is the same test case.
                let name = match test {
                    Some(id) => id.to_owned(),
                    None => format!(
                        "{} crashed: {} (signature {})",
                        report.process.name.as_deref().unwrap_or("a process"),
                        c.title,
                        c.signature_id
                    ),
                };
                let _ = write!(
                    case,
                    "  <testcase classname=\"crashdelta.{}.{}\" name=\"{}\" file=\"{}\">",
                    c.family.as_str(),
                    escape(&c.rule),
                    escape(&name),
                    escape(&o.path)
                );
                // The same Exception / Location / Trigger lines as the other writers.
                let lines: String = super::crash_lines(report, c)
                    .iter()
                    .map(|(label, value)| format!("{label}: {value}\n"))
                    .collect();
                let tested = entry.test.map_or_else(String::new, |l| {
                    let python = super::python_line(l)
                        .map(|p| format!("Python: {p}\n"))
                        .unwrap_or_default();
                    format!("Test: {}\n{python}", super::test_label(l))
                });
                let body = format!(
                    "{tested}{lines}Rule: {} ({}{})\nSignature: {}\nWhy: {}",
                    c.rule,
                    c.family.as_str(),
                    super::known_suffix(c),
                    c.signature,
                    c.reason
                );
                match entry.gate_failure {
                    Some(why) => {
                        self.failures += 1;
                        let _ = write!(
                            case,
                            "\n    <failure message=\"{}\" type=\"{}\">{}</failure>\n  ",
                            escape(why),
                            escape(&c.rule),
                            escape(&body)
                        );
                    }
                    None => {
                        let _ =
                            write!(case, "\n    <system-out>{}</system-out>\n  ", escape(&body));
                    }
                }
                case.push_str("</testcase>\n");
            }
            _ if o.status() == Status::Error => {
                self.errors += 1;
                let reason = o.reason().unwrap_or_default();
                let _ = write!(
                    case,
                    "  <testcase classname=\"crashdelta.input\" name=\"{}\" file=\"{}\">\n    <error message=\"{}\"/>\n  </testcase>\n",
                    escape(&format!("read {}", o.path)),
                    escape(&o.path),
                    escape(&reason)
                );
            }
            _ => return Ok(()),
        }
        self.cases.push(case);
        Ok(())
    }

    fn finish(&mut self, _totals: &Totals) -> io::Result<()> {
        // No crash report: one passing case, so that a CI viewer shows the check ran and
        // passed (`tests="0"` reads as "nothing was checked").
        if self.cases.is_empty() {
            self.cases.push(
                "  <testcase classname=\"crashdelta.gate\" name=\"no new crash report\"/>\n"
                    .to_owned(),
            );
        }
        writeln!(self.out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>")?;
        writeln!(
            self.out,
            "<testsuites name=\"crashdelta\" tests=\"{n}\" failures=\"{f}\" errors=\"{e}\">\n<testsuite name=\"crash reports\" tests=\"{n}\" failures=\"{f}\" errors=\"{e}\" skipped=\"0\">",
            n = self.cases.len(),
            f = self.failures,
            e = self.errors
        )?;
        for c in &self.cases {
            self.out.write_all(c.as_bytes())?;
        }
        writeln!(self.out, "</testsuite>\n</testsuites>")?;
        self.out.flush()
    }
}
