//! `crashdelta history`: the history's answer as tables, Markdown, JSON and one HTML page with
//! its time chart.
//!
//! Every rendering says the rate with its denominator ("3 of 140 runs"), because a count of
//! crashes alone cannot tell a worse week from a busier one; a period without runs says so
//! instead of showing 0%. Everything from a store is report text (signatures, rules, test ids,
//! machine names, OS builds): escaped as each format needs, as every rendering is.

use std::fmt::Write as _;
use std::io::{self, Write};

use super::escape::Lines;
use super::{html, markdown};
use crate::campaign::percent;
use crate::history::query::{Answer, GroupRate, Period, PeriodRow, Rate, SignatureRow, VersionRow};

/// The JSON document's `schema`.
pub const HISTORY_SCHEMA: &str = "crashdelta.history/1";

/// "3 of 140 runs (2.1%, 95%: 0.7%–6.1%)", or "no runs".
pub fn rate_words(r: &Rate) -> String {
    match (r.rate, r.interval) {
        (Some(rate), Some([lo, hi])) => format!(
            "{} of {} run(s) crashed ({}, 95%: {}–{})",
            r.crashed_runs,
            r.runs,
            percent(rate),
            percent(lo),
            percent(hi)
        ),
        (Some(rate), None) => format!(
            "{} of {} run(s) crashed ({})",
            r.crashed_runs,
            r.runs,
            percent(rate)
        ),
        _ => "no runs".to_owned(),
    }
}

/// "3/140 (2.1%)", for a table cell.
fn rate_cell(r: &Rate) -> String {
    match r.rate {
        Some(rate) => format!("{}/{} ({})", r.crashed_runs, r.runs, percent(rate)),
        None => "no runs".to_owned(),
    }
}

fn period_word(p: Period) -> &'static str {
    match p {
        Period::Day => "day",
        Period::Week => "week",
    }
}

/// The window in words: "since 2026-11-01, until 2026-11-30", "all time".
fn window(a: &Answer) -> String {
    let mut parts = Vec::new();
    if let Some(s) = &a.since {
        parts.push(format!("since {}", day(s)));
    }
    if let Some(u) = &a.until {
        parts.push(format!("until {}", day(u)));
    }
    if let Some(m) = &a.machine {
        parts.push(format!("on {m}"));
    }
    if parts.is_empty() {
        "all time".to_owned()
    } else {
        parts.join(", ")
    }
}

/// The day of an RFC 3339 time, or `?` when it does not start with one (a store is input: its
/// text may be anything).
fn day(t: &str) -> &str {
    t.get(..10)
        .filter(|d| chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_ok())
        .unwrap_or("?")
}

/// The day of a first or last seen time.
fn seen(t: &Option<String>) -> &str {
    t.as_deref().map_or("?", day)
}

fn opt(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("?")
}

fn driver(driver: &Option<String>, version: &Option<String>) -> String {
    match (driver, version) {
        (Some(d), Some(v)) => format!("{d} {v}"),
        (Some(d), None) => d.clone(),
        (None, _) => "?".to_owned(),
    }
}

/// A signature's rule, with what its rule says fixed it: `rule (fixed in driver version 342.1)`.
fn rule_cell(g: &SignatureRow) -> String {
    match &g.fixed_in {
        Some(fix) => format!("{} (fixed in {fix})", g.rule),
        None => g.rule.clone(),
    }
}

/// `yes`, `no`, and the regressions: `yes, 2 regressions`.
fn known_cell(g: &SignatureRow) -> String {
    let known = if g.known { "yes" } else { "no" };
    match g.regressions {
        0 => known.to_owned(),
        1 => format!("{known}, 1 regression"),
        n => format!("{known}, {n} regressions"),
    }
}

/// A version row's crashes: `3`, or `3, 3 regressions` on a version at or after the fix.
fn crashes_cell(v: &VersionRow) -> String {
    match v.regressions {
        0 => v.crashes.to_string(),
        1 => format!("{}, 1 regression", v.crashes),
        n => format!("{}, {n} regressions", v.crashes),
    }
}

/// Top signatures of a period: "2× 25ad5093bba0f34e, 1× 9c3e…".
fn period_signatures(p: &PeriodRow) -> String {
    let mut s: Vec<String> = p
        .signatures
        .iter()
        .take(3)
        .map(|c| format!("{}× {}", c.crashes, c.signature_id))
        .collect();
    if p.signatures.len() > 3 {
        s.push(format!("{} more", p.signatures.len() - 3));
    }
    s.join(", ")
}

