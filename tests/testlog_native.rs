//! The native recognisers and the JUnit reader, on real output.
//!
//! Each file of `testdata/testlogs/native/` is what a runner printed when a test process died
//! by a signal (its command, version and origin are in `SOURCES.tsv` there). It is fed line by
//! line, as the capture layer will, through *every* recogniser (`testlog::recognizers()`, the
//! Python ones included), and the evidence that comes out must be exactly the expected one: one
//! per crash, never a second for the runner's own summary, none from a recogniser of another
//! runner. JUnit files go through `junit::read`. Then arbitrary input: no recogniser and no
//! JUnit read may panic.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use crashdelta::testlog::{Evidence, Line, Runner, Stream, junit, recognizers};
use proptest::prelude::*;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/testlogs/native")
}

/// The time of the `i`-th line: a second apart, so an evidence's time tells its first line.
fn time(i: usize) -> DateTime<Utc> {
    Utc.timestamp_opt(1_000_000 + i64::try_from(i).unwrap(), 0)
        .unwrap()
}

/// Every recogniser fed the text, line by line, then finished.
fn feed(text: &str) -> Vec<Evidence> {
    let mut all = recognizers();
    let mut out = Vec::new();
    for (i, t) in text.lines().enumerate() {
        let line = Line {
            stream: Stream::Stdout,
            at: time(i),
            text: t.to_owned(),
        };
        for r in &mut all {
            out.extend(r.feed(&line));
        }
    }
    for r in &mut all {
        out.extend(r.finish());
    }
    out
}

fn run(name: &str) -> Vec<Evidence> {
    let bytes = std::fs::read(dir().join(name)).unwrap();
    feed(&String::from_utf8_lossy(&bytes))
}

/// What one evidence must be: every field, and its lines by count, first and last.
#[derive(Debug)]
struct Want {
    runner: Runner,
    test: Option<&'static str>,
    signal: Option<&'static str>,
    program: Option<&'static str>,
    pid: Option<u64>,
    worker: Option<&'static str>,
    /// The line (from 0) the evidence starts at.
    at_line: usize,
    lines: usize,
    first: &'static str,
    last: &'static str,
}

fn check(file: &str, got: &[Evidence], want: &[Want]) {
    assert_eq!(
        got.len(),
        want.len(),
        "{file}: {} evidence, expected {}: {got:#?}",
        got.len(),
        want.len()
    );
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        let ctx = format!("{file} evidence {i}: {g:#?}");
        assert_eq!(g.runner, w.runner, "{ctx}");
        assert_eq!(g.test.as_deref(), w.test, "{ctx}");
        assert_eq!(g.signal.as_deref(), w.signal, "{ctx}");
        assert_eq!(g.program.as_deref(), w.program, "{ctx}");
        assert_eq!(g.pid, w.pid, "{ctx}");
        assert_eq!(g.worker.as_deref(), w.worker, "{ctx}");
        assert_eq!(g.thread, None, "{ctx}");
        assert!(g.python_stack.is_empty(), "{ctx}");
        assert_eq!(g.at, time(w.at_line), "{ctx}");
        assert_eq!(g.lines.len(), w.lines, "{ctx}");
        assert_eq!(g.lines.first().map(String::as_str), Some(w.first), "{ctx}");
        assert_eq!(g.lines.last().map(String::as_str), Some(w.last), "{ctx}");
    }
}

