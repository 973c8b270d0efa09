//! Where a command's document goes, decided once: a file (`--output FILE`) or standard output,
//! and how wide its tables are.
//!
//! Tables fit the terminal when they go to one; anywhere else (a file, a pipe, a CI log) they are
//! not wrapped at all: one line per row, so that `grep` finds a rule id or a path whole, and the
//! same input renders the same way on every machine. The human summary of a run goes to
//! standard error, where a CI log shows it, with the same rule.
//!
//! Colour (`--color auto|always|never`) is decided here too, the way clap decides it for its
//! own help (anstream): on a terminal unless `NO_COLOR` is set, `TERM=dumb`, or `--color never`;
//! never in a file or a pipe unless `--color always` (or `CLICOLOR_FORCE`). Only the verdicts
//! are coloured (the gate, known and new crashes, warnings), never report text: what a CI log
//! or an issue gets is the same text either way. `--quiet` keeps only warnings and errors: the
//! notes a run prints as it goes ([`note!`]), the human summary and a document on standard
//! output in the human format are dropped; files (`--output`, `--json`, `--collect`) and the
//! formats made for programs on standard output (JSON, Markdown, JUnit, inventories) are still
//! written, and so are a run's warnings, said one by one when its summary is not.
//!
//! Every line the binary writes on standard error goes through [`say!`](crate::cli::output::say)
//! (one line, escaped whole, since it may quote a file name or a report's process name) or
//! [`to_stderr`] (a library rendering, escaped field by field when it was made): a report
//! cannot move the cursor, retitle the terminal or start a CI-log command line through them.
//! `tests/escaping.rs` fails on a print macro anywhere else in `src/cli`.
//!
//! An output file is evidence too, and so are the reports it is written next to:
//! - It is written to a fresh temporary in its folder (hidden, created exclusively, never through
//!   a link) and renamed over `FILE` by [`Output::commit`] once complete. A run that is killed or
//!   fails midway leaves the previous `FILE` whole (and, at worst, a hidden `.FILE.*.tmp`). The
//!   rename replaces a symbolic link at `FILE` rather than writing through it. An existing `FILE`
//!   that is not a regular file (`/dev/stdout`, a FIFO) is written directly: it cannot be renamed
//!   over, and there is nothing in it to keep.
//! - [`Output::refuse_inputs`] refuses an output that is one of the command's input files (the
//!   same device and inode: the file itself, a hard link or a symbolic link to it), naming the
//!   flag, and [`Output::identity`] lets `classify` skip the previous output when it lies inside a
//!   folder being read, so crashdelta never reads back its own output as a report.

use std::cell::RefCell;
use std::fmt;
use std::fs;
use std::io::{self, IsTerminal, Write};
use std::os::unix::fs::OpenOptionsExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use anstream::{AutoStream, ColorChoice};
use anyhow::{Context, Result, bail};
use tempfile::NamedTempFile;

use crashdelta::render::escape::{Tone, visible};
use crashdelta::render::{Document, Format, Style};

/// Writes one line on standard error, `format!`-style, with everything in it made
/// [visible](crashdelta::render::escape::visible): `say!("crashdelta: warning: {problem}")`.
/// For warnings, errors and what needs the user (a stopped command): `--quiet` keeps them.
macro_rules! say {
    ($($arg:tt)*) => {
        $crate::cli::output::say_line(::std::format_args!($($arg)*))
    };
}
pub(crate) use say;

/// As [`say!`], for a note on how things go (which folders are watched, a run's progress, a
/// hint): `--quiet` drops it.
macro_rules! note {
    ($($arg:tt)*) => {
        if !$crate::cli::output::quiet() {
            $crate::cli::output::say_line(::std::format_args!($($arg)*))
        }
    };
}
pub(crate) use note;

/// `--quiet`, set once by [`configure`] before the command runs.
static QUIET: AtomicBool = AtomicBool::new(false);

/// `--color` and `--quiet`: what [`say!`], [`note!`], [`to_stderr`] and [`Output`] follow for the
/// rest of the process.
pub fn configure(colour: ColorChoice, quiet: bool) {
    colour.write_global();
    QUIET.store(quiet, Ordering::Relaxed);
}

/// Whether `--quiet` was given.
pub fn quiet() -> bool {
    QUIET.load(Ordering::Relaxed)
}

