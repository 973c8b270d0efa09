//! Inputs to analyses: read each input in the worker that analyses it, on all cores, in input
//! order (see `crate::parallel`): a folder of thousands of reports is never held in memory.

use super::{Analysis, AnalysisError, Analyzer};
use crate::input::{Input, MAX_REPORT_BYTES, Source};

/// Reads and analyses one input.
pub fn analyze_input(input: Input, analyzer: &Analyzer) -> Analysis {
    let path = input.name.clone();
    let result = match input.read() {
        Ok(bytes) => analyzer.analyze(&bytes).map_err(AnalysisError::Parse),
        Err(e) => Err(AnalysisError::Read(e.to_string())),
    };
    Analysis { path, result }
}

/// Analyses `inputs` on all cores and hands the analyses to `emit` in input order.
pub fn for_each<E>(
    inputs: impl Iterator<Item = Input>,
    analyzer: &Analyzer,
    emit: impl FnMut(Analysis) -> Result<(), E>,
) -> Result<(), E> {
    // One report per job: reports are large; the bytes in flight are bounded by their sizes, not
    // only their count (64 reports of 64 MiB would be 4 GiB).
    crate::parallel::ordered_within(
        inputs,
        1,
        crate::parallel::BYTES_IN_FLIGHT,
        weight,
        |input| analyze_input(input, analyzer),
        emit,
    )
}

/// What an input will weigh in memory: its size (a file's as it stands now; a file that grows is
/// read only up to the limit for a report).
fn weight(input: &Input) -> u64 {
    match &input.source {
        Source::File(path) => std::fs::metadata(path).map_or(0, |m| m.len().min(MAX_REPORT_BYTES)),
        Source::Read(Ok(bytes)) => bytes.len() as u64,
        Source::Read(Err(_)) => 0,
    }
}
