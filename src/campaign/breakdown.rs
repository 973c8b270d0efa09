//! `stats`: crashes grouped by signature × OS build × driver version × hardware model, over
//! report folders and the run records crashdelta wrote before.
//!
//! The question this answers is "did it start with that OS update?": a driver race shows as one
//! signature whose rows begin at one build or driver version. The inputs are crash reports (read
//! and classified as `classify` does) and crashdelta's own JSON records (`crashdelta.watch/1`,
//! `.classify/1`, `.campaign/1`), whose crashes are taken as recorded: a CI job's artifacts can
//! be pooled without the reports themselves.

use std::collections::BTreeMap;

use chrono::DateTime;
use serde::{Deserialize, Serialize};

use crate::analyze::{Analyzed, Analyzer};
use crate::classify::{Classification, Driver};
use crate::input::{Input, InputError};
use crate::report::Report;

/// The facts of one crash that `stats` groups by.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct CrashFacts {
    /// 16 hex digits of the signature's SHA-256: the first of the grouping keys.
    pub signature_id: String,
    /// The crashed thread's first meaningful frames as `image!symbol` (or `image+0xoffset`), joined
    /// by ` | `.
    pub signature: String,
    /// The first frame that is not abort or exception machinery, `function + offset`.
    pub location: Option<String>,
    /// Id of the rule that matched (`unmatched` when none did).
    pub rule: String,
    /// The rule's title.
    pub title: String,
    /// Whether the rule marks the crash as one the team already knows.
    pub known: bool,
    /// The OS build the crash happened on (`24G419`), as the report gives it.
    pub os_build: Option<String>,
    /// The AGX driver loaded in the crashed process, when one was.
    pub driver: Option<Driver>,
    /// The Mac's model identifier (`Mac16,5`), as the report gives it.
    pub hardware_model: Option<String>,
    /// When the report was captured, with its own UTC offset.
    pub time: Option<DateTime<chrono::FixedOffset>>,
    /// The test the crash was joined with, when a run record says (`new[].test`).
    pub test: Option<String>,
}

impl CrashFacts {
    /// The facts of a crash kept in a history (`--history`).
    pub fn stored(c: crate::history::StoredCrash) -> Self {
        CrashFacts {
            signature_id: c.signature_id,
            signature: c.signature,
            location: c.location,
            rule: c.rule,
            title: c.title,
            known: c.known,
            os_build: c.os_build,
            driver: c.driver.map(|(name, version)| Driver {
                name,
                version,
                uuid: None,
            }),
            hardware_model: c.hardware_model,
            time: c
                .captured
                .and_then(|t| DateTime::parse_from_rfc3339(&t).ok()),
            test: c.test_id,
        }
    }

    /// The facts of a crash report and its classification.
    pub fn new(report: &Report, c: &Classification) -> Self {
        CrashFacts {
            signature_id: c.signature_id.clone(),
            signature: c.signature.clone(),
            location: c.location.clone(),
            rule: c.rule.clone(),
            title: c.title.clone(),
            known: c.known,
            os_build: report.os.build.clone(),
            driver: c.driver.clone(),
            hardware_model: report.hardware_model.clone(),
            time: report.capture_time,
            test: None,
        }
    }
}

/// Crashes grouped by signature × OS build × driver version × hardware model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BreakdownRow {
    /// 16 hex digits of the signature's SHA-256.
    pub signature_id: String,
    /// The crashed thread's first meaningful frames as `image!symbol` (or `image+0xoffset`), joined
    /// by ` | `.
    pub signature: String,
    /// `function + offset` of the group's first crash.
    pub location: Option<String>,
    /// Id of the rule the group's first crash matched.
    pub rule: String,
    /// That rule's title.
    pub title: String,
    /// Whether that rule marks the crash as known.
    pub known: bool,
    /// The OS build (`24G419`); `None` for crashes whose report does not say.
    pub os_build: Option<String>,
    /// The AGX driver loaded in the process (the object a report's `driver` is); `None` when
    /// none was, or the report does not say.
    pub driver: Option<Driver>,
    /// The Mac's model identifier (`Mac16,5`); `None` when the report does not say.
    pub hardware_model: Option<String>,
    /// How many crashes the group holds.
    pub count: u64,
    /// The earliest capture time in the group, RFC 3339 with that report's own UTC offset; `None`
    /// when no crash in it has one.
    pub first_seen: Option<String>,
    /// The latest capture time in the group, as `first_seen`.
    pub last_seen: Option<String>,
}

