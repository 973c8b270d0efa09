//! Reports and pastes from the field (`testdata/field/`), and the crash reports other projects'
//! parsers test themselves on (`testdata/field/parser-suites/`). Origins are in each folder's
//! `SOURCES.tsv`; docs/reading.md says what each class is.
//!
//! Every file keeps what it is: for a crash report, the crashed thread, its frame count, the
//! rule, the location, the trigger and what sat on top of the crash; else the specific reason it
//! is not one, or that it is an incomplete report. The expectations were checked against what a
//! person reads in each file (the `SOURCES.tsv` columns), not copied from crashdelta's output.
//! Other projects' own assertions about their fixtures (`parser-suites/EXPECTATIONS.md`) are
//! tests of their own below.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{read, rules, testdata};

use crashdelta::classify::{self, Classification};
use crashdelta::report::{self, NotAReport, ParseError, Report};

#[derive(Debug)]
enum Expect {
    Crash {
        thread: Option<usize>,
        frames: usize,
        rule: &'static str,
        location: Option<&'static str>,
        trigger: Option<&'static str>,
        /// The handler's kind, else the machinery's.
        on_top: Option<&'static str>,
    },
    Incomplete,
    Not(NotAReport),
}

use Expect::*;

const fn crash(
    thread: Option<usize>,
    frames: usize,
    rule: &'static str,
    location: Option<&'static str>,
    trigger: Option<&'static str>,
    on_top: Option<&'static str>,
) -> Expect {
    Crash {
        thread,
        frames,
        rule,
        location,
        trigger,
        on_top,
    }
}

