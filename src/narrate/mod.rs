//! Narration: the narrative fields of Nemotron-Personas, written about each persona by a
//! [`Narrator`] — the offline template narrator (default, deterministic per seed) or an LLM.

pub mod check;
pub mod engine;
pub mod language;
pub mod llm;

use std::sync::Arc;

use arrow::array::{Array, ArrayRef, AsArray, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Int64Type, Schema, SchemaRef};

use crate::error::{Error, Result};

pub use engine::PackNarrator;
pub use language::Language;
pub use llm::LlmNarrator;

/// `name` relative to the folder `dir` of a locale pack (`../../x.csv` climbs to the pack's
/// root): how lexicons, templates and rules name the tables they read.
pub(crate) fn resolve_pack_path(dir: &str, name: &str) -> String {
    let mut parts: Vec<&str> = dir.split('/').filter(|p| !p.is_empty()).collect();
    for p in name.split('/') {
        match p {
            ".." => {
                parts.pop();
            }
            "." | "" => {}
            p => parts.push(p),
        }
    }
    parts.join("/")
}

/// The Arrow schema of a pack's narrative columns: its prose fields as Utf8, then its list
/// fields as List<Utf8>; all nullable (a persona whose narration failed has nulls).
pub fn narrative_schema_for(schema: &crate::model::PersonaSchema) -> SchemaRef {
    let mut fields: Vec<Field> =
        schema.narrative.fields.iter().map(|f| Field::new(f.as_str(), DataType::Utf8, true)).collect();
    for f in &schema.narrative.lists {
        fields.push(Field::new(f.as_str(), DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))), true));
    }
    Arc::new(Schema::new(fields))
}

/// The narrative columns of every embedded pack (each field once, in pack order): what
/// `generate_narrative` can be asked for.
pub fn all_narrative_fields() -> Vec<arrow::datatypes::FieldRef> {
    let mut out: Vec<arrow::datatypes::FieldRef> = Vec::new();
    for model in crate::locale::all_models() {
        for f in narrative_schema_for(&model.persona).fields() {
            if !out.iter().any(|o| o.name() == f.name()) {
                out.push(f.clone());
            }
        }
    }
    out
}

/// The narratives of one batch of personas.
#[derive(Debug, Clone)]
pub struct Narrated {
    /// One row per persona, columns as [`narrative_schema`].
    pub batch: RecordBatch,
    /// Rows that could not be narrated, with the reason (their narrative columns are null).
    pub failures: Vec<(usize, String)>,
}

/// Writes the narrative fields about personas.
#[async_trait::async_trait]
pub trait Narrator: Send + Sync {
    /// A short name for logs and the catalog ("template", "llm:<model>").
    fn name(&self) -> String;
    /// Narrates each row of `personas` (the structured persona columns, any subset; columns
    /// a narrator needs but cannot find are treated as unknown). `seed` makes the output
    /// reproducible: the same persona and seed give the same narratives.
    async fn narrate(&self, personas: &RecordBatch, seed: u64) -> Result<Narrated>;
    /// Requests and tokens used so far (narrators that call a server).
    fn usage(&self) -> Option<crate::llm::UsageSnapshot> {
        None
    }
    /// The same per endpoint, for narrators that spread requests over several servers.
    fn endpoint_usage(&self) -> Vec<crate::llm::EndpointUsage> {
        Vec::new()
    }
    /// Counts traffic that narrators elsewhere made for this run (a cluster's executors).
    fn absorb_usage(&self, _traffic: &[crate::llm::EndpointUsage]) {}
}

/// Read access to the persona columns of a batch, by name, whatever their string encoding
/// (dictionary-encoded or plain) or integer width.
pub struct PersonaColumns {
    strings: Vec<(String, StringArray)>,
    ints: Vec<(String, Int64Array)>,
}

