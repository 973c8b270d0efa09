//! Supervising the command: start it, hand it the terminal, forward signals to it, notice when it
//! stops or ends, kill it when it will not stop, and say what it left running.
//!
//! The command leads a process group of its own, so that a signal reaches every process it
//! started. That has two consequences a job-control shell deals with, and so does this module:
//!
//! - **The terminal.** Only the terminal's foreground process group may read it or change its
//!   modes; any other group that tries is stopped (SIGTTIN, SIGTTOU). When crashdelta is the
//!   foreground job of its controlling terminal, the command's group is made the foreground (by
//!   the child before `exec` and by the parent after `spawn`, as shells do, so neither order of
//!   the two races), and crashdelta takes the terminal back when the command ends (SIGTTOU is
//!   blocked around each `tcsetpgrp`: a background group calling it would otherwise be stopped
//!   itself). The terminal's modes are restored when the command died by a signal (it may have
//!   turned echo off), as bash does. With the command in the foreground, Ctrl-C goes from the
//!   terminal to the command, not to crashdelta; a command that dies by SIGINT or SIGQUIT while it
//!   holds the terminal therefore counts as an interrupt, as a shell counts it.
//! - **Stops.** The command is waited for with `waitpid(WUNTRACED)`, so a stop is seen (std's
//!   `try_wait` does not report them). A command stopped by SIGTSTP (Ctrl-Z), SIGTTIN or SIGTTOU
//!   wants job control: crashdelta takes the terminal back and, when it leads its own process
//!   group (a job-control shell's job), stops itself with the same signal, so that the shell shows
//!   the job as stopped, as `sudo` and `script` do. When the shell continues crashdelta (`fg`),
//!   crashdelta gives the terminal back to the command, if crashdelta is now in the foreground,
//!   and continues it (SIGCONT). Where nobody could continue crashdelta (it is not a job of its
//!   own, or its group is orphaned and the kernel discards the stop), a command stopped by SIGTSTP
//!   is continued at once, as is one stopped by SIGTTIN/SIGTTOU when crashdelta can give it the
//!   terminal; otherwise that one is left stopped and reported (continued, it would only stop
//!   again): crashdelta run in the background (`&`) with a command that reads the terminal stops
//!   with it, and `fg` continues both. A stop by SIGSTOP is someone's explicit choice: it is
//!   reported, not undone; an interrupt still ends the command (SIGCONT follows every forwarded
//!   signal).
//!
//! Signals (SIGINT, SIGTERM, SIGHUP, SIGQUIT) are handled while a [`Session`] is open, by a
//! handler that only counts them and forwards them to the command's group, followed by SIGCONT
//! so that a stopped command hears them. A signal that was ignored when crashdelta started
//! (`nohup`) stays ignored. Outside a session the handler does what the default disposition
//! does (it terminates crashdelta), so a signal is never swallowed once a watch is over: the
//! handlers of `signal_hook` stay installed for the life of the process, and closing an iterator
//! does not restore the default. A command that does not end after an interrupt is killed
//! (SIGKILL to its group) on the second signal or after the grace period (`--kill-after`).
//!
//! When the command's leader has exited, what is still running in its process group (`sleep 100
//! &`), or was seen in its process tree and is still running (a daemon that left the group with
//! `setsid`), is listed as left over; with `kill_leftovers` the group is killed. A process that
//! left the group is never killed: after it left, its pid says too little about who it is.

use std::collections::BTreeSet;
use std::ffi::OsString;
use std::fs::File;
use std::io;
use std::os::fd::{AsFd, FromRawFd};
use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicI32, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;
use sysinfo::{ProcessRefreshKind, ProcessStatus, ProcessesToUpdate, System};

use super::process::{Exit, SpawnError};
use super::pty;

/// The signals that interrupt a watch and are forwarded to the command's group.
pub const FORWARDED: [i32; 4] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP, libc::SIGQUIT];

