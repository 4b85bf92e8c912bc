//! personadb on a Ballista cluster of its own processes (`personadb cluster scheduler` and three
//! `personadb cluster executor`s on loopback): a generation run made by the executors writes
//! exactly the rows a local run with the same seed writes (SHA-256 over every row and column,
//! in table order, embeddings included), and queries planned through the scheduler give what a
//! local session gives on the same data.

mod support;

use std::sync::Arc;

use arrow::record_batch::RecordBatch;
use futures::StreamExt;
use personadb::cluster::ClusterSession;
use personadb::{Database, GenerateOptions, PersonaSession, WriteKind};
use sha2::Digest;
use support::cluster::Cluster;

const BIN: &str = env!("CARGO_BIN_EXE_personadb");

/// (rows, SHA-256 of every row in table order), whatever the fragments and batches.
async fn digest(db: &Database, table: &str) -> (u64, String) {
    let dataset = db.open_table(table).await.expect("open");
    let mut scanner = dataset.scan();
    scanner.scan_in_order(true);
    let mut stream = scanner.try_into_stream().await.expect("scan");
    let mut hasher = sha2::Sha256::new();
    let mut rows = 0u64;
    let mut converter = None;
    while let Some(batch) = stream.next().await {
        let batch = batch.expect("batch");
        let converter = converter.get_or_insert_with(|| {
            let fields =
                batch.schema().fields().iter().map(|f| arrow::row::SortField::new(f.data_type().clone())).collect();
            arrow::row::RowConverter::new(fields).expect("row converter")
        });
        let converted = converter.convert_columns(batch.columns()).expect("rows");
        for row in converted.iter() {
            hasher.update(row.as_ref());
        }
        rows += batch.num_rows() as u64;
    }
    (rows, hex::encode(hasher.finalize()))
}

fn options(n: u64) -> GenerateOptions {
    GenerateOptions::new("us", n)
        .seed(9191)
        .narrator(Some(personadb::narrate::NarratorKind::Template))
        .embed(vec!["persona".into()])
        .commit_rows(131_072)
}

