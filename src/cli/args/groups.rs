//! The argument groups several commands share (`--rules`, `--symbols`, `--reports-dir`, the gate,
//! the timing, where a record goes) and their conversion into the library's policy types.

use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::{Args, ValueEnum};

use crashdelta::classify::{FailOn, GatePolicy, Scope};
use crashdelta::inventory;

use crate::cli::output::{note, say};
use crashdelta::run::Timing;

#[derive(Args)]
pub struct RulesArg {
    /// A rules file (TOML) whose rules are tried before the built-in ones; a rule with a built-in
    /// rule's id replaces it (docs/rules.md)
    // Global: `rules explain REPORT --rules FILE` reads as `rules --rules FILE explain REPORT`
    // (no effect on commands without subcommands).
    #[arg(long, value_name = "FILE", env = "CRASHDELTA_RULES", global = true)]
    pub rules: Option<PathBuf>,
}

#[derive(Args)]
pub struct HistoryArg {
    /// Append each run and its crashes to the history database: a SQLite FILE (made if
    /// missing), or a postgres:// URL a fleet of runners shares (docs/history.md); a history
    /// that cannot be written is a warning, never the verdict
    // The value is never shown in --help: a URL's password is in it (review finding).
    #[arg(
        long,
        value_name = "FILE|URL",
        env = "CRASHDELTA_HISTORY",
        hide_env_values = true
    )]
    pub history: Option<PathBuf>,
}

impl HistoryArg {
    /// The history's file, when it is one (not a PostgreSQL URL): what must not be written over
    /// nor read back as an input.
    pub fn file(&self) -> Option<&Path> {
        self.history
            .as_deref()
            .filter(|h| !h.to_str().is_some_and(crashdelta::history::is_postgres_url))
    }
}

#[derive(Args)]
pub struct SymbolsArg {
    /// Mach-O binaries (thin or universal), dSYM bundles, or folders of them (searched
    /// recursively), to name unnamed frames whose image UUID matches (repeatable)
    #[arg(long, value_name = "PATH")]
    pub symbols: Vec<PathBuf>,
    /// Where symbol caches are kept (default: the platform's cache folder, crashdelta/symcache)
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
}

#[derive(Args)]
pub struct FoldersArg {
    /// A report folder to watch (repeatable); default: CRASHDELTA_REPORTS_DIR (folders separated
    /// by `:`), else ~/Library/Logs/DiagnosticReports and /Library/Logs/DiagnosticReports, with
    /// their Retired/ subfolders
    #[arg(long = "reports-dir", value_name = "DIR")]
    pub reports_dir: Vec<PathBuf>,
}

impl FoldersArg {
    /// The folders to watch ([`FoldersArg::folders`]), said on standard error: which ones, and
    /// a warning for each that does not exist while others do (a typo in `--reports-dir` would
    /// otherwise watch nothing there, silently). None existing is the watch's own error.
    pub fn watched(&self) -> Vec<PathBuf> {
        let folders = self.folders();
        let (there, missing): (Vec<&PathBuf>, Vec<&PathBuf>) =
            folders.iter().partition(|f| f.is_dir());
        if !there.is_empty() {
            let list: Vec<String> = there.iter().map(|f| f.display().to_string()).collect();
            note!("crashdelta: watching {}", list.join(", "));
            for f in missing {
                say!(
                    "crashdelta: warning: the report folder {} does not exist (a typo?); it is not watched live",
                    f.display()
                );
            }
        }
        folders
    }

    /// The folders named, or the default ones that can be read (a warning on standard error for
    /// each that cannot: `inventory::readable_default_folders`).
    pub fn folders(&self) -> Vec<PathBuf> {
        if let Some(from_env) = std::env::var_os("CRASHDELTA_REPORTS_DIR")
            .filter(|v| !v.is_empty())
            .filter(|_| self.reports_dir.is_empty())
        {
            return std::env::split_paths(&from_env).map(absolute).collect();
        }
        if self.reports_dir.is_empty() {
            let (folders, warnings) = inventory::readable_default_folders();
            for w in warnings {
                say!("crashdelta: warning: {w}");
            }
            folders
        } else {
            self.reports_dir.iter().cloned().map(absolute).collect()
        }
    }
}

/// `path` made absolute against the working directory (not resolved: a link stays a link). An
/// inventory written by `snapshot` in one step is read by `diff` in another, perhaps from
/// another folder: its paths must not depend on where each ran.
fn absolute(path: PathBuf) -> PathBuf {
    std::path::absolute(&path).unwrap_or(path)
}

#[derive(Args)]
pub struct GateArgs {
    /// What fails the gate (exit 86): any, agx, metal (agx + metal), unknown (no rule marks it
    /// known), regression (its rule's fixed_in version reached), none
    #[arg(
        long,
        value_name = "WHAT",
        default_value = "any",
        env = "CRASHDELTA_FAIL_ON"
    )]
    pub fail_on: FailOn,
    /// A rule id whose crashes never fail the gate (repeatable)
    #[arg(long, value_name = "RULE_ID")]
    pub allow: Vec<String>,
    /// Which new crashes the gate sees: run (the command's process tree, late reports of an earlier
    /// run, and any crash in its window nothing places elsewhere), run-strict (only those its
    /// process tree proves, or for diff its capture time; unreadable ones still count), or any
    #[arg(long, value_enum, default_value_t = Attribute::Run)]
    pub attribute: Attribute,
}

/// `--attribute`.
#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Attribute {
    /// Crashes of the command's process tree or window, unless something places them elsewhere
    Run,
    /// Only crashes the process tree (diff: the capture time) proves to be the run's, and
    /// unreadable ones
    RunStrict,
    /// Every new crash, concurrent ones too
    Any,
}

