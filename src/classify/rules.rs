//! Rules as data: which crash a report is.
//!
//! A rule names a crash (id, title, family, whether the team already knows it, links) and says
//! when a report is that crash: exception type or signal, fault address, the crashed thread's top
//! frames, caller frames further down, the assertion or other application-specific message, the
//! process name. The built-in rules live in `builtin-rules.toml` beside this file; a user's
//! `--rules FILE` is read the same way, its rules are tried first, and a user rule with a built-in
//! rule's id replaces it. The first rule that matches wins.
//!
//! A rules file is input too, and regexes are the one part of it that costs memory out of
//! proportion to its text: `\w{1000}` is eleven bytes and compiles to megabytes. Each file's
//! regexes therefore share a budget ([`RegexBudget`]): a size limit per regex, a count, and a
//! total of their compiled sizes; the error names the rule and field where it ran out.

use std::fmt;

use regex::{Regex, RegexBuilder};
use serde::Deserialize;
use thiserror::Error;

use super::Family;
use super::normalize;
use super::version::{FixedIn, VersionField, VersionRange, Versions};

mod explain;
pub use explain::{ConditionOutcome, RuleExplanation, Verdict};

/// The built-in rules, compiled into the binary.
pub const BUILTIN: &str = include_str!("builtin-rules.toml");

/// A mistake in a rules file, naming the file, the rule and the field.
#[derive(Debug, Error)]
#[error("{source_name}: {location}: {message}")]
pub struct RulesError {
    /// The rules file as named to the user (its path), or `built-in rules`.
    pub source_name: String,
    /// `rule 3 (my-rule), field when.frames[0].symbol`, or `line 4` for TOML syntax.
    pub location: String,
    /// What is wrong there (`unknown family "gpu"; use agx, metal or other`).
    pub message: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageKind {
    /// Apple's GPU driver (`AGXMetal*`).
    Agx,
    /// Metal, MPS, MPSGraph, IOGPU.
    Metal,
    /// The driver or Metal.
    Gpu,
    /// Any operating-system library.
    System,
    /// Not an operating-system library: the program and its own libraries.
    Program,
}

impl ImageKind {
    fn parse(s: &str) -> Option<ImageKind> {
        Some(match s {
            "agx" => ImageKind::Agx,
            "metal" => ImageKind::Metal,
            "gpu" => ImageKind::Gpu,
            "system" => ImageKind::System,
            "program" => ImageKind::Program,
            _ => return None,
        })
    }
}

/// What a `callers` condition found.
pub enum Caller<'f> {
    /// The frame that matches.
    Found(&'f FrameView<'f>),
    /// None could be checked: why, for the rule's reasons.
    Unknown(String),
    /// None matches.
    None,
}

/// One frame as the rules see it.
pub struct FrameView<'a> {
    /// Position in the crashed thread.
    pub index: usize,
    pub image: Option<&'a str>,
    pub path: Option<&'a str>,
    /// The symbol as the report spells it.
    pub raw_symbol: Option<&'a str>,
    /// The frame names an image the report lost: a `.ips` cut short before its `usedImages`
    /// listed it. A condition on such a frame's image cannot be checked.
    pub image_cut: bool,
    /// Normalised on first use: rules look at a few frames of threads that have hundreds.
    symbol: std::cell::OnceCell<Option<String>>,
}

impl<'a> FrameView<'a> {
    pub fn new(
        index: usize,
        image: Option<&'a str>,
        path: Option<&'a str>,
        raw_symbol: Option<&'a str>,
    ) -> Self {
        FrameView {
            index,
            image,
            path,
            raw_symbol,
            image_cut: false,
            symbol: std::cell::OnceCell::new(),
        }
    }

    /// The view of a frame whose image the report lost when it was cut ([`FrameView::image_cut`]).
    pub fn with_image_cut(mut self, cut: bool) -> Self {
        self.image_cut = cut;
        self
    }

    /// The normalised symbol.
    pub fn symbol(&self) -> Option<&str> {
        self.symbol
            .get_or_init(|| self.raw_symbol.map(normalize::symbol))
            .as_deref()
    }

    fn kind_is(&self, kind: ImageKind) -> bool {
        let agx = normalize::is_agx_image(self.image, self.path);
        let metal = !agx && normalize::is_metal_image(self.image, self.path);
        match kind {
            ImageKind::Agx => agx,
            ImageKind::Metal => metal,
            ImageKind::Gpu => agx || metal,
            ImageKind::System => normalize::is_system_image(self.image, self.path),
            ImageKind::Program => {
                self.image.is_some() && !normalize::is_system_image(self.image, self.path)
            }
        }
    }

    fn describe(&self) -> String {
        format!(
            "{} in {}",
            self.symbol().unwrap_or("an unnamed function"),
            self.image.unwrap_or("an unknown image")
        )
    }
}

