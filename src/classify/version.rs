//! Versions in rules: the OS build (`24G84`), the OS version (`15.6.1`) and the GPU driver's
//! version (`329.2`), how they are ordered, and what a rule's `fixed_in` makes of them.
//!
//! A rule can hold only for some versions (`driver_version = { min = "329.2", below = "342" }`
//! in `[rule.when]`), and can say which version fixed its crash (`fixed_in = { driver_version =
//! "342.1" }`): a crash it matches on a report at or after that version is a **regression**.
//!
//! # Ordering
//!
//! The OS version and the driver version are dotted numbers (the driver's is its bundle's
//! `CFBundleShortVersionString`: `329.2`, `342.3.1`), compared number by number, a missing
//! number counting as 0: `329.2 = 329.2.0 < 329.10 < 342`.
//!
//! An OS build is Apple's build number: the major number (the build train, 24 for macOS 15),
//! an upper-case letter (the minor train, one step for each update: `24G` is 15.6 and 15.7's
//! predecessor trains), the sequential build number within that train, and an optional
//! lower-case letter for a build mastered again (betas and seeds: `25A5316i`). They are compared
//! in that order: major number, letter, build number, then the trailing letter (none first).
//! Sources: Paul Suh's description quoted in <https://apple.stackexchange.com/q/275756> (major,
//! minor letter, sequential build number; a four-digit number's first digit marks a platform or
//! variant build), David Shayer's "How to Decode Apple Version and Build Numbers" (TidBITS, 2020,
//! summarised at <https://mjtsai.com/blog/2020/07/09/how-to-decode-apple-version-and-build-numbers/>:
//! build train, minor version, daily build number, and an optional mastering counter for
//! internal builds and betas), and warden-supreme's `BuildNumber`, which compares them the same
//! way (train, letter, then the build number as a number).
//!
//! One consequence to know: the first digit of a four-digit build number marks a variant (a
//! beta seed's `5316`, a hardware fork's `2411`), so within one train letter a beta such as
//! `25A5316i` sorts **after** the release `25A354`. Apple's numbers do not say which came first
//! there; a rule that must tell betas from releases names the OS version or the driver version.

use std::cmp::Ordering;
use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

/// Which version a condition or a fix is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum VersionField {
    /// The GPU driver's bundle version (`329.2`): [`super::Driver::version`].
    DriverVersion,
    /// The OS build (`24G84`): the report's `osVersion.build`.
    OsBuild,
    /// The OS version (`15.6.1`): the number in the report's `osVersion.train` (`macOS 15.6.1`).
    OsVersion,
}

impl VersionField {
    /// Every field, in the order conditions and fixes are checked and listed.
    pub const ALL: [VersionField; 3] = [
        VersionField::DriverVersion,
        VersionField::OsBuild,
        VersionField::OsVersion,
    ];

    /// The key as rules files and the JSON output spell it (`driver_version`).
    pub fn key(self) -> &'static str {
        match self {
            VersionField::DriverVersion => "driver_version",
            VersionField::OsBuild => "os_build",
            VersionField::OsVersion => "os_version",
        }
    }

    /// For people: `driver version`, `OS build`, `OS version`.
    pub fn words(self) -> &'static str {
        match self {
            VersionField::DriverVersion => "driver version",
            VersionField::OsBuild => "OS build",
            VersionField::OsVersion => "OS version",
        }
    }

    /// What a valid value looks like, for error messages.
    fn expected(self) -> &'static str {
        match self {
            VersionField::DriverVersion => {
                "a driver version is dotted numbers, like 329.2 or 342.3.1"
            }
            VersionField::OsBuild => {
                "an OS build is Apple's build number: a major number, an upper-case train letter, \
                 a build number and an optional lower-case letter, like 24G84 or 25A5316i"
            }
            VersionField::OsVersion => "an OS version is dotted numbers, like 15.6.1 or 26.1",
        }
    }

    /// Parses `text` as a value of this field.
    pub fn parse(self, text: &str) -> Result<Version, String> {
        let key = match self {
            VersionField::DriverVersion | VersionField::OsVersion => dotted(text),
            VersionField::OsBuild => build(text),
        };
        key.map(|key| Version {
            text: text.trim().to_owned(),
            key,
        })
        .ok_or_else(|| {
            format!(
                "{text:?} is not a valid {}: {}",
                self.words(),
                self.expected()
            )
        })
    }
}

