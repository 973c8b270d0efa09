//! Where the program went wrong: the frames a crash is read from, and what sat on top of them.
//!
//! The top of a crashed thread is often not the crash. Three kinds of machinery sit there:
//!
//! - **A signal handler that ran on the crashed thread.** The kernel delivers the signal of a
//!   fault to the faulting thread: `_sigtramp` (libsystem_platform) calls the handler on top of the
//!   interrupted code. pytest turns on Python's `faulthandler` by default (since pytest 5.0), and
//!   PyTorch's test suites enable it too; it prints the Python traceback, restores the default
//!   action and re-raises the signal, so the report of an AGX fault in a test worker reads
//!   `__pthread_kill`, `pthread_kill`, `raise`, `faulthandler_fatal_error`, `_sigtramp`, and only
//!   then `AGX::ComputeContext::prepareForEnqueue(bool)`. The exception is then `EXC_CRASH
//!   (SIGSEGV)`: the process died of a signal *sent* by `pthread_kill`, so the report has no fault
//!   address. Crash reporters (Sentry, Crashlytics, PLCrashReporter, KSCrash, Breakpad, Crashpad,
//!   Bugsnag), the JVM, Mono and Rust's stack-overflow guard install such handlers too. Frames
//!   above the deepest `_sigtramp` are the handler's; the crash is read below it.
//! - **Abort, panic and exception-throwing paths.** `abort()`, `__assert_rtn`, Rust's
//!   `std::panicking::*` and `core::panicking::*` down to `abort_internal`, C++ `__cxa_throw` and
//!   `std::terminate`, Objective-C `objc_exception_throw` and `_CFThrowFormattedException`, Swift's
//!   `Swift runtime failure: ...` traps and `_assertionFailure`. They report a decision made in the
//!   frame below them, which is the location.
//! - **An uncaught Objective-C or C++ exception rethrown elsewhere.** AppKit catches exceptions in
//!   its run loop and crashes in `-[NSApplication _crashOnException:]`; the crashed thread then
//!   shows where the exception was *rethrown*, and the report's Last Exception Backtrace shows
//!   where it was *thrown*. The crash is read from the exception backtrace then.
//!
//! The trigger, the program's own operation, also skips plumbing: libdispatch, PyTorch's
//! `dispatch_sync_with_rethrow` and the block or lambda it runs, `std::function` and `std::__invoke`
//! wrappers. A block (`invocation function for block in f`, `__18-[C m]_block_invoke`) or a lambda
//! (`f()::$_0::operator()() const`) is named after the function it is written in, never as a
//! bare `operator()`.

use serde::Serialize;

use super::normalize;
use crate::report::{Frame, Report, image_name_of};

/// A signal handler that ran on top of the crash.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Handler {
    /// `python-faulthandler`, `sentry`, `crashlytics`, `plcrashreporter`, `kscrash`, `breakpad`,
    /// `crashpad`, `bugsnag`, `rust-stack-overflow`, `jvm`, `mono`, or `unknown`.
    pub kind: &'static str,
    /// In words: `Python's faulthandler`.
    pub name: &'static str,
    /// The handler's entry frame, the one `_sigtramp` called (`faulthandler_fatal_error`).
    pub frame: String,
    /// The handler sent the signal again to end the process (`raise`, `pthread_kill`, `abort`);
    /// false when the process died while the handler was still running.
    pub reraised: bool,
    /// Index of `_sigtramp` in the crashed thread: the crash is read from the frame below.
    pub sigtramp_frame: usize,
}

/// The abort, panic or exception machinery on top of the crash.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Machinery {
    /// `rust-panic`, `cxx-exception`, `objc-exception`, `swift-runtime-failure`, `assertion` or
    /// `abort`.
    pub kind: &'static str,
    /// How many frames of it were skipped.
    pub frames: usize,
    /// What it said, when a frame says it: `Swift runtime failure: Unexpectedly found nil ...`.
    pub message: Option<String>,
}

/// Where the crash frames come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum FrameSource {
    /// The crashed thread's backtrace, below any signal handler.
    CrashedThread,
    /// The report's Last Exception Backtrace: where an uncaught exception was thrown.
    LastExceptionBacktrace,
}

