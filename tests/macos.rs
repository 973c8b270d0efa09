//! On a real Mac, against the real ReportCrash (issue 15): programs that really crash, under
//! `crashdelta watch` with its default report folders, must have their `.ips` reports caught
//! live (by FSEvents, not polling), attributed to the run by pid, and classified.
//!
//! These tests run only on macOS (the macOS CI runners, or `cargo test` on any Mac). Elsewhere
//! they are compiled and type-checked like every test, and each one says it was skipped: Linux
//! writes no crash reports, and the Linux tests stand in for ReportCrash instead
//! (tests/watch.rs, tests/pytest_e2e.rs).
//!
//! The crashing programs are this test binary itself, run again with `CRASHDELTA_MACOS_CRASH`
//! set and only [`crash_helper`] selected: it writes to address 0x98 (EXC_BAD_ACCESS, the AGX
//! race's fault address), calls `abort()` (EXC_CRASH, SIGABRT), or crashes in a child of a
//! child. With Python on the machine, faulthandler's dump is joined with the report too.
//!
//! Each test prints how long ReportCrash took from the crash to the report (the evidence for
//! `--settle`'s default), and appends it to the CI job's summary when there is one.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::io::Write;
use std::path::Path;
use std::process::Output;

use common::{crashdelta, stderr};

/// Whether this is a Mac; elsewhere the test says it was skipped.
fn mac(test: &str) -> bool {
    if std::env::consts::OS == "macos" {
        return true;
    }
    eprintln!(
        "skipped {test}: needs macOS's ReportCrash (runs on the macOS CI runners; on Linux the \
         tests stand in for it)"
    );
    false
}

/// The crashing program: does nothing unless `CRASHDELTA_MACOS_CRASH` says how to crash (the
/// other tests run this binary again with only this test selected).
#[test]
fn crash_helper() {
    match std::env::var("CRASHDELTA_MACOS_CRASH").as_deref() {
        Ok("null") => {
            // SAFETY: none: this writes to an address no process maps, on purpose, so that the
            // kernel raises EXC_BAD_ACCESS at 0x98 and ReportCrash writes a report. (Not the
            // null pointer itself: `write_volatile` checks for null in debug builds and would
            // abort instead.)
            unsafe { std::ptr::with_exposed_provenance_mut::<u64>(0x98).write_volatile(7) };
        }
        Ok("abort") => std::process::abort(),
        // A process that lives long enough for the sampler to look at its loaded images.
        Ok("linger") => std::thread::sleep(std::time::Duration::from_millis(800)),
        Ok("grandchild") => {
            // A shell that runs this binary again to crash: the crashed process is a child of
            // a child of the command.
            let me = std::env::current_exe().unwrap();
            let status = std::process::Command::new("/bin/sh")
                .args(["-c", "\"$0\" --exact crash_helper --test-threads=1"])
                .arg(me)
                .env("CRASHDELTA_MACOS_CRASH", "null")
                .status()
                .unwrap();
            assert!(!status.success(), "the grandchild did not crash");
        }
        _ => {}
    }
}

/// `crashdelta watch --format json` with the default folders, around `argv`; returns the run
/// record, the human summary and the exit code.
fn watch(argv: &[&str], env: &[(&str, &str)]) -> (serde_json::Value, String, Option<i32>) {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("record.json");
    let mut cmd = crashdelta();
    cmd.args(["watch", "--settle", "5s", "--format", "json", "--output"])
        .arg(&record)
        .arg("--")
        .args(argv);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out: Output = cmd.output().unwrap();
    let human = stderr(&out);
    let doc = serde_json::from_slice(&std::fs::read(&record).unwrap_or_default())
        .unwrap_or_else(|e| panic!("no run record ({e}):\n{human}"));
    (doc, human, out.status.code())
}