/// The totals line.
fn headline(a: &Answer) -> String {
    let mut s = format!("{}: {} crash(es), {} known", window(a), a.crashes, a.known);
    if a.regressions > 0 {
        let _ = write!(
            s,
            ", {} regression(s) (seen on a version at or after their fix)",
            a.regressions
        );
    }
    let _ = write!(s, "; {}", rate_words(&a.runs));
    if a.other_runs > 0 {
        let _ = write!(s, "; {} classify/diff run(s)", a.other_runs);
    }
    if a.undated > 0 {
        let _ = write!(s, "; {} crash(es) without a readable date", a.undated);
    }
    s
}

/// For the terminal: the totals, then a table per question.
pub fn human(a: &Answer, width: Option<u16>) -> String {
    let mut s = Lines::new();
    s.line(format_args!("History {}", a.store));
    s.line(headline(a));
    if !a.periods.is_empty() {
        s.blank();
        s.line(format_args!("By {}:", period_word(a.period)));
        let mut t = super::table(
            width,
            &[
                period_word(a.period),
                "runs crashed",
                "crashes",
                "signatures",
            ],
        );
        for p in &a.periods {
            if p.after_gap {
                t.add_row(["⋯".to_owned(), String::new(), String::new(), String::new()]);
            }
            t.add_row([
                p.start.clone(),
                rate_cell(&p.rate),
                p.crashes.to_string(),
                period_signatures(p),
            ]);
        }
        s.table(&t);
    }
    if !a.signatures.is_empty() {
        s.blank();
        s.line("By signature:");
        let mut t = super::table(
            width,
            &[
                "crashes",
                "signature",
                "rule",
                "known",
                "location",
                "first",
                "last",
            ],
        );
        for g in &a.signatures {
            t.add_row([
                g.crashes.to_string(),
                g.signature_id.clone(),
                rule_cell(g),
                known_cell(g),
                opt(&g.location).to_owned(),
                seen(&g.first_seen).to_owned(),
                seen(&g.last_seen).to_owned(),
            ]);
        }
        s.table(&t);
    }
    if !a.versions.is_empty() {
        s.blank();
        s.line("First and last seen by OS build and driver version:");
        let mut t = super::table(
            width,
            &[
                "signature",
                "rule",
                "OS build",
                "driver",
                "crashes",
                "first",
                "last",
            ],
        );
        for v in &a.versions {
            t.add_row([
                v.signature_id.clone(),
                v.rule.clone(),
                opt(&v.os_build).to_owned(),
                driver(&v.driver, &v.driver_version),
                crashes_cell(v),
                seen(&v.first_seen).to_owned(),
                seen(&v.last_seen).to_owned(),
            ]);
        }
        s.table(&t);
    }
    for (title, groups, unnamed) in [
        ("By configuration:", &a.configurations, "(none)"),
        ("By machine:", &a.machines, "?"),
    ] {
        if groups.is_empty() {
            continue;
        }
        s.blank();
        s.line(title);
        let mut t = super::table(width, &["name", "runs crashed", "95% interval"]);
        for g in groups.iter() {
            t.add_row([
                g.name.as_deref().unwrap_or(unnamed).to_owned(),
                rate_cell(&g.rate),
                interval(&g.rate),
            ]);
        }
        s.table(&t);
    }
    if !a.tests.is_empty() {
        s.blank();
        s.line(format_args!(
            "By test, over the {} watched run(s):",
            a.runs.runs
        ));
        let mut t = super::table(width, &["test", "runs crashed", "crashes"]);
        for test in &a.tests {
            t.add_row([
                test.test_id.clone(),
                rate_cell(&test.rate),
                test.crashes.to_string(),
            ]);
        }
        s.table(&t);
    }
    s.into_string()
}

fn interval(r: &Rate) -> String {
    match r.interval {
        Some([lo, hi]) => format!("{}–{}", percent(lo), percent(hi)),
        None => "—".to_owned(),
    }
}

