//! The command's output fed to every recogniser, without paying for the lines none of them can
//! care about (issue 14: a command printing 100 MB must not pay for capture).
//!
//! Nearly every line a test run prints is nobody's business: a recogniser acts on a handful of
//! runner lines (`Fatal Python error: `, `test x ... `, `SIGSEGV [ 0.1s]`, `=== RUN`), and on
//! every line only while it is in the middle of something (a dump, a test's captured output).
//! So each recogniser declares what it can act on while not busy ([`Interest`](super::Interest): lower-case
//! literals anywhere on the line, and a check of how the line starts), and says after each line
//! whether it is now busy. A [`Reader`] looks for every recogniser's literals at once (one
//! Aho-Corasick automaton over a whole read, not per line) and feeds a line only to the
//! recognisers that are busy or interested; a line nobody wants is not even copied into a
//! `String`. A recogniser's interest is a promise ("any other line would change nothing"), and
//! `tests/testlog_prefilter.rs` holds every recorded log to it: the evidence is the same fed
//! this way as fed every line.
//!
//! Escapes and carriage returns are removed ([`plain`](super::plain)) before the literals are looked for, so a
//! colour code in the middle of `Fatal Python error` does not hide it. On coloured output that
//! is every line, so a read's lines are made plain in one pass over the read (`push_plain_lines`,
//! held to the line-by-line way by this file's tests), not line by line.

use std::borrow::Cow;

use aho_corasick::{AhoCorasick, Input, MatchKind};
use chrono::{DateTime, Utc};

use super::{Evidence, Line, Recognizer, Stream, push_plain, push_without_escapes};

/// The most recognisers a filtering [`Reader`] tells apart (a bit each); with more, every line
/// goes to every recogniser.
const MAX_FILTERED: usize = 64;

/// The text the recognisers read of a line's bytes (without its `\n`): UTF-8 read lossily, the
/// `\r` of a `\r\n` ending dropped, escapes and overwrites removed ([`plain`](super::plain)).
pub fn line_text(raw: &[u8]) -> Cow<'_, str> {
    if memchr::memchr2(0x1b, b'\r', raw).is_none() {
        return String::from_utf8_lossy(raw);
    }
    let mut text = Vec::with_capacity(raw.len());
    push_plain(raw, &mut text);
    match String::from_utf8(text) {
        Ok(text) => Cow::Owned(text),
        // `push_plain` writes UTF-8.
        Err(e) => Cow::Owned(String::from_utf8_lossy(e.as_bytes()).into_owned()),
    }
}

/// Every recogniser, fed lines through their [`Interest`](super::Interest)s (see the module essay).
pub struct Reader {
    fed: Fed,
    /// Every recogniser's literals; `None` feeds every line to every recogniser.
    literals: Option<AhoCorasick>,
    /// For each pattern of `literals`, the recognisers it interests (bit `i` for the `i`-th).
    owners: Vec<u64>,
    /// A read, lower-cased, for the literals.
    lower: Vec<u8>,
    /// A read's lines made plain, when some need it.
    text: String,
    /// Where each of a read's lines ends (its `\n`) in the text the recognisers read.
    ends: Vec<usize>,
}

/// An [`Interest`](super::Interest)'s check of how a line starts.
type StartCheck = fn(&str) -> bool;

/// The recognisers and what they want next.
struct Fed {
    recognizers: Vec<Box<dyn Recognizer>>,
    /// The start checks, with the recogniser each is for.
    starts: Vec<(u64, StartCheck)>,
    /// Recognisers that read every line (no interest declared): always fed.
    always: u64,
    /// Recognisers busy after their last line (and `always`).
    busy: u64,
    /// The line handed to them: one `String`, reused.
    line: Line,
    /// A single line, lower-cased, for the literals.
    lower: Vec<u8>,
}

