#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use chrono::{TimeZone, Utc};
use crashdelta::testlog::{Evidence, Line, Stream, recognizers};

fn run(name: &str) -> Vec<Evidence> {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/testlogs/native").join(name);
    let bytes = std::fs::read(&path).unwrap();
    let text = String::from_utf8_lossy(&bytes);
    let mut all = recognizers();
    let mut out = Vec::new();
    for (i, t) in text.lines().enumerate() {
        let line = Line { stream: Stream::Stdout, at: Utc.timestamp_opt(1_000_000 + i as i64, 0).unwrap(), text: t.to_owned() };
        for r in all.iter_mut() { out.extend(r.feed(&line)); }
    }
    for r in all.iter_mut() { out.extend(r.finish()); }
    out
}

#[test]
fn dump() {
    for entry in std::fs::read_dir(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/testlogs/native")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "log") {
            let name = p.file_name().unwrap().to_str().unwrap().to_owned();
            println!("=== {name}");
            for e in run(&name) { println!("{:?} test={:?} pid={:?} program={:?} signal={:?} at={} lines={}\n   first={:?}", e.runner, e.test, e.pid, e.program, e.signal, e.at.timestamp()-1_000_000, e.lines.len(), e.lines.first()); }
        }
    }
}
