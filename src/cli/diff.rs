//! `snapshot` and `diff`: for CI jobs that split "before" and "after" into separate steps, the
//! inventory of the report folders, and the record of what was added between two of them.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};

use crashdelta::inventory::{self, Inventory};
use crashdelta::run;

use super::args::{DiffArgs, SnapshotArgs};
use super::exit::{Ending, Exit};
use super::output::{Output, note};
use super::setup::{check_allow, load_analyzer};
use super::watch::report_run;

/// `snapshot`: the inventory as JSON.
pub fn snapshot(args: SnapshotArgs) -> Result<Exit> {
    let listing = inventory::list_with(&args.folders.folders(), &super::setup::head_cache())?;
    let folders = listing
        .folders()
        .iter()
        .filter(|f| f.exists)
        .map(|f| f.path.as_str())
        .collect::<Vec<_>>()
        .join(", ");
    let output = Output::new(args.output);
    let mut out = output.open()?;
    // A buffer serde_json writes into directly: through the `Box<dyn Write>` each of the
    // pretty-printer's small writes was a call through the vtable, a quarter of `snapshot`'s
    // user CPU over 10 000 reports (docs/performance.md).
    let mut buffered = std::io::BufWriter::with_capacity(1 << 16, &mut out);
    // Each entry is written as its head is read.
    let written = listing
        .write_json(&mut buffered)
        .map_err(std::io::Error::from)
        .and_then(|written| writeln!(buffered).map(|()| written))
        // Flushes `out` too.
        .and_then(|written| buffered.flush().map(|()| written))
        .with_context(|| output.what())?;
    output.commit()?;
    note!(
        "crashdelta: {} crash report(s), {} other file(s) in {folders}",
        written.crashes,
        written.entries.saturating_sub(written.crashes),
    );
    Ok(Exit::Ok)
}

/// `diff BEFORE [AFTER]`. The inventory files may come from anywhere (an earlier CI step, a
/// pull request): their entries are confined to the report folders, and a file is re-checked
/// (inside them, a regular file, a report) before `--collect` copies it.
pub fn diff(args: DiffArgs) -> Result<Exit> {
    let analyzer = load_analyzer(&args.rules, &args.symbols)?;
    check_allow(&analyzer.rules, &args.gate.allow)?;
    let earlier = super::watch::earlier_runs(&args.record);
    let output = Output::new(args.record.output);
    let inventories: Vec<PathBuf> = std::iter::once(args.before.clone())
        .chain(args.after.clone())
        .collect();
    output.refuse_inputs(&inventories)?;
    let json = Output::json(args.record.json);
    json.refuse_inputs(&inventories)?;
    let before = Inventory::read(&args.before)?;
    let mut warnings = Vec::new();
    // The folders being diffed: named with --reports-dir, else those the inventories looked at.
    let named = (!args.folders.reports_dir.is_empty()).then(|| args.folders.folders());
    let (after, folders) = match &args.after {
        Some(path) => {
            let mut after = Inventory::read(path)?;
            let folders = named.unwrap_or_else(|| listed(&after));
            warnings.extend(after.confine(&folders));
            (after, folders)
        }
        None => {
            let folders = named.unwrap_or_else(|| listed(&before));
            // A fresh scan lists only files under the folders, links not followed.
            (
                inventory::scan_with(&folders, &super::setup::head_cache())?,
                folders,
            )
        }
    };
    let (mut run, mut to_collect) =
        run::diff(&before, &after, &analyzer, &(&args.gate).into(), &earlier);
    if args.record.collect.is_some() {
        to_collect.retain(
            |(path, _)| match inventory::check_report_file(path, &folders) {
                Ok(()) => true,
                Err(why) => {
                    warnings.push(format!(
                        "--collect: {} is not copied: {why}",
                        path.display()
                    ));
                    false
                }
            },
        );
    }
    run.warnings.extend(warnings);
    report_run(
        &mut run,
        &to_collect,
        args.format,
        &output,
        &json,
        args.record.collect.as_deref(),
    )?;
    super::history::Recorder::open(args.record.history.history.as_deref())
        .append(&crashdelta::history::RunEntry::of(&run, None));
    Ok(Exit::of(Ending {
        gate_failed: !run.gate.passed,
        ..Ending::default()
    }))
}

/// The folders an inventory looked at.
fn listed(inv: &Inventory) -> Vec<PathBuf> {
    inv.folders.iter().map(|f| PathBuf::from(&f.path)).collect()
}
