//! Did the injected library load? A run "with the fix" injects a library into the command
//! (`DYLD_INSERT_LIBRARIES` on macOS, `LD_PRELOAD` on Linux), and the loader can drop it without
//! a word: macOS strips `DYLD_*` from SIP-protected binaries (`/bin/sh`, `/usr/bin/python3`) and
//! so from everything they start; Linux's loader skips a path that does not exist or a library
//! of another architecture (one line on standard error), and ignores paths with a slash for a
//! set-user-ID program. A "with fix" run that never loaded the fix looks exactly like a fix that
//! works.
//!
//! This module finds the libraries the command's environment asks for ([`requested`]) and looks,
//! for each process of the run's tree that the sampler sees running (`process.rs`), whether each
//! is mapped into it ([`Injection::look`]): `/proc/PID/maps` on Linux, the process's file-backed
//! memory regions through libproc on macOS; by path, and by device and inode (a path reached
//! through a link, a file replaced since). A process is looked at again on later samples until
//! it shows every library: a fork sampled before its exec shows its parent's mappings, and a
//! program just started may not have reached its loader yet. One that shows a library stays
//! counted for that program; a process that starts another program (its executable changes) is
//! looked at afresh. What the crash reports' binary images say ([`Library::listed_in`]) and the
//! verdict are the run record's (`run::injected`).

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::os::unix::ffi::OsStrExt;
#[cfg(any(target_os = "linux", test))]
use std::os::unix::ffi::OsStringExt;
use std::path::{Path, PathBuf};

use crate::report::Image;

/// The variables through which the loader injects libraries on this system.
#[cfg(target_os = "macos")]
pub const VARIABLES: &[&str] = &["DYLD_INSERT_LIBRARIES"];
/// The variables through which the loader injects libraries on this system.
#[cfg(not(target_os = "macos"))]
pub const VARIABLES: &[&str] = &["LD_PRELOAD"];

/// A file's identity: its device and inode. Two paths to one file (a link, a bind mount) have
/// the same; a file deleted and rebuilt at the same path does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct FileId {
    dev: u64,
    ino: u64,
}

/// A library the command's environment asks the loader to inject.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Library {
    /// The variable that names it (`LD_PRELOAD`, `DYLD_INSERT_LIBRARIES`).
    pub variable: String,
    /// The entry as the variable gives it.
    pub path: String,
    /// Whether the file exists, as crashdelta sees it from its working directory (the command's
    /// too); `None` for a bare name, which the loader looks for in its search path.
    pub exists: Option<bool>,
    /// The paths a mapping of it can show: as given (made absolute), and with its links resolved.
    paths: Vec<PathBuf>,
    /// Its device and inode, when it exists.
    id: Option<FileId>,
    /// Set when only its file name can be compared: a bare name (`libfix.so`, found in the
    /// loader's search path), or a path with a `$LIB`, `$PLATFORM` or `$ORIGIN` token the
    /// loader expands.
    name_only: Option<OsString>,
}

impl Library {
    /// The library an entry of `variable` names, resolved against `cwd`.
    pub fn new(variable: &str, entry: &OsStr, cwd: &Path) -> Library {
        let bytes = entry.as_bytes();
        let path = Path::new(entry);
        let bare = !bytes.contains(&b'/');
        let tokens = bytes.contains(&b'$');
        let name_only = (bare || tokens).then(|| {
            path.file_name()
                .map_or_else(|| entry.to_owned(), OsStr::to_owned)
        });
        let absolute = if path.is_absolute() {
            path.to_path_buf()
        } else {
            cwd.join(path)
        };
        let (exists, paths, id) = if bare || tokens {
            (None, Vec::new(), None)
        } else {
            let mut paths = vec![absolute.clone()];
            if let Ok(real) = std::fs::canonicalize(&absolute)
                && real != absolute
            {
                paths.push(real);
            }
            let meta = std::fs::metadata(&absolute).ok();
            let id = meta.as_ref().map(|m| {
                use std::os::unix::fs::MetadataExt;
                FileId {
                    dev: device(m.dev()),
                    ino: m.ino(),
                }
            });
            (Some(meta.is_some()), paths, id)
        };
        Library {
            variable: variable.to_owned(),
            path: entry.to_string_lossy().into_owned(),
            exists,
            paths,
            id,
            name_only,
        }
    }

