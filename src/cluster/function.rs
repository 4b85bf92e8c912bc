//! Table functions on a cluster. A table function's result is a table provider the client made
//! by calling the function; the other processes cannot be handed that object, so the call
//! itself travels: the function's name and its literal arguments ([`FunctionCall`]). The
//! scheduler calls the function again to plan it, and each executor task calls it again to
//! run its own partition ([`FunctionScanExec`]), so every partition is computed where its
//! task runs. Functions that need no database session are carried as they are ([`Functions`]);
//! `stratified_sample` carries the tables it samples with its call ([`CarriedTable`]).

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::sync::{Arc, Mutex, OnceLock};

use arrow::datatypes::SchemaRef;
use async_trait::async_trait;
use datafusion::catalog::{Session, TableFunctionArgs, TableFunctionImpl, TableProvider};
use datafusion::common::{plan_err, ScalarValue};
use datafusion::datasource::TableType;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::{SessionState, SessionStateBuilder, TaskContext};
use datafusion::logical_expr::Expr;
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, ExecutionPlanProperties, Partitioning, PlanProperties,
    SendableRecordBatchStream,
};
use futures::TryStreamExt;
use serde::{Deserialize, Serialize};

use super::codec::{schema_from_hex, schema_to_hex};
use super::scan::{ClusterTable, TableSpec};

/// The table functions a cluster runs, by SQL name.
#[derive(Debug)]
pub(crate) struct Functions {
    functions: BTreeMap<&'static str, Arc<dyn TableFunctionImpl>>,
}

impl Functions {
    /// The process's set (built once).
    pub fn shared() -> &'static Functions {
        static SHARED: OnceLock<Functions> = OnceLock::new();
        SHARED.get_or_init(|| {
            let mut functions: BTreeMap<&'static str, Arc<dyn TableFunctionImpl>> = BTreeMap::new();
            if let Some(sampler) = crate::backends::backends().sampler {
                functions.insert(
                    personadb_udfs::sample_persona::NAME,
                    Arc::new(personadb_udfs::sample_persona::SamplePersona::new(sampler)),
                );
            }
            Functions { functions }
        })
    }

    pub fn all(&self) -> Vec<(&'static str, Arc<dyn TableFunctionImpl>)> {
        self.functions.iter().map(|(name, f)| (*name, f.clone())).collect()
    }

    fn get(&self, name: &str) -> DfResult<&Arc<dyn TableFunctionImpl>> {
        match self.functions.get(name) {
            Some(f) => Ok(f),
            None => plan_err!("table function '{name}' is not available on a cluster"),
        }
    }
}

/// A literal argument of a carried call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum Arg {
    Null,
    Bool(bool),
    Int(i64),
    UInt(u64),
    Float(f64),
    Text(String),
}

impl Arg {
    fn of(function: &str, expr: &Expr) -> DfResult<Arg> {
        let Some(value) = personadb_udfs::args::literal(expr) else {
            return plan_err!("{function}: on a cluster its arguments must be constants, got {expr}");
        };
        Ok(match value {
            v if v.is_null() => Arg::Null,
            ScalarValue::Boolean(Some(b)) => Arg::Bool(b),
            ScalarValue::Int8(Some(v)) => Arg::Int(v.into()),
            ScalarValue::Int16(Some(v)) => Arg::Int(v.into()),
            ScalarValue::Int32(Some(v)) => Arg::Int(v.into()),
            ScalarValue::Int64(Some(v)) => Arg::Int(v),
            ScalarValue::UInt8(Some(v)) => Arg::UInt(v.into()),
            ScalarValue::UInt16(Some(v)) => Arg::UInt(v.into()),
            ScalarValue::UInt32(Some(v)) => Arg::UInt(v.into()),
            ScalarValue::UInt64(Some(v)) => Arg::UInt(v),
            ScalarValue::Float32(Some(v)) => Arg::Float(v.into()),
            ScalarValue::Float64(Some(v)) => Arg::Float(v),
            ScalarValue::Utf8(Some(s)) | ScalarValue::LargeUtf8(Some(s)) | ScalarValue::Utf8View(Some(s)) => {
                Arg::Text(s)
            }
            other => {
                return plan_err!("{function}: on a cluster an argument of type {} cannot be passed", other.data_type())
            }
        })
    }

    fn expr(&self) -> Expr {
        Expr::Literal(
            match self {
                Arg::Null => ScalarValue::Null,
                Arg::Bool(b) => ScalarValue::Boolean(Some(*b)),
                Arg::Int(v) => ScalarValue::Int64(Some(*v)),
                Arg::UInt(v) => ScalarValue::UInt64(Some(*v)),
                Arg::Float(v) => ScalarValue::Float64(Some(*v)),
                Arg::Text(s) => ScalarValue::Utf8(Some(s.clone())),
            },
            None,
        )
    }
}

