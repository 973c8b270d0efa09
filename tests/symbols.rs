//! Symbolication against real Mach-O files built on Linux (testdata/symbols/make.sh): thin
//! arm64 and x86_64 dylibs, a universal one, a stripped one, and their dSYMs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::crashdelta;

use std::path::{Path, PathBuf};

use crashdelta::report::SymbolSource;
use crashdelta::symbols::SymbolIndex;

const ARM64: &str = "a1b2c3d4-0001-4000-8000-000000000a64";
const X86_64: &str = "a1b2c3d4-0002-4000-8000-000000008664";
const STRIPPED: &str = "a1b2c3d4-0003-4000-8000-000000000a64";
const PREPARE: &str = "AGX::ComputeContext<AGX::HAL200::Encoders, AGX::HAL200::Classes, AGX::HAL200::ObjClasses, AGX::HAL200::EncoderComputeServiceClasses>::prepareForEnqueue(bool)";
const UNNAMED: &str = "testdata/derived/agx-unsymbolicated-0x98.ips";

fn out() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata/symbols/out")
}

fn index(paths: &[PathBuf]) -> SymbolIndex {
    SymbolIndex::build(paths, None, None).unwrap()
}

#[test]
fn binaries_and_dsyms_are_indexed_by_uuid_and_arch() {
    let idx = index(&[out()]);
    let mut found: Vec<(String, String, bool)> = idx
        .objects()
        .iter()
        .map(|o| (o.uuid.clone(), o.arch.clone(), o.has_debug_info))
        .collect();
    found.sort();
    // Universal binary (2) + 3 thin binaries + universal dSYM (2) + 3 thin dSYMs.
    assert_eq!(found.len(), 10, "{found:?}");
    assert_eq!(
        found
            .iter()
            .filter(|(u, a, _)| u == ARM64 && a == "arm64")
            .count(),
        4
    );
    assert_eq!(
        found
            .iter()
            .filter(|(u, a, _)| u == X86_64 && a == "x86_64")
            .count(),
        4
    );
    assert_eq!(
        found
            .iter()
            .filter(|(u, _, dbg)| u == STRIPPED && *dbg)
            .count(),
        1
    );
    assert!(idx.problems.is_empty(), "{:?}", idx.problems);
}

#[test]
fn every_flavour_names_the_driver_function() {
    // Thin arm64, its dSYM, the universal binary: prepareForEnqueue is at 0x360 in arm64.
    for path in [
        "AGXMetalG16X.arm64",
        "AGXMetalG16X.arm64.dSYM",
        "AGXMetalG16X",
        "AGXMetalG16X.dSYM",
    ] {
        let idx = index(&[out().join(path)]);
        assert_eq!(
            idx.name_at(ARM64, 0x384).as_deref(),
            Some(PREPARE),
            "{path}"
        );
    }
    // The x86_64 slice of the universal binary: at 0x400 there.
    let idx = index(&[out().join("AGXMetalG16X")]);
    assert_eq!(idx.name_at(X86_64, 0x410).as_deref(), Some(PREPARE));
    // Stripped: only its dSYM knows the name (the binary keeps only agx_c_entry).
    let idx = index(&[out().join("AGXMetalG16X.stripped.arm64.dSYM")]);
    assert_eq!(idx.name_at(STRIPPED, 0x280).as_deref(), Some(PREPARE));
}

#[test]
fn a_stripped_binary_without_its_dsym_names_nothing_wrongly() {
    let idx = index(&[out().join("AGXMetalG16X.stripped.arm64")]);
    // Below the only remaining symbol: nothing, rather than a neighbour's name.
    assert_eq!(idx.name_at(STRIPPED, 0x280), None);
}

/// When the crashed thread rethrew an uncaught exception, classification reads the crash from
/// the Last Exception Backtrace: its frames are named too (they hold return addresses only).
#[test]
fn the_last_exception_backtrace_is_symbolicated_too() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(UNNAMED)).unwrap();
    let (header, body) = text.split_once('\n').unwrap();
    let mut doc: serde_json::Value = serde_json::from_str(body).unwrap();
    let crashed = doc["faultingThread"].as_u64().unwrap_or(0) as usize;
    let frames = doc["threads"][crashed]["frames"].clone();
    doc["lastExceptionBacktrace"] = frames;
    let bytes = format!("{header}\n{doc}").into_bytes();
    let mut report = crashdelta::report::parse(&bytes).unwrap();
    assert!(report.last_exception_backtrace[0].symbol.is_none());
    let named = index(&[out().join("AGXMetalG16X.arm64.dSYM")]).symbolicate(&mut report);
    let leb = &report.last_exception_backtrace;
    assert_eq!(leb[0].symbol.as_deref(), Some(PREPARE));
    assert_eq!(leb[0].symbolicated_by, SymbolSource::Symbols);
    let thread_named = report.threads[crashed]
        .frames
        .iter()
        .filter(|f| f.symbolicated_by == SymbolSource::Symbols)
        .count();
    let leb_named = leb
        .iter()
        .filter(|f| f.symbolicated_by == SymbolSource::Symbols)
        .count();
    assert!(leb_named > 0 && thread_named > 0);
    assert!(
        named >= leb_named,
        "{named} counts the backtrace's frames too"
    );
}