#[test]
fn every_recorded_log_gives_exactly_its_evidence() {
    #[rustfmt::skip]
    let cases: Vec<(&str, Vec<Want>)> = vec![
        ("cargo-test-integration-abort.log", vec![
            Want { runner: Runner::CargoTest, test: None, signal: Some("SIGABRT"), program: Some("/tmp/rt/crashy/target/debug/deps/integration-f65faf5bf4f92fee"), pid: None, worker: None, at_line: 4, lines: 3, first: "error: test failed, to rerun pass `--test integration`", last: "  process didn't exit successfully: `/tmp/rt/crashy/target/debug/deps/integration-f65faf5bf4f92fee` (signal: 6, SIGABRT: process abort signal)" },
        ]),
        ("cargo-test-no-fail-fast-nocapture.log", vec![
            Want { runner: Runner::CargoTest, test: Some("tests::gpu_segfault"), signal: Some("SIGSEGV"), program: Some("/tmp/rt/crashy/target/debug/deps/crashy-3a07317488e3f687"), pid: None, worker: None, at_line: 29, lines: 3, first: "test tests::gpu_segfault ... error: test failed, to rerun pass `--lib`", last: "  process didn't exit successfully: `/tmp/rt/crashy/target/debug/deps/crashy-3a07317488e3f687 --test-threads=1 --nocapture` (signal: 11, SIGSEGV: invalid memory reference)" },
            Want { runner: Runner::CargoTest, test: Some("aborts"), signal: Some("SIGABRT"), program: Some("/tmp/rt/crashy/target/debug/deps/integration-f65faf5bf4f92fee"), pid: None, worker: None, at_line: 36, lines: 3, first: "test aborts ... error: test failed, to rerun pass `--test integration`", last: "  process didn't exit successfully: `/tmp/rt/crashy/target/debug/deps/integration-f65faf5bf4f92fee --test-threads=1 --nocapture` (signal: 6, SIGABRT: process abort signal)" },
        ]),
        ("cargo-test-parallel.log", vec![
            Want { runner: Runner::CargoTest, test: None, signal: Some("SIGSEGV"), program: Some("/tmp/rt/crashy/target/debug/deps/crashy-3a07317488e3f687"), pid: None, worker: None, at_line: 6, lines: 3, first: "error: test failed, to rerun pass `--lib`", last: "  process didn't exit successfully: `/tmp/rt/crashy/target/debug/deps/crashy-3a07317488e3f687` (signal: 11, SIGSEGV: invalid memory reference)" },
        ]),
        ("cargo-test-threads1.log", vec![
            Want { runner: Runner::CargoTest, test: Some("tests::gpu_segfault"), signal: Some("SIGSEGV"), program: Some("/tmp/rt/crashy/target/debug/deps/crashy-3a07317488e3f687"), pid: None, worker: None, at_line: 6, lines: 3, first: "test tests::gpu_segfault ... error: test failed, to rerun pass `--lib`", last: "  process didn't exit successfully: `/tmp/rt/crashy/target/debug/deps/crashy-3a07317488e3f687 --test-threads=1` (signal: 11, SIGSEGV: invalid memory reference)" },
        ]),
        ("ctest-j2-output-on-failure.log", vec![
            Want { runner: Runner::Ctest, test: Some("gpu_test"), signal: Some("SegFault"), program: None, pid: None, worker: None, at_line: 3, lines: 1, first: "1/7 Test #2: gpu_test .........................***Exception: SegFault  0.00 sec", last: "1/7 Test #2: gpu_test .........................***Exception: SegFault  0.00 sec" },
            Want { runner: Runner::Ctest, test: Some("abort_test"), signal: Some("Subprocess aborted"), program: None, pid: None, worker: None, at_line: 7, lines: 1, first: "2/7 Test #3: abort_test .......................Subprocess aborted***Exception:   0.00 sec", last: "2/7 Test #3: abort_test .......................Subprocess aborted***Exception:   0.00 sec" },
            Want { runner: Runner::Ctest, test: Some("bus_test"), signal: Some("Bus error"), program: None, pid: None, worker: None, at_line: 14, lines: 1, first: "4/7 Test #5: bus_test .........................Bus error***Exception:   0.00 sec", last: "4/7 Test #5: bus_test .........................Bus error***Exception:   0.00 sec" },
            Want { runner: Runner::Ctest, test: Some("ill_test"), signal: Some("Illegal"), program: None, pid: None, worker: None, at_line: 17, lines: 1, first: "5/7 Test #6: ill_test .........................***Exception: Illegal  0.00 sec", last: "5/7 Test #6: ill_test .........................***Exception: Illegal  0.00 sec" },
            Want { runner: Runner::Ctest, test: Some("fpe_test"), signal: Some("Numerical"), program: None, pid: None, worker: None, at_line: 20, lines: 1, first: "6/7 Test #7: fpe_test .........................***Exception: Numerical  0.00 sec", last: "6/7 Test #7: fpe_test .........................***Exception: Numerical  0.00 sec" },
        ]),
        ("ctest-verbose-gpu.log", vec![
            Want { runner: Runner::Ctest, test: Some("gpu_test"), signal: Some("SegFault"), program: Some("/tmp/rt/ctestproj/build/segv_test"), pid: None, worker: None, at_line: 16, lines: 1, first: "1/1 Test #2: gpu_test .........................***Exception: SegFault  0.00 sec", last: "1/1 Test #2: gpu_test .........................***Exception: SegFault  0.00 sec" },
        ]),
        ("ctest.log", vec![
            Want { runner: Runner::Ctest, test: Some("gpu_test"), signal: Some("SegFault"), program: None, pid: None, worker: None, at_line: 4, lines: 1, first: "2/7 Test #2: gpu_test .........................***Exception: SegFault  0.00 sec", last: "2/7 Test #2: gpu_test .........................***Exception: SegFault  0.00 sec" },
            Want { runner: Runner::Ctest, test: Some("abort_test"), signal: Some("Subprocess aborted"), program: None, pid: None, worker: None, at_line: 6, lines: 1, first: "3/7 Test #3: abort_test .......................Subprocess aborted***Exception:   0.00 sec", last: "3/7 Test #3: abort_test .......................Subprocess aborted***Exception:   0.00 sec" },
            Want { runner: Runner::Ctest, test: Some("bus_test"), signal: Some("Bus error"), program: None, pid: None, worker: None, at_line: 10, lines: 1, first: "5/7 Test #5: bus_test .........................Bus error***Exception:   0.00 sec", last: "5/7 Test #5: bus_test .........................Bus error***Exception:   0.00 sec" },
            Want { runner: Runner::Ctest, test: Some("ill_test"), signal: Some("Illegal"), program: None, pid: None, worker: None, at_line: 12, lines: 1, first: "6/7 Test #6: ill_test .........................***Exception: Illegal  0.00 sec", last: "6/7 Test #6: ill_test .........................***Exception: Illegal  0.00 sec" },
            Want { runner: Runner::Ctest, test: Some("fpe_test"), signal: Some("Numerical"), program: None, pid: None, worker: None, at_line: 14, lines: 1, first: "7/7 Test #7: fpe_test .........................***Exception: Numerical  0.00 sec", last: "7/7 Test #7: fpe_test .........................***Exception: Numerical  0.00 sec" },
        ]),
        ("ctest4.log", vec![
            Want { runner: Runner::Ctest, test: Some("gpu_test"), signal: Some("SegFault"), program: None, pid: None, worker: None, at_line: 4, lines: 1, first: "2/7 Test #2: gpu_test .........................***Exception: SegFault  0.00 sec", last: "2/7 Test #2: gpu_test .........................***Exception: SegFault  0.00 sec" },
            Want { runner: Runner::Ctest, test: Some("abort_test"), signal: Some("Subprocess aborted"), program: None, pid: None, worker: None, at_line: 6, lines: 1, first: "3/7 Test #3: abort_test .......................Subprocess aborted***Exception:   0.00 sec", last: "3/7 Test #3: abort_test .......................Subprocess aborted***Exception:   0.00 sec" },
            Want { runner: Runner::Ctest, test: Some("bus_test"), signal: Some("Bus error"), program: None, pid: None, worker: None, at_line: 10, lines: 1, first: "5/7 Test #5: bus_test .........................Bus error***Exception:   0.00 sec", last: "5/7 Test #5: bus_test .........................Bus error***Exception:   0.00 sec" },
            Want { runner: Runner::Ctest, test: Some("ill_test"), signal: Some("Illegal"), program: None, pid: None, worker: None, at_line: 12, lines: 1, first: "6/7 Test #6: ill_test .........................***Exception: Illegal  0.00 sec", last: "6/7 Test #6: ill_test .........................***Exception: Illegal  0.00 sec" },
            Want { runner: Runner::Ctest, test: Some("fpe_test"), signal: Some("Numerical"), program: None, pid: None, worker: None, at_line: 14, lines: 1, first: "7/7 Test #7: fpe_test .........................***Exception: Numerical  0.00 sec", last: "7/7 Test #7: fpe_test .........................***Exception: Numerical  0.00 sec" },
        ]),
        ("go-test-fault-address.log", vec![
            Want { runner: Runner::GoTest, test: Some("TestFaultAddress"), signal: Some("SIGSEGV"), program: Some("gocrash.test"), pid: None, worker: None, at_line: 0, lines: 99, first: "unexpected fault address 0xdeadbeef000", last: "FAIL\texample.com/gocrash\t0.005s" },
        ]),
        ("go-test-json-nil.log", vec![
            Want { runner: Runner::GoTest, test: Some("TestNilDevice"), signal: Some("SIGSEGV"), program: Some("gocrash.test"), pid: None, worker: None, at_line: 8, lines: 22, first: "panic: runtime error: invalid memory address or nil pointer dereference [recovered]", last: "FAIL\texample.com/gocrash\t0.007s" },
        ]),
        ("go-test-nil.log", vec![
            Want { runner: Runner::GoTest, test: Some("TestNilDevice"), signal: Some("SIGSEGV"), program: Some("gocrash.test"), pid: None, worker: None, at_line: 2, lines: 20, first: "panic: runtime error: invalid memory address or nil pointer dereference [recovered]", last: "FAIL\texample.com/gocrash\t0.008s" },
        ]),
        ("go-test-v-cgo.log", vec![
            Want { runner: Runner::GoTest, test: Some("TestCgoSubmit"), signal: Some("SIGSEGV"), program: Some("gocrash.test"), pid: None, worker: None, at_line: 1, lines: 106, first: "fatal error: unexpected signal during runtime execution", last: "FAIL\texample.com/gocrash\t0.006s" },
        ]),
        ("go-test-v-fault.log", vec![
            Want { runner: Runner::GoTest, test: Some("TestUnsafeWrite"), signal: Some("SIGSEGV"), program: Some("gocrash.test"), pid: None, worker: None, at_line: 4, lines: 19, first: "panic: runtime error: invalid memory address or nil pointer dereference [recovered]", last: "FAIL\texample.com/gocrash\t0.004s" },
        ]),
        ("go-test-v-nil.log", vec![
            Want { runner: Runner::GoTest, test: Some("TestNilDevice"), signal: Some("SIGSEGV"), program: Some("gocrash.test"), pid: None, worker: None, at_line: 3, lines: 21, first: "panic: runtime error: invalid memory address or nil pointer dereference [recovered]", last: "FAIL\texample.com/gocrash\t0.005s" },
        ]),
        ("go-test-v-parallel-gotraceback-crash.log", vec![
            Want { runner: Runner::GoTest, test: Some("TestParallelA"), signal: Some("SIGSEGV"), program: Some("gocrash.test"), pid: None, worker: None, at_line: 6, lines: 127, first: "panic: runtime error: invalid memory address or nil pointer dereference [recovered]", last: "FAIL\texample.com/gocrash\t0.005s" },
        ]),
        ("go-test-v-selfkill.log", vec![
            Want { runner: Runner::GoTest, test: Some("TestSelfKill"), signal: Some("SIGSEGV"), program: Some("gocrash.test"), pid: None, worker: None, at_line: 1, lines: 139, first: "=== RUN   TestSelfKill", last: "FAIL\texample.com/gocrash\t0.017s" },
        ]),
        ("nextest-ci-profile.log", vec![
            Want { runner: Runner::Nextest, test: Some("crashy tests::gpu_segfault"), signal: Some("SIGSEGV"), program: None, pid: None, worker: None, at_line: 43, lines: 6, first: "     SIGSEGV [   0.205s] (3/6) crashy tests::gpu_segfault", last: "    (test aborted with signal 11: SIGSEGV)" },
            Want { runner: Runner::Nextest, test: Some("crashy::integration aborts"), signal: Some("SIGABRT"), program: None, pid: None, worker: None, at_line: 50, lines: 6, first: "     SIGABRT [   0.006s] (4/6) crashy::integration aborts", last: "    (test aborted with signal 6: SIGABRT)" },
        ]),
        ("nextest-flaky-retries.log", vec![
            Want { runner: Runner::Nextest, test: Some("crashy flaky::crashes_once"), signal: Some("SIGSEGV"), program: None, pid: None, worker: None, at_line: 5, lines: 6, first: "  TRY 1 SEGV [   0.009s] (───) crashy flaky::crashes_once", last: "    (test aborted with signal 11: SIGSEGV)" },
            Want { runner: Runner::Nextest, test: Some("crashy tests::gpu_segfault"), signal: Some("SIGSEGV"), program: None, pid: None, worker: None, at_line: 13, lines: 6, first: "  TRY 1 SEGV [   0.209s] (───) crashy tests::gpu_segfault", last: "    (test aborted with signal 11: SIGSEGV)" },
            Want { runner: Runner::Nextest, test: Some("crashy tests::gpu_segfault"), signal: Some("SIGSEGV"), program: None, pid: None, worker: None, at_line: 20, lines: 6, first: "  TRY 2 SEGV [   0.211s] (───) crashy tests::gpu_segfault", last: "    (test aborted with signal 11: SIGSEGV)" },
            Want { runner: Runner::Nextest, test: Some("crashy tests::gpu_segfault"), signal: Some("SIGSEGV"), program: None, pid: None, worker: None, at_line: 27, lines: 6, first: "  TRY 3 SEGV [   0.206s] (2/2) crashy tests::gpu_segfault", last: "    (test aborted with signal 11: SIGSEGV)" },
        ]),
        ("nextest-no-capture.log", vec![
            Want { runner: Runner::Nextest, test: Some("crashy tests::gpu_segfault"), signal: Some("SIGSEGV"), program: None, pid: None, worker: None, at_line: 51, lines: 1, first: "     SIGSEGV [   0.206s] (3/6) crashy tests::gpu_segfault", last: "     SIGSEGV [   0.206s] (3/6) crashy tests::gpu_segfault" },
            Want { runner: Runner::Nextest, test: Some("crashy::integration aborts"), signal: Some("SIGABRT"), program: None, pid: None, worker: None, at_line: 63, lines: 1, first: "     SIGABRT [   0.011s] (5/6) crashy::integration aborts", last: "     SIGABRT [   0.011s] (5/6) crashy::integration aborts" },
        ]),
        ("nextest-no-fail-fast.log", vec![
            Want { runner: Runner::Nextest, test: Some("crashy tests::gpu_segfault"), signal: Some("SIGSEGV"), program: None, pid: None, worker: None, at_line: 43, lines: 6, first: "     SIGSEGV [   0.207s] (3/6) crashy tests::gpu_segfault", last: "    (test aborted with signal 11: SIGSEGV)" },
            Want { runner: Runner::Nextest, test: Some("crashy::integration aborts"), signal: Some("SIGABRT"), program: None, pid: None, worker: None, at_line: 50, lines: 6, first: "     SIGABRT [   0.007s] (4/6) crashy::integration aborts", last: "    (test aborted with signal 6: SIGABRT)" },
        ]),
        ("nextest-retries.log", vec![
            Want { runner: Runner::Nextest, test: Some("crashy tests::gpu_segfault"), signal: Some("SIGSEGV"), program: None, pid: None, worker: None, at_line: 5, lines: 6, first: "  TRY 1 SEGV [   0.206s] (───) crashy tests::gpu_segfault", last: "    (test aborted with signal 11: SIGSEGV)" },
            Want { runner: Runner::Nextest, test: Some("crashy tests::gpu_segfault"), signal: Some("SIGSEGV"), program: None, pid: None, worker: None, at_line: 12, lines: 6, first: "  TRY 2 SEGV [   0.207s] (2/2) crashy tests::gpu_segfault", last: "    (test aborted with signal 11: SIGSEGV)" },
        ]),
        ("nextest-run.log", vec![
            Want { runner: Runner::Nextest, test: Some("crashy tests::gpu_segfault"), signal: Some("SIGSEGV"), program: None, pid: None, worker: None, at_line: 44, lines: 6, first: "     SIGSEGV [   0.208s] (3/6) crashy tests::gpu_segfault", last: "    (test aborted with signal 11: SIGSEGV)" },
        ]),
        ("xcodebuild-restart-in-test.log", vec![
            Want { runner: Runner::Xcodebuild, test: Some("BoardsRepositoryTests.testCreateBoardWithColumnsAndCards"), signal: None, program: None, pid: None, worker: None, at_line: 8, lines: 1, first: "Restarting after unexpected exit, crash, or test timeout in BoardsRepositoryTests.testCreateBoardWithColumnsAndCards(); summary will include totals from previous launches.", last: "Restarting after unexpected exit, crash, or test timeout in BoardsRepositoryTests.testCreateBoardWithColumnsAndCards(); summary will include totals from previous launches." },
            Want { runner: Runner::Xcodebuild, test: Some("PersistenceIntegrationTests.testCascadingDelete"), signal: None, program: None, pid: None, worker: None, at_line: 12, lines: 2, first: "Test Case '-[HomeCookedTests.PersistenceIntegrationTests testCascadingDelete]' started.", last: "Restarting after unexpected exit, crash, or test timeout in PersistenceIntegrationTests.testCascadingDelete(); summary will include totals from previous launches." },
            Want { runner: Runner::Xcodebuild, test: Some("PersistenceIntegrationTests.testRoundTripCreateFetchDelete"), signal: None, program: None, pid: None, worker: None, at_line: 17, lines: 2, first: "Test Case '-[HomeCookedTests.PersistenceIntegrationTests testRoundTripCreateFetchDelete]' started.", last: "Restarting after unexpected exit, crash, or test timeout in PersistenceIntegrationTests.testRoundTripCreateFetchDelete(); summary will include totals from previous launches." },
        ]),
        ("xcodebuild-restart-then-early-exit.log", vec![
            Want { runner: Runner::Xcodebuild, test: Some("BoardsRepositoryTests.testCreateBoardWithColumnsAndCards"), signal: None, program: None, pid: None, worker: None, at_line: 3, lines: 2, first: "Test Case '-[HomeCookedTests.BoardsRepositoryTests testCreateBoardWithColumnsAndCards]' started.", last: "Restarting after unexpected exit, crash, or test timeout; summary will include totals from previous launches." },
            Want { runner: Runner::Xcodebuild, test: Some("BoardsRepositoryTests.testCreateBoardWithColumnsAndCards"), signal: None, program: Some("HomeCooked"), pid: Some(3584), worker: None, at_line: 8, lines: 2, first: "Test Case '-[HomeCookedTests.BoardsRepositoryTests testCreateBoardWithColumnsAndCards]' started.", last: "\tRun test suite BoardsRepositoryTests encountered an error (Early unexpected exit, operation never finished bootstrapping - no restart will be attempted. (Underlying Error: Crash: HomeCooked (3584) Board.columns.getter))" },
        ]),
    ];
    let mut logs: Vec<String> = std::fs::read_dir(dir())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .filter(|n| n.ends_with(".log"))
        .collect();
    logs.sort();
    let covered: Vec<String> = cases.iter().map(|(f, _)| (*f).to_owned()).collect();
    assert_eq!(logs, covered, "every recorded log has its expectations");
    for (file, want) in &cases {
        check(file, &run(file), want);
    }
}

