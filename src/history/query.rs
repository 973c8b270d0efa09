//! The questions a history answers (`crashdelta history`): how often, since when, on which
//! versions, in which configuration and which test.
//!
//! Every answer is a rate or a count over a window of time, and a rate needs its denominator:
//! the watched runs (`watch` and a campaign's runs) are counted whether or not they crashed, so
//! that "3 crashed runs this week" reads as "3 of 140". `diff` and `classify` rows carry crashes
//! but ran no command; their crashes are counted, never their runs.
//!
//! A crash is placed in time by its report's capture time, or, when the report has none, by the
//! start of the run that first saw it. The window and the machine filter apply to that; a crash's
//! machine is its first run's.
//!
//! The statements keep to the SQL both stores share ([`super::db`]) and group by whole days in
//! the database (`substr` of the RFC 3339 text: the day is its first ten characters); weeks
//! (ISO weeks, from Monday) and the gaps between days are made here, where they need no
//! date functions that differ between SQLite and PostgreSQL. A capture time that is not a date
//! (a hostile report's text) is counted as undated, never placed.

use std::collections::BTreeMap;

use chrono::{DateTime, Datelike, Days, NaiveDate, Utc};
use serde::Serialize;

use super::db::{Db, DbError, Row, Value};
use super::time;
use crate::statistics::wilson;

/// How answers over time are bucketed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Period {
    /// Calendar days, UTC.
    Day,
    /// ISO weeks, from Monday, UTC.
    Week,
}

/// What to answer over.
#[derive(Debug, Clone)]
pub struct Question {
    /// From (inclusive).
    pub since: Option<DateTime<Utc>>,
    /// Until (exclusive).
    pub until: Option<DateTime<Utc>>,
    /// Days or weeks.
    pub period: Period,
    /// One machine's runs and crashes only.
    pub machine: Option<String>,
}

/// A crash rate over runs, with its 95% Wilson interval.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rate {
    /// Watched runs.
    pub runs: u64,
    /// Of which crashed (a crash or an unreadable new report of their own).
    pub crashed_runs: u64,
    /// `crashed_runs / runs`; `None` without runs.
    pub rate: Option<f64>,
    /// The 95% Wilson score interval of the rate.
    pub interval: Option<[f64; 2]>,
}

impl Rate {
    fn of(runs: u64, crashed_runs: u64) -> Rate {
        Rate {
            runs,
            crashed_runs,
            rate: (runs > 0).then(|| crashed_runs as f64 / runs as f64),
            // No crash: the interval starts at 0 exactly (Wilson's bound is 0 up to rounding,
            // which would print as 0.0%).
            interval: wilson(crashed_runs, runs)
                .map(|(lo, hi)| [if crashed_runs == 0 { 0.0 } else { lo }, hi]),
        }
    }
}

/// One day or week.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PeriodRow {
    /// Its first day, `2026-11-23`.
    pub start: String,
    /// The watched runs that started in it.
    #[serde(flatten)]
    pub rate: Rate,
    /// Crashes captured in it.
    pub crashes: u64,
    /// Those crashes by signature, most first.
    pub signatures: Vec<SignatureCount>,
    /// Whether periods with neither a run nor a crash come between the previous row and this
    /// one (they are not listed: a corpus spanning years would be mostly empty weeks).
    pub after_gap: bool,
}

/// A signature's crashes in one period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureCount {
    /// The signature's id.
    pub signature_id: String,
    /// Its crashes.
    pub crashes: u64,
}

/// A signature over the whole window.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureRow {
    /// Its id.
    pub signature_id: String,
    /// The signature.
    pub signature: String,
    /// The rule of its earliest crashes (of the OS build and driver version it was first seen
    /// on).
    pub rule: String,
    /// The crash in words.
    pub title: String,
    /// Whether a rule marks it as known.
    pub known: bool,
    /// The rule's family.
    pub family: String,
    /// The first meaningful frame.
    pub location: Option<String>,
    /// Its crashes.
    pub crashes: u64,
    /// The first crash (RFC 3339).
    pub first_seen: Option<String>,
    /// The last crash.
    pub last_seen: Option<String>,
    /// Of its crashes, those on a version at or after their rule's fix.
    pub regressions: u64,
    /// What its rule says fixed it (`driver version 342.1`), when it says.
    pub fixed_in: Option<String>,
}

