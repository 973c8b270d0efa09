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
//!   2ship2harkinian/2ship2harkinian#1778, `testdata/field/cut-pastes/17-*`);
//! - a blank line after every line: Markdown joins the lines of a paragraph, so a report pasted
//!   outside a code fence is often double-spaced by hand or by the tool it was copied from to keep
//!   its lines. A thread's frames end at a blank line, so such a paste read as frame 0 and a
//!   "truncated" report (alibaba/GCanvas#34, `testdata/field/cut-pastes/30-*`);
//! - the same prefix on every line, put there by the log the report was printed to (`[trace] `
//!   in airsdk/Adobe-Runtime-Support#2993, `testdata/field/cut-pastes/31-*`), a comment marker
//!   (`# `, `// `) or a table (`| `).
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

/// Spaces that are not U+0020: a web page's `&nbsp;` copied as the character (U+00A0), figure
/// and narrow no-break spaces. Read as spaces. Not the ideographic space (U+3000): Japanese text
/// around a paste uses it as a space of its own (`#　作者` in a README above a report).
const ODD_SPACES: &[char] = &['\u{a0}', '\u{2007}', '\u{202f}'];

/// Characters that take no room: zero-width spaces and joiners, the word joiner, a byte-order
/// mark inside the text. Chat tools and editors put them in; they are taken out.
const ZERO_WIDTH: &[char] = &['\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{feff}'];

/// The text with odd spaces read as spaces, zero-width characters taken out and classic Mac
/// line endings (a bare CR) turned into line breaks; `None` when it has none of them. Unlike
/// [`clean`] this may touch a JSON report: JSON allows none of them between its tokens, so a
/// pasted `.ips` holding them does not parse (its caller keeps the result only when it reads
/// better).
pub fn normalize_characters(text: &str) -> Option<(String, Vec<&'static str>)> {
    // Every character looked for but the CR is outside ASCII: a word-at-a-time check first.
    let ascii = text.is_ascii();
    if ascii && memchr::memchr(b'\r', text.as_bytes()).is_none() {
        return None;
    }
    let odd = !ascii && text.contains(ODD_SPACES);
    let zero = !ascii && text.contains(ZERO_WIDTH);
    // Only a text with no line feed at all: one with both is read line by line already.
    let lone_cr = text.contains('\r') && !text.contains('\n');
    if !odd && !zero && !lone_cr {
        return None;
    }
    let mut undone = Vec::new();
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if ODD_SPACES.contains(&c) {
            out.push(' ');
        } else if ZERO_WIDTH.contains(&c) {
            continue;
        } else if c == '\r' && lone_cr {
            out.push('\n');
        } else {
            out.push(c);
        }
    }
    if odd {
        undone.push("non-breaking spaces were read as spaces");
    }
    if zero {
        undone.push("zero-width characters were taken out");
    }
    if lone_cr {
        undone.push(
            "line breaks written as a bare carriage return (classic Mac) were read as line breaks",
        );
    }
    Some((out, undone))
}

