//! The codecs of a personadb cluster: Ballista's, with personadb's tables, table functions and
//! operators added. Ours are JSON behind a prefix no protobuf message starts with (a zero byte
//! is field number 0, which protobuf never writes), so a buffer is told apart by its first
//! bytes and everything else goes to Ballista's codec untouched.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use ballista_core::serde::{BallistaLogicalExtensionCodec, BallistaPhysicalExtensionCodec};
use datafusion::catalog::TableProvider;
use datafusion::common::{internal_datafusion_err, DataFusionError, TableReference};
use datafusion::error::Result as DfResult;
use datafusion::execution::TaskContext;
use datafusion::logical_expr::{AggregateUDF, Extension, LogicalPlan, ScalarUDF, WindowUDF};
use datafusion::physical_plan::ExecutionPlan;
use datafusion_proto::logical_plan::LogicalExtensionCodec;
use datafusion_proto::physical_plan::PhysicalExtensionCodec;
use serde::{Deserialize, Serialize};

use super::function::{FunctionCall, FunctionScanExec, FunctionScanSpec, FunctionTable};
use super::generate::{GenerateShardsExec, ShardsSpec};
use super::scan::{ClusterTable, FragmentScanExec, ScanSpec, TableSpec};

const PREFIX: &[u8] = b"\0personadb1";

/// Everything personadb adds to a plan.
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(crate) enum Payload {
    /// A stored table (logical plans).
    Table(TableSpec),
    /// A table function's result (logical plans).
    Function(FunctionCall),
    /// A scan of some of a table's fragments (physical plans).
    Scan(ScanSpec),
    /// A table function's partitions (physical plans).
    FunctionScan(FunctionScanSpec),
    /// Shards of a generation run (physical plans).
    GenerateShards(ShardsSpec),
}

fn encode(payload: &Payload, buf: &mut Vec<u8>) -> DfResult<()> {
    buf.extend_from_slice(PREFIX);
    serde_json::to_writer(buf, payload).map_err(|e| internal_datafusion_err!("encoding a personadb plan node: {e}"))
}

/// Ours (decoded), or None for a buffer of Ballista's.
fn decode(buf: &[u8]) -> Option<DfResult<Payload>> {
    let body = buf.strip_prefix(PREFIX)?;
    Some(serde_json::from_slice(body).map_err(|e| internal_datafusion_err!("decoding a personadb plan node: {e}")))
}

fn unexpected(payload: &Payload, plan: &str) -> DataFusionError {
    internal_datafusion_err!("a personadb {payload:?} node where a {plan} plan node was expected")
}

/// The logical codec: Ballista's, plus personadb's tables and table functions.
#[derive(Debug, Default)]
pub struct LogicalCodec {
    inner: BallistaLogicalExtensionCodec,
}

impl LogicalExtensionCodec for LogicalCodec {
    fn try_decode(&self, buf: &[u8], inputs: &[LogicalPlan], ctx: &TaskContext) -> DfResult<Extension> {
        self.inner.try_decode(buf, inputs, ctx)
    }

    fn try_encode(&self, node: &Extension, buf: &mut Vec<u8>) -> DfResult<()> {
        self.inner.try_encode(node, buf)
    }

    fn try_decode_table_provider(
        &self,
        buf: &[u8],
        table_ref: &TableReference,
        schema: SchemaRef,
        ctx: &TaskContext,
    ) -> DfResult<Arc<dyn TableProvider>> {
        match decode(buf) {
            None => self.inner.try_decode_table_provider(buf, table_ref, schema, ctx),
            Some(payload) => match payload? {
                Payload::Table(spec) => Ok(Arc::new(ClusterTable::new(spec, schema))),
                Payload::Function(call) => Ok(Arc::new(FunctionTable::call(call, ctx)?)),
                other => Err(unexpected(&other, "table")),
            },
        }
    }

    fn try_encode_table_provider(
        &self,
        table_ref: &TableReference,
        node: Arc<dyn TableProvider>,
        buf: &mut Vec<u8>,
    ) -> DfResult<()> {
        if let Some(table) = node.downcast_ref::<ClusterTable>() {
            return encode(&Payload::Table(table.spec()), buf);
        }
        if let Some(table) = node.downcast_ref::<FunctionTable>() {
            return encode(&Payload::Function(table.call_spec().clone()), buf);
        }
        self.inner.try_encode_table_provider(table_ref, node, buf)
    }

    fn try_decode_file_format(
        &self,
        buf: &[u8],
        ctx: &TaskContext,
    ) -> DfResult<Arc<dyn datafusion::datasource::file_format::FileFormatFactory>> {
        self.inner.try_decode_file_format(buf, ctx)
    }

