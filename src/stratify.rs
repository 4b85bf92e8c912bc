//! `stratified_sample` over stored tables. The table function is planned synchronously, so
//! the session opens the tables a statement samples from before planning it
//! ([`Stratifier::prepare`]); the sample itself is drawn when the plan runs: one pass reads
//! the strata columns and ranks each row by a hash of (seed, row position), a second pass keeps
//! each stratum's lowest-ranked rows.
//!
//! Every sampled row carries its survey weight in a `weight` column: the inverse of its
//! probability of selection, `N_h / n_h` for a stratum of `N_h` rows that gave `n_h`, so the
//! weights of a stratum add up to its rows in the table and weighted counts reproduce the
//! table's shares exactly, whatever the allocation. A table that already has a `weight`
//! column (a sample of a sample) gets the product, the usual two-phase weight.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arrow::array::{Array, AsArray, BooleanArray, Float64Array, RecordBatch};
use arrow::datatypes::{DataType, Field, Float64Type, Schema, SchemaRef};
use arrow::row::{RowConverter, SortField};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{plan_err, DataFusionError};
use datafusion::datasource::TableType;
use datafusion::error::Result as DfResult;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties, SendableRecordBatchStream,
};
use futures::TryStreamExt;
use personadb_udfs::backends::largest_remainder;
use personadb_udfs::{StratifyRequest, TableStratifier};

/// The stratifier of one session: the tables its current statement samples from.
#[derive(Debug, Default)]
pub struct Stratifier {
    tables: Mutex<HashMap<String, Arc<dyn TableProvider>>>,
}

impl Stratifier {
    /// Makes `table` available to `stratified_sample` in the statements that follow.
    pub fn prepare(&self, name: &str, table: Arc<dyn TableProvider>) {
        if let Ok(mut t) = self.tables.lock() {
            t.insert(name.to_string(), table);
        }
    }
}

impl TableStratifier for Stratifier {
    fn stratify(&self, request: &StratifyRequest) -> DfResult<Arc<dyn TableProvider>> {
        let name = personadb_udfs::stratified_sample::NAME;
        let source = self.tables.lock().ok().and_then(|t| t.get(&request.table).cloned());
        let Some(source) = source else {
            return plan_err!("{name}: table '{}' not found", request.table);
        };
        let schema = source.schema();
        let mut columns = Vec::new();
        for c in &request.strata {
            match schema.index_of(c) {
                Ok(i) => columns.push(i),
                Err(_) => {
                    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
                    return plan_err!(
                        "{name}: table '{}' has no column `{c}` (columns: {})",
                        request.table,
                        crate::error::name_list(&names, Some(c))
                    );
                }
            }
        }
        let (schema, weight) = match schema.index_of(WEIGHT) {
            Ok(i) if schema.field(i).data_type() == &DataType::Float64 => (schema.clone(), Some(i)),
            Ok(i) => {
                return plan_err!(
                    "{name}: table '{}' has a column `{WEIGHT}` of type {}, where the sample writes its survey \
                     weights (Float64); rename it first",
                    request.table,
                    schema.field(i).data_type()
                )
            }
            Err(_) => {
                let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
                fields.push(Field::new(WEIGHT, DataType::Float64, false));
                (Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone())), None)
            }
        };
        Ok(Arc::new(StratifiedTable { source, request: request.clone(), columns, schema, weight }))
    }
}

/// The survey-weight column of a stratified sample (the name survey tools read).
pub const WEIGHT: &str = "weight";

/// A stratified sample of a table, drawn when scanned.
#[derive(Debug)]
struct StratifiedTable {
    source: Arc<dyn TableProvider>,
    request: StratifyRequest,
    /// Strata column indices in the source schema.
    columns: Vec<usize>,
    /// The sample's schema: the source's, with `weight` last unless the source has it.
    schema: SchemaRef,
    /// The source's own `weight` column, multiplied into the sample's.
    weight: Option<usize>,
}

fn rank(seed: u64, row: u64) -> u64 {
    // SplitMix64 of (seed, row): a fixed pseudo-random order of the rows per seed.
    crate::hash::mix64(seed ^ row.wrapping_mul(crate::hash::GOLDEN_GAMMA).wrapping_add(0xD1B5_4A32_D192_ED03))
}