    /// Its file name (`libfix.dylib`).
    fn file_name(&self) -> Option<&OsStr> {
        match &self.name_only {
            Some(name) => Some(name),
            None => self.paths.first().and_then(|p| p.file_name()),
        }
    }

    /// Whether a mapping of `path` (with the file identity `id`, when known) is this library.
    fn is(&self, path: &Path, id: Option<FileId>) -> bool {
        if let Some(name) = &self.name_only {
            return path.file_name().is_some_and(|f| same_or_versioned(f, name));
        }
        self.paths.iter().any(|p| p == path) || (id.is_some() && id == self.id)
    }

    /// Whether a crash report's binary images list this library. A report writes a path under a
    /// user's home with Apple's privacy placeholders (`/Users/USER/*/libfix.dylib`): `USER`
    /// stands for one folder, `*` for any number. An image whose path the report does not give
    /// (`???`) is compared by its name.
    pub fn listed_in(&self, images: &[Image]) -> bool {
        images.iter().any(|image| match &image.path {
            Some(p) => match &self.name_only {
                Some(name) => Path::new(p)
                    .file_name()
                    .is_some_and(|f| same_or_versioned(f, name)),
                None => self
                    .paths
                    .iter()
                    .any(|mine| redacted_match(p, &mine.to_string_lossy())),
            },
            None => image
                .name
                .as_deref()
                .is_some_and(|n| self.file_name() == Some(OsStr::new(n))),
        })
    }
}

/// Whether a mapped file's name is `name`, or a versioned file `name` links to: a bare
/// `LD_PRELOAD=libjemalloc.so` is usually a link to `libjemalloc.so.2`, and the memory map shows
/// the file the link points to.
fn same_or_versioned(file: &OsStr, name: &OsStr) -> bool {
    let (file, name) = (file.as_bytes(), name.as_bytes());
    file == name
        || file.strip_prefix(name).is_some_and(|rest| {
            rest.first() == Some(&b'.')
                && rest
                    .iter()
                    .skip(1)
                    .all(|b| b.is_ascii_digit() || *b == b'.')
        })
}

/// The device number as the system's memory-map listing writes it. On macOS `st_dev` is a
/// signed 32-bit number (which `MetadataExt::dev` widens with its sign) and the regions' device
/// an unsigned one: the low 32 bits are what both say.
fn device(dev: u64) -> u64 {
    if cfg!(target_os = "macos") {
        dev & 0xffff_ffff
    } else {
        dev
    }
}

/// Whether `reported`, a path as a crash report writes it, can be `actual`: each folder the
/// same, but `USER` for any one folder and `*` for any number of them (zero included).
fn redacted_match(reported: &str, actual: &str) -> bool {
    let pattern: Vec<&str> = reported.split('/').collect();
    let path: Vec<&str> = actual.split('/').collect();
    components_match(&pattern, &path)
}

/// The glob match of path components: `*` any number of them, `USER` any one. A report is
/// someone else's text: the classic walk that backtracks only to the last `*` keeps a pattern of
/// many stars to the product of the two lengths, never exponential.
fn components_match(pattern: &[&str], path: &[&str]) -> bool {
    let (mut p, mut s) = (0, 0);
    // Where to resume after the last `*`: its pattern index plus one, and the path index it
    // has swallowed up to.
    let mut star: Option<(usize, usize)> = None;
    while s < path.len() {
        match pattern.get(p) {
            Some(&"*") => {
                star = Some((p + 1, s));
                p += 1;
            }
            Some(&head) if head == "USER" || path.get(s) == Some(&head) => {
                p += 1;
                s += 1;
            }
            _ => match star {
                Some((after, swallowed)) => {
                    star = Some((after, swallowed + 1));
                    p = after;
                    s = swallowed + 1;
                }
                None => return false,
            },
        }
    }
    pattern
        .get(p..)
        .is_some_and(|rest| rest.iter().all(|c| *c == "*"))
}

