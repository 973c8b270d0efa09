//! The real binary: commands, formats, stdin, exit codes.

mod common;

use common::crashdelta;

use predicates::prelude::*;

fn testdata(rel: &str) -> String {
    format!("{}/testdata/{rel}", env!("CARGO_MANIFEST_DIR"))
}

#[test]
fn classify_a_folder_reads_every_file_and_exits_1_for_the_cut_ones() {
    let out = crashdelta()
        .args(["classify", "--format", "json", &testdata("real")])
        .output()
        .unwrap();
    // Two text reports of the corpus stop before their threads: incomplete, as a cut JSON body
    // is, so classify exits 1 after reading every other file.
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "crashdelta.classify/2");
    let reports = doc["reports"].as_array().unwrap();
    assert_eq!(reports.len(), 42);
    assert_eq!(doc["summary"]["inputs"], 42);
    // gh-2ship2harkinian-1778 lost its line breaks in the paste; split again, it is a partial
    // report (no `Process:` line) with its crashed thread.
    assert_eq!(doc["summary"]["crashes"], 18);
    assert_eq!(doc["summary"]["errors"], 2);
    for r in reports {
        let status = r["status"].as_str().unwrap();
        if status == "error" {
            let reason = r["reason"].as_str().unwrap();
            assert!(
                reason.starts_with("incomplete report: the text report of ")
                    && reason.contains("has no thread backtraces: the text ends at line"),
                "{r}"
            );
            continue;
        }
        assert!(["crash", "not-a-crash"].contains(&status), "{r}");
        if status == "crash" {
            for field in [
                "bug_type",
                "incident_id",
                "process",
                "exception",
                "crashed_thread",
                "classification",
                "signature",
                "location",
                "trigger",
            ] {
                assert!(r.get(field).is_some(), "{field} missing in {r}");
            }
        } else {
            assert!(
                r["reason"]
                    .as_str()
                    .unwrap()
                    .starts_with("not a crash report: "),
                "{r}"
            );
        }
    }
}

#[test]
fn json_fields_of_an_agx_crash() {
    let out = crashdelta()
        .args([
            "classify",
            "--format",
            "json",
            &testdata("derived/agx-prepareForEnqueue-0x98.ips"),
        ])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let r = &doc["reports"][0];
    assert_eq!(r["status"], "crash");
    assert_eq!(r["bug_type"], "309");
    assert_eq!(r["incident_id"], "5E0C2B1A-7F3D-4A9B-8C6E-1D2F3A4B5C6D");
    assert_eq!(r["process"]["name"], "Python");
    assert_eq!(r["process"]["pid"], 81920);
    assert_eq!(r["exception"]["type"], "EXC_BAD_ACCESS");
    assert_eq!(r["exception"]["signal"], "SIGSEGV");
    assert_eq!(r["exception"]["address"], "0x98");
    assert_eq!(r["crashed_thread"]["index"], 11);
    let frame0 = &r["crashed_thread"]["frames"][0];
    assert_eq!(frame0["image"], "AGXMetalG16X");
    assert_eq!(frame0["offset"], 1268);
    assert_eq!(frame0["address"], "0x120d97818");
    assert_eq!(frame0["symbolicated_by"], "report");
    assert_eq!(r["classification"]["family"], "agx");
    assert_eq!(r["classification"]["known"], true);
    assert_eq!(r["classification"]["rule"], "agx-prepare-for-enqueue-race");
    assert_eq!(
        r["location"],
        "AGX::ComputeContext::prepareForEnqueue(bool) + 1268"
    );
    assert_eq!(r["trigger"], "gatherViewTensor -> dispatchThreads");
    assert_eq!(r["driver"]["version"], "329.2");
}

#[test]
fn one_unreadable_input_does_not_stop_the_others_and_exits_1() {
    let missing = testdata("no-such-report.ips");
    crashdelta()
        .args([
            "classify",
            &missing,
            &testdata("derived/agx-prepareForEnqueue-0x98.ips"),
        ])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("agx-prepare-for-enqueue-race"))
        .stdout(predicate::str::contains("cannot read"))
        .stdout(predicate::str::contains(
            "1 crash report(s), 0 not a crash, 1 error(s)",
        ));
}

