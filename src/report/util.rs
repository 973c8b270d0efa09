//! Small readers shared by the JSON and text parsers.

use chrono::{DateTime, FixedOffset, NaiveDateTime, TimeZone};

use super::lenient::Lenient;
use super::model::{OsVersion, Warning};

/// Collects parse warnings; converts lenient values and records the wrong-typed ones.
#[derive(Debug, Default)]
pub struct Warnings {
    list: Vec<Warning>,
    /// Frames naming an image past the end of `usedImages`, counted rather than warned of one
    /// by one ([`Warnings::count_unknown_images`]).
    unknown_images: Option<u64>,
}

impl Warnings {
    /// A report with thousands of odd values would otherwise carry thousands of warnings.
    const MAX: usize = 200;

    pub fn push(&mut self, at: impl Into<String>, message: impl Into<String>) {
        if self.list.len() < Self::MAX {
            self.list.push(Warning {
                at: at.into(),
                message: message.into(),
            });
        } else if self.list.len() == Self::MAX {
            self.list.push(Warning {
                at: "report".into(),
                message: "more warnings were dropped".into(),
            });
        }
    }

    /// The value if it had the expected type; a warning if it had another.
    pub fn take<T: Clone>(&mut self, v: &Lenient<T>, at: &str) -> Option<T> {
        match v {
            Lenient::Ok(v) => Some(v.clone()),
            Lenient::Missing => None,
            Lenient::Wrong(found) => {
                self.push(at, format!("unexpected {found}; value ignored"));
                None
            }
        }
    }

    /// Like [`Warnings::take`], moving the value out instead of copying it, with the location
    /// built only when there is a warning: report bodies have thousands of frames, and formatting
    /// a path for each field of each would cost more than parsing them.
    pub fn own_at<T>(&mut self, v: Lenient<T>, at: impl FnOnce() -> String) -> Option<T> {
        match v {
            Lenient::Ok(v) => Some(v),
            Lenient::Missing => None,
            Lenient::Wrong(found) => {
                self.push(at(), format!("unexpected {found}; value ignored"));
                None
            }
        }
    }

    /// A warning when a container had the wrong type; `at` is formatted only then.
    pub fn wrong<T>(&mut self, v: &Lenient<T>, at: impl std::fmt::Display) {
        if let Some(found) = v.wrong() {
            self.push(at.to_string(), format!("unexpected {found}; value ignored"));
        }
    }

    /// For a body cut before its `usedImages` ended: every frame of an image after the cut would
    /// carry its own warning (hundreds, each formatted: most of the time spent reading such a
    /// body); they are counted instead, and [`Warnings::unknown_images`] says how many.
    pub fn count_unknown_images(&mut self) {
        self.unknown_images = Some(0);
    }

    /// Counts one frame naming an image that is not listed; `false` when they are not counted
    /// (the frame gets its own warning).
    pub fn counted_unknown_image(&mut self) -> bool {
        match &mut self.unknown_images {
            Some(n) => {
                *n += 1;
                true
            }
            None => false,
        }
    }

    /// How many frames named an image that is not listed, when they are counted.
    pub fn unknown_images(&self) -> Option<u64> {
        self.unknown_images
    }

    pub fn into_vec(self) -> Vec<Warning> {
        self.list
    }
}

/// Parses the timestamps crash reports use: `2022-07-28 11:10:19.4194 -0700` (body, 4 fraction
/// digits), `2022-07-28 11:10:20.00 -0700` (header, 2 digits), `2014-07-16 00:25:09 +0000`
/// (no fraction), and RFC 3339. A time without an offset is not guessed into one.
pub fn parse_time(text: &str) -> Option<DateTime<FixedOffset>> {
    let text = text.trim();
    for format in ["%Y-%m-%d %H:%M:%S%.f %z", "%Y-%m-%d %H:%M:%S %z"] {
        if let Ok(t) = DateTime::parse_from_str(text, format) {
            return Some(t);
        }
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(t);
    }
    // `2022-07-28 11:10:19 GMT`-like endings: only UTC is unambiguous.
    let (stamp, zone) = text.rsplit_once(' ')?;
    if matches!(zone, "UTC" | "GMT" | "Z") {
        let naive = NaiveDateTime::parse_from_str(stamp, "%Y-%m-%d %H:%M:%S%.f").ok()?;
        return FixedOffset::east_opt(0)?
            .from_local_datetime(&naive)
            .single();
    }
    None
}

