//! kNN over 1M × 384 vectors: builds each vector index kind on a synthetic but realistically
//! clustered set of unit vectors (topics × subtopics × noise, like sentence embeddings of
//! narratives), then measures per-query latency (p50, p95) and recall@10 against exact search,
//! unfiltered and with a 2% prefilter, and the index build time.
//!
//! `cargo bench --profile dev --bench search` (PERSONADB_BENCH_ROWS to change the size,
//! PERSONADB_BENCH_KINDS=ivf_pq or ivf_hnsw_sq for one index kind; the
//! dataset is kept in ~/.cache/personadb/bench between runs). Prints a table, then criterion
//! times one query per index kind. Then filtered search with 0.1 %, 2 % and 20 % filters, without
//! and with a session's cache of decoded columns (`personadb::hot`), p50/p95 and recall@10
//! against exact search (PERSONADB_BENCH_FILTERED_ONLY=1 skips the index sweep).

use std::sync::Arc;
use std::time::Instant;

use arrow::array::{Array, AsArray, FixedSizeListArray, Float32Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use criterion::{criterion_group, criterion_main, Criterion};
use datafusion::prelude::{col, lit};
use lance::index::DatasetIndexExt;
use personadb::index::VectorIndexKind;
use personadb::search::{search_vector, SearchParams};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const DIM: usize = 384;
const QUERIES: usize = 100;
const K: usize = 10;

fn rows() -> usize {
    std::env::var("PERSONADB_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000)
}

fn normal(rng: &mut ChaCha8Rng) -> f32 {
    // Box-Muller.
    let (u, v): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
    ((-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()) as f32
}

fn unit(v: &mut [f32]) {
    let n = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= n);
}

/// 200 topics × 25 subtopics; a vector is topic + 0.7·subtopic + noise, normalised, so
/// neighbours share a topic and mostly a subtopic (cosine ~0.5–0.8), as narrative
/// embeddings of similar personas do.
fn vectors(n: usize, seed: u64) -> Vec<f32> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let random_unit = |rng: &mut ChaCha8Rng| {
        let mut v: Vec<f32> = (0..DIM).map(|_| normal(rng)).collect();
        unit(&mut v);
        v
    };
    let topics: Vec<Vec<f32>> = (0..200).map(|_| random_unit(&mut rng)).collect();
    let subs: Vec<Vec<f32>> = (0..200 * 25).map(|_| random_unit(&mut rng)).collect();
    let mut out = vec![0f32; n * DIM];
    for i in 0..n {
        // Zipf-like topic popularity.
        let t = ((rng.random::<f64>().powf(2.0)) * 200.0) as usize % 200;
        let s = t * 25 + rng.random_range(0..25);
        let v = &mut out[i * DIM..(i + 1) * DIM];
        for d in 0..DIM {
            v[d] = topics[t][d] + 0.7 * subs[s][d] + 0.9 * normal(&mut rng) / (DIM as f32).sqrt();
        }
        unit(v);
    }
    out
}

async fn dataset(db: &personadb::Database, n: usize) -> lance::Dataset {
    if db.table_exists("vectors") {
        let d = db.open_table("vectors").await.expect("open");
        if d.count_rows(None).await.expect("count") == n {
            return d;
        }
        db.drop_table("vectors").await.expect("drop");
    }
    let t = Instant::now();
    let schema = Arc::new(Schema::new(vec![
        Field::new("id", DataType::Int64, false),
        Field::new("state", DataType::Utf8, false),
        Field::new(
            "v",
            DataType::FixedSizeList(Arc::new(Field::new("item", DataType::Float32, true)), DIM as i32),
            true,
        ),
    ]));
    let chunk = 100_000;
    let mut batches = Vec::new();
    for start in (0..n).step_by(chunk) {
        let m = chunk.min(n - start);
        let values = vectors(m, start as u64 + 1);
        batches.push(
            RecordBatch::try_new(
                schema.clone(),
                vec![
                    Arc::new(Int64Array::from_iter_values((start..start + m).map(|i| i as i64))),
                    Arc::new(StringArray::from_iter_values(
                        (start..start + m).map(|i| format!("S{:02}", (i * 7919) % 50)),
                    )),
                    Arc::new(
                        FixedSizeListArray::try_new(
                            Arc::new(Field::new("item", DataType::Float32, true)),
                            DIM as i32,
                            Arc::new(Float32Array::from(values)),
                            None,
                        )
                        .expect("vectors"),
                    ),
                ],
            )
            .expect("batch"),
        );
    }
    let (d, _) = db.write_batches("vectors", schema, batches, personadb::WriteKind::Create, None).await.expect("write");
    println!("wrote {n} × {DIM} vectors in {:.1}s", t.elapsed().as_secs_f64());
    d
}

/// All vectors, row order (for exact search), and the states.
async fn all_vectors(d: &lance::Dataset) -> (Vec<f32>, Vec<String>) {
    let mut scan = d.scan();
    scan.project(&["state", "v"]).expect("project");
    let batch = scan.try_into_batch().await.expect("read");
    let v = batch.column(1).as_fixed_size_list();
    let values = v.values().as_primitive::<arrow::datatypes::Float32Type>().values().to_vec();
    let state = batch.column(0).as_string::<i32>();
    let states = (0..state.len()).map(|i| state.value(i).to_string()).collect();
    (values, states)
}

/// The filters of the filtered comparison: a name, the expression, and which rows pass.
fn filters(states: &[String]) -> Vec<(&'static str, datafusion::prelude::Expr, Vec<bool>)> {
    let ten: Vec<String> = (0..10).map(|s| format!("S{s:02}")).collect();
    vec![
        ("0.1 %", col("id").lt(lit(1000i64)), (0..states.len()).map(|i| i < 1000).collect()),
        ("2 %", col("state").eq(lit("S07")), states.iter().map(|s| s == "S07").collect()),
        (
            "20 %",
            col("state").in_list(ten.iter().map(|s| lit(s.as_str())).collect(), false),
            states.iter().map(|s| ten.contains(s)).collect(),
        ),
    ]
}

/// Exact top-k ids by cosine distance (unit vectors: 1 - dot), optionally among `mask` rows.
fn exact(all: &[f32], q: &[f32], mask: Option<&[bool]>) -> Vec<i64> {
    let n = all.len() / DIM;
    let mut scored: Vec<(f32, i64)> = Vec::with_capacity(n);
    for i in 0..n {
        if mask.is_some_and(|m| !m[i]) {
            continue;
        }
        let v = &all[i * DIM..(i + 1) * DIM];
        let dot: f32 = v.iter().zip(q).map(|(a, b)| a * b).sum();
        scored.push((1.0 - dot, i as i64));
    }
    scored.select_nth_unstable_by(K, |a, b| a.0.total_cmp(&b.0));
    scored.truncate(K);
    scored.sort_by(|a, b| a.0.total_cmp(&b.0));
    scored.into_iter().map(|s| s.1).collect()
}

fn ids(batches: &[RecordBatch]) -> Vec<i64> {
    batches
        .iter()
        .flat_map(|b| {
            b.column_by_name("id").expect("id").as_primitive::<arrow::datatypes::Int64Type>().values().to_vec()
        })
        .collect()
}

fn percentile(mut v: Vec<f64>, p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() - 1) as f64 * p).round() as usize]
}

