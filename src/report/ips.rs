//! The JSON `.ips` format: a one-line JSON header, then the body as the *first* JSON value of the
//! rest (real files carry trailing text: a `System Profile:` section, a Markdown fence).

use super::lenient::{Lenient, LenientMap, LenientVec, SeededVec, lenient_struct};
use super::model::*;
use super::util::{Warnings, is_placeholder_symbol, parse_os_version, parse_time, subtype_address};
use super::{Frames, Skim, bugtype};

lenient_struct! {
    /// The metadata line. Apple documents `name`, `bug_type`, `bundleID`, `build_version`,
    /// `incident_id`, `platform`, `timestamp`; the rest are real but undocumented.
    pub struct RawHeader {
        "bug_type" => bug_type: Lenient<String>,
        "name" => name: Lenient<String>,
        "app_name" => app_name: Lenient<String>,
        "app_version" => app_version: Lenient<String>,
        "incident_id" => incident_id: Lenient<String>,
        "os_version" => os_version: Lenient<String>,
        "timestamp" => timestamp: Lenient<String>,
        "bundleID" => bundle_id: Lenient<String>,
        "platform" => platform: Lenient<u64>,
    }
}

impl RawHeader {
    /// A header line is an object with a `bug_type`; nothing else is required (OSAnalytics itself
    /// tolerates renamed and missing keys).
    pub fn is_header(&self) -> bool {
        self.wrong.is_none() && self.bug_type.ok().is_some()
    }
}

lenient_struct! {
    pub struct RawOsVersion {
        "train" => train: Lenient<String>,
        "build" => build: Lenient<String>,
        "releaseType" => release_type: Lenient<String>,
    }
}

lenient_struct! {
    pub struct RawBundleInfo {
        "CFBundleIdentifier" => id: Lenient<String>,
        "CFBundleShortVersionString" => short_version: Lenient<String>,
        "CFBundleVersion" => version: Lenient<String>,
    }
}

lenient_struct! {
    pub struct RawException {
        "type" => r#type: Lenient<String>,
        "signal" => signal: Lenient<String>,
        "subtype" => subtype: Lenient<String>,
        "codes" => codes: Lenient<String>,
        "rawCodes" => raw_codes: LenientVec<Lenient<u64>>,
        "message" => message: Lenient<String>,
    }
}

lenient_struct! {
    pub struct RawExceptionReason {
        "composed_message" => composed_message: Lenient<String>,
        "name" => name: Lenient<String>,
        "reason" => reason: Lenient<String>,
    }
}

lenient_struct! {
    pub struct RawTermination {
        "namespace" => namespace: Lenient<String>,
        "code" => code: Lenient<u64>,
        "indicator" => indicator: Lenient<String>,
        "byProc" => by_proc: Lenient<String>,
        "byPid" => by_pid: Lenient<u64>,
        "reasons" => reasons: LenientVec<Lenient<String>>,
        "details" => details: LenientVec<Lenient<String>>,
    }
}

lenient_struct! {
    pub struct RawFrame {
        "imageIndex" => image_index: Lenient<u64>,
        "imageOffset" => image_offset: Lenient<u64>,
        "symbol" => symbol: Lenient<String>,
        "symbolLocation" => symbol_location: Lenient<u64>,
        "sourceFile" => source_file: Lenient<String>,
        "sourceLine" => source_line: Lenient<u64>,
        "inline" => inline: Lenient<bool>,
    }
    seq => compact_frame
}

/// The compact frame spelling: `[imageIndex, imageOffset]` (version 1 crash bodies before
/// macOS 12, panic and stackshot bodies, and tools that write the short form).
fn compact_frame<'de, A: serde::de::SeqAccess<'de>>(mut seq: A) -> Result<RawFrame, A::Error> {
    let mut frame = RawFrame {
        image_index: seq.next_element()?.unwrap_or_default(),
        image_offset: seq.next_element()?.unwrap_or_default(),
        ..RawFrame::default()
    };
    // Anything after the two numbers is unknown to every documented writer: skipped.
    while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
    if frame.image_index.ok().is_none() && frame.image_offset.ok().is_none() {
        frame.wrong = Some("array");
    }
    Ok(frame)
}

/// The compact image spelling: `[uuid, base]` or `[uuid, base, source]` (version 1 crash
/// bodies, panics and stackshots); the names of version 1 images are in
/// `legacyInfo.imageExtraInfo`.
fn compact_image<'de, A: serde::de::SeqAccess<'de>>(mut seq: A) -> Result<RawImage, A::Error> {
    let mut image = RawImage {
        uuid: seq.next_element()?.unwrap_or_default(),
        base: seq.next_element()?.unwrap_or_default(),
        source: seq.next_element()?.unwrap_or_default(),
        ..RawImage::default()
    };
    while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
    if image.uuid.ok().is_none() && image.base.ok().is_none() {
        image.wrong = Some("array");
    }
    Ok(image)
}

/// One entry of `threads`.
#[derive(Debug, Default, Clone)]
pub struct RawThread {
    pub id: Lenient<u64>,
    pub triggered: Lenient<bool>,
    pub name: Lenient<String>,
    pub queue: Lenient<String>,
    pub frames: LenientVec<RawFrame>,
    /// The text of `frames`, kept unread for a thread `faultingThread` does not name when the
    /// body is skimmed: whether they are read is decided once the images are known ([`build`],
    /// [`Frames::Skim`]).
    pub frames_text: Option<Box<serde_json::value::RawValue>>,
    /// `None` when the thread has none, and for a thread read without its registers
    /// ([`threads_after`]).
    pub thread_state: Option<StateOf>,
    /// Set when the entry was not an object: the JSON type found instead.
    pub wrong: Option<&'static str>,
}

