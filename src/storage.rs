//! Lance datasets as DataFusion tables. [`LanceTable`] reads the dataset version that was
//! latest when the query was planned (projection, filters and limit pushed down to Lance) and
//! appends through [`LanceSink`], which commits once at the end: an INSERT that fails midway
//! (a bad cast, a dropped connection) leaves the table exactly as it was.
//!
//! SQL sees a table's text columns as `Utf8View` ([`sql_schema`]), as DataFusion reads parquet:
//! its group-by, sort, comparison and `LIKE` kernels run faster on views than on `Utf8`
//! (`benches/README.md`, issue 39). Lance stores and returns `Utf8`; the conversion reuses the
//! decoded text (only the 16-byte views are built), and filters handed to Lance and rows
//! written to it are restated in Lance's types.

use std::fmt;
use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::datatypes::{DataType, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::Session;
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{not_impl_err, Result as DfResult, ScalarValue};
use datafusion::datasource::sink::{DataSink, DataSinkExec};
use datafusion::datasource::{MemTable, TableProvider, TableType};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown};
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan, SendableRecordBatchStream};
use lance::datafusion::LanceTableProvider;
use lance::Dataset;

use crate::database::{Database, WriteKind};
use crate::hot::HotCache;

/// A table of the database, backed by a Lance dataset.
#[derive(Debug)]
pub struct LanceTable {
    db: Arc<Database>,
    name: String,
    reader: std::sync::RwLock<Arc<LanceTableProvider>>,
    /// The columns as SQL sees them ([`sql_schema`]).
    schema: SchemaRef,
    /// The columns as Lance stores them.
    lance_schema: SchemaRef,
    /// Decoded columns kept between statements (long-lived sessions).
    cache: Option<Arc<HotCache>>,
    /// Columns read from Lance even with a cache: embeddings, lists and narrative prose are
    /// large and usually read for a few filtered rows, which Lance's indexes find cheaper.
    wide: Vec<String>,
}

impl LanceTable {
    /// Opens `name` at its latest committed version.
    pub async fn open(db: Arc<Database>, name: &str) -> crate::Result<Self> {
        Self::open_with(db, name, None).await
    }

    /// Opens `name` at its latest committed version, reading persona attribute columns
    /// through `cache` when there is one.
    pub async fn open_with(db: Arc<Database>, name: &str, cache: Option<Arc<HotCache>>) -> crate::Result<Self> {
        let dataset = Arc::new(db.open_table(name).await?);
        let reader = LanceTableProvider::new(dataset, false, false);
        let lance_schema = reader.schema();
        let schema = sql_schema(&lance_schema);
        let wide = match cache {
            Some(_) => wide_columns(&db, name, &lance_schema),
            None => Vec::new(),
        };
        Ok(LanceTable {
            db,
            name: name.to_string(),
            reader: std::sync::RwLock::new(Arc::new(reader)),
            schema,
            lance_schema,
            cache,
            wide,
        })
    }

    fn reader(&self) -> Arc<LanceTableProvider> {
        match self.reader.read() {
            Ok(reader) => reader.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The dataset this table reads.
    pub fn dataset(&self) -> Arc<Dataset> {
        self.reader().dataset()
    }

    /// Moves to the latest committed version when a newer one exists (for plans that are
    /// executed again later: prepared statements). A table whose columns changed meanwhile is
    /// an error: the plan was made for the old ones.
    pub async fn refresh(&self) -> crate::Result<()> {
        let current = self.dataset();
        if current.latest_version_id().await? == current.version().version {
            return Ok(());
        }
        let fresh = LanceTableProvider::new(Arc::new(self.db.open_table(&self.name).await?), false, false);
        if fresh.schema() != self.lance_schema {
            return Err(crate::Error::InvalidArgument {
                name: format!("table '{}'", self.name),
                reason: "its columns changed since the statement was prepared: prepare it again".into(),
            });
        }
        match self.reader.write() {
            Ok(mut reader) => *reader = Arc::new(fresh),
            Err(poisoned) => *poisoned.into_inner() = Arc::new(fresh),
        }
        Ok(())
    }
}

#[async_trait]
impl TableProvider for LanceTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        if let Some(cache) = &self.cache {
            let indices: Vec<usize> = match projection {
                Some(p) => p.clone(),
                None => (0..self.schema.fields().len()).collect(),
            };
            let names: Vec<&str> = indices.iter().map(|&i| self.schema.field(i).name().as_str()).collect();
            let dataset = self.dataset();
            // From the cache: attribute columns only, and with a LIMIT only what is held
            // already (Lance reads the first rows of a cold table faster than a whole column).
            let servable = !names.iter().any(|n| self.wide.iter().any(|w| w == n))
                && (limit.is_none() || cache.holds(&dataset, &names));
            if servable {
                let fragments = cache.table(&dataset, &names).await?;
                let projected = Arc::new(self.schema.project(&indices)?);
                // One partition in table order, as Lance's scan gives it (a plain SELECT ... LIMIT
                // shows the same rows either way); DataFusion spreads the work over its cores.
                let parts = crate::hot::partitions(&fragments, &projected, 1)?;
                return MemTable::try_new(projected, parts)?.scan(state, None, &[], limit).await;
            }
        }
        let filters: Vec<Expr> = filters.iter().map(lance_filter).collect();
        as_sql(self.reader().scan(state, projection, &filters, limit).await?)
    }

