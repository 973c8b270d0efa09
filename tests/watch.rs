//! `watch`, `snapshot` and `diff` end to end on Linux: temp report folders, and a fake
//! ReportCrash (a background process of the command, or a thread of the test standing for
//! another app) that writes reports the way macOS does: late, in pieces, renamed into place.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{RACE, root, stderr};

use std::path::PathBuf;
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;

fn race_report(pid: &str) -> String {
    std::fs::read_to_string(root().join(RACE))
        .unwrap()
        .replace("\"pid\": 81920", &format!("\"pid\": {pid}"))
}

struct Folder {
    _dir: tempfile::TempDir,
    reports: PathBuf,
}

fn folder() -> Folder {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("DiagnosticReports");
    std::fs::create_dir(&reports).unwrap();
    // History: an older crash that must not count as new.
    std::fs::copy(
        root().join("testdata/derived/python-abort-agx-loaded.ips"),
        reports.join("Python-2025-12-23-170244.ips"),
    )
    .unwrap();
    Folder { _dir: dir, reports }
}

/// Runs `crashdelta watch` with a short settle, the command a shell script.
fn watch(f: &Folder, extra: &[&str], script: &str) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crashdelta"));
    cmd.current_dir(root())
        .env("REPORTS", &f.reports)
        .env("RACE", root().join(RACE))
        .args([
            "watch",
            "--reports-dir",
            f.reports.to_str().unwrap(),
            "--settle",
            "1s",
            "--settle-max",
            "8s",
        ])
        .args(extra)
        .args(["--", "sh", "-c", script]);
    cmd.timeout(Duration::from_secs(60)).output().unwrap()
}

/// A fake ReportCrash in the command's background: writes the race report for the shell's pid
/// `$1` seconds after the shell exits, by `$2` (`direct`, `pieces`, `images` (in two pieces, the
/// first ending inside `usedImages`, after the threads) or `rename`).
const FAKE_REPORTCRASH: &str = r#"
write_report() {
  crashed=$$
  ( sleep "$1"
    sed "s/\"pid\": 81920/\"pid\": $crashed/" "$RACE" > "$REPORTS/.report.tmp"
    case "$2" in
      direct) cp "$REPORTS/.report.tmp" "$REPORTS/Python-2025-12-23-164107.ips" ;;
      pieces) head -c 4000 "$REPORTS/.report.tmp" > "$REPORTS/Python-2025-12-23-164107.ips"; sleep 1;
              tail -c +4001 "$REPORTS/.report.tmp" >> "$REPORTS/Python-2025-12-23-164107.ips" ;;
      rename) mv "$REPORTS/.report.tmp" "$REPORTS/Python-2025-12-23-164107.ips" ;;
      images) n=$(grep -b -o '"usedImages"' "$REPORTS/.report.tmp" | head -n 1 | cut -d: -f1)
              n=$((n + 200))
              head -c "$n" "$REPORTS/.report.tmp" > "$REPORTS/Python-2025-12-23-164107.ips"; sleep 1;
              tail -c +$((n + 1)) "$REPORTS/.report.tmp" >> "$REPORTS/Python-2025-12-23-164107.ips" ;;
    esac
    rm -f "$REPORTS/.report.tmp" ) &
}
"#;