fn text(batches: &[RecordBatch]) -> String {
    arrow::util::pretty::pretty_format_batches(batches).expect("format").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn generation_and_queries_on_three_executors_equal_a_local_run() {
    let cluster = Cluster::start(BIN, 3, 1, &[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let local = Database::open(dir.path().join("local")).expect("local db");
    let shared = Database::open(dir.path().join("shared")).expect("shared db");

    // 200,000 narrated personas with embeddings: here, and on the cluster (two commits, of
    // 131,072 rows and the rest, each cut into shards of 16,384 rows).
    let here = personadb::generate(&local, &options(200_000)).await.expect("local run");
    let there = personadb::generate(&shared, &options(200_000).cluster(Some(cluster.address.clone())))
        .await
        .unwrap_or_else(|e| panic!("cluster run: {e}\n{}", cluster.logs()));
    assert_eq!((here.rows, there.rows, there.written_now, there.table_rows), (200_000, 200_000, 200_000, 200_000));
    let (a, b) = (digest(&local, "personas").await, digest(&shared, "personas").await);
    assert_eq!(a.0, 200_000);
    assert_eq!(a, b, "the cluster's rows differ from the local run's");
    // The ledger holds the two commits, as a local run's does.
    let ledger = shared.catalog().expect("catalog").ledger(there.run_id).expect("ledger");
    assert_eq!(ledger.iter().map(|e| e.rows).collect::<Vec<_>>(), vec![131_072, 68_928]);

    // An append on the cluster adds the rows a local append adds.
    let append = |db: &Arc<Database>, cluster: Option<String>| {
        let db = db.clone();
        async move {
            let options = options(3_000).kind(WriteKind::Append).cluster(cluster);
            personadb::generate(&db, &options).await
        }
    };
    append(&local, None).await.expect("local append");
    append(&shared, Some(cluster.address.clone())).await.expect("cluster append");
    assert_eq!(digest(&local, "personas").await, digest(&shared, "personas").await);

    // Queries through the scheduler equal a local session's on the same data.
    let remote = ClusterSession::connect(shared.clone(), &cluster.address).await.expect("connect");
    let session = PersonaSession::new(shared.clone()).expect("session");
    let queries = [
        "SELECT count(*) AS n FROM personas",
        "SELECT sex, count(*) AS n, round(avg(age), 6) AS age FROM personas GROUP BY sex ORDER BY sex",
        "SELECT state, count(*) AS n FROM personas WHERE age >= 65 GROUP BY state ORDER BY n DESC, state LIMIT 5",
        "SELECT uuid, age, occupation FROM personas ORDER BY uuid LIMIT 3",
        "SELECT a.sex, count(*) AS n FROM personas a JOIN personas b ON a.uuid = b.uuid WHERE a.age < 30 GROUP BY a.sex ORDER BY a.sex",
        "SELECT count(*) AS n, sum(age) AS years FROM sample_persona(5000, 'us', 3)",
        "SELECT uuid, sex, age FROM sample_persona(2000, 'sg', 11) ORDER BY uuid LIMIT 4",
        "SELECT uuid, substr(persona, 1, 60) AS persona FROM personas WHERE persona IS NOT NULL ORDER BY uuid LIMIT 2",
        "SELECT uuid, generate_narrative('persona', 7, uuid, first_name, last_name, sex, age, city, state, occupation) AS p \
         FROM sample_persona(40, 'us', 5) ORDER BY uuid LIMIT 3",
        "SELECT uuid, generate_narrative('persona', 3, uuid, first_name, age, city, state, occupation) AS p \
         FROM personas WHERE age BETWEEN 40 AND 41 ORDER BY uuid LIMIT 2",
        "SELECT sex, count(*) AS n, round(sum(weight), 3) AS w FROM stratified_sample('personas', 'sex, state', 900, 7) \
         GROUP BY sex ORDER BY sex",
        "SELECT uuid, race_ethnicity, round(weight, 6) AS w FROM stratified_sample('personas', 'race_ethnicity', 300, 3, \
         'equal') ORDER BY uuid LIMIT 5",
    ];
    for query in queries {
        let expected = session.sql(query).await.unwrap_or_else(|e| panic!("{query}: {e}"));
        let got = remote.sql(query).await.unwrap_or_else(|e| panic!("{query} on the cluster: {e}\n{}", cluster.logs()));
        assert_eq!(text(&got), text(&expected), "{query}");
    }
    // The plan reads the table by fragment on the executors.
    let explain = text(&remote.sql("EXPLAIN SELECT count(*) FROM personas").await.expect("explain"));
    assert!(explain.contains("DistributedQueryExec") || explain.contains("FragmentScanExec"), "{explain}");

    // INSERT … SELECT: the select on the cluster, the rows appended (and narrated) here.
    let before = digest(&shared, "personas").await.0;
    let inserted = remote
        .sql("INSERT INTO personas SELECT * FROM sample_persona(1000, 'us', 77)")
        .await
        .unwrap_or_else(|e| panic!("insert: {e}\n{}", cluster.logs()));
    assert!(text(&inserted).contains("1000"), "{}", text(&inserted));
    assert_eq!(digest(&shared, "personas").await.0, before + 1000);
    let unnarrated = session.sql("SELECT count(*) AS n FROM personas WHERE persona IS NULL").await.expect("count");
    assert_eq!(
        text(&unnarrated),
        text(&session.sql("SELECT count(*) AS n FROM personas WHERE false").await.expect("0"))
    );

    // What does not run on a cluster says so.
    for statement in ["CREATE TABLE t AS SELECT 1 AS x", "DROP TABLE personas"] {
        let e = remote.sql(statement).await.expect_err(statement).to_string();
        assert!(e.contains("does not run on a cluster") && e.contains("without --cluster"), "{statement}: {e}");
    }
    // stratified_sample's errors name what is wrong, there as here.
    for (query, error) in [
        ("SELECT * FROM stratified_sample('nope', 'sex', 10)", "stratified_sample: table 'nope' not found"),
        ("SELECT * FROM stratified_sample('personas', 'height', 10)", "has no column `height`"),
    ] {
        let e = remote.sql(query).await.expect_err(query).to_string();
        assert!(e.contains(error), "{query}: {e}");
    }
    drop(cluster);
}

#[tokio::test]
async fn a_cluster_that_is_not_there_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = Database::open(dir.path().join("db")).expect("db");
    // A free port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0").expect("port").local_addr().expect("addr").port();
    let address = format!("df://127.0.0.1:{port}");
    let e = personadb::generate(&db, &GenerateOptions::new("us", 2_000).cluster(Some(address.clone())))
        .await
        .expect_err("no scheduler")
        .to_string();
    assert!(e.contains("cluster") && e.contains(&format!("127.0.0.1:{port}")), "{e}");
    let e = personadb::generate(&db, &GenerateOptions::new("us", 10).table("t2").cluster(Some("df://h:x".into())))
        .await
        .expect_err("bad address")
        .to_string();
    assert!(e.contains("cluster address 'df://h:x'"), "{e}");
    let e = personadb::generate(&db, &GenerateOptions::new("us", 10).kind(WriteKind::Replace).cluster(Some(address)))
        .await
        .expect_err("replace")
        .to_string();
    assert!(e.contains("does not replace") || e.contains("creates a table or appends"), "{e}");
}

/// A result as text for comparison: rows sorted (a query without ORDER BY may come back in any
/// order), numbers with a fraction to 9 significant digits (sums over partitions add in another
/// order).
fn normalized(batches: &[RecordBatch]) -> Vec<String> {
    let text = text(batches);
    let mut rows: Vec<String> = text
        .lines()
        .filter(|l| l.starts_with('|'))
        .map(|line| {
            line.split('|')
                .map(|cell| {
                    let cell = cell.trim();
                    match cell.parse::<f64>() {
                        Ok(v) if cell.contains('.') || cell.contains('e') => format!("{v:.9e}"),
                        _ => cell.to_string(),
                    }
                })
                .collect::<Vec<_>>()
                .join("|")
        })
        .collect();
    rows.sort();
    rows
}

/// Every query of the `.slt` files that runs on a cluster gives there what it gives in a local
/// session over the same database (each file on a fresh database, its statements run locally).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slt_queries_on_the_cluster_equal_a_local_session() {
    let cluster = Cluster::start(BIN, 2, 1, &[]);
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("sql");
    let mut files: Vec<std::path::PathBuf> = Vec::new();
    let mut stack = vec![root];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("sql dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "slt") {
                files.push(path);
            }
        }
    }
    files.sort();
    let (mut compared, mut refused) = (0, Vec::new());
    for file in &files {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = Database::open(dir.path().join("db")).expect("db");
        let local = PersonaSession::new(db.clone()).expect("session");
        let remote = ClusterSession::connect(db.clone(), &cluster.address).await.expect("connect");
        let records = sqllogictest::parse_file::<sqllogictest::DefaultColumnType>(file).expect("parse");
        // The files' scratch paths, as the sqllogictest runner sets them.
        let paths = |sql: String| {
            sql.replace("${__TEST_DIR__}", &dir.path().display().to_string())
                .replace("${__DB_DIR__}", &dir.path().join("db").display().to_string())
        };
        for record in records {
            match record {
                sqllogictest::Record::Statement { sql, .. } => {
                    let sql = paths(sql);
                    // Settings go to both sessions (the cluster one passes them on).
                    match sql.trim_start().to_uppercase().starts_with("SET ") {
                        true => drop(remote.sql(&sql).await),
                        false => drop(local.sql(&sql).await),
                    }
                }
                sqllogictest::Record::Query { sql, .. } => {
                    let sql = paths(sql);
                    // A query that changes the database runs once, here.
                    let first = sql.split_whitespace().next().unwrap_or("").to_uppercase();
                    if !["SELECT", "WITH", "EXPLAIN", "VALUES", "("].contains(&first.as_str()) {
                        let _ = local.sql(&sql).await;
                        continue;
                    }
                    let Ok(expected) = local.sql(&sql).await else { continue };
                    match remote.sql(&sql).await {
                        Ok(got) => {
                            assert_eq!(normalized(&got), normalized(&expected), "{}: {sql}", file.display());
                            compared += 1;
                        }
                        Err(e) => {
                            // Views and external tables live in the local session only.
                            let e = e.to_string();
                            let session_table = e
                                .split("table 'datafusion.public.")
                                .nth(1)
                                .and_then(|rest| rest.split('\'').next())
                                .is_some_and(|name| !db.table_exists(name));
                            if !session_table {
                                refused.push(format!("{}: {sql}: {e}", file.display()));
                            }
                        }
                    }
                }
                _ => {}
            }
        }
    }
    // What the cluster refuses is what it documents: the session-bound functions and
    // statements other than queries.
    for r in &refused {
        let allowed = ["semantic_search", "text_search", "hybrid_search", "near_duplicates"];
        assert!(
            allowed.iter().any(|f| r.contains(f)) || r.contains("does not run on a cluster"),
            "refused on the cluster: {r}\n{}",
            cluster.logs()
        );
    }
    eprintln!("{compared} queries equal on the cluster, {} refused as documented", refused.len());
    assert!(compared >= 120, "only {compared} queries compared");
}

