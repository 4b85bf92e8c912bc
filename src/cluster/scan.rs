//! Stored tables on a cluster. The client names a table by its database location, name and
//! the version it planned against ([`ClusterTable`]); the scheduler opens that version and
//! splits its fragments into partitions ([`FragmentScanExec`]); each executor task opens the
//! table itself and reads only its own fragments, so no partition reads another's rows (a
//! shared Lance scan stream would be read once per task).

use std::fmt;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use arrow::record_batch::{RecordBatch, RecordBatchOptions};
use async_trait::async_trait;
use datafusion::catalog::{SchemaProvider, Session, TableProvider};
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::TaskContext;
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties, SendableRecordBatchStream,
};
use futures::{StreamExt, TryStreamExt};
use lance::Dataset;
use serde::{Deserialize, Serialize};

use super::codec::{schema_from_hex, schema_to_hex};
use crate::database::Database;

/// A table as a plan names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct TableSpec {
    /// The database: an absolute directory every process sees, or `s3://bucket/prefix`.
    pub location: String,
    pub table: String,
    /// The version the statement was planned against (what every task reads).
    pub version: u64,
}

/// Opens a version of a table of the database at `location`, credentials (for `s3://`) from
/// this process's environment.
pub(crate) async fn open_version(spec: &TableSpec) -> crate::Result<Dataset> {
    open_at(spec, Some(spec.version)).await
}

/// Opens a table of `spec`'s database at `version`, or at its latest version.
async fn open_at(spec: &TableSpec, version: Option<u64>) -> crate::Result<Dataset> {
    let mut builder = lance::dataset::builder::DatasetBuilder::from_uri(&table_uri(&spec.location, &spec.table))
        .with_session(super::lance_session());
    if let Some(version) = version {
        builder = builder.with_version(version);
    }
    if let Some(params) = store_params(&spec.location)? {
        builder = builder.with_store_params(params);
    }
    Ok(builder.load().await?)
}

/// A table's dataset URI in the database at `location`.
pub(crate) fn table_uri(location: &str, table: &str) -> String {
    match crate::remote::is_remote(std::path::Path::new(location)) {
        true => format!("{}/{table}{}", location.trim_end_matches('/'), crate::database::TABLE_SUFFIX),
        false => std::path::Path::new(location)
            .join(format!("{table}{}", crate::database::TABLE_SUFFIX))
            .to_string_lossy()
            .into_owned(),
    }
}

/// Lance's store parameters for `location` (None for a local directory).
pub(crate) fn store_params(location: &str) -> crate::Result<Option<lance::io::ObjectStoreParams>> {
    if !crate::remote::is_remote(std::path::Path::new(location)) {
        return Ok(None);
    }
    let remote = crate::remote::Remote::new(location, crate::remote::StorageOptions::from_env()?)?;
    Ok(Some(remote.lance_params()))
}

/// A stored table in a cluster plan.
#[derive(Debug)]
pub(crate) struct ClusterTable {
    /// The version moves only by [`ClusterTable::refresh`] (a prepared statement run again).
    spec: std::sync::RwLock<TableSpec>,
    /// The columns as SQL sees them ([`crate::storage::sql_schema`]).
    schema: SchemaRef,
}

impl ClusterTable {
    pub fn new(spec: TableSpec, schema: SchemaRef) -> Self {
        ClusterTable { spec: std::sync::RwLock::new(spec), schema }
    }

    pub fn spec(&self) -> TableSpec {
        match self.spec.read() {
            Ok(spec) => spec.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Moves the table to its latest committed version, so a plan made once and run again (a
    /// prepared statement) reads what was committed since, as a new statement does.
    pub async fn refresh(&self) -> crate::Result<()> {
        let mut spec = self.spec();
        spec.version = open_at(&spec, None).await?.version().version;
        match self.spec.write() {
            Ok(mut current) => *current = spec,
            Err(poisoned) => *poisoned.into_inner() = spec,
        }
        Ok(())
    }

    /// The table `name` of `db` at its latest version.
    pub async fn open(db: &Database, location: &str, name: &str) -> crate::Result<Self> {
        let dataset = db.open_table(name).await?;
        let schema = crate::storage::sql_schema(&arrow::datatypes::Schema::from(dataset.schema()));
        let spec =
            TableSpec { location: location.to_string(), table: name.to_string(), version: dataset.version().version };
        Ok(ClusterTable::new(spec, schema))
    }
}

#[async_trait]
impl TableProvider for ClusterTable {
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
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let table = self.spec();
        let dataset = open_version(&table).await?;
        let ids: Vec<u64> = dataset.fragments().iter().map(|f| f.id).collect();
        // Contiguous groups of fragments, one per partition, in table order.
        let partitions = state.config().target_partitions().clamp(1, ids.len().max(1));
        let per = ids.len().div_ceil(partitions).max(1);
        let mut groups: Vec<Vec<u64>> = ids.chunks(per).map(<[u64]>::to_vec).collect();
        if groups.is_empty() {
            groups.push(Vec::new());
        }
        let indices: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..self.schema.fields().len()).collect(),
        };
        let projected = Arc::new(self.schema.project(&indices)?);
        let columns = indices.iter().map(|&i| self.schema.field(i).name().clone()).collect();
        let spec = ScanSpec { table, groups, columns, limit, schema: schema_to_hex(&projected)? };
        Ok(Arc::new(FragmentScanExec::new(spec, projected)))
    }
}

