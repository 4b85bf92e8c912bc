//! The static embedding tier: a vector per token of a transformer's vocabulary, distilled from
//! that transformer by personadb itself ([`super::distill`]), stored in the model2vec layout
//! (`model.safetensors` with one `embeddings` tensor [vocabulary, dimension] of f32,
//! `tokenizer.json`, `config.json`). A text's embedding is the sum of its tokens' vectors,
//! normalised: tokenize, look up, pool, normalise — no ONNX Runtime on the hot path.
//!
//! Tokenizing is the slow part of that, so texts are split at whitespace and each chunk's
//! token ids are cached: the tokenizers personadb uses (WordPiece after BERT's pre-tokenizer,
//! SentencePiece after a metaspace split) never merge tokens across whitespace, so a chunk
//! tokenizes the same alone as inside its text. Narratives reuse a small vocabulary, so almost
//! every chunk is a cache hit.

use std::collections::HashMap;
use std::hash::BuildHasherDefault;
use std::path::Path;
use std::sync::RwLock;

use tokenizers::Tokenizer;

use super::{embed_error, Embedder};
use crate::error::Result;
use crate::hash::Fnv1a;

/// The tensor name of the token vectors in `model.safetensors` (model2vec's).
pub const TENSOR: &str = "embeddings";

/// Most chunks the shared cache keeps (beyond it, new chunks are tokenized every time).
const CACHE_LIMIT: usize = 1 << 20;

type ChunkCache = HashMap<Box<str>, Box<[u32]>, BuildHasherDefault<Fnv1a>>;

/// A static embedding model, loaded.
pub struct StaticEmbedder {
    name: String,
    dimension: usize,
    /// Token vectors, row-major [vocabulary, dimension].
    vectors: Vec<f32>,
    vocabulary: usize,
    tokenizer: Tokenizer,
    /// The token ids of whitespace-separated chunks seen so far.
    cache: RwLock<ChunkCache>,
    /// The ids an empty text gets (the tokenizer's special tokens), so every text has a vector.
    empty: Vec<u32>,
}

impl StaticEmbedder {
    /// Loads a static model folder (`model.safetensors`, `tokenizer.json`), recorded as `name`.
    pub fn load(dir: &Path, name: &str) -> Result<StaticEmbedder> {
        let path = dir.join("model.safetensors");
        let bytes = std::fs::read(&path)
            .map_err(|e| embed_error(format!("cannot read {}: {e} (run ./setup.sh)", path.display())))?;
        let (shape, vectors) =
            read_safetensors(&bytes, TENSOR).map_err(|e| embed_error(format!("{}: {e}", path.display())))?;
        let [vocabulary, dimension] = shape;
        let mut tokenizer = Tokenizer::from_file(dir.join("tokenizer.json"))
            .map_err(|e| embed_error(format!("{}: {e}", dir.join("tokenizer.json").display())))?;
        plain(&mut tokenizer)?;
        if tokenizer.get_vocab_size(true) > vocabulary {
            return Err(embed_error(format!(
                "{}: the tokenizer has {} tokens but the model only {vocabulary} vectors",
                dir.display(),
                tokenizer.get_vocab_size(true)
            )));
        }
        let empty = tokenizer.encode("", true).map_err(|e| embed_error(e.to_string()))?.get_ids().to_vec();
        Ok(StaticEmbedder {
            name: name.to_string(),
            dimension,
            vectors,
            vocabulary,
            tokenizer,
            cache: RwLock::new(ChunkCache::default()),
            empty,
        })
    }

    /// The token ids of one whitespace-free chunk that have a vector.
    fn chunk_ids(&self, chunk: &str) -> Result<Box<[u32]>> {
        Ok(chunk_ids(&self.tokenizer, chunk)?.into_iter().filter(|&id| (id as usize) < self.vocabulary).collect())
    }

