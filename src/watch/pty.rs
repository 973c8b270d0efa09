//! A pseudo-terminal standing in for crashdelta's terminal, so that the command's output on a
//! terminal is captured (`capture.rs`) while the command still writes to a terminal: `isatty` is
//! true, pytest colours its output, progress bars redraw with `\r`, the width is the terminal's.
//!
//! Which streams: a pseudo-terminal stands in for each of crashdelta's standard output and error
//! that is a terminal; a stream that is not one is a pipe (`capture.rs`), and `--no-capture`
//! leaves both to the command. When both are the same terminal (an interactive shell's usual
//! case), **one** pseudo-terminal serves both, as the terminal itself does: what the command
//! writes to its standard output and error reaches the screen in the order it wrote it (two
//! pseudo-terminals read by two threads could swap a dump and the line it interrupted), and the
//! recognisers see the lines as a person saw them (`testlog::python` reads a test id and a
//! faulthandler dump on one line). Its bytes are passed on to crashdelta's standard output.
//! Standard output and error on different terminals get one pseudo-terminal each.
//!
//! Only the output moves. The command's standard input stays crashdelta's, and the real terminal
//! stays its controlling terminal: the command is started in crashdelta's session (a group of its
//! own, not a session of its own), and only a session leader without a controlling terminal can
//! take one on (`openpty` opens the slave `O_NOCTTY` besides). Making the pseudo-terminal the
//! controlling terminal would need a session of the command's own, and then the real terminal's
//! job control would no longer reach it. So keys typed (Ctrl-C, Ctrl-Z), reads from the terminal,
//! `/dev/tty`, `stty` on standard input and the foreground handling of `supervise.rs` are as
//! without capture. A pseudo-terminal that is nobody's controlling terminal has no foreground
//! group, so writing to it never stops the command (SIGTTOU); the thread that passes the bytes on
//! blocks SIGTTOU itself, since it writes to the real terminal while the command, not crashdelta,
//! is in its foreground (with `stty tostop`, crashdelta would otherwise be stopped for passing the
//! command's output on).
//!
//! Modes: the slave gets the real terminal's modes with output post-processing off (`OPOST`,
//! and so `ONLCR`): the bytes the command writes reach the real terminal as written, and its line
//! discipline does the processing once (two would turn `\n` into `\r\r\n`). The window size is
//! copied at the start and followed: a resize sends SIGWINCH to the real terminal's foreground
//! group (the command's, not crashdelta's), so crashdelta cannot wait for that signal; it looks at
//! the real size every [`FOLLOW_EVERY`] instead (one `ioctl`), and on a change sets the
//! pseudo-terminal's and sends SIGWINCH to the command's group itself (the pseudo-terminal has no
//! foreground group for the kernel to send it to). The command may see the real terminal's
//! SIGWINCH first and read the old size; the second SIGWINCH follows within the interval.
//!
//! The end: when the last process holding the slave closes it, reading the master fails with
//! EIO on Linux (an end of file on macOS): both are the end of the stream, after the bytes still
//! buffered. crashdelta closes its own copies of the slave as soon as the command is started. A
//! process the command left running that writes after crashdelta has exited gets EIO (the master
//! is closed), as a process writing to a pipe crashdelta no longer reads gets a broken pipe.
//!
//! Where no pseudo-terminal can be opened (none left, no `/dev/pts` in a container), the stream
//! is left to the command, uncaptured, and the run's record says so.

use std::fs::File;
use std::io::{self, IsTerminal, Read};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::MetadataExt;
use std::process::{Command, Stdio};
use std::sync::{Arc, Weak};
use std::thread;
use std::time::Duration;

/// How often the real terminal's window size is looked at while a pseudo-terminal stands in.
pub const FOLLOW_EVERY: Duration = Duration::from_millis(100);

/// The two ends of a pseudo-terminal.
#[derive(Debug)]
struct Pair {
    master: OwnedFd,
    slave: OwnedFd,
}

/// Opens a pseudo-terminal like the terminal `real`: its modes, with output post-processing off,
/// and its window size. Both ends are close-on-exec (the command gets the slave as its standard
/// output or error, a copy `exec` keeps).
fn open_like(real: BorrowedFd<'_>) -> io::Result<Pair> {
    let mut modes = modes_of(real)?;
    modes.c_oflag &= !libc::OPOST;
    let mut size = size_of(real);
    let mut master: libc::c_int = -1;
    let mut slave: libc::c_int = -1;
    // SAFETY: openpty(3) writes the two descriptors into the locals and reads `modes` and `size`
    // (valid, initialised structs; a null name asks for none to be written). The last two are
    // `*mut` on macOS and `*const` on Linux: a `*mut` coerces to either.
    let made = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            &raw mut modes,
            size.as_mut().map_or(std::ptr::null_mut(), |s| s as *mut _),
        )
    };
    if made != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: openpty succeeded: both are open descriptors that nothing else owns.
    let pair = unsafe {
        Pair {
            master: OwnedFd::from_raw_fd(master),
            slave: OwnedFd::from_raw_fd(slave),
        }
    };
    // openpty has no flag for close-on-exec; until these calls, a process spawned by another
    // thread would inherit the two descriptors (only this thread spawns during a watch).
    close_on_exec(pair.master.as_fd())?;
    close_on_exec(pair.slave.as_fd())?;
    Ok(pair)
}