/// How many sessions are open; the handler forwards and counts only while one is.
static SESSIONS: AtomicUsize = AtomicUsize::new(0);
/// The process group of the command running now (the last one started, should a program using
/// the library run several at once), 0 when none runs.
static GROUP: AtomicI32 = AtomicI32::new(0);
/// How many forwarded signals arrived during sessions, ever; each watch compares with its start.
static RECEIVED: AtomicUsize = AtomicUsize::new(0);
/// The last of them.
static LAST: AtomicI32 = AtomicI32::new(0);
/// `RECEIVED` when the outermost open session began.
static OUTER_BASE: AtomicUsize = AtomicUsize::new(0);

/// Installs the handlers once per process; the result is remembered (an error too).
fn install() -> Result<(), String> {
    static INSTALLED: OnceLock<Result<(), String>> = OnceLock::new();
    INSTALLED
        .get_or_init(|| {
            for signal in FORWARDED {
                if ignored_at_start(signal) {
                    continue;
                }
                // SAFETY: the action is async-signal-safe: atomics, kill(2), and
                // emulate_default_handler (documented as async-signal-safe).
                unsafe { signal_hook::low_level::register(signal, move || on_signal(signal)) }
                    .map_err(|e| e.to_string())?;
            }
            Ok(())
        })
        .clone()
}

/// Runs in the signal handler.
fn on_signal(signal: i32) {
    if SESSIONS.load(Ordering::SeqCst) == 0 {
        let _ = signal_hook::low_level::emulate_default_handler(signal);
        return;
    }
    LAST.store(signal, Ordering::SeqCst);
    RECEIVED.fetch_add(1, Ordering::SeqCst);
    let group = GROUP.load(Ordering::SeqCst);
    if group > 0 {
        // SAFETY: kill(2) is async-signal-safe; a negative pid names the process group.
        unsafe {
            libc::kill(-group, signal);
            libc::kill(-group, libc::SIGCONT);
        }
    }
}

/// Whether `signal` was ignored when crashdelta started (`nohup`, a non-interactive shell's
/// background job): such a signal is left alone, as shells leave it.
fn ignored_at_start(signal: i32) -> bool {
    // SAFETY: sigaction(2) with a null new action only reads the current one into `old`.
    unsafe {
        let mut old: libc::sigaction = std::mem::zeroed();
        libc::sigaction(signal, std::ptr::null(), &mut old) == 0
            && old.sa_sigaction == libc::SIG_IGN
    }
}

/// While a session is open, SIGINT, SIGTERM, SIGHUP and SIGQUIT are counted (and forwarded to a
/// running command) instead of terminating crashdelta. A watch opens one; a campaign opens one
/// around all its runs, so that a signal between two runs stops the campaign, not the process.
/// Sessions nest; when the last one closes, those signals terminate crashdelta again.
#[derive(Debug)]
pub struct Session {
    base: usize,
}

impl Session {
    /// Opens a session; the handlers are installed on the first.
    ///
    /// A session opened inside another counts from when the outermost began: a signal that
    /// arrived while a campaign was setting up a run (its inventory, its provenance), before the
    /// run's command existed to be forwarded to, is the run's too, and is forwarded to its
    /// command as soon as it starts (`Supervisor::start`). Counted from the inner session's
    /// own start, it was lost: the command of that run ran to its end
    /// (`tests/signals.rs::sigint_while_a_campaign_sets_up_a_run_reaches_its_command`).
    ///
    /// # Errors
    /// The handlers cannot be installed.
    pub fn begin() -> io::Result<Session> {
        install().map_err(io::Error::other)?;
        if SESSIONS.fetch_add(1, Ordering::SeqCst) == 0 {
            OUTER_BASE.store(RECEIVED.load(Ordering::SeqCst), Ordering::SeqCst);
        }
        Ok(Session {
            base: OUTER_BASE.load(Ordering::SeqCst),
        })
    }

