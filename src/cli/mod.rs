//! The command line: it translates. Arguments are parsed and checked (`args`), each command
//! turns them into one library call and one document written to one output target (`output`),
//! and every ending becomes one exit code (`exit`). Nothing here decides what a crash is, what
//! a run found or whether the gate passed: the library does.

mod args;
mod classify;
mod config;
mod diff;
mod exit;
mod history;
mod history_command;
mod output;
mod progress;
mod repeat;
mod rules;
mod setup;
mod show;
mod stats;
mod watch;

use std::ffi::OsString;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::FromArgMatches;

use args::{Cli, Command};
use exit::Exit;

/// The hint for `crashdelta watch ./run_tests.sh`: a command given without the `--` before it
/// reads as an unexpected argument of crashdelta's, and clap's message does not say why.
fn forgotten_separator(
    e: &clap::Error,
    args: impl Iterator<Item = std::ffi::OsString>,
) -> Option<String> {
    if e.kind() != clap::error::ErrorKind::UnknownArgument {
        return None;
    }
    let args: Vec<String> = args.map(|a| a.to_string_lossy().into_owned()).collect();
    // The subcommand may follow global options (`crashdelta -q watch ./run_tests.sh`).
    // (`--color never watch ...`: the first `watch` or `compare` is the subcommand, since no
    // global option takes either as its value).
    let sub_at = args
        .iter()
        .skip(1)
        .position(|a| matches!(a.as_str(), "watch" | "compare"))?
        + 1;
    if args.iter().any(|a| a == "--") {
        return None;
    }
    let unexpected = match e.get(clap::error::ContextKind::InvalidArg)? {
        clap::error::ContextValue::String(s) => s.clone(),
        _ => return None,
    };
    if unexpected.starts_with('-') {
        return None;
    }
    // Everything from the first word crashdelta did not expect is the command.
    let at = args
        .iter()
        .skip(sub_at + 1)
        .position(|a| *a == unexpected)?
        + sub_at
        + 1;
    let (ours, command) = args.split_at(at);
    let words = |w: &[String]| w.iter().map(|a| quoted(a)).collect::<Vec<_>>().join(" ");
    Some(format!(
        "crashdelta: the command goes after `--`: crashdelta {} -- {}",
        words(ours.get(1..).unwrap_or_default()),
        words(command)
    ))
}

/// `word` as a POSIX shell reads it back: as it is when it is plain, else in single quotes.
fn quoted(word: &str) -> String {
    let plain = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "_./=:,+@%-".contains(c));
    if plain {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', "'\\''"))
    }
}

/// `generate completions SHELL` and `generate man`: clap's own writers, from the same
/// definition the parser uses, so they never fall behind an option.
fn generate(args: args::GenerateArgs) -> anyhow::Result<Exit> {
    let mut cmd = args::command();
    let target = output::Output::new(None);
    let mut out = target.open()?;
    match args.what {
        args::Generate::Completions { shell } => {
            clap_complete::generate(shell, &mut cmd, "crashdelta", &mut out);
        }
        args::Generate::Man => clap_mangen::Man::new(cmd).render(&mut out)?,
    }
    std::io::Write::flush(&mut out)?;
    Ok(Exit::Ok)
}

/// The error and its causes, each said once: the library's errors name their cause in their own
/// message (thiserror's `{source}`), and anyhow's `{:#}` would print it again after a colon
/// (`No such file or directory (os error 2): No such file or directory (os error 2)`).
fn error_text(e: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in e.chain() {
        let cause = cause.to_string();
        if text.contains(&cause) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(&cause);
    }
    text
}

/// The command line, with the settings of `crashdelta.toml` for the options the user left alone
/// (`config.rs`), and the file they came from and the flags they stand for.
fn parse(args: &[OsString]) -> Result<(Cli, Option<FromConfig>), Failed> {
    // `--color` is known before anything is parsed: clap's own errors and help, and a bad
    // settings file's error, follow it too.
    let colour = early_colour(args);
    output::configure(colour.into(), false);
    let cmd = without_empty_env(args::command()).color(match colour {
        args::ColorWhen::Auto => clap::ColorChoice::Auto,
        args::ColorWhen::Always => clap::ColorChoice::Always,
        args::ColorWhen::Never => clap::ColorChoice::Never,
    });
    let matches = cmd
        .clone()
        .try_get_matches_from(args)
        .map_err(Failed::Args)?;
    let cwd = std::env::current_dir().unwrap_or_default();
    let (config, ignored) = config::Config::locate(&matches, &cwd).map_err(Failed::Config)?;
    if let Some(why) = ignored {
        output::say!("crashdelta: warning: {why}");
    }
    let mut from_config = None;
    let mut matches = matches;
    if let Some(config) = config {
        let (with_settings, used) = config.apply(args, &cmd, &matches);
        if !used.is_empty() {
            matches = cmd
                .try_get_matches_from(with_settings)
                .map_err(|e| Failed::Setting(config.path.clone(), e))?;
            let loud = config.sets_the_gate(&used);
            from_config = Some((config.path, used, loud));
        }
    }
    let cli = Cli::from_arg_matches(&matches).map_err(Failed::Args)?;
    cli.check().map_err(Failed::Args)?;
    Ok((cli, from_config))
}

