//! Side by side on the same `.ips` bodies, in one process, best of 7 passes each:
//!
//! - every token read and nothing built (`serde::de::IgnoredAny`), through serde_json, sonic-rs
//!   and simd-json: the floor under any typed reader built on that crate's serde path, which is
//!   where crashdelta's tolerant visitors sit;
//! - a small typed struct (each thread's frames: image index, offset, symbol) through each;
//! - `crashdelta::report::parse` of the whole files (header line, body, model, warnings), then
//!   with the classification, then with `classify --format json`'s writing into memory: what
//!   the typed model, the rules and the output each add above tokenising.
//!
//! Then whether each reader accepts what real reports contain and the parser must keep reading:
//! text after the body, a lone UTF-16 surrogate escape, an integer above `i64::MAX` (a key whose
//! type changed is crashdelta's own visitors' business, whatever the reader).

#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

use std::time::Instant;

use serde::de::IgnoredAny;

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Frame {
    #[serde(rename = "imageIndex")]
    image_index: Option<u64>,
    #[serde(rename = "imageOffset")]
    image_offset: Option<u64>,
    symbol: Option<String>,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Thread {
    frames: Option<Vec<Frame>>,
}

#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Body {
    threads: Option<Vec<Thread>>,
}

fn best(passes: usize, f: &dyn Fn()) -> f64 {
    (0..passes)
        .map(|_| {
            let t = Instant::now();
            f();
            t.elapsed().as_secs_f64() * 1e3
        })
        .fold(f64::MAX, f64::min)
}

fn main() {
    let dir = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "/tmp/cdbench/r2000".into());
    let mut files: Vec<Vec<u8>> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot list {dir}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "ips"))
        .filter_map(|p| std::fs::read(p).ok())
        .collect();
    files.sort();
    // The body: what follows the header line.
    let bodies: Vec<&[u8]> = files
        .iter()
        .filter_map(|f| f.iter().position(|&b| b == b'\n').map(|nl| &f[nl + 1..]))
        .collect();
    let bytes: usize = bodies.iter().map(|b| b.len()).sum();
    println!(
        "{} reports, {:.1} MB of bodies, from {dir}; best of 7 passes, one thread\n",
        bodies.len(),
        bytes as f64 / 1e6
    );
    let row = |what: &str, ms: f64, base: f64| {
        println!(
            "{what:<58} {ms:7.1} ms {:7.0} MB/s {:5.2}x",
            bytes as f64 / 1e3 / ms,
            ms / base
        )
    };
    // Each reader over every body; the first is the baseline of the ratios.
    type Reader = fn(&[u8]);
    let readers: [(&str, Reader); 6] = [
        ("serde_json, every token, nothing built (IgnoredAny)", |b| {
            let _ = std::hint::black_box(serde_json::from_slice::<IgnoredAny>(b));
        }),
        ("sonic-rs, the same", |b| {
            let _ = std::hint::black_box(sonic_rs::from_slice::<IgnoredAny>(b));
        }),
        (
            "simd-json, the same (its input is mutable: copy included)",
            |b| {
                let mut own = b.to_vec();
                let _ = std::hint::black_box(simd_json::serde::from_slice::<IgnoredAny>(&mut own));
            },
        ),
        ("serde_json, threads' frames into a struct", |b| {
            let _ = std::hint::black_box(serde_json::from_slice::<Body>(b));
        }),
        ("sonic-rs, the same struct", |b| {
            let _ = std::hint::black_box(sonic_rs::from_slice::<Body>(b));
        }),
        ("simd-json, the same struct (copy included)", |b| {
            let mut own = b.to_vec();
            let _ = std::hint::black_box(simd_json::serde::from_slice::<Body>(&mut own));
        }),
    ];
    let mut floor = None;
    for (what, read) in readers {
        let ms = best(7, &|| bodies.iter().for_each(|b| read(b)));
        row(what, ms, *floor.get_or_insert(ms));
    }
    let floor = floor.unwrap_or(1.0);
    row(
        "crashdelta::report::parse, whole files",
        best(7, &|| {
            for f in &files {
                let _ = std::hint::black_box(crashdelta::report::parse(f));
            }
        }),
        floor,
    );
    let analyzer = crashdelta::analyze::Analyzer::new(
        crashdelta::classify::RuleSet::builtin().expect("the built-in rules load"),
        None,
    );
    row(
        "crashdelta: parse and classify (Analyzer::analyze)",
        best(7, &|| {
            for f in &files {
                let _ = std::hint::black_box(analyzer.analyze(f));
            }
        }),
        floor,
    );
    row(
        "crashdelta: parse, classify, and classify's JSON",
        best(7, &|| {
            use crashdelta::render::Sink;
            let out = Vec::with_capacity(16 << 20);
            let mut sink = crashdelta::render::json::JsonSink::start(out).expect("a Vec takes it");
            for f in &files {
                let outcome = crashdelta::analyze::Analysis {
                    path: String::new(),
                    result: analyzer
                        .analyze(f)
                        .map_err(crashdelta::analyze::AnalysisError::Parse),
                    sha256: None,
                };
                let item = crashdelta::render::Item {
                    outcome: &outcome,
                    gate_failure: None,
                    attribution: None,
                    test: None,
                };
                sink.entry(&item).expect("a Vec takes it");
            }
            std::hint::black_box(sink);
        }),
        floor,
    );

    // Each reader asked for the first value and no more (serde_json's stream, sonic-rs's
    // deserializer without `end()`; simd-json parses the whole input as one value).
    println!("\nWhat real reports hold (accepted: read; refused: an error):");
    let cases: [(&str, &[u8]); 3] = [
        (
            "text after the body",
            b"{\"procName\":\"a\"}\n\nSystem Profile:\n",
        ),
        ("a lone surrogate escape", b"{\"procName\":\"a\\ud800b\"}"),
        (
            "an integer above i64::MAX",
            b"{\"lr\":18446744073709551615}",
        ),
    ];
    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Probe {
        #[serde(rename = "procName")]
        proc_name: Option<String>,
        lr: Option<u64>,
    }
    for (what, json) in cases {
        use serde::Deserialize;
        let serde_json = matches!(
            serde_json::Deserializer::from_slice(json)
                .into_iter::<Probe>()
                .next(),
            Some(Ok(_))
        );
        let sonic = Probe::deserialize(&mut sonic_rs::Deserializer::from_slice(json)).is_ok();
        let simd = simd_json::serde::from_slice::<Probe>(&mut json.to_vec()).is_ok();
        let word = |ok: bool| if ok { "accepted" } else { "refused" };
        println!(
            "{what:<28} serde_json {:<9} sonic-rs {:<9} simd-json {}",
            word(serde_json),
            word(sonic),
            word(simd)
        );
    }
    println!(
        "(crashdelta repairs lone surrogates before reading, and its own visitors accept keys whose type changed)"
    );
}
