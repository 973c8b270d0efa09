//! Names for `bug_type` values, from Apple's `submissionConfig.plist` `log_types` table (as dumped
//! by blacktop/ipsw: `src/report/data/log_type.json`, origin in `src/report/data/README.md`).

use std::collections::HashMap;
use std::sync::OnceLock;

use super::model::ReportKind;

static TABLE: &str = include_str!("data/log_type.json");

fn names() -> &'static HashMap<String, String> {
    static NAMES: OnceLock<HashMap<String, String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        #[derive(serde::Deserialize)]
        struct Entry {
            name: String,
        }
        #[derive(serde::Deserialize)]
        struct File {
            log_types: HashMap<String, Entry>,
        }
        // The table ships inside the binary and a unit test parses it, so failure here cannot
        // happen in a released build; an empty table would only lose the names, not the kinds.
        serde_json::from_str::<File>(TABLE)
            .map(|f| f.log_types.into_iter().map(|(k, v)| (k, v.name)).collect())
            .unwrap_or_default()
    })
}

/// Apple's name for a bug type (`"309"` → `Crash`, `"145"` → `SymptomsIO`).
pub fn name(bug_type: &str) -> Option<&'static str> {
    names().get(bug_type.trim()).map(String::as_str)
}

/// What kind of report a bug type is. Unknown bug types are [`ReportKind::Other`]: a report is
/// never counted as a crash on a guess.
pub fn kind(bug_type: &str) -> ReportKind {
    match bug_type.trim() {
        // 309 is the macOS 12+ crash; 409 (SystemWatchdogCrash) and 509 (TerminatingStackshot)
        // also end the process. 109 and 9 are the legacy crash types.
        "309" | "409" | "509" | "109" | "9" => ReportKind::Crash,
        // ExcUserFault: same payload shape as 309, but the process kept running.
        "308" => ReportKind::NonFatal,
        "151" => ReportKind::Panic,
        other => match name(other) {
            Some(n) => kind_by_name(n),
            None => ReportKind::Other,
        },
    }
}

fn kind_by_name(name: &str) -> ReportKind {
    let lower = name.to_ascii_lowercase();
    if lower.contains("panic") {
        ReportKind::Panic
    } else if lower.contains("jetsam") {
        ReportKind::Jetsam
    } else if lower.contains("stackshot") || lower.ends_with("micross") {
        ReportKind::Stackshot
    } else if lower.contains("resource") || lower.starts_with("symptoms") || lower.contains("wakes")
    {
        ReportKind::Resource
    } else if lower.contains("hang") || lower.contains("spin") || lower.contains("watchdogtimeout")
    {
        ReportKind::Hang
    } else {
        ReportKind::Other
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_table_parses() {
        assert!(names().len() > 100, "log_type.json did not parse");
        assert_eq!(name("309"), Some("Crash"));
        assert_eq!(name("145"), Some("SymptomsIO"));
        assert_eq!(name("T01"), Some("TestA"));
    }

    #[test]
    fn kinds() {
        for crash in ["309", "409", "509", "109", "9"] {
            assert_eq!(kind(crash), ReportKind::Crash, "{crash}");
        }
        assert_eq!(kind("308"), ReportKind::NonFatal);
        assert_eq!(kind("210"), ReportKind::Panic);
        assert_eq!(kind("151"), ReportKind::Panic);
        assert_eq!(kind("298"), ReportKind::Jetsam);
        assert_eq!(kind("288"), ReportKind::Stackshot);
        for resource in ["145", "202", "206", "385", "327", "22", "30"] {
            assert_eq!(kind(resource), ReportKind::Resource, "{resource}");
        }
        assert_eq!(kind("228"), ReportKind::Hang);
        assert_eq!(kind("211"), ReportKind::Other);
        assert_eq!(kind("99999"), ReportKind::Other);
    }
}
