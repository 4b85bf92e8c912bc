//! The locale model: a Bayesian network loaded from a locale pack, sampled ancestrally with
//! alias tables into Arrow record batches, optionally conditioned exactly on evidence.
//!
//! Determinism: rows are generated in blocks of [`BLOCK_ROWS`]; block `b` draws from the
//! ChaCha8 stream `b` keyed by the seed. A batch is a run of whole blocks, so the same seed
//! gives the same rows whatever the batch size or the number of threads.

pub mod alias;
pub mod evidence;
pub mod network;

use std::sync::Arc;

use arrow::array::{ArrayRef, DictionaryArray, Int64Array, StringArray, UInt16Array};
use arrow::buffer::{Buffer, OffsetBuffer, ScalarBuffer};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, UInt16Type};
use arrow::record_batch::RecordBatch;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;

pub use evidence::Evidence;
pub use network::{ColumnSpec, MarginSpec, NetworkSpec, Node, PlausibilityRule, ValueKind};

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
    /// Column index in `columns` -> node index, for node columns.
    column_nodes: Vec<Option<usize>>,
    storage_schema: SchemaRef,
    dictionary_schema: SchemaRef,
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
        let mut column_nodes = Vec::new();
        let mut plain = Vec::new();
        let mut dict = Vec::new();
        for c in &spec.columns {
            let (node, plain_type, dict_type) = match c {
                ColumnSpec::Uuid { .. } | ColumnSpec::Constant { .. } => (None, DataType::Utf8, DataType::Utf8),
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
        Ok(LocaleModel {
            locale: spec.locale,
            description: spec.description,
            nodes,
            columns: spec.columns,
            margins: spec.margins,
            plausibility: spec.plausibility,
            column_nodes,
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
        let first_block = first_row / BLOCK_ROWS as u64;
        let blocks = rows.div_ceil(BLOCK_ROWS);
        let threads = threads.clamp(1, blocks.max(1));
        if threads == 1 {
            for (b, (c, u)) in codes.chunks_mut(BLOCK_ROWS * n_nodes).zip(uuids.chunks_mut(BLOCK_ROWS)).enumerate() {
                self.sample_block(seed, first_block + b as u64, c, u, evidence);
            }
        } else {
            let per_thread = blocks.div_ceil(threads);
            std::thread::scope(|scope| {
                let code_chunks = codes.chunks_mut(per_thread * BLOCK_ROWS * n_nodes);
                let uuid_chunks = uuids.chunks_mut(per_thread * BLOCK_ROWS);
                for (t, (c, u)) in code_chunks.zip(uuid_chunks).enumerate() {
                    scope.spawn(move || {
                        let start_block = first_block + (t * per_thread) as u64;
                        for (b, (cb, ub)) in c.chunks_mut(BLOCK_ROWS * n_nodes).zip(u.chunks_mut(BLOCK_ROWS)).enumerate() {
                            self.sample_block(seed, start_block + b as u64, cb, ub, evidence);
                        }
                    });
                }
            });
        }
        self.build_batch(&codes, &uuids, rows, encoding)
    }

    /// Fills one block: `codes` holds rows × nodes codes, `uuids` one per row.
    fn sample_block(&self, seed: u64, block: u64, codes: &mut [u32], uuids: &mut [u128], evidence: Option<&Evidence>) {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        rng.set_stream(block);
        let n_nodes = self.nodes.len();
        for (row, uuid) in codes.chunks_mut(n_nodes).zip(uuids.iter_mut()) {
            match evidence {
                None => {
                    for (i, node) in self.nodes.iter().enumerate() {
                        row[i] = node.draw(row, &mut rng);
                    }
                }
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

    fn build_batch(&self, codes: &[u32], uuids: &[u128], rows: usize, encoding: Encoding) -> Result<RecordBatch> {
        let n_nodes = self.nodes.len();
        let mut columns: Vec<ArrayRef> = Vec::with_capacity(self.columns.len());
        for (c, spec) in self.columns.iter().enumerate() {
            let array: ArrayRef = match (spec, self.column_nodes[c]) {
                (ColumnSpec::Uuid { .. }, _) => Arc::new(uuid_array(uuids)?),
                (ColumnSpec::Constant { value, .. }, _) => Arc::new(repeated(value, rows)?),
                (ColumnSpec::Node { .. }, Some(idx)) => {
                    let node = &self.nodes[idx];
                    let node_codes = codes.iter().skip(idx).step_by(n_nodes);
                    match (node.kind, encoding) {
                        (ValueKind::Integer, _) => {
                            Arc::new(Int64Array::from_iter_values(node_codes.map(|c| node.int_values[*c as usize])))
                        }
                        (ValueKind::Category, Encoding::Dictionary) => {
                            let keys = UInt16Array::from_iter_values(node_codes.map(|c| *c as u16));
                            let values = Arc::new(StringArray::from_iter_values(&node.values));
                            Arc::new(DictionaryArray::<UInt16Type>::try_new(keys, values)?)
                        }
                        (ValueKind::Category, Encoding::Plain) => Arc::new(gather_strings(&node.values, node_codes, rows)?),
                    }
                }
                (ColumnSpec::Node { name }, None) => {
                    return Err(Error::InvalidLocalePack { locale: self.locale.clone(), reason: format!("column `{name}`") })
                }
            };
            columns.push(array);
        }
        Ok(RecordBatch::try_new(self.schema_for(encoding), columns)?)
    }
}

/// Builds a Utf8 array by looking codes up in a vocabulary, with one allocation per buffer.
fn gather_strings<'a>(vocab: &[String], codes: impl Iterator<Item = &'a u32> + Clone, rows: usize) -> Result<StringArray> {
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
    Error::InvalidArgument { name: "batch size".into(), reason: "a string column exceeds 2 GiB; use smaller batches".into() }
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
    let offsets: Vec<i32> = (0..=uuids.len())
        .map(|i| i32::try_from(i * 36).map_err(|_| overflow()))
        .collect::<Result<_>>()?;
    Ok(StringArray::try_new(OffsetBuffer::new(ScalarBuffer::from(offsets)), Buffer::from_vec(bytes), None)?)
}
