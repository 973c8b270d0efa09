//! The command line's arguments: every clap type lives in this module (the commands here, the
//! argument groups they share in `args/groups.rs`), with their conversion into the library's own
//! types.
//!
//! Parsing has two stages, as in ripgrep: clap reads the words into these structs, then
//! [`Cli::check`] refuses the combinations clap cannot see (`watch --format html` without
//! `--repeat`), still before anything runs. Each command's `--format` values come from what its
//! document supports ([`crashdelta::render::Document::FORMATS`]), so `diff --format html` is a
//! parse error. The library never sees a clap type: `--fail-on`/`--allow`/`--attribute` become a
//! `GatePolicy`, `--settle`/`--settle-max`/`--poll` a `Timing` (the way nextest converts its
//! value enums into runner types).

use std::ffi::OsString;
use std::path::PathBuf;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Args, CommandFactory, Parser, Subcommand};

use crashdelta::analyze::Analysis;
use crashdelta::campaign::CampaignReport;
use crashdelta::campaign::breakdown::StatsReport;
use crashdelta::classify::{FailOn, RuleSet};
use crashdelta::render::{Document, Format, STREAM_FORMATS, Symbolicated};
use crashdelta::run::RunReport;

mod groups;

pub use groups::{
    Attribute, FoldersArg, GateArgs, HistoryArg, ProvenanceArgs, RecordArgs, RulesArg, SymbolsArg,
    TimingArgs, env_pair,
};

/// A `--format` parser that takes the formats in `allowed` (and their aliases), and lists them
/// in `--help`.
fn formats(allowed: &'static [Format]) -> impl TypedValueParser<Value = Format> {
    PossibleValuesParser::new(allowed.iter().map(|f| {
        PossibleValue::new(f.name())
            .aliases(f.aliases().iter().copied())
            .help(f.about())
    }))
    // The parser only lets through a name or alias of a format in `allowed`.
    .map(|name| Format::from_name(&name).unwrap_or(Format::Human))
}

/// What `--version` prints after the name: the version, the commit the binary was built from
/// (`+dirty` when it had uncommitted changes, `unknown` outside a git checkout) and the target
/// triple, both from build.rs: `crashdelta 0.1.0 (commit 2e87440, target aarch64-apple-darwin)`.
const VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (commit ",
    env!("CRASHDELTA_COMMIT"),
    ", target ",
    env!("CRASHDELTA_TARGET"),
    ")"
);

#[derive(Parser)]
#[command(
    name = "crashdelta",
    version = VERSION,
    about = "Read macOS crash reports and say which crash each one is",
    long_about = "Read macOS crash reports (.ips JSON, legacy text, reports pasted into issues) and say \
                  which crash each one is: a known crash in Apple's GPU driver (AGX), another driver or \
                  Metal fault, or something else. Run a command and catch the crash reports it causes \
                  (watch), or run it many times and tell whether a fix changed its crash rate \
                  (watch --repeat, compare).",
    after_long_help = super::exit::help()
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
    /// When to colour the verdicts (gate, known and new crashes, warnings): auto (on a terminal,
    /// unless NO_COLOR is set), always, never
    #[arg(long, value_enum, global = true, value_name = "WHEN", default_value_t = ColorWhen::Auto,
          help_heading = GLOBAL)]
    pub color: ColorWhen,
    /// Print only warnings and errors (no notes, no human summary or table): the exit code gives
    /// the verdict; files (--output, --json, --collect) and JSON, Markdown or JUnit on standard
    /// output are still written
    #[arg(long, short, global = true, help_heading = GLOBAL)]
    pub quiet: bool,
    /// Read settings from FILE (or CRASHDELTA_CONFIG) instead of the first crashdelta.toml found
    /// upward from the working directory
    #[arg(long, global = true, value_name = "FILE", help_heading = GLOBAL)]
    pub config: Option<PathBuf>,
    /// Ignore crashdelta.toml and CRASHDELTA_CONFIG
    #[arg(long, global = true, help_heading = GLOBAL)]
    pub no_config: bool,
}

