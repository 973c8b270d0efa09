//! Finding the report inside an input, choosing the parser, and naming what is not a report.

use super::ips::{self, RawBody};
use super::model::*;
use super::util::Warnings;
use super::{Frames, NotAReport, ParseError, bugtype, markup, salvage, text};
use std::borrow::Cow;

/// How many `{` lines are tried as the start of a JSON report. Real inputs have the header within
/// the first few; the bound keeps a pasted JSON fragment with thousands of `{` lines linear.
const MAX_JSON_CANDIDATES: usize = 64;

/// How many times the input's size the JSON candidates may parse together. Each candidate that is
/// not a report is parsed until it fails, which can be the end of the input: 64 crafted `{` lines
/// in a 64 MiB input parsed 32 times its size (about 2 GiB) before this bound. Real inputs spend
/// one parse on the report and little on the fragments before it; the floor keeps small inputs
/// from ever running out.
const JSON_PARSE_BUDGET_FACTOR: usize = 4;
const JSON_PARSE_BUDGET_FLOOR: usize = 1 << 20;

/// The bytes the JSON candidates of an input of `len` bytes may parse together.
fn json_parse_budget(len: usize) -> usize {
    len.saturating_mul(JSON_PARSE_BUDGET_FACTOR)
        .max(JSON_PARSE_BUDGET_FLOOR)
}

/// Whether a parse of `text` that failed with `e` failed because the text ends there: a body cut
/// inside a string fails on the line break that ends the paste (a control character in a
/// string), and one cut anywhere and followed by a paste's closing fence (```` ``` ````,
/// `</pre>`) fails on that fence. A complete body with a mistake in its last character (a
/// trailing comma before the final `}`) is damaged, not cut (review finding).
fn cut_at_error(text: &str, e: &serde_json::Error) -> bool {
    let debris = |l: &str| {
        let l = l.trim();
        l.is_empty() || l.starts_with("```") || l.starts_with("~~~") || l.starts_with("</")
    };
    let until = parsed_until(text, e);
    let at = until.saturating_sub(1);
    // The line the error is on, and what follows it.
    let line_start = text
        .get(..at)
        .and_then(|t| t.rfind('\n'))
        .map_or(0, |i| i + 1);
    let Some(line) = text.get(line_start..).and_then(|from| from.lines().next()) else {
        return false;
    };
    let in_string = e.to_string().starts_with("control character");
    // Cut inside a string: the error is the line break, and nothing but debris follows it.
    (in_string && text.get(until..).is_some_and(|r| r.lines().all(debris)))
        // Cut, then a fence: the error is on the fence's line (what follows the fence is outside
        // the code block the report was pasted in).
        || (!line.trim().is_empty() && debris(line))
}

/// How far a parse that failed with `e` read into `text`: up to the error, or all of it when the
/// text ended first.
fn parsed_until(text: &str, e: &serde_json::Error) -> usize {
    if e.is_eof() {
        return text.len();
    }
    let line_start = match e.line() {
        0 | 1 => 0,
        n => text
            .match_indices('\n')
            .nth(n - 2)
            .map_or(text.len(), |(i, _)| i + 1),
    };
    line_start.saturating_add(e.column()).min(text.len())
}

struct Line<'a> {
    /// 0-based line number.
    number: usize,
    /// Byte offset of the line start in the text.
    start: usize,
    /// Byte offset just past the line's newline.
    end: usize,
    text: &'a str,
}

fn lines(text: &str) -> impl Iterator<Item = Line<'_>> {
    let mut start = 0;
    text.split_inclusive('\n')
        .enumerate()
        .map(move |(number, raw)| {
            let line = Line {
                number,
                start,
                end: start + raw.len(),
                text: raw.trim_end_matches(['\n', '\r']),
            };
            start += raw.len();
            line
        })
}

pub fn parse_text(text: &str, bytes: &[u8], frames: Frames) -> Result<Report, ParseError> {
    if text.trim().is_empty() {
        return Err(not_a_report(NotAReport::Empty, "the input is empty"));
    }
    if let Some(reason) = binary_reason(bytes) {
        return Err(not_a_report(NotAReport::Binary, reason));
    }
    let raw = find_report(text, frames);
    // What macOS writes starts with its JSON header line and is never cleaned: only when it
    // cannot be read whole are its characters normalised (a pasted `.ips` with non-breaking
    // spaces between its tokens), and that reading kept only when it is better.
    let json = text.trim_start().starts_with('{');
    if json && readability(&raw) == FULL {
        return raw;
    }
    let (text, raw, mut undone) = match markup::normalize_characters(text) {
        Some((normal, undone)) => {
            let again = find_report(&normal, frames);
            let better = readability(&again) > readability(&raw);
            if better || (!json && readability(&again) == readability(&raw)) {
                (Cow::Owned(normal), again, undone)
            } else {
                (Cow::Borrowed(text), raw, Vec::new())
            }
        }
        None => (Cow::Borrowed(text), raw, Vec::new()),
    };
    // A paste may carry HTML or have lost its line breaks: when it does, the cleaned text is
    // read too, and kept unless it reads worse than the text as it was.
    let cleaned = if json { None } else { markup::clean(&text) };
    let mut report = match cleaned {
        // Undoing damage that is there reads at least as well; a cleaning that reads worse
        // undid something that was not damage.
        Some((cleaned, more)) => {
            let again = find_report(&cleaned, frames);
            if readability(&again) < readability(&raw) {
                raw?
            } else {
                undone.extend(more);
                again?
            }
        }
        None => raw?,
    };
    for (i, what) in undone.into_iter().enumerate() {
        report.warnings.insert(
            i,
            Warning {
                at: "input".into(),
                message: format!("{what} before reading; line numbers are of the cleaned text"),
            },
        );
    }
    Ok(report)
}

/// [`readability`] of a report whose crashed thread was read.
const FULL: u8 = 3;

/// How much of a crash a reading gives: nothing, a cut report, a report without its crashed
/// thread, a crashed thread.
fn readability(result: &Result<Report, ParseError>) -> u8 {
    match result {
        Err(ParseError::NotAReport { .. }) => 0,
        Err(ParseError::Incomplete(_)) => 1,
        Ok(r) if r.crashed().is_none() => 2,
        Ok(_) => FULL,
    }
}

fn find_report(text: &str, frames: Frames) -> Result<Report, ParseError> {
    // A substring search first: the line-by-line look is only needed when the words are there.
    // memchr's search, and the longer words only looked for when the shorter ones they hold are
    // there: `str::contains` over the whole text, twice, was 3 % of `classify`'s CPU.
    let mentions_full_report = memchr::memmem::find(text.as_bytes(), b"Full Report").is_some();
    let full_report = mentions_full_report
        .then(|| full_report_marker(text))
        .flatten();
    let translated = mentions_full_report
        && memchr::memmem::find(text.as_bytes(), b"Translated Report (Full Report Below)")
            .is_some()
        && text
            .lines()
            .take(400)
            .any(|l| l.trim() == "Translated Report (Full Report Below)");

    // The JSON part is preferred: it is what macOS wrote; the translated text is a rendering.
    let json_from = full_report.unwrap_or(0);
    let json_text = text.get(json_from..).unwrap_or_default();
    let before_json = text.get(..json_from).unwrap_or_default();
    let line_offset = before_json.matches('\n').count();
    let mut json_failure: Option<ParseError> = None;
    let composite = full_report.is_some() || translated;
    let mut json_cut = None;
    match find_json(json_text, line_offset, before_json, frames) {
        Some(Ok(mut report)) => {
            if composite {
                report.container = Container::TranslatedComposite;
            }
            // A cut JSON part after a translated text: the text may be whole.
            if report.cut.is_none() || !composite {
                return Ok(report);
            }
            json_cut = Some(report);
        }
        Some(Err(e)) => json_failure = Some(e),
        None => {}
    }

    // Spindumps list `Process:` sections for every sampled process; they must not be read as a
    // crash of the first one.
    if is_spindump(text) {
        return Err(diagnose(text));
    }
    if let Some(json_cut) = json_cut {
        return Ok(match find_text_report(text, translated) {
            Some(Ok(mut report)) if report.crashed().is_some() && report.cut.is_none() => {
                let cut = json_cut.cut.map(|c| format!(" ({c})")).unwrap_or_default();
                report.warnings.insert(
                    0,
                    Warning {
                        at: "Full Report".into(),
                        message: format!("the JSON part is cut short{cut}; the translated text, which is whole, was read instead"),
                    },
                );
                report
            }
            _ => json_cut,
        });
    }
    if let Some(found) = find_text_report(text, translated) {
        let mut report = found?;
        if let Some(ParseError::Incomplete(why)) = &json_failure {
            report.warnings.insert(
                0,
                Warning {
                    at: "Full Report".into(),
                    message: format!("the JSON part could not be used ({why}); the translated text was read instead"),
                },
            );
        }
        return Ok(report);
    }
    if let Some(e) = json_failure {
        return Err(e);
    }
    let diagnosis = diagnose(text);
    if let ParseError::NotAReport {
        what: NotAReport::JsonFragment | NotAReport::Unrecognised,
        ..
    } = diagnosis
        && let Some(report) = body_piece(text, frames)
    {
        return Ok(report);
    }
    Err(diagnosis)
}

