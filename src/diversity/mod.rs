//! The diversity audit (`personadb report --diversity`): are a table's narratives diverse
//! within each demographic group, or the same text with a new name? Per group of the `--by`
//! columns it gives the share of rows whose nearest neighbour by the field's embedding is a
//! near duplicate (cosine ≥ threshold, the column's mean vector removed: [`Vectors::center`])
//! and the mean nearest-neighbour distance — over every
//! row, through an inverted-file index ([`neighbors`]) — and, on a seeded sample of the
//! group's texts, distinct-n-gram ratios, the share of repeated sentences among 40 personas
//! (as `narrative_stats.py` counts it) and the most repeated sentences.

pub mod neighbors;
pub mod sql;
pub mod text;

use std::collections::{BinaryHeap, HashMap};
use std::fmt::Write as _;
use std::time::Instant;

use arrow::array::{Array, ArrayRef, AsArray};
use arrow::datatypes::{DataType, Float32Type};
use futures::StreamExt;

use crate::error::{Error, Result};
use crate::session::PersonaSession;

/// Threads for the neighbour search: the machine's cores.
pub fn threads() -> usize {
    std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1)
}

/// Embeddings read from an embedding column: the non-null vectors, flattened and scaled to
/// unit length, with the row each came from.
#[derive(Debug)]
pub struct Vectors {
    pub dim: usize,
    pub data: Vec<f32>,
    /// Row (position in the table) of each vector.
    pub row: Vec<u64>,
    /// Rows read, with or without a vector.
    pub rows: u64,
}

impl Vectors {
    pub fn new(dim: usize) -> Self {
        Vectors { dim, data: Vec::new(), row: Vec::new(), rows: 0 }
    }

    /// Appends the vectors of one batch of the column (fixed-size lists of float16 or float32).
    pub fn push(&mut self, column: &ArrayRef) -> std::result::Result<(), String> {
        let Some(stored) = column.as_fixed_size_list_opt() else {
            return Err(format!(
                "expected an embedding column (fixed-size list of float16 or float32), got {}",
                column.data_type()
            ));
        };
        if stored.value_length() as usize != self.dim || crate::columns::VectorType::of(stored.data_type()).is_none() {
            return Err(format!("expected vectors of {} float16 or float32, got {}", self.dim, column.data_type()));
        }
        let list = &crate::columns::as_float32(stored).map_err(|e| e.to_string())?;
        let values = list.values().as_primitive::<Float32Type>();
        let start = self.data.len();
        for i in 0..list.len() {
            if list.is_valid(i) {
                let at = (list.offset() + i) * self.dim;
                self.data.extend_from_slice(&values.values()[at..at + self.dim]);
                self.row.push(self.rows + i as u64);
            }
        }
        self.rows += list.len() as u64;
        neighbors::normalize(&mut self.data[start..], self.dim);
        Ok(())
    }

    /// Removes the vectors' mean and scales them to unit length again. Embeddings share a
    /// common direction — with the static multilingual model a random pair of Japanese or Hindi
    /// narratives has cosine 0.94–0.95, of US English ones 0.64 (benches/README.md) — which makes
    /// every pair look alike; without it a similarity means the same for every model, and near
    /// duplicates stand out.
    pub fn center(&mut self) {
        let n = self.row.len();
        if n < 2 || self.dim == 0 {
            return;
        }
        let mut mean = vec![0.0f64; self.dim];
        for v in self.data.chunks_exact(self.dim) {
            mean.iter_mut().zip(v).for_each(|(m, x)| *m += *x as f64);
        }
        let mean: Vec<f32> = mean.iter().map(|m| (m / n as f64) as f32).collect();
        for v in self.data.chunks_exact_mut(self.dim) {
            v.iter_mut().zip(&mean).for_each(|(x, m)| *x -= m);
        }
        neighbors::normalize(&mut self.data, self.dim);
    }
}

/// What the audit looks at and how.
#[derive(Debug, Clone)]
pub struct DiversityOptions {
    /// The narrative field (a text column); its embedding is `<field>_embedding`.
    pub field: String,
    /// Columns whose value combinations are the groups (`age_band`: ages in decades).
    pub by: Vec<String>,
    /// Cosine similarity at or above which a nearest neighbour is a near duplicate.
    pub threshold: f64,
    /// Texts per group for the text figures.
    pub sample: usize,
    /// Sentences listed per group.
    pub top: usize,
    /// Seed of the text samples and of the index.
    pub seed: u64,
}

impl Default for DiversityOptions {
    fn default() -> Self {
        DiversityOptions {
            field: "persona".into(),
            by: Vec::new(),
            threshold: personadb_udfs::near_duplicates::DEFAULT_THRESHOLD,
            sample: 1000,
            top: 3,
            seed: 0,
        }
    }
}

