//! The locale model: a Bayesian network loaded from a locale pack, sampled ancestrally with
//! alias tables into Arrow record batches, optionally conditioned exactly on evidence.
//!
//! Determinism: rows are generated in blocks of [`BLOCK_ROWS`]; block `b` draws from the
//! ChaCha8 stream `b` keyed by the seed. A batch is a run of whole blocks, so the same seed
//! gives the same rows whatever the batch size or the number of threads.
//!
//! Kept whole (about 590 lines): the sampler's hot loop and the batch layout it fills; network
//! loading, evidence, alias tables and schemas are in their own files.

pub mod alias;
pub mod evidence;
pub mod network;
pub mod schema;

use std::sync::Arc;

use arrow::array::{ArrayRef, DictionaryArray, Int64Array, StringArray, UInt16Array};
use arrow::buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, UInt16Type};
use arrow::record_batch::RecordBatch;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use evidence::Evidence;
pub use network::{ColumnSpec, MarginSpec, NetworkSpec, Node, PlausibilityRule, ValueKind};
pub use schema::{Gender, PersonaSchema};

use crate::error::{Error, Result};

/// Rows per random-stream block: the unit of determinism and of parallel work.
pub const BLOCK_ROWS: usize = 1024;

/// A loaded locale model.
#[derive(Debug)]
pub struct LocaleModel {
    pub locale: String,
    pub description: String,
    pub nodes: Vec<Node>,
    pub columns: Vec<ColumnSpec>,
    pub margins: Vec<MarginSpec>,
    pub plausibility: Vec<PlausibilityRule>,
    /// The pack's persona schema (names, places, indexes, narrative fields and languages).
    pub persona: PersonaSchema,
    /// Column index in `columns` -> node index, for node columns.
    column_nodes: Vec<Option<usize>>,
    /// Column index -> slot among the per-row scores, for normal columns.
    column_scores: Vec<Option<usize>>,
    /// Normal columns as (mean, sd, min, max), in slot order.
    scores: Vec<(f64, f64, i64, i64)>,
    /// Label columns: column index -> (slot of the labelled score, vocabulary, code per score
    /// value from the score's min).
    labels: Vec<Option<(usize, Vec<String>, Vec<u16>)>>,
    /// Lookup columns: column index -> (node index, vocabulary, code per node value).
    pub(crate) lookups: Vec<Option<Lookup>>,
    /// First-of columns: column index -> the nodes, in order, and the offset of each node's
    /// values in the column's vocabulary (their values one after the other).
    first_of: Vec<Option<Vec<(usize, u32)>>>,
    /// Column index -> its dictionary (the vocabulary as an Arrow array), for dictionary-encoded
    /// columns: built once, shared by every batch.
    dictionaries: Vec<Option<ArrayRef>>,
    storage_schema: SchemaRef,
    dictionary_schema: SchemaRef,
}

/// A lookup column: the value for each value of a category node.
#[derive(Debug, Clone)]
pub struct Lookup {
    pub node: usize,
    pub values: Vec<String>,
    /// Code in `values` for each code of the node.
    pub codes: Vec<u32>,
}

/// The encoding of category columns in sampled batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Plain UTF-8 strings: what tables store.
    Plain,
    /// Dictionary(UInt16, Utf8): what sampling produces before storage.
    Dictionary,
}

