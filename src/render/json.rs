//! The JSON documents crashdelta prints. Field names are a public interface documented in
//! `docs/json.md`; change them only with a new `schema` version.
//!
//! Addresses are hex strings (`"0x98"`): JSON numbers above 2^53 lose precision in most readers,
//! and arm64 addresses with pointer-authentication bits are far above that.

use std::io::{self, Write};

use serde::Serialize;

use crate::Tool;
use crate::analyze::{Analysis, AnalysisError, Status};
use crate::classify::{Driver, FixedIn, OnTop, Racing, Regression};
use crate::report::{
    Container, Cut, Exception, Frame, Image, NotAReport, ParseError, Process, Report, ReportKind,
    SourceFormat, SymbolSource, Thread, Warning,
};

/// The `schema` of the `classify --format json` document.
pub const CLASSIFY_SCHEMA: &str = "crashdelta.classify/2";
/// The `schema` of the whole-report document (`show --format json`, `symbolicate --format json`).
pub const REPORT_SCHEMA: &str = "crashdelta.report/1";

/// A number written as a JSON string in hex (`"0x98"`), without a `String` of its own: a
/// `classify` document writes two per frame, and formatting each into a fresh `String` was 4 % of
/// the command's CPU over 2000 reports (docs/performance.md).
#[derive(Clone, Copy)]
struct Hex(u64);

fn hex(v: u64) -> Hex {
    Hex(v)
}

impl Serialize for Hex {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        const DIGITS: &[u8; 16] = b"0123456789abcdef";
        // `0x` and at most 16 digits, filled from the end.
        let mut buf = [0u8; 18];
        let mut at = buf.len();
        let mut v = self.0;
        loop {
            at -= 1;
            // Both indexes are in range: `at` counts down from 18 and stops at 2 (16 digits
            // at most), and a nibble is below 16.
            if let (Some(slot), Some(&digit)) = (buf.get_mut(at), DIGITS.get((v & 0xf) as usize)) {
                *slot = digit;
            }
            v >>= 4;
            if v == 0 {
                break;
            }
        }
        at -= 2;
        if let Some(prefix) = buf.get_mut(at..at + 2) {
            prefix.copy_from_slice(b"0x");
        }
        // Only ASCII was written.
        let text = buf
            .get(at..)
            .and_then(|b| std::str::from_utf8(b).ok())
            .unwrap_or_default();
        serializer.serialize_str(text)
    }
}

#[derive(Serialize)]
struct OsOut<'a> {
    train: Option<&'a str>,
    build: Option<&'a str>,
    release_type: Option<&'a str>,
}

#[derive(Serialize)]
struct ExceptionOut<'a> {
    r#type: Option<&'a str>,
    signal: Option<&'a str>,
    subtype: Option<&'a str>,
    codes: Option<&'a str>,
    message: Option<&'a str>,
    address: Option<Hex>,
    pac_failure: bool,
}

impl<'a> From<&'a Exception> for ExceptionOut<'a> {
    fn from(e: &'a Exception) -> Self {
        ExceptionOut {
            r#type: e.r#type.as_deref(),
            signal: e.signal.as_deref(),
            subtype: e.subtype.as_deref(),
            codes: e.codes.as_deref(),
            message: e.message.as_deref(),
            address: e.address.map(hex),
            pac_failure: e.pac_failure,
        }
    }
}

#[derive(Serialize)]
struct TerminationOut<'a> {
    namespace: Option<&'a str>,
    code: Option<u64>,
    indicator: Option<&'a str>,
    by_proc: Option<&'a str>,
    by_pid: Option<u64>,
    reasons: &'a [String],
    details: &'a [String],
}

/// One frame as the JSON documents write it (`crashed_thread.frames[]`, `threads[].frames[]`,
/// `last_exception_backtrace[]`), addresses as hex strings.
#[derive(Serialize)]
pub struct FrameOut<'a> {
    /// The frame's number: the report's own for text reports, else its position.
    index: usize,
    image: Option<&'a str>,
    symbol: Option<&'a str>,
    /// Offset into the function (`symbolLocation`).
    offset: Option<u64>,
    image_offset: Option<Hex>,
    address: Option<Hex>,
    inline: bool,
    source_file: Option<&'a str>,
    source_line: Option<u64>,
    symbolicated_by: SymbolSource,
    symbol_file: Option<&'a str>,
}

