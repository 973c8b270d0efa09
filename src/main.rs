//! The `crashdelta` command. Everything lives in the library and in `cli`; this stays tiny.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}
