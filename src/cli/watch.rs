//! `watch -- CMD`: one watched run, its record written and its exit code decided; and what a run
//! prints as it goes, which campaigns print too. `watch --repeat` is a campaign (`repeat.rs`).

use std::path::Path;

use anyhow::Result;

use crashdelta::history::RunEntry;
use crashdelta::render::{self, Format};
use crashdelta::run::{self, RunReport, Timing, ToCollect, Watched};
use crashdelta::watch::{self, EarlierRun, LiveEvent, Notice, collect, signal_name};

use super::args::{RecordArgs, WatchArgs};
use super::exit::{Ending, Exit};
use super::output::{self, Output, note, say};
use super::setup::{check_allow, load_analyzer_for_run, preflight, require_clean};

/// Whether the record goes to standard output (a format other than human, no `--output`): then
/// the command's own standard output goes to crashdelta's standard error, never into the record.
pub fn record_on_stdout(format: Format, record: &super::args::RecordArgs) -> bool {
    format != Format::Human && record.output.is_none()
}

/// `watch -- CMD` (one run); with `--repeat` or `--until-crash`, a campaign.
pub fn watch(args: WatchArgs) -> Result<Exit> {
    if args.is_campaign() {
        return super::repeat::repeat(args);
    }
    let analyzer = load_analyzer_for_run(&args.rules, &args.symbols)?;
    check_allow(&analyzer.rules, &args.gate.allow)?;
    preflight(&args.record)?;
    if let Some(refused) = require_clean(&args.provenance) {
        return Ok(refused);
    }
    let mut timing = Timing::from(&args.timing);
    timing.stdout_to_stderr = record_on_stdout(args.format, &args.record);
    let mut opts = timing.options(args.folders.watched(), args.command.clone(), Vec::new());
    opts.earlier = earlier_runs(&args.record);
    opts.test_results = args.timing.test_results.clone();
    opts.record_env = args.provenance.record_env.clone();
    opts.head_cache = super::setup::head_cache();
    let mut ran = match run::watch(&opts, &analyzer, &(&args.gate).into(), &mut print_live)? {
        Watched::Ran(ran) => ran,
        Watched::CannotRun(e) => {
            say!("crashdelta: error: {e}");
            return Ok(Exit::cannot_run(&e));
        }
    };
    remember(args.record.state.as_deref(), &ran.run);
    let output = Output::new(args.record.output);
    report_run(
        &mut ran.run,
        &ran.to_collect,
        args.format,
        &output,
        &Output::json(args.record.json),
        args.record.collect.as_deref(),
    )?;
    super::history::Recorder::open(args.record.history.history.as_deref())
        .append(&RunEntry::of(&ran.run, None));
    Ok(Exit::of(Ending {
        interrupted: ran.interrupted.is_some(),
        gate_failed: !ran.run.gate.passed,
        command: Some(ran.exit),
        unreadable: false,
    }))
}

/// Copies the new reports (`--collect`), then prints the human summary on standard error (a CI
/// log shows it), writes the chosen format, and the JSON record to `--json`. What could not be
/// copied is a warning in the record, never an error: the gate's exit code stands.
pub fn report_run(
    run: &mut RunReport,
    to_collect: &ToCollect,
    format: Format,
    output: &Output,
    json: &Output,
    collect: Option<&Path>,
) -> Result<()> {
    let copied = collect.map(|dir| (dir, collect_into(dir, to_collect, &mut run.warnings)));
    output::to_stderr(&render::run::human(run, &output::stderr_style()));
    if output::quiet() {
        // The summary that says them is not printed; a warning still is.
        for w in &run.warnings {
            say!("crashdelta: warning: {w}");
        }
    }
    // The human summary is already on standard error; written again only to a file.
    if format != Format::Human || output.path().is_some() {
        output.write(run, format)?;
    }
    if json.path().is_some() {
        json.write(run, Format::Json)?;
    }
    if let Some((dir, Some(count))) = copied {
        collected(dir, count);
    }
    Ok(())
}

/// Copies the new reports into `dir`, with their manifest: how many were copied, or `None` when
/// nothing could be; every problem is added to `warnings`.
pub fn collect_into(
    dir: &Path,
    to_collect: &ToCollect,
    warnings: &mut Vec<String>,
) -> Option<usize> {
    match collect(dir, to_collect) {
        Ok(done) => {
            warnings.extend(done.warnings);
            Some(done.copied.len())
        }
        Err(e) => {
            warnings.push(format!("--collect: {e}"));
            None
        }
    }
}

/// Says where the copies went.
pub fn collected(dir: &Path, count: usize) {
    note!(
        "crashdelta: copied {count} report(s) to {} (manifest.json)",
        dir.display()
    );
}