#[test]
fn the_report_is_symbolicated_then_classified() {
    // Without symbols the driver frames are unnamed: only "some AGX fault".
    crashdelta()
        .args(["classify", "--format", "json", UNNAMED])
        .assert()
        .code(0)
        .stdout(predicates::str::contains("\"rule\":\"agx-other\""));
    let cache = tempfile::tempdir().unwrap();
    let out_json = crashdelta()
        .args([
            "classify",
            "--format",
            "json",
            "--symbols",
            "testdata/symbols/out",
            "--cache-dir",
        ])
        .arg(cache.path())
        .arg(UNNAMED)
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out_json.stdout).unwrap();
    let r = &doc["reports"][0];
    assert_eq!(r["classification"]["rule"], "agx-prepare-for-enqueue-race");
    let f0 = &r["crashed_thread"]["frames"][0];
    assert_eq!(f0["symbol"], PREPARE);
    assert_eq!(f0["offset"], 0x24);
    assert_eq!(f0["symbolicated_by"], "symbols");
    assert!(
        f0["symbol_file"]
            .as_str()
            .unwrap()
            .contains("testdata/symbols/out")
    );
    assert_eq!(f0["source_file"], "agx.cpp");
    // Frames the report named keep saying so.
    assert_eq!(
        r["crashed_thread"]["frames"][3]["symbolicated_by"],
        "report"
    );
    // The dSYM (preferred to the binary for the same UUID) was looked up lazily in its
    // DWARF: no symcache was built.
    let cached: Vec<String> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(cached.is_empty(), "{cached:?}");
}

#[test]
fn inlined_functions_become_frames_of_their_own() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(UNNAMED)).unwrap();
    // 0x370 is inside agx_mix, inlined into prepareForEnqueue (0x36c..0x380).
    let text = text.replacen("\"imageOffset\": 900,", "\"imageOffset\": 880,", 1);
    let mut report = crashdelta::report::parse(text.as_bytes()).unwrap();
    let idx = index(&[out().join("AGXMetalG16X.arm64.dSYM")]);
    assert_eq!(idx.symbolicate(&mut report), 3);
    let frames = &report.crashed().unwrap().frames;
    assert_eq!(frames[0].symbol.as_deref(), Some("AGX::agx_mix(int, int)"));
    assert!(frames[0].inline);
    assert_eq!(
        frames[0].symbol_offset, None,
        "inlined frames have no function start"
    );
    assert_eq!(frames[1].symbol.as_deref(), Some(PREPARE));
    assert!(!frames[1].inline);
    assert_eq!(frames[1].symbol_offset, Some(0x10));
    assert_eq!(frames[0].address, frames[1].address);
    assert_eq!(frames[1].symbolicated_by, SymbolSource::Symbols);
}

#[test]
fn a_uuid_mismatch_names_nothing_and_says_so() {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(UNNAMED)).unwrap();
    let text = text.replace(ARM64, "0ce453ff-9f17-321f-bc18-383573a48221");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("mismatch.ips");
    std::fs::write(&path, text).unwrap();
    let out = crashdelta()
        .args(["show", "--symbols", "testdata/symbols/out"])
        .arg(&path)
        .output()
        .unwrap();
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("Rule:          agx-other"), "{stdout}");
    assert!(
        stdout.contains("AGXMetalG16X 0ce453ff-9f17-321f-bc18-383573a48221: symbols found only for a1b2c3d4-0001-4000-8000-000000000a64 (arm64)"),
        "{stdout}"
    );
}

