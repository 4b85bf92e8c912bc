//! `personadb serve` with real PostgreSQL clients: psql (Debian postgresql-client) and Python
//! psycopg + pandas from the setup's venv, against a server started on a free loopback port.
//! Results must equal `personadb sql`'s, errors must arrive as PostgreSQL errors, passwords are
//! checked, writes from another process are seen, and SIGTERM stops the server cleanly.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_personadb");

fn personadb(db: &Path, args: &[&str]) -> Output {
    Command::new(BIN).arg("--db").arg(db).args(args).output().expect("run personadb")
}

fn ok(db: &Path, args: &[&str]) -> String {
    let out = personadb(db, args);
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

/// A running `personadb serve`; killed when dropped.
struct Server {
    child: Child,
    port: u16,
    log: PathBuf,
}

impl Server {
    fn start(db: &Path, args: &[&str], password: Option<&str>) -> Server {
        let log = db.with_extension("serve.log");
        let mut command = Command::new(BIN);
        command
            .arg("--db")
            .arg(db)
            .args(["serve", "--port", "0", "--grace", "5"])
            .args(args)
            .env_remove("PERSONADB_PASSWORD")
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&log).expect("log file"));
        if let Some(p) = password {
            command.env("PERSONADB_PASSWORD", p);
        }
        let mut child = command.spawn().expect("start personadb serve");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            let _ = BufReader::new(stdout).read_line(&mut line);
            let _ = tx.send(line);
        });
        let line = rx.recv_timeout(Duration::from_secs(60)).expect("the server did not start within 60 s");
        let port =
            line.trim().rsplit(':').next().and_then(|p| p.parse().ok()).unwrap_or_else(|| {
                panic!("no address in {line:?}: {}", std::fs::read_to_string(&log).unwrap_or_default())
            });
        Server { child, port, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for the exit status.
    fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill").args(["-TERM", &self.child.id().to_string()]).status().expect("kill");
        assert!(status.success());
        let start = Instant::now();
        loop {
            if let Some(status) = self.child.try_wait().expect("wait") {
                return status;
            }
            assert!(start.elapsed() < Duration::from_secs(30), "the server did not stop within 30 s of SIGTERM");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// psql with unaligned, tuples-only, comma-separated output.
fn psql(port: u16, sql: &str, password: Option<&str>) -> Output {
    let mut command = Command::new("psql");
    command
        .args(["-h", "127.0.0.1", "-p", &port.to_string(), "-U", "personadb", "-d", "personadb"])
        .args(["-X", "-A", "-t", "-F", ",", "-v", "ON_ERROR_STOP=1", "-c", sql])
        .env("PGCONNECT_TIMEOUT", "20")
        .env_remove("PGPASSWORD");
    match password {
        Some(p) => command.env("PGPASSWORD", p),
        None => command.arg("-w"),
    };
    command.output().expect("psql (run ./setup.sh, which installs postgresql-client)")
}

fn psql_ok(port: u16, sql: &str) -> String {
    let out = psql(port, sql, None);
    assert!(out.status.success(), "psql {sql:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

fn python() -> String {
    personadb::env::setting("PERSONADB_PYTHON")
        .expect("PERSONADB_PYTHON is not set and ~/.cache/personadb/env has none: run ./setup.sh")
}

/// Rows of `personadb sql -o csv` without the header, as psql -A -t -F, prints them.
fn cli_rows(db: &Path, sql: &str) -> String {
    let out = ok(db, &["sql", "-o", "csv", sql]);
    out.lines().skip(1).map(|l| format!("{l}\n")).collect()
}

fn generated(rows: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    ok(&db, &["generate", "--narrator", "none", "-n", rows, "--seed", "3", "--table", "people"]);
    (dir, db)
}

#[test]
fn psql_sees_what_personadb_sql_sees() {
    let (_dir, db) = generated("2000");
    let server = Server::start(&db, &[], None);
    let queries = [
        "SELECT state, count(*) AS n FROM people GROUP BY state ORDER BY n DESC, state LIMIT 5",
        "SELECT sex, min(age), max(age) FROM people GROUP BY sex ORDER BY sex",
        "SELECT uuid, age, occupation FROM people ORDER BY uuid LIMIT 3",
        "SELECT count(*) FROM sample_persona(50, 'us', 1) WHERE age >= 18",
    ];
    for sql in queries {
        assert_eq!(psql_ok(server.port, sql), cli_rows(&db, sql), "{sql}");
    }
    // The catalog queries psql sends for \dt and \d.
    let tables = psql_ok(server.port, "\\dt");
    assert!(tables.contains("people"), "\\dt: {tables}");
    let columns = psql_ok(server.port, "\\d people");
    for column in ["uuid", "age", "occupation"] {
        assert!(columns.contains(column), "\\d people: {columns}");
    }
    // Writes persist in the database: the CLI sees them.
    assert_eq!(
        psql_ok(server.port, "CREATE TABLE few AS SELECT * FROM people ORDER BY uuid LIMIT 10"),
        "CREATE TABLE\n"
    );
    assert_eq!(psql_ok(server.port, "INSERT INTO few SELECT * FROM people ORDER BY uuid DESC LIMIT 5"), "INSERT 0 5\n");
    assert_eq!(cli_rows(&db, "SELECT count(*) FROM few"), "15\n");
    // Errors are PostgreSQL errors with one clean line.
    let out = psql(server.port, "SELECT * FROM nope", None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.starts_with("ERROR:") && stderr.contains("nope"), "{stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{stderr}");
    let out = psql(server.port, "SELECT count(*) FROM sample_persona(5, 'atlantis', 1)", None);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("ERROR:") && stderr.contains("atlantis"), "{stderr}");
    // Files SQL may not touch stay refused over the wire too.
    let catalog = db.join("catalog.sqlite");
    let out = psql(server.port, &format!("COPY (SELECT 1 AS a) TO '{}' STORED AS CSV", catalog.display()), None);
    assert_eq!(out.status.code(), Some(1), "COPY into the database directory must fail");
    assert_eq!(cli_rows(&db, "SELECT count(*) FROM people"), "2000\n");
    assert!(!server.log().contains("panicked"), "{}", server.log());
}

#[test]
fn writers_in_another_process_are_seen_by_the_next_query() {
    let (_dir, db) = generated("1000");
    // The server keeps the columns it reads decoded in memory (its default): what another
    // process commits must still reach the next query, through appends and a replacement.
    let server = Server::start(&db, &[], None);
    let columns = "SELECT count(*), sum(age), count(DISTINCT state), min(uuid) FROM people WHERE age >= 0";
    assert_eq!(psql_ok(server.port, "SELECT count(*) FROM people"), "1000\n");
    let before = psql_ok(server.port, columns);
    assert_eq!(before, cli_rows(&db, columns));
    assert_eq!(psql_ok(server.port, columns), before, "a warm query gives what the cold one gave");
    ok(&db, &["generate", "--narrator", "none", "-n", "500", "--seed", "4", "--table", "people", "--append"]);
    assert_eq!(psql_ok(server.port, "SELECT count(*) FROM people"), "1500\n");
    let appended = psql_ok(server.port, columns);
    assert_ne!(appended, before);
    assert_eq!(appended, cli_rows(&db, columns));
    ok(&db, &["generate", "--narrator", "none", "-n", "300", "--seed", "6", "--table", "people", "--replace"]);
    assert_eq!(psql_ok(server.port, columns), cli_rows(&db, columns));
    assert!(psql_ok(server.port, columns).starts_with("300,"));
    ok(&db, &["generate", "--narrator", "none", "-n", "10", "--seed", "5", "--table", "later"]);
    assert_eq!(psql_ok(server.port, "SELECT count(*) FROM later"), "10\n");
    // With the cache off, the same.
    let plain = Server::start(&db, &["--cache-mb", "0"], None);
    assert_eq!(psql_ok(plain.port, columns), psql_ok(server.port, columns));
}

#[test]
fn passwords_are_required_and_checked() {
    let (_dir, db) = generated("100");
    // Anything but loopback without a password: refused before binding.
    let out = Command::new(BIN)
        .arg("--db")
        .arg(&db)
        .args(["serve", "--host", "0.0.0.0", "--port", "0"])
        .env_remove("PERSONADB_PASSWORD")
        .output()
        .expect("run");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("needs a password"), "{stderr}");

    let secret = "correct horse 42";
    let mut server = Server::start(&db, &[], Some(secret));
    let wrong = psql(server.port, "SELECT 1", Some("wrong"));
    assert!(!wrong.status.success(), "a wrong password was accepted");
    let none = psql(server.port, "SELECT 1", None);
    assert!(!none.status.success(), "no password was accepted");
    let right = psql(server.port, "SELECT count(*) FROM people", Some(secret));
    assert!(right.status.success(), "{}", String::from_utf8_lossy(&right.stderr));
    assert_eq!(String::from_utf8_lossy(&right.stdout), "100\n");
    assert!(server.terminate().success());
    // The password is never printed and never written under the database directory.
    assert!(!server.log().contains(secret), "{}", server.log());
    for entry in walk(&db) {
        let bytes = std::fs::read(&entry).unwrap_or_default();
        assert!(!bytes.windows(secret.len()).any(|w| w == secret.as_bytes()), "password found in {}", entry.display());
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("read_dir").flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(walk(&path));
        } else {
            files.push(path);
        }
    }
    files
}

#[test]
fn read_only_server_answers_queries_and_refuses_writes() {
    let (_dir, db) = generated("100");
    let server = Server::start(&db, &["--read-only"], None);
    assert_eq!(psql_ok(server.port, "SELECT count(*) FROM people"), "100\n");
    for sql in [
        "INSERT INTO people SELECT * FROM people LIMIT 1",
        "DROP TABLE people",
        "CREATE TABLE t AS SELECT 1",
        // A query in syntax, a CREATE TABLE in plan.
        "SELECT * INTO copied FROM people",
        // Settings are shared by every connection: a reader may not switch the narrator.
        "SET personadb.narrator = 'llm'",
    ] {
        let out = psql(server.port, sql, None);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{sql}: {stderr}");
        assert!(stderr.contains("read-only"), "{sql}: {stderr}");
    }
    assert_eq!(cli_rows(&db, "SELECT count(*) FROM people"), "100\n");
    assert!(!ok(&db, &["tables"]).contains("copied"), "SELECT INTO wrote a table on a read-only server");
}

#[test]
fn prepared_statements_see_later_commits() {
    let (_dir, db) = generated("1000");
    let server = Server::start(&db, &[], None);
    // psycopg prepares the statement on the server and executes it again after the append.
    let script = r#"
import sys, subprocess, psycopg
port, binary, db = int(sys.argv[1]), sys.argv[2], sys.argv[3]
conn = psycopg.connect(host="127.0.0.1", port=port, user="personadb", dbname="personadb", autocommit=True)
counts = []
with conn.cursor() as cur:
    for i in range(2):
        cur.execute("SELECT count(*) FROM people WHERE age >= %s", (0,), prepare=True)
        counts.append(cur.fetchone()[0])
        if i == 0:
            subprocess.run([binary, "--db", db, "generate", "--narrator", "none", "-n", "250", "--seed", "9",
                            "--table", "people", "--append"], check=True, capture_output=True)
print(counts[0], counts[1])
"#;
    let out = Command::new(python())
        .args(["-c", script, &server.port.to_string(), BIN, &db.to_string_lossy()])
        .output()
        .expect("python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "1000 1250");
}

#[test]
fn psycopg_and_pandas_read_the_same_rows() {
    let (_dir, db) = generated("2000");
    let server = Server::start(&db, &[], None);
    let script = r#"
import sys, json, psycopg, pandas
port = int(sys.argv[1])
conn = psycopg.connect(host="127.0.0.1", port=port, user="personadb", dbname="personadb", autocommit=True)
out = {}
with conn.cursor() as cur:
    cur.execute("SELECT count(*) FROM people WHERE age > %s AND sex = %s", (40, "Female"))
    out["count"] = cur.fetchone()[0]
    try:
        cur.execute("SELECT * FROM nope")
    except psycopg.Error as e:
        out["error"] = [e.sqlstate, str(e).strip()]
frame = pandas.read_sql("SELECT state, count(*) AS n FROM people GROUP BY state ORDER BY n DESC, state LIMIT 3", conn)
out["frame"] = [[r.state, int(r.n)] for r in frame.itertuples()]
print(json.dumps(out))
"#;
    let out = Command::new(python()).args(["-c", script, &server.port.to_string()]).output().expect("python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    let count = cli_rows(&db, "SELECT count(*) FROM people WHERE age > 40 AND sex = 'Female'");
    assert_eq!(got["count"].to_string(), count.trim());
    assert_eq!(got["error"][0], "42P01", "{got}");
    assert!(got["error"][1].as_str().is_some_and(|m| m.contains("nope")), "{got}");
    let expected: Vec<serde_json::Value> =
        cli_rows(&db, "SELECT state, count(*) AS n FROM people GROUP BY state ORDER BY n DESC, state LIMIT 3")
            .lines()
            .map(|l| {
                let (state, n) = l.split_once(',').expect("two columns");
                serde_json::json!([state, n.parse::<i64>().expect("count")])
            })
            .collect();
    assert_eq!(got["frame"], serde_json::Value::Array(expected));
}

#[test]
fn load_of_32_clients_has_no_errors_and_sigterm_stops_cleanly() {
    let (_dir, db) = generated("5000");
    let mut server = Server::start(&db, &[], None);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/benches/serve_load.py");
    let out = Command::new(python())
        .args([script, "--port", &server.port.to_string(), "--table", "people", "--clients", "32", "--queries", "200"])
        .output()
        .expect("python");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json");
    // The figures (p50/p99, queries/s) are for the record, not asserted; errors must be 0.
    eprintln!("load test: {report}");
    assert_eq!(report["errors"], 0, "{report}");
    assert_eq!(report["ok"], 6400, "{report}");
    let status = server.terminate();
    assert!(status.success(), "exit status after SIGTERM: {status:?}; log: {}", server.log());
    assert!(server.log().contains("stopping"), "{}", server.log());
}
