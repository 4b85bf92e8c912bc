//! Indexes: a Lance vector index per embedding column, a full-text (inverted) index per
//! narrative prose column, and scalar indexes on the persona columns filters use (so a
//! filtered search finds its candidates without a scan). `personadb index` builds them; `generate` builds them itself once a
//! table passes [`AUTO_INDEX_ROWS`]. Rows appended after an index was built are searched
//! exactly until the next `personadb index`, which adds them to the index.

use std::time::Instant;

use lance::index::vector::VectorIndexParams;
use lance::index::DatasetIndexExt;
use lance::Dataset;
use lance_index::optimize::OptimizeOptions;
use lance_index::IndexType;

use crate::database::Database;
use crate::error::{Error, Result};

/// Tables with at least this many rows get their indexes built (or updated) by `generate`.
pub const AUTO_INDEX_ROWS: usize = 100_000;
/// Fewest rows worth a vector index: below this exact search takes a few milliseconds, and
/// the quantizers have too little to train on.
pub const MIN_VECTOR_ROWS: usize = 5_000;

/// Which vector index to build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum VectorIndexKind {
    /// IVF partitions, product-quantized vectors, re-ranked with full vectors at query time.
    IvfPq,
    /// IVF partitions, an HNSW graph per partition over scalar-quantized (8-bit) vectors.
    IvfHnswSq,
}

impl VectorIndexKind {
    /// The default, chosen by measurement (benches/README.md, "Vector index").
    pub const DEFAULT: VectorIndexKind = VectorIndexKind::IvfPq;

    pub fn name(self) -> &'static str {
        match self {
            VectorIndexKind::IvfPq => "IVF_PQ",
            VectorIndexKind::IvfHnswSq => "IVF_HNSW_SQ",
        }
    }

    /// Build parameters for `rows` vectors of `dimension` (cosine distance).
    pub fn params(self, rows: usize, dimension: usize) -> VectorIndexParams {
        use lance_index::vector::hnsw::builder::HnswBuildParams;
        use lance_index::vector::ivf::IvfBuildParams;
        use lance_index::vector::pq::PQBuildParams;
        use lance_index::vector::sq::builder::SQBuildParams;
        let metric = lance_linalg::distance::MetricType::Cosine;
        match self {
            VectorIndexKind::IvfPq => {
                // ~sqrt(n) partitions; 8-bit codes over sub-vectors of 8 dimensions.
                let partitions = ((rows as f64).sqrt() as usize).clamp(1, 4096);
                let mut ivf = IvfBuildParams::new(partitions);
                ivf.sample_rate = 128;
                let sub_vectors = if dimension % 8 == 0 {
                    dimension / 8
                } else if dimension % 4 == 0 {
                    dimension / 4
                } else {
                    1
                };
                let pq = PQBuildParams { num_sub_vectors: sub_vectors, num_bits: 8, ..Default::default() };
                VectorIndexParams::with_ivf_pq_params(metric, ivf, pq)
            }
            VectorIndexKind::IvfHnswSq => {
                // Fewer, larger partitions: the graph does the fine search inside each.
                let partitions = (rows / 100_000).clamp(1, 256);
                let ivf = IvfBuildParams::new(partitions);
                VectorIndexParams::with_ivf_hnsw_sq_params(
                    metric,
                    ivf,
                    HnswBuildParams::default(),
                    SQBuildParams::default(),
                )
            }
        }
    }
}

/// What one index operation did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct IndexOutcome {
    pub column: String,
    /// "IVF_PQ", "IVF_HNSW_SQ", "FTS", "BITMAP", "BTREE".
    pub kind: String,
    /// "built", "updated", "up to date", or why it was skipped.
    pub action: String,
    pub rows: usize,
    pub seconds: f64,
}

/// What to index.
#[derive(Debug, Clone)]
pub struct IndexOptions {
    pub vector_kind: VectorIndexKind,
    /// Rebuild existing indexes from scratch (retrain) instead of adding new rows to them.
    pub rebuild: bool,
    /// Build vector indexes even below [`MIN_VECTOR_ROWS`].
    pub force: bool,
    /// Also build full-text indexes on the narrative prose columns.
    pub full_text: bool,
    /// Only these embedding columns get a vector index (None: every one).
    pub vector_columns: Option<Vec<String>>,
}

impl Default for IndexOptions {
    fn default() -> Self {
        IndexOptions {
            vector_kind: VectorIndexKind::DEFAULT,
            rebuild: false,
            force: false,
            full_text: true,
            vector_columns: None,
        }
    }
}