impl Reader {
    /// Feeds `recognizers` only the lines they declared an interest in, and every line while
    /// they are busy.
    pub fn new(recognizers: Vec<Box<dyn Recognizer>>) -> Reader {
        if recognizers.len() > MAX_FILTERED {
            return Reader::unfiltered(recognizers);
        }
        let mut patterns: Vec<String> = Vec::new();
        let mut owners = Vec::new();
        let mut starts = Vec::new();
        let mut always = 0;
        for (i, r) in recognizers.iter().enumerate() {
            let bit = 1u64 << i;
            let Some(interest) = r.interest() else {
                always |= bit;
                continue;
            };
            for literal in interest.literals {
                let literal = literal.to_ascii_lowercase();
                if literal.is_empty() {
                    // On every line.
                    always |= bit;
                    continue;
                }
                match patterns.iter().position(|p| *p == literal) {
                    Some(at) => {
                        if let Some(o) = owners.get_mut(at) {
                            *o |= bit;
                        }
                    }
                    None => {
                        patterns.push(literal);
                        owners.push(bit);
                    }
                }
            }
            if let Some(start) = interest.start {
                starts.push((bit, start));
            }
        }
        // The search reports, at each position where literals start, only the longest (see
        // `hits`): a literal stands for every literal it holds.
        let owners: Vec<u64> = patterns
            .iter()
            .map(|p| {
                patterns
                    .iter()
                    .zip(&owners)
                    .filter(|(q, _)| p.contains(q.as_str()))
                    .fold(0, |mask, (_, o)| mask | o)
            })
            .collect();
        // Leftmost-longest, not the overlapping search of MatchKind::Standard: that one runs
        // without the automaton's prefilter, five times slower on 100 MB of output.
        let Ok(literals) = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(&patterns)
        else {
            return Reader::unfiltered(recognizers);
        };
        let mut fed = Fed::new(recognizers, always);
        fed.starts = starts;
        fed.update_busy();
        Reader {
            fed,
            literals: Some(literals),
            owners,
            lower: Vec::new(),
            text: String::new(),
            ends: Vec::new(),
        }
    }

    /// Feeds every line to every recogniser: what [`Reader::new`] must not differ from.
    pub fn unfiltered(recognizers: Vec<Box<dyn Recognizer>>) -> Reader {
        Reader {
            fed: Fed::new(recognizers, u64::MAX),
            literals: None,
            owners: Vec::new(),
            lower: Vec::new(),
            text: String::new(),
            ends: Vec::new(),
        }
    }

