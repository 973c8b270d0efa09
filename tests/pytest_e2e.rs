//! Which test crashed, end to end (issue 14): real pytest and pytest-xdist runs under `watch`, in
//! which tests crash their process for real (`tests/pysuite/`: `ctypes.string_at(0)`, a real
//! SIGSEGV, a real faulthandler dump, a real xdist worker replacement). Linux writes no crash
//! report: `tests/pysuite/reportcrash.py` stands in for ReportCrash and writes the known AGX race
//! report for the crashed process's real pid once it has died. `watch` must name the test, the
//! worker and the Python stack in every format.
//!
//! pytest and pytest-xdist come pinned from `.ci/python-requirements.txt`: `bash .ci/test`
//! installs them and sets `CRASHDELTA_TEST_PYTHON`. Under a bare `cargo test` the tests use
//! `python3` if it has both, and otherwise skip saying so; with `CRASHDELTA_REQUIRE_PYTEST` set
//! (as `.ci/test` sets it) a missing runner fails them.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{crashdelta, stderr};

/// The Python with pytest and pytest-xdist, or `None` (the test is skipped) when there is none
/// and none is required.
fn python() -> Option<PathBuf> {
    let python = std::env::var_os("CRASHDELTA_TEST_PYTHON")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("python3"));
    let has = Command::new(&python)
        .args(["-c", "import pytest, xdist"])
        .output()
        .is_ok_and(|o| o.status.success());
    if has {
        return Some(python);
    }
    assert!(
        std::env::var_os("CRASHDELTA_REQUIRE_PYTEST").is_none(),
        "{} has no pytest and pytest-xdist: run `bash .ci/test`, which installs them",
        python.display()
    );
    eprintln!(
        "skipped: {} has no pytest and pytest-xdist (`bash .ci/test` installs them)",
        python.display()
    );
    None
}

/// A copy of the suite in a temporary folder, with an empty report folder beside it.
struct Suite {
    dir: tempfile::TempDir,
}

impl Suite {
    fn new() -> Suite {
        let dir = tempfile::tempdir().unwrap();
        let from = common::root().join("tests/pysuite");
        for rel in [
            "reportcrash.py",
            "tests/conftest.py",
            "tests/gpu.py",
            "tests/test_ops.py",
            "tests/test_indexing.py",
        ] {
            let to = dir.path().join(rel);
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(from.join(rel), to).unwrap();
        }
        std::fs::create_dir(dir.path().join("reports")).unwrap();
        Suite { dir }
    }

    fn reports(&self) -> PathBuf {
        self.dir.path().join("reports")
    }

    /// crashdelta, run in the suite, with the ReportCrash stand-in's settings and a Python
    /// environment the user's own cannot change.
    fn crashdelta(&self) -> assert_cmd::Command {
        let mut cmd = crashdelta();
        cmd.current_dir(self.dir.path())
            .env("CRASHDELTA_E2E_REPORTS", self.reports())
            .env("CRASHDELTA_E2E_RACE", common::root().join(common::RACE))
            .env("PYTHONDONTWRITEBYTECODE", "1")
            .env_remove("PYTHONFAULTHANDLER")
            .env_remove("PYTEST_ADDOPTS");
        cmd
    }

    /// `crashdelta watch --format FORMAT --output OUT -- python -m pytest ARGS` in the suite;
    /// returns the output, the human summary (standard error) and the record.
    fn watch(&self, python: &Path, format: &str, pytest: &[&str]) -> (i32, String, String) {
        for entry in std::fs::read_dir(self.reports()).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
        let record = self.dir.path().join(format!("record.{format}"));
        let out = self
            .crashdelta()
            .args(["watch", "--settle", "1s", "--format", format, "--output"])
            .arg(&record)
            .arg("--reports-dir")
            .arg(self.reports())
            .arg("--")
            .arg(python)
            .args(["-m", "pytest", "-p", "no:cacheprovider"])
            .args(pytest)
            .output()
            .unwrap();
        let record = std::fs::read_to_string(&record).unwrap_or_default();
        (out.status.code().unwrap_or(-1), stderr(&out), record)
    }
}

const GATHER: &str = "tests/test_ops.py::TestMPS::test_gather";
const TAKE: &str = "tests/test_indexing.py::test_take";

/// The `test` object of the JSON record's crash report whose test is `id`.
fn joined<'a>(doc: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    doc["new"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| &n["test"])
        .find(|t| t["evidence"]["test"] == id)
        .unwrap_or_else(|| panic!("no crash joined with {id}: {doc:#}"))
}

/// The frames' functions of a joined Python stack, most recent call first.
fn functions(test: &serde_json::Value) -> Vec<&str> {
    test["evidence"]["python_stack"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["function"].as_str().unwrap())
        .collect()
}