impl BreakdownRow {
    /// The driver as people read it (`AGXMetalG16X 327.5`), `?` when the row has none.
    pub fn driver_label(&self) -> String {
        self.driver
            .as_ref()
            .map_or_else(|| "?".to_owned(), Driver::label)
    }
}

type BreakdownKey = (String, Option<String>, Option<Driver>, Option<String>);

/// Crashes counted by signature × OS build × driver version × hardware model, as they are read.
/// Each group keeps its first crash (for the names), a count, and the first and last capture
/// times: never every crash.
#[derive(Debug, Default)]
pub struct Breakdown {
    rows: BTreeMap<BreakdownKey, Seen>,
}

/// The first crash of a group (for its names), how many, and the first and last capture times.
type Seen = (
    CrashFacts,
    u64,
    Option<DateTime<chrono::FixedOffset>>,
    Option<DateTime<chrono::FixedOffset>>,
);

impl Breakdown {
    /// Counts one crash in its group; the group's first crash gives it its names.
    pub fn add(&mut self, f: CrashFacts) {
        let key = (
            f.signature_id.clone(),
            f.os_build.clone(),
            f.driver.clone(),
            f.hardware_model.clone(),
        );
        let time = f.time;
        let row = self.rows.entry(key).or_insert_with(|| (f, 0, None, None));
        row.1 += 1;
        if let Some(t) = time {
            row.2 = Some(row.2.map_or(t, |x| x.min(t)));
            row.3 = Some(row.3.map_or(t, |x| x.max(t)));
        }
    }

    /// Rows by signature (most crashes first), then by first appearance: a crash that started
    /// with one OS build shows as rows whose first-seen times begin there.
    pub fn rows(&self) -> Vec<BreakdownRow> {
        let mut per_signature: BTreeMap<&str, u64> = BTreeMap::new();
        for ((sig, ..), (_, n, ..)) in &self.rows {
            *per_signature.entry(sig).or_default() += n;
        }
        // Sorted by the instants, not by their text: reports from machines in different time
        // zones keep their own UTC offsets, and "2026-01-05T09:00+09:00" is earlier than
        // "2026-01-05T08:00+00:00".
        let mut groups: Vec<&Seen> = self.rows.values().collect();
        groups.sort_by(|(a, an, a_first, _), (b, bn, b_first, _)| {
            let total = |f: &CrashFacts, n: u64| {
                per_signature
                    .get(f.signature_id.as_str())
                    .copied()
                    .unwrap_or(n)
            };
            total(b, *bn)
                .cmp(&total(a, *an))
                .then(a.signature_id.cmp(&b.signature_id))
                .then(a_first.cmp(b_first))
                .then(a.os_build.cmp(&b.os_build))
        });
        groups
            .into_iter()
            .map(|(f, n, first, last)| BreakdownRow {
                signature_id: f.signature_id.clone(),
                signature: f.signature.clone(),
                location: f.location.clone(),
                rule: f.rule.clone(),
                title: f.title.clone(),
                known: f.known,
                os_build: f.os_build.clone(),
                driver: f.driver.clone(),
                hardware_model: f.hardware_model.clone(),
                count: *n,
                first_seen: first.map(|t| t.to_rfc3339()),
                last_seen: last.map(|t| t.to_rfc3339()),
            })
            .collect()
    }

