//! `watch -- CMD`: one watched run, its record written and its exit code decided; and what a run
//! prints as it goes, which campaigns print too. `watch --repeat` is a campaign (`repeat.rs`).

use std::path::Path;

use anyhow::Result;

use crashdelta::render::{self, Format};
use crashdelta::run::{self, RunReport, Timing, ToCollect, Watched};
use crashdelta::watch::{AttributionKind, LiveEvent, collect};

use super::args::WatchArgs;
use super::exit::{Ending, Exit};
use super::output::{self, Output};
use super::setup::{check_allow, load_analyzer};

/// `watch -- CMD` (one run); with `--repeat` or `--until-crash`, a campaign.
pub fn watch(args: WatchArgs) -> Result<Exit> {
    if args.is_campaign() {
        return super::repeat::repeat(args);
    }
    let analyzer = load_analyzer(&args.rules, &args.symbols)?;
    check_allow(&analyzer.rules, &args.gate.allow)?;
    let opts = Timing::from(&args.timing).options(
        args.folders.folders(),
        args.command.clone(),
        Vec::new(),
    );
    let mut ran = match run::watch(&opts, &analyzer, &(&args.gate).into(), &mut print_live)? {
        Watched::Ran(ran) => ran,
        Watched::CannotRun(e) => {
            eprintln!("crashdelta: error: {e}");
            return Ok(Exit::cannot_run(&e));
        }
    };
    let output = Output::new(args.record.output);
    report_run(
        &mut ran.run,
        &ran.to_collect,
        args.format,
        &output,
        args.record.collect.as_deref(),
    )?;
    Ok(Exit::of(Ending {
        interrupted: ran.interrupted.is_some(),
        gate_failed: !ran.run.gate.passed,
        command: Some(ran.exit),
        unreadable: false,
    }))
}

/// Copies the new reports (`--collect`), then prints the human summary on standard error (a CI
/// log shows it) and writes the chosen format. What could not be copied is a warning in the
/// record, never an error: the gate's exit code stands.
pub fn report_run(
    run: &mut RunReport,
    to_collect: &ToCollect,
    format: Format,
    output: &Output,
    collect: Option<&Path>,
) -> Result<()> {
    let copied = collect.map(|dir| (dir, collect_into(dir, to_collect, &mut run.warnings)));
    eprint!("{}", render::run::human(run, output::stderr_style().width));
    // The human summary is already on standard error; written again only to a file.
    if format != Format::Human || output.path().is_some() {
        output.write(run, format)?;
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
    eprintln!(
        "crashdelta: copied {count} report(s) to {} (manifest.json)",
        dir.display()
    );
}

/// Prints what happens during a run, as it happens, on standard error.
pub fn print_live(event: LiveEvent) {
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
