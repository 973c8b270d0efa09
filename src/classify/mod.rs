//! Which crash is it: the family (AGX driver, Metal stack, other), a signature that groups the
//! same crash across machines and runs, the location and the trigger.
//!
//! Only the crashed thread's frames are evidence. Every Metal process has the AGX driver
//! *loaded*, and register descriptions name AGX classes (`OBJC_CLASS_$_AGXG15XFamilyCommandBuffer`
//! in `x14`) whenever a driver object was nearby; neither says the driver crashed.

mod gate;
mod normalize;
mod racing;
mod rules;
mod site;
mod triage;
mod version;

pub use gate::{FailOn, GatePolicy, GateResult, Judged, Scope, Tally, UNREADABLE};
pub use racing::{Racing, SKIM};
pub use rules::{
    BUILTIN as BUILTIN_RULES, ConditionOutcome, Rule, RuleExplanation, RuleSet, RulesError,
    Verdict, parse as parse_rules,
};
pub use site::{FrameSource, Handler, Machinery};
pub use triage::{Group, Triage};
pub use version::{
    FixedIn, Regression, Version, VersionField, VersionRange, Versions, os_version_of_train,
    short_version,
};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::report::{Frame, Image, Report, image_name_of};

/// How many meaningful frames from the top of the crashed thread decide the family.
const FAMILY_WINDOW: usize = 3;
/// How many meaningful frames make the signature.
const SIGNATURE_FRAMES: usize = 5;

/// Where in the GPU stack a crash happened, read from the top meaningful frames of the crashed
/// thread. Each rule names the family of the crashes it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// A crash inside Apple's GPU driver.
    Agx,
    /// A crash inside Metal, Metal Performance Shaders or IOGPU.
    Metal,
    /// Anywhere else, or nowhere known: no rule matched, or the crashed thread could not be read.
    Other,
}

impl Family {
    /// The family's name as the JSON output and the rules files spell it (`agx`, `metal`,
    /// `other`).
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Agx => "agx",
            Family::Metal => "metal",
            Family::Other => "other",
        }
    }
}

/// Which crash a report is: the rule that matched, the signature that groups it with the same
/// crash elsewhere, and the facts behind both.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    /// The matching rule's family; [`Family::Other`] when no rule matched.
    pub family: Family,
    /// Id of the rule that matched.
    pub rule: String,
    /// The matching rule's title, one line for people (`AGX prepareForEnqueue null dereference
    /// (the MPS encoding race)`); `No rule matched` otherwise.
    pub title: String,
    /// Whether the crash is one the team already knows about.
    pub known: bool,
    /// The matching rule's `links`: URLs about the crash (issue threads, Feedback Assistant
    /// reports); empty when no rule matched.
    pub links: Vec<String>,
    /// Why this rule: the facts that matched, one sentence.
    pub reason: String,
    /// The same facts, one per entry.
    pub why: Vec<String>,
    /// Stable across ASLR, function offsets, driver generations and thread numbering.
    pub signature: String,
    /// The first 16 hex digits of the signature's SHA-256, for file names and grouping keys.
    pub signature_id: String,
    /// The first meaningful frame, `symbol + offset`.
    pub location: Option<String>,
    /// The program's own code nearest to the crash and what it called:
    /// `gatherViewTensor -> dispatchThreads`.
    pub trigger: Option<String>,
    /// The GPU driver image loaded in the process, when there is one.
    pub driver: Option<Driver>,
    /// What sat on top of the crash and was read past: a signal handler, abort or exception
    /// machinery, an exception rethrown elsewhere.
    pub on_top: OnTop,
    /// Other threads that were inside Metal, MPS or the driver when the crash happened (crashes
    /// in the GPU stack only): the known GPU crashes are races.
    pub racing: Vec<Racing>,
    /// The versions the matching rule says fixed the crash (its `fixed_in`), when it says.
    pub fixed_in: Option<FixedIn>,
    /// Set when the report is on a version at or after one of [`Classification::fixed_in`]: the
    /// crash was fixed and is back.
    pub regression: Option<Regression>,
}

