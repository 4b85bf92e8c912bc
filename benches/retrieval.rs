//! Retrieval quality and ANN recall on real embeddings: 10,000 template-narrated personas
//! with their `persona` narrative embedded (all-MiniLM-L6-v2), a test set built from the
//! data itself — "a <occupation> who enjoys <hobby>" for (occupation, hobby) pairs that
//! occur — whose relevant personas are known from their attributes (relevance 2: both,
//! 1: the occupation only). Reports hit rate@10 (a fully relevant persona in the top 10),
//! precision@10 and nDCG@10, exact and through the IVF_PQ index, and recall@10 of the index
//! against exact search; then BM25 alone (`text_search`) and the hybrid of BM25 with the exact
//! vector search fused by reciprocal rank (`hybrid_search`). The same evaluation runs in Portuguese on 5,000 Brazilian personas
//! (the `persona` narrative embedded by multilingual-e5-small; queries such as "professora do
//! ensino fundamental que gosta de cuidar do jardim"), and in Japanese on 5,000 Japanese personas
//! (the same model; queries by industry and hobby, "IT企業で働いていて、釣りが趣味の人"), where
//! text search is compared across tokenizers, each through a full-text index on `persona`: the
//! default word tokenizer, ICU's dictionary segmentation and character n-grams. Each case runs twice: with the
//! transformer, and with the static model personadb distils from it (issue 16), on the same
//! personas (same seed), so their quality can be compared. Then criterion times one
//! `semantic_search` SQL query end to end (query embedding included).
//!
//! `cargo bench --profile dev --bench retrieval` (the databases are kept in
//! ~/.cache/personadb/bench/retrieval*; embedding each the first time takes ~2 minutes on 2
//! cores). `PERSONADB_BENCH_LOCALES=jp` (a comma-separated list) runs only those locales.

use std::collections::{HashMap, HashSet};

use arrow::array::{Array, AsArray, RecordBatch};
use criterion::{criterion_group, criterion_main, Criterion};
use personadb::search::{search_hybrid, search_text, search_vector, SearchParams};
use rand::seq::SliceRandom;
use rand::SeedableRng;

const PERSONAS: u64 = 10_000;
/// Brazilian personas (the multilingual model is about half as fast as the English one).
const PERSONAS_BR: u64 = 5_000;
const QUERIES: usize = 200;
const K: usize = 10;

struct Persona {
    /// The value of the case's key column (the occupation, or Japan's industry).
    occupation: String,
    working: bool,
    hobbies: Vec<String>,
}

fn strings(batch: &RecordBatch, name: &str) -> Vec<String> {
    let c =
        arrow::compute::cast(batch.column_by_name(name).expect(name), &arrow::datatypes::DataType::Utf8).expect("cast");
    let c = c.as_string::<i32>();
    (0..c.len()).map(|i| c.value(i).to_string()).collect()
}

/// One retrieval evaluation: a locale, how many personas, and how a query is written from an
/// (occupation, hobby) pair.
struct Case {
    locale: &'static str,
    folder: &'static str,
    /// The embedding model of the `persona_embedding` column.
    model: &'static str,
    personas: u64,
    /// The column a query names and relevance is judged on (the occupation, or Japan's industry).
    key: &'static str,
    /// Occupations left out of the test set (not working): these values, or any holding one of
    /// `idle_marks`.
    idle: &'static [&'static str],
    idle_marks: &'static [&'static str],
    query: Box<dyn Fn(&str, &str) -> String>,
    /// Full-text tokenizers to compare on this case (Japanese): each gets an index on `persona`
    /// before BM25 and hybrid run. Empty: a scan with the table's own tokenizer.
    tokenizers: &'static [(&'static str, Option<personadb::index::SegmentTokenizer>)],
}

