//! Python's evidence: faulthandler dumps, pytest, pytest-xdist, unittest.
//!
//! Everything here was read off real runs (`testdata/testlogs/python/`, recorded with
//! `suite/record.sh`) and published pastes, not off documentation. What they print:
//!
//! - **faulthandler** (on under pytest by default, `python -X faulthandler`,
//!   `PYTHONFAULTHANDLER=1`): `Fatal Python error: Segmentation fault` (or `Aborted`,
//!   `Bus error`, `Floating point exception`, `Illegal instruction`), usually a blank line, then
//!   one block per thread: `Thread 0x... (most recent call first):` for the others and
//!   `Current thread 0x... (most recent call first):` for the one that crashed (PyPy and
//!   single-thread dumps print `Stack (most recent call first):`), each followed by frames
//!   `  File "x.py", line 1008 in test_out` (`line ???`, `  <no Python frame>`, `  ...` when cut),
//!   and since Python 3.11 `Extension modules: numpy..., torch._C, ... (total: 42)` as the last
//!   line. The dump is written straight to file descriptor 2, so it lands in the middle of
//!   whatever line the runner had begun: `tests/test_mps.py ..Fatal Python error: ...` (pytest),
//!   `tests/x.py::TestMPS::test_gather Fatal Python error: ...` (`pytest -v`), `test_gather
//!   (mod.Class.test_gather) ... Fatal Python error: ...` (`unittest -v`). That prefix names the
//!   test.
//! - **pytest-xdist** runs tests in worker processes whose stderr is the controller's: a
//!   worker's dump arrives with no `[gwN]` mark, and under `-v` the node id in front of it is the
//!   test the controller last *announced* on some worker, not the one that crashed (the recorded
//!   `-n 4` run shows both dumps behind the wrong test). The worker is named only afterwards:
//!   `[gw1] node down: Not properly terminated`, `replacing crashed worker gw1`, under `-v`
//!   `[gw1] [ 85%] FAILED tests/test_ops.py::test_bucketize`, and in the summary
//!   `worker 'gw1' crashed while running 'tests/test_ops.py::test_bucketize'` and
//!   `FAILED tests/test_ops.py::test_bucketize - worker 'gw1' crashed while running ...`. So in an
//!   xdist session dumps are held until a worker's crash names its test, and joined to it by the
//!   stack (the frame of that test's file and function), which does not depend on the order in
//!   which two crashing workers' output interleaves. A command may run several sessions
//!   (`pytest -n 2 a/; pytest -v b/`): each `=== test session starts ===` starts afresh, as
//!   worker names repeat from one session to the next.
//! - **unittest** does not turn faulthandler on: without it the output just stops after
//!   `test_gather (mod.Class.test_gather) ... `; that open test is evidence too, at the end.
//!
//! - **Two pipes instead of a terminal**: pytest writes its node id to stdout, faulthandler to
//!   fd 2, so read apart the dump does not share a line with the test it interrupted. pytest's
//!   unfinished line (a lone node id, a progress line) then arrives as a line of its own, before
//!   or after the dump, and is read as the dump's prefix.
//!
//! One recogniser reads all of it, so that one crash makes one [`Evidence`]: the dump, the
//! runner's name for the test and the xdist worker are parts of the same story.

use super::{
    Evidence, Interest, Line, MAX_LINES, PyFrame, Recognizer, Runner, Stream, trim_blank_start,
};
use chrono::{DateTime, Utc};
use memchr::memmem::Finder;
use regex::Regex;
use std::sync::LazyLock;

/// The Python recognisers: one that reads faulthandler dumps with whatever pytest,
/// pytest-xdist or unittest printed around them.
pub fn recognizers() -> Vec<Box<dyn Recognizer>> {
    vec![Box::new(PythonRecognizer::default())]
}

/// A built-in pattern: a bad one is a bug caught by the first test that reads a line.
fn pattern(p: &str) -> Regex {
    Regex::new(p).unwrap_or_else(|e| panic!("built-in pattern: {e}"))
}

/// The start of a dump, anywhere on the line (it interrupts the runner's own line).
static FATAL: LazyLock<Regex> = LazyLock::new(|| pattern(r"Fatal Python error: (.*)$"));
/// A thread block's header: `Current thread 0x... (most recent call first):`, `Thread 0x...`.
static THREAD: LazyLock<Regex> = LazyLock::new(|| {
    pattern(r"^(Current thread|Thread) (0x[0-9a-fA-F]+)\b.*\(most recent call first[^)]*\):")
});
/// A single stack without thread ids (`faulthandler.dump_traceback(all_threads=False)`, PyPy).
static STACK: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^Stack \(most recent call first[^)]*\):"));
/// Python 3.14's native stack after the Python one: read as part of the dump, not as frames.
static C_STACK: LazyLock<Regex> = LazyLock::new(|| pattern(r"^Current thread's C stack trace"));
/// A frame. Pastes sometimes lose the indentation, so it is optional.
static FRAME: LazyLock<Regex> =
    LazyLock::new(|| pattern(r#"^\s*File "(.*)", line (\d+|\?\?\?) in (.*?)\s*$"#));
/// A line that belongs to a thread block without being a frame.
static BLOCK_NOTE: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^\s*(<no Python frame>|\.\.\.|<.*>)\s*$"));
/// Lines of a dump outside the thread blocks (`Python runtime state: initialized`).
static DUMP_NOTE: LazyLock<Regex> = LazyLock::new(|| {
    pattern(r"^(Python runtime state: |Garbage-collecting|<Cannot show all threads)")
});
/// Python 3.11's list of loaded extension modules: the last line of a dump.
static EXTENSIONS: LazyLock<Regex> = LazyLock::new(|| pattern(r"^Extension modules: "));

/// `pytest -v`'s node id before the dump (`tests/x.py::Class::test[param a]`), without what
/// may follow it (the `<- base.py` pytest adds for an inherited test, output under `-s`).
/// Parameters are the one place a node id has spaces.
static NODE_ID: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^(\S+?\.py::[^\s\[]+(?:\[.*\])?)(?:\s.*)?$"));
/// A `-v` node id alone: the test has started and has no outcome yet.
static LONE_NODE_ID: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^\S+?\.py::[^\s\[]+(?:\[.*\])?$"));
/// A finished pytest progress line (`tests/x.py ..F.  [ 50%]`).
static PYTEST_RESULTS: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^\S+\.py [.FEsxX]+\s+\[\s*\d+%\]$"));
/// Plain pytest's progress line before the dump: the file and the results so far.
static PROGRESS_FILE: LazyLock<Regex> = LazyLock::new(|| pattern(r"^(\S+\.py)(?:\s+[.FEsxX]*)?$"));
/// `unittest -v`'s line for a test that has started: `test_x (mod.Class.test_x) ... ` (Python
/// ≥ 3.11) or `test_x (mod.Class) ... ` (before), with the outcome after it when there is one.
static UNITTEST: LazyLock<Regex> = LazyLock::new(|| pattern(r"^(\w+) \(([\w.]+)\) \.\.\.(.*)$"));
/// A unittest outcome printed on a line of its own (the test printed something in between).
static UNITTEST_OUTCOME: LazyLock<Regex> = LazyLock::new(|| {
    pattern(r"^(ok|FAIL|ERROR|skipped\b.*|expected failure|unexpected success)$|^Ran \d+ tests?")
});
/// pytest's session header: the run is pytest's.
static PYTEST_HEADER: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^=+ test session starts =+$|^platform \S+ -- Python \S+, pytest-"));
/// pytest-xdist's session lines: the run has workers.
static XDIST_SESSION: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"^created: \d+/\d+ workers?|^\d+ workers? \[\d+ items?\]|^bringing up nodes\.\.\.|^scheduling tests via |\[gw\d+\]",
    )
});
/// A worker died: `[gw1] node down: Not properly terminated` (after progress dots, at times).
static NODE_DOWN: LazyLock<Regex> = LazyLock::new(|| pattern(r"\[(gw\d+)\] node down: "));
/// `replacing crashed worker gw1`, `worker gw2 crashed and worker restarting disabled`.
static REPLACING: LazyLock<Regex> = LazyLock::new(|| {
    pattern(
        r"(?i)replacing crashed worker (gw\d+)|worker (gw\d+) crashed and worker restarting disabled",
    )
});
/// `-v`'s report of the test a worker was running: `[gw1] [ 85%] FAILED tests/x.py::test`.
static WORKER_FAILED: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"\[(gw\d+)\] (?:\[\s*\d+%\] )?FAILED (\S+)"));
/// The summary's `worker 'gw1' crashed while running 'tests/x.py::test'` (older xdist: `Worker`).
static CRASHED_WHILE: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"(?i)^worker '?(gw\d+)'? crashed while running '(.+)'\s*$"));
/// The short summary's `FAILED tests/x.py::test - worker 'gw1' crashed while running 'tes...`:
/// the node id in front is whole even when the message is cut.
static SUMMARY_CRASHED: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"^FAILED (\S+) - (?i:worker) '(gw\d+)' crashed while running"));
/// A line the xdist controller prints between a worker's dump lines (its progress, a node id it
/// announces): it does not end the dump.
static XDIST_NOISE: LazyLock<Regex> =
    LazyLock::new(|| pattern(r"\[gw\d+\]|^\S+\.py::\S+\s*$|^[.FEsxX]+\s*(?:\[\s*\d+%\])?$"));