#[test]
fn stdin_is_read_with_a_dash() {
    let bytes = std::fs::read(testdata("real/ips/llvm-lldb__multithread-test.ips")).unwrap();
    crashdelta()
        .args(["classify", "-"])
        .write_stdin(bytes)
        .assert()
        .code(0)
        .stdout(predicate::str::contains("multithread-test [22511]"));
}

#[test]
fn a_half_written_report_is_an_incomplete_error() {
    let bytes = std::fs::read(testdata("derived/agx-prepareForEnqueue-0x98.ips")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Python-2025-12-23-164107.ips");
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    crashdelta()
        .args(["show", path.to_str().unwrap()])
        .assert()
        .code(1)
        .stdout(predicate::str::contains("incomplete report"))
        .stdout(predicate::str::contains("still being written"));
}

#[test]
fn a_non_crash_is_an_answer_not_an_error() {
    crashdelta()
        .args(["show", &testdata("real/other/electronsym__spindump.txt")])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("not a crash report: a spindump"));
}

#[test]
fn bad_arguments_exit_125_and_help_exits_0() {
    crashdelta().args(["classify"]).assert().code(125);
    crashdelta().args(["frobnicate"]).assert().code(125);
    crashdelta()
        .args(["classify", "--format", "xml", "x"])
        .assert()
        .code(125);
    crashdelta()
        .args(["--help"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("Exit codes"));
    crashdelta().args(["--version"]).assert().code(0);
}

/// `--version` names the exact binary: the version, the commit it was built from (short hash,
/// `+dirty` when built with uncommitted changes, `unknown` outside a git checkout) and the target
/// triple, as a bug report or a CI log needs them (build.rs).
#[test]
fn version_names_the_version_the_commit_and_the_target() {
    let out = crashdelta().arg("--version").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let line = String::from_utf8(out.stdout).unwrap();
    let re = regex::Regex::new(
        r"^crashdelta (\S+) \(commit ([0-9a-f]{7,40}(?:\+dirty)?|unknown), target (\S+)\)\n$",
    )
    .unwrap();
    let caps = re
        .captures(&line)
        .unwrap_or_else(|| panic!("--version printed {line:?}"));
    assert_eq!(&caps[1], env!("CARGO_PKG_VERSION"));
    // The triple is the one these tests were built for: its architecture and operating system.
    let target = &caps[3];
    assert!(
        target.starts_with(std::env::consts::ARCH),
        "{target} is not for {}",
        std::env::consts::ARCH
    );
    let os = match std::env::consts::OS {
        "macos" => "apple-darwin",
        os => os,
    };
    assert!(target.contains(os), "{target} is not for {os}");
    // In a git checkout, the commit is the checkout's HEAD (build.rs reruns when HEAD moves).
    let manifest = env!("CARGO_MANIFEST_DIR");
    let git = |args: &[&str]| {
        std::process::Command::new("git")
            .args(args)
            .current_dir(manifest)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_owned())
    };
    let own_checkout = git(&["rev-parse", "--show-toplevel"])
        .is_some_and(|top| std::fs::canonicalize(top).ok() == std::fs::canonicalize(manifest).ok());
    if let (true, Some(head)) = (own_checkout, git(&["rev-parse", "--short", "HEAD"])) {
        assert!(
            caps[2].starts_with(&head),
            "--version says commit {}, HEAD is {head}",
            &caps[2]
        );
    }
}

/// `--help` is a contract too: its exit-code table is the one docs/exit-codes.md documents (the
/// binary's unit tests walk the page against the same table), and every command's `--format`
/// values are the formats its document supports. A snapshot shows any change in review.
#[test]
fn the_help_says_what_the_docs_say() {
    let help = |args: &[&str]| {
        let out = crashdelta().args(args).output().unwrap();
        assert_eq!(out.status.code(), Some(0));
        String::from_utf8(out.stdout).unwrap()
    };
    let top = help(&["--help"]);
    let docs =
        std::fs::read_to_string(format!("{}/docs/exit-codes.md", env!("CARGO_MANIFEST_DIR")))
            .unwrap();
    for code in ["0", "1", "86", "125", "126", "127", "128+N", "130"] {
        assert!(
            top.lines()
                .any(|l| l.trim_start().starts_with(&format!("{code} "))),
            "--help lists no exit code {code}"
        );
        assert!(
            docs.contains(&format!("| {code} |")),
            "docs/exit-codes.md: {code}"
        );
    }
    insta::assert_snapshot!("help", top);
    insta::assert_snapshot!("help_watch", help(&["watch", "--help"]));
    insta::assert_snapshot!("help_diff", help(&["diff", "--help"]));
}