fn retrieval(c: &mut Criterion) {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let us = Case {
        locale: "us",
        folder: "retrieval",
        model: "all-MiniLM-L6-v2",
        personas: PERSONAS,
        key: "occupation",
        idle: &["not_in_workforce", "unemployed"],
        idle_marks: &[],
        query: Box::new(|o, h| format!("a {} who enjoys {h}", o.replace('_', " "))),
        tokenizers: &[],
    };
    // PERSONADB_BENCH_LOCALES=jp,br runs only those cases (the timed SQL query needs us).
    let only = std::env::var("PERSONADB_BENCH_LOCALES").ok();
    let wanted = |locale: &str| only.as_deref().is_none_or(|o| o.split(',').any(|l| l.trim() == locale));
    let db = if wanted("us") {
        let db = evaluate(&rt, &us);
        // The static tier distilled from the same transformer, on the same personas.
        evaluate(&rt, &Case { folder: "retrieval_static", model: "static-all-MiniLM-L6-v2", ..us });
        Some(db)
    } else {
        None
    };
    // Portuguese: Brazilian personas, the persona narrative embedded by multilingual-e5-small,
    // queries written the way a Brazilian user would ("professora de música que gosta de ...").
    let titles: HashMap<String, String> = {
        let pack = personadb::locale::pack("br").expect("br pack");
        let text = pack.file("narrative/pt/occupations.csv").expect("titles");
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        reader.records().map(|r| r.expect("row")).map(|r| (r[0].to_string(), r[1].to_string())).collect()
    };
    let br = Case {
        locale: "br",
        folder: "retrieval_br",
        model: "multilingual-e5-small",
        personas: PERSONAS_BR,
        key: "occupation",
        idle: &["Sem ocupação"],
        idle_marks: &[],
        query: Box::new(move |o, h| {
            format!("{} que gosta de {h}", titles.get(o).cloned().unwrap_or_else(|| o.to_lowercase()))
        }),
        tokenizers: &[],
    };
    if wanted("br") {
        evaluate(&rt, &br);
        evaluate(&rt, &Case { folder: "retrieval_br_static", model: "static-multilingual-e5-small", ..br });
    }
    // Japanese: the persona narrative embedded by multilingual-e5-small, queries written the way
    // a Japanese user asks for someone by line of work and hobby ("IT企業で働いていて、釣りが
    // 趣味の人"), in the user's words rather than the templates'; relevance on the industry.
    // Text search compares tokenizers: ICU's dictionary segmentation and character n-grams.
    use personadb::index::SegmentTokenizer::{Icu, Ngram};
    let jp = Case {
        locale: "jp",
        folder: "retrieval_jp",
        model: "multilingual-e5-small",
        personas: PERSONAS_BR,
        key: "industry",
        idle: &["学生", "家事", ""],
        idle_marks: &["現在は"],
        query: Box::new(|industry, h| format!("{}、{h}が趣味の人", japanese_line_of_work(industry))),
        tokenizers: &[
            ("simple (words between spaces and punctuation)", None),
            ("ICU dictionary segmentation", Some(Icu)),
            ("character 1-grams", Some(Ngram(1, 1))),
            ("character bigrams", Some(Ngram(2, 2))),
            ("character 1- and 2-grams", Some(Ngram(1, 2))),
            ("character 2- and 3-grams", Some(Ngram(2, 3))),
        ],
    };
    if wanted("jp") {
        evaluate(&rt, &jp);
        evaluate(&rt, &Case { folder: "retrieval_jp_static", model: "static-multilingual-e5-small", ..jp });
    }
    let Some(db) = db else { return };

    let session = personadb::PersonaSession::new(db.clone()).expect("session");
    let mut group = c.benchmark_group("semantic_search");
    group.sample_size(20);
    group.bench_function("sql_10k_personas_k10_with_query_embedding", |b| {
        b.iter(|| {
            rt.block_on(session.sql(
                "SELECT uuid, _distance FROM semantic_search('personas', 'persona_embedding', 'a retired nurse who loves gardening', 10) WHERE state = 'OH'",
            ))
            .expect("sql")
        })
    });
    group.finish();
}

