//! Provenance in the run record, from real temporary git repositories (clean, a modified tracked
//! file, an untracked file, no repository, no git on `PATH`), secrets never in clear, and
//! `--require-clean` refusing before the command runs.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{crashdelta, stderr};
use serde_json::Value;

/// A repository with one committed script, `run.sh`, and a report folder outside it.
struct Repo {
    dir: tempfile::TempDir,
}

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .current_dir(dir)
        .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
        .args(args)
        .output()
        .unwrap();
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

impl Repo {
    fn new(init: bool) -> Repo {
        let dir = tempfile::tempdir().unwrap();
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(repo.join("tests")).unwrap();
        std::fs::create_dir(dir.path().join("reports")).unwrap();
        std::fs::write(repo.join("run.sh"), "#!/bin/sh\necho ran\n").unwrap();
        std::fs::write(
            repo.join("tests/test_gpu.py"),
            "def test_gpu():\n    pass\n",
        )
        .unwrap();
        std::fs::write(
            repo.join("tests/test_other.py"),
            "def test_other():\n    pass\n",
        )
        .unwrap();
        if init {
            git(&repo, &["init", "-q", "-b", "main"]);
            git(&repo, &["add", "."]);
            git(&repo, &["commit", "-q", "-m", "tests"]);
        }
        Repo { dir }
    }

    fn repo(&self) -> std::path::PathBuf {
        self.dir.path().join("repo")
    }