/// The frames a crash is read from, and what was skipped to get there.
pub struct Site<'r> {
    /// The frames to read, top first: the crashed thread below any handler, or the exception
    /// backtrace.
    pub frames: &'r [Frame],
    /// Index of `frames[0]` in its source (the crashed thread or the exception backtrace).
    pub offset: usize,
    pub source: FrameSource,
    pub handler: Option<Handler>,
    /// Indexes into `frames` of the frames that did something: without the machinery and
    /// without frames that name nothing.
    pub meaningful: Vec<usize>,
    pub machinery: Option<Machinery>,
}

/// Finds where the program went wrong in `report`'s crashed thread.
pub fn site(report: &Report) -> Site<'_> {
    let thread: &[Frame] = report.crashed().map_or(&[], |t| t.frames.as_slice());
    let handler = handler(report, thread);
    let offset = handler.as_ref().map_or(0, |h| h.sigtramp_frame + 1);
    let frames = thread.get(offset..).unwrap_or_default();
    let (meaningful, machinery) = read(report, frames);
    let mut site = Site {
        frames,
        offset,
        source: FrameSource::CrashedThread,
        handler,
        meaningful,
        machinery,
    };
    // An exception rethrown by a run loop or a terminate handler: the throw site is in the
    // exception backtrace. An exception thrown on the crashed thread itself (its machinery has
    // the throw) is read where it is: the backtrace says the same, often less well symbolicated.
    let rethrown = site
        .machinery
        .as_ref()
        .is_some_and(|m| matches!(m.kind, "objc-exception" | "cxx-exception"))
        && !frames
            .iter()
            .take(site.machinery.as_ref().map_or(0, |m| m.frames))
            .any(|f| {
                f.symbol
                    .as_deref()
                    .is_some_and(|s| THROWS.iter().any(|t| matches_prefix(s.trim(), t)))
            });
    let backtrace = &report.last_exception_backtrace;
    if rethrown
        && backtrace
            .iter()
            .any(|f| f.symbol.is_some() || f.image.is_some())
    {
        let thread_machinery = site.machinery.take();
        let (meaningful, machinery) = read(report, backtrace);
        site = Site {
            frames: backtrace,
            offset: 0,
            source: FrameSource::LastExceptionBacktrace,
            handler: site.handler,
            meaningful,
            machinery: machinery.or(thread_machinery),
        };
    }
    site
}

/// Frames that throw an exception where they are (as opposed to rethrowing one caught elsewhere).
const THROWS: &[&str] = &[
    "objc_exception_throw",
    "__cxa_throw",
    "_CFThrowFormattedException",
    "+[NSException raise:format:",
    "-[NSException raise]",
    "std::__throw_",
    "std::__1::__throw_",
];

/// Handlers by their frames: a symbol prefix or an image name, and what to call them.
const HANDLERS: &[(&str, &str, &[&str], &[&str])] = &[
    (
        "python-faulthandler",
        "Python's faulthandler",
        &["faulthandler_fatal_error", "faulthandler_"],
        &[],
    ),
    (
        "sentry",
        "Sentry's crash handler",
        &["sentrycrash", "SentryCrash", "sentry_"],
        &["Sentry"],
    ),
    (
        "crashlytics",
        "Crashlytics' crash handler",
        &["FIRCLS", "CLS"],
        &["FirebaseCrashlytics", "Crashlytics"],
    ),
    (
        "plcrashreporter",
        "PLCrashReporter's signal handler",
        &["plcrash_", "PLCrash"],
        &["CrashReporter"],
    ),
    (
        "kscrash",
        "KSCrash's signal handler",
        &["kscrash", "KSCrash", "kssighandler", "handleSignal"],
        &["KSCrash"],
    ),
    (
        "bugsnag",
        "Bugsnag's signal handler",
        &["bsg_", "BSG"],
        &["Bugsnag"],
    ),
    (
        "breakpad",
        "Breakpad's exception handler",
        &["google_breakpad::"],
        &[],
    ),
    (
        "crashpad",
        "Crashpad's signal handler",
        &["crashpad::"],
        &[],
    ),
    (
        "rust-stack-overflow",
        "Rust's stack-overflow handler",
        &[
            "std::sys::pal::unix::stack_overflow::",
            "std::sys::unix::stack_overflow::",
        ],
        &[],
    ),
    (
        "jvm",
        "the Java VM's signal handler",
        &["JVM_handle_bsd_signal", "signalHandler", "VMError::"],
        &["libjvm.dylib"],
    ),
    (
        "mono",
        "Mono's signal handler",
        &["mono_chain_signal", "mono_sigsegv_signal_handler", "mono_"],
        &[],
    ),
];

