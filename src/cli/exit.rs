//! Exit codes: one type, one precedence, one table.
//!
//! A CI job reads crashdelta's exit code without parsing any output, so every command ends in
//! an [`Exit`] made here and nowhere else: [`Exit::of`] applies the documented precedence
//! (interrupted, then the gate, then the watched command's own code, then unreadable inputs,
//! then success), [`Exit::of_error`] maps crashdelta's own failures, [`Exit::cannot_run`] follows
//! `env(1)`. [`TABLE`] is what `--help` prints; a test walks docs/exit-codes.md against it, so
//! the help, the docs and the code cannot drift apart.

use std::io;
use std::process::ExitCode;

use crashdelta::watch::{self, SpawnError};

/// How a crashdelta command ended, as its exit code says it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// 0: every input was read and the gate (if any) passed.
    Ok,
    /// 1: an input could not be read or was an incomplete report; the others were processed.
    InputErrors,
    /// 86: the gate failed. Test runners do not use it (pytest 0-5, go test 1-2, cargo test 101,
    /// nextest 100), so a CI log tells "the crash gate failed" from "the tests failed".
    GateFailed,
    /// 125: crashdelta itself failed (the `timeout(1)`/`env(1)` convention).
    ToolError,
    /// 126: the command was found but cannot be run (`env(1)`).
    CannotRun,
    /// 127: the command was not found (`env(1)`).
    NotFound,
    /// 87: `--require-clean` refused to run: tracked files differ from the commit (or the check
    /// could not be made).
    Unclean,
    /// 130: interrupted (SIGINT, SIGTERM, SIGHUP or SIGQUIT, forwarded to the command; or Ctrl-C on
    /// the terminal the command held): 128 + SIGINT, whichever signal it was, and also when the
    /// command had to be killed because it did not end.
    Interrupted,
    /// The watched command's own failure: its exit code, or 128+N when signal N killed it.
    Command(u8),
}

/// What `--help` says about exit codes, and what docs/exit-codes.md documents, row for row.
pub const TABLE: &[(&str, &str)] = &[
    (
        "0",
        "all inputs read, the gate passed (watch: the command succeeded)",
    ),
    (
        "1",
        "an input could not be read or was incomplete; the others were still processed",
    ),
    (
        "86",
        "the gate (--fail-on) failed; a new report that cannot be read, or that nothing places \
         outside the run, counts as the run's crash",
    ),
    (
        "87",
        "watch, compare: --require-clean refused to run: tracked files differ from the commit",
    ),
    (
        "125",
        "crashdelta failed: bad arguments, a bad rules file, unwritable output",
    ),
    ("126", "watch: the command cannot be run"),
    ("127", "watch: the command was not found"),
    (
        "128+N",
        "watch: the command was killed by signal N (other codes of its own pass through)",
    ),
    (
        "130",
        "interrupted (SIGINT, SIGTERM, SIGHUP, SIGQUIT); what was found so far is reported",
    ),
];

/// The `--help` section on exit codes, from [`TABLE`].
/// The exit codes one subcommand can end with, for its `--help`.
pub fn help_for(command: &str) -> String {
    let codes: &[&str] = match command {
        "watch" => &["0", "1", "86", "87", "125", "126", "127", "128+N", "130"],
        "compare" => &["0", "87", "125", "126", "127", "130"],
        "classify" | "diff" => &["0", "1", "86", "125"],
        "show" | "stats" => &["0", "1", "125"],
        _ => &["0", "125"],
    };
    let mut s = String::from("Exit codes (docs/exit-codes.md):\n");
    for (code, meaning) in TABLE.iter().filter(|(c, _)| codes.contains(c)) {
        s.push_str(&format!("  {code:<6} {meaning}\n"));
    }
    s.trim_end().to_owned()
}

/// The exit codes of every command, for the top-level `--help`.
pub fn help() -> String {
    let mut s = String::from("Exit codes (docs/exit-codes.md):\n");
    for (code, meaning) in TABLE {
        s.push_str(&format!("  {code:<6} {meaning}\n"));
    }
    s.push_str(
        "Precedence: interrupted (130), then the gate (86), then the command's own code, then \
         unreadable inputs (1).",
    );
    s
}

/// What a command found, before the precedence picks the exit code.
#[derive(Debug, Clone, Copy, Default)]
pub struct Ending {
    /// crashdelta was interrupted (and forwarded the signal), or the command died by Ctrl-C on the
    /// terminal it held; also when the command was then killed because it did not end.
    pub interrupted: bool,
    /// The gate failed.
    pub gate_failed: bool,
    /// The watched command's exit (for a campaign: the first run's that failed).
    pub command: Option<watch::Exit>,
    /// An input could not be read, or was an incomplete report.
    pub unreadable: bool,
}

impl Exit {
    /// The documented precedence: interrupted > gate failed > the command's own failure >
    /// unreadable inputs > ok.
    pub fn of(e: Ending) -> Exit {
        let command = e.command.map_or(Exit::Ok, Exit::of_command);
        if e.interrupted {
            Exit::Interrupted
        } else if e.gate_failed {
            Exit::GateFailed
        } else if command != Exit::Ok {
            command
        } else if e.unreadable {
            Exit::InputErrors
        } else {
            Exit::Ok
        }
    }

    /// The watched command's outcome: its code, or 128+N when killed by signal N. A status with
    /// neither (which a wait cannot return) or out of range is crashdelta's failure to tell.
    pub fn of_command(exit: watch::Exit) -> Exit {
        let code = match (exit.signal, exit.code) {
            (Some(sig), _) => u8::try_from(128 + i64::from(sig)).ok(),
            (None, Some(code)) => u8::try_from(code).ok(),
            (None, None) => None,
        };
        match code {
            Some(0) => Exit::Ok,
            Some(c) => Exit::Command(c),
            None => Exit::ToolError,
        }
    }

    /// A command that cannot be started, as `env(1)` says it.
    pub fn cannot_run(e: &SpawnError) -> Exit {
        match e {
            SpawnError::NotFound(_) => Exit::NotFound,
            SpawnError::NotExecutable(..) | SpawnError::NotAProgram(_) => Exit::CannotRun,
            _ => Exit::ToolError,
        }
    }

    /// crashdelta's own failure; a closed output pipe (`crashdelta classify DIR | head`) is not
    /// one. (Standard output and `--output` to a pipe absorb a broken pipe, so the command runs to
    /// its gate; this is for whatever else meets one.)
    pub fn of_error(e: &anyhow::Error) -> Exit {
        if e.chain().any(|c| {
            c.downcast_ref::<io::Error>()
                .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
        }) {
            Exit::Ok
        } else {
            Exit::ToolError
        }
    }

    /// The number.
    pub fn code(self) -> u8 {
        match self {
            Exit::Ok => 0,
            Exit::InputErrors => 1,
            Exit::GateFailed => 86,
            Exit::Unclean => 87,
            Exit::ToolError => 125,
            Exit::CannotRun => 126,
            Exit::NotFound => 127,
            Exit::Interrupted => 130,
            Exit::Command(c) => c,
        }
    }
}

impl From<Exit> for ExitCode {
    fn from(e: Exit) -> ExitCode {
        ExitCode::from(e.code())
    }
}

#[cfg(test)]
mod tests;