impl LocaleModel {
    /// Builds the model from a spec and a table reader.
    pub fn from_spec(spec: NetworkSpec, read_table: &dyn Fn(&str) -> Result<String>) -> Result<Self> {
        let nodes = network::load_nodes(&spec, read_table)?;
        let names: Vec<&str> = spec.columns.iter().map(ColumnSpec::name).collect();
        spec.persona.check(&spec.locale, &names)?;
        let bad = |reason: String| Error::InvalidLocalePack { locale: spec.locale.clone(), reason };
        let mut column_scores = Vec::new();
        let mut scores = Vec::new();
        let mut labels = Vec::new();
        for c in &spec.columns {
            match c {
                ColumnSpec::Normal { name, mean, sd, min, max } => {
                    if !(sd.is_finite() && *sd > 0.0 && mean.is_finite() && min <= max) {
                        return Err(bad(format!("column `{name}`: needs sd > 0 and min <= max")));
                    }
                    column_scores.push(Some(scores.len()));
                    scores.push((*mean, *sd, *min, *max));
                    labels.push(None);
                }
                ColumnSpec::Label { name, of, bands } => {
                    let target = spec.columns.iter().position(|x| x.name() == of);
                    let Some(ColumnSpec::Normal { min, max, .. }) = target.map(|t| &spec.columns[t]) else {
                        return Err(bad(format!("label column `{name}`: `{of}` is not a normal column")));
                    };
                    let slot = spec.columns[..target.unwrap_or(0)]
                        .iter()
                        .filter(|x| matches!(x, ColumnSpec::Normal { .. }))
                        .count();
                    let mut vocab: Vec<String> = Vec::new();
                    let mut codes = Vec::new();
                    for v in *min..=*max {
                        let (label, _, _) = bands
                            .iter()
                            .find(|(_, lo, hi)| *lo <= v && v <= *hi)
                            .ok_or_else(|| bad(format!("label column `{name}`: score {v} falls in no band")))?;
                        let code = match vocab.iter().position(|l| l == label) {
                            Some(i) => i,
                            None => {
                                vocab.push(label.clone());
                                vocab.len() - 1
                            }
                        };
                        codes.push(code as u16);
                    }
                    column_scores.push(None);
                    labels.push(Some((slot, vocab, codes)));
                }
                _ => {
                    column_scores.push(None);
                    labels.push(None);
                }
            }
        }
        let mut lookups = Vec::new();
        for c in &spec.columns {
            let ColumnSpec::Lookup { name, of, table } = c else {
                lookups.push(None);
                continue;
            };
            let node = nodes
                .iter()
                .position(|n| &n.name == of && n.kind == ValueKind::Category)
                .ok_or_else(|| bad(format!("lookup column `{name}`: `{of}` is not a category node")))?;
            let text = read_table(table)?;
            let mut reader = csv::ReaderBuilder::new().has_headers(true).from_reader(text.as_bytes());
            let headers = reader.headers().map_err(|e| bad(format!("{table}: {e}")))?.clone();
            let (key_col, value_col) =
                match (headers.iter().position(|h| h == of), headers.iter().position(|h| h == name)) {
                    (Some(k), Some(v)) => (k, v),
                    _ => return Err(bad(format!("{table}: needs columns `{of}` and `{name}`"))),
                };
            let mut map: std::collections::HashMap<String, String> = std::collections::HashMap::new();
            for rec in reader.records() {
                let rec = rec.map_err(|e| bad(format!("{table}: {e}")))?;
                map.insert(rec.get(key_col).unwrap_or("").to_string(), rec.get(value_col).unwrap_or("").to_string());
            }
            let mut values: Vec<String> = Vec::new();
            let mut index: std::collections::HashMap<&str, u32> = std::collections::HashMap::new();
            let mut codes = Vec::with_capacity(nodes[node].values.len());
            for v in &nodes[node].values {
                let target = map.get(v).ok_or_else(|| bad(format!("{table}: no `{name}` for `{of}` = {v}")))?;
                let code = *index.entry(target.as_str()).or_insert_with(|| {
                    values.push(target.clone());
                    (values.len() - 1) as u32
                });
                codes.push(code);
            }
            if values.len() > u16::MAX as usize {
                return Err(bad(format!("lookup column `{name}` has more than 65535 values")));
            }
            lookups.push(Some(Lookup { node, values, codes }));
        }
        let mut first_of: Vec<Option<Vec<(usize, u32)>>> = Vec::new();
        let mut first_of_vocab: Vec<Option<Vec<String>>> = Vec::new();
        for c in &spec.columns {
            let ColumnSpec::FirstOf { name, of } = c else {
                first_of.push(None);
                first_of_vocab.push(None);
                continue;
            };
            let mut parts = Vec::new();
            let mut vocab: Vec<String> = Vec::new();
            for n in of {
                let node = nodes
                    .iter()
                    .position(|x| &x.name == n && x.kind == ValueKind::Category)
                    .ok_or_else(|| bad(format!("column `{name}`: `{n}` is not a category node")))?;
                parts.push((node, vocab.len() as u32));
                vocab.extend(nodes[node].values.iter().cloned());
            }
            if parts.is_empty() || vocab.len() > u16::MAX as usize {
                return Err(bad(format!("column `{name}`: needs 1 to 65535 values over its nodes")));
            }
            first_of.push(Some(parts));
            first_of_vocab.push(Some(vocab));
        }
        let mut column_nodes = Vec::new();
        let mut plain = Vec::new();
        let mut dict = Vec::new();
        for c in &spec.columns {
            let (node, plain_type, dict_type) = match c {
                ColumnSpec::Uuid { .. } | ColumnSpec::Constant { .. } => (None, DataType::Utf8, DataType::Utf8),
                ColumnSpec::Normal { .. } => (None, DataType::Int64, DataType::Int64),
                ColumnSpec::Label { .. } | ColumnSpec::Lookup { .. } | ColumnSpec::FirstOf { .. } => {
                    (None, DataType::Utf8, DataType::Dictionary(Box::new(DataType::UInt16), Box::new(DataType::Utf8)))
                }
                ColumnSpec::Node { name } => {
                    let idx = nodes.iter().position(|n| &n.name == name).ok_or_else(|| Error::InvalidLocalePack {
                        locale: spec.locale.clone(),
                        reason: format!("column `{name}` names no node"),
                    })?;
                    if nodes[idx].values.len() > u16::MAX as usize {
                        return Err(Error::InvalidLocalePack {
                            locale: spec.locale.clone(),
                            reason: format!("node `{name}` has more than 65535 values"),
                        });
                    }
                    match nodes[idx].kind {
                        ValueKind::Integer => (Some(idx), DataType::Int64, DataType::Int64),
                        ValueKind::Category => (
                            Some(idx),
                            DataType::Utf8,
                            DataType::Dictionary(Box::new(DataType::UInt16), Box::new(DataType::Utf8)),
                        ),
                    }
                }
            };
            column_nodes.push(node);
            plain.push(Field::new(c.name(), plain_type, true));
            dict.push(Field::new(c.name(), dict_type, true));
        }
        let dictionaries: Vec<Option<ArrayRef>> = spec
            .columns
            .iter()
            .enumerate()
            .map(|(c, spec)| {
                let vocab: Option<&Vec<String>> = match (spec, column_nodes[c]) {
                    (ColumnSpec::Node { .. }, Some(idx)) if nodes[idx].kind == ValueKind::Category => {
                        Some(&nodes[idx].values)
                    }
                    (ColumnSpec::Lookup { .. }, _) => lookups[c].as_ref().map(|l| &l.values),
                    (ColumnSpec::FirstOf { .. }, _) => first_of_vocab[c].as_ref(),
                    (ColumnSpec::Label { .. }, _) => labels[c].as_ref().map(|l| &l.1),
                    _ => None,
                };
                vocab.map(|v| Arc::new(StringArray::from_iter_values(v)) as ArrayRef)
            })
            .collect();
        Ok(LocaleModel {
            dictionaries,
            locale: spec.locale,
            description: spec.description,
            nodes,
            columns: spec.columns,
            margins: spec.margins,
            plausibility: spec.plausibility,
            persona: spec.persona,
            column_nodes,
            column_scores,
            scores,
            labels,
            lookups,
            first_of,
            storage_schema: Arc::new(Schema::new(plain)),
            dictionary_schema: Arc::new(Schema::new(dict)),
        })
    }

