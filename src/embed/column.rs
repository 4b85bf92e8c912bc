//! `personadb embed`: writes the embedding column of a text column of a stored table — added
//! when the table has none, replaced when it holds another model's — so a user can upgrade
//! chosen fields from the static tier to the transformer later, in the background.
//!
//! The column is computed fragment by fragment through Lance's `add_columns` and committed in
//! one step: readers see the old column (or none) until the new one is complete. Every
//! fragment finished is checkpointed in the catalog, so an interrupted run, started again,
//! picks up where it stopped (as long as the table did not change in between). A replaced
//! column is written beside the old one first, then swapped in by name, so nothing is lost if
//! the run stops half-way.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use arrow::array::{Array, ArrayRef, AsArray, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema};
use lance::dataset::{BatchInfo, BatchUDF, ColumnAlteration, NewColumnTransform, UDFCheckpointStore};
use lance::table::format::Fragment;

use crate::database::Database;
use crate::embed::Embedder;
use crate::error::{Error, Result};

/// Rows embedded per batch.
const BATCH_ROWS: u32 = 4096;
/// The suffix of the column a replacement is written to before it takes the old one's name.
const PENDING_SUFFIX: &str = "__personadb_pending";

/// What to embed.
#[derive(Debug, Clone)]
pub struct EmbedColumnOptions {
    /// The stored table.
    pub table: String,
    /// Its text column (a narrative field such as `persona`).
    pub field: String,
    /// The model, by name or alias (default: the static model of the table's narrative
    /// language, the one `generate` writes).
    pub model: Option<String>,
    /// The embedding column to write (default `<field>_embedding`).
    pub column: Option<String>,
    /// Recompute even when the column already holds the model's embeddings.
    pub force: bool,
    /// How the column stores its numbers (default: as the column it replaces, else float16).
    pub vector_type: Option<crate::columns::VectorType>,
    /// Show a progress bar on the terminal.
    pub progress: bool,
}

impl EmbedColumnOptions {
    pub fn new(table: impl Into<String>, field: impl Into<String>) -> Self {
        EmbedColumnOptions {
            table: table.into(),
            field: field.into(),
            model: None,
            column: None,
            force: false,
            vector_type: None,
            progress: false,
        }
    }
}

/// What an embedding run did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct EmbedColumnReport {
    pub column: String,
    pub model: String,
    pub dimension: usize,
    /// "added", "replaced" (the model it held), or "up to date".
    pub action: String,
    pub rows: u64,
    /// Fragments an interrupted earlier run had finished, reused.
    pub resumed_fragments: usize,
    pub seconds: f64,
}

/// The checkpoints of one run, kept in the catalog.
struct CatalogCheckpoints {
    catalog: Mutex<crate::catalog::Catalog>,
    table: String,
    column: String,
    model: String,
    base_version: u64,
    done: HashMap<u32, String>,
    resumed: std::sync::atomic::AtomicUsize,
    bar: indicatif::ProgressBar,
}

fn lance_error(e: impl std::fmt::Display) -> lance::Error {
    lance::Error::invalid_input(e.to_string())
}

impl UDFCheckpointStore for CatalogCheckpoints {
    fn get_batch(&self, _info: &BatchInfo) -> lance::Result<Option<RecordBatch>> {
        Ok(None)
    }

    fn insert_batch(&self, _info: BatchInfo, _batch: RecordBatch) -> lance::Result<()> {
        Ok(())
    }

    fn get_fragment(&self, fragment_id: u32) -> lance::Result<Option<Fragment>> {
        let Some(json) = self.done.get(&fragment_id) else { return Ok(None) };
        let fragment: Fragment = serde_json::from_str(json).map_err(lance_error)?;
        self.resumed.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.bar.inc(fragment.physical_rows.unwrap_or(0) as u64);
        Ok(Some(fragment))
    }

    fn insert_fragment(&self, fragment: Fragment) -> lance::Result<()> {
        let json = serde_json::to_string(&fragment).map_err(lance_error)?;
        let catalog = self.catalog.lock().map_err(|_| lance_error("the catalog lock is poisoned"))?;
        catalog
            .put_embed_checkpoint(&self.table, &self.column, &self.model, self.base_version, fragment.id as u32, &json)
            .map_err(lance_error)
    }
}