/// A format the command's document cannot be written in is refused before anything runs: no
/// inventory is read, no command is started.
#[test]
fn an_unsupported_format_is_refused_before_anything_runs() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("ran");
    crashdelta()
        .args(["diff", "/nonexistent/before.json", "--format", "html"])
        .assert()
        .code(125)
        .stderr(predicate::str::contains("invalid value 'html'"))
        .stderr(predicate::str::contains("/nonexistent").not());
    crashdelta()
        .args(["watch", "--format", "html", "--reports-dir"])
        .arg(dir.path())
        .args(["--", "touch"])
        .arg(&marker)
        .assert()
        .code(125)
        .stderr(predicate::str::contains("add --repeat N"));
    assert!(!marker.exists(), "the command ran");
    crashdelta()
        .args(["stats", "x", "--format", "junit"])
        .assert()
        .code(125);
}

#[test]
fn show_json_is_the_whole_report() {
    let out = crashdelta()
        .args([
            "show",
            "--format",
            "json",
            &testdata("real/crash/mysqlwb__README.md"),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "crashdelta.report/1");
    let r = &doc["report"];
    assert_eq!(r["process"]["name"], "MySQLWorkbench");
    assert_eq!(r["exception"]["address"], "0xe0");
    assert_eq!(r["container"]["type"], "translated-composite");
    // Everything the model has: every thread with its frames, the images, the registers.
    let threads = r["threads"].as_array().unwrap();
    assert!(threads.len() > 1, "{}", threads.len());
    assert_eq!(
        threads.iter().filter(|t| t["crashed"] == true).count(),
        1,
        "exactly one thread is the crashed one"
    );
    assert!(threads.iter().all(|t| t["frames"].is_array()));
    let images = r["images"].as_array().unwrap();
    assert!(
        images.iter().any(|i| i["name"] == "MySQLWorkbench"),
        "{images:?}"
    );
    assert!(
        images
            .iter()
            .all(|i| i["base"].as_str().is_some_and(|b| b.starts_with("0x")))
    );
    let registers = r["registers"]["registers"].as_array().unwrap();
    assert!(
        registers
            .iter()
            .any(|x| x["name"] == "far" && x["value"] == "0xe0"),
        "{registers:?}"
    );
    assert!(r["last_exception_backtrace"].is_array());
    assert!(r["asi"].is_array());
    // The classify document stays compact.
    let out = crashdelta()
        .args([
            "classify",
            "--format",
            "json",
            &testdata("real/crash/mysqlwb__README.md"),
        ])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(doc["reports"][0].get("threads").is_none());
    assert!(doc["reports"][0].get("images").is_none());
}

#[test]
fn show_refuses_a_folder_of_several_reports() {
    crashdelta()
        .args(["show", &testdata("derived")])
        .assert()
        .code(125)
        .stderr(predicate::str::contains("use `classify`"));
}

#[test]
fn table_output_is_stable_for_snapshots() {
    // Relative paths: the column widths depend on the paths' length.
    let out = crashdelta()
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["classify", "testdata/derived"])
        .output()
        .unwrap();
    let text = String::from_utf8(out.stdout).unwrap();
    insta::assert_snapshot!("classify_table_derived", text);
}