#[test]
fn symbolicate_writes_the_report_back_with_the_names() {
    let dir = tempfile::tempdir().unwrap();
    let written = dir.path().join("named.ips");
    crashdelta()
        .args([
            "symbolicate",
            UNNAMED,
            "--symbols",
            "testdata/symbols/out",
            "--output",
        ])
        .arg(&written)
        .assert()
        .code(0)
        .stderr(predicates::str::contains("named 3 frame(s)"));
    let original =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(UNNAMED)).unwrap();
    let new = std::fs::read_to_string(&written).unwrap();
    // The header line is kept byte for byte.
    assert_eq!(original.lines().next(), new.lines().next());
    // Every other key is kept: only the named frames changed.
    let body = |s: &str| -> serde_json::Value {
        serde_json::from_str(s.split_once('\n').unwrap().1).unwrap()
    };
    let (mut a, mut b) = (body(&original), body(&new));
    let fa = a["threads"][3]["frames"].take();
    let fb = b["threads"][3]["frames"].take();
    assert_eq!(a, b);
    assert_eq!(fb[0]["symbol"], PREPARE);
    assert_eq!(fb[0]["symbolLocation"], 36);
    assert_eq!(fb[0]["imageOffset"], fa[0]["imageOffset"]);
    assert_eq!(fb[3], fa[3]);
    // And it now classifies as the race without --symbols.
    crashdelta()
        .args(["classify", "--format", "json"])
        .arg(&written)
        .assert()
        .stdout(predicates::str::contains("agx-prepare-for-enqueue-race"));
}

#[test]
fn the_cache_is_rebuilt_when_the_symbol_file_changes() {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join("AGXMetalG16X.arm64");
    std::fs::copy(out().join("AGXMetalG16X.arm64"), &copy).unwrap();
    let cache = dir.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    let names = || -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    };
    let idx = SymbolIndex::build(std::slice::from_ref(&copy), None, Some(cache.clone())).unwrap();
    assert!(idx.name_at(ARM64, 0x384).is_some());
    assert_eq!(names().len(), 1);
    // The same file again: the cache is reused, not rebuilt.
    let idx = SymbolIndex::build(std::slice::from_ref(&copy), None, Some(cache.clone())).unwrap();
    assert!(idx.name_at(ARM64, 0x384).is_some());
    assert_eq!(names().len(), 1);
    // A newer file: a new cache entry.
    let f = std::fs::File::options().append(true).open(&copy).unwrap();
    f.set_modified(std::time::SystemTime::now() + std::time::Duration::from_secs(5))
        .unwrap();
    drop(f);
    let idx = SymbolIndex::build(std::slice::from_ref(&copy), None, Some(cache.clone())).unwrap();
    assert!(idx.name_at(ARM64, 0x384).is_some());
    assert_eq!(names().len(), 2);
}

#[test]
fn the_systems_agx_bundles_are_found_without_flags() {
    // A Mac's /System/Library/Extensions, laid out in a temporary folder.
    let ext = tempfile::tempdir().unwrap();
    let contents = ext.path().join("AGXMetalG16X.bundle/Contents");
    std::fs::create_dir_all(contents.join("MacOS")).unwrap();
    std::fs::copy(
        out().join("AGXMetalG16X"),
        contents.join("MacOS/AGXMetalG16X"),
    )
    .unwrap();
    std::fs::write(
        contents.join("Info.plist"),
        r#"<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<plist version="1.0"><dict>
<key>CFBundleIdentifier</key><string>com.apple.AGXMetalG16X</string>
<key>CFBundleShortVersionString</key><string>329.2</string>
</dict></plist>"#,
    )
    .unwrap();
    let idx = SymbolIndex::build(&[], Some(ext.path()), None).unwrap();
    assert_eq!(idx.objects().len(), 2);
    assert!(
        idx.objects()
            .iter()
            .all(|o| o.bundle_version.as_deref() == Some("329.2"))
    );
    assert_eq!(idx.name_at(ARM64, 0x384).as_deref(), Some(PREPARE));
}

#[test]
fn a_corrupt_macho_file_is_a_warning_not_a_failure() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        out().join("AGXMetalG16X.arm64"),
        dir.path().join("good.arm64"),
    )
    .unwrap();
    let mut bad = std::fs::read(out().join("AGXMetalG16X.arm64")).unwrap();
    bad.truncate(200);
    std::fs::write(dir.path().join("AGXMetalG16X.corrupt"), &bad).unwrap();
    std::fs::write(
        dir.path().join("fat.corrupt"),
        [0xca, 0xfe, 0xba, 0xbe, 0, 0, 0, 9, 1, 2],
    )
    .unwrap();
    let out = crashdelta()
        .args(["classify", "--format", "json", "--symbols"])
        .arg(dir.path())
        .arg(UNNAMED)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("warning:") && stderr.contains("corrupt"),
        "{stderr}"
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("agx-prepare-for-enqueue-race"));
}