    /// The schema of stored personas (categories as plain strings).
    pub fn schema(&self) -> SchemaRef {
        self.storage_schema.clone()
    }

    /// The schema of batches in `encoding`.
    pub fn schema_for(&self, encoding: Encoding) -> SchemaRef {
        match encoding {
            Encoding::Plain => self.storage_schema.clone(),
            Encoding::Dictionary => self.dictionary_schema.clone(),
        }
    }

    /// A node by name.
    pub fn node(&self, name: &str) -> Option<(usize, &Node)> {
        self.nodes.iter().enumerate().find(|(_, n)| n.name == name)
    }

    /// Compiles `given` (a SQL boolean expression; empty for none) against this model.
    pub fn evidence(&self, given: &str) -> Result<Option<Evidence>> {
        evidence::compile(self, given)
    }

    /// Samples `rows` personas starting at row `first_row` (a multiple of [`BLOCK_ROWS`]),
    /// spreading whole blocks over `threads` threads.
    pub fn sample_batch(
        &self,
        seed: u64,
        first_row: u64,
        rows: usize,
        evidence: Option<&Evidence>,
        encoding: Encoding,
        threads: usize,
    ) -> Result<RecordBatch> {
        if first_row % BLOCK_ROWS as u64 != 0 {
            return Err(Error::InvalidArgument {
                name: "first_row".into(),
                reason: format!("must be a multiple of {BLOCK_ROWS}"),
            });
        }
        let n_nodes = self.nodes.len();
        // Codes row-major [row][node]; uuids as u128.
        let mut codes = vec![0u32; rows * n_nodes];
        let mut uuids = vec![0u128; rows];
        let n_scores = self.scores.len();
        let mut scores = vec![0i64; rows * n_scores];
        let first_block = first_row / BLOCK_ROWS as u64;
        let blocks = rows.div_ceil(BLOCK_ROWS);
        let threads = threads.clamp(1, blocks.max(1));
        // Score chunks must exist even with no score columns: one empty slice per block.
        let score_width = n_scores.max(1);
        if n_scores == 0 {
            scores = vec![0i64; rows];
        }
        // Fills a run of whole blocks starting at block `start`.
        let fill = |start: u64, c: &mut [u32], u: &mut [u128], s: &mut [i64]| {
            let blocks = c
                .chunks_mut(BLOCK_ROWS * n_nodes)
                .zip(u.chunks_mut(BLOCK_ROWS))
                .zip(s.chunks_mut(BLOCK_ROWS * score_width));
            for (b, ((cb, ub), sb)) in blocks.enumerate() {
                let len = sb.len() / score_width * n_scores;
                self.sample_block(seed, start + b as u64, cb, ub, &mut sb[..len], evidence);
            }
        };
        if threads == 1 {
            fill(first_block, &mut codes, &mut uuids, &mut scores);
        } else {
            let per_thread = blocks.div_ceil(threads);
            std::thread::scope(|scope| {
                let code_chunks = codes.chunks_mut(per_thread * BLOCK_ROWS * n_nodes);
                let uuid_chunks = uuids.chunks_mut(per_thread * BLOCK_ROWS);
                let score_chunks = scores.chunks_mut(per_thread * BLOCK_ROWS * score_width);
                for (t, ((c, u), s)) in code_chunks.zip(uuid_chunks).zip(score_chunks).enumerate() {
                    scope.spawn(move || fill(first_block + (t * per_thread) as u64, c, u, s));
                }
            });
        }
        if n_scores == 0 {
            scores.clear();
        }
        self.build_batch(&codes, &uuids, &scores, rows, encoding)
    }

