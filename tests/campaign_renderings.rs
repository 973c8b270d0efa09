//! The campaign and stats renderings (human, Markdown, JUnit, HTML, JSON) as insta snapshots, from
//! a fixed campaign: what a reader sees is reviewed like code.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use chrono::{DateTime, Utc};
use crashdelta::campaign::breakdown::{BreakdownRow, StatsReport};
use crashdelta::campaign::{
    CampaignReport, CampaignSummary, ConfigInfo, RunCrash, RunSummary, TestTally, compare,
    config_stats,
};
use crashdelta::classify::Driver;
use crashdelta::render::campaign::{
    html_page, human, junit, markdown, stats_html, stats_human, stats_markdown, write_json,
};
use crashdelta::report::Process;

fn run(index: usize, config: usize, crashed: bool, exit: i32) -> RunSummary {
    RunSummary {
        index,
        config,
        exit: Some(exit),
        signal: None,
        start: DateTime::<Utc>::from_timestamp(1_766_500_000 + 60 * index as i64, 0).unwrap(),
        duration_ms: 41_000 + 100 * index as u64,
        crashes: if crashed {
            vec![RunCrash {
                rule: "agx-prepare-for-enqueue-race".into(),
                title: "AGX prepareForEnqueue null dereference (MPS encoding race)".into(),
                known: true,
                signature_id: "25ad5093bba0f34e".into(),
                signature: "AGXMetal!AGX::ComputeContext::prepareForEnqueue(bool) | ...".into(),
                location: Some("AGX::ComputeContext::prepareForEnqueue(bool) + 1268".into()),
                process: Process {
                    name: Some("Python".into()),
                    pid: Some(81_000 + index as u64),
                    ..Process::default()
                },
                path: format!("/Users/ci/Library/Logs/DiagnosticReports/Python-{index}.ips"),
                regression: None,
                // Run 9's crash was not joined with a test (the runner printed nothing of it).
                test: (index != 9).then(|| {
                    if index == 5 {
                        "tests/test_mps.py::TestMPS::test_take[float|half]".into()
                    } else {
                        "tests/test_mps.py::TestMPS::test_gather".into()
                    }
                }),
            }]
        } else {
            Vec::new()
        },
        concurrent: usize::from(index == 3),
        unreadable: 0,
        injected: Vec::new(),
    }
}

fn comparison() -> CampaignReport {
    // A crashes on runs 1, 3, 5, 9; B never; B's run 8 fails its tests.
    let runs: Vec<RunSummary> = (1..=10)
        .map(|i| {
            let config = (i + 1) % 2;
            run(
                i,
                config,
                config == 0 && [1, 3, 5, 9].contains(&i),
                if i == 8 { 1 } else { 0 },
            )
        })
        .collect();
    let cmp = compare(
        config_stats("without fix", 0, &runs),
        config_stats("with fix", 1, &runs),
    );
    CampaignReport {
        command: vec![
            "python".into(),
            "-m".into(),
            "pytest".into(),
            "tests/mps".into(),
        ],
        configs: vec![
            ConfigInfo {
                name: "without fix".into(),
                env: vec![],
            },
            ConfigInfo {
                name: "with fix".into(),
                env: vec!["PYTORCH_MPS_FIX=1".into()],
            },
        ],
        records: runs
            .iter()
            .map(|_| serde_json::json!({"schema": "crashdelta.watch/1"}))
            .collect(),
        runs,
        summary: CampaignSummary::Compare(Box::new(cmp)),
        stopped: None,
    }
}

fn repeat_none() -> CampaignReport {
    let runs: Vec<RunSummary> = (1..=8).map(|i| run(i, 0, false, 0)).collect();
    CampaignReport {
        command: vec!["./complete_story.sh".into()],
        configs: vec![ConfigInfo {
            name: "complete_story".into(),
            env: vec![],
        }],
        records: runs
            .iter()
            .map(|_| serde_json::json!({"schema": "crashdelta.watch/1"}))
            .collect(),
        summary: CampaignSummary::Repeat(Box::new(config_stats("complete_story", 0, &runs))),
        runs,
        stopped: None,
    }
}

#[test]
fn comparison_human() {
    let style = crashdelta::render::Style {
        width: Some(120),
        ..Default::default()
    };
    insta::assert_snapshot!(human(&comparison(), &style));
}

#[test]
fn comparison_markdown() {
    insta::assert_snapshot!(markdown(&comparison()));
}

#[test]
fn comparison_junit() {
    insta::assert_snapshot!(junit(&comparison()));
}

#[test]
fn comparison_html() {
    insta::assert_snapshot!(html_page(&comparison(), "2026-11-26 12:00:00 +0000"));
}

