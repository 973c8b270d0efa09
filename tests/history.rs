//! `--history FILE` end to end: the real binary appends its runs to a real SQLite file, read
//! back here with SQL, as a team would query it (docs/history.md).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::path::Path;
use std::process::Output;

use common::{RACE, WRITE_RACE, crashdelta, root, stderr};
use rusqlite::Connection;

fn db(path: &Path) -> Connection {
    Connection::open(path).unwrap()
}

fn count(c: &Connection, sql: &str) -> i64 {
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn classify(history: &Path, inputs: &[&str]) -> Output {
    crashdelta()
        .args(["classify", "--format", "json", "--history"])
        .arg(history)
        .args(inputs)
        .output()
        .unwrap()
}

/// The same reports classified twice are one crash each, seen by two runs; each run is a row
/// (a run is counted whether or not it found anything new).
#[test]
fn a_crash_is_stored_once_however_many_runs_see_it() {
    let dir = tempfile::tempdir().unwrap();
    let h = dir.path().join("history.sqlite");
    let first = classify(&h, &["testdata/derived"]);
    let second = classify(&h, &["testdata/derived", RACE]);
    assert_eq!(
        first.status.code(),
        second.status.code(),
        "{}",
        stderr(&second)
    );
    assert!(
        stderr(&second).contains("already recorded by an earlier run"),
        "{}",
        stderr(&second)
    );
    let c = db(&h);
    assert_eq!(
        count(&c, "SELECT count(*) FROM runs WHERE kind = 'classify'"),
        2
    );
    let crashes = count(&c, "SELECT count(*) FROM crashes");
    assert!(crashes > 10, "{crashes}");
    // RACE is in testdata/derived too: its incident is stored once, seen once by each run (twice
    // by the second, which counts as one sighting).
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM sightings s JOIN crashes c ON c.id = s.crash \
             WHERE c.incident_id = '5E0C2B1A-7F3D-4A9B-8C6E-1D2F3A4B5C6D'"
        ),
        2,
        "one sighting per run"
    );
    assert_eq!(
        count(&c, "SELECT count(DISTINCT first_run) FROM crashes"),
        1
    );
    assert_eq!(count(&c, "PRAGMA user_version"), 3);
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM runs WHERE tool_version IS NOT NULL"
        ),
        2
    );
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

/// A watched run is a row with its command, exit and gate, and its crash a row with the facts
/// the questions need (signature, rule, OS build, driver version); the sighting says how the
/// run attributed it.
#[test]
fn a_watched_run_and_its_crash_are_recorded() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    let h = dir.path().join("history.sqlite");
    let script = format!("{WRITE_RACE}\nwrite_race $$ $PPID\nexit 3");
    let o = crashdelta()
        .args(["watch", "--settle", "0.3s", "--history"])
        .arg(&h)
        .arg("--reports-dir")
        .arg(&reports)
        .env("REPORTS", &reports)
        .env("RACE", root().join(RACE))
        .args(["--", "sh", "-c", &script])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(86), "{}", stderr(&o));
    let c = db(&h);
    let (kind, command, exit, gate, crashed): (String, String, i64, bool, i64) = c
        .query_row(
            "SELECT kind, command, exit_code, gate_passed, crashes FROM runs",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!((kind.as_str(), exit, gate, crashed), ("watch", 3, false, 1));
    assert!(command.starts_with("[\"sh\",\"-c\""), "{command}");
    let (rule, driver, version, build, attribution): (String, String, String, String, String) = c
        .query_row(
            "SELECT c.rule, c.driver, c.driver_version, c.os_build, s.attribution \
             FROM crashes c JOIN sightings s ON s.crash = c.id",
            [],
            |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?)),
        )
        .unwrap();
    assert_eq!(rule, "agx-prepare-for-enqueue-race");
    assert!(driver.starts_with("AGX"), "{driver}");
    assert!(!version.is_empty() && !build.is_empty());
    assert_eq!(attribution, "run");
}

