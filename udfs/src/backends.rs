//! The backend traits the SQL functions call. The engine (the `personadb` crate)
//! implements them; the functions here only validate arguments and shape results.

use std::fmt::Debug;
use std::sync::Arc;

use arrow::datatypes::SchemaRef;
use datafusion::error::Result;
use datafusion::physical_plan::SendableRecordBatchStream;

/// What `sample_persona` asks the sampler for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SampleRequest {
    /// Number of personas.
    pub n: u64,
    /// Locale pack, e.g. `us`.
    pub locale: String,
    /// Random seed: the same seed gives the same rows.
    pub seed: u64,
    /// A SQL boolean expression over persona columns to condition on; empty for none.
    pub given: String,
}

/// Samples personas from a locale model.
pub trait PersonaSampler: Debug + Send + Sync {
    /// Validates the request (locale, evidence) and returns the output schema.
    /// Called at plan time, so every argument error surfaces before execution.
    fn plan(&self, request: &SampleRequest) -> Result<SchemaRef>;

    /// Streams the personas for a request already validated by [`PersonaSampler::plan`].
    fn execute(&self, request: &SampleRequest, batch_size: usize) -> Result<SendableRecordBatchStream>;
}

/// The backends available to the SQL functions. A function whose backend is `None`
/// is not registered.
#[derive(Debug, Clone, Default)]
pub struct Backends {
    /// Backs `sample_persona`.
    pub sampler: Option<Arc<dyn PersonaSampler>>,
    /// Backs `stratified_sample`.
    pub stratifier: Option<Arc<dyn TableStratifier>>,
    /// Backs `generate_narrative`.
    pub narrator: Option<Arc<dyn PersonaNarrator>>,
    /// Backs `embed`.
    pub embedder: Option<Arc<dyn TextEmbedder>>,
    /// Backs `semantic_search`, `text_search` and `hybrid_search`.
    pub searcher: Option<Arc<dyn TableSearcher>>,
    /// Backs `narrative_violations`.
    pub checker: Option<Arc<dyn NarrativeChecker>>,
    /// Backs `near_duplicates`.
    pub duplicates: Option<Arc<dyn DuplicateFinder>>,
}

/// What `near_duplicates` asks for.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicateRequest {
    /// A stored table.
    pub table: String,
    /// Its embedding column.
    pub column: String,
    /// Cosine similarity at or above which a row's nearest neighbour is a near duplicate.
    pub threshold: f64,
}

/// Finds near-duplicate rows of a stored table by their embeddings.
pub trait DuplicateFinder: Debug + Send + Sync {
    /// The rows of `request.table` whose nearest neighbour in `request.column` has a cosine
    /// similarity ≥ `request.threshold`, with `_row`, `_neighbor_row` and `_similarity`.
    fn near_duplicates(&self, request: &DuplicateRequest) -> Result<Arc<dyn datafusion::catalog::TableProvider>>;
}

/// Checks narratives against the persona they describe (the engine's consistency checker).
pub trait NarrativeChecker: Debug + Send + Sync {
    /// The columns it reads (persona columns and narrative fields), with their types.
    fn columns(&self) -> Vec<arrow::datatypes::FieldRef>;

    /// One list of violations per row of `rows` (columns by name, any subset), each written
    /// `rule (field): evidence`; each row checked in its own locale as `settings` say.
    fn check(
        &self,
        rows: arrow::record_batch::RecordBatch,
        settings: &NarrationSettings,
    ) -> Result<arrow::array::ArrayRef>;
}

/// Turns texts into vectors (the engine's embedding model).
#[async_trait::async_trait]
pub trait TextEmbedder: Debug + Send + Sync {
    /// The model's name.
    fn model(&self) -> Result<String>;
    /// The vector length (loading the model if it is not loaded yet).
    fn dimension(&self) -> Result<usize>;
    /// One unit-length vector per text.
    async fn embed(&self, texts: Vec<String>) -> Result<Vec<Vec<f32>>>;
}

/// Writes narratives about personas (template or LLM, per the engine's configuration).
#[async_trait::async_trait]
pub trait PersonaNarrator: Debug + Send + Sync {
    /// The narrative fields it writes, with their types (prose as Utf8, lists as List<Utf8>).
    fn fields(&self) -> Vec<arrow::datatypes::FieldRef>;

    /// Writes narrative `field` about each row of `personas` (persona columns by name, any
    /// subset) with `seed`, as `settings` ask (the session's `personadb.*` settings); one value
    /// per persona, null where a persona could not be narrated.
    async fn narrate(
        &self,
        personas: arrow::record_batch::RecordBatch,
        seed: u64,
        field: &str,
        settings: &NarrationSettings,
    ) -> Result<arrow::array::ArrayRef>;

    /// How many personas to hand over at once.
    fn batch_size(&self) -> usize {
        8192
    }

    /// The persona columns it reads, with their types (the union over its locales); empty
    /// when it reads any column.
    fn persona_columns(&self) -> Vec<arrow::datatypes::FieldRef> {
        Vec::new()
    }
}

/// The session settings narration follows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NarrationSettings {
    /// `personadb.narrator`: "template" or "llm".
    pub narrator: String,
    /// `personadb.locale`: the locale of rows without a `locale` column ("": from each row's
    /// `country`, else the default locale).
    pub locale: String,
    /// `personadb.language`: the narrative language ("": the locale's first).
    pub language: String,
}

/// What `stratified_sample` asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StratifyRequest {
    /// The stored table to sample from.
    pub table: String,
    /// Columns whose value combinations are the strata.
    pub strata: Vec<String>,
    /// Total rows to draw.
    pub n: u64,
    /// Random seed: the same seed over the same table version gives the same rows.
    pub seed: u64,
    /// How `n` is shared among strata.
    pub allocation: Allocation,
}