/// Personas per group for the repeated-sentence share (the convention of the quality review).
pub const REVIEW_PERSONAS: usize = 40;

/// The figures of one group.
#[derive(Debug, Clone, Default)]
pub struct GroupDiversity {
    /// `all`, or `col = value, ...`.
    pub group: String,
    pub rows: u64,
    /// Rows with an embedding.
    pub embedded: u64,
    /// Rows whose nearest neighbour (anywhere in the table) is a near duplicate.
    pub near_duplicates: u64,
    /// Mean of 1 − cosine to the nearest neighbour (NaN without embeddings).
    pub mean_nn_distance: f64,
    /// Distinct 1-, 2- and 3-gram ratios over the sample.
    pub distinct: [f64; 3],
    /// Texts in the sample.
    pub sample: usize,
    /// Share of sentence tokens repeated among the first 40 personas of the sample.
    pub repeated: f64,
    /// Most repeated sentences of the sample: (texts holding it, sentence).
    pub top: Vec<(usize, String)>,
}

impl GroupDiversity {
    pub fn near_duplicate_share(&self) -> f64 {
        if self.embedded == 0 {
            f64::NAN
        } else {
            self.near_duplicates as f64 / self.embedded as f64
        }
    }
}

/// The audit of one table.
#[derive(Debug, Clone)]
pub struct DiversityReport {
    pub table: String,
    pub field: String,
    /// The embedding column read, if the table has one.
    pub embedding: Option<String>,
    pub threshold: f64,
    pub by: Vec<String>,
    /// The whole table first, then the groups in order of their values.
    pub groups: Vec<GroupDiversity>,
    pub seconds: f64,
}

fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// A text sample: the `keep` rows of lowest rank (a hash of seed and row).
struct Sample {
    keep: usize,
    heap: BinaryHeap<(u64, String)>,
}

impl Sample {
    fn new(keep: usize) -> Self {
        Sample { keep, heap: BinaryHeap::new() }
    }

    fn offer(&mut self, rank: u64, text: &str) {
        if self.heap.len() < self.keep {
            self.heap.push((rank, text.to_string()));
        } else if self.heap.peek().is_some_and(|(top, _)| rank < *top) {
            self.heap.pop();
            self.heap.push((rank, text.to_string()));
        }
    }

    /// The texts in rank order.
    fn texts(self) -> Vec<String> {
        self.heap.into_sorted_vec().into_iter().map(|(_, t)| t).collect()
    }
}

/// The text figures of one sample.
fn text_figures(group: &mut GroupDiversity, texts: Vec<String>, top: usize) {
    group.sample = texts.len();
    group.distinct = text::distinct_ngrams(texts.iter().map(|t| t.as_str()));
    let review: Vec<Vec<&str>> = texts.iter().take(REVIEW_PERSONAS).map(|t| vec![t.as_str()]).collect();
    group.repeated = text::repeated_share(&review);
    group.top = text::top_sentences(texts.iter().map(|t| t.as_str()), top);
}

fn age_band(age: i64) -> String {
    let lo = age.div_euclid(10) * 10;
    if lo >= 80 {
        "80+".into()
    } else {
        format!("{lo}-{}", lo + 9)
    }
}