/// The text with HTML wrappers removed, `<br>` turned back into line breaks, entities decoded
/// and glued lines split; `None` when there is nothing to undo.
pub fn clean(text: &str) -> Option<(String, Vec<&'static str>)> {
    // A JSON report inside the text (a "Full Report" part) is left as it is: it is read by a JSON
    // parser, and its strings may hold anything.
    let json_at = json_start(text);
    let (text, json) = text.split_at(json_at);
    let html = has_html(text);
    let glued = text.lines().any(|l| glue_point(l).is_some());
    let mut undone = Vec::new();
    let mut text: Cow<str> = if html {
        undone.push("HTML markup around the report was removed");
        Cow::Owned(strip_html(text))
    } else {
        Cow::Borrowed(text)
    };
    // Looked for after the HTML is gone: `<br>` may have been what ended the lines.
    let prefixed = match line_prefix(&text) {
        Some(prefix) => {
            undone.push("a prefix every line began with was taken off");
            text = Cow::Owned(strip_prefix(&text, prefix));
            true
        }
        None => false,
    };
    let double = double_spaced(&text);
    if double {
        undone.push("the blank line after every line was taken out");
        text = Cow::Owned(single_spaced(&text));
    }
    let collapsed = match split_collapsed(&text) {
        Some(split) => {
            undone.push(
                "a report whose line breaks had become spaces was split into its lines again",
            );
            text = Cow::Owned(split);
            true
        }
        None => false,
    };
    if !html && !glued && !prefixed && !double && !collapsed {
        return None;
    }
    let mut out = String::with_capacity(text.len());
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

/// The prefix (nearly) every line of `text` starts with, when it is one a log, a comment or a
/// table put there: ending in whitespace and holding a character that is neither whitespace, a
/// letter nor a digit (`[trace] `, `# `, `| `). Indentation alone is not one (the reader takes
/// it off), nor a run of words lines happen to begin with (`Exception `), nor a JSON fragment's
/// `  "`, which ends in no whitespace. Blank lines and Markdown fences are not counted, and one
/// line in ten may lack it (a line of prose above the paste).
fn line_prefix(text: &str) -> Option<&str> {
    let is_fence = |l: &str| {
        let t = l.trim_start();
        t.starts_with("```") || t.starts_with("~~~")
    };
    let lines: Vec<&str> = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !is_fence(l))
        .collect();
    // Three lines at least: two lines may share anything.
    if lines.len() < 3 {
        return None;
    }
    // The candidate is what the two middle lines share: inside the paste, whatever is around it.
    let middle = lines.len() / 2;
    let (a, b) = (lines.get(middle - 1)?, lines.get(middle)?);
    // A log's or a comment's prefix is short; looking no further than `MAX_PREFIX` bytes keeps
    // the candidates few (two long lines of `[ [ [ ...` were one candidate per word, each
    // compared with every line: quadratic).
    let common = a
        .bytes()
        .zip(b.bytes())
        .take(MAX_PREFIX)
        .take_while(|(x, y)| x == y)
        .count();
    // Cut at 64 bytes, the shared part may end inside a character.
    let common = (0..=common).rev().find(|&n| a.is_char_boundary(n))?;
    let mut shared = a.get(..common)?;
    // From the longest candidate to the shortest: each ends after a mark and one whitespace
    // character. Lines indented alike below the mark (a quoted JSON body's `>     {`) or two
    // middle lines of the same kind (`[trace] Thread 0:`, `[trace] Thread 1:`) share more than
    // the prefix.
    loop {
        let marks = shared.trim_end();
        if let Some(space) = shared.get(marks.len()..).and_then(|s| s.chars().next()) {
            let prefix = shared.get(..marks.len() + space.len_utf8())?;
            if !prefix
                .chars()
                .any(|c| !c.is_whitespace() && !c.is_alphanumeric())
            {
                return None;
            }
            let with = lines.iter().filter(|l| l.starts_with(prefix)).count();
            if with * 10 >= lines.len() * 9 {
                return Some(prefix);
            }
        }
        // The next candidate ends before the last word.
        let word = marks.rfind(char::is_whitespace)?;
        shared = marks.get(..word + 1)?;
    }
}

/// The longest line prefix [`line_prefix`] looks for: `[2026-12-01 10:41:07.123] [trace] ` fits.
const MAX_PREFIX: usize = 64;

/// `text` with `prefix` taken off every line that has it.
fn strip_prefix(text: &str, prefix: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.lines() {
        out.push_str(line.strip_prefix(prefix).unwrap_or(line));
        out.push('\n');
    }
    out
}

/// Whether `text` has a blank line after (nearly) every line: at least six lines that are not
/// blank, and at most one in twenty of them followed directly by another. A report's own blank
/// lines only separate its sections; a paste double-spaced has them between all its lines.
fn double_spaced(text: &str) -> bool {
    let mut lines = 0usize;
    let mut adjacent = 0usize;
    let mut previous_blank = true;
    for line in text.lines() {
        let blank = line.trim().is_empty();
        if !blank {
            lines += 1;
            if !previous_blank {
                adjacent += 1;
            }
        }
        previous_blank = blank;
    }
    lines >= 6 && adjacent * 20 <= lines
}

