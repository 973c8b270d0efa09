//! One output abstraction: a [`Format`], and the [`Document`]s that can be written in some of
//! them (the shape of hyperfine's exporters).
//!
//! Every command's result is a document: one report (`show`), a symbolicated report, a run
//! record (`watch`, `diff`), a campaign (`watch --repeat`, `compare`), a breakdown (`stats`), the
//! rule list. Each says which formats it supports ([`Document::FORMATS`]); the command line
//! builds each command's `--format` values from that list, so an unsupported pair (`diff
//! --format html`) is refused when the arguments are parsed, before anything runs. `classify`
//! is the one stream: it is written one input at a time through a [`Sink`] ([`stream`]), never
//! held whole, and its formats are [`STREAM_FORMATS`].
//!
//! The file-or-stdout choice and the table width belong to the binary's output target; a
//! document is handed a [`Style`] and a writer.

use std::io::{self, Write};

use super::{Sink, campaign, human, json, junit, markdown, run};
use crate::analyze::Analysis;
use crate::campaign::CampaignReport;
use crate::campaign::breakdown::StatsReport;
use crate::classify::RuleSet;
use crate::run::RunReport;

/// An output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// For people: tables and the hand-written analyses' shape.
    Human,
    /// The JSON contract (docs/json.md), versioned by its `schema`.
    Json,
    /// GitHub-flavoured Markdown, for `$GITHUB_STEP_SUMMARY` and issue comments.
    Markdown,
    /// JUnit XML, for CI test reporters.
    Junit,
    /// One self-contained HTML page with charts.
    Html,
    /// A crash report as `.ips` JSON (header line and body).
    Ips,
}

impl Format {
    /// Every format, in the order help lists them.
    pub const ALL: &'static [Format] = &[
        Format::Human,
        Format::Json,
        Format::Markdown,
        Format::Junit,
        Format::Html,
        Format::Ips,
    ];

    /// The name `--format` takes.
    pub fn name(self) -> &'static str {
        match self {
            Format::Human => "human",
            Format::Json => "json",
            Format::Markdown => "markdown",
            Format::Junit => "junit",
            Format::Html => "html",
            Format::Ips => "ips",
        }
    }

    /// Other names `--format` accepts: the names earlier versions used for the human format.
    pub fn aliases(self) -> &'static [&'static str] {
        match self {
            Format::Human => &["table", "text"],
            _ => &[],
        }
    }

    /// The format `name` (or one of its aliases) names.
    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL
            .iter()
            .copied()
            .find(|f| f.name() == name || f.aliases().contains(&name))
    }

    /// One line for `--help`.
    pub fn about(self) -> &'static str {
        match self {
            Format::Human => "for people: tables and analyses (also: table, text)",
            Format::Json => "the JSON contract of docs/json.md",
            Format::Markdown => "GitHub Markdown, for a job summary or an issue",
            Format::Junit => "JUnit XML, for CI test reporters",
            Format::Html => "one self-contained page with charts",
            Format::Ips => "the report as .ips JSON, symbols filled in",
        }
    }
}

/// How a document is laid out for where it goes.
#[derive(Debug, Clone, Default)]
pub struct Style {
    /// The width of the terminal the document goes to, which tables wrap to fit; `None` when it
    /// goes anywhere else (a file, a pipe, a CI log): tables are not wrapped, one line per row.
    pub width: Option<u16>,
    /// When the document was made, as HTML pages print it.
    pub generated: String,
    /// Whether human renderings colour their verdicts (`--color`, `NO_COLOR`, a terminal).
    pub colour: bool,
}

/// Something that can be written in some formats.
pub trait Document {
    /// The formats it can be written in; the first is the default.
    const FORMATS: &'static [Format];

    /// Writes it in `format`, one of [`Document::FORMATS`]; any other is an
    /// `io::ErrorKind::InvalidInput` error.
    fn write(&self, format: Format, out: &mut dyn Write, style: &Style) -> io::Result<()>;
}

