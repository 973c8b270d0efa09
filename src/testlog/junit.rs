//! JUnit XML a runner wrote: `pytest --junitxml`, cargo-nextest's JUnit, `ctest --output-junit`.
