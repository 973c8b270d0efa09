//! Campaign records (`watch --repeat`, `compare`) and `stats` breakdowns: JSON, human, Markdown,
//! JUnit and HTML.

use std::fmt::Write as _;
use std::io::{self, Write};

use serde::Serialize;

use super::escape::{Lines, Tone};
use super::{html, junit::escape as xml, markdown};
use crate::Tool;
use crate::campaign::breakdown::StatsReport;
use crate::campaign::{
    CampaignReport, CampaignSummary, ConfigInfo, ConfigStats, RunCrash, RunSummary, percent,
};

/// The `schema` of the campaign document (`watch --repeat`, `compare`).
pub const CAMPAIGN_SCHEMA: &str = "crashdelta.campaign/2";
/// The `schema` of the `stats --format json` document.
pub const STATS_SCHEMA: &str = "crashdelta.stats/2";

#[derive(Serialize)]
struct CompareOut<'a> {
    a: &'a ConfigStats,
    b: &'a ConfigStats,
    p_value: Option<f64>,
    significant: bool,
    verdict: &'a str,
}

/// A run's watch record with the campaign's `run` object added after its fields.
#[derive(Serialize)]
struct RunOut<'a> {
    #[serde(flatten)]
    record: &'a serde_json::Value,
    run: RunMeta<'a>,
}

#[derive(Serialize)]
struct RunMeta<'a> {
    index: usize,
    config: Option<&'a str>,
    crashed: bool,
    duration_ms: u64,
    crashes: &'a [RunCrash],
}

#[derive(Serialize)]
#[serde(untagged)]
enum SummaryOut<'a> {
    Repeat(&'a ConfigStats),
    Compare(CompareOut<'a>),
}

#[derive(Serialize)]
struct CampaignDoc<'a> {
    schema: &'static str,
    tool: Tool,
    kind: &'static str,
    command: &'a [String],
    configs: &'a [ConfigInfo],
    stopped: Option<&'a str>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    drift: Vec<String>,
    runs: Vec<RunOut<'a>>,
    summary: SummaryOut<'a>,
}

/// Streams the document: the run records are written as they are, not copied into a new tree.
pub fn write_json(out: &mut dyn Write, c: &CampaignReport) -> io::Result<()> {
    let runs = c
        .runs
        .iter()
        .zip(&c.records)
        .map(|(r, record)| RunOut {
            record,
            run: RunMeta {
                index: r.index,
                config: c.configs.get(r.config).map(|x| x.name.as_str()),
                crashed: r.crashed(),
                duration_ms: r.duration_ms,
                crashes: &r.crashes,
            },
        })
        .collect();
    let (kind, summary) = match &c.summary {
        CampaignSummary::Repeat(s) => ("repeat", SummaryOut::Repeat(s)),
        CampaignSummary::Compare(cmp) => (
            "compare",
            SummaryOut::Compare(CompareOut {
                a: &cmp.a,
                b: &cmp.b,
                p_value: cmp.p_value,
                significant: cmp.significant,
                verdict: &cmp.verdict,
            }),
        ),
    };
    let doc = CampaignDoc {
        schema: CAMPAIGN_SCHEMA,
        tool: Tool::this(),
        kind,
        command: &c.command,
        configs: &c.configs,
        stopped: c.stopped.as_deref(),
        drift: c.drift(),
        runs,
        summary,
    };
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
    writeln!(out)?;
    out.flush()
}

