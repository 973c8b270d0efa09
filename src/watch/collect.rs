//! `--collect DIR`: copies of the new reports, for CI artifacts, with a manifest of their SHA-256.
//! Copies, never moves: crashdelta writes nothing into a report folder.
//!
//! The collect folder is often inside a checked-out repository, whose contents a pull request
//! controls: it may hold a symbolic link named `manifest.json`, `run-001` or like a report,
//! pointing anywhere. So nothing here is written through a link or over an existing file:
//! - `DIR` itself, and the `run-NNN` folder of a campaign run, must be real folders: a symbolic
//!   link there is refused ([`CollectError::Link`]) rather than followed. Links further up the
//!   path (`/tmp` on macOS) are the user's and are followed.
//! - Every file (each copy, the manifest) is written to a fresh temporary in the folder (created
//!   exclusively, `O_EXCL`, so never through a link) and then put in place: a copy by a rename
//!   that refuses to replace anything (`RENAME_NOREPLACE`, or a hard link), trying `2-NAME`,
//!   `3-NAME`... when the name is taken, even by a dangling link; the manifest by a rename, which
//!   replaces a link rather than following it.
//! - No copy is ever named `manifest.json` (a report of that name becomes `2-manifest.json`).
//! - Collecting again into a folder appends to its `manifest.json`, keeping the earlier entries;
//!   a `manifest.json` that is not a crashdelta manifest (or is a link, or not a file) is left
//!   alone and the manifest goes to the first free `manifest-N.json`, with a warning.
//! - One report that cannot be copied (gone by rotation, not a regular file) is a warning in the
//!   [`Collection`], not an error: the other reports are copied, and the run's exit code stays
//!   the gate's. Only a folder that cannot be made or a manifest that cannot be written fail.
//! - Names that are not UTF-8 are copied (paths stay [`Path`]s); the copy's name is made safe
//!   ([`safe_name`]), and the manifest records the source lossily in `source` and exactly in
//!   `source_bytes`: the bytes with `\` as `\\` and each byte that is not printable ASCII as
//!   `\xHH`.
//!
//! A process that can change the collect folder while crashdelta writes into it is not defended
//! against (the checks are by path, then the writes); the links a repository can hold are.

use std::fs;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};
use tempfile::NamedTempFile;
use thiserror::Error;

use crate::input;
use crate::inventory::escape_path;

/// The manifest's name in the collect folder.
pub const MANIFEST: &str = "manifest.json";

/// The `schema` of a manifest: `{schema, tool, copies}`. The first manifests were the bare list
/// of copies, which collecting again into their folder still reads and appends to.
pub const MANIFEST_SCHEMA: &str = "crashdelta.manifest/1";

/// A manifest as written: every copy made into the folder, the earlier collections' first.
#[derive(Serialize)]
struct ManifestDoc<'a> {
    schema: &'static str,
    tool: crate::Tool,
    copies: &'a [serde_json::Value],
}

/// The copies a manifest lists: a [`MANIFEST_SCHEMA`] document's `copies`, or the bare list the
/// first manifests were; `None` for anything else, and for a list with any entry that is not a
/// copy as crashdelta writes it (any JSON array in a folder could be called `manifest.json`:
/// appending to it would make a manifest of someone else's data).
fn manifest_copies(doc: serde_json::Value) -> Option<Vec<serde_json::Value>> {
    let copies = match doc {
        serde_json::Value::Array(copies) => copies,
        serde_json::Value::Object(mut doc)
            if doc.get("schema").and_then(|s| s.as_str()) == Some(MANIFEST_SCHEMA) =>
        {
            match doc.remove("copies") {
                Some(serde_json::Value::Array(copies)) => copies,
                _ => return None,
            }
        }
        _ => return None,
    };
    copies.iter().all(is_copy).then_some(copies)
}

/// Whether `entry` is a [`Collected`] as written: `source` and `file` strings, a `size`, and a
/// SHA-256 of 64 lowercase hex digits.
fn is_copy(entry: &serde_json::Value) -> bool {
    let text = |k: &str| entry.get(k).and_then(serde_json::Value::as_str);
    text("source").is_some()
        && text("file").is_some()
        && entry
            .get("size")
            .and_then(serde_json::Value::as_u64)
            .is_some()
        && text("sha256").is_some_and(|h| {
            h.len() == 64
                && h.bytes()
                    .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        })
}

/// A manifest read back to append to: far bigger than any manifest of real reports.
const MANIFEST_CAP: input::Cap = input::Cap {
    limit: 64 * 1024 * 1024,
    what: "a collect manifest",
};

/// How many names are tried for one file before giving up: `NAME`, `2-NAME`... A folder with
/// this many copies of one name is not a folder crashdelta should keep adding to.
const MAX_TRIES: usize = 10_000;

