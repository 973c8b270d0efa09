//! The history: every run and every crash crashdelta has seen, appended to a database, so that
//! the questions about many runs (how often this week, since which driver version, did the fix
//! change the rate on every runner) are answered from one place instead of from JSON records
//! gathered by hand.
//!
//! # The store
//!
//! One SQLite file (`--history PATH`), with the bundled SQLite: nothing to install; or, for a
//! fleet of runners, one PostgreSQL database (`--history postgres://...`, a [`Location`]), with
//! the same tables in PostgreSQL's types ([`pg`]). Three tables ([`SCHEMA`]):
//!
//! - `runs`: one row per watched run, campaign run, `diff` or `classify`: where (machine, user),
//!   what (command, campaign, configuration), when (window), how it ended (exit, signal, gate).
//!   A run without crashes is a row too: rates are runs that crashed over runs, not crashes alone.
//! - `crashes`: one row per crash, keyed by its incident id (a report without one, a legacy text
//!   report, by the SHA-256 of its bytes): the same report seen by two runs, two machines or a
//!   `classify` of a copied folder is one crash, first seen by the first run that stored it.
//! - `sightings`: which run saw which crash, and how it was attributed there (`run`, `late`,
//!   `concurrent`).
//!
//! The schema's version is SQLite's `user_version` (PostgreSQL: `crashdelta_meta`, which also
//! marks the tables as crashdelta's); opening a database of an older version migrates it in one
//! transaction ([`MIGRATIONS`]), and one of a newer version is refused (a newer crashdelta wrote
//! it: this one would misread it). Another program's database or tables are never touched.
//!
//! # Several writers
//!
//! Several `watch` processes on one machine (parallel CI jobs, a campaign in one terminal and a
//! `classify` in another) append to one file: the database is in WAL mode (readers never block
//! the writer), each append is one `BEGIN IMMEDIATE` transaction (the write lock is taken first,
//! so two writers never deadlock upgrading a read lock), and a writer waits up to
//! [`BUSY_TIMEOUT`] for another's transaction to end. Many runners append to one PostgreSQL
//! database the same way: each append one transaction that first takes the advisory lock all
//! crashdelta writers take ([`db::WRITE_LOCK`]), so that runs are stored one at a time and a
//! crash once, by whichever runner came first.
//!
//! # Never the verdict
//!
//! The history records what a run found; it does not decide it. A database that cannot be opened
//! or written (read-only, locked past the timeout, corrupt, on a full disk, a server that cannot
//! be reached, a wrong password) is a
//! [`HistoryError`], which the binary turns into a warning after the run's record is written:
//! the gate's verdict and the exit code are the run's, whatever the store did.

use std::path::Path;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Utc};
use rusqlite::{Connection, TransactionBehavior};
use thiserror::Error;

use crate::analyze::Analysis;
use crate::run::RunReport;
use crate::watch::{Attribution, EarlierRun};

pub mod db;
pub mod location;
pub mod pg;
pub mod query;

use db::{Db, DbError, params};
pub use location::{Location, is_postgres_url};

/// How long a writer waits for another's transaction before giving up.
pub const BUSY_TIMEOUT: Duration = Duration::from_secs(15);

/// The schema this crashdelta writes: SQLite's `user_version` after the migrations.
pub const SCHEMA_VERSION: u32 = 4;

/// The oldest schema the questions (`crashdelta history`, `stats`) read as it is: reading never
/// migrates, and every column they use is there from version 2 on.
pub const OLDEST_READABLE: u32 = 2;

/// The migrations, in order: `MIGRATIONS[i]` takes a database from version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[SCHEMA, SCHEMA_2, SCHEMA_3, SCHEMA_4];

/// Version 2: each run's process tree (`pids`, a JSON array), so that a report landing after
/// a job settled is named, in the next job, as that run's late report (as `--state` does); how
/// many new reports of the run could not be read (they fail the gate, and are crashes of the run
/// the history must not lose from its rates); and the rule each sighting matched (a crash's
/// rule in `crashes` is the one of its first sighting; rules change).
pub const SCHEMA_2: &str = r#"
ALTER TABLE runs ADD COLUMN pids TEXT;
ALTER TABLE runs ADD COLUMN unreadable INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sightings ADD COLUMN rule TEXT;
CREATE INDEX runs_machine_settled ON runs (machine, settled);
"#;

/// Version 3: the crashdelta that wrote each run (`tool_version`): its built-in rules and
/// signatures are that version's, so a signature that appears or a rule that stops matching
/// across a fleet's upgrade can be told from a change in the crashes.
pub const SCHEMA_3: &str = r#"
ALTER TABLE runs ADD COLUMN tool_version TEXT;
"#;

/// Version 4: what the crash's rule says fixed it (`fixed_in`: `driver version 342.1`) and, when
/// the report is on a version at or after that fix, the regression (`regression`: `fixed in
/// driver version 342.1, seen on 342.3.1`), as classified when the crash was stored; the driver
/// version is stored as its short version (`329.2`, where a text report says `329.2 - 329.2`).
pub const SCHEMA_4: &str = r#"
ALTER TABLE crashes ADD COLUMN fixed_in TEXT;
ALTER TABLE crashes ADD COLUMN regression TEXT;
"#;

/// The file's `application_id`: says a SQLite file is a crashdelta history, so that another
/// program's database named by mistake (a path in a repository's crashdelta.toml) is refused,
/// never turned into one.
pub const APPLICATION_ID: i32 = 0x4344_4c48; // "CDLH"

/// How many of this machine's most recent runs are looked at for late reports, as a state file
/// keeps ([`crate::watch::state::KEEP`]).
pub const EARLIER_RUNS: usize = crate::watch::state::KEEP;

/// The most pids stored for one run (a huge process tree must not make every later job slow).
const MAX_PIDS: usize = 50_000;

/// Version 1 of the schema. Times are RFC 3339 in UTC (`2026-11-30T08:15:00.123Z`), which sort
/// as text; argv is a JSON array.
pub const SCHEMA: &str = r#"
CREATE TABLE runs (
    id              INTEGER PRIMARY KEY,
    kind            TEXT NOT NULL,      -- watch, campaign-run, diff, classify
    machine         TEXT,
    os_user         TEXT,               -- not `user`: a reserved word in PostgreSQL
    command         TEXT,               -- JSON array of the command's arguments
    started         TEXT NOT NULL,
    ended           TEXT,
    settled         TEXT,
    exit_code       INTEGER,
    signal          TEXT,               -- SIGSEGV
    gate_passed     INTEGER,            -- 1 or 0: the run's own gate (classify: --fail-on)
    campaign        TEXT,               -- the campaign's id, shared by its runs
    campaign_run    INTEGER,            -- 1-based index in the campaign
    configuration   TEXT,               -- compare's A or B name
    os_build        TEXT,               -- the machine's, from the run's provenance
    hardware_model  TEXT,
    crashes         INTEGER NOT NULL    -- how many new crashes were the run's own
);
CREATE INDEX runs_started ON runs (started);
CREATE INDEX runs_campaign ON runs (campaign);

