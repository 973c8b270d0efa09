//! What the symbol modules' unit tests share: the fixture symbol files and the generated dSYM.

use std::path::{Path, PathBuf};

/// A symbol file built by testdata/symbols/make.sh, by its path under `testdata/symbols/out`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("testdata/symbols/out")
        .join(name)
}

/// The generated dSYM's DWARF file, inside the folder [`generated`] returns.
pub const GENERATED: &str = "libbigdsym.dylib.dSYM/Contents/Resources/DWARF/libbigdsym.dylib";

/// The generated dSYM (bench/make_big_dsym.sh at SCALE=3, DWARF 4) in a temporary folder, or
/// `None` when its toolchain (clang, ld64.lld, dsymutil, llvm; python3) is missing and
/// `CRASHDELTA_REQUIRE_TOOLCHAIN` (anything but `0`) does not ask for it. The generator exits 3
/// when a tool is missing: skipped, which tests/big_symbols.rs says (the library prints
/// nothing, its tests included: tests/layers.rs).
pub fn generated() -> Option<tempfile::TempDir> {
    generated_dwarf(4)
}

/// [`generated`] in DWARF version `dwarf` (5: as Xcode 16 writes it for macOS 15, which needs
/// dsymutil from LLVM 17 or later; the generator exits 3 with an older one).
pub fn generated_dwarf(dwarf: u8) -> Option<tempfile::TempDir> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let out = std::process::Command::new("bash")
        .arg(root.join("bench/make_big_dsym.sh"))
        .arg(dir.path())
        .env("SCALE", "3")
        .env("DWARF", dwarf.to_string())
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let required =
        std::env::var("CRASHDELTA_REQUIRE_TOOLCHAIN").is_ok_and(|v| !v.is_empty() && v != "0");
    if out.status.code() == Some(3) && !required {
        return None;
    }
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    Some(dir)
}