/// The model a field of `table` is embedded with when none is named: the static model of its
/// locale's narrative language (English's when the table has no recorded locale).
fn default_model(db: &Database, table: &str) -> Result<&'static str> {
    let locale = db.catalog()?.table(table)?.and_then(|t| t.locale);
    let language = locale.as_deref().and_then(crate::locale::language_of);
    let transformer = match locale.and_then(|l| crate::locale::model(&l).ok()) {
        Some(model) => model.persona.language(&model.locale, language.as_deref())?.embedding_model.clone(),
        None => crate::embed::DEFAULT_MODEL.to_string(),
    };
    Ok(crate::embed::static_of(&transformer)?.name)
}

/// Writes the embedding column of `options.field` (see the module documentation).
pub async fn embed_column(db: &Database, options: &EmbedColumnOptions) -> Result<EmbedColumnReport> {
    db.require_writable()?;
    let start = Instant::now();
    let table = options.table.as_str();
    Database::validate_name(table)?;
    if !db.table_exists(table) {
        return Err(Error::TableNotFound { name: table.to_string() });
    }
    let mut dataset = db.open_table(table).await?;
    let schema = Schema::from(dataset.schema());
    crate::columns::check_text_column(table, &schema, &options.field)?;
    let column = options.column.clone().unwrap_or_else(|| format!("{}_embedding", options.field));
    let invalid =
        |reason: String| Error::InvalidArgument { name: format!("column `{column}` of table '{table}'"), reason };
    if column == options.field || column.ends_with(PENDING_SUFFIX) || column.trim().is_empty() {
        return Err(invalid("choose another name for the embedding column".into()));
    }
    let model = match &options.model {
        Some(name) => crate::embed::spec(name)?.name,
        None => default_model(db, table)?,
    };
    let embedder = crate::embed::by_name(model)?;
    let dimension = embedder.dimension();
    let rows = dataset.count_rows(None).await? as u64;
    let pending = format!("{column}{PENDING_SUFFIX}");
    if schema.field_with_name(&column).is_err() && schema.field_with_name(&pending).is_ok() {
        // A replacement stopped after the old column was dropped: only the rename is left.
        dataset.alter_columns(&[ColumnAlteration::new(pending.clone()).rename(column.clone())]).await?;
        let catalog = db.catalog()?;
        catalog.replace_embedding(table, &column, model, dimension)?;
        catalog.clear_embed_checkpoints(table, &pending)?;
        return Ok(EmbedColumnReport {
            column,
            model: model.to_string(),
            dimension,
            action: "replaced (finished an interrupted swap)".into(),
            rows,
            resumed_fragments: 0,
            seconds: start.elapsed().as_secs_f64(),
        });
    }
    let existing = match schema.field_with_name(&column) {
        Err(_) => None,
        Ok(f) => {
            if !crate::columns::embedding_columns(&schema).contains(&column) {
                return Err(invalid(format!(
                    "it exists and is {}, not an embedding column; name another with --column",
                    f.data_type()
                )));
            }
            Some(crate::columns::column_model(db, table, f)?)
        }
    };
    let report = |action: String, resumed: usize| EmbedColumnReport {
        column: column.clone(),
        model: model.to_string(),
        dimension,
        action,
        rows,
        resumed_fragments: resumed,
        seconds: start.elapsed().as_secs_f64(),
    };
    let stored = schema.field_with_name(&column).ok().and_then(|f| crate::columns::VectorType::of(f.data_type()));
    let vector_type = options.vector_type.or(stored).unwrap_or_default();
    if let Some(Some((held, dim))) = &existing {
        if held == model
            && *dim == dimension
            && stored == Some(vector_type)
            && !options.force
            && schema.field_with_name(&pending).is_err()
        {
            return Ok(report("up to date".into(), 0));
        }
    }
    let target = if existing.is_some() { pending.clone() } else { column.clone() };
    let mut resumed = 0;
    // A replacement already written (a run stopped before the swap) is not written again.
    if schema.field_with_name(&target).is_err() {
        let base_version = dataset.version().version;
        let done: HashMap<u32, String> =
            db.catalog()?.embed_checkpoints(table, &target, model, base_version)?.into_iter().collect();
        // A connection of its own: the checkpoints are written while the run holds no lock.
        let catalog = db.open_catalog()?;
        let bar = progress_bar(options.progress, rows);
        let store = Arc::new(CatalogCheckpoints {
            catalog: Mutex::new(catalog),
            table: table.to_string(),
            column: target.clone(),
            model: model.to_string(),
            base_version,
            done,
            resumed: Default::default(),
            bar: bar.clone(),
        });
        let mut metadata = HashMap::new();
        metadata.insert(crate::columns::MODEL_KEY.to_string(), model.to_string());
        let output = Arc::new(Schema::new(vec![
            Field::new(&target, vector_type.column(dimension), true).with_metadata(metadata)
        ]));
        let mapper = {
            let (output, field, embedder, bar) = (output.clone(), options.field.clone(), embedder.clone(), bar.clone());
            move |batch: &RecordBatch| -> lance::Result<RecordBatch> {
                let array = embed_texts(embedder.as_ref(), batch, &field, vector_type).map_err(lance_error)?;
                bar.inc(batch.num_rows() as u64);
                RecordBatch::try_new(output.clone(), vec![array]).map_err(lance_error)
            }
        };
        let transform = NewColumnTransform::BatchUDF(BatchUDF {
            mapper: Box::new(mapper),
            output_schema: output,
            result_checkpoint: Some(store.clone()),
        });
        dataset.add_columns(transform, Some(vec![options.field.clone()]), Some(BATCH_ROWS)).await?;
        bar.finish_and_clear();
        resumed = store.resumed.load(std::sync::atomic::Ordering::Relaxed);
    }
    let action = match &existing {
        None => "added".to_string(),
        Some(held) => {
            // The swap: the old column goes, the new one takes its name.
            let mut dataset = db.open_table(table).await?;
            if Schema::from(dataset.schema()).field_with_name(&column).is_ok() {
                dataset.drop_columns(&[column.as_str()]).await?;
            }
            dataset.alter_columns(&[ColumnAlteration::new(pending.clone()).rename(column.clone())]).await?;
            match held {
                Some((m, _)) => format!("replaced (held {m})"),
                None => "replaced".to_string(),
            }
        }
    };
    let catalog = db.catalog()?;
    catalog.replace_embedding(table, &column, model, dimension)?;
    catalog.clear_embed_checkpoints(table, &target)?;
    Ok(report(action, resumed))
}

