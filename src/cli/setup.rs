//! What several commands load before they run: the rules (built-in, and `--rules FILE`) and the
//! symbol index (`--symbols`), made into one analyzer; and the check that `--allow` names a rule.

use std::path::Path;

use anyhow::{Context, Result, bail};

use crashdelta::analyze::Analyzer;
use crashdelta::classify::RuleSet;
use crashdelta::symbols::{self, SymbolIndex};

use super::args::{RulesArg, SymbolsArg};

/// The built-in rules, with the `--rules` file's tried first.
pub fn load_rules(arg: &RulesArg) -> Result<RuleSet> {
    let builtin =
        RuleSet::builtin().context("the built-in rules are broken (a bug in crashdelta)")?;
    match &arg.rules {
        None => Ok(builtin),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read rules file {}", path.display()))?;
            Ok(builtin.with_user(&text, &path.display().to_string())?)
        }
    }
}

/// The rules and the symbol index; problems with single symbol files are warnings.
pub fn load_analyzer(rules: &RulesArg, symbols: &SymbolsArg) -> Result<Analyzer> {
    let rules = load_rules(rules)?;
    let extensions = Path::new(symbols::SYSTEM_EXTENSIONS);
    let extensions = extensions.is_dir().then_some(extensions);
    let index = if symbols.symbols.is_empty() && extensions.is_none() {
        None
    } else {
        let cache = symbols
            .cache_dir
            .clone()
            .or_else(symbols::default_cache_dir);
        let cache = match cache {
            Some(dir) => match symbols::ensure_cache_dir(&dir) {
                Ok(()) => Some(dir),
                Err(e) if symbols.cache_dir.is_some() => return Err(e.into()),
                // The default cache folder is a convenience: without it, symcaches stay in memory.
                Err(_) => None,
            },
            None => None,
        };
        let index = SymbolIndex::build(&symbols.symbols, extensions, cache)?;
        for problem in &index.problems {
            eprintln!("crashdelta: warning: {problem}");
        }
        if !symbols.symbols.is_empty() && index.is_empty() {
            eprintln!("crashdelta: warning: no Mach-O binaries or dSYMs found under --symbols");
        }
        Some(index)
    };
    Ok(Analyzer::new(rules, index))
}

/// Refuses an `--allow` that names no rule: a typo would silently let crashes through.
pub fn check_allow(rules: &RuleSet, allow: &[String]) -> Result<()> {
    for id in allow {
        if !rules.rules().iter().any(|r| &r.id == id) {
            bail!("--allow {id}: no rule has this id (`crashdelta rules` lists them)");
        }
    }
    Ok(())
}
