//! The conventions of a command-line tool, through the real binary: `--color` and `NO_COLOR`,
//! `--quiet`, and the settings a team keeps in `crashdelta.toml` (found upward from the working
//! directory; flags, then environment variables, win over it).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;

use common::{RACE, WRITE_RACE, crashdelta, root, stderr};

/// Whether `s` holds an escape sequence.
fn has_colour(s: &str) -> bool {
    s.contains('\u{1b}')
}

fn show(extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = crashdelta();
    cmd.env_remove("NO_COLOR").env_remove("CLICOLOR_FORCE");
    cmd.envs(env.iter().copied());
    cmd.arg("show").args(extra).arg(RACE).output().unwrap()
}

#[test]
fn colour_follows_the_flag_and_no_color() {
    let text = |o: Output| String::from_utf8(o.stdout).unwrap();
    // Standard output is a pipe here: auto means no colour.
    assert!(!has_colour(&text(show(&[], &[]))));
    let always = text(show(&["--color", "always"], &[]));
    assert!(has_colour(&always), "{always}");
    // The known race's Rule line is coloured, as a verdict.
    let rule = always.lines().find(|l| l.contains("Rule:")).unwrap();
    assert!(rule.starts_with("\u{1b}["), "{rule:?}");
    assert!(!has_colour(&text(show(&["--color", "never"], &[]))));
    // CLICOLOR_FORCE asks for colour in a pipe; NO_COLOR says no, whatever the terminal.
    assert!(has_colour(&text(show(&[], &[("CLICOLOR_FORCE", "1")]))));
    assert!(!has_colour(&text(show(
        &[],
        &[("NO_COLOR", "1"), ("CLICOLOR_FORCE", "1")]
    ))));
    // The flag goes before the subcommand too (it is global).
    let mut cmd = crashdelta();
    let out = cmd
        .args(["--color", "always", "show", RACE])
        .output()
        .unwrap();
    assert!(has_colour(&text(out)));
    // An --output file gets no colour unless asked for.
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("show.txt");
    let out = show(
        &["--output", file.to_str().unwrap()],
        &[("CLICOLOR_FORCE", "1")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!has_colour(&std::fs::read_to_string(&file).unwrap()));
}

/// A report folder in a temporary directory, and `watch -- sh -c SCRIPT` run from `cwd` with
/// `REPORTS` and `RACE` set for [`WRITE_RACE`].
struct Lab {
    dir: tempfile::TempDir,
}

impl Lab {
    fn new() -> Lab {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("reports")).unwrap();
        Lab { dir }
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn reports(&self) -> PathBuf {
        self.path().join("reports")
    }

    fn run(&self, cwd: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = crashdelta();
        cmd.current_dir(cwd)
            .env("REPORTS", self.reports())
            .env("RACE", root().join(RACE))
            .envs(env.iter().copied())
            .args(args);
        cmd.output().unwrap()
    }

    /// `watch ARGS -- sh -c '<write the race report>'`, the report folder given as `--reports-dir`
    /// unless `folder` is false (then it has to come from the settings).
    fn watch_race(&self, cwd: &Path, args: &[&str], folder: bool) -> Output {
        let mut all = vec!["watch", "--settle", "0.5s"];
        all.extend_from_slice(args);
        let reports = self.reports();
        if folder {
            all.extend(["--reports-dir", reports.to_str().unwrap()]);
        }
        let script = format!("{WRITE_RACE}\nwrite_race $$ $PPID \"\" Python-$$.ips; exit 0");
        all.extend(["--", "sh", "-c", &script]);
        self.run(cwd, &all, &[])
    }
}

#[test]
fn quiet_keeps_only_warnings_errors_and_the_files_asked_for() {
    let lab = Lab::new();
    let json = lab.path().join("run.json");
    let missing = lab.path().join("DiagnosticReprots");
    let out = lab.watch_race(
        lab.path(),
        &[
            "-q",
            "--json",
            json.to_str().unwrap(),
            "--reports-dir",
            missing.to_str().unwrap(),
        ],
        true,
    );
    // The gate still fails on the race: the exit code is the verdict.
    assert_eq!(out.status.code(), Some(86), "{}", stderr(&out));
    let err = stderr(&out);
    // The warning stays; the notes ("watching", the live lines) and the summary do not.
    assert!(
        err.contains("crashdelta: warning: the report folder"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    let record: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(record["new"].as_array().map(Vec::len), Some(1), "{record}");
    // A document on standard output is dropped too; the exit code still says the gate.
    let out = crashdelta()
        .args(["classify", "--quiet", "--fail-on", "agx", RACE])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(86));
    assert!(out.stdout.is_empty() && out.stderr.is_empty(), "{out:?}");
}

#[test]
fn quiet_keeps_the_commands_own_output() {
    let lab = Lab::new();
    let reports = lab.reports();
    let out = lab.run(
        lab.path(),
        &[
            "watch",
            "-q",
            "--settle",
            "0s",
            "--reports-dir",
            reports.to_str().unwrap(),
            "--",
            "sh",
            "-c",
            "echo out; echo err >&2",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "out\n");
    assert_eq!(stderr(&out), "err\n");
}

#[test]
fn settings_come_from_crashdelta_toml_found_upward() {
    let lab = Lab::new();
    let sub = lab.path().join("tests/gpu");
    std::fs::create_dir_all(&sub).unwrap();
    // The folder is relative to the file, and the gate passes the AGX race.
    std::fs::write(
        lab.path().join("crashdelta.toml"),
        "# the team's policy\nfail-on = \"none\"\nreports-dir = [\"reports\"]\n",
    )
    .unwrap();
    let out = lab.watch_race(&sub, &[], false);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        err.contains("crashdelta.toml: --fail-on --reports-dir"),
        "{err}"
    );
    assert!(
        err.contains("Crash logs: 0 before → 1 after (1 new)"),
        "{err}"
    );
    assert!(err.contains("Gate (--fail-on none)"), "{err}");
    // A flag wins over the file.
    let out = lab.watch_race(&sub, &["--fail-on", "agx"], false);
    assert_eq!(out.status.code(), Some(86), "{}", stderr(&out));
    // So does the option's environment variable.
    let script = format!("{WRITE_RACE}\nwrite_race $$ $PPID \"\" Python-$$.ips; exit 0");
    let out = lab.run(
        &sub,
        &["watch", "--settle", "0.5s", "--", "sh", "-c", &script],
        &[("CRASHDELTA_FAIL_ON", "agx")],
    );
    assert_eq!(out.status.code(), Some(86), "{}", stderr(&out));
    // --no-config ignores the file: the default folders, then, and --fail-on any.
    let reports = lab.reports();
    let out = lab.watch_race(
        &sub,
        &["--no-config", "--reports-dir", reports.to_str().unwrap()],
        false,
    );
    assert_eq!(out.status.code(), Some(86), "{}", stderr(&out));
    assert!(!stderr(&out).contains("settings from"), "{}", stderr(&out));
}

#[test]
fn a_settings_file_named_by_config_applies_from_anywhere() {
    let lab = Lab::new();
    let team = lab.path().join("team.toml");
    std::fs::write(&team, "fail-on = \"none\"\nreports-dir = [\"reports\"]\n").unwrap();
    let elsewhere = tempfile::tempdir().unwrap();
    let out = lab.watch_race(
        elsewhere.path(),
        &["--config", team.to_str().unwrap()],
        false,
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let script = format!("{WRITE_RACE}\nwrite_race $$ $PPID \"\" Python-$$.ips; exit 0");
    let out = lab.run(
        elsewhere.path(),
        &["watch", "--settle", "0.5s", "--", "sh", "-c", &script],
        &[("CRASHDELTA_CONFIG", team.to_str().unwrap())],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
}

#[test]
fn a_wrong_setting_stops_before_the_command_runs_and_names_the_file() {
    let lab = Lab::new();
    let marker = lab.path().join("ran");
    let script = format!("touch {}", marker.display());
    let cases = [
        // A misspelt key: the gate policy it was meant to set would silently not apply.
        (
            "failon = \"agx\"\n",
            "line 1, is not valid: unknown field `failon`",
        ),
        (
            "settle = 5\n",
            "line 1, is not valid: invalid type: integer",
        ),
        (
            "fail-on = \"agxx\"\n",
            "invalid value 'agxx' for '--fail-on <WHAT>'",
        ),
        ("settle = \"soon\"\n", "for '--settle <DURATION>'"),
    ];
    for (file, says) in cases {
        std::fs::write(lab.path().join("crashdelta.toml"), file).unwrap();
        let reports = lab.reports();
        let out = lab.run(
            lab.path(),
            &[
                "watch",
                "--reports-dir",
                reports.to_str().unwrap(),
                "--",
                "sh",
                "-c",
                &script,
            ],
            &[],
        );
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(125), "{file}: {err}");
        assert!(err.contains("crashdelta.toml"), "{file}: {err}");
        assert!(err.contains(says), "{file}: {err}");
        assert!(!marker.exists(), "{file}: the command ran");
    }
}

#[test]
fn relative_rules_in_the_settings_are_the_files() {
    let lab = Lab::new();
    std::fs::create_dir(lab.path().join("ci")).unwrap();
    std::fs::write(
        lab.path().join("ci/rules.toml"),
        "[[rule]]\nid = \"team-race\"\ntitle = \"Our race\"\nfamily = \"agx\"\nknown = true\n\n[rule.when]\naddress = { equals = 0x98 }\n",
    )
    .unwrap();
    std::fs::write(
        lab.path().join("crashdelta.toml"),
        "rules = \"ci/rules.toml\"\n",
    )
    .unwrap();
    let sub = lab.path().join("deep/er");
    std::fs::create_dir_all(&sub).unwrap();
    let out = lab.run(&sub, &["rules", "--format", "json"], &[]);
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{err}");
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("\"team-race\""),
        "{err}"
    );
}

/// Progress is drawn on a terminal, cleared when the work ends, and never written anywhere else
/// (a pipe, a CI log) or under `--quiet`.
#[test]
fn progress_shows_on_a_terminal_only() {
    if common::no_pty() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.json");
    let bin = env!("CARGO_BIN_EXE_crashdelta");
    let line = |extra: &str| {
        format!(
            "cd {} && CRASHDELTA_PROGRESS_DELAY_MS=0 {} classify {extra} --format json -o {} testdata",
            common::shell_quote(root().to_str().unwrap()),
            common::shell_quote(bin),
            common::shell_quote(out.to_str().unwrap())
        )
    };
    let limit = std::time::Duration::from_secs(60);
    let (status, shown, _) = common::on_terminal_line(&line(""), &[], limit);
    assert!(status.is_some(), "{shown}");
    assert!(shown.contains("reading reports: "), "{shown:?}");
    // Cleared before the summary line.
    let summary = shown.find("crashdelta: ").unwrap();
    assert!(
        shown[..summary].ends_with("\r\u{1b}[2K"),
        "{:?}",
        &shown[summary.saturating_sub(80)..]
    );
    let (_, shown, _) = common::on_terminal_line(&line("-q"), &[], limit);
    assert!(!shown.contains("reading reports"), "{shown:?}");
    let piped = crashdelta()
        .env("CRASHDELTA_PROGRESS_DELAY_MS", "0")
        .args(["classify", "--format", "json", "-o"])
        .arg(&out)
        .arg("testdata")
        .output()
        .unwrap();
    assert!(
        !stderr(&piped).contains("reading reports"),
        "{}",
        stderr(&piped)
    );
}

/// `-q` silences talk, never data a pipe asked for: JSON on standard output, an inventory.
/// And a run's warnings, which only its (silenced) summary said, are said one by one.
#[test]
fn quiet_keeps_documents_for_programs_and_run_warnings() {
    let out = crashdelta()
        .args(["-q", "classify", "--format", "json", RACE])
        .output()
        .unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(doc["reports"].as_array().map(Vec::len), Some(1));
    let lab = Lab::new();
    let reports = lab.reports();
    let out = lab.run(
        lab.path(),
        &["-q", "snapshot", "--reports-dir", reports.to_str().unwrap()],
        &[],
    );
    let inventory: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        inventory["schema"]
            .as_str()
            .unwrap()
            .starts_with("crashdelta.inventory/")
    );
    let out = lab.run(
        lab.path(),
        &[
            "watch",
            "-q",
            "--settle",
            "0s",
            "--reports-dir",
            reports.to_str().unwrap(),
            "--test-results",
            "/nonexistent/junit.xml",
            "--",
            "true",
        ],
        &[],
    );
    let err = stderr(&out);
    assert!(
        err.starts_with("crashdelta: warning: --test-results"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
}

#[test]
fn the_settings_file_variable_and_its_opt_out() {
    let lab = Lab::new();
    let bad = lab.path().join("bad.toml");
    std::fs::write(&bad, "nonsense = 1\n").unwrap();
    let classify = |args: &[&str], env: &[(&str, &str)]| {
        let mut cmd = crashdelta();
        cmd.envs(env.iter().copied())
            .args(args)
            .args(["classify", RACE]);
        cmd.output().unwrap()
    };
    let bad = bad.to_str().unwrap();
    assert_eq!(
        classify(&[], &[("CRASHDELTA_CONFIG", bad)]).status.code(),
        Some(125)
    );
    // --no-config wins over the variable; an empty variable is no variable.
    let out = classify(&["--no-config"], &[("CRASHDELTA_CONFIG", bad)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let out = classify(&[], &[("CRASHDELTA_CONFIG", "")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    // Not a regular file: refused, never read until memory runs out.
    let out = classify(&["--config", "/dev/zero"], &[]);
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains("cannot read the settings file /dev/zero"),
        "{}",
        stderr(&out)
    );
}

/// The search stops at the repository's root, and a file anyone may write is not trusted: a
/// shared folder above a CI job's checkout cannot relax its gate. A file that sets the gate is
/// named even under `-q`.
#[test]
fn settings_found_upward_are_the_repositorys_own() {
    let lab = Lab::new();
    let repo = lab.path().join("checkout");
    std::fs::create_dir_all(repo.join(".git")).unwrap();
    let relaxing = "fail-on = \"none\"\n";
    std::fs::write(lab.path().join("crashdelta.toml"), relaxing).unwrap();
    let reports = lab.reports();
    let r = reports.to_str().unwrap();
    let out = lab.watch_race(&repo, &["-q", "--reports-dir", r], false);
    assert_eq!(out.status.code(), Some(86), "{}", stderr(&out));
    // Inside the repository it applies, and says so under -q.
    std::fs::write(repo.join("crashdelta.toml"), relaxing).unwrap();
    let out = lab.watch_race(&repo, &["-q", "--reports-dir", r], false);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("crashdelta.toml: --fail-on"),
        "{}",
        stderr(&out)
    );
    // Writable by anyone: ignored, with a warning.
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        repo.join("crashdelta.toml"),
        std::fs::Permissions::from_mode(0o666),
    )
    .unwrap();
    let out = lab.watch_race(&repo, &["--reports-dir", r], false);
    assert_eq!(out.status.code(), Some(86), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("anyone may write it"),
        "{}",
        stderr(&out)
    );
}

/// `rules explain` takes `--rules`, `--format` and `--symbols` before or after `explain`, and
/// from the settings file, and classifies as `classify` does under the same settings.
#[test]
fn rules_explain_follows_the_same_settings_as_classify() {
    let lab = Lab::new();
    let rules = lab.path().join("team.toml");
    std::fs::write(
        &rules,
        "[[rule]]\nid = \"team-race\"\ntitle = \"Our race\"\nfamily = \"agx\"\nknown = true\n\n[rule.when]\naddress = { equals = 0x98 }\n",
    )
    .unwrap();
    let race = root().join(RACE);
    let race = race.to_str().unwrap();
    let rules_arg = rules.to_str().unwrap();
    for args in [
        vec![
            "rules", "explain", race, "--rules", rules_arg, "--format", "json",
        ],
        vec![
            "rules", "--format", "json", "--rules", rules_arg, "explain", race,
        ],
    ] {
        let out = lab.run(lab.path(), &args, &[]);
        let doc: serde_json::Value = serde_json::from_slice(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: {e}: {}", stderr(&out)));
        assert_eq!(doc["chosen"], "team-race", "{args:?}");
    }
    std::fs::write(
        lab.path().join("crashdelta.toml"),
        "rules = \"team.toml\"\n",
    )
    .unwrap();
    let out = lab.run(lab.path(), &["rules", "explain", race], &[]);
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Classified by rule team-race."),
        "{}",
        stderr(&out)
    );
}

/// The `--` hint survives global options before the subcommand.
#[test]
fn the_forgotten_separator_hint_after_global_options() {
    let out = crashdelta()
        .args(["--color", "never", "-q", "watch", "./run_tests.sh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(125));
    assert!(
        stderr(&out).contains("crashdelta --color never -q watch -- ./run_tests.sh"),
        "{}",
        stderr(&out)
    );
}