#[test]
fn a_report_that_lands_after_the_command_exits_is_caught() {
    let f = folder();
    // The report lands 0.7 s after the command has exited, inside the 1 s settle time.
    let out = watch(
        &f,
        &["--format", "json"],
        &format!("{FAKE_REPORTCRASH}\nwrite_report 0.7 direct; sleep 0.3; exit 0"),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(86), "{err}");
    assert!(
        err.contains("Crash logs: 1 before → 2 after (1 new)"),
        "{err}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "crashdelta.watch/1");
    assert_eq!(
        (doc["before"].as_u64(), doc["after"].as_u64()),
        (Some(1), Some(2))
    );
    let new = &doc["new"][0];
    assert_eq!(new["attribution"]["kind"], "run");
    assert_eq!(
        new["classification"]["rule"],
        "agx-prepare-for-enqueue-race"
    );
    assert_eq!(doc["command"]["exit"], 0);
    assert_eq!(doc["gate"]["passed"], false);
    assert!(doc["window"]["settle_used_ms"].as_u64().unwrap() >= 1000);
    assert!(
        doc["command"]["pids"].as_array().unwrap().len() >= 2,
        "the shell and its background writer"
    );
}

/// `--json FILE` keeps the JSON record beside the chosen format, from the same run: a CI step
/// shows the Markdown summary and keeps the record (the GitHub Action does both). The same
/// file for both is refused before anything runs.
#[test]
fn json_keeps_the_record_beside_the_markdown_summary() {
    let f = folder();
    let dir = f.reports.parent().unwrap().to_path_buf();
    let (md, json) = (dir.join("summary.md"), dir.join("record.json"));
    let out = watch(
        &f,
        &[
            "--format",
            "markdown",
            "--output",
            md.to_str().unwrap(),
            "--json",
            json.to_str().unwrap(),
        ],
        &format!("{FAKE_REPORTCRASH}\nwrite_report 0.2 direct; sleep 0.3; exit 0"),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(86), "{err}");
    assert!(out.stdout.is_empty(), "both went to files");
    let md = std::fs::read_to_string(&md).unwrap();
    assert!(
        md.starts_with("## Crash logs: 1 before → 2 after (1 new)"),
        "{md}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(&json).unwrap()).unwrap();
    assert_eq!(doc["schema"], "crashdelta.watch/1");
    assert_eq!(doc["new"].as_array().unwrap().len(), 1);
    assert_eq!(doc["gate"]["passed"], false);

    let same = dir.join("same");
    let out = watch(
        &f,
        &[
            "--format",
            "markdown",
            "--output",
            same.to_str().unwrap(),
            "--json",
            same.to_str().unwrap(),
        ],
        "touch ran",
    );
    assert_eq!(out.status.code(), Some(125));
    assert!(stderr(&out).contains("--json and --output name the same file"));
    assert!(
        !same.exists() && !root().join("ran").exists(),
        "nothing ran"
    );
}

#[test]
fn a_report_written_in_two_pieces_is_read_when_complete() {
    let f = folder();
    let out = watch(
        &f,
        &["--format", "json"],
        &format!("{FAKE_REPORTCRASH}\nwrite_report 0.3 pieces; sleep 0.5; exit 0"),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(86), "{err}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["new"][0]["status"], "crash", "{err}");
    assert_eq!(
        doc["new"][0]["location"],
        "AGX::ComputeContext::prepareForEnqueue(bool) + 1268"
    );
}

#[test]
fn a_report_cut_after_its_threads_is_waited_for_until_whole() {
    // A JSON body cut after the crashed thread reads as a crash (what a paste cut short needs);
    // a file still being written reads the same, and must be waited for: the report recorded is
    // the whole one, images and all, not the first piece.
    let f = folder();
    let out = watch(
        &f,
        &["--format", "json"],
        &format!("{FAKE_REPORTCRASH}\nwrite_report 0.3 images; sleep 0.5; exit 0"),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(86), "{err}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let new = &doc["new"][0];
    assert_eq!(new["status"], "crash", "{err}");
    // Announced once whole: the second piece lands 1.3 s after the command starts at the
    // earliest (the first piece, at 0.3 s, would have been announced within half a second).
    let after: f64 = err
        .split("new crash report after ")
        .nth(1)
        .and_then(|r| r.split('s').next())
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| panic!("no announcement: {err}"));
    assert!(
        after >= 1.3,
        "announced after {after} s, before the report was whole: {err}"
    );
    assert_eq!(new["cut"], serde_json::Value::Null, "{new}");
    assert_eq!(
        new["classification"]["rule"], "agx-prepare-for-enqueue-race",
        "{new}"
    );
    assert!(
        new["driver"]["name"]
            .as_str()
            .is_some_and(|d| d.starts_with("AGX")),
        "{new}"
    );
}

/// A report file that stays empty long enough to be read as nothing is announced as such, then
/// again as the crash it becomes: the live lines end by naming what crashed (a CI log shows
/// them, not only the summary), and the run counts it once.
#[test]
fn a_report_file_created_empty_is_announced_again_when_it_reads_as_a_crash() {
    let f = folder();
    let out = watch(
        &f,
        &["--format", "json"],
        // Made while the command runs: it is looked at every 20 ms then (after the exit,
        // crashdelta first waits up to 0.5 s for the command's output to close). Empty for
        // 1.5 s: quiet (250 ms) and retried (every 200 ms) with time to spare on a loaded CI.
        r#"sed "s/\"pid\": 81920/\"pid\": $$/" "$RACE" > "$REPORTS/.report.tmp"
           : > "$REPORTS/Python-2025-12-23-164107.ips"; sleep 1.5
           cat "$REPORTS/.report.tmp" > "$REPORTS/Python-2025-12-23-164107.ips"
           rm "$REPORTS/.report.tmp"; exit 0"#,
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(86), "{err}");
    let empty = err
        .find("crashdelta: new crash report file: ")
        .unwrap_or_else(|| panic!("{err}"));
    assert!(
        err[empty..].lines().next().unwrap().ends_with(
            "/Python-2025-12-23-164107.ips (this run); not a crash report: the input is empty"
        ),
        "{err}"
    );
    let named = err
        .find("crashdelta: new crash report after ")
        .unwrap_or_else(|| panic!("{err}"));
    assert!(empty < named, "{err}");
    assert!(
        err[named..]
            .lines()
            .next()
            .unwrap()
            .contains(" agx-prepare-for-enqueue-race at AGX::ComputeContext::prepareForEnqueue(bool) + 1268 (this run): "),
        "{err}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["new"].as_array().unwrap().len(), 1, "{err}");
}

#[test]
fn a_report_renamed_into_place_is_caught_once() {
    let f = folder();
    let out = watch(
        &f,
        &["--format", "json"],
        &format!("{FAKE_REPORTCRASH}\nwrite_report 0.5 rename; exit 0"),
    );
    let err = stderr(&out);
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["new"].as_array().unwrap().len(), 1, "{err}");
    assert!(
        doc["new"][0]["path"]
            .as_str()
            .unwrap()
            .ends_with("/Python-2025-12-23-164107.ips")
    );
    assert_eq!(err.matches("new crash report after").count(), 1, "{err}");
    // The temporary name it was written under is never reported (the footer quotes the
    // command, whose script names it).
    let reported = err.split("What ran:").next().unwrap_or_default();
    assert!(!reported.contains(".report.tmp"), "{err}");
}

#[test]
fn retired_and_removed_reports_are_not_new_and_do_not_hide_new_ones() {
    let f = folder();
    std::fs::copy(
        root().join("testdata/derived/metal-committed-twice.ips"),
        f.reports.join("Python-2025-12-20-174918.ips"),
    )
    .unwrap();
    let script = format!(
        "{FAKE_REPORTCRASH}\nmkdir -p \"$REPORTS/Retired\"; mv \"$REPORTS/Python-2025-12-23-170244.ips\" \"$REPORTS/Retired/\"; \
         rm \"$REPORTS/Python-2025-12-20-174918.ips\"; write_report 0.2 direct; sleep 0.5; exit 0"
    );
    let out = watch(&f, &[], &script);
    let err = stderr(&out);
    // Two crash reports before; one retired (still there), one removed, one new: after = 2.
    assert!(
        err.contains("Crash logs: 2 before → 2 after (1 new, 1 retired, 1 removed)"),
        "{err}"
    );
    assert_eq!(out.status.code(), Some(86));
}

#[test]
fn an_unrelated_crash_is_concurrent_shown_and_not_gated() {
    let f = folder();
    let reports = f.reports.clone();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        // Another app: a pid that is not in the command's tree.
        std::fs::write(
            reports.join("Other-2025-12-23-164107.ips"),
            race_report("4194000"),
        )
        .unwrap();
    });
    let out = watch(&f, &["--format", "json"], "sleep 1; exit 0");
    writer.join().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("(1 new, 1 concurrent, not from this run)"),
        "{err}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["new"][0]["attribution"]["kind"], "concurrent");
    assert_eq!(doc["concurrent"], 1);

    // --attribute any puts it under the gate.
    let reports = f.reports.clone();
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(400));
        std::fs::write(
            reports.join("Other-2025-12-23-164200.ips"),
            race_report("4194001").replace("5E0C2B1A", "5E0C2B1B"),
        )
        .unwrap();
    });
    let out = watch(&f, &["--attribute", "any"], "sleep 1; exit 0");
    writer.join().unwrap();
    assert_eq!(out.status.code(), Some(86), "{}", stderr(&out));
}