/// The entries of one variable: `LD_PRELOAD` separates them with colons or spaces,
/// `DYLD_INSERT_LIBRARIES` with colons. Empty entries are skipped, as the loaders skip them.
pub fn entries<'v>(variable: &str, value: &'v OsStr) -> Vec<&'v OsStr> {
    let spaces = variable == "LD_PRELOAD";
    value
        .as_bytes()
        .split(|&b| b == b':' || (spaces && (b == b' ' || b == b'\t')))
        .filter(|e| !e.is_empty())
        .map(OsStr::from_bytes)
        .collect()
}

/// The libraries the command's environment injects: crashdelta's own environment (`own`, which
/// the command inherits) with `added` (a campaign's configuration) over it, as the command gets
/// it. Each library once, in the order the variables name them.
pub fn requested(
    own: impl Fn(&str) -> Option<OsString>,
    added: &[(OsString, OsString)],
    cwd: &Path,
) -> Vec<Library> {
    let mut libraries: Vec<Library> = Vec::new();
    for variable in VARIABLES {
        // The last of several settings of one variable is the one the command gets.
        let value = added
            .iter()
            .rev()
            .find(|(k, _)| k == variable)
            .map(|(_, v)| v.clone())
            .or_else(|| own(variable));
        let Some(value) = value else {
            continue;
        };
        for entry in entries(variable, &value) {
            let library = Library::new(variable, entry, cwd);
            if !libraries
                .iter()
                .any(|l| l.variable == library.variable && l.path == library.path)
            {
                libraries.push(library);
            }
        }
    }
    libraries
}

/// What the sampler saw of one process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Seen {
    /// The file name of its program (`python3.12`), from its executable's path.
    pub name: Option<String>,
    /// For each library of [`Injection::libraries`], in order: whether its program had it
    /// mapped when last looked at.
    pub loaded: Vec<bool>,
    /// Its executable when last looked at: a new one is a new program (exec).
    exe: PathBuf,
    /// Samples to let pass before the next look, and the gap after that: a program that lacks a
    /// library is looked at again less and less often (its map does not change once its
    /// loader has run, and reading it costs).
    skip: u32,
    gap: u32,
}

impl Seen {
    /// A process running `name` seen with (`true`) or without each library: how a record is
    /// made from what another look found (and how tests make one).
    pub fn new(name: Option<String>, loaded: Vec<bool>) -> Seen {
        Seen {
            name,
            loaded,
            exe: PathBuf::new(),
            skip: 0,
            gap: 1,
        }
    }
}

/// The longest gap, in samples, between two looks at a program that lacks a library.
const MAX_GAP: u32 = 16;

/// The libraries the command's environment injects and what the sampler saw of each process.
#[derive(Debug, Clone, Default)]
pub struct Injection {
    /// The libraries, from `requested`; none when the environment injects none (then nothing
    /// is looked at).
    pub libraries: Vec<Library>,
    /// Each process of the tree whose memory map could be read, by pid.
    pub seen: BTreeMap<u32, Seen>,
}

impl Injection {
    /// Nothing seen yet of `libraries`.
    pub fn new(libraries: Vec<Library>) -> Injection {
        Injection {
            libraries,
            seen: BTreeMap::new(),
        }
    }

    /// One look at the running processes `pids`: each one not yet seen with every library.
    pub fn look(&mut self, pids: impl IntoIterator<Item = u32>) {
        if self.libraries.is_empty() {
            return;
        }
        for pid in pids {
            // Gone, or not ours to read (a set-user-ID program): left unchecked.
            let Some(exe) = platform::exe(pid) else {
                continue;
            };
            let same_program = self.seen.get_mut(&pid).filter(|s| s.exe == exe);
            if let Some(s) = same_program {
                if s.loaded.iter().all(|l| *l) {
                    continue;
                }
                if s.skip > 0 {
                    s.skip -= 1;
                    continue;
                }
            }
            let Some(loaded) = platform::mapped(pid, &self.libraries) else {
                continue;
            };
            // The program changed while its map was read: the map may be either's; the next
            // look reads the new one.
            if platform::exe(pid).as_ref() != Some(&exe) {
                continue;
            }
            let gap = match self.seen.get(&pid) {
                Some(s) if s.exe == exe => (s.gap.saturating_mul(2)).min(MAX_GAP),
                _ => 1,
            };
            self.seen.insert(
                pid,
                Seen {
                    name: exe.file_name().map(|n| n.to_string_lossy().into_owned()),
                    loaded,
                    exe,
                    skip: gap.saturating_sub(1),
                    gap,
                },
            );
        }
    }
}