/// What is indexed on a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    /// An embedding column of this many dimensions.
    Vector(usize),
    /// A narrative prose column (full text).
    FullText,
    /// A persona column WHERE filters use: a bitmap (few values) or B-tree (ordered) index,
    /// so a filtered search finds its candidate rows without reading the column.
    Scalar(ScalarKind),
}

use crate::model::schema::IndexKind as ScalarKind;

/// The columns of `table` that get a scalar index: those its locale's persona schema names
/// (every pack's, for a table of unknown locale), where the table has them.
fn scalar_columns(db: &Database, table: &str, schema: &arrow::datatypes::Schema) -> Vec<(String, ScalarKind)> {
    let mut out: Vec<(String, ScalarKind)> = Vec::new();
    for model in crate::locale::models_of_table(db, table) {
        for c in &model.persona.index {
            if schema.field_with_name(&c.column).is_ok() && !out.iter().any(|(n, _)| n == &c.column) {
                out.push((c.column.clone(), c.kind));
            }
        }
    }
    out
}

/// The narrative prose fields of `table`'s locale (every pack's, for a table of unknown locale).
fn prose_fields(db: &Database, table: &str) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for model in crate::locale::models_of_table(db, table) {
        for f in &model.persona.narrative.fields {
            if !out.contains(f) {
                out.push(f.clone());
            }
        }
    }
    out
}

fn index_name(column: &str, target: Target) -> String {
    match target {
        Target::Vector(_) => format!("{column}_idx"),
        Target::FullText => format!("{column}_fts"),
        Target::Scalar(_) => format!("{column}_scalar"),
    }
}

/// Rows of `index` not yet in it (new fragments since it was built or updated).
async fn unindexed_rows(dataset: &Dataset, index: &str) -> Result<usize> {
    let stats: serde_json::Value = serde_json::from_str(&dataset.index_statistics(index).await?)
        .map_err(|e| Error::Unsupported(format!("Lance index statistics are not JSON: {e}")))?;
    Ok(stats["num_unindexed_rows"].as_u64().unwrap_or(0) as usize)
}

/// Builds or updates the indexes of `table`.
pub async fn index_table(db: &Database, table: &str, options: &IndexOptions) -> Result<Vec<IndexOutcome>> {
    db.require_writable()?;
    let mut dataset = db.open_table(table).await?;
    let rows = dataset.count_rows(None).await?;
    let schema = arrow::datatypes::Schema::from(dataset.schema());
    let existing: Vec<String> = dataset.load_indices().await?.iter().map(|i| i.name.clone()).collect();
    let mut targets: Vec<(String, Target)> = crate::columns::embedding_columns(&schema)
        .into_iter()
        .filter(|c| options.vector_columns.as_ref().is_none_or(|only| only.contains(c)))
        .map(|c| {
            let dim = match schema.field_with_name(&c).map(|f| f.data_type().clone()) {
                Ok(arrow::datatypes::DataType::FixedSizeList(_, d)) => d as usize,
                _ => 0,
            };
            (c, Target::Vector(dim))
        })
        .collect();
    let is_text = |c: &str| {
        matches!(schema.field_with_name(c).map(|f| f.data_type().clone()), Ok(arrow::datatypes::DataType::Utf8))
    };
    if options.full_text {
        targets.extend(prose_fields(db, table).into_iter().filter(|f| is_text(f)).map(|f| (f, Target::FullText)));
    }
    if !targets.is_empty() {
        targets.extend(scalar_columns(db, table, &schema).into_iter().map(|(c, t)| (c, Target::Scalar(t))));
    }
    let mut out = Vec::new();
    for (column, target) in targets {
        let name = index_name(&column, target);
        let kind = match target {
            Target::Vector(_) => options.vector_kind.name().to_string(),
            Target::FullText => "FTS".to_string(),
            Target::Scalar(ScalarKind::Bitmap) => "BITMAP".to_string(),
            Target::Scalar(ScalarKind::Btree) => "BTREE".to_string(),
        };
        let start = Instant::now();
        let exists = existing.contains(&name);
        let action = if exists && !options.rebuild {
            if unindexed_rows(&dataset, &name).await? == 0 {
                "up to date".to_string()
            } else {
                dataset.optimize_indices(&OptimizeOptions::append().index_names(vec![name.clone()])).await?;
                "updated".to_string()
            }
        } else if target != Target::FullText && rows < MIN_VECTOR_ROWS && !options.force {
            format!("skipped: {rows} rows (a scan is as fast below {MIN_VECTOR_ROWS}; --force builds anyway)")
        } else if matches!(target, Target::Vector(_)) && rows < 256 {
            format!("skipped: {rows} rows are too few to train a quantizer (at least 256)")
        } else {
            let columns = [column.as_str()];
            match target {
                Target::FullText => {
                    let params = full_text_params(db, table);
                    dataset.create_index(&columns, IndexType::Inverted, Some(name.clone()), &params, true).await?;
                }
                Target::Vector(dimension) => {
                    let params = options.vector_kind.params(rows, dimension);
                    dataset.create_index(&columns, IndexType::Vector, Some(name.clone()), &params, true).await?;
                }
                Target::Scalar(t) => {
                    use lance_index::scalar::{BuiltinIndexType, ScalarIndexParams};
                    let (params, index_type) = match t {
                        ScalarKind::Bitmap => {
                            (ScalarIndexParams::for_builtin(BuiltinIndexType::Bitmap), IndexType::Bitmap)
                        }
                        ScalarKind::Btree => {
                            (ScalarIndexParams::for_builtin(BuiltinIndexType::BTree), IndexType::BTree)
                        }
                    };
                    dataset.create_index(&columns, index_type, Some(name.clone()), &params, true).await?;
                }
            }
            "built".to_string()
        };
        out.push(IndexOutcome { column, kind, action, rows, seconds: start.elapsed().as_secs_f64() });
    }
    Ok(out)
}

