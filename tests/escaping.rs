//! Hostile reports, end to end: a report (and its file name) full of terminal escapes, CI-log
//! commands, bidi overrides, backticks, raw HTML and Markdown, run through every command that
//! writes for people or for Markdown, with the real binary.
//!
//! Human output (standard output and standard error) must hold no ESC, no carriage return, no
//! C1 control and no bidi control, and no line may start with `::` (a GitHub Actions workflow
//! command); the hostile text must still be there, escaped, so the test knows each field was
//! printed at all. Markdown is parsed with a CommonMark parser: the only headings, code blocks,
//! HTML and table rows are the writer's own, and the hostile text comes out as literal text.
//! The last test reads `src/cli` so that no stderr line bypasses the escaping.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use assert_cmd::Command;
use common::{RACE, root};
use pulldown_cmark::{CodeBlockKind, Event, HeadingLevel, Options, Parser, Tag, TagEnd};

/// Everything a report could use against a terminal, a CI log or a Markdown page.
const HOSTILE: &str = "\u{1b}]0;pwned\u{7}\u{1b}[2J\n::error::owned\r::add-mask::x\u{9b}31m\u{202e}txt.exe\u{2066} ```` <img src=x onerror=alert(1)> <details>\n# heading\n](http://evil) [link](http://evil) ![i](http://evil/i.png) *em* _u_ | cell | &amp; \\";

/// The hostile file name: the same, less what a file name cannot hold.
const HOSTILE_NAME: &str = "Python\u{1b}]0;pwned\u{7}\n::error::file\r\u{9b}\u{202e}```<img src=x>#](javascript:alert(1)).ips";

/// A file that cannot be read, named to start a workflow command.
const GARBAGE_NAME: &str = "garbage\n::error::garbage\u{1b}[2J.ips";

/// How a person sees `GARBAGE_NAME`.
const GARBAGE_SHOWN: &str = "garbage\\n::error::garbage\\e[2J.ips";

/// The race report with `HOSTILE` in every field a person reads: process, parent, responsible
/// process and path, thread names and queues, every symbol, the exception, the termination and
/// the application-specific information.
fn hostile_report(pid: u64) -> String {
    let text = std::fs::read_to_string(root().join(RACE)).unwrap();
    let (header, body) = text.split_once('\n').unwrap();
    let mut header: serde_json::Value = serde_json::from_str(header).unwrap();
    let mut body: serde_json::Value = serde_json::from_str(body).unwrap();
    let h = |s: &str| format!("{s}{HOSTILE}");
    header["name"] = h("Python").into();
    header["app_name"] = h("Python").into();
    body["pid"] = pid.into();
    for key in ["procName", "parentProc", "responsibleProc", "procPath"] {
        body[key] = h("Python").into();
    }
    body["modelCode"] = h("Mac16,5").into();
    body["exception"]["subtype"] = h("KERN_INVALID_ADDRESS at 0x0000000000000098 ").into();
    body["exception"]["message"] = h("message ").into();
    body["termination"]["indicator"] = h("Segmentation fault: 11 ").into();
    body["asi"] = serde_json::json!({ "libsystem_c.dylib": [h("assertion ")] });
    for thread in body["threads"].as_array_mut().unwrap() {
        thread["name"] = h("worker").into();
        thread["queue"] = h("queue").into();
        for frame in thread["frames"].as_array_mut().unwrap() {
            if let Some(symbol) = frame["symbol"].as_str() {
                frame["symbol"] = format!("{symbol}{HOSTILE}").into();
            }
        }
    }
    format!("{header}\n{}", serde_json::to_string_pretty(&body).unwrap())
}

/// A temp folder; [`drop_reports`] puts the hostile report in it under the hostile name, and an
/// unreadable file under another hostile name.
struct Lab {
    _dir: tempfile::TempDir,
    dir: PathBuf,
    reports: PathBuf,
}

fn lab() -> Lab {
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("DiagnosticReports");
    std::fs::create_dir(&reports).unwrap();
    Lab {
        dir: dir.path().to_path_buf(),
        _dir: dir,
        reports,
    }
}

