//! Template narrator throughput: personas per second, all narrative fields, one thread, for
//! each locale's narrative language (the same engine; only the pack's data differ).

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use personadb::model::Encoding;
use personadb::narrate::PackNarrator;

/// The batch size `generate` narrates in.
const ROWS: usize = personadb::generate::NARRATED_BATCH_ROWS;

fn narrator(c: &mut Criterion) {
    let mut group = c.benchmark_group("narrator");
    group.throughput(Throughput::Elements(ROWS as u64));
    for locale in personadb::locale::available() {
        let model = personadb::locale::model(locale).expect("model");
        let personas = model.sample_batch(42, 0, ROWS, None, Encoding::Dictionary, 1).expect("batch");
        for language in &model.persona.narrative.languages {
            let narrator = PackNarrator::for_locale(locale, Some(&language.code)).expect("narrator");
            group.bench_function(format!("template/{locale}/{}/all_fields/threads/1", language.code), |b| {
                b.iter(|| black_box(narrator.narrate_batch(&personas, 7).expect("narrate")))
            });
        }
    }
    group.finish();
}

criterion_group!(benches, narrator);
criterion_main!(benches);