    /// Fills one block: `codes` holds rows × nodes codes, `uuids` one per row.
    fn sample_block(
        &self,
        seed: u64,
        block: u64,
        codes: &mut [u32],
        uuids: &mut [u128],
        scores: &mut [i64],
        evidence: Option<&Evidence>,
    ) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(block);
        let n_nodes = self.nodes.len();
        let n_scores = self.scores.len();
        for (r, (row, uuid)) in codes.chunks_mut(n_nodes).zip(uuids.iter_mut()).enumerate() {
            if n_scores > 0 {
                let out = &mut scores[r * n_scores..(r + 1) * n_scores];
                let mut k = 0;
                while k < n_scores {
                    // Box-Muller: two standard normals from two uniforms in (0, 1].
                    let u1 = ((rng.next_u64() >> 11) as f64 + 1.0) * (1.0 / (1u64 << 53) as f64);
                    let u2 = (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64);
                    let radius = (-2.0 * u1.ln()).sqrt();
                    let angle = std::f64::consts::TAU * u2;
                    for z in [radius * angle.cos(), radius * angle.sin()] {
                        if k < n_scores {
                            let (mean, sd, min, max) = self.scores[k];
                            out[k] = ((mean + sd * z).round() as i64).clamp(min, max);
                            k += 1;
                        }
                    }
                }
            }
            match evidence {
                None => {
                    for (i, node) in self.nodes.iter().enumerate() {
                        row[i] = node.draw(row, &mut rng);
                    }
                }
                Some(Evidence { rejection: Some(rejection), .. }) => loop {
                    for (i, node) in self.nodes.iter().enumerate() {
                        row[i] = node.draw(row, &mut rng);
                    }
                    if rejection.accepts(row) {
                        break;
                    }
                },
                Some(ev) => {
                    let combo = ev.alias.sample(rng.next_u64()) as usize;
                    let width = ev.nodes.len();
                    for (j, node_idx) in ev.nodes.iter().enumerate() {
                        row[*node_idx] = ev.combos[combo * width + j];
                    }
                    for (i, node) in self.nodes.iter().enumerate() {
                        if !ev.fixed[i] {
                            row[i] = node.draw(row, &mut rng);
                        }
                    }
                }
            }
            let hi = rng.next_u64() as u128;
            let lo = rng.next_u64() as u128;
            // RFC 9562 version 4: byte 6's high nibble is 0100, byte 8's high bits are 10.
            let mut u = (hi << 64) | lo;
            u = (u & !(0xFu128 << 76)) | (0x4u128 << 76);
            u = (u & !(0x3u128 << 62)) | (0x2u128 << 62);
            *uuid = u;
        }
    }

    /// The shared dictionary of column `c`.
    fn dictionary(&self, c: usize) -> Result<ArrayRef> {
        self.dictionaries.get(c).cloned().flatten().ok_or_else(|| Error::InvalidLocalePack {
            locale: self.locale.clone(),
            reason: format!("column `{}` has no vocabulary", self.columns.get(c).map(|s| s.name()).unwrap_or("?")),
        })
    }

    fn build_batch(
        &self,
        codes: &[u32],
        uuids: &[u128],
        scores: &[i64],
        rows: usize,
        encoding: Encoding,
    ) -> Result<RecordBatch> {
        let n_nodes = self.nodes.len();
        let n_scores = self.scores.len();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.columns.len());
        for (c, spec) in self.columns.iter().enumerate() {
            let array: ArrayRef = match (spec, self.column_nodes[c]) {
                (ColumnSpec::Uuid { .. }, _) => Arc::new(uuid_array(uuids)?),
                (ColumnSpec::Constant { value, .. }, _) => Arc::new(repeated(value, rows)?),
                (ColumnSpec::Normal { .. }, _) => {
                    let slot = self.column_scores[c].unwrap_or(0);
                    Arc::new(Int64Array::from_iter_values(scores.iter().skip(slot).step_by(n_scores.max(1)).copied()))
                }
                (ColumnSpec::Lookup { .. }, _) => {
                    let Some(lookup) = &self.lookups[c] else {
                        return Err(Error::InvalidLocalePack {
                            locale: self.locale.clone(),
                            reason: format!("column `{}`", spec.name()),
                        });
                    };
                    let keys = codes.iter().skip(lookup.node).step_by(n_nodes).map(|code| lookup.codes[*code as usize]);
                    match encoding {
                        Encoding::Dictionary => {
                            let keys = UInt16Array::from_iter_values(keys.map(|k| k as u16));
                            Arc::new(DictionaryArray::<UInt16Type>::try_new(keys, self.dictionary(c)?)?)
                        }
                        Encoding::Plain => {
                            let keys: Vec<u32> = keys.collect();
                            Arc::new(gather_strings(&lookup.values, keys.iter(), rows)?)
                        }
                    }
                }
                (ColumnSpec::FirstOf { .. }, _) => {
                    let (Some(parts), Some(dictionary)) = (&self.first_of[c], self.dictionaries[c].as_ref()) else {
                        return Err(Error::InvalidLocalePack {
                            locale: self.locale.clone(),
                            reason: format!("column `{}`", spec.name()),
                        });
                    };
                    let keys: Vec<u16> = (0..rows)
                        .map(|r| {
                            let row = &codes[r * n_nodes..(r + 1) * n_nodes];
                            let pick = parts.iter().find(|(node, _)| {
                                self.nodes[*node].values.get(row[*node] as usize).is_some_and(|v| !v.is_empty())
                            });
                            let (node, offset) = pick.or(parts.last()).copied().unwrap_or((0, 0));
                            (offset + row[node]) as u16
                        })
                        .collect();
                    let keys = UInt16Array::from(keys);
                    let array = DictionaryArray::<UInt16Type>::try_new(keys, dictionary.clone())?;
                    match encoding {
                        Encoding::Dictionary => Arc::new(array),
                        Encoding::Plain => arrow::compute::cast(&array, &DataType::Utf8)?,
                    }
                }
                (ColumnSpec::Label { .. }, _) => {
                    let Some((slot, vocab, label_codes)) = &self.labels[c] else {
                        return Err(Error::InvalidLocalePack {
                            locale: self.locale.clone(),
                            reason: format!("column `{}`", spec.name()),
                        });
                    };
                    let min = self.scores[*slot].2;
                    let keys =
                        scores.iter().skip(*slot).step_by(n_scores.max(1)).map(|v| label_codes[(v - min) as usize]);
                    match encoding {
                        Encoding::Dictionary => {
                            let keys = UInt16Array::from_iter_values(keys);
                            Arc::new(DictionaryArray::<UInt16Type>::try_new(keys, self.dictionary(c)?)?)
                        }
                        Encoding::Plain => {
                            let keys: Vec<u32> = keys.map(u32::from).collect();
                            Arc::new(gather_strings(vocab, keys.iter(), rows)?)
                        }
                    }
                }
                (ColumnSpec::Node { .. }, Some(idx)) => {
                    let node = &self.nodes[idx];
                    let node_codes = codes.iter().skip(idx).step_by(n_nodes);
                    match (node.kind, encoding) {
                        (ValueKind::Integer, _) => {
                            Arc::new(Int64Array::from_iter_values(node_codes.map(|c| node.int_values[*c as usize])))
                        }
                        (ValueKind::Category, Encoding::Dictionary) => {
                            let keys = UInt16Array::from_iter_values(node_codes.map(|c| *c as u16));
                            Arc::new(DictionaryArray::<UInt16Type>::try_new(keys, self.dictionary(c)?)?)
                        }
                        (ValueKind::Category, Encoding::Plain) => {
                            Arc::new(gather_strings(&node.values, node_codes, rows)?)
                        }
                    }
                }
                (ColumnSpec::Node { name }, None) => {
                    return Err(Error::InvalidLocalePack {
                        locale: self.locale.clone(),
                        reason: format!("column `{name}`"),
                    })
                }
            };
            columns.push(array);
        }
        Ok(RecordBatch::try_new(self.schema_for(encoding), columns)?)
    }
}

