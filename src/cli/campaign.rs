//! `watch --repeat`, `compare` and `stats`: campaigns of watched runs and what their counts say.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use clap::Args;

use crashdelta::analyze::Analyzer;
use crashdelta::campaign::{
    Breakdown, CrashFacts, RunCrash, RunSummary, compare as compare_stats, config_stats,
};
use crashdelta::input;
use crashdelta::render::campaign::{
    CampaignReport, CampaignSummary, ConfigInfo, StatsReport, html_page, human, junit, markdown,
    stats_html, stats_human, stats_json, stats_markdown, write_json,
};
use crashdelta::render::run::RunReport;
use crashdelta::watch::AttributionKind;

use super::{
    Attribute, EXIT_GATE_FAILED, EXIT_INPUT_ERRORS, EXIT_INTERRUPTED, EXIT_OK, FoldersArg,
    GateArgs, Once, OutputArgs, RulesArg, RunFormat, SymbolsArg, TimingArgs, WatchArgs,
    check_allow, collect_into, command_exit_code, load_analyzer, watch_once, watch_options,
};

#[derive(Args)]
pub(super) struct CompareArgs {
    /// Runs of each configuration; A and B alternate (A B A B ...) so that drift hits both
    #[arg(long, value_name = "N", default_value_t = 8,
          value_parser = clap::value_parser!(u64).range(1..=50_000))]
    runs: u64,
    /// A variable for configuration A only, NAME=VALUE (repeatable)
    #[arg(long = "a-env", value_name = "NAME=VALUE", value_parser = env_pair)]
    a_env: Vec<(String, String)>,
    /// A variable for configuration B only, NAME=VALUE (repeatable); for an injected library,
    /// DYLD_INSERT_LIBRARIES=/path/to/lib.dylib
    #[arg(long = "b-env", value_name = "NAME=VALUE", value_parser = env_pair)]
    b_env: Vec<(String, String)>,
    /// What to call A in tables and charts [default: its variables, or "A (as is)"]
    #[arg(long = "a-name", value_name = "NAME")]
    a_name: Option<String>,
    /// What to call B [default: its variables, or "B"]
    #[arg(long = "b-name", value_name = "NAME")]
    b_name: Option<String>,
    #[command(flatten)]
    folders: FoldersArg,
    #[command(flatten)]
    timing: TimingArgs,
    /// Which new crashes count for a run: run (from its process tree or window) or any
    #[arg(long, value_enum, default_value_t = Attribute::Run)]
    attribute: Attribute,
    #[command(flatten)]
    output: OutputArgs,
    #[command(flatten)]
    rules: RulesArg,
    #[command(flatten)]
    symbols: SymbolsArg,
    /// The command and its arguments, after `--`
    #[arg(last = true, required = true, value_name = "CMD")]
    command: Vec<OsString>,
}

#[derive(Args)]
pub(super) struct StatsArgs {
    /// Report files and folders, and run records (`watch`, `compare` or `classify` JSON)
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    #[arg(long, value_enum, default_value_t = StatsFormat::Table)]
    format: StatsFormat,
    /// Write the chosen format to FILE instead of standard output
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    #[command(flatten)]
    rules: RulesArg,
    #[command(flatten)]
    symbols: SymbolsArg,
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(super) enum StatsFormat {
    Table,
    Json,
    Markdown,
    Html,
}

fn env_pair(s: &str) -> Result<(String, String), String> {
    match s.split_once('=') {
        Some((k, v)) if !k.is_empty() => Ok((k.to_owned(), v.to_owned())),
        _ => Err(format!("expected NAME=VALUE, got {s:?}")),
    }
}

/// What a campaign needs to run.
struct Setup<'a> {
    analyzer: &'a Analyzer,
    folders: Vec<PathBuf>,
    argv: Vec<OsString>,
    timing: TimingArgs,
    gate: GateArgs,
    collect: Option<PathBuf>,
}

struct Config {
    info: ConfigInfo,
    env: Vec<(OsString, OsString)>,
}

/// The campaign's runs, or how it ended early.
struct Ran {
    runs: Vec<RunSummary>,
    records: Vec<serde_json::Value>,
    gate_failed: bool,
    /// The exit code of the first run whose command failed (with the gate passing).
    first_failure: Option<u8>,
    interrupted: bool,
    stopped: Option<String>,
}