/// Runs one scenario in JSON, Markdown and JUnit (each run also prints the human summary) and
/// checks that each crashed test is named, with its worker and Python stack, in each.
fn scenario(pytest: &[&str], crashed: &[(&str, &str)], runner: &str, worker: bool) {
    let Some(python) = python() else {
        return;
    };
    let suite = Suite::new();

    let (code, human, json) = suite.watch(&python, "json", pytest);
    assert_eq!(code, 86, "the race fails the gate:\n{human}");
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|e| {
        panic!("{e}: {json}\n{human}");
    });
    assert_eq!(
        doc["new"].as_array().map(Vec::len),
        Some(crashed.len()),
        "{human}"
    );
    for (id, function) in crashed {
        let test = joined(&doc, id);
        assert_eq!(test["evidence"]["runner"], runner, "{test:#}");
        // Each report is joined by its own pid: the process the sampler saw die as the dump
        // was printed.
        assert_eq!(test["how"], "pid-died", "{test:#}\n{human}");
        let stack = functions(test);
        assert_eq!(stack.first(), Some(&"string_at"), "{stack:?}");
        assert!(stack.contains(function), "{id}: {stack:?}");
        assert!(
            test["evidence"]["signal"]
                .as_str()
                .unwrap()
                .contains("Segmentation fault"),
            "{test:#}"
        );
        if worker {
            let w = test["evidence"]["worker"].as_str().unwrap();
            assert!(w.starts_with("gw"), "{test:#}");
            assert!(
                human.contains(&format!("  Test:      {id} (")) && human.contains(w),
                "{human}"
            );
        } else {
            assert!(test["evidence"]["worker"].is_null(), "{test:#}");
        }
        assert!(
            human.contains(&format!("  Test:      {id} (")),
            "human summary names {id}:\n{human}"
        );
        assert!(
            human.contains(&format!("in {function} ←"))
                || human.contains(&format!("in {function}\n")),
            "human summary shows {function} in the Python stack:\n{human}"
        );
        assert!(human.contains("  Python:    __init__.py:"), "{human}");
    }
    // Each crash was joined with its own test: as many tests as crashes, none twice.
    let mut tests: Vec<&str> = doc["new"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n["test"]["evidence"]["test"].as_str().unwrap())
        .collect();
    tests.sort_unstable();
    tests.dedup();
    assert_eq!(tests.len(), crashed.len(), "{tests:?}");

    let (code, human, markdown) = suite.watch(&python, "markdown", pytest);
    assert_eq!(code, 86, "{human}");
    for (id, function) in crashed {
        assert!(markdown.contains(&format!("- Test: {id} (")), "{markdown}");
        assert!(markdown.contains(&format!("in {function}")), "{markdown}");
    }
    assert!(markdown.contains("- Python: "), "{markdown}");

    let (code, human, junit) = suite.watch(&python, "junit", pytest);
    assert_eq!(code, 86, "{human}");
    for (id, _) in crashed {
        // A CI system's test history follows the test id from run to run.
        assert!(junit.contains(&format!("name=\"{id}\"")), "{junit}");
    }
}

/// Plain pytest: the crash takes the whole session down; the test is the node id faulthandler's
/// dump interrupted.
#[test]
fn pytest_without_xdist() {
    scenario(
        &["-v", "tests/test_ops.py"],
        &[(GATHER, "test_gather")],
        "pytest",
        false,
    );
}

/// pytest-xdist with two workers: the crashed worker is replaced and the session goes on; the
/// test, the worker and the stack come from xdist's lines and the worker's dump.
#[test]
fn pytest_xdist_one_crashed_worker() {
    scenario(
        &["-n", "2", "tests/test_ops.py"],
        &[(GATHER, "test_gather")],
        "pytest-xdist",
        true,
    );
}

/// Four workers, two crashing tests: each report is joined with its own test, not the other's.
#[test]
fn pytest_xdist_two_crashes_each_joined_to_its_own_report() {
    scenario(
        &["-n", "4", "-v", "tests"],
        &[(GATHER, "test_gather"), (TAKE, "take")],
        "pytest-xdist",
        true,
    );
}

/// A campaign of the real suite counts crashes by test ("crashed in 3 of 3 runs, always the
/// prepareForEnqueue race"), in its record and its summary, and `stats` over that record says
/// the same.
#[test]
fn a_campaign_and_stats_count_crashes_by_test() {
    let Some(python) = python() else {
        return;
    };
    let suite = Suite::new();
    let record = suite.dir.path().join("campaign.json");
    let out = crashdelta()
        .current_dir(suite.dir.path())
        .env("CRASHDELTA_E2E_REPORTS", suite.reports())
        .env("CRASHDELTA_E2E_RACE", common::root().join(common::RACE))
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("PYTEST_ADDOPTS")
        .args([
            "watch", "--repeat", "3", "--settle", "1s", "--format", "json",
        ])
        .arg("--output")
        .arg(&record)
        .arg("--reports-dir")
        .arg(suite.reports())
        .arg("--")
        .arg(&python)
        .args(["-m", "pytest", "-p", "no:cacheprovider", "-q", "-n", "2"])
        .arg("tests/test_ops.py")
        .output()
        .unwrap();
    let human = stderr(&out);
    let expected = format!(
        "{GATHER} crashed in 3 of 3 runs, always AGX prepareForEnqueue null dereference (the MPS \
         encoding race) (agx-prepare-for-enqueue-race)"
    );
    assert!(human.contains(&expected), "{human}");
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    let by_test = &doc["summary"]["by_test"][0];
    assert_eq!(by_test["test"], GATHER, "{by_test:#}");
    assert_eq!(by_test["crashed_runs"], 3, "{by_test:#}");
    assert_eq!(doc["runs"][1]["run"]["crashes"][0]["test"], GATHER);

    let out = crashdelta()
        .args(["stats", "--format", "json"])
        .arg(&record)
        .output()
        .unwrap();
    let stats: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(stats["runs"], 3, "{stats:#}");
    assert_eq!(stats["by_test"][0]["test"], GATHER, "{stats:#}");
    assert_eq!(stats["by_test"][0]["crashed_runs"], 3, "{stats:#}");
    let out = crashdelta().arg("stats").arg(&record).output().unwrap();
    assert!(
        stderr(&out).is_empty() || out.status.success(),
        "{}",
        stderr(&out)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(&expected), "{text}");
}