    /// Embeds a run of texts into `out` (one row of `dimension` per text), with `local` for
    /// chunks the shared cache lacks.
    fn embed_into(&self, texts: &[&str], out: &mut [f32], local: &mut ChunkCache) -> Result<()> {
        let shared = self.cache.read().map_err(|_| embed_error("the token cache is poisoned".into()))?;
        let d = self.dimension;
        for (text, row) in texts.iter().zip(out.chunks_exact_mut(d)) {
            row.iter_mut().for_each(|x| *x = 0.0);
            let mut tokens = 0usize;
            for chunk in text.split_whitespace() {
                let ids: &[u32] = match shared.get(chunk) {
                    Some(ids) => ids,
                    None => {
                        if !local.contains_key(chunk) {
                            let ids = self.chunk_ids(chunk)?;
                            local.insert(chunk.into(), ids);
                        }
                        &local[chunk]
                    }
                };
                for &id in ids {
                    add(row, &self.vectors[id as usize * d..(id as usize + 1) * d]);
                }
                tokens += ids.len();
            }
            if tokens == 0 {
                for &id in &self.empty {
                    add(row, &self.vectors[id as usize * d..(id as usize + 1) * d]);
                }
            }
            normalise(row);
        }
        Ok(())
    }

    fn embed_all(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let d = self.dimension;
        let mut flat = vec![0f32; texts.len() * d];
        // Parallel over all cores for large calls; small ones (a query) stay on this thread.
        let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1).min(texts.len() / 512).max(1);
        let per = texts.len().div_ceil(threads).max(1);
        let mut locals: Vec<ChunkCache> = Vec::new();
        if threads == 1 {
            let mut local = ChunkCache::default();
            self.embed_into(texts, &mut flat, &mut local)?;
            locals.push(local);
        } else {
            let results: Vec<Result<ChunkCache>> = std::thread::scope(|scope| {
                let handles: Vec<_> = texts
                    .chunks(per)
                    .zip(flat.chunks_mut(per * d))
                    .map(|(t, o)| {
                        scope.spawn(move || {
                            let mut local = ChunkCache::default();
                            self.embed_into(t, o, &mut local).map(|_| local)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|_| Err(embed_error("an embedding thread panicked".into()))))
                    .collect()
            });
            for r in results {
                locals.push(r?);
            }
        }
        if locals.iter().any(|l| !l.is_empty()) {
            let mut shared = self.cache.write().map_err(|_| embed_error("the token cache is poisoned".into()))?;
            for local in locals {
                for (k, v) in local {
                    if shared.len() >= CACHE_LIMIT {
                        break;
                    }
                    shared.insert(k, v);
                }
            }
        }
        Ok(flat.chunks_exact(d).map(<[f32]>::to_vec).collect())
    }
}

/// The token ids of one whitespace-free chunk, as the chunk reads inside any text (no special
/// tokens): what inference looks up and what distillation counts.
pub(crate) fn chunk_ids(tokenizer: &Tokenizer, chunk: &str) -> Result<Vec<u32>> {
    Ok(tokenizer.encode(chunk, false).map_err(|e| embed_error(e.to_string()))?.get_ids().to_vec())
}

/// `acc += v`, element by element (the compiler vectorises it).
#[inline]
fn add(acc: &mut [f32], v: &[f32]) {
    for (a, x) in acc.iter_mut().zip(v) {
        *a += x;
    }
}

/// Scales `v` to unit length (a zero vector stays zero).
pub(crate) fn normalise(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|x| *x /= norm);
    }
}

/// Turns off padding and truncation (a static model pools any number of tokens).
pub(crate) fn plain(tokenizer: &mut Tokenizer) -> Result<()> {
    tokenizer.with_padding(None);
    tokenizer.with_truncation(None).map_err(|e| embed_error(e.to_string()))?;
    Ok(())
}

impl Embedder for StaticEmbedder {
    fn model(&self) -> &str {
        &self.name
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        self.embed_all(texts)
    }
}