/// `threads`, read knowing the `faultingThread` that came before it (it does in every body
/// macOS writes). Since macOS 12 only the crashed thread has a `threadState`; older bodies carry
/// the registers of every thread (testdata has such reports from macOS 15.2 and iOS 18.5), and
/// only the crashed thread's are used. Reading the others cost 2/3 of the time spent on
/// registers over the bench's 2000 reports; they are skipped unread instead (issue 17).
///
/// A thread's registers are read when `faultingThread` is unknown so far, when it names this
/// thread, or when the thread says `triggered: true` before its `threadState` (every writer
/// seen puts `triggered` first, except lldb's tests, which sort the keys). So the only
/// registers lost are those of a report whose `faultingThread` is wrong (it points past the
/// threads; the crashed thread is then the triggered one) and whose thread keys are sorted.
fn threads_after(body: &RawBody) -> SeededVec<impl FnMut(usize) -> ThreadSeed> {
    threads_naming(body.faulting_thread.ok().copied())
}

/// `threads`, knowing the crashed thread's index when it is known ([`threads_after`]).
pub(super) fn threads_naming(faulting: Option<u64>) -> SeededVec<impl FnMut(usize) -> ThreadSeed> {
    let skimming = SKIMMING.with(std::cell::Cell::get);
    SeededVec(move |i| {
        let crashed = faulting.is_none_or(|f| f == i as u64);
        ThreadSeed {
            crashed,
            frames_as_text: skimming && !crashed,
        }
    })
}

/// One thread; unless it may be the `crashed` one, its registers are skipped (unless it says it
/// crashed first), and when skimming, its frames are kept as text for [`build`] to read or not.
pub(super) struct ThreadSeed {
    crashed: bool,
    frames_as_text: bool,
}

impl<'de> serde::de::DeserializeSeed<'de> for ThreadSeed {
    type Value = RawThread;
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<RawThread, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> serde::de::Visitor<'de> for ThreadSeed {
    type Value = RawThread;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("an object (RawThread)")
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<RawThread, A::Error> {
        let mut out = RawThread::default();
        while let Some(key) = map.next_key::<super::lenient::Key<'de>>()? {
            match key.as_str() {
                "id" => out.id = map.next_value()?,
                "triggered" => out.triggered = map.next_value()?,
                "name" => out.name = map.next_value()?,
                "queue" => out.queue = map.next_value()?,
                "frames" if self.frames_as_text => out.frames_text = Some(map.next_value()?),
                "frames" => out.frames = map.next_value()?,
                "threadState" if self.crashed || out.triggered == Lenient::Ok(true) => {
                    out.thread_state = map.next_value()?;
                }
                _ => {
                    map.next_value::<serde::de::IgnoredAny>()?;
                }
            }
        }
        Ok(out)
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<RawThread, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(RawThread {
            wrong: Some("array"),
            ..RawThread::default()
        })
    }
    fn visit_unit<E>(self) -> Result<RawThread, E> {
        Ok(RawThread::default())
    }
    super::lenient::scalars_are_wrong!(found => RawThread { wrong: Some(found), ..RawThread::default() });
}

lenient_struct! {
    /// `{value, symbol?, symbolLocation?, description?}`: one register of `threadState`. A
    /// register that is not an object has no value and is left out, without a warning.
    #[allow(dead_code, reason = "`wrong` is not reported for registers")]
    pub struct RawRegister {
        "value" => value: Lenient<u64>,
        "symbol" => symbol: Lenient<String>,
        "description" => description: Lenient<String>,
    }
}

/// A value of `threadState`: the `flavor` string, the `x` array of arm64 registers, or one named
/// register. Read into these shapes directly: a generic JSON tree of ~35 small objects per thread
/// cost more than the rest of the body.
#[derive(Debug, Clone, Default)]
pub enum RawStateValue {
    Text(String),
    Registers(Vec<RawRegister>),
    Register(RawRegister),
    #[default]
    Other,
}

impl<'de> serde::Deserialize<'de> for RawStateValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawStateValue;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a register, a list of registers, or a string")
            }
            fn visit_str<E>(self, v: &str) -> Result<Self::Value, E> {
                Ok(RawStateValue::Text(v.to_owned()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(r) = seq.next_element::<RawRegister>()? {
                    out.push(r);
                }
                Ok(RawStateValue::Registers(out))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                map: A,
            ) -> Result<Self::Value, A::Error> {
                use serde::Deserialize;
                RawRegister::deserialize(serde::de::value::MapAccessDeserializer::new(map))
                    .map(RawStateValue::Register)
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(RawStateValue::Other)
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(RawStateValue::Other)
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(RawStateValue::Other)
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(RawStateValue::Other)
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(RawStateValue::Other)
            }
        }
        d.deserialize_any(V)
    }
}

