//! `crashdelta.toml`: a team's settings, kept in its repository beside the tests they gate.
//!
//! The file is found upward from the working directory (the first `crashdelta.toml` on the way
//! to the root), or named by `--config FILE` / `CRASHDELTA_CONFIG`; `--no-config` ignores it.
//! Its keys are the long names of the options they stand for, and apply to every command that
//! has that option, as the option's environment variable does:
//!
//! ```toml
//! fail-on = "agx"                # --fail-on
//! allow = ["my-known-abort"]     # --allow, repeated
//! attribute = "run"              # --attribute
//! settle = "10s"                 # --settle
//! settle-max = "2m"              # --settle-max
//! kill-after = "5s"              # --kill-after
//! rules = "ci/crash-rules.toml"  # --rules
//! reports-dir = ["reports"]      # --reports-dir, repeated
//! symbols = ["build/MyLib.dSYM"] # --symbols, repeated
//! cache-dir = "target/symcache"  # --cache-dir
//! history = "ci/crashes.sqlite"  # --history (a file, or a postgres:// URL)
//! ```
//!
//! Paths are relative to the file's folder, so a setting means the same from any subfolder.
//! What wins: a flag on the command line, then the option's environment variable
//! (`CRASHDELTA_FAIL_ON`, ...), then the file, then the built-in default.
//!
//! The settings become words of the command line (`--settle=10s`) inserted after the
//! subcommand's name for each option the user left to its default, and clap parses the line
//! again: every value is checked by the same parser, with the same message, as if typed. A key
//! that is not one of the above is an error naming it, never silently ignored (a typo in a gate
//! policy would otherwise pass every crash).

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use clap::ArgMatches;
use clap::parser::ValueSource;
use serde::Deserialize;

/// The file's name, looked for upward from the working directory.
pub const FILE_NAME: &str = "crashdelta.toml";

/// What a `crashdelta.toml` may say: the options a team shares. Each is `None` when not set.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct Settings {
    fail_on: Option<String>,
    allow: Option<Vec<String>>,
    attribute: Option<String>,
    settle: Option<String>,
    settle_max: Option<String>,
    kill_after: Option<String>,
    rules: Option<PathBuf>,
    reports_dir: Option<Vec<PathBuf>>,
    symbols: Option<Vec<PathBuf>>,
    cache_dir: Option<PathBuf>,
    history: Option<PathBuf>,
}

/// One setting: the option's id in clap (the field's name), its flag, and its values.
struct Setting {
    id: &'static str,
    flag: &'static str,
    values: Vec<OsString>,
}

/// A settings file that was read.
pub struct Config {
    /// Where it was read from.
    pub path: PathBuf,
    settings: Settings,
}

impl Config {
    /// The file `--config`/`CRASHDELTA_CONFIG` names, else the first `crashdelta.toml` upward
    /// from `cwd`; `None` with `--no-config` or when there is none.
    ///
    /// The search stops at the repository's root (the folder with `.git`): a team's settings
    /// live in its repository, and a file above it (a shared `/tmp`, another user's folder) is
    /// not theirs. A file found upward that another user owns, or anyone may write, is ignored
    /// with the reason (the second value), as git ignores a repository another user owns.
    pub fn locate(matches: &ArgMatches, cwd: &Path) -> Result<(Option<Config>, Option<String>)> {
        if matches.get_flag("no_config") {
            return Ok((None, None));
        }
        // CRASHDELTA_CONFIG is read here rather than by clap: empty means unset, as for the
        // other variables, and --no-config wins over it.
        let from_env = std::env::var_os("CRASHDELTA_CONFIG")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        let path = match matches.get_one::<PathBuf>("config").cloned().or(from_env) {
            Some(named) => named,
            None => match found_upward(cwd) {
                Some(found) => {
                    if let Some(why) = not_trusted(&found) {
                        return Ok((None, Some(why)));
                    }
                    found
                }
                None => return Ok((None, None)),
            },
        };
        Config::read(&path).map(|c| (Some(c), None))
    }

    /// Whether the file sets what the gate judges by (a settings file found upward can pass
    /// crashes): the run then says where the settings came from even under `--quiet`.
    pub fn sets_the_gate(&self, used: &[&str]) -> bool {
        used.iter()
            .any(|f| matches!(*f, "--fail-on" | "--allow" | "--attribute" | "--rules"))
    }