/// Runs this binary's crash helper under `watch` and checks the report that ReportCrash wrote:
/// seen live by file events, the run's by its process tree, with `exception` and `signal`.
fn caught(how: &str, exception: &str, signal: &str) -> serde_json::Value {
    let me = std::env::current_exe().unwrap();
    let me = me.to_str().unwrap();
    let (doc, human, code) = watch(
        &[me, "--exact", "crash_helper", "--test-threads=1"],
        &[("CRASHDELTA_MACOS_CRASH", how)],
    );
    assert_eq!(code, Some(86), "a new crash fails the gate:\n{human}");
    assert_eq!(doc["window"]["watched_by"], "events", "{}", doc["window"]);
    let pids = common::command_pids(&doc);
    let new = doc["new"].as_array().unwrap();
    let crash = new
        .iter()
        .find(|n| {
            n["process"]["pid"]
                .as_u64()
                .is_some_and(|pid| pids.contains(&pid))
        })
        .unwrap_or_else(|| panic!("no report of the run's processes {pids:?}:\n{human}"));
    assert_eq!(crash["format"], "ips", "{crash}");
    assert_eq!(crash["attribution"]["kind"], "run", "{crash}");
    assert_eq!(crash["attribution"]["basis"], "process-tree", "{crash}");
    assert_eq!(crash["exception"]["type"], exception, "{crash}");
    assert_eq!(crash["exception"]["signal"], signal, "{crash}");
    assert!(crash["classification"]["rule"].is_string(), "{crash}");
    // Seen live, during the wait, not only by the inventory at the end.
    let delay = human
        .lines()
        .find_map(|l| {
            l.strip_prefix("crashdelta: new crash report after ")?
                .split_once('s')
                .and_then(|(secs, _)| secs.parse::<f64>().ok())
        })
        .unwrap_or_else(|| panic!("the report was not seen live:\n{human}"));
    record_delay(how, delay);
    crash.clone()
}

/// Prints ReportCrash's delay, and adds it to the CI job's summary.
fn record_delay(what: &str, secs: f64) {
    let line = format!("ReportCrash delay ({what}): {secs:.1} s after the command exited");
    eprintln!("{line}");
    if let Some(summary) = std::env::var_os("GITHUB_STEP_SUMMARY")
        && let Ok(mut f) = std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(summary)
    {
        let _ = writeln!(f, "- {line}");
    }
}

#[test]
fn a_bad_access_is_caught_attributed_by_pid_and_classified() {
    if !mac("a_bad_access_is_caught_attributed_by_pid_and_classified") {
        return;
    }
    let crash = caught("null", "EXC_BAD_ACCESS", "SIGSEGV");
    assert_eq!(crash["exception"]["address"], "0x98", "{crash}");
}

#[test]
fn an_abort_is_caught_as_exc_crash() {
    if !mac("an_abort_is_caught_as_exc_crash") {
        return;
    }
    caught("abort", "EXC_CRASH", "SIGABRT");
}

#[test]
fn a_crash_in_a_child_of_a_child_is_the_runs() {
    if !mac("a_crash_in_a_child_of_a_child_is_the_runs") {
        return;
    }
    let crash = caught("grandchild", "EXC_BAD_ACCESS", "SIGSEGV");
    assert_ne!(crash["process"]["parent"]["name"], "crashdelta", "{crash}");
}

/// A campaign's runs go back to back (docs/campaigns.md, "The wait for late reports"): each run
/// crashes (SIGSEGV at 0x98), the next starts at once, and ReportCrash's report of each lands
/// while a later run goes on. Each report is still its own run's, by its process tree: 3 of 3
/// runs crashed, one report each, and the campaign took less than three settles (ReportCrash
/// takes about a second; `--settle-max` may stretch the last wait).
#[test]
fn a_campaign_gives_each_late_report_to_its_own_run() {
    if !mac("a_campaign_gives_each_late_report_to_its_own_run") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("campaign.json");
    let me = std::env::current_exe().unwrap();
    let began = std::time::Instant::now();
    let out = crashdelta()
        .args([
            "watch", "--repeat", "3", "--settle", "5s", "--format", "json", "--output",
        ])
        .arg(&record)
        .arg("--")
        .arg(&me)
        .args(["--exact", "crash_helper", "--test-threads=1"])
        .env("CRASHDELTA_MACOS_CRASH", "null")
        .output()
        .unwrap();
    let took = began.elapsed();
    let human = stderr(&out);
    assert_eq!(out.status.code(), Some(86), "{human}");
    let doc: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&record).unwrap_or_default())
            .unwrap_or_else(|e| panic!("no campaign record ({e}):\n{human}"));
    assert_eq!(doc["summary"]["crashed_runs"], 3, "{human}");
    for run in doc["runs"].as_array().unwrap() {
        assert_eq!(
            run["run"]["crashes"].as_array().unwrap().len(),
            1,
            "{human}"
        );
        assert_eq!(
            run["command"]["signal_name"], "SIGSEGV",
            "{}",
            run["command"]
        );
    }
    // Three sequential runs would take at least three 5 s settles.
    eprintln!(
        "a campaign of 3 crashing runs took {:.1} s",
        took.as_secs_f64()
    );
    assert!(took.as_secs_f64() < 15.0, "{took:?}\n{human}");
}