/// One line of `/proc/PID/maps` that maps a file: its path and identity.
#[cfg(any(target_os = "linux", test))]
#[derive(Debug, PartialEq, Eq)]
struct Mapping {
    path: PathBuf,
    id: Option<FileId>,
}

/// Reads one line of `/proc/PID/maps`: `ADDRESS PERMS OFFSET MAJOR:MINOR INODE   PATH`. The
/// path is the rest of the line, spaces included; the kernel writes a newline in it as `\012`
/// and adds ` (deleted)` after a file deleted since. `None` for a mapping of no file (anonymous
/// memory, `[heap]`, `[stack]`).
#[cfg(any(target_os = "linux", test))]
fn parse_maps_line(line: &[u8]) -> Option<Mapping> {
    fn field<'a>(rest: &mut &'a [u8]) -> Option<&'a [u8]> {
        let start = rest.iter().position(|b| *b != b' ')?;
        let tail = rest.get(start..)?;
        let end = tail.iter().position(|b| *b == b' ').unwrap_or(tail.len());
        let (value, after) = tail.split_at(end);
        *rest = after;
        Some(value)
    }
    let mut rest = line;
    let _range = field(&mut rest)?;
    let _perms = field(&mut rest)?;
    let _offset = field(&mut rest)?;
    let dev = field(&mut rest)?;
    let inode = field(&mut rest)?;
    let start = rest.iter().position(|b| *b != b' ')?;
    let path = rest.get(start..)?;
    if !path.starts_with(b"/") {
        return None;
    }
    // A file deleted (or replaced by a rebuild) since it was mapped is still the library that
    // was loaded from that path.
    let path = path.strip_suffix(b" (deleted)").unwrap_or(path);
    let path = unescape_newlines(path);
    let id = parse_dev(dev)
        .zip(parse_number(inode, 10))
        .and_then(|(dev, ino)| {
            // Inode 0 is no file's.
            (ino != 0).then_some(FileId { dev, ino })
        });
    Some(Mapping {
        path: PathBuf::from(OsString::from_vec(path)),
        id,
    })
}

/// `\012` back to the newline the kernel escaped.
#[cfg(any(target_os = "linux", test))]
fn unescape_newlines(path: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(path.len());
    let mut rest = path;
    while !rest.is_empty() {
        if let Some(after) = rest.strip_prefix(b"\\012") {
            out.push(b'\n');
            rest = after;
        } else if let Some((first, after)) = rest.split_first() {
            out.push(*first);
            rest = after;
        }
    }
    out
}

/// A number written in ASCII in `radix` (hex device numbers, a decimal inode).
#[cfg(any(target_os = "linux", test))]
fn parse_number(s: &[u8], radix: u32) -> Option<u64> {
    u64::from_str_radix(std::str::from_utf8(s).ok()?, radix).ok()
}

/// `MAJOR:MINOR` in hex, as `st_dev` encodes it on Linux (glibc's `makedev`, which the kernel's
/// `stat` matches).
#[cfg(any(target_os = "linux", test))]
fn parse_dev(dev: &[u8]) -> Option<u64> {
    let colon = dev.iter().position(|b| *b == b':')?;
    let (major, minor) = dev.split_at(colon);
    let major = parse_number(major, 16)?;
    let minor = parse_number(minor.get(1..)?, 16)?;
    Some(
        ((major & 0xffff_f000) << 32)
            | ((major & 0x0fff) << 8)
            | ((minor & 0xffff_ff00) << 12)
            | (minor & 0xff),
    )
}

