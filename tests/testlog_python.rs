//! The Python recognisers on real output: runs of a suite that crashes for real, recorded here
//! (`testdata/testlogs/python/suite/record.sh`), and dumps published in issue threads; origins
//! and the expected reading of each are in `testdata/testlogs/python/SOURCES.tsv`. Each file is
//! fed through every recogniser together, as the join does, so one crash must make exactly one
//! piece of evidence.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use chrono::{TimeZone, Utc};
use crashdelta::testlog::{self, Evidence, Line, Runner, Stream};
use proptest::prelude::*;

fn fixture(name: &str) -> String {
    let path = format!(
        "{}/testdata/testlogs/python/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Feeds `lines`, in order, through all recognisers together, then finishes them.
fn feed(lines: impl IntoIterator<Item = Line>) -> Vec<Evidence> {
    let mut all = testlog::recognizers();
    let mut out = Vec::new();
    for line in lines {
        for r in all.iter_mut() {
            out.extend(r.feed(&line));
        }
    }
    for r in all.iter_mut() {
        out.extend(r.finish());
    }
    out
}

/// Feeds `text` line by line, one second apart, through all recognisers, then finishes them.
fn read(text: &str) -> Vec<Evidence> {
    feed(text.lines().enumerate().map(|(i, t)| Line {
        stream: Stream::Stdout,
        at: Utc.timestamp_opt(1_790_000_000 + i as i64, 0).unwrap(),
        text: testlog::plain(t),
    }))
}

/// `file:line in function` of the first `n` frames, with the file's last two components.
fn top(e: &Evidence, n: usize) -> Vec<String> {
    e.python_stack
        .iter()
        .take(n)
        .map(|f| {
            let short: Vec<&str> = f.file.rsplit('/').take(2).collect();
            let short: Vec<&str> = short.into_iter().rev().collect();
            match f.line {
                Some(l) => format!("{}:{l} in {}", short.join("/"), f.function),
                None => format!("{}:??? in {}", short.join("/"), f.function),
            }
        })
        .collect()
}

/// The one piece of evidence `text` must give.
fn one(name: &str) -> Evidence {
    let mut all = read(&fixture(name));
    assert_eq!(all.len(), 1, "{name}: {all:#?}");
    all.remove(0)
}

const SUITE_STACK: [&str; 3] = [
    "ctypes/__init__.py:519 in string_at",
    "tests/ops.py:7 in gather",
    "tests/test_mps.py:13 in test_gather",
];

#[test]
fn plain_pytest_infers_the_test_from_the_stack_and_the_progress_line() {
    let e = one("pytest-plain.txt");
    assert_eq!(e.runner, Runner::Pytest);
    // No class: faulthandler prints functions only (the node id is ...::TestMPS::test_gather).
    assert_eq!(e.test.as_deref(), Some("tests/test_mps.py::test_gather"));
    assert_eq!(e.worker, None);
    assert_eq!(e.signal.as_deref(), Some("Segmentation fault"));
    assert!(
        e.thread
            .as_deref()
            .unwrap()
            .starts_with("Current thread 0x")
    );
    assert_eq!(top(&e, 3), SUITE_STACK);
    assert_eq!(e.python_stack.len(), 35);
    assert_eq!(e.python_stack[34].function, "_run_module_as_main");
    assert_eq!(e.python_stack[34].file, "<frozen runpy>");
    // The evidence starts at the line the dump interrupted (line 7 of the file, 0-based 6).
    assert_eq!(e.at.timestamp(), 1_790_000_006);
    assert!(e.lines[0].starts_with("tests/test_mps.py ..Fatal Python error"));
}

#[test]
fn pytest_v_names_the_node_id() {
    let e = one("pytest-v.txt");
    assert_eq!(e.runner, Runner::Pytest);
    assert_eq!(
        e.test.as_deref(),
        Some("tests/test_mps.py::TestMPS::test_gather")
    );
    assert_eq!(e.worker, None);
    assert_eq!(top(&e, 3), SUITE_STACK);
}

#[test]
fn xdist_joins_the_worker_dump_with_the_crashed_worker() {
    let e = one("pytest-xdist-n2.txt");
    assert_eq!(e.runner, Runner::PytestXdist);
    assert_eq!(
        e.test.as_deref(),
        Some("tests/test_mps.py::TestMPS::test_gather")
    );
    assert_eq!(e.worker.as_deref(), Some("gw1"));
    assert_eq!(e.signal.as_deref(), Some("Segmentation fault"));
    // The crashing thread, not execnet's receiver thread printed before it.
    assert!(e.thread.as_deref().unwrap().starts_with("Current thread"));
    assert_eq!(top(&e, 3), SUITE_STACK);
    // At the dump, which is nearest the crash, not at the summary.
    assert_eq!(e.at.timestamp(), 1_790_000_007);
    assert!(e.lines.iter().any(|l| l.contains("node down")));
    assert!(
        e.lines
            .iter()
            .any(|l| l.starts_with("worker 'gw1' crashed"))
    );
}

#[test]
fn xdist_two_crashes_each_get_their_own_dump_whatever_node_id_stands_before_it() {
    let all = read(&fixture("pytest-xdist-n4-two-crashes.txt"));
    assert_eq!(all.len(), 2, "{all:#?}");
    let gather = all
        .iter()
        .find(|e| e.worker.as_deref() == Some("gw2"))
        .unwrap();
    let bucketize = all
        .iter()
        .find(|e| e.worker.as_deref() == Some("gw0"))
        .unwrap();
    assert_eq!(gather.runner, Runner::PytestXdist);
    assert_eq!(
        gather.test.as_deref(),
        Some("tests/test_mps.py::TestMPS::test_gather")
    );
    assert_eq!(top(gather, 3), SUITE_STACK);
    // Both dumps stood behind `test_zeros`, which passed on gw3.
    assert!(gather.lines[0].starts_with("tests/test_mps.py::TestMPS::test_zeros Fatal"));
    assert_eq!(gather.at.timestamp(), 1_790_000_009);
    assert_eq!(bucketize.runner, Runner::PytestXdist);
    assert_eq!(
        bucketize.test.as_deref(),
        Some("tests/test_ops.py::test_bucketize")
    );
    assert_eq!(
        top(bucketize, 4),
        [
            "ctypes/__init__.py:519 in string_at",
            "tests/ops.py:7 in gather",
            "tests/ops.py:11 in bucketize",
            "tests/test_ops.py:9 in test_bucketize",
        ]
    );
    assert!(
        bucketize.lines[0]
            .starts_with("[gw3] [ 14%] PASSED tests/test_mps.py::TestMPS::test_zeros Fatal")
    );
    assert_eq!(bucketize.at.timestamp(), 1_790_000_060);
    assert_ne!(gather.thread, bucketize.thread);
}

#[test]
fn xdist_on_a_terminal_reads_the_same() {
    // Recorded under a pseudo-terminal: colours, `\r` overwrites of xdist's start-up line.
    let raw = fixture("pytest-xdist-n2-v-tty.txt");
    assert!(raw.contains('\u{1b}') && raw.contains('\r'));
    let e = one("pytest-xdist-n2-v-tty.txt");
    assert_eq!(e.runner, Runner::PytestXdist);
    assert_eq!(
        e.test.as_deref(),
        Some("tests/test_mps.py::TestMPS::test_gather")
    );
    assert_eq!(e.worker.as_deref(), Some("gw1"));
    assert_eq!(top(&e, 3), SUITE_STACK);
}

#[test]
fn unittest_without_faulthandler_leaves_the_open_test() {
    let e = one("unittest-v.txt");
    assert_eq!(e.runner, Runner::Unittest);
    assert_eq!(e.test.as_deref(), Some("test_unit.TestGather.test_gather"));
    assert!(e.python_stack.is_empty());
    assert_eq!(e.signal, None);
}

#[test]
fn unittest_with_faulthandler() {
    let e = one("unittest-v-faulthandler.txt");
    assert_eq!(e.runner, Runner::Unittest);
    assert_eq!(e.test.as_deref(), Some("test_unit.TestGather.test_gather"));
    assert_eq!(
        top(&e, 3),
        [
            "ctypes/__init__.py:519 in string_at",
            "crashdelta-pysuite/test_unit.py:6 in crash",
            "crashdelta-pysuite/test_unit.py:14 in test_gather",
        ]
    );
}

#[test]
fn a_plain_script_has_no_test() {
    let e = one("script-faulthandler.txt");
    assert_eq!(e.runner, Runner::Faulthandler);
    assert_eq!(e.test, None);
    assert_eq!(
        top(&e, 4),
        [
            "ctypes/__init__.py:519 in string_at",
            "crashdelta-pysuite/crash_script.py:5 in inner",
            "crashdelta-pysuite/crash_script.py:9 in main",
            "crashdelta-pysuite/crash_script.py:12 in <module>",
        ]
    );
    assert_eq!(e.lines.len(), 7);
}

#[test]
fn published_pytorch_mps_crash_under_pytest_v() {
    let e = one("gh-pytorch-142203.txt");
    assert_eq!(e.runner, Runner::Pytest);
    assert_eq!(
        e.test.as_deref(),
        Some("test/test_ops.py::TestCommonMPS::test_out_bucketize_mps_float32")
    );
    assert_eq!(
        e.thread.as_deref(),
        Some("Current thread 0x00000001f1318540")
    );
    assert_eq!(
        top(&e, 2),
        [
            "opinfo/core.py:1202 in __call__",
            "test/test_ops.py:1101 in test_out"
        ]
    );
}

#[test]
fn published_plain_pytest_crash() {
    let e = one("gh-vscode-python-22090.txt");
    assert_eq!(e.runner, Runner::Pytest);
    assert_eq!(
        e.test.as_deref(),
        Some("test_many_functions.py::test_many_1p")
    );
    assert_eq!(top(&e, 1), ["ctypes/__init__.py:517 in string_at"]);
}

#[test]
fn published_fixture_abort_names_no_test() {
    let e = one("gh-tenstorrent-751.txt");
    assert_eq!(e.runner, Runner::Pytest);
    assert_eq!(e.signal.as_deref(), Some("Aborted"));
    // The crash is in a fixture: no test function on the stack, and a file is not a test.
    assert_eq!(e.test, None);
    assert_eq!(top(&e, 1), ["tests/conftest.py:63 in device"]);
}

#[test]
fn every_fixture_has_its_origin_and_expectation() {
    let dir = format!("{}/testdata/testlogs/python", env!("CARGO_MANIFEST_DIR"));
    let sources = std::fs::read_to_string(format!("{dir}/SOURCES.tsv")).unwrap();
    let listed: Vec<&str> = sources
        .lines()
        .skip(1)
        .filter_map(|l| l.split('\t').next())
        .collect();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().to_string();
        if entry.path().is_file() && (name.ends_with(".txt") || name.ends_with(".xml")) {
            assert!(
                listed.contains(&name.as_str()),
                "{name} is not in SOURCES.tsv"
            );
        }
    }
    for name in listed {
        let row = sources.lines().find(|l| l.starts_with(name)).unwrap();
        assert_eq!(row.split('\t').count(), 6, "{row}");
        assert!(
            std::path::Path::new(&format!("{dir}/{name}")).is_file(),
            "{name} is listed but missing"
        );
        // Output of a run; the JUnit XML is for the --test-results reader.
        if name.ends_with(".txt") {
            assert!(!read(&fixture(name)).is_empty(), "{name} gives no evidence");
        }
    }
}

/// Feeds `(stream, text)` lines through all recognisers, one second apart.
fn read_streams(lines: &[(Stream, String)]) -> Vec<Evidence> {
    feed(lines.iter().enumerate().map(|(i, (stream, t))| Line {
        stream: *stream,
        at: Utc.timestamp_opt(1_790_000_000 + i as i64, 0).unwrap(),
        text: testlog::plain(t),
    }))
}

/// A recording as it arrives when stdout and stderr are read through separate pipes: pytest's
/// lines on stdout, the dump on stderr, and pytest's unfinished line (the one the dump
/// interrupted on a terminal) on its own, either `early` (a capture that hands over a partial
/// line when the stream goes quiet) or at the end (when the output ends).
fn split(name: &str, early: bool) -> Vec<(Stream, String)> {
    let mut lines = Vec::new();
    let mut unfinished = None;
    let mut in_dump = false;
    for t in fixture(name).lines() {
        if let Some(at) = t.find("Fatal Python error: ") {
            let (before, dump) = t.split_at(at);
            if early {
                lines.push((Stream::Stdout, before.to_string()));
            } else {
                unfinished = Some(before.to_string());
            }
            lines.push((Stream::Stderr, dump.to_string()));
            in_dump = true;
        } else {
            let stream = if in_dump {
                Stream::Stderr
            } else {
                Stream::Stdout
            };
            lines.push((stream, t.to_string()));
        }
    }
    lines.extend(unfinished.map(|u| (Stream::Stdout, u)));
    lines
}

#[test]
fn stdout_and_stderr_read_apart_still_name_the_test() {
    for early in [false, true] {
        let all = read_streams(&split("pytest-v.txt", early));
        assert_eq!(all.len(), 1, "early {early}: {all:#?}");
        assert_eq!(
            all[0].test.as_deref(),
            Some("tests/test_mps.py::TestMPS::test_gather"),
            "early {early}"
        );
        assert_eq!(top(&all[0], 3), SUITE_STACK);

        let all = read_streams(&split("pytest-plain.txt", early));
        assert_eq!(all.len(), 1, "early {early}: {all:#?}");
        assert_eq!(
            all[0].test.as_deref(),
            Some("tests/test_mps.py::test_gather"),
            "early {early}"
        );

        let all = read_streams(&split("pytest-xdist-n4-two-crashes.txt", early));
        let mut tests: Vec<_> = all.iter().map(|e| e.test.clone().unwrap()).collect();
        tests.sort();
        assert_eq!(
            tests,
            [
                "tests/test_mps.py::TestMPS::test_gather",
                "tests/test_ops.py::test_bucketize"
            ],
            "early {early}"
        );

        let all = read_streams(&split("gh-pytorch-142203.txt", early));
        assert_eq!(all.len(), 1, "early {early}: {all:#?}");
        assert_eq!(
            all[0].test.as_deref(),
            Some("test/test_ops.py::TestCommonMPS::test_out_bucketize_mps_float32")
        );
    }
}

#[test]
fn colours_and_stderr_do_not_change_the_reading() {
    // The same run as a terminal shows it: pytest's colours, the dump on stderr.
    let text = fixture("pytest-v.txt").replace(" PASSED", " \u{1b}[32mPASSED\u{1b}[0m");
    let mut all = testlog::recognizers();
    let mut out = Vec::new();
    for (i, t) in text.lines().enumerate() {
        let stream = if t.starts_with("  File") || t.starts_with("Current") {
            Stream::Stderr
        } else {
            Stream::Stdout
        };
        let line = Line {
            stream,
            at: Utc.timestamp_opt(1_790_000_000 + i as i64, 0).unwrap(),
            text: testlog::plain(t),
        };
        for r in all.iter_mut() {
            out.extend(r.feed(&line));
        }
    }
    for r in all.iter_mut() {
        out.extend(r.finish());
    }
    assert_eq!(out.len(), 1);
    assert_eq!(
        out[0].test.as_deref(),
        Some("tests/test_mps.py::TestMPS::test_gather")
    );
}

/// Lines that look like what the recognisers read, to be shuffled into arbitrary orders.
const PIECES: &[&str] = &[
    "Fatal Python error: Segmentation fault",
    "tests/x.py::T::test_a Fatal Python error: Aborted",
    "test_a (m.C.test_a) ... ",
    "test_a (m.C.test_a) ... Fatal Python error: Bus error",
    "",
    "Current thread 0x0000000100 (most recent call first):",
    "Thread 0x0000000200 (most recent call first):",
    "Stack (most recent call first):",
    "  File \"/r/tests/x.py\", line 3 in test_a",
    "  File \"/r/tests/ops.py\", line ??? in gather",
    "  <no Python frame>",
    "  ...",
    "Extension modules: torch._C (total: 1)",
    "created: 2/2 workers",
    "[gw0] node down: Not properly terminated",
    "replacing crashed worker gw0",
    "[gw0] [ 50%] FAILED tests/x.py::T::test_a",
    "worker 'gw0' crashed while running 'tests/x.py::T::test_a'",
    "FAILED tests/x.py::T::test_a - worker 'gw0' crashed while running 'te...",
    "tests/x.py ..",
    "ok",
];

/// A worker's faulthandler dump for `tests/test_{k}.py::test_{k}`, behind `prefix`.
fn worker_dump(k: usize, prefix: &str) -> Vec<String> {
    vec![
        format!("{prefix}Fatal Python error: Segmentation fault"),
        String::new(),
        format!("Thread 0x00007f00000000{k}0 (most recent call first):"),
        "  File \"/r/execnet/gateway_base.py\", line 534 in read".to_string(),
        String::new(),
        format!("Current thread 0x00007f00000000{k}1 (most recent call first):"),
        "  File \"/r/tests/ops.py\", line 7 in gather".to_string(),
        format!("  File \"/r/tests/test_{k}.py\", line 3 in test_{k}"),
        "  File \"/r/_pytest/python.py\", line 166 in pytest_pyfunc_call".to_string(),
        String::new(),
    ]
}

proptest! {
    /// However the crashing workers' output interleaves, each crash is one evidence with its own
    /// test, worker and stack.
    #[test]
    fn xdist_crashes_are_joined_one_to_one(
        k in 1usize..5,
        keys in prop::collection::vec(0u32..1000, 8),
        gaps in prop::collection::vec(1u32..1000, 4),
        verbose in any::<bool>(),
        replacing in any::<bool>(),
        summary in any::<bool>(),
    ) {
        // Each crash: its dump at keys[i], its worker's end later (keys[i] + gaps[i]).
        let mut events: Vec<(u32, usize, bool)> = Vec::new();
        for i in 0..k {
            events.push((keys[i], i, false));
            events.push((keys[i] + gaps[i], i, true));
        }
        events.sort();
        let mut lines = vec!["created: 4/4 workers".to_string(), "4 workers [9 items]".to_string()];
        for (_, i, down) in events {
            if down {
                lines.push(format!("[gw{i}] node down: Not properly terminated"));
                if verbose {
                    lines.push(format!("[gw{i}] [ 50%] FAILED tests/test_{i}.py::test_{i} "));
                } else {
                    lines.push("F".to_string());
                }
                if replacing {
                    lines.push(String::new());
                    lines.push(format!("replacing crashed worker gw{i}"));
                }
            } else {
                // Under -v the node id before a dump is whatever the controller announced last.
                let prefix = if verbose { format!("tests/test_{}.py::test_x ", (i + 1) % 4) } else { String::new() };
                lines.extend(worker_dump(i, &prefix));
            }
        }
        if summary || !verbose {
            for i in 0..k {
                lines.push(format!("[gw{i}] linux -- Python 3.11.7 /v/bin/python"));
                lines.push(format!("worker 'gw{i}' crashed while running 'tests/test_{i}.py::test_{i}'"));
            }
            for i in 0..k {
                lines.push(format!("FAILED tests/test_{i}.py::test_{i} - worker 'gw{i}' crashed while running 'tes..."));
            }
        }
        let all = read(&lines.join("\n"));
        prop_assert_eq!(all.len(), k, "{:#?}", all);
        for i in 0..k {
            let worker = format!("gw{i}");
            let e = all.iter().find(|e| e.worker.as_deref() == Some(worker.as_str()));
            prop_assert!(e.is_some(), "no evidence for {}", worker);
            let e = e.unwrap();
            prop_assert_eq!(e.runner, Runner::PytestXdist);
            let test = format!("tests/test_{i}.py::test_{i}");
            prop_assert_eq!(e.test.as_deref(), Some(test.as_str()));
            prop_assert_eq!(e.python_stack.len(), 3);
            let function = format!("test_{i}");
            prop_assert_eq!(e.python_stack[1].function.as_str(), function.as_str());
        }
    }

    #[test]
    fn no_panic_on_arbitrary_lines(lines in prop::collection::vec(".{0,200}", 0..60)) {
        let _ = read(&lines.join("\n"));
    }

    #[test]
    fn no_panic_and_bounded_evidence_on_shuffled_pieces(
        picks in prop::collection::vec(0..PIECES.len(), 0..200)
    ) {
        let text: Vec<&str> = picks.iter().map(|&i| PIECES[i]).collect();
        let n = text.len();
        let all = read(&text.join("\n"));
        // At most one evidence per line read: nothing is claimed twice out of nothing.
        prop_assert!(all.len() <= n);
        for e in &all {
            prop_assert!(e.lines.len() <= testlog::MAX_LINES);
        }
    }
}

/// Reads a recording of the two pipes as crashdelta read them: one `stream<TAB>ms<TAB>text`
/// line per line, in the order the two readers handed them over.
fn read_recorded_streams(text: &str) -> Vec<Evidence> {
    feed(text.lines().map(|row| {
        let mut cols = row.splitn(3, '\t');
        let (stream, ms, text) = (
            cols.next().unwrap(),
            cols.next().unwrap(),
            cols.next().unwrap(),
        );
        Line {
            stream: if stream == "Stdout" {
                Stream::Stdout
            } else {
                Stream::Stderr
            },
            at: Utc.timestamp_millis_opt(ms.parse().unwrap()).unwrap(),
            text: text.to_string(),
        }
    }))
}

/// `-n 4`, two crashing tests, stdout and stderr read apart (as `watch` reads them): the first
/// worker's dump is written in pieces 190 ms apart, xdist's `node down` for it arrives in the
/// middle of it, the second dump begins right after the second `node down`. Each crash is one
/// piece of evidence, with its test, its worker and its own stack.
#[test]
fn xdist_two_crashes_read_from_two_pipes() {
    let all = read_recorded_streams(&fixture("pytest-xdist-n4-two-pipes.tsv"));
    let summary: Vec<(Option<&str>, Option<&str>, Vec<String>)> = all
        .iter()
        .map(|e| (e.test.as_deref(), e.worker.as_deref(), top(e, 4)))
        .collect();
    assert_eq!(all.len(), 2, "{summary:#?}");
    assert_eq!(
        all[0].test.as_deref(),
        Some("tests/test_indexing.py::test_take"),
        "{summary:#?}"
    );
    assert_eq!(all[0].worker.as_deref(), Some("gw1"));
    assert!(
        top(&all[0], 4).iter().any(|f| f.ends_with("in test_take")),
        "{summary:#?}"
    );
    assert_eq!(
        all[1].test.as_deref(),
        Some("tests/test_ops.py::TestMPS::test_gather")
    );
    assert_eq!(all[1].worker.as_deref(), Some("gw4"));
    assert!(
        top(&all[1], 4)
            .iter()
            .any(|f| f.ends_with("in test_gather")),
        "{summary:#?}"
    );
}

/// The recorded `-n 2` run with one frame changed or added in the crashing thread, just above
/// (inner to) `test_gather`'s: a derivation of `pytest-xdist-n2.txt`, made here.
fn xdist_n2_with(frame: &str, replace: bool) -> String {
    let recorded = fixture("pytest-xdist-n2.txt");
    let gather = "  File \"/tmp/crashdelta-pysuite/tests/test_mps.py\", line 13 in test_gather\n";
    assert!(recorded.contains(gather));
    let with = if replace {
        format!("{frame}\n")
    } else {
        format!("{frame}\n{gather}")
    };
    recorded.replacen(gather, &with, 1)
}

/// A test that calls a helper named `test_*` (or whose innermost test-named frame is otherwise
/// not its own function): the worker's crash names `TestMPS::test_gather`, the innermost test
/// frame is `test_zeros`; the dump still runs `test_gather` further out, so it is that worker's.
/// One crash, one piece of evidence (review finding: the worker with no stack, plus the dump
/// on its own as `test_mps.py::test_zeros`).
#[test]
fn xdist_a_test_calling_a_test_named_helper_is_one_crash() {
    let text = xdist_n2_with(
        "  File \"/tmp/crashdelta-pysuite/tests/test_mps.py\", line 5 in test_zeros",
        false,
    );
    let all = read(&text);
    assert_eq!(all.len(), 1, "{all:#?}");
    let e = &all[0];
    assert_eq!(e.runner, Runner::PytestXdist);
    assert_eq!(
        e.test.as_deref(),
        Some("tests/test_mps.py::TestMPS::test_gather")
    );
    assert_eq!(e.worker.as_deref(), Some("gw1"));
    assert_eq!(e.python_stack.len(), 41);
}

/// A test inherited from a base class in another test file: its frame is the base file's, the
/// node id the subclass's file. With no better dump by the end, the dump with the node's
/// function is the worker's, not a crash of its own.
#[test]
fn xdist_an_inherited_test_is_one_crash() {
    let text = xdist_n2_with(
        "  File \"/tmp/crashdelta-pysuite/tests/test_base.py\", line 13 in test_gather",
        true,
    );
    let all = read(&text);
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(
        all[0].test.as_deref(),
        Some("tests/test_mps.py::TestMPS::test_gather")
    );
    assert_eq!(all[0].worker.as_deref(), Some("gw1"));
    assert_eq!(all[0].python_stack.len(), 40);
}

/// Two recorded runs one after the other, as one command that runs pytest twice prints them
/// (`pytest -n 2 a/; pytest -v b/`): a derivation of the recorded files, made here.
fn one_after_the_other(first: &str, second: &str) -> String {
    format!("{}{}", fixture(first), fixture(second))
}

/// The same xdist session twice: the second session's workers have the first one's names,
/// and its crash is a crash of its own, with its worker and its stack (review finding: the
/// second crash lost its worker, read as a dump of no worker).
#[test]
fn xdist_two_sessions_with_the_same_worker_names() {
    let all = read(&one_after_the_other(
        "pytest-xdist-n2.txt",
        "pytest-xdist-n2.txt",
    ));
    assert_eq!(all.len(), 2, "{all:#?}");
    for e in &all {
        assert_eq!(e.runner, Runner::PytestXdist);
        assert_eq!(
            e.test.as_deref(),
            Some("tests/test_mps.py::TestMPS::test_gather")
        );
        assert_eq!(e.worker.as_deref(), Some("gw1"));
        assert_eq!(top(e, 3), SUITE_STACK);
        assert!(e.lines.iter().any(|l| l.contains("node down")));
    }
    assert!(all[0].at < all[1].at);
}

/// Without the session header (`pytest -q` prints none), a worker's second `node down` is
/// still a second crash: xdist prints each of its crash lines once per crash.
#[test]
fn xdist_a_worker_name_crashing_again_without_a_header_is_a_new_crash() {
    let text = one_after_the_other("pytest-xdist-n2.txt", "pytest-xdist-n2.txt")
        .lines()
        .filter(|l| !l.contains("test session starts"))
        .collect::<Vec<_>>()
        .join("\n");
    let all = read(&text);
    assert_eq!(all.len(), 2, "{all:#?}");
    for e in &all {
        assert_eq!(e.worker.as_deref(), Some("gw1"));
        assert_eq!(top(e, 3), SUITE_STACK);
    }
}

/// An xdist session, then a plain `pytest -v` one: the second crash is plain pytest's, named
/// by its `-v` node id (review finding: read as xdist's, with the stack's absolute path).
#[test]
fn a_plain_session_after_an_xdist_one_is_read_as_plain() {
    let all = read(&one_after_the_other("pytest-xdist-n2.txt", "pytest-v.txt"));
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_eq!(all[0].runner, Runner::PytestXdist);
    assert_eq!(all[0].worker.as_deref(), Some("gw1"));
    assert_eq!(all[1].runner, Runner::Pytest);
    assert_eq!(all[1].worker, None);
    assert_eq!(
        all[1].test.as_deref(),
        Some("tests/test_mps.py::TestMPS::test_gather")
    );
    assert_eq!(top(&all[1], 3), SUITE_STACK);
}

/// The other way round: a plain session's crash, then an xdist one's, each read as its own.
#[test]
fn an_xdist_session_after_a_plain_one_keeps_its_worker() {
    let all = read(&one_after_the_other(
        "pytest-plain.txt",
        "pytest-xdist-n2.txt",
    ));
    assert_eq!(all.len(), 2, "{all:#?}");
    assert_eq!(all[0].runner, Runner::Pytest);
    assert_eq!(
        all[0].test.as_deref(),
        Some("tests/test_mps.py::test_gather")
    );
    assert_eq!(all[1].runner, Runner::PytestXdist);
    assert_eq!(all[1].worker.as_deref(), Some("gw1"));
}

/// Plain pytest, a test calling a helper named `test_*` (the recorded `pytest-plain.txt` with
/// a `test_zeros` frame added inside `test_gather`'s, a derivation made here): the test named
/// from the stack is the one pytest called, the outermost test frame, not the helper.
#[test]
fn the_test_from_the_stack_is_the_one_the_runner_called() {
    let recorded = fixture("pytest-plain.txt");
    let gather = "  File \"/tmp/crashdelta-pysuite/tests/test_mps.py\", line 13 in test_gather\n";
    assert!(recorded.contains(gather));
    let helper = "  File \"/tmp/crashdelta-pysuite/tests/test_mps.py\", line 5 in test_zeros\n";
    let all = read(&recorded.replacen(gather, &format!("{helper}{gather}"), 1));
    assert_eq!(all.len(), 1, "{all:#?}");
    assert_eq!(
        all[0].test.as_deref(),
        Some("tests/test_mps.py::test_gather")
    );
}

/// Whether the runner printed the test or it was read off the Python stack is part of the
/// evidence: `pytest -v` prints the node id (exact); plain pytest prints only the file, so the
/// test is `file::function` from the stack (no class, no parameters) and says so.
#[test]
fn a_test_read_off_the_stack_says_so() {
    let printed = one("pytest-v.txt");
    assert_eq!(
        printed.test.as_deref(),
        Some("tests/test_mps.py::TestMPS::test_gather")
    );
    assert!(!printed.test_inferred);
    let inferred = one("pytest-plain.txt");
    assert_eq!(
        inferred.test.as_deref(),
        Some("tests/test_mps.py::test_gather")
    );
    assert!(inferred.test_inferred);
    let json = serde_json::to_value(&inferred).unwrap();
    assert_eq!(json["test_inferred"], true);
    assert!(
        serde_json::to_value(&printed)
            .unwrap()
            .get("test_inferred")
            .is_none()
    );
}