/// The heading of the options every subcommand takes, listed apart in each one's help.
const GLOBAL: &str = "Global options";

/// `--color`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorWhen {
    /// On a terminal, unless NO_COLOR is set or TERM=dumb
    Auto,
    /// Always, even into a pipe or a file
    Always,
    /// Never
    Never,
}

impl From<ColorWhen> for anstream::ColorChoice {
    fn from(c: ColorWhen) -> anstream::ColorChoice {
        match c {
            ColorWhen::Auto => anstream::ColorChoice::Auto,
            ColorWhen::Always => anstream::ColorChoice::Always,
            ColorWhen::Never => anstream::ColorChoice::Never,
        }
    }
}

#[derive(Subcommand)]
pub enum Command {
    /// Show one report: header, exception, crashed thread, and the classification with its reasons
    #[command(after_long_help = super::exit::help_for("show"))]
    Show(ShowArgs),
    /// Parse and classify reports: files, folders (recursively) or `-` for standard input
    #[command(after_long_help = super::exit::help_for("classify"))]
    Classify(ClassifyArgs),
    /// Fill in missing frame symbols from Mach-O binaries and dSYMs whose UUID matches, and write
    /// the report back out (as .ips JSON by default)
    #[command(after_long_help = super::exit::help_for("symbolicate"))]
    Symbolicate(SymbolicateArgs),
    /// Run a command, catch the crash reports it causes (late ones too), classify them, print the
    /// delta and gate: `crashdelta watch -- ./run_tests.sh`
    #[command(after_long_help = super::exit::help_for("watch"))]
    Watch(WatchArgs),
    /// Write the inventory of the report folders as JSON (for CI steps that split before/after)
    #[command(after_long_help = super::exit::help_for("snapshot"))]
    Snapshot(SnapshotArgs),
    /// The crash reports added between two inventories, or between one and the folders now
    #[command(after_long_help = super::exit::help_for("diff"))]
    Diff(DiffArgs),
    /// Run a command in two configurations, alternately, N times each, and tell whether they
    /// crash at different rates: `crashdelta compare --runs 8 --b-env FIX=1 -- ./stress.sh`
    #[command(after_long_help = super::exit::help_for("compare"))]
    Compare(CompareArgs),
    /// Crashes grouped by signature × OS build × driver version × hardware model, over report
    /// folders and run records
    #[command(after_long_help = super::exit::help_for("stats"))]
    Stats(StatsArgs),
    /// What the history (--history) says over time: crashes by week or day and signature, first
    /// and last seen per OS build and driver version, crash rates per configuration, machine and
    /// test
    #[command(after_long_help = super::exit::help_for("history"))]
    History(HistoryArgs),
    /// List the rules (built-in and from --rules), or check a rules file
    #[command(after_long_help = super::exit::help_for("rules"))]
    Rules(RulesArgs),
    /// Print shell completions or the man page: `crashdelta generate completions zsh`,
    /// `crashdelta generate man > crashdelta.1`
    #[command(after_long_help = super::exit::help_for("generate"))]
    Generate(GenerateArgs),
}

#[derive(Args)]
pub struct GenerateArgs {
    #[command(subcommand)]
    pub what: Generate,
}

/// What `generate` prints.
#[derive(Subcommand)]
pub enum Generate {
    /// Completions for a shell, on standard output (bash: source it, or put it in
    /// bash-completion's folder; zsh: as `_crashdelta` in a folder of `$fpath`; fish: in
    /// ~/.config/fish/completions/crashdelta.fish)
    Completions {
        /// The shell
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// The man page (roff), on standard output: `crashdelta generate man > crashdelta.1`
    Man,
}

/// The command line's description, for `generate`.
pub fn command() -> clap::Command {
    Cli::command()
}

#[derive(Args)]
pub struct ShowArgs {
    /// The report: a file, or `-` for standard input
    pub path: PathBuf,
    #[arg(long, value_name = "FORMAT", default_value = "human",
          value_parser = formats(Analysis::FORMATS))]
    pub format: Format,
    /// Write the chosen format to FILE instead of standard output
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub rules: RulesArg,
    #[command(flatten)]
    pub symbols: SymbolsArg,
}