#[cfg(target_os = "linux")]
mod platform {
    use std::io::Read;
    use std::path::PathBuf;

    use super::{Library, parse_maps_line};

    /// The most of a memory map read: a process with more mappings than this is looked at as
    /// far as this goes.
    const MAX_MAPS_BYTES: u64 = 64 * 1024 * 1024;

    /// The process's executable; `None` when it is gone, a zombie, or not readable.
    pub fn exe(pid: u32) -> Option<PathBuf> {
        std::fs::read_link(format!("/proc/{pid}/exe")).ok()
    }

    /// For each library, whether the process maps it now; `None` when its map cannot be read.
    pub fn mapped(pid: u32, libraries: &[Library]) -> Option<Vec<bool>> {
        let mut bytes = Vec::new();
        std::fs::File::open(format!("/proc/{pid}/maps"))
            .ok()?
            .take(MAX_MAPS_BYTES)
            .read_to_end(&mut bytes)
            .ok()?;
        let mut found = vec![false; libraries.len()];
        for line in bytes.split(|b| *b == b'\n') {
            let Some(m) = parse_maps_line(line) else {
                continue;
            };
            for (f, library) in found.iter_mut().zip(libraries) {
                *f = *f || library.is(&m.path, m.id);
            }
        }
        Some(found)
    }
}

#[cfg(target_os = "macos")]
mod platform {
    use std::ffi::OsString;
    use std::os::unix::ffi::OsStringExt;
    use std::path::PathBuf;

    use super::{FileId, Library};

    /// `PROC_PIDREGIONPATHINFO2` (sys/proc_info.h): the first region at or after an address that
    /// maps a file, with the file's path and identity. Anonymous memory is skipped by the
    /// kernel, so a walk costs one call per mapped file region, not per region.
    const PROC_PIDREGIONPATHINFO2: libc::c_int = 22;

    /// The most regions walked: a bound on the calls for one look.
    const MAX_REGIONS: usize = 100_000;

    /// `struct proc_regioninfo` (sys/proc_info.h), which the libc crate does not declare.
    #[repr(C)]
    struct RegionInfo {
        pri_protection: u32,
        pri_max_protection: u32,
        pri_inheritance: u32,
        pri_flags: u32,
        pri_offset: u64,
        pri_behavior: u32,
        pri_user_wired_count: u32,
        pri_user_tag: u32,
        pri_pages_resident: u32,
        pri_pages_shared_now_private: u32,
        pri_pages_swapped_out: u32,
        pri_pages_dirtied: u32,
        pri_ref_count: u32,
        pri_shadow_depth: u32,
        pri_share_mode: u32,
        pri_private_pages_resident: u32,
        pri_shared_pages_resident: u32,
        pri_obj_id: u32,
        pri_depth: u32,
        pri_address: u64,
        pri_size: u64,
    }

    /// `struct proc_regionwithpathinfo`.
    #[repr(C)]
    struct RegionWithPath {
        prp_prinfo: RegionInfo,
        prp_vip: libc::vnode_info_path,
    }

    // The kernel copies out exactly `sizeof(struct proc_regionwithpathinfo)`, 96 + 1176 bytes
    // (sys/proc_info.h): a layout that differs here would read every region wrong, so it fails
    // the build instead.
    const _: () = assert!(std::mem::size_of::<RegionInfo>() == 96);
    const _: () = assert!(std::mem::size_of::<RegionWithPath>() == 1272);

    /// The process's executable; `None` when it is gone or not ours.
    pub fn exe(pid: u32) -> Option<PathBuf> {
        let pid = libc::c_int::try_from(pid).ok()?;
        let size = usize::try_from(libc::PROC_PIDPATHINFO_MAXSIZE).unwrap_or(4096);
        let mut buf = vec![0u8; size];
        let len = u32::try_from(buf.len()).unwrap_or(0);
        // SAFETY: proc_pidpath writes at most `len` bytes into `buf`, which holds that many.
        let n = unsafe { libc::proc_pidpath(pid, buf.as_mut_ptr().cast(), len) };
        let n = usize::try_from(n).ok().filter(|n| *n > 0)?;
        buf.truncate(n);
        Some(PathBuf::from(OsString::from_vec(buf)))
    }

