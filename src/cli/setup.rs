//! What several commands load before they run: the rules (built-in, and `--rules FILE`) and the
//! symbol index (`--symbols`), made into one analyzer; the check that `--allow` names a rule;
//! and where inventories keep the heads of big report folders.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::Duration;

use anyhow::{Context, Result, bail};

use crashdelta::analyze::Analyzer;
use crashdelta::classify::{RuleSet, UNREADABLE};
use crashdelta::input;
use crashdelta::inventory;
use crashdelta::run::provenance;
use crashdelta::symbols;

use super::args::{ProvenanceArgs, RecordArgs, RulesArg, SymbolsArg};
use super::exit::Exit;
use super::output::say;
use super::progress;

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

/// The rules and the symbol index; problems with single symbol files are warnings. Building a
/// symbol cache shows progress on a terminal.
pub fn load_analyzer(rules: &RulesArg, symbols: &SymbolsArg) -> Result<Analyzer> {
    load(rules, symbols, true)
}

/// As [`load_analyzer`], for the commands that run a command (`watch`, `repeat`): a symbol
/// cache built while it runs shows no progress, whose line would be drawn among the lines the
/// command writes to the same terminal.
pub fn load_analyzer_for_run(rules: &RulesArg, symbols: &SymbolsArg) -> Result<Analyzer> {
    load(rules, symbols, false)
}

