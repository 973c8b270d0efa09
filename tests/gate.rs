//! The gate never passes a crash of the run (issue 13, part A): each test here failed before
//! the mechanism it names existed.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{RACE, WRITE_RACE, analyzer, crashdelta, read, stderr};
use crashdelta::classify::Family;

/// Every string leaf of a JSON value, by its path (`threads/0/frames/3/symbol`).
fn string_paths(v: &serde_json::Value, at: String, out: &mut Vec<String>) {
    match v {
        serde_json::Value::String(_) => out.push(at),
        serde_json::Value::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                string_paths(item, format!("{at}/{i}"), out);
            }
        }
        serde_json::Value::Object(map) => {
            for (k, item) in map {
                string_paths(
                    item,
                    format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                    out,
                );
            }
        }
        _ => {}
    }
}

/// A thread name, a queue label or a symbol cut in the middle of a UTF-16 pair: before the
/// repair, serde_json refused the whole body, the crashed thread was lost and the AGX race was
/// `other`. With a lone surrogate in any one string of the body, the report still classifies
/// as the race, with a warning saying what was replaced.
#[test]
fn a_lone_surrogate_in_any_string_field_does_not_hide_the_race() {
    let text = String::from_utf8(read(RACE.trim_start_matches("testdata/"))).unwrap();
    let (header, body) = text.split_once('\n').unwrap();
    assert!(header.contains("bug_type"));
    let body: serde_json::Value = serde_json::from_str(body).unwrap();
    let mut paths = Vec::new();
    string_paths(&body, String::new(), &mut paths);
    assert!(
        paths.len() > 50,
        "the race report has many strings: {}",
        paths.len()
    );
    let analyzer = analyzer();
    // A private-use character marks where the surrogate goes; serde_json writes it raw.
    const MARK: char = '\u{e000}';
    let mut hidden = Vec::new();
    for path in &paths {
        let mut damaged = body.clone();
        let slot = damaged.pointer_mut(path).unwrap();
        let s = slot.as_str().unwrap().to_owned();
        *slot = serde_json::Value::String(format!("{s}{MARK}"));
        let json = serde_json::to_string(&damaged)
            .unwrap()
            .replace(MARK, "\\ud83d");
        let report = format!("{header}\n{json}");
        assert!(
            serde_json::from_str::<serde_json::Value>(&json).is_err(),
            "{path}: the damage must be what strict JSON refuses"
        );
        match analyzer.analyze(report.as_bytes()) {
            // The crashed frame's own symbol, damaged, is another symbol: the rule for the race no
            // longer matches it, but the crash is still in the AGX driver, so `--fail-on agx`
            // still fails. Everywhere else the race itself is found.
            Ok(a)
                if a.classification.as_ref().is_some_and(|c| {
                    c.family == Family::Agx
                        && (c.rule == "agx-prepare-for-enqueue-race"
                            || path.ends_with("/frames/0/symbol"))
                }) =>
            {
                assert!(
                    a.report
                        .warnings
                        .iter()
                        .any(|w| w.message.contains("surrogate")),
                    "{path}: no warning"
                );
            }
            other => hidden.push(format!(
                "{path}: {:?}",
                other.map(|a| a.classification.map(|c| c.rule))
            )),
        }
    }
    assert!(
        hidden.is_empty(),
        "{} fields hid the race: {hidden:#?}",
        hidden.len()
    );
}

/// The same through the binary: `--fail-on agx` fails on the damaged report.
#[test]
fn the_gate_fails_on_a_race_report_with_a_cut_emoji_in_a_thread_name() {
    let text = String::from_utf8(read(RACE.trim_start_matches("testdata/"))).unwrap();
    let damaged = text.replacen(
        "\"threads\": [\n    {",
        "\"threads\": [\n    {\"name\": \"worker \\ud83d\",",
        1,
    );
    assert_ne!(damaged, text, "the fixture's threads array moved");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Python-cut-emoji.ips");
    std::fs::write(&path, damaged).unwrap();
    let out = crashdelta()
        .args(["classify", "--fail-on", "agx"])
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(86), "{stdout}{}", stderr(&out));
    assert!(stdout.contains("agx-prepare-for-enqueue-race"), "{stdout}");
}

