//! The LLM narrator against a real OpenAI-compatible server: llama.cpp (PyPI xllamacpp)
//! serving SmolLM2-135M-Instruct on a free loopback port with one thread, installed by
//! ./setup.sh. A tiny model writes loosely on-topic text, so this asserts structure: the run
//! completes, every persona is narrated (all fields, name in `persona`) or recorded as failed
//! with a reason, and tokens are counted; on a cluster too, where the executors call the server
//! and the run's record counts their traffic.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use arrow::array::{Array, AsArray};
use personadb::llm::LlmConfig;
use personadb::{Database, GenerateOptions, PersonaSession};

/// The server process; killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_server() -> (Server, String) {
    let python = personadb::env::setting("PERSONADB_PYTHON")
        .expect("PERSONADB_PYTHON is not set and ~/.cache/personadb/env has none: run ./setup.sh");
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("bind").local_addr().expect("addr").port();
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/support/llm_server.py");
    let mut child = Command::new(&python)
        .arg(script)
        .arg(port.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {python}: {e}"));
    let stdout = child.stdout.take().expect("stdout");
    let server = Server(child);
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx.recv_timeout(Duration::from_secs(120)).expect("the LLM server did not start within 120 s");
    assert!(
        line.starts_with("listening"),
        "the LLM server did not start (is xllamacpp installed? run ./setup.sh): {line:?}"
    );
    (server, format!("http://127.0.0.1:{port}/v1"))
}