CREATE TABLE crashes (
    id              INTEGER PRIMARY KEY,
    key             TEXT NOT NULL UNIQUE,   -- the incident id, or sha256:<hex> of the report
    incident_id     TEXT,
    report_sha256   TEXT,
    captured        TEXT,
    signature_id    TEXT NOT NULL,
    signature       TEXT NOT NULL,
    rule            TEXT NOT NULL,
    known           INTEGER NOT NULL,
    family          TEXT NOT NULL,
    title           TEXT NOT NULL,
    location        TEXT,
    process         TEXT,
    pid             INTEGER,
    os_build        TEXT,
    os_train        TEXT,
    driver          TEXT,
    driver_version  TEXT,
    hardware_model  TEXT,
    test_id         TEXT,
    first_run       INTEGER NOT NULL REFERENCES runs (id)
);
CREATE INDEX crashes_signature ON crashes (signature_id, captured);
CREATE INDEX crashes_captured ON crashes (captured);

CREATE TABLE sightings (
    run             INTEGER NOT NULL REFERENCES runs (id),
    crash           INTEGER NOT NULL REFERENCES crashes (id),
    attribution     TEXT,               -- run, late, concurrent
    basis           TEXT,
    path            TEXT,
    PRIMARY KEY (run, crash)
);
CREATE INDEX sightings_crash ON sightings (crash);
"#;

/// Why the history could not be opened or written. The run's verdict never depends on it.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum HistoryError {
    /// The database could not be opened or set up (not a database, a folder that does not exist,
    /// no permission).
    #[error("cannot open the history {path}: {source}")]
    Open {
        /// The database: a file, or a PostgreSQL URL (shown without its password).
        path: Location,
        /// The store's error.
        source: DbError,
    },
    /// The database was written by a newer crashdelta, with a schema this one does not know.
    #[error(
        "the history {path} has schema version {found}, newer than this crashdelta's \
         {SCHEMA_VERSION}: use a newer crashdelta, or another --history file or database"
    )]
    Newer {
        /// The database: a file, or a PostgreSQL URL (shown without its password).
        path: Location,
        /// Its `user_version` (SQLite) or `crashdelta_meta.schema_version` (PostgreSQL).
        found: u32,
    },
    /// Reading a history too old for the questions (schema version 1: no process trees, no
    /// unreadable reports): it is left as it was; a run that writes to it migrates it.
    #[error(
        "the history {path} has schema version {found}, older than the questions need \
         ({OLDEST_READABLE} or later): any crashdelta run given --history {path} migrates it"
    )]
    Older {
        /// The database: a file, or a PostgreSQL URL (shown without its password).
        path: Location,
        /// Its schema version.
        found: u32,
    },
    /// Reading a store where no run was ever recorded: an empty file or database.
    #[error(
        "{path} holds no history yet: no crashdelta run has written to it (give it to a run's \
         --history first)"
    )]
    Empty {
        /// The database: a file, or a PostgreSQL URL (shown without its password).
        path: Location,
    },
    /// The file is another program's SQLite database, or the PostgreSQL schema holds another
    /// program's `runs`, `crashes` or `sightings`, not a crashdelta history: it is left as it was.
    #[error(
        "{path} is not a crashdelta history (another program's database or tables): name a new \
         file, an empty database, or an existing history with --history"
    )]
    Foreign {
        /// The database: a file, or a PostgreSQL URL (shown without its password).
        path: Location,
    },
    /// Migrating an older database failed; it is left as it was (one transaction).
    #[error("cannot migrate the history {path} from schema version {from}: {source}")]
    Migrate {
        /// The database: a file, or a PostgreSQL URL (shown without its password).
        path: Location,
        /// The version it had.
        from: u32,
        /// The store's error.
        source: DbError,
    },
    /// Reading the history failed.
    #[error("cannot read the history {path}: {source}")]
    Read {
        /// The database: a file, or a PostgreSQL URL (shown without its password).
        path: Location,
        /// The store's error.
        source: DbError,
    },
    /// Appending a run failed (read-only file, locked longer than the busy timeout, full disk);
    /// nothing of the run was stored (one transaction).
    #[error("cannot write to the history {path}: {source}")]
    Write {
        /// The database: a file, or a PostgreSQL URL (shown without its password).
        path: Location,
        /// The store's error.
        source: DbError,
    },
}

/// What kind of run a row is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// One `watch`.
    Watch,
    /// A run of a campaign (`watch --repeat`, `compare`).
    CampaignRun,
    /// A `diff` of two inventories (no command).
    Diff,
    /// A `classify` of report files.
    Classify,
}

impl Kind {
    /// How the `runs.kind` column says it.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Watch => "watch",
            Kind::CampaignRun => "campaign-run",
            Kind::Diff => "diff",
            Kind::Classify => "classify",
        }
    }
}

/// Where a run sits in a campaign.
#[derive(Debug, Clone)]
pub struct InCampaign {
    /// The campaign's id, the same for all its runs.
    pub id: String,
    /// 1-based.
    pub index: u64,
    /// Its configuration's name (`compare`'s A or B).
    pub configuration: Option<String>,
}

/// One run, as the history stores it.
#[derive(Debug, Clone)]
pub struct RunEntry {
    /// What kind of run.
    pub kind: Kind,
    /// The machine's host name.
    pub machine: Option<String>,
    /// The user who ran it.
    pub user: Option<String>,
    /// The command and its arguments, if one ran.
    pub command: Option<Vec<String>>,
    /// When it started.
    pub started: DateTime<Utc>,
    /// When its command exited (or the inventory was taken).
    pub ended: Option<DateTime<Utc>>,
    /// When its wait for late reports ended.
    pub settled: Option<DateTime<Utc>>,
    /// The command's exit code.
    pub exit_code: Option<i32>,
    /// The signal that killed the command, by name.
    pub signal: Option<String>,
    /// The gate's verdict; `None` where nothing was gated.
    pub gate_passed: Option<bool>,
    /// The campaign it belongs to.
    pub campaign: Option<InCampaign>,
    /// The machine's OS build, from the run's provenance.
    pub os_build: Option<String>,
    /// The machine's hardware model.
    pub hardware_model: Option<String>,
    /// The crashes it saw.
    pub crashes: Vec<CrashEntry>,
    /// How many crashes were its own: those it saw attributed to it, or, for a campaign's run,
    /// the campaign's count (a late report that landed during a later run is this run's).
    pub crashed: u64,
    /// Every pid seen in its process tree (none for `diff` and `classify`).
    pub pids: Vec<u32>,
    /// New reports of the run that could not be read (cut, unreadable, too large): no crash
    /// row (nothing to key or classify), but the run's, and they fail its gate.
    pub unreadable: u64,
}

