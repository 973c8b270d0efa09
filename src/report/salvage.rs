//! What is left of a JSON body that was cut short, made whole again.
//!
//! A `.ips` pasted into an issue is often cut: GitHub refuses a description or comment over
//! 65,536 characters, and a crash report's body is commonly 100–200 KB (its images and every
//! thread's registers), so people paste the first part, or a part per comment. macOS writes the
//! crashed thread (`threads`) before the list of images (`usedImages`), so a body cut inside the
//! images, or inside another thread, still holds the frames that say which crash it is.
//!
//! [`close`] keeps the text up to the last point where a JSON value ended (or a container
//! opened), drops the value it was cut inside, and closes the containers still open, so that the
//! normal reader reads every complete value before the cut. It never invents a value: a string
//! cut in the middle, or a number that may have had more digits, is dropped with the rest; so is
//! an object in a list that holds no list or object of its own (a frame, an image, a register),
//! whose fields before the cut would make a frame without its symbol. An object that does hold
//! one is kept: a thread cut inside its frames keeps the frames before the cut.

/// How deep the containers of a body are followed. An `.ips` body nests 6 deep at most (body,
/// `threads`, a thread, `threadState`, a register, its value); serde_json refuses more than
/// 128.
const MAX_DEPTH: usize = 100;

/// A cut body, closed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Closed {
    /// The text up to the last complete value, and the closing brackets of what was open there.
    pub json: String,
    /// The top-level key whose value the cut fell in (`usedImages`), when it fell in one.
    pub cut_in: Option<String>,
}

/// A container open at the cut.
struct Open {
    /// `{` or `[`.
    bracket: u8,
    /// Whether it is an element of a list.
    in_list: bool,
    /// Whether a list or an object was opened inside it.
    holds_container: bool,
    /// The safe point before it opened: where the text goes back to when it is dropped.
    before: (usize, usize),
}

