//! Provenance: what exactly ran, recorded with every run, because a crash count is evidence only
//! together with it.
//!
//! Two real stories made this part of the record. A stress test of an MPS race fix had been
//! changed to take a global lock around every GPU call: it "passed" by never running in
//! parallel, and its crash counts meant nothing until the original test was restored. And a
//! "with fix" configuration injected its library with `DYLD_INSERT_LIBRARIES` into a Python that
//! System Integrity Protection protects, which strips `DYLD_*`: the fix never loaded, and the run
//! looked exactly like a fix that works. So each record says:
//! - the command (argv), the working directory, the executable it resolves to and the script it
//!   runs (a file with a `#!` line, or the first file argument of an interpreter), each with the
//!   SHA-256 of its content;
//! - the git state of the working directory's repository: commit, branch, whether the tree is
//!   dirty, each modified, added, deleted or untracked file with the SHA-256 of its content now,
//!   and the SHA-256 of `git diff HEAD` (two runs with the same commit and the same diff hash ran
//!   the same tracked code);
//! - the environment variables that define a configuration (`DYLD_*`, `LD_*`, `MPS_*`,
//!   `PYTORCH_*`, `MTL_*`, `METAL_*`, `MLX_*`, `CRASHDELTA_*` and `--record-env NAME`), a value
//!   whose name looks secret (`*TOKEN*`, `*KEY*`, `*SECRET*`, `*PASSWORD*`, `*PASSWD*`,
//!   `*CREDENTIAL*`) replaced by its SHA-256, so two runs can still be compared, and a URL's
//!   password (`CRASHDELTA_HISTORY=postgres://user:PASSWORD@...`) replaced by `***`;
//! - the machine: OS and its build, kernel, hardware model, and System Integrity Protection's
//!   status where `csrutil` exists.
//!
//! Gathering happens just before the command starts (`run::watch`), so that it records the tree
//! the command was given, and every part is bounded: git ([`GIT_BUDGET`], killed with its
//! process group when it hangs), hashing (its own time and byte budget, after git is done), and
//! the host probes (their own budget). The record says what was not gathered and why. Only
//! regular files are read, without blocking or following links: a link to `/dev/zero` or to a
//! FIFO in the tree must not hang the run. git runs with `--no-optional-locks` and without the
//! file-system monitor, so it never takes the index lock from the user's own git or starts a
//! daemon.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::io::Read;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use serde::Serialize;
use sha2::{Digest, Sha256};

/// How long git may take (all its calls together).
pub const GIT_BUDGET: Duration = Duration::from_millis(400);

/// How long hashing files may take, and how many bytes it may read, per run: a 60 MB data file
/// left untracked in the tree must not cost every run of a campaign its hashing.
const HASH_BUDGET: Duration = Duration::from_millis(200);
const HASH_BYTES: u64 = 256 << 20;

/// How long `sysctl` and `csrutil` may take (macOS), apart from git's budget: SIP's state is the
/// evidence of the DYLD story, and a slow git must not cost it.
const HOST_BUDGET: Duration = Duration::from_millis(150);

/// Files larger than this are recorded with their size, not hashed (a build artefact in the
/// tree must not cost the run a minute of hashing).
const MAX_HASHED_FILE: u64 = 64 << 20;

/// At most this many changed files are listed; the count says how many there were.
const MAX_CHANGES: usize = 2000;

/// The prefixes of the variables recorded by default.
pub const RECORDED_PREFIXES: &[&str] = &[
    "DYLD_",
    "LD_",
    "MPS_",
    "PYTORCH_",
    "MTL_",
    "METAL_",
    "MLX_",
    "CRASHDELTA_",
];

/// Parts of a variable's name that mark its value as a secret.
const SECRET_WORDS: &[&str] = &["TOKEN", "KEY", "SECRET", "PASSWORD", "PASSWD", "CREDENTIAL"];

/// What to gather.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// The command, as given after `--` (empty for `diff`).
    pub argv: Vec<OsString>,
    /// The working directory it runs in.
    pub cwd: PathBuf,
    /// Variables the command gets on top of crashdelta's own environment (a configuration's).
    pub env: Vec<(OsString, OsString)>,
    /// More variables to record (`--record-env`): exact names, or `PREFIX*`.
    pub record_env: Vec<String>,
}

/// A file that ran, and its content's hash.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct FileId {
    /// Its path as resolved (through `PATH` for a bare command name).
    pub path: String,
    /// The SHA-256 of its content; `None` when it could not be read or is over the size limit.
    pub sha256: Option<String>,
    /// Its size in bytes.
    pub size: Option<u64>,
}