/// Python's faulthandler prints the Python stack as the process dies; the report ReportCrash
/// writes for that process is joined with it.
#[test]
fn a_python_crash_is_joined_with_its_faulthandler_dump() {
    if !mac("a_python_crash_is_joined_with_its_faulthandler_dump") {
        return;
    }
    if !Path::new("/usr/bin/python3").exists() && which("python3").is_none() {
        eprintln!("skipped: no python3 on this Mac");
        return;
    }
    let (doc, human, code) = watch(
        &[
            "python3",
            "-X",
            "faulthandler",
            "-c",
            "import ctypes\ndef gather():\n    ctypes.string_at(0)\ngather()",
        ],
        &[],
    );
    assert_eq!(code, Some(86), "{human}");
    let test = doc["new"]
        .as_array()
        .unwrap()
        .iter()
        .find_map(|n| n.get("test"))
        .unwrap_or_else(|| panic!("no crash joined with the dump:\n{human}"));
    assert_eq!(test["evidence"]["runner"], "faulthandler", "{test}");
    let stack: Vec<&str> = test["evidence"]["python_stack"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| f["function"].as_str())
        .collect();
    assert!(stack.contains(&"gather"), "{stack:?}");
    assert!(human.contains("  Python:    "), "{human}");
}

/// The folders: the user's is watched; the system's, when this user may not list it, is left
/// out with a warning that says what to do, and the run goes on.
#[test]
fn the_default_folders_are_watched_or_explained() {
    if !mac("the_default_folders_are_watched_or_explained") {
        return;
    }
    let (doc, human, code) = watch(&["true"], &[]);
    assert_eq!(code, Some(0), "{human}");
    assert_eq!(doc["window"]["watched_by"], "events", "{}", doc["window"]);
    let system = Path::new("/Library/Logs/DiagnosticReports");
    if system.exists() && std::fs::read_dir(system).is_err() {
        assert!(
            human.contains("cannot read the report folder /Library/Logs/DiagnosticReports")
                && human.contains("--reports-dir"),
            "{human}"
        );
    }
}

/// `atos` and the installed AGX driver bundles, which symbolication uses on a Mac, are where
/// crashdelta looks for them (`/usr/bin/atos` comes with the Xcode command-line tools; the
/// bundles with every Apple-silicon Mac).
#[test]
fn atos_and_the_agx_bundles_are_found_when_present() {
    if !mac("atos_and_the_agx_bundles_are_found_when_present") {
        return;
    }
    let atos = which("atos");
    eprintln!("atos: {atos:?}");
    if Path::new("/usr/bin/atos").exists() {
        assert!(
            atos.is_some(),
            "/usr/bin/atos exists but is not found on PATH"
        );
    }
    let bundles: Vec<String> = std::fs::read_dir("/System/Library/Extensions")
        .map(|d| {
            d.filter_map(Result::ok)
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with("AGXMetal") && n.ends_with(".bundle"))
                .collect()
        })
        .unwrap_or_default();
    eprintln!("AGX driver bundles: {bundles:?}");
    if std::env::consts::ARCH == "aarch64" && bundles.is_empty() {
        eprintln!("note: no AGX driver bundle on this Apple-silicon Mac (a virtual machine?)");
    }
    // The system build atos needs: the report's build is compared with the running one.
    let out = crashdelta()
        .args(["show", "--symbols", "/System/Library/Extensions"])
        .arg(common::root().join(common::RACE))
        .output()
        .unwrap();
    assert!(
        out.status.code().is_some_and(|c| c == 0 || c == 1),
        "{}",
        stderr(&out)
    );
}