fn is_sigtramp(frame: &Frame) -> bool {
    frame
        .symbol
        .as_deref()
        .is_some_and(|s| s.trim() == "_sigtramp")
}

/// The handler above the deepest `_sigtramp` that has the interrupted code below it.
fn handler(report: &Report, frames: &[Frame]) -> Option<Handler> {
    let sigtramp = frames
        .iter()
        .enumerate()
        .rev()
        .skip(1)
        .find(|(_, f)| is_sigtramp(f))
        .map(|(i, _)| i)?;
    let above = frames.get(..sigtramp)?;
    // The handler's entry: the frame `_sigtramp` called.
    let entry = above.last();
    let (kind, name) = above
        .iter()
        .find_map(|f| {
            let symbol = f.symbol.as_deref().unwrap_or_default();
            let image = image_name_of(report, f).unwrap_or_default();
            HANDLERS
                .iter()
                .find(|(_, _, symbols, images)| {
                    symbols.iter().any(|p| symbol.starts_with(p)) || images.contains(&image)
                })
                .map(|(kind, name, _, _)| (*kind, *name))
        })
        .unwrap_or(("unknown", "a signal handler"));
    // Re-raised: the handler's top frames send a signal.
    let reraised = above
        .iter()
        .take_while(|f| f.symbol.is_none() || machinery_kind(report, f).is_some())
        .any(|f| {
            f.symbol
                .as_deref()
                .is_some_and(|s| SENDS_SIGNAL.contains(&s.trim()))
        });
    Some(Handler {
        kind,
        name,
        frame: entry.map_or_else(
            || "an unnamed function".into(),
            |f| match &f.symbol {
                Some(symbol) => normalize::symbol(symbol),
                None => super::unnamed(report, f),
            },
        ),
        reraised,
        sigtramp_frame: sigtramp,
    })
}

/// The abort path's frames that send the process a signal: a handler whose top frames are these
/// re-raised the signal. They are `abort` machinery too (tried before [`MACHINERY`]).
const SENDS_SIGNAL: &[&str] = &[
    "__pthread_kill",
    "pthread_kill",
    "raise",
    "__kill",
    "kill",
    "abort",
    "__abort",
    "abort_with_payload",
    "__abort_with_payload",
];