/// What a rule looks at in a report, prepared once per report.
pub struct Facts<'a> {
    pub exception_type: Option<&'a str>,
    pub signal: Option<&'a str>,
    pub address: Option<u64>,
    /// Why the fault address is unknown, when the report cannot have it (a signal handler
    /// re-raised the signal): an address condition is then not checked, rather than failed.
    pub address_unknown: Option<&'a str>,
    pub process: Option<&'a str>,
    /// Assertion, `asi` messages, exception reason and message.
    pub messages: Vec<&'a str>,
    /// The crashed thread's frames without the abort/exception machinery, top first: indexes
    /// into `all`.
    pub meaningful: Vec<usize>,
    /// Every frame of the crashed thread, top first.
    pub all: Vec<FrameView<'a>>,
    /// The driver version, OS build and OS version the report has.
    pub versions: Versions<'a>,
}

impl Facts<'_> {
    /// The `n`th meaningful frame.
    pub fn meaningful_frame(&self, n: usize) -> Option<&FrameView<'_>> {
        self.meaningful.get(n).and_then(|&i| self.all.get(i))
    }
}

#[derive(Debug)]
struct FrameMatcher {
    image: Option<Regex>,
    image_kind: Option<ImageKind>,
    symbol: Option<Regex>,
    function: Option<String>,
    at: Option<usize>,
    within: usize,
}

impl FrameMatcher {
    /// The meaningful frame this frame condition finds (at its place, or the first within its
    /// window), and its number among the meaningful frames.
    fn find_frame<'f>(&self, facts: &'f Facts) -> Option<(usize, &'f FrameView<'f>)> {
        match self.at {
            Some(n) => facts
                .meaningful_frame(n)
                .filter(|f| self.matches(f))
                .map(|f| (n, f)),
            None => (0..self.within.min(facts.meaningful.len()))
                .filter_map(|n| facts.meaningful_frame(n).map(|f| (n, f)))
                .find(|(_, f)| self.matches(f)),
        }
    }

    /// The frame this caller condition finds within its window from thread frame `start` on.
    fn find_caller<'f>(&self, facts: &'f Facts, start: usize) -> Option<&'f FrameView<'f>> {
        facts
            .all
            .iter()
            .skip(start)
            .take(self.within)
            .find(|f| self.matches(f))
    }

    /// The caller this matcher looks for, from thread frame `start` down.
    fn caller<'f>(&self, facts: &'f Facts, start: usize) -> Caller<'f> {
        if let Some(f) = self.find_caller(facts, start) {
            return Caller::Found(f);
        }
        // The frames' images are past the cut of a report cut short: unknown, as a re-raised
        // signal's fault address is, so not checked rather than failed (else the rule after,
        // which says the caller is something else, would claim the crash).
        let images_lost = facts
            .all
            .iter()
            .skip(start)
            .take(self.within)
            .any(|f| f.image_cut);
        if images_lost && (self.image.is_some() || self.image_kind.is_some()) {
            return Caller::Unknown(format!(
                "caller not checked ({}): the report is cut short before the images of the frames below",
                self.describe()
            ));
        }
        Caller::None
    }

    fn matches(&self, f: &FrameView) -> bool {
        if let Some(kind) = self.image_kind
            && !f.kind_is(kind)
        {
            return false;
        }
        if let Some(re) = &self.image
            && !f.image.is_some_and(|i| re.is_match(i))
        {
            return false;
        }
        if let Some(re) = &self.symbol
            && !f.symbol().is_some_and(|s| re.is_match(s))
        {
            return false;
        }
        if let Some(function) = &self.function {
            let Some(symbol) = f.symbol() else {
                return false;
            };
            // A name cut at Apple's 100-character limit matches by prefix, but only when the cut
            // fell in the function's own name or arguments: a cut inside the class's template
            // arguments leaves only the class, which would match every method.
            let cut_in_name = f.raw_symbol.is_some_and(normalize::cut_in_name);
            let matched = symbol == function
                || (cut_in_name && symbol.len() >= 16 && function.starts_with(symbol));
            if !matched {
                return false;
            }
        }
        true
    }
}

#[derive(Debug)]
struct Conditions {
    exception: Vec<String>,
    address: Option<(u64, u64)>,
    process: Option<Regex>,
    message: Option<Regex>,
    frames: Vec<FrameMatcher>,
    callers: Vec<FrameMatcher>,
    /// Version conditions (`driver_version`, `os_build`, `os_version`), in that order.
    versions: Vec<VersionRange>,
}

/// One checked rule: a named crash and the conditions (`[rule.when]`) under which a report is
/// that crash. The conditions are private; [`Rule::check`] applies them.
#[derive(Debug)]
pub struct Rule {
    /// The rule's unique id (`agx-prepare-for-enqueue-race`): what classifications name, what
    /// `--allow` takes, and what a user rule uses to replace a built-in one.
    pub id: String,
    /// One line for people, shown with every crash the rule matches.
    pub title: String,
    /// The family of the crashes it matches (`family = "agx"`).
    pub family: Family,
    /// Whether the crash is one the team already knows (`known = true`; false when not given):
    /// `--fail-on unknown` passes it.
    pub known: bool,
    /// URLs about the crash (`links`): issue threads, Feedback Assistant reports.
    pub links: Vec<String>,
    /// Why the rule exists: the real reports or threads it was written from.
    pub evidence: Option<String>,
    /// `built-in` or the rules file it came from.
    pub source: String,
    /// The versions that fixed the crash (`fixed_in`): a crash the rule matches on a report at or
    /// after one of them is a regression ([`crate::classify::Regression`]).
    pub fixed_in: Option<FixedIn>,
    when: Conditions,
}