/// A signature on one OS build and driver version: when it was first and last seen there.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionRow {
    /// The signature's id.
    pub signature_id: String,
    /// The rule its crashes matched (when they matched several, as rules changed, the first by
    /// name; `crashdelta history` shows a signature's words as first stored).
    pub rule: String,
    /// The OS build the reports name.
    pub os_build: Option<String>,
    /// The GPU driver image.
    pub driver: Option<String>,
    /// Its version.
    pub driver_version: Option<String>,
    /// Crashes there.
    pub crashes: u64,
    /// The first one.
    pub first_seen: Option<String>,
    /// The last one.
    pub last_seen: Option<String>,
    /// Crashes there on a version at or after their rule's fix: all or none of them, unless the
    /// rule's fix changed between them.
    pub regressions: u64,
}

/// A group of runs (a configuration, a machine) and its rate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupRate {
    /// The configuration's or machine's name; `None` for runs without one.
    pub name: Option<String>,
    /// Its rate.
    #[serde(flatten)]
    pub rate: Rate,
}

/// A test that crashed: in how many of the watched runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TestRow {
    /// The test's id (`tests/test_mps.py::test_gather`).
    pub test_id: String,
    /// Its crashes.
    pub crashes: u64,
    /// The watched runs it crashed in, over all watched runs of the window.
    #[serde(flatten)]
    pub rate: Rate,
}

/// What the history says over the window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Answer {
    /// The store, as named (a URL without its password).
    pub store: String,
    /// The window asked for.
    pub since: Option<String>,
    /// Until (exclusive).
    pub until: Option<String>,
    /// Days or weeks.
    pub period: Period,
    /// The machine asked for.
    pub machine: Option<String>,
    /// All watched runs of the window.
    pub runs: Rate,
    /// `diff` and `classify` rows of the window: crashes without a command's run.
    pub other_runs: u64,
    /// Crashes in the window.
    pub crashes: u64,
    /// Of which a rule marks as known.
    pub known: u64,
    /// Of which are regressions: on a version at or after their rule's `fixed_in`.
    pub regressions: u64,
    /// Crashes whose capture time is not a date.
    pub undated: u64,
    /// Each period with a run or a crash, in order; `after_gap` marks where empty ones were left
    /// out.
    pub periods: Vec<PeriodRow>,
    /// Each signature, most crashes first.
    pub signatures: Vec<SignatureRow>,
    /// Each signature on each OS build and driver version, by signature then first seen.
    pub versions: Vec<VersionRow>,
    /// Runs by configuration (`compare`'s names), when any run has one.
    pub configurations: Vec<GroupRate>,
    /// Runs by machine.
    pub machines: Vec<GroupRate>,
    /// Tests that crashed, most crashed runs first.
    pub tests: Vec<TestRow>,
}

/// The SQL conditions of a question, over runs `r` (a crash's first run, or the run itself) and
/// a time expression; its parameters in order.
struct Filter {
    sql: String,
    params: Vec<Value>,
}

impl Filter {
    /// `AND ...` conditions on the runs' start and machine.
    fn runs(q: &Question) -> Filter {
        let mut f = Filter {
            sql: String::new(),
            params: Vec::new(),
        };
        let window = f.window(q, "r.started");
        f.and(window);
        f.machine(q);
        f
    }

    /// `AND ...` conditions on a crash's time and its first run's machine. The time is the
    /// capture's, or the first run's start without one; written as two conditions rather than
    /// on `COALESCE(...)`, so that the store can use its index on `captured` for a window.
    fn crashes(q: &Question) -> Filter {
        let mut f = Filter {
            sql: String::new(),
            params: Vec::new(),
        };
        if q.since.is_some() || q.until.is_some() {
            let captured = f.window(q, "c.captured");
            let started = f.window(q, "r.started");
            f.and(format!(
                "(({captured}) OR (c.captured IS NULL AND {started}))"
            ));
        }
        f.machine(q);
        f
    }

    /// `column >= ?n AND column < ?m` for the window's ends that are given.
    fn window(&mut self, q: &Question, column: &str) -> String {
        let mut conditions = Vec::new();
        for (end, op) in [(q.since, ">="), (q.until, "<")] {
            if let Some(t) = end {
                self.params.push(Value::Text(time(t)));
                conditions.push(format!("{column} {op} ?{}", self.params.len()));
            }
        }
        conditions.join(" AND ")
    }

    fn machine(&mut self, q: &Question) {
        if let Some(machine) = &q.machine {
            self.params.push(Value::Text(machine.clone()));
            let n = self.params.len();
            self.and(format!("r.machine = ?{n}"));
        }
    }

    fn and(&mut self, condition: String) {
        if !condition.is_empty() {
            self.sql.push_str(" AND ");
            self.sql.push_str(&condition);
        }
    }
}