impl From<Attribute> for Scope {
    fn from(a: Attribute) -> Scope {
        match a {
            Attribute::Run => Scope::Run,
            Attribute::RunStrict => Scope::RunStrict,
            Attribute::Any => Scope::Any,
        }
    }
}

impl From<&GateArgs> for GatePolicy {
    fn from(g: &GateArgs) -> GatePolicy {
        GatePolicy {
            fail_on: g.fail_on,
            allow: g.allow.clone(),
            scope: g.attribute.into(),
        }
    }
}

#[derive(Args)]
pub struct TimingArgs {
    /// Wait at least this long after the command (each run) exits for late reports
    #[arg(
        long,
        value_name = "DURATION",
        default_value = "5s",
        value_parser = duration,
        env = "CRASHDELTA_SETTLE"
    )]
    pub settle: Duration,
    /// Wait up to this long when a crash is expected (the command died by a signal that makes a
    /// crash report on macOS: SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGTRAP, SIGSYS, SIGQUIT)
    /// but its report has not arrived
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = duration)]
    pub settle_max: Duration,
    /// Poll the folders instead of using file-system events
    #[arg(long)]
    pub poll: bool,
    /// After an interrupt (SIGINT, SIGTERM, SIGHUP, SIGQUIT), kill the command's process group
    /// (SIGKILL) if it has not ended within this long; a second interrupt kills it at once
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = duration)]
    pub kill_after: Duration,
    /// Kill what the command left running in its process group (`sleep 100 &`) when each run
    /// ends; without it, leftovers are only reported
    #[arg(long)]
    pub kill_leftovers: bool,
    /// Do not read the command's output as it passes through (for the test runner's evidence
    /// of a crash: which test, the Python stack); the command then writes to crashdelta's own
    /// standard output and error, with no pseudo-terminal between it and a terminal
    #[arg(long)]
    pub no_capture: bool,
    /// A JUnit XML file the test runner writes (pytest --junitxml, nextest, ctest
    /// --output-junit), read when each run ends for which test crashed (repeatable)
    #[arg(long, value_name = "FILE")]
    pub test_results: Vec<PathBuf>,
}

impl From<&TimingArgs> for Timing {
    fn from(t: &TimingArgs) -> Timing {
        Timing {
            settle: t.settle,
            settle_max: t.settle_max,
            poll: t.poll,
            kill_after: t.kill_after,
            kill_leftovers: t.kill_leftovers,
            capture: !t.no_capture,
            stdout_to_stderr: false,
        }
    }
}

/// The longest duration any flag takes: a week. Longer is a typo (`--settle 1e30`), and a wait
/// that long is no wait at all.
pub const MAX_DURATION: Duration = Duration::from_secs(7 * 24 * 3600);

/// A duration flag's value: seconds (`2`, `0.5`) or humantime (`5s`, `500ms`, `2m`), from 0 to
/// [`MAX_DURATION`]. Conversions are checked: a value out of range is an argument error (clap
/// names the flag), never a panic.
pub fn duration(s: &str) -> Result<Duration, String> {
    let range = "accepted: 0 to 7 days, e.g. 5s, 500ms, 2m, 1.5";
    let parsed = match s.trim().parse::<f64>() {
        Ok(secs) if secs.is_nan() => return Err(format!("not a number ({range})")),
        Ok(secs) => Duration::try_from_secs_f64(secs)
            .map_err(|_| format!("{s} seconds is out of range ({range})"))?,
        Err(_) => humantime::parse_duration(s).map_err(|e| format!("{e} ({range})"))?,
    };
    if parsed > MAX_DURATION {
        return Err(format!("{s} is too long ({range})"));
    }
    Ok(parsed)
}

/// What the record says about what ran (docs/provenance.md), and the clean-tree check.
#[derive(Args)]
pub struct ProvenanceArgs {
    /// Also record this environment variable in the run's provenance (repeatable; `PREFIX*` for
    /// all that start with PREFIX); DYLD_*, LD_*, MPS_*, PYTORCH_*, MTL_*, METAL_*, MLX_* and
    /// CRASHDELTA_* always are, values of secret-looking names as a SHA-256
    #[arg(long, value_name = "NAME")]
    pub record_env: Vec<String>,
    /// Refuse to run (exit 87) when tracked files differ from the git commit, naming them;
    /// `--require-clean=PATH,...` checks only those paths (the test files that matter)
    #[arg(long, value_name = "PATHS", num_args = 0.., value_delimiter = ',', require_equals = true)]
    pub require_clean: Option<Vec<PathBuf>>,
}

/// Where a run's or a campaign's record goes, and its reports.
#[derive(Args)]
pub struct RecordArgs {
    /// Write the chosen format to FILE; the human summary still goes to standard error
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also write the JSON record (docs/json.md) to FILE, whatever --format is: a CI step keeps
    /// the record and shows the Markdown summary from one run
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Copy the new crash reports into DIR, with a manifest of their SHA-256 (never moves them);
    /// campaigns copy each run's into DIR/run-NNN
    #[arg(long, value_name = "DIR")]
    pub collect: Option<PathBuf>,
    /// Remember each run's process tree and window in FILE, and name a crash report that lands
    /// after an earlier run settled as that run's late report (gated with --attribute run)
    #[arg(long, value_name = "FILE", env = "CRASHDELTA_STATE")]
    pub state: Option<PathBuf>,
    #[command(flatten)]
    pub history: HistoryArg,
}

/// `--a-env`/`--b-env NAME=VALUE`.
pub fn env_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("expected NAME=VALUE, got {s:?}")),
    }
}
