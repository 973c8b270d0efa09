//! One way of talking to the store, whichever it is.
//!
//! The history is the same three tables in a SQLite file on one Mac or in a PostgreSQL database a
//! fleet of runners shares. Everything above this module (appending a run, the late-report lookup,
//! the questions of `crashdelta history`) is written once, in the SQL both understand, against
//! [`Db`]: statements with `?1`, `?2` placeholders (rewritten to `$1`, `$2` for PostgreSQL),
//! parameters and cells as [`Value`]s (NULL, a 64-bit integer, text: the only types the schema
//! uses, so that no driver's type mapping decides what a column means), and one transaction
//! shape: the write lock first, so that writers queue instead of deadlocking (SQLite's
//! `BEGIN IMMEDIATE`; in PostgreSQL, `BEGIN` then a transaction-scoped advisory lock that every
//! crashdelta writer of the database takes, [`WRITE_LOCK`]: two runners storing the same crashes
//! in different orders would otherwise each hold a row the other waits for).
//!
//! In PostgreSQL a parameter takes the type of the column it is compared with or written to, and
//! a [`Value`] is written as that type asks (an `Int` into `bigint`, `integer`, `smallint` or
//! `boolean`); a cell is read back by its column's type (integers and booleans as `Int`, text as
//! `Text`, anything else the schema does not use as NULL).
//!
//! What differs between the stores and cannot be hidden (creating and migrating the schema, the
//! file's own checks) lives with each store; this module only runs statements.
//!
//! The portable subset the statements keep to: `INSERT ... RETURNING id` (SQLite 3.35+; the
//! bundled SQLite is newer), `ON CONFLICT (...) DO NOTHING`, `count(*)`, `min`/`max` of text,
//! `substr`, `CASE`, `CAST(... AS BIGINT)` around any `sum` (PostgreSQL sums `bigint` into
//! `numeric`), and booleans stored as 0 and 1.

use std::collections::HashMap;

use postgres::types::{FromSql, IsNull, ToSql, Type, to_sql_checked};
use rusqlite::types::{ToSqlOutput, ValueRef};
use thiserror::Error;

/// The key of the transaction-scoped advisory lock every crashdelta write to a PostgreSQL
/// history takes first ("CDLH", the SQLite file's application id): one writer at a time, as in
/// SQLite, and the schema created or migrated once when several runners connect at once.
pub const WRITE_LOCK: i64 = 0x4344_4c48;

/// A parameter or a cell: the schema's three types.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// A 64-bit integer (counts, ids, 0 or 1 for a boolean).
    Int(i64),
    /// Text (times are RFC 3339 text: they sort as text in both stores).
    Text(String),
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::Int(v)
    }
}

impl From<i32> for Value {
    fn from(v: i32) -> Value {
        Value::Int(i64::from(v))
    }
}

impl From<u32> for Value {
    fn from(v: u32) -> Value {
        Value::Int(i64::from(v))
    }
}

impl From<u64> for Value {
    fn from(v: u64) -> Value {
        Value::Int(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Int(i64::from(v))
    }
}

impl From<String> for Value {
    fn from(v: String) -> Value {
        Value::Text(v)
    }
}

impl From<&str> for Value {
    fn from(v: &str) -> Value {
        Value::Text(v.to_owned())
    }
}

impl From<&String> for Value {
    fn from(v: &String) -> Value {
        Value::Text(v.clone())
    }
}

impl<T: Into<Value>> From<Option<T>> for Value {
    fn from(v: Option<T>) -> Value {
        v.map_or(Value::Null, Into::into)
    }
}

impl rusqlite::ToSql for Value {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(match self {
            Value::Null => ToSqlOutput::Borrowed(ValueRef::Null),
            Value::Int(i) => ToSqlOutput::Borrowed(ValueRef::Integer(*i)),
            Value::Text(s) => ToSqlOutput::Borrowed(ValueRef::Text(s.as_bytes())),
        })
    }
}

type BoxError = Box<dyn std::error::Error + Sync + Send>;

impl ToSql for Value {
    fn to_sql(&self, ty: &Type, out: &mut bytes::BytesMut) -> Result<IsNull, BoxError> {
        match self {
            Value::Null => Ok(IsNull::Yes),
            Value::Int(v) => match *ty {
                Type::INT2 => i16::try_from(*v)?.to_sql(ty, out),
                Type::INT4 => i32::try_from(*v)?.to_sql(ty, out),
                Type::BOOL => (*v != 0).to_sql(ty, out),
                Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                    v.to_string().to_sql(ty, out)
                }
                _ => v.to_sql(ty, out),
            },
            Value::Text(s) => s.as_str().to_sql(ty, out),
        }
    }

    fn accepts(_: &Type) -> bool {
        // Every type: a mismatch is said by `to_sql` (an integer for a text column is written
        // as its digits; text for an integer column is the server's error), never a panic.
        true
    }

    to_sql_checked!();
}