/// cargo test: the whole evidence of the serial run, line for line.
#[test]
fn cargo_test_serial_evidence_is_its_lines() {
    let got = run("cargo-test-threads1.log");
    assert_eq!(
        got[0].lines,
        [
            "test tests::gpu_segfault ... error: test failed, to rerun pass `--lib`",
            "Caused by:",
            "  process didn't exit successfully: `/tmp/rt/crashy/target/debug/deps/crashy-3a07317488e3f687 --test-threads=1` (signal: 11, SIGSEGV: invalid memory reference)",
        ]
    );
}

/// The capture layer reads stdout and stderr apart: libtest's `test x ... ` (stdout, no line
/// end until the process dies) and cargo's error (stderr) arrive as separate lines.
#[test]
fn cargo_test_with_streams_apart_still_names_the_test() {
    let text = "running 4 tests\ntest tests::adds ... ok\ntest tests::gpu_segfault ... \nerror: test failed, to rerun pass `--lib`\n\nCaused by:\n  process didn't exit successfully: `/t/target/debug/deps/crashy-3a07 --test-threads=1` (signal: 11, SIGSEGV: invalid memory reference)\n";
    let got = feed(text);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].test.as_deref(), Some("tests::gpu_segfault"));
    assert_eq!(got[0].at, time(2));
    assert_eq!(got[0].lines.len(), 4);
}