/// `cmd` with the environment variables that are set but empty ignored: `CRASHDELTA_HISTORY=`
/// (a CI secret that is not defined expands to nothing) means no history, not a flag given
/// without its value.
fn without_empty_env(cmd: clap::Command) -> clap::Command {
    let empty = |arg: &clap::Arg| {
        arg.get_env()
            .and_then(std::env::var_os)
            .is_some_and(|v| v.is_empty())
    };
    cmd.mut_args(|arg| if empty(&arg) { arg.env(None) } else { arg })
        .mut_subcommands(without_empty_env)
}

/// The settings file that was applied, and the flags its settings stood for.
type FromConfig = (PathBuf, Vec<&'static str>, bool);

/// `--color WHEN` or `--color=WHEN` among the words before `--`, read before clap parses them
/// (the last one wins, as clap's would); `auto` when absent or not a value clap would take.
fn early_colour(args: &[OsString]) -> args::ColorWhen {
    use clap::ValueEnum;
    let mut colour = args::ColorWhen::Auto;
    let mut words = args.iter().skip(1).map(|a| a.to_string_lossy());
    while let Some(word) = words.next() {
        if word == "--" {
            break;
        }
        let value = match word.strip_prefix("--color") {
            Some("") => words.next().map(|v| v.into_owned()),
            Some(rest) => rest.strip_prefix('=').map(str::to_owned),
            None => None,
        };
        if let Some(c) = value.and_then(|v| args::ColorWhen::from_str(&v, false).ok()) {
            colour = c;
        }
    }
    colour
}

/// Why the command line could not be read.
enum Failed {
    /// The words typed (clap's error, `--help` and `--version` among them).
    Args(clap::Error),
    /// The settings file could not be read.
    Config(anyhow::Error),
    /// A value of the settings file is not one the option takes.
    Setting(PathBuf, clap::Error),
}

/// Parses the arguments, runs the command, and says how it ended.
pub fn main() -> ExitCode {
    let args: Vec<OsString> = std::env::args_os().collect();
    let (cli, from_config) = match parse(&args) {
        Ok(parsed) => parsed,
        Err(Failed::Args(e)) => {
            let _ = e.print();
            if let Some(hint) = forgotten_separator(&e, args.into_iter()) {
                output::say!("{hint}");
            }
            // --help and --version are not failures.
            return if e.use_stderr() {
                Exit::ToolError.into()
            } else {
                Exit::Ok.into()
            };
        }
        Err(Failed::Config(e)) => {
            output::say!("crashdelta: error: {}", error_text(&e));
            return Exit::ToolError.into();
        }
        Err(Failed::Setting(path, e)) => {
            output::say!(
                "crashdelta: error: a setting of {} is not valid (fix the file, or --no-config ignores it):",
                path.display()
            );
            let _ = e.print();
            return Exit::ToolError.into();
        }
    };
    output::configure(cli.color.into(), cli.quiet);
    if let Some((path, used, sets_the_gate)) = from_config {
        // A file that changes what fails the gate is said even under --quiet: a gate that
        // passes because of a file nobody looked at must leave a trace in the log.
        let line = format!(
            "crashdelta: settings from {}: {}",
            path.display(),
            used.join(" ")
        );
        if sets_the_gate {
            output::say!("{line}");
        } else {
            output::note!("{line}");
        }
    }
    let result = match cli.command {
        Command::Show(a) => show::show(a),
        Command::Classify(a) => classify::classify(a),
        Command::Symbolicate(a) => show::symbolicate(a),
        Command::Watch(a) => watch::watch(a),
        Command::Snapshot(a) => diff::snapshot(a),
        Command::Diff(a) => diff::diff(a),
        Command::Compare(a) => repeat::compare(a),
        Command::Stats(a) => stats::stats(a),
        Command::History(a) => history_command::history(a),
        Command::Rules(a) => rules::rules(a),
        Command::Generate(a) => generate(a),
    };
    match result {
        Ok(exit) => exit.into(),
        Err(e) => {
            let exit = Exit::of_error(&e);
            if exit != Exit::Ok {
                // The error may quote a file name, or what a report said.
                output::say!("crashdelta: error: {}", error_text(&e));
            }
            exit.into()
        }
    }
}