lenient_struct! {
    pub struct RawImage {
        "name" => name: Lenient<String>,
        "path" => path: Lenient<String>,
        "uuid" => uuid: Lenient<String>,
        "base" => base: Lenient<u64>,
        "size" => size: Lenient<u64>,
        "arch" => arch: Lenient<String>,
        "source" => source: Lenient<String>,
        "CFBundleIdentifier" => bundle_id: Lenient<String>,
        "CFBundleShortVersionString" => bundle_version: Lenient<String>,
        "CFBundleVersion" => bundle_build: Lenient<String>,
    }
    seq => compact_image
}

lenient_struct! {
    /// `legacyInfo.imageExtraInfo[i]` of a version 1 body: the name and path of `usedImages[i]`.
    #[allow(dead_code, reason = "an entry of another shape is skipped, not reported")]
    pub struct RawImageExtra {
        "name" => name: Lenient<String>,
        "path" => path: Lenient<String>,
        "arch" => arch: Lenient<String>,
        "size" => size: Lenient<u64>,
    }
}

lenient_struct! {
    pub struct RawThreadTriggered {
        "name" => name: Lenient<String>,
        "queue" => queue: Lenient<String>,
    }
}

lenient_struct! {
    pub struct RawLegacyInfo {
        "threadTriggered" => thread_triggered: RawThreadTriggered,
        "imageExtraInfo" => image_extra_info: LenientVec<RawImageExtra>,
    }
}

lenient_struct! {
    /// The report body. Keys not listed here are kept in `extra`, untouched. `wrong` is set when
    /// the body is not a JSON object.
    pub struct RawBody {
        "bug_type" => bug_type: Lenient<String>,
        "incident" => incident: Lenient<String>,
        "procName" => proc_name: Lenient<String>,
        "procPath" => proc_path: Lenient<String>,
        "pid" => pid: Lenient<u64>,
        "parentProc" => parent_proc: Lenient<String>,
        "parentPid" => parent_pid: Lenient<u64>,
        "responsibleProc" => responsible_proc: Lenient<String>,
        "responsiblePid" => responsible_pid: Lenient<u64>,
        "userID" => user_id: Lenient<u64>,
        "cpuType" => cpu_type: Lenient<String>,
        "translated" => translated: Lenient<bool>,
        "procLaunch" => proc_launch: Lenient<String>,
        "captureTime" => capture_time: Lenient<String>,
        "modelCode" => model_code: Lenient<String>,
        "osVersion" => os_version: RawOsVersion,
        "bundleInfo" => bundle_info: RawBundleInfo,
        "isNonFatal" => is_non_fatal: Lenient<bool>,
        "isSimulated" => is_simulated: Lenient<bool>,
        "exception" => exception: Option<RawException>,
        "exceptionReason" => exception_reason: Option<RawExceptionReason>,
        "termination" => termination: Option<RawTermination>,
        "asi" => asi: LenientMap<LenientVec<Lenient<String>>>,
        "faultingThread" => faulting_thread: Lenient<u64>,
        "threads" => threads: LenientVec<RawThread> [seed threads_after],
        "lastExceptionBacktrace" => last_exception_backtrace: LenientVec<RawFrame>,
        "usedImages" => used_images: LenientVec<RawImage>,
        "legacyInfo" => legacy_info: RawLegacyInfo,
        // Version 1 bodies keep the crashed thread's registers at the top level.
        "threadState" => thread_state: Option<StateOf>,
        "version" => version: Lenient<u64>,
        // Non-crash bodies (panics, jetsam) describe themselves with these.
        "panicString" => panic_string: Lenient<String>,
        "string" => string: Lenient<String>,
        "product" => product: Lenient<String>,
        "build" => build: Lenient<String>,
        "largestProcess" => largest_process: Lenient<String>,
    }
    extra => extra
}

impl RawBody {
    /// Whether a JSON object looks like a report body rather than a header line.
    pub fn has_body_keys(&self) -> bool {
        self.wrong.is_none()
            && (self.proc_name.ok().is_some()
                || self.threads.0.ok().is_some()
                || self.exception.is_some()
                || self.used_images.0.ok().is_some()
                || self.panic_string.ok().is_some()
                || self.pid.ok().is_some())
    }
}

/// Reads the first JSON value of `text` as a report body. Returns the body and how many bytes it
/// took (so the caller can tell whether text follows it).
/// `None` when `text` holds nothing but whitespace.
/// With [`Frames::Skim`], the frames of each thread `faultingThread` does not name are kept as
/// text for [`build`] to read or not.
pub fn read_body(
    text: &str,
    frames: Frames,
) -> Option<Result<(RawBody, usize), serde_json::Error>> {
    let _skimming = Skimming::start(matches!(frames, Frames::Skim(_)));
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<RawBody>();
    let first = stream.next()?;
    Some(first.map(|body| (body, stream.byte_offset())))
}

thread_local! {
    /// Whether the body being read on this thread is skimmed ([`read_body`]). The threads'
    /// seed needs to know, and serde_json gives the offset where a body ends ([`read_body`]'s
    /// second value) only through its stream reader, which reads a type, not a seed: so the
    /// mode reaches the seed this way, set for the read and reset after it, also on a panic.
    static SKIMMING: std::cell::Cell<bool> = const { std::cell::Cell::new(false) };
}

/// Sets [`SKIMMING`] for as long as it lives.
struct Skimming(bool);

impl Skimming {
    fn start(on: bool) -> Skimming {
        Skimming(SKIMMING.with(|s| s.replace(on)))
    }
}

