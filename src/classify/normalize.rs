//! Normalising frame symbols and image names so that the same crash reads the same everywhere.
//!
//! The same driver function is spelled differently across GPUs, OS releases and tools:
//! `AGX::ComputeContext<AGX::G16::Encoders, AGX::G16::Classes, AGX::G16::ObjClasses>::prepareForEnqueue(bool)`
//! in a report, without the spaces in `nm` output, inside `AGXMetalG16X` on an M4 and
//! `AGXMetalG13X` on an M1, and ObjC classes carry the GPU generation
//! (`-[AGXG16XFamilyComputeContext ...]`). Matching and grouping use the normalised form.

use std::borrow::Cow;
use std::sync::LazyLock;

use regex::Regex;

/// Reports cut symbol names for privacy: "the function name is sometimes limited to the first
/// 100 characters" (Apple, *Examining the fields in a crash report*). Templated AGX names are
/// longer than that, so a 100-character symbol is treated as a prefix.
pub const SYMBOL_LIMIT: usize = 100;

static AGX_FAMILY_CLASS: LazyLock<Regex> = LazyLock::new(|| {
    // AGXG16XFamilyComputeContext, AGXG15GFamilyCommandBuffer, AGXGPUFamilyCommandBuffer.
    Regex::new(r"\bAGX[A-Za-z0-9_]*?Family").unwrap_or_else(|e| panic!("built-in pattern: {e}"))
});
static BLOCK_INVOKE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^_{2,3}\d*(.+?)_block_invoke(?:[._]\d+)*$")
        .unwrap_or_else(|e| panic!("built-in pattern: {e}"))
});
static RUST_HASH: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"::h[0-9a-f]{16}\b").unwrap_or_else(|e| panic!("built-in pattern: {e}"))
});

/// Whether an image is Apple's GPU driver. Legacy text reports name images by bundle id
/// (`com.apple.AGXMetal...`).
pub fn is_agx_image(name: Option<&str>, path: Option<&str>) -> bool {
    let name = name.unwrap_or_default();
    let name = name.strip_prefix("com.apple.").unwrap_or(name);
    name.starts_with("AGX") || path.is_some_and(|p| p.starts_with("/System/Library/Extensions/AGX"))
}

/// Whether a symbol is one only Apple's GPU driver defines: its C++ namespace `AGX::` or its
/// Objective-C classes (`-[AGXG16XFamilyComputeContext ...]`). What tells a driver frame whose
/// image the report does not name.
pub fn is_agx_symbol(symbol: &str) -> bool {
    let s = symbol.trim_start();
    s.starts_with("AGX::")
        || ["-[AGX", "+[AGX"].iter().any(|p| {
            s.starts_with(p)
                && s.get(5..)
                    .is_some_and(|r| r.starts_with(char::is_alphanumeric))
        })
}

/// Whether a symbol is one only Apple's Metal stack above the driver defines: Metal's C
/// functions (`MTLReportFailure`, `_MTLMessageContextEnd`, `MTLDispatchListApply`), its
/// private and debug-layer classes (`-[_MTLCommandBuffer …]`,
/// `-[MTLDebugComputeCommandEncoder …]`, `-[MTLGPUDebug…]`, `-[MTLToolsObject …]`,
/// `-[MTLIOAccel…]`), IOGPU's (`-[IOGPUMetalCommandBuffer …]`) and MPS's (`-[MPSGraph …]`, `-[MPSNDArray …]`). What tells a Metal frame whose image the report
/// does not name. Not `-[MTL…]` alone: Mantle, a common iOS library, names its classes `MTL…`
/// (`MTLModel`, `MTLJSONAdapter`).
pub fn is_metal_symbol(symbol: &str) -> bool {
    let s = symbol.trim_start();
    let s = s.strip_prefix("__").unwrap_or(s);
    // Metal's C functions (`MTLReportFailure`, `MTLDispatchListApply`,
    // `MTLCreateSystemDefaultDevice`); not metal-cpp's `MTL::…`, which is compiled into the
    // program that uses it.
    let c_function = |name: &str| {
        name.strip_prefix("MTL")
            .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_uppercase()))
    };
    c_function(s)
        || s.strip_prefix('_').is_some_and(c_function)
        || [
            "-[_MTL",
            "+[_MTL",
            "-[MTLDebug",
            "-[MTLGPUDebug",
            "-[MTLTools",
            "-[MTLIOAccel",
            "-[IOGPUMetal",
            "+[IOGPUMetal",
        ]
        .iter()
        .any(|p| {
            s.strip_prefix(p)
                .is_some_and(|r| r.starts_with(char::is_alphanumeric))
        })
        // MPS's classes go on in capitals (`MPSGraph`, `MPSNDArray`, `MPSCNNConvolution`);
        // MediaPlayer's `MPSkipIntervalCommand` and MoPub's `MPStaticNativeAdRenderer` do not.
        || ["-[MPS", "+[MPS"].iter().any(|p| {
            s.strip_prefix(p)
                .is_some_and(|r| r.starts_with(|c: char| c.is_ascii_uppercase()))
        })
}

