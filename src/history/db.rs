//! One way of talking to the store, whichever it is.
//!
//! The history is the same three tables in a SQLite file on one Mac or in a PostgreSQL database a
//! fleet of runners shares. Everything above this module (appending a run, the late-report lookup,
//! the questions of `crashdelta history`) is written once, in the SQL both understand, against
//! [`Db`]: statements with `?1`, `?2` placeholders (rewritten to `$1`, `$2` for PostgreSQL),
//! parameters and cells as [`Value`]s (NULL, a 64-bit integer, text: the only types the schema
//! uses, so that no driver's type mapping decides what a column means), and one transaction
//! shape (`BEGIN IMMEDIATE` in SQLite: the write lock first, so two writers never deadlock
//! upgrading a read lock).
//!
//! What differs between the stores and cannot be hidden (creating and migrating the schema, the
//! file's own checks) lives with each store; this module only runs statements.
//!
//! The portable subset the statements keep to: `INSERT ... RETURNING id` (SQLite 3.35+; the
//! bundled SQLite is newer), `ON CONFLICT (...) DO NOTHING`, `count(*)`, `min`/`max` of text,
//! `substr`, `CASE`, `CAST(... AS BIGINT)` around any `sum` (PostgreSQL sums `bigint` into
//! `numeric`), and booleans stored as 0 and 1.

use rusqlite::types::{ToSqlOutput, ValueRef};
use thiserror::Error;

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
    /// A row just written came back without its id (a store that lost it: another program's
    /// trigger, or a bug here); the transaction is rolled back.
    #[error("the store did not return the id of a row it had just written")]
    NoId,
}

/// An open store.
pub enum Db {
    /// A SQLite file.
    Sqlite(rusqlite::Connection),
}

impl Db {
    /// Runs `sql` once with `params`; how many rows it changed.
    pub fn execute(&mut self, sql: &str, params: &[Value]) -> Result<u64, DbError> {
        match self {
            Db::Sqlite(conn) => {
                let mut statement = conn.prepare_cached(sql)?;
                let changed = statement.execute(rusqlite::params_from_iter(params))?;
                Ok(changed as u64)
            }
        }
    }

    /// Runs several statements without parameters (schema changes).
    pub fn batch(&mut self, sql: &str) -> Result<(), DbError> {
        match self {
            Db::Sqlite(conn) => Ok(conn.execute_batch(sql)?),
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
        self.batch(match self {
            Db::Sqlite(_) => "BEGIN IMMEDIATE",
        })?;
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

#[cfg(test)]
mod tests {
    use super::*;

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
