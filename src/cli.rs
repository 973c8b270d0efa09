//! The command line: argument definitions, command dispatch and exit codes.
//!
//! Exit codes (documented in `docs/exit-codes.md`, tested in `tests/cli.rs`):
//! - 0: every input was read and the gate (if any) passed;
//! - 1: at least one input could not be read or was an incomplete report; the others were still
//!   processed and printed;
//! - 86: the gate failed (`--fail-on`): a crash it fails on was found; takes precedence over 1;
//! - 125: crashdelta itself failed: bad arguments, a bad rules file, output that cannot be
//!   written (the `timeout(1)`/`env(1)` convention).

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crashdelta::analyze::{Analysis, AnalysisError, Analyzer, pipeline};
use crashdelta::classify::gate::{FailOn, Gate};
use crashdelta::classify::triage::Triage;
use crashdelta::classify::{RuleSet, rules};
use crashdelta::input;
use crashdelta::inventory::{self, Inventory};
use crashdelta::render::run::{CommandInfo, NewReport, RunReport, Window};
use crashdelta::render::{
    self, Entry, GateResult, Sink, Status, Totals, human, json, junit, markdown,
};
use crashdelta::symbols::{self, SymbolIndex};
use crashdelta::watch::{self, Attribution, AttributionKind, LiveEvent, SpawnError};

mod campaign;

pub const EXIT_OK: u8 = 0;
pub const EXIT_INPUT_ERRORS: u8 = 1;
/// Test runners do not use it (pytest 0-5, go test 1-2, cargo test 101, nextest 100), so a CI log
/// can tell "the tests failed" from "the crash gate failed".
pub const EXIT_GATE_FAILED: u8 = 86;
pub const EXIT_TOOL_ERROR: u8 = 125;
/// `env(1)`: the command was found but could not be run.
pub const EXIT_CANNOT_RUN: u8 = 126;
/// `env(1)`: the command was not found.
pub const EXIT_NOT_FOUND: u8 = 127;
/// Interrupted (SIGINT/SIGTERM forwarded to the command): 128 + SIGINT.
pub const EXIT_INTERRUPTED: u8 = 130;

#[derive(Parser)]
#[command(
    name = "crashdelta",
    version,
    about = "Read macOS crash reports and say which crash each one is",
    long_about = "Read macOS crash reports (.ips JSON, legacy text, reports pasted into issues) and say \
                  which crash each one is: a known crash in Apple's GPU driver (AGX), another driver or \
                  Metal fault, or something else.\n\n\
                  Exit codes: 0 all inputs read (and the gate passed); 1 some input could not be read or \
                  was incomplete; 86 the gate (--fail-on) failed; 125 crashdelta failed (bad arguments, \
                  bad rules file, unwritable output)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Args)]
struct RulesArg {
    /// A rules file (TOML) whose rules are tried before the built-in ones; a rule with a built-in
    /// rule's id replaces it (docs/rules.md)
    #[arg(long, value_name = "FILE")]
    rules: Option<PathBuf>,
}