/// A rule that matched, and the facts that made it match.
pub struct Match<'r> {
    pub rule: &'r Rule,
    pub why: Vec<String>,
}

impl FrameMatcher {
    /// What the frame must be, in words.
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(kind) = self.image_kind {
            parts.push(
                match kind {
                    ImageKind::Agx => "in the GPU driver (AGX)",
                    ImageKind::Metal => "in Metal, MPS, MPSGraph or IOGPU",
                    ImageKind::Gpu => "in the GPU driver or Metal",
                    ImageKind::System => "in an operating-system library",
                    ImageKind::Program => "in the program or its own libraries",
                }
                .to_owned(),
            );
        }
        if let Some(re) = &self.image {
            parts.push(format!("image matches /{}/", re.as_str()));
        }
        if let Some(re) = &self.symbol {
            parts.push(format!("symbol matches /{}/", re.as_str()));
        }
        if let Some(f) = &self.function {
            parts.push(format!("function {f}"));
        }
        parts.join(", ")
    }
}

impl Rule {
    /// The rule's conditions in words, in the order [`Rule::check`] tries them (`rules --format
    /// json`): what a report must show to be this crash.
    pub fn conditions(&self) -> Vec<String> {
        let c = &self.when;
        let mut out = Vec::new();
        if !c.exception.is_empty() {
            out.push(format!(
                "exception or signal is one of {}",
                c.exception.join(", ")
            ));
        }
        if let Some((min, max)) = c.address {
            out.push(format!("fault address in {min:#x}..={max:#x}"));
        }
        if let Some(re) = &c.process {
            out.push(format!("process name matches /{}/", re.as_str()));
        }
        if let Some(re) = &c.message {
            out.push(format!("a message matches /{}/", re.as_str()));
        }
        for v in &c.versions {
            out.push(format!("{} {}", v.field.words(), v.describe()));
        }
        for m in &c.frames {
            let place = match m.at {
                Some(n) => format!("meaningful frame {n}"),
                None => format!("one of the first {} meaningful frames", m.within),
            };
            out.push(format!("{place}: {}", m.describe()));
        }
        for m in &c.callers {
            out.push(format!(
                "called from (within {} frames below those): {}",
                m.within,
                m.describe()
            ));
        }
        out
    }

    /// Whether the rule matches; `Some(reasons)` when it does.
    pub fn check(&self, facts: &Facts) -> Option<Vec<String>> {
        let c = &self.when;
        let mut why = Vec::new();
        if !c.exception.is_empty() {
            let hit = c.exception.iter().find(|e| {
                Some(e.as_str()) == facts.exception_type || Some(e.as_str()) == facts.signal
            })?;
            why.push(format!("exception {hit}"));
        }
        if let Some((min, max)) = c.address {
            match (facts.address, facts.address_unknown) {
                (Some(address), _) if (min..=max).contains(&address) => {
                    why.push(format!("fault address {address:#x} in {min:#x}..={max:#x}"));
                }
                (None, Some(_)) => why.push(format!(
                    "fault address not checked ({min:#x}..={max:#x}): unknown, the signal was re-raised"
                )),
                _ => return None,
            }
        }
        if let Some(re) = &c.process {
            let name = facts.process.filter(|p| re.is_match(p))?;
            why.push(format!("process {name}"));
        }
        if let Some(re) = &c.message {
            let message = facts.messages.iter().find(|m| re.is_match(m))?;
            why.push(format!("message \"{}\"", clip(message, 120)));
        }
        for v in &c.versions {
            why.push(v.check(&facts.versions).ok()?);
        }
        let mut deepest: Option<usize> = None;
        for m in &c.frames {
            let (n, f) = m.find_frame(facts)?;
            deepest = Some(deepest.map_or(f.index, |d| d.max(f.index)));
            why.push(format!("frame {n} is {}", f.describe()));
        }
        for m in &c.callers {
            let start = deepest.map_or(0, |d| d + 1);
            match m.caller(facts, start) {
                Caller::Found(f) => why.push(format!(
                    "called from {} (thread frame {})",
                    f.describe(),
                    f.index
                )),
                Caller::Unknown(seen) => why.push(seen),
                Caller::None => return None,
            }
        }
        Some(why)
    }
}

fn clip(s: &str, n: usize) -> String {
    if s.chars().count() > n {
        format!("{}...", s.chars().take(n).collect::<String>())
    } else {
        s.to_owned()
    }
}

/// An ordered set of rules: user rules first, then the built-in ones they did not replace.
#[derive(Debug)]
pub struct RuleSet {
    rules: Vec<Rule>,
}

impl RuleSet {
    /// The built-in rules.
    pub fn builtin() -> Result<RuleSet, RulesError> {
        Ok(RuleSet {
            rules: parse(BUILTIN, "built-in rules")?,
        })
    }

