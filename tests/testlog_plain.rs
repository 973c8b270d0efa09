//! The byte-level escape removal (`testlog::push_plain`, what `Reader` makes a read plain with)
//! reads exactly what `testlog::plain` reads: on arbitrary bytes rich in escapes, carriage
//! returns, multi-byte and invalid UTF-8, `push_plain` equals `plain` of the bytes read lossily
//! with their trailing `\r`s dropped (what `line_text` did before), and `line_text` equals both.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use crashdelta::testlog::{line_text, plain, push_plain};
use proptest::prelude::*;

/// The reference: what `line_text` read before the byte-level version.
fn reference(raw: &[u8]) -> String {
    let text = String::from_utf8_lossy(raw);
    plain(text.trim_end_matches('\r'))
}

fn byte_level(raw: &[u8]) -> String {
    let mut out = b"kept".to_vec();
    push_plain(raw, &mut out);
    assert_eq!(out.get(..4), Some(&b"kept"[..]), "appends");
    String::from_utf8(out.split_off(4)).expect("push_plain writes UTF-8")
}

/// Pieces escape sequences and redraws are made of, and what can hide in them.
const PIECES: &[&[u8]] = &[
    b"\x1b",
    b"[",
    b"]",
    b"\r",
    b"\x07",
    b"\\",
    b"m",
    b"31",
    b";",
    b"0",
    b"@",
    b"~",
    b"?",
    b" ",
    b"a",
    b"Fatal Python error",
    b"\r\n",
    "é".as_bytes(),
    "€".as_bytes(),
    "😀".as_bytes(),
    "\u{fffd}".as_bytes(),
    b"\xe2\x82",
    b"\x82",
    b"\xac",
    b"\xf0\x9f",
    b"\xc3",
    b"\xff",
    b"\xed\xa0\x80",
    b"\xc0\xaf",
    b"\x1b[32m",
    b"\x1b[0m",
    b"\x1b]0;title\x07",
    b"\x1b]8;;http://x\x1b\\",
    b"\x1b(B",
];

fn rich_bytes() -> impl Strategy<Value = Vec<u8>> {
    prop::collection::vec(0..PIECES.len(), 0..40)
        .prop_map(|picks| picks.into_iter().flat_map(|i| PIECES[i].to_vec()).collect())
}

fn check(raw: &[u8]) -> Result<(), TestCaseError> {
    let want = reference(raw);
    prop_assert_eq!(&byte_level(raw), &want, "{:?}", raw);
    let text = line_text(raw);
    prop_assert_eq!(text.as_ref(), want.as_str(), "{:?}", raw);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4096))]

    #[test]
    fn byte_level_plain_is_plain(raw in rich_bytes()) {
        check(&raw)?;
    }

    #[test]
    fn byte_level_plain_is_plain_on_any_bytes(raw in prop::collection::vec(any::<u8>(), 0..200)) {
        check(&raw)?;
    }

    #[test]
    fn byte_level_plain_is_plain_on_escape_bytes(
        raw in prop::collection::vec(
            prop::sample::select(vec![
                0x1b, b'[', b']', b'\r', 0x07, b'\\', b'm', b'a', 0xc3, 0xa9, 0xe2, 0x82, 0xac, 0xff,
            ]),
            0..60,
        )
    ) {
        check(&raw)?;
    }
}

#[test]
fn the_cases_that_need_characters() {
    for raw in [
        // Removing the escape between two stray bytes must not join them into `€`.
        &b"\xe2\x1b[m\x82\xac"[..],
        // The `x` of `ESC x` is a whole character, and a replaced invalid sequence is one.
        "\u{1b}é rest".as_bytes(),
        b"\x1b\xe2\x82 rest",
        b"\x1b\xff\xfe rest",
        // An OSC string ended by ESC without `\`: the next character is read again.
        b"\x1b]0;t\x1b\x1b[31mred",
        b"a\rb\r\r",
        b"\r\r",
        b"",
    ] {
        check(raw).unwrap();
    }
}