/// Whether what goes to `stream` (a terminal, a pipe) is coloured: `--color`, then the
/// conventions anstream reads (`NO_COLOR`, `CLICOLOR_FORCE`, `TERM=dumb`, a terminal or not).
fn colour_on<S: anstream::stream::RawStream>(stream: &S) -> bool {
    AutoStream::choice(stream) != ColorChoice::Never
}

/// Whether a file (`--output FILE`) is coloured: only with `--color always`, as ripgrep does.
fn colour_in_file() -> bool {
    matches!(
        ColorChoice::global(),
        ColorChoice::Always | ColorChoice::AlwaysAnsi
    )
}

/// What [`say!`] expands to: the line escaped whole, then a newline, with its `warning:` or
/// `error:` coloured when standard error takes colour. A standard error that cannot be written
/// (closed by the reader) loses the line; the exit code still says what the gate found
/// (`eprintln!` would panic instead).
pub fn say_line(line: fmt::Arguments) {
    let line = line.to_string();
    let mut line = visible(&line).into_owned();
    if colour_on(&io::stderr()) {
        for (label, tone) in [
            ("crashdelta: warning:", Tone::Warning),
            ("crashdelta: error:", Tone::Failed),
        ] {
            if let Some(rest) = line.strip_prefix(label) {
                line = format!("{}{rest}", tone.paint(label));
                break;
            }
        }
    }
    super::progress::suspend(|| {
        let _ = writeln!(io::stderr().lock(), "{line}");
    });
}

/// Writes a library rendering for people (the summary of a run or a campaign) on standard
/// error as it is: its fields were escaped when it was made (`render::escape`). Nothing under
/// `--quiet`.
pub fn to_stderr(rendering: &str) {
    if quiet() {
        return;
    }
    let _ = io::stderr().lock().write_all(rendering.as_bytes());
}

/// A pipe's reader going away (`crashdelta classify DIR | head`) is not a failure, and must not
/// end the command either: the inputs not yet written still count for the gate, whose verdict is
/// the exit code. After the first broken-pipe error every write is accepted and dropped, so the
/// command runs to its end whatever the format (a JSON writer turned the error into its own and
/// exited 125; the others exited 0 and hid a failed gate).
struct ReaderMayLeave<W> {
    inner: W,
    gone: bool,
}

impl<W: Write> ReaderMayLeave<W> {
    fn new(inner: W) -> Self {
        ReaderMayLeave { inner, gone: false }
    }

    fn absorb(&mut self, r: io::Result<()>) -> io::Result<()> {
        match r {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.gone = true;
                Ok(())
            }
            other => other,
        }
    }
}

impl<W: Write> Write for ReaderMayLeave<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.gone {
            return Ok(buf.len());
        }
        match self.inner.write(buf) {
            Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {
                self.gone = true;
                Ok(buf.len())
            }
            other => other,
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        if self.gone {
            return Ok(());
        }
        let r = self.inner.flush();
        self.absorb(r)
    }
}

/// The width assumed for a terminal that does not say how wide it is.
const TERMINAL_WIDTH: u16 = 100;

/// What the output is written in: a `classify` entry is 5–10 KB of JSON, and `BufWriter`'s 8 KiB
/// passed each one to the kernel in a write of its own (2282 writes for the bench's 2000 reports,
/// `strace -c`); 64 KiB gathers several.
const WRITE_BUFFER: usize = 64 << 10;

/// A command's output target.
pub struct Output {
    path: Option<PathBuf>,
    /// The option that named the file, for messages: `--output`, or `--json`.
    flag: &'static str,
    /// The temporary being written, renamed over `path` by [`Output::commit`]; deleted, and
    /// `path` left as it was, when the output is dropped without a commit.
    pending: RefCell<Option<NamedTempFile>>,
}

impl Output {
    /// `--output FILE`, or standard output.
    pub fn new(path: Option<PathBuf>) -> Output {
        Output {
            path,
            flag: "--output",
            pending: RefCell::new(None),
        }
    }

    /// `--json FILE`: the JSON record, written besides the chosen format (nothing when `None`).
    pub fn json(path: Option<PathBuf>) -> Output {
        Output {
            flag: "--json",
            ..Output::new(path)
        }
    }

