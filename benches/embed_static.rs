//! Static-tier embedding throughput: texts per second per core (one thread: slices below the
//! parallel threshold) on ~300-character template narratives, English and Portuguese, with
//! the chunk cache warm (as in a long `generate`) and cold (every chunk tokenized).

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use personadb::model::Encoding;
use personadb::narrate::PackNarrator;

/// Below the embedder's parallel threshold (512 texts), so one thread does the work.
const TEXTS: usize = 500;

fn embed_static(c: &mut Criterion) {
    let mut group = c.benchmark_group("embed_static");
    group.throughput(Throughput::Elements(TEXTS as u64));
    for (locale, model) in [("us", "static-all-MiniLM-L6-v2"), ("br", "static-multilingual-e5-small")] {
        let m = personadb::locale::model(locale).expect("model");
        let personas = m.sample_batch(42, 0, TEXTS, None, Encoding::Plain, 1).expect("batch");
        let narrated =
            PackNarrator::for_locale(locale, None).expect("narrator").narrate_batch(&personas, 7).expect("narrate");
        let column = narrated.batch.column_by_name("persona").expect("persona");
        let column = arrow::array::AsArray::as_string::<i32>(column.as_ref());
        let texts: Vec<&str> = (0..TEXTS).map(|i| column.value(i)).collect();
        let chars = texts.iter().map(|t| t.len()).sum::<usize>() / TEXTS;
        let embedder = personadb::embed::by_name(model).expect("static model from ./setup.sh");
        embedder.embed(&texts).expect("warm the cache");
        group.bench_function(format!("{locale}/persona/{chars}_chars/threads/1"), |b| {
            b.iter(|| embedder.embed(&texts).expect("embed"))
        });
    }
    group.finish();
}

criterion_group!(benches, embed_static);
criterion_main!(benches);
