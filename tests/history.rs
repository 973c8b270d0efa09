//! `--history` end to end: the real binary appends its runs to a real SQLite file, and to a
//! real PostgreSQL database (the server `.ci/test` starts, `CRASHDELTA_TEST_POSTGRES`; without
//! one the PostgreSQL halves say they were skipped, unless `CRASHDELTA_REQUIRE_POSTGRES` is
//! set), read back here with SQL, as a team would query it (docs/history.md).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::Output;

use common::pg_server::{TestDatabase, TestRole};
use common::{RACE, WRITE_RACE, crashdelta, fresh_database, root, stderr};
use rusqlite::Connection;

fn db(path: &Path) -> Connection {
    Connection::open(path).unwrap()
}

fn count(c: &Connection, sql: &str) -> i64 {
    c.query_row(sql, [], |r| r.get(0)).unwrap()
}

fn classify(history: impl AsRef<OsStr>, inputs: &[&str]) -> Output {
    crashdelta()
        .args(["classify", "--format", "json", "--history"])
        .arg(history)
        .args(inputs)
        .output()
        .unwrap()
}

/// A history a test writes to: a SQLite file, or a PostgreSQL database by its URL.
#[derive(Debug)]
enum Store {
    File(PathBuf),
    Postgres(TestDatabase),
}

impl Store {
    /// What `--history` is given.
    fn arg(&self) -> &OsStr {
        match self {
            Store::File(p) => p.as_os_str(),
            Store::Postgres(db) => OsStr::new(&db.url),
        }
    }

    fn is_postgres(&self) -> bool {
        matches!(self, Store::Postgres(_))
    }

    /// The rows of `sql`, each cell as text (`None` for NULL).
    fn rows(&self, sql: &str) -> Vec<Vec<Option<String>>> {
        match self {
            Store::File(p) => {
                let c = db(p);
                let mut st = c.prepare(sql).unwrap_or_else(|e| panic!("{e}: {sql}"));
                let n = st.column_count();
                let mut rows = st.query([]).unwrap();
                let mut out = Vec::new();
                while let Some(r) = rows.next().unwrap() {
                    out.push(
                        (0..n)
                            .map(|i| match r.get_ref(i).unwrap() {
                                rusqlite::types::ValueRef::Null => None,
                                rusqlite::types::ValueRef::Integer(v) => Some(v.to_string()),
                                rusqlite::types::ValueRef::Real(v) => Some(v.to_string()),
                                rusqlite::types::ValueRef::Text(t)
                                | rusqlite::types::ValueRef::Blob(t) => {
                                    Some(String::from_utf8_lossy(t).into_owned())
                                }
                            })
                            .collect(),
                    );
                }
                out
            }
            // The text protocol: every cell as PostgreSQL writes it.
            Store::Postgres(db) => postgres::Client::connect(&db.url, postgres::NoTls)
                .unwrap()
                .simple_query(sql)
                .unwrap_or_else(|e| panic!("{e:?}: {sql}"))
                .into_iter()
                .filter_map(|m| match m {
                    postgres::SimpleQueryMessage::Row(r) => {
                        Some((0..r.len()).map(|i| r.get(i).map(str::to_owned)).collect())
                    }
                    _ => None,
                })
                .collect(),
        }
    }

    /// The first row of `sql`.
    fn row(&self, sql: &str) -> Vec<Option<String>> {
        self.rows(sql).into_iter().next().unwrap_or_default()
    }

    /// The integer `sql` answers.
    fn count(&self, sql: &str) -> i64 {
        let cell = self.row(sql).into_iter().next().flatten();
        cell.as_deref()
            .unwrap_or_else(|| panic!("no value: {sql}"))
            .parse()
            .unwrap()
    }
}

/// The stores a test runs against: a new SQLite file in `dir`, and a new PostgreSQL database
/// when the test server is there.
fn stores(dir: &Path, name: &str) -> Vec<Store> {
    let mut at = vec![Store::File(dir.join(format!("{name}.sqlite")))];
    at.extend(fresh_database(name).map(Store::Postgres));
    at
}