/// The most dumps an xdist session holds while waiting for a worker's crash to name its test;
/// past that the oldest is given up as evidence on its own (bounded memory on a flood of dumps).
const MAX_PENDING: usize = 64;
/// The most crashed workers remembered.
const MAX_DOWN: usize = 256;
/// The most thread blocks read from one dump (faulthandler prints at most 100); past that,
/// frames go to the last block kept, which holds at most [`MAX_LINES`].
const MAX_THREADS: usize = 128;

/// One thread block of a dump.
#[derive(Debug, Clone)]
struct ThreadBlock {
    /// `Current thread 0x...`, `Thread 0x...`; `None` for `Stack (most recent call first):`.
    header: Option<String>,
    /// This is the thread that crashed (`Current thread`, or the only `Stack`).
    current: bool,
    /// Python frames (a C stack block keeps none).
    frames: Vec<PyFrame>,
    /// Frames are read into this block (not a C stack).
    python: bool,
}

/// A faulthandler dump being read or read.
#[derive(Debug, Clone)]
struct Dump {
    /// When its first line arrived.
    at: DateTime<Utc>,
    /// What stood before `Fatal Python error:` on its line, trimmed; or the runner's unfinished
    /// line from the other stream (see [`PythonRecognizer::feed`]).
    prefix: String,
    /// The stream the dump came on.
    stream: Stream,
    /// `Segmentation fault`, `Aborted`.
    signal: String,
    /// The lines as printed.
    lines: Vec<String>,
    /// The thread blocks, in order.
    threads: Vec<ThreadBlock>,
    /// `Extension modules:` was read: the dump is over.
    done: bool,
}

impl Dump {
    /// Starts a thread block, unless the dump already has [`MAX_THREADS`].
    fn push_block(&mut self, block: ThreadBlock) {
        if self.threads.len() < MAX_THREADS {
            self.threads.push(block);
        }
    }

    /// Keeps a line of the dump, up to [`MAX_LINES`].
    fn push_line(&mut self, text: &str) {
        if self.lines.len() < MAX_LINES {
            self.lines.push(text.to_string());
        }
    }

    /// The crashing thread's block: `Current thread`, else a lone `Stack` block.
    fn crashing(&self) -> Option<&ThreadBlock> {
        self.threads.iter().find(|t| t.current)
    }

    /// The frames a test is looked for in: the crashing thread's; without a crashing thread,
    /// those of the one thread that has a test frame, if only one has.
    fn test_frames(&self) -> Option<&[PyFrame]> {
        if let Some(t) = self.crashing() {
            return Some(&t.frames);
        }
        let mut found = self
            .threads
            .iter()
            .filter(|t| test_frame(&t.frames).is_some());
        let first = found.next()?;
        found.next().is_none().then_some(first.frames.as_slice())
    }

    /// The test function on the stack, as `(file, function)`: the outermost frame of the
    /// crashing thread in a test file (`test_*.py`, `*_test.py`) whose function is a test
    /// (`test`, `test_x`, `testX`). Without a crashing thread, the one thread that has such a
    /// frame, if only one has.
    fn stack_test(&self) -> Option<(&str, &str)> {
        test_frame(self.test_frames()?)
    }

    /// How surely this dump's stack runs the pytest node `node_id`, looking at every frame of
    /// the crashing thread, not only the test frame (a test may call a helper named
    /// `test_*`, or run code of another test):
    /// - [`EXACT_OUTERMOST`]: the outermost test frame (the one pytest called) is the node's
    ///   file and function;
    /// - [`EXACT`]: another frame is the node's file and function (the node's test is called
    ///   by another test-named function, or runs another test's code);
    /// - [`TEMPLATE`]: a test function of the node's file starts the node's function name (a
    ///   test generated from a template: PyTorch's `test_out` runs
    ///   `TestCommonMPS::test_out_bucketize_mps_float32`);
    /// - [`INHERITED`]: the node's function, in another test file (a test inherited from a
    ///   base class defined there; as weak as it sounds: taken only once no better dump can
    ///   come);
    /// - 0 otherwise.
    fn match_score(&self, node_id: &str) -> u8 {
        let Some(frames) = self.test_frames() else {
            return 0;
        };
        // Parameters (`[a::b]`) may hold anything; the file and function are before them.
        let base = node_id.split('[').next().unwrap_or_default();
        let node_file = base.split("::").next().unwrap_or_default();
        let node_function = base.rsplit("::").next().unwrap_or_default();
        if node_function.is_empty() {
            return 0;
        }
        let exact = |f: &PyFrame| f.function == node_function && same_file(&f.file, node_file);
        if test_frame(frames)
            .is_some_and(|(file, function)| function == node_function && same_file(file, node_file))
        {
            EXACT_OUTERMOST
        } else if frames.iter().any(exact) {
            EXACT
        } else if frames.iter().any(|f| {
            is_test_function(&f.function)
                && same_file(&f.file, node_file)
                && node_function
                    .strip_prefix(f.function.as_str())
                    .is_some_and(|rest| rest.starts_with('_'))
        }) {
            TEMPLATE
        } else if frames
            .iter()
            .any(|f| f.function == node_function && is_test_file(&f.file))
        {
            INHERITED
        } else {
            0
        }
    }
}

/// [`Dump::match_score`]'s ranks, best first.
const EXACT_OUTERMOST: u8 = 4;
const EXACT: u8 = 3;
const TEMPLATE: u8 = 2;
const INHERITED: u8 = 1;

/// The outermost frame that is clearly a test function in a test file: the one the runner
/// called (further in, a test may call a helper named `test_*`, or another test's code).
fn test_frame(frames: &[PyFrame]) -> Option<(&str, &str)> {
    frames
        .iter()
        .rev()
        .find(|f| is_test_file(&f.file) && is_test_function(&f.function))
        .map(|f| (f.file.as_str(), f.function.as_str()))
}

/// `test_x.py`, `x_test.py`, `test.py`, `tests.py`: pytest's and unittest's default patterns.
fn is_test_file(path: &str) -> bool {
    let base = path.rsplit(['/', '\\']).next().unwrap_or(path);
    let Some(stem) = base.strip_suffix(".py") else {
        return false;
    };
    stem.starts_with("test") || stem.ends_with("_test")
}

/// `test`, `test_out`, `testGather`: not `tests_helper`... but also not `testing`.
fn is_test_function(name: &str) -> bool {
    match name.strip_prefix("test") {
        Some(rest) => rest
            .chars()
            .next()
            .is_none_or(|c| c == '_' || c.is_ascii_uppercase() || c.is_ascii_digit()),
        None => false,
    }
}

