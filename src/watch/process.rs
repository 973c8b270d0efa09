//! The user's command as a process: why it could not be started, how it ended, and its process
//! tree, recorded while it runs (starting it and waiting for it is `supervise.rs`'s).

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use sysinfo::{ProcessRefreshKind, ProcessStatus, ProcessesToUpdate, System};

use super::attribution::{Life, Outside, Tree};
use super::injected::Injection;
use thiserror::Error;

/// Why the command could not be started. `watch` exits as `env(1)` does: 127 when it is not found,
/// 126 when it cannot be run, 125 otherwise.
#[derive(Debug, Error)]
pub enum SpawnError {
    /// No such program: the program as given.
    #[error("command not found: {0}")]
    NotFound(String),
    /// The program exists but may not be run (permission denied): the program as given, and the
    /// error.
    #[error("command cannot be run: {0}: {1}")]
    NotExecutable(String, io::Error),
    /// The file is not a program the system can start (ENOEXEC): most often a script without a
    /// `#!` line. A shell would guess `sh` for it; crashdelta does not guess a test script's
    /// interpreter.
    #[error(
        "command cannot be run: {0} is not a program the system can start (no `#!` line at the \
         top of a script?); add one, such as `#!/bin/sh`, or run it through its interpreter \
         (`-- sh {0}`)"
    )]
    NotAProgram(String),
    /// Any other failure to start it: the program as given, and the error.
    #[error("cannot start {0}: {1}")]
    Other(String, io::Error),
    /// `argv` is empty: there was nothing after `--`.
    #[error("no command given after --")]
    Empty,
}

impl SpawnError {
    /// Why `program` could not be started, from the error `spawn` gave.
    pub fn from_io(program: &OsStr, e: io::Error) -> SpawnError {
        let name = program.to_string_lossy().into_owned();
        match e.kind() {
            io::ErrorKind::NotFound => SpawnError::NotFound(name),
            io::ErrorKind::PermissionDenied => SpawnError::NotExecutable(name, e),
            _ if e.raw_os_error() == Some(libc::ENOEXEC) => SpawnError::NotAProgram(name),
            _ => SpawnError::Other(name, e),
        }
    }
}

/// How the command ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
pub struct Exit {
    /// The exit code, when the command exited by itself; `None` when a signal killed it.
    pub code: Option<i32>,
    /// The signal that killed the command (11 for `SIGSEGV` on macOS and Linux), when one did;
    /// [`signal_name`](super::signal_name) names it.
    pub signal: Option<i32>,
}

/// Records the pids of a process and its descendants while they run, by polling the process
/// table. A crash report names the pid of the process that crashed (and its parent); a test
/// runner's worker that crashed is a descendant of the command, not the command itself. Every
/// other process seen meanwhile is recorded too: the evidence that places a report outside the
/// run (see `attribution`).
pub struct PidRecorder {
    stop: Arc<AtomicBool>,
    pids: Arc<Mutex<Tree>>,
    /// The sampling thread; it hands back what it saw of the injected libraries.
    thread: Option<JoinHandle<Injection>>,
    adoption: Adoption,
    /// The libraries the thread looks for, kept so that a thread that panicked still leaves a
    /// record that they were asked for (every process unchecked), not none.
    libraries: Vec<super::injected::Library>,
}

/// What the recorder knows of crashdelta's own children: with [`become_subreaper`], an orphan of
/// the command (its parent exited first) is re-parented to crashdelta, not to init, so it stays
/// in view however briefly it lives: as a zombie child of crashdelta until reaped here, with the
/// signal that killed it.
#[derive(Clone)]
struct Adoption {
    /// crashdelta's pid.
    me: u32,
    /// The command.
    leader: u32,
    /// crashdelta's children from before this run (an earlier run's leftovers): not this run's.
    earlier: BTreeSet<u32>,
    /// Whether orphans come to crashdelta, and are to be reaped by it.
    reap: bool,
}