/// Generates (once) and evaluates one case; returns its database.
fn evaluate(rt: &tokio::runtime::Runtime, case: &Case) -> std::sync::Arc<personadb::Database> {
    let dir =
        std::path::PathBuf::from(std::env::var("HOME").expect("HOME")).join(".cache/personadb/bench").join(case.folder);
    let db = personadb::Database::open(&dir).expect("db");
    if !db.table_exists("personas") {
        let t = std::time::Instant::now();
        let options = personadb::GenerateOptions::new(case.locale, case.personas)
            .seed(11)
            .narrator(Some(personadb::narrate::NarratorKind::Template))
            .embed(vec!["persona".into()])
            .embed_model(Some(case.model.to_string()))
            // Stored at full width, so the float16 copy below is compared with the models' own numbers.
            .vector_type(personadb::columns::VectorType::Float32)
            .progress(false);
        rt.block_on(personadb::generate(&db, &options)).expect("generate");
        println!(
            "{}: generated and embedded {} personas in {:.0}s",
            case.locale,
            case.personas,
            t.elapsed().as_secs_f64()
        );
        let t = std::time::Instant::now();
        let options = personadb::index::IndexOptions { force: true, full_text: false, ..Default::default() };
        rt.block_on(personadb::index::index_table(&db, "personas", &options)).expect("index");
        println!("IVF_PQ index on {} vectors in {:.1}s", case.personas, t.elapsed().as_secs_f64());
    }
    let dataset = rt.block_on(db.open_table("personas")).expect("open");
    let mut scan = dataset.scan();
    let mut columns = vec!["uuid", "occupation", "hobbies_and_interests_list"];
    if case.key != "occupation" {
        columns.push(case.key);
    }
    scan.project(&columns).expect("project");
    let batch = rt.block_on(scan.try_into_batch()).expect("read");
    let uuids = strings(&batch, "uuid");
    let keys = strings(&batch, case.key);
    let working: Vec<bool> = strings(&batch, "occupation")
        .iter()
        .map(|o| !case.idle.contains(&o.as_str()) && !case.idle_marks.iter().any(|m| o.contains(m)))
        .collect();
    let lists = batch.column_by_name("hobbies_and_interests_list").expect("hobbies").as_list::<i32>();
    let people: HashMap<String, Persona> = (0..batch.num_rows())
        .map(|i| {
            let l = lists.value(i);
            let l = l.as_string::<i32>();
            let hobbies = (0..l.len()).map(|j| l.value(j).to_string()).collect();
            (uuids[i].clone(), Persona { occupation: keys[i].clone(), working: working[i], hobbies })
        })
        .collect();
    // Test set: distinct (occupation, hobby) pairs of people in work, drawn with a seed.
    let mut pairs: Vec<(String, String)> = people
        .values()
        .filter(|p| p.working && !p.occupation.is_empty())
        .flat_map(|p| p.hobbies.iter().map(|h| (p.occupation.clone(), h.clone())))
        .collect::<HashSet<_>>()
        .into_iter()
        .collect();
    pairs.sort();
    pairs.shuffle(&mut rand_chacha::ChaCha8Rng::seed_from_u64(5));
    pairs.truncate(QUERIES);
    // Queries are embedded by the model the column was written with.
    let schema = arrow::datatypes::Schema::from(dataset.schema());
    let field = schema.field_with_name("persona_embedding").expect("embedding column");
    let (model, _) = personadb::columns::column_model(&db, "personas", field).expect("catalog").expect("model");
    let embedder = personadb::embed::by_name(&model).expect("model");
    let texts: Vec<String> = pairs.iter().map(|(o, h)| (case.query)(o, h)).collect();
    if let Some(t) = texts.first() {
        println!("{}: e.g. query {t:?} ({model})", case.locale);
    }
    let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
    let vectors = embedder.embed_queries(&refs).expect("embed queries");
    let gain = |uuid: &str, (occ, hobby): &(String, String)| -> f64 {
        let p = &people[uuid];
        match (&p.occupation == occ, p.hobbies.contains(hobby)) {
            (true, true) => 2.0,
            (true, false) => 1.0,
            _ => 0.0,
        }
    };
    let run = |params: SearchParams| -> Vec<Vec<String>> {
        vectors
            .iter()
            .map(|v| {
                let got = rt
                    .block_on(search_vector(&dataset, "persona_embedding", v.clone(), K, None, Some(&["uuid"]), params))
                    .expect("search");
                got.iter().flat_map(|b| strings(b, "uuid")).collect()
            })
            .collect()
    };
    let exact = run(SearchParams { use_index: false, ..SearchParams::default() });
    // Recall of the index against exact search at other settings than the defaults.
    for (nprobes, refine_factor) in [(20, 10), (40, 10), (40, 20), (100, 20)] {
        let t = std::time::Instant::now();
        let got = run(SearchParams { nprobes, refine_factor, ..SearchParams::default() });
        let ms = t.elapsed().as_secs_f64() * 1000.0 / got.len() as f64;
        let r = exact.iter().zip(&got).map(|(e, a)| a.iter().filter(|u| e.contains(u)).count()).sum::<usize>() as f64
            / (K * exact.len()) as f64;
        println!("IVF_PQ nprobes {nprobes} refine {refine_factor}: recall@10 {r:.3}, {ms:.1} ms/query");
    }
    let ann = run(SearchParams::default());
    // The embedding column stored as float16 (issue 39): the same exact search over a copy of
    // `uuid` + the column in each width, their sizes on disk, and the quality of each.
    let (half_exact, widths) = half_width(rt, &db, &dataset, &vectors);
    // BM25 over the narrative's words, and the hybrid of BM25 with the exact vector search,
    // fused by reciprocal rank: a scan with the table's tokenizer, or through a full-text index
    // built with each tokenizer a case compares.
    let text_runs = |dataset: &lance::Dataset| -> (Vec<Vec<String>>, Vec<Vec<String>>) {
        let bm25: Vec<Vec<String>> = texts
            .iter()
            .map(|t| {
                let got =
                    rt.block_on(search_text(dataset, "persona", t, K, None, Some(&["uuid"]))).expect("text search");
                got.iter().flat_map(|b| strings(b, "uuid")).collect()
            })
            .collect();
        let hybrid: Vec<Vec<String>> = texts
            .iter()
            .zip(&vectors)
            .map(|(t, v)| {
                let exact = SearchParams { use_index: false, ..SearchParams::default() };
                let got = rt
                    .block_on(search_hybrid(
                        dataset,
                        "persona",
                        "persona_embedding",
                        t,
                        v.clone(),
                        K,
                        None,
                        Some(&["uuid"]),
                        exact,
                    ))
                    .expect("hybrid search");
                got.iter().flat_map(|b| strings(b, "uuid")).collect()
            })
            .collect();
        (bm25, hybrid)
    };
    let mut text_cases: Vec<(String, Vec<Vec<String>>, Vec<Vec<String>>)> = Vec::new();
    if case.tokenizers.is_empty() {
        let (bm25, hybrid) = text_runs(&dataset);
        text_cases.push(("scan".to_string(), bm25, hybrid));
    }
    // Each index replaces the last on the same dataset, its version moving on with each.
    let mut indexed = dataset.clone();
    for (name, tokenizer) in case.tokenizers {
        use lance::index::DatasetIndexExt;
        let params = match tokenizer {
            Some(t) => personadb::index::japanese_params(*t),
            None => lance_index::scalar::InvertedIndexParams::default().stem(false).remove_stop_words(false),
        };
        let t = std::time::Instant::now();
        rt.block_on(indexed.create_index(
            &["persona"],
            lance_index::IndexType::Inverted,
            Some("persona_fts".into()),
            &params,
            true,
        ))
        .expect("full-text index");
        let built = t.elapsed().as_secs_f64();
        let t = std::time::Instant::now();
        let (bm25, hybrid) = text_runs(&indexed);
        let ms = t.elapsed().as_secs_f64() * 1000.0 / (2 * texts.len()) as f64;
        println!("{name}: index on {} rows in {built:.1}s, {ms:.1} ms per text or hybrid query", people.len());
        text_cases.push((format!("{name}, index"), bm25, hybrid));
    }
    let quality = |results: &[Vec<String>]| -> (f64, f64, f64) {
        let (mut hits, mut precision, mut ndcg) = (0.0, 0.0, 0.0);
        for (q, got) in pairs.iter().zip(results) {
            let gains: Vec<f64> = got.iter().map(|u| gain(u, q)).collect();
            hits += f64::from(gains.iter().any(|g| *g == 2.0));
            precision += gains.iter().filter(|g| **g == 2.0).count() as f64 / K as f64;
            let dcg: f64 = gains.iter().enumerate().map(|(i, g)| (2f64.powf(*g) - 1.0) / (i as f64 + 2.0).log2()).sum();
            let mut ideal: Vec<f64> = people.keys().map(|u| gain(u, q)).filter(|g| *g > 0.0).collect();
            ideal.sort_by(|a, b| b.total_cmp(a));
            let idcg: f64 =
                ideal.iter().take(K).enumerate().map(|(i, g)| (2f64.powf(*g) - 1.0) / (i as f64 + 2.0).log2()).sum();
            ndcg += if idcg > 0.0 { dcg / idcg } else { 0.0 };
        }
        let n = results.len() as f64;
        (hits / n, precision / n, ndcg / n)
    };
    let recall = exact.iter().zip(&ann).map(|(e, a)| a.iter().filter(|u| e.contains(u)).count()).sum::<usize>() as f64
        / (K * exact.len()) as f64;
    let (he, pe, ne) = quality(&exact);
    let (ha, pa, na) = quality(&ann);
    println!(
        "{} ({}): {} queries over {} personas (persona field)",
        case.locale,
        case.model,
        pairs.len(),
        people.len()
    );
    println!("| search | hit rate@10 | precision@10 | nDCG@10 | recall@10 vs exact |");
    println!("| --- | ---: | ---: | ---: | ---: |");
    println!("| exact | {he:.3} | {pe:.3} | {ne:.3} | 1.000 |");
    println!(
        "| IVF_PQ (nprobes {}, refine {}) | {ha:.3} | {pa:.3} | {na:.3} | {recall:.3} |",
        personadb::search::NPROBES,
        personadb::search::REFINE_FACTOR
    );
    let (hh16, ph16, nh16) = quality(&half_exact);
    let agree = exact.iter().zip(&half_exact).map(|(e, a)| a.iter().filter(|u| e.contains(u)).count()).sum::<usize>()
        as f64
        / (K * exact.len()) as f64;
    println!("| exact, float16 column | {hh16:.3} | {ph16:.3} | {nh16:.3} | {agree:.3} |");
    println!("{widths}");
    for (name, bm25, hybrid) in &text_cases {
        let (ht, pt, nt) = quality(bm25);
        let (hh, ph, nh) = quality(hybrid);
        println!("| BM25 (text_search, {name}) | {ht:.3} | {pt:.3} | {nt:.3} | |");
        println!("| hybrid (exact vector + BM25 {name}, RRF) | {hh:.3} | {ph:.3} | {nh:.3} | |");
    }
    db
}

