//! The `crashdelta` command. Everything lives in the library and in `cli`; this stays tiny.

mod cli;

fn main() -> std::process::ExitCode {
    cli::main()
}

// Parsing a folder of reports makes millions of small, short-lived allocations (symbol names,
// frames) on several threads; mimalloc's per-thread heaps do them faster than glibc's malloc.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
