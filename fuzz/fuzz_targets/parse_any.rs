//! Whole inputs through the dispatcher: composites, Markdown, fragments, anything.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(report) = crashdelta::report::parse(data) {
        let _ = crashdelta::classify::classify(&report);
    }
});