/// cargo test in parallel: a test reported slow is only the one that has run longest, and
/// the crash may come from any test whose line has not been printed yet (here `gpu_segfault`,
/// started after it): no test is named, the binary and the signal are kept (review finding:
/// the slow test was named for another test's crash).
#[test]
fn cargo_test_a_slow_test_in_a_parallel_run_is_not_named() {
    let text = "running 4 tests\ntest tests::adds ... ok\ntest tests::gpu_hang has been running for over 60 seconds\nerror: test failed, to rerun pass `--lib`\n\nCaused by:\n  process didn't exit successfully: `/t/deps/crashy-3a07` (signal: 6, SIGABRT: process abort signal)\n";
    let got = feed(text);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].test, None);
    assert_eq!(got[0].program.as_deref(), Some("/t/deps/crashy-3a07"));
    assert_eq!(got[0].signal.as_deref(), Some("SIGABRT"));
    assert!(got[0].lines.iter().any(|l| l.contains("running for over")));
}

/// One test at a time (`--test-threads=1`): libtest announced the test before it ran, and its
/// slow report is about the same test, so it is named.
#[test]
fn cargo_test_one_at_a_time_a_slow_test_is_still_named() {
    let text = "running 4 tests\ntest tests::adds ... ok\ntest tests::gpu_hang ... \ntest tests::gpu_hang has been running for over 60 seconds\nerror: test failed, to rerun pass `--lib`\n\nCaused by:\n  process didn't exit successfully: `/t/deps/crashy-3a07 --test-threads=1` (signal: 6, SIGABRT: process abort signal)\n";
    let got = feed(text);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].test.as_deref(), Some("tests::gpu_hang"));
}

