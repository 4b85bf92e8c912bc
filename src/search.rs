//! Search over stored tables: `semantic_search`, `text_search` and `hybrid_search` (table
//! functions) and `personadb search --mode vector|text|hybrid`.
//!
//! Vector: the query text is embedded by the model the column was written with (recorded in
//! the catalog); Lance finds the `k` nearest rows by cosine distance, using the column's
//! vector index when there is one (rows appended since it was built are searched exactly).
//! Text: Lance's BM25 over the words of a text column, through its full-text index when there
//! is one and a scan otherwise. Hybrid: both rankings of a narrative field (text column and
//! embedding column), fused by reciprocal rank. In every mode WHERE filters are a prefilter,
//! so a filtered search still returns `k` rows when `k` rows match.
//!
//! Kept whole (about 660 lines): the three modes share one table provider, one request check and
//! one plan builder; the column helpers are in [`crate::columns`].

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
pub use personadb_udfs::SearchMode;
use personadb_udfs::{SearchRequest, TableSearcher};

use crate::columns::{check_text_column, column_model, embedding_columns};
use crate::database::Database;
use crate::embed::Embedder;
use crate::error::{Error, Result};
use crate::hot::HotCache;

/// The distance column a vector search returns.
pub const DISTANCE: &str = "_distance";
/// The score column a text or hybrid search returns (higher is better).
pub const SCORE: &str = "_score";
/// The row address column Lance adds on request (hybrid search fuses by it).
const ROW_ID: &str = "_rowid";

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
/// With a cache of decoded columns, a filtered vector search compares every matching row
/// exactly up to this many matching rows: 1M × 384 on 2 cores (benches/search.rs), 20,000 rows
/// take 7.5 ms and 200,000 take 69 ms, where the index answers in 19 ms (recall 0.994), so the
/// crossover is near 50,000.
pub const CACHED_EXACT_BELOW_ROWS: usize = 50_000;

/// The searcher of one session: the tables its current statement searches.
#[derive(Debug)]
pub struct Searcher {
    db: Arc<Database>,
    tables: Mutex<HashMap<String, Arc<Dataset>>>,
    cache: Option<Arc<HotCache>>,
}

impl Searcher {
    pub fn new(db: Arc<Database>, cache: Option<Arc<HotCache>>) -> Self {
        Searcher { db, tables: Mutex::new(HashMap::new()), cache }
    }

