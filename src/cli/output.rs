//! Where a command's document goes, decided once: a file (`--output FILE`) or standard output,
//! and how wide its tables are.
//!
//! Tables fit the terminal when they go to one; anywhere else (a file, a pipe, a CI log) they are
//! [`WIDTH`] columns, so the same input renders the same way on every machine. The human
//! summary of a run goes to standard error, where a CI log shows it, with the same rule.
//! crashdelta writes no colour: its output is read in CI logs and pasted into issues.

use std::fs::File;
use std::io::{self, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use crashdelta::render::{Document, Format, Style};

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