    /// How many crashes were counted, in every group.
    pub fn total(&self) -> u64 {
        self.rows.values().map(|r| r.1).sum()
    }
}

/// A `stats` breakdown.
#[derive(Debug, Clone, Serialize)]
pub struct StatsReport {
    /// Inputs read: files, and standard input.
    pub inputs: u64,
    /// Crashes counted, from reports and from records.
    pub crashes: u64,
    /// Inputs that were not crash reports or could not be read.
    pub skipped: u64,
    /// The groups, the signature with most crashes first.
    pub rows: Vec<BreakdownRow>,
    /// Runs read from run records (a `watch` record is one, a campaign's as many as it ran):
    /// what `by_test` counts out of.
    pub runs: u64,
    /// The crashes of those runs by the test they were joined with, the test that crashed in
    /// most runs first.
    pub by_test: Vec<super::TestCount>,
}

/// Reads every input (a crash report, or a run record whose crashes are taken as recorded) and
/// groups the crashes. `on_unreadable` hears each input that could not be read; the others are
/// still counted. Returns the breakdown and how many inputs could not be read.
pub fn read(
    inputs: impl Iterator<Item = Input>,
    analyzer: &Analyzer,
    mut on_unreadable: impl FnMut(&InputError),
) -> (StatsReport, u64) {
    let mut breakdown = Breakdown::default();
    let mut tests = super::TestTally::default();
    let (mut count, mut skipped, mut unreadable, mut runs) = (0u64, 0u64, 0u64, 0u64);
    for item in inputs {
        count += 1;
        // A history (`--history`): every crash once, and its watched runs for the tests. A
        // PostgreSQL URL given as an input is read as one too.
        if let Some(path) = item.path()
            && (path.to_str().is_some_and(crate::history::is_postgres_url)
                || crate::history::looks_like_sqlite(path))
        {
            match crate::history::History::open_to_read(path).and_then(|mut h| h.stored()) {
                Ok(stored) => {
                    for own in &stored.runs {
                        runs += 1;
                        for c in own.iter().filter_map(|i| stored.crashes.get(*i)) {
                            if let Some(test) = &c.test_id {
                                tests.add(runs, test, &c.rule, &c.title);
                            }
                        }
                    }
                    for c in stored.crashes {
                        breakdown.add(CrashFacts::stored(c));
                    }
                }
                Err(e) => {
                    // Named, and said, without a URL's password.
                    let at = crate::history::Location::from(path);
                    on_unreadable(&InputError::Read {
                        path: at.to_string().into(),
                        source: std::io::Error::other(at.redact(&e.to_string())),
                    });
                    skipped += 1;
                    unreadable += 1;
                }
            }
            continue;
        }
        let is_json = item.name.ends_with(".json");
        let bytes = match item.read() {
            Ok(b) => b,
            Err(e) => {
                on_unreadable(&e);
                skipped += 1;
                unreadable += 1;
                continue;
            }
        };
        // A run record is JSON whose schema names crashdelta; anything else is read as a report.
        if is_json
            && let Ok(doc) = serde_json::from_slice::<serde_json::Value>(&bytes)
            && let Some(record) = record_runs(&doc)
        {
            for crashes in record.runs {
                if record.are_runs {
                    runs += 1;
                }
                for c in crashes {
                    if record.are_runs
                        && let Some(test) = &c.test
                    {
                        tests.add(runs, test, &c.rule, &c.title);
                    }
                    breakdown.add(c);
                }
            }
            continue;
        }
        match analyzer.analyze(&bytes) {
            Ok(Analyzed {
                report,
                classification: Some(c),
            }) => breakdown.add(CrashFacts::new(&report, &c)),
            _ => skipped += 1,
        }
    }
    let report = StatsReport {
        inputs: count,
        crashes: breakdown.total(),
        skipped,
        rows: breakdown.rows(),
        runs,
        by_test: tests.counts(runs),
    };
    (report, unreadable)
}