/// Whether an image is part of Apple's Metal stack above the driver: Metal, Metal Performance
/// Shaders (MPS, MPSGraph and their sub-frameworks), IOGPU / IOAccelerator, and the `MTL`
/// images: the shader compiler (`MTLCompiler`), and what Metal loads into an app for its tools,
/// the HUD (`libMTLHud.dylib`, an iOS app's crash in it seen on Apple's forums) and frame
/// capture (`libMTLCapture.dylib`).
pub fn is_metal_image(name: Option<&str>, path: Option<&str>) -> bool {
    let name = name.unwrap_or_default();
    let name = name.strip_prefix("com.apple.").unwrap_or(name);
    let name = name.strip_prefix("framework.").unwrap_or(name);
    name.starts_with("MPS")
        || name.starts_with("MTL")
        || name.starts_with("libMTL")
        || name.starts_with("IOGPU")
        || name.starts_with("IOAccel")
        || find_any(name, b'M', &["Metal"]).is_some()
        || path.is_some_and(|p| {
            find_any(
                p,
                b'/',
                &[
                    "/Metal.framework/",
                    "/MetalPerformanceShaders",
                    "/IOGPU.framework/",
                    "/MPSCore.framework/",
                ],
            )
            .is_some()
        })
}

/// Where the first of `needles` starts in `hay`; every needle starts with the byte `first`.
///
/// Classification asks this of every frame (is its image Metal's, is its symbol a lambda's), of
/// short texts, for a few needles at once: `str::contains` and `str::find` build a searcher for
/// each call and each needle, which was ~3 % of `classify`'s instructions over 2000 reports;
/// `memchr` finds the few places where a needle can start.
pub fn find_any(hay: &str, first: u8, needles: &[&str]) -> Option<usize> {
    debug_assert!(needles.iter().all(|n| n.as_bytes().first() == Some(&first)));
    let bytes = hay.as_bytes();
    memchr::memchr_iter(first, bytes).find(|&at| {
        bytes
            .get(at..)
            .is_some_and(|rest| needles.iter().any(|n| rest.starts_with(n.as_bytes())))
    })
}

/// Whether an image belongs to the operating system rather than to the program: used to find
/// the program's own frames ("the trigger").
pub fn is_system_image(name: Option<&str>, path: Option<&str>) -> bool {
    if is_agx_image(name, path) || is_metal_image(name, path) {
        return true;
    }
    if let Some(p) = path {
        return p.starts_with("/System/") || p.starts_with("/usr/lib/");
    }
    let name = name.unwrap_or_default();
    name.starts_with("libsystem_")
        || name.starts_with("libdispatch")
        || name.starts_with("libobjc")
        || name.starts_with("libc++")
        || name.starts_with("libdyld")
        || name.starts_with("libswift")
        || name.starts_with("libicucore")
        || name.starts_with("libnetwork")
        || name.starts_with("libunwind")
        || name.starts_with("com.apple.")
        || matches!(
            name,
            "dyld"
                | "CoreFoundation"
                | "Foundation"
                | "AppKit"
                | "UIKitCore"
                | "QuartzCore"
                | "IOKit"
                | "CoreGraphics"
                | "libxpc.dylib"
                | "libswiftCore.dylib"
                | "SkyLight"
                | "HIToolbox"
                | "CoreML"
                | "Espresso"
        )
}

