//! Hot tables: decoded columns kept in memory between the statements of a long-lived session
//! (`serve`, `shell`, or a library session that asks for it with
//! [`crate::PersonaSession::with_cache`]).
//!
//! What is kept is one column of one Lance fragment, decoded, in chunks of [`CHUNK_ROWS`] rows.
//! Its key is the fragment's own description (data files, deletion file, row count) within the
//! table's location, so a commit from any process never meets a stale entry: an append adds a
//! fragment with new files (only it is read), a replaced or re-embedded table has new files
//! everywhere, and every statement opens the table at its latest version before looking here.
//! Entries nobody reads any more leave by least recent use when the budget is exceeded.
//!
//! Two readers use it: table scans of persona attribute columns ([`crate::storage::LanceTable`],
//! so analytic SQL stops paying Lance's per-value string decode on every query) and filtered
//! vector search ([`filtered_nearest`]: the filter is evaluated over cached columns and the
//! matching rows' vectors are compared exactly, in milliseconds, instead of read and decoded
//! from disk per query).

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};

use arrow::array::{Array, ArrayRef, AsArray, BooleanArray, RecordBatch};
use arrow::datatypes::{DataType, Float16Type, Float32Type, Schema};
use datafusion::common::tree_node::{Transformed, TreeNode};
use datafusion::common::{Column, DFSchema, DataFusionError};
use datafusion::error::Result as DfResult;
use datafusion::logical_expr::Expr;
use futures::{StreamExt, TryStreamExt};
use lance::dataset::fragment::FileFragment;
use lance::table::format::Fragment;
use lance::Dataset;

/// Rows per cached chunk (DataFusion's batch size).
pub const CHUNK_ROWS: usize = 8192;

/// Fragments read at once when filling the cache.
const READ_AHEAD: usize = 4;

/// The decoded chunks of one column of one fragment.
pub type Chunks = Arc<Vec<ArrayRef>>;

/// Decoded columns of Lance fragments, within a memory budget, least recently used first out.
#[derive(Debug)]
pub struct HotCache {
    budget: usize,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    entries: HashMap<Key, Entry>,
    used: usize,
    clock: u64,
    hits: u64,
    misses: u64,
    evictions: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Key {
    fragment: Arc<str>,
    column: String,
}

#[derive(Debug)]
struct Entry {
    chunks: Chunks,
    bytes: usize,
    used_at: u64,
}

/// What a cache holds and how it has been used.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CacheStats {
    /// The memory budget, bytes.
    pub budget: usize,
    /// Bytes held.
    pub bytes: usize,
    /// Fragment columns held.
    pub entries: usize,
    /// Fragment columns found in the cache.
    pub hits: u64,
    /// Fragment columns read from Lance.
    pub misses: u64,
    /// Fragment columns dropped to stay within the budget.
    pub evictions: u64,
}

/// The columns of one fragment, read through the cache.
#[derive(Debug, Clone)]
pub struct FragmentColumns {
    /// Rows of the fragment (without deleted rows).
    pub rows: usize,
    /// One entry per column asked for, in the order asked; every column has the same chunk
    /// boundaries ([`CHUNK_ROWS`] rows each, the last one shorter).
    pub columns: Vec<Chunks>,
}

impl FragmentColumns {
    /// Chunks of the fragment.
    pub fn chunk_count(&self) -> usize {
        self.rows.div_ceil(CHUNK_ROWS)
    }

    /// Rows of chunk `i`.
    pub fn chunk_rows(&self, i: usize) -> usize {
        CHUNK_ROWS.min(self.rows - i * CHUNK_ROWS)
    }
}

impl HotCache {
    /// A cache holding at most `budget` bytes of decoded columns.
    pub fn new(budget: usize) -> Arc<Self> {
        Arc::new(HotCache { budget, state: Mutex::new(State::default()) })
    }

