//! The engine's implementations of the SQL plugin's backend traits.

use std::sync::Arc;

use arrow::array::ArrayRef;
use arrow::datatypes::SchemaRef;
use datafusion::error::{DataFusionError, Result as DfResult};
use datafusion::physical_plan::stream::{RecordBatchReceiverStreamBuilder, RecordBatchStreamAdapter};
use datafusion::physical_plan::SendableRecordBatchStream;
use personadb_udfs::{Backends, NarrationSettings, PersonaNarrator, PersonaSampler, SampleRequest};

use crate::locale;
use crate::model::{Encoding, BLOCK_ROWS};
use crate::narrate::NarratorKind;

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
        narrator: Some(Arc::new(SessionNarrator::default())),
        embedder: Some(Arc::new(SessionEmbedder)),
        searcher: None,
        checker: Some(Arc::new(SessionChecker::default())),
        duplicates: None,
    }
}

/// The narrative checkers behind `narrative_violations`, per locale and language, each built
/// on first use.
#[derive(Debug, Default)]
pub struct SessionChecker {
    checkers: std::sync::Mutex<std::collections::HashMap<(String, String), Arc<crate::narrate::check::Checker>>>,
}

impl SessionChecker {
    fn get(&self, locale: &str, language: &str) -> DfResult<Arc<crate::narrate::check::Checker>> {
        let key = (locale.to_string(), language.to_string());
        if let Some(c) = self.checkers.lock().map_err(|_| exec("checker cache poisoned"))?.get(&key) {
            return Ok(c.clone());
        }
        let c =
            Arc::new(crate::narrate::check::Checker::for_locale(locale, (!language.is_empty()).then_some(language))?);
        self.checkers.lock().map_err(|_| exec("checker cache poisoned"))?.insert(key, c.clone());
        Ok(c)
    }
}

impl personadb_udfs::NarrativeChecker for SessionChecker {
    fn columns(&self) -> Vec<arrow::datatypes::FieldRef> {
        let mut columns = SessionNarrator::default().persona_columns();
        for f in crate::narrate::all_narrative_fields() {
            if !columns.iter().any(|c| c.name() == f.name()) {
                columns.push(f);
            }
        }
        columns
    }

    fn check(&self, rows: arrow::record_batch::RecordBatch, settings: &NarrationSettings) -> DfResult<ArrayRef> {
        use arrow::array::{ListBuilder, StringBuilder};
        let cols = crate::narrate::PersonaColumns::new(&rows)?;
        let n = rows.num_rows();
        let locales = row_locales(&cols, n, settings)?;
        let fields: Vec<String> = crate::narrate::all_narrative_fields().iter().map(|f| f.name().clone()).collect();
        let mut found: Vec<Vec<String>> = vec![Vec::new(); n];
        let mut groups = locales.clone();
        groups.sort_unstable();
        groups.dedup();
        for locale in groups {
            let members: Vec<u32> = (0..n).filter(|i| locales[*i] == locale).map(|i| i as u32).collect();
            let sub = arrow::compute::take_record_batch(&rows, &arrow::array::UInt32Array::from(members.clone()))?;
            let checker = self.get(locale, &settings.language)?;
            for (j, violations) in checker.check_batch(&sub, &fields)?.into_iter().enumerate() {
                found[members[j] as usize] = violations.iter().map(|v| v.to_string()).collect();
            }
        }
        let mut out = ListBuilder::new(StringBuilder::new());
        for row in found {
            for v in row {
                out.values().append_value(v);
            }
            out.append(true);
        }
        Ok(Arc::new(out.finish()))
    }
}

/// The embedding model behind `embed`: the process's shared fastembed model, loaded on first use.
#[derive(Debug, Default)]
pub struct SessionEmbedder;

impl SessionEmbedder {
    fn get(&self) -> DfResult<Arc<dyn crate::embed::Embedder>> {
        crate::embed::FastEmbedder::shared().map_err(DataFusionError::from)
    }
}

#[async_trait::async_trait]
impl personadb_udfs::TextEmbedder for SessionEmbedder {
    fn model(&self) -> DfResult<String> {
        Ok(self.get()?.model().to_string())
    }

    fn dimension(&self) -> DfResult<usize> {
        Ok(self.get()?.dimension())
    }

    async fn embed(&self, texts: Vec<String>) -> DfResult<Vec<Vec<f32>>> {
        crate::embed::embed_async(self.get()?, texts).await.map_err(DataFusionError::from)
    }
}

/// The narrators behind `generate_narrative`, each built on first use: per locale and
/// language, the template narrator and the LLM narrator (configured from the environment /
/// config file). Each row is narrated by its own locale's narrator.
#[derive(Default)]
pub struct SessionNarrator {
    narrators:
        std::sync::Mutex<std::collections::HashMap<(NarratorKind, String, String), Arc<dyn crate::narrate::Narrator>>>,
    /// LLM narratives by (seed, persona): a query that asks for several fields of the same
    /// personas (one `generate_narrative` call each) pays for each persona once.
    llm_cache: std::sync::Mutex<std::collections::HashMap<(u64, u64), arrow::record_batch::RecordBatch>>,
}

