//! The rules-file reader: arbitrary text as a user's `--rules` file.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crashdelta::classify::parse_rules(text, "fuzz.toml");
    }
});