impl Drop for Skimming {
    fn drop(&mut self) {
        SKIMMING.with(|s| s.set(self.0));
    }
}

/// Reads a header line. `None` when the line is not a JSON object with a `bug_type`.
pub fn read_header(line: &str) -> Option<RawHeader> {
    let header: RawHeader = serde_json::from_str(line.trim()).ok()?;
    header.is_header().then_some(header)
}

/// [`read_header`], or a header the body follows on the same line (`{"app_name":...}{`: the line
/// break between them lost, as when a paste's lines are run together or the file is flattened to
/// one line): the header and how many bytes of `line` it took, the body starting there.
pub fn read_header_then_body(line: &str) -> Option<(RawHeader, usize)> {
    // One parse of the line's first JSON value: what follows it is nothing (a header line) or
    // the body's `{`.
    let start = line.len() - line.trim_start().len();
    let mut values =
        serde_json::Deserializer::from_str(line.get(start..)?).into_iter::<RawHeader>();
    let header = values.next()?.ok().filter(RawHeader::is_header)?;
    let used = start + values.byte_offset();
    let after = line.get(used..)?.trim_start();
    if after.is_empty() {
        Some((header, line.len()))
    } else {
        after.starts_with('{').then_some((header, used))
    }
}

/// Builds the report from a header (absent for body-only files) and a body.
pub fn build(
    header: Option<&RawHeader>,
    mut body: RawBody,
    format: SourceFormat,
    container: Container,
    mut warnings: Warnings,
    read: Frames,
) -> Report {
    let w = &mut warnings;
    let bug_type = w
        .take(
            header.map_or(&Lenient::Missing, |h| &h.bug_type),
            "header.bug_type",
        )
        .or_else(|| w.take(&body.bug_type, "bug_type"));
    let non_fatal = w.take(&body.is_non_fatal, "isNonFatal") == Some(true)
        || w.take(&body.is_simulated, "isSimulated") == Some(true);
    let kind = match bug_type.as_deref() {
        Some(bt) => match bugtype::kind(bt) {
            ReportKind::Crash if non_fatal => ReportKind::NonFatal,
            k => k,
        },
        None => {
            w.push(
                "bug_type",
                "no bug_type in header or body: assumed to be a crash (309)",
            );
            if non_fatal {
                ReportKind::NonFatal
            } else {
                ReportKind::Crash
            }
        }
    };
    if let Some(version) = body.version.ok()
        && *version < 2
        && body.threads.0.ok().is_some()
    {
        w.push(
            "version",
            format!(
                "body schema version {version} (before macOS 12): read in its compact form; some fields may be missing"
            ),
        );
    }

    for (found, at) in [
        (body.bundle_info.wrong, "bundleInfo"),
        (body.exception.as_ref().and_then(|e| e.wrong), "exception"),
        (
            body.exception_reason.as_ref().and_then(|e| e.wrong),
            "exceptionReason",
        ),
        (
            body.termination.as_ref().and_then(|t| t.wrong),
            "termination",
        ),
        (body.legacy_info.wrong, "legacyInfo"),
        (
            body.legacy_info.thread_triggered.wrong,
            "legacyInfo.threadTriggered",
        ),
    ] {
        if let Some(found) = found {
            w.push(at, format!("expected an object, found {found}"));
        }
    }

    w.wrong(&body.used_images.0, "usedImages");
    let extra_info = std::mem::take(&mut body.legacy_info.image_extra_info).into_items();
    let images: Vec<Image> = std::mem::take(&mut body.used_images)
        .into_items()
        .into_iter()
        .enumerate()
        .map(|(i, raw)| {
            let mut image = image(raw, At(&"usedImages", i), w);
            if let Some(extra) = extra_info.get(i) {
                image.name = image.name.or_else(|| extra.name.ok().cloned());
                image.path = image.path.or_else(|| extra.path.ok().cloned());
                image.arch = image.arch.or_else(|| extra.arch.ok().cloned());
                image.size = image.size.or_else(|| extra.size.ok().copied());
            }
            if image.name.is_none() {
                // A name from the path, as the text reports print it.
                image.name = image.file_name().map(str::to_owned);
            }
            image
        })
        .collect();

    w.wrong(&body.threads.0, "threads");
    let raw_threads = std::mem::take(&mut body.threads).into_items();
    let crashed_thread = crashed_index(&body, &raw_threads);
    let skimmer = match read {
        Frames::All => None,
        Frames::Skim(skim) => Some(Skimmer::new(skim, &images)),
    };
    let mut threads: Vec<Thread> = Vec::with_capacity(raw_threads.len());
    let mut states = Vec::with_capacity(raw_threads.len());
    for (i, mut raw) in raw_threads.into_iter().enumerate() {
        let at = At(&"threads", i);
        if let Some(found) = raw.wrong {
            w.push(at.to_string(), format!("expected an object, found {found}"));
        }
        let frames_at = Field(&at, "frames");
        let mut frames_skipped = false;
        if let Some(text) = raw.frames_text.take() {
            let skip = crashed_thread != Some(i)
                && skimmer
                    .as_ref()
                    .is_some_and(|skimmer| !skimmer.may_hold(text.get()));
            if skip {
                frames_skipped = true;
            } else {
                raw.frames = serde_json::from_str(text.get()).unwrap_or_else(|e| {
                    // Not seen: the text was read as JSON once already, within the same depth.
                    w.push(
                        frames_at.to_string(),
                        format!("could not be read again: {e}"),
                    );
                    LenientVec::default()
                });
            }
        }
        w.wrong(&raw.frames.0, frames_at);
        let frames = frames(raw.frames.into_items(), &images, &frames_at, w);
        threads.push(Thread {
            index: i,
            id: w.own_at(raw.id, || format!("{at}.id")),
            name: w.own_at(raw.name, || format!("{at}.name")),
            queue: w.own_at(raw.queue, || format!("{at}.queue")),
            triggered: w.own_at(raw.triggered, || format!("{at}.triggered")) == Some(true),
            frames,
            frames_skipped,
            state: None,
        });
        states.push(raw.thread_state);
    }
    w.wrong(&body.faulting_thread, "faultingThread");
    if let Err(i) = faulting_index(&body, threads.len()) {
        w.push(
            "faultingThread",
            format!(
                "points at thread {i}, but the report has {} threads; using the triggered thread",
                threads.len()
            ),
        );
    }
    if let Some(i) = crashed_thread
        && let Some(t) = threads.get_mut(i)
    {
        let legacy = &body.legacy_info.thread_triggered;
        if t.name.is_none() {
            t.name = legacy.name.ok().cloned();
        }
        if t.queue.is_none() {
            t.queue = legacy.queue.ok().cloned();
        }
        t.state = states
            .get_mut(i)
            .and_then(Option::take)
            .or(body.thread_state.take())
            .and_then(|s| s.0);
    }

    let last_exception_backtrace = frames(
        std::mem::take(&mut body.last_exception_backtrace).into_items(),
        &images,
        &"lastExceptionBacktrace",
        w,
    );

    let exception = body.exception.as_ref().map(|raw| {
        let mut e = Exception {
            r#type: w.take(&raw.r#type, "exception.type"),
            signal: w.take(&raw.signal, "exception.signal"),
            subtype: w.take(&raw.subtype, "exception.subtype"),
            codes: w.take(&raw.codes, "exception.codes"),
            raw_codes: raw
                .raw_codes
                .items()
                .iter()
                .filter_map(|c| c.ok().copied())
                .collect(),
            message: w.take(&raw.message, "exception.message"),
            address: None,
            pac_failure: false,
        };
        let crashed = crashed_thread.and_then(|i| threads.get(i));
        fill_address(&mut e, crashed);
        e
    });

    let termination = body.termination.as_ref().map(|raw| Termination {
        namespace: w.take(&raw.namespace, "termination.namespace"),
        code: w.take(&raw.code, "termination.code"),
        indicator: w.take(&raw.indicator, "termination.indicator"),
        by_proc: w.take(&raw.by_proc, "termination.byProc"),
        by_pid: w.take(&raw.by_pid, "termination.byPid"),
        reasons: strings(raw.reasons.items()),
        details: strings(raw.details.items()),
    });

    let mut app_specific = AppSpecific::default();
    for (image, messages) in body.asi.entries() {
        for text in messages.items().iter().filter_map(|m| m.ok()) {
            app_specific.messages.push(AppMessage {
                image: image.clone(),
                text: text.clone(),
            });
        }
    }
    w.wrong(&body.asi.0, "asi");
    if let Some(reason) = &body.exception_reason {
        app_specific.exception_reason = reason
            .composed_message
            .ok()
            .or_else(|| reason.reason.ok())
            .cloned();
        app_specific.exception_name = reason.name.ok().cloned();
    }
    if app_specific.exception_reason.is_none()
        && let Some((name, reason)) = super::util::find_exception_reason(
            app_specific.messages.iter().map(|m| m.text.as_str()),
        )
    {
        app_specific.exception_reason = reason;
        app_specific.exception_name = app_specific.exception_name.take().or(name);
    }
    app_specific.assertion = super::util::find_assertion(
        app_specific
            .messages
            .iter()
            .map(|m| m.text.as_str())
            .chain(app_specific.exception_reason.as_deref()),
    );

    let header_name = header.and_then(|h| h.name.ok().or_else(|| h.app_name.ok()).cloned());
    let process = Process {
        name: w.take(&body.proc_name, "procName").or(header_name),
        pid: w.take(&body.pid, "pid"),
        path: w.take(&body.proc_path, "procPath"),
        identifier: w
            .take(&body.bundle_info.id, "bundleInfo.CFBundleIdentifier")
            .or_else(|| header.and_then(|h| h.bundle_id.ok().cloned())),
        version: w
            .take(
                &body.bundle_info.short_version,
                "bundleInfo.CFBundleShortVersionString",
            )
            .or_else(|| header.and_then(|h| h.app_version.ok().filter(|v| !v.is_empty()).cloned())),
        parent_name: w.take(&body.parent_proc, "parentProc"),
        parent_pid: w.take(&body.parent_pid, "parentPid"),
        responsible_name: w.take(&body.responsible_proc, "responsibleProc"),
        responsible_pid: w.take(&body.responsible_pid, "responsiblePid"),
        user_id: w.take(&body.user_id, "userID"),
        cpu_type: w.take(&body.cpu_type, "cpuType"),
        translated: w.take(&body.translated, "translated"),
        launch_time: time(w.take(&body.proc_launch, "procLaunch"), "procLaunch", w),
    };

    let mut os = OsVersion {
        train: w
            .take(&body.os_version.train, "osVersion.train")
            .filter(|s| !s.is_empty()),
        build: w
            .take(&body.os_version.build, "osVersion.build")
            .filter(|s| !s.is_empty()),
        release_type: w
            .take(&body.os_version.release_type, "osVersion.releaseType")
            .filter(|s| !s.is_empty()),
    };
    if let Some(found) = body.os_version.wrong {
        w.push("osVersion", format!("expected an object, found {found}"));
    }
    if let Some(text) = header.and_then(|h| h.os_version.ok()) {
        let parsed = parse_os_version(text);
        os.train = os.train.or(parsed.train);
        os.build = os.build.or(parsed.build);
    }
    if os.build.is_none() {
        os.build = body.build.ok().cloned();
    }

    let capture_time =
        time(w.take(&body.capture_time, "captureTime"), "captureTime", w).or_else(|| {
            // The header timestamp is when the log was written, not when the process crashed; it is
            // the best we have when the body has no captureTime.
            header
                .and_then(|h| h.timestamp.ok())
                .and_then(|t| parse_time(t))
        });

    let summary = match kind {
        ReportKind::Crash | ReportKind::NonFatal => None,
        _ => body
            .panic_string
            .ok()
            .or_else(|| body.string.ok())
            .map(|s| s.lines().next().unwrap_or_default().trim().to_owned())
            .or_else(|| {
                body.largest_process
                    .ok()
                    .map(|p| format!("largest process: {p}"))
            }),
    };

    let unknown_images = w.unknown_images().filter(|&n| n > 0);
    let mut report = Report {
        format,
        container,
        kind,
        bug_type_name: bug_type
            .as_deref()
            .and_then(bugtype::name)
            .map(str::to_owned),
        bug_type,
        incident_id: w
            .take(&body.incident, "incident")
            .or_else(|| header.and_then(|h| h.incident_id.ok().cloned())),
        process,
        os,
        hardware_model: w
            .take(&body.model_code, "modelCode")
            .or_else(|| body.product.ok().cloned()),
        capture_time,
        exception,
        termination,
        app_specific,
        crashed_thread,
        threads,
        last_exception_backtrace,
        images,
        warnings: warnings.into_vec(),
        cut: None,
        damaged: None,
        summary,
        extra: body
            .extra
            .into_iter()
            .map(|(k, v)| (k, Box::<str>::from(v)))
            .collect(),
    };
    // Frames name images by their place in `usedImages`, which comes after the threads: in a
    // body cut before its images end, one warning says it for all the frames of images past it.
    if let Some(n) = unknown_images {
        report.warnings.push(Warning {
            at: "usedImages".into(),
            message: format!("{n} frame(s) name images the cut left out; their images are unknown"),
        });
    }
    report
}

