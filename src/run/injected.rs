//! The run record's `injected`: for each library the command's environment injects
//! (`LD_PRELOAD`, `DYLD_INSERT_LIBRARIES`), in which processes of the run it was loaded, and a
//! verdict in words. A "with fix" run whose fix never loaded must not read as a fix that works
//! (issue 16: SIP strips `DYLD_*` from system binaries without a word).
//!
//! Two kinds of evidence, per process: the sampler's look at its memory map while it ran
//! (`watch::Injection`), and, for a process that crashed, its crash report's binary images. Either
//! one showing the library counts as loaded: a report may list only the images its backtraces
//! use, and a look may have come before the loader ran. A complete report that does not list
//! it counts as not loaded for a process the sampler never saw loaded.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::report::Report;
use crate::watch::{Injection, Library};

/// Whether an injected library was loaded in the run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// In every process it could be looked for in.
    Loaded,
    /// In some, not in others.
    PartlyLoaded,
    /// In none of them.
    NotLoaded,
    /// No process could be looked at (each ended before a look, or its map was not readable)
    /// and no crash report tells.
    Unknown,
}

/// How a process was seen with or without the library.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SeenBy {
    /// Its memory map while it ran (`/proc/PID/maps`, macOS's region list).
    MemoryMap,
    /// Its crash report's binary images.
    CrashReport,
}

/// A process of the run, with or without the library.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct InjectedProcess {
    /// Its pid.
    pub pid: u32,
    /// Its program's name (`python3.12`), when known.
    pub name: Option<String>,
    /// What showed it.
    pub seen_by: SeenBy,
}

impl InjectedProcess {
    /// `python3 [4242]`.
    pub fn label(&self) -> String {
        format!("{} [{}]", self.name.as_deref().unwrap_or("?"), self.pid)
    }
}

/// One injected library in the run record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Injected {
    /// The variable that names it.
    pub variable: String,
    /// The library, as the variable gives it.
    pub path: String,
    /// Whether the file exists (as crashdelta sees it from its working directory); `null` for a
    /// bare name the loader looks for in its search path.
    pub exists: Option<bool>,
    /// Loaded in every process looked at, some, none, or unknown.
    pub verdict: Verdict,
    /// The processes it was loaded in, by pid.
    pub loaded_in: Vec<InjectedProcess>,
    /// The processes it was not loaded in, by pid.
    pub not_loaded_in: Vec<InjectedProcess>,
    /// The pids of the run's process tree that could not be looked at: ended before the
    /// sampler's next look (it looks every 100 ms), or their maps not readable (another user's).
    pub unchecked: Vec<u32>,
    /// The verdict in words: `the library /x/libfix.so (LD_PRELOAD) was loaded in 3 of 3
    /// processes of the run`.
    pub words: String,
}

/// Whether the crash report `report` says its process had `library`: `Some(true)` when its
/// images list it, else `None`. An `.ips` report lists only the images its backtraces use
/// (`usedImages`: 4 for a crashed `sleep`, 13 for the Python race report in testdata/), and
/// Console's translated reports are made from them, so a library missing from the list may
/// still have been loaded: absence says nothing.
fn report_says(library: &Library, report: &Report) -> Option<bool> {
    library.listed_in(&report.images).then_some(true)
}

/// The record of each injected library: what the sampler saw (`injection`), over the run's
/// process tree (`tree`: every pid seen in it), with the crash reports of the run's crashed
/// processes (`crashed`).
pub fn injected(injection: &Injection, tree: &BTreeSet<u32>, crashed: &[&Report]) -> Vec<Injected> {
    injection
        .libraries
        .iter()
        .enumerate()
        .map(|(i, library)| {
            let mut processes: BTreeMap<u32, (bool, InjectedProcess)> = BTreeMap::new();
            for (&pid, seen) in &injection.seen {
                let Some(&loaded) = seen.loaded.get(i) else {
                    continue;
                };
                let process = InjectedProcess {
                    pid,
                    name: seen.name.clone(),
                    seen_by: SeenBy::MemoryMap,
                };
                processes.insert(pid, (loaded, process));
            }
            for report in crashed {
                let Some(pid) = report.process.pid.and_then(|p| u32::try_from(p).ok()) else {
                    continue;
                };
                let Some(says) = report_says(library, report) else {
                    continue;
                };
                let sampled = processes.get(&pid).map(|(loaded, _)| *loaded);
                // Loaded wins: either look may have missed it, neither can invent it.
                if sampled == Some(true) || (sampled == Some(false) && !says) {
                    continue;
                }
                let name = report
                    .process
                    .name
                    .clone()
                    .or_else(|| processes.get(&pid).and_then(|(_, p)| p.name.clone()));
                let process = InjectedProcess {
                    pid,
                    name,
                    seen_by: SeenBy::CrashReport,
                };
                processes.insert(pid, (says, process));
            }
            let unchecked = tree
                .iter()
                .filter(|pid| !processes.contains_key(pid))
                .copied()
                .collect();
            let (loaded_in, not_loaded_in): (Vec<_>, Vec<_>) =
                processes.into_values().partition(|(loaded, _)| *loaded);
            let loaded_in: Vec<InjectedProcess> = loaded_in.into_iter().map(|(_, p)| p).collect();
            let not_loaded_in: Vec<InjectedProcess> =
                not_loaded_in.into_iter().map(|(_, p)| p).collect();
            let verdict = match (loaded_in.is_empty(), not_loaded_in.is_empty()) {
                // A path that names no file can never be loaded, whether or not a process was
                // looked at in time (a command that ends within 100 ms is never sampled): a
                // comparison must not credit a fix that was never there.
                (true, _) if library.exists == Some(false) => Verdict::NotLoaded,
                (false, true) => Verdict::Loaded,
                (false, false) => Verdict::PartlyLoaded,
                (true, false) => Verdict::NotLoaded,
                (true, true) => Verdict::Unknown,
            };
            let mut record = Injected {
                variable: library.variable.clone(),
                path: library.path.clone(),
                exists: library.exists,
                verdict,
                loaded_in,
                not_loaded_in,
                unchecked,
                words: String::new(),
            };
            record.words = words(&record);
            record
        })
        .collect()
}

