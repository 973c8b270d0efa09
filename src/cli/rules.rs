//! `rules`: the rule list in the order rules are tried, `rules check FILE`, or `rules explain
//! REPORT`.

use std::io::Write;

use anyhow::{Result, bail};

use crashdelta::classify::{self, RuleSet, parse_rules};
use crashdelta::render::Explained;

use super::args::{ExplainArgs, RulesAction, RulesArgs};
use super::exit::Exit;
use super::output::{Output, say};
use super::setup::{load_analyzer, load_rules, read_rules_file};

/// `rules [check FILE | explain REPORT]`.
pub fn rules(args: RulesArgs) -> Result<Exit> {
    match args.action {
        Some(RulesAction::Check { file }) => {
            let text = read_rules_file(&file)?;
            let name = file.display().to_string();
            let parsed = parse_rules(&text, &name)?;
            let builtin = RuleSet::builtin()?;
            let replaced: Vec<&str> = parsed
                .iter()
                .filter(|r| builtin.rules().iter().any(|b| b.id == r.id))
                .map(|r| r.id.as_str())
                .collect();
            let output = Output::new(args.output);
            let mut out = output.open()?;
            writeln!(out, "{}: {} rule(s), valid", file.display(), parsed.len())?;
            if !replaced.is_empty() {
                writeln!(out, "replaces built-in rule(s): {}", replaced.join(", "))?;
            }
            out.flush()?;
            drop(out);
            output.commit()?;
            // In the order `--rules FILE` gives them: the file's rules, then the built-in ones.
            for w in builtin.with_user(&text, &name)?.unreachable() {
                say!("crashdelta: warning: {w}");
            }
        }
        Some(RulesAction::Explain(a)) => {
            return explain(&args.rules, a, args.format, Output::new(args.output));
        }
        None => Output::new(args.output).write(&load_rules(&args.rules)?, args.format)?,
    }
    Ok(Exit::Ok)
}

/// `rules explain REPORT`: every rule, in order, with each condition's outcome for the report.
fn explain(
    rules: &super::args::RulesArg,
    args: ExplainArgs,
    format: crashdelta::render::Format,
    output: Output,
) -> Result<Exit> {
    let analyzer = load_analyzer(rules, &args.symbols)?;
    output.refuse_inputs(std::slice::from_ref(&args.report))?;
    let analysis = super::show::analyze_one(&args.report, &analyzer, "explain")?;
    let analyzed = match &analysis.result {
        Ok(a) => a,
        Err(_) => bail!(
            "{}: {}; there is nothing for the rules to look at",
            analysis.path,
            analysis.reason().unwrap_or_default()
        ),
    };
    let Some(rules) = classify::explain(&analyzed.report, &analyzer.rules) else {
        bail!(
            "{}: {}; rules classify crashes only",
            analysis.path,
            crashdelta::analyze::non_crash_reason(&analyzed.report)
        );
    };
    output.write(
        &Explained {
            path: analysis.path.clone(),
            rules,
        },
        format,
    )?;
    Ok(Exit::Ok)
}