    /// For each library, whether the process maps it now; `None` when its regions cannot be
    /// read (gone, or another user's).
    pub fn mapped(pid: u32, libraries: &[Library]) -> Option<Vec<bool>> {
        let pid = libc::c_int::try_from(pid).ok()?;
        let size = libc::c_int::try_from(std::mem::size_of::<RegionWithPath>()).ok()?;
        let mut found = vec![false; libraries.len()];
        let mut address = 0u64;
        for walked in 0..MAX_REGIONS {
            // SAFETY: a struct of integers and arrays of integers, for which all zeroes is a
            // value.
            let mut info: RegionWithPath = unsafe { std::mem::zeroed() };
            // SAFETY: the buffer is `size` bytes of a struct laid out as the kernel's
            // `proc_regionwithpathinfo`; the kernel writes at most that many.
            let n = unsafe {
                libc::proc_pidinfo(
                    pid,
                    PROC_PIDREGIONPATHINFO2,
                    address,
                    (&raw mut info).cast(),
                    size,
                )
            };
            if n != size {
                // Past the last file region (EINVAL), or gone or not ours (ESRCH, EPERM): only
                // a failure of the first call means the process could not be read (every
                // process maps its own executable).
                if walked == 0 {
                    return None;
                }
                break;
            }
            let path: Vec<u8> = info
                .prp_vip
                .vip_path
                .iter()
                .flatten()
                .take_while(|c| **c != 0)
                .map(|c| u8::from_ne_bytes(c.to_ne_bytes()))
                .collect();
            let path = PathBuf::from(OsString::from_vec(path));
            let stat = &info.prp_vip.vip_vi.vi_stat;
            let id = Some(FileId {
                dev: u64::from(stat.vst_dev),
                ino: stat.vst_ino,
            });
            for (f, library) in found.iter_mut().zip(libraries) {
                *f = *f || library.is(&path, id);
            }
            if found.iter().all(|f| *f) {
                break;
            }
            let region = &info.prp_prinfo;
            let next = region.pri_address.saturating_add(region.pri_size);
            if next <= address {
                break;
            }
            address = next;
        }
        Some(found)
    }
}

#[cfg(not(any(target_os = "linux", target_os = "macos")))]
mod platform {
    use std::path::PathBuf;

    use super::Library;

    /// No way to look here: every process stays unchecked.
    pub fn exe(_pid: u32) -> Option<PathBuf> {
        None
    }

    pub fn mapped(_pid: u32, _libraries: &[Library]) -> Option<Vec<bool>> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(s: &str) -> Option<Mapping> {
        parse_maps_line(s.as_bytes())
    }

    #[test]
    fn a_maps_line_gives_the_whole_path_spaces_included() {
        let m = line(
            "7f1c2a000000-7f1c2a001000 r-xp 00001000 fd:01 1835039                    /home/a b/my  lib.so",
        )
        .unwrap();
        assert_eq!(m.path, Path::new("/home/a b/my  lib.so"));
        assert_eq!(
            m.id,
            Some(FileId {
                dev: (0xfd << 8) | 1,
                ino: 1_835_039
            })
        );
    }

    #[test]
    fn a_deleted_file_keeps_its_path() {
        let m = line("7f00-7f01 r--p 00000000 08:02 42 /tmp/libfix.so (deleted)").unwrap();
        assert_eq!(m.path, Path::new("/tmp/libfix.so"));
        // Only at the end: a folder named so is part of the path.
        let m = line("7f00-7f01 r--p 00000000 08:02 42 /tmp/x (deleted)/lib.so").unwrap();
        assert_eq!(m.path, Path::new("/tmp/x (deleted)/lib.so"));
    }

