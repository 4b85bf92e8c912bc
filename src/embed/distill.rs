//! Distilling a static embedding model from a transformer, model2vec's recipe done by
//! personadb: every token of the transformer's vocabulary is embedded alone (`[CLS] token
//! [SEP]`, mean pooled) through ONNX Runtime; the vectors are reduced by PCA; each token's
//! vector is weighted by its frequency in a corpus (SIF: a / (a + p), so frequent tokens say
//! less); the result is written in the model2vec layout ([`super::static_model`]).

use std::borrow::Cow;
use std::path::Path;

use ort::session::builder::GraphOptimizationLevel;
use ort::session::{Session, SessionInputValue};
use ort::value::Tensor;
use tokenizers::Tokenizer;

use super::static_model::{plain, write_safetensors, TENSOR};
use super::{embed_error, ModelSpec};
use crate::error::Result;

/// SIF's smoothing coefficient: a token with probability `a` in the corpus keeps half its weight.
pub const SIF_A: f32 = 1e-3;

/// Tokens embedded per ONNX Runtime call.
const BATCH: usize = 512;

/// What a distillation did.
#[derive(Debug, Clone)]
pub struct DistillReport {
    pub tokens: usize,
    pub dimension: usize,
    /// Share of the variance the kept components explain.
    pub explained_variance: f64,
    pub corpus_tokens: u64,
    pub seconds: f64,
}

