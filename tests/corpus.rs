//! Every report in `testdata/` keeps what it is: the process that crashed and the family, or the
//! specific reason it is not a crash report. Origins are in `testdata/README.md`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{rules, testdata};

use std::path::Path;

use crashdelta::classify::{self, Family};
use crashdelta::report::{self, NotAReport, ParseError, ReportKind};

#[derive(Debug)]
enum Expect {
    Crash {
        process: &'static str,
        pid: Option<u64>,
        exception: Option<&'static str>,
        family: Family,
        rule: &'static str,
    },
    /// A partial paste without a `Process:` line: the exception and the crashed thread.
    Partial {
        exception: &'static str,
        rule: &'static str,
    },
    /// A report cut before its thread section: incomplete, as a cut JSON body is.
    Incomplete,
    /// A report of another kind (panic, resource report), parsed.
    Kind(ReportKind),
    /// Not a report at all.
    Not(NotAReport),
}

use Expect::*;

/// A crash that only the catch-all rule of its family matches.
fn crash(
    process: &'static str,
    pid: Option<u64>,
    exception: Option<&'static str>,
    family: Family,
) -> Expect {
    let rule = match family {
        Family::Agx => "agx-other",
        Family::Metal => "metal-other",
        Family::Other => "other",
    };
    Crash {
        process,
        pid,
        exception,
        family,
        rule,
    }
}

fn crash_rule(
    process: &'static str,
    pid: Option<u64>,
    exception: Option<&'static str>,
    family: Family,
    rule: &'static str,
) -> Expect {
    Crash {
        process,
        pid,
        exception,
        family,
        rule,
    }
}

