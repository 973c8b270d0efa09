//! The rule list (`crashdelta rules`): a table in the order rules are tried, or JSON.

use std::io::{self, Write};

use serde::Serialize;

use crate::classify::RuleSet;

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
            r.title.clone(),
            r.source.clone(),
        ]);
    }
    format!("{table}\nRules are tried in this order; the first that matches wins.\n")
}
