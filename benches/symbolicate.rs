//! Symbolication cost on the Mach-O fixtures (testdata/symbols/out):
//! - a cold start: indexing the stand-in driver's dSYM and naming a frame from its DWARF (looked
//!   up lazily: src/symbols/dwarf.rs); indexing its binary and building the symcache of the
//!   binary's symbol table (files without debug information still get symcaches);
//! - naming frames in an index that named them before: a whole report (3 unnamed driver frames)
//!   and single lookups (the dSYM's frames found before are kept in the index);
//! - indexing 64 MiB and 256 MiB symbol files (the arm64 binary padded with zeros, the size of
//!   big dSYMs): indexing reads a file's load commands only (src/symbols/read.rs), so this costs
//!   what indexing the fixture costs, whatever the size.
//!
//! Run: `cargo bench --bench symbolicate`. A real big dSYM, built and symbolicated end to end:
//! bench/make_big_dsym.sh and bench/symbols.sh.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;

use crashdelta::symbols::SymbolIndex;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

const ARM64: &str = "a1b2c3d4-0001-4000-8000-000000000a64";

fn bench(c: &mut Criterion) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let dsym = root.join("testdata/symbols/out/AGXMetalG16X.arm64.dSYM");
    let report_bytes =
        std::fs::read(root.join("testdata/derived/agx-unsymbolicated-0x98.ips")).unwrap();
    let report = crashdelta::report::parse(&report_bytes).unwrap();

    let mut cold = c.benchmark_group("cold");
    cold.bench_function("index the dSYM", |b| {
        b.iter(|| SymbolIndex::build(std::slice::from_ref(&dsym), None, None).unwrap())
    });
    cold.bench_function("index + 1 lazy lookup in the DWARF", |b| {
        b.iter(|| {
            let idx = SymbolIndex::build(std::slice::from_ref(&dsym), None, None).unwrap();
            idx.name_at(ARM64, 0x384).unwrap()
        })
    });
    let binary_path = root.join("testdata/symbols/out/AGXMetalG16X.arm64");
    cold.bench_function("index the binary + build its symcache + 1 lookup", |b| {
        b.iter(|| {
            let idx = SymbolIndex::build(std::slice::from_ref(&binary_path), None, None).unwrap();
            idx.name_at(ARM64, 0x384).unwrap()
        })
    });
    cold.finish();

    // Only the load commands are read, whatever the size.
    let big_dir = tempfile::tempdir().unwrap();
    let binary = std::fs::read(root.join("testdata/symbols/out/AGXMetalG16X.arm64")).unwrap();
    let mut large = c.benchmark_group("large");
    large.sample_size(10);
    for mib in [64usize, 256] {
        let big = big_dir.path().join(format!("AGXMetalG16X.{mib}.arm64"));
        let mut padded = binary.clone();
        padded.resize(mib << 20, 0);
        std::fs::write(&big, &padded).unwrap();
        large.throughput(Throughput::Bytes(padded.len() as u64));
        large.bench_function(format!("index a {mib} MiB binary"), |b| {
            b.iter(|| {
                let idx = SymbolIndex::build(std::slice::from_ref(&big), None, None).unwrap();
                assert_eq!(idx.objects().len(), 1);
            })
        });
    }
    large.finish();

    let idx = SymbolIndex::build(std::slice::from_ref(&dsym), None, None).unwrap();
    assert!(idx.name_at(ARM64, 0x384).is_some());
    let mut warm = c.benchmark_group("warm");
    warm.throughput(Throughput::Elements(3));
    warm.bench_function("symbolicate a report (3 driver frames)", |b| {
        b.iter_batched(
            || report.clone(),
            |mut r| assert_eq!(idx.symbolicate(&mut r), 3),
            criterion::BatchSize::SmallInput,
        )
    });
    warm.throughput(Throughput::Elements(1));
    warm.bench_function("one frame (lookup + demangle)", |b| {
        b.iter(|| idx.name_at(ARM64, 0x3d8).unwrap())
    });
    warm.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
