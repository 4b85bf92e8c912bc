//! `generate --cluster`: a run's rows are cut into shards of whole row ranges; each executor
//! task samples, narrates, embeds and writes its shard as Lance data files without committing
//! them, and returns the fragments it wrote; the client publishes each chunk of shards
//! (`--commit-rows`) in one Lance commit and enters it in the run's ledger, as a local run
//! does. Rows depend only on the run and their position, so the table holds exactly the rows a
//! local run with the same seed writes, in the same order.
//!
//! A task that fails is run again by Ballista; whatever files a failed attempt wrote are never
//! referenced by a commit (only the fragments of one result per shard are), and Lance's cleanup
//! removes them. An interrupted run resumes from its ledger (`generate --resume`), locally or on
//! a cluster.

use std::fmt;
use std::sync::Arc;

use arrow::array::{Array, AsArray, RecordBatch, StringArray, UInt64Array};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, UInt64Type};
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::execution::TaskContext;
use datafusion::physical_expr::EquivalenceProperties;
use datafusion::physical_plan::execution_plan::{Boundedness, EmissionType};
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::{
    DisplayAs, DisplayFormatType, ExecutionPlan, Partitioning, PlanProperties, SendableRecordBatchStream,
};
use futures::{SinkExt, StreamExt};
use lance::dataset::transaction::{Operation, TransactionBuilder};
use lance::dataset::{CommitBuilder, InsertBuilder, WriteMode, WriteParams};
use lance::table::format::Fragment;
use serde::{Deserialize, Serialize};

use super::codec::{schema_from_hex, schema_to_hex};
use super::scan::{store_params, table_uri};
use crate::catalog::FailureRecord;
use crate::database::{Database, WriteKind};
use crate::error::{Error, Result};
use crate::generate::{GenerateOptions, Piece, RunParts, Segment};
use crate::llm::EndpointUsage;

/// Rows per shard (a task): whole blocks, small enough that a run spreads over many
/// executors and a retried task redoes little.
fn shard_rows(options: &GenerateOptions) -> u64 {
    match options.narrator {
        Some(_) => 16 * crate::model::BLOCK_ROWS as u64,
        None => 64 * crate::model::BLOCK_ROWS as u64,
    }
}

/// A chunk of a run, as the executors get it.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct ShardsSpec {
    /// The database (see [`super::shared_location`]).
    pub location: String,
    /// The run's options (the table, locale, seed, narrator, …; never an API key).
    pub options: GenerateOptions,
    /// The embedding model of the run's embedding columns, by name.
    pub embed_model: Option<String>,
    /// How embedding columns store their numbers.
    pub vector_type: crate::columns::VectorType,
    /// The run's columns ([`schema_to_hex`]).
    pub schema: String,
    /// Run rows `start..end` of each shard; shard `i` is partition `i`.
    pub shards: Vec<(u64, u64)>,
}

/// One partition per shard: writes the shard's rows as uncommitted Lance fragments and returns
/// one row (shard, rows, fragments as JSON, narration failures as JSON, the task's LLM traffic
/// per endpoint as JSON).
#[derive(Debug)]
pub(crate) struct GenerateShardsExec {
    spec: ShardsSpec,
    properties: Arc<PlanProperties>,
}

fn result_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        Field::new("shard", DataType::UInt64, false),
        Field::new("rows", DataType::UInt64, false),
        Field::new("fragments", DataType::Utf8, false),
        Field::new("failures", DataType::Utf8, false),
        Field::new("usage", DataType::Utf8, false),
    ]))
}

impl GenerateShardsExec {
    pub fn new(spec: ShardsSpec) -> DfResult<Self> {
        let properties = Arc::new(PlanProperties::new(
            EquivalenceProperties::new(result_schema()),
            Partitioning::UnknownPartitioning(spec.shards.len().max(1)),
            EmissionType::Final,
            Boundedness::Bounded,
        ));
        Ok(GenerateShardsExec { spec, properties })
    }

    pub fn spec(&self) -> &ShardsSpec {
        &self.spec
    }
}

impl DisplayAs for GenerateShardsExec {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "GenerateShardsExec: table={} shards={}", self.spec.options.table, self.spec.shards.len())
    }
}