/// Whether the frame's `file` (often absolute) is the node id's `node_file` (relative to the
/// rootdir): equal, or ending in it at a path separator.
fn same_file(file: &str, node_file: &str) -> bool {
    if node_file.is_empty() {
        return false;
    }
    let file = file.replace('\\', "/");
    let node_file = node_file.replace('\\', "/");
    file == node_file
        || file
            .strip_suffix(node_file.as_str())
            .is_some_and(|head| head.ends_with('/'))
}

/// A worker that crashed, waiting for its test and its dump.
#[derive(Debug, Clone)]
struct Down {
    worker: String,
    at: DateTime<Utc>,
    test: Option<String>,
    lines: Vec<String>,
    emitted: bool,
    /// The kinds of xdist's lines read about this crash ([`NODE_DOWN_LINE`]...): xdist prints
    /// each once per crash, so a second line of a kind is about a later crash of a worker with
    /// the same name (another session: worker names start again at `gw0`).
    seen: u8,
}

/// `[gwN] node down: ...`.
const NODE_DOWN_LINE: u8 = 1;
/// `replacing crashed worker gwN`, `worker gwN crashed and worker restarting disabled`.
const REPLACING_LINE: u8 = 2;
/// `-v`'s `[gwN] [ 85%] FAILED tests/x.py::test`.
const FAILED_LINE: u8 = 4;
/// `worker 'gwN' crashed while running 'tests/x.py::test'`.
const CRASHED_WHILE_LINE: u8 = 8;
/// The short summary's `FAILED tests/x.py::test - worker 'gwN' crashed while running ...`.
const SUMMARY_LINE: u8 = 16;

/// The one Python recogniser (see the module essay).
#[derive(Debug, Default)]
pub struct PythonRecognizer {
    /// The dump being read.
    dump: Option<Dump>,
    /// Seen pytest's header.
    pytest: bool,
    /// Seen pytest-xdist's workers.
    xdist: bool,
    /// Dumps of an xdist session not yet joined with a crashed worker.
    pending: Vec<Dump>,
    /// Crashed xdist workers, in the order they went down.
    down: Vec<Down>,
    /// unittest's test that started and has not printed an outcome: `(id, at, line)`.
    unittest_open: Option<(String, DateTime<Utc>, String)>,
    /// Outside xdist, pytest's last unfinished line, as a line of its own: a `-v` node id with
    /// no outcome yet, or a progress line (`tests/x.py ..`). When stdout and stderr are read
    /// apart, this is what the dump would have interrupted on a terminal.
    pytest_open: Option<String>,
    /// Lines of the other stream that came while a dump was read, to be read after it.
    deferred: Vec<Line>,
    /// A dump that has ended, waiting for pytest's unfinished line from the other stream (see
    /// [`PythonRecognizer::end_dump`]).
    held: Option<Dump>,
}

impl Recognizer for PythonRecognizer {
    fn feed(&mut self, line: &Line) -> Vec<Evidence> {
        let mut out = Vec::new();
        self.feed_into(line, &mut out);
        out
    }

    /// Outside a dump, a line matters only through a literal each of `session_line`'s patterns
    /// needs; an open unittest test ends on any outcome line, so it reads every line then.
    fn interest(&self) -> Option<Interest> {
        Some(Interest {
            literals: &[
                "fatal python error: ",
                // PYTEST_HEADER's `test session starts` (see `Interest::literals`)
                "session starts",
                "platform ",
                // XDIST_SESSION (`N workers [M items]` holds "worker"), NODE_DOWN,
                // WORKER_FAILED, REPLACING, CRASHED_WHILE, SUMMARY_CRASHED
                "[gw",
                "worker",
                "created: ",
                "bringing up nodes",
                "scheduling tests via ",
                "] node down: ",
                // unittest's started test (UNITTEST)
                ") ...",
            ],
            // pytest's node ids and progress lines (pytest_open): `.py` in the first word.
            start: Some(|text| has_py(first_word(trim_blank_start(text)))),
        })
    }

    fn busy(&self) -> bool {
        self.dump.is_some() || self.unittest_open.is_some() || self.held.is_some()
    }

    /// None of the literals: only the pytest node id or progress line at its start can matter
    /// (the `-v` line of every test that passed, millions of them in a big run).
    fn feed_start_only(&mut self, line: &Line) -> Vec<Evidence> {
        if self.busy() {
            return self.feed(line);
        }
        // `) ...`, unittest's mark, is one of the literals: not on this line.
        self.pytest_line(&line.text, false);
        Vec::new()
    }

    fn finish(&mut self) -> Vec<Evidence> {
        let mut out = Vec::new();
        if self.dump.is_some() {
            self.end_dump(&mut out);
        }
        self.replay(&mut out);
        if self.dump.is_some() {
            self.end_dump(&mut out);
        }
        self.release_held(&mut out);
        self.finish_session(&mut out);
        out
    }
}

/// The most lines of the other stream held while a dump is read (see
/// [`PythonRecognizer::feed_into`]).
const MAX_DEFERRED: usize = 256;

impl PythonRecognizer {
    fn feed_into(&mut self, line: &Line, out: &mut Vec<Evidence>) {
        let text = line.text.as_str();
        if let Some(held) = self.held.as_mut()
            && held.stream != line.stream
        {
            if interrupted_node_line(text) {
                held.prefix = text.trim().to_string();
                self.release_held(out);
                return;
            }
            self.release_held(out);
        }
        if let Some(dump) = self.dump.as_mut() {
            if line.stream != dump.stream {
                // Read apart, stdout and stderr interleave as the two readers happen to run:
                // pytest's node id on stdout (unfinished: no newline until the test ends, so it
                // is handed over only when the process dies and the pipe closes) may come
                // before the dump, in the middle of it or after it. A line of the other stream
                // neither ends the dump nor is lost: the runner's unfinished line is the dump's
                // prefix (what it interrupted on a terminal); the rest is read once the dump is
                // over.
                if !self.xdist && dump.prefix.is_empty() && unfinished_runner_line(text) {
                    dump.prefix = text.trim().to_string();
                    return;
                }
                if self.deferred.len() < MAX_DEFERRED {
                    self.deferred.push(line.clone());
                    return;
                }
                // That much of the other stream: the dump is over, whatever follows it.
                self.end_dump(out);
                self.replay(out);
            } else {
                if self.continue_dump(text, line.at, out) {
                    return;
                }
                self.end_dump(out);
                self.replay(out);
            }
            // This line is not the dump's: read it as any other below.
        }
        if let Some(m) = has(text, &FATAL_MARK)
            .then(|| FATAL.captures(text))
            .flatten()
        {
            let start = m.get(0).map_or(0, |g| g.start());
            let prefix = text.get(..start).unwrap_or_default().trim().to_string();
            // Two dumps racing on one terminal can garble the line (`Fatal Python error: Fatal
            // Python error: Segmentation fault...`): the error is what follows the last mark.
            let tail = m.get(1).map_or("", |g| g.as_str());
            let signal = tail
                .rsplit("Fatal Python error: ")
                .next()
                .unwrap_or(tail)
                .trim()
                .to_string();
            // The runner's unfinished line, read apart before the dump, stands in for the prefix.
            let names_test = prefix_test(&prefix).is_some() || PROGRESS_FILE.is_match(&prefix);
            let prefix = match self.pytest_open.take() {
                Some(open) if !names_test && !self.xdist => open,
                _ => prefix,
            };
            self.release_held(out);
            let mut dump = Dump {
                at: line.at,
                prefix,
                stream: line.stream,
                signal,
                lines: Vec::new(),
                threads: Vec::new(),
                done: false,
            };
            dump.push_line(text);
            self.dump = Some(dump);
            return;
        }
        self.session_line(text, line.at, out);
    }

    /// Reads the other stream's lines held while a dump was read.
    fn replay(&mut self, out: &mut Vec<Evidence>) {
        for line in std::mem::take(&mut self.deferred) {
            self.feed_into(&line, out);
        }
    }

