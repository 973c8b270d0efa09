//! Python's evidence: faulthandler dumps, pytest, pytest-xdist, unittest.

use super::Recognizer;

/// The Python recognisers.
pub fn recognizers() -> Vec<Box<dyn Recognizer>> {
    Vec::new()
}