    /// The device and inode of the previous output, to leave out of a folder being read: only
    /// a regular file at `--output` itself with no other name. A symbolic link there, or a hard
    /// link to a report, would otherwise hide that report from the command (review finding:
    /// `ln -s reports/Python-1.ips out.json` made `classify --output out.json reports` read
    /// nothing and pass the gate).
    pub fn own_file(&self) -> Option<(u64, u64)> {
        let meta = fs::symlink_metadata(self.path.as_deref()?).ok()?;
        (meta.is_file() && meta.nlink() == 1).then(|| (meta.dev(), meta.ino()))
    }

    /// The device and inode of the file at `--output` (links followed), when it exists.
    pub fn identity(&self) -> Option<(u64, u64)> {
        let meta = fs::metadata(self.path.as_deref()?).ok()?;
        Some((meta.dev(), meta.ino()))
    }

    /// Refuses an `--output` that is one of `inputs` (the same file, through any hard or
    /// symbolic link): the output would replace the report it is about. `-` (standard input)
    /// and inputs that cannot be looked at are left to the command.
    pub fn refuse_inputs(&self, inputs: &[PathBuf]) -> Result<()> {
        let (Some(out), Some(id)) = (&self.path, self.identity()) else {
            return Ok(());
        };
        for input in inputs.iter().filter(|p| p.as_os_str() != "-") {
            if let Ok(meta) = fs::metadata(input)
                && (meta.dev(), meta.ino()) == id
            {
                bail!(
                    "{} {} is the input {} (the same file): writing the output would \
                     replace it; choose another output file",
                    self.flag,
                    out.display(),
                    input.display()
                );
            }
        }
        Ok(())
    }

    /// The file, when there is one.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// The style of what goes here.
    pub fn style(&self) -> Style {
        let terminal = self.path.is_none() && io::stdout().is_terminal();
        let colour = match self.path {
            Some(_) => colour_in_file(),
            None => colour_on(&io::stdout()),
        };
        style(
            terminal.then(|| terminal_width(libc::STDOUT_FILENO)),
            colour,
        )
    }

    /// Opens the target: for a file, a temporary beside it, which [`Output::commit`] renames
    /// into place once the output is complete.
    pub fn open(&self) -> Result<Box<dyn Write>> {
        let Some(path) = &self.path else {
            return Ok(Box::new(ReaderMayLeave::new(io::BufWriter::with_capacity(
                WRITE_BUFFER,
                io::stdout().lock(),
            ))));
        };
        let cannot = || format!("cannot create {}", path.display());
        if path.is_dir() {
            bail!(
                "{} {} is a folder: name a file in it",
                self.flag,
                path.display()
            );
        }
        if fs::metadata(path).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
            // `/dev/stdout`, a FIFO: written as it is, there is no file to keep whole. Opened
            // without blocking: a FIFO nobody reads (one the command under test planted at the
            // output's name) is an error now, not a job that hangs after the run.
            let file = fs::OpenOptions::new()
                .write(true)
                .custom_flags(libc::O_NONBLOCK)
                .open(path)
                .with_context(|| {
                    format!(
                        "cannot write {} {}: a special file with no reader",
                        self.flag,
                        path.display()
                    )
                })?;
            // Writes block as usual once it is open (a reader is there).
            // SAFETY: fcntl(2) on a descriptor `file` owns, clearing one status flag.
            unsafe {
                let fd = std::os::fd::AsRawFd::as_raw_fd(&file);
                let flags = libc::fcntl(fd, libc::F_GETFL);
                if flags >= 0 {
                    libc::fcntl(fd, libc::F_SETFL, flags & !libc::O_NONBLOCK);
                }
            }
            return Ok(Box::new(ReaderMayLeave::new(io::BufWriter::with_capacity(
                WRITE_BUFFER,
                file,
            ))));
        }
        let folder = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p,
            _ => Path::new("."),
        };
        let name = path
            .file_name()
            .with_context(|| format!("{} {}: not a file name", self.flag, path.display()))?;
        let temp = tempfile::Builder::new()
            .prefix(&format!(".{}.", name.to_string_lossy()))
            .suffix(".tmp")
            // As `File::create` would: 0666 less the umask (a temporary is 0600 otherwise).
            .permissions(fs::Permissions::from_mode(0o666))
            .tempfile_in(folder)
            .with_context(cannot)?;
        let file = temp.as_file().try_clone().with_context(cannot)?;
        *self.pending.borrow_mut() = Some(temp);
        Ok(Box::new(io::BufWriter::with_capacity(WRITE_BUFFER, file)))
    }

    /// Puts the complete output in place: the temporary written since [`Output::open`] is
    /// synced and renamed over the file. Call it after the writer has been flushed; without it,
    /// the file is left as it was. Nothing to do for standard output or a special file.
    pub fn commit(&self) -> Result<()> {
        let (Some(path), Some(temp)) = (&self.path, self.pending.borrow_mut().take()) else {
            return Ok(());
        };
        temp.as_file().sync_all().with_context(|| self.what())?;
        temp.persist(path)
            .map_err(|e| e.error)
            .with_context(|| self.what())?;
        Ok(())
    }

    /// Opens the target for a document in `format`: under `--quiet`, the human format bound
    /// for standard output (what a person would read) goes nowhere; a file, or a format made
    /// for programs (JSON, Markdown, JUnit, an inventory), is still written: `-q` silences
    /// talk, never data a pipe asked for.
    pub fn open_for(&self, format: Format) -> Result<Box<dyn Write>> {
        if quiet() && format == Format::Human && self.path.is_none() {
            return Ok(Box::new(io::sink()));
        }
        self.open()
    }

    /// Writes `doc` in `format` here, and puts it in place.
    pub fn write<D: Document + ?Sized>(&self, doc: &D, format: Format) -> Result<()> {
        let mut out = self.open_for(format)?;
        doc.write(format, &mut out, &self.style())
            .and_then(|()| out.flush())
            .with_context(|| self.what())?;
        drop(out);
        self.commit()
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
    style(
        io::stderr()
            .is_terminal()
            .then(|| terminal_width(libc::STDERR_FILENO)),
        colour_on(&io::stderr()),
    )
}