#[derive(Args)]
pub struct ClassifyArgs {
    /// Files and folders to read; `-` reads standard input
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[arg(long, value_name = "FORMAT", default_value = "human",
          value_parser = formats(STREAM_FORMATS))]
    pub format: Format,
    /// Write the chosen format to FILE instead of standard output
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Fail (exit 86) when a crash of this kind is found: any, agx, metal (agx + metal),
    /// unknown (no rule marks it known), regression (its rule's fixed_in version reached), none
    #[arg(
        long,
        value_name = "WHAT",
        default_value = "none",
        env = "CRASHDELTA_FAIL_ON"
    )]
    pub fail_on: FailOn,
    /// A rule id whose crashes never fail the gate (repeatable)
    #[arg(long, value_name = "RULE_ID")]
    pub allow: Vec<String>,
    #[command(flatten)]
    pub rules: RulesArg,
    #[command(flatten)]
    pub symbols: SymbolsArg,
    #[command(flatten)]
    pub history: HistoryArg,
}

#[derive(Args)]
pub struct SymbolicateArgs {
    /// The report: a file, or `-` for standard input
    pub path: PathBuf,
    #[command(flatten)]
    pub symbols: SymbolsArg,
    #[arg(long, value_name = "FORMAT", default_value = "ips",
          value_parser = formats(Symbolicated::FORMATS))]
    pub format: Format,
    /// Write to FILE instead of standard output
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Args)]
pub struct SnapshotArgs {
    #[command(flatten)]
    pub folders: FoldersArg,
    /// Write to FILE instead of standard output
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

#[derive(Args)]
pub struct RulesArgs {
    #[command(subcommand)]
    pub action: Option<RulesAction>,
    /// The format of the list, or of `explain` (given before or after `explain`)
    #[arg(long, value_name = "FORMAT", default_value = "human", global = true,
          value_parser = formats(RuleSet::FORMATS))]
    pub format: Format,
    /// Write the chosen format to FILE instead of standard output
    #[arg(long, short, value_name = "FILE", global = true)]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub rules: RulesArg,
}

#[derive(Subcommand)]
pub enum RulesAction {
    /// Check a rules file: every error names the file, the rule and the field; warns about a
    /// rule no report can reach (one without conditions, or after a broader one)
    Check {
        /// The rules file (TOML)
        file: PathBuf,
    },
    /// Show, rule by rule, which condition held or failed for one report and what the report
    /// had instead: why it is classified as it is (with --rules, under a team's rules)
    Explain(ExplainArgs),
}

#[derive(Args)]
pub struct ExplainArgs {
    /// The report: a file, or `-` for standard input
    pub report: PathBuf,
    #[command(flatten)]
    pub symbols: SymbolsArg,
}

#[derive(Args)]
pub struct WatchArgs {
    #[command(flatten)]
    pub folders: FoldersArg,
    #[command(flatten)]
    pub timing: TimingArgs,
    #[command(flatten)]
    pub gate: GateArgs,
    /// The record's format; html is written for campaigns (--repeat). A record written to standard
    /// output (no --output) is never mixed with the command's: its standard output then goes to
    /// standard error
    #[arg(long, value_name = "FORMAT", default_value = "human",
          value_parser = formats(CampaignReport::FORMATS))]
    pub format: Format,
    #[command(flatten)]
    pub record: RecordArgs,
    #[command(flatten)]
    pub rules: RulesArg,
    #[command(flatten)]
    pub symbols: SymbolsArg,
    #[command(flatten)]
    pub campaign: CampaignArgs,
    #[command(flatten)]
    pub provenance: ProvenanceArgs,
    /// The command and its arguments, after `--`
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

impl WatchArgs {
    /// A campaign (`--repeat`, `--until-crash`) rather than one run.
    pub fn is_campaign(&self) -> bool {
        self.campaign.repeat.is_some() || self.campaign.until_crash
    }
}