/// nextest's older layout: no counter, `--- STDOUT:` blocks.
#[test]
fn nextest_older_blocks_belong_to_the_crash() {
    let text = "        PASS [   0.004s] crashy tests::adds\n     SIGSEGV [   0.010s] crashy tests::gpu_segfault\n\n--- STDOUT:              crashy tests::gpu_segfault ---\n\nrunning 1 test\n\n--- STDERR:              crashy tests::gpu_segfault ---\n\n        PASS [   0.500s] crashy tests::slow_ok\n------------\n     Summary [   0.512s] 3 tests run: 2 passed, 1 failed, 0 skipped\n     SIGSEGV [   0.010s] crashy tests::gpu_segfault\nerror: test run failed\n";
    let got = feed(text);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].test.as_deref(), Some("crashy tests::gpu_segfault"));
    assert_eq!(got[0].lines.len(), 7);
    assert_eq!(
        got[0].lines.last().map(String::as_str),
        Some("--- STDERR:              crashy tests::gpu_segfault ---")
    );
}

/// ctest's summary alone (a run with `-Q`, or the result lines lost) still gives each crash,
/// once; failures and timeouts are no crash.
#[test]
fn ctest_summary_alone() {
    let text = "Test project /b\nThe following tests FAILED:\n\t  2 - gpu_test (SEGFAULT)\n\t  4 - fail_test (Failed)\n\t  8 - slow_test (Timeout)\n\t  9 - child (Child aborted)\nErrors while running CTest\n";
    let got = feed(text);
    let tests: Vec<_> = got.iter().map(|e| e.test.clone().unwrap()).collect();
    assert_eq!(tests, ["gpu_test", "child"]);
    assert_eq!(got[1].signal.as_deref(), Some("Child aborted"));
}