    /// The output has ended: what the session still holds open.
    fn finish_session(&mut self, out: &mut Vec<Evidence>) {
        // First every worker whose test has a dump that surely runs it, so that a weaker
        // match below never takes a dump another worker's test runs for sure.
        self.try_join(out);
        // Workers whose crash never named a test (the run was cut short before the summary):
        // the worker is still worth saying. Its dump is the oldest one held that was printed
        // before the worker went down (a worker dumps, then dies, then is reported down); the
        // test is then the one on that dump's stack.
        for i in 0..self.down.len() {
            if let Some(mut d) = self.down.get(i).filter(|d| !d.emitted).cloned() {
                let dump = match self.pending.iter().position(|p| p.at <= d.at) {
                    Some(index) if d.test.is_none() => Some(self.pending.remove(index)),
                    _ => self.take_dump_for(d.test.as_deref(), true),
                };
                let inferred = d.test.is_none();
                if inferred {
                    d.test = dump
                        .as_ref()
                        .and_then(|p| p.stack_test())
                        .map(|(file, function)| format!("{file}::{function}"));
                }
                let mut e = xdist_evidence(&d, dump);
                e.test_inferred = inferred && e.test.is_some();
                out.push(e);
                if let Some(d) = self.down.get_mut(i) {
                    d.emitted = true;
                }
            }
        }
        for dump in std::mem::take(&mut self.pending) {
            out.push(self.dump_evidence(dump, Runner::PytestXdist, None));
        }
        if let Some((test, at, text)) = self.unittest_open.take() {
            out.push(Evidence {
                test: Some(test),
                lines: vec![text],
                ..Evidence::new(Runner::Unittest, at)
            });
        }
    }

    /// pytest's `=== test session starts ===`: a new session (a script may run several in one
    /// command). What the last one holds is evidence now, and nothing of it carries over: its
    /// crashed workers (the new session's workers take the same names again), its dumps
    /// waiting for a worker, whether it ran workers at all.
    fn new_session(&mut self, out: &mut Vec<Evidence>) {
        self.release_held(out);
        self.finish_session(out);
        self.down.clear();
        self.pending.clear();
        self.xdist = false;
        self.pytest_open = None;
    }

    /// Reads `text` into the open dump if it belongs there; `false` when the dump has ended.
    fn continue_dump(&mut self, text: &str, at: DateTime<Utc>, out: &mut Vec<Evidence>) -> bool {
        let xdist = self.xdist;
        let Some(dump) = self.dump.as_mut() else {
            return false;
        };
        if dump.done || FATAL.is_match(text) {
            return false;
        }
        let in_block = dump.threads.last().is_some();
        if text.trim().is_empty() {
            dump.push_line(text);
            return true;
        }
        if let Some(m) = THREAD.captures(text) {
            let kind = m.get(1).map_or("", |g| g.as_str());
            let id = m.get(2).map_or("", |g| g.as_str());
            dump.push_block(ThreadBlock {
                header: Some(format!("{kind} {id}")),
                current: kind == "Current thread",
                frames: Vec::new(),
                python: true,
            });
            dump.push_line(text);
            return true;
        }
        if STACK.is_match(text) {
            dump.push_block(ThreadBlock {
                header: None,
                current: true,
                frames: Vec::new(),
                python: true,
            });
            dump.push_line(text);
            return true;
        }
        if C_STACK.is_match(text) {
            dump.push_block(ThreadBlock {
                header: None,
                current: false,
                frames: Vec::new(),
                python: false,
            });
            dump.push_line(text);
            return true;
        }
        if EXTENSIONS.is_match(text) {
            dump.push_line(text);
            dump.done = true;
            return true;
        }
        if DUMP_NOTE.is_match(text) {
            dump.push_line(text);
            return true;
        }
        if in_block {
            if let Some(m) = FRAME.captures(text) {
                let frame = PyFrame {
                    file: m.get(1).map_or("", |g| g.as_str()).to_string(),
                    line: m.get(2).and_then(|g| g.as_str().parse().ok()),
                    function: m.get(3).map_or("", |g| g.as_str()).to_string(),
                };
                if let Some(block) = dump.threads.last_mut().filter(|b| b.python)
                    && block.frames.len() < MAX_LINES
                {
                    block.frames.push(frame);
                }
                dump.push_line(text);
                return true;
            }
            if BLOCK_NOTE.is_match(text)
                || (text.starts_with("  ") && dump.threads.last().is_some_and(|b| !b.python))
            {
                dump.push_line(text);
                return true;
            }
        }
        if xdist && XDIST_NOISE.is_match(text) {
            // Another process's line in the middle of a worker's dump: the controller's. It is
            // read as the controller's, and the dump goes on.
            self.session_line(text, at, out);
            return true;
        }
        false
    }

    /// The open dump is over: evidence now, or held for its xdist worker.
    fn end_dump(&mut self, out: &mut Vec<Evidence>) {
        let Some(dump) = self.dump.take() else {
            return;
        };
        if self.xdist {
            self.pending.push(dump);
            // A worker may already have been named (its crash line came first).
            self.try_join(out);
            self.pending_overflow(out);
            return;
        }
        // pytest's node id is on stdout with no newline until the test ends: when the process
        // dies it comes only as stdout closes, and another line on the dump's stream (a shell's
        // `Segmentation fault`, a wrapper's `echo`) may end the dump before it. The dump waits
        // for the next line of the other stream, or the end (review finding: the test was then
        // named from the stack, without its class).
        if self.pytest
            && dump.prefix.is_empty()
            && self.unittest_open.is_none()
            && self.held.is_none()
        {
            self.held = Some(dump);
            return;
        }
        self.emit_dump(dump, out);
    }

    /// The dump held for pytest's unfinished line, as evidence now.
    fn release_held(&mut self, out: &mut Vec<Evidence>) {
        if let Some(dump) = self.held.take() {
            self.emit_dump(dump, out);
        }
    }

    /// A dump outside xdist, as evidence.
    fn emit_dump(&mut self, dump: Dump, out: &mut Vec<Evidence>) {
        // A unittest test that began on a line of its own (it printed something before it
        // crashed, so the dump starts on a fresh line): that is the test, unless the dump's own
        // line names one.
        let open = self.unittest_open.take().map(|(test, _, _)| test);
        let prefix_id = prefix_test(&dump.prefix);
        let runner = match (&prefix_id, &open) {
            (None, Some(_)) => Runner::Unittest,
            _ => self.runner_of(&dump),
        };
        let mut e = self.dump_evidence(dump, runner, None);
        if prefix_id.is_none()
            && let Some(test) = open
        {
            e.test = Some(test);
            e.test_inferred = false;
        }
        out.push(e);
    }

    /// Who printed a dump outside xdist.
    fn runner_of(&self, dump: &Dump) -> Runner {
        if UNITTEST.is_match(&dump.prefix) {
            return Runner::Unittest;
        }
        let pytest_frames = dump
            .threads
            .iter()
            .flat_map(|t| &t.frames)
            .any(|f| f.file.contains("_pytest/") || f.file.contains("_pytest\\"));
        if self.pytest
            || pytest_frames
            || NODE_ID.is_match(&dump.prefix)
            || PROGRESS_FILE.is_match(&dump.prefix)
        {
            return Runner::Pytest;
        }
        let unittest_frames =
            dump.threads.iter().flat_map(|t| &t.frames).any(|f| {
                f.file.ends_with("unittest/case.py") || f.file.ends_with("unittest\\case.py")
            });
        if unittest_frames {
            Runner::Unittest
        } else {
            Runner::Faulthandler
        }
    }

    /// The evidence of one dump; the test from the line it interrupted, else from its stack.
    fn dump_evidence(&self, dump: Dump, runner: Runner, worker: Option<String>) -> Evidence {
        let (test, test_inferred) = if runner == Runner::PytestXdist {
            // xdist's prefix is another worker's announcement; only the stack is the worker's.
            let test = dump.stack_test().map(|(f, func)| format!("{f}::{func}"));
            let inferred = test.is_some();
            (test, inferred)
        } else {
            test_of(&dump)
        };
        let crashing = dump.crashing();
        Evidence {
            runner,
            test,
            test_inferred,
            worker,
            pid: None,
            program: None,
            signal: Some(dump.signal.clone()).filter(|s| !s.is_empty()),
            thread: crashing.and_then(|t| t.header.clone()),
            python_stack: crashing.map(|t| t.frames.clone()).unwrap_or_default(),
            at: dump.at,
            lines: dump.lines,
        }
    }