/// Distils the transformer `base` (ONNX model and tokenizer in `model_dir`) into a static model
/// of `dimension` in `out_dir`, weighting tokens by their frequency in `corpus`.
/// `progress(done, total)` is called as tokens are embedded.
pub fn distill(
    base: &ModelSpec,
    model_dir: &Path,
    out_dir: &Path,
    dimension: usize,
    corpus: &[&str],
    progress: &dyn Fn(usize, usize),
) -> Result<DistillReport> {
    let start = std::time::Instant::now();
    let environment = super::ort_environment()?;
    let threads = std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1);
    let ort = |e: ort::Error| embed_error(format!("ONNX Runtime: {e}"));
    let mut session = Session::builder(&environment)
        .map_err(ort)?
        .with_optimization_level(GraphOptimizationLevel::Level3)
        .map_err(|e| embed_error(e.to_string()))?
        .with_intra_threads(threads)
        .map_err(|e| embed_error(e.to_string()))?
        .commit_from_file(model_dir.join("model.onnx"))
        .map_err(|e| embed_error(format!("{}: {e}", model_dir.join("model.onnx").display())))?;
    let tokenizer_path = model_dir.join("tokenizer.json");
    let mut tokenizer =
        Tokenizer::from_file(&tokenizer_path).map_err(|e| embed_error(format!("{}: {e}", tokenizer_path.display())))?;
    plain(&mut tokenizer)?;
    let specials = tokenizer.encode("", true).map_err(|e| embed_error(e.to_string()))?.get_ids().to_vec();
    let [open, close] = specials[..] else {
        return Err(embed_error(format!(
            "{}: expected the tokenizer to wrap a text in two special tokens, got {specials:?}",
            tokenizer_path.display()
        )));
    };
    let vocabulary = tokenizer.get_vocab_size(true);
    let inputs: Vec<String> = session.inputs().iter().map(|i| i.name().to_string()).collect();
    let hidden = {
        let mut all = Vec::new();
        let mut id = 0usize;
        while id < vocabulary {
            let n = BATCH.min(vocabulary - id);
            let mut ids = Vec::with_capacity(n * 3);
            for t in id..id + n {
                ids.extend([i64::from(open), t as i64, i64::from(close)]);
            }
            let mut feed: Vec<(Cow<str>, SessionInputValue)> = Vec::new();
            for name in &inputs {
                let values: Vec<i64> = match name.as_str() {
                    "input_ids" => ids.clone(),
                    "attention_mask" => vec![1; n * 3],
                    "token_type_ids" => vec![0; n * 3],
                    other => {
                        return Err(embed_error(format!("{}: unexpected model input `{other}`", base.name)));
                    }
                };
                let tensor = Tensor::from_array(([n, 3], values)).map_err(ort)?;
                feed.push((Cow::Owned(name.clone()), tensor.into()));
            }
            let outputs = session.run(feed).map_err(ort)?;
            let (shape, values) = outputs[0].try_extract_tensor::<f32>().map_err(ort)?;
            let d =
                *shape.get(2).ok_or_else(|| embed_error("the model's output is not [batch, tokens, hidden]".into()))?
                    as usize;
            for row in 0..n {
                let mut v = vec![0f32; d];
                for t in 0..3 {
                    let h = &values[(row * 3 + t) * d..(row * 3 + t + 1) * d];
                    v.iter_mut().zip(h).for_each(|(a, x)| *a += x / 3.0);
                }
                all.push(v);
            }
            id += n;
            progress(id, vocabulary);
        }
        all
    };
    let width = hidden.first().map(Vec::len).unwrap_or(0);
    if dimension == 0 || dimension > width {
        return Err(embed_error(format!("the static dimension must be 1 to {width}, got {dimension}")));
    }
    let (mut vectors, explained) = pca(&hidden, dimension);
    drop(hidden);
    // SIF weights from the corpus's token counts.
    let mut counts = vec![0u64; vocabulary];
    let mut total = 0u64;
    let mut cache: std::collections::HashMap<&str, Vec<u32>> = std::collections::HashMap::new();
    for text in corpus {
        for chunk in text.split_whitespace() {
            if !cache.contains_key(chunk) {
                cache.insert(chunk, super::static_model::chunk_ids(&tokenizer, chunk)?);
            }
            for &id in &cache[chunk] {
                if let Some(c) = counts.get_mut(id as usize) {
                    *c += 1;
                    total += 1;
                }
            }
        }
    }
    for (row, &count) in vectors.chunks_exact_mut(dimension).zip(&counts) {
        let p = if total > 0 { count as f32 / total as f32 } else { 0.0 };
        let w = SIF_A / (SIF_A + p);
        row.iter_mut().for_each(|x| *x *= w);
    }
    std::fs::create_dir_all(out_dir).map_err(|e| embed_error(format!("creating {}: {e}", out_dir.display())))?;
    write_safetensors(
        &out_dir.join("model.safetensors"),
        TENSOR,
        [vocabulary, dimension],
        &vectors,
        &[("base_model", base.name.to_string()), ("distilled_by", "personadb".to_string())],
    )?;
    tokenizer
        .save(out_dir.join("tokenizer.json"), false)
        .map_err(|e| embed_error(format!("writing {}: {e}", out_dir.join("tokenizer.json").display())))?;
    let config = serde_json::json!({
        "model_type": "model2vec",
        "architectures": ["StaticModel"],
        "hidden_dim": dimension,
        "normalize": true,
        "base_model": base.name,
        "distilled_by": "personadb",
        "pca_dims": dimension,
        "explained_variance": explained,
        "sif_coefficient": SIF_A,
        "corpus_tokens": total,
    });
    let text = serde_json::to_string_pretty(&config).map_err(|e| embed_error(e.to_string()))?;
    std::fs::write(out_dir.join("config.json"), text)
        .map_err(|e| embed_error(format!("writing {}: {e}", out_dir.join("config.json").display())))?;
    Ok(DistillReport {
        tokens: vocabulary,
        dimension,
        explained_variance: explained,
        corpus_tokens: total,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// The corpus a static model's token weights come from: the template narratives (every prose
/// field) of `personas` personas of each compiled-in locale language whose embedding model is
/// `base`, drawn with `seed`.
pub fn corpus(base: &str, personas: usize, seed: u64) -> Result<Vec<String>> {
    let base = super::spec(base)?;
    let mut out = Vec::new();
    for locale in crate::locale::available() {
        let model = crate::locale::model(locale)?;
        for language in &model.persona.narrative.languages {
            if super::spec(&language.embedding_model)?.name != base.name {
                continue;
            }
            let narrator = crate::narrate::PackNarrator::for_locale(locale, Some(&language.code))?;
            let batch = model.sample_batch(seed, 0, personas, None, crate::model::Encoding::Plain, 1)?;
            let narrated = narrator.narrate_batch(&batch, seed)?;
            for field in &model.persona.narrative.fields {
                if let Some(column) = narrated.batch.column_by_name(field) {
                    let column = arrow::array::AsArray::as_string::<i32>(column.as_ref());
                    out.extend(column.iter().flatten().map(str::to_string));
                }
            }
        }
    }
    Ok(out)
}

/// Principal component analysis of `rows` (each of the same width): the rows projected on the
/// `k` leading components (row-major, `rows.len() × k`), and the share of variance kept.
pub fn pca(rows: &[Vec<f32>], k: usize) -> (Vec<f32>, f64) {
    let n = rows.len();
    let d = rows.first().map(Vec::len).unwrap_or(0);
    if n == 0 || d == 0 {
        return (Vec::new(), 0.0);
    }
    let mut mean = vec![0f64; d];
    for r in rows {
        mean.iter_mut().zip(r).for_each(|(m, x)| *m += f64::from(*x) / n as f64);
    }
    // Covariance, upper triangle accumulated then mirrored.
    let mut cov = vec![0f64; d * d];
    let mut centred = vec![0f64; d];
    for r in rows {
        centred.iter_mut().zip(r.iter().zip(&mean)).for_each(|(c, (x, m))| *c = f64::from(*x) - m);
        for i in 0..d {
            let ci = centred[i];
            let line = &mut cov[i * d..(i + 1) * d];
            for j in i..d {
                line[j] += ci * centred[j];
            }
        }
    }
    for i in 0..d {
        for j in 0..i {
            cov[i * d + j] = cov[j * d + i];
        }
    }
    let (values, vectors) = symmetric_eigen(&cov, d);
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    let total: f64 = values.iter().map(|v| v.max(0.0)).sum();
    let kept: f64 = order[..k].iter().map(|&i| values[i].max(0.0)).sum();
    let mut out = Vec::with_capacity(n * k);
    for r in rows {
        for &c in &order[..k] {
            // Column c of the eigenvector matrix.
            let mut dot = 0f64;
            for j in 0..d {
                dot += (f64::from(r[j]) - mean[j]) * vectors[j * d + c];
            }
            out.push(dot as f32);
        }
    }
    (out, if total > 0.0 { kept / total } else { 0.0 })
}

/// Eigenvalues and eigenvectors (as the columns of a row-major d×d matrix) of the symmetric
/// matrix `a`, by cyclic Jacobi rotations.
fn symmetric_eigen(a: &[f64], d: usize) -> (Vec<f64>, Vec<f64>) {
    let mut a = a.to_vec();
    let mut v = vec![0f64; d * d];
    for i in 0..d {
        v[i * d + i] = 1.0;
    }
    let scale: f64 = a.iter().map(|x| x * x).sum::<f64>().sqrt().max(f64::MIN_POSITIVE);
    for _sweep in 0..64 {
        let off: f64 = (0..d)
            .flat_map(|i| (0..d).filter(move |&j| j != i).map(move |j| (i, j)))
            .map(|(i, j)| a[i * d + j].powi(2))
            .sum();
        if off.sqrt() <= 1e-12 * scale {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = a[p * d + q];
                if apq.abs() <= 1e-300 {
                    continue;
                }
                let theta = (a[q * d + q] - a[p * d + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for k in 0..d {
                    let (akp, akq) = (a[k * d + p], a[k * d + q]);
                    a[k * d + p] = c * akp - s * akq;
                    a[k * d + q] = s * akp + c * akq;
                }
                for k in 0..d {
                    let (apk, aqk) = (a[p * d + k], a[q * d + k]);
                    a[p * d + k] = c * apk - s * aqk;
                    a[q * d + k] = s * apk + c * aqk;
                }
                for k in 0..d {
                    let (vkp, vkq) = (v[k * d + p], v[k * d + q]);
                    v[k * d + p] = c * vkp - s * vkq;
                    v[k * d + q] = s * vkp + c * vkq;
                }
            }
        }
    }
    ((0..d).map(|i| a[i * d + i]).collect(), v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jacobi_finds_known_eigenpairs() {
        // [[2,1],[1,2]]: eigenvalues 3 and 1, eigenvectors (1,1)/√2 and (1,-1)/√2.
        let (values, vectors) = symmetric_eigen(&[2.0, 1.0, 1.0, 2.0], 2);
        let mut sorted = values.clone();
        sorted.sort_by(f64::total_cmp);
        assert!((sorted[0] - 1.0).abs() < 1e-9 && (sorted[1] - 3.0).abs() < 1e-9, "{values:?}");
        let big = if values[0] > values[1] { 0 } else { 1 };
        let (x, y) = (vectors[big], vectors[2 + big]);
        assert!((x.abs() - y.abs()).abs() < 1e-9 && x * y > 0.0, "{vectors:?}");
    }

    #[test]
    fn pca_keeps_the_direction_of_most_variance() {
        // Points along (1, 2, 0) with a little noise on the third axis.
        let rows: Vec<Vec<f32>> =
            (0..200).map(|i| (i as f32 - 100.0) / 10.0).map(|t| vec![t, 2.0 * t, ((t * 7.0).sin()) * 0.01]).collect();
        let (projected, explained) = pca(&rows, 1);
        assert_eq!(projected.len(), 200);
        assert!(explained > 0.999, "{explained}");
        // The projection is the centred t scaled by |(1, 2)| (up to sign): |p| = √5·|t − mean t|,
        // mean t = −0.05.
        let t = (150.0 - 100.0) / 10.0 + 0.05;
        assert!((projected[150].abs() - 5f32.sqrt() * t).abs() < 1e-3, "{}", projected[150]);
    }
}
