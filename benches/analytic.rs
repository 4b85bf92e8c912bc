//! The analytic benchmark's queries (benches/analytic_queries.sql) through the library: a
//! `PersonaSession` over a database of 1M US personas (`generate --narrator none --seed 1`),
//! kept in ~/.cache/personadb/bench-analytic between runs and shared with benches/analytic.py,
//! which compares the CLI with DuckDB.
//!
//! `cargo bench --profile dev --bench analytic` (PERSONADB_BENCH_ROWS to change the size).

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use personadb::{Database, GenerateOptions, PersonaSession};

fn rows() -> usize {
    std::env::var("PERSONADB_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000)
}

fn queries() -> Vec<(String, String)> {
    include_str!("analytic_queries.sql")
        .lines()
        .filter_map(|l| l.strip_prefix("-- "))
        .filter_map(|l| l.split_once(": "))
        .filter(|(name, _)| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .map(|(name, sql)| (name.to_string(), sql.to_string()))
        .collect()
}

fn bench(c: &mut Criterion) {
    personadb::env::lance_decode_on_every_core();
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let n = rows();
    let dir = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join(".cache/personadb/bench-analytic")
        .join(if n == 1_000_000 { "db".to_string() } else { format!("db-{n}") });
    let db = Database::open(&dir).expect("open the benchmark database");
    let session = PersonaSession::new(db.clone()).expect("session");
    runtime.block_on(async {
        let have = match db.table_exists("personas") {
            true => db.open_table("personas").await.expect("open").count_rows(None).await.expect("count"),
            false => 0,
        };
        if have != n {
            session.sql("DROP TABLE IF EXISTS personas").await.expect("drop");
            let options = GenerateOptions { seed: 1, ..GenerateOptions::new("us", n as u64) };
            personadb::generate::generate(&db, &options).await.expect("generate");
        }
    });
    let mut group = c.benchmark_group("analytic");
    group.sample_size(10);
    for (name, sql) in queries() {
        group.bench_function(name.as_str(), |b| {
            b.to_async(&runtime).iter(|| async { session.sql(&sql).await.expect("query") })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