/// An executor killed in the middle of a run: the scheduler takes it for lost, its tasks (and
/// the results it held) run again on the other executor, and the table holds exactly the rows
/// of a local run: no shard lost, none committed twice (a killed task's files stay unreferenced).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_survives_an_executor_killed_mid_run() {
    let mut cluster = Cluster::start_failing_over(BIN, 2, 1);
    let dir = tempfile::tempdir().expect("tempdir");
    let local = Database::open(dir.path().join("local")).expect("local db");
    let shared = Database::open(dir.path().join("shared")).expect("shared db");
    personadb::generate(&local, &options(200_000)).await.expect("local run");
    let run = {
        let (db, options) = (shared.clone(), options(200_000).cluster(Some(cluster.address.clone())));
        tokio::spawn(async move { personadb::generate(&db, &options).await })
    };
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert!(!run.is_finished(), "the run ended before the executor was killed");
    cluster.kill_executor(1);
    let report = tokio::time::timeout(std::time::Duration::from_secs(600), run)
        .await
        .unwrap_or_else(|_| panic!("the run did not end in 600 s\n{}", cluster.logs()))
        .expect("join")
        .unwrap_or_else(|e| panic!("cluster run: {e}\n{}", cluster.logs()));
    assert_eq!(report.table_rows, 200_000);
    assert_eq!(digest(&local, "personas").await, digest(&shared, "personas").await);
}