impl<'a> FromSql<'a> for Value {
    fn from_sql(ty: &Type, raw: &'a [u8]) -> Result<Value, BoxError> {
        Ok(match *ty {
            Type::INT8 => Value::Int(i64::from_sql(ty, raw)?),
            Type::INT4 => Value::Int(i64::from(i32::from_sql(ty, raw)?)),
            Type::INT2 => Value::Int(i64::from(i16::from_sql(ty, raw)?)),
            Type::BOOL => Value::Int(i64::from(bool::from_sql(ty, raw)?)),
            Type::FLOAT8 => Value::Text(f64::from_sql(ty, raw)?.to_string()),
            Type::FLOAT4 => Value::Text(f32::from_sql(ty, raw)?.to_string()),
            Type::TEXT | Type::VARCHAR | Type::BPCHAR | Type::NAME | Type::UNKNOWN => {
                Value::Text(<&str>::from_sql(ty, raw)?.to_owned())
            }
            // A type the schema does not use (`numeric` of an uncast `sum`, a column another
            // program added): read as NULL, so that the row is still read.
            _ => Value::Null,
        })
    }

    fn from_sql_null(_: &Type) -> Result<Value, BoxError> {
        Ok(Value::Null)
    }

    fn accepts(_: &Type) -> bool {
        true
    }
}

/// Rewrites SQLite's `?N` placeholders to PostgreSQL's `$N`, outside string literals, quoted
/// names and comments (a `?` in a literal is text, not a parameter).
pub fn dollar_placeholders(sql: &str) -> String {
    let mut out = String::with_capacity(sql.len());
    let mut chars = sql.chars().peekable();
    // The quote that opened the literal or name we are in.
    let mut quoted: Option<char> = None;
    let mut comment = false;
    while let Some(c) = chars.next() {
        match (quoted, comment, c) {
            (Some(q), _, c) if c == q => quoted = None,
            (Some(_), _, _) => {}
            (None, true, '\n') => comment = false,
            (None, true, _) => {}
            (None, false, '\'' | '"') => quoted = Some(c),
            (None, false, '-') if chars.peek() == Some(&'-') => comment = true,
            (None, false, '?') if chars.peek().is_some_and(char::is_ascii_digit) => {
                out.push('$');
                continue;
            }
            _ => {}
        }
        out.push(c);
    }
    out
}

/// The parameters of a statement, each converted to a [`Value`]: `params![run, "watch", None::<i64>]`.
macro_rules! params {
    ($($v:expr),* $(,)?) => {
        &[$($crate::history::db::Value::from($v)),*][..]
    };
}
pub(crate) use params;

/// One row of a result, read by column index. A cell of another type than asked, or a column
/// past the end, reads as `None`: a row written by a newer crashdelta is skipped or read in part,
/// never a panic.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Row(pub Vec<Value>);

impl Row {
    /// The integer in column `i`.
    pub fn int(&self, i: usize) -> Option<i64> {
        match self.0.get(i) {
            Some(Value::Int(v)) => Some(*v),
            _ => None,
        }
    }

    /// The integer in column `i` as a count (a negative one reads as 0).
    pub fn count(&self, i: usize) -> u64 {
        self.int(i).and_then(|v| u64::try_from(v).ok()).unwrap_or(0)
    }

    /// The text in column `i`.
    pub fn text(&self, i: usize) -> Option<&str> {
        match self.0.get(i) {
            Some(Value::Text(v)) => Some(v),
            _ => None,
        }
    }

    /// The text in column `i`, owned.
    pub fn string(&self, i: usize) -> Option<String> {
        self.text(i).map(str::to_owned)
    }

    /// The 0-or-1 in column `i`.
    pub fn flag(&self, i: usize) -> Option<bool> {
        self.int(i).map(|v| v != 0)
    }
}