/// What git said about the working directory.
#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "kebab-case")]
pub enum GitState {
    /// A repository was read.
    Repository,
    /// The working directory is not in a git repository.
    NoRepository,
    /// No `git` program was found.
    GitMissing,
    /// git did not answer within the budget.
    TimedOut,
    /// git failed otherwise (the reason is in `warnings`).
    Failed,
}

/// A file that differs from the commit.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Change {
    /// The path, relative to the repository's root.
    pub path: String,
    /// `modified`, `added`, `deleted`, `renamed`, `untracked`, ... (git's status, in words).
    pub status: String,
    /// The SHA-256 of the file's content now (`None` for a deleted or unreadable file, or one
    /// over the size limit).
    pub sha256: Option<String>,
}

/// The git state of the working directory's repository.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Git {
    /// Whether there was a repository to read.
    pub state: GitState,
    /// The repository's root.
    pub root: Option<String>,
    /// The commit checked out (`None` in a repository without one).
    pub commit: Option<String>,
    /// The branch, `None` when detached.
    pub branch: Option<String>,
    /// Whether any tracked file differs from the commit, or an untracked file exists.
    pub dirty: Option<bool>,
    /// The files that differ, at most 2000.
    pub changes: Vec<Change>,
    /// How many files differ in all.
    pub changed_files: u64,
    /// The SHA-256 of `git diff HEAD` (tracked changes, staged or not).
    pub diff_sha256: Option<String>,
}

/// One recorded variable.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct EnvVar {
    /// Its name.
    pub name: String,
    /// Its value; `None` when the name looks secret.
    pub value: Option<String>,
    /// The SHA-256 of a secret-looking value, so that two runs can be compared without it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// The machine.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, Default)]
pub struct Host {
    /// The OS and its version (`macOS 15.2 Sequoia`, `Linux (Debian GNU/Linux 13)`).
    pub os: Option<String>,
    /// The OS build (`24C101`), on macOS.
    pub os_build: Option<String>,
    /// The kernel version.
    pub kernel: Option<String>,
    /// The hardware model (`Mac16,5`; on Linux the DMI product name).
    pub hardware_model: Option<String>,
    /// `csrutil status`, where it exists (macOS): whether System Integrity Protection is on,
    /// which strips `DYLD_*` variables from protected binaries.
    pub sip: Option<String>,
}

impl Git {
    /// Nothing known yet but `state`.
    fn unknown(state: GitState) -> Git {
        Git {
            state,
            root: None,
            commit: None,
            branch: None,
            dirty: None,
            changes: Vec::new(),
            changed_files: 0,
            diff_sha256: None,
        }
    }
}

/// What ran, and where.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct Provenance {
    /// The command, as given (lossily UTF-8).
    pub argv: Vec<String>,
    /// The working directory.
    pub cwd: String,
    /// The program the command resolves to (through `PATH`), and for a script its interpreter.
    pub executable: Option<FileId>,
    /// The script the command runs: the program itself when it starts with `#!`, or the first
    /// file argument of an interpreter (`python stress.py`, `bash run_tests.sh`).
    pub script: Option<FileId>,
    /// The repository's state.
    pub git: Git,
    /// The variables that define a configuration, by name.
    pub env: Vec<EnvVar>,
    /// The machine.
    pub host: Host,
    /// How long gathering took, in milliseconds.
    pub took_ms: u64,
    /// What could not be gathered, and why.
    pub warnings: Vec<String>,
}

