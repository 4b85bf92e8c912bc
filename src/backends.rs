//! The engine's implementations of the SQL plugin's backend traits.

use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::physical_plan::stream::{RecordBatchReceiverStreamBuilder, RecordBatchStreamAdapter};
use datafusion::physical_plan::SendableRecordBatchStream;
use personadb_udfs::{Backends, PersonaNarrator, PersonaSampler, SampleRequest};

use crate::locale;
use crate::model::{Encoding, BLOCK_ROWS};

/// Samples from the embedded locale models.
#[derive(Debug, Default)]
pub struct LocaleSampler {
    /// Threads per batch (0: all cores).
    pub threads: usize,
}

/// The backends personadb registers in its sessions.
pub fn backends() -> Backends {
    Backends {
        sampler: Some(Arc::new(LocaleSampler::default())),
        stratifier: None,
        narrator: Some(Arc::new(SessionNarrator::template("us"))),
        embedder: Some(Arc::new(SessionEmbedder)),
        searcher: None,
    }
}

/// The embedding model behind `embed`: the process's shared fastembed model, loaded on first use.
#[derive(Debug, Default)]
pub struct SessionEmbedder;

impl SessionEmbedder {
    fn get(&self) -> DfResult<Arc<crate::embed::FastEmbedder>> {
        crate::embed::FastEmbedder::shared().map_err(DataFusionError::from)
    }
}

#[async_trait::async_trait]
impl personadb_udfs::TextEmbedder for SessionEmbedder {
    fn model(&self) -> DfResult<String> {
        use crate::embed::Embedder;
        Ok(self.get()?.model().to_string())
    }

    fn dimension(&self) -> DfResult<usize> {
        use crate::embed::Embedder;
        Ok(self.get()?.dimension())
    }

    async fn embed(&self, texts: Vec<String>) -> DfResult<Vec<Vec<f32>>> {
        let model: Arc<dyn crate::embed::Embedder> = self.get()?;
        crate::embed::embed_async(model, texts).await.map_err(DataFusionError::from)
    }
}

/// The narrators behind `generate_narrative`, each built on first use: the template narrator
/// of a locale, and the LLM narrator (configured from the environment / config file).
pub struct SessionNarrator {
    locale: String,
    template: std::sync::OnceLock<Arc<dyn crate::narrate::Narrator>>,
    llm: std::sync::OnceLock<Arc<dyn crate::narrate::Narrator>>,
    /// LLM narratives by (seed, persona): a query that asks for several fields of the same
    /// personas (one `generate_narrative` call each) pays for each persona once.
    llm_cache: std::sync::Mutex<std::collections::HashMap<(u64, u64), arrow::record_batch::RecordBatch>>,
}

/// Most personas kept in the LLM narrative cache (it is emptied when full).
const LLM_CACHE_ROWS: usize = 65_536;

/// A hash of a persona's columns (names and values).
fn persona_key(cols: &crate::narrate::PersonaColumns, i: usize) -> u64 {
    let mut h = crate::hash::Fnv1a::new();
    let mut eat = |bytes: &[u8]| {
        h.update(bytes);
        h.update(&[0xff]);
    };
    for (name, c) in cols.string_columns() {
        eat(name.as_bytes());
        eat(crate::narrate::text_at(Some(c), i).as_bytes());
    }
    for (name, c) in cols.int_columns() {
        eat(name.as_bytes());
        eat(&crate::narrate::int_at(Some(c), i).unwrap_or(i64::MIN).to_le_bytes());
    }
    h.finish()
}

impl std::fmt::Debug for SessionNarrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SessionNarrator({})", self.locale)
    }
}

impl SessionNarrator {
    /// The template narrator of `locale`.
    pub fn template(locale: &str) -> Self {
        SessionNarrator {
            locale: locale.to_string(),
            template: Default::default(),
            llm: Default::default(),
            llm_cache: Default::default(),
        }
    }

    fn get(&self, name: &str) -> DfResult<Arc<dyn crate::narrate::Narrator>> {
        let cell = match name {
            "template" => &self.template,
            "llm" => &self.llm,
            other => {
                return Err(DataFusionError::Plan(format!(
                    "generate_narrative: unknown narrator '{other}' in personadb.narrator (template, llm)"
                )))
            }
        };
        if let Some(n) = cell.get() {
            return Ok(n.clone());
        }
        let n = crate::narrate::by_name(name, &self.locale).map_err(DataFusionError::from)?;
        Ok(cell.get_or_init(|| n).clone())
    }
}