/// Each crash keeps the SHA-256 of its report's bytes, as read (hashed by the worker that read
/// them, not by reading the file again), for files and for standard input alike.
#[test]
fn each_crash_keeps_the_sha256_of_its_bytes() {
    use sha2::Digest;
    let dir = tempfile::tempdir().unwrap();
    let legacy = "testdata/real/crash/electronsym__crash.txt";
    let hex = |bytes: &[u8]| {
        sha2::Sha256::digest(bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect::<String>()
    };
    for store in stores(dir.path(), "sha") {
        let out = classify(store.arg(), &[RACE, legacy]);
        assert!(out.status.success(), "{}", stderr(&out));
        let mut stored: Vec<String> = store
            .rows("SELECT report_sha256 FROM crashes ORDER BY report_sha256")
            .into_iter()
            .map(|r| r[0].clone().unwrap())
            .collect();
        let mut want = vec![
            hex(&std::fs::read(root().join(RACE)).unwrap()),
            hex(&std::fs::read(root().join(legacy)).unwrap()),
        ];
        want.sort();
        assert_eq!(stored, want, "{store:?}");
        // Standard input: the bytes read there (there is no file to read again).
        let pasted =
            std::fs::read(root().join("testdata/real/crash/sentryacrp__XCDYouTubeKit-54.txt"))
                .unwrap();
        let out = crashdelta()
            .args(["classify", "--format", "json", "--history"])
            .arg(store.arg())
            .arg("-")
            .write_stdin(pasted.clone())
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        stored = store
            .rows("SELECT report_sha256 FROM crashes")
            .into_iter()
            .map(|r| r[0].clone().unwrap_or_default())
            .collect();
        assert!(stored.contains(&hex(&pasted)), "{stored:?}");
    }
}

/// The same reports classified twice are one crash each, seen by two runs; each run is a row
/// (a run is counted whether or not it found anything new).
#[test]
fn a_crash_is_stored_once_however_many_runs_see_it() {
    let dir = tempfile::tempdir().unwrap();
    for store in stores(dir.path(), "once") {
        a_crash_is_stored_once_in(&store);
    }
}

fn a_crash_is_stored_once_in(h: &Store) {
    let first = classify(h.arg(), &["testdata/derived"]);
    let second = classify(h.arg(), &["testdata/derived", RACE]);
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
    let c = h;
    assert_eq!(
        c.count("SELECT count(*) FROM runs WHERE kind = 'classify'"),
        2
    );
    let crashes = c.count("SELECT count(*) FROM crashes");
    assert!(crashes > 10, "{crashes}");
    // RACE is in testdata/derived too: its incident is stored once, seen once by each run (twice
    // by the second, which counts as one sighting).
    assert_eq!(
        c.count(
            "SELECT count(*) FROM sightings s JOIN crashes c ON c.id = s.crash \
             WHERE c.incident_id = '5E0C2B1A-7F3D-4A9B-8C6E-1D2F3A4B5C6D'"
        ),
        2,
        "one sighting per run"
    );
    assert_eq!(c.count("SELECT count(DISTINCT first_run) FROM crashes"), 1);
    assert_eq!(
        c.count("SELECT count(*) FROM runs WHERE tool_version IS NOT NULL"),
        2
    );
    let Store::File(h) = h else {
        assert_eq!(c.count("SELECT schema_version FROM crashdelta_meta"), 4);
        return;
    };
    let c = db(h);
    assert_eq!(count(&c, "PRAGMA user_version"), 4);
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
    for h in stores(dir.path(), "watched") {
        a_watched_run_is_recorded_in(&h, dir.path());
    }
}

fn a_watched_run_is_recorded_in(h: &Store, dir: &Path) {
    let reports = dir.join(format!("reports-{}", h.is_postgres()));
    std::fs::create_dir(&reports).unwrap();
    let script = format!("{WRITE_RACE}\nwrite_race $$ $PPID\nexit 3");
    let o = crashdelta()
        .args(["watch", "--settle", "0.3s", "--history"])
        .arg(h.arg())
        .arg("--reports-dir")
        .arg(&reports)
        .env("REPORTS", &reports)
        .env("RACE", root().join(RACE))
        .args(["--", "sh", "-c", &script])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(86), "{}", stderr(&o));
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    let run: Vec<String> = h
        .row("SELECT kind, command, exit_code, gate_passed, crashes FROM runs")
        .into_iter()
        .map(Option::unwrap)
        .collect();
    assert_eq!(
        (
            run[0].as_str(),
            run[2].as_str(),
            run[3].as_str(),
            run[4].as_str()
        ),
        ("watch", "3", "0", "1")
    );
    assert!(run[1].starts_with("[\"sh\",\"-c\""), "{}", run[1]);
    let crash: Vec<String> = h
        .row(
            "SELECT c.rule, c.driver, c.driver_version, c.os_build, s.attribution \
             FROM crashes c JOIN sightings s ON s.crash = c.id",
        )
        .into_iter()
        .map(Option::unwrap)
        .collect();
    assert_eq!(crash[0], "agx-prepare-for-enqueue-race");
    assert!(crash[1].starts_with("AGX"), "{}", crash[1]);
    assert!(!crash[2].is_empty() && !crash[3].is_empty());
    assert_eq!(crash[4], "run");
}

