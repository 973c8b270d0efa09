//! The campaign commands: `watch --repeat N [--until-crash]` and `compare`. Each turns its
//! arguments into a [`Plan`], lets the library's runner carry it out while printing what happens,
//! and writes the campaign's record.

use anyhow::{Result, bail};

use crashdelta::analyze::Analyzer;
use crashdelta::campaign::runner::{self, Config, Ended, Event, Plan, Watching};
use crashdelta::render::{self, Format};
use crashdelta::run::Timing;

use super::args::{CompareArgs, FoldersArg, ProvenanceArgs, RecordArgs, TimingArgs, WatchArgs};
use super::exit::{Ending, Exit};
use super::output::{self, Output, note, say};
use super::setup::{check_allow, load_analyzer_for_run, preflight, require_clean};
use super::watch::{collected, print_live};

/// How many runs `--until-crash` makes without `--repeat`.
const UNTIL_CRASH_RUNS: u64 = 100;

fn watching(
    folders: &FoldersArg,
    timing_args: &TimingArgs,
    record: &RecordArgs,
    provenance: &ProvenanceArgs,
    format: crashdelta::render::Format,
    sequential: bool,
) -> Watching {
    let mut timing = Timing::from(timing_args);
    timing.stdout_to_stderr = super::watch::record_on_stdout(format, record);
    Watching {
        folders: folders.watched(),
        timing,
        collect: record.collect.clone(),
        earlier: super::watch::earlier_runs(record),
        test_results: timing_args.test_results.clone(),
        record_env: provenance.record_env.clone(),
        sequential,
        head_cache: super::setup::head_cache(),
    }
}

/// `watch --repeat N [--until-crash]`.
pub fn repeat(args: WatchArgs) -> Result<Exit> {
    let analyzer = load_analyzer_for_run(&args.rules, &args.symbols)?;
    preflight(&args.record)?;
    check_allow(&analyzer.rules, &args.gate.allow)?;
    if let Some(refused) = require_clean(&args.provenance) {
        return Ok(refused);
    }
    let n = args
        .campaign
        .repeat
        .unwrap_or(if args.campaign.until_crash {
            UNTIL_CRASH_RUNS
        } else {
            1
        });
    let plan = Plan::repeat(
        args.command,
        usize::try_from(n).unwrap_or(usize::MAX),
        args.campaign.until_crash,
        watching(
            &args.folders,
            &args.timing,
            &args.record,
            &args.provenance,
            args.format,
            args.campaign.sequential,
        ),
        (&args.gate).into(),
    );
    Ok(
        match run_plan(
            &plan,
            &analyzer,
            args.format,
            [
                Output::new(args.record.output),
                Output::json(args.record.json),
            ],
            args.record.state.as_deref(),
            args.record.history.history.as_deref(),
        )? {
            Ok(ending) => Exit::of(ending),
            Err(exit) => exit,
        },
    )
}

/// `--a-name`, or the variables, or the fallback.
fn config_name(given: Option<&str>, env: &[(String, String)], fallback: &str) -> String {
    match given {
        Some(name) => name.to_owned(),
        None if env.is_empty() => fallback.to_owned(),
        None => env
            .iter()
            .map(|(k, v)| crashdelta::campaign::runner::shown_var(k, v))
            .collect::<Vec<_>>()
            .join(" "),
    }
}

/// `compare`: A and B alternated, Fisher's exact test on their crash counts.
pub fn compare(args: CompareArgs) -> Result<Exit> {
    if args.a_env.is_empty() && args.b_env.is_empty() {
        bail!(
            "A and B are the same: give the variables that differ with --a-env and/or --b-env \
             (for example --b-env PYTORCH_ENABLE_MPS_FALLBACK=1)"
        );
    }
    let analyzer = load_analyzer_for_run(&args.rules, &args.symbols)?;
    preflight(&args.record)?;
    if let Some(refused) = require_clean(&args.provenance) {
        return Ok(refused);
    }
    let mut a_name = config_name(args.a_name.as_deref(), &args.a_env, "A (as is)");
    let b_name = config_name(args.b_name.as_deref(), &args.b_env, "B");
    if a_name == b_name {
        a_name = format!("A: {a_name}");
    }
    let plan = Plan::compare(
        args.command,
        Config::new(a_name, &args.a_env),
        Config::new(b_name, &args.b_env),
        usize::try_from(args.runs).unwrap_or(usize::MAX),
        watching(
            &args.folders,
            &args.timing,
            &args.record,
            &args.provenance,
            args.format,
            args.sequential,
        ),
        args.attribute.into(),
    );
    // A comparison measures; it does not gate, and its runs' exit codes are data.
    Ok(
        match run_plan(
            &plan,
            &analyzer,
            args.format,
            [
                Output::new(args.record.output),
                Output::json(args.record.json),
            ],
            args.record.state.as_deref(),
            args.record.history.history.as_deref(),
        )? {
            Ok(ending) => Exit::of(Ending {
                interrupted: ending.interrupted,
                ..Ending::default()
            }),
            Err(exit) => exit,
        },
    )
}