#[derive(Subcommand)]
enum Command {
    /// Show one report: header, exception, crashed thread, and the classification with its reasons
    Show {
        /// The report: a file, or `-` for standard input
        path: PathBuf,
        #[arg(long, value_enum, default_value_t = ShowFormat::Text)]
        format: ShowFormat,
        #[command(flatten)]
        rules: RulesArg,
        #[command(flatten)]
        symbols: SymbolsArg,
    },
    /// Parse and classify reports: files, folders (recursively) or `-` for standard input
    Classify {
        /// Files and folders to read; `-` reads standard input
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Write the chosen format to FILE instead of standard output
        #[arg(long, value_name = "FILE")]
        output: Option<PathBuf>,
        /// Fail (exit 86) when a crash of this kind is found: any, agx, metal (agx + metal),
        /// unknown (no rule marks it known), none
        #[arg(long, value_name = "WHAT", default_value = "none")]
        fail_on: FailOn,
        /// A rule id whose crashes never fail the gate (repeatable)
        #[arg(long, value_name = "RULE_ID")]
        allow: Vec<String>,
        #[command(flatten)]
        rules: RulesArg,
        #[command(flatten)]
        symbols: SymbolsArg,
    },
    /// Fill in missing frame symbols from Mach-O binaries and dSYMs whose UUID matches, and write
    /// the report back out (as .ips JSON by default)
    Symbolicate {
        /// The report: a file, or `-` for standard input
        path: PathBuf,
        #[command(flatten)]
        symbols: SymbolsArg,
        #[arg(long, value_enum, default_value_t = SymbolicateFormat::Ips)]
        format: SymbolicateFormat,
        /// Write to FILE instead of standard output
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// Run a command, catch the crash reports it causes (late ones too), classify them, print the
    /// delta and gate: `crashdelta watch -- ./run_tests.sh`
    Watch(WatchArgs),
    /// Write the inventory of the report folders as JSON (for CI steps that split before/after)
    Snapshot {
        #[command(flatten)]
        folders: FoldersArg,
        /// Write to FILE instead of standard output
        #[arg(long, short, value_name = "FILE")]
        output: Option<PathBuf>,
    },
    /// The crash reports added between two inventories, or between one and the folders now
    Diff(DiffArgs),
    /// Run a command in two configurations, alternately, N times each, and tell whether they
    /// crash at different rates: `crashdelta compare --runs 8 --b-env FIX=1 -- ./stress.sh`
    Compare(campaign::CompareArgs),
    /// Crashes grouped by signature × OS build × driver version × hardware model, over report
    /// folders and run records
    Stats(campaign::StatsArgs),
    /// List the rules (built-in and from --rules), or check a rules file
    Rules {
        #[command(subcommand)]
        action: Option<RulesAction>,
        #[arg(long, value_enum, default_value_t = RulesFormat::Table)]
        format: RulesFormat,
        #[command(flatten)]
        rules: RulesArg,
    },
}

#[derive(Args)]
struct SymbolsArg {
    /// Mach-O binaries (thin or universal), dSYM bundles, or folders of them (searched
    /// recursively), to name unnamed frames whose image UUID matches (repeatable)
    #[arg(long, value_name = "PATH")]
    symbols: Vec<PathBuf>,
    /// Where symbol caches are kept (default: the platform's cache folder, crashdelta/symcache)
    #[arg(long, value_name = "DIR")]
    cache_dir: Option<PathBuf>,
}

#[derive(Args)]
struct FoldersArg {
    /// A report folder to watch (repeatable); default: ~/Library/Logs/DiagnosticReports and
    /// /Library/Logs/DiagnosticReports, with their Retired/ subfolders
    #[arg(long = "reports-dir", value_name = "DIR")]
    reports_dir: Vec<PathBuf>,
}

impl FoldersArg {
    fn folders(&self) -> Vec<PathBuf> {
        if self.reports_dir.is_empty() {
            inventory::default_folders()
        } else {
            self.reports_dir.clone()
        }
    }
}

#[derive(Args, Clone)]
struct GateArgs {
    /// What fails the gate (exit 86): any, agx, metal (agx + metal), unknown (no rule marks it
    /// known), none
    #[arg(long, value_name = "WHAT", default_value = "any")]
    fail_on: FailOn,
    /// A rule id whose crashes never fail the gate (repeatable)
    #[arg(long, value_name = "RULE_ID")]
    allow: Vec<String>,
    /// Which new crashes the gate sees: run (from the command's process tree or window) or any
    #[arg(long, value_enum, default_value_t = Attribute::Run)]
    attribute: Attribute,
}

#[derive(Args)]
struct OutputArgs {
    #[arg(long, value_enum, default_value_t = RunFormat::Human)]
    format: RunFormat,
    /// Write the chosen format to FILE; the human summary still goes to standard error
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Copy the new crash reports into DIR, with a manifest of their SHA-256 (never moves them);
    /// campaigns copy each run's into DIR/run-NNN
    #[arg(long, value_name = "DIR")]
    collect: Option<PathBuf>,
}

#[derive(Args)]
struct WatchArgs {
    #[command(flatten)]
    folders: FoldersArg,
    #[command(flatten)]
    timing: TimingArgs,
    #[command(flatten)]
    gate: GateArgs,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    rules: RulesArg,
    #[command(flatten)]
    symbols: SymbolsArg,
    #[command(flatten)]
    campaign: CampaignArgs,
    /// The command and its arguments, after `--`
    #[arg(last = true, required = true, value_name = "CMD")]
    command: Vec<OsString>,
}

#[derive(Args, Clone)]
struct TimingArgs {
    /// Wait at least this long after the command (each run) exits for late reports
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = duration)]
    settle: Duration,
    /// Wait up to this long when a crash is expected (the command died by a signal) but its
    /// report has not arrived
    #[arg(long, value_name = "DURATION", default_value = "60s", value_parser = duration)]
    settle_max: Duration,
    /// Poll the folders instead of using file-system events
    #[arg(long)]
    poll: bool,
}