    /// How many signals arrived since the session began.
    pub fn received(&self) -> usize {
        RECEIVED.load(Ordering::SeqCst).saturating_sub(self.base)
    }

    /// The signal that interrupted the session, if one did: the last that arrived.
    pub fn interrupted(&self) -> Option<i32> {
        (self.received() > 0).then(|| LAST.load(Ordering::SeqCst))
    }
}

impl Drop for Session {
    fn drop(&mut self) {
        SESSIONS.fetch_sub(1, Ordering::SeqCst);
    }
}

/// A signal that makes macOS write a crash report when it kills a process. XNU raises EXC_CRASH,
/// which ReportCrash turns into a report, when a process is terminated by a signal whose default
/// action dumps core (`proc_prepareexit` in bsd/kern/kern_exit.c: `hassigprop(WTERMSIG(rv),
/// SA_CORE)`); the signals with `SA_CORE` are SIGQUIT, SIGILL, SIGTRAP, SIGABRT, SIGEMT, SIGFPE,
/// SIGBUS, SIGSEGV and SIGSYS (the `sigprop` table in bsd/sys/signalvar.h). SIGQUIT is one of
/// them: a process killed by Ctrl-\ gets an `EXC_CRASH (SIGQUIT)` report. SIGTERM, SIGKILL,
/// SIGINT, SIGHUP, SIGPIPE and SIGALRM make none. The kernel also makes one for a SIGKILL it sends
/// itself for an invalid code signature (`CS_KILLED`) or with an exit reason that asks for a
/// report; such a report is written at once, and the `settle` floor of the wait catches it.
pub fn makes_crash_report(signal: i32) -> bool {
    #[cfg(any(target_os = "macos", target_os = "ios"))]
    if signal == libc::SIGEMT {
        return true;
    }
    [
        libc::SIGQUIT,
        libc::SIGILL,
        libc::SIGTRAP,
        libc::SIGABRT,
        libc::SIGFPE,
        libc::SIGBUS,
        libc::SIGSEGV,
        libc::SIGSYS,
    ]
    .contains(&signal)
}

/// The name of a signal on this platform (`SIGTERM`), or `signal N` for one without a name.
pub fn signal_name(signal: i32) -> String {
    signal_hook::low_level::signal_name(signal)
        .map_or_else(|| format!("signal {signal}"), str::to_owned)
}

/// A process of the command's still running when the watch ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Leftover {
    /// Its pid.
    pub pid: u32,
    /// Its name (the program's), as the process table says it.
    pub name: String,
    /// Whether it is still in the command's process group; one that left it (a daemon that called
    /// `setsid`) is reported but never killed.
    pub in_group: bool,
    /// Whether crashdelta killed it (`--kill-leftovers`).
    pub killed: bool,
}

/// Something the supervisor saw while waiting, that the caller may want to say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Notice {
    /// The command was stopped by `signal`. `continued`: crashdelta continued it (after giving it
    /// the terminal); otherwise it stays stopped until someone continues it.
    Stopped {
        /// The signal that stopped it.
        signal: i32,
        /// Whether crashdelta continued it.
        continued: bool,
    },
    /// The command did not end after the interrupt: its group was killed (SIGKILL).
    Killed {
        /// How long after the first interrupt.
        after: Duration,
    },
}

/// What [`Supervisor::poll`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Polled {
    /// Still running (or stopped); maybe with something to say.
    Running(Option<Notice>),
    /// The command's leader ended.
    Exited(Exit),
}

/// The controlling terminal, when crashdelta has one.
#[derive(Debug)]
struct Terminal {
    fd: i32,
    /// crashdelta's own process group, to take the foreground back.
    ours: libc::pid_t,
    /// The modes before the command ran, restored when it died by a signal.
    modes: Option<libc::termios>,
}

