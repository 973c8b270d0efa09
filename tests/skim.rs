//! A skimming parse (`classify`'s: the crashed thread's frames, and those of the threads in the
//! GPU stack) reads every report as the whole parse does, but for the frames it leaves unread
//! and their warnings: the same report otherwise, the same classification, the same racing
//! threads. Checked on every file in `testdata/`, and on real reports with bytes changed
//! where the skim decides (brackets, quotes, escapes, digits).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

mod common;

use common::{read, rules, testdata};
use std::path::PathBuf;

use crashdelta::classify::{self, RuleSet};
use crashdelta::report::{self, Frames, Report};
use proptest::prelude::*;

/// Why the skimming parse of `bytes` differs from the whole one, if it does.
fn differs(bytes: &[u8], rules: &RuleSet) -> Option<String> {
    let whole = report::parse(bytes);
    let skim = report::parse_with(bytes, Frames::Skim(classify::SKIM));
    let (whole, skim) = match (whole, skim) {
        (Ok(w), Ok(s)) => (w, s),
        (Err(w), Err(s)) if w == s => return None,
        (w, s) => return Some(format!("whole: {w:?}\nskim: {s:?}")),
    };
    let (cw, cs) = (
        classify::classify(&whole, rules),
        classify::classify(&skim, rules),
    );
    if cw != cs {
        return Some(format!("classification\nwhole: {cw:#?}\nskim: {cs:#?}"));
    }
    if whole.threads.len() != skim.threads.len() {
        return Some("thread count".into());
    }
    let skipped: Vec<usize> = skim
        .threads
        .iter()
        .filter(|t| t.frames_skipped)
        .map(|t| t.index)
        .collect();
    if skipped.contains(&whole.crashed_thread.unwrap_or(usize::MAX)) {
        return Some("the crashed thread was skipped".into());
    }
    for (w, s) in whole.threads.iter().zip(&skim.threads) {
        let read = if s.frames_skipped {
            s.frames.is_empty()
        } else {
            s.frames == w.frames
        };
        if !read
            || (&s.name, s.index, &s.queue, s.triggered)
                != (&w.name, w.index, &w.queue, w.triggered)
        {
            return Some(format!("thread {}", w.index));
        }
    }
    // The warnings are the whole parse's, without those about the frames left unread.
    let unread = |at: &str| {
        skipped
            .iter()
            .any(|i| at.starts_with(&format!("threads[{i}].frames")))
    };
    let kept: Vec<_> = whole
        .warnings
        .iter()
        .filter(|w| !unread(&w.at))
        .map(syntax_neutral)
        .collect();
    let said: Vec<_> = skim.warnings.iter().map(syntax_neutral).collect();
    if kept != said {
        return Some(format!(
            "warnings\nwhole: {:#?}\nskim: {:#?}",
            whole.warnings, skim.warnings
        ));
    }
    let rest = |r: &Report| {
        let mut r = r.clone();
        r.threads.clear();
        r.warnings.clear();
        r.damaged = r.damaged.as_ref().map(|_| String::new());
        r
    };
    (rest(&whole) != rest(&skim)).then(|| "the rest of the report".into())
}

/// A warning without serde_json's account of a syntax error, which depends on the reader that
/// met it: in a thread's frames, serde_json reading them says `trailing comma` where stepping
/// over them (as a skim does) says `key must be a string`, and a control character in a string
/// is placed at the start of the next line by one and at the end of its own by the other. Both
/// read the header alone then; the test asks that both say so.
fn syntax_neutral(w: &report::Warning) -> (String, String) {
    match w.message.find("not valid JSON (") {
        Some(at) => ("line".into(), w.message[..at].to_owned()),
        None => (w.at.clone(), w.message.clone()),
    }
}

