//! `generate`: sample personas from a locale model and write them to a table, as a recorded
//! run. Rows are committed in chunks; each committed chunk is entered in the run's ledger.
//!
//! Kept whole (about 790 lines): the run (options, quotas, narration, embedding, commits, ledger,
//! resume) is one pipeline and reads top to bottom.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::catalog::FailureRecord;
use crate::llm::{LlmConfig, UsageSnapshot};
use crate::narrate::{Narrator, NarratorKind};

use crate::backends::{block_aligned, resolve_threads};
use crate::database::{Database, WriteKind};
use crate::error::{Error, Result};
use crate::locale;
use crate::model::{Encoding, BLOCK_ROWS};

/// What to generate. Build with [`GenerateOptions::new`] and the setters; defaults are stated
/// on each setter. A run's options are recorded in the catalog (without any API key), which is
/// what `generate --resume` reads back.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct GenerateOptions {
    pub table: String,
    pub locale: String,
    pub n: u64,
    pub seed: u64,
    pub given: String,
    pub kind: WriteKind,
    pub batch_rows: usize,
    pub commit_rows: u64,
    pub threads: usize,
    /// Columns whose combinations get quotas (empty: no quotas).
    pub strata: Vec<String>,
    pub allocation: Allocation,
    /// Narrator writing the narrative columns, or none for structured columns only.
    pub narrator: Option<NarratorKind>,
    /// The narrative language (`hi-Deva`), for packs that write several; default: the one the
    /// locale name selects (`hi_Deva_IN`), else the pack's first. The same persons whatever
    /// the language: only the narratives change.
    #[serde(default)]
    pub language: Option<String>,
    /// The LLM narrator's settings (for `narrator = "llm"`; default: [`LlmConfig::load`]).
    #[serde(default)]
    pub llm: Option<LlmConfig>,
    /// Narrative prose fields that also get a `<field>_embedding` column (default none).
    #[serde(default)]
    pub embed: Vec<String>,
    /// The embedding model of those columns (default: the model a table's columns already
    /// have, else the static model distilled from the locale language's transformer).
    #[serde(default)]
    pub embed_model: Option<String>,
    /// How embedding columns store their numbers (an append keeps the table's).
    pub vector_type: crate::columns::VectorType,
    /// Show a progress bar on standard error when it is a terminal.
    #[serde(skip)]
    pub progress: bool,
    /// Rows the table had when an appending run started (set by [`generate`], recorded with
    /// the run so `--resume` samples the same rows). An append draws from streams keyed by
    /// the seed *and* this count, so appending with the seed of an earlier write adds new
    /// personas instead of repeating them; a fresh table (0) keeps "same seed, same rows".
    #[serde(default)]
    pub append_base: u64,
    /// Run on a Ballista cluster (`df://HOST:PORT`): the executors make and write the rows,
    /// this process commits them (default: here).
    #[serde(default)]
    pub cluster: Option<String>,
}

/// How quota generation divides `n` among strata (the same type `stratified_sample` uses).
pub use personadb_udfs::Allocation;

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
            language: None,
            llm: None,
            embed: Vec::new(),
            embed_model: None,
            vector_type: crate::columns::VectorType::default(),
            progress: false,
            append_base: 0,
            cluster: None,
        }
    }
    /// Also write the narrative fields with this narrator; default none (structured columns
    /// only).
    pub fn narrator(mut self, narrator: Option<NarratorKind>) -> Self {
        self.narrator = narrator;
        self
    }
    /// Settings of the LLM narrator (default: from the environment / `PERSONADB_LLM_CONFIG`).
    pub fn llm(mut self, config: LlmConfig) -> Self {
        self.llm = Some(config);
        self
    }
    /// Also write a `<field>_embedding` column (the setup's embedding model) for each of these
    /// narrative prose fields (default none; needs a narrator).
    pub fn embed(mut self, fields: Vec<String>) -> Self {
        self.embed = fields;
        self
    }
    /// The embedding model of the `embed` fields, by name or alias (default: what the table's
    /// columns already hold, else the static model of the locale's language).
    pub fn embed_model(mut self, model: Option<String>) -> Self {
        self.embed_model = model;
        self
    }
    /// How embedding columns store their numbers (default float16).
    pub fn vector_type(mut self, vector_type: crate::columns::VectorType) -> Self {
        self.vector_type = vector_type;
        self
    }
    /// Make and write the rows on a Ballista cluster, `df://HOST:PORT` (default: here). The
    /// table's database must be one every executor reaches (`s3://`, or a directory they share).
    pub fn cluster(mut self, address: Option<String>) -> Self {
        self.cluster = address;
        self
    }
    /// Show a progress bar on standard error when it is a terminal (default off).
    pub fn progress(mut self, show: bool) -> Self {
        self.progress = show;
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
    /// Rows of the run (all of them, including rows committed before a resume).
    pub rows: u64,
    /// Rows this invocation wrote (less than `rows` when resuming).
    pub written_now: u64,
    pub table_rows: u64,
    pub version: u64,
    pub seconds: f64,
    /// Personas whose narration failed (they are in the table with null narratives).
    pub failed: u64,
    /// Failures by kind: (kind, count, one example reason), most frequent first.
    pub failure_kinds: Vec<(String, u64, String)>,
    /// LLM traffic of this invocation.
    pub usage: Option<UsageSnapshot>,
    /// The same per endpoint (one entry per LLM server).
    pub endpoints: Vec<crate::llm::EndpointUsage>,
}