impl fmt::Display for VersionField {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(self.words())
    }
}

/// A version as written, with the key it is ordered by. Equal versions may be written
/// differently (`329.2` and `329.2.0`); the text is kept for saying what was seen.
#[derive(Debug, Clone)]
pub struct Version {
    text: String,
    /// Dotted numbers without trailing zeros; or `[major, letter, number, trailing letter]` of a
    /// build (the letters as 1..=26, no trailing letter as 0).
    key: Vec<u64>,
}

impl Version {
    /// The version as written (`329.2`).
    pub fn as_str(&self) -> &str {
        &self.text
    }
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.key == other.key
    }
}
impl Eq for Version {}
impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.key.cmp(&other.key)
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl Serialize for Version {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.text)
    }
}

/// `329.2` -> `[329, 2]`; `329.2.0` too. Numbers only: a version with a suffix (`1.0 - 1`,
/// `3.14.0b1`) has no place in the order.
fn dotted(text: &str) -> Option<Vec<u64>> {
    let mut key = text
        .trim()
        .split('.')
        .map(|part| {
            if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            part.parse::<u64>().ok()
        })
        .collect::<Option<Vec<u64>>>()?;
    while key.last() == Some(&0) {
        key.pop();
    }
    Some(key)
}

/// `24G84` -> `[24, 7, 84, 0]`; `25A5316i` -> `[25, 1, 5316, 9]`.
fn build(text: &str) -> Option<Vec<u64>> {
    let text = text.trim();
    let digits = |s: &str| s.bytes().take_while(u8::is_ascii_digit).count();
    let major_len = digits(text);
    let (major, rest) = text.split_at_checked(major_len)?;
    let mut rest = rest.chars();
    let train = rest.next().filter(char::is_ascii_uppercase)?;
    let rest = rest.as_str();
    let number_len = digits(rest);
    let (number, suffix) = rest.split_at_checked(number_len)?;
    let suffix = match suffix.as_bytes() {
        [] => 0,
        [c] if c.is_ascii_lowercase() => u64::from(c - b'a' + 1),
        _ => return None,
    };
    if major.is_empty() || number.is_empty() {
        return None;
    }
    Some(vec![
        major.parse().ok()?,
        u64::from(train as u8 - b'A' + 1),
        number.parse().ok()?,
        suffix,
    ])
}

/// The OS version in a report's train (`macOS 15.6.1` -> `15.6.1`): its last word, when it is a
/// number. `None` for a train without one (`macOS`).
pub fn os_version_of_train(train: &str) -> Option<&str> {
    train
        .split_whitespace()
        .last()
        .filter(|w| w.bytes().next().is_some_and(|b| b.is_ascii_digit()))
}

/// The short version of a bundle version as a text report's `Binary Images` line gives it:
/// `1.0 - 1` is the short version `1.0` and the build `1`, and the short version is what `.ips`
/// reports give (`CFBundleShortVersionString`).
pub fn short_version(bundle_version: &str) -> &str {
    bundle_version
        .split(" - ")
        .next()
        .unwrap_or(bundle_version)
        .trim()
}

/// The versions a report has, as written; what version conditions and fixes read.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Versions<'a> {
    /// The GPU driver's version (`329.2`).
    pub driver_version: Option<&'a str>,
    /// The OS build (`24G84`).
    pub os_build: Option<&'a str>,
    /// The OS version (`15.6.1`).
    pub os_version: Option<&'a str>,
}

impl<'a> Versions<'a> {
    /// The report's value for `field`, as written.
    pub fn get(&self, field: VersionField) -> Option<&'a str> {
        match field {
            VersionField::DriverVersion => self.driver_version,
            VersionField::OsBuild => self.os_build,
            VersionField::OsVersion => self.os_version,
        }
    }
}

/// One end of a range: the version, and whether the range includes it.
type Bound = Option<(Version, bool)>;

/// A version condition of a rule: the range the report's version must be in. Written
/// `{ equals = "329.2" }`, or with `min` (at least), `max` (at most) and `below` (less than).
#[derive(Debug, Clone)]
pub struct VersionRange {
    /// The version it is about.
    pub field: VersionField,
    lower: Bound,
    upper: Bound,
}