/// Top-level keys of an `.ips` body that nothing inside it uses (`name`, `id`, `version`,
/// `base` are nested keys too): a line that starts with one starts a piece of the body at its
/// top level.
const TOP_LEVEL_KEYS: [&str; 22] = [
    "procName",
    "procPath",
    "pid",
    "parentProc",
    "parentPid",
    "responsibleProc",
    "coalitionName",
    "crashReporterKey",
    "osVersion",
    "modelCode",
    "captureTime",
    "incident",
    "bug_type",
    "sip",
    "isCorpse",
    "exception",
    "termination",
    "asi",
    "extMods",
    "faultingThread",
    "threads",
    "lastExceptionBacktrace",
];

/// A piece of an `.ips` body pasted without its beginning, and often without its end: from one
/// of its top-level keys on (`"exception" : {...}`, `"threads" : [...]`, the lines people
/// select in a report), one thread object (`{"triggered":true, ... "frames":[...]}`), or the
/// crashed thread's frames after its registers ([`frames_piece`]). macOS writes the whole
/// `threads` list on one line, so a piece that has that line has every frame. The piece is read
/// as the body it was cut from (a `{` put before it; closed by [`salvage::close`] where it stops
/// short or turns into prose), and kept only when it holds the crashed thread's frames: they say
/// which crash it is. Without them it stays a `json-fragment`. What came before the piece (the
/// process, the OS) is missing, and a warning says so.
fn body_piece(text: &str, frames: Frames) -> Option<Report> {
    // A text that begins with a JSON object has its start: a piece of it begins there (a thread
    // object), or it is a whole body that could not be read (damaged), not a piece.
    let first = text.find('{');
    let begins_with_object = first.is_some_and(|at| {
        text.get(..at).is_some_and(|b| {
            b.trim()
                .trim_start_matches('`')
                .trim_start_matches("json")
                .trim()
                .is_empty()
        })
    });
    piece_starts(text)
        .filter(|piece| !begins_with_object || Some(piece.start) == first)
        .find_map(|piece| read_piece(text, piece, frames))
}

/// [`body_piece`] from one place it may start.
fn read_piece(text: &str, piece: Piece, frames: Frames) -> Option<Report> {
    let (raw, cut) = match ips::read_body(&piece.json, frames)? {
        Ok((raw, _)) => (raw, None),
        // Cut short (the text ends, or a fence ends the paste); not damaged: a body with a
        // mistake inside is no piece of one (its start is there, and it is read as damaged).
        Err(e) if e.is_eof() || cut_at_error(&piece.json, &e) => {
            let read = piece.json.get(..parsed_until(&piece.json, &e))?;
            let last_line = piece.line + 1 + read.trim_end().matches('\n').count();
            let (raw, cut) = close_cut(read, last_line, frames)?;
            (raw, Some(cut))
        }
        Err(_) => return None,
    };
    let mut w = Warnings::default();
    w.count_unknown_images();
    w.push(
        "body",
        format!(
            "a piece of an .ips JSON body, from {} at line {} on: no header line and no start, so \
             the process, the OS and what else came before it are missing",
            piece.begins,
            piece.line + 1
        ),
    );
    if let Some(cut) = &cut {
        w.push(
            "body",
            format!("the piece stops short: {cut}; what comes before that was read"),
        );
    }
    let container = if text.get(..piece.start).is_some_and(|b| b.trim().is_empty()) {
        Container::Plain
    } else {
        Container::Embedded {
            line: piece.line as u64 + 1,
        }
    };
    let mut report = ips::build(None, raw, SourceFormat::IpsBodyOnly, container, w, frames);
    // Frames that name no code (objects of other keys: `{"triggered":true,"frames":[{...`
    // repeated) say nothing either.
    let names_code =
        |f: &Frame| f.symbol.is_some() || f.address.is_some() || f.image_offset.is_some();
    if !report
        .crashed()
        .is_some_and(|t| t.frames.iter().any(names_code))
    {
        return None;
    }
    report.cut = cut;
    Some(report)
}

/// Where a piece of a body starts ([`body_piece`]).
struct Piece {
    /// The piece made the start of a body: `{` and the text from the key on, or
    /// `{"threads":[` and the text from the thread's `{` on.
    json: String,
    /// Its byte offset in the text, and its 0-based line.
    start: usize,
    line: usize,
    /// What it starts with, for the warning.
    begins: String,
}

/// The places a piece of a body may start, in the order they are tried: a line that starts with
/// a top-level key; the crashed thread's object; the crashed thread's frames after its
/// registers.
fn piece_starts(text: &str) -> impl Iterator<Item = Piece> + '_ {
    [
        key_piece as fn(&str) -> Option<Piece>,
        thread_piece,
        frames_piece,
    ]
    .into_iter()
    .filter_map(move |find| find(text))
}

/// From the first line that starts with a top-level key (indented as macOS writes them, or
/// after a paste's debris) to the end.
fn key_piece(text: &str) -> Option<Piece> {
    let (from, line, key) = lines(text).find_map(|line| {
        if inline_code(line.text) {
            return None;
        }
        let t = text::strip_debris(line.text).trim_start();
        let key = t.strip_prefix('"')?.split('"').next()?;
        let after = t.get(key.len() + 2..)?.trim_start();
        let from = line.start + (t.as_ptr() as usize).checked_sub(line.text.as_ptr() as usize)?;
        (TOP_LEVEL_KEYS.contains(&key) && after.starts_with(':')).then_some((
            from,
            line.number,
            key,
        ))
    })?;
    Some(Piece {
        json: format!("{{{}", text.get(from..)?),
        start: from,
        line,
        begins: format!("`\"{key}\"`"),
    })
}

/// The crashed thread's object: the `{` that opens the object whose first key is
/// `"triggered"` (as macOS writes it), first on its line but for a paste's debris and the
/// list's `[` (a thread quoted inside a sentence is prose about a report, not a piece of one).
fn thread_piece(text: &str) -> Option<Piece> {
    let triggered = memchr::memmem::find(text.as_bytes(), b"\"triggered\"")?;
    let open = text.get(..triggered)?.rfind('{')?;
    let line_start = text.get(..open)?.rfind('\n').map_or(0, |i| i + 1);
    let before = text.get(line_start..open)?;
    if !text.get(open + 1..triggered)?.trim().is_empty()
        || !before
            .chars()
            .all(|c| c.is_whitespace() || matches!(c, '>' | '`' | '['))
        || inline_code(text.get(line_start..)?)
    {
        return None;
    }
    // A whole thread is closed here; one that stops short is left to `salvage::close`. A whole
    // one with words after it on its line is quoted in a sentence.
    let thread = text.get(open..)?;
    let mut values =
        serde_json::Deserializer::from_str(thread).into_iter::<serde::de::IgnoredAny>();
    let json = match values.next() {
        Some(Ok(_)) => {
            let end = values.byte_offset();
            let after = thread.get(end..)?;
            let rest_of_line = after.get(..after.find('\n').unwrap_or(after.len()))?;
            if !rest_of_line
                .chars()
                .all(|c| c.is_whitespace() || matches!(c, ']' | '}' | ',' | '`'))
            {
                return None;
            }
            format!("{{\"threads\":[{}]}}", thread.get(..end)?)
        }
        _ => format!("{{\"threads\":[{thread}"),
    };
    Some(Piece {
        json,
        start: open,
        line: text.get(..open)?.matches('\n').count(),
        begins: "a thread object".to_owned(),
    })
}

/// Whether a line starts an inline code span (one or two backticks, after a block quote's
/// `>`): JSON quoted inside a sentence, not a paste of a report (a fence is three).
fn inline_code(line: &str) -> bool {
    let t = line.trim_start();
    let t = t.strip_prefix('>').map_or(t, str::trim_start);
    let ticks = t.len() - t.trim_start_matches('`').len();
    (1..3).contains(&ticks)
}

/// The crashed thread's frames in a piece that starts inside its registers: macOS marks the
/// register that holds the crashed frame's address (`"pc":{"value":…,"matchesCrashFrame":1}`)
/// in the crashed thread's state only, and writes the thread's `frames` after its state. The
/// frames are those of the first `"frames"` after the mark, when no other thread starts between.
fn frames_piece(text: &str) -> Option<Piece> {
    let mark = memchr::memmem::find(text.as_bytes(), b"\"matchesCrashFrame\"")?;
    let after = text.get(mark..)?;
    let frames = mark + memchr::memmem::find(after.as_bytes(), b"\"frames\"")?;
    let between = text.get(mark..frames)?;
    if between.contains("\"triggered\"") || between.contains("\"id\"") {
        return None;
    }
    let list = frames + text.get(frames..)?.find('[')?;
    if text.get(frames + "\"frames\"".len()..list)?.trim() != ":" {
        return None;
    }
    Some(Piece {
        json: format!(
            "{{\"threads\":[{{\"triggered\":true,\"frames\":{}",
            text.get(list..)?
        ),
        start: frames,
        line: text.get(..frames)?.matches('\n').count(),
        begins: "the crashed thread's frames (after the register `matchesCrashFrame` marks)"
            .to_owned(),
    })
}