    /// A line outside any dump: the session's headers, xdist's crash lines, unittest's.
    fn session_line(&mut self, text: &str, at: DateTime<Utc>, out: &mut Vec<Evidence>) {
        // Each pattern is tried only when the line holds a literal it needs: this runs on every
        // line a test run prints (100 MB of output is millions of lines), and almost none of
        // them is about a crash.
        if (text.starts_with('=') || text.starts_with("platform ")) && PYTEST_HEADER.is_match(text)
        {
            if text.starts_with('=') {
                self.new_session(out);
            }
            self.pytest = true;
        }
        let gw = has(text, &GW_MARK);
        if xdist_hint(text, gw) && XDIST_SESSION.is_match(text) {
            self.xdist = true;
        }
        let unittest_hint = is_unittest_hint(text);
        self.pytest_line(text, unittest_hint);
        if let Some(m) = (unittest_hint && unittest_shape(text))
            .then(|| UNITTEST.captures(text))
            .flatten()
        {
            let name = m.get(1).map_or("", |g| g.as_str());
            let paren = m.get(2).map_or("", |g| g.as_str());
            let rest = m.get(3).map_or("", |g| g.as_str()).trim();
            self.unittest_open = rest
                .is_empty()
                .then(|| (unittest_id(name, paren), at, text.to_string()));
        } else if self.unittest_open.is_some()
            && text.starts_with(['o', 'F', 'E', 's', 'e', 'u', 'R'])
            && UNITTEST_OUTCOME.is_match(text)
        {
            self.unittest_open = None;
        }
        let worker_hint = contains_ignoring_case(text, "worker");
        if let Some(m) = has(text, &NODE_DOWN_MARK)
            .then(|| NODE_DOWN.captures(text))
            .flatten()
        {
            let worker = m.get(1).map_or("", |g| g.as_str());
            self.xdist = true;
            self.worker_down(worker, at, text, NODE_DOWN_LINE);
        }
        if let Some(m) = worker_hint.then(|| REPLACING.captures(text)).flatten() {
            let worker = m.get(1).or(m.get(2)).map_or("", |g| g.as_str());
            self.xdist = true;
            self.worker_down(worker, at, text, REPLACING_LINE);
        }
        if let Some(m) = (gw && text.contains("FAILED "))
            .then(|| WORKER_FAILED.captures(text))
            .flatten()
        {
            let worker = m.get(1).map_or("", |g| g.as_str());
            let test = m.get(2).map_or("", |g| g.as_str());
            // A FAILED line is a crash only for a worker that went down.
            if let Some(d) = self.crash_of(worker, FAILED_LINE) {
                d.seen |= FAILED_LINE;
                if d.test.is_none() && !d.emitted {
                    d.test = Some(test.to_string());
                    if d.lines.len() < MAX_LINES {
                        d.lines.push(text.to_string());
                    }
                }
            }
        }
        let named = worker_hint
            .then(|| {
                CRASHED_WHILE
                    .captures(text)
                    .map(|m| (m.get(1), m.get(2), CRASHED_WHILE_LINE))
                    .or_else(|| {
                        SUMMARY_CRASHED
                            .captures(text)
                            .map(|m| (m.get(2), m.get(1), SUMMARY_LINE))
                    })
            })
            .flatten();
        if let Some((Some(worker), Some(test), kind)) = named {
            self.xdist = true;
            self.worker_crashed_running(worker.as_str(), test.as_str(), at, text, kind);
        }
        self.try_join(out);
    }

    /// Outside xdist, pytest's unfinished line (a lone node id, a progress line) is kept, and
    /// forgotten once a node id with its outcome or a finished progress line follows.
    /// `unittest_hint`: the line holds `) ...`.
    fn pytest_line(&mut self, text: &str, unittest_hint: bool) {
        if self.xdist {
            return;
        }
        let trimmed = text.trim();
        if unfinished_line(trimmed, unittest_hint) && !(unittest_hint && UNITTEST.is_match(trimmed))
        {
            self.pytest_open = Some(trimmed.to_string());
        } else if self.pytest_open.is_some()
            && trimmed.contains(".py")
            && (NODE_ID.is_match(trimmed) || PYTEST_RESULTS.is_match(trimmed))
        {
            // A node id with its outcome, a finished progress line: the test is over.
            self.pytest_open = None;
        }
    }

    /// The entry of `worker`'s latest crash that a line of `kind` about it belongs to: none
    /// when that crash already had a line of this kind (the line is about a later crash of a
    /// worker with the same name, even when the earlier one is already evidence).
    fn crash_of(&mut self, worker: &str, kind: u8) -> Option<&mut Down> {
        self.down
            .iter_mut()
            .rev()
            .find(|d| d.worker == worker)
            .filter(|d| d.seen & kind == 0)
    }

    /// A new crashed worker.
    fn push_down(
        &mut self,
        worker: &str,
        at: DateTime<Utc>,
        test: Option<&str>,
        text: &str,
        kind: u8,
    ) {
        if self.down.len() >= MAX_DOWN {
            self.down.remove(0);
        }
        self.down.push(Down {
            worker: worker.to_string(),
            at,
            test: test.map(str::to_string),
            lines: vec![text.to_string()],
            emitted: false,
            seen: kind,
        });
    }

    /// `[gwN] node down` or `replacing crashed worker gwN`: one crashed worker, however many
    /// lines say so.
    fn worker_down(&mut self, worker: &str, at: DateTime<Utc>, text: &str, kind: u8) {
        if let Some(d) = self.crash_of(worker, kind) {
            d.seen |= kind;
            if !d.emitted && d.lines.len() < MAX_LINES {
                d.lines.push(text.to_string());
            }
            return;
        }
        self.push_down(worker, at, None, text, kind);
    }

    /// xdist's summary names the test a crashed worker was running.
    fn worker_crashed_running(
        &mut self,
        worker: &str,
        test: &str,
        at: DateTime<Utc>,
        text: &str,
        kind: u8,
    ) {
        let Some(d) = self.crash_of(worker, kind) else {
            self.push_down(worker, at, Some(test), text, kind);
            return;
        };
        d.seen |= kind;
        if d.emitted {
            return;
        }
        if d.test.is_none() {
            d.test = Some(test.to_string());
        }
        if d.lines.len() < MAX_LINES {
            d.lines.push(text.to_string());
        }
    }

    /// Every crashed worker whose test is known and whose dump has come becomes evidence. One
    /// whose dump has not come waits for it until the output ends: read apart, the
    /// controller's stdout (`node down`, the worker's `FAILED` line, even the summary) often
    /// arrives before the dying worker's stderr does.
    fn try_join(&mut self, out: &mut Vec<Evidence>) {
        for i in 0..self.down.len() {
            let Some(d) = self
                .down
                .get(i)
                .filter(|d| !d.emitted && d.test.is_some())
                .cloned()
            else {
                continue;
            };
            let Some(dump) = self.take_dump_for(d.test.as_deref(), false) else {
                continue;
            };
            out.push(xdist_evidence(&d, Some(dump)));
            if let Some(d) = self.down.get_mut(i) {
                d.emitted = true;
            }
        }
    }

    /// The held dump that belongs to a crashed worker running `test`: the one whose stack runs
    /// that test, best first (see [`Dump::match_score`]; the oldest among equals); a dump
    /// whose stack runs the test only as an inherited one, and failing that the oldest whose
    /// stack runs no test at all (a crash in a fixture, at import), only when `or_testless`
    /// (the output has ended: no better dump is coming); never one that runs another test.
    fn take_dump_for(&mut self, test: Option<&str>, or_testless: bool) -> Option<Dump> {
        if let Some(t) = test {
            let least = if or_testless { INHERITED } else { TEMPLATE };
            let mut best: Option<(u8, usize)> = None;
            for (i, d) in self.pending.iter().enumerate() {
                let score = d.match_score(t);
                if score >= least && best.is_none_or(|(b, _)| score > b) {
                    best = Some((score, i));
                }
            }
            // The dump still being read may be it: the worker's end is often printed right
            // after its last frame, and in xdist that line does not close the dump (see
            // XDIST_NOISE).
            let open = self.dump.as_ref().map_or(0, |d| d.match_score(t));
            let open = if open >= least { open } else { 0 };
            match best {
                Some((score, _)) if open > score => return self.dump.take(),
                None if open > 0 => return self.dump.take(),
                Some((_, i)) if i < self.pending.len() => return Some(self.pending.remove(i)),
                _ => {}
            }
        }
        if !or_testless {
            return None;
        }
        let index = self.pending.iter().position(|d| d.stack_test().is_none())?;
        (index < self.pending.len()).then(|| self.pending.remove(index))
    }