#[async_trait::async_trait]
impl PersonaNarrator for SessionNarrator {
    fn fields(&self) -> Vec<arrow::datatypes::FieldRef> {
        crate::narrate::narrative_schema().fields().iter().cloned().collect()
    }

    async fn narrate(
        &self,
        personas: arrow::record_batch::RecordBatch,
        seed: u64,
        narrator: &str,
    ) -> DfResult<arrow::record_batch::RecordBatch> {
        let n = self.get(narrator)?;
        if narrator != "llm" {
            return Ok(n.narrate(&personas, seed).await.map_err(DataFusionError::from)?.batch);
        }
        let cols = crate::narrate::PersonaColumns::new(&personas).map_err(DataFusionError::from)?;
        let keys: Vec<u64> = (0..personas.num_rows()).map(|i| persona_key(&cols, i)).collect();
        let mut fresh: std::collections::HashMap<u64, arrow::record_batch::RecordBatch> = Default::default();
        let missing: Vec<u32> = {
            let cache =
                self.llm_cache.lock().map_err(|_| DataFusionError::Execution("narrative cache poisoned".into()))?;
            let mut seen = std::collections::HashSet::new();
            (0..keys.len())
                .filter(|&i| !cache.contains_key(&(seed, keys[i])) && seen.insert(keys[i]))
                .map(|i| i as u32)
                .collect()
        };
        if !missing.is_empty() {
            let indices = arrow::array::UInt32Array::from(missing.clone());
            let sub = arrow::compute::take_record_batch(&personas, &indices)?;
            let narrated = n.narrate(&sub, seed).await.map_err(DataFusionError::from)?.batch;
            let mut cache =
                self.llm_cache.lock().map_err(|_| DataFusionError::Execution("narrative cache poisoned".into()))?;
            if cache.len() + missing.len() > LLM_CACHE_ROWS {
                cache.clear();
            }
            for (j, i) in missing.iter().enumerate() {
                let row = narrated.slice(j, 1);
                cache.insert((seed, keys[*i as usize]), row.clone());
                fresh.insert(keys[*i as usize], row);
            }
        }
        let cache = self.llm_cache.lock().map_err(|_| DataFusionError::Execution("narrative cache poisoned".into()))?;
        let mut rows = Vec::with_capacity(keys.len());
        for k in &keys {
            match fresh.get(k).or_else(|| cache.get(&(seed, *k))) {
                Some(r) => rows.push(r.clone()),
                None => {
                    return Err(DataFusionError::Execution("generate_narrative: a narrated row went missing".into()))
                }
            }
        }
        Ok(arrow::compute::concat_batches(&crate::narrate::narrative_schema(), &rows)?)
    }
}

/// Rounds a batch size to whole random-stream blocks, so output never depends on it.
pub fn block_aligned(batch_size: usize) -> usize {
    batch_size.div_ceil(BLOCK_ROWS).max(1) * BLOCK_ROWS
}

/// Threads to use for `threads` (0 means every available core).
pub fn resolve_threads(threads: usize) -> usize {
    if threads > 0 {
        threads
    } else {
        std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
    }
}

impl PersonaSampler for LocaleSampler {
    fn plan(&self, request: &SampleRequest) -> DfResult<SchemaRef> {
        let model = locale::model(&request.locale).map_err(|e| plan_error(e.to_string()))?;
        model.evidence(&request.given).map_err(|e| plan_error(e.to_string()))?;
        Ok(model.schema())
    }

    fn execute(&self, request: &SampleRequest, batch_size: usize) -> DfResult<SendableRecordBatchStream> {
        let model = locale::model(&request.locale)?;
        let evidence = model.evidence(&request.given)?;
        let schema = model.schema();
        let (n, seed) = (request.n, request.seed);
        let batch_rows = block_aligned(batch_size) as u64;
        let threads = resolve_threads(self.threads);
        let mut builder = RecordBatchReceiverStreamBuilder::new(schema.clone(), 2);
        let tx = builder.tx();
        builder.spawn_blocking(move || {
            let mut first = 0u64;
            while first < n {
                let rows = (n - first).min(batch_rows) as usize;
                let batch = model
                    .sample_batch(seed, first, rows, evidence.as_ref(), Encoding::Plain, threads)
                    .map_err(DataFusionError::from)?;
                if tx.blocking_send(Ok(batch)).is_err() {
                    break; // the consumer stopped reading (e.g. LIMIT)
                }
                first += rows as u64;
            }
            Ok(())
        });
        Ok(Box::pin(RecordBatchStreamAdapter::new(schema, builder.build())))
    }
}

fn plan_error(message: String) -> DataFusionError {
    DataFusionError::Plan(format!("sample_persona: {message}"))
}
