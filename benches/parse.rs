//! Parse throughput over the real reports in testdata, as MB/s, beside a baseline measured in
//! the same run: `serde_json::Value` of the same `.ips` bodies (the untyped parse users' scripts
//! do), and the floor: serde_json reading every token of them and building nothing.
//!
//! Run: `cargo bench --bench parse`.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing)]

use std::path::Path;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn files(dir: &Path, out: &mut Vec<Vec<u8>>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            files(&path, out);
        } else if path.extension().is_none_or(|e| e != "py" && e != "tsv") {
            out.push(std::fs::read(&path).unwrap());
        }
    }
}

fn bench(c: &mut Criterion) {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/testdata"));
    let mut all = Vec::new();
    files(&root.join("real"), &mut all);
    files(&root.join("derived"), &mut all);
    let total: usize = all.iter().map(Vec::len).sum();

    let mut group = c.benchmark_group("all-testdata-reports");
    group.throughput(Throughput::Bytes(total as u64));
    group.bench_function("crashdelta::report::parse", |b| {
        b.iter(|| {
            for bytes in &all {
                let _ = std::hint::black_box(crashdelta::report::parse(bytes));
            }
        })
    });
    group.finish();

    // The .ips files whose body is valid JSON: header line, then the body.
    let ips: Vec<(Vec<u8>, usize)> = all
        .iter()
        .filter_map(|b| {
            let nl = b.iter().position(|&c| c == b'\n')?;
            let body = b.get(nl + 1..)?;
            (b.first() == Some(&b'{') && serde_json::from_slice::<serde_json::Value>(body).is_ok())
                .then(|| (b.clone(), nl + 1))
        })
        .collect();
    let ips_total: usize = ips.iter().map(|(b, _)| b.len()).sum();
    let mut group = c.benchmark_group("ips-json-reports");
    group.throughput(Throughput::Bytes(ips_total as u64));
    group.bench_function("crashdelta::report::parse", |b| {
        b.iter(|| {
            for (bytes, _) in &ips {
                let _ = std::hint::black_box(crashdelta::report::parse(bytes));
            }
        })
    });
    group.bench_function("baseline serde_json::Value (header + body)", |b| {
        b.iter(|| {
            for (bytes, nl) in &ips {
                let _ = std::hint::black_box(serde_json::from_slice::<serde_json::Value>(
                    &bytes[..*nl],
                ));
                let _ = std::hint::black_box(serde_json::from_slice::<serde_json::Value>(
                    &bytes[*nl..],
                ));
            }
        })
    });
    // The floor under any serde_json-based reader: every token of the same bytes, nothing built
    // (docs/performance.md, issue 17: what the typed parse costs above tokenising).
    group.bench_function(
        "floor serde_json tokens only (IgnoredAny, header + body)",
        |b| {
            b.iter(|| {
                for (bytes, nl) in &ips {
                    let _ = std::hint::black_box(serde_json::from_slice::<serde::de::IgnoredAny>(
                        &bytes[..*nl],
                    ));
                    let _ = std::hint::black_box(serde_json::from_slice::<serde::de::IgnoredAny>(
                        &bytes[*nl..],
                    ));
                }
            })
        },
    );
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
