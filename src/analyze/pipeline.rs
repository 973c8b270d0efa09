//! Inputs to analyses: read each input in the worker that analyses it, on all cores, in input
//! order (see `crate::parallel`): a folder of thousands of reports is never held in memory.

use super::{Analysis, AnalysisError, Analyzer};
use crate::input::{Input, MAX_REPORT_BYTES, Source};

/// Reads and analyses one input; with `digest`, hashes its bytes too (SHA-256).
pub fn analyze_input(input: Input, analyzer: &Analyzer, digest: bool) -> Analysis {
    let path = input.name.clone();
    let mut sha256 = None;
    let result = input.with_bytes(|read| match read {
        Ok(bytes) => {
            if digest {
                use sha2::Digest;
                sha256 = Some(crate::sha256_hex(sha2::Sha256::new_with_prefix(bytes)));
            }
            analyzer.analyze(bytes).map_err(AnalysisError::Parse)
        }
        Err(e) => Err(AnalysisError::Read(e.to_string())),
    });
    Analysis {
        path,
        result,
        sha256,
    }
}

/// Analyses `inputs` on all cores and hands the analyses to `emit` in input order; with
/// `digest`, each with the SHA-256 of its bytes ([`Analysis::sha256`]).
pub fn for_each<E>(
    inputs: impl Iterator<Item = Input>,
    analyzer: &Analyzer,
    digest: bool,
    emit: impl FnMut(Analysis) -> Result<(), E>,
) -> Result<(), E> {
    for_each_then(inputs, analyzer, digest, |a| a, emit)
}

/// [`for_each`], with `then` applied to each analysis on the worker that made it, and what it
/// returns handed to `emit`: so that an analysis can be rendered, counted and dropped on the
/// thread whose core made it, and the emitting thread gets only the little it needs in input
/// order (`classify`).
pub fn for_each_then<T: Send, E>(
    inputs: impl Iterator<Item = Input>,
    analyzer: &Analyzer,
    digest: bool,
    then: impl Fn(Analysis) -> T + Sync,
    emit: impl FnMut(T) -> Result<(), E>,
) -> Result<(), E> {
    // The bytes in flight are bounded by the reports' sizes, not only their count (64 jobs of
    // 64 MiB reports would be 4 GiB), so several reports can go to a worker at a time.
    crate::parallel::ordered_within(
        inputs,
        REPORTS_PER_JOB,
        crate::parallel::BYTES_IN_FLIGHT,
        weight,
        |input| then(analyze_input(input, analyzer, digest)),
        emit,
    )
}

/// How many reports a worker takes at a time. One at a time, every report was a hand-over to a
/// worker and back, each waking a thread on the other core: over the 2000 bench reports ~1 150
/// context switches and ~2 200 futex calls, and the two threads together spent 40 % more CPU
/// than the same work on one core without them (201 ms against 142 ms, `perf stat`). Eight at
/// a time: ~200 switches, `classify` 112–130 → 101–102 ms, 10 000 reports 521–617 → 487–495 ms,
/// 48 large reports 19.1 → 16.8 ms, peak memory unchanged (36 MB; docs/performance.md). A
/// folder of fewer than nine reports is read by one worker.
const REPORTS_PER_JOB: usize = 8;

/// What an input will weigh in memory: its size (a file's as it stands now; a file that grows is
/// read only up to the limit for a report).
fn weight(input: &Input) -> u64 {
    match &input.source {
        Source::File(path) | Source::Listed(path) => {
            std::fs::metadata(path).map_or(0, |m| m.len().min(MAX_REPORT_BYTES))
        }
        Source::Read(Ok(bytes)) => bytes.len() as u64,
        Source::Read(Err(_)) => 0,
    }
}