    /// Held dumps past [`MAX_PENDING`] are given up as evidence on their own.
    fn pending_overflow(&mut self, out: &mut Vec<Evidence>) {
        while self.pending.len() > MAX_PENDING {
            let dump = self.pending.remove(0);
            out.push(self.dump_evidence(dump, Runner::PytestXdist, None));
        }
    }
}

/// The evidence of a crashed xdist worker, with its dump when one was found.
fn xdist_evidence(d: &Down, dump: Option<Dump>) -> Evidence {
    let (at, signal, thread, stack, mut lines) = match dump {
        Some(dump) => {
            let crashing = dump.crashing();
            (
                dump.at.min(d.at),
                Some(dump.signal.clone()).filter(|s| !s.is_empty()),
                crashing.and_then(|t| t.header.clone()),
                crashing.map(|t| t.frames.clone()).unwrap_or_default(),
                dump.lines,
            )
        }
        None => (d.at, None, None, Vec::new(), Vec::new()),
    };
    for l in &d.lines {
        if lines.len() >= MAX_LINES {
            break;
        }
        lines.push(l.clone());
    }
    Evidence {
        runner: Runner::PytestXdist,
        test: d.test.clone(),
        test_inferred: false,
        worker: Some(d.worker.clone()),
        pid: None,
        program: None,
        signal,
        thread,
        python_stack: stack,
        at,
        lines,
    }
}

/// pytest's unfinished `-v` line, perhaps with what was written after it on the same line (a
/// wrapper's `echo`), but no outcome: the line a dump interrupted.
fn interrupted_node_line(text: &str) -> bool {
    let text = text.trim();
    if unfinished_runner_line(text) {
        return true;
    }
    let Some(rest) = NODE_ID
        .captures(text)
        .and_then(|m| m.get(1))
        .and_then(|id| text.get(id.end()..))
    else {
        return false;
    };
    let outcome = rest.trim_start();
    !["PASSED", "FAILED", "ERROR", "SKIPPED", "XFAIL", "XPASS"]
        .iter()
        .any(|o| outcome.starts_with(o))
}

/// unittest's id from its `-v` line: Python ≥ 3.11 prints the whole id in the parentheses,
/// older ones only `module.Class`.
fn unittest_id(name: &str, paren: &str) -> String {
    if paren == name || paren.ends_with(&format!(".{name}")) {
        paren.to_string()
    } else {
        format!("{paren}.{name}")
    }
}

/// The text up to its first blank (`char::is_whitespace`, as `\s`): this runs on every line
/// of the output, so the common case (a space, and only printable ASCII before it) is found
/// the fast way (a vectorised check, no early exit), anything else char by char.
fn first_word(text: &str) -> &str {
    let bytes = text.as_bytes();
    let end = memchr::memchr(b' ', bytes).unwrap_or(bytes.len());
    let head = bytes.get(..end).unwrap_or(bytes);
    if head
        .iter()
        .fold(true, |plain, &b| plain & (b > b' ') & (b < 0x80))
    {
        text.get(..end).unwrap_or(text)
    } else {
        text.split(char::is_whitespace).next().unwrap_or(text)
    }
}

/// `.py` in `word`.
fn has_py(word: &str) -> bool {
    memchr::memchr_iter(b'.', word.as_bytes())
        .any(|at| word.as_bytes().get(at + 1..at + 3) == Some(b"py"))
}

/// Marks that guard this file's patterns, each looked for the fast way on every line outside a
/// dump.
static FATAL_MARK: LazyLock<Finder<'static>> =
    LazyLock::new(|| Finder::new("Fatal Python error: "));
static GW_MARK: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("[gw"));
static NODE_DOWN_MARK: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new("] node down: "));
static UNITTEST_MARK: LazyLock<Finder<'static>> = LazyLock::new(|| Finder::new(") ..."));

/// `mark` in `text`.
fn has(text: &str, mark: &Finder<'_>) -> bool {
    mark.find(text.as_bytes()).is_some()
}

/// A runner's line that waits for its end: a lone `-v` node id, a progress line with no
/// percentage yet, a unittest test with no outcome.
fn unfinished_runner_line(text: &str) -> bool {
    unfinished_line(text, is_unittest_hint(text))
}

/// [`unfinished_runner_line`], told whether `text` holds unittest's `) ...`
/// ([`is_unittest_hint`]: a line of millions need not be searched for it twice).
fn unfinished_line(text: &str, unittest_hint: bool) -> bool {
    let text = text.trim();
    (maybe_unfinished_pytest(text) && (LONE_NODE_ID.is_match(text) || PROGRESS_FILE.is_match(text)))
        || (unittest_hint
            && unittest_shape(text)
            && UNITTEST
                .captures(text)
                .and_then(|m| m.get(3))
                .is_some_and(|rest| rest.as_str().trim().is_empty()))
}

/// What every `LONE_NODE_ID` and `PROGRESS_FILE` line (trimmed) has, cheap to test on each of
/// the millions of `-v` lines with an outcome: `.py` in its first word, and either no blank at
/// all, or a blank only after the word's parameters (`[`) or right after its `.py` (a progress
/// line).
fn maybe_unfinished_pytest(text: &str) -> bool {
    let word = first_word(text);
    has_py(word) && (word.len() == text.len() || word.contains('[') || word.ends_with(".py"))
}

/// How every `UNITTEST` line starts: a word, a blank, `(` (a match fails slowly on the many
/// lines that hold `) ...` for another reason).
fn unittest_shape(text: &str) -> bool {
    text.find(' ')
        .and_then(|at| text.get(at + 1..))
        .is_some_and(|rest| rest.starts_with('('))
}

/// What every `UNITTEST` line holds: `) ...`.
fn is_unittest_hint(text: &str) -> bool {
    has(text, &UNITTEST_MARK)
}

/// What every `XDIST_SESSION` line holds (`gw`: it holds `[gw`): all but `[gw\d+\]` at its
/// start, and `\d+ workers? [` starts with a digit.
fn xdist_hint(text: &str, gw: bool) -> bool {
    gw || text.starts_with("created: ")
        || text.starts_with("bringing up nodes")
        || text.starts_with("scheduling tests via ")
        || (text.starts_with(char::is_numeric) && text.contains("worker"))
}

/// `needle` (ASCII, not empty) in `text`, in any case, without allocating: its first byte found
/// the fast way, in either case, then the rest compared.
fn contains_ignoring_case(text: &str, needle: &str) -> bool {
    let (hay, needle) = (text.as_bytes(), needle.as_bytes());
    let Some(&first) = needle.first() else {
        return true;
    };
    memchr::memchr2_iter(first.to_ascii_lowercase(), first.to_ascii_uppercase(), hay).any(|at| {
        hay.get(at..at + needle.len())
            .is_some_and(|w| w.eq_ignore_ascii_case(needle))
    })
}

/// The test named by the text a dump interrupted: `pytest -v`'s node id, `unittest -v`'s test.
fn prefix_test(prefix: &str) -> Option<String> {
    if let Some(m) = NODE_ID.captures(prefix) {
        return m.get(1).map(|g| g.as_str().to_string());
    }
    let m = UNITTEST.captures(prefix)?;
    let name = m.get(1).map_or("", |g| g.as_str());
    let paren = m.get(2).map_or("", |g| g.as_str());
    Some(unittest_id(name, paren))
}