/// xcodebuild's closing `encountered an error (Crash: …)` for a test its Restarting line
/// already reported is the same crash.
#[test]
fn xcodebuild_closing_error_is_not_a_second_crash() {
    let text = "Test Case '-[AppTests.LoginTests testLogin]' started.\nRestarting after unexpected exit, crash, or test timeout in LoginTests.testLogin(); summary will include totals from previous launches.\nTesting failed:\n    testLogin() encountered an error (Crash: MyApp (1234) -[Login submit])\n** TEST FAILED **\n";
    let got = feed(text);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].test.as_deref(), Some("LoginTests.testLogin"));
}

/// A crash whose only report is the closing error names its test, process and pid.
#[test]
fn xcodebuild_crash_error_alone() {
    let text = "Testing failed:\n    testLogin() encountered an error (Crash: MyApp (1234) -[Login submit])\n";
    let got = feed(text);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].test.as_deref(), Some("testLogin"));
    assert_eq!(got[0].program.as_deref(), Some("MyApp"));
    assert_eq!(got[0].pid, Some(1234));
}

/// go test: a subtest's panic names the top-level test from its frame (`TestX.func1`).
#[test]
fn go_subtest_frame() {
    let text = "=== RUN   TestGPU\n=== RUN   TestGPU/metal\n--- FAIL: TestGPU/metal (0.00s)\npanic: runtime error: invalid memory address or nil pointer dereference [recovered]\n\tpanic: runtime error: invalid memory address or nil pointer dereference\n[signal SIGSEGV: segmentation violation code=0x2 addr=0x0 pc=0x1]\n\ngoroutine 8 [running]:\nexample.com/gpu.TestGPU.func1(0x14000103040)\n\t/src/gpu_test.go:12 +0x1c\ntesting.tRunner(0x14000103040, 0x1)\n\t/go/src/testing/testing.go:1446 +0x10b\nexit status 2\nFAIL\texample.com/gpu/v2\t0.211s\n";
    let got = feed(text);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].test.as_deref(), Some("TestGPU"));
    assert_eq!(got[0].program.as_deref(), Some("gpu.test"));
}

