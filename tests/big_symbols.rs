//! The big-dSYM benchmark's generator (bench/make_big_dsym.sh), run small: generated C++ sources
//! (templates, namespaces, inlined helpers) compiled and linked into an arm64 dylib with a dSYM,
//! and a crash report whose frames point at known functions in it. The real binary names them,
//! cold and warm from the dSYM (looked up lazily, no symcache) and from the binary's symbol table
//! (its symcache built, then reused), and each name is the one
//! llvm-cxxfilt gives the function's symbol. Correctness, not timing: bench/symbols.sh times it
//! at full size (docs/performance.md).
//!
//! It needs python3, clang, ld64.lld, dsymutil, llvm-nm and llvm-cxxfilt (Debian: `apt-get install
//! clang lld llvm python3`) and skips, saying so, without them; with `CRASHDELTA_REQUIRE_TOOLCHAIN`
//! set to anything but empty or `0` (as `.ci/run` sets it after installing them), a missing tool
//! fails it instead.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{crashdelta, root, stderr};

const TOOLS: [&str; 6] = [
    "python3",
    "clang++",
    "ld64.lld",
    "dsymutil",
    "llvm-nm",
    "llvm-cxxfilt",
];

/// Whether `name` is a folder make_big_dsym.sh adds to the PATH: `llvm-NN`, NN 14 to 29 (its
/// `/usr/lib/llvm-1[4-9]/bin /usr/lib/llvm-2[0-9]/bin`).
fn is_script_llvm_dir(name: &str) -> bool {
    name.strip_prefix("llvm-")
        .filter(|v| v.len() == 2 && v.bytes().all(|b| b.is_ascii_digit()))
        .and_then(|v| v.parse::<u32>().ok())
        .is_some_and(|v| (14..=29).contains(&v))
}

/// Whether `CRASHDELTA_REQUIRE_TOOLCHAIN` asks for the toolchain: set, and neither empty nor `0`.
fn toolchain_required() -> bool {
    requires(
        std::env::var("CRASHDELTA_REQUIRE_TOOLCHAIN")
            .ok()
            .as_deref(),
    )
}

/// Whether a value of `CRASHDELTA_REQUIRE_TOOLCHAIN` asks for the toolchain.
fn requires(value: Option<&str>) -> bool {
    value.is_some_and(|v| !v.is_empty() && v != "0")
}

/// Whether every tool the generator needs is there (on the PATH or in the Debian
/// /usr/lib/llvm-NN/bin folders make_big_dsym.sh looks in too).
fn toolchain() -> bool {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    if let Ok(entries) = std::fs::read_dir("/usr/lib") {
        dirs.extend(
            entries
                .flatten()
                .filter(|e| is_script_llvm_dir(&e.file_name().to_string_lossy()))
                .map(|e| e.path().join("bin")),
        );
    }
    let missing: Vec<&str> = TOOLS
        .into_iter()
        .filter(|tool| !dirs.iter().any(|d| d.join(tool).is_file()))
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        !toolchain_required(),
        "{} not found and CRASHDELTA_REQUIRE_TOOLCHAIN is set: apt-get install clang lld llvm python3",
        missing.join(", ")
    );
    eprintln!(
        "skipped: {} not found (apt-get install clang lld llvm python3)",
        missing.join(", ")
    );
    false
}

#[test]
fn the_toolchain_is_looked_for_where_the_generator_looks() {
    assert!(is_script_llvm_dir("llvm-14"));
    assert!(is_script_llvm_dir("llvm-19"));
    assert!(is_script_llvm_dir("llvm-29"));
    assert!(!is_script_llvm_dir("llvm-13"));
    assert!(!is_script_llvm_dir("llvm-30"));
    assert!(!is_script_llvm_dir("llvm-9"));
    assert!(!is_script_llvm_dir("llvm-19-old"));
    assert!(!is_script_llvm_dir("llvm"));
    assert!(requires(Some("1")) && requires(Some("yes")));
    assert!(!requires(Some("0")) && !requires(Some("")) && !requires(None));
}

/// Builds the benchmark's dylib, dSYM and report at a small scale into a new folder.
fn build() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg(root().join("bench/make_big_dsym.sh"))
        .arg(dir.path())
        .env("SCALE", "3")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    dir
}

/// The names `symbolicate` gives the crashed thread's frames in the big image, inlined frames
/// left out (the expected names are the outermost functions'), given `symbols`.
fn named(dir: &Path, symbols: &Path, cache: &Path) -> (Vec<String>, String) {
    let out = crashdelta()
        .args(["symbolicate", "--format", "json", "--symbols"])
        .arg(symbols)
        .arg("--cache-dir")
        .arg(cache)
        .arg(dir.join("report.ips"))
        .env("CRASHDELTA_PROGRESS_DELAY_MS", "0")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let names = doc["report"]["crashed_thread"]["frames"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["symbolicated_by"] == "symbols" && f["inline"] != true)
        .map(|f| f["symbol"].as_str().unwrap().to_owned())
        .collect();
    (names, stderr(&out))
}

fn files_in(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect()
}

#[test]
fn the_big_dsym_names_its_frames_cold_and_warm() {
    if !toolchain() {
        return;
    }
    let dir = build();
    let expected: Vec<String> = std::fs::read_to_string(dir.path().join("expected.tsv"))
        .unwrap()
        .lines()
        .map(|l| l.split_once('\t').unwrap().1.to_owned())
        .collect();
    assert!(expected.len() >= 20, "{expected:?}");
    let dsym = dir.path().join("libbigdsym.dylib.dSYM");
    let cache = dir.path().join("cache");
    std::fs::create_dir(&cache).unwrap();

    // Cold: the dSYM's compile units covering the frames are read and walked; no symcache is
    // built (the cache folder stays empty), so no progress either.
    let (cold, err) = named(dir.path(), &dsym, &cache);
    assert_eq!(cold, expected);
    assert!(!err.contains("building the symbol cache"), "{err}");
    assert_eq!(files_in(&cache), Vec::<PathBuf>::new());

    // Warm (the page cache holds the file now): the same names.
    let (warm, _) = named(dir.path(), &dsym, &cache);
    assert_eq!(warm, expected);

    // The binary alone, a symbol table without debug information: its symcache is built once
    // and names the same functions.
    let binary = dir.path().join("libbigdsym.dylib");
    let (from_symbols, _) = named(dir.path(), &binary, &cache);
    assert_eq!(from_symbols, expected);
    let cached = files_in(&cache);
    assert_eq!(cached.len(), 1, "{cached:?}");
    let built = std::fs::metadata(&cached[0]).unwrap().modified().unwrap();
    let (again, _) = named(dir.path(), &binary, &cache);
    assert_eq!(again, expected);
    assert_eq!(
        (
            std::fs::metadata(&cached[0]).unwrap().modified().unwrap(),
            files_in(&cache).len()
        ),
        (built, 1)
    );
}