/// Makes crashdelta the "child subreaper" of its descendants (Linux, `PR_SET_CHILD_SUBREAPER`):
/// an orphaned descendant of the command is re-parented to crashdelta instead of init, so a
/// process whose parent exited first is still seen in the process tree and reaped here with its
/// signal. Returns whether it is in effect; elsewhere (macOS has no such call) `false`.
pub fn become_subreaper() -> bool {
    #[cfg(target_os = "linux")]
    {
        // SAFETY: prctl(2) with PR_SET_CHILD_SUBREAPER takes an integer flag; no memory is
        // involved.
        unsafe { libc::prctl(libc::PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0 }
    }
    #[cfg(not(target_os = "linux"))]
    {
        false
    }
}

impl PidRecorder {
    /// crashdelta's children now: taken before the command starts, they are an earlier run's
    /// (leftovers), never this run's. Taken after, a fast orphan of the command (adopted by
    /// crashdelta as subreaper before the recorder's first look) was counted among them and left
    /// out of the tree (the flaky `an_orphan_of_the_command_stays_in_its_process_tree`).
    pub fn children_before_the_run() -> BTreeSet<u32> {
        let me = std::process::id();
        let mut system = System::new();
        system.refresh_processes_specifics(
            ProcessesToUpdate::All,
            true,
            ProcessRefreshKind::nothing(),
        );
        system
            .processes()
            .iter()
            .filter(|(_, p)| p.parent().is_some_and(|parent| parent.as_u32() == me))
            .map(|(pid, _)| pid.as_u32())
            .collect()
    }

    /// Starts recording the tree of `root` every `every`; `reap` when crashdelta is the
    /// subreaper ([`become_subreaper`]); `earlier`: crashdelta's children from before the
    /// command started ([`PidRecorder::children_before_the_run`]). Each look at the tree also
    /// looks for the libraries of `injection` in its running processes (none: no look).
    pub fn start(
        root: u32,
        every: Duration,
        reap: bool,
        earlier: BTreeSet<u32>,
        injection: Injection,
    ) -> PidRecorder {
        let stop = Arc::new(AtomicBool::new(false));
        let pids = Arc::new(Mutex::new(Tree {
            pids: BTreeSet::from([root]),
            ..Tree::default()
        }));
        let me = std::process::id();
        // Filled by the thread's first look, at once: a look here as well would only delay it.
        let mut system = System::new();
        let earlier = earlier.into_iter().filter(|pid| *pid != root).collect();
        let adoption = Adoption {
            me,
            leader: root,
            earlier,
            reap,
        };
        let libraries = injection.libraries.clone();
        let (stop2, pids2, adoption2) = (stop.clone(), pids.clone(), adoption.clone());
        let thread = std::thread::spawn(move || {
            let mut injection = injection;
            while !stop2.load(Ordering::Relaxed) {
                record_tree(&mut system, &pids2, &adoption2);
                look_for_libraries(&mut injection, &pids2);
                // Woken early by `finish`: the run's end must not wait out a round.
                std::thread::park_timeout(every);
            }
            injection
        });
        PidRecorder {
            stop,
            pids,
            thread: Some(thread),
            adoption,
            libraries,
        }
    }

    /// One more look, then stop; returns every pid seen, and what was seen of the injected
    /// libraries. The last look catches a descendant started after the poller's last round that
    /// is still alive (one that was its own parent's child while the parent lives).
    pub fn finish(mut self) -> (Tree, Injection) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = &self.thread {
            t.thread().unpark();
        }
        // A thread that panicked saw nothing that can be trusted: only the last look below
        // counts, and the libraries are still recorded as asked for.
        let mut injection = self
            .thread
            .take()
            .and_then(|t| t.join().ok())
            .unwrap_or_else(|| Injection::new(std::mem::take(&mut self.libraries)));
        record_tree(&mut System::new(), &self.pids, &self.adoption);
        look_for_libraries(&mut injection, &self.pids);
        let tree = self.pids.lock().map(|p| p.clone()).unwrap_or_default();
        (tree, injection)
    }

    pub fn snapshot(&self) -> Tree {
        self.pids.lock().map(|p| p.clone()).unwrap_or_default()
    }
}

/// Looks for the injected libraries in the tree's processes that were running at the last look
/// (the tree is not held meanwhile: reading memory maps takes a while, and `snapshot` must not
/// wait for it).
fn look_for_libraries(injection: &mut Injection, tree: &Mutex<Tree>) {
    if injection.libraries.is_empty() {
        return;
    }
    let running: Vec<u32> = match tree.lock() {
        Ok(tree) => tree
            .lives
            .iter()
            .filter(|(_, life)| life.gone_ms.is_none())
            .map(|(pid, _)| *pid)
            .collect(),
        Err(_) => return,
    };
    injection.look(running);
}