/// Runs the audit over `table`.
pub async fn audit(session: &PersonaSession, table: &str, options: &DiversityOptions) -> Result<DiversityReport> {
    let start = Instant::now();
    let db = session.database();
    if !db.table_exists(table) {
        return Err(Error::TableNotFound { name: table.into() });
    }
    if options.sample == 0 {
        return Err(Error::InvalidArgument { name: "--sample".into(), reason: "must be at least 1".into() });
    }
    if !(-1.0..=1.0).contains(&options.threshold) {
        return Err(Error::InvalidArgument {
            name: "--threshold".into(),
            reason: format!("is a cosine similarity from -1 to 1, got {}", options.threshold),
        });
    }
    let dataset = db.open_table(table).await?;
    let schema = arrow::datatypes::Schema::from(dataset.schema());
    let names: Vec<&str> = schema.fields().iter().map(|f| f.name().as_str()).collect();
    let column_error = |c: &str, what: &str| Error::InvalidArgument {
        name: what.into(),
        reason: format!("table '{table}' has no column `{c}` (columns: {})", crate::error::name_list(&names, Some(c))),
    };
    match schema.field_with_name(&options.field).map(|f| f.data_type().clone()) {
        Ok(DataType::Utf8 | DataType::LargeUtf8 | DataType::Utf8View) => {}
        Ok(other) => {
            return Err(Error::InvalidArgument {
                name: "--field".into(),
                reason: format!("column `{}` of table '{table}' is {other}, not text", options.field),
            })
        }
        Err(_) => return Err(column_error(&options.field, "--field")),
    }
    let mut select = Vec::new();
    for c in &options.by {
        let source = if c == "age_band" && schema.index_of("age_band").is_err() { "age" } else { c.as_str() };
        if schema.index_of(source).is_err() {
            return Err(column_error(c, "--by"));
        }
        select.push(quote_ident(source));
    }
    select.push(quote_ident(&options.field));
    let embedding_name = format!("{}_embedding", options.field);
    let embedding = match sql::embedding_column(&schema, table, &embedding_name) {
        Ok((_, dim)) => {
            select.push(quote_ident(&embedding_name));
            Some(dim)
        }
        Err(_) => None,
    };
    let statement = format!("SELECT {} FROM {}", select.join(", "), quote_ident(table));
    let mut statements = session.parse(&statement)?;
    let mut stream = session.execute(statements.remove(0)).await?;

    let by = options.by.len();
    let mut group_of: HashMap<String, usize> = HashMap::new();
    let mut groups: Vec<GroupDiversity> = Vec::new();
    let mut samples: Vec<Sample> = Vec::new();
    let mut all = GroupDiversity { group: "all".into(), ..Default::default() };
    let mut all_sample = Sample::new(options.sample);
    let mut vectors = Vectors::new(embedding.unwrap_or(0));
    // Group of each row, for the neighbour figures.
    let mut row_group: Vec<u32> = Vec::new();
    let mut row = 0u64;
    while let Some(batch) = stream.next().await {
        let batch = batch?;
        let texts = batch.column(by);
        // The group values of the batch, as text, column by column.
        let mut values: Vec<Vec<String>> = Vec::with_capacity(by);
        for c in 0..by {
            let col = batch.column(c);
            let banded = options.by[c] == "age_band" && schema.index_of("age_band").is_err();
            let ages = match banded {
                true => Some(arrow::compute::cast(col, &DataType::Int64)?),
                false => None,
            };
            values.push(
                (0..batch.num_rows())
                    .map(|i| match &ages {
                        _ if col.is_null(i) => "NULL".to_string(),
                        Some(a) => age_band(a.as_primitive::<arrow::datatypes::Int64Type>().value(i)),
                        None => arrow::util::display::array_value_to_string(col, i).unwrap_or_default(),
                    })
                    .collect(),
            );
        }
        for i in 0..batch.num_rows() {
            let label = (0..by).map(|c| format!("{} = {}", options.by[c], values[c][i])).collect::<Vec<_>>().join(", ");
            let g = match group_of.get(&label) {
                Some(g) => *g,
                None => {
                    groups.push(GroupDiversity { group: label.clone(), ..Default::default() });
                    samples.push(Sample::new(options.sample));
                    group_of.insert(label, groups.len() - 1);
                    groups.len() - 1
                }
            };
            groups[g].rows += 1;
            all.rows += 1;
            row_group.push(g as u32);
            let text = text_at(texts, i);
            if let Some(text) = text {
                let rank = crate::hash::splitmix64(options.seed ^ crate::hash::splitmix64(row));
                samples[g].offer(rank, text);
                all_sample.offer(rank, text);
            }
            row += 1;
        }
        if embedding.is_some() {
            vectors.push(batch.column(by + 1)).map_err(|e| Error::InvalidArgument {
                name: "--field".into(),
                reason: format!("column `{embedding_name}`: {e}"),
            })?;
        }
    }
    if embedding.is_some() {
        vectors.center();
        let nearest = neighbors::nearest(&vectors.data, vectors.dim, options.seed, threads());
        let mut distance_sums = vec![0.0f64; groups.len()];
        let mut all_distance = 0.0f64;
        for (i, r) in vectors.row.iter().enumerate() {
            let g = row_group[*r as usize] as usize;
            groups[g].embedded += 1;
            all.embedded += 1;
            if nearest.neighbor[i].is_none() {
                continue;
            }
            let s = nearest.similarity[i] as f64;
            let d = 1.0 - s;
            distance_sums[g] += d;
            all_distance += d;
            if s >= options.threshold {
                groups[g].near_duplicates += 1;
                all.near_duplicates += 1;
            }
        }
        let mean = |sum: f64, n: u64| if n > 1 { sum / n as f64 } else { f64::NAN };
        for (g, sum) in groups.iter_mut().zip(distance_sums) {
            g.mean_nn_distance = mean(sum, g.embedded);
        }
        all.mean_nn_distance = mean(all_distance, all.embedded);
    } else {
        all.mean_nn_distance = f64::NAN;
        groups.iter_mut().for_each(|g| g.mean_nn_distance = f64::NAN);
    }
    text_figures(&mut all, all_sample.texts(), options.top.max(10));
    for (g, s) in groups.iter_mut().zip(samples) {
        text_figures(g, s.texts(), options.top);
    }
    groups.sort_by(|a, b| a.group.cmp(&b.group));
    let mut out = vec![all];
    if by > 0 {
        out.extend(groups);
    }
    Ok(DiversityReport {
        table: table.into(),
        field: options.field.clone(),
        embedding: embedding.map(|_| embedding_name),
        threshold: options.threshold,
        by: options.by.clone(),
        groups: out,
        seconds: start.elapsed().as_secs_f64(),
    })
}

