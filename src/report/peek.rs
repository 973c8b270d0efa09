//! A quick look at the head of a report file: what kind it is, its incident id and process,
//! without parsing the body. Inventories of folders with thousands of reports read only the
//! first few kilobytes of each file.

use serde::{Deserialize, Serialize};

use super::model::{Process, ReportKind};
use super::{bugtype, ips};

/// How many bytes of a file [`peek`] needs.
pub const PEEK_BYTES: usize = 4096;

/// What the head of a report file says: enough to count reports and tell them apart, without
/// parsing the body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Peek {
    /// As far as the head tells.
    pub kind: ReportKind,
    /// The header line's `bug_type`; `None` for legacy text reports.
    pub bug_type: Option<String>,
    /// The header's `incident_id`, or the `Incident Identifier:` of a text report (iOS-style
    /// reports have one; macOS text reports do not).
    pub incident_id: Option<String>,
    /// The process, known by its name only: the header's `name` (else `app_name`), or the name
    /// on a text report's `Process:` line.
    /// Boxed: an inventory holds a peek per file, and most know only a name.
    #[serde(default, deserialize_with = "process_or_name")]
    pub process: Option<Box<Process>>,
}

impl Peek {
    /// The process's name, when the head gives it.
    pub fn process_name(&self) -> Option<&str> {
        self.process.as_ref().and_then(|p| p.name.as_deref())
    }
}

/// A peek's process as inventories write it (the [`Process`] object), or as the first ones did
/// (`crashdelta.inventory/1`: the name alone, a string), which `diff` still reads.
fn process_or_name<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<Box<Process>>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Either {
        Name(String),
        Process(Box<Process>),
    }
    Ok(Option::<Either>::deserialize(d)?.map(|e| match e {
        Either::Name(name) => Box::new(Process::named(name)),
        Either::Process(p) => p,
    }))
}

/// Looks at the first bytes of a file. `None` when the head shows no report at all (an empty or
/// half-created file, a `.DS_Store`, a log).
pub fn peek(head: &[u8]) -> Option<Peek> {
    let head = head.get(..head.len().min(PEEK_BYTES)).unwrap_or(head);
    if let Some(decided) = peek_first_line(head) {
        return decided;
    }
    peek_general(head)
}

