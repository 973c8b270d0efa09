//! Writing a `.ips` report back out with the frames crashdelta named, changing nothing else.
//!
//! The output is the original text with edits spliced in: each frame crashdelta named gets
//! `symbol`, `symbolLocation` and source keys, and inlined functions found in a dSYM become frames
//! of their own (`inline: true`) placed before it, the way Apple writes them. Every other byte is
//! the input's: the header line (and a byte-order mark), key order, duplicate keys, whitespace,
//! numbers as written (`1e2`, integers beyond 64 bits), whatever follows the body. Reading the
//! body into a `serde_json::Value` and printing it again, as this module once did, turned
//! `1e2` into `100.0` and big integers into floats, and collapsed duplicate keys: a tool that says
//! it only adds names must not change evidence.
//!
//! How: the body is read into borrowed [`RawValue`]s (serde_json's `raw_value`), which are slices
//! of the original text, so each frame object's byte range is known without a scanner of our
//! own. Where a key appears twice the last one is used, as the report parser does (its lenient
//! structs keep the last value). Within a named frame, a key that is already there has its value
//! replaced in place (every occurrence of it); missing keys are appended after the last one, in
//! the frame's own layout (its indentation and `": "` spacing).

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{MapAccess, Visitor};
use serde_json::value::RawValue;
use thiserror::Error;

use crate::report::{Container, Frame, Report, SourceFormat, SymbolSource};

/// Why a report cannot be written back as `.ips`.
#[derive(Debug, Error)]
pub enum RewriteError {
    /// The report is not a plain `.ips` file (a header line and a JSON body, nothing around
    /// them): legacy text, a body without its header, a Console composite, a pasted excerpt.
    /// The string says what it is instead.
    #[error(
        "only a plain .ips file (a header line and a JSON body) can be written back; this is {0}"
    )]
    NotPlainIps(String),
    /// The original JSON body does not parse as JSON.
    #[error("the JSON body does not parse: {0}")]
    Body(serde_json::Error),
}

fn named_here(f: &Frame) -> bool {
    matches!(
        f.symbolicated_by,
        SymbolSource::Symbols | SymbolSource::Atos
    )
}