/// Why `--collect` could not be done at all. Single reports that cannot be copied are
/// [`Collection::warnings`] instead.
#[derive(Debug, Error)]
pub enum CollectError {
    /// The collect folder could not be created, or is not a folder.
    #[error("cannot create the collect folder {path}: {source}")]
    Folder {
        /// The collect folder (`DIR`, or `DIR/run-NNN` in a campaign).
        path: PathBuf,
        /// Why it could not be created.
        source: io::Error,
    },
    /// The collect folder is a symbolic link: crashdelta does not write through it.
    #[error(
        "the collect folder {path} is a symbolic link (to {target}); crashdelta does not write \
         through links there, since one committed to a repository could send the copies anywhere: \
         remove the link or name the real folder"
    )]
    Link {
        /// The link (`DIR`, or `DIR/run-NNN`).
        path: PathBuf,
        /// Where it points, as far as it can be read.
        target: String,
    },
    /// The manifest could not be written; the copies themselves were made.
    #[error("cannot write the manifest {path}: {source}")]
    Manifest {
        /// The manifest: `manifest.json`, or `manifest-N.json`, in the collect folder.
        path: PathBuf,
        /// Why it could not be written.
        source: io::Error,
    },
}

/// One copied report: an entry of `manifest.json`.
#[derive(Debug, Clone, Serialize)]
pub struct Collected {
    /// Where the report was (converted to UTF-8, lossily; see `source_bytes`).
    pub source: String,
    /// The source's exact bytes, escaped (`\\` and `\xHH`), when its path is not UTF-8; absent
    /// otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source_bytes: Option<String>,
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

/// What one `--collect` did.
#[derive(Debug, Clone, Default)]
pub struct Collection {
    /// The reports copied this time, in order.
    pub copied: Vec<Collected>,
    /// What went wrong without stopping the collection: a report that could not be copied, a
    /// `manifest.json` that was not crashdelta's.
    pub warnings: Vec<String>,
    /// The manifest written (`DIR/manifest.json` unless that name was taken by something else).
    pub manifest: PathBuf,
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

/// Copies `files` (path, incident id) into `dir` and writes its manifest (see the module's
/// essay). `dir` must not be a symbolic link; it is created when missing.
pub fn collect(
    dir: &Path,
    files: &[(PathBuf, Option<String>)],
) -> Result<Collection, CollectError> {
    real_folder(dir)?;
    into_folder(dir, files)
}

/// [`collect`] into `root/sub` (a campaign's `DIR/run-NNN`): neither `root` nor `sub` may be a
/// symbolic link.
pub fn collect_under(
    root: &Path,
    sub: &str,
    files: &[(PathBuf, Option<String>)],
) -> Result<Collection, CollectError> {
    real_folder(root)?;
    let dir = root.join(sub);
    real_folder(&dir)?;
    into_folder(&dir, files)
}

/// Makes sure `dir` is a folder and not a symbolic link, creating it when missing.
fn real_folder(dir: &Path) -> Result<(), CollectError> {
    let folder_err = |source| CollectError::Folder {
        path: dir.into(),
        source,
    };
    let meta = match fs::symlink_metadata(dir) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(dir).map_err(folder_err)?;
            fs::symlink_metadata(dir).map_err(folder_err)?
        }
        other => other.map_err(folder_err)?,
    };
    if meta.is_symlink() {
        return Err(CollectError::Link {
            path: dir.into(),
            target: fs::read_link(dir).map_or_else(|_| "?".to_owned(), |t| t.display().to_string()),
        });
    }
    if !meta.is_dir() {
        return Err(folder_err(io::Error::other(
            "it exists and is not a folder; name another",
        )));
    }
    Ok(())
}

fn into_folder(
    dir: &Path,
    files: &[(PathBuf, Option<String>)],
) -> Result<Collection, CollectError> {
    let mut warnings = Vec::new();
    let (mut entries, target) = existing_manifest(dir, &mut warnings);
    let mut copied = Vec::new();
    for (from, incident_id) in files {
        match copy_one(dir, from) {
            Ok((file, size, sha256)) => copied.push(Collected {
                source: from.display().to_string(),
                source_bytes: escape_path(from),
                file,
                size,
                sha256,
                incident_id: incident_id.clone(),
            }),
            Err(e) => warnings.push(format!(
                "--collect: cannot copy {}: {e}; the other reports were copied",
                from.display()
            )),
        }
    }
    entries.extend(
        copied
            .iter()
            .map(|c| serde_json::to_value(c).unwrap_or(serde_json::Value::Null)),
    );
    let manifest = write_manifest(dir, &entries, target)?;
    Ok(Collection {
        copied,
        warnings,
        manifest,
    })
}