fn load(rules: &RulesArg, symbols: &SymbolsArg, build_progress: bool) -> Result<Analyzer> {
    let rules = load_rules(rules)?;
    let indexing = progress::Progress::start("indexing symbol files", false, false);
    let mut index = symbols::index_for(&symbols.symbols, symbols.cache_dir.as_deref())?;
    drop(indexing);
    if let Some(index) = index.as_mut().filter(|_| build_progress) {
        index.observe(show_symcache_builds());
    }
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

/// Progress while a symcache is built (seconds for a big dSYM, once per build of it): "building
/// the symbol cache of libtorch_cpu.dylib (412 MB)". Several may be built at once, by the
/// threads reading reports: the line names those under way, and lasts until the last ends.
fn show_symcache_builds() -> impl Fn(&symbols::SymbolEvent<'_>) + Send + Sync + 'static {
    let builds: Mutex<Builds> = Mutex::new(Builds::default());
    move |event| {
        let Ok(mut builds) = builds.lock() else {
            return;
        };
        match event {
            symbols::SymbolEvent::Building { path, bytes, .. } => builds.building(path, *bytes),
            symbols::SymbolEvent::Built { path, .. } => builds.built(path),
            _ => {}
        }
    }
}

/// The symcaches being built, by symbol file (builds under way of it, for several
/// architectures, and its size), and the one progress line that names them. Keyed by file: the
/// build that ends is not always the last that started, and the line must name those left.
#[derive(Default)]
struct Builds {
    files: BTreeMap<PathBuf, (usize, u64)>,
    progress: Option<progress::Progress>,
}

impl Builds {
    fn building(&mut self, path: &Path, bytes: u64) {
        let entry = self.files.entry(path.to_owned()).or_insert((0, bytes));
        entry.0 += 1;
        self.show();
    }

    fn built(&mut self, path: &Path) {
        if let Some(entry) = self.files.get_mut(path) {
            entry.0 = entry.0.saturating_sub(1);
            if entry.0 == 0 {
                self.files.remove(path);
            }
        }
        self.show();
    }

    /// What the line says: the files whose symcaches are being built; `None` when none is.
    fn message(&self) -> Option<String> {
        if self.files.is_empty() {
            return None;
        }
        let names: Vec<String> = self
            .files
            .iter()
            .map(|(path, (_, bytes))| {
                let name = path.file_name().map_or_else(
                    || path.display().to_string(),
                    |n| n.to_string_lossy().into_owned(),
                );
                format!("{name} ({} MB)", bytes.div_ceil(1_000_000))
            })
            .collect();
        Some(format!("building the symbol cache of {}", names.join(", ")))
    }

    fn show(&mut self) {
        match (self.message(), &self.progress) {
            (None, _) => self.progress = None,
            (Some(message), Some(progress)) => progress.set_message(message),
            (Some(message), None) => {
                self.progress = Some(progress::Progress::start(message, false, false));
            }
        }
    }
}

/// The variable that says where inventories keep the heads of big report folders: unset for the
/// platform's cache folder, `off` to read every head every time, or a folder.
pub const HEAD_CACHE_VAR: &str = "CRASHDELTA_HEAD_CACHE";

/// Where inventories keep the heads of big report folders ([`inventory::HeadCache`]), as
/// [`HEAD_CACHE_VAR`] says.
pub fn head_cache() -> inventory::HeadCache {
    match std::env::var_os(HEAD_CACHE_VAR) {
        Some(v) if v == "off" => inventory::HeadCache::off(),
        Some(v) if !v.is_empty() => inventory::HeadCache::at(PathBuf::from(v)),
        _ => inventory::HeadCache::default_location(),
    }
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

/// Checks, before the command runs, that what is written after it can be: the `--output` file
/// (its folder exists and takes a new file) and the `--collect` folder (made now if it does not
/// exist). Found only after a long test run, a bad path would cost the run, and its exit code
/// (125) would hide the command's.
pub fn preflight(record: &RecordArgs) -> Result<()> {
    // The history is a database: writing a record or the state file over it would wipe it.
    if let Some(history) = record.history.file() {
        let same = |other: &Option<std::path::PathBuf>| {
            other.as_ref().is_some_and(|o| {
                o == history
                    || matches!(
                        (std::fs::canonicalize(o), std::fs::canonicalize(history)),
                        (Ok(a), Ok(b)) if a == b
                    )
            })
        };
        for (flag, other) in [
            ("--output", &record.output),
            ("--json", &record.json),
            ("--state", &record.state),
        ] {
            if same(other) {
                anyhow::bail!(
                    "--history {} is also {flag}: the record would be written over the \
                     history; give them different files",
                    history.display()
                );
            }
        }
    }
    if let Some(path) = &record.output {
        writable_folder(
            "--output",
            path,
            match path.parent() {
                Some(p) if !p.as_os_str().is_empty() => p,
                _ => Path::new("."),
            },
        )?;
    }
    if let Some(dir) = &record.collect {
        std::fs::create_dir_all(dir).with_context(|| {
            format!(
                "--collect {}: cannot make the folder; choose a folder you can write to",
                dir.display()
            )
        })?;
        writable_folder("--collect", dir, dir)?;
    }
    Ok(())
}

/// `--require-clean[=PATHS]`: `Some(Exit::Unclean)` (after saying why) when tracked files
/// differ from the commit, when a path named is not one git tracks (a typo, an untracked or
/// ignored file would check nothing), or when the check cannot be made (no repository, no
/// commit, no git): a check that was not made has not passed.
pub fn require_clean(args: &ProvenanceArgs) -> Option<Exit> {
    let paths = args.require_clean.as_ref()?;
    let cwd = std::env::current_dir().unwrap_or_default();
    let refuse = |why: String| {
        say!("crashdelta: error: --require-clean: {why}");
        Some(Exit::Unclean)
    };
    let changed = match provenance::unclean(&cwd, paths, Duration::from_secs(10)) {
        Ok(changed) => changed,
        Err(why) => return refuse(format!("cannot check: {why}")),
    };
    if !changed.is_empty() {
        let n = changed.len();
        let mut list: Vec<String> = changed.into_iter().take(20).collect();
        if n > 20 {
            list.push(format!("{} more", n - 20));
        }
        return refuse(format!(
            "{n} tracked file(s) differ from the commit: {}; commit or restore them (git stash), \
             or check only the files that matter with --require-clean=PATH,...",
            list.join(", ")
        ));
    }
    None
}

/// Whether a new file can be made in `folder` (for `flag` `path`).
fn writable_folder(flag: &str, path: &Path, folder: &Path) -> Result<()> {
    if path.is_dir() && flag == "--output" {
        bail!("--output {} is a folder: name a file in it", path.display());
    }
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        // A special file (`/dev/stdout`, a FIFO): written as it is, nothing to make.
        return Ok(());
    }
    if !folder.is_dir() {
        bail!(
            "{flag} {}: the folder {} does not exist; make it first, or choose another path",
            path.display(),
            folder.display()
        );
    }
    tempfile::Builder::new()
        .prefix(".crashdelta-check.")
        .tempfile_in(folder)
        .map(drop)
        .map_err(|e| {
            anyhow::anyhow!(
                "{flag} {}: cannot make a file in {} ({}); choose a folder you can write to",
                path.display(),
                folder.display(),
                std::io::Error::from(e.kind())
            )
        })
}

#[cfg(test)]
mod builds_tests {
    use super::*;

    /// C10: with two builds under way, the one that ends first is not always the last that
    /// started: the line names the one still running.
    #[test]
    fn the_progress_line_names_the_builds_under_way() {
        let mut builds = Builds::default();
        builds.building(Path::new("/s/A.dSYM/Contents/Resources/DWARF/A"), 2_000_000);
        builds.building(Path::new("/s/B"), 1);
        assert_eq!(
            builds.message().unwrap(),
            "building the symbol cache of A (2 MB), B (1 MB)"
        );
        builds.built(Path::new("/s/A.dSYM/Contents/Resources/DWARF/A"));
        assert_eq!(
            builds.message().unwrap(),
            "building the symbol cache of B (1 MB)"
        );
        assert!(builds.progress.is_some());
        builds.built(Path::new("/s/B"));
        assert_eq!(builds.message(), None);
        assert!(builds.progress.is_none());
    }
}