/// `faultingThread`, an index into the `count` threads (not a thread id): `Ok(None)` when the
/// body has none, `Err` with its value when it points past them.
fn faulting_index(body: &RawBody, count: usize) -> Result<Option<usize>, u64> {
    match body.faulting_thread.ok().copied() {
        Some(i) if (i as usize) < count && i <= usize::MAX as u64 => Ok(Some(i as usize)),
        Some(i) => Err(i),
        None => Ok(None),
    }
}

/// The crashed thread: the one `faultingThread` names. Older and some third-party writers omit
/// it; the thread with `triggered: true` is the crashed one then, and when it points past the
/// threads.
fn crashed_index(body: &RawBody, threads: &[RawThread]) -> Option<usize> {
    match faulting_index(body, threads.len()) {
        Ok(Some(i)) => Some(i),
        _ => threads
            .iter()
            .position(|t| t.triggered == Lenient::Ok(true)),
    }
}

/// What a skimming read looks for in the text of a thread's `frames` ([`Frames::Skim`]), made
/// once per report: the searchers cost more to make than to run over one thread.
struct Skimmer {
    /// Whether a frame in image `i` is wanted.
    wanted: Vec<bool>,
    needles: Vec<memchr::memmem::Finder<'static>>,
    key: memchr::memmem::Finder<'static>,
}