#[derive(Args)]
struct CampaignArgs {
    /// Run the command N times, each run its own window, and report the crash rate
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..=100_000))]
    repeat: Option<u64>,
    /// Stop at the first run that crashes (with --repeat N: after at most N runs; alone: 100)
    #[arg(long)]
    until_crash: bool,
}

#[derive(Args)]
struct DiffArgs {
    /// The inventory taken before (`crashdelta snapshot`)
    before: PathBuf,
    /// The inventory taken after; default: the report folders now
    after: Option<PathBuf>,
    #[command(flatten)]
    folders: FoldersArg,
    #[command(flatten)]
    gate: GateArgs,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    rules: RulesArg,
    #[command(flatten)]
    symbols: SymbolsArg,
}

#[derive(Clone, Copy, ValueEnum)]
enum SymbolicateFormat {
    /// The report as .ips JSON (header line + body) with the symbols filled in
    Ips,
    /// The `show` rendering
    Text,
    /// The classify JSON document
    Json,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Attribute {
    Run,
    Any,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum RunFormat {
    Human,
    Json,
    Markdown,
    Junit,
    /// One self-contained page with charts (campaigns)
    Html,
}

fn duration(s: &str) -> Result<Duration, String> {
    if let Ok(secs) = s.parse::<f64>()
        && secs.is_finite()
        && secs >= 0.0
    {
        return Ok(Duration::from_secs_f64(secs));
    }
    humantime::parse_duration(s).map_err(|e| format!("{e} (write e.g. 5s, 500ms, 2m)"))
}

#[derive(Subcommand)]
enum RulesAction {
    /// Check a rules file: every error names the file, the rule and the field
    Check { file: PathBuf },
}

#[derive(Clone, Copy, ValueEnum)]
enum ShowFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Table,
    Json,
    Markdown,
    Junit,
}

#[derive(Clone, Copy, ValueEnum)]
enum RulesFormat {
    Table,
    Json,
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // --help and --version are not failures.
            return if e.use_stderr() {
                ExitCode::from(EXIT_TOOL_ERROR)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if e.chain().any(|c| {
                c.downcast_ref::<io::Error>()
                    .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            }) {
                // `crashdelta classify ... | head` is not an error.
                return ExitCode::from(EXIT_OK);
            }
            eprintln!("crashdelta: error: {e:#}");
            ExitCode::from(EXIT_TOOL_ERROR)
        }
    }
}

fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Show {
            path,
            format,
            rules,
            symbols,
        } => show(path, format, &load_analyzer(&rules, &symbols)?),
        Command::Classify {
            paths,
            format,
            output,
            fail_on,
            allow,
            rules,
            symbols,
        } => {
            let analyzer = load_analyzer(&rules, &symbols)?;
            check_allow(&analyzer.rules, &allow)?;
            classify(&paths, format, output, Gate { fail_on, allow }, &analyzer)
        }
        Command::Symbolicate {
            path,
            symbols,
            format,
            output,
        } => symbolicate(path, &symbols, format, output),
        Command::Watch(args) => watch(args),
        Command::Snapshot { folders, output } => snapshot(&folders.folders(), output),
        Command::Diff(args) => diff(args),
        Command::Compare(args) => campaign::compare(args),
        Command::Stats(args) => campaign::stats(args),
        Command::Rules {
            action: Some(RulesAction::Check { file }),
            ..
        } => check_rules(&file),
        Command::Rules {
            action: None,
            format,
            rules,
        } => list_rules(&load_rules(&rules)?, format),
    }
}