impl Terminal {
    /// The controlling terminal, if crashdelta has one (a CI runner usually has none).
    fn open() -> Option<Terminal> {
        // SAFETY: plain system calls on a path and a descriptor this function owns.
        unsafe {
            let fd = libc::open(
                c"/dev/tty".as_ptr(),
                libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
            );
            if fd < 0 {
                return None;
            }
            let ours = libc::getpgrp();
            let mut modes: libc::termios = std::mem::zeroed();
            let modes = (libc::tcgetattr(fd, &mut modes) == 0).then_some(modes);
            Some(Terminal { fd, ours, modes })
        }
    }

    /// Gives the foreground to `group`. SIGTTOU is blocked meanwhile: a background group calling
    /// tcsetpgrp is otherwise stopped.
    fn give(&self, group: libc::pid_t) -> bool {
        give_terminal(self.fd, group)
    }

    fn is_foreground(&self, group: libc::pid_t) -> bool {
        // SAFETY: tcgetpgrp(3) on a descriptor this struct owns.
        unsafe { libc::tcgetpgrp(self.fd) == group }
    }

    fn restore_modes(&self) {
        if let Some(modes) = &self.modes {
            // SAFETY: tcsetattr(3) with modes read from the same terminal; SIGTTOU is not a
            // concern once crashdelta is the foreground again.
            unsafe {
                libc::tcsetattr(self.fd, libc::TCSADRAIN, modes);
            }
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        // SAFETY: closing the descriptor this struct opened.
        unsafe {
            libc::close(self.fd);
        }
    }
}

/// `tcsetpgrp(fd, group)` with SIGTTOU blocked in the calling thread. Async-signal-safe: it runs
/// in the child between fork and exec too.
fn give_terminal(fd: i32, group: libc::pid_t) -> bool {
    // SAFETY: sigemptyset, sigaddset, pthread_sigmask and tcsetpgrp are async-signal-safe and
    // touch only the local set and the calling thread's mask, restored before returning.
    unsafe {
        let mut block: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut block);
        libc::sigaddset(&mut block, libc::SIGTTOU);
        libc::pthread_sigmask(libc::SIG_BLOCK, &block, &mut old);
        let ok = libc::tcsetpgrp(fd, group) == 0;
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        ok
    }
}

/// The command, started and supervised until it ends.
#[derive(Debug)]
pub struct Supervisor {
    /// The command's captured standard output and error, until taken.
    output: Option<(Option<Source>, Option<Source>)>,
    /// What could not be done as asked (a pseudo-terminal that could not be opened), until taken.
    warnings: Vec<String>,
    pid: libc::pid_t,
    session: Session,
    terminal: Option<Terminal>,
    /// Whether the command holds the terminal (crashdelta gave it the foreground).
    holds_terminal: bool,
    kill_after: Duration,
    /// When crashdelta first saw an interrupt while the command ran.
    interrupted_at: Option<Instant>,
    /// An interrupt that reached the command from the terminal (it died by SIGINT or SIGQUIT
    /// while it held it), which crashdelta did not receive itself.
    from_terminal: Option<i32>,
    killed: bool,
    /// The stop already reported, so that it is reported once.
    stopped: Option<i32>,
}