impl ExecutionPlan for GenerateShardsExec {
    fn name(&self) -> &str {
        "GenerateShardsExec"
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
        let Some(&range) = self.spec.shards.get(partition) else {
            return Err(DataFusionError::Internal(format!(
                "GenerateShardsExec: partition {partition} of {}",
                self.spec.shards.len()
            )));
        };
        let spec = self.spec.clone();
        let batch = futures::stream::once(async move {
            let (rows, fragments, failures, traffic) =
                write_shard(&spec, range).await.map_err(DataFusionError::from)?;
            let fragments = serde_json::to_string(&fragments)
                .map_err(|e| DataFusionError::Execution(format!("encoding the fragments written: {e}")))?;
            let failures: Vec<(u64, String, String)> =
                failures.into_iter().map(|f| (f.row, f.uuid, f.reason)).collect();
            let failures = serde_json::to_string(&failures)
                .map_err(|e| DataFusionError::Execution(format!("encoding the narration failures: {e}")))?;
            let traffic = serde_json::to_string(&traffic)
                .map_err(|e| DataFusionError::Execution(format!("encoding the LLM traffic: {e}")))?;
            Ok(RecordBatch::try_new(
                result_schema(),
                vec![
                    Arc::new(UInt64Array::from(vec![partition as u64])),
                    Arc::new(UInt64Array::from(vec![rows])),
                    Arc::new(StringArray::from(vec![fragments])),
                    Arc::new(StringArray::from(vec![failures])),
                    Arc::new(StringArray::from(vec![traffic])),
                ],
            )?)
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(result_schema(), batch)))
    }
}

/// Makes and writes run rows `start..end` (without committing them): (rows, fragments,
/// narration failures, the LLM traffic of the task's narrator per endpoint).
async fn write_shard(
    spec: &ShardsSpec,
    (start, end): (u64, u64),
) -> Result<(u64, Vec<Fragment>, Vec<FailureRecord>, Vec<EndpointUsage>)> {
    let mut options = spec.options.clone();
    if let Some(llm) = options.llm.as_mut() {
        llm.resolve_key();
    }
    let model = crate::locale::model(&options.locale)?;
    let segments: Vec<Segment> = crate::generate::segments(&model, &options)?;
    let narrator = crate::generate::build_narrator(&options)?;
    let embedder = match &spec.embed_model {
        Some(name) => Some(crate::embed::by_name(name)?),
        None => None,
    };
    let schema = schema_from_hex(&spec.schema)?;
    let parts = RunParts {
        options: &options,
        model: &model,
        segments: &segments,
        narrator: narrator.as_deref(),
        embedder,
        vector_type: spec.vector_type,
        schema: schema.clone(),
        // A task is one core's work; an executor runs as many tasks as it has cores.
        threads: options.threads.max(1),
    };
    let pieces: Vec<Piece> = parts.pieces(start, end, crate::generate::run_batch_rows(&options));
    let (mut sender, receiver) = futures::channel::mpsc::channel::<DfResult<RecordBatch>>(2);
    let mut failures = Vec::new();
    let mut rows = 0u64;
    let produce = async {
        for piece in pieces {
            let made = parts.batch(piece).await;
            let item = match made {
                Ok((batch, failed)) => {
                    failures.extend(failed);
                    rows += batch.num_rows() as u64;
                    Ok(batch)
                }
                Err(e) => Err(DataFusionError::from(e)),
            };
            let stop = item.is_err();
            if sender.send(item).await.is_err() || stop {
                break;
            }
        }
        sender.close_channel();
    };
    let stream: SendableRecordBatchStream = Box::pin(RecordBatchStreamAdapter::new(schema, receiver));
    let stream = crate::columns::plain_text(stream);
    let write = async {
        let uri = table_uri(&spec.location, &options.table);
        let mut builder = lance::dataset::builder::DatasetBuilder::from_uri(&uri).with_session(super::lance_session());
        let params = store_params(&spec.location)?;
        if let Some(p) = &params {
            builder = builder.with_store_params(p.clone());
        }
        let dataset = Arc::new(builder.load().await?);
        let write = WriteParams {
            mode: WriteMode::Append,
            store_params: params,
            session: Some(super::lance_session()),
            ..Default::default()
        };
        let transaction = InsertBuilder::new(dataset).with_params(&write).execute_uncommitted_stream(stream).await?;
        match transaction.operation {
            Operation::Append { fragments } => Ok::<_, Error>(fragments),
            other => Err(Error::Cluster {
                doing: "writing a shard".into(),
                reason: format!("Lance prepared a {other} where an append was expected"),
            }),
        }
    };
    let ((), fragments) = futures::join!(produce, write);
    let traffic = narrator.as_ref().map(|n| n.endpoint_usage()).unwrap_or_default();
    Ok((rows, fragments?, failures, traffic))
}

