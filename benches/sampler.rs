//! Sampler throughput: personas per second into Arrow batches, single-threaded (per core)
//! and on all cores, dictionary-encoded and plain; and with evidence.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use personadb::model::Encoding;

const ROWS: usize = 65_536;

fn sampler(c: &mut Criterion) {
    let model = personadb::locale::model("us").expect("us model");
    let threads_all = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut group = c.benchmark_group("sampler");
    group.throughput(Throughput::Elements(ROWS as u64));
    for (label, encoding) in [("dictionary", Encoding::Dictionary), ("plain", Encoding::Plain)] {
        for threads in [1, threads_all] {
            group.bench_with_input(BenchmarkId::new(format!("{label}/threads"), threads), &threads, |b, &t| {
                let mut first = 0u64;
                b.iter(|| {
                    let batch = model.sample_batch(42, first, ROWS, None, encoding, t).expect("batch");
                    first += ROWS as u64;
                    black_box(batch)
                })
            });
        }
    }
    let evidence = model.evidence("state = 'CA' AND age BETWEEN 30 AND 45").expect("evidence");
    group.bench_function("dictionary/evidence/threads/1", |b| {
        b.iter(|| {
            black_box(model.sample_batch(42, 0, ROWS, evidence.as_ref(), Encoding::Dictionary, 1).expect("batch"))
        })
    });
    group.finish();
}

/// Every other locale, one core, dictionary-encoded (the per-core target of each pack).
fn locales(c: &mut Criterion) {
    let mut group = c.benchmark_group("sampler_locale");
    group.throughput(Throughput::Elements(ROWS as u64));
    for locale in personadb::locale::available().into_iter().filter(|l| *l != "us") {
        let model = personadb::locale::model(locale).expect("model");
        group.bench_function(BenchmarkId::new("dictionary/threads/1", locale), |b| {
            let mut first = 0u64;
            b.iter(|| {
                let batch = model.sample_batch(42, first, ROWS, None, Encoding::Dictionary, 1).expect("batch");
                first += ROWS as u64;
                black_box(batch)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, sampler, locales);
criterion_main!(benches);
