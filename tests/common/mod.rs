//! Helpers every test file shares: where the repository and its test data are, the built-in
//! rules, the real binary, and the report most tests start from. Each test file that needs them
//! says `mod common;`; not every file uses every helper.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::time::{Duration, Instant};

pub mod pg_server;
use pg_server::TestDatabase;

/// [`pg_server::new_database`], saying when the test's PostgreSQL half is skipped.
pub fn fresh_database(name: &str) -> Option<TestDatabase> {
    let made = pg_server::new_database(name);
    if made.is_none() {
        eprintln!("skipped the PostgreSQL half: no CRASHDELTA_TEST_POSTGRES (bash .ci/test)");
    }
    made
}

/// The AGX race report every watch and campaign test writes (testdata/README.md).
pub const RACE: &str = "testdata/derived/agx-prepareForEnqueue-0x98.ips";

/// A shell snippet that writes the race report for pid `$1`, parent `$2`, captured and launched
/// at `$3` (default: now), into `$REPORTS/$4` (default `Python-race.ips`), renamed into place as
/// ReportCrash does.
pub const WRITE_RACE: &str = r#"
write_race() {
  when=${3:-$(date -u '+%Y-%m-%d %H:%M:%S.00 +0000')}
  sed -e "s/\"pid\": 81920/\"pid\": $1/" -e "s/\"parentPid\": 81852/\"parentPid\": $2/" \
      -e "s/\"responsiblePid\": 1357/\"responsiblePid\": $1/" \
      -e "s/\"captureTime\": \"[^\"]*\"/\"captureTime\": \"$when\"/" \
      -e "s/\"procLaunch\": \"[^\"]*\"/\"procLaunch\": \"$when\"/" \
      "$RACE" > "$REPORTS/.race.tmp"
  mv "$REPORTS/.race.tmp" "$REPORTS/${4:-Python-race.ips}"
}
"#;

/// The repository.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `testdata/`.
pub fn testdata() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata"))
}

/// `testdata/REL`, as a path.
pub fn testdata_path(rel: &str) -> PathBuf {
    testdata().join(rel)
}

/// The bytes of `testdata/REL`; a missing file fails the test with its name.
pub fn read(rel: &str) -> Vec<u8> {
    std::fs::read(testdata().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The built-in rules.
pub fn rules() -> crashdelta::classify::RuleSet {
    crashdelta::classify::RuleSet::builtin().unwrap()
}

/// An analyzer with the built-in rules and no symbols.
pub fn analyzer() -> crashdelta::analyze::Analyzer {
    crashdelta::analyze::Analyzer::new(rules(), None)
}

/// The real binary, run from the repository (so relative test-data paths resolve).
pub fn crashdelta() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::new(env!("CARGO_BIN_EXE_crashdelta"));
    c.current_dir(root());
    // The tests say what they want; a developer's own settings must not change it.
    for var in CRASHDELTA_ENV {
        c.env_remove(var);
    }
    // Nor the conventions a developer's shell may set, nor a crashdelta.toml above the checkout.
    c.env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE");
    c.env_remove("CRASHDELTA_CONFIG");
    // Nor a library the developer's environment injects: a run record then says whether it
    // loaded, and the tests of that set it themselves (tests/injected.rs).
    c.env_remove("LD_PRELOAD")
        .env_remove("DYLD_INSERT_LIBRARIES");
    c
}

/// A shared library built in `dir` with the system's C compiler (`cc`: gcc or clang), named
/// `name`: the stand-in for a fix library injected with `LD_PRELOAD`. It defines one function and
/// does nothing when loaded.
pub fn shared_library(dir: &Path, name: &str) -> PathBuf {
    let source = dir.join(format!("{name}.c"));
    std::fs::write(&source, "int crashdelta_test_fix(void) { return 1; }\n").unwrap();
    let library = dir.join(name);
    let out = Command::new("cc")
        .args(["-shared", "-fPIC", "-o"])
        .arg(&library)
        .arg(&source)
        .output()
        .expect("cc (gcc or clang) builds the library the injection tests preload");
    assert!(
        out.status.success(),
        "cc: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    library
}

/// The environment variables that stand in for crashdelta's options.
pub const CRASHDELTA_ENV: [&str; 6] = [
    "CRASHDELTA_SETTLE",
    "CRASHDELTA_FAIL_ON",
    "CRASHDELTA_RULES",
    "CRASHDELTA_REPORTS_DIR",
    "CRASHDELTA_STATE",
    "CRASHDELTA_HISTORY",
];

/// `cmd` with the signals crashdelta forwards (SIGINT, SIGQUIT, SIGHUP, SIGTERM) at their
/// default disposition in the process it starts: a shell starts background jobs (`.ci/run &`, a
/// CI step run in the background) with SIGINT and SIGQUIT ignored, `nohup` starts its command
/// with SIGHUP ignored, an ignored signal is inherited, and crashdelta leaves a signal ignored
/// at its start ignored, as shells do (`watch::supervise`). The tests that interrupt crashdelta
/// test the interrupt, not how they were launched: under `nohup`, the SIGHUP test ran its
/// command to the end (`sighup_is_forwarded_and_exits_130`, a stress run of the suite).
pub fn hearing_interrupts(cmd: &mut std::process::Command) -> &mut std::process::Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: between fork and exec, signal(2) only, which is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            for signal in [libc::SIGINT, libc::SIGQUIT, libc::SIGHUP, libc::SIGTERM] {
                libc::signal(signal, libc::SIG_DFL);
            }
            Ok(())
        })
    }
}

