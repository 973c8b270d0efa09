//! The gate: which crashes fail a CI job.

use std::str::FromStr;

use serde::Serialize;

use super::{Classification, Family};

/// What fails the gate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FailOn {
    /// Any crash: a test that crashes is not passing.
    Any,
    /// Crashes in the AGX driver.
    Agx,
    /// Crashes in the AGX driver or in Metal / MPS / IOGPU.
    Metal,
    /// Crashes no rule marks as known.
    Unknown,
    /// Nothing: report only.
    None,
}

impl FromStr for FailOn {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "any" => FailOn::Any,
            "agx" => FailOn::Agx,
            "metal" => FailOn::Metal,
            "unknown" => FailOn::Unknown,
            "none" => FailOn::None,
            other => {
                return Err(format!(
                    "unknown --fail-on value {other:?}: use any, agx, metal, unknown or none"
                ));
            }
        })
    }
}

impl FailOn {
    pub fn as_str(self) -> &'static str {
        match self {
            FailOn::Any => "any",
            FailOn::Agx => "agx",
            FailOn::Metal => "metal",
            FailOn::Unknown => "unknown",
            FailOn::None => "none",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Gate {
    pub fail_on: FailOn,
    /// Rule ids that never fail the gate.
    pub allow: Vec<String>,
}

impl Gate {
    /// Whether this crash fails the gate, and why in words.
    pub fn verdict(&self, c: &Classification) -> Option<String> {
        if self.allow.contains(&c.rule) {
            return None;
        }
        let fails = match self.fail_on {
            FailOn::Any => true,
            FailOn::Agx => c.family == Family::Agx,
            FailOn::Metal => matches!(c.family, Family::Agx | Family::Metal),
            FailOn::Unknown => !c.known,
            FailOn::None => false,
        };
        fails.then(|| {
            let what = match self.fail_on {
                FailOn::Any => "a crash",
                FailOn::Agx => "an AGX driver crash",
                FailOn::Metal => "an AGX or Metal crash",
                FailOn::Unknown => "a crash no rule marks as known",
                FailOn::None => "",
            };
            format!("{what} ({}: {})", c.rule, c.title)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn class(family: Family, rule: &str, known: bool) -> Classification {
        Classification {
            family,
            rule: rule.into(),
            title: "t".into(),
            known,
            links: vec![],
            reason: String::new(),
            why: vec![],
            signature: String::new(),
            signature_id: String::new(),
            location: None,
            trigger: None,
            driver: None,
            on_top: Default::default(),
            racing: vec![],
        }
    }

    #[test]
    fn policies() {
        let agx = class(Family::Agx, "agx-prepare-for-enqueue-race", true);
        let metal = class(Family::Metal, "metal-other", false);
        let other = class(Family::Other, "other", false);
        let gate = |fail_on| Gate {
            fail_on,
            allow: vec![],
        };
        assert!(gate(FailOn::Any).verdict(&other).is_some());
        assert!(gate(FailOn::Agx).verdict(&agx).is_some());
        assert!(gate(FailOn::Agx).verdict(&metal).is_none());
        assert!(gate(FailOn::Metal).verdict(&metal).is_some());
        assert!(gate(FailOn::Metal).verdict(&other).is_none());
        assert!(gate(FailOn::Unknown).verdict(&agx).is_none());
        assert!(gate(FailOn::Unknown).verdict(&other).is_some());
        assert!(gate(FailOn::None).verdict(&agx).is_none());
        let allowed = Gate {
            fail_on: FailOn::Any,
            allow: vec!["agx-prepare-for-enqueue-race".into()],
        };
        assert!(allowed.verdict(&agx).is_none());
        assert!(allowed.verdict(&other).is_some());
    }
}