#[test]
fn atos_is_used_for_the_os_build_that_wrote_the_report() {
    // Fake `atos` and `sw_vers` on the PATH, as a Mac would have them.
    let bin = tempfile::tempdir().unwrap();
    let write = |name: &str, script: &str| {
        use std::os::unix::fs::PermissionsExt;
        let p = bin.path().join(name);
        std::fs::write(&p, script).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    };
    write(
        "atos",
        &format!(
            "#!/bin/sh\n# -arch A -o PATH -l BASE ADDR...\nshift 6\nfor a in \"$@\"; do echo '{PREPARE} (in AGXMetalG16X) + 36'; done\n"
        ),
    );
    let path = format!(
        "{}:{}",
        bin.path().display(),
        std::env::var("PATH").unwrap()
    );
    for (build, rule) in [
        ("24G419", "agx-prepare-for-enqueue-race"),
        ("25A100", "agx-other"),
    ] {
        write("sw_vers", &format!("#!/bin/sh\necho {build}\n"));
        let out = crashdelta()
            .env("PATH", &path)
            .args(["classify", "--format", "json", UNNAMED])
            .output()
            .unwrap();
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(
            doc["reports"][0]["classification"]["rule"], rule,
            "system build {build}"
        );
        if build == "24G419" {
            assert_eq!(
                doc["reports"][0]["crashed_thread"]["frames"][0]["symbolicated_by"],
                "atos"
            );
        }
    }
}

/// The JSON document of `crashdelta COMMAND --format json --symbols SYMBOLS --cache-dir CACHE`
/// for the unnamed race report.
fn json_of(command: &[&str], symbols: &Path, cache: &Path) -> serde_json::Value {
    let out = crashdelta()
        .args(command)
        .args(["--format", "json", "--symbols"])
        .arg(symbols)
        .arg("--cache-dir")
        .arg(cache)
        .arg(UNNAMED)
        .output()
        .unwrap();
    serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stderr)))
}

