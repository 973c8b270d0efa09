//! Why a rule did or did not match a report (`rules explain REPORT`), and which rules can never
//! be reached (`rules check`).
//!
//! [`Rule::check`] stops at the first condition that fails, because classification only needs
//! the verdict, and is on the hot path of `classify`. A person writing a rule needs every
//! condition's outcome instead, each with what the report showed: [`Rule::explain`] evaluates
//! them all, in the order [`Rule::conditions`] lists them. The two must agree on the verdict;
//! the unit tests below check that over every report in `testdata/` against every built-in rule.
//!
//! Shadowing is decided from the rules' text, not from reports: a rule is shadowed by an earlier
//! one whose every condition is implied by one of its own (the same or a wider exception list
//! and address range, the same regexes, the same frame conditions at least as far down). That
//! finds the common mistakes (a rule with no conditions, a broad `exception = ["EXC_BAD_ACCESS"]`
//! rule first) and never warns about a rule that some report could still reach.

use super::{Caller, Conditions, Facts, FrameMatcher, FrameView, ImageKind, Rule, RuleSet, clip};

/// The source name of the built-in rules ([`RuleSet::builtin`]).
const BUILTIN_SOURCE: &str = "built-in rules";

/// Whether `wide` is no condition, or the same regex as `narrow`'s.
fn same_regex(wide: &Option<regex::Regex>, narrow: &Option<regex::Regex>) -> bool {
    match (wide, narrow) {
        (None, _) => true,
        (Some(w), Some(n)) => w.as_str() == n.as_str(),
        (Some(_), None) => false,
    }
}

/// One condition of a rule, and what the report showed for it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionOutcome {
    /// The condition in words, as `rules --format json` lists it.
    pub condition: String,
    /// Whether the report meets it.
    pub held: bool,
    /// What the report showed: the reason when it held, what it had instead when it failed.
    pub seen: String,
}

/// Where a rule stands for one report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// The first rule that matches: the report's classification.
    Chosen,
    /// It matches too, but an earlier rule was chosen.
    AlsoMatches,
    /// At least one condition failed.
    NoMatch,
}

/// One rule's explanation.
pub struct RuleExplanation<'r> {
    /// The rule.
    pub rule: &'r Rule,
    /// Whether it was chosen, matched too late, or failed.
    pub verdict: Verdict,
    /// Every condition, held or not (empty for a rule without conditions, which matches all).
    pub conditions: Vec<ConditionOutcome>,
    /// For a rule with `fixed_in`: whether the report is on a version at or after the fix, in
    /// words (`a regression: driver version 342.3.1 is at or after 342.1`, `not a regression:
    /// the report has no driver version`). It counts only when the rule matches.
    pub fix: Option<String>,
}

