//! Markdown for `$GITHUB_STEP_SUMMARY` and hand-off reports, in the shape of the hand-written
//! crash analyses: per crash, Exception / Location / Trigger.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::{Item, Sink, Totals};

/// Writes the `classify` stream, or a run record's new reports, as GitHub Markdown: a heading (the
/// run's delta line, or the counts), the gate (unless `--fail-on none`), a table of the crashes, a
/// block per crash in the Exception / Location / Trigger shape, and the inputs that could not be
/// read. Rows and blocks are kept until [`Sink::finish`].
pub struct MarkdownSink<W: Write> {
    out: W,
    rows: Vec<String>,
    blocks: Vec<String>,
    problems: Vec<String>,
}

impl<W: Write> MarkdownSink<W> {
    /// A writer to `out`; nothing is written before [`Sink::finish`].
    pub fn new(out: W) -> Self {
        MarkdownSink {
            out,
            rows: Vec::new(),
            blocks: Vec::new(),
            problems: Vec::new(),
        }
    }
}

/// A Markdown table cell: a `|` would end it and a line break would end the row.
pub fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

impl<W: Write> Sink for MarkdownSink<W> {
    fn entry(&mut self, entry: &Item) -> io::Result<()> {
        let o = entry.outcome;
        match o.crash() {
            Some((report, c)) => {
                let gate = if entry.gate_failure.is_some() {
                    "fails"
                } else {
                    "passes"
                };
                self.rows.push(format!(
                    "| {} | {} | `{}` | {} | {} | {gate} |",
                    cell(&super::process_label(report)),
                    cell(&super::exception_short(report)),
                    cell(&c.rule),
                    c.family.as_str(),
                    if c.known { "yes" } else { "no" },
                ));
                let mut b = String::new();
                let _ = writeln!(
                    b,
                    "### {}: {}\n",
                    cell(&super::process_label(report)),
                    c.title
                );
                let _ = writeln!(b, "```");
                for (label, value) in super::crash_lines(report, c) {
                    let _ = writeln!(b, "{label}: {value}");
                }
                let _ = writeln!(b, "```\n");
                let known = if c.known { ", known" } else { "" };
                let _ = writeln!(
                    b,
                    "- Rule: `{}` ({}{known}); {}",
                    c.rule,
                    c.family.as_str(),
                    c.reason
                );
                if let Some(d) = &c.driver {
                    let _ = writeln!(
                        b,
                        "- GPU driver: {} {}",
                        d.name,
                        d.version.as_deref().unwrap_or("")
                    );
                }
                if let (Some(t), Some(b2)) = (&report.os.train, &report.os.build) {
                    let _ = writeln!(
                        b,
                        "- OS: {t} ({b2}), {}",
                        report.hardware_model.as_deref().unwrap_or("unknown model")
                    );
                }
                if let Some(a) = entry.attribution {
                    let _ = writeln!(b, "- Attribution: {} ({})", a.kind.label(), a.reason);
                }
                let _ = writeln!(b, "- Signature: `{}`", c.signature_id);
                let _ = writeln!(b, "- Report: `{}`", o.path);
                if let Some(why) = entry.gate_failure {
                    let _ = writeln!(b, "- **Fails the gate**: {why}");
                }
                for link in &c.links {
                    let _ = writeln!(b, "- See: {link}");
                }
                self.blocks.push(b);
            }
            _ if o.status() == crate::analyze::Status::Error => {
                self.problems.push(format!(
                    "- `{}`: {}",
                    o.path,
                    o.reason().unwrap_or_default()
                ));
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, totals: &Totals) -> io::Result<()> {
        let s = totals.summary;
        match totals.headline {
            Some(line) => writeln!(
                self.out,
                "## {line}
"
            )?,
            None => writeln!(
                self.out,
                "## crashdelta: {} crash report(s) in {} input(s)
",
                s.crashes, s.inputs
            )?,
        }
        if s.not_a_crash > 0 || s.errors > 0 {
            writeln!(
                self.out,
                "{} input(s) were not crash reports; {} could not be read.\n",
                s.not_a_crash, s.errors
            )?;
        }
        if totals.gate.fail_on != crate::classify::FailOn::None {
            let reason = match totals.gate.reason.strip_prefix("failed: ") {
                Some(rest) => format!("**failed**: {rest}"),
                None => totals.gate.reason.clone(),
            };
            writeln!(
                self.out,
                "Gate (`--fail-on {}`): {reason}\n",
                totals.gate.fail_on.as_str()
            )?;
        }
        if !self.rows.is_empty() {
            writeln!(
                self.out,
                "| process | exception | rule | family | known | gate |"
            )?;
            writeln!(self.out, "|---|---|---|---|---|---|")?;
            for r in &self.rows {
                writeln!(self.out, "{r}")?;
            }
            writeln!(self.out)?;
        }
        for b in &self.blocks {
            writeln!(self.out, "{b}")?;
        }
        if !self.problems.is_empty() {
            writeln!(self.out, "### Inputs that could not be read\n")?;
            for p in &self.problems {
                writeln!(self.out, "{p}")?;
            }
        }
        self.out.flush()
    }
}
