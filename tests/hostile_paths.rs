//! Hostile paths, outputs and special files, end to end with the real binary: what a pull
//! request can commit into a checked-out repository (links named like crashdelta's outputs), what
//! a crafted inventory file can name, an `--output` that is an input, and inputs that are not
//! files (a FIFO, `/dev/zero`). Each test keeps a file outside the folders crashdelta writes to,
//! and checks it is untouched; anything that could hang runs under a timeout.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{RACE, root, stderr};

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::{Duration, Instant};

use assert_cmd::Command;

fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_crashdelta"));
    c.current_dir(root()).timeout(Duration::from_secs(60));
    c
}

/// A temp folder with a report folder (one old crash in it), an inventory of it taken before
/// (`before.json`), and a file outside every folder crashdelta reads or writes.
struct Lab {
    dir: tempfile::TempDir,
    reports: PathBuf,
    before: PathBuf,
    secret: PathBuf,
}

impl Lab {
    fn new() -> Lab {
        let dir = tempfile::tempdir().unwrap();
        let reports = dir.path().join("DiagnosticReports");
        std::fs::create_dir(&reports).unwrap();
        std::fs::copy(
            root().join("testdata/derived/python-abort-agx-loaded.ips"),
            reports.join("Python-2025-12-23-170244.ips"),
        )
        .unwrap();
        let outside = dir.path().join("outside");
        std::fs::create_dir(&outside).unwrap();
        let secret = outside.join("id_rsa");
        std::fs::write(&secret, "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n").unwrap();
        let before = dir.path().join("before.json");
        bin()
            .args(["snapshot", "--reports-dir"])
            .arg(&reports)
            .arg("--output")
            .arg(&before)
            .assert()
            .code(0);
        Lab {
            dir,
            reports,
            before,
            secret,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The AGX race report, captured now (so `diff` attributes it to the run), written into
    /// the report folder as `name`.
    fn crash(&self, name: &OsStr) -> PathBuf {
        let now = chrono::Utc::now()
            .format("%Y-%m-%d %H:%M:%S%.3f +0000")
            .to_string();
        let report = std::fs::read_to_string(root().join(RACE))
            .unwrap()
            .replace("2025-12-23 16:41:06.5512 -0800", &now);
        let path = self.reports.join(name);
        std::fs::write(&path, report).unwrap();
        path
    }

    /// `diff before.json --fail-on agx --collect DIR`, plus `extra`.
    fn diff_collect(&self, collect: &Path, extra: &[&str]) -> Output {
        bin()
            .arg("diff")
            .arg(&self.before)
            .args(["--fail-on", "agx", "--collect"])
            .arg(collect)
            .args(extra)
            .output()
            .unwrap()
    }

    fn secret_is_intact(&self) {
        assert_eq!(
            std::fs::read_to_string(&self.secret).unwrap(),
            "-----BEGIN OPENSSH PRIVATE KEY-----\nsecret\n"
        );
    }
}

/// The copies a collect manifest lists (`crashdelta.manifest/1`'s `copies`).
fn manifest(path: &Path) -> Vec<serde_json::Value> {
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(doc["schema"], "crashdelta.manifest/1");
    doc["copies"].as_array().unwrap().clone()
}

// C3: --collect and links planted in the collect folder.

#[test]
fn collect_does_not_write_through_a_linked_manifest() {
    let lab = Lab::new();
    let report = lab.crash(OsStr::new("Python-1.ips"));
    let dir = lab.path("artifacts");
    std::fs::create_dir(&dir).unwrap();
    symlink(&lab.secret, dir.join("manifest.json")).unwrap();
    let out = lab.diff_collect(&dir, &[]);
    assert_eq!(out.status.code(), Some(86), "{}", stderr(&out));
    lab.secret_is_intact();
    // The link is left alone; the manifest goes beside it.
    assert!(
        std::fs::symlink_metadata(dir.join("manifest.json"))
            .unwrap()
            .is_symlink()
    );
    assert_eq!(manifest(&dir.join("manifest-2.json")).len(), 1);
    assert_eq!(
        std::fs::read(dir.join("Python-1.ips")).unwrap(),
        std::fs::read(report).unwrap()
    );
    assert!(stderr(&out).contains("manifest.json is a symbolic link"));
}

#[test]
fn collect_refuses_a_linked_dir_and_keeps_the_gate_code() {
    let lab = Lab::new();
    lab.crash(OsStr::new("Python-1.ips"));
    let dir = lab.path("artifacts");
    symlink(lab.secret.parent().unwrap(), &dir).unwrap();
    let out = lab.diff_collect(&dir, &["--format", "json"]);
    assert_eq!(out.status.code(), Some(86), "{}", stderr(&out));
    // Nothing was written into the folder the link points to.
    assert_eq!(
        std::fs::read_dir(lab.secret.parent().unwrap())
            .unwrap()
            .count(),
        1
    );
    lab.secret_is_intact();
    let record: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let warnings = record["warnings"].as_array().unwrap();
    assert!(
        warnings[0].as_str().unwrap().contains("is a symbolic link"),
        "{warnings:?}"
    );
}

#[test]
fn collect_refuses_a_linked_run_folder() {
    let lab = Lab::new();
    let dir = lab.path("artifacts");
    std::fs::create_dir(&dir).unwrap();
    symlink(lab.secret.parent().unwrap(), dir.join("run-001")).unwrap();
    // The command writes its own crash report (its pid, as ReportCrash would).
    let script = r#"sed "s/\"pid\": 81920/\"pid\": $$/" "$RACE" > "$REPORTS/Python-2.ips""#;
    let out = bin()
        .env("REPORTS", &lab.reports)
        .env("RACE", root().join(RACE))
        .args([
            "watch",
            "--repeat",
            "1",
            "--settle",
            "0.5s",
            "--fail-on",
            "agx",
        ])
        .arg("--reports-dir")
        .arg(&lab.reports)
        .arg("--collect")
        .arg(&dir)
        .args(["--", "sh", "-c", script])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(86), "{}", stderr(&out));
    assert_eq!(
        std::fs::read_dir(lab.secret.parent().unwrap())
            .unwrap()
            .count(),
        1
    );
    lab.secret_is_intact();
    assert!(
        stderr(&out).contains("run-001 is a symbolic link"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn a_dangling_link_named_like_the_report_keeps_the_gate_code() {
    let lab = Lab::new();
    lab.crash(OsStr::new("Python-1.ips"));
    let dir = lab.path("artifacts");
    std::fs::create_dir(&dir).unwrap();
    let planted = lab.secret.parent().unwrap().join("planted");
    symlink(&planted, dir.join("Python-1.ips")).unwrap();
    let out = lab.diff_collect(&dir, &[]);
    assert_eq!(out.status.code(), Some(86), "{}", stderr(&out));
    assert!(!planted.exists(), "written through the dangling link");
    assert_eq!(
        manifest(&dir.join("manifest.json"))[0]["file"],
        "2-Python-1.ips"
    );
}

#[test]
fn a_report_named_manifest_json_is_not_overwritten_by_the_manifest() {
    let lab = Lab::new();
    let report = lab.crash(OsStr::new("manifest.json"));
    let dir = lab.path("artifacts");
    let out = lab.diff_collect(&dir, &[]);
    assert_eq!(out.status.code(), Some(86), "{}", stderr(&out));
    let listed = manifest(&dir.join("manifest.json"));
    assert_eq!(listed[0]["file"], "2-manifest.json");
    assert_eq!(
        std::fs::read(dir.join("2-manifest.json")).unwrap(),
        std::fs::read(report).unwrap()
    );
}

#[test]
fn collecting_twice_into_one_folder_keeps_both_manifest_entries() {
    let lab = Lab::new();
    let dir = lab.path("artifacts");
    lab.crash(OsStr::new("Python-1.ips"));
    let first = lab.diff_collect(&dir, &[]);
    assert_eq!(first.status.code(), Some(86), "{}", stderr(&first));
    let out = lab.diff_collect(&dir, &[]);
    assert_eq!(out.status.code(), Some(86), "{}", stderr(&out));
    let files: Vec<String> = manifest(&dir.join("manifest.json"))
        .iter()
        .map(|e| e["file"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(files, ["Python-1.ips", "2-Python-1.ips"]);
}

#[test]
fn a_report_whose_name_is_not_utf8_is_copied() {
    let lab = Lab::new();
    let report = lab.crash(OsStr::from_bytes(b"Python-\xff.ips"));
    let dir = lab.path("artifacts");
    let out = lab.diff_collect(&dir, &[]);
    assert_eq!(out.status.code(), Some(86), "{}", stderr(&out));
    let listed = manifest(&dir.join("manifest.json"));
    assert_eq!(listed.len(), 1, "{}", stderr(&out));
    assert_eq!(listed[0]["file"], "Python-_.ips");
    assert!(
        listed[0]["source_bytes"]
            .as_str()
            .unwrap()
            .ends_with("Python-\\xff.ips")
    );
    assert_eq!(
        std::fs::read(dir.join("Python-_.ips")).unwrap(),
        std::fs::read(report).unwrap()
    );
}

// C4: a crafted inventory.

#[test]
fn a_crafted_inventory_cannot_copy_a_file_from_outside_the_report_folders() {
    let lab = Lab::new();
    // The "secret" looks like a report, so only the folder check can stop it.
    std::fs::copy(root().join(RACE), &lab.secret).unwrap();
    let secret = std::fs::read(&lab.secret).unwrap();
    let link = lab.reports.join("link.ips");
    symlink(&lab.secret, &link).unwrap();
    let after_path = lab.path("after.json");
    let mut after: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&lab.before).unwrap()).unwrap();
    let entry = |path: &Path, incident: &str| {
        serde_json::json!({
            "path": path.display().to_string(), "size": 10, "mtime_ns": 1,
            "peek": {"kind": "crash", "bug_type": "309", "incident_id": incident,
                     "process": "Python"},
            "error": null
        })
    };
    let entries = after["entries"].as_array_mut().unwrap();
    entries.push(entry(&lab.secret, "11111111-0000-0000-0000-000000000001"));
    entries.push(entry(
        &lab.reports.join("../outside/id_rsa"),
        "11111111-0000-0000-0000-000000000002",
    ));
    entries.push(entry(&link, "11111111-0000-0000-0000-000000000003"));
    std::fs::write(&after_path, serde_json::to_vec(&after).unwrap()).unwrap();
    let dir = lab.path("artifacts");
    let out = bin()
        .arg("diff")
        .arg(&lab.before)
        .arg(&after_path)
        .args(["--fail-on", "none", "--collect"])
        .arg(&dir)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    for copy in std::fs::read_dir(&dir).unwrap() {
        let copy = copy.unwrap().path();
        assert_ne!(
            std::fs::read(&copy).unwrap(),
            secret,
            "{copy:?} is the secret"
        );
    }
    let err = stderr(&out);
    assert!(err.contains("which is ignored"), "{err}");
    assert_eq!(err.matches("which is ignored").count(), 3, "{err}");
}

// C5: --output.

#[test]
fn an_output_that_is_an_input_is_refused_and_the_input_kept() {
    let lab = Lab::new();
    let report = lab.crash(OsStr::new("Python-1.ips"));
    let bytes = std::fs::read(&report).unwrap();
    let link = lab.path("link.json");
    symlink(&report, &link).unwrap();
    for output in [&report, &link] {
        let out = bin()
            .arg("classify")
            .arg(&report)
            .arg("--output")
            .arg(output)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
        assert!(stderr(&out).contains("--output"), "{}", stderr(&out));
        assert!(stderr(&out).contains("is the input"), "{}", stderr(&out));
        assert_eq!(std::fs::read(&report).unwrap(), bytes);
    }
    // The same for diff's inventory.
    let before = std::fs::read(&lab.before).unwrap();
    let out = bin()
        .arg("diff")
        .arg(&lab.before)
        .arg("--output")
        .arg(&lab.before)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert_eq!(std::fs::read(&lab.before).unwrap(), before);
}

#[test]
fn an_output_inside_an_input_folder_is_not_read_back() {
    let lab = Lab::new();
    let output = lab.reports.join("classified.json");
    for _ in 0..2 {
        let out = bin()
            .arg("classify")
            .arg(&lab.reports)
            .args(["--format", "json", "--output"])
            .arg(&output)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let doc: serde_json::Value =
            serde_json::from_slice(&std::fs::read(&output).unwrap()).unwrap();
        assert_eq!(doc["reports"].as_array().unwrap().len(), 1, "{doc}");
    }
}

#[test]
fn a_killed_run_leaves_the_previous_output_whole() {
    let lab = Lab::new();
    let output = lab.path("out.json");
    std::fs::write(&output, "the previous, valid output\n").unwrap();
    // classify - waits on standard input after opening its output: killed there.
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_crashdelta"))
        .args(["classify", "-", "--format", "json", "--output"])
        .arg(&output)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(
        std::fs::read_to_string(&output).unwrap(),
        "the previous, valid output\n"
    );
}

// B5: inputs that are not regular files.

fn mkfifo(path: &Path) {
    assert!(
        std::process::Command::new("mkfifo")
            .arg(path)
            .status()
            .unwrap()
            .success()
    );
}

#[test]
fn a_fifo_input_is_refused_without_hanging_and_the_rest_are_classified() {
    let lab = Lab::new();
    let fifo = lab.path("p");
    mkfifo(&fifo);
    let start = Instant::now();
    let out = bin()
        .timeout(Duration::from_secs(10))
        .arg("classify")
        .arg(&fifo)
        .arg("/dev/zero")
        .arg(root().join(RACE))
        .args(["--format", "json"])
        .output()
        .unwrap();
    assert!(start.elapsed() < Duration::from_secs(10));
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let got: Vec<(&str, &str)> = doc["reports"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["status"].as_str().unwrap(),
                r["reason"].as_str().unwrap_or(""),
            )
        })
        .collect();
    assert_eq!(got.len(), 3, "{got:?}");
    assert!(
        got[0]
            .1
            .contains("is a named pipe (FIFO), not a regular file"),
        "{got:?}"
    );
    assert!(
        got[1]
            .1
            .contains("is a character device, not a regular file"),
        "{got:?}"
    );
    assert_eq!(got[2].0, "crash", "{got:?}");
}

#[test]
fn dev_stdin_as_a_path_is_refused_but_dash_reads_standard_input() {
    let report = std::fs::read(root().join(RACE)).unwrap();
    // Piped, /dev/stdin is a pipe: refused by kind, at once.
    let out = bin()
        .timeout(Duration::from_secs(10))
        .args(["classify", "/dev/stdin", "--format", "json"])
        .write_stdin(report.clone())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let reason = doc["reports"][0]["reason"].as_str().unwrap();
    assert!(reason.contains("not a regular file"), "{reason}");
    assert!(reason.contains("standard input as -"), "{reason}");
    let out = bin()
        .timeout(Duration::from_secs(10))
        .args(["classify", "-", "--format", "json"])
        .write_stdin(report)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

// C8: rules files and inventories are capped and must be regular files.

#[test]
fn dev_zero_as_rules_or_inventory_is_refused_quickly() {
    let lab = Lab::new();
    let fifo = lab.path("rules.toml");
    mkfifo(&fifo);
    for rules in [Path::new("/dev/zero"), fifo.as_path()] {
        let out = bin()
            .timeout(Duration::from_secs(10))
            .arg("classify")
            .arg(root().join(RACE))
            .arg("--rules")
            .arg(rules)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
        assert!(
            stderr(&out).contains("not a regular file"),
            "{}",
            stderr(&out)
        );
    }
    let out = bin()
        .timeout(Duration::from_secs(10))
        .args(["diff", "/dev/zero", "--reports-dir"])
        .arg(&lab.reports)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("not a regular file"),
        "{}",
        stderr(&out)
    );
}

/// `--output` a symbolic link (or a hard link) to a report inside the folder being classified
/// made `classify` leave that report out as "its own output": "0 input(s)", the gate passed
/// (review finding). Only a regular file with no other name is skipped as the previous output.
#[test]
fn an_output_linked_to_a_report_does_not_hide_it() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("cf");
    std::fs::create_dir(&reports).unwrap();
    std::fs::copy(root().join(RACE), reports.join("Python-1.ips")).unwrap();
    for how in ["symlink", "hard link"] {
        let out_path = dir.path().join(format!("out-{}.json", how.len()));
        if how == "symlink" {
            symlink(reports.join("Python-1.ips"), &out_path).unwrap();
        } else {
            std::fs::hard_link(reports.join("Python-1.ips"), &out_path).unwrap();
        }
        let out = bin()
            .args(["classify", "--fail-on", "agx", "--output"])
            .arg(&out_path)
            .arg(&reports)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(86), "{how}: {}", stderr(&out));
        // The report itself is untouched: the output replaced the link, not its target.
        assert_eq!(
            std::fs::read(reports.join("Python-1.ips")).unwrap(),
            std::fs::read(root().join(RACE)).unwrap()
        );
    }
}

/// `--output` at a FIFO nobody reads (the command under test can plant one at the output's
/// name) hung the job after its run; it is an error now.
#[test]
fn an_output_fifo_with_no_reader_is_an_error_not_a_hang() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("out.json");
    let c = std::ffi::CString::new(fifo.as_os_str().as_bytes()).unwrap();
    // SAFETY: mkfifo(3) with a valid C string.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o644) }, 0);
    let started = Instant::now();
    let out = bin()
        .args(["classify", "--format", "json", "--output"])
        .arg(&fifo)
        .arg(root().join(RACE))
        .timeout(Duration::from_secs(20))
        .output()
        .unwrap();
    assert!(started.elapsed() < Duration::from_secs(10), "hung");
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(stderr(&out).contains("no reader"), "{}", stderr(&out));
}
