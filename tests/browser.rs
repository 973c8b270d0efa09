//! The HTML pages in a real headless browser (issue 15): the real binary writes `stats`,
//! `compare` and `watch --repeat` pages from realistic inputs (the test corpus's many rules and
//! long symbols, rule ids of a team's length, configurations with long names and a long
//! environment, a campaign too short to be wider than its legend), and Chromium lays each out in
//! a 1280 px and a 390 px (phone) window. `tests/browser/layout-check.js`, injected into a copy of
//! the page, measures what the browser drew: the page never scrolls sideways, tables and charts
//! fit the column or scroll in their own box (never on the wide window), no label or legend is cut
//! by its chart or sits on another, and no two series share a colour. A screenshot of each page at
//! each width is left in `target/tmp/browser-check/` to look at.
//!
//! The browser: `$CRASHDELTA_BROWSER`, else the first of chromium, google-chrome (and kin) on the
//! PATH or in macOS's Applications folder. Without one the tests say they were skipped, unless
//! `CRASHDELTA_REQUIRE_BROWSER` is set, when they fail: `.ci/run` sets it, after
//! `.ci/install-browser` has installed Debian's chromium on a machine that had no browser.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{RACE, crashdelta, root, stderr, wait_for};

/// The check the page runs; it writes its verdict into a `<pre>` of this id.
const CHECK: &str = include_str!("browser/layout-check.js");
const VERDICT_ID: &str = "crashdelta-layout-verdict";

/// A desktop window and a phone's.
const WIDTHS: [u32; 2] = [1280, 390];

/// The tallest screenshot taken: enough for every page here.
const MAX_HEIGHT: u64 = 8000;

/// The browser, or `None` (the test is skipped) when there is none and none is required.
fn browser() -> Option<PathBuf> {
    let found = std::env::var_os("CRASHDELTA_BROWSER")
        .map(PathBuf::from)
        .or_else(|| {
            // chromium-browser last: on Ubuntu it may be the stub that asks for the snap.
            let names = [
                "chromium",
                "google-chrome",
                "google-chrome-stable",
                "chrome",
                "chromium-browser",
            ];
            let path = std::env::var_os("PATH").unwrap_or_default();
            let dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
            names
                .iter()
                .flat_map(|n| dirs.iter().map(move |d| d.join(n)))
                .chain([
                    PathBuf::from("/Applications/Google Chrome.app/Contents/MacOS/Google Chrome"),
                    PathBuf::from("/Applications/Chromium.app/Contents/MacOS/Chromium"),
                ])
                .find(|p| p.is_file())
        });
    if found.is_some() {
        return found;
    }
    assert!(
        std::env::var_os("CRASHDELTA_REQUIRE_BROWSER").is_none(),
        "no Chromium or Chrome found and CRASHDELTA_REQUIRE_BROWSER is set: install one \
         (Debian: apt-get install chromium) or name it in CRASHDELTA_BROWSER"
    );
    // Straight to standard error: the test harness captures eprintln! of a passing test, and a
    // skip must be seen.
    let _ = writeln!(
        std::io::stderr(),
        "skipped: no Chromium or Chrome found (Debian: apt-get install chromium; or set \
         CRASHDELTA_BROWSER); the HTML pages' layout was not checked"
    );
    None
}

/// Escapes `s` for a double-quoted attribute (the page goes into an iframe's `srcdoc`).
fn attribute(s: &str) -> String {
    s.replace('&', "&amp;").replace('"', "&quot;")
}