    /// The built-in rules with a user's rules in front; a user rule replaces the built-in rule
    /// with the same id.
    pub fn with_user(mut self, text: &str, source_name: &str) -> Result<RuleSet, RulesError> {
        let user = parse(text, source_name)?;
        self.rules.retain(|b| !user.iter().any(|u| u.id == b.id));
        let mut rules = user;
        rules.append(&mut self.rules);
        Ok(RuleSet { rules })
    }

    /// The rules in the order they are tried.
    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// The first rule that matches.
    pub fn first_match(&self, facts: &Facts) -> Option<Match<'_>> {
        self.rules
            .iter()
            .find_map(|rule| rule.check(facts).map(|why| Match { rule, why }))
    }
}

/// What the regexes of one rules file may cost together. Without it, thousands of regexes of up
/// to the regex crate's default 10 MiB each took gigabytes to compile and hold.
///
/// The regex crate does not say how big a compiled regex is, only whether it fits a limit; so
/// each regex is compiled under the smallest of [`Self::TIERS`] it fits and charged that tier (at
/// most four times its real size). Its lazy DFA's cache, grown while matching, is capped too.
struct RegexBudget {
    count: std::cell::Cell<usize>,
    charged: std::cell::Cell<usize>,
    /// [`Self::MAX_TOTAL`], smaller in tests.
    max_total: usize,
}

impl RegexBudget {
    /// The size limits a regex is tried under, smallest first; the last is the limit for one
    /// regex. A plain pattern (`^AGXMetal`, `prepareForEnqueue`) fits the first.
    const TIERS: [usize; 5] = [4 << 10, 16 << 10, 64 << 10, 256 << 10, Self::MAX_ONE];
    /// The limit for one regex (the regex crate's default is 10 MiB).
    const MAX_ONE: usize = 1 << 20;
    /// The lazy DFA cache of each regex (the regex crate's default is 2 MiB).
    const DFA_SIZE_LIMIT: usize = 256 << 10;
    /// How many regexes one file may have: the built-in rules have a dozen.
    const MAX_COUNT: usize = 1000;
    /// The total of the tiers charged for one file's regexes: real use is at most this.
    const MAX_TOTAL: usize = 32 << 20;

    fn new() -> RegexBudget {
        RegexBudget::with_total(Self::MAX_TOTAL)
    }

    fn with_total(max_total: usize) -> RegexBudget {
        RegexBudget {
            count: std::cell::Cell::new(0),
            charged: std::cell::Cell::new(0),
            max_total,
        }
    }

    /// Compiles `pattern` within what is left; the error says what is wrong and what to do.
    fn compile(&self, pattern: &str) -> Result<Regex, String> {
        let shown = clip(pattern, 80);
        if self.count.get() >= Self::MAX_COUNT {
            return Err(format!(
                "this file has more than {} regexes, the limit for one rules file; merge \
                 alternatives into one regex, or match exact names with `function`",
                Self::MAX_COUNT
            ));
        }
        self.count.set(self.count.get() + 1);
        let left = self.max_total.saturating_sub(self.charged.get());
        for tier in Self::TIERS {
            if tier > left {
                return Err(format!(
                    "the regexes of this file up to {shown:?} compile to more than {} MiB, the \
                     limit for one rules file; use fewer or simpler regexes, or `function` for \
                     exact names",
                    self.max_total >> 20
                ));
            }
            match RegexBuilder::new(pattern)
                .size_limit(tier)
                .dfa_size_limit(Self::DFA_SIZE_LIMIT)
                .build()
            {
                Ok(re) => {
                    self.charged.set(self.charged.get() + tier);
                    return Ok(re);
                }
                Err(regex::Error::CompiledTooBig(_)) => continue,
                Err(e) => return Err(format!("invalid regex {shown:?}: {e}")),
            }
        }
        Err(format!(
            "the regex {shown:?} compiles to more than {} KiB, the limit for one regex; simplify \
             it: a large counted repetition ({{1000}}) or a Unicode class (\\w, \\d) repeated \
             multiplies its size, and (?-u) makes classes ASCII-only",
            Self::MAX_ONE >> 10
        ))
    }
}

/// Checks a rules file and returns its rules.
pub fn parse(text: &str, source_name: &str) -> Result<Vec<Rule>, RulesError> {
    parse_within(text, source_name, &RegexBudget::new())
}

