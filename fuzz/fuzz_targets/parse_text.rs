//! The legacy text parser: a report header, then the fuzzed bytes as the rest of the report.
#![no_main]
use std::sync::OnceLock;

use crashdelta::classify::RuleSet;
use libfuzzer_sys::fuzz_target;

fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| RuleSet::builtin().expect("built-in rules"))
}

const HEAD: &[u8] = b"Process:               Python [81920]\nPath:                  /usr/bin/python3\n";

fuzz_target!(|data: &[u8]| {
    let mut input = HEAD.to_vec();
    input.extend_from_slice(data);
    if let Ok(report) = crashdelta::report::parse(&input) {
        let _ = crashdelta::classify::classify(&report, rules());
    }
});