/// One crash a run saw.
#[derive(Debug, Clone)]
pub struct CrashEntry {
    /// The report's incident id.
    pub incident_id: Option<String>,
    /// The SHA-256 of the report's bytes, when they could be read again.
    pub report_sha256: Option<String>,
    /// When the crash was captured, by the report.
    pub captured: Option<DateTime<Utc>>,
    /// The signature's id (16 hex digits).
    pub signature_id: String,
    /// The signature.
    pub signature: String,
    /// The rule that matched.
    pub rule: String,
    /// Whether the rule marks it as known.
    pub known: bool,
    /// The rule's family (`agx`, `python`, ...).
    pub family: String,
    /// The crash in words.
    pub title: String,
    /// The first meaningful frame.
    pub location: Option<String>,
    /// The process that crashed.
    pub process: Option<String>,
    /// Its pid.
    pub pid: Option<u64>,
    /// The OS build the report names.
    pub os_build: Option<String>,
    /// The OS version (train) the report names.
    pub os_train: Option<String>,
    /// The GPU driver image, when the crash is in one.
    pub driver: Option<String>,
    /// Its version.
    pub driver_version: Option<String>,
    /// The hardware model the report names.
    pub hardware_model: Option<String>,
    /// The test that crashed, when known.
    pub test_id: Option<String>,
    /// How the run attributed it: `run`, `late`, `concurrent`; `None` for `classify`.
    pub attribution: Option<(String, String)>,
    /// Where the run found the report.
    pub path: String,
    /// Whether it was the run's own crash (counted in `runs.crashes`).
    pub own: bool,
    /// For a late report: when the earlier run it belongs to started. When that run is of the
    /// same campaign and in the history, the crash is stored as first seen by it.
    pub belongs_to: Option<DateTime<Utc>>,
    /// What the rule says fixed the crash (`driver version 342.1`).
    pub fixed_in: Option<String>,
    /// The regression, when the report is on a version at or after that fix.
    pub regression: Option<String>,
}

impl CrashEntry {
    /// The crash of an analysed report, or `None` when it is not one (unreadable, not a crash).
    /// `attribution` is how a run placed it; the report's bytes are those hashed when they were
    /// read ([`Analysis::sha256`]), else hashed from its file.
    pub fn of(analysis: &Analysis, attribution: Option<&Attribution>) -> Option<CrashEntry> {
        let (report, c) = analysis.crash()?;
        Some(CrashEntry {
            // A blank incident id names nothing: two such reports are not one crash.
            incident_id: report
                .incident_id
                .as_deref()
                .map(str::trim)
                .filter(|id| !id.is_empty())
                .map(str::to_owned),
            // The bytes of a report read from a file are hashed from that file ("-", standard
            // input, is gone; a report of a file that changed since is hashed as it is now).
            report_sha256: analysis.sha256.clone().or_else(|| {
                Some(analysis.path.as_str())
                    .filter(|p| *p != "-")
                    .and_then(|p| crate::input::read_file(Path::new(p)).ok())
                    .map(|b| {
                        use sha2::Digest;
                        crate::sha256_hex(sha2::Sha256::new_with_prefix(&b))
                    })
            }),
            captured: report.capture_time.map(|t| t.with_timezone(&Utc)),
            signature_id: c.signature_id.clone(),
            signature: c.signature.clone(),
            rule: c.rule.clone(),
            known: c.known,
            family: json_name(&c.family),
            title: c.title.clone(),
            location: c.location.clone(),
            process: report.process.name.clone(),
            pid: report.process.pid,
            os_build: report.os.build.clone(),
            os_train: report.os.train.clone(),
            driver: c.driver.as_ref().map(|d| d.name.clone()),
            // The short version (`329.2 - 329.2` in a text report is `329.2`), as the rules
            // compare it.
            driver_version: crate::classify::versions(report, c.driver.as_ref())
                .driver_version
                .map(str::to_owned),
            hardware_model: report.hardware_model.clone(),
            test_id: None,
            attribution: attribution.map(|a| (json_name(&a.kind), json_name(&a.basis))),
            path: analysis.path.clone(),
            own: attribution.is_none_or(|a| a.kind == crate::watch::AttributionKind::Run),
            belongs_to: attribution
                .and_then(|a| a.earlier_run.as_ref())
                .map(|r| r.start),
            fixed_in: c.fixed_in.as_ref().map(|f| f.describe()),
            regression: c.regression.as_ref().map(|r| r.describe()),
        })
    }

    /// The key a crash is stored once under: its incident id, or its bytes' digest.
    fn key(&self) -> Option<String> {
        match (&self.incident_id, &self.report_sha256) {
            (Some(id), _) => Some(id.clone()),
            (_, Some(sha)) => Some(format!("sha256:{sha}")),
            _ => None,
        }
    }
}

/// Names a value the way its JSON does (`"run"`, `"process-tree"`).
fn json_name<T: serde::Serialize>(v: &T) -> String {
    match serde_json::to_value(v) {
        Ok(serde_json::Value::String(s)) => s,
        _ => String::new(),
    }
}

impl RunEntry {
    /// A watched run (or a `diff`, which ran no command) from its record; `campaign` when it is
    /// a campaign's run.
    pub fn of(run: &RunReport, campaign: Option<InCampaign>) -> RunEntry {
        let command = run.command.as_ref();
        let host = run.provenance.as_ref().map(|p| &p.host);
        let kind = match (command, &campaign) {
            (None, _) => Kind::Diff,
            (Some(_), Some(_)) => Kind::CampaignRun,
            (Some(_), None) => Kind::Watch,
        };
        let crashes: Vec<CrashEntry> = run
            .new
            .iter()
            .filter(|n| n.duplicate_of.is_none())
            .filter_map(|n| {
                let mut c = CrashEntry::of(&n.analysis, Some(&n.attribution))?;
                c.test_id = n.test.as_ref().and_then(|t| t.test_id()).map(str::to_owned);
                Some(c)
            })
            .collect();
        RunEntry {
            kind,
            machine: machine(),
            user: user(),
            command: command.map(|c| c.argv.clone()),
            started: run.window.start,
            ended: Some(run.window.end),
            settled: Some(run.window.settled),
            exit_code: command.and_then(|c| c.exit),
            signal: command.and_then(|c| c.signal_name.clone()),
            gate_passed: Some(run.gate.passed),
            campaign,
            os_build: host.and_then(|h| h.os_build.clone()),
            hardware_model: host.and_then(|h| h.hardware_model.clone()),
            crashed: crashes.iter().filter(|c| c.own).count() as u64,
            crashes,
            pids: command.map(|c| c.pids.clone()).unwrap_or_default(),
            unreadable: run
                .new
                .iter()
                .filter(|n| n.duplicate_of.is_none() && n.analysis.result.is_err())
                .count() as u64,
        }
    }
}