/// Where a crash sits in time: its capture, or its first run's start.
const CRASH_TIME: &str = "COALESCE(c.captured, r.started)";

/// The watched runs (`watch` and a campaign's runs: [`super::Kind`]), whose count is a rate's
/// denominator.
pub(crate) const WATCHED: &str = "r.kind IN ('watch', 'campaign-run')";

/// A run that crashed: a crash or an unreadable new report of its own. Its count at the time it
/// was appended, or a crash sighted as its own since: a campaign's late report can land after
/// its run was appended (the campaign then counts it in the run, and so must the history).
const CRASHED: &str = "CAST(SUM(CASE WHEN r.crashes > 0 OR r.unreadable > 0 OR EXISTS (\
     SELECT 1 FROM sightings s WHERE s.run = r.id AND s.attribution = 'run') \
     THEN 1 ELSE 0 END) AS BIGINT)";

/// Answers `q` from `db`; `store` names it in the answer.
pub fn answer(db: &mut Db, store: &str, q: &Question, version: u32) -> Result<Answer, DbError> {
    let runs_filter = Filter::runs(q);
    let crash_filter = Filter::crashes(q);
    // Regressions are stored from schema 4 on; an older history, read as it is, has none.
    let (regressed, fixed_in) = if version >= 4 {
        (
            "CAST(SUM(CASE WHEN c.regression IS NOT NULL THEN 1 ELSE 0 END) AS BIGINT)",
            "max(c.fixed_in)",
        )
    } else {
        ("0", "NULL")
    };

    let totals = db
        .row(
            &format!(
                "SELECT count(*), {CRASHED} FROM runs r WHERE {WATCHED}{}",
                runs_filter.sql
            ),
            &runs_filter.params,
        )?
        .unwrap_or_default();
    let other_runs = db
        .row(
            &format!(
                "SELECT count(*) FROM runs r WHERE NOT ({WATCHED}){}",
                runs_filter.sql
            ),
            &runs_filter.params,
        )?
        .unwrap_or_default()
        .count(0);

    // Days: runs, then crashes by signature; weeks are made from days.
    let mut days: BTreeMap<NaiveDate, (u64, u64, BTreeMap<String, u64>)> = BTreeMap::new();
    let mut undated = 0;
    db.for_each(
        &format!(
            "SELECT substr(r.started, 1, 10), count(*), {CRASHED} FROM runs r \
             WHERE {WATCHED}{} GROUP BY 1",
            runs_filter.sql
        ),
        &runs_filter.params,
        |row| {
            if let Some(day) = date(&row) {
                let d = days.entry(day).or_default();
                d.0 += row.count(1);
                d.1 += row.count(2);
            }
        },
    )?;
    let (mut crashes, mut known, mut regressions) = (0, 0, 0);
    db.for_each(
        &format!(
            "SELECT substr({CRASH_TIME}, 1, 10), c.signature_id, count(*), \
             CAST(SUM(CASE WHEN c.known <> 0 THEN 1 ELSE 0 END) AS BIGINT), {regressed} \
             FROM crashes c JOIN runs r ON r.id = c.first_run \
             WHERE 1 = 1{} GROUP BY 1, 2",
            crash_filter.sql
        ),
        &crash_filter.params,
        |row| {
            let n = row.count(2);
            crashes += n;
            known += row.count(3);
            regressions += row.count(4);
            match date(&row) {
                Some(day) => {
                    let signature = row.string(1).unwrap_or_default();
                    *days.entry(day).or_default().2.entry(signature).or_default() += n;
                }
                None => undated += n,
            }
        },
    )?;
    let periods = periods(days, q.period);

    // One pass over the crashes for both tables: each signature on each version, then each
    // signature folded from its versions (a scan of every crash is most of an answer's time).
    let mut versions = Vec::new();
    let mut by_signature: BTreeMap<String, SignatureRow> = BTreeMap::new();
    db.for_each(
        &format!(
            "SELECT c.signature_id, min(c.rule), c.os_build, c.driver, c.driver_version, \
             count(*), min({CRASH_TIME}), max({CRASH_TIME}), min(c.signature), min(c.title), \
             max(c.known), min(c.family), min(c.location), {regressed}, {fixed_in} \
             FROM crashes c JOIN runs r ON r.id = c.first_run WHERE 1 = 1{} \
             GROUP BY c.signature_id, c.os_build, c.driver, c.driver_version",
            crash_filter.sql
        ),
        &crash_filter.params,
        |row| {
            let v = VersionRow {
                signature_id: row.string(0).unwrap_or_default(),
                rule: row.string(1).unwrap_or_default(),
                os_build: row.string(2),
                driver: row.string(3),
                driver_version: row.string(4),
                crashes: row.count(5),
                first_seen: row.string(6),
                last_seen: row.string(7),
                regressions: row.count(13),
            };
            let s = by_signature
                .entry(v.signature_id.clone())
                .or_insert_with(|| SignatureRow {
                    signature_id: v.signature_id.clone(),
                    signature: row.string(8).unwrap_or_default(),
                    rule: v.rule.clone(),
                    title: row.string(9).unwrap_or_default(),
                    known: false,
                    family: row.string(11).unwrap_or_default(),
                    location: row.string(12),
                    crashes: 0,
                    first_seen: None,
                    last_seen: None,
                    regressions: 0,
                    fixed_in: None,
                });
            s.crashes += v.crashes;
            s.regressions += v.regressions;
            if let Some(fix) = row.string(14) {
                s.fixed_in = Some(fix);
            }
            s.known |= row.flag(10).unwrap_or(false);
            // The earliest version's words (rule, title, location): the crash as first stored.
            if s.first_seen.is_none() || v.first_seen < s.first_seen {
                s.first_seen.clone_from(&v.first_seen);
                s.rule.clone_from(&v.rule);
                s.signature = row.string(8).unwrap_or_default();
                s.title = row.string(9).unwrap_or_default();
                s.family = row.string(11).unwrap_or_default();
                s.location = row.string(12);
            }
            if v.last_seen > s.last_seen {
                s.last_seen.clone_from(&v.last_seen);
            }
            versions.push(v);
        },
    )?;
    let mut signatures: Vec<SignatureRow> = by_signature.into_values().collect();
    signatures.sort_by(|a, b| (b.crashes, &a.signature_id).cmp(&(a.crashes, &b.signature_id)));
    // By signature in the order of the signatures table, then from the first seen: each
    // signature's story across versions reads top to bottom.
    let order: BTreeMap<&str, usize> = signatures
        .iter()
        .enumerate()
        .map(|(i, s)| (s.signature_id.as_str(), i))
        .collect();
    versions.sort_by(|a, b| {
        let rank = |v: &VersionRow| order.get(v.signature_id.as_str()).copied();
        (rank(a), &a.first_seen, &a.os_build, &a.driver_version).cmp(&(
            rank(b),
            &b.first_seen,
            &b.os_build,
            &b.driver_version,
        ))
    });

    let groups = |db: &mut Db, column: &str| -> Result<Vec<GroupRate>, DbError> {
        let mut rows = Vec::new();
        db.for_each(
            &format!(
                "SELECT r.{column}, count(*), {CRASHED} FROM runs r WHERE {WATCHED}{} \
                 GROUP BY r.{column}",
                runs_filter.sql
            ),
            &runs_filter.params,
            |row| {
                rows.push(GroupRate {
                    name: row.string(0),
                    rate: Rate::of(row.count(1), row.count(2)),
                })
            },
        )?;
        // Sorted here: the stores put NULL at opposite ends, and PostgreSQL orders text by
        // the database's collation. The runs without a name last.
        rows.sort_by(|a: &GroupRate, b: &GroupRate| {
            (a.name.is_none(), &a.name).cmp(&(b.name.is_none(), &b.name))
        });
        Ok(rows)
    };
    let mut configurations = groups(db, "configuration")?;
    if configurations.iter().all(|c| c.name.is_none()) {
        configurations.clear();
    }
    let machines = groups(db, "machine")?;

    let all_runs = totals.count(0);
    let mut tests = Vec::new();
    db.for_each(
        &format!(
            "SELECT c.test_id, count(DISTINCT c.id), count(DISTINCT s.run) FROM crashes c \
             JOIN sightings s ON s.crash = c.id AND s.attribution = 'run' \
             JOIN runs r ON r.id = s.run \
             WHERE c.test_id IS NOT NULL AND {WATCHED}{} GROUP BY c.test_id",
            runs_filter.sql
        ),
        &runs_filter.params,
        |row| {
            if let Some(test_id) = row.string(0) {
                tests.push(TestRow {
                    test_id,
                    crashes: row.count(1),
                    rate: Rate::of(all_runs, row.count(2)),
                });
            }
        },
    )?;
    tests.sort_by(|a, b| {
        (b.rate.crashed_runs, b.crashes, &a.test_id).cmp(&(
            a.rate.crashed_runs,
            a.crashes,
            &b.test_id,
        ))
    });

    Ok(Answer {
        store: store.to_owned(),
        since: q.since.map(time),
        until: q.until.map(time),
        period: q.period,
        machine: q.machine.clone(),
        runs: Rate::of(all_runs, totals.count(1)),
        other_runs,
        crashes,
        known,
        regressions,
        undated,
        periods,
        signatures,
        versions,
        configurations,
        machines,
        tests,
    })
}