impl Supervisor {
    /// Starts `argv` (with `env` added) as the leader of a new process group, in the terminal's
    /// foreground when crashdelta is in it. `kill_after`: how long a command may take to end after
    /// an interrupt before its group is killed. `capture`: its standard output and error are
    /// given to crashdelta to read ([`Supervisor::take_output`]): pipes, or pseudo-terminals where
    /// crashdelta's own are terminals; its standard input is always crashdelta's.
    ///
    /// # Errors
    /// [`StartError::Spawn`] when the command cannot be started, [`StartError::Signals`] when the
    /// handlers cannot be installed.
    pub fn start(
        argv: &[OsString],
        env: &[(OsString, OsString)],
        kill_after: Duration,
        capture: bool,
        stdout_to_stderr: bool,
    ) -> Result<Supervisor, StartError> {
        let session = Session::begin().map_err(StartError::Signals)?;
        let (program, args) = argv.split_first().ok_or(SpawnError::Empty)?;
        let terminal = Terminal::open();
        // The command gets the terminal only when crashdelta is its foreground job (not when it
        // runs in the background, `crashdelta watch ... &`).
        let foreground = terminal.as_ref().filter(|t| t.is_foreground(t.ours));
        let in_foreground = foreground.is_some();
        let mut command = Command::new(program);
        command
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .process_group(0);
        if let Some(t) = foreground {
            let fd = t.fd;
            // SAFETY: the closure runs between fork and exec and calls only async-signal-safe
            // functions (setpgid, getpid, give_terminal).
            unsafe {
                command.pre_exec(move || {
                    libc::setpgid(0, 0);
                    give_terminal(fd, libc::getpid());
                    Ok(())
                });
            }
        }
        // A captured stream (read as it passes through, `capture.rs`) is a pipe where crashdelta's
        // own is not a terminal, and a pseudo-terminal where it is (`pty.rs`): there the command
        // still writes to a terminal, colours, progress bars and all. Standard input is left.
        use std::io::IsTerminal;
        let (standins, warning) = if capture {
            pty::Standins::open()
        } else {
            (pty::Standins::default(), None)
        };
        if capture && !io::stdout().is_terminal() {
            command.stdout(std::process::Stdio::piped());
        }
        if capture && !io::stderr().is_terminal() {
            command.stderr(std::process::Stdio::piped());
        }
        let mut warnings: Vec<String> = warning.into_iter().collect();
        let standins = match standins.attach(&mut command) {
            Ok(()) => standins,
            Err(e) => {
                warnings.push(format!(
                    "cannot give the command a pseudo-terminal ({e}): its output on the terminal \
                     was not read for which test crashed"
                ));
                pty::Standins::default()
            }
        };
        // The run record goes to standard output (`--format json` with no `--output`), and
        // standard output is a file or a pipe: the command's own standard output goes where
        // its standard error goes, so that standard output holds the record alone (as `2>&1`
        // would put it, in the order written). Captured through a pipe, one pipe takes both.
        // On a terminal it is only shown, never mixed into a file.
        let mut merged: Option<File> = None;
        if stdout_to_stderr && !io::stdout().is_terminal() {
            if capture && !io::stderr().is_terminal() {
                let (read, write) = pipe().map_err(|e| SpawnError::from_io(program, e))?;
                let write_too = write
                    .try_clone()
                    .map_err(|e| SpawnError::from_io(program, e))?;
                command.stdout(write_too).stderr(write);
                merged = Some(read);
            } else {
                let err = io::stderr()
                    .as_fd()
                    .try_clone_to_owned()
                    .map_err(|e| SpawnError::from_io(program, e))?;
                command.stdout(err);
            }
        }
        let spawned = command.spawn();
        // `command` holds crashdelta's copies of the slaves: closed now, the masters' readers see
        // the end when the command's last process closes its own.
        drop(command);
        let mut child = spawned.map_err(|e| SpawnError::from_io(program, e))?;
        let pid = libc::pid_t::try_from(child.id()).unwrap_or(0);
        let (pty_out, pty_err) = standins.readers(pid);
        let output = (
            source(child.stdout.take()).or_else(|| source(pty_out)),
            source(child.stderr.take())
                .or_else(|| source(merged))
                .or_else(|| source(pty_err)),
        );
        // The child is waited for with waitpid(2) below; `Child` is dropped (that neither waits
        // nor kills).
        drop(child);
        // A signal that arrives from here on is forwarded by the handler; one that arrived before
        // (counted in `early`) is forwarded below, once.
        let early = session.received();
        GROUP.store(pid, Ordering::SeqCst);
        // The child may have taken the foreground already (then crashdelta is no longer in it, and
        // giving it again is harmless), or even have ended (then it fails): either way the
        // command holds the terminal as far as taking it back is concerned.
        if let Some(t) = terminal.as_ref().filter(|_| in_foreground) {
            t.give(pid);
        }
        let holds_terminal = in_foreground;
        let mut supervisor = Supervisor {
            pid,
            session,
            terminal,
            holds_terminal,
            kill_after,
            interrupted_at: None,
            from_terminal: None,
            killed: false,
            stopped: None,
            output: Some(output),
            warnings,
        };
        if early > 0 {
            forward(pid, LAST.load(Ordering::SeqCst));
            supervisor.interrupted_at = Some(Instant::now());
        }
        Ok(supervisor)
    }