impl Provenance {
    /// The provenance in a few labelled lines, for the footers of the human summary and the
    /// Markdown record: what ran, where, from which commit, in which configuration, on what.
    pub fn lines(&self) -> Vec<(&'static str, String)> {
        let short = |h: &Option<String>| {
            h.as_deref().map_or_else(
                || "unhashed".to_owned(),
                |h| format!("sha256 {}", h.get(..12).unwrap_or(h)),
            )
        };
        let mut out = vec![("Command", self.argv.join(" ")), ("In", self.cwd.clone())];
        if let Some(s) = &self.script {
            out.push(("Script", format!("{} ({})", s.path, short(&s.sha256))));
        }
        if let Some(e) = &self.executable {
            out.push(("Executable", format!("{} ({})", e.path, short(&e.sha256))));
        }
        let g = &self.git;
        let git = match g.state {
            GitState::Repository => {
                let commit = g.commit.as_deref().map_or("no commit yet".to_owned(), |c| {
                    format!("commit {}", c.get(..12).unwrap_or(c))
                });
                let branch = g
                    .branch
                    .as_deref()
                    .map_or(" (detached)".to_owned(), |b| format!(" on {b}"));
                let tree = match g.dirty {
                    Some(false) => ", clean".to_owned(),
                    Some(true) => {
                        let mut files: Vec<String> = g
                            .changes
                            .iter()
                            .take(5)
                            .map(|c| format!("{} ({})", c.path, c.status))
                            .collect();
                        if g.changed_files > 5 {
                            files.push(format!("{} more", g.changed_files - 5));
                        }
                        format!(", dirty: {}", files.join(", "))
                    }
                    None => String::new(),
                };
                format!("{commit}{branch}{tree}")
            }
            GitState::NoRepository => "not in a git repository".to_owned(),
            GitState::GitMissing => "git not found".to_owned(),
            GitState::TimedOut => {
                format!("git did not answer within {} ms", GIT_BUDGET.as_millis())
            }
            GitState::Failed => "git failed".to_owned(),
        };
        out.push(("Git", git));
        if !self.env.is_empty() {
            let vars: Vec<String> = self
                .env
                .iter()
                .map(|v| match (&v.value, &v.sha256) {
                    (Some(value), _) => format!("{}={value}", v.name),
                    (None, hash) => format!("{}=<secret, {}>", v.name, short(hash)),
                })
                .collect();
            out.push(("Environment", vars.join(" ")));
        }
        let h = &self.host;
        let machine: Vec<String> = [
            h.os.clone(),
            h.os_build.as_ref().map(|b| format!("build {b}")),
            h.hardware_model.clone(),
            h.sip.clone(),
        ]
        .into_iter()
        .flatten()
        .collect();
        if !machine.is_empty() {
            out.push(("Machine", machine.join(", ")));
        }
        out
    }
}

/// Gathers the provenance of `req`, within [`GIT_BUDGET`] for the programs it asks.
pub fn gather(req: &Request) -> Provenance {
    let started = Instant::now();
    let mut warnings = Vec::new();
    let argv: Vec<String> = req
        .argv
        .iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let mut budget = HashBudget::new();
    let (executable, script) = programs(req, &mut budget);
    let git = if req.cwd.is_dir() {
        git_state(
            &req.cwd,
            Instant::now() + GIT_BUDGET,
            &mut budget,
            &mut warnings,
        )
    } else {
        warnings.push(format!(
            "the working directory {} is gone or cannot be read: the repository's state is not recorded",
            req.cwd.display()
        ));
        Git::unknown(GitState::Failed)
    };
    if budget.skipped > 0 {
        warnings.push(format!(
            "{} file(s) not hashed: hashing stops after {} ms or {} MiB per run",
            budget.skipped,
            HASH_BUDGET.as_millis(),
            HASH_BYTES >> 20
        ));
    }
    let env = recorded_env(req);
    let host = host(Instant::now() + HOST_BUDGET, &mut warnings);
    Provenance {
        argv,
        cwd: req.cwd.display().to_string(),
        executable,
        script,
        git,
        env,
        host,
        took_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        warnings,
    }
}

/// The SHA-256 of `bytes`, in hex.
fn hex(bytes: &[u8]) -> String {
    let mut h = Sha256::new();
    h.update(bytes);
    crate::sha256_hex(h)
}

/// What hashing may still spend in this run.
struct HashBudget {
    deadline: Instant,
    bytes_left: u64,
    /// Files left unhashed for the budget.
    skipped: u64,
}

impl HashBudget {
    fn new() -> HashBudget {
        HashBudget {
            deadline: Instant::now() + HASH_BUDGET,
            bytes_left: HASH_BYTES,
            skipped: 0,
        }
    }
}

/// A program's identity (`follow`: through links, as `exec` goes) or a changed file's (a link is
/// hashed as its target's text, as git stores it): its size and, within the size limit and the
/// budget, the hash of its content.
fn file_id(path: &Path, follow: bool, budget: &mut HashBudget) -> FileId {
    let (size, sha256) = hash_file(path, follow, budget).unwrap_or((None, None));
    FileId {
        path: path.display().to_string(),
        sha256,
        size,
    }
}