/// A JSON object's entries in the order written, duplicates kept, values as their original text.
struct Entries<'a>(Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Entries<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = Entries<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Entries<'a>, M::Error> {
                let mut out = Vec::new();
                while let Some(key) = map.next_key::<Cow<'de, str>>()? {
                    out.push((key, map.next_value::<&'de RawValue>()?));
                }
                Ok(Entries(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

impl<'a> Entries<'a> {
    /// The entries of `raw` when it is an object.
    fn of(raw: &'a RawValue) -> Option<Entries<'a>> {
        serde_json::from_str(raw.get()).ok()
    }

    /// The value of the last `key`: the one the report parser used.
    fn last(&self, key: &str) -> Option<&'a RawValue> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
}

/// The elements of `raw` when it is an array.
fn elements(raw: &RawValue) -> Vec<&RawValue> {
    serde_json::from_str(raw.get()).unwrap_or_default()
}

/// Where `part`, a slice of `whole`, starts in it.
fn offset_in(whole: &str, part: &str) -> Option<usize> {
    let at = (part.as_ptr() as usize).checked_sub(whole.as_ptr() as usize)?;
    (at + part.len() <= whole.len()).then_some(at)
}

/// One replacement of the body's bytes `start..end`.
struct Edit {
    start: usize,
    end: usize,
    text: String,
}

/// The original `.ips` bytes with the symbolicated frames of `report` written in; every other
/// byte as it was (an input that is not UTF-8 is read with replacement characters, as the
/// parser reads it).
pub fn ips_with_symbols(original: &[u8], report: &Report) -> Result<String, RewriteError> {
    if report.format != SourceFormat::Ips || report.container != Container::Plain {
        return Err(RewriteError::NotPlainIps(format!(
            "{:?} in {:?}",
            report.format, report.container
        )));
    }
    let text = String::from_utf8_lossy(original);
    let (header, body) = text
        .split_once('\n')
        .ok_or_else(|| RewriteError::NotPlainIps("a file without a body".into()))?;
    let mut stream = serde_json::Deserializer::from_str(body).into_iter::<&RawValue>();
    let value = match stream.next() {
        Some(Ok(v)) => v,
        Some(Err(e)) => return Err(RewriteError::Body(e)),
        None => return Err(RewriteError::NotPlainIps("a file without a body".into())),
    };
    let mut edits = Vec::new();
    if let Some(top) = Entries::of(value) {
        if let Some(threads) = top.last("threads") {
            for (thread, model) in elements(threads).into_iter().zip(&report.threads) {
                let frames = Entries::of(thread).and_then(|t| t.last("frames"));
                if let Some(frames) = frames {
                    splice_frames(body, &elements(frames), &model.frames, &mut edits);
                }
            }
        }
        if let Some(leb) = top.last("lastExceptionBacktrace") {
            splice_frames(
                body,
                &elements(leb),
                &report.last_exception_backtrace,
                &mut edits,
            );
        }
    }
    Ok(format!("{header}\n{}", apply(body, edits)))
}

/// `text` with the edits made (they never overlap: each is one frame or one value).
fn apply(text: &str, mut edits: Vec<Edit>) -> String {
    edits.sort_by_key(|e| e.start);
    let mut out =
        String::with_capacity(text.len() + edits.iter().map(|e| e.text.len()).sum::<usize>());
    let mut at = 0;
    for e in edits {
        if e.start < at {
            continue;
        }
        out.push_str(text.get(at..e.start).unwrap_or_default());
        out.push_str(&e.text);
        at = e.end;
    }
    out.push_str(text.get(at..).unwrap_or_default());
    out
}

/// The edits that write the frames of `model` into the raw frames of one list (a thread's
/// `frames` or the `lastExceptionBacktrace`). Model and raw frames correspond one to one, except
/// that inlined functions crashdelta found come before the frame that holds them.
fn splice_frames(body: &str, raw: &[&RawValue], model: &[Frame], edits: &mut Vec<Edit>) {
    let mut originals = raw.iter();
    let mut pending_inline = Vec::new();
    for f in model {
        if named_here(f) && f.inline {
            // Might be a new inlined frame (from the dSYM) or an original inline frame: decide
            // when the physical frame that follows arrives.
            pending_inline.push(f);
            continue;
        }
        let Some(raw) = originals.next() else {
            break;
        };
        if named_here(f)
            && let Some(start) = offset_in(body, raw.get())
            && let Some(layout) = Layout::of(raw)
        {
            let mut text = String::new();
            // The separator this frame has before it, reused between the new inline frames and it.
            let before = body.get(..start).unwrap_or_default();
            let indent = before.get(before.trim_end().len()..).unwrap_or_default();
            for inline in pending_inline.drain(..) {
                text.push_str(&layout.inline_frame(inline));
                text.push(',');
                text.push_str(indent);
            }
            text.push_str(&layout.named_frame(f));
            edits.push(Edit {
                start,
                end: start + raw.get().len(),
                text,
            });
        }
        pending_inline.clear();
    }
}

/// One original frame object, and how it is laid out: what to copy when writing keys into it or
/// frames beside it.
struct Layout<'a> {
    text: &'a str,
    entries: Entries<'a>,
    /// The whitespace between `{` and the first key (a newline and an indent, or nothing).
    lead: &'a str,
    /// Between a key and its value: `": "`, `":"`.
    colon: &'a str,
    /// The whitespace between the last value and `}`.
    close: &'a str,
}

impl<'a> Layout<'a> {
    fn of(raw: &'a RawValue) -> Option<Layout<'a>> {
        let text = raw.get();
        let entries = Entries::of(raw)?;
        let inner = text.strip_prefix('{')?;
        let lead = inner
            .get(..inner.len() - inner.trim_start().len())
            .unwrap_or_default();
        let (colon, close) = match (entries.0.first(), entries.0.last()) {
            (Some((_, first)), Some((_, last))) => {
                let key_start = 1 + lead.len();
                let value_start = offset_in(text, first.get())?;
                let key_end = string_end(text, key_start)?;
                let value_end = offset_in(text, last.get())? + last.get().len();
                let close = text.get(value_end..text.len().checked_sub(1)?)?;
                (text.get(key_end..value_start)?, close)
            }
            _ => (":", ""),
        };
        Some(Layout {
            text,
            entries,
            lead,
            colon,
            close,
        })
    }

    /// `"key": value` in this frame's spacing.
    fn entry(&self, key: &str, value: &str) -> String {
        format!("{}{}{value}", json_string(key), self.colon)
    }

    /// The frame with the names crashdelta found: keys that are there get their value replaced,
    /// the others are added after the last key.
    fn named_frame(&self, f: &Frame) -> String {
        let new = new_keys(f);
        let mut edits = Vec::new();
        let mut added = Vec::new();
        for (key, value) in &new {
            let mut found = false;
            for (k, v) in &self.entries.0 {
                if k == key
                    && let Some(at) = offset_in(self.text, v.get())
                {
                    found = true;
                    edits.push(Edit {
                        start: at,
                        end: at + v.get().len(),
                        text: value.clone(),
                    });
                }
            }
            if !found {
                added.push(self.entry(key, value));
            }
        }
        if !added.is_empty() {
            // After the last value; in an empty object, just after its `{`.
            let (at, text) = match self.entries.0.last() {
                Some((_, last)) => (
                    offset_in(self.text, last.get()).map(|a| a + last.get().len()),
                    added
                        .iter()
                        .map(|a| format!(",{}{a}", self.lead))
                        .collect::<String>(),
                ),
                None => (Some(1), added.join(",")),
            };
            if let Some(at) = at {
                edits.push(Edit {
                    start: at,
                    end: at,
                    text,
                });
            }
        }
        apply(self.text, edits)
    }

    /// A frame of its own for an inlined function found in a dSYM, at the address of this frame.
    fn inline_frame(&self, f: &Frame) -> String {
        let mut keys = Vec::new();
        if let Some(v) = self.entries.last("imageOffset") {
            keys.push(self.entry("imageOffset", v.get()));
        }
        keys.extend(new_keys(f).iter().map(|(k, v)| self.entry(k, v)));
        if let Some(v) = self.entries.last("imageIndex") {
            keys.push(self.entry("imageIndex", v.get()));
        }
        keys.push(self.entry("inline", "true"));
        let separator = format!(",{}", self.lead);
        format!("{{{}{}{}}}", self.lead, keys.join(&separator), self.close)
    }
}

/// The keys crashdelta writes for a frame it named, with their values as JSON text.
fn new_keys(f: &Frame) -> Vec<(&'static str, String)> {
    let mut keys = Vec::new();
    if let Some(s) = &f.symbol {
        keys.push(("symbol", json_string(s)));
    }
    if let Some(o) = f.symbol_offset {
        keys.push(("symbolLocation", o.to_string()));
    }
    if let Some(file) = &f.source_file {
        keys.push(("sourceFile", json_string(file)));
    }
    if let Some(line) = f.source_line {
        keys.push(("sourceLine", line.to_string()));
    }
    keys
}

fn json_string(s: &str) -> String {
    serde_json::Value::from(s).to_string()
}

/// The offset just past the JSON string that starts (with its `"`) at `start`.
fn string_end(text: &str, start: usize) -> Option<usize> {
    let rest = text.get(start..)?.strip_prefix('"')?;
    let mut escaped = false;
    for (i, c) in rest.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(start + 1 + i + 1),
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(symbol: &str, offset: Option<u64>, inline: bool) -> Frame {
        Frame {
            number: None,
            image_index: Some(2),
            image: None,
            symbol: Some(symbol.into()),
            symbol_offset: offset,
            image_offset: Some(900),
            address: None,
            inline,
            source_file: None,
            source_line: None,
            symbolicated_by: SymbolSource::Symbols,
            symbol_file: None,
        }
    }

    fn splice(body: &str, model: &[Frame]) -> String {
        let list: &RawValue = serde_json::from_str(body).unwrap();
        let mut edits = Vec::new();
        splice_frames(body, &elements(list), model, &mut edits);
        apply(body, edits)
    }

    /// Compact frames stay compact; a key already there is replaced where it is (every time it
    /// appears), not added again; an empty object gets the keys; compact `[index, offset]`
    /// frames are left alone (there is nowhere to put a name).
    #[test]
    fn names_go_into_each_frame_in_its_own_layout() {
        let body = r#"[{"imageOffset":900,"symbolLocation":1e0,"imageIndex":2,"symbolLocation":7},{},[2, 900]]"#;
        let model = [
            named("f", Some(36), false),
            named("g", None, false),
            named("h", Some(1), false),
        ];
        assert_eq!(
            splice(body, &model),
            r#"[{"imageOffset":900,"symbolLocation":36,"imageIndex":2,"symbolLocation":36,"symbol":"f"},{"symbol":"g"},[2, 900]]"#
        );
    }

    /// An inlined function found in a dSYM becomes a frame of its own before the frame that holds
    /// it, laid out like it.
    #[test]
    fn inlined_functions_are_written_before_their_frame() {
        let body = "[\n  {\n    \"imageOffset\" : 880,\n    \"imageIndex\" : 2\n  }\n]";
        let model = [named("inner", None, true), named("outer", Some(16), false)];
        assert_eq!(
            splice(body, &model),
            "[\n  {\n    \"imageOffset\" : 880,\n    \"symbol\" : \"inner\",\n    \"imageIndex\" : 2,\n    \"inline\" : true\n  },\n  {\n    \"imageOffset\" : 880,\n    \"imageIndex\" : 2,\n    \"symbol\" : \"outer\",\n    \"symbolLocation\" : 16\n  }\n]"
        );
    }
}