#[test]
fn a_non_crash_report_is_counted_apart() {
    let f = folder();
    let script = "printf '%s\\n%s\\n' '{\"bug_type\":\"298\",\"incident_id\":\"JETSAM-1\"}' '{\"largestProcess\":\"Python\"}' > \"$REPORTS/JetsamEvent-2025-12-23-164107.ips\"; exit 0";
    let out = watch(&f, &[], script);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("Crash logs: 1 before → 1 after (0 new)"),
        "{err}"
    );
    assert!(err.contains("1 new report(s) of other kinds"), "{err}");
}

#[test]
fn the_commands_own_exit_code_passes_through_when_the_gate_passes() {
    let f = folder();
    assert_eq!(watch(&f, &[], "exit 3").status.code(), Some(3));
    assert_eq!(watch(&f, &[], "exit 0").status.code(), Some(0));
}

#[test]
fn a_command_killed_by_a_signal_maps_to_128_plus_n() {
    let f = folder();
    // No report arrives: the wait runs to --settle-max.
    let out = Command::new(env!("CARGO_BIN_EXE_crashdelta"))
        .args([
            "watch",
            "--reports-dir",
            f.reports.to_str().unwrap(),
            "--settle",
            "0.5s",
            "--settle-max",
            "2s",
        ])
        .args(["--", "sh", "-c", "kill -SEGV $$"])
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(128 + 11), "{err}");
    assert!(err.contains("killed by SIGSEGV"), "{err}");
    assert!(
        err.contains("waiting up to 2s for its crash report"),
        "{err}"
    );
}

