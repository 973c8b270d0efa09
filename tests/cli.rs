//! The real binary: commands, formats, stdin, exit codes.

use assert_cmd::Command;
use predicates::prelude::*;

fn crashdelta() -> Command {
    Command::new(env!("CARGO_BIN_EXE_crashdelta"))
}

fn testdata(rel: &str) -> String {
    format!("{}/testdata/{rel}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn classify_a_folder_reads_every_file_and_exits_0() {
    let out = crashdelta()
        .args(["classify", "--format", "json", &testdata("real")])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "crashdelta.classify/1");
    let reports = doc["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 42);
    assert_eq!(doc["summary"]["inputs"], 42);
    assert_eq!(doc["summary"]["crashes"], 19);
    assert_eq!(doc["summary"]["errors"], 0);
    for r in reports {
        let status = r["status"].as_str().unwrap();
        assert!(["crash", "not-a-crash"].contains(&status), "{r}");
        if status == "crash" {
            for field in [
                "bug_type",
                "incident_id",
                "process",
                "exception",
                "crashed_thread",
                "classification",
                "signature",
                "location",
                "trigger",
            ] {
                assert!(r.get(field).is_some(), "{field} missing in {r}");
            }
        } else {
            assert!(
                r["reason"]
                    .as_str()
                    .unwrap()
                    .starts_with("not a crash report: "),
                "{r}"
            );
        }
    }
}

#[test]
fn json_fields_of_an_agx_crash() {
    let out = crashdelta()
        .args([
            "classify",
            "--format",
            "json",
            &testdata("derived/agx-prepareForEnqueue-0x98.ips"),
        ])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &doc["reports"][0];
    assert_eq!(r["status"], "crash");
    assert_eq!(r["bug_type"], "309");
    assert_eq!(r["incident_id"], "5E0C2B1A-7F3D-4A9B-8C6E-1D2F3A4B5C6D");
    assert_eq!(r["process"]["name"], "Python");
    assert_eq!(r["process"]["pid"], 81920);
    assert_eq!(r["exception"]["type"], "EXC_BAD_ACCESS");
    assert_eq!(r["exception"]["signal"], "SIGSEGV");
    assert_eq!(r["exception"]["address"], "0x98");
    assert_eq!(r["crashed_thread"]["index"], 11);
    let frame0 = &r["crashed_thread"]["frames"][0];
    assert_eq!(frame0["image"], "AGXMetalG16X");
    assert_eq!(frame0["offset"], 1268);
    assert_eq!(frame0["address"], "0x120d97818");
    assert_eq!(frame0["symbolicated_by"], "report");
    assert_eq!(r["classification"]["family"], "agx");
    assert_eq!(r["classification"]["known"], true);
    assert_eq!(r["classification"]["rule"], "agx-prepare-for-enqueue-race");
    assert_eq!(
        r["location"],
        "AGX::ComputeContext::prepareForEnqueue(bool) + 1268"
    );
    assert_eq!(r["trigger"], "gatherViewTensor -> dispatchThreads");
    assert_eq!(r["driver"]["version"], "329.2");
}

#[test]
fn one_unreadable_input_does_not_stop_the_others_and_exits_1() {
    let missing = testdata("no-such-report.ips");
    crashdelta()
        .args([
            "classify",
            &missing,
            &testdata("derived/agx-prepareForEnqueue-0x98.ips"),
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("agx-prepare-for-enqueue-race"))
        .stdout(predicate::str::contains("cannot read"))
        .stdout(predicate::str::contains(
            "1 crash report(s), 0 not a crash, 1 error(s)",
        ));
}

#[test]
fn stdin_is_read_with_a_dash() {
    let bytes = std::fs::read(testdata("real/ips/llvm-lldb__multithread-test.ips")).unwrap();
    crashdelta()
        .args(["classify", "-"])
        .write_stdin(bytes)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("multithread-test [22511]"));
}

#[test]
fn a_half_written_report_is_an_incomplete_error() {
    let bytes = std::fs::read(testdata("derived/agx-prepareForEnqueue-0x98.ips")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Python-2025-12-23-164107.ips");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    crashdelta()
        .args(["show", path.to_str().unwrap()])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("incomplete report"))
        .stdout(predicate::str::contains("still being written"));
}

#[test]
fn a_non_crash_is_an_answer_not_an_error() {
    crashdelta()
        .args(["show", &testdata("real/other/electronsym__spindump.txt")])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("not a crash report: a spindump"));
}

#[test]
fn bad_arguments_exit_125_and_help_exits_0() {
    crashdelta().args(["classify"]).assert().code(125);
    crashdelta().args(["frobnicate"]).assert().code(125);
    crashdelta()
        .args(["classify", "--format", "xml", "x"])
        .assert()
        .code(125);
    crashdelta()
        .args(["--help"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Exit codes"));
    crashdelta().args(["--version"]).assert().code(0);
}

#[test]
fn show_json_is_the_classify_document_for_one_report() {
    let out = crashdelta()
        .args([
            "show",
            "--format",
            "json",
            &testdata("real/crash/mysqlwb__README.md"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &doc["reports"][0];
    assert_eq!(r["process"]["name"], "MySQLWorkbench");
    assert_eq!(r["exception"]["address"], "0xe0");
    assert_eq!(r["container"]["type"], "translated-composite");
}

#[test]
fn show_refuses_a_folder_of_several_reports() {
    crashdelta()
        .args(["show", &testdata("derived")])
        .assert()
        .code(125)
        .stderr(predicate::str::contains("use `classify`"));
}

#[test]
fn table_output_is_stable_for_snapshots() {
    // Relative paths: the column widths depend on the paths' length.
    let out = crashdelta()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["classify", "testdata/derived"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    insta::assert_snapshot!("classify_table_derived", text);
}