impl RuleSet {
    /// Every rule in the order they are tried, each with the outcome of each of its conditions.
    pub fn explain(&self, facts: &Facts) -> Vec<RuleExplanation<'_>> {
        let mut chosen = false;
        self.rules
            .iter()
            .map(|rule| {
                let conditions = rule.explain(facts);
                let verdict = match (conditions.iter().all(|c| c.held), chosen) {
                    (false, _) => Verdict::NoMatch,
                    (true, false) => Verdict::Chosen,
                    (true, true) => Verdict::AlsoMatches,
                };
                chosen |= verdict == Verdict::Chosen;
                RuleExplanation {
                    rule,
                    verdict,
                    conditions,
                    fix: rule.fixed_in.as_ref().map(|f| f.outcome(&facts.versions)),
                }
            })
            .collect()
    }

    /// What `rules check` warns about: each rule that makes later rules unreachable, because it
    /// matches every crash they match (a rule without conditions matches every crash), naming
    /// them. In the order of the rules; a later rule is blamed on the first rule that shadows it.
    pub fn unreachable(&self) -> Vec<String> {
        let mut shadowed_by: Vec<Option<usize>> = vec![None; self.rules.len()];
        for (i, rule) in self.rules.iter().enumerate() {
            let earlier = self.rules.get(..i).unwrap_or_default();
            if let Some(by) = earlier.iter().position(|e| implies(&rule.when, &e.when))
                && let Some(slot) = shadowed_by.get_mut(i)
            {
                *slot = Some(by);
            }
        }
        let mut warnings = Vec::new();
        for (i, rule) in self.rules.iter().enumerate() {
            let hidden: Vec<&Rule> = self
                .rules
                .iter()
                .zip(&shadowed_by)
                .filter(|(_, by)| **by == Some(i))
                .map(|(r, _)| r)
                .collect();
            if hidden.is_empty() {
                continue;
            }
            let after = self.rules.len().saturating_sub(i + 1);
            let how = if rule.conditions().is_empty() {
                "has no conditions: it matches every crash".to_owned()
            } else {
                "matches every crash they match".to_owned()
            };
            let which = if hidden.len() == after {
                format!("every rule after it ({})", names(&hidden))
            } else {
                format!("{} rule(s) after it ({})", hidden.len(), names(&hidden))
            };
            let builtin = if rule.source != BUILTIN_SOURCE
                && hidden.iter().any(|h| h.source == BUILTIN_SOURCE)
            {
                " (a rules file's rules are tried before the built-in ones)"
            } else {
                ""
            };
            warnings.push(format!(
                "rule {} ({}) {how}, so no crash reaches {which}{builtin}; give it narrower \
                 conditions in [rule.when], or move it after them",
                rule.id, rule.source
            ));
        }
        warnings
    }
}

/// Up to five rule ids, then how many more.
fn names(rules: &[&Rule]) -> String {
    let mut list: Vec<&str> = rules.iter().take(5).map(|r| r.id.as_str()).collect();
    let more = rules.len().saturating_sub(5);
    let more = format!("{more} more");
    if rules.len() > 5 {
        list.push(&more);
    }
    list.join(", ")
}

/// Whether every report that meets `narrow` meets `wide` too, as far as the text shows.
fn implies(narrow: &Conditions, wide: &Conditions) -> bool {
    let exception = wide.exception.is_empty()
        || (!narrow.exception.is_empty()
            && narrow.exception.iter().all(|e| wide.exception.contains(e)));
    let address = match (wide.address, narrow.address) {
        (None, _) => true,
        (Some((wmin, wmax)), Some((nmin, nmax))) => wmin <= nmin && nmax <= wmax,
        (Some(_), None) => false,
    };
    let frames = |wide: &[FrameMatcher], narrow: &[FrameMatcher]| {
        wide.iter()
            .all(|w| narrow.iter().any(|n| frame_implies(n, w)))
    };
    // A caller is looked for below the deepest frame the rule's own frame conditions matched,
    // so two rules' caller windows start at the same frame only when their frame conditions
    // are the same ones: otherwise the later rule's window may reach frames the earlier one's
    // cannot, and the later rule stays reachable.
    let same_frames = wide.frames.len() == narrow.frames.len()
        && wide
            .frames
            .iter()
            .zip(&narrow.frames)
            .all(|(w, n)| frame_implies(n, w) && frame_implies(w, n));
    let callers =
        wide.callers.is_empty() || (same_frames && frames(&wide.callers, &narrow.callers));
    // Each of the earlier rule's version ranges holds the later rule's range for that version.
    let versions = wide
        .versions
        .iter()
        .all(|w| narrow.versions.iter().any(|n| w.includes(n)));
    exception
        && versions
        && address
        && same_regex(&wide.process, &narrow.process)
        && same_regex(&wide.message, &narrow.message)
        && frames(&wide.frames, &narrow.frames)
        && callers
}

