//! Versions in rules and regressions (issue 18, part 5): a rule's version conditions, its
//! `fixed_in`, a crash seen on a version at or after the fix shown as a regression in every
//! rendering, and `--fail-on regression` gating on it with the gate's exit code (86).
//!
//! The report is the derived race report (testdata/README.md): driver `AGXMetalG16X` 329.2,
//! macOS 15.7.3 (24G419). The rules files are written here, each test saying which fix it
//! claims.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{RACE, crashdelta, stderr};
use serde_json::Value;

/// The gate's exit code (docs/exit-codes.md).
const GATE_FAILED: i32 = 86;

/// A rules file replacing the built-in race rule with one that says it was fixed in `fixed_in`
/// (TOML inline-table body, like `driver_version = "329.2"`), with `when` lines added to its
/// conditions.
fn race_rules(dir: &std::path::Path, fixed_in: &str, when: &str) -> std::path::PathBuf {
    let path = dir.join("team.toml");
    std::fs::write(
        &path,
        format!(
            r#"[[rule]]
id = "agx-prepare-for-enqueue-race"
title = "AGX prepareForEnqueue race (MPS)"
family = "agx"
known = true
fixed_in = {{ {fixed_in} }}

[rule.when]
exception = ["EXC_BAD_ACCESS", "SIGSEGV"]
frames = [{{ image_kind = "agx", function = "AGX::ComputeContext::prepareForEnqueue(bool)", at = 0 }}]
{when}
"#
        ),
    )
    .unwrap();
    path
}

/// `classify --format json` of the race report under `rules`, gated by `--fail-on regression`.
fn classify(rules: &std::path::Path) -> (Option<i32>, Value) {
    let out = crashdelta()
        .args([
            "classify",
            "--format",
            "json",
            "--fail-on",
            "regression",
            "--rules",
        ])
        .arg(rules)
        .arg(RACE)
        .output()
        .unwrap();
    let doc =
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
    (out.status.code(), doc)
}

#[test]
fn a_known_crash_on_the_fixed_driver_version_is_a_regression_and_fails_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let rules = race_rules(dir.path(), r#"driver_version = "329.2""#, "");
    let (code, doc) = classify(&rules);
    assert_eq!(code, Some(GATE_FAILED), "{doc}");
    let c = &doc["reports"][0]["classification"];
    assert_eq!(c["rule"], "agx-prepare-for-enqueue-race");
    assert_eq!(c["known"], true);
    assert_eq!(
        c["regression"],
        serde_json::json!({"field": "driver_version", "fixed_in": "329.2", "seen": "329.2"})
    );
    assert_eq!(
        c["fixed_in"],
        serde_json::json!({"driver_version": "329.2", "os_build": null, "os_version": null})
    );
    assert_eq!(doc["gate"]["fail_on"], "regression");
    assert_eq!(doc["gate"]["passed"], false);
    assert_eq!(
        doc["reports"][0]["gate_failure"],
        "a regression (agx-prepare-for-enqueue-race: AGX prepareForEnqueue race (MPS); fixed in \
         driver version 329.2, seen on 329.2)"
    );
    assert_eq!(doc["groups"][0]["regressions"], 1);
}

/// The race on macOS 15.7.3 with driver 329.2 (before the fix) and on macOS 26.5 with driver
/// 342.3.1 (after it): under one rules file, one is the known crash and the other a regression;
/// the gate fails on the second only, and a version condition tells the two apart.
const LATER: &str = "testdata/derived/agx-prepareForEnqueue-0x98-macos26.ips";

