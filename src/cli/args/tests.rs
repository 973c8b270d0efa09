//! The two parsing stages: what clap refuses, what `Cli::check` refuses, and what converts.

use std::time::Duration;

use crashdelta::classify::{GatePolicy, Scope};
use crashdelta::run::Timing;

use super::*;

#[test]
fn the_arguments_are_consistent() {
    Cli::command().debug_assert();
}

fn parse(args: &[&str]) -> Result<Cli, clap::Error> {
    Cli::try_parse_from(args).and_then(|c| c.check().map(|()| c))
}

#[test]
fn a_format_a_command_cannot_write_is_refused_when_parsing() {
    let refused = |args: &[&str]| parse(args).err().map(|e| e.kind());
    assert_eq!(
        refused(&["crashdelta", "diff", "before.json", "--format", "html"]),
        Some(clap::error::ErrorKind::InvalidValue)
    );
    assert_eq!(
        refused(&["crashdelta", "classify", "x", "--format", "html"]),
        Some(clap::error::ErrorKind::InvalidValue)
    );
    assert_eq!(
        refused(&["crashdelta", "watch", "--format", "html", "--", "true"]),
        Some(clap::error::ErrorKind::ArgumentConflict)
    );
    assert!(
        parse(&[
            "crashdelta",
            "watch",
            "--repeat",
            "2",
            "--format",
            "html",
            "--",
            "true"
        ])
        .is_ok()
    );
    assert!(parse(&["crashdelta", "stats", "x", "--format", "junit"]).is_err());
    assert!(parse(&["crashdelta", "show", "x", "--format", "markdown"]).is_err());
}

#[test]
fn the_names_earlier_versions_used_still_work() {
    let format = |args: &[&str]| match parse(args).map(|c| c.command) {
        Ok(Command::Classify(a)) => Some(a.format),
        Ok(Command::Show(a)) => Some(a.format),
        Ok(Command::Stats(a)) => Some(a.format),
        _ => None,
    };
    assert_eq!(
        format(&["crashdelta", "classify", "x", "--format", "table"]),
        Some(Format::Human)
    );
    assert_eq!(
        format(&["crashdelta", "show", "x", "--format", "text"]),
        Some(Format::Human)
    );
    assert_eq!(format(&["crashdelta", "stats", "x"]), Some(Format::Human));
    assert_eq!(
        format(&["crashdelta", "classify", "x", "--format", "junit"]),
        Some(Format::Junit)
    );
}

#[test]
fn gate_arguments_become_the_librarys_policy() {
    let Ok(Command::Watch(w)) = parse(&[
        "crashdelta",
        "watch",
        "--fail-on",
        "agx",
        "--allow",
        "r1",
        "--attribute",
        "any",
        "--settle",
        "2",
        "--",
        "true",
    ])
    .map(|c| c.command) else {
        panic!("watch parses");
    };
    let policy = GatePolicy::from(&w.gate);
    assert_eq!(policy.fail_on, FailOn::Agx);
    assert_eq!(policy.allow, ["r1"]);
    assert_eq!(policy.scope, Scope::Any);
    assert_eq!(Timing::from(&w.timing).settle, Duration::from_secs(2));
}

#[test]
fn durations_out_of_range_are_argument_errors_that_name_the_flag() {
    for (flag, value) in [
        ("--settle", "1e30"),
        ("--settle-max", "1e30"),
        ("--kill-after", "1e300"),
        ("--settle", "18446744073709551616"),
        ("--settle", "-1"),
        ("--settle", "NaN"),
        ("--settle", "inf"),
        ("--settle", "8d"),
        ("--settle-max", "1000000000000y"),
    ] {
        let arg = format!("{flag}={value}");
        let err = match parse(&["crashdelta", "watch", &arg, "--", "true"]) {
            Err(e) => e,
            Ok(_) => panic!("{arg} was taken"),
        };
        assert_eq!(err.kind(), clap::error::ErrorKind::ValueValidation, "{arg}");
        let text = err.to_string();
        assert!(text.contains(flag), "{arg}: {text}");
        assert!(text.contains("0 to 7 days"), "{arg}: {text}");
    }
    let Ok(Command::Watch(w)) = parse(&[
        "crashdelta",
        "watch",
        "--settle=0.25",
        "--settle-max=7d",
        "--kill-after=0",
        "--kill-leftovers",
        "--",
        "true",
    ])
    .map(|c| c.command) else {
        panic!("watch parses");
    };
    let t = Timing::from(&w.timing);
    assert_eq!(t.settle, Duration::from_millis(250));
    assert_eq!(t.settle_max, super::groups::MAX_DURATION);
    assert_eq!(t.kill_after, Duration::ZERO);
    assert!(t.kill_leftovers);
}
