//! Whole inputs through the dispatcher: composites, Markdown, fragments, anything.
#![no_main]
use std::sync::OnceLock;

use crashdelta::classify::RuleSet;
use libfuzzer_sys::fuzz_target;

fn rules() -> &'static RuleSet {
    static RULES: OnceLock<RuleSet> = OnceLock::new();
    RULES.get_or_init(|| RuleSet::builtin().expect("built-in rules"))
}

fuzz_target!(|data: &[u8]| {
    if let Ok(report) = crashdelta::report::parse(data) {
        let _ = crashdelta::classify::classify(&report, rules());
    }
});
