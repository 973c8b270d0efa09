//! Helpers every test file shares: where the repository and its test data are, the built-in
//! rules, the real binary, and the report most tests start from. Each test file that needs them
//! says `mod common;`; not every file uses every helper.

#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::process::Output;

/// The AGX race report every watch and campaign test writes (testdata/README.md).
pub const RACE: &str = "testdata/derived/agx-prepareForEnqueue-0x98.ips";

/// A shell snippet that writes the race report for pid `$1`, parent `$2`, captured and launched
/// at `$3` (default: now), into `$REPORTS/$4` (default `Python-race.ips`), renamed into place as
/// ReportCrash does.
pub const WRITE_RACE: &str = r#"
write_race() {
  when=${3:-$(date -u '+%Y-%m-%d %H:%M:%S.00 +0000')}
  sed -e "s/\"pid\": 81920/\"pid\": $1/" -e "s/\"parentPid\": 81852/\"parentPid\": $2/" \
      -e "s/\"responsiblePid\": 1357/\"responsiblePid\": $1/" \
      -e "s/\"captureTime\": \"[^\"]*\"/\"captureTime\": \"$when\"/" \
      -e "s/\"procLaunch\": \"[^\"]*\"/\"procLaunch\": \"$when\"/" \
      "$RACE" > "$REPORTS/.race.tmp"
  mv "$REPORTS/.race.tmp" "$REPORTS/${4:-Python-race.ips}"
}
"#;

/// The repository.
pub fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// `testdata/`.
pub fn testdata() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata"))
}

/// `testdata/REL`, as a path.
pub fn testdata_path(rel: &str) -> PathBuf {
    testdata().join(rel)
}

/// The bytes of `testdata/REL`; a missing file fails the test with its name.
pub fn read(rel: &str) -> Vec<u8> {
    std::fs::read(testdata().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The built-in rules.
pub fn rules() -> crashdelta::classify::RuleSet {
    crashdelta::classify::RuleSet::builtin().unwrap()
}

/// An analyzer with the built-in rules and no symbols.
pub fn analyzer() -> crashdelta::analyze::Analyzer {
    crashdelta::analyze::Analyzer::new(rules(), None)
}

/// The real binary, run from the repository (so relative test-data paths resolve).
pub fn crashdelta() -> assert_cmd::Command {
    let mut c = assert_cmd::Command::new(env!("CARGO_BIN_EXE_crashdelta"));
    c.current_dir(root());
    c
}

/// A finished command's standard error, as text.
pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}