/// The modes of the terminal `fd`.
fn modes_of(fd: BorrowedFd<'_>) -> io::Result<libc::termios> {
    // SAFETY: an all-zero termios is a valid value of the plain C struct; tcgetattr(3) fills it
    // from an open descriptor.
    unsafe {
        let mut modes: libc::termios = std::mem::zeroed();
        if libc::tcgetattr(fd.as_raw_fd(), &mut modes) != 0 {
            return Err(io::Error::last_os_error());
        }
        Ok(modes)
    }
}

/// The window size of the terminal `fd`, if it has one.
fn size_of(fd: BorrowedFd<'_>) -> Option<libc::winsize> {
    // SAFETY: TIOCGWINSZ writes one winsize into the zeroed local (a valid value of the plain C
    // struct).
    unsafe {
        let mut size: libc::winsize = std::mem::zeroed();
        (libc::ioctl(fd.as_raw_fd(), libc::TIOCGWINSZ, &mut size) == 0).then_some(size)
    }
}

/// Sets the window size of the pseudo-terminal whose master is `fd`.
fn set_size(fd: BorrowedFd<'_>, size: &libc::winsize) -> bool {
    // SAFETY: TIOCSWINSZ reads one winsize from a valid reference.
    unsafe {
        libc::ioctl(
            fd.as_raw_fd(),
            libc::TIOCSWINSZ,
            size as *const libc::winsize,
        ) == 0
    }
}

fn same_size(a: &libc::winsize, b: &libc::winsize) -> bool {
    (a.ws_row, a.ws_col, a.ws_xpixel, a.ws_ypixel) == (b.ws_row, b.ws_col, b.ws_xpixel, b.ws_ypixel)
}

fn close_on_exec(fd: BorrowedFd<'_>) -> io::Result<()> {
    // SAFETY: fcntl(2) on an open descriptor; no memory is involved.
    let set = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_SETFD, libc::FD_CLOEXEC) };
    if set == -1 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}

/// Which of crashdelta's own streams is the real terminal a pseudo-terminal stands in for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Real {
    Stdout,
    Stderr,
}

impl Real {
    fn fd(self) -> RawFd {
        match self {
            Real::Stdout => io::stdout().as_raw_fd(),
            Real::Stderr => io::stderr().as_raw_fd(),
        }
    }

    /// `f` of its descriptor.
    fn with<T>(self, f: impl FnOnce(BorrowedFd<'_>) -> T) -> T {
        match self {
            Real::Stdout => f(io::stdout().as_fd()),
            Real::Stderr => f(io::stderr().as_fd()),
        }
    }

    /// The terminal device it is, to tell whether standard output and error are one terminal.
    fn device(self) -> Option<u64> {
        let copy = self.with(|fd| fd.try_clone_to_owned()).ok()?;
        File::from(copy).metadata().ok().map(|m| m.rdev())
    }
}

/// One pseudo-terminal standing in for `real`.
#[derive(Debug)]
struct Standin {
    pair: Pair,
    real: Real,
}

/// The pseudo-terminals standing in for crashdelta's standard output and error while the command
/// runs (none for a stream that is not a terminal, or not captured).
#[derive(Debug, Default)]
pub struct Standins {
    /// For standard output, and for standard error too when `shared`.
    out: Option<Standin>,
    /// For standard error, on a terminal of its own.
    err: Option<Standin>,
    /// Standard output and error are one terminal, and so one pseudo-terminal.
    shared: bool,
}

impl Standins {
    /// Pseudo-terminals for crashdelta's standard output and error where they are terminals
    /// (one for both when they are the same terminal). Where one cannot be opened, that stream is
    /// left to the command; the warning says so.
    pub fn open() -> (Standins, Option<String>) {
        let out = io::stdout().is_terminal();
        let err = io::stderr().is_terminal();
        let shared = out
            && err
            && Real::Stdout
                .device()
                .is_some_and(|d| Some(d) == Real::Stderr.device());
        let mut failed = None;
        let mut stand = |real: Real| match real.with(open_like) {
            Ok(pair) => Some(Standin { pair, real }),
            Err(e) => {
                failed = Some(e);
                None
            }
        };
        let out = out.then(|| stand(Real::Stdout)).flatten();
        let err = (err && !shared).then(|| stand(Real::Stderr)).flatten();
        let warning = failed.map(|e| {
            format!(
                "cannot open a pseudo-terminal ({e}): the command's output on the terminal was \
                 not read for which test crashed"
            )
        });
        let shared = shared && out.is_some();
        (Standins { out, err, shared }, warning)
    }

