//! `classify PATH...`: every input read and classified, in input order, streamed to the chosen
//! format; the gate over all of them.

use anyhow::{Context, Result};

use crashdelta::analyze::{Analysis, Status, Summary, pipeline};
use crashdelta::classify::Triage;
use crashdelta::classify::{GatePolicy, Scope, Tally};
use crashdelta::history::{CrashEntry, Kind, RunEntry};
use crashdelta::input;
use crashdelta::render::{self, Format, Item, Totals};

use super::args::ClassifyArgs;
use super::exit::{Ending, Exit};
use super::output::{Output, note};
use super::progress::Progress;
use super::setup::{check_allow, load_analyzer};

/// `classify`.
pub fn classify(args: ClassifyArgs) -> Result<Exit> {
    // Its documents show each report's crashed thread and the threads it raced with, never the
    // others: their frames are left unread (docs/performance.md).
    let analyzer = load_analyzer(&args.rules, &args.symbols)?.skimming();
    check_allow(&analyzer.rules, &args.allow)?;
    let gate = GatePolicy {
        fail_on: args.fail_on,
        allow: args.allow,
        // Every input of `classify` is judged: there is no run to attribute it to.
        scope: Scope::Any,
    };
    let output = Output::new(args.output);
    output.refuse_inputs(&args.paths)?;
    // Never read back: the output file, and the history database with its WAL files.
    let skipped: Vec<(u64, u64)> = output
        .own_file()
        .into_iter()
        .chain(args.history.file().into_iter().flat_map(|h| {
            ["", "-wal", "-shm"].into_iter().filter_map(move |suffix| {
                let mut name = h.as_os_str().to_owned();
                name.push(suffix);
                std::fs::metadata(&name).ok().map(|m| {
                    (
                        std::os::unix::fs::MetadataExt::dev(&m),
                        std::os::unix::fs::MetadataExt::ino(&m),
                    )
                })
            })
        }))
        .collect();
    let mut sink = render::stream(args.format, output.open_for(args.format)?, &output.style())?;
    let mut summary = Summary::default();
    let mut triage = Triage::default();
    let mut tally = Tally::new(&gate);
    let started = chrono::Utc::now();
    // Each crash's row for `--history` (about half a kilobyte each), appended at the end as one
    // run of kind `classify`.
    let mut crashes = Vec::new();
    let remember = args.history.history.is_some();
    // The human table is written at the end; the other formats stream to standard output.
    let reading = Progress::start(
        "reading reports",
        true,
        output.path().is_none() && args.format != Format::Human,
    );
    // Each report is judged, counted into a triage of its own, and (when the format can) rendered
    // on the worker that read it, and its analysis dropped there: the thread that writes gets a
    // few small values and the bytes to write (see `Done`).
    let prerender = sink.prerender();
    let gate = &gate;
    pipeline::for_each_then(
        input::inputs_skipping(&args.paths, skipped).inspect(|_| reading.inc()),
        &analyzer,
        remember,
        |outcome| Done::of(outcome, gate, remember, prerender),
        |done| -> Result<()> {
            summary.add(done.status);
            triage.merge(done.triage);
            if let Some(c) = done.crash {
                crashes.push(c);
            }
            let (path, written) = match done.entry {
                Entry::Rendered { path, bytes } => {
                    (path, bytes.and_then(|b| sink.entry_rendered(&b)))
                }
                Entry::Whole(outcome) => {
                    let written = sink.entry(&item(&outcome, done.verdict.as_deref()));
                    (outcome.path, written)
                }
            };
            tally.add(&path, done.verdict.as_deref());
            written.context("cannot write the output")
        },
    )?;
    drop(reading);
    let result = tally.result();
    sink.finish(&Totals {
        summary,
        groups: triage.groups(),
        gate: &result,
        headline: None,
        provenance: Vec::new(),
        injected: &[],
    })
    .context("cannot write the output")?;
    output.commit()?;
    if output.path().is_some() || args.format != Format::Human {
        // The chosen format went to a file or a pipe; a person reading the log still sees this.
        note!(
            "crashdelta: {} input(s), {} crash report(s), {} not a crash, {} error(s); gate: {}",
            summary.inputs,
            summary.crashes,
            summary.not_a_crash,
            summary.errors,
            result.reason
        );
    }
    if remember {
        super::history::Recorder::open(args.history.history.as_deref()).append(&RunEntry {
            kind: Kind::Classify,
            machine: crashdelta::history::machine(),
            user: crashdelta::history::user(),
            command: None,
            started,
            ended: Some(chrono::Utc::now()),
            settled: None,
            exit_code: None,
            signal: None,
            gate_passed: Some(result.passed),
            campaign: None,
            os_build: None,
            hardware_model: None,
            // A copy of a report is the same crash.
            crashed: crashes
                .iter()
                .map(|c| c.incident_id.as_ref().or(c.report_sha256.as_ref()))
                .collect::<std::collections::HashSet<_>>()
                .len() as u64,
            crashes,
            pids: Vec::new(),
            unreadable: summary.errors,
        });
    }
    Ok(Exit::of(Ending {
        gate_failed: !result.passed,
        unreadable: summary.errors > 0,
        ..Ending::default()
    }))
}

/// What the writing thread needs of one input, made on the worker that analysed it.
struct Done {
    status: Status,
    /// Why it fails the gate, when it does.
    verdict: Option<String>,
    /// Its crash, counted alone.
    triage: Triage,
    /// Its row for `--history`.
    crash: Option<CrashEntry>,
    entry: Entry,
}

enum Entry {
    /// Rendered by the sink's [`Sink::prerender`](render::Sink::prerender).
    Rendered {
        path: String,
        bytes: std::io::Result<Vec<u8>>,
    },
    /// For a sink that needs the item itself.
    Whole(Box<Analysis>),
}

impl Done {
    fn of(
        outcome: Analysis,
        gate: &GatePolicy,
        remember: bool,
        prerender: Option<render::Prerender>,
    ) -> Done {
        let status = outcome.status();
        let mut triage = Triage::default();
        let verdict = outcome.crash().and_then(|(report, c)| {
            triage.add(report, c);
            gate.verdict_for(report, c)
        });
        let crash = if remember {
            CrashEntry::of(&outcome, None)
        } else {
            None
        };
        let entry = match prerender {
            Some(render) => {
                let mut bytes = Vec::new();
                let rendered = render(&item(&outcome, verdict.as_deref()), &mut bytes);
                Entry::Rendered {
                    bytes: rendered.map(|()| bytes),
                    path: outcome.path,
                }
            }
            None => Entry::Whole(Box::new(outcome)),
        };
        Done {
            status,
            verdict,
            triage,
            crash,
            entry,
        }
    }
}

/// `outcome` as the classify stream writes it: no run to attribute it to, no test.
fn item<'a>(outcome: &'a Analysis, gate_failure: Option<&'a str>) -> Item<'a> {
    Item {
        outcome,
        gate_failure,
        attribution: None,
        test: None,
    }
}