impl PersonaColumns {
    /// Reads every string-like and integer column of `batch`.
    pub fn new(batch: &RecordBatch) -> Result<Self> {
        let mut strings = Vec::new();
        let mut ints = Vec::new();
        for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
            match field.data_type() {
                DataType::Int8
                | DataType::Int16
                | DataType::Int32
                | DataType::Int64
                | DataType::UInt8
                | DataType::UInt16
                | DataType::UInt32 => {
                    let cast = arrow::compute::cast(column, &DataType::Int64)?;
                    ints.push((field.name().clone(), cast.as_primitive::<Int64Type>().clone()));
                }
                DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View | DataType::Dictionary(_, _) => {
                    let cast: ArrayRef = arrow::compute::cast(column, &DataType::Utf8)?;
                    strings.push((field.name().clone(), cast.as_string::<i32>().clone()));
                }
                _ => {}
            }
        }
        Ok(PersonaColumns { strings, ints })
    }

    /// A string column by name.
    pub fn string(&self, name: &str) -> Option<&StringArray> {
        self.strings.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }

    /// The string columns, by name.
    pub fn string_columns(&self) -> impl Iterator<Item = (&str, &StringArray)> {
        self.strings.iter().map(|(n, c)| (n.as_str(), c))
    }

    /// The integer columns, by name.
    pub fn int_columns(&self) -> impl Iterator<Item = (&str, &Int64Array)> {
        self.ints.iter().map(|(n, c)| (n.as_str(), c))
    }

    /// An integer column by name.
    pub fn int(&self, name: &str) -> Option<&Int64Array> {
        self.ints.iter().find(|(n, _)| n == name).map(|(_, v)| v)
    }
}

/// The value of row `i` of an optional string column ("" when absent or null).
pub fn text_at(column: Option<&StringArray>, i: usize) -> &str {
    match column {
        Some(c) if c.is_valid(i) => c.value(i),
        _ => "",
    }
}

/// The value of row `i` of an optional integer column.
pub fn int_at(column: Option<&Int64Array>, i: usize) -> Option<i64> {
    column.filter(|c| c.is_valid(i)).map(|c| c.value(i))
}

/// The template narrator of a locale in one of its languages (`None`: its first): the
/// pack's `narrative/<lang>/` templates through the language layer.
pub fn template_for(locale: &str, language: Option<&str>) -> Result<Arc<dyn Narrator>> {
    Ok(Arc::new(PackNarrator::for_locale(locale, language)?))
}

/// The kinds of narrator: the offline template narrator or an LLM.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NarratorKind {
    /// Sentence templates and lexicons of the locale pack: offline, deterministic, fast.
    Template,
    /// An OpenAI-compatible server, configured by [`crate::llm::LlmConfig::load`].
    Llm,
}

impl NarratorKind {
    /// The names, as SQL settings and the command line spell them.
    pub const NAMES: [&'static str; 2] = ["template", "llm"];

    pub fn name(self) -> &'static str {
        match self {
            NarratorKind::Template => "template",
            NarratorKind::Llm => "llm",
        }
    }
}

impl std::fmt::Display for NarratorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for NarratorKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "template" => Ok(NarratorKind::Template),
            "llm" => Ok(NarratorKind::Llm),
            _ => Err(Error::InvalidArgument {
                name: "narrator".into(),
                reason: format!(
                    "unknown narrator '{}' (available: {})",
                    crate::error::shorten(s, 40),
                    NarratorKind::NAMES.join(", ")
                ),
            }),
        }
    }
}

/// A narrator of `kind` for `locale` in one of its languages (`None`: the one a language alias
/// such as `hi_Deva_IN` names, else its first); the LLM
/// narrator with `llm` settings, or those of [`crate::llm::LlmConfig::load`].
pub fn build(
    kind: NarratorKind,
    locale: &str,
    language: Option<&str>,
    llm: Option<crate::llm::LlmConfig>,
) -> Result<Arc<dyn Narrator>> {
    // A language alias of the locale (`hi_Deva_IN`) chooses the language when none is given.
    let alias_language = match language {
        Some(_) => None,
        None => crate::locale::language_of(locale),
    };
    let language = language.or(alias_language.as_deref());
    match kind {
        NarratorKind::Template => template_for(locale, language),
        NarratorKind::Llm => {
            let config = match llm {
                Some(c) => c,
                None => crate::llm::LlmConfig::load(None)?,
            };
            Ok(Arc::new(LlmNarrator::new(locale, language, config)?))
        }
    }
}

