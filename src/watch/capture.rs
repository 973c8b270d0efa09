//! The command's output, read as it passes through (issue 14): every byte goes on to crashdelta's
//! own standard output or error at once and in order, and each line, time-stamped on arrival, is
//! fed to the test runners' recognisers (`testlog`), which keep what a crash looked like to the
//! test run: which test, which worker, the Python stack.
//!
//! A stream that is not a terminal (a CI log, a pipe, a file) is read from a pipe. On a terminal,
//! a pseudo-terminal stands in (`pty.rs`), so that the command still writes to a terminal:
//! colours, progress bars and `\r` redraws work as without crashdelta, and `plain` takes the
//! lines as they were shown. Standard output and error on one terminal share one pseudo-terminal,
//! read here as standard output. `--no-capture` turns capture off: the command writes to
//! crashdelta's own standard output and error.
//!
//! One thread per stream reads and passes the bytes on; one more splits the reads into lines
//! and feeds them to the recognisers (through `testlog::Reader`, which skips the lines no
//! recogniser can care about), so that the bytes go on at the speed of the pipes while the
//! lines are read on another core. The reads wait in a queue of at most [`QUEUE`]; when the
//! recognisers fall that far behind, the readers wait for them (and so does the command): no
//! line is ever dropped, and a request for the evidence queues behind every read before it.
//!
//! Memory is bounded: that queue, a line cut at [`MAX_LINE`] bytes for the recognisers (the bytes
//! passed on are never cut; a line of `\r` redraws keeps what a terminal shows, its end), the
//! dumps the recognisers hold open (a few hundred lines each, a few dozen at most), and at most
//! [`MAX_EVIDENCE`] pieces of evidence, each line cut to 512 bytes once the evidence is complete. The
//! readers run until the pipe closes, which a process the command left running can delay past
//! the end of the watch: the evidence is taken when the watch ends, and the readers go on passing
//! bytes through in the background.

use std::io::{self, Read, Write};
use std::sync::mpsc::{self, Receiver, SyncSender};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::testlog::{self, Evidence, Stream};

/// The most bytes of one line the recognisers see.
pub const MAX_LINE: usize = 16 * 1024;

/// The most pieces of evidence kept from one run.
///
/// With the lines each keeps ([`testlog::MAX_LINES`], each cut to [`testlog::KEPT_LINE`] bytes,
/// and its frames' names as much), that bounds what a run can hold however much it prints.
/// Measured (release build): 300 faulthandler dumps of 200 lines of 16 KiB each (960 MB of
/// output) peak at 180 MB resident; before the cut, 100 such dumps held 1.3 GB (review finding).
const MAX_EVIDENCE: usize = 256;

/// The most bytes asked of a pipe at once (a Linux pipe holds 64 KiB).
const READ_SIZE: usize = 64 * 1024;

/// The most reads waiting for the recognisers: the output is never more than this many reads
/// (2 MiB) ahead of them; past that a reader waits, and so does the command. Nothing is dropped.
const QUEUE: usize = 32;

/// How long [`Capture::evidence`] waits for the recognisers to read what is queued (at most
/// [`QUEUE`] reads): a bound for a recogniser that would never finish, not a normal wait.
const EVIDENCE_WAIT: Duration = Duration::from_secs(10);

struct Shared {
    /// How many captured streams are still open.
    open: usize,
}

/// What the readers hand to the recognising thread, in the order they read it.
enum Piece {
    /// A read: the first `len` bytes of `buf`, read at `at`.
    Read {
        stream: Stream,
        at: DateTime<Utc>,
        buf: Vec<u8>,
        len: usize,
    },
    /// The stream closed: its unfinished last line is a line.
    End(Stream),
    /// The evidence so far, with what the recognisers hold open, wanted.
    Finish(mpsc::Sender<Vec<Evidence>>),
}

