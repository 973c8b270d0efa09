//! Invariants over arbitrary input: the parsers never panic, and a report cut anywhere inside its
//! JSON body is "incomplete" (what `watch` relies on to re-read a half-written file).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{read, rules};

use crashdelta::classify;
use crashdelta::report::{self, ParseError};
use proptest::prelude::*;

const REAL: &[&str] = &[
    "real/ips/llvm-lldb__multithread-test.ips",
    "real/ips/macsym__ios-crash-in-ips-format.ips",
    "real/ips/sanfer__report.ips",
    "real/crash/photoguru__crash.txt",
    "real/crash/electronsym__crash.txt",
    "real/crash/mysqlwb__README.md",
    "real/issue_text/gh-golde-23-turn0.txt",
    "derived/agx-prepareForEnqueue-0x98.ips",
];

fn parse_and_classify(bytes: &[u8]) {
    if let Ok(r) = report::parse(bytes) {
        let _ = classify::classify(&r, &rules());
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..4096)) {
        parse_and_classify(&bytes);
    }

    #[test]
    fn report_like_text_never_panics(
        lines in proptest::collection::vec(
            prop_oneof![
                Just("Process: a [1]".to_owned()),
                Just("Thread 0 Crashed::  Dispatch queue: q".to_owned()),
                Just("0   AGXMetalG16X  0x1fddc171c 0x1fdbc0000 + 2103068".to_owned()),
                Just("Binary Images:".to_owned()),
                Just("{\"bug_type\":\"309\"}".to_owned()),
                Just("{".to_owned()),
                Just("Full Report".to_owned()),
                Just("-----------".to_owned()),
                "[ -~]{0,40}",
            ],
            0..40,
        )
    ) {
        parse_and_classify(lines.join("\n").as_bytes());
    }

    #[test]
    fn any_truncation_of_a_real_report_never_panics(which in 0..REAL.len(), cut in 0.0f64..1.0) {
        let bytes = read(REAL[which]);
        let end = (bytes.len() as f64 * cut) as usize;
        parse_and_classify(&bytes[..end]);
    }

    #[test]
    fn any_bit_flip_in_a_real_report_never_panics(which in 0..REAL.len(), at in 0.0f64..1.0, bit in 0u8..8) {
        let mut bytes = read(REAL[which]);
        let i = ((bytes.len() - 1) as f64 * at) as usize;
        bytes[i] ^= 1 << bit;
        parse_and_classify(&bytes);
    }

    #[test]
    fn an_ips_cut_inside_its_body_is_incomplete_or_read_up_to_the_cut(cut in 0.0f64..1.0) {
        // Cut before the crashed thread's frames: incomplete. Cut after them: read as far as
        // it goes, saying where it is cut, and never making up a frame: the crashed thread is
        // the whole report's, its frames the same (all of them: the thread is closed only
        // where a frame ended, and a cut inside it leaves it out).
        let bytes = read("derived/agx-prepareForEnqueue-0x98.ips");
        let header_end = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
        let body_end = bytes.iter().rposition(|&b| b == b'}').unwrap();
        let end = header_end + ((body_end - header_end) as f64 * cut) as usize;
        match report::parse(&bytes[..end]) {
            Err(ParseError::Incomplete(_)) => {}
            Ok(r) => {
                prop_assert!(r.cut.is_some(), "cut at {end}, not said");
                let whole = report::parse(&bytes).unwrap();
                prop_assert_eq!(r.crashed_thread, whole.crashed_thread);
                let symbols = |r: &report::Report| -> Vec<Option<String>> {
                    r.crashed().unwrap().frames.iter().map(|f| f.symbol.clone()).collect()
                };
                let (read, all) = (symbols(&r), symbols(&whole));
                prop_assert!(!read.is_empty() && all.starts_with(&read), "cut at {end}: {read:?}");
            }
            other => prop_assert!(false, "cut at {end}: {other:?}"),
        }
    }
}

/// An image column as reports and pastes spell it: plain names, bundle ids, names with spaces,
/// with a hex-looking word (lldb's parser tests), with the architecture after them, `???`.
fn image() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("libsystem_kernel.dylib".to_owned()),
        Just("AGXMetalG16X".to_owned()),
        Just("com.apple.AppKit".to_owned()),
        Just("Google Chrome Framework".to_owned()),
        Just("He 0x1".to_owned()),
        Just("MyApp Pro arm64".to_owned()),
        Just("???".to_owned()),
        "[A-Za-z_][A-Za-z0-9_.+-]{0,20}( [A-Za-z0-9_.+-]{1,8}){0,2}",
    ]
}