#[test]
fn the_gate_fails_with_86_on_what_it_is_told_to() {
    let race = "testdata/derived/agx-prepareForEnqueue-0x98.ips";
    let abort = "testdata/derived/python-abort-agx-loaded.ips";
    crashdelta()
        .args(["classify", "--fail-on", "agx", race])
        .assert()
        .code(86);
    crashdelta()
        .args(["classify", "--fail-on", "agx", abort])
        .assert()
        .code(0);
    crashdelta()
        .args(["classify", "--fail-on", "any", abort])
        .assert()
        .code(86);
    // The race is known: `unknown` does not fail on it, but does on the abort.
    crashdelta()
        .args(["classify", "--fail-on", "unknown", race])
        .assert()
        .code(0);
    crashdelta()
        .args(["classify", "--fail-on", "unknown", abort])
        .assert()
        .code(86);
    crashdelta()
        .args([
            "classify",
            "--fail-on",
            "any",
            "--allow",
            "agx-prepare-for-enqueue-race",
            race,
        ])
        .assert()
        .code(0);
    // No gate by default: crashes are reported, not failed on.
    crashdelta().args(["classify", race]).assert().code(0);
    // A gate failure outranks an unreadable input.
    crashdelta()
        .args(["classify", "--fail-on", "any", race, "no-such-file"])
        .assert()
        .code(86);
    crashdelta()
        .args(["classify", "--fail-on", "agx", abort, "no-such-file"])
        .assert()
        .code(1);
    crashdelta()
        .args(["classify", "--allow", "no-such-rule", race])
        .assert()
        .code(125)
        .stderr(predicate::str::contains("no rule has this id"));
    crashdelta()
        .args(["classify", "--fail-on", "sometimes", race])
        .assert()
        .code(125);
}

#[test]
fn gate_verdicts_are_in_the_json() {
    let out = crashdelta()
        .args([
            "classify",
            "--format",
            "json",
            "--fail-on",
            "agx",
            "testdata/derived",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(86));
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["gate"]["passed"], false);
    assert_eq!(doc["gate"]["fail_on"], "agx");
    // Ten AGX rules' reports, the known race three more times as pytest leaves it
    // (faulthandler on top, as .ips, as translated text, through a lambda), once more on a
    // later release (macOS 26.5), and once pasted cut short; and, failing closed, the real
    // report cut at 65,536 characters that reads as another crash (the cut may have taken what
    // makes it one of the driver's).
    assert_eq!(doc["gate"]["failures"], 16);
    assert!(
        doc["gate"]["reason"]
            .as_str()
            .unwrap()
            .starts_with("failed: 16 crashes")
    );
    let failing: Vec<&serde_json::Value> = doc["reports"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|r| !r["gate_failure"].is_null())
        .collect();
    assert_eq!(failing.len(), 16);
    assert!(failing.iter().all(|r| {
        r["classification"]["family"] == "agx"
            || (!r["cut"].is_null() && r["gate_failure"].as_str().unwrap().contains("cut short"))
    }));
    // Grouped by signature: the race, plain, on a later release and under faulthandler (.ips
    // and translated text), is one crash; the two Python aborts (one with the race's frames on another thread) have
    // the same crashed-thread stack; the race through a lambda and the MoltenVK caller differ
    // below the driver frames. The two reports cut short are groups of their own: the cut
    // left their frames' images unknown, and a signature names each frame's image.
    let groups = doc["groups"].as_array().unwrap();
    assert_eq!(groups.len(), 19);
    assert_eq!(groups[0]["count"], 4);
    assert_eq!(groups[0]["rule"], "agx-prepare-for-enqueue-race");
    assert_eq!(groups[1]["count"], 2);
    assert_eq!(groups[1]["rule"], "other");
}

