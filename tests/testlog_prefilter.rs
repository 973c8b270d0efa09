//! The prefilter keeps every piece of evidence: a `testlog::Reader` feeds each recogniser only
//! the lines its `Interest` names (and every line while it is busy), and that must give exactly
//! what feeding every line to every recogniser gives. Checked on every recorded log of
//! `testdata/testlogs/` (as recorded, coloured, with carriage-return progress, on two streams,
//! cut into reads at arbitrary places), and on arbitrary shuffles of their lines.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};
use std::sync::LazyLock;

use chrono::{DateTime, TimeZone, Utc};
use crashdelta::testlog::{Evidence, Line, Reader, Stream, line_text, recognizers};
use proptest::prelude::*;

/// Lines as they arrive, with their stream, without their `\n`.
type Lines = Vec<(Stream, Vec<u8>)>;

/// The most bytes of a line the recognisers see (capture's `MAX_LINE`).
const MAX: usize = 16 * 1024;

fn time(i: usize) -> DateTime<Utc> {
    Utc.timestamp_opt(1_800_000_000 + i64::try_from(i).unwrap(), 0)
        .unwrap()
}

/// Every recorded runner output (not the JUnit files, the notes or the projects' sources).
fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/testlogs");
    let mut all = Vec::new();
    let mut dirs = vec![root];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "txt" || e == "log") {
                all.push(path);
            }
        }
    }
    all.sort();
    assert!(all.len() >= 30, "fixtures not found: {all:?}");
    all
}

/// The reference: every line, as capture makes it, to every recogniser.
fn every_line(lines: &[(Stream, Vec<u8>)]) -> Vec<Evidence> {
    let mut all = recognizers();
    let mut out = Vec::new();
    for (i, (stream, raw)) in lines.iter().enumerate() {
        let raw = raw.get(..MAX).unwrap_or(raw);
        let line = Line {
            stream: *stream,
            at: time(i),
            text: line_text(raw).into_owned(),
        };
        for r in &mut all {
            out.extend(r.feed(&line));
        }
    }
    for r in &mut all {
        out.extend(r.finish());
    }
    out
}

/// Through a filtering reader, one line at a time.
fn filtered_by_line(lines: &[(Stream, Vec<u8>)]) -> Vec<Evidence> {
    let mut reader = Reader::new(recognizers());
    let mut out = Vec::new();
    for (i, (stream, raw)) in lines.iter().enumerate() {
        reader.read_line(raw.get(..MAX).unwrap_or(raw), *stream, time(i), &mut out);
    }
    out.extend(reader.finish());
    out
}

/// Through a filtering reader, in blocks of whole lines (as capture hands over each read): runs
/// of lines of one stream, at most `block` lines each, all stamped with their first line's time.
fn filtered_in_blocks(lines: &[(Stream, Vec<u8>)], block: usize) -> Vec<Evidence> {
    let mut reader = Reader::new(recognizers());
    let mut out = Vec::new();
    let mut i = 0;
    while let Some((stream, _)) = lines.get(i) {
        let mut bytes = Vec::new();
        let mut j = i;
        while let Some((s, raw)) = lines.get(j) {
            if s != stream || j - i == block {
                break;
            }
            bytes.extend_from_slice(raw);
            bytes.push(b'\n');
            j += 1;
        }
        reader.read_lines(&bytes, MAX, *stream, time(i), &mut out);
        i = j;
    }
    out.extend(reader.finish());
    out
}

/// `every_line` with each block's lines stamped with its first line's time, for comparing with
/// `filtered_in_blocks`.
fn every_line_in_blocks(lines: &[(Stream, Vec<u8>)], block: usize) -> Vec<Evidence> {
    let mut reader = Reader::unfiltered(recognizers());
    let mut out = Vec::new();
    let mut i = 0;
    while let Some((stream, _)) = lines.get(i) {
        let mut j = i;
        while lines
            .get(j)
            .is_some_and(|(s, _)| s == stream && j - i < block)
        {
            j += 1;
        }
        for (_, raw) in &lines[i..j] {
            reader.read_line(raw.get(..MAX).unwrap_or(raw), *stream, time(i), &mut out);
        }
        i = j;
    }
    out.extend(reader.finish());
    out
}