/// The family token for a driver image: `AGXMetalG16X`, `AGXMetal13_3`, `AGXMetalG15G_C0` all
/// become `AGXMetal`.
pub fn image_token(name: &str) -> Cow<'_, str> {
    let bare = name.strip_prefix("com.apple.").unwrap_or(name);
    if bare.starts_with("AGXMetal") {
        Cow::Borrowed("AGXMetal")
    } else {
        Cow::Borrowed(name)
    }
}

/// Normalises a symbol: template arguments stripped (balanced), whitespace collapsed, driver
/// family class names mapped to one token, Rust hashes dropped. Objective-C method names are kept
/// whole apart from the family token.
pub fn symbol(raw: &str) -> String {
    // Each step is skipped when its input cannot need it: most symbols are plain C or ObjC
    // names, and classification normalises thousands of them per folder.
    let trimmed = raw.trim();
    let stripped = if trimmed.contains('<') {
        Cow::Owned(strip_templates(trimmed))
    } else {
        Cow::Borrowed(trimmed)
    };
    let needs_collapse = stripped.contains("  ")
        || stripped.starts_with(' ')
        || stripped.ends_with(' ')
        || stripped.contains(|c: char| c.is_whitespace() && c != ' ');
    let collapsed = if needs_collapse {
        Cow::Owned(stripped.split_whitespace().collect::<Vec<_>>().join(" "))
    } else {
        stripped
    };
    let family = if collapsed.contains("Family") {
        Cow::Owned(
            AGX_FAMILY_CLASS
                .replace_all(&collapsed, "AGXFamily")
                .into_owned(),
        )
    } else {
        collapsed
    };
    if family.contains("::h") {
        RUST_HASH.replace_all(&family, "").into_owned()
    } else {
        family.into_owned()
    }
}

/// Whether a symbol was cut at the 100-character limit inside the function's own name or
/// arguments (so its normalised form is a prefix of the full normalised name), rather than inside
/// a class's template arguments (where the method name is lost).
pub fn cut_in_name(raw: &str) -> bool {
    if raw.chars().count() < SYMBOL_LIMIT {
        return false;
    }
    let mut depth = 0i64;
    for c in raw.chars() {
        match c {
            '<' => depth += 1,
            '>' => depth -= 1,
            _ => {}
        }
    }
    depth <= 0
}

/// Removes `<...>` groups, keeping `operator<`, `operator<<`, `operator->` and friends. An
/// unterminated group (a symbol cut mid-template) is dropped to the end.
pub fn strip_templates(s: &str) -> String {
    // Byte by byte where it matters: `<`, `>` and `-` are ASCII, which never occurs inside a
    // multi-byte character, so the text between them is copied in runs (the loop over chars it
    // replaces was 3 % of `classify`'s instructions over 2000 reports; `strip_templates_reference`
    // in the tests is that loop, and a proptest holds the two equal).
    let bytes = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut depth = 0usize;
    // Where the text being kept (at depth 0) began, and where to look next.
    let (mut run, mut at) = (0, 0);
    loop {
        let rest = bytes.get(at..).unwrap_or_default();
        let found = if depth == 0 {
            memchr::memchr(b'<', rest)
        } else {
            memchr::memchr2(b'<', b'>', rest)
        };
        let Some(i) = found.map(|i| at + i) else {
            break;
        };
        at = i + 1;
        match bytes.get(i) {
            Some(b'<') if depth == 0 && is_operator_before(s, i) => {
                // `operator<`, `operator<<` and `operator<=` are kept whole.
                if matches!(bytes.get(at), Some(b'<' | b'=')) {
                    at += 1;
                }
            }
            Some(b'<') => {
                if depth == 0 {
                    out.push_str(s.get(run..i).unwrap_or_default());
                }
                depth += 1;
            }
            // `->` inside a template argument is part of the argument.
            _ if i > 0 && bytes.get(i - 1) == Some(&b'-') => {}
            // A `>` is only looked for inside a group.
            _ => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    run = at;
                }
            }
        }
    }
    if depth == 0 {
        out.push_str(s.get(run..).unwrap_or_default());
    }
    out
}

fn is_operator_before(s: &str, i: usize) -> bool {
    s.get(..i)
        .is_some_and(|b| b.trim_end().ends_with("operator") || b.ends_with("operator<"))
}