/// Runs a generation.
pub async fn generate(db: &Database, options: &GenerateOptions) -> Result<GenerateReport> {
    let start = Instant::now();
    Database::validate_name(&options.table)?;
    db.require_writable()?;
    if options.n == 0 {
        return Err(Error::InvalidArgument { name: "n".into(), reason: "must be at least 1".into() });
    }
    if options.commit_rows == 0 || options.batch_rows == 0 {
        return Err(Error::InvalidArgument { name: "batch size".into(), reason: "must be at least 1".into() });
    }
    validate_embed(options)?;
    check_embedding_model(db, options)?;
    if let Some(address) = &options.cluster {
        crate::cluster::parse_address(address)?;
    }
    if options.cluster.is_some() && options.kind == WriteKind::Replace {
        return Err(Error::InvalidArgument {
            name: "--cluster".into(),
            reason: "a cluster run creates a table or appends to one; drop the table first, or write a new one".into(),
        });
    }
    let model = locale::model(&options.locale)?;
    // Checks the evidence and strata before anything is written.
    segments(&model, options)?;
    let narrator = build_narrator(options)?;
    let exists = db.table_exists(&options.table);
    let mut base_version = None;
    match (options.kind, exists) {
        (WriteKind::Create, true) => {
            let rows = db.open_table(&options.table).await?.count_rows(None).await?;
            return Err(Error::InvalidArgument {
                name: format!("table '{}'", options.table),
                reason: format!(
                    "it already exists ({rows} rows); pass --append to add to it or --replace to overwrite it"
                ),
            });
        }
        (WriteKind::Append, false) => return Err(Error::TableNotFound { name: options.table.clone() }),
        (_, true) => base_version = Some(db.open_table(&options.table).await?.version().version),
        _ => {}
    }
    if let (WriteKind::Append, true) = (options.kind, exists) {
        // A weighted (quota) table takes weighted rows only, and a plain one plain rows.
        let has_weight = db.open_table(&options.table).await?.schema().field(crate::stratify::WEIGHT).is_some();
        let weighted = !options.strata.is_empty();
        if has_weight != weighted {
            return Err(Error::InvalidArgument {
                name: "--append".into(),
                reason: match has_weight {
                    true => format!(
                        "table '{}' holds a quota sample with survey weights (column `weight`); append to it with \
                         --strata, or write these rows to another table",
                        options.table
                    ),
                    false => format!(
                        "table '{}' has no `weight` column, which --strata writes; write the quota sample to \
                         another table",
                        options.table
                    ),
                },
            });
        }
    }
    let mut options = options.clone();
    // The pack's name, or its alias for the chosen narrative language (`hi_Deva_IN`): the name
    // the catalog and the run record keep, so later inserts narrate in the same language.
    options.locale = locale::name_for_language(&options.locale, options.language.as_deref())?;
    options.language = locale::language_of(&options.locale);
    options.append_base = match (options.kind, exists) {
        (WriteKind::Append, true) => db.open_table(&options.table).await?.count_rows(None).await? as u64,
        _ => 0,
    };
    let options = &options;
    let segments = segments(&model, options)?;
    let config = serde_json::to_string(options)
        .map_err(|e| Error::InvalidArgument { name: "options".into(), reason: e.to_string() })?;
    let run_id =
        db.catalog()?.start_run(&options.table, &options.locale, options.seed, options.n, &config, base_version)?;
    if options.progress {
        eprintln!(
            "run {run_id}: {} personas into '{}' (if interrupted: personadb generate --resume {run_id})",
            options.n, options.table
        );
    }
    let result = write_rows(db, options, &model, &segments, narrator.as_deref(), run_id, Progress::default()).await;
    finish(db, run_id, options, narrator.as_deref(), result, start).await
}

