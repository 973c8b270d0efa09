//! The command line: argument definitions, command dispatch and exit codes.
//!
//! Exit codes (documented in `docs/exit-codes.md`, tested in `tests/cli.rs`):
//! - 0: every input was read and the gate (if any) passed;
//! - 1: at least one input could not be read or was an incomplete report; the others were still
//!   processed and printed;
//! - 86: the gate failed (`--fail-on`): a crash it fails on was found; takes precedence over 1;
//! - 125: crashdelta itself failed: bad arguments, a bad rules file, output that cannot be
//!   written (the `timeout(1)`/`env(1)` convention).

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
use clap::{Args, Parser, Subcommand, ValueEnum};

use crashdelta::classify::gate::{FailOn, Gate};
use crashdelta::classify::triage::Triage;
use crashdelta::classify::{RuleSet, rules};
use crashdelta::input;
use crashdelta::render::{
    self, Entry, GateResult, Sink, Status, Totals, human, json, junit, markdown,
};

pub const EXIT_OK: u8 = 0;
pub const EXIT_INPUT_ERRORS: u8 = 1;
/// Test runners do not use it (pytest 0-5, go test 1-2, cargo test 101, nextest 100), so a CI log
/// can tell "the tests failed" from "the crash gate failed".
pub const EXIT_GATE_FAILED: u8 = 86;
pub const EXIT_TOOL_ERROR: u8 = 125;

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
    },
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
        } => show(path, format, &load_rules(&rules)?),
        Command::Classify {
            paths,
            format,
            output,
            fail_on,
            allow,
            rules,
        } => {
            let rules = load_rules(&rules)?;
            for id in &allow {
                if !rules.rules().iter().any(|r| &r.id == id) {
                    bail!("--allow {id}: no rule has this id (`crashdelta rules` lists them)");
                }
            }
            classify(&paths, format, output, Gate { fail_on, allow }, &rules)
        }
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

fn exit_for(errors: u64) -> u8 {
    if errors > 0 {
        EXIT_INPUT_ERRORS
    } else {
        EXIT_OK
    }
}

fn show(path: PathBuf, format: ShowFormat, rules: &RuleSet) -> Result<u8> {
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
    let outcome = render::outcome(first, rules);
    let mut out = io::stdout().lock();
    match format {
        ShowFormat::Text => out.write_all(human::show(&outcome).as_bytes())?,
        ShowFormat::Json => {
            let gate = GateResult {
                fail_on: FailOn::None,
                allow: Vec::new(),
                passed: true,
                failures: 0,
                reason: "no gate".into(),
            };
            let mut sink = json::JsonSink::start(&mut out)?;
            sink.entry(&Entry {
                outcome: &outcome,
                gate_failure: None,
            })?;
            let mut summary = render::Summary::default();
            summary.add(outcome.status());
            sink.finish(&Totals {
                summary,
                groups: Vec::new(),
                gate: &gate,
            })?;
        }
    }
    out.flush().context("cannot write to standard output")?;
    Ok(exit_for(u64::from(outcome.status() == Status::Error)))
}

fn classify(
    paths: &[PathBuf],
    format: Format,
    output: Option<PathBuf>,
    gate: Gate,
    rules: &RuleSet,
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
    for input in input::inputs(paths) {
        let outcome = render::outcome(input, rules);
        summary.add(outcome.status());
        let verdict = match &outcome.result {
            Ok((report, Some(c))) => {
                triage.add(report, c);
                gate.verdict(c)
            }
            _ => None,
        };
        if let Some(why) = &verdict {
            failures += 1;
            first_failure.get_or_insert_with(|| format!("{}: {why}", outcome.path));
        }
        sink.entry(&Entry {
            outcome: &outcome,
            gate_failure: verdict.as_deref(),
        })
        .context("cannot write the output")?;
    }
    let passed = failures == 0;
    let reason = match (&first_failure, gate.fail_on) {
        (_, FailOn::None) => "no gate (--fail-on none)".to_owned(),
        (Some(first), _) if failures == 1 => format!("failed: {first}"),
        (Some(first), _) => format!("failed: {failures} crashes, the first {first}"),
        (None, fail_on) => format!(
            "passed: no crash of the kind --fail-on {} fails on",
            fail_on.as_str()
        ),
    };
    let result = GateResult {
        fail_on: gate.fail_on,
        allow: gate.allow.clone(),
        passed,
        failures,
        reason,
    };
    sink.finish(&Totals {
        summary,
        groups: triage.groups(),
        gate: &result,
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