/// The cluster's part of a run: every chunk after `skip_rows` made by the executors and
/// committed here. Returns (table version, table rows, rows written now), as a local run.
#[allow(clippy::too_many_arguments)]
pub(crate) async fn write_on_cluster(
    db: &Database,
    address: &str,
    options: &GenerateOptions,
    model: &crate::model::LocaleModel,
    segments: &[Segment],
    narrator: Option<&dyn crate::narrate::Narrator>,
    run_id: i64,
    skip_rows: u64,
    mut chunk_index: u64,
) -> Result<(u64, u64, u64)> {
    if options.kind == WriteKind::Replace {
        return Err(Error::InvalidArgument {
            name: "--cluster".into(),
            reason: "a cluster run creates a table or appends to one; it does not replace one".into(),
        });
    }
    let narrated = narrator.is_some();
    let resuming = skip_rows > 0 || chunk_index > 0;
    let embedder = match narrated {
        true => crate::generate::choose_embedder(db, options, model, resuming)?,
        false => None,
    };
    let vector_type = crate::generate::run_vector_type(db, options, resuming).await?;
    if let Some(e) = &embedder {
        for field in &options.embed {
            db.catalog()?.put_embedding(&options.table, &format!("{field}_embedding"), e.model(), e.dimension())?;
        }
    }
    let weighted = segments.iter().any(|s| s.weight.is_some());
    let schema = crate::generate::run_schema(options, model, narrated, embedder.as_ref(), vector_type, weighted);
    // The executors append to the table, so a new table is made first, empty (the run's
    // ledger then records no rows, and `--resume` drops it as it drops any first commit).
    if !db.table_exists(&options.table) {
        if options.kind != WriteKind::Create {
            return Err(Error::TableNotFound { name: options.table.clone() });
        }
        db.write_batches(&options.table, schema.clone(), Vec::new(), WriteKind::Create, Some(&options.locale)).await?;
    }
    let location = super::shared_location(db)?;
    let url = super::scheduler_url(address)?;
    let per_shard = shard_rows(options);
    // The bar moves as chunks are committed (the executors report nothing sooner).
    let bar = crate::generate::progress_bar(options, skip_rows);
    if !bar.is_hidden() {
        bar.set_message(format!("on {address}"));
        bar.enable_steady_tick(std::time::Duration::from_millis(250));
    }
    let mut version = 0;
    let mut written_now = 0;
    let mut chunk_start = skip_rows;
    while chunk_start < options.n {
        let chunk_end = (chunk_start + options.commit_rows).min(options.n);
        let mut shards = Vec::new();
        let mut at = chunk_start;
        while at < chunk_end {
            // Shards end on block boundaries of the run.
            let end = ((at / per_shard + 1) * per_shard).min(chunk_end);
            shards.push((at, end));
            at = end;
        }
        let spec = ShardsSpec {
            location: location.clone(),
            options: options.clone(),
            embed_model: embedder.as_ref().map(|e| e.model().to_string()),
            vector_type,
            schema: schema_to_hex(&schema)?,
            shards: shards.clone(),
        };
        let results = run_shards(&url, spec).await?;
        // One result per shard (a retried task's duplicate is ignored), in shard order.
        let mut by_shard: Vec<Option<(u64, Vec<Fragment>, Vec<FailureRecord>)>> = vec![None; shards.len()];
        for (shard, rows, fragments, failures, traffic) in results {
            if let Some(slot) = by_shard.get_mut(shard as usize) {
                if slot.is_none() {
                    *slot = Some((rows, fragments, failures));
                    // The run's record counts the traffic of the results it keeps.
                    if let Some(n) = narrator {
                        n.absorb_usage(&traffic);
                    }
                }
            }
        }
        let mut fragments = Vec::new();
        let mut failures = Vec::new();
        let mut rows = 0;
        for (i, slot) in by_shard.into_iter().enumerate() {
            let (r, f, failed) = slot.ok_or_else(|| Error::Cluster {
                doing: "generating".into(),
                reason: format!("the cluster returned no result for shard {i} (rows {}..{})", shards[i].0, shards[i].1),
            })?;
            if r != shards[i].1 - shards[i].0 {
                return Err(Error::Cluster {
                    doing: "generating".into(),
                    reason: format!("shard {i} wrote {r} rows of {}", shards[i].1 - shards[i].0),
                });
            }
            rows += r;
            fragments.extend(f);
            failures.extend(failed);
        }
        let dataset = Arc::new(db.open_table(&options.table).await?);
        let transaction = TransactionBuilder::new(dataset.version().version, Operation::Append { fragments }).build();
        let committed = CommitBuilder::new(dataset).execute(transaction).await?;
        version = committed.version().version;
        db.catalog()?.record_batch(run_id, chunk_index, rows, version, &failures)?;
        written_now += rows;
        bar.inc(rows);
        chunk_index += 1;
        chunk_start = chunk_end;
    }
    bar.finish_and_clear();
    let dataset = db.open_table(&options.table).await?;
    if version == 0 {
        version = dataset.version().version;
    }
    Ok((version, dataset.count_rows(None).await? as u64, written_now))
}