#[test]
fn rules_are_listed_and_checked() {
    crashdelta()
        .args(["rules"])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("agx-prepare-for-enqueue-race"))
        .stdout(predicate::str::contains("the first that matches wins"));
    let out = crashdelta()
        .args(["rules", "--format", "json"])
        .output()
        .unwrap();
    // A document like every other (schema, tool), each rule with its conditions in words.
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "crashdelta.rules/1");
    assert_eq!(doc["tool"]["name"], "crashdelta");
    let list = &doc["rules"];
    assert_eq!(list[0]["id"], "agx-prepare-for-enqueue-race");
    assert_eq!(list[0]["known"], true);
    let conditions: Vec<&str> = list[0]["conditions"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(serde_json::Value::as_str)
        .collect();
    assert!(
        conditions.contains(&"fault address in 0x0..=0xffff"),
        "{conditions:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("team.toml");
    std::fs::write(
        &good,
        "[[rule]]\nid = \"agx-other\"\ntitle = \"Driver fault we track in FB1234\"\nfamily = \"agx\"\nknown = true\n[rule.when]\nframes = [{ image_kind = \"agx\", within = 3 }]\n",
    )
    .unwrap();
    crashdelta()
        .args(["rules", "check", good.to_str().unwrap()])
        .assert()
        .code(0)
        .stdout(predicate::str::contains("1 rule(s), valid"))
        .stdout(predicate::str::contains(
            "replaces built-in rule(s): agx-other",
        ))
        // Tried before the built-in rules, the broad replacement hides the specific AGX rules.
        .stderr(predicate::str::contains(
            "matches every crash they match, so no crash reaches 7 rule(s) after it \
             (agx-prepare-for-enqueue-race,",
        ));
    // The user's rule wins: the endRenderPassCommon crash is now known.
    let out = crashdelta()
        .args([
            "classify",
            "--format",
            "json",
            "--rules",
            good.to_str().unwrap(),
        ])
        .arg("testdata/derived/agx-other-endRenderPassCommon.ips")
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        doc["reports"][0]["classification"]["title"],
        "Driver fault we track in FB1234"
    );
    assert_eq!(doc["reports"][0]["classification"]["known"], true);

    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[rule]]\nid = \"x\"\ntitle = \"t\"\nfamily = \"agx\"\n[rule.when]\nmessage = \"[\"\n",
    )
    .unwrap();
    crashdelta()
        .args(["rules", "check", bad.to_str().unwrap()])
        .assert()
        .code(125)
        .stderr(predicate::str::contains(
            "bad.toml: rule 1 (x), field when.message: invalid regex",
        ));
    crashdelta()
        .args([
            "classify",
            "--rules",
            bad.to_str().unwrap(),
            "testdata/derived",
        ])
        .assert()
        .code(125);
}

#[test]
fn markdown_and_junit_renderings() {
    let files = [
        "testdata/derived/agx-prepareForEnqueue-0x98.ips",
        "testdata/derived/metal-committed-twice.ips",
        "testdata/derived/python-abort-agx-loaded.ips",
        "testdata/real/other/electronsym__spindump.txt",
    ];
    let md = crashdelta()
        .args(["classify", "--format", "markdown", "--fail-on", "agx"])
        .args(files)
        .output()
        .unwrap();
    assert_eq!(md.status.code(), Some(86));
    let md = String::from_utf8(md.stdout).unwrap();
    assert!(md.contains("Exception: EXC_BAD_ACCESS - KERN_INVALID_ADDRESS at 0x98\nLocation: AGX::ComputeContext::prepareForEnqueue(bool) + 1268\nTrigger: gatherViewTensor -> dispatchThreads"));
    insta::assert_snapshot!("classify_markdown", md);

    // The race as pytest leaves it: the handler and the racing threads in the Markdown block.
    let md = crashdelta()
        .args([
            "classify",
            "--format",
            "markdown",
            "testdata/derived/agx-prepareForEnqueue-faulthandler.ips",
        ])
        .output()
        .unwrap();
    let md = String::from_utf8(md.stdout).unwrap();
    assert!(md.contains("Exception: EXC_CRASH (SIGSEGV), fault address unknown (the signal was re-raised)
Location: AGX::ComputeContext::prepareForEnqueue(bool) + 1268
Trigger: gatherViewTensor -> dispatchThreads
Handler: Python's faulthandler (faulthandler_fatal_error) caught the signal above _sigtramp (frame 4) and re-raised it"), "{md}");
    assert!(md.contains("Racing: thread 12 \"Thread-3 (worker)\", queue metal gpu stream 4: in -[AGXG16XFamilyComputeContext setComputePipelineState:] from at::native::mps::binaryOpTensor\n"), "{md}");
    insta::assert_snapshot!("classify_markdown_faulthandler", md);

    let xml = crashdelta()
        .args(["classify", "--format", "junit", "--fail-on", "agx"])
        .args(files)
        .output()
        .unwrap();
    let xml = String::from_utf8(xml.stdout).unwrap();
    assert!(
        xml.contains("tests=\"3\" failures=\"1\" errors=\"0\""),
        "{xml}"
    );
    insta::assert_snapshot!("classify_junit", xml);
}

#[test]
fn output_goes_to_a_file_and_the_summary_to_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("crashes.json");
    crashdelta()
        .args([
            "classify",
            "--format",
            "json",
            "--output",
            out_file.to_str().unwrap(),
            "testdata/derived",
        ])
        .assert()
        .code(0)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::contains("23 input(s), 23 crash report(s)"));
    let doc: serde_json::Value = serde_json::from_slice(&std::fs::read(out_file).unwrap()).unwrap();
    assert_eq!(doc["summary"]["crashes"], 23);
}

