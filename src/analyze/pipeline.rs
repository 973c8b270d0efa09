//! Inputs to analyses: read each input in the worker that analyses it, on all cores, in input
//! order (see `crate::parallel`): a folder of thousands of reports is never held in memory.

use super::{Analysis, AnalysisError, Analyzer};
use crate::input::{Input, MAX_REPORT_BYTES, Source};

/// Reads and analyses one input; with `digest`, hashes its bytes too (SHA-256).
pub fn analyze_input(input: Input, analyzer: &Analyzer, digest: bool) -> Analysis {
    let path = input.name.clone();
    let mut sha256 = None;
    let result = match input.read() {
        Ok(bytes) => {
            if digest {
                use sha2::Digest;
                sha256 = Some(crate::sha256_hex(sha2::Sha256::new_with_prefix(&bytes)));
            }
            analyzer.analyze(&bytes).map_err(AnalysisError::Parse)
        }
        Err(e) => Err(AnalysisError::Read(e.to_string())),
    };
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
    // One report per job: reports are large; the bytes in flight are bounded by their sizes, not
    // only their count (64 reports of 64 MiB would be 4 GiB).
    crate::parallel::ordered_within(
        inputs,
        1,
        crate::parallel::BYTES_IN_FLIGHT,
        weight,
        |input| analyze_input(input, analyzer, digest),
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