/// Most personas kept in the LLM narrative cache (it is emptied when full).
const LLM_CACHE_ROWS: usize = 65_536;

/// A hash of a persona's columns (names and values) and the narration settings.
fn persona_key(cols: &crate::narrate::PersonaColumns, i: usize, locale: &str, language: &str) -> u64 {
    let mut h = crate::hash::Fnv1a::new();
    let mut eat = |bytes: &[u8]| {
        h.update(bytes);
        h.update(&[0xff]);
    };
    eat(locale.as_bytes());
    eat(language.as_bytes());
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
        write!(f, "SessionNarrator")
    }
}

fn exec(message: impl Into<String>) -> DataFusionError {
    DataFusionError::Execution(message.into())
}

/// The locale that narrates rows of a given `country` (a pack's constant `country` column).
fn locale_of_country(country: &str) -> Option<&'static str> {
    static MAP: std::sync::OnceLock<Vec<(String, &'static str)>> = std::sync::OnceLock::new();
    let map = MAP.get_or_init(|| {
        let mut out = Vec::new();
        for l in locale::available() {
            if let Ok(m) = locale::model(l) {
                for c in &m.columns {
                    if let crate::model::ColumnSpec::Constant { name, value } = c {
                        if name == "country" {
                            out.push((value.clone(), l));
                        }
                    }
                }
            }
        }
        out
    });
    map.iter().find(|(c, _)| c.eq_ignore_ascii_case(country.trim())).map(|(_, l)| *l)
}

/// The locale of each row: its `locale` column, else the session's `personadb.locale`,
/// else the locale of its `country`, else the default.
fn row_locales(
    cols: &crate::narrate::PersonaColumns,
    rows: usize,
    settings: &NarrationSettings,
) -> DfResult<Vec<&'static str>> {
    let fallback = default_locale()?;
    let session = match settings.locale.trim() {
        "" => None,
        l => Some(locale::canonical(l)?),
    };
    let own = cols.string("locale");
    let country = cols.string("country");
    let mut out = Vec::with_capacity(rows);
    for i in 0..rows {
        let named = crate::narrate::text_at(own, i);
        let l = if !named.is_empty() {
            locale::canonical(named)?
        } else if let Some(l) = session {
            l
        } else {
            locale_of_country(crate::narrate::text_at(country, i)).unwrap_or(fallback)
        };
        out.push(l);
    }
    Ok(out)
}

/// The locale used when nothing names one.
fn default_locale() -> DfResult<&'static str> {
    let all = locale::available();
    all.iter().find(|l| **l == "us").or(all.first()).copied().ok_or_else(|| exec("no locale pack is compiled in"))
}

impl SessionNarrator {
    /// A narrator for `(kind, locale, language)`, built on first use.
    fn get(&self, kind: NarratorKind, locale: &str, language: &str) -> DfResult<Arc<dyn crate::narrate::Narrator>> {
        let key = (kind, locale.to_string(), language.to_string());
        if let Some(n) = self.narrators.lock().map_err(|_| exec("narrator cache poisoned"))?.get(&key) {
            return Ok(n.clone());
        }
        let language = (!language.is_empty()).then_some(language);
        let n = crate::narrate::build(kind, locale, language, None)?;
        self.narrators.lock().map_err(|_| exec("narrator cache poisoned"))?.insert(key, n.clone());
        Ok(n)
    }

    /// `field` for personas of one locale.
    async fn narrate_locale(
        &self,
        personas: arrow::record_batch::RecordBatch,
        seed: u64,
        field: &str,
        locale: &str,
        settings: &NarrationSettings,
    ) -> DfResult<ArrayRef> {
        let kind: NarratorKind = settings.narrator.parse().map_err(|_| {
            DataFusionError::Plan(format!(
                "generate_narrative: unknown narrator '{}' in personadb.narrator ({})",
                crate::error::shorten(&settings.narrator, 40),
                NarratorKind::NAMES.join(", ")
            ))
        })?;
        let n = self.get(kind, locale, &settings.language)?;
        let batch = if kind != NarratorKind::Llm {
            n.narrate(&personas, seed).await?.batch
        } else {
            self.narrate_llm(&*n, personas, seed, locale, &settings.language).await?
        };
        let rows = batch.num_rows();
        match batch.column_by_name(field) {
            Some(c) => Ok(c.clone()),
            // A field another locale has (India's `linguistic_persona` for US rows): NULL.
            None => {
                let fields = crate::narrate::all_narrative_fields();
                let Some(f) = fields.iter().find(|f| f.name() == field) else {
                    return Err(exec(format!("generate_narrative: the narrator wrote no field '{field}'")));
                };
                Ok(arrow::array::new_null_array(f.data_type(), rows))
            }
        }
    }

