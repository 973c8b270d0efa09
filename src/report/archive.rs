//! Reports that arrive packed: a ZIP archive or a gzip stream around the report.
//!
//! GitHub takes a `.ips` attached to an issue only zipped (or renamed to `.txt`), and Finder's
//! "Compress" is the one-click way to send a report, so the file a user downloads from an issue
//! to classify is often `Python-2025-12-23-164107.ips.zip`. Read as text it was "binary data",
//! or, stored without compression, read by accident from the middle of the archive. One report
//! in an archive is unpacked and read; an archive of several says so, and how many, since which
//! one the user meant is theirs to say (unzip it and classify the folder).
//!
//! Finder's archives hold, beside the file, its AppleDouble twin (`__MACOSX/._name`) and maybe a
//! `.DS_Store`: neither is a report nor counts as one. Unpacking is bounded: a member over
//! [`MAX_UNPACKED_BYTES`] (a few kilobytes of deflate can claim gigabytes) is refused after that
//! many bytes, never held whole; an archive inside the archive is not opened again.

use std::io::{Cursor, Read};

/// The most bytes a packed report may unpack to: the limit on a report file
/// (`input::MAX_REPORT_BYTES`; tests/bad_input.rs checks they agree).
pub const MAX_UNPACKED_BYTES: u64 = 64 * 1024 * 1024;

/// What unpacking found.
#[derive(Debug)]
pub enum Unpacked {
    /// The report's bytes, and where they came from (`the one file in the ZIP archive,
    /// \`a.ips\``), for a warning.
    Report(Vec<u8>, String),
    /// Packed, but not one report: why, and what to do.
    Refused(String),
}

/// The report `bytes` hold packed, or `None` when they are not a ZIP archive or gzip stream.
pub fn unpack(bytes: &[u8]) -> Option<Unpacked> {
    match bytes {
        [b'P', b'K', 3, 4, ..] | [b'P', b'K', 5, 6, ..] => Some(unzip(bytes)),
        [0x1f, 0x8b, ..] => Some(gunzip(bytes)),
        _ => None,
    }
}

fn unzip(bytes: &[u8]) -> Unpacked {
    let mut archive = match zip::ZipArchive::new(Cursor::new(bytes)) {
        Ok(a) => a,
        Err(e) => {
            return Unpacked::Refused(format!(
                "a ZIP archive that cannot be opened ({e}): it may be cut short; download it again"
            ));
        }
    };
    let mut files = Vec::new();
    for i in 0..archive.len() {
        let Ok(entry) = archive.by_index_raw(i) else {
            continue;
        };
        let name = entry.name().to_owned();
        let leaf = name.rsplit('/').next().unwrap_or(&name);
        let finder = name.starts_with("__MACOSX/") || leaf == ".DS_Store" || leaf.starts_with("._");
        if entry.is_file() && !finder {
            files.push((i, name));
        }
    }
    let (index, name) = match files.as_slice() {
        [] => return Unpacked::Refused("an empty ZIP archive: it holds no file".to_owned()),
        [one] => one.clone(),
        several => {
            let names: Vec<&str> = several.iter().take(3).map(|(_, n)| n.as_str()).collect();
            let more = if several.len() > 3 { ", ..." } else { "" };
            return Unpacked::Refused(format!(
                "a ZIP archive of {} files ({}{more}): unzip it and classify the folder",
                several.len(),
                names.join(", ")
            ));
        }
    };
    let member = match archive.by_index(index) {
        Ok(m) => m,
        Err(e) => {
            return Unpacked::Refused(format!(
                "a ZIP archive whose file `{name}` cannot be read ({e}): unzip it to see why"
            ));
        }
    };
    match read_bounded(member) {
        Ok(out) => Unpacked::Report(out, format!("the one file in the ZIP archive, `{name}`")),
        Err(why) => Unpacked::Refused(format!("a ZIP archive whose file `{name}` {why}")),
    }
}