/// A campaign's runs share its id; each run's crash count is the campaign's, so a report that
/// landed during a later run (the waits overlap) is still its own run's crash in the history.
#[test]
fn a_campaigns_runs_are_one_campaign_with_their_own_counts() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    let state = dir.path().join("state");
    std::fs::create_dir(&reports).unwrap();
    std::fs::create_dir(&state).unwrap();
    let h = dir.path().join("history.sqlite");
    let o = crashdelta()
        .args([
            "watch",
            "--repeat",
            "3",
            "--settle",
            "2s",
            "--no-capture",
            "--history",
        ])
        .arg(&h)
        .arg("--reports-dir")
        .arg(&reports)
        .env("REPORTS", &reports)
        .env("STATE", &state)
        .env("RACE", root().join(RACE))
        .env("CRASH_P", "1")
        .env("REPORT_DELAY", "1")
        .args(["--", "sh", "demo/flaky_stress_test.sh"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(86), "{}", stderr(&o));
    let c = db(&h);
    assert_eq!(count(&c, "SELECT count(DISTINCT campaign) FROM runs"), 1);
    assert_eq!(
        count(&c, "SELECT count(*) FROM runs WHERE kind = 'campaign-run'"),
        3
    );
    assert_eq!(
        count(&c, "SELECT count(*) FROM runs WHERE crashes = 1"),
        3,
        "{}",
        stderr(&o)
    );
    assert_eq!(count(&c, "SELECT max(campaign_run) FROM runs"), 3);
    assert_eq!(count(&c, "SELECT count(*) FROM crashes"), 3);
    // Each crash is its own run's, though runs 1 and 2's reports landed during run 3 (review
    // finding: all three were stored as run 3's, in `compare` under the wrong configuration).
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM crashes c JOIN runs r ON r.id = c.first_run \
             WHERE c.incident_id LIKE '%' || printf('%04d', r.campaign_run)"
        ),
        3,
        "{}",
        stderr(&o)
    );
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM sightings WHERE attribution = 'run'"
        ),
        3
    );
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM sightings WHERE attribution = 'late'"
        ),
        2
    );
    drop(c);

    // `stats` reads the history: every crash once, the campaign's runs as runs, and a classify
    // of the same reports adds none.
    let again = crashdelta()
        .args(["classify", "--format", "json", "--history"])
        .arg(&h)
        .arg(&reports)
        .output()
        .unwrap();
    assert!(again.status.code().is_some());
    let o = crashdelta()
        .args(["stats", "--format", "json"])
        .arg(&h)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    let stats: serde_json::Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(stats["crashes"], 3, "{stats:#}");
    assert_eq!(stats["runs"], 3, "{stats:#}");
    assert_eq!(
        stats["rows"][0]["rule"], "agx-prepare-for-enqueue-race",
        "{stats:#}"
    );
}