/// A reports folder with no report in it yet.
fn reports_folder() -> (tempfile::TempDir, std::path::PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("DiagnosticReports");
    std::fs::create_dir(&reports).unwrap();
    (dir, reports)
}

/// `crashdelta watch` over `reports`, the command a shell script that has `$REPORTS` and `$RACE`.
/// A cut report waits for the rest of it until `settle_max`.
fn watch(
    reports: &std::path::Path,
    settle_max: &str,
    extra: &[&str],
    script: &str,
) -> std::process::Output {
    crashdelta()
        .env("REPORTS", reports)
        .env("RACE", common::root().join(RACE))
        .args(["watch", "--reports-dir"])
        .arg(reports)
        .args(["--settle", "0.5s", "--settle-max", settle_max])
        .args(extra)
        .args(["--", "sh", "-c", script])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap()
}

/// A new report cut inside its body (ReportCrash killed, a full disk) cannot be classified; it
/// might be the race itself. Before, `--fail-on agx` passed it (exit 0); now every gate but
/// `none` fails on it, and `--allow unreadable` is the named way to accept that.
#[test]
fn a_cut_new_report_fails_the_agx_gate() {
    let (_dir, reports) = reports_folder();
    let script = r#"head -c 3000 "$RACE" > "$REPORTS/Python-2025-12-23-164107.ips"; exit 0"#;
    let out = watch(
        &reports,
        "2s",
        &["--fail-on", "agx", "--format", "json"],
        script,
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(86), "{err}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reason = doc["gate"]["reason"].as_str().unwrap();
    assert!(
        reason.contains("unreadable new crash report: incomplete report"),
        "{reason}"
    );
    let (_dir, reports) = reports_folder();
    let out = watch(
        &reports,
        "2s",
        &["--fail-on", "metal", "--allow", "unreadable"],
        r#"head -c 3000 "$RACE" > "$REPORTS/Python-2025-12-23-164108.ips"; exit 0"#,
    );
    // Exempt, the run passes (watch exits with the command's code); the summary still shows it.
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(err.contains("incomplete report"), "{err}");
}

/// A new file with a crash report's head but over the 64 MiB limit is settled at once as too
/// large: before, it stayed "being written" until `--settle-max` (20 s here) ran out, and then
/// passed `--fail-on agx`.
#[test]
fn an_oversized_new_report_is_settled_at_once_and_fails_the_gate() {
    let (_dir, reports) = reports_folder();
    let script = r#"head -n 1 "$RACE" > "$REPORTS/Python-2025-12-23-164107.ips"
truncate -s 70M "$REPORTS/Python-2025-12-23-164107.ips"; exit 0"#;
    let started = std::time::Instant::now();
    let out = watch(
        &reports,
        "20s",
        &["--fail-on", "agx", "--format", "json"],
        script,
    );
    let took = started.elapsed();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(86), "{err}");
    assert!(
        took < std::time::Duration::from_secs(10),
        "waited {took:?}: {err}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reason = doc["gate"]["reason"].as_str().unwrap();
    assert!(reason.contains("over the 67108864-byte limit"), "{reason}");
}

/// The process that crashed lived a millisecond, and so did its parent: the 100 ms sampler
/// never saw either. Before, the report was "concurrent" and `--fail-on any` passed (exit 0).
/// Nothing places it outside the run, and it was captured inside the window: it is the run's.
#[test]
fn a_crash_too_short_lived_for_the_sampler_is_the_runs() {
    let (_dir, reports) = reports_folder();
    let script = format!(
        "{WRITE_RACE}\nset -- $(sh -c 'sh -c \"echo \\$\\$ \\$PPID\"')\nwrite_race $1 $2; exit 0"
    );
    let out = watch(&reports, "2s", &["--format", "json"], &script);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(86), "{err}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let attribution = &doc["new"][0]["attribution"];
    assert_eq!(attribution["kind"], "run", "{attribution}");
    // Almost always unseen ("unplaced"); when the sampler happened to catch it, the tree proves it.
    let basis = attribution["basis"].as_str().unwrap();
    assert!(
        basis == "unplaced" || basis == "process-tree",
        "{attribution}"
    );
    if basis == "unplaced" {
        assert!(
            attribution["reason"]
                .as_str()
                .unwrap()
                .contains("nothing places it outside the run"),
            "{attribution}"
        );
        // `run-strict` gates only what the tree proves: shown, not gated.
        let (_dir, reports) = reports_folder();
        let out = watch(
            &reports,
            "2s",
            &["--attribute", "run-strict", "--format", "json"],
            &script,
        );
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        if doc["new"][0]["attribution"]["basis"] == "unplaced" {
            assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
            assert_eq!(
                doc["new"].as_array().unwrap().len(),
                1,
                "shown all the same"
            );
        }
    }
}

/// A report that lands after its run settled is seen by the next job, where it was called
/// "concurrent" and never gated. With `--state`, the next `watch` (and `diff`) names it as the
/// earlier run's late report, and the gate fails on it. The history (`--history`) remembers the
/// runs as the state file does.
#[test]
fn a_late_report_is_named_as_the_earlier_runs() {
    for store in ["--state", "--history"] {
        a_late_report_is_named_from(store);
    }
}

fn a_late_report_is_named_from(store: &str) {
    let (dir, reports) = reports_folder();
    let state = dir.path().join("state.json");
    let facts = dir.path().join("run1");
    let run1 = format!(
        "echo $$ $PPID \"$(date -u '+%Y-%m-%d %H:%M:%S.00 +0000')\" > '{}'; exit 0",
        facts.display()
    );
    let state_arg = [store, state.to_str().unwrap()];
    let out = watch(&reports, "2s", &state_arg, &run1);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(state.is_file(), "the run is remembered");

    // The next job: ReportCrash finally writes run 1's report while it runs.
    let late = format!(
        "{WRITE_RACE}\nread pid ppid when < '{}'\nwrite_race $pid $ppid \"$when\"; exit 0",
        facts.display()
    );
    let mut args = state_arg.to_vec();
    args.extend(["--format", "json"]);
    let out = watch(&reports, "2s", &args, &late);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(86), "{err}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let attribution = &doc["new"][0]["attribution"];
    assert_eq!(attribution["kind"], "late", "{attribution}");
    assert!(
        attribution["reason"]
            .as_str()
            .unwrap()
            .contains("a late report of an earlier run (sh -c echo"),
        "{attribution}"
    );
    assert_eq!(attribution["earlier_run"]["argv"][0], "sh");
    assert!(err.contains("late, from an earlier run"), "{err}");

    // The same report seen by a `diff` across CI steps.
    let before = dir.path().join("before.json");
    std::fs::remove_file(reports.join("Python-race.ips")).unwrap();
    let snap = crashdelta()
        .args(["snapshot", "--reports-dir"])
        .arg(&reports)
        .arg("--output")
        .arg(&before)
        .output()
        .unwrap();
    assert!(snap.status.success(), "{}", stderr(&snap));
    let write = std::process::Command::new("sh")
        .env("REPORTS", &reports)
        .env("RACE", common::root().join(RACE))
        .args(["-c", &late])
        .status()
        .unwrap();
    assert!(write.success());
    let out = crashdelta()
        .args(["diff", "--format", "json"])
        .arg(&before)
        .args(state_arg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(86), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["new"][0]["attribution"]["kind"], "late");

    if store == "--history" {
        // The history counts the crash as run 1's, seen first by it, once however many later
        // runs and diffs meet its report: run 1 crashed, the others did not.
        let c = rusqlite::Connection::open(&state).unwrap();
        let counts: Vec<(String, i64)> = c
            .prepare("SELECT kind, crashes FROM runs ORDER BY id")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            counts,
            [("watch".into(), 1), ("watch".into(), 0), ("diff".into(), 0)]
        );
        let first: i64 = c
            .query_row("SELECT first_run FROM crashes", [], |r| r.get(0))
            .unwrap();
        assert_eq!(first, 1);
        let sightings: Vec<(i64, String)> = c
            .prepare("SELECT run, attribution FROM sightings ORDER BY run")
            .unwrap()
            .query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(
            sightings,
            [(1, "run".into()), (2, "late".into()), (3, "late".into())]
        );
    }
}