/// `crashdelta watch ./run_tests.sh` (the `--` forgotten): clap's "unexpected argument" is
/// followed by the command line as it should have been written, quoted for the shell.
#[test]
fn a_forgotten_separator_is_explained_with_the_right_command_line() {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_crashdelta"))
        .args(["watch", "--settle", "1s", "./run_tests.sh", "-k", "a b"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(125), "{err}");
    assert!(
        err.contains(
            "crashdelta: the command goes after `--`: crashdelta watch --settle 1s -- ./run_tests.sh -k 'a b'"
        ),
        "{err}"
    );
    // An unknown option of crashdelta's own is not a forgotten `--`.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_crashdelta"))
        .args(["watch", "--bogus", "--", "true"])
        .output()
        .unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("goes after"));
}

/// Shell completions and the man page come from the same definition as the parser: every
/// subcommand and option is in them, and the bash script parses.
#[test]
fn completions_and_the_man_page_are_generated() {
    for shell in ["bash", "zsh", "fish"] {
        let out = crashdelta()
            .args(["generate", "completions", shell])
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(0), "{shell}");
        let text = String::from_utf8(out.stdout).unwrap();
        for word in ["watch", "compare", "reports-dir", "fail-on"] {
            assert!(text.contains(word), "{shell}: no {word}");
        }
        if shell == "bash" {
            let dir = tempfile::tempdir().unwrap();
            let script = dir.path().join("crashdelta.bash");
            std::fs::write(&script, &text).unwrap();
            let status = std::process::Command::new("bash")
                .arg("-n")
                .arg(&script)
                .status()
                .unwrap();
            assert!(status.success(), "bash -n rejects the completions");
        }
    }
    let out = crashdelta().args(["generate", "man"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let man = String::from_utf8(out.stdout).unwrap();
    assert!(
        man.starts_with(".ie") || man.contains(".TH crashdelta 1"),
        "{man}"
    );
    assert!(man.contains("watch"), "{man}");
}

/// An error says its cause once (it was `No such file or directory (os error 2): No such file
/// or directory (os error 2)`: the library's message names its cause, and the chain repeated it).
#[test]
fn an_error_says_its_cause_once() {
    for args in [
        &["diff", "/nonexistent/inventory.json"][..],
        &["symbolicate", "/nonexistent/report.ips"],
        &["rules", "check", "/nonexistent/rules.toml"],
        &["watch", "--symbols", "/nonexistent/dsym", "--", "true"],
    ] {
        let out = crashdelta().args(args).output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(125), "{args:?}: {err}");
        let line = err
            .lines()
            .find(|l| l.starts_with("crashdelta: error: "))
            .unwrap();
        for cause in [
            "No such file or directory (os error 2)",
            "no such file or folder",
        ] {
            assert!(line.matches(cause).count() <= 1, "{args:?}: {line}");
        }
    }
}

/// Unnamed driver frames and no way to name them: `show` hints at `--symbols`, and
/// `symbolicate` says it had nothing to name them with, instead of a bare "named 0 frame(s)".
/// A report whose frames are all named gets no hint.
#[test]
fn unnamed_frames_point_at_symbols() {
    let unnamed = testdata("derived/agx-unsymbolicated-0x98.ips");
    let out = crashdelta().args(["show", &unnamed]).output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("hint: frames of AGXMetalG16X have no symbol; --symbols PATH"),
        "{err}"
    );
    let out = crashdelta()
        .args(["symbolicate", &unnamed])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nothing named the frames of AGXMetalG16X: give --symbols PATH"),
        "{err}"
    );
    let named = testdata("derived/agx-prepareForEnqueue-0x98.ips");
    let out = crashdelta().args(["show", &named]).output().unwrap();
    assert!(!String::from_utf8_lossy(&out.stderr).contains("hint"));
}

