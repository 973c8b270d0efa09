//! Where a history is: a SQLite file, or a PostgreSQL database named by a URL.
//!
//! `--history`, `CRASHDELTA_HISTORY` and `history =` in crashdelta.toml all take either; what
//! starts with `postgres://` or `postgresql://` is a URL, anything else a path. A URL is shown
//! everywhere (warnings, errors, `Debug`) without its password, which lives in CI secrets.

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};

/// Where a history is.
#[derive(Clone, PartialEq, Eq)]
pub enum Location {
    /// A SQLite file (made if missing).
    File(PathBuf),
    /// A PostgreSQL database: a `postgres://` or `postgresql://` URL, with libpq's `sslmode`
    /// (`disable`, `prefer`, `require`, `verify-ca`, `verify-full`) and `sslrootcert`, and the
    /// other parameters the `postgres` crate reads (`connect_timeout`, `options`, ...).
    Postgres(String),
}

/// Whether `s` is a PostgreSQL URL (the scheme in any case).
pub fn is_postgres_url(s: &str) -> bool {
    let lower = |n: usize| s.get(..n).map(str::to_ascii_lowercase);
    lower("postgres://".len()).as_deref() == Some("postgres://")
        || lower("postgresql://".len()).as_deref() == Some("postgresql://")
}

impl Location {
    /// A URL when `s` is one, a file otherwise.
    pub fn parse(s: &OsStr) -> Location {
        match s.to_str() {
            Some(url) if is_postgres_url(url) => Location::Postgres(url.to_owned()),
            _ => Location::File(PathBuf::from(s)),
        }
    }

    /// The file, when the history is one (what the preflight and `classify`'s skip of its own
    /// database apply to).
    pub fn file(&self) -> Option<&Path> {
        match self {
            Location::File(path) => Some(path),
            Location::Postgres(_) => None,
        }
    }

    /// Shown without a password: the same as its `Display` (kept so that code written when a
    /// history was a path, `history.path().display()`, still reads the same).
    pub fn display(&self) -> &Location {
        self
    }

    /// The password in the URL (user info or a `password=` parameter), as written there.
    fn passwords(&self) -> Vec<&str> {
        let Location::Postgres(url) = self else {
            return Vec::new();
        };
        let mut found = Vec::new();
        let (head, query) = url.split_once('?').unwrap_or((url, ""));
        let rest = head.split_once("://").map_or(head, |(_, r)| r);
        // The user info ends at the last `@` before the path (a raw `@` in a password is
        // common enough, and libpq reads it so too).
        let authority = rest.split('/').next().unwrap_or(rest);
        if let Some((info, _)) = authority.rsplit_once('@')
            && let Some((_, password)) = info.split_once(':')
            && !password.is_empty()
        {
            found.push(password);
        }
        for pair in query.split('&') {
            // The key as the postgres client reads it: percent-decoded (`pass%77ord`).
            if let Some((key, value)) = pair.split_once('=')
                && percent_decode(key).eq_ignore_ascii_case("password")
                && !value.is_empty()
            {
                found.push(value);
            }
        }
        found
    }

    /// `text` with the URL's password (as written, and percent-decoded) replaced by `***`: for
    /// any message that may quote the URL.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for password in self.passwords() {
            for form in [password.to_owned(), percent_decode(password)] {
                if !form.is_empty() {
                    out = out.replace(&form, "***");
                }
            }
        }
        out
    }
}

/// `%XX` escapes decoded (an invalid one is kept as written); for URL parts. At the crate's root,
/// for the run record's redaction too (a layer below the history).
pub use crate::percent_decode;

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File(path) => write!(f, "{}", path.display()),
            Location::Postgres(url) => f.write_str(&self.redact(url)),
        }
    }
}

impl fmt::Debug for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Location::File(path) => f.debug_tuple("File").field(path).finish(),
            Location::Postgres(_) => f.debug_tuple("Postgres").field(&self.to_string()).finish(),
        }
    }
}

impl From<&OsStr> for Location {
    fn from(s: &OsStr) -> Location {
        Location::parse(s)
    }
}

impl From<&Path> for Location {
    fn from(path: &Path) -> Location {
        Location::parse(path.as_os_str())
    }
}

impl From<PathBuf> for Location {
    fn from(path: PathBuf) -> Location {
        Location::parse(path.as_os_str())
    }
}

impl From<&PathBuf> for Location {
    fn from(path: &PathBuf) -> Location {
        Location::parse(path.as_os_str())
    }
}

impl From<&str> for Location {
    fn from(s: &str) -> Location {
        Location::parse(OsStr::new(s))
    }
}

impl From<&Location> for Location {
    fn from(at: &Location) -> Location {
        at.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A `password` key written with escapes is the password to the postgres client, which
    /// decodes keys: it is redacted too (review finding: `pass%77ord=` was shown).
    #[test]
    fn an_escaped_password_key_is_redacted() {
        let at = Location::parse(OsStr::new(
            "postgresql://rv@h/db?sslmode=disable&pass%77ord=S3cr3tPW",
        ));
        let said = at.redact(&format!("cannot open {at}: S3cr3tPW"));
        assert!(!said.contains("S3cr3tPW"), "{said}");
        assert!(!at.to_string().contains("S3cr3tPW"), "{at}");
        let recorded = crate::run::provenance::without_url_password(
            "postgresql://rv@h/db?PASS%77ORD=S3cr3tPW",
        );
        assert!(!recorded.contains("S3cr3tPW"), "{recorded}");
    }

    /// A URL is told from a path by its scheme; a path that merely mentions one stays a path.
    #[test]
    fn urls_and_paths_are_told_apart() {
        assert!(matches!(
            Location::from("postgres://ci@db/crashes"),
            Location::Postgres(_)
        ));
        assert!(matches!(
            Location::from("PostgreSQL://ci@db/crashes"),
            Location::Postgres(_)
        ));
        assert_eq!(
            Location::from("ci/postgres://x.sqlite"),
            Location::File("ci/postgres://x.sqlite".into())
        );
        assert_eq!(
            Location::from("h.sqlite").file(),
            Some(Path::new("h.sqlite"))
        );
    }

    /// The password never shows: not in `Display`, not in `Debug`, not in a message quoting
    /// the URL, as written or decoded; the rest of the URL does.
    #[test]
    fn the_password_is_never_shown() {
        let at = Location::from(
            "postgres://ci:s3cr%40t@w@db.example:5432/crashes?sslmode=require&password=other",
        );
        let shown = format!("{at} {at:?} {}", at.redact("failed: s3cr@t@w and other"));
        for secret in ["s3cr", "other"] {
            assert!(!shown.contains(secret), "{shown}");
        }
        assert!(
            shown.contains("postgres://ci:***@db.example:5432/crashes"),
            "{shown}"
        );
        assert_eq!(
            Location::from("postgres://ci@db/x").to_string(),
            "postgres://ci@db/x"
        );
        assert_eq!(percent_decode("%2Ftmp%2Fpg%zz"), "/tmp/pg%zz");
    }
}
