//! `near_duplicates(table, column, threshold)` over stored tables: like `stratified_sample`,
//! the session opens the tables a statement names before planning it; the search runs when
//! the scan is planned (one pass reads the embedding column, a second keeps the rows whose
//! nearest neighbour is a near duplicate).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use arrow::array::{Float64Array, RecordBatch, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use async_trait::async_trait;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{plan_err, DataFusionError};
use datafusion::datasource::{MemTable, TableType};
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::Expr;
use datafusion::physical_plan::ExecutionPlan;
use personadb_udfs::near_duplicates::NAME;
use personadb_udfs::{DuplicateFinder, DuplicateRequest};

use super::neighbors;
use crate::stratify::read_all;

/// The columns `near_duplicates` adds.
pub const ADDED: [&str; 3] = ["_row", "_neighbor_row", "_similarity"];

/// The near-duplicate finder of one session: the tables its current statement names.
#[derive(Debug, Default)]
pub struct Finder {
    tables: Mutex<HashMap<String, Arc<dyn TableProvider>>>,
}

impl Finder {
    /// Makes `table` available to `near_duplicates` in the statements that follow.
    pub fn prepare(&self, name: &str, table: Arc<dyn TableProvider>) {
        if let Ok(mut t) = self.tables.lock() {
            t.insert(name.to_string(), table);
        }
    }
}

/// Checks that `column` of `schema` is an embedding column (fixed-size list of float16 or float32);
/// its index and dimension.
pub fn embedding_column(schema: &Schema, table: &str, column: &str) -> std::result::Result<(usize, usize), String> {
    let Ok(i) = schema.index_of(column) else {
        let names: Vec<&str> = schema
            .fields()
            .iter()
            .filter(|f| matches!(f.data_type(), DataType::FixedSizeList(..)))
            .map(|f| f.name().as_str())
            .collect();
        return Err(format!(
            "table '{table}' has no column `{column}` (embedding columns: {})",
            if names.is_empty() { "none".to_string() } else { crate::error::name_list(&names, Some(column)) }
        ));
    };
    match schema.field(i).data_type() {
        DataType::FixedSizeList(_, dim) if crate::columns::VectorType::of(schema.field(i).data_type()).is_some() => {
            Ok((i, *dim as usize))
        }
        other => Err(format!(
            "column `{column}` of table '{table}' is {other}, not an embedding (fixed-size list of float16 or float32)"
        )),
    }
}

impl DuplicateFinder for Finder {
    fn near_duplicates(&self, request: &DuplicateRequest) -> DfResult<Arc<dyn TableProvider>> {
        let source = self.tables.lock().ok().and_then(|t| t.get(&request.table).cloned());
        let Some(source) = source else {
            return plan_err!("{NAME}: table '{}' not found", request.table);
        };
        let schema = source.schema();
        let (column, dim) = match embedding_column(&schema, &request.table, &request.column) {
            Ok(c) => c,
            Err(e) => return plan_err!("{NAME}: {e}"),
        };
        let mut fields: Vec<Field> = schema.fields().iter().map(|f| f.as_ref().clone()).collect();
        for name in ADDED {
            if schema.index_of(name).is_ok() {
                return plan_err!("{NAME}: table '{}' has a column `{name}`, which the function adds", request.table);
            }
        }
        fields.push(Field::new(ADDED[0], DataType::UInt64, false));
        fields.push(Field::new(ADDED[1], DataType::UInt64, false));
        fields.push(Field::new(ADDED[2], DataType::Float64, false));
        let out = Arc::new(Schema::new_with_metadata(fields, schema.metadata().clone()));
        Ok(Arc::new(DuplicateTable { source, request: request.clone(), column, dim, schema: out }))
    }
}

#[derive(Debug)]
struct DuplicateTable {
    source: Arc<dyn TableProvider>,
    request: DuplicateRequest,
    column: usize,
    dim: usize,
    schema: SchemaRef,
}

#[async_trait]
impl TableProvider for DuplicateTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Temporary
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        // Pass 1: the vectors, in the table's stored order.
        let mut vectors = super::Vectors::new(self.dim);
        let plan = self.source.scan(state, Some(&vec![self.column]), &[], None).await?;
        for batch in read_all(plan, state).await? {
            vectors.push(batch.column(0)).map_err(DataFusionError::Execution)?;
        }
        let total = vectors.rows;
        vectors.center();
        let nearest = neighbors::nearest(&vectors.data, self.dim, 0, super::threads());
        // Per row: (neighbour row, similarity) when a near duplicate.
        let mut hit: HashMap<u64, (u64, f64)> = HashMap::new();
        for (i, (nb, s)) in nearest.neighbor.iter().zip(&nearest.similarity).enumerate() {
            if let Some(nb) = nb {
                if (*s as f64) >= self.request.threshold {
                    hit.insert(vectors.row[i], (vectors.row[*nb as usize], *s as f64));
                }
            }
        }
        drop(vectors);
        // Pass 2: keep those rows.
        let mut kept = Vec::new();
        let mut offset = 0u64;
        let full = self.source.scan(state, None, &[], None).await?;
        for batch in read_all(full, state).await? {
            let n = batch.num_rows() as u64;
            let rows: Vec<u64> = (offset..offset + n).filter(|r| hit.contains_key(r)).collect();
            let mask = arrow::array::BooleanArray::from(
                (offset..offset + n).map(|r| hit.contains_key(&r)).collect::<Vec<_>>(),
            );
            offset += n;
            if rows.is_empty() {
                continue;
            }
            let b = arrow::compute::filter_record_batch(&batch, &mask)?;
            let mut columns = b.columns().to_vec();
            columns.push(Arc::new(UInt64Array::from(rows.clone())));
            columns.push(Arc::new(UInt64Array::from(rows.iter().map(|r| hit[r].0).collect::<Vec<_>>())));
            columns.push(Arc::new(Float64Array::from(rows.iter().map(|r| hit[r].1).collect::<Vec<_>>())));
            kept.push(RecordBatch::try_new(self.schema.clone(), columns)?);
        }
        if offset != total {
            return Err(DataFusionError::Execution(format!(
                "{NAME}: table '{}' changed while it was searched ({total} then {offset} rows)",
                self.request.table
            )));
        }
        let mem = MemTable::try_new(self.schema.clone(), vec![kept])?;
        mem.scan(state, projection, filters, limit).await
    }
}
