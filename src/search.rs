//! Semantic search over stored tables: `semantic_search(table, column, query, k)` and
//! `personadb search`. The query text is embedded with the session's model, refused when the
//! column's recorded model differs; Lance finds the `k` nearest rows by cosine distance, using
//! the column's vector index when there is one (rows appended since it was built are searched
//! exactly) and WHERE filters as a prefilter, so a filtered search still returns `k` rows when
//! `k` rows match.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arrow::array::{Array, Float32Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{plan_err, DataFusionError};
use datafusion::datasource::{MemTable, TableType};
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::ExecutionPlan;
use futures::TryStreamExt;
use lance::Dataset;
use personadb_udfs::{SearchRequest, TableSearcher};

use crate::database::Database;
use crate::embed::Embedder;
use crate::error::{Error, Result};

/// The distance column every search returns.
pub const DISTANCE: &str = "_distance";
/// Field metadata key naming the model of an embedding column (set by `embed` and `generate --embed`).
pub use personadb_udfs::embed::MODEL_KEY;

/// IVF partitions probed at least, per query (chosen by benches/search.rs and
/// benches/retrieval.rs: recall@10 0.994 on 1M synthetic vectors, 0.969 on real embeddings).
pub const NPROBES: usize = 20;
/// Candidates re-ranked with full vectors, as a multiple of k (PQ distances are approximate).
pub const REFINE_FACTOR: u32 = 10;
/// A filtered search with at most this many matching rows is exact (a flat scan of them
/// takes a few milliseconds, and an index would probe the wrong partitions).
pub const EXACT_BELOW_ROWS: u64 = 50_000;
/// HNSW search breadth (chosen by benches/search.rs).
pub const EF: usize = 64;

/// The searcher of one session: the tables its current statement searches.
#[derive(Debug)]
pub struct Searcher {
    db: Arc<Database>,
    tables: Mutex<HashMap<String, Arc<Dataset>>>,
}

impl Searcher {
    pub fn new(db: Arc<Database>) -> Self {
        Searcher { db, tables: Mutex::new(HashMap::new()) }
    }

    /// Makes `table` available to `semantic_search` in the statements that follow.
    pub fn prepare(&self, name: &str, dataset: Arc<Dataset>) {
        if let Ok(mut t) = self.tables.lock() {
            t.insert(name.to_string(), dataset);
        }
    }
}

/// The model and dimension of an embedding column: the catalog's record, else the column's
/// field metadata. `None` when neither says.
pub fn column_model(db: &Database, table: &str, field: &Field) -> Result<Option<(String, usize)>> {
    if let Some(found) = db.catalog()?.embedding(table, field.name())? {
        return Ok(Some(found));
    }
    let DataType::FixedSizeList(_, dim) = field.data_type() else { return Ok(None) };
    Ok(field.metadata().get(MODEL_KEY).map(|m| (m.clone(), *dim as usize)))
}

/// The embedding columns of a schema (FixedSizeList of Float32).
pub fn embedding_columns(schema: &Schema) -> Vec<String> {
    schema
        .fields()
        .iter()
        .filter(|f| matches!(f.data_type(), DataType::FixedSizeList(item, _) if item.data_type() == &DataType::Float32))
        .map(|f| f.name().clone())
        .collect()
}

/// Checks that `column` of `table` can be searched with `embedder`: an embedding column whose
/// recorded model is the embedder's. Returns the column's vector length.
pub fn check_column(
    db: &Database,
    table: &str,
    schema: &Schema,
    column: &str,
    embedder: &dyn Embedder,
) -> Result<usize> {
    let invalid =
        |reason: String| Error::InvalidArgument { name: format!("column `{column}` of table '{table}'"), reason };
    let candidates = embedding_columns(schema);
    let Ok(field) = schema.field_with_name(column) else {
        return Err(invalid(format!(
            "there is no such column; embedding columns: {}",
            if candidates.is_empty() {
                "none (write some with generate --embed)".to_string()
            } else {
                candidates.join(", ")
            }
        )));
    };
    if !candidates.contains(&field.name().to_string()) {
        return Err(invalid(format!(
            "it is {}, not an embedding column (FixedSizeList<Float32>); embedding columns: {}",
            field.data_type(),
            if candidates.is_empty() { "none".to_string() } else { candidates.join(", ") }
        )));
    }
    match column_model(db, table, field)? {
        Some((model, dim)) if model == embedder.model() && dim == embedder.dimension() => Ok(dim),
        Some((model, dim)) => Err(invalid(format!(
            "it holds embeddings by {model} ({dim} dimensions) but this session embeds queries with {} ({}); \
             searching it would compare unrelated vectors",
            embedder.model(),
            embedder.dimension()
        ))),
        None => Err(invalid(
            "no embedding model is recorded for it (write it with `generate --embed` or the embed() function)".into(),
        )),
    }
}

