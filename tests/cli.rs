//! The command line as a new user drives it: generate, query, insert, export, and bad input
//! that must give one line on stderr and exit code 1, never a panic.

use std::path::Path;
use std::process::{Command, Output, Stdio};

fn personadb(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_personadb"))
        .arg("--db")
        .arg(db)
        .args(args)
        .env_remove("PERSONADB_DATASETS")
        .output()
        .expect("run personadb")
}

fn ok(db: &Path, args: &[&str]) -> String {
    let out = personadb(db, args);
    assert!(out.status.success(), "{args:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8(out.stdout).expect("utf-8")
}

fn user_error(db: &Path, args: &[&str], expect: &str) {
    let out = personadb(db, args);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: one line expected, got {stderr}");
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains(expect), "{args:?}: expected '{expect}' in {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
}

fn csv_rows(text: &str) -> Vec<Vec<String>> {
    text.lines().skip(1).map(|l| l.split(',').map(str::to_string).collect()).collect()
}

/// CSV records with quoted fields (texts with commas), header left out.
fn csv_records(text: &str) -> Vec<Vec<String>> {
    csv::Reader::from_reader(text.as_bytes())
        .records()
        .map(|r| r.expect("csv record").iter().map(str::to_string).collect())
        .collect()
}

/// Census adult shares of the five largest states, from the derived table.
fn census_state_shares() -> std::collections::HashMap<String, f64> {
    let text =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("datasets/us/population_state_sex_age.csv"))
            .expect("derived table");
    let mut m = std::collections::HashMap::new();
    let mut total = 0.0;
    for row in csv_rows(&text) {
        let w: f64 = row[3].parse().expect("weight");
        *m.entry(row[0].clone()).or_insert(0.0) += w;
        total += w;
    }
    m.values_mut().for_each(|v| *v /= total);
    m
}

#[test]
fn generate_then_query_matches_census_state_shares() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    ok(&db, &["generate", "--narrator", "none", "--locale", "us", "-n", "100000", "--seed", "7"]);
    let out = ok(
        &db,
        &["sql", "-o", "csv", "SELECT state, count(*) AS n FROM personas GROUP BY state ORDER BY 2 DESC LIMIT 5"],
    );
    let census = census_state_shares();
    let rows = csv_rows(&out);
    assert_eq!(rows.len(), 5);
    assert_eq!(rows[0][0], "CA");
    for row in rows {
        let share = row[1].parse::<f64>().expect("count") / 100_000.0;
        let expected = census[&row[0]];
        assert!((share - expected).abs() < 0.005, "{}: {share} vs census {expected}", row[0]);
    }
    // Generating into an existing table without --append/--replace is refused, clearly.
    user_error(&db, &["generate", "--narrator", "none", "-n", "10"], "already exists");
    // Adults only, both sexes, country USA.
    let out =
        ok(&db, &["sql", "-o", "csv", "SELECT min(age), max(age), count(DISTINCT sex), min(country) FROM personas"]);
    assert_eq!(csv_rows(&out)[0], vec!["18", "104", "2", "USA"]);
}

#[test]
fn same_seed_same_rows() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    ok(&db, &["generate", "--narrator", "none", "-n", "5000", "--seed", "42", "--table", "a"]);
    ok(&db, &["generate", "--narrator", "none", "-n", "5000", "--seed", "42", "--table", "b", "--threads", "1"]);
    ok(&db, &["generate", "--narrator", "none", "-n", "5000", "--seed", "43", "--table", "c"]);
    let same = ok(&db, &["sql", "-o", "csv", "SELECT count(*) FROM (SELECT * FROM a EXCEPT SELECT * FROM b)"]);
    assert_eq!(csv_rows(&same)[0][0], "0");
    let differ = ok(&db, &["sql", "-o", "csv", "SELECT count(*) FROM (SELECT * FROM a EXCEPT SELECT * FROM c)"]);
    assert_eq!(csv_rows(&differ)[0][0], "5000");
}

#[test]
fn insert_survives_reopening_and_failed_insert_changes_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    ok(&db, &["generate", "--narrator", "none", "-n", "1000", "--seed", "1"]);
    // Copies of stored personas under new uuids (the same uuid twice is refused).
    let out = ok(
        &db,
        &["sql", "-o", "csv", "INSERT INTO personas SELECT * REPLACE (uuid || '-copy' AS uuid) FROM personas LIMIT 10"],
    );
    assert_eq!(csv_rows(&out)[0][0], "10");
    let count = ok(&db, &["sql", "-o", "csv", "SELECT count(*) FROM personas"]);
    assert_eq!(csv_rows(&count)[0][0], "1010");
    // A type mismatch discovered while writing: nothing is committed.
    let out = personadb(
        &db,
        &[
            "sql",
            "INSERT INTO personas SELECT * REPLACE (CAST(state AS BIGINT) AS age, uuid || '-x' AS uuid) FROM personas",
        ],
    );
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    let count = ok(&db, &["sql", "-o", "csv", "SELECT count(*) FROM personas"]);
    assert_eq!(csv_rows(&count)[0][0], "1010");
    // A failure late in a multi-batch stream, after earlier batches reached Lance: still nothing.
    ok(&db, &["sql", "INSERT INTO personas SELECT * FROM sample_persona(60000, 'us', 2)"]);
    let late_failure = "INSERT INTO personas SELECT * EXCLUDE (rn) \
        REPLACE (CAST(CASE WHEN rn > 50000 THEN 'oops' ELSE CAST(age AS VARCHAR) END AS BIGINT) AS age, uuid || '-y' AS uuid) \
        FROM (SELECT *, row_number() OVER () AS rn FROM personas)";
    let out = personadb(&db, &["sql", late_failure]);
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("oops"));
    let count = ok(&db, &["sql", "-o", "csv", "SELECT count(*) FROM personas"]);
    assert_eq!(csv_rows(&count)[0][0], "61010");
    let tables = ok(&db, &["tables", "-o", "csv"]);
    assert!(tables.starts_with("name,rows,version,locale,created\npersonas,61010,"), "{tables}");
    // sample_persona extends the table.
    ok(&db, &["sql", "INSERT INTO personas SELECT * FROM sample_persona(500, 'us', 9, 'state = ''OH''')"]);
    let oh = ok(&db, &["sql", "-o", "csv", "SELECT count(*) FROM personas WHERE state = 'OH'"]);
    assert!(csv_rows(&oh)[0][0].parse::<u64>().expect("count") >= 500);
}

