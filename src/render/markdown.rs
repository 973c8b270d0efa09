//! Markdown for `$GITHUB_STEP_SUMMARY` and hand-off reports, in the shape of the hand-written
//! crash analyses: per crash, Exception / Location / Trigger.
//!
//! What a report says is text, never Markdown: a process name, a symbol, an exception reason or
//! a file name could otherwise close a code fence, start a heading, add a link or an image, or
//! bring raw HTML (`<img src=x onerror=...>`, `<details>`) into a job summary. Every value goes
//! through one of three functions, by where it sits: [`inline`] for running text and table
//! cells, [`code`] (and [`cell_code`] inside a table) for code spans, [`fenced`] for a fenced
//! block. All three first make control characters [`visible`], as the
//! human output does, so a newline can neither end a table row nor start a line of the log
//! that shows the summary. The `campaign` writers use the same three.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::escape::visible;
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

/// `s` as literal inline text, safe in running text, a heading, a list item and a table cell.
///
/// Backslash-escaped (CommonMark allows it before any ASCII punctuation, and renders the
/// character alone): `\ ` * [ ] < | ~ # $` always (code spans, emphasis, links and images,
/// raw HTML, table cells, strikethrough, heading closers, GitHub's math); `_` unless it sits
/// inside a word, where CommonMark never reads it as emphasis (`EXC_BAD_ACCESS` stays as it
/// is); `&` before a letter, digit or `#`, where it could start an entity. A `-`, `+`, `>` or
/// `=` (and the `.` or `)` of `1. ` or `1) `) is escaped only at the start, the one place a value could make it a
/// list, a quote or an underline; `(`, `)` and `!` mean nothing without an unescaped `[`.
/// Control characters are [`visible`] first, so the text stays on
/// its line.
pub fn inline(s: &str) -> String {
    let text = visible(s);
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 8);
    let mut i = 0;
    while let Some(&c) = chars.get(i) {
        let prev = i.checked_sub(1).and_then(|p| chars.get(p)).copied();
        let next = chars.get(i + 1).copied();
        match c {
            '\\' | '`' | '*' | '[' | ']' | '<' | '|' | '~' | '#' | '$' => {
                out.push('\\');
                out.push(c);
            }
            '_' => {
                // A run of underscores between two word characters is never emphasis.
                let run = chars.iter().skip(i).take_while(|&&u| u == '_').count();
                let after = chars.get(i + run).copied();
                let inside = prev.is_some_and(char::is_alphanumeric)
                    && after.is_some_and(char::is_alphanumeric);
                for _ in 0..run {
                    if !inside {
                        out.push('\\');
                    }
                    out.push('_');
                }
                i += run;
                continue;
            }
            '&' if next.is_some_and(|n| n.is_ascii_alphanumeric() || n == '#') => {
                out.push_str("\\&");
            }
            '-' | '+' | '>' | '=' if i == 0 => {
                out.push('\\');
                out.push(c);
            }
            '.' | ')'
                if prev.is_some_and(|p| p.is_ascii_digit())
                    && chars.iter().take(i).all(char::is_ascii_digit)
                    && next.is_none_or(|n| n == ' ' || n == '\t') =>
            {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
        i += 1;
    }
    out
}

/// `s` as a code span: delimited by one backtick more than the longest run of backticks in it
/// (the CommonMark rule, so nothing in it can close it), padded with a space where it begins
/// or ends with a backtick or a space (CommonMark strips one space from each side). Outside a
/// table; in one, [`cell_code`].
pub fn code(s: &str) -> String {
    let text = visible(s);
    if text.is_empty() {
        return "` `".to_owned();
    }
    let fence = "`".repeat(longest_backtick_run(&text) + 1);
    let pad = text.starts_with('`')
        || text.ends_with('`')
        || (text.starts_with(' ') && text.ends_with(' ') && text.chars().any(|c| c != ' '));
    let pad = if pad { " " } else { "" };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// A [`code`] span inside a table cell: GitHub splits the row on `|` before it reads code
/// spans, so a `|` is written `\|` there too (and shown as `|`).
pub fn cell_code(s: &str) -> String {
    code(s).replace('|', "\\|")
}

/// `lines` as a fenced code block: the fence is one backtick longer than the longest run of
/// backticks in them (at least three), so no line can close it; each line is made
/// [`visible`], so a value cannot add a line of its own. Ends with a
/// newline.
pub fn fenced<I, S>(lines: I) -> String
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let lines: Vec<String> = lines
        .into_iter()
        .map(|l| visible(l.as_ref()).into_owned())
        .collect();
    let longest = lines
        .iter()
        .map(|l| longest_backtick_run(l))
        .max()
        .unwrap_or(0);
    let fence = "`".repeat((longest + 1).max(3));
    let mut out = format!("{fence}\n");
    for l in &lines {
        out.push_str(l);
        out.push('\n');
    }
    out.push_str(&fence);
    out.push('\n');
    out
}

fn longest_backtick_run(s: &str) -> usize {
    s.split(|c| c != '`').map(str::len).max().unwrap_or(0)
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
                    "| {} | {} | {} | {} | {} | {gate} |",
                    inline(&super::process_label(report)),
                    inline(&super::exception_short(report)),
                    cell_code(&c.rule),
                    c.family.as_str(),
                    super::known_cell(c),
                ));
                let mut b = String::new();
                let _ = writeln!(
                    b,
                    "### {}: {}\n",
                    inline(&super::process_label(report)),
                    inline(&c.title)
                );
                b.push_str(&fenced(
                    super::crash_lines(report, c)
                        .into_iter()
                        .map(|(label, value)| format!("{label}: {value}")),
                ));
                b.push('\n');
                let known = super::known_suffix(c);
                let _ = writeln!(
                    b,
                    "- Rule: {} ({}{known}); {}",
                    code(&c.rule),
                    c.family.as_str(),
                    inline(&c.reason)
                );
                if let Some(d) = &c.driver {
                    let _ = writeln!(b, "- GPU driver: {}", inline(&d.label()));
                }
                if let (Some(t), Some(b2)) = (&report.os.train, &report.os.build) {
                    let _ = writeln!(
                        b,
                        "- OS: {}",
                        inline(&format!(
                            "{t} ({b2}), {}",
                            report.hardware_model.as_deref().unwrap_or("unknown model")
                        ))
                    );
                }
                if let Some(a) = entry.attribution {
                    let _ = writeln!(b, "- Attribution: {} ({})", a.label(), inline(&a.reason));
                }
                if let Some(link) = entry.test {
                    let _ = writeln!(b, "- Test: {}", inline(&super::test_label(link)));
                    if let Some(python) = super::python_line(link) {
                        let _ = writeln!(b, "- Python: {}", inline(&python));
                    }
                }
                let _ = writeln!(b, "- Signature: {}", code(&c.signature_id));
                let _ = writeln!(b, "- Report: {}", code(&o.path));
                if let Some(why) = entry.gate_failure {
                    let _ = writeln!(b, "- **Fails the gate**: {}", inline(why));
                }
                for link in &c.links {
                    let _ = writeln!(b, "- See: {link}");
                }
                self.blocks.push(b);
            }
            _ if o.status() == crate::analyze::Status::Error => {
                self.problems.push(format!(
                    "- {}: {}",
                    code(&o.path),
                    inline(&o.reason().unwrap_or_default())
                ));
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, totals: &Totals) -> io::Result<()> {
        let s = totals.summary;
        match totals.headline {
            Some(line) => writeln!(self.out, "## {}\n", inline(line))?,
            None => writeln!(
                self.out,
                "## crashdelta: {} crash report(s) in {} input(s)
",
                s.crashes, s.inputs
            )?,
        }
        for i in totals.injected {
            match i.verdict {
                crate::run::Verdict::Loaded => {
                    writeln!(self.out, "Injected: {}.\n", inline(&i.words))?
                }
                _ => writeln!(self.out, "> **Warning**: {}.\n", inline(&i.words))?,
            }
        }
        if s.not_a_crash > 0 || s.errors > 0 {
            writeln!(
                self.out,
                "{} input(s) were not crash reports; {} could not be read.\n",
                s.not_a_crash, s.errors
            )?;
        }
        if totals.gate.fail_on != crate::classify::FailOn::None {
            // The reason names the inputs that failed: file names, which anyone may choose.
            let reason = match totals.gate.reason.strip_prefix("failed: ") {
                Some(rest) => format!("**failed**: {}", inline(rest)),
                None => inline(&totals.gate.reason),
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
        if !totals.provenance.is_empty() {
            // Folded: a job summary leads with the crashes; what ran is there for whoever asks.
            writeln!(self.out, "<details><summary>What ran</summary>\n")?;
            for (label, value) in &totals.provenance {
                writeln!(self.out, "- {label}: {}", inline(value))?;
            }
            writeln!(self.out, "\n</details>")?;
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_text_cannot_open_markup() {
        assert_eq!(
            inline("<img src=x onerror=alert(1)> [a](http://evil) `x` *b* | ~c~ # $m$ \\"),
            "\\<img src=x onerror=alert(1)> \\[a\\](http://evil) \\`x\\` \\*b\\* \\| \\~c\\~ \\# \\$m\\$ \\\\"
        );
        assert_eq!(
            inline("a\n# heading\r\n::error::x"),
            "a\\\\n\\# heading\\\\r\\\\n::error::x"
        );
        assert_eq!(
            inline("&amp; &#60; R&D & co"),
            "\\&amp; \\&\\#60; R\\&D & co"
        );
    }

    #[test]
    fn inline_text_keeps_ordinary_names_as_they_are() {
        for s in [
            "EXC_BAD_ACCESS (SIGSEGV)",
            "Python [81920]",
            "AGX::ComputeContext::prepareForEnqueue(bool) + 1268",
            "at::Tensor const&, at::Tensor&",
            "agx-prepare-for-enqueue-race -> dispatch",
            "macOS 15.7.3 (24G419), Mac16,5",
        ] {
            assert_eq!(inline(s).replace("\\[", "[").replace("\\]", "]"), s);
        }
        assert_eq!(inline("__cxa_throw"), "\\_\\_cxa_throw");
        assert_eq!(inline("a__b"), "a__b");
    }

    #[test]
    fn inline_text_at_the_start_of_a_line_is_no_block() {
        assert_eq!(inline("- item"), "\\- item");
        assert_eq!(inline("> quote"), "\\> quote");
        assert_eq!(inline("12. item"), "12\\. item");
        assert_eq!(inline("1) item"), "1\\) item");
        assert_eq!(inline("version 1. ok"), "version 1. ok");
        assert_eq!(inline("342.3"), "342.3");
    }

    #[test]
    fn a_code_span_is_longer_than_any_backtick_run_in_it() {
        assert_eq!(code("a"), "`a`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("```"), "```` ``` ````");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(code(""), "` `");
        assert_eq!(code("a\nb"), "`a\\nb`");
        assert_eq!(cell_code("a | b"), "`a \\| b`");
    }

    #[test]
    fn a_fence_is_longer_than_any_backtick_run_in_the_block() {
        assert_eq!(fenced(["a: b"]), "```\na: b\n```\n");
        assert_eq!(
            fenced(["a: ````", "b: `\n# x"]),
            "`````\na: ````\nb: `\\n# x\n`````\n"
        );
    }
}