    /// Makes `table` available to `semantic_search` in the statements that follow.
    pub fn prepare(&self, name: &str, dataset: Arc<Dataset>) {
        if let Ok(mut t) = self.tables.lock() {
            t.insert(name.to_string(), dataset);
        }
    }
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
                crate::error::name_list(&candidates, Some(column))
            }
        )));
    };
    if !candidates.contains(&field.name().to_string()) {
        return Err(invalid(format!(
            "it is {}, not an embedding column (FixedSizeList of Float16 or Float32); embedding columns: {}",
            field.data_type(),
            crate::error::name_list(&candidates, Some(column))
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

/// The text column and the embedding column of the narrative field `column` names (either of
/// the pair: `persona` or `persona_embedding`), for a hybrid search.
pub fn field_pair(column: &str) -> (String, String) {
    match column.strip_suffix("_embedding") {
        Some(text) => (text.to_string(), column.to_string()),
        None => (column.to_string(), format!("{column}_embedding")),
    }
}

impl TableSearcher for Searcher {
    fn search(&self, request: &SearchRequest) -> DfResult<Arc<dyn TableProvider>> {
        let name = request.mode.function();
        let dataset = self.tables.lock().ok().and_then(|t| t.get(&request.table).cloned());
        let Some(dataset) = dataset else {
            return plan_err!("{name}: table '{}' not found", request.table);
        };
        let table_schema = Schema::from(dataset.schema());
        let plan_error = |e: Error| DataFusionError::Plan(format!("{name}: {e}"));
        let (text_column, vector_column) = match request.mode {
            SearchMode::Vector => (None, Some(request.column.clone())),
            SearchMode::Text => (Some(request.column.clone()), None),
            SearchMode::Hybrid => {
                let (text, vector) = field_pair(&request.column);
                (Some(text), Some(vector))
            }
        };
        if let Some(text) = &text_column {
            check_text_column(&request.table, &table_schema, text).map_err(plan_error)?;
        }
        let embedder = match &vector_column {
            None => None,
            Some(column) => {
                // The query is embedded by the model the column was written with.
                let recorded = table_schema
                    .field_with_name(column)
                    .ok()
                    .map(|f| column_model(&self.db, &request.table, f))
                    .transpose()
                    .map_err(plan_error)?
                    .flatten();
                let embedder = match &recorded {
                    Some((model, _)) => crate::embed::by_name(model),
                    None => crate::embed::FastEmbedder::shared(),
                }
                .map_err(plan_error)?;
                check_column(&self.db, &request.table, &table_schema, column, embedder.as_ref()).map_err(plan_error)?;
                Some(embedder)
            }
        };
        let mut fields: Vec<Arc<Field>> = table_schema.fields().iter().cloned().collect();
        fields.push(Arc::new(Field::new(request.mode.rank_column(), DataType::Float32, true)));
        Ok(Arc::new(SearchTable {
            db: self.db.clone(),
            cache: self.cache.clone(),
            dataset,
            request: request.clone(),
            schema: Arc::new(Schema::new(fields)),
            embedder,
            text_column,
            vector_column,
        }))
    }
}

/// One search, run when scanned.
struct SearchTable {
    db: Arc<Database>,
    cache: Option<Arc<HotCache>>,
    dataset: Arc<Dataset>,
    request: SearchRequest,
    schema: SchemaRef,
    /// The query's embedder (vector and hybrid).
    embedder: Option<Arc<dyn Embedder>>,
    /// The column BM25 reads (text and hybrid).
    text_column: Option<String>,
    /// The embedding column (vector and hybrid).
    vector_column: Option<String>,
}

impl std::fmt::Debug for SearchTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SearchTable").field("request", &self.request).finish()
    }
}

fn mentions_rank(expr: &Expr) -> bool {
    expr.column_refs().iter().any(|c| c.name == DISTANCE || c.name == SCORE)
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
    /// `_distance` or `_score` (or anything Lance cannot evaluate) applies to the k rows found.
    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> DfResult<Vec<TableProviderFilterPushDown>> {
        Ok(filters
            .iter()
            .map(|f| {
                if !mentions_rank(f) && crate::storage::pushable(f) {
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
        let filter = filters.iter().cloned().reduce(Expr::and);
        let k = usize::try_from(self.request.k).map_err(|_| DataFusionError::Plan("k is too large".into()))?;
        let query = self.request.query.as_str();
        let text = self.text_column.as_deref().unwrap_or_default();
        let vector = self.vector_column.as_deref().unwrap_or_default();
        if self.text_column.is_some() {
            crate::index::check_text_searchable(&self.db, &self.request.table, &self.dataset, text)
                .await
                .map_err(|e| DataFusionError::Plan(format!("{}: {e}", self.request.mode.function())))?;
        }
        let indices: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..self.schema.fields().len()).collect(),
        };
        let batches = match (self.request.mode, &self.embedder) {
            (SearchMode::Text, _) => search_text(&self.dataset, text, query, k, filter, None).await?,
            (SearchMode::Vector, Some(embedder)) => {
                let v = embed_query(embedder.clone(), query).await?;
                // The table's columns the statement reads (the cached path takes only those).
                let wanted: Vec<&str> = indices
                    .iter()
                    .map(|&i| self.schema.field(i).name().as_str())
                    .filter(|n| *n != DISTANCE && *n != SCORE)
                    .collect();
                let cache = self.cache.as_deref();
                search_vector_with(cache, &self.dataset, vector, v, k, filter, Some(&wanted), SearchParams::default())
                    .await?
            }
            (SearchMode::Hybrid, Some(embedder)) => {
                let v = embed_query(embedder.clone(), query).await?;
                let cache = self.cache.as_deref();
                search_hybrid_with(
                    cache,
                    &self.dataset,
                    text,
                    vector,
                    query,
                    v,
                    k,
                    filter,
                    None,
                    SearchParams::default(),
                )
                .await?
            }
            (_, None) => return Err(DataFusionError::Internal("a vector search without an embedder".into())),
        };
        let projected = Arc::new(self.schema.project(&indices)?);
        let mut out = Vec::new();
        for batch in batches {
            let columns = indices
                .iter()
                .map(|&i| {
                    let field = self.schema.field(i);
                    let column = batch.column_by_name(field.name()).ok_or_else(|| {
                        DataFusionError::Internal(format!("the search returned no column {}", field.name()))
                    })?;
                    Ok(arrow::compute::cast(column, field.data_type())?)
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

/// The query's vector, by `embedder`.
pub async fn embed_query(embedder: Arc<dyn Embedder>, query: &str) -> DfResult<Vec<f32>> {
    let vector = crate::embed::embed_queries_async(embedder, vec![query.to_string()]).await?;
    vector
        .into_iter()
        .next()
        .ok_or_else(|| DataFusionError::Execution("the model returned no vector for the query".into()))
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
    search_vector_with(None, dataset, column, vector, k, filter, projection, params).await
}

/// [`search_vector`], and with a `cache` of decoded columns, a filtered search that at most
/// [`CACHED_EXACT_BELOW_ROWS`] rows pass compares the query with each of them exactly, in
/// memory ([`crate::hot::filtered_nearest`]), and reads only the `k` rows found from Lance.
#[allow(clippy::too_many_arguments)]
pub async fn search_vector_with(
    cache: Option<&HotCache>,
    dataset: &Dataset,
    column: &str,
    vector: Vec<f32>,
    k: usize,
    filter: Option<Expr>,
    projection: Option<&[&str]>,
    params: SearchParams,
) -> DfResult<Vec<RecordBatch>> {
    if let (Some(cache), Some(f)) = (cache, &filter) {
        if let Some(found) =
            crate::hot::filtered_nearest(cache, dataset, column, &vector, k, f, CACHED_EXACT_BELOW_ROWS).await?
        {
            return Ok(vec![take_nearest(dataset, &found, projection, false).await?]);
        }
    }
    // Lance's scanner reads every column when asked for none.
    let projection = projection.filter(|p| !p.is_empty());
    let scanner = vector_scanner(dataset, column, vector, k, filter, projection, params, false).await?;
    collect(scanner).await
}

/// The rows `found` names (their `projection` columns, all when `None`, and Lance's `_rowid`
/// when `row_id`) with `_distance`, in the order given.
async fn take_nearest(
    dataset: &Dataset,
    found: &[crate::hot::Nearest],
    projection: Option<&[&str]>,
    row_id: bool,
) -> DfResult<RecordBatch> {
    let schema = Schema::from(dataset.schema());
    let mut names: Vec<String> = match projection {
        Some(p) => p.iter().map(|c| c.to_string()).collect(),
        None => schema.fields().iter().map(|f| f.name().clone()).collect(),
    };
    // Only the table's own columns reach Lance's projection (it refuses others by panicking).
    for name in &names {
        schema.field_with_name(name)?;
    }
    if row_id {
        names.push(ROW_ID.to_string());
    }
    let mut fields: Vec<Arc<Field>> = Vec::new();
    let mut arrays: Vec<arrow::array::ArrayRef> = Vec::new();
    if !names.is_empty() {
        let offsets: Vec<u64> = found.iter().map(|n| n.offset).collect();
        let rows = dataset
            .take(&offsets, lance::dataset::ProjectionRequest::from_columns(&names, dataset.schema()))
            .await
            .map_err(DataFusionError::from)?;
        for name in &names {
            let column = rows
                .column_by_name(name)
                .ok_or_else(|| DataFusionError::Internal(format!("the search returned no column {name}")))?;
            let field = if name == ROW_ID {
                Field::new(ROW_ID, column.data_type().clone(), true)
            } else {
                schema.field_with_name(name)?.clone()
            };
            fields.push(Arc::new(field));
            arrays.push(column.clone());
        }
    }
    fields.push(Arc::new(Field::new(DISTANCE, DataType::Float32, true)));
    arrays.push(Arc::new(Float32Array::from(found.iter().map(|n| n.distance).collect::<Vec<_>>())));
    Ok(RecordBatch::try_new_with_options(
        Arc::new(Schema::new(fields)),
        arrays,
        &arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(found.len())),
    )?)
}

/// The scanner of a vector search (see [`search_vector`]), with Lance's `_rowid` when `row_id`.
#[allow(clippy::too_many_arguments)]
async fn vector_scanner(
    dataset: &Dataset,
    column: &str,
    vector: Vec<f32>,
    k: usize,
    filter: Option<Expr>,
    projection: Option<&[&str]>,
    params: SearchParams,
    row_id: bool,
) -> DfResult<lance::dataset::scanner::Scanner> {
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
    if row_id {
        scanner.with_row_id();
    }
    scanner.nearest(column, &Float32Array::from(vector) as &dyn Array, k).map_err(DataFusionError::from)?;
    scanner.distance_metric(lance_linalg::distance::MetricType::Cosine);
    scanner.use_index(use_index);
    scanner.minimum_nprobes(nprobes);
    scanner.refine(params.refine_factor);
    // HNSW must look at least as wide as the candidates it returns.
    scanner.ef(params.ef.max(k.saturating_mul(params.refine_factor.max(1) as usize)));
    Ok(scanner)
}

async fn collect(scanner: lance::dataset::scanner::Scanner) -> DfResult<Vec<RecordBatch>> {
    let stream = scanner.try_into_stream().await.map_err(DataFusionError::from)?;
    stream.map_err(DataFusionError::from).try_collect().await
}

/// The `k` rows whose `column` best matches the words of `query` by BM25 among the rows that
/// pass `filter`, with the columns `projection` names (all when `None`) plus `_score`, best
/// first. Uses the column's full-text index when there is one, a scan otherwise.
pub async fn search_text(
    dataset: &Dataset,
    column: &str,
    query: &str,
    k: usize,
    filter: Option<Expr>,
    projection: Option<&[&str]>,
) -> DfResult<Vec<RecordBatch>> {
    collect(text_scanner(dataset, column, query, k, filter, projection, false)?).await
}

fn text_scanner(
    dataset: &Dataset,
    column: &str,
    query: &str,
    k: usize,
    filter: Option<Expr>,
    projection: Option<&[&str]>,
    row_id: bool,
) -> DfResult<lance::dataset::scanner::Scanner> {
    use lance_index::scalar::FullTextSearchQuery;
    let limit = i64::try_from(k).map_err(|_| DataFusionError::Plan("k is too large".into()))?;
    let mut scanner = dataset.scan();
    scanner.prefilter(true);
    if let Some(filter) = filter {
        scanner.filter_expr(filter);
    }
    if let Some(columns) = projection {
        scanner.project(columns).map_err(DataFusionError::from)?;
    }
    if row_id {
        scanner.with_row_id();
    }
    let query = FullTextSearchQuery::new(query.to_string())
        .with_column(column.to_string())
        .map_err(DataFusionError::from)?
        .limit(Some(limit));
    scanner.full_text_search(query).map_err(DataFusionError::from)?;
    scanner.limit(Some(limit), None).map_err(DataFusionError::from)?;
    Ok(scanner)
}

/// Candidates each ranking contributes to a hybrid search of `k` rows: deeper than `k`, so a
/// row ranked a little below `k` by both can still make the fused top `k`.
fn hybrid_depth(k: usize) -> usize {
    k.saturating_mul(2).max(20).min(personadb_udfs::semantic_search::MAX_K as usize)
}

/// The `k` rows that rank best by reciprocal rank fusion of the vector search of
/// `vector_column` (by `vector`) and the BM25 search of `text_column` (by `query`), among the
/// rows that pass `filter`: every row scores the sum of `1 / (60 + rank)` over the rankings it
/// appears in. The columns `projection` names (all when `None`) plus `_score`, best first.
#[allow(clippy::too_many_arguments)]
pub async fn search_hybrid(
    dataset: &Dataset,
    text_column: &str,
    vector_column: &str,
    query: &str,
    vector: Vec<f32>,
    k: usize,
    filter: Option<Expr>,
    projection: Option<&[&str]>,
    params: SearchParams,
) -> DfResult<Vec<RecordBatch>> {
    search_hybrid_with(None, dataset, text_column, vector_column, query, vector, k, filter, projection, params).await
}

/// [`search_hybrid`], and with a `cache` of decoded columns, the vector ranking of a filtered
/// search that at most [`CACHED_EXACT_BELOW_ROWS`] rows pass is exact over the cached vectors
/// (as in [`search_vector_with`]).
#[allow(clippy::too_many_arguments)]
pub async fn search_hybrid_with(
    cache: Option<&HotCache>,
    dataset: &Dataset,
    text_column: &str,
    vector_column: &str,
    query: &str,
    vector: Vec<f32>,
    k: usize,
    filter: Option<Expr>,
    projection: Option<&[&str]>,
    params: SearchParams,
) -> DfResult<Vec<RecordBatch>> {
    use personadb_udfs::semantic_search::RRF_K;
    let depth = hybrid_depth(k);
    let schema = Schema::from(dataset.schema());
    let columns: Vec<String> = match projection {
        Some(p) => p.iter().map(|c| c.to_string()).collect(),
        None => schema.fields().iter().map(|f| f.name().clone()).collect(),
    };
    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
    let vector_filter = filter.clone();
    let by_vector = async {
        if let (Some(cache), Some(f)) = (cache, &vector_filter) {
            if let Some(found) =
                crate::hot::filtered_nearest(cache, dataset, vector_column, &vector, depth, f, CACHED_EXACT_BELOW_ROWS)
                    .await?
            {
                return Ok(vec![take_nearest(dataset, &found, Some(&names), true).await?]);
            }
        }
        let scanner =
            vector_scanner(dataset, vector_column, vector.clone(), depth, vector_filter, Some(&names), params, true)
                .await?;
        collect(scanner).await
    };
    let (by_vector, by_text) = futures::future::try_join(
        by_vector,
        collect(text_scanner(dataset, text_column, query, depth, filter, Some(&names), true)?),
    )
    .await?;
    // Each ranking in order: (batch, row) by rank.
    let ranked = |batches: &[RecordBatch], by: &str, descending: bool| -> DfResult<Vec<(u64, f32, usize, usize)>> {
        let mut rows = Vec::new();
        for (b, batch) in batches.iter().enumerate() {
            let ids = batch
                .column_by_name(ROW_ID)
                .and_then(|c| c.as_any().downcast_ref::<arrow::array::UInt64Array>().cloned())
                .ok_or_else(|| DataFusionError::Internal("the search returned no row ids".into()))?;
            let key = arrow::compute::cast(
                batch
                    .column_by_name(by)
                    .ok_or_else(|| DataFusionError::Internal(format!("the search returned no {by}")))?,
                &DataType::Float32,
            )?;
            let key = key
                .as_any()
                .downcast_ref::<Float32Array>()
                .ok_or_else(|| DataFusionError::Internal(format!("{by} is not a number")))?;
            for r in 0..batch.num_rows() {
                let v = if key.is_null(r) { f32::NAN } else { key.value(r) };
                rows.push((ids.value(r), if descending { -v } else { v }, b, r));
            }
        }
        rows.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
        Ok(rows)
    };
    let vector_rows = ranked(&by_vector, DISTANCE, false)?;
    let text_rows = ranked(&by_text, SCORE, true)?;
    // Fused score per row id, with where to take the row from and its best rank (ties).
    let mut fused: HashMap<u64, (f64, usize, (usize, usize))> = HashMap::new();
    for (source, rows) in [(0usize, &vector_rows), (1, &text_rows)] {
        let offset = if source == 0 { 0 } else { by_vector.len() };
        for (rank, &(id, _, b, r)) in rows.iter().enumerate() {
            let entry = fused.entry(id).or_insert((0.0, usize::MAX, (offset + b, r)));
            entry.0 += 1.0 / (RRF_K + rank as f64 + 1.0);
            entry.1 = entry.1.min(rank);
        }
    }
    let mut order: Vec<(u64, f64, usize, (usize, usize))> =
        fused.into_iter().map(|(id, (score, best, at))| (id, score, best, at)).collect();
    order.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.2.cmp(&b.2)).then(a.0.cmp(&b.0)));
    order.truncate(k);
    let sources: Vec<&RecordBatch> = by_vector.iter().chain(by_text.iter()).collect();
    let indices: Vec<(usize, usize)> = order.iter().map(|o| o.3).collect();
    let mut fields: Vec<Arc<Field>> = Vec::new();
    let mut arrays: Vec<arrow::array::ArrayRef> = Vec::new();
    for name in &columns {
        let field =
            schema.field_with_name(name).map_err(|_| DataFusionError::Plan(format!("table has no column `{name}`")))?;
        let parts: Vec<&dyn Array> = sources
            .iter()
            .map(|b| {
                b.column_by_name(name)
                    .map(|c| c.as_ref())
                    .ok_or_else(|| DataFusionError::Internal(format!("the search returned no column {name}")))
            })
            .collect::<DfResult<_>>()?;
        arrays.push(if parts.is_empty() {
            arrow::array::new_empty_array(field.data_type())
        } else {
            arrow::compute::interleave(&parts, &indices)?
        });
        fields.push(Arc::new(field.clone()));
    }
    fields.push(Arc::new(Field::new(SCORE, DataType::Float32, true)));
    arrays.push(Arc::new(Float32Array::from(order.iter().map(|o| o.1 as f32).collect::<Vec<_>>())));
    let batch = RecordBatch::try_new_with_options(
        Arc::new(Schema::new(fields)),
        arrays,
        &arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(order.len())),
    )?;
    Ok(vec![batch])
}

/// A search as `personadb search` asks for it, built as a query plan from its parts: the
/// filter is parsed as one SQL expression over the table's columns and nothing the user types
/// is ever pasted into SQL text, so no filter can end a statement and start another.
#[derive(Debug, Clone)]
pub struct SearchQuery {
    /// How rows are ranked: by meaning, by words (BM25), or both fused.
    pub mode: SearchMode,
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
    /// Plans and runs the search in `session`: `distance` (vector) or `score` (text, hybrid),
    /// the shown columns and the field's (truncated) text, best first.
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
        let (field, embedding) = field_pair(&self.field);
        let column = match self.mode {
            SearchMode::Vector => embedding,
            SearchMode::Text | SearchMode::Hybrid => field.clone(),
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
        let function = ctx.table_function(self.mode.function())?;
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
        let rank = self.mode.rank_column();
        let ascending = self.mode == SearchMode::Vector;
        frame = frame.sort(vec![ident(rank).sort(ascending, false)])?;
        let mut select = vec![round(vec![ident(rank), lit(4i64)]).alias(rank.trim_start_matches('_'))];
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
                crate::error::name_list(
                    &valid_fields
                        .iter()
                        .map(|f| f.name())
                        .filter(|n| *n != DISTANCE && *n != SCORE)
                        .collect::<Vec<_>>(),
                    Some(&field.name)
                )
            ),
            other => other.to_string(),
        },
        other => crate::error::first_line(&other.to_string()).to_string(),
    };
    Error::InvalidArgument { name: format!("filter `{}`", crate::error::shorten(filter, 80)), reason }
}