fn run_crashes(r: &RunSummary) -> String {
    if r.crashes.is_empty() {
        return "—".to_owned();
    }
    let mut rules: Vec<(String, usize)> = Vec::new();
    for c in &r.crashes {
        match rules.iter_mut().find(|(rule, _)| *rule == c.rule) {
            Some((_, n)) => *n += 1,
            None => rules.push((c.rule.clone(), 1)),
        }
    }
    rules
        .iter()
        .map(|(rule, n)| {
            if *n > 1 {
                format!("{n}× {rule}")
            } else {
                rule.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn exit_text(r: &RunSummary) -> String {
    match (r.exit, r.signal) {
        (_, Some(sig)) => crate::watch::signal_name(sig),
        (Some(code), None) => code.to_string(),
        _ => "?".to_owned(),
    }
}

fn seconds(ms: u64) -> String {
    format!("{:.1}s", ms as f64 / 1000.0)
}

/// Per-run rows and the summary, for the terminal; escaped as every human rendering is.
pub fn human(c: &CampaignReport, style: &super::Style) -> String {
    let width = style.width;
    let names = c.names();
    let compare = matches!(c.summary, CampaignSummary::Compare(_));
    let mut s = Lines::coloured(style.colour);
    let mut header = vec!["run"];
    if compare {
        header.push("config");
    }
    header.extend(["exit", "duration", "new crashes (by rule)", "concurrent"]);
    let mut table = super::table(width, &header);
    for r in &c.runs {
        let mut row = vec![r.index.to_string()];
        if compare {
            row.push(names.get(r.config).cloned().unwrap_or_default());
        }
        row.extend([
            exit_text(r),
            seconds(r.duration_ms),
            run_crashes(r),
            r.concurrent.to_string(),
        ]);
        table.add_row(row);
    }
    s.table(&table);
    if let Some(why) = &c.stopped {
        s.toned(Tone::Warning, format_args!("Stopped early: {why}."));
    }
    for d in c.drift() {
        s.toned(Tone::Warning, format_args!("Warning: {d}."));
    }
    for st in c.stats() {
        s.toned(Tone::Heading, format_args!("{}: {}", st.name, st.words));
        s.line(format_args!(
            "  {} new crash log(s); the command passed in {}/{} runs",
            st.new_crash_logs, st.passed_runs, st.runs
        ));
        for i in &st.injected {
            if i.never_loaded() || i.sometimes_missing() {
                s.toned(Tone::Warning, format_args!("  Injected: {}", i.words));
            } else {
                s.line(format_args!("  Injected: {}", i.words));
            }
        }
        for sig in &st.by_signature {
            let regressions = match sig.regressions {
                0 => String::new(),
                n => format!(", {n} regression(s)"),
            };
            s.toned(
                if sig.known && sig.regressions == 0 {
                    Tone::Known
                } else {
                    Tone::New
                },
                format_args!(
                    "  {}× in {} run(s): {} ({}{}{regressions}; signature {})",
                    sig.reports,
                    sig.runs,
                    sig.location.as_deref().unwrap_or(&sig.signature),
                    sig.rule,
                    if sig.known { ", known" } else { "" },
                    sig.signature_id
                ),
            );
        }
        for t in &st.by_test {
            s.line(format_args!("  {}", t.words));
        }
        if !st.by_test.is_empty() && st.crash_logs_without_test > 0 {
            s.line(format_args!(
                "  {} crash log(s) not joined with a test",
                st.crash_logs_without_test
            ));
        }
    }
    if let CampaignSummary::Compare(cmp) = &c.summary {
        s.toned(Tone::Heading, &cmp.verdict);
    }
    s.into_string()
}

/// A test's crashes by rule: `agx-prepare-for-enqueue-race`, or `2× a, 1× b`.
fn rules_text(t: &crate::campaign::TestCount) -> String {
    match t.rules.as_slice() {
        [one] => one.rule.clone(),
        many => crate::campaign::rule_counts(many),
    }
}

fn interval_text(st: &ConfigStats) -> String {
    match (st.interval, st.upper_bound_if_none) {
        (_, Some(upper)) => format!("0%–{} (95% upper bound)", percent(upper)),
        (Some([lo, hi]), None) => format!("{}–{}", percent(lo), percent(hi)),
        _ => "—".to_owned(),
    }
}

/// Markdown ready to paste into a report or an issue.
pub fn markdown(c: &CampaignReport) -> String {
    let mut s = String::new();
    let title = match &c.summary {
        CampaignSummary::Repeat(_) => "Stress campaign",
        CampaignSummary::Compare(_) => "A/B comparison",
    };
    let _ = writeln!(s, "## {title}: {}\n", markdown::code(&c.command.join(" ")));
    if let CampaignSummary::Compare(cmp) = &c.summary {
        let _ = writeln!(s, "> {}\n", markdown::inline(&cmp.verdict));
        for cfg in &c.configs {
            let env = if cfg.env.is_empty() {
                "no change".to_owned()
            } else {
                cfg.env
                    .iter()
                    .map(|e| markdown::code(e))
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            let _ = writeln!(s, "- **{}**: {env}", markdown::inline(&cfg.name));
        }
        s.push('\n');
    }
    let _ = writeln!(
        s,
        "| configuration | runs | crashed runs | rate | 95% interval | new crash logs | command passed |"
    );
    let _ = writeln!(s, "|---|---:|---:|---:|---|---:|---:|");
    for st in c.stats() {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {}/{} |",
            markdown::inline(&st.name),
            st.runs,
            st.crashed_runs,
            st.rate.map_or_else(|| "—".to_owned(), percent),
            interval_text(st),
            st.new_crash_logs,
            st.passed_runs,
            st.runs
        );
    }
    s.push('\n');
    for st in c.stats() {
        let _ = writeln!(
            s,
            "**{}**: {}\n",
            markdown::inline(&st.name),
            markdown::inline(&st.words)
        );
    }
    for st in c.stats() {
        for i in &st.injected {
            let warning = if i.never_loaded() || i.sometimes_missing() {
                "**Warning**: "
            } else {
                ""
            };
            let _ = writeln!(
                s,
                "{warning}**{}** injected {}\n",
                markdown::inline(&st.name),
                markdown::inline(&i.words)
            );
        }
    }
    let sigs: Vec<(&str, &crate::campaign::SignatureCount)> = c
        .stats()
        .into_iter()
        .flat_map(|st| st.by_signature.iter().map(move |g| (st.name.as_str(), g)))
        .collect();
    if !sigs.is_empty() {
        let _ = writeln!(
            s,
            "| configuration | signature | rule | known | reports | runs |"
        );
        let _ = writeln!(s, "|---|---|---|---|---:|---:|");
        for (name, g) in sigs {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} |",
                markdown::inline(name),
                markdown::cell_code(&g.signature),
                markdown::inline(&g.rule),
                super::known_count_cell(g.known, g.regressions),
                g.reports,
                g.runs
            );
        }
        s.push('\n');
    }
    let tests: Vec<(&str, &crate::campaign::TestCount)> = c
        .stats()
        .into_iter()
        .flat_map(|st| st.by_test.iter().map(move |t| (st.name.as_str(), t)))
        .collect();
    if !tests.is_empty() {
        let _ = writeln!(
            s,
            "| configuration | test | crashed runs | reports | crash |\n|---|---|---:|---:|---|"
        );
        for (name, t) in tests {
            let _ = writeln!(
                s,
                "| {} | {} | {}/{} | {} | {} |",
                markdown::inline(name),
                markdown::cell_code(&t.test),
                t.crashed_runs,
                t.runs,
                t.reports,
                rules_text(t)
            );
        }
        s.push('\n');
    }
    let names = c.names();
    let _ = writeln!(
        s,
        "<details><summary>{} runs</summary>\n\n| run | configuration | exit | duration | new crashes |\n|---:|---|---|---:|---|",
        c.runs.len()
    );
    for r in &c.runs {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} |",
            r.index,
            markdown::inline(names.get(r.config).map_or("", String::as_str)),
            exit_text(r),
            seconds(r.duration_ms),
            markdown::inline(&run_crashes(r))
        );
    }
    let _ = writeln!(s, "\n</details>");
    if let Some(why) = &c.stopped {
        let _ = writeln!(s, "\nStopped early: {}.", markdown::inline(why));
    }
    for d in c.drift() {
        let _ = writeln!(s, "\n**Warning**: {}.", markdown::inline(&d));
    }
    s
}

