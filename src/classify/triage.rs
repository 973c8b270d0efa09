//! Triage of many reports: crashes grouped by signature, so that pointing `classify` at a
//! DiagnosticReports folder answers "what has been crashing here". Only small aggregates are kept,
//! never the reports.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, FixedOffset};
use serde::Serialize;

use super::{Classification, Family};
use crate::report::Report;

#[derive(Debug, Clone, Serialize)]
pub struct Group {
    pub signature_id: String,
    pub signature: String,
    pub count: u64,
    pub family: Family,
    pub rule: String,
    pub title: String,
    pub known: bool,
    pub location: Option<String>,
    pub processes: BTreeSet<String>,
    pub os_builds: BTreeSet<String>,
    pub driver_versions: BTreeSet<String>,
    pub first_seen: Option<DateTime<FixedOffset>>,
    pub last_seen: Option<DateTime<FixedOffset>>,
}

#[derive(Debug, Default)]
pub struct Triage {
    groups: BTreeMap<String, Group>,
}

impl Triage {
    pub fn add(&mut self, report: &Report, c: &Classification) {
        let g = self
            .groups
            .entry(c.signature_id.clone())
            .or_insert_with(|| Group {
                signature_id: c.signature_id.clone(),
                signature: c.signature.clone(),
                count: 0,
                family: c.family,
                rule: c.rule.clone(),
                title: c.title.clone(),
                known: c.known,
                location: c.location.clone(),
                processes: BTreeSet::new(),
                os_builds: BTreeSet::new(),
                driver_versions: BTreeSet::new(),
                first_seen: None,
                last_seen: None,
            });
        g.count += 1;
        if let Some(p) = &report.process.name {
            g.processes.insert(p.clone());
        }
        if let Some(b) = &report.os.build {
            g.os_builds.insert(b.clone());
        }
        if let Some(d) = &c.driver {
            g.driver_versions.insert(match &d.version {
                Some(v) => format!("{} {v}", d.name),
                None => d.name.clone(),
            });
        }
        if let Some(t) = report.capture_time {
            g.first_seen = Some(g.first_seen.map_or(t, |f| f.min(t)));
            g.last_seen = Some(g.last_seen.map_or(t, |l| l.max(t)));
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