/// Frames that only report a crash decided elsewhere, by kind. Matched against the symbol as the
/// report spells it: equal, or a prefix followed by an argument list, `.cold.N`, or anything for
/// the prefixes that end in `::` or `_`.
const MACHINERY: &[(&str, &[&str])] = &[
    (
        "abort",
        &[
            "abort_with_reason",
            "_sigtramp",
            "__stack_chk_fail",
            "__chk_fail",
            "__chk_fail_overflow",
            "_os_crash",
            "__os_crash",
            "os_crash",
            "_os_crash_fmt",
            "malloc_vreport",
            "malloc_report",
            "malloc_zone_error",
            "___BUG_IN_CLIENT_OF_LIBMALLOC_",
            "Py_FatalError",
            "_Py_FatalErrorFunc",
            "_Py_FatalErrorFormat",
            "fatal_error",
            "fatal_error_exit",
            "_dispatch_assert_queue_fail",
        ],
    ),
    (
        "assertion",
        &[
            "__assert_rtn",
            "__assert_fail",
            "MTLReportFailure",
            "__MTLReportFailure",
            "_MTLMessageContextEnd",
            "-[NSAssertionHandler handleFailure*",
            "c10::detail::torchCheckFail",
            "c10::detail::torchInternalAssertFail",
            // ggml's GGML_ASSERT and GGML_ABORT (llama.cpp, whisper.cpp, ollama: their Metal
            // backend's asserts): the frame below names the check that failed.
            "ggml_abort",
            "ggml_print_backtrace",
        ],
    ),
    (
        "rust-panic",
        &[
            "std::panicking::",
            "core::panicking::",
            "std::panic::",
            "core::option::unwrap_failed",
            "core::option::expect_failed",
            "core::result::unwrap_failed",
            "core::slice::index::",
            "core::str::slice_error_fail",
            "std::process::abort",
            "std::sys_common::util::abort",
            "std::sys::pal::unix::abort_internal",
            "std::sys::unix::abort_internal",
            "std::sys::abort_internal",
            "panic_abort::",
            "__rust_start_panic",
            "rust_panic",
            "__rust_abort",
            "rust_begin_unwind",
            "__rustc::rust_begin_unwind",
            "__rust_end_short_backtrace",
            "std::sys::backtrace::__rust_end_short_backtrace",
            "std::sys_common::backtrace::__rust_end_short_backtrace",
            "alloc::alloc::handle_alloc_error",
            "std::alloc::rust_oom",
            "__rg_oom",
            "__rdl_oom",
            "alloc::raw_vec::capacity_overflow",
            "alloc::raw_vec::handle_error",
            "core::cell::panic_already_borrowed",
            "core::cell::panic_already_mutably_borrowed",
        ],
    ),
    (
        "cxx-exception",
        &[
            "__cxa_throw",
            "__cxa_rethrow",
            "__cxa_bad_cast",
            "__cxa_bad_typeid",
            "std::__terminate",
            "std::terminate",
            "std::__1::__terminate",
            "_objc_terminate",
            "default_terminate",
            "safe_handler_caller",
            "demangling_terminate_handler",
            "default_terminate_handler",
            "abort_message",
            "__abort_message",
            "__cxxabiv1::",
            "__clang_call_terminate",
            "std::rethrow_exception",
            "std::__1::rethrow_exception",
            "std::__throw_",
            "std::__1::__throw_",
            "_Unwind_RaiseException",
            "_Unwind_Resume",
        ],
    ),
    (
        "objc-exception",
        &[
            "objc_exception_throw",
            "objc_exception_rethrow",
            "__exceptionPreprocess",
            "_CFThrowFormattedException",
            "__boundsFail",
            "+[NSException raise:format:",
            "+[NSException raise:format:]",
            "-[NSException raise]",
            "_NSExceptionRaise",
            "-[NSObject(NSObject) doesNotRecognizeSelector:]",
            "___forwarding___",
            "_CF_forwarding_prep_0",
            "__forwarding_prep_",
            "-[NSApplication _crashOnException:]",
            "-[NSApplication reportException:]",
            "NSApplicationUncaughtExceptionHandler",
        ],
    ),
    (
        "swift-runtime-failure",
        &[
            "Swift runtime failure: ",
            "_assertionFailure(",
            "Swift._assertionFailure(",
            "_fatalErrorMessage(",
            "Swift._fatalErrorMessage(",
            "_preconditionFailure(",
            "swift::fatalError",
            "swift::fatalErrorv",
            "swift_unexpectedError",
            "swift_deletedMethodError",
            "swift::swift_abortRetainUnowned",
            "swift_dynamicCastFailure",
            "swift::swift_dynamicCastFailure",
            "$ss17_assertionFailure",
            "$ss18_fatalErrorMessage",
            "$ss20_preconditionFailure",
            "closure #1 in closure #1 in closure #1 in _assertionFailure(",
            "closure #1 in closure #1 in _assertionFailure(",
            "closure #1 in _assertionFailure(",
        ],
    ),
];