/// The size and SHA-256 of a regular file, or of a link's text when not following links. Only a
/// regular file is read, opened without blocking (a link to a FIFO, `/dev/zero` or a terminal
/// is not read: it would never end), and only within the budget.
fn hash_file(
    path: &Path,
    follow: bool,
    budget: &mut HashBudget,
) -> Option<(Option<u64>, Option<String>)> {
    if !follow {
        let meta = std::fs::symlink_metadata(path).ok()?;
        if meta.file_type().is_symlink() {
            let target = std::fs::read_link(path).ok()?;
            let bytes = std::os::unix::ffi::OsStrExt::as_bytes(target.as_os_str());
            return Some((Some(meta.len()), Some(hex(bytes))));
        }
    }
    // The reports' own way of opening a file that may be anything: regular files only, opened
    // without blocking (and, for a changed file, not through a link).
    let open = if follow {
        crate::input::open_regular
    } else {
        crate::input::open_regular_no_link
    };
    let Ok((mut file, meta)) = open(path) else {
        return Some((None, None));
    };
    let size = meta.len();
    if size > MAX_HASHED_FILE {
        return Some((Some(size), None));
    }
    if size > budget.bytes_left || Instant::now() >= budget.deadline {
        budget.skipped += 1;
        return Some((Some(size), None));
    }
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    let mut read = 0u64;
    loop {
        let n = file.read(&mut buf).ok()?;
        if n == 0 {
            break;
        }
        h.update(buf.get(..n)?);
        read += n as u64;
        // A file that grows as it is read is still bounded by the budget.
        if read > budget.bytes_left || Instant::now() >= budget.deadline {
            budget.skipped += 1;
            budget.bytes_left = budget.bytes_left.saturating_sub(read);
            return Some((Some(size), None));
        }
    }
    budget.bytes_left = budget.bytes_left.saturating_sub(read);
    Some((Some(size), Some(crate::sha256_hex(h))))
}

/// The program `name` resolves to: a path with a `/` as it is (against `cwd`), else the first
/// executable file of that name in `PATH`.
fn resolve(
    name: &std::ffi::OsStr,
    cwd: &Path,
    path_var: Option<&std::ffi::OsStr>,
) -> Option<PathBuf> {
    let as_path = Path::new(name);
    if name.to_string_lossy().contains('/') {
        // `./run.sh` as `/repo/run.sh`: `components` drops the `.`.
        let full: PathBuf = cwd.join(as_path).components().collect();
        return full.is_file().then_some(full);
    }
    std::env::split_paths(path_var?)
        .map(|dir| cwd.join(dir).join(name))
        .find(|p| {
            use std::os::unix::fs::PermissionsExt;
            std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        })
}

/// Interpreters whose first file argument is the script they run.
fn is_interpreter(name: &str) -> bool {
    let name = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    matches!(
        name,
        "python" | "sh" | "bash" | "zsh" | "dash" | "ksh" | "node" | "ruby" | "perl" | "Rscript"
    )
}

/// The script an interpreter's arguments name: the first argument that is not an option (or an
/// option's value: `-X dev`, `-W error`), when it is a file; none after `-m`, `-c` or `-`, which
/// run a module, a string or standard input.
fn script_argument(args: &[OsString], cwd: &Path) -> Option<PathBuf> {
    let file = |a: &str| {
        let path: PathBuf = cwd.join(a).components().collect();
        path.is_file().then_some(path)
    };
    let mut args = args.iter().map(|a| a.to_string_lossy());
    while let Some(arg) = args.next() {
        match arg.as_ref() {
            // A module, a string, standard input: no script file.
            "-m" | "-c" | "-" | "-e" => return None,
            "--" => return args.next().and_then(|a| file(&a)),
            // Options of python, node and ruby that take the next word as their value.
            "-X" | "-W" | "-Q" | "-r" | "--require" => {
                args.next();
            }
            a if a.starts_with('-') => {}
            a => return file(a),
        }
    }
    None
}

/// The executable and the script the command runs.
fn programs(req: &Request, budget: &mut HashBudget) -> (Option<FileId>, Option<FileId>) {
    let Some(first) = req.argv.first() else {
        return (None, None);
    };
    let path_var = req
        .env
        .iter()
        .rev()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .or_else(|| std::env::var_os("PATH"));
    let Some(program) = resolve(first, &req.cwd, path_var.as_deref()) else {
        return (None, None);
    };
    let name = program
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let args = req.argv.get(1..).unwrap_or_default();
    // A script with a `#!` line: the script is the program; the interpreter is what executes.
    // A version manager's shim (pyenv's `python3`, asdf's, rbenv's) is such a script too, but
    // what it runs is its first file argument: that is the script then.
    if let Some(interpreter) = shebang(&program) {
        let mut words = interpreter.split_whitespace();
        let exe = match words.next() {
            Some(env) if env.ends_with("/env") => words
                .find(|w| !w.starts_with('-'))
                .and_then(|w| resolve(w.as_ref(), &req.cwd, path_var.as_deref())),
            Some(direct) => Some(PathBuf::from(direct)),
            None => None,
        };
        let script = match is_interpreter(&name)
            .then(|| script_argument(args, &req.cwd))
            .flatten()
        {
            Some(argument) => argument,
            None => program.clone(),
        };
        return (
            exe.as_deref().map(|e| file_id(e, true, budget)),
            Some(file_id(&script, true, budget)),
        );
    }
    let script = is_interpreter(&name)
        .then(|| script_argument(args, &req.cwd))
        .flatten();
    (
        Some(file_id(&program, true, budget)),
        script.as_deref().map(|s| file_id(s, true, budget)),
    )
}

