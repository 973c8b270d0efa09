//! The big-dSYM benchmark's generator (bench/make_big_dsym.sh), run small: generated C++ sources
//! (templates, namespaces, inlined helpers) compiled and linked into an arm64 dylib with a dSYM,
//! and a crash report whose frames point at known functions in it. The real binary names them,
//! cold and warm from the dSYM (looked up lazily, no symcache) and from the binary's symbol table
//! (its symcache built, then reused), and each name is the one
//! llvm-cxxfilt gives the function's symbol. Correctness, not timing: bench/symbols.sh times it
//! at full size (docs/performance.md).
//!
//! Each is built twice: DWARF 4, and DWARF 5 as Xcode 16 writes it for macOS 15 (string offsets,
//! address and range lists, file index 0). Every frame's function, inlined functions, file and
//! line are checked against llvm-symbolizer's for the same address, an implementation that
//! shares no code with crashdelta's (gimli, symbolic).
//!
//! It needs python3, clang, ld64.lld, dsymutil (LLVM 17 or later for DWARF 5), llvm-nm,
//! llvm-cxxfilt and llvm-symbolizer (Debian 12: `apt-get install clang-19 lld-19 llvm-19
//! python3`) and skips, saying so, without them; with `CRASHDELTA_REQUIRE_TOOLCHAIN` set to
//! anything but empty or `0` (as `.ci/run` sets it after installing them), a missing tool fails
//! it instead.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{crashdelta, root, stderr};

const TOOLS: [&str; 7] = [
    "python3",
    "clang++",
    "ld64.lld",
    "dsymutil",
    "llvm-nm",
    "llvm-cxxfilt",
    "llvm-symbolizer",
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

/// Where tools are looked for, in the generator's order: the Debian /usr/lib/llvm-NN/bin
/// folders make_big_dsym.sh puts first on its PATH (the newest first), then the PATH.
fn tool_dirs() -> Vec<PathBuf> {
    let mut llvm: Vec<PathBuf> = std::fs::read_dir("/usr/lib")
        .map(|entries| {
            entries
                .flatten()
                .filter(|e| is_script_llvm_dir(&e.file_name().to_string_lossy()))
                .map(|e| e.path().join("bin"))
                .collect()
        })
        .unwrap_or_default();
    // llvm-14 < llvm-19 < llvm-20: two digits each, so the names sort as the versions.
    llvm.sort();
    llvm.reverse();
    llvm.extend(
        std::env::var_os("PATH")
            .map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
            .unwrap_or_default(),
    );
    llvm
}

/// The tool `name` the generator would run.
fn tool(name: &str) -> PathBuf {
    tool_dirs()
        .into_iter()
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| PathBuf::from(name))
}