fn record_tree(system: &mut System, tree: &Mutex<Tree>, adoption: &Adoption) {
    system.refresh_processes_specifics(ProcessesToUpdate::All, true, ProcessRefreshKind::nothing());
    let Ok(mut tree) = tree.lock() else {
        return;
    };
    tree.me = adoption.me;
    let now_ms = chrono::Utc::now().timestamp_millis();
    let now = now_ms.div_euclid(1000);
    // crashdelta's own children are the command and, as subreaper, the orphans it adopted: the
    // run's when they are still in the command's process group (crashdelta's other children,
    // another watch's command in a program that runs several, are not), unless they were there
    // before the run (an earlier run's).
    let mut adopted = Vec::new();
    for (pid, process) in system.processes() {
        let pid = pid.as_u32();
        if process.parent().is_some_and(|p| p.as_u32() == adoption.me)
            && pid != adoption.leader
            && !adoption.earlier.contains(&pid)
            && in_group(pid, adoption.leader)
        {
            tree.pids.insert(pid);
            adopted.push(pid);
        }
    }
    let mut reaped = BTreeSet::new();
    if adoption.reap {
        for pid in adopted {
            if let Some(signal) = reap(pid) {
                tree.died.push((pid, signal));
                reaped.insert(pid);
            }
        }
    }
    // Descendants whose parent is already known; repeat until nothing new (grandchildren).
    loop {
        let before = tree.pids.len();
        for (pid, process) in system.processes() {
            if let Some(parent) = process.parent()
                && tree.pids.contains(&parent.as_u32())
            {
                tree.pids.insert(pid.as_u32());
            }
        }
        if tree.pids.len() == before {
            break;
        }
    }
    record_lives(&mut tree, system, &reaped, now_ms);
    for (pid, process) in system.processes() {
        let pid = pid.as_u32();
        if pid == adoption.me {
            continue;
        }
        if tree.pids.contains(&pid) {
            // A pid first seen outside and now inside was reused by the run: inside wins.
            tree.outside.remove(&pid);
        } else {
            tree.outside.insert(
                pid,
                Outside {
                    parent: process.parent().map(|p| p.as_u32()),
                    start_secs: process.start_time(),
                    last_seen: now,
                },
            );
        }
    }
}

/// Notes which processes of the tree are running at `now_ms` and which have ended since the last
/// look: when a crashed worker died is what joins its crash report with the test output printed
/// at that moment.
fn record_lives(tree: &mut Tree, system: &System, reaped: &BTreeSet<u32>, now_ms: i64) {
    let Tree { pids, lives, .. } = tree;
    for &pid in pids.iter() {
        let running = !reaped.contains(&pid)
            && system
                .process(sysinfo::Pid::from_u32(pid))
                .is_some_and(|p| {
                    !matches!(p.status(), ProcessStatus::Zombie | ProcessStatus::Dead)
                });
        match (running, lives.get_mut(&pid)) {
            (true, Some(life)) if life.gone_ms.is_none() => life.last_alive_ms = now_ms,
            (true, Some(life)) => {
                // Running again after it was seen gone: the pid was reused within the tree.
                *life = Life {
                    last_alive_ms: now_ms,
                    gone_ms: None,
                    born_ms: started_ms(pid),
                };
            }
            (true, None) => {
                lives.insert(
                    pid,
                    Life {
                        last_alive_ms: now_ms,
                        gone_ms: None,
                        born_ms: started_ms(pid),
                    },
                );
            }
            (false, Some(life)) if life.gone_ms.is_none() => life.gone_ms = Some(now_ms),
            // Never seen running (it lived between two looks), or already known gone.
            (false, _) => {}
        }
    }
}

/// When `pid` started, in milliseconds since the Unix epoch, rounded down: on Linux from
/// `/proc/PID/stat` (clock ticks since boot, 10 ms, on the boot-time clock, whose offset to the
/// wall clock is read here), on macOS from `proc_pidinfo` (seconds and microseconds). sysinfo's
/// start time is in whole seconds, too coarse to order two workers that died 200 ms apart.
#[cfg(target_os = "linux")]
pub(crate) fn started_ms(pid: u32) -> Option<i64> {
    let stat = std::fs::read(format!("/proc/{pid}/stat")).ok()?;
    // `pid (comm) state ppid ...`: comm may hold spaces and parentheses, so fields are counted
    // after its last `)`. The start time is field 22, the 20th after comm.
    let close = stat.iter().rposition(|&b| b == b')')?;
    let rest = std::str::from_utf8(stat.get(close + 1..)?).ok()?;
    let ticks: i64 = rest.split_ascii_whitespace().nth(19)?.parse().ok()?;
    // SAFETY: sysconf takes a constant and touches no memory.
    let hz = i64::from(i32::try_from(unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).ok()?);
    if hz <= 0 {
        return None;
    }
    let since_boot_ms = ticks.checked_mul(1000)? / hz;
    // The wall clock first, then the boot-time clock: the time between the two calls (however
    // long a preemption makes it) makes the offset between them, and so the answer, smaller,
    // never larger (review finding: the other order did). `- 1` covers the boot-time reading's
    // milliseconds rounded down. A step of the wall clock between the process's start and the
    // reading of its output (NTP on a fresh machine) is not accounted for.
    let now_ms = chrono::Utc::now().timestamp_millis();
    let mut boot = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec, which `boot` is.
    if unsafe { libc::clock_gettime(libc::CLOCK_BOOTTIME, &mut boot) } != 0 {
        return None;
    }
    let boot_ms = boot
        .tv_sec
        .checked_mul(1000)?
        .checked_add(boot.tv_nsec / 1_000_000)?;
    now_ms
        .checked_sub(boot_ms)?
        .checked_add(since_boot_ms)?
        .checked_sub(1)
}

