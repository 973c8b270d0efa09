//! Did the injected library load? (issue 16) End to end on Linux, with `LD_PRELOAD`: a library
//! built here with `cc` is seen mapped in the command's processes; one the loader skips (a path
//! that does not exist, a file that is no library) is warned about in the record, the human
//! summary and the Markdown; a comparison whose "with fix" side never loaded its library says so
//! in its verdict instead of crediting it; and a crash report's binary images tell for its
//! process. The macOS side (`DYLD_INSERT_LIBRARIES`, libproc) is compiled for macOS, not run here.

#![cfg(target_os = "linux")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::path::{Path, PathBuf};

use common::{RACE, WRITE_RACE, crashdelta, root, shared_library, stderr, watch_sh};
use serde_json::Value;

struct Lab {
    dir: tempfile::TempDir,
    reports: PathBuf,
}

fn lab() -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    Lab { dir, reports }
}

impl Lab {
    fn path(&self) -> &Path {
        self.dir.path()
    }
}

/// The run record of `crashdelta watch --format markdown --json FILE` over `script` with
/// `LD_PRELOAD` set to `preload`, its Markdown (standard output) and its human summary
/// (standard error).
fn watch(lab: &Lab, preload: &str, script: &str) -> (Value, String, String) {
    let record = lab.path().join("record.json");
    let out = watch_sh(
        &lab.reports,
        &[
            "--format",
            "markdown",
            "--fail-on",
            "none",
            "--json",
            record.to_str().unwrap(),
        ],
        &[("LD_PRELOAD", preload.as_ref())],
        script,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let doc: Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
    (
        doc,
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr(&out),
    )
}

fn pids(list: &Value) -> Vec<u64> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|p| p["pid"].as_u64().unwrap())
        .collect()
}

#[test]
fn a_preloaded_library_is_seen_in_the_commands_processes() {
    let lab = lab();
    let lib = shared_library(lab.path(), "libfix.so");
    let lib = lib.to_str().unwrap();
    let (doc, markdown, human) = watch(&lab, lib, "true; sleep 0.3");
    let injected = doc["injected"].as_array().unwrap();
    assert_eq!(injected.len(), 1, "{doc}");
    let i = &injected[0];
    assert_eq!(i["variable"], "LD_PRELOAD");
    assert_eq!(i["path"], lib);
    assert_eq!(i["exists"], true);
    assert_eq!(i["verdict"], "loaded", "{i}");
    assert_eq!(i["not_loaded_in"], serde_json::json!([]));
    // The shell lives 300 ms: every look saw it with the library, by its memory map.
    let loaded = pids(&i["loaded_in"]);
    let tree = common::command_pids(&doc);
    assert!(!loaded.is_empty(), "{i}");
    assert!(
        loaded.iter().all(|p| tree.contains(p)),
        "{loaded:?} in {tree:?}"
    );
    assert!(
        i["loaded_in"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["seen_by"] == "memory-map" && p["name"].is_string()),
        "{i}"
    );
    let n = loaded.len();
    let words = format!(
        "the library {lib} (LD_PRELOAD) was loaded in {n} of {n} process{}",
        if n == 1 { "" } else { "es" }
    );
    assert!(i["words"].as_str().unwrap().starts_with(&words), "{i}");
    assert!(human.contains(&format!("Injected: {words}")), "{human}");
    assert!(!human.contains("Warning"), "{human}");
    assert!(markdown.contains("Injected: the library "), "{markdown}");
}