/// Finishes a run that was interrupted (killed, crashed, or failed): rows the ledger records
/// as committed are kept, any commit after the ledger's last entry is rolled back, and the
/// remaining rows are generated exactly as the original run would have — no persona lost,
/// none duplicated. The run's options come from the catalog; an LLM API key comes from the
/// environment or the config file again.
///
/// `cluster` runs the rest on a cluster (`df://HOST:PORT`) whatever the run used; None keeps
/// the run's own choice.
pub async fn resume(db: &Database, run_id: i64, progress: bool, cluster: Option<String>) -> Result<GenerateReport> {
    let start = Instant::now();
    let run = db.catalog()?.run(run_id)?.ok_or_else(|| Error::InvalidArgument {
        name: "--resume".into(),
        reason: format!("there is no run {run_id} in this database (`personadb runs` lists them)"),
    })?;
    if run.status == "done" {
        return Err(Error::InvalidArgument {
            name: "--resume".into(),
            reason: format!("run {run_id} already finished ({} rows in '{}')", run.rows_written, run.table_name),
        });
    }
    if let Some(pid) = run.pid.filter(|p| *p != std::process::id() && process_alive(*p)) {
        return Err(Error::InvalidArgument {
            name: "--resume".into(),
            reason: format!("run {run_id} is still running (process {pid}); stop it first"),
        });
    }
    let mut options: GenerateOptions = serde_json::from_str(&run.config_json).map_err(|e| Error::InvalidArgument {
        name: "--resume".into(),
        reason: format!("run {run_id} has an unreadable configuration ({e})"),
    })?;
    options.progress = progress;
    if cluster.is_some() {
        options.cluster = cluster;
    }
    if let Some(llm) = options.llm.as_mut() {
        llm.resolve_key();
    }
    let model = locale::model(&options.locale)?;
    let segments = segments(&model, &options)?;
    let narrator = build_narrator(&options)?;
    let ledger = db.catalog()?.ledger(run_id)?;
    let committed: u64 = ledger.iter().map(|e| e.rows).sum();
    // Bring the table back to what the ledger knows.
    let exists = db.table_exists(&options.table);
    match (ledger.last(), exists) {
        (Some(last), true) => {
            let dataset = db.open_table(&options.table).await?;
            let latest = dataset.latest_version_id().await?;
            if latest < last.dataset_version {
                return Err(Error::InvalidArgument {
                    name: "--resume".into(),
                    reason: format!(
                        "table '{}' is at version {latest}, older than the run's last commit ({}); it was changed since",
                        options.table, last.dataset_version
                    ),
                });
            }
            if latest > last.dataset_version {
                let mut at = dataset.checkout_version(last.dataset_version).await?;
                at.restore().await?;
                eprintln!(
                    "resume: rolled '{}' back to version {} (a commit after the ledger's last entry)",
                    options.table, last.dataset_version
                );
            }
        }
        (Some(_), false) => {
            return Err(Error::InvalidArgument {
                name: "--resume".into(),
                reason: format!("table '{}' of run {run_id} no longer exists", options.table),
            })
        }
        (None, true) => match (options.kind, run.base_version) {
            // Nothing of the run is committed: undo whatever its first commit left.
            (WriteKind::Create, _) => db.drop_table(&options.table).await?,
            (WriteKind::Append, Some(base)) => {
                let dataset = db.open_table(&options.table).await?;
                if dataset.latest_version_id().await? > base {
                    dataset.checkout_version(base).await?.restore().await?;
                }
            }
            // Replace overwrites on its first commit anyway.
            _ => {}
        },
        (None, false) => {}
    }
    db.catalog()?.reopen_run(run_id)?;
    let resume_at = Progress { skip_rows: committed, chunk_index: ledger.len() as u64 };
    let result = write_rows(db, &options, &model, &segments, narrator.as_deref(), run_id, resume_at).await;
    finish(db, run_id, &options, narrator.as_deref(), result, start).await
}