/// A campaign's runs share its id; each run's crash count is the campaign's, so a report that
/// landed during a later run (the waits overlap) is still its own run's crash in the history.
#[test]
fn a_campaigns_runs_are_one_campaign_with_their_own_counts() {
    let dir = tempfile::tempdir().unwrap();
    for h in stores(dir.path(), "campaign") {
        a_campaign_is_recorded_in(&h, dir.path());
    }
}

fn a_campaign_is_recorded_in(h: &Store, dir: &Path) {
    let reports = dir.join(format!("reports-{}", h.is_postgres()));
    let state = dir.join(format!("state-{}", h.is_postgres()));
    std::fs::create_dir(&reports).unwrap();
    std::fs::create_dir(&state).unwrap();
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
        .arg(h.arg())
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
    let c = h;
    assert_eq!(c.count("SELECT count(DISTINCT campaign) FROM runs"), 1);
    assert_eq!(
        c.count("SELECT count(*) FROM runs WHERE kind = 'campaign-run'"),
        3
    );
    assert_eq!(
        c.count("SELECT count(*) FROM runs WHERE crashes = 1"),
        3,
        "{}",
        stderr(&o)
    );
    assert_eq!(c.count("SELECT max(campaign_run) FROM runs"), 3);
    assert_eq!(c.count("SELECT count(*) FROM crashes"), 3);
    // Each crash is its own run's, though runs 1 and 2's reports landed during run 3 (review
    // finding: all three were stored as run 3's, in `compare` under the wrong configuration).
    let padded = match h.is_postgres() {
        true => "lpad(r.campaign_run::text, 4, '0')",
        false => "printf('%04d', r.campaign_run)",
    };
    assert_eq!(
        c.count(&format!(
            "SELECT count(*) FROM crashes c JOIN runs r ON r.id = c.first_run \
             WHERE c.incident_id LIKE '%' || {padded}"
        )),
        3,
        "{}",
        stderr(&o)
    );
    assert_eq!(
        c.count("SELECT count(*) FROM sightings WHERE attribution = 'run'"),
        3
    );
    assert_eq!(
        c.count("SELECT count(*) FROM sightings WHERE attribution = 'late'"),
        2
    );

    // `stats` reads the history: every crash once, the campaign's runs as runs, and a classify
    // of the same reports adds none.
    let again = crashdelta()
        .args(["classify", "--format", "json", "--history"])
        .arg(h.arg())
        .arg(&reports)
        .output()
        .unwrap();
    assert!(again.status.code().is_some());
    let o = crashdelta()
        .args(["stats", "--format", "json"])
        .arg(h.arg())
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
    for h in stores(dir.path(), "at_once") {
        several_processes_append_to(&h, dir.path());
    }
}