fn text_at(column: &ArrayRef, i: usize) -> Option<&str> {
    if column.is_null(i) {
        return None;
    }
    match column.data_type() {
        DataType::Utf8 => Some(column.as_string::<i32>().value(i)),
        DataType::LargeUtf8 => Some(column.as_string::<i64>().value(i)),
        DataType::Utf8View => Some(column.as_string_view().value(i)),
        _ => None,
    }
}

fn pct(x: f64) -> String {
    if x.is_nan() {
        "–".into()
    } else {
        format!("{:.1} %", x * 100.0)
    }
}

fn fixed(x: f64) -> String {
    if x.is_nan() {
        "–".into()
    } else {
        format!("{x:.3}")
    }
}

impl DiversityReport {
    /// The report as Markdown.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let all = &self.groups[0];
        let _ = writeln!(s, "# Diversity of `{}` in table `{}`\n", self.field, self.table);
        let _ = writeln!(
            s,
            "{} rows; groups by {}. Near duplicate: the nearest neighbour by `{}` has cosine similarity ≥ {} \
             once the column's mean vector is removed (searched over the whole table through an inverted-file \
             index). Text figures on a seeded sample \
             of up to {} texts per group; \"repeated\" is the share of sentences found in 2+ of {} personas, \
             as `narrative_stats.py` counts it. {:.1} s.\n",
            all.rows,
            if self.by.is_empty() { "nothing (the whole table)".to_string() } else { self.by.join(", ") },
            self.embedding.as_deref().unwrap_or("(no embedding column: near-duplicate figures need one)"),
            self.threshold,
            all.sample,
            REVIEW_PERSONAS,
            self.seconds
        );
        let _ = writeln!(
            s,
            "| group | rows | near duplicates | mean NN distance | distinct-1 | distinct-2 | distinct-3 | repeated (of {REVIEW_PERSONAS}) |"
        );
        let _ = writeln!(s, "|---|---:|---:|---:|---:|---:|---:|---:|");
        for g in &self.groups {
            let _ = writeln!(
                s,
                "| {} | {} | {} | {} | {} | {} | {} | {} |",
                g.group.replace('|', "\\|"),
                g.rows,
                pct(g.near_duplicate_share()),
                fixed(g.mean_nn_distance),
                fixed(g.distinct[0]),
                fixed(g.distinct[1]),
                fixed(g.distinct[2]),
                pct(g.repeated)
            );
        }
        let _ = writeln!(s, "\n## Most repeated sentences\n");
        for g in &self.groups {
            if g.top.is_empty() {
                continue;
            }
            let _ = writeln!(s, "**{}** (texts of {}):\n", g.group, g.sample);
            for (count, sentence) in &g.top {
                let _ = writeln!(s, "- {count} × {}", sentence.replace('\n', " "));
            }
            s.push('\n');
        }
        s
    }

    /// The plots: near-duplicate share and distinct-2 per group, as SVG (file stem, SVG).
    pub fn plots(&self) -> Result<Vec<(String, String)>> {
        let rows: Vec<(String, f64)> =
            self.groups.iter().map(|g| (g.group.clone(), g.near_duplicate_share())).filter(|r| !r.1.is_nan()).collect();
        let mut out = Vec::new();
        if !rows.is_empty() {
            let title = format!("Near duplicates of `{}` (cosine ≥ {}), share of rows", self.field, self.threshold);
            out.push(("near_duplicates".into(), crate::plots::bars(&title, &rows)?));
        }
        let rows: Vec<(String, f64)> = self.groups.iter().map(|g| (g.group.clone(), g.distinct[1])).collect();
        let title =
            format!("Distinct bigrams of `{}` per group (sample of up to {})", self.field, self.groups[0].sample);
        out.push(("distinct_2".into(), crate::plots::bars(&title, &rows)?));
        Ok(out)
    }
}

/// Writes the audit to `path` (Markdown) with its plots beside it; the files written.
pub fn write(report: &DiversityReport, path: &std::path::Path) -> Result<Vec<std::path::PathBuf>> {
    crate::report::write_with_plots(report.to_markdown(), report.plots()?, path)
}