    /// The command's captured standard output and error (`None` for a stream left to it): a
    /// pipe, or the master of the pseudo-terminal standing in for crashdelta's terminal (`pty.rs`;
    /// one shared by both streams comes as standard output).
    pub fn take_output(&mut self) -> (Option<Source>, Option<Source>) {
        self.output.take().unwrap_or((None, None))
    }

    /// What could not be done as asked when the command was started (said once).
    pub fn take_warnings(&mut self) -> Vec<String> {
        std::mem::take(&mut self.warnings)
    }

    /// The command's pid (its process group's id).
    pub fn pid(&self) -> u32 {
        u32::try_from(self.pid).unwrap_or(0)
    }

    /// Looks once, without blocking: whether the command ended, stopped, or must be killed.
    ///
    /// # Errors
    /// waitpid(2) failed: how the command ended cannot be known.
    pub fn poll(&mut self) -> io::Result<Polled> {
        let mut status = 0;
        // SAFETY: waitpid(2) on our own child, with a valid pointer to the status.
        let got = unsafe { libc::waitpid(self.pid, &mut status, libc::WNOHANG | libc::WUNTRACED) };
        if got < 0 {
            let e = io::Error::last_os_error();
            if e.kind() == io::ErrorKind::Interrupted {
                return Ok(Polled::Running(None));
            }
            return Err(e);
        }
        if got == self.pid {
            if libc::WIFSTOPPED(status) {
                return Ok(Polled::Running(self.on_stop(libc::WSTOPSIG(status))));
            }
            let exit = if libc::WIFSIGNALED(status) {
                Exit {
                    code: None,
                    signal: Some(libc::WTERMSIG(status)),
                }
            } else {
                Exit {
                    code: Some(libc::WEXITSTATUS(status)),
                    signal: None,
                }
            };
            self.on_exit(exit);
            return Ok(Polled::Exited(exit));
        }
        // Still running.
        self.stopped = None;
        if self.interrupted_at.is_none() && self.session.received() > 0 {
            self.interrupted_at = Some(Instant::now());
        }
        if let Some(at) = self.interrupted_at
            && !self.killed
            && (self.session.received() >= 2 || at.elapsed() >= self.kill_after)
        {
            forward(self.pid, libc::SIGKILL);
            self.killed = true;
            return Ok(Polled::Running(Some(Notice::Killed {
                after: at.elapsed(),
            })));
        }
        Ok(Polled::Running(None))
    }

    fn on_exit(&mut self, exit: Exit) {
        self.stop_forwarding();
        if let Some(t) = &self.terminal
            && self.holds_terminal
        {
            t.give(t.ours);
            self.holds_terminal = false;
            if let Some(signal) = exit.signal {
                t.restore_modes();
                // Ctrl-C or Ctrl-\ on the terminal went to the command, not to crashdelta.
                if signal == libc::SIGINT || signal == libc::SIGQUIT {
                    self.from_terminal = Some(signal);
                }
            }
        }
    }