/// A call of a table function, as it travels.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct FunctionCall {
    pub function: String,
    pub args: Vec<Arg>,
    /// The stored tables the call reads, by the names its arguments give (`stratified_sample`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tables: Vec<CarriedTable>,
}

/// A stored table a function call reads: its name in the call, the version the client planned
/// against and its columns.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct CarriedTable {
    pub name: String,
    pub table: TableSpec,
    /// The SQL schema, Arrow IPC as hex.
    pub schema: String,
}

/// The stored tables a session's statement reads through table functions, by name (filled by
/// [`super::ClusterSession`] before it plans a statement).
#[derive(Debug, Default)]
pub(crate) struct CarriedTables {
    tables: Mutex<HashMap<String, CarriedTable>>,
}

impl CarriedTables {
    pub fn prepare(&self, name: &str, table: &ClusterTable) -> DfResult<()> {
        let carried =
            CarriedTable { name: name.to_string(), table: table.spec(), schema: schema_to_hex(&table.schema())? };
        if let Ok(mut tables) = self.tables.lock() {
            tables.insert(name.to_string(), carried);
        }
        Ok(())
    }

    /// The prepared tables that `args` name (text arguments equal to a table's name).
    fn named_by(&self, args: &[Arg]) -> Vec<CarriedTable> {
        let Ok(tables) = self.tables.lock() else { return Vec::new() };
        let mut out: Vec<CarriedTable> = Vec::new();
        for arg in args {
            if let Arg::Text(name) = arg {
                if let Some(t) = tables.get(name) {
                    if !out.iter().any(|o| &o.name == name) {
                        out.push(t.clone());
                    }
                }
            }
        }
        out
    }
}

/// `stratified_sample` over the tables a call carries (where the call is decoded).
fn stratified_sample(tables: &[CarriedTable]) -> DfResult<Arc<dyn TableFunctionImpl>> {
    let stratifier = Arc::new(crate::stratify::Stratifier::default());
    for t in tables {
        let schema = schema_from_hex(&t.schema)?;
        stratifier.prepare(&t.name, Arc::new(ClusterTable::new(t.table.clone(), schema)));
    }
    Ok(Arc::new(personadb_udfs::stratified_sample::StratifiedSample::new(stratifier)))
}

/// A table function registered under its SQL name whose results remember the call.
#[derive(Debug)]
pub(crate) struct CarriedFunction {
    name: &'static str,
    inner: Arc<dyn TableFunctionImpl>,
    /// The tables a call may name, for functions that read stored tables.
    tables: Option<Arc<CarriedTables>>,
}

impl CarriedFunction {
    pub fn new(name: &'static str, inner: Arc<dyn TableFunctionImpl>) -> Self {
        CarriedFunction { name, inner, tables: None }
    }

    /// `stratified_sample` on a client: its calls carry the tables they sample.
    pub fn stratified_sample(stratifier: Arc<crate::stratify::Stratifier>, tables: Arc<CarriedTables>) -> Self {
        CarriedFunction {
            name: personadb_udfs::stratified_sample::NAME,
            inner: Arc::new(personadb_udfs::stratified_sample::StratifiedSample::new(stratifier)),
            tables: Some(tables),
        }
    }
}

impl TableFunctionImpl for CarriedFunction {
    fn call_with_args(&self, args: TableFunctionArgs) -> DfResult<Arc<dyn TableProvider>> {
        let exprs = args.exprs();
        // The function checks its arguments first (its errors name what is wrong).
        let inner = self.inner.call_with_args(args)?;
        let args = exprs.iter().map(|e| Arg::of(self.name, e)).collect::<DfResult<Vec<_>>>()?;
        let tables = self.tables.as_ref().map(|t| t.named_by(&args)).unwrap_or_default();
        Ok(Arc::new(FunctionTable { call: FunctionCall { function: self.name.to_string(), args, tables }, inner }))
    }
}

/// A session for calling a function and planning its scan where only a task context exists.
fn state_of(ctx: &TaskContext) -> SessionState {
    SessionStateBuilder::new().with_config(ctx.session_config().clone()).with_runtime_env(ctx.runtime_env()).build()
}

/// A table function's result in a cluster plan.
#[derive(Debug)]
pub(crate) struct FunctionTable {
    call: FunctionCall,
    inner: Arc<dyn TableProvider>,
}

