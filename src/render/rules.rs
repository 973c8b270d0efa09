//! The rule list (`crashdelta rules`): a table in the order rules are tried, or JSON; and one
//! report's explanation (`crashdelta rules explain REPORT`): every rule with the outcome of each
//! of its conditions.

use std::io::{self, Write};

use serde::Serialize;

use super::escape::{Lines, Tone};
use crate::classify::{RuleExplanation, RuleSet, Verdict};

/// The `schema` of the `rules --format json` document.
pub const RULES_SCHEMA: &str = "crashdelta.rules/1";

#[derive(Serialize)]
struct RuleOut<'a> {
    id: &'a str,
    title: &'a str,
    family: &'a str,
    known: bool,
    links: &'a [String],
    evidence: Option<&'a str>,
    source: &'a str,
    conditions: Vec<String>,
    /// The versions that fixed the crash (`fixed_in`).
    fixed_in: Option<&'a crate::classify::FixedIn>,
}

/// The rules as a JSON document (`crashdelta.rules/1`: `schema`, `tool`, `rules`), in the order
/// they are tried, each with its conditions in words.
pub fn write_json(out: &mut dyn Write, rules: &RuleSet) -> io::Result<()> {
    let list: Vec<RuleOut> = rules
        .rules()
        .iter()
        .map(|r| RuleOut {
            id: &r.id,
            title: &r.title,
            family: r.family.as_str(),
            known: r.known,
            links: &r.links,
            evidence: r.evidence.as_deref(),
            source: &r.source,
            conditions: r.conditions(),
            fixed_in: r.fixed_in.as_ref(),
        })
        .collect();
    #[derive(Serialize)]
    struct Doc<'a> {
        schema: &'static str,
        tool: crate::Tool,
        rules: Vec<RuleOut<'a>>,
    }
    let doc = Doc {
        schema: RULES_SCHEMA,
        tool: crate::Tool::this(),
        rules: list,
    };
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
    writeln!(out)?;
    out.flush()
}

/// The rules as a table, in the order they are tried (a `--rules` file's titles are escaped as
/// any cell is).
pub fn human(rules: &RuleSet, width: Option<u16>) -> String {
    let mut table = super::table(width, &["#", "id", "family", "known", "title", "source"]);
    for (i, r) in rules.rules().iter().enumerate() {
        table.add_row([
            (i + 1).to_string(),
            r.id.clone(),
            r.family.as_str().to_owned(),
            if r.known { "yes".into() } else { "no".into() },
            match &r.fixed_in {
                Some(f) => format!("{} (fixed in {})", r.title, f.describe()),
                None => r.title.clone(),
            },
            r.source.clone(),
        ]);
    }
    format!("{table}\nRules are tried in this order; the first that matches wins.\n")
}

/// Why one report is classified as it is: every rule in the order they are tried, with the
/// outcome of each of its conditions (`rules explain`).
pub struct Explained<'r> {
    /// The report as named.
    pub path: String,
    /// Every rule, in order.
    pub rules: Vec<RuleExplanation<'r>>,
}

impl Explained<'_> {
    /// The rule chosen, if any matched.
    pub fn chosen(&self) -> Option<&str> {
        self.rules
            .iter()
            .find(|r| r.verdict == Verdict::Chosen)
            .map(|r| r.rule.id.as_str())
    }
}

fn verdict_str(v: Verdict) -> &'static str {
    match v {
        Verdict::Chosen => "chosen",
        Verdict::AlsoMatches => "also-matches",
        Verdict::NoMatch => "no-match",
    }
}

/// The explanation as a JSON document (`crashdelta.rules-explain/1`).
pub fn write_explained_json(out: &mut dyn Write, e: &Explained) -> io::Result<()> {
    let rules: Vec<serde_json::Value> = e
        .rules
        .iter()
        .map(|r| {
            serde_json::json!({
                "id": r.rule.id,
                "title": r.rule.title,
                "source": r.rule.source,
                "verdict": verdict_str(r.verdict),
                "conditions": r.conditions.iter().map(|c| serde_json::json!({
                    "condition": c.condition,
                    "held": c.held,
                    "seen": c.seen,
                })).collect::<Vec<_>>(),
                "fixed_in": r.rule.fixed_in,
                "fix": r.fix,
            })
        })
        .collect();
    let doc = serde_json::json!({
        "schema": "crashdelta.rules-explain/1",
        "tool": {"name": "crashdelta", "version": env!("CARGO_PKG_VERSION")},
        "report": e.path,
        "chosen": e.chosen(),
        "rules": rules,
    });
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
    writeln!(out)?;
    out.flush()
}

/// The explanation for people: each rule, whether it matched, and under it each condition with
/// what the report showed.
pub fn explained_human(e: &Explained, colour: bool) -> String {
    let mut s = Lines::coloured(colour);
    s.line(format_args!("Report: {}", e.path));
    match e.chosen() {
        Some(id) => s.toned(Tone::Heading, format_args!("Classified by rule {id}.")),
        None => s.toned(
            Tone::New,
            "No rule matched: the crash is classified as unmatched.",
        ),
    }
    s.line("Rules in the order they are tried; the first that matches wins:");
    for (i, r) in e.rules.iter().enumerate() {
        s.blank();
        let (what, tone) = match r.verdict {
            Verdict::Chosen => ("matches: chosen", Tone::Passed),
            Verdict::AlsoMatches => ("matches too, but an earlier rule was chosen", Tone::Known),
            Verdict::NoMatch => ("does not match", Tone::Heading),
        };
        s.toned(
            tone,
            format_args!(
                "{:>2}. {} ({}, {}): {what}",
                i + 1,
                r.rule.id,
                r.rule.title,
                r.rule.source
            ),
        );
        if r.conditions.is_empty() {
            s.line("    (no conditions: it matches every crash)");
        }
        for c in &r.conditions {
            let line = format!(
                "    {} {}: {}",
                if c.held { "held  " } else { "failed" },
                c.condition,
                c.seen
            );
            if c.held {
                s.line(line);
            } else {
                s.toned(Tone::Failed, line);
            }
        }
        if let (Some(fixed), Some(fix)) = (&r.rule.fixed_in, &r.fix) {
            let line = format!("    fixed in {}: {fix}", fixed.describe());
            if r.verdict == Verdict::Chosen && fix.starts_with("a regression") {
                s.toned(Tone::Failed, line);
            } else {
                s.line(line);
            }
        }
    }
    s.into_string()
}
