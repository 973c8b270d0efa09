//! `snapshot` and `diff`: for CI jobs that split "before" and "after" into separate steps, the
//! inventory of the report folders, and the record of what was added between two of them.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crashdelta::inventory::{self, Inventory};
use crashdelta::run;

use super::args::{DiffArgs, SnapshotArgs};
use super::exit::{Ending, Exit};
use super::output::Output;
use super::setup::{check_allow, load_analyzer};
use super::watch::report_run;

/// `snapshot`: the inventory as JSON.
pub fn snapshot(args: SnapshotArgs) -> Result<Exit> {
    let inv = inventory::scan(&args.folders.folders())?;
    let output = Output::new(args.output);
    let mut out = output.open()?;
    serde_json::to_writer_pretty(&mut out, &inv)
        .map_err(std::io::Error::from)
        .and_then(|()| writeln!(out))
        .and_then(|()| out.flush())
        .with_context(|| output.what())?;
    output.commit()?;
    eprintln!(
        "crashdelta: {} crash report(s), {} other file(s) in {}",
        inv.crash_count(),
        inv.entries.len().saturating_sub(inv.crash_count()),
        inv.folders
            .iter()
            .filter(|f| f.exists)
            .map(|f| f.path.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    Ok(Exit::Ok)
}

/// `diff BEFORE [AFTER]`.
pub fn diff(args: DiffArgs) -> Result<Exit> {
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
    let (run, to_collect) = run::diff(&before, &after, &analyzer, &(&args.gate).into());
    let output = Output::new(args.record.output);
    report_run(
        &run,
        &to_collect,
        args.format,
        &output,
        args.record.collect.as_deref(),
    )?;
    Ok(Exit::of(Ending {
        gate_failed: !run.gate.passed,
        ..Ending::default()
    }))
}
