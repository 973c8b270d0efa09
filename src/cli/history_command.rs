//! `history [HISTORY]`: what the history says over time (crashdelta::history::query), in the
//! chosen format. The history is read, never written: no migration, no WAL switch, so a shared
//! file can be asked while runs append to it.

use anyhow::{Result, bail};
use chrono::SecondsFormat;

use crashdelta::history::query::Question;
use crashdelta::history::{History, Location};

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
    let at = Location::from(&path);
    let output = Output::new(args.output);
    if let Some(file) = at.file() {
        if file.is_dir() {
            bail!(
                "{} is a folder: name the history file in it (the file a run's --history wrote)",
                file.display()
            );
        }
        // The page written over the history would destroy it, and so would one written over
        // its write-ahead log (committed runs not yet checkpointed live there) or its journal.
        let mut files = vec![file.to_owned()];
        for suffix in ["-wal", "-shm", "-journal"] {
            let mut name = file.as_os_str().to_owned();
            name.push(suffix);
            files.push(name.into());
        }
        output.refuse_inputs(&files)?;
    }
    let mut store = History::open_to_read(at)?;
    let answer = store.answer(&Question {
        since: args.since,
        until: args.until,
        period: args.by.into(),
        machine: args.machine,
    })?;
    output.write(&answer, args.format)?;
    Ok(Exit::Ok)
}