/// The way to the recognising thread: its queue, and the read buffers it gives back.
#[derive(Clone)]
struct Feed {
    queue: SyncSender<Piece>,
    /// Buffers read and recognised, to read into again (at most [`QUEUE`] and a few).
    spare: Arc<Mutex<Vec<Vec<u8>>>>,
}

impl Feed {
    /// Starts the thread that splits the reads into lines and feeds them to the recognisers.
    /// It runs apart from the readers, so that the command's bytes go on at the speed of the
    /// pipes (on another core) while the lines are read; it ends once every reader and the
    /// [`Capture`] are gone.
    fn start() -> Feed {
        let (queue, pieces) = mpsc::sync_channel(QUEUE);
        let spare = Arc::new(Mutex::new(Vec::new()));
        let back = spare.clone();
        thread::spawn(move || recognize(&pieces, &back));
        Feed { queue, spare }
    }

    fn buffer(&self) -> Vec<u8> {
        let reused = self.spare.lock().ok().and_then(|mut s| s.pop());
        reused.unwrap_or_else(|| vec![0; READ_SIZE])
    }
}

/// The readers of the command's captured streams.
pub struct Capture {
    shared: Arc<(Mutex<Shared>, Condvar)>,
    feed: Feed,
}

impl Capture {
    /// Starts passing `stdout` and `stderr` (the command's pipes or pseudo-terminals, when
    /// captured) through to crashdelta's own, reading their lines.
    pub fn start(
        stdout: Option<impl Read + Send + 'static>,
        stderr: Option<impl Read + Send + 'static>,
    ) -> Capture {
        let open = usize::from(stdout.is_some()) + usize::from(stderr.is_some());
        let shared = Arc::new((Mutex::new(Shared { open }), Condvar::new()));
        let feed = Feed::start();
        if let Some(out) = stdout {
            let (shared, feed) = (shared.clone(), feed.clone());
            thread::spawn(move || read_to_end(out, Stream::Stdout, &shared, &feed));
        }
        if let Some(err) = stderr {
            let (shared, feed) = (shared.clone(), feed.clone());
            thread::spawn(move || read_to_end(err, Stream::Stderr, &shared, &feed));
        }
        Capture { shared, feed }
    }

    /// Waits until every captured stream has closed, or `up_to` has passed: the command's last
    /// bytes are passed on before crashdelta says anything of its own. A process the command
    /// left running may keep a stream open; then the wait ends at `up_to`.
    pub fn wait_closed(&self, up_to: Duration) {
        let (lock, closed) = &*self.shared;
        let deadline = Instant::now() + up_to;
        let Ok(mut shared) = lock.lock() else {
            return;
        };
        while shared.open > 0 {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            match closed.wait_timeout(shared, left) {
                Ok((guard, _)) => shared = guard,
                Err(_) => return,
            }
        }
    }

    /// The evidence read so far, and what the recognisers still held open; the readers go on
    /// passing bytes through (a process the command left running may still write). Everything
    /// read before the call is recognised first: the request queues behind it.
    pub fn evidence(&self) -> Vec<Evidence> {
        let (reply, answer) = mpsc::channel();
        if self.feed.queue.send(Piece::Finish(reply)).is_err() {
            return Vec::new();
        }
        answer.recv_timeout(EVIDENCE_WAIT).unwrap_or_default()
    }
}

fn read_to_end(from: impl Read, stream: Stream, shared: &(Mutex<Shared>, Condvar), feed: &Feed) {
    pass(from, stream, feed);
    if let Ok(mut s) = shared.0.lock() {
        s.open = s.open.saturating_sub(1);
    }
    shared.1.notify_all();
}