/// `macOS 12.1 (21C52)`, `iPhone OS 16.0 (20A362)`, `Mac OS X 10.15.7 (Build 19H1030)`,
/// `macOS 13.0 ()`, `macOS 11.3`.
pub fn parse_os_version(text: &str) -> OsVersion {
    let text = text.trim();
    let (train, build) = match text.rfind('(') {
        Some(open) if text.ends_with(')') => {
            let inner = text
                .get(open + 1..text.len() - 1)
                .unwrap_or_default()
                .trim();
            let inner = inner.strip_prefix("Build ").unwrap_or(inner).trim();
            (
                text.get(..open).unwrap_or_default().trim(),
                (!inner.is_empty()).then(|| inner.to_owned()),
            )
        }
        _ => (text, None),
    };
    OsVersion {
        train: (!train.is_empty()).then(|| train.to_owned()),
        build,
        release_type: None,
    }
}

/// The address in `KERN_INVALID_ADDRESS at 0x98`, or after `->` when the kernel stripped PAC
/// bits (`at 0x001aa85c30f6b030 -> 0x0000285c30f6b030 (possible pointer authentication failure)`).
pub fn subtype_address(subtype: &str) -> Option<u64> {
    let after_at = subtype.split(" at ").nth(1)?;
    let candidate = match after_at.split_once("->") {
        Some((_, stripped)) => stripped,
        None => after_at,
    };
    let token = candidate.split_whitespace().next()?;
    super::lenient::parse_u64_text(token.trim_end_matches([',', ')']))
}

/// The text of a failed assertion among application-specific messages:
/// `-[AGXG15XFamilyCommandBuffer blitCommandEncoderCommon:]:833: failed assertion `A command
/// encoder is already encoding to this command buffer'` gives the quoted part.
pub fn find_assertion<'a>(messages: impl IntoIterator<Item = &'a str>) -> Option<String> {
    for message in messages {
        let Some(pos) = message.find("failed assertion") else {
            if let Some(rest) = message.strip_prefix("Assertion failed: ") {
                return Some(rest.trim().to_owned());
            }
            continue;
        };
        let rest = message
            .get(pos + "failed assertion".len()..)
            .unwrap_or_default();
        let rest = rest.trim_start_matches([' ', ':']);
        // Metal quotes as `...' ; Foundation as '...'.
        let inner = rest
            .strip_prefix(['`', '\'', '"'])
            .map(|r| r.trim_end().trim_end_matches(['\'', '`', '"']))
            .unwrap_or(rest);
        let inner = inner.trim();
        if !inner.is_empty() {
            return Some(inner.to_owned());
        }
    }
    None
}

