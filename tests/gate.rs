//! The gate never passes a crash of the run (issue 13, part A): each test here failed before
//! the mechanism it names existed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{RACE, analyzer, crashdelta, read, stderr};
use crashdelta::classify::Family;

/// Every string leaf of a JSON value, by its path (`threads/0/frames/3/symbol`).
fn string_paths(v: &serde_json::Value, at: String, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(_) => out.push(at),
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                string_paths(item, format!("{at}/{i}"), out);
            }
        }
        serde_json::Value::Object(map) => {
            for (k, item) in map {
                string_paths(
                    item,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        _ => {}
    }
}

/// A thread name, a queue label or a symbol cut in the middle of a UTF-16 pair: before the
/// repair, serde_json refused the whole body, the crashed thread was lost and the AGX race was
/// `other`. With a lone surrogate in any one string of the body, the report still classifies
/// as the race, with a warning saying what was replaced.
#[test]
fn a_lone_surrogate_in_any_string_field_does_not_hide_the_race() {
    let text = String::from_utf8(read(RACE.trim_start_matches("testdata/"))).unwrap();
    let (header, body) = text.split_once('\n').unwrap();
    assert!(header.contains("bug_type"));
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    let mut paths = Vec::new();
    string_paths(&body, String::new(), &mut paths);
    assert!(
        paths.len() > 50,
        "the race report has many strings: {}",
        paths.len()
    );
    let analyzer = analyzer();
    // A private-use character marks where the surrogate goes; serde_json writes it raw.
    const MARK: char = '\u{e000}';
    let mut hidden = Vec::new();
    for path in &paths {
        let mut damaged = body.clone();
        let slot = damaged.pointer_mut(path).unwrap();
        let s = slot.as_str().unwrap().to_owned();
        *slot = serde_json::Value::String(format!("{s}{MARK}"));
        let json = serde_json::to_string(&damaged)
            .unwrap()
            .replace(MARK, "\\ud83d");
        let report = format!("{header}\n{json}");
        assert!(
            serde_json::from_str::<serde_json::Value>(&json).is_err(),
            "{path}: the damage must be what strict JSON refuses"
        );
        match analyzer.analyze(report.as_bytes()) {
            // The crashed frame's own symbol, damaged, is another symbol: the rule for the race no
            // longer matches it, but the crash is still in the AGX driver, so `--fail-on agx`
            // still fails. Everywhere else the race itself is found.
            Ok(a)
                if a.classification.as_ref().is_some_and(|c| {
                    c.family == Family::Agx
                        && (c.rule == "agx-prepare-for-enqueue-race"
                            || path.ends_with("/frames/0/symbol"))
                }) =>
            {
                assert!(
                    a.report
                        .warnings
                        .iter()
                        .any(|w| w.message.contains("surrogate")),
                    "{path}: no warning"
                );
            }
            other => hidden.push(format!(
                "{path}: {:?}",
                other.map(|a| a.classification.map(|c| c.rule))
            )),
        }
    }
    assert!(
        hidden.is_empty(),
        "{} fields hid the race: {hidden:#?}",
        hidden.len()
    );
}

/// The same through the binary: `--fail-on agx` fails on the damaged report.
#[test]
fn the_gate_fails_on_a_race_report_with_a_cut_emoji_in_a_thread_name() {
    let text = String::from_utf8(read(RACE.trim_start_matches("testdata/"))).unwrap();
    let damaged = text.replacen(
        "\"threads\": [\n    {",
        "\"threads\": [\n    {\"name\": \"worker \\ud83d\",",
        1,
    );
    assert_ne!(damaged, text, "the fixture's threads array moved");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Python-cut-emoji.ips");
    std::fs::write(&path, damaged).unwrap();
    let out = crashdelta()
        .args(["classify", "--fail-on", "agx"])
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(86), "{stdout}{}", stderr(&out));
    assert!(stdout.contains("agx-prepare-for-enqueue-race"), "{stdout}");
}