/// Starts `cmd` (hearing interrupts, its standard error piped), sends it SIGINT `after` that,
/// and waits for it: its output, and how long it took to end once interrupted.
pub fn interrupted_after(cmd: &mut std::process::Command, after: Duration) -> (Output, Duration) {
    let child = hearing_interrupts(cmd)
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(after);
    // SAFETY: kill(2) on our own child.
    unsafe {
        libc::kill(child.id() as i32, libc::SIGINT);
    }
    let start = std::time::Instant::now();
    let out = child.wait_with_output().unwrap();
    (out, start.elapsed())
}

/// A finished command's standard error, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// Waits for `child` up to `limit`; kills it (and its process group when it leads one) past it.
/// Returns the status, or `None` when it had to be killed, and how long it took.
pub fn wait_for(child: &mut Child, limit: Duration) -> (Option<ExitStatus>, Duration) {
    let start = Instant::now();
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return (Some(status), start.elapsed());
        }
        if start.elapsed() >= limit {
            let _ = child.kill();
            let _ = child.wait();
            return (None, start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Whether the terminal tests cannot run here: they need util-linux `script(1)` (`script -qec`)
/// to make a pseudo-terminal; BSD `script` (macOS) takes other arguments. Says so when skipping.
pub fn no_pty() -> bool {
    let util_linux = Command::new("script")
        .arg("--version")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).contains("util-linux"));
    if !util_linux {
        eprintln!("skipped: the terminal tests need util-linux script(1) for a pseudo-terminal");
    }
    !util_linux
}

/// `s` quoted for sh(1).
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// `line` run by util-linux script(1) on a new pseudo-terminal, the terminal's foreground job as
/// it is in an interactive shell. `input` is written to the terminal, each piece after its delay.
/// Returns the status (`None`: still running after `limit`, killed), what the terminal showed, and
/// how long it took.
pub fn on_terminal_line(
    line: &str,
    input: &[(Duration, &[u8])],
    limit: Duration,
) -> (Option<ExitStatus>, String, Duration) {
    let mut child = hearing_interrupts(&mut Command::new("script"))
        .args(["-qec", line, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("util-linux script(1) is needed for the terminal tests");
    let mut stdin = child.stdin.take().unwrap();
    let pieces: Vec<(Duration, Vec<u8>)> = input.iter().map(|(d, b)| (*d, b.to_vec())).collect();
    let writer = std::thread::spawn(move || {
        for (delay, bytes) in pieces {
            std::thread::sleep(delay);
            if stdin.write_all(&bytes).is_err() {
                return;
            }
            let _ = stdin.flush();
        }
        // Keep the terminal's input open until the run is over: script(1) ends the session when
        // its input closes.
        std::thread::sleep(Duration::from_secs(60));
    });
    let mut stdout = child.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = stdout.read_to_end(&mut s);
        String::from_utf8_lossy(&s).into_owned()
    });
    let (status, took) = wait_for(&mut child, limit);
    drop(writer);
    let shown = reader.join().unwrap_or_default();
    (status, shown, took)
}

