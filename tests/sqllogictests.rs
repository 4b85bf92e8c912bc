//! Runs every `sql/**/*.slt` file against a fresh personadb database, twice: in a plain session
//! (as `personadb sql` runs statements) and in a session with a cache of decoded columns (as
//! `serve` and `shell` do), which must give the same results.
//!
//! `cargo test --test sqllogictests` checks; `cargo test --test sqllogictests -- --complete`
//! rewrites the expected output in place (review the diff). Extra arguments filter files by
//! substring.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, RecordBatch};
use arrow::datatypes::DataType;
use arrow::util::display::{ArrayFormatter, FormatOptions};
use async_trait::async_trait;
use personadb::{Database, PersonaSession};
use sqllogictest::{DBOutput, DefaultColumnType};

struct PersonaDb {
    session: PersonaSession,
    _dir: Arc<tempfile::TempDir>,
}

#[derive(Debug)]
struct SltError(String);
impl std::fmt::Display for SltError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}
impl std::error::Error for SltError {}

#[async_trait]
impl sqllogictest::AsyncDB for PersonaDb {
    type Error = SltError;
    type ColumnType = DefaultColumnType;

    async fn run(&mut self, sql: &str) -> Result<DBOutput<DefaultColumnType>, SltError> {
        let batches = self.session.sql(sql).await.map_err(|e| SltError(e.to_string()))?;
        let schema = match batches.first() {
            Some(b) => b.schema(),
            None => return Ok(DBOutput::StatementComplete(0)),
        };
        if schema.fields().is_empty() {
            return Ok(DBOutput::StatementComplete(0));
        }
        let types = schema.fields().iter().map(|f| column_type(f.data_type())).collect();
        let mut rows = Vec::new();
        for batch in &batches {
            rows.extend(format_rows(batch).map_err(SltError)?);
        }
        Ok(DBOutput::Rows { types, rows })
    }

    async fn shutdown(&mut self) {}

    fn engine_name(&self) -> &str {
        "personadb"
    }
}

fn column_type(t: &DataType) -> DefaultColumnType {
    match t {
        DataType::Int8
        | DataType::Int16
        | DataType::Int32
        | DataType::Int64
        | DataType::UInt8
        | DataType::UInt16
        | DataType::UInt32
        | DataType::UInt64 => DefaultColumnType::Integer,
        DataType::Float16 | DataType::Float32 | DataType::Float64 | DataType::Decimal128(_, _) => {
            DefaultColumnType::FloatingPoint
        }
        _ => DefaultColumnType::Text,
    }
}

fn format_rows(batch: &RecordBatch) -> Result<Vec<Vec<String>>, String> {
    let options = FormatOptions::default().with_null("NULL");
    let formatters: Vec<_> = batch
        .columns()
        .iter()
        .map(|c| ArrayFormatter::try_new(c.as_ref(), &options))
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let mut rows = Vec::with_capacity(batch.num_rows());
    for r in 0..batch.num_rows() {
        let mut row = Vec::with_capacity(formatters.len());
        for (c, f) in formatters.iter().enumerate() {
            let col = batch.column(c);
            let text = match col.data_type() {
                DataType::Float32 | DataType::Float64 if col.is_valid(r) => {
                    // Round floats so results are stable across platforms.
                    let v: f64 = f.value(r).to_string().parse().unwrap_or(f64::NAN);
                    let s = format!("{v:.6}");
                    s.trim_end_matches('0').trim_end_matches('.').to_string()
                }
                _ => f.value(r).to_string(),
            };
            row.push(if text.is_empty() { "(empty)".to_string() } else { text });
        }
        rows.push(row);
    }
    Ok(rows)
}

fn slt_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            slt_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "slt") {
            out.push(p);
        }
    }
}

fn main() -> std::process::ExitCode {
    // Flags cargo passes through (--quiet, -q, --nocapture, ...) are not file filters.
    let args: Vec<String> = std::env::args().skip(1).collect();
    let complete = args.iter().any(|a| a == "--complete");
    let filters: Vec<&String> = args.iter().filter(|a| !a.starts_with('-')).collect();
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sql");
    let mut files = Vec::new();
    slt_files(&root, &mut files);
    files.sort();
    files.retain(|f| filters.is_empty() || filters.iter().any(|s| f.to_string_lossy().contains(s.as_str())));

    if files.is_empty() {
        println!("sqllogictests: no .slt file under {} matches {filters:?}", root.display());
        return std::process::ExitCode::FAILURE;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("tokio runtime");
    let (mut passed, mut failed) = (0, 0);
    // --complete rewrites from the plain session only.
    let modes: &[bool] = if complete { &[false] } else { &[false, true] };
    for &cached in modes {
        for file in &files {
            let name = file.strip_prefix(&root).unwrap_or(file).display().to_string();
            let name = if cached { format!("{name} (cached session)") } else { name };
            let result = runtime.block_on(run_file(file, complete, cached));
            match result {
                Ok(()) => {
                    passed += 1;
                    println!("ok      {name}");
                }
                Err(e) => {
                    failed += 1;
                    println!("FAILED  {name}\n{e}");
                }
            }
        }
    }
    println!("sqllogictests: {passed} passed, {failed} failed");
    if failed == 0 {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}

async fn run_file(file: &Path, complete: bool, cached: bool) -> Result<(), String> {
    // One cache per file, shared by its connections (as a server shares one).
    let cache = cached.then(|| personadb::hot::HotCache::new(256 << 20));
    let dir = Arc::new(tempfile::tempdir().map_err(|e| e.to_string())?);
    let make = {
        let dir = dir.clone();
        move || {
            let dir = dir.clone();
            let cache = cache.clone();
            async move {
                let db = Database::open(dir.path().join("db")).map_err(|e| SltError(e.to_string()))?;
                let session = PersonaSession::with_cache(db, cache).map_err(|e| SltError(e.to_string()))?;
                Ok::<_, SltError>(PersonaDb { session, _dir: dir })
            }
        }
    };
    let mut runner = sqllogictest::Runner::new(make);
    // Files refer to scratch paths as ${__TEST_DIR__} (sqllogictest's own per-file folder) and
    // to the database directory as ${__DB_DIR__}.
    runner.set_var("__TEST_DIR__".into(), dir.path().display().to_string());
    runner.set_var("__DB_DIR__".into(), dir.path().join("db").display().to_string());
    runner.with_column_validator(sqllogictest::default_column_validator);
    if complete {
        runner
            .update_test_file(
                file,
                " ",
                sqllogictest::default_validator,
                sqllogictest::default_normalizer,
                sqllogictest::strict_column_validator,
            )
            .await
            .map_err(|e| e.to_string())
    } else {
        runner.run_file_async(file).await.map_err(|e| e.display(true).to_string())
    }
}