/// Libraries that make up the abort path. When a report of an abort has no symbols for them,
/// their frames are the same `__pthread_kill`/`abort`/`std::terminate` machinery, unnamed.
const ABORT_PATH_IMAGES: &[&str] = &[
    "libsystem_kernel.dylib",
    "libsystem_pthread.dylib",
    "libsystem_c.dylib",
    "libc++abi.dylib",
    "libobjc.A.dylib",
];

fn is_abort(report: &Report) -> bool {
    report.exception.as_ref().is_some_and(|e| {
        e.signal.as_deref() == Some("SIGABRT")
            || (e.r#type.as_deref() == Some("EXC_CRASH") && e.signal.is_none())
    })
}

/// Which machinery a frame belongs to, if any.
pub fn machinery_kind(report: &Report, frame: &Frame) -> Option<&'static str> {
    let Some(symbol) = frame.symbol.as_deref() else {
        let unnamed_abort = is_abort(report)
            && image_name_of(report, frame).is_some_and(|n| ABORT_PATH_IMAGES.contains(&n));
        return unnamed_abort.then_some("abort");
    };
    symbol_kind(symbol.trim())
}

/// Which machinery a symbol names, if any: the answer of the table tried in order
/// (`symbol_kind_by_table`, in the tests), from only the prefixes that start with the symbol's
/// first two bytes.
///
/// This is asked of every frame of the crashed thread several times over (the top run, the
/// meaningful frames, the trigger, the racing threads' program frames), and trying the ~140
/// prefixes one by one was 7 % of `classify`'s CPU over 2000 reports (docs/performance.md).
/// Every prefix is at least two bytes long (`prefixes_are_long_enough`), so a prefix whose first
/// two bytes differ from the symbol's cannot match it; the prefixes kept are in the table's
/// order, so the first match is the same.
fn symbol_kind(symbol: &str) -> Option<&'static str> {
    let bytes = symbol.as_bytes();
    let (Some(&first), Some(&second)) = (bytes.first(), bytes.get(1)) else {
        return None;
    };
    PREFIXES_BY_FIRST_BYTE
        .get(usize::from(first))?
        .iter()
        .filter(|(b, _, _)| *b == second)
        .find_map(|(_, kind, prefix)| matches_prefix(symbol, prefix).then_some(*kind))
}

/// A machinery prefix as [`symbol_kind`] looks it up: its second byte, its kind, the prefix.
type Keyed = (u8, &'static str, &'static str);

/// The machinery prefixes by their first byte, [`SENDS_SIGNAL`]'s first (as `abort`), then
/// [`MACHINERY`]'s in its order.
static PREFIXES_BY_FIRST_BYTE: std::sync::LazyLock<Vec<Vec<Keyed>>> =
    std::sync::LazyLock::new(|| {
        let mut table = vec![Vec::new(); 256];
        let all = SENDS_SIGNAL.iter().map(|p| ("abort", *p)).chain(
            MACHINERY
                .iter()
                .flat_map(|(kind, prefixes)| prefixes.iter().map(move |p| (*kind, *p))),
        );
        for (kind, prefix) in all {
            let bytes = prefix.as_bytes();
            if let (Some(&first), Some(&second)) = (bytes.first(), bytes.get(1))
                && let Some(bucket) = table.get_mut(usize::from(first))
            {
                bucket.push((second, kind, prefix));
            }
        }
        table
    });

/// Which machinery a symbol names, trying every prefix in order: what [`symbol_kind`] answers
/// faster, kept as its reference.
#[cfg(test)]
fn symbol_kind_by_table(symbol: &str) -> Option<&'static str> {
    if SENDS_SIGNAL.iter().any(|p| matches_prefix(symbol, p)) {
        return Some("abort");
    }
    MACHINERY.iter().find_map(|(kind, prefixes)| {
        prefixes
            .iter()
            .any(|p| matches_prefix(symbol, p))
            .then_some(*kind)
    })
}

