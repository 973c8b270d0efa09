//! Writers: human renderings and the JSON documents.

pub mod human;
pub mod json;

pub use json::{Outcome, OutcomeError, Status};

use crate::classify;
use crate::input::Input;
use crate::report;

/// Parses and classifies one input into an [`Outcome`].
pub fn outcome(input: Input) -> Outcome {
    let result = match input.bytes {
        Ok(bytes) => report::parse(&bytes)
            .map(|r| {
                let c = classify::classify(&r);
                (r, c)
            })
            .map_err(OutcomeError::Parse),
        Err(e) => Err(OutcomeError::Read(e.to_string())),
    };
    Outcome {
        path: input.name,
        result,
    }
}
