//! The bad-input matrix: each row a kind of input nobody controls, checked for its specific
//! message and for every other file still being processed. Rows covered elsewhere: an unreadable
//! file and folder (tests/watch.rs), a rules file with a bad regex (tests/cli.rs), a symbols
//! folder with a corrupt Mach-O (tests/symbols.rs).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::root;

use std::path::Path;
use std::time::{Duration, Instant};

use assert_cmd::Command;
use serde_json::Value;

const GOOD: &str = "testdata/derived/agx-prepareForEnqueue-0x98.ips";

/// Classifies a folder holding `name` (with `bytes`) and a good report; returns the bad file's
/// report object, after checking that the good one was classified.
fn classify_beside_good(name: &str, write: impl FnOnce(&Path)) -> Value {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(root().join(GOOD), dir.path().join("good.ips")).unwrap();
    write(&dir.path().join(name));
    let start = Instant::now();
    let out = Command::new(env!("CARGO_BIN_EXE_crashdelta"))
        .args(["classify", "--format", "json"])
        .arg(dir.path())
        .timeout(Duration::from_secs(60))
        .output()
        .unwrap();
    assert!(
        start.elapsed() < Duration::from_secs(30),
        "{name} took {:?}",
        start.elapsed()
    );
    let doc: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{name}: {e}: {}", String::from_utf8_lossy(&out.stderr)));
    let reports = doc["reports"].as_array().unwrap();
    let good = reports
        .iter()
        .find(|r| r["path"].as_str().unwrap().ends_with("good.ips"))
        .expect("the good report is missing");
    assert_eq!(
        good["classification"]["rule"], "agx-prepare-for-enqueue-race",
        "{name} stopped the good report"
    );
    reports
        .iter()
        .find(|r| !r["path"].as_str().unwrap().ends_with("good.ips"))
        .cloned()
        .unwrap_or(Value::Null)
}

#[test]
fn an_empty_file() {
    let r = classify_beside_good("empty.ips", |p| std::fs::write(p, b"").unwrap());
    assert_eq!(r["status"], "not-a-crash");
    assert_eq!(r["reason"], "not a crash report: the input is empty");
}