/// The byte offset just after a `Full Report` banner (a line of dashes, `Full Report`, dashes).
fn full_report_marker(text: &str) -> Option<usize> {
    let mut previous_rule = false;
    for line in lines(text) {
        let t = line.text.trim();
        if t == "Full Report" && previous_rule {
            return Some(line.end);
        }
        previous_rule = !t.is_empty() && t.chars().all(|c| c == '-');
    }
    None
}

fn is_candidate(line: &str) -> bool {
    let indent = line.len() - line.trim_start().len();
    let t = line.trim_start();
    // Top-level JSON starts in column 0; pasted copies may be indented a little. Deeper `{` lines
    // are nested objects of a pretty-printed body.
    t.starts_with('{') && (indent == 0 || (indent <= 4 && t.starts_with("{\"")))
}

/// Looks for a JSON `.ips` report: a header line (then a JSON or text body), or a body alone.
fn find_json(
    text: &str,
    line_offset: usize,
    before: &str,
    frames: Frames,
) -> Option<Result<Report, ParseError>> {
    find_json_within(text, line_offset, before, frames, &mut 0)
}

/// [`find_json`], adding the bytes its candidates parse to `spent`: it gives up when they reach
/// [`json_parse_budget`] (so at most one input's length past it), and the input is then read as
/// what else it may be.
fn find_json_within(
    text: &str,
    line_offset: usize,
    before: &str,
    frames: Frames,
    spent: &mut usize,
) -> Option<Result<Report, ParseError>> {
    let budget = json_parse_budget(text.len());
    let mut tried = 0;
    for line in lines(text) {
        if !is_candidate(line.text) {
            continue;
        }
        tried += 1;
        if tried > MAX_JSON_CANDIDATES || *spent >= budget {
            break;
        }
        let number = line.number + line_offset;
        let container = |number: usize| {
            if before.trim().is_empty()
                && text.get(..line.start).is_some_and(|b| b.trim().is_empty())
            {
                Container::Plain
            } else {
                Container::Embedded {
                    line: number as u64 + 1,
                }
            }
        };
        if let Some((header, used)) = ips::read_header_then_body(line.text) {
            // The body starts on the next line, or on this one after the header.
            let rest = if used == line.text.len() {
                text.get(line.end..)
            } else {
                text.get(line.start + used..)
            }
            .unwrap_or_default();
            return Some(after_header(
                &header,
                rest,
                number,
                container(number),
                frames,
            ));
        }
        let from_here = text.get(line.start..).unwrap_or_default();
        let read = ips::read_body(from_here, frames);
        *spent += match &read {
            Some(Ok((_, used))) => *used,
            Some(Err(e)) => parsed_until(from_here, e),
            None => from_here.len(),
        };
        match read {
            Some(Ok((body, used))) if body.has_body_keys() => {
                let mut w = Warnings::default();
                w.push(
                    "header",
                    "no header line: the JSON body was read alone (bug_type, name and incident come from the body)",
                );
                trailing(from_here, used, &mut w);
                return Some(Ok(ips::build(
                    None,
                    body,
                    SourceFormat::IpsBodyOnly,
                    container(number),
                    w,
                    frames,
                )));
            }
            Some(Err(e)) if e.is_eof() && line.text.trim() == "{" && line.start == 0 => {
                let last_line = number + 1 + from_here.trim_end().matches('\n').count();
                let format = SourceFormat::IpsBodyOnly;
                let container = container(number);
                if let Some(report) = salvage(None, from_here, last_line, format, container, frames)
                {
                    return Some(Ok(report));
                }
                // Not a body cut short, but a thread object cut short (a body's piece).
                if let Some(report) = body_piece(text, frames) {
                    return Some(Ok(report));
                }
                return Some(Err(ParseError::Incomplete(format!(
                    "a JSON report body without a header line starts at line {} but ends before it is complete \
                     (the file is truncated or still being written)",
                    number + 1
                ))));
            }
            _ => {}
        }
    }
    None
}

/// Reads what follows a header line: a JSON body, a text report, or nothing yet.
fn after_header(
    header: &ips::RawHeader,
    rest: &str,
    header_line: usize,
    container: Container,
    frames: Frames,
) -> Result<Report, ParseError> {
    let body_start = rest.len() - rest.trim_start().len();
    let body = rest.get(body_start..).unwrap_or_default();
    let body_line = header_line
        + 2
        + rest
            .get(..body_start)
            .unwrap_or_default()
            .matches('\n')
            .count();
    let bug_type = header.bug_type.ok().cloned().unwrap_or_default();
    if body.is_empty() || body.starts_with("```") {
        return Err(ParseError::Incomplete(format!(
            "only the header line (bug_type {bug_type}) is there, the report body is missing \
             (the file is truncated or still being written)"
        )));
    }
    if !body.starts_with(['{', '[']) {
        // A header followed by a plain-text report: embedded crashes (109), resource reports
        // (145, 202), and Xcode's copies of older reports.
        let mut report = text::parse(body, body_line - 1, container);
        report.format = SourceFormat::IpsHeaderWithText;
        report.kind = bugtype::kind(&bug_type);
        if report.incident_id.is_none() {
            report.incident_id = header.incident_id.ok().cloned();
        }
        if report.process.name.is_none() {
            report.process.name = header.name.ok().or(header.app_name.ok()).cloned();
        }
        report.bug_type_name = bugtype::name(&bug_type).map(str::to_owned);
        report.bug_type = Some(bug_type);
        if !report.kind.is_crash() {
            report.summary = body
                .lines()
                .find_map(|l| l.trim().strip_prefix("Event:"))
                .map(|e| e.trim().to_owned());
            // Text-report completeness checks are about crash reports.
            report.warnings.retain(|w| w.at != "report");
            report.cut = None;
        }
        return complete_text(report);
    }
    let mut w = Warnings::default();
    match ips::read_body(body, frames) {
        Some(Ok((raw, used))) => {
            if container == Container::Plain {
                trailing(body, used, &mut w);
            }
            let damaged = raw.wrong.map(|found| {
                format!("the report body is a JSON {found}, not an object; only the header line was read")
            });
            if let Some(why) = &damaged {
                w.push("body", why.clone());
            }
            let mut report = ips::build(Some(header), raw, SourceFormat::Ips, container, w, frames);
            report.damaged = damaged;
            Ok(report)
        }
        Some(Err(e)) if e.is_eof() || cut_at_error(body, &e) => {
            // Say whose report it is: a cut paste keeps only this message.
            let whose = header
                .name
                .ok()
                .or(header.app_name.ok())
                .map(|n| format!(" of {n}'s report"))
                .unwrap_or_default();
            let os = header
                .os_version
                .ok()
                .map(|v| format!(", {v}"))
                .unwrap_or_default();
            // The last line holding any of it (a line break that ends the cut is no line).
            let read = body.get(..parsed_until(body, &e)).unwrap_or_default();
            let last_line = body_line + read.trim_end().matches('\n').count();
            if let Some(report) = salvage(
                Some(header),
                read,
                last_line,
                SourceFormat::Ips,
                container,
                frames,
            ) {
                return Ok(report);
            }
            Err(ParseError::Incomplete(format!(
                "the JSON body{whose} (bug_type {bug_type}{os}) that starts at line {body_line} \
                 ends at line {last_line} before it is complete (the file is truncated or still \
                 being written)"
            )))
        }
        Some(Err(e)) => {
            // Not valid JSON, and not because it is cut short: a hand-edited or templated file.
            // The header still says what crashed.
            let why =
                format!("the JSON body is not valid JSON ({e}); only the header line was read");
            w.push(
                format!("line {}", body_line + e.line().saturating_sub(1)),
                why.clone(),
            );
            let mut report = ips::build(
                Some(header),
                RawBody::default(),
                SourceFormat::Ips,
                container,
                w,
                frames,
            );
            report.damaged = Some(why);
            Ok(report)
        }
        None => Err(ParseError::Incomplete("the report body is missing".into())),
    }
}

/// A report from the part of a JSON body before a cut (`read`, which ends where the body stops
/// short; its last line is `last_line`): what [`salvage::close`] keeps of it, read as a whole
/// body, with [`Report::cut`] saying where it ends. `None` unless that part holds the crashed
/// thread's frames: a cut before them leaves nothing to say which crash it is, and the report
/// stays incomplete (a file still being written is read again by `watch`).
fn salvage(
    header: Option<&ips::RawHeader>,
    read: &str,
    last_line: usize,
    format: SourceFormat,
    container: Container,
    frames: Frames,
) -> Option<Report> {
    let (raw, cut) = close_cut(read, last_line, frames)?;
    let mut w = Warnings::default();
    w.count_unknown_images();
    w.push(
        "body",
        format!(
            "the JSON body is cut short: {cut} (cut when it was copied, or still being written); \
             what comes before the cut was read, the rest is missing"
        ),
    );
    if header.is_none() {
        w.push(
            "header",
            "no header line: the JSON body was read alone (bug_type, name and incident come from the body)",
        );
    }
    let mut report = ips::build(header, raw, format, container, w, frames);
    if report.crashed().is_none_or(|t| t.frames.is_empty()) {
        return None;
    }
    report.cut = Some(cut);
    Some(report)
}