    async fn narrate_llm(
        &self,
        n: &dyn crate::narrate::Narrator,
        personas: arrow::record_batch::RecordBatch,
        seed: u64,
        locale: &str,
        language: &str,
    ) -> DfResult<arrow::record_batch::RecordBatch> {
        let cols = crate::narrate::PersonaColumns::new(&personas)?;
        let keys: Vec<u64> = (0..personas.num_rows()).map(|i| persona_key(&cols, i, locale, language)).collect();
        let mut fresh: std::collections::HashMap<u64, arrow::record_batch::RecordBatch> = Default::default();
        let missing: Vec<u32> = {
            let cache = self.llm_cache.lock().map_err(|_| exec("narrative cache poisoned"))?;
            let mut seen = std::collections::HashSet::new();
            (0..keys.len())
                .filter(|&i| !cache.contains_key(&(seed, keys[i])) && seen.insert(keys[i]))
                .map(|i| i as u32)
                .collect()
        };
        let mut schema = None;
        if !missing.is_empty() {
            let indices = arrow::array::UInt32Array::from(missing.clone());
            let sub = arrow::compute::take_record_batch(&personas, &indices)?;
            let narrated = n.narrate(&sub, seed).await?.batch;
            schema = Some(narrated.schema());
            let mut cache = self.llm_cache.lock().map_err(|_| exec("narrative cache poisoned"))?;
            if cache.len() + missing.len() > LLM_CACHE_ROWS {
                cache.clear();
            }
            for (j, i) in missing.iter().enumerate() {
                let row = narrated.slice(j, 1);
                cache.insert((seed, keys[*i as usize]), row.clone());
                fresh.insert(keys[*i as usize], row);
            }
        }
        let cache = self.llm_cache.lock().map_err(|_| exec("narrative cache poisoned"))?;
        let mut rows = Vec::with_capacity(keys.len());
        for k in &keys {
            match fresh.get(k).or_else(|| cache.get(&(seed, *k))) {
                Some(r) => rows.push(r.clone()),
                None => return Err(exec("generate_narrative: a narrated row went missing")),
            }
        }
        let schema = match (schema, rows.first()) {
            (Some(s), _) => s,
            (None, Some(r)) => r.schema(),
            (None, None) => crate::narrate::narrative_schema_for(&locale::model(locale)?.persona),
        };
        Ok(arrow::compute::concat_batches(&schema, &rows)?)
    }
}

#[async_trait::async_trait]
impl PersonaNarrator for SessionNarrator {
    fn fields(&self) -> Vec<arrow::datatypes::FieldRef> {
        crate::narrate::all_narrative_fields()
    }

    fn persona_columns(&self) -> Vec<arrow::datatypes::FieldRef> {
        let mut columns: Vec<arrow::datatypes::FieldRef> =
            vec![Arc::new(arrow::datatypes::Field::new("locale", arrow::datatypes::DataType::Utf8, true))];
        for model in locale::all_models() {
            for field in model.schema().fields() {
                if !columns.iter().any(|c| c.name() == field.name()) {
                    columns.push(field.clone());
                }
            }
        }
        columns
    }

    async fn narrate(
        &self,
        personas: arrow::record_batch::RecordBatch,
        seed: u64,
        field: &str,
        settings: &NarrationSettings,
    ) -> DfResult<ArrayRef> {
        let cols = crate::narrate::PersonaColumns::new(&personas)?;
        let rows = personas.num_rows();
        let locales = row_locales(&cols, rows, settings)?;
        let mut groups: Vec<&'static str> = locales.clone();
        groups.sort_unstable();
        groups.dedup();
        if groups.len() <= 1 {
            let locale = groups.first().copied().unwrap_or(default_locale()?);
            return self.narrate_locale(personas, seed, field, locale, settings).await;
        }
        // Rows of several locales: each group by its own narrator, then back in row order.
        let mut parts: Vec<ArrayRef> = Vec::new();
        let mut place = vec![(0usize, 0usize); rows];
        for (g, locale) in groups.iter().enumerate() {
            let members: Vec<u32> = (0..rows).filter(|i| locales[*i] == *locale).map(|i| i as u32).collect();
            for (j, i) in members.iter().enumerate() {
                place[*i as usize] = (g, j);
            }
            let sub = arrow::compute::take_record_batch(&personas, &arrow::array::UInt32Array::from(members))?;
            parts.push(self.narrate_locale(sub, seed, field, locale, settings).await?);
        }
        let refs: Vec<&dyn arrow::array::Array> = parts.iter().map(|a| a.as_ref()).collect();
        Ok(arrow::compute::interleave(&refs, &place)?)
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
