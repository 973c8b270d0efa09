//! The command line: argument definitions, command dispatch and exit codes.
//!
//! Exit codes (documented in `docs/exit-codes.md`, tested in `tests/cli.rs`):
//! - 0: every input was read (crash reports and other reports alike);
//! - 1: at least one input could not be read or was an incomplete report; the others were
//!   still processed and printed;
//! - 125: crashdelta itself failed: bad arguments, output that cannot be written
//!   (the `timeout(1)`/`env(1)` convention).

use std::io::{self, IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

use crashdelta::input;
use crashdelta::render::{self, Status, human, json};

pub const EXIT_OK: u8 = 0;
pub const EXIT_INPUT_ERRORS: u8 = 1;
pub const EXIT_TOOL_ERROR: u8 = 125;

#[derive(Parser)]
#[command(
    name = "crashdelta",
    version,
    about = "Read macOS crash reports and say which crash each one is",
    long_about = "Read macOS crash reports (.ips JSON, legacy text, reports pasted into issues) and say \
                  which crash each one is: a crash in Apple's GPU driver (AGX), in Metal, or elsewhere.\n\n\
                  Exit codes: 0 all inputs read; 1 some input could not be read or was incomplete; \
                  125 crashdelta failed (bad arguments, unwritable output)."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show one report: header, exception, crashed thread, and the classification with its reasons
    Show {
        /// The report: a file, or `-` for standard input
        path: PathBuf,
        #[arg(long, value_enum, default_value_t = ShowFormat::Text)]
        format: ShowFormat,
    },
    /// Parse and classify reports: files, folders (recursively) or `-` for standard input
    Classify {
        /// Files and folders to read; `-` reads standard input
        #[arg(required = true)]
        paths: Vec<PathBuf>,
        #[arg(long, value_enum, default_value_t = ClassifyFormat::Table)]
        format: ClassifyFormat,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum ShowFormat {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum ClassifyFormat {
    Table,
    Json,
}

pub fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // --help and --version are not failures.
            return if e.use_stderr() {
                ExitCode::from(EXIT_TOOL_ERROR)
            } else {
                ExitCode::SUCCESS
            };
        }
    };
    match run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            if e.downcast_ref::<io::Error>()
                .is_some_and(|io| io.kind() == io::ErrorKind::BrokenPipe)
            {
                // `crashdelta classify ... | head` is not an error.
                return ExitCode::from(EXIT_OK);
            }
            eprintln!("crashdelta: error: {e:#}");
            ExitCode::from(EXIT_TOOL_ERROR)
        }
    }
}

fn run(cli: Cli) -> Result<u8> {
    match cli.command {
        Command::Show { path, format } => show(path, format),
        Command::Classify { paths, format } => classify(&paths, format),
    }
}

fn exit_for(errors: u64) -> u8 {
    if errors > 0 {
        EXIT_INPUT_ERRORS
    } else {
        EXIT_OK
    }
}

fn show(path: PathBuf, format: ShowFormat) -> Result<u8> {
    let paths = [path];
    let mut inputs = input::inputs(&paths);
    let Some(first) = inputs.next() else {
        anyhow::bail!("{} holds no files to show", paths[0].display());
    };
    if inputs.next().is_some() {
        anyhow::bail!(
            "`show` takes one report; {} is a folder with several (use `classify`)",
            paths[0].display()
        );
    }
    let outcome = render::outcome(first);
    let mut out = io::stdout().lock();
    match format {
        ShowFormat::Text => out.write_all(human::show(&outcome).as_bytes()),
        ShowFormat::Json => {
            let mut w = json::ClassifyWriter::start(&mut out)?;
            w.push(&outcome)?;
            w.finish().map(|_| ())
        }
    }
    .context("cannot write to standard output")?;
    Ok(exit_for(u64::from(outcome.status() == Status::Error)))
}

fn classify(paths: &[PathBuf], format: ClassifyFormat) -> Result<u8> {
    let stdout = io::stdout();
    let summary = match format {
        ClassifyFormat::Json => {
            let mut w = json::ClassifyWriter::start(io::BufWriter::new(stdout.lock()))?;
            for input in input::inputs(paths) {
                w.push(&render::outcome(input))
                    .context("cannot write to standard output")?;
            }
            w.finish().context("cannot write to standard output")?
        }
        ClassifyFormat::Table => {
            let mut table = human::ClassifyTable::new();
            if !stdout.is_terminal() {
                table = table.with_width(160);
            }
            let mut summary = json::Summary::default();
            for input in input::inputs(paths) {
                let outcome = render::outcome(input);
                summary.add(outcome.status());
                table.push(&outcome);
            }
            let mut out = stdout.lock();
            writeln!(out, "{}", table.render()).context("cannot write to standard output")?;
            writeln!(
                out,
                "{} input(s): {} crash report(s), {} not a crash, {} error(s)",
                summary.inputs, summary.crashes, summary.not_a_crash, summary.errors
            )
            .context("cannot write to standard output")?;
            summary
        }
    };
    Ok(exit_for(summary.errors))
}
