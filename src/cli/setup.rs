//! What several commands load before they run: the rules (built-in, and `--rules FILE`) and the
//! symbol index (`--symbols`), made into one analyzer; and the check that `--allow` names a rule.

use std::path::Path;

use anyhow::{Context, Result, bail};

use crashdelta::analyze::Analyzer;
use crashdelta::classify::{RuleSet, UNREADABLE};
use crashdelta::input;
use crashdelta::symbols;

use super::args::{RulesArg, SymbolsArg};
use super::output::say;

/// The built-in rules, with the `--rules` file's tried first.
pub fn load_rules(arg: &RulesArg) -> Result<RuleSet> {
    let builtin =
        RuleSet::builtin().context("the built-in rules are broken (a bug in crashdelta)")?;
    match &arg.rules {
        None => Ok(builtin),
        Some(path) => {
            let text = read_rules_file(path)?;
            Ok(builtin.with_user(&text, &path.display().to_string())?)
        }
    }
}

/// Reads a rules file: a regular file of at most [`input::MAX_RULES_BYTES`], in UTF-8.
/// `--rules /dev/zero` (or a FIFO, or a huge file named by mistake) is refused before it can
/// fill memory or hang.
pub fn read_rules_file(path: &Path) -> Result<String> {
    let bytes = input::read_capped(path, input::RULES)
        .with_context(|| format!("cannot read rules file {}", path.display()))?;
    String::from_utf8(bytes).with_context(|| {
        format!(
            "cannot read rules file {}: it is not UTF-8 text (a rules file is TOML)",
            path.display()
        )
    })
}

/// The rules and the symbol index; problems with single symbol files are warnings.
pub fn load_analyzer(rules: &RulesArg, symbols: &SymbolsArg) -> Result<Analyzer> {
    let rules = load_rules(rules)?;
    let index = symbols::index_for(&symbols.symbols, symbols.cache_dir.as_deref())?;
    if let Some(index) = &index {
        for problem in &index.problems {
            say!("crashdelta: warning: {problem}");
        }
        if !symbols.symbols.is_empty() && index.is_empty() {
            say!("crashdelta: warning: no Mach-O binaries or dSYMs found under --symbols");
        }
    }
    Ok(Analyzer::new(rules, index))
}

/// Refuses an `--allow` that names no rule (or `unreadable`): a typo would silently let crashes
/// through.
pub fn check_allow(rules: &RuleSet, allow: &[String]) -> Result<()> {
    for id in allow {
        if id != UNREADABLE && !rules.rules().iter().any(|r| &r.id == id) {
            bail!(
                "--allow {id}: no rule has this id (`crashdelta rules` lists them; \
                 `--allow {UNREADABLE}` exempts reports that cannot be read)"
            );
        }
    }
    Ok(())
}
