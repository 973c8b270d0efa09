//! Whether every run of a campaign ran the same thing (issue 16, provenance).
//!
//! A campaign's numbers compare runs: a crash rate over N runs, or A against B. They mean what
//! they say only when the runs differ in nothing but what the campaign varies: the configured
//! variables of `compare`, nothing at all for `watch --repeat`. Each run's record carries its
//! provenance (`run/provenance.rs`); this reads the parts that define what ran (the commit, the
//! hash of the tracked changes, the script's and the executable's content) from every record and
//! says which differ between which runs. The story it exists for: a stress test edited between
//! runs (a global lock added around the GPU calls) makes later runs "pass" for a reason that has
//! nothing to do with the fix being measured.

use sha2::{Digest, Sha256};

use super::CampaignReport;

/// The parts of the provenance that define what ran, as JSON pointers into a run record, and
/// what to call each.
const DEFINING: &[(&str, &str)] = &[
    ("/provenance/git/commit", "git commit"),
    (
        "/provenance/git/diff_sha256",
        "tracked changes (git diff hash)",
    ),
    ("/provenance/script/path", "script"),
    ("/provenance/script/sha256", "script's content"),
    ("/provenance/executable/path", "executable"),
    ("/provenance/executable/sha256", "executable's content"),
    ("/provenance/cwd", "working directory"),
    (CHANGES, "changed and untracked files"),
];

/// Not a pointer: the list of changed and untracked files with their hashes, as one digest.
const CHANGES: &str = "changes";

impl CampaignReport {
    /// One sentence per part of the provenance that differs between runs, naming the runs (and
    /// their configurations in a comparison) of each value. Empty when every run ran the same
    /// thing, or when the records hold no provenance.
    pub fn drift(&self) -> Vec<String> {
        let names = self.names();
        let compare = self.configs.len() > 1;
        let mut out = Vec::new();
        for (pointer, what) in DEFINING {
            // Each distinct value with the runs that had it, in the order first seen.
            let mut values: Vec<(String, Vec<String>)> = Vec::new();
            for (run, record) in self.runs.iter().zip(&self.records) {
                // A run whose gathering did not get this far (git timed out) says nothing about
                // it: no value is not another value.
                let Some(value) = defining(record, pointer) else {
                    continue;
                };
                if skip_between_configs(pointer) && self.sets_path() {
                    // A configuration that sets PATH chooses another executable on purpose.
                    continue;
                }
                let label = match (compare, names.get(run.config)) {
                    (true, Some(name)) => format!("{} ({name})", run.index),
                    _ => run.index.to_string(),
                };
                match values.iter_mut().find(|(v, _)| *v == value) {
                    Some((_, runs)) => runs.push(label),
                    None => values.push((value, vec![label])),
                }
            }
            if values.len() < 2 {
                continue;
            }
            let parts: Vec<String> = values
                .iter()
                .map(|(value, runs)| format!("{} in run(s) {}", short(value), runs.join(", ")))
                .collect();
            let consequence = if compare {
                "A and B differ in more than their variables, so the comparison does not measure \
                 the variables alone"
            } else {
                "the runs did not all run the same thing, so the rate mixes them"
            };
            out.push(format!(
                "the {what} changed during the campaign: {}; {consequence}",
                parts.join("; ")
            ));
        }
        out
    }
}

/// What `pointer` says in a run record; for the untracked files, a digest of the list of
/// changed files with their hashes (an edited untracked helper or `conftest.py` changes it while
/// the commit and the diff stay the same). `None` when the record does not say.
fn defining(record: &serde_json::Value, pointer: &str) -> Option<String> {
    if pointer == CHANGES {
        let git = record.pointer("/provenance/git")?;
        if git.get("state").and_then(|s| s.as_str()) != Some("repository") {
            return None;
        }
        let changes = git.get("changes")?.as_array()?;
        let mut list: Vec<String> = changes
            .iter()
            .map(|c| format!("{}\0{}\0{}", c["path"], c["status"], c["sha256"]))
            .collect();
        list.sort();
        let mut h = Sha256::new();
        for item in &list {
            h.update(item.as_bytes());
            h.update(b"\n");
        }
        return Some(crate::sha256_hex(h));
    }
    match record.pointer(pointer)? {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Null => None,
        other => Some(other.to_string()),
    }
}

/// The parts a configuration's `PATH` changes on purpose.
fn skip_between_configs(pointer: &str) -> bool {
    pointer.starts_with("/provenance/executable")
}

impl CampaignReport {
    /// Whether a configuration sets `PATH` (then the executable differs by design).
    fn sets_path(&self) -> bool {
        self.configs
            .iter()
            .any(|c| c.env.iter().any(|e| e.starts_with("PATH=")))
    }
}

/// A value as shown: a hash cut to 12 digits, anything else as it is.
fn short(value: &str) -> String {
    let hex = value.len() >= 40 && value.bytes().all(|b| b.is_ascii_hexdigit());
    match value.get(..12) {
        Some(head) if hex => head.to_owned(),
        _ => value.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_cut_and_names_kept() {
        assert_eq!(short(&"ab".repeat(32)), "abababababab");
        assert_eq!(short("/repo/stress.py"), "/repo/stress.py");
    }
}