fn drop_reports(into: &Path) {
    std::fs::write(into.join(HOSTILE_NAME), hostile_report(81920)).unwrap();
    // Over the 64 MiB limit (sparse: nothing is written), so it cannot be read: an error that
    // names the file.
    std::fs::File::create(into.join(GARBAGE_NAME))
        .unwrap()
        .set_len(65 << 20)
        .unwrap();
}

fn run(args: &[&str]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crashdelta"));
    cmd.current_dir(root())
        .args(args)
        .timeout(Duration::from_secs(60));
    cmd.output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).unwrap()
}

/// What must hold of anything crashdelta prints for a person (or that a CI log shows).
fn assert_inert(what: &str, out: &str) {
    for (i, c) in out.char_indices() {
        let bad = (c.is_control() && c != '\n')
            || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}');
        assert!(
            !bad,
            "{what}: {c:?} at byte {i}: …{}…",
            out.get(i.saturating_sub(60)..i).unwrap_or("")
        );
    }
    for line in out.lines() {
        assert!(
            !line.trim_start().starts_with("::"),
            "{what}: a line starts a workflow command: {line}"
        );
    }
}

/// Human output: inert, and the hostile text was printed (escaped), as much as `fields` says.
fn assert_human(what: &str, out: &str, fields: usize) {
    assert_inert(what, out);
    // `pwned` is short enough that a table cell's wrapping seldom splits it.
    let shown = out.matches("pwned").count();
    assert!(
        shown >= fields,
        "{what}: the hostile text is shown {shown} times, expected at least {fields}:\n{out}"
    );
}

/// What a Markdown document is made of, as a CommonMark (GFM tables) parser reads it.
#[derive(Default, Debug)]
struct Parsed {
    headings: Vec<(HeadingLevel, String)>,
    code_blocks: Vec<String>,
    html: Vec<String>,
    links: Vec<String>,
    rows: Vec<usize>,
    text: String,
}

fn parse(md: &str) -> Parsed {
    let mut p = Parsed::default();
    let mut heading: Option<(HeadingLevel, String)> = None;
    let mut block: Option<String> = None;
    let mut cells = 0;
    for event in Parser::new_ext(md, Options::ENABLE_TABLES | Options::ENABLE_STRIKETHROUGH) {
        match event {
            Event::Start(Tag::Heading { level, .. }) => heading = Some((level, String::new())),
            Event::End(TagEnd::Heading(_)) => p.headings.extend(heading.take()),
            Event::Start(Tag::CodeBlock(kind)) => {
                assert!(
                    matches!(kind, CodeBlockKind::Fenced(ref info) if info.is_empty()),
                    "{kind:?}"
                );
                block = Some(String::new());
            }
            Event::End(TagEnd::CodeBlock) => p.code_blocks.extend(block.take()),
            Event::Html(h) | Event::InlineHtml(h) => p.html.push(h.to_string()),
            Event::Start(Tag::Link { dest_url, .. })
            | Event::Start(Tag::Image { dest_url, .. }) => p.links.push(dest_url.to_string()),
            Event::Start(Tag::TableRow) | Event::Start(Tag::TableHead) => cells = 0,
            Event::Start(Tag::TableCell) => cells += 1,
            Event::End(TagEnd::TableRow) | Event::End(TagEnd::TableHead) => p.rows.push(cells),
            Event::Text(t) | Event::Code(t) => {
                if let Some(b) = block.as_mut() {
                    b.push_str(&t);
                } else if let Some((_, h)) = heading.as_mut() {
                    h.push_str(&t);
                }
                p.text.push_str(&t);
                p.text.push('\n');
            }
            _ => {}
        }
    }
    assert!(block.is_none(), "a code block is never closed:\n{md}");
    p
}

