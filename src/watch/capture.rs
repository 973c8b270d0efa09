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
//! Memory is bounded: a line is cut at [`MAX_LINE`] bytes for the recognisers (the bytes passed
//! on are never cut), and the recognisers keep at most a few hundred lines per crash. The readers
//! run until the pipe closes, which a process the command left running can delay past the end
//! of the watch: the evidence is taken when the watch ends, and the readers go on passing bytes
//! through in the background.

use std::io::{self, Read, Write};
use std::sync::{Arc, Condvar, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use chrono::Utc;

use crate::testlog::{self, Evidence, Line, Recognizer, Stream};

/// The most bytes of one line the recognisers see.
pub const MAX_LINE: usize = 16 * 1024;

/// The most pieces of evidence kept from one run.
const MAX_EVIDENCE: usize = 1000;

struct Shared {
    recognizers: Vec<Box<dyn Recognizer>>,
    evidence: Vec<Evidence>,
    /// How many captured streams are still open.
    open: usize,
}

impl Shared {
    fn feed(&mut self, line: &Line) {
        for r in &mut self.recognizers {
            let found = r.feed(line);
            let room = MAX_EVIDENCE.saturating_sub(self.evidence.len());
            self.evidence.extend(found.into_iter().take(room));
        }
    }
}

/// The readers of the command's captured streams.
pub struct Capture {
    shared: Arc<(Mutex<Shared>, Condvar)>,
}

impl Capture {
    /// Starts passing `stdout` and `stderr` (the command's pipes or pseudo-terminals, when
    /// captured) through to crashdelta's own, reading their lines.
    pub fn start(
        stdout: Option<impl Read + Send + 'static>,
        stderr: Option<impl Read + Send + 'static>,
    ) -> Capture {
        let open = usize::from(stdout.is_some()) + usize::from(stderr.is_some());
        let shared = Arc::new((
            Mutex::new(Shared {
                recognizers: testlog::recognizers(),
                evidence: Vec::new(),
                open,
            }),
            Condvar::new(),
        ));
        if let Some(out) = stdout {
            let shared = shared.clone();
            thread::spawn(move || read_to_end(out, Stream::Stdout, &shared));
        }
        if let Some(err) = stderr {
            let shared = shared.clone();
            thread::spawn(move || read_to_end(err, Stream::Stderr, &shared));
        }
        Capture { shared }
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
    /// passing bytes through (a process the command left running may still write).
    pub fn evidence(&self) -> Vec<Evidence> {
        let Ok(mut shared) = self.shared.0.lock() else {
            return Vec::new();
        };
        let mut all = shared.evidence.clone();
        for r in &mut shared.recognizers {
            all.extend(r.finish());
        }
        all.truncate(MAX_EVIDENCE);
        all
    }
}

fn read_to_end(from: impl Read, stream: Stream, shared: &(Mutex<Shared>, Condvar)) {
    pass(from, stream, &shared.0);
    if let Ok(mut s) = shared.0.lock() {
        s.open = s.open.saturating_sub(1);
    }
    shared.1.notify_all();
}

/// Passes one stream through, splitting it into lines for the recognisers. The lines of one
/// read are handed over together (one lock, one clock reading): a command printing 100 MB must
/// not pay per line.
fn pass(mut from: impl Read, stream: Stream, shared: &Mutex<Shared>) {
    let mut buf = vec![0u8; 64 * 1024];
    let mut line: Vec<u8> = Vec::new();
    // Whether the line being gathered went over MAX_LINE (the rest of it is dropped).
    let mut long = false;
    // Once crashdelta's own stream is gone (a closed pipe), bytes are still read, so that the
    // command never blocks on a full pipe, and still read for evidence.
    let mut forward = true;
    let mut done: Vec<Vec<u8>> = Vec::new();
    loop {
        let n = match from.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(_) => break,
        };
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
        for piece in chunk.split_inclusive(|&b| b == b'\n') {
            let ends = piece.last() == Some(&b'\n');
            let body = if ends {
                piece.get(..piece.len() - 1).unwrap_or_default()
            } else {
                piece
            };
            if !long {
                let room = MAX_LINE.saturating_sub(line.len());
                line.extend_from_slice(body.get(..room.min(body.len())).unwrap_or_default());
                long = body.len() > room;
            }
            if ends {
                done.push(std::mem::take(&mut line));
                long = false;
            }
        }
        emit(&mut done, stream, shared);
    }
    if !line.is_empty() {
        done.push(line);
    }
    emit(&mut done, stream, shared);
}

fn emit(lines: &mut Vec<Vec<u8>>, stream: Stream, shared: &Mutex<Shared>) {
    if lines.is_empty() {
        return;
    }
    let at = Utc::now();
    let Ok(mut shared) = shared.lock() else {
        lines.clear();
        return;
    };
    for bytes in lines.drain(..) {
        let text = String::from_utf8_lossy(&bytes);
        let text = text.trim_end_matches('\r');
        let text = if text.contains(['\u{1b}', '\r']) {
            testlog::plain(text)
        } else {
            text.to_owned()
        };
        shared.feed(&Line { stream, at, text });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A faulthandler dump read from a pipe comes out as evidence; long lines are cut for the
    /// recognisers only.
    #[test]
    fn lines_reach_the_recognisers() {
        let shared = Mutex::new(Shared {
            recognizers: testlog::recognizers(),
            evidence: Vec::new(),
            open: 0,
        });
        let dump = format!(
            "tests/test_mps.py::test_gather Fatal Python error: Segmentation fault\n\n\
             Current thread 0x00000001f6e1c840 (most recent call first):\n  \
             File \"/x/tests/test_mps.py\", line 13 in test_gather\n{}\n",
            "x".repeat(3 * MAX_LINE)
        );
        pass(dump.as_bytes(), Stream::Stderr, &shared);
        let capture = Capture {
            shared: Arc::new((shared, Condvar::new())),
        };
        let evidence = capture.evidence();
        assert_eq!(evidence.len(), 1, "{evidence:#?}");
        assert_eq!(
            evidence[0].test.as_deref(),
            Some("tests/test_mps.py::test_gather")
        );
    }
}