fn several_processes_append_to(h: &Store, dir: &Path) {
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
                .arg(h.arg())
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
    assert_eq!(h.count("SELECT count(*) FROM runs"), inputs.len() as i64);
    // Each incident once, whichever process stored it first, and every run saw all of its own.
    assert_eq!(
        h.count("SELECT count(*) FROM crashes"),
        h.count("SELECT count(DISTINCT key) FROM crashes")
    );
    let alone = Store::File(dir.join(format!("alone-{}.sqlite", h.is_postgres())));
    for input in inputs {
        classify(alone.arg(), &[input]);
    }
    let per_run = "SELECT r.crashes, count(s.crash) FROM runs r \
                   LEFT JOIN sightings s ON s.run = r.id GROUP BY r.id, r.crashes \
                   ORDER BY r.crashes, count(s.crash)";
    assert_eq!(h.rows(per_run), alone.rows(per_run));
    assert_eq!(
        h.count("SELECT count(*) FROM crashes"),
        alone.count("SELECT count(*) FROM crashes")
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

/// PostgreSQL the way CI systems give it: the password in `PGPASSWORD` (a secret of its own,
/// read as libpq reads it) and the URL in plain configuration, its scheme in any case
/// (`PostgreSQL://`, which the postgres crate alone refuses). A password in the URL wins.
#[test]
fn a_postgres_password_comes_from_pgpassword_and_the_scheme_in_any_case() {
    let Some(made) = fresh_database("pgpassword") else {
        return;
    };
    let admin_url = made.url.clone();
    let pw = TestRole::new(&admin_url, "pw", "pg-s3cret");
    let role = &pw.name;
    let mut admin = postgres::Client::connect(&admin_url, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!("ALTER DATABASE {} OWNER TO {role}", made.name()))
        .unwrap();
    // The test server asks every role but its own for a password on the socket.
    let bare = admin_url.replacen(
        "postgresql://crashdelta@",
        &format!("PostgreSQL://{role}@"),
        1,
    );
    assert_ne!(bare, admin_url, "{admin_url}");
    let runs = |admin: &mut postgres::Client| -> i64 {
        admin
            .query_opt("SELECT count(*) FROM runs", &[])
            .ok()
            .flatten()
            .map_or(0, |r| r.get(0))
    };
    let with = |password: Option<&str>, url: &str| {
        let mut c = crashdelta();
        c.args(["classify", "--format", "json", "--history", url, RACE]);
        match password {
            Some(p) => c.env("PGPASSWORD", p),
            None => c.env_remove("PGPASSWORD"),
        };
        let out = c.output().unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        stderr(&out)
    };
    let err = with(None, &bare);
    assert!(
        err.contains("the server asks for a password: set PGPASSWORD"),
        "{err}"
    );
    assert_eq!(runs(&mut admin), 0);
    let err = with(Some("wrong"), &bare);
    assert!(err.contains("password authentication failed"), "{err}");
    let err = with(Some("pg-s3cret"), &bare);
    assert!(!err.contains("warning"), "{err}");
    assert_eq!(runs(&mut admin), 1, "{err}");
    // An empty password in the URL (`user:@`) is none, as libpq reads it.
    let empty = bare.replacen(&format!("{role}@"), &format!("{role}:@"), 1);
    let err = with(Some("pg-s3cret"), &empty);
    assert!(!err.contains("warning"), "{err}");
    assert_eq!(runs(&mut admin), 2, "{err}");
    // The URL's own password first, as libpq does.
    let inline = bare.replacen(&format!("{role}@"), &format!("{role}:pg-s3cret@"), 1);
    let err = with(Some("wrong"), &inline);
    assert!(!err.contains("warning"), "{err}");
    assert_eq!(runs(&mut admin), 3, "{err}");
    assert!(!err.contains("pg-s3cret"), "{err}");
}

/// PostgreSQL: a server that is not there, a wrong password, a database of a newer schema, and
/// another program's tables are each a warning, naming the database without its password: the
/// output, the exit code and the run record are the same as without `--history`, and the
/// password is nowhere in what the run wrote.
#[test]
fn a_postgres_history_that_cannot_be_written_never_changes_the_verdict() {
    let Some(made) = fresh_database("verdict") else {
        return;
    };
    let url = made.url.clone();
    let dir = tempfile::tempdir().unwrap();
    let run = |history: Option<&str>, record: &Path| {
        let mut c = crashdelta();
        c.args(["watch", "--settle", "0.3s", "--reports-dir"])
            .arg(dir.path())
            .arg("--json")
            .arg(record);
        if let Some(h) = history {
            c.arg("--history").arg(h);
        }
        c.args(["--", "sh", "-c", "exit 3"]).output().unwrap()
    };
    let without = run(None, &dir.path().join("without.json"));
    // Nothing listens on a port just freed on this machine's loopback.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let unreachable =
        format!("postgres://ci:n0t-th3re-s3cret@127.0.0.1:{port}/crashes?connect_timeout=3");
    // A role of the test server that has a password, given the wrong one.
    let role = TestRole::new(&url, "role", "right-one");
    let wrong = url.replacen(
        "://crashdelta@",
        &format!("://{}:wr%40ng-s3cret@", role.name),
        1,
    );
    assert_ne!(
        wrong, url,
        "the test server's URL names the crashdelta role: {url}"
    );
    let newer = fresh_database("newer").unwrap();
    classify(&newer, &[RACE]);
    postgres::Client::connect(&newer.url, postgres::NoTls)
        .unwrap()
        .batch_execute("UPDATE crashdelta_meta SET schema_version = 99")
        .unwrap();
    let theirs = fresh_database("theirs").unwrap();
    postgres::Client::connect(&theirs.url, postgres::NoTls)
        .unwrap()
        .batch_execute("CREATE TABLE crashes (id serial PRIMARY KEY, body text)")
        .unwrap();
    for (i, (history, says)) in [
        (unreachable.as_str(), "Connection refused"),
        (wrong.as_str(), "password authentication failed"),
        (newer.url.as_str(), "schema version 99, newer than"),
        (theirs.url.as_str(), "is not a crashdelta history"),
    ]
    .into_iter()
    .enumerate()
    {
        let record = dir.path().join(format!("with-{i}.json"));
        let o = run(Some(history), &record);
        let err = stderr(&o);
        assert_eq!(o.status.code(), without.status.code(), "{err}");
        assert_eq!(o.stdout, without.stdout);
        assert!(err.contains("warning:") && err.contains(says), "{err}");
        let written = std::fs::read_to_string(&record).unwrap();
        for secret in ["s3cret", "wr@ng"] {
            assert!(!err.contains(secret), "{err}");
            assert!(!written.contains(secret), "{written}");
        }
        let record: serde_json::Value = serde_json::from_str(&written).unwrap();
        assert_eq!(record["gate"]["passed"], true, "{record:#}");
    }
    // Nor said by `stats`, which cannot read it.
    for history in [&unreachable, &wrong] {
        let o = crashdelta().arg("stats").arg(history).output().unwrap();
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
        let said = format!("{}{}", stderr(&o), String::from_utf8_lossy(&o.stdout));
        assert!(said.contains(":***@"), "{said}");
        assert!(
            !said.contains("s3cret") && !said.contains("wr@ng"),
            "{said}"
        );
    }
    // The password in CRASHDELTA_HISTORY is not recorded with the run's environment.
    let record = dir.path().join("from-env.json");
    let o = crashdelta()
        .args(["watch", "--settle", "0s", "--reports-dir"])
        .arg(dir.path())
        .arg("--json")
        .arg(&record)
        .env("CRASHDELTA_HISTORY", &wrong)
        .args(["--", "true"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let written = std::fs::read_to_string(&record).unwrap();
    assert!(written.contains("CRASHDELTA_HISTORY"), "{written}");
    assert!(
        !written.contains("s3cret") && !written.contains("wr@ng"),
        "{written}"
    );
    // Left as they were.
    let newer = Store::Postgres(newer);
    assert_eq!(
        newer.count("SELECT schema_version FROM crashdelta_meta"),
        99
    );
    let theirs = Store::Postgres(theirs);
    assert_eq!(
        theirs.count("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"),
        1
    );
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
    // A URL, from either, is the database's: not a path in the file's folder.
    let Some(made) = fresh_database("named") else {
        return;
    };
    let url = made.url.clone();
    let o = crashdelta()
        .args(["classify", "--format", "json", RACE])
        .env("CRASHDELTA_HISTORY", &url)
        .output()
        .unwrap();
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    std::fs::write(
        dir.path().join("crashdelta.toml"),
        format!("history = \"{url}\"\n"),
    )
    .unwrap();
    let o = crashdelta()
        .current_dir(dir.path())
        .args(["classify", "--format", "json"])
        .arg(root().join(RACE))
        .output()
        .unwrap();
    assert!(!stderr(&o).contains("warning"), "{}", stderr(&o));
    assert_eq!(Store::Postgres(made).count("SELECT count(*) FROM runs"), 2);
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
    // The PostgreSQL ones (```sql postgresql), against a database the binary wrote.
    let Some(made) = fresh_database("documented") else {
        return;
    };
    classify(&made, &["testdata/derived", "testdata/real/ips"]);
    let queries: Vec<&str> = doc
        .split("```sql postgresql\n")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .collect();
    assert!(queries.len() >= 4, "{queries:?}");
    let h = Store::Postgres(made);
    for q in &queries {
        h.rows(q);
    }
    // Crashes by week has rows: the stored capture times read as PostgreSQL times.
    assert!(!h.rows(queries[0]).is_empty(), "{}", queries[0]);
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