/// Exact search over the embedding column stored as float16 (the top 10 uuids per query), and
/// a line comparing the bytes on disk of `uuid` + the column at 32 and 16 bits.
fn half_width(
    rt: &tokio::runtime::Runtime,
    db: &personadb::Database,
    dataset: &lance::Dataset,
    vectors: &[Vec<f32>],
) -> (Vec<Vec<String>>, String) {
    use arrow::datatypes::{DataType, Field, Schema};
    let mut scan = dataset.scan();
    scan.project(&["uuid", "persona_embedding"]).expect("project");
    let batch = rt.block_on(scan.try_into_batch()).expect("read");
    let dim = match batch.schema().field(1).data_type() {
        DataType::FixedSizeList(_, d) => *d,
        other => panic!("persona_embedding is {other}"),
    };
    let mut sizes = Vec::new();
    for (table, item) in [("width_f32", DataType::Float32), ("width_f16", DataType::Float16)] {
        let list = DataType::FixedSizeList(std::sync::Arc::new(Field::new("item", item, true)), dim);
        let schema = std::sync::Arc::new(Schema::new(vec![
            Field::new("uuid", DataType::Utf8, true),
            Field::new("persona_embedding", list.clone(), true),
        ]));
        let column = arrow::compute::cast(batch.column(1), &list).expect("cast");
        let copy = RecordBatch::try_new(schema.clone(), vec![batch.column(0).clone(), column]).expect("batch");
        if db.table_exists(table) {
            rt.block_on(db.drop_table(table)).expect("drop");
        }
        rt.block_on(db.write_batches(table, schema, vec![copy], personadb::WriteKind::Create, None)).expect("write");
        let dir = db.dir().join(format!("{table}.lance"));
        sizes.push(dir_bytes(&dir));
    }
    let half = rt.block_on(db.open_table("width_f16")).expect("open");
    let exact = SearchParams { use_index: false, ..SearchParams::default() };
    let results = vectors
        .iter()
        .map(|v| {
            let got = rt
                .block_on(search_vector(&half, "persona_embedding", v.clone(), K, None, Some(&["uuid"]), exact))
                .expect("float16 search");
            got.iter().flat_map(|b| strings(b, "uuid")).collect()
        })
        .collect();
    let rows = batch.num_rows().max(1) as f64;
    let line = format!(
        "uuid + persona_embedding ({dim} dimensions) on disk: float32 {:.0} bytes/row, float16 {:.0} bytes/row",
        sizes[0] as f64 / rows,
        sizes[1] as f64 / rows
    );
    (results, line)
}