#[test]
fn copy_writes_parquet_csv_and_json() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    ok(&db, &["generate", "--narrator", "none", "-n", "2000", "--seed", "3"]);
    for ext in ["parquet", "csv", "json"] {
        let file = dir.path().join(format!("out.{ext}"));
        let sql = format!("COPY (SELECT * FROM personas WHERE age >= 65) TO '{}'", file.display());
        ok(&db, &["sql", &sql]);
        assert!(file.is_file(), "{ext} file written");
    }
    // Read the parquet file back with an independent reader.
    let file = std::fs::File::open(dir.path().join("out.parquet")).expect("open");
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).expect("parquet");
    let rows: usize = reader.build().expect("reader").map(|b| b.expect("batch").num_rows()).sum();
    let expected = ok(&db, &["sql", "-o", "csv", "SELECT count(*) FROM personas WHERE age >= 65"]);
    assert_eq!(rows.to_string(), csv_rows(&expected)[0][0]);
}

#[test]
fn bad_input_is_one_line_and_exit_code_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    user_error(&db, &["sql", "SELECT * FROM nope"], "nope");
    user_error(&db, &["sql", "SELEC 1"], "SELEC");
    user_error(&db, &["generate", "--narrator", "none", "-n", "abc"], "abc");
    user_error(&db, &["generate", "--narrator", "none", "-n", "10", "--locale", "mars"], "unknown locale 'mars'");
    user_error(&db, &["generate", "--narrator", "none", "-n", "10", "--given", "age < 10"], "impossible");
    user_error(&db, &["sql", "SELECT * FROM sample_persona(10, 'us', 1, 'shoe_size > 3')"], "unknown column");
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "not a database").expect("write");
    user_error(&file, &["sql", "SELECT 1"], "not a personadb database");
    let full = dir.path().join("full");
    std::fs::create_dir(&full).expect("mkdir");
    std::fs::write(full.join("x.txt"), "x").expect("write");
    user_error(&full, &["tables"], "not a personadb database");
}