fn load_rules(arg: &RulesArg) -> Result<RuleSet> {
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

fn load_analyzer(rules: &RulesArg, symbols: &SymbolsArg) -> Result<Analyzer> {
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

fn exit_for(errors: u64) -> u8 {
    if errors > 0 {
        EXIT_INPUT_ERRORS
    } else {
        EXIT_OK
    }
}

fn show(path: PathBuf, format: ShowFormat, analyzer: &Analyzer) -> Result<u8> {
    let paths = [path];
    let mut inputs = input::inputs(&paths);
    let Some(first) = inputs.next() else {
        bail!("{} holds no files to show", paths[0].display());
    };
    if inputs.next().is_some() {
        bail!(
            "`show` takes one report; {} is a folder with several (use `classify`)",
            paths[0].display()
        );
    }
    let outcome = pipeline::analyze_input(first, analyzer);
    let mut out = io::stdout().lock();
    match format {
        ShowFormat::Text => out.write_all(human::show(&outcome).as_bytes())?,
        ShowFormat::Json => json::write_report(&mut out, &outcome)?,
    }
    out.flush().context("cannot write to standard output")?;
    Ok(exit_for(u64::from(outcome.status() == Status::Error)))
}

fn classify(
    paths: &[PathBuf],
    format: Format,
    output: Option<PathBuf>,
    gate: Gate,
    analyzer: &Analyzer,
) -> Result<u8> {
    let writer: Box<dyn Write> = match &output {
        Some(path) => Box::new(io::BufWriter::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(io::BufWriter::new(io::stdout().lock())),
    };
    let width = (output.is_some() || !io::stdout().is_terminal()).then_some(160);
    let mut sink: Box<dyn Sink> = match format {
        Format::Table => Box::new(human::TableSink::new(writer, width)),
        Format::Json => Box::new(json::JsonSink::start(writer)?),
        Format::Markdown => Box::new(markdown::MarkdownSink::new(writer)),
        Format::Junit => Box::new(junit::JunitSink::new(writer)),
    };
    let mut summary = render::Summary::default();
    let mut triage = Triage::default();
    let mut failures = 0u64;
    let mut first_failure: Option<String> = None;
    pipeline::for_each(input::inputs(paths), analyzer, |outcome| -> Result<()> {
        summary.add(outcome.status());
        let verdict = outcome.crash().and_then(|(report, c)| {
            triage.add(report, c);
            gate.verdict(c)
        });
        if let Some(why) = &verdict {
            failures += 1;
            first_failure.get_or_insert_with(|| format!("{}: {why}", outcome.path));
        }
        sink.entry(&Entry {
            outcome: &outcome,
            gate_failure: verdict.as_deref(),
            attribution: None,
        })
        .context("cannot write the output")
    })?;
    let result = gate_result(&gate, failures, first_failure);
    let passed = result.passed;
    sink.finish(&Totals {
        summary,
        groups: triage.groups(),
        gate: &result,
        headline: None,
    })
    .context("cannot write the output")?;
    if output.is_some() || !matches!(format, Format::Table) {
        // The chosen format went to a file or a pipe; a person reading the log still sees this.
        eprintln!(
            "crashdelta: {} input(s), {} crash report(s), {} not a crash, {} error(s); gate: {}",
            summary.inputs, summary.crashes, summary.not_a_crash, summary.errors, result.reason
        );
    }
    Ok(if !passed {
        EXIT_GATE_FAILED
    } else {
        exit_for(summary.errors)
    })
}

fn list_rules(rules: &RuleSet, format: RulesFormat) -> Result<u8> {
    let mut out = io::stdout().lock();
    match format {
        RulesFormat::Json => {
            #[derive(serde::Serialize)]
            struct RuleOut<'a> {
                id: &'a str,
                title: &'a str,
                family: &'a str,
                known: bool,
                links: &'a [String],
                evidence: Option<&'a str>,
                source: &'a str,
            }
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
                })
                .collect();
            serde_json::to_writer_pretty(&mut out, &list)?;
            writeln!(out)?;
        }
        RulesFormat::Table => {
            let mut table = comfy_table::Table::new();
            table
                .load_style(comfy_table::presets::UTF8_FULL_CONDENSED)
                .set_content_arrangement(comfy_table::ContentArrangement::Dynamic)
                .set_header(["#", "id", "family", "known", "title", "source"]);
            if !io::stdout().is_terminal() {
                table.set_width(160);
            }
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
            writeln!(
                out,
                "{table}\nRules are tried in this order; the first that matches wins."
            )?;
        }
    }
    out.flush().context("cannot write to standard output")?;
    Ok(EXIT_OK)
}

fn check_rules(file: &PathBuf) -> Result<u8> {
    let text = std::fs::read_to_string(file)
        .with_context(|| format!("cannot read rules file {}", file.display()))?;
    let parsed = rules::parse(&text, &file.display().to_string())?;
    let builtin = RuleSet::builtin()?;
    let replaced: Vec<&str> = parsed
        .iter()
        .filter(|r| builtin.rules().iter().any(|b| b.id == r.id))
        .map(|r| r.id.as_str())
        .collect();
    println!("{}: {} rule(s), valid", file.display(), parsed.len());
    if !replaced.is_empty() {
        println!("replaces built-in rule(s): {}", replaced.join(", "));
    }
    Ok(EXIT_OK)
}

