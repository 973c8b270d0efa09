//! `show` (one report, whole) and `symbolicate` (one report, its symbols filled in).

use std::io::Write;

use anyhow::{Context, Result, bail};

use std::path::Path;

use crashdelta::analyze::{Analysis, Analyzer, Status, pipeline};
use crashdelta::input;
use crashdelta::render::Symbolicated;

use super::args::{RulesArg, ShowArgs, SymbolicateArgs};
use super::exit::{Ending, Exit};
use super::output::{Output, note, say};
use super::setup::load_analyzer;

/// The one report at `path` (a file, or `-` for standard input), analyzed for `command`; a
/// folder of several, or of none, is an error.
pub fn analyze_one(path: &Path, analyzer: &Analyzer, command: &str) -> Result<Analysis> {
    let paths = [path.to_owned()];
    let mut inputs = input::inputs(&paths);
    let Some(first) = inputs.next() else {
        bail!("{} holds no files to {command}", path.display());
    };
    if inputs.next().is_some() {
        bail!(
            "`{command}` takes one report; {} is a folder with several (use `classify`)",
            path.display()
        );
    }
    Ok(pipeline::analyze_input(first, analyzer, false))
}

/// `show PATH`.
pub fn show(args: ShowArgs) -> Result<Exit> {
    let analyzer = load_analyzer(&args.rules, &args.symbols)?;
    let output = Output::new(args.output);
    output.refuse_inputs(std::slice::from_ref(&args.path))?;
    let analysis = analyze_one(&args.path, &analyzer, "show")?;
    output.write(&analysis, args.format)?;
    // Frames still unnamed after what was there to name them (a Mac's own AGX bundles and
    // atos name only the reports of that Mac's OS build and driver).
    if let Some((report, _)) = analysis.crash()
        && args.symbols.symbols.is_empty()
    {
        let unnamed = unnamed_images(report);
        if !unnamed.is_empty() {
            note!(
                "crashdelta: hint: frames of {} have no symbol; --symbols PATH names them from a \
                 dSYM or binary with the same UUID (for a driver, its bundle from the Mac that \
                 crashed: /System/Library/Extensions/NAME.bundle; docs/symbols.md)",
                unnamed.join(", ")
            );
        }
    }
    Ok(Exit::of(Ending {
        unreadable: analysis.status() == Status::Error,
        ..Ending::default()
    }))
}

/// The images of the crashed thread's frames that have no symbol, each once, in order: those a
/// symbol file could name, with an address or an offset into the image (a frame cut short
/// after its image name has neither, and its image name may be cut too).
fn unnamed_images(report: &crashdelta::report::Report) -> Vec<String> {
    let mut images: Vec<String> = Vec::new();
    for frame in report
        .crashed()
        .map(|t| t.frames.as_slice())
        .unwrap_or_default()
    {
        if frame.symbol.is_none()
            && (frame.address.is_some() || frame.image_offset.is_some())
            && let Some(image) = &frame.image
            && !images.contains(image)
        {
            images.push(image.clone());
        }
    }
    images
}

/// `symbolicate PATH`.
pub fn symbolicate(args: SymbolicateArgs) -> Result<Exit> {
    let analyzer = load_analyzer(&RulesArg { rules: None }, &args.symbols)?;
    let path = args.path;
    let bytes = if path.as_os_str() == "-" {
        input::inputs(std::slice::from_ref(&path))
            .next()
            .map(input::Input::read)
            .context("no input")??
    } else {
        input::read_file(&path)?
    };
    let mut report = crashdelta::report::parse(&bytes)
        .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    let unnamed_before = unnamed_images(&report);
    let named = analyzer.symbolicate(&mut report);
    let symbol_warnings: Vec<String> = report
        .warnings
        .iter()
        .filter(|w| w.at == "symbols")
        .map(|w| w.message.clone())
        .collect();
    let analysis = Analysis {
        path: path.display().to_string(),
        result: Ok(analyzer.classify(report)),
        sha256: None,
    };
    let doc = Symbolicated {
        original: &bytes,
        analysis: &analysis,
    };
    // Rendered whole before the output file is created: a report that cannot be written back
    // as .ips leaves no empty file behind.
    let mut text = Vec::new();
    crashdelta::render::Document::write(&doc, args.format, &mut text, &Default::default())
        .with_context(|| {
            format!(
                "{} cannot be written back as .ips (use --format text or json)",
                path.display()
            )
        })?;
    let output = Output::new(args.output);
    output.refuse_inputs(std::slice::from_ref(&path))?;
    let mut out = output.open()?;
    out.write_all(&text)
        .and_then(|()| out.flush())
        .with_context(|| output.what())?;
    output.commit()?;
    note!("crashdelta: named {named} frame(s)");
    if named == 0 && !unnamed_before.is_empty() && args.symbols.symbols.is_empty() {
        let here = if analyzer.symbols.is_none() && analyzer.atos.is_none() {
            "; this machine has no AGX driver bundles or atos"
        } else {
            ""
        };
        say!(
            "crashdelta: nothing named the frames of {}: give --symbols PATH (dSYMs or binaries \
             whose UUIDs match; docs/symbols.md){here}",
            unnamed_before.join(", ")
        );
    }
    for w in symbol_warnings {
        say!("crashdelta: {w}");
    }
    Ok(Exit::Ok)
}