/// The crashes a run record (`crashdelta.watch/1`, `.campaign/1`, `.classify/1`) lists; `None`
/// when the JSON is not one of them.
pub fn record_crashes(doc: &serde_json::Value) -> Option<Vec<CrashFacts>> {
    record_runs(doc).map(|r| r.runs.into_iter().flatten().collect())
}

/// The crashes of a record, run by run.
pub struct RecordRuns {
    /// The crashes of each run (a `watch` record holds one run, a campaign's each of its runs);
    /// a `classify` record's reports as one group.
    pub runs: Vec<Vec<CrashFacts>>,
    /// Whether the groups are runs (not for a `classify` record).
    pub are_runs: bool,
}

/// The crashes a run record lists, run by run; `None` when the JSON is not a record.
pub fn record_runs(doc: &serde_json::Value) -> Option<RecordRuns> {
    let schema = doc.get("schema")?.as_str()?;
    let (groups, are_runs): (Vec<Vec<&serde_json::Value>>, bool) = match schema {
        "crashdelta.watch/1" => (vec![doc.get("new")?.as_array()?.iter().collect()], true),
        // The versions differ in fields this does not read (a group's drivers; a run's
        // `crashes[].process`): records written before and after are pooled alike.
        "crashdelta.classify/1" | "crashdelta.classify/2" => (
            vec![doc.get("reports")?.as_array()?.iter().collect()],
            false,
        ),
        "crashdelta.campaign/1" | "crashdelta.campaign/2" => {
            (campaign_groups(doc.get("runs")?.as_array()?), true)
        }
        _ => return None,
    };
    // A campaign's runs say which test each of their crashes was (a late report's too, which
    // its record, the run it landed in, could not join).
    let tests: std::collections::HashMap<String, String> = doc
        .get("runs")
        .and_then(|r| r.as_array())
        .into_iter()
        .flatten()
        .filter_map(|r| r.get("run")?.get("crashes")?.as_array())
        .flatten()
        .filter_map(|c| {
            Some((
                c.get("path")?.as_str()?.to_owned(),
                c.get("test")?.as_str()?.to_owned(),
            ))
        })
        .collect();
    let text = |v: &serde_json::Value, path: &[&str]| -> Option<String> {
        let mut cur = v;
        for key in path {
            cur = cur.get(*key)?;
        }
        cur.as_str().map(str::to_owned)
    };
    let facts = |e: &serde_json::Value| -> Option<CrashFacts> {
        if e.get("status").and_then(|s| s.as_str()) != Some("crash") {
            return None;
        }
        Some(CrashFacts {
            signature_id: text(e, &["signature_id"])?,
            signature: text(e, &["signature"]).unwrap_or_default(),
            location: text(e, &["location"]),
            rule: text(e, &["classification", "rule"]).unwrap_or_default(),
            title: text(e, &["classification", "title"]).unwrap_or_default(),
            known: e
                .get("classification")
                .and_then(|c| c.get("known"))
                .and_then(|k| k.as_bool())
                .unwrap_or(false),
            os_build: text(e, &["os", "build"]),
            driver: e.get("driver").and_then(|d| Driver::deserialize(d).ok()),
            hardware_model: text(e, &["hardware_model"]),
            time: text(e, &["capture_time"]).and_then(|t| DateTime::parse_from_rfc3339(&t).ok()),
            test: text(e, &["test", "evidence", "test"])
                .or_else(|| tests.get(&text(e, &["path"])?).cloned()),
        })
    };
    Some(RecordRuns {
        runs: groups
            .into_iter()
            .map(|g| g.into_iter().filter_map(facts).collect())
            .collect(),
        are_runs,
    })
}