/// Closes `text`, a JSON value that starts with `{` or `[` and ends before it is complete.
/// `None` when it does not start with a container.
pub fn close(text: &str) -> Option<Closed> {
    let bytes = text.as_bytes();
    if !matches!(bytes.first(), Some(b'{' | b'[')) {
        return None;
    }
    // Open containers, innermost last.
    let mut open: Vec<Open> = Vec::new();
    // The last point the text can be cut at and closed: its offset, and how many containers
    // were open there. Everything open there is still open at the end (a container that closed
    // since is itself such a point), so the first `depth` of `open` are what to close.
    let mut safe = (0usize, 0usize);
    let mut in_string = false;
    // Whether the string that is open is an object key, and where it started.
    let mut key_from = None;
    let mut expect_key = false;
    // The top-level key whose value is being read (until the comma after it).
    let mut top_key: Option<(usize, usize)> = None;
    let mut at = 0;
    while let Some(&b) = bytes.get(at) {
        let i = at;
        at += 1;
        if in_string {
            // Strings are most of a body (symbols, paths): jumped over to the next quote or
            // backslash rather than looked at byte by byte (a byte at a time, closing the cut
            // pastes was 4.7 % of `classify`'s time over the bench's reports).
            let Some(skip) = memchr::memchr2(b'"', b'\\', bytes.get(i..).unwrap_or_default())
            else {
                break;
            };
            let i = i + skip;
            if bytes.get(i) == Some(&b'\\') {
                // The escaped byte is skipped with it, whatever it is.
                at = i + 2;
                continue;
            }
            at = i + 1;
            in_string = false;
            if let Some(from) = key_from.take()
                && open.len() == 1
            {
                top_key = Some((from, i));
            }
            continue;
        }
        match b {
            b'"' => {
                in_string = true;
                key_from =
                    (expect_key && open.last().is_some_and(|o| o.bracket == b'{')).then_some(i + 1);
                expect_key = false;
            }
            b'{' | b'[' => {
                // Deeper than any report, and than serde_json reads (128): the text is cut here.
                // Unbounded, 64 MiB of `[` kept 64 million open containers (4 GiB).
                if open.len() >= MAX_DEPTH {
                    break;
                }
                let in_list = open.last().is_some_and(|o| o.bracket == b'[');
                if let Some(parent) = open.last_mut() {
                    parent.holds_container = true;
                }
                open.push(Open {
                    bracket: b,
                    in_list,
                    holds_container: false,
                    before: safe,
                });
                expect_key = b == b'{';
                safe = (i + 1, open.len());
            }
            b'}' | b']' => {
                open.pop();
                safe = (i + 1, open.len());
                if open.is_empty() {
                    // The value was whole after all: nothing was cut.
                    return None;
                }
            }
            b',' => {
                // Whatever came before the comma is complete: cut just before it.
                safe = (i, open.len());
                if open.len() == 1 {
                    top_key = None;
                }
                expect_key = open.last().is_some_and(|o| o.bracket == b'{');
            }
            b':' => expect_key = false,
            _ => {}
        }
    }
    // A leaf object in a list, cut: dropped whole, back to the point before it opened.
    while let Some(o) = safe.1.checked_sub(1).and_then(|i| open.get(i))
        && o.bracket == b'{'
        && o.in_list
        && !o.holds_container
    {
        safe = o.before;
    }
    let (at, depth) = safe;
    let mut json = String::with_capacity(at + depth);
    json.push_str(text.get(..at)?);
    for o in open.get(..depth)?.iter().rev() {
        json.push(if o.bracket == b'{' { '}' } else { ']' });
    }
    let cut_in = top_key
        .and_then(|(from, to)| text.get(from..to))
        .map(str::to_owned);
    Some(Closed { json, cut_in })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Brackets past any report's depth are not followed: the memory is the depth's, not the
    /// input's, and what is closed is what serde_json can still read.
    #[test]
    fn deep_brackets_are_cut_at_the_depth_bound() {
        let text = format!(
            "{{\"threads\":[{{\"frames\":[1,2]}},{}",
            "[".repeat(1 << 20)
        );
        let json = closed(&text);
        assert!(json.len() < 200 + 2 * MAX_DEPTH, "{} bytes", json.len());
        assert!(
            serde_json::from_str::<serde::de::IgnoredAny>(&json).is_ok(),
            "{json}"
        );
        assert!(
            json.starts_with("{\"threads\":[{\"frames\":[1,2]}"),
            "{json}"
        );
    }

    fn closed(text: &str) -> String {
        close(text).unwrap().json
    }

    #[test]
    fn the_value_cut_is_dropped_and_the_rest_closed() {
        assert_eq!(closed(r#"{"a":1,"b":[1,2"#), r#"{"a":1,"b":[1]}"#);
        assert_eq!(closed(r#"{"a":1,"b":"xy"#), r#"{"a":1}"#);
        assert_eq!(closed(r#"{"a":{"c":"#), r#"{"a":{}}"#);
        // A leaf object in a list is dropped whole; one that holds a list is kept.
        assert_eq!(closed(r#"{"a":[{"x":1},{"y""#), r#"{"a":[{"x":1}]}"#);
        assert_eq!(closed(r#"{"a":[{"x":1},{"y":2,"#), r#"{"a":[{"x":1}]}"#);
        assert_eq!(
            closed(r#"[{"f":[{"s":"a"},{"s":"b"#),
            r#"[{"f":[{"s":"a"}]}]"#
        );
        assert_eq!(closed(r#"{"a":"]},\"{","#), r#"{"a":"]},\"{"}"#);
        // An escaped backslash ends before the quote; a cut just after a backslash is a string
        // still open.
        assert_eq!(closed(r#"{"a":"x\\","b":"y"#), r#"{"a":"x\\"}"#);
        assert_eq!(closed(r#"{"a":"x","b":"y\"#), r#"{"a":"x"}"#);
        assert_eq!(closed(r#"{"a":"x","b":"\""#), r#"{"a":"x"}"#);
        assert_eq!(closed(r#"{"a\"b":1,"c":"#), r#"{"a\"b":1}"#);
        assert_eq!(closed("{"), "{}");
        assert_eq!(closed("[[1,[2"), "[[1,[]]]");
    }

    #[test]
    fn a_whole_value_or_no_container_is_not_closed() {
        assert_eq!(close(r#"{"a":1} and more"#), None);
        assert_eq!(close(r#""text"#), None);
        assert_eq!(close(""), None);
    }

    #[test]
    fn the_top_level_key_the_cut_fell_in_is_named() {
        let key = |t: &str| close(t).unwrap().cut_in;
        assert_eq!(
            key(r#"{"threads":[{"frames":[1,2"#).as_deref(),
            Some("threads")
        );
        assert_eq!(
            key(r#"{"threads":[],"usedImages":[{"name":"AGX"#).as_deref(),
            Some("usedImages")
        );
        assert_eq!(key(r#"{"procName":"Pyth"#).as_deref(), Some("procName"));
        assert_eq!(key(r#"{"a":{"b":{"c":1}},"#), None);
        assert_eq!(key(r#"{"a":{"b":{"c":1}},"d""#).as_deref(), Some("d"));
    }

    #[test]
    fn cuts_of_a_real_body_close_into_json() {
        // The invariant the reader relies on, over every fifth cut of a real body (the derived
        // AGX report: nested objects, arrays, escapes, numbers beyond i64).
        let text = include_str!("../../testdata/derived/agx-prepareForEnqueue-0x98.ips");
        let body = text.get(text.find('\n').unwrap() + 1..).unwrap().trim_end();
        for cut in (1..body.len())
            .step_by(5)
            .filter(|&n| body.is_char_boundary(n))
        {
            let prefix = &body[..cut];
            let json = match close(prefix) {
                Some(c) => c.json,
                None => continue,
            };
            let value: serde_json::Value =
                serde_json::from_str(&json).unwrap_or_else(|e| panic!("cut at {cut}: {e}\n{json}"));
            assert!(value.is_object(), "cut at {cut}");
            assert!(json.len() <= prefix.len() + 8, "cut at {cut}");
        }
    }
}