/// A body cut short (`read`, whose last line is `last_line`), closed by [`salvage::close`] and
/// read, and where it was cut.
fn close_cut(read: &str, last_line: usize, frames: Frames) -> Option<(RawBody, Cut)> {
    let closed = salvage::close(read)?;
    let (raw, _) = ips::read_body(&closed.json, frames)?.ok()?;
    let inside = closed
        .cut_in
        .as_deref()
        .map(|key| format!("the JSON body's `{key}`"))
        .unwrap_or_else(|| "the JSON body".to_owned());
    let cut = Cut {
        line: last_line as u64,
        after: format!("part of {inside}"),
    };
    Some((raw, cut))
}

fn trailing(text: &str, used: usize, w: &mut Warnings) {
    let rest = text.get(used..).unwrap_or_default().trim();
    if !rest.is_empty() {
        w.push(
            "body",
            format!(
                "{} bytes of text after the JSON body were ignored",
                rest.len()
            ),
        );
    }
}

/// The line keys a text report can start with.
const TEXT_STARTS: &[&str] = &["Process:", "Incident Identifier:", "Hardware Model:"];

/// A line with its paste debris (a stray backtick, a `{`, a block-quote `>`) taken off the front.
fn key_text(line: &str) -> &str {
    line.trim_start_matches(|c: char| c.is_whitespace() || matches!(c, '`' | '{' | '>'))
}

fn find_text_report(text: &str, translated: bool) -> Option<Result<Report, ParseError>> {
    let start = lines(text).find(|l| {
        let t = key_text(l.text);
        TEXT_STARTS.iter().any(|k| t.starts_with(k))
    });
    // One `Process:` line in prose is not a report: ask for a second header key.
    let start = match start {
        Some(start) if text::header_key_count(text.get(start.start..)?) >= 2 => start,
        _ => return partial_report(text),
    };
    let body = text.get(start.start..)?;
    let before = text.get(..start.start).unwrap_or_default();
    let container = if translated {
        Container::TranslatedComposite
    } else if before
        .lines()
        .all(|l| l.trim().is_empty() || l.trim().chars().all(|c| c == '-'))
    {
        Container::Plain
    } else {
        Container::Embedded {
            line: start.number as u64 + 1,
        }
    };
    Some(complete_text(text::parse(body, start.number, container)))
}

/// A paste that starts below the header (`Exception Type:` down to the crashed thread, or only
/// the crashed thread and the exception lines): no `Process:` line, but what the user pasted it
/// for, the crash, is there. Read it when it has an exception and a crashed thread with frames.
fn partial_report(text: &str) -> Option<Result<Report, ParseError>> {
    let exception = lines(text).find(|l| key_text(l.text).starts_with("Exception Type:"))?;
    // Start at the first header line of the block the exception line is in.
    let start = lines(text)
        .take_while(|l| l.number <= exception.number)
        .filter(|l| text::is_header_line(key_text(l.text)))
        .find(|l| {
            text.get(l.start..exception.start)
                .is_some_and(|between| !between.contains("\n\n\n"))
        })
        .unwrap_or(exception);
    let body = text.get(start.start..)?;
    let mut report = text::parse(
        body,
        start.number,
        Container::Embedded {
            line: start.number as u64 + 1,
        },
    );
    report.exception.as_ref()?;
    let first = key_text(start.text)
        .split(':')
        .next()
        .unwrap_or_default()
        .trim()
        .to_owned();
    if report.threads.is_empty() {
        // The exception lines alone, cut at both ends: incomplete when they are a block of the
        // report's header (three keys or more), a fragment when they are lines quoted in prose.
        return (text::header_key_count(body) >= 3).then(|| complete_text(report));
    }
    // The crashed thread with its frames, or the threads of a report cut before the crashed one.
    let has_frames = report.crashed().is_some_and(|t| !t.frames.is_empty());
    if !has_frames && report.cut.is_none() {
        return None;
    }
    report.warnings.insert(
        0,
        Warning {
            at: format!("line {}", start.number + 1),
            message: format!(
                "a partial report: no `Process:` line, the text starts at `{first}:`; the process that crashed is unknown"
            ),
        },
    );
    Some(Ok(report))
}

/// A text crash report cut before its thread section is incomplete, as a cut JSON body is: the
/// frames that say which crash it is are not there.
fn complete_text(report: Report) -> Result<Report, ParseError> {
    if !report.kind.is_crash() || !report.threads.is_empty() {
        return Ok(report);
    }
    let process = match (&report.process.name, report.process.pid) {
        (Some(name), Some(pid)) => format!(" of {name} [{pid}]"),
        (Some(name), None) => format!(" of {name}"),
        _ => String::new(),
    };
    let exception = report
        .exception
        .as_ref()
        .and_then(|e| e.r#type.as_deref())
        .map(|t| format!(" ({t})"))
        .unwrap_or_default();
    let cut = report
        .cut
        .as_ref()
        .map_or_else(|| "the text ends".to_owned(), ToString::to_string);
    // What the head says may be all the user has; say it rather than only "cut".
    let head_says = report
        .app_specific
        .assertion
        .as_deref()
        .or(report.app_specific.exception_reason.as_deref())
        .map(|m| format!("; its head says: {}", clip(m, 160)))
        .unwrap_or_default();
    Err(ParseError::Incomplete(format!(
        "the text report{process}{exception} has no thread backtraces: {cut} (cut when it was \
         copied, or still being written); the crashed thread's frames are needed to say which \
         crash it is{head_says}"
    )))
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() > n {
        format!("{}...", s.chars().take(n).collect::<String>())
    } else {
        s.to_owned()
    }
}

fn not_a_report(what: NotAReport, reason: impl Into<String>) -> ParseError {
    ParseError::NotAReport {
        what,
        reason: reason.into(),
    }
}

fn binary_reason(bytes: &[u8]) -> Option<String> {
    if let Some(what) = known_file(bytes) {
        return Some(what.to_owned());
    }
    let head = bytes.get(..8192).unwrap_or(bytes);
    let control = control_bytes(head);
    // Text reports have none; allow a few stray bytes before calling it binary.
    (control * 100 > head.len().max(1) * 2).then(|| {
        format!("binary data ({control} control bytes in the first {} bytes), not a text or JSON report", head.len())
    })
}

/// What a file that is not a report is, by its first bytes, and what to do instead: what people
/// hand a crash-report reader in its place, a screenshot of the crash dialog, a dSYM or a binary,
/// a PDF, an archive of a kind crashdelta does not unpack (ZIP and gzip are unpacked before
/// this: `archive`).
fn known_file(bytes: &[u8]) -> Option<&'static str> {
    let what = match bytes {
        [0xfd, b'7', b'z', b'X', b'Z', 0, ..] => {
            "an xz-compressed file: unxz it and classify what it holds"
        }
        [0x28, 0xb5, 0x2f, 0xfd, ..] => {
            "a zstd-compressed file: unzstd it and classify what it holds"
        }
        [b'7', b'z', 0xbc, 0xaf, 0x27, 0x1c, ..] => {
            "a 7-Zip archive: extract it and classify the files it holds"
        }
        [0xcf, 0xfa, 0xed, 0xfe, ..]
        | [0xce, 0xfa, 0xed, 0xfe, ..]
        | [0xfe, 0xed, 0xfa, 0xcf, ..]
        | [0xfe, 0xed, 0xfa, 0xce, ..]
        | [0xca, 0xfe, 0xba, 0xbe, ..] => {
            "a Mach-O binary, not a report: a binary or a dSYM names a report's frames when given \
             to --symbols"
        }
        [0x89, b'P', b'N', b'G', ..] | [0xff, 0xd8, 0xff, ..] | [b'G', b'I', b'F', b'8', ..] => {
            "an image (a screenshot?): crashdelta reads a report's text; the report itself is in \
             ~/Library/Logs/DiagnosticReports (a .ips file)"
        }
        _ if bytes.get(4..12) == Some(b"ftypheic") => {
            "an image (HEIC; a screenshot?): crashdelta reads a report's text; the report itself \
             is in ~/Library/Logs/DiagnosticReports (a .ips file)"
        }
        [b'%', b'P', b'D', b'F', b'-', ..] => {
            "a PDF document: copy the report's text out of it, or classify the report itself, in \
             ~/Library/Logs/DiagnosticReports (a .ips file)"
        }
        [b'b', b'p', b'l', b'i', b's', b't', b'0', ..] => {
            "a binary property list, not a report: `plutil -convert xml1` turns it into text if it \
             holds one"
        }
        _ if bytes.get(257..262) == Some(b"ustar") => {
            "a tar archive: extract it and classify the files it holds: crashdelta reads reports, \
             not archives"
        }
        _ => return None,
    };
    Some(what)
}