/// After a write: builds or updates the indexes of a table past [`AUTO_INDEX_ROWS`] when it
/// has none yet or more than a tenth of its rows are unindexed — the scalar indexes and the
/// vector index of one embedding column (`persona_embedding` where there is one), so that a
/// large `generate` stays fast; `personadb index` builds the others and the full-text indexes.
/// Returns what it did.
pub async fn auto_index(db: &Database, table: &str) -> Result<Vec<IndexOutcome>> {
    let dataset = db.open_table(table).await?;
    let rows = dataset.count_rows(None).await?;
    let mut out = segmented_full_text(db, table, &dataset, rows).await?;
    if rows < AUTO_INDEX_ROWS {
        return Ok(out);
    }
    let schema = arrow::datatypes::Schema::from(dataset.schema());
    let all = crate::columns::embedding_columns(&schema);
    let Some(main) = all.iter().find(|c| *c == "persona_embedding").or(all.first()).cloned() else {
        return Ok(out);
    };
    let columns = vec![main];
    if !stale(&dataset, columns.iter().map(|c| index_name(c, Target::Vector(0))), rows).await? {
        return Ok(out);
    }
    let options = IndexOptions { full_text: false, vector_columns: Some(columns), ..IndexOptions::default() };
    out.extend(index_table(db, table, &options).await?);
    Ok(out)
}

/// For a table whose narrative language is written without spaces (Japanese): the full-text
/// indexes of its prose columns, built at any size (text search in such a language needs the
/// index's tokenizer; see [`needs_segmentation`]) and brought up to date when more than a
/// tenth of the rows are not in them. Rows appended later are still tokenized the index's way.
async fn segmented_full_text(db: &Database, table: &str, dataset: &Dataset, rows: usize) -> Result<Vec<IndexOutcome>> {
    if rows == 0 || !needs_segmentation(&table_language(db, table)) {
        return Ok(Vec::new());
    }
    let schema = arrow::datatypes::Schema::from(dataset.schema());
    let names = prose_fields(db, table)
        .into_iter()
        .filter(|f| schema.field_with_name(f).is_ok())
        .map(|f| index_name(&f, Target::FullText));
    if !stale(dataset, names, rows).await? {
        return Ok(Vec::new());
    }
    let options = IndexOptions { full_text: true, vector_columns: Some(Vec::new()), ..IndexOptions::default() };
    index_table(db, table, &options).await
}

