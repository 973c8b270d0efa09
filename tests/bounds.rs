//! Resource bounds on hostile inputs (issue 13, C8): a rules file whose regexes would take
//! gigabytes is refused quickly, naming the rule; an input crafted with many JSON starts is read in
//! time linear in its size. Times are compared with a baseline measured in the same run (an
//! honest input of the same size), not with wall clock alone: the machine may be slow or busy.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::time::{Duration, Instant};

use common::crashdelta;

const UNNAMED: &str = "testdata/derived/agx-unsymbolicated-0x98.ips";

/// `n` rules, each with a frame condition whose symbol is `pattern(i)`.
fn rules_with(n: usize, pattern: impl Fn(usize) -> String) -> String {
    (0..n)
        .map(|i| {
            format!(
                "[[rule]]\nid = \"r{i}\"\ntitle = \"t\"\nfamily = \"agx\"\n[rule.when]\nframes = [{{ symbol = '{}' }}]\n",
                pattern(i)
            )
        })
        .collect()
}

fn classify_with_rules(rules: &str) -> (std::process::Output, Duration) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("big-rules.toml");
    std::fs::write(&path, rules).unwrap();
    let start = Instant::now();
    let out = crashdelta()
        .args(["classify", "--rules"])
        .arg(&path)
        .arg(UNNAMED)
        .output()
        .unwrap();
    (out, start.elapsed())
}

/// Thousands of regexes of about 1 MiB compiled each (`\w{12}`: Unicode word characters, twelve
/// times): without a budget the regex crate's 10 MiB limit per regex let every one compile, some
/// 3 GiB and minutes. Refused now at the 32 MiB budget, in about the time the budget's worth of
/// regexes takes to compile, with a message naming the rule where it ran out.
#[test]
fn a_rules_file_with_thousands_of_big_regexes_is_refused_quickly() {
    let (small, small_time) = classify_with_rules(&rules_with(3, |i| format!("^f{i}$")));
    assert_eq!(small.status.code(), Some(0), "{}", common::stderr(&small));
    let (out, time) = classify_with_rules(&rules_with(3000, |i| format!(r"\w{{12}}{i}")));
    let stderr = common::stderr(&out);
    assert_ne!(out.status.code(), Some(0), "{stderr}");
    assert!(
        stderr.contains("big-rules.toml: rule 33 (r32), field when.frames[0].symbol: the regexes of this file up to")
            && stderr.contains("more than 32 MiB, the limit for one rules file"),
        "{stderr}"
    );
    // 32 regexes compiled, not 3000: well under what 3000 would take (the budget's worth of
    // compiling in a debug build is a few seconds; 3000 regexes were minutes).
    assert!(
        time < small_time + Duration::from_secs(60),
        "{time:?} (a small rules file: {small_time:?})"
    );
    // Too many small regexes: refused by count.
    let (out, _) = classify_with_rules(&rules_with(5000, |i| format!("^f{i}$")));
    let stderr = common::stderr(&out);
    assert!(
        stderr.contains(
            "rule 1001 (r1000), field when.frames[0].symbol: this file has more than 1000 regexes"
        ),
        "{stderr}"
    );
}

/// An input of `candidates` lines that each start a JSON object that never ends (`{"a":[` then
/// lines of `1,`): each candidate parses to the end of the input. About `size` bytes.
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

fn classify_time(text: &str) -> Duration {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("input.txt");
    std::fs::write(&path, text).unwrap();
    (0..2)
        .map(|_| {
            let start = Instant::now();
            let out = crashdelta()
                .args(["classify", "--format", "json"])
                .arg(&path)
                .output()
                .unwrap();
            assert!(String::from_utf8_lossy(&out.stdout).contains("\"status\":\"not-a-crash\""));
            start.elapsed()
        })
        .min()
        .unwrap()
}

/// 64 JSON starts in one input each parsed to its end: 32 times the input's size. Now the
/// candidates share a budget of 4 times the input's size, so the crafted input costs at most a
/// few times what one honest parse of the same size costs (it was about 30 times).
#[test]
fn an_input_with_64_unclosed_json_starts_is_read_in_linear_time() {
    let size = 1 << 20;
    let baseline = classify_time(&unclosed_candidates(1, size));
    let crafted = classify_time(&unclosed_candidates(64, size));
    eprintln!("64 candidates: {crafted:?}; one: {baseline:?}");
    assert!(
        crafted < baseline * 12,
        "64 candidates took {crafted:?}, one candidate of the same size {baseline:?}"
    );
}

/// Two long lines sharing a long run of marks (`[ [ [ ...`): every word of it was a candidate
/// line prefix compared with every line, quadratic in the line's length (an 800 KB input took
/// 1.2 s in a release build, 8 MB would take minutes). A prefix is looked for in the first 64
/// bytes only; the input reads in about the time of an honest one of its size.
#[test]
fn two_long_lines_of_marks_are_read_in_linear_time() {
    let size = 4 << 20;
    let line = "[ ".repeat(size / 4);
    let crafted = classify_time(&format!("x\n{line}\n{line}\ny\n"));
    let honest = classify_time(&"a line of prose, nothing more\n".repeat(size / 30));
    eprintln!("two long lines of marks: {crafted:?}; prose of the same size: {honest:?}");
    assert!(
        crafted < honest * 12 + Duration::from_millis(500),
        "two long lines of marks took {crafted:?}, prose of the same size {honest:?}"
    );
}