/// Refuses, before a run starts, an `embed_model` other than the one a table's embedding
/// column already holds (a column never mixes models).
fn check_embedding_model(db: &Database, options: &GenerateOptions) -> Result<()> {
    let Some(name) = &options.embed_model else { return Ok(()) };
    let wanted = crate::embed::spec(name)?.name;
    if options.kind != WriteKind::Append {
        return Ok(());
    }
    let catalog = db.catalog()?;
    for field in &options.embed {
        let column = format!("{field}_embedding");
        if let Some((recorded, _)) = catalog.embedding(&options.table, &column)? {
            if recorded != wanted {
                return Err(Error::InvalidArgument {
                    name: "--embed-model".into(),
                    reason: format!(
                        "column '{column}' of '{}' holds embeddings by {recorded}, not {wanted} (a column never mixes models; \
                         leave --embed-model out to keep the table's)",
                        options.table
                    ),
                });
            }
        }
    }
    Ok(())
}

fn validate_embed(options: &GenerateOptions) -> Result<()> {
    if options.embed.is_empty() {
        return Ok(());
    }
    if options.narrator.is_none() {
        return Err(Error::InvalidArgument {
            name: "--embed".into(),
            reason: "embeddings are of narratives: pass --narrator template or --narrator llm".into(),
        });
    }
    let model = locale::model(&options.locale)?;
    let fields = &model.persona.narrative.fields;
    for field in &options.embed {
        if !fields.contains(field) {
            return Err(Error::InvalidArgument {
                name: "--embed".into(),
                reason: format!(
                    "`{}` is not a narrative prose field of locale '{}' ({})",
                    crate::error::shorten(field, 60),
                    model.locale,
                    fields.join(", ")
                ),
            });
        }
    }
    Ok(())
}

/// The `<field>_embedding` columns of `batch` (one per field of `fields`, NULL where the
/// text is NULL).
async fn embedding_columns(
    embedder: &std::sync::Arc<dyn crate::embed::Embedder>,
    batch: &arrow::record_batch::RecordBatch,
    fields: &[String],
    vector_type: crate::columns::VectorType,
) -> Result<Vec<arrow::array::ArrayRef>> {
    use arrow::array::{Array, AsArray};
    let dim = embedder.dimension();
    let mut out = Vec::new();
    for field in fields {
        let column = batch.column_by_name(field).ok_or_else(|| Error::InvalidArgument {
            name: "--embed".into(),
            reason: format!("the narrator wrote no `{field}`"),
        })?;
        let text = column.as_string::<i32>();
        let present: Vec<usize> = (0..text.len()).filter(|&i| text.is_valid(i)).collect();
        let texts = present.iter().map(|&i| text.value(i).to_string()).collect();
        let vectors = crate::embed::embed_async(embedder.clone(), texts).await?;
        let mut values = vec![0f32; text.len() * dim];
        for (v, &i) in vectors.iter().zip(&present) {
            values[i * dim..(i + 1) * dim].copy_from_slice(v);
        }
        out.push(vector_type.array(dim, values, text.nulls().cloned())?);
    }
    Ok(out)
}

fn process_alive(pid: u32) -> bool {
    // Linux: a live process has /proc/<pid>; it must also be a personadb process.
    std::fs::read(format!("/proc/{pid}/cmdline"))
        .map(|c| String::from_utf8_lossy(&c).contains("personadb"))
        .unwrap_or(false)
}

pub(crate) fn build_narrator(options: &GenerateOptions) -> Result<Option<std::sync::Arc<dyn Narrator>>> {
    match options.narrator {
        None => Ok(None),
        Some(kind) => {
            Ok(Some(crate::narrate::build(kind, &options.locale, options.language.as_deref(), options.llm.clone())?))
        }
    }
}