#[test]
fn broken_pipe_is_a_clean_exit() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    ok(&db, &["generate", "--narrator", "none", "-n", "50000", "--seed", "5"]);
    let mut child = Command::new(env!("CARGO_BIN_EXE_personadb"))
        .arg("--db")
        .arg(&db)
        .args(["sql", "-o", "csv", "SELECT * FROM personas"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    // Read one line, then close the pipe, as `| head -1` would.
    {
        use std::io::{BufRead, BufReader};
        let stdout = child.stdout.take().expect("stdout");
        let mut line = String::new();
        BufReader::new(stdout).read_line(&mut line).expect("read");
        assert!(line.starts_with("uuid,"));
    }
    let out = child.wait_with_output().expect("wait");
    assert!(out.status.success(), "exit {:?}: {}", out.status, String::from_utf8_lossy(&out.stderr));
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn output_formats() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    let q = "SELECT 1 AS a, 'x' AS b UNION ALL SELECT 2, 'y' ORDER BY a";
    assert_eq!(ok(&db, &["sql", "-o", "csv", q]), "a,b\n1,x\n2,y\n");
    assert_eq!(ok(&db, &["sql", "-o", "jsonl", q]), "{\"a\":1,\"b\":\"x\"}\n{\"a\":2,\"b\":\"y\"}\n");
    assert_eq!(ok(&db, &["sql", "-o", "json", q]), "[{\"a\":1,\"b\":\"x\"},{\"a\":2,\"b\":\"y\"}]\n");
    let table = ok(&db, &["sql", q]);
    assert!(table.contains("| a | b |"), "{table}");
    let sql_file = dir.path().join("q.sql");
    std::fs::write(&sql_file, "CREATE TABLE t AS SELECT 1 AS x;\nINSERT INTO t VALUES (2);\nSELECT sum(x) FROM t;")
        .expect("write");
    let out = ok(&db, &["sql", "-o", "csv", "-f", sql_file.to_str().expect("path")]);
    assert!(out.ends_with("3\n"), "{out}");
    user_error(&db, &["sql", "-o", "xml", "SELECT 1"], "xml");
}

#[test]
fn results_written_to_files() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    ok(&db, &["generate", "-n", "300", "--seed", "2", "--embed", "none", "-q"]);
    // Parquet keeps list columns as lists; its extension picks the format.
    let file = dir.path().join("out.parquet");
    let path = file.to_str().expect("path");
    let q = "SELECT uuid, age, hobbies_and_interests_list FROM personas WHERE age >= 30";
    assert_eq!(ok(&db, &["sql", "--out", path, q]), "");
    let reader = std::fs::File::open(&file).expect("open");
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(reader).expect("parquet");
    assert!(matches!(
        reader.schema().field_with_name("hobbies_and_interests_list").expect("field").data_type(),
        arrow::datatypes::DataType::List(_)
    ));
    let rows: usize = reader.build().expect("reader").map(|b| b.expect("batch").num_rows()).sum();
    let expected = ok(&db, &["sql", "-o", "csv", "SELECT count(*) FROM personas WHERE age >= 30"]);
    assert_eq!(rows.to_string(), csv_rows(&expected)[0][0]);
    // -o names the format whatever the extension; csv renders lists as JSON text.
    let file = dir.path().join("out.data");
    ok(
        &db,
        &[
            "sql",
            "-o",
            "csv",
            "--out",
            file.to_str().expect("path"),
            "SELECT uuid, hobbies_and_interests_list FROM personas LIMIT 3",
        ],
    );
    let text = std::fs::read_to_string(&file).expect("read");
    let records = csv_records(&text);
    assert_eq!(records.len(), 3);
    assert!(records.iter().all(|r| r[1].starts_with("[\"")), "{text}");
    // Search results and the table list go to files too.
    let found = dir.path().join("found.jsonl");
    ok(&db, &["search", "nurse", "--mode", "text", "-k", "2", "--out", found.to_str().expect("path")]);
    assert_eq!(std::fs::read_to_string(&found).expect("read").lines().count(), 2);
    // Bad requests, before any work, and nothing half-written.
    user_error(&db, &["sql", "-o", "parquet", "SELECT 1"], "--out FILE");
    user_error(&db, &["sql", "--out", dir.path().join("x.unknown").to_str().expect("path"), "SELECT 1"], "extension");
    let inside = db.join("stolen.parquet");
    user_error(&db, &["sql", "--out", inside.to_str().expect("path"), "SELECT 1"], "inside the database directory");
    assert!(!inside.exists());
    let two = dir.path().join("two.csv");
    user_error(&db, &["sql", "--out", two.to_str().expect("path"), "SELECT 1; SELECT 2"], "one query");
    user_error(&db, &["sql", "--out", dir.path().to_str().expect("path"), "SELECT 1"], "folder");
    let failed = dir.path().join("failed.csv");
    user_error(&db, &["sql", "--out", failed.to_str().expect("path"), "SELECT * FROM nope"], "nope");
    assert!(!failed.exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("list")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("partial"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn embed_adds_replaces_and_resumes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    ok(&db, &["generate", "-n", "300", "--seed", "3", "--embed", "persona", "-q"]);
    let count = |sql: &str| csv_rows(&ok(&db, &["sql", "-o", "csv", sql]))[0].clone();
    // A field without an embedding column gets one, by the table's static model.
    let added = personadb(&db, &["embed", "--field", "culinary_persona", "-q"]);
    let said = String::from_utf8_lossy(&added.stderr);
    assert!(added.status.success(), "{said}");
    assert!(said.contains("culinary_persona_embedding: added by personadb/static-all-MiniLM-L6-v2"), "{said}");
    assert_eq!(
        count("SELECT count(culinary_persona_embedding), count(culinary_persona), min(array_length(culinary_persona_embedding)) FROM personas"),
        vec!["300", "300", "256"]
    );
    let rows = csv_rows(&ok(
        &db,
        &["search", "spicy food", "--field", "culinary_persona", "-k", "3", "-o", "csv", "--columns", "uuid"],
    ));
    assert_eq!(rows.len(), 3);
    // The same again: nothing to do.
    let again = personadb(&db, &["embed", "--field", "culinary_persona", "-q"]);
    assert!(String::from_utf8_lossy(&again.stderr).contains("up to date"));
    // Upgrading a field to the transformer replaces its column; queries follow the new model.
    let before = count("SELECT count(*) FROM personas");
    let replaced = personadb(&db, &["embed", "--field", "persona", "--model", "all-MiniLM-L6-v2", "-q"]);
    let said = String::from_utf8_lossy(&replaced.stderr);
    assert!(replaced.status.success(), "{said}");
    assert!(said.contains("replaced (held personadb/static-all-MiniLM-L6-v2)"), "{said}");
    assert_eq!(count("SELECT count(*) FROM personas"), before);
    assert_eq!(
        count("SELECT min(array_length(persona_embedding)), count(persona_embedding) FROM personas"),
        vec!["384", "300"]
    );
    let hits = csv_rows(&ok(&db, &["search", "retired nurse", "-k", "5", "-o", "csv", "--columns", "uuid"]));
    assert_eq!(hits.len(), 5);
    // Bad requests name what was wrong.
    user_error(&db, &["embed", "--field", "age"], "not a text column");
    user_error(&db, &["embed", "--field", "nope"], "no such column");
    user_error(&db, &["embed", "--field", "persona", "--model", "word2vec"], "word2vec");
    user_error(&db, &["embed", "--field", "persona", "--column", "age"], "not an embedding column");
    user_error(&db, &["embed", "--field", "persona", "--table", "nope"], "nope");

    // Killed part-way, a run started again reuses the fragments it finished.
    let big = dir.path().join("big");
    ok(&big, &["generate", "-n", "400", "--seed", "4", "--embed", "none", "-q"]);
    for seed in 5..9 {
        ok(&big, &["generate", "-n", "400", "--seed", &seed.to_string(), "--embed", "none", "--append", "-q"]);
    }
    let mut child = Command::new(env!("CARGO_BIN_EXE_personadb"))
        .arg("--db")
        .arg(&big)
        .args(["embed", "--field", "persona", "--model", "all-MiniLM-L6-v2", "-q"])
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let catalog = rusqlite::Connection::open(big.join("catalog.sqlite")).expect("catalog");
    let start = std::time::Instant::now();
    let mut checkpoints = 0i64;
    while checkpoints == 0 && start.elapsed() < std::time::Duration::from_secs(120) {
        std::thread::sleep(std::time::Duration::from_millis(20));
        checkpoints = catalog.query_row("SELECT count(*) FROM embed_checkpoints", [], |r| r.get(0)).unwrap_or(0);
        if child.try_wait().expect("wait").is_some() {
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(checkpoints > 0, "no fragment was checkpointed");
    let resumed = personadb(&big, &["embed", "--field", "persona", "--model", "all-MiniLM-L6-v2", "-q"]);
    let said = String::from_utf8_lossy(&resumed.stderr);
    assert!(resumed.status.success(), "{said}");
    if checkpoints < 5 {
        assert!(said.contains("reused from the interrupted run"), "{said}");
    }
    let rows = csv_rows(&ok(
        &big,
        &["sql", "-o", "csv", "SELECT count(*), count(persona_embedding), count(DISTINCT uuid) FROM personas"],
    ));
    assert_eq!(rows[0], vec!["2000", "2000", "2000"]);
}

#[test]
fn quota_generation_balances_strata() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    // 51 states × 2 sexes = 102 strata, 100 each.
    ok(&db, &["generate", "--narrator", "none", "-n", "10200", "--seed", "4", "--strata", "state,sex"]);
    let out = ok(
        &db,
        &[
            "sql",
            "-o",
            "csv",
            "SELECT count(*), min(c), max(c) FROM (SELECT state, sex, count(*) AS c FROM personas GROUP BY state, sex)",
        ],
    );
    assert_eq!(csv_rows(&out)[0], vec!["102", "100", "100"]);
    // Same seed, same rows.
    ok(
        &db,
        &["generate", "--narrator", "none", "-n", "10200", "--seed", "4", "--strata", "state,sex", "--table", "again"],
    );
    let diff =
        ok(&db, &["sql", "-o", "csv", "SELECT count(*) FROM (SELECT * FROM personas EXCEPT SELECT * FROM again)"]);
    assert_eq!(csv_rows(&diff)[0][0], "0");
    // Proportional quotas follow the population, within the evidence.
    ok(
        &db,
        &[
            "generate",
            "--narrator",
            "none",
            "-n",
            "2000",
            "--strata",
            "sex",
            "--allocation",
            "proportional",
            "--given",
            "age >= 85",
            "--table",
            "old",
        ],
    );
    let out = ok(&db, &["sql", "-o", "csv", "SELECT sex, count(*), min(age) FROM old GROUP BY sex ORDER BY sex"]);
    let rows = csv_rows(&out);
    let women: u64 = rows[0][1].parse().expect("count");
    assert_eq!(rows[0][0], "Female");
    assert!((1200..1400).contains(&women), "women among 85+: {women}");
    assert!(rows.iter().all(|r| r[2].parse::<i64>().expect("age") >= 85));
    user_error(
        &db,
        &["generate", "--narrator", "none", "-n", "10", "--strata", "shoe_size", "--table", "x"],
        "shoe_size",
    );
    user_error(
        &db,
        &["generate", "--narrator", "none", "-n", "10", "--strata", "sex", "--allocation", "fair", "--table", "x"],
        "fair",
    );
}

#[test]
fn generate_with_template_narratives() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    ok(
        &db,
        &["generate", "-n", "300", "--seed", "4", "--table", "narrated", "--narrator", "template", "--embed", "none"],
    );
    // Every persona has every narrative field, names itself, and has three skills and hobbies.
    let out = ok(
        &db,
        &[
            "sql",
            "-o",
            "csv",
            "SELECT count(*) FROM narrated WHERE persona LIKE '%' || first_name || '%' AND persona LIKE '%' || CAST(age AS VARCHAR) || '%' \
             AND professional_persona IS NOT NULL AND sports_persona IS NOT NULL AND arts_persona IS NOT NULL \
             AND travel_persona IS NOT NULL AND culinary_persona IS NOT NULL AND cultural_background IS NOT NULL \
             AND skills_and_expertise IS NOT NULL AND hobbies_and_interests IS NOT NULL AND career_goals_and_ambitions IS NOT NULL \
             AND cardinality(skills_and_expertise_list) = 3 AND cardinality(hobbies_and_interests_list) = 3",
        ],
    );
    assert_eq!(csv_rows(&out)[0], vec!["300"]);
    // The same seed gives the same narratives.
    ok(&db, &["generate", "-n", "300", "--seed", "4", "--table", "again", "--narrator", "template", "--embed", "none"]);
    let out = ok(
        &db,
        &[
            "sql",
            "-o",
            "csv",
            "SELECT count(*) FROM narrated n JOIN again a ON n.uuid = a.uuid AND n.persona = a.persona",
        ],
    );
    assert_eq!(csv_rows(&out)[0], vec!["300"]);
    user_error(&db, &["generate", "-n", "10", "--table", "x", "--narrator", "poet"], "narrator");
}

/// `report --narratives` runs the consistency checker over every row: the template narrator's own
/// text passes; text that contradicts its row is counted per rule with examples.
#[test]
fn report_narratives_counts_violations_per_rule() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    ok(&db, &["generate", "-n", "500", "--seed", "12", "--table", "narrated", "--embed", "none"]);
    let clean = ok(&db, &["report", "--narratives", "--table", "narrated"]);
    assert!(clean.contains("500 rows") && clean.contains("| stated_age | 0 |"), "{clean}");
    ok(
        &db,
        &[
            "sql",
            "CREATE TABLE bad AS SELECT uuid, sex, age, employment_status, \
             'A ' || CAST(age + 5 AS VARCHAR) || '-year-old who watches games on TV on TV.' AS persona FROM narrated LIMIT 7",
        ],
    );
    let bad = ok(&db, &["report", "--narratives", "--table", "bad", "--locale", "us", "--examples", "2"]);
    assert!(bad.contains("Rows with at least one violation: **7**"), "{bad}");
    assert!(bad.contains("| stated_age | 7 |") && bad.contains("| doubled_words | 7 |"), "{bad}");
    assert_eq!(bad.matches("-year-old").count(), 2, "two examples of the rule: {bad}");
    user_error(&db, &["report", "--narratives", "--table", "nope", "--locale", "us"], "nope");
}

#[test]
fn generate_with_embedding_columns() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    ok(
        &db,
        &[
            "generate",
            "-n",
            "40",
            "--seed",
            "2",
            "--narrator",
            "template",
            "--embed",
            "persona,culinary_persona",
            "--embed-model",
            "all-MiniLM-L6-v2",
            "-q",
        ],
    );
    // One 384-dimension vector per row and field: the embedding of that row's text.
    let out = ok(
        &db,
        &[
            "sql",
            "-o",
            "csv",
            // (In a subquery: DataFusion 54 names two async calls inside aggregates alike and
            // mixes their results up; projections are unaffected.)
            "SELECT count(*), min(n), max(a) < 0.0001, max(b) < 0.0001 FROM (SELECT array_length(persona_embedding) AS n, \
             cosine_distance(persona_embedding, embed(persona)) AS a, \
             cosine_distance(culinary_persona_embedding, embed(culinary_persona)) AS b FROM personas)",
        ],
    );
    assert_eq!(csv_rows(&out)[0], vec!["40", "384", "true", "true"]);
    // By default: template narratives, and every prose field embedded by the static model of
    // the locale's language (256 dimensions), searched with that model.
    ok(&db, &["generate", "-n", "30", "--seed", "3", "--table", "defaults", "-q"]);
    let out = ok(
        &db,
        &[
            "sql",
            "-o",
            "csv",
            "SELECT array_length(persona_embedding), array_length(career_goals_and_ambitions_embedding), \
             length(culinary_persona) > 20 FROM defaults LIMIT 1",
        ],
    );
    assert_eq!(csv_rows(&out)[0], vec!["256", "256", "true"]);
    let found =
        ok(&db, &["search", "a nurse", "--table", "defaults", "--field", "travel_persona", "-k", "3", "-o", "csv"]);
    assert_eq!(csv_rows(&found).len(), 3, "{found}");
    // Personas inserted from sample_persona get their narratives and embeddings from the table.
    ok(&db, &["sql", "INSERT INTO defaults SELECT * FROM sample_persona(5, 'us', 77)"]);
    let out = ok(
        &db,
        &[
            "sql",
            "-o",
            "csv",
            "SELECT count(*), count(persona), count(persona_embedding), count(hobbies_and_interests_list), \
             sum(CASE WHEN strpos(persona, first_name) > 0 THEN 1 ELSE 0 END) FROM defaults",
        ],
    );
    assert_eq!(csv_rows(&out)[0], vec!["35", "35", "35", "35", "35"]);
    // Appending keeps the columns' model; another model is refused.
    ok(&db, &["generate", "-n", "10", "--seed", "4", "--table", "defaults", "--append", "-q"]);
    user_error(
        &db,
        &["generate", "-n", "10", "--table", "defaults", "--append", "--embed-model", "all-MiniLM-L6-v2"],
        "static-all-MiniLM-L6-v2",
    );
    user_error(
        &db,
        &["generate", "-n", "5", "--table", "y", "--narrator", "template", "--embed", "biography"],
        "biography",
    );
    user_error(&db, &["generate", "--narrator", "none", "-n", "5", "--table", "z", "--embed", "persona"], "--narrator");
}