fn expectations() -> Vec<(&'static str, Expect)> {
    use NotAReport::*;
    vec![
        // --- Signal handlers on top of the crash. -------------------------------------------
        // faulthandler re-raised SIGABRT on MLX's completion queue; the corpus cut the paste in
        // frame 5 (`libsystem_pthread.dylib ... 0`), so nothing below _sigtramp names code.
        (
            "field/signal-handlers/01-omlx-1548-faulthandler-mlx-check-error.txt",
            crash(
                Some(35),
                6,
                "other",
                None,
                None,
                Some("python-faulthandler"),
            ),
        ),
        // Symbol-only lines written by a person, and a hand-transcribed stack without addresses.
        (
            "field/signal-handlers/02-omlx-upstream-report-faulthandler-symbol-only.txt",
            Not(Unrecognised),
        ),
        (
            "field/signal-handlers/03-v9-icb-agx-render-faulthandler.txt",
            Not(Unrecognised),
        ),
        // Crashed threads pasted without their report: fragments (read as threads below).
        (
            "field/signal-handlers/04-cpython-95818-raise-over-sigtramp-no-handler-frame.txt",
            Not(TextFragment),
        ),
        (
            "field/signal-handlers/05-kivy-2211-py-fatalerror-over-sigtramp.txt",
            Not(TextFragment),
        ),
        (
            "field/signal-handlers/06-jnativehook-346-jvm-signalhandler.txt",
            Not(TextFragment),
        ),
        (
            "field/signal-handlers/07-unity-editor-mono-chain-signal.txt",
            Not(TextFragment),
        ),
        (
            "field/signal-handlers/08-crashlytics-9723-unity-ios-handler-frames-only.txt",
            Not(TextFragment),
        ),
        (
            "field/signal-handlers/09-crashlytics-9840-handler-on-unlabelled-thread.txt",
            Not(TextFragment),
        ),
        (
            "field/signal-handlers/10-swift-177-llvm-signalhandler-printed-stack.txt",
            Not(TextFragment),
        ),
        (
            "field/signal-handlers/11-jhelioviewer-153-jvm-handler-null-pc.txt",
            Not(TextFragment),
        ),
        // --- Abort, panic and exception machinery. ------------------------------------------
        (
            "field/abort-paths/01-rtb-rs-rust-panic-legacy.txt",
            Not(TextFragment),
        ),
        (
            "field/abort-paths/02-tauri-panic-cannot-unwind.txt",
            Not(TextFragment),
        ),
        (
            "field/abort-paths/03-deno-pkgx-panic-in-panic-hook-ips.txt",
            Not(JsonFragment),
        ),
        (
            "field/abort-paths/04-tao-tahoe-panic-nounwind-ips.txt",
            Not(JsonFragment),
        ),
        (
            "field/abort-paths/05-bambustudio-cxa-throw-mutex-lock.txt",
            Not(TextFragment),
        ),
        // Cut inside the machinery (`4   libc++ab`): no frame names where it went wrong.
        (
            "field/abort-paths/06-macs-fan-control-out-of-range.txt",
            crash(Some(0), 5, "other", None, None, Some("cxx-exception")),
        ),
        // Pasted from `Time Awake Since Boot` (no `Process:` line), with a blank line after the
        // thread's header: std::terminate from a joinable std::thread's destructor at exit.
        (
            "field/abort-paths/07-vscode-cpptools-terminate-thread-dtor.txt",
            crash(
                Some(0),
                11,
                "other",
                Some("std::__1::thread::~thread() + 17"),
                Some("~vector -> ~thread"),
                Some("cxx-exception"),
            ),
        ),
        (
            "field/abort-paths/08-input-leap-qt-unrecognized-selector.txt",
            Not(TextFragment),
        ),
        (
            "field/abort-paths/09-jewelrybox-nsexception-background-thread.txt",
            Not(TextFragment),
        ),
        (
            "field/abort-paths/10-keka-crashonexception.txt",
            Not(TextFragment),
        ),
        // AppKit's _crashOnException: under Sentry's own interception; cut before the app's code.
        (
            "field/abort-paths/11-sentry-reportexception-breakpoint.txt",
            crash(Some(0), 8, "other", None, None, Some("objc-exception")),
        ),
        (
            "field/abort-paths/12-get-iplayer-nsconcretetask-ips.txt",
            Not(JsonFragment),
        ),
        // Rethrown by the run loop: read from the Last Exception Backtrace, where it was thrown.
        (
            "field/abort-paths/13-crashy-ios-last-exception-backtrace.txt",
            crash(
                Some(0),
                14,
                "other",
                Some("-[__NSPlaceholderArray initWithObjects:count:] + 412"),
                Some("Crashy + 0x6d10 -> arrayWithObjects"),
                Some("objc-exception"),
            ),
        ),
        (
            "field/abort-paths/14-keepassium-swift-runtime-failure-iuo.txt",
            crash(
                Some(0),
                8,
                "other",
                Some("PricingPlanPickerVC.scrollToDefaultPlan(animated:) + 0"),
                Some(
                    "PremiumCoordinator.refreshAvailableProducts -> PricingPlanPickerVC.scrollToDefaultPlan",
                ),
                Some("swift-runtime-failure"),
            ),
        ),
        (
            "field/abort-paths/15-pulsepro-swift-index-out-of-range.txt",
            Not(TextFragment),
        ),
        (
            "field/abort-paths/16-timemachinestatus-assertionfailure.txt",
            crash(
                Some(0),
                7,
                "other",
                Some("TimeMachineStatus + 0x1ae34"),
                Some("TimeMachineStatus + 0x3af8c -> TimeMachineStatus + 0x1ae34"),
                Some("swift-runtime-failure"),
            ),
        ),
        // iOS: `Termination Reason: SIGNAL 5 Trace/BPT trap: 5`; the corpus cut the symbol
        // below the runtime failure to `clos`.
        (
            "field/abort-paths/17-netnewswire-ios-signal5-force-unwrap.txt",
            crash(
                Some(0),
                2,
                "other",
                Some("clos"),
                Some("clos"),
                Some("swift-runtime-failure"),
            ),
        ),
        (
            "field/abort-paths/18-firebase-ios-applicationwillterminate-iuo.txt",
            Not(TextFragment),
        ),
        // --- Cut pastes, partial reports, Markdown damage, spindump sections. ---------------
        (
            "field/cut-pastes/01-1-uncrustifier-codesign-header-only.txt",
            Incomplete,
        ),
        (
            "field/cut-pastes/02-1-swiftinitgenerator-crashed-thread-to-termination.txt",
            Incomplete,
        ),
        (
            "field/cut-pastes/03-1-leetdown-termination-reason-only.txt",
            Incomplete,
        ),
        (
            "field/cut-pastes/04-1-simplenote-dyld-blockquote.txt",
            Not(TextFragment),
        ),
        // The header names thread 11 (thread 2); the paste stops in thread 0.
        (
            "field/cut-pastes/05-2-stats-crashed-thread-11-only-thread0.txt",
            crash(None, 0, "other", None, None, None),
        ),
        (
            "field/cut-pastes/06-2-metaljl-compilerservice-crashed-thread-2.txt",
            crash(None, 0, "other", None, None, None),
        ),
        // Block-quoted, no `Process:` line.
        (
            "field/cut-pastes/07-3-sigdigger-blockquote-crashed-thread-only.txt",
            crash(
                Some(0),
                4,
                "other",
                Some("uw_init_context_1.cold + 5"),
                Some("uw_init_context_1"),
                Some("abort"),
            ),
        ),
        (
            "field/cut-pastes/08-3-electron-from-sip-line-no-process.txt",
            crash(
                Some(0),
                5,
                "other",
                Some(
                    "v8::internal::SetupIsolateDelegate::SetupHeap(v8::internal::Heap*) + 5686706",
                ),
                Some("ElectronInitializeICUandStartNode -> SetupHeap"),
                None,
            ),
        ),
        // PyTorch MPS, from `Exception Type:` down; cut in the abort path.
        (
            "field/cut-pastes/09-3-pytorch-mps-error-report-from-exception-type.txt",
            crash(Some(0), 2, "other", None, None, Some("abort")),
        ),
        // Cut inside frame 0's address (`0x000000`): the address is unknown, not 0x0, and an
        // image name alone places nothing (it read `GeForceGLDriverWeb 0x0` before the cut line
        // was distrusted).
        (
            "field/cut-pastes/10-3-fcpcafe-nvidia-driver-no-process.txt",
            crash(Some(0), 1, "other", None, None, None),
        ),
        (
            "field/cut-pastes/11-4-controlplane-bold-pthread-kill.txt",
            Not(TextFragment),
        ),
        // `**kill + 10` (Markdown ate `__`), the app's own signal handler over a jump to NULL
        // (`???  000000000000000000 0 + 0`).
        (
            "field/cut-pastes/12-4-amethyst-bold-kill-no-fence.txt",
            crash(
                Some(0),
                7,
                "other",
                Some("com.amethyst.Amethyst + 0x6f20"),
                Some("com.amethyst.Amethyst + 0x6c08 -> com.amethyst.Amethyst + 0x6f20"),
                Some("unknown"),
            ),
        ),
        (
            "field/cut-pastes/13-4-ente-leading-backtick-translated-report.txt",
            Incomplete,
        ),
        (
            "field/cut-pastes/14-4-knighttouchbar-fence-swallows-process-line.txt",
            Incomplete,
        ),
        (
            "field/cut-pastes/15-4-godot-details-no-code-fence.txt",
            Incomplete,
        ),
        (
            "field/cut-pastes/16-4-stats-details-summary-p-crashed-thread-7.txt",
            crash(None, 0, "other", None, None, None),
        ),
        // Lines run together by the paste (long runs of spaces), split again.
        (
            "field/cut-pastes/17-4-2ship-metal-lines-run-together.txt",
            crash(Some(0), 5, "other", Some("objc_msgSend + 32"), None, None),
        ),
        (
            "field/cut-pastes/18-5-epichrome-spindump-sh-process-section.txt",
            Not(Spindump),
        ),
        (
            "field/cut-pastes/19-5-codegraph-spindump-main-thread-no-process-line.txt",
            Not(Spindump),
        ),
        (
            "field/cut-pastes/20-5-hacmini-spindump-podcastcontentservice.txt",
            Not(Spindump),
        ),
        (
            "field/cut-pastes/21-5-goldencheetah-spindump-airportd-thread.txt",
            Not(Spindump),
        ),
        // Cut in the middle of a frame line: what ends the line is not trusted as whole (see
        // `a_frame_line_cut_short_is_not_read_as_whole`).
        (
            "field/cut-pastes/22-6-godot-cut-after-load-address-plus.txt",
            crash(None, 0, "other", None, None, None),
        ),
        (
            "field/cut-pastes/23-6-moltenvk-cut-inside-image-name.txt",
            crash(
                Some(0),
                2,
                "other",
                Some(
                    "StatelessValidation::validate_struct_pnext(char const*, ParameterName const&, \
                     char const*, void const*, unsigned long, VkStructureType const*, unsigned int, \
                     char const*) + 3075",
                ),
                Some("validate_struct_pnext"),
                None,
            ),
        ),
        (
            "field/cut-pastes/24-6-moltenvk-cut-inside-address.txt",
            crash(None, 0, "other", None, None, None),
        ),
        // The end of a report only: the crashed thread's registers and the Binary Images.
        (
            "field/cut-pastes/25-7-nixpkgs-godot-registers-and-images-only.txt",
            Not(TextFragment),
        ),
        // An .ips header line and a body cut short: incomplete, naming whose report it is; cut
        // inside a string and followed by its line break, it is as cut as at a token's end.
        (
            "field/cut-pastes/26-8-drawthings-ips-body-cut-inside-a-string.txt",
            Incomplete,
        ),
        (
            "field/cut-pastes/27-8-2ship-full-report-banner-ips-body-cut.txt",
            Incomplete,
        ),
        // Pieces of pretty-printed bodies, without the keys of threads and frames.
        (
            "field/cut-pastes/28-9-opensuperwhisper-pretty-printed-body-fragment.txt",
            Not(JsonFragment),
        ),
        (
            "field/cut-pastes/29-9-pytorch-101251-used-images-piece.txt",
            Not(JsonFragment),
        ),
        // A blank line after every line (the paste kept its lines outside a code fence): all
        // ten frames, not frame 0 and a "truncated" report.
        (
            "field/cut-pastes/30-4-gcanvas-double-spaced-crashed-in-metal.txt",
            crash(
                Some(0),
                10,
                "metal-other",
                Some("_newFunctionWithGLIR + 60"),
                Some("_gleDoDrawDispatchCoreES2 -> gldUpdateDispatch"),
                None,
            ),
        ),
        // `[trace] ` before every line: the report under it (cut before its crashed thread 18).
        (
            "field/cut-pastes/31-4-air-trace-prefix-on-every-line.txt",
            crash(None, 0, "other", None, None, None),
        ),
        // Cut inside the last frame's symbol, and inside the last frame's load address (`0x`):
        // the symbol is kept and said, the number is not used.
        (
            "field/cut-pastes/32-6-retroarch-cut-inside-symbol.txt",
            crash(
                Some(0),
                3,
                "other",
                Some(
                    "amdBronzeMtlTextureStdWriteTileVecDisp1(void*, void*, unsigned int, unsigned int) + 20",
                ),
                None,
                None,
            ),
        ),
        (
            "field/cut-pastes/33-6-bluepicker-cut-inside-load-address.txt",
            crash(Some(0), 1, "other", None, None, Some("abort")),
        ),
        // A post whose line breaks became spaces (a forum's rendering): split into its lines
        // before the header keys and the frame numbers counting up from 0.
        (
            "field/cut-pastes/42-4-devforums-metal-hud-line-breaks-collapsed.txt",
            crash(
                Some(57),
                10,
                "metal-other",
                Some("esfm_GenerateTriangesForString + 408"),
                None,
                None,
            ),
        ),
        // Pieces of `.ips` bodies without their header line and start, holding the crashed
        // thread's frames: the `"threads"` line (indented as macOS writes it), or the frames
        // after the register that `matchesCrashFrame` marks. Read from the piece.
        (
            "field/cut-pastes/34-9-quicksilver-threads-line-cut-in-abort.txt",
            crash(Some(0), 3, "other", None, None, Some("abort")),
        ),
        // Every frame before the cut is assertion machinery (abort, `__assert_rtn`, Metal's
        // `MTLReportFailure`): the check that failed is past the cut.
        (
            "field/cut-pastes/35-9-godot-threads-line-metal-assertion.txt",
            crash(Some(0), 6, "other", None, None, Some("assertion")),
        ),
        (
            "field/cut-pastes/36-9-materialx-threads-line-glflush.txt",
            crash(Some(0), 2, "other", Some("glFlush + 8"), None, None),
        ),
        (
            "field/cut-pastes/37-9-goldendict-crashed-thread-frames-after-registers-agx.txt",
            crash(
                Some(0),
                1,
                "agx-other",
                Some(
                    "AGX::BlitDispatchContextGen2::dispatchCoalescedSparseTextureShaderBatch() + 136",
                ),
                None,
                None,
            ),
        ),
        (
            "field/cut-pastes/38-9-runner-images-pretty-printed-crashed-thread-tail.txt",
            crash(Some(0), 2, "other", None, None, Some("abort")),
        ),
        // Pieces that do not hold the crashed thread's frames: which crash it is cannot be told.
        (
            "field/cut-pastes/39-9-ddnet-exception-asi-agx-assertion-no-crashed-thread.txt",
            Not(JsonFragment),
        ),
        (
            "field/cut-pastes/40-9-pytorch-91878-frames-without-a-crashed-marker.txt",
            Not(JsonFragment),
        ),
        (
            "field/cut-pastes/41-9-invokeai-threads-line-cut-in-first-frame.txt",
            Not(JsonFragment),
        ),
        // --- Backtraces copied from a debugger: not reports. --------------------------------
        (
            "field/debugger/01-moltenvk-2283-xcode-navigator-cvdisplaylink-abort.txt",
            Not(LldbBacktrace),
        ),
        (
            "field/debugger/02-flutter-69102-xcode-navigator-agx-blit.txt",
            Not(LldbBacktrace),
        ),
        // --- GPU crashes and the threads around them. ---------------------------------------
        (
            "field/gpu-threads/01-pytorch-166746-mpsgraph-assert-metal-gpu-stream.txt",
            Not(TextFragment),
        ),
        (
            "field/gpu-threads/02-pytorch-77818-iogpu-submit-thread.txt",
            Not(TextFragment),
        ),
        (
            "field/gpu-threads/03-exo-1348-commandqueue-iogpu-thread.txt",
            Not(TextFragment),
        ),
        (
            "field/gpu-threads/04-exo-1348-ips-check-error-frames.txt",
            Not(JsonFragment),
        ),
        (
            // lldb's `bt` frames without its `* thread` line: a debugger's backtrace.
            "field/gpu-threads/05-mlx-1643-lldb-streamthread-commit.txt",
            Not(LldbBacktrace),
        ),
        (
            "field/gpu-threads/06-doza-assist-23-mlx-check-error-completion-queue.txt",
            Not(TextFragment),
        ),
        (
            "field/gpu-threads/08-lettier-28-glrenderer-completion-queue.txt",
            Not(TextFragment),
        ),
        (
            "field/gpu-threads/09-materialx-1295-iogpu-agxmetal13-3-completion.txt",
            Not(TextFragment),
        ),
        (
            "field/gpu-threads/10-moltenvk-2319-agxg14x-cmdwaitevents.txt",
            Not(TextFragment),
        ),
        (
            "field/gpu-threads/11-wgpu-7816-agx-endrenderpasscommon-lldb.txt",
            Not(LldbBacktrace),
        ),
        // The AGX assertion in the head; the paste stops before crashed thread 7.
        (
            "field/gpu-threads/12-ddnet-4446-translated-header-agx-assert.txt",
            crash(None, 0, "agx-encoder-already-encoding", None, None, None),
        ),
        (
            "field/gpu-threads/13-sdl-5203-ddnet-render-thread-agxg13x.txt",
            Not(TextFragment),
        ),
        (
            "field/gpu-threads/14-ddnet-4435-translated-header-thread7.txt",
            crash(None, 0, "agx-encoder-already-encoding", None, None, None),
        ),
        (
            "field/gpu-threads/15-pcsx2-9718-gs-thread-metal-assert.txt",
            Not(TextFragment),
        ),
        (
            "field/gpu-threads/16-pytorch-82531-lldb-gatherviewtensor-mpscore.txt",
            Not(LldbBacktrace),
        ),
        (
            "field/gpu-threads/17-pytorch-138200-lldb-metal-gpu-stream-assert.txt",
            Not(LldbBacktrace),
        ),
        (
            "field/gpu-threads/18-executorch-6746-lldb-bt-all-mpscore.txt",
            Not(LldbBacktrace),
        ),
        (
            "field/gpu-threads/19-utm-4723-completion-queue-objc-release.txt",
            Not(TextFragment),
        ),
        (
            "field/gpu-threads/20-omlx-354-mlx-check-error-no-addresses.txt",
            Not(TextFragment),
        ),
        (
            "field/gpu-threads/21-vllm-mlx-128-mlx-thread-safety-summary.txt",
            Not(Unrecognised),
        ),
        (
            "field/gpu-threads/22-obs-7578-header-crashed-video-thread.txt",
            Incomplete,
        ),
        (
            "field/gpu-threads/23-obs-7578-graphics-thread-in-agxg13x.txt",
            Not(TextFragment),
        ),
        // macOS's `<deduplicated_symbol>` (identical-code folding) is no name: frame 0 unnamed,
        // not ` + 112` (its brackets were taken off as template arguments, leaving nothing).
        (
            "field/gpu-threads/24-osaurus-mlx-deduplicated-symbol-first-32000.ips",
            crash(
                Some(2),
                19,
                "other",
                Some("osaurus + 0x1260d18"),
                Some("find[abi:ne200100] -> osaurus + 0x1260d18"),
                None,
            ),
        ),
        // --- Other projects' parser fixtures (their assertions: tests below). ---------------
        (
            "field/parser-suites/idb__assetsd_custom_set.crash",
            crash(
                Some(5),
                23,
                "other",
                Some("assetsd + 0x23486"),
                Some("assetsd + 0x2389f -> assetsd + 0x23486"),
                Some("objc-exception"),
            ),
        ),
        (
            "field/parser-suites/idb__xctest-concated-json-crash.ips",
            crash(
                Some(0),
                55,
                "other",
                Some("-[TpxUnitTests testExample1] + 48"),
                Some("__invoking___ -> testExample1"),
                None,
            ),
        ),
        // lldb's templates: `@foo@` where patch-crashlog.py puts the addresses.
        (
            "field/parser-suites/lldb__a.out.crash",
            crash(
                Some(0),
                4,
                "other",
                Some("foo + 16"),
                Some("bar -> foo"),
                None,
            ),
        ),
        (
            "field/parser-suites/lldb__a.out.inline.crash",
            crash(
                Some(0),
                4,
                "other",
                Some("foo + 16"),
                Some("bar -> foo"),
                None,
            ),
        ),
        // Not JSON until patched: the header only.
        (
            "field/parser-suites/lldb__a.out.inline.ips",
            crash(None, 0, "other", None, None, None),
        ),
        (
            "field/parser-suites/lldb__altered_threadState.crash",
            crash(
                Some(0),
                4,
                "other",
                Some("foo + 16"),
                Some("main -> foo"),
                None,
            ),
        ),
        (
            "field/parser-suites/lldb__asi.txt",
            crash(
                Some(0),
                15,
                "other",
                Some("-[__NSArrayI objectAtIndex:] + 60"),
                Some("main -> objectAtIndex"),
                Some("objc-exception"),
            ),
        ),
        (
            "field/parser-suites/lldb__leb.txt",
            crash(
                Some(0),
                15,
                "other",
                Some("-[__NSArrayI objectAtIndex:] + 60"),
                Some("main -> objectAtIndex"),
                Some("objc-exception"),
            ),
        ),
        (
            "field/parser-suites/lldb__multithread-test.crash",
            crash(
                Some(2),
                8,
                "other",
                Some("bar(int) + 20"),
                Some("foo -> bar"),
                None,
            ),
        ),
        // multithread_non_crashed_threads.test: 4 threads, the third crashed.
        (
            "field/parser-suites/lldb__objcpp_multithread_different_module.ips",
            crash(
                Some(2),
                6,
                "other",
                Some("use_libc() + 72"),
                Some("__thread_execute[abi:ne200100] -> use_libc"),
                None,
            ),
        ),
        (
            "field/parser-suites/pycrashreport__crash_report_ios14_non_symbolicated_abort.ips",
            crash(
                Some(7),
                15,
                "other",
                Some("libdispatch.dylib + 0x4830"),
                None,
                Some("abort"),
            ),
        ),
        (
            "field/parser-suites/pycrashreport__user_mode_crash_report_ios14_symbolicated.ips",
            crash(
                Some(0),
                6,
                "other",
                Some("a64l + 0"),
                Some("main -> a64l"),
                Some("abort"),
            ),
        ),
        (
            "field/parser-suites/pycrashreport__user_mode_crash_report_monterey_non_symbolicated.ips",
            crash(
                Some(0),
                4,
                "other",
                Some("nanosleep + 196"),
                Some("sleep + 0x3dd2 -> nanosleep"),
                None,
            ),
        ),
        (
            "field/parser-suites/sentryacrp__bruno.txt",
            crash(
                Some(5),
                19,
                "other",
                Some("YetAnotherMac + 0xa52132"),
                Some("YetAnotherMac + 0x35ed85b -> YetAnotherMac + 0xa52132"),
                None,
            ),
        ),
        // `Crashed Thread: 5` in the header, `Thread 1 Crashed:` in the list: the marker wins.
        (
            "field/parser-suites/sentryacrp__handcrafted.txt",
            crash(
                Some(1),
                3,
                "other",
                Some("libsystem_kernel.dylib + 0x25be"),
                None,
                None,
            ),
        ),
        // No header at all, one thread that is not marked crashed.
        (
            "field/parser-suites/sentryacrp__spaces.txt",
            Not(TextFragment),
        ),
        // One crash in two formats: see `one_crash_in_two_formats_is_one_signature`.
        (
            "field/parser-suites/mobiledev__MemoryLeakingApp-2022-08-05-132419.ips",
            crash(
                Some(0),
                33,
                "other",
                Some("MemoryLeakingApp + 0x42d2"),
                Some("MemoryLeakingApp + 0x5830 -> MemoryLeakingApp + 0x42d2"),
                Some("abort"),
            ),
        ),
        (
            "field/parser-suites/mobiledev__MemoryLeakingApp-2022-08-05-132419.crash",
            crash(
                Some(0),
                33,
                "other",
                Some("dev.mobile.MemoryLeakingApp + 0x42d2"),
                Some(
                    "dev.mobile.MemoryLeakingApp + 0x5830 -> dev.mobile.MemoryLeakingApp + 0x42d2",
                ),
                Some("abort"),
            ),
        ),
        // Ends inside its Binary Images list.
        (
            "field/parser-suites/icdab__jablotron_sigbus_align.crash",
            crash(
                Some(0),
                36,
                "other",
                Some("libswiftCore.dylib + 0x1f4d64"),
                Some("MyJablotron_dev + 0x435c18 -> libswiftCore.dylib + 0x1f4d64"),
                None,
            ),
        ),
        // `Highlighted Thread: 3` names the thread.
        (
            "field/parser-suites/icdab__wakeups.crash",
            crash(Some(3), 11, "other", Some("mach_msg_trap + 20"), None, None),
        ),
        // `0x34fc288f 0x34f09000 + 759951 (__exceptionPreprocess + 163)`.
        (
            "field/parser-suites/kscrash__AppleSideBySideReport-nsexception.txt",
            crash(
                Some(0),
                21,
                "other",
                Some("-[NSObject doesNotRecognizeSelector:] + 175"),
                Some("throwException -> doesNotRecognizeSelector"),
                Some("objc-exception"),
            ),
        ),
    ]
}

