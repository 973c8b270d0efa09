//! The report model and its parsers: bytes in, a typed [`Report`] out.
//!
//! This layer knows nothing of files, terminals or exit codes. [`parse`] accepts whatever a user
//! may hand over — a `.ips` file, a legacy `.crash`, Console's "Translated Report" composite, a
//! report pasted into a Markdown issue, a log with lines before the report — finds the report
//! inside, and either returns it or says specifically why there is none. It never panics on
//! input.

pub mod archive;
mod bugtype;
mod ips;
mod lenient;
mod locate;
mod markup;
mod model;
mod peek;
mod salvage;
mod surrogate;
mod text;
mod util;

pub use model::*;
pub use peek::{PEEK_BYTES, Peek, peek, peek_first_line};
pub use util::parse_time;

use thiserror::Error;

/// Why no report came out of an input.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ParseError {
    /// The input is something else: a spindump, a kernel panic log, an lldb backtrace, a
    /// fragment. Not an error in the input; an answer.
    #[error("not a crash report: {reason}")]
    NotAReport {
        /// What the input is instead.
        what: NotAReport,
        /// What was found and why it is not a crash report, as a sentence for the user
        /// (`a kernel panic log (panic(cpu 0 caller ...)): the kernel stopped, not one process`).
        reason: String,
    },
    /// The report is cut short. A report that is still being written looks like this; reading it
    /// again later may succeed.
    #[error("incomplete report: {0}")]
    Incomplete(String),
}

impl ParseError {
    /// Whether the input is something other than a crash report (an answer about the input), as
    /// opposed to a report cut short (which may parse once it is complete).
    pub fn is_not_a_report(&self) -> bool {
        matches!(self, ParseError::NotAReport { .. })
    }
}

/// What an input that is not a crash report is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum NotAReport {
    /// Nothing, or only whitespace.
    Empty,
    /// Binary data: more than 2% control characters in the first 8 KiB.
    Binary,
    /// A kernel panic log (`panic(cpu 0 caller ...)`): the kernel stopped, not one process.
    KernelPanic,
    /// A spindump, stackshot or sample report (`Data Source: Stackshots`, threads with sample
    /// counts): samples of a running or hung process, not a crash.
    Spindump,
    /// A debugger's backtrace, not a report macOS wrote: lldb's (`* thread #1, ... stop reason =
    /// ...`, or its `frame #0: 0x...` lines alone) or one copied from Xcode's debug navigator
    /// (`Thread 9#0 (null) in -[...] ()`, `#4 0x... in ... ()`). Xcode's debugger is lldb,
    /// hence the name.
    LldbBacktrace,
    /// An uncaught-exception backtrace (`First throw call stack`) without the report around it.
    ExceptionBacktrace,
    /// Part of a text report without its header.
    TextFragment,
    /// Part of a JSON `.ips` body without its beginning.
    JsonFragment,
    /// None of the above: no `.ips` header line, no JSON report body, no `Process:` line.
    Unrecognised,
}

impl NotAReport {
    /// The name as the JSON output spells it (`kernel-panic`, `text-fragment`).
    pub fn as_str(self) -> &'static str {
        match self {
            NotAReport::Empty => "empty",
            NotAReport::Binary => "binary",
            NotAReport::KernelPanic => "kernel-panic",
            NotAReport::Spindump => "spindump",
            NotAReport::LldbBacktrace => "lldb-backtrace",
            NotAReport::ExceptionBacktrace => "exception-backtrace",
            NotAReport::TextFragment => "text-fragment",
            NotAReport::JsonFragment => "json-fragment",
            NotAReport::Unrecognised => "unrecognised",
        }
    }
}

/// Which threads' frames a parse reads.
#[derive(Debug, Clone, Copy, Default)]
pub enum Frames {
    /// Every thread's.
    #[default]
    All,
    /// The crashed thread's, and those of the other threads that may have a frame the [`Skim`]
    /// asks for; the others are left unread ([`Thread::frames_skipped`]).
    Skim(Skim),
}

/// The frames a skimming parse reads besides the crashed thread's ([`Frames::Skim`]).
///
/// A `.ips` body gives every thread's frames, and reading them is most of the cost of reading a
/// report: 20 to 70 threads, most of them parked in the kernel, against the one that crashed.
/// Classification reads the crashed thread, and of the other threads only those in the GPU
/// stack (`crate::classify::racing`). A skimming parse still reads every thread's name,
/// queue and `triggered`, and keeps the text of each other thread's frames until the images are
/// known; it then reads the frames of a thread only when the text may hold a frame in an image
/// [`image`](Self::image) accepts, or one of [`needles`](Self::needles). "May" is decided
/// conservatively: a frame whose image number is not a plain in-range number, an escape
/// (`\u0041`) anywhere, or the compact `[image, offset]` spelling, reads the thread. So a
/// skimming parse gives the same report as a whole one but for the unread frames and their
/// warnings, and only `.ips` bodies are skimmed (a text report is read line by line anyway).
#[derive(Debug, Clone, Copy)]
pub struct Skim {
    /// Whether a frame in this image is wanted.
    pub image: fn(&Image) -> bool,
    /// Text whose presence in a thread's frames reads them anyway: a symbol that says where a
    /// frame is when its image does not (`AGX::`).
    pub needles: &'static [&'static str],
}