/// Markdown, for a job summary or an issue.
pub fn markdown(a: &Answer) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## Crash history\n\n{}\n",
        markdown::inline(&headline(a))
    );
    if !a.periods.is_empty() {
        let _ = writeln!(
            s,
            "### By {w}\n\n| {w} | runs crashed | crashes | signatures |\n|---|---:|---:|---|",
            w = period_word(a.period)
        );
        for p in &a.periods {
            if p.after_gap {
                s.push_str("| ⋯ | | | |\n");
            }
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} |",
                p.start,
                rate_cell(&p.rate),
                p.crashes,
                markdown::inline(&period_signatures(p))
            );
        }
        s.push('\n');
    }
    if !a.signatures.is_empty() {
        let _ = writeln!(
            s,
            "### By signature\n\n| crashes | signature | rule | known | location | first seen | last seen |\n\
             |---:|---|---|---|---|---|---|"
        );
        for g in &a.signatures {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} |",
                g.crashes,
                markdown::cell_code(&g.signature_id),
                markdown::inline(&rule_cell(g)),
                known_cell(g),
                markdown::cell_code(opt(&g.location)),
                seen(&g.first_seen),
                seen(&g.last_seen),
            );
        }
        s.push('\n');
    }
    if !a.versions.is_empty() {
        let _ = writeln!(
            s,
            "### First and last seen by OS build and driver version\n\n\
             | signature | rule | OS build | driver | crashes | first seen | last seen |\n\
             |---|---|---|---|---:|---|---|"
        );
        for v in &a.versions {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} |",
                markdown::cell_code(&v.signature_id),
                markdown::inline(&v.rule),
                markdown::inline(opt(&v.os_build)),
                markdown::inline(&driver(&v.driver, &v.driver_version)),
                crashes_cell(v),
                seen(&v.first_seen),
                seen(&v.last_seen),
            );
        }
        s.push('\n');
    }
    for (title, groups, unnamed) in [
        ("By configuration", &a.configurations, "(none)"),
        ("By machine", &a.machines, "?"),
    ] {
        if groups.is_empty() {
            continue;
        }
        let _ = writeln!(
            s,
            "### {title}\n\n| name | runs crashed | 95% interval |\n|---|---:|---|"
        );
        for g in groups.iter() {
            let _ = writeln!(
                s,
                "| {} | {} | {} |",
                markdown::inline(g.name.as_deref().unwrap_or(unnamed)),
                rate_cell(&g.rate),
                interval(&g.rate)
            );
        }
        s.push('\n');
    }
    if !a.tests.is_empty() {
        let _ = writeln!(
            s,
            "### By test\n\nOver the {} watched run(s).\n\n| test | runs crashed | crashes |\n|---|---:|---:|",
            a.runs.runs
        );
        for t in &a.tests {
            let _ = writeln!(
                s,
                "| {} | {} | {} |",
                markdown::cell_code(&t.test_id),
                rate_cell(&t.rate),
                t.crashes
            );
        }
    }
    s
}

/// The JSON contract (`crashdelta.history/1`).
pub fn json(out: &mut dyn Write, a: &Answer) -> io::Result<()> {
    let mut doc = serde_json::json!({
        "schema": HISTORY_SCHEMA,
        "tool": crate::Tool::this(),
    });
    if let (Some(obj), Ok(serde_json::Value::Object(answer))) =
        (doc.as_object_mut(), serde_json::to_value(a))
    {
        obj.extend(answer);
    }
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
    writeln!(out)?;
    out.flush()
}