#[derive(Args)]
pub struct CampaignArgs {
    /// Run the command N times, each run its own window, and report the crash rate
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    pub repeat: Option<u64>,
    /// Stop at the first run that crashes (with --repeat N: after at most N runs; alone: 100)
    #[arg(long)]
    pub until_crash: bool,
    /// Wait each run's settle before the next run starts. By default the next run starts as
    /// soon as the command exits; each run's late reports are still given to it (by its process
    /// tree) when they land, and the last run waits once for all of them
    #[arg(long)]
    pub sequential: bool,
}

#[derive(Args)]
pub struct DiffArgs {
    /// The inventory taken before (`crashdelta snapshot`)
    pub before: PathBuf,
    /// The inventory taken after; default: the report folders now
    pub after: Option<PathBuf>,
    #[command(flatten)]
    pub folders: FoldersArg,
    #[command(flatten)]
    pub gate: GateArgs,
    #[arg(long, value_name = "FORMAT", default_value = "human",
          value_parser = formats(RunReport::FORMATS))]
    pub format: Format,
    #[command(flatten)]
    pub record: RecordArgs,
    #[command(flatten)]
    pub rules: RulesArg,
    #[command(flatten)]
    pub symbols: SymbolsArg,
}

#[derive(Args)]
pub struct CompareArgs {
    /// Runs of each configuration; A and B alternate (A B A B ...) so that drift hits both
    #[arg(long, value_name = "N", default_value_t = 8,
          value_parser = clap::value_parser!(u64).range(1..=50_000))]
    pub runs: u64,
    /// A variable for configuration A only, NAME=VALUE (repeatable)
    #[arg(long = "a-env", value_name = "NAME=VALUE", value_parser = env_pair)]
    pub a_env: Vec<(String, String)>,
    /// A variable for configuration B only, NAME=VALUE (repeatable); for an injected library,
    /// DYLD_INSERT_LIBRARIES=/path/to/lib.dylib
    #[arg(long = "b-env", value_name = "NAME=VALUE", value_parser = env_pair)]
    pub b_env: Vec<(String, String)>,
    /// What to call A in tables and charts [default: its variables, or "A (as is)"]
    #[arg(long = "a-name", value_name = "NAME")]
    pub a_name: Option<String>,
    /// What to call B [default: its variables, or "B"]
    #[arg(long = "b-name", value_name = "NAME")]
    pub b_name: Option<String>,
    /// Wait each run's settle before the next run starts. By default the next run starts as
    /// soon as the command exits; each run's late reports are still given to it (by its process
    /// tree) when they land, and the last run waits once for all of them
    #[arg(long)]
    pub sequential: bool,
    #[command(flatten)]
    pub folders: FoldersArg,
    #[command(flatten)]
    pub timing: TimingArgs,
    /// Which new crashes count for a run: run (its process tree, late reports, and any crash in
    /// its window nothing places elsewhere), run-strict (only what its process tree proves), or
    /// any
    #[arg(long, value_enum, default_value_t = Attribute::Run)]
    pub attribute: Attribute,
    #[arg(long, value_name = "FORMAT", default_value = "human",
          value_parser = formats(CampaignReport::FORMATS))]
    pub format: Format,
    #[command(flatten)]
    pub record: RecordArgs,
    #[command(flatten)]
    pub rules: RulesArg,
    #[command(flatten)]
    pub symbols: SymbolsArg,
    #[command(flatten)]
    pub provenance: ProvenanceArgs,
    /// The command and its arguments, after `--`
    #[arg(last = true, required = true, value_name = "CMD")]
    pub command: Vec<OsString>,
}

#[derive(Args)]
pub struct StatsArgs {
    /// Report files and folders, and run records (`watch`, `compare` or `classify` JSON)
    #[arg(required = true)]
    pub paths: Vec<PathBuf>,
    #[arg(long, value_name = "FORMAT", default_value = "human",
          value_parser = formats(StatsReport::FORMATS))]
    pub format: Format,
    /// Write the chosen format to FILE instead of standard output
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
    #[command(flatten)]
    pub rules: RulesArg,
    #[command(flatten)]
    pub symbols: SymbolsArg,
}

