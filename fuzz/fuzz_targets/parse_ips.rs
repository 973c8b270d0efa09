//! The JSON body parser: a fixed crash header line, then the fuzzed bytes as the body.
#![no_main]
use std::sync::OnceLock;

use crashdelta::classify::RuleSet;
use libfuzzer_sys::fuzz_target;

fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| RuleSet::builtin().expect("built-in rules"))
}

const HEADER: &[u8] = br#"{"app_name":"Python","bug_type":"309","name":"Python","incident_id":"5E0C2B1A-7F3D-4A9B-8C6E-1D2F3A4B5C6D","os_version":"macOS 15.7.3 (24G419)"}
"#;

fuzz_target!(|data: &[u8]| {
    let mut input = HEADER.to_vec();
    input.extend_from_slice(data);
    let whole = crashdelta::report::parse(&input);
    if let Ok(report) = &whole {
        let _ = crashdelta::classify::classify(report, rules());
    }
    // `classify` skims (the other threads' frames are read only when they may be in the GPU
    // stack): whatever the body, it classifies it as the whole parse does (tests/skim.rs).
    let skim = crashdelta::report::parse_with(
        &input,
        crashdelta::report::Frames::Skim(crashdelta::classify::SKIM),
    );
    match (&whole, &skim) {
        (Ok(w), Ok(s)) => assert_eq!(
            crashdelta::classify::classify(w, rules()),
            crashdelta::classify::classify(s, rules())
        ),
        (Err(w), Err(s)) => assert_eq!(w, s),
        _ => panic!("whole {whole:?}, skimmed {skim:?}"),
    }
});