impl VersionRange {
    /// A range from its parts as a rules file gives them; the error says what is wrong.
    pub fn new(
        field: VersionField,
        equals: Option<&str>,
        min: Option<&str>,
        max: Option<&str>,
        below: Option<&str>,
    ) -> Result<VersionRange, (String, String)> {
        let parse = |key: &str, text: Option<&str>| {
            text.map(|t| field.parse(t).map_err(|e| (key.to_owned(), e)))
                .transpose()
        };
        let (lower, upper) = match (equals, min, max, below) {
            (Some(e), None, None, None) => {
                let v = parse("equals", Some(e))?;
                (v.clone().map(|v| (v, true)), v.map(|v| (v, true)))
            }
            (None, min, max, below) if min.is_some() || max.is_some() || below.is_some() => {
                if max.is_some() && below.is_some() {
                    return Err((
                        String::new(),
                        "give `max` (at most) or `below` (less than), not both".into(),
                    ));
                }
                let lower = parse("min", min)?.map(|v| (v, true));
                let upper = match parse("max", max)? {
                    Some(v) => Some((v, true)),
                    None => parse("below", below)?.map(|v| (v, false)),
                };
                (lower, upper)
            }
            _ => {
                return Err((
                    String::new(),
                    "give `equals`, or `min` and/or `max` or `below` (like { min = \"329.2\", \
                     below = \"342\" })"
                        .into(),
                ));
            }
        };
        if let (Some((lo, _)), Some((hi, inclusive))) = (&lower, &upper)
            && (lo > hi || (lo == hi && !inclusive))
        {
            return Err((
                String::new(),
                format!(
                    "no {} is in this range: {lo} is not below {hi}",
                    field.words()
                ),
            ));
        }
        Ok(VersionRange {
            field,
            lower,
            upper,
        })
    }

    /// Whether `v` is in the range.
    pub fn contains(&self, v: &Version) -> bool {
        let above_lower = match &self.lower {
            None => true,
            Some((lo, true)) => v >= lo,
            Some((lo, false)) => v > lo,
        };
        let below_upper = match &self.upper {
            None => true,
            Some((hi, true)) => v <= hi,
            Some((hi, false)) => v < hi,
        };
        above_lower && below_upper
    }

    /// Whether every version in `narrow` is in `self` (for `rules check`'s shadowing).
    pub fn includes(&self, narrow: &VersionRange) -> bool {
        let lower = match (&self.lower, &narrow.lower) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some((w, w_in)), Some((n, n_in))) => n > w || (n == w && (*w_in || !n_in)),
        };
        let upper = match (&self.upper, &narrow.upper) {
            (None, _) => true,
            (Some(_), None) => false,
            (Some((w, w_in)), Some((n, n_in))) => n < w || (n == w && (*w_in || !n_in)),
        };
        self.field == narrow.field && lower && upper
    }

    /// The range in words: `>= 329.2, < 342`, or `= 329.2`.
    pub fn describe(&self) -> String {
        match (&self.lower, &self.upper) {
            (Some((lo, true)), Some((hi, true))) if lo == hi => format!("= {lo}"),
            (lower, upper) => {
                let mut parts = Vec::new();
                if let Some((lo, inclusive)) = lower {
                    parts.push(format!("{} {lo}", if *inclusive { ">=" } else { ">" }));
                }
                if let Some((hi, inclusive)) = upper {
                    parts.push(format!("{} {hi}", if *inclusive { "<=" } else { "<" }));
                }
                parts.join(", ")
            }
        }
    }

    /// Whether the report's version is in the range, and what it showed: `Ok(reason)` when it
    /// is, `Err(what the report had)` when not. A report without the version, or with one that
    /// is not a version of this kind, does not match: nothing says the crash is in the range.
    pub fn check(&self, versions: &Versions) -> Result<String, String> {
        let words = self.field.words();
        let Some(text) = versions.get(self.field) else {
            return Err(format!(
                "the report has no {words}, and a version condition needs one"
            ));
        };
        let Ok(seen) = self.field.parse(text) else {
            return Err(format!(
                "the report's {words} {text:?} cannot be compared, and a version condition needs one that can"
            ));
        };
        if self.contains(&seen) {
            Ok(format!("{words} {seen} ({})", self.describe()))
        } else {
            Err(format!("the {words} is {seen}"))
        }
    }
}