/// The test of a dump outside xdist: the node id or unittest line it interrupted; else the
/// test function on its stack, as `file::function` (no class: faulthandler does not print
/// one), with the file as plain pytest's progress line names it when that is the same file.
///
/// Returns the test, and whether it was read off the stack rather than printed by the runner.
fn test_of(dump: &Dump) -> (Option<String>, bool) {
    if let Some(id) = prefix_test(&dump.prefix) {
        return (Some(id), false);
    }
    let Some((file, function)) = dump.stack_test() else {
        return (None, false);
    };
    let progress = PROGRESS_FILE
        .captures(&dump.prefix)
        .and_then(|m| m.get(1))
        .map(|g| g.as_str())
        .filter(|p| same_file(file, p));
    (
        Some(format!("{}::{function}", progress.unwrap_or(file))),
        true,
    )
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]
mod tests {
    use super::*;
    use crate::testlog::Stream;
    use chrono::TimeZone;

    fn feed_all(text: &str) -> Vec<Evidence> {
        let mut r = PythonRecognizer::default();
        let mut out = Vec::new();
        for (i, t) in text.lines().enumerate() {
            let at = Utc.timestamp_opt(1_700_000_000 + i as i64, 0).unwrap();
            out.extend(r.feed(&Line {
                stream: Stream::Stdout,
                at,
                text: t.to_string(),
            }));
        }
        out.extend(r.finish());
        out
    }

    /// pytest's node id on stdout and the dump on stderr, read apart: the unfinished node id
    /// is handed over only when the process dies, so it comes before, inside or after the dump
    /// as the two readers happen to run (seen flaking in the end-to-end test: the dump was cut
    /// short and the test named from the stack, or not at all). Every interleaving reads the
    /// same: the node id, and the whole stack.
    #[test]
    fn the_node_id_from_the_other_stream_may_come_anywhere() {
        let recorded = include_str!("../../testdata/testlogs/python/pytest-v.txt");
        let (before, dump) = recorded
            .split_once("tests/test_mps.py::TestMPS::test_gather ")
            .unwrap();
        let at = |i: usize| Utc.timestamp_opt(1_700_000_000 + i as i64, 0).unwrap();
        let line = |stream, i, text: &str| Line {
            stream,
            at: at(i),
            text: text.to_string(),
        };
        let dump: Vec<&str> = dump.lines().collect();
        let mut seen = Vec::new();
        for k in 0..=dump.len() {
            let mut r = PythonRecognizer::default();
            let mut out = Vec::new();
            for (i, t) in before.lines().enumerate() {
                out.extend(r.feed(&line(Stream::Stdout, i, t)));
            }
            for (i, t) in dump.iter().enumerate() {
                if i == k {
                    let id = "tests/test_mps.py::TestMPS::test_gather ";
                    out.extend(r.feed(&line(Stream::Stdout, 100 + i, id)));
                }
                out.extend(r.feed(&line(Stream::Stderr, 100 + i, t)));
            }
            if k == dump.len() {
                let id = "tests/test_mps.py::TestMPS::test_gather ";
                out.extend(r.feed(&line(Stream::Stdout, 1000, id)));
            }
            out.extend(r.finish());
            assert_eq!(out.len(), 1, "node id at {k}: {out:#?}");
            assert_eq!(
                out[0].test.as_deref(),
                Some("tests/test_mps.py::TestMPS::test_gather"),
                "node id at {k}"
            );
            seen.push(out[0].python_stack.clone());
        }
        assert!(
            seen.iter().all(|s| s == &seen[0] && s.len() > 10),
            "{seen:#?}"
        );
    }

    /// Under a wrapper (`bash -c "pytest -v ...; echo exit=$?"`), the shell's own line on
    /// stderr ends the dump before pytest's unfinished node id comes from stdout, joined there
    /// with the wrapper's `echo`: the dump waits for it (review finding).
    #[test]
    fn a_wrappers_lines_do_not_cost_the_node_id() {
        let recorded = include_str!("../../testdata/testlogs/python/pytest-v.txt");
        let (before, dump) = recorded
            .split_once("tests/test_mps.py::TestMPS::test_gather ")
            .unwrap();
        let mut r = PythonRecognizer::default();
        let mut out = Vec::new();
        let mut n = 0;
        let mut feed = |r: &mut PythonRecognizer, stream, text: &str| {
            n += 1;
            out.extend(r.feed(&Line {
                stream,
                at: Utc.timestamp_opt(1_700_000_000 + n, 0).unwrap(),
                text: text.to_string(),
            }));
        };
        for t in before.lines() {
            feed(&mut r, Stream::Stdout, t);
        }
        for t in dump.lines() {
            feed(&mut r, Stream::Stderr, t);
        }
        feed(
            &mut r,
            Stream::Stderr,
            "bash: line 1: 4242 Segmentation fault      python -m pytest -v tests/test_mps.py",
        );
        feed(
            &mut r,
            Stream::Stdout,
            "tests/test_mps.py::TestMPS::test_gather exit=139",
        );
        out.extend(r.finish());
        assert_eq!(out.len(), 1, "{out:#?}");
        assert_eq!(
            out[0].test.as_deref(),
            Some("tests/test_mps.py::TestMPS::test_gather")
        );
        assert!(out[0].python_stack.len() > 10);
    }

    #[test]
    fn test_names_and_files() {
        assert!(is_test_function("test"));
        assert!(is_test_function("test_out"));
        assert!(is_test_function("testGather"));
        assert!(!is_test_function("testing"));
        assert!(!is_test_function("gather"));
        assert!(is_test_file("/a/tests/test_mps.py"));
        assert!(is_test_file("pkg\\ops_test.py"));
        assert!(!is_test_file("/a/tests/conftest.py"));
        assert!(!is_test_file("<frozen runpy>"));
        assert!(same_file("/tmp/s/tests/test_mps.py", "tests/test_mps.py"));
        assert!(!same_file("/tmp/s/tests/xtest_mps.py", "test_mps.py"));
        assert!(!same_file("/tmp/x.py", ""));
    }

    #[test]
    fn unittest_ids_old_and_new() {
        assert_eq!(unittest_id("test_x", "m.C.test_x"), "m.C.test_x");
        assert_eq!(unittest_id("test_x", "m.C"), "m.C.test_x");
    }

