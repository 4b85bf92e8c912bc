//! Template narrator throughput: personas per second, all narrative fields, one thread.

use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use personadb::model::Encoding;
use personadb::narrate::{Language, PackNarrator, TemplateNarrator};

const ROWS: usize = 16_384;

fn narrator(c: &mut Criterion) {
    let model = personadb::locale::model("us").expect("us model");
    let personas = model.sample_batch(42, 0, ROWS, None, Encoding::Dictionary, 1).expect("batch");
    let narrator = TemplateNarrator::for_locale("us").expect("narrator");
    let mut group = c.benchmark_group("narrator");
    group.throughput(Throughput::Elements(ROWS as u64));
    group.bench_function("template/all_fields/threads/1", |b| {
        b.iter(|| black_box(narrator.narrate_batch(&personas, 7).expect("narrate")))
    });
    // Brazil: the locale engine writing Portuguese.
    let model = personadb::locale::model("br").expect("br model");
    let pack = personadb::locale::pack("br").expect("br pack");
    let personas = model.sample_batch(42, 0, ROWS, None, Encoding::Dictionary, 1).expect("batch");
    let columns: Vec<String> = model.columns.iter().map(|c| c.name().to_string()).collect();
    let read = |name: &str| pack.file(name).map(str::to_string);
    let pt = PackNarrator::load("br", Language::Portuguese, &model.persona, &columns, &read).expect("pt narrator");
    group.bench_function("template_pt_br/all_fields/threads/1", |b| {
        b.iter(|| black_box(pt.narrate_batch(&personas, 7).expect("narrate")))
    });
    group.finish();
}

criterion_group!(benches, narrator);
criterion_main!(benches);
