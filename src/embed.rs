//! Text embeddings: the [`Embedder`] trait and its fastembed implementation — ONNX Runtime
//! loaded dynamically (`ORT_DYLIB_PATH`), the all-MiniLM-L6-v2 model from the registry
//! packages laid out by `./setup.sh` (`PERSONADB_MODEL_DIR`), mean pooling, unit-length
//! vectors. Texts are embedded in batches sorted by length (less padding), off the async
//! runtime.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

use fastembed::{InitOptionsUserDefined, Pooling, TextEmbedding, TokenizerFiles, UserDefinedEmbeddingModel};

use crate::error::{Error, Result};

/// Turns texts into vectors.
pub trait Embedder: Send + Sync {
    /// The model's name, recorded with every embedding column.
    fn model(&self) -> &str;
    /// Vector length.
    fn dimension(&self) -> usize;
    /// Embeds `texts` (blocking: call from a blocking thread, or use [`embed_async`]).
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>>;
}

/// Embeds on a blocking thread, off the async runtime.
pub async fn embed_async(embedder: Arc<dyn Embedder>, texts: Vec<String>) -> Result<Vec<Vec<f32>>> {
    tokio::task::spawn_blocking(move || {
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        embedder.embed(&refs)
    })
    .await
    .map_err(|e| embed_error(format!("the embedding task failed: {e}")))?
}

fn embed_error(reason: String) -> Error {
    Error::InvalidArgument { name: "embedding model".into(), reason }
}

/// The fastembed embedder.
pub struct FastEmbedder {
    name: String,
    dimension: usize,
    batch_size: usize,
    model: Mutex<TextEmbedding>,
}

/// Name of the default model (the one `./setup.sh` installs).
pub const DEFAULT_MODEL: &str = "sentence-transformers/all-MiniLM-L6-v2";

impl FastEmbedder {
    /// The model `./setup.sh` installed: ONNX Runtime from `ORT_DYLIB_PATH`, the model folder
    /// from `PERSONADB_MODEL_DIR` (environment, else the setup's env file). Loaded once per
    /// process.
    pub fn shared() -> Result<Arc<FastEmbedder>> {
        static SHARED: OnceLock<std::result::Result<Arc<FastEmbedder>, String>> = OnceLock::new();
        SHARED
            .get_or_init(|| {
                let ort = crate::env::setting("ORT_DYLIB_PATH").ok_or(
                    "ORT_DYLIB_PATH is not set (run ./setup.sh, or point it at libonnxruntime.so)".to_string(),
                )?;
                let dir = crate::env::setting("PERSONADB_MODEL_DIR").ok_or(
                    "PERSONADB_MODEL_DIR is not set (run ./setup.sh, or point it at the model folder)".to_string(),
                )?;
                FastEmbedder::load(Path::new(&ort), Path::new(&dir)).map(Arc::new).map_err(|e| e.to_string())
            })
            .clone()
            .map_err(embed_error)
    }

    /// Loads ONNX Runtime from `ort_library` and the model in `model_dir` (`model.onnx`,
    /// `tokenizer.json`, `config.json`, `special_tokens_map.json`, `tokenizer_config.json`).
    pub fn load(ort_library: &Path, model_dir: &Path) -> Result<FastEmbedder> {
        init_ort(ort_library)?;
        let read = |name: &str| -> Result<Vec<u8>> {
            let path = model_dir.join(name);
            std::fs::read(&path).map_err(|e| embed_error(format!("cannot read {}: {e}", path.display())))
        };
        let tokenizer_files = TokenizerFiles {
            tokenizer_file: read("tokenizer.json")?,
            config_file: read("config.json")?,
            special_tokens_map_file: read("special_tokens_map.json")?,
            tokenizer_config_file: read("tokenizer_config.json")?,
        };
        let config: serde_json::Value = serde_json::from_slice(&tokenizer_files.config_file)
            .map_err(|e| embed_error(format!("{}: {e}", model_dir.join("config.json").display())))?;
        let dimension = config["hidden_size"]
            .as_u64()
            .filter(|d| *d > 0)
            .ok_or_else(|| embed_error(format!("{} has no hidden_size", model_dir.join("config.json").display())))?
            as usize;
        // The folder is named after the model (config.json names the base checkpoint instead).
        let name = match model_dir.file_name().and_then(|n| n.to_str()) {
            Some("all-MiniLM-L6-v2") | None => DEFAULT_MODEL.to_string(),
            Some(other) => other.to_string(),
        };
        let model = UserDefinedEmbeddingModel::new(read("model.onnx")?, tokenizer_files).with_pooling(Pooling::Mean);
        let options = InitOptionsUserDefined::new().with_max_length(256);
        // A broken model file can make ONNX Runtime's bindings panic: contain it.
        let built = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            TextEmbedding::try_new_from_user_defined(model, options)
        }))
        .map_err(|_| embed_error(format!("ONNX Runtime failed on {}", model_dir.join("model.onnx").display())))?;
        let model = built.map_err(|e| embed_error(format!("{}: {e}", model_dir.display())))?;
        Ok(FastEmbedder { name, dimension, batch_size: 32, model: Mutex::new(model) })
    }
}

/// Loads the ONNX Runtime library once per process (a missing or wrong file is an error here,
/// not a panic at first use).
fn init_ort(library: &Path) -> Result<()> {
    static LOADED: Mutex<Option<PathBuf>> = Mutex::new(None);
    let mut loaded = LOADED.lock().map_err(|_| embed_error("ONNX Runtime loading is poisoned".into()))?;
    if let Some(path) = loaded.as_ref() {
        if path != library {
            return Err(embed_error(format!(
                "ONNX Runtime is already loaded from {} in this process; cannot switch to {}",
                path.display(),
                library.display()
            )));
        }
        return Ok(());
    }
    if !library.is_file() {
        return Err(embed_error(format!("ONNX Runtime library {} does not exist", library.display())));
    }
    let builder = std::panic::catch_unwind(|| ort::init_from(library))
        .map_err(|_| embed_error(format!("{} is not a usable ONNX Runtime library", library.display())))?
        .map_err(|e| embed_error(format!("cannot load ONNX Runtime from {}: {e}", library.display())))?;
    drop(builder);
    *loaded = Some(library.to_path_buf());
    Ok(())
}

impl Embedder for FastEmbedder {
    fn model(&self) -> &str {
        &self.name
    }

    fn dimension(&self) -> usize {
        self.dimension
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        if texts.is_empty() {
            return Ok(Vec::new());
        }
        // Longest first, so each batch pads to similar lengths.
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(texts[i].len()));
        let sorted: Vec<&str> = order.iter().map(|&i| texts[i]).collect();
        let mut model = self.model.lock().map_err(|_| embed_error("the embedding model is poisoned".into()))?;
        let vectors =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| model.embed(&sorted, Some(self.batch_size))))
                .map_err(|_| embed_error("ONNX Runtime failed while embedding".into()))?
                .map_err(|e| embed_error(e.to_string()))?;
        if vectors.len() != texts.len() || vectors.iter().any(|v| v.len() != self.dimension) {
            return Err(embed_error(format!("the model returned {} vectors of the wrong shape", vectors.len())));
        }
        let mut out = vec![Vec::new(); texts.len()];
        for (v, &i) in vectors.into_iter().zip(&order) {
            out[i] = v;
        }
        Ok(out)
    }
}
