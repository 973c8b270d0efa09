//! Where a command's document goes, decided once: a file (`--output FILE`) or standard output,
//! and how wide its tables are.
//!
//! Tables fit the terminal when they go to one; anywhere else (a file, a pipe, a CI log) they are
//! [`WIDTH`] columns, so the same input renders the same way on every machine. The human
//! summary of a run goes to standard error, where a CI log shows it, with the same rule.
//! crashdelta writes no colour: its output is read in CI logs and pasted into issues.
//!
//! Every line the binary writes on standard error goes through [`say!`](crate::cli::output::say)
//! (one line, escaped whole, since it may quote a file name or a report's process name) or
//! [`to_stderr`] (a library rendering, escaped field by field when it was made): a report
//! cannot move the cursor, retitle the terminal or start a CI-log command line through them.
//! `tests/escaping.rs` fails on a print macro anywhere else in `src/cli`.

use std::fmt;
use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crashdelta::render::escape::visible;
use crashdelta::render::{Document, Format, Style};

/// Writes one line on standard error, `format!`-style, with everything in it made
/// [visible](crashdelta::render::escape::visible): `say!("crashdelta: warning: {problem}")`.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::cli::output::say_line(::std::format_args!($($arg)*))
    };
}
pub(crate) use say;

/// What [`say!`] expands to: the line escaped whole, then a newline.
pub fn say_line(line: fmt::Arguments) {
    let line = line.to_string();
    eprintln!("{}", visible(&line));
}

/// Writes a library rendering for people (the summary of a run or a campaign) on standard
/// error as it is: its fields were escaped when it was made (`render::escape`).
pub fn to_stderr(rendering: &str) {
    eprint!("{rendering}");
}

/// The table width anywhere but a terminal.
pub const WIDTH: u16 = 160;

/// A command's output target.
pub struct Output {
    path: Option<PathBuf>,
}

impl Output {
    /// `--output FILE`, or standard output.
    pub fn new(path: Option<PathBuf>) -> Output {
        Output { path }
    }

    /// The file, when there is one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The style of what goes here.
    pub fn style(&self) -> Style {
        let terminal = self.path.is_none() && io::stdout().is_terminal();
        style(terminal)
    }

    /// Opens the target (creating the file).
    pub fn open(&self) -> Result<Box<dyn Write>> {
        Ok(match &self.path {
            Some(path) => Box::new(io::BufWriter::new(
                File::create(path).with_context(|| format!("cannot create {}", path.display()))?,
            )),
            None => Box::new(io::BufWriter::new(io::stdout().lock())),
        })
    }

    /// Writes `doc` in `format` here.
    pub fn write<D: Document + ?Sized>(&self, doc: &D, format: Format) -> Result<()> {
        let mut out = self.open()?;
        doc.write(format, &mut out, &self.style())
            .and_then(|()| out.flush())
            .with_context(|| self.what())
    }

    /// "cannot write FILE", or "cannot write to standard output", for error messages.
    pub fn what(&self) -> String {
        match &self.path {
            Some(p) => format!("cannot write {}", p.display()),
            None => "cannot write to standard output".to_owned(),
        }
    }
}

/// The style of what goes to standard error (the human summary of runs and campaigns).
pub fn stderr_style() -> Style {
    style(io::stderr().is_terminal())
}

fn style(terminal: bool) -> Style {
    Style {
        width: (!terminal).then_some(WIDTH),
        generated: chrono::Local::now()
            .format("%Y-%m-%d %H:%M:%S %z")
            .to_string(),
    }
}