/// A copy of an existing report (same incident, new path, the old one still there) was called
/// "retired" and hidden: `1 before → 2 after (0 new, 1 retired)`.
#[test]
fn a_copy_of_an_existing_report_is_new_and_said_to_be_a_copy() {
    let (_dir, reports) = reports_folder();
    std::fs::copy(common::root().join(RACE), reports.join("Python-old.ips")).unwrap();
    let out = watch(
        &reports,
        "2s",
        &["--format", "json"],
        r#"cp "$REPORTS/Python-old.ips" "$REPORTS/Python-copy.ips"; exit 0"#,
    );
    let err = stderr(&out);
    assert!(
        err.contains("Crash logs: 1 before → 2 after (1 new, 1 a copy of another report"),
        "{err}"
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        doc["new"][0]["duplicate_of"]
            .as_str()
            .unwrap()
            .ends_with("Python-old.ips"),
        "{doc}"
    );
    assert_eq!(doc["retired"], 0);
}

/// The same folder twice, through a link, and a folder with its own `Retired/`: each report
/// counted once (it was counted once per name).
#[test]
fn overlapping_report_folders_count_each_report_once() {
    let (dir, reports) = reports_folder();
    std::fs::create_dir(reports.join("Retired")).unwrap();
    std::fs::copy(
        common::root().join(RACE),
        reports.join("Retired/Python-old.ips"),
    )
    .unwrap();
    let link = dir.path().join("link");
    std::os::unix::fs::symlink(&reports, &link).unwrap();
    let out = crashdelta()
        .args(["watch", "--settle", "0s", "--format", "json"])
        .arg("--reports-dir")
        .arg(reports.join("Retired"))
        .arg("--reports-dir")
        .arg(&reports)
        .arg("--reports-dir")
        .arg(&link)
        .arg("--reports-dir")
        .arg(&reports)
        .args(["--", "true"])
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("Crash logs: 1 before → 1 after (0 new)"),
        "{err}"
    );
}

