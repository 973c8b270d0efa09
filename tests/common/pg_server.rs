//! The test PostgreSQL server (`CRASHDELTA_TEST_POSTGRES`, started by `.ci/test`) for the tests
//! of the history's PostgreSQL store: a database, or a role, made for one test and dropped when
//! it is done with it, so that a run against a server of one's own leaves nothing behind.
//!
//! One file for both kinds of test: `tests/common` says `mod pg_server;`, and the library's unit
//! tests include it by path (`src/history/pg.rs`). It never prints: the library's tests never do
//! (tests/layers.rs).

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::indexing_slicing
)]

use std::sync::atomic::{AtomicU32, Ordering};

/// A database made for one test on the test server, dropped when the test is done with it
/// (this value is dropped), so that a run against a server of one's own leaves nothing behind.
#[derive(Debug)]
pub struct TestDatabase {
    /// Its URL.
    pub url: String,
    admin: String,
    name: String,
}

impl TestDatabase {
    /// Its name on the server.
    pub fn name(&self) -> &str {
        &self.name
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // WITH (FORCE) (PostgreSQL 13 and later) ends a connection left open; an older server is
        // asked without it. Failing to drop is not the test's failure.
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let drop = format!("DROP DATABASE IF EXISTS {}", self.name);
            if c.batch_execute(&format!("{drop} WITH (FORCE)")).is_err() {
                let _ = c.batch_execute(&drop);
            }
        }
    }
}

impl AsRef<std::ffi::OsStr> for TestDatabase {
    fn as_ref(&self) -> &std::ffi::OsStr {
        std::ffi::OsStr::new(&self.url)
    }
}

/// A login role made for one test on the test server (`url` is the server's, as an admin),
/// dropped with what it owns when this value is dropped.
pub struct TestRole {
    /// Its name.
    pub name: String,
    admin: String,
}

impl TestRole {
    /// A new role named `name` and this process's id, with `password`.
    pub fn new(admin: &str, name: &str, password: &str) -> TestRole {
        let name = format!("cdt_{name}_{}", std::process::id());
        postgres::Client::connect(admin, postgres::NoTls)
            .unwrap()
            .batch_execute(&format!(
                "DROP ROLE IF EXISTS {name}; CREATE ROLE {name} LOGIN PASSWORD '{password}'"
            ))
            .unwrap();
        TestRole {
            name,
            admin: admin.to_owned(),
        }
    }
}

impl Drop for TestRole {
    fn drop(&mut self) {
        // A database it was given is handed back first: a role that owns one cannot be dropped.
        if let Ok(mut c) = postgres::Client::connect(&self.admin, postgres::NoTls) {
            let _ = c.batch_execute(&format!(
                "REASSIGN OWNED BY {0} TO CURRENT_USER; DROP OWNED BY {0}; DROP ROLE IF EXISTS {0}",
                self.name
            ));
        }
    }
}

/// A new, empty database on the test server; `None` when there is no server (the test skips its
/// PostgreSQL half), a failure when `CRASHDELTA_REQUIRE_POSTGRES` is set. Each test has its own,
/// so that they run in parallel.
pub fn new_database(name: &str) -> Option<TestDatabase> {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let Some(admin) = std::env::var("CRASHDELTA_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        assert!(
            std::env::var_os("CRASHDELTA_REQUIRE_POSTGRES").is_none(),
            "CRASHDELTA_TEST_POSTGRES is not set and CRASHDELTA_REQUIRE_POSTGRES is: run `bash \
             .ci/test`, which starts a PostgreSQL cluster"
        );
        return None;
    };
    let db = format!(
        "cdt_{name}_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let mut c = postgres::Client::connect(&admin, postgres::NoTls).unwrap();
    c.batch_execute(&format!("DROP DATABASE IF EXISTS {db}"))
        .unwrap();
    c.batch_execute(&format!("CREATE DATABASE {db}")).unwrap();
    Some(TestDatabase {
        url: with_database(&admin, &db),
        admin,
        name: db,
    })
}

/// `url` naming the database `db` instead.
pub fn with_database(url: &str, db: &str) -> String {
    let (head, query) = url
        .split_once('?')
        .map_or((url, None), |(h, q)| (h, Some(q)));
    let authority_end = head
        .find("://")
        .map(|i| i + 3)
        .and_then(|start| {
            head.get(start..)
                .and_then(|r| r.find('/'))
                .map(|e| e + start)
        })
        .unwrap_or(head.len());
    let base = head.get(..authority_end).unwrap_or(head);
    match query {
        Some(q) => format!("{base}/{db}?{q}"),
        None => format!("{base}/{db}"),
    }
}