#[test]
fn binary_garbage() {
    let r = classify_beside_good("garbage.ips", |p| {
        let bytes: Vec<u8> = (0..65536u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        std::fs::write(p, bytes).unwrap()
    });
    assert_eq!(r["status"], "not-a-crash");
    assert!(r["reason"].as_str().unwrap().contains("binary data"), "{r}");
}

#[test]
fn a_2_gb_sparse_file_is_refused_without_reading_it() {
    let r = classify_beside_good("huge.ips", |p| {
        let f = std::fs::File::create(p).unwrap();
        f.set_len(2 << 30).unwrap();
    });
    assert_eq!(r["status"], "error");
    let reason = r["reason"].as_str().unwrap();
    assert!(
        reason.contains("is 2147483648 bytes, over the 67108864-byte limit"),
        "{reason}"
    );
}

#[test]
fn json_nested_100_000_deep() {
    let header = "{\"bug_type\":\"309\",\"name\":\"Deep\",\"incident_id\":\"D\"}\n";
    // A complete body 100 000 arrays deep: skipped without recursion; the header says what
    // crashed.
    let r = classify_beside_good("deep.ips", |p| {
        std::fs::write(
            p,
            format!("{header}{}{}", "[".repeat(100_000), "]".repeat(100_000)),
        )
        .unwrap()
    });
    assert_eq!(r["status"], "crash");
    assert_eq!(r["process"]["name"], "Deep");
    assert!(
        r["warnings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("is a JSON array, not an object"),
        "{r}"
    );
    // Deep nesting inside the crashed thread's registers: the register state is kept as text and
    // read by visitors that skip unknown shapes without recursion, so neither a stack overflow nor
    // serde_json's depth limit stops the report.
    let r = classify_beside_good("deep-state.ips", |p| {
        let body = format!(
            "{{\"threads\":[{{\"triggered\":true,\"threadState\":{{\"x\":{}{}}},\"frames\":[]}}]}}",
            "[".repeat(100_000),
            "]".repeat(100_000)
        );
        std::fs::write(p, format!("{header}{body}")).unwrap()
    });
    assert_eq!(r["status"], "crash", "{r}");
    assert_eq!(r["crashed_thread"]["index"], 0, "{r}");
    assert_eq!(r["process"]["name"], "Deep");
    // Never closed: a report cut short.
    let r = classify_beside_good("deep-open.ips", |p| {
        std::fs::write(p, format!("{header}{}", "[".repeat(100_000))).unwrap()
    });
    assert_eq!(r["status"], "error");
    assert!(
        r["reason"]
            .as_str()
            .unwrap()
            .starts_with("incomplete report"),
        "{r}"
    );
    // Without a header: no report at all.
    let r = classify_beside_good("deep-body.ips", |p| {
        std::fs::write(p, "{\"a\":".repeat(100_000)).unwrap()
    });
    assert_eq!(r["status"], "not-a-crash");
}

#[test]
fn invalid_utf8_in_a_symbol() {
    let r = classify_beside_good("utf8.ips", |p| {
        let mut bytes = std::fs::read(root().join(GOOD)).unwrap();
        let at = bytes
            .windows(17)
            .position(|w| w == b"prepareForEnqueue")
            .unwrap();
        bytes[at + 3] = 0xff;
        bytes[at + 4] = 0xfe;
        std::fs::write(p, bytes).unwrap()
    });
    assert_eq!(r["status"], "crash");
    assert!(
        r["warnings"][0]["message"]
            .as_str()
            .unwrap()
            .contains("not valid UTF-8"),
        "{r}"
    );
    assert!(
        r["crashed_thread"]["frames"][0]["symbol"]
            .as_str()
            .unwrap()
            .contains("pre\u{fffd}\u{fffd}reForEnqueue")
    );
}

#[test]
fn a_symlink_loop_in_a_reports_folder() {
    let r = classify_beside_good("loop", |p| {
        std::fs::create_dir(p).unwrap();
        std::os::unix::fs::symlink(p, p.join("again")).unwrap();
        std::os::unix::fs::symlink("self", p.join("self")).unwrap();
    });
    // Links are not followed: nothing to report, and no endless walk.
    assert_eq!(r, Value::Null);
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(root().join(GOOD), dir.path().join("good.ips")).unwrap();
    std::os::unix::fs::symlink(dir.path(), dir.path().join("loop")).unwrap();
    Command::new(env!("CARGO_BIN_EXE_crashdelta"))
        .args(["snapshot", "--reports-dir"])
        .arg(dir.path())
        .timeout(Duration::from_secs(30))
        .assert()
        .code(0)
        .stderr(predicates::str::contains("1 crash report(s)"));
}

#[test]
fn a_file_name_with_a_newline() {
    let r = classify_beside_good("crash\nreport.ips", |p| {
        std::fs::copy(root().join(GOOD), p).map(|_| ()).unwrap()
    });
    assert_eq!(r["status"], "crash");
    assert!(r["path"].as_str().unwrap().ends_with("crash\nreport.ips"));
    // --collect makes the name safe.
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    let collect = dir.path().join("collected");
    let out = Command::new(env!("CARGO_BIN_EXE_crashdelta"))
        .env("SRC", root().join(GOOD))
        .env("REPORTS", &reports)
        .args([
            "watch",
            "--settle",
            "0.3s",
            "--fail-on",
            "none",
            "--reports-dir",
        ])
        .arg(&reports)
        .arg("--collect")
        .arg(&collect)
        .args([
            "--",
            "sh",
            "-c",
            "cp \"$SRC\" \"$REPORTS/crash\nreport.ips\"",
        ])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(collect.join("crash_report.ips").is_file());
}

#[test]
fn a_file_that_vanishes_between_listing_and_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("gone.ips");
    // Listed by the walk, then removed by rotation before it is read.
    let entry = crashdelta::inventory::entry_for(&path);
    assert!(
        entry.error.as_deref().unwrap().contains("No such file"),
        "{entry:?}"
    );
    let e = crashdelta::input::read_file(&path).unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("cannot read {}", path.display())),
        "{e}"
    );
}