    /// Lance evaluates plain comparisons, boolean logic, IN lists, BETWEEN and IS NULL over
    /// columns and literals exactly, and uses its indexes for them; anything else (e.g. a UDF)
    /// stays with DataFusion. So does `LIKE`: Lance evaluates it in its one scan stream, while
    /// DataFusion runs it on every core after the scan (a `LIKE` query of 1M rows took 87 ms
    /// pushed down, DuckDB 14 ms). With a cache the filters Lance could evaluate are still
    /// given to it (a scan of wide columns goes to Lance), and DataFusion applies them again
    /// above the scan (a scan served from the cache ignores them).
    fn supports_filters_pushdown(&self, filters: &[&Expr]) -> DfResult<Vec<TableProviderFilterPushDown>> {
        let pushed = match self.cache {
            Some(_) => TableProviderFilterPushDown::Inexact,
            None => TableProviderFilterPushDown::Exact,
        };
        Ok(filters
            .iter()
            .map(|f| {
                if pushable(f) && !mentions_like(f) {
                    pushed.clone()
                } else {
                    TableProviderFilterPushDown::Unsupported
                }
            })
            .collect())
    }

    async fn insert_into(
        &self,
        _state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        insert_op: InsertOp,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        if insert_op != InsertOp::Append {
            return not_impl_err!(
                "personadb tables are append-only: INSERT {insert_op} into '{}' is not supported; use INSERT INTO ... or CREATE OR REPLACE TABLE ... AS",
                self.name
            );
        }
        let sink = LanceSink {
            db: self.db.clone(),
            table: self.name.clone(),
            schema: self.schema.clone(),
            lance_schema: self.lance_schema.clone(),
        };
        Ok(Arc::new(DataSinkExec::new(input, Arc::new(sink), None)))
    }
}

/// The schema SQL sees for a table Lance stores with `lance`: its text columns (`Utf8`) as
/// `Utf8View`, everything else as it is.
pub fn sql_schema(lance: &Schema) -> SchemaRef {
    let fields: Vec<arrow::datatypes::Field> = lance
        .fields()
        .iter()
        .map(|f| match f.data_type() {
            DataType::Utf8 => f.as_ref().clone().with_data_type(DataType::Utf8View),
            _ => f.as_ref().clone(),
        })
        .collect();
    Arc::new(Schema::new_with_metadata(fields, lance.metadata().clone()))
}

/// A column Lance returned, as SQL sees it ([`sql_schema`]): text as `Utf8View` over the same
/// text buffer.
pub fn sql_array(array: ArrayRef) -> DfResult<ArrayRef> {
    Ok(match array.data_type() {
        DataType::Utf8 => arrow::compute::cast(&array, &DataType::Utf8View)?,
        _ => array,
    })
}

/// A Lance scan's plan with its text columns as SQL sees them (a projection of casts, only when
/// there is text to convert).
fn as_sql(plan: Arc<dyn ExecutionPlan>) -> DfResult<Arc<dyn ExecutionPlan>> {
    use datafusion::physical_expr::expressions::{CastExpr, Column};
    use datafusion::physical_expr::PhysicalExpr;
    let schema = plan.schema();
    if !schema.fields().iter().any(|f| f.data_type() == &DataType::Utf8) {
        return Ok(plan);
    }
    let exprs: Vec<(Arc<dyn PhysicalExpr>, String)> = schema
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let column: Arc<dyn PhysicalExpr> = Arc::new(Column::new(f.name(), i));
            let expr: Arc<dyn PhysicalExpr> = match f.data_type() {
                DataType::Utf8 => Arc::new(CastExpr::new(column, DataType::Utf8View, None)),
                _ => column,
            };
            (expr, f.name().clone())
        })
        .collect();
    Ok(Arc::new(datafusion::physical_plan::projection::ProjectionExec::try_new(exprs, plan)?))
}