/// Where the manifest goes and the entries it keeps.
enum Target {
    /// `manifest.json`, absent or ours: renamed over (replacing, never following, a link that
    /// appeared meanwhile).
    Manifest,
    /// `manifest.json` is something else, left alone: the first free `manifest-N.json`.
    Fresh,
}

/// Reads `dir/manifest.json` when it is a crashdelta manifest (a regular file holding a
/// [`MANIFEST_SCHEMA`] document, or the bare list of the first manifests), to append to;
/// anything else there is kept and reported.
fn existing_manifest(dir: &Path, warnings: &mut Vec<String>) -> (Vec<serde_json::Value>, Target) {
    let path = dir.join(MANIFEST);
    let meta = match fs::symlink_metadata(&path) {
        Err(e) if e.kind() == io::ErrorKind::NotFound => return (Vec::new(), Target::Manifest),
        other => other,
    };
    let why = match meta {
        Ok(m) if m.is_symlink() => "is a symbolic link".to_owned(),
        Ok(m) if !m.is_file() => "is not a regular file".to_owned(),
        Ok(_) => match input::read_capped(&path, MANIFEST_CAP) {
            Ok(bytes) => match serde_json::from_slice::<serde_json::Value>(&bytes) {
                Ok(doc) => match manifest_copies(doc) {
                    Some(entries) => return (entries, Target::Manifest),
                    None => format!(
                        "is not a crashdelta manifest (neither {MANIFEST_SCHEMA} nor a list)"
                    ),
                },
                Err(e) => format!("is not a crashdelta manifest ({e})"),
            },
            Err(e) => e.to_string(),
        },
        Err(e) => e.to_string(),
    };
    warnings.push(format!(
        "--collect: {} {why}; it is left as it is and this manifest is written beside it",
        path.display()
    ));
    (Vec::new(), Target::Fresh)
}