fn want_junit(file: &str, want: &[Want]) {
    let got = junit::read(&std::fs::read(dir().join(file)).unwrap()).unwrap();
    assert_eq!(got.len(), want.len(), "{file}: {got:#?}");
    for (g, w) in got.iter().zip(want) {
        assert_eq!(g.runner, Runner::Junit);
        assert_eq!(g.test.as_deref(), w.test, "{file}");
        assert_eq!(g.signal.as_deref(), w.signal, "{file}");
        assert_eq!(g.worker.as_deref(), w.worker, "{file}");
        assert_eq!(g.pid, None);
        assert_eq!(g.program, None);
        assert_eq!(g.lines.len(), w.lines, "{file}: {g:#?}");
        assert_eq!(g.lines.first().map(String::as_str), Some(w.first), "{file}");
        assert_eq!(g.lines.last().map(String::as_str), Some(w.last), "{file}");
    }
}

fn junit_want(
    test: &'static str,
    signal: Option<&'static str>,
    worker: Option<&'static str>,
    lines: usize,
    first: &'static str,
    last: &'static str,
) -> Want {
    Want {
        runner: Runner::Junit,
        test: Some(test),
        signal,
        program: None,
        pid: None,
        worker,
        at_line: 0,
        lines,
        first,
        last,
    }
}

#[test]
fn nextest_junit() {
    want_junit(
        "nextest-junit.xml",
        &[
            junit_want(
                "crashy tests::gpu_segfault",
                Some("SIGSEGV"),
                None,
                1,
                "process aborted with signal 11 (SIGSEGV)",
                "process aborted with signal 11 (SIGSEGV)",
            ),
            junit_want(
                "crashy::integration aborts",
                Some("SIGABRT"),
                None,
                1,
                "process aborted with signal 6 (SIGABRT)",
                "process aborted with signal 6 (SIGABRT)",
            ),
        ],
    );
    // The file's own times: nextest writes one per test case.
    let got = junit::read(&std::fs::read(dir().join("nextest-junit.xml")).unwrap()).unwrap();
    assert_eq!(got[0].at.to_rfc3339(), "2026-11-30T00:42:33.084+00:00");
}