#[test]
fn comparison_json() {
    let mut out = Vec::new();
    write_json(&mut out, &comparison()).unwrap();
    insta::assert_snapshot!(String::from_utf8(out).unwrap());
}

#[test]
fn repeat_without_a_crash_markdown() {
    insta::assert_snapshot!(markdown(&repeat_none()));
}

fn breakdown() -> StatsReport {
    let row = |build: &str, n: u64, first: &str| BreakdownRow {
        signature_id: "25ad5093bba0f34e".into(),
        signature: "AGXMetal!AGX::ComputeContext::prepareForEnqueue(bool) | ...".into(),
        location: Some("AGX::ComputeContext::prepareForEnqueue(bool) + 1268".into()),
        rule: "agx-prepare-for-enqueue-race".into(),
        title: "AGX prepareForEnqueue null dereference".into(),
        known: true,
        os_build: Some(build.into()),
        driver: Some(Driver {
            name: "AGXMetalG16X".into(),
            version: Some("342.3".into()),
            uuid: None,
        }),
        hardware_model: Some("Mac16,5".into()),
        count: n,
        first_seen: Some(first.into()),
        last_seen: Some(first.into()),
    };
    let mut tests = TestTally::default();
    for run in 1..=5 {
        let title = "AGX prepareForEnqueue null dereference";
        tests.add(
            run,
            "tests/test_mps.py::test_gather",
            "agx-prepare-for-enqueue-race",
            title,
        );
    }
    tests.add(6, "tests/test_mps.py::test_take", "unmatched", "SIGSEGV");
    StatsReport {
        inputs: 9,
        crashes: 7,
        skipped: 2,
        runs: 12,
        by_test: tests.counts(12),
        rows: vec![
            row("24G419", 2, "2025-12-20T10:00:00-08:00"),
            row("25B78", 5, "2026-01-05T10:00:00-08:00"),
        ],
    }
}

#[test]
fn stats_renderings() {
    insta::assert_snapshot!("stats_table", stats_human(&breakdown(), Some(140)));
    // A terminal too narrow for nine columns: one block per row, every cell whole (a wrapped
    // table would show "cras / hes" and "agx- / prep / are-").
    let narrow = stats_human(&breakdown(), Some(60));
    assert!(
        narrow.contains("\nrule       agx-prepare-for-enqueue-race\n"),
        "{narrow}"
    );
    insta::assert_snapshot!("stats_table_60", narrow);
    // Not a terminal (a file, a pipe, a CI log): never wrapped, so `grep` finds a rule id whole.
    let piped = stats_human(&breakdown(), None);
    assert!(
        piped
            .lines()
            .any(|l| l.contains("agx-prepare-for-enqueue-race") && l.contains("25B78")),
        "{piped}"
    );
    insta::assert_snapshot!("stats_markdown", stats_markdown(&breakdown()));
    insta::assert_snapshot!(
        "stats_html",
        stats_html(&breakdown(), "2026-11-26 12:00:00 +0000")
    );
}

/// A campaign whose rule says the race was fixed in the driver the runs crashed on: the
/// signature's row says how many of its reports are regressions, in every rendering, and each
/// run's crash carries its regression in the JSON.
#[test]
fn a_regression_is_counted_in_every_campaign_rendering() {
    let mut runs: Vec<RunSummary> = (1..=4).map(|i| run(i, 0, i != 4, 0)).collect();
    runs[0].crashes[0].regression = Some(crashdelta::classify::Regression {
        field: crashdelta::classify::VersionField::DriverVersion,
        fixed_in: "329.2".into(),
        seen: "329.2".into(),
    });
    let campaign = CampaignReport {
        command: vec!["./run_tests.sh".into()],
        configs: vec![ConfigInfo {
            name: "mps".into(),
            env: vec![],
        }],
        records: runs
            .iter()
            .map(|_| serde_json::json!({"schema": "crashdelta.watch/1"}))
            .collect(),
        summary: CampaignSummary::Repeat(Box::new(config_stats("mps", 0, &runs))),
        runs,
        stopped: None,
    };
    let style = crashdelta::render::Style {
        width: Some(120),
        ..Default::default()
    };
    let text = human(&campaign, &style);
    assert!(
        text.contains(", known, 1 regression(s); signature"),
        "{text}"
    );
    let md = markdown(&campaign);
    assert!(md.contains("| yes, 1 regression | 3 | 3 |"), "{md}");
    let html = html_page(&campaign, "2026-11-30 12:00:00 +0000");
    assert!(html.contains("<td>yes, 1 regression</td>"), "{html}");
    let mut out = Vec::new();
    write_json(&mut out, &campaign).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(
        doc["runs"][0]["run"]["crashes"][0]["regression"]["field"], "driver_version",
        "{doc}"
    );
    assert_eq!(doc["summary"]["by_signature"][0]["regressions"], 1, "{doc}");
}