    #[test]
    fn a_newline_in_a_path_is_read_back() {
        let m = line("7f00-7f01 r--p 00000000 08:02 42 /tmp/a\\012b.so").unwrap();
        assert_eq!(m.path, Path::new("/tmp/a\nb.so"));
    }

    #[test]
    fn mappings_of_no_file_and_broken_lines_are_none() {
        for s in [
            "7ffd-7ffe rw-p 00000000 00:00 0                          [stack]",
            "55d0-55d1 rw-p 00000000 00:00 0                          [heap]",
            "7f00-7f01 rw-p 00000000 00:00 0 ",
            "7f00-7f01 rw-p 00000000 00:00 0",
            "7f00-7f01 rw-p",
            "",
            "   ",
        ] {
            assert_eq!(line(s), None, "{s:?}");
        }
        // A device or inode that does not read leaves the path, without an identity.
        let m = line("7f00-7f01 r--p 0 zz:1 x /lib/a.so").unwrap();
        assert_eq!((m.path.as_path(), m.id), (Path::new("/lib/a.so"), None));
        let m = line("7f00-7f01 r--p 0 103:05 0 /lib/a.so").unwrap();
        assert_eq!(m.id, None, "inode 0 is no file's");
    }

    #[test]
    fn large_device_numbers_are_encoded_as_stat_does() {
        // major 0x103 (259, nvme), minor 0x105.
        let dev = parse_dev(b"103:105").unwrap();
        assert_eq!(dev, (0x103 << 8) | 0x05 | (0x100 << 12));
    }

    #[test]
    fn ld_preload_splits_on_colons_and_spaces_dyld_on_colons() {
        let v = OsStr::new("/a/x.so: /b/y.so  libz.so::");
        assert_eq!(
            entries("LD_PRELOAD", v),
            ["/a/x.so", "/b/y.so", "libz.so"].map(OsStr::new)
        );
        let v = OsStr::new("/Users/a/my fix/libfix.dylib:/b/y.dylib");
        assert_eq!(
            entries("DYLD_INSERT_LIBRARIES", v),
            ["/Users/a/my fix/libfix.dylib", "/b/y.dylib"].map(OsStr::new)
        );
    }