/// A filter over the SQL schema restated in Lance's types: text literals and casts to text as
/// `Utf8`.
fn lance_filter(expr: &Expr) -> Expr {
    let restated = expr.clone().transform(|e| {
        Ok(match e {
            Expr::Literal(ScalarValue::Utf8View(v), meta) => {
                Transformed::yes(Expr::Literal(ScalarValue::Utf8(v), meta))
            }
            Expr::Cast(c) if c.field.data_type() == &DataType::Utf8View => {
                Transformed::yes(Expr::Cast(datafusion::logical_expr::Cast::new(c.expr, DataType::Utf8)))
            }
            other => Transformed::no(other),
        })
    });
    match restated {
        Ok(t) => t.data,
        Err(_) => expr.clone(),
    }
}

/// The columns of `table` a [`HotCache`] leaves to Lance: embeddings and other lists, and the
/// narrative prose of its locale (or of any locale, for a table of unknown locale) with any
/// text column that has an `_embedding` column beside it.
fn wide_columns(db: &Database, table: &str, schema: &SchemaRef) -> Vec<String> {
    use arrow::datatypes::DataType;
    let narrative: Vec<String> = crate::locale::persona_schemas_of_table(db, table)
        .iter()
        .flat_map(|p| p.narrative.fields.iter().chain(p.narrative.lists.iter()).cloned().collect::<Vec<_>>())
        .collect();
    schema
        .fields()
        .iter()
        .filter(|f| {
            matches!(
                f.data_type(),
                DataType::FixedSizeList(..)
                    | DataType::List(_)
                    | DataType::LargeList(_)
                    | DataType::Binary
                    | DataType::LargeBinary
            ) || narrative.contains(f.name())
                || schema.field_with_name(&format!("{}_embedding", f.name())).is_ok()
        })
        .map(|f| f.name().clone())
        .collect()
}

/// Whether a filter has a `LIKE` anywhere in it.
fn mentions_like(expr: &Expr) -> bool {
    use datafusion::common::tree_node::TreeNode;
    expr.exists(|e| Ok(matches!(e, Expr::Like(_)))).unwrap_or(true)
}

/// Whether Lance can evaluate a filter exactly.
pub(crate) fn pushable(expr: &Expr) -> bool {
    match expr {
        Expr::Column(_) | Expr::Literal(_, _) => true,
        Expr::BinaryExpr(b) => {
            use datafusion::logical_expr::Operator::*;
            matches!(b.op, Eq | NotEq | Lt | LtEq | Gt | GtEq | And | Or) && pushable(&b.left) && pushable(&b.right)
        }
        Expr::Not(e) | Expr::IsNull(e) | Expr::IsNotNull(e) => pushable(e),
        Expr::Between(b) => pushable(&b.expr) && pushable(&b.low) && pushable(&b.high),
        Expr::InList(l) => pushable(&l.expr) && l.list.iter().all(pushable),
        Expr::Like(l) => !l.case_insensitive && l.escape_char.is_none() && pushable(&l.expr) && pushable(&l.pattern),
        Expr::Cast(c) => matches!(*c.expr, Expr::Literal(_, _)),
        _ => false,
    }
}

/// Appends an INSERT's rows to a Lance dataset in one commit.
pub struct LanceSink {
    db: Arc<Database>,
    table: String,
    /// The columns as SQL gives them.
    schema: SchemaRef,
    /// The columns as Lance stores them.
    lance_schema: SchemaRef,
}

impl fmt::Debug for LanceSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LanceSink").field("table", &self.table).finish()
    }
}

impl DisplayAs for LanceSink {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "LanceSink: table={}", self.table)
    }
}