/// Bytes of the files under `dir` (the latest version's data and older manifests).
fn dir_bytes(dir: &std::path::Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .flatten()
                .map(|e| match e.metadata() {
                    Ok(m) if m.is_dir() => dir_bytes(&e.path()),
                    Ok(m) => m.len(),
                    Err(_) => 0,
                })
                .sum()
        })
        .unwrap_or(0)
}

/// How a Japanese user names a line of work when asking for someone in it, by industry
/// (日本標準産業分類 大分類 as the pack stores it).
fn japanese_line_of_work(industry: &str) -> String {
    let phrase = match industry {
        "卸売業，小売業" => "小売や卸の仕事をしていて",
        "医療，福祉" => "医療や福祉の仕事をしていて",
        "製造業" => "メーカーで働いていて",
        "サービス業（他に分類されないもの）" => "サービス業で働いていて",
        "建設業" => "建設業で働いていて",
        "宿泊業，飲食サービス業" => "飲食店やホテルで働いていて",
        "情報通信業" => "IT企業で働いていて",
        "運輸業，郵便業" => "運輸や物流の仕事をしていて",
        "教育，学習支援業" => "教育関係の仕事をしていて",
        "生活関連サービス業，娯楽業" => "美容や娯楽関係の仕事をしていて",
        "公務" => "公務員として働いていて",
        "農林漁業" => "農業や漁業をしていて",
        "金融業，保険業" => "銀行や保険会社で働いていて",
        "学術研究，専門・技術サービス業" => "研究や専門職の仕事をしていて",
        "不動産業，物品賃貸業" => "不動産業で働いていて",
        "電気・ガス・熱供給・水道業" => "電力やガスの会社で働いていて",
        "鉱業，採石業，砂利採取業" => "採石場で働いていて",
        other => return format!("{other}で働いていて"),
    };
    phrase.to_string()
}

criterion_group!(benches, retrieval);
criterion_main!(benches);