/// `text` with the blank lines a double-spacing added taken out: a run of `n` blank lines
/// becomes `n / 2`, so the one between two lines goes and a section break (three) stays one.
fn single_spaced(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut blanks = 0usize;
    for line in text.lines() {
        if line.trim().is_empty() {
            blanks += 1;
            continue;
        }
        for _ in 0..blanks / 2 {
            out.push('\n');
        }
        blanks = 0;
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// The keys of a text report's header, thread and image lines, as they stand in a report whose
/// line breaks became spaces (a web forum's rendering, a chat): each is split off before it.
/// Where one key ends another (`OS Version`, `Version`; `Parent Process`, `Process`), the
/// longer comes first, so the leftmost match is the whole key.
static COLLAPSED_KEY: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r"(?:^|\s)(?:Incident Identifier|CrashReporter Key|Hardware Model|Parent Process|Responsible Process|Responsible|Process|Path|Identifier|OS Version|Report Version|Baseband Version|Version|Code Type|Role|Coalition|User ID|Date/Time|Launch Time|Release Type|Anonymous UUID|Sleep/Wake UUID|Time Awake Since Boot|Time Since Wake|System Integrity Protection|Monitor Type|Triggered by Thread|Crashed Thread|Exception Type|Exception Subtype|Exception Codes|Exception Reason|Exception Message|Exception Note|Termination Reason|Termination Signal|Termination Description|Terminating Process|Kernel Triage|Highlighted by Thread|Application Specific Information|Last Exception Backtrace|Binary Images|Thread \d+ Crashed|Thread \d+ name|Thread \d+|Thread \d+ crashed with [A-Za-z0-9 ]+ Thread State(?: \(\d+-bit\))?):",
    )
    .unwrap_or_else(|e| panic!("built-in pattern: {e}"))
});

/// How many header keys a line holds before it is read as a collapsed report.
const COLLAPSED_KEYS: usize = 4;

/// How many frames, counted from 0, a thread of a collapsed report shows: a sentence that names
/// a report's keys (an issue template asking for `the Process: and Path: lines … Thread 0
/// Crashed:`) has no `0 image … 1 image … 2 image` after its thread line.
const COLLAPSED_FRAMES: usize = 3;

/// The text with each collapsed line ([`expand_collapsed`]) split into its lines; `None`, and
/// no copy of the text, when no line is collapsed.
fn split_collapsed(text: &str) -> Option<String> {
    let mut out: Option<String> = None;
    let mut at = 0;
    for line in text.split_inclusive('\n') {
        match (
            expand_collapsed(line.trim_end_matches(['\n', '\r'])),
            &mut out,
        ) {
            (Some(lines), out) => {
                let out = out.get_or_insert_with(|| text.get(..at).unwrap_or_default().to_owned());
                out.push_str(&lines);
                out.push('\n');
            }
            (None, Some(out)) => out.push_str(line),
            (None, None) => {}
        }
        at += line.len();
    }
    out
}

/// The parts of a collapsed line: from each header key to the next (and what stands before the
/// first), with how many keys there are.
fn collapsed_parts(line: &str) -> (Vec<&str>, usize) {
    let mut cuts: Vec<usize> = COLLAPSED_KEY
        .find_iter(line)
        .map(|m| m.start() + (m.as_str().len() - m.as_str().trim_start().len()))
        .collect();
    let keys = cuts.len();
    cuts.insert(0, 0);
    cuts.push(line.len());
    let parts = cuts
        .windows(2)
        .filter_map(|w| line.get(*w.first()?..*w.get(1)?))
        .map(str::trim)
        .filter(|part| !part.is_empty())
        .collect();
    (parts, keys)
}