/// The gate's verdict in words.
fn gate_result(gate: &Gate, failures: u64, first_failure: Option<String>) -> GateResult {
    let reason = match (&first_failure, gate.fail_on) {
        (_, FailOn::None) => "no gate (--fail-on none)".to_owned(),
        (Some(first), _) if failures == 1 => format!("failed: {first}"),
        (Some(first), _) => format!("failed: {failures} crashes, the first {first}"),
        (None, fail_on) => format!(
            "passed: no crash of the kind --fail-on {} fails on",
            fail_on.as_str()
        ),
    };
    GateResult {
        fail_on: gate.fail_on,
        allow: gate.allow.clone(),
        passed: failures == 0,
        failures,
        reason,
    }
}

fn check_allow(rules: &RuleSet, allow: &[String]) -> Result<()> {
    for id in allow {
        if !rules.rules().iter().any(|r| &r.id == id) {
            bail!("--allow {id}: no rule has this id (`crashdelta rules` lists them)");
        }
    }
    Ok(())
}

fn snapshot(folders: &[PathBuf], output: Option<PathBuf>) -> Result<u8> {
    let inv = inventory::scan(folders)?;
    let text = serde_json::to_vec_pretty(&inv)?;
    match output {
        Some(path) => std::fs::write(&path, text)
            .with_context(|| format!("cannot write {}", path.display()))?,
        None => {
            let mut out = io::stdout().lock();
            out.write_all(&text)?;
            writeln!(out)?;
        }
    }
    eprintln!(
        "crashdelta: {} crash report(s), {} other file(s) in {}",
        inv.crash_count(),
        inv.entries.len() - inv.crash_count(),
        inv.folders
            .iter()
            .filter(|f| f.exists)
            .map(|f| f.path.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(EXIT_OK)
}

/// A new crash report as the run record needs it.
struct Found {
    outcome: Analysis,
    attribution: Attribution,
    incident: Option<String>,
    path: PathBuf,
}

/// Applies the gate, builds the record, writes the chosen format and the human summary, collects.
/// Returns whether the gate passed.
/// What the run record says about the command, besides its crashes.
struct RunContext {
    command: Option<CommandInfo>,
    window: Window,
    interrupted: Option<i32>,
}

fn finish_run(
    found: Vec<Found>,
    delta: &inventory::Delta,
    ctx: RunContext,
    gate_args: &GateArgs,
    output: &OutputArgs,
) -> Result<bool> {
    let (run, to_collect) = build_run(found, delta, ctx, gate_args);
    // The human summary always goes to standard error, so that a CI log shows it.
    let width = (!io::stderr().is_terminal()).then_some(160);
    eprint!("{}", render::run::human(&run, width));
    write_run(&run, output)?;
    if let Some(dir) = &output.collect {
        collect_into(dir, &to_collect)?;
    }
    Ok(run.gate.passed)
}

fn collect_into(dir: &Path, to_collect: &[(PathBuf, Option<String>)]) -> Result<()> {
    let copied = watch::collect::collect(dir, to_collect)?;
    eprintln!(
        "crashdelta: copied {} report(s) to {} (manifest.json)",
        copied.len(),
        dir.display()
    );
    Ok(())
}

/// Applies the gate and builds the run record; also returns the files `--collect` copies.
fn build_run(
    found: Vec<Found>,
    delta: &inventory::Delta,
    ctx: RunContext,
    gate_args: &GateArgs,
) -> (RunReport, Vec<(PathBuf, Option<String>)>) {
    let gate = Gate {
        fail_on: gate_args.fail_on,
        allow: gate_args.allow.clone(),
    };
    let attribute = gate_args.attribute;
    let mut failures = 0u64;
    let mut first_failure = None;
    // Files that appeared and cannot be read may be crash reports: shown, and failed on by `any`.
    let found = found
        .into_iter()
        .chain(delta.unreadable.iter().map(|e| Found {
            outcome: Analysis {
                path: e.path.clone(),
                result: Err(AnalysisError::Read(format!(
                    "cannot read {}: {}",
                    e.path,
                    e.error.as_deref().unwrap_or("unknown error")
                ))),
            },
            attribution: Attribution::unknown(),
            incident: None,
            path: PathBuf::from(&e.path),
        }));
    let mut new = Vec::new();
    let mut to_collect = Vec::new();
    for f in found {
        let counts = attribute == Attribute::Any || f.attribution.kind == AttributionKind::Run;
        let gate_failure = match (&f.outcome.result, f.outcome.crash()) {
            (_, Some((_, c))) if counts => gate.verdict(c),
            // A crash report that could not be read is still a crash: `any` fails on it.
            (Err(_), _) if counts && gate.fail_on == FailOn::Any => {
                Some("a crash report that could not be read".to_owned())
            }
            _ => None,
        };
        if let Some(why) = &gate_failure {
            failures += 1;
            first_failure.get_or_insert_with(|| format!("{}: {why}", f.outcome.path));
        }
        // A file that could not be read cannot be copied either.
        if !matches!(f.outcome.result, Err(AnalysisError::Read(_))) {
            to_collect.push((f.path, f.incident));
        }
        new.push(NewReport {
            outcome: f.outcome,
            attribution: f.attribution,
            gate_failure,
        });
    }
    let concurrent = new
        .iter()
        .filter(|n| n.attribution.kind == AttributionKind::Concurrent)
        .count();
    let run = RunReport {
        headline: watch::delta_line(delta, new.len(), concurrent),
        before: delta.before,
        after: delta.after,
        retired: delta.retired.iter().filter(|e| e.is_crash()).count(),
        removed: delta.removed.iter().filter(|e| e.is_crash()).count(),
        other_new: delta.new.iter().filter(|e| !e.is_crash()).count(),
        new,
        command: ctx.command,
        window: ctx.window,
        gate: gate_result(&gate, failures, first_failure),
        interrupted: ctx.interrupted,
    };
    (run, to_collect)
}

/// Writes a run record in the chosen format to `--output` or standard output.
fn write_run(run: &RunReport, output: &OutputArgs) -> Result<()> {
    if output.format == RunFormat::Html {
        bail!("HTML pages are written for campaigns: use watch --repeat N, compare, or stats");
    }
    let writer: Option<Box<dyn Write>> = match (&output.output, output.format) {
        (Some(path), _) => Some(Box::new(io::BufWriter::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        ))),
        (None, RunFormat::Human) => None,
        (None, _) => Some(Box::new(io::BufWriter::new(io::stdout().lock()))),
    };
    if let Some(mut w) = writer {
        match output.format {
            RunFormat::Json => render::run::write_json(&mut w, run)?,
            RunFormat::Human => {
                w.write_all(render::run::human(run, Some(160)).as_bytes())?;
                w.flush()?;
            }
            RunFormat::Markdown | RunFormat::Junit | RunFormat::Html => {
                let mut sink: Box<dyn Sink> = match output.format {
                    RunFormat::Markdown => Box::new(markdown::MarkdownSink::new(w)),
                    _ => Box::new(junit::JunitSink::new(w)),
                };
                let mut summary = render::Summary::default();
                for n in &run.new {
                    summary.add(n.outcome.status());
                    sink.entry(&Entry {
                        outcome: &n.outcome,
                        gate_failure: n.gate_failure.as_deref(),
                        attribution: Some(&n.attribution),
                    })?;
                }
                sink.finish(&Totals {
                    summary,
                    groups: Vec::new(),
                    gate: &run.gate,
                    headline: Some(&run.headline),
                })?;
            }
        }
    }
    Ok(())
}

fn watch(args: WatchArgs) -> Result<u8> {
    if args.campaign.repeat.is_some()
        || args.campaign.until_crash
        || args.output.format == RunFormat::Html
    {
        return campaign::repeat(args);
    }
    let analyzer = load_analyzer(&args.rules, &args.symbols)?;
    check_allow(&analyzer.rules, &args.gate.allow)?;
    let opts = watch_options(
        args.folders.folders(),
        args.command.clone(),
        Vec::new(),
        &args.timing,
    );
    let (run, to_collect, exit, interrupted) = match watch_once(&opts, &analyzer, &args.gate)? {
        Once::Ran {
            run,
            to_collect,
            exit,
            interrupted,
        } => (run, to_collect, exit, interrupted),
        Once::CannotRun(code) => return Ok(code),
    };
    // The human summary always goes to standard error, so that a CI log shows it.
    let width = (!io::stderr().is_terminal()).then_some(160);
    eprint!("{}", render::run::human(&run, width));
    write_run(&run, &args.output)?;
    if let Some(dir) = &args.output.collect {
        collect_into(dir, &to_collect)?;
    }
    Ok(run_exit_code(run.gate.passed, exit, interrupted))
}

fn watch_options(
    folders: Vec<PathBuf>,
    argv: Vec<OsString>,
    env: Vec<(OsString, OsString)>,
    timing: &TimingArgs,
) -> watch::Options {
    watch::Options {
        folders,
        argv,
        env,
        settle: timing.settle,
        settle_max: timing.settle_max.max(timing.settle),
        poll: timing.poll,
    }
}

/// The exit code of one watched run: interrupted, then the gate, then the command's own.
fn run_exit_code(passed: bool, exit: watch::Exit, interrupted: Option<i32>) -> u8 {
    if interrupted.is_some() {
        EXIT_INTERRUPTED
    } else if !passed {
        EXIT_GATE_FAILED
    } else {
        command_exit_code(exit)
    }
}

/// The command's own outcome as an exit code: its code, or 128+N when killed by signal N.
fn command_exit_code(exit: watch::Exit) -> u8 {
    if let Some(sig) = exit.signal {
        u8::try_from(128 + sig).unwrap_or(EXIT_TOOL_ERROR)
    } else {
        exit.code
            .and_then(|c| u8::try_from(c).ok())
            .unwrap_or(EXIT_TOOL_ERROR)
    }
}

/// One watched run, or the exit code when the command could not be started.
enum Once {
    Ran {
        run: Box<RunReport>,
        to_collect: Vec<(PathBuf, Option<String>)>,
        exit: watch::Exit,
        interrupted: Option<i32>,
    },
    CannotRun(u8),
}

/// Prints what happens during a run, as it happens, on standard error.
fn print_live(event: LiveEvent) {
    match event {
        LiveEvent::Crash(c) => {
            let from = match c.attribution.kind {
                AttributionKind::Run => "this run",
                AttributionKind::Concurrent => "concurrent, not from this run",
            };
            match c
                .parsed
                .as_ref()
                .ok()
                .and_then(|a| Some((&a.report, a.classification.as_ref()?)))
            {
                Some((r, class)) => eprintln!(
                    "crashdelta: new crash report after {:.1}s: {} {} {} at {} ({from}): {}",
                    c.seen_after.as_secs_f64(),
                    render::process_label(r),
                    class.family.as_str(),
                    class.rule,
                    class.location.as_deref().unwrap_or("?"),
                    c.entry.path
                ),
                _ => eprintln!("crashdelta: new crash report: {} ({from})", c.entry.path),
            }
        }
        LiveEvent::Exited(exit) => match (exit.code, exit.signal) {
            (_, Some(sig)) => eprintln!("crashdelta: the command was killed by signal {sig}"),
            (Some(code), None) => eprintln!("crashdelta: the command exited with code {code}"),
            _ => {}
        },
        LiveEvent::Waiting {
            expecting_crash,
            up_to,
        } => {
            if expecting_crash {
                eprintln!(
                    "crashdelta: waiting up to {:.0}s for its crash report",
                    up_to.as_secs_f64()
                );
            } else {
                eprintln!(
                    "crashdelta: waiting {:.1}s for late crash reports",
                    up_to.as_secs_f64()
                );
            }
        }
    }
}

fn watch_once(opts: &watch::Options, analyzer: &Analyzer, gate: &GateArgs) -> Result<Once> {
    let outcome = match watch::run(opts, analyzer, &mut print_live) {
        Ok(o) => o,
        Err(watch::WatchError::Spawn(e)) => {
            eprintln!("crashdelta: error: {e}");
            return Ok(Once::CannotRun(match e {
                SpawnError::NotFound(_) => EXIT_NOT_FOUND,
                SpawnError::NotExecutable(..) => EXIT_CANNOT_RUN,
                _ => EXIT_TOOL_ERROR,
            }));
        }
        Err(e) => return Err(e.into()),
    };
    let found = outcome
        .crashes
        .into_iter()
        .map(|c| Found {
            incident: c.entry.peek.as_ref().and_then(|p| p.incident_id.clone()),
            path: PathBuf::from(&c.entry.path),
            outcome: Analysis {
                path: c.entry.path.clone(),
                result: c.parsed.map_err(AnalysisError::Parse),
            },
            attribution: c.attribution,
        })
        .collect();
    let command = CommandInfo {
        argv: opts
            .argv
            .iter()
            .map(|a| a.to_string_lossy().into_owned())
            .collect(),
        exit: outcome.exit.code,
        signal: outcome.exit.signal,
        pids: outcome.pids.iter().copied().collect(),
    };
    let window = Window {
        start: outcome.start,
        end: outcome.exited,
        settled: outcome.end,
        settle_used_ms: u64::try_from(outcome.settle_used.as_millis()).unwrap_or(u64::MAX),
    };
    let ctx = RunContext {
        command: Some(command),
        window,
        interrupted: outcome.interrupted,
    };
    let (run, to_collect) = build_run(found, &outcome.delta, ctx, gate);
    Ok(Once::Ran {
        run: Box::new(run),
        to_collect,
        exit: outcome.exit,
        interrupted: outcome.interrupted,
    })
}

fn diff(args: DiffArgs) -> Result<u8> {
    let analyzer = load_analyzer(&args.rules, &args.symbols)?;
    check_allow(&analyzer.rules, &args.gate.allow)?;
    let before = Inventory::read(&args.before)?;
    let after = match &args.after {
        Some(path) => Inventory::read(path)?,
        None => {
            // The folders the before-inventory looked at, unless told otherwise.
            let folders = if args.folders.reports_dir.is_empty() {
                before
                    .folders
                    .iter()
                    .map(|f| PathBuf::from(&f.path))
                    .collect()
            } else {
                args.folders.folders()
            };
            inventory::scan(&folders)?
        }
    };
    let delta = inventory::diff(&before, &after);
    let window = (before.taken_at, Some(after.taken_at));
    let found: Vec<Found> = delta
        .new_crashes()
        .map(|entry| {
            let path = PathBuf::from(&entry.path);
            let result = input::read_file(&path)
                .map_err(|e| AnalysisError::Read(e.to_string()))
                .and_then(|bytes| analyzer.analyze(&bytes).map_err(AnalysisError::Parse));
            // No process tree is known across CI steps: the capture time decides.
            let attribution = match &result {
                Ok(a) => watch::attribution::attribute_by_time(&a.report, window),
                Err(_) => Attribution::unknown(),
            };
            Found {
                incident: entry.peek.as_ref().and_then(|p| p.incident_id.clone()),
                path,
                outcome: Analysis {
                    path: entry.path.clone(),
                    result,
                },
                attribution,
            }
        })
        .collect();
    let window = Window {
        start: before.taken_at,
        end: after.taken_at,
        settled: after.taken_at,
        settle_used_ms: 0,
    };
    let ctx = RunContext {
        command: None,
        window,
        interrupted: None,
    };
    let passed = finish_run(found, &delta, ctx, &args.gate, &args.output)?;
    Ok(if !passed { EXIT_GATE_FAILED } else { EXIT_OK })
}

fn symbolicate(
    path: PathBuf,
    symbols_arg: &SymbolsArg,
    format: SymbolicateFormat,
    output: Option<PathBuf>,
) -> Result<u8> {
    let analyzer = load_analyzer(&RulesArg { rules: None }, symbols_arg)?;
    let bytes = if path.as_os_str() == "-" {
        input::inputs(std::slice::from_ref(&path))
            .next()
            .map(input::Input::read)
            .context("no input")??
    } else {
        input::read_file(&path)?
    };
    let mut report = crashdelta::report::parse(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let named = analyzer.symbolicate(&mut report);
    let symbol_warnings: Vec<String> = report
        .warnings
        .iter()
        .filter(|w| w.at == "symbols")
        .map(|w| w.message.clone())
        .collect();
    let text = match format {
        SymbolicateFormat::Ips => crashdelta::symbols::rewrite::ips_with_symbols(&bytes, &report)
            .with_context(|| {
            format!(
                "{} cannot be written back as .ips (use --format text or json)",
                path.display()
            )
        })?,
        SymbolicateFormat::Text | SymbolicateFormat::Json => {
            let outcome = Analysis {
                path: path.display().to_string(),
                result: Ok(analyzer.classify(report)),
            };
            match format {
                SymbolicateFormat::Text => human::show(&outcome),
                _ => {
                    let mut buf = Vec::new();
                    json::write_report(&mut buf, &outcome)?;
                    String::from_utf8_lossy(&buf).into_owned()
                }
            }
        }
    };
    match output {
        Some(out) => {
            std::fs::write(&out, text).with_context(|| format!("cannot write {}", out.display()))?
        }
        None => io::stdout()
            .lock()
            .write_all(text.as_bytes())
            .context("cannot write to standard output")?,
    }
    eprintln!("crashdelta: named {named} frame(s)");
    for w in symbol_warnings {
        eprintln!("crashdelta: {w}");
    }
    Ok(EXIT_OK)
}