#[test]
fn one_rules_file_the_same_crash_before_and_after_its_fix() {
    let dir = tempfile::tempdir().unwrap();
    for (fixed_in, field, seen) in [
        (r#"driver_version = "342.1""#, "driver_version", "342.3.1"),
        (r#"os_build = "25A354""#, "os_build", "25F71"),
        (r#"os_version = "26.1""#, "os_version", "26.5"),
    ] {
        let rules = race_rules(dir.path(), fixed_in, "");
        let out = crashdelta()
            .args([
                "classify",
                "--format",
                "json",
                "--fail-on",
                "regression",
                "--rules",
            ])
            .arg(&rules)
            .args([RACE, LATER])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(GATE_FAILED), "{}", stderr(&out));
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let (before, after) = (&doc["reports"][0], &doc["reports"][1]);
        assert_eq!(
            before["classification"]["regression"],
            Value::Null,
            "{fixed_in}"
        );
        assert_eq!(before["gate_failure"], Value::Null);
        assert_eq!(after["classification"]["regression"]["field"], field);
        assert_eq!(after["classification"]["regression"]["seen"], seen);
        assert_eq!(doc["gate"]["failures"], 1);
        // One signature, one of its two reports a regression.
        assert_eq!(doc["groups"][0]["count"], 2);
        assert_eq!(doc["groups"][0]["regressions"], 1);
    }
    // A rule for the later release only.
    let rules = race_rules(
        dir.path(),
        r#"driver_version = "400""#,
        r#"os_version = { min = "26" }"#,
    );
    let out = crashdelta()
        .args(["classify", "--format", "json", "--rules"])
        .arg(&rules)
        .args([RACE, LATER])
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    // The team's rule replaced the built-in race rule (same id): the 15.7.3 report falls to the
    // next rule whose conditions it meets.
    assert_eq!(
        doc["reports"][0]["classification"]["rule"], "agx-prepare-for-enqueue-other-caller",
        "not the team's rule for the 15.7.3 report"
    );
    assert_eq!(
        doc["reports"][1]["classification"]["title"], "AGX prepareForEnqueue race (MPS)",
        "the team's rule for the 26.5 report"
    );
}

/// The same crash as the "Translated Report" text Console shows: the OS build from its `OS
/// Version:` line, the driver version from its `Binary Images` line.
#[test]
fn a_text_report_has_its_versions_too() {
    let dir = tempfile::tempdir().unwrap();
    for (fixed_in, field, seen) in [
        (r#"driver_version = "329""#, "driver_version", "329.2"),
        (r#"os_build = "24G400""#, "os_build", "24G419"),
        (r#"os_version = "15.7.3""#, "os_version", "15.7.3"),
    ] {
        let rules = race_rules(dir.path(), fixed_in, "");
        let out = crashdelta()
            .args([
                "classify",
                "--format",
                "json",
                "--fail-on",
                "regression",
                "--rules",
            ])
            .arg(&rules)
            .arg("testdata/derived/agx-prepareForEnqueue-faulthandler-translated.txt")
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(GATE_FAILED), "{}", stderr(&out));
        let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
        let c = &doc["reports"][0]["classification"];
        assert_eq!(c["rule"], "agx-prepare-for-enqueue-race", "{c}");
        assert_eq!(c["regression"]["field"], field, "{c}");
        assert_eq!(c["regression"]["seen"], seen, "{c}");
    }
}

#[test]
fn a_crash_before_its_fix_is_not_a_regression_and_passes_the_gate() {
    let dir = tempfile::tempdir().unwrap();
    let rules = race_rules(dir.path(), r#"driver_version = "342.1""#, "");
    let (code, doc) = classify(&rules);
    assert_eq!(code, Some(0), "{doc}");
    let c = &doc["reports"][0]["classification"];
    assert_eq!(c["rule"], "agx-prepare-for-enqueue-race");
    assert_eq!(c["regression"], Value::Null);
    assert_eq!(c["fixed_in"]["driver_version"], "342.1");
    assert_eq!(doc["gate"]["passed"], true);
    assert_eq!(
        doc["gate"]["reason"],
        "passed: no crash of the kind --fail-on regression fails on"
    );
    assert_eq!(doc["groups"][0]["regressions"], 0);
}

#[test]
fn the_os_build_and_the_os_version_decide_too() {
    let dir = tempfile::tempdir().unwrap();
    // 24G419 is after 24G84: the build number compares as a number.
    let rules = race_rules(dir.path(), r#"os_build = "24G84""#, "");
    let (code, doc) = classify(&rules);
    assert_eq!(code, Some(GATE_FAILED));
    assert_eq!(
        doc["reports"][0]["classification"]["regression"],
        serde_json::json!({"field": "os_build", "fixed_in": "24G84", "seen": "24G419"})
    );
    let rules = race_rules(dir.path(), r#"os_version = "15.7""#, "");
    let (_, doc) = classify(&rules);
    assert_eq!(
        doc["reports"][0]["classification"]["regression"],
        serde_json::json!({"field": "os_version", "fixed_in": "15.7", "seen": "15.7.3"})
    );
    // Fixed in a later OS: not a regression.
    let rules = race_rules(
        dir.path(),
        r#"os_build = "25A354", os_version = "26.1""#,
        "",
    );
    let (code, doc) = classify(&rules);
    assert_eq!(code, Some(0));
    assert_eq!(
        doc["reports"][0]["classification"]["regression"],
        Value::Null
    );
}

#[test]
fn a_version_condition_decides_whether_the_rule_matches() {
    let dir = tempfile::tempdir().unwrap();
    // In range: the team's rule.
    let rules = race_rules(
        dir.path(),
        r#"driver_version = "342.1""#,
        r#"driver_version = { min = "329.2", below = "342" }"#,
    );
    let (_, doc) = classify(&rules);
    let c = &doc["reports"][0]["classification"];
    assert_eq!(c["title"], "AGX prepareForEnqueue race (MPS)");
    assert!(
        c["why"]
            .as_array()
            .unwrap()
            .contains(&Value::from("driver version 329.2 (>= 329.2, < 342)")),
        "{c}"
    );
    // Out of range: the team's rule fails, and the crash falls to the next rule.
    let rules = race_rules(
        dir.path(),
        r#"driver_version = "342.1""#,
        r#"os_build = { below = "24G419" }"#,
    );
    let (_, doc) = classify(&rules);
    let c = &doc["reports"][0]["classification"];
    assert_eq!(c["rule"], "agx-prepare-for-enqueue-other-caller", "{c}");
    assert_eq!(c["fixed_in"], Value::Null);
}

#[test]
fn every_rendering_says_regression() {
    let dir = tempfile::tempdir().unwrap();
    let rules = race_rules(dir.path(), r#"driver_version = "329""#, "");
    let render = |args: &[&str]| {
        let out = crashdelta()
            .args(args)
            .arg("--rules")
            .arg(&rules)
            .arg(RACE)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    };
    let line = "fixed in driver version 329, seen on 329.2";
    let show = render(&["show", "--color", "never"]);
    assert!(show.contains(&format!("Regressed:     {line}")), "{show}");
    assert!(
        show.contains("AGX prepareForEnqueue race (MPS)), known, regression"),
        "{show}"
    );
    let table = render(&["classify", "--color", "never"]);
    assert!(
        table.contains("agx-prepare-for-enqueue-race (agx, known, regression)"),
        "{table}"
    );
    assert!(table.contains("yes, 1 regression"), "{table}");
    let markdown = render(&["classify", "--format", "markdown"]);
    assert!(
        markdown.contains(&format!("Regressed: {line}")),
        "{markdown}"
    );
    assert!(markdown.contains("| yes, regression |"), "{markdown}");
    assert!(markdown.contains("(agx, known, regression)"), "{markdown}");
    let junit = render(&["classify", "--format", "junit", "--fail-on", "regression"]);
    assert!(junit.contains(&format!("Regressed: {line}")), "{junit}");
    assert!(junit.contains("<failure message=\"a regression"), "{junit}");

    // Before the fix, the renderings name the fix and say the report has not reached it.
    let rules = race_rules(dir.path(), r#"driver_version = "342.1""#, "");
    let out = crashdelta()
        .args(["show", "--color", "never", "--rules"])
        .arg(&rules)
        .arg(RACE)
        .output()
        .unwrap();
    let show = String::from_utf8(out.stdout).unwrap();
    assert!(
        show.contains(
            "Fixed in:      driver version 342.1; not a regression: driver version 329.2 is \
             before 342.1"
        ),
        "{show}"
    );
    assert!(
        !show.contains("Regressed") && !show.contains("known, regression"),
        "{show}"
    );
}

#[test]
fn rules_list_and_explain_show_versions_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    let rules = race_rules(
        dir.path(),
        r#"driver_version = "329.2""#,
        r#"driver_version = { min = "300" }"#,
    );
    let out = crashdelta()
        .args(["rules", "explain", "--color", "never", "--rules"])
        .arg(&rules)
        .arg(RACE)
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("    held   driver version >= 300: driver version 329.2 (>= 300)"),
        "{text}"
    );
    assert!(
        text.contains(
            "    fixed in driver version 329.2: a regression: driver version 329.2 is at or after 329.2"
        ),
        "{text}"
    );
    // A report without a driver: the version condition fails, and says why.
    let out = crashdelta()
        .args(["rules", "explain", "--format", "json", "--rules"])
        .arg(&rules)
        .arg("testdata/real/ips/llvm-lldb__a.out.ips")
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    let rule = &doc["rules"][0];
    assert_eq!(rule["verdict"], "no-match");
    let version = rule["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["condition"] == "driver version >= 300")
        .unwrap();
    assert_eq!(version["held"], false);
    assert_eq!(
        version["seen"],
        "the report has no driver version, and a version condition needs one"
    );
    assert_eq!(
        rule["fix"],
        "not a regression: the report has no driver version"
    );
    assert_eq!(rule["fixed_in"]["driver_version"], "329.2");

    let out = crashdelta()
        .args(["rules", "--format", "json", "--rules"])
        .arg(&rules)
        .output()
        .unwrap();
    let doc: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["rules"][0]["fixed_in"]["driver_version"], "329.2");
    assert!(
        doc["rules"][0]["conditions"]
            .as_array()
            .unwrap()
            .contains(&Value::from("driver version >= 300"))
    );
}

#[test]
fn a_bad_version_in_a_rules_file_names_the_file_the_rule_and_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let rules = race_rules(dir.path(), r#"driver_version = "329,2""#, "");
    let out = crashdelta()
        .args(["rules", "check"])
        .arg(&rules)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    let err = stderr(&out);
    assert!(
        err.contains(
            "team.toml: rule 1 (agx-prepare-for-enqueue-race), field fixed_in.driver_version: \
             \"329,2\" is not a valid driver version"
        ),
        "{err}"
    );
}

/// `watch` gates a regression of the run with the gate's code, and passes the command's own
/// exit code through when the crash is before its fix.
#[test]
fn watch_fails_on_a_regression_and_passes_a_crash_before_its_fix() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("DiagnosticReports");
    std::fs::create_dir(&reports).unwrap();
    let watch = |fixed_in: &str, name: &str| {
        let rules = race_rules(dir.path(), fixed_in, "");
        crashdelta()
            .env("RACE", common::root().join(RACE))
            .args(["watch", "--reports-dir"])
            .arg(&reports)
            .args(["--settle", "0.5s", "--settle-max", "5s"])
            // The copied report's process and time are another run's: gate every new crash.
            .args(["--attribute", "any", "--fail-on", "regression", "--rules"])
            .arg(&rules)
            .args(["--", "sh", "-c"])
            .arg(format!(
                "sed 's/5E0C2B1A-7F3D/5E0C2B1A-{name}/' \"$RACE\" > \"{}/{name}.ips\"; exit 3",
                reports.display()
            ))
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap()
    };
    let out = watch(r#"driver_version = "329.2""#, "AAAA");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(GATE_FAILED), "{err}");
    let text = String::from_utf8_lossy(&out.stdout);
    let all = format!("{text}{err}");
    assert!(
        all.contains("Regressed: fixed in driver version 329.2, seen on 329.2"),
        "{all}"
    );
    assert!(
        all.contains("Gate (--fail-on regression): failed:"),
        "{all}"
    );
    let out = watch(r#"driver_version = "342.1""#, "BBBB");
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
}
