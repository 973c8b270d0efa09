//! The command's output read as it passes through (issue 14): what the user sees is exactly what
//! the command wrote, captured or not.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::path::Path;

use common::{PYTHON_DIES, WRITE_RACE, crashdelta, stderr, watch_sh};

/// 300 kB of random bytes (invalid UTF-8, NULs, bare CRs, no final newline) on standard output
/// and on standard error come out byte for byte, in order, with capture on and off.
#[test]
fn captured_output_is_passed_through_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    let data = dir.path().join("data");
    let bytes: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&data, &bytes).unwrap();
    for extra in [&[][..], &["--no-capture"][..]] {
        let out = crashdelta()
            .env("DATA", &data)
            .args(["watch", "--settle", "0s", "--reports-dir"])
            .arg(&reports)
            .args(extra)
            .args(["--", "sh", "-c", "cat \"$DATA\"; cat \"$DATA\" >&2"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{extra:?}: {}", stderr(&out));
        assert!(out.stdout == bytes, "{extra:?}: standard output differs");
        // crashdelta says which folders it watches before the command starts; then the
        // command's bytes.
        let err = match out.stderr.strip_prefix(b"crashdelta: watching ".as_slice()) {
            Some(rest) => rest
                .iter()
                .position(|&b| b == b'\n')
                .and_then(|n| rest.get(n + 1..))
                .unwrap_or_default(),
            None => &out.stderr,
        };
        assert!(
            err.starts_with(&bytes),
            "{extra:?}: standard error does not start with the command's bytes"
        );
    }
}

/// A real crash: Python dies of SIGSEGV with faulthandler on, and (standing in for ReportCrash)
/// the script then writes the race report for that very pid. The report is joined with the
/// faulthandler dump read from the command's output: the Python stack is under the crash, in the
/// summary and in JSON.
#[test]
fn a_crash_report_is_joined_with_the_python_stack_the_run_printed() {
    if std::process::Command::new("python3")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: no python3 on this machine");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    let script = format!("{WRITE_RACE}{PYTHON_DIES}");
    let out = watch_sh(&reports, &["--format", "json"], &[], &script);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(86), "{err}");
    assert!(
        err.contains("Fatal Python error: Segmentation fault"),
        "passed through: {err}"
    );
    assert!(
        err.contains("  Python:    __init__.py:519 in string_at ← <string>:3 in gather"),
        "{err}"
    );
    // The JSON document is after the command's own output on standard output.
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = &stdout[stdout.find("{\n").unwrap()..];
    let doc: serde_json::Value = serde_json::from_str(json).unwrap();
    let test = &doc["new"][0]["test"];
    // The sampler saw the Python process end as its dump was printed.
    assert_eq!(test["how"], "pid-died", "{test}");
    assert_eq!(test["evidence"]["runner"], "faulthandler", "{test}");
    assert_eq!(
        test["evidence"]["python_stack"][0]["function"], "string_at",
        "{test}"
    );
}

/// `watch --test-results JUNIT --format FORMAT` of a command that writes the real pytest-xdist
/// JUnit file to `junit` (as the runner would) and the race report for its own pid into
/// `reports` (standing in for ReportCrash).
fn run_with_junit(reports: &Path, junit: &Path, format: &str) -> std::process::Output {
    let script = format!("{WRITE_RACE}\ncp \"$JUNIT_SOURCE\" \"$JUNIT\"\nwrite_race $$ $PPID\n");
    let source = common::testdata_path("testlogs/python/pytest-xdist-n2-junit.xml");
    let results = junit.to_str().unwrap();
    watch_sh(
        reports,
        &[
            "--no-capture",
            "--format",
            format,
            "--test-results",
            results,
        ],
        &[
            ("JUNIT", junit.as_os_str()),
            ("JUNIT_SOURCE", source.as_os_str()),
        ],
        &script,
    )
}

