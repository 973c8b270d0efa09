//! Inputs to analyses: read each input in the worker that analyses it, on all cores, in input
//! order (see `crate::parallel`): a folder of thousands of reports is never held in memory.

use super::{Analysis, AnalysisError, Analyzer};
use crate::input::Input;

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
    // One report per job: reports are large, and the window bounds what is in memory.
    crate::parallel::ordered(inputs, 1, |input| analyze_input(input, analyzer), emit)
}
