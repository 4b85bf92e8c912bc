//! `generate`: sample personas from a locale model and write them to a table, as a recorded
//! run. Rows are committed in chunks; each committed chunk is entered in the run's ledger.

use std::time::Instant;

use serde::Serialize;

use crate::backends::{block_aligned, resolve_threads};
use crate::database::{Database, WriteKind};
use crate::error::{Error, Result};
use crate::locale;
use crate::model::Encoding;

/// What to generate. Build with [`GenerateOptions::new`] and the setters; defaults are stated
/// on each setter.
#[derive(Debug, Clone, Serialize)]
pub struct GenerateOptions {
    pub table: String,
    pub locale: String,
    pub n: u64,
    pub seed: u64,
    pub given: String,
    #[serde(skip)]
    pub kind: WriteKind,
    pub batch_rows: usize,
    pub commit_rows: u64,
    pub threads: usize,
}

impl GenerateOptions {
    /// `n` personas of `locale` into table `personas`, seed 0, no evidence, creating the table.
    pub fn new(locale: impl Into<String>, n: u64) -> Self {
        GenerateOptions {
            table: "personas".into(),
            locale: locale.into(),
            n,
            seed: 0,
            given: String::new(),
            kind: WriteKind::Create,
            batch_rows: 65_536,
            commit_rows: 1 << 20,
            threads: 0,
        }
    }
    /// Target table (default `personas`).
    pub fn table(mut self, table: impl Into<String>) -> Self {
        self.table = table.into();
        self
    }
    /// Random seed (default 0).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Evidence to condition on, a SQL boolean expression (default none).
    pub fn given(mut self, given: impl Into<String>) -> Self {
        self.given = given.into();
        self
    }
    /// Create (default), append to, or replace the table.
    pub fn kind(mut self, kind: WriteKind) -> Self {
        self.kind = kind;
        self
    }
    /// Rows per sampled batch (default 65,536; rounded up to whole blocks).
    pub fn batch_rows(mut self, rows: usize) -> Self {
        self.batch_rows = rows;
        self
    }
    /// Rows per commit (default 1,048,576).
    pub fn commit_rows(mut self, rows: u64) -> Self {
        self.commit_rows = rows;
        self
    }
    /// Sampling threads (default 0: all cores).
    pub fn threads(mut self, threads: usize) -> Self {
        self.threads = threads;
        self
    }
}

/// What a generation did.
#[derive(Debug, Clone, PartialEq)]
pub struct GenerateReport {
    pub run_id: i64,
    pub table: String,
    pub rows: u64,
    pub table_rows: u64,
    pub version: u64,
    pub seconds: f64,
}

/// Runs a generation.
pub async fn generate(db: &Database, options: &GenerateOptions) -> Result<GenerateReport> {
    let start = Instant::now();
    Database::validate_name(&options.table)?;
    if options.n == 0 {
        return Err(Error::InvalidArgument { name: "n".into(), reason: "must be at least 1".into() });
    }
    if options.commit_rows == 0 || options.batch_rows == 0 {
        return Err(Error::InvalidArgument { name: "batch size".into(), reason: "must be at least 1".into() });
    }
    let model = locale::model(&options.locale)?;
    let evidence = model.evidence(&options.given)?;
    let exists = db.table_exists(&options.table);
    match (options.kind, exists) {
        (WriteKind::Create, true) => {
            let rows = db.open_table(&options.table).await?.count_rows(None).await?;
            return Err(Error::InvalidArgument {
                name: format!("table '{}'", options.table),
                reason: format!("it already exists ({rows} rows); pass --append to add to it or --replace to overwrite it"),
            });
        }
        (WriteKind::Append, false) => return Err(Error::TableNotFound { name: options.table.clone() }),
        _ => {}
    }
    let config = serde_json::to_string(options).unwrap_or_default();
    let run_id = db.catalog()?.start_run(&options.table, &options.locale, options.seed, options.n, &config)?;
    let result = write_chunks(db, options, &model, evidence.as_ref(), run_id).await;
    let seconds = start.elapsed().as_secs_f64();
    match result {
        Ok((version, table_rows)) => {
            db.catalog()?.finish_run(run_id, "done", seconds, None)?;
            Ok(GenerateReport { run_id, table: options.table.clone(), rows: options.n, table_rows, version, seconds })
        }
        Err(e) => {
            // Record the failure; the original error is what the user needs to see.
            if let Ok(c) = db.catalog() {
                let _ = c.finish_run(run_id, "failed", seconds, Some(&e.to_string()));
            }
            Err(e)
        }
    }
}

async fn write_chunks(
    db: &Database,
    options: &GenerateOptions,
    model: &crate::model::LocaleModel,
    evidence: Option<&crate::model::Evidence>,
    run_id: i64,
) -> Result<(u64, u64)> {
    let batch_rows = block_aligned(options.batch_rows) as u64;
    // Chunks are whole batches, so chunk boundaries fall on block boundaries.
    let chunk_rows = options.commit_rows.div_ceil(batch_rows).max(1) * batch_rows;
    let threads = resolve_threads(options.threads);
    let schema = model.schema();
    let mut version = 0;
    let mut first = 0u64;
    let mut chunk_index = 0u64;
    while first < options.n {
        let chunk_end = (first + chunk_rows).min(options.n);
        let mut batches = Vec::new();
        let mut row = first;
        while row < chunk_end {
            let rows = (chunk_end - row).min(batch_rows) as usize;
            batches.push(model.sample_batch(options.seed, row, rows, evidence, Encoding::Plain, threads)?);
            row += rows as u64;
        }
        let kind = if chunk_index == 0 { options.kind } else { WriteKind::Append };
        let locale = Some(options.locale.as_str());
        let (dataset, rows) = db.write_batches(&options.table, schema.clone(), batches, kind, locale).await?;
        version = dataset.version().version;
        db.catalog()?.record_batch(run_id, chunk_index, rows, version)?;
        first = chunk_end;
        chunk_index += 1;
    }
    let table_rows = db.open_table(&options.table).await?.count_rows(None).await? as u64;
    Ok((version, table_rows))
}