    /// Reads and checks a settings file.
    pub fn read(path: &Path) -> Result<Config> {
        // As a rules file: a regular file, capped (`--config /dev/zero`, a FIFO, refused).
        let cap = crashdelta::input::Cap {
            limit: crashdelta::input::RULES.limit,
            what: "a settings file",
        };
        let cannot = || {
            format!(
                "cannot read the settings file {} (--config, CRASHDELTA_CONFIG; --no-config ignores it)",
                path.display()
            )
        };
        let bytes = crashdelta::input::read_capped(path, cap).with_context(cannot)?;
        let text = String::from_utf8(bytes)
            .map_err(|_| anyhow::anyhow!("it is not UTF-8 text (a settings file is TOML)"))
            .with_context(cannot)?;
        let settings: Settings = toml::from_str(&text).map_err(|e| {
            // toml's own rendering draws the line with a caret over several lines; one line
            // reads better on standard error, where newlines would be escaped.
            let line = e
                .span()
                .map(|span| text.get(..span.start).unwrap_or("").matches('\n').count() + 1);
            anyhow::anyhow!(
                "the settings file {}{} is not valid: {} (its keys are the long names of options; \
                 --no-config ignores the file)",
                path.display(),
                line.map(|l| format!(", line {l},")).unwrap_or_default(),
                e.message().trim_end()
            )
        })?;
        // Relative paths are the file's; an absolute path keeps the settings of a file named by
        // a relative --config right when crashdelta runs from elsewhere.
        let path = std::path::absolute(path).unwrap_or_else(|_| path.to_owned());
        Ok(Config { path, settings })
    }

    /// The settings, each with its option's id and flag.
    fn settings(&self) -> Vec<Setting> {
        let folder = self.path.parent().unwrap_or(Path::new("."));
        let path = |p: &PathBuf| folder.join(p).into_os_string();
        let s = &self.settings;
        let one = |id, flag, v: &Option<String>| Setting {
            id,
            flag,
            values: v.iter().map(OsString::from).collect(),
        };
        vec![
            one("fail_on", "--fail-on", &s.fail_on),
            Setting {
                id: "allow",
                flag: "--allow",
                values: s.allow.iter().flatten().map(OsString::from).collect(),
            },
            one("attribute", "--attribute", &s.attribute),
            one("settle", "--settle", &s.settle),
            one("settle_max", "--settle-max", &s.settle_max),
            one("kill_after", "--kill-after", &s.kill_after),
            Setting {
                id: "rules",
                flag: "--rules",
                values: s.rules.iter().map(path).collect(),
            },
            Setting {
                id: "reports_dir",
                flag: "--reports-dir",
                values: s.reports_dir.iter().flatten().map(path).collect(),
            },
            Setting {
                id: "symbols",
                flag: "--symbols",
                values: s.symbols.iter().flatten().map(path).collect(),
            },
            Setting {
                id: "cache_dir",
                flag: "--cache-dir",
                values: s.cache_dir.iter().map(path).collect(),
            },
            Setting {
                id: "history",
                flag: "--history",
                // A PostgreSQL URL is no path: it is passed on as written.
                values: s
                    .history
                    .iter()
                    .map(|h| match h.to_str() {
                        Some(url) if crashdelta::history::is_postgres_url(url) => url.into(),
                        _ => path(h),
                    })
                    .collect(),
            },
        ]
    }

    /// `args` with the settings inserted as `--flag=value` words: at each level of subcommand
    /// (`rules`, then `explain`), after its name, for the options that level defines and the
    /// user left alone (not on the command line, not from its environment variable). Returns the
    /// new words and the flags they stand for.
    pub fn apply(
        &self,
        args: &[OsString],
        cmd: &clap::Command,
        matches: &ArgMatches,
    ) -> (Vec<OsString>, Vec<&'static str>) {
        let settings = self.settings();
        let mut inserts: Vec<(usize, Vec<OsString>)> = Vec::new();
        let mut used = Vec::new();
        let (mut cmd, mut matches, mut from) = (cmd, matches, 0);
        while let Some((name, sub_matches)) = matches.subcommand()
            && let Some(sub) = cmd.find_subcommand(name)
        {
            // The first word equal to the name after the level above's: the options before
            // it take no value that could be a subcommand's name.
            let Some(at) = args
                .iter()
                .enumerate()
                .skip(from + 1)
                .find(|(_, a)| *a == OsStr::new(name))
                .map(|(i, _)| i)
            else {
                break;
            };
            let mut words = Vec::new();
            for setting in &settings {
                let has = sub.get_arguments().any(|a| a.get_id() == setting.id);
                if !has || setting.values.is_empty() || given(sub_matches, setting.id) {
                    continue;
                }
                for value in &setting.values {
                    let mut word = OsString::from(setting.flag);
                    word.push("=");
                    word.push(value);
                    words.push(word);
                }
                used.push(setting.flag);
            }
            inserts.push((at + 1, words));
            (cmd, matches, from) = (sub, sub_matches, at);
        }
        let mut out = args.to_vec();
        // The deepest first, so that the positions of the levels above stay right.
        for (at, words) in inserts.into_iter().rev() {
            let tail = out.split_off(at.min(out.len()));
            out.extend(words);
            out.extend(tail);
        }
        (out, used)
    }
}