/// Frame `f` of `report`, at position `index` in its list, as JSON writes it; a text report's own
/// frame number takes the place of `index`.
pub fn frame_out<'a>(report: &'a Report, index: usize, f: &'a Frame) -> FrameOut<'a> {
    FrameOut {
        index: f.number_or(index),
        image: crate::report::image_name_of(report, f),
        symbol: f.symbol.as_deref(),
        offset: f.symbol_offset,
        image_offset: f.image_offset.map(hex),
        address: f.address.map(hex),
        inline: f.inline,
        source_file: f.source_file.as_deref(),
        source_line: f.source_line,
        symbolicated_by: f.symbolicated_by,
        symbol_file: f.symbol_file.as_deref(),
    }
}

#[derive(Serialize)]
struct ThreadOut<'a> {
    index: usize,
    id: Option<u64>,
    name: Option<&'a str>,
    queue: Option<&'a str>,
    /// Whether this is the thread that crashed (only in the whole-report document).
    #[serde(skip_serializing_if = "Option::is_none")]
    crashed: Option<bool>,
    frames: Vec<FrameOut<'a>>,
}

impl<'a> ThreadOut<'a> {
    fn new(report: &'a Report, t: &'a Thread) -> Self {
        ThreadOut {
            index: t.index,
            id: t.id,
            name: t.name.as_deref(),
            queue: t.queue.as_deref(),
            crashed: None,
            frames: frames_out(report, &t.frames),
        }
    }
}

fn frames_out<'a>(report: &'a Report, frames: &'a [Frame]) -> Vec<FrameOut<'a>> {
    frames
        .iter()
        .enumerate()
        .map(|(i, f)| frame_out(report, i, f))
        .collect()
}

#[derive(Serialize)]
struct ImageOut<'a> {
    index: usize,
    name: Option<&'a str>,
    path: Option<&'a str>,
    uuid: Option<&'a str>,
    base: Option<Hex>,
    size: Option<u64>,
    arch: Option<&'a str>,
    bundle_id: Option<&'a str>,
    bundle_version: Option<&'a str>,
    bundle_build: Option<&'a str>,
    source: Option<&'a str>,
}

impl<'a> ImageOut<'a> {
    fn new(index: usize, i: &'a Image) -> Self {
        ImageOut {
            index,
            name: i.name.as_deref(),
            path: i.path.as_deref(),
            uuid: i.uuid.as_deref(),
            base: i.base.map(hex),
            size: i.size,
            arch: i.arch.as_deref(),
            bundle_id: i.bundle_id.as_deref(),
            bundle_version: i.bundle_version.as_deref(),
            bundle_build: i.bundle_build.as_deref(),
            source: i.source.as_deref(),
        }
    }
}

#[derive(Serialize)]
struct RegisterOut<'a> {
    name: &'a str,
    value: Hex,
    symbol: Option<&'a str>,
    description: Option<&'a str>,
}

#[derive(Serialize)]
struct StateOut<'a> {
    flavor: Option<&'a str>,
    registers: Vec<RegisterOut<'a>>,
}

#[derive(Serialize)]
struct MessageOut<'a> {
    image: &'a str,
    text: &'a str,
}

/// What only the whole-report document (`crashdelta.report/1`) has.
#[derive(Serialize)]
struct DetailOut<'a> {
    threads: Vec<ThreadOut<'a>>,
    /// The crashed thread's registers.
    registers: Option<StateOut<'a>>,
    last_exception_backtrace: Vec<FrameOut<'a>>,
    /// The `asi` / Application Specific Information messages with the image that wrote each.
    asi: Vec<MessageOut<'a>>,
    images: Vec<ImageOut<'a>>,
    /// Top-level `.ips` body keys crashdelta does not model, by name.
    other_keys: Vec<&'a str>,
}