/// Why a library may not load, by the loader that was asked: for a sentence after a colon.
pub fn likely_causes(variable: &str) -> &'static str {
    if variable == "DYLD_INSERT_LIBRARIES" {
        "the interpreter may be SIP-protected (macOS strips DYLD_* from system binaries such as \
         /bin/sh, /usr/bin/python3 and /usr/bin/env, and from everything they start; programs \
         with the hardened runtime ignore it too); use a non-system Python, started directly"
    } else {
        "the likely causes are a wrong path, a library built for another architecture, or a \
         set-user-ID program (the loader then ignores paths with a slash); the loader says which \
         on the command's standard error"
    }
}

/// `sh [12], python3 [13]`, and how many more past the first five.
fn labels(processes: &[InjectedProcess]) -> String {
    const SHOWN: usize = 5;
    let mut s = processes
        .iter()
        .take(SHOWN)
        .map(InjectedProcess::label)
        .collect::<Vec<_>>()
        .join(", ");
    if processes.len() > SHOWN {
        s.push_str(&format!(" and {} more", processes.len() - SHOWN));
    }
    s
}

/// The verdict of `i` in words.
fn words(i: &Injected) -> String {
    let library = format!("the library {} ({})", i.path, i.variable);
    let missing = i.exists == Some(false);
    let cause = if missing {
        "the file does not exist".to_owned()
    } else {
        likely_causes(&i.variable).to_owned()
    };
    let unchecked = match i.unchecked.len() {
        0 => String::new(),
        n => format!(
            "; {n} more process{} ended before crashdelta could look",
            if n == 1 { "" } else { "es" }
        ),
    };
    let looked = i.loaded_in.len() + i.not_loaded_in.len();
    match i.verdict {
        Verdict::Loaded => format!(
            "{library} was loaded in {} of {looked} process{} of the run{unchecked}",
            i.loaded_in.len(),
            if looked == 1 { "" } else { "es" }
        ),
        Verdict::PartlyLoaded => format!(
            "{library} was loaded in {} of {looked} processes of the run, not in {}: {cause}",
            i.loaded_in.len(),
            labels(&i.not_loaded_in)
        ),
        Verdict::NotLoaded if i.not_loaded_in.is_empty() => {
            format!("{library} cannot have been loaded in any process of the run: {cause}")
        }
        Verdict::NotLoaded => format!(
            "{library} was not loaded in any process of the run ({}): {cause}",
            labels(&i.not_loaded_in)
        ),
        Verdict::Unknown => format!(
            "whether {library} was loaded is unknown: no process of the run could be looked at \
             (each ended before crashdelta's next look, or its memory map was not readable) and \
             no crash report tells{}",
            if missing {
                "; the file does not exist"
            } else {
                ""
            }
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::OsStr;
    use std::path::Path;

    fn library(variable: &str, path: &str) -> Library {
        Library::new(variable, OsStr::new(path), Path::new("/"))
    }

    fn seen(name: &str, loaded: bool) -> crate::watch::Seen {
        crate::watch::Seen::new(Some(name.into()), vec![loaded])
    }

    fn race_report(pid: u64, images: &[&str]) -> Report {
        let text = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/derived/agx-prepareForEnqueue-0x98.ips"
        ))
        .unwrap();
        let mut report = crate::report::parse(&text).unwrap();
        report.process.pid = Some(pid);
        for (image, path) in report.images.iter_mut().zip(images) {
            image.path = Some((*path).into());
        }
        report
    }

    #[test]
    fn loaded_everywhere_is_said_in_a_count() {
        let mut injection = Injection::new(vec![library("LD_PRELOAD", "/nonexistent/libfix.so")]);
        injection.seen.insert(10, seen("sh", true));
        injection.seen.insert(11, seen("python3", true));
        let tree = BTreeSet::from([10, 11, 12]);
        let got = injected(&injection, &tree, &[]);
        assert_eq!(got.len(), 1);
        let i = &got[0];
        assert_eq!(i.verdict, Verdict::Loaded);
        assert_eq!(i.unchecked, [12]);
        assert_eq!(
            i.words,
            "the library /nonexistent/libfix.so (LD_PRELOAD) was loaded in 2 of 2 processes of \
             the run; 1 more process ended before crashdelta could look"
        );
    }

    #[test]
    fn not_loaded_on_macos_names_sip() {
        let mut injection = Injection::new(vec![library(
            "DYLD_INSERT_LIBRARIES",
            "/tmp/does-not-matter/libfix.dylib",
        )]);
        injection.seen.insert(7, seen("Python", false));
        let got = injected(&injection, &BTreeSet::from([7]), &[]);
        let i = &got[0];
        assert_eq!(i.verdict, Verdict::NotLoaded);
        assert_eq!(i.exists, Some(false));
        assert!(
            i.words.starts_with(
                "the library /tmp/does-not-matter/libfix.dylib (DYLD_INSERT_LIBRARIES) was not \
                 loaded in any process of the run (Python [7]): the file does not exist"
            ),
            "{}",
            i.words
        );
        // A file that exists: the causes are SIP's.
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("libfix.dylib");
        std::fs::write(&real, b"x").unwrap();
        let mut injection = Injection::new(vec![library(
            "DYLD_INSERT_LIBRARIES",
            real.to_str().unwrap(),
        )]);
        injection.seen.insert(7, seen("Python", false));
        let i = &injected(&injection, &BTreeSet::from([7]), &[])[0];
        assert!(
            i.words.contains(
                "was not loaded in any process of the run (Python [7]): the interpreter may be \
                 SIP-protected (macOS strips DYLD_* from system binaries"
            ),
            "{}",
            i.words
        );
        assert!(i.words.contains("use a non-system Python"), "{}", i.words);
    }

    /// A path that names no file is never loaded, even when no process was looked at in time
    /// (the reviewer's compare that credited a fix whose library did not exist).
    #[test]
    fn a_missing_file_is_not_loaded_even_unsampled() {
        let injection = Injection::new(vec![library("LD_PRELOAD", "/nonexistent/libfix.so")]);
        let i = &injected(&injection, &BTreeSet::from([7]), &[])[0];
        assert_eq!(i.exists, Some(false));
        assert_eq!(i.verdict, Verdict::NotLoaded);
        assert!(i.words.contains("cannot have been loaded"), "{}", i.words);
        assert!(i.words.ends_with("the file does not exist"), "{}", i.words);
    }

    #[test]
    fn a_crash_report_tells_for_its_process() {
        let lib = "/opt/fix/libfix.so";
        let mut injection = Injection::new(vec![library("LD_PRELOAD", lib)]);
        injection.seen.insert(5, seen("sh", false));
        let listed = race_report(6, &[lib]);
        let lacking = race_report(8, &[]);
        // Listed: loaded, though the sampler never saw pid 6; and it overrides a look that came
        // too early (pid 5).
        let listed_for_5 = race_report(5, &[lib]);
        let got = injected(
            &injection,
            &BTreeSet::from([5, 6]),
            &[&listed, &lacking, &listed_for_5],
        );
        let i = &got[0];
        let loaded: Vec<(u32, SeenBy)> = i.loaded_in.iter().map(|p| (p.pid, p.seen_by)).collect();
        assert_eq!(loaded, [(5, SeenBy::CrashReport), (6, SeenBy::CrashReport)]);
        assert_eq!(i.loaded_in[1].name.as_deref(), Some("Python"));
        // A report that does not list it says nothing: its images are only those its
        // backtraces use.
        assert!(i.not_loaded_in.is_empty(), "{:?}", i.not_loaded_in);
        assert_eq!(i.verdict, Verdict::Loaded);
        // A report that lacks it does not undo what the sampler saw.
        let mut injection = Injection::new(vec![library("LD_PRELOAD", lib)]);
        injection.seen.insert(8, seen("python3", true));
        let i = &injected(&injection, &BTreeSet::from([8]), &[&lacking])[0];
        assert_eq!(i.verdict, Verdict::Loaded);
        assert_eq!(i.loaded_in[0].seen_by, SeenBy::MemoryMap);
    }
}