/// Several processes append to one file at once (parallel CI jobs on one machine): every run
/// is stored, none waits out the busy timeout, none warns.
#[test]
fn several_processes_append_at_once() {
    let dir = tempfile::tempdir().unwrap();
    let h = dir.path().join("history.sqlite");
    let inputs = [
        "testdata/derived",
        "testdata/real/ips",
        RACE,
        "testdata/derived",
        "testdata/real/ips",
        "testdata/derived",
    ];
    let children: Vec<_> = inputs
        .iter()
        .map(|input| {
            std::process::Command::new(env!("CARGO_BIN_EXE_crashdelta"))
                .current_dir(root())
                .args([
                    "classify",
                    "--format",
                    "json",
                    "--output",
                    "/dev/null",
                    "--history",
                ])
                .arg(&h)
                .arg(input)
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    for child in children {
        let o = child.wait_with_output().unwrap();
        assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    }
    let c = db(&h);
    assert_eq!(count(&c, "SELECT count(*) FROM runs"), inputs.len() as i64);
    // Each incident once, whichever process stored it first.
    assert_eq!(
        count(&c, "SELECT count(*) FROM crashes"),
        count(&c, "SELECT count(DISTINCT key) FROM crashes")
    );
}

/// A history that cannot be used (not a database, a folder, a newer schema) is a warning: the
/// output and the exit code are the same as without it.
#[test]
fn a_history_that_cannot_be_written_never_changes_the_verdict() {
    let dir = tempfile::tempdir().unwrap();
    let without = crashdelta()
        .args(["classify", "--format", "json", RACE])
        .output()
        .unwrap();
    let garbage = dir.path().join("garbage.sqlite");
    std::fs::write(&garbage, vec![b'x'; 4096]).unwrap();
    let newer = dir.path().join("newer.sqlite");
    db(&newer).pragma_update(None, "user_version", 99).unwrap();
    for (history, says) in [
        (garbage.as_path(), "cannot open the history"),
        (dir.path(), "cannot open the history"),
        (newer.as_path(), "schema version 99, newer than"),
    ] {
        let o = classify(history, &[RACE]);
        assert_eq!(o.status.code(), without.status.code(), "{}", stderr(&o));
        assert_eq!(o.stdout, without.stdout);
        assert!(
            stderr(&o).contains("warning:") && stderr(&o).contains(says),
            "{}",
            stderr(&o)
        );
    }
    assert_eq!(
        count(&db(&newer), "PRAGMA user_version"),
        99,
        "left as it was"
    );
    let mode: String = db(&newer)
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete", "not switched to WAL");
}

/// Another program's SQLite database named by mistake is refused and left as it was, never
/// turned into a history (review finding: it gained three tables and WAL mode).
#[test]
fn another_programs_database_is_never_made_a_history() {
    let dir = tempfile::tempdir().unwrap();
    let theirs = dir.path().join("app.sqlite");
    db(&theirs)
        .execute_batch("CREATE TABLE messages (id INTEGER PRIMARY KEY, body TEXT);")
        .unwrap();
    let o = classify(&theirs, &[RACE]);
    assert!(
        stderr(&o).contains("is not a crashdelta history"),
        "{}",
        stderr(&o)
    );
    let c = db(&theirs);
    assert_eq!(
        count(
            &c,
            "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
        ),
        1
    );
    let mode: String = c
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "delete");
    // A record written over the history is refused before the run.
    let h = dir.path().join("h.sqlite");
    let o = crashdelta()
        .args(["watch", "--settle", "0s", "--reports-dir"])
        .arg(dir.path())
        .arg("--history")
        .arg(&h)
        .arg("--json")
        .arg(&h)
        .args(["--", "true"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));
    assert!(stderr(&o).contains("is also --json"), "{}", stderr(&o));
}

/// A run whose new report could not be read keeps it in its count of unreadable reports: it
/// failed the gate, and the history must not call it a run without a crash.
#[test]
fn an_unreadable_report_is_counted_in_its_run() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    let h = dir.path().join("history.sqlite");
    let o = crashdelta()
        // A cut report holds the wait up to --settle-max: it may still be being written.
        .args([
            "watch",
            "--settle",
            "0.3s",
            "--settle-max",
            "1s",
            "--history",
        ])
        .arg(&h)
        .arg("--reports-dir")
        .arg(&reports)
        .env("REPORTS", &reports)
        .env("RACE", root().join(RACE))
        .args([
            "--",
            "sh",
            "-c",
            "head -c 3000 \"$RACE\" > \"$REPORTS/Python-cut.ips\"",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(86), "{}", stderr(&o));
    let c = db(&h);
    assert_eq!(count(&c, "SELECT unreadable FROM runs"), 1);
    assert_eq!(count(&c, "SELECT gate_passed FROM runs"), 0);
}

/// `CRASHDELTA_HISTORY` and `history` in crashdelta.toml name the file as the flag does.
#[test]
fn the_history_is_named_by_the_environment() {
    let dir = tempfile::tempdir().unwrap();
    let h = dir.path().join("from-env.sqlite");
    let o = crashdelta()
        .args(["classify", "--format", "json", RACE])
        .env("CRASHDELTA_HISTORY", &h)
        .output()
        .unwrap();
    assert!(o.status.code().is_some(), "{}", stderr(&o));
    assert_eq!(count(&db(&h), "SELECT count(*) FROM runs"), 1);
    // From crashdelta.toml, relative to the file's folder.
    std::fs::write(
        dir.path().join("crashdelta.toml"),
        "history = \"team.sqlite\"\n",
    )
    .unwrap();
    let o = crashdelta()
        .current_dir(dir.path())
        .args(["classify", "--format", "json"])
        .arg(root().join(RACE))
        .output()
        .unwrap();
    assert!(o.status.code().is_some(), "{}", stderr(&o));
    assert_eq!(
        count(
            &db(&dir.path().join("team.sqlite")),
            "SELECT count(*) FROM runs"
        ),
        1
    );
}

/// Every SQL query docs/history.md shows runs against a history the binary wrote.
#[test]
fn the_documented_queries_run() {
    let dir = tempfile::tempdir().unwrap();
    let h = dir.path().join("history.sqlite");
    classify(&h, &["testdata/derived", "testdata/real/ips"]);
    let doc = std::fs::read_to_string(root().join("docs/history.md")).unwrap();
    let queries: Vec<&str> = doc
        .split("```sql\n")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .collect();
    assert!(queries.len() >= 4, "{queries:?}");
    let c = db(&h);
    for q in queries {
        let mut statement = c.prepare(q).unwrap_or_else(|e| panic!("{e}: {q}"));
        let mut rows = statement.query([]).unwrap_or_else(|e| panic!("{e}: {q}"));
        while rows.next().unwrap_or_else(|e| panic!("{e}: {q}")).is_some() {}
    }
}

/// A history kept inside the folder being classified is never read back as an input (review
/// finding: the second run listed it as "not a crash").
#[test]
fn a_history_inside_the_classified_folder_is_not_an_input() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(root().join(RACE), dir.path().join("race.ips")).unwrap();
    let h = dir.path().join("history.sqlite");
    for _ in 0..2 {
        let o = crashdelta()
            .args(["classify", "--format", "json", "--history"])
            .arg(&h)
            .arg(dir.path())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&o.stdout);
        assert!(!text.contains("history.sqlite"), "{text}");
    }
    assert_eq!(count(&db(&h), "SELECT count(*) FROM runs"), 2);
}