#[async_trait]
impl DataSink for LanceSink {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    async fn write_all(&self, data: SendableRecordBatchStream, _context: &Arc<TaskContext>) -> DfResult<u64> {
        // DataFusion has already cast the input to the table's column types as SQL sees them;
        // restate text in Lance's type and re-label the batches with the table's schema so field
        // metadata and nullability match exactly.
        let schema = self.lance_schema.clone();
        let relabelled = futures::StreamExt::map(data, {
            let schema = schema.clone();
            move |batch| {
                let batch = batch?;
                let columns = batch
                    .columns()
                    .iter()
                    .zip(schema.fields())
                    .map(|(c, f)| match c.data_type() == f.data_type() {
                        true => Ok(c.clone()),
                        false => arrow::compute::cast(c, f.data_type()),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                arrow::record_batch::RecordBatch::try_new(schema.clone(), columns)
                    .map_err(|e| datafusion::error::DataFusionError::ArrowError(Box::new(e), None))
            }
        });
        let stream: SendableRecordBatchStream =
            Box::pin(datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(schema.clone(), relabelled));
        // Rows that come without narratives (`INSERT ... SELECT * FROM sample_persona(...)` into
        // a narrated table) are narrated by the table's locale, before their embeddings.
        let stream: SendableRecordBatchStream = match narrative_fill(&self.db, &self.table, &schema)? {
            None => stream,
            Some(fill) => {
                let fill = Arc::new(fill);
                let narrated = futures::StreamExt::then(stream, move |batch| {
                    let fill = fill.clone();
                    async move { fill.apply(batch?).await }
                });
                Box::pin(datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(schema.clone(), narrated))
            }
        };
        let fills = embedding_fills(&self.db, &self.table, &schema)?;
        let stream: SendableRecordBatchStream = if fills.is_empty() {
            stream
        } else {
            let filled = futures::StreamExt::then(stream, move |batch| {
                let fills = fills.clone();
                async move { fill_embeddings(batch?, &fills).await }
            });
            Box::pin(datafusion::physical_plan::stream::RecordBatchStreamAdapter::new(schema.clone(), filled))
        };
        let (_, rows) = self.db.write_stream(&self.table, stream, WriteKind::Append, None).await?;
        Ok(rows)
    }
}

/// The narrative columns an INSERT fills: the table's locale's template narrator and, for each
/// narrative column of the table, its index in the batch and in the narrator's output.
struct NarrativeFill {
    narrator: crate::narrate::PackNarrator,
    /// The prose columns whose all being NULL marks a row to narrate.
    prose: Vec<usize>,
    /// (table column, narrator output column).
    columns: Vec<(usize, usize)>,
}

/// The narrative fill of `table`, if it has narrative columns of its locale.
fn narrative_fill(db: &Database, table: &str, schema: &SchemaRef) -> crate::Result<Option<NarrativeFill>> {
    let Some(locale) = db.catalog()?.table(table)?.and_then(|t| t.locale) else { return Ok(None) };
    let Ok(model) = crate::locale::model(&locale) else { return Ok(None) };
    let output = crate::narrate::narrative_schema_for(&model.persona);
    let mut columns = Vec::new();
    let mut prose = Vec::new();
    for (j, field) in output.fields().iter().enumerate() {
        if let Ok(i) = schema.index_of(field.name()) {
            columns.push((i, j));
            if model.persona.narrative.fields.contains(field.name()) {
                prose.push(i);
            }
        }
    }
    if prose.is_empty() {
        return Ok(None);
    }
    let narrator = crate::narrate::PackNarrator::for_locale(&locale, crate::locale::language_of(&locale).as_deref())?;
    Ok(Some(NarrativeFill { narrator, prose, columns }))
}

impl NarrativeFill {
    /// Narrates the rows of `batch` whose prose columns are all NULL (their narratives are
    /// keyed by their uuid, so a persona reads the same whenever it is inserted).
    async fn apply(&self, batch: arrow::record_batch::RecordBatch) -> DfResult<arrow::record_batch::RecordBatch> {
        use arrow::array::Array;
        let missing: Vec<u32> = (0..batch.num_rows())
            .filter(|&i| self.prose.iter().all(|&c| batch.column(c).is_null(i)))
            .map(|i| i as u32)
            .collect();
        if missing.is_empty() {
            return Ok(batch);
        }
        let rows = arrow::compute::take_record_batch(&batch, &arrow::array::UInt32Array::from(missing.clone()))?;
        let narrated = self.narrator.narrate_batch(&rows, 0)?.batch;
        let mut which: Vec<(usize, usize)> = (0..batch.num_rows()).map(|i| (0, i)).collect();
        for (j, &i) in missing.iter().enumerate() {
            which[i as usize] = (1, j);
        }
        let mut columns = batch.columns().to_vec();
        for &(target, source) in &self.columns {
            let given = batch.column(target);
            let fresh = arrow::compute::cast(narrated.column(source), given.data_type())?;
            columns[target] = arrow::compute::interleave(&[given.as_ref(), fresh.as_ref()], &which)?;
        }
        Ok(arrow::record_batch::RecordBatch::try_new(batch.schema(), columns)?)
    }
}

/// An embedding column an INSERT fills: (text column index, embedding column index, the
/// column's recorded model).
type Fill = (usize, usize, Arc<dyn crate::embed::Embedder>);

/// The recorded embedding columns of `table` named `<field>_embedding` whose text column
/// `<field>` is in the table, each with the model it was written with.
fn embedding_fills(db: &Database, table: &str, schema: &SchemaRef) -> crate::Result<Vec<Fill>> {
    let recorded = db.catalog()?.embeddings(table)?;
    let mut fills = Vec::new();
    for (column, model, dimension) in recorded {
        let (Some(field), Ok(target)) = (column.strip_suffix("_embedding"), schema.index_of(&column)) else { continue };
        let Ok(source) = schema.index_of(field) else { continue };
        let embedder = crate::embed::by_name(&model).map_err(|e| crate::Error::InvalidArgument {
            name: format!("column `{column}` of table '{table}'"),
            reason: format!("it holds embeddings by {model}, which cannot embed new rows here: {e}"),
        })?;
        if embedder.dimension() != dimension {
            return Err(crate::Error::InvalidArgument {
                name: format!("column `{column}` of table '{table}'"),
                reason: format!(
                    "it holds embeddings of {dimension} dimensions, but {model} here gives {}, so new rows cannot be embedded consistently",
                    embedder.dimension()
                ),
            });
        }
        fills.push((source, target, embedder));
    }
    Ok(fills)
}

/// Computes the NULL embeddings of rows whose text is present; embeddings given by the
/// INSERT are kept as they are.
async fn fill_embeddings(
    batch: arrow::record_batch::RecordBatch,
    fills: &[Fill],
) -> DfResult<arrow::record_batch::RecordBatch> {
    use arrow::array::{Array, AsArray, FixedSizeListArray};
    let mut columns = batch.columns().to_vec();
    for (source, target, embedder) in fills {
        let (source, target) = (*source, *target);
        let text = arrow::compute::cast(batch.column(source), &arrow::datatypes::DataType::Utf8)?;
        let text = text.as_string::<i32>();
        let Some(stored) = batch.column(target).as_fixed_size_list_opt() else { continue };
        let Some(vector_type) = crate::columns::VectorType::of(stored.data_type()) else { continue };
        let given = &crate::columns::as_float32(stored)?;
        let missing: Vec<usize> = (0..batch.num_rows()).filter(|&i| given.is_null(i) && text.is_valid(i)).collect();
        if missing.is_empty() {
            continue;
        }
        let dim = given.value_length() as usize;
        let model: Arc<dyn crate::embed::Embedder> = embedder.clone();
        let vectors =
            crate::embed::embed_async(model, missing.iter().map(|&i| text.value(i).to_string()).collect()).await?;
        // Row by row (the batch may be a slice of a larger array).
        let mut values = vec![0f32; batch.num_rows() * dim];
        for i in (0..batch.num_rows()).filter(|&i| given.is_valid(i)) {
            let row = given.value(i);
            if let Some(row) = row.as_primitive_opt::<arrow::datatypes::Float32Type>() {
                for (j, v) in row.iter().enumerate().take(dim) {
                    values[i * dim + j] = v.unwrap_or(0.0);
                }
            }
        }
        let mut valid: Vec<bool> = (0..batch.num_rows()).map(|i| given.is_valid(i)).collect();
        for (v, &i) in vectors.iter().zip(&missing) {
            if v.len() != dim {
                return Err(datafusion::error::DataFusionError::Execution(format!(
                    "the embedding model returned {} values, the column holds {dim}",
                    v.len()
                )));
            }
            values[i * dim..(i + 1) * dim].copy_from_slice(v);
            valid[i] = true;
        }
        let array = vector_type.array(dim, values, Some(arrow::buffer::NullBuffer::from(valid)))?;
        // The column's own field (its metadata names the model).
        let arrow::datatypes::DataType::FixedSizeList(item, _) = stored.data_type() else { continue };
        columns[target] = Arc::new(FixedSizeListArray::try_new(
            item.clone(),
            dim as i32,
            array.as_fixed_size_list().values().clone(),
            array.nulls().cloned(),
        )?);
    }
    Ok(arrow::record_batch::RecordBatch::try_new(batch.schema(), columns)?)
}

#[cfg(test)]
mod tests {
    use datafusion::prelude::{col, lit};

    use super::*;

    /// LIKE stays with DataFusion in table scans (it filters on every core there), wherever it
    /// sits in a filter; `search` may still hand it to Lance as a prefilter.
    #[test]
    fn like_is_not_pushed_into_table_scans() {
        let like = col("first_name").like(lit("Jo%"));
        let mixed = col("age").gt(lit(30)).and(col("occupation").like(lit("%nurse%")).or(col("state").eq(lit("CA"))));
        let plain = col("age").gt(lit(30)).and(col("state").eq(lit("CA")));
        assert!(pushable(&like) && mentions_like(&like));
        assert!(pushable(&mixed) && mentions_like(&mixed));
        assert!(pushable(&plain) && !mentions_like(&plain));
    }
}