/// The versions a rule's crash was fixed in (`fixed_in` of a rule): any of the driver version,
/// the OS build and the OS version. A crash the rule matches on a report at or after any of
/// them is a [`Regression`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct FixedIn {
    /// The driver version that fixed it (`342.1`).
    pub driver_version: Option<Version>,
    /// The OS build that fixed it (`25B78`).
    pub os_build: Option<Version>,
    /// The OS version that fixed it (`26.1`).
    pub os_version: Option<Version>,
}

impl FixedIn {
    /// The fix's version for `field`.
    pub fn get(&self, field: VersionField) -> Option<&Version> {
        match field {
            VersionField::DriverVersion => self.driver_version.as_ref(),
            VersionField::OsBuild => self.os_build.as_ref(),
            VersionField::OsVersion => self.os_version.as_ref(),
        }
    }

    /// `driver version 342.1, OS version 26.1`.
    pub fn describe(&self) -> String {
        VersionField::ALL
            .iter()
            .filter_map(|&f| self.get(f).map(|v| format!("{} {v}", f.words())))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The regression, when the report is on a version at or after one of the fix's (the first
    /// in the order driver version, OS build, OS version). A version the report lacks, or that
    /// cannot be compared, says nothing: no regression by it.
    pub fn regression(&self, versions: &Versions) -> Option<Regression> {
        VersionField::ALL.iter().find_map(|&field| {
            let fixed = self.get(field)?;
            let text = versions.get(field)?;
            let seen = field.parse(text).ok()?;
            (seen >= *fixed).then(|| Regression {
                field,
                fixed_in: fixed.to_string(),
                seen: seen.to_string(),
            })
        })
    }
}

impl FixedIn {
    /// Whether the report is a regression, in words for `rules explain`: `a regression: driver
    /// version 342.3.1 is at or after 342.1`, or `not a regression: driver version 329.2 is
    /// before 342.1; the report has no OS build`.
    pub fn outcome(&self, versions: &Versions) -> String {
        if let Some(r) = self.regression(versions) {
            return format!(
                "a regression: {} {} is at or after {}",
                r.field.words(),
                r.seen,
                r.fixed_in
            );
        }
        let each: Vec<String> = VersionField::ALL
            .iter()
            .filter_map(|&field| {
                let fixed = self.get(field)?;
                let words = field.words();
                Some(match versions.get(field) {
                    None => format!("the report has no {words}"),
                    Some(text) => match field.parse(text) {
                        Ok(seen) => format!("{words} {seen} is before {fixed}"),
                        Err(_) => format!("the report's {words} {text:?} cannot be compared"),
                    },
                })
            })
            .collect();
        format!("not a regression: {}", each.join("; "))
    }
}

/// A crash its rule says was fixed, seen on a version at or after the fix.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Regression {
    /// Which version decided it (`driver_version`, `os_build`, `os_version`).
    pub field: VersionField,
    /// The version the rule says fixed the crash (`342.1`).
    pub fixed_in: String,
    /// The report's version, at or after the fix (`342.3.1`).
    pub seen: String,
}

