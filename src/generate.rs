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
    /// Columns whose combinations get quotas (empty: no quotas).
    pub strata: Vec<String>,
    pub allocation: Allocation,
    /// Narrator writing the narrative columns ("template"), or none for structured columns only.
    pub narrator: Option<String>,
}

/// How quota generation divides `n` among strata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Allocation {
    /// The same count for every stratum (remainder to the first strata in order).
    Equal,
    /// Counts proportional to each stratum's probability under the model (largest remainder).
    Proportional,
}

impl std::str::FromStr for Allocation {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s {
            "equal" => Ok(Allocation::Equal),
            "proportional" => Ok(Allocation::Proportional),
            other => Err(format!("unknown allocation '{other}' (equal, proportional)")),
        }
    }
}

/// Splits `n` over `weights` by the largest-remainder method.
pub fn largest_remainder(n: u64, weights: &[f64]) -> Vec<u64> {
    let total: f64 = weights.iter().sum();
    if weights.is_empty() || total <= 0.0 {
        return vec![0; weights.len()];
    }
    let exact: Vec<f64> = weights.iter().map(|w| n as f64 * w / total).collect();
    let mut counts: Vec<u64> = exact.iter().map(|e| e.floor() as u64).collect();
    let assigned: u64 = counts.iter().sum();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    // Largest fractional part first; ties go to the earlier stratum, so the result is stable.
    order.sort_by(|a, b| (exact[*b] - exact[*b].floor()).total_cmp(&(exact[*a] - exact[*a].floor())).then(a.cmp(b)));
    for i in order.into_iter().take((n - assigned.min(n)) as usize) {
        counts[i] += 1;
    }
    counts
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
            strata: Vec::new(),
            allocation: Allocation::Equal,
            narrator: None,
        }
    }
    /// Also write the narrative fields with this narrator ("template"); default none
    /// (structured columns only).
    pub fn narrator(mut self, narrator: Option<String>) -> Self {
        self.narrator = narrator;
        self
    }
    /// Quota generation: a count for every combination of these columns (default none).
    pub fn strata(mut self, columns: Vec<String>, allocation: Allocation) -> Self {
        self.strata = columns;
        self.allocation = allocation;
        self
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
    let segments = segments(&model, options)?;
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
    let result = write_chunks(db, options, &model, &segments, run_id).await;
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

/// A run of rows drawn from one (possibly conditioned) distribution with one seed.
struct Segment {
    evidence: Option<crate::model::Evidence>,
    seed: u64,
    rows: u64,
}

/// The segments of a generation: one for a plain run, one per stratum for quota generation.
fn segments(model: &crate::model::LocaleModel, options: &GenerateOptions) -> Result<Vec<Segment>> {
    if options.strata.is_empty() {
        return Ok(vec![Segment { evidence: model.evidence(&options.given)?, seed: options.seed, rows: options.n }]);
    }
    let mut include = Vec::new();
    for column in &options.strata {
        let (idx, _) = model.node(column).filter(|_| model.columns.iter().any(|c| c.name() == column)).ok_or_else(|| {
            Error::InvalidArgument {
                name: "strata".into(),
                reason: format!("`{column}` is not a persona attribute of locale '{}'", model.locale),
            }
        })?;
        include.push(idx);
    }
    let joint = crate::model::evidence::marginal(model, &include, &options.given)?;
    let width = joint.nodes.len();
    let positions: Vec<usize> = include.iter().map(|n| joint.nodes.iter().position(|m| m == n).unwrap_or(0)).collect();
    let mut strata: std::collections::BTreeMap<Vec<u32>, f64> = std::collections::BTreeMap::new();
    for (cell, w) in joint.weights.iter().enumerate() {
        if *w > 0.0 {
            let key = positions.iter().map(|p| joint.combos[cell * width + p]).collect();
            *strata.entry(key).or_default() += w;
        }
    }
    if strata.is_empty() {
        return Err(Error::ImpossibleEvidence { locale: model.locale.clone(), given: options.given.clone() });
    }
    let weights: Vec<f64> = match options.allocation {
        Allocation::Equal => vec![1.0; strata.len()],
        Allocation::Proportional => strata.values().copied().collect(),
    };
    let quotas = largest_remainder(options.n, &weights);
    let mut out = Vec::new();
    for (index, (key, quota)) in strata.keys().zip(quotas).enumerate() {
        if quota == 0 {
            continue;
        }
        let mut clauses: Vec<String> = key
            .iter()
            .zip(&include)
            .map(|(code, n)| {
                let node = &model.nodes[*n];
                let value = &node.values[*code as usize];
                match node.kind {
                    crate::model::ValueKind::Integer => format!("\"{}\" = {value}", node.name),
                    crate::model::ValueKind::Category => format!("\"{}\" = '{}'", node.name, value.replace('\'', "''")),
                }
            })
            .collect();
        if !options.given.trim().is_empty() {
            clauses.push(format!("({})", options.given));
        }
        // Each stratum draws from its own stream family, keyed by the seed and its index.
        let seed = splitmix64(options.seed ^ splitmix64(index as u64 + 1));
        out.push(Segment { evidence: model.evidence(&clauses.join(" AND "))?, seed, rows: quota });
    }
    Ok(out)
}

fn splitmix64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

async fn write_chunks(
    db: &Database,
    options: &GenerateOptions,
    model: &crate::model::LocaleModel,
    segments: &[Segment],
    run_id: i64,
) -> Result<(u64, u64)> {
    let batch_rows = block_aligned(options.batch_rows) as u64;
    let threads = resolve_threads(options.threads);
    let narrator = match &options.narrator {
        Some(name) => Some(crate::narrate::by_name(name, &options.locale)?),
        None => None,
    };
    let schema = match narrator {
        Some(_) => {
            let fields: Vec<arrow::datatypes::FieldRef> =
                model.schema().fields().iter().chain(crate::narrate::narrative_schema().fields().iter()).cloned().collect();
            std::sync::Arc::new(arrow::datatypes::Schema::new(fields))
        }
        None => model.schema(),
    };
    let mut version = 0;
    let mut chunk_index = 0u64;
    let mut pending: Vec<arrow::record_batch::RecordBatch> = Vec::new();
    let mut pending_rows = 0u64;
    let locale = Some(options.locale.as_str());
    for segment in segments {
        let mut row = 0u64;
        while row < segment.rows {
            let rows = (segment.rows - row).min(batch_rows) as usize;
            let batch = model.sample_batch(segment.seed, row, rows, segment.evidence.as_ref(), Encoding::Plain, threads)?;
            let batch = match &narrator {
                Some(n) => {
                    let narrated = n.narrate(&batch, segment.seed).await?;
                    if let Some((row, reason)) = narrated.failures.first() {
                        return Err(Error::InvalidArgument { name: "narrator".into(), reason: format!("row {row}: {reason}") });
                    }
                    let columns = batch.columns().iter().chain(narrated.batch.columns()).cloned().collect();
                    arrow::record_batch::RecordBatch::try_new(schema.clone(), columns)?
                }
                None => batch,
            };
            pending.push(batch);
            pending_rows += rows as u64;
            row += rows as u64;
            if pending_rows >= options.commit_rows {
                let kind = if chunk_index == 0 { options.kind } else { WriteKind::Append };
                let batches = std::mem::take(&mut pending);
                let (dataset, rows) = db.write_batches(&options.table, schema.clone(), batches, kind, locale).await?;
                version = dataset.version().version;
                db.catalog()?.record_batch(run_id, chunk_index, rows, version)?;
                chunk_index += 1;
                pending_rows = 0;
            }
        }
    }
    if pending_rows > 0 || chunk_index == 0 {
        let kind = if chunk_index == 0 { options.kind } else { WriteKind::Append };
        let (dataset, rows) = db.write_batches(&options.table, schema.clone(), pending, kind, locale).await?;
        version = dataset.version().version;
        db.catalog()?.record_batch(run_id, chunk_index, rows, version)?;
    }
    let table_rows = db.open_table(&options.table).await?.count_rows(None).await? as u64;
    Ok((version, table_rows))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn largest_remainder_sums_to_n_and_is_fair() {
        assert_eq!(largest_remainder(10, &[1.0, 1.0, 1.0]), vec![4, 3, 3]);
        assert_eq!(largest_remainder(100, &[0.5, 0.3, 0.2]), vec![50, 30, 20]);
        let q = largest_remainder(7, &[0.26, 0.26, 0.48]);
        assert_eq!(q.iter().sum::<u64>(), 7);
        assert_eq!(q, vec![2, 2, 3]);
        assert_eq!(largest_remainder(5, &[]), Vec::<u64>::new());
    }
}