/// Every command that writes a document takes `-o/--output FILE` (show and rules did not).
#[test]
fn every_document_command_takes_dash_o() {
    let dir = tempfile::tempdir().unwrap();
    let race = testdata("derived/agx-prepareForEnqueue-0x98.ips");
    for (args, file) in [
        (vec!["show", &race], "show.txt"),
        (vec!["classify", &race], "classify.txt"),
        (vec!["rules", "--format", "json"], "rules.json"),
        (vec!["stats", &race], "stats.txt"),
    ] {
        let path = dir.path().join(file);
        let out = crashdelta()
            .args(&args)
            .arg("-o")
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            out.status.code().is_some_and(|c| c == 0 || c == 86),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.stdout.is_empty(), "{args:?} wrote to standard output");
        assert!(std::fs::metadata(&path).unwrap().len() > 0, "{args:?}");
    }
}

/// Each subcommand's `--help` lists the exit codes it can end with.
#[test]
fn each_subcommands_help_lists_its_exit_codes() {
    for sub in [
        "show",
        "classify",
        "symbolicate",
        "watch",
        "snapshot",
        "diff",
        "compare",
        "stats",
        "rules",
        "generate",
    ] {
        let out = crashdelta().args([sub, "--help"]).output().unwrap();
        let help = String::from_utf8_lossy(&out.stdout);
        assert!(help.contains("Exit codes (docs/exit-codes.md):"), "{sub}");
        assert!(help.contains("\n  125    "), "{sub}: {help}");
    }
    let watch = crashdelta().args(["watch", "--help"]).output().unwrap();
    assert!(String::from_utf8_lossy(&watch.stdout).contains("\n  128+N  "));
}

/// `rules explain`: every rule in order, each condition held or failed with what the report had.
#[test]
fn rules_explain_says_which_condition_held_or_failed() {
    let out = crashdelta()
        .args([
            "rules",
            "explain",
            "testdata/derived/agx-prepareForEnqueue-0x98.ips",
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", common::stderr(&out));
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(
        text.contains("Classified by rule agx-prepare-for-enqueue-race."),
        "{text}"
    );
    assert!(
        text.contains(
            "    held   fault address in 0x0..=0xffff: fault address 0x98 in 0x0..=0xffff"
        ),
        "{text}"
    );
    // The next rule matches too; a later one fails on its frame.
    assert!(
        text.contains("agx-prepare-for-enqueue-other-caller (") && text.contains("matches too"),
        "{text}"
    );
    assert!(
        text.contains("    failed meaningful frame 0: in the GPU driver (AGX), symbol matches"),
        "{text}"
    );

    let out = crashdelta()
        .args([
            "rules",
            "explain",
            "--format",
            "json",
            "testdata/derived/metal-committed-twice.ips",
        ])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["schema"], "crashdelta.rules-explain/1");
    let chosen = doc["chosen"].as_str().unwrap();
    let rules = doc["rules"].as_array().unwrap();
    // Exactly one rule is chosen, the document's, and it is the one classify names.
    let chosen_rules: Vec<&serde_json::Value> =
        rules.iter().filter(|r| r["verdict"] == "chosen").collect();
    assert_eq!(chosen_rules.len(), 1);
    assert_eq!(chosen_rules[0]["id"], chosen);
    assert!(
        chosen_rules[0]["conditions"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["held"] == true)
    );
    let classified = crashdelta()
        .args([
            "classify",
            "--format",
            "json",
            "testdata/derived/metal-committed-twice.ips",
        ])
        .output()
        .unwrap();
    let classified: serde_json::Value = serde_json::from_slice(&classified.stdout).unwrap();
    assert_eq!(classified["reports"][0]["classification"]["rule"], chosen);
    // Every rule before the chosen one has a failed condition.
    for r in rules.iter().take_while(|r| r["verdict"] != "chosen") {
        assert!(
            r["conditions"]
                .as_array()
                .unwrap()
                .iter()
                .any(|c| c["held"] == false),
            "{r}"
        );
    }

    // A report that is not a crash has nothing for the rules to classify.
    crashdelta()
        .args([
            "rules",
            "explain",
            "testdata/real/ips/ipsw-test__diskwrites-145.ips",
        ])
        .assert()
        .code(125)
        .stderr(predicate::str::contains("rules classify crashes only"));
}