/// The pids of a run record's process tree (`command.pids`).
pub fn command_pids(doc: &serde_json::Value) -> Vec<u64> {
    doc["command"]["pids"]
        .as_array()
        .map(|pids| pids.iter().filter_map(serde_json::Value::as_u64).collect())
        .unwrap_or_default()
}

/// `crashdelta watch --settle 0.5s ARGS --reports-dir REPORTS -- sh -c SCRIPT`: the script can
/// stand in for ReportCrash with [`WRITE_RACE`] (its `$REPORTS` and `$RACE` are set); `env`
/// adds more variables.
pub fn watch_sh(
    reports: &Path,
    args: &[&str],
    env: &[(&str, &std::ffi::OsStr)],
    script: &str,
) -> Output {
    let mut cmd = crashdelta();
    cmd.env("REPORTS", reports).env("RACE", root().join(RACE));
    for (name, value) in env {
        cmd.env(name, value);
    }
    cmd.args(["watch", "--settle", "0.5s"])
        .args(args)
        .arg("--reports-dir")
        .arg(reports)
        .args(["--", "sh", "-c", script])
        .output()
        .unwrap()
}

/// A shell snippet (after [`WRITE_RACE`]): Python with faulthandler dies of a real SIGSEGV in
/// `gather()`, then the race report is written for its pid, as ReportCrash would. It lives
/// 0.3 s first: the sampler looks every 100 ms, and a Python that starts and crashes in ~90 ms
/// could end unseen, so the dump was joined by time, not by its pid (a fresh-clone CI run:
/// `a_crash_report_is_joined_with_the_python_stack_the_run_printed`). A test runner's workers
/// live for seconds.
pub const PYTHON_DIES: &str = r#"
python3 -X faulthandler -c 'import ctypes, time
def gather():
    time.sleep(0.3); ctypes.string_at(0)
gather()' &
crashed=$!
wait $crashed
write_race $crashed $$
exit 0
"#;

/// A history to ask questions of, the same on every day it is built: the race report classified
/// into it by the real binary (a real crash row, captured 2025-12-24), then, written with SQL as
/// a team's runners would have appended them, three weeks of watched runs on two machines in
/// two configurations, and their crashes with the tests that crashed, OS builds and driver
/// versions. Ask it with `--until 2026-11-29` (the classify run itself is dated today). A SQLite
/// file in `dir`; [`history_fixture_postgres`] makes the same in PostgreSQL.
pub fn history_fixture(dir: &Path) -> PathBuf {
    let h = dir.join("history.sqlite");
    fill_history(h.as_os_str(), |sql| {
        rusqlite::Connection::open(&h)
            .unwrap()
            .execute_batch(sql)
            .unwrap_or_else(|e| panic!("{e}: {sql}"))
    });
    h
}

/// [`history_fixture`] in a new database on the test server, its URL; `None` (skipped) without
/// one, as [`fresh_database`].
pub fn history_fixture_postgres(name: &str) -> Option<TestDatabase> {
    let db = fresh_database(name)?;
    fill_history(std::ffi::OsStr::new(&db.url), |sql| {
        postgres::Client::connect(&db.url, postgres::NoTls)
            .unwrap()
            .batch_execute(sql)
            .unwrap_or_else(|e| panic!("{e:?}: {sql}"))
    });
    Some(db)
}