fn expectations() -> Vec<(&'static str, Expect)> {
    vec![
        // A reconstruction by its author: placeholders for the pid and the crashed thread, and no
        // thread backtraces at all: incomplete (its reason quotes the AGX assertion of its head;
        // tests/field.rs checks that).
        ("real/crash/dml__crash_log.txt", Incomplete),
        (
            "real/crash/electronsym__crash.txt",
            crash("Slack", Some(2214), Some("EXC_BAD_ACCESS"), Family::Other),
        ),
        (
            "real/crash/ips2crashlog__target.txt",
            crash(
                "Transit",
                Some(27589),
                Some("EXC_BREAKPOINT"),
                Family::Other,
            ),
        ),
        (
            "real/crash/macsym__ios-crash-with-json-header.crash",
            crash(
                "iOSCrashingTest",
                Some(455),
                Some("EXC_BREAKPOINT"),
                Family::Other,
            ),
        ),
        (
            "real/crash/macsym__ios-crash-without-json-header.crash",
            crash(
                "iOSCrashingTest",
                Some(455),
                Some("EXC_BREAKPOINT"),
                Family::Other,
            ),
        ),
        (
            "real/crash/mysqlwb__README.md",
            crash(
                "MySQLWorkbench",
                Some(842),
                Some("EXC_BAD_ACCESS"),
                Family::Other,
            ),
        ),
        ("real/crash/ocefi__panic.txt", Not(NotAReport::KernelPanic)),
        (
            "real/crash/pandora__panic.txt",
            Not(NotAReport::KernelPanic),
        ),
        // AGXMetalG16G_B0 is loaded; the crash is a Qt/ONNX abort.
        (
            "real/crash/photoguru__crash.txt",
            crash(
                "PhotoGuruViewer",
                Some(41331),
                Some("EXC_CRASH"),
                Family::Other,
            ),
        ),
        (
            "real/crash/sentryacrp__XCDYouTubeKit-54.txt",
            crash("iTubeDownloader", Some(590), Some("SIGSEGV"), Family::Other),
        ),
        // A 734-byte head: the header only, cut before the exception and the threads.
        ("real/crash/sentryacrp__xcode16.txt", Incomplete),
        (
            "real/crash/sixlayer__METAL_TELEMETRY_TEXTEDITOR_CRASH_RADAR.md",
            Not(NotAReport::ExceptionBacktrace),
        ),
        (
            "real/crash/smartinbox__3-failed-ui-start.pl",
            crash(
                "TrashMailPanda",
                Some(79622),
                Some("EXC_CRASH"),
                Family::Other,
            ),
        ),
        (
            "real/crash/suzuki2__README.md",
            crash("Python", Some(20761), Some("EXC_CRASH"), Family::Other),
        ),
        (
            "real/crash/tinyjuice-slice01__input.log",
            crash(
                "OpenHuman",
                Some(90825),
                Some("EXC_BAD_ACCESS"),
                Family::Other,
            ),
        ),
        (
            "real/crash/tinyjuice-slice10__input.log",
            crash(
                "OpenHuman",
                Some(90825),
                Some("EXC_BAD_ACCESS"),
                Family::Other,
            ),
        ),
        ("real/ips/applekeystore__panic.ips", Kind(ReportKind::Panic)),
        (
            "real/ips/ips2crashlog__source.ips",
            crash(
                "Transit",
                Some(27589),
                Some("EXC_BREAKPOINT"),
                Family::Other,
            ),
        ),
        (
            "real/ips/ipsw-test__diskwrites-145.ips",
            Kind(ReportKind::Resource),
        ),
        // An lldb test template: placeholders make the body invalid JSON; the header still names
        // the process.
        (
            "real/ips/llvm-lldb__a.out.ips",
            crash("json.test.tmp.out", None, None, Family::Other),
        ),
        (
            "real/ips/llvm-lldb__multithread-test.ips",
            crash(
                "multithread-test",
                Some(22511),
                Some("EXC_BAD_ACCESS"),
                Family::Other,
            ),
        ),
        (
            "real/ips/macsym__ios-crash-in-ips-format.ips",
            crash(
                "iOSCrashingTest",
                Some(455),
                Some("EXC_BREAKPOINT"),
                Family::Other,
            ),
        ),
        (
            "real/ips/sanfer__report.ips",
            crash(
                "SanferEventsApp",
                Some(2996),
                Some("EXC_CRASH"),
                Family::Other,
            ),
        ),
        (
            "real/issue_text/coppermind-doc__candle-known-issues.md",
            Not(NotAReport::TextFragment),
        ),
        // The paste lost line breaks (lines run together with long runs of spaces); split
        // again, it is a partial report from `Exception Type:` down with its crashed thread.
        (
            "real/issue_text/gh-2ship2harkinian-1778-turn0.txt",
            Partial {
                exception: "EXC_BAD_ACCESS",
                rule: "other",
            },
        ),
        (
            "real/issue_text/gh-3d-game-shaders-28-turn2.txt",
            Not(NotAReport::TextFragment),
        ),
        (
            "real/issue_text/gh-argmax-oss-swift-264-turn0.txt",
            Not(NotAReport::JsonFragment),
        ),
        // The report head survived the paste; the crashed thread's frames were cut.
        (
            "real/issue_text/gh-cute_framework-286-desc.txt",
            crash(
                "draw_to_texture",
                Some(88854),
                Some("EXC_CRASH"),
                Family::Other,
            ),
        ),
        (
            "real/issue_text/gh-exo-1348-turn1.txt",
            Not(NotAReport::TextFragment),
        ),
        (
            "real/issue_text/gh-golde-23-turn0.txt",
            Not(NotAReport::JsonFragment),
        ),
        (
            "real/issue_text/gh-goldendict-ng-1591-turn7.txt",
            Not(NotAReport::JsonFragment),
        ),
        (
            "real/issue_text/gh-invokeai-2336-turn3.txt",
            Not(NotAReport::JsonFragment),
        ),
        (
            "real/issue_text/gh-isoul-31-turn3.txt",
            Not(NotAReport::TextFragment),
        ),
        (
            "real/issue_text/gh-mpv-13231-turn2.txt",
            Not(NotAReport::TextFragment),
        ),
        (
            "real/issue_text/gh-muesli-344-turn4.txt",
            Not(NotAReport::JsonFragment),
        ),
        (
            "real/issue_text/gh-pcsx2-9718-turn2.txt",
            Not(NotAReport::TextFragment),
        ),
        (
            "real/issue_text/gh-pytorch-166746-turn0.txt",
            Not(NotAReport::TextFragment),
        ),
        (
            "real/issue_text/gh-pytorch-77818-turn0.txt",
            Not(NotAReport::TextFragment),
        ),
        (
            "real/issue_text/gh-pytorch-91878-turn0.txt",
            Not(NotAReport::JsonFragment),
        ),
        (
            "real/issue_text/gh-telegramswift-442-turn0.txt",
            Not(NotAReport::TextFragment),
        ),
        (
            "real/issue_text/gh-wgpu-7816-turn0-lldb.txt",
            Not(NotAReport::LldbBacktrace),
        ),
        (
            "real/other/electronsym__spindump.txt",
            Not(NotAReport::Spindump),
        ),
        (
            "derived/agx-prepareForEnqueue-0x98.ips",
            crash_rule(
                "Python",
                Some(81920),
                Some("EXC_BAD_ACCESS"),
                Family::Agx,
                "agx-prepare-for-enqueue-race",
            ),
        ),
        // The race pasted in two comments (a .ips over GitHub's 65,536 characters): the first
        // holds the crashed thread and is cut inside `usedImages`, before the driver's and
        // PyTorch's images. Read as far as it goes: the driver's frames by their symbols, the
        // MPS caller not checked rather than failed.
        (
            "derived/agx-prepareForEnqueue-0x98-cut-in-used-images.md",
            crash_rule(
                "Python",
                Some(81920),
                Some("EXC_BAD_ACCESS"),
                Family::Agx,
                "agx-prepare-for-enqueue-race",
            ),
        ),
        // A real report's first 65,536 characters (GitHub's limit): cut inside the threads
        // after the crashed one (13 of 27), so it reads as the crash it is.
        (
            "derived/ips2crashlog-first-65536-characters.ips",
            crash(
                "Transit",
                Some(27589),
                Some("EXC_BREAKPOINT"),
                Family::Other,
            ),
        ),
        // The race on a later release (macOS 26.5, driver 342.3.1): the same rule.
        (
            "derived/agx-prepareForEnqueue-0x98-macos26.ips",
            crash_rule(
                "Python",
                Some(91230),
                Some("EXC_BAD_ACCESS"),
                Family::Agx,
                "agx-prepare-for-enqueue-race",
            ),
        ),
        (
            "derived/agx-setComputePipelineState-0x5c8.ips",
            crash_rule(
                "Python",
                Some(81920),
                Some("EXC_BAD_ACCESS"),
                Family::Agx,
                "agx-set-compute-pipeline-state-null",
            ),
        ),
        (
            "derived/agx-allocateUSCSpillBuffer-0x184.ips",
            crash_rule(
                "Python",
                Some(82101),
                Some("EXC_BAD_ACCESS"),
                Family::Agx,
                "agx-allocate-usc-spill-buffer",
            ),
        ),
        (
            "derived/agx-dispatchThreads-0x5f4.ips",
            crash_rule(
                "Python",
                Some(82250),
                Some("EXC_BAD_ACCESS"),
                Family::Agx,
                "agx-dispatch-threads-fault",
            ),
        ),
        (
            "derived/agx-setBuffer-0x3b90.ips",
            crash_rule(
                "Python",
                Some(82311),
                Some("EXC_BAD_ACCESS"),
                Family::Agx,
                "agx-set-buffer-fault",
            ),
        ),
        (
            "derived/agx-ResourceGroupUsage-0x1e0.ips",
            crash_rule(
                "Python",
                Some(82402),
                Some("EXC_BAD_ACCESS"),
                Family::Agx,
                "agx-resource-group-usage-fault",
            ),
        ),
        (
            "derived/objc-msgSend-uaf-pac.ips",
            crash_rule(
                "Python",
                Some(82533),
                Some("EXC_BAD_ACCESS"),
                Family::Metal,
                "objc-use-after-free-gpu",
            ),
        ),
        (
            "derived/agx-encoder-already-encoding.ips",
            crash_rule(
                "Python",
                Some(82644),
                Some("EXC_CRASH"),
                Family::Agx,
                "agx-encoder-already-encoding",
            ),
        ),
        (
            "derived/metal-committed-twice.ips",
            crash_rule(
                "Python",
                Some(82755),
                Some("EXC_CRASH"),
                Family::Metal,
                "metal-command-buffer-committed-twice",
            ),
        ),
        (
            "derived/metal-completed-handler-after-commit.ips",
            crash_rule(
                "Python",
                Some(82866),
                Some("EXC_CRASH"),
                Family::Metal,
                "metal-completed-handler-after-commit",
            ),
        ),
        (
            "derived/metal-commit-uncommitted-encoder.ips",
            crash_rule(
                "Python",
                Some(82977),
                Some("EXC_CRASH"),
                Family::Metal,
                "metal-commit-with-uncommitted-encoder",
            ),
        ),
        (
            "derived/agx-other-endRenderPassCommon.ips",
            crash("Python", Some(83088), Some("EXC_BAD_ACCESS"), Family::Agx),
        ),
        (
            "derived/metal-other-mpsgraph-assert.ips",
            crash("Python", Some(83199), Some("EXC_CRASH"), Family::Metal),
        ),
        (
            "derived/agx-prepareForEnqueue-moltenvk.ips",
            crash_rule(
                "Python",
                Some(83300),
                Some("EXC_BAD_ACCESS"),
                Family::Agx,
                "agx-prepare-for-enqueue-other-caller",
            ),
        ),
        // The race as pytest leaves it: faulthandler re-raised the signal on top of it.
        (
            "derived/agx-prepareForEnqueue-faulthandler.ips",
            crash_rule(
                "Python",
                Some(86120),
                Some("EXC_CRASH"),
                Family::Agx,
                "agx-prepare-for-enqueue-race",
            ),
        ),
        (
            "derived/agx-prepareForEnqueue-faulthandler-translated.txt",
            crash_rule(
                "Python",
                Some(86120),
                Some("EXC_CRASH"),
                Family::Agx,
                "agx-prepare-for-enqueue-race",
            ),
        ),
        (
            "derived/agx-prepareForEnqueue-faulthandler-lambda.ips",
            crash_rule(
                "Python",
                Some(86240),
                Some("EXC_CRASH"),
                Family::Agx,
                "agx-prepare-for-enqueue-race",
            ),
        ),
        // The race with its driver frames unnamed: without --symbols, only "some AGX fault"
        // (tests/symbols.rs names them).
        (
            "derived/agx-unsymbolicated-0x98.ips",
            crash("Python", Some(84001), Some("EXC_BAD_ACCESS"), Family::Agx),
        ),
        // The race's frames on a thread that did not crash are not the race.
        (
            "derived/race-frames-on-another-thread.ips",
            crash("Python", Some(83411), Some("EXC_CRASH"), Family::Other),
        ),
        (
            "derived/python-abort-agx-loaded.ips",
            crash("Python", Some(82011), Some("EXC_CRASH"), Family::Other),
        ),
    ]
}