fn matches_prefix(symbol: &str, prefix: &str) -> bool {
    if symbol == prefix {
        return true;
    }
    // `name*`: anything that starts with `name`.
    if let Some(stem) = prefix.strip_suffix('*') {
        return symbol.starts_with(stem);
    }
    let Some(rest) = symbol.strip_prefix(prefix) else {
        return false;
    };
    prefix.ends_with("::")
        || prefix.ends_with('_')
        || prefix.ends_with(' ')
        || prefix.ends_with('(')
        || prefix.ends_with(':')
        || rest.starts_with('(')
        || rest.starts_with(".cold")
        || rest.starts_with("::h")
        || rest.starts_with("::{{closure}}")
        || rest.starts_with('<')
        || rest.starts_with('[')
        // `std::__throw_out_of_range[abi:ue170006](char const*)`, `core::panicking::panic_fmt`.
        || (prefix.ends_with("__throw_") && !rest.is_empty())
}

/// Frames that did something: below the machinery on top (a crash reporter's frames count as
/// machinery there, and only there: its swizzled methods run under every app call), not
/// machinery anywhere else, not an address in no known image, not a frame of which nothing is
/// known, and not the `.cold` half of the function below it.
fn meaningful(report: &Report, frames: &[Frame], top: usize) -> Vec<usize> {
    frames
        .iter()
        .enumerate()
        .skip(top)
        .filter(|(i, f)| {
            if machinery_kind(report, f).is_some() {
                return false;
            }
            if f.symbol.is_none() && image_name_of(report, f).is_none() {
                // `???`: an address in no known image says nothing.
                return false;
            }
            if f.symbol.is_none() && f.address.is_none() && f.image_offset.is_none() {
                // An image name and nothing else (a line cut by a paste).
                return false;
            }
            !is_cold_half(f, frames.get(i + 1))
        })
        .map(|(i, _)| i)
        .collect()
}

/// Crash reporters' own frames, which sit on top of an exception they intercept
/// (`+[SentryUncaughtNSExceptions capture:]`, `FIRCLSExceptionRecord`).
const CRASH_REPORTER_IMAGES: &[&str] = &[
    "Sentry",
    "FirebaseCrashlytics",
    "Crashlytics",
    "Bugsnag",
    "KSCrash",
    "CrashReporter",
];
const CRASH_REPORTER_SYMBOLS: &[&str] = &[
    "sentrycrash",
    "SentryCrash",
    "FIRCLS",
    "bsg_",
    "kscrash",
    "plcrash",
];

fn is_crash_reporter(report: &Report, frame: &Frame) -> bool {
    image_name_of(report, frame).is_some_and(|i| CRASH_REPORTER_IMAGES.contains(&i))
        || frame
            .symbol
            .as_deref()
            .is_some_and(|s| CRASH_REPORTER_SYMBOLS.iter().any(|p| s.starts_with(p)))
}

/// `-[__NSArrayI objectAtIndex:].cold.1` above `-[__NSArrayI objectAtIndex:]`: the compiler's
/// outlined cold path of the same function.
fn is_cold_half(frame: &Frame, next: Option<&Frame>) -> bool {
    let (Some(symbol), Some(next)) = (
        frame.symbol.as_deref(),
        next.and_then(|n| n.symbol.as_deref()),
    ) else {
        return false;
    };
    // `next` then `.cold.` then digits, where that `.cold.` is the symbol's first: the cheap
    // test first, as this is asked of every frame and almost never holds.
    symbol
        .strip_prefix(next)
        .and_then(|rest| rest.strip_prefix(".cold."))
        .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        && symbol.find(".cold.") == Some(next.len())
}

/// The run of machinery at the top of `frames`: how many frames, their kinds, and what a Swift
/// runtime failure said. Crash reporters' frames and unknown frames (`???`) count in it; so do
/// the Swift standard library's inlined checks under a `Swift runtime failure` frame
/// (`$sSa15_checkSubscript...`, `Swift.Array.subscript.getter`).
fn top_run(report: &Report, frames: &[Frame]) -> (usize, Vec<&'static str>, Option<String>) {
    let mut kinds = Vec::new();
    let mut count = 0;
    let mut message = None;
    for f in frames {
        let swift_check = kinds.contains(&"swift-runtime-failure")
            && f.inline
            && f.symbol.as_deref().is_some_and(|s| {
                s.starts_with("$ss") || s.starts_with("$sS") || s.starts_with("Swift.")
            });
        match machinery_kind(report, f) {
            Some(kind) => {
                kinds.push(kind);
                if kind == "swift-runtime-failure"
                    && let Some(text) = f
                        .symbol
                        .as_deref()
                        .filter(|s| s.starts_with("Swift runtime failure: "))
                {
                    message = Some(text.trim().to_owned());
                }
            }
            None if swift_check || is_crash_reporter(report, f) => {}
            None if f.symbol.is_none() && image_name_of(report, f).is_none() => {}
            None => break,
        }
        count += 1;
    }
    (count, kinds, message)
}