/// `crashdelta classify --fail-on any DIR | head` exited 0 (the broken pipe was "not an
/// error") and hid the failed gate; JSON output turned it into exit 125. Now the reader going
/// away only stops the writing: every input is still judged, and the exit code is the gate's,
/// for every format, and with standard error closed too.
#[test]
fn a_closed_output_pipe_does_not_mask_the_gate() {
    for format in ["human", "json", "markdown", "junit"] {
        for close_stderr in [false, true] {
            // A pipe whose reader is gone before crashdelta writes a byte: the first write fails
            // with EPIPE, deterministically.
            let (reader, writer) = std::io::pipe().unwrap();
            drop(reader);
            let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_crashdelta"));
            cmd.current_dir(common::root())
                .args([
                    "classify",
                    "--fail-on",
                    "any",
                    "--format",
                    format,
                    "testdata/derived",
                ])
                .stdout(writer);
            if close_stderr {
                let (reader, writer) = std::io::pipe().unwrap();
                drop(reader);
                cmd.stderr(writer);
            } else {
                cmd.stderr(std::process::Stdio::null());
            }
            let status = cmd.status().unwrap();
            assert_eq!(
                status.code(),
                Some(86),
                "--format {format}, stderr closed: {close_stderr}"
            );
        }
    }
    // Nothing fails the gate: a closed pipe is still not an error.
    let (reader, writer) = std::io::pipe().unwrap();
    drop(reader);
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_crashdelta"))
        .current_dir(common::root())
        .args(["classify", "--format", "json", "testdata/derived"])
        .stdout(writer)
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
}

/// An orphan: the command's child starts a grandchild in the background and exits at once, so
/// the grandchild's parent is gone and it was re-parented to init, outside the command's tree.
/// As the child subreaper (Linux), crashdelta adopts it: it is in the tree the run record
/// lists (and a report naming it is the run's by proof, not by the fail-closed rule).
#[test]
fn an_orphan_of_the_command_stays_in_its_process_tree() {
    if !cfg!(target_os = "linux") {
        eprintln!("skipped: the child subreaper is Linux's (macOS relies on the fail-closed rule)");
        return;
    }
    let (dir, reports) = reports_folder();
    let pidfile = dir.path().join("orphan.pid");
    let script = format!(
        "sh -c 'sh -c \"echo \\$\\$ > {}; sleep 0.4; kill -SEGV \\$\\$\" &'; sleep 0.8; exit 0",
        pidfile.display()
    );
    let out = watch(&reports, "2s", &["--format", "json"], &script);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let orphan: u64 = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let pids = common::command_pids(&doc);
    assert!(pids.contains(&orphan), "orphan {orphan} not in {pids:?}");
}