/// [`peek`]'s answer when the first line of `head` decides it, which is the common case: a JSON
/// header on the first line. Only that line is checked as UTF-8 and read. An inventory peeks at
/// thousands of heads, and checking the whole 4 KiB of each was 5 % of `snapshot`'s user CPU;
/// the inventory also reads a head in two steps, asking for the rest only when this gives no
/// answer. The line is the one the general path finds first (the same text, the BOM and a `\r`
/// before the `\n` taken off alike), and any longer head that starts with it gives the same
/// answer. `None` when the first line does not decide: it is not complete, is blank, has bad
/// bytes, or does not start with `{`.
pub fn peek_first_line(head: &[u8]) -> Option<Option<Peek>> {
    let head = head.get(..head.len().min(PEEK_BYTES)).unwrap_or(head);
    let line = memchr::memchr(b'\n', head)
        .and_then(|end| head.get(..end))
        .and_then(|line| std::str::from_utf8(line).ok())?;
    let line = line.strip_prefix('\u{feff}').unwrap_or(line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    line.trim_start()
        .starts_with('{')
        .then(|| header_peek(line))
}

/// [`peek`] without its fast path: the reference it must agree with.
fn peek_general(head: &[u8]) -> Option<Peek> {
    // A head cut at PEEK_BYTES often ends inside a multi-byte character; the whole characters
    // before it are used as they are, without the slower lossy copy.
    let text = match std::str::from_utf8(head) {
        Ok(t) => std::borrow::Cow::Borrowed(t),
        Err(e) if e.error_len().is_none() => head
            .get(..e.valid_up_to())
            .and_then(|h| std::str::from_utf8(h).ok())
            .map_or_else(|| String::from_utf8_lossy(head), std::borrow::Cow::Borrowed),
        Err(_) => String::from_utf8_lossy(head),
    };
    let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
    let first = text.lines().find(|l| !l.trim().is_empty())?;
    if first.trim_start().starts_with('{') {
        return header_peek(first);
    }
    // A legacy text report: `Process:` within the first lines; iOS puts `Incident Identifier:`
    // first.
    let mut process = None;
    let mut incident = None;
    for line in text.lines().take(60) {
        let line = line.trim();
        if let Some(v) = line.strip_prefix("Process:") {
            process = Some(Box::new(Process::named(
                v.split('[').next().unwrap_or(v).trim().to_owned(),
            )));
        } else if let Some(v) = line.strip_prefix("Incident Identifier:") {
            incident = Some(v.trim().to_owned());
        } else if line.starts_with("Data Source:") && line.contains("tackshots") {
            return Some(Peek {
                kind: ReportKind::Hang,
                bug_type: None,
                incident_id: incident,
                process,
            });
        }
    }
    process.as_ref()?;
    Some(Peek {
        kind: ReportKind::Crash,
        bug_type: None,
        incident_id: incident,
        process,
    })
}

/// What a JSON header line says. A complete header line ends before [`PEEK_BYTES`] in every real
/// report.
fn header_peek(first: &str) -> Option<Peek> {
    let header = ips::read_header(first)?;
    let bug_type = header.bug_type.ok().cloned();
    Some(Peek {
        kind: bug_type.as_deref().map_or(ReportKind::Other, bugtype::kind),
        incident_id: header.incident_id.ok().cloned(),
        process: header
            .name
            .ok()
            .or(header.app_name.ok())
            .cloned()
            .map(|name| Box::new(Process::named(name))),
        bug_type,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads() {
        let ips = br#"{"bug_type":"309","name":"Python","incident_id":"5E0C"}
{ "a" : 1"#;
        let p = peek(ips).unwrap();
        assert_eq!(
            (p.kind, p.incident_id.as_deref(), p.process_name()),
            (ReportKind::Crash, Some("5E0C"), Some("Python"))
        );
        let jetsam = br#"{"bug_type":"298","incident_id":"1A"}"#;
        assert_eq!(peek(jetsam).unwrap().kind, ReportKind::Jetsam);
        let text = b"Incident Identifier: 6156848E\nProcess:   TouchCanvas [1052]\n";
        let p = peek(text).unwrap();
        assert_eq!(
            (p.kind, p.process_name(), p.incident_id.as_deref()),
            (ReportKind::Crash, Some("TouchCanvas"), Some("6156848E"))
        );
        assert_eq!(
            peek(b"Date/Time: x\nData Source:      Stackshots\nProcess: Slack [1]\n")
                .unwrap()
                .kind,
            ReportKind::Hang
        );
        assert_eq!(peek(b""), None);
        assert_eq!(peek(b"{\"half"), None);
        assert_eq!(peek(b"hello\n"), None);
    }

    #[test]
    fn a_head_cut_inside_a_character_or_with_bad_bytes_still_peeks() {
        // The inventory reads PEEK_BYTES and no more: the cut may fall inside a UTF-8 sequence.
        let mut head =
            b"{\"bug_type\":\"309\",\"name\":\"Pr\xc3\xa9view\",\"incident_id\":\"AB\"}".to_vec();
        head.extend_from_slice(b"\n{\"x\": \"\xe6\x97");
        let p = peek(&head).unwrap();
        assert_eq!(p.process_name(), Some("Pr\u{e9}view"));
        // Invalid bytes in the middle fall back to the lossy reading.
        let bad = b"{\"bug_type\":\"309\",\"name\":\"a\xffb\",\"incident_id\":\"C\"}\n{";
        assert_eq!(peek(bad).unwrap().process_name(), Some("a\u{fffd}b"));
    }

    /// `crashdelta.inventory/1` wrote the process as its name; `diff` still reads such an
    /// inventory, and the name lands where a new one's would.
    #[test]
    fn the_fast_path_reads_as_the_general_one() {
        let header = r#"{"bug_type":"309","name":"Python","incident_id":"AB-1"}"#;
        let mut heads: Vec<Vec<u8>> = Vec::new();
        for prefix in ["", "\u{feff}", "  ", "\n", "\u{feff}\n", "\r\n", "é"] {
            for end in ["\n", "\r\n", "\r\r\n", ""] {
                for rest in ["{\n  \"x\": 1\n}\n", "Process: P [1]\n", "", "caf\u{e9}\n"] {
                    heads.push(format!("{prefix}{header}{end}{rest}").into_bytes());
                    heads.push(format!("{prefix}{{bad{end}{rest}").into_bytes());
                }
            }
        }
        // Bad bytes after the first line, in it, and a multi-byte character cut at the end.
        heads.push([header.as_bytes(), b"\n\xff\xfe{}"].concat());
        heads.push(
            [
                b"{\"bug_type\":\"309\",\"name\":\"P\xffy\"}\n".as_slice(),
                b"{}",
            ]
            .concat(),
        );
        heads.push([header.as_bytes(), b"\n\xc3"].concat());
        for dir in [
            "testdata/real/ips",
            "testdata/derived",
            "testdata/field/parser-suites",
        ] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(dir);
            for entry in std::fs::read_dir(dir).unwrap() {
                let bytes = std::fs::read(entry.unwrap().path()).unwrap();
                heads.push(bytes.get(..PEEK_BYTES).unwrap_or(&bytes).to_vec());
            }
        }
        for head in &heads {
            assert_eq!(
                peek(head),
                peek_general(head),
                "{:?}",
                String::from_utf8_lossy(head)
            );
        }
    }

    #[test]
    fn a_peek_written_with_the_process_as_a_string_still_reads() {
        let old: Peek = serde_json::from_str(
            r#"{"kind":"crash","bug_type":"309","incident_id":"A","process":"Python"}"#,
        )
        .unwrap();
        assert_eq!(old.process, Some(Box::new(Process::named("Python".into()))));
        let new: Peek = serde_json::from_str(&serde_json::to_string(&old).unwrap()).unwrap();
        assert_eq!(new, old);
        let none: Peek =
            serde_json::from_str(r#"{"kind":"crash","bug_type":null,"incident_id":null}"#).unwrap();
        assert_eq!(none.process, None);
    }
}