#[test]
fn the_reports_folder_deleted_during_watch() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    std::fs::copy(root().join(GOOD), reports.join("old.ips")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_crashdelta"))
        .env("REPORTS", &reports)
        .args(["watch", "--settle", "0.3s", "--reports-dir"])
        .arg(&reports)
        .args(["--", "sh", "-c", "rm -rf \"$REPORTS\""])
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    // Never a pass: the after-inventory cannot be taken.
    assert_eq!(out.status.code(), Some(125));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("was replaced or removed during the run"),
        "{err}"
    );
}

/// A reports folder swapped for a link to another folder during the run was followed silently:
/// the after-inventory looked at another folder. Now it is an error, as deletion is.
#[test]
fn the_reports_folder_swapped_for_a_link_during_watch() {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    std::fs::copy(root().join(GOOD), reports.join("old.ips")).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_crashdelta"))
        .env("REPORTS", &reports)
        .args(["watch", "--settle", "0.3s", "--reports-dir"])
        .arg(&reports)
        .args([
            "--",
            "sh",
            "-c",
            "mv \"$REPORTS\" \"$REPORTS.real\" && mkdir \"$REPORTS.other\" && ln -s \"$REPORTS.other\" \"$REPORTS\"",
        ])
        .timeout(Duration::from_secs(30))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(
        err.contains("was replaced or removed during the run"),
        "{err}"
    );
}

/// The same report through what the trip from a Mac to a paste can do to its characters reads
/// as the same crash, with a warning naming what was undone: a web page's non-breaking spaces
/// (U+00A0 for `&nbsp;`, which JSON allows nowhere between tokens), zero-width characters a chat
/// tool put in, classic Mac line endings (a bare CR), and UTF-16, as Windows' Notepad and
/// PowerShell's `>` save a text (every other byte a NUL: it read as "binary data"), and a
/// quote reply's `> ` before every line (a quoted `.ips` was "a fragment").
#[test]
fn a_report_through_other_characters_reads_the_same() {
    type Damage = fn(&str) -> Vec<u8>;
    let damages: [(&str, Damage, &str); 8] = [
        (
            "nbsp",
            |t| t.replace(' ', "\u{a0}").into_bytes(),
            "non-breaking spaces were read as spaces",
        ),
        (
            "zwsp",
            |t| t.replace('\n', "\u{200b}\n").into_bytes(),
            "zero-width characters were taken out",
        ),
        (
            "cr",
            |t| t.replace('\n', "\r").into_bytes(),
            "bare carriage return",
        ),
        (
            "utf16le",
            |t| {
                [0xFF, 0xFE]
                    .into_iter()
                    .chain(t.encode_utf16().flat_map(u16::to_le_bytes))
                    .collect()
            },
            "the input is UTF-16",
        ),
        (
            "utf16be",
            |t| {
                [0xFE, 0xFF]
                    .into_iter()
                    .chain(t.encode_utf16().flat_map(u16::to_be_bytes))
                    .collect()
            },
            "the input is UTF-16",
        ),
        // GitHub's "Quote reply" puts `> ` before every line of the paste it quotes.
        (
            "quoted",
            |t| {
                t.lines()
                    .map(|l| format!("> {l}\n"))
                    .collect::<String>()
                    .into_bytes()
            },
            "a prefix every line began with was taken off",
        ),
        // The line break after a `.ips` header lost: the body follows on its line (a text
        // report has no such line; for it this takes out its first line break).
        ("joined", |t| t.replacen('\n', "", 1).into_bytes(), ""),
        // Not damage: CRLF was always read; the row shows the comparison can pass unwarned.
        ("crlf", |t| t.replace('\n', "\r\n").into_bytes(), ""),
    ];
    for original in [GOOD, "testdata/real/crash/electronsym__crash.txt"] {
        let text = std::fs::read_to_string(root().join(original)).unwrap();
        let read = |bytes: &[u8]| {
            classify_beside_good("damaged.txt", |p| std::fs::write(p, bytes).unwrap())
        };
        let whole = read(text.as_bytes());
        assert_eq!(whole["status"], "crash", "{original}");
        for (name, damage, said) in damages {
            let r = read(&damage(&text));
            for key in ["status", "signature_id", "location"] {
                assert_eq!(r[key], whole[key], "{original} {name}: {key}: {r}");
            }
            assert_eq!(
                r["classification"]["rule"], whole["classification"]["rule"],
                "{original} {name}"
            );
            assert_eq!(
                r["crashed_thread"]["frames"].as_array().map(Vec::len),
                whole["crashed_thread"]["frames"].as_array().map(Vec::len),
                "{original} {name}"
            );
            // A `.ips` of bare CRs needs no normalising: after its header (the body on its line,
            // as `joined`) a CR is whitespace to JSON.
            let said = if name == "cr" && original == GOOD {
                ""
            } else {
                said
            };
            let warnings = r["warnings"].to_string();
            assert!(warnings.contains(said), "{original} {name}: {warnings}");
        }
    }
}

