//! Undoing what a web page did to a pasted report before it is read.
//!
//! Reports reach crashdelta through GitHub issues, forums and chat as often as from disk, and the
//! trip leaves marks that a line-based reader trips over:
//!
//! - HTML around or inside the paste: `<details><summary>crash log</summary>`, `<pre>`, `<code>`,
//!   `<p>`, lines ended by `<br>` instead of newlines, `&lt;`/`&gt;`/`&amp;` for `<`, `>`, `&`
//!   (C++ template arguments come out as `ComputeContext&lt;AGX::G16::Encoders...&gt;`);
//! - line breaks replaced by runs of spaces, so `Exception Codes:` sits at the end of the
//!   `Exception Subtype:` line and frame 0 at the end of the `Thread 0 Crashed::` line (seen in
//!   2ship2harkinian/2ship2harkinian#1778, `testdata/field/cut-pastes/17-*`).
//!
//! Markdown's own marks (a stray backtick, a fence glued to the first line, a block quote's `>`,
//! `__` turned into `**`) are taken off line by line where the text is read
//! ([`super::text::strip_debris`]); this module handles what needs the whole text.
//!
//! [`clean`] is only called for inputs that do not start with a JSON header line: a report
//! written by macOS is never touched, and the common case pays nothing.

use std::borrow::Cow;

/// Tags that wrap pastes. A line made only of these (and whitespace) is dropped; at the start or
/// end of a line they are taken off.
const WRAPPER_TAGS: &[&str] = &[
    "<details>",
    "</details>",
    "<pre>",
    "</pre>",
    "<code>",
    "</code>",
    "<p>",
    "</p>",
    "<tt>",
    "</tt>",
    "<samp>",
    "</samp>",
    "<blockquote>",
    "</blockquote>",
];

/// How many spaces in a row mean "a line break was lost here", not column padding. Apple pads
/// columns with at most a tab and ~30 spaces, always followed by a value, never by a key or a
/// frame number.
const GLUE_RUN: usize = 20;

/// The text with HTML wrappers removed, `<br>` turned back into line breaks, entities decoded
/// and glued lines split; `None` when there is nothing to undo.
pub fn clean(text: &str) -> Option<(String, Vec<&'static str>)> {
    // A JSON report inside the text (a "Full Report" part) is left as it is: it is read by a JSON
    // parser, and its strings may hold anything.
    let json_at = json_start(text);
    let (text, json) = text.split_at(json_at);
    let html = has_html(text);
    let glued = text.lines().any(|l| glue_point(l).is_some());
    if !html && !glued {
        return None;
    }
    let mut undone = Vec::new();
    let mut out = String::with_capacity(text.len());
    let text: Cow<str> = if html {
        undone.push("HTML markup around the report was removed");
        Cow::Owned(strip_html(text))
    } else {
        Cow::Borrowed(text)
    };
    for line in text.lines() {
        let mut rest = line;
        while let Some(at) = glue_point(rest) {
            out.push_str(rest.get(..at).unwrap_or_default().trim_end());
            out.push('\n');
            rest = rest.get(at..).unwrap_or_default();
            if !undone.contains(&"lines run together by the paste were split") {
                undone.push("lines run together by the paste were split");
            }
        }
        out.push_str(rest);
        out.push('\n');
    }
    out.push_str(json);
    Some((out, undone))
}

/// Where the first line that starts a JSON object (`{"...`) begins, or the end of the text.
fn json_start(text: &str) -> usize {
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        if line.trim_start().starts_with("{\"") {
            return at;
        }
        at += line.len();
    }
    text.len()
}

fn has_html(text: &str) -> bool {
    [
        "<br", "<pre", "<details", "<code>", "<summary", "</p>", "&lt;", "&gt;", "&quot;",
    ]
    .iter()
    .any(|tag| text.contains(tag))
}

fn strip_html(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        let mut pieces = vec![line];
        // `<br>` ends a line.
        for br in ["<br />", "<br/>", "<br>"] {
            pieces = pieces.iter().flat_map(|p| p.split(br)).collect();
        }
        for piece in pieces {
            out.push_str(&decode_entities(&strip_tags(piece)));
            out.push('\n');
        }
    }
    out
}

