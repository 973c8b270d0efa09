//! `history [HISTORY]`: what the history says over time (crashdelta::history::query), in the
//! chosen format. The history is read, never written: no migration, no WAL switch, so a shared
//! file can be asked while runs append to it.

use anyhow::{Result, bail};
use chrono::SecondsFormat;

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
        let t = |t: chrono::DateTime<chrono::Utc>| t.to_rfc3339_opts(SecondsFormat::Secs, true);
        bail!(
            "--since {} is not before --until {}: nothing is in that window",
            t(since),
            t(until)
        );
    }
    if path.is_dir() {
        bail!(
            "{} is a folder: name the history file in it (the file a run's --history wrote)",
            path.display()
        );
    }
    let output = Output::new(args.output);
    // The page written over the history would destroy it, and so would one written over its
    // write-ahead log (committed runs not yet checkpointed live there) or its journal.
    let mut files = vec![path.clone()];
    for suffix in ["-wal", "-shm", "-journal"] {
        let mut name = path.clone().into_os_string();
        name.push(suffix);
        files.push(name.into());
    }
    output.refuse_inputs(&files)?;
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