fn unsupported<D: Document + ?Sized>(format: Format) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!(
            "this document is not written as {} (it is: {})",
            format.name(),
            D::FORMATS
                .iter()
                .map(|f| f.name())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    )
}

fn write_str(out: &mut dyn Write, text: &str) -> io::Result<()> {
    out.write_all(text.as_bytes())?;
    out.flush()
}

/// The formats of the `classify` stream.
pub const STREAM_FORMATS: &[Format] =
    &[Format::Human, Format::Json, Format::Markdown, Format::Junit];

/// The sink that writes the `classify` stream in `format` to `out`.
pub fn stream<'w>(
    format: Format,
    out: Box<dyn Write + 'w>,
    style: &Style,
) -> io::Result<Box<dyn Sink + 'w>> {
    Ok(match format {
        Format::Human => Box::new(human::TableSink::new(out, style.width)),
        Format::Json => Box::new(json::JsonSink::start(out)?),
        Format::Markdown => Box::new(markdown::MarkdownSink::new(out)),
        Format::Junit => Box::new(junit::JunitSink::new(out)),
        Format::Html | Format::Ips => {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("classify is not written as {}", format.name()),
            ));
        }
    })
}

/// One report (`show`): the `show` rendering, or the whole-report JSON (`crashdelta.report/1`).
impl Document for Analysis {
    const FORMATS: &'static [Format] = &[Format::Human, Format::Json];

    fn write(&self, format: Format, out: &mut dyn Write, style: &Style) -> io::Result<()> {
        match format {
            Format::Human => write_str(out, &human::show(self, style.colour)),
            Format::Json => json::write_report(out, self),
            _ => Err(unsupported::<Self>(format)),
        }
    }
}

/// A report with its symbols filled in (`symbolicate`): written back as `.ips`, or as `show`
/// writes it.
pub struct Symbolicated<'a> {
    /// The report as it was read, which `.ips` output rewrites.
    pub original: &'a [u8],
    /// The report with its symbols, classified.
    pub analysis: &'a Analysis,
}

impl Document for Symbolicated<'_> {
    const FORMATS: &'static [Format] = &[Format::Ips, Format::Human, Format::Json];

    fn write(&self, format: Format, out: &mut dyn Write, style: &Style) -> io::Result<()> {
        match format {
            Format::Ips => {
                let report = self.analysis.report().ok_or_else(|| {
                    io::Error::new(io::ErrorKind::InvalidInput, "the report did not parse")
                })?;
                let text = crate::symbols::ips_with_symbols(self.original, report)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                write_str(out, &text)
            }
            Format::Human | Format::Json => self.analysis.write(format, out, style),
            _ => Err(unsupported::<Self>(format)),
        }
    }
}

/// A run record (`watch`, `diff`).
impl Document for RunReport {
    const FORMATS: &'static [Format] =
        &[Format::Human, Format::Json, Format::Markdown, Format::Junit];

    fn write(&self, format: Format, out: &mut dyn Write, style: &Style) -> io::Result<()> {
        match format {
            Format::Human => write_str(out, &run::human(self, style)),
            Format::Json => run::write_json(out, self),
            Format::Markdown => run::write_to(self, &mut markdown::MarkdownSink::new(out)),
            Format::Junit => run::write_to(self, &mut junit::JunitSink::new(out)),
            _ => Err(unsupported::<Self>(format)),
        }
    }
}

/// A campaign (`watch --repeat`, `compare`).
impl Document for CampaignReport {
    const FORMATS: &'static [Format] = &[
        Format::Human,
        Format::Json,
        Format::Markdown,
        Format::Junit,
        Format::Html,
    ];

    fn write(&self, format: Format, out: &mut dyn Write, style: &Style) -> io::Result<()> {
        match format {
            Format::Human => write_str(out, &campaign::human(self, style)),
            Format::Json => campaign::write_json(out, self),
            Format::Markdown => write_str(out, &campaign::markdown(self)),
            Format::Junit => write_str(out, &campaign::junit(self)),
            Format::Html => write_str(out, &campaign::html_page(self, &style.generated)),
            _ => Err(unsupported::<Self>(format)),
        }
    }
}