    /// Gives `command` the slaves as its standard output and error. The copies `command` holds
    /// must be closed once the command is started (by dropping it): the masters' readers see the
    /// end of the stream only when every copy of a slave is closed.
    ///
    /// # Errors
    /// A slave cannot be duplicated (out of descriptors).
    pub fn attach(&self, command: &mut Command) -> io::Result<()> {
        // Every copy first, so that a failure leaves `command` as it was.
        let slave = |s: &Option<Standin>| s.as_ref().map(|s| s.pair.slave.try_clone()).transpose();
        let out = slave(&self.out)?;
        let err = if self.shared {
            slave(&self.out)?
        } else {
            slave(&self.err)?
        };
        if let Some(fd) = out {
            command.stdout(Stdio::from(fd));
        }
        if let Some(fd) = err {
            command.stderr(Stdio::from(fd));
        }
        Ok(())
    }

    /// Closes crashdelta's slaves and returns the readers of the masters, for the command's
    /// standard output and error (the shared one as standard output: it is passed on there).
    /// `group`: the command's process group, which a resize is signalled to.
    pub fn readers(self, group: libc::pid_t) -> (Option<Reader>, Option<Reader>) {
        let read = |s: Standin| {
            drop(s.pair.slave);
            Reader::new(s.pair.master, s.real.fd(), group)
        };
        (self.out.map(read), self.err.map(read))
    }
}

/// Reads a pseudo-terminal's master: what the command wrote to the slave. Its window size
/// follows the real terminal's while it is read (a thread that ends when the reader is dropped).
#[derive(Debug)]
pub struct Reader {
    master: Arc<File>,
    /// SIGTTOU is blocked in the thread that reads (and passes the bytes on).
    quiet: bool,
}

impl Reader {
    /// The reader of `master`, whose size follows the terminal `real` (crashdelta's standard
    /// output or error, open for the life of the process).
    fn new(master: OwnedFd, real: RawFd, group: libc::pid_t) -> Reader {
        let master = Arc::new(File::from(master));
        let follower = Arc::downgrade(&master);
        // Without the thread the size is only not followed.
        let _ = thread::Builder::new()
            .name("pty-size".into())
            .spawn(move || follow_size(real, &follower, group));
        Reader {
            master,
            quiet: false,
        }
    }
}

impl Read for Reader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if !self.quiet {
            block_sigttou();
            self.quiet = true;
        }
        match (&*self.master).read(buf) {
            // Linux: every copy of the slave is closed.
            Err(e) if e.raw_os_error() == Some(libc::EIO) => Ok(0),
            other => other,
        }
    }
}

/// Blocks SIGTTOU in the calling thread (for good): its writes to the real terminal go through
/// while another group is in the foreground, even with `stty tostop`.
fn block_sigttou() {
    // SAFETY: sigemptyset, sigaddset and pthread_sigmask touch only the local set and the calling
    // thread's mask.
    unsafe {
        let mut block: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut block);
        libc::sigaddset(&mut block, libc::SIGTTOU);
        libc::pthread_sigmask(libc::SIG_BLOCK, &block, std::ptr::null_mut());
    }
}

/// Every [`FOLLOW_EVERY`], gives the pseudo-terminal the real terminal's size, until the master's
/// reader is gone.
fn follow_size(real: RawFd, master: &Weak<File>, group: libc::pid_t) {
    // SAFETY: `real` is crashdelta's standard output or error, open for the life of the process.
    let real = unsafe { BorrowedFd::borrow_raw(real) };
    let mut last = master.upgrade().and_then(|m| size_of(m.as_fd()));
    loop {
        thread::sleep(FOLLOW_EVERY);
        // Holding the master keeps its descriptor open (not reused) for the two calls.
        let Some(m) = master.upgrade() else {
            return;
        };
        sync_size(real, m.as_fd(), &mut last, group);
    }
}

