//! The command's output read as it passes through (issue 14): what the user sees is exactly what
//! the command wrote, captured or not.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{crashdelta, stderr};

/// 300 kB of random bytes (invalid UTF-8, NULs, bare CRs, no final newline) on standard output
/// and on standard error come out byte for byte, in order, with capture on and off.
#[test]
fn captured_output_is_passed_through_byte_for_byte() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    let data = dir.path().join("data");
    let bytes: Vec<u8> = (0..300_000u32)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
        .collect();
    std::fs::write(&data, &bytes).unwrap();
    for extra in [&[][..], &["--no-capture"][..]] {
        let out = crashdelta()
            .env("DATA", &data)
            .args(["watch", "--settle", "0s", "--reports-dir"])
            .arg(&reports)
            .args(extra)
            .args(["--", "sh", "-c", "cat \"$DATA\"; cat \"$DATA\" >&2"])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{extra:?}: {}", stderr(&out));
        assert!(out.stdout == bytes, "{extra:?}: standard output differs");
        assert!(
            out.stderr.starts_with(&bytes),
            "{extra:?}: standard error does not start with the command's bytes"
        );
    }
}
