//! crashdelta: read macOS crash reports, say which crash each one is, and tell what a run added.
//!
//! The library does everything but the command line: it reads, classifies, watches, runs
//! campaigns and writes documents; it never prints, exits or parses arguments (the `crashdelta`
//! binary does, in `src/cli/`). Its modules are layers, and a lower one never uses an upper one
//! (`tests/layers.rs` holds this; `docs/architecture.md` draws it):
//!
//! - [`report`]: bytes in, a typed [`report::Report`] out: `.ips` JSON, legacy text, composites,
//!   pastes in Markdown or HTML, cut reports. Knows no files, terminals or exit codes.
//! - [`input`]: the files, folders and standard input a command names, size-capped.
//! - [`classify`]: which crash it is: family, rules, crash site (a signal handler or an exception
//!   on top), racing threads, signature, location, trigger; and the gate ([`classify::GatePolicy`]).
//! - [`symbols`]: names for unnamed frames, from Mach-O binaries and dSYMs whose UUID matches.
//! - [`inventory`]: what the report folders hold, and what changed between two looks.
//! - [`testlog`]: what test runners print about a crash (which test, the Python stack), read
//!   from the command's output.
//! - [`analyze`]: one input in, its [`analyze::Analysis`] out (parsed, symbolicated, classified,
//!   or why not); the ordered parallel pipeline over many.
//! - [`watch`]: run a command, catch every crash report it causes (late ones too), attribute each.
//! - [`run`]: the record of a watched run or a diff, with its gate verdict.
//! - [`campaign`]: many runs (`watch --repeat`, `compare`), their statistics, and `stats`.
//! - [`render`]: writers only: one [`render::Format`], one [`render::Document`] trait.
//!
//! One report goes `input` → `analyze` (`report::parse`, `symbols`, `classify`) → `render`; one
//! watched run goes `watch` (an `inventory` before, events, the wait, an `inventory` after) →
//! `analyze` for each new report → `run` (the gate) → `render`.

#![warn(missing_docs)]

pub mod analyze;
pub mod campaign;
pub mod classify;
pub mod history;
pub mod input;
pub mod inventory;
mod parallel;
pub mod render;
pub mod report;
pub mod run;
pub mod statistics;
pub mod symbols;
pub mod testlog;
pub mod watch;

/// The program that wrote a JSON document: every document carries it beside its `schema`
/// (docs/json.md), so that a record found in a CI artifact says which crashdelta made it. It
/// lives at the crate's root because documents are written at every layer (an inventory, the
/// state file, a collect manifest, the records `render` writes).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Tool {
    /// `crashdelta`.
    pub name: String,
    /// The version of the crate that wrote the document (`0.1.0`).
    pub version: String,
}

/// A finished SHA-256 as 64 lowercase hex digits: how every hash crashdelta records is written
/// (a collected copy's, a provenance file's, a campaign's digest of changed files).
pub(crate) fn sha256_hex(hasher: sha2::Sha256) -> String {
    use sha2::Digest;
    hasher
        .finalize()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

impl Tool {
    /// This crashdelta.
    pub fn this() -> Tool {
        Tool {
            name: env!("CARGO_PKG_NAME").to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
        }
    }
}

/// `%XX` escapes decoded (an invalid one is kept as written); for URL parts.
pub fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (b, hex) {
            (b'%', Some(v)) => {
                out.push(v);
                i += 3;
            }
            _ => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
