//! The GitHub Action's scripts (action/run.sh, action/install.sh) run with bash against the real
//! binary built here: temporary files stand in for `$GITHUB_OUTPUT`, `$GITHUB_STEP_SUMMARY` and
//! `$GITHUB_PATH`, a temporary report folder for DiagnosticReports (`reports-dir`), and a local
//! folder laid out as GitHub releases are (file:// URLs) for the release downloads.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{RACE, WRITE_RACE, root};

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Runner {
    dir: tempfile::TempDir,
}

impl Runner {
    fn new() -> Runner {
        let r = Runner {
            dir: tempfile::tempdir().unwrap(),
        };
        fs::create_dir(r.reports()).unwrap();
        fs::write(r.path("step-summary"), "# Earlier steps\n").unwrap();
        fs::write(r.path("output"), "").unwrap();
        r
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn reports(&self) -> PathBuf {
        self.path("DiagnosticReports")
    }

    /// action/run.sh with the given inputs (`("COMMAND", "...")` for `INPUT_COMMAND`).
    fn run(&self, inputs: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new("bash");
        cmd.arg(root().join("action/run.sh"))
            .current_dir(self.dir.path())
            .env("CRASHDELTA", env!("CARGO_BIN_EXE_crashdelta"))
            .env("RUNNER_TEMP", self.path("runner-temp"))
            .env("GITHUB_OUTPUT", self.path("output"))
            .env("GITHUB_STEP_SUMMARY", self.path("step-summary"))
            .env("INPUT_REPORTS_DIR", self.reports())
            .env("INPUT_SETTLE", "0.3s")
            // What the command under test uses to stand in for ReportCrash.
            .env("REPORTS", self.reports())
            .env("RACE", root().join(RACE));
        for (name, value) in inputs {
            cmd.env(format!("INPUT_{name}"), value);
        }
        cmd.output().unwrap()
    }

    /// `$GITHUB_OUTPUT` as written: name → value.
    fn outputs(&self) -> BTreeMap<String, String> {
        fs::read_to_string(self.path("output"))
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect()
    }

    fn record(&self) -> serde_json::Value {
        let path = self.outputs()["record"].clone();
        serde_json::from_slice(&fs::read(path).unwrap()).unwrap()
    }
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// A command that crashes the way the tests stand in for it: the race report for its own pid.
fn crashing(then: &str) -> String {
    format!("{WRITE_RACE}\nwrite_race $$ $PPID\n{then}")
}

#[test]
fn a_clean_run_passes_its_exit_code_and_says_so() {
    let r = Runner::new();
    let out = r.run(&[("COMMAND", "echo tests ran")]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let o = r.outputs();
    assert_eq!(o["new-crashes"], "0");
    assert_eq!(o["gate"], "passed");
    // The summary is appended to what earlier steps wrote.
    let summary = fs::read_to_string(r.path("step-summary")).unwrap();
    assert!(
        summary.starts_with("# Earlier steps\n## Crash logs: 0 before → 0 after (0 new)"),
        "{summary}"
    );
    assert!(summary.contains("passed"), "{summary}");
    assert_eq!(r.record()["schema"], "crashdelta.watch/1");
    assert!(String::from_utf8_lossy(&out.stdout).contains("tests ran"));
}

#[test]
fn a_crash_fails_the_gate_with_86_and_is_collected() {
    let r = Runner::new();
    let out = r.run(&[("COMMAND", &crashing("exit 0"))]);
    assert_eq!(out.status.code(), Some(86), "{}", stderr(&out));
    let o = r.outputs();
    assert_eq!(o["new-crashes"], "1");
    assert_eq!(o["gate"], "failed");
    let summary = fs::read_to_string(r.path("step-summary")).unwrap();
    assert!(
        summary.contains("agx-prepare-for-enqueue-race"),
        "{summary}"
    );
    assert!(summary.contains("failed"), "{summary}");
    // The artifact's content: the report's copy with its manifest, the record, the summary.
    let collect = Path::new(&o["collect"]);
    assert!(collect.join("Python-race.ips").is_file());
    assert!(collect.join("manifest.json").is_file());
    assert!(Path::new(&o["summary"]).is_file());
    let record = r.record();
    assert_eq!(record["gate"]["passed"], false);
    assert_eq!(
        record["new"][0]["classification"]["rule"],
        "agx-prepare-for-enqueue-race"
    );
}

#[test]
fn the_commands_own_failure_passes_through_when_the_gate_passes() {
    let r = Runner::new();
    let out = r.run(&[("COMMAND", "echo failing; exit 3")]);
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    assert_eq!(r.outputs()["gate"], "passed");
    // As in a `run:` step, the script stops at the first failing command.
    let out = r.run(&[("COMMAND", "false\necho not reached > reached")]);
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(!r.path("reached").exists());
}

#[test]
fn the_command_reaches_bash_as_written_with_spaces_and_quotes() {
    let r = Runner::new();
    let command =
        r#"printf '[%s]\n' "two  spaces" 'single "double" inside' "it's" $'tab\there' > args.txt"#;
    let out = r.run(&[("COMMAND", command)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        fs::read_to_string(r.path("args.txt")).unwrap(),
        "[two  spaces]\n[single \"double\" inside]\n[it's]\n[tab\there]\n"
    );
    // The inputs are data: a $(...) or a ; in them runs nothing.
    let out = r.run(&[
        ("COMMAND", "true"),
        ("SETTLE", "1s; touch injected $(touch injected2)"),
    ]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert_eq!(r.outputs()["gate"], "error");
    assert!(!r.path("injected").exists() && !r.path("injected2").exists());
}

#[test]
fn an_allow_list_exempts_each_rule_it_names() {
    let r = Runner::new();
    let out = r.run(&[
        ("COMMAND", &crashing("exit 0")),
        (
            "ALLOW",
            "  agx-set-compute-pipeline-state-null\n\tagx-prepare-for-enqueue-race  \n",
        ),
        ("FAIL_ON", "agx"),
    ]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let o = r.outputs();
    assert_eq!(o["gate"], "passed");
    assert_eq!(o["new-crashes"], "1", "allowed, still counted");
    let gate = &r.record()["gate"];
    assert_eq!(gate["fail_on"], "agx");
    assert_eq!(
        gate["allow"],
        serde_json::json!([
            "agx-set-compute-pipeline-state-null",
            "agx-prepare-for-enqueue-race"
        ])
    );
    // A word that is not a rule id is crashdelta's argument error, the gate never reached.
    let out = r.run(&[("COMMAND", "true"), ("ALLOW", "no-such-rule *")]);
    assert_eq!(out.status.code(), Some(125), "{}", stderr(&out));
    assert!(stderr(&out).contains("no-such-rule"), "{}", stderr(&out));
    assert_eq!(r.outputs()["gate"], "error");
}

#[test]
fn a_command_that_cannot_start_is_crashdeltas_exit_without_a_record() {
    let r = Runner::new();
    let out = Command::new("bash")
        .arg(root().join("action/run.sh"))
        .env("CRASHDELTA", r.path("no-such-crashdelta"))
        .env("RUNNER_TEMP", r.path("runner-temp"))
        .env("GITHUB_OUTPUT", r.path("output"))
        .env("INPUT_COMMAND", "true")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(127), "{}", stderr(&out));
    assert_eq!(r.outputs()["gate"], "error");
    // No command at all is the action's own error.
    let out = r.run(&[("COMMAND", "")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("the command input is empty"));
}

// --- install.sh -------------------------------------------------------------------------------

/// A folder laid out as the project's GitHub releases: `download/v0.1.0/` with the archives and
/// SHA256SUMS (as the release workflow writes them), `latest/download/SHA256SUMS`.
struct Releases {
    dir: tempfile::TempDir,
}

const TARGET: &str = "x86_64-unknown-linux-musl";

fn sha256(path: &Path) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(fs::read(path).unwrap());
    digest.iter().map(|b| format!("{b:02x}")).collect()
}

impl Releases {
    /// Packed by the release workflow's own scripts (packaging/archive.sh, packaging/sums.sh).
    fn new() -> Releases {
        let dir = tempfile::tempdir().unwrap();
        let release = dir.path().join("download/v0.1.0");
        // A stand-in binary (the real one is 150 MB unoptimised: slow to pack for a test that is
        // about the checksum): answers --version as the real one does.
        let binary = dir.path().join("crashdelta");
        fs::write(
            &binary,
            "#!/bin/sh\necho 'crashdelta 0.1.0 (commit 2e87440, target test)'\n",
        )
        .unwrap();
        for target in [TARGET, "universal-apple-darwin"] {
            let out = Command::new("bash")
                .arg(root().join("packaging/archive.sh"))
                .args(["0.1.0", target])
                .args([&binary, &release])
                .output()
                .unwrap();
            assert!(out.status.success(), "{}", stderr(&out));
        }
        let out = Command::new("bash")
            .arg(root().join("packaging/sums.sh"))
            .arg(&release)
            .output()
            .unwrap();
        assert!(out.status.success(), "{}", stderr(&out));
        fs::create_dir_all(dir.path().join("latest/download")).unwrap();
        fs::copy(
            release.join("SHA256SUMS"),
            dir.path().join("latest/download/SHA256SUMS"),
        )
        .unwrap();
        Releases { dir }
    }

    fn url(&self) -> String {
        format!("file://{}", self.dir.path().display())
    }

    fn sums(&self) -> PathBuf {
        self.dir.path().join("download/v0.1.0/SHA256SUMS")
    }
}

/// action/install.sh MODE with `env`; the runner's files in `r`.
fn install(r: &Runner, releases: &Releases, mode: &str, env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new("bash");
    cmd.arg(root().join("action/install.sh"))
        .arg(mode)
        .env("CRASHDELTA_RELEASES", releases.url())
        .env("CRASHDELTA_TARGET", TARGET)
        .env("CRASHDELTA_INSTALL_DIR", r.path("tools"))
        .env("GITHUB_OUTPUT", r.path("output"))
        .env("GITHUB_PATH", r.path("path"))
        .env_remove("CRASHDELTA_VERSION")
        .env_remove("ACTION_REF");
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn resolved(r: &Runner, releases: &Releases, env: &[(&str, &str)]) -> Result<String, String> {
    fs::write(r.path("output"), "").unwrap();
    let out = install(r, releases, "resolve", env);
    if out.status.success() {
        Ok(r.outputs()["version"].clone())
    } else {
        Err(stderr(&out))
    }
}

#[test]
fn the_version_is_the_inputs_the_actions_tag_or_the_latest_release() {
    let r = Runner::new();
    let rel = Releases::new();
    assert_eq!(resolved(&r, &rel, &[]).unwrap(), "0.1.0", "latest");
    assert_eq!(
        resolved(&r, &rel, &[("CRASHDELTA_VERSION", "latest")]).unwrap(),
        "0.1.0"
    );
    assert_eq!(
        resolved(&r, &rel, &[("CRASHDELTA_VERSION", "v2.3.4")]).unwrap(),
        "2.3.4"
    );
    assert_eq!(
        resolved(&r, &rel, &[("ACTION_REF", "v0.9.1")]).unwrap(),
        "0.9.1",
        "the action's own release tag"
    );
    assert_eq!(
        resolved(&r, &rel, &[("ACTION_REF", "main")]).unwrap(),
        "0.1.0",
        "a branch: latest"
    );
    let o = r.outputs();
    assert_eq!(o["target"], TARGET);
    assert_eq!(
        Path::new(&o["dir"]),
        r.path("tools").join("0.1.0").join(TARGET)
    );
    let err = resolved(&r, &rel, &[("CRASHDELTA_VERSION", "../../etc")]).unwrap_err();
    assert!(err.contains("not a release version"), "{err}");
}

#[test]
fn install_checks_the_archive_against_the_releases_sums() {
    let r = Runner::new();
    let rel = Releases::new();
    let dir = r.path("tools/0.1.0").join(TARGET);
    let env = [
        ("CRASHDELTA_VERSION_RESOLVED", "0.1.0"),
        ("CRASHDELTA_DIR", dir.to_str().unwrap()),
    ];

    // A wrong checksum: nothing installed.
    let good = fs::read_to_string(rel.sums()).unwrap();
    let archive = format!("crashdelta-0.1.0-{TARGET}.tar.gz");
    let line = good.lines().find(|l| l.ends_with(&archive)).unwrap();
    let hash = &line[..64];
    let flipped = if hash.starts_with('0') { "1" } else { "0" };
    fs::write(
        rel.sums(),
        good.replacen(hash, &format!("{flipped}{}", &hash[1..]), 1),
    )
    .unwrap();
    let out = install(&r, &rel, "install", &env);
    assert!(!out.status.success());
    assert!(
        stderr(&out).contains("but SHA256SUMS says"),
        "{}",
        stderr(&out)
    );
    assert!(!dir.join("crashdelta").exists());
    assert!(!r.path("path").exists(), "not added to PATH");

    // An archive the sums do not list: nothing installed.
    fs::write(rel.sums(), good.replace(line, "")).unwrap();
    let out = install(&r, &rel, "install", &env);
    assert!(!out.status.success());
    assert!(stderr(&out).contains("lists no"), "{}", stderr(&out));
    assert!(!dir.join("crashdelta").exists());

    // The right one: installed, on PATH, and it runs.
    fs::write(rel.sums(), &good).unwrap();
    let out = install(&r, &rel, "install", &env);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("SHA-256"));
    assert!(String::from_utf8_lossy(&out.stdout).contains("crashdelta 0.1.0 (commit"));
    assert_eq!(
        fs::read_to_string(r.path("path")).unwrap(),
        format!("{}\n", dir.display())
    );
    assert!(dir.join("crashdelta").is_file());

    // Restored from the cache: kept, not downloaded again (the release may be gone).
    fs::remove_dir_all(rel.dir.path().join("download")).unwrap();
    let out = install(&r, &rel, "install", &env);
    assert!(out.status.success(), "{}", stderr(&out));
    assert!(String::from_utf8_lossy(&out.stdout).contains("already in"));
}

// --- the release's archives and the Homebrew formula -------------------------------------------

#[test]
fn an_archive_holds_the_binary_and_the_readme_in_its_named_folder() {
    let rel = Releases::new();
    let archive = rel
        .dir
        .path()
        .join(format!("download/v0.1.0/crashdelta-0.1.0-{TARGET}.tar.gz"));
    let out = Command::new("tar")
        .arg("-tzvf")
        .arg(&archive)
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&out.stdout);
    let names: Vec<&str> = listing
        .lines()
        .map(|l| l.split_whitespace().last().unwrap())
        .collect();
    let top = format!("crashdelta-0.1.0-{TARGET}");
    assert!(
        names.contains(&format!("{top}/crashdelta").as_str()),
        "{listing}"
    );
    assert!(
        names.contains(&format!("{top}/README.md").as_str()),
        "{listing}"
    );
    assert!(names.iter().all(|n| n.starts_with(&top)), "{listing}");
    assert!(
        listing
            .lines()
            .any(|l| l.starts_with("-rwxr-xr-x") && l.ends_with("/crashdelta")),
        "{listing}"
    );
    // The sums check as sha256sum(1) checks them, and name the archives by file name only.
    let sums = fs::read_to_string(rel.sums()).unwrap();
    assert!(
        sums.contains(&format!("{}  {top}.tar.gz\n", sha256(&archive))),
        "{sums}"
    );
}

#[test]
fn the_homebrew_formula_is_rendered_from_the_releases_sums() {
    let rel = Releases::new();
    let render = |version: &str, sums: &Path| {
        Command::new("bash")
            .arg(root().join("packaging/homebrew/render.sh"))
            .arg(version)
            .arg(sums)
            .output()
            .unwrap()
    };
    let out = render("0.1.0", &rel.sums());
    assert!(out.status.success(), "{}", stderr(&out));
    let formula = String::from_utf8(out.stdout).unwrap();
    let universal = rel
        .dir
        .path()
        .join("download/v0.1.0/crashdelta-0.1.0-universal-apple-darwin.tar.gz");
    assert!(
        formula.starts_with("class Crashdelta < Formula\n"),
        "{formula}"
    );
    assert!(
        formula.contains(&format!("  sha256 \"{}\"\n", sha256(&universal))),
        "{formula}"
    );
    assert!(formula.contains("  version \"0.1.0\"\n"), "{formula}");
    assert!(
        formula
            .contains("releases/download/v0.1.0/crashdelta-0.1.0-universal-apple-darwin.tar.gz\""),
        "{formula}"
    );
    assert!(!formula.contains('@'), "no placeholder left: {formula}");
    // A release whose sums lack the universal archive gets no formula.
    let out = render("0.2.0", &rel.sums());
    assert!(!out.status.success());
    assert!(stderr(&out).contains("lists no"), "{}", stderr(&out));
}

/// The archive of a real binary carries its shell completions and man page, made by the binary
/// itself (`crashdelta generate`), so they always match its options.
#[test]
fn an_archive_of_the_real_binary_carries_completions_and_the_man_page() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg(root().join("packaging/archive.sh"))
        .args(["0.1.0", "test-target", env!("CARGO_BIN_EXE_crashdelta")])
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let listing = Command::new("tar")
        .arg("-tzf")
        .arg(dir.path().join("crashdelta-0.1.0-test-target.tar.gz"))
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    for file in [
        "completions/crashdelta.bash",
        "completions/_crashdelta",
        "completions/crashdelta.fish",
        "man/crashdelta.1",
    ] {
        assert!(
            listing.contains(&format!("crashdelta-0.1.0-test-target/{file}")),
            "{file}: {listing}"
        );
    }
}