#[cfg(target_os = "macos")]
pub(crate) fn started_ms(pid: u32) -> Option<i64> {
    let pid = libc::c_int::try_from(pid).ok()?;
    // SAFETY: an all-zero proc_bsdinfo is a valid value (integers and byte arrays).
    let mut info: libc::proc_bsdinfo = unsafe { std::mem::zeroed() };
    let size = libc::c_int::try_from(std::mem::size_of::<libc::proc_bsdinfo>()).ok()?;
    // SAFETY: proc_pidinfo writes at most `size` bytes into `info`, which is that big.
    let n =
        unsafe { libc::proc_pidinfo(pid, libc::PROC_PIDTBSDINFO, 0, (&raw mut info).cast(), size) };
    if n != size {
        return None;
    }
    let secs = i64::try_from(info.pbi_start_tvsec).ok()?;
    let micros = i64::try_from(info.pbi_start_tvusec).ok()?;
    secs.checked_mul(1000)?.checked_add(micros / 1000)
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
pub(crate) fn started_ms(_pid: u32) -> Option<i64> {
    None
}

/// Whether `pid` is in the process group `group` (the command's: its leader's pid).
fn in_group(pid: u32, group: u32) -> bool {
    let (Ok(pid), Ok(group)) = (libc::pid_t::try_from(pid), libc::pid_t::try_from(group)) else {
        return false;
    };
    // SAFETY: getpgid(2) takes a pid and touches no memory.
    unsafe { libc::getpgid(pid) == group }
}

/// Reaps an adopted orphan if it has ended; the signal that killed it, if one did. Only
/// processes crashdelta adopted as subreaper are waited for here: the command itself is
/// `supervise.rs`'s, and a child another part of crashdelta waits for is never passed here.
fn reap(pid: u32) -> Option<i32> {
    let pid = libc::pid_t::try_from(pid).ok()?;
    let mut status: libc::c_int = 0;
    // SAFETY: waitpid(2) on one pid with WNOHANG, writing into a local integer.
    let done = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    (done == pid && libc::WIFSIGNALED(status)).then(|| libc::WTERMSIG(status))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_grandchildren() {
        let mut child = std::process::Command::new("sh")
            .args(["-c", "sh -c 'sleep 0.6' & sleep 0.6; wait"])
            .spawn()
            .unwrap();
        let recorder = PidRecorder::start(
            child.id(),
            Duration::from_millis(50),
            false,
            BTreeSet::new(),
            Injection::default(),
        );
        std::thread::sleep(Duration::from_millis(300));
        let pids = recorder.finish().0.pids;
        let _ = child.wait();
        assert!(pids.contains(&child.id()));
        assert!(
            pids.len() >= 3,
            "expected the shell, its sleep and the inner shell: {pids:?}"
        );
    }

    /// A process's start time is read to within the kernel's tick, and never after the moment
    /// it was started: the join counts on it being a lower bound.
    #[cfg(any(target_os = "linux", target_os = "macos"))]
    #[test]
    fn a_process_start_time_is_a_lower_bound_within_a_tick() {
        // A few runs: one delayed by the scheduler between the clock reads is not a failure of
        // the bound, only of the "within 30 ms".
        let mut closest = i64::MAX;
        for _ in 0..5 {
            let before = chrono::Utc::now().timestamp_millis();
            let mut child = std::process::Command::new("sleep")
                .arg("1")
                .spawn()
                .unwrap();
            let after = chrono::Utc::now().timestamp_millis();
            let born = started_ms(child.id());
            let _ = child.kill();
            let _ = child.wait();
            let born = born.unwrap_or_else(|| panic!("no start time for {}", child.id()));
            assert!(
                born <= after,
                "born {born} after the spawn returned at {after}"
            );
            closest = closest.min(before.saturating_sub(born).max(0));
        }
        assert!(closest <= 30, "start times {closest} ms before the spawn");
        assert_eq!(started_ms(u32::MAX), None);
    }
}