/// The one file a cache folder holds after naming `uuid` at `offset` from `symbols`: its name is
/// the cache key (UUID, arch, digest of the symbol file's path, size and mtime).
fn cache_file_for(symbols: &Path, uuid: &str, offset: u64) -> (tempfile::TempDir, String) {
    let cache = tempfile::tempdir().unwrap();
    let idx =
        SymbolIndex::build(&[symbols.to_owned()], None, Some(cache.path().to_owned())).unwrap();
    assert!(idx.name_at(uuid, offset).is_some());
    let names: Vec<String> = std::fs::read_dir(cache.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    (cache, names[0].clone())
}

/// C6: the symcache's temporary used to be `<key>.tmp<pid>`, written with a plain create that
/// follows symlinks: whoever could write to the cache folder could make crashdelta overwrite any
/// file its user can write. Temporaries are now created exclusively under random names.
#[cfg(unix)]
#[test]
fn a_symlink_planted_at_the_temporary_name_is_not_followed() {
    let symbols = out().join("AGXMetalG16X.arm64");
    let (_first, name) = cache_file_for(&symbols, ARM64, 0x384);
    let key = name.strip_suffix(".symcache").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    let victim = dir.path().join("victim.txt");
    std::fs::write(&victim, "precious").unwrap();
    // The old predictable name (this process is the one writing), and a few neighbours.
    for pid in [std::process::id(), std::process::id() + 1] {
        std::os::unix::fs::symlink(&victim, cache.join(format!("{key}.tmp{pid}"))).unwrap();
    }
    let idx =
        SymbolIndex::build(std::slice::from_ref(&symbols), None, Some(cache.clone())).unwrap();
    assert_eq!(idx.name_at(ARM64, 0x384).as_deref(), Some(PREPARE));
    assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
    let written = cache.join(&name);
    assert!(std::fs::symlink_metadata(&written).unwrap().is_file());
    assert!(symbolic_symcache::SymCache::parse(&std::fs::read(&written).unwrap()).is_ok());
}

/// A command killed while writing a symcache (Ctrl-C) left its `.symcache-*.tmp` for ever: a
/// later build removes those a day old, leaving younger ones (a build under way), other files,
/// and what a symlink points to.
#[cfg(unix)]
#[test]
fn a_build_removes_temporaries_left_by_killed_commands() {
    let symbols = out().join("AGXMetalG16X.arm64");
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    let old = std::time::SystemTime::now() - std::time::Duration::from_secs(3 * 24 * 3600);
    let make = |name: &str, when: Option<std::time::SystemTime>| {
        let path = cache.join(name);
        let file = std::fs::File::create(&path).unwrap();
        if let Some(when) = when {
            file.set_modified(when).unwrap();
        }
        path
    };
    let stale = make(".symcache-killed.tmp", Some(old));
    let running = make(".symcache-running.tmp", None);
    let victim = make("victim", Some(old));
    std::os::unix::fs::symlink(&victim, cache.join(".symcache-link.tmp")).unwrap();
    let idx =
        SymbolIndex::build(std::slice::from_ref(&symbols), None, Some(cache.clone())).unwrap();
    assert_eq!(idx.name_at(ARM64, 0x384).as_deref(), Some(PREPARE));
    assert!(!stale.exists());
    assert!(running.exists() && victim.exists());
}

/// C6: a symcache in the cache folder under the right name but built for another object (planted,
/// or left by a bug) used to be trusted: the race's frame was named from the wrong binary, and the
/// report read as `agx-other`. Its debug id and arch are now checked; a mismatch is rebuilt, with
/// a warning.
#[test]
fn a_cached_symcache_for_another_object_is_rebuilt_with_a_warning() {
    // A binary's symbol table: symcaches are built for files without debug information (a
    // dSYM's frames are looked up lazily in its DWARF, with no symcache: module symbols::dwarf).
    let dsym = out().join("AGXMetalG16X.arm64");
    let (_first, name) = cache_file_for(&dsym, ARM64, 0x384);
    let (other_cache, other_name) =
        cache_file_for(&out().join("AGXMetalG16X.x86_64"), X86_64, 0x410);
    let cache = tempfile::tempdir().unwrap();
    std::fs::copy(
        other_cache.path().join(other_name),
        cache.path().join(&name),
    )
    .unwrap();
    let doc = json_of(&["classify"], &dsym, cache.path());
    let r = &doc["reports"][0];
    assert_eq!(
        r["classification"]["rule"], "agx-prepare-for-enqueue-race",
        "{doc}"
    );
    let warnings = r["warnings"].to_string();
    assert!(
        warnings.contains("was built for") && warnings.contains("rebuilt"),
        "{warnings}"
    );
    // The cache now holds the right symcache: a second run names the frame with no warning.
    let doc = json_of(&["classify"], &dsym, cache.path());
    assert_eq!(
        doc["reports"][0]["classification"]["rule"],
        "agx-prepare-for-enqueue-race"
    );
    assert!(
        !doc["reports"][0]["warnings"]
            .to_string()
            .contains("rebuilt")
    );
}

/// C7: `symbolicate --format ips` changes nothing but the frames it names. It used to read the
/// body into a JSON value and print it again: `1e2` became `100.0`, integers beyond 64 bits
/// became floats, duplicate keys collapsed and the layout was redone.
#[test]
fn symbolicate_changes_only_the_frames_it_names() {
    let original =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join(UNNAMED)).unwrap();
    let (header, body) = original.split_once('\n').unwrap();
    let body = body.strip_prefix("{\n").unwrap();
    // Values a re-serialisation changes, odd whitespace, duplicate keys (the last `threads` is the
    // one the parser reads), a byte-order mark, and text after the body.
    let odd = format!(
        "\u{feff}{header}\n{{\n  \"big\" : 123456789012345678901234567890,\n\t\"e\":1e2 ,\"dup\": 1, \"dup\": 2,\r\n  \"threads\": [],\n  \"neg\": -0.0,\n{body}\n"
    );
    assert!(odd.ends_with("}\n\n"));
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("odd.ips");
    std::fs::write(&input, &odd).unwrap();
    let written = dir.path().join("named.ips");
    crashdelta()
        .args([
            "symbolicate",
            "--symbols",
            "testdata/symbols/out",
            "--format",
            "ips",
        ])
        .arg(&input)
        .arg("--output")
        .arg(&written)
        .assert()
        .code(0)
        .stderr(predicates::str::contains("named 3 frame(s)"));
    let new = std::fs::read_to_string(&written).unwrap();
    // Where the two differ: after their common beginning and before their common end.
    let prefix = odd
        .bytes()
        .zip(new.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    let suffix = odd
        .bytes()
        .rev()
        .zip(new.bytes().rev())
        .take_while(|(a, b)| a == b)
        .count()
        .min(odd.len() - prefix)
        .min(new.len() - prefix);
    // That is inside the crashed thread's frame list, the fourth `"frames"` of the file.
    let frames_start = odd.match_indices("\"frames\"").nth(3).unwrap().0;
    let frames_end = frames_start + odd[frames_start..].find(']').unwrap();
    assert!(
        prefix >= frames_start && odd.len() - suffix <= frames_end,
        "the output differs outside the crashed thread's frames: bytes {prefix}..{} of the input \
         ({frames_start}..{frames_end} are the frames):\n{}",
        odd.len() - suffix,
        &new[prefix..new.len() - suffix]
    );
    // What changed is the names, in the frames' own layout.
    let changed = &new[prefix..new.len() - suffix];
    assert!(
        changed.contains(&format!("\"symbol\": \"{PREPARE}\"")),
        "{changed}"
    );
    assert!(
        changed.contains("\n          \"symbolLocation\": 36"),
        "{changed}"
    );
    // The output is still a report that reads as the race without --symbols.
    crashdelta()
        .args(["classify", "--format", "json"])
        .arg(&written)
        .assert()
        .stdout(predicates::str::contains("agx-prepare-for-enqueue-race"));
}

/// C6: what sits in the cache folder under a symcache's name may be anything. A FIFO made the
/// command wait forever for a writer; a symlink to `/dev/zero` would be read until memory ran
/// out. Neither is read now: the symcache is rebuilt, with a warning, and replaces it.
#[cfg(unix)]
#[test]
fn a_fifo_or_a_symlink_in_place_of_a_cached_symcache_is_not_read() {
    // A binary's symbol table: symcaches are built for files without debug information (a
    // dSYM's frames are looked up lazily in its DWARF, with no symcache: module symbols::dwarf).
    let dsym = out().join("AGXMetalG16X.arm64");
    let (_first, name) = cache_file_for(&dsym, ARM64, 0x384);
    let classify = |cache: &Path| -> serde_json::Value {
        let out = crashdelta()
            .args(["classify", "--format", "json", "--symbols"])
            .arg(&dsym)
            .arg("--cache-dir")
            .arg(cache)
            .arg(UNNAMED)
            .timeout(std::time::Duration::from_secs(30))
            .output()
            .unwrap();
        serde_json::from_slice(&out.stdout).unwrap_or(serde_json::Value::Null)
    };
    let cache = tempfile::tempdir().unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(cache.path().join(&name))
        .status()
        .unwrap();
    assert!(status.success());
    let doc = classify(cache.path());
    let r = &doc["reports"][0];
    assert_eq!(
        r["classification"]["rule"], "agx-prepare-for-enqueue-race",
        "{doc}"
    );
    assert!(
        r["warnings"].to_string().contains("is not a regular file"),
        "{}",
        r["warnings"]
    );
    assert!(
        std::fs::metadata(cache.path().join(&name))
            .unwrap()
            .is_file()
    );

    let cache = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink("/dev/zero", cache.path().join(&name)).unwrap();
    let doc = classify(cache.path());
    let r = &doc["reports"][0];
    assert_eq!(
        r["classification"]["rule"], "agx-prepare-for-enqueue-race",
        "{doc}"
    );
    assert!(
        r["warnings"].to_string().contains("is a symbolic link"),
        "{}",
        r["warnings"]
    );
}

/// The binary rewritten as a new build with the same UUID would be: the same size, one function
/// renamed (`prepareForEnqueue` -> `prepareForDequeue`, as long, in its symbol table).
fn rebuilt_binary() -> Vec<u8> {
    let mut bytes = std::fs::read(out().join("AGXMetalG16X.arm64")).unwrap();
    let (from, to) = (b"prepareForEnqueue", b"prepareForDequeue");
    let mut at = 0;
    while let Some(i) = bytes[at..].windows(from.len()).position(|w| w == from) {
        bytes[at + i..at + i + to.len()].copy_from_slice(to);
        at += i + to.len();
    }
    assert!(at > 0);
    bytes
}

/// Names the arm64 race frame from `binary` with the cache folder `cache`.
fn name_with(binary: &Path, cache: &Path) -> String {
    let idx = SymbolIndex::build(&[binary.to_owned()], None, Some(cache.to_owned())).unwrap();
    idx.name_at(ARM64, 0x384).unwrap()
}

/// Issue 17: a symbol file rebuilt at the same path with the same UUID, size and modification
/// time (a build that sets the time back, `touch -r`) is not served from the stale symcache.
/// The cache key covers the status-change time, which no one can set back, and the inode.
#[test]
fn a_rebuilt_file_with_the_same_uuid_size_and_mtime_is_not_served_a_stale_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = dir.path().join("cache");
    std::fs::create_dir(&cache).unwrap();
    let binary = dir.path().join("AGXMetalG16X.arm64");
    std::fs::copy(out().join("AGXMetalG16X.arm64"), &binary).unwrap();
    assert_eq!(name_with(&binary, &cache), PREPARE);
    let old = std::fs::metadata(&binary).unwrap();
    let renamed = PREPARE.replace("Enqueue", "Dequeue");

    // Rewritten in place (the same inode), then its mtime set back.
    let rebuilt = rebuilt_binary();
    assert_eq!(rebuilt.len() as u64, old.len());
    std::fs::write(&binary, &rebuilt).unwrap();
    let f = std::fs::File::options().write(true).open(&binary).unwrap();
    f.set_modified(old.modified().unwrap()).unwrap();
    drop(f);
    let now = std::fs::metadata(&binary).unwrap();
    assert_eq!(
        (now.len(), now.modified().unwrap()),
        (old.len(), old.modified().unwrap())
    );
    assert_eq!(name_with(&binary, &cache), renamed);

    // Back to the first build's bytes, written elsewhere and renamed over it (another inode), its
    // mtime set back too.
    let elsewhere = dir.path().join("new.tmp");
    std::fs::copy(out().join("AGXMetalG16X.arm64"), &elsewhere).unwrap();
    let f = std::fs::File::options()
        .write(true)
        .open(&elsewhere)
        .unwrap();
    f.set_modified(old.modified().unwrap()).unwrap();
    drop(f);
    std::fs::rename(&elsewhere, &binary).unwrap();
    assert_eq!(name_with(&binary, &cache), PREPARE);

    // A different size, the mtime set back: the rebuilt bytes plus padding.
    let mut longer = rebuilt_binary();
    longer.extend([0u8; 4096]);
    std::fs::write(&binary, &longer).unwrap();
    let f = std::fs::File::options().write(true).open(&binary).unwrap();
    f.set_modified(old.modified().unwrap()).unwrap();
    drop(f);
    assert_eq!(name_with(&binary, &cache), renamed);

    // The file untouched since: the last cache is used, nothing new is built.
    let count = std::fs::read_dir(&cache).unwrap().count();
    assert_eq!(count, 4);
    assert_eq!(name_with(&binary, &cache), renamed);
    assert_eq!(std::fs::read_dir(&cache).unwrap().count(), count);
}