/// `--test-results FILE`: the JUnit XML the runner wrote (here a real pytest-xdist file with one
/// crashed worker, copied into place by the command as the runner would write it) is read when
/// the run ends; its evidence is joined with the run's only crash report.
#[test]
fn a_junit_file_the_runner_wrote_names_the_crashed_test() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    let junit = dir.path().join("junit.xml");
    let out = run_with_junit(&reports, &junit, "json");
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(86), "{err}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let test = &doc["new"][0]["test"];
    assert_eq!(test["how"], "only-one", "{test}");
    assert_eq!(test["evidence"]["runner"], "junit", "{test}");
    assert_eq!(test["evidence"]["worker"], "gw1", "{test}");
    assert_eq!(
        test["evidence"]["test"], "tests/test_mps.py::TestMPS::test_gather",
        "{test}"
    );
    assert!(err.contains("  Test:      "), "{err}");

    // JUnit names the crash's test case by the test id (stable across runs: a CI system's test
    // history follows it); Markdown says the test too.
    for (format, expected) in [
        ("junit", "name=\"tests/test_mps.py::TestMPS::test_gather\""),
        (
            "markdown",
            "- Test: tests/test_mps.py::TestMPS::test_gather (junit; worker gw1;",
        ),
    ] {
        std::fs::remove_dir_all(&reports).unwrap();
        std::fs::create_dir(&reports).unwrap();
        let out = run_with_junit(&reports, &junit, format);
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(stdout.contains(expected), "{format}: {stdout}");
    }

    // A file that is not there is a warning in the record, never a change of verdict.
    let out = crashdelta()
        .args([
            "watch",
            "--settle",
            "0s",
            "--format",
            "json",
            "--test-results",
        ])
        .arg(dir.path().join("missing.xml"))
        .arg("--reports-dir")
        .arg(&reports)
        .args(["--", "true"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        doc["warnings"][0]
            .as_str()
            .unwrap()
            .contains("--test-results"),
        "{doc}"
    );
}

/// Another program's crash is never given the run's test: here a report captured an hour before
/// the run lands in the folder while the command's own Python dies with a dump. With
/// `--attribute any` the report is listed, as concurrent, and has no `test`, although it is the
/// run's only crash report and the dump its only evidence.
#[test]
fn another_programs_crash_is_not_joined_with_the_runs_test() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    let script = format!(
        "{WRITE_RACE}{}",
        r#"
python3 -X faulthandler -c 'import ctypes; ctypes.string_at(0)'
write_race 4242 1 "$(date -u -d '-1 hour' '+%Y-%m-%d %H:%M:%S.00 +0000')"
exit 0
"#
    );
    let out = watch_sh(
        &reports,
        &["--attribute", "any", "--format", "json"],
        &[],
        &script,
    );
    let err = stderr(&out);
    assert!(err.contains("Fatal Python error"), "{err}");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let json = &stdout[stdout.find("{\n").unwrap()..];
    let doc: serde_json::Value = serde_json::from_str(json).unwrap();
    let new = &doc["new"][0];
    assert_eq!(new["attribution"]["kind"], "concurrent", "{new}");
    assert!(new.get("test").is_none(), "{}", new["test"]);
}

/// A JUnit file left by an earlier run (plain pytest writes none when a crash kills it; a
/// campaign reads the same path every run) is not this run's evidence: not read, with a
/// warning, and the crash is not given its test.
#[test]
fn a_junit_file_from_before_the_run_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    let junit = dir.path().join("junit.xml");
    std::fs::copy(
        common::testdata_path("testlogs/python/pytest-xdist-n2-junit.xml"),
        &junit,
    )
    .unwrap();
    let two_days_ago = std::time::SystemTime::now() - std::time::Duration::from_secs(2 * 86_400);
    std::fs::File::options()
        .write(true)
        .open(&junit)
        .unwrap()
        .set_modified(two_days_ago)
        .unwrap();
    let script = format!("{WRITE_RACE}\nwrite_race $$ $PPID\n");
    let out = watch_sh(
        &reports,
        &[
            "--no-capture",
            "--format",
            "json",
            "--test-results",
            junit.to_str().unwrap(),
        ],
        &[],
        &script,
    );
    assert_eq!(out.status.code(), Some(86), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        doc["new"][0].get("test").is_none(),
        "{}",
        doc["new"][0]["test"]
    );
    assert!(
        doc["warnings"][0]
            .as_str()
            .unwrap()
            .contains("not written during this run"),
        "{doc}"
    );
}