#[derive(Serialize)]
struct ClassificationOut<'a> {
    rule: &'a str,
    title: &'a str,
    family: &'a str,
    known: bool,
    links: &'a [String],
    reason: &'a str,
    why: &'a [String],
    /// The rule's `fixed_in` versions, when it has them.
    fixed_in: Option<&'a FixedIn>,
    /// Set when the report is on a version at or after the fix.
    regression: Option<&'a Regression>,
}

#[derive(Serialize)]
struct AppSpecificOut<'a> {
    messages: Vec<&'a str>,
    assertion: Option<&'a str>,
    exception_name: Option<&'a str>,
    exception_reason: Option<&'a str>,
}

/// One input's object in `reports[]`.
#[derive(Serialize)]
pub struct ReportOut<'a> {
    path: &'a str,
    status: Status,
    reason: Option<String>,
    not_a_report: Option<NotAReport>,
    format: Option<SourceFormat>,
    container: Option<&'a Container>,
    kind: Option<ReportKind>,
    bug_type: Option<&'a str>,
    bug_type_name: Option<&'a str>,
    incident_id: Option<&'a str>,
    /// The one process object of every document.
    process: Option<&'a Process>,
    os: Option<OsOut<'a>>,
    hardware_model: Option<&'a str>,
    capture_time: Option<String>,
    exception: Option<ExceptionOut<'a>>,
    termination: Option<TerminationOut<'a>>,
    app_specific: Option<AppSpecificOut<'a>>,
    crashed_thread: Option<ThreadOut<'a>>,
    classification: Option<ClassificationOut<'a>>,
    signature: Option<&'a str>,
    signature_id: Option<&'a str>,
    location: Option<&'a str>,
    trigger: Option<&'a str>,
    /// The one driver object of every document.
    driver: Option<&'a Driver>,
    /// What the crash was read past: a signal handler, abort or exception machinery.
    on_top: Option<&'a OnTop>,
    /// Other threads inside Metal, MPS or the driver at crash time (GPU crashes).
    racing: Option<&'a [Racing]>,
    /// Where a text report that was cut short ends.
    cut: Option<&'a Cut>,
    /// Why this crash fails the gate (`--fail-on`), when it does.
    gate_failure: Option<&'a str>,
    warnings: &'a [Warning],
    /// The whole report (`show --format json` only).
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    detail: Option<DetailOut<'a>>,
}

impl<'a> ReportOut<'a> {
    /// Sets why this crash fails the gate (`gate_failure`), as the run record decided it.
    pub fn set_gate_failure(&mut self, why: Option<&'a str>) {
        self.gate_failure = why;
    }

