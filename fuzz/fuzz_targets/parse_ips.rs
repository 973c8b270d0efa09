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
    if let Ok(report) = crashdelta::report::parse(&input) {
        let _ = crashdelta::classify::classify(&report, rules());
    }
});
