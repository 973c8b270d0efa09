//! `stats PATH...`: crashes grouped by signature × OS build × driver version × hardware model.

use anyhow::Result;

use crashdelta::campaign::breakdown;
use crashdelta::input;

use super::args::StatsArgs;
use super::exit::{Ending, Exit};
use super::output::{Output, say};
use super::progress::Progress;
use super::setup::load_analyzer;

/// `stats`.
pub fn stats(args: StatsArgs) -> Result<Exit> {
    let analyzer = load_analyzer(&args.rules, &args.symbols)?;
    let reading = Progress::start("reading reports and run records", true, false);
    let inputs = input::inputs(&args.paths).inspect(|_| reading.inc());
    let (report, unreadable) = breakdown::read(inputs, &analyzer, |e| say!("crashdelta: {e}"));
    drop(reading);
    Output::new(args.output).write(&report, args.format)?;
    // As `classify`: an input that could not be read is exit 1, after everything else was read.
    Ok(Exit::of(Ending {
        unreadable: unreadable > 0,
        ..Ending::default()
    }))
}