    /// The default budget: a quarter of this machine's memory, at most 8 GiB (1 GiB where the
    /// memory cannot be read).
    pub fn default_budget() -> usize {
        const GIB: usize = 1 << 30;
        let total = std::fs::read_to_string("/proc/meminfo").ok().and_then(|m| {
            m.lines()
                .find_map(|l| l.strip_prefix("MemTotal:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
                .map(|kb| kb.saturating_mul(1024))
        });
        total.map_or(GIB, |t| (t / 4).clamp(GIB / 4, 8 * GIB))
    }

    /// The memory budget, bytes.
    pub fn budget(&self) -> usize {
        self.budget
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // The state is consistent after every statement; a panic elsewhere cannot break it.
        self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// What the cache holds and how it has been used.
    pub fn stats(&self) -> CacheStats {
        let s = self.state();
        CacheStats {
            budget: self.budget,
            bytes: s.used,
            entries: s.entries.len(),
            hits: s.hits,
            misses: s.misses,
            evictions: s.evictions,
        }
    }

    /// Drops everything held.
    pub fn clear(&self) {
        let mut s = self.state();
        s.entries.clear();
        s.used = 0;
    }

    fn lookup(&self, key: &Key) -> Option<Chunks> {
        let mut s = self.state();
        s.clock += 1;
        let now = s.clock;
        match s.entries.get_mut(key) {
            Some(entry) => {
                entry.used_at = now;
                let chunks = entry.chunks.clone();
                s.hits += 1;
                Some(chunks)
            }
            None => None,
        }
    }

    fn insert(&self, key: Key, chunks: Chunks, bytes: usize) {
        let mut s = self.state();
        s.misses += 1;
        if bytes > self.budget {
            // Larger than the whole budget: used by this statement only.
            return;
        }
        s.clock += 1;
        let now = s.clock;
        if let Some(old) = s.entries.insert(key.clone(), Entry { chunks, bytes, used_at: now }) {
            s.used -= old.bytes;
        }
        s.used += bytes;
        while s.used > self.budget {
            let Some(oldest) =
                s.entries.iter().filter(|(k, _)| **k != key).min_by_key(|(_, e)| e.used_at).map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(gone) = s.entries.remove(&oldest) {
                s.used -= gone.bytes;
                s.evictions += 1;
            }
        }
    }

    /// Whether every column of every fragment of `dataset` named in `columns` is held.
    pub fn holds(&self, dataset: &Dataset, columns: &[&str]) -> bool {
        let uri = dataset.uri();
        let s = self.state();
        dataset.get_fragments().iter().all(|f| {
            let fragment = fragment_key(uri, f.metadata());
            columns.iter().all(|c| s.entries.contains_key(&Key { fragment: fragment.clone(), column: c.to_string() }))
        })
    }

    /// The `columns` of one fragment of `dataset`: those held from the cache, the rest read
    /// from Lance in one scan and kept.
    pub async fn fragment(
        &self,
        dataset: &Dataset,
        fragment: &FileFragment,
        columns: &[&str],
    ) -> DfResult<FragmentColumns> {
        let meta = fragment.metadata();
        let fragment_id = fragment_key(dataset.uri(), meta);
        let key = |c: &str| Key { fragment: fragment_id.clone(), column: c.to_string() };
        let mut found: Vec<Option<Chunks>> = columns.iter().map(|c| self.lookup(&key(c))).collect();
        let missing: Vec<&str> = columns.iter().zip(&found).filter(|(_, f)| f.is_none()).map(|(c, _)| *c).collect();
        if !missing.is_empty() {
            let mut scan = dataset.scan();
            scan.with_fragments(vec![meta.clone()]);
            scan.project(&missing).map_err(DataFusionError::from)?;
            scan.batch_size(CHUNK_ROWS);
            let batches: Vec<RecordBatch> = scan
                .try_into_stream()
                .await
                .map_err(DataFusionError::from)?
                .map_err(DataFusionError::from)
                .try_collect()
                .await?;
            for (i, column) in missing.iter().enumerate() {
                let parts: Vec<&dyn Array> = batches.iter().map(|b| b.column(i).as_ref()).collect();
                let whole = match parts.len() {
                    0 => arrow::array::new_empty_array(
                        &dataset
                            .schema()
                            .field(column)
                            .map(|f| f.data_type())
                            .ok_or_else(|| DataFusionError::Plan(format!("no column `{column}`")))?,
                    ),
                    1 => batches[0].column(i).clone(),
                    _ => arrow::compute::concat(&parts)?,
                };
                // Held as SQL reads it (text as views over the decoded text).
                let whole = crate::storage::sql_array(whole)?;
                let bytes = whole.get_array_memory_size();
                let chunks: Chunks = Arc::new(
                    (0..whole.len())
                        .step_by(CHUNK_ROWS)
                        .map(|start| whole.slice(start, CHUNK_ROWS.min(whole.len() - start)))
                        .collect(),
                );
                self.insert(key(column), chunks.clone(), bytes);
                if let Some(slot) = columns.iter().position(|c| c == column) {
                    found[slot] = Some(chunks);
                }
            }
        }
        let columns: Vec<Chunks> = found.into_iter().map(|c| c.unwrap_or_default()).collect();
        let rows = match columns.first() {
            Some(first) => first.iter().map(|c| c.len()).sum(),
            None => match meta.num_rows() {
                Some(rows) => rows,
                None => fragment.count_rows(None).await.map_err(DataFusionError::from)?,
            },
        };
        if columns.iter().any(|c| c.iter().map(|a| a.len()).sum::<usize>() != rows) {
            return Err(DataFusionError::Internal(format!(
                "cached columns of fragment {} of {} disagree on its row count",
                meta.id,
                dataset.uri()
            )));
        }
        Ok(FragmentColumns { rows, columns })
    }

    /// The `columns` of every fragment of `dataset`, in fragment order (a few fragments read
    /// at once).
    pub async fn table(&self, dataset: &Dataset, columns: &[&str]) -> DfResult<Vec<FragmentColumns>> {
        futures::stream::iter(dataset.get_fragments())
            .map(|f| async move { self.fragment(dataset, &f, columns).await })
            .buffered(READ_AHEAD)
            .try_collect()
            .await
    }
}

/// A fragment's identity: its table's location and everything its metadata says (data files,
/// deletion file, rows). New files mean a new key.
fn fragment_key(uri: &str, fragment: &Fragment) -> Arc<str> {
    let described = serde_json::to_string(fragment).unwrap_or_else(|_| format!("{fragment:?}"));
    Arc::from(format!("{uri}\n{described}"))
}

/// The record batches of `columns` (with `schema`, those columns' fields), spread over
/// `partitions` partitions chunk by chunk.
pub fn partitions(
    fragments: &[FragmentColumns],
    schema: &Arc<Schema>,
    partitions: usize,
) -> DfResult<Vec<Vec<RecordBatch>>> {
    let partitions = partitions.max(1);
    let mut out: Vec<Vec<RecordBatch>> = vec![Vec::new(); partitions];
    let mut next = 0usize;
    for fragment in fragments {
        for i in 0..fragment.chunk_count() {
            let arrays: Vec<ArrayRef> = fragment.columns.iter().map(|c| c[i].clone()).collect();
            let batch = RecordBatch::try_new_with_options(
                schema.clone(),
                arrays,
                &arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(fragment.chunk_rows(i))),
            )?;
            out[next % partitions].push(batch);
            next += 1;
        }
    }
    Ok(out)
}

/// The column names `expr` refers to, without qualifiers, in first-use order.
pub fn column_names(expr: &Expr) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for c in expr.column_refs() {
        if !names.contains(&c.name) {
            names.push(c.name.clone());
        }
    }
    names
}

/// A row matched by [`filtered_nearest`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Nearest {
    /// The row's position in the table (fragments in order, deleted rows not counted): what
    /// [`Dataset::take`] takes.
    pub offset: u64,
    /// Cosine distance to the query (1 − cosine similarity).
    pub distance: f32,
}