/// The interpreter line of a script (`/usr/bin/env python3`), when it starts with `#!`.
fn shebang(path: &Path) -> Option<String> {
    let mut head = [0u8; 256];
    let n = std::fs::File::open(path).ok()?.read(&mut head).ok()?;
    let head = head.get(..n)?;
    let line = head.strip_prefix(b"#!")?;
    let end = line.iter().position(|&b| b == b'\n').unwrap_or(line.len());
    Some(String::from_utf8_lossy(line.get(..end)?).trim().to_owned())
}

/// How a bounded program run ended.
enum Ran {
    /// It exited with this status and output.
    Done(bool, Vec<u8>),
    /// It could not be started (`NotFound` when there is no such program).
    NotStarted(std::io::ErrorKind),
    /// It was still running at the deadline, and was killed.
    TimedOut,
}

/// Runs `cmd` until `deadline`; its standard output is read as it comes (a big `git diff` must
/// not fill the pipe and stall), then killed if still running.
fn run_bounded(mut cmd: Command, deadline: Instant) -> Ran {
    use std::os::unix::process::CommandExt;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        // Its own process group, so that a timeout kills what it started too (a wrapper's
        // children would otherwise keep the pipe open, and the run waiting).
        .process_group(0);
    let mut child = match cmd.spawn() {
        Ok(c) => c,
        Err(e) => return Ran::NotStarted(e.kind()),
    };
    let (sent, output) = std::sync::mpsc::channel();
    if let Some(mut out) = child.stdout.take() {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = out.read_to_end(&mut buf);
            let _ = sent.send(buf);
        });
    }
    let kill = |child: &mut std::process::Child| {
        if let Ok(pid) = libc::pid_t::try_from(child.id()) {
            // SAFETY: killpg(2) on the group this child leads; no memory is touched.
            unsafe { libc::killpg(pid, libc::SIGKILL) };
        }
        let _ = child.kill();
        let _ = child.wait();
    };
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break Some(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(2)),
            _ => {
                kill(&mut child);
                break None;
            }
        }
    };
    let Some(status) = status else {
        return Ran::TimedOut;
    };
    // A process that left the group may still hold the pipe: wait no longer than the deadline
    // (the reader is left to end on its own).
    let left = deadline.saturating_duration_since(Instant::now());
    match output.recv_timeout(left.max(Duration::from_millis(20))) {
        Ok(buf) => Ran::Done(status.success(), buf),
        Err(_) => Ran::TimedOut,
    }
}

/// `git ARGS` in `cwd`, never taking the index lock nor starting the file-system monitor.
fn git(cwd: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(cwd)
        .args([
            "--no-optional-locks",
            "-c",
            "core.fsmonitor=false",
            "-c",
            "core.quotePath=false",
        ])
        .args(args)
        .env("LC_ALL", "C")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE");
    cmd
}

fn text(bytes: &[u8]) -> Option<String> {
    let s = String::from_utf8_lossy(bytes).trim().to_owned();
    (!s.is_empty()).then_some(s)
}