/// JUnit: one test case per run, failed when the run crashed.
pub fn junit(c: &CampaignReport) -> String {
    let names = c.names();
    let crashed = c.runs.iter().filter(|r| r.crashed()).count();
    let mut s = String::new();
    let _ = writeln!(s, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>");
    let _ = writeln!(
        s,
        "<testsuites name=\"crashdelta\" tests=\"{}\" failures=\"{crashed}\">\n  <testsuite name=\"{}\" tests=\"{}\" failures=\"{crashed}\">",
        c.runs.len(),
        xml(&c.command.join(" ")),
        c.runs.len()
    );
    for r in &c.runs {
        let config = names.get(r.config).map_or("", String::as_str);
        let _ = write!(
            s,
            "    <testcase classname=\"crashdelta.campaign\" name=\"run {} ({})\" time=\"{:.3}\"",
            r.index,
            xml(config),
            r.duration_ms as f64 / 1000.0
        );
        if r.crashed() {
            let detail: Vec<String> = r
                .crashes
                .iter()
                .map(|x| {
                    format!(
                        "{}: {} at {} ({})",
                        x.rule,
                        x.title,
                        x.location.as_deref().unwrap_or("an unknown location"),
                        x.path
                    )
                })
                .collect();
            let _ = writeln!(
                s,
                ">\n      <failure message=\"{}\">{}</failure>\n    </testcase>",
                xml(&run_crashes(r)),
                xml(&detail.join("\n"))
            );
        } else {
            let _ = writeln!(s, "/>");
        }
    }
    let _ = writeln!(s, "  </testsuite>\n</testsuites>");
    s
}

/// One self-contained page: crash rates with their intervals, the timeline of runs, the tables.
pub fn html_page(c: &CampaignReport, generated: &str) -> String {
    let names = c.names();
    let mut body = String::new();
    if let CampaignSummary::Compare(cmp) = &c.summary {
        let _ = writeln!(
            body,
            "<div class=\"verdict{}\">{}</div>",
            if cmp.significant { " strong" } else { "" },
            html::escape(&cmp.verdict)
        );
    }
    let stats = c.stats();
    let bars: Vec<html::RateBar> = stats
        .iter()
        .map(|st| html::RateBar {
            label: &st.name,
            rate: st.rate.unwrap_or(0.0),
            interval: st.upper_bound_if_none.map(|u| [0.0, u]).or(st.interval),
            text: format!(
                "{}/{} ({})",
                st.crashed_runs,
                st.runs,
                st.rate.map_or_else(|| "—".to_owned(), percent)
            ),
        })
        .collect();
    let _ = writeln!(
        body,
        "<h2>Crash rate</h2>\n<p>Bars: runs with a new crash report. Whiskers: the 95% interval \
         (Wilson; with no crash, the one-sided 95% upper bound).</p>\n{}",
        html::rate_chart(&bars)
    );
    for st in &stats {
        let _ = writeln!(
            body,
            "<p><b>{}</b>: {}</p>",
            html::escape(&st.name),
            html::escape(&st.words)
        );
    }
    for st in &stats {
        for i in &st.injected {
            let _ = writeln!(
                body,
                "<p><b>{}</b> injected {}</p>",
                html::escape(&st.name),
                html::escape(&i.words)
            );
        }
    }
    let cells: Vec<html::Cell> = c
        .runs
        .iter()
        .map(|r| html::Cell {
            row: r.config,
            index: r.index,
            crashed: r.crashed(),
            command_failed: !r.passed(),
            tooltip: format!(
                "run {} ({}): exit {}, {}; {}",
                r.index,
                names.get(r.config).map_or("", String::as_str),
                exit_text(r),
                seconds(r.duration_ms),
                run_crashes(r)
            ),
        })
        .collect();
    let rows: Vec<&str> = names.iter().map(String::as_str).collect();
    let _ = writeln!(
        body,
        "<h2>Timeline</h2>\n<p>Each square is one run, in the order they ran.</p>\n{}",
        html::timeline(&rows, &cells)
    );
    let _ = writeln!(
        body,
        "<h2>Configurations</h2>\n<div class=\"wide\"><table><tr><th>configuration</th><th>environment</th><th>runs</th>\
         <th>crashed runs</th><th>rate</th><th>95% interval</th><th>new crash logs</th><th>command passed</th></tr>"
    );
    for (st, cfg) in stats.iter().zip(&c.configs) {
        let _ = writeln!(
            body,
            "<tr><td>{}</td><td class=\"w\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>\
             <td class=\"n\">{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}/{}</td></tr>",
            html::escape(&st.name),
            if cfg.env.is_empty() {
                "(as is)".to_owned()
            } else {
                cfg.env
                    .iter()
                    .map(|e| format!("<code>{}</code>", html::escape(e)))
                    .collect::<Vec<_>>()
                    .join(" ")
            },
            st.runs,
            st.crashed_runs,
            st.rate.map_or_else(|| "—".to_owned(), percent),
            html::escape(&interval_text(st)),
            st.new_crash_logs,
            st.passed_runs,
            st.runs
        );
    }
    body.push_str("</table></div>\n");
    let any_signature = stats.iter().any(|st| !st.by_signature.is_empty());
    if any_signature {
        body.push_str(
            "<h2>Signatures</h2>\n<div class=\"wide\"><table><tr><th>configuration</th><th>location</th><th>signature</th>\
             <th>rule</th><th>known</th><th>reports</th><th>runs</th></tr>\n",
        );
        for st in &stats {
            for g in &st.by_signature {
                let _ = writeln!(
                    body,
                    "<tr><td>{}</td><td class=\"w\"><code>{}</code></td><td class=\"k\"><code title=\"{}\">{}</code></td><td class=\"w\">{}</td><td>{}</td>\
                     <td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                    html::escape(&st.name),
                    html::escape(g.location.as_deref().unwrap_or("?")),
                    html::escape(&g.signature),
                    html::escape(&g.signature_id),
                    html::escape(&g.rule),
                    super::known_count_cell(g.known, g.regressions),
                    g.reports,
                    g.runs
                );
            }
        }
        body.push_str("</table></div>\n");
    }
    if stats.iter().any(|st| !st.by_test.is_empty()) {
        body.push_str(
            "<h2>Tests</h2>\n<p>The test each crash was joined with (the test runner's output: \
             docs/tests.md).</p>\n<div class=\"wide\"><table><tr><th>configuration</th><th>test</th>\
             <th>crashed runs</th><th>reports</th><th>crash</th></tr>\n",
        );
        for st in &stats {
            for t in &st.by_test {
                let _ = writeln!(
                    body,
                    "<tr><td>{}</td><td class=\"w\"><code>{}</code></td><td class=\"n\">{}/{}</td>\
                     <td class=\"n\">{}</td><td class=\"w\">{}</td></tr>",
                    html::escape(&st.name),
                    html::escape(&t.test),
                    t.crashed_runs,
                    t.runs,
                    t.reports,
                    html::escape(&rules_text(t))
                );
            }
        }
        body.push_str("</table></div>\n");
    }
    body.push_str(
        "<h2>Runs</h2>\n<div class=\"wide\"><table><tr><th>run</th><th>configuration</th><th>exit</th><th>duration</th>\
         <th>new crashes</th><th>concurrent</th></tr>\n",
    );
    for r in &c.runs {
        let _ = writeln!(
            body,
            "<tr><td class=\"n\">{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"w\">{}</td><td class=\"n\">{}</td></tr>",
            r.index,
            html::escape(names.get(r.config).map_or("", String::as_str)),
            html::escape(&exit_text(r)),
            seconds(r.duration_ms),
            html::escape(&run_crashes(r)),
            r.concurrent
        );
    }
    body.push_str("</table></div>\n");
    if let Some(why) = &c.stopped {
        let _ = writeln!(body, "<p>Stopped early: {}.</p>", html::escape(why));
    }
    for d in c.drift() {
        let _ = writeln!(
            body,
            "<p><strong>Warning</strong>: {}.</p>",
            html::escape(&d)
        );
    }
    let title = match &c.summary {
        CampaignSummary::Repeat(_) => "crashdelta: stress campaign",
        CampaignSummary::Compare(_) => "crashdelta: A/B comparison",
    };
    html::page(
        title,
        &format!(
            "<code>{}</code> · {} runs · {}",
            html::escape(&c.command.join(" ")),
            c.runs.len(),
            html::escape(generated)
        ),
        &body,
    )
}

/// Writes the `crashdelta.stats/1` JSON document of a breakdown, pretty-printed, with a trailing
/// newline.
pub fn stats_json(out: &mut dyn Write, r: &StatsReport) -> io::Result<()> {
    let doc = serde_json::json!({
        "schema": STATS_SCHEMA,
        "tool": Tool::this(),
        "inputs": r.inputs,
        "crashes": r.crashes,
        "skipped": r.skipped,
        "rows": r.rows,
        "runs": r.runs,
        "by_test": r.by_test,
    });
    serde_json::to_writer_pretty(&mut *out, &doc).map_err(io::Error::other)?;
    writeln!(out)?;
    out.flush()
}

fn opt(s: &Option<String>) -> &str {
    s.as_deref().unwrap_or("?")
}

fn day(s: &Option<String>) -> &str {
    s.as_deref().and_then(|t| t.get(..10)).unwrap_or("?")
}

/// The breakdown for the terminal: a table with a row per group (dates without times, `?` for what
/// a report does not say), then the totals; `width` as [`Style::width`](super::Style::width).
pub fn stats_human(r: &StatsReport, width: Option<u16>) -> String {
    let mut table = super::table(
        width,
        &[
            "crashes",
            "location",
            "signature",
            "rule",
            "OS build",
            "driver",
            "model",
            "first",
            "last",
        ],
    );
    for row in &r.rows {
        table.add_row([
            row.count.to_string(),
            opt(&row.location).to_owned(),
            row.signature_id.clone(),
            row.rule.clone(),
            opt(&row.os_build).to_owned(),
            row.driver_label(),
            opt(&row.hardware_model).to_owned(),
            day(&row.first_seen).to_owned(),
            day(&row.last_seen).to_owned(),
        ]);
    }
    let mut s = Lines::new();
    s.table(&table);
    s.line(format_args!(
        "{} crash(es) in {} input(s); {} skipped (not crash reports or unreadable)",
        r.crashes, r.inputs, r.skipped
    ));
    if !r.by_test.is_empty() {
        s.line(format_args!(
            "By test, over the {} run(s) of the run records:",
            r.runs
        ));
        for t in &r.by_test {
            s.line(format_args!("  {}", t.words));
        }
    }
    s.into_string()
}

/// The breakdown as a Markdown section: a heading with the totals, then a table with a row per
/// group.
pub fn stats_markdown(r: &StatsReport) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "## Crashes by signature, OS build, driver and model\n\n{} crash(es) in {} input(s).\n",
        r.crashes, r.inputs
    );
    let _ = writeln!(
        s,
        "| crashes | location | signature | rule | OS build | driver | model | first seen | last seen |\n|---:|---|---|---|---|---|---|---|---|"
    );
    for row in &r.rows {
        let _ = writeln!(
            s,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            row.count,
            markdown::cell_code(opt(&row.location)),
            markdown::cell_code(&row.signature_id),
            markdown::inline(&row.rule),
            markdown::inline(opt(&row.os_build)),
            markdown::inline(&row.driver_label()),
            markdown::inline(opt(&row.hardware_model)),
            day(&row.first_seen),
            day(&row.last_seen)
        );
    }
    if !r.by_test.is_empty() {
        let _ = writeln!(
            s,
            "\n### By test\n\nOver the {} run(s) of the run records.\n\n\
             | test | crashed runs | reports | crash |\n|---|---:|---:|---|",
            r.runs
        );
        for t in &r.by_test {
            let _ = writeln!(
                s,
                "| {} | {}/{} | {} | {} |",
                markdown::cell_code(&t.test),
                t.crashed_runs,
                t.runs,
                t.reports,
                markdown::inline(&rules_text(t))
            );
        }
    }
    s
}