/// `generate --cluster` killed after its first commit, then `--resume` on the cluster: the
/// committed chunk is kept, the rest made as the run would have, and the table equals a local
/// run's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_cluster_run_resumes_on_the_cluster() {
    let cluster = Cluster::start(BIN, 2, 1, &[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let local = Database::open(dir.path().join("local")).expect("local db");
    personadb::generate(&local, &options(200_000).commit_rows(32_768)).await.expect("local run");
    let path = dir.path().join("shared");
    let mut child = std::process::Command::new(BIN)
        .args(["--db", &path.display().to_string(), "generate", "-n", "200000", "--seed", "9191"])
        .args(["--narrator", "template", "--embed", "persona", "--commit-rows", "32768", "-q"])
        .args(["--cluster", &cluster.address])
        .stderr(std::fs::File::create(dir.path().join("generate.log")).expect("log"))
        .spawn()
        .expect("generate");
    // Killed once a chunk is committed, before the run ends. The database is opened only once
    // the run has made its table (opening a path that is not yet a database would make one).
    let start = std::time::Instant::now();
    let table = path.join("personas.lance");
    loop {
        let committed = match table.exists() {
            true => Database::open(&path)
                .ok()
                .and_then(|db| db.catalog().ok().and_then(|c| c.ledger(1).ok()))
                .map(|ledger| ledger.len())
                .unwrap_or(0),
            false => 0,
        };
        if committed >= 1 {
            break;
        }
        let log = || std::fs::read_to_string(dir.path().join("generate.log")).unwrap_or_default();
        assert!(start.elapsed().as_secs() < 120, "no chunk committed in 120 s\n{}\n{}", log(), cluster.logs());
        let ended = child.try_wait().expect("wait");
        assert!(ended.is_none(), "the run ended ({ended:?}) before it was killed\n{}\n{}", log(), cluster.logs());
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    child.kill().expect("kill");
    child.wait().expect("wait");
    let shared = Database::open(&path).expect("shared db");
    let kept = shared.catalog().expect("catalog").ledger(1).expect("ledger").len();
    assert!(kept < 7, "the run was not interrupted ({kept} of 7 chunks committed)");
    let resume = personadb::generate::resume(&shared, 1, false, Some(cluster.address.clone()));
    let report = tokio::time::timeout(std::time::Duration::from_secs(600), resume)
        .await
        .unwrap_or_else(|_| panic!("the resumed run did not end in 600 s\n{}", cluster.logs()))
        .unwrap_or_else(|e| panic!("resume: {e}\n{}", cluster.logs()));
    assert_eq!((report.rows, report.table_rows), (200_000, 200_000));
    assert!(report.written_now < 200_000);
    assert_eq!(digest(&local, "personas").await, digest(&shared, "personas").await);
}

/// psql with unaligned, tuples-only, comma-separated output.
fn psql(port: u16, sql: &str) -> std::process::Output {
    std::process::Command::new("psql")
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "personadb", "-d", "personadb"])
        .args(["-X", "-A", "-t", "-F", ",", "-v", "ON_ERROR_STOP=1", "-w", "-c", sql])
        .env("PGCONNECT_TIMEOUT", "20")
        .env_remove("PGPASSWORD")
        .output()
        .expect("psql (run ./setup.sh, which installs postgresql-client)")
}