/// The embeddings of `field` of `batch` (NULL where the text is NULL).
fn embed_texts(
    embedder: &dyn Embedder,
    batch: &RecordBatch,
    field: &str,
    vector_type: crate::columns::VectorType,
) -> Result<ArrayRef> {
    let column = batch.column_by_name(field).ok_or_else(|| Error::InvalidArgument {
        name: format!("column `{field}`"),
        reason: "the scan returned no such column".into(),
    })?;
    let text = arrow::compute::cast(column, &DataType::Utf8)?;
    let text = text.as_string::<i32>();
    let dim = embedder.dimension();
    let present: Vec<usize> = (0..text.len()).filter(|&i| text.is_valid(i)).collect();
    let texts: Vec<&str> = present.iter().map(|&i| text.value(i)).collect();
    let vectors = embedder.embed(&texts)?;
    let mut values = vec![0f32; text.len() * dim];
    for (v, &i) in vectors.iter().zip(&present) {
        if v.len() != dim {
            return Err(crate::embed::embed_error(format!("the model returned {} values, expected {dim}", v.len())));
        }
        values[i * dim..(i + 1) * dim].copy_from_slice(v);
    }
    Ok(vector_type.array(dim, values, text.nulls().cloned())?)
}

fn progress_bar(show: bool, rows: u64) -> indicatif::ProgressBar {
    use std::io::IsTerminal;
    if !show || !std::io::stderr().is_terminal() {
        return indicatif::ProgressBar::hidden();
    }
    let bar = indicatif::ProgressBar::new(rows);
    if let Ok(style) =
        indicatif::ProgressStyle::with_template("{msg} [{bar:30}] {human_pos}/{human_len} rows, {per_sec}, eta {eta}")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar.set_message("embedding");
    bar
}
