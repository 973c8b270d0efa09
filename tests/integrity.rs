//! Evidence integrity: crashdelta never writes, moves or deletes anything in a report folder.
//! Every file's bytes and modification time are hashed before and after `watch`, `classify`,
//! `snapshot`, `diff` and `symbolicate`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::root;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use sha2::{Digest, Sha256};

/// Path → (sha256, mtime) of every file under `dir`.
fn fingerprint(dir: &Path) -> BTreeMap<PathBuf, (String, std::time::SystemTime)> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let bytes = std::fs::read(e.path()).unwrap();
            let digest: String = Sha256::digest(&bytes)
                .iter()
                .map(|b| format!("{b:02x}"))
                .collect();
            (
                e.path().to_owned(),
                (digest, e.metadata().unwrap().modified().unwrap()),
            )
        })
        .collect()
}

#[test]
fn no_command_changes_a_report_folder() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("DiagnosticReports");
    std::fs::create_dir_all(reports.join("Retired")).unwrap();
    for entry in std::fs::read_dir(root().join("testdata/derived")).unwrap() {
        let p = entry.unwrap().path();
        std::fs::copy(&p, reports.join(p.file_name().unwrap())).unwrap();
    }
    std::fs::copy(
        root().join("testdata/real/ips/sanfer__report.ips"),
        reports.join("Retired/sanfer.ips"),
    )
    .unwrap();
    let before = fingerprint(&reports);
    assert!(before.len() > 15);

    let bin = env!("CARGO_BIN_EXE_crashdelta");
    let work = dir.path().join("work");
    std::fs::create_dir(&work).unwrap();
    let inventory = work.join("before.json");
    let runs: Vec<Vec<String>> = vec![
        vec!["classify".into(), reports.display().to_string()],
        vec![
            "classify".into(),
            "--format".into(),
            "json".into(),
            "--symbols".into(),
            root().join("testdata/symbols/out").display().to_string(),
            reports.display().to_string(),
        ],
        vec![
            "snapshot".into(),
            "--reports-dir".into(),
            reports.display().to_string(),
            "--output".into(),
            inventory.display().to_string(),
        ],
        vec!["diff".into(), inventory.display().to_string()],
        vec![
            "symbolicate".into(),
            reports
                .join("agx-unsymbolicated-0x98.ips")
                .display()
                .to_string(),
            "--symbols".into(),
            root().join("testdata/symbols/out").display().to_string(),
            "--output".into(),
            work.join("named.ips").display().to_string(),
        ],
        vec![
            "watch".into(),
            "--reports-dir".into(),
            reports.display().to_string(),
            "--settle".into(),
            "0.3s".into(),
            "--collect".into(),
            work.join("collected").display().to_string(),
            "--".into(),
            "true".into(),
        ],
    ];
    for args in runs {
        let out = Command::new(bin).args(&args).output().unwrap();
        assert!(out.status.code().is_some(), "{args:?}");
        assert_eq!(
            fingerprint(&reports),
            before,
            "`crashdelta {}` changed the report folder",
            args.join(" ")
        );
    }
}