/// Runs the plan, printing each run as it goes, then writes the campaign: the human summary
/// on standard error, the chosen format to `--output` or standard output, the JSON record to
/// `--json`. Returns how the runs
/// ended, or `Err(exit)` when the command could not be started.
fn run_plan(
    plan: &Plan,
    analyzer: &Analyzer,
    format: Format,
    [output, json]: [Output; 2],
    state: Option<&std::path::Path>,
    history: Option<&std::path::Path>,
) -> Result<Result<Ending, Exit>> {
    let labelled = plan.configs.len() > 1;
    let mut records = Vec::new();
    let mut recorder = super::history::Recorder::open(history);
    // What the history calls this campaign: when and where it started, and by which process.
    let campaign_id = format!(
        "{}/{}/{}",
        chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        crashdelta::history::machine().unwrap_or_default(),
        std::process::id()
    );
    let ended = runner::run(plan, analyzer, &mut |event| match event {
        Event::Starting {
            index,
            total,
            config,
        } => note!(
            "crashdelta: run {index} of {total}{}",
            label(labelled, &config.name)
        ),
        Event::Live(e) => print_live(e),
        Event::Finished {
            index,
            config,
            run,
            summary,
        } => {
            note!(
                "crashdelta: run {index}{}: {}; {}",
                label(labelled, &config.name),
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
            super::watch::remember(state, run);
            let mut entry = crashdelta::history::RunEntry::of(
                run,
                Some(crashdelta::history::InCampaign {
                    id: campaign_id.clone(),
                    index: index as u64,
                    configuration: labelled.then(|| config.name.clone()),
                }),
            );
            entry.crashed = summary.crashes.len() as u64;
            recorder.append(&entry);
            for w in &run.warnings {
                say!("crashdelta: warning: {w}");
            }
            // Said as each run ends, so a campaign whose fix never loads can be stopped early.
            for i in &run.injected {
                if i.verdict != crashdelta::run::Verdict::Loaded {
                    say!("crashdelta: warning: {}", i.words);
                }
            }
            records.push(render::run::to_value(run));
        }
        Event::Collected { dir, count, .. } => collected(dir, count),
    })?;
    let ran = match ended {
        Ended::Ran(ran) => ran,
        Ended::CannotRun(e) => {
            // The command cannot be started: no run of the campaign can be.
            say!("crashdelta: error: {e}");
            return Ok(Err(Exit::cannot_run(&e)));
        }
    };
    let ending = Ending {
        interrupted: ran.interrupted,
        gate_failed: ran.gate_failed,
        command: ran.first_failure,
        unreadable: false,
    };
    let broken = ran.broken.clone();
    for why in &ran.late_gate_failures {
        say!("crashdelta: gate failed: {why}");
    }
    let report = ran.into_report(plan, records);
    output::to_stderr(&render::campaign::human(&report, &output::stderr_style()));
    if format != Format::Human || output.path().is_some() {
        output.write(&report, format)?;
    }
    if json.path().is_some() {
        json.write(&report, Format::Json)?;
    }
    if let Some(why) = broken {
        say!("crashdelta: error: {why}");
        // The finished runs are reported above; a failed gate among them still says 86.
        if !ending.interrupted && !ending.gate_failed {
            return Ok(Err(Exit::ToolError));
        }
    }
    Ok(Ok(ending))
}

/// ` (A (as is))` when a campaign has several configurations.
fn label(labelled: bool, name: &str) -> String {
    if labelled {
        format!(" ({name})")
    } else {
        String::new()
    }
}