#[test]
fn tool_errors_follow_env() {
    let f = folder();
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_crashdelta"))
            .args([
                "watch",
                "--reports-dir",
                f.reports.to_str().unwrap(),
                "--settle",
                "0.2s",
                "--",
            ])
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["/no/such/command"]);
    assert_eq!(out.status.code(), Some(127));
    assert!(stderr(&out).contains("command not found: /no/such/command"));
    let script = f.reports.parent().unwrap().join("not-executable.sh");
    std::fs::write(&script, "#!/bin/sh\n").unwrap();
    assert_eq!(run(&[script.to_str().unwrap()]).status.code(), Some(126));

    // A report folder that does not exist: an error, never a pass.
    let out = Command::new(env!("CARGO_BIN_EXE_crashdelta"))
        .args([
            "watch",
            "--reports-dir",
            "/no/such/DiagnosticReports",
            "--",
            "true",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains("none of the report folders exists"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn ctrl_c_is_forwarded_and_exits_130() {
    let f = folder();
    let (out, took) = common::interrupted_after(
        std::process::Command::new(env!("CARGO_BIN_EXE_crashdelta")).args([
            "watch",
            "--reports-dir",
            f.reports.to_str().unwrap(),
            "--settle",
            "0.2s",
            "--",
            "sleep",
            "30",
        ]),
        Duration::from_millis(800),
    );
    assert!(
        took < Duration::from_secs(10),
        "the command was not interrupted"
    );
    assert_eq!(out.status.code(), Some(130), "{}", stderr(&out));
}

#[test]
fn an_unreadable_new_file_is_not_a_pass() {
    // As root every file is readable: drop to `nobody` with setpriv for this test.
    let root_user = unsafe { libc::geteuid() } == 0;
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    let bin = dir.path().join("crashdelta");
    std::fs::copy(env!("CARGO_BIN_EXE_crashdelta"), &bin).unwrap();
    use std::os::unix::fs::PermissionsExt;
    for p in [dir.path(), reports.as_path()] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o777)).unwrap();
    }
    let script = "printf x > \"$REPORTS/Python-2025-12-23-164107.ips\"; chmod 000 \"$REPORTS/Python-2025-12-23-164107.ips\"";
    let mut cmd = if root_user {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin);
        c
    } else {
        Command::new(&bin)
    };
    let out = cmd
        .env("REPORTS", &reports)
        .args([
            "watch",
            "--reports-dir",
            reports.to_str().unwrap(),
            "--settle",
            "0.5s",
            "--",
            "sh",
            "-c",
            script,
        ])
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(86), "{err}");
    assert!(err.contains("cannot read"), "{err}");

    // A report folder that cannot be read at all: an error, never a pass.
    std::fs::set_permissions(&reports, std::fs::Permissions::from_mode(0o000)).unwrap();
    let mut cmd = if root_user {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(&bin);
        c
    } else {
        Command::new(&bin)
    };
    let out = cmd
        .args([
            "watch",
            "--reports-dir",
            reports.to_str().unwrap(),
            "--",
            "true",
        ])
        .output()
        .unwrap();
    std::fs::set_permissions(&reports, std::fs::Permissions::from_mode(0o777)).unwrap();
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("cannot read the report folder"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn collect_copies_byte_identical_reports_with_a_manifest() {
    let f = folder();
    let collect = f.reports.parent().unwrap().join("artifacts");
    let out = watch(
        &f,
        &["--collect", collect.to_str().unwrap(), "--fail-on", "none"],
        &format!("{FAKE_REPORTCRASH}\nwrite_report 0.2 direct; sleep 0.5; exit 0"),
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let original = std::fs::read(f.reports.join("Python-2025-12-23-164107.ips")).unwrap();
    assert_eq!(
        std::fs::read(collect.join("Python-2025-12-23-164107.ips")).unwrap(),
        original
    );
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(collect.join("manifest.json")).unwrap()).unwrap();
    let copy = &manifest["copies"][0];
    assert_eq!(copy["size"], original.len());
    assert_eq!(copy["incident_id"], "5E0C2B1A-7F3D-4A9B-8C6E-1D2F3A4B5C6D");
    assert_eq!(copy["sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn snapshot_then_diff_across_steps() {
    let f = folder();
    let dir = f.reports.parent().unwrap().to_path_buf();
    let before = dir.join("before.json");
    Command::new(env!("CARGO_BIN_EXE_crashdelta"))
        .args([
            "snapshot",
            "--reports-dir",
            f.reports.to_str().unwrap(),
            "--output",
            before.to_str().unwrap(),
        ])
        .assert()
        .code(0);
    // Between the steps: a crash of the tests (captured now), and rotation moving the old report.
    let now = chrono::Utc::now()
        .format("%Y-%m-%d %H:%M:%S%.3f +0000")
        .to_string();
    let report = race_report("81920").replace("2025-12-23 16:41:06.5512 -0800", &now);
    std::fs::write(f.reports.join("Python-2025-12-23-164107.ips"), report).unwrap();
    std::fs::create_dir(f.reports.join("Retired")).unwrap();
    std::fs::rename(
        f.reports.join("Python-2025-12-23-170244.ips"),
        f.reports.join("Retired/Python-2025-12-23-170244.ips"),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_crashdelta"))
        .args([
            "diff",
            before.to_str().unwrap(),
            "--format",
            "markdown",
            "--fail-on",
            "agx",
        ])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(86), "{err}");
    assert!(
        err.contains("Crash logs: 1 before → 2 after (1 new, 1 retired)"),
        "{err}"
    );
    let md = String::from_utf8(out.stdout).unwrap();
    assert!(
        md.starts_with("## Crash logs: 1 before → 2 after (1 new, 1 retired)"),
        "{md}"
    );
    assert!(md.contains("Location: AGX::ComputeContext::prepareForEnqueue(bool) + 1268"));

    // Two saved inventories.
    let after = dir.join("after.json");
    Command::new(env!("CARGO_BIN_EXE_crashdelta"))
        .args([
            "snapshot",
            "--reports-dir",
            f.reports.to_str().unwrap(),
            "-o",
            after.to_str().unwrap(),
        ])
        .assert()
        .code(0);
    Command::new(env!("CARGO_BIN_EXE_crashdelta"))
        .args([
            "diff",
            before.to_str().unwrap(),
            after.to_str().unwrap(),
            "--fail-on",
            "none",
        ])
        .assert()
        .code(0);
    // Not an inventory: a clear error.
    let out = Command::new(env!("CARGO_BIN_EXE_crashdelta"))
        .args(["diff", RACE])
        .current_dir(root())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains("is not a crashdelta inventory"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn polling_finds_reports_too() {
    let f = folder();
    let out = watch(
        &f,
        &["--poll", "--format", "json"],
        &format!("{FAKE_REPORTCRASH}\nwrite_report 0.3 rename; sleep 0.2; exit 0"),
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(86), "{err}");
    assert!(
        err.contains("new crash report after"),
        "the poller did not see it live: {err}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["window"]["watched_by"], "polling", "{}", doc["window"]);
}

/// The record says how the folders were watched: by file-system events unless asked to poll
/// (inotify here, FSEvents on a Mac: tests/macos.rs checks that one), with no warning.
#[test]
fn the_record_says_the_folders_were_watched_by_file_events() {
    let f = folder();
    let out = watch(&f, &["--format", "json"], "exit 0");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["window"]["watched_by"], "events", "{}", doc["window"]);
    assert!(doc.get("warnings").is_none(), "{doc}");
}

/// `--output` and `--collect` are checked before the command runs: a bad path found after a
/// long test run would cost the run, and its 125 would hide the command's exit code.
#[test]
fn a_bad_output_or_collect_path_is_refused_before_the_command_runs() {
    let f = folder();
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no/such/folder/record.json");
    let blocked = dir.path().join("a-file");
    std::fs::write(&blocked, "").unwrap();
    let under_a_file = blocked.join("reports");
    for (extra, flag) in [
        (vec!["--output", missing.to_str().unwrap()], "--output"),
        (
            vec!["--collect", under_a_file.to_str().unwrap()],
            "--collect",
        ),
        (
            vec!["--repeat", "2", "--output", missing.to_str().unwrap()],
            "--output",
        ),
    ] {
        let out = watch(&f, &extra, "echo THE-COMMAND-RAN");
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(125), "{extra:?}: {err}");
        assert!(
            !String::from_utf8_lossy(&out.stdout).contains("THE-COMMAND-RAN"),
            "{extra:?}: the command ran"
        );
        assert!(
            err.contains(&format!("crashdelta: error: {flag} ")),
            "{err}"
        );
    }
}

/// A script without a `#!` line cannot be started (ENOEXEC): 126, as for a file that may not be
/// run, with the way to fix it; not 125, which says crashdelta itself failed.
#[test]
fn a_script_without_a_shebang_exits_126_and_says_what_to_add() {
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("run_tests.sh");
    std::fs::write(&script, "echo hi\n").unwrap();
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let f = folder();
    let out = Command::new(env!("CARGO_BIN_EXE_crashdelta"))
        .args(["watch", "--settle", "0s", "--reports-dir"])
        .arg(&f.reports)
        .arg("--")
        .arg(&script)
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(126), "{err}");
    assert!(err.contains("#!/bin/sh"), "{err}");
}

/// The main options from the environment (a CI job sets its policy once): CRASHDELTA_SETTLE,
/// CRASHDELTA_FAIL_ON, CRASHDELTA_REPORTS_DIR; a flag overrides its variable.
#[test]
fn the_main_options_come_from_the_environment_and_flags_win() {
    let f = folder();
    let run = |env: &[(&str, &str)], extra: &[&str]| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_crashdelta"));
        for var in common::CRASHDELTA_ENV {
            cmd.env_remove(var);
        }
        cmd.envs(env.iter().copied())
            .env("REPORTS", &f.reports)
            .env("RACE", root().join(RACE))
            .args(["watch", "--format", "json"])
            .args(extra)
            .args(["--", "sh", "-c"])
            .arg(format!(
                "{FAKE_REPORTCRASH}\nwrite_report 0 direct; sleep 0.3; exit 0"
            ))
            .timeout(Duration::from_secs(60))
            .output()
            .unwrap()
    };
    let reports = f.reports.to_str().unwrap();
    // The race is an AGX crash; with --fail-on none from the environment the gate passes.
    let out = run(
        &[
            ("CRASHDELTA_REPORTS_DIR", reports),
            ("CRASHDELTA_SETTLE", "1s"),
            ("CRASHDELTA_FAIL_ON", "none"),
        ],
        &[],
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["gate"]["fail_on"], "none", "{doc}");
    assert_eq!(doc["new"].as_array().map(Vec::len), Some(1), "{doc}");
    assert!(
        doc["window"]["settle_used_ms"].as_u64().unwrap() >= 1000,
        "{doc}"
    );
    // The flag wins over the variable.
    std::fs::remove_file(f.reports.join("Python-2025-12-23-164107.ips")).unwrap();
    let out = run(
        &[
            ("CRASHDELTA_REPORTS_DIR", reports),
            ("CRASHDELTA_SETTLE", "1s"),
            ("CRASHDELTA_FAIL_ON", "none"),
        ],
        &["--fail-on", "agx"],
    );
    assert_eq!(out.status.code(), Some(86), "{}", stderr(&out));
}

/// `watch` says which folders it watches, and warns about one of several that does not exist
/// (a typo in `--reports-dir` would otherwise watch nothing there, silently).
#[test]
fn watch_says_which_folders_it_watches() {
    let f = folder();
    let missing = f.reports.with_file_name("DiagnosticReprots");
    let out = watch(&f, &["--reports-dir", missing.to_str().unwrap()], "exit 0");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains(&format!("crashdelta: watching {}\n", f.reports.display())),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "crashdelta: warning: the report folder {} does not exist",
            missing.display()
        )),
        "{err}"
    );
}