/// The class and reason of an uncaught exception, from application-specific messages:
/// `*** Terminating app due to uncaught exception 'NSRangeException', reason: '*** -[__NSArrayI
/// objectAtIndex:]: index 5 beyond bounds [0 .. 2]'` (Objective-C; the reason may run over several
/// lines until its closing quote) and `libc++abi: terminating due to uncaught exception of type
/// std::runtime_error: boom` (C++; older libc++abi says `terminating with`).
pub fn find_exception_reason<'a>(
    messages: impl IntoIterator<Item = &'a str>,
) -> Option<(Option<String>, Option<String>)> {
    let mut lines = messages.into_iter().flat_map(str::lines);
    while let Some(line) = lines.next() {
        if let Some(pos) = line.find("uncaught exception '") {
            let rest = line
                .get(pos + "uncaught exception '".len()..)
                .unwrap_or_default();
            let (name, after) = rest.split_once('\'').unwrap_or((rest, ""));
            let name = (!name.trim().is_empty()).then(|| name.trim().to_owned());
            let Some(reason_start) = after.find("reason: '") else {
                return Some((name, None));
            };
            let mut reason = after
                .get(reason_start + "reason: '".len()..)
                .unwrap_or_default()
                .to_owned();
            // The reason ends at the last quote; a reason with newlines goes on below.
            let mut more = 0;
            while !reason.trim_end().ends_with('\'') && more < 40 {
                let Some(next) = lines.next() else { break };
                reason.push('\n');
                reason.push_str(next);
                more += 1;
            }
            let reason = reason.trim_end();
            let reason = reason.strip_suffix('\'').unwrap_or(reason).trim();
            return Some((name, (!reason.is_empty()).then(|| reason.to_owned())));
        }
        for marker in ["uncaught exception of type "] {
            if let Some(pos) = line.find(marker) {
                let rest = line.get(pos + marker.len()..).unwrap_or_default().trim();
                // `std::runtime_error: boom`; a type name has no `: ` in it.
                let (name, reason) = match rest.split_once(": ") {
                    Some((n, r)) => (n.trim(), Some(r.trim())),
                    None => (rest, None),
                };
                if name.is_empty() {
                    continue;
                }
                return Some((
                    Some(name.to_owned()),
                    reason.filter(|r| !r.is_empty()).map(str::to_owned),
                ));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        let body = parse_time("2022-07-28 11:10:19.4194 -0700").unwrap();
        assert_eq!(body.to_rfc3339(), "2022-07-28T11:10:19.419400-07:00");
        let header = parse_time("2022-07-28 11:10:20.00 -0700").unwrap();
        assert_eq!(header.to_rfc3339(), "2022-07-28T11:10:20-07:00");
        assert!(parse_time("2014-07-16 00:25:09 +0000").is_some());
        assert!(parse_time("2025-12-17 15:XX:XX PST").is_none());
        assert!(parse_time("2021-07-22 14:06:09 UTC").is_some());
    }

    #[test]
    fn os_versions() {
        let v = parse_os_version("macOS 12.1 (21C52)");
        assert_eq!(
            (v.train.as_deref(), v.build.as_deref()),
            (Some("macOS 12.1"), Some("21C52"))
        );
        let v = parse_os_version("Mac OS X 10.15.7 (Build 19H1030)");
        assert_eq!(v.build.as_deref(), Some("19H1030"));
        let v = parse_os_version("macOS 13.0 ()");
        assert_eq!((v.train.as_deref(), v.build), (Some("macOS 13.0"), None));
        assert_eq!(
            parse_os_version("macOS 11.3").train.as_deref(),
            Some("macOS 11.3")
        );
    }

    #[test]
    fn subtype_addresses() {
        assert_eq!(
            subtype_address("KERN_INVALID_ADDRESS at 0x0000000000000098"),
            Some(0x98)
        );
        assert_eq!(
            subtype_address(
                "KERN_INVALID_ADDRESS at 0x001aa85c30f6b030 -> 0x0000285c30f6b030 (possible pointer authentication failure)"
            ),
            Some(0x0000_285c_30f6_b030)
        );
        assert_eq!(subtype_address("SEGV_MAPERR at 0x8"), Some(8));
        assert_eq!(subtype_address("KERN_PROTECTION_FAILURE"), None);
    }

    #[test]
    fn uncaught_exception_reasons() {
        let objc = [
            "*** Terminating app due to uncaught exception 'NSRangeException', reason: '*** -[__NSArrayI objectAtIndex:]: index 5 beyond bounds [0 .. 2]'",
            "terminating with uncaught exception of type NSException",
            "abort() called",
        ];
        assert_eq!(
            find_exception_reason(objc),
            Some((
                Some("NSRangeException".into()),
                Some("*** -[__NSArrayI objectAtIndex:]: index 5 beyond bounds [0 .. 2]".into())
            ))
        );
        let multi = [
            "*** Terminating app due to uncaught exception 'NSInternalInconsistencyException', reason: 'first line",
            "second line'",
        ];
        assert_eq!(
            find_exception_reason(multi).unwrap().1.as_deref(),
            Some("first line\nsecond line")
        );
        let cxx =
            ["libc++abi: terminating due to uncaught exception of type std::runtime_error: boom"];
        assert_eq!(
            find_exception_reason(cxx),
            Some((Some("std::runtime_error".into()), Some("boom".into())))
        );
        assert_eq!(find_exception_reason(["abort() called"]), None);
    }

    #[test]
    fn assertions() {
        let metal = "-[AGXG15XFamilyCommandBuffer blitCommandEncoderCommon:]:833: failed assertion `A command encoder is already encoding to this command buffer'";
        assert_eq!(
            find_assertion([metal]).as_deref(),
            Some("A command encoder is already encoding to this command buffer")
        );
        assert_eq!(find_assertion(["abort() called"]), None);
    }
}