/// [`parse`] with the regexes compiled within `budget`.
fn parse_within(
    text: &str,
    source_name: &str,
    budget: &RegexBudget,
) -> Result<Vec<Rule>, RulesError> {
    let err = |location: String, message: String| RulesError {
        source_name: source_name.to_owned(),
        location,
        message,
    };
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct File {
        #[serde(default)]
        rule: Vec<toml::Table>,
    }
    let file: File = toml::from_str(text).map_err(|e| {
        let location = e
            .span()
            .map(|s| {
                format!(
                    "line {}",
                    text.get(..s.start).unwrap_or("").matches('\n').count() + 1
                )
            })
            .unwrap_or_else(|| "file".into());
        err(location, e.message().to_owned())
    })?;
    let mut rules: Vec<Rule> = Vec::with_capacity(file.rule.len());
    for (i, table) in file.rule.into_iter().enumerate() {
        let id_hint = table.get("id").and_then(|v| v.as_str()).map(str::to_owned);
        let at = |field: &str| match &id_hint {
            Some(id) => format!("rule {} ({id}), field {field}", i + 1),
            None => format!("rule {}, field {field}", i + 1),
        };
        let raw: RawRule = RawRule::deserialize(toml::Value::Table(table))
            .map_err(|e| err(at(&field_of(e.message())), e.message().to_owned()))?;
        if raw.id.trim().is_empty() {
            return Err(err(at("id"), "the id is empty".into()));
        }
        if rules.iter().any(|r| r.id == raw.id) {
            return Err(err(
                at("id"),
                format!("the id {} is used by an earlier rule", raw.id),
            ));
        }
        let family = match raw.family.as_str() {
            "agx" => Family::Agx,
            "metal" => Family::Metal,
            "other" => Family::Other,
            other => {
                return Err(err(
                    at("family"),
                    format!("unknown family {other:?}; use agx, metal or other"),
                ));
            }
        };
        let regex = |field: &str, pattern: &Option<String>| -> Result<Option<Regex>, RulesError> {
            pattern
                .as_deref()
                .map(|p| budget.compile(p).map_err(|message| err(at(field), message)))
                .transpose()
        };
        let frame = |field: String,
                     f: &RawFrame,
                     default_within: usize|
         -> Result<FrameMatcher, RulesError> {
            let image_kind = match f.image_kind.as_deref() {
                None => None,
                Some(k) => Some(ImageKind::parse(k).ok_or_else(|| {
                    err(
                        at(&format!("{field}.image_kind")),
                        format!("unknown image kind {k:?}; use agx, metal, gpu, system or program"),
                    )
                })?),
            };
            if f.image.is_none()
                && image_kind.is_none()
                && f.symbol.is_none()
                && f.function.is_none()
            {
                return Err(err(
                    at(&field),
                    "a frame condition needs image, image_kind, symbol or function".into(),
                ));
            }
            if f.at.is_some() && f.within.is_some() {
                return Err(err(at(&field), "give `at` or `within`, not both".into()));
            }
            if f.within == Some(0) {
                return Err(err(
                    at(&format!("{field}.within")),
                    "within must be at least 1".into(),
                ));
            }
            Ok(FrameMatcher {
                image: regex(&format!("{field}.image"), &f.image)?,
                image_kind,
                symbol: regex(&format!("{field}.symbol"), &f.symbol)?,
                function: f.function.as_deref().map(normalize::symbol),
                at: f.at,
                within: f.within.unwrap_or(default_within),
            })
        };
        let w = &raw.when;
        let address = match &w.address {
            None => None,
            Some(a) => {
                let (min, max) = match (a.equals, a.min, a.max) {
                    (Some(e), None, None) => (e, e),
                    (None, min, max) if min.is_some() || max.is_some() => {
                        (min.unwrap_or(0), max.unwrap_or(u64::MAX))
                    }
                    _ => {
                        return Err(err(
                            at("when.address"),
                            "give `equals`, or `min` and/or `max`".into(),
                        ));
                    }
                };
                if min > max {
                    return Err(err(
                        at("when.address"),
                        format!("min {min:#x} is above max {max:#x}"),
                    ));
                }
                Some((min, max))
            }
        };
        // A version is a string; `329.2` unquoted is a TOML float, and serde's message for it
        // would not name the field.
        let text = |name: String, value: &Option<toml::Value>| match value {
            None => Ok(None),
            Some(toml::Value::String(s)) => Ok(Some(s.clone())),
            Some(other) => Err(err(
                at(&name),
                format!(
                    "write the version as a string, in quotes (\"{other}\"): unquoted, it is a \
                     TOML {}",
                    other.type_str()
                ),
            )),
        };
        let mut versions = Vec::new();
        for field in VersionField::ALL {
            let Some(r) = w.version(field) else {
                continue;
            };
            let name = format!("when.{}", field.key());
            let part =
                |key: &str, value: &Option<toml::Value>| text(format!("{name}.{key}"), value);
            let (equals, min, max, below) = (
                part("equals", &r.equals)?,
                part("min", &r.min)?,
                part("max", &r.max)?,
                part("below", &r.below)?,
            );
            let range = VersionRange::new(
                field,
                equals.as_deref(),
                min.as_deref(),
                max.as_deref(),
                below.as_deref(),
            )
            .map_err(|(key, message)| {
                let name = if key.is_empty() {
                    name.clone()
                } else {
                    format!("{name}.{key}")
                };
                err(at(&name), message)
            })?;
            versions.push(range);
        }
        let fixed_in = match &raw.fixed_in {
            None => None,
            Some(f) => {
                let parse = |field: VersionField, value: &Option<toml::Value>| {
                    let name = format!("fixed_in.{}", field.key());
                    text(name.clone(), value)?
                        .map(|t| field.parse(&t).map_err(|e| err(at(&name), e)))
                        .transpose()
                };
                let fixed = FixedIn {
                    driver_version: parse(VersionField::DriverVersion, &f.driver_version)?,
                    os_build: parse(VersionField::OsBuild, &f.os_build)?,
                    os_version: parse(VersionField::OsVersion, &f.os_version)?,
                };
                if fixed == FixedIn::default() {
                    return Err(err(
                        at("fixed_in"),
                        "give the version that fixed the crash: driver_version, os_build and/or \
                         os_version (like fixed_in = { driver_version = \"342.1\" })"
                            .into(),
                    ));
                }
                Some(fixed)
            }
        };
        let when = Conditions {
            exception: w.exception.clone(),
            address,
            process: regex("when.process", &w.process)?,
            message: regex("when.message", &w.message)?,
            frames: w
                .frames
                .iter()
                .enumerate()
                .map(|(j, f)| frame(format!("when.frames[{j}]"), f, 1))
                .collect::<Result<_, _>>()?,
            callers: w
                .callers
                .iter()
                .enumerate()
                .map(|(j, f)| frame(format!("when.callers[{j}]"), f, 64))
                .collect::<Result<_, _>>()?,
            versions,
        };
        rules.push(Rule {
            id: raw.id,
            title: raw.title,
            family,
            known: raw.known,
            links: raw.links,
            evidence: raw.evidence,
            source: source_name.to_owned(),
            fixed_in,
            when,
        });
    }
    Ok(rules)
}