/// The breakdown as one self-contained HTML page: a bar per group, coloured by signature, then the
/// table; `generated` (when it was made) is printed under the title.
pub fn stats_html(r: &StatsReport, generated: &str) -> String {
    let mut groups: Vec<&str> = Vec::new();
    let bars: Vec<html::CountBar> = r
        .rows
        .iter()
        .map(|row| {
            let group = match groups.iter().position(|g| *g == row.signature_id) {
                Some(i) => i,
                None => {
                    groups.push(&row.signature_id);
                    groups.len() - 1
                }
            };
            html::CountBar {
                // A bar's label has room for a few words: the driver's version alone (the
                // tooltip and the table name it whole).
                label: format!(
                    "{} · {} · {} · {}",
                    row.rule,
                    opt(&row.os_build),
                    row.driver
                        .as_ref()
                        .and_then(|d| d.version.as_deref())
                        .unwrap_or("?"),
                    opt(&row.hardware_model)
                ),
                count: row.count,
                group,
                series: row.signature_id.clone(),
                tooltip: format!(
                    "{}: {} crash(es) on {} (driver {}, {}), {} to {}",
                    row.signature,
                    row.count,
                    opt(&row.os_build),
                    row.driver_label(),
                    opt(&row.hardware_model),
                    day(&row.first_seen),
                    day(&row.last_seen)
                ),
            }
        })
        .collect();
    let mut body = format!(
        "<h2>Crashes by signature × OS build × driver × model</h2>\n<p>One bar per combination, \
         coloured by signature; a crash that started with one OS build shows as a new bar there.</p>\n{}\n",
        html::count_chart(&bars)
    );
    body.push_str(
        "<div class=\"wide\"><table><tr><th>crashes</th><th>location</th><th>signature</th><th>rule</th><th>OS build</th>\
         <th>driver</th><th>model</th><th>first seen</th><th>last seen</th></tr>\n",
    );
    for row in &r.rows {
        let _ = writeln!(
            body,
            "<tr><td class=\"n\">{}</td><td class=\"w\"><code>{}</code></td><td class=\"k\"><code title=\"{}\">{}</code></td>\
             <td class=\"w\">{}</td><td>{}</td><td class=\"w\">{}</td><td class=\"w\">{}</td><td class=\"k\">{}</td><td class=\"k\">{}</td></tr>",
            row.count,
            html::escape(opt(&row.location)),
            html::escape(&row.signature),
            html::escape(&row.signature_id),
            html::escape(&row.rule),
            html::escape(opt(&row.os_build)),
            html::escape(&row.driver_label()),
            html::escape(opt(&row.hardware_model)),
            day(&row.first_seen),
            day(&row.last_seen)
        );
    }
    body.push_str("</table></div>\n");
    if !r.by_test.is_empty() {
        let _ = writeln!(
            body,
            "<h2>By test</h2>\n<p>Over the {} run(s) of the run records.</p>\n<div class=\"wide\"><table><tr>\
             <th>test</th><th>crashed runs</th><th>reports</th><th>crash</th></tr>",
            r.runs
        );
        for t in &r.by_test {
            let _ = writeln!(
                body,
                "<tr><td class=\"w\"><code>{}</code></td><td class=\"n\">{}/{}</td><td class=\"n\">{}</td>\
                 <td class=\"w\">{}</td></tr>",
                html::escape(&t.test),
                t.crashed_runs,
                t.runs,
                t.reports,
                html::escape(&rules_text(t))
            );
        }
        body.push_str("</table></div>\n");
    }
    html::page(
        "crashdelta: crash statistics",
        &format!(
            "{} crash(es) in {} input(s) · {}",
            r.crashes,
            r.inputs,
            html::escape(generated)
        ),
        &body,
    )
}