#[test]
fn ctest_junit() {
    // CTest 3.25 writes message="" for a crash and a failure alike: nothing to read.
    want_junit("ctest-junit.xml", &[]);
    want_junit(
        "ctest4-junit.xml",
        &[
            junit_want(
                "gpu_test",
                Some("SEGFAULT"),
                None,
                1,
                "SEGFAULT",
                "SEGFAULT",
            ),
            junit_want(
                "abort_test",
                Some("Subprocess aborted"),
                None,
                1,
                "Subprocess aborted",
                "Subprocess aborted",
            ),
            junit_want(
                "bus_test",
                Some("Bus error"),
                None,
                1,
                "Bus error",
                "Bus error",
            ),
            junit_want("ill_test", Some("ILLEGAL"), None, 1, "ILLEGAL", "ILLEGAL"),
            junit_want(
                "fpe_test",
                Some("NUMERICAL"),
                None,
                1,
                "NUMERICAL",
                "NUMERICAL",
            ),
        ],
    );
}

#[test]
fn pytest_xdist_junit() {
    want_junit(
        "pytest-xdist-junit.xml",
        &[junit_want(
            "tests/test_gpu.py::TestMPS::test_gather",
            None,
            Some("gw0"),
            2,
            "failed on setup with \"worker 'gw0' crashed while running 'tests/test_gpu.py::TestMPS::test_gather'\"",
            "worker 'gw0' crashed while running 'tests/test_gpu.py::TestMPS::test_gather'",
        )],
    );
}

/// The same crashes, read from nextest's terminal and from its JUnit file, carry the same test
/// ids, in the same order, one per crashed try: the join can match them.
#[test]
fn nextest_terminal_and_junit_agree() {
    for (log, xml) in [
        ("nextest-no-fail-fast.log", "nextest-junit.xml"),
        ("nextest-flaky-retries.log", "nextest-flaky-junit.xml"),
    ] {
        let terminal: Vec<_> = run(log).into_iter().map(|e| e.test).collect();
        let file: Vec<_> = junit::read(&std::fs::read(dir().join(xml)).unwrap())
            .unwrap()
            .into_iter()
            .map(|e| e.test)
            .collect();
        assert_eq!(terminal, file, "{log} and {xml}");
    }
}

/// nextest's retries: a `<failure>`, then a `<rerunFailure>` per crashed retry, a
/// `<flakyFailure>` for a test that crashed and then passed; each with its own time, none with
/// the `<system-out>` nested in it.
#[test]
fn nextest_junit_retries() {
    let sigsegv = "process aborted with signal 11 (SIGSEGV)";
    let want = |test| junit_want(test, Some("SIGSEGV"), None, 1, sigsegv, sigsegv);
    want_junit(
        "nextest-flaky-junit.xml",
        &[
            want("crashy flaky::crashes_once"),
            want("crashy tests::gpu_segfault"),
            want("crashy tests::gpu_segfault"),
            want("crashy tests::gpu_segfault"),
        ],
    );
    let got = junit::read(&std::fs::read(dir().join("nextest-flaky-junit.xml")).unwrap()).unwrap();
    let times: Vec<String> = got
        .iter()
        .map(|e| e.at.format("%H:%M:%S%.3f").to_string())
        .collect();
    assert_eq!(
        times,
        [
            "00:53:44.501",
            "00:53:44.500",
            "00:53:44.711",
            "00:53:44.923"
        ]
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// No recogniser panics on any text, however it is cut into lines, and every evidence
    /// stays within its bound.
    #[test]
    fn recognisers_never_panic(lines in proptest::collection::vec(
        prop_oneof![
            any::<String>(),
            "(test |SIG|TRY 1 |goroutine |panic: |\\[signal |=== RUN |--- FAIL: |FAIL\\t|Test Case '-\\[|Restarting after unexpected exit|[0-9]+/[0-9]+ Test #)[ -~]{0,60}",
        ],
        0..60,
    )) {
        let mut all = recognizers();
        for (i, text) in lines.iter().enumerate() {
            let line = Line { stream: Stream::Stderr, at: time(i), text: text.clone() };
            for r in &mut all {
                for e in r.feed(&line) {
                    prop_assert!(e.lines.len() <= crashdelta::testlog::MAX_LINES);
                }
            }
        }
        for r in &mut all {
            r.finish();
        }
    }

    /// junit::read never panics: on bytes, and on XML-shaped text.
    #[test]
    fn junit_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..512),
                          xml in "(<testsuites?( name=\"nextest-run\")?>|<testcase( name=\"[a-z&;]{0,5}\")?( classname=\"c\")?/?>|<failure( message=\"SIGSEGV\")?/?>|</failure>|</testcase>|</testsuites?>|&[a-z#0-9]{0,4};|[ -~]{0,8}){0,20}") {
        let _ = junit::read(&bytes);
        let _ = junit::read(xml.as_bytes());
    }
}