/// The frames of `frames` that did something, and the machinery on top of them: one pass over
/// the top run serves both.
fn read(report: &Report, frames: &[Frame]) -> (Vec<usize>, Option<Machinery>) {
    let (count, kinds, message) = top_run(report, frames);
    (
        meaningful(report, frames, count),
        machinery(count, &kinds, message),
    )
}

/// The machinery of a top run: the kind of its most telling frame and how many frames it took.
fn machinery(count: usize, kinds: &[&'static str], message: Option<String>) -> Option<Machinery> {
    // The most specific kind wins: a Rust panic ends in `abort`, an exception in `terminate`.
    let kind = [
        "swift-runtime-failure",
        "rust-panic",
        "objc-exception",
        "cxx-exception",
        "assertion",
        "abort",
    ]
    .into_iter()
    .find(|k| kinds.contains(k))?;
    Some(Machinery {
        kind,
        frames: count,
        message,
    })
}

/// Frames that pass work along without doing it: dispatch queues, PyTorch's
/// `dispatch_sync_with_rethrow` and its block, `std::function` and `std::__invoke`.
pub fn is_plumbing(report: &Report, frame: &Frame) -> bool {
    if image_name_of(report, frame).is_some_and(|i| i.starts_with("libdispatch")) {
        return true;
    }
    let Some(symbol) = frame.symbol.as_deref() else {
        return false;
    };
    symbol.contains("dispatch_sync_with_rethrow")
        || symbol.starts_with("_dispatch_")
        || symbol.starts_with("dispatch_")
        || symbol.starts_with("std::__1::__function::")
        || symbol.starts_with("std::__function::")
        || symbol.starts_with("std::__1::__invoke")
        || symbol.starts_with("std::__invoke")
        || symbol.starts_with("decltype(std::declval")
        || symbol.starts_with("void std::__1::__invoke_void_return_wrapper")
        || symbol.starts_with("std::__1::__invoke_void_return_wrapper")
        || symbol.starts_with("std::__1::function<")
        || symbol.starts_with("std::function<")
        || symbol.starts_with("c10::function_ref<")
        || symbol.starts_with("__invoke")
        || symbol.starts_with("thunk for ")
        || symbol.starts_with("reabstraction thunk")
        || symbol.starts_with("partial apply for thunk for ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn named(symbol: &str) -> Frame {
        Frame {
            symbol: Some(symbol.to_owned()),
            symbolicated_by: crate::report::SymbolSource::Report,
            ..Frame::unknown()
        }
    }

    #[test]
    fn a_cold_half_is_the_next_frames_function_then_cold_and_a_number() {
        for (symbol, next, cold) in [
            ("f.cold.1", "f", true),
            ("f.cold.", "f", true),
            (
                "-[__NSArrayI objectAtIndex:].cold.1",
                "-[__NSArrayI objectAtIndex:]",
                true,
            ),
            ("f.cold.x", "f", false),
            ("g.cold.1", "f", false),
            ("f.cold.1", "f.cold.1", false),
            // The first `.cold.` decides: inside the next frame's name, or across its end.
            ("a.cold.1.cold.2", "a.cold.1", false),
            ("f.cold.cold.1", "f.cold", false),
        ] {
            assert_eq!(
                is_cold_half(&named(symbol), Some(&named(next))),
                cold,
                "{symbol} above {next}"
            );
        }
    }

    proptest::proptest! {
        /// The `.cold` test reads as the first `.cold.` splitting the symbol into the next
        /// frame's symbol and a number, as it was written before it was made cheap.
        #[test]
        fn a_cold_half_is_what_the_first_cold_split_says(
            symbol in "(f|\\.|cold|\\.cold|\\.cold\\.|1|2){0,8}",
            next in "(f|\\.|cold|\\.cold|\\.cold\\.|1){0,5}",
        ) {
            let expected = symbol
                .split_once(".cold.")
                .is_some_and(|(base, n)| base == next && n.bytes().all(|b| b.is_ascii_digit()));
            proptest::prop_assert_eq!(is_cold_half(&named(&symbol), Some(&named(&next))), expected);
        }
    }

    #[test]
    fn machinery_prefixes() {
        for (symbol, kind) in [
            ("__pthread_kill", "abort"),
            ("abort", "abort"),
            (
                "std::panicking::rust_panic_with_hook::h1234567890abcdef",
                "rust-panic",
            ),
            ("core::panicking::panic_fmt", "rust-panic"),
            (
                "std::sys::pal::unix::abort_internal::h0123456789abcdef",
                "rust-panic",
            ),
            ("core::option::unwrap_failed", "rust-panic"),
            ("ggml_abort", "assertion"),
            ("__cxa_throw", "cxx-exception"),
            (
                "std::__1::__throw_out_of_range[abi:ue170006](char const*)",
                "cxx-exception",
            ),
            ("std::__terminate(void (*)())", "cxx-exception"),
            ("objc_exception_throw", "objc-exception"),
            ("_CFThrowFormattedException", "objc-exception"),
            (
                "Swift runtime failure: Unexpectedly found nil while unwrapping an Optional value",
                "swift-runtime-failure",
            ),
            (
                "_assertionFailure(_:_:file:line:flags:)",
                "swift-runtime-failure",
            ),
            ("MTLReportFailure.cold.1", "assertion"),
        ] {
            assert_eq!(symbol_kind(symbol), Some(kind), "{symbol} is not {kind}");
        }
        for not in [
            "abortive",
            "raise_error",
            "killall",
            "std::panicking_helper",
            "main",
            "os_abort",
        ] {
            assert_eq!(symbol_kind(not), None, "{not} is not machinery");
        }
    }

    /// [`symbol_kind`] skips the prefixes whose first two bytes differ from the symbol's: sound
    /// only while every prefix has two bytes (a `*` stem too).
    #[test]
    fn prefixes_are_long_enough() {
        let all = SENDS_SIGNAL
            .iter()
            .chain(MACHINERY.iter().flat_map(|(_, p)| p.iter()));
        for prefix in all {
            let stem = prefix.strip_suffix('*').unwrap_or(prefix);
            assert!(stem.len() >= 2, "{prefix:?} is shorter than two bytes");
        }
    }

    /// The bucketed lookup answers as the table tried in order, on every prefix, on every prefix
    /// followed by what may follow one (or not), and on every prefix cut short.
    #[test]
    fn bucketed_lookup_is_the_table_in_order() {
        let all: Vec<&str> = SENDS_SIGNAL
            .iter()
            .chain(MACHINERY.iter().flat_map(|(_, p)| p.iter()))
            .copied()
            .collect();
        let tails = [
            "",
            "(",
            "(int)",
            ".cold.1",
            "::h0123",
            "::{{closure}}",
            "<T>",
            "[abi:ue170006]",
            "x",
            "_x",
            " ",
            "::",
            ":",
            "]",
            "*",
            "é",
        ];
        let mut symbols: Vec<String> = vec![String::new(), "a".into(), "é".into(), "_".into()];
        for prefix in &all {
            for tail in tails {
                symbols.push(format!("{prefix}{tail}"));
            }
            for cut in 0..prefix.len() {
                if let Some(head) = prefix.get(..cut) {
                    symbols.push(head.to_owned());
                }
            }
        }
        for symbol in &symbols {
            assert_eq!(
                symbol_kind(symbol),
                symbol_kind_by_table(symbol),
                "{symbol:?}"
            );
        }
    }
}