/// The earlier runs of the state file (`--state`); a file that cannot be read is a warning, and
/// late reports are then not named as such.
pub fn earlier_runs(record: &RecordArgs) -> Vec<EarlierRun> {
    let mut runs = match record.state.as_deref() {
        Some(path) => watch::state::read(path).unwrap_or_else(|e| {
            say!("crashdelta: warning: {e}; late reports of earlier runs are not recognised");
            Vec::new()
        }),
        None => Vec::new(),
    };
    // This machine's runs in the history (`--history`) name late reports as the state file's
    // do; a run in both is one run.
    runs.extend(super::history::earlier_runs(
        record.history.history.as_deref(),
    ));
    runs.sort_by_key(|r| r.settled);
    runs.dedup_by(|a, b| a.start == b.start && a.argv == b.argv);
    runs
}

/// Adds a run to the state file (`--state`); a failure is a warning and never changes the gate.
pub fn remember(state: Option<&Path>, run: &RunReport) {
    if let (Some(path), Some(earlier)) = (state, run.as_earlier())
        && let Err(e) = watch::state::record(path, earlier)
    {
        say!("crashdelta: warning: {e}; this run is not remembered for late reports");
    }
}

/// Prints what happens during a run, as it happens, on standard error; each line is escaped
/// whole (`say!`), since it quotes the report's process name, location and file name.
pub fn print_live(event: LiveEvent) {
    match event {
        LiveEvent::Crash(c) => {
            let from = c.attribution.label();
            match c
                .parsed
                .as_ref()
                .ok()
                .and_then(|a| Some((&a.report, a.classification.as_ref()?)))
            {
                Some((r, class)) => note!(
                    "crashdelta: new crash report after {:.1}s: {} {} {} at {} ({from}): {}",
                    c.seen_after.as_secs_f64(),
                    render::process_label(r),
                    class.family.as_str(),
                    class.rule,
                    class.location.as_deref().unwrap_or("?"),
                    c.entry.path
                ),
                // Not read (yet): said why; announced again if it becomes a classified crash.
                None => match &c.parsed {
                    Err(e) => note!(
                        "crashdelta: new crash report file: {} ({from}); {e}",
                        c.entry.path
                    ),
                    Ok(_) => note!("crashdelta: new crash report: {} ({from})", c.entry.path),
                },
            }
        }
        LiveEvent::Exited(exit) => match (exit.code, exit.signal) {
            (_, Some(sig)) => note!("crashdelta: the command was killed by {}", signal_name(sig)),
            (Some(code), None) => note!("crashdelta: the command exited with code {code}"),
            _ => {}
        },
        LiveEvent::Supervision(notice) => print_notice(notice),
        LiveEvent::Waiting {
            expecting_crash,
            up_to,
            later,
            expected_later,
        } => {
            if later {
                // A campaign's runs overlap their waits: said only when a report is expected,
                // so that a crash that seems to go unreported is not a surprise.
                if expected_later {
                    note!("crashdelta: its crash report is awaited while the next run goes on");
                }
            } else if expecting_crash {
                note!(
                    "crashdelta: waiting up to {:.0}s for its crash report",
                    up_to.as_secs_f64()
                );
            } else {
                note!(
                    "crashdelta: waiting {:.1}s for late crash reports",
                    up_to.as_secs_f64()
                );
            }
        }
    }
}

/// What the supervisor saw: a stop (Ctrl-Z, a read from the terminal without it), or a command
/// killed because it did not end after an interrupt.
fn print_notice(notice: Notice) {
    match notice {
        Notice::Stopped {
            signal,
            continued: true,
        } => say!(
            "crashdelta: the command was stopped by {}; continued it in the terminal's foreground",
            signal_name(signal)
        ),
        Notice::Stopped {
            signal,
            continued: false,
        } if signal == libc::SIGTTIN || signal == libc::SIGTTOU => say!(
            "crashdelta: the command was stopped by {}: it uses the terminal, which another \
             process group holds; bring crashdelta to the foreground (fg), give the command \
             its input (< /dev/null), or interrupt crashdelta (Ctrl-C) to end the run",
            signal_name(signal)
        ),
        Notice::Stopped { signal, .. } => say!(
            "crashdelta: the command was stopped by {}; waiting for it to be continued \
             (kill -CONT) or interrupted",
            signal_name(signal)
        ),
        Notice::Killed { after } => say!(
            "crashdelta: the command did not end {:.1}s after the interrupt; killed its process \
             group (SIGKILL)",
            after.as_secs_f64()
        ),
    }
}
