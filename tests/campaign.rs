//! Campaigns end to end on Linux: `watch --repeat`, `--until-crash`, `compare` and `stats`, with a
//! fake test that crashes with a set probability (seeded) through a fake ReportCrash that writes
//! the AGX race report for the test's pid after it exits, renamed into place as macOS does.
//!
//! The fake test logs each decision ("run N crashed or not"), so the assertions compare
//! crashdelta's counts with what really happened rather than with a number baked into the test.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{RACE, root, stderr};

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use crashdelta::campaign::statistics as stats;

/// demo/flaky_stress_test.sh: crashes with probability $CRASH_P (never with $STRESS_FIX), seeded.
const FAKE_TEST: &str = "demo/flaky_stress_test.sh";

struct Lab {
    _dir: tempfile::TempDir,
    reports: PathBuf,
    state: PathBuf,
}

fn lab() -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("DiagnosticReports");
    let state = dir.path().join("state");
    std::fs::create_dir(&reports).unwrap();
    std::fs::create_dir(&state).unwrap();
    Lab {
        _dir: dir,
        reports,
        state,
    }
}

/// (run number, crashed, configuration) as the fake test logged them.
fn decisions(lab: &Lab) -> Vec<(u64, bool, String)> {
    std::fs::read_to_string(lab.state.join("log"))
        .unwrap_or_default()
        .lines()
        .map(|l| {
            let mut f = l.split_whitespace();
            (
                f.next().unwrap().parse().unwrap(),
                f.next() == Some("1"),
                f.next().unwrap_or("").to_owned(),
            )
        })
        .collect()
}

fn crashdelta(lab: &Lab, seed: u32, p: f64, args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crashdelta"));
    cmd.current_dir(root())
        .env("REPORTS", &lab.reports)
        .env("STATE", &lab.state)
        .env("RACE", root().join(RACE))
        .env("SEED", seed.to_string())
        .env("CRASH_P", p.to_string())
        .env_remove("STRESS_FIX")
        .args(args)
        .args(["--", "sh", FAKE_TEST]);
    cmd.timeout(Duration::from_secs(120)).output().unwrap()
}

/// The `--output` file of a run: standard output carries the command's own output.
fn out_path(lab: &Lab) -> String {
    lab.state.join("out").to_str().unwrap().to_owned()
}

fn json(lab: &Lab, o: &Output) -> serde_json::Value {
    let text = std::fs::read_to_string(out_path(lab)).unwrap_or_default();
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {}", stderr(o)))
}

const FAST: [&str; 4] = ["--settle", "0.5s", "--settle-max", "5s"];