#[test]
fn search_and_index() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    ok(&db, &["generate", "-n", "400", "--seed", "5", "--narrator", "template", "--embed", "persona", "-q"]);
    let search = |extra: &[&str]| {
        let mut args = vec![
            "search",
            "retired nurse who loves gardening",
            "--field",
            "persona",
            "-o",
            "csv",
            "--columns",
            "uuid,age,state",
        ];
        args.extend_from_slice(extra);
        csv_rows(&ok(&db, &args))
    };
    // k rows, nearest first, every one matching the filter even when few rows match it.
    let matching =
        csv_rows(&ok(&db, &["sql", "-o", "csv", "SELECT count(*) FROM personas WHERE age > 60 AND sex = 'Female'"]))[0]
            [0]
        .parse::<usize>()
        .expect("count");
    assert!(matching >= 10, "{matching}");
    let rows = search(&["-k", "10", "--where", "age > 60 AND sex = 'Female'"]);
    assert_eq!(rows.len(), 10, "{rows:?}");
    let distances: Vec<f64> = rows.iter().map(|r| r[0].parse().expect("distance")).collect();
    assert!(distances.windows(2).all(|w| w[0] <= w[1]), "{distances:?}");
    assert!(rows.iter().all(|r| r[2].parse::<i64>().expect("age") > 60));
    // The same search through the index gives (almost) the same rows; an appended persona
    // written for the query comes first, indexed or not.
    let exact: Vec<String> = search(&["-k", "10"]).iter().map(|r| r[1].clone()).collect();
    // Text mode: BM25 over the field's words, best first, every row holding one of them.
    let words = |extra: &[&str]| {
        let mut args =
            vec!["search", "retired nurse who loves gardening", "-o", "csv", "--columns", "uuid,age", "--width", "0"];
        args.extend_from_slice(extra);
        csv_records(&ok(&db, &args))
    };
    let text_rows = words(&["--mode", "text", "-k", "10", "--where", "age > 60"]);
    assert_eq!(text_rows.len(), 10, "{text_rows:?}");
    let scores: Vec<f64> = text_rows.iter().map(|r| r[0].parse().expect("score")).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]) && scores[9] > 0.0, "{scores:?}");
    assert!(text_rows.iter().all(|r| r[2].parse::<i64>().expect("age") > 60));
    assert!(
        text_rows.iter().all(|r| ["nurs", "retir", "garden", "love"].iter().any(|w| r[3].to_lowercase().contains(w))),
        "{text_rows:?}"
    );
    let scanned: Vec<String> = words(&["--mode", "text", "-k", "10"]).iter().map(|r| r[1].clone()).collect();
    // Hybrid: both rankings fused, best first; a fused score is at most 2/61.
    let hybrid = words(&["--mode", "hybrid", "-k", "10"]);
    assert_eq!(hybrid.len(), 10);
    let fused: Vec<f64> = hybrid.iter().map(|r| r[0].parse().expect("score")).collect();
    assert!(fused.windows(2).all(|w| w[0] >= w[1]) && fused[0] <= 2.0 / 61.0 + 1e-4, "{fused:?}");
    let built = ok(&db, &["index", "--force"]);
    assert!(built.contains("persona_embedding\tIVF_PQ\tbuilt"), "{built}");
    assert!(built.contains("persona\tFTS\tbuilt"), "{built}");
    let indexed: Vec<String> = search(&["-k", "10"]).iter().map(|r| r[1].clone()).collect();
    let overlap = indexed.iter().filter(|u| exact.contains(u)).count();
    assert!(overlap >= 8, "recall@10 of the index on 400 rows: {overlap}/10");
    // Through the full-text index (stemmed: "gardening" matches "garden"), best first, every
    // row holding one of the words; the rows the scan ranked first are among them.
    let by_index = words(&["--mode", "text", "-k", "10"]);
    let scores: Vec<f64> = by_index.iter().map(|r| r[0].parse().expect("score")).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]) && scores.len() == 10, "{scores:?}");
    assert!(
        by_index.iter().all(|r| ["nurs", "retir", "garden", "love"].iter().any(|w| r[3].to_lowercase().contains(w))),
        "{by_index:?}"
    );
    assert!(by_index.iter().any(|r| r[1] == scanned[0]), "{by_index:?} vs {scanned:?}");
    ok(
        &db,
        &[
            "sql",
            "INSERT INTO personas (uuid, age, state, persona) VALUES ('new-1', 71, 'OH', \
             'A retired nurse who spends her days gardening, growing roses and tomatoes in her backyard.')",
        ],
    );
    let rows = search(&["-k", "3"]);
    assert_eq!(rows[0][1], "new-1", "{rows:?}");
    for mode in ["text", "hybrid"] {
        let rows = words(&["--mode", mode, "-k", "3"]);
        assert_eq!(rows[0][1], "new-1", "{mode}: {rows:?}");
    }
    let updated = ok(&db, &["index"]);
    assert!(updated.contains("persona_embedding\tIVF_PQ\tupdated"), "{updated}");
    assert_eq!(search(&["-k", "3"])[0][1], "new-1");
    // Clear errors.
    user_error(&db, &["search", "nurse", "--field", "sports_persona"], "persona_embedding");
    user_error(&db, &["search", "nurse", "--table", "nope"], "nope");
    user_error(&db, &["search", "nurse", "-k", "0"], "between 1 and");
    user_error(&db, &["search", "nurse", "--where", "shoe_size > 3"], "shoe_size");
    user_error(&db, &["search", "nurse", "--where", "age >"], "filter `age >`");
    user_error(&db, &["search", "nurse", "--mode", "fuzzy"], "fuzzy");
    user_error(&db, &["search", "nurse", "--mode", "text", "--field", "age"], "not a text column");
    // A filter is one expression, never SQL text: it cannot end the statement and start another.
    let rows_before = ok(&db, &["sql", "-o", "csv", "SELECT count(*) FROM personas"]);
    for hostile in [
        "1=1 LIMIT 1; DROP TABLE personas; SELECT 1 AS _distance WHERE 1=1",
        "1=1) ; DROP TABLE personas; --",
        "age > 1 ORDER BY 1; DELETE FROM personas",
    ] {
        user_error(&db, &["search", "nurse", "--where", hostile], "filter");
    }
    user_error(&db, &["search", "nur'se", "--table", "personas'; DROP TABLE personas; --"], "invalid table name");
    assert_eq!(ok(&db, &["sql", "-o", "csv", "SELECT count(*) FROM personas"]), rows_before);
    assert!(db.join("personas.lance").is_dir());
    // Thousands of OR terms are refused before they are planned (they used to overflow a stack).
    let huge: Vec<String> = (0..2000).map(|i| format!("age = {}", 18 + i % 80)).collect();
    user_error(&db, &["search", "nurse", "--where", &huge.join(" OR ")], "operators");
}

