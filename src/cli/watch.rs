//! `watch -- CMD`: one watched run, its record written and its exit code decided; and what a run
//! prints as it goes, which campaigns print too. `watch --repeat` is a campaign (`repeat.rs`).

use std::path::Path;

use anyhow::Result;

use crashdelta::render::{self, Format};
use crashdelta::run::{self, RunReport, Timing, ToCollect, Watched};
use crashdelta::watch::{AttributionKind, LiveEvent, Notice, collect, signal_name};

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
    let ran = match run::watch(&opts, &analyzer, &(&args.gate).into(), &mut print_live)? {
        Watched::Ran(ran) => ran,
        Watched::CannotRun(e) => {
            eprintln!("crashdelta: error: {e}");
            return Ok(Exit::cannot_run(&e));
        }
    };
    let output = Output::new(args.record.output);
    report_run(
        &ran.run,
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

/// Prints the human summary on standard error (a CI log shows it), writes the chosen format and
/// copies the new reports (`--collect`).
pub fn report_run(
    run: &RunReport,
    to_collect: &ToCollect,
    format: Format,
    output: &Output,
    collect: Option<&Path>,
) -> Result<()> {
    eprint!("{}", render::run::human(run, output::stderr_style().width));
    // The human summary is already on standard error; written again only to a file.
    if format != Format::Human || output.path().is_some() {
        output.write(run, format)?;
    }
    if let Some(dir) = collect {
        collect_into(dir, to_collect)?;
    }
    Ok(())
}

/// Copies the new reports into `dir`, with their manifest.
pub fn collect_into(dir: &Path, to_collect: &ToCollect) -> Result<()> {
    let copied = collect(dir, to_collect)?;
    collected(dir, copied.len());
    Ok(())
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
            (_, Some(sig)) => {
                eprintln!("crashdelta: the command was killed by {}", signal_name(sig))
            }
            (Some(code), None) => eprintln!("crashdelta: the command exited with code {code}"),
            _ => {}
        },
        LiveEvent::Supervision(notice) => print_notice(notice),
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

/// What the supervisor saw: a stop (Ctrl-Z, a read from the terminal without it), or a command
/// killed because it did not end after an interrupt.
fn print_notice(notice: Notice) {
    match notice {
        Notice::Stopped {
            signal,
            continued: true,
        } => eprintln!(
            "crashdelta: the command was stopped by {}; continued it in the terminal's foreground",
            signal_name(signal)
        ),
        Notice::Stopped {
            signal,
            continued: false,
        } if signal == libc::SIGTTIN || signal == libc::SIGTTOU => eprintln!(
            "crashdelta: the command was stopped by {}: it uses the terminal, which another \
             process group holds; bring crashdelta to the foreground (fg), give the command \
             its input (< /dev/null), or interrupt crashdelta (Ctrl-C) to end the run",
            signal_name(signal)
        ),
        Notice::Stopped { signal, .. } => eprintln!(
            "crashdelta: the command was stopped by {}; waiting for it to be continued \
             (kill -CONT) or interrupted",
            signal_name(signal)
        ),
        Notice::Killed { after } => eprintln!(
            "crashdelta: the command did not end {:.1}s after the interrupt; killed its process \
             group (SIGKILL)",
            after.as_secs_f64()
        ),
    }
}