fn lines_of(bytes: &[u8]) -> Vec<Vec<u8>> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    body.split(|&b| b == b'\n').map(<[u8]>::to_vec).collect()
}

/// The ways a log reaches capture: as recorded; coloured as on a terminal; with a progress line
/// overwritten by `\r` in front of every tenth line; and the dump's half on standard error.
fn variants(bytes: &[u8]) -> Vec<(&'static str, Lines)> {
    let lines = lines_of(bytes);
    let plain: Lines = lines.iter().map(|l| (Stream::Stdout, l.clone())).collect();
    let coloured = lines
        .iter()
        .map(|l| {
            // An escape in the middle of the line's first word, and around the rest.
            let mid = l.iter().position(|&b| b == b' ').unwrap_or(l.len()) / 2;
            let mut c = l[..mid].to_vec();
            c.extend_from_slice(b"\x1b[1m");
            c.extend_from_slice(&l[mid..]);
            c.extend_from_slice(b"\x1b[0m");
            (Stream::Stdout, c)
        })
        .collect();
    let progress = lines
        .iter()
        .enumerate()
        .map(|(i, l)| {
            let mut c = if i % 10 == 0 {
                b"downloading 50%\r".to_vec()
            } else {
                Vec::new()
            };
            c.extend_from_slice(l);
            if i % 7 == 0 {
                c.push(b'\r');
            }
            (Stream::Stdout, c)
        })
        .collect();
    let mut on_stderr = false;
    let two_streams = lines
        .iter()
        .map(|l| {
            let text = String::from_utf8_lossy(l);
            if text.contains("Fatal Python error")
                || text.contains("panic: ")
                || text.starts_with("SIG")
            {
                on_stderr = true;
            } else if on_stderr && !text.starts_with(' ') && !text.starts_with('\t') {
                on_stderr = text.trim().is_empty() || text.starts_with("Current thread");
            }
            let stream = if on_stderr {
                Stream::Stderr
            } else {
                Stream::Stdout
            };
            (stream, l.clone())
        })
        .collect();
    vec![
        ("as recorded", plain),
        ("coloured", coloured),
        ("progress", progress),
        ("two streams", two_streams),
    ]
}

#[test]
fn every_fixture_gives_the_same_evidence_filtered() {
    let mut with_evidence = 0;
    for path in fixtures() {
        let bytes = std::fs::read(&path).unwrap();
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        for (how, lines) in variants(&bytes) {
            let want = every_line(&lines);
            if how == "as recorded" && !want.is_empty() {
                with_evidence += 1;
            }
            assert_eq!(
                filtered_by_line(&lines),
                want,
                "{name}, {how}, line by line"
            );
            for block in [1, 3, 1000] {
                assert_eq!(
                    filtered_in_blocks(&lines, block),
                    every_line_in_blocks(&lines, block),
                    "{name}, {how}, blocks of {block}"
                );
            }
        }
    }
    // The comparison means something only if the logs give evidence.
    assert!(
        with_evidence >= 25,
        "only {with_evidence} fixtures give evidence"
    );
}

/// Lines longer than the recognisers read, cut inside a character, with escapes and bytes that
/// are not UTF-8 (which grow when read lossily): cut and made plain the same way.
#[test]
fn long_lines_are_cut_the_same_way() {
    let mut lines: Lines = Vec::new();
    for (i, tail) in [&b"\x1b[0m"[..], b"\xff\xfe", "é".as_bytes(), b"\r"]
        .iter()
        .enumerate()
    {
        let mut long = b"Fatal Python error: Aborted ".to_vec();
        while long.len() < MAX + 10 {
            long.extend_from_slice(tail);
            long.extend_from_slice(&b"xyz"[..i]);
        }
        lines.push((Stream::Stderr, long.clone()));
        long.insert(3, 0x1b);
        lines.push((Stream::Stdout, long));
        lines.push((Stream::Stdout, b"test x ... ".to_vec()));
    }
    let want = every_line(&lines);
    assert!(!want.is_empty());
    assert_eq!(filtered_by_line(&lines), want);
    for block in [1, 2, 100] {
        assert_eq!(
            filtered_in_blocks(&lines, block),
            every_line_in_blocks(&lines, block)
        );
    }
}