/// The library tells its observer when a symcache is built (the slow step, which the binary
/// shows progress for), once per object: not for a second lookup, not when the cache folder has
/// it.
#[test]
fn building_a_symcache_is_told_to_the_observer_once() {
    use crashdelta::symbols::SymbolEvent;
    use std::sync::{Arc, Mutex};
    let cache = tempfile::tempdir().unwrap();
    // A binary's symbol table: symcaches are built for files without debug information (a
    // dSYM's frames are looked up lazily in its DWARF, with no symcache: module symbols::dwarf).
    let dsym = out().join("AGXMetalG16X.arm64");
    let heard = Arc::new(Mutex::new(Vec::new()));
    let observed = || {
        let mut idx = SymbolIndex::build(
            std::slice::from_ref(&dsym),
            None,
            Some(cache.path().to_owned()),
        )
        .unwrap();
        let heard = Arc::clone(&heard);
        idx.observe(move |e| {
            heard.lock().unwrap().push(match e {
                SymbolEvent::Building {
                    path, bytes, arch, ..
                } => format!(
                    "building {} {bytes} {arch}",
                    path.file_name().unwrap().to_string_lossy()
                ),
                SymbolEvent::Built { ok, .. } => format!("built {ok}"),
                _ => "other".into(),
            })
        });
        idx
    };
    let idx = observed();
    assert_eq!(idx.name_at(ARM64, 0x384).as_deref(), Some(PREPARE));
    assert_eq!(idx.name_at(ARM64, 0x384).as_deref(), Some(PREPARE));
    let size = std::fs::metadata(&dsym).unwrap().len();
    assert_eq!(
        *heard.lock().unwrap(),
        [
            format!("building AGXMetalG16X.arm64 {size} arm64"),
            "built true".into()
        ]
    );
    // A new index, the symcache on disk: nothing is built.
    let idx = observed();
    assert_eq!(idx.name_at(ARM64, 0x384).as_deref(), Some(PREPARE));
    assert_eq!(heard.lock().unwrap().len(), 2);
}