/// Reads every batch of `plan`'s partitions in partition order (also `near_duplicates`'s).
pub(crate) async fn read_all(plan: Arc<dyn ExecutionPlan>, state: &dyn Session) -> DfResult<Vec<RecordBatch>> {
    read_all_with(plan, state.task_ctx()).await
}

async fn read_all_with(plan: Arc<dyn ExecutionPlan>, task: Arc<TaskContext>) -> DfResult<Vec<RecordBatch>> {
    let mut out = Vec::new();
    for p in 0..plan.properties().partitioning.partition_count() {
        let stream = plan.execute(p, task.clone())?;
        out.extend(stream.try_collect::<Vec<_>>().await?);
    }
    Ok(out)
}

#[async_trait]
impl TableProvider for StratifiedTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    /// Plans the two passes over the source; the sample is drawn when the plan runs (so
    /// planning, EXPLAIN included, reads no rows).
    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        _limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let keys = self.source.scan(state, Some(&self.columns), &[], None).await?;
        let full = self.source.scan(state, None, &[], None).await?;
        let projection = match projection {
            Some(p) => p.clone(),
            None => (0..self.schema.fields().len()).collect(),
        };
        let schema = Arc::new(self.schema.project(&projection)?);
        let draw = Arc::new(Draw {
            request: self.request.clone(),
            key_types: self.columns.iter().map(|c| self.source.schema().field(*c).data_type().clone()).collect(),
            schema: self.schema.clone(),
            weight: self.weight,
            keys,
            full,
        });
        Ok(Arc::new(StratifiedSampleExec::new(draw, projection, schema)))
    }
}

/// One draw of a stratified sample: the plans of its two passes over the source.
#[derive(Debug)]
struct Draw {
    request: StratifyRequest,
    /// The types of the strata columns, as the first pass reads them.
    key_types: Vec<DataType>,
    /// The sample's schema (all columns).
    schema: SchemaRef,
    weight: Option<usize>,
    /// Pass 1: the strata columns of every row.
    keys: Arc<dyn ExecutionPlan>,
    /// Pass 2: every column of every row.
    full: Arc<dyn ExecutionPlan>,
}