/// Every line of every fixture, to be shuffled.
static CORPUS: LazyLock<Vec<Vec<u8>>> = LazyLock::new(|| {
    let mut all: Vec<Vec<u8>> = fixtures()
        .iter()
        .flat_map(|p| lines_of(&std::fs::read(p).unwrap()))
        .collect();
    all.sort();
    all.dedup();
    all
});

/// What a terminal's output holds besides text: escape sequences whole and cut short, `\r`
/// redraws and endings, characters of several bytes, bytes that are not UTF-8.
const TERMINAL: &[&[u8]] = &[
    b"\x1b[32m",
    b"\x1b[0m",
    b"\x1b[1m\x1b[31m",
    b"\x1b[",
    b"\x1b",
    b"\x1b]0;title\x07",
    b"\x1b]8;;http://x\x1b\\",
    b"\x1b(B",
    b"\r",
    b"\r\r",
    b"downloading 50%\r",
    b" ",
    "\u{e9}".as_bytes(),
    b"\xff",
];

/// A corpus line changed the ways output is: case, indentation, colour, an overwrite.
fn mutate(line: &[u8], how: u8) -> Vec<u8> {
    match how % 6 {
        0 => line.to_vec(),
        1 => line.to_ascii_uppercase(),
        2 => line.to_ascii_lowercase(),
        3 => [b"  ".as_slice(), line].concat(),
        4 => [b"\x1b[31m".as_slice(), line, b"\x1b[0m"].concat(),
        _ => [b"x\r".as_slice(), line].concat(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Any sequence of real runners' lines, however mixed, changed and split over the two
    /// streams: the same evidence filtered as unfiltered.
    #[test]
    fn shuffled_real_lines_give_the_same_evidence(
        picks in prop::collection::vec((any::<prop::sample::Index>(), any::<u8>(), any::<bool>()), 0..120),
        block in 1usize..8,
    ) {
        let lines: Lines = picks
            .iter()
            .map(|(i, how, err)| {
                let line = i.get(&CORPUS);
                let stream = if *err { Stream::Stderr } else { Stream::Stdout };
                (stream, mutate(line, *how))
            })
            .collect();
        prop_assert_eq!(filtered_by_line(&lines), every_line(&lines));
        prop_assert_eq!(
            filtered_in_blocks(&lines, block),
            every_line_in_blocks(&lines, block)
        );
    }

    /// Real lines cut into pieces and mixed with escape sequences (whole and cut short), `\r`
    /// redraws and endings, multi-byte and invalid UTF-8: a read made plain in one pass gives
    /// the evidence each line made plain on its own gives.
    #[test]
    fn coloured_and_redrawn_lines_give_the_same_evidence(
        lines in prop::collection::vec(
            prop::collection::vec(
                prop_oneof![
                    3 => any::<prop::sample::Index>().prop_map(|i| i.get(&CORPUS).clone()),
                    2 => prop::sample::select(TERMINAL).prop_map(<[u8]>::to_vec),
                    1 => (any::<prop::sample::Index>(), 0usize..40).prop_map(|(i, at)| {
                        let line = i.get(&CORPUS);
                        line[at.min(line.len())..].to_vec()
                    }),
                ],
                0..6,
            )
            .prop_map(|pieces| pieces.concat()),
            0..60,
        ),
        block in 1usize..8,
    ) {
        let lines: Lines = lines.into_iter().map(|l| (Stream::Stderr, l)).collect();
        prop_assert_eq!(
            filtered_in_blocks(&lines, block),
            every_line_in_blocks(&lines, block)
        );
    }

    /// Arbitrary text and bytes among them.
    #[test]
    fn arbitrary_lines_give_the_same_evidence(
        lines in prop::collection::vec(
            prop_oneof![
                any::<String>().prop_map(|s| s.replace('\n', "").into_bytes()),
                prop::collection::vec(any::<u8>(), 0..80).prop_map(|mut b| { b.retain(|&c| c != b'\n'); b }),
                any::<prop::sample::Index>().prop_map(|i| i.get(&CORPUS).clone()),
            ],
            0..60,
        ),
    ) {
        let lines: Lines =
            lines.into_iter().map(|l| (Stream::Stdout, l)).collect();
        prop_assert_eq!(filtered_by_line(&lines), every_line(&lines));
        prop_assert_eq!(filtered_in_blocks(&lines, 5), every_line_in_blocks(&lines, 5));
    }
}