/// How wide the terminal on `fd` is.
fn terminal_width(fd: libc::c_int) -> u16 {
    let mut size = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ writes a `winsize` into the local.
    let ok = unsafe { libc::ioctl(fd, libc::TIOCGWINSZ, &mut size) } == 0;
    if ok && size.ws_col > 0 {
        size.ws_col
    } else {
        TERMINAL_WIDTH
    }
}

/// The style of a document going to a terminal `width` columns wide, or elsewhere (`None`).
fn style(width: Option<u16>, colour: bool) -> Style {
    Style {
        width,
        colour,
        generated: chrono::Local::now()
            .format("%Y-%m-%d %H:%M:%S %z")
            .to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_output_not_committed_leaves_the_old_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        fs::write(&path, "old, valid\n").unwrap();
        let output = Output::new(Some(path.clone()));
        let mut w = output.open().unwrap();
        w.write_all(b"half of the new").unwrap();
        w.flush().unwrap();
        // Midway, the file is still the old one; dropped without a commit (an error, a kill),
        // it stays so and the temporary goes.
        assert_eq!(fs::read_to_string(&path).unwrap(), "old, valid\n");
        drop(w);
        drop(output);
        assert_eq!(fs::read_to_string(&path).unwrap(), "old, valid\n");
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[test]
    fn a_committed_output_replaces_the_file_and_a_link_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("elsewhere.txt");
        fs::write(&target, "keep").unwrap();
        let path = dir.path().join("out.json");
        std::os::unix::fs::symlink(&target, &path).unwrap();
        let output = Output::new(Some(path.clone()));
        let mut w = output.open().unwrap();
        w.write_all(b"new").unwrap();
        w.flush().unwrap();
        drop(w);
        output.commit().unwrap();
        assert_eq!(fs::read_to_string(&path).unwrap(), "new");
        assert!(!fs::symlink_metadata(&path).unwrap().is_symlink());
        assert_eq!(fs::read_to_string(&target).unwrap(), "keep");
    }

    #[test]
    fn an_output_that_is_an_input_is_refused_through_links() {
        let dir = tempfile::tempdir().unwrap();
        let report = dir.path().join("a.ips");
        fs::write(&report, "report").unwrap();
        let hard = dir.path().join("hard.ips");
        fs::hard_link(&report, &hard).unwrap();
        let e = Output::new(Some(hard))
            .refuse_inputs(std::slice::from_ref(&report))
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("--output ") && e.contains("is the input"),
            "{e}"
        );
        let other = dir.path().join("other.json");
        assert!(Output::new(Some(other)).refuse_inputs(&[report]).is_ok());
    }
}
