//! The inventory reader (`diff BEFORE.json`): arbitrary bytes as a saved inventory, then diffed
//! against itself.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(inv) = serde_json::from_slice::<crashdelta::inventory::Inventory>(data) {
        let d = crashdelta::inventory::diff(&inv, &inv);
        assert!(d.new.is_empty() && d.removed.is_empty());
    }
});
