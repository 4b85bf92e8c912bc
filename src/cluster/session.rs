//! `sql --cluster`: statements planned and run through a Ballista scheduler. Queries run on the
//! executors (scans split by fragment, `sample_persona`, `stratified_sample`,
//! `generate_narrative`, joins, aggregates); `INSERT INTO t SELECT …` runs its select there and
//! appends the rows here, through the same path as a local insert (missing narratives and
//! embeddings filled, one commit).
//! `SET` applies to every job that follows. Other statements (CREATE, DROP, COPY, …) are refused:
//! run them without `--cluster`.

use std::sync::{Arc, Mutex};

use arrow::datatypes::SchemaRef;
use arrow::record_batch::RecordBatch;
use ballista::extension::SessionContextExt;
use ballista_core::extension::SessionConfigExt;
use datafusion::execution::{SessionStateBuilder, TaskContext};
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{DmlStatement, LogicalPlan, WriteOp};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::{PartitionStream, StreamingTableExec};
use datafusion::physical_plan::SendableRecordBatchStream;
use datafusion::prelude::SessionContext;
use datafusion::sql::parser::Statement;
use datafusion::sql::sqlparser::ast;

use super::scan::ClusterSchema;
use crate::database::Database;
use crate::error::{Error, Result};
use crate::PersonaSession;

/// A SQL session whose statements run on a cluster.
pub struct ClusterSession {
    /// For parsing, INSERT column matching and the local append.
    local: PersonaSession,
    remote: SessionContext,
    address: String,
    /// The database as the cluster's processes name it.
    location: String,
    /// The tables the statement being planned samples (`stratified_sample`), here and as its
    /// calls carry them.
    stratifier: Arc<crate::stratify::Stratifier>,
    tables: Arc<super::function::CarriedTables>,
}

impl std::fmt::Debug for ClusterSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterSession")
            .field("db", &self.local.database().dir())
            .field("cluster", &self.address)
            .finish()
    }
}

impl ClusterSession {
    /// A session over `db` planning through the scheduler at `address` (`df://HOST:PORT`).
    /// Nothing is sent until a statement runs.
    pub async fn connect(db: Arc<Database>, address: &str) -> Result<Self> {
        let url = super::scheduler_url(address)?;
        let location = super::shared_location(&db)?;
        let config = super::cluster_config()
            .with_ballista_logical_extension_codec(Arc::new(super::LogicalCodec::default()))
            .with_ballista_physical_extension_codec(Arc::new(super::PhysicalCodec::default()));
        let state = SessionStateBuilder::new().with_config(config).with_default_features().build();
        let remote = SessionContext::remote_with_state(&url, state).await?;
        // After the upgrade to Ballista (which sets the function lists anew).
        super::register_functions(&remote)?;
        let catalog = remote
            .catalog("datafusion")
            .ok_or_else(|| Error::Unsupported("DataFusion's default catalog is missing".into()))?;
        catalog.register_schema("public", Arc::new(ClusterSchema { db: db.clone(), location: location.clone() }))?;
        let stratifier = Arc::new(crate::stratify::Stratifier::default());
        let tables = Arc::new(super::function::CarriedTables::default());
        remote.register_udtf(
            personadb_udfs::stratified_sample::NAME,
            Arc::new(super::function::CarriedFunction::stratified_sample(stratifier.clone(), tables.clone())),
        );
        Ok(ClusterSession {
            local: PersonaSession::new(db)?,
            remote,
            address: address.to_string(),
            location,
            stratifier,
            tables,
        })
    }

    /// Splits SQL text into statements.
    pub fn parse(&self, sql: &str) -> Result<Vec<Statement>> {
        self.local.parse(sql)
    }

    /// The Ballista context queries run in (its tables are the database's).
    pub fn context(&self) -> &SessionContext {
        &self.remote
    }

    /// Runs one statement on the cluster and streams its result.
    pub async fn execute(&self, statement: Statement) -> Result<SendableRecordBatchStream> {
        if let Statement::Statement(inner) = &statement {
            if let ast::Statement::Set(_) = inner.as_ref() {
                // Settings go with every job to the scheduler and executors; the local session
                // (inserts) takes them too.
                drop(self.local.execute(statement.clone()).await?);
            }
        }
        let plan = self.plan(statement).await?;
        self.execute_plan(plan).await
    }