/// `PATH` lookup, as crashdelta does it.
fn which(program: &str) -> Option<std::path::PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|p| p.join(program))
            .find(|p| p.is_file())
    })
}

/// `crashdelta watch --format json` with `DYLD_INSERT_LIBRARIES` set to `library`, around `argv`,
/// with nothing to wait for; returns the run record and the human summary.
fn watch_injected(
    library: &Path,
    argv: &[&str],
    env: &[(&str, &str)],
) -> (serde_json::Value, String) {
    let dir = tempfile::tempdir().unwrap();
    let record = dir.path().join("record.json");
    let out = crashdelta()
        .args([
            "watch",
            "--settle",
            "0s",
            "--fail-on",
            "none",
            "--format",
            "json",
            "--output",
        ])
        .arg(&record)
        .arg("--")
        .args(argv)
        .env("DYLD_INSERT_LIBRARIES", library)
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let human = stderr(&out);
    let doc = serde_json::from_slice(&std::fs::read(&record).unwrap_or_default())
        .unwrap_or_else(|e| panic!("no run record ({e}):\n{human}"));
    (doc, human)
}

/// Issue 16: a library injected with `DYLD_INSERT_LIBRARIES` into a program SIP does not
/// protect (this test binary, built in target/) is seen loaded through libproc while it runs.
#[test]
fn an_injected_library_is_seen_loaded_by_libproc() {
    if !mac("an_injected_library_is_seen_loaded_by_libproc") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let library = common::shared_library(dir.path(), "libfix.dylib");
    let me = std::env::current_exe().unwrap();
    let (doc, human) = watch_injected(
        &library,
        &[
            me.to_str().unwrap(),
            "--exact",
            "crash_helper",
            "--test-threads=1",
        ],
        &[("CRASHDELTA_MACOS_CRASH", "linger")],
    );
    let injected = &doc["injected"][0];
    assert_eq!(injected["variable"], "DYLD_INSERT_LIBRARIES", "{doc}");
    assert_eq!(injected["verdict"], "loaded", "{injected}\n{human}");
    assert_eq!(
        injected["loaded_in"][0]["seen_by"], "memory-map",
        "{injected}"
    );
}

/// Issue 16: with System Integrity Protection on, the system's own programs drop `DYLD_*`: the
/// library never loads, and the record says why instead of crediting a fix. And the provenance
/// names the OS build, the model and SIP's state.
#[test]
fn sip_strips_the_injection_from_system_programs_and_the_record_says_so() {
    if !mac("sip_strips_the_injection_from_system_programs_and_the_record_says_so") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let library = common::shared_library(dir.path(), "libfix.dylib");
    let (doc, human) = watch_injected(&library, &["/bin/sleep", "0.8"], &[]);
    let host = &doc["provenance"]["host"];
    let build = host["os_build"].as_str().unwrap_or_default();
    assert!(
        build.chars().next().is_some_and(|c| c.is_ascii_digit()) && build.len() >= 5,
        "an OS build such as 24C101: {host}"
    );
    assert!(host["hardware_model"].is_string(), "{host}");
    let sip = host["sip"].as_str().unwrap_or_default().to_owned();
    println!("csrutil status: {sip}");
    if !sip.contains("enabled") {
        eprintln!("skipped the SIP half: SIP is not enabled on this Mac ({sip})");
        return;
    }
    let injected = &doc["injected"][0];
    assert_eq!(injected["verdict"], "not-loaded", "{injected}\n{human}");
    let words = injected["words"].as_str().unwrap();
    assert!(words.contains("use a non-system Python"), "{words}");
}
