//! `personadb import` throughput before embedding: Parquet files in the US published schema
//! (our own personas written out with `COPY`), read, cast, checked against the vocabularies and
//! written to Lance. Two files, kept in ~/.cache/personadb/bench-import between runs:
//! 1M structured personas (`--narrator none`) and 100,000 narrated ones (ten prose fields).
//! Prints rows/s of each import with embedding off, then its peak memory (VmHWM).
//!
//! `cargo bench --profile dev --bench import` (PERSONADB_BENCH_ROWS to change the 1M).

use std::path::PathBuf;

use criterion::{criterion_group, criterion_main, Criterion};
use personadb::import::{import, ImportOptions};
use personadb::{Database, GenerateOptions, PersonaSession, WriteKind};

fn rows() -> u64 {
    std::env::var("PERSONADB_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000)
}

fn peak_mb() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("VmHWM:")).and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .map(|kb: f64| kb / 1024.0)
        .unwrap_or(f64::NAN)
}

/// Writes (once) `n` US personas of seed 5 to `file` as Parquet.
fn file(rt: &tokio::runtime::Runtime, session: &PersonaSession, file: &PathBuf, n: u64, narrated: bool) {
    if file.exists() {
        return;
    }
    let db = session.database();
    let mut options = GenerateOptions::new("us", n).seed(5).table("src").kind(WriteKind::Replace).progress(false);
    options = match narrated {
        true => options.narrator(Some(personadb::narrate::NarratorKind::Template)).embed(Vec::new()),
        false => options.narrator(None),
    };
    rt.block_on(personadb::generate(db, &options)).expect("generate");
    rt.block_on(session.sql(&format!("COPY (SELECT * FROM src) TO '{}'", file.display()))).expect("copy");
}

fn bench(c: &mut Criterion) {
    personadb::env::lance_decode_on_every_core();
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_else(std::env::temp_dir)
        .join(".cache/personadb/bench-import");
    std::fs::create_dir_all(&home).expect("bench folder");
    let db = Database::open(home.join("db")).expect("open");
    let session = PersonaSession::new(db.clone()).expect("session");
    let n = rows();
    let structured = home.join(format!("us_structured_{n}.parquet"));
    let narrated = home.join("us_narrated_100000.parquet");
    file(&rt, &session, &structured, n, false);
    file(&rt, &session, &narrated, 100_000, true);
    for (path, label) in [(&structured, "structured"), (&narrated, "narrated")] {
        let mut options = ImportOptions::new(path, "us");
        options.table = "imported".into();
        options.kind = WriteKind::Replace;
        options.embed = Some(Vec::new());
        let r = rt.block_on(import(&db, &options)).expect("import");
        let bytes: u64 = r.files.iter().map(|f| f.bytes).sum();
        println!(
            "import {label}: {} rows ({:.0} MB of Parquet) in {:.1} s = {:.0} rows/s before embedding; peak memory {:.0} MB",
            r.rows,
            bytes as f64 / 1e6,
            r.write_seconds,
            r.rows as f64 / r.write_seconds,
            peak_mb()
        );
    }
    let mut group = c.benchmark_group("import");
    group.sample_size(10);
    group.bench_function("narrated_100k_no_embedding", |b| {
        b.iter(|| {
            let mut options = ImportOptions::new(&narrated, "us");
            options.table = "again".into();
            options.kind = WriteKind::Replace;
            options.embed = Some(Vec::new());
            rt.block_on(import(&db, &options)).expect("import")
        })
    });
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
