//! The command's output on a terminal (issue 14): a pseudo-terminal stands in for crashdelta's
//! terminal, so the command still writes to a terminal (colours, `\r` progress lines, the
//! terminal's width) while its output is read for which test crashed. The real binary runs on a
//! pseudo-terminal of its own: util-linux `script` (as in tests/signals.rs), or one this file
//! opens where the test resizes it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{PYTHON_DIES, WRITE_RACE, no_pty, on_terminal_line, shell_quote, wait_for};

fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_crashdelta")
}

/// `crashdelta watch ARGS -- sh -c SCRIPT` as a shell line, with `env` set.
fn watch_line(env: &[(&str, &str)], args: &[&str], script: &str) -> String {
    env.iter()
        .map(|(k, v)| format!("{k}={}", shell_quote(v)))
        .chain(
            [bin(), "watch"]
                .into_iter()
                .chain(args.iter().copied())
                .chain(["--", "sh", "-c", script])
                .map(shell_quote),
        )
        .collect::<Vec<_>>()
        .join(" ")
}

/// What the command sees: whether each stream is a terminal, and which file each of its standard
/// input, output and error is, and its controlling terminal (Linux: /proc and ps).
const SEES: &str = r#"
for fd in 0 1 2; do
  if [ -t $fd ]; then echo "fd $fd: terminal $(readlink /proc/$$/fd/$fd)"; else echo "fd $fd: not a terminal"; fi
done
echo "controlling: /dev/$(ps -o tty= -p $$ | tr -d ' ')"
"#;

/// `fd N: terminal /dev/pts/M` lines and the `controlling:` line, read off what the terminal
/// showed: the files of fd 0, 1, 2 and the controlling terminal.
fn seen(shown: &str) -> [String; 4] {
    let find = |prefix: &str| {
        shown
            .lines()
            .find_map(|l| l.trim_end_matches('\r').strip_prefix(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} in:\n{shown}"))
            .to_string()
    };
    [
        find("fd 0: "),
        find("fd 1: "),
        find("fd 2: "),
        find("controlling: "),
    ]
}

/// A real crash on a terminal: the command sees terminals (its standard output and error are a
/// pseudo-terminal, its input and controlling terminal the real one), prints colours and a `\r`
/// progress line, and Python dies of SIGSEGV with faulthandler on; the script then writes the
/// race report for that pid (standing in for ReportCrash). Every byte reaches the terminal as
/// written, and the crash gets its Python stack from the captured dump.
#[test]
fn on_a_terminal_the_command_keeps_a_terminal_and_its_output_is_read() {
    if no_pty() {
        return;
    }
    if Command::new("python3").arg("--version").output().is_err() {
        eprintln!("skipped: no python3 on this machine");
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let reports = dir.path().join("reports");
    std::fs::create_dir(&reports).unwrap();
    let record = dir.path().join("record.json");
    let script = format!(
        "{WRITE_RACE}{SEES}{}{PYTHON_DIES}",
        r#"
printf '\033[32mPASSED\033[0m plain\n'
printf 'progress 1/3\rprogress 2/3\rprogress 3/3\n'
echo one; echo two >&2; echo three
"#
    );
    let race = common::root().join(common::RACE);
    let line = watch_line(
        &[
            ("REPORTS", reports.to_str().unwrap()),
            ("RACE", race.to_str().unwrap()),
        ],
        &[
            "--settle",
            "0.5s",
            "--format",
            "json",
            "--output",
            record.to_str().unwrap(),
            "--reports-dir",
            reports.to_str().unwrap(),
        ],
        &script,
    );
    let (status, shown, took) = on_terminal_line(&line, &[], Duration::from_secs(60));
    assert!(status.is_some(), "still running after {took:?}\n{shown}");
    assert_eq!(status.unwrap().code(), Some(86), "{shown}");

    // The command's standard output and error are one terminal, not the real one; its input and
    // its controlling terminal are the real one.
    let [input, out, err, controlling] = seen(&shown);
    assert!(input.starts_with("terminal /dev/"), "{input}");
    assert!(out.starts_with("terminal /dev/"), "{out}");
    assert_eq!(out, err, "{shown}");
    assert_ne!(out, input, "{shown}");
    assert_eq!(
        Some(controlling.as_str()),
        input.strip_prefix("terminal "),
        "{shown}"
    );

    // The bytes as written (the outer terminal adds one `\r` before each `\n`, and only one), in
    // the order written across the two streams.
    assert!(
        shown.contains("\x1b[32mPASSED\x1b[0m plain\r\n"),
        "{shown:?}"
    );
    assert!(
        shown.contains("progress 1/3\rprogress 2/3\rprogress 3/3\r\n"),
        "{shown:?}"
    );
    assert!(shown.contains("one\r\ntwo\r\nthree\r\n"), "{shown:?}");
    assert!(
        !shown.contains("\r\r\n"),
        "a \\n went through two line disciplines: {shown:?}"
    );
    assert!(
        shown.contains("Fatal Python error: Segmentation fault"),
        "{shown}"
    );

    // The crash has its Python stack, from the captured dump.
    assert!(
        shown.contains("  Python:    __init__.py:519 in string_at ← <string>:3 in gather"),
        "{shown}"
    );
    let doc: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&record).unwrap()).unwrap();
    let test = &doc["new"][0]["test"];
    assert_eq!(test["evidence"]["runner"], "faulthandler", "{test}");
    assert_eq!(
        test["evidence"]["python_stack"][0]["function"], "string_at",
        "{test}"
    );
    assert!(
        doc["warnings"].as_array().is_none_or(Vec::is_empty),
        "{doc}"
    );
}