async fn finish(
    db: &Database,
    run_id: i64,
    options: &GenerateOptions,
    narrator: Option<&dyn Narrator>,
    result: Result<(u64, u64, u64)>,
    start: Instant,
) -> Result<GenerateReport> {
    let seconds = start.elapsed().as_secs_f64();
    let usage = narrator.and_then(|n| n.usage());
    let endpoints = narrator.map(|n| n.endpoint_usage()).unwrap_or_default();
    if let Some(u) = &usage {
        // The totals, and each endpoint's traffic and errors.
        if let Ok(mut json) = serde_json::to_value(u) {
            if let (Some(object), Ok(list)) = (json.as_object_mut(), serde_json::to_value(&endpoints)) {
                object.insert("endpoints".into(), list);
            }
            let _ = db.catalog()?.set_usage(run_id, &json.to_string());
        }
    }
    match result {
        Ok((version, table_rows, written_now)) => {
            let catalog = db.catalog()?;
            catalog.finish_run(run_id, "done", seconds, None)?;
            let failures = catalog.failures(run_id)?;
            Ok(GenerateReport {
                run_id,
                table: options.table.clone(),
                rows: options.n,
                written_now,
                table_rows,
                version,
                seconds,
                failed: failures.len() as u64,
                failure_kinds: failure_kinds(&failures),
                usage,
                endpoints,
            })
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

/// Failure reasons grouped by kind (the text before the first ':'), most frequent first.
pub fn failure_kinds(failures: &[FailureRecord]) -> Vec<(String, u64, String)> {
    let mut kinds: std::collections::BTreeMap<String, (u64, String)> = std::collections::BTreeMap::new();
    for f in failures {
        let kind = f.reason.split(':').next().unwrap_or("").trim().to_string();
        let entry = kinds.entry(kind).or_insert((0, f.reason.clone()));
        entry.0 += 1;
    }
    let mut out: Vec<(String, u64, String)> = kinds.into_iter().map(|(k, (n, e))| (k, n, e)).collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    out
}

/// Where a run (re)starts.
#[derive(Debug, Clone, Copy, Default)]
struct Progress {
    /// Rows already committed (skipped).
    skip_rows: u64,
    /// Index of the next ledger entry.
    chunk_index: u64,
}

/// A run of rows drawn from one (possibly conditioned) distribution with one seed.
pub(crate) struct Segment {
    pub evidence: Option<crate::model::Evidence>,
    pub seed: u64,
    pub rows: u64,
    /// The survey weight of its rows under quota generation (`P_h · n / n_h`: weighted counts
    /// give each stratum its model share of `n`); `None` for a plain run.
    pub weight: Option<f64>,
}

/// The segments of a generation: one for a plain run, one per stratum for quota generation.
pub(crate) fn segments(model: &crate::model::LocaleModel, options: &GenerateOptions) -> Result<Vec<Segment>> {
    let run_seed = match options.append_base {
        0 => options.seed,
        base => crate::hash::splitmix64(options.seed ^ crate::hash::splitmix64(base ^ APPEND_SALT)),
    };
    if options.strata.is_empty() {
        return Ok(vec![Segment {
            evidence: model.evidence(&options.given)?,
            seed: run_seed,
            rows: options.n,
            weight: None,
        }]);
    }
    let mut include = Vec::new();
    for column in &options.strata {
        let (idx, _) =
            model.node(column).filter(|_| model.columns.iter().any(|c| c.name() == column)).ok_or_else(|| {
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
    let weights = options.allocation.weights(strata.values().copied());
    let quotas = personadb_udfs::backends::largest_remainder(options.n, &weights);
    let mass: f64 = strata.values().sum();
    let mut out = Vec::new();
    for (index, ((key, share), quota)) in strata.iter().zip(quotas).enumerate() {
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
        let seed = crate::hash::splitmix64(run_seed ^ crate::hash::splitmix64(index as u64 + 1));
        let weight = share / mass * options.n as f64 / quota as f64;
        out.push(Segment {
            evidence: model.evidence(&clauses.join(" AND "))?,
            seed,
            rows: quota,
            weight: Some(weight),
        });
    }
    Ok(out)
}

/// The embedder of a run's embedding columns: the one asked for; else, when appending to a
/// table (or resuming a run) whose columns already hold embeddings, their model (a column
/// never mixes models); else the static model distilled from the transformer of the locale's
/// narrative language.
pub(crate) fn choose_embedder(
    db: &Database,
    options: &GenerateOptions,
    model: &crate::model::LocaleModel,
    resuming: bool,
) -> Result<Option<std::sync::Arc<dyn crate::embed::Embedder>>> {
    if options.embed.is_empty() {
        return Ok(None);
    }
    if let Some(name) = &options.embed_model {
        return Ok(Some(crate::embed::by_name(name)?));
    }
    if options.kind == WriteKind::Append || resuming {
        let catalog = db.catalog()?;
        for field in &options.embed {
            if let Some((recorded, _)) = catalog.embedding(&options.table, &format!("{field}_embedding"))? {
                return Ok(Some(crate::embed::by_name(&recorded)?));
            }
        }
    }
    let transformer =
        &model.persona.language(&model.locale, locale::language_of(&options.locale).as_deref())?.embedding_model;
    Ok(Some(crate::embed::by_name(crate::embed::static_of(transformer)?.name)?))
}

/// How a run stores its embedding columns: as the table's existing ones when appending (or
/// resuming), else as asked.
pub(crate) async fn run_vector_type(
    db: &Database,
    options: &GenerateOptions,
    resuming: bool,
) -> Result<crate::columns::VectorType> {
    if !options.embed.is_empty() && (options.kind == WriteKind::Append || resuming) && db.table_exists(&options.table) {
        let schema = arrow::datatypes::Schema::from(db.open_table(&options.table).await?.schema());
        for field in &options.embed {
            let found = schema.field_with_name(&format!("{field}_embedding")).ok();
            if let Some(stored) = found.and_then(|f| crate::columns::VectorType::of(f.data_type())) {
                return Ok(stored);
            }
        }
    }
    Ok(options.vector_type)
}

/// Rows per batch when narrating (and embedding); the narrator benchmark narrates batches of
/// this size.
pub const NARRATED_BATCH_ROWS: usize = 8192;

/// Most bytes of rows a run holds before committing them.
const COMMIT_BYTES: usize = 128 << 20;

/// Keeps an append's stream family apart from the strata's (both mix a small number into the seed).
const APPEND_SALT: u64 = 0xA99E_4D00_0000_0000;

/// Writes the rows of a run after `at`: here, or on the cluster the options name.
async fn write_rows(
    db: &Database,
    options: &GenerateOptions,
    model: &crate::model::LocaleModel,
    segments: &[Segment],
    narrator: Option<&dyn Narrator>,
    run_id: i64,
    at: Progress,
) -> Result<(u64, u64, u64)> {
    match &options.cluster {
        Some(address) => {
            crate::cluster::write_on_cluster(
                db,
                address,
                options,
                model,
                segments,
                narrator,
                run_id,
                at.skip_rows,
                at.chunk_index,
            )
            .await
        }
        None => write_chunks(db, options, model, segments, narrator, run_id, at).await,
    }
}

/// What every batch of a run is made with, in this process or on a cluster executor.
pub(crate) struct RunParts<'a> {
    pub options: &'a GenerateOptions,
    pub model: &'a crate::model::LocaleModel,
    pub segments: &'a [Segment],
    pub narrator: Option<&'a dyn Narrator>,
    pub embedder: Option<std::sync::Arc<dyn crate::embed::Embedder>>,
    pub vector_type: crate::columns::VectorType,
    pub schema: arrow::datatypes::SchemaRef,
    pub threads: usize,
}

/// A piece of a run: `take` rows from row `row` of segment `segment` (whose first row is row
/// `segment_start` of the run).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Piece {
    pub segment: usize,
    pub segment_start: u64,
    pub row: u64,
    pub take: u64,
}

impl RunParts<'_> {
    /// The rows of a piece, narrated and embedded as the run asks, with the failures of their
    /// narration. Rows depend only on the run and their position, never on how a run is cut
    /// into pieces (sampling goes by blocks), so any cut gives the same table.
    pub(crate) async fn batch(&self, piece: Piece) -> Result<(arrow::record_batch::RecordBatch, Vec<FailureRecord>)> {
        let segment = &self.segments[piece.segment];
        let Piece { segment_start, row, take, .. } = piece;
        let mut failures = Vec::new();
        // Sample from the block boundary at or before `row` (streams are per block) and keep
        // the rows from `row` on.
        let block_start = row - row % BLOCK_ROWS as u64;
        let offset = (row - block_start) as usize;
        let sampled = self.model.sample_batch(
            segment.seed,
            block_start,
            offset + take as usize,
            segment.evidence.as_ref(),
            Encoding::Plain,
            self.threads,
        )?;
        let batch = sampled.slice(offset, take as usize);
        let mut columns = match self.narrator {
            Some(n) => {
                let narrated = n.narrate(&batch, segment.seed).await?;
                if !narrated.failures.is_empty() {
                    let uuids = crate::narrate::PersonaColumns::new(&batch)?;
                    for (i, reason) in &narrated.failures {
                        failures.push(FailureRecord {
                            row: segment_start + row + *i as u64,
                            uuid: crate::narrate::text_at(uuids.string("uuid"), *i).to_string(),
                            reason: reason.clone(),
                        });
                    }
                }
                let mut columns: Vec<arrow::array::ArrayRef> =
                    batch.columns().iter().chain(narrated.batch.columns()).cloned().collect();
                if let Some(e) = &self.embedder {
                    columns.extend(embedding_columns(e, &narrated.batch, &self.options.embed, self.vector_type).await?);
                }
                columns
            }
            None => batch.columns().to_vec(),
        };
        if let Some(w) = segment.weight {
            columns.push(std::sync::Arc::new(arrow::array::Float64Array::from(vec![w; take as usize])));
        }
        Ok((arrow::record_batch::RecordBatch::try_new(self.schema.clone(), columns)?, failures))
    }

    /// The pieces of run rows `from..to`, each within one segment and at most `batch_rows`.
    pub(crate) fn pieces(&self, from: u64, to: u64, batch_rows: u64) -> Vec<Piece> {
        let mut out = Vec::new();
        let mut segment_start = 0u64;
        for (index, segment) in self.segments.iter().enumerate() {
            let segment_end = segment_start + segment.rows;
            let mut at = from.max(segment_start);
            while at < to.min(segment_end) {
                let take = (to.min(segment_end) - at).min(batch_rows);
                out.push(Piece { segment: index, segment_start, row: at - segment_start, take });
                at += take;
            }
            segment_start = segment_end;
        }
        out
    }
}

/// The columns a run writes: the locale's attributes, then (narrated) its narrative fields and
/// one embedding column per embedded field, then (quota generation) the survey weight.
pub(crate) fn run_schema(
    options: &GenerateOptions,
    model: &crate::model::LocaleModel,
    narrated: bool,
    embedder: Option<&std::sync::Arc<dyn crate::embed::Embedder>>,
    vector_type: crate::columns::VectorType,
    weighted: bool,
) -> arrow::datatypes::SchemaRef {
    let mut fields: Vec<arrow::datatypes::FieldRef> = model.schema().fields().iter().cloned().collect();
    if narrated {
        fields.extend(crate::narrate::narrative_schema_for(&model.persona).fields().iter().cloned());
        if let Some(e) = embedder {
            for field in &options.embed {
                let metadata =
                    std::collections::HashMap::from([(crate::columns::MODEL_KEY.to_string(), e.model().to_string())]);
                fields.push(std::sync::Arc::new(
                    arrow::datatypes::Field::new(format!("{field}_embedding"), vector_type.column(e.dimension()), true)
                        .with_metadata(metadata),
                ));
            }
        }
    }
    if weighted {
        fields.push(std::sync::Arc::new(arrow::datatypes::Field::new(
            crate::stratify::WEIGHT,
            arrow::datatypes::DataType::Float64,
            false,
        )));
    }
    std::sync::Arc::new(arrow::datatypes::Schema::new(fields))
}

/// Rows per batch of a run: narrated batches are ~13 KB a persona with ten embeddings, so
/// smaller batches keep memory bounded (rows do not depend on the batch size).
pub(crate) fn run_batch_rows(options: &GenerateOptions) -> u64 {
    let rows = match options.narrator {
        Some(_) => block_aligned(options.batch_rows.min(NARRATED_BATCH_ROWS)),
        None => block_aligned(options.batch_rows),
    };
    rows as u64
}

/// Samples, narrates and commits the rows of a run after `at.skip_rows`, recording each
/// commit (and its failed personas) in the ledger. Returns (table version, table rows, rows
/// written now).
async fn write_chunks(
    db: &Database,
    options: &GenerateOptions,
    model: &crate::model::LocaleModel,
    segments: &[Segment],
    narrator: Option<&dyn Narrator>,
    run_id: i64,
    at: Progress,
) -> Result<(u64, u64, u64)> {
    let batch_rows = run_batch_rows(options);
    let resuming = at.skip_rows > 0 || at.chunk_index > 0;
    let embedder = choose_embedder(db, options, model, resuming)?;
    let vector_type = run_vector_type(db, options, resuming).await?;
    if let (Some(e), Some(_)) = (&embedder, narrator) {
        for field in &options.embed {
            db.catalog()?.put_embedding(&options.table, &format!("{field}_embedding"), e.model(), e.dimension())?;
        }
    }
    let weighted = segments.iter().any(|s| s.weight.is_some());
    let schema = run_schema(options, model, narrator.is_some(), embedder.as_ref(), vector_type, weighted);
    let parts = RunParts {
        options,
        model,
        segments,
        narrator,
        embedder,
        vector_type,
        schema: schema.clone(),
        threads: resolve_threads(options.threads),
    };
    let bar = progress_bar(options, at.skip_rows);
    let mut version = 0;
    let mut chunk_index = at.chunk_index;
    let mut pending: Vec<arrow::record_batch::RecordBatch> = Vec::new();
    let mut pending_rows = 0u64;
    let mut pending_bytes = 0usize;
    let mut pending_failures: Vec<FailureRecord> = Vec::new();
    let mut failed = db.catalog()?.failures(run_id)?.len() as u64;
    let mut written_now = 0u64;
    let locale = Some(options.locale.as_str());
    let commit = |pending: Vec<arrow::record_batch::RecordBatch>, failures: Vec<FailureRecord>, chunk_index: u64| {
        let schema = schema.clone();
        async move {
            let kind = if chunk_index == 0 { options.kind } else { WriteKind::Append };
            let (dataset, rows) = db.write_batches(&options.table, schema, pending, kind, locale).await?;
            let version = dataset.version().version;
            db.catalog()?.record_batch(run_id, chunk_index, rows, version, &failures)?;
            Ok::<_, Error>((version, rows))
        }
    };
    // Pieces end at every commit boundary (`commit_rows` from where the run resumes).
    let mut chunk_start = at.skip_rows;
    while chunk_start < options.n {
        let chunk_end = (chunk_start + options.commit_rows).min(options.n);
        for piece in parts.pieces(chunk_start, chunk_end, batch_rows) {
            let (batch, failures) = parts.batch(piece).await?;
            failed += failures.len() as u64;
            pending_failures.extend(failures);
            pending_bytes += batch.get_array_memory_size();
            pending.push(batch);
            pending_rows += piece.take;
            bar.inc(piece.take);
            if failed > 0 {
                bar.set_message(format!("{failed} failed"));
            }
            // Commit by rows, or sooner by size: narratives and ten embedding columns are ~13 KB
            // a persona, so memory stays bounded whatever --commit-rows says.
            if pending_rows >= options.commit_rows || pending_bytes >= COMMIT_BYTES {
                let (v, rows) =
                    commit(std::mem::take(&mut pending), std::mem::take(&mut pending_failures), chunk_index).await?;
                version = v;
                written_now += rows;
                chunk_index += 1;
                pending_rows = 0;
                pending_bytes = 0;
            }
        }
        chunk_start = chunk_end;
    }
    if pending_rows > 0 || chunk_index == 0 {
        let (v, rows) = commit(pending, pending_failures, chunk_index).await?;
        version = v;
        written_now += rows;
    }
    bar.finish_and_clear();
    let dataset = db.open_table(&options.table).await?;
    if version == 0 {
        version = dataset.version().version;
    }
    let table_rows = dataset.count_rows(None).await? as u64;
    Ok((version, table_rows, written_now))
}

/// A progress bar on standard error for a run of `options.n` rows, `done` already committed;
/// hidden unless asked for and standard error is a terminal.
pub(crate) fn progress_bar(options: &GenerateOptions, done: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !options.progress || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(options.n);
    let style = indicatif::ProgressStyle::with_template(
        "{spinner} {elapsed_precise} [{wide_bar}] {human_pos}/{human_len} personas ({per_sec}, eta {eta}) {msg}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style);
    bar.set_position(done);
    bar
}