/// One self-contained page: the time chart (crashes per period by signature, and crashed runs
/// over runs), then the tables.
pub fn page(a: &Answer, generated: &str) -> String {
    let mut body = String::new();
    let _ = writeln!(
        body,
        "<p class=\"verdict\">{}</p>",
        html::escape(&headline(a))
    );
    // Signatures keep one colour across the page: the order of the signatures table.
    let colour_of = |id: &str| {
        a.signatures
            .iter()
            .position(|s| s.signature_id == id)
            .unwrap_or(a.signatures.len())
    };
    if !a.periods.is_empty() {
        let _ = writeln!(
            body,
            "<h2>Crashes by {w}</h2>\n<p>Each column is a {w}, its crashes stacked by signature; \
             under it, the runs of that {w} and how many crashed (a {w} without runs is empty, \
             not 0%).</p>\n{}",
            time_chart(a, &colour_of),
            w = period_word(a.period)
        );
    }
    if !a.signatures.is_empty() {
        body.push_str("<h2>By signature</h2>\n<div class=\"legend\">");
        for g in &a.signatures {
            let _ = write!(
                body,
                "<span><i style=\"background:{}\" data-series=\"{}\"></i><code>{}</code> {}</span>",
                html::colour(colour_of(&g.signature_id)),
                html::escape(&g.signature_id),
                html::escape(&g.signature_id),
                html::escape(&g.rule)
            );
        }
        body.push_str(
            "</div>\n<div class=\"wide\"><table><tr><th>crashes</th><th>signature</th><th>rule</th>\
             <th>known</th><th>location</th><th>first seen</th><th>last seen</th></tr>\n",
        );
        for g in &a.signatures {
            let _ = writeln!(
                body,
                "<tr><td class=\"n\">{}</td><td class=\"k\"><code title=\"{}\">{}</code></td>\
                 <td class=\"w\">{}</td><td>{}</td><td class=\"w\"><code>{}</code></td>\
                 <td class=\"k\">{}</td><td class=\"k\">{}</td></tr>",
                g.crashes,
                html::escape(&g.signature),
                html::escape(&g.signature_id),
                html::escape(&rule_cell(g)),
                known_cell(g),
                html::escape(opt(&g.location)),
                html::escape(seen(&g.first_seen)),
                html::escape(seen(&g.last_seen)),
            );
        }
        body.push_str("</table></div>\n");
    }
    if !a.versions.is_empty() {
        body.push_str(
            "<h2>First and last seen by OS build and driver version</h2>\n<div class=\"wide\"><table>\
             <tr><th>signature</th><th>rule</th><th>OS build</th><th>driver</th><th>crashes</th>\
             <th>first seen</th><th>last seen</th></tr>\n",
        );
        for v in &a.versions {
            let _ = writeln!(
                body,
                "<tr><td class=\"k\"><code>{}</code></td><td class=\"w\">{}</td><td>{}</td>\
                 <td class=\"w\">{}</td><td class=\"n\">{}</td><td class=\"k\">{}</td>\
                 <td class=\"k\">{}</td></tr>",
                html::escape(&v.signature_id),
                html::escape(&v.rule),
                html::escape(opt(&v.os_build)),
                html::escape(&driver(&v.driver, &v.driver_version)),
                crashes_cell(v),
                html::escape(seen(&v.first_seen)),
                html::escape(seen(&v.last_seen)),
            );
        }
        body.push_str("</table></div>\n");
    }
    for (title, groups, unnamed) in [
        ("By configuration", &a.configurations, "(none)"),
        ("By machine", &a.machines, "?"),
    ] {
        if !groups.is_empty() {
            body.push_str(&group_table(title, groups, unnamed));
        }
    }
    if !a.tests.is_empty() {
        let _ = writeln!(
            body,
            "<h2>By test</h2>\n<p>Over the {} watched run(s).</p>\n<div class=\"wide\"><table>\
             <tr><th>test</th><th>runs crashed</th><th>crashes</th></tr>",
            a.runs.runs
        );
        for t in &a.tests {
            let _ = writeln!(
                body,
                "<tr><td class=\"w\"><code>{}</code></td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                html::escape(&t.test_id),
                html::escape(&rate_cell(&t.rate)),
                t.crashes
            );
        }
        body.push_str("</table></div>\n");
    }
    html::page(
        "Crash history",
        &format!(
            "{} · {} · generated {}",
            html::escape(&a.store),
            html::escape(&window(a)),
            html::escape(generated)
        ),
        &body,
    )
}

fn group_table(title: &str, groups: &[GroupRate], unnamed: &str) -> String {
    let mut s = format!(
        "<h2>{title}</h2>\n<div class=\"wide\"><table><tr><th>name</th><th>runs crashed</th>\
         <th>95% interval</th></tr>\n"
    );
    for g in groups {
        let _ = writeln!(
            s,
            "<tr><td class=\"w\">{}</td><td class=\"n\">{}</td><td class=\"k\">{}</td></tr>",
            html::escape(g.name.as_deref().unwrap_or(unnamed)),
            html::escape(&rate_cell(&g.rate)),
            html::escape(&interval(&g.rate))
        );
    }
    s.push_str("</table></div>\n");
    s
}