fn summary_of(run: &RunReport, index: usize, config: usize, attribute: Attribute) -> RunSummary {
    let counts =
        |kind: AttributionKind| attribute == Attribute::Any || kind == AttributionKind::Run;
    let mut crashes = Vec::new();
    let mut unreadable = 0;
    for n in &run.new {
        if !counts(n.attribution.kind) {
            continue;
        }
        match (&n.outcome.result, n.outcome.crash()) {
            (_, Some((report, c))) => crashes.push(RunCrash::new(report, c, &n.outcome.path)),
            (Ok(_), None) => {}
            (Err(_), None) => unreadable += 1,
        }
    }
    let command = run.command.as_ref();
    RunSummary {
        index,
        config,
        exit: command.and_then(|c| c.exit),
        signal: command.and_then(|c| c.signal),
        start: run.window.start,
        duration_ms: u64::try_from((run.window.end - run.window.start).num_milliseconds())
            .unwrap_or(0),
        crashes,
        concurrent: run.concurrent(),
        unreadable,
    }
}

/// Runs the configurations in `order` (indexes into `configs`), each run watched on its own.
fn run_all(
    setup: &Setup,
    configs: &[Config],
    order: &[usize],
    until_crash: bool,
) -> Result<Result<Ran, u8>> {
    let mut ran = Ran {
        runs: Vec::new(),
        records: Vec::new(),
        gate_failed: false,
        first_failure: None,
        interrupted: false,
        stopped: None,
    };
    let total = order.len();
    for (i, &config) in order.iter().enumerate() {
        let index = i + 1;
        let Some(cfg) = configs.get(config) else {
            continue;
        };
        let label = if configs.len() > 1 {
            format!(" ({})", cfg.info.name)
        } else {
            String::new()
        };
        eprintln!("crashdelta: run {index} of {total}{label}");
        let opts = watch_options(
            setup.folders.clone(),
            setup.argv.clone(),
            cfg.env.clone(),
            &setup.timing,
        );
        let (run, to_collect, exit, interrupted) =
            match watch_once(&opts, setup.analyzer, &setup.gate)? {
                Once::Ran {
                    run,
                    to_collect,
                    exit,
                    interrupted,
                } => (run, to_collect, exit, interrupted),
                // The command cannot be started: no run of the campaign can be.
                Once::CannotRun(code) => return Ok(Err(code)),
            };
        let summary = summary_of(&run, index, config, setup.gate.attribute);
        eprintln!(
            "crashdelta: run {index}{label}: {}; {}",
            run.headline,
            if summary.crashed() {
                format!(
                    "crashed ({} new crash report(s) from the run)",
                    summary.crashes.len()
                )
            } else {
                "no crash from the run".to_owned()
            }
        );
        if let Some(dir) = &setup.collect
            && !to_collect.is_empty()
        {
            collect_into(&dir.join(format!("run-{index:03}")), &to_collect)?;
        }
        if !run.gate.passed {
            ran.gate_failed = true;
        }
        let code = command_exit_code(exit);
        if code != EXIT_OK && ran.first_failure.is_none() {
            ran.first_failure = Some(code);
        }
        let crashed = summary.crashed();
        ran.records.push(crashdelta::render::run::to_value(&run));
        ran.runs.push(summary);
        if interrupted.is_some() {
            ran.interrupted = true;
            ran.stopped = Some(format!("interrupted during run {index}"));
            break;
        }
        if until_crash && crashed {
            if index < total {
                ran.stopped = Some(format!("run {index} crashed (--until-crash)"));
            }
            break;
        }
    }
    Ok(Ok(ran))
}

fn argv_strings(argv: &[OsString]) -> Vec<String> {
    argv.iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect()
}

fn generated() -> String {
    chrono::Local::now()
        .format("%Y-%m-%d %H:%M:%S %z")
        .to_string()
}