/// The user running crashdelta (`$USER`).
pub fn user() -> Option<String> {
    std::env::var("USER").ok().filter(|u| !u.is_empty())
}

/// This machine's host name.
pub fn machine() -> Option<String> {
    sysinfo::System::host_name().filter(|h| !h.is_empty())
}

/// What appending a run did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Appended {
    /// The run's row id.
    pub run: i64,
    /// Crashes stored for the first time.
    pub new_crashes: u64,
    /// Crashes the history already held (another run, machine or `classify` saw them first).
    pub seen_before: u64,
}

/// An open history database.
pub struct History {
    db: Db,
    path: Location,
}

impl History {
    /// Opens (creating it if need be) the history at `at`, migrated to [`SCHEMA_VERSION`]: a
    /// SQLite file in WAL mode with a busy timeout, or a PostgreSQL database (connected as its
    /// URL says, its tables made in one transaction under the writers' lock if missing).
    pub fn open(at: impl Into<Location>) -> Result<History, HistoryError> {
        match at.into() {
            Location::File(path) => History::open_file(&path),
            Location::Postgres(url) => History::open_postgres(url, true),
        }
    }

    /// [`History::open`] of a PostgreSQL database; `migrate` false to read it as it is.
    fn open_postgres(url: String, migrate: bool) -> Result<History, HistoryError> {
        let db = pg::connect(&url);
        let path = Location::Postgres(url);
        let mut db = db.map_err(|source| HistoryError::Open {
            path: path.clone(),
            source,
        })?;
        let found = match migrate {
            true => pg::migrate(&mut db),
            false => pg::found(&mut db),
        };
        let found = found.map_err(|source| HistoryError::Open {
            path: path.clone(),
            source,
        })?;
        match found {
            pg::Found::Version(v) if v > SCHEMA_VERSION => {
                Err(HistoryError::Newer { path, found: v })
            }
            pg::Found::Foreign => Err(HistoryError::Foreign { path }),
            // Made or migrated now, or already of this version.
            _ if migrate => Ok(History { db, path }),
            // Reading changes nothing: an older version is read as it is when the questions
            // find their columns there, and said to be older when not.
            pg::Found::Version(v) if v >= OLDEST_READABLE => Ok(History { db, path }),
            pg::Found::Version(found) => Err(HistoryError::Older { path, found }),
            pg::Found::Empty => Err(HistoryError::Empty { path }),
        }
    }

    /// [`History::open`] of a SQLite file.
    fn open_file(path: &Path) -> Result<History, HistoryError> {
        let open = |source: rusqlite::Error| HistoryError::Open {
            path: Location::File(path.to_owned()),
            source: source.into(),
        };
        // A path, never a URI (`file:x?mode=ro`) or SQLite's in-memory database: what is
        // recorded must land in the file named.
        if path.as_os_str().is_empty() || path.as_os_str() == ":memory:" {
            return Err(open(rusqlite::Error::InvalidPath(path.to_owned())));
        }
        let flags = rusqlite::OpenFlags::SQLITE_OPEN_READ_WRITE
            | rusqlite::OpenFlags::SQLITE_OPEN_CREATE
            | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let mut conn = Connection::open_with_flags(plain(path), flags).map_err(open)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open)?;
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(open)?;
        migrate(&mut conn, path)?;
        // WAL, once the file is known to be a history: readers do not block the writer, nor the
        // writer them. A read-only file cannot switch modes; a write then fails as it would.
        let _ = conn.pragma_update(None, "journal_mode", "WAL");
        Ok(History {
            db: Db::Sqlite(conn),
            path: Location::File(path.to_owned()),
        })
    }

    /// Where the history is (shown without a URL's password).
    pub fn path(&self) -> &Location {
        &self.path
    }

    /// The schema version of the open database.
    pub fn version(&mut self) -> Result<u32, HistoryError> {
        let version = match &mut self.db {
            Db::Sqlite(conn) => user_version(conn).map_err(DbError::from),
            db @ Db::Postgres(_) => pg::found(db).map(|found| match found {
                pg::Found::Version(v) => v,
                pg::Found::Empty | pg::Found::Foreign => 0,
            }),
        };
        version.map_err(|source| self.read_error(source))
    }

    fn read_error(&self, source: DbError) -> HistoryError {
        HistoryError::Read {
            path: self.path.clone(),
            source,
        }
    }

    /// Appends a run and its crashes, in one transaction: all of it is stored, or none.
    pub fn append(&mut self, run: &RunEntry) -> Result<Appended, HistoryError> {
        let appended = self.db.write(|db| append(db, run));
        appended.map_err(|source| HistoryError::Write {
            path: self.path.clone(),
            source,
        })
    }

    /// The most recent runs of `machine` that ran a command, oldest first, as the state file
    /// keeps them: a report that lands after one of them settled is named as its late report
    /// ([`crate::watch::attribute`]). A row this crashdelta cannot read back is skipped.
    pub fn earlier_runs(&mut self, machine: Option<&str>) -> Result<Vec<EarlierRun>, HistoryError> {
        let limit = i64::try_from(EARLIER_RUNS).unwrap_or(i64::MAX);
        // `machine = ?1 OR (?1 IS NULL AND machine IS NULL)`: SQLite's `IS` between values is
        // not PostgreSQL's, this is both stores' "the same machine, or both unknown".
        let rows = self
            .db
            .rows(
                "SELECT command, started, settled, pids FROM runs \
                 WHERE pids IS NOT NULL AND settled IS NOT NULL \
                 AND (machine = ?1 OR (?1 IS NULL AND machine IS NULL)) \
                 ORDER BY settled DESC LIMIT ?2",
                params![machine, limit],
            )
            .map_err(|e| self.read_error(e))?;
        let mut runs = Vec::new();
        for row in rows {
            let parsed = (
                row.text(1).map(DateTime::parse_from_rfc3339),
                row.text(2).map(DateTime::parse_from_rfc3339),
                row.text(3).map(serde_json::from_str::<Vec<u32>>),
            );
            if let (Some(Ok(start)), Some(Ok(settled)), Some(Ok(pids))) = parsed {
                runs.push(EarlierRun {
                    argv: row
                        .text(0)
                        .and_then(|c| serde_json::from_str(c).ok())
                        .unwrap_or_default(),
                    start: start.with_timezone(&Utc),
                    settled: settled.with_timezone(&Utc),
                    pids,
                });
            }
        }
        runs.reverse();
        Ok(runs)
    }

    /// What the history says over the question's window (`crashdelta history`).
    pub fn answer(&mut self, q: &query::Question) -> Result<query::Answer, HistoryError> {
        let store = self.path.display().to_string();
        let version = self.version()?;
        self.db
            .read(|db| query::answer(db, &store, q, version))
            .map_err(|e| self.read_error(e))
    }

    /// How many runs and crashes the history holds.
    pub fn counts(&mut self) -> Result<(u64, u64), HistoryError> {
        let row = self
            .db
            .row(
                "SELECT (SELECT count(*) FROM runs), (SELECT count(*) FROM crashes)",
                &[],
            )
            .map_err(|e| self.read_error(e))?
            .unwrap_or_default();
        Ok((row.count(0), row.count(1)))
    }
}