/// Takes wrapper tags off a line and a `<summary>...</summary>` title out of it.
fn strip_tags(line: &str) -> String {
    let mut line = line.to_owned();
    while let (Some(start), Some(end)) = (line.find("<summary"), line.find("</summary>")) {
        if end < start {
            break;
        }
        line.replace_range(start..end + "</summary>".len(), "");
    }
    for tag in WRAPPER_TAGS {
        while let Some(at) = line.find(tag) {
            line.replace_range(at..at + tag.len(), "");
        }
    }
    // `<pre lang="text">`, `<details open>`: opening tags with attributes.
    for open in ["<pre ", "<details ", "<code "] {
        while let Some(at) = line.find(open) {
            let Some(end) = line.get(at..).and_then(|s| s.find('>')) else {
                break;
            };
            line.replace_range(at..at + end + 1, "");
        }
    }
    line
}

fn decode_entities(line: &str) -> Cow<'_, str> {
    if !line.contains('&') {
        return Cow::Borrowed(line);
    }
    let mut out = line.to_owned();
    for (entity, c) in [
        ("&lt;", "<"),
        ("&gt;", ">"),
        ("&quot;", "\""),
        ("&#39;", "'"),
        ("&#x27;", "'"),
        ("&nbsp;", " "),
        // Last, so that `&amp;lt;` becomes `&lt;`, as it was written.
        ("&amp;", "&"),
    ] {
        if out.contains(entity) {
            out = out.replace(entity, c);
        }
    }
    Cow::Owned(out)
}

/// Where a line holds a second report line after a long run of spaces: the byte offset of the
/// second line's start.
fn glue_point(line: &str) -> Option<usize> {
    let bytes = line.as_bytes();
    let mut run = 0usize;
    for (i, &b) in bytes.iter().enumerate() {
        if b == b' ' {
            run += 1;
            continue;
        }
        if run >= GLUE_RUN && i > run && starts_report_line(line.get(i..).unwrap_or_default()) {
            return Some(i);
        }
        run = 0;
    }
    None
}

/// A header line crashdelta reads (`Exception Codes: ...`), a thread line (`Thread 3 Crashed:`)
/// or a frame (`2   QuartzCore   0x1a4a73e84 ...`): not a column of a table (`__CTF   824   1`).
fn starts_report_line(s: &str) -> bool {
    s.starts_with("Thread ")
        || s.starts_with("Binary Images")
        || super::text::is_header_line(s)
        || FRAME.is_match(s)
}

static FRAME: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"^\d{1,4}\s{2,}[A-Za-z?+_]")
        .unwrap_or_else(|e| panic!("built-in pattern: {e}"))
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nothing_to_undo() {
        assert!(clean("Process: a [1]\nException Type: EXC_CRASH (SIGABRT)\n").is_none());
        // The VM region table's columns are not lines run together.
        let table = "REGION TYPE                        SIZE    COUNT (non-coalesced)\n__CTF                               824        1 \n";
        assert!(clean(table).is_none());
        // Column padding is not a lost line break.
        let frame = "0   libsystem_kernel.dylib        \t       0x19cc40b84 __ulock_wait + 8\n";
        assert!(clean(frame).is_none());
    }

    #[test]
    fn html_wrappers_breaks_and_entities() {
        let (text, undone) = clean(
            "<details><summary>crash log</summary><pre>Process: a [1]<br>Exception Type: EXC_BAD_ACCESS (SIGSEGV)<br/>\
             0 AGXMetalG16X 0x1 AGX::ComputeContext&lt;AGX::G16::Encoders&gt;::prepareForEnqueue(bool) + 1268</pre></details>",
        )
        .unwrap();
        assert_eq!(
            text,
            "Process: a [1]\nException Type: EXC_BAD_ACCESS (SIGSEGV)\n\
             0 AGXMetalG16X 0x1 AGX::ComputeContext<AGX::G16::Encoders>::prepareForEnqueue(bool) + 1268\n"
        );
        assert_eq!(undone, ["HTML markup around the report was removed"]);
    }

    #[test]
    fn lines_run_together_are_split() {
        let glued = format!(
            "Exception Subtype: KERN_INVALID_ADDRESS at 0x10{}Exception Codes:   0x1, 0x10\n\
             Thread 0 Crashed::  Dispatch queue: com.apple.main-thread{}0   libobjc.A.dylib   0x19a851820 objc_msgSend + 32\n",
            " ".repeat(30),
            " ".repeat(40)
        );
        let (text, _) = clean(&glued).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(
            lines,
            [
                "Exception Subtype: KERN_INVALID_ADDRESS at 0x10",
                "Exception Codes:   0x1, 0x10",
                "Thread 0 Crashed::  Dispatch queue: com.apple.main-thread",
                "0   libobjc.A.dylib   0x19a851820 objc_msgSend + 32",
            ]
        );
    }
}