fn gunzip(bytes: &[u8]) -> Unpacked {
    match read_bounded(flate2::read::GzDecoder::new(bytes)) {
        Ok(out) => Unpacked::Report(out, "a gzip stream".to_owned()),
        Err(why) => Unpacked::Refused(format!("a gzip stream that {why}")),
    }
}

/// All of `reader`, or why not: over [`MAX_UNPACKED_BYTES`] (read no further), or broken.
fn read_bounded(reader: impl Read) -> Result<Vec<u8>, String> {
    let mut out = Vec::new();
    match reader.take(MAX_UNPACKED_BYTES + 1).read_to_end(&mut out) {
        Ok(_) if out.len() as u64 > MAX_UNPACKED_BYTES => Err(format!(
            "unpacks to over {MAX_UNPACKED_BYTES} bytes, the limit for a report; crash reports \
             are at most a few MB"
        )),
        Ok(_) => Ok(out),
        Err(e) => Err(format!(
            "cannot be unpacked ({e}): it may be cut short or damaged"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn zip_of(files: &[(&str, &[u8])], method: zip::CompressionMethod) -> Vec<u8> {
        let mut out = Cursor::new(Vec::new());
        {
            let mut w = zip::ZipWriter::new(&mut out);
            let options = zip::write::SimpleFileOptions::default().compression_method(method);
            for (name, bytes) in files {
                w.start_file(*name, options)
                    .unwrap_or_else(|e| panic!("{e}"));
                w.write_all(bytes).unwrap_or_else(|e| panic!("{e}"));
            }
            w.finish().unwrap_or_else(|e| panic!("{e}"));
        }
        out.into_inner()
    }

    fn report(u: Option<Unpacked>) -> (Vec<u8>, String) {
        match u {
            Some(Unpacked::Report(b, from)) => (b, from),
            other => panic!("{other:?}"),
        }
    }

    fn refused(u: Option<Unpacked>) -> String {
        match u {
            Some(Unpacked::Refused(why)) => why,
            other => panic!("{other:?}"),
        }
    }

    /// One file, deflated or stored, with Finder's AppleDouble twin and a .DS_Store beside it.
    #[test]
    fn one_report_in_an_archive_is_unpacked() {
        for method in [
            zip::CompressionMethod::Deflated,
            zip::CompressionMethod::Stored,
        ] {
            let z = zip_of(
                &[
                    ("a.ips", b"{\"bug_type\":\"309\"}\n{}"),
                    ("__MACOSX/._a.ips", b"\0\x05\x16\x07"),
                    (".DS_Store", b"\0\0\0\x01Bud1"),
                ],
                method,
            );
            let (bytes, from) = report(unpack(&z));
            assert_eq!(bytes, b"{\"bug_type\":\"309\"}\n{}");
            assert_eq!(from, "the one file in the ZIP archive, `a.ips`");
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(b"Process: a [1]\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let gz = gz.finish().unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(report(unpack(&gz)).0, b"Process: a [1]\n");
    }

    /// Several files, none, a cut archive, a bomb: refused, saying why; not packed: `None`.
    #[test]
    fn what_is_not_one_report_is_refused() {
        let two = zip_of(
            &[("a.ips", b"a"), ("b.ips", b"b")],
            zip::CompressionMethod::Deflated,
        );
        assert_eq!(
            refused(unpack(&two)),
            "a ZIP archive of 2 files (a.ips, b.ips): unzip it and classify the folder"
        );
        let none = zip_of(&[], zip::CompressionMethod::Deflated);
        assert!(refused(unpack(&none)).contains("empty"));
        let cut = two.get(..two.len() / 2).unwrap_or_default();
        assert!(refused(unpack(cut)).contains("cannot be opened"));
        let zeros = vec![0u8; (MAX_UNPACKED_BYTES + 10) as usize];
        let bomb = zip_of(&[("big.ips", &zeros)], zip::CompressionMethod::Deflated);
        assert!(bomb.len() < 1_000_000, "{}", bomb.len());
        assert!(refused(unpack(&bomb)).contains("over 67108864 bytes"));
        assert!(unpack(b"Process: a [1]\n").is_none());
        assert!(unpack(b"PK").is_none());
    }
}