/// Whether a frame that meets `narrow` meets `wide`: each test of `wide` is one of `narrow`'s
/// (or looser: any GPU image for an AGX or Metal one), at the same place or within a window at
/// least as deep.
fn frame_implies(narrow: &FrameMatcher, wide: &FrameMatcher) -> bool {
    let place = match (wide.at, narrow.at) {
        (Some(w), Some(n)) => w == n,
        (None, Some(n)) => n < wide.within,
        (None, None) => narrow.within <= wide.within,
        (Some(_), None) => false,
    };
    let kind = match (wide.image_kind, narrow.image_kind) {
        (None, _) => true,
        (Some(ImageKind::Gpu), Some(ImageKind::Agx | ImageKind::Metal)) => true,
        (Some(w), Some(n)) => w == n,
        (Some(_), None) => false,
    };
    let function = wide.function.is_none() || wide.function == narrow.function;
    place
        && kind
        && function
        && same_regex(&wide.image, &narrow.image)
        && same_regex(&wide.symbol, &narrow.symbol)
}

impl Rule {
    /// Every condition with its outcome for `facts`, in the order of [`Rule::conditions`]. Its
    /// verdict (all held) is [`Rule::check`]'s.
    pub fn explain(&self, facts: &Facts) -> Vec<ConditionOutcome> {
        let c = &self.when;
        let mut outcomes: Vec<(bool, String)> = Vec::new();
        if !c.exception.is_empty() {
            let hit = c.exception.iter().find(|e| {
                Some(e.as_str()) == facts.exception_type || Some(e.as_str()) == facts.signal
            });
            outcomes.push(match hit {
                Some(hit) => (true, format!("exception {hit}")),
                None => (
                    false,
                    match (facts.exception_type, facts.signal) {
                        (None, None) => "the report has no exception".to_owned(),
                        (t, s) => format!(
                            "the exception is {} ({})",
                            t.unwrap_or("not named"),
                            s.unwrap_or("no signal")
                        ),
                    },
                ),
            });
        }
        if let Some((min, max)) = c.address {
            outcomes.push(match (facts.address, facts.address_unknown) {
                (Some(address), _) if (min..=max).contains(&address) => (
                    true,
                    format!("fault address {address:#x} in {min:#x}..={max:#x}"),
                ),
                (None, Some(_)) => (
                    true,
                    format!(
                        "fault address not checked ({min:#x}..={max:#x}): unknown, the signal was re-raised"
                    ),
                ),
                (Some(address), _) => (false, format!("the fault address is {address:#x}")),
                (None, None) => (false, "the report has no fault address".to_owned()),
            });
        }
        if let Some(re) = &c.process {
            outcomes.push(match facts.process {
                Some(name) if re.is_match(name) => (true, format!("process {name}")),
                Some(name) => (false, format!("the process is {name}")),
                None => (false, "the report does not name the process".to_owned()),
            });
        }
        if let Some(re) = &c.message {
            outcomes.push(match facts.messages.iter().find(|m| re.is_match(m)) {
                Some(m) => (true, format!("message \"{}\"", clip(m, 120))),
                None if facts.messages.is_empty() => {
                    (false, "the report has no assertion or message".to_owned())
                }
                None => (
                    false,
                    format!(
                        "none of its {} message(s) matches; the first: \"{}\"",
                        facts.messages.len(),
                        clip(facts.messages.first().copied().unwrap_or_default(), 120)
                    ),
                ),
            });
        }
        for v in &c.versions {
            outcomes.push(match v.check(&facts.versions) {
                Ok(why) => (true, why),
                Err(seen) => (false, seen),
            });
        }
        let mut deepest: Option<usize> = None;
        for m in &c.frames {
            let found = m.find_frame(facts);
            outcomes.push(match found {
                Some((n, f)) => {
                    deepest = Some(deepest.map_or(f.index, |d| d.max(f.index)));
                    (true, format!("frame {n} is {}", f.describe()))
                }
                None => (false, frame_seen(facts, m.at)),
            });
        }
        for m in &c.callers {
            let start = deepest.map_or(0, |d| d + 1);
            outcomes.push(match m.caller(facts, start) {
                Caller::Found(f) => (
                    true,
                    format!("called from {} (thread frame {})", f.describe(), f.index),
                ),
                Caller::Unknown(seen) => (true, seen),
                Caller::None => (
                    false,
                    format!(
                        "none of the {} thread frame(s) from frame {start} on is",
                        facts.all.len().saturating_sub(start).min(m.within)
                    ),
                ),
            });
        }
        self.conditions()
            .into_iter()
            .zip(outcomes)
            .map(|(condition, (held, seen))| ConditionOutcome {
                condition,
                held,
                seen,
            })
            .collect()
    }
}