/// The short name of a function, for the one-line trigger: `gatherViewTensor` for
/// `at::native::mps::gatherViewTensor(at::Tensor const&, at::Tensor&)`, `dispatchThreads` for
/// `-[AGXG16XFamilyComputeContext dispatchThreads:threadsPerThreadgroup:]`, and the function a
/// block was defined in for `invocation function for block in ...`.
pub fn short_name(raw: &str) -> String {
    let name = function_name(raw);
    if let Some(method) = name.strip_prefix("-[").or_else(|| name.strip_prefix("+[")) {
        let selector = method.split_whitespace().nth(1).unwrap_or(method);
        let first = selector
            .trim_end_matches(']')
            .split(':')
            .next()
            .unwrap_or(selector);
        return first.to_owned();
    }
    let last = name.rsplit("::").next().unwrap_or(&name);
    if last.is_empty() {
        name.clone()
    } else {
        last.to_owned()
    }
}

/// The function a frame is in, qualified and without its arguments: `at::native::mps::gatherViewTensor`
/// for its block or lambda as for itself, `-[MPSGraph encodeToCommandBuffer:feeds:]` for a method.
pub fn function_name(raw: &str) -> String {
    let without_hash = RUST_HASH.replace_all(raw.trim(), "");
    let mut s = without_hash.as_ref();
    loop {
        let before = s;
        for prefix in [
            "invocation function for block in ",
            "partial apply for ",
            "closure #1 in ",
            "closure #2 in ",
            "implicit closure #1 in ",
            "specialized ",
            "merged ",
        ] {
            while let Some(rest) = s.strip_prefix(prefix) {
                s = rest;
            }
        }
        if s == before {
            break;
        }
    }
    // A lambda is named after the function it is written in: `f(int)::$_0::operator()() const`,
    // `f(int)::{lambda()#1}::operator()() const`, `f(int)::'lambda'()::operator()() const`.
    // Cut at the first of them (cutting at each in turn ends at the first too).
    if let Some(at) = find_any(
        s,
        b':',
        &["::$_", "::{lambda(", "::'lambda", "::{{closure}}"],
    ) {
        s = s.get(..at).unwrap_or(s);
    }
    // An Objective-C or C block: `__38-[MPSGraph encode:]_block_invoke_2`, `__main_block_invoke`.
    if let Some(caps) = BLOCK_INVOKE.captures(s)
        && let Some(inner) = caps.get(1)
    {
        s = inner.as_str();
    }
    // The compiler's outlined cold path is the same function: `uw_init_context_1.cold.1`.
    if let Some(at) = find_any(s, b'.', &[".cold"]) {
        let suffix = s.get(at + ".cold".len()..).unwrap_or_default();
        if suffix.is_empty()
            || suffix
                .strip_prefix('.')
                .is_some_and(|n| n.bytes().all(|b| b.is_ascii_digit()))
        {
            s = s.get(..at).unwrap_or(s);
        }
    }
    if s.starts_with("-[") || s.starts_with("+[") {
        // As the report spells it: a person reads `-[AGXG16XFamilyComputeContext ...]`.
        return s.trim().to_owned();
    }
    let no_templates = strip_templates(s);
    // Drop the argument list: the last top-level `(...)` group and what follows it (` const`).
    let mut depth = 0usize;
    let mut cut = no_templates.len();
    for (i, c) in no_templates.char_indices() {
        match c {
            '(' => {
                if depth == 0 {
                    cut = i;
                }
                depth += 1;
            }
            ')' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    let name = no_templates.get(..cut).unwrap_or(&no_templates).trim();
    let name = if name.ends_with("operator") {
        // `operator()`: the call operator's own parentheses were taken for the arguments.
        no_templates.get(..cut + 2).unwrap_or(name)
    } else {
        name
    };
    symbol(name)
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_the_drivers_own_names_are_agx_symbols() {
        for yes in [
            "AGX::ComputeContext<AGX::HAL200::Encoders>::prepareForEnqueue(bool)",
            "-[AGXG16XFamilyComputeContext dispatchThreads:threadsPerThreadgroup:]",
            "+[AGXTexture alloc]",
        ] {
            assert!(is_agx_symbol(yes), "{yes}");
        }
        for no in [
            "MTLReportFailure",
            "-[_MTLCommandBuffer commit]",
            "-[AGX]",
            "at::native::mps::gatherViewTensor(at::Tensor const&, at::Tensor&)",
            "OBJC_CLASS_$_AGXG16XFamilyCommandBuffer",
        ] {
            assert!(!is_agx_symbol(no), "{no}");
        }
    }

    #[test]
    fn only_the_metal_stacks_own_names_are_metal_symbols() {
        for yes in [
            "MTLReportFailure",
            "MTLReportFailure.cold.1",
            "__MTLReportFailure",
            "_MTLMessageContextEnd",
            "MTLDispatchListApply",
            "-[_MTLCommandBuffer didCompleteWithStartTime:endTime:error:]",
            "-[MTLDebugComputeCommandEncoder dispatchThreads:threadsPerThreadgroup:]",
            "-[MTLGPUDebugDevice newBufferWithLength:options:]",
            "-[MTLToolsObject dealloc]",
            "-[MTLIOAccelCommandBuffer commit]",
            "-[IOGPUMetalCommandBuffer commandBufferResourceInfo]",
            "-[MPSGraph runWithMTLCommandQueue:feeds:targetOperations:resultsDictionary:]",
            "+[MPSNDArrayDescriptor descriptorWithDataType:shape:]",
        ] {
            assert!(is_metal_symbol(yes), "{yes}");
        }
        for no in [
            "-[MTLModel initWithDictionary:error:]",
            "+[MTLJSONAdapter modelOfClass:fromJSONDictionary:error:]",
            "-[MPS]",
            "-[MPSkipIntervalCommand setPreferredIntervals:]",
            "-[MPStaticNativeAdRenderer renderAd]",
            "AGX::ComputeContext<AGX::HAL200::Encoders>::prepareForEnqueue(bool)",
            "mlx::core::gpu::check_error(MTL::CommandBuffer*)",
            "MTL::CommandBuffer::addCompletedHandler(std::function const&)",
            "MTLmodel_load",
            "at::native::mps::MPSGraphCache::CreateCachedGraph(std::string const&)",
        ] {
            assert!(!is_metal_symbol(no), "{no}");
        }
    }

    /// The plain pipeline that `symbol` short-cuts: the fast paths must not change a result.
    fn symbol_reference(raw: &str) -> String {
        let stripped = strip_templates(raw.trim());
        let collapsed = stripped.split_whitespace().collect::<Vec<_>>().join(" ");
        let family = AGX_FAMILY_CLASS.replace_all(&collapsed, "AGXFamily");
        RUST_HASH.replace_all(&family, "").into_owned()
    }

    /// The needle sets `find_any` is used with, each with its first byte.
    const NEEDLE_SETS: &[(u8, &[&str])] = &[
        (b'M', &["Metal"]),
        (
            b'/',
            &[
                "/Metal.framework/",
                "/MetalPerformanceShaders",
                "/IOGPU.framework/",
                "/MPSCore.framework/",
            ],
        ),
        (b':', &["::$_", "::{lambda(", "::'lambda", "::{{closure}}"]),
        (b'.', &[".cold"]),
    ];

    use proptest::strategy::Strategy;

    /// `strip_templates` as it was first written, a char at a time.
    fn strip_templates_reference(s: &str) -> String {
        let mut out = String::with_capacity(s.len());
        let mut depth = 0usize;
        let mut chars = s.char_indices().peekable();
        while let Some((i, c)) = chars.next() {
            match c {
                '<' if depth == 0 && is_operator_before(s, i) => {
                    out.push(c);
                    // `operator<<` and `operator<=`.
                    if let Some(&(_, next)) = chars.peek()
                        && (next == '<' || next == '=')
                    {
                        out.push(next);
                        chars.next();
                    }
                }
                '<' => depth += 1,
                // `->` inside a template argument is part of the argument.
                '>' if depth > 0 && !s.get(..i).is_some_and(|b| b.ends_with('-')) => depth -= 1,
                '>' if depth > 0 => {}
                _ if depth == 0 => out.push(c),
                _ => {}
            }
        }
        out
    }

    proptest::proptest! {
        #[test]
        fn templates_are_stripped_as_the_char_loop_strips_them(
            pieces in proptest::collection::vec(
                proptest::sample::select(vec![
                    "<", ">", "-", "->", "=", "operator", "operator<", "operator<<", "operator<=",
                    "operator ", "a", "::", " ", "é", "(", ")", "x<y", "-<",
                ]),
                0..16,
            ),
        ) {
            let s = pieces.concat();
            proptest::prop_assert_eq!(strip_templates(&s), strip_templates_reference(&s));
        }
    }

    proptest::proptest! {
        /// `find_any` finds what `str::find` finds first among the needles, in texts made of
        /// the needles' own pieces, so that near misses and overlaps are common.
        #[test]
        fn find_any_finds_the_first_needle_as_str_find_does(
            pieces in proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::sample::select(vec![
                        "/", "M", ":", ".", "Metal", "/Metal", ".framework/", "PerformanceShaders",
                        "/IOGPU", "/MPSCore", "::", "$_", "{lambda(", "'lambda", "{{closure}}",
                        ".cold", ".co", "é", "x",
                    ]).prop_map(str::to_owned),
                    "[a-z:./$_{}(]{0,3}",
                ],
                0..12,
            ),
            set in 0..NEEDLE_SETS.len(),
        ) {
            let hay = pieces.concat();
            let (first, needles) = NEEDLE_SETS[set];
            let expected = needles.iter().filter_map(|n| hay.find(n)).min();
            proptest::prop_assert_eq!(find_any(&hay, first, needles), expected);
        }

        #[test]
        fn fast_paths_agree_with_the_full_pipeline(
            raw in "[ a-zA-Z0-9_:<>()&,*\\-\t\u{a0}\u{3000}]{0,60}",
        ) {
            proptest::prop_assert_eq!(symbol(&raw), symbol_reference(&raw));
        }
    }

    #[test]
    fn fast_paths_agree_on_real_shapes() {
        for raw in [
            "AGX::ComputeContext<AGX::G16::Encoders, AGX::G16::Classes, AGX::G16::ObjClasses>::prepareForEnqueue(bool)",
            "-[AGXG16XFamilyComputeContext dispatchThreads:threadsPerThreadgroup:]",
            "core::panicking::panic::h0123456789abcdef",
            "foo <bar> ",
            "a\tb",
            "  spaced   out  ",
            "operator<<(std::ostream&, int)",
        ] {
            assert_eq!(symbol(raw), symbol_reference(raw), "{raw}");
        }
    }

    use super::*;

    #[test]
    fn templates_are_stripped_with_or_without_spaces() {
        let spaced = "AGX::ComputeContext<AGX::G16::Encoders, AGX::G16::Classes, AGX::G16::ObjClasses>::prepareForEnqueue(bool)";
        let tight = "AGX::ComputeContext<AGX::HAL200::Encoders,AGX::HAL200::Classes,AGX::HAL200::ObjClasses>::prepareForEnqueue(bool)";
        assert_eq!(
            symbol(spaced),
            "AGX::ComputeContext::prepareForEnqueue(bool)"
        );
        assert_eq!(symbol(spaced), symbol(tight));
        assert_eq!(
            symbol("AGX::SpillInfoGen3<...>::allocateUSCSpillBuffer"),
            "AGX::SpillInfoGen3::allocateUSCSpillBuffer"
        );
    }

    #[test]
    fn nested_and_operator_templates() {
        assert_eq!(
            strip_templates("std::vector<std::pair<int, int>>::push_back(int)"),
            "std::vector::push_back(int)"
        );
        assert_eq!(
            strip_templates("operator<<(std::ostream&, Foo<int> const&)"),
            "operator<<(std::ostream&, Foo const&)"
        );
        assert_eq!(strip_templates("Foo::operator->()"), "Foo::operator->()");
        assert_eq!(strip_templates("f<std::function<void () -> int>>()"), "f()");
    }

    #[test]
    fn a_symbol_cut_mid_template_keeps_its_prefix() {
        // Cut at Apple's 100-character limit, inside the function name.
        let full = "AGX::ComputeContext<AGX::G16::Encoders, AGX::G16::Classes, AGX::G16::ObjClasses>::prepareForEnqueue(bool)";
        let cut: String = full.chars().take(SYMBOL_LIMIT).collect();
        assert!(symbol(full).starts_with(&symbol(&cut)));
        assert!(cut_in_name(&cut));
        // Cut inside a class's template arguments: the method name is lost.
        let cut_in_args = "AGX::ComputeContext<AGX::G16::Encoders, AGX::G16::Cl";
        assert_eq!(symbol(cut_in_args), "AGX::ComputeContext");
        let long_cut_in_args: String = format!("{cut_in_args}{}", "x".repeat(SYMBOL_LIMIT));
        assert!(!cut_in_name(&long_cut_in_args));
        assert!(!cut_in_name("main"));
    }

    #[test]
    fn driver_family_names_become_one_token() {
        assert_eq!(
            symbol("-[AGXG16XFamilyComputeContext dispatchThreads:threadsPerThreadgroup:]"),
            symbol("-[AGXG13XFamilyComputeContext dispatchThreads:threadsPerThreadgroup:]")
        );
        assert_eq!(
            symbol("-[AGXG15GFamilyCommandBuffer commit]"),
            "-[AGXFamilyCommandBuffer commit]"
        );
        for image in [
            "AGXMetalG16X",
            "AGXMetal13_3",
            "AGXMetalG15G_C0",
            "com.apple.AGXMetalG13X",
        ] {
            assert_eq!(image_token(image), "AGXMetal", "{image}");
        }
        assert_eq!(image_token("Metal"), "Metal");
    }

    #[test]
    fn whitespace_and_rust_hashes() {
        assert_eq!(symbol("  foo(int,   int)  "), "foo(int, int)");
        assert_eq!(
            symbol("metal::obj_drop::h9806d9295c5745e4"),
            "metal::obj_drop"
        );
    }

    #[test]
    fn short_names() {
        assert_eq!(
            short_name("at::native::mps::gatherViewTensor(at::Tensor const&, at::Tensor&)"),
            "gatherViewTensor"
        );
        assert_eq!(
            short_name("-[AGXG16XFamilyComputeContext dispatchThreads:threadsPerThreadgroup:]"),
            "dispatchThreads"
        );
        assert_eq!(
            short_name("invocation function for block in exec_binary_kernel"),
            "exec_binary_kernel"
        );
        assert_eq!(
            short_name("AGX::ComputeContext<A, B>::prepareForEnqueue(bool) const"),
            "prepareForEnqueue"
        );
        assert_eq!(short_name("-[_MTLCommandBuffer commit]"), "commit");
        assert_eq!(short_name("main"), "main");
        // A lambda or a block is named after its function, never as a bare `operator()`.
        assert_eq!(
            short_name(
                "at::native::mps::gatherViewTensor(at::Tensor const&, at::Tensor&)::$_0::operator()() const"
            ),
            "gatherViewTensor"
        );
        assert_eq!(
            short_name("at::native::foo(int)::{lambda()#1}::operator()() const"),
            "foo"
        );
        assert_eq!(
            short_name("__38-[MPSGraph encodeToCommandBuffer:feeds:]_block_invoke_2"),
            "encodeToCommandBuffer"
        );
        assert_eq!(short_name("__main_block_invoke"), "main");
        assert_eq!(
            short_name("closure #1 in closure #1 in ContentView.body.getter"),
            "ContentView.body.getter"
        );
    }

    #[test]
    fn image_kinds() {
        assert!(is_agx_image(Some("AGXMetalG16X"), None));
        assert!(is_agx_image(
            None,
            Some("/System/Library/Extensions/AGXMetal13_3.bundle/Contents/MacOS/AGXMetal13_3")
        ));
        assert!(!is_agx_image(Some("Metal"), None));
        for metal in [
            "Metal",
            "MetalPerformanceShaders",
            "MetalPerformanceShadersGraph",
            "MPSNDArray",
            "IOGPU",
            "com.apple.Metal",
            "com.apple.IOAccelerator",
            "MTLCompiler",
            "libMTLHud.dylib",
            "libMTLCapture.dylib",
        ] {
            assert!(is_metal_image(Some(metal), None), "{metal}");
        }
        assert!(!is_metal_image(Some("libtorch_cpu.dylib"), None));
        assert!(is_system_image(Some("libsystem_kernel.dylib"), None));
        assert!(!is_system_image(
            Some("libtorch_cpu.dylib"),
            Some("/opt/homebrew/lib/libtorch_cpu.dylib")
        ));
    }
}