/// The exact `k` nearest rows by cosine distance among the rows of `dataset` that pass
/// `filter`, comparing the query with the cached vectors of `column`; `Ok(None)` when more than
/// `max_matching` rows pass (an index serves those better). Nearest first; equal distances in
/// row order. Rows whose vector is NULL or all zeros are never returned.
pub async fn filtered_nearest(
    cache: &HotCache,
    dataset: &Dataset,
    column: &str,
    query: &[f32],
    k: usize,
    filter: &Expr,
    max_matching: usize,
) -> DfResult<Option<Vec<Nearest>>> {
    let names = column_names(filter);
    let table_schema = crate::storage::sql_schema(&Schema::from(dataset.schema()));
    let fields =
        names.iter().map(|n| table_schema.field_with_name(n).cloned()).collect::<std::result::Result<Vec<_>, _>>()?;
    let schema = Arc::new(Schema::new(fields));
    let unqualified = filter
        .clone()
        .transform(|e| {
            Ok(match e {
                Expr::Column(c) if c.relation.is_some() => {
                    Transformed::yes(Expr::Column(Column::new_unqualified(c.name)))
                }
                other => Transformed::no(other),
            })
        })?
        .data;
    let df_schema = DFSchema::try_from(schema.as_ref().clone())?;
    // The filter was typed for Lance's columns (text as Utf8); the cache holds text as views.
    let unqualified = unqualified
        .rewrite(&mut datafusion::optimizer::analyzer::type_coercion::TypeCoercionRewriter::new(&df_schema))?
        .data;
    let predicate = datafusion::physical_expr::create_physical_expr(
        &unqualified,
        &df_schema,
        &datafusion::execution::context::ExecutionProps::new(),
    )?;
    let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
    let filter_columns = cache.table(dataset, &name_refs).await?;
    // Every chunk of every fragment: (fragment, chunk, its first row's table offset).
    let mut chunks: Vec<(usize, usize, u64)> = Vec::new();
    let mut base = 0u64;
    for (f, fragment) in filter_columns.iter().enumerate() {
        for i in 0..fragment.chunk_count() {
            chunks.push((f, i, base + (i * CHUNK_ROWS) as u64));
        }
        base += fragment.rows as u64;
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8);
    let per_thread = chunks.len().div_ceil(threads).max(1);
    // Pass 1, on every core: which rows of each chunk pass (NULL counts as not passing).
    let masks: Vec<BooleanArray> = std::thread::scope(|s| {
        let handles: Vec<_> = chunks
            .chunks(per_thread)
            .map(|part| {
                let (predicate, schema, filter_columns) = (&predicate, &schema, &filter_columns);
                s.spawn(move || -> DfResult<Vec<BooleanArray>> {
                    part.iter()
                        .map(|&(f, i, _)| {
                            let fragment = &filter_columns[f];
                            let rows = fragment.chunk_rows(i);
                            let arrays: Vec<ArrayRef> = fragment.columns.iter().map(|c| c[i].clone()).collect();
                            let batch = RecordBatch::try_new_with_options(
                                schema.clone(),
                                arrays,
                                &arrow::record_batch::RecordBatchOptions::new().with_row_count(Some(rows)),
                            )?;
                            let passed = predicate.evaluate(&batch)?.into_array(rows)?;
                            let passed = passed.as_any().downcast_ref::<BooleanArray>().ok_or_else(|| {
                                DataFusionError::Plan("the filter is not a true/false condition".into())
                            })?;
                            Ok(match passed.null_count() {
                                0 => passed.clone(),
                                _ => arrow::compute::prep_null_mask_filter(passed),
                            })
                        })
                        .collect()
                })
            })
            .collect();
        let mut all = Vec::new();
        for h in handles {
            all.extend(h.join().map_err(|_| DataFusionError::Internal("a search thread failed".into()))??);
        }
        Ok::<_, DataFusionError>(all)
    })?;
    let matching: usize = masks.iter().map(|m| m.true_count()).sum();
    if matching > max_matching {
        return Ok(None);
    }
    let vectors = cache.table(dataset, &[column]).await?;
    let query_norm = query.iter().map(|x| x * x).sum::<f32>().sqrt();
    if query_norm == 0.0 {
        return Ok(Some(Vec::new()));
    }
    // Pass 2, on every core: the passing rows' distances, the best k of each part.
    let score = |part: &[(usize, usize, u64)], masks: &[BooleanArray]| -> DfResult<Vec<Nearest>> {
        use half::slice::HalfFloatSliceExt;
        let mut heap: std::collections::BinaryHeap<Ranked> = std::collections::BinaryHeap::with_capacity(k + 1);
        // Float16 vectors are widened a vector at a time (with the CPU's conversion
        // instructions where it has them).
        let mut widened = vec![0f32; query.len()];
        for (&(f, i, first), mask) in part.iter().zip(masks) {
            if mask.true_count() == 0 {
                continue;
            }
            let list = vectors[f].columns[0][i].as_fixed_size_list();
            let dim = list.value_length() as usize;
            if dim != query.len() {
                return Err(DataFusionError::Plan(format!(
                    "`{column}` holds vectors of {dim} numbers, the query has {}",
                    query.len()
                )));
            }
            let (f32_values, f16_values) = match list.value_type() {
                DataType::Float32 => (Some(list.values().as_primitive::<Float32Type>().values()), None),
                DataType::Float16 => (None, Some(list.values().as_primitive::<Float16Type>().values())),
                other => {
                    return Err(DataFusionError::Plan(format!(
                        "`{column}` holds {other} values, not float16 or float32"
                    )))
                }
            };
            for r in mask.values().set_indices() {
                if list.is_null(r) {
                    continue;
                }
                let start = list.value_offset(r) as usize;
                let vector: &[f32] = match (f32_values, f16_values) {
                    (Some(v), _) => &v[start..start + dim],
                    (None, Some(v)) => {
                        v[start..start + dim].convert_to_f32_slice(&mut widened);
                        &widened
                    }
                    (None, None) => continue,
                };
                let (dot, norm) = dot_and_norm(query, vector);
                if norm == 0.0 {
                    continue;
                }
                let candidate =
                    Ranked(Nearest { offset: first + r as u64, distance: 1.0 - dot / (norm.sqrt() * query_norm) });
                if heap.len() < k {
                    heap.push(candidate);
                } else if heap.peek().is_some_and(|worst| candidate < *worst) {
                    heap.pop();
                    heap.push(candidate);
                }
            }
        }
        Ok(heap.into_iter().map(|r| r.0).collect())
    };
    let mut found: Vec<Nearest> = if threads > 1 && matching >= 4096 {
        std::thread::scope(|s| {
            let handles: Vec<_> = chunks
                .chunks(per_thread)
                .zip(masks.chunks(per_thread))
                .map(|(part, masks)| s.spawn(move || score(part, masks)))
                .collect();
            let mut all = Vec::new();
            for h in handles {
                all.extend(h.join().map_err(|_| DataFusionError::Internal("a search thread failed".into()))??);
            }
            Ok::<_, DataFusionError>(all)
        })?
    } else {
        score(&chunks, &masks)?
    };
    found.sort_by(|a, b| a.distance.total_cmp(&b.distance).then(a.offset.cmp(&b.offset)));
    found.truncate(k);
    Ok(Some(found))
}