/// Whether any of the indexes `names` is missing from `dataset` or leaves more than a tenth of
/// its `rows` unindexed.
async fn stale(dataset: &Dataset, names: impl Iterator<Item = String>, rows: usize) -> Result<bool> {
    let existing: Vec<String> = dataset.load_indices().await?.iter().map(|i| i.name.clone()).collect();
    for name in names {
        if !existing.contains(&name) || unindexed_rows(dataset, &name).await? * 10 > rows {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Refuses a text search of a column in an unspaced language that has no full-text index
/// (it would find nothing), naming the command that builds it.
pub async fn check_text_searchable(db: &Database, table: &str, dataset: &Dataset, column: &str) -> Result<()> {
    let language = table_language(db, table);
    if !needs_segmentation(&language) {
        return Ok(());
    }
    let name = index_name(column, Target::FullText);
    let has = dataset.load_indices().await?.iter().any(|i| i.name == name);
    if has {
        return Ok(());
    }
    Err(Error::InvalidArgument {
        name: "column".to_string(),
        reason: format!(
            "'{column}' of table '{table}' is in '{language}', written without spaces between words: text search \
             needs the column's full-text index, which cuts the text into words; `personadb index --table {table}` \
             builds it (`generate` does so itself)"
        ),
    })
}

/// The narrative language of `table` (its locale's first), `en` when the table has no locale.
pub fn table_language(db: &Database, table: &str) -> String {
    db.catalog()
        .ok()
        .and_then(|c| c.table(table).ok().flatten())
        .and_then(|t| t.locale)
        .and_then(|l| crate::locale::model(&l).ok())
        .and_then(|m| m.persona.narrative.languages.first().map(|l| l.code.clone()))
        .unwrap_or_else(|| "en".to_string())
}

/// Whether text in `language` (a code such as `ja` or `pt-BR`) is written without spaces
/// between words, so that full-text search must segment it with a tokenizer of its own and a
/// scan with the default (whitespace and punctuation) tokenizer finds nothing.
pub fn needs_segmentation(language: &str) -> bool {
    matches!(language.split(['-', '_']).next().unwrap_or_default(), "ja" | "zh" | "th" | "lo" | "km" | "my")
}

/// Full-text index parameters for a narrative language: words case-folded and accent-folded,
/// stemmed and stop words dropped in that language (English, Portuguese); languages the
/// stemmer does not know keep their words as they are. Japanese is cut into words by ICU's
/// dictionary segmentation (compiled in: nothing to download), chosen by the retrieval
/// evaluation (benches/README.md, "Japanese"): character unigrams ranked a little better but
/// answer 2.5 times slower and match rows that share a single character (北海道 finds 道具);
/// bigrams and longer n-grams ranked worse than both.
pub fn full_text_params_for(language: &str) -> lance_index::scalar::InvertedIndexParams {
    use lance_index::scalar::inverted::tokenizer::Language;
    use lance_index::scalar::InvertedIndexParams;
    let base = language.split(['-', '_']).next().unwrap_or_default();
    if needs_segmentation(base) {
        return japanese_params(JAPANESE_TOKENIZER);
    }
    let stemmed = match base {
        "pt" => Some(Language::Portuguese),
        "en" => Some(Language::English),
        _ => None,
    };
    let mut params = InvertedIndexParams::new("simple".to_string(), stemmed.unwrap_or(Language::English));
    if stemmed.is_none() {
        params = params.stem(false).remove_stop_words(false);
    }
    params
}

/// How Japanese (and other unspaced) text is tokenized for full-text search.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SegmentTokenizer {
    /// ICU's dictionary word segmentation (built in, no download).
    Icu,
    /// Character n-grams of these lengths (min, max).
    Ngram(u32, u32),
}

/// The tokenizer Japanese full-text indexes use, chosen by the retrieval evaluation.
pub const JAPANESE_TOKENIZER: SegmentTokenizer = SegmentTokenizer::Icu;

/// Inverted-index parameters for unspaced text cut by `tokenizer`: no stemming and no stop
/// words (neither exists for these languages), Latin letters still case- and accent-folded.
pub fn japanese_params(tokenizer: SegmentTokenizer) -> lance_index::scalar::InvertedIndexParams {
    use lance_index::scalar::inverted::tokenizer::Language;
    use lance_index::scalar::InvertedIndexParams;
    let params = match tokenizer {
        SegmentTokenizer::Icu => InvertedIndexParams::new("icu".to_string(), Language::English),
        SegmentTokenizer::Ngram(min, max) => {
            InvertedIndexParams::new("ngram".to_string(), Language::English).ngram_min_length(min).ngram_max_length(max)
        }
    };
    params.stem(false).remove_stop_words(false)
}

/// Full-text index parameters for `table`'s narrative language.
fn full_text_params(db: &Database, table: &str) -> lance_index::scalar::InvertedIndexParams {
    full_text_params_for(&table_language(db, table))
}