#[test]
fn every_testdata_report_is_read_as_what_it_is() {
    let mut failures = Vec::new();
    for (file, expect) in expectations() {
        let bytes = std::fs::read(testdata().join(file)).unwrap_or_else(|e| panic!("{file}: {e}"));
        let parsed = report::parse(&bytes);
        let ok = match (&expect, &parsed) {
            (
                Crash {
                    process,
                    pid,
                    exception,
                    family,
                    rule,
                },
                Ok(r),
            ) => {
                let c = classify::classify(r, &rules());
                r.kind == ReportKind::Crash
                    && r.process.name.as_deref() == Some(*process)
                    && r.process.pid == *pid
                    && r.exception.as_ref().and_then(|e| e.r#type.as_deref()) == *exception
                    && c.as_ref().map(|c| c.family) == Some(*family)
                    && c.as_ref().map(|c| c.rule.as_str()) == Some(*rule)
            }
            (Partial { exception, rule }, Ok(r)) => {
                let c = classify::classify(r, &rules());
                r.kind == ReportKind::Crash
                    && r.process.name.is_none()
                    && r.crashed().is_some_and(|t| !t.frames.is_empty())
                    && r.exception.as_ref().and_then(|e| e.r#type.as_deref()) == Some(*exception)
                    && c.as_ref().map(|c| c.rule.as_str()) == Some(*rule)
                    && r.warnings
                        .iter()
                        .any(|w| w.message.starts_with("a partial report"))
            }
            (Incomplete, Err(ParseError::Incomplete(reason))) => {
                reason.contains("has no thread backtraces")
            }
            (Kind(kind), Ok(r)) => r.kind == *kind && classify::classify(r, &rules()).is_none(),
            (Not(what), Err(ParseError::NotAReport { what: got, reason })) => {
                got == what && reason.len() > 20
            }
            _ => false,
        };
        if !ok {
            failures.push(format!("{file}: expected {expect:?}, got {parsed:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn every_file_in_testdata_has_an_expectation() {
    let listed: Vec<String> = expectations().iter().map(|(f, _)| f.to_string()).collect();
    for entry in walk(testdata()) {
        let rel = entry
            .strip_prefix(testdata())
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        // Reports only: not the READMEs, scripts, manifests and the Mach-O symbol fixtures.
        // Reports from the field have their own table in tests/field.rs; test runners' output
        // (testlogs/) has its SOURCES.tsv and tests/testlog_*.rs.
        let data_file = !(rel.ends_with(".md") && !rel.contains("__")
            || rel.ends_with(".py")
            || rel.ends_with(".tsv")
            || rel.starts_with("symbols/")
            || rel.starts_with("field/")
            || rel.starts_with("testlogs/"));
        if data_file {
            assert!(
                listed.contains(&rel),
                "{rel} has no expectation in tests/corpus.rs"
            );
        }
    }
}

fn walk(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

#[test]
fn the_known_race_reads_like_the_hand_written_reports() {
    // reference/000_19a3cf7323aac993.txt: "Exception: EXC_BAD_ACCESS - KERN_INVALID_ADDRESS at
    // 0x98 / Location: AGX::ComputeContext::prepareForEnqueue(bool) + 1268 / Trigger:
    // gatherViewTensor -> dispatchThreads".
    let bytes = std::fs::read(testdata().join("derived/agx-prepareForEnqueue-0x98.ips")).unwrap();
    let r = report::parse(&bytes).unwrap();
    let c = classify::classify(&r, &rules()).unwrap();
    assert_eq!(r.exception.as_ref().unwrap().address, Some(0x98));
    assert_eq!(
        c.location.as_deref(),
        Some("AGX::ComputeContext::prepareForEnqueue(bool) + 1268")
    );
    assert_eq!(
        c.trigger.as_deref(),
        Some("gatherViewTensor -> dispatchThreads")
    );
    assert_eq!(
        r.crashed().unwrap().name.as_deref(),
        Some("Thread-8 (worker)")
    );
    let driver = c.driver.unwrap();
    assert_eq!(
        (driver.name.as_str(), driver.version.as_deref()),
        ("AGXMetalG16X", Some("329.2"))
    );
}

#[test]
fn a_driver_symbol_in_a_register_does_not_make_an_agx_crash() {
    let bytes = std::fs::read(testdata().join("derived/python-abort-agx-loaded.ips")).unwrap();
    let r = report::parse(&bytes).unwrap();
    let in_register = r
        .crashed()
        .unwrap()
        .state
        .as_ref()
        .unwrap()
        .registers
        .iter()
        .any(|reg| reg.symbol.as_deref() == Some("OBJC_CLASS_$_AGXG16XFamilyCommandBuffer"));
    assert!(in_register, "the trap is not in the test report any more");
    let c = classify::classify(&r, &rules()).unwrap();
    assert_eq!(c.family, Family::Other);
    assert!(
        c.reason.contains("loaded, but not on the crashing path"),
        "{}",
        c.reason
    );
    assert_eq!(c.location.as_deref(), Some("os_abort + 12"));
}

#[test]
fn the_same_crash_shifted_by_aslr_has_the_same_signature() {
    let text =
        std::fs::read_to_string(testdata().join("derived/agx-prepareForEnqueue-0x98.ips")).unwrap();
    // Every image slides by the same amount; offsets within images stay.
    let shifted = text.replace("\"base\": 4845862912", "\"base\": 4912971776");
    assert_ne!(text, shifted);
    let a = classify::classify(&report::parse(text.as_bytes()).unwrap(), &rules()).unwrap();
    let b = classify::classify(&report::parse(shifted.as_bytes()).unwrap(), &rules()).unwrap();
    assert_eq!(a.signature, b.signature);
    assert_eq!(a.signature_id, b.signature_id);
}

#[test]
fn the_race_under_faulthandler_is_the_race() {
    // pytest's faulthandler re-raised the signal: the report says EXC_CRASH (SIGSEGV) with no
    // fault address, and its crashed thread starts with the handler. Read below _sigtramp, it is
    // the known race, with the same location, trigger and signature as the plain report.
    let plain = std::fs::read(testdata().join("derived/agx-prepareForEnqueue-0x98.ips")).unwrap();
    let plain = classify::classify(&report::parse(&plain).unwrap(), &rules()).unwrap();
    for file in [
        "derived/agx-prepareForEnqueue-faulthandler.ips",
        "derived/agx-prepareForEnqueue-faulthandler-translated.txt",
    ] {
        let bytes = std::fs::read(testdata().join(file)).unwrap();
        let r = report::parse(&bytes).unwrap();
        let e = r.exception.as_ref().unwrap();
        assert_eq!(
            (e.r#type.as_deref(), e.signal.as_deref(), e.address),
            (Some("EXC_CRASH"), Some("SIGSEGV"), None),
            "{file}: a re-raised signal has no fault address, and none is guessed"
        );
        let c = classify::classify(&r, &rules()).unwrap();
        assert_eq!(
            c.rule, "agx-prepare-for-enqueue-race",
            "{file}: {}",
            c.reason
        );
        assert_eq!(c.signature, plain.signature, "{file}");
        assert_eq!(c.location, plain.location, "{file}");
        assert_eq!(
            c.trigger.as_deref(),
            Some("gatherViewTensor -> dispatchThreads"),
            "{file}"
        );
        let h = c.on_top.handler.as_ref().unwrap();
        assert_eq!(
            (h.kind, h.frame.as_str(), h.reraised, h.sigtramp_frame),
            ("python-faulthandler", "faulthandler_fatal_error", true, 4),
            "{file}"
        );
        assert_eq!(c.on_top.first_frame, 5, "{file}");
        assert!(
            c.on_top
                .address_unknown
                .as_deref()
                .unwrap()
                .contains("re-raised the signal"),
            "{file}"
        );
        assert!(
            c.why
                .iter()
                .any(|w| w.starts_with("fault address not checked")),
            "{file}: {:?}",
            c.why
        );
        // The threads it raced with: one encoding on another stream, one waiting in Metal.
        let racing: Vec<(usize, &str, Option<&str>)> = c
            .racing
            .iter()
            .map(|t| (t.thread, t.state, t.program_frame.as_deref()))
            .collect();
        assert_eq!(
            racing,
            [
                (12, "working", Some("at::native::mps::binaryOpTensor")),
                (13, "waiting", Some("at::mps::MPSStream::commitAndWait")),
            ],
            "{file}"
        );
        assert_eq!(
            c.racing[0].gpu_frame,
            "-[AGXG16XFamilyComputeContext setComputePipelineState:]"
        );
    }
}

#[test]
fn a_fault_address_next_to_a_reraise_is_the_original_fault() {
    // Some macOS versions keep the original EXC_BAD_ACCESS and its address under a handler that
    // re-raised (a re-raise never faults): the address is then checked as usual.
    let text =
        std::fs::read_to_string(testdata().join("derived/agx-prepareForEnqueue-faulthandler.ips"))
            .unwrap();
    let reraised = r#""codes" : "0x0000000000000000, 0x0000000000000000","#;
    let text = text.replace(
        "\"type\": \"EXC_CRASH\",",
        "\"type\": \"EXC_BAD_ACCESS\", \"subtype\": \"KERN_INVALID_ADDRESS at 0x0000000000000098\",",
    );
    assert!(
        text.contains("KERN_INVALID_ADDRESS at 0x0000000000000098"),
        "{reraised}"
    );
    let r = report::parse(text.as_bytes()).unwrap();
    assert_eq!(r.exception.as_ref().unwrap().address, Some(0x98));
    let c = classify::classify(&r, &rules()).unwrap();
    assert_eq!(c.rule, "agx-prepare-for-enqueue-race");
    assert_eq!(c.on_top.address_unknown, None);
    assert!(
        c.why
            .iter()
            .any(|w| w == "fault address 0x98 in 0x0..=0xffff"),
        "{:?}",
        c.why
    );
}

#[test]
fn a_lambda_run_by_dispatch_sync_with_rethrow_is_not_the_trigger() {
    let bytes =
        std::fs::read(testdata().join("derived/agx-prepareForEnqueue-faulthandler-lambda.ips"))
            .unwrap();
    let c = classify::classify(&report::parse(&bytes).unwrap(), &rules()).unwrap();
    assert_eq!(c.rule, "agx-prepare-for-enqueue-race");
    assert_eq!(
        c.trigger.as_deref(),
        Some("gatherViewTensor -> dispatchThreads")
    );
    assert!(c.racing.is_empty(), "{:?}", c.racing);
}

#[test]
fn every_built_in_rule_has_a_test_report() {
    let rules = rules();
    let mut matched = std::collections::BTreeSet::new();
    for (file, _) in expectations() {
        let bytes = std::fs::read(testdata().join(file)).unwrap();
        if let Ok(r) = report::parse(&bytes)
            && let Some(c) = classify::classify(&r, &rules)
        {
            matched.insert(c.rule);
        }
    }
    let missing: Vec<&str> = rules
        .rules()
        .iter()
        .map(|r| r.id.as_str())
        .filter(|id| !matched.contains(*id))
        .collect();
    assert!(
        missing.is_empty(),
        "built-in rules without a test report: {missing:?}"
    );
}

#[test]
fn a_symbol_cut_at_100_characters_still_matches_the_race() {
    // Reports may cut function names at 100 characters for privacy (Apple, "Examining the fields
    // in a crash report"); templated driver names are longer than that.
    let in_report = "AGX::ComputeContext<AGX::HAL200::Encoders, AGX::HAL200::Classes, AGX::HAL200::ObjClasses, AGX::HAL200::EncoderComputeServiceClasses>::prepareForEnqueue(bool)";
    let text =
        std::fs::read_to_string(testdata().join("derived/agx-prepareForEnqueue-0x98.ips")).unwrap();
    assert!(text.contains(in_report));
    let classify_with = |symbol: &str| {
        let r = report::parse(text.replace(in_report, symbol).as_bytes()).unwrap();
        classify::classify(&r, &rules()).unwrap()
    };
    // Three template arguments (the G16 spelling): the cut falls after the method name, in its
    // argument list, and the name is matched by prefix.
    let three = "AGX::ComputeContext<AGX::G16::Encoders, AGX::G16::Classes, AGX::G16::ObjClasses>::prepareForEnqueue(bool)";
    let cut: String = three.chars().take(100).collect();
    assert!(cut.ends_with("::prepareForEnqueue("), "{cut}");
    let c = classify_with(&cut);
    assert_eq!(c.rule, "agx-prepare-for-enqueue-race", "{}", c.reason);
    // Four template arguments: the cut falls inside them and the method name is lost; matching
    // the class alone would claim every ComputeContext method, so it is only "other AGX".
    let cut: String = in_report.chars().take(100).collect();
    assert!(!cut.contains("prepareForEnqueue"));
    assert_eq!(classify_with(&cut).rule, "agx-other");
}