impl FunctionTable {
    /// Calls the function again (where a plan is decoded).
    pub fn call(call: FunctionCall, ctx: &TaskContext) -> DfResult<Self> {
        let function = match call.function.as_str() {
            personadb_udfs::stratified_sample::NAME => stratified_sample(&call.tables)?,
            name => Functions::shared().get(name)?.clone(),
        };
        let exprs: Vec<Expr> = call.args.iter().map(Arg::expr).collect();
        let state = state_of(ctx);
        let inner = function.call_with_args(TableFunctionArgs::new(&exprs, &state))?;
        Ok(FunctionTable { call, inner })
    }

    pub fn call_spec(&self) -> &FunctionCall {
        &self.call
    }
}

#[async_trait]
impl TableProvider for FunctionTable {
    fn schema(&self) -> SchemaRef {
        self.inner.schema()
    }

    fn table_type(&self) -> TableType {
        self.inner.table_type()
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        _filters: &[Expr],
        limit: Option<usize>,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        let plan = self.inner.scan(state, projection, &[], limit).await?;
        let spec = FunctionScanSpec {
            call: self.call.clone(),
            projection: projection.cloned(),
            limit,
            partitions: plan.output_partitioning().partition_count(),
            schema: schema_to_hex(&plan.schema())?,
        };
        Ok(Arc::new(FunctionScanExec::new(spec, plan.schema(), Some(plan))))
    }
}

/// What a [`FunctionScanExec`] runs.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FunctionScanSpec {
    pub call: FunctionCall,
    pub projection: Option<Vec<usize>>,
    pub limit: Option<usize>,
    pub partitions: usize,
    pub schema: String,
}

/// The partitions of a table function's result, each computed where its task runs.
#[derive(Debug)]
pub(crate) struct FunctionScanExec {
    spec: FunctionScanSpec,
    schema: SchemaRef,
    /// The function's own plan, where it was planned (the scheduler); decoded elsewhere, the
    /// function is called again when a partition runs.
    plan: Option<Arc<dyn ExecutionPlan>>,
    properties: Arc<PlanProperties>,
}

impl FunctionScanExec {
    fn new(spec: FunctionScanSpec, schema: SchemaRef, plan: Option<Arc<dyn ExecutionPlan>>) -> Self {
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(schema.clone()),
            Partitioning::UnknownPartitioning(spec.partitions.max(1)),
            EmissionType::Incremental,
            Boundedness::Bounded,
        ));
        FunctionScanExec { spec, schema, plan, properties }
    }

    pub fn from_spec(spec: FunctionScanSpec) -> DfResult<Self> {
        let schema = schema_from_hex(&spec.schema)?;
        Ok(Self::new(spec, schema, None))
    }

    pub fn spec(&self) -> &FunctionScanSpec {
        &self.spec
    }
}

impl DisplayAs for FunctionScanExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "FunctionScanExec: {}({} arguments) partitions={}",
            self.spec.call.function,
            self.spec.call.args.len(),
            self.spec.partitions
        )
    }
}

impl ExecutionPlan for FunctionScanExec {
    fn name(&self) -> &str {
        "FunctionScanExec"
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
        if partition >= self.spec.partitions.max(1) {
            return Err(DataFusionError::Internal(format!(
                "FunctionScanExec: partition {partition} of {}",
                self.spec.partitions
            )));
        }
        let known = self.plan.clone();
        let spec = self.spec.clone();
        let stream = futures::stream::once(async move {
            let plan = match known {
                Some(plan) => plan,
                None => {
                    let table = FunctionTable::call(spec.call.clone(), &context)?;
                    let state = state_of(&context);
                    table.inner.scan(&state, spec.projection.as_ref(), &[], spec.limit).await?
                }
            };
            plan.execute(partition, context)
        })
        .try_flatten();
        Ok(Box::pin(RecordBatchStreamAdapter::new(self.schema.clone(), stream)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arguments_travel_as_literals() {
        let lit = |v: ScalarValue| Expr::Literal(v, None);
        assert_eq!(Arg::of("f", &lit(ScalarValue::Int32(Some(7)))).unwrap(), Arg::Int(7));
        assert_eq!(Arg::of("f", &lit(ScalarValue::Utf8View(Some("x".into())))).unwrap(), Arg::Text("x".into()));
        assert_eq!(Arg::of("f", &lit(ScalarValue::Int64(None))).unwrap(), Arg::Null);
        let column = Expr::Column(datafusion::common::Column::from_name("age"));
        let e = Arg::of("sample_persona", &column).unwrap_err().to_string();
        assert!(e.contains("sample_persona: on a cluster its arguments must be constants"), "{e}");
        assert!(Functions::shared().get("stratified_sample").is_err());
        assert!(Functions::shared().get("sample_persona").is_ok());
    }
}