    /// Reads `block`, whole lines each ended by `\n` (bytes after the last `\n` are read as one
    /// more line), each cut at `max` bytes; the evidence they complete goes to `out`.
    pub fn read_lines(
        &mut self,
        block: &[u8],
        max: usize,
        stream: Stream,
        at: DateTime<Utc>,
        out: &mut Vec<Evidence>,
    ) {
        let Some(literals) = &self.literals else {
            for raw in split_lines(block) {
                self.fed.line(cut(raw, max), None, stream, at, out);
            }
            return;
        };
        // What the recognisers read: the block itself, unless a line holds an escape or a
        // carriage return; then the lines, each cut and made plain (`line_text`), so that the
        // literals are looked for in the text the recognisers read.
        let made_plain = memchr::memchr2(0x1b, b'\r', block).is_some();
        // One UTF-8 check for the read, not one per line.
        let valid = std::str::from_utf8(block);
        self.ends.clear();
        let (text, valid) = match (made_plain, valid) {
            (false, valid) => {
                self.ends.extend(memchr::memchr_iter(b'\n', block));
                if block.last().is_some_and(|&b| b != b'\n') {
                    self.ends.push(block.len());
                }
                (block, valid.ok())
            }
            (true, Ok(block)) => {
                self.text.clear();
                push_plain_lines(block, max, &mut self.text, &mut self.ends);
                (self.text.as_bytes(), Some(self.text.as_str()))
            }
            // Bytes that are not UTF-8 (rare): line by line, each read lossily.
            (true, Err(_)) => {
                let mut text = std::mem::take(&mut self.text).into_bytes();
                text.clear();
                for raw in split_lines(block) {
                    push_without_escapes(cut(raw, max), &mut text);
                    self.ends.push(text.len());
                    text.push(b'\n');
                }
                // `push_without_escapes` writes UTF-8: this does not copy.
                self.text = String::from_utf8(text)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
                (self.text.as_bytes(), Some(self.text.as_str()))
            }
        };
        // The literals are looked for once in the whole read: one pass at memory speed, where
        // a search per line would pay its start-up on every line.
        self.lower.clear();
        self.lower.extend(text.iter().map(u8::to_ascii_lowercase));
        let mut hits = hits(literals, &self.lower).peekable();
        let mut start = 0;
        for &end in &self.ends {
            let mut mask = 0;
            // No literal holds a `\n`: the hits starting before `end` are this line's.
            while let Some((_, pattern)) = hits.next_if(|&(at, _)| at < end) {
                mask |= self.owners.get(pattern).copied().unwrap_or(0);
            }
            let raw = text.get(start..end).unwrap_or_default();
            // Lines made plain were cut before (and may have grown since, by U+FFFD); the
            // others have no `\r`, so `cut` is their first `max` bytes.
            let raw = if made_plain {
                raw
            } else {
                raw.get(..max).unwrap_or(raw)
            };
            let line = match valid.and_then(|v| v.get(start..start + raw.len())) {
                Some(line) => Cow::Borrowed(line),
                // Cut inside a character, or not UTF-8.
                None => String::from_utf8_lossy(raw),
            };
            self.fed.feed(&line, mask, stream, at, out);
            start = end + 1;
        }
    }

    /// Reads one line (its bytes without the `\n`, already cut): a line that came in pieces.
    pub fn read_line(
        &mut self,
        raw: &[u8],
        stream: Stream,
        at: DateTime<Utc>,
        out: &mut Vec<Evidence>,
    ) {
        let literals = self.literals.as_ref().map(|l| (l, self.owners.as_slice()));
        self.fed.line(raw, literals, stream, at, out);
    }

    /// What every recogniser still holds open ([`Recognizer::finish`]), in their order.
    pub fn finish(&mut self) -> Vec<Evidence> {
        let mut out = Vec::new();
        for r in &mut self.fed.recognizers {
            out.extend(r.finish());
        }
        self.fed.update_busy();
        out
    }
}

/// Where literals start in `haystack`, in order, with the longest literal starting there: the
/// search starts again one byte after each hit's start, so no literal is missed, and one that
/// starts where a longer one does is in it (the owners of a literal include those of every
/// literal it holds).
fn hits<'a>(ac: &'a AhoCorasick, haystack: &'a [u8]) -> impl Iterator<Item = (usize, usize)> + 'a {
    let mut from = 0;
    std::iter::from_fn(move || {
        let hit = ac.find(Input::new(haystack).range(from..))?;
        from = hit.start() + 1;
        Some((hit.start(), hit.pattern().as_usize()))
    })
}

/// What of a line the recognisers read: what a terminal shows of it (the part after its last
/// carriage return that has something after it, as [`plain`](super::plain) takes), then its
/// first `max` bytes. Cut first, a line of progress-bar redraws longer than `max` kept its first redraws and lost
/// the dump that ended it (review finding: a `tqdm` bar then `Fatal Python error` on one line).
pub fn cut(raw: &[u8], max: usize) -> &[u8] {
    let shown = last_redraw(raw);
    shown.get(..max).unwrap_or(shown)
}

