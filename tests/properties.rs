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