fn is_manifest_name(name: &str) -> bool {
    name == MANIFEST
        || name
            .strip_prefix("manifest-")
            .and_then(|r| r.strip_suffix(".json"))
            .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

fn write_manifest(
    dir: &Path,
    entries: &[serde_json::Value],
    target: Target,
) -> Result<PathBuf, CollectError> {
    let first = dir.join(MANIFEST);
    let err = |path: &Path| {
        let path = path.to_owned();
        move |source| CollectError::Manifest { path, source }
    };
    let doc = ManifestDoc {
        schema: MANIFEST_SCHEMA,
        tool: crate::Tool::this(),
        copies: entries,
    };
    let mut text = serde_json::to_vec_pretty(&doc)
        .map_err(io::Error::other)
        .map_err(err(&first))?;
    text.push(b'\n');
    let mut temp = NamedTempFile::new_in(dir).map_err(err(&first))?;
    temp.write_all(&text)
        .and_then(|()| temp.as_file().sync_all())
        .map_err(err(&first))?;
    match target {
        Target::Manifest => {
            temp.persist(&first)
                .map_err(|e| e.error)
                .map_err(err(&first))?;
            Ok(first)
        }
        Target::Fresh => {
            let names = (2..MAX_TRIES).map(|n| format!("manifest-{n}.json"));
            place(dir, temp, names).map_err(err(&first))
        }
    }
}

/// Renames `temp` to the first of `names` that is free in `dir`, never replacing anything (a
/// dangling link included).
fn place(
    dir: &Path,
    mut temp: NamedTempFile,
    names: impl Iterator<Item = String>,
) -> io::Result<PathBuf> {
    for name in names {
        let to = dir.join(&name);
        match temp.persist_noclobber(&to) {
            Ok(_) => return Ok(to),
            Err(e) if e.error.kind() == io::ErrorKind::AlreadyExists => temp = e.file,
            Err(e) => return Err(e.error),
        }
    }
    Err(io::Error::other(format!(
        "{MAX_TRIES} names tried, all taken"
    )))
}

/// Copies one report into `dir` under a free, safe name: (name, size, SHA-256).
fn copy_one(dir: &Path, from: &Path) -> io::Result<(String, u64, String)> {
    let mut src = input::open_regular_no_link(from)
        .map_err(|e| io::Error::other(e.to_string()))?
        .0;
    let mut temp = NamedTempFile::new_in(dir)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 64 * 1024];
    let mut size = 0u64;
    loop {
        let n = match src.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        if n == 0 {
            break;
        }
        let chunk = buf.get(..n).unwrap_or_default();
        hasher.update(chunk);
        temp.write_all(chunk)?;
        size += n as u64;
    }
    temp.as_file().sync_all()?;
    let base = safe_name(
        &from
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default(),
    );
    let names = std::iter::once(base.clone())
        .chain((2..MAX_TRIES).map(|n| format!("{n}-{base}")))
        .filter(|name| !is_manifest_name(name));
    let to = place(dir, temp, names)?;
    let name = to
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let sha256 = crate::sha256_hex(hasher);
    Ok((name, size, sha256))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::symlink;

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
        .unwrap()
        .copied;
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
        assert_eq!(manifest["schema"], MANIFEST_SCHEMA);
        assert_eq!(manifest["copies"][0]["incident_id"], "X");
        // The sources are untouched; no temporary is left behind.
        assert!(a.exists() && a2.exists());
        assert_eq!(fs::read_dir(dst.path()).unwrap().count(), 3);
    }

    #[test]
    fn planted_links_are_never_written_through() {
        let src = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let secret = outside.path().join("secret");
        fs::write(&secret, "keep").unwrap();
        let a = src.path().join("a.ips");
        fs::write(&a, "report").unwrap();
        let dst = tempfile::tempdir().unwrap();
        symlink(&secret, dst.path().join("manifest.json")).unwrap();
        symlink(&secret, dst.path().join("a.ips")).unwrap();
        symlink(outside.path().join("gone"), dst.path().join("2-a.ips")).unwrap();
        let got = collect(dst.path(), &[(a.clone(), None)]).unwrap();
        assert_eq!(got.copied[0].file, "3-a.ips");
        assert_eq!(got.manifest, dst.path().join("manifest-2.json"));
        assert_eq!(got.warnings.len(), 1, "{:?}", got.warnings);
        assert_eq!(fs::read_to_string(&secret).unwrap(), "keep");
        assert!(!outside.path().join("gone").exists());
        // A linked DIR, or a linked run folder, is refused.
        let linked = dst.path().join("linked");
        symlink(outside.path(), &linked).unwrap();
        assert!(matches!(
            collect(&linked, &[(a.clone(), None)]),
            Err(CollectError::Link { .. })
        ));
        symlink(outside.path(), dst.path().join("run-001")).unwrap();
        assert!(matches!(
            collect_under(dst.path(), "run-001", &[(a, None)]),
            Err(CollectError::Link { .. })
        ));
        assert_eq!(fs::read_dir(outside.path()).unwrap().count(), 1);
    }

    #[test]
    fn collecting_twice_keeps_the_first_entries_and_a_report_named_manifest() {
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        let m = src.path().join("manifest.json");
        fs::write(&m, "a report named manifest.json").unwrap();
        let gone = src.path().join("gone.ips");
        let first = collect(dst.path(), &[(m.clone(), None), (gone, None)]).unwrap();
        assert_eq!(first.copied[0].file, "2-manifest.json");
        assert_eq!(first.warnings.len(), 1, "{:?}", first.warnings);
        collect(dst.path(), &[(m.clone(), None)]).unwrap();
        let files = || {
            let manifest: serde_json::Value =
                serde_json::from_slice(&fs::read(dst.path().join("manifest.json")).unwrap())
                    .unwrap();
            manifest["copies"]
                .as_array()
                .unwrap()
                .iter()
                .map(|e| e["file"].as_str().unwrap().to_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(files(), ["2-manifest.json", "3-manifest.json"]);
        // A manifest of the first shape (the bare list) is appended to as well, and written
        // back as a document.
        fs::write(
            dst.path().join("manifest.json"),
            format!(
                r#"[{{"source": "/r/old.ips", "file": "old.ips", "size": 1, "sha256": "{}", "incident_id": null}}]"#,
                "0".repeat(64)
            ),
        )
        .unwrap();
        collect(dst.path(), &[(m.clone(), None)]).unwrap();
        assert_eq!(files(), ["old.ips", "4-manifest.json"]);
        // Any other array is someone else's: kept, and the manifest written beside it.
        fs::write(
            dst.path().join("manifest.json"),
            r#"[{"name": "not crashdelta"}]"#,
        )
        .unwrap();
        collect(dst.path(), &[(m, None)]).unwrap();
        assert_eq!(
            fs::read_to_string(dst.path().join("manifest.json")).unwrap(),
            r#"[{"name": "not crashdelta"}]"#
        );
    }

    #[test]
    fn non_utf8_names_are_copied_and_recorded_exactly() {
        use std::ffi::OsStr;
        let src = tempfile::tempdir().unwrap();
        let dst = tempfile::tempdir().unwrap();
        let a = src.path().join(OsStr::from_bytes(b"caf\xe9\\.ips"));
        fs::write(&a, "report").unwrap();
        let got = collect(dst.path(), &[(a, None)]).unwrap();
        assert!(got.warnings.is_empty(), "{:?}", got.warnings);
        let c = &got.copied[0];
        assert_eq!(c.file, "caf__.ips");
        assert!(
            c.source_bytes
                .as_deref()
                .unwrap()
                .ends_with("caf\\xe9\\\\.ips"),
            "{c:?}"
        );
    }
}