/// Settings for SmolLM2-135M on one thread (its base URL set by the test).
fn smollm() -> LlmConfig {
    LlmConfig {
        model: "SmolLM2-135M-Instruct".into(),
        max_concurrency: 1,
        timeout_s: 180.0,
        max_tokens: 600,
        max_field_chars: 200,
        max_reasks: 1,
        ..LlmConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_server_narrates_a_few_personas() {
    let (_server, base_url) = start_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path()).expect("open");
    let config = LlmConfig { base_url, ..smollm() };
    let n = 2;
    let options =
        GenerateOptions::new("us", n).seed(1).narrator(Some(personadb::narrate::NarratorKind::Llm)).llm(config);
    let started = Instant::now();
    let report = tokio::time::timeout(Duration::from_secs(420), personadb::generate(&db, &options))
        .await
        .expect("bounded in time")
        .expect("the run completes");
    eprintln!(
        "{n} personas in {:.1}s, {:?}, failures {:?}",
        started.elapsed().as_secs_f64(),
        report.usage,
        report.failure_kinds
    );
    assert_eq!(report.table_rows, n);
    let usage = report.usage.expect("usage");
    assert!(usage.requests >= n, "{usage:?}");
    assert!(usage.prompt_tokens > 0 && usage.completion_tokens > 0, "{usage:?}");

    let session = PersonaSession::new(db.clone()).expect("session");
    let fields = personadb::locale::model("us").expect("model").persona.narrative.fields.join(", ");
    let sql = format!(
        "SELECT uuid, first_name, {fields}, skills_and_expertise_list, hobbies_and_interests_list FROM personas"
    );
    let failures = db.catalog().expect("catalog").failures(report.run_id).expect("failures");
    let mut narrated = 0;
    for b in session.sql(&sql).await.expect("query") {
        let b = personadb::columns::plain_text_batch(b).expect("text");
        let uuid = b.column(0).as_string::<i32>();
        let first = b.column(1).as_string::<i32>();
        for i in 0..b.num_rows() {
            let persona = b.column(2).as_string::<i32>();
            if persona.is_valid(i) {
                narrated += 1;
                assert!(persona.value(i).to_lowercase().contains(&first.value(i).to_lowercase()));
                for c in 2..b.num_columns() {
                    assert!(b.column(c).is_valid(i), "narrated persona has every field");
                }
                for c in [b.num_columns() - 2, b.num_columns() - 1] {
                    assert!(b.column(c).as_list::<i32>().value(i).len() > 0);
                }
            } else {
                let f = failures.iter().find(|f| f.uuid == uuid.value(i)).expect("a failed persona is recorded");
                assert!(f.reason.contains("stage"), "{}", f.reason);
            }
        }
    }
    assert_eq!(narrated + failures.len(), n as usize);
}

/// Two real llama.cpp servers share a run, and one is killed once the first persona is
/// committed: every persona is still in the table, none failed for want of a server, and both
/// endpoints' traffic is recorded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_real_servers_one_killed_mid_run_lose_no_persona() {
    let (survivor, first_url) = start_server();
    let (mut doomed, second_url) = start_server();
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path()).expect("open");
    let config = LlmConfig { base_urls: vec![first_url, second_url.clone()], ..smollm() };
    let n = 4;
    let options = GenerateOptions::new("us", n)
        .seed(3)
        .narrator(Some(personadb::narrate::NarratorKind::Llm))
        .llm(config)
        .commit_rows(1);
    let run = {
        let (db, options) = (db.clone(), options.clone());
        tokio::spawn(async move { personadb::generate(&db, &options).await })
    };
    // Kill the second server once a persona is committed (both have had requests by then).
    let started = Instant::now();
    loop {
        let committed = {
            let catalog = db.catalog().expect("catalog");
            let runs = catalog.runs().expect("runs");
            runs.first().map(|r| catalog.ledger(r.id).expect("ledger").len()).unwrap_or(0)
        };
        if committed >= 1 {
            break;
        }
        assert!(!run.is_finished(), "the run ended before the kill");
        assert!(started.elapsed() < Duration::from_secs(400), "no persona committed within 400 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let _ = doomed.0.kill();
    let _ = doomed.0.wait();
    let report = tokio::time::timeout(Duration::from_secs(600), run)
        .await
        .expect("bounded in time")
        .expect("task")
        .expect("the run completes on the surviving server");
    drop(survivor);
    eprintln!("{n} personas in {:.1}s; endpoints {:?}", started.elapsed().as_secs_f64(), report.endpoints);
    assert_eq!(report.table_rows, n);
    let failures = db.catalog().expect("catalog").failures(report.run_id).expect("failures");
    // A tiny model may still write an answer that fails validation; a dead server must not cost a persona.
    assert!(
        failures.iter().all(|f| !f.reason.starts_with("connection") && !f.reason.starts_with("timeout")),
        "{failures:?}"
    );
    assert_eq!(report.endpoints.len(), 2);
    let killed = report.endpoints.iter().find(|e| e.url == second_url).expect("the killed endpoint");
    assert!(killed.usage.requests >= 1, "{:?}", report.endpoints);
    let live = report.endpoints.iter().find(|e| e.url != second_url).expect("the surviving endpoint");
    assert!(live.usage.completion_tokens > 0 && live.usage.errors == 0, "{:?}", report.endpoints);
}

/// LLM narration on a cluster (`generate --cluster`): the executors build their own narrators
/// from the run's settings and call the server; the traffic of the shards the run keeps is
/// counted in the run's report and record, per endpoint.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cluster_run_narrates_with_a_real_server() {
    let (_server, base_url) = start_server();
    let cluster = support::cluster::Cluster::start(env!("CARGO_BIN_EXE_personadb"), 2, 1, &[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path().join("db")).expect("open");
    let n = 2;
    let options = GenerateOptions::new("us", n)
        .seed(5)
        .narrator(Some(personadb::narrate::NarratorKind::Llm))
        .llm(LlmConfig { base_url: base_url.clone(), ..smollm() })
        .cluster(Some(cluster.address.clone()));
    let started = Instant::now();
    let report = tokio::time::timeout(Duration::from_secs(420), personadb::generate(&db, &options))
        .await
        .unwrap_or_else(|_| panic!("the cluster run did not end in 420 s\n{}", cluster.logs()))
        .unwrap_or_else(|e| panic!("the cluster run: {e}\n{}", cluster.logs()));
    eprintln!("{n} personas on the cluster in {:.1}s, {:?}", started.elapsed().as_secs_f64(), report.usage);
    assert_eq!(report.table_rows, n);
    let usage = report.usage.expect("usage");
    assert!(usage.requests >= n && usage.completion_tokens > 0, "{usage:?}");
    assert_eq!(report.endpoints.len(), 1, "{:?}", report.endpoints);
    assert_eq!(report.endpoints[0].usage, usage);
    let recorded = db.catalog().expect("catalog").usage(report.run_id).expect("usage").expect("recorded");
    let recorded: serde_json::Value = serde_json::from_str(&recorded).expect("json");
    assert_eq!(recorded["requests"].as_u64(), Some(usage.requests), "{recorded}");
    assert_eq!(recorded["endpoints"][0]["completion_tokens"].as_u64(), Some(usage.completion_tokens), "{recorded}");

    let session = PersonaSession::new(db.clone()).expect("session");
    let narrated = session.sql("SELECT count(*) FROM personas WHERE persona IS NOT NULL").await.expect("count");
    let narrated = narrated[0].column(0).as_primitive::<arrow::datatypes::Int64Type>().value(0) as usize;
    let failures = db.catalog().expect("catalog").failures(report.run_id).expect("failures");
    assert_eq!(narrated + failures.len(), n as usize, "{failures:?}");
    assert!(failures.iter().all(|f| f.reason.contains("stage")), "{failures:?}");
}