/// serde names the offending field in its message (`unknown field `symbl``, `missing field
/// `id``); pull it out for the location.
fn field_of(message: &str) -> String {
    message
        .split('`')
        .nth(1)
        .filter(|f| !f.is_empty())
        .map_or_else(|| "?".to_owned(), str::to_owned)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRule {
    id: String,
    title: String,
    family: String,
    #[serde(default)]
    known: bool,
    #[serde(default)]
    links: Vec<String>,
    evidence: Option<String>,
    #[serde(default)]
    when: RawWhen,
    fixed_in: Option<RawFixedIn>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFixedIn {
    driver_version: Option<toml::Value>,
    os_build: Option<toml::Value>,
    os_version: Option<toml::Value>,
}

/// A version condition: `{ equals = .. }`, or `min` (at least) with `max` (at most) or `below`
/// (less than). Versions are strings: `329.2` would be a TOML float, and `24G84` is no number.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawVersionRange {
    equals: Option<toml::Value>,
    min: Option<toml::Value>,
    max: Option<toml::Value>,
    below: Option<toml::Value>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawWhen {
    #[serde(default)]
    exception: Vec<String>,
    address: Option<RawAddress>,
    process: Option<String>,
    message: Option<String>,
    #[serde(default)]
    frames: Vec<RawFrame>,
    #[serde(default)]
    callers: Vec<RawFrame>,
    driver_version: Option<RawVersionRange>,
    os_build: Option<RawVersionRange>,
    os_version: Option<RawVersionRange>,
}

impl RawWhen {
    fn version(&self, field: VersionField) -> Option<&RawVersionRange> {
        match field {
            VersionField::DriverVersion => self.driver_version.as_ref(),
            VersionField::OsBuild => self.os_build.as_ref(),
            VersionField::OsVersion => self.os_version.as_ref(),
        }
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAddress {
    equals: Option<u64>,
    min: Option<u64>,
    max: Option<u64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFrame {
    image: Option<String>,
    image_kind: Option<String>,
    symbol: Option<String>,
    function: Option<String>,
    at: Option<usize>,
    within: Option<usize>,
}

impl fmt::Display for Family {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn error(text: &str) -> String {
        parse(text, "my-rules.toml").unwrap_err().to_string()
    }

    #[test]
    fn the_built_in_rules_parse_and_end_with_a_catch_all() {
        let set = RuleSet::builtin().unwrap();
        let last = set.rules().last().unwrap();
        assert_eq!(last.id, "other");
        assert!(set.rules().iter().filter(|r| r.known).count() >= 1);
        assert!(
            set.rules().iter().all(|r| r.evidence.is_some()),
            "every built-in rule cites its evidence"
        );
    }

    /// `n` rules, each with a frame condition whose symbol is `pattern(i)`.
    fn rules_with(n: usize, pattern: impl Fn(usize) -> String) -> String {
        (0..n)
            .map(|i| {
                format!(
                    "[[rule]]\nid = \"r{i}\"\ntitle = \"t\"\nfamily = \"agx\"\n[rule.when]\nframes = [{{ symbol = '{}' }}]\n",
                    pattern(i)
                )
            })
            .collect()
    }

    #[test]
    fn tiers_charge_a_plain_regex_little_and_a_big_one_much() {
        let budget = RegexBudget::new();
        budget.compile("^AGXMetal.*prepareForEnqueue").unwrap();
        assert_eq!(budget.charged.get(), RegexBudget::TIERS[0]);
        let budget = RegexBudget::new();
        budget.compile(r"\w{12}").unwrap();
        assert_eq!(budget.charged.get(), RegexBudget::MAX_ONE);
    }

    /// C8: one regex may not compile to more than the limit for one.
    #[test]
    fn a_regex_too_big_is_refused_naming_the_rule() {
        let e = error(&rules_with(1, |_| r"\w{1000}".into()));
        assert!(
            e.starts_with("my-rules.toml: rule 1 (r0), field when.frames[0].symbol: the regex \"\\\\w{1000}\" compiles to more than 1024 KiB"),
            "{e}"
        );
    }

    /// C8: the regexes of one file share a budget; the message names where it ran out. Before
    /// it, each regex could take 10 MiB and a file could have any number of them. (A budget of
    /// 4 MiB here, to keep the test fast; tests/bounds.rs runs the real one.)
    #[test]
    fn a_file_whose_regexes_are_too_big_together_is_refused() {
        let budget = RegexBudget::with_total(4 << 20);
        let text = rules_with(10, |i| format!(r"\w{{12}}{i}"));
        let e = parse_within(&text, "my-rules.toml", &budget)
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("my-rules.toml: rule 5 (r4), field when.frames[0].symbol: the regexes of this file up to"),
            "{e}"
        );
        assert!(e.contains("more than 4 MiB"), "{e}");
        let e = error(&rules_with(RegexBudget::MAX_COUNT + 1, |i| {
            format!("^f{i}$")
        }));
        assert!(
            e.contains(
                "(r1000), field when.frames[0].symbol: this file has more than 1000 regexes"
            ),
            "{e}"
        );
    }

    #[test]
    fn errors_name_the_file_the_rule_and_the_field() {
        let e = error(
            "[[rule]]\nid = \"mine\"\ntitle = \"t\"\nfamily = \"agx\"\n[rule.when]\nframes = [{ symbol = \"(unclosed\" }]\n",
        );
        assert!(
            e.starts_with(
                "my-rules.toml: rule 1 (mine), field when.frames[0].symbol: invalid regex"
            ),
            "{e}"
        );

        let e = error(
            "[[rule]]\nid = \"mine\"\ntitle = \"t\"\nfamily = \"agx\"\n[rule.when]\nsymbl = \"x\"\n",
        );
        assert!(e.contains("rule 1 (mine), field symbl"), "{e}");
        assert!(e.contains("unknown field `symbl`"), "{e}");

        let e = error("[[rule]]\nid = \"mine\"\ntitle = \"t\"\nfamily = \"gpu\"\n");
        assert!(e.contains("field family: unknown family \"gpu\""), "{e}");

        let e = error("[[rule]]\ntitle = \"t\"\nfamily = \"agx\"\n");
        assert!(e.contains("rule 1, field id: missing field `id`"), "{e}");

        let e = error(
            "[[rule]]\nid = \"a\"\ntitle = \"t\"\nfamily = \"agx\"\n[[rule]]\nid = \"a\"\ntitle = \"t\"\nfamily = \"agx\"\n",
        );
        assert!(
            e.contains("rule 2 (a), field id: the id a is used by an earlier rule"),
            "{e}"
        );

        let e = error("[[rule]\n");
        assert!(e.starts_with("my-rules.toml: line 1:"), "{e}");

        let e = error(
            "[[rule]]\nid = \"a\"\ntitle = \"t\"\nfamily = \"agx\"\n[rule.when]\naddress = { min = 16, max = 8 }\n",
        );
        assert!(
            e.contains("field when.address: min 0x10 is above max 0x8"),
            "{e}"
        );
    }

    /// A rule with `when` and `fixed_in` given as TOML lines.
    fn versioned(lines: &str) -> String {
        format!("[[rule]]\nid = \"v\"\ntitle = \"t\"\nfamily = \"agx\"\n{lines}\n")
    }

    #[test]
    fn version_errors_name_the_rule_and_the_field() {
        let cases = [
            (
                "[rule.when]\ndriver_version = { min = \"329,2\" }",
                "field when.driver_version.min: \"329,2\" is not a valid driver version: a driver version is dotted numbers",
            ),
            (
                "[rule.when]\nos_build = { below = \"24g84\" }",
                "field when.os_build.below: \"24g84\" is not a valid OS build",
            ),
            (
                "[rule.when]\nos_version = { min = \"26\", below = \"26.0\" }",
                "field when.os_version: no OS version is in this range: 26 is not below 26.0",
            ),
            (
                "[rule.when]\ndriver_version = { max = \"1\", below = \"2\" }",
                "field when.driver_version: give `max` (at most) or `below` (less than), not both",
            ),
            (
                "[rule.when]\ndriver_version = {}",
                "field when.driver_version: give `equals`, or `min` and/or `max` or `below`",
            ),
            (
                "[rule.when]\ndriver_version = { at_least = \"1\" }",
                "field at_least: unknown field `at_least`",
            ),
            // 329.2 unquoted is a TOML float: the error says to quote it, naming the field.
            (
                "[rule.when]\ndriver_version = { min = 329.2 }",
                "field when.driver_version.min: write the version as a string, in quotes (\"329.2\"): unquoted, it is a TOML float",
            ),
            (
                "fixed_in = { os_version = 26 }",
                "field fixed_in.os_version: write the version as a string, in quotes (\"26\"): unquoted, it is a TOML integer",
            ),
            (
                "fixed_in = { driver_version = \"x\" }",
                "field fixed_in.driver_version: \"x\" is not a valid driver version",
            ),
            (
                "fixed_in = {}",
                "field fixed_in: give the version that fixed the crash",
            ),
            (
                "fixed_in = { driver = \"342\" }",
                "field driver: unknown field `driver`",
            ),
        ];
        for (lines, expected) in cases {
            let e = error(&versioned(lines));
            assert!(e.starts_with("my-rules.toml: rule 1 (v), "), "{e}");
            assert!(e.contains(expected), "{lines}: {e}");
        }
    }

    fn facts_with(versions: Versions<'_>) -> Facts<'_> {
        Facts {
            exception_type: Some("EXC_BAD_ACCESS"),
            signal: Some("SIGSEGV"),
            address: Some(0x98),
            address_unknown: None,
            process: Some("Python"),
            messages: vec![],
            meaningful: vec![],
            all: vec![],
            versions,
        }
    }

    #[test]
    fn version_conditions_match_only_reports_with_the_version_in_range() {
        let rules = parse(
            &versioned(
                "fixed_in = { driver_version = \"342.1\" }\n[rule.when]\nexception = [\"EXC_BAD_ACCESS\"]\ndriver_version = { min = \"329.2\", below = \"400\" }\nos_build = { min = \"24G84\" }",
            ),
            "t.toml",
        )
        .unwrap();
        let rule = &rules[0];
        assert_eq!(
            rule.conditions(),
            [
                "exception or signal is one of EXC_BAD_ACCESS",
                "driver version >= 329.2, < 400",
                "OS build >= 24G84",
            ]
        );
        let on = |driver, build| Versions {
            driver_version: driver,
            os_build: build,
            os_version: None,
        };
        let why = rule
            .check(&facts_with(on(Some("329.2"), Some("24G419"))))
            .unwrap();
        assert_eq!(
            why,
            [
                "exception EXC_BAD_ACCESS",
                "driver version 329.2 (>= 329.2, < 400)",
                "OS build 24G419 (>= 24G84)",
            ]
        );
        assert!(
            rule.check(&facts_with(on(Some("329.1"), Some("24G419"))))
                .is_none()
        );
        assert!(
            rule.check(&facts_with(on(Some("400"), Some("24G419"))))
                .is_none()
        );
        assert!(
            rule.check(&facts_with(on(Some("329.2"), Some("24F74"))))
                .is_none()
        );
        // A report without the version does not match, and explain says why.
        let facts = facts_with(on(None, Some("24G419")));
        assert!(rule.check(&facts).is_none());
        let explained = rule.explain(&facts);
        assert_eq!(
            explained[1].seen,
            "the report has no driver version, and a version condition needs one"
        );
        assert!(!explained[1].held && explained[2].held);
        let fixed = rule.fixed_in.as_ref().unwrap();
        assert_eq!(fixed.describe(), "driver version 342.1");
        assert!(fixed.regression(&on(Some("342.3.1"), None)).is_some());
        assert!(fixed.regression(&on(Some("342.0.9"), None)).is_none());
    }

    /// `explain` and `check` agree on version conditions, for reports with and without the
    /// version and with one that cannot be compared.
    #[test]
    fn explain_agrees_with_check_on_versions() {
        for when in [
            "driver_version = { min = \"3\", below = \"7\" }",
            "driver_version = { equals = \"5.0\" }",
            "driver_version = { max = \"5\" }\nos_version = { min = \"15.7\" }",
            "os_build = { min = \"24G84\", below = \"25A1\" }",
        ] {
            let rules = parse(&versioned(&format!("[rule.when]\n{when}")), "t.toml").unwrap();
            let rule = &rules[0];
            let drivers = ["1", "3", "5", "6.9.9", "7", "1.0b3"];
            let builds = ["24G419", "24F1", "25A1", "25A5316i"];
            for driver in drivers.iter().map(|d| Some(*d)).chain([None]) {
                for build in builds.iter().map(|b| Some(*b)).chain([None]) {
                    for os in [Some("15.7.3"), Some("15.6"), None] {
                        let facts = facts_with(Versions {
                            driver_version: driver,
                            os_build: build,
                            os_version: os,
                        });
                        let held = rule.explain(&facts).iter().all(|c| c.held);
                        assert_eq!(
                            rule.check(&facts).is_some(),
                            held,
                            "{when}: {driver:?} {build:?} {os:?}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn user_rules_come_first_and_replace_built_ins_by_id() {
        let user = "[[rule]]\nid = \"other\"\ntitle = \"Ours\"\nfamily = \"other\"\n\n[[rule]]\nid = \"team-known\"\ntitle = \"Team\"\nfamily = \"metal\"\nknown = true\n[rule.when]\nprocess = \"^MyApp$\"\n";
        let set = RuleSet::builtin()
            .unwrap()
            .with_user(user, "team.toml")
            .unwrap();
        let ids: Vec<&str> = set.rules().iter().map(|r| r.id.as_str()).collect();
        assert_eq!(&ids[..2], &["other", "team-known"]);
        assert_eq!(ids.iter().filter(|i| **i == "other").count(), 1);
        assert_eq!(set.rules()[0].title, "Ours");
        assert_eq!(set.rules()[0].source, "team.toml");
    }
}