/// What the crash was read past, and what that means for the facts.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct OnTop {
    /// A signal handler that ran on the crashed thread above `_sigtramp`.
    pub handler: Option<Handler>,
    /// Abort, panic or exception machinery above the location.
    pub machinery: Option<Machinery>,
    /// Where the location, trigger and signature were read: the crashed thread or the Last
    /// Exception Backtrace.
    pub frames_from: Option<FrameSource>,
    /// Index of the first frame read in that source (below `_sigtramp` when a handler ran).
    pub first_frame: usize,
    /// Why the fault address is unknown when it is: the signal was re-raised, so the report's
    /// exception is the handler's, not the fault's.
    pub address_unknown: Option<String>,
}

/// The AGX driver image loaded in the crashed process: which GPU family's driver, and which
/// build of it.
///
/// Every JSON document writes the driver as this one object (`name`, `version`, `uuid`): a
/// report's `driver`, a `classify` group's `drivers[]`, a `stats` row's `driver`; and every
/// rendering for people as its [`Driver::label`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct Driver {
    /// The driver binary's file name (`AGXMetalG16X`, `AGXMetal13_3`, `AGXMetalG15X_M1`), as a
    /// `.ips` names it; a text report's bundle identifier (`com.apple.AGXMetalG15X-M1`) gives the
    /// same name; `AGX` when the report gives the image no name.
    pub name: String,
    /// The driver's version: the image's `CFBundleShortVersionString` (`327.5`), the
    /// parenthesised version of a text report's `Binary Images` line.
    pub version: Option<String>,
    /// The image's UUID, lower-case and hyphenated: the key for finding its symbols.
    pub uuid: Option<String>,
}

impl Driver {
    /// `AGXMetalG16X 327.5`, or the name alone when the version is unknown.
    pub fn label(&self) -> String {
        match &self.version {
            Some(v) => format!("{} {v}", self.name),
            None => self.name.clone(),
        }
    }
}

/// A frame's image name and path. A frame whose image the report does not name, but whose
/// symbol only the AGX driver defines (a `.ips` pasted cut short, before `usedImages` reached
/// the driver: macOS writes the threads first; a piece of a body without `usedImages`), is in
/// [`AGX_UNNAMED`]; one whose symbol only Metal, IOGPU or MPS defines, in [`METAL_UNNAMED`].
fn frame_image<'a>(report: &'a Report, frame: &'a Frame) -> (Option<&'a str>, Option<&'a str>) {
    let image = report.image(frame);
    let name = image_name_of(report, frame).or_else(|| {
        let symbol = frame.symbol.as_deref()?;
        if normalize::is_agx_symbol(symbol) {
            Some(AGX_UNNAMED)
        } else {
            normalize::is_metal_symbol(symbol).then_some(METAL_UNNAMED)
        }
    });
    (name, image.and_then(|i| i.path.as_deref()))
}

/// The image name given to a frame of the AGX driver whose image the report does not name.
const AGX_UNNAMED: &str = "AGX";

/// The image name given to a frame of Metal's stack whose image the report does not name.
const METAL_UNNAMED: &str = "Metal";

/// `image!normalised_symbol`, or `image+0xoffset` for an unnamed frame. The image is named by
/// its file when the report gives its path: older text reports (and the translated reports of
/// macOS 12 and later) name a bundle by its identifier (`dev.mobile.MemoryLeakingApp`,
/// `com.apple.SwiftUI`) where the `.ips` of the same crash names its binary
/// (`MemoryLeakingApp`, `SwiftUI`), and one crash must keep one signature whichever format its
/// report came in (a crash report parser's fixtures held both for one crash).
fn signature_part(report: &Report, frame: &Frame) -> String {
    let by_file = report
        .image(frame)
        .and_then(Image::file_name)
        .filter(|f| !f.contains(['*', '?']));
    let image = by_file
        .or_else(|| image_name_of(report, frame))
        .map_or(Cow::Borrowed("???"), normalize::image_token);
    match (&frame.symbol, frame.image_offset) {
        // Far past its symbol, the frame is not in that function: a stripped binary's frames
        // are named by the nearest exported symbol (`ChromeMain + 17348292`), and the name alone
        // would make every crash of the program one signature. The offset keeps them apart, and
        // is the same in every run of one build.
        (Some(symbol), _) if frame.symbol_offset.is_some_and(|o| o > FAR_FROM_SYMBOL) => format!(
            "{image}!{}+{:#x}",
            normalize::symbol(symbol),
            frame.symbol_offset.unwrap_or_default()
        ),
        (Some(symbol), _) => format!("{image}!{}", normalize::symbol(symbol)),
        (None, Some(offset)) => format!("{image}+{offset:#x}"),
        (None, None) => format!("{image}!???"),
    }
}