/// Builds a Utf8 array by looking codes up in a vocabulary, with one allocation per buffer.
fn gather_strings<'a>(
    vocab: &[String],
    codes: impl Iterator<Item = &'a u32> + Clone,
    rows: usize,
) -> Result<StringArray> {
    let total: usize = codes.clone().map(|c| vocab[*c as usize].len()).sum();
    let mut bytes = Vec::with_capacity(total);
    let mut offsets = Vec::with_capacity(rows + 1);
    offsets.push(0i32);
    for c in codes {
        bytes.extend_from_slice(vocab[*c as usize].as_bytes());
        offsets.push(i32::try_from(bytes.len()).map_err(|_| overflow())?);
    }
    Ok(StringArray::try_new(OffsetBuffer::new(ScalarBuffer::from(offsets)), Buffer::from_vec(bytes), None)?)
}

fn overflow() -> Error {
    Error::InvalidArgument {
        name: "batch size".into(),
        reason: "a string column exceeds 2 GiB; use smaller batches".into(),
    }
}

fn repeated(value: &str, rows: usize) -> Result<StringArray> {
    let vocab = [value.to_string()];
    let zeros = vec![0u32; rows];
    gather_strings(&vocab, zeros.iter(), rows)
}

/// Formats UUIDs as lower-case hyphenated strings (36 bytes each) straight into the buffer.
fn uuid_array(uuids: &[u128]) -> Result<StringArray> {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut bytes = Vec::with_capacity(uuids.len() * 36);
    for u in uuids {
        let raw = u.to_be_bytes();
        for (i, b) in raw.iter().enumerate() {
            if matches!(i, 4 | 6 | 8 | 10) {
                bytes.push(b'-');
            }
            bytes.push(HEX[(b >> 4) as usize]);
            bytes.push(HEX[(b & 0xF) as usize]);
        }
    }
    let offsets: Vec<i32> =
        (0..=uuids.len()).map(|i| i32::try_from(i * 36).map_err(|_| overflow())).collect::<Result<_>>()?;
    Ok(StringArray::try_new(OffsetBuffer::new(ScalarBuffer::from(offsets)), Buffer::from_vec(bytes), None)?)
}