/// `--no-capture`: the command's streams are the real terminal, untouched.
#[test]
fn without_capture_the_command_writes_to_the_real_terminal() {
    if no_pty() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let line = watch_line(
        &[],
        &[
            "--settle",
            "0s",
            "--no-capture",
            "--reports-dir",
            dir.path().to_str().unwrap(),
        ],
        SEES,
    );
    let (status, shown, took) = on_terminal_line(&line, &[], Duration::from_secs(30));
    assert!(status.is_some(), "still running after {took:?}\n{shown}");
    assert_eq!(status.unwrap().code(), Some(0), "{shown}");
    let [input, out, err, controlling] = seen(&shown);
    assert!(input.starts_with("terminal /dev/"), "{input}");
    assert_eq!(out, input, "{shown}");
    assert_eq!(err, input, "{shown}");
    assert_eq!(
        Some(controlling.as_str()),
        input.strip_prefix("terminal "),
        "{shown}"
    );
}

/// Standard error on the terminal and standard output to a pipe (`| tee log`): standard output is
/// captured through the pipe, as before; standard error through a pseudo-terminal of its own.
#[test]
fn only_the_streams_on_a_terminal_get_a_pseudo_terminal() {
    if no_pty() {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let out_file = dir.path().join("out");
    let line = format!(
        "{} > {}",
        watch_line(
            &[],
            &[
                "--settle",
                "0s",
                "--reports-dir",
                dir.path().to_str().unwrap()
            ],
            SEES,
        ),
        shell_quote(out_file.to_str().unwrap())
    );
    let (status, shown, took) = on_terminal_line(&line, &[], Duration::from_secs(30));
    assert!(status.is_some(), "still running after {took:?}\n{shown}");
    assert_eq!(status.unwrap().code(), Some(0), "{shown}");
    let written = std::fs::read_to_string(&out_file).unwrap();
    let [input, out, err, _] = seen(&written);
    assert_eq!(out, "not a terminal", "{written}");
    assert!(err.starts_with("terminal /dev/"), "{err}");
    assert_ne!(err, input, "{written}");
}

/// A pseudo-terminal this test opens, with crashdelta on it as a session's leader (its
/// controlling terminal) and `rows` x `cols`: the master, to read and resize.
fn spawn_on_pty(rows: u16, cols: u16, args: &[&str]) -> (OwnedFd, std::process::Child) {
    let (mut master, mut slave) = (-1, -1);
    let mut size = libc::winsize {
        ws_row: rows,
        ws_col: cols,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: openpty(3) with valid out-pointers and size; no name, default modes.
    let made = unsafe {
        libc::openpty(
            &mut master,
            &mut slave,
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            &raw mut size,
        )
    };
    assert_eq!(made, 0, "{}", std::io::Error::last_os_error());
    // SAFETY: two fresh descriptors owned by nothing else.
    let (master, slave) = unsafe { (OwnedFd::from_raw_fd(master), OwnedFd::from_raw_fd(slave)) };
    let mut command = Command::new(bin());
    command
        .args(args)
        .current_dir(common::root())
        .stdin(Stdio::from(slave.try_clone().unwrap()))
        .stdout(Stdio::from(slave.try_clone().unwrap()))
        .stderr(Stdio::from(slave));
    // TIOCSCTTY is a c_uint on macOS, where ioctl takes a c_ulong.
    #[allow(clippy::useless_conversion)]
    let make_controlling = libc::TIOCSCTTY.into();
    // SAFETY: setsid(2) and ioctl(2) are async-signal-safe; fd 0 is the slave by then.
    unsafe {
        command.pre_exec(move || {
            if libc::setsid() < 0 || libc::ioctl(0, make_controlling, 0) < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let child = command.spawn().unwrap();
    drop(command);
    (master, child)
}

/// The window size is the terminal's when the command starts, and follows a resize.
#[test]
fn the_command_sees_the_terminal_size_and_its_changes() {
    let dir = tempfile::tempdir().unwrap();
    // `stty size` reads its standard input: the command's standard error (a terminal) there.
    let script = "echo \"start $(stty size <&2)\"
i=0
while [ $i -lt 100 ] && [ \"$(stty size <&2)\" != '50 132' ]; do sleep 0.1; i=$((i+1)); done
echo \"end $(stty size <&2)\"";
    let (master, mut child) = spawn_on_pty(
        30,
        100,
        &[
            "watch",
            "--settle",
            "0s",
            "--reports-dir",
            dir.path().to_str().unwrap(),
            "--",
            "sh",
            "-c",
            script,
        ],
    );
    let mut reading = std::fs::File::from(master.try_clone().unwrap());
    let shown = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let reader = {
        let shown = shown.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // EIO: crashdelta, the slave's last holder, has exited.
            while let Ok(n) = reading.read(&mut buf) {
                if n == 0 {
                    break;
                }
                shown.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        })
    };
    let text = || String::from_utf8_lossy(&shown.lock().unwrap()).into_owned();
    // Resized once the command has said its size at the start.
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !text().contains("start ") && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let size = libc::winsize {
        ws_row: 50,
        ws_col: 132,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCSWINSZ reads one winsize from a valid reference.
    unsafe {
        libc::ioctl(master.as_raw_fd(), libc::TIOCSWINSZ, &size);
    }
    let (status, took) = wait_for(&mut child, Duration::from_secs(30));
    drop(master);
    reader.join().unwrap();
    let shown = text();
    assert!(status.is_some(), "still running after {took:?}\n{shown}");
    assert_eq!(status.unwrap().code(), Some(0), "{shown}");
    assert!(shown.contains("start 30 100"), "{shown}");
    assert!(shown.contains("end 50 132"), "{shown}");
}
