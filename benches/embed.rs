//! Embedding throughput: texts per second through the fastembed embedder (all-MiniLM-L6-v2,
//! ONNX Runtime on all cores, batches of 32 sorted by length) on template narratives.

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use personadb::embed::FastEmbedder;
use personadb::model::Encoding;
use personadb::narrate::PackNarrator;

const TEXTS: usize = 256;

fn embed(c: &mut Criterion) {
    let model = personadb::locale::model("us").expect("us model");
    let personas = model.sample_batch(42, 0, TEXTS, None, Encoding::Plain, 1).expect("batch");
    let narrated =
        PackNarrator::for_locale("us", None).expect("narrator").narrate_batch(&personas, 7).expect("narrate");
    let embedder = FastEmbedder::shared().expect("the model from ./setup.sh");
    let mut group = c.benchmark_group("embed");
    group.sample_size(10);
    group.throughput(Throughput::Elements(TEXTS as u64));
    for field in ["skills_and_expertise", "persona"] {
        let column = narrated.batch.column_by_name(field).expect("field");
        let column = arrow::array::AsArray::as_string::<i32>(column.as_ref());
        let texts: Vec<&str> = (0..TEXTS).map(|i| column.value(i)).collect();
        let chars = texts.iter().map(|t| t.len()).sum::<usize>() / TEXTS;
        group.bench_function(format!("minilm/{field}/{chars}_chars"), |b| {
            b.iter(|| embedder.embed(&texts).expect("embed"))
        });
    }
    group.finish();
}

criterion_group!(benches, embed);
criterion_main!(benches);