impl Regression {
    /// `fixed in driver version 342.1, seen on 342.3.1`.
    pub fn describe(&self) -> String {
        format!(
            "fixed in {} {}, seen on {}",
            self.field.words(),
            self.fixed_in,
            self.seen
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v(field: VersionField, text: &str) -> Version {
        field.parse(text).unwrap()
    }

    #[test]
    fn dotted_versions_compare_number_by_number() {
        let d = |t| v(VersionField::DriverVersion, t);
        let ordered = [
            "1", "9.9", "329", "329.2", "329.2.1", "329.10", "342", "342.3.1",
        ];
        for pair in ordered.windows(2) {
            assert!(d(pair[0]) < d(pair[1]), "{pair:?}");
        }
        assert_eq!(d("329.2"), d("329.2.0"));
        assert_eq!(d("329.2.0").as_str(), "329.2.0");
        for bad in [
            "", "329.", ".2", "329.2b", "1.0 - 1", "v329", "329..2", "-1",
        ] {
            assert!(VersionField::DriverVersion.parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn builds_compare_as_apple_numbers_them() {
        let b = |t| v(VersionField::OsBuild, t);
        // Train number, then letter, then build number as a number, then the trailing letter.
        let ordered = [
            "19H1030", "21C52", "24G84", "24G90", "24G419", "25A354", "25A5316", "25A5316a",
            "25A5316i", "25B78",
        ];
        for pair in ordered.windows(2) {
            assert!(b(pair[0]) < b(pair[1]), "{pair:?}");
        }
        assert!(b("9A581") < b("10A5"), "major numbers compare as numbers");
        for bad in [
            "", "24", "G84", "24g84", "24G", "24G84ab", "24G84I", "24 G84", "24G-84",
        ] {
            assert!(VersionField::OsBuild.parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn a_text_reports_bundle_version_is_read_as_its_short_version() {
        assert_eq!(short_version("329.2 - 329.2.1"), "329.2");
        assert_eq!(short_version("329.2"), "329.2");
        assert_eq!(short_version(" 342.3.1 "), "342.3.1");
    }

    #[test]
    fn the_os_version_is_the_number_in_the_train() {
        assert_eq!(os_version_of_train("macOS 15.6.1"), Some("15.6.1"));
        assert_eq!(os_version_of_train("Mac OS X 10.15.7"), Some("10.15.7"));
        assert_eq!(os_version_of_train("macOS"), None);
    }

    #[test]
    fn ranges() {
        let f = VersionField::DriverVersion;
        let r = VersionRange::new(f, None, Some("329.2"), None, Some("342")).unwrap();
        assert_eq!(r.describe(), ">= 329.2, < 342");
        assert!(r.contains(&v(f, "329.2")));
        assert!(r.contains(&v(f, "341.99")));
        assert!(!r.contains(&v(f, "342")));
        assert!(!r.contains(&v(f, "329.1")));
        let eq = VersionRange::new(f, Some("329.2"), None, None, None).unwrap();
        assert_eq!(eq.describe(), "= 329.2");
        assert!(eq.contains(&v(f, "329.2.0")));
        assert!(r.includes(&eq));
        assert!(!eq.includes(&r));
        let e = VersionRange::new(f, None, Some("342"), None, Some("342")).unwrap_err();
        assert!(e.1.contains("no driver version is in this range"), "{e:?}");
        let e = VersionRange::new(f, None, Some("x"), None, None).unwrap_err();
        assert_eq!(e.0, "min");
        assert!(VersionRange::new(f, None, None, None, None).is_err());
        assert!(VersionRange::new(f, None, None, Some("1"), Some("2")).is_err());
        // A report without the version does not match.
        let none = Versions::default();
        assert!(
            r.check(&none)
                .unwrap_err()
                .contains("has no driver version")
        );
        let odd = Versions {
            driver_version: Some("1.0 - 1"),
            ..Versions::default()
        };
        assert!(r.check(&odd).unwrap_err().contains("cannot be compared"));
    }

    #[test]
    fn a_regression_is_a_version_at_or_after_the_fix() {
        let fixed = FixedIn {
            driver_version: Some(v(VersionField::DriverVersion, "342.1")),
            os_version: Some(v(VersionField::OsVersion, "26.1")),
            ..FixedIn::default()
        };
        let on = |driver, os| Versions {
            driver_version: driver,
            os_build: None,
            os_version: os,
        };
        assert_eq!(fixed.regression(&on(Some("329.2"), Some("15.7.3"))), None);
        let r = fixed.regression(&on(Some("342.1"), None)).unwrap();
        assert_eq!(r.describe(), "fixed in driver version 342.1, seen on 342.1");
        let r = fixed.regression(&on(None, Some("26.2"))).unwrap();
        assert_eq!(
            (r.field, r.seen.as_str()),
            (VersionField::OsVersion, "26.2")
        );
        assert_eq!(fixed.regression(&on(None, None)), None);
        assert_eq!(
            fixed.outcome(&on(Some("329.2"), None)),
            "not a regression: driver version 329.2 is before 342.1; the report has no OS version"
        );
        assert_eq!(
            fixed.outcome(&on(Some("343"), None)),
            "a regression: driver version 343 is at or after 342.1"
        );
        assert_eq!(fixed.describe(), "driver version 342.1, OS version 26.1");
    }

    fn build_text() -> impl Strategy<Value = (u64, u8, u64, Option<u8>)> {
        (
            1u64..40,
            b'A'..=b'Z',
            0u64..10_000,
            proptest::option::of(b'a'..=b'z'),
        )
    }

    fn write_build((major, letter, number, suffix): (u64, u8, u64, Option<u8>)) -> String {
        let mut s = format!("{major}{}{number}", letter as char);
        if let Some(c) = suffix {
            s.push(c as char);
        }
        s
    }

    /// A driver-version range with random ends (some ranges are empty and refused).
    fn range() -> impl Strategy<Value = Result<VersionRange, (String, String)>> {
        (
            proptest::option::of(0u64..12),
            proptest::option::of(0u64..12),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(lo, hi, inclusive, equals)| {
                let text = |n: Option<u64>| n.map(|n| n.to_string());
                let (lo, hi) = (text(lo), text(hi));
                let f = VersionField::DriverVersion;
                if equals {
                    VersionRange::new(f, lo.as_deref().or(Some("3")), None, None, None)
                } else if inclusive {
                    VersionRange::new(f, None, lo.as_deref(), hi.as_deref(), None)
                } else {
                    VersionRange::new(f, None, lo.as_deref(), None, hi.as_deref())
                }
            })
    }

    proptest! {
        /// Builds order as their parts do, part by part (no trailing letter first).
        #[test]
        fn builds_order_as_their_parts(a in build_text(), b in build_text()) {
            let (va, vb) = (v(VersionField::OsBuild, &write_build(a)), v(VersionField::OsBuild, &write_build(b)));
            let key = |(m, l, n, s): (u64, u8, u64, Option<u8>)| (m, l, n, s.map_or(0, |c| c - b'a' + 1));
            prop_assert_eq!(va.cmp(&vb), key(a).cmp(&key(b)));
        }

        /// Dotted versions order as their numbers with trailing zeros dropped, and equal ones
        /// compare equal however many zeros they end with.
        #[test]
        fn dotted_versions_order_as_numbers(
            a in proptest::collection::vec(0u64..1000, 1..5),
            b in proptest::collection::vec(0u64..1000, 1..5),
            zeros in 0usize..3,
        ) {
            let text = |parts: &[u64]| parts.iter().map(u64::to_string).collect::<Vec<_>>().join(".");
            let trimmed = |parts: &[u64]| {
                let mut p = parts.to_vec();
                while p.last() == Some(&0) { p.pop(); }
                p
            };
            let f = VersionField::DriverVersion;
            prop_assert_eq!(v(f, &text(&a)).cmp(&v(f, &text(&b))), trimmed(&a).cmp(&trimmed(&b)));
            let mut padded = a.clone();
            padded.extend(std::iter::repeat_n(0, zeros));
            prop_assert_eq!(v(f, &text(&a)), v(f, &text(&padded)));
        }

        /// `rules check`'s shadowing is sound: when one range includes another, every version in
        /// the other is in it (so a warning never names a rule some report could still reach).
        #[test]
        fn an_including_range_holds_every_version_of_the_included(
            a in range(), b in range(), x in 0u64..12,
        ) {
            let (Ok(a), Ok(b)) = (a, b) else { return Ok(()) };
            let v = VersionField::DriverVersion.parse(&x.to_string()).unwrap();
            if a.includes(&b) && b.contains(&v) {
                prop_assert!(a.contains(&v), "{} includes {} but not {x}", a.describe(), b.describe());
            }
        }

        /// A range holds a version exactly when the version is within both ends.
        #[test]
        fn ranges_hold_what_is_between_their_ends(lo in 0u64..50, hi in 0u64..50, x in 0u64..50, inclusive: bool) {
            let f = VersionField::OsVersion;
            let (lo_s, hi_s) = (lo.to_string(), hi.to_string());
            let range = VersionRange::new(
                f, None, Some(&lo_s),
                inclusive.then_some(hi_s.as_str()),
                (!inclusive).then_some(hi_s.as_str()),
            );
            match range {
                Ok(r) => {
                    let expected = lo <= x && if inclusive { x <= hi } else { x < hi };
                    prop_assert_eq!(r.contains(&v(f, &x.to_string())), expected);
                }
                Err(_) => prop_assert!(lo > hi || (lo == hi && !inclusive)),
            }
        }
    }
}