/// Also over the folders in `CRASHDELTA_SKIM_CORPUS` (`:`-separated), when it is set: the shared
/// corpus of real reports, which is not in this repository.
#[test]
fn every_testdata_file_reads_the_same_skimmed() {
    let rules = rules();
    let (mut files, mut skimmed) = (0, 0);
    let extra = std::env::var("CRASHDELTA_SKIM_CORPUS").unwrap_or_default();
    let folders = std::iter::once(testdata().to_owned()).chain(
        extra
            .split(':')
            .filter(|s| !s.is_empty())
            .map(PathBuf::from),
    );
    for entry in folders.flat_map(walkdir::WalkDir::new) {
        let entry = entry.unwrap();
        if !entry.file_type().is_file() {
            continue;
        }
        let bytes = std::fs::read(entry.path()).unwrap();
        if let Some(why) = differs(&bytes, &rules) {
            panic!("{}: {why}", entry.path().display());
        }
        files += 1;
        let skim = report::parse_with(&bytes, Frames::Skim(classify::SKIM));
        if skim.is_ok_and(|r| r.threads.iter().any(|t| t.frames_skipped)) {
            skimmed += 1;
        }
    }
    // The comparison compares something: most `.ips` crash reports have threads to skip.
    assert!(
        files > 250 && skimmed > 30,
        "{files} files, {skimmed} skimmed"
    );
}

/// The threads `racing` lists are read, and only they and the crashed thread in a report whose
/// other threads are parked in the kernel (the faulthandler report: three threads in Metal).
#[test]
fn the_threads_in_the_gpu_stack_are_read_and_the_others_skipped() {
    let bytes = read("derived/agx-prepareForEnqueue-faulthandler.ips");
    let skim = report::parse_with(&bytes, Frames::Skim(classify::SKIM)).unwrap();
    let c = classify::classify(&skim, &rules()).unwrap();
    let read: Vec<usize> = skim
        .threads
        .iter()
        .filter(|t| !t.frames_skipped)
        .map(|t| t.index)
        .collect();
    let mut expected: Vec<usize> = c.racing.iter().map(|r| r.thread).collect();
    expected.extend(skim.crashed_thread);
    expected.sort_unstable();
    assert_eq!(read, expected);
    assert!(c.racing.len() >= 2, "{:?}", c.racing);
}

/// Reports whose threads the skim reads some of and skips others.
const BASES: &[&str] = &[
    "derived/agx-prepareForEnqueue-faulthandler.ips",
    "real/ips/ips2crashlog__source.ips",
    "real/ips/sanfer__report.ips",
];

/// The bytes where a skim's decision turns.
const TURNING: &[u8] = b"[]{},:\"\\0123456789 AGXa";

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn a_changed_byte_reads_the_same_skimmed(
        which in 0..BASES.len(),
        at in 0.0f64..1.0,
        to in 0..TURNING.len(),
        twice in proptest::option::of((0.0f64..1.0, 0..TURNING.len())),
    ) {
        let mut bytes = read(BASES[which]);
        for (at, to) in std::iter::once((at, to)).chain(twice) {
            let i = ((bytes.len() - 1) as f64 * at) as usize;
            bytes[i] = TURNING[to];
        }
        if let Some(why) = differs(&bytes, &rules()) {
            prop_assert!(false, "{why}");
        }
    }
}