/// The repository's state, or why there is none.
fn git_state(
    cwd: &Path,
    deadline: Instant,
    budget: &mut HashBudget,
    warnings: &mut Vec<String>,
) -> Git {
    let mut git_info = Git::unknown(GitState::Repository);
    let fail = |mut g: Git, state: GitState| {
        g.state = state;
        g
    };
    match run_bounded(git(cwd, &["rev-parse", "--show-toplevel"]), deadline) {
        Ran::Done(true, out) => git_info.root = text(&out),
        Ran::Done(false, _) => {
            // A `.git` above the working directory that git will not read is a repository it
            // refused (another user owns it: "dubious ownership"), not the absence of one.
            if let Some(repo) = cwd.ancestors().find(|d| d.join(".git").exists()) {
                warnings.push(format!(
                    "git refused the repository at {} (another user may own it: git config \
                     --global --add safe.directory {} lets git read it): its state is not \
                     recorded",
                    repo.display(),
                    repo.display()
                ));
                return fail(git_info, GitState::Failed);
            }
            return fail(git_info, GitState::NoRepository);
        }
        Ran::NotStarted(std::io::ErrorKind::NotFound) => {
            warnings.push("git was not found: the repository's state is not recorded".into());
            return fail(git_info, GitState::GitMissing);
        }
        Ran::NotStarted(kind) => {
            warnings.push(format!(
                "git could not be started ({kind}): the repository's state is not recorded"
            ));
            return fail(git_info, GitState::Failed);
        }
        Ran::TimedOut => return timed_out(git_info, warnings),
    }
    let root = git_info
        .root
        .clone()
        .map(PathBuf::from)
        .unwrap_or_else(|| cwd.to_owned());
    match run_bounded(git(cwd, &["rev-parse", "--verify", "-q", "HEAD"]), deadline) {
        Ran::Done(true, out) => git_info.commit = text(&out),
        Ran::Done(false, _) => {} // a repository without a commit yet
        Ran::TimedOut => return timed_out(git_info, warnings),
        Ran::NotStarted(_) => return fail(git_info, GitState::Failed),
    }
    if let Ran::Done(true, out) = run_bounded(
        git(cwd, &["symbolic-ref", "--short", "-q", "HEAD"]),
        deadline,
    ) {
        git_info.branch = text(&out);
    }
    let mut status_out = Vec::new();
    match run_bounded(
        git(
            cwd,
            &["status", "--porcelain=v1", "-z", "--untracked-files=all"],
        ),
        deadline,
    ) {
        Ran::Done(true, out) => status_out = out,
        Ran::TimedOut => return timed_out(git_info, warnings),
        _ => warnings.push("git status failed: whether the tree is dirty is not recorded".into()),
    }
    let status = parse_status_raw(&status_out);
    git_info.changed_files = status.len() as u64;
    git_info.dirty = Some(!status.is_empty());
    if git_info.commit.is_some() {
        match run_bounded(
            git(
                cwd,
                &["diff", "HEAD", "--no-ext-diff", "--no-textconv", "--binary"],
            ),
            deadline,
        ) {
            Ran::Done(true, out) => git_info.diff_sha256 = Some(hex(&out)),
            Ran::TimedOut => return timed_out(git_info, warnings),
            _ => warnings.push("git diff failed: the diff's hash is not recorded".into()),
        }
    }
    // Hashed after git is done, on a budget of their own: hashing never eats into git's.
    git_info.changes = status
        .into_iter()
        .take(MAX_CHANGES)
        .map(|(status, path)| {
            let full = root.join(std::ffi::OsStr::from_bytes(path));
            let sha256 = (status != "deleted")
                .then(|| file_id(&full, false, budget).sha256)
                .flatten();
            Change {
                path: String::from_utf8_lossy(path).into_owned(),
                status: status.to_owned(),
                sha256,
            }
        })
        .collect();
    git_info
}

fn timed_out(mut g: Git, warnings: &mut Vec<String>) -> Git {
    warnings.push(format!(
        "git did not answer within {} ms: the repository's state is recorded only in part",
        GIT_BUDGET.as_millis()
    ));
    g.state = GitState::TimedOut;
    g
}

/// `git status --porcelain=v1 -z` as (status in words, path) pairs. A rename's entry is followed
/// by the old path, which is skipped.
pub fn parse_status(out: &[u8]) -> Vec<(&'static str, String)> {
    parse_status_raw(out)
        .into_iter()
        .map(|(status, path)| (status, String::from_utf8_lossy(path).into_owned()))
        .collect()
}

/// As [`parse_status`], with each path as git wrote it: a name that is not UTF-8 is still the
/// file's, and is hashed as such.
fn parse_status_raw(out: &[u8]) -> Vec<(&'static str, &[u8])> {
    let mut entries = Vec::new();
    let mut fields = out.split(|&b| b == 0).filter(|f| !f.is_empty());
    while let Some(field) = fields.next() {
        let (Some(code), Some(path)) = (field.get(..2), field.get(3..)) else {
            continue;
        };
        let status = match code {
            b"??" => "untracked",
            [b'R', _] | [_, b'R'] => {
                fields.next();
                "renamed"
            }
            [b'C', _] | [_, b'C'] => {
                fields.next();
                "copied"
            }
            [b'U', _] | [_, b'U'] | b"AA" | b"DD" => "unmerged",
            [b'D', _] | [_, b'D'] => "deleted",
            [b'A', _] => "added",
            _ => "modified",
        };
        entries.push((status, path));
    }
    entries
}

/// Whether a variable's name marks its value as a secret.
pub fn looks_secret(name: &str) -> bool {
    let upper = name.to_ascii_uppercase();
    SECRET_WORDS.iter().any(|w| upper.contains(w))
}