use std::borrow::Cow;

/// How far past its symbol a frame may be and still be in that function: 1 MiB. The largest
/// functions of real programs (generated parsers, unrolled kernels) are a few hundred KB; a
/// stripped binary's frames are megabytes past the nearest exported symbol.
const FAR_FROM_SYMBOL: u64 = 1 << 20;

/// A frame without a symbol: `image + 0xoffset`, or the image alone.
fn unnamed(report: &Report, frame: &Frame) -> String {
    let image = image_name_of(report, frame).unwrap_or("???");
    match frame.image_offset {
        Some(offset) => format!("{image} + {offset:#x}"),
        None => image.to_owned(),
    }
}

fn describe(report: &Report, frame: &Frame) -> String {
    match (
        &frame.symbol,
        frame.symbol_offset,
        frame.image_offset,
        frame.address,
    ) {
        (Some(symbol), Some(off), _, _) => format!("{} + {off}", normalize::symbol(symbol)),
        (Some(symbol), None, _, _) => normalize::symbol(symbol),
        // A text report without its Binary Images knows the address, not the offset.
        (None, _, None, Some(address)) => format!(
            "{} {address:#x}",
            image_name_of(report, frame).unwrap_or("???")
        ),
        (None, ..) => unnamed(report, frame),
    }
}

/// A frame of the program's own code: in a known image that is not the system's, and neither
/// plumbing nor abort, panic or exception machinery.
fn is_program_code(report: &Report, frame: &Frame) -> bool {
    let (name, path) = frame_image(report, frame);
    name.is_some()
        && !normalize::is_system_image(name, path)
        && !site::is_plumbing(report, frame)
        && site::machinery_kind(report, frame).is_none()
}

/// `MPSStream::commit`, `-[_MTLCommandBuffer commit]`: a short name with its class.
fn qualified(frame: &Frame, report: &Report) -> String {
    match &frame.symbol {
        Some(symbol) if symbol.starts_with("-[") || symbol.starts_with("+[") => {
            normalize::symbol(symbol)
        }
        Some(symbol) => {
            let name = normalize::symbol(symbol);
            let name = name.split('(').next().unwrap_or(&name);
            let parts: Vec<&str> = name.rsplitn(3, "::").collect();
            match parts.as_slice() {
                [method, class, ..] => format!("{class}::{method}"),
                _ => name.to_owned(),
            }
        }
        None => describe(report, frame),
    }
}

fn short(frame: &Frame, report: &Report) -> String {
    match &frame.symbol {
        Some(symbol) => normalize::short_name(symbol),
        None => describe(report, frame),
    }
}

/// Why the report's fault address is not the original fault's, when a signal handler ran: under
/// a handler, the report's exception may be the handler's: `EXC_CRASH (SIGSEGV)` from its
/// re-raise (a signal sent, so no fault address), or a fault of the handler's own when it was
/// still running. A re-raise never faults, so a fault address next to a re-raise is the original
/// fault's (some macOS versions report it so) and is kept.
fn address_unknown(report: &Report, site: &site::Site) -> Option<String> {
    let report_address = report.exception.as_ref().and_then(|e| e.address);
    site.handler.as_ref().and_then(|h| {
        let why = match (h.reraised, report_address) {
            (true, Some(_)) => return None,
            (true, None) => "re-raised the signal, so the report's exception is the re-raise's",
            (false, _) => {
                "was running on the crashed thread, so the report's exception may be the handler's own"
            }
        };
        Some(format!(
            "{} ({}) {why}: the address of the original fault is not in the report",
            h.name, h.frame
        ))
    })
}