/// Passes one stream through, handing each read to the recognising thread (one clock reading
/// per read: a command printing 100 MB must not pay per line).
fn pass(mut from: impl Read, stream: Stream, feed: &Feed) {
    // Once crashdelta's own stream is gone (`crashdelta watch -- yes | head -2`), the stream is
    // no longer read: the command's next write fails as it would without crashdelta
    // (SIGPIPE), instead of the command writing forever into a pipe crashdelta drains (review
    // finding: the example never ended).
    let mut forward = true;
    // Once the recognising thread is gone (it cannot be, short of a bug), bytes still pass.
    let mut recognize = true;
    let mut buf = feed.buffer();
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
        let at = Utc::now();
        let chunk = buf.get(..n).unwrap_or_default();
        if forward {
            let written = match stream {
                Stream::Stdout => {
                    let mut out = io::stdout().lock();
                    out.write_all(chunk).and_then(|()| out.flush())
                }
                Stream::Stderr => io::stderr().lock().write_all(chunk),
            };
            forward = written.is_ok();
        }
        if recognize {
            let read = Piece::Read {
                stream,
                at,
                buf,
                len: n,
            };
            recognize = feed.queue.send(read).is_ok();
            buf = feed.buffer();
        }
        if !forward {
            break;
        }
    }
    if recognize {
        let _ = feed.queue.send(Piece::End(stream));
    }
}

/// The recognising thread: the reads, in order, split into lines and fed to the recognisers.
fn recognize(pieces: &Receiver<Piece>, spare: &Mutex<Vec<Vec<u8>>>) {
    // Made when the first piece comes, not while the command is being started: building the
    // recognisers' automata then would compete for the CPU with the first look at the command's
    // process tree.
    let mut reader: Option<testlog::Reader> = None;
    let mut evidence: Vec<Evidence> = Vec::new();
    // Each stream's unfinished line, up to MAX_LINE bytes (the rest of a longer one is dropped).
    let (mut out_line, mut err_line) = (Vec::new(), Vec::new());
    let mut found = Vec::new();
    while let Ok(piece) = pieces.recv() {
        let reader = reader.get_or_insert_with(|| testlog::Reader::new(testlog::recognizers()));
        match piece {
            Piece::Read {
                stream,
                at,
                buf,
                len,
            } => {
                let line = match stream {
                    Stream::Stdout => &mut out_line,
                    Stream::Stderr => &mut err_line,
                };
                let chunk = buf.get(..len).unwrap_or_default();
                emit(reader, line, chunk, stream, at, &mut found);
                if let Ok(mut spare) = spare.lock() {
                    spare.push(buf);
                }
            }
            Piece::End(stream) => {
                let line = match stream {
                    Stream::Stdout => &mut out_line,
                    Stream::Stderr => &mut err_line,
                };
                if !line.is_empty() {
                    reader.read_line(line, stream, Utc::now(), &mut found);
                    line.clear();
                }
            }
            Piece::Finish(reply) => {
                let mut all = evidence.clone();
                all.extend(reader.finish().into_iter().map(testlog::trimmed));
                all.truncate(MAX_EVIDENCE);
                let _ = reply.send(all);
            }
        }
        let room = MAX_EVIDENCE.saturating_sub(evidence.len());
        evidence.extend(found.drain(..).take(room).map(testlog::trimmed));
    }
}

/// Feeds the lines `chunk` ends, the first completing `line` (the stream's unfinished line),
/// and keeps its own unfinished end in `line`. Lines whole in the chunk are read in place.
fn emit(
    reader: &mut testlog::Reader,
    line: &mut Vec<u8>,
    chunk: &[u8],
    stream: Stream,
    at: DateTime<Utc>,
    found: &mut Vec<Evidence>,
) {
    let mut rest = chunk;
    if !line.is_empty() {
        let Some(end) = memchr::memchr(b'\n', rest) else {
            extend_cut(line, rest);
            return;
        };
        extend_cut(line, rest.get(..end).unwrap_or_default());
        reader.read_line(line, stream, at, found);
        line.clear();
        rest = rest.get(end + 1..).unwrap_or_default();
    }
    match memchr::memrchr(b'\n', rest) {
        Some(last) => {
            reader.read_lines(
                rest.get(..=last).unwrap_or_default(),
                MAX_LINE,
                stream,
                at,
                found,
            );
            extend_cut(line, rest.get(last + 1..).unwrap_or_default());
        }
        None => extend_cut(line, rest),
    }
}