/// A copy of the crash report (a harness copying reports aside in the watched folder) is the
/// same crash: the report that is not a copy keeps its test (it had none: the copy competed
/// for the same evidence), and the copy gets none.
#[test]
fn a_copy_of_the_report_does_not_take_the_test_away() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    std::fs::create_dir_all(reports.join("copies")).unwrap();
    let script = format!(
        "{WRITE_RACE}{}",
        r#"
python3 -X faulthandler -c 'import ctypes; ctypes.string_at(0)' &
crashed=$!
wait $crashed
write_race $crashed $$
cp "$REPORTS/Python-race.ips" "$REPORTS/copies/Python-race.ips"
exit 0
"#
    );
    let out = watch_sh(&reports, &["--format", "json"], &[], &script);
    assert_eq!(out.status.code(), Some(86), "{}", stderr(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let doc: serde_json::Value =
        serde_json::from_str(&stdout[stdout.find("{\n").unwrap()..]).unwrap();
    let new = doc["new"].as_array().unwrap();
    assert_eq!(new.len(), 2, "{doc}");
    for n in new {
        assert_eq!(
            n.get("test").is_some(),
            n["duplicate_of"].is_null(),
            "the original has the test, the copy none: {n}"
        );
    }
}

/// `crashdelta watch -- yes | head -2`: once the reader of crashdelta's standard output has
/// gone, the command's next write fails as it would without crashdelta (SIGPIPE, so 128 + 13),
/// instead of `yes` writing forever into a pipe crashdelta drains.
#[test]
fn a_reader_that_leaves_ends_the_command_as_without_crashdelta() {
    let dir = tempfile::tempdir().unwrap();
    let started = std::time::Instant::now();
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg("timeout 20 \"$0\" watch --settle 0s --reports-dir \"$1\" -- yes | head -2 >/dev/null")
        .arg(env!("CARGO_BIN_EXE_crashdelta"))
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        started.elapsed() < std::time::Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    assert!(
        stderr(&out).contains("the command was killed by SIGPIPE"),
        "{}",
        stderr(&out)
    );
}

/// `watch --format json` with no `--output` writes the record on standard output: the
/// command's own standard output goes to standard error then, so that standard output is the
/// record alone (`crashdelta watch --format json -- ./run_tests.sh > record.json` is valid
/// JSON), captured or not.
#[test]
fn a_record_on_standard_output_is_never_mixed_with_the_commands_output() {
    let dir = tempfile::tempdir().unwrap();
    for extra in [&[][..], &["--no-capture"][..]] {
        let out = crashdelta()
            .args([
                "watch",
                "--settle",
                "0s",
                "--format",
                "json",
                "--reports-dir",
            ])
            .arg(dir.path())
            .args(extra)
            .args([
                "--",
                "sh",
                "-c",
                "echo the-commands-stdout; echo the-commands-stderr >&2",
            ])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{extra:?}: {e}: {}", String::from_utf8_lossy(&out.stdout)));
        assert_eq!(doc["schema"], "crashdelta.watch/1");
        let err = stderr(&out);
        assert!(err.contains("the-commands-stdout\n"), "{extra:?}: {err}");
        assert!(err.contains("the-commands-stderr\n"), "{extra:?}: {err}");
    }
    // In human form (the summary on standard error) the command keeps its standard output.
    let out = crashdelta()
        .args(["watch", "--settle", "0s", "--reports-dir"])
        .arg(dir.path())
        .args(["--", "sh", "-c", "echo the-commands-stdout"])
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "the-commands-stdout\n"
    );
}