/// The frames of a thread that did not crash, spelled the ways a skim must not be fooled by:
/// each is put in thread 3 of the AGX race report (whose images are 1 `libtorch_cpu.dylib`, 2
/// `AGXMetalG16X`, 6 `libsystem_kernel.dylib`), and read the same skimmed. Those with a frame in
/// the driver make thread 3 one of the threads the crash raced with.
#[test]
fn frames_spelled_any_way_read_the_same_skimmed() {
    const KERNEL: &str = r#"{"imageOffset":100,"symbol":"__psynch_cvwait","imageIndex":6}"#;
    const PROGRAM: &str = r#"{"imageOffset":200,"symbol":"at::native::mps::f()","imageIndex":1}"#;
    let in_gpu = [
        // The compact spelling of version 1 bodies.
        "[[6,100],[2,4096],[1,200]]".to_owned(),
        format!("[{KERNEL},[2,4096],{PROGRAM}]"),
        // No image, but the driver's symbol.
        format!(
            r#"[{KERNEL},{{"imageOffset":4096,"symbol":"AGX::ComputeContext::f()"}},{PROGRAM}]"#
        ),
        // The key escaped, spaces around the number.
        format!(r#"[{KERNEL},{{"image\u0049ndex":2,"imageOffset":4096}},{PROGRAM}]"#),
        format!(r#"[ {KERNEL} , {{ "imageIndex" : 2 , "imageOffset" : 4096 }} , {PROGRAM} ]"#),
        format!(r#"[{KERNEL},{{"imageOffset":4096,"imageIndex":2}}, {PROGRAM}]"#),
        // A number in a string is read as the number.
        r#"[{"imageIndex":"2","imageOffset":1}]"#.to_owned(),
        // A key repeated: the last one is the frame's.
        format!(r#"[{{"imageIndex":6,"imageOffset":4096,"imageIndex":2}},{PROGRAM}]"#),
    ];
    // Skipped: nothing in the GPU stack, and nothing that may hide it.
    let skipped = [
        format!("[{KERNEL},{PROGRAM}]"),
        r#"[{"imageIndex":8,"imageOffset":9,"symbol":"-[NSObject init]"}]"#.to_owned(),
    ];
    // Read or not, the same as the whole parse: brackets after a comma in a symbol, image
    // numbers the report does not have or that are not plain numbers (warnings, kept), frames
    // that are not a list of objects.
    let either = [
        r#"[{"imageIndex":1,"imageOffset":9,"symbol":"f(int, [x])"}]"#,
        r#"[{"imageIndex":99,"imageOffset":1}]"#,
        r#"[{"imageIndex":2.0,"imageOffset":1}]"#,
        r#"[{"imageIndex":6.0,"imageOffset":1}]"#,
        r#"[{"imageIndex":-1,"imageOffset":1}]"#,
        r#"[{"imageIndex":99999999999999999999999,"imageOffset":1}]"#,
        r#"[{"imageIndex":1e0,"imageOffset":1}]"#,
        r#"[{"imageIndex":true,"imageOffset":1}]"#,
        r#"{"imageIndex":2}"#,
        "[1,2]",
        "null",
    ];
    let text = String::from_utf8(read("derived/agx-prepareForEnqueue-0x98.ips")).unwrap();
    let (header, body) = text.split_once('\n').unwrap();
    let mut body: serde_json::Value = serde_json::from_str(body).unwrap();
    body["threads"][3]["frames"] = "@frames@".into();
    let body = serde_json::to_string(&body).unwrap();
    let rules = rules();
    let cases = (in_gpu.iter().map(|f| (f.as_str(), Some(true))))
        .chain(skipped.iter().map(|f| (f.as_str(), Some(false))))
        .chain(either.iter().map(|f| (*f, None)));
    for (frames, in_gpu) in cases {
        let report = format!("{header}\n{}", body.replace("\"@frames@\"", frames));
        if let Some(why) = differs(report.as_bytes(), &rules) {
            panic!("{frames}: {why}");
        }
        let skim = report::parse_with(report.as_bytes(), Frames::Skim(classify::SKIM)).unwrap();
        let c = classify::classify(&skim, &rules).unwrap();
        if let Some(in_gpu) = in_gpu {
            assert_eq!(c.racing.iter().any(|r| r.thread == 3), in_gpu, "{frames}");
            assert_eq!(skim.threads[3].frames_skipped, !in_gpu, "{frames}");
        }
    }
}

/// A frame in an image the report names neither by name nor by path is read: symbols found
/// later (`--symbols`, `atos`) may show it is the driver's.
#[test]
fn frames_in_an_image_without_a_name_are_read() {
    let text = String::from_utf8(read("derived/agx-prepareForEnqueue-0x98.ips")).unwrap();
    let (header, body) = text.split_once('\n').unwrap();
    let mut body: serde_json::Value = serde_json::from_str(body).unwrap();
    let image = body["usedImages"][8].as_object_mut().unwrap();
    image.remove("name");
    image.remove("path");
    body["threads"][3]["frames"] = serde_json::json!([{"imageIndex": 8, "imageOffset": 9}]);
    body["threads"][4]["frames"] = serde_json::json!([{"imageIndex": 6, "imageOffset": 9}]);
    let report = format!("{header}\n{body}");
    assert!(differs(report.as_bytes(), &rules()).is_none());
    let skim = report::parse_with(report.as_bytes(), Frames::Skim(classify::SKIM)).unwrap();
    assert!(!skim.threads[3].frames_skipped);
    assert!(skim.threads[4].frames_skipped);
}