/// A line of a report whose line breaks became spaces, split into the report's lines: before
/// each header key, inside a thread before each frame (the frame numbers count up from 0, so the
/// next frame starts at the next number that is followed by a word (an image), not at an offset:
/// `+ 408 1 libMTLHud` has `408` before frame 1), and under `Binary Images:` before each range.
/// `None` unless the line is one: 200 characters or more, header keys, and a thread line followed
/// by its frames, counting up from 0.
fn expand_collapsed(line: &str) -> Option<String> {
    if line.len() < 200 {
        return None;
    }
    let (parts, keys) = collapsed_parts(line);
    if keys < COLLAPSED_KEYS {
        return None;
    }
    let mut framed = false;
    let split: Vec<(&str, Vec<usize>)> = parts
        .into_iter()
        .map(|part| {
            let whole = || vec![0, part.len()];
            let starts = if part.starts_with("Thread ") {
                let frames = frame_starts(part);
                // The thread's own line and the end are starts too.
                framed |= frames.len() >= COLLAPSED_FRAMES + 2;
                // Text before the first key that only begins with the word is not a thread.
                if part.contains(':') { frames } else { whole() }
            } else if part.starts_with("Binary Images") {
                image_starts(part)
            } else {
                whole()
            };
            (part, starts)
        })
        .collect();
    if !framed {
        return None;
    }
    let mut out = String::with_capacity(line.len() + 64);
    for (part, starts) in &split {
        let mut at = 0;
        for &to in starts {
            let piece = part.get(at..to).unwrap_or_default().trim();
            if !piece.is_empty() {
                out.push_str(piece);
                out.push('\n');
            }
            at = to;
        }
    }
    out.truncate(out.trim_end().len());
    Some(out)
}

/// Where a collapsed thread's lines start: its own line at 0, then each frame, and the end. What
/// stands before frame 0 (`Dispatch queue: …`) stays on the thread's line; frames come after
/// the thread's own number and its colons (`Thread 2 Crashed::`).
fn frame_starts(part: &str) -> Vec<usize> {
    let mut starts = vec![0];
    let colon = part.find(':').unwrap_or_default();
    let mut from = part.get(colon..).map_or(colon, |r| {
        colon + (r.len() - r.trim_start_matches(':').len())
    });
    let mut number = 0u64;
    while let Some(at) = part.get(from..).and_then(|r| frame_start(r, number)) {
        starts.push(from + at);
        from += at + number.to_string().len();
        number += 1;
    }
    starts.push(part.len());
    starts
}

/// Where a collapsed `Binary Images:` part's lines start: before each `0x… - 0x…` range.
fn image_starts(part: &str) -> Vec<usize> {
    let mut starts = vec![0];
    starts.extend(
        IMAGE_RANGE
            .find_iter(part)
            .map(|m| m.start())
            .filter(|&at| at > 0),
    );
    starts.push(part.len());
    starts
}

static IMAGE_RANGE: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"0x[0-9a-fA-F]+ ?- ?0x[0-9a-fA-F]+ ")
        .unwrap_or_else(|e| panic!("built-in pattern: {e}"))
});

