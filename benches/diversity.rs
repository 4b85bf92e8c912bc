//! The diversity audit (`personadb report --diversity`) at scale and per locale.
//!
//! 1. 1M template-narrated US personas with a static embedding of `persona` (generated once
//!    into ~/.cache/personadb/bench-diversity; PERSONADB_BENCH_ROWS to change the size): one
//!    timed audit by sex × age band, with its peak memory (VmHWM).
//! 2. Every locale and script (20,000 personas each, seed 77): the audit's figures for the
//!    whole table, the number that says how far the template narrator is from varied prose.
//! 3. criterion: the nearest-neighbour search alone over 100,000 of the 1M vectors.
//!
//! `cargo bench --profile dev --bench diversity`

use std::path::PathBuf;
use std::time::Instant;

use criterion::{criterion_group, criterion_main, Criterion};
use personadb::diversity::{audit, neighbors, DiversityOptions, Vectors};
use personadb::{Database, GenerateOptions, PersonaSession};

fn rows() -> u64 {
    std::env::var("PERSONADB_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000)
}

fn home() -> PathBuf {
    std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join(".cache/personadb/bench-diversity")
}

/// Peak resident memory of this process, from /proc (Linux), in MB.
fn peak_mb() -> Option<f64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kb: f64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kb / 1024.0)
}

/// Generates (once) `n` narrated personas of `locale` with the persona embedding.
fn table(rt: &tokio::runtime::Runtime, db: &Database, name: &str, locale: &str, n: u64) {
    let have = match db.table_exists(name) {
        true => rt.block_on(async { db.open_table(name).await.expect("open").count_rows(None).await.expect("count") }),
        false => 0,
    };
    if have as u64 == n {
        return;
    }
    let t = Instant::now();
    let options = GenerateOptions::new(locale, n)
        .seed(77)
        .table(name)
        .kind(personadb::WriteKind::Replace)
        .narrator(Some(personadb::narrate::NarratorKind::Template))
        .embed(vec!["persona".into()])
        .progress(false);
    rt.block_on(personadb::generate(db, &options)).expect("generate");
    println!("{name}: generated {n} narrated, embedded personas in {:.0} s", t.elapsed().as_secs_f64());
}

fn bench(c: &mut Criterion) {
    personadb::env::lance_decode_on_every_core();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let db = Database::open(home().join("db")).expect("open the benchmark database");
    let session = PersonaSession::new(db.clone()).expect("session");
    let n = rows();
    table(&rt, &db, "us_big", "us", n);
    let options = DiversityOptions { by: vec!["sex".into(), "age_band".into()], ..Default::default() };
    let t = Instant::now();
    let report = rt.block_on(audit(&session, "us_big", &options)).expect("audit");
    let all = &report.groups[0];
    println!(
        "audit of {} rows by sex × age band ({} groups): {:.1} s; peak memory {:.0} MB; near duplicates {:.1} %, \
         mean NN distance {:.3}, distinct-2 {:.3}, repeated (of 40) {:.1} %",
        all.rows,
        report.groups.len() - 1,
        t.elapsed().as_secs_f64(),
        peak_mb().unwrap_or(f64::NAN),
        all.near_duplicate_share() * 100.0,
        all.mean_nn_distance,
        all.distinct[1],
        all.repeated * 100.0
    );

    println!(
        "\nlocale | script | personas | near dup (≥ 0.95) | near dup (≥ 0.8) | mean NN distance | distinct-1 | distinct-2 | \
         distinct-3 | repeated (of 40) | seconds"
    );
    for (locale, language) in
        [("us", "en"), ("sg", "en"), ("br", "pt"), ("in", "en"), ("in", "hi-Deva"), ("in", "hi-Latn"), ("jp", "ja")]
    {
        let name = format!("{locale}_{}", language.replace('-', "_").to_lowercase());
        let pack = match (locale, language) {
            ("in", "hi-Deva") => "hi_Deva_IN",
            ("in", "hi-Latn") => "hi_Latn_IN",
            _ => locale,
        };
        table(&rt, &db, &name, pack, 20_000);
        let report = rt.block_on(audit(&session, &name, &DiversityOptions::default())).expect("audit");
        let loose = DiversityOptions { threshold: 0.8, ..Default::default() };
        let loose = rt.block_on(audit(&session, &name, &loose)).expect("audit");
        let g = &report.groups[0];
        println!(
            "{locale} | {language} | {} | {:.1} % | {:.1} % | {:.3} | {:.3} | {:.3} | {:.3} | {:.1} % | {:.1}",
            g.rows,
            g.near_duplicate_share() * 100.0,
            loose.groups[0].near_duplicate_share() * 100.0,
            g.mean_nn_distance,
            g.distinct[0],
            g.distinct[1],
            g.distinct[2],
            g.repeated * 100.0,
            report.seconds
        );
    }

    // The search alone, over the first 100,000 vectors of the big table.
    let vectors = rt.block_on(async {
        let sql = "SELECT persona_embedding FROM us_big LIMIT 100000";
        let batches = session.sql(sql).await.expect("vectors");
        let dim = match batches[0].schema().field(0).data_type() {
            arrow::datatypes::DataType::FixedSizeList(_, d) => *d as usize,
            other => panic!("not an embedding: {other}"),
        };
        let mut v = Vectors::new(dim);
        for b in &batches {
            v.push(b.column(0)).expect("push");
        }
        v
    });
    let mut group = c.benchmark_group("diversity");
    group.sample_size(10);
    group.bench_function("nearest_100k", |b| {
        b.iter(|| neighbors::nearest(&vectors.data, vectors.dim, 0, personadb::diversity::threads()))
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