/// Classifies the race into the history `at` names, then runs the fixture's SQL through `exec`:
/// plain SQL both stores read (literals, each crash tied to the run just written).
fn fill_history(at: &std::ffi::OsStr, mut exec: impl FnMut(&str)) {
    let o = crashdelta()
        .args(["classify", "--history"])
        .arg(at)
        .arg(RACE)
        .output()
        .unwrap();
    assert!(o.status.code().is_some(), "{}", stderr(&o));
    let text = |s: Option<&str>| s.map_or("NULL".to_owned(), |s| format!("'{s}'"));
    // (day, machine, configuration, crashes, unreadable)
    let runs: &[(&str, &str, Option<&str>, i64, i64)] = &[
        ("2026-11-09", "mac-mini-1", Some("baseline"), 1, 0),
        ("2026-11-09", "mac-mini-1", Some("baseline"), 0, 0),
        (
            "2026-11-10",
            "mac-mini-2",
            Some("serialised-encoding"),
            0,
            0,
        ),
        (
            "2026-11-11",
            "mac-mini-2",
            Some("serialised-encoding"),
            0,
            0,
        ),
        ("2026-11-17", "mac-mini-1", Some("baseline"), 1, 0),
        ("2026-11-18", "mac-mini-1", Some("baseline"), 0, 1),
        (
            "2026-11-18",
            "mac-mini-2",
            Some("serialised-encoding"),
            0,
            0,
        ),
        ("2026-11-26", "mac-mini-1", None, 1, 0),
        ("2026-11-27", "mac-mini-2", None, 0, 0),
    ];
    for (i, (day, machine, config, crashes, unreadable)) in runs.iter().enumerate() {
        let mut sql = format!(
            "INSERT INTO runs (kind, machine, command, started, ended, settled, exit_code, \
             gate_passed, configuration, crashes, unreadable, pids) VALUES ('{kind}', \
             '{machine}', '[\"pytest\",\"-x\"]', '{t}', '{t}', '{t}', 0, {passed}, {config}, \
             {crashes}, {unreadable}, '[4242]');",
            kind = if config.is_some() {
                "campaign-run"
            } else {
                "watch"
            },
            t = format!("{day}T10:{i:02}:00.000Z"),
            passed = i64::from(crashes + unreadable == 0),
            config = text(*config),
        );
        if *crashes > 0 {
            let (build, version, test) = match *day {
                "2026-11-09" => ("24G84", "329.2", "tests/test_mps.py::test_gather"),
                "2026-11-17" => ("24G90", "329.2", "tests/test_mps.py::test_gather"),
                _ => ("25A354", "342.1", "tests/test_mps.py::test_conv_backward"),
            };
            sql.push_str(&format!(
                "INSERT INTO crashes (key, incident_id, captured, signature_id, signature, rule, \
                 known, family, title, location, process, os_build, driver, driver_version, \
                 hardware_model, test_id, first_run) VALUES ('FIXTURE-{i}', 'FIXTURE-{i}', \
                 '{day}T10:{i:02}:30.000Z', '25ad5093bba0f34e', \
                 'EXC_BAD_ACCESS|AGX::ComputeContext::prepareForEnqueue(bool)', \
                 'agx-prepare-for-enqueue-race', 1, 'agx', \
                 'AGX prepareForEnqueue null dereference (the MPS encoding race)', \
                 'AGX::ComputeContext::prepareForEnqueue(bool) + 1268', 'Python', '{build}', \
                 'AGXMetalG16X', '{version}', 'Mac16,10', '{test}', \
                 (SELECT max(id) FROM runs)); \
                 INSERT INTO sightings (run, crash, attribution, basis, path, rule) VALUES \
                 ((SELECT max(id) FROM runs), (SELECT max(id) FROM crashes), 'run', \
                 'process-tree', '/r/Python.ips', 'agx-prepare-for-enqueue-race');"
            ));
        }
        exec(&sql);
    }
}