/// A page holding `page` in an iframe `width` px wide and `height` px tall: a headless window is
/// at least 500 px wide, an iframe is as narrow as asked, and the page inside lays out (media
/// queries included) as in a window of its width.
fn framed(page: &str, width: u32, height: u64) -> String {
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><style>html,body{{margin:0;\
         background:#8c959f}}iframe{{display:block;border:0;background:#fff}}</style></head>\
         <body><iframe width=\"{width}\" height=\"{height}\" srcdoc=\"{}\"></iframe></body></html>",
        attribute(page)
    )
}

/// Runs the browser headless on `file` with `args`; returns what it printed on standard output.
fn run(browser: &Path, dir: &Path, file: &Path, args: &[String]) -> String {
    let profile = tempfile::tempdir_in(dir).unwrap();
    let (out, err) = (dir.join("stdout"), dir.join("stderr"));
    // Headless, with nothing that reaches for the network (a closed network refuses it, slowly)
    // and no sandbox (CI runs as root, which Chromium's sandbox refuses).
    let mut child = Command::new(browser)
        .args([
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-default-apps",
            "--disable-sync",
            "--disable-extensions",
            "--hide-scrollbars",
            "--force-device-scale-factor=1",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .args(args)
        .arg(format!("file://{}", file.display()))
        .stdin(Stdio::null())
        .stdout(File::create(&out).unwrap())
        .stderr(File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let (status, took) = wait_for(&mut child, Duration::from_secs(120));
    let printed = std::fs::read_to_string(&out).unwrap_or_default();
    assert!(
        status.is_some_and(|s| s.success()),
        "{} {args:?} failed ({status:?} after {took:?}): {}",
        browser.display(),
        std::fs::read_to_string(&err).unwrap_or_default()
    );
    printed
}

/// Lays `page` out in `browser` at each width, checks it, saves the screenshots; panics with
/// every problem.
fn check(browser: &Path, name: &str, page: &str) {
    let shots = Path::new(env!("CARGO_TARGET_TMPDIR")).join("browser-check");
    std::fs::create_dir_all(&shots).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let script = format!("<script>{CHECK}</script></body>");
    assert!(page.contains("</body>"), "{name}: not a page:\n{page}");
    let checked = page.replacen("</body>", &script, 1);
    let mut report = Vec::new();
    for width in WIDTHS {
        let file = dir.path().join(format!("{name}-{width}-check.html"));
        std::fs::write(&file, framed(&checked, width, 900)).unwrap();
        let window = format!("--window-size={},900", width.max(500));
        let dom = run(browser, dir.path(), &file, &[window, "--dump-dom".into()]);
        let open = format!("<pre id=\"{VERDICT_ID}\">");
        let json = dom
            .split_once(&open)
            .and_then(|(_, rest)| rest.split_once("</pre>"))
            .map(|(json, _)| json)
            .unwrap_or_else(|| panic!("{name} at {width} px: no verdict in the page:\n{dom}"));
        let verdict: serde_json::Value = serde_json::from_str(json).unwrap();
        // The check measured the page it was meant to: at the width asked, with its charts.
        assert_eq!(verdict["width"], width, "{name}: {verdict}");
        let measured = &verdict["measured"];
        for what in ["charts", "labels", "tables", "series"] {
            assert!(
                measured[what].as_u64().unwrap_or(0) > 0,
                "{name}: no {what} measured: {verdict}"
            );
        }
        let height = verdict["height"].as_u64().unwrap_or(900).min(MAX_HEIGHT);
        let file = dir.path().join(format!("{name}-{width}.html"));
        std::fs::write(&file, framed(page, width, height)).unwrap();
        let png = shots.join(format!("{name}-{width}.png"));
        run(
            browser,
            dir.path(),
            &file,
            &[
                format!("--window-size={width},{height}"),
                format!("--screenshot={}", png.display()),
            ],
        );
        let problems = verdict["problems"].as_array().cloned().unwrap_or_default();
        for p in &problems {
            report.push(format!(
                "  {width} px, {}: {}: {}",
                p["kind"].as_str().unwrap_or("?"),
                p["what"].as_str().unwrap_or("?"),
                p["detail"].as_str().unwrap_or("?")
            ));
        }
        eprintln!(
            "{name} at {width} px: {} problem(s), measured {measured}; screenshot {}",
            problems.len(),
            png.display()
        );
    }
    assert!(
        report.is_empty(),
        "{name}: {} layout problem(s) (screenshots in {}):\n{}",
        report.len(),
        shots.display(),
        report.join("\n")
    );
}

/// `stats --format html` over `args`.
fn stats(args: &[&str]) -> String {
    let out = crashdelta()
        .args(["stats", "--format", "html"])
        .args(args)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    String::from_utf8(out.stdout).unwrap()
}

#[test]
fn stats_of_the_whole_corpus() {
    let Some(browser) = browser() else { return };
    // Every report of the corpus: some 70 crashes, 60 combinations, 20 rules, 50 signatures (more
    // than any palette), locations of 150 characters (an Xcode path, an Objective-C selector).
    check(&browser, "stats-corpus", &stats(&["testdata"]));
}

/// A team's rules with ids as long as teams write them, each for a kind of crash of the corpus.
const TEAM_RULES: &str = r#"
[[rule]]
id = "team-mps-graph-executable-use-after-free-under-torch-compile-FB15234567"
title = "Our MPSGraph executable freed while still encoding"
family = "metal"
known = true
[rule.when]
exception = ["EXC_BAD_ACCESS", "SIGSEGV"]
process = '^(Python|python3\.\d+)$'

[[rule]]
id = "team-abort-in-the-ios-app-after-a-failed-assertion-in-the-networking-layer"
title = "An assertion of our networking layer"
family = "other"
[rule.when]
exception = ["EXC_CRASH", "SIGABRT"]

[[rule]]
id = "team_bad_access_in_an_application_binary_with_a_long_underscored_rule_identifier"
title = "Any other bad access"
family = "other"
[rule.when]
exception = ["EXC_BAD_ACCESS", "SIGSEGV", "SIGBUS"]

[[rule]]
id = "team-breakpoint-trap-in-swift-runtime-failure-or-rust-panic-with-a-long-id"
title = "A trap"
family = "other"
[rule.when]
exception = ["EXC_BREAKPOINT", "SIGTRAP", "EXC_BAD_INSTRUCTION", "SIGILL"]
"#;

#[test]
fn stats_with_long_rule_ids() {
    let Some(browser) = browser() else { return };
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("team.toml");
    std::fs::write(&rules, TEAM_RULES).unwrap();
    let page = stats(&["--rules", rules.to_str().unwrap(), "testdata"]);
    assert!(page.contains("team-mps-graph-executable-use-after-free"));
    check(&browser, "stats-long-rule-ids", &page);
}

/// A campaign of the fake flaky test (demo/flaky_stress_test.sh, as tests/campaign.rs runs it):
/// `args` then its command.
fn campaign(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let (reports, state) = (dir.path().join("reports"), dir.path().join("state"));
    std::fs::create_dir(&reports).unwrap();
    std::fs::create_dir(&state).unwrap();
    let page = dir.path().join("page.html");
    let out = crashdelta()
        .env("REPORTS", &reports)
        .env("STATE", &state)
        .env("RACE", root().join(RACE))
        .env("SEED", "2026")
        .env("CRASH_P", "0.5")
        .env_remove("STRESS_FIX")
        .args(args)
        .args(["--reports-dir", reports.to_str().unwrap()])
        .args(["--settle", "0.3s", "--settle-max", "5s", "--format", "html"])
        .args(["--output", page.to_str().unwrap()])
        .args(["--", "sh", "demo/flaky_stress_test.sh"])
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap();
    // 86: a run crashed (the gate); the page is written either way.
    assert!(
        matches!(out.status.code(), Some(0 | 86)),
        "{}",
        stderr(&out)
    );
    std::fs::read_to_string(page).unwrap()
}

#[test]
fn comparison_with_long_names() {
    let Some(browser) = browser() else { return };
    let page = campaign(&[
        "compare",
        "--runs",
        "6",
        "--a-name",
        "baseline: torch 2.6.0.dev20251120 nightly with the MPS backend, \
         PYTORCH_ENABLE_MPS_FALLBACK unset",
        "--b-name",
        "with the encoder serialization fix injected (DYLD_INSERT_LIBRARIES)",
        "--b-env",
        "STRESS_FIX=1",
        "--b-env",
        "DYLD_INSERT_LIBRARIES=/opt/homebrew/lib/python3.12/site-packages/torch/lib/\
         libtorch_mps_encoder_serialization_fix.dylib",
    ]);
    check(&browser, "compare-long-names", &page);
}

#[test]
fn short_campaign() {
    let Some(browser) = browser() else { return };
    // Two runs: the timeline is narrower than its legend.
    check(
        &browser,
        "repeat-short",
        &campaign(&["watch", "--repeat", "2"]),
    );
}

/// `history --format html` of the fixed history (three weeks of runs on two machines, a crash
/// a year earlier: a break in the time chart).
#[test]
fn history_page() {
    let Some(browser) = browser() else { return };
    let dir = tempfile::tempdir().unwrap();
    let h = common::history_fixture(dir.path());
    let out = crashdelta()
        .args(["history", "--format", "html", "--until", "2026-11-29"])
        .arg(&h)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    check(&browser, "history", &String::from_utf8(out.stdout).unwrap());
    let days = crashdelta()
        .args([
            "history",
            "--format",
            "html",
            "--by",
            "day",
            "--until",
            "2026-11-29",
        ])
        .arg(&h)
        .output()
        .unwrap();
    check(
        &browser,
        "history-by-day",
        &String::from_utf8(days.stdout).unwrap(),
    );
}