/// What the store said went wrong.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum DbError {
    /// SQLite's error.
    #[error(transparent)]
    Sqlite(#[from] rusqlite::Error),
    /// PostgreSQL's error (the server's message, with its detail and hint when it gave them).
    #[error("{}", postgres_message(.0))]
    Postgres(#[from] postgres::Error),
    /// The store could not be set up as asked (a URL's TLS settings, its certificates).
    #[error("{0}")]
    Setup(String),
    /// A row just written came back without its id (a store that lost it: another program's
    /// trigger, or a bug here); the transaction is rolled back.
    #[error("the store did not return the id of a row it had just written")]
    NoId,
}

/// The server's words for a PostgreSQL error: its message, detail and hint when it is the
/// server's, the client's description otherwise (a refused connection, a timeout, TLS).
fn postgres_message(e: &postgres::Error) -> String {
    match e.as_db_error() {
        Some(db) => {
            let mut said = format!("{} ({})", db.message(), db.code().code());
            for more in [db.detail(), db.hint()].into_iter().flatten() {
                said.push_str("; ");
                said.push_str(more);
            }
            said
        }
        None => match std::error::Error::source(e) {
            Some(source) => format!("{e}: {source}"),
            None => e.to_string(),
        },
    }
}

/// A PostgreSQL connection and the statements it has prepared (each is prepared once per
/// connection, as rusqlite's statement cache does for SQLite: a campaign appends many runs).
pub struct Postgres {
    client: postgres::Client,
    prepared: HashMap<String, postgres::Statement>,
}

impl Postgres {
    /// A connection to use as a store.
    pub fn new(client: postgres::Client) -> Postgres {
        Postgres {
            client,
            prepared: HashMap::new(),
        }
    }

    fn prepare(&mut self, sql: &str) -> Result<postgres::Statement, DbError> {
        if let Some(done) = self.prepared.get(sql) {
            return Ok(done.clone());
        }
        let statement = self.client.prepare(&dollar_placeholders(sql))?;
        self.prepared.insert(sql.to_owned(), statement.clone());
        Ok(statement)
    }
}

/// An open store.
pub enum Db {
    /// A SQLite file.
    Sqlite(rusqlite::Connection),
    /// A PostgreSQL database.
    Postgres(Box<Postgres>),
}

impl Db {
    /// Whether the store is PostgreSQL: for the few questions whose SQL cannot be shared (dates
    /// by week: SQLite's `strftime`, PostgreSQL's `to_char`).
    pub fn is_postgres(&self) -> bool {
        matches!(self, Db::Postgres(_))
    }

    /// Runs `sql` once with `params`; how many rows it changed.
    pub fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        match self {
            Db::Sqlite(conn) => {
                let mut statement = conn.prepare_cached(sql)?;
                let changed = statement.execute(rusqlite::params_from_iter(params))?;
                Ok(changed as u64)
            }
            Db::Postgres(pg) => {
                let statement = pg.prepare(sql)?;
                Ok(pg.client.execute(&statement, &refs(params))?)
            }
        }
    }

    /// Runs several statements without parameters (schema changes).
    pub fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        match self {
            Db::Sqlite(conn) => Ok(conn.execute_batch(sql)?),
            Db::Postgres(pg) => Ok(pg.client.batch_execute(sql)?),
        }
    }

    /// Runs the query `sql` and hands each row to `each`, in order, without holding them all.
    pub fn for_each(
        &mut self,
        sql: &str,
        params: &[Value],
        mut each: impl FnMut(Row),
    ) -> Result<(), DbError> {
        match self {
            Db::Sqlite(conn) => {
                let mut statement = conn.prepare_cached(sql)?;
                let columns = statement.column_count();
                let mut rows = statement.query(rusqlite::params_from_iter(params))?;
                while let Some(row) = rows.next()? {
                    let mut cells = Vec::with_capacity(columns);
                    for i in 0..columns {
                        cells.push(match row.get_ref(i)? {
                            ValueRef::Null => Value::Null,
                            ValueRef::Integer(v) => Value::Int(v),
                            ValueRef::Text(t) => Value::Text(String::from_utf8_lossy(t).into()),
                            // The schema has no real or blob columns; one written by another
                            // program reads as text, never as a panic.
                            ValueRef::Real(r) => Value::Text(r.to_string()),
                            ValueRef::Blob(b) => Value::Text(String::from_utf8_lossy(b).into()),
                        });
                    }
                    each(Row(cells));
                }
                Ok(())
            }
            Db::Postgres(pg) => {
                use postgres::fallible_iterator::FallibleIterator;
                let statement = pg.prepare(sql)?;
                let mut rows = pg.client.query_raw(&statement, params.iter())?;
                while let Some(row) = rows.next()? {
                    let mut cells = Vec::with_capacity(row.len());
                    for i in 0..row.len() {
                        cells.push(row.try_get::<_, Value>(i)?);
                    }
                    each(Row(cells));
                }
                Ok(())
            }
        }
    }

    /// The rows of the query `sql`.
    pub fn rows(&mut self, sql: &str, params: &[Value]) -> Result<Vec<Row>, DbError> {
        let mut rows = Vec::new();
        self.for_each(sql, params, |r| rows.push(r))?;
        Ok(rows)
    }

    /// The first row of the query `sql`, if any.
    pub fn row(&mut self, sql: &str, params: &[Value]) -> Result<Option<Row>, DbError> {
        let mut first = None;
        self.for_each(sql, params, |r| {
            if first.is_none() {
                first = Some(r);
            }
        })?;
        Ok(first)
    }

    /// Runs `work` in one write transaction: all of it is stored, or none of it. The write lock
    /// is taken first (SQLite's `BEGIN IMMEDIATE`), so that two writers queue instead of failing
    /// to upgrade a read lock.
    pub fn write<T>(
        &mut self,
        work: impl FnOnce(&mut Db) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        match self {
            Db::Sqlite(_) => self.batch("BEGIN IMMEDIATE")?,
            Db::Postgres(_) => {
                self.batch("BEGIN")?;
                if let Err(e) =
                    self.execute("SELECT pg_advisory_xact_lock(?1)", params![WRITE_LOCK])
                {
                    let _ = self.batch("ROLLBACK");
                    return Err(e);
                }
            }
        }
        match work(self) {
            Ok(done) => {
                if let Err(e) = self.batch("COMMIT") {
                    let _ = self.batch("ROLLBACK");
                    return Err(e);
                }
                Ok(done)
            }
            Err(e) => {
                let _ = self.batch("ROLLBACK");
                Err(e)
            }
        }
    }
}