/// The first `crashdelta.toml` from `cwd` up to the repository's root (or the file system's).
fn found_upward(cwd: &Path) -> Option<PathBuf> {
    for dir in cwd.ancestors() {
        let file = dir.join(FILE_NAME);
        if file.is_file() {
            return Some(file);
        }
        if dir.join(".git").exists() {
            return None;
        }
    }
    None
}

/// Why a file found upward is not the user's to trust: owned by another user (root aside), or
/// writable by anyone.
fn not_trusted(file: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let meta = std::fs::metadata(file).ok()?;
    // SAFETY: geteuid(2) has no failure and touches no memory.
    let me = unsafe { libc::geteuid() };
    let why = if meta.uid() != me && meta.uid() != 0 {
        "another user owns it"
    } else if meta.mode() & 0o002 != 0 {
        "anyone may write it"
    } else {
        return None;
    };
    Some(format!(
        "ignored the settings file {}: {why} (--config FILE reads it anyway)",
        file.display()
    ))
}

/// Whether the user gave the option `id`: on the command line or through its environment
/// variable. `--reports-dir` has its variable read by hand (`CRASHDELTA_REPORTS_DIR`, a list),
/// so a set variable counts here too.
fn given(matches: &ArgMatches, id: &str) -> bool {
    if id == "reports_dir"
        && std::env::var_os("CRASHDELTA_REPORTS_DIR").is_some_and(|v| !v.is_empty())
    {
        return true;
    }
    matches!(
        matches.value_source(id),
        Some(ValueSource::CommandLine | ValueSource::EnvVariable)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn os(words: &[&str]) -> Vec<OsString> {
        words.iter().map(OsString::from).collect()
    }

    fn applied(toml: &str, args: &[&str]) -> Vec<OsString> {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(FILE_NAME);
        std::fs::write(&file, toml).unwrap();
        let config = Config::read(&file).unwrap();
        let cmd = crate::cli::args::command();
        let args = os(args);
        let matches = cmd.clone().try_get_matches_from(&args).unwrap();
        config.apply(&args, &cmd, &matches).0
    }

    #[test]
    fn settings_go_after_the_subcommand_and_before_the_command() {
        assert_eq!(
            applied(
                "settle = \"1s\"\n",
                &["crashdelta", "--color", "never", "watch", "--", "watch"]
            ),
            os(&[
                "crashdelta",
                "--color",
                "never",
                "watch",
                "--settle=1s",
                "--",
                "watch"
            ])
        );
    }

    /// `rules explain`: `--rules` is an option of `rules`, `--symbols` of `explain`.
    #[test]
    fn settings_go_to_the_level_that_has_them() {
        assert_eq!(
            applied(
                "rules = \"/r.toml\"\nsymbols = [\"/s\"]\n",
                &["crashdelta", "rules", "explain", "x.ips"]
            ),
            os(&[
                "crashdelta",
                "rules",
                "--rules=/r.toml",
                "explain",
                "--symbols=/s",
                "x.ips"
            ])
        );
    }

    #[test]
    fn an_unknown_key_is_an_error_that_names_it() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(FILE_NAME);
        std::fs::write(&file, "fail_on = \"agx\"\n").unwrap();
        let e = format!("{:#}", Config::read(&file).err().unwrap());
        assert!(e.contains("unknown field `fail_on`"), "{e}");
    }

    #[test]
    fn paths_are_the_files_own() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(FILE_NAME);
        std::fs::write(&file, "rules = \"ci/rules.toml\"\nallow = [\"a\", \"b\"]\n").unwrap();
        let config = Config::read(&file).unwrap();
        let settings = config.settings();
        let rules = settings.iter().find(|s| s.id == "rules").unwrap();
        assert_eq!(
            rules.values,
            vec![dir.path().join("ci/rules.toml").into_os_string()]
        );
        let allow = settings.iter().find(|s| s.id == "allow").unwrap();
        assert_eq!(allow.values, os(&["a", "b"]));
        // A history's URL is no path in the file's folder.
        for (history, value) in [
            (
                "postgres://ci@db/crashes",
                "postgres://ci@db/crashes".into(),
            ),
            (
                "team.sqlite",
                dir.path().join("team.sqlite").into_os_string(),
            ),
        ] {
            std::fs::write(&file, format!("history = \"{history}\"\n")).unwrap();
            let settings = Config::read(&file).unwrap().settings();
            let found = settings.iter().find(|s| s.id == "history").unwrap();
            assert_eq!(found.values, vec![value]);
        }
    }
}
