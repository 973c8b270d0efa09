//! The `atos` fallback, for images that have no file of their own to index: on macOS 11 and later
//! system libraries (and some AGX drivers) live only in the dyld shared cache, which `atos` reads
//! and symbolic does not. `atos` knows only the running system's cache, so it is used only when
//! the report was written by the same OS build as the one crashdelta runs on (`sw_vers`):
//! otherwise the names could belong to other code, and a wrong symbol is worse than none.
//! Both tools are found on the PATH at run time; there is no macOS-only code to compile.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::report::{Report, SymbolSource};

/// A program on the PATH.
pub fn which(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|d| d.join(program))
        .find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The running system's OS build (`24G419`), from `sw_vers -buildVersion`.
pub fn system_build() -> Option<String> {
    let out = Command::new(which("sw_vers")?)
        .arg("-buildVersion")
        .output()
        .ok()?;
    let build = String::from_utf8_lossy(&out.stdout).trim().to_owned();
    (out.status.success() && !build.is_empty()).then_some(build)
}

/// One line of `atos` output: `symbol (in image) + 1268`, `symbol (in image) (file.cpp:31)`,
/// or the address itself when `atos` knows nothing.
fn parse_line(line: &str) -> Option<(String, Option<u64>)> {
    let line = line.trim();
    let (symbol, rest) = line.split_once(" (in ")?;
    let rest = rest.split_once(')').map_or("", |(_, r)| r).trim();
    let offset = rest.strip_prefix("+ ").and_then(|o| o.trim().parse().ok());
    let symbol = symbol.trim();
    (!symbol.is_empty() && !symbol.starts_with("0x")).then(|| (symbol.to_owned(), offset))
}

/// Names unnamed frames with `atos` when the report comes from `system_build`, the OS build
/// crashdelta runs on. Returns how many frames were named.
pub fn symbolicate(report: &mut Report, atos: &Path, system_build: &str) -> usize {
    if report.os.build.as_deref() != Some(system_build) {
        return 0;
    }
    // Unnamed frames by image: (thread, frame) positions and their addresses.
    let mut wanted: BTreeMap<usize, Vec<(usize, usize, u64)>> = BTreeMap::new();
    for (t, thread) in report.threads.iter().enumerate() {
        for (f, frame) in thread.frames.iter().enumerate() {
            if frame.symbol.is_none()
                && let (Some(i), Some(addr)) = (frame.image_index, frame.address)
            {
                wanted.entry(i).or_default().push((t, f, addr));
            }
        }
    }
    let mut named = 0;
    for (image_index, frames) in wanted {
        let Some(image) = report.images.get(image_index) else {
            continue;
        };
        let (Some(path), Some(base)) = (image.path.clone(), image.base) else {
            continue;
        };
        let mut cmd = Command::new(atos);
        if let Some(arch) = &image.arch {
            cmd.args(["-arch", arch]);
        }
        cmd.args(["-o", &path, "-l", &format!("{base:#x}")]);
        cmd.args(frames.iter().map(|(_, _, a)| format!("{a:#x}")));
        let Ok(out) = cmd.output() else { continue };
        if !out.status.success() {
            continue;
        }
        let text = String::from_utf8_lossy(&out.stdout);
        for ((t, f, _), line) in frames.iter().zip(text.lines()) {
            if let Some((symbol, offset)) = parse_line(line)
                && let Some(frame) = report
                    .threads
                    .get_mut(*t)
                    .and_then(|th| th.frames.get_mut(*f))
            {
                frame.symbol = Some(symbol);
                frame.symbol_offset = offset;
                frame.symbolicated_by = SymbolSource::Atos;
                frame.symbol_file = Some(format!("atos -o {path}"));
                named += 1;
            }
        }
    }
    named
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn atos_lines() {
        assert_eq!(
            parse_line(
                "AGX::ComputeContext<A, B>::prepareForEnqueue(bool) (in AGXMetal13_3) + 1268"
            ),
            Some((
                "AGX::ComputeContext<A, B>::prepareForEnqueue(bool)".into(),
                Some(1268)
            ))
        );
        assert_eq!(
            parse_line("main (in a.out) (main.c:3)"),
            Some(("main".into(), None))
        );
        assert_eq!(parse_line("0x1fddc171c"), None);
    }
}