/// A breakdown (`stats`).
impl Document for StatsReport {
    const FORMATS: &'static [Format] =
        &[Format::Human, Format::Json, Format::Markdown, Format::Html];

    fn write(&self, format: Format, out: &mut dyn Write, style: &Style) -> io::Result<()> {
        match format {
            Format::Human => write_str(out, &campaign::stats_human(self, style.width)),
            Format::Json => campaign::stats_json(out, self),
            Format::Markdown => write_str(out, &campaign::stats_markdown(self)),
            Format::Html => write_str(out, &campaign::stats_html(self, &style.generated)),
            _ => Err(unsupported::<Self>(format)),
        }
    }
}

/// The history's answer (`history`).
impl Document for crate::history::query::Answer {
    const FORMATS: &'static [Format] =
        &[Format::Human, Format::Json, Format::Markdown, Format::Html];

    fn write(&self, format: Format, out: &mut dyn Write, style: &Style) -> io::Result<()> {
        match format {
            Format::Human => write_str(out, &super::history::human(self, style.width)),
            Format::Json => super::history::json(out, self),
            Format::Markdown => write_str(out, &super::history::markdown(self)),
            Format::Html => write_str(out, &super::history::page(self, &style.generated)),
            _ => Err(unsupported::<Self>(format)),
        }
    }
}

/// The rule list (`rules`).
impl Document for RuleSet {
    const FORMATS: &'static [Format] = &[Format::Human, Format::Json];

    fn write(&self, format: Format, out: &mut dyn Write, style: &Style) -> io::Result<()> {
        match format {
            Format::Human => write_str(out, &super::rules::human(self, style.width)),
            Format::Json => super::rules::write_json(out, self),
            _ => Err(unsupported::<Self>(format)),
        }
    }
}

/// One report's explanation (`rules explain`).
impl Document for super::rules::Explained<'_> {
    const FORMATS: &'static [Format] = &[Format::Human, Format::Json];

    fn write(&self, format: Format, out: &mut dyn Write, style: &Style) -> io::Result<()> {
        match format {
            Format::Human => write_str(out, &super::rules::explained_human(self, style.colour)),
            Format::Json => super::rules::write_explained_json(out, self),
            _ => Err(unsupported::<Self>(format)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_format_is_found_by_its_name_and_aliases() {
        for &f in Format::ALL {
            assert_eq!(Format::from_name(f.name()), Some(f));
            for a in f.aliases() {
                assert_eq!(Format::from_name(a), Some(f));
            }
        }
        assert_eq!(Format::from_name("table"), Some(Format::Human));
        assert_eq!(Format::from_name("xml"), None);
    }

    #[test]
    fn a_format_a_document_does_not_support_is_an_error_not_a_guess() {
        let rules = RuleSet::builtin().unwrap_or_else(|e| panic!("{e}"));
        let mut out = Vec::new();
        let err = rules
            .write(Format::Html, &mut out, &Style::default())
            .err()
            .map(|e| (e.kind(), e.to_string()));
        assert_eq!(
            err,
            Some((
                io::ErrorKind::InvalidInput,
                "this document is not written as html (it is: human, json)".to_owned()
            ))
        );
        assert!(out.is_empty());
        assert!(stream(Format::Html, Box::new(Vec::new()), &Style::default()).is_err());
    }

    #[test]
    fn the_rule_list_is_written_in_both_its_formats() {
        let rules = RuleSet::builtin().unwrap_or_else(|e| panic!("{e}"));
        for &f in RuleSet::FORMATS {
            let mut out = Vec::new();
            rules
                .write(f, &mut out, &Style::default())
                .unwrap_or_else(|e| panic!("{e}"));
            let text = String::from_utf8_lossy(&out);
            assert!(
                text.contains("agx-prepare-for-enqueue-race"),
                "{f:?}: {text}"
            );
        }
    }
}