impl TableSearcher for Searcher {
    fn search(&self, request: &SearchRequest) -> DfResult<Arc<dyn TableProvider>> {
        let name = personadb_udfs::semantic_search::NAME;
        let dataset = self.tables.lock().ok().and_then(|t| t.get(&request.table).cloned());
        let Some(dataset) = dataset else {
            return plan_err!("{name}: table '{}' not found", request.table);
        };
        let table_schema = Schema::from(dataset.schema());
        // The query is embedded by the model the column was written with.
        let recorded = table_schema
            .field_with_name(&request.column)
            .ok()
            .map(|f| column_model(&self.db, &request.table, f))
            .transpose()
            .map_err(|e| DataFusionError::Plan(format!("{name}: {e}")))?
            .flatten();
        let embedder = match &recorded {
            Some((model, _)) => crate::embed::by_name(model),
            None => crate::embed::FastEmbedder::shared(),
        }
        .map_err(|e| DataFusionError::Plan(format!("{name}: {e}")))?;
        check_column(&self.db, &request.table, &table_schema, &request.column, embedder.as_ref())
            .map_err(|e| DataFusionError::Plan(format!("{name}: {e}")))?;
        let mut fields: Vec<Arc<Field>> = table_schema.fields().iter().cloned().collect();
        fields.push(Arc::new(Field::new(DISTANCE, DataType::Float32, true)));
        Ok(Arc::new(SearchTable { dataset, request: request.clone(), schema: Arc::new(Schema::new(fields)), embedder }))
    }
}

/// One search, run when scanned.
struct SearchTable {
    dataset: Arc<Dataset>,
    request: SearchRequest,
    schema: SchemaRef,
    embedder: Arc<dyn Embedder>,
}

impl std::fmt::Debug for SearchTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchTable").field("request", &self.request).finish()
    }
}

fn mentions_distance(expr: &Expr) -> bool {
    expr.column_refs().iter().any(|c| c.name == DISTANCE)
}

#[async_trait]
impl TableProvider for SearchTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    /// Filters Lance can evaluate exactly become the search's prefilter; a filter on
    /// `_distance` (or anything Lance cannot evaluate) applies to the k rows found.
    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> DfResult<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| {
                if !mentions_distance(f) && crate::storage::pushable(f) {
                    TableProviderFilterPushDown::Exact
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let batches = search(&self.dataset, &self.request, filters, self.embedder.clone()).await?;
        let indices: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..self.schema.fields().len()).collect(),
        };
        let projected = Arc::new(self.schema.project(&indices)?);
        let mut out = Vec::new();
        for batch in batches {
            let columns = indices
                .iter()
                .map(|&i| {
                    let name = self.schema.field(i).name();
                    batch
                        .column_by_name(name)
                        .cloned()
                        .ok_or_else(|| DataFusionError::Internal(format!("the search returned no column {name}")))
                })
                .collect::<DfResult<Vec<_>>>()?;
            out.push(RecordBatch::try_new_with_options(
                projected.clone(),
                columns,
                &arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(batch.num_rows())),
            )?);
        }
        MemTable::try_new(projected, vec![out])?.scan(state, None, &[], limit).await
    }
}

/// How hard an indexed search looks (exact searches ignore it).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SearchParams {
    /// IVF partitions probed at least.
    pub nprobes: usize,
    /// Candidates re-ranked with full vectors, as a multiple of k (IVF_PQ).
    pub refine_factor: u32,
    /// HNSW search breadth (IVF_HNSW_SQ).
    pub ef: usize,
    /// Use the vector index when there is one (`false`: exact search).
    pub use_index: bool,
}