impl Skimmer {
    fn new(skim: Skim, images: &[Image]) -> Skimmer {
        Skimmer {
            wanted: images.iter().map(skim.image).collect(),
            needles: skim
                .needles
                .iter()
                .map(|n| memchr::memmem::Finder::new(n.as_bytes()))
                .collect(),
            key: memchr::memmem::Finder::new(b"\"imageIndex\""),
        }
    }

    /// Whether `text` may hold a frame in a wanted image (by its place in `usedImages`), or any
    /// of the needles. `false` only when sure: every `"imageIndex"` in the text is a plain
    /// number of an image not wanted, the frames are an array of objects, and no escape
    /// (`\u0041`, `\"`) can hide a key or a needle.
    fn may_hold(&self, text: &str) -> bool {
        let bytes = text.as_bytes();
        if !text.starts_with('[')
            || memchr::memchr(b'\\', bytes).is_some()
            || self.needles.iter().any(|n| n.find(bytes).is_some())
        {
            return true;
        }
        // A frame in the compact spelling, `[image, offset]`, is an array in the array: a `[`
        // after the opening one or after a comma. Objective-C symbols hold brackets too
        // (`-[NSObject init]`), after a quote or a sign; one after a comma inside a string only
        // costs a read.
        for at in memchr::memchr_iter(b'[', bytes).skip(1) {
            let before = bytes.get(..at).unwrap_or_default().trim_ascii_end();
            if matches!(before.last(), Some(b',' | b'[')) {
                return true;
            }
        }
        let key = self.key.needle().len();
        for at in self.key.find_iter(bytes) {
            let rest = bytes.get(at + key..).unwrap_or_default().trim_ascii_start();
            let Some(rest) = rest.strip_prefix(b":") else {
                return true;
            };
            let rest = rest.trim_ascii_start();
            let digits = rest.iter().take_while(|b| b.is_ascii_digit()).count();
            let after = rest.get(digits).copied();
            let number = rest
                .get(..digits)
                .and_then(|d| std::str::from_utf8(d).ok())
                .and_then(|d| d.parse::<usize>().ok());
            match (number, after) {
                (Some(n), Some(b',' | b'}' | b' ' | b'\t' | b'\n' | b'\r'))
                    if self.wanted.get(n) == Some(&false) => {}
                _ => return true,
            }
        }
        false
    }
}