/// Japanese is written without spaces: text search works through the full-text index that
/// `generate` builds on a Japanese table (ICU word segmentation), so a word inside a sentence is
/// found; hybrid search fuses it with the e5 vectors.
#[test]
fn japanese_text_and_hybrid_search() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    let out = personadb(
        &db,
        &["generate", "--locale", "jp", "-n", "300", "--seed", "11", "--narrator", "template", "--embed", "persona"],
    );
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("index persona (FTS): built"), "{stderr}");
    let search = |query: &str, extra: &[&str]| {
        let mut args = vec!["search", query, "-o", "csv", "--columns", "uuid,prefecture", "--width", "0"];
        args.extend_from_slice(extra);
        csv_records(&ok(&db, &args))
    };
    // 北海道 sits inside 「…は北海道に暮らす…」: every row found holds it, as many as the table has.
    let holders =
        csv_rows(&ok(&db, &["sql", "-o", "csv", "SELECT count(*) FROM personas WHERE persona LIKE '%北海道%'"]))[0][0]
            .parse::<usize>()
            .expect("count");
    assert!(holders >= 3, "{holders}");
    let rows = search("北海道", &["--mode", "text", "-k", "50"]);
    assert_eq!(rows.len(), holders, "{rows:?}");
    assert!(rows.iter().all(|r| r[3].contains("北海道") && r[2] == "北海道"), "{rows:?}");
    let scores: Vec<f64> = rows.iter().map(|r| r[0].parse().expect("score")).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]) && scores[0] > 0.0, "{scores:?}");
    // A filter restricts the rows searched.
    let old = search("北海道", &["--mode", "text", "-k", "50", "--where", "age >= 60"]);
    assert!(old.len() < rows.len() && old.iter().all(|r| r[3].contains("北海道")), "{old:?}");
    // A sentence-long query ranks the rows that share most of it first.
    let asked = search("北海道に暮らす人", &["--mode", "text", "-k", "5"]);
    assert!(asked.iter().all(|r| r[3].contains("北海道")), "{asked:?}");
    // Hybrid: both rankings fused, best first, the text match among the first.
    let hybrid = search("北海道に暮らす人", &["--mode", "hybrid", "-k", "10"]);
    assert_eq!(hybrid.len(), 10);
    let fused: Vec<f64> = hybrid.iter().map(|r| r[0].parse().expect("score")).collect();
    assert!(fused.windows(2).all(|w| w[0] >= w[1]), "{fused:?}");
    assert!(hybrid[0][3].contains("北海道"), "{hybrid:?}");
    // The same through SQL.
    let sql = "SELECT count(*) FROM text_search('personas', 'persona', '北海道', 50)";
    assert_eq!(csv_rows(&ok(&db, &["sql", "-o", "csv", sql]))[0][0], holders.to_string());
}