fn knn(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let n = rows();
    let dir = std::env::var("PERSONADB_BENCH_DIR").map(std::path::PathBuf::from).unwrap_or_else(|_| {
        std::path::PathBuf::from(std::env::var("HOME").expect("HOME")).join(".cache/personadb/bench")
    });
    let db = personadb::Database::open(&dir).expect("bench db");
    let mut d = rt.block_on(dataset(&db, n));
    // The filter column gets the bitmap index `personadb index` gives persona columns.
    let t = Instant::now();
    let bitmap = lance_index::scalar::ScalarIndexParams::for_builtin(lance_index::scalar::BuiltinIndexType::Bitmap);
    rt.block_on(d.create_index(&["state"], lance_index::IndexType::Bitmap, Some("state_scalar".into()), &bitmap, true))
        .expect("bitmap index");
    println!("bitmap index on state: {:.1}s", t.elapsed().as_secs_f64());
    let (all, states) = rt.block_on(all_vectors(&d));
    let s07: Vec<bool> = states.iter().map(|s| s == "S07").collect();
    // Queries: perturbed copies of stored vectors (a paraphrase of an existing narrative).
    let mut rng = ChaCha8Rng::seed_from_u64(99);
    let queries: Vec<Vec<f32>> = (0..QUERIES)
        .map(|_| {
            let i = rng.random_range(0..n);
            let mut q: Vec<f32> =
                all[i * DIM..(i + 1) * DIM].iter().map(|x| x + 0.5 * normal(&mut rng) / (DIM as f32).sqrt()).collect();
            unit(&mut q);
            q
        })
        .collect();
    let t = Instant::now();
    let truth: Vec<Vec<i64>> = queries.iter().map(|q| exact(&all, q, None)).collect();
    let truth_f: Vec<Vec<i64>> = queries.iter().map(|q| exact(&all, q, Some(&s07))).collect();
    println!(
        "exact search (brute force, 1 core): {:.1} ms/query",
        t.elapsed().as_secs_f64() * 1000.0 / (2 * QUERIES) as f64
    );
    let filtered: Vec<(&str, datafusion::prelude::Expr, Vec<Vec<i64>>)> = filters(&states)
        .into_iter()
        .map(|(name, expr, mask)| (name, expr, queries.iter().map(|q| exact(&all, q, Some(&mask))).collect()))
        .collect();
    drop(all);

    let run = |d: &lance::Dataset, params: SearchParams, filtered: bool| -> (f64, f64, f64) {
        let mut lat = Vec::new();
        let mut hits = 0usize;
        for (qi, q) in queries.iter().enumerate() {
            let filter = filtered.then(|| col("state").eq(lit("S07")));
            let t = Instant::now();
            let got = rt.block_on(search_vector(d, "v", q.clone(), K, filter, Some(&["id"]), params)).expect("search");
            lat.push(t.elapsed().as_secs_f64() * 1000.0);
            let want = if filtered { &truth_f[qi] } else { &truth[qi] };
            hits += ids(&got).iter().filter(|i| want.contains(i)).count();
        }
        (hits as f64 / (K * QUERIES) as f64, percentile(lat.clone(), 0.5), percentile(lat, 0.95))
    };
    println!("| index | build s | params | recall@10 | p50 ms | p95 ms | filtered recall@10 | filtered p50 ms |");
    println!("| --- | ---: | --- | ---: | ---: | ---: | ---: | ---: |");
    let kinds: Vec<VectorIndexKind> = match std::env::var("PERSONADB_BENCH_KINDS").as_deref() {
        _ if std::env::var("PERSONADB_BENCH_FILTERED_ONLY").is_ok() => Vec::new(),
        Ok("ivf_pq") => vec![VectorIndexKind::IvfPq],
        Ok("ivf_hnsw_sq") => vec![VectorIndexKind::IvfHnswSq],
        _ => vec![VectorIndexKind::IvfHnswSq, VectorIndexKind::IvfPq],
    };
    for kind in kinds {
        let t = Instant::now();
        let params = kind.params(n, DIM);
        // PERSONADB_BENCH_REUSE=1 keeps an index already built (of the kind asked for).
        let reuse = std::env::var("PERSONADB_BENCH_REUSE").is_ok()
            && rt.block_on(d.load_indices()).expect("indices").iter().any(|i| i.name == "v_idx");
        if !reuse {
            rt.block_on(d.create_index(&["v"], lance_index::IndexType::Vector, Some("v_idx".into()), &params, true))
                .expect("index");
        }
        let build = if reuse { f64::NAN } else { t.elapsed().as_secs_f64() };
        let sweep: Vec<SearchParams> = match kind {
            VectorIndexKind::IvfPq => [(10, 5), (20, 5), (20, 10), (40, 10)]
                .iter()
                .map(|&(nprobes, refine_factor)| SearchParams { nprobes, refine_factor, ..SearchParams::default() })
                .collect(),
            VectorIndexKind::IvfHnswSq => [(1, 32), (2, 64), (4, 64), (4, 128)]
                .iter()
                .map(|&(nprobes, ef)| SearchParams { nprobes, ef, ..SearchParams::default() })
                .collect(),
        };
        for p in sweep {
            let (r, p50, p95) = run(&d, p, false);
            let (rf, p50f, _) = run(&d, p, true);
            println!(
                "| {} | {build:.0} | nprobes {} refine {} ef {} | {r:.3} | {p50:.1} | {p95:.1} | {rf:.3} | {p50f:.1} |",
                kind.name(),
                p.nprobes,
                p.refine_factor,
                p.ef
            );
        }
        let mut group = c.benchmark_group("knn_1m");
        group.sample_size(20);
        let mut i = 0;
        group.bench_function(format!("{}/default_params", kind.name()), |b| {
            b.iter(|| {
                i = (i + 1) % QUERIES;
                rt.block_on(search_vector(&d, "v", queries[i].clone(), K, None, Some(&["id"]), SearchParams::default()))
                    .expect("search")
            })
        });
        group.finish();
    }

    // Filtered search, as `semantic_search` runs it: default parameters, the index the table
    // has (the last one built above, or the one kept), without and with a warm cache.
    let cache = personadb::hot::HotCache::new(4 << 30);
    let t = Instant::now();
    rt.block_on(personadb::search::search_vector_with(
        Some(&cache),
        &d,
        "v",
        queries[0].clone(),
        K,
        Some(col("state").eq(lit("S07"))),
        Some(&["id"]),
        SearchParams::default(),
    ))
    .expect("warm");
    println!(
        "\ncache filled (state + v columns, {:.0} MiB) in {:.1} s",
        cache.stats().bytes as f64 / 1048576.0,
        t.elapsed().as_secs_f64()
    );
    println!("| filter | matching rows | path | recall@10 | p50 ms | p95 ms |");
    println!("| --- | ---: | --- | ---: | ---: | ---: |");
    for (name, filter, truth) in &filtered {
        for (path, cache) in [("Lance (no cache)", None), ("cache", Some(&*cache))] {
            let mut lat = Vec::new();
            let mut hits = 0usize;
            for (qi, q) in queries.iter().enumerate() {
                let t = Instant::now();
                let got = rt
                    .block_on(personadb::search::search_vector_with(
                        cache,
                        &d,
                        "v",
                        q.clone(),
                        K,
                        Some(filter.clone()),
                        Some(&["id"]),
                        SearchParams::default(),
                    ))
                    .expect("search");
                lat.push(t.elapsed().as_secs_f64() * 1000.0);
                hits += ids(&got).iter().filter(|i| truth[qi].contains(i)).count();
            }
            let count = rt.block_on(async {
                let mut s = d.scan();
                s.filter_expr(filter.clone());
                s.count_rows().await.expect("count")
            });
            println!(
                "| {name} | {count} | {path} | {:.3} | {:.1} | {:.1} |",
                hits as f64 / (K * QUERIES) as f64,
                percentile(lat.clone(), 0.5),
                percentile(lat, 0.95)
            );
        }
    }
}

criterion_group!(benches, knn);
criterion_main!(benches);