/// Appends what of `bytes` fits in [`MAX_LINE`], keeping only what a terminal would show: a
/// carriage return followed by more (a progress bar's redraw) starts the line over, so that a
/// line of redraws longer than `MAX_LINE` keeps its end, where a dump begins
/// (`testlog::reader::cut`).
fn extend_cut(line: &mut Vec<u8>, bytes: &[u8]) {
    if bytes.is_empty() {
        return;
    }
    // A carriage return that ended the previous piece is followed by these bytes (unless they
    // are more carriage returns: a `\r\r\n` ending split between reads).
    if line.last() == Some(&b'\r') && bytes.iter().any(|&b| b != b'\r') {
        line.clear();
    }
    let shown = testlog::reader::last_redraw(bytes);
    if shown.len() < bytes.len() {
        line.clear();
    }
    let room = MAX_LINE.saturating_sub(line.len());
    line.extend_from_slice(shown.get(..room).unwrap_or(shown));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A faulthandler dump read from a pipe comes out as evidence; long lines are cut for the
    /// recognisers only.
    #[test]
    fn lines_reach_the_recognisers() {
        let dump = format!(
            "tests/test_mps.py::test_gather Fatal Python error: Segmentation fault\n\n\
             Current thread 0x00000001f6e1c840 (most recent call first):\n  \
             File \"/x/tests/test_mps.py\", line 13 in test_gather\n{}\n",
            "x".repeat(3 * MAX_LINE)
        );
        let feed = Feed::start();
        pass(dump.as_bytes(), Stream::Stderr, &feed);
        let capture = Capture {
            shared: Arc::new((Mutex::new(Shared { open: 0 }), Condvar::new())),
            feed,
        };
        let evidence = capture.evidence();
        assert_eq!(evidence.len(), 1, "{evidence:#?}");
        assert_eq!(
            evidence[0].test.as_deref(),
            Some("tests/test_mps.py::test_gather")
        );
    }

    /// A progress bar redrawn 400 times with `\r` (tqdm under `pytest -s`), then the dump, all
    /// on one line of 36 kB: the recognisers read what a terminal shows, the end of the line,
    /// in whatever pieces the pipe hands it over (review finding: the first 16 KiB were kept,
    /// and the dump was never seen).
    #[test]
    fn a_long_line_of_redraws_keeps_the_dump_at_its_end() {
        let bar: String = (0..400)
            .map(|i| format!("\r{:3}%|{:<80}|", i / 4, "#".repeat(i / 5)))
            .collect();
        let output = format!(
            "tests/test_ops.py::test_gather {bar}Fatal Python error: Segmentation fault\n\n\
             Current thread 0x00000001f6e1c840 (most recent call first):\n  \
             File \"/x/tests/test_ops.py\", line 13 in test_gather\n"
        );
        assert!(output.len() > 2 * MAX_LINE);
        for piece in [7, 4096, 65_536] {
            let feed = Feed::start();
            let chunks: Vec<&[u8]> = output.as_bytes().chunks(piece).collect();
            pass(Chunks(chunks), Stream::Stderr, &feed);
            let capture = Capture {
                shared: Arc::new((Mutex::new(Shared { open: 0 }), Condvar::new())),
                feed,
            };
            let evidence = capture.evidence();
            assert_eq!(evidence.len(), 1, "pieces of {piece}: {evidence:#?}");
            assert_eq!(evidence[0].python_stack.len(), 1, "pieces of {piece}");
        }
    }

    /// A reader handing over one chunk per read.
    struct Chunks<'a>(Vec<&'a [u8]>);

    impl Read for Chunks<'_> {
        fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
            if self.0.is_empty() {
                return Ok(0);
            }
            let chunk = self.0.remove(0);
            let n = chunk.len().min(buf.len());
            buf[..n].copy_from_slice(&chunk[..n]);
            if n < chunk.len() {
                self.0.insert(0, &chunk[n..]);
            }
            Ok(n)
        }
    }
}