#[test]
fn hostile_sql_cannot_destroy_data() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    ok(&db, &["generate", "--narrator", "none", "-n", "1000"]);
    // Appending with the same (default) seed adds new personas; it never repeats one.
    ok(&db, &["generate", "--narrator", "none", "-n", "1000", "--append"]);
    let counts = "SELECT count(*), count(DISTINCT uuid) FROM personas";
    assert_eq!(csv_rows(&ok(&db, &["sql", "-o", "csv", counts]))[0], vec!["2000", "2000"]);
    // An INSERT of personas the table already has is refused whole.
    user_error(&db, &["sql", "INSERT INTO personas SELECT * FROM sample_persona(1000, 'us', 0)"], "repeat the persona");
    user_error(&db, &["sql", "INSERT INTO personas SELECT * FROM personas LIMIT 3"], "repeat the persona");
    assert_eq!(csv_rows(&ok(&db, &["sql", "-o", "csv", counts]))[0], vec!["2000", "2000"]);
    ok(&db, &["sql", "INSERT INTO personas SELECT * FROM sample_persona(10, 'us', 99)"]);
    assert_eq!(csv_rows(&ok(&db, &["sql", "-o", "csv", counts]))[0], vec!["2010", "2010"]);
    // Nothing is written inside the database directory by SQL, however the path is spelt.
    let catalog = db.join("catalog.sqlite");
    let inside = [
        catalog.display().to_string(),
        format!("{}/../db/catalog.sqlite", db.join("personas.lance").display()),
        format!("file://{}", catalog.display()),
        format!("{}/x.csv", db.display()),
    ];
    for target in &inside {
        let copy = format!("COPY (SELECT 1 AS a) TO '{target}' STORED AS CSV");
        user_error(&db, &["sql", &copy], "inside the database directory");
    }
    let external = format!("CREATE EXTERNAL TABLE c STORED AS CSV LOCATION '{}'", catalog.display());
    user_error(&db, &["sql", &external], "inside the database directory");
    assert_eq!(csv_rows(&ok(&db, &["sql", "-o", "csv", counts]))[0], vec!["2010", "2010"]);
    // A COPY where no file can be written fails at once with the reason (it used to spin forever).
    user_error(&db, &["sql", "COPY (SELECT 1 AS a) TO '/proc/nope.csv'"], "cannot write a file in /proc");
    let plain = dir.path().join("plain.txt");
    std::fs::write(&plain, "x").expect("write");
    let below = format!("COPY (SELECT 1 AS a) TO '{}/x.csv'", plain.display());
    user_error(&db, &["sql", &below], "cannot create the folder");
    // A script piped into the shell fails when one of its statements does.
    let mut shell = Command::new(env!("CARGO_BIN_EXE_personadb"))
        .arg("--db")
        .arg(&db)
        .arg("shell")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("shell");
    std::io::Write::write_all(&mut shell.stdin.take().expect("stdin"), b"SELEC 1;\nSELECT 1;\n").expect("write");
    let out = shell.wait_with_output().expect("shell");
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stderr).contains("SELEC"));
    // A missing argument is named.
    user_error(&db, &["generate", "--narrator", "none", "--table", "x"], "--count");
    // Conditioning on thousands of OR terms is refused, in SQL and on the command line.
    let huge: Vec<String> = (0..2000).map(|i| format!("age = {}", 18 + i % 80)).collect();
    let given = huge.join(" OR ");
    let sql = format!("SELECT count(*) FROM sample_persona(10, 'us', 1, '{given}')");
    user_error(&db, &["sql", &sql], "operators");
    let huge: Vec<String> = (0..10_000).map(|i| format!("age = {}", 18 + i % 80)).collect();
    user_error(
        &db,
        &["generate", "--narrator", "none", "-n", "10", "--table", "t", "--given", &huge.join(" OR ")],
        "operators",
    );
}