    fn on_stop(&mut self, signal: i32) -> Option<Notice> {
        let job_control = [libc::SIGTSTP, libc::SIGTTIN, libc::SIGTTOU].contains(&signal);
        if !job_control {
            // SIGSTOP: someone's choice. Say it once.
            return (self.stopped.replace(signal) != Some(signal)).then_some(Notice::Stopped {
                signal,
                continued: false,
            });
        }
        if let Some(t) = &self.terminal {
            if self.holds_terminal {
                t.give(t.ours);
                self.holds_terminal = false;
            }
            // Stop as the command stopped, so that the shell shows the job stopped; returns when
            // it is continued. Only a process-group leader does: a job-control shell makes each
            // job's first process one, and only that shell can continue it. A process inside
            // another job (a script without job control) that stopped itself would hang that
            // job; and where the group is orphaned the kernel discards the stop anyway.
            // SAFETY: getpgrp(2) and getpid(2) only read this process's ids.
            if unsafe { libc::getpgrp() == libc::getpid() } {
                let _ = signal_hook::low_level::raise(signal);
            }
            if t.is_foreground(t.ours) {
                self.holds_terminal = t.give(self.pid);
            }
        }
        let continued = self.holds_terminal || signal == libc::SIGTSTP;
        if continued {
            forward(self.pid, libc::SIGCONT);
            self.stopped = None;
            return Some(Notice::Stopped {
                signal,
                continued: true,
            });
        }
        (self.stopped.replace(signal) != Some(signal)).then_some(Notice::Stopped {
            signal,
            continued: false,
        })
    }

    /// The signal that interrupted the run: one crashdelta received (and forwarded), or Ctrl-C on
    /// the terminal that reached the command directly.
    pub fn interrupted(&self) -> Option<i32> {
        self.session.interrupted().or(self.from_terminal)
    }

    /// Whether the command's group was killed because it did not end after an interrupt.
    pub fn killed(&self) -> bool {
        self.killed
    }

    /// Ends the supervision: lists what is left of the command (`tree`: every pid seen in its
    /// process tree) and, with `kill_leftovers`, kills its group. The signal handlers go back to
    /// the default disposition unless a campaign's session is still open.
    pub fn finish(self, tree: &BTreeSet<u32>, kill_leftovers: bool) -> Vec<Leftover> {
        let mut left = leftovers(self.pid, tree);
        if kill_leftovers && left.iter().any(|l| l.in_group) {
            forward(self.pid, libc::SIGKILL);
            for l in left.iter_mut().filter(|l| l.in_group) {
                l.killed = true;
            }
        }
        left
    }
}

impl Supervisor {
    /// Signals are no longer forwarded to this command's group (unless another command has been
    /// started since: then to that one).
    fn stop_forwarding(&self) {
        let _ = GROUP.compare_exchange(self.pid, 0, Ordering::SeqCst, Ordering::SeqCst);
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        self.stop_forwarding();
        if let Some(t) = &self.terminal
            && self.holds_terminal
        {
            t.give(t.ours);
        }
    }
}

/// Why the command could not be supervised.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// It could not be started.
    #[error(transparent)]
    Spawn(#[from] SpawnError),
    /// The signal handlers could not be installed.
    #[error("cannot install signal handlers: {0}")]
    Signals(io::Error),
}

/// What one of the command's captured streams is read from: a pipe, a pseudo-terminal's master.
pub trait Readable: io::Read + Send + std::fmt::Debug {}

impl<R: io::Read + Send + std::fmt::Debug> Readable for R {}

/// One of the command's captured streams, as read.
pub type Source = Box<dyn Readable>;

fn source(from: Option<impl Readable + 'static>) -> Option<Source> {
    from.map(|f| Box::new(f) as Source)
}