/// `raw` from after its last `\r` that is followed by something other than `\r`s (trailing
/// ones are a `\r\n` ending, a terminal's `\r\r\n`, or a redraw not yet written).
pub fn last_redraw(raw: &[u8]) -> &[u8] {
    let end = raw.iter().rposition(|&b| b != b'\r').map_or(0, |i| i + 1);
    let body = raw.get(..end).unwrap_or(raw);
    match memchr::memrchr(b'\r', body) {
        Some(at) => raw.get(at + 1..).unwrap_or(raw),
        None => raw,
    }
}

/// The lines of `block` (as [`split_lines`] reads them), each cut at `max` and made plain
/// (`push_without_escapes(cut(line, max))`), each followed by `\n`, appended to `out`: in one
/// pass over the read, not one search for `\r`, one UTF-8 check and one search per escape for
/// every line (on coloured output nearly every line has an escape or a `\r`).
///
/// One pass works because of how little a line's text depends on: a `\r` followed by anything
/// but more `\r`s and the line's end starts the line over, whatever came before it (an escape
/// sequence it interrupts included), which is `last_redraw`; trailing `\r`s are dropped; an
/// escape sequence cut short by a `\r` or the line's end is over. `block` is UTF-8 (checked
/// once per read by the caller), so no character is read lossily, and escape removal leaves
/// whole characters (what it skips ends at ASCII). Only `cut`'s `max` needs the line: a line
/// whose shown text goes past it is done again the line-by-line way (`one_pass_is_line_by_line`
/// below holds both to the same text).
fn push_plain_lines(block: &str, max: usize, out: &mut String, ends: &mut Vec<usize>) {
    let bytes = block.as_bytes();
    // Where the current line starts, in `bytes` and in `out`, and where what a terminal shows
    // of it starts (after its last redraw so far).
    let (mut line_start, mut line_out, mut shown) = (0, out.len(), 0);
    let mut at = 0;
    while at < bytes.len() {
        let rest = bytes.get(at..).unwrap_or_default();
        let next = memchr::memchr3(0x1b, b'\r', b'\n', rest).map_or(bytes.len(), |k| at + k);
        // Both ends are character boundaries: `next` is at ASCII or the end, `at` after an
        // escape sequence (which ends with ASCII or a whole character) or ASCII.
        out.push_str(block.get(at..next).unwrap_or_default());
        let end_line = if next - shown > max {
            // Text past the cut: the line is made plain on its own, the reference way.
            let end = memchr::memchr(b'\n', bytes.get(next..).unwrap_or_default())
                .map_or(bytes.len(), |k| next + k);
            out.truncate(line_out);
            let mut line = Vec::new();
            push_without_escapes(
                cut(bytes.get(line_start..end).unwrap_or_default(), max),
                &mut line,
            );
            out.push_str(&String::from_utf8_lossy(&line));
            Some(end)
        } else {
            match bytes.get(next) {
                None | Some(b'\n') => Some(next),
                Some(b'\r') => {
                    let after = next
                        + rest
                            .get(next - at..)
                            .unwrap_or_default()
                            .iter()
                            .take_while(|&&b| b == b'\r')
                            .count();
                    if !matches!(bytes.get(after), None | Some(b'\n')) {
                        // A redraw: the line starts over.
                        out.truncate(line_out);
                        shown = after;
                    }
                    at = after;
                    None
                }
                Some(_) => {
                    at = escape_end(bytes, next);
                    None
                }
            }
        };
        if let Some(end) = end_line {
            ends.push(out.len());
            out.push('\n');
            at = end + 1;
            (line_start, line_out, shown) = (at, out.len(), at);
        }
    }
    // A last line without its `\n` that ended in `\r`s or an escape sequence.
    if line_start < bytes.len() {
        ends.push(out.len());
        out.push('\n');
    }
}