fn strings(items: &[Lenient<String>]) -> Vec<String> {
    items.iter().filter_map(|s| s.ok().cloned()).collect()
}

fn time(
    text: Option<String>,
    at: &str,
    w: &mut Warnings,
) -> Option<chrono::DateTime<chrono::FixedOffset>> {
    let text = text?;
    let parsed = parse_time(&text);
    if parsed.is_none() {
        w.push(at, format!("unrecognised time {text:?}"));
    }
    parsed
}

fn image(raw: RawImage, at: At, w: &mut Warnings) -> Image {
    if let Some(found) = raw.wrong {
        w.push(at.to_string(), format!("expected an object, found {found}"));
    }
    Image {
        name: w.own_at(raw.name, || format!("{at}.name")),
        path: w.own_at(raw.path, || format!("{at}.path")),
        uuid: w
            .own_at(raw.uuid, || format!("{at}.uuid"))
            .map(|u| u.to_ascii_lowercase()),
        base: w.own_at(raw.base, || format!("{at}.base")),
        size: w.own_at(raw.size, || format!("{at}.size")),
        arch: w.own_at(raw.arch, || format!("{at}.arch")),
        bundle_id: w.own_at(raw.bundle_id, || format!("{at}.CFBundleIdentifier")),
        bundle_version: w.own_at(raw.bundle_version, || {
            format!("{at}.CFBundleShortVersionString")
        }),
        bundle_build: w.own_at(raw.bundle_build, || format!("{at}.CFBundleVersion")),
        source: w.own_at(raw.source, || format!("{at}.source")),
    }
}

/// `threads[3].frames[7]`, formatted only when a warning needs it: a body has thousands of
/// frames, and formatting each one's place cost 1 % of `classify` (issue 17).
#[derive(Clone, Copy)]
struct At<'a>(&'a dyn std::fmt::Display, usize);

impl std::fmt::Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{}[{}]", self.0, self.1)
    }
}

/// `threads[3].frames`: a key inside a place, formatted only when a warning needs it.
#[derive(Clone, Copy)]
struct Field<'a>(&'a dyn std::fmt::Display, &'static str);

impl std::fmt::Display for Field<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "{}.{}", self.0, self.1)
    }
}

fn frames(
    raw: Vec<RawFrame>,
    images: &[Image],
    at: &dyn std::fmt::Display,
    w: &mut Warnings,
) -> Vec<Frame> {
    raw.into_iter()
        .enumerate()
        .map(|(i, f)| {
            let at = At(at, i);
            if let Some(found) = f.wrong {
                w.push(at.to_string(), format!("expected an object, found {found}"));
            }
            let image_index = match w.own_at(f.image_index, || format!("{at}.imageIndex")) {
                Some(idx) if (idx as usize) < images.len() && idx <= usize::MAX as u64 => {
                    Some(idx as usize)
                }
                Some(_) if w.counted_unknown_image() => None,
                Some(idx) => {
                    w.push(
                        format!("{at}.imageIndex"),
                        format!(
                            "image {idx} does not exist (the report lists {} images)",
                            images.len()
                        ),
                    );
                    None
                }
                None => None,
            };
            let image = image_index.and_then(|i| images.get(i));
            let image_offset = w.own_at(f.image_offset, || format!("{at}.imageOffset"));
            let symbol = w
                .own_at(f.symbol, || format!("{at}.symbol"))
                .filter(|s: &String| !is_placeholder_symbol(s));
            // The offset into a placeholder is an offset into no known function.
            let symbol_offset = w
                .own_at(f.symbol_location, || format!("{at}.symbolLocation"))
                .filter(|_| symbol.is_some());
            Frame {
                number: None,
                image_index,
                image: image.and_then(|i| i.name.clone()),
                symbolicated_by: if symbol.is_some() {
                    SymbolSource::Report
                } else {
                    SymbolSource::None
                },
                symbol_file: None,
                symbol,
                symbol_offset,
                address: image
                    .and_then(|i| i.base)
                    .zip(image_offset)
                    .and_then(|(base, off)| base.checked_add(off)),
                image_offset,
                inline: w.own_at(f.inline, || format!("{at}.inline")) == Some(true),
                source_file: w.own_at(f.source_file, || format!("{at}.sourceFile")),
                source_line: w.own_at(f.source_line, || format!("{at}.sourceLine")),
            }
        })
        .collect()
}