#[test]
fn locales_are_listed_and_named_by_alias() {
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    let out = ok(&db, &["locales"]);
    assert!(out.contains("us (en_US): US adults"), "{out}");
    assert!(out.contains("  columns: uuid, first_name, middle_name, last_name, sex, age"), "{out}");
    assert!(out.contains("U.S. Census Bureau"), "{out}");
    let json: serde_json::Value = serde_json::from_str(&ok(&db, &["locales", "--json"])).expect("json");
    let us = json.as_array().and_then(|a| a.iter().find(|l| l["name"] == "us")).expect("us listed");
    assert_eq!(us["aliases"][0], "en_US");
    user_error(
        &db,
        &["generate", "--narrator", "none", "-n", "5", "--locale", "xx"],
        "unknown locale 'xx' (available: br (pt_BR), in (en_IN, hi_Deva_IN, hi_Latn_IN), jp (ja_JP), sg (en_SG), us (en_US))",
    );
    user_error(&db, &["sql", "SELECT * FROM sample_persona(5, 'zz', 1)"], "unknown locale 'zz'");
    // An alias names the same pack: same rows, and the table records the pack's name.
    ok(&db, &["generate", "--narrator", "none", "-n", "50", "--locale", "en-US", "--seed", "3", "--table", "a"]);
    ok(&db, &["generate", "--narrator", "none", "-n", "50", "--locale", "us", "--seed", "3", "--table", "b"]);
    let same = "SELECT count(*) FROM a JOIN b ON a.uuid = b.uuid AND a.occupation = b.occupation";
    assert_eq!(csv_rows(&ok(&db, &["sql", "-o", "csv", same]))[0][0], "50");
    assert!(ok(&db, &["tables", "-o", "csv"]).lines().any(|l| l.starts_with("a,50,") && l.contains(",us,")));
    // A pack that writes several languages: the same persons, narratives in the chosen one, and
    // the table records the alias that selects it.
    let in_table = |table: &str, language: &[&str]| {
        let mut args =
            vec!["generate", "--embed", "none", "-n", "20", "--locale", "in", "--seed", "3", "--table", table];
        args.extend_from_slice(language);
        ok(&db, &args);
    };
    in_table("h", &["--language", "hi-Deva"]);
    in_table("e", &[]);
    assert!(ok(&db, &["tables", "-o", "csv"]).lines().any(|l| l.starts_with("h,20,") && l.contains(",hi_Deva_IN,")));
    let same = "SELECT count(*) FROM h JOIN e ON h.uuid = e.uuid AND h.district = e.district \
                AND h.persona <> e.persona AND h.persona LIKE '%है%' AND e.persona NOT LIKE '%है%'";
    assert_eq!(csv_rows(&ok(&db, &["sql", "-o", "csv", same]))[0][0], "20");
    user_error(
        &db,
        &["generate", "-n", "5", "--locale", "in", "--language", "ja", "--table", "j"],
        "locale 'in' has no narrative language 'ja' (languages: en, hi-Deva, hi-Latn)",
    );
}