/// How a stratified sample or a quota generation shares its rows among strata: one type for
/// `stratified_sample` in SQL and `generate --strata` on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Allocation {
    /// In proportion to each stratum's size (its rows, or its probability under the model),
    /// rounded by largest remainders.
    Proportional,
    /// The same number per stratum (remainders to the first strata in sort order).
    Equal,
}

impl Allocation {
    /// The names, as SQL and the command line spell them.
    pub const NAMES: [&'static str; 2] = ["proportional", "equal"];

    /// Each stratum's weight: its size, or 1 for equal allocation.
    pub fn weights(self, sizes: impl Iterator<Item = f64>) -> Vec<f64> {
        match self {
            Allocation::Proportional => sizes.collect(),
            Allocation::Equal => sizes.map(|_| 1.0).collect(),
        }
    }
}

/// Splits `n` over `weights` by the largest-remainder method.
pub fn largest_remainder(n: u64, weights: &[f64]) -> Vec<u64> {
    let total: f64 = weights.iter().sum();
    if weights.is_empty() || total <= 0.0 {
        return vec![0; weights.len()];
    }
    let exact: Vec<f64> = weights.iter().map(|w| n as f64 * w / total).collect();
    let mut counts: Vec<u64> = exact.iter().map(|e| e.floor() as u64).collect();
    let assigned: u64 = counts.iter().sum();
    let mut order: Vec<usize> = (0..weights.len()).collect();
    // Largest fractional part first; ties go to the earlier stratum, so the result is stable.
    order.sort_by(|a, b| (exact[*b] - exact[*b].floor()).total_cmp(&(exact[*a] - exact[*a].floor())).then(a.cmp(b)));
    for i in order.into_iter().take((n - assigned.min(n)) as usize) {
        counts[i] += 1;
    }
    counts
}

impl std::str::FromStr for Allocation {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "proportional" => Ok(Allocation::Proportional),
            "equal" => Ok(Allocation::Equal),
            _ => Err(format!(
                "unknown allocation '{}' (expected {})",
                s.chars().take(40).collect::<String>(),
                Allocation::NAMES.join(" or ")
            )),
        }
    }
}

/// Draws stratified samples from stored tables.
pub trait TableStratifier: Debug + Send + Sync {
    /// Validates the request (table, strata columns) and returns the sample as a table.
    fn stratify(&self, request: &StratifyRequest) -> Result<Arc<dyn datafusion::catalog::TableProvider>>;
}

/// How a search ranks rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum SearchMode {
    /// Nearest embeddings (cosine distance): `semantic_search`.
    #[default]
    Vector,
    /// BM25 over a text column's words: `text_search`.
    Text,
    /// Both, fused by reciprocal rank: `hybrid_search`.
    Hybrid,
}

impl SearchMode {
    /// The names, as the command line spells them.
    pub const NAMES: [&'static str; 3] = ["vector", "text", "hybrid"];

    /// The table function of this mode.
    pub fn function(self) -> &'static str {
        match self {
            SearchMode::Vector => "semantic_search",
            SearchMode::Text => "text_search",
            SearchMode::Hybrid => "hybrid_search",
        }
    }

    /// The column a search of this mode adds to the table's: `_distance` (lower is nearer) or
    /// `_score` (higher is better).
    pub fn rank_column(self) -> &'static str {
        match self {
            SearchMode::Vector => "_distance",
            SearchMode::Text | SearchMode::Hybrid => "_score",
        }
    }
}

impl std::str::FromStr for SearchMode {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "vector" | "semantic" => Ok(SearchMode::Vector),
            "text" | "bm25" => Ok(SearchMode::Text),
            "hybrid" => Ok(SearchMode::Hybrid),
            _ => Err(format!(
                "unknown search mode '{}' (expected {})",
                s.chars().take(40).collect::<String>(),
                SearchMode::NAMES.join(", ")
            )),
        }
    }
}

/// What `semantic_search`, `text_search` and `hybrid_search` ask for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchRequest {
    /// How rows are ranked.
    pub mode: SearchMode,
    /// The stored table to search.
    pub table: String,
    /// The column searched: an embedding column (vector), a text column (text), either of a
    /// narrative field's pair (hybrid: `persona` or `persona_embedding`).
    pub column: String,
    /// The text to search for.
    pub query: String,
    /// How many rows.
    pub k: u64,
}

/// Vector, full-text and hybrid search over stored tables.
pub trait TableSearcher: Debug + Send + Sync {
    /// Validates the request (table, column, model) and returns the search as a table whose
    /// columns are the table's plus the mode's rank column ([`SearchMode::rank_column`]);
    /// filters pushed into its scan restrict the rows searched.
    fn search(&self, request: &SearchRequest) -> Result<Arc<dyn datafusion::catalog::TableProvider>>;
}

#[cfg(test)]
mod allocation_tests {
    use super::*;

    #[test]
    fn largest_remainder_sums_to_n_and_is_fair() {
        assert_eq!(largest_remainder(10, &[1.0, 1.0, 1.0]), vec![4, 3, 3]);
        assert_eq!(largest_remainder(100, &[0.5, 0.3, 0.2]), vec![50, 30, 20]);
        let q = largest_remainder(7, &[0.26, 0.26, 0.48]);
        assert_eq!(q.iter().sum::<u64>(), 7);
        assert_eq!(q, vec![2, 2, 3]);
        assert_eq!(largest_remainder(5, &[]), Vec::<u64>::new());
    }
}