/// Where frame `number` starts in a collapsed thread: the number as a word of its own, not after
/// a `+` (that is an offset: `+ 4`), followed by a word that is not a number or a `+` (an image
/// name), or by nothing (a paste cut after the number). Linear: a candidate is a word of its
/// own, and each word is looked at once.
fn frame_start(text: &str, number: u64) -> Option<usize> {
    let word = number.to_string();
    let mut from = 0;
    while let Some(found) = text.get(from..)?.find(word.as_str()) {
        let at = from + found;
        from = at + word.len();
        let before = text.get(..at).unwrap_or_default();
        if !(at == 0 || before.ends_with(char::is_whitespace)) || before.trim_end().ends_with('+') {
            continue;
        }
        let after = text.get(at + word.len()..).unwrap_or_default();
        let next = after.trim_start();
        if next.is_empty() {
            return Some(at);
        }
        if !after.starts_with(char::is_whitespace) {
            continue;
        }
        let next = next.get(..next.find(char::is_whitespace).unwrap_or(next.len()));
        if next.is_some_and(|w| w != "+" && !w.bytes().all(|b| b.is_ascii_digit())) {
            return Some(at);
        }
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

    /// A report whose line breaks became single spaces is split before its header keys (the
    /// longest spelling of each: `Incident Identifier`, not `Identifier`; `OS Version`, not
    /// `Version`), before each frame, counting up from 0 past offsets that look like frame
    /// numbers (`+ 1 1 libB`), and before each binary image.
    #[test]
    fn a_report_whose_line_breaks_became_spaces_is_split() {
        let lines = [
            "Incident Identifier: 1F093635-2DB8-4B29-9DA5-488A6609277B",
            "Process: app [16584]",
            "Parent Process: launchd [1]",
            "OS Version: macOS 15.7 (24G222)",
            "Exception Type: EXC_BAD_ACCESS (SIGSEGV)",
            "Crashed Thread: 2",
            "Thread 2 Crashed:: Dispatch queue: q",
            "0 libA.dylib f + 1",
            "1 libB.dylib g(int, int) + 2",
            "2 libB.dylib 0x0000000180a0b0c0 h + 3",
            "3 libC.dylib 3 + 4",
            "Binary Images:",
            "0x100000000 - 0x100003fff a arm64 <1f0936352db84b299da5488a6609277b> /a",
            "0x180000000 - 0x180ffffff libA.dylib arm64 <2f0936352db84b299da5488a6609277b> /usr/lib/libA.dylib",
        ];
        let one = format!("It crashed: {}", lines.join(" "));
        let (out, undone) = clean(&one).unwrap_or_else(|| panic!("not split: {one}"));
        let got: Vec<&str> = out.lines().collect();
        assert_eq!(got.first(), Some(&"It crashed:"));
        assert_eq!(got.get(1..), Some(&lines[..]), "{out}");
        assert_eq!(
            undone,
            ["a report whose line breaks had become spaces was split into its lines again"]
        );
        // Sentences naming a report's keys are no report (an issue template; a document that
        // even names two frames), nor is a long line of keys without a thread.
        for text in [
            "When you file a bug, please include the top of the crash log: the Process: and Path: lines, the OS Version: line, the Exception Type: and Exception Codes: lines, and everything under Thread 0 Crashed: or whichever thread crashed, since that is what we need to tell these crashes apart.",
            "In a crash report, the Process: line names the app, the Path: line says where it lives, the Identifier: line gives its bundle id, and the Exception Type: line says what signal killed it. Under Thread 0 Crashed: you will see the frames: 0 libsystem_kernel.dylib is the top frame and 1 libsystem_c.dylib abort is its caller.",
            &lines.get(..6).unwrap_or_default().join(" ").repeat(3),
        ] {
            assert!(text.len() >= 200, "{text}");
            assert!(clean(text).is_none(), "{text}");
        }
    }

    /// A double-spaced paste loses the blank line after each line; a run of three (a section
    /// break, doubled) keeps one. A report's own blank lines between sections, a short text and
    /// a text with lines next to each other are not double-spaced.
    #[test]
    fn a_blank_line_after_every_line_is_taken_out() {
        let paste = "Exception Type: SIGSEGV\n\nCrashed Thread: 0\n\n\n\nThread 0 Crashed:\n\n\
                     0  Metal  0x1 a + 1\n\n1  Metal  0x2 b + 2\n\n2  Metal  0x3 c + 3\n\n";
        let (text, undone) = clean(paste).unwrap();
        assert_eq!(
            text,
            "Exception Type: SIGSEGV\nCrashed Thread: 0\n\nThread 0 Crashed:\n\
             0  Metal  0x1 a + 1\n1  Metal  0x2 b + 2\n2  Metal  0x3 c + 3\n"
        );
        assert_eq!(undone, ["the blank line after every line was taken out"]);
        let report = "Process: a [1]\nPath: /a\n\nException Type: EXC_CRASH (SIGABRT)\n\
                      Crashed Thread: 0\n\nThread 0 Crashed:\n0  a  0x1 b + 1\n\n\
                      Thread 1:\n0  a  0x1 b + 1\n";
        assert!(!double_spaced(report));
        assert!(!double_spaced("a\n\nb\n\nc\n\nd\n\ne\n"), "five lines");
        // One pair of lines next to each other in twenty is allowed, two in twenty is not.
        let spaced = |lines: usize, pairs: usize| {
            let mut t = String::new();
            for i in 0..lines {
                t.push_str(&format!("line {i}\n"));
                if i >= pairs * 2 || i % 2 == 1 {
                    t.push('\n');
                }
            }
            t
        };
        assert!(double_spaced(&spaced(20, 1)));
        assert!(!double_spaced(&spaced(20, 2)));
    }

    /// A prefix on (nearly) every line, from a log or a comment, is taken off; fences and one
    /// line of prose in ten need not have it. What is not a prefix is left alone.
    #[test]
    fn a_prefix_on_every_line_is_taken_off() {
        let paste = "Here is the log:\n```\n[trace] Process:  a [1]\n[trace] Exception Type:  SIGSEGV\n\
                     [trace] Crashed Thread:  0\n[trace] \n[trace] Thread 0 Crashed:\n\
                     [trace] 0  a  0x1 b + 1\n[trace] 1  a  0x2 c + 2\n[trace] 2  a  0x3 d + 3\n\
                     [trace] 3  a  0x4 e + 4\n```\n";
        assert_eq!(line_prefix(paste), Some("[trace] "));
        let (text, undone) = clean(paste).unwrap();
        assert!(
            text.contains("\nProcess:  a [1]\n") && text.contains("\n0  a  0x1 b + 1\n"),
            "{text}"
        );
        assert_eq!(undone, ["a prefix every line began with was taken off"]);
        assert_eq!(line_prefix("# a\n# b\n# c\n"), Some("# "));
        // The middle lines share more than the prefix: a quoted JSON body's indentation, two
        // thread lines.
        assert_eq!(
            line_prefix("> {\"a\": 1}\n> {\n>   \"b\" : [\n>     {\n>     }\n>   ]\n> }\n"),
            Some("> ")
        );
        assert_eq!(
            line_prefix(
                "[t] Process: a\n[t] Path: b\n[t] Thread 0:\n[t] Thread 1:\n[t] 0  a  0x1 b + 1\n"
            ),
            Some("[t] ")
        );
        assert_eq!(line_prefix("// a\n// b\n\n// c\n"), Some("// "));
        for not in [
            // Words lines begin with, indentation, a JSON fragment's keys, frames 10 to 19.
            "Exception Type: a\nException Codes: b\nException Note: c\n",
            "    a\n    b\n    c\n",
            "  \"name\" : \"a\",\n  \"path\" : \"b\",\n  \"uuid\" : \"c\"\n",
            "10  a  0x1 b + 1\n11  a  0x2 c + 2\n12  a  0x3 d + 3\n",
            // Two lines may share anything; two lines in ten without it are not a prefix.
            "[x] a\n[x] b\n",
            "p\nq\n[x] a\n[x] b\n[x] c\n[x] d\n[x] e\n[x] f\n[x] g\n[x] h\n",
        ] {
            assert_eq!(line_prefix(not), None, "{not}");
        }
        assert_eq!(
            line_prefix("p\n[x] a\n[x] b\n[x] c\n[x] d\n[x] e\n[x] f\n[x] g\n[x] h\n[x] i\n"),
            Some("[x] ")
        );
    }

    /// Odd spaces become spaces, zero-width characters go, a text of bare CRs gets line feeds;
    /// plain ASCII, CRLF and a CR inside a text with line feeds are left alone.
    #[test]
    fn odd_characters_are_normalised() {
        let (text, undone) =
            normalize_characters("a\u{a0}b\u{202f}c\u{200b}d\u{feff}e\rf\r").unwrap();
        assert_eq!(text, "a b cde\nf\n");
        assert_eq!(undone.len(), 3, "{undone:?}");
        assert!(normalize_characters("Process: a [1]\nThread 0:\n").is_none());
        assert!(normalize_characters("Process: a [1]\r\nThread 0:\r\n").is_none());
        assert!(normalize_characters("Process: a\r [1]\nThread 0:\n").is_none());
        // Other characters outside ASCII are kept.
        assert!(normalize_characters("Process: Safari — Ünïcode [1]\n").is_none());
    }
}