/// What the rules look at in `report`, read at `site`.
fn facts<'a>(
    report: &'a Report,
    site: &'a site::Site,
    address_unknown: Option<&'a str>,
    driver: Option<&'a Driver>,
) -> rules::Facts<'a> {
    let exception = report.exception.as_ref();
    let a = &report.app_specific;
    rules::Facts {
        exception_type: exception.and_then(|e| e.r#type.as_deref()),
        signal: exception.and_then(|e| e.signal.as_deref()),
        address: if address_unknown.is_some() {
            None
        } else {
            exception.and_then(|e| e.address)
        },
        address_unknown,
        process: report.process.name.as_deref(),
        messages: a
            .assertion
            .as_deref()
            .into_iter()
            .chain(a.messages.iter().map(|m| m.text.as_str()))
            .chain(a.exception_reason.as_deref())
            .chain(exception.and_then(|e| e.message.as_deref()))
            .collect(),
        meaningful: site.meaningful.clone(),
        all: site
            .frames
            .iter()
            .enumerate()
            .map(|(i, f)| view(report, site.offset + i, f))
            .collect(),
        versions: versions(report, driver),
    }
}

/// The driver version, OS build and OS version of a report, as written: what version conditions
/// and `fixed_in` read, and what a history keys "first seen on" by. `driver` is the
/// classification's [`Classification::driver`].
pub fn versions<'a>(report: &'a Report, driver: Option<&'a Driver>) -> Versions<'a> {
    Versions {
        driver_version: driver.and_then(|d| d.version.as_deref()).map(short_version),
        os_build: report.os.build.as_deref(),
        os_version: report.os.train.as_deref().and_then(os_version_of_train),
    }
}

/// The AGX driver image loaded in the process, when there is one.
fn driver(report: &Report) -> Option<Driver> {
    report
        .images
        .iter()
        .find(|i| normalize::is_agx_image(i.name.as_deref(), i.path.as_deref()))
        .map(|i| Driver {
            name: driver_name(i),
            version: i.bundle_version.clone(),
            uuid: i.uuid.clone(),
        })
}

/// The driver's name as the `.ips` `usedImages` gives it: its binary's file name
/// (`AGXMetalG15X_M1`). Text reports name a bundle by its identifier, and an identifier may not
/// hold `_`: `com.apple.AGXMetalG15X-M1`, `com.apple.AGXMetal13-3`. Without the path, the
/// identifier's last part with `-` read as `_`, so that one driver has one name whichever
/// format its report came in (grouping by driver split it in two).
fn driver_name(image: &Image) -> String {
    if let Some(file) = image.file_name().filter(|f| !f.contains(['*', '?'])) {
        return file.to_owned();
    }
    match image.name.as_deref() {
        Some(name) => match name.strip_prefix("com.apple.") {
            Some(id) => id.replace('-', "_"),
            None => name.to_owned(),
        },
        None => "AGX".into(),
    }
}

/// Every rule, in order, with the outcome of each of its conditions for `report` (`rules
/// explain`); `None` for a report that is not a crash (it gets no classification).
pub fn explain<'r>(report: &Report, rules: &'r RuleSet) -> Option<Vec<RuleExplanation<'r>>> {
    if !report.kind.is_crash() {
        return None;
    }
    let site = site::site(report);
    let address_unknown = address_unknown(report, &site);
    let driver = driver(report);
    let facts = facts(report, &site, address_unknown.as_deref(), driver.as_ref());
    Some(rules.explain(&facts))
}

