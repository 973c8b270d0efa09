//! Invariants over arbitrary input: the parsers never panic, and a report cut anywhere inside its
//! JSON body is "incomplete" (what `watch` relies on to re-read a half-written file).

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

fn load(rel: &str) -> Vec<u8> {
    std::fs::read(format!("{}/testdata/{rel}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

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
        let bytes = load(REAL[which]);
        let end = (bytes.len() as f64 * cut) as usize;
        parse_and_classify(&bytes[..end]);
    }

    #[test]
    fn any_bit_flip_in_a_real_report_never_panics(which in 0..REAL.len(), at in 0.0f64..1.0, bit in 0u8..8) {
        let mut bytes = load(REAL[which]);
        let i = ((bytes.len() - 1) as f64 * at) as usize;
        bytes[i] ^= 1 << bit;
        parse_and_classify(&bytes);
    }

    #[test]
    fn an_ips_cut_inside_its_body_is_incomplete(cut in 0.0f64..1.0) {
        let bytes = load("derived/agx-prepareForEnqueue-0x98.ips");
        let header_end = bytes.iter().position(|&b| b == b'\n').unwrap() + 1;
        let body_end = bytes.iter().rposition(|&b| b == b'}').unwrap();
        let end = header_end + ((body_end - header_end) as f64 * cut) as usize;
        match report::parse(&bytes[..end]) {
            Err(ParseError::Incomplete(_)) => {}
            other => prop_assert!(false, "cut at {end}: {other:?}"),
        }
    }
}

fn rules() -> classify::RuleSet {
    classify::RuleSet::builtin().unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(1000))]

    /// The campaign statistics stay meaningful for any count: the interval holds the observed rate
    /// inside [0, 1], the zero-event bound is a rate, and Fisher's p-value is a probability that
    /// does not depend on which configuration is called A (this found an underflow when A had
    /// more crashes than B had runs).
    #[test]
    fn campaign_statistics_are_probabilities(n in 1u64..3000, k_frac in 0.0f64..=1.0, m in 1u64..3000, j_frac in 0.0f64..=1.0) {
        use crashdelta::stats;
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