/// Where the escape sequence at `esc` (an ESC) in `bytes` ends (as `strip_escapes` reads it):
/// after its last byte, or at the `\r` or `\n` that cuts it short.
fn escape_end(bytes: &[u8], esc: usize) -> usize {
    let after = esc + 1;
    let line_end = |b: u8| b == b'\r' || b == b'\n';
    let rest = bytes.get(after + 1..).unwrap_or_default();
    match bytes.get(after) {
        None => after,
        Some(&b) if line_end(b) => after,
        // CSI: parameters and intermediates, then one final byte in @..~.
        Some(b'[') => match rest
            .iter()
            .position(|&b| (b'@'..=b'~').contains(&b) || line_end(b))
        {
            Some(k) if rest.get(k).is_some_and(|&b| line_end(b)) => after + 1 + k,
            Some(k) => after + 2 + k,
            None => bytes.len(),
        },
        // OSC: up to BEL or ESC (and the `\\` after it).
        Some(b']') => match rest
            .iter()
            .position(|&b| b == 0x07 || b == 0x1b || line_end(b))
        {
            Some(k) => match (rest.get(k), rest.get(k + 1)) {
                (Some(&b), _) if line_end(b) => after + 1 + k,
                (Some(0x1b), Some(b'\\')) => after + 3 + k,
                _ => after + 2 + k,
            },
            None => bytes.len(),
        },
        // A two-byte `ESC x`: `x` is a whole character.
        Some(_) => after + 1 + rest.iter().take_while(|&&c| c & 0xc0 == 0x80).count(),
    }
}

/// The lines of `block` without their `\n`; bytes after the last `\n` are one more line.
fn split_lines(block: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = block.strip_suffix(b"\n").unwrap_or(block);
    (!block.is_empty())
        .then(|| body.split(|&b| b == b'\n'))
        .into_iter()
        .flatten()
}

impl Fed {
    fn new(recognizers: Vec<Box<dyn Recognizer>>, always: u64) -> Fed {
        Fed {
            recognizers,
            starts: Vec::new(),
            always,
            busy: always,
            line: Line {
                stream: Stream::Stdout,
                at: DateTime::<Utc>::MIN_UTC,
                text: String::new(),
            },
            lower: Vec::new(),
        }
    }

    fn update_busy(&mut self) {
        let mut busy = self.always;
        for (i, r) in self.recognizers.iter().enumerate().take(MAX_FILTERED) {
            if r.busy() {
                busy |= 1 << i;
            }
        }
        self.busy = busy;
    }

    /// One line's bytes, its literals looked for here (none: unfiltered).
    fn line(
        &mut self,
        raw: &[u8],
        literals: Option<(&AhoCorasick, &[u64])>,
        stream: Stream,
        at: DateTime<Utc>,
        out: &mut Vec<Evidence>,
    ) {
        let text = line_text(raw);
        let mask = match literals {
            Some((ac, owners)) => self.literal_mask(text.as_bytes(), ac, owners),
            None => 0,
        };
        self.feed(&text, mask, stream, at, out);
    }

    /// One line's text: fed to the recognisers that are busy, or whose literals (`mask`) or
    /// start check it has.
    fn feed(
        &mut self,
        text: &str,
        mask: u64,
        stream: Stream,
        at: DateTime<Utc>,
        out: &mut Vec<Evidence>,
    ) {
        let mut want = mask | self.busy;
        // Wanted only for how it starts (see `Recognizer::feed_start_only`).
        let mut start_only = 0;
        for &(bit, start) in &self.starts {
            if want & bit == 0 && start(text) {
                start_only |= bit;
            }
        }
        want |= start_only;
        if want == 0 {
            return;
        }
        self.line.stream = stream;
        self.line.at = at;
        self.line.text.clear();
        self.line.text.push_str(text);
        for (i, r) in self.recognizers.iter_mut().enumerate() {
            let bit = 1u64.checked_shl(u32::try_from(i).unwrap_or(u32::MAX));
            if bit.is_some_and(|b| start_only & b != 0) {
                out.extend(r.feed_start_only(&self.line));
            } else if bit.is_none_or(|b| want & b != 0) {
                out.extend(r.feed(&self.line));
            } else {
                continue;
            }
            if let Some(b) = bit.filter(|b| self.always & b == 0) {
                if r.busy() {
                    self.busy |= b;
                } else {
                    self.busy &= !b;
                }
            }
        }
    }