/// A Markdown crash section: headings `## …` and `### <process>: …`, one fenced block per crash
/// whose lines are all `Label: value`, table rows of one width, no HTML but `allowed_html`, no
/// link or image, and the hostile text shown literally.
fn assert_markdown(what: &str, md: &str, crashes: usize, allowed_html: &[&str]) {
    let p = parse(md);
    assert!(
        p.html
            .iter()
            .all(|h| allowed_html.iter().any(|a| h.starts_with(a))),
        "{what}: raw HTML {:?}\n{md}",
        p.html
    );
    assert!(p.links.is_empty(), "{what}: links {:?}\n{md}", p.links);
    for (level, h) in &p.headings {
        assert!(
            *level == HeadingLevel::H2
                || (*level == HeadingLevel::H3
                    && (h.starts_with("Python") || h == "Inputs that could not be read")),
            "{what}: a heading the writer did not write: {level:?} {h:?}\n{md}"
        );
    }
    assert_eq!(p.code_blocks.len(), crashes, "{what}:\n{md}");
    for b in &p.code_blocks {
        for line in b.lines() {
            let label = line.split_once(": ").map_or("", |(l, _)| l);
            assert!(
                [
                    "Exception",
                    "Location",
                    "Trigger",
                    "Handler",
                    "Read from",
                    "Racing"
                ]
                .contains(&label),
                "{what}: a line in the block that is not the writer's: {line:?}\n{md}"
            );
        }
    }
    if let Some(first) = p.rows.first() {
        assert!(
            p.rows.iter().all(|n| n == first),
            "{what}: rows {:?}\n{md}",
            p.rows
        );
    }
    assert!(
        p.text.contains("<img src=x onerror=alert(1)>") && p.text.contains("](http://evil)"),
        "{what}: the hostile text is not shown as text:\n{}",
        p.text
    );
    assert!(
        !md.contains('\u{1b}') && !md.contains('\r'),
        "{what}:\n{md}"
    );
}

/// A folder holding the hostile report and the unreadable file.
fn hostile_folder() -> Lab {
    let lab = lab();
    drop_reports(&lab.reports);
    lab
}

// C1: human output.

#[test]
fn classify_table_and_its_stderr_summary_are_inert() {
    let lab = hostile_folder();
    let folder = lab.reports.to_str().unwrap();
    let out = run(&["classify", folder, "--fail-on", "any"]);
    assert_eq!(out.status.code(), Some(86), "{}", text(&out.stderr));
    assert_human("classify table", &text(&out.stdout), 6);
    assert_inert("classify stderr", &text(&out.stderr));

    // With the document in a file, a summary line on standard error quotes the gate's reason,
    // which names the file.
    let md_file = lab.dir.join("out.md");
    let out = run(&[
        "classify",
        folder,
        "--fail-on",
        "any",
        "--format",
        "markdown",
        "--output",
        md_file.to_str().unwrap(),
    ]);
    assert_human("classify summary", &text(&out.stderr), 1);
}

