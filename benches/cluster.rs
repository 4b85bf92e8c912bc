//! personadb on a local Ballista cluster (`personadb cluster`, this package's binary).
//!
//! - `cluster_generate`: 200,000 template-narrated US personas (no embeddings) into S3-compatible
//!   storage (SeaweedFS on loopback, started by the bench: PERSONADB_WEED, ./setup.sh), by 1, 2
//!   and 4 executors of one task each, executor `i` pinned to core `i % cores` (taskset), against
//!   a local run on 1 and on all cores into the same store.
//! - `cluster_query`: the analytic queries (benches/analytic_queries.sql) over 1M personas in a
//!   local directory, through a 2-executor cluster and through a local session.
//!
//! `cargo bench --profile dev --bench cluster` (PERSONADB_BENCH_ROWS: the query table's size).

#[path = "../tests/support/cluster.rs"]
mod cluster;
#[path = "../tests/support/weed.rs"]
mod weed;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use personadb::cluster::ClusterSession;
use personadb::{Database, GenerateOptions, PersonaSession, WriteKind};

const BIN: &str = env!("CARGO_BIN_EXE_personadb");
const ROWS: u64 = 200_000;

fn narrated(n: u64) -> GenerateOptions {
    GenerateOptions::new("us", n).seed(1).narrator(Some(personadb::narrate::NarratorKind::Template)).table("bench")
}

fn generate(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let server = weed::Weed::start();
    let endpoint = server.endpoint();
    let env = [
        ("AWS_ENDPOINT", endpoint.as_str()),
        ("AWS_ALLOW_HTTP", "true"),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", weed::KEY),
        ("AWS_SECRET_ACCESS_KEY", weed::SECRET),
    ];
    let db = Database::open_remote(&server.uri("bench/cluster"), server.options()).expect("remote db");
    let run = |options: GenerateOptions| {
        runtime.block_on(async {
            if db.table_exists("bench") {
                db.drop_table("bench").await.expect("drop");
            }
            personadb::generate(&db, &options).await.expect("generate")
        })
    };
    let mut group = c.benchmark_group("cluster_generate");
    group.sample_size(10);
    group.throughput(Throughput::Elements(ROWS));
    let cores = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    for threads in [1, cores] {
        group.bench_function(format!("local_{threads}_cores"), |b| {
            b.iter(|| run(narrated(ROWS).threads(threads).kind(WriteKind::Create)))
        });
    }
    for executors in [1, 2, 4] {
        let cluster = cluster::Cluster::start_pinned(BIN, executors, 1, &env);
        let address = cluster.address.clone();
        group.bench_function(format!("cluster_{executors}_executors"), |b| {
            b.iter(|| run(narrated(ROWS).cluster(Some(address.clone()))))
        });
        drop(cluster);
    }
    group.finish();
}

fn queries() -> Vec<(String, String)> {
    let mut queries: Vec<(String, String)> = include_str!("analytic_queries.sql")
        .lines()
        .filter_map(|l| l.strip_prefix("-- "))
        .filter_map(|l| l.split_once(": "))
        .filter(|(name, _)| !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .map(|(name, sql)| (name.to_string(), sql.to_string()))
        .collect();
    // A stratified sample of 10,000 by sex and state, drawn in one executor task.
    queries.push((
        "stratified".into(),
        "SELECT sex, count(*) AS n, sum(weight) AS w FROM stratified_sample('personas', 'sex, state', 10000, 7) \
         GROUP BY sex"
            .into(),
    ));
    queries
}

fn query(c: &mut Criterion) {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
    let n: u64 = std::env::var("PERSONADB_BENCH_ROWS").ok().and_then(|v| v.parse().ok()).unwrap_or(1_000_000);
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path().join("db")).expect("db");
    runtime.block_on(personadb::generate(&db, &GenerateOptions::new("us", n).seed(1))).expect("generate");
    let cluster = cluster::Cluster::start(BIN, 2, 1, &[]);
    let local = PersonaSession::new(db.clone()).expect("session");
    let remote = runtime.block_on(ClusterSession::connect(db.clone(), &cluster.address)).expect("connect");
    let mut group = c.benchmark_group("cluster_query");
    group.sample_size(10);
    for (name, sql) in queries() {
        // A query the cluster does not run (a search function, say) is left out.
        if let Err(e) = runtime.block_on(remote.sql(&sql)) {
            eprintln!("{name}: not on the cluster ({e})");
            continue;
        }
        group.bench_function(format!("{name}_local"), |b| {
            b.to_async(&runtime).iter(|| async { local.sql(&sql).await.expect("query") })
        });
        group.bench_function(format!("{name}_cluster_2_executors"), |b| {
            b.to_async(&runtime).iter(|| async { remote.sql(&sql).await.expect("query") })
        });
    }
    group.finish();
}

criterion_group!(benches, generate, query);
criterion_main!(benches);