/// Gives the pseudo-terminal (`master`) the size of `real` if it changed since `last`, and tells
/// the command's `group` (SIGWINCH). Returns whether it changed.
fn sync_size(
    real: BorrowedFd<'_>,
    master: BorrowedFd<'_>,
    last: &mut Option<libc::winsize>,
    group: libc::pid_t,
) -> bool {
    let Some(now) = size_of(real) else {
        return false;
    };
    if last.as_ref().is_some_and(|l| same_size(l, &now)) || !set_size(master, &now) {
        return false;
    }
    *last = Some(now);
    if group > 0 {
        // SAFETY: kill(2) with a negative pid signals a process group; no memory is involved.
        unsafe {
            libc::kill(-group, libc::SIGWINCH);
        }
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn size(rows: u16, cols: u16) -> libc::winsize {
        libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        }
    }

    /// A pseudo-terminal playing the user's terminal: its slave is "real".
    fn terminal(rows: u16, cols: u16) -> Pair {
        let real = open_like_none();
        assert!(set_size(real.master.as_fd(), &size(rows, cols)));
        real
    }

    fn open_like_none() -> Pair {
        let (mut m, mut s) = (-1, -1);
        // SAFETY: openpty(3) with valid out-pointers and no modes or size.
        let made = unsafe {
            libc::openpty(
                &mut m,
                &mut s,
                std::ptr::null_mut(),
                std::ptr::null_mut(),
                std::ptr::null_mut(),
            )
        };
        assert_eq!(made, 0, "{}", io::Error::last_os_error());
        // SAFETY: two fresh descriptors owned by nothing else.
        unsafe {
            Pair {
                master: OwnedFd::from_raw_fd(m),
                slave: OwnedFd::from_raw_fd(s),
            }
        }
    }

    fn read_some(from: &mut impl Read) -> Vec<u8> {
        let mut buf = [0u8; 256];
        let n = from.read(&mut buf).unwrap();
        buf[..n].to_vec()
    }

    #[test]
    fn a_pty_has_the_modes_and_size_of_the_terminal_it_stands_in_for() {
        let real = terminal(33, 111);
        let real_modes = modes_of(real.slave.as_fd()).unwrap();
        assert_ne!(
            real_modes.c_oflag & libc::OPOST,
            0,
            "the test needs OPOST on"
        );
        let pty = open_like(real.slave.as_fd()).unwrap();
        let s = size_of(pty.slave.as_fd()).unwrap();
        assert_eq!((s.ws_row, s.ws_col), (33, 111));
        let modes = modes_of(pty.slave.as_fd()).unwrap();
        assert_eq!(modes.c_oflag & libc::OPOST, 0);
        assert_eq!(modes.c_lflag, real_modes.c_lflag);
        assert_eq!(modes.c_iflag, real_modes.c_iflag);
        assert_eq!(modes.c_cflag, real_modes.c_cflag);
        for fd in [pty.master.as_fd(), pty.slave.as_fd()] {
            // SAFETY: F_GETFD on an open descriptor.
            let flags = unsafe { libc::fcntl(fd.as_raw_fd(), libc::F_GETFD) };
            assert_ne!(flags & libc::FD_CLOEXEC, 0);
        }
        // The bytes come out as written: no `\r` added before `\n`, none removed.
        let mut slave = File::from(pty.slave);
        slave.write_all(b"a\nb\r\n\tc\x1b[31m").unwrap();
        drop(slave);
        let mut reader = Reader::new(pty.master, real.slave.as_raw_fd(), 0);
        let mut got = Vec::new();
        reader.read_to_end(&mut got).unwrap();
        assert_eq!(got, b"a\nb\r\n\tc\x1b[31m");
    }

    /// Once the slave's last copy is closed, the master reads what was left, then the end
    /// (EIO on Linux is the end, not an error).
    #[test]
    fn the_slave_closed_is_the_end_of_the_stream() {
        let real = terminal(24, 80);
        let pty = open_like(real.slave.as_fd()).unwrap();
        let mut slave = File::from(pty.slave);
        let mut reader = Reader::new(pty.master, real.slave.as_raw_fd(), 0);
        slave.write_all(b"first\n").unwrap();
        assert_eq!(read_some(&mut reader), b"first\n");
        slave.write_all(b"last words").unwrap();
        drop(slave);
        let mut rest = Vec::new();
        reader.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, b"last words");
        assert_eq!(read_some(&mut reader), b"");
    }

    #[test]
    fn a_resize_of_the_real_terminal_reaches_the_pty() {
        let real = terminal(24, 80);
        let pty = open_like(real.slave.as_fd()).unwrap();
        let mut last = size_of(pty.master.as_fd());
        assert!(!sync_size(
            real.slave.as_fd(),
            pty.master.as_fd(),
            &mut last,
            0
        ));
        assert!(set_size(real.master.as_fd(), &size(50, 132)));
        assert!(sync_size(
            real.slave.as_fd(),
            pty.master.as_fd(),
            &mut last,
            0
        ));
        let s = size_of(pty.slave.as_fd()).unwrap();
        assert_eq!((s.ws_row, s.ws_col), (50, 132));
        assert!(!sync_size(
            real.slave.as_fd(),
            pty.master.as_fd(),
            &mut last,
            0
        ));
    }
}
