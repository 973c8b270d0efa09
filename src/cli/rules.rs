//! `rules`: the rule list in the order rules are tried, or `rules check FILE`.

use std::io::Write;

use anyhow::Result;

use crashdelta::classify::{RuleSet, parse_rules};

use super::args::{RulesAction, RulesArgs};
use super::exit::Exit;
use super::output::Output;
use super::setup::{load_rules, read_rules_file};

/// `rules [check FILE]`.
pub fn rules(args: RulesArgs) -> Result<Exit> {
    match args.action {
        Some(RulesAction::Check { file }) => {
            let text = read_rules_file(&file)?;
            let parsed = parse_rules(&text, &file.display().to_string())?;
            let builtin = RuleSet::builtin()?;
            let replaced: Vec<&str> = parsed
                .iter()
                .filter(|r| builtin.rules().iter().any(|b| b.id == r.id))
                .map(|r| r.id.as_str())
                .collect();
            let mut out = Output::new(None).open()?;
            writeln!(out, "{}: {} rule(s), valid", file.display(), parsed.len())?;
            if !replaced.is_empty() {
                writeln!(out, "replaces built-in rule(s): {}", replaced.join(", "))?;
            }
            out.flush()?;
        }
        None => Output::new(args.output).write(&load_rules(&args.rules)?, args.format)?,
    }
    Ok(Exit::Ok)
}
