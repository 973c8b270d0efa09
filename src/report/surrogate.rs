//! Lone UTF-16 surrogates in JSON string escapes.
//!
//! JSON spells characters outside the Basic Multilingual Plane as two `\uXXXX` escapes, a high
//! surrogate (`\ud83d`) then a low one (`\ude00`). A writer that cuts a string by UTF-16 units
//! (a thread name or queue label truncated to a fixed length, an emoji cut in half) leaves one
//! half alone, and serde_json, rightly for strict JSON, refuses the whole document: "lone leading
//! surrogate in hex escape". One bad character in a thread name would hide the crashed thread,
//! turn the AGX race into `other`, and pass `--fail-on agx`.
//!
//! So, before anything is parsed, each lone surrogate escape is replaced by `\ufffd`
//! (U+FFFD, the replacement character), as `String::from_utf8_lossy` does for bad UTF-8. The
//! replacement has the same length as what it replaces (six bytes), so every byte offset and
//! line number the parser reports is still true of the input.

/// Replaces every lone surrogate escape in `text` by `\ufffd`. Returns the repaired text and how
/// many escapes were replaced, or `None` when there is nothing to repair (the common case,
/// decided by one substring search).
pub fn repair(text: &str) -> Option<(String, usize)> {
    // memchr's substring search (`str::contains` here was 1 % of `classify`'s CPU), one pass
    // for both spellings of the `d`: `\u` escapes are rare, a whole-text scan is not.
    let bytes = text.as_bytes();
    if !memchr::memmem::find_iter(bytes, b"\\u")
        .any(|at| matches!(bytes.get(at + 2), Some(b'd' | b'D')))
    {
        return None;
    }
    let mut out: Vec<u8> = bytes.to_vec();
    let mut replaced = 0;
    let mut i = 0;
    while let Some(offset) = bytes
        .get(i..)
        .and_then(|rest| rest.iter().position(|&b| b == b'\\'))
    {
        let at = i + offset;
        match bytes.get(at + 1) {
            Some(b'u') => match escape_at(bytes, at) {
                Some(0xD800..=0xDBFF) => {
                    let paired = escape_at(bytes, at + 6)
                        .is_some_and(|next| (0xDC00..=0xDFFF).contains(&next));
                    if paired {
                        i = at + 12;
                    } else {
                        replace(&mut out, at);
                        replaced += 1;
                        i = at + 6;
                    }
                }
                Some(0xDC00..=0xDFFF) => {
                    replace(&mut out, at);
                    replaced += 1;
                    i = at + 6;
                }
                _ => i = at + 2,
            },
            // `\\` is an escaped backslash: what follows it is not an escape.
            Some(_) => i = at + 2,
            None => break,
        }
    }
    if replaced == 0 {
        return None;
    }
    // Only ASCII was replaced by ASCII: the text is still UTF-8.
    String::from_utf8(out).ok().map(|s| (s, replaced))
}

/// The code unit of the `\uXXXX` escape starting at `at`, if there is one.
fn escape_at(bytes: &[u8], at: usize) -> Option<u32> {
    if bytes.get(at) != Some(&b'\\') || bytes.get(at + 1) != Some(&b'u') {
        return None;
    }
    let hex = std::str::from_utf8(bytes.get(at + 2..at + 6)?).ok()?;
    if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u32::from_str_radix(hex, 16).ok()
}

fn replace(out: &mut [u8], at: usize) {
    if let Some(slot) = out.get_mut(at..at + 6) {
        slot.copy_from_slice(b"\\ufffd");
    }
}

#[cfg(test)]
mod tests {
    use super::repair;

    fn json(s: &str) -> Result<String, serde_json::Error> {
        serde_json::from_str::<String>(s)
    }

    #[test]
    fn lone_halves_are_replaced_pairs_and_escaped_backslashes_kept() {
        for (input, expected, count) in [
            (r#""a\ud800b""#, "a\u{fffd}b", 1),
            (r#""a\uDC00""#, "a\u{fffd}", 1),
            (r#""\ud83d""#, "\u{fffd}", 1),
            (r#""\ud83d\ud83d\ude00""#, "\u{fffd}\u{1f600}", 1),
            (r#""\ud800\u0041""#, "\u{fffd}A", 1),
            (r#""x\ud800\udc00\udc00""#, "x\u{10000}\u{fffd}", 1),
        ] {
            assert!(json(input).is_err(), "serde_json accepted {input}");
            let (fixed, n) = repair(input).unwrap();
            assert_eq!(n, count, "{input}");
            assert_eq!(fixed.len(), input.len(), "offsets are kept: {input}");
            assert_eq!(json(&fixed).unwrap(), expected, "{input}");
        }
    }

    #[test]
    fn nothing_to_repair() {
        for input in [
            r#""plain""#,
            r#""\ud83d\ude00""#,
            r#""\\ud800 is text, not an escape""#,
            r#""\u00e9\n\\""#,
            "\\",
            "\\ud8",
            "\\uD80",
        ] {
            assert_eq!(repair(input), None, "{input}");
        }
    }
}