/// The day in column 0, if it is one.
fn date(row: &Row) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(row.text(0)?, "%Y-%m-%d").ok()
}

/// The first day of the period `day` is in.
fn period_start(day: NaiveDate, period: Period) -> NaiveDate {
    match period {
        Period::Day => day,
        Period::Week => day
            .checked_sub_days(Days::new(u64::from(day.weekday().num_days_from_monday())))
            .unwrap_or(day),
    }
}

/// The next period's first day.
fn next(start: NaiveDate, period: Period) -> Option<NaiveDate> {
    start.checked_add_days(Days::new(match period {
        Period::Day => 1,
        Period::Week => 7,
    }))
}

/// Days folded into periods, each marked when empty periods come before it.
fn periods(
    days: BTreeMap<NaiveDate, (u64, u64, BTreeMap<String, u64>)>,
    period: Period,
) -> Vec<PeriodRow> {
    let mut folded: BTreeMap<NaiveDate, (u64, u64, BTreeMap<String, u64>)> = BTreeMap::new();
    for (day, (runs, crashed, signatures)) in days {
        let p = folded.entry(period_start(day, period)).or_default();
        p.0 += runs;
        p.1 += crashed;
        for (s, n) in signatures {
            *p.2.entry(s).or_default() += n;
        }
    }
    let mut expected: Option<NaiveDate> = None;
    folded
        .into_iter()
        .map(|(start, (runs, crashed, signatures))| {
            let after_gap = expected.is_some_and(|e| e != start);
            expected = next(start, period);
            let mut signatures: Vec<SignatureCount> = signatures
                .into_iter()
                .map(|(signature_id, crashes)| SignatureCount {
                    signature_id,
                    crashes,
                })
                .collect();
            signatures
                .sort_by(|a, b| (b.crashes, &a.signature_id).cmp(&(a.crashes, &b.signature_id)));
            PeriodRow {
                start: start.format("%Y-%m-%d").to_string(),
                rate: Rate::of(runs, crashed),
                crashes: signatures.iter().map(|s| s.crashes).sum(),
                signatures,
                after_gap,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap_or_else(|e| panic!("{e}"))
    }

    /// Weeks start on Monday (ISO), whatever day of the week or year boundary a day falls on.
    #[test]
    fn a_week_starts_on_its_monday() {
        assert_eq!(
            period_start(day("2026-11-29"), Period::Week),
            day("2026-11-23")
        );
        assert_eq!(
            period_start(day("2026-11-23"), Period::Week),
            day("2026-11-23")
        );
        assert_eq!(
            period_start(day("2027-01-01"), Period::Week),
            day("2026-12-28")
        );
        assert_eq!(
            period_start(day("2026-11-29"), Period::Day),
            day("2026-11-29")
        );
    }

    /// Days fold into their weeks; a week after empty ones says so (the chart shows a break,
    /// not two far weeks side by side), an adjacent one does not; a year-1 capture time from a
    /// hostile report is one row, not a million empty weeks.
    #[test]
    fn periods_fold_days_and_mark_the_gaps() {
        let mut days = BTreeMap::new();
        days.insert(
            day("2026-11-02"),
            (3, 1, BTreeMap::from([("s".to_owned(), 1)])),
        );
        days.insert(
            day("2026-11-05"),
            (1, 0, BTreeMap::from([("s".to_owned(), 2)])),
        );
        days.insert(day("2026-11-09"), (1, 0, BTreeMap::new()));
        days.insert(day("2026-11-25"), (2, 0, BTreeMap::new()));
        days.insert(
            day("0001-01-01"),
            (0, 0, BTreeMap::from([("t".to_owned(), 1)])),
        );
        let weeks = periods(days, Period::Week);
        let rows: Vec<(&str, bool)> = weeks
            .iter()
            .map(|p| (p.start.as_str(), p.after_gap))
            .collect();
        assert_eq!(
            rows,
            [
                ("0001-01-01", false),
                ("2026-11-02", true),
                ("2026-11-09", false),
                ("2026-11-23", true)
            ]
        );
        assert_eq!(weeks[1].crashes, 3);
        assert_eq!((weeks[1].rate.runs, weeks[1].rate.crashed_runs), (4, 1));
        assert_eq!(weeks[2].rate.rate, Some(0.0));
    }
}