impl Draw {
    async fn run(&self, task: Arc<TaskContext>) -> DfResult<Vec<RecordBatch>> {
        let name = personadb_udfs::stratified_sample::NAME;
        let req = &self.request;
        // Pass 1: the strata of every row, in the table's stored order.
        let fields: Vec<SortField> = self.key_types.iter().map(|t| SortField::new(t.clone())).collect();
        let converter = RowConverter::new(fields)?;
        let mut stratum_of_key: HashMap<Vec<u8>, usize> = HashMap::new();
        let mut strata: Vec<(Vec<u8>, String, Vec<(u64, u64)>)> = Vec::new(); // (key, label, (rank, row))
        let mut row = 0u64;
        for batch in read_all_with(self.keys.clone(), task.clone()).await? {
            let rows = converter.convert_columns(batch.columns())?;
            for i in 0..batch.num_rows() {
                let key = rows.row(i).as_ref().to_vec();
                let s = match stratum_of_key.get(&key) {
                    Some(s) => *s,
                    None => {
                        let label = (0..batch.num_columns())
                            .map(|c| {
                                let v =
                                    arrow::util::display::array_value_to_string(batch.column(c), i).unwrap_or_default();
                                format!(
                                    "{} = {}",
                                    req.strata[c],
                                    if batch.column(c).is_null(i) { "NULL".into() } else { v }
                                )
                            })
                            .collect::<Vec<_>>()
                            .join(", ");
                        strata.push((key.clone(), label, Vec::new()));
                        stratum_of_key.insert(key, strata.len() - 1);
                        strata.len() - 1
                    }
                };
                strata[s].2.push((rank(req.seed, row), row));
                row += 1;
            }
        }
        let total = row;
        if req.n > total {
            return plan_err!("{name}: n = {} but table '{}' has only {total} rows", req.n, req.table);
        }
        // Strata in the sort order of their values, so 'equal' remainders are reproducible.
        strata.sort_by(|a, b| a.0.cmp(&b.0));
        let weights = req.allocation.weights(strata.iter().map(|s| s.2.len() as f64));
        let quotas = largest_remainder(req.n, &weights);
        // The weight of each selected row (0 for a row not drawn): N_h / n_h.
        let mut selected = vec![0.0f64; total as usize];
        for ((_, label, rows), quota) in strata.iter_mut().zip(&quotas) {
            if (*quota as usize) > rows.len() {
                return plan_err!(
                    "{name}: stratum ({label}) has {} rows but its quota is {quota}; lower n or use 'proportional'",
                    rows.len()
                );
            }
            rows.sort_unstable();
            let weight = rows.len() as f64 / *quota as f64;
            for (_, r) in rows.iter().take(*quota as usize) {
                selected[*r as usize] = weight;
            }
        }
        // Pass 2: keep the selected rows.
        let mut kept = Vec::new();
        let mut offset = 0usize;
        for batch in read_all_with(self.full.clone(), task).await? {
            let n = batch.num_rows();
            let Some(flags) = selected.get(offset..offset + n) else {
                return Err(DataFusionError::Execution(format!(
                    "{name}: table '{}' changed while it was sampled (more than {total} rows)",
                    req.table
                )));
            };
            let mask = BooleanArray::from(flags.iter().map(|w| *w > 0.0).collect::<Vec<_>>());
            let drawn: Vec<f64> = flags.iter().copied().filter(|w| *w > 0.0).collect();
            offset += n;
            if drawn.is_empty() {
                continue;
            }
            let b = arrow::compute::filter_record_batch(&batch, &mask)?;
            let mut columns = b.columns().to_vec();
            match self.weight {
                Some(i) => {
                    let before = columns[i].as_primitive::<Float64Type>();
                    let product: Float64Array = before.iter().zip(&drawn).map(|(w, d)| w.map(|w| w * d)).collect();
                    columns[i] = Arc::new(product);
                }
                None => columns.push(Arc::new(Float64Array::from(drawn))),
            }
            kept.push(RecordBatch::try_new(self.schema.clone(), columns)?);
        }
        if offset as u64 != total {
            return Err(DataFusionError::Execution(format!(
                "{name}: table '{}' changed while it was sampled ({total} then {offset} rows)",
                req.table
            )));
        }
        Ok(kept)
    }
}

/// The operator that draws a stratified sample when it runs (one partition).
#[derive(Debug)]
struct StratifiedSampleExec {
    draw: Arc<Draw>,
    projection: Vec<usize>,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl StratifiedSampleExec {
    fn new(draw: Arc<Draw>, projection: Vec<usize>, schema: SchemaRef) -> Self {
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(1),
            EmissionType::Final,
            Boundedness::Bounded,
        ));
        StratifiedSampleExec { draw, projection, schema, properties }
    }
}

impl DisplayAs for StratifiedSampleExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let req = &self.draw.request;
        write!(
            f,
            "StratifiedSampleExec: table={} n={} strata=[{}] seed={}",
            req.table,
            req.n,
            req.strata.join(", "),
            req.seed
        )
    }
}

impl ExecutionPlan for StratifiedSampleExec {
    fn name(&self) -> &str {
        "StratifiedSampleExec"
    }

    fn properties(&self) -> &Arc<PlanProperties> {
        &self.properties
    }

    fn children(&self) -> Vec<&Arc<dyn ExecutionPlan>> {
        Vec::new()
    }

    fn with_new_children(self: Arc<Self>, _: Vec<Arc<dyn ExecutionPlan>>) -> DfResult<Arc<dyn ExecutionPlan>> {
        Ok(self)
    }

    fn execute(&self, partition: usize, context: Arc<TaskContext>) -> DfResult<SendableRecordBatchStream> {
        if partition != 0 {
            return Err(DataFusionError::Internal(format!("StratifiedSampleExec: partition {partition} of 1")));
        }
        let (draw, projection) = (self.draw.clone(), self.projection.clone());
        let stream = futures::stream::once(async move {
            let projected: DfResult<Vec<DfResult<RecordBatch>>> = draw
                .run(context)
                .await
                .map(|batches| batches.iter().map(|b| b.project(&projection).map_err(DataFusionError::from)).collect());
            projected.map(futures::stream::iter)
        })
        .try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), stream)))
    }
}