/// [`History::append`]'s work, inside its transaction.
fn append(db: &mut Db, run: &RunEntry) -> Result<Appended, DbError> {
    let campaign = run.campaign.as_ref();
    let inserted = db.row(
        "INSERT INTO runs (kind, machine, os_user, command, started, ended, settled, \
         exit_code, signal, gate_passed, campaign, campaign_run, configuration, os_build, \
         hardware_model, crashes, pids, unreadable, tool_version) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
         ?18, ?19) RETURNING id",
        params![
            run.kind.as_str(),
            run.machine.as_deref(),
            run.user.as_deref(),
            run.command
                .as_ref()
                .map(|c| serde_json::to_string(c).unwrap_or_default()),
            time(run.started),
            run.ended.map(time),
            run.settled.map(time),
            run.exit_code,
            run.signal.as_deref(),
            run.gate_passed,
            campaign.map(|c| c.id.as_str()),
            campaign.map(|c| c.index),
            campaign.and_then(|c| c.configuration.as_deref()),
            run.os_build.as_deref(),
            run.hardware_model.as_deref(),
            run.crashed,
            (!run.pids.is_empty()).then(|| {
                let kept = run.pids.get(..MAX_PIDS).unwrap_or(&run.pids);
                serde_json::to_string(kept).unwrap_or_default()
            }),
            run.unreadable,
            env!("CARGO_PKG_VERSION"),
        ],
    )?;
    let run_id = inserted.and_then(|r| r.int(0)).ok_or(DbError::NoId)?;
    let mut appended = Appended {
        run: run_id,
        new_crashes: 0,
        seen_before: 0,
    };
    // Keys met earlier in this run: a copy of a report is not "seen before".
    let mut here = std::collections::HashSet::new();
    for c in &run.crashes {
        let Some(key) = c.key() else {
            // Neither an incident id nor readable bytes: nothing to store it once under.
            continue;
        };
        // A late report of an earlier run is that run's crash: stored as first seen by it, and
        // sighted by it, as well as by the run it landed in. The earlier run is the same
        // campaign's, or (a report that landed after its job settled) this machine's run that
        // started then.
        let in_campaign: Option<i64> = match (campaign, c.belongs_to) {
            (Some(campaign), Some(start)) => db
                .row(
                    "SELECT id FROM runs WHERE campaign = ?1 AND started = ?2",
                    params![campaign.id.as_str(), time(start)],
                )?
                .and_then(|r| r.int(0)),
            _ => None,
        };
        let earlier_job: Option<i64> = match (in_campaign, c.belongs_to) {
            (None, Some(start)) => db
                .row(
                    "SELECT id FROM runs WHERE started = ?1 AND id <> ?2 \
                     AND (machine = ?3 OR (?3 IS NULL AND machine IS NULL)) \
                     ORDER BY id DESC LIMIT 1",
                    params![time(start), run_id, run.machine.as_deref()],
                )?
                .and_then(|r| r.int(0)),
            _ => None,
        };
        let owner = in_campaign.or(earlier_job);
        let inserted = db.execute(
            "INSERT INTO crashes (key, incident_id, report_sha256, captured, signature_id, \
             signature, rule, known, family, title, location, process, pid, os_build, os_train, \
             driver, driver_version, hardware_model, test_id, first_run, fixed_in, regression) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, \
             ?18, ?19, ?20, ?21, ?22) ON CONFLICT (key) DO NOTHING",
            params![
                key.as_str(),
                c.incident_id.as_deref(),
                c.report_sha256.as_deref(),
                c.captured.map(time),
                c.signature_id.as_str(),
                c.signature.as_str(),
                c.rule.as_str(),
                c.known,
                c.family.as_str(),
                c.title.as_str(),
                c.location.as_deref(),
                c.process.as_deref(),
                c.pid.and_then(|p| i64::try_from(p).ok()),
                c.os_build.as_deref(),
                c.os_train.as_deref(),
                c.driver.as_deref(),
                c.driver_version.as_deref(),
                c.hardware_model.as_deref(),
                c.test_id.as_deref(),
                owner.unwrap_or(run_id),
                c.fixed_in.as_deref(),
                c.regression.as_deref(),
            ],
        )?;
        let first_here = here.insert(key.clone());
        if inserted == 1 {
            appended.new_crashes += 1;
        } else if first_here {
            appended.seen_before += 1;
        }
        if inserted == 0 && c.test_id.is_some() {
            // A test learnt later (a campaign's run joined it; a classify did not) is kept.
            db.execute(
                "UPDATE crashes SET test_id = ?2 WHERE key = ?1 AND test_id IS NULL",
                params![key.as_str(), c.test_id.as_deref()],
            )?;
        }
        let crash = db
            .row(
                "SELECT id FROM crashes WHERE key = ?1",
                params![key.as_str()],
            )?
            .and_then(|r| r.int(0))
            .ok_or(DbError::NoId)?;
        let sightings = [
            Some((run_id, c.attribution.as_ref().map(|a| a.0.as_str()))),
            owner.map(|o| (o, Some("run"))),
        ];
        for (seer, attribution) in sightings.into_iter().flatten() {
            let sighted = db.execute(
                "INSERT INTO sightings (run, crash, attribution, basis, path, rule) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT (run, crash) DO NOTHING",
                params![
                    seer,
                    crash,
                    attribution,
                    c.attribution.as_ref().map(|a| a.1.as_str()),
                    c.path.as_str(),
                    c.rule.as_str(),
                ],
            )?;
            // An earlier job's run learns of its crash now: its count grows, so that its rate
            // is a real rate (a campaign's runs were given the campaign's own count already).
            // Its gate's verdict stays the one it gave.
            if sighted == 1 && Some(seer) == earlier_job {
                db.execute(
                    "UPDATE runs SET crashes = crashes + 1 WHERE id = ?1",
                    params![seer],
                )?;
            }
        }
    }
    Ok(appended)
}