/// What the crashed thread had where a frame condition looked.
fn frame_seen(facts: &Facts, at: Option<usize>) -> String {
    let describe = |f: &FrameView| f.describe();
    match at {
        Some(n) => match facts.meaningful_frame(n) {
            Some(f) => format!("frame {n} is {}", describe(f)),
            None => format!(
                "the crashed thread has {} meaningful frame(s)",
                facts.meaningful.len()
            ),
        },
        None => match facts.meaningful_frame(0) {
            Some(f) => format!("no frame is; frame 0 is {}", describe(f)),
            None => "the crashed thread has no meaningful frames".to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify;

    fn rules(text: &str) -> RuleSet {
        RuleSet::builtin()
            .and_then(|b| b.with_user(text, "team.toml"))
            .unwrap()
    }

    /// `explain` and `check` agree, rule by rule, over every report the project keeps.
    #[test]
    fn explain_agrees_with_check_on_every_test_report() {
        let set = RuleSet::builtin().unwrap();
        let mut reports = 0;
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
        for entry in walkdir::WalkDir::new(root).into_iter().flatten() {
            if !entry.file_type().is_file() {
                continue;
            }
            let Ok(bytes) = std::fs::read(entry.path()) else {
                continue;
            };
            let Ok(report) = crate::report::parse(&bytes) else {
                continue;
            };
            let Some(explained) = classify::explain(&report, &set) else {
                continue;
            };
            reports += 1;
            let chosen = explained
                .iter()
                .find(|e| e.verdict == Verdict::Chosen)
                .map(|e| e.rule.id.clone());
            let classified = classify::classify(&report, &set).map(|c| c.rule);
            // "unmatched" is what classification says when no rule matched.
            assert_eq!(
                chosen.unwrap_or_else(|| "unmatched".into()),
                classified.unwrap_or_default(),
                "{}",
                entry.path().display()
            );
            for e in &explained {
                assert_eq!(e.conditions.len(), e.rule.conditions().len());
            }
        }
        assert!(reports > 20, "only {reports} reports read");
    }

    #[test]
    fn a_rule_without_conditions_shadows_everything_after_it() {
        let set = rules("[[rule]]\nid = \"all\"\ntitle = \"Everything\"\nfamily = \"other\"\n");
        let warnings = set.unreachable();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].starts_with("rule all (team.toml) has no conditions"),
            "{warnings:?}"
        );
        assert!(warnings[0].contains("every rule after it (agx-prepare-for-enqueue-race"));
    }

    #[test]
    fn a_broader_earlier_rule_makes_a_later_one_unreachable() {
        let set = rules(
            "[[rule]]\nid = \"any-segv\"\ntitle = \"t\"\nfamily = \"other\"\n\
             [rule.when]\nexception = [\"EXC_BAD_ACCESS\", \"SIGSEGV\"]\n\n\
             [[rule]]\nid = \"race\"\ntitle = \"t\"\nfamily = \"agx\"\n\
             [rule.when]\nexception = [\"EXC_BAD_ACCESS\"]\naddress = { equals = 0x98 }\n",
        );
        let warnings = set.unreachable();
        assert!(
            warnings
                .iter()
                .any(|w| w.starts_with("rule any-segv (team.toml) matches every crash they match, so no crash reaches 1 rule(s) after it (race)")),
            "{warnings:?}"
        );
        // The other way round, both can be reached.
        let set = rules(
            "[[rule]]\nid = \"race\"\ntitle = \"t\"\nfamily = \"agx\"\n\
             [rule.when]\nexception = [\"EXC_BAD_ACCESS\"]\naddress = { equals = 0x98 }\n\n\
             [[rule]]\nid = \"any-segv\"\ntitle = \"t\"\nfamily = \"other\"\n\
             [rule.when]\nexception = [\"EXC_BAD_ACCESS\", \"SIGSEGV\"]\n",
        );
        assert!(
            !set.unreachable().iter().any(|w| w.contains("(race)")),
            "{:?}",
            set.unreachable()
        );
    }

    /// A wider version range tried first hides a narrower one; a narrower one first, or a
    /// version condition on the earlier rule only, hides nothing (a report without the version,
    /// or outside the range, still reaches the later rule).
    #[test]
    fn version_ranges_shadow_only_narrower_ranges() {
        let two = |first: &str, second: &str| {
            rules(&format!(
                "[[rule]]\nid = \"first\"\ntitle = \"t\"\nfamily = \"agx\"\n\
                 [rule.when]\nexception = [\"EXC_BAD_ACCESS\"]\n{first}\n\n\
                 [[rule]]\nid = \"second\"\ntitle = \"t\"\nfamily = \"agx\"\n\
                 [rule.when]\nexception = [\"EXC_BAD_ACCESS\"]\n{second}\n"
            ))
        };
        let hides = |first: &str, second: &str| {
            two(first, second)
                .unreachable()
                .iter()
                .any(|w| w.starts_with("rule first (team.toml)") && w.contains("(second)"))
        };
        let wide = "driver_version = { min = \"300\" }";
        let narrow = "driver_version = { min = \"329.2\", below = \"342\" }";
        assert!(hides(wide, narrow));
        assert!(hides(wide, "driver_version = { equals = \"300\" }"));
        assert!(!hides(narrow, wide));
        assert!(!hides(wide, ""));
        assert!(hides("", narrow), "no version condition is the widest");
        assert!(!hides(
            "driver_version = { below = \"342\" }",
            "driver_version = { max = \"342\" }"
        ));
        assert!(hides(
            "driver_version = { max = \"342\" }",
            "driver_version = { below = \"342\" }"
        ));
        assert!(!hides(wide, "os_build = { min = \"24G84\" }"));
    }

    /// Callers are looked for below the deepest matched frame: a later rule with a deeper frame
    /// condition looks further down, and a report can reach it (the reviewer's pair: B matches
    /// the race report, A does not).
    #[test]
    fn callers_below_other_frames_are_not_implied() {
        let set = rules(
            "[[rule]]\nid = \"a\"\ntitle = \"t\"\nfamily = \"agx\"\n[rule.when]\n\
             frames = [{ image_kind = \"agx\" }]\n\
             callers = [{ symbol = \"gatherViewTensor\", within = 3 }]\n\n\
             [[rule]]\nid = \"b\"\ntitle = \"t\"\nfamily = \"agx\"\n[rule.when]\n\
             frames = [{ image_kind = \"agx\" }, { symbol = \"dispatchThreads\", within = 4 }]\n\
             callers = [{ symbol = \"gatherViewTensor\", within = 3 }]\n",
        );
        assert!(
            !set.unreachable().iter().any(|w| w.contains("(b)")),
            "{:?}",
            set.unreachable()
        );
        let bytes = std::fs::read(
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("testdata/derived/agx-prepareForEnqueue-0x98.ips"),
        )
        .unwrap();
        let report = crate::report::parse(&bytes).unwrap();
        assert_eq!(classify::classify(&report, &set).unwrap().rule, "b");
    }

    /// The built-in rules are ordered so that each can be reached.
    #[test]
    fn every_builtin_rule_can_be_reached() {
        assert_eq!(
            RuleSet::builtin().unwrap().unreachable(),
            Vec::<String>::new()
        );
    }
}