type ShardResult = (u64, u64, Vec<Fragment>, Vec<FailureRecord>, Vec<EndpointUsage>);

/// Runs one chunk's shards on the cluster and reads back their results.
async fn run_shards(url: &str, spec: ShardsSpec) -> Result<Vec<ShardResult>> {
    use ballista_core::extension::SessionConfigExt;
    let failed = |e: DataFusionError| Error::Cluster { doing: format!("generating on {url}"), reason: e.to_string() };
    let exec: Arc<dyn ExecutionPlan> = Arc::new(GenerateShardsExec::new(spec).map_err(failed)?);
    // One partition back to this client, whatever the number of shards.
    let plan: Arc<dyn ExecutionPlan> =
        Arc::new(datafusion::physical_plan::coalesce_partitions::CoalescePartitionsExec::new(exec));
    let config = super::cluster_config();
    let codec = super::PhysicalCodec::default();
    let session_id = uuid::Uuid::new_v4().to_string();
    let stream = ballista_core::execution_plans::execute_physical_plan::<datafusion_proto::protobuf::PhysicalPlanNode>(
        url.to_string(),
        &config.ballista_config(),
        plan,
        &codec,
        session_id,
        config,
    )
    .await
    .map_err(failed)?;
    let batches: Vec<RecordBatch> =
        stream.collect::<Vec<_>>().await.into_iter().collect::<DfResult<_>>().map_err(failed)?;
    let mut out = Vec::new();
    for batch in batches {
        let shard = batch.column(0).as_primitive::<UInt64Type>();
        let rows = batch.column(1).as_primitive::<UInt64Type>();
        let fragments = batch.column(2).as_string::<i32>();
        let failures = batch.column(3).as_string::<i32>();
        let traffic = batch.column(4).as_string::<i32>();
        for i in 0..batch.num_rows() {
            let parsed: Vec<Fragment> = serde_json::from_str(fragments.value(i)).map_err(|e| Error::Cluster {
                doing: "generating".into(),
                reason: format!("an executor returned unreadable fragments: {e}"),
            })?;
            let failed: Vec<(u64, String, String)> =
                serde_json::from_str(failures.value(i)).map_err(|e| Error::Cluster {
                    doing: "generating".into(),
                    reason: format!("an executor returned unreadable failures: {e}"),
                })?;
            let failed = failed.into_iter().map(|(row, uuid, reason)| FailureRecord { row, uuid, reason }).collect();
            let used: Vec<EndpointUsage> = serde_json::from_str(traffic.value(i)).map_err(|e| Error::Cluster {
                doing: "generating".into(),
                reason: format!("an executor returned unreadable LLM traffic: {e}"),
            })?;
            if shard.is_valid(i) {
                out.push((shard.value(i), rows.value(i), parsed, failed, used));
            }
        }
    }
    Ok(out)
}