/// An address: zero-padded or not, `0x0` for a jump to NULL, the old spelling without `0x`, a
/// number cut short, or something that is not a number at all.
fn address() -> impl Strategy<Value = String> {
    prop_oneof![
        "0x[0-9a-f]{8,16}",
        Just("0x0".to_owned()),
        Just("000000000000000000".to_owned()),
        "0x[0-9a-f]{1,7}",
        Just("0x1f3G".to_owned()),
        Just("0x".to_owned()),
    ]
}

/// What follows the address: a symbol and offset (with a source file, `[inlined]`, a `+` in the
/// name), a base and offset, `???`, Sentry's `<unknown>`, a bare symbol, or nothing.
fn what() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just("???".to_owned()),
        Just("<unknown>".to_owned()),
        Just("0x1fdbc0000 + 2103068".to_owned()),
        Just("0 + 4599289520".to_owned()),
        Just("operator+(int, int) + 12".to_owned()),
        Just("main + 160 (main.cpp:31)".to_owned()),
        Just("Swift runtime failure: Index out of range + 0 [inlined]".to_owned()),
        Just("[inlined] MVKCommandEncoder::encode (MVKCommandBuffer.mm:379)".to_owned()),
        Just(
            "-[AppDelegate application:didFinishLaunchingWithOptions:] (AppDelegate.m:20)"
                .to_owned()
        ),
        "[A-Za-z_:<>(), ]{1,40} \\+ [0-9]{1,5}",
        "[A-Za-z_][A-Za-z0-9_:]{0,30}",
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// Every frame line the text reader sees becomes a frame, in order, with the report's own
    /// number: nothing is dropped or renumbered, whatever the line holds.
    #[test]
    fn every_frame_line_is_a_frame(
        lines in proptest::collection::vec((image(), 1usize..12, address(), what(), any::<bool>()), 1..40),
        first in 0u64..50,
    ) {
        let mut text = String::from(
            "Process:               a [1]\nCode Type:             ARM-64\n\
             Exception Type:        EXC_BAD_ACCESS (SIGSEGV)\n\nThread 0 Crashed:\n",
        );
        for (i, (image, pad, address, what, tab)) in lines.iter().enumerate() {
            let number = first + i as u64;
            let gap = if *tab { format!("{}\t", " ".repeat(*pad)) } else { " ".repeat(*pad + 1) };
            text.push_str(&format!("{number:<4}{image}{gap}{address} {what}\n"));
        }
        let r = report::parse(text.as_bytes()).unwrap();
        let frames = &r.crashed().unwrap().frames;
        prop_assert_eq!(frames.len(), lines.len(), "{}", text);
        for (i, f) in frames.iter().enumerate() {
            prop_assert_eq!(f.number, Some(first + i as u64), "{}", text);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// The campaign statistics stay meaningful for any count: the interval holds the observed rate
    /// inside [0, 1], the zero-event bound is a rate, and Fisher's p-value is a probability that
    /// does not depend on which configuration is called A (this found an underflow when A had
    /// more crashes than B had runs).
    #[test]
    fn campaign_statistics_are_probabilities(n in 1u64..3000, k_frac in 0.0f64..=1.0, m in 1u64..3000, j_frac in 0.0f64..=1.0) {
        use crashdelta::campaign::statistics as stats;
        let k = ((n as f64) * k_frac).floor() as u64;
        let j = ((m as f64) * j_frac).floor() as u64;
        let (lo, hi) = stats::wilson(k, n).unwrap();
        let rate = k as f64 / n as f64;
        prop_assert!((0.0..=1.0).contains(&lo) && (0.0..=1.0).contains(&hi));
        prop_assert!(lo <= rate + 1e-12 && rate <= hi + 1e-12, "{lo} {rate} {hi}");
        let upper = stats::upper_bound_if_none(n).unwrap();
        prop_assert!(upper > 0.0 && upper < 1.0);
        let p = stats::fisher_exact(k, n, j, m).unwrap();
        prop_assert!((0.0..=1.0).contains(&p), "{p}");
        let swapped = stats::fisher_exact(j, m, k, n).unwrap();
        prop_assert!((p - swapped).abs() < 1e-9, "{p} {swapped}");
        // The same rate in both has nothing to explain.
        prop_assert!(stats::fisher_exact(k, n, k, n).unwrap() > 0.999);
    }
}
