//! Writing a `.ips` report back out with the frames crashdelta named: every other key and value is
//! kept as it was (in its order), the header line byte for byte; named frames get `symbol`,
//! `symbolLocation` and source keys, and inlined functions found in a dSYM become frames of
//! their own with `inline: true`, the way Apple writes them.

use serde_json::{Map, Value};
use thiserror::Error;

use crate::report::{Container, Frame, Report, SourceFormat, SymbolSource};

/// Why a report cannot be written back as `.ips`.
#[derive(Debug, Error)]
pub enum RewriteError {
    /// The report is not a plain `.ips` file (a header line and a JSON body, nothing around
    /// them): legacy text, a body without its header, a Console composite, a pasted excerpt.
    /// The string says what it is instead.
    #[error(
        "only a plain .ips file (a header line and a JSON body) can be written back; this is {0}"
    )]
    NotPlainIps(String),
    /// The original JSON body does not parse as JSON, or could not be written out again.
    #[error("the JSON body does not parse: {0}")]
    Body(serde_json::Error),
}

fn named_here(f: &Frame) -> bool {
    matches!(
        f.symbolicated_by,
        SymbolSource::Symbols | SymbolSource::Atos
    )
}

fn fill(obj: &mut Map<String, Value>, f: &Frame) {
    if let Some(s) = &f.symbol {
        obj.insert("symbol".into(), Value::from(s.clone()));
    }
    if let Some(o) = f.symbol_offset {
        obj.insert("symbolLocation".into(), Value::from(o));
    }
    if let Some(file) = &f.source_file {
        obj.insert("sourceFile".into(), Value::from(file.clone()));
    }
    if let Some(line) = f.source_line {
        obj.insert("sourceLine".into(), Value::from(line));
    }
}

/// The original `.ips` bytes with the symbolicated frames of `report` written in.
pub fn ips_with_symbols(original: &[u8], report: &Report) -> Result<String, RewriteError> {
    if report.format != SourceFormat::Ips || report.container != Container::Plain {
        return Err(RewriteError::NotPlainIps(format!(
            "{:?} in {:?}",
            report.format, report.container
        )));
    }
    let text = String::from_utf8_lossy(original);
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let (header, body) = text
        .split_once('\n')
        .ok_or_else(|| RewriteError::NotPlainIps("a file without a body".into()))?;
    let mut stream = serde_json::Deserializer::from_str(body).into_iter::<Value>();
    let mut value = match stream.next() {
        Some(Ok(v)) => v,
        Some(Err(e)) => return Err(RewriteError::Body(e)),
        None => return Err(RewriteError::NotPlainIps("a file without a body".into())),
    };
    let rest = body.get(stream.byte_offset()..).unwrap_or_default();
    if let Some(threads) = value.get_mut("threads").and_then(Value::as_array_mut) {
        for (thread, model) in threads.iter_mut().zip(&report.threads) {
            let Some(frames) = thread.get_mut("frames").and_then(Value::as_array_mut) else {
                continue;
            };
            let original = std::mem::take(frames);
            let mut originals = original.into_iter();
            let mut out = Vec::with_capacity(model.frames.len());
            let mut pending_inline = Vec::new();
            for f in &model.frames {
                if named_here(f) && f.inline {
                    // Might be a new inlined frame (from the dSYM) or an original inline frame:
                    // decide when the physical frame that follows arrives.
                    pending_inline.push(f);
                    continue;
                }
                let Some(mut obj) = originals.next() else {
                    break;
                };
                if named_here(f)
                    && let Some(map) = obj.as_object_mut()
                {
                    for inl in pending_inline.drain(..) {
                        let mut new = Map::new();
                        if let Some(v) = map.get("imageOffset") {
                            new.insert("imageOffset".into(), v.clone());
                        }
                        fill(&mut new, inl);
                        if let Some(v) = map.get("imageIndex") {
                            new.insert("imageIndex".into(), v.clone());
                        }
                        new.insert("inline".into(), Value::Bool(true));
                        out.push(Value::Object(new));
                    }
                    fill(map, f);
                }
                pending_inline.clear();
                out.push(obj);
            }
            out.extend(originals);
            *frames = out;
        }
    }
    let body = serde_json::to_string_pretty(&value).map_err(RewriteError::Body)?;
    Ok(format!("{header}\n{body}{rest}"))
}