#[derive(Args)]
pub struct HistoryArgs {
    /// The history a run's --history wrote: its SQLite file or postgres:// URL [default:
    /// --history, CRASHDELTA_HISTORY or crashdelta.toml's `history`]
    #[arg(value_name = "HISTORY")]
    pub store: Option<PathBuf>,
    /// The history, as `watch --history` names it (the positional HISTORY wins)
    #[arg(
        long = "history",
        value_name = "FILE|URL",
        env = "CRASHDELTA_HISTORY",
        hide_env_values = true
    )]
    pub history: Option<PathBuf>,
    /// From this time on: a date (2026-11-01, UTC), an RFC 3339 time, or an age (30d, 2weeks)
    #[arg(long, value_name = "WHEN", value_parser = when)]
    pub since: Option<chrono::DateTime<chrono::Utc>>,
    /// Before this time (same forms as --since)
    #[arg(long, value_name = "WHEN", value_parser = when)]
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// Group crashes and runs by calendar day or ISO week (UTC)
    #[arg(long, value_enum, value_name = "PERIOD", default_value = "week")]
    pub by: Period,
    /// Only the runs of this machine (its host name) and the crashes they saw first
    #[arg(long, value_name = "HOST")]
    pub machine: Option<String>,
    #[arg(long, value_name = "FORMAT", default_value = "human",
          value_parser = formats(crashdelta::history::query::Answer::FORMATS))]
    pub format: Format,
    /// Write the chosen format to FILE instead of standard output
    #[arg(long, short, value_name = "FILE")]
    pub output: Option<PathBuf>,
}

/// `history --by`.
#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Period {
    /// Calendar days
    Day,
    /// ISO weeks, from Monday
    Week,
}

impl From<Period> for crashdelta::history::query::Period {
    fn from(p: Period) -> Self {
        match p {
            Period::Day => Self::Day,
            Period::Week => Self::Week,
        }
    }
}

/// A `--since`/`--until` value: a date (midnight UTC), an RFC 3339 time, or an age before now
/// (humantime: `30d`, `2weeks`, `12h`).
pub fn when(s: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
    let s = s.trim();
    let accepted = "accepted: a date (2026-11-01), a time (2026-11-01T10:00:00Z; UTC without \
                    an offset), or an age (30d, 2weeks)";
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return Ok(d.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    // A time without an offset, with a `T` or a space, with or without seconds: UTC.
    for form in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, form) {
            return Ok(t.and_utc());
        }
    }
    // Shaped like a date but not one (2026-02-30): say so, not humantime's "invalid character".
    if s.len() >= 10 && s.as_bytes().get(4) == Some(&b'-') && s.as_bytes().get(7) == Some(&b'-') {
        return Err(format!("{s} is not a date or a time ({accepted})"));
    }
    let age = humantime::parse_duration(s).map_err(|e| format!("{e} ({accepted})"))?;
    chrono::Duration::from_std(age)
        .ok()
        .and_then(|age| Utc::now().checked_sub_signed(age))
        .ok_or_else(|| format!("{s} is too long ago ({accepted})"))
}

impl Cli {
    /// The second stage: what clap cannot check, refused before anything runs.
    pub fn check(&self) -> Result<(), clap::Error> {
        if let Command::Watch(w) = &self.command
            && w.format == Format::Html
            && !w.is_campaign()
        {
            return Err(Cli::command().error(
                clap::error::ErrorKind::ArgumentConflict,
                "`watch --format html` is a campaign's page: add --repeat N (--repeat 1 for one run)",
            ));
        }
        let record = match &self.command {
            Command::Watch(a) => Some(&a.record),
            Command::Diff(a) => Some(&a.record),
            Command::Compare(a) => Some(&a.record),
            _ => None,
        };
        if let Some(RecordArgs {
            output: Some(output),
            json: Some(json),
            ..
        }) = record
            && output == json
        {
            return Err(Cli::command().error(
                clap::error::ErrorKind::ArgumentConflict,
                "--json and --output name the same file: the JSON record would replace the \
                 chosen format; name two files",
            ));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
