//! Generation and SQL through the command line: census shares, seeds, inserts, COPY, errors,
//! pipes, output formats and files.

use super::*;

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
    // Text is written as plain strings (SQL reads it as views; readers need not know them).
    let state = reader.schema().field_with_name("state").expect("state").data_type().clone();
    assert_eq!(state, arrow::datatypes::DataType::Utf8, "COPY writes text as Utf8");
    let rows: usize = reader.build().expect("reader").map(|b| b.expect("batch").num_rows()).sum();
    let expected = ok(&db, &["sql", "-o", "csv", "SELECT count(*) FROM personas WHERE age >= 65"]);
    assert_eq!(rows.to_string(), csv_rows(&expected)[0][0]);
    // So does -o parquet --out.
    let out = dir.path().join("out2.parquet");
    ok(&db, &["sql", "--out", out.to_str().expect("path"), "SELECT state FROM personas LIMIT 5"]);
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(&out).expect("open"),
    )
    .expect("parquet");
    assert_eq!(reader.schema().field(0).data_type(), &arrow::datatypes::DataType::Utf8);
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
