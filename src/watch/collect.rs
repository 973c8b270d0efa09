//! `--collect DIR`: copies of the new reports, for CI artifacts, with a manifest of their SHA-256.
//! Copies, never moves: crashdelta writes nothing into a report folder.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};
use thiserror::Error;

/// Why `--collect` could not copy the new reports. The copies made before the failure stay, but
/// `manifest.json` is written only when every copy succeeded.
#[derive(Debug, Error)]
pub enum CollectError {
    /// The collect folder could not be created.
    #[error("cannot create the collect folder {path}: {source}")]
    Folder {
        /// The collect folder (`DIR`, or `DIR/run-NNN` in a campaign).
        path: PathBuf,
        /// Why it could not be created.
        source: io::Error,
    },
    /// A report could not be copied: it could not be read (it may have been rotated away
    /// meanwhile), or the copy could not be written. A copy never overwrites a file.
    #[error("cannot copy {from} to {to}: {source}")]
    Copy {
        /// The report in its report folder.
        from: PathBuf,
        /// Where its copy was to go, inside the collect folder.
        to: PathBuf,
        /// The error from opening, reading, creating, writing or syncing.
        source: io::Error,
    },
    /// `manifest.json` could not be written; the copies themselves were made.
    #[error("cannot write the manifest {path}: {source}")]
    Manifest {
        /// The manifest: `manifest.json` in the collect folder.
        path: PathBuf,
        /// Why it could not be written.
        source: io::Error,
    },
}

/// One copied report: an entry of `manifest.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Collected {
    /// Where the report was.
    pub source: String,
    /// Its copy, relative to the collect folder.
    pub file: String,
    /// Bytes copied.
    pub size: u64,
    /// The SHA-256 of the bytes copied, as 64 lowercase hex digits: what the copy (and the
    /// original, while it exists) can be checked against.
    pub sha256: String,
    /// The report's incident id (read from the head of the file), when it has one: the id that
    /// stays the same when macOS moves the report into `Retired/`.
    pub incident_id: Option<String>,
}

/// A file name that is safe on every platform and in every CI artifact store: letters, digits,
/// `.`, `_` and `-`; anything else (spaces, newlines, colons, non-ASCII) becomes `_`.
pub fn safe_name(name: &str) -> String {
    let mut out: String = name
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '_'
            }
        })
        .collect();
    if out.trim_matches('.').is_empty() {
        out = format!("report{out}");
    }
    if out.starts_with('.') {
        out.insert(0, '_');
    }
    out
}

/// Copies `files` (path, incident id) into `dir` and writes `dir/manifest.json`.
pub fn collect(
    dir: &Path,
    files: &[(PathBuf, Option<String>)],
) -> Result<Vec<Collected>, CollectError> {
    fs::create_dir_all(dir).map_err(|source| CollectError::Folder {
        path: dir.into(),
        source,
    })?;
    let mut out = Vec::new();
    for (from, incident_id) in files {
        let base = safe_name(
            &from
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default(),
        );
        let mut name = base.clone();
        let mut n = 1;
        while dir.join(&name).exists() {
            n += 1;
            name = format!("{n}-{base}");
        }
        let to = dir.join(&name);
        let copy = || -> io::Result<(u64, String)> {
            let mut src = fs::File::open(from)?;
            let mut dst = fs::File::create_new(&to)?;
            let mut hasher = Sha256::new();
            let mut buf = vec![0u8; 64 * 1024];
            let mut size = 0u64;
            loop {
                let n = src.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                let chunk = buf.get(..n).unwrap_or_default();
                hasher.update(chunk);
                dst.write_all(chunk)?;
                size += n as u64;
            }
            dst.sync_all()?;
            Ok((
                size,
                hasher
                    .finalize()
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect(),
            ))
        };
        let (size, sha256) = copy().map_err(|source| CollectError::Copy {
            from: from.clone(),
            to: to.clone(),
            source,
        })?;
        out.push(Collected {
            source: from.display().to_string(),
            file: name,
            size,
            sha256,
            incident_id: incident_id.clone(),
        });
    }
    let manifest = dir.join("manifest.json");
    let text = serde_json::to_vec_pretty(&out).map_err(|e| CollectError::Manifest {
        path: manifest.clone(),
        source: io::Error::other(e),
    })?;
    fs::write(&manifest, text).map_err(|source| CollectError::Manifest {
        path: manifest,
        source,
    })?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safe_names() {
        assert_eq!(
            safe_name("Python-2025-12-23-164107.ips"),
            "Python-2025-12-23-164107.ips"
        );
        assert_eq!(safe_name("my app\nname:1.ips"), "my_app_name_1.ips");
        assert_eq!(safe_name(".."), "report..");
        assert_eq!(safe_name(".hidden.ips"), "_.hidden.ips");
        assert_eq!(safe_name("Pythön.ips"), "Pyth_n.ips");
    }

    #[test]
    fn copies_are_byte_identical_and_listed() {
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        let a = src.path().join("a b.ips");
        fs::write(&a, b"{\"bug_type\":\"309\"}\n{}\n").unwrap();
        let sub = src.path().join("Retired");
        fs::create_dir(&sub).unwrap();
        let a2 = sub.join("a b.ips");
        fs::write(&a2, b"other").unwrap();
        let got = collect(
            dst.path(),
            &[(a.clone(), Some("X".into())), (a2.clone(), None)],
        )
        .unwrap();
        assert_eq!(got[0].file, "a_b.ips");
        assert_eq!(got[1].file, "2-a_b.ips");
        assert_eq!(
            fs::read(dst.path().join("a_b.ips")).unwrap(),
            fs::read(&a).unwrap()
        );
        let expected: String = Sha256::digest(b"other")
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(got[1].sha256, expected);
        let manifest: serde_json::Value =
            serde_json::from_slice(&fs::read(dst.path().join("manifest.json")).unwrap()).unwrap();
        assert_eq!(manifest[0]["incident_id"], "X");
        // The sources are untouched.
        assert!(a.exists() && a2.exists());
    }
}
