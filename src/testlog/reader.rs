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
//! colour code in the middle of `Fatal Python error` does not hide it.

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
    text: Vec<u8>,
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
            text: Vec::new(),
        }
    }

    /// Feeds every line to every recogniser: what [`Reader::new`] must not differ from.
    pub fn unfiltered(recognizers: Vec<Box<dyn Recognizer>>) -> Reader {
        Reader {
            fed: Fed::new(recognizers, u64::MAX),
            literals: None,
            owners: Vec::new(),
            lower: Vec::new(),
            text: Vec::new(),
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
        // carriage return; then the lines, each cut and made plain where it needs to be
        // (`line_text`), so that the literals are looked for in the text the recognisers read.
        let made_plain = memchr::memchr2(0x1b, b'\r', block).is_some();
        let text = if made_plain {
            self.text.clear();
            for raw in split_lines(block) {
                // `cut` has found the last redraw: what is left to do is `plain`'s escape
                // removal, on bytes, into the one buffer (no `String` per line, and no second
                // search for the line's `\r`s).
                push_without_escapes(cut(raw, max), &mut self.text);
                self.text.push(b'\n');
            }
            self.text.as_slice()
        } else {
            block
        };
        // The literals are looked for once in the whole read: one pass at memory speed, where
        // a search per line would pay its start-up on every line.
        self.lower.clear();
        self.lower.extend_from_slice(text);
        self.lower.make_ascii_lowercase();
        let mut hits = hits(literals, &self.lower).peekable();
        // One UTF-8 check for the read, not one per line.
        let valid = std::str::from_utf8(text).ok();
        let mut start = 0;
        for end in memchr::memchr_iter(b'\n', text)
            .chain((text.last() != Some(&b'\n') && !text.is_empty()).then_some(text.len()))
        {
            let mut mask = 0;
            // No literal holds a `\n`: the hits starting before `end` are this line's.
            while let Some((_, pattern)) = hits.next_if(|&(at, _)| at < end) {
                mask |= self.owners.get(pattern).copied().unwrap_or(0);
            }
            let raw = text.get(start..end).unwrap_or_default();
            // Lines made plain were cut before (and may have grown since, by U+FFFD).
            let raw = if made_plain { raw } else { cut(raw, max) };
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