    #[test]
    fn the_configuration_wins_over_crashdeltas_own_environment() {
        let cwd = Path::new("/work");
        let var = VARIABLES[0];
        let own = |v: &str| (v == var).then(|| OsString::from("/own/liba.so"));
        let got = requested(own, &[], cwd);
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].path, "/own/liba.so");
        assert_eq!(got[0].exists, Some(false));
        let added = [
            (OsString::from(var), OsString::from("first.so")),
            (OsString::from(var), OsString::from("rel/b.so:rel/b.so")),
        ];
        let got = requested(own, &added, cwd);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0].variable, var);
        assert_eq!(got[0].paths, [PathBuf::from("/work/rel/b.so")]);
        assert!(requested(|_| None, &[], cwd).is_empty());
    }

    fn image(path: Option<&str>, name: Option<&str>) -> Image {
        Image {
            name: name.map(Into::into),
            path: path.map(Into::into),
            uuid: None,
            base: None,
            size: None,
            arch: None,
            bundle_id: None,
            bundle_version: None,
            bundle_build: None,
            source: None,
        }
    }

    #[test]
    fn a_report_lists_a_library_under_apples_placeholders() {
        let cwd = Path::new("/");
        let lib = Library::new(
            "DYLD_INSERT_LIBRARIES",
            OsStr::new("/Users/alice/src/agx fix/libfix.dylib"),
            cwd,
        );
        for listed in [
            "/Users/alice/src/agx fix/libfix.dylib",
            "/Users/USER/*/libfix.dylib",
            "/Users/USER/src/*/libfix.dylib",
            "/Users/USER/*/agx fix/libfix.dylib",
        ] {
            assert!(lib.listed_in(&[image(Some(listed), None)]), "{listed}");
        }
        for not in [
            "/Users/USER/*/libother.dylib",
            "/Users/USER/libfix.dylib",
            "/usr/lib/libfix.dylib",
        ] {
            assert!(!lib.listed_in(&[image(Some(not), None)]), "{not}");
        }
        // A report's path is someone else's text: many stars against a long path end at once.
        let deep = format!("/{}", vec!["d"; 60].join("/"));
        let long = Library::new("LD_PRELOAD", OsStr::new(&format!("{deep}/lib.so")), cwd);
        let stars = format!("/{}/nomatch.so", vec!["*"; 60].join("/"));
        let started = std::time::Instant::now();
        assert!(!long.listed_in(&[image(Some(&stars), None)]));
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        assert!(long.listed_in(&[image(Some("/*/d/*/lib.so"), None)]));
        // An image the report gives no path for is known by its name.
        assert!(lib.listed_in(&[image(None, Some("libfix.dylib"))]));
        assert!(!lib.listed_in(&[image(None, Some("libother.dylib"))]));
        assert!(!lib.listed_in(&[]));
        // A bare name is compared by name wherever it was found.
        let bare = Library::new("LD_PRELOAD", OsStr::new("libfix.so"), cwd);
        assert_eq!(bare.exists, None);
        assert!(bare.listed_in(&[image(Some("/usr/lib/x86_64-linux-gnu/libfix.so"), None)]));
        assert!(bare.is(Path::new("/opt/lib/libfix.so"), None));
        // The versioned file a bare name's link points to is the library too; another library
        // that only starts with the same letters is not.
        assert!(bare.is(Path::new("/opt/lib/libfix.so.1"), None));
        assert!(bare.is(Path::new("/opt/lib/libfix.so.1.2.3"), None));
        assert!(!bare.is(Path::new("/opt/lib/libfix.so.debug"), None));
        assert!(!bare.is(Path::new("/opt/lib/libfix.sox"), None));
    }

    /// The test binary's own map: a library it has mapped (the C library) is seen, one it has
    /// not is not; a program seen without a library is looked at again, less and less often.
    #[cfg(target_os = "linux")]
    #[test]
    fn a_running_process_is_seen_with_what_it_maps() {
        let maps = std::fs::read("/proc/self/maps").unwrap();
        let mapped = maps
            .split(|b| *b == b'\n')
            .filter_map(parse_maps_line)
            .find(|m| m.path.to_string_lossy().contains(".so"))
            .unwrap();
        let cwd = Path::new("/");
        let mut injection = Injection::new(vec![
            Library::new("LD_PRELOAD", mapped.path.as_os_str(), cwd),
            Library::new("LD_PRELOAD", OsStr::new("/nonexistent/libnope.so"), cwd),
        ]);
        let me = std::process::id();
        injection.look([me, u32::MAX]);
        let seen = &injection.seen[&me];
        assert_eq!(seen.loaded, [true, false]);
        assert!(seen.name.is_some());
        assert_eq!(
            injection.seen.len(),
            1,
            "a pid that does not exist is not seen"
        );
        // Looked at on the next sample, then after 2, 4, 8, 16, 16... samples.
        let mut looked = Vec::new();
        for sample in 1..=40 {
            // Cleared before each sample: a look fills it in again.
            injection.seen.get_mut(&me).unwrap().loaded = vec![false, false];
            injection.look([me]);
            if injection.seen[&me].loaded == [true, false] {
                looked.push(sample);
            }
        }
        assert_eq!(looked, [1, 3, 7, 15, 31], "{looked:?}");
    }

    #[test]
    fn a_mapping_is_the_library_by_path_or_by_identity() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("libreal.so");
        std::fs::write(&real, b"x").unwrap();
        let link = dir.path().join("liblink.so");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let lib = Library::new("LD_PRELOAD", link.as_os_str(), Path::new("/"));
        assert_eq!(lib.exists, Some(true));
        // The loader maps the file the link points to.
        let real = std::fs::canonicalize(&real).unwrap();
        assert!(lib.is(&real, None));
        assert!(lib.is(&link, None));
        let id = lib.id;
        assert!(id.is_some());
        assert!(lib.is(Path::new("/elsewhere/bind-mounted.so"), id));
        assert!(!lib.is(Path::new("/elsewhere/other.so"), None));
    }
}