/// Orders candidates worst first (a max-heap keeps the worst on top): larger distance, then
/// later row.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Ranked(Nearest);

impl Eq for Ranked {}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.0.distance.total_cmp(&other.0.distance).then(self.0.offset.cmp(&other.0.offset))
    }
}

/// The dot product of `q` and `v`, and `v`'s squared norm, in one pass (sixteen lanes, so
/// the compiler vectorises it).
fn dot_and_norm(q: &[f32], v: &[f32]) -> (f32, f32) {
    const LANES: usize = 16;
    let mut dot = [0f32; LANES];
    let mut norm = [0f32; LANES];
    let (qc, qr) = q.split_at(q.len() - q.len() % LANES);
    let (vc, vr) = v.split_at(qc.len());
    for (a, b) in qc.chunks_exact(LANES).zip(vc.chunks_exact(LANES)) {
        for l in 0..LANES {
            dot[l] += a[l] * b[l];
            norm[l] += b[l] * b[l];
        }
    }
    let mut d: f32 = dot.iter().sum();
    let mut n: f32 = norm.iter().sum();
    for (a, b) in qr.iter().zip(vr) {
        d += a * b;
        n += b * b;
    }
    (d, n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dot_and_norm_matches_a_plain_loop() {
        let q: Vec<f32> = (0..37).map(|i| (i as f32 * 0.37).sin()).collect();
        let v: Vec<f32> = (0..37).map(|i| (i as f32 * 0.11).cos()).collect();
        let (d, n) = dot_and_norm(&q, &v);
        let want_d: f32 = q.iter().zip(&v).map(|(a, b)| a * b).sum();
        let want_n: f32 = v.iter().map(|b| b * b).sum();
        assert!((d - want_d).abs() < 1e-4 && (n - want_n).abs() < 1e-4, "{d} {want_d} {n} {want_n}");
    }

    #[test]
    fn ranked_orders_worst_first() {
        let mut heap = std::collections::BinaryHeap::new();
        for (offset, distance) in [(3u64, 0.5f32), (1, 0.2), (2, 0.5), (4, 0.9)] {
            heap.push(Ranked(Nearest { offset, distance }));
        }
        assert_eq!(heap.pop().map(|r| r.0.offset), Some(4));
        assert_eq!(heap.pop().map(|r| r.0.offset), Some(3));
        assert_eq!(heap.pop().map(|r| r.0.offset), Some(2));
    }

    #[test]
    fn budget_evicts_least_recently_used() {
        let cache = HotCache::new(100);
        let key = |c: &str| Key { fragment: Arc::from("t"), column: c.into() };
        let chunks: Chunks = Arc::new(Vec::new());
        cache.insert(key("a"), chunks.clone(), 40);
        cache.insert(key("b"), chunks.clone(), 40);
        assert!(cache.lookup(&key("a")).is_some());
        cache.insert(key("c"), chunks.clone(), 40);
        // b was used least recently.
        assert!(cache.lookup(&key("b")).is_none());
        assert!(cache.lookup(&key("a")).is_some() && cache.lookup(&key("c")).is_some());
        let stats = cache.stats();
        assert_eq!((stats.bytes, stats.entries, stats.evictions), (80, 2, 1));
        // Larger than the budget: never kept.
        cache.insert(key("d"), chunks, 101);
        assert!(cache.lookup(&key("d")).is_none());
        assert_eq!(cache.stats().bytes, 80);
    }

    /// The same rows with and without a cache, for the statements a session runs most; an
    /// append through another handle (as another process would) is seen by the next
    /// statement, and a second run reads nothing from Lance.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn cached_sessions_answer_as_uncached_ones_and_see_appends() {
        let dir = tempfile::tempdir().expect("tempdir");
        let db = crate::Database::open(dir.path().join("db")).expect("db");
        let options = crate::GenerateOptions { seed: 7, commit_rows: 1500, ..crate::GenerateOptions::new("us", 4000) };
        crate::generate::generate(&db, &options).await.expect("generate");
        let cache = HotCache::new(256 << 20);
        let cached = crate::PersonaSession::with_cache(db.clone(), Some(cache.clone())).expect("session");
        let plain = crate::PersonaSession::new(db.clone()).expect("session");
        let queries = [
            "SELECT state, count(*) AS n, round(avg(age), 3) AS a FROM personas GROUP BY state ORDER BY n DESC, state",
            "SELECT count(*) FROM personas",
            "SELECT sex, count(*) FROM personas WHERE age BETWEEN 30 AND 40 AND state IN ('CA', 'TX') GROUP BY sex ORDER BY sex",
            "SELECT uuid, age FROM personas WHERE occupation LIKE '%manager%' ORDER BY uuid LIMIT 7",
            "SELECT uuid FROM personas ORDER BY age DESC, uuid LIMIT 3",
            "SELECT count(*) FROM personas WHERE education_level IS NULL",
        ];
        let text = |batches: Vec<RecordBatch>| {
            arrow::util::pretty::pretty_format_batches(&batches).expect("format").to_string()
        };
        for round in 0..2 {
            for q in queries {
                let want = text(plain.sql(q).await.expect("plain"));
                let got = text(cached.sql(q).await.expect("cached"));
                assert_eq!(got, want, "round {round}: {q}");
            }
        }
        let after_first = cache.stats();
        assert!(after_first.entries > 0 && after_first.hits > 0, "{after_first:?}");
        let misses = after_first.misses;
        cached.sql(queries[0]).await.expect("again");
        assert_eq!(cache.stats().misses, misses, "a warm statement read from Lance again");
        // Another handle appends; the cached session's next statement sees every new row.
        let other = crate::Database::open(dir.path().join("db")).expect("db");
        let more = crate::GenerateOptions {
            seed: 8,
            kind: crate::WriteKind::Append,
            ..crate::GenerateOptions::new("us", 500)
        };
        crate::generate::generate(&other, &more).await.expect("append");
        for q in queries {
            let want = text(plain.sql(q).await.expect("plain"));
            assert_eq!(text(cached.sql(q).await.expect("cached")), want, "after the append: {q}");
        }
        assert_eq!(
            text(cached.sql("SELECT count(*) AS n FROM personas").await.expect("count")).matches("4500").count(),
            1
        );
    }

    /// Filtered search over cached vectors finds exactly what a brute-force scan finds.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn filtered_nearest_is_exact() {
        use arrow::array::{FixedSizeListArray, Float32Array, Int64Array, StringArray};
        use arrow::datatypes::{DataType, Field};
        use datafusion::prelude::{col, lit};
        const DIM: usize = 24;
        let dir = tempfile::tempdir().expect("tempdir");
        let db = crate::Database::open(dir.path().join("db")).expect("db");
        let n = 30_000usize;
        let value = |i: usize, d: usize| (((i * 31 + d * 17) % 97) as f32 / 97.0 - 0.5) + ((i * d) % 7) as f32 * 0.01;
        let item = Arc::new(Field::new("item", DataType::Float32, true));
        let schema = Arc::new(Schema::new(vec![
            Field::new("id", DataType::Int64, false),
            Field::new("group", DataType::Utf8, false),
            Field::new("v", DataType::FixedSizeList(item.clone(), DIM as i32), true),
        ]));
        let values: Vec<f32> = (0..n).flat_map(|i| (0..DIM).map(move |d| value(i, d))).collect();
        let batch = RecordBatch::try_new(
            schema.clone(),
            vec![
                Arc::new(Int64Array::from_iter_values(0..n as i64)),
                Arc::new(StringArray::from_iter_values((0..n).map(|i| format!("g{}", i % 50)))),
                Arc::new(
                    FixedSizeListArray::try_new(item, DIM as i32, Arc::new(Float32Array::from(values.clone())), None)
                        .expect("list"),
                ),
            ],
        )
        .expect("batch");
        // Two commits: two fragments, offsets across them.
        let (_, _) = db
            .write_batches("t", schema.clone(), vec![batch.slice(0, 20_000)], crate::WriteKind::Create, None)
            .await
            .expect("write");
        let (dataset, _) = db
            .write_batches("t", schema, vec![batch.slice(20_000, n - 20_000)], crate::WriteKind::Append, None)
            .await
            .expect("append");
        assert_eq!(dataset.get_fragments().len(), 2);
        let query: Vec<f32> = (0..DIM).map(|d| value(12_345, d) + 0.01).collect();
        let filter = col("group").eq(lit("g7")).or(col("group").eq(lit("g45")));
        let cache = HotCache::new(64 << 20);
        let found = filtered_nearest(&cache, &dataset, "v", &query, 10, &filter, 100_000)
            .await
            .expect("search")
            .expect("few rows");
        let norm = |v: &[f32]| v.iter().map(|x| x * x).sum::<f32>().sqrt();
        let mut want: Vec<(f32, u64)> = (0..n)
            .filter(|i| i % 50 == 7 || i % 50 == 45)
            .map(|i| {
                let v = &values[i * DIM..(i + 1) * DIM];
                let dot: f32 = v.iter().zip(&query).map(|(a, b)| a * b).sum();
                (1.0 - dot / (norm(v) * norm(&query)), i as u64)
            })
            .collect();
        want.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        let got: Vec<u64> = found.iter().map(|f| f.offset).collect();
        assert_eq!(got, want.iter().take(10).map(|w| w.1).collect::<Vec<_>>());
        for (f, w) in found.iter().zip(&want) {
            assert!((f.distance - w.0).abs() < 1e-5, "{f:?} {w:?}");
        }
        // Through the search function: the same rows, their ids, and Lance's exact search agrees.
        let rows = crate::search::search_vector_with(
            Some(&cache),
            &dataset,
            "v",
            query.clone(),
            10,
            Some(filter.clone()),
            Some(&["id"]),
            crate::search::SearchParams::default(),
        )
        .await
        .expect("cached search");
        let ids: Vec<i64> = rows
            .iter()
            .flat_map(|b| {
                b.column_by_name("id").expect("id").as_primitive::<arrow::datatypes::Int64Type>().values().to_vec()
            })
            .collect();
        assert_eq!(ids, got.iter().map(|&o| o as i64).collect::<Vec<_>>());
        let exact = crate::search::SearchParams { use_index: false, ..Default::default() };
        let lance =
            crate::search::search_vector(&dataset, "v", query.clone(), 10, Some(filter.clone()), Some(&["id"]), exact)
                .await
                .expect("lance");
        let mut lance_ids: Vec<i64> = lance
            .iter()
            .flat_map(|b| {
                b.column_by_name("id").expect("id").as_primitive::<arrow::datatypes::Int64Type>().values().to_vec()
            })
            .collect();
        let mut sorted = ids.clone();
        lance_ids.sort();
        sorted.sort();
        assert_eq!(sorted, lance_ids);
        // Stored as float16: exact over the stored (rounded) numbers.
        let half_schema =
            Arc::new(Schema::new(vec![Field::new("v", crate::columns::VectorType::Float16.column(DIM), true)]));
        let half_column = crate::columns::VectorType::Float16.array(DIM, values.clone(), None).expect("f16");
        let half_batch = RecordBatch::try_new(half_schema.clone(), vec![half_column]).expect("batch");
        let (half, _) = db
            .write_batches("t16", half_schema, vec![half_batch], crate::WriteKind::Create, None)
            .await
            .expect("write");
        let rounded: Vec<f32> = values.iter().map(|v| half::f16::from_f32(*v).to_f32()).collect();
        let everything = col("v").is_not_null();
        let found16 =
            filtered_nearest(&cache, &half, "v", &query, 5, &everything, 100_000).await.expect("search").expect("rows");
        let mut want16: Vec<(f32, u64)> = (0..n)
            .map(|i| {
                let v = &rounded[i * DIM..(i + 1) * DIM];
                let dot: f32 = v.iter().zip(&query).map(|(a, b)| a * b).sum();
                (1.0 - dot / (norm(v) * norm(&query)), i as u64)
            })
            .collect();
        want16.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        assert_eq!(
            found16.iter().map(|f| f.offset).collect::<Vec<_>>(),
            want16.iter().take(5).map(|w| w.1).collect::<Vec<_>>()
        );
        // Too many matching rows: left to the index.
        assert!(filtered_nearest(&cache, &dataset, "v", &query, 10, &col("id").gt_eq(lit(0i64)), 1000)
            .await
            .expect("search")
            .is_none());
    }
}