/// A crash as the history keeps it, for `stats`.
#[derive(Debug, Clone)]
pub struct StoredCrash {
    /// The signature's id.
    pub signature_id: String,
    /// The signature.
    pub signature: String,
    /// The first meaningful frame.
    pub location: Option<String>,
    /// The rule of its first sighting.
    pub rule: String,
    /// The crash in words.
    pub title: String,
    /// Whether the rule marks it as known.
    pub known: bool,
    /// The OS build the report names.
    pub os_build: Option<String>,
    /// The GPU driver image and its version.
    pub driver: Option<(String, Option<String>)>,
    /// The hardware model the report names.
    pub hardware_model: Option<String>,
    /// When it was captured (RFC 3339).
    pub captured: Option<String>,
    /// The test that crashed, when known.
    pub test_id: Option<String>,
}

/// What `stats` reads from a history: every crash once, and each watched run (a `watch` or a
/// campaign's run) with its own crashes, for the crashes by test out of the runs.
#[derive(Debug, Clone, Default)]
pub struct Stored {
    /// Every crash, once.
    pub crashes: Vec<StoredCrash>,
    /// Each watched run's own crashes (indexes into `crashes`), runs without one included.
    pub runs: Vec<Vec<usize>>,
}

/// Whether the file at `path` starts as a SQLite database does: `stats` reads it as a history.
pub fn looks_like_sqlite(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 16];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut head))
        .is_ok_and(|()| &head == b"SQLite format 3\0")
}

impl History {
    /// Opens an existing history to read it, changing nothing (no migration, no WAL switch, a
    /// PostgreSQL session whose transactions are read-only): an older schema from
    /// [`OLDEST_READABLE`] on is read as it is; a newer one, an older one, an empty store or
    /// another program's database is refused, each with its own error.
    pub fn open_to_read(at: impl Into<Location>) -> Result<History, HistoryError> {
        let path = match at.into() {
            Location::File(path) => path,
            Location::Postgres(url) => {
                let mut h = History::open_postgres(url, false)?;
                h.db.batch("SET default_transaction_read_only = on")
                    .map_err(|e| h.read_error(e))?;
                return Ok(h);
            }
        };
        let path = path.as_path();
        let at = || Location::File(path.to_owned());
        let open = |source: rusqlite::Error| HistoryError::Open {
            path: at(),
            source: source.into(),
        };
        let flags =
            rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn = Connection::open_with_flags(plain(path), flags).map_err(open)?;
        conn.busy_timeout(BUSY_TIMEOUT).map_err(open)?;
        // The questions scan every crash several times (by day, by version, by test): with
        // SQLite's default 2 MiB page cache each scan reads the file again, page by page (200,000
        // preads for a 60 MB history); 64 MiB keeps a fleet's history in memory between scans.
        conn.pragma_update(None, "cache_size", -65536)
            .map_err(open)?;
        let version = user_version(&conn).map_err(open)?;
        if version > SCHEMA_VERSION {
            return Err(HistoryError::Newer {
                path: at(),
                found: version,
            });
        }
        let ours = application_id(&conn).map_err(open)? == APPLICATION_ID;
        if !(ours || adoptable(&conn, version).map_err(open)?) {
            return Err(HistoryError::Foreign { path: at() });
        }
        // A history is read as it is, never migrated: an older one is read when the questions
        // find their columns in it.
        match version {
            0 => return Err(HistoryError::Empty { path: at() }),
            found if found < OLDEST_READABLE => {
                return Err(HistoryError::Older { path: at(), found });
            }
            _ => {}
        }
        Ok(History {
            db: Db::Sqlite(conn),
            path: at(),
        })
    }

    /// Every crash once, and each watched run's own crashes ([`Stored`]).
    pub fn stored(&mut self) -> Result<Stored, HistoryError> {
        let mut stored = Stored::default();
        let mut at = std::collections::HashMap::new();
        self.db
            .for_each(
                "SELECT id, signature_id, signature, location, rule, title, known, os_build, \
                 driver, driver_version, hardware_model, captured, test_id FROM crashes \
                 ORDER BY id",
                &[],
                |r| {
                    let (Some(id), Some(signature_id), Some(signature), Some(rule), Some(title)) =
                        (r.int(0), r.string(1), r.string(2), r.string(4), r.string(5))
                    else {
                        return;
                    };
                    at.insert(id, stored.crashes.len());
                    stored.crashes.push(StoredCrash {
                        signature_id,
                        signature,
                        location: r.string(3),
                        rule,
                        title,
                        known: r.flag(6).unwrap_or(false),
                        os_build: r.string(7),
                        driver: r.string(8).map(|d| (d, r.string(9))),
                        hardware_model: r.string(10),
                        captured: r.string(11),
                        test_id: r.string(12),
                    });
                },
            )
            .map_err(|e| HistoryError::Read {
                path: self.path.clone(),
                source: e,
            })?;
        let mut last = None;
        self.db
            .for_each(
                &format!(
                    "SELECT r.id, s.crash FROM runs r LEFT JOIN sightings s \
                     ON s.run = r.id AND s.attribution = 'run' \
                     WHERE {} ORDER BY r.id",
                    query::WATCHED
                ),
                &[],
                |r| {
                    let run = r.int(0);
                    if last != Some(run) {
                        last = Some(run);
                        stored.runs.push(Vec::new());
                    }
                    let crash = r.int(1).and_then(|c| at.get(&c));
                    if let (Some(i), Some(own)) = (crash, stored.runs.last_mut()) {
                        own.push(*i);
                    }
                },
            )
            .map_err(|e| HistoryError::Read {
                path: self.path.clone(),
                source: e,
            })?;
        Ok(stored)
    }
}

/// `path` as SQLite must be given it to open that file: the bundled SQLite reads a name that
/// starts with `file:` as a URI (`file:x.sqlite?mode=memory`), which would open another file, or
/// none, than the one named; `./file:...` is the file of that name.
fn plain(path: &Path) -> std::borrow::Cow<'_, Path> {
    if path.as_os_str().as_encoded_bytes().starts_with(b"file:") {
        std::borrow::Cow::Owned(Path::new(".").join(path))
    } else {
        std::borrow::Cow::Borrowed(path)
    }
}

/// RFC 3339 in UTC with milliseconds: sorts as text.
pub(crate) fn time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

fn application_id(conn: &Connection) -> Result<i32, rusqlite::Error> {
    conn.query_row("PRAGMA application_id", [], |r| r.get::<_, i32>(0))
}

/// Whether a file without crashdelta's `application_id` may become (or is) a history: an empty
/// file, or one a crashdelta made before the id was set (its three tables, a version we know).
fn adoptable(conn: &Connection, version: u32) -> Result<bool, rusqlite::Error> {
    let tables: Vec<String> = conn
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    Ok(match version {
        0 => tables.is_empty(),
        _ => tables == ["crashes", "runs", "sightings"],
    })
}