/// A database the user may read but not write (another user's, a read-only mount) answers
/// queries, refuses changes with a clear error, and is left exactly as it was. As root, the
/// commands run as `nobody` (root may write anything); otherwise the files lose write permission.
#[test]
fn read_only_database_is_queryable_and_untouched() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().expect("tempdir");
    let db = dir.path().join("db");
    ok(&db, &["generate", "-n", "300", "--narrator", "none", "--seed", "4"]);
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout == b"0\n").unwrap_or(false);
    let mut paths = vec![dir.path().to_path_buf()];
    let mut stack = vec![db.clone()];
    while let Some(p) = stack.pop() {
        paths.push(p.clone());
        if p.is_dir() {
            stack.extend(std::fs::read_dir(&p).expect("read_dir").map(|e| e.expect("entry").path()));
        }
    }
    for p in &paths {
        let mode = if p.is_dir() { 0o555 } else { 0o444 };
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(if root { mode | 0o200 } else { mode }))
            .expect("chmod");
    }
    let snapshot = || {
        let mut listing: Vec<(String, u64, std::time::SystemTime)> = paths
            .iter()
            .filter(|p| p.is_file())
            .map(|p| {
                let m = std::fs::metadata(p).expect("metadata");
                (p.display().to_string(), m.len(), m.modified().expect("mtime"))
            })
            .collect();
        listing.sort();
        (listing, std::fs::read_dir(&db).expect("db").count())
    };
    let before = snapshot();
    // As root: a copy of the binary that `nobody` may run, run as `nobody`.
    let exe = if root {
        let copy = dir.path().join("personadb");
        std::fs::copy(env!("CARGO_BIN_EXE_personadb"), &copy).expect("copy binary");
        std::fs::set_permissions(&copy, std::fs::Permissions::from_mode(0o555)).expect("chmod");
        copy
    } else {
        std::path::PathBuf::from(env!("CARGO_BIN_EXE_personadb"))
    };
    let run = |args: &[&str]| -> Output {
        let mut command = if root {
            let mut c = Command::new("setpriv");
            c.args(["--reuid=65534", "--regid=65534", "--clear-groups"]).arg(&exe);
            c
        } else {
            Command::new(&exe)
        };
        command.arg("--db").arg(&db).args(args).env("HOME", dir.path()).output().expect("run personadb")
    };
    let out = run(&["sql", "SELECT count(*) AS n, count(DISTINCT uuid) AS u FROM personas", "-o", "csv"]);
    assert!(out.status.success(), "a read-only database answers queries: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "n,u\n300,300\n");
    let out = run(&["tables"]);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(String::from_utf8_lossy(&out.stdout).contains("personas"));
    let out = run(&["check"]);
    assert!(out.status.success(), "check reads a read-only database: {}", String::from_utf8_lossy(&out.stderr));
    for args in [
        &["sql", "CREATE TABLE t AS SELECT 1 AS a"][..],
        &["sql", "INSERT INTO personas SELECT * FROM sample_persona(2, 'us', 9)"],
        &["sql", "DROP TABLE personas"],
        &["generate", "-n", "10", "--narrator", "none", "--append"],
        &["check", "--repair"],
    ] {
        let out = run(args);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {stderr}");
        assert_eq!(stderr.trim_end().lines().count(), 1, "{args:?}: {stderr}");
        assert!(stderr.contains("is read-only here"), "{args:?}: {stderr}");
    }
    assert_eq!(snapshot(), before, "nothing in the database changed");
    for p in &paths {
        let _ = std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755));
    }
}