/// What a [`FragmentScanExec`] reads.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ScanSpec {
    pub table: TableSpec,
    /// The fragment ids of each partition.
    pub groups: Vec<Vec<u64>>,
    /// The columns read, by name (empty: rows without columns, for `count(*)`).
    pub columns: Vec<String>,
    /// At most this many rows per partition.
    pub limit: Option<usize>,
    /// The output schema ([`schema_to_hex`]).
    pub schema: String,
}

/// Reads a table's fragments, one group per partition.
#[derive(Debug)]
pub(crate) struct FragmentScanExec {
    spec: ScanSpec,
    schema: SchemaRef,
    properties: Arc<PlanProperties>,
}

impl FragmentScanExec {
    fn new(spec: ScanSpec, schema: SchemaRef) -> Self {
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(spec.groups.len()),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        FragmentScanExec { spec, schema, properties }
    }

    pub fn from_spec(spec: ScanSpec) -> DfResult<Self> {
        let schema = schema_from_hex(&spec.schema)?;
        Ok(Self::new(spec, schema))
    }

    pub fn spec(&self) -> &ScanSpec {
        &self.spec
    }
}

impl DisplayAs for FragmentScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let fragments: usize = self.spec.groups.iter().map(Vec::len).sum();
        write!(
            f,
            "FragmentScanExec: table={} version={} fragments={fragments} partitions={} columns=[{}]",
            self.spec.table.table,
            self.spec.table.version,
            self.spec.groups.len(),
            self.spec.columns.join(", ")
        )?;
        if let Some(limit) = self.spec.limit {
            write!(f, " limit={limit}")?;
        }
        Ok(())
    }
}

impl ExecutionPlan for FragmentScanExec {
    fn name(&self) -> &str {
        "FragmentScanExec"
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

    fn execute(&self, partition: usize, _context: Arc<TaskContext>) -> DfResult<SendableRecordBatchStream> {
        let ids = self.spec.groups.get(partition).cloned().ok_or_else(|| {
            DataFusionError::Internal(format!("FragmentScanExec: partition {partition} of {}", self.spec.groups.len()))
        })?;
        let spec = self.spec.clone();
        let schema = self.schema.clone();
        let batches = futures::stream::once(read_fragments(spec, ids, schema.clone())).try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, batches)))
    }
}

/// The rows of fragments `ids`, in table order, as SQL sees them.
async fn read_fragments(
    spec: ScanSpec,
    ids: Vec<u64>,
    schema: SchemaRef,
) -> DfResult<futures::stream::BoxStream<'static, DfResult<RecordBatch>>> {
    if ids.is_empty() {
        return Ok(futures::stream::empty().boxed());
    }
    let dataset = open_version(&spec.table).await?;
    let fragments: Vec<_> = dataset.fragments().iter().filter(|f| ids.contains(&f.id)).cloned().collect();
    if fragments.len() != ids.len() {
        return Err(DataFusionError::Execution(format!(
            "table '{}' version {} lacks fragments the plan names (was it cleaned up?)",
            spec.table.table, spec.table.version
        )));
    }
    // `count(*)` asks for no columns: read the narrowest way Lance allows (the first column)
    // and keep only the row counts.
    let read: Vec<String> = match spec.columns.is_empty() {
        true => vec![dataset.schema().fields.first().map(|f| f.name.clone()).unwrap_or_default()],
        false => spec.columns.clone(),
    };
    let mut scanner = dataset.scan();
    scanner.with_fragments(fragments).scan_in_order(true);
    scanner.project(&read).map_err(crate::Error::from)?;
    if let Some(limit) = spec.limit {
        scanner.limit(Some(limit as i64), None).map_err(crate::Error::from)?;
    }
    let stream = scanner.try_into_stream().await.map_err(crate::Error::from)?;
    let empty = spec.columns.is_empty();
    Ok(stream
        .map(move |batch| {
            let batch = batch.map_err(crate::Error::from)?;
            if empty {
                let options = RecordBatchOptions::new().with_row_count(Some(batch.num_rows()));
                return Ok(RecordBatch::try_new_with_options(schema.clone(), Vec::new(), &options)?);
            }
            let columns =
                batch.columns().iter().map(|c| crate::storage::sql_array(c.clone())).collect::<DfResult<Vec<_>>>()?;
            Ok(RecordBatch::try_new(schema.clone(), columns)?)
        })
        .boxed())
}

/// The database's tables, as the client of a cluster plans with them.
#[derive(Debug)]
pub(crate) struct ClusterSchema {
    pub db: Arc<Database>,
    pub location: String,
}

#[async_trait]
impl SchemaProvider for ClusterSchema {
    fn table_names(&self) -> Vec<String> {
        self.db.table_names()
    }

    async fn table(&self, name: &str) -> DfResult<Option<Arc<dyn TableProvider>>> {
        if !self.db.table_exists(name) {
            return Ok(None);
        }
        Ok(Some(Arc::new(ClusterTable::open(&self.db, &self.location, name).await?)))
    }

    fn table_exist(&self, name: &str) -> bool {
        self.db.table_exists(name)
    }
}
