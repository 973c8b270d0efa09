//! The exit codes against docs/exit-codes.md and `--help`, and the precedence.

use super::*;

const DOCS: &str = include_str!("../../../docs/exit-codes.md");

/// Every first cell of every table row in docs/exit-codes.md, split at `/`.
fn documented_codes() -> Vec<String> {
    DOCS.lines()
        .filter(|l| l.starts_with('|') && !l.starts_with("|---"))
        .filter_map(|l| l.split('|').nth(1))
        .map(str::trim)
        .filter(|c| *c != "code")
        .flat_map(|c| c.split('/').map(|s| s.trim().to_owned()))
        .collect()
}

/// What a documented code is: a number, or the watched command's own.
fn exit_for(doc_code: &str) -> Option<Exit> {
    Some(match doc_code {
        "0" => Exit::Ok,
        "1" => Exit::InputErrors,
        "86" => Exit::GateFailed,
        "87" => Exit::Unclean,
        "125" => Exit::ToolError,
        "126" => Exit::CannotRun,
        "127" => Exit::NotFound,
        "130" => Exit::Interrupted,
        "128+N" | "the command's" | "the first failing run's" => Exit::Command(128 + 9),
        _ => return None,
    })
}

#[test]
fn every_code_in_the_docs_is_an_exit_and_in_the_help_and_the_other_way_round() {
    let documented = documented_codes();
    assert!(documented.len() >= 12, "{documented:?}");
    let help = help();
    for code in &documented {
        let exit = exit_for(code)
            .unwrap_or_else(|| panic!("docs/exit-codes.md documents {code:?}: no Exit is"));
        if let Exit::Command(_) = exit {
            assert!(help.contains("128+N"), "{help}");
        } else {
            let n = exit.code().to_string();
            assert!(
                TABLE.iter().any(|(c, _)| *c == n),
                "{code} is documented but not in --help"
            );
        }
    }
    for (code, _) in TABLE {
        assert!(
            documented.iter().any(|d| d == code),
            "--help lists {code}; docs/exit-codes.md does not"
        );
    }
}

#[test]
fn the_precedence_is_the_documented_one() {
    // The order docs/exit-codes.md gives, as a numbered list under "## Precedence".
    let section = DOCS
        .split("## Precedence")
        .nth(1)
        .unwrap_or_else(|| panic!("docs/exit-codes.md has no Precedence section"));
    let order: Vec<&str> = section
        .lines()
        .take_while(|l| !l.starts_with("## "))
        .filter_map(|l| l.split_once(". ").filter(|(n, _)| n.parse::<u8>().is_ok()))
        .map(|(_, rest)| rest)
        .collect();
    assert_eq!(order.len(), 5, "{order:?}");
    let crashed = watch::Exit {
        code: None,
        signal: Some(11),
    };
    // Each step of the list, as the ending that makes it true.
    let steps = [
        (
            "interrupted",
            Ending {
                interrupted: true,
                ..Default::default()
            },
            Exit::Interrupted,
        ),
        (
            "the gate failed",
            Ending {
                gate_failed: true,
                ..Default::default()
            },
            Exit::GateFailed,
        ),
        (
            "the watched command failed",
            Ending {
                command: Some(crashed),
                ..Default::default()
            },
            Exit::Command(139),
        ),
        (
            "could not be read",
            Ending {
                unreadable: true,
                ..Default::default()
            },
            Exit::InputErrors,
        ),
        ("otherwise 0", Ending::default(), Exit::Ok),
    ];
    for (i, (word, _, _)) in steps.iter().enumerate() {
        assert!(
            order.get(i).is_some_and(|l| l.contains(word)),
            "step {} of the documented precedence should be about {word:?}: {order:?}",
            i + 1
        );
    }
    // Every pair: the earlier step wins.
    for (i, (_, a, want)) in steps.iter().enumerate() {
        for (_, b, _) in steps.iter().skip(i + 1) {
            let both = Ending {
                interrupted: a.interrupted || b.interrupted,
                gate_failed: a.gate_failed || b.gate_failed,
                command: a.command.or(b.command),
                unreadable: a.unreadable || b.unreadable,
            };
            assert_eq!(Exit::of(both), *want, "{both:?}");
        }
    }
}

#[test]
fn the_commands_own_code_passes_through() {
    let exit = |code, signal| Exit::of_command(watch::Exit { code, signal });
    assert_eq!(exit(Some(0), None), Exit::Ok);
    assert_eq!(exit(Some(3), None), Exit::Command(3));
    assert_eq!(exit(None, Some(9)).code(), 137);
    assert_eq!(exit(Some(1000), None), Exit::ToolError);
    assert_eq!(exit(None, None), Exit::ToolError);
    assert_eq!(
        Exit::cannot_run(&SpawnError::NotFound("x".into())).code(),
        127
    );
}

#[test]
fn a_closed_pipe_is_not_an_error() {
    let pipe = anyhow::Error::new(io::Error::from(io::ErrorKind::BrokenPipe))
        .context("cannot write the output");
    assert_eq!(Exit::of_error(&pipe), Exit::Ok);
    assert_eq!(Exit::of_error(&anyhow::anyhow!("bad")), Exit::ToolError);
}

#[test]
fn a_command_killed_after_an_interrupt_still_exits_130() {
    // The command ignored SIGINT and was killed with SIGKILL (`--kill-after`, or a second
    // interrupt): the interrupt, not the SIGKILL (137), is what the exit code says.
    let killed = watch::Exit {
        code: None,
        signal: Some(libc::SIGKILL),
    };
    let ending = Ending {
        interrupted: true,
        gate_failed: true,
        command: Some(killed),
        unreadable: false,
    };
    assert_eq!(Exit::of(ending).code(), 130);
}