impl Default for SearchParams {
    fn default() -> Self {
        SearchParams { nprobes: NPROBES, refine_factor: REFINE_FACTOR, ef: EF, use_index: true }
    }
}

/// Runs one search: the rows (every table column plus `_distance`), nearest first.
pub async fn search(
    dataset: &Dataset,
    request: &SearchRequest,
    filters: &[Expr],
    embedder: Arc<dyn Embedder>,
) -> DfResult<Vec<RecordBatch>> {
    let vector = crate::embed::embed_queries_async(embedder, vec![request.query.clone()]).await?;
    let Some(vector) = vector.into_iter().next() else {
        return Err(DataFusionError::Execution("the model returned no vector for the query".into()));
    };
    let k = usize::try_from(request.k).map_err(|_| DataFusionError::Plan("k is too large".into()))?;
    let filter = filters.iter().cloned().reduce(Expr::and);
    search_vector(dataset, &request.column, vector, k, filter, None, SearchParams::default()).await
}

/// The `k` rows nearest to `vector` in `column` by cosine distance among the rows that pass
/// `filter`, with the columns `projection` names (all when `None`) plus `_distance`.
pub async fn search_vector(
    dataset: &Dataset,
    column: &str,
    vector: Vec<f32>,
    k: usize,
    filter: Option<Expr>,
    projection: Option<&[&str]>,
    params: SearchParams,
) -> DfResult<Vec<RecordBatch>> {
    let mut scanner = dataset.scan();
    scanner.prefilter(true);
    let mut nprobes = params.nprobes;
    let mut use_index = params.use_index;
    if let Some(filter) = filter {
        if use_index {
            // An index probes the partitions nearest the query; when few rows match, too few of
            // them lie there. Few matches: search them exactly. More: probe more partitions, in
            // proportion, so about as many matching candidates are seen as without a filter.
            let mut counter = dataset.scan();
            counter.filter_expr(filter.clone());
            let matching = counter.count_rows().await.map_err(DataFusionError::from)?;
            let total = dataset.count_rows(None).await.map_err(DataFusionError::from)? as u64;
            if matching <= EXACT_BELOW_ROWS {
                use_index = false;
            } else if matching < total {
                nprobes =
                    (nprobes as u64).saturating_mul(total).div_ceil(matching.max(1)).min(u32::MAX as u64) as usize;
            }
        }
        scanner.filter_expr(filter);
    }
    if let Some(columns) = projection {
        scanner.project(columns).map_err(DataFusionError::from)?;
    }
    scanner.nearest(column, &Float32Array::from(vector) as &dyn Array, k).map_err(DataFusionError::from)?;
    scanner.distance_metric(lance_linalg::distance::MetricType::Cosine);
    scanner.use_index(use_index);
    scanner.minimum_nprobes(nprobes);
    scanner.refine(params.refine_factor);
    // HNSW must look at least as wide as the candidates it returns.
    scanner.ef(params.ef.max(k.saturating_mul(params.refine_factor.max(1) as usize)));
    let stream = scanner.try_into_stream().await.map_err(DataFusionError::from)?;
    stream.map_err(DataFusionError::from).try_collect().await
}

/// Opens the datasets `semantic_search` calls in `statement` name.
pub fn searched_tables(statement: &datafusion::sql::sqlparser::ast::Statement) -> Vec<String> {
    crate::stratify::table_function_tables(statement, personadb_udfs::semantic_search::NAME)
}

/// A search as `personadb search` asks for it, built as a query plan from its parts: the
/// filter is parsed as one SQL expression over the table's columns and nothing the user types
/// is ever pasted into SQL text, so no filter can end a statement and start another.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    /// The table to search.
    pub table: String,
    /// The narrative field (`persona`) or its embedding column (`persona_embedding`).
    pub field: String,
    /// What to look for, in plain words.
    pub text: String,
    /// How many rows.
    pub k: u64,
    /// A boolean expression over the table's columns, applied before the search.
    pub filter: Option<String>,
    /// Columns to show besides the distance and the field; empty: the default display columns.
    pub columns: Vec<String>,
    /// Characters of the field's text to show (0: all).
    pub width: usize,
}