fn user_version(conn: &Connection) -> Result<u32, rusqlite::Error> {
    conn.query_row("PRAGMA user_version", [], |r| r.get::<_, i64>(0))
        .map(|v| u32::try_from(v).unwrap_or(u32::MAX))
}

/// Brings the database to [`SCHEMA_VERSION`], in one immediate transaction (two processes
/// opening a new file at once: the second waits, then finds it migrated).
fn migrate(conn: &mut Connection, path: &Path) -> Result<(), HistoryError> {
    let at = || Location::File(path.to_owned());
    let open = |source: rusqlite::Error| HistoryError::Open {
        path: at(),
        source: source.into(),
    };
    // Up to date: nothing to write (a file this user may only read is still readable).
    let found = user_version(conn).map_err(open)?;
    let ours = application_id(conn).map_err(open)? == APPLICATION_ID;
    if found > SCHEMA_VERSION {
        return Err(HistoryError::Newer { path: at(), found });
    }
    if !ours && !adoptable(conn, found).map_err(open)? {
        return Err(HistoryError::Foreign { path: at() });
    }
    if found == SCHEMA_VERSION && ours {
        return Ok(());
    }
    let tx = conn
        .transaction_with_behavior(TransactionBehavior::Immediate)
        .map_err(open)?;
    // Read again under the write lock: another process may have migrated it meanwhile.
    let found = user_version(&tx).map_err(open)?;
    if found > SCHEMA_VERSION {
        return Err(HistoryError::Newer { path: at(), found });
    }
    for (from, step) in MIGRATIONS.iter().enumerate().skip(found as usize) {
        let from = u32::try_from(from).unwrap_or(u32::MAX);
        let failed = |source: rusqlite::Error| HistoryError::Migrate {
            path: at(),
            from,
            source: source.into(),
        };
        tx.execute_batch(step).map_err(failed)?;
        tx.pragma_update(None, "user_version", from + 1)
            .map_err(failed)?;
    }
    tx.pragma_update(None, "application_id", APPLICATION_ID)
        .map_err(open)?;
    tx.commit().map_err(open)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn crash(incident: Option<&str>, sha: Option<&str>) -> CrashEntry {
        CrashEntry {
            incident_id: incident.map(str::to_owned),
            report_sha256: sha.map(str::to_owned),
            captured: None,
            signature_id: "25ad5093bba0f34e".into(),
            signature: "AGX!prepareForEnqueue".into(),
            rule: "agx-prepare-for-enqueue-race".into(),
            known: true,
            family: "agx".into(),
            title: "the race".into(),
            location: None,
            process: Some("Python".into()),
            pid: Some(81920),
            os_build: Some("24G419".into()),
            os_train: None,
            driver: Some("AGXMetalG16X".into()),
            driver_version: Some("329.2".into()),
            hardware_model: None,
            test_id: None,
            attribution: Some(("run".into(), "process-tree".into())),
            path: "/r/Python.ips".into(),
            own: true,
            belongs_to: None,
            fixed_in: None,
            regression: None,
        }
    }

    /// The stores a test runs against: a new SQLite file in `dir`, and a new PostgreSQL
    /// database when the test server is there (dropped with the second value).
    fn stores(dir: &Path, name: &str) -> (Vec<Location>, Option<pg::testing::TestDatabase>) {
        let db = pg::testing::new_database(name);
        let mut at = vec![Location::File(dir.join(format!("{name}.sqlite")))];
        at.extend(db.as_ref().map(|d| Location::Postgres(d.url.clone())));
        (at, db)
    }

    /// A client of the PostgreSQL database at `url`, for a test to look at or set up.
    fn client(url: &str) -> postgres::Client {
        postgres::Client::connect(url, postgres::NoTls).unwrap_or_else(|e| panic!("{e}"))
    }

    fn run(crashes: Vec<CrashEntry>) -> RunEntry {
        RunEntry {
            kind: Kind::Watch,
            machine: Some("mac-mini-3".into()),
            user: None,
            command: Some(vec!["pytest".into()]),
            started: Utc::now(),
            ended: None,
            settled: None,
            exit_code: Some(0),
            signal: None,
            gate_passed: Some(false),
            campaign: None,
            os_build: None,
            hardware_model: None,
            crashed: crashes.len() as u64,
            crashes,
            pids: vec![4242, 4243],
            unreadable: 0,
        }
    }

    /// A crash is stored once under its incident id, or, without one, under its bytes' digest;
    /// with neither it is not stored at all (nothing would tell two of them apart), but its run
    /// still is. A test learnt by a later sighting is kept.
    #[test]
    fn crashes_are_keyed_by_incident_then_digest() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let (stores, _db) = stores(dir.path(), "keyed");
        for at in stores {
            crashes_are_keyed_in(at);
        }
    }

    fn crashes_are_keyed_in(at: Location) {
        let mut h = History::open(&at).unwrap_or_else(|e| panic!("{at}: {e}"));
        let first = h
            .append(&run(vec![
                crash(Some("A"), None),
                crash(None, Some("ab12")),
                crash(None, None),
            ]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((first.new_crashes, first.seen_before), (2, 0));
        let mut again = crash(Some("A"), Some("ffff"));
        again.test_id = Some("tests/test_mps.py::test_gather".into());
        let second = h
            .append(&run(vec![again, crash(None, Some("ab12"))]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((second.new_crashes, second.seen_before), (0, 2));
        assert_eq!(h.counts().unwrap_or_else(|e| panic!("{e}")), (2, 2));
        let test =
            h.db.row("SELECT test_id FROM crashes WHERE key = 'A'", &[])
                .unwrap_or_else(|e| panic!("{e}"))
                .and_then(|r| r.string(0));
        assert_eq!(test.as_deref(), Some("tests/test_mps.py::test_gather"));
    }

    /// A file of schema version 1 (no process trees) is migrated to 2 when opened, its rows kept;
    /// its runs, which name no tree, are not offered for late reports, the new ones are.
    #[test]
    fn a_version_1_history_is_migrated_and_keeps_its_rows() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("v1.sqlite");
        {
            let c = Connection::open(&path).unwrap_or_else(|e| panic!("{e}"));
            c.execute_batch(SCHEMA).unwrap_or_else(|e| panic!("{e}"));
            c.pragma_update(None, "user_version", 1)
                .unwrap_or_else(|e| panic!("{e}"));
            c.execute(
                "INSERT INTO runs (kind, machine, started, settled, crashes) \
                 VALUES ('watch', 'mac-mini-3', '2026-11-01T00:00:00.000Z', \
                 '2026-11-01T00:00:05.000Z', 0)",
                [],
            )
            .unwrap_or_else(|e| panic!("{e}"));
        }
        let mut h = History::open(&path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            h.version().unwrap_or_else(|e| panic!("{e}")),
            SCHEMA_VERSION
        );
        assert_eq!(h.counts().unwrap_or_else(|e| panic!("{e}")), (1, 0));
        let none = h
            .earlier_runs(Some("mac-mini-3"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(none.is_empty(), "{none:?}");
        let mut entry = run(Vec::new());
        entry.settled = Some(Utc::now());
        h.append(&entry).unwrap_or_else(|e| panic!("{e}"));
        let runs = h
            .earlier_runs(Some("mac-mini-3"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].pids, [4242, 4243]);
        assert_eq!(runs[0].argv, ["pytest"]);
        assert!(
            h.earlier_runs(Some("another-mac"))
                .unwrap_or_default()
                .is_empty()
        );
    }

    /// Opening migrates an empty (version 0) file once; opening again changes nothing; a file
    /// of a newer schema is refused and left alone.
    #[test]
    fn the_schema_is_migrated_once_and_a_newer_one_refused() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("h.sqlite");
        for _ in 0..2 {
            let mut h = History::open(&path).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(
                h.version().unwrap_or_else(|e| panic!("{e}")),
                SCHEMA_VERSION
            );
        }
        let newer = dir.path().join("newer.sqlite");
        Connection::open(&newer)
            .and_then(|c| c.pragma_update(None, "user_version", SCHEMA_VERSION + 1))
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            History::open(&newer),
            Err(HistoryError::Newer { found, .. }) if found == SCHEMA_VERSION + 1
        ));
    }

    /// PostgreSQL: runners opening a new database at once make its tables once (the others
    /// wait under the lock, then find them); opening again changes nothing; a newer version is
    /// refused and left as it was; the columns are SQLite's.
    #[test]
    fn postgres_tables_are_made_once_by_runners_meeting_at_once() {
        let Some(url_db) = pg::testing::new_database("made_once") else {
            return;
        };
        let url = url_db.url.clone();
        let openers: Vec<_> = (0..6)
            .map(|_| {
                let url = url.clone();
                std::thread::spawn(move || {
                    History::open(Location::Postgres(url)).map(|mut h| h.version())
                })
            })
            .collect();
        for opener in openers {
            let version = opener.join().unwrap_or_else(|_| panic!("panicked"));
            assert_eq!(version.ok().and_then(Result::ok), Some(SCHEMA_VERSION));
        }
        let mut c = client(&url);
        let rows: i64 = c
            .query_one("SELECT count(*) FROM crashdelta_meta", &[])
            .and_then(|r| r.try_get(0))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(rows, 1);
        // The same columns, in the same order, as a SQLite history's.
        let mut columns = |table: &str| -> Vec<String> {
            c.query(
                "SELECT column_name::text FROM information_schema.columns \
                 WHERE table_name = $1 ORDER BY ordinal_position",
                &[&table],
            )
            .unwrap_or_else(|e| panic!("{e}"))
            .iter()
            .map(|r| r.get(0))
            .collect()
        };
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("h.sqlite");
        drop(History::open(&file).unwrap_or_else(|e| panic!("{e}")));
        let sqlite = Connection::open(&file).unwrap_or_else(|e| panic!("{e}"));
        for table in ["runs", "crashes", "sightings"] {
            let theirs: Vec<String> = sqlite
                .prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))
                .and_then(|mut s| s.query_map([], |r| r.get(0))?.collect())
                .unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(columns(table), theirs, "{table}");
        }
        c.batch_execute("UPDATE crashdelta_meta SET schema_version = 99")
            .unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(
            History::open(Location::Postgres(url.clone())),
            Err(HistoryError::Newer { found: 99, .. })
        ));
        assert!(matches!(
            History::open_to_read(Location::Postgres(url)),
            Err(HistoryError::Newer { found: 99, .. })
        ));
    }

    /// PostgreSQL: a version 1 database is migrated to 2 with its rows; another program's
    /// `runs` table is never made a history, nor touched; reading a database that holds no
    /// history changes nothing.
    #[test]
    fn postgres_migrates_version_1_and_leaves_other_programs_alone() {
        let Some(url_db) = pg::testing::new_database("v1") else {
            return;
        };
        let url = url_db.url.clone();
        let mut c = client(&url);
        c.batch_execute(&format!(
            "{}{}INSERT INTO crashdelta_meta VALUES ('{}', 1); \
             INSERT INTO runs (kind, machine, started, settled, crashes) \
             VALUES ('watch', 'mac-mini-3', '2026-11-01T00:00:00.000Z', \
             '2026-11-01T00:00:05.000Z', 0);",
            pg::ddl(SCHEMA),
            pg::META,
            pg::APPLICATION
        ))
        .unwrap_or_else(|e| panic!("{e}"));
        let mut h =
            History::open(Location::Postgres(url.clone())).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            h.version().unwrap_or_else(|e| panic!("{e}")),
            SCHEMA_VERSION
        );
        assert_eq!(h.counts().unwrap_or_else(|e| panic!("{e}")), (1, 0));
        let mut entry = run(vec![crash(Some("A"), None)]);
        entry.settled = Some(Utc::now());
        h.append(&entry).unwrap_or_else(|e| panic!("{e}"));
        let runs = h
            .earlier_runs(Some("mac-mini-3"))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(runs.len(), 1);
        assert_eq!(runs[0].pids, [4242, 4243]);
        let stored = History::open_to_read(Location::Postgres(url))
            .and_then(|mut h| h.stored())
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((stored.crashes.len(), stored.runs.len()), (1, 2));

        let Some(theirs_db) = pg::testing::new_database("theirs") else {
            return;
        };
        let theirs = theirs_db.url.clone();
        let mut c = client(&theirs);
        c.batch_execute("CREATE TABLE runs (id serial PRIMARY KEY, body text)")
            .unwrap_or_else(|e| panic!("{e}"));
        let at = Location::Postgres(theirs.clone());
        assert!(matches!(
            History::open(&at),
            Err(HistoryError::Foreign { .. })
        ));
        let Some(empty_db) = pg::testing::new_database("empty") else {
            return;
        };
        let empty = empty_db.url.clone();
        assert!(matches!(
            History::open_to_read(Location::Postgres(empty.clone())),
            Err(HistoryError::Empty { .. })
        ));
        let tables = |url: &str| -> i64 {
            client(url)
                .query_one(
                    "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'",
                    &[],
                )
                .and_then(|r| r.try_get(0))
                .unwrap_or_else(|e| panic!("{e}"))
        };
        assert_eq!((tables(&theirs), tables(&empty)), (1, 0));
    }
}