/// A campaign's reports, run by run: each run's new reports, but a late report of an earlier
/// run of the campaign (it landed while a later run went on: the runs overlap their waits) is
/// that run's, where the campaign counted it.
fn campaign_groups(runs: &[serde_json::Value]) -> Vec<Vec<&serde_json::Value>> {
    let starts: Vec<Option<&str>> = runs
        .iter()
        .map(|r| r.get("window")?.get("start")?.as_str())
        .collect();
    let mut groups: Vec<Vec<&serde_json::Value>> = vec![Vec::new(); runs.len()];
    for (i, r) in runs.iter().enumerate() {
        for e in r
            .get("new")
            .and_then(|n| n.as_array())
            .into_iter()
            .flatten()
        {
            let a = e.get("attribution");
            let owner = (a.and_then(|a| a.get("kind")).and_then(|k| k.as_str()) == Some("late"))
                .then(|| {
                    let of = a?.get("earlier_run")?.get("start")?.as_str()?;
                    starts.iter().position(|s| *s == Some(of))
                })
                .flatten()
                .unwrap_or(i);
            if let Some(g) = groups.get_mut(owner) {
                g.push(e);
            }
        }
    }
    groups
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn breakdown_groups_by_signature_os_driver_and_model() {
        let facts = |sig: &str, build: &str, t: &str| CrashFacts {
            signature_id: sig.into(),
            signature: sig.into(),
            rule: "r".into(),
            os_build: Some(build.into()),
            driver: Some(Driver {
                name: "AGXMetalG16X".into(),
                version: Some("342.3".into()),
                uuid: None,
            }),
            hardware_model: Some("Mac16,5".into()),
            time: DateTime::parse_from_rfc3339(t).ok(),
            ..Default::default()
        };
        let mut b = Breakdown::default();
        b.add(facts("a", "25B78", "2025-12-23T16:41:07+01:00"));
        b.add(facts("a", "25B78", "2025-12-22T10:00:00+01:00"));
        b.add(facts("a", "25C56", "2026-01-10T10:00:00+01:00"));
        b.add(facts("z", "25B78", "2025-12-01T10:00:00+01:00"));
        let rows = b.rows();
        assert_eq!(b.total(), 4);
        assert_eq!(rows.len(), 3);
        // The signature with most crashes first, its rows by first appearance.
        assert_eq!(
            rows.iter()
                .map(|r| (r.signature_id.as_str(), r.os_build.as_deref(), r.count))
                .collect::<Vec<_>>(),
            [
                ("a", Some("25B78"), 2),
                ("a", Some("25C56"), 1),
                ("z", Some("25B78"), 1)
            ]
        );
        assert_eq!(
            rows[0].first_seen.as_deref(),
            Some("2025-12-22T10:00:00+01:00")
        );
        assert_eq!(
            rows[0].last_seen.as_deref(),
            Some("2025-12-23T16:41:07+01:00")
        );
    }

    #[test]
    fn rows_follow_the_instant_not_the_text_of_the_first_capture() {
        let facts = |build: &str, t: &str| CrashFacts {
            signature_id: "a".into(),
            os_build: Some(build.into()),
            time: DateTime::parse_from_rfc3339(t).ok(),
            ..Default::default()
        };
        let mut b = Breakdown::default();
        // 08:00 UTC, and 00:00 UTC written in Tokyo's offset: the Tokyo one came first, though
        // its text sorts after.
        b.add(facts("25B78", "2026-01-05T08:00:00+00:00"));
        b.add(facts("25C56", "2026-01-05T09:00:00+09:00"));
        let builds: Vec<Option<String>> = b.rows().into_iter().map(|r| r.os_build).collect();
        assert_eq!(builds, [Some("25C56".to_owned()), Some("25B78".to_owned())]);
    }

    /// A campaign whose runs overlap their waits: run 1's report landed during run 2 (late),
    /// and is run 1's crash, with the test run 1's own summary joined it with.
    #[test]
    fn a_late_report_in_a_campaign_record_is_its_own_runs() {
        let crash = |path: &str, kind: &str, of: Option<&str>| {
            let mut attribution = serde_json::json!({"kind": kind});
            if let Some(of) = of {
                attribution["earlier_run"] = serde_json::json!({"start": of});
            }
            serde_json::json!({"status": "crash", "signature_id": "abc", "path": path,
                               "attribution": attribution})
        };
        let campaign = serde_json::json!({
            "schema": "crashdelta.campaign/2",
            "runs": [
                {"window": {"start": "2026-11-30T09:00:00Z"}, "new": [],
                 "run": {"crashes": [{"path": "/r/one.ips", "test": "t::a"}]}},
                {"window": {"start": "2026-11-30T09:00:01Z"},
                 "new": [crash("/r/one.ips", "late", Some("2026-11-30T09:00:00Z")),
                         crash("/r/two.ips", "run", None)],
                 "run": {"crashes": [{"path": "/r/two.ips"}]}}
            ]
        });
        let runs = record_runs(&campaign).unwrap_or_else(|| panic!("a campaign record"));
        let tests: Vec<Vec<Option<String>>> = runs
            .runs
            .iter()
            .map(|r| r.iter().map(|c| c.test.clone()).collect())
            .collect();
        assert_eq!(tests, [vec![Some("t::a".to_owned())], vec![None]]);
    }

    #[test]
    fn a_record_lists_its_crashes_and_anything_else_is_not_a_record() {
        let watch = serde_json::json!({
            "schema": "crashdelta.watch/1",
            "new": [
                {"status": "crash", "signature_id": "abc", "signature": "f!g",
                 "classification": {"rule": "agx-race", "title": "T", "known": true},
                 "os": {"build": "25B78"},
                 "driver": {"name": "AGXMetalG16X", "version": "342.3", "uuid": null},
                 "capture_time": "2025-12-23T16:41:07+01:00"},
                {"status": "error", "signature_id": "ignored"},
                {"status": "crash"}
            ]
        });
        let crashes = record_crashes(&watch).unwrap_or_default();
        // The error is not a crash; a crash without a signature id cannot be grouped.
        assert_eq!(crashes.len(), 1);
        let c = &crashes[0];
        assert_eq!(
            (c.signature_id.as_str(), c.rule.as_str(), c.known),
            ("abc", "agx-race", true)
        );
        assert_eq!(c.os_build.as_deref(), Some("25B78"));
        assert_eq!(
            c.driver.as_ref().and_then(|d| d.version.as_deref()),
            Some("342.3")
        );
        assert!(c.time.is_some());

        let campaign = serde_json::json!({
            "schema": "crashdelta.campaign/1",
            "runs": [{"new": [{"status": "crash", "signature_id": "a"}]},
                     {"new": [{"status": "crash", "signature_id": "b"}]}, {}]
        });
        assert_eq!(record_crashes(&campaign).map(|c| c.len()), Some(2));
        assert!(record_crashes(&serde_json::json!({"schema": "other/1"})).is_none());
        assert!(record_crashes(&serde_json::json!({"new": []})).is_none());
    }

    #[test]
    fn inputs_that_cannot_be_read_are_counted_and_the_rest_still_read() {
        let rules = crate::classify::RuleSet::builtin().unwrap_or_else(|e| panic!("{e}"));
        let analyzer = Analyzer::new(rules, None);
        let race = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/derived/agx-prepareForEnqueue-0x98.ips"
        ))
        .unwrap_or_default();
        let inputs = vec![
            Input::from_bytes("race.ips", Ok(race)),
            Input::from_bytes(
                "gone.ips",
                Err(InputError::TooLarge {
                    path: "gone.ips".into(),
                    size: 1,
                    limit: 0,
                }),
            ),
            Input::from_bytes("notes.txt", Ok(b"hello".to_vec())),
        ];
        let mut heard = Vec::new();
        let (report, unreadable) =
            read(inputs.into_iter(), &analyzer, |e| heard.push(e.to_string()));
        assert_eq!((report.inputs, report.crashes, report.skipped), (3, 1, 2));
        assert_eq!(unreadable, 1);
        assert_eq!(heard.len(), 1);
        assert_eq!(report.rows.len(), 1);
    }
}
