//! The user's command as a process: why it could not be started, how it ended, and its process
//! tree, recorded while it runs (starting it and waiting for it is `supervise.rs`'s).

use std::collections::BTreeSet;
use std::ffi::OsStr;
use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use sysinfo::{ProcessRefreshKind, ProcessesToUpdate, System};

use super::attribution::{Outside, Tree};
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
    thread: Option<JoinHandle<()>>,
}

impl PidRecorder {
    pub fn start(root: u32, every: Duration) -> PidRecorder {
        let stop = Arc::new(AtomicBool::new(false));
        let pids = Arc::new(Mutex::new(Tree {
            pids: BTreeSet::from([root]),
            ..Tree::default()
        }));
        let (stop2, pids2) = (stop.clone(), pids.clone());
        let thread = std::thread::spawn(move || {
            let mut system = System::new();
            while !stop2.load(Ordering::Relaxed) {
                record_tree(&mut system, &pids2);
                std::thread::sleep(every);
            }
        });
        PidRecorder {
            stop,
            pids,
            thread: Some(thread),
        }
    }

    /// One more look, then stop; returns every pid seen. The last look catches a descendant
    /// started after the poller's last round that is still alive (one that was its own parent's
    /// child while the parent lives).
    pub fn finish(mut self) -> Tree {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        record_tree(&mut System::new(), &self.pids);
        self.pids.lock().map(|p| p.clone()).unwrap_or_default()
    }

    pub fn snapshot(&self) -> Tree {
        self.pids.lock().map(|p| p.clone()).unwrap_or_default()
    }
}

fn record_tree(system: &mut System, tree: &Mutex<Tree>) {
    system.refresh_processes_specifics(ProcessesToUpdate::All, true, ProcessRefreshKind::nothing());
    let Ok(mut tree) = tree.lock() else {
        return;
    };
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
    for (pid, process) in system.processes() {
        let pid = pid.as_u32();
        if tree.pids.contains(&pid) {
            // A pid first seen outside and now inside was reused by the run: inside wins.
            tree.outside.remove(&pid);
        } else {
            tree.outside.insert(
                pid,
                Outside {
                    parent: process.parent().map(|p| p.as_u32()),
                    start_secs: process.start_time(),
                },
            );
        }
    }
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
        let recorder = PidRecorder::start(child.id(), Duration::from_millis(50));
        std::thread::sleep(Duration::from_millis(300));
        let pids = recorder.finish().pids;
        let _ = child.wait();
        assert!(pids.contains(&child.id()));
        assert!(
            pids.len() >= 3,
            "expected the shell, its sleep and the inner shell: {pids:?}"
        );
    }
}