/// Whether every tool the generator needs is there (on the PATH or in the Debian
/// /usr/lib/llvm-NN/bin folders make_big_dsym.sh looks in too).
fn toolchain() -> bool {
    let dirs = tool_dirs();
    let missing: Vec<&str> = TOOLS
        .into_iter()
        .filter(|tool| !dirs.iter().any(|d| d.join(tool).is_file()))
        .collect();
    if missing.is_empty() {
        return true;
    }
    assert!(
        !toolchain_required(),
        "{} not found and CRASHDELTA_REQUIRE_TOOLCHAIN is set: apt-get install clang-19 lld-19 llvm-19 python3",
        missing.join(", ")
    );
    eprintln!(
        "skipped: {} not found (apt-get install clang-19 lld-19 llvm-19 python3)",
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

/// Builds the benchmark's dylib, dSYM (DWARF version `dwarf`) and report at a small scale into a
/// new folder; `None` (skipped, said) when the generator's dsymutil cannot link DWARF 5 and the
/// toolchain is not required.
fn build(dwarf: u8) -> Option<tempfile::TempDir> {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg(root().join("bench/make_big_dsym.sh"))
        .arg(dir.path())
        .env("SCALE", "3")
        .env("DWARF", dwarf.to_string())
        .output()
        .unwrap();
    if out.status.code() == Some(3) && !toolchain_required() {
        eprintln!("skipped DWARF {dwarf}: {}", stderr(&out));
        return None;
    }
    assert!(out.status.success(), "{}", stderr(&out));
    Some(dir)
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
    for dwarf in [4, 5] {
        if let Some(dir) = build(dwarf) {
            cold_and_warm(&dir);
        }
    }
}

fn cold_and_warm(dir: &tempfile::TempDir) {
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

/// A frame as a list of (function, file, line), innermost inlined function first; line 0 (code
/// no line is given to) is `None`, as crashdelta writes it.
type Chain = Vec<(String, Option<String>, Option<u64>)>;

/// What llvm-symbolizer says of each address in `dwarf` (a dSYM's DWARF file).
fn llvm_symbolizer(dwarf: &Path, addresses: &[u64]) -> Vec<Chain> {
    let out = Command::new(tool("llvm-symbolizer"))
        .args(["--output-style=JSON", "--inlines", "--demangle"])
        .arg(format!("--obj={}", dwarf.display()))
        .args(addresses.iter().map(|a| format!("{a:#x}")))
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    doc.as_array()
        .unwrap()
        .iter()
        .map(|at| {
            at["Symbol"]
                .as_array()
                .unwrap()
                .iter()
                .map(|s| {
                    (
                        s["FunctionName"].as_str().unwrap().to_owned(),
                        s["FileName"]
                            .as_str()
                            .filter(|f| !f.is_empty())
                            .map(str::to_owned),
                        s["Line"].as_u64().filter(|l| *l != 0),
                    )
                })
                .collect()
        })
        .collect()
}

/// Every frame of the big image, DWARF 4 and DWARF 5: the function, the functions inlined at its
/// address, their files and lines are llvm-symbolizer's for the address looked up (the frame's
/// own for the frame the thread stopped at, the byte before a return address for the others).
#[test]
fn every_frame_is_what_llvm_symbolizer_says_in_dwarf_4_and_5() {
    if !toolchain() {
        return;
    }
    for dwarf in [4u8, 5] {
        let Some(dir) = build(dwarf) else { continue };
        let report: serde_json::Value = {
            let text = std::fs::read_to_string(dir.path().join("report.ips")).unwrap();
            serde_json::from_str(text.split_once('\n').unwrap().1).unwrap()
        };
        let big = report["usedImages"].as_array().unwrap().len() - 1;
        let thread = report["threads"]
            .as_array()
            .unwrap()
            .iter()
            .find(|t| t["triggered"] == true)
            .unwrap();
        let offsets: Vec<u64> = thread["frames"]
            .as_array()
            .unwrap()
            .iter()
            .take_while(|f| f["imageIndex"] == big)
            .map(|f| f["imageOffset"].as_u64().unwrap())
            .collect();
        assert!(offsets.len() >= 20, "{offsets:?}");
        let looked_up: Vec<u64> = offsets
            .iter()
            .enumerate()
            .map(|(i, o)| if i == 0 { *o } else { o - 1 })
            .collect();
        let dwarf_file = dir
            .path()
            .join("libbigdsym.dylib.dSYM/Contents/Resources/DWARF/libbigdsym.dylib");
        let expected = llvm_symbolizer(&dwarf_file, &looked_up);

        let out = crashdelta()
            .args(["symbolicate", "--format", "json", "--symbols"])
            .arg(dir.path().join("libbigdsym.dylib.dSYM"))
            .arg("--cache-dir")
            .arg(dir.path())
            .arg(dir.path().join("report.ips"))
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        // The frames of one report frame: its inlined functions' (same address), then its own.
        let mut got: Vec<Chain> = Vec::new();
        let mut open: Chain = Vec::new();
        for f in doc["report"]["crashed_thread"]["frames"]
            .as_array()
            .unwrap()
        {
            if f["image"] != "libbigdsym.dylib" {
                break;
            }
            open.push((
                f["symbol"].as_str().unwrap_or_default().to_owned(),
                f["source_file"].as_str().map(str::to_owned),
                f["source_line"].as_u64(),
            ));
            if f["inline"] != true {
                got.push(std::mem::take(&mut open));
            }
        }
        assert_eq!(got.len(), offsets.len(), "DWARF {dwarf}: {got:#?}");
        let inlined = got.iter().filter(|c| c.len() > 1).count();
        let with_lines = got.iter().flatten().filter(|f| f.2.is_some()).count();
        assert!(
            inlined >= 1 && with_lines > offsets.len() / 2,
            "DWARF {dwarf}: {inlined} frames with inlined functions, {with_lines} lines"
        );
        for (i, (ours, theirs)) in got.iter().zip(&expected).enumerate() {
            assert_eq!(
                ours, theirs,
                "DWARF {dwarf}, frame {i} at {:#x}",
                looked_up[i]
            );
        }
    }
}