impl SearchQuery {
    /// Plans and runs the search in `session`: `distance`, the shown columns and the field's
    /// (truncated) text, nearest first.
    pub async fn execute(
        &self,
        session: &crate::PersonaSession,
    ) -> Result<datafusion::physical_plan::SendableRecordBatchStream> {
        use datafusion::functions::expr_fn::{character_length, concat, left, round};
        use datafusion::prelude::{ident, lit, when};

        let db = session.database();
        Database::validate_name(&self.table)?;
        if !db.table_exists(&self.table) {
            return Err(Error::TableNotFound { name: self.table.clone() });
        }
        let dataset = Arc::new(db.open_table(&self.table).await?);
        let schema = Schema::from(dataset.schema());
        let (field, column) = match self.field.strip_suffix("_embedding") {
            Some(f) => (f.to_string(), self.field.clone()),
            None => (self.field.clone(), format!("{}_embedding", self.field)),
        };
        let has = |c: &str| schema.field_with_name(c).is_ok();
        let shown: Vec<String> = if self.columns.is_empty() {
            // The table's locale's display columns (the first pack's that the table has, for a
            // table of unknown locale), where the table has them.
            let mut shown: Vec<String> = Vec::new();
            for model in crate::locale::models_of_table(db, &self.table) {
                let own: Vec<String> = model.persona.display.iter().filter(|c| has(c)).cloned().collect();
                if own.len() > shown.len() {
                    shown = own;
                }
            }
            shown
        } else {
            for c in &self.columns {
                if !has(c) {
                    return Err(Error::InvalidArgument {
                        name: "columns".into(),
                        reason: format!("table '{}' has no column `{c}`", self.table),
                    });
                }
            }
            self.columns.clone()
        };
        session.prepare_search(&self.table, dataset);
        let ctx = session.context();
        let function = ctx.table_function(personadb_udfs::semantic_search::NAME)?;
        let k = i64::try_from(self.k)
            .map_err(|_| Error::InvalidArgument { name: "k".into(), reason: format!("{} is too large", self.k) })?;
        let args = [lit(self.table.as_str()), lit(column.as_str()), lit(self.text.as_str()), lit(k)];
        let state = ctx.state();
        let provider =
            function.create_table_provider_with_args(datafusion::catalog::TableFunctionArgs::new(&args, &state))?;
        let mut frame = ctx.read_table(provider)?;
        if let Some(filter) = self.filter.as_deref().filter(|f| !f.trim().is_empty()) {
            crate::model::evidence::check_complexity("filter", filter)?;
            let expr = frame.parse_sql_expr(filter).map_err(|e| filter_error(filter, &e))?;
            frame = frame.filter(expr)?;
        }
        frame = frame.sort(vec![ident(DISTANCE).sort(true, false)])?;
        let mut select = vec![round(vec![ident(DISTANCE), lit(4i64)]).alias("distance")];
        select.extend(shown.iter().map(|c| ident(c.as_str())));
        if has(&field) {
            let text = ident(field.as_str());
            select.push(match self.width {
                0 => text,
                w => {
                    let w = i64::try_from(w).unwrap_or(i64::MAX);
                    when(character_length(text.clone()).gt(lit(w)), concat(vec![left(text.clone(), lit(w)), lit("…")]))
                        .otherwise(text)?
                        .alias(field.as_str())
                }
            });
        }
        Ok(frame.select(select)?.execute_stream().await?)
    }
}

/// A filter that does not parse or names an unknown column, said in the user's own terms.
fn filter_error(filter: &str, e: &DataFusionError) -> Error {
    let reason = match e.find_root() {
        DataFusionError::SchemaError(inner, _) => match inner.as_ref() {
            datafusion::common::SchemaError::FieldNotFound { field, valid_fields } => format!(
                "unknown column `{}` (columns: {})",
                field.name,
                valid_fields.iter().map(|f| f.name()).filter(|n| *n != DISTANCE).collect::<Vec<_>>().join(", ")
            ),
            other => other.to_string(),
        },
        other => crate::error::first_line(&other.to_string()).to_string(),
    };
    Error::InvalidArgument { name: format!("filter `{}`", crate::error::shorten(filter, 80)), reason }
}