    /// The report object of `docs/json.md` for one input: what the input is, and for a report its
    /// facts and classification, without the whole-report detail. `gate_failure` is left unset.
    pub fn new(outcome: &'a Analysis) -> Self {
        let mut out = ReportOut {
            path: &outcome.path,
            status: outcome.status(),
            reason: outcome.reason(),
            not_a_report: None,
            format: None,
            container: None,
            kind: None,
            bug_type: None,
            bug_type_name: None,
            incident_id: None,
            process: None,
            os: None,
            hardware_model: None,
            capture_time: None,
            exception: None,
            termination: None,
            app_specific: None,
            crashed_thread: None,
            classification: None,
            signature: None,
            signature_id: None,
            location: None,
            trigger: None,
            driver: None,
            on_top: None,
            racing: None,
            cut: None,
            gate_failure: None,
            warnings: &[],
            detail: None,
        };
        let (report, class) = match &outcome.result {
            Ok(a) => (&a.report, a.classification.as_ref()),
            Err(AnalysisError::Parse(ParseError::NotAReport { what, .. })) => {
                out.not_a_report = Some(*what);
                return out;
            }
            Err(_) => return out,
        };
        out.format = Some(report.format);
        out.container = Some(&report.container);
        out.kind = Some(report.kind);
        out.bug_type = report.bug_type.as_deref();
        out.bug_type_name = report.bug_type_name.as_deref();
        out.incident_id = report.incident_id.as_deref();
        out.process = Some(&report.process);
        out.os = Some(OsOut {
            train: report.os.train.as_deref(),
            build: report.os.build.as_deref(),
            release_type: report.os.release_type.as_deref(),
        });
        out.hardware_model = report.hardware_model.as_deref();
        out.capture_time = report.capture_time.map(|t| t.to_rfc3339());
        out.exception = report.exception.as_ref().map(ExceptionOut::from);
        out.termination = report.termination.as_ref().map(|t| TerminationOut {
            namespace: t.namespace.as_deref(),
            code: t.code,
            indicator: t.indicator.as_deref(),
            by_proc: t.by_proc.as_deref(),
            by_pid: t.by_pid,
            reasons: &t.reasons,
            details: &t.details,
        });
        let a = &report.app_specific;
        if !a.messages.is_empty() || a.exception_reason.is_some() || a.exception_name.is_some() {
            out.app_specific = Some(AppSpecificOut {
                messages: a.messages.iter().map(|m| m.text.as_str()).collect(),
                assertion: a.assertion.as_deref(),
                exception_name: a.exception_name.as_deref(),
                exception_reason: a.exception_reason.as_deref(),
            });
        }
        out.crashed_thread = report.crashed().map(|t| ThreadOut::new(report, t));
        out.cut = report.cut.as_ref();
        if let Some(c) = class {
            out.classification = Some(ClassificationOut {
                rule: &c.rule,
                title: &c.title,
                family: c.family.as_str(),
                known: c.known,
                links: &c.links,
                reason: &c.reason,
                why: &c.why,
                fixed_in: c.fixed_in.as_ref(),
                regression: c.regression.as_ref(),
            });
            out.signature = Some(&c.signature);
            out.signature_id = Some(&c.signature_id);
            out.location = c.location.as_deref();
            out.trigger = c.trigger.as_deref();
            out.driver = c.driver.as_ref();
            out.on_top = Some(&c.on_top);
            out.racing = Some(&c.racing);
        }
        out.warnings = &report.warnings;
        out
    }

    /// The report object with the whole report: every thread, the images, the crashed thread's
    /// registers, the exception backtrace, the `asi` messages.
    pub fn full(outcome: &'a Analysis) -> Self {
        let mut out = ReportOut::new(outcome);
        if let Some(report) = outcome.report() {
            out.detail = Some(DetailOut {
                threads: report
                    .threads
                    .iter()
                    .enumerate()
                    .map(|(i, t)| ThreadOut {
                        crashed: Some(report.crashed_thread == Some(i)),
                        ..ThreadOut::new(report, t)
                    })
                    .collect(),
                registers: report
                    .crashed()
                    .and_then(|t| t.state.as_ref())
                    .map(|s| StateOut {
                        flavor: s.flavor.as_deref(),
                        registers: s
                            .registers
                            .iter()
                            .map(|r| RegisterOut {
                                name: &r.name,
                                value: hex(r.value),
                                symbol: r.symbol.as_deref(),
                                description: r.description.as_deref(),
                            })
                            .collect(),
                    }),
                last_exception_backtrace: frames_out(report, &report.last_exception_backtrace),
                asi: report
                    .app_specific
                    .messages
                    .iter()
                    .map(|m| MessageOut {
                        image: &m.image,
                        text: &m.text,
                    })
                    .collect(),
                images: report
                    .images
                    .iter()
                    .enumerate()
                    .map(|(i, image)| ImageOut::new(i, image))
                    .collect(),
                other_keys: report.extra.iter().map(|(k, _)| k.as_str()).collect(),
            });
        }
        out
    }
}

/// The whole-report document (`crashdelta.report/1`) for one input: `show --format json` and
/// `symbolicate --format json`.
pub fn write_report(out: &mut dyn Write, outcome: &Analysis) -> io::Result<()> {
    #[derive(Serialize)]
    struct Doc<'a> {
        schema: &'static str,
        tool: Tool,
        report: ReportOut<'a>,
    }
    let doc = Doc {
        schema: REPORT_SCHEMA,
        tool: Tool::this(),
        report: ReportOut::full(outcome),
    };
    serde_json::to_writer(&mut *out, &doc).map_err(io::Error::other)?;
    out.write_all(b"\n")?;
    out.flush()
}