/// A report zipped (GitHub takes a `.ips` only zipped; Finder's Compress adds an AppleDouble
/// twin under `__MACOSX/`) or gzipped reads as the report, saying so; an archive of several
/// reports is named with its count, and a tar archive or a screenshot by what it is.
#[test]
fn a_packed_report_is_read_and_other_files_are_named() {
    use std::io::Write;
    let race = std::fs::read(root().join(GOOD)).unwrap();
    let zip_of = |files: &[(&str, &[u8])]| {
        let mut out = std::io::Cursor::new(Vec::new());
        let mut w = zip::ZipWriter::new(&mut out);
        for (name, bytes) in files {
            w.start_file(*name, zip::write::SimpleFileOptions::default())
                .unwrap();
            w.write_all(bytes).unwrap();
        }
        w.finish().unwrap();
        out.into_inner()
    };
    let finder = zip_of(&[
        ("Python-2025-12-23-164107.ips", &race),
        (
            "__MACOSX/._Python-2025-12-23-164107.ips",
            b"\0\x05\x16\x07\0\x02\0\0",
        ),
    ]);
    let r = classify_beside_good("Python.ips.zip", |p| std::fs::write(p, &finder).unwrap());
    assert_eq!(
        r["classification"]["rule"], "agx-prepare-for-enqueue-race",
        "{r}"
    );
    assert_eq!(
        r["warnings"][0]["message"],
        "the report was unpacked from the one file in the ZIP archive, \
         `Python-2025-12-23-164107.ips`"
    );
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&race).unwrap();
    let gz = gz.finish().unwrap();
    let r = classify_beside_good("Python.ips.gz", |p| std::fs::write(p, &gz).unwrap());
    assert_eq!(
        r["classification"]["rule"], "agx-prepare-for-enqueue-race",
        "{r}"
    );

    let two = zip_of(&[("a.ips", &race), ("b.ips", &race)]);
    let r = classify_beside_good("two.zip", |p| std::fs::write(p, &two).unwrap());
    assert_eq!(
        r["reason"],
        "not a crash report: a ZIP archive of 2 files (a.ips, b.ips): unzip it and classify the \
         folder"
    );
    let mut tar = vec![0u8; 1024];
    tar[257..262].copy_from_slice(b"ustar");
    let r = classify_beside_good("r.tar", |p| std::fs::write(p, &tar).unwrap());
    assert!(
        r["reason"].as_str().unwrap().contains("a tar archive"),
        "{r}"
    );
    let r = classify_beside_good("crash.png", |p| {
        std::fs::copy(root().join("docs/campaign.png"), p).unwrap();
    });
    assert!(
        r["reason"]
            .as_str()
            .unwrap()
            .contains("an image (a screenshot?)"),
        "{r}"
    );
}

/// A packed report unpacks to no more than a report file may hold.
#[test]
fn the_unpacked_limit_is_the_files() {
    assert_eq!(
        crashdelta::report::archive::MAX_UNPACKED_BYTES,
        crashdelta::input::MAX_REPORT_BYTES
    );
}
