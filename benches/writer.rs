//! End-to-end generation: 1M US personas sampled and written to a Lance table (one commit),
//! as `personadb generate -n 1000000` does; into a local directory, and into S3-compatible object
//! storage (a SeaweedFS on loopback, started by the bench: PERSONADB_WEED, ./setup.sh).
//! `PERSONADB_BENCH_LOCAL_ONLY=1` skips the object storage case.

#[path = "../tests/support/weed.rs"]
mod weed;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use personadb::{Database, GenerateOptions, WriteKind};

fn writer(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path().join("db")).expect("db");
    let mut group = c.benchmark_group("writer");
    group.sample_size(10);
    group.throughput(Throughput::Elements(1_000_000));
    group.bench_function("generate_1m_to_lance", |b| {
        b.iter(|| {
            let options = GenerateOptions::new("us", 1_000_000).seed(1).kind(WriteKind::Replace);
            runtime.block_on(personadb::generate(&db, &options)).expect("generate")
        })
    });
    if std::env::var_os("PERSONADB_BENCH_LOCAL_ONLY").is_none() {
        let server = weed::Weed::start();
        let db = Database::open_remote(&server.uri("bench/db"), server.options()).expect("remote db");
        group.bench_function("generate_1m_to_s3_seaweedfs", |b| {
            b.iter(|| {
                let options = GenerateOptions::new("us", 1_000_000).seed(1).kind(WriteKind::Replace);
                runtime.block_on(personadb::generate(&db, &options)).expect("generate")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, writer);
criterion_main!(benches);