/// Whether `b` is a control byte that text does not hold (tab, line feed, form feed and carriage
/// return are text).
fn is_control(b: u8) -> bool {
    b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r' | 0x0c)
}

/// How many bytes of `head` are [`is_control`]. Counted into a byte per block of 255 so that the
/// compiler makes it a vector loop: the plain count into a `usize` stayed a byte-at-a-time loop,
/// 3 % of `classify`'s CPU over 2000 reports for 8 KiB of each (docs/performance.md).
fn control_bytes(head: &[u8]) -> usize {
    head.chunks(255)
        .map(|block| {
            // At most 255 in a block: the byte count cannot wrap.
            let n = block
                .iter()
                .fold(0u8, |n, &b| n.wrapping_add(u8::from(is_control(b))));
            usize::from(n)
        })
        .sum()
}

/// `Thread 0x1aee    DispatchQueue "com.apple.main-thread"(1)    1001 samples (1-1001)`: a thread
/// of a spindump or of Activity Monitor's "Sample Process".
static SAMPLED_THREAD: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"(?m)^\s*Thread 0x[0-9a-fA-F]+\s.*\b\d+ samples?\b")
        .unwrap_or_else(|e| panic!("built-in pattern: {e}"))
});

/// A frame of a backtrace copied from a debugger rather than written by macOS: Xcode's debug
/// navigator (`#4\t0x0000000101193134 in GrMtlCommandBuffer::getBlitCommandEncoder() ()`, its
/// first line `Thread 9#0\t(null) in -[IOGPUMetalCommandBuffer commandBufferResourceInfo] ()`
/// or `CVDisplayLink (10)#0\t0x… in __pthread_kill ()`), or lldb's `bt` without its `* thread`
/// line (`frame #0: 0x0000000189f7b5b0 libsystem_kernel.dylib`__pthread_kill + 8`).
/// Xcode separates the frame number from the address with a tab; sanitizers' reports
/// (`    #0 0x1004f3e28 in main main.c:7`) and gdb's use spaces, and are not this.
static DEBUGGER_FRAME: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(
        r"(?m)^(?:(?:\S.*)?#\d+\t(?:0x[0-9a-fA-F]+|\(null\)) in \S|\s*(?:\* )?frame #\d+: 0x[0-9a-fA-F]+ \S)",
    )
    .unwrap_or_else(|e| panic!("built-in pattern: {e}"))
});

/// A spindump, a stackshot or a sample report, whole or as pasted per-process sections (which
/// have `Process:` lines of their own and must not be read as a crash of that process).
fn is_spindump(text: &str) -> bool {
    if text.contains("Exception Type:") {
        return false;
    }
    let head = text.get(..text.len().min(4096)).unwrap_or(text);
    head.lines().any(|l| {
        let l = l.trim();
        l.starts_with("Data Source:") && l.contains("tackshots")
    }) || text.contains("Num samples:")
        || SAMPLED_THREAD.is_match(text)
}

/// Names what an input without a report is.
fn diagnose(text: &str) -> ParseError {
    let first = |pred: &dyn Fn(&str) -> bool| {
        text.lines()
            .map(str::trim)
            .find(|l| pred(l))
            .map(str::to_owned)
    };

    if let Some(line) = first(&|l| l.starts_with("panic(cpu ")) {
        return not_a_report(
            NotAReport::KernelPanic,
            format!(
                "a kernel panic log ({}): the kernel stopped, not one process",
                clip(&line, 80)
            ),
        );
    }
    if is_spindump(text) {
        let what = match first(&|l| l.starts_with("Data Source:")) {
            Some(source) => format!(
                "a spindump or stackshot report ({})",
                source.split_whitespace().collect::<Vec<_>>().join(" ")
            ),
            None => {
                let process = first(&|l| l.starts_with("Process:"))
                    .map(|l| format!(" of {}", l.trim_start_matches("Process:").trim()))
                    .unwrap_or_default();
                format!(
                    "a spindump or sample section{process} (threads with sample counts, no spindump header)"
                )
            }
        };
        return not_a_report(
            NotAReport::Spindump,
            format!("{what}: samples of a running or hung process, not a crash"),
        );
    }
    if let Some(line) =
        first(&|l| l.trim_start_matches("* ").starts_with("thread #") && l.contains("stop reason"))
    {
        return not_a_report(
            NotAReport::LldbBacktrace,
            format!(
                "an lldb backtrace ({}), not a report written by macOS",
                clip(&line, 80)
            ),
        );
    }
    let thread_lines = text
        .lines()
        .filter(|l| text::looks_like_thread_line(l))
        .count();
    if text.contains("First throw call stack") {
        return not_a_report(
            NotAReport::ExceptionBacktrace,
            "an uncaught-exception backtrace (\"First throw call stack\") without the crash report around it",
        );
    }
    // Two frames at least: one line in prose is not a backtrace. After the exception backtrace
    // (an Xcode console paste holds both), and only without a report's thread lines.
    if thread_lines == 0
        && DEBUGGER_FRAME.find_iter(text).nth(1).is_some()
        && let Some(line) = first(&|l| DEBUGGER_FRAME.is_match(l))
    {
        return not_a_report(
            NotAReport::LldbBacktrace,
            format!(
                "a debugger's backtrace (Xcode or lldb: {}), not a report written by macOS; \
                 the crash's own report, when macOS wrote one, is in \
                 ~/Library/Logs/DiagnosticReports",
                clip(&line, 80)
            ),
        );
    }
    // Keys only an .ips body has (any spacing around the colon: pretty-printed bodies write
    // `"procName" : "Python"`), or the keys of a `usedImages` entry together.
    let json_keys = [
        "\"imageOffset\"",
        "\"threads\"",
        "\"usedImages\"",
        "\"faultingThread\"",
        "\"threadState\"",
        "\"procName\"",
        "\"procPath\"",
        "\"parentProc\"",
        "\"crashReporterKey\"",
        "\"captureTime\"",
        "\"legacyInfo\"",
        "\"vmSummary\"",
    ];
    let image_keys = ["\"uuid\"", "\"base\"", "\"source\"", "\"arch\""];
    // A complete JSON value is no fragment of one (a non-crash body without its header line:
    // a jetsam report's, review finding).
    let complete = || serde_json::from_str::<serde::de::IgnoredAny>(text.trim()).is_ok();
    if (json_keys.iter().any(|k| text.contains(k)) || image_keys.iter().all(|k| text.contains(k)))
        && !complete()
    {
        return not_a_report(
            NotAReport::JsonFragment,
            "a fragment of an .ips JSON body: it has report keys but no header line and no complete JSON \
             object (cut from a larger report)",
        );
    }
    if thread_lines == 0
        && let Some(line) = first(&|l| {
            [
                "Exception Type:",
                "Termination Reason:",
                "Crashed Thread:",
                "Exception Codes:",
            ]
            .iter()
            .any(|k| text::strip_debris(l).starts_with(k))
        })
    {
        return not_a_report(
            NotAReport::TextFragment,
            format!(
                "a fragment of a crash report: header lines (first: \"{}\") but no `Process:` line and \
                 no thread backtraces",
                clip(text::strip_debris(&line), 80)
            ),
        );
    }
    // The tail of a text report: the crashed thread's registers, the Binary Images list.
    if thread_lines == 0
        && let Some(line) = first(&|l| {
            let l = text::strip_debris(l);
            (l.starts_with("Thread ") && l.contains(" crashed with ") && l.contains("Thread State"))
                || l.starts_with("Binary Images:")
        })
    {
        return not_a_report(
            NotAReport::TextFragment,
            format!(
                "the end of a crash report (from \"{}\"): registers or the Binary Images list, \
                 without the header and the thread backtraces above them",
                clip(text::strip_debris(&line), 80)
            ),
        );
    }
    if thread_lines > 0 {
        let sample = first(&|l| text::looks_like_thread_line(l))
            .map(|l| clip(&l, 80))
            .unwrap_or_default();
        // A `Process:` line alone is not a header (one in prose is not a report): say it was
        // seen, rather than that there was none (a tweak's own log format, Cr4shed's, has one
        // above lower-case keys macOS never writes).
        let header = match first(&|l| key_text(l).starts_with("Process:")) {
            Some(line) => format!(
                "no report header around its `{}` line (no other key of Apple's header, such as \
                 `Exception Type:` or `Crashed Thread:`, and no .ips header line)",
                clip(key_text(&line).trim_end(), 60)
            ),
            None => "no report header (no `Process:` line and no .ips header line)".to_owned(),
        };
        return not_a_report(
            NotAReport::TextFragment,
            format!(
                "a fragment of a crash report: {thread_lines} backtrace line(s) (first: \"{sample}\") \
                 but {header}"
            ),
        );
    }
    not_a_report(
        NotAReport::Unrecognised,
        "no .ips header line, no JSON report body and no `Process:` header were found",
    )
}