/// `value` with the password of a URL in it (`scheme://user:PASSWORD@host`, a `password=`
/// parameter) replaced by `***`; any other value as it is.
pub fn without_url_password(value: &str) -> String {
    let Some((scheme, rest)) = value.split_once("://") else {
        return value.to_owned();
    };
    let (head, query) = match rest.split_once('?') {
        Some((h, q)) => (h, Some(q)),
        None => (rest, None),
    };
    // The user info ends at the last `@` of the authority (a raw `@` in a password is common).
    let authority = head.split('/').next().unwrap_or(head);
    let mut out = format!("{scheme}://");
    match authority.rsplit_once('@') {
        Some((info, _)) if info.contains(':') => {
            let user = info.split(':').next().unwrap_or("");
            out.push_str(user);
            out.push_str(":***");
            out.push_str(head.get(info.len()..).unwrap_or(""));
        }
        _ => out.push_str(head),
    }
    if let Some(query) = query {
        let pairs: Vec<String> = query
            .split('&')
            .map(|pair| match pair.split_once('=') {
                // The key as the server's client reads it, percent-decoded (`pass%77ord` is
                // `password` to it: review finding).
                Some((key, _)) if crate::percent_decode(key).eq_ignore_ascii_case("password") => {
                    format!("{key}=***")
                }
                _ => pair.to_owned(),
            })
            .collect();
        out.push('?');
        out.push_str(&pairs.join("&"));
    }
    out
}

/// The variables that define a configuration: crashdelta's environment with the configuration's
/// on top, those with a recorded prefix or named by `--record-env`, sorted by name.
fn recorded_env(req: &Request) -> Vec<EnvVar> {
    let mut vars: BTreeMap<String, String> = std::env::vars_os()
        .map(|(k, v)| {
            (
                k.to_string_lossy().into_owned(),
                v.to_string_lossy().into_owned(),
            )
        })
        .collect();
    for (k, v) in &req.env {
        vars.insert(
            k.to_string_lossy().into_owned(),
            v.to_string_lossy().into_owned(),
        );
    }
    let wanted = |name: &str| {
        RECORDED_PREFIXES.iter().any(|p| name.starts_with(p))
            || req.record_env.iter().any(|r| match r.strip_suffix('*') {
                Some(prefix) => name.starts_with(prefix),
                None => name == r,
            })
    };
    vars.into_iter()
        .filter(|(k, _)| wanted(k))
        .map(|(name, value)| {
            if looks_secret(&name) {
                EnvVar {
                    sha256: Some(hex(value.as_bytes())),
                    name,
                    value: None,
                }
            } else {
                EnvVar {
                    // A URL (CRASHDELTA_HISTORY's postgres://, a package index asked for) is
                    // recorded without its password.
                    value: Some(without_url_password(&value)),
                    name,
                    sha256: None,
                }
            }
        })
        .collect()
}

/// The machine: the OS from sysinfo; on macOS its build, the hardware model and SIP from
/// `sysctl` and `csrutil`; on Linux the DMI product name.
fn host(deadline: Instant, warnings: &mut Vec<String>) -> Host {
    let ask = |program: &str, args: &[&str]| {
        let mut cmd = Command::new(program);
        cmd.args(args).env("LC_ALL", "C");
        match run_bounded(cmd, deadline) {
            Ran::Done(true, out) => text(&out),
            _ => None,
        }
    };
    let mut host = Host {
        os: sysinfo::System::long_os_version(),
        kernel: sysinfo::System::kernel_version(),
        ..Host::default()
    };
    if cfg!(target_os = "macos") {
        host.os_build = ask("sysctl", &["-n", "kern.osversion"]);
        host.hardware_model = ask("sysctl", &["-n", "hw.model"]);
        if Path::new("/usr/bin/csrutil").exists() {
            host.sip = ask("/usr/bin/csrutil", &["status"]);
            if host.sip.is_none() {
                warnings.push("csrutil status gave no answer: SIP's state is not recorded".into());
            }
        }
    } else {
        host.hardware_model = std::fs::read_to_string("/sys/devices/virtual/dmi/id/product_name")
            .ok()
            .and_then(|s| text(s.as_bytes()));
    }
    host
}

