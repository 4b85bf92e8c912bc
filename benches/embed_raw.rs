//! The raw ONNX Runtime baseline for `benches/embed.rs`: the same model file, the same 256
//! template narratives, tokenized with the model's tokenizer.json, run through an ORT session
//! directly (graph optimisation level 3, all cores, batches of 32 sorted by length), mean
//! pooled and normalised by hand. Separate binary: ONNX Runtime allows one environment per
//! process. `cargo bench --profile dev --bench embed_raw`, then compare with `--bench embed`.

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ort::session::builder::GraphOptimizationLevel;
use ort::session::Session;
use ort::value::Tensor;
use personadb::model::Encoding;
use personadb::narrate::PackNarrator;
use tokenizers::{PaddingParams, Tokenizer, TruncationParams};

const TEXTS: usize = 256;
const BATCH: usize = 32;

fn setting(name: &str) -> PathBuf {
    PathBuf::from(personadb::env::setting(name).unwrap_or_else(|| panic!("{name}: run ./setup.sh")))
}

fn embed_raw(session: &mut Session, tokenizer: &Tokenizer, texts: &[&str]) -> Vec<Vec<f32>> {
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(texts[i].len()));
    let mut out = vec![Vec::new(); texts.len()];
    for chunk in order.chunks(BATCH) {
        let batch: Vec<&str> = chunk.iter().map(|&i| texts[i]).collect();
        let enc = tokenizer.encode_batch(batch, true).expect("tokenize");
        let (b, len) = (enc.len(), enc[0].len());
        let flat = |f: &dyn Fn(&tokenizers::Encoding) -> &[u32]| -> Vec<i64> {
            enc.iter().flat_map(|e| f(e).iter().map(|&x| i64::from(x))).collect()
        };
        let ids = flat(&|e| e.get_ids());
        let mask = flat(&|e| e.get_attention_mask());
        let types = flat(&|e| e.get_type_ids());
        let outputs = session
            .run(ort::inputs![
                "input_ids" => Tensor::from_array(([b, len], ids)).expect("ids"),
                "attention_mask" => Tensor::from_array(([b, len], mask.clone())).expect("mask"),
                "token_type_ids" => Tensor::from_array(([b, len], types)).expect("types"),
            ])
            .expect("run");
        let (shape, hidden) = outputs[0].try_extract_tensor::<f32>().expect("hidden states");
        let dim = shape[2] as usize;
        for (row, &i) in chunk.iter().enumerate() {
            let mut v = vec![0f32; dim];
            let mut n = 0f32;
            for t in 0..len {
                if mask[row * len + t] == 1 {
                    let h = &hidden[(row * len + t) * dim..(row * len + t + 1) * dim];
                    v.iter_mut().zip(h).for_each(|(a, x)| *a += x);
                    n += 1.0;
                }
            }
            v.iter_mut().for_each(|a| *a /= n.max(1.0));
            let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
            v.iter_mut().for_each(|a| *a /= norm);
            out[i] = v;
        }
    }
    out
}

fn raw(c: &mut Criterion) {
    let model = personadb::locale::model("us").expect("us model");
    let personas = model.sample_batch(42, 0, TEXTS, None, Encoding::Plain, 1).expect("batch");
    let narrated =
        PackNarrator::for_locale("us", None).expect("narrator").narrate_batch(&personas, 7).expect("narrate");
    let dir = setting("PERSONADB_MODEL_DIR");
    let environment = ort::init_from(setting("ORT_DYLIB_PATH")).expect("ONNX Runtime").build().expect("environment");
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let mut session = Session::builder(&environment)
        .expect("builder")
        .with_optimization_level(GraphOptimizationLevel::Level3)
        .expect("opt level")
        .with_intra_threads(threads)
        .expect("threads")
        .commit_from_file(dir.join("model.onnx"))
        .expect("model");
    let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json")).expect("tokenizer");
    tokenizer.with_padding(Some(PaddingParams::default()));
    tokenizer.with_truncation(Some(TruncationParams { max_length: 256, ..Default::default() })).expect("truncation");
    let mut group = c.benchmark_group("embed_raw_ort");
    group.sample_size(10);
    group.throughput(Throughput::Elements(TEXTS as u64));
    for field in ["skills_and_expertise", "persona"] {
        let column = narrated.batch.column_by_name(field).expect("field");
        let column = arrow::array::AsArray::as_string::<i32>(column.as_ref());
        let texts: Vec<&str> = (0..TEXTS).map(|i| column.value(i)).collect();
        let chars = texts.iter().map(|t| t.len()).sum::<usize>() / TEXTS;
        let v = embed_raw(&mut session, &tokenizer, &texts);
        assert!(v.iter().all(|v| v.len() == 384));
        group.bench_function(format!("minilm/{field}/{chars}_chars"), |b| {
            b.iter(|| embed_raw(&mut session, &tokenizer, &texts))
        });
    }
    group.finish();
}

criterion_group!(benches, raw);
criterion_main!(benches);