    /// The recognisers whose literals `text` holds, in any ASCII case.
    fn literal_mask(&mut self, text: &[u8], ac: &AhoCorasick, owners: &[u64]) -> u64 {
        self.lower.clear();
        self.lower.extend_from_slice(text);
        self.lower.make_ascii_lowercase();
        hits(ac, &self.lower).fold(0, |m, (_, pattern)| {
            m | owners.get(pattern).copied().unwrap_or(0)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The reference `push_plain_lines` must equal: each line cut and made plain on its own.
    fn line_by_line(block: &[u8], max: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for raw in split_lines(block) {
            push_without_escapes(cut(raw, max), &mut out);
            out.push(b'\n');
        }
        out
    }

    fn one_pass(block: &str, max: usize) -> Vec<u8> {
        let mut out = "kept".to_string();
        let mut ends = vec![0];
        push_plain_lines(block, max, &mut out, &mut ends);
        assert!(out.starts_with("kept"), "appends");
        let ends_found: Vec<usize> = out.match_indices('\n').map(|(at, _)| at).collect();
        assert_eq!(ends.split_off(1), ends_found, "{out:?}");
        out.split_off(4).into_bytes()
    }

    /// What lines are made of on a terminal: text, escapes whole and in pieces, `\r` redraws,
    /// `\r\n` endings, line ends, multi-byte characters, a node id and a dump's first line.
    const PIECES: &[&str] = &[
        "\u{1b}",
        "[",
        "]",
        "\r",
        "\n",
        "\r\n",
        "\u{7}",
        "\\",
        "m",
        "31",
        ";",
        "@",
        "~",
        " ",
        "a",
        "é",
        "😀",
        "\u{1b}[32m",
        "\u{1b}[0m",
        "\u{1b}]0;title\u{7}",
        "\u{1b}]8;;http://x\u{1b}\\",
        "\u{1b}(B",
        "\u{1b}é",
        "tests/test_ops.py::test_gather ",
        "Fatal Python error: Segmentation fault",
        "downloading 50%",
    ];

    fn block() -> impl Strategy<Value = String> {
        prop::collection::vec(prop::sample::select(PIECES), 0..60).prop_map(|p| p.concat())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4096))]

        /// One pass over a read gives what each line made plain on its own gives, for any
        /// mix of escapes, redraws and line ends, cut anywhere (a small `max` cuts lines inside
        /// characters and escape sequences).
        #[test]
        fn one_pass_is_line_by_line(block in block(), max in prop_oneof![0usize..40, Just(16 * 1024)]) {
            prop_assert_eq!(one_pass(&block, max), line_by_line(block.as_bytes(), max), "{:?} cut at {}", block, max);
        }
    }

    #[test]
    fn one_pass_edge_cases() {
        for block in [
            "",
            "\n",
            "\n\n",
            "a",
            "a\r",
            "a\r\r\n",
            "a\rb\r\r",
            "\u{1b}",
            "a\u{1b}",
            "a\u{1b}\r",
            "a\u{1b}\rb",
            "a\u{1b}[1\r\nb",
            "a\u{1b}[1\rb",
            "a\u{1b}]0;t\rb\u{7}c",
            "a\u{1b}]0;t\u{1b}\rb",
            "a\u{1b}]0;t\u{1b}\n\\b",
            "x\r\u{1b}[31mred\u{1b}[0m\n",
        ] {
            for max in [0, 1, 2, 3, 5, 100] {
                assert_eq!(
                    one_pass(block, max),
                    line_by_line(block.as_bytes(), max),
                    "{block:?} cut at {max}"
                );
            }
        }
    }
}
