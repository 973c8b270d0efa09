//! Which crash is it: the family (AGX driver, Metal stack, other), a signature that groups the
//! same crash across machines and runs, the location and the trigger.
//!
//! Only the crashed thread's frames are evidence. Every Metal process has the AGX driver
//! *loaded*, and register descriptions name AGX classes (`OBJC_CLASS_$_AGXG15XFamilyCommandBuffer`
//! in `x14`) whenever a driver object was nearby; neither says the driver crashed.

pub mod gate;
pub mod normalize;
pub mod rules;
pub mod triage;

pub use rules::{RuleSet, RulesError};

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::report::{Frame, Report, image_name_of};

/// How many meaningful frames from the top of the crashed thread decide the family.
const FAMILY_WINDOW: usize = 3;
/// How many meaningful frames make the signature.
const SIGNATURE_FRAMES: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Family {
    /// A crash inside Apple's GPU driver.
    Agx,
    /// A crash inside Metal, Metal Performance Shaders or IOGPU.
    Metal,
    Other,
}

impl Family {
    pub fn as_str(self) -> &'static str {
        match self {
            Family::Agx => "agx",
            Family::Metal => "metal",
            Family::Other => "other",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    pub family: Family,
    /// Id of the rule that matched.
    pub rule: String,
    pub title: String,
    /// Whether the crash is one the team already knows about.
    pub known: bool,
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
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Driver {
    pub name: String,
    pub version: Option<String>,
    pub uuid: Option<String>,
}

/// Frames that only report a crash decided elsewhere: the abort and exception machinery. They are
/// skipped when looking for where the crash happened.
const SENTINELS: &[&str] = &[
    "__pthread_kill",
    "pthread_kill",
    "abort",
    "__abort",
    "abort_with_payload",
    "__abort_with_payload",
    "abort_with_reason",
    "__assert_rtn",
    "__stack_chk_fail",
    "__chk_fail",
    "_sigtramp",
    "raise",
    "objc_exception_throw",
    "objc_exception_rethrow",
    "__exceptionPreprocess",
    "_objc_terminate()",
    "std::__terminate",
    "std::terminate()",
    "__cxa_throw",
    "__cxa_rethrow",
    "abort_message",
    "demangling_terminate_handler()",
    "__cxxabiv1::",
    "+[NSException raise:format:]",
    "-[NSAssertionHandler handleFailure",
    "_os_crash",
    "__os_crash",
    "os_crash",
    "_dispatch_assert_queue_fail",
    "MTLReportFailure",
    "_MTLMessageContextEnd",
    "__MTLReportFailure",
];

/// Libraries that make up the abort path. When a report of an abort has no symbols for them,
/// their frames are the same `__pthread_kill`/`abort`/`std::terminate` machinery, unnamed.
const ABORT_PATH_IMAGES: &[&str] = &[
    "libsystem_kernel.dylib",
    "libsystem_pthread.dylib",
    "libsystem_c.dylib",
    "libc++abi.dylib",
    "libobjc.A.dylib",
];

fn is_abort(report: &Report) -> bool {
    report.exception.as_ref().is_some_and(|e| {
        e.signal.as_deref() == Some("SIGABRT")
            || (e.r#type.as_deref() == Some("EXC_CRASH") && e.signal.is_none())
    })
}

fn is_sentinel(report: &Report, frame: &Frame) -> bool {
    if frame.symbol.is_none()
        && is_abort(report)
        && image_name_of(report, frame).is_some_and(|name| ABORT_PATH_IMAGES.contains(&name))
    {
        return true;
    }
    match frame.symbol.as_deref() {
        Some(symbol) => {
            let symbol = symbol.trim();
            SENTINELS.iter().any(|s| {
                symbol == *s
                    || symbol.strip_prefix(s).is_some_and(|rest| {
                        rest.starts_with('(')
                            || rest.starts_with(".cold")
                            || s.ends_with("::")
                            || s.ends_with("Failure")
                    })
            })
        }
        // An address in no known image and without a symbol (`???`) says nothing.
        None => image_name_of(report, frame).is_none(),
    }
}

fn frame_image<'a>(report: &'a Report, frame: &'a Frame) -> (Option<&'a str>, Option<&'a str>) {
    let image = report.image(frame);
    (
        image_name_of(report, frame),
        image.and_then(|i| i.path.as_deref()),
    )
}

/// `image!normalised_symbol`, or `image+0xoffset` for an unnamed frame.
fn signature_part(report: &Report, frame: &Frame) -> String {
    let image = image_name_of(report, frame).map_or(Cow::Borrowed("???"), normalize::image_token);
    match (&frame.symbol, frame.image_offset) {
        (Some(symbol), _) => format!("{image}!{}", normalize::symbol(symbol)),
        (None, Some(offset)) => format!("{image}+{offset:#x}"),
        (None, None) => format!("{image}!???"),
    }
}

use std::borrow::Cow;

fn describe(report: &Report, frame: &Frame) -> String {
    match (&frame.symbol, frame.symbol_offset, frame.image_offset) {
        (Some(symbol), Some(off), _) => format!("{} + {off}", normalize::symbol(symbol)),
        (Some(symbol), None, _) => normalize::symbol(symbol),
        (None, _, Some(off)) => format!(
            "{} + {off:#x}",
            image_name_of(report, frame).unwrap_or("???")
        ),
        (None, _, None) => image_name_of(report, frame).unwrap_or("???").to_owned(),
    }
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

/// Classifies a crash report with a rule set. Reports of other kinds (jetsam, panics) are not
/// crashes of a process and get no classification.
pub fn classify(report: &Report, rules: &RuleSet) -> Option<Classification> {
    if !report.kind.is_crash() {
        return None;
    }
    let driver = report
        .images
        .iter()
        .find(|i| normalize::is_agx_image(i.name.as_deref(), i.path.as_deref()))
        .map(|i| Driver {
            name: i.name.clone().unwrap_or_else(|| "AGX".into()),
            version: i.bundle_version.clone(),
            uuid: i.uuid.clone(),
        });

    let frames: &[Frame] = report.crashed().map_or(&[], |t| t.frames.as_slice());
    let meaningful_idx: Vec<usize> = frames
        .iter()
        .enumerate()
        .filter(|(_, f)| !is_sentinel(report, f))
        .map(|(i, _)| i)
        .collect();
    let exception = report.exception.as_ref();
    let a = &report.app_specific;
    let facts = rules::Facts {
        exception_type: exception.and_then(|e| e.r#type.as_deref()),
        signal: exception.and_then(|e| e.signal.as_deref()),
        address: exception.and_then(|e| e.address),
        process: report.process.name.as_deref(),
        messages: a
            .assertion
            .as_deref()
            .into_iter()
            .chain(a.messages.iter().map(|m| m.text.as_str()))
            .chain(a.exception_reason.as_deref())
            .chain(exception.and_then(|e| e.message.as_deref()))
            .collect(),
        meaningful: meaningful_idx.clone(),
        all: frames
            .iter()
            .enumerate()
            .map(|(i, f)| view(report, i, f))
            .collect(),
    };

    let (rule, title, family, known, links, mut why) = match rules.first_match(&facts) {
        Some(m) => (
            m.rule.id.clone(),
            m.rule.title.clone(),
            m.rule.family,
            m.rule.known,
            m.rule.links.clone(),
            m.why,
        ),
        None => (
            "unmatched".into(),
            "No rule matched".into(),
            Family::Other,
            false,
            Vec::new(),
            Vec::new(),
        ),
    };
    if family == Family::Other {
        why.push(if report.crashed().is_none() {
            if report.threads.is_empty() {
                "the report has no thread backtraces, so no frame can be blamed".to_owned()
            } else {
                format!(
                    "the report does not identify a crashed thread among its {} threads (truncated?), so no frame can be blamed",
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

    let meaningful: Vec<&Frame> = meaningful_idx
        .iter()
        .filter_map(|&i| frames.get(i))
        .collect();
    let signature = if report.crashed().is_none() {
        format!(
            "no-crashed-thread!{}",
            exception
                .and_then(|e| e.r#type.as_deref())
                .unwrap_or("unknown")
        )
    } else if meaningful.is_empty() {
        format!(
            "no-frames!{}",
            exception
                .and_then(|e| e.r#type.as_deref())
                .unwrap_or("unknown")
        )
    } else {
        meaningful
            .iter()
            .take(SIGNATURE_FRAMES)
            .map(|f| signature_part(report, f))
            .collect::<Vec<_>>()
            .join(" | ")
    };
    let location = meaningful.first().map(|f| describe(report, f));
    let trigger = trigger(report, frames, meaningful_idx.first().copied());
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
    })
}

fn view<'a>(report: &'a Report, index: usize, f: &'a Frame) -> rules::FrameView<'a> {
    let (image, path) = frame_image(report, f);
    rules::FrameView::new(index, image, path, f.symbol.as_deref())
}

/// The nearest caller outside the driver and the system, and what it called:
/// `gatherViewTensor -> dispatchThreads`.
fn trigger(report: &Report, frames: &[Frame], location: Option<usize>) -> Option<String> {
    let start = location?;
    let is_program = |f: &Frame| {
        let (name, path) = frame_image(report, f);
        name.is_some() && !normalize::is_system_image(name, path)
    };
    let caller_index = (start..frames.len()).find(|&i| frames.get(i).is_some_and(is_program))?;
    let caller = frames.get(caller_index)?;
    if caller_index > start {
        let callee = frames.get(caller_index - 1)?;
        let (a, b) = (short(caller, report), short(callee, report));
        if a == b {
            // `MPSStream::commit -> commit` says nothing; qualify both.
            return Some(format!(
                "{} -> {}",
                qualified(caller, report),
                qualified(callee, report)
            ));
        }
        Some(format!(
            "{} -> {}",
            short(caller, report),
            short(callee, report)
        ))
    } else {
        // The crash is in the program itself: show the program's own caller of it.
        match frames.iter().skip(caller_index + 1).find(|f| is_program(f)) {
            Some(parent) => Some(format!(
                "{} -> {}",
                short(parent, report),
                short(caller, report)
            )),
            None => Some(short(caller, report)),
        }
    }
}

fn signature_id(signature: &str) -> String {
    let digest = Sha256::digest(signature.as_bytes());
    digest.iter().take(8).map(|b| format!("{b:02x}")).collect()
}