/// Parses one input. See the module documentation for what is accepted.
pub fn parse(bytes: &[u8]) -> Result<Report, ParseError> {
    parse_with(bytes, Frames::All)
}

/// The text of a report saved as UTF-16, which its byte-order mark announces (`FF FE`, little
/// endian, or `FE FF`); `None` for anything else. macOS never writes one, but a report passed
/// through Windows does: Notepad's "Unicode", Windows PowerShell's `>` and `Out-File`. Read as
/// bytes, every other byte is a NUL and it was "binary data". A unit without its pair, or an odd
/// last byte, is U+FFFD.
fn utf16(bytes: &[u8]) -> Option<String> {
    let (little, rest) = match bytes {
        [0xFF, 0xFE, rest @ ..] => (true, rest),
        [0xFE, 0xFF, rest @ ..] => (false, rest),
        _ => return None,
    };
    let units = rest.chunks(2).map(|pair| match *pair {
        [a, b] if little => u16::from_le_bytes([a, b]),
        [a, b] => u16::from_be_bytes([a, b]),
        // An odd last byte: a unit cut in half, made a lone surrogate so that it reads as U+FFFD.
        _ => 0xDC00,
    });
    Some(
        char::decode_utf16(units)
            .map(|c| c.unwrap_or(char::REPLACEMENT_CHARACTER))
            .collect(),
    )
}

/// [`parse`], reading the frames `frames` says.
pub fn parse_with(bytes: &[u8], frames: Frames) -> Result<Report, ParseError> {
    let unpacked = archive::unpack(bytes);
    let (bytes, packed) = match &unpacked {
        Some(archive::Unpacked::Report(inside, from)) => (inside.as_slice(), Some(from)),
        Some(archive::Unpacked::Refused(why)) => {
            return Err(ParseError::NotAReport {
                what: NotAReport::Binary,
                reason: why.clone(),
            });
        }
        None => (bytes, None),
    };
    let decoded = utf16(bytes);
    let bytes = decoded.as_deref().map_or(bytes, str::as_bytes);
    // `from_utf8` checks valid text several times faster than the lossy conversion does.
    let text = match std::str::from_utf8(bytes) {
        Ok(t) => std::borrow::Cow::Borrowed(t),
        Err(_) => String::from_utf8_lossy(bytes),
    };
    let lossy = matches!(text, std::borrow::Cow::Owned(_));
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let repaired = surrogate::repair(text);
    let text = repaired.as_ref().map_or(text, |(fixed, _)| fixed.as_str());
    let mut report = locate::parse_text(text, bytes, frames)?;
    if let Some((_, count)) = repaired {
        report.warnings.insert(
            0,
            Warning {
                at: "input".into(),
                message: format!(
                    "{count} lone UTF-16 surrogate escape(s) (\\ud800) replaced with U+FFFD; \
                     strict JSON readers refuse the report"
                ),
            },
        );
    }
    if let Some(from) = packed {
        report.warnings.insert(
            0,
            Warning {
                at: "input".into(),
                message: format!("the report was unpacked from {from}"),
            },
        );
    }
    if decoded.is_some() {
        report.warnings.insert(
            0,
            Warning {
                at: "input".into(),
                message: "the input is UTF-16 (its byte-order mark says so), as a report saved \
                          by Windows' Notepad or PowerShell's `>` is; its text was read"
                    .into(),
            },
        );
    }
    if lossy {
        report.warnings.insert(
            0,
            Warning {
                at: "input".into(),
                message: "the input is not valid UTF-8; invalid bytes were replaced with U+FFFD"
                    .into(),
            },
        );
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Both byte orders by their mark; a pair split by the end, and a lone surrogate, are
    /// U+FFFD; no mark, no decoding.
    #[test]
    fn utf16_by_its_byte_order_mark() {
        assert_eq!(
            utf16(&[0xFF, 0xFE, b'P', 0, b'r', 0]).as_deref(),
            Some("Pr")
        );
        assert_eq!(
            utf16(&[0xFE, 0xFF, 0, b'P', 0, b'r']).as_deref(),
            Some("Pr")
        );
        assert_eq!(
            utf16(&[0xFF, 0xFE, b'P', 0, b'r']).as_deref(),
            Some("P\u{fffd}")
        );
        assert_eq!(
            utf16(&[0xFF, 0xFE, 0x3D, 0xD8, b'a', 0]).as_deref(),
            Some("\u{fffd}a")
        );
        assert_eq!(utf16(b"Process: a [1]\n"), None);
        assert_eq!(utf16(&[0xEF, 0xBB, 0xBF, b'P']), None);
    }
}