#[cfg(test)]
mod tests {
    /// The block-wise count is the plain one, on every byte value and lengths around the blocks.
    #[test]
    fn control_bytes_are_counted_as_one_by_one() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for len in [0, 1, 254, 255, 256, 509, 510, 511, 4096, 8191, 8192] {
            for density in [0u64, 1, 8, 64, 255] {
                let bytes: Vec<u8> = (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        // `density` in 256 bytes are below 0x20, the rest anything.
                        if x % 256 < density {
                            (x >> 8) as u8 % 0x20
                        } else {
                            (x >> 8) as u8
                        }
                    })
                    .collect();
                let plain = bytes.iter().filter(|&&b| is_control(b)).count();
                assert_eq!(
                    control_bytes(&bytes),
                    plain,
                    "{len} bytes, density {density}"
                );
            }
        }
        assert_eq!(control_bytes(&[0u8; 8192]), 8192);
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(control_bytes(&all), 28);
    }
    use super::super::parse;
    use super::*;

    const HEADER: &str = r#"{"app_name":"Python","timestamp":"2025-12-23 16:41:07.00 -0800","bug_type":"309","os_version":"macOS 15.7.3 (24G419)","name":"Python","incident_id":"5E0C2B1A-7F3D-4A9B-8C6E-1D2F3A4B5C6D"}"#;
    const BODY: &str = r#"{"procName":"Python","pid":81920,"exception":{"type":"EXC_BAD_ACCESS","signal":"SIGSEGV","subtype":"KERN_INVALID_ADDRESS at 0x0000000000000098"},"faultingThread":0,"threads":[{"triggered":true,"frames":[{"imageOffset":227352,"imageIndex":0,"symbol":"f","symbolLocation":4}]}],"usedImages":[{"name":"AGXMetalG16X","base":4845862912,"size":6291456,"uuid":"0CE453FF-9F17-321F-BC18-383573A48221"}]}"#;

    /// An input of `candidates` lines that start a JSON object none of which ends: each parses
    /// to the end of the input. `size` bytes in all.
    fn unclosed_candidates(candidates: usize, size: usize) -> String {
        let filler = "1,".repeat(40) + "\n";
        let mut text = String::with_capacity(size + 128);
        for k in 1..=candidates {
            text.push_str("{\"a\":[\n");
            while text.len() < k * size / candidates {
                text.push_str(&filler);
            }
        }
        text
    }

    /// C8: the JSON candidates of one input parse a bounded number of bytes together, linear in
    /// the input: 64 unclosed objects used to parse 32 times the input.
    #[test]
    fn json_candidates_parse_a_bounded_number_of_bytes() {
        let text = unclosed_candidates(64, 1 << 20);
        assert_eq!(text.lines().filter(|l| is_candidate(l)).count(), 64);
        let mut spent = 0;
        assert!(find_json_within(&text, 0, "", Frames::All, &mut spent).is_none());
        assert!(
            spent <= json_parse_budget(text.len()) + text.len(),
            "parsed {spent} bytes of a {}-byte input",
            text.len()
        );
        // A report after a few fragments is still found: the budget is for pathological inputs.
        let mut spent = 0;
        let fragments = "{\"not\": \"a report\"}\n".repeat(10);
        let found = find_json_within(
            &format!("{fragments}{HEADER}\n{BODY}\n"),
            0,
            "",
            Frames::All,
            &mut spent,
        );
        assert!(matches!(found, Some(Ok(_))));
    }

    #[test]
    fn parsed_until_points_at_the_error() {
        let text = "{\n  \"a\": 1,\n  \"b\": x\n}";
        let e = serde_json::from_str::<serde_json::Value>(text).unwrap_err();
        assert_eq!(
            text.get(parsed_until(text, &e) - 1..)
                .unwrap()
                .chars()
                .next(),
            Some('x')
        );
        let e = serde_json::from_str::<serde_json::Value>("{\"a\": [1, 2").unwrap_err();
        assert_eq!(parsed_until("{\"a\": [1, 2", &e), 11);
    }

    #[test]
    fn header_and_body() {
        let r = parse(format!("{HEADER}\n{BODY}\n").as_bytes()).unwrap();
        assert_eq!(
            (r.format, &r.container),
            (SourceFormat::Ips, &Container::Plain)
        );
        assert_eq!(r.process.pid, Some(81920));
        assert_eq!(
            r.images[0].uuid.as_deref(),
            Some("0ce453ff-9f17-321f-bc18-383573a48221")
        );
        assert_eq!(
            r.crashed().unwrap().frames[0].address,
            Some(4845862912 + 227352)
        );
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    #[test]
    fn a_header_alone_is_incomplete() {
        let e = parse(format!("{HEADER}\n").as_bytes()).unwrap_err();
        assert!(matches!(e, ParseError::Incomplete(_)), "{e:?}");
    }

    #[test]
    fn a_body_without_header_is_read_and_said() {
        let r = parse(BODY.as_bytes()).unwrap();
        assert_eq!(r.format, SourceFormat::IpsBodyOnly);
        assert_eq!(r.kind, ReportKind::Crash);
        assert!(
            r.warnings
                .iter()
                .any(|w| w.at == "header" && w.message.contains("no header line"))
        );
    }

    #[test]
    fn trailing_text_is_ignored_with_a_warning() {
        let r = parse(format!("{HEADER}\n{BODY}\nSystem Profile:\nModel: Mac16,5\n").as_bytes())
            .unwrap();
        assert_eq!(r.process.name.as_deref(), Some("Python"));
        assert!(
            r.warnings
                .iter()
                .any(|w| w.message.contains("after the JSON body"))
        );
    }

    #[test]
    fn a_report_in_a_markdown_fence_is_embedded() {
        let text = format!("The app crashed:\n\n```\n{HEADER}\n{BODY}\n```\nThanks!\n");
        let r = parse(text.as_bytes()).unwrap();
        assert_eq!(r.container, Container::Embedded { line: 4 });
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    #[test]
    fn jetsam_and_non_fatal_reports_are_not_crashes() {
        let jetsam = r#"{"bug_type":"298","timestamp":"2025-12-23 16:41:07.00 -0800","os_version":"macOS 15.7.3 (24G419)","incident_id":"1A2B"}
{"crashReporterKey":"x","product":"Mac16,5","incident":"1A2B","largestProcess":"Python","processes":[{"pid":1,"name":"launchd"}]}"#;
        let r = parse(jetsam.as_bytes()).unwrap();
        assert_eq!(r.kind, ReportKind::Jetsam);
        assert_eq!(r.summary.as_deref(), Some("largest process: Python"));

        let fault = format!("{}\n{BODY}", HEADER.replace("\"309\"", "\"308\""));
        assert_eq!(parse(fault.as_bytes()).unwrap().kind, ReportKind::NonFatal);
        let simulated = format!("{HEADER}\n{}", BODY.replacen('{', "{\"isSimulated\":1,", 1));
        assert_eq!(
            parse(simulated.as_bytes()).unwrap().kind,
            ReportKind::NonFatal
        );
    }

    #[test]
    fn a_syntax_error_keeps_the_header() {
        let r = parse(format!("{HEADER}\n{{\"procName\": @NAME@}}\n").as_bytes()).unwrap();
        assert_eq!(r.process.name.as_deref(), Some("Python"));
        assert!(
            r.warnings
                .iter()
                .any(|w| w.message.contains("not valid JSON"))
        );
    }

    #[test]
    fn wrong_types_become_warnings() {
        let body = BODY
            .replace("\"pid\":81920", "\"pid\":{\"x\":1}")
            .replace("\"imageIndex\":0", "\"imageIndex\":7");
        let r = parse(format!("{HEADER}\n{body}").as_bytes()).unwrap();
        assert_eq!(r.process.pid, None);
        let at: Vec<&str> = r.warnings.iter().map(|w| w.at.as_str()).collect();
        assert!(at.contains(&"pid"), "{at:?}");
        assert!(at.contains(&"threads[0].frames[0].imageIndex"), "{at:?}");

        // Places are formatted only for a warning, and then in full.
        let body = BODY.replace("\"frames\":[{", "\"frames\":5,\"x\":[{");
        let r = parse(format!("{HEADER}\n{body}").as_bytes()).unwrap();
        let at: Vec<&str> = r.warnings.iter().map(|w| w.at.as_str()).collect();
        assert_eq!(at, ["threads[0].frames"]);
    }

    #[test]
    fn empty_and_binary_inputs() {
        assert!(matches!(
            parse(b"  \n\n"),
            Err(ParseError::NotAReport {
                what: NotAReport::Empty,
                ..
            })
        ));
        let binary: Vec<u8> = (0..4096u32).map(|i| (i % 7) as u8).collect();
        assert!(matches!(
            parse(&binary),
            Err(ParseError::NotAReport {
                what: NotAReport::Binary,
                ..
            })
        ));
    }

    #[test]
    fn markdown_around_a_paste_is_tolerated() {
        let report = "Process:               Python [81920]\nCode Type:             ARM-64\n\n\
                      Exception Type:        EXC_BAD_ACCESS (SIGSEGV)\n\n\
                      Thread 0 Crashed::  Dispatch queue: com.apple.main-thread\n\
                      0   libsystem_kernel.dylib        \t       0x19cc40b84 __pthread_kill + 8\n\
                      1   Python                        \t       0x102000000 main + 12\n";
        let read = |text: String| {
            let r = parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e}\n{text}"));
            assert_eq!(r.process.pid, Some(81920), "{text}");
            let frames = &r.crashed().unwrap().frames;
            assert_eq!(frames.len(), 2, "{text}");
            assert_eq!(
                frames[0].symbol.as_deref(),
                Some("__pthread_kill"),
                "{text}"
            );
        };
        // Every line an inline code span.
        read(
            report
                .lines()
                .map(|l| {
                    if l.is_empty() {
                        String::new()
                    } else {
                        format!("`{l}`")
                    }
                })
                .collect::<Vec<_>>()
                .join("\n"),
        );
        // A block quote.
        read(
            report
                .lines()
                .map(|l| format!("> {l}"))
                .collect::<Vec<_>>()
                .join("\n"),
        );
        // A fence glued to the first line, a stray backtick before it, a leading `{`.
        read(format!("Here it is:\n```{report}```\n"));
        read(format!("`{report}"));
        read(format!("{{{report}"));
        // HTML: `<br>` for line ends inside a `<details>` block.
        read(format!(
            "<details><summary>crash</summary><pre>{}</pre></details>",
            report.replace('\n', "<br>")
        ));
    }

    #[test]
    fn the_compact_spelling_of_images_and_frames() {
        // Version 1 bodies (before macOS 12), panics and stackshots, and tools that write the
        // short form: images `[uuid, base, source]` named in `legacyInfo.imageExtraInfo`,
        // frames `[imageIndex, imageOffset]`, registers at the top level.
        let body = r#"{"version":1,"procName":"Python","pid":5,"exception":{"type":"EXC_BAD_ACCESS","signal":"SIGSEGV"},"faultingThread":0,"threads":[{"triggered":true,"frames":[[0,227352],[1,100],[7,1]]}],"usedImages":[["0CE453FF-9F17-321F-BC18-383573A48221",4845862912,"P"],["b8898079-5424-3e89-92b0-33022c3be1bb",6000000000]],"legacyInfo":{"imageExtraInfo":[{"name":"AGXMetalG16X"},{"path":"/usr/lib/system/libsystem_kernel.dylib"}]},"threadState":{"flavor":"ARM_THREAD_STATE64","far":{"value":152}}}"#;
        let r = parse(format!("{HEADER}\n{body}").as_bytes()).unwrap();
        let names: Vec<_> = r.images.iter().map(|i| i.name.as_deref()).collect();
        assert_eq!(
            names,
            [Some("AGXMetalG16X"), Some("libsystem_kernel.dylib")]
        );
        assert_eq!(r.images[0].source.as_deref(), Some("P"));
        assert_eq!(
            r.images[0].uuid.as_deref(),
            Some("0ce453ff-9f17-321f-bc18-383573a48221")
        );
        let frames = &r.crashed().unwrap().frames;
        assert_eq!(frames.len(), 3, "no frame is dropped");
        assert_eq!(frames[0].image.as_deref(), Some("AGXMetalG16X"));
        assert_eq!(frames[0].address, Some(4845862912 + 227352));
        assert_eq!(frames[1].image_offset, Some(100));
        assert_eq!(
            frames[2].image_index, None,
            "a dangling index is kept as a frame"
        );
        assert_eq!(r.exception.unwrap().address, Some(0x98));
    }

    #[test]
    fn registers_are_the_crashed_threads_read_in_one_pass() {
        // Older reports carry every thread's registers: only the crashed thread's are kept. The
        // arm64 `x` array is numbered; a register that is not an object, or has no value, is left
        // out; a `threadState` that is not an object is no state (and does not fall back to the
        // top level's).
        let x: Vec<String> = (0..31).map(|i| format!("{{\"value\":{i}}}")).collect();
        let body = format!(
            r#"{{"procName":"P","faultingThread":1,"threads":[
                {{"frames":[],"threadState":{{"flavor":"OTHER","pc":{{"value":1}}}}}},
                {{"frames":[],"threadState":{{"x":[{}],"flavor":"ARM_THREAD_STATE64",
                  "far":{{"value":18446744073709551615,"description":"d"}},"lr":{{"symbol":"s"}},
                  "sp":7,"pc":{{"value":16,"symbol":"main"}}}}}},
                {{"frames":[],"threadState":"text"}}],
              "threadState":{{"pc":{{"value":99}}}}}}"#,
            x.join(",")
        );
        let r = parse(format!("{HEADER}\n{body}").as_bytes()).unwrap();
        let state = r.crashed().unwrap().state.as_ref().unwrap();
        assert_eq!(state.flavor.as_deref(), Some("ARM_THREAD_STATE64"));
        let names: Vec<_> = state.registers.iter().map(|r| r.name.as_str()).collect();
        let mut want: Vec<String> = (0..31).map(|i| format!("x{i}")).collect();
        want.extend(["far".into(), "pc".into()]);
        assert_eq!(names, want);
        assert_eq!(state.registers[30].value, 30);
        assert_eq!(state.registers[31].value, u64::MAX);
        assert_eq!(state.registers[31].description.as_deref(), Some("d"));
        assert_eq!(state.registers[32].symbol.as_deref(), Some("main"));
        assert!(r.threads[0].state.is_none() && r.threads[2].state.is_none());

        let text_state = body.replace(r#""faultingThread":1"#, r#""faultingThread":2"#);
        let r = parse(format!("{HEADER}\n{text_state}").as_bytes()).unwrap();
        assert_eq!(r.crashed_thread, Some(2));
        assert!(r.crashed().unwrap().state.is_none());
    }

    #[test]
    fn other_threads_registers_are_skipped_but_never_the_crashed_threads() {
        // With `faultingThread` before `threads` (every body macOS writes), the other threads'
        // registers are skipped unread (`ips::threads_after`). Whatever the order of the keys, the
        // crashed thread's are still read: `faultingThread` after `threads`, absent, or pointing
        // past the threads (the triggered thread crashed), and a thread's keys sorted
        // (`triggered` after `threadState`, as lldb's tests write them).
        let state = |pc: u64| format!(r#"{{"pc":{{"value":{pc}}}}}"#);
        let pc_of = |body: &str| {
            let r = parse(format!("{HEADER}\n{body}").as_bytes()).unwrap();
            let state = r.crashed().and_then(|t| t.state.as_ref());
            state.and_then(|s| s.registers.first()).map(|r| r.value)
        };
        let threads = |first: &str, second: &str| {
            format!(
                r#"[{{"threadState":{},"frames":[]}},{{{first}"threadState":{},{second}"frames":[]}}]"#,
                state(1),
                state(2)
            )
        };
        let triggered_first = threads(r#""triggered":true,"#, "");
        let sorted = threads("", r#""triggered":true,"#);
        for (body, why) in [
            (
                format!(r#"{{"faultingThread":1,"threads":{sorted}}}"#),
                "named first",
            ),
            (
                format!(r#"{{"threads":{sorted},"faultingThread":1}}"#),
                "named after",
            ),
            (format!(r#"{{"threads":{sorted}}}"#), "triggered, sorted"),
            (format!(r#"{{"threads":{triggered_first}}}"#), "triggered"),
            (
                format!(r#"{{"faultingThread":9,"threads":{triggered_first}}}"#),
                "past the threads",
            ),
        ] {
            assert_eq!(pc_of(&body), Some(2), "{why}: {body}");
        }

        // The skipping itself: thread 0's registers are not read when thread 1 crashed.
        let mut de = serde_json::Deserializer::from_str(&sorted);
        let seed = super::super::ips::threads_naming(Some(1));
        let read = serde::de::DeserializeSeed::deserialize(seed, &mut de).unwrap();
        let read: Vec<bool> = read
            .items()
            .iter()
            .map(|t| t.thread_state.is_some())
            .collect();
        assert_eq!(read, [false, true]);
    }

    #[test]
    fn faulting_thread_absent_falls_back_to_triggered() {
        // Older and third-party writers omit `faultingThread`; `triggered` marks the thread then.
        let body = BODY
            .replace("\"faultingThread\":0,", "\"threads\":[{\"frames\":[]},")
            .replacen("\"threads\":[{\"triggered\"", "{\"triggered\"", 1);
        let r = parse(format!("{HEADER}\n{body}").as_bytes()).unwrap();
        assert_eq!(r.crashed_thread, Some(1));
    }

    /// Frames under a `Process:` line but no other key of Apple's header: a fragment, and the
    /// reason says the `Process:` line was seen (it said there was none). The shape of Cr4shed's
    /// logs (Muirey03/Cr4shed#68: lower-case `Exception type:`, `Triggered by thread:`,
    /// `Call stack:`).
    #[test]
    fn a_process_line_without_a_header_is_named_in_the_reason() {
        let log = "Date: 9/27/21, 8:30 AM\nProcess: ReportMemoryException\n\
                   Exception type: EXC_SOFTWARE (SIGABRT)\nTriggered by thread: 1\nCall stack:\n\
                   0   libsystem_kernel.dylib  0x1ceb28414 0x1ceb00000 + 164884  // __pthread_kill\n\
                   1   libsystem_pthread.dylib  0x1ec582b40 0x1ec580000 + 11072  // pthread_kill\n";
        match parse(log.as_bytes()) {
            Err(ParseError::NotAReport { what, reason }) => {
                assert_eq!(what, NotAReport::TextFragment);
                assert!(
                    reason.contains(
                        "no report header around its `Process: ReportMemoryException` line"
                    ),
                    "{reason}"
                );
            }
            other => panic!("{other:?}"),
        }
        let frames = "0   libsystem_kernel.dylib  0x1ceb28414 __pthread_kill + 8\n\
                      1   libsystem_pthread.dylib  0x1ec582b40 pthread_kill + 268\n";
        match parse(frames.as_bytes()) {
            Err(ParseError::NotAReport { reason, .. }) => {
                assert!(
                    reason.contains("(no `Process:` line and no .ips header line)"),
                    "{reason}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    /// The race report's body, pretty-printed as macOS writes it (a header line, then the body).
    fn race_body() -> String {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/derived/agx-prepareForEnqueue-0x98.ips"
        );
        let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{e}"));
        text.split_once('\n')
            .map(|(_, b)| b.to_owned())
            .unwrap_or_default()
    }

    fn crashed_symbols(r: &Report) -> Vec<Option<String>> {
        r.crashed()
            .map(|t| t.frames.iter().map(|f| f.symbol.clone()).collect())
            .unwrap_or_default()
    }

    /// Pieces of a body people paste (from a top-level key on, one thread object, cut or
    /// whole, quoted, after prose) are read as the body they come from when they hold the
    /// crashed thread's frames: the same frames as the whole report, and warnings that say what
    /// is missing.
    #[test]
    fn a_piece_of_a_body_with_the_crashed_thread_is_read() {
        let body = race_body();
        let whole = parse(body.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let frames = crashed_symbols(&whole);
        assert!(frames.len() > 5);
        let from = |key: &str| {
            body.get(body.find(&format!("\"{key}\"")).unwrap_or_default()..)
                .unwrap_or_default()
                .to_owned()
        };
        // The crashed thread's object: macOS writes `"triggered"` first in it.
        let thread = {
            let triggered = body.find("\"triggered\"").unwrap_or_default();
            let open = body
                .get(..triggered)
                .and_then(|t| t.rfind('{'))
                .unwrap_or_default();
            let mut values =
                serde_json::Deserializer::from_str(body.get(open..).unwrap_or_default())
                    .into_iter::<serde::de::IgnoredAny>();
            assert!(matches!(values.next(), Some(Ok(_))));
            body.get(open..open + values.byte_offset())
                .unwrap_or_default()
                .to_owned()
        };
        let images = body.find("\"usedImages\"").unwrap_or_default();
        let threads_to_images = body
            .get(body.find("\"threads\"").unwrap_or_default()..images)
            .unwrap_or_default()
            .to_owned();
        // From inside the crashed thread's registers: after the register marked as the crash
        // frame's (`matchesCrashFrame`), the thread's frames.
        let in_registers = {
            let mark = body.find("\"matchesCrashFrame\"").unwrap_or_default();
            body.get(mark.saturating_sub(40)..)
                .unwrap_or_default()
                .to_owned()
        };
        let quoted: String = from("exception")
            .lines()
            .map(|l| format!("> {l}\n"))
            .collect();
        for (what, text, cut, starts) in [
            (
                "from exception",
                from("exception"),
                false,
                "`\"exception\"`",
            ),
            ("from threads", from("threads"), false, "`\"threads\"`"),
            (
                "from threads, indented as macOS writes it",
                format!("  {}", from("threads")),
                false,
                "`\"threads\"`",
            ),
            (
                "from the crashed thread's registers",
                in_registers,
                false,
                "the crashed thread's frames (after the register `matchesCrashFrame` marks)",
            ),
            (
                "threads, no images",
                threads_to_images,
                true,
                "`\"threads\"`",
            ),
            ("one thread", thread.clone(), false, "a thread object"),
            (
                "one thread after prose, then prose",
                format!(
                    "It crashed again, here is the thread:\n\n```json\n{thread}\n```\nAny idea?\n"
                ),
                false,
                "a thread object",
            ),
            ("quoted", quoted, false, "`\"exception\"`"),
        ] {
            let r = parse(text.as_bytes()).unwrap_or_else(|e| panic!("{what}: {e}"));
            assert_eq!(crashed_symbols(&r), frames, "{what}");
            assert_eq!(r.cut.is_some(), cut, "{what}: {:?}", r.cut);
            assert!(
                r.warnings.iter().any(|w| w.message.starts_with(&format!(
                    "a piece of an .ips JSON body, from {starts} at line "
                ))),
                "{what}: {:?}",
                r.warnings
            );
        }
        // The exception is read when the piece has it: the race's address is there.
        let r = parse(from("exception").as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(r.exception, whole.exception);
        assert_eq!(r.process.name, None);
        // Cut inside the crashed thread's frames: the frames before the cut.
        let cut_at = thread.find("\"symbolLocation\"").unwrap_or_default();
        let cut = thread.get(..cut_at + 300).unwrap_or_default();
        let r = parse(cut.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
        let got = crashed_symbols(&r);
        assert!(!got.is_empty() && got.len() < frames.len(), "{got:?}");
        assert_eq!(got.as_slice(), frames.get(..got.len()).unwrap_or_default());
        assert!(r.cut.is_some());
    }

    /// A piece without the crashed thread's frames says nothing of which crash it is: it stays a
    /// fragment. So does a thread object quoted in a sentence (a document about a report).
    #[test]
    fn a_piece_without_the_crashed_thread_is_a_fragment() {
        let body = race_body();
        let threads = body.find("\"threads\"").unwrap_or_default();
        let start = body.find("\"exception\"").unwrap_or_default();
        for (what, text) in [
            ("exception to threads", body.get(start..threads).unwrap_or_default().to_owned()),
            ("images", body.get(body.find("\"usedImages\"").unwrap_or_default()..).unwrap_or_default().to_owned()),
            (
                "a thread in inline code",
                "`{\"triggered\":true,\"id\":1,\"frames\":[{\"imageOffset\":1,\"imageIndex\":0,\"symbol\":\"f\"}]}` is how macOS marks it\n".to_owned(),
            ),
            (
                "the threads key in inline code, quoted",
                "> `\"threads\":[{\"triggered\":true,\"id\":1,\"frames\":[{\"imageOffset\":1,\"imageIndex\":0,\"symbol\":\"f\"}]}]` is how\n".to_owned(),
            ),
            (
                "a thread with words after it on its line",
                "{\"triggered\":true,\"id\":1,\"frames\":[{\"imageOffset\":1,\"imageIndex\":0,\"symbol\":\"f\"}]} is how macOS marks it\n".to_owned(),
            ),
            (
                // A whole body without its header line, damaged in its images: not a piece
                // that lacks its start (the start is there).
                "a damaged body",
                body.replacen("\"usedImages\": [", "\"usedImages\": [ {,} ", 1),
            ),
            (
                "frames naming no code",
                "{\"triggered\":true,\"frames\":[".repeat(3),
            ),
            (
                "in prose",
                "- threads `[{\"triggered\":true,\"id\":1,\"frames\":[{\"imageOffset\":1,\"imageIndex\":0,\"symbol\":\"f\"}]}]`\n".to_owned(),
            ),
        ] {
            match parse(text.as_bytes()) {
                Err(ParseError::NotAReport { .. }) => {}
                other => panic!("{what}: {other:?}"),
            }
        }
    }

    /// Files people give a report reader in a report's place are named by their first bytes;
    /// text is not.
    #[test]
    fn known_files_by_their_first_bytes() {
        let mut heic = b"\0\0\0\x18ftypheic".to_vec();
        heic.extend([0u8; 16]);
        for (bytes, says) in [
            (&[0xcf, 0xfa, 0xed, 0xfe, 7, 0, 0, 1][..], "a Mach-O binary"),
            (&[0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 2][..], "a Mach-O binary"),
            (&heic[..], "an image (HEIC"),
            (b"%PDF-1.7\n", "a PDF document"),
            (&[0xfd, b'7', b'z', b'X', b'Z', 0][..], "an xz-compressed"),
            (b"bplist00\xd1\x01", "a binary property list"),
        ] {
            let why = known_file(bytes).unwrap_or_else(|| panic!("{says}: not named"));
            assert!(why.starts_with(says), "{why}");
        }
        assert_eq!(known_file(b"Process: a [1]\n"), None);
        assert_eq!(known_file(b"{\"bug_type\":\"309\"}\n"), None);
    }
}