/// Writes the classify document one report at a time, so a folder of thousands of reports is
/// never held in memory.
pub struct JsonSink<W: Write> {
    out: W,
    first: bool,
    /// One report's JSON, written to `out` in one call. `out` is a `Box<dyn Write>`: serde_json
    /// writing each key and value through it was a call through the vtable for every few bytes
    /// (4 % of `classify`'s CPU over 2000 reports); into a `Vec` it is a copy. Kept between
    /// reports so it is allocated once. (`classify` renders on its workers instead, through
    /// [`Sink::prerender`](super::Sink::prerender).)
    buf: Vec<u8>,
}

impl<W: Write> JsonSink<W> {
    /// Writes the document's opening (`schema`, `tool` and the start of `reports`) to `out`; the
    /// reports follow one at a time, and [`Sink::finish`](super::Sink::finish) writes the rest.
    pub fn start(mut out: W) -> io::Result<Self> {
        write!(out, "{{\"schema\":\"{CLASSIFY_SCHEMA}\",\"tool\":")?;
        serde_json::to_writer(&mut out, &Tool::this()).map_err(io::Error::other)?;
        write!(out, ",\"reports\":[")?;
        Ok(JsonSink {
            out,
            first: true,
            buf: Vec::new(),
        })
    }
}

/// One report of the `classify` stream (an element of `reports`), without the separator before
/// it: what [`JsonSink`]'s [`Sink::prerender`](super::Sink::prerender) gives, so that a
/// report is rendered on the thread that read it.
pub fn entry_bytes(entry: &super::Item, buf: &mut Vec<u8>) -> io::Result<()> {
    let mut out = ReportOut::new(entry.outcome);
    out.gate_failure = entry.gate_failure;
    super::compact::to_vec(&out, buf).map_err(io::Error::other)
}

impl<W: Write> super::Sink for JsonSink<W> {
    fn entry(&mut self, entry: &super::Item) -> io::Result<()> {
        let mut buf = std::mem::take(&mut self.buf);
        buf.clear();
        entry_bytes(entry, &mut buf)?;
        let written = self.entry_rendered(&buf);
        // A report far larger than usual does not keep its buffer for the rest of the run.
        if buf.capacity() <= 1 << 20 {
            self.buf = buf;
        }
        written
    }

    fn prerender(&self) -> Option<super::Prerender> {
        Some(entry_bytes)
    }

    fn entry_rendered(&mut self, rendered: &[u8]) -> io::Result<()> {
        self.out
            .write_all(if self.first { b"\n" } else { b",\n" })?;
        self.first = false;
        self.out.write_all(rendered)
    }

    fn finish(&mut self, totals: &super::Totals) -> io::Result<()> {
        write!(self.out, "\n],\"summary\":")?;
        serde_json::to_writer(&mut self.out, &totals.summary).map_err(io::Error::other)?;
        write!(self.out, ",\"groups\":")?;
        serde_json::to_writer(&mut self.out, &totals.groups).map_err(io::Error::other)?;
        write!(self.out, ",\"gate\":")?;
        serde_json::to_writer(&mut self.out, totals.gate).map_err(io::Error::other)?;
        self.out.write_all(b"}\n")?;
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// [`Hex`] writes what `format!("{v:#x}")` writes, as a JSON string.
    #[test]
    fn hex_is_written_as_format_writes_it() {
        let mut values = vec![0u64, 1, 0xf, 0x10, 0x98, u64::MAX, u64::MAX >> 4, 1 << 63];
        // Every power of two and its neighbours, and a spread of others.
        for shift in 0..64 {
            let p = 1u64 << shift;
            values.extend([p, p - 1, p.wrapping_add(1)]);
        }
        let mut x = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..1000 {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            values.push(x);
        }
        for v in values {
            let written = serde_json::to_string(&Hex(v)).unwrap();
            assert_eq!(written, format!("\"{v:#x}\""));
        }
    }
}