/// A campaign whose command cannot be started for run 2 (here it deletes itself in run 1, after
/// writing run 1's crash report) threw away run 1 and exited 127: the crash the gate had seen was
/// gone from the record. The finished runs are kept, and the gate's 86 stands.
#[test]
fn a_campaign_that_breaks_after_a_crash_keeps_the_crash() {
    let (dir, reports) = reports_folder();
    let command = dir.path().join("stress.sh");
    std::fs::write(
        &command,
        format!("#!/bin/sh\n{WRITE_RACE}\nwrite_race $$ $PPID\nrm -f \"$0\"\nexit 0\n"),
    )
    .unwrap();
    std::fs::set_permissions(
        &command,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .unwrap();
    let out = crashdelta()
        .env("REPORTS", &reports)
        .env("RACE", common::root().join(RACE))
        .args([
            "watch", "--repeat", "3", "--settle", "0.5s", "--format", "json",
        ])
        .arg("--reports-dir")
        .arg(&reports)
        .arg("--")
        .arg(&command)
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(86), "{err}");
    assert!(err.contains("run 2 could not be started"), "{err}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["runs"].as_array().map(Vec::len), Some(1), "{doc}");
}

/// A new `.ips` whose head shows no report (empty, cut inside its header line, a lone surrogate
/// in the header, a header longer than the 4 KiB the inventory reads) was invisible to `watch`:
/// never new, never unreadable, exit 0 under `--fail-on agx` (review finding). A file named as a
/// crash report counts as one until read whole: the race with a damaged header is still found,
/// and what cannot be read fails the gate.
#[test]
fn a_new_report_whose_header_is_damaged_is_not_invisible() {
    let race = String::from_utf8(read(RACE.trim_start_matches("testdata/"))).unwrap();
    let surrogate = race.replacen(
        "\"app_name\":\"Python\"",
        "\"app_name\":\"Python \\ud83d\"",
        1,
    );
    assert_ne!(surrogate, race);
    let overlong = race.replacen(
        "\"app_version\":\"3.14.0\"",
        &format!("\"app_version\":\"{}\"", "9".repeat(5000)),
        1,
    );
    assert_ne!(overlong, race);
    for (what, content, expected) in [
        ("empty", String::new(), "unreadable new crash report"),
        (
            "cut in its header",
            race.chars().take(100).collect(),
            "unreadable new crash report",
        ),
        (
            "a surrogate in its header",
            surrogate,
            "agx-prepare-for-enqueue-race",
        ),
        (
            "an overlong header",
            overlong,
            "agx-prepare-for-enqueue-race",
        ),
    ] {
        let (dir, reports) = reports_folder();
        let source = dir.path().join("source");
        std::fs::write(&source, content).unwrap();
        let out = crashdelta()
            .env("SOURCE", &source)
            .env("REPORTS", &reports)
            .args([
                "watch",
                "--fail-on",
                "agx",
                "--attribute",
                "any",
                "--settle",
                "0.5s",
            ])
            .args(["--settle-max", "3s", "--format", "json", "--reports-dir"])
            .arg(&reports)
            .args([
                "--",
                "sh",
                "-c",
                r#"cp "$SOURCE" "$REPORTS/Python-2025-12-23-164107.ips""#,
            ])
            .timeout(std::time::Duration::from_secs(60))
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(86), "{what}: {err}");
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let reason = doc["gate"]["reason"].as_str().unwrap();
        assert!(reason.contains(expected), "{what}: {reason}");
    }
}

/// A body that is not valid JSON for any reason (a raw control character or newline in a
/// string, an invalid escape, a stray comma), though not cut short, leaves only the header:
/// what crashed is unknown. It was an "other" crash and passed `--fail-on agx` (review finding);
/// it is judged as unreadable now, and still shown with what its header says.
#[test]
fn a_race_report_with_a_damaged_body_fails_the_agx_gate() {
    let race = String::from_utf8(read(RACE.trim_start_matches("testdata/"))).unwrap();
    let thread = "\"threads\": [\n    {";
    assert!(race.contains(thread));
    for (what, damage) in [
        ("a raw control character", "{\"name\": \"a\u{1}b\","),
        ("a raw newline in a string", "{\"name\": \"a\nb\","),
        ("an invalid escape", "{\"name\": \"\\x41\","),
        ("a stray comma", "{,,"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Python-damaged.ips");
        std::fs::write(
            &path,
            race.replacen(thread, &format!("\"threads\": [\n    {damage}"), 1),
        )
        .unwrap();
        let out = crashdelta()
            .args(["classify", "--fail-on", "agx", "--format", "json"])
            .arg(&path)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(86), "{what}: {stdout}");
        assert!(
            stdout.contains("only the header line was read"),
            "{what}: {stdout}"
        );
    }
}