/// Registers from `threadState`: `x` is an array of 29 registers on arm64; the others are named
/// objects `{value, symbol?, symbolLocation?, description?}`. Read straight into the model's
/// registers, each value moved rather than copied. Anything but an object is no state; values
/// of other shapes are left out. Unknown shapes are skipped by serde_json without recursion, so
/// deep nesting inside the registers does not stop the report (tests/bad_input.rs).
#[derive(Debug, Clone, Default)]
pub struct StateOf(Option<ThreadState>);

/// `x0` to `x28` without formatting each: the names of arm64's numbered registers.
const X_NAMES: [&str; 29] = [
    "x0", "x1", "x2", "x3", "x4", "x5", "x6", "x7", "x8", "x9", "x10", "x11", "x12", "x13", "x14",
    "x15", "x16", "x17", "x18", "x19", "x20", "x21", "x22", "x23", "x24", "x25", "x26", "x27",
    "x28",
];

fn register(name: String, r: RawRegister) -> Option<Register> {
    Some(Register {
        name,
        value: r.value.into_ok()?,
        symbol: r.symbol.into_ok(),
        description: r.description.into_ok(),
    })
}

impl<'de> serde::Deserialize<'de> for StateOf {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        use super::lenient::{Key, scalars_are_wrong};
        use serde::de::{IgnoredAny, MapAccess, SeqAccess};
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = StateOf;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StateOf, A::Error> {
                let mut out = ThreadState {
                    flavor: None,
                    registers: Vec::new(),
                };
                while let Some(key) = map.next_key::<Key<'de>>()? {
                    let key = key.as_str();
                    match map.next_value::<RawStateValue>()? {
                        RawStateValue::Text(flavor) if key == "flavor" => out.flavor = Some(flavor),
                        RawStateValue::Registers(xs) if key == "x" => {
                            for (i, r) in xs.into_iter().enumerate() {
                                let name = X_NAMES
                                    .get(i)
                                    .map_or_else(|| format!("x{i}"), |n| (*n).to_owned());
                                out.registers.extend(register(name, r));
                            }
                        }
                        RawStateValue::Register(r) => {
                            out.registers.extend(register(key.to_owned(), r));
                        }
                        _ => {}
                    }
                }
                Ok(StateOf(Some(out)))
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StateOf, A::Error> {
                while seq.next_element::<IgnoredAny>()?.is_some() {}
                Ok(StateOf(None))
            }
            fn visit_unit<E>(self) -> Result<StateOf, E> {
                Ok(StateOf(None))
            }
            scalars_are_wrong!(_found => StateOf(None));
        }
        d.deserialize_any(V)
    }
}

/// The faulting address, for memory-access exceptions only: `far` (arm64) or `cr2` (x86) from the
/// crashed thread's registers is exact; the subtype text is the fallback.
pub fn fill_address(e: &mut Exception, crashed: Option<&Thread>) {
    let subtype = e.subtype.as_deref().unwrap_or_default();
    e.pac_failure = subtype.contains("pointer authentication");
    // `EXC_CRASH (SIGSEGV)` is a signal that was *sent* (by a handler's re-raise, `kill`): the
    // process did not fault, so it has no fault address, and its registers' `far` is whatever
    // the thread last faulted on. Only a fault, or a bare-signal report (PLCrashReporter writes
    // `SIGSEGV` alone), has one.
    let bare_signal = e.r#type.is_none() || e.r#type == e.signal;
    let is_memory = matches!(e.r#type.as_deref(), Some(t) if t.starts_with("EXC_BAD_ACCESS"))
        || (bare_signal && matches!(e.signal.as_deref(), Some("SIGSEGV" | "SIGBUS")));
    if !is_memory {
        return;
    }
    // After a signal handler ran on the thread (a `_sigtramp` frame), its registers are the
    // handler's, taken when the process died, not the fault's: the exception's own address is.
    let handler_ran = crashed.is_some_and(|t| {
        t.frames
            .iter()
            .any(|f| f.symbol.as_deref().map(str::trim) == Some("_sigtramp"))
    });
    let register = crashed
        .filter(|_| !handler_ran)
        .and_then(|t| t.state.as_ref())
        .and_then(|s| {
            s.registers
                .iter()
                .find(|r| r.name == "far" || r.name == "cr2")
        })
        .map(|r| r.value);
    e.address = register.or_else(|| subtype_address(subtype));
    if e.address.is_none() && e.raw_codes.len() >= 2 {
        e.address = e.raw_codes.get(1).copied();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A header line whole, or with the body run on after it; not when something else follows.
    #[test]
    fn a_header_with_the_body_on_its_line() {
        let header = r#"{"app_name":"Python","bug_type":"309","name":"Python","incident_id":"X"}"#;
        let whole = read_header_then_body(header).map(|(_, used)| used);
        assert_eq!(whole, Some(header.len()));
        for (line, body_at) in [
            (format!("{header}{{"), header.len()),
            (format!("  {header} {{\"uptime\":1}}"), header.len() + 2),
        ] {
            assert_eq!(
                read_header_then_body(&line).map(|(_, used)| used),
                Some(body_at),
                "{line}"
            );
        }
        assert!(read_header_then_body(&format!("{header} trailing")).is_none());
        assert!(read_header_then_body(r#"{"uptime":1}{"#).is_none());
    }
}