#[test]
fn a_library_the_loader_skips_is_warned_about() {
    let lab = lab();
    // One path that does not exist, one file that is no library (the loader rejects its
    // header): LD_PRELOAD separates them with a space.
    let bad = lab.path().join("libbad.so");
    std::fs::write(&bad, "not an ELF file\n").unwrap();
    let preload = format!("/nonexistent/libnope.so {}", bad.display());
    let (doc, markdown, human) = watch(&lab, &preload, "true; sleep 0.3");
    let injected = doc["injected"].as_array().unwrap();
    assert_eq!(injected.len(), 2, "{doc}");
    let (nope, bad_one) = (&injected[0], &injected[1]);
    assert_eq!(nope["path"], "/nonexistent/libnope.so");
    assert_eq!(nope["exists"], false);
    assert_eq!(bad_one["path"], bad.to_str().unwrap());
    assert_eq!(bad_one["exists"], true);
    for i in injected {
        assert_eq!(i["verdict"], "not-loaded", "{i}");
        assert_eq!(i["loaded_in"], serde_json::json!([]), "{i}");
        assert!(!pids(&i["not_loaded_in"]).is_empty(), "{i}");
    }
    let words = nope["words"].as_str().unwrap();
    assert!(
        words.starts_with(
            "the library /nonexistent/libnope.so (LD_PRELOAD) was not loaded in any process of \
             the run ("
        ) && words.ends_with("): the file does not exist"),
        "{words}"
    );
    let words = bad_one["words"].as_str().unwrap();
    assert!(
        words.contains("the likely causes are a wrong path, a library built for another architecture, or a set-user-ID program"),
        "{words}"
    );
    assert!(
        human.contains(
            "Warning: the library /nonexistent/libnope.so (LD_PRELOAD) was not loaded in any \
             process of the run"
        ),
        "{human}"
    );
    assert!(
        markdown.contains(
            "> **Warning**: the library /nonexistent/libnope.so (LD_PRELOAD) was not loaded"
        ),
        "{markdown}"
    );
}

/// `compare` with B's library never loaded: the verdict says B ran without it, not that B
/// crashes less. With a library that loads, the counts speak as usual.
#[test]
fn a_comparison_whose_fix_never_loaded_says_so_in_its_verdict() {
    let lab = lab();
    let good = shared_library(lab.path(), "libfix.so");
    // A crashes every run (the race report for its shell, a new incident each time), B never:
    // read naively, "the fix works".
    let script = format!(
        r#"{WRITE_RACE}
case "$LD_PRELOAD" in '')
  sed "s/5E0C2B1A-7F3D-4A9B-8C6E-1D2F3A4B5C6D/5E0C2B1A-7F3D-4A9B-8C6E-$(printf %012d $$)/g" \
    "$RACE" > "$REPORTS/../race-$$.ips"
  RACE="$REPORTS/../race-$$.ips"
  write_race $$ $PPID '' "r-$$.ips";;
esac
sleep 0.3"#
    );
    let compare = |b_preload: &str| -> (Value, String) {
        let o = crashdelta()
            .env("REPORTS", &lab.reports)
            .env("RACE", root().join(RACE))
            .args(["compare", "--runs", "2", "--a-name", "without fix"])
            .args(["--b-name", "with fix", "--b-env"])
            .arg(format!("LD_PRELOAD={b_preload}"))
            .args(["--settle", "0.3s", "--format", "json", "--reports-dir"])
            .arg(&lab.reports)
            .args(["--", "sh", "-c", &script])
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
        (serde_json::from_slice(&o.stdout).unwrap(), stderr(&o))
    };

    let (doc, human) = compare("/nonexistent/libfix.so");
    let summary = &doc["summary"];
    assert_eq!(summary["a"]["crashed_runs"], 2, "{summary}");
    assert_eq!(summary["b"]["crashed_runs"], 0, "{summary}");
    assert!(summary["a"].get("injected").is_none(), "{summary}");
    let counted = &summary["b"]["injected"][0];
    assert_eq!(counted["runs"], 2);
    assert_eq!(counted["not_loaded_runs"], 2);
    assert_eq!(
        counted["words"],
        "/nonexistent/libfix.so (LD_PRELOAD): loaded in 0/2 runs (in no process in 2)"
    );
    let verdict = summary["verdict"].as_str().unwrap();
    assert!(
        verdict.starts_with(
            "with fix never loaded its injected library /nonexistent/libfix.so (LD_PRELOAD): it \
             was not loaded in any process of its 2 runs. Those runs ran without it, so these \
             counts (without fix crashed in 2/2 runs, with fix in 0/2) say nothing about what \
             the library does"
        ),
        "{verdict}"
    );
    assert!(
        !verdict.contains("No evidence of a difference"),
        "{verdict}"
    );
    // Each of B's runs records it, and says so as it ends.
    let b_runs: Vec<&Value> = doc["runs"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| r["run"]["config"] == "with fix")
        .collect();
    assert_eq!(b_runs.len(), 2);
    assert!(
        b_runs
            .iter()
            .all(|r| r["injected"][0]["verdict"] == "not-loaded"),
        "{doc}"
    );
    assert!(
        human.contains(
            "crashdelta: warning: the library /nonexistent/libfix.so (LD_PRELOAD) was not loaded"
        ),
        "{human}"
    );
    assert!(
        human.contains(
            "Injected: /nonexistent/libfix.so (LD_PRELOAD): loaded in 0/2 runs (in no process in 2)"
        ),
        "{human}"
    );

    let (doc, _) = compare(good.to_str().unwrap());
    let summary = &doc["summary"];
    assert_eq!(
        summary["b"]["injected"][0]["words"],
        format!("{} (LD_PRELOAD): loaded in 2/2 runs", good.display())
    );
    let verdict = summary["verdict"].as_str().unwrap();
    assert!(
        verdict.starts_with("No evidence of a difference"),
        "{verdict}"
    );
    assert!(!verdict.contains("never loaded"), "{verdict}");
}