    /// `watch ARGS -- /bin/sh run.sh` in the repository, with `env`; the JSON record and the
    /// run's output.
    fn watch(&self, args: &[&str], env: &[(&str, &str)]) -> (Output, Option<Value>) {
        let json = self.dir.path().join("run.json");
        let _ = std::fs::remove_file(&json);
        let mut cmd = crashdelta();
        cmd.current_dir(self.repo())
            .envs(env.iter().copied())
            .args(["watch", "--settle", "0s", "--reports-dir"])
            .arg(self.dir.path().join("reports"))
            .arg("--json")
            .arg(&json)
            .args(args)
            .args(["--", "/bin/sh", "run.sh"]);
        let out = cmd.output().unwrap();
        let record = std::fs::read_to_string(&json)
            .ok()
            .map(|t| serde_json::from_str(&t).unwrap());
        (out, record)
    }
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[test]
fn a_clean_repository_is_recorded_with_its_commit_and_files() {
    let r = Repo::new(true);
    let (out, record) = r.watch(&[], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let p = &record.unwrap()["provenance"];
    assert_eq!(p["argv"], serde_json::json!(["/bin/sh", "run.sh"]));
    assert_eq!(p["git"]["state"], "repository");
    assert_eq!(p["git"]["branch"], "main");
    assert_eq!(p["git"]["dirty"], false);
    assert_eq!(p["git"]["commit"].as_str().unwrap().len(), 40);
    // An interpreter's first file argument is the script; its hash is the file's.
    let script = std::fs::read(r.repo().join("run.sh")).unwrap();
    assert_eq!(p["script"]["sha256"], sha256(&script), "{p}");
    assert_eq!(p["executable"]["path"], "/bin/sh");
    // The human summary's footer says it too.
    let err = stderr(&out);
    assert!(err.contains("What ran:"), "{err}");
    assert!(err.contains("on main, clean"), "{err}");
}

#[test]
fn changed_and_untracked_files_are_listed_with_their_hashes() {
    let r = Repo::new(true);
    let (_, clean) = r.watch(&[], &[]);
    // The test the lock story is about: a global lock added around the GPU calls.
    let changed = "import threading\nLOCK = threading.Lock()\ndef test_gpu():\n    pass\n";
    std::fs::write(r.repo().join("tests/test_gpu.py"), changed).unwrap();
    std::fs::write(r.repo().join("notes.txt"), "scratch\n").unwrap();
    let (_, record) = r.watch(&[], &[]);
    let git = &record.unwrap()["provenance"]["git"];
    assert_eq!(git["dirty"], true, "{git}");
    assert_eq!(git["changed_files"], 2, "{git}");
    let changes = git["changes"].as_array().unwrap();
    let modified = changes
        .iter()
        .find(|c| c["path"] == "tests/test_gpu.py")
        .unwrap();
    assert_eq!(modified["status"], "modified");
    assert_eq!(modified["sha256"], sha256(changed.as_bytes()));
    assert!(
        changes
            .iter()
            .any(|c| c["path"] == "notes.txt" && c["status"] == "untracked"),
        "{git}"
    );
    // The diff's hash tells the two trees apart; a clean tree's is the hash of an empty diff.
    assert_eq!(
        clean.unwrap()["provenance"]["git"]["diff_sha256"],
        sha256(b"")
    );
    assert_ne!(git["diff_sha256"], sha256(b""));
}

#[test]
fn no_repository_and_no_git_are_said_not_failed() {
    let r = Repo::new(false);
    let (out, record) = r.watch(&[], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(
        record.unwrap()["provenance"]["git"]["state"],
        "no-repository"
    );
    // No git on PATH (the command is named by its full path, so it still runs).
    let r = Repo::new(true);
    let empty = tempfile::tempdir().unwrap();
    let (out, record) = r.watch(&[], &[("PATH", empty.path().to_str().unwrap())]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let p = &record.unwrap()["provenance"];
    assert_eq!(p["git"]["state"], "git-missing", "{p}");
    assert!(
        p["warnings"][0]
            .as_str()
            .unwrap()
            .contains("git was not found"),
        "{p}"
    );
    assert!(
        stderr(&out).contains("  Git:         git not found"),
        "{}",
        stderr(&out)
    );
    // A repository git refuses (another user owns it: "dubious ownership") is said as such, not
    // as no repository. Only where this test may give the repository away (as root in CI).
    let r = Repo::new(true);
    let given = Command::new("chown")
        .args(["-R", "65534"])
        .arg(r.repo())
        .status()
        .is_ok_and(|s| s.success());
    if given {
        let (out, record) = r.watch(&[], &[]);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let p = &record.unwrap()["provenance"];
        assert_eq!(p["git"]["state"], "failed", "{p}");
        assert!(
            p["warnings"][0]
                .as_str()
                .unwrap()
                .contains("safe.directory"),
            "{p}"
        );
    }
}

/// A changed file whose name is not UTF-8 is still hashed: it is the file git listed.
#[test]
fn a_file_whose_name_is_not_utf8_is_hashed() {
    use std::os::unix::ffi::OsStrExt;
    let r = Repo::new(true);
    let name = std::ffi::OsStr::from_bytes(b"bad\xffname.txt");
    std::fs::write(r.repo().join(name), "data\n").unwrap();
    let (_, record) = r.watch(&[], &[]);
    let git = &record.unwrap()["provenance"]["git"];
    let change = &git["changes"][0];
    assert_eq!(change["path"], "bad\u{fffd}name.txt", "{git}");
    assert_eq!(change["sha256"], sha256(b"data\n"), "{git}");
}

#[test]
fn configuration_variables_are_recorded_and_secrets_never_in_clear() {
    let r = Repo::new(true);
    let secret = "s3cr3t-value-that-must-not-leak";
    let (out, record) = r.watch(
        &["--record-env", "HF_*", "--format", "markdown"],
        &[
            ("MPS_USE_AGX_FIX", "1"),
            ("PYTORCH_MPS_API_TOKEN", secret),
            ("HF_TOKEN", secret),
            ("HF_HOME", "/cache/hf"),
            ("UNRELATED_SETTING", "x"),
        ],
    );
    let record = record.unwrap();
    let env = record["provenance"]["env"].as_array().unwrap();
    let get = |name: &str| env.iter().find(|v| v["name"] == name);
    assert_eq!(get("MPS_USE_AGX_FIX").unwrap()["value"], "1");
    assert_eq!(get("HF_HOME").unwrap()["value"], "/cache/hf");
    assert!(get("UNRELATED_SETTING").is_none());
    for name in ["PYTORCH_MPS_API_TOKEN", "HF_TOKEN"] {
        let v = get(name).unwrap();
        assert_eq!(v["value"], Value::Null);
        assert_eq!(v["sha256"], sha256(secret.as_bytes()));
    }
    // Nowhere in clear: the record, the Markdown on standard output, the summary.
    let everything = format!(
        "{record}{}{}",
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    assert!(!everything.contains(secret));
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("<summary>What ran</summary>"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // A comparison whose configuration sets a secret-looking variable: not in its names, its
    // configurations or its verdict either.
    let json = r.dir.path().join("compare.json");
    let out = crashdelta()
        .current_dir(r.repo())
        .args(["compare", "--runs", "1", "--settle", "0s", "--json"])
        .arg(&json)
        .arg("--reports-dir")
        .arg(r.dir.path().join("reports"))
        .arg("--b-env")
        .arg(format!("MPS_API_KEY={secret}"))
        .args(["--format", "markdown", "--", "/bin/sh", "run.sh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let everything = format!(
        "{}{}{}",
        std::fs::read_to_string(&json).unwrap(),
        String::from_utf8_lossy(&out.stdout),
        stderr(&out)
    );
    assert!(!everything.contains(secret), "{everything}");
    assert!(everything.contains("MPS_API_KEY=<secret>"), "{everything}");
}

#[test]
fn require_clean_refuses_before_running_and_names_the_files() {
    let r = Repo::new(true);
    let marker = r.repo().join("ran");
    std::fs::write(r.repo().join("run.sh"), "#!/bin/sh\ntouch ran\n").unwrap();
    git(&r.repo(), &["commit", "-q", "-am", "marker"]);
    // Clean: it runs.
    let (out, _) = r.watch(&["--require-clean"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(marker.exists());
    std::fs::remove_file(&marker).unwrap();
    // An untracked file is not a change to what was committed.
    std::fs::write(r.repo().join("notes.txt"), "scratch\n").unwrap();
    let (out, _) = r.watch(&["--require-clean"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::fs::remove_file(&marker).unwrap();
    // A modified test: refused (87), named, and the command never ran.
    std::fs::write(r.repo().join("tests/test_gpu.py"), "LOCK = 1\n").unwrap();
    let (out, record) = r.watch(&["--require-clean"], &[]);
    assert_eq!(out.status.code(), Some(87), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("tests/test_gpu.py (modified)"),
        "{}",
        stderr(&out)
    );
    assert!(!marker.exists());
    assert!(record.is_none());
    // Limited to the files that matter: another file's change does not count.
    let (out, _) = r.watch(&["--require-clean=tests/test_other.py,run.sh"], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    std::fs::remove_file(&marker).unwrap();
    let (out, _) = r.watch(&["--require-clean=tests"], &[]);
    assert_eq!(out.status.code(), Some(87), "{}", stderr(&out));
    // A path git does not track checks nothing: a typo, or an untracked new test, is refused.
    std::fs::write(r.repo().join("tests/test_new.py"), "LOCK = 1\n").unwrap();
    for path in ["tests/test_gpu_typo.py", "tests/test_new.py"] {
        let (out, _) = r.watch(&[&format!("--require-clean={path}")], &[]);
        assert_eq!(out.status.code(), Some(87), "{path}: {}", stderr(&out));
        assert!(
            stderr(&out).contains("is not a file git tracks"),
            "{}",
            stderr(&out)
        );
    }
    assert!(!marker.exists());
    // Outside a repository, or in one without a commit, the check cannot be made: refused.
    let bare = Repo::new(false);
    let (out, _) = bare.watch(&["--require-clean"], &[]);
    assert_eq!(out.status.code(), Some(87), "{}", stderr(&out));
    assert!(stderr(&out).contains("cannot check"), "{}", stderr(&out));
    git(&bare.repo(), &["init", "-q"]);
    let (out, _) = bare.watch(&["--require-clean"], &[]);
    assert_eq!(out.status.code(), Some(87), "{}", stderr(&out));
    assert!(stderr(&out).contains("with a commit"), "{}", stderr(&out));
}

/// A campaign whose runs did not all run the same tree says so: here the stress script edits a
/// test file as it ends (the lock story), so the second run measures another test.
#[test]
fn a_campaign_whose_runs_ran_different_trees_says_so() {
    let r = Repo::new(true);
    std::fs::write(
        r.repo().join("run.sh"),
        "#!/bin/sh\nsleep 0.4\necho '# edited' >> tests/test_gpu.py\n",
    )
    .unwrap();
    git(&r.repo(), &["commit", "-q", "-am", "editing stress script"]);
    let campaign = |args: &[&str]| {
        let mut cmd = crashdelta();
        cmd.current_dir(r.repo())
            .args(args)
            .args(["--settle", "0s", "--format", "json", "--reports-dir"])
            .arg(r.dir.path().join("reports"))
            .args(["--", "/bin/sh", "run.sh"]);
        let out = cmd.output().unwrap();
        let doc: Value =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", stderr(&out)));
        (doc, stderr(&out))
    };
    let (doc, err) = campaign(&["watch", "--repeat", "2"]);
    let drift = doc["drift"].as_array().unwrap();
    assert!(
        drift.iter().any(|d| {
            let d = d.as_str().unwrap();
            d.starts_with("the tracked changes (git diff hash) changed during the campaign")
                && d.contains("in run(s) 1;")
                && d.contains("in run(s) 2;")
        }),
        "{drift:?}"
    );
    assert!(err.contains("Warning: the tracked changes"), "{err}");
    git(&r.repo(), &["checkout", "-q", "--", "tests"]);
    let (doc, _) = campaign(&["compare", "--runs", "1", "--b-env", "MPS_USE_AGX_FIX=1"]);
    let drift = doc["drift"].as_array().unwrap();
    assert!(
        drift.iter().any(|d| d
            .as_str()
            .unwrap()
            .contains("A and B differ in more than their variables")),
        "{drift:?}"
    );
    // Runs of one unchanged tree: no drift.
    git(&r.repo(), &["checkout", "-q", "--", "tests"]);
    std::fs::write(r.repo().join("run.sh"), "#!/bin/sh\ntrue\n").unwrap();
    git(&r.repo(), &["commit", "-q", "-am", "quiet script"]);
    let (doc, _) = campaign(&["watch", "--repeat", "2"]);
    assert!(doc.get("drift").is_none(), "{doc}");
    // An untracked helper the script edits: the commit and the diff stay the same, the list of
    // changed files' hashes does not.
    std::fs::write(r.repo().join("helper.sh"), "A=1\n").unwrap();
    std::fs::write(
        r.repo().join("run.sh"),
        "#!/bin/sh\nsleep 0.4\necho 'A=2' >> helper.sh\n",
    )
    .unwrap();
    git(
        &r.repo(),
        &["commit", "-q", "-am", "edits its untracked helper"],
    );
    let (doc, _) = campaign(&["watch", "--repeat", "2"]);
    let drift = doc["drift"].as_array().unwrap();
    assert!(
        drift.iter().any(|d| d
            .as_str()
            .unwrap()
            .starts_with("the changed and untracked files changed")),
        "{drift:?}"
    );
    assert!(
        !drift
            .iter()
            .any(|d| d.as_str().unwrap().contains("git diff hash")),
        "{drift:?}"
    );
}

/// Provenance never hangs or drags a run: a link to `/dev/zero` or to a FIFO in the tree is not
/// read, a big untracked file is left unhashed for the budget (and counted), and a git that hangs
/// is killed with what it started.
#[test]
fn provenance_is_bounded_whatever_the_tree_holds() {
    let r = Repo::new(true);
    std::os::unix::fs::symlink("/dev/zero", r.repo().join("zero")).unwrap();
    let fifo = r.dir.path().join("fifo");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    std::os::unix::fs::symlink(&fifo, r.repo().join("to-fifo")).unwrap();
    // 300 MB, sparse: over the per-file limit, so never read; and three of 60 MB, more than
    // the per-run budget lets hashing read.
    std::fs::File::create(r.repo().join("big.bin"))
        .unwrap()
        .set_len(300 << 20)
        .unwrap();
    for i in 0..3 {
        std::fs::File::create(r.repo().join(format!("data{i}.bin")))
            .unwrap()
            .set_len(60 << 20)
            .unwrap();
    }
    let started = std::time::Instant::now();
    let (out, record) = r.watch(&[], &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(started.elapsed().as_secs() < 20, "{:?}", started.elapsed());
    let p = &record.unwrap()["provenance"];
    let change = |name: &str| {
        p["git"]["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["path"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name}: {p}"))
    };
    // A link is hashed as its target's text, as git stores it.
    assert_eq!(change("zero")["sha256"], sha256(b"/dev/zero"));
    assert_eq!(change("big.bin")["sha256"], Value::Null);
    assert!(p["took_ms"].as_u64().unwrap() < 2000, "{p}");
    assert!(
        p["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("not hashed")),
        "{p}"
    );

    // A git that starts a child and hangs: killed, the run goes on, and the record says so.
    let bin = r.dir.path().join("bin");
    std::fs::create_dir(&bin).unwrap();
    let fake = bin.join("git");
    std::fs::write(&fake, "#!/bin/sh\nsleep 30 &\nsleep 30\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.display());
    let started = std::time::Instant::now();
    let (out, record) = r.watch(&[], &[("PATH", &path)]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(started.elapsed().as_secs() < 10, "{:?}", started.elapsed());
    let p = &record.unwrap()["provenance"];
    assert_eq!(p["git"]["state"], "timed-out", "{p}");
    assert!(p["took_ms"].as_u64().unwrap() < 2000, "{p}");
}