impl Db {
    /// Runs `work` in one read transaction: every statement of it sees the store as it was when
    /// the first one ran, so an answer made of several statements agrees with itself while runs
    /// append (SQLite: a deferred transaction holds its WAL snapshot; PostgreSQL: repeatable
    /// read).
    pub fn read<T>(
        &mut self,
        work: impl FnOnce(&mut Db) -> Result<T, DbError>,
    ) -> Result<T, DbError> {
        self.batch(match self {
            Db::Sqlite(_) => "BEGIN",
            Db::Postgres(_) => "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
        })?;
        let done = work(self);
        // Nothing was written: ending it either way is the same, and its error changes nothing.
        let _ = self.batch("COMMIT");
        done
    }
}

/// `params` as postgres's parameter type.
fn refs(params: &[Value]) -> Vec<&(dyn ToSql + Sync)> {
    params.iter().map(|p| p as &(dyn ToSql + Sync)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `?N` becomes `$N` in the statement, never inside a literal, a quoted name or a comment.
    #[test]
    fn placeholders_are_rewritten_outside_literals() {
        assert_eq!(
            dollar_placeholders(
                "SELECT '?1', \"?2\", ?3 -- ?4\nFROM t WHERE a = ?10 AND b = 'it''s ?5' AND c = ?"
            ),
            "SELECT '?1', \"?2\", $3 -- ?4\nFROM t WHERE a = $10 AND b = 'it''s ?5' AND c = ?"
        );
    }

    fn memory() -> Db {
        Db::Sqlite(rusqlite::Connection::open_in_memory().unwrap_or_else(|e| panic!("{e}")))
    }

    /// Values go in and come back with their types; a cell read as another type is `None`.
    #[test]
    fn values_round_trip_and_mismatches_read_as_none() {
        let mut db = memory();
        db.batch("CREATE TABLE t (a INTEGER, b TEXT, c TEXT)")
            .unwrap_or_else(|e| panic!("{e}"));
        db.execute(
            "INSERT INTO t VALUES (?1, ?2, ?3)",
            params![i64::MIN, "é\u{0}", None::<String>],
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let row = db
            .row("SELECT a, b, c FROM t", &[])
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_default();
        assert_eq!(row.int(0), Some(i64::MIN));
        assert_eq!(row.count(0), 0, "a negative count reads as 0");
        assert_eq!(row.text(1), Some("é\u{0}"));
        assert_eq!(row.text(2), None);
        assert_eq!(row.text(0), None);
        assert_eq!(row.int(9), None);
    }

    /// A failure inside `write` leaves nothing behind; a success keeps everything.
    #[test]
    fn a_write_is_all_or_nothing() {
        let mut db = memory();
        db.batch("CREATE TABLE t (a INTEGER PRIMARY KEY)")
            .unwrap_or_else(|e| panic!("{e}"));
        let failed = db.write(|db| {
            db.execute("INSERT INTO t VALUES (1)", &[])?;
            db.execute("INSERT INTO t VALUES (1)", &[])
        });
        assert!(failed.is_err());
        let count = |db: &mut Db| {
            db.row("SELECT count(*) FROM t", &[])
                .unwrap_or_else(|e| panic!("{e}"))
                .and_then(|r| r.int(0))
        };
        assert_eq!(count(&mut db), Some(0));
        db.write(|db| db.execute("INSERT INTO t VALUES (1)", &[]))
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(count(&mut db), Some(1));
    }
}
