//! Triage of many reports: crashes grouped by signature, so that pointing `classify` at a
//! DiagnosticReports folder answers "what has been crashing here". Only small aggregates are kept,
//! never the reports.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use super::{Classification, Driver, Family};
use crate::report::Report;

/// The crashes that share one signature: one line of a triage table.
///
/// The rule, title, family, known flag and location are those of the first crash added to the
/// group.
#[derive(Debug, Clone, Serialize)]
pub struct Group {
    /// The signature's short id ([`Classification::signature_id`]): the group's key.
    pub signature_id: String,
    /// The full signature the group shares.
    pub signature: String,
    /// How many crash reports have it.
    pub count: u64,
    /// The family of the rule that matched.
    pub family: Family,
    /// Id of the rule that matched (`unmatched` when none did).
    pub rule: String,
    /// The rule's title.
    pub title: String,
    /// Whether the rule marks the crash as known.
    pub known: bool,
    /// How many of its reports are regressions: on a version at or after the rule's `fixed_in`.
    pub regressions: u64,
    /// The first meaningful frame (`symbol + offset`), when there is one.
    pub location: Option<String>,
    /// The names of the processes that crashed so, sorted.
    pub processes: BTreeSet<String>,
    /// The OS builds the reports were written on (`24G90`), sorted.
    pub os_builds: BTreeSet<String>,
    /// The AGX drivers loaded in those processes, sorted.
    pub drivers: BTreeSet<Driver>,
    /// The earliest crash time among the reports that have one.
    pub first_seen: Option<DateTime<FixedOffset>>,
    /// The latest crash time among the reports that have one.
    pub last_seen: Option<DateTime<FixedOffset>>,
}

/// Crash classifications gathered by signature, for a folder's worth of reports.
#[derive(Debug, Default)]
pub struct Triage {
    groups: BTreeMap<String, Group>,
}

impl Triage {
    /// Counts one classified crash into its signature's group, with its process, OS build,
    /// driver and capture time.
    pub fn add(&mut self, report: &Report, c: &Classification) {
        // Keyed by rule too: two rules can match the same frames (an exception type or a
        // message tells them apart), and one group would show only the first one's name.
        let g = self
            .groups
            .entry(format!("{}\u{0}{}", c.rule, c.signature_id))
            .or_insert_with(|| Group {
                signature_id: c.signature_id.clone(),
                signature: c.signature.clone(),
                count: 0,
                family: c.family,
                rule: c.rule.clone(),
                title: c.title.clone(),
                known: c.known,
                regressions: 0,
                location: c.location.clone(),
                processes: BTreeSet::new(),
                os_builds: BTreeSet::new(),
                drivers: BTreeSet::new(),
                first_seen: None,
                last_seen: None,
            });
        g.count += 1;
        g.regressions += u64::from(c.regression.is_some());
        if let Some(p) = &report.process.name {
            g.processes.insert(p.clone());
        }
        if let Some(b) = &report.os.build {
            g.os_builds.insert(b.clone());
        }
        if let Some(d) = &c.driver {
            g.drivers.insert(d.clone());
        }
        if let Some(t) = report.capture_time {
            g.first_seen = Some(g.first_seen.map_or(t, |f| f.min(t)));
            g.last_seen = Some(g.last_seen.map_or(t, |l| l.max(t)));
        }
    }

    /// Adds `other`'s crashes, as if each had been added here after those already here: a group
    /// already here keeps its rule, title and location.
    pub fn merge(&mut self, other: Triage) {
        use std::collections::btree_map::Entry;
        for (key, g) in other.groups {
            match self.groups.entry(key) {
                Entry::Vacant(v) => {
                    v.insert(g);
                }
                Entry::Occupied(o) => {
                    let m = o.into_mut();
                    m.count += g.count;
                    m.regressions += g.regressions;
                    m.processes.extend(g.processes);
                    m.os_builds.extend(g.os_builds);
                    m.drivers.extend(g.drivers);
                    m.first_seen = m.first_seen.into_iter().chain(g.first_seen).min();
                    m.last_seen = m.last_seen.into_iter().chain(g.last_seen).max();
                }
            }
        }
    }

    /// The groups, most frequent first (ties by signature id, for stable output).
    pub fn groups(&self) -> Vec<&Group> {
        let mut groups: Vec<&Group> = self.groups.values().collect();
        groups.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.signature_id.cmp(&b.signature_id))
        });
        groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::{RuleSet, classify};

    /// Two rules can match the same frames: one group each, not one named after whichever came
    /// first.
    #[test]
    fn groups_are_per_rule_and_signature() {
        let bytes = std::fs::read(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/derived/agx-prepareForEnqueue-0x98.ips"
        ))
        .unwrap_or_default();
        let report = crate::report::parse(&bytes).unwrap_or_else(|e| panic!("{e}"));
        let rules = RuleSet::builtin().unwrap_or_else(|e| panic!("{e}"));
        let race = classify(&report, &rules).unwrap_or_else(|| panic!("a crash"));
        let mut other = race.clone();
        other.rule = "team-rule".into();
        let mut triage = Triage::default();
        triage.add(&report, &race);
        triage.add(&report, &race);
        triage.add(&report, &other);
        let groups = triage.groups();
        assert_eq!(groups.len(), 2);
        assert_eq!(
            (groups[0].rule.as_str(), groups[0].count),
            (race.rule.as_str(), 2)
        );
        assert_eq!((groups[1].rule.as_str(), groups[1].count), ("team-rule", 1));
    }

    /// `classify` counts each report into a triage of its own on the thread that read it and
    /// merges them in input order: the groups are those of one triage that had every report
    /// added to it, in that order (counts, first rule, processes, OS builds, drivers, times).
    #[test]
    fn merged_triages_are_the_triage_of_all() {
        let rules = RuleSet::builtin().unwrap_or_else(|e| panic!("{e}"));
        let mut crashes = Vec::new();
        for dir in ["testdata/derived", "testdata/real/ips"] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
            let mut paths: Vec<_> = std::fs::read_dir(&dir)
                .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
                .filter_map(|e| e.ok().map(|e| e.path()))
                .collect();
            paths.sort();
            for path in paths {
                let bytes = std::fs::read(&path).unwrap_or_default();
                if let Ok(report) = crate::report::parse(&bytes)
                    && let Some(c) = classify(&report, &rules)
                {
                    crashes.push((report, c));
                }
            }
        }
        // Twice over, so that groups meet themselves again after others.
        let crashes: Vec<_> = crashes.iter().chain(&crashes).collect();
        assert!(crashes.len() > 40, "only {} crashes", crashes.len());
        let mut whole = Triage::default();
        let mut merged = Triage::default();
        for (report, c) in &crashes {
            whole.add(report, c);
            let mut one = Triage::default();
            one.add(report, c);
            merged.merge(one);
        }
        let json = |t: &Triage| serde_json::to_string_pretty(&t.groups()).unwrap_or_default();
        assert!(whole.groups().len() > 5);
        assert!(
            whole
                .groups()
                .iter()
                .any(|g| g.processes.len() > 1 || g.os_builds.len() > 1)
        );
        assert_eq!(json(&merged), json(&whole));
    }
}