/// Writes a safetensors file holding one f32 tensor `name` of `shape`, with `metadata`.
pub fn write_safetensors(
    path: &Path,
    name: &str,
    shape: [usize; 2],
    data: &[f32],
    metadata: &[(&str, String)],
) -> Result<()> {
    if shape[0] * shape[1] != data.len() {
        return Err(embed_error(format!("a {}x{} tensor cannot hold {} values", shape[0], shape[1], data.len())));
    }
    let meta: serde_json::Map<String, serde_json::Value> =
        metadata.iter().map(|(k, v)| (k.to_string(), serde_json::Value::String(v.clone()))).collect();
    let header = serde_json::json!({
        name: { "dtype": "F32", "shape": shape, "data_offsets": [0, data.len() * 4] },
        "__metadata__": meta,
    });
    let mut header = serde_json::to_string(&header).map_err(|e| embed_error(e.to_string()))?;
    // The data starts 8-byte aligned.
    while (8 + header.len()) % 8 != 0 {
        header.push(' ');
    }
    let mut bytes = Vec::with_capacity(8 + header.len() + data.len() * 4);
    bytes.extend_from_slice(&(header.len() as u64).to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    for x in data {
        bytes.extend_from_slice(&x.to_le_bytes());
    }
    std::fs::write(path, bytes).map_err(|e| embed_error(format!("writing {}: {e}", path.display())))
}

/// Reads the 2-D f32 tensor `name` of a safetensors file: its shape and values.
pub fn read_safetensors(bytes: &[u8], name: &str) -> std::result::Result<([usize; 2], Vec<f32>), String> {
    let len =
        bytes.get(..8).map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8]))).ok_or("not a safetensors file")?;
    let len = usize::try_from(len).map_err(|_| "a header length past the file")?;
    let header = bytes.get(8..8usize.saturating_add(len)).ok_or("a header length past the file")?;
    let header: serde_json::Value = serde_json::from_slice(header).map_err(|e| format!("a bad header: {e}"))?;
    let tensor = header.get(name).ok_or_else(|| format!("no tensor `{name}`"))?;
    if tensor.get("dtype").and_then(|d| d.as_str()) != Some("F32") {
        return Err(format!("tensor `{name}` is not F32"));
    }
    let numbers = |key: &str| -> Vec<usize> {
        let list = tensor.get(key).and_then(|s| s.as_array());
        list.map(|s| s.iter().filter_map(|d| d.as_u64().map(|d| d as usize)).collect()).unwrap_or_default()
    };
    let dims = numbers("shape");
    let [rows, cols] = dims[..] else {
        return Err(format!("tensor `{name}` is not two-dimensional"));
    };
    let offsets = numbers("data_offsets");
    let [start, end] = offsets[..] else {
        return Err(format!("tensor `{name}` has no data offsets"));
    };
    let base = 8 + len;
    let data = bytes
        .get(base.saturating_add(start)..base.saturating_add(end))
        .filter(|d| rows.checked_mul(cols).and_then(|n| n.checked_mul(4)) == Some(d.len()))
        .ok_or_else(|| format!("tensor `{name}`: its data does not match its {rows}x{cols} shape"))?;
    let values = data.chunks_exact(4).map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])).collect();
    Ok(([rows, cols], values))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safetensors_round_trip_and_damage() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("m.safetensors");
        let data: Vec<f32> = (0..12).map(|i| i as f32 * 0.5).collect();
        write_safetensors(&path, TENSOR, [3, 4], &data, &[("base_model", "x".into())]).expect("write");
        let bytes = std::fs::read(&path).expect("read");
        let (shape, back) = read_safetensors(&bytes, TENSOR).expect("parse");
        assert_eq!((shape, back), ([3, 4], data));
        assert!(read_safetensors(&bytes, "other").expect_err("name").contains("no tensor"));
        assert!(read_safetensors(&bytes[..bytes.len() - 4], TENSOR).expect_err("cut").contains("does not match"));
        assert!(read_safetensors(&[1, 2], TENSOR).is_err());
        let mut huge = bytes.clone();
        huge[..8].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(read_safetensors(&huge, TENSOR).is_err());
    }

    #[test]
    fn normalising() {
        let mut v = vec![3.0, 4.0];
        normalise(&mut v);
        assert_eq!(v, vec![0.6, 0.8]);
        let mut z = vec![0.0, 0.0];
        normalise(&mut z);
        assert_eq!(z, vec![0.0, 0.0]);
    }
}