/// A pipe, both ends close-on-exec (the command gets the write end as its standard output and
/// error, copies `exec` keeps): the read end, then the write end.
fn pipe() -> io::Result<(File, std::os::fd::OwnedFd)> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: pipe(2) writes two descriptors into the local array.
    if unsafe { libc::pipe(fds.as_mut_ptr()) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let [read, write] = fds;
    for fd in [read, write] {
        // SAFETY: fcntl(2) on a descriptor just made, setting FD_CLOEXEC.
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    // SAFETY: both descriptors were just made by pipe(2) and are owned by nothing else.
    let (read, write) = unsafe {
        (
            File::from_raw_fd(read),
            std::os::fd::OwnedFd::from_raw_fd(write),
        )
    };
    Ok((read, write))
}

/// Sends `signal` to the group led by `pid`, then SIGCONT so that a stopped group hears it.
fn forward(pid: libc::pid_t, signal: i32) {
    if pid <= 0 {
        return;
    }
    // SAFETY: kill(2) with a negative pid signals a process group; no memory is involved.
    unsafe {
        libc::kill(-pid, signal);
        if signal != libc::SIGKILL && signal != libc::SIGCONT {
            libc::kill(-pid, libc::SIGCONT);
        }
    }
}

/// What still runs of the command: the processes of its group, and those of its tree that left
/// the group; zombies (ended, not yet reaped by whoever adopted them) excluded.
fn leftovers(group: libc::pid_t, tree: &BTreeSet<u32>) -> Vec<Leftover> {
    let mut system = System::new();
    system.refresh_processes_specifics(ProcessesToUpdate::All, true, ProcessRefreshKind::nothing());
    let me = std::process::id();
    let mut left: Vec<Leftover> = system
        .processes()
        .iter()
        .filter(|(_, p)| p.status() != ProcessStatus::Zombie)
        .filter_map(|(pid, p)| {
            let pid = pid.as_u32();
            let raw = libc::pid_t::try_from(pid).ok()?;
            // SAFETY: getpgid(2) reads a process's group id; no memory is involved.
            let pgid = unsafe { libc::getpgid(raw) };
            let in_group = group > 0 && pgid == group;
            (pid != me && (in_group || (pid != group.unsigned_abs() && tree.contains(&pid)))).then(
                || Leftover {
                    pid,
                    name: p.name().to_string_lossy().into_owned(),
                    in_group,
                    killed: false,
                },
            )
        })
        .collect();
    left.sort_by_key(|l| l.pid);
    left
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crash_signals_are_those_that_dump_core() {
        for s in [
            libc::SIGSEGV,
            libc::SIGBUS,
            libc::SIGABRT,
            libc::SIGILL,
            libc::SIGFPE,
            libc::SIGTRAP,
            libc::SIGSYS,
            libc::SIGQUIT,
        ] {
            assert!(makes_crash_report(s), "{s}");
        }
        for s in [
            libc::SIGTERM,
            libc::SIGKILL,
            libc::SIGINT,
            libc::SIGPIPE,
            libc::SIGHUP,
            libc::SIGALRM,
            libc::SIGUSR1,
        ] {
            assert!(!makes_crash_report(s), "{s}");
        }
    }

    #[test]
    fn spawn_errors() {
        let start =
            |argv: &[OsString]| Supervisor::start(argv, &[], Duration::from_secs(5), false, false);
        assert!(matches!(
            start(&["/no/such/command".into()]),
            Err(StartError::Spawn(SpawnError::NotFound(_)))
        ));
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let not_executable = dir.path().join("script.sh");
        std::fs::write(&not_executable, "#!/bin/sh\n").unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            start(&[not_executable.into()]),
            Err(StartError::Spawn(SpawnError::NotExecutable(..)))
        ));
        assert!(matches!(
            start(&[]),
            Err(StartError::Spawn(SpawnError::Empty))
        ));
    }

    #[test]
    fn signals_have_names() {
        assert_eq!(signal_name(libc::SIGTERM), "SIGTERM");
        assert_eq!(signal_name(libc::SIGSEGV), "SIGSEGV");
        assert_eq!(signal_name(1000), "signal 1000");
    }
}