/// `personadb serve --cluster`: psql's queries run on the cluster and answer what a local
/// session answers; an INSERT … SELECT appends; what a cluster does not run is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_answers_from_the_cluster() {
    use std::io::BufRead;
    let cluster = Cluster::start(BIN, 1, 2, &[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("db");
    let db = Database::open(&path).expect("db");
    personadb::generate(&db, &GenerateOptions::new("us", 5_000).seed(4)).await.expect("generate");
    let mut child = std::process::Command::new(BIN)
        .args(["--db", &path.display().to_string(), "serve", "--port", "0", "--grace", "2"])
        .args(["--cluster", &cluster.address])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("serve");
    let mut line = String::new();
    std::io::BufReader::new(child.stdout.take().expect("stdout")).read_line(&mut line).expect("address line");
    let port: u16 = line.trim().rsplit(':').next().and_then(|p| p.parse().ok()).expect("port");
    let ask = |sql: &str| {
        let out = psql(port, sql);
        assert!(out.status.success(), "{sql}: {}\n{}", String::from_utf8_lossy(&out.stderr), cluster.logs());
        String::from_utf8(out.stdout).expect("utf-8")
    };
    let session = PersonaSession::new(db.clone()).expect("session");
    let by_sex = "SELECT sex, count(*) AS n FROM personas GROUP BY sex ORDER BY sex";
    let expected: Vec<String> = {
        let batches = session.sql(by_sex).await.expect("local");
        let text = text(&batches);
        text.lines()
            .filter(|l| l.starts_with("| ") && !l.contains(" sex "))
            .map(|l| l.split('|').map(str::trim).filter(|c| !c.is_empty()).collect::<Vec<_>>().join(","))
            .collect()
    };
    assert_eq!(ask(by_sex).lines().map(str::to_string).collect::<Vec<_>>(), expected);
    assert_eq!(ask("INSERT INTO personas SELECT * FROM sample_persona(100, 'us', 5)").trim(), "INSERT 0 100");
    assert_eq!(ask("SELECT count(*) FROM personas").trim(), "5100");
    // A statement prepared on the server and run again after an append reads the new rows.
    let script = r#"
import sys, psycopg
conn = psycopg.connect(host="127.0.0.1", port=int(sys.argv[1]), user="personadb", dbname="personadb", autocommit=True)
counts = []
with conn.cursor() as cur:
    for i in range(2):
        cur.execute("SELECT count(*) FROM personas WHERE age >= %s", (0,), prepare=True)
        counts.append(cur.fetchone()[0])
        if i == 0:
            cur.execute("INSERT INTO personas SELECT * FROM sample_persona(100, 'us', 6)")
print(counts[0], counts[1])
"#;
    let python = personadb::env::setting("PERSONADB_PYTHON").expect("PERSONADB_PYTHON (run ./setup.sh)");
    let out = std::process::Command::new(python).args(["-c", script, &port.to_string()]).output().expect("python");
    assert!(out.status.success(), "{}\n{}", String::from_utf8_lossy(&out.stderr), cluster.logs());
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "5100 5200");
    let refused = psql(port, "CREATE TABLE t AS SELECT 1 AS x");
    let message = String::from_utf8_lossy(&refused.stderr).to_string();
    assert!(!refused.status.success() && message.contains("does not run on a cluster"), "{message}");
    let _ = child.kill();
    let _ = child.wait();
}