/// A crashed process's report tells for it when its binary images list the library (loaded);
/// a report that does not list it says nothing (an `.ips` lists only the images its backtraces
/// use). The pids are ones the sampler cannot have seen, so only the reports speak for them.
#[test]
fn a_crash_reports_images_tell_whether_its_process_had_the_library() {
    let lab = lab();
    let lib = shared_library(lab.path(), "libfix.so");
    let race = std::fs::read_to_string(root().join(RACE)).unwrap();
    let with = race
        .replace("/usr/lib/system/libdispatch.dylib", lib.to_str().unwrap())
        .replace(
            "5E0C2B1A-7F3D-4A9B-8C6E-1D2F3A4B5C6D",
            "5E0C2B1A-7F3D-4A9B-8C6E-000000000001",
        );
    let without = race.replace(
        "5E0C2B1A-7F3D-4A9B-8C6E-1D2F3A4B5C6D",
        "5E0C2B1A-7F3D-4A9B-8C6E-000000000002",
    );
    std::fs::write(lab.path().join("with.ips"), with).unwrap();
    std::fs::write(lab.path().join("without.ips"), without).unwrap();
    let script = format!(
        "{WRITE_RACE}\nRACE=\"$REPORTS/../with.ips\"; write_race 999999 $$ '' Python-with.ips\n\
         RACE=\"$REPORTS/../without.ips\"; write_race 999998 $$ '' Python-without.ips\nsleep 0.3"
    );
    let (doc, _, human) = watch(&lab, lib.to_str().unwrap(), &script);
    assert_eq!(doc["new"].as_array().unwrap().len(), 2, "{doc}");
    let i = &doc["injected"][0];
    let by = |list: &Value, pid: u64| {
        list.as_array()
            .unwrap()
            .iter()
            .find(|p| p["pid"] == pid)
            .cloned()
    };
    let listed = by(&i["loaded_in"], 999_999).unwrap_or_else(|| panic!("{i}"));
    assert_eq!(listed["seen_by"], "crash-report");
    assert_eq!(listed["name"], "Python");
    assert!(by(&i["not_loaded_in"], 999_998).is_none(), "{i}");
    assert!(by(&i["loaded_in"], 999_998).is_none(), "{i}");
    // The shell had it (its memory map), the first crashed process too (its report).
    assert_eq!(i["verdict"], "loaded", "{i}");
    assert!(!human.contains("Warning: the library "), "{human}");
}
