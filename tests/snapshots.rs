//! The `show` rendering of every crash report in testdata, as insta snapshots.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{analyzer, testdata};
use crashdelta::analyze::pipeline::analyze_input;
use crashdelta::input::{Input, read_file};
use crashdelta::render::human;

fn show(rel: &str) -> String {
    let input = Input::from_bytes(format!("testdata/{rel}"), read_file(&testdata().join(rel)));
    human::show(&analyze_input(input, &analyzer(), false), false)
}

macro_rules! snapshot {
    ($name:ident, $file:literal) => {
        #[test]
        fn $name() {
            insta::assert_snapshot!(stringify!($name), show($file));
        }
    };
}

snapshot!(dml_crash_log, "real/crash/dml__crash_log.txt");
snapshot!(electronsym_crash, "real/crash/electronsym__crash.txt");
snapshot!(ips2crashlog_target, "real/crash/ips2crashlog__target.txt");
snapshot!(
    macsym_ios_with_json_header,
    "real/crash/macsym__ios-crash-with-json-header.crash"
);
snapshot!(
    macsym_ios_without_json_header,
    "real/crash/macsym__ios-crash-without-json-header.crash"
);
snapshot!(mysqlwb_readme, "real/crash/mysqlwb__README.md");
snapshot!(photoguru_crash, "real/crash/photoguru__crash.txt");
snapshot!(
    sentry_xcdyoutubekit,
    "real/crash/sentryacrp__XCDYouTubeKit-54.txt"
);
snapshot!(sentry_xcode16_head, "real/crash/sentryacrp__xcode16.txt");
snapshot!(
    smartinbox_console_then_report,
    "real/crash/smartinbox__3-failed-ui-start.pl"
);
snapshot!(suzuki2_trailing_profile, "real/crash/suzuki2__README.md");
snapshot!(
    tinyjuice_head_fragment,
    "real/crash/tinyjuice-slice01__input.log"
);
snapshot!(
    tinyjuice_tail_with_full_report,
    "real/crash/tinyjuice-slice10__input.log"
);
snapshot!(ips2crashlog_source, "real/ips/ips2crashlog__source.ips");
snapshot!(lldb_template_invalid_body, "real/ips/llvm-lldb__a.out.ips");
snapshot!(lldb_multithread, "real/ips/llvm-lldb__multithread-test.ips");
snapshot!(
    macsym_ios_ips,
    "real/ips/macsym__ios-crash-in-ips-format.ips"
);
snapshot!(sanfer_ios_abort, "real/ips/sanfer__report.ips");
snapshot!(
    cute_framework_report_head,
    "real/issue_text/gh-cute_framework-286-desc.txt"
);
snapshot!(applekeystore_panic, "real/ips/applekeystore__panic.ips");
snapshot!(ipsw_diskwrites, "real/ips/ipsw-test__diskwrites-145.ips");
snapshot!(
    wgpu_lldb_backtrace,
    "real/issue_text/gh-wgpu-7816-turn0-lldb.txt"
);
snapshot!(derived_agx_race, "derived/agx-prepareForEnqueue-0x98.ips");
snapshot!(derived_python_abort, "derived/python-abort-agx-loaded.ips");
// What sits on top of a crash, and the threads it raced with (docs/reading.md).
snapshot!(
    derived_agx_race_under_faulthandler,
    "derived/agx-prepareForEnqueue-faulthandler.ips"
);
snapshot!(
    derived_agx_race_under_faulthandler_translated,
    "derived/agx-prepareForEnqueue-faulthandler-translated.txt"
);
snapshot!(
    lldb_leb_rethrown_exception,
    "field/parser-suites/lldb__leb.txt"
);
snapshot!(
    amethyst_handler_over_null_jump,
    "field/cut-pastes/12-4-amethyst-bold-kill-no-fence.txt"
);
snapshot!(
    stats_cut_before_crashed_thread,
    "field/cut-pastes/16-4-stats-details-summary-p-crashed-thread-7.txt"
);
snapshot!(
    keepassium_swift_runtime_failure,
    "field/abort-paths/14-keepassium-swift-runtime-failure-iuo.txt"
);