#[test]
fn repeat_counts_the_runs_that_crashed_and_gives_the_interval() {
    let lab = lab();
    let reports = lab.reports.to_str().unwrap();
    let out = out_path(&lab);
    let out = crashdelta(
        &lab,
        11,
        0.5,
        &[
            &[
                "watch",
                "--repeat",
                "6",
                "--reports-dir",
                reports,
                "--format",
                "json",
                "--output",
                &out,
            ],
            &FAST[..],
        ]
        .concat(),
    );
    let err = stderr(&out);
    let log = decisions(&lab);
    assert_eq!(log.len(), 6, "{err}");
    let crashed = log.iter().filter(|d| d.1).count() as u64;
    let doc = json(&lab, &out);
    assert_eq!(doc["schema"], "crashdelta.campaign/2");
    let s = &doc["summary"];
    assert_eq!(s["runs"], 6);
    assert_eq!(s["crashed_runs"], crashed, "{err}");
    let (lo, hi) = stats::wilson(crashed, 6).unwrap();
    assert!((s["interval"][0].as_f64().unwrap() - lo).abs() < 1e-12);
    assert!((s["interval"][1].as_f64().unwrap() - hi).abs() < 1e-12);
    assert!((s["rate"].as_f64().unwrap() - crashed as f64 / 6.0).abs() < 1e-12);
    // One watch record per run, each with its own window and the run's crashes only.
    let runs = doc["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 6);
    for (run, (n, crashed, _)) in runs.iter().zip(&log) {
        assert_eq!(run["schema"], "crashdelta.watch/1");
        assert_eq!(run["run"]["index"], *n);
        assert_eq!(run["run"]["crashed"], *crashed, "run {n}: {err}");
        let from_run = run["new"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["attribution"]["kind"] == "run")
            .count();
        assert_eq!(from_run, usize::from(*crashed), "run {n}: {err}");
        if *crashed {
            assert_eq!(
                run["run"]["crashes"][0]["rule"],
                "agx-prepare-for-enqueue-race"
            );
        }
    }
    // The default gate (--fail-on any) fails when any run crashed.
    let expected = if crashed > 0 { 86 } else { 0 };
    assert_eq!(out.status.code(), Some(expected), "{err}");
    assert!(err.contains(&format!("{crashed}/6 runs crashed")), "{err}");
}

#[test]
fn no_crash_gives_the_upper_bound_in_words() {
    let lab = lab();
    let reports = lab.reports.to_str().unwrap();
    let out = out_path(&lab);
    let out = crashdelta(
        &lab,
        3,
        0.0,
        &[
            &[
                "watch",
                "--repeat",
                "8",
                "--reports-dir",
                reports,
                "--format",
                "markdown",
                "--output",
                &out,
            ],
            &FAST[..],
        ]
        .concat(),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let md = std::fs::read_to_string(out_path(&lab)).unwrap();
    assert!(
        md.contains(
            "0/8 runs crashed: the crash rate may still be as high as 31% (95% upper bound)"
        ),
        "{md}"
    );
    assert!(
        md.contains("| 8 | 0 | 0% | 0%–31% (95% upper bound) | 0 | 8/8 |"),
        "{md}"
    );
}

#[test]
fn until_crash_stops_at_the_first_crash() {
    let lab = lab();
    let reports = lab.reports.to_str().unwrap();
    let out = out_path(&lab);
    let out = crashdelta(
        &lab,
        5,
        1.0,
        &[
            &[
                "watch",
                "--repeat",
                "5",
                "--until-crash",
                "--reports-dir",
                reports,
                "--format",
                "json",
                "--output",
                &out,
            ],
            &FAST[..],
        ]
        .concat(),
    );
    let err = stderr(&out);
    assert_eq!(decisions(&lab).len(), 1, "{err}");
    let doc = json(&lab, &out);
    assert_eq!(doc["summary"]["runs"], 1);
    assert_eq!(doc["summary"]["crashed_runs"], 1);
    assert_eq!(doc["stopped"], "run 1 crashed (--until-crash)");
    assert_eq!(out.status.code(), Some(86), "{err}");
}

/// The runs of a campaign do not wait for their late reports one by one: every run crashes here,
/// and each report lands 1 s after its run's command exited, when the next runs (which take no
/// time) have started, or ended. Each report is still its own run's crash (by its process tree),
/// counted there once; the run record that saw it land keeps it as a late report of that run.
/// `--sequential` gives each run its report in its own wait.
#[test]
fn late_reports_are_their_own_runs_crashes_when_the_waits_overlap() {
    for sequential in [false, true] {
        let lab = lab();
        let reports = lab.reports.to_str().unwrap();
        let out = out_path(&lab);
        let mut args = vec![
            "watch",
            "--repeat",
            "3",
            "--reports-dir",
            reports,
            "--format",
            "json",
            "--output",
            &out,
            "--settle",
            "2s",
            "--no-capture",
        ];
        if sequential {
            args.push("--sequential");
        }
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_crashdelta"));
        cmd.current_dir(root())
            .env("REPORTS", &lab.reports)
            .env("STATE", &lab.state)
            .env("RACE", root().join(RACE))
            .env("CRASH_P", "1")
            .env("REPORT_DELAY", "1")
            .args(&args)
            .args(["--", "sh", FAKE_TEST]);
        let o = cmd.timeout(Duration::from_secs(120)).output().unwrap();
        let err = stderr(&o);
        assert_eq!(o.status.code(), Some(86), "{err}");
        let doc = json(&lab, &o);
        assert_eq!(doc["summary"]["crashed_runs"], 3, "{err}");
        assert_eq!(doc["summary"]["new_crash_logs"], 3, "{err}");
        let runs = doc["runs"].as_array().unwrap();
        for run in runs {
            assert_eq!(run["run"]["crashes"].as_array().unwrap().len(), 1, "{err}");
        }
        let kinds = |i: usize| -> Vec<String> {
            runs[i]["new"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["attribution"]["kind"].as_str().unwrap().to_owned())
                .collect()
        };
        if sequential {
            for i in 0..3 {
                assert_eq!(kinds(i), ["run"], "{err}");
            }
        } else {
            // Runs 1 and 2 ended at once; all three reports landed during run 3's wait.
            assert!(kinds(0).is_empty() && kinds(1).is_empty(), "{err}");
            let mut last = kinds(2);
            last.sort();
            assert_eq!(last, ["late", "late", "run"], "{err}");
            assert_eq!(
                runs[2]["run"]["crashes"][0]["rule"],
                "agx-prepare-for-enqueue-race"
            );
        }
    }
}

#[test]
fn compare_alternates_and_tests_the_difference() {
    let lab = lab();
    let reports = lab.reports.to_str().unwrap();
    let html_path = lab.state.join("compare.html");
    let out = out_path(&lab);
    let out = crashdelta(
        &lab,
        42,
        0.9,
        &[
            &[
                "compare",
                "--runs",
                "5",
                "--b-env",
                "STRESS_FIX=1",
                "--a-name",
                "without fix",
                "--b-name",
                "with fix",
                "--reports-dir",
                reports,
                "--format",
                "json",
                "--output",
                &out,
            ],
            &FAST[..],
        ]
        .concat(),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let log = decisions(&lab);
    // A B A B ...: the fix variable is set on every second run.
    let configs: Vec<&str> = log.iter().map(|d| d.2.as_str()).collect();
    assert_eq!(
        configs,
        [
            "none", "1", "none", "1", "none", "1", "none", "1", "none", "1"
        ]
    );
    let a_crashed = log.iter().filter(|d| d.1 && d.2 == "none").count() as u64;
    assert!(log.iter().all(|d| !(d.1 && d.2 == "1")), "B never crashes");
    let doc = json(&lab, &out);
    let s = &doc["summary"];
    assert_eq!(s["a"]["name"], "without fix");
    assert_eq!(s["a"]["crashed_runs"], a_crashed, "{err}");
    assert_eq!(s["b"]["crashed_runs"], 0);
    assert_eq!(s["b"]["runs"], 5);
    let p = stats::fisher_exact(a_crashed, 5, 0, 5).unwrap();
    assert!((s["p_value"].as_f64().unwrap() - p).abs() < 1e-12);
    assert_eq!(s["significant"], p < 0.05);
    let verdict = s["verdict"].as_str().unwrap();
    if p < 0.05 {
        assert!(
            verdict.starts_with("without fix crashes more often than with fix"),
            "{verdict}"
        );
    } else {
        assert!(
            verdict.starts_with("No evidence of a difference"),
            "{verdict}"
        );
    }
    assert!(
        err.contains(verdict),
        "the verdict is in the summary: {err}"
    );
    assert_eq!(doc["configs"][1]["env"][0], "STRESS_FIX=1");

    // The same runs as one HTML page: self-contained, with both charts.
    let out = crashdelta(
        &lab,
        42,
        0.9,
        &[
            &[
                "compare",
                "--runs",
                "2",
                "--b-env",
                "STRESS_FIX=1",
                "--reports-dir",
                reports,
                "--format",
                "html",
                "--output",
                html_path.to_str().unwrap(),
            ],
            &FAST[..],
        ]
        .concat(),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let page = std::fs::read_to_string(&html_path).unwrap();
    assert!(page.contains("aria-label=\"crash rates\""));
    assert!(page.contains("aria-label=\"timeline of runs\""));
    assert!(page.contains("STRESS_FIX=1"));
    assert!(!page.contains("<script"));
}

#[test]
fn compare_needs_a_difference() {
    let lab = lab();
    let out = crashdelta(
        &lab,
        1,
        0.5,
        &[
            "compare",
            "--runs",
            "2",
            "--reports-dir",
            lab.reports.to_str().unwrap(),
        ],
    );
    assert_eq!(
        out.status.code(),
        Some(125),
        "a usage error of crashdelta's own"
    );
    assert!(
        stderr(&out).contains("A and B are the same"),
        "{}",
        stderr(&out)
    );
    assert!(decisions(&lab).is_empty(), "nothing ran");
}

#[test]
fn stats_groups_reports_and_run_records_by_os_build() {
    let dir = tempfile::tempdir().unwrap();
    // Two builds of the race, and the same crash listed in a run record.
    let race = std::fs::read_to_string(root().join(RACE)).unwrap();
    std::fs::write(dir.path().join("a.ips"), &race).unwrap();
    std::fs::write(
        dir.path().join("b.ips"),
        race.replace("24G419", "25B78").replace(
            "5E0C2B1A-7F3D-4A9B-8C6E-1D2F3A4B5C6D",
            "5E0C2B1A-7F3D-4A9B-8C6E-000000000002",
        ),
    )
    .unwrap();
    let record = Command::new(env!("CARGO_BIN_EXE_crashdelta"))
        .args(["classify", "--format", "json"])
        .arg(dir.path().join("a.ips"))
        .output()
        .unwrap();
    std::fs::write(dir.path().join("record.json"), &record.stdout).unwrap();
    std::fs::write(dir.path().join("notes.txt"), "not a report").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_crashdelta"))
        .args(["stats", "--format", "json"])
        .arg(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "crashdelta.stats/2");
    assert_eq!(
        (
            doc["inputs"].as_u64(),
            doc["crashes"].as_u64(),
            doc["skipped"].as_u64()
        ),
        (Some(4), Some(3), Some(1))
    );
    let rows = doc["rows"].as_array().unwrap();
    let by_build: Vec<(&str, u64)> = rows
        .iter()
        .map(|r| {
            (
                r["os_build"].as_str().unwrap(),
                r["count"].as_u64().unwrap(),
            )
        })
        .collect();
    assert!(by_build.contains(&("24G419", 2)), "{by_build:?}");
    assert!(by_build.contains(&("25B78", 1)), "{by_build:?}");
    assert!(
        rows.iter()
            .all(|r| r["rule"] == "agx-prepare-for-enqueue-race")
    );
    let html = Command::new(env!("CARGO_BIN_EXE_crashdelta"))
        .args(["stats", "--format", "html"])
        .arg(dir.path())
        .output()
        .unwrap();
    let page = String::from_utf8(html.stdout).unwrap();
    assert!(page.contains("aria-label=\"crash counts\"") && page.contains("25B78"));

    // A missing input is reported and exits 1, after the others were read.
    let out = Command::new(env!("CARGO_BIN_EXE_crashdelta"))
        .args(["stats", "--format", "json"])
        .arg(dir.path())
        .arg(dir.path().join("missing.ips"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["crashes"], 3);
    assert!(String::from_utf8_lossy(&out.stderr).contains("missing.ips"));
}

#[test]
fn an_interrupted_campaign_stops_and_reports_the_runs_so_far() {
    let lab = lab();
    let out = out_path(&lab);
    let (result, took) = common::interrupted_after(
        std::process::Command::new(env!("CARGO_BIN_EXE_crashdelta")).args([
            "watch",
            "--repeat",
            "5",
            "--reports-dir",
            lab.reports.to_str().unwrap(),
            "--settle",
            "0.2s",
            "--format",
            "json",
            "--output",
            &out,
            "--",
            "sleep",
            "30",
        ]),
        Duration::from_millis(800),
    );
    assert!(took < Duration::from_secs(10), "not interrupted");
    assert_eq!(result.status.code(), Some(130), "{}", stderr(&result));
    let doc = json(&lab, &result);
    assert_eq!(doc["summary"]["runs"], 1, "only the interrupted run");
    assert_eq!(doc["stopped"], "interrupted during run 1");
    assert_eq!(doc["runs"][0]["interrupted"], 2);
}
