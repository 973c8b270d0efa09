//! crashdelta: read macOS crash reports, say which crash each one is, and tell what a run added.
//!
//! Layers (lower never import upper):
//! - [`report`]: the data model and the parsers (bytes in, typed report out);
//! - [`classify`]: families, signatures, location and trigger;
//! - [`render`]: human, JSON and other writers;
//! - [`input`]: reading the files, folders and stdin a command names;
//! - [`cli`]: the command line and exit codes.

pub mod analyze;
pub mod campaign;
pub mod classify;
pub mod input;
pub mod inventory;
mod parallel;
pub mod render;
pub mod report;
pub mod run;
pub mod symbols;
pub mod watch;