/// A `.ips` cut after its crashed thread is read as far as it goes and classified, but the cut
/// may have taken what a gate fails on (the driver's image, the callers' images): one whose
/// classification the gate does not fail still fails closed, as it did when it could not be
/// read at all; one the classification fails fails as that; `--allow unreadable` accepts it.
#[test]
fn a_cut_report_read_as_far_as_it_goes_still_fails_closed() {
    let gate = |file: &str, extra: &[&str]| {
        let out = crashdelta()
            .args(["classify", "--fail-on", "agx", "--format", "json"])
            .args(extra)
            .arg(format!("testdata/derived/{file}"))
            .output()
            .unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let reason = doc["gate"]["reason"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        (
            out.status.code(),
            doc["reports"][0]["status"].clone(),
            reason,
        )
    };
    // Read as "other" (a real non-GPU crash cut at 65,536 characters): fails as cut.
    let (code, status, reason) = gate("ips2crashlog-first-65536-characters.ips", &[]);
    assert_eq!(
        (code, status.as_str()),
        (Some(86), Some("crash")),
        "{reason}"
    );
    assert!(
        reason.contains("unreadable new crash report: its JSON body is cut short"),
        "{reason}"
    );
    let (code, _, reason) = gate(
        "ips2crashlog-first-65536-characters.ips",
        &["--allow", "unreadable"],
    );
    assert_eq!(code, Some(0), "{reason}");
    // Read as the race: fails as the race.
    let (code, _, reason) = gate("agx-prepareForEnqueue-0x98-cut-in-used-images.md", &[]);
    assert_eq!(code, Some(86), "{reason}");
    assert!(
        reason.contains("an AGX driver crash (agx-prepare-for-enqueue-race"),
        "{reason}"
    );
}

/// A report that landed, was read and announced, then was moved out of the report folders (a
/// harness gathering artifacts, a cleanup step) was dropped: "0 new", exit 0 (review finding).
/// It is kept, with a warning, and gated.
#[test]
fn a_report_moved_away_after_it_was_read_still_fails_the_gate() {
    let (dir, reports) = reports_folder();
    let away = dir.path().join("elsewhere");
    std::fs::create_dir(&away).unwrap();
    let script = format!(
        "{WRITE_RACE}\nwrite_race $$ $PPID; sleep 1; mv \"$REPORTS/Python-race.ips\" '{}'",
        away.display()
    );
    let out = watch(
        &reports,
        "2s",
        &["--fail-on", "agx", "--format", "json"],
        &script,
    );
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(86), "{err}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["new"][0]["classification"]["rule"],
        "agx-prepare-for-enqueue-race"
    );
    assert!(
        doc.to_string().contains("moved out of the report folders"),
        "{doc}"
    );
}

/// What the command left running is still the run's after it exits: a crash of one of its
/// short-lived children three seconds into the wait was "outside the run" by its capture time
/// (the window closed when the command exited, and the sampler stopped), and passed (review
/// finding). The sampler runs through the wait and the window stays open until it ends.
#[test]
fn a_crash_of_what_the_command_left_running_is_the_runs() {
    let (_dir, reports) = reports_folder();
    let script = format!(
        "{WRITE_RACE}\n( sleep 3; set -- $(sh -c 'sh -c \"echo \\$\\$ \\$PPID\"'); write_race $1 $2 ) &\nsleep 0.3; exit 0"
    );
    let out = crashdelta()
        .env("REPORTS", &reports)
        .env("RACE", common::root().join(RACE))
        .args([
            "watch",
            "--settle",
            "6s",
            "--format",
            "json",
            "--reports-dir",
        ])
        .arg(&reports)
        .args(["--", "sh", "-c", &script])
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(86), "{err}");
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["new"][0]["attribution"]["kind"], "run", "{doc}");
}