fn on_top(c: &Classification) -> Option<&'static str> {
    c.on_top
        .handler
        .as_ref()
        .map(|h| h.kind)
        .or(c.on_top.machinery.as_ref().map(|m| m.kind))
}

#[test]
fn every_field_report_reads_as_what_it_is() {
    let rules = rules();
    let mut failures = Vec::new();
    for (file, expect) in expectations() {
        let parsed = report::parse(&read(file));
        let ok = match (&expect, &parsed) {
            (
                Crash {
                    thread,
                    frames,
                    rule,
                    location,
                    trigger,
                    on_top: top,
                },
                Ok(r),
            ) => {
                let c = classify::classify(r, &rules).unwrap();
                let got = (
                    r.crashed().map(|t| t.index),
                    r.crashed().map_or(0, |t| t.frames.len()),
                    c.rule.as_str(),
                    c.location.as_deref(),
                    c.trigger.as_deref(),
                    on_top(&c),
                );
                let want = (*thread, *frames, *rule, *location, *trigger, *top);
                if got != want {
                    failures.push(format!("{file}:\n  want {want:?}\n  got  {got:?}"));
                }
                continue;
            }
            (Incomplete, Err(ParseError::Incomplete(reason))) => {
                reason.contains("the text ends at line") || reason.contains("ends at line")
            }
            (Not(what), Err(ParseError::NotAReport { what: got, reason })) => {
                got == what && reason.len() > 20
            }
            _ => false,
        };
        if !ok {
            failures.push(format!("{file}: expected {expect:?}, got {parsed:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_file_in_field_has_an_expectation_and_an_origin() {
    let listed: Vec<&str> = expectations().iter().map(|(f, _)| *f).collect();
    for folder in std::fs::read_dir(testdata().join("field")).unwrap() {
        let folder = folder.unwrap().path();
        let sources = std::fs::read_to_string(folder.join("SOURCES.tsv"))
            .unwrap_or_else(|e| panic!("{}: {e}", folder.display()));
        for entry in std::fs::read_dir(&folder).unwrap() {
            let path = entry.unwrap().path();
            let name = path.file_name().unwrap().to_str().unwrap();
            if name.ends_with(".tsv") || name.ends_with(".md") {
                continue;
            }
            let rel = path
                .strip_prefix(testdata())
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            assert!(
                listed.contains(&rel.as_str()),
                "{rel} has no expectation in tests/field.rs"
            );
            assert!(
                sources.lines().any(|l| l.starts_with(&format!("{name}\t"))),
                "{rel} has no origin in {}/SOURCES.tsv",
                folder.display()
            );
        }
    }
}

/// A crashed thread pasted on its own (no report around it) is a fragment; read as the crashed
/// thread of a report, its real frames show where each kind of machinery ends. The header is
/// made up here (the exception the fragment's report had, when the paste shows it); the frames
/// are the file's, from its first thread or frame line.
fn as_crashed_thread(rel: &str, exception: &str) -> Report {
    let text = String::from_utf8(read(rel)).unwrap();
    let body = text
        .split("# ----- BEGIN EXCERPT -----\n")
        .nth(1)
        .unwrap_or(&text);
    let lines: Vec<&str> = body.lines().collect();
    let start = lines
        .iter()
        .position(|l| {
            let t = l.trim_start().trim_start_matches('>').trim_start();
            t.starts_with("Thread ")
                || t.split_whitespace()
                    .next()
                    .is_some_and(|w| w.parse::<u32>().is_ok())
        })
        .unwrap_or_else(|| panic!("{rel}: no thread or frame line"));
    let mut wrapped = format!("Process: fragment [1]\nException Type: {exception}\n\n");
    let mut rest: Vec<String> = lines[start..].iter().map(|l| (*l).to_owned()).collect();
    if !body.contains(" Crashed") {
        // The paste's first thread is the one that crashed.
        match rest.first_mut() {
            Some(first) if first.trim_start().starts_with("Thread ") => {
                *first = first.replacen(':', " Crashed:", 1);
            }
            _ => wrapped.push_str("Thread 0 Crashed:\n"),
        }
    }
    wrapped.push_str(&rest.join("\n"));
    report::parse(wrapped.as_bytes()).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// (file, the exception its report had, frames, location, trigger, on top).
type Row = (
    &'static str,
    &'static str,
    usize,
    Option<&'static str>,
    Option<&'static str>,
    Option<&'static str>,
);

/// Four optional fields of a frame or an image, compared as one row.
type Fields<'a, A, B> = (Option<&'a str>, Option<A>, Option<&'a str>, Option<B>);

#[test]
fn real_crashed_threads_are_read_below_their_machinery() {
    let rows: &[Row] = &[
        // A bare `raise` directly on `_sigtramp`: an unnamed handler; below it, an address in
        // no image, then CPython.
        (
            "field/signal-handlers/04-cpython-95818-raise-over-sigtramp-no-handler-frame.txt",
            "EXC_CRASH (SIGABRT)",
            17,
            Some("_PyObject_GenericGetAttrWithDict + 364"),
            Some("_PyEval_EvalFrameDefault -> _PyObject_GenericGetAttrWithDict"),
            Some("unknown"),
        ),
        (
            "field/signal-handlers/06-jnativehook-346-jvm-signalhandler.txt",
            "EXC_CRASH (SIGABRT)",
            13,
            Some("__c_locale + 1480"),
            None,
            Some("jvm"),
        ),
        // Unity's HandleSignal chained through Mono's handlers, over a jump to NULL in the GC.
        (
            "field/signal-handlers/07-unity-editor-mono-chain-signal.txt",
            "EXC_BAD_ACCESS (SIGSEGV)",
            15,
            Some("GC_mark_some + 476"),
            Some("GC_stopped_mark -> GC_mark_some"),
            Some("mono"),
        ),
        (
            "field/signal-handlers/11-jhelioviewer-153-jvm-handler-null-pc.txt",
            "EXC_CRASH (SIGABRT)",
            14,
            Some("___CFXRegistrationPost_block_invoke + 63"),
            None,
            Some("jvm"),
        ),
        // Rust: the panic path (std::panicking, std::sys_common::util::abort) down to the
        // function that panicked.
        (
            "field/abort-paths/01-rtb-rs-rust-panic-legacy.txt",
            "EXC_CRASH (SIGABRT)",
            12,
            Some("objc::runtime::Object::get_ivar + 627"),
            Some("processNSEvent -> get_ivar"),
            Some("rust-panic"),
        ),
        (
            "field/abort-paths/02-tauri-panic-cannot-unwind.txt",
            "EXC_CRASH (SIGABRT)",
            12,
            Some("tao::platform_impl::platform::app_delegate::did_finish_launch"),
            Some("did_finish_launch"),
            Some("rust-panic"),
        ),
        // C++: std::system_error thrown by std::mutex::lock.
        (
            "field/abort-paths/05-bambustudio-cxa-throw-mutex-lock.txt",
            "EXC_CRASH (SIGABRT)",
            14,
            Some("std::__1::mutex::lock() + 40"),
            Some("parse_user_print_info -> lock"),
            Some("cxx-exception"),
        ),
        // Objective-C: unrecognized selector (the forwarding stubs), NSRangeException on a
        // background thread, AppKit's _crashOnException:.
        (
            "field/abort-paths/08-input-leap-qt-unrecognized-selector.txt",
            "EXC_CRASH (SIGABRT)",
            16,
            Some("QOperatingSystemVersion::current() + 52"),
            Some("QtCore + 0x161b9 -> current"),
            Some("objc-exception"),
        ),
        (
            "field/abort-paths/09-jewelrybox-nsexception-background-thread.txt",
            "EXC_CRASH (SIGABRT)",
            16,
            Some("-[NSString substringFromIndex:] + 99"),
            Some("calculateAndDisplayRVMUsage -> substringFromIndex"),
            Some("objc-exception"),
        ),
        (
            "field/abort-paths/10-keka-crashonexception.txt",
            "EXC_CRASH (SIGABRT)",
            14,
            Some(
                "__65+[CATransaction(NSCATransaction) NS_setFlushesWithDisplayRefresh]_block_invoke + 849",
            ),
            None,
            Some("objc-exception"),
        ),
        // Swift: `Swift runtime failure: Index out of range` and the standard library's inlined
        // bounds checks under it.
        (
            "field/abort-paths/15-pulsepro-swift-index-out-of-range.txt",
            "EXC_BREAKPOINT (SIGTRAP)",
            8,
            Some("specialized JSONTextView.findCharater(_:in:for:startingIndex:isForward:) + 1172"),
            // Its caller, the same function's unspecialized twin, is named only mangled.
            Some(
                "$s9Pulse_Pro12JSONTextViewC12findCharater33_F5C27840B708162108E89F7A9BD9A96ELL_2in3for13startingIndex9isForwardSi_So18NSAttributedStringCtSS_AkA17JSONContainerNode_pSiSbtF -> JSONTextView.findCharater",
            ),
            Some("swift-runtime-failure"),
        ),
        (
            "field/abort-paths/18-firebase-ios-applicationwillterminate-iuo.txt",
            "EXC_BREAKPOINT (SIGTRAP)",
            9,
            Some("specialized AppDelegate.applicationWillTerminate(_:) + 436"),
            Some("applicationWillTerminate -> AppDelegate.applicationWillTerminate"),
            Some("swift-runtime-failure"),
        ),
        // `**pthread_kill` and `__NSThread__main**`: Markdown's bold, read back as `__`.
        (
            "field/cut-pastes/11-4-controlplane-bold-pthread-kill.txt",
            "EXC_CRASH (SIGABRT)",
            13,
            Some("-[Action(HelperTool) helperToolInit:] + 120"),
            Some("helperToolPerformAction -> helperToolInit"),
            Some("assertion"),
        ),
        // MLX's check_error throwing from Metal's completion queue.
        (
            "field/gpu-threads/06-doza-assist-23-mlx-check-error-completion-queue.txt",
            "EXC_CRASH (SIGABRT)",
            14,
            Some("mlx::core::gpu::check_error(MTL::CommandBuffer*) + 244"),
            Some("addCompletedHandler -> check_error"),
            Some("cxx-exception"),
        ),
    ];
    let rules = rules();
    let mut failures = Vec::new();
    for (file, exception, frames, location, trigger, top) in rows {
        let r = as_crashed_thread(file, exception);
        let c = classify::classify(&r, &rules).unwrap();
        let got = (
            r.crashed().map_or(0, |t| t.frames.len()),
            c.location.as_deref(),
            c.trigger.as_deref(),
            on_top(&c),
        );
        let want = (*frames, *location, *trigger, *top);
        if got != want {
            failures.push(format!("{file}:\n  want {want:?}\n  got  {got:?}"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn the_markdown_double_underscore_is_restored() {
    let r = as_crashed_thread(
        "field/cut-pastes/11-4-controlplane-bold-pthread-kill.txt",
        "EXC_CRASH (SIGABRT)",
    );
    let frames = &r.crashed().unwrap().frames;
    assert_eq!(frames[0].symbol.as_deref(), Some("__pthread_kill"));
    assert_eq!(frames[10].symbol.as_deref(), Some("__NSThread__main__"));
}

/// A paste cut in the middle of a frame line (GitHub's comment limit, a selection that stopped,
/// an excerpt): the last token of that line may be cut too. An address cut short (`0x00007f`)
/// would name the wrong function: not used. `0x100124000 +` is an unnamed frame's load address
/// with its offset missing, not a symbol. An image name cut short is said, and no `--symbols`
/// hint is given for a frame that has no address.
#[test]
fn a_frame_line_cut_short_is_not_read_as_whole() {
    let thread0 = |rel: &str| {
        let r = report::parse(&read(rel)).unwrap();
        let frames = r.threads.first().unwrap().frames.clone();
        (r, frames)
    };
    let said = |r: &Report, what: &str| r.warnings.iter().any(|w| w.message.contains(what));

    let (r, frames) = thread0("field/cut-pastes/24-6-moltenvk-cut-inside-address.txt");
    let last = frames.last().unwrap();
    assert_eq!(
        (last.image.as_deref(), last.address),
        (Some("libsystem_kernel.dylib"), None)
    );
    assert!(
        said(&r, "after its address 0x7f, which may be cut short"),
        "{:?}",
        r.warnings
    );

    let (r, frames) = thread0("field/cut-pastes/22-6-godot-cut-after-load-address-plus.txt");
    let last = frames.last().unwrap();
    assert_eq!(
        (last.image.as_deref(), last.address, last.symbol.as_deref()),
        (Some("Godot"), Some(0x1_0142_f050), None)
    );
    assert!(said(&r, "before its offset"), "{:?}", r.warnings);
    // The frame above it, whole, is read as before.
    assert_eq!(frames[1].symbol.as_deref(), Some("nanosleep"));
    assert_eq!(frames[1].symbol_offset, Some(220));

    let (r, frames) = thread0("field/cut-pastes/23-6-moltenvk-cut-inside-image-name.txt");
    assert!(
        said(
            &r,
            "after its image name `libVkLayer_khronos_validation.dy`"
        ),
        "{:?}",
        r.warnings
    );
    assert_eq!(frames.last().unwrap().address, None);
    let out = common::crashdelta()
        .arg("show")
        .arg(testdata().join("field/cut-pastes/23-6-moltenvk-cut-inside-image-name.txt"))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!err.contains("--symbols"), "{err}");

    // The same lines whole, in the middle of a thread, are read whole.
    let whole = "Process: x [1]\nException Type: EXC_CRASH (SIGABRT)\nCrashed Thread: 0\n\n\
                 Thread 0 Crashed:\n0   libsystem_kernel.dylib  0x00007fff8b6a1e2a\n\
                 1   Godot  0x10142f050 0x100124000 +\n2   libdyld.dylib  0x7fff5fc01028 start + 1\n";
    let r = report::parse(whole.as_bytes()).unwrap();
    let frames = &r.threads[0].frames;
    assert_eq!(frames[0].address, Some(0x7fff_8b6a_1e2a));
    assert_eq!(frames[1].symbol, None);
    assert!(!said(&r, "may be cut short"), "{:?}", r.warnings);

    // Review findings, as the last line of the text: an address zero-padded to 16 digits (the
    // widest) cannot be a cut prefix; `dyld start + 2360` has no address but is whole; an
    // unnamed frame wrapped before its offset takes the offset from the next line.
    let ends = |last: &str| {
        let text = format!(
            "Process: x [1]\nException Type: EXC_CRASH (SIGABRT)\nCrashed Thread: 0\n\n\
             Thread 0 Crashed:\n0   libsystem_c.dylib  0x18d3682f8 nanosleep + 220\n{last}\n"
        );
        report::parse(text.as_bytes()).unwrap()
    };
    let r = ends("1   libsystem_kernel.dylib  0x000000018d0fd0e0");
    assert_eq!(r.threads[0].frames[1].address, Some(0x1_8d0f_d0e0));
    assert!(!said(&r, "may be cut short"), "{:?}", r.warnings);
    let r = ends("1   dyld  start + 2360");
    assert!(!said(&r, "may be cut short"), "{:?}", r.warnings);
    let r = ends("1   Godot  0x10142f050 0x100124000 +\n19034192");
    let f = &r.threads[0].frames[1];
    assert_eq!(
        (f.symbol.as_deref(), f.image_offset),
        (None, Some(19_034_192))
    );
    assert!(!said(&r, "offset"), "{:?}", r.warnings);

    // Cut inside the symbol (RetroArch's AMD driver frame): kept, and said.
    let (r, frames) = thread0("field/cut-pastes/32-6-retroarch-cut-inside-symbol.txt");
    assert_eq!(
        frames.last().unwrap().symbol.as_deref(),
        Some("amdMtlBronzeTextureStdRe")
    );
    assert!(
        said(
            &r,
            "after `amdMtlBronzeTextureStdRe` with no offset: the symbol may be cut short"
        ),
        "{:?}",
        r.warnings
    );
    // Cut two characters into the load address (an iOS 7 report inside its plist): not a
    // symbol `0x` (it was the location and the signature: `libsystem_kernel.dylib!0x`).
    let (r, frames) = thread0("field/cut-pastes/33-6-bluepicker-cut-inside-load-address.txt");
    let last = frames.last().unwrap();
    assert_eq!(
        (last.symbol.as_deref(), last.address),
        (None, Some(0x38eb_d1fc))
    );
    assert!(
        said(&r, "after `0x`, the start of a number cut short"),
        "{:?}",
        r.warnings
    );
    // Whole lines without an offset are not said to be cut: a placeholder, a file and line.
    for whole in [
        "1   libfoo.dylib  0x18d0fd0e0 ???",
        "1   MyApp  0x10000a0c0 main (main.c:7)",
        "1   MyApp  0x10000a0c0 main + 20",
    ] {
        let r = ends(whole);
        assert!(!said(&r, "may be cut short"), "{whole}: {:?}", r.warnings);
        assert!(
            !said(&r, "cut short: it is not used"),
            "{whole}: {:?}",
            r.warnings
        );
    }
    // The same words in the middle of a thread are whole.
    let r = ends(
        "1   libsystem_kernel.dylib  0x18d0fd0e0 0x\n2   libdyld.dylib  0x7fff5fc01028 start + 1",
    );
    assert_eq!(r.threads[0].frames[1].symbol.as_deref(), Some("0x"));
    assert!(!said(&r, "cut short"), "{:?}", r.warnings);
}

/// Xcode's debug navigator separates the frame number from the address with a tab; an
/// AddressSanitizer report's frames (`    #0 0x1004f3e28 in main main.c:7`) are not a
/// debugger's backtrace (review finding).
#[test]
fn a_sanitizer_report_is_not_a_debugger_backtrace() {
    let asan = "==1==ERROR: AddressSanitizer: heap-use-after-free on address 0x602000000010\n\
                \x20   #0 0x1004f3e28 in main main.c:7\n\
                \x20   #1 0x18d0fd0e0 in start+0x9c (dyl:arm64e+0xfd0e0)\n";
    match report::parse(asan.as_bytes()) {
        Err(ParseError::NotAReport { what, .. }) => assert_ne!(what, NotAReport::LldbBacktrace),
        other => panic!("{other:?}"),
    }
    let xcode = "Thread 9#0\t(null) in -[IOGPUMetalCommandBuffer commandBufferResourceInfo] ()\n\
                 #1\t0x0000000101193134 in GrMtlCommandBuffer::getBlitCommandEncoder() ()\n";
    match report::parse(xcode.as_bytes()) {
        Err(ParseError::NotAReport { what, .. }) => assert_eq!(what, NotAReport::LldbBacktrace),
        other => panic!("{other:?}"),
    }
}

/// An .ips body cut inside a string: serde_json stops at the line break that ends the paste (a
/// control character in a string), not at the end of the input; it is cut, not damaged, and
/// the message says whose report it is (hunt of .ips pastes: it read as a crash whose body was
/// "not valid JSON").
#[test]
fn an_ips_body_cut_inside_a_string_is_incomplete_and_named() {
    match report::parse(&read(
        "field/cut-pastes/26-8-drawthings-ips-body-cut-inside-a-string.txt",
    )) {
        Err(ParseError::Incomplete(reason)) => assert!(
            reason.contains("of DrawThings's report")
                && reason.contains("macOS 26.4.1 (25E253)")
                && reason.contains("ends at line 27"),
            "{reason}"
        ),
        other => panic!("{other:?}"),
    }
    // Damage in the middle is still damage: the header is read, the body is not.
    let damaged = "{\"bug_type\":\"309\",\"name\":\"x\"}\n{\n  \"pid\" : 1,\n  \"procName\" : \"x\n\
                   \",\n  \"threads\" : []\n}\n";
    let r = report::parse(damaged.as_bytes()).unwrap();
    assert!(r.damaged.is_some(), "{r:?}");
    // Review findings. A complete body whose last character is the mistake (a trailing comma
    // left by a hand redaction) is damaged, not cut.
    let header = "{\"bug_type\":\"309\",\"name\":\"Python\"}\n";
    let trailing = format!("{header}{{\n  \"procName\" : \"Python\",\n  \"pid\" : 1,\n}}\n");
    let r = report::parse(trailing.as_bytes()).unwrap();
    assert!(r.damaged.is_some(), "{r:?}");
    // Cut mid-token and followed by the paste's closing fence (and prose): cut.
    let fenced = format!("{header}{{\n  \"pid\" : 1,\n  \"threads\" : [1, 2\n```\nthanks\n");
    assert!(
        matches!(
            report::parse(fenced.as_bytes()),
            Err(ParseError::Incomplete(_))
        ),
        "{:?}",
        report::parse(fenced.as_bytes())
    );
    // A complete non-crash body without its header line (jetsam's) is no fragment of one.
    let jetsam = "{\"crashReporterKey\":\"c0ffee\",\"kernel\":\"Darwin\",\
                  \"processes\":[{\"uuid\":\"x\",\"pid\":123,\"name\":\"Foo\"}]}";
    match report::parse(jetsam.as_bytes()) {
        Err(ParseError::NotAReport { what, .. }) => assert_ne!(what, NotAReport::JsonFragment),
        other => panic!("{other:?}"),
    }
}

/// Other parsers' fixtures (2026-11-30): one crash as `.ips` and as a macOS 12 text report is
/// one signature (the text names bundles by identifier, the `.ips` by binary) with the same
/// image sizes (the text's end addresses are exclusive there); KSCrash's `base + offset (symbol
/// + offset)` frames; an old iOS report's `Highlighted Thread:` and lone exception code.
#[test]
fn other_parsers_fixtures_read_as_their_files_say() {
    let rules = rules();
    let ips = parse("field/parser-suites/mobiledev__MemoryLeakingApp-2022-08-05-132419.ips");
    let text = parse("field/parser-suites/mobiledev__MemoryLeakingApp-2022-08-05-132419.crash");
    let signature = |r: &Report| classify::classify(r, &rules).unwrap().signature_id;
    assert_eq!(signature(&ips), signature(&text));
    let sizes = |r: &Report| {
        let mut s: Vec<(Option<String>, Option<u64>)> =
            r.images.iter().map(|i| (i.uuid.clone(), i.size)).collect();
        s.sort();
        s
    };
    assert_eq!(sizes(&ips), sizes(&text));
    assert_eq!(text.images[0].size, Some(32768));

    let ks = parse("field/parser-suites/kscrash__AppleSideBySideReport-nsexception.txt");
    let f = &ks.threads[0].frames[0];
    assert_eq!(
        (
            f.symbol.as_deref(),
            f.symbol_offset,
            f.image_offset,
            f.source_file.as_deref()
        ),
        (
            Some("__exceptionPreprocess"),
            Some(163),
            Some(759_951),
            None
        )
    );
    assert_eq!(
        ks.threads[0].frames[2].symbol.as_deref(),
        Some("-[NSObject doesNotRecognizeSelector:]")
    );
    let substrate = ks
        .images
        .iter()
        .find(|i| i.name.as_deref() == Some("MobileSubstrate.dylib"))
        .expect("MobileSubstrate.dylib, without its architecture");
    assert_eq!(substrate.arch.as_deref(), Some("armv6"));

    // Cut inside its Binary Images list: said, and the report is cut.
    let jablotron = parse("field/parser-suites/icdab__jablotron_sigbus_align.crash");
    assert!(jablotron.cut.is_some());
    assert!(
        jablotron
            .warnings
            .iter()
            .any(|w| w.message.contains("inside the Binary Images list")),
        "{:?}",
        jablotron.warnings
    );
    let wakeups = parse("field/parser-suites/icdab__wakeups.crash");
    assert_eq!(wakeups.crashed().map(|t| t.index), Some(3));
    let e = wakeups.exception.as_ref().unwrap();
    assert_eq!(
        (e.codes.as_deref(), e.subtype.as_deref()),
        (Some("0xbad22222"), None)
    );
}

#[test]
fn a_cut_report_says_where_it_ends() {
    // The header names crashed thread 11; the paste stops in thread 0.
    let r = report::parse(&read(
        "field/cut-pastes/05-2-stats-crashed-thread-11-only-thread0.txt",
    ))
    .unwrap();
    assert!(
        r.process.name.is_none(),
        "a partial paste: no `Process:` line"
    );
    assert!(
        r.warnings
            .iter()
            .any(|w| w.message.starts_with("a partial report")),
        "{:?}",
        r.warnings
    );
    let cut = r.cut.as_ref().expect("the report is cut");
    assert!(cut.after.contains("thread 0"), "{cut}");
    // Header only: incomplete, saying after what.
    match report::parse(&read(
        "field/cut-pastes/01-1-uncrustifier-codesign-header-only.txt",
    )) {
        Err(ParseError::Incomplete(reason)) => {
            assert!(
                reason.contains("Uncrustifier")
                    && reason.contains("after the `Termination Reason:` line"),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
    // Two unrelated cut reports do not group as one crash.
    let sig = |rel: &str| {
        let r = report::parse(&read(rel)).unwrap();
        classify::classify(&r, &rules()).unwrap().signature
    };
    let a = sig("field/cut-pastes/16-4-stats-details-summary-p-crashed-thread-7.txt");
    assert!(a.starts_with("no-crashed-thread!Stats!"), "{a}");
    assert_ne!(
        a,
        sig("field/gpu-threads/12-ddnet-4446-translated-header-agx-assert.txt")
    );
}

#[test]
fn spindump_sections_are_never_a_crash() {
    for file in [
        "field/cut-pastes/18-5-epichrome-spindump-sh-process-section.txt",
        "field/cut-pastes/20-5-hacmini-spindump-podcastcontentservice.txt",
    ] {
        match report::parse(&read(file)) {
            Err(ParseError::NotAReport { what, reason }) => {
                assert_eq!(what, NotAReport::Spindump, "{file}");
                assert!(reason.contains("sample section of"), "{file}: {reason}");
            }
            other => panic!("{file}: {other:?}"),
        }
    }
}

// --- Other projects' assertions about their own fixtures (parser-suites/EXPECTATIONS.md). ------

fn parse(rel: &str) -> Report {
    report::parse(&read(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

#[test]
fn lldb_crashlog_expectations() {
    // text.test / altered_threadState.test on the a.out template: a.out [21606], parent
    // fish [88883], `Namespace SIGNAL, Code 0xb`, four frames, rbp 0x00007ffee42d8020 (from a
    // bare `Thread State` header in the altered one).
    for rel in [
        "field/parser-suites/lldb__a.out.crash",
        "field/parser-suites/lldb__altered_threadState.crash",
    ] {
        let r = parse(rel);
        assert_eq!(
            (r.process.name.as_deref(), r.process.pid),
            (Some("a.out"), Some(21606))
        );
        assert_eq!(
            (r.process.parent_name.as_deref(), r.process.parent_pid),
            (Some("fish"), Some(88883))
        );
        let t = r.termination.as_ref().unwrap();
        assert_eq!(
            (t.namespace.as_deref(), t.code),
            (Some("SIGNAL"), Some(11)),
            "{rel}"
        );
        let thread = r.crashed().unwrap();
        assert_eq!(thread.frames.len(), 4, "{rel}");
        assert_eq!(thread.frames[3].symbol.as_deref(), Some("start"), "{rel}");
        let rbp = thread
            .state
            .as_ref()
            .unwrap()
            .registers
            .iter()
            .find(|x| x.name == "rbp");
        assert_eq!(rbp.map(|x| x.value), Some(0x7ffee42d8020), "{rel}");
    }

    // interactive_crashlog_legacy.test: 3 threads, the crashed one is thread 2; frame 0 is
    // `bar(int) + 20 (multithread-test.cpp:7)` at 0x100ec58f4.
    let r = parse("field/parser-suites/lldb__multithread-test.crash");
    assert_eq!(r.process.pid, Some(22511));
    let counts: Vec<usize> = r.threads.iter().map(|t| t.frames.len()).collect();
    assert_eq!(counts, [5, 17, 8]);
    let f = &r.crashed().unwrap().frames[0];
    assert_eq!(f.address, Some(0x100ec58f4));
    assert_eq!(f.symbol.as_deref(), Some("bar(int)"));
    assert_eq!(
        (f.source_file.as_deref(), f.source_line),
        (Some("multithread-test.cpp"), Some(7))
    );
    assert_eq!(r.threads[0].frames[0].address, Some(0x19cc40b84));

    // app_specific_backtrace / last_exception_backtrace tests: pid 96535, 15 frames, frame 0
    // 0x1a08c7224 `__pthread_kill + 8`; the uncaught NSRangeException; leb's backtrace has 7
    // frames, frame 0 at 0x1a0a5840c.
    for rel in [
        "field/parser-suites/lldb__asi.txt",
        "field/parser-suites/lldb__leb.txt",
    ] {
        let r = parse(rel);
        assert_eq!(r.process.pid, Some(96535), "{rel}");
        let frames = &r.crashed().unwrap().frames;
        assert_eq!(frames.len(), 15, "{rel}");
        assert_eq!(
            (frames[0].address, frames[0].symbol.as_deref()),
            (Some(0x1a08c7224), Some("__pthread_kill"))
        );
        assert_eq!(
            r.app_specific.exception_name.as_deref(),
            Some("NSRangeException"),
            "{rel}"
        );
        assert_eq!(
            r.app_specific.exception_reason.as_deref(),
            Some("*** __boundsFail: index 10 beyond bounds [0 .. 3]"),
            "{rel}"
        );
    }
    // multithread_non_crashed_threads.test: pid 97417, four threads of 5, 11, 6 and 1 frames;
    // only the third is `triggered`.
    let r = parse("field/parser-suites/lldb__objcpp_multithread_different_module.ips");
    assert_eq!(
        (r.process.name.as_deref(), r.process.pid),
        (Some("main"), Some(97417))
    );
    let counts: Vec<usize> = r.threads.iter().map(|t| t.frames.len()).collect();
    assert_eq!(counts, [5, 11, 6, 1]);
    assert_eq!(r.crashed_thread, Some(2));

    let leb = &parse("field/parser-suites/lldb__leb.txt").last_exception_backtrace;
    assert_eq!(leb.len(), 7);
    assert_eq!(leb[0].address, Some(0x1a0a5840c));
}

#[test]
fn lldb_parser_text_lines() {
    // lldb/test/Shell/ScriptInterpreter/Python/Crashlog/parser_text.test: its inline frame and
    // image lines (data, quoted), and what lldb's regexes take from each.
    let text = "Process: a [1]\nException Type: EXC_BAD_ACCESS (SIGSEGV)\n\nThread 0 Crashed:\n\
        0 libsystem_kernel.dylib        \t0x00007fff684b78a6 read + 10\n\
        1   com.apple.LLDB.framework      \t0x000000010f7954af lldb_private::HostNativeThreadBase::ThreadCreateTrampoline(void*) + 105\n\
        2   MyApp Pro arm64    \t0x000000019b0db3a8 foo + 72\n\
        3   He 0x1    \t0x000000019b0db3a8 foo + 72\n\
        \n\
        Binary Images:\n\
        0x10b60b000 - 0x10f707fff com.apple.LLDB.framework (1.1000.11.38.2 - 1000.11.38.2) <96E36F5C-1A83-39A1-8713-5FDD9701C3F1> /Applications/Xcode.app/Contents/SharedFrameworks/LLDB.framework/LLDB\n\
        0x104591000 - 0x1055cfff7 +llvm-dwarfdump (0) <B104CFA1-046A-36A6-8EB4-07DDD7CC2DF3> /Users/USER 1/Documents/*/llvm-dwarfdump\n\
        0x1111111 - 0x2222222 MyFramework Plus.dylib (1.11 - MyFramework 1.11) <01234> /tmp/MyFramework Plus.dylib\n\
        0x7fff63f20000 - 0x7fff63f77ff7  libc++.1.dylib (400.9.4) /usr/lib/libc++.1.dylib\n\
        0x1047b8000 - 0x10481ffff dyld arm64e  <cfa789d10da63f9a8996daf84ed9d04f> /usr/lib/dyld\n";
    let r = report::parse(text.as_bytes()).unwrap();
    let frames = &r.crashed().unwrap().frames;
    let got: Vec<Fields<u64, u64>> = frames
        .iter()
        .map(|f| {
            (
                f.image.as_deref(),
                f.address,
                f.symbol.as_deref(),
                f.symbol_offset,
            )
        })
        .collect();
    assert_eq!(
        got,
        [
            (
                Some("libsystem_kernel.dylib"),
                Some(0x7fff684b78a6),
                Some("read"),
                Some(10)
            ),
            (
                Some("com.apple.LLDB.framework"),
                Some(0x10f7954af),
                Some("lldb_private::HostNativeThreadBase::ThreadCreateTrampoline(void*)"),
                Some(105)
            ),
            (Some("MyApp Pro"), Some(0x19b0db3a8), Some("foo"), Some(72)),
            (Some("He 0x1"), Some(0x19b0db3a8), Some("foo"), Some(72)),
        ]
    );
    let images: Vec<Fields<&str, &str>> = r
        .images
        .iter()
        .map(|i| {
            (
                i.name.as_deref(),
                i.bundle_version.as_deref().or(i.arch.as_deref()),
                i.uuid.as_deref(),
                i.path.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        images,
        [
            (
                Some("com.apple.LLDB.framework"),
                Some("1.1000.11.38.2 - 1000.11.38.2"),
                Some("96e36f5c-1a83-39a1-8713-5fdd9701c3f1"),
                Some("/Applications/Xcode.app/Contents/SharedFrameworks/LLDB.framework/LLDB")
            ),
            (
                Some("llvm-dwarfdump"),
                Some("0"),
                Some("b104cfa1-046a-36a6-8eb4-07ddd7cc2df3"),
                Some("/Users/USER 1/Documents/*/llvm-dwarfdump")
            ),
            (
                Some("MyFramework Plus.dylib"),
                Some("1.11 - MyFramework 1.11"),
                Some("01234"),
                Some("/tmp/MyFramework Plus.dylib")
            ),
            (
                Some("libc++.1.dylib"),
                Some("400.9.4"),
                None,
                Some("/usr/lib/libc++.1.dylib")
            ),
            (
                Some("dyld"),
                Some("arm64e"),
                Some("cfa789d1-0da6-3f9a-8996-daf84ed9d04f"),
                Some("/usr/lib/dyld")
            ),
        ]
    );
}

#[test]
fn lldb_parser_json_compact_spelling() {
    // lldb/test/Shell/ScriptInterpreter/Python/Crashlog/parser_json.test: images as
    // `[uuid, base, "P"]` named in `legacyInfo.imageExtraInfo`, frames as `[imageIndex,
    // imageOffset]`; lldb expects one thread on its queue, two frames, frame 0 at base + offset.
    let body = r#"{"pid": 287, "procName": "mediaserverd", "exception": {"type": "EXC_BAD_ACCESS", "signal": "SIGSEGV", "subtype": "KERN_INVALID_ADDRESS"}, "usedImages": [["f4d85377-f215-3da3-921e-3fe870e622e9", 7309737984, "P"]], "legacyInfo": {"imageExtraInfo": [{"size": 204800, "arch": "arm64e", "path": "/usr/lib/system/libsystem_kernel.dylib", "name": "libsystem_kernel.dylib"}]}, "threads": [{"triggered": true, "id": 3835, "queue": "com.apple.bwgraph.devicevendor", "frames": [[0, 101472], [0, 408892]]}]}"#;
    let r = report::parse(format!("{{\"bug_type\":\"309\"}}\n{body}").as_bytes()).unwrap();
    assert_eq!(
        (r.process.name.as_deref(), r.process.pid),
        (Some("mediaserverd"), Some(287))
    );
    let t = r.crashed().unwrap();
    assert_eq!(t.queue.as_deref(), Some("com.apple.bwgraph.devicevendor"));
    assert_eq!(t.frames.len(), 2);
    assert_eq!(t.frames[0].address, Some(7_309_839_456));
    assert_eq!(t.frames[0].image_offset, Some(101_472));
    assert_eq!(t.frames[0].image.as_deref(), Some("libsystem_kernel.dylib"));
    let image = &r.images[0];
    assert_eq!(
        (image.arch.as_deref(), image.size, image.source.as_deref()),
        (Some("arm64e"), Some(204_800), Some("P"))
    );
}

#[test]
fn macsymbolicator_frame_lines() {
    // inket/MacSymbolicator StackFrameTests.swift: the offsets it reads from each line (data,
    // quoted): `Image + offset` and `base + offset`, in decimal or hex.
    let lines = [
        (
            "3   CrashingTest                        0x000000010bbb1de3 CrashingTest + 15800",
            15800,
        ),
        (
            "4   iOSCrashingTest                     0x00000001028264bc 0x102820000 + 25788",
            25788,
        ),
        (
            "5   CrashingTest                        0x10bbb1e30 CrashingTest + 15900",
            15900,
        ),
        (
            "3  iOSCrashingTest                          0x1028261ec 0x102820000 + 0x5d83",
            0x5d83,
        ),
        (
            "4  CrashingTest                             0x000000010bbb1de3 CrashingTest + 0x2ab6",
            0x2ab6,
        ),
        (
            "8  iOSCrashingTest                          0x1028261ec iOSCrashingTest + 25070",
            25070,
        ),
    ];
    for (line, offset) in lines {
        let text = format!(
            "Process: a [1]\nException Type: EXC_CRASH (SIGABRT)\n\nThread 0 Crashed:\n{line}\n"
        );
        let r = report::parse(text.as_bytes()).unwrap();
        let f = &r.crashed().unwrap().frames[0];
        assert_eq!(
            (f.symbol.as_deref(), f.image_offset),
            (None, Some(offset)),
            "{line}"
        );
    }
}

#[test]
fn sentry_apple_crash_report_parser_expectations() {
    // handcrafted.txt: thread 1 "Test Thread Name" crashed with 3 frames (the marker, not the
    // header's thread 5); its frame 2 is `???  0x0000000054485244 0x0 + 0` with no module; the
    // Application Specific Information keeps both lines; 5 binary images.
    let r = parse("field/parser-suites/sentryacrp__handcrafted.txt");
    assert_eq!(
        (r.process.name.as_deref(), r.process.pid),
        (Some("YetAnotherMac"), Some(49028))
    );
    let t = r.crashed().unwrap();
    assert_eq!(
        (t.index, t.name.as_deref(), t.frames.len()),
        (1, Some("Test Thread Name"), 3)
    );
    assert_eq!(
        (t.frames[2].image.as_deref(), t.frames[2].address),
        (None, Some(0x54485244))
    );
    assert_eq!(r.threads[0].frames.len(), 14);
    // `main (main.m:16)`: no offset, the source kept.
    let main = r.threads[0]
        .frames
        .iter()
        .find(|f| f.symbol.as_deref() == Some("main"))
        .unwrap();
    assert_eq!(
        (main.source_file.as_deref(), main.source_line),
        (Some("main.m"), Some(16))
    );
    let messages: Vec<&str> = r
        .app_specific
        .messages
        .iter()
        .map(|m| m.text.as_str())
        .collect();
    assert_eq!(
        messages,
        [
            "objc_msgSend() selector name: respondsToSelector:",
            "more information here"
        ]
    );
    assert_eq!(r.images.len(), 5);
    assert_eq!(
        r.images[0].uuid.as_deref(),
        Some("2d903291-397d-3d14-bfca-52c7fb8c5e00")
    );
    assert!(r.warnings.iter().any(|w| {
        w.message
            .contains("thread 1 is marked `Crashed` and is used")
    }));

    // spaces.txt: no header, one thread of 17 frames and 17 images named with spaces. Not a
    // crash report for crashdelta (nothing says it crashed); read as a crashed thread, the
    // names with spaces come out whole.
    let r = as_crashed_thread(
        "field/parser-suites/sentryacrp__spaces.txt",
        "EXC_CRASH (SIGABRT)",
    );
    let frames = &r.crashed().unwrap().frames;
    assert_eq!(frames.len(), 17);
    assert_eq!(frames[0].image.as_deref(), Some("App Namespace"));
    assert_eq!(r.images.len(), 17);
    assert_eq!(r.images[0].name.as_deref(), Some("App Namespace"));
    assert_eq!(
        r.images[0].uuid.as_deref(),
        Some("debeff4e-2653-4f38-e59b-c9de7b8daade")
    );

    // bruno.txt: thread 5 crashed with 19 frames, frame 0 at 0x1090a0132.
    let r = parse("field/parser-suites/sentryacrp__bruno.txt");
    let t = r.crashed().unwrap();
    assert_eq!(
        (t.index, t.frames.len(), t.frames[0].address),
        (5, 19, Some(0x1090a0132))
    );
}

#[test]
fn pycrashreport_expectations() {
    // The macOS 12 report: frame 0 is the zero frame (an absolute image of size 0, no name).
    let r = parse(
        "field/parser-suites/pycrashreport__user_mode_crash_report_monterey_non_symbolicated.ips",
    );
    let f = &r.crashed().unwrap().frames;
    assert_eq!(f.len(), 4);
    assert_eq!(
        (f[0].image.as_deref(), f[0].address, f[0].symbol.as_deref()),
        (None, Some(0), None)
    );
    assert_eq!(
        (
            f[1].symbol.as_deref(),
            f[1].image_offset,
            f[1].symbol_offset
        ),
        (Some("nanosleep"), Some(0x108a9), Some(0xc4))
    );
    assert_eq!(
        r.exception.as_ref().unwrap().subtype.as_deref(),
        Some("KERN_INVALID_ADDRESS at 0x0000000000000000")
    );

    // iOS 14, a JSON header over a text report (bug_type 109): six frames, the registers
    // (x0-x28, fp, lr, sp, pc, cpsr, esr), `esr: 0x56000080  Address size fault`.
    let r =
        parse("field/parser-suites/pycrashreport__user_mode_crash_report_ios14_symbolicated.ips");
    let f = &r.crashed().unwrap().frames;
    let symbols: Vec<(Option<&str>, Option<u64>)> = f
        .iter()
        .map(|f| (f.symbol.as_deref(), f.symbol_offset))
        .collect();
    assert_eq!(
        symbols,
        [
            (Some("__pthread_kill"), Some(8)),
            (Some("pthread_kill"), Some(212)),
            (Some("__abort"), Some(112)),
            (Some("a64l"), Some(0)),
            (Some("main"), Some(108)),
            (Some("start"), Some(4)),
        ]
    );
    let state = r.crashed().unwrap().state.as_ref().unwrap();
    assert_eq!(state.registers.len(), 35);
    let esr = state.registers.iter().find(|x| x.name == "esr").unwrap();
    assert_eq!(
        (esr.value, esr.description.as_deref()),
        (0x5600_0080, Some("Address size fault"))
    );

    // iOS 14 unsymbolicated abort: thread 7, 15 frames, frame 0 at image offset 168756.
    let r =
        parse("field/parser-suites/pycrashreport__crash_report_ios14_non_symbolicated_abort.ips");
    let t = r.crashed().unwrap();
    assert_eq!(
        (t.index, t.frames.len(), t.frames[0].image_offset),
        (7, 15, Some(168_756))
    );
}

#[test]
fn idb_expectations() {
    // FBCrashLogInfoTests: assetsd [39942] from launchd_sim [39927]; crashed thread 5 with 23
    // frames (32-bit addresses; image names fill their column, the tab follows them directly);
    // the uncaught exception's reason.
    let r = parse("field/parser-suites/idb__assetsd_custom_set.crash");
    assert_eq!(
        (r.process.name.as_deref(), r.process.pid),
        (Some("assetsd"), Some(39942))
    );
    assert_eq!(
        (r.process.parent_name.as_deref(), r.process.parent_pid),
        (Some("launchd_sim"), Some(39927))
    );
    let t = r.crashed().unwrap();
    assert_eq!((t.index, t.frames.len()), (5, 23));
    assert_eq!(
        r.app_specific.exception_name.as_deref(),
        Some("NSInternalInconsistencyException")
    );
    assert_eq!(
        r.app_specific.exception_reason.as_deref(),
        Some("notify_get_state() failed.")
    );
    // `Application Specific Backtrace 1`: its 16 frames.
    assert_eq!(r.last_exception_backtrace.len(), 16);

    // The process name comes from the body's procName (xctest3), not the header's.
    let r = parse("field/parser-suites/idb__xctest-concated-json-crash.ips");
    assert_eq!(
        (r.process.name.as_deref(), r.process.pid),
        (Some("xctest3"), Some(82406))
    );
    assert_eq!(
        (r.process.parent_name.as_deref(), r.process.parent_pid),
        (Some("idb"), Some(81861))
    );
    assert_eq!(r.threads.len(), 3);
    assert_eq!(r.crashed().unwrap().frames.len(), 55);
    assert_eq!(r.images.len(), 8);
}

/// A `.ips` cut after its crashed thread (a paste over GitHub's 65,536 characters, cut or split
/// across comments) reads as far as it goes: the crash, its place of the cut, one warning for
/// the frames whose images the cut left out, and the reason still naming what is missing. Cut
/// before the crashed thread's frames, it stays incomplete, with the same message as before.
#[test]
fn an_ips_body_cut_after_the_crashed_thread_is_read_as_far_as_it_goes() {
    let text = String::from_utf8(read("derived/agx-prepareForEnqueue-0x98.ips")).unwrap();
    let images = text.find("\"usedImages\"").unwrap();
    // Cut 40 bytes before `usedImages`, inside the crashed thread's last frame: that frame is
    // left out whole (a frame without its symbol would be made up), the 11 above it are read.
    for (cut, inside, frames) in [
        (images + 200, "usedImages", 12),
        (images - 40, "threads", 11),
    ] {
        let r = report::parse(text.get(..cut).unwrap().as_bytes()).unwrap();
        let at = r.cut.as_ref().unwrap_or_else(|| panic!("no cut: {r:?}"));
        assert!(at.after.contains(&format!("`{inside}`")), "{at:?}");
        assert_eq!(r.crashed_thread, Some(11));
        assert_eq!(r.crashed().unwrap().frames.len(), frames);
        assert!(
            r.warnings
                .iter()
                .any(|w| w.at == "body" && w.message.contains("cut short")),
            "{:?}",
            r.warnings
        );
        let lost: Vec<_> = r
            .warnings
            .iter()
            .filter(|w| w.at.ends_with("imageIndex"))
            .collect();
        assert!(lost.is_empty(), "one warning for them all: {lost:?}");
        if inside == "usedImages" {
            // Every frame of an image past the cut, counted.
            let whole = report::parse(text.as_bytes()).unwrap();
            let past = whole
                .threads
                .iter()
                .flat_map(|t| &t.frames)
                .filter(|f| f.image_index.is_some_and(|i| i >= r.images.len()))
                .count();
            let said = format!("{past} frame(s) name images the cut left out");
            assert!(past > 20, "{past}");
            assert!(
                r.warnings
                    .iter()
                    .any(|w| w.at == "usedImages" && w.message.starts_with(&said)),
                "{said}: {:?}",
                r.warnings
            );
        }
        let c = classify::classify(&r, &rules()).unwrap();
        assert_eq!(c.rule, "agx-prepare-for-enqueue-race", "{:?}", c.why);
    }
    // Cut inside the crashed thread (the last): nothing says which crash it is yet.
    let last_thread = text.rfind("\"triggered\"").unwrap();
    match report::parse(text.get(..last_thread + 30).unwrap().as_bytes()) {
        Err(ParseError::Incomplete(reason)) => {
            assert!(reason.contains("of Python's report"), "{reason}")
        }
        other => panic!("{other:?}"),
    }
}

/// A translated report whose Full Report (JSON) part is cut: the translated text is whole and
/// is read, with a warning saying why the JSON was not.
#[test]
fn a_composite_with_its_json_part_cut_reads_the_translated_text() {
    let text = String::from_utf8(read("real/crash/ips2crashlog__target.txt")).unwrap();
    let cut = text.find("\"usedImages\"").unwrap() + 300;
    let r = report::parse(text.get(..cut).unwrap().as_bytes()).unwrap();
    assert_eq!(r.format, report::SourceFormat::Text);
    assert!(r.cut.is_none(), "{:?}", r.cut);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.at == "Full Report" && w.message.contains("cut short")),
        "{:?}",
        r.warnings
    );
}