/// SplitMix64 keyed by (seed, persona): tiny, fast and stable across versions (rand's small
/// generators do not promise the same stream between releases).
#[derive(Debug, Clone, Copy)]
pub(crate) struct PersonaRng(u64);

impl PersonaRng {
    pub(crate) fn new(seed: u64, uuid: Option<&str>, row: u64) -> PersonaRng {
        // FNV-1a over the key, then mixed with the seed.
        let h = match uuid {
            Some(u) => crate::hash::fnv1a(u.as_bytes()),
            None => crate::hash::fnv1a(&row.to_le_bytes()),
        };
        let mut r = PersonaRng(h ^ seed.wrapping_mul(crate::hash::GOLDEN_GAMMA));
        r.next();
        r
    }

    /// A stream of its own for `salt`, forked from a persona's fresh stream: the same persona,
    /// seed and salt give the same stream whatever was drawn from the others.
    pub(crate) fn fork(&self, salt: u64) -> PersonaRng {
        let mut r = PersonaRng(crate::hash::mix64(self.0 ^ salt));
        r.next();
        r
    }

    pub(crate) fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(crate::hash::GOLDEN_GAMMA);
        crate::hash::mix64(self.0)
    }

    /// Uniform in 0..n (n > 0), by multiply-shift.
    pub(crate) fn below(&mut self, n: usize) -> usize {
        (((self.next() >> 32) * n.max(1) as u64) >> 32) as usize
    }
}

/// How varied a set of texts is: the share of sentences that are distinct, and the share of
/// texts that have a near-duplicate among the others (Jaccard similarity of their word
/// 3-shingles ≥ 0.8).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Variety {
    pub texts: usize,
    pub distinct_sentence_ratio: f64,
    pub near_duplicate_rate: f64,
}

/// Measures [`Variety`] (quadratic in the number of texts: meant for samples of a few thousand).
pub fn variety(texts: &[&str]) -> Variety {
    use std::collections::HashSet;
    let mut sentences = 0usize;
    let mut distinct: HashSet<&str> = HashSet::new();
    for t in texts {
        for s in t.split_inclusive(['.', '!', '?']).map(str::trim).filter(|s| !s.is_empty()) {
            sentences += 1;
            distinct.insert(s);
        }
    }
    let shingles: Vec<HashSet<u64>> = texts
        .iter()
        .map(|t| {
            let words: Vec<String> = t.split_whitespace().map(|w| w.to_lowercase()).collect();
            words
                .windows(3)
                .map(|w| {
                    use std::hash::{Hash, Hasher};
                    let mut h = std::collections::hash_map::DefaultHasher::new();
                    w.hash(&mut h);
                    h.finish()
                })
                .collect()
        })
        .collect();
    let mut has_twin = vec![false; texts.len()];
    for i in 0..texts.len() {
        for j in i + 1..texts.len() {
            let (a, b) = (&shingles[i], &shingles[j]);
            let inter = a.intersection(b).count();
            let union = a.len() + b.len() - inter;
            if union > 0 && inter as f64 / union as f64 >= 0.8 {
                has_twin[i] = true;
                has_twin[j] = true;
            }
        }
    }
    Variety {
        texts: texts.len(),
        distinct_sentence_ratio: if sentences > 0 { distinct.len() as f64 / sentences as f64 } else { 0.0 },
        near_duplicate_rate: has_twin.iter().filter(|t| **t).count() as f64 / texts.len().max(1) as f64,
    }
}
