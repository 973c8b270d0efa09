//! What `crashdelta --version` says besides the version: the git commit it was built from and
//! the target triple, so that a bug report or a CI log names the exact binary.
//!
//! - `CRASHDELTA_COMMIT`: `git rev-parse --short HEAD`, with `+dirty` when tracked files differ
//!   from it; `unknown` when the source is not a git checkout of this package (a crates.io
//!   tarball, a vendored copy inside some other repository) or git is not installed.
//! - `CRASHDELTA_TARGET`: the triple cargo builds for (`TARGET`).
//!
//! The script reruns when HEAD moves (a checkout, a commit: `.git/HEAD`, the branch's ref,
//! `packed-refs`) or the index changes (a `git add`). An edit that is not staged does not rerun
//! it, so a local build may show `+dirty` late; a release build starts from a clean checkout.
//! In a worktree, `.git` is a file: git itself says where HEAD and the refs are.

use std::path::{Path, PathBuf};
use std::process::Command;

fn main() {
    let target = std::env::var("TARGET").unwrap_or_else(|_| "unknown".to_owned());
    println!("cargo:rustc-env=CRASHDELTA_TARGET={target}");
    let dir = PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default());
    let commit = commit(&dir).unwrap_or_else(|| "unknown".to_owned());
    println!("cargo:rustc-env=CRASHDELTA_COMMIT={commit}");
    // Without any rerun-if line cargo would rerun this script on every change in the package,
    // and then rebuild the crate even when only a test changed.
    println!("cargo:rerun-if-changed=build.rs");
}

/// `git` in `dir`, its standard output trimmed when it succeeded.
fn git(dir: &Path, args: &[&str]) -> Option<String> {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    Some(String::from_utf8(out.stdout).ok()?.trim().to_owned())
}

/// The short commit (`+dirty` when tracked files changed), or `None` outside this package's own
/// checkout.
fn commit(dir: &Path) -> Option<String> {
    // A package unpacked inside another repository is not that repository's commit.
    let top = git(dir, &["rev-parse", "--show-toplevel"])?;
    if !same_dir(Path::new(&top), dir) {
        return None;
    }
    watch_git_files(dir);
    let hash = git(dir, &["rev-parse", "--short", "HEAD"])?;
    // Exit 1 means there are differences; anything else than 0 or 1 is not an answer.
    let dirty = Command::new("git")
        .args(["diff-index", "--quiet", "HEAD", "--"])
        .current_dir(dir)
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE")
        .status()
        .ok()
        .and_then(|s| s.code())
        == Some(1);
    Some(if dirty { format!("{hash}+dirty") } else { hash })
}

fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Reruns this script when HEAD, the branch it points to, the packed refs or the index change.
fn watch_git_files(dir: &Path) {
    let mut files = vec![
        "HEAD".to_owned(),
        "packed-refs".to_owned(),
        "index".to_owned(),
    ];
    if let Some(branch) = git(dir, &["symbolic-ref", "-q", "HEAD"]) {
        files.push(branch);
    }
    for file in files {
        if let Some(path) = git(dir, &["rev-parse", "--git-path", &file]) {
            let path = dir.join(path);
            if path.exists() {
                println!("cargo:rerun-if-changed={}", path.display());
            }
        }
    }
}