/// Classifies a crash report with a rule set. Reports of other kinds (jetsam, panics) are not
/// crashes of a process and get no classification.
pub fn classify(report: &Report, rules: &RuleSet) -> Option<Classification> {
    if !report.kind.is_crash() {
        return None;
    }
    let driver = driver(report);

    let site = site::site(report);
    let frames = site.frames;
    let exception = report.exception.as_ref();
    let address_unknown = address_unknown(report, &site);
    let facts = facts(report, &site, address_unknown.as_deref(), driver.as_ref());

    let (rule, title, family, known, links, mut why, fixed_in) = match rules.first_match(&facts) {
        Some(m) => (
            m.rule.id.clone(),
            m.rule.title.clone(),
            m.rule.family,
            m.rule.known,
            m.rule.links.clone(),
            m.why,
            m.rule.fixed_in.clone(),
        ),
        None => (
            "unmatched".into(),
            "No rule matched".into(),
            Family::Other,
            false,
            Vec::new(),
            Vec::new(),
            None,
        ),
    };
    let regression = fixed_in
        .as_ref()
        .and_then(|f| f.regression(&facts.versions));

    if let Some(h) = &site.handler {
        why.insert(
            0,
            format!(
                "read below _sigtramp (frame {}): {} {}",
                h.sigtramp_frame,
                h.name,
                if h.reraised {
                    "re-raised the signal"
                } else {
                    "was running on top"
                }
            ),
        );
    }
    if site.source == FrameSource::LastExceptionBacktrace {
        why.insert(
            0,
            "the crashed thread rethrew an uncaught exception; the crash is read from the Last Exception Backtrace, where it was thrown".to_owned(),
        );
    }
    if family == Family::Other {
        why.push(if report.crashed().is_none() {
            if report.threads.is_empty() {
                "the report has no thread backtraces, so no frame can be blamed".to_owned()
            } else if let Some(cut) = &report.cut {
                format!(
                    "the report's crashed thread is not in it ({cut}), so no frame can be blamed"
                )
            } else {
                format!(
                    "the report does not identify a crashed thread among its {} threads, so no frame can be blamed",
                    report.threads.len()
                )
            }
        } else if facts.meaningful.is_empty() {
            "the crashed thread has no frames that name code".to_owned()
        } else {
            format!("none of the crashed thread's top {FAMILY_WINDOW} frames is in the AGX driver or Metal")
        });
        if let Some(d) = &driver {
            why.push(format!(
                "the GPU driver {} is loaded, but not on the crashing path",
                d.name
            ));
        }
    }

    let meaningful: Vec<&Frame> = site
        .meaningful
        .iter()
        .filter_map(|&i| frames.get(i))
        .collect();
    // Without frames to read, the process and the exception are what is known: two unrelated cut
    // reports must not group as one crash.
    let fallback = |what: &str| {
        format!(
            "{what}!{}!{}",
            report.process.name.as_deref().unwrap_or("unknown-process"),
            exception
                .and_then(|e| e.r#type.as_deref())
                .filter(|t| !t.is_empty())
                .unwrap_or("unknown")
        )
    };
    let signature = if report.crashed().is_none() {
        fallback("no-crashed-thread")
    } else if meaningful.is_empty() {
        fallback("no-frames")
    } else {
        meaningful
            .iter()
            .take(SIGNATURE_FRAMES)
            .map(|f| signature_part(report, f))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    let location = meaningful.first().map(|f| describe(report, f));
    let trigger = trigger(report, frames, site.meaningful.first().copied());
    let racing = if family == Family::Other {
        Vec::new()
    } else {
        racing::racing(report)
    };
    Some(Classification {
        family,
        rule,
        title,
        known,
        links,
        reason: why.join("; "),
        why,
        signature_id: signature_id(&signature),
        signature,
        location,
        trigger,
        driver,
        on_top: OnTop {
            handler: site.handler,
            machinery: site.machinery,
            frames_from: report.crashed().map(|_| site.source),
            first_frame: site.offset,
            address_unknown,
        },
        racing,
        fixed_in,
        regression,
    })
}

fn view<'a>(report: &'a Report, index: usize, f: &'a Frame) -> rules::FrameView<'a> {
    let (image, path) = frame_image(report, f);
    // A `.ips` frame names its image by its place in `usedImages`, which comes after the threads:
    // in a body cut short, a frame without an image most likely named one past the cut.
    let image_cut = report.body_cut().is_some() && image_name_of(report, f).is_none();
    rules::FrameView::new(index, image, path, f.symbol.as_deref()).with_image_cut(image_cut)
}

/// The nearest caller outside the driver and the system, and what it called:
/// `gatherViewTensor -> dispatchThreads`. Plumbing (libdispatch, `dispatch_sync_with_rethrow` and
/// its block, `std::function`) is passed over on both sides, and so is a block or lambda of the
/// caller's own function (it would read `gatherViewTensor -> gatherViewTensor`).
fn trigger(report: &Report, frames: &[Frame], location: Option<usize>) -> Option<String> {
    let start = location?;
    let is_program = |f: &Frame| {
        // A frame with an image name and nothing else (cut by a paste) names nothing.
        let known = f.symbol.is_some() || f.address.is_some() || f.image_offset.is_some();
        known && is_program_code(report, f)
    };
    let caller_index = (start..frames.len()).find(|&i| frames.get(i).is_some_and(is_program))?;
    let caller = frames.get(caller_index)?;
    let caller_name = short(caller, report);
    // A block or lambda of the caller's own function is the caller, not what it called.
    let function = |f: &Frame| f.symbol.as_deref().map(normalize::function_name);
    let caller_function = function(caller);
    let doing = |f: &&Frame| {
        !site::is_plumbing(report, f)
            && site::machinery_kind(report, f).is_none()
            && (caller_function.is_none() || function(f) != caller_function)
    };
    if caller_index > start {
        let callee = frames
            .get(start..caller_index)?
            .iter()
            .rev()
            .find(doing)
            .or_else(|| frames.get(caller_index - 1))?;
        let callee_name = short(callee, report);
        if caller_name == callee_name {
            // `MPSStream::commit -> commit` says nothing; qualify both.
            return Some(format!(
                "{} -> {}",
                qualified(caller, report),
                qualified(callee, report)
            ));
        }
        Some(format!("{caller_name} -> {callee_name}"))
    } else {
        // The crash is in the program itself: show the program's own caller of it.
        match frames
            .iter()
            .skip(caller_index + 1)
            .find(|f| is_program(f) && doing(f))
        {
            Some(parent) => Some(format!("{} -> {caller_name}", short(parent, report))),
            None => Some(caller_name),
        }
    }
}

fn signature_id(signature: &str) -> String {
    let digest = Sha256::digest(signature.as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// One driver, one name, whichever format named it: the binary's file name; without a path,
    /// a bundle identifier's last part with `-` read as `_`.
    #[test]
    fn a_driver_has_one_name_in_every_format() {
        let image = |name: Option<&str>, path: Option<&str>| Image {
            name: name.map(str::to_owned),
            path: path.map(str::to_owned),
            ..Image::default()
        };
        let path =
            "/System/Library/Extensions/AGXMetalG15X_M1.bundle/Contents/MacOS/AGXMetalG15X_M1";
        for (name, path, want) in [
            (
                Some("com.apple.AGXMetalG15X-M1"),
                Some(path),
                "AGXMetalG15X_M1",
            ),
            (Some("AGXMetalG15X_M1"), Some(path), "AGXMetalG15X_M1"),
            (Some("com.apple.AGXMetalG15X-M1"), None, "AGXMetalG15X_M1"),
            (Some("com.apple.AGXMetal13-3"), None, "AGXMetal13_3"),
            (Some("AGXMetalG16X"), None, "AGXMetalG16X"),
            (
                Some("com.apple.AGXMetalG16X"),
                Some("/System/Library/Extensions/*/AGXMetalG16X"),
                "AGXMetalG16X",
            ),
            (None, None, "AGX"),
        ] {
            assert_eq!(driver_name(&image(name, path)), want, "{name:?} {path:?}");
        }
    }

    /// A stripped binary names its frames by the nearest exported symbol, megabytes away: the
    /// signature keeps the offset, so two crashes of the program are two signatures; a frame
    /// near its symbol is named alone, as before.
    #[test]
    fn frames_far_from_their_symbol_keep_the_offset_in_the_signature() {
        let rules = RuleSet::builtin().unwrap_or_else(|e| panic!("{e}"));
        let signature = |offsets: [u64; 2]| {
            let text = format!(
                "Process: Google Chrome [1]\nException Type: EXC_BAD_ACCESS (SIGBUS)\n\
                 Crashed Thread: 0\n\nThread 0 Crashed:\n\
                 0   Google Chrome Framework  0x12d8903d0 ChromeMain + {}\n\
                 1   Google Chrome Framework  0x12d7531c8 ChromeMain + {}\n",
                offsets[0], offsets[1]
            );
            let report = crate::report::parse(text.as_bytes()).unwrap_or_else(|e| panic!("{e}"));
            classify(&report, &rules)
                .map(|c| c.signature)
                .unwrap_or_default()
        };
        assert_eq!(
            signature([17_348_292, 16_049_340]),
            "Google Chrome Framework!ChromeMain+0x108b6c4 | Google Chrome Framework!ChromeMain+0xf4e4bc"
        );
        assert_ne!(
            signature([17_348_292, 16_049_340]),
            signature([20_586_204, 16_049_340])
        );
        assert_eq!(
            signature([12, 1 << 20]),
            "Google Chrome Framework!ChromeMain | Google Chrome Framework!ChromeMain"
        );
    }
}