/// JUnit of a run without a new crash report: one passing test case, so that a CI viewer shows
/// the check ran (`tests="0"` reads as "nothing was checked").
#[test]
fn junit_of_a_clean_run_has_one_passing_case() {
    let f = folder();
    let out = watch(&f, &["--format", "junit"], "exit 0");
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let xml = String::from_utf8_lossy(&out.stdout);
    assert!(xml.contains("tests=\"1\" failures=\"0\""), "{xml}");
    assert!(xml.contains("name=\"no new crash report\"/>"), "{xml}");
}

/// `CRASHDELTA_HEAD_CACHE` says where `snapshot` keeps the heads of a big report folder (here
/// a folder of its own), and `off` keeps none; the inventory is the same either way. The heads
/// themselves are recorded once their files have settled (3 s after their last change), which
/// the library's tests (`inventory::tests`) cover with no wait.
#[test]
fn the_head_cache_goes_where_its_variable_says_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("DiagnosticReports");
    std::fs::create_dir(&reports).unwrap();
    for n in 0..300 {
        std::fs::write(
            reports.join(format!("Python-{n:03}.ips")),
            format!(
                "{{\"bug_type\":\"309\",\"name\":\"Python\",\"incident_id\":\"ID-{n}\"}}\n{{}}\n"
            ),
        )
        .unwrap();
    }
    let caches = dir.path().join("caches");
    let snapshot = |cache: &std::path::Path| {
        let out = common::crashdelta()
            .env("CRASHDELTA_HEAD_CACHE", cache)
            .args(["snapshot", "--reports-dir", reports.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let mut doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        doc["taken_at"] = serde_json::Value::Null;
        doc
    };
    let uncached = snapshot(std::path::Path::new("off"));
    assert!(!caches.exists());
    assert_eq!(uncached["entries"].as_array().map(Vec::len), Some(300));
    assert_eq!(snapshot(&caches), uncached);
    let files: Vec<_> = std::fs::read_dir(&caches).unwrap().collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let file = files[0].as_ref().unwrap().path();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(text.starts_with("crashdelta.heads/1\t"), "{text}");
    assert_eq!(snapshot(&caches), uncached);
}

/// `snapshot` records absolute folder paths: the inventory of one CI step is read by `diff` in
/// another, perhaps run from another folder.
#[test]
fn a_snapshot_records_absolute_folders() {
    let f = folder();
    let parent = f.reports.parent().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_crashdelta"))
        .current_dir(parent)
        .args(["snapshot", "--reports-dir", "DiagnosticReports"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let path = doc["folders"][0]["path"].as_str().unwrap();
    assert_eq!(std::path::Path::new(path), f.reports, "{doc}");
    let entry = doc["entries"][0]["path"].as_str().unwrap();
    assert!(entry.starts_with('/'), "{entry}");
}