    fn try_encode_file_format(
        &self,
        buf: &mut Vec<u8>,
        node: Arc<dyn datafusion::datasource::file_format::FileFormatFactory>,
    ) -> DfResult<()> {
        self.inner.try_encode_file_format(buf, node)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<ScalarUDF>> {
        self.inner.try_decode_udf(name, buf)
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        self.inner.try_encode_udf(node, buf)
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<AggregateUDF>> {
        self.inner.try_decode_udaf(name, buf)
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        self.inner.try_encode_udaf(node, buf)
    }

    fn try_decode_udwf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<WindowUDF>> {
        self.inner.try_decode_udwf(name, buf)
    }

    fn try_encode_udwf(&self, node: &WindowUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        self.inner.try_encode_udwf(node, buf)
    }
}

/// The physical codec: Ballista's (shuffles and stage nodes), plus personadb's scans and
/// generation shards.
#[derive(Debug, Default)]
pub struct PhysicalCodec {
    inner: BallistaPhysicalExtensionCodec,
}

impl PhysicalExtensionCodec for PhysicalCodec {
    fn try_decode(
        &self,
        buf: &[u8],
        inputs: &[Arc<dyn ExecutionPlan>],
        ctx: &TaskContext,
    ) -> DfResult<Arc<dyn ExecutionPlan>> {
        match decode(buf) {
            None => self.inner.try_decode(buf, inputs, ctx),
            Some(payload) => match payload? {
                Payload::Scan(spec) => Ok(Arc::new(FragmentScanExec::from_spec(spec)?)),
                Payload::FunctionScan(spec) => Ok(Arc::new(FunctionScanExec::from_spec(spec)?)),
                Payload::GenerateShards(spec) => Ok(Arc::new(GenerateShardsExec::new(spec)?)),
                other => Err(unexpected(&other, "physical")),
            },
        }
    }

    fn try_encode(&self, node: Arc<dyn ExecutionPlan>, buf: &mut Vec<u8>) -> DfResult<()> {
        if let Some(scan) = node.downcast_ref::<FragmentScanExec>() {
            return encode(&Payload::Scan(scan.spec().clone()), buf);
        }
        if let Some(scan) = node.downcast_ref::<FunctionScanExec>() {
            return encode(&Payload::FunctionScan(scan.spec().clone()), buf);
        }
        if let Some(shards) = node.downcast_ref::<GenerateShardsExec>() {
            return encode(&Payload::GenerateShards(shards.spec().clone()), buf);
        }
        self.inner.try_encode(node, buf)
    }

    fn try_decode_udf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<ScalarUDF>> {
        self.inner.try_decode_udf(name, buf)
    }

    fn try_encode_udf(&self, node: &ScalarUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        self.inner.try_encode_udf(node, buf)
    }

    fn try_decode_udaf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<AggregateUDF>> {
        self.inner.try_decode_udaf(name, buf)
    }

    fn try_encode_udaf(&self, node: &AggregateUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        self.inner.try_encode_udaf(node, buf)
    }

    fn try_decode_udwf(&self, name: &str, buf: &[u8]) -> DfResult<Arc<WindowUDF>> {
        self.inner.try_decode_udwf(name, buf)
    }

    fn try_encode_udwf(&self, node: &WindowUDF, buf: &mut Vec<u8>) -> DfResult<()> {
        self.inner.try_encode_udwf(node, buf)
    }
}

/// A schema as bytes (an Arrow IPC stream with no batches: field metadata kept), for JSON.
pub(crate) fn schema_to_hex(schema: &SchemaRef) -> DfResult<String> {
    let mut bytes = Vec::new();
    let mut writer = arrow::ipc::writer::StreamWriter::try_new(&mut bytes, schema)?;
    writer.finish()?;
    drop(writer);
    Ok(hex::encode(bytes))
}

/// The schema [`schema_to_hex`] wrote.
pub(crate) fn schema_from_hex(text: &str) -> DfResult<SchemaRef> {
    let bytes = hex::decode(text).map_err(|e| internal_datafusion_err!("a schema in a plan is not hex: {e}"))?;
    let reader = arrow::ipc::reader::StreamReader::try_new(std::io::Cursor::new(bytes), None)?;
    Ok(reader.schema())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemas_round_trip_with_metadata() {
        use arrow::datatypes::{DataType, Field, Schema};
        let field = Field::new("v", DataType::Utf8View, true)
            .with_metadata([("personadb:model".to_string(), "m".to_string())].into());
        let schema: SchemaRef = Arc::new(Schema::new(vec![field, Field::new("n", DataType::UInt64, false)]));
        assert_eq!(schema_from_hex(&schema_to_hex(&schema).unwrap()).unwrap(), schema);
        assert!(schema_from_hex("zz").is_err());
    }

    #[test]
    fn ballista_buffers_are_not_ours() {
        assert!(decode(b"\x0a\x03abc").is_none());
        assert!(decode(b"").is_none());
        assert!(decode(b"\0personadb1{").unwrap().is_err());
    }
}