/// The tracked files (under `paths`, or anywhere when empty) that differ from the commit, for
/// `--require-clean`: `Err` says why it cannot be told (no repository, no git, too slow), which
/// refuses the run too: a check that cannot be made has not passed.
pub fn unclean(cwd: &Path, paths: &[PathBuf], budget: Duration) -> Result<Vec<String>, String> {
    let deadline = Instant::now() + budget;
    // Without a commit there is nothing to be clean against; a path git does not track
    // (untracked, ignored, a typo) would be checked against nothing and pass.
    match run_bounded(git(cwd, &["rev-parse", "--verify", "-q", "HEAD"]), deadline) {
        Ran::Done(true, _) => {}
        Ran::Done(false, _) => {
            return Err(format!(
                "{} is not in a git repository with a commit",
                cwd.display()
            ));
        }
        Ran::NotStarted(_) => return Err("git was not found".into()),
        Ran::TimedOut => {
            return Err(format!(
                "git did not answer within {} ms",
                budget.as_millis()
            ));
        }
    }
    for path in paths {
        let mut cmd = git(cwd, &["ls-files", "--error-unmatch", "--"]);
        cmd.arg(path);
        match run_bounded(cmd, deadline) {
            Ran::Done(true, _) => {}
            Ran::Done(false, _) => {
                return Err(format!(
                    "{} is not a file git tracks (untracked, ignored, outside the repository, or \
                     a typo): there is nothing committed to compare it with",
                    path.display()
                ));
            }
            Ran::NotStarted(_) => return Err("git was not found".into()),
            Ran::TimedOut => {
                return Err(format!(
                    "git did not answer within {} ms",
                    budget.as_millis()
                ));
            }
        }
    }
    let mut cmd = git(
        cwd,
        &[
            "status",
            "--porcelain=v1",
            "-z",
            "--untracked-files=no",
            "--",
        ],
    );
    cmd.args(paths);
    match run_bounded(cmd, deadline) {
        Ran::Done(true, out) => Ok(parse_status(&out)
            .into_iter()
            .map(|(status, path)| format!("{path} ({status})"))
            .collect()),
        Ran::Done(false, _) => Err(format!(
            "{} is not in a git repository (or git failed there)",
            cwd.display()
        )),
        Ran::NotStarted(_) => Err("git was not found".into()),
        Ran::TimedOut => Err(format!(
            "git did not answer within {} ms",
            budget.as_millis()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_are_read_with_renames_and_spaces() {
        let out = b" M src/a b.rs\0?? new file.txt\0R  new.rs\0old.rs\0D  gone.rs\0A  added.rs\0";
        assert_eq!(
            parse_status(out),
            vec![
                ("modified", "src/a b.rs".to_owned()),
                ("untracked", "new file.txt".to_owned()),
                ("renamed", "new.rs".to_owned()),
                ("deleted", "gone.rs".to_owned()),
                ("added", "added.rs".to_owned()),
            ]
        );
        // A cut or garbled line is skipped, never a panic.
        assert_eq!(parse_status(b"M\0"), vec![]);
        // A name that is not UTF-8 is kept as git wrote it, to be hashed.
        assert_eq!(
            parse_status_raw(b"?? bad\xffname.txt\0"),
            vec![("untracked", &b"bad\xffname.txt"[..])]
        );
    }

    #[test]
    fn a_urls_password_is_not_recorded() {
        assert_eq!(
            without_url_password("postgres://ci:p@ss:w@db:5432/x?sslmode=require&password=q"),
            "postgres://ci:***@db:5432/x?sslmode=require&password=***"
        );
        for kept in ["https://pypi.org/simple", "ci@host", "a://b@c/d", "plain"] {
            assert_eq!(without_url_password(kept), kept);
        }
    }

    #[test]
    fn secret_looking_names_are_recognised() {
        for name in [
            "GITHUB_TOKEN",
            "MPS_API_KEY",
            "aws_secret_access_key",
            "DB_PASSWORD",
        ] {
            assert!(looks_secret(name), "{name}");
        }
        for name in [
            "MPS_USE_AGX_FIX",
            "DYLD_INSERT_LIBRARIES",
            "PYTORCH_ENABLE_MPS_FALLBACK",
        ] {
            assert!(!looks_secret(name), "{name}");
        }
    }

    #[test]
    fn an_interpreters_script_is_found_past_its_options() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("t.py"), "pass\n").unwrap();
        let args = |words: &[&str]| words.iter().map(OsString::from).collect::<Vec<_>>();
        let found = |words: &[&str]| script_argument(&args(words), dir.path());
        assert_eq!(found(&["-u", "t.py"]), Some(dir.path().join("t.py")));
        assert_eq!(
            found(&["-X", "dev", "-W", "error", "t.py"]),
            Some(dir.path().join("t.py"))
        );
        assert_eq!(found(&["-m", "pytest", "t.py"]), None);
        assert_eq!(found(&["-c", "print(1)"]), None);
        assert_eq!(found(&["missing.py"]), None);
    }

    #[test]
    fn interpreters_are_known_by_name() {
        for name in ["python", "python3", "python3.12", "bash", "sh"] {
            assert!(is_interpreter(name), "{name}");
        }
        assert!(!is_interpreter("pytest"));
    }
}
