//! `crashdelta history` end to end: the real binary answers from a history the real binary
//! wrote (watched runs, a classify), and from a fixed one (`common::history_fixture`) whose
//! renderings are snapshots; what it refuses (no history named, another program's database,
//! an output over the history) it refuses without touching the file.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{WRITE_RACE, crashdelta, history_fixture, stderr, watch_sh};
use serde_json::Value;

fn ask(history: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> std::process::Output {
    crashdelta()
        .arg("history")
        .args(args)
        .arg(history)
        .output()
        .unwrap()
}

fn json(history: impl AsRef<std::ffi::OsStr>, args: &[&str]) -> Value {
    let o = ask(history, &[&["--format", "json"], args].concat());
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    serde_json::from_slice(&o.stdout).unwrap()
}

/// Two watched runs, one of which crashed, and a classify: the rate is over the two runs (the
/// classify's crashes are counted, not its run); the window and the machine filter apply.
#[test]
fn rates_are_over_the_watched_runs_and_the_window_applies() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    let h = dir.path().join("h.sqlite");
    let watch = |script: &str| watch_sh(&reports, &["--history", h.to_str().unwrap()], &[], script);
    let crashed = watch(&format!("{WRITE_RACE}\nwrite_race $$ $PPID\nexit 0"));
    assert_eq!(crashed.status.code(), Some(86), "{}", stderr(&crashed));
    let clean = watch("exit 0");
    assert_eq!(clean.status.code(), Some(0), "{}", stderr(&clean));
    let o = crashdelta()
        .args(["classify", "--history"])
        .arg(&h)
        .arg("testdata/derived")
        .output()
        .unwrap();
    assert!(o.status.code().is_some(), "{}", stderr(&o));

    let all = json(&h, &["--by", "day"]);
    assert_eq!(all["schema"], "crashdelta.history/1");
    assert_eq!(all["runs"]["runs"], 2, "{all}");
    assert_eq!(all["runs"]["crashed_runs"], 1, "{all}");
    assert_eq!(all["runs"]["rate"], 0.5);
    assert_eq!(all["other_runs"], 1, "the classify is not a watched run");
    let race = all["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .find(|s| s["rule"] == "agx-prepare-for-enqueue-race")
        .unwrap_or_else(|| panic!("{all}"));
    assert!(race["crashes"].as_u64().unwrap() >= 2, "{race}");
    assert!(
        all["versions"]
            .as_array()
            .unwrap()
            .iter()
            .any(|v| v["rule"] == "agx-prepare-for-enqueue-race" && v["driver_version"].is_string()),
        "{all}"
    );
    // Today's day holds the two runs.
    let today = chrono::Utc::now().format("%Y-%m-%d").to_string();
    let day = all["periods"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["start"] == today.as_str())
        .unwrap_or_else(|| panic!("no {today}: {all}"));
    assert_eq!(day["runs"], 2, "{day}");

    // Every crash and run is in exactly one period (or undated), by day and by week.
    for by in ["day", "week"] {
        let a = json(&h, &["--by", by]);
        let sum = |field: &str| -> u64 {
            a["periods"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p[field].as_u64().unwrap())
                .sum()
        };
        assert_eq!(
            sum("crashes") + a["undated"].as_u64().unwrap(),
            a["crashes"].as_u64().unwrap()
        );
        assert_eq!(sum("runs"), a["runs"]["runs"].as_u64().unwrap());
        let by_signature: u64 = a["signatures"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s["crashes"].as_u64().unwrap())
            .sum();
        assert_eq!(by_signature, a["crashes"].as_u64().unwrap(), "{by}");
    }
    let machine = json(&h, &["--machine", "no-such-host"]);
    assert_eq!(
        (
            machine["runs"]["runs"].as_u64(),
            machine["crashes"].as_u64()
        ),
        (Some(0), Some(0))
    );
    let future = json(&h, &["--since", "2999-01-01"]);
    assert_eq!(future["runs"]["runs"], 0);
    assert_eq!(future["crashes"], 0);
    assert_eq!(future["runs"]["rate"], Value::Null, "no runs is not 0%");
    let recent = json(&h, &["--since", "1h"]);
    assert_eq!(recent["runs"]["runs"], 2, "{recent}");
}

/// The fixed history's answer over its three weeks: counts, rates with their denominators,
/// the versions a signature was seen on, the tests and configurations.
#[test]
fn the_answer_over_a_fixed_history() {
    let dir = tempfile::tempdir().unwrap();
    let h = history_fixture(dir.path());
    the_answer_from(h.as_os_str(), &mut |sql| {
        rusqlite::Connection::open(&h)
            .unwrap()
            .execute_batch(sql)
            .unwrap()
    });
    // The same answer from PostgreSQL: the questions' SQL is the one both stores share.
    if let Some(db) = common::history_fixture_postgres("answer") {
        the_answer_from(std::ffi::OsStr::new(&db.url), &mut |sql| {
            postgres::Client::connect(&db.url, postgres::NoTls)
                .unwrap()
                .batch_execute(sql)
                .unwrap()
        });
    }
}

/// The fixed history's answer from the store `h` names; `exec` runs SQL on it.
fn the_answer_from(h: &std::ffi::OsStr, exec: &mut dyn FnMut(&str)) {
    let a = json(h, &["--since", "2026-11-01", "--until", "2026-11-29"]);
    assert_eq!(a["runs"]["runs"], 9);
    assert_eq!(
        a["runs"]["crashed_runs"], 4,
        "the unreadable report counts: {a}"
    );
    assert_eq!(
        a["crashes"], 3,
        "the three runs' crashes; the classified race was captured in 2025: {a}"
    );
    let weeks: Vec<(&str, u64, u64)> = a["periods"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["start"].as_str().unwrap(),
                p["runs"].as_u64().unwrap(),
                p["crashes"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        weeks,
        [
            ("2026-11-09", 4, 1),
            ("2026-11-16", 3, 1),
            ("2026-11-23", 2, 1)
        ]
    );
    let versions: Vec<(&str, &str, u64)> = a["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["os_build"].as_str().unwrap(),
                v["driver_version"].as_str().unwrap(),
                v["crashes"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        versions,
        [
            ("24G84", "329.2", 1),
            ("24G90", "329.2", 1),
            ("25A354", "342.1", 1)
        ],
        "{a}"
    );
    let configs: Vec<(&str, u64, u64)> = a["configurations"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|c| {
            Some((
                c["name"].as_str()?,
                c["runs"].as_u64().unwrap(),
                c["crashed_runs"].as_u64().unwrap(),
            ))
        })
        .collect();
    assert_eq!(configs, [("baseline", 4, 3), ("serialised-encoding", 3, 0)]);
    let tests: Vec<(&str, u64)> = a["tests"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["test_id"].as_str().unwrap(),
                t["crashed_runs"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        tests,
        [
            ("tests/test_mps.py::test_gather", 2),
            ("tests/test_mps.py::test_conv_backward", 1)
        ]
    );
    assert_eq!(
        a["tests"][0]["runs"], 9,
        "a test's rate is over every watched run"
    );
    // A crash whose report has no capture time is placed by its first run's start, inside a
    // window and outside another.
    exec(
        "INSERT INTO crashes (key, signature_id, signature, rule, known, family, title, \
         first_run) SELECT 'sha256:00', 'ffffffffffffffff', 'SIGABRT|abort', 'other', 0, \
         'other', 'an abort', id FROM runs WHERE started LIKE '2026-11-27%'",
    );
    let day = json(h, &["--since", "2026-11-27", "--until", "2026-11-28"]);
    assert_eq!(day["crashes"], 1, "{day}");
    assert_eq!(day["signatures"][0]["signature_id"], "ffffffffffffffff");
    let after = json(h, &["--since", "2026-11-28"]);
    assert_eq!(after["crashes"], 0, "{after}");
    let one = json(h, &["--until", "2026-11-29", "--machine", "mac-mini-2"]);
    assert_eq!(
        (
            one["runs"]["runs"].as_u64(),
            one["runs"]["crashed_runs"].as_u64()
        ),
        (Some(4), Some(0))
    );
}

/// The renderings of the fixed history, for people and for an issue.
#[test]
fn renderings_of_a_fixed_history() {
    let dir = tempfile::tempdir().unwrap();
    history_fixture(dir.path());
    let run = |format: &str| {
        let o = crashdelta()
            .current_dir(dir.path())
            .args([
                "history",
                "history.sqlite",
                "--until",
                "2026-11-29",
                "--format",
                format,
            ])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        String::from_utf8(o.stdout).unwrap()
    };
    insta::assert_snapshot!("history_human", run("human"));
    insta::assert_snapshot!("history_markdown", run("markdown"));
    let page = run("html");
    assert!(page.starts_with("<!DOCTYPE html>"), "{page}");
    assert!(
        page.contains("aria-label=\"crashes and runs by week\""),
        "{page}"
    );
    assert!(page.contains("data-series=\"25ad5093bba0f34e\""), "{page}");
    assert!(page.contains("data-series=\"crashed runs\""), "{page}");
}

/// What cannot be answered is said, with what to do, and nothing is written.
#[test]
fn what_it_refuses_it_leaves_alone() {
    let dir = tempfile::tempdir().unwrap();
    let o = crashdelta().arg("history").output().unwrap();
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("CRASHDELTA_HISTORY"), "{}", stderr(&o));

    let h = history_fixture(dir.path());
    let before = std::fs::read(&h).unwrap();
    let o = ask(&h, &["--format", "html", "--output", h.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(125), "{}", stderr(&o));
    assert_eq!(
        std::fs::read(&h).unwrap(),
        before,
        "the history was written over"
    );
    let o = ask(&h, &["--since", "2026-11-20", "--until", "2026-11-01"]);
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("is not before"), "{}", stderr(&o));

    let foreign = dir.path().join("other.sqlite");
    rusqlite::Connection::open(&foreign)
        .unwrap()
        .execute_batch("CREATE TABLE runs (x); CREATE TABLE notes (y);")
        .unwrap();
    let before = std::fs::read(&foreign).unwrap();
    let o = ask(&foreign, &[]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("not a crashdelta history"),
        "{}",
        stderr(&o)
    );
    assert_eq!(std::fs::read(&foreign).unwrap(), before);

    // Named by the environment, as the runs that wrote it name it.
    let o = crashdelta()
        .args(["history", "--format", "json", "--until", "2026-11-29"])
        .env("CRASHDELTA_HISTORY", &h)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
}

/// An environment variable that is set but empty is not set: a CI secret that is not defined
/// (`CRASHDELTA_HISTORY: ${{ secrets.HISTORY }}`) must not make every job fail on its
/// arguments. The same for every variable a flag reads.
#[test]
fn an_empty_variable_is_no_setting() {
    let dir = tempfile::tempdir().unwrap();
    let o = crashdelta()
        .current_dir(dir.path())
        .args(["classify", "--format", "json"])
        .arg(common::root().join(common::RACE))
        .env("CRASHDELTA_HISTORY", "")
        .env("CRASHDELTA_FAIL_ON", "")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "a file was made"
    );
    let o = crashdelta()
        .arg("history")
        .env("CRASHDELTA_HISTORY", "")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(125));
    assert!(stderr(&o).contains("no history named"), "{}", stderr(&o));
}

/// A store is input too: a history another tool (or a hostile report's text, stored as it was)
/// filled with terminal escapes, markup and Markdown keeps them as text in every format.
#[test]
fn hostile_text_in_a_store_stays_text() {
    let dir = tempfile::tempdir().unwrap();
    let h = history_fixture(dir.path());
    let evil = "\u{1b}]0;pwned\u{7}\u{1b}[31m<script>alert(1)</script>|**x**";
    rusqlite::Connection::open(&h)
        .unwrap()
        .execute(
            "INSERT INTO crashes (key, captured, signature_id, signature, rule, known, family, \
             title, location, os_build, driver, driver_version, test_id, first_run) \
             SELECT 'evil', '2026-11-10T00:00:00.000Z', ?1, ?1, ?1, 1, ?1, ?1, ?1, ?1, ?1, ?1, \
             ?1, min(id) FROM runs",
            [evil],
        )
        .unwrap();
    for format in ["human", "markdown", "html"] {
        let o = ask(&h, &["--format", format, "--until", "2026-11-29"]);
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        let out = String::from_utf8(o.stdout).unwrap();
        assert!(
            !out.contains('\u{1b}'),
            "{format}: an escape reached the output"
        );
        assert!(!out.contains('\u{7}'), "{format}");
        if format == "html" {
            assert!(!out.contains("<script>"), "{format}: {out}");
        }
        if format == "markdown" {
            // Outside code spans the markup is escaped; inside them it is literal text. No
            // cell's `|` splits a row: every row of a table has its header's columns.
            assert!(out.contains(r"\<script>"), "{out}");
            let mut columns = None;
            for line in out.lines() {
                if !line.starts_with('|') {
                    columns = None;
                    continue;
                }
                let pipes = line.matches('|').count() - line.matches(r"\|").count();
                match columns {
                    None => columns = Some(pipes),
                    Some(n) => assert_eq!(pipes, n, "a row split: {line}"),
                }
            }
        }
    }
}

/// A campaign's report that lands after its run's wait, during the next run, is the campaign's
/// crash of that run; the history says so too (review finding: the run had been appended with
/// 0 crashes before its report landed, and the history showed 0 crashed runs where the
/// campaign showed 1).
#[test]
fn a_campaigns_late_report_makes_its_run_crashed_in_the_history() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    let h = dir.path().join("h.sqlite");
    let script = format!(
        "{WRITE_RACE}\nif [ ! -e \"$MARK\" ]; then touch \"$MARK\"; me=$$; pp=$PPID; \
         (sleep 1; write_race $me $pp) & exit 0; else sleep 3; exit 0; fi"
    );
    let o = crashdelta()
        .args([
            "watch",
            "--repeat",
            "2",
            "--settle",
            "0.2s",
            "--no-capture",
            "--format",
            "json",
        ])
        .arg("--history")
        .arg(&h)
        .arg("--reports-dir")
        .arg(&reports)
        .env("REPORTS", &reports)
        .env("RACE", common::root().join(common::RACE))
        .env("MARK", dir.path().join("mark"))
        .args(["--", "sh", "-c", &script])
        .output()
        .unwrap();
    let campaign: Value = serde_json::from_slice(&o.stdout).unwrap_or_else(|e| {
        panic!("{e}: {}", stderr(&o));
    });
    let crashed_in_campaign = campaign["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["run"]["crashed"] == true)
        .count();
    assert_eq!(crashed_in_campaign, 1, "{}\n{campaign}", stderr(&o));
    let a = json(&h, &[]);
    assert_eq!(a["runs"]["runs"], 2, "{a}");
    assert_eq!(a["runs"]["crashed_runs"], 1, "{a}");
}

/// Counts and times another tool wrote into a store do not make impossible answers: a `known`
/// of 5 is one known crash, a negative `unreadable` does not cancel a run's crashes, a capture
/// time that is not a date is undated and shown as `?`, never as its text.
#[test]
fn odd_values_in_a_store_make_no_impossible_answer() {
    let dir = tempfile::tempdir().unwrap();
    let h = history_fixture(dir.path());
    let c = rusqlite::Connection::open(&h).unwrap();
    c.execute_batch(
        "UPDATE crashes SET known = 5; \
         UPDATE runs SET crashes = 2, unreadable = -2 WHERE started LIKE '2026-11-27%'; \
         INSERT INTO crashes (key, captured, signature_id, signature, rule, known, family, \
         title, first_run) SELECT 'odd', '2026-11-1é|<img src=x>|**b** | |', 'eeeeeeeeeeeeeeee', \
         's', 'other', 0, 'other', 't', min(id) FROM runs;",
    )
    .unwrap();
    drop(c);
    let a = json(&h, &["--until", "2026-11-29"]);
    assert!(a["known"].as_u64() <= a["crashes"].as_u64(), "{a}");
    assert_eq!(
        a["runs"]["crashed_runs"], 5,
        "the run with 2 crashes crashed: {a}"
    );
    assert!(a["undated"].as_u64() >= Some(0));
    let o = ask(&h, &["--format", "markdown"]);
    let md = String::from_utf8(o.stdout).unwrap();
    assert!(!md.contains("<img"), "{md}");
    assert!(!md.contains("**b**"), "{md}");
    let o = ask(&h, &["--format", "human"]);
    assert!(!String::from_utf8(o.stdout).unwrap().contains("2026-11-1é"));
}

/// The race said fixed in driver 342.1: the report on driver 329.2 is the known crash, the one on
/// 342.3.1 (macOS 26.5) a regression. The history keeps which was which, and says on which
/// version the crash came back.
#[test]
fn regressions_are_kept_and_shown_by_version() {
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("team.toml");
    std::fs::write(
        &rules,
        r#"[[rule]]
id = "agx-prepare-for-enqueue-race"
title = "AGX prepareForEnqueue race (MPS)"
family = "agx"
known = true
fixed_in = { driver_version = "342.1" }

[rule.when]
exception = ["EXC_BAD_ACCESS", "SIGSEGV"]
frames = [{ image_kind = "agx", function = "AGX::ComputeContext::prepareForEnqueue(bool)", at = 0 }]
"#,
    )
    .unwrap();
    let h = dir.path().join("h.sqlite");
    let o = crashdelta()
        .args(["classify", "-q", "--format", "json", "--rules"])
        .arg(&rules)
        .arg("--history")
        .arg(&h)
        .args([
            "testdata/derived/agx-prepareForEnqueue-0x98.ips",
            "testdata/derived/agx-prepareForEnqueue-0x98-macos26.ips",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let a = json(&h, &[]);
    assert_eq!(a["crashes"], 2, "{a}");
    assert_eq!(a["regressions"], 1, "{a}");
    let race = &a["signatures"][0];
    assert_eq!(race["regressions"], 1, "{race}");
    assert_eq!(race["fixed_in"], "driver version 342.1", "{race}");
    let by_driver: Vec<(String, u64)> = a["versions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            (
                v["driver_version"].as_str().unwrap().to_owned(),
                v["regressions"].as_u64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        by_driver,
        [("329.2".to_owned(), 0), ("342.3.1".to_owned(), 1)],
        "{a}"
    );
    let o = ask(&h, &["--format", "markdown"]);
    let md = String::from_utf8(o.stdout).unwrap();
    assert!(md.contains("1 regression(s)"), "{md}");
    assert!(md.contains("fixed in driver version 342.1"), "{md}");
}

/// Reading never migrates: a history of an older schema the questions can read (2 on) is read as
/// it is, and left so; one of version 1 is said to be older, and an empty file to hold no history
/// (review finding: both were called "another program's database").
#[test]
fn an_older_history_is_read_as_it_is() {
    use crashdelta::history::{APPLICATION_ID, SCHEMA, SCHEMA_2};
    let dir = tempfile::tempdir().unwrap();
    let make = |name: &str, schema: &str, version: i64| {
        let path = dir.path().join(name);
        let c = rusqlite::Connection::open(&path).unwrap();
        c.execute_batch(schema).unwrap();
        c.pragma_update(None, "user_version", version).unwrap();
        c.pragma_update(None, "application_id", APPLICATION_ID)
            .unwrap();
        c.execute_batch(
            "INSERT INTO runs (kind, machine, started, settled, crashes) VALUES \
             ('watch', 'mac-mini-3', '2026-11-01T00:00:00.000Z', '2026-11-01T00:00:05.000Z', 0)",
        )
        .unwrap();
        path
    };
    let v2 = make("v2.sqlite", &format!("{SCHEMA}{SCHEMA_2}"), 2);
    let before = std::fs::read(&v2).unwrap();
    let a = json(&v2, &[]);
    assert_eq!(a["runs"]["runs"], 1, "{a}");
    assert_eq!(a["regressions"], 0);
    assert_eq!(
        std::fs::read(&v2).unwrap(),
        before,
        "reading changed the file"
    );

    let v1 = make("v1.sqlite", SCHEMA, 1);
    let o = ask(&v1, &[]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("older than the questions need"),
        "{}",
        stderr(&o)
    );

    let empty = dir.path().join("empty.sqlite");
    std::fs::write(&empty, "").unwrap();
    let o = ask(&empty, &[]);
    assert_eq!(o.status.code(), Some(125));
    assert!(
        stderr(&o).contains("holds no history yet"),
        "{}",
        stderr(&o)
    );
}

/// `--help` never shows CRASHDELTA_HISTORY's value: a fleet's URL holds its password (review
/// finding: `watch --help` printed `[env: CRASHDELTA_HISTORY=postgres://ci:PASSWORD@...]`).
#[test]
fn help_never_shows_the_historys_password() {
    for command in ["watch", "compare", "diff", "classify", "history", "stats"] {
        let o = crashdelta()
            .args([command, "--help"])
            .env(
                "CRASHDELTA_HISTORY",
                "postgres://ci:Hunter2Secret@db.example/crashes",
            )
            .output()
            .unwrap();
        let all = format!("{}{}", String::from_utf8_lossy(&o.stdout), stderr(&o));
        assert!(!all.contains("Hunter2Secret"), "{command} --help: {all}");
    }
}

/// A PostgreSQL server (or a proxy) that lets the client in and then never answers a statement
/// does not hold the run: after CRASHDELTA_HISTORY_WAIT the history is given up with a warning,
/// and the command ends with its own verdict (review finding: `watch` hung for good). The server
/// here speaks just enough of the protocol: it reads the startup message, says authentication
/// is done and it is ready, then reads and never replies.
#[test]
fn a_server_that_never_answers_does_not_hold_the_run() {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            std::thread::spawn(move || {
                let mut len = [0u8; 4];
                if s.read_exact(&mut len).is_err() {
                    return;
                }
                let n = u32::from_be_bytes(len).saturating_sub(4) as usize;
                let mut startup = vec![0u8; n.min(1 << 16)];
                let _ = s.read_exact(&mut startup);
                // AuthenticationOk, then ReadyForQuery (idle).
                let _ = s.write_all(&[b'R', 0, 0, 0, 8, 0, 0, 0, 0, b'Z', 0, 0, 0, 5, b'I']);
                let mut sink = [0u8; 4096];
                while s.read(&mut sink).is_ok_and(|n| n > 0) {}
            });
        }
    });
    let url = format!("postgresql://ci@127.0.0.1:{port}/crashes?sslmode=disable");
    let started = std::time::Instant::now();
    let o = crashdelta()
        .args(["classify", "--format", "json", "--history", &url])
        .arg(common::root().join(common::RACE))
        .env("CRASHDELTA_HISTORY_WAIT", "1")
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("did not answer within 1 s"),
        "{}",
        stderr(&o)
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(30));
    let doc: Value = serde_json::from_slice(&o.stdout).unwrap();
    assert_eq!(
        doc["reports"][0]["classification"]["rule"],
        "agx-prepare-for-enqueue-race"
    );
}