    /// Plans a statement the cluster runs (a query, EXPLAIN, SET or `INSERT INTO … SELECT`;
    /// anything else is refused).
    pub async fn plan(&self, statement: Statement) -> Result<LogicalPlan> {
        let allowed = match &statement {
            Statement::Explain(_) => true,
            Statement::Statement(inner) => matches!(
                inner.as_ref(),
                ast::Statement::Query(_)
                    | ast::Statement::Explain { .. }
                    | ast::Statement::Insert(_)
                    | ast::Statement::Set(_)
            ),
            _ => false,
        };
        if !allowed {
            return Err(self.refused(&statement));
        }
        if let Statement::Statement(s) = &statement {
            // Table functions are planned synchronously: open the tables they sample first, at
            // the version every process will read.
            for name in crate::session::table_function_tables(s, personadb_udfs::stratified_sample::NAME) {
                let db = self.local.database();
                if db.table_exists(&name) {
                    let table = super::scan::ClusterTable::open(db, &self.location, &name).await?;
                    self.tables.prepare(&name, &table)?;
                    self.stratifier.prepare(&name, Arc::new(table));
                }
            }
        }
        let statement = self.local.insert_by_name(statement).await?;
        Ok(self.remote.state().statement_to_plan(statement).await?)
    }

    /// Runs a plan made by [`ClusterSession::plan`]: an insert's select on the cluster and its
    /// append here, anything else on the cluster.
    pub async fn execute_plan(&self, plan: LogicalPlan) -> Result<SendableRecordBatchStream> {
        match plan {
            LogicalPlan::Dml(dml) => self.insert(dml).await,
            plan => Ok(self.remote.execute_logical_plan(plan).await?.execute_stream().await?),
        }
    }

    fn refused(&self, statement: &Statement) -> Error {
        let text = statement.to_string();
        let first = text.split_whitespace().next().unwrap_or("").to_uppercase();
        Error::InvalidArgument {
            name: "--cluster".into(),
            reason: format!(
                "{first} does not run on a cluster: only queries (SELECT, WITH, EXPLAIN), SET and INSERT INTO … SELECT \
                 do; run it without --cluster"
            ),
        }
    }

    /// `INSERT INTO t SELECT …`: the select on the cluster, the append here.
    async fn insert(&self, dml: DmlStatement) -> Result<SendableRecordBatchStream> {
        let DmlStatement { table_name, op: WriteOp::Insert(op), input, .. } = dml else {
            return Err(Error::Unsupported("only INSERT INTO … SELECT changes a table on a cluster".into()));
        };
        if op != InsertOp::Append {
            return Err(Error::Unsupported(format!(
                "personadb tables are append-only: INSERT {op} into '{table_name}' is not supported"
            )));
        }
        let rows = self.remote.execute_logical_plan(Arc::unwrap_or_clone(input)).await?.execute_stream().await?;
        let table = crate::storage::LanceTable::open(self.local.database().clone(), table_name.table()).await?;
        let state = self.local.context().state();
        let source = Arc::new(StreamingTableExec::try_new(
            rows.schema(),
            vec![Arc::new(OneStream::new(rows)) as Arc<dyn PartitionStream>],
            None,
            Vec::new(),
            false,
            None,
        )?);
        let sink = datafusion::catalog::TableProvider::insert_into(&table, &state, source, InsertOp::Append).await?;
        let task: Arc<TaskContext> = self.local.context().task_ctx();
        let counts = datafusion::physical_plan::collect(sink, task).await?;
        let schema =
            counts.first().map(RecordBatch::schema).unwrap_or_else(|| Arc::new(arrow::datatypes::Schema::empty()));
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, futures::stream::iter(counts.into_iter().map(Ok)))))
    }

    /// Runs every statement in `sql` and returns the last one's rows.
    pub async fn sql(&self, sql: &str) -> Result<Vec<RecordBatch>> {
        let mut last = Vec::new();
        for statement in self.parse(sql)? {
            let stream = self.execute(statement).await?;
            last = datafusion::physical_plan::common::collect(stream).await?;
        }
        Ok(last)
    }
}

/// A stream already running, as the one partition of a plan.
struct OneStream {
    schema: SchemaRef,
    stream: Mutex<Option<SendableRecordBatchStream>>,
}

impl OneStream {
    fn new(stream: SendableRecordBatchStream) -> Self {
        OneStream { schema: stream.schema(), stream: Mutex::new(Some(stream)) }
    }
}

impl std::fmt::Debug for OneStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("OneStream")
    }
}

impl PartitionStream for OneStream {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let taken = self.stream.lock().ok().and_then(|mut s| s.take());
        match taken {
            Some(stream) => stream,
            None => Box::pin(RecordBatchStreamAdapter::new(
                self.schema.clone(),
                futures::stream::once(async {
                    Err(datafusion::error::DataFusionError::Internal("a cluster result read twice".into()))
                }),
            )),
        }
    }
}