/// The time chart: one column per period, crashes stacked by signature (colours as the legend),
/// and under the axis a strip of the period's runs, the crashed ones in red. An SVG of fixed
/// proportions at its natural size, scaled down whole (text included) when it is wider than the
/// column, so that its dates are never squeezed onto each other.
fn time_chart(a: &Answer, colour_of: &dyn Fn(&str) -> usize) -> String {
    let (col, gap, top, bars, strip, axis) = (14.0, 4.0, 20.0, 160.0, 40.0, 34.0);
    // A break where empty periods were left out: a dashed line in a column's room.
    let breaks = a.periods.iter().filter(|p| p.after_gap).count();
    let n = (a.periods.len() + breaks).max(1) as f64;
    // Room on the right for the last date's label.
    let width = (30.0 + n * (col + gap) + 70.0).max(320.0);
    let height = top + bars + 10.0 + strip + axis;
    let max_crashes = a
        .periods
        .iter()
        .map(|p| p.crashes)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let max_runs = a
        .periods
        .iter()
        .map(|p| p.rate.runs)
        .max()
        .unwrap_or(0)
        .max(1) as f64;
    let mut svg = format!(
        "<svg viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" \
         style=\"max-width:100%;height:auto\" role=\"img\" \
         aria-label=\"crashes and runs by {}\" xmlns=\"http://www.w3.org/2000/svg\">",
        period_word(a.period)
    );
    let _ = write!(
        svg,
        "<text x=\"0\" y=\"11\">{} crash(es) at most in a {}</text>\
         <line x1=\"30\" y1=\"{b}\" x2=\"{width}\" y2=\"{b}\" stroke=\"#d0d7de\"/>",
        max_crashes as u64,
        period_word(a.period),
        b = top + bars
    );
    // Label about eight periods, and never two closer than a date's width (75 units).
    let every = (a.periods.len() / 8).max(75 / (col + gap) as usize + 1);
    let mut slot = 0.0;
    let mut last_year = None;
    for (i, p) in a.periods.iter().enumerate() {
        if p.after_gap {
            let x = 30.0 + slot * (col + gap) + col / 2.0;
            let _ = write!(
                svg,
                "<line x1=\"{x}\" y1=\"{top}\" x2=\"{x}\" y2=\"{}\" stroke=\"#8c959f\" \
                 stroke-dasharray=\"3 3\"><title>periods without runs or \
                 crashes</title></line>",
                top + bars + 10.0 + strip
            );
            slot += 1.0;
        }
        let x = 30.0 + slot * (col + gap);
        slot += 1.0;
        let mut y = top + bars;
        for c in &p.signatures {
            let h = c.crashes as f64 / max_crashes * bars;
            y -= h;
            let _ = write!(
                svg,
                "<rect x=\"{x}\" y=\"{y:.2}\" width=\"{col}\" height=\"{h:.2}\" fill=\"{}\" \
                 data-series=\"{}\"><title>{}</title></rect>",
                html::colour(colour_of(&c.signature_id)),
                html::escape(&c.signature_id),
                html::escape(&format!(
                    "{}: {} crash(es) of {}",
                    p.start, c.crashes, c.signature_id
                )),
            );
        }
        let strip_top = top + bars + 10.0;
        let runs_h = p.rate.runs as f64 / max_runs * strip;
        let crashed_h = p.rate.crashed_runs as f64 / max_runs * strip;
        let _ = write!(
            svg,
            "<rect x=\"{x}\" y=\"{:.2}\" width=\"{col}\" height=\"{runs_h:.2}\" fill=\"#d0d7de\" \
             data-series=\"runs\"><title>{}</title></rect>\
             <rect x=\"{x}\" y=\"{:.2}\" width=\"{col}\" height=\"{crashed_h:.2}\" fill=\"#cf222e\" \
             data-series=\"crashed runs\"><title>{}</title></rect>",
            strip_top + strip - runs_h,
            html::escape(&format!("{}: {}", p.start, rate_words(&p.rate))),
            strip_top + strip - crashed_h,
            html::escape(&format!("{}: {}", p.start, rate_words(&p.rate))),
        );
        if i % every == 0 {
            // The year on the first label and wherever it changes; the month and day elsewhere.
            let year = p.start.get(..4);
            let label = if year == last_year {
                p.start.get(5..).unwrap_or(&p.start)
            } else {
                &p.start
            };
            last_year = year;
            let _ = write!(
                svg,
                "<text x=\"{}\" y=\"{}\" text-anchor=\"start\">{}</text>",
                x,
                strip_top + strip + 14.0,
                html::escape(label)
            );
        }
    }
    let _ = write!(
        svg,
        "<text x=\"0\" y=\"{}\">runs</text></svg>",
        top + bars + 10.0 + strip / 2.0
    );
    format!(
        "<div class=\"wide\">{svg}</div>\n<div class=\"legend\"><span><i style=\"background:#d0d7de\">\
         </i>runs</span><span><i style=\"background:#cf222e\"></i>runs that crashed</span></div>"
    )
}
