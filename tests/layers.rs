//! The layers, checked: a lower layer never imports an upper one, and the library never prints,
//! exits or names clap.
//!
//! The table below is the architecture (docs/architecture.md draws it): each library module and
//! the modules it may use. A new `use crate::render` in `run/`, or `crate::watch` in `classify/`,
//! fails here with the file and the line, before a cycle can grow. Tests inside a file
//! (`#[cfg(test)]` modules) are held to the same table: a unit test of a lower layer that needs
//! an upper one belongs in `tests/`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::root;
use regex::Regex;

/// Each library module, lowest first, and the modules it may use.
const LAYERS: &[(&str, &[&str])] = &[
    ("report", &[]),
    ("input", &[]),
    ("parallel", &[]),
    ("testlog", &[]),
    ("statistics", &[]),
    ("classify", &["report"]),
    ("symbols", &["report"]),
    ("inventory", &["report", "input", "parallel"]),
    (
        "analyze",
        &["report", "input", "parallel", "classify", "symbols"],
    ),
    (
        "watch",
        &[
            "report",
            "input",
            "classify",
            "analyze",
            "inventory",
            "testlog",
        ],
    ),
    (
        "run",
        &[
            "report",
            "input",
            "classify",
            "analyze",
            "inventory",
            "watch",
            "testlog",
        ],
    ),
    (
        "history",
        &[
            "report",
            "input",
            "classify",
            "analyze",
            "watch",
            "run",
            "statistics",
        ],
    ),
    (
        "campaign",
        &[
            "report",
            "input",
            "classify",
            "analyze",
            "inventory",
            "watch",
            "run",
            "history",
            "statistics",
        ],
    ),
    (
        "render",
        &[
            "report",
            "input",
            "classify",
            "symbols",
            "analyze",
            "watch",
            "run",
            "campaign",
            "testlog",
            "history",
            "statistics",
        ],
    ),
];

fn rs_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rs_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files.sort();
    files
}

/// The library module a file of `src/` belongs to (`src/run/policy.rs` → `run`); `None` for
/// the crate root and the binary.
fn module_of(src: &Path, file: &Path) -> Option<String> {
    let rel = file.strip_prefix(src).ok()?;
    let first = rel.components().next()?.as_os_str().to_str()?;
    let name = first.trim_end_matches(".rs");
    (!["lib", "main", "cli"].contains(&name)).then(|| name.to_owned())
}

/// The crate-level modules a file names, with the line: `crate::x`, `use crate::{x, y::z}`,
/// and `super::x` from a module's root file (where `super` is the crate).
fn named_modules(text: &str, root_file: bool) -> Vec<(usize, String)> {
    let path = Regex::new(r"\bcrate::([a-z_]+)").unwrap();
    let group = Regex::new(r"\bcrate::\{([^}]*)\}").unwrap();
    let sup = Regex::new(r"\bsuper::([a-z_]+)").unwrap();
    let mut found = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let code = line.split("//").next().unwrap_or("");
        for c in path.captures_iter(code) {
            found.push((i + 1, c[1].to_owned()));
        }
        for c in group.captures_iter(code) {
            for item in c[1].split(',') {
                let name = item.trim().split("::").next().unwrap_or("").trim();
                if !name.is_empty() {
                    found.push((i + 1, name.to_owned()));
                }
            }
        }
        if root_file {
            for c in sup.captures_iter(code) {
                found.push((i + 1, c[1].to_owned()));
            }
        }
    }
    found
}

#[test]
fn no_layer_imports_one_above_it() {
    let src = root().join("src");
    let known: BTreeSet<&str> = LAYERS.iter().map(|(m, _)| *m).collect();
    let mut problems = Vec::new();
    let mut seen = BTreeSet::new();
    for file in rs_files(&src) {
        let Some(module) = module_of(&src, &file) else {
            continue;
        };
        let Some((_, allowed)) = LAYERS.iter().find(|(m, _)| *m == module) else {
            problems.push(format!(
                "{}: module `{module}` is not in the layer table of tests/layers.rs",
                file.display()
            ));
            continue;
        };
        seen.insert(module.clone());
        let text = std::fs::read_to_string(&file).unwrap();
        // `src/x.rs` and `src/x/mod.rs` are the module's root: there, `super` is the crate.
        let rel = file.strip_prefix(&src).unwrap();
        let root_file = rel.components().count() == 1 || rel.ends_with("mod.rs");
        for (line, named) in named_modules(&text, root_file) {
            if named == module || !known.contains(named.as_str()) {
                continue;
            }
            if !allowed.contains(&named.as_str()) {
                problems.push(format!(
                    "{}:{line}: `{module}` uses `{named}`, which it may not (tests/layers.rs)",
                    rel.display()
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    let seen: BTreeSet<&str> = seen.iter().map(String::as_str).collect();
    assert_eq!(seen, known, "every module of the table exists");
}

#[test]
fn report_and_classify_never_name_the_layers_that_run_or_print() {
    let src = root().join("src");
    for dir in ["report", "classify"] {
        for file in rs_files(&src.join(dir)) {
            let text = std::fs::read_to_string(&file).unwrap();
            for (line, named) in named_modules(&text, file.ends_with("mod.rs")) {
                assert!(
                    !["watch", "render", "run", "campaign", "cli"].contains(&named.as_str()),
                    "{}:{line} names {named}",
                    file.display()
                );
            }
        }
    }
}

#[test]
fn the_library_never_prints_exits_or_names_clap() {
    let src = root().join("src");
    let forbidden =
        Regex::new(r"\b(e?print(ln)?!|std::process::exit|process::exit|clap::|anyhow::|dbg!)")
            .unwrap();
    let mut problems = Vec::new();
    for file in rs_files(&src) {
        if module_of(&src, &file).is_none() && !file.ends_with("lib.rs") {
            continue;
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if let Some(m) = forbidden.find(code) {
                problems.push(format!("{}:{}: {}", file.display(), i + 1, m.as_str()));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// The checks above only mean something if they can fail: a file that breaks each rule is
/// caught.
#[test]
fn the_checks_catch_what_they_are_for() {
    let text = "use crate::render::human;\nuse crate::{report, watch::Exit};\n// crate::cli in a comment\nfn f() { super::run::x(); }\n";
    let named: Vec<String> = named_modules(text, true)
        .into_iter()
        .map(|(_, m)| m)
        .collect();
    assert_eq!(named, ["render", "report", "watch", "run"]);
    assert_eq!(named_modules(text, false).len(), 3);
    let src = Path::new("/x/src");
    assert_eq!(
        module_of(src, Path::new("/x/src/run/policy.rs")).as_deref(),
        Some("run")
    );
    assert_eq!(module_of(src, Path::new("/x/src/cli/args.rs")), None);
    assert_eq!(
        module_of(src, Path::new("/x/src/parallel.rs")).as_deref(),
        Some("parallel")
    );
}