/// Issue 17: a dSYM's frames are looked up lazily in its DWARF (the compile units covering the
/// addresses, nothing else): no symcache is built or written, no build is announced, and the
/// frames are those a symcache gave (inlined ones and source lines included).
#[test]
fn a_dsym_is_looked_up_lazily_without_a_symcache() {
    use crashdelta::symbols::SymbolEvent;
    use std::sync::{Arc, Mutex};
    let cache = tempfile::tempdir().unwrap();
    let dsym = out().join("AGXMetalG16X.arm64.dSYM");
    let mut idx = SymbolIndex::build(
        std::slice::from_ref(&dsym),
        None,
        Some(cache.path().to_owned()),
    )
    .unwrap();
    let heard = Arc::new(Mutex::new(0));
    let counter = Arc::clone(&heard);
    idx.observe(move |e| {
        if matches!(e, SymbolEvent::Building { .. }) {
            *counter.lock().unwrap() += 1;
        }
    });
    assert_eq!(idx.name_at(ARM64, 0x384).as_deref(), Some(PREPARE));
    assert_eq!(*heard.lock().unwrap(), 0);
    assert_eq!(std::fs::read_dir(cache.path()).unwrap().count(), 0);
}

/// Building a symcache shows progress on a terminal ("building the symbol cache of ..."),
/// cleared when it is built; never when standard error is not a terminal, nor under `-q`.
#[test]
fn building_a_symcache_shows_progress_on_a_terminal_only() {
    if common::no_pty() {
        return;
    }
    // A binary's symbol table (a dSYM has no symcache to build: see the test above).
    let line = |extra: &str, cache: &Path| {
        format!(
            "cd {} && CRASHDELTA_PROGRESS_DELAY_MS=0 {} symbolicate {extra} --format json \
             --symbols testdata/symbols/out/AGXMetalG16X.arm64 --cache-dir {} {UNNAMED} \
             > /dev/null",
            common::shell_quote(Path::new(env!("CARGO_MANIFEST_DIR")).to_str().unwrap()),
            common::shell_quote(env!("CARGO_BIN_EXE_crashdelta")),
            common::shell_quote(cache.to_str().unwrap())
        )
    };
    let limit = std::time::Duration::from_secs(60);
    let cache = tempfile::tempdir().unwrap();
    let (status, shown, _) = common::on_terminal_line(&line("", cache.path()), &[], limit);
    assert!(status.is_some_and(|s| s.success()), "{shown}");
    let at = shown
        .find("building the symbol cache of AGXMetalG16X.arm64 (1 MB)")
        .unwrap_or_else(|| panic!("{shown:?}"));
    // Cleared once built.
    assert!(shown[at..].contains("\r\u{1b}[2K"), "{shown:?}");
    let cache = tempfile::tempdir().unwrap();
    let (_, shown, _) = common::on_terminal_line(&line("-q", cache.path()), &[], limit);
    assert!(!shown.contains("building the symbol cache"), "{shown:?}");
    let cache = tempfile::tempdir().unwrap();
    let piped = crashdelta()
        .env("CRASHDELTA_PROGRESS_DELAY_MS", "0")
        .args(["symbolicate", "--format", "json", "--symbols"])
        .arg(out().join("AGXMetalG16X.arm64"))
        .arg("--cache-dir")
        .arg(cache.path())
        .arg(UNNAMED)
        .output()
        .unwrap();
    assert!(piped.status.success());
    assert!(
        !common::stderr(&piped).contains("building"),
        "{}",
        common::stderr(&piped)
    );
}

/// Issue 17: a symcache of more than a gigabyte (a dSYM of a few gigabytes has one) used to be
/// refused as "more than any symcache" and rebuilt on every command. One of this user's, mapped,
/// is used (here the real one, made 1.5 GiB long by a sparse tail that costs no disk).
#[cfg(unix)]
#[test]
fn a_symcache_over_a_gigabyte_of_this_users_is_used() {
    // A binary's symbol table: symcaches are built for files without debug information (a
    // dSYM's frames are looked up lazily in its DWARF, with no symcache: module symbols::dwarf).
    let dsym = out().join("AGXMetalG16X.arm64");
    let (cache, name) = cache_file_for(&dsym, ARM64, 0x384);
    let path = cache.path().join(&name);
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_len(3 << 29)
        .unwrap();
    let doc = json_of(&["symbolicate"], &dsym, cache.path());
    let warnings = doc["report"]["warnings"].to_string();
    assert!(!warnings.contains("more than any symcache"), "{warnings}");
    assert_eq!(
        doc["report"]["crashed_thread"]["frames"][0]["symbol"], PREPARE,
        "{warnings}"
    );
    assert_eq!(std::fs::metadata(&path).unwrap().len(), 3 << 29);
}