#[test]
fn show_is_inert() {
    let lab = hostile_folder();
    let file = lab.reports.join(HOSTILE_NAME);
    let out = run(&["show", file.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_human("show", &text(&out.stdout), 25);
    assert_inert("show stderr", &text(&out.stderr));
}

#[test]
fn stats_table_and_its_warnings_are_inert() {
    let lab = hostile_folder();
    let out = run(&["stats", lab.reports.to_str().unwrap()]);
    assert_human("stats table", &text(&out.stdout), 2);
    // The unreadable file is named on standard error.
    assert_inert("stats stderr", &text(&out.stderr));
    assert!(
        text(&out.stderr).contains(GARBAGE_SHOWN),
        "{}",
        text(&out.stderr)
    );
}

/// A folder inventoried empty, then given the hostile reports: what `diff` finds.
fn diff_lab() -> (Lab, PathBuf) {
    let lab = lab();
    let before = lab.dir.join("before.json");
    let out = run(&[
        "snapshot",
        "--reports-dir",
        lab.reports.to_str().unwrap(),
        "--output",
        before.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    drop_reports(&lab.reports);
    (lab, before)
}

#[test]
fn diff_summary_is_inert() {
    let (_lab, before) = diff_lab();
    let out = run(&["diff", before.to_str().unwrap(), "--fail-on", "any"]);
    assert_human("diff summary", &text(&out.stderr), 5);
    assert_inert("diff stdout", &text(&out.stdout));
}

/// `watch` with the report dropped into the folder during the run, under its hostile name;
/// the folder is emptied afterwards, so that each run finds it new.
fn watch(lab: &Lab, extra: &[&str]) -> Output {
    let source = lab.dir.join("hostile.ips");
    std::fs::write(&source, hostile_report(81920)).unwrap();
    let script = r#"sed "s/\"pid\": 81920/\"pid\": $$/" "$SOURCE" > "$REPORTS/$NAME"; exit 0"#;
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_crashdelta"));
    cmd.current_dir(root())
        .env("REPORTS", &lab.reports)
        .env("SOURCE", &source)
        .env("NAME", HOSTILE_NAME)
        .args([
            "watch",
            "--reports-dir",
            lab.reports.to_str().unwrap(),
            "--settle",
            "1s",
            "--settle-max",
            "5s",
        ])
        .args(extra)
        .args(["--", "sh", "-c", script])
        .timeout(Duration::from_secs(60));
    let out = cmd.output().unwrap();
    for entry in std::fs::read_dir(&lab.reports).unwrap() {
        std::fs::remove_file(entry.unwrap().path()).unwrap();
    }
    out
}

#[test]
fn watch_live_lines_and_summary_are_inert() {
    let lab = lab();
    let out = watch(&lab, &["--fail-on", "any"]);
    let err = text(&out.stderr);
    // The live line names the process, the location and the file; then the summary.
    assert!(err.contains("crashdelta: new crash report"), "{err}");
    assert_human("watch stderr", &err, 9);
    assert_inert("watch stdout", &text(&out.stdout));
}

#[test]
fn campaign_summary_is_inert() {
    let lab = lab();
    let out = watch(&lab, &["--repeat", "1"]);
    assert_human("campaign stderr", &text(&out.stderr), 4);
}

/// `--color always`: the only escape sequences are crashdelta's own colours (SGR, `ESC [ ... m`),
/// around its own verdicts. Without them the output is what `--color never` prints, and just
/// as inert: the report's escapes are still shown as text.
fn assert_coloured(what: &str, coloured: &str, plain: &str, fields: usize) {
    let sgr = regex::Regex::new("\u{1b}\\[[0-9;]*m").unwrap();
    assert!(sgr.is_match(coloured), "{what}: no colour:\n{coloured}");
    let stripped = sgr.replace_all(coloured, "");
    assert_eq!(stripped, plain, "{what}: colour changed the text");
    assert_human(what, &stripped, fields);
}

#[test]
fn colour_never_lets_a_report_through() {
    let hostile = hostile_folder();
    let file = hostile.reports.join(HOSTILE_NAME);
    let file = file.to_str().unwrap();
    let coloured = run(&["show", "--color", "always", file]);
    let plain = run(&["show", "--color", "never", file]);
    assert_coloured("show", &text(&coloured.stdout), &text(&plain.stdout), 25);
    let lab = lab();
    let coloured = watch(&lab, &["--fail-on", "any", "--color", "always"]);
    let plain = watch(&lab, &["--fail-on", "any", "--color", "never"]);
    assert_eq!(coloured.status.code(), Some(86));
    // The live line says after how long the report came, which differs between the two runs.
    let summary = |o: &Output| {
        text(&o.stderr)
            .lines()
            .filter(|l| !l.contains("new crash report after") && !l.contains("pids"))
            .map(|l| format!("{l}\n"))
            .collect::<String>()
    };
    let (coloured, plain) = (summary(&coloured), summary(&plain));
    let strip = |s: &str| {
        // The window's times and the pid in the summary differ between the two runs too.
        regex::Regex::new(r"\d+(\.\d+)?(ms|s)\b|\[\d+\]|\d{2}:\d{2}:\d{2}(\.\d+)?")
            .unwrap()
            .replace_all(s, "N")
            .into_owned()
    };
    assert_coloured("watch stderr", &strip(&coloured), &strip(&plain), 7);
}

/// JUnit XML of the hostile reports: well-formed (a CI viewer that cannot parse it shows
/// nothing), with no character XML 1.0 cannot carry, and the report's text still there.
#[test]
fn junit_is_well_formed_and_keeps_the_text() {
    let lab = hostile_folder();
    let folder = lab.reports.to_str().unwrap();
    let out = run(&["classify", folder, "--fail-on", "any", "--format", "junit"]);
    assert_eq!(out.status.code(), Some(86), "{}", text(&out.stderr));
    let xml = text(&out.stdout);
    for c in xml.chars() {
        assert!(
            !c.is_control() || matches!(c, '\n' | '\r' | '\t'),
            "{c:?} in the XML"
        );
    }
    // Well-formed: read to its end without an error.
    let mut reader = quick_xml::Reader::from_str(&xml);
    let mut cases = 0;
    loop {
        match reader.read_event().unwrap() {
            quick_xml::events::Event::Eof => break,
            quick_xml::events::Event::Start(e) | quick_xml::events::Event::Empty(e)
                if e.local_name().as_ref() == "testcase" =>
            {
                cases += 1;
            }
            _ => {}
        }
    }
    let pwned = xml.matches("pwned").count();
    // The crash, and the file that could not be read.
    assert_eq!(cases, 2, "{xml}");
    assert!(
        pwned >= 5,
        "the report's text is shown {pwned} times:\n{xml}"
    );
}

// C2: Markdown.

#[test]
fn classify_markdown_is_text_not_markup() {
    let lab = hostile_folder();
    let out = run(&[
        "classify",
        lab.reports.to_str().unwrap(),
        "--fail-on",
        "any",
        "--format",
        "markdown",
    ]);
    let md = text(&out.stdout);
    assert_markdown("classify markdown", &md, 1, &[]);
    // The unreadable file is listed under its own heading, its name a code span.
    assert!(parse(&md).text.contains(GARBAGE_SHOWN), "{md}");
}

#[test]
fn diff_markdown_is_text_not_markup() {
    let (_lab, before) = diff_lab();
    let out = run(&[
        "diff",
        before.to_str().unwrap(),
        "--fail-on",
        "any",
        "--format",
        "markdown",
    ]);
    assert_markdown("diff markdown", &text(&out.stdout), 1, &[]);
}

#[test]
fn watch_markdown_is_text_not_markup() {
    let lab = lab();
    let out = watch(&lab, &["--fail-on", "none", "--format", "markdown"]);
    // The folded "What ran" table (provenance) is the record's own HTML, and only that.
    assert_markdown(
        "watch markdown",
        &text(&out.stdout),
        1,
        &["<details><summary>What ran</summary>", "</details>"],
    );
}

#[test]
fn stats_markdown_is_text_not_markup() {
    let lab = hostile_folder();
    let out = run(&[
        "stats",
        lab.reports.to_str().unwrap(),
        "--format",
        "markdown",
    ]);
    let md = text(&out.stdout);
    let p = parse(&md);
    assert!(p.html.is_empty() && p.links.is_empty(), "{p:?}\n{md}");
    assert_eq!(p.headings.len(), 1, "{md}");
    assert!(p.rows.iter().all(|&n| n == 9), "{:?}\n{md}", p.rows);
    assert!(!md.contains('\u{1b}') && !md.contains('\r'), "{md}");
}

#[test]
fn campaign_markdown_is_text_not_markup() {
    let lab = lab();
    let out = watch(&lab, &["--repeat", "1", "--format", "markdown"]);
    let md = text(&out.stdout);
    let p = parse(&md);
    // The writer's own collapsible list of runs is the only HTML.
    assert!(
        p.html
            .iter()
            .all(|h| h.starts_with("<details><summary>") || h.starts_with("</details>")),
        "{:?}\n{md}",
        p.html
    );
    assert!(p.links.is_empty(), "{md}");
    assert!(
        p.headings.iter().all(|(l, _)| *l == HeadingLevel::H2),
        "{md}"
    );
    assert!(md.contains("agx-other"), "{md}");
    assert!(!md.contains('\u{1b}') && !md.contains('\r'), "{md}");
}

/// Every line the binary writes on standard error goes through `output.rs` (`say!` escapes it
/// whole; `to_stderr` writes a library rendering that was escaped as it was made).
#[test]
fn no_print_macro_in_the_binary_bypasses_the_escaping() {
    let cli = root().join("src/cli");
    let mut files = vec![root().join("src/main.rs")];
    let mut dirs = vec![cli];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    for file in files {
        if file.ends_with("src/cli/output.rs") {
            continue;
        }
        let source = std::fs::read_to_string(&file).unwrap();
        for (n, line) in source.lines().enumerate() {
            assert!(
                !line.contains("eprintln!(") && !line.contains("eprint!("),
                "{}:{}: standard error is written through output::say! or output::to_stderr",
                file.display(),
                n + 1
            );
        }
    }
}
