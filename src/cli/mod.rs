//! The command line: it translates. Arguments are parsed and checked (`args`), each command
//! turns them into one library call and one document written to one output target (`output`),
//! and every ending becomes one exit code (`exit`). Nothing here decides what a crash is, what
//! a run found or whether the gate passed: the library does.

mod args;
mod classify;
mod diff;
mod exit;
mod output;
mod repeat;
mod rules;
mod setup;
mod show;
mod stats;
mod watch;

use std::process::ExitCode;

use clap::Parser;

use args::{Cli, Command};
use exit::Exit;

/// Parses the arguments, runs the command, and says how it ended.
pub fn main() -> ExitCode {
    let cli = match Cli::try_parse().and_then(|cli| cli.check().map(|()| cli)) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // --help and --version are not failures.
            return if e.use_stderr() {
                Exit::ToolError.into()
            } else {
                Exit::Ok.into()
            };
        }
    };
    let result = match cli.command {
        Command::Show(a) => show::show(a),
        Command::Classify(a) => classify::classify(a),
        Command::Symbolicate(a) => show::symbolicate(a),
        Command::Watch(a) => watch::watch(a),
        Command::Snapshot(a) => diff::snapshot(a),
        Command::Diff(a) => diff::diff(a),
        Command::Compare(a) => repeat::compare(a),
        Command::Stats(a) => stats::stats(a),
        Command::Rules(a) => rules::rules(a),
    };
    match result {
        Ok(exit) => exit.into(),
        Err(e) => {
            let exit = Exit::of_error(&e);
            if exit != Exit::Ok {
                // The error may quote a file name, or what a report said.
                output::say!("crashdelta: error: {e:#}");
            }
            exit.into()
        }
    }
}