    #[test]
    fn frame_with_unknown_line_and_truncation() {
        let e = feed_all(
            "Fatal Python error: Bus error\n\nCurrent thread 0x1 (most recent call first):\n  File \"a.py\", line ??? in f\n  ...\n",
        );
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].signal.as_deref(), Some("Bus error"));
        assert_eq!(e[0].python_stack[0].line, None);
        assert_eq!(e[0].python_stack[0].function, "f");
        assert_eq!(e[0].runner, Runner::Faulthandler);
        assert_eq!(e[0].thread.as_deref(), Some("Current thread 0x1"));
    }

    #[test]
    fn extension_modules_end_the_dump_and_the_next_one_is_separate() {
        let e = feed_all(concat!(
            "Fatal Python error: Aborted\n\n",
            "Current thread 0x2 (most recent call first):\n",
            "  File \"/x/test_a.py\", line 3 in test_a\n\n",
            "Extension modules: numpy.core._multiarray_umath, torch._C (total: 2)\n",
            "Fatal Python error: Segmentation fault\n\n",
            "Thread 0x3 (most recent call first):\n",
            "  <no Python frame>\n",
        ));
        assert_eq!(e.len(), 2);
        assert_eq!(e[0].test.as_deref(), Some("/x/test_a.py::test_a"));
        assert!(e[0].lines.last().unwrap().starts_with("Extension modules"));
        // No current thread, no test frame: nothing to claim.
        assert_eq!(e[1].thread, None);
        assert!(e[1].python_stack.is_empty());
        assert_eq!(e[1].test, None);
    }

    #[test]
    fn a_unittest_test_that_printed_before_crashing() {
        let e = feed_all(concat!(
            "test_a (m.C.test_a) ... ok\n",
            "test_b (m.C) ... \n",
            "some output of the test\n",
            "Fatal Python error: Segmentation fault\n",
            "\n",
            "Current thread 0x5 (most recent call first):\n",
            "  File \"/r/helpers.py\", line 9 in crash\n",
        ));
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].runner, Runner::Unittest);
        assert_eq!(e[0].test.as_deref(), Some("m.C.test_b"));
    }

    #[test]
    fn node_ids_with_parameters_and_output_after_them() {
        let e =
            feed_all("t/x.py::T::test_a[a b-1] printed by the test Fatal Python error: Aborted");
        assert_eq!(e[0].test.as_deref(), Some("t/x.py::T::test_a[a b-1]"));
        let e = feed_all(
            "t/x.py::test_b some output Fatal Python error: Fatal Python error: Bus error",
        );
        assert_eq!(e[0].test.as_deref(), Some("t/x.py::test_b"));
        assert_eq!(e[0].signal.as_deref(), Some("Bus error"));
    }

    #[test]
    fn a_generated_test_joins_by_its_template() {
        // PyTorch instantiates `test_out` per device and dtype: the node id is longer than the
        // function on the stack.
        let e = feed_all(concat!(
            "created: 4/4 workers\n",
            "Fatal Python error: Segmentation fault\n",
            "\n",
            "Current thread 0x00000001f726b840 (most recent call first):\n",
            "  File \"/t/torch/testing/_internal/opinfo/core.py\", line 1167 in __call__\n",
            "  File \"/p/test/test_ops.py\", line 1008 in test_out\n",
            "  File \"/t/torch/testing/_internal/common_device_type.py\", line 1140 in test_wrapper\n",
            "\n",
            "[gw3] node down: Not properly terminated\n",
            "replacing crashed worker gw3\n",
            "worker 'gw3' crashed while running 'test/test_ops.py::TestCommonMPS::test_out_bucketize_mps_float32'\n",
        ));
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(
            e[0].test.as_deref(),
            Some("test/test_ops.py::TestCommonMPS::test_out_bucketize_mps_float32")
        );
        assert_eq!(e[0].python_stack.len(), 3);
    }

    #[test]
    fn a_flood_of_threads_and_frames_is_bounded() {
        let mut r = PythonRecognizer::default();
        let at = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
        let mut feed = |t: &str| {
            r.feed(&Line {
                stream: Stream::Stderr,
                at,
                text: t.to_string(),
            })
        };
        feed("Fatal Python error: Segmentation fault");
        for i in 0..200 {
            feed(&format!("Thread 0x{i:x} (most recent call first):"));
            for _ in 0..250 {
                feed("  File \"x.py\", line 1 in f");
            }
        }
        let dump = r.dump.as_ref().unwrap();
        assert_eq!(dump.threads.len(), MAX_THREADS);
        assert!(dump.threads.iter().all(|t| t.frames.len() <= MAX_LINES));
        assert_eq!(dump.lines.len(), MAX_LINES);
        let e = r.finish();
        assert_eq!(e.len(), 1);
    }

    #[test]
    fn a_hung_test_dump_is_not_a_crash() {
        let e = feed_all(concat!(
            "Timeout (0:00:00.100000)!\n",
            "Thread 0x00007f8466a47b80 (most recent call first):\n",
            "  File \"<string>\", line 4 in <module>\n",
        ));
        assert!(e.is_empty(), "{e:#?}");
    }

    #[test]
    fn pypy_stack_under_xdist() {
        // The shape of a PyPy worker's abort (pytest-dev/pytest-xdist#882): `Stack (...,
        // approximate line numbers)`, then the controller's announcement and the worker's end.
        let e = feed_all(concat!(
            "created: 2/2 workers\n",
            "Fatal Python error: Aborted\n",
            "\n",
            "Stack (most recent call first, approximate line numbers):\n",
            "  File \"/r/hypothesis/vendor/pretty.py\", line 636 in _repr_pprint\n",
            "  File \"/r/tests/property_tests/test_properties.py\", line 80 in test_views\n",
            "tests/property_tests/test_properties.py::test_views \n",
            "[gw0] node down: Not properly terminated\n",
            "[gw0] [ 99%] FAILED tests/property_tests/test_properties.py::test_views \n",
        ));
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].worker.as_deref(), Some("gw0"));
        assert_eq!(
            e[0].test.as_deref(),
            Some("tests/property_tests/test_properties.py::test_views")
        );
        assert_eq!(e[0].signal.as_deref(), Some("Aborted"));
        assert_eq!(e[0].thread, None);
        assert_eq!(e[0].python_stack.len(), 2);
    }

    #[test]
    fn inherited_node_id_drops_the_base() {
        let e =
            feed_all("tests/t.py::TestC::test_r <- test/common.py Fatal Python error: Aborted\n");
        assert_eq!(e[0].test.as_deref(), Some("tests/t.py::TestC::test_r"));
        assert_eq!(e[0].runner, Runner::Pytest);
    }

    #[test]
    fn xdist_summary_alone_is_evidence() {
        let e = feed_all(
            "FAILED tests/x.py::test_y[a] - worker 'gw3' crashed while running 'tests/x.py::te...\n",
        );
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].worker.as_deref(), Some("gw3"));
        assert_eq!(e[0].test.as_deref(), Some("tests/x.py::test_y[a]"));
    }

    #[test]
    fn a_run_cut_before_the_summary_pairs_the_worker_with_its_dump() {
        let e = feed_all(concat!(
            "bringing up nodes...\n",
            "Fatal Python error: Segmentation fault\n",
            "\n",
            "Current thread 0x7 (most recent call first):\n",
            "  File \"/r/tests/test_g.py\", line 4 in test_g\n",
            "[gw1] node down: Not properly terminated\n",
            "F\n",
        ));
        assert_eq!(e.len(), 1, "{e:#?}");
        assert_eq!(e[0].worker.as_deref(), Some("gw1"));
        assert_eq!(e[0].test.as_deref(), Some("/r/tests/test_g.py::test_g"));
        assert_eq!(e[0].python_stack.len(), 1);
    }

    /// Two workers crash: gw1 ran `test_gather`, which called a helper named `test_zeros`;
    /// gw2 ran `test_zeros` itself. Both dumps have `test_zeros` as their innermost test
    /// frame, and gw2's crash is named first: it takes the dump where `test_zeros` is also
    /// the outermost test frame (the one pytest called), leaving gw1 the one that runs
    /// `test_gather`.
    #[test]
    fn the_outermost_exact_frame_ranks_first() {
        let dump = |thread: &str, frames: &[(&str, &str)]| {
            let mut text = format!(
                "Fatal Python error: Segmentation fault\n\nCurrent thread {thread} (most recent call first):\n"
            );
            for (file, function) in frames {
                text.push_str(&format!("  File \"{file}\", line 1 in {function}\n"));
            }
            text.push('\n');
            text
        };
        let text = [
            "created: 2/2 workers\n".to_string(),
            dump(
                "0x1",
                &[
                    ("/r/tests/test_a.py", "test_zeros"),
                    ("/r/tests/test_a.py", "test_gather"),
                ],
            ),
            dump("0x2", &[("/r/tests/test_a.py", "test_zeros")]),
            "[gw1] node down: Not properly terminated\n".to_string(),
            "[gw2] node down: Not properly terminated\n".to_string(),
            "worker 'gw2' crashed while running 'tests/test_a.py::test_zeros'\n".to_string(),
            "worker 'gw1' crashed while running 'tests/test_a.py::test_gather'\n".to_string(),
        ]
        .concat();
        let e = feed_all(&text);
        assert_eq!(e.len(), 2, "{e:#?}");
        let by = |w: &str| e.iter().find(|e| e.worker.as_deref() == Some(w)).unwrap();
        assert_eq!(by("gw1").thread.as_deref(), Some("Current thread 0x1"));
        assert_eq!(by("gw2").thread.as_deref(), Some("Current thread 0x2"));
    }

    #[test]
    fn a_plain_failure_on_a_live_worker_is_not_a_crash() {
        let e = feed_all("created: 2/2 workers\n[gw0] [ 50%] FAILED tests/x.py::test_y\n");
        assert!(e.is_empty());
    }
}
