//! `history [HISTORY]`: what the history says over time (crashdelta::history::query), in the
//! chosen format. The history is read, never written: no migration, no WAL switch, so a shared
//! file can be asked while runs append to it.

use anyhow::{Result, bail};

use crashdelta::history::History;
use crashdelta::history::query::Question;

use super::args::HistoryArgs;
use super::exit::Exit;
use super::output::Output;

/// `history`.
pub fn history(args: HistoryArgs) -> Result<Exit> {
    let Some(path) = args.store.or(args.history) else {
        bail!(
            "no history named: give its file (crashdelta history ci/crashes.sqlite), or set \
             CRASHDELTA_HISTORY or `history =` in crashdelta.toml"
        );
    };
    if let (Some(since), Some(until)) = (args.since, args.until)
        && since >= until
    {
        bail!("--since {since} is not before --until {until}: nothing is in that window");
    }
    let output = Output::new(args.output);
    // The page written over the history would destroy it.
    output.refuse_inputs(std::slice::from_ref(&path))?;
    let mut store = History::open_to_read(&path)?;
    let answer = store.answer(&Question {
        since: args.since,
        until: args.until,
        period: args.by.into(),
        machine: args.machine,
    })?;
    output.write(&answer, args.format)?;
    Ok(Exit::Ok)
}