/// Writes the campaign in the chosen format; the human summary always goes to standard error.
fn emit(report: &CampaignReport, format: RunFormat, output: Option<&Path>) -> Result<()> {
    let width = (!io::stderr().is_terminal()).then_some(160);
    eprint!("{}", human(report, width));
    let mut w: Box<dyn Write> = match (output, format) {
        (Some(path), _) => Box::new(io::BufWriter::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        (None, RunFormat::Human) => return Ok(()),
        (None, _) => Box::new(io::BufWriter::new(io::stdout().lock())),
    };
    match format {
        RunFormat::Json => write_json(&mut w, report)?,
        RunFormat::Human => w.write_all(human(report, Some(160)).as_bytes())?,
        RunFormat::Markdown => w.write_all(markdown(report).as_bytes())?,
        RunFormat::Junit => w.write_all(junit(report).as_bytes())?,
        RunFormat::Html => w.write_all(html_page(report, &generated()).as_bytes())?,
    }
    w.flush()?;
    Ok(())
}

/// The report of a campaign; the runs and their records move into it, uncopied.
fn campaign_report(
    argv: &[OsString],
    configs: &[Config],
    ran: Ran,
    summary: CampaignSummary,
) -> CampaignReport {
    CampaignReport {
        command: argv_strings(argv),
        configs: configs.iter().map(|c| c.info.clone()).collect(),
        runs: ran.runs,
        records: ran.records,
        summary,
        stopped: ran.stopped,
    }
}

fn campaign_exit(ran: &Ran) -> u8 {
    if ran.interrupted {
        EXIT_INTERRUPTED
    } else if ran.gate_failed {
        EXIT_GATE_FAILED
    } else {
        ran.first_failure.unwrap_or(EXIT_OK)
    }
}

/// `watch --repeat N [--until-crash]`.
pub(super) fn repeat(args: WatchArgs) -> Result<u8> {
    let analyzer = load_analyzer(&args.rules, &args.symbols)?;
    check_allow(&analyzer.rules, &args.gate.allow)?;
    let n = args
        .campaign
        .repeat
        .unwrap_or(if args.campaign.until_crash { 100 } else { 1 });
    let setup = Setup {
        analyzer: &analyzer,
        folders: args.folders.folders(),
        argv: args.command.clone(),
        timing: args.timing.clone(),
        gate: args.gate.clone(),
        collect: args.output.collect.clone(),
    };
    let name = argv_strings(&args.command).join(" ");
    let configs = [Config {
        info: ConfigInfo {
            name: name.clone(),
            env: Vec::new(),
        },
        env: Vec::new(),
    }];
    let order = vec![0; usize::try_from(n).unwrap_or(usize::MAX)];
    let ran = match run_all(&setup, &configs, &order, args.campaign.until_crash)? {
        Ok(ran) => ran,
        Err(code) => return Ok(code),
    };
    let stats = config_stats(&name, 0, &ran.runs);
    let exit = campaign_exit(&ran);
    let report = campaign_report(&args.command, &configs, ran, CampaignSummary::Repeat(stats));
    emit(&report, args.output.format, args.output.output.as_deref())?;
    Ok(exit)
}

fn config_name(given: Option<&str>, env: &[(String, String)], fallback: &str) -> String {
    match given {
        Some(name) => name.to_owned(),
        None if env.is_empty() => fallback.to_owned(),
        None => env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// `compare`: A and B alternated, Fisher's exact test on their crash counts.
pub(super) fn compare(args: CompareArgs) -> Result<u8> {
    if args.a_env.is_empty() && args.b_env.is_empty() {
        bail!(
            "A and B are the same: give the variables that differ with --a-env and/or --b-env \
             (for example --b-env PYTORCH_ENABLE_MPS_FALLBACK=1)"
        );
    }
    let analyzer = load_analyzer(&args.rules, &args.symbols)?;
    let mut a_name = config_name(args.a_name.as_deref(), &args.a_env, "A (as is)");
    let b_name = config_name(args.b_name.as_deref(), &args.b_env, "B");
    if a_name == b_name {
        a_name = format!("A: {a_name}");
    }
    let config = |name: String, env: &[(String, String)]| Config {
        info: ConfigInfo {
            name,
            env: env.iter().map(|(k, v)| format!("{k}={v}")).collect(),
        },
        env: env
            .iter()
            .map(|(k, v)| (OsString::from(k), OsString::from(v)))
            .collect(),
    };
    let configs = [config(a_name, &args.a_env), config(b_name, &args.b_env)];
    let setup = Setup {
        analyzer: &analyzer,
        folders: args.folders.folders(),
        argv: args.command.clone(),
        timing: args.timing.clone(),
        // A comparison measures; it does not gate.
        gate: GateArgs {
            fail_on: crashdelta::classify::gate::FailOn::None,
            allow: Vec::new(),
            attribute: args.attribute,
        },
        collect: args.output.collect.clone(),
    };
    let n = usize::try_from(args.runs).unwrap_or(usize::MAX);
    let order: Vec<usize> = (0..n.saturating_mul(2)).map(|i| i % 2).collect();
    let ran = match run_all(&setup, &configs, &order, false)? {
        Ok(ran) => ran,
        Err(code) => return Ok(code),
    };
    let [a, b] = &configs;
    let comparison = compare_stats(
        config_stats(&a.info.name, 0, &ran.runs),
        config_stats(&b.info.name, 1, &ran.runs),
    );
    let exit = if ran.interrupted {
        EXIT_INTERRUPTED
    } else {
        EXIT_OK
    };
    let report = campaign_report(
        &args.command,
        &configs,
        ran,
        CampaignSummary::Compare(Box::new(comparison)),
    );
    emit(&report, args.output.format, args.output.output.as_deref())?;
    Ok(exit)
}

/// The crashes a run record (`crashdelta.watch/1`, `.campaign/1`, `.classify/1`) lists.
fn record_crashes(doc: &serde_json::Value) -> Option<Vec<CrashFacts>> {
    let schema = doc.get("schema")?.as_str()?;
    let entries: Vec<&serde_json::Value> = match schema {
        "crashdelta.watch/1" => doc.get("new")?.as_array()?.iter().collect(),
        "crashdelta.classify/1" => doc.get("reports")?.as_array()?.iter().collect(),
        "crashdelta.campaign/1" => doc
            .get("runs")?
            .as_array()?
            .iter()
            .filter_map(|r| r.get("new").and_then(|n| n.as_array()))
            .flatten()
            .collect(),
        _ => return None,
    };
    let text = |v: &serde_json::Value, path: &[&str]| -> Option<String> {
        let mut cur = v;
        for key in path {
            cur = cur.get(*key)?;
        }
        cur.as_str().map(str::to_owned)
    };
    Some(
        entries
            .into_iter()
            .filter(|e| e.get("status").and_then(|s| s.as_str()) == Some("crash"))
            .filter_map(|e| {
                Some(CrashFacts {
                    signature_id: text(e, &["signature_id"])?,
                    signature: text(e, &["signature"]).unwrap_or_default(),
                    location: text(e, &["location"]),
                    rule: text(e, &["classification", "rule"]).unwrap_or_default(),
                    title: text(e, &["classification", "title"]).unwrap_or_default(),
                    known: e
                        .get("classification")
                        .and_then(|c| c.get("known"))
                        .and_then(|k| k.as_bool())
                        .unwrap_or(false),
                    os_build: text(e, &["os", "build"]),
                    driver_version: text(e, &["driver", "version"]),
                    hardware_model: text(e, &["hardware_model"]),
                    time: text(e, &["capture_time"])
                        .and_then(|t| chrono::DateTime::parse_from_rfc3339(&t).ok()),
                })
            })
            .collect(),
    )
}

/// `stats PATH...`: crashes grouped by signature × OS build × driver × model.
pub(super) fn stats(args: StatsArgs) -> Result<u8> {
    let analyzer = load_analyzer(&args.rules, &args.symbols)?;
    let mut breakdown = Breakdown::default();
    let (mut inputs, mut skipped, mut unreadable) = (0u64, 0u64, 0u64);
    for item in input::inputs(&args.paths) {
        inputs += 1;
        let name = item.name.clone();
        let bytes = match item.read() {
            Ok(b) => b,
            Err(e) => {
                eprintln!("crashdelta: {e}");
                skipped += 1;
                unreadable += 1;
                continue;
            }
        };
        // A run record is JSON whose schema names crashdelta; anything else is read as a report.
        if name.ends_with(".json")
            && let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&bytes)
            && let Some(crashes) = record_crashes(&doc)
        {
            for c in crashes {
                breakdown.add(c);
            }
            continue;
        }
        match analyzer.analyze(&bytes) {
            Ok(crashdelta::analyze::Analyzed {
                report,
                classification: Some(c),
            }) => breakdown.add(CrashFacts::new(&report, &c)),
            _ => skipped += 1,
        }
    }
    let report = StatsReport {
        inputs,
        crashes: breakdown.total(),
        skipped,
        rows: breakdown.rows(),
    };
    let mut w: Box<dyn Write> = match &args.output {
        Some(path) => Box::new(io::BufWriter::new(
            File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
        )),
        None => Box::new(io::BufWriter::new(io::stdout().lock())),
    };
    let width = (!io::stdout().is_terminal() || args.output.is_some()).then_some(160);
    match args.format {
        StatsFormat::Table => w.write_all(stats_human(&report, width).as_bytes())?,
        StatsFormat::Json => stats_json(&mut w, &report)?,
        StatsFormat::Markdown => w.write_all(stats_markdown(&report).as_bytes())?,
        StatsFormat::Html => w.write_all(stats_html(&report, &generated()).as_bytes())?,
    }
    w.flush()?;
    // As `classify`: an input that could not be read is exit 1, after everything else was read.
    Ok(if unreadable > 0 {
        EXIT_INPUT_ERRORS
    } else {
        EXIT_OK
    })
}
